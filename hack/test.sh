#!/usr/bin/env bash
# Runs every suite in hack/test.d in order. Each suite installs what it needs
# itself (Go modules, Debian packages, binaries it builds), so this is the
# whole test set-up on a fresh machine. Stops at the first failing suite.
set -euo pipefail
cd "$(dirname "$0")/.."
for suite in hack/test.d/*.sh; do
  echo "=== suite ${suite#hack/test.d/}"
  start=$SECONDS
  bash "$suite"
  echo "=== suite ${suite#hack/test.d/} passed in $((SECONDS - start))s"
done
