#!/usr/bin/env bash
# The webhook benchmark (issue 10): `selmount webhook` with an index of
# $PODS pods on a real kube-apiserver; its own latency (median, p99) and pod
# creation throughput with the webhook registered against without it, in
# alternating rounds. Writes bench/results/webhook.md. Not part of CI.
#   PODS=100000 REQUESTS=5000 CREATE=2000 ROUNDS=5 bash hack/bench-webhook.sh
# SPLIT=1 runs the webhook on the last CPU and everything else (apiserver,
# etcd, the pod creators) on the others, as when the webhook runs on a node
# apart from the control plane; it writes bench/results/webhook-split.md.
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/k8s-bins/build.sh >/dev/null
export SELMOUNT_K8S_BINS=$PWD/hack/k8s-bins/bin
export SELMOUNT_BENCH_WEBHOOK=1
export SELMOUNT_BENCH_WEBHOOK_PODS=${PODS:-100000}
export SELMOUNT_BENCH_WEBHOOK_REQUESTS=${REQUESTS:-5000}
export SELMOUNT_BENCH_WEBHOOK_CREATE=${CREATE:-2000}
export SELMOUNT_BENCH_WEBHOOK_ROUNDS=${ROUNDS:-5}
export SELMOUNT_BENCH_OUT=$PWD/bench/results/webhook.md
if [[ ${SPLIT:-} == 1 ]]; then
	last=$(($(nproc) - 1))
	((last > 0)) || { echo "bench-webhook: SPLIT=1 needs two CPUs" >&2; exit 1; }
	export SELMOUNT_BENCH_WEBHOOK_CPUS=$last SELMOUNT_BENCH_OUT=$PWD/bench/results/webhook-split.md
	go test -c -o /tmp/webhookbench.test ./internal/webhookbench/ # compiled on every CPU
	cd internal/webhookbench # where go test runs it
	exec taskset -c "0-$((last - 1))" /tmp/webhookbench.test -test.count=1 -test.timeout=90m -test.v -test.run TestIntegrationWebhookBench
fi
go test -count=1 -timeout=90m -v -run TestIntegrationWebhookBench ./internal/webhookbench/
