%% gen_statem event throughput, the BEAM side of bench/runtime/beh_statem.c:
%% a state_functions machine flips between on and off on each cast; N casts,
%% then a call reads the count. Events per second.
-module(beh_statem).
-behaviour(gen_statem).
-export([main/1]).
-export([callback_mode/0, init/1, on/3, off/3]).

main([N]) ->
    bench_util:start(),
    {ok, Pid} = gen_statem:start(?MODULE, [], []),
    T0 = erlang:monotonic_time(),
    cast_n(Pid, N),
    Count = gen_statem:call(Pid, count),
    S = bench_util:elapsed_ms(T0) / 1.0e3,
    bench_util:check("events counted", N, Count),
    bench_util:report("~b", round(N / S)).

cast_n(_, 0) -> ok;
cast_n(Pid, N) -> gen_statem:cast(Pid, flip), cast_n(Pid, N - 1).

callback_mode() -> state_functions.

init([]) -> {ok, off, 0}.

off(cast, flip, N) -> {next_state, on, N + 1};
off({call, From}, count, N) -> {keep_state_and_data, [{reply, From, N}]}.

on(cast, flip, N) -> {next_state, off, N + 1};
on({call, From}, count, N) -> {keep_state_and_data, [{reply, From, N}]}.
