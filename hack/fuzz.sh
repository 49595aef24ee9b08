#!/usr/bin/env bash
# Runs every Fuzz* target in the module for $FUZZTIME each.
#
# The default is a number of executions ("Nx"), not a duration: with a
# duration the go fuzzing coordinator can end a clean run with a spurious
# "context deadline exceeded" failure when the deadline lands while a worker
# is busy (seen in CI on a loaded machine). A count has no deadline, and it
# also makes the amount of fuzzing the same on fast and slow machines.
# Longer local runs: FUZZTIME=10m bash hack/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
: "${FUZZTIME:=100000x}"
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg=./$(dirname "${f#./}")
  for t in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$f" | cut -d' ' -f2); do
    echo "fuzz $pkg $t ($FUZZTIME)"
    go test -run='^$' -fuzz="^$t\$" -fuzztime="$FUZZTIME" "$pkg"
  done
done
