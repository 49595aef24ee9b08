#!/usr/bin/env bash
# Prints the path of a helm binary, building it from the Go module proxy the
# first time (Debian 12 has no helm package). Extra arguments run helm:
#   hack/tools/helm.sh template deploy/helm/selmount
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-v3.22.0}
source "$(dirname "$0")/lib.sh"
# What helm's Makefile stamps in: its version, and the Kubernetes version
# (its client-go's minor) that `helm template` and `helm lint` assume.
k8s_minor=37
ldflags="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
  ldflags+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
done
bin=$(go_tool_install helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$ldflags") || exit 1
if (($#)); then exec "$bin" "$@"; fi
echo "$bin"
