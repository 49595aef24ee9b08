#!/usr/bin/env bash
# Side-by-side measurement of `selmount check` on one volume shared by N
# running pods, each with its own level (N label groups): the report grows
# with the groups, not with the N(N-1)/2 pairs. Compares this tree with an
# older revision (default cd775c2, the last one that reported pairs).
#   bash hack/bench-shared-volume.sh [SIZES] [OLD_REV]     e.g. "500 1000" cd775c2
set -euo pipefail
cd "$(dirname "$0")/.."
sizes=${1:-"500 1000 2000"}
old=${2:-cd775c2}
work=$(mktemp -d)
trap 'git worktree remove --force "$work/old" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
go build -o "$work/new" ./cmd/selmount
git worktree add -q "$work/old" "$old"
(cd "$work/old" && go build -o "$work/oldbin" ./cmd/selmount)
gen() { # N pods on one ReadWriteMany CSI volume, distinct category pairs
	python3 - "$1" <<'PY'
import sys
n = int(sys.argv[1])
docs = ["""apiVersion: storage.k8s.io/v1
kind: CSIDriver
metadata: {name: ebs.csi.aws.com}
spec: {seLinuxMount: true}""", """apiVersion: v1
kind: PersistentVolume
metadata: {name: pv-shared}
spec: {capacity: {storage: 1Gi}, accessModes: [ReadWriteMany], csi: {driver: ebs.csi.aws.com, volumeHandle: vol-1}, claimRef: {namespace: ns, name: shared}}""", """apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: shared, namespace: ns}
spec: {accessModes: [ReadWriteMany], volumeName: pv-shared, resources: {requests: {storage: 1Gi}}}
status: {phase: Bound}"""]
pairs = ((x, y) for x in range(1024) for y in range(x + 1, 1024))
for i in range(n):
    a, b = next(pairs)
    docs.append(f"""apiVersion: v1
kind: Pod
metadata: {{name: p{i}, namespace: ns, creationTimestamp: "2026-01-01T00:00:00Z"}}
spec:
  nodeName: node-{i % 50}
  securityContext: {{seLinuxOptions: {{level: "s0:c{a},c{b}"}}}}
  containers: [{{name: c, image: i, volumeMounts: [{{name: v, mountPath: /d}}]}}]
  volumes: [{{name: v, persistentVolumeClaim: {{claimName: shared}}}}]
status: {{phase: Running}}""")
print("\n---\n".join(docs))
PY
}
measure() { # binary input -> "seconds maxRSS-KiB report-bytes"
	/usr/bin/time -f "%e %M" -o "$work/t" "$1" check -f "$2" -o json > "$work/out" 2>/dev/null || true
	echo "$(tail -n 1 "$work/t") $(stat -c %s "$work/out")"
}
printf '| pods (= label groups) | %s: s, MiB RSS, report | this tree: s, MiB RSS, report | time ratio |\n|---:|---|---|---:|\n' "$old"
for n in $sizes; do
	gen "$n" > "$work/in.yaml"
	read -r ot om ob < <(measure "$work/oldbin" "$work/in.yaml")
	read -r nt nm nb < <(measure "$work/new" "$work/in.yaml")
	awk -v n="$n" -v ot="$ot" -v om="$om" -v ob="$ob" -v nt="$nt" -v nm="$nm" -v nb="$nb" 'BEGIN {
		printf "| %d | %.2f s, %d MiB, %.1f MB | %.2f s, %d MiB, %.2f MB | %.0fx |\n", n, ot, om/1024, ob/1e6, nt, nm/1024, nb/1e6, (nt > 0 ? ot/nt : 0) }'
done
