%% Savina Fork-Join creation: N processes are created one after another and
%% each is sent one message; on it a process does Savina's small computation
%% (sin(37.2) squared) and exits. To know when all are done each tells the
%% driver before exiting. Milliseconds from the first spawn to the last
%% report.
-module(savina_fjcreate).
-export([main/1]).

main([N]) ->
    T0 = bench_util:start(),
    %% The driver keeps spawning while the reports pile up in its mailbox;
    %% off the heap they are not copied by every garbage collection, as an
    %% Erlang programmer would set it for a process receiving that many.
    process_flag(message_queue_data, off_heap),
    Self = self(),
    %% Theta travels as an argument so that the compiler cannot fold
    %% math:sin/1 of a literal away.
    Theta = 37.2,
    create(N, Self, Theta),
    wait(N),
    Ms = bench_util:elapsed_ms(T0),
    bench_util:report("~.3f", Ms).

create(0, _Main, _Theta) ->
    ok;
create(I, Main, Theta) ->
    Pid = spawn(fun() -> actor(Main, Theta) end),
    Pid ! message,
    create(I - 1, Main, Theta).

%% A lost or extra process would leave this waiting, or a done unread.
wait(0) ->
    receive done -> bench_util:fail("more reports than processes", [])
    after 0 -> ok
    end;
wait(I) ->
    receive done -> wait(I - 1) end.

actor(Main, Theta) ->
    receive
        message ->
            Sin = math:sin(Theta),
            case Sin * Sin of
                Res when Res > 0 -> Main ! done;
                Res -> bench_util:fail("unrealistic result ~p", [Res])
            end
    end.
