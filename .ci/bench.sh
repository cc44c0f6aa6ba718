#!/usr/bin/env bash
# Runs the benchmarks that BENCHMARKS.md reports, 6 times each, and prints benchstat-style raw output.
# The Redis benchmarks need a server: `source .ci/redis.sh` first (as root on Debian), or set
# WXOPEN_REDIS_ADDR. Usage: bash .ci/bench.sh [count]   (default 6)
set -euo pipefail
cd "$(dirname "$0")/.."
count="${1:-6}"
run() { go test -run '^$' -bench "$2" -benchmem -count "$count" "$1" | grep -E '^(Benchmark|goos|goarch|cpu|pkg)'; }
run ./tokenstore 'SourceWarm|ManagerTokenWarm'
run ./component 'AuthorizerTokenWarm|HandlerVerifyTicket'
run ./crypto 'DecryptMessage$|SortedSHA1|DecryptUserData'
run ./card 'CardExt|SignCardExt'
run ./internal/wxhttp 'CallTyped|CallRawNetHTTP'
run . 'ColdStartStampede'
if [ -n "${WXOPEN_REDIS_ADDR:-}" ]; then
  run ./tokenstore/redisstore 'WarmToken|ColdRefresh'
else
  echo "WXOPEN_REDIS_ADDR not set: Redis benchmarks skipped (source .ci/redis.sh)" >&2
fi
