#!/usr/bin/env bash
# make bench BENCH=nif: the NIF toolkit against hand-written erl_nif code
# (bench/nif/raw_nif.c), alternately, as shared BENCHMARKS.md asks. Sizes:
#   NIF_CALLS=2000000   calls per run for add and tuple_decode
#   NIF_SUM_MIB=100     the yielding sum's input
#   NIF_POOL_N=20000    sequential pool round trips (peer: a dirty CPU NIF)
set -euo pipefail
cd "$(dirname "$0")/../.."
source bench/lib/pair.sh

BUILD=${BUILD:-build}
CALLS=${NIF_CALLS:-2000000}
MIB=${NIF_SUM_MIB:-100}
POOL_N=${NIF_POOL_N:-20000}
out=$BUILD/bench/nif
mkdir -p "$out"

make -s --no-print-directory -f mk/build.mk BUILD="$BUILD" nif
erl_inc=$(erl -noshell -eval 'io:format("~s/usr/include",[code:root_dir()]),halt().')
flags="-std=c11 -O2 -fPIC -shared -Wall -Wextra -Werror -I$erl_inc -Iinclude"
cc $flags -o "$out/nif_bench_raw.so" bench/nif/raw_nif.c
cc $flags -DOTPC_NIF_OTP_RELEASE=$(erl -noshell -eval 'io:format("~s",[erlang:system_info(otp_release)]),halt().') \
  -o "$out/nif_bench_otpc.so" bench/nif/otpc_nif.c "$BUILD/lib/libotpc_nif.a"
erlc -Werror -o "$out" bench/erl/bench_util.erl bench/nif/nif_bench.erl \
  bench/nif/nif_bench_raw.erl bench/nif/nif_bench_otpc.erl src/otpc_nif.erl \
  src/otpc_nif_example.erl

export NIF_BENCH_DIR=$out
drive="erl -noshell -pa $out -pa _build/default/lib/otpc/ebin -run nif_bench main"

bench_header nif
bench_pair nif add_overhead ns/call lower raw_nif \
  "$drive add otpc $CALLS $out" "$drive add raw $CALLS $out"
bench_pair nif tuple_decode ns/call lower raw_nif \
  "$drive tuple_decode otpc $CALLS $out" "$drive tuple_decode raw $CALLS $out"
bench_pair nif yield_sum_100mb MB/s higher raw_nif_blocking \
  "$drive yield_sum otpc $MIB $out" "$drive yield_sum raw $MIB $out"
bench_pair nif threadpool_rtt us lower dirty_nif \
  "$drive pool_rtt otpc $POOL_N $out" "$drive pool_rtt raw $POOL_N $out"
