#!/usr/bin/env bash
# Times `selmount check -f` on a generated cluster of N pods, each with a PVC
# and a PV (default 100,000), as YAML documents and as one JSON List, side by
# side with the same binary decoding through the standard decoders
# (sigs.k8s.io/yaml and sigs.k8s.io/json, --standard-decoders), and prints
# wall time, CPU time and peak RSS of each run, the ratio to the standard
# decoders, and the budget (3 s, 1 GiB). Every run must print the same report.
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

# run LABEL FILE [FLAGS...]: one timed run; prints a line, leaves the wall
# time in $wall and the report in $work/out.json.
run() {
  local label=$1 file=$2
  shift 2
  /usr/bin/time -f "%e %U %M" -o "$work/t" "$work/selmount" check -f "$file" -o json --fail-on none "$@" > "$work/out.json"
  read -r wall user rss < "$work/t"
  printf '%-24s %6.2f s wall, %6.2f s CPU, %5d MiB peak RSS' "$label" "$wall" "$user" $((rss / 1024))
  if [[ ! -f $work/first.json ]]; then cp "$work/out.json" "$work/first.json"; fi
  cmp -s "$work/first.json" "$work/out.json" || { echo; echo "the report differs from the first run" >&2; exit 1; }
}
for fmt in yaml json; do
  for i in $(seq "$runs"); do
    run "$fmt standard decoders" "$work/cluster.$fmt" --standard-decoders
    std=$wall
    echo
    run "$fmt selmount" "$work/cluster.$fmt"
    awk -v s="$std" -v f="$wall" 'BEGIN { printf "   %.1fx faster than the standard decoders (budget 3 s, 1024 MiB)\n", s / f }'
  done
done
grep -m1 -A7 '"summary"' "$work/out.json"
