#!/usr/bin/env bash
# Run every fuzz target for $FUZZTIME (default 5s), seeded from the fixtures.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/lib.sh
fuzztime=${FUZZTIME:-5s}
for pkg in $(go list ./...); do
  for target in $(go test -list '^Fuzz' "$pkg" 2>/dev/null | grep '^Fuzz' || true); do
    log "fuzz $pkg $target for $fuzztime"
    go test -run='^$' -fuzz="^${target}\$" -fuzztime="$fuzztime" "$pkg"
  done
done
