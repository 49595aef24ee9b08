#!/usr/bin/env bash
# Static checks and unit tests (with the race detector), plus a short fuzz run
# of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/../.."
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [[ -n $unformatted ]]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi
go vet ./...
GOOS=darwin go build ./...   # platform stubs keep other OSes building
go test -race -count=1 ./...
bash hack/fuzz.sh   # FUZZTIME defaults to a count, see there
