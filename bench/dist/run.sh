#!/usr/bin/env bash
# make bench BENCH=dist: the distribution of the otpc C node against a plain
# erl_interface C node (bench/ei/dist_ei.c) and a BEAM node pair
# (bench/erl/dist_bench.erl), all on this machine over loopback, on a
# private epmd. Every server/client pair speaks the protocol of
# bench/dist/dist_common.h, so one scenario runs on each pairing:
#
#   oo  otpc -> otpc     ee  ei -> ei       bb  BEAM -> BEAM
#   bo  BEAM -> otpc     be  BEAM -> ei     (BEAM client, C server)
#   ob  otpc -> BEAM     eb  ei -> BEAM     (C client, BEAM server)
#
# One iteration runs every pairing once (a fresh server and client each);
# a warm-up iteration (a tenth of the sizes), then DIST_RUNS iterations,
# alternate the sides as shared BENCHMARKS.md asks. About 3 minutes on an
# idle 2-core machine, more when it is shared. Each figure is the median over the iterations,
# each ratio the median of the per-iteration ratios. Sizes (environment):
#   DIST_RUNS=5           iterations after the warm-up
#   DIST_SMALL_N=200000   small messages per run
#   DIST_BIN_TOTAL=67108864  bytes per binary size (1 KB, 64 KB, 1 MB)
#   DIST_RTT_N=2000       sequential calls
#   DIST_HOL_BYTES=1073741824 DIST_HOL_CHUNK=1048576  the bulk transfer
#   DIST_TICKTIME=4       net_ticktime of every node (ticks every second;
#                         a connection starved of ticks for 4 s drops and
#                         counts as a missed tick in hol_ticks_missed)
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib/pair.sh
source mk/epmd.sh

BUILD=${BUILD:-build}
RUNS=${DIST_RUNS:-5}
SMALL_N=${DIST_SMALL_N:-200000}
BIN_TOTAL=${DIST_BIN_TOTAL:-67108864}
RTT_N=${DIST_RTT_N:-2000}
HOL_BYTES=${DIST_HOL_BYTES:-1073741824}
HOL_CHUNK=${DIST_HOL_CHUNK:-1048576}
TICK=${DIST_TICKTIME:-4}
out=$BUILD/bench
mkdir -p "$out/dist" "$out/ei" "$out/erl"

# The flags of mk/build.mk, so the benchmark follows the Makefile.
mkvar() {
  make -s --no-print-directory -f mk/build.mk BUILD="$BUILD" \
    --eval 'bench-print-%: ; @echo $($*)' "bench-print-$1"
}
make -s --no-print-directory -f mk/build.mk BUILD="$BUILD" lib
CC=$(mkvar CC)
CPPFLAGS=$(mkvar CPPFLAGS)
CFLAGS=$(mkvar CFLAGS)
LDLIBS=$(mkvar LDLIBS)
lib=$BUILD/lib/libotpc.a
# shellcheck disable=SC2086 # the flags are word lists
$CC $CPPFLAGS $CFLAGS -o "$out/dist/dist_otpc" bench/dist/dist_otpc.c "$lib" $LDLIBS
# shellcheck disable=SC2086
# ei reads erl_errno per thread only with _REENTRANT (ei.h).
# shellcheck disable=SC2086
$CC $CPPFLAGS -D_REENTRANT $CFLAGS -o "$out/ei/dist_ei" bench/ei/dist_ei.c $LDLIBS
erlc -Wall -Werror -o "$out/erl" bench/erl/dist_bench.erl

otpc_epmd_start
host=$(hostname -s)
cookie=otpcbench$$
log=$out/dist/nodes.log
: >"$log"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"; otpc_epmd_stop' EXIT

erl_node() { # NAME -eval EXPR...
  local name=$1
  shift
  exec erl -noshell -sname "$name" -setcookie "$cookie" \
    -kernel net_ticktime "$TICK" -pa "$out/erl" "$@"
}

server() { # KIND NAME
  case $1 in
    o) exec "$out/dist/dist_otpc" server "$2@$host" "$cookie" "$TICK" ;;
    e) exec "$out/ei/dist_ei" server "$2@$host" "$cookie" "$TICK" ;;
    b) erl_node "$2" -eval 'dist_bench:server()' ;;
  esac
}

client() { # KIND NAME SERVER_NODE PIDHEX SCENARIO...
  local kind=$1 name=$2 node=$3 hex=$4
  shift 4
  case $kind in
    o) "$out/dist/dist_otpc" client "$name@$host" "$cookie" "$TICK" "$node" "$hex" "$@" ;;
    e) "$out/ei/dist_ei" client "$name@$host" "$cookie" "$TICK" "$node" "$hex" "$@" ;;
    b)
      local args="\"$hex\"" s
      for s in "$@"; do args+=", \"$s\""; done
      (erl_node "$name" -eval "dist_bench:client([$args])")
      ;;
  esac
}

seq_no=0
# pairing SERVER_KIND CLIENT_KIND ITER SCENARIO...: appends
# "ITER PAIRING KEY VALUE" lines to $tmp/results.
pairing() {
  local sk=$1 ck=$2 iter=$3 line ready node hex kv
  shift 3
  seq_no=$((seq_no + 1))
  coproc SRV { server "$sk" "bs$$x$seq_no" 2>>"$log"; }
  local spid=$SRV_PID
  if ! read -r -t 60 -u "${SRV[0]}" ready node hex || [[ $ready != ready ]]; then
    echo "bench dist: server $sk gave no ready line (see $log)" >&2
    exit 1
  fi
  local outf=$tmp/client.out
  if ! client "$ck" "bc$$x$seq_no" "$node" "$hex" "$@" >"$outf" 2>>"$log"; then
    echo "bench dist: client $ck -> server $sk failed (see $log):" >&2
    cat "$outf" >&2
    kill "$spid" 2>/dev/null || true
    exit 1
  fi
  kill "$spid" 2>/dev/null || true
  wait "$spid" 2>/dev/null || true
  while IFS='=' read -r k v; do
    [[ -n $k && -n $v ]] && echo "$iter $ck$sk $k $v" >>"$tmp/results"
  done <"$outf"
  return 0
}

# scaled VALUE DIVISOR MIN: VALUE / DIVISOR, at least MIN.
scaled() { local v=$(($1 / $2)); echo $((v < $3 ? $3 : v)); }

for ((i = 0; i <= RUNS; i++)); do
  # The warm-up (iteration 0, not reported) starts every pairing once with
  # a tenth of the sizes: it warms the page cache and the code, not the
  # clock.
  d=1
  if ((i == 0)); then echo "  dist: warm-up" >&2; d=10; else echo "  dist: run $i/$RUNS" >&2; fi
  sm=small:$(scaled "$SMALL_N" "$d" 1) rtt=rtt:$(scaled "$RTT_N" "$d" 1)
  hol=hol:$(scaled "$HOL_BYTES" "$d" "$HOL_CHUNK"):$HOL_CHUNK
  bins=""
  for size in 1024 65536 1048576; do bins+=" bin:$size:$(scaled "$BIN_TOTAL" "$d" "$size")"; done
  # shellcheck disable=SC2086 # $bins is a word list
  pairing o o "$i" "$sm" $bins "$rtt" "$hol"
  pairing e e "$i" "$sm" "$rtt"
  # shellcheck disable=SC2086
  pairing b b "$i" "$sm" $bins "$rtt" "$hol"
  pairing o b "$i" "$sm" "$rtt"
  pairing e b "$i" "$sm" "$rtt"
  pairing b o "$i" "$sm"
  pairing b e "$i" "$sm"
done

# value PAIRING KEY ITER
value() { awk -v p="$1" -v k="$2" -v i="$3" '$1 == i && $2 == p && $3 == k { print $4 }' "$tmp/results"; }

# report NAME UNIT BETTER PEER PAIRING_A KEY_A PAIRING_B KEY_B
report() {
  local name=$1 unit=$2 better=$3 peer=$4 pa=$5 ka=$6 pb=$7 kb=$8 i a b
  local as=() bs=() rs=()
  for ((i = 1; i <= RUNS; i++)); do
    a=$(value "$pa" "$ka" "$i")
    b=$(value "$pb" "$kb" "$i")
    [[ -z $a || -z $b ]] && continue
    as+=("$a")
    bs+=("$b")
    rs+=("$(awk -v a="$a" -v b="$b" 'BEGIN { if (b == 0) print "inf"; else printf "%.4g", a / b }')")
  done
  if ((${#as[@]} == 0)); then
    echo "bench: no values for dist.$name ($pa $ka, $pb $kb)" >&2
    return 0
  fi
  echo "bench dist.$name otpc=$(median "${as[@]}") $peer=$(median "${bs[@]}") unit=$unit ratio=$(median "${rs[@]}") better=$better" |
    tee -a bench/results/dist.txt
}

# total PAIRING KEY: the sum over the measured iterations.
total() { awk -v p="$1" -v k="$2" '$1 > 0 && $2 == p && $3 == k { s += $4 } END { print s + 0 }' "$tmp/results"; }

bench_header dist
echo "# dist: runs=$RUNS small=$SMALL_N bin_total=$BIN_TOTAL rtt=$RTT_N hol=$HOL_BYTES/$HOL_CHUNK ticktime=$TICK; pairings client->server: oo otpc->otpc, ee ei->ei, bb BEAM->BEAM, bo BEAM->otpc, be BEAM->ei, ob otpc->BEAM, eb ei->BEAM" |
  tee -a bench/results/dist.txt
report c2c_small msgs/s higher ei oo small_rate ee small_rate
report c2c_small msgs/s higher beam oo small_rate bb small_rate
report cpu_per_msg_c2c_sender ns lower ei oo small_cpu_client_ns ee small_cpu_client_ns
report beam2c_small msgs/s higher ei bo small_rate be small_rate
report cpu_per_msg_beam2c ns lower ei bo small_cpu_server_ns be small_cpu_server_ns
report c2beam_small msgs/s higher ei ob small_rate eb small_rate
report cpu_per_msg_c2beam ns lower ei ob small_cpu_client_ns eb small_cpu_client_ns
report bin_1kb MB/s higher beam oo bin_1024_mbs bb bin_1024_mbs
report bin_64kb MB/s higher beam oo bin_65536_mbs bb bin_65536_mbs
report bin_1mb MB/s higher beam oo bin_1048576_mbs bb bin_1048576_mbs
report call_rtt_p50 us lower ei oo rtt_p50_us ee rtt_p50_us
report call_rtt_p99 us lower ei oo rtt_p99_us ee rtt_p99_us
report call_rtt_proc_p50 us lower ei oo rtt_proc_p50_us ee rtt_p50_us
report call_rtt_proc_p99 us lower ei oo rtt_proc_p99_us ee rtt_p99_us
report call_rtt_p50 us lower beam oo rtt_p50_us bb rtt_p50_us
report call_rtt_p99 us lower beam oo rtt_p99_us bb rtt_p99_us
report beam2c_call_rtt_p50 us lower ei bo rtt_p50_us be rtt_p50_us
report beam2c_call_rtt_p99 us lower ei bo rtt_p99_us be rtt_p99_us
report hol_call_p99 us lower beam oo hol_p99_us bb hol_p99_us
report hol_call_p50 us lower beam oo hol_p50_us bb hol_p50_us
report hol_bulk_rate MB/s higher beam oo hol_mbs bb hol_mbs
report hol_calls_during_bulk calls higher beam oo hol_calls bb hol_calls
echo "bench dist.hol_ticks_missed otpc=$(total oo hol_drops) beam=$(total bb hol_drops) unit=connections_lost_over_all_runs ratio=n/a better=lower" |
  tee -a bench/results/dist.txt
