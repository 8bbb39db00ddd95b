%% runtime.ring_NxM: N processes in a ring (the driver is one of them) pass
%% one token M times around. Measures the token passing only (the ring is
%% built before the clock starts): messages per second, N * M in all.
-module(rt_ring).
-export([main/1]).

main([N, M]) ->
    _ = bench_util:start(),
    Self = self(),
    Head = lists:foldl(fun(_, Next) -> spawn(fun() -> node(Next, 0) end) end,
                       Self, lists:seq(1, N - 1)),
    T0 = erlang:monotonic_time(),
    Head ! token,
    laps(Head, M - 1),
    Ms = bench_util:elapsed_ms(T0),
    %% Each node adds the tokens it forwarded: proof that every hop happened.
    Head ! {stop, 0},
    receive {stop, Sum} -> bench_util:check("tokens forwarded", (N - 1) * M, Sum)
    end,
    bench_util:report("~.1f", N * M / (Ms / 1000)).

laps(_Head, 0) ->
    receive token -> ok end;
laps(Head, Left) ->
    receive token -> Head ! token end,
    laps(Head, Left - 1).

node(Next, Count) ->
    receive
        token ->
            Next ! token,
            node(Next, Count + 1);
        {stop, Sum} ->
            Next ! {stop, Sum + Count}
    end.
