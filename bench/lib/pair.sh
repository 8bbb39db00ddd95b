# Sourced by bench/<suite>/run.sh. Runs a benchmark side by side with its
# peer, alternately (A B A B ...) after one warm-up of each, and reports the
# medians and the median of the pairwise ratios, as shared BENCHMARKS.md
# asks:
#   bench <suite>.<name> otpc=<v> <peer>=<v> unit=<u> ratio=<otpc/peer> better=<higher|lower>
# Each command prints its measurement as the last line of its stdout.

BENCH_RUNS=${BENCH_RUNS:-5}

# bench_header SUITE: one line per run with the date and the machine.
bench_header() {
  local suite=$1 cpu otp ei
  cpu=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)
  otp=$(erl -noshell -eval 'io:format("~s", [erlang:system_info(otp_release)]), halt().')
  ei=$(erl -noshell -eval 'io:format("~s", [filename:basename(code:lib_dir(erl_interface))]), halt().')
  mkdir -p bench/results
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) nproc=$(nproc) cpu=\"$cpu\" otp=$otp ei=$ei" |
    tee -a "bench/results/$suite.txt"
}

# bench_pair SUITE NAME UNIT BETTER PEER "OTPC_CMD" "PEER_CMD"
bench_pair() {
  local suite=$1 name=$2 unit=$3 better=$4 peer=$5 a_cmd=$6 b_cmd=$7
  local a b as=() bs=() rs=() i
  # BENCH_ONLY=<regex>: run only the benchmarks whose name matches.
  [[ -n ${BENCH_ONLY:-} && ! $name =~ $BENCH_ONLY ]] && return 0
  echo "  $suite.$name: warm-up, then $BENCH_RUNS runs each, alternating" >&2
  bash -c "$a_cmd" >/dev/null || { echo "bench: otpc side of $name failed: $a_cmd" >&2; return 1; }
  bash -c "$b_cmd" >/dev/null || { echo "bench: $peer side of $name failed: $b_cmd" >&2; return 1; }
  for ((i = 1; i <= BENCH_RUNS; i++)); do
    a=$(bash -c "$a_cmd" | tail -n1)
    b=$(bash -c "$b_cmd" | tail -n1)
    echo "    run $i/$BENCH_RUNS: otpc=$a $peer=$b" >&2
    as+=("$a")
    bs+=("$b")
    rs+=("$(awk -v a="$a" -v b="$b" 'BEGIN { if (b == 0) print "inf"; else printf "%.4g", a / b }')")
  done
  local line
  line="bench $suite.$name otpc=$(median "${as[@]}") $peer=$(median "${bs[@]}") unit=$unit ratio=$(median "${rs[@]}") better=$better"
  echo "$line" | tee -a "bench/results/$suite.txt"
}

median() {
  printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else printf "%.6g\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
