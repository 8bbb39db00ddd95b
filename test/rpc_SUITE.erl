%% rpc and erpc into C, remote spawn, rex and logs, against otpc-node from
%% real BEAM nodes. Every error shape is compared with the same call made
%% to a BEAM peer, never written down from memory.
-module(rpc_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, end_per_testcase/2]).
-export([erpc_results/1, add_any_size/1, error_shapes_vs_beam/1,
         rpc_shapes_vs_beam/1, casts_and_multicalls/1, remote_spawn/1,
         spawn_undef_vs_beam/1, rex/1, c_rpc_into_beam/1,
         c_erpc_into_beam/1, processes/1,
         io_requests/1, logger_proxy/1, forward_logs/1,
         forward_logs_env/1, log_to_bad_options/1]).
%% A logger handler run on a peer (forward_logs).
-export([log/2]).

-define(T, 30000).

all() ->
    [erpc_results, add_any_size, error_shapes_vs_beam, rpc_shapes_vs_beam,
     casts_and_multicalls, remote_spawn, spawn_undef_vs_beam, rex,
     c_rpc_into_beam, c_erpc_into_beam, processes, io_requests, logger_proxy, forward_logs,
     forward_logs_env, log_to_bad_options].

init_per_suite(Config) ->
    case is_alive() of
        true -> Config;
        false -> {skip, "the CT node is not distributed"}
    end.

end_per_suite(_Config) ->
    otpc_test_lib:cleanup().

end_per_testcase(_Case, _Config) ->
    otpc_test_lib:cleanup().

%%% Helpers --------------------------------------------------------------

host() -> otpc_test_lib:host().

start_node() ->
    start_node([]).

start_node(Env) ->
    otpc_test_lib:start_cnode("rpcn", [], #{env => Env}).

stopped(H) -> otpc_test_lib:stop_cnode(H).

%% A BEAM peer that can load this module (funs sent to it need it).
peer() ->
    Dir = filename:dirname(code:which(?MODULE)),
    {ok, Peer, PNode} = otpc_test_lib:start_peer(rpcp, ["-pa", Dir]),
    {Peer, PNode}.

%% What a call raises or returns, without the caller-side stack.
outcome(F) ->
    try F() of
        V -> {value, V}
    catch
        C:R -> {C, R}
    end.

%% {error, {exception, R, Stack}} with each stack frame's location list
%% dropped (a BEAM frame has file and line, a C function has none).
no_locations({error, {exception, R, Stack}}) ->
    {error, {exception, R, [{M, F, A} || {M, F, A, _} <- Stack]}};
no_locations(Other) ->
    Other.

%%% Cases ----------------------------------------------------------------

%% Results of C functions come back as the value, from erpc and rpc.
erpc_results(_Config) ->
    {H, Node} = start_node(),
    Terms = [hello, 42, -1, 1 bsl 300, 3.5, "text", [], {}, #{a => 1},
             [a | b], <<1:3>>, self(), make_ref(), fun lists:map/2,
             binary:copy(<<7>>, 100000)],
    [T = erpc:call(Node, otpc_node, echo, [T]) || T <- Terms],
    [T = rpc:call(Node, otpc_node, echo, [T]) || T <- Terms],
    ok = erpc:call(Node, otpc_rpc_test, send, [self(), sent]),
    receive sent -> ok after ?T -> ct:fail(no_send) end,
    stopped(H).

%% add/2 on integers of any size agrees with Erlang's +.
add_any_size(_Config) ->
    {H, Node} = start_node(),
    Edges = [0, 1, -1, 255, 256, -256, (1 bsl 63) - 1, 1 bsl 63, -(1 bsl 63),
             -(1 bsl 63) - 1, 1 bsl 64, (1 bsl 64) - 1, 1 bsl 2040,
             -(1 bsl 2048), (1 bsl 4000) + 17],
    Random = [rand:uniform(1 bsl B) * S || B <- [7, 31, 62, 64, 65, 200, 900],
                                            S <- [1, -1]],
    Ns = Edges ++ Random,
    [{A, B, true} = {A, B, A + B =:= erpc:call(Node, otpc_node, add, [A, B])}
     || A <- Ns, B <- Ns],
    %% Not integers: badarith, as A + B raises it.
    {error, {exception, badarith, [{otpc_node, add, 2, []}]}} =
        outcome(fun() -> erpc:call(Node, otpc_node, add, [1, a]) end),
    stopped(H).

%% Throws, errors, exits and undef: erpc raises for the C node what it
%% raises for a BEAM node, the error stack naming the C function.
error_shapes_vs_beam(_Config) ->
    {H, Node} = start_node(),
    {_Peer, PNode} = peer(),
    Pairs = [{{otpc_rpc_test, throw, [t1]}, {erlang, throw, [t1]}},
             {{otpc_rpc_test, exit, [{x, 1}]}, {erlang, exit, [{x, 1}]}},
             {{nomod, nofun, [1, 2]}, {nomod, nofun, [1, 2]}},
             {{otpc_node, nofun, []}, {otpc_node, nofun, []}}],
    [begin
         C = outcome(fun() -> erpc:call(Node, CM, CF, CA) end),
         B = outcome(fun() -> erpc:call(PNode, BM, BF, BA) end),
         ct:log("C: ~p~nBEAM: ~p", [C, B]),
         C = B
     end || {{CM, CF, CA}, {BM, BF, BA}} <- Pairs],
    %% error(boom): the same shape, the frame naming the C function.
    {error, {exception, boom, [{otpc_node, fail, 1, []}]}} =
        outcome(fun() -> erpc:call(Node, otpc_node, fail, [boom]) end),
    {error, {exception, boom, [{erlang, error, [boom]}]}} =
        no_locations(outcome(fun() -> erpc:call(PNode, erlang, error, [boom]) end)),
    %% A C function that answers nothing is an error naming it.
    {error, {exception, {otpc_rpc, no_result}, [{otpc_rpc_test, no_result, 0, []}]}} =
        outcome(fun() -> erpc:call(Node, otpc_rpc_test, no_result, []) end),
    stopped(H).

%% rpc:call's shapes (value, thrown value, {badrpc, ...}) match too.
rpc_shapes_vs_beam(_Config) ->
    {H, Node} = start_node(),
    {_Peer, PNode} = peer(),
    t1 = rpc:call(Node, otpc_rpc_test, throw, [t1]),
    t1 = rpc:call(PNode, erlang, throw, [t1]),
    R = rpc:call(PNode, erlang, exit, [r]),
    R = rpc:call(Node, otpc_rpc_test, exit, [r]),
    {badrpc, {'EXIT', r}} = R,
    U = rpc:call(PNode, nomod, nofun, [1]),
    U = rpc:call(Node, nomod, nofun, [1]),
    {badrpc, {'EXIT', {undef, [{nomod, nofun, [1], []}]}}} = U,
    {badrpc, {'EXIT', {boom, [{otpc_node, fail, 1, []}]}}} =
        rpc:call(Node, otpc_node, fail, [boom]),
    stopped(H).

%% erpc:cast and rpc:cast run the function; multicalls over a C node and
%% a BEAM node give each its own result.
casts_and_multicalls(_Config) ->
    {H, Node} = start_node(),
    {_Peer, PNode} = peer(),
    ok = erpc:cast(Node, otpc_rpc_test, send, [self(), erpc_cast]),
    receive erpc_cast -> ok after ?T -> ct:fail(no_erpc_cast) end,
    true = rpc:cast(Node, otpc_rpc_test, send, [self(), rpc_cast]),
    receive rpc_cast -> ok after ?T -> ct:fail(no_rpc_cast) end,
    [{ok, x}, PErr] = erpc:multicall([Node, PNode], otpc_node, echo, [x]),
    [PErr] = erpc:multicall([PNode], otpc_node, echo, [x]),
    {error, {exception, undef, _}} = PErr,
    {[x], []} = rpc:multicall([Node], otpc_node, echo, [x]),
    {[6, 6], []} = rpc:multicall([Node, Node], otpc_node, add, [2, 4]),
    stopped(H).

%% spawn/4, spawn_link/4, spawn_monitor/4 and spawn_request/5 start a
%% registered C process entry, with links, monitors and reply tags.
remote_spawn(_Config) ->
    {H, Node} = start_node(),
    Self = self(),
    P1 = spawn(Node, otpc_rpc_test, proc, [Self]),
    receive {hello, P1} -> ok after ?T -> ct:fail(no_hello) end,
    P1 ! {echo, Self, e1},
    receive e1 -> ok after ?T -> ct:fail(no_echo) end,
    P1 ! {stop, normal},
    %% spawn_link: the exit reason reaches the linked caller.
    process_flag(trap_exit, true),
    P2 = spawn_link(Node, otpc_rpc_test, proc, [Self]),
    receive {hello, P2} -> ok after ?T -> ct:fail(no_hello2) end,
    P2 ! {stop, linked_reason},
    receive {'EXIT', P2, linked_reason} -> ok after ?T -> ct:fail(no_exit) end,
    %% spawn_monitor: the DOWN has the reason.
    {P3, M3} = spawn_monitor(Node, otpc_rpc_test, proc, [Self]),
    receive {hello, P3} -> ok after ?T -> ct:fail(no_hello3) end,
    P3 ! {stop, {mon, reason}},
    receive {'DOWN', M3, process, P3, {mon, reason}} -> ok
    after ?T -> ct:fail(no_down) end,
    %% spawn_request with reply_tag and monitor.
    R4 = spawn_request(Node, otpc_rpc_test, proc, [Self],
                       [monitor, {reply_tag, my_tag}]),
    P4 = receive {my_tag, R4, ok, Q4} -> Q4 after ?T -> ct:fail(no_reply) end,
    receive {hello, P4} -> ok after ?T -> ct:fail(no_hello4) end,
    P4 ! {stop, done4},
    receive {'DOWN', R4, process, P4, done4} -> ok after ?T -> ct:fail(no_down4) end,
    %% {reply, no}: no spawn_reply message at all; the process still runs.
    R5 = spawn_request(Node, otpc_rpc_test, proc, [Self], [{reply, no}, link]),
    P5 = receive {hello, Q5} when node(Q5) =:= Node -> Q5 after ?T -> ct:fail(no_hello5) end,
    P5 ! {stop, done5},
    receive {'EXIT', P5, done5} -> ok after ?T -> ct:fail(no_exit5) end,
    receive {spawn_reply, R5, _, _} = Unexpected -> ct:fail({unexpected, Unexpected})
    after 0 -> ok
    end,
    stopped(H).

%% A remote spawn of an unknown function starts a process that exits with
%% undef, as on a BEAM node.
spawn_undef_vs_beam(_Config) ->
    {H, Node} = start_node(),
    {_Peer, PNode} = peer(),
    Reasons = [begin
                   {P, M} = spawn_monitor(N, nomod, nofun, [1, x]),
                   receive {'DOWN', M, process, P, R} -> R
                   after ?T -> ct:fail(no_down)
                   end
               end || N <- [Node, PNode]],
    ct:log("~p", [Reasons]),
    [{undef, [{nomod, nofun, [1, x], []}]} = R || R <- Reasons],
    stopped(H).

%% rex: the feature probe, the legacy {call, ...} of hidden C nodes, and
%% gen_server calls and casts.
rex(_Config) ->
    {H, Node} = start_node(),
    {_Peer, PNode} = peer(),
    [begin
         {rex, N} ! {self(), features_request},
         receive {features_reply, N, [erpc]} -> ok
         after ?T -> ct:fail({no_features_reply, N})
         end
     end || N <- [Node, PNode]],
    {rex, Node} ! {self(), {call, otpc_node, add, [1, 2], user}},
    receive {rex, 3} -> ok after ?T -> ct:fail(no_rex_reply) end,
    %% The same request to both: the same answer shape.
    [begin
         {rex, N} ! {self(), {call, nomod, nofun, [], user}},
         receive {rex, {badrpc, {'EXIT', {undef, [{nomod, nofun, [], []}]}}}} -> ok
         after ?T -> ct:fail({no_rex_undef, N})
         end
     end || N <- [Node, PNode]],
    gs = gen_server:call({rex, Node}, {call, otpc_node, echo, [gs], user}, ?T),
    ok = gen_server:cast({rex, Node}, {cast, otpc_rpc_test, send, [self(), c], user}),
    receive c -> ok after ?T -> ct:fail(no_rex_cast) end,
    stopped(H).

%% A C process calls into a BEAM node (through rex) and gets rpc:call's
%% result shapes.
c_rpc_into_beam(_Config) ->
    {H, Node} = start_node(),
    {_Peer, PNode} = peer(),
    Self = self(),
    Calls = [{erlang, node, []}, {erlang, throw, [t]}, {erlang, exit, [r]},
             {nomod, nofun, [1]}, {lists, seq, [1, 5]}],
    [begin
         Expected = rpc:call(PNode, M, F, A),
         spawn(Node, otpc_node, rpc_into, [Self, PNode, M, F, A]),
         receive {rpc_into, Got} -> Expected = Got
         after ?T -> ct:fail({no_rpc_into, M, F, A})
         end
     end || {M, F, A} <- Calls],
    stopped(H).

%% A C process calls into a BEAM node through erpc (an outgoing
%% SPAWN_REQUEST): each outcome is what erpc:call gives from Erlang; a
%% node that cannot be reached is {error, {erpc, noconnection}}.
c_erpc_into_beam(_Config) ->
    {H, Node} = start_node(),
    {_Peer, PNode} = peer(),
    Self = self(),
    Calls = [{erlang, node, []}, {erlang, throw, [t]}, {erlang, exit, [r]},
             {erlang, error, [boom]}, {nomod, nofun, [1]},
             {lists, seq, [1, 5]}, {erlang, binary_to_list, [<<"x">>]}],
    [begin
         Expected = try erpc:call(PNode, M, F, A) of
                        V -> {return, V}
                    catch
                        throw:T -> {throw, T};
                        exit:{exception, R} -> {exit, R};
                        error:{exception, R, S} -> {error, R, S}
                    end,
         spawn(Node, otpc_node, erpc_into, [Self, PNode, M, F, A]),
         receive {erpc_into, Got} -> Expected = Got
         after ?T -> ct:fail({no_erpc_into, M, F, A})
         end
     end || {M, F, A} <- Calls],
    Gone = list_to_atom("nobody_here@" ++ host()),
    spawn(Node, otpc_node, erpc_into, [Self, Gone, erlang, node, []]),
    receive {erpc_into, {error, {erpc, noconnection}}} -> ok
    after ?T -> ct:fail(no_noconnection)
    end,
    stopped(H).

%% processes/0 describes each C process.
processes(_Config) ->
    {H, Node} = start_node(),
    Ps = erpc:call(Node, otpc_node, processes, []),
    Keys = lists:sort([pid, registered_name, status, message_queue_len,
                       memory, messages_handled, class]),
    [Keys = lists:sort(maps:keys(P)) || P <- Ps],
    Names = [N || #{registered_name := N} <- Ps],
    [true = lists:member(N, Names) || N <- [rex, user, logger_proxy, echo, net_kernel]],
    [true = is_pid(P) andalso node(P) =:= Node || #{pid := P} <- Ps],
    [true = is_integer(M) andalso M > 0 || #{memory := M} <- Ps],
    %% The caller itself is one of them, running.
    [running] = [S || #{class := <<"erpc">>, status := S} <- Ps],
    stopped(H).

%% io requests to the C node's `user` are answered, put_chars printed.
io_requests(_Config) ->
    {H, Node} = start_node(),
    [User] = [P || #{registered_name := user, pid := P} <-
                       erpc:call(Node, otpc_node, processes, [])],
    ok = io:put_chars(User, "plain text from ct\n"),
    {ok, _} = otpc_test_lib:wait_line(H, "^plain text from ct", ?T),
    ok = io:format(User, "formatted ~p~n", [12345]),
    {ok, _} = otpc_test_lib:wait_line(H, "12345", ?T),
    {error, enotsup} = io:get_line(User, "prompt"),
    %% A BEAM process whose group leader is the C node's user.
    {_Peer, PNode} = peer(),
    ok = erpc:call(PNode, fun() ->
                                  group_leader(User, self()),
                                  io:format("from the peer ~p~n", [67890])
                          end),
    {ok, _} = otpc_test_lib:wait_line(H, "67890", ?T),
    stopped(H).

%% Log events of BEAM processes whose group leader is on the C node arrive
%% at its logger_proxy, which prints them.
logger_proxy(_Config) ->
    {H, Node} = start_node(),
    [User] = [P || #{registered_name := user, pid := P} <-
                       erpc:call(Node, otpc_node, processes, [])],
    {_Peer, PNode} = peer(),
    ok = erpc:call(PNode, fun() ->
                                  group_leader(User, self()),
                                  logger:error("remote event ~p", [4242])
                          end),
    {ok, Line} = otpc_test_lib:wait_line(H, "^log event.*4242", ?T),
    ct:log("~s", [Line]),
    stopped(H).

%% With --log-to NODE, the C node's crash reports become ordinary logger
%% events on that BEAM node (a logger handler added there sees them).
forward_logs(_Config) ->
    PNode = log_peer(),
    {H, Node} = otpc_test_lib:start_cnode("rpcn", ["--log-to", atom_to_list(PNode)]),
    forwarded_crash(Node, forwarded),
    stopped(H).

%% OTPC_NODE_LOG_TO is the fallback; the flag wins over it.
forward_logs_env(_Config) ->
    PNode = log_peer(),
    {H, Node} = start_node([{"OTPC_NODE_LOG_TO", atom_to_list(PNode)}]),
    forwarded_crash(Node, by_env),
    stopped(H),
    {ok, _, Other} = otpc_test_lib:start_peer(rpco, []),
    {H2, Node2} = otpc_test_lib:start_cnode(
                    "rpcn", ["--log-to", atom_to_list(PNode)],
                    #{env => [{"OTPC_NODE_LOG_TO", atom_to_list(Other)}]}),
    forwarded_crash(Node2, flag_wins),
    stopped(H2).

%% Bad --log-to values (and a bad OTPC_NODE_LOG_TO) are usage errors:
%% exit status 2, a line naming what was wrong, then the usage, which
%% lists --log-to.
log_to_bad_options(_Config) ->
    Base = ["--sname", "rpcbad", "--cookie", "c"],
    Cases = [{["--log-to"], [], "missing value for: --log-to"},
             {["--log-to", "nohost"], [], "bad --log-to \\(NAME@HOST expected\\): nohost"},
             {["--log-to", "@h"], [], "bad --log-to"},
             {["--log-to", "n@"], [], "bad --log-to"},
             {["--log-to", "a@b", "--log-to", "c@d"], [], "--log-to given twice"},
             {[], [{"OTPC_NODE_LOG_TO", "nohost"}], "bad OTPC_NODE_LOG_TO"}],
    [begin
         {error, {exited, 2, [First, <<"usage: ", _/binary>> | Usage]}} =
             otpc_test_lib:start_program("otpc-node", Base ++ Args,
                                         #{ready => "^ready ", env => Env}),
         {match, _} = re:run(First, "^otpc-node: " ++ Re),
         true = lists:any(fun(L) -> binary:match(L, <<"--log-to">>) =/= nomatch end,
                          Usage)
     end || {Args, Env, Re} <- Cases],
    %% --log-to as another option's value is that option's value.
    {H, _} = otpc_test_lib:start_cnode("rpcn", [], #{cookie => "--log-to"}),
    stopped(H).

%% A BEAM peer whose logger sends each event to this process.
log_peer() ->
    Dir = filename:dirname(code:which(?MODULE)),
    {ok, _Peer, PNode} = otpc_test_lib:start_peer(rpcl, ["-pa", Dir]),
    ok = erpc:call(PNode, logger, add_handler,
                   [ct_fwd, ?MODULE, #{config => #{pid => self()}}]),
    PNode.

%% A crash on Node (a spawn of an undefined function, which is reported)
%% arrives at log_peer's logger as an error event naming Node.
forwarded_crash(Node, Tag) ->
    {P, M} = spawn_monitor(Node, nomod, nofun, [Tag]),
    receive {'DOWN', M, process, P, _} -> ok after ?T -> ct:fail(no_down) end,
    #{level := error, msg := {"~ts", [Text]}, meta := #{otpc_node := Node}} =
        recv_event(atom_to_binary(Tag)),
    true = binary:match(Text, <<"crash report">>) =/= nomatch.

recv_event(Sub) ->
    receive
        {logged, #{msg := {"~ts", [Text]}} = E} when is_binary(Text) ->
            case binary:match(Text, Sub) of
                nomatch -> recv_event(Sub);
                _ -> E
            end;
        {logged, _} ->
            recv_event(Sub)
    after ?T -> ct:fail({no_event, Sub})
    end.

log(Event, #{config := #{pid := Pid}}) ->
    Pid ! {logged, Event},
    ok.
