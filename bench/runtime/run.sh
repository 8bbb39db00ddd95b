#!/usr/bin/env bash
# make bench BENCH=runtime: the process runtime against the BEAM, side by
# side (bench/lib/pair.sh), both on 2 schedulers. The otpc side is
# bench/runtime/*.c, built here with the Makefile's own flags against
# libotpc.a; the BEAM side is bench/erl/, compiled here. Every program checks
# its own result and exits non-zero when it is wrong. Parameters and what
# each figure means: bench/README.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib/pair.sh

BUILD=${BUILD:-build}
out=$BUILD/bench
mkdir -p "$out/runtime" "$out/erl"

# The flags of mk/build.mk, so the benchmarks follow the Makefile.
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
for src in bench/runtime/*.c; do
  bin=$out/runtime/$(basename "$src" .c)
  if [[ ! -x $bin || $src -nt $bin || bench/runtime/bench.h -nt $bin || $lib -nt $bin ]]; then
    # shellcheck disable=SC2086 # the flags are word lists
    $CC $CPPFLAGS $CFLAGS -o "$bin" "$src" "$lib" $LDLIBS
  fi
done
erlc -Wall -Werror -o "$out/erl" bench/erl/*.erl

c=$out/runtime
erl="erl -noshell +S 2:2 -pa $out/erl"
# The BEAM's default limit is 262144 processes.
erl_1m="erl -noshell +S 2:2 +P 2000000 -pa $out/erl"

bench_header runtime
bench_pair runtime ring_1000x1000 msgs/s higher beam \
  "$c/ring 1000 1000" "$erl -eval 'rt_ring:main([1000, 1000])'"
bench_pair runtime ring_10000x100 msgs/s higher beam \
  "$c/ring 10000 100" "$erl -eval 'rt_ring:main([10000, 100])'"
bench_pair runtime spawn_rate procs/s higher beam \
  "$c/spawn 1000000" "$erl_1m -eval 'rt_spawn:main([1000000])'"
bench_pair runtime bytes_per_process bytes lower beam \
  "$c/idle 100000 bytes" "$erl_1m -eval 'rt_idle:main([100000, bytes])'"
bench_pair runtime rss_1m_idle MiB lower beam \
  "$c/idle 1000000 rss" "$erl_1m -eval 'rt_idle:main([1000000, rss])'"
bench_pair runtime savina_pingpong ms lower beam \
  "$c/savina_pingpong 40000" "$erl -eval 'savina_pingpong:main([40000])'"
bench_pair runtime savina_counting ms lower beam \
  "$c/savina_counting 1000000" "$erl -eval 'savina_counting:main([1000000])'"
bench_pair runtime savina_threadring ms lower beam \
  "$c/savina_threadring 100 100000" "$erl -eval 'savina_threadring:main([100, 100000])'"
bench_pair runtime savina_chameneos ms lower beam \
  "$c/savina_chameneos 100 200000" "$erl -eval 'savina_chameneos:main([100, 200000])'"
bench_pair runtime savina_big ms lower beam \
  "$c/savina_big 20000 120" "$erl -eval 'savina_big:main([20000, 120])'"
bench_pair runtime savina_forkjoin_throughput ms lower beam \
  "$c/savina_fjthrput 10000 60" "$erl -eval 'savina_fjthrput:main([10000, 60])'"
bench_pair runtime savina_forkjoin_creation ms lower beam \
  "$c/savina_fjcreate 40000" "$erl -eval 'savina_fjcreate:main([40000])'"
bench_pair runtime timers ns lower beam \
  "$c/timers 1000000" "$erl -eval 'rt_timers:main([1000000])'"
bench_pair runtime gen_statem_events events/s higher beam \
  "$c/beh_statem 1000000" "$erl -eval 'beh_statem:main([1000000])'"
bench_pair runtime gen_event_fanout_1 calls/s higher beam \
  "$c/beh_event 1 1000000" "$erl -eval 'beh_event:main([1, 1000000])'"
bench_pair runtime gen_event_fanout_100 calls/s higher beam \
  "$c/beh_event 100 20000" "$erl -eval 'beh_event:main([100, 20000])'"
bench_pair runtime gen_event_fanout_10000 calls/s higher beam \
  "$c/beh_event 10000 200" "$erl -eval 'beh_event:main([10000, 200])'"
# Our reports go to stderr (dropped here), the BEAM's to its stdout.
bench_pair runtime supervisor_restart us lower beam \
  "$c/beh_sup 10000 2>/dev/null" "$erl -eval 'beh_sup:main([10000])'"
bench_pair runtime gen_server_call_local us lower beam \
  "$c/beh_gs_call 200000" "$erl -eval 'beh_gs_call:main([200000])'"
