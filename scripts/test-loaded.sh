#!/usr/bin/env bash
# The loaded check: the test suite must pass several times in a row while stress-ng keeps every CPU
# busy, because tests check behaviour, not the machine's speed. A test that passes idle but fails here
# depends on timing and has to be rewritten (order of events, a fake server that waits for the client,
# a time limit that grows with the work), not given a bigger number.
#
#   npm run test:loaded                              # the whole suite, 3 runs, stress-ng --cpu 4
#   npm run test:loaded -- src/audio/decode.test.ts  # only these files (arguments go to vitest)
#   RUNS=5 CPU_WORKERS=8 npm run test:loaded
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS="${RUNS:-3}"
CPU_WORKERS="${CPU_WORKERS:-4}"

if ! command -v stress-ng >/dev/null; then
  echo "test:loaded: stress-ng is not installed; run scripts/setup.sh (or apt-get install stress-ng)" >&2
  exit 1
fi

stress-ng --cpu "$CPU_WORKERS" --timeout 0 --quiet &
stress_pid=$!
trap 'kill "$stress_pid" 2>/dev/null || true; wait "$stress_pid" 2>/dev/null || true' EXIT

echo "test:loaded: stress-ng --cpu $CPU_WORKERS (pid $stress_pid) beside $RUNS runs of vitest $*"
for ((i = 1; i <= RUNS; i++)); do
  started=$(date +%s)
  if npx vitest run "$@"; then
    echo "test:loaded: run $i/$RUNS passed in $(($(date +%s) - started)) s (load:$(cut -d' ' -f1-3 /proc/loadavg))"
  else
    echo "test:loaded: run $i/$RUNS FAILED after $(($(date +%s) - started)) s (load:$(cut -d' ' -f1-3 /proc/loadavg))" >&2
    exit 1
  fi
done
echo "test:loaded: all $RUNS runs passed under load"
