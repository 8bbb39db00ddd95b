%% runtime.spawn_rate: spawn N processes that each tell the driver they ran
%% and exit. Processes spawned (and finished) per second.
-module(rt_spawn).
-export([main/1]).

main([N]) ->
    T0 = bench_util:start(),
    %% The driver keeps spawning while the reports pile up in its mailbox;
    %% off the heap they are not copied by every garbage collection, as an
    %% Erlang programmer would set it for a process receiving that many.
    process_flag(message_queue_data, off_heap),
    Self = self(),
    spawn_n(N, Self),
    wait(N),
    Ms = bench_util:elapsed_ms(T0),
    bench_util:report("~.1f", N / (Ms / 1000)).

spawn_n(0, _Parent) ->
    ok;
spawn_n(I, Parent) ->
    spawn(fun() -> Parent ! done end),
    spawn_n(I - 1, Parent).

%% A lost or extra process would leave this waiting, or a done unread.
wait(0) ->
    receive done -> bench_util:fail("more processes ran than spawned", [])
    after 0 -> ok
    end;
wait(I) ->
    receive done -> wait(I - 1) end.
