#!/usr/bin/env bash
# The three-deployment table (issue 8): otpc_fn_calc:add/2 as a NIF, a port
# program and a C node, latency and throughput side by side in one run
# (bench/fn/fn_bench.erl). Appended to bench/results/fn.txt with the date
# line: `make -s -f mk/build.mk bench BENCH=fn`.
#   FN_N=20000   sequential calls per deployment (p50/p99 over them)
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib/pair.sh
source mk/epmd.sh
BUILD=${BUILD:-build}
N=${FN_N:-20000}
make -s --no-print-directory -f mk/build.mk BUILD="$BUILD" c erlang >/dev/null
mkdir -p "$BUILD/bench/fn"
erlc -Wall -Werror -o "$BUILD/bench/fn" bench/fn/fn_bench.erl
otpc_epmd_start
name=fnb$$_$RANDOM
cookie=fnbench
host=$(hostname -s)
"$BUILD/bin/otpc-fn-node" --sname "$name" --cookie "$cookie" >"$BUILD/bench/fn/node.out" 2>&1 &
node=$!
trap 'kill $node 2>/dev/null; wait $node 2>/dev/null || true; otpc_epmd_stop || true' EXIT
# The node is reachable once it printed its ready line.
for _ in $(seq 1 100); do
  grep -q '^ready ' "$BUILD/bench/fn/node.out" && break
  read -r -t 0.1 <> <(:) || true
done
grep -q '^ready ' "$BUILD/bench/fn/node.out"
bench_header fn
erl -sname "fnbd$$_$RANDOM" -setcookie "$cookie" -noshell -noinput \
  -pa "$BUILD/bench/fn" -pa _build/default/lib/otpc/ebin \
  -run fn_bench main "$PWD/$BUILD/bin/otpc-fn-port" "$name@$host" "$N" |
  tee -a bench/results/fn.txt
