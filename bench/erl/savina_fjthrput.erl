%% Savina Fork-Join throughput: A processes each receive N messages, in
%% rounds (one message to each process, N times), and do Savina's small
%% computation (sin(37.2) squared) for each. Each reports after its N-th
%% message and exits. Milliseconds from creating the processes to the last
%% report.
-module(savina_fjthrput).
-export([main/1]).

main([N, A]) ->
    T0 = bench_util:start(),
    Self = self(),
    %% Theta travels as an argument so that the compiler cannot fold
    %% math:sin/1 of a literal away.
    Theta = 37.2,
    Actors = [spawn(fun() -> actor(Self, N, Theta, 0) end) || _ <- lists:seq(1, A)],
    rounds(N, Actors),
    Handled = collect(A, 0),
    Ms = bench_util:elapsed_ms(T0),
    bench_util:check("messages handled", N * A, Handled),
    bench_util:report("~.3f", Ms).

rounds(0, _Actors) ->
    ok;
rounds(I, Actors) ->
    [Actor ! message || Actor <- Actors],
    rounds(I - 1, Actors).

collect(0, Sum) ->
    Sum;
collect(I, Sum) ->
    receive {done, Count} -> collect(I - 1, Sum + Count) end.

actor(Main, N, Theta, Count) ->
    receive
        message ->
            compute(Theta),
            case Count + 1 of
                N -> Main ! {done, N};
                Count1 -> actor(Main, N, Theta, Count1)
            end
    end.

compute(Theta) ->
    Sin = math:sin(Theta),
    case Sin * Sin of
        Res when Res > 0 -> ok;
        Res -> bench_util:fail("unrealistic result ~p", [Res])
    end.
