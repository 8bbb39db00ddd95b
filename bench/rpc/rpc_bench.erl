%% The erpc benchmark's Erlang side (bench/rpc/run.sh): echo/1, the
%% function a BEAM target serves, and main/1, the driver that calls either
%% target from a third node.
-module(rpc_bench).
-export([echo/1, main/1]).

echo(X) -> X.

%% main([Target, Module, Mode, N]): Mode rtt prints the median round trip
%% of N sequential erpc:call/4 in microseconds; Mode tput prints the calls
%% per second of 100 concurrent callers making N calls each, between a
%% line "start" and a line "end" (side.sh reads the target's CPU time at
%% each).
main([Target0, Module0, Mode, N0]) ->
    Target = list_to_atom(Target0),
    Module = list_to_atom(Module0),
    N = list_to_integer(N0),
    connect(Target, 400),
    %% Warm the connection and the code path.
    [x = erpc:call(Target, Module, echo, [x]) || _ <- lists:seq(1, 100)],
    case Mode of
        "rtt" ->
            Ts = lists:sort([begin
                                 T0 = erlang:monotonic_time(nanosecond),
                                 x = erpc:call(Target, Module, echo, [x]),
                                 erlang:monotonic_time(nanosecond) - T0
                             end || _ <- lists:seq(1, N)]),
            io:format("~.2f~n", [lists:nth(N div 2 + 1, Ts) / 1000]);
        "tput" ->
            Self = self(),
            io:format("start~n"),
            T0 = erlang:monotonic_time(nanosecond),
            Pids = [spawn_link(fun() ->
                                       [x = erpc:call(Target, Module, echo, [x])
                                        || _ <- lists:seq(1, N)],
                                       Self ! {self(), done}
                               end) || _ <- lists:seq(1, 100)],
            [receive {P, done} -> ok end || P <- Pids],
            Ns = erlang:monotonic_time(nanosecond) - T0,
            io:format("end~n"),
            io:format("~b~n", [round(100 * N / (Ns / 1.0e9))])
    end,
    halt(0).

%% The target is starting: retry until it answers (a benchmark, not a test).
connect(Target, 0) ->
    io:format(standard_error, "cannot reach ~p~n", [Target]),
    halt(1);
connect(Target, Left) ->
    case net_adm:ping(Target) of
        pong -> ok;
        pang -> timer:sleep(50), connect(Target, Left - 1)
    end.
