#!/usr/bin/env bash
# make bench: runs the benchmark suites of bench/ (BENCH=<suite> for one).
set -euo pipefail
suites=$(for f in bench/*/run.sh; do if [[ -f "$f" ]]; then basename "$(dirname "$f")"; fi; done)
if [[ -z "$suites" ]]; then
  echo "otpc: no benchmark suites yet (see shared BENCHMARKS.md for the plan)"
  exit 0
fi
for s in $suites; do
  [[ -n "${BENCH:-}" && "$BENCH" != "$s" ]] && continue
  bash "bench/$s/run.sh"
done
