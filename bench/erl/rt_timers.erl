%% runtime.timers: N live timers (send_after to self, 10 to 60 s) set, then
%% all cancelled. Nanoseconds per set + cancel.
-module(rt_timers).
-export([main/1]).

main([N]) ->
    _ = bench_util:start(),
    T0 = erlang:monotonic_time(),
    Refs = set(N, self(), []),
    Cancelled = cancel(Refs, 0),
    Ms = bench_util:elapsed_ms(T0),
    bench_util:check("timers cancelled while live", N, Cancelled),
    receive tick -> bench_util:fail("a cancelled timer fired", [])
    after 0 -> ok
    end,
    bench_util:report("~.1f", Ms * 1.0e6 / N).

set(0, _Self, Acc) ->
    Acc;
set(I, Self, Acc) ->
    set(I - 1, Self, [erlang:send_after(10000 + I rem 50000, Self, tick) | Acc]).

%% cancel_timer gives the time left for a live timer, false otherwise.
cancel([], N) ->
    N;
cancel([Ref | Refs], N) ->
    case erlang:cancel_timer(Ref) of
        Left when is_integer(Left), Left > 0 -> cancel(Refs, N + 1);
        _ -> cancel(Refs, N)
    end.
