// Package csitest checks that a CSI driver keeps the promise of
// CSIDriver.spec.seLinuxMount: true, by talking CSI gRPC to it as the kubelet
// of Kubernetes 1.37 does and looking at the mounts and files it produces.
//
// The kubelet appends context="<label>" (quoted, last) to the mount_flags of
// VolumeCapability.Mount in NodeStageVolume and NodePublishVolume when the
// driver claims seLinuxMount support, and never checks the result. Run calls
// the driver the same way, then checks through /proc/self/mountinfo and the
// security.selinux attribute of files that every volume really carries its
// label, that several volumes can carry different labels at once, that the
// driver adds no label of its own, that the node plugin's environment lets
// util-linux mount(8) keep the option, and that nothing stays mounted.
//
// Each rule of Rules is reported as passed, failed or skipped, with a reason
// that names the rule; Report has text, JSON and JUnit XML writers for CI.
// The checks need root and a kernel with SELinux enabled, in the mount
// namespace where the driver mounts (the node's); on a kernel without
// SELinux, Run reports that plainly and skips every rule that needs it.
//
// Run observes the node through a System; LocalSystem is the real one
// (Linux only). Tests of the rules use a fake built on ctxmount.FakeMounter.
package csitest
