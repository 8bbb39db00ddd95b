%% @doc C behaviours seen from a real BEAM node (OTP 25): otpc-node's
%% `counter' gen_server and its `counter_sup' supervisor (the stable
%% contract of cnode/tools/node_counter.c), queried with the stock
%% gen_server and supervisor modules; and supervision across the boundary
%% in both directions: a stock Erlang supervisor restarting a C gen_server
%% that lives on otpc-node, and a C supervisor on otpc-node restarting
%% processes that live on this BEAM node.
-module(behaviours_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, end_per_testcase/2]).
-export([counter_calls/1, counter_reset_at_zero/1, counter_saved_state/1,
         counter_sup_visible/1, counter_intensity/1,
         erlang_sup_of_c_gen_server/1, c_sup_of_beam_processes/1,
         c_sup_child_node_down/1]).
%% The Erlang supervisor's start function and the BEAM factory.
-export([start_c_worker/1, init/1, handle_call/3, handle_cast/2,
         beam_child/0]).

-define(T, 10000).

all() ->
    [counter_calls, counter_reset_at_zero, counter_saved_state,
     counter_sup_visible, counter_intensity, erlang_sup_of_c_gen_server,
     c_sup_of_beam_processes, c_sup_child_node_down].

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

%% A fresh, empty state directory under the case's priv_dir.
state_dir(Config) ->
    Dir = filename:join(?config(priv_dir, Config),
                        "state" ++ integer_to_list(erlang:unique_integer([positive]))),
    ok = filelib:ensure_path(Dir),
    Dir.

%% Starts otpc-node with a fresh name; returns {Handle, Node}.
start_node(Args) ->
    otpc_test_lib:start_cnode("bnode", Args).

stopped(H) -> otpc_test_lib:stop_cnode(H).

counter(Node, Req) ->
    gen_server:call({counter, Node}, Req, ?T).

%% The counter's pid, from its supervisor.
counter_pid(Node) ->
    [{counter, Pid, worker, [counter]}] =
        supervisor:which_children({counter_sup, Node}),
    true = is_pid(Pid),
    Node = node(Pid),
    Pid.

await_down(Ref) ->
    receive {'DOWN', Ref, process, _, Reason} -> Reason
    after ?T -> ct:fail({no_down, Ref})
    end.

%%% The counter ----------------------------------------------------------

counter_calls(Config) ->
    {H, Node} = start_node(["--state-dir", state_dir(Config)]),
    {value, 0} = counter(Node, read),
    [ok = counter(Node, increment) || _ <- lists:seq(1, 3)],
    {value, 3} = counter(Node, read),
    ok = counter(Node, reset),
    {value, 0} = counter(Node, read),
    stopped(H).

%% reset at 0 crashes the counter with reset_at_zero (the caller sees the
%% exit, as for any gen_server); counter_sup restarts it.
counter_reset_at_zero(Config) ->
    {H, Node} = start_node(["--state-dir", state_dir(Config)]),
    Old = counter_pid(Node),
    Mon = erlang:monitor(process, Old),
    {'EXIT', {reset_at_zero, {gen_server, call, _}}} =
        (catch counter(Node, reset)),
    reset_at_zero = await_down(Mon),
    %% The supervisor had the 'EXIT' before our DOWN (links go first), so
    %% this call is served after the restart.
    New = counter_pid(Node),
    true = New =/= Old,
    {value, 0} = counter(Node, read),
    ok = counter(Node, increment),
    {value, 1} = counter(Node, read),
    stopped(H).

%% A killed counter comes back with the saved N; so does a new node on the
%% same state directory.
counter_saved_state(Config) ->
    Dir = state_dir(Config),
    {H, Node} = start_node(["--state-dir", Dir]),
    [ok = counter(Node, increment) || _ <- lists:seq(1, 5)],
    Old = counter_pid(Node),
    Mon = erlang:monitor(process, Old),
    exit(Old, kill),
    killed = await_down(Mon),
    New = counter_pid(Node),
    true = New =/= Old,
    {value, 5} = counter(Node, read),
    {ok, <<"5\n">>} = file:read_file(filename:join(Dir, "counter.state")),
    ok = counter(Node, increment),
    stopped(H),
    {ok, <<"6\n">>} = file:read_file(filename:join(Dir, "counter.state")),
    {H2, Node2} = start_node(["--state-dir", Dir]),
    {value, 6} = counter(Node2, read),
    stopped(H2).

counter_sup_visible(Config) ->
    {H, Node} = start_node(["--state-dir", state_dir(Config)]),
    Pid = counter_pid(Node),
    [{specs, 1}, {active, 1}, {supervisors, 0}, {workers, 1}] =
        supervisor:count_children({counter_sup, Node}),
    %% OTP's answers for the rest of the API, too.
    {error, running} = supervisor:restart_child({counter_sup, Node}, counter),
    {error, running} = supervisor:delete_child({counter_sup, Node}, counter),
    {error, not_found} = supervisor:terminate_child({counter_sup, Node}, nope),
    ok = supervisor:terminate_child({counter_sup, Node}, counter),
    [{counter, undefined, worker, [counter]}] =
        supervisor:which_children({counter_sup, Node}),
    {ok, Pid2} = supervisor:restart_child({counter_sup, Node}, counter),
    true = Pid2 =/= Pid,
    Pid2 = counter_pid(Node),
    stopped(H).

%% counter_sup allows 3 restarts in 5 seconds: the fourth crash in a row
%% (well within 5 s) takes it down with reason shutdown.
counter_intensity(Config) ->
    {H, Node} = start_node(["--state-dir", state_dir(Config)]),
    SupMon = erlang:monitor(process, {counter_sup, Node}),
    [begin
         Mon = erlang:monitor(process, counter_pid(Node)),
         {'EXIT', {reset_at_zero, _}} = (catch counter(Node, reset)),
         reset_at_zero = await_down(Mon)
     end || _ <- lists:seq(1, 3)],
    Mon = erlang:monitor(process, counter_pid(Node)),
    {'EXIT', {reset_at_zero, _}} = (catch counter(Node, reset)),
    reset_at_zero = await_down(Mon),
    shutdown = await_down(SupMon),
    {'EXIT', {noproc, _}} = (catch counter(Node, read)),
    stopped(H).

%%% Across the boundary --------------------------------------------------

%% The stock supervisor's start function: a new C gen_server from the C
%% node's factory, linked to the calling supervisor.
start_c_worker(Node) ->
    {ok, Pid} = gen_server:call({otpc_factory, Node}, new, ?T),
    true = link(Pid),
    {ok, Pid}.

%% supervisor callback ({sup, Node}) and BEAM factory gen_server
%% ({factory, Test}) in one module.
init({sup, Node}) ->
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10},
          [#{id => cworker, start => {?MODULE, start_c_worker, [Node]}}]}};
init({factory, Test}) ->
    {ok, Test}.

handle_call(new_child, _From, Test) ->
    Pid = spawn(?MODULE, beam_child, []),
    Test ! {child_started, Pid},
    {reply, {ok, Pid}, Test}.

handle_cast(_, Test) ->
    {noreply, Test}.

beam_child() ->
    receive stop -> ok end.

erlang_sup_of_c_gen_server(_Config) ->
    {H, Node} = start_node([]),
    {ok, Sup} = supervisor:start_link(?MODULE, {sup, Node}),
    true = unlink(Sup),
    [{cworker, P1, worker, [?MODULE]}] = supervisor:which_children(Sup),
    Node = node(P1),
    pong = gen_server:call(P1, ping, ?T),
    %% It crashes: the link tells the Erlang supervisor, which restarts it
    %% on the C node.
    M1 = erlang:monitor(process, P1),
    ok = gen_server:cast(P1, {crash, boom}),
    boom = await_down(M1),
    [{cworker, P2, worker, [?MODULE]}] = supervisor:which_children(Sup),
    true = P2 =/= P1,
    Node = node(P2),
    pong = gen_server:call(P2, ping, ?T),
    %% The supervisor's shutdown reaches the C child.
    M2 = erlang:monitor(process, P2),
    SupMon = erlang:monitor(process, Sup),
    exit(Sup, shutdown),
    shutdown = await_down(M2),
    shutdown = await_down(SupMon),
    stopped(H).

c_sup_of_beam_processes(_Config) ->
    {H, Node} = start_node([]),
    {ok, Factory} = gen_server:start({local, beam_factory}, ?MODULE,
                                     {factory, self()}, []),
    {ok, Sup} = gen_server:call({otpc_factory, Node}, {remote_sup, Factory}, ?T),
    Node = node(Sup),
    P1 = receive {child_started, P} -> P after ?T -> ct:fail(no_child) end,
    [{beam_child, P1, worker, dynamic}] =
        supervisor:which_children({remote_sup, Node}),
    [{specs, 1}, {active, 1}, {supervisors, 0}, {workers, 1}] =
        supervisor:count_children({remote_sup, Node}),
    %% The BEAM process dies: the C supervisor calls the factory again.
    exit(P1, kill),
    P2 = receive {child_started, Q} -> Q after ?T -> ct:fail(no_restart) end,
    true = P2 =/= P1,
    [{beam_child, P2, worker, dynamic}] =
        supervisor:which_children({remote_sup, Node}),
    %% Stopping the C supervisor shuts the BEAM child down.
    M = erlang:monitor(process, P2),
    ok = gen_server:stop({remote_sup, Node}),
    shutdown = await_down(M),
    gen_server:stop(Factory),
    stopped(H).

%% The C supervisor's child lives on a peer node that goes away: the child's
%% exit (noconnection) is a crash, each restart fails (its factory is gone
%% too), and the supervisor tries again until its intensity (5 in 10 s) is
%% exceeded, then exits with shutdown, as OTP's does.
c_sup_child_node_down(_Config) ->
    {H, Node} = start_node([]),
    {ok, Peer, PeerNode} = otpc_test_lib:start_peer("bpeer"),
    {Mod, Bin, File} = code:get_object_code(?MODULE),
    {module, Mod} = erpc:call(PeerNode, code, load_binary, [Mod, File, Bin]),
    {ok, Factory} = erpc:call(PeerNode, gen_server, start,
                              [?MODULE, {factory, self()}, []]),
    {ok, Sup} = gen_server:call({otpc_factory, Node}, {remote_sup, Factory}, ?T),
    P1 = receive {child_started, P} -> P after ?T -> ct:fail(no_child) end,
    PeerNode = node(P1),
    [{beam_child, P1, worker, dynamic}] =
        supervisor:which_children({remote_sup, Node}),
    SupMon = erlang:monitor(process, Sup),
    otpc_test_lib:stop_peer(Peer),
    shutdown = await_down(SupMon),
    stopped(H).
