#!/usr/bin/env bash
# One run of one side of the erpc benchmark (bench/rpc/run.sh):
#   side.sh otpc|beam rtt|tput N
# starts the target (otpc-node, or a BEAM node serving rpc_bench:echo/1),
# drives it from a third BEAM node and prints the driver's figure.
set -euo pipefail
kind=$1 mode=$2 n=$3
BUILD=${BUILD:-build}
ebin=$BUILD/bench/rpc
name=rpcbt$$_$RANDOM
cookie=rpcbench
host=$(hostname -s)
if [[ $kind == otpc ]]; then
  "$BUILD/bin/otpc-node" --sname "$name" --cookie "$cookie" >/dev/null 2>&1 &
  mod=otpc_node
else
  erl -sname "$name" -setcookie "$cookie" -noshell -noinput -pa "$ebin" >/dev/null 2>&1 &
  mod=rpc_bench
fi
target=$!
trap 'kill $target 2>/dev/null; wait $target 2>/dev/null || true' EXIT
erl -sname "rpcbd$$_$RANDOM" -setcookie "$cookie" -noshell -noinput -pa "$ebin" \
  -run rpc_bench main "$name@$host" "$mod" "$mode" "$n"
