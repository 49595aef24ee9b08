#!/usr/bin/env bash
# The webhook benchmark (issue 10): `selmount webhook` with an index of
# $PODS pods on a real kube-apiserver; its own latency (median, p99) and pod
# creation throughput with the webhook registered against without it, in
# alternating rounds. Writes bench/results/webhook.md. Not part of CI.
#   PODS=100000 REQUESTS=5000 CREATE=2000 ROUNDS=3 bash hack/bench-webhook.sh
set -euo pipefail
cd "$(dirname "$0")/.."
bash hack/k8s-bins/build.sh >/dev/null
export SELMOUNT_K8S_BINS=$PWD/hack/k8s-bins/bin
export SELMOUNT_BENCH_WEBHOOK=1
export SELMOUNT_BENCH_WEBHOOK_PODS=${PODS:-100000}
export SELMOUNT_BENCH_WEBHOOK_REQUESTS=${REQUESTS:-5000}
export SELMOUNT_BENCH_WEBHOOK_CREATE=${CREATE:-2000}
export SELMOUNT_BENCH_WEBHOOK_ROUNDS=${ROUNDS:-3}
export SELMOUNT_BENCH_OUT=$PWD/bench/results/webhook.md
go test -count=1 -timeout=90m -v -run TestIntegrationWebhookBench ./internal/webhookbench/
