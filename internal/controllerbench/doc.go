// Package controllerbench measures `selmount controller` beside the upstream
// selinux-warning-controller of kube-controller-manager, on one real
// kube-apiserver and the same objects, both running while the objects are
// created: memory above idle, time to catch up after the last object, time
// from a new conflicting pod to its metric and to its event, the series on
// /metrics, and the events written (and the conflicts left without one).
// The package holds only an opt-in test (SELMOUNT_BENCH_CONTROLLER=1), run
// by hack/bench-controller.sh; see docs/benchmarks.md.
package controllerbench
