%% The three-deployment table of otpc_fn (bench/fn/run.sh): the same C
%% function, otpc_fn_calc:add/2 (fn/calc.c), called as a NIF, through the
%% port program otpc-fn-port (otpc_port:call) and on the C node
%% otpc-fn-node (erpc:call), in one run: p50/p99 latency of sequential
%% calls and the throughput of 8 concurrent callers. Each call's result is
%% checked.
-module(fn_bench).
-export([main/1]).

main([PortPath, CNode, NStr]) ->
    N = list_to_integer(NStr),
    Node = list_to_atom(CNode),
    {ok, P} = otpc_port:start_link(PortPath, #{}),
    true = net_kernel:connect_node(Node),
    Calls = [{nif, fun(A) -> otpc_fn_calc:add(A, 2) end},
             {port, fun(A) -> {ok, {ok, R}} = otpc_port:call(P, {add, A, 2}), R end},
             {cnode, fun(A) -> erpc:call(Node, otpc_fn_calc, add, [A, 2]) end}],
    io:format("~-8s ~12s ~12s ~16s~n", [deploy, "p50_us", "p99_us", "calls_per_s_x8"]),
    [row(Name, F, N) || {Name, F} <- Calls],
    halt(0).

row(Name, F, N) ->
    [F(I rem 1000) || I <- lists:seq(1, 200)],  % warm-up
    Ts = lists:sort([one(F, I rem 1000) || I <- lists:seq(1, N)]),
    P50 = lists:nth(max(1, N div 2), Ts),
    P99 = lists:nth(max(1, N * 99 div 100), Ts),
    Per = N div 8,
    T0 = erlang:monotonic_time(),
    Self = self(),
    Pids = [spawn_link(fun() ->
                               [begin R = F(I rem 1000), R = I rem 1000 + 2 end
                                || I <- lists:seq(1, Per)],
                               Self ! {done, self()}
                       end) || _ <- lists:seq(1, 8)],
    [receive {done, Pid} -> ok end || Pid <- Pids],
    Us = erlang:convert_time_unit(erlang:monotonic_time() - T0, native, microsecond),
    io:format("~-8s ~12.2f ~12.2f ~16w~n",
              [Name, P50, P99, round(8 * Per / max(1, Us) * 1.0e6)]).

one(F, A) ->
    T0 = erlang:monotonic_time(),
    R = F(A),
    T1 = erlang:monotonic_time(),
    R = A + 2,
    erlang:convert_time_unit(T1 - T0, native, nanosecond) / 1000.
