#!/usr/bin/env bash
# Times `selmount check -f` on a generated cluster of N pods, each with a PVC
# and a PV (default 100,000), as YAML and as JSON, and prints wall time, CPU
# time and peak RSS of each run next to the budget (3 s, 1 GiB).
#   bash hack/bench-check.sh [PODS] [RUNS]
set -euo pipefail
cd "$(dirname "$0")/.."
pods=${1:-100000}
runs=${2:-3}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/selmount" ./cmd/selmount
go run ./hack/genmanifests -pods "$pods" > "$work/cluster.yaml"
go run ./hack/genmanifests -pods "$pods" -json > "$work/cluster.json"
echo "machine: $(nproc) CPUs, $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "input: $pods pods, PVCs and PVs: $(du -h "$work/cluster.yaml" | cut -f1) YAML, $(du -h "$work/cluster.json" | cut -f1) JSON"
for fmt in yaml json; do
  for i in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %M" -o "$work/t" "$work/selmount" check -f "$work/cluster.$fmt" -o json --fail-on none > "$work/out.json"
    read -r wall user rss < "$work/t"
    printf '%-4s run %d: %6.2f s wall, %6.2f s CPU, %5d MiB peak RSS (budget 3 s, 1024 MiB)\n' "$fmt" "$i" "$wall" "$user" $((rss / 1024))
  done
done
grep -m1 -A7 '"summary"' "$work/out.json"
