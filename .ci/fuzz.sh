#!/usr/bin/env bash
# Runs every fuzz target of the modules (wxopen, and realtime in its folder) for a short time each:
# bash .ci/fuzz.sh 15s
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime="${1:-15s}"
for mod in . realtime; do
  for pkg in $(cd "$mod" && go list ./...); do
    dir=$(cd "$mod" && go list -f '{{.Dir}}' "$pkg")
    targets=$(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' || true)
    for t in $targets; do
      echo "fuzz $pkg $t ($fuzztime)"
      (cd "$mod" && go test -run '^$' -fuzz "^${t}\$" -fuzztime "$fuzztime" "$pkg") 2>&1 | tail -3
    done
  done
done
