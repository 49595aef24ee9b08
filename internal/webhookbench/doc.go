// Package webhookbench measures `selmount webhook` against a real
// kube-apiserver: the webhook's own latency with an index of many pods, and
// pod creation throughput through the apiserver without a webhook, with a
// null webhook (./nullwebhook: decodes each review and allows it, the cost
// of any webhook) and with selmount's, in rotating rounds in one process so
// that all three see the same machine. The webhook configurations registered are the Helm chart's
// (rendered with hack/tools/helm.sh), pointed at the process by URL. The
// package holds only an opt-in test (SELMOUNT_BENCH_WEBHOOK=1), run by
// hack/bench-webhook.sh; see docs/benchmarks.md.
package webhookbench
