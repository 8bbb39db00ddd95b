#!/usr/bin/env bash
# Runs every test stage and prints each runner's own summary, then one line
# for the whole run: "N passed, N failed". Exits non-zero on any failure.
#   mk/test.sh            all stages
#   mk/test.sh STAGE...   only those (unit, fuzz, ct, exunit)
# Environment: BUILD (build dir), FUZZ_SECONDS (per fuzz target),
# CT_SUITES (space-separated suite names to run; default all).
set -uo pipefail

BUILD=${BUILD:-build}
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
top=$(pwd)
stages=("$@")
if [[ ${#stages[@]} -eq 0 ]]; then
  stages=(unit fuzz ct exunit)
  # The fuzz targets are always built with ASan+UBSan, so the plain run has
  # already run exactly these binaries: a sanitized run skips them.
  if [[ "${SANITIZE:-0}" == 1 ]]; then
    stages=(unit ct exunit)
    echo "== fuzz targets: already run with ASan+UBSan by the plain make test"
  fi
fi

passed=0
failed=0
failures=()
# Counts come from each runner's own summary line where it prints one;
# a runner that fails without a summary counts as one failure.
count() { passed=$((passed + $1)); failed=$((failed + $2)); }
fail() { failures+=("$1"); }
log="$BUILD/test-stage.log"
mkdir -p "$BUILD"

# cmocka programs driven by a Common Test suite (they need files the suite
# makes with a real node), not run on their own.
ct_driven=" test_term_corpus "

stage_unit() {
  echo "== unit tests (cmocka)"
  for t in "$BUILD"/test/test_*; do
    [[ -x "$t" ]] || continue
    name=$(basename "$t")
    [[ "$ct_driven" == *" $name "* ]] && continue
    echo "-- $name"
    if "$t" 2>&1 | tee "$log"; then rc=0; else rc=1; fi
    p=$(sed -n 's/.*\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
    f=$(sed -n 's/.*\[  FAILED  \] \([0-9]*\) test.*/\1/p' "$log" | tail -n1)
    count "${p:-0}" "${f:-0}"
    if [[ $rc -ne 0 ]]; then
      [[ -z "$f" || "$f" == 0 ]] && count 0 1
      fail "unit:$name"
    fi
  done
}

stage_fuzz() {
  echo "== fuzz targets (libFuzzer, ${FUZZ_SECONDS}s each over the corpus)"
  for f in "$BUILD"/fuzz/fuzz_*; do
    [[ -x "$f" ]] || continue
    name=$(basename "$f")
    corpus="test/fuzz/corpus/${name#fuzz_}"
    scratch="$BUILD/fuzz/work/${name#fuzz_}"
    rm -rf "$scratch" && mkdir -p "$scratch"
    echo "-- $name over $corpus"
    # New inputs go to the scratch dir (the first one), never to the corpus.
    if "$f" -max_total_time="$FUZZ_SECONDS" -print_final_stats=0 \
        -artifact_prefix="$BUILD/fuzz/" "$scratch" "$corpus" \
        >"$BUILD/fuzz/$name.log" 2>&1; then
      grep -E '^Done [0-9]+ runs' "$BUILD/fuzz/$name.log" || true
      count 1 0
    else
      tail -n 40 "$BUILD/fuzz/$name.log"
      count 0 1
      fail "fuzz:$name"
    fi
  done
}

stage_ct() {
  echo "== Common Test suites (real OTP nodes)"
  if BUILD="$BUILD" bash mk/ct.sh 2>&1 | tee "$log"; then rc=0; else rc=1; fi
  # One "TEST COMPLETE, N ok, M failed" line per suite: add them up.
  p=$(sed -n 's/.*TEST COMPLETE, \([0-9]*\) ok.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
  f=$(sed -n 's/.*TEST COMPLETE, .*, \([0-9]*\) failed.*/\1/p' "$log" | awk '{ s += $1 } END { print s + 0 }')
  count "$p" "$f"
  if [[ $rc -ne 0 ]]; then
    [[ -z "$f" || "$f" == 0 ]] && count 0 1
    fail "ct"
  fi
}

stage_exunit() {
  echo "== ExUnit tests (real Elixir)"
  if BUILD="$BUILD" bash mk/exunit.sh 2>&1 | tee "$log"; then rc=0; else rc=1; fi
  line=$(grep -E '^[0-9]+ tests?, [0-9]+ failures?' "$log" | tail -n1)
  n=$(sed -n 's/^\([0-9]*\) test.*/\1/p' <<<"$line")
  f=$(sed -n 's/.*, \([0-9]*\) failure.*/\1/p' <<<"$line")
  count $(( ${n:-0} - ${f:-0} )) "${f:-0}"
  if [[ $rc -ne 0 ]]; then
    [[ -z "$f" || "$f" == 0 ]] && count 0 1
    fail "exunit"
  fi
}

for s in "${stages[@]}"; do
  "stage_$s"
done

echo
if [[ $failed -gt 0 ]]; then
  echo "failed: ${failures[*]}"
fi
echo "otpc: $passed passed, $failed failed"
[[ $failed -eq 0 && ${#failures[@]} -eq 0 ]]
