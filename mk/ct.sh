#!/usr/bin/env bash
# Runs the Common Test suites of test/ on a fresh private epmd.
# CT_SUITES="a_SUITE b_SUITE" runs only those.
set -uo pipefail
BUILD=${BUILD:-build}
top=$(pwd)
. mk/epmd.sh
otpc_epmd_start || exit 1

logdir="$top/$BUILD/ct_logs"
mkdir -p "$logdir"
suites=()
if [[ -n "${CT_SUITES:-}" ]]; then
  for s in $CT_SUITES; do suites+=("test/$s"); done
else
  for s in test/*_SUITE.erl; do suites+=("${s%.erl}"); done
fi
if [[ ${#suites[@]} -eq 0 ]]; then
  echo "otpc: no Common Test suites found" >&2
  exit 1
fi

export OTPC_BUILD="$top/$BUILD" OTPC_TOP="$top"
ct_run -noshell -sname "otpc_ct_$$" -logdir "$logdir" \
  -pa "$top/_build/default/lib/otpc/ebin" \
  -suite "${suites[@]}"
rc=$?
echo "otpc: Common Test logs in $logdir/index.html"
exit $rc
