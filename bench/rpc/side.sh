#!/usr/bin/env bash
# One run of one side of the erpc benchmark (bench/rpc/run.sh):
#   side.sh otpc|beam rtt|tput|cpu N
# starts the target (otpc-node, or a BEAM node serving rpc_bench:echo/1),
# drives it from a third BEAM node and prints the driver's figure; cpu
# runs tput and prints instead the target's own CPU time (user + system)
# per call in microseconds, read from /proc around the timed calls.
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
# utime + stime of the target in clock ticks (fields 14 and 15; the name
# in field 2 has no spaces here).
ticks() { awk '{ print $14 + $15 }' "/proc/$target/stat"; }
drive=tput
[[ $mode == rtt ]] && drive=rtt
erl -sname "rpcbd$$_$RANDOM" -setcookie "$cookie" -noshell -noinput -pa "$ebin" \
  -run rpc_bench main "$name@$host" "$mod" "$drive" "$n" |
  while read -r line; do
    case $line in
    start) t0=$(ticks) ;;
    end) t1=$(ticks) ;;
    *)
      if [[ $mode == cpu ]]; then
        awk -v d=$((t1 - t0)) -v hz="$(getconf CLK_TCK)" -v calls=$((100 * n)) \
          'BEGIN { printf "%.2f\n", d / hz * 1e6 / calls }'
      else
        echo "$line"
      fi
      ;;
    esac
  done
