%% Savina PingPong (Imam & Sarkar): Ping sends N pings to Pong, each answered
%% by a pong; Ping paces itself with a message to itself. Milliseconds from
%% creating the two processes to both reporting.
-module(savina_pingpong).
-export([main/1]).

main([N]) ->
    T0 = bench_util:start(),
    Self = self(),
    Pong = spawn(fun() -> pong(Self, 0) end),
    Ping = spawn(fun() -> ping(Self, Pong, N, 0) end),
    Ping ! start,
    Pongs = receive {ping_done, P} -> P end,
    Pings = receive {pong_done, C} -> C end,
    Ms = bench_util:elapsed_ms(T0),
    bench_util:check("pongs received by ping", N, Pongs),
    bench_util:check("pings answered by pong", N, Pings),
    bench_util:report("~.3f", Ms).

ping(Main, Pong, Left, Pongs) ->
    receive
        start ->
            Pong ! {send_ping, self()},
            ping(Main, Pong, Left - 1, Pongs);
        ping ->
            Pong ! {send_ping, self()},
            ping(Main, Pong, Left - 1, Pongs);
        {send_pong, _From} when Left > 0 ->
            self() ! ping,
            ping(Main, Pong, Left, Pongs + 1);
        {send_pong, _From} ->
            Pong ! stop,
            Main ! {ping_done, Pongs + 1}
    end.

pong(Main, Count) ->
    receive
        {send_ping, From} ->
            From ! {send_pong, self()},
            pong(Main, Count + 1);
        stop ->
            Main ! {pong_done, Count}
    end.
