// Package csitestmock runs `selmount csi-test` (package csitest) against a
// third-party driver from the Go module proxy: the gomock CSI driver of
// github.com/kubernetes-csi/csi-test/v5 (package driver), programmed as a
// driver that answers every call with success and mounts nothing. It lives
// in its own module so that csi-test's dependencies (gomock, ginkgo) stay
// out of selmount's go.mod.
//
// csi-test v5 no longer ships the functional mock driver of earlier
// versions (mock/service), and the proxy serves only v5, so the gomock
// driver is the one available.
package csitestmock
