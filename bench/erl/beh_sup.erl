%% Supervisor restart latency, the BEAM side of bench/runtime/beh_sup.c: a
%% one_for_one supervisor with one permanent gen_server child that
%% announces itself from init; the driver makes it crash N times.
%% Microseconds per crash-and-restart (reports logged by default).
-module(beh_sup).
-export([main/1]).
-export([init/1, handle_call/3, handle_cast/2]).

main([N]) ->
    bench_util:start(),
    Driver = self(),
    {ok, _} = supervisor:start_link(?MODULE, {sup, N, Driver}),
    T0 = receive {up, P0} -> P0 ! {'$gen_cast', die}, erlang:monotonic_time() end,
    loop(N - 1),
    receive {up, _} -> ok end,
    bench_util:report("~.2f", bench_util:elapsed_ms(T0) * 1.0e3 / N).

loop(0) -> ok;
loop(K) -> receive {up, P} -> P ! {'$gen_cast', die} end, loop(K - 1).

init({sup, N, Driver}) ->
    {ok, {#{strategy => one_for_one, intensity => N + 10, period => 3600},
          [#{id => worker,
             start => {gen_server, start_link, [?MODULE, {worker, Driver}, []]}}]}};
init({worker, Driver}) ->
    Driver ! {up, self()},
    {ok, Driver}.

handle_call(_, _, S) -> {reply, ok, S}.

handle_cast(die, _) -> exit(die).
