%% @doc The BEAM side of the dist benchmark, plain idiomatic Erlang, speaking
%% the protocol of bench/dist/dist_common.h so that it can serve or drive
%% the otpc and ei C nodes as well as another BEAM node.
%%
%%   erl -sname S ... -eval 'dist_bench:server()'
%%       prints "ready NODE PIDHEX" and serves until the node is stopped
%%   erl -sname C ... -eval 'dist_bench:client(["PIDHEX", "small:N", ...])'
%%       runs the scenarios, prints key=value lines and halts (status 1 on
%%       a wrong count or a lost reply)
%%
%% The server is a plain receive loop (what a gen_server's handle_call and
%% handle_info would do, without the gen_server layer on the counting path:
%% the C servers have none either); calls are real gen_server:call/3.
-module(dist_bench).

-export([server/0, client/1]).

-define(TIMEOUT, 120000).

%%% Server ---------------------------------------------------------------

server() ->
    Pid = spawn(fun() -> serve(0, 0, 0) end),
    Hex = binary:encode_hex(term_to_binary(Pid)),
    io:format("ready ~s ~s~n", [node(), string:lowercase(Hex)]).

serve(Count, Bytes, Cpu0) ->
    receive
        Msg ->
            C0 = case Count of 0 -> cpu_us(); _ -> Cpu0 end,
            case Msg of
                {m, _} -> serve(Count + 1, Bytes, C0);
                {b, Bin} -> serve(Count + 1, Bytes + byte_size(Bin), C0);
                {fin, From} ->
                    Cpu = case Count of 0 -> 0; _ -> cpu_us() - C0 end,
                    From ! {fin, Count, Bytes, Cpu},
                    serve(0, 0, 0);
                {'$gen_call', {From, Tag}, Req} ->
                    gen:reply({From, Tag}, Req),
                    serve(Count, Bytes, C0);
                _ ->
                    serve(Count, Bytes, C0)
            end
    end.

%% CPU time of the whole VM (all schedulers), us.
cpu_us() ->
    {Ms, _} = erlang:statistics(runtime),
    Ms * 1000.

%%% Client ---------------------------------------------------------------

client([Hex | Scenarios]) ->
    Server = binary_to_term(binary:decode_hex(list_to_binary(Hex))),
    try
        [run(parse(S), Server) || S <- Scenarios],
        halt(0)
    catch
        C:R:St ->
            io:format(standard_error, "bench dist: ~p:~p ~p~n", [C, R, St]),
            halt(1)
    end.

parse(S) ->
    case string:split(S, ":", all) of
        ["small", N] -> {small, list_to_integer(N)};
        ["bin", Sz, T] -> {bin, list_to_integer(Sz), list_to_integer(T)};
        ["rtt", K] -> {rtt, list_to_integer(K)};
        ["hol", T, Ch] -> {hol, list_to_integer(T), list_to_integer(Ch)};
        _ -> error({bad_scenario, S, "expected small:N, bin:SIZE:TOTAL, rtt:K or hol:TOTAL:CHUNK"})
    end.

now_us() -> erlang:monotonic_time(microsecond).

fin(Server) ->
    Server ! {fin, self()},
    receive {fin, C, B, Cpu} -> {C, B, Cpu}
    after ?TIMEOUT -> error(no_fin)
    end.

send_n(_, _, 0) -> ok;
send_n(To, M, N) -> To ! M, send_n(To, M, N - 1).

check(What, Got, Want) when Got =:= Want -> What;
check(What, Got, Want) -> error({wrong_count, What, Got, Want}).

run({small, N}, Server) ->
    C0 = cpu_us(),
    T0 = now_us(),
    send_n(Server, {m, 1}, N),
    {Count, _, SCpu} = fin(Server),
    Dt = now_us() - T0,
    CCpu = cpu_us() - C0,
    check(small, Count, N),
    io:format("small_rate=~b~nsmall_cpu_client_ns=~.1f~nsmall_cpu_server_ns=~.1f~n",
              [round(N * 1.0e6 / Dt), CCpu * 1000 / N, SCpu * 1000 / N]);
run({bin, Size, Total}, Server) ->
    N = Total div Size,
    M = {b, binary:copy(<<"x">>, Size)},
    T0 = now_us(),
    send_n(Server, M, N),
    {Count, _, _} = fin(Server),
    Dt = now_us() - T0,
    check(bin, Count, N),
    io:format("bin_~b_mbs=~.1f~n", [Size, N * Size / Dt]);
run({rtt, K}, Server) ->
    V = [call_us(Server) || _ <- lists:seq(1, K)],
    io:format("rtt_p50_us=~.1f~nrtt_p99_us=~.1f~n", [pct(V, 50), pct(V, 99)]);
run({hol, Total, Chunk}, Server) ->
    Node = node(Server),
    true = monitor_node(Node, true),
    Self = self(),
    spawn_link(fun() ->
                       N = Total div Chunk,
                       M = {b, binary:copy(<<"x">>, Chunk)},
                       T0 = now_us(),
                       send_n(Server, M, N),
                       {Count, _, _} = fin(Server),
                       check(hol, Count, N),
                       Self ! {bulk_done, N * Chunk, now_us() - T0}
               end),
    {V, Bytes, Us} = hol_calls(Server, []),
    Drops = drops(Node, 0),
    io:format("hol_p50_us=~.1f~nhol_p99_us=~.1f~nhol_calls=~b~nhol_mbs=~.1f~nhol_drops=~b~n",
              [pct(V, 50), pct(V, 99), length(V), Bytes / Us, Drops]).

hol_calls(Server, Acc) ->
    receive {bulk_done, Bytes, Us} -> {Acc, Bytes, Us}
    after 0 -> hol_calls(Server, [call_us(Server) | Acc])
    end.

drops(Node, N) ->
    receive {nodedown, Node} -> drops(Node, N + 1) after 0 -> N end.

call_us(Server) ->
    T0 = now_us(),
    ping = gen_server:call(Server, ping, 30000),
    float(now_us() - T0).

%% Nearest-rank percentile, as dist_common.h's.
pct([], _) -> 0.0;
pct(V, P) ->
    S = lists:sort(V),
    N = length(S),
    Rank = max(1, min(N, ceil(P / 100 * N))),
    lists:nth(Rank, S).
