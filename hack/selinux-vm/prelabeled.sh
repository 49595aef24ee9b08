#!/usr/bin/env bash
# Measures, inside the SELinux-enforcing guest, relabeling a tree whose
# entries already carry the label and whose root does not (an interrupted
# relabel): selmount's relabeler against go-selinux Chcon, warm and cold.
#   bash hack/selinux-vm/prelabeled.sh [FILES] [REPS]
# Needs the VM and image built by hack/test.d/40-selinux-vm.sh (run it once).
set -euo pipefail
cd "$(dirname "$0")"
n=${1:-100000}
reps=${2:-2}
work=${SELINUX_VM_WORK:-$PWD/work}
img=$work/images/ext4-$n.img
[[ -s $img ]] || { echo "prelabeled: no $img: run hack/test.d/40-selinux-vm.sh (with SELINUX_VM_BENCH_SIZES including $n) first" >&2; exit 1; }
payload=$(mktemp -d)
trap 'rm -rf "$payload"' EXIT
CGO_ENABLED=0 go build -o "$payload/labelbench" ./labelbench
printf '#!/bin/sh\n./labelbench prelabeled -n %d -disk /dev/vda -reps %d\n' "$n" "$reps" > "$payload/run.sh"
chmod +x "$payload/run.sh"
SELINUX_VM_WORK=$work bash ./run.sh -m 2G -c 2 -t 3600 -d "$img" "$payload"
