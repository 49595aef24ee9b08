#!/usr/bin/env bash
# Prints the path of a helm binary, building it from the Go module proxy the
# first time (Debian 12 has no helm package). Extra arguments run helm:
#   hack/tools/helm.sh template deploy/helm/selmount
set -euo pipefail
HELM_VERSION=${HELM_VERSION:-v3.22.0}
source "$(dirname "$0")/lib.sh"
bin=$(go_tool_install helm "helm.sh/helm/v3/cmd/helm@$HELM_VERSION") || exit 1
if (($#)); then exec "$bin" "$@"; fi
echo "$bin"
