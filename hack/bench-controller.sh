#!/usr/bin/env bash
# The controller benchmark (issue 9): `selmount controller` beside the
# upstream KCM's selinux-warning-controller on one real kube-apiserver, both
# running while the same objects are created; memory above idle, catch-up,
# a new conflict's metric and event, series and events. One apiserver per
# case. Writes bench/results/controller-<case>.md and, from every such file,
# bench/results/controller.md. Not part of CI.
#   CASES=10000,shared500,50000 NEW=5 bash hack/bench-controller.sh
# CASES: N is N pods over 100 namespaces, every tenth sharing its
# neighbour's claim with another level; sharedN is one volume, N pods, two
# levels. NEW: new conflicts timed after catch-up. SELMOUNT_K8S_BINS, when
# set, names prebuilt control-plane binaries (else hack/k8s-bins/build.sh).
# LOGS=DIR keeps selmount's log there (at -v 2: each sync and its duration)
# and heap profiles after catch-up and at the end (--profiling).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z ${SELMOUNT_K8S_BINS:-} ]]; then
	bash hack/k8s-bins/build.sh >/dev/null
	export SELMOUNT_K8S_BINS=$PWD/hack/k8s-bins/bin
fi
export SELMOUNT_BENCH_CONTROLLER=1
export SELMOUNT_BENCH_CONTROLLER_CASES=${CASES:-10000,shared500,50000}
export SELMOUNT_BENCH_CONTROLLER_NEW=${NEW:-5}
export SELMOUNT_BENCH_CONTROLLER_WORKERS=${WORKERS:-32}
export SELMOUNT_BENCH_OUT_DIR=${OUT_DIR:-$PWD/bench/results}
export SELMOUNT_BENCH_CONTROLLER_LOGS=${LOGS:-}
go test -count=1 -timeout=150m -v -run TestIntegrationControllerBench ./internal/controllerbench/
