#!/usr/bin/env bash
# The container image: builds it offline with buildah (hack/image.sh installs
# Debian's buildah when missing; about a minute once the Go build cache is
# warm), then runs it against a real kube-apiserver as the controller's
# service account (TestIntegrationDeployImage), with the binaries from
# 30-integration.sh and helm/kustomize from 20-deploy.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."
bash hack/image.sh bin/selmount-image.tar
export SELMOUNT_K8S_BINS=${SELMOUNT_K8S_BINS:-$PWD/hack/k8s-bins/bin}
SELMOUNT_IMAGE=$PWD/bin/selmount-image.tar SELMOUNT_REQUIRE_INTEGRATION=1 \
  go test -count=1 -run TestIntegrationDeployImage ./deploy/
