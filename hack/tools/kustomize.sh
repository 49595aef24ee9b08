#!/usr/bin/env bash
# Prints the path of a kustomize binary, building it from the Go module proxy
# the first time (Debian 12 has neither kustomize nor kubectl). Extra
# arguments run kustomize:
#   hack/tools/kustomize.sh build deploy/kustomize/base
set -euo pipefail
KUSTOMIZE_VERSION=${KUSTOMIZE_VERSION:-v5.8.2}
source "$(dirname "$0")/lib.sh"
bin=$(go_tool_install kustomize "sigs.k8s.io/kustomize/kustomize/v5@$KUSTOMIZE_VERSION") || exit 1
if (($#)); then exec "$bin" "$@"; fi
echo "$bin"
