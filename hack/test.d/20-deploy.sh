#!/usr/bin/env bash
# deploy/: builds helm and kustomize from the Go module proxy (hack/tools,
# about 4 minutes cold on 2 cores, cached under hack/tools/bin afterwards),
# renders the kustomize base and overlay and the Helm chart and checks them
# (go test ./deploy/). TestIntegrationDeploy, the server-side dry run against
# a real kube-apiserver, runs with the other integration tests in
# 30-integration.sh, which finds the binaries built here.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash hack/tools/helm.sh >/dev/null
bash hack/tools/kustomize.sh >/dev/null
SELMOUNT_REQUIRE_DEPLOY_TOOLS=1 go test -count=1 -skip Integration ./deploy/
