%% Drives one side of one NIF benchmark and prints its figure on the last
%% line: erl -run nif_bench main Bench Side N LibDir
%%   add, tuple_decode: ns per call (N calls in a loop)
%%   yield_sum:         MB/s summing an N MiB binary
%%   pool_rtt:          us per round trip (N sequential calls)
-module(nif_bench).
-export([main/1]).

main([Bench, Side, NStr, LibDir]) ->
    N = list_to_integer(NStr),
    load(LibDir),
    T0 = bench_util:start(),
    run(list_to_atom(Bench), list_to_atom(Side), N, T0).

load(LibDir) ->
    [begin
         {module, M} = code:ensure_loaded(M),
         ok
     end || M <- [nif_bench_raw, nif_bench_otpc, otpc_nif_example]],
    LibDir.

run(add, Side, N, _) ->
    M = mod(Side),
    T = erlang:monotonic_time(),
    add_loop(M, N, 0),
    report_ns(T, N);
run(tuple_decode, Side, N, _) ->
    M = mod(Side),
    Tup = {7, 2.5, <<"abc">>},
    bench_util:check(tuple_decode, 12, M:tuple_decode(Tup)),
    T = erlang:monotonic_time(),
    tuple_loop(M, Tup, N),
    report_ns(T, N);
run(yield_sum, Side, MiB, _) ->
    Bin = binary:copy(<<1, 2, 3, 4>>, MiB * 256 * 1024),
    T = erlang:monotonic_time(),
    S = case Side of
            otpc -> otpc_nif_example:sum_binary(Bin);
            raw -> nif_bench_raw:sum(Bin)
        end,
    Ms = bench_util:elapsed_ms(T),
    bench_util:check(sum, 10 * MiB * 256 * 1024, S),
    bench_util:report("~.3f", MiB / (Ms / 1000));
run(pool_rtt, Side, N, _) ->
    T = erlang:monotonic_time(),
    pool_loop(Side, N),
    bench_util:report("~.3f", bench_util:elapsed_ms(T) * 1000 / N).

mod(otpc) -> nif_bench_otpc;
mod(raw) -> nif_bench_raw.

report_ns(T, N) ->
    bench_util:report("~.3f", bench_util:elapsed_ms(T) * 1.0e6 / N).

add_loop(_, 0, Acc) -> Acc;
add_loop(M, N, Acc) -> add_loop(M, N - 1, M:add(N, Acc) band 16#FFFF).

tuple_loop(_, _, 0) -> ok;
tuple_loop(M, Tup, N) -> 12 = M:tuple_decode(Tup), tuple_loop(M, Tup, N - 1).

%% The toolkit's pool against the VM's own way off the schedulers: a dirty
%% CPU NIF call.
pool_loop(_, 0) -> ok;
pool_loop(otpc, N) ->
    {ok, 3} = otpc_nif:await(nif_bench_otpc:pool_add(1, 2), 5000),
    pool_loop(otpc, N - 1);
pool_loop(raw, N) ->
    3 = nif_bench_raw:dirty_add(1, 2),
    pool_loop(raw, N - 1).
