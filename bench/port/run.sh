#!/usr/bin/env bash
# make bench BENCH=port: port programs on the toolkit (otpc-port-example)
# against a plain C {packet, 4} echo loop (bench/port/plain_echo.c), both
# driven by a raw Erlang port from one process (bench/port/port_bench.erl),
# alternately, as shared BENCHMARKS.md asks. Sizes (environment):
#   PORT_RTT_N=5000      sequential round trips per run
#   PORT_TPUT_N=200000   pipelined requests per run, PORT_WINDOW=64 in flight
# Figures: rtt_{8b,1kb}_p{50,99} (us), pipelined_throughput (req/s),
# otpc_port_call_rtt_8b_p50 (through the gen_server), cpu_per_req_8b (us of
# the program's own CPU time per request).
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib/pair.sh

BUILD=${BUILD:-build}
RTT_N=${PORT_RTT_N:-5000}
TPUT_N=${PORT_TPUT_N:-200000}
WIN=${PORT_WINDOW:-64}
out=$BUILD/bench/port
mkdir -p "$out"

make -s --no-print-directory -f mk/build.mk BUILD="$BUILD" "$BUILD/bin/otpc-port-example"
cc -std=c11 -O2 -Wall -Wextra -Werror -o "$out/plain_echo" bench/port/plain_echo.c
erlc -Wall -Werror -o "$out" bench/erl/bench_util.erl bench/port/port_bench.erl
erlc -Werror -o "$out" src/otpc_port.erl

otpc=$BUILD/bin/otpc-port-example
plain=$out/plain_echo
drive="erl -noshell -pa $out -run port_bench main"

bench_header port
for size in 8 1024; do
  tag=$([[ $size == 8 ]] && echo 8b || echo 1kb)
  for pct in 50 99; do
    bench_pair port "rtt_${tag}_p${pct}" us lower plain \
      "$drive rtt otpc $otpc $size $RTT_N $pct" \
      "$drive rtt plain $plain $size $RTT_N $pct"
  done
done
bench_pair port pipelined_throughput req/s higher plain \
  "$drive tput otpc $otpc 8 $TPUT_N $WIN" \
  "$drive tput plain $plain 8 $TPUT_N $WIN"
# Through the gen_server (what users call), against the same plain loop.
bench_pair port otpc_port_call_rtt_8b_p50 us lower plain \
  "$drive genserver $otpc 8 $RTT_N 50" \
  "$drive rtt plain $plain 8 $RTT_N 50"
# The program's own CPU per request (pipelined): steadier than wall time.
bench_pair port cpu_per_req_8b us lower plain \
  "$drive cpu otpc $otpc 8 $TPUT_N $WIN" \
  "$drive cpu plain $plain 8 $TPUT_N $WIN"
# Issue 8's three-deployment table (NIF, port program, C node) comes with
# `make bench BENCH=port`; a plain `make bench` runs it once, as bench/fn.
if [[ ${BENCH:-} == port && ( -z ${BENCH_ONLY:-} || fn_table =~ $BENCH_ONLY ) ]]; then
  bash bench/fn/run.sh
fi
