#!/usr/bin/env bash
# Builds the selmount container image offline and saves it as an OCI archive.
#
#   hack/image.sh [OUTPUT.tar]     default bin/selmount-image.tar
#
# Environment: IMAGE (default localhost/selmount:dev), GOARCH (default the
# host's). Needs Go and buildah (Debian: apt-get install buildah); the image is
# FROM scratch, so no registry is contacted. buildah runs with the vfs storage
# driver and chroot isolation, which work as root in containers and VMs
# without overlayfs or user namespaces. Load the archive with
#   podman load -i bin/selmount-image.tar
#   skopeo copy oci-archive:bin/selmount-image.tar docker://REGISTRY/selmount:TAG
#   ctr -n k8s.io images import bin/selmount-image.tar   (containerd nodes)
set -euo pipefail
cd "$(dirname "$0")/.."
image=${IMAGE:-localhost/selmount:dev}
out=${1:-bin/selmount-image.tar}
arch=${GOARCH:-$(go env GOARCH)}

if ! command -v buildah >/dev/null; then
  if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
    apt-get install -y --no-install-recommends buildah >&2
  else
    echo "hack/image.sh: buildah not found; install it (Debian: apt-get install buildah)" >&2
    exit 1
  fi
fi

mkdir -p bin/image "$(dirname "$out")"
CGO_ENABLED=0 GOOS=linux GOARCH=$arch go build -trimpath -ldflags='-s -w' \
  -o bin/image/selmount ./cmd/selmount

storage=(--storage-driver vfs)
if [[ $(id -u) != 0 ]]; then
  # Rootless: a private store, so nothing needs root.
  storage+=(--root "${XDG_DATA_HOME:-$HOME/.local/share}/selmount-buildah" --runroot "${XDG_RUNTIME_DIR:-/tmp}/selmount-buildah")
fi
buildah "${storage[@]}" bud --isolation chroot --platform "linux/$arch" \
  --timestamp 0 -f Dockerfile -t "$image" .
rm -f "$out"
buildah "${storage[@]}" push "$image" "oci-archive:$out:$image"
echo "hack/image.sh: $image saved to $out ($(du -h "$out" | cut -f1))" >&2
