#!/usr/bin/env bash
# Runs every Fuzz* target in the module for $FUZZTIME each.
set -euo pipefail
cd "$(dirname "$0")/.."
: "${FUZZTIME:=10s}"
grep -rl --include='*_test.go' '^func Fuzz' . | while read -r f; do
  pkg=./$(dirname "${f#./}")
  for t in $(grep -oE '^func Fuzz[A-Za-z0-9_]+' "$f" | cut -d' ' -f2); do
    echo "fuzz $pkg $t ($FUZZTIME)"
    go test -run='^$' -fuzz="^$t\$" -fuzztime="$FUZZTIME" "$pkg"
  done
done
