#!/usr/bin/env bash
# The erpc benchmark: erpc:call round trip into otpc-node's C function
# otpc_node:echo/1 versus into a BEAM node's rpc_bench:echo/1, and the
# throughput of 100 concurrent callers, each driven from a third BEAM node
# on this machine over loopback, on a private epmd. Side by side with
# bench/lib/pair.sh; results appended to bench/results/rpc.txt. Also the
# target's CPU time per call under the 100 callers.
#   RPC_RTT_N=3000     sequential calls per rtt run (the median is kept)
#   RPC_TPUT_N=300     calls per caller per throughput run (100 callers)
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib/pair.sh
source mk/epmd.sh
BUILD=${BUILD:-build}
export BUILD
RTT_N=${RPC_RTT_N:-3000}
TPUT_N=${RPC_TPUT_N:-300}
make -s --no-print-directory -f mk/build.mk BUILD="$BUILD" c
mkdir -p "$BUILD/bench/rpc"
erlc -Wall -Werror -o "$BUILD/bench/rpc" bench/rpc/rpc_bench.erl
otpc_epmd_start
# Under set -e, the stop's wait on the killed epmd (status 143) would
# become this script's status: a finished run must exit 0.
trap 'otpc_epmd_stop || true' EXIT
bench_header rpc
side=bench/rpc/side.sh
bench_pair rpc erpc_call_rtt us lower beam \
  "bash $side otpc rtt $RTT_N" "bash $side beam rtt $RTT_N"
bench_pair rpc erpc_throughput_100 calls/s higher beam \
  "bash $side otpc tput $TPUT_N" "bash $side beam tput $TPUT_N"
# The driver is the bottleneck of the throughput run on a 2-core machine:
# the target's own CPU per call says what serving a call costs.
bench_pair rpc erpc_cpu_per_call_100 us lower beam \
  "bash $side otpc cpu $TPUT_N" "bash $side beam cpu $TPUT_N"
