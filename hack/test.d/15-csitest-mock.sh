#!/usr/bin/env bash
# selmount csi-test against a third-party driver from the Go module proxy:
# the gomock CSI driver of github.com/kubernetes-csi/csi-test/v5, programmed
# to succeed without mounting. Its own module (hack/csitest-mock) keeps
# csi-test's dependencies out of selmount's go.mod. No SELinux needed.
set -euo pipefail
cd "$(dirname "$0")/../../hack/csitest-mock"
go vet ./...
go test -race -count=1 ./...
