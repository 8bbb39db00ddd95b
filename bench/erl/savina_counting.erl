%% Savina Counting: a producer sends N increments to a counter, then asks it
%% for the count. Milliseconds from creating the two processes to the answer.
-module(savina_counting).
-export([main/1]).

main([N]) ->
    T0 = bench_util:start(),
    Self = self(),
    Counter = spawn(fun() -> counter(0) end),
    Producer = spawn(fun() -> producer(Self, Counter, N) end),
    Producer ! increment,
    Result = receive {done, R} -> R end,
    Ms = bench_util:elapsed_ms(T0),
    bench_util:check("final count", N, Result),
    bench_util:report("~.3f", Ms).

producer(Main, Counter, N) ->
    receive
        increment ->
            send_n(Counter, N),
            Counter ! {retrieve, self()},
            producer(Main, Counter, N);
        {result, R} ->
            Main ! {done, R}
    end.

send_n(_Counter, 0) ->
    ok;
send_n(Counter, I) ->
    Counter ! increment,
    send_n(Counter, I - 1).

counter(Count) ->
    receive
        increment -> counter(Count + 1);
        {retrieve, From} -> From ! {result, Count}
    end.
