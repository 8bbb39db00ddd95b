%% Savina Big: W workers each send N pings, one at a time, to workers picked
%% by Savina's pseudo-random generator (seeded with the worker's id), and
%% each ping is answered by a pong. A sink collects the workers' completion
%% and then stops them all. As a check each worker tells the sink how many
%% pings it sent and how many pongs came from an unexpected worker.
%% Milliseconds from creating the processes to the sink's report.
-module(savina_big).
-export([main/1]).

main([N, W]) ->
    T0 = bench_util:start(),
    Self = self(),
    Sink = spawn(fun() -> sink(Self, W, undefined, 0, 0, 0) end),
    Workers = list_to_tuple([spawn(fun() -> worker_start(Id, N, Sink) end)
                             || Id <- lists:seq(0, W - 1)]),
    Neighbors = {neighbors, Workers},
    Sink ! Neighbors,
    [Worker ! Neighbors || Worker <- tuple_to_list(Workers)],
    [Worker ! {pong, -1} || Worker <- tuple_to_list(Workers)],
    {Pings, Wrong} = receive {done, P, E} -> {P, E} end,
    Ms = bench_util:elapsed_ms(T0),
    bench_util:check("pings sent", N * W, Pings),
    bench_util:check("pongs from an unexpected worker", 0, Wrong),
    bench_util:report("~.3f", Ms).

worker_start(Id, N, Sink) ->
    receive {neighbors, Ns} -> worker(Id, N, Sink, Ns, 0, -1, Id, 0) end.

worker(Id, N, Sink, Ns, Pings, Expected, Rand, Wrong) ->
    receive
        {ping, From} ->
            element(From + 1, Ns) ! {pong, Id},
            worker(Id, N, Sink, Ns, Pings, Expected, Rand, Wrong);
        {pong, From} ->
            Wrong1 = case From of
                         Expected -> Wrong;
                         _ -> Wrong + 1
                     end,
            if
                Pings =:= N ->
                    Sink ! {exit, Pings, Wrong1},
                    worker(Id, N, Sink, Ns, Pings, Expected, Rand, Wrong1);
                true ->
                    Rand1 = next_random(Rand),
                    Target = Rand1 rem tuple_size(Ns),
                    element(Target + 1, Ns) ! {ping, Id},
                    worker(Id, N, Sink, Ns, Pings + 1, Target, Rand1, Wrong1)
            end;
        exit ->
            ok
    end.

%% Savina's PseudoRandom, for the same choices in every language.
next_random(V) ->
    (V * 1309 + 13849) band 65535.

sink(Main, W, Ns, Done, Pings, Wrong) ->
    receive
        {neighbors, Workers} ->
            sink(Main, W, Workers, Done, Pings, Wrong);
        {exit, P, E} when Done + 1 =:= W ->
            [Worker ! exit || Worker <- tuple_to_list(Ns)],
            Main ! {done, Pings + P, Wrong + E};
        {exit, P, E} ->
            sink(Main, W, Ns, Done + 1, Pings + P, Wrong + E)
    end.
