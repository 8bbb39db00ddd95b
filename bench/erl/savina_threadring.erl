%% Savina ThreadRing: N processes in a ring pass a ping R times (the count
%% goes down at each hop), then an exit message goes once around. As a check
%% the exit message also sums the pings each process handled; the last
%% process to exit reports the sum (R + 1 pings in all) instead of sending
%% Savina's final exit to an already dead process. Milliseconds from creating
%% the ring to the report.
-module(savina_threadring).
-export([main/1]).

main([N, R]) ->
    T0 = bench_util:start(),
    Self = self(),
    Ring = [spawn(fun() -> start(Self, N) end) || _ <- lists:seq(1, N)],
    [Actor ! {data, Next} || {Actor, Next} <- lists:zip(Ring, tl(Ring) ++ [hd(Ring)])],
    hd(Ring) ! {ping, R},
    Sum = receive {done, S} -> S end,
    Ms = bench_util:elapsed_ms(T0),
    bench_util:check("pings handled", R + 1, Sum),
    bench_util:report("~.3f", Ms).

start(Main, N) ->
    receive {data, Next} -> loop(Main, N, Next, 0) end.

loop(Main, N, Next, Pings) ->
    receive
        {ping, 0} ->
            Next ! {exit, N, 0},
            loop(Main, N, Next, Pings + 1);
        {ping, Left} ->
            Next ! {ping, Left - 1},
            loop(Main, N, Next, Pings + 1);
        {exit, 1, Sum} ->
            Main ! {done, Sum + Pings};
        {exit, Left, Sum} ->
            Next ! {exit, Left - 1, Sum + Pings}
    end.
