#!/usr/bin/env bash
# Builds the control-plane binaries the integration tests run, into
# hack/k8s-bins/bin/:
#
#   kube-apiserver, kube-controller-manager   k8s.io/kubernetes (version in go.mod)
#   etcd                                      the go.etcd.io/etcd/server/v3 that release requires
#
# Everything comes from the Go module proxy, so a machine with only Go works.
# The versions are those of go.mod in this directory (regenerate it with
# update.sh). A stamp file records what the binaries were built from; when it
# matches, the script returns at once. FORCE=1 rebuilds anyway.
#
# Cost on 2 cores (see docs/testing.md): about 12 CPU-minutes cold (7 to 15
# minutes of wall time, 40 on a crowded machine; 2.7 GB of RAM, 3.6 GB of
# build cache), under a minute with a warm Go build cache, a tenth of a second
# when the stamp matches.
set -euo pipefail
cd "$(dirname "$0")"

export GOWORK=off       # never pick up a workspace from the repository
export CGO_ENABLED=0    # static binaries; no C compiler needed

# The required versions (the tool block lists the same paths, without one).
k8s=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v/ { print $2; exit }' go.mod)
etcd=$(awk '$1 == "go.etcd.io/etcd/server/v3" && $2 ~ /^v/ { print $2; exit }' go.mod)
[[ $k8s =~ ^v1\.([0-9]+)\. ]] || { echo "no k8s.io/kubernetes release in go.mod" >&2; exit 1; }
minor=${BASH_REMATCH[1]}

v=k8s.io/component-base/version
build=(go build -mod=readonly -trimpath
  -ldflags "-s -w -X $v.gitVersion=$k8s -X $v.gitMajor=1 -X $v.gitMinor=$minor -X $v.gitTreeState=clean")
bins=(kube-apiserver kube-controller-manager etcd)

# What the binaries depend on: the module graph, the toolchain, the flags.
stamp="kubernetes $k8s etcd $etcd $(go env GOVERSION GOOS GOARCH CGO_ENABLED | tr '\n' ' ')
${build[*]}
$(cat go.mod go.sum | sha256sum | cut -d' ' -f1)"

up_to_date() {
  [[ -f bin/.stamp && $(<bin/.stamp) == "$stamp" ]] || return 1
  for b in "${bins[@]}"; do [[ -x bin/$b ]] || return 1; done
}
if [[ ${FORCE:-} != 1 ]] && up_to_date; then
  echo "k8s-bins: up to date (kubernetes $k8s, etcd $etcd) in $PWD/bin"
  exit 0
fi

echo "k8s-bins: building kubernetes $k8s and etcd $etcd (cold: 7-15 min on 2 idle cores)"
start=$SECONDS
mkdir -p bin
rm -f bin/.stamp # a half-finished build must never look finished
tmp=$(mktemp -d bin/.build.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# One go command for all three, so it schedules their packages together. The
# main package of etcd is its module root and would be named "server".
"${build[@]}" -o "$tmp/" \
  k8s.io/kubernetes/cmd/kube-apiserver \
  k8s.io/kubernetes/cmd/kube-controller-manager \
  go.etcd.io/etcd/server/v3
mv "$tmp/server" "$tmp/etcd"
for b in "${bins[@]}"; do mv -f "$tmp/$b" "bin/$b"; done
echo "$stamp" >bin/.stamp

bin/kube-apiserver --version
# sed reads to the end: head would leave etcd writing into a closed pipe,
# and its SIGPIPE fails the build under pipefail (it did, once, in CI).
bin/etcd --version | sed -n 1p
echo "k8s-bins: built in $((SECONDS - start))s into $PWD/bin"
