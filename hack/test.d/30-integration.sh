#!/usr/bin/env bash
# Integration tests against a real control plane: builds etcd, kube-apiserver
# and kube-controller-manager from the Go module proxy (hack/k8s-bins, 7 to 15
# minutes cold on 2 idle cores, nothing to do afterwards), then runs every
# TestIntegration* test of the module. Missing binaries fail the tests here
# instead of skipping them.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash hack/k8s-bins/build.sh
export SELMOUNT_K8S_BINS=$PWD/hack/k8s-bins/bin
SELMOUNT_REQUIRE_INTEGRATION=1 go test -count=1 -timeout=30m -run Integration ./...
