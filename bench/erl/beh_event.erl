%% gen_event fan-out, the BEAM side of bench/runtime/beh_event.c: a manager
%% with H handlers ({beh_event, I}) counting events; E notifies, then a
%% sync_notify. Handler calls per second (E x H).
-module(beh_event).
-behaviour(gen_event).
-export([main/1]).
-export([init/1, handle_event/2, handle_call/2]).

main([H, E]) ->
    bench_util:start(),
    {ok, M} = gen_event:start(),
    [ok = gen_event:add_handler(M, {?MODULE, I}, []) || I <- lists:seq(1, H)],
    T0 = erlang:monotonic_time(),
    notify_n(M, E),
    ok = gen_event:sync_notify(M, {event, 42}),
    S = bench_util:elapsed_ms(T0) / 1.0e3,
    Seen = lists:sum([gen_event:call(M, {?MODULE, I}, seen)
                      || I <- lists:seq(1, H)]),
    bench_util:check("handler calls", (E + 1) * H, Seen),
    bench_util:report("~b", round(E * H / S)).

notify_n(_, 0) -> ok;
notify_n(M, N) -> gen_event:notify(M, {event, 42}), notify_n(M, N - 1).

init([]) -> {ok, 0}.
handle_event(_, N) -> {ok, N + 1}.
handle_call(seen, N) -> {ok, N, N}.
