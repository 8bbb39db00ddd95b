%% @doc otpc-node (cnode/tools/otpc-node.c), the product's C node on libuv
%% and the process runtime, against real OTP 25: the CT node pings it,
%% echoes terms through its registered `echo' process by message and by
%% gen_server:call (fragments included), sees it in nodes() or
%% nodes(hidden), links to and monitors the echo process and kills it,
%% and stops it with SIGTERM.
-module(cnode_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, end_per_testcase/2]).
-export([bad_options/1, ping/1, echo_message/1, echo_call/1, visible/1, hidden/1,
         link_exit/1, monitor_exit/1, c_link_monitor/1, c_exit/1, c_dials/1,
         noconnection/1, wrong_cookie/1, silent_peer/1, spawn_request/1,
         concurrent/1, monitor_name/1, c_to_c/1, sigterm/1,
         c_monitor_node/1, c_monitor_nodes/1, c_reg_send/1,
         c_monitor_remote_name/1, c_call/1, c_call_nodedown/1,
         big_vs_signals/1, big_then_exit_same_receiver/1,
         big_vs_small_message/1, burst_order/1, c_alias/1,
         embedded_epmd/1, max_message_size/1, big_vs_ticks/1]).
%% Run on peers.
-export([forward/1, serve/2, box/0, box_get/0, ctl_req/2, sink_start/1,
         sink_next/0, sink_last/0]).
%% A BEAM gen_server for C processes to call.
-export([init/1, handle_call/3, handle_cast/2]).

-define(T, 10000).

all() ->
    [bad_options, ping, echo_message, echo_call, visible, hidden, link_exit,
     monitor_exit, c_link_monitor, c_exit, c_dials, noconnection, wrong_cookie,
     silent_peer, spawn_request, concurrent, monitor_name, c_to_c, sigterm,
     c_monitor_node, c_monitor_nodes, c_reg_send, c_monitor_remote_name,
     c_call, c_call_nodedown, big_vs_signals, big_then_exit_same_receiver,
     big_vs_small_message, burst_order,
     c_alias, embedded_epmd, max_message_size, big_vs_ticks].

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

%% Starts otpc-node with a fresh name; returns {Handle, Node}.
start_node(Args) ->
    otpc_test_lib:start_cnode("cnode", Args).

stopped(H) -> otpc_test_lib:stop_cnode(H).

echo_pid(Node) ->
    {echo, Node} ! {self(), hello},
    receive {echo, Pid, hello} when node(Pid) =:= Node -> Pid
    after ?T -> ct:fail(no_echo)
    end.

terms() ->
    [hello, 42, -1, 1 bsl 1000, -(1 bsl 300), 3.14, "text", [], {}, #{},
     [1, 2, 3], [a | b], <<>>, <<1:3>>, self(), make_ref(),
     fun lists:map/2, list_to_tuple(lists:seq(1, 300)),
     maps:from_list([{K, K * K} || K <- lists:seq(1, 100)]),
     'ünïcødé', <<"ünïcødé"/utf8>>,
     binary:copy(<<7>>, 65537),
     binary:copy(<<"0123456789">>, 1000000)].

%%% Cases ----------------------------------------------------------------

bad_options(_Config) ->
    [begin
         {ok, H} = otpc_test_lib:start_program("otpc-node", Args),
         {error, {exited, 2, _}} = otpc_test_lib:wait_line(H, "^never", ?T)
     end || Args <- [[], ["--bogus"], ["--sname"], ["--sname", "a", "--name", "b@h"],
                     ["--sname", "a", "--ticktime", "0"],
                     ["--sname", "a", "--epmd-port", "x"], ["--name", "nohost"]]],
    ok.

ping(_Config) ->
    {H, Node} = start_node([]),
    pong = net_adm:ping(Node),
    stopped(H).

echo_message(_Config) ->
    {H, Node} = start_node([]),
    [begin
         {echo, Node} ! {self(), T},
         receive
             {echo, Pid, T2} when node(Pid) =:= Node, T2 =:= T -> ok;
             {echo, _, Other} -> ct:fail({echo_mismatch, T, Other})
         after ?T -> ct:fail({no_echo, T})
         end
     end || T <- terms()],
    stopped(H).

echo_call(_Config) ->
    {H, Node} = start_node([]),
    [T = gen_server:call({echo, Node}, T, ?T) || T <- terms()],
    stopped(H).

visible(_Config) ->
    {H, Node} = start_node([]),
    pong = net_adm:ping(Node),
    true = lists:member(Node, nodes()),
    stopped(H).

hidden(_Config) ->
    {H, Node} = start_node(["--hidden"]),
    pong = net_adm:ping(Node),
    false = lists:member(Node, nodes()),
    true = lists:member(Node, nodes(hidden)),
    stopped(H).

link_exit(_Config) ->
    {H, Node} = start_node([]),
    Pid = echo_pid(Node),
    process_flag(trap_exit, true),
    true = link(Pid),
    %% The link is set up once the echo process answers after it (signal
    %% order), so the exit below finds it.
    Pid = echo_pid(Node),
    exit(Pid, kill),
    receive {'EXIT', Pid, killed} -> ok
    after ?T -> ct:fail(no_exit)
    end,
    process_flag(trap_exit, false),
    stopped(H).

monitor_exit(_Config) ->
    {H, Node} = start_node([]),
    Pid = echo_pid(Node),
    Ref = monitor(process, Pid),
    exit(Pid, bye),
    receive {'DOWN', Ref, process, Pid, bye} -> ok
    after ?T -> ct:fail(no_down)
    end,
    %% Monitoring a dead pid: noproc, as OTP.
    Ref2 = monitor(process, Pid),
    receive {'DOWN', Ref2, process, Pid, noproc} -> ok
    after ?T -> ct:fail(no_noproc)
    end,
    stopped(H).

%% The C side: ctl links to and monitors a CT process, which exits.
c_link_monitor(_Config) ->
    {H, Node} = start_node([]),
    P = spawn(fun() -> receive stop -> exit(foo) end end),
    {ctl, Node} ! {self(), link, P},
    ctl(linked),
    {ctl, Node} ! {self(), monitor, P},
    Ref = receive {ctl, R} when is_reference(R) -> R after ?T -> ct:fail(no_ref) end,
    P ! stop,
    ctl({'EXIT', P, foo}),
    ctl({'DOWN', Ref, process, P, foo}),
    %% A monitor of a dead pid: noproc.
    {ctl, Node} ! {self(), monitor, P},
    Ref2 = receive {ctl, R2} when is_reference(R2) -> R2 after ?T -> ct:fail(no_ref) end,
    ctl({'DOWN', Ref2, process, P, noproc}),
    stopped(H).

%% exit/2 from a C process to a BEAM one.
c_exit(_Config) ->
    {H, Node} = start_node([]),
    P = spawn(fun() -> receive after infinity -> ok end end),
    Ref = monitor(process, P),
    {ctl, Node} ! {self(), exit, P, boom},
    ctl(exited),
    receive {'DOWN', Ref, process, P, boom} -> ok after ?T -> ct:fail(no_down) end,
    stopped(H).

%% A peer node with this module loaded (forward/1 runs there).
start_peer() ->
    {ok, Peer, PNode} = otpc_test_lib:start_peer(cnp),
    {Mod, Bin, File} = code:get_object_code(?MODULE),
    {module, Mod} = rpc:call(PNode, code, load_binary, [Mod, File, Bin]),
    {Peer, PNode}.

forward(To) ->
    receive M -> To ! {forwarded, M}, forward(To) end.

%% The first send to a node it has no connection to makes the C node dial.
c_dials(_Config) ->
    {H, Node} = start_node([]),
    {Peer, PNode} = start_peer(),
    P = spawn(PNode, ?MODULE, forward, [self()]),
    {ctl, Node} ! {self(), send, P, {hello, 1}},
    ctl(sent),
    receive {forwarded, {hello, 1}} -> ok after ?T -> ct:fail(no_forward) end,
    true = lists:member(Node, rpc:call(PNode, erlang, nodes, [])),
    otpc_test_lib:stop_peer(Peer),
    stopped(H).

%% Links and monitors to a node that goes away break with noconnection.
noconnection(_Config) ->
    {H, Node} = start_node([]),
    {Peer, PNode} = start_peer(),
    P = spawn(PNode, ?MODULE, forward, [self()]),
    {ctl, Node} ! {self(), link, P},
    ctl(linked),
    {ctl, Node} ! {self(), monitor, P},
    Ref = receive {ctl, R} when is_reference(R) -> R after ?T -> ct:fail(no_ref) end,
    %% Both signals have reached P once a message sent after them has.
    {ctl, Node} ! {self(), send, P, sync},
    ctl(sent),
    receive {forwarded, sync} -> ok after ?T -> ct:fail(no_sync) end,
    otpc_test_lib:stop_peer(Peer),
    ctl({'EXIT', P, noconnection}),
    ctl({'DOWN', Ref, process, P, noconnection}),
    stopped(H).

wrong_cookie(_Config) ->
    Name = "cnode" ++ integer_to_list(erlang:unique_integer([positive])),
    {ok, H, <<"ready ", N/binary>>} =
        otpc_test_lib:start_program("otpc-node",
                                    ["--sname", Name, "--cookie", "not_the_cookie"],
                                    #{ready => "^ready "}),
    pang = net_adm:ping(binary_to_atom(N, utf8)),
    stopped(H).

ctl(Expect) ->
    receive {ctl, Expect} -> ok
    after ?T -> ct:fail({no_ctl, Expect})
    end.

%% At --ticktime 2 the C node drops a peer that says nothing for 2 s: the
%% CT node (net_ticktime 60) ticks only every 15 s.
silent_peer(_Config) ->
    {H, Node} = start_node(["--ticktime", "2"]),
    pong = net_adm:ping(Node),
    true = monitor_node(Node, true),
    receive {nodedown, Node} -> ok after ?T -> ct:fail(not_dropped) end,
    %% It reconnects at the next signal.
    pong = net_adm:ping(Node),
    stopped(H).

%% No remote spawn yet: the request is answered with an error.
spawn_request(_Config) ->
    {H, Node} = start_node([]),
    %% otpc-node runs the rpc service (rpc_SUITE): a remote spawn starts a
    %% process, which exits with undef for an unregistered function.
    Ref = spawn_request(Node, erlang, self, [], [monitor]),
    receive {spawn_reply, Ref, ok, Pid} when node(Pid) =:= Node -> ok
    after ?T -> ct:fail(no_spawn_reply)
    end,
    receive {'DOWN', Ref, process, _, {undef, _}} -> ok
    after ?T -> ct:fail(no_down)
    end,
    stopped(H).

%% Big messages from several processes at once: fragments interleave.
concurrent(_Config) ->
    {H, Node} = start_node([]),
    Parent = self(),
    Pids = [spawn_link(fun() ->
                               Big = binary:copy(<<I>>, 1 bsl 20),
                               [Big = gen_server:call({echo, Node}, Big, ?T)
                                || _ <- lists:seq(1, 3)],
                               Parent ! {self(), done}
                       end) || I <- lists:seq(1, 4)],
    [receive {Pid, done} -> ok after 60000 -> ct:fail(concurrent) end || Pid <- Pids],
    stopped(H).

%% A monitor by name: the DOWN names {Name, Node}; an unknown name: noproc.
monitor_name(_Config) ->
    {H, Node} = start_node([]),
    Pid = echo_pid(Node),
    Ref = monitor(process, {echo, Node}),
    exit(Pid, kill),
    receive {'DOWN', Ref, process, {echo, Node}, killed} -> ok
    after ?T -> ct:fail(no_down)
    end,
    Ref2 = monitor(process, {nobody, Node}),
    receive {'DOWN', Ref2, process, {nobody, Node}, noproc} -> ok
    after ?T -> ct:fail(no_noproc)
    end,
    stopped(H).

%% Two C nodes: A's ctl sends to B's echo (A dials B, C to C handshake);
%% B's echo answers the CT process, and links from A to B work.
c_to_c(_Config) ->
    {HA, A} = start_node([]),
    {HB, B} = start_node([]),
    EchoB = echo_pid(B),
    {ctl, A} ! {self(), send, EchoB, {self(), {via, A}}},
    ctl(sent),
    receive {echo, EchoB, {via, A}} -> ok after ?T -> ct:fail(no_c_to_c) end,
    {ctl, A} ! {self(), link, EchoB},
    ctl(linked),
    %% The LINK went A -> B; a message ctl sends after it arrives after it.
    {ctl, A} ! {self(), send, EchoB, {self(), sync}},
    ctl(sent),
    receive {echo, EchoB, sync} -> ok after ?T -> ct:fail(no_sync) end,
    exit(EchoB, kill),
    ctl({'EXIT', EchoB, killed}),
    stopped(HA),
    stopped(HB).

sigterm(_Config) ->
    {H, Node} = start_node([]),
    pong = net_adm:ping(Node),
    stopped(H).

%%% Node monitoring, names, calls, the priority lane -------------------------

%% Waits for the next {ctl, _} and returns its content.
ctl_next() ->
    receive {ctl, M} -> M after ?T -> ct:fail(no_ctl) end.

ctl_ref() ->
    receive {ctl, R} when is_reference(R) -> R after ?T -> ct:fail(no_ref) end.

unreachable() ->
    list_to_atom("nobody" ++ integer_to_list(erlang:unique_integer([positive]))
                 ++ "@" ++ host()).

%% monitor_node from C: {nodedown, N} at once for a node that cannot be
%% reached and for each of two monitors, nothing for the node itself, and
%% {nodedown, Peer} when a connected BEAM peer stops. The BEAM does the
%% same (checked here on the CT node).
c_monitor_node(_Config) ->
    Nowhere = unreachable(),
    true = monitor_node(Nowhere, true),
    receive {nodedown, Nowhere} -> ok after ?T -> ct:fail(beam_no_nodedown) end,
    {H, Node} = start_node([]),
    %% The local node first: no message, so the next one is Nowhere's.
    {ctl, Node} ! {self(), monitor_node, Node, true},
    ctl(monitor_node),
    {ctl, Node} ! {self(), monitor_node, Nowhere, true},
    ctl(monitor_node),
    {nodedown, Nowhere} = ctl_next(),
    {ctl, Node} ! {self(), monitor_node, Nowhere, true},
    ctl(monitor_node),
    {ctl, Node} ! {self(), monitor_node, Nowhere, true},
    ctl(monitor_node),
    {nodedown, Nowhere} = ctl_next(),
    {nodedown, Nowhere} = ctl_next(),
    %% A BEAM peer: monitoring it connects to it.
    {Peer, PNode} = start_peer(),
    {ctl, Node} ! {self(), monitor_node, PNode, true},
    ctl(monitor_node),
    P = spawn(PNode, ?MODULE, forward, [self()]),
    {ctl, Node} ! {self(), send, P, up},
    ctl(sent),
    receive {forwarded, up} -> ok after ?T -> ct:fail(no_forward) end,
    {ctl, Node} ! {self(), nodes},
    {nodes, Visible, []} = ctl_next(),
    true = lists:member(PNode, Visible),
    true = lists:member(node(), Visible),
    %% A node already connected: a second monitor, nothing until it goes,
    %% then one nodedown per monitor (the CT node does the same).
    {ctl, Node} ! {self(), monitor_node, PNode, true},
    ctl(monitor_node),
    true = monitor_node(PNode, true),
    otpc_test_lib:stop_peer(Peer),
    {nodedown, PNode} = ctl_next(),
    {nodedown, PNode} = ctl_next(),
    receive {nodedown, PNode} -> ok after ?T -> ct:fail(beam_no_nodedown) end,
    {ctl, Node} ! {self(), nodes},
    {nodes, Visible2, []} = ctl_next(),
    false = lists:member(PNode, Visible2),
    stopped(H).

%% monitor_nodes from C, one subscription for visible nodes and one for
%% all: a hidden peer gives one nodeup, a visible one two; nodedowns alike.
c_monitor_nodes(_Config) ->
    {H, Node} = start_node([]),
    {ctl, Node} ! {self(), monitor_nodes, true, false},
    ctl(monitor_nodes),
    {ctl, Node} ! {self(), monitor_nodes, true, true},
    ctl(monitor_nodes),
    {ok, HPeer, HNode} = otpc_test_lib:start_peer(cnh, ["-hidden"]),
    pong = rpc:call(HNode, net_adm, ping, [Node]),
    {nodeup, HNode} = ctl_next(),
    {ok, VPeer, VNode} = otpc_test_lib:start_peer(cnv),
    pong = rpc:call(VNode, net_adm, ping, [Node]),
    {nodeup, VNode} = ctl_next(),
    {nodeup, VNode} = ctl_next(),
    {ctl, Node} ! {self(), nodes},
    {nodes, Visible, Hidden} = ctl_next(),
    true = lists:member(VNode, Visible),
    [HNode] = Hidden,
    otpc_test_lib:stop_peer(HPeer),
    {nodedown, HNode} = ctl_next(),
    otpc_test_lib:stop_peer(VPeer),
    {nodedown, VNode} = ctl_next(),
    {nodedown, VNode} = ctl_next(),
    %% Off: one subscription less, so one nodedown for the next visible one.
    {ctl, Node} ! {self(), monitor_nodes, false, false},
    ctl(monitor_nodes),
    {ok, VPeer2, VNode2} = otpc_test_lib:start_peer(cnv),
    pong = rpc:call(VNode2, net_adm, ping, [Node]),
    {nodeup, VNode2} = ctl_next(),
    otpc_test_lib:stop_peer(VPeer2),
    {nodedown, VNode2} = ctl_next(),
    {ctl, Node} ! {self(), nodes},
    {nodes, _, []} = ctl_next(),
    stopped(H).

%% {Name, Node} ! Msg from C: to the CT node and to a peer it dials first;
%% an unknown name or an unreachable node drops the message, nothing else.
c_reg_send(_Config) ->
    {H, Node} = start_node([]),
    Name = cnode_fwd,
    Fwd = spawn_link(?MODULE, forward, [self()]),
    true = register(Name, Fwd),
    {ctl, Node} ! {self(), reg_send, Name, node(), {hi, 1}},
    ctl(sent),
    receive {forwarded, {hi, 1}} -> ok after ?T -> ct:fail(no_reg_send) end,
    {Peer, PNode} = start_peer(),
    PFwd = spawn(PNode, ?MODULE, forward, [self()]),
    true = rpc:call(PNode, erlang, register, [Name, PFwd]),
    {ctl, Node} ! {self(), reg_send, nobody, PNode, lost},
    ctl(sent),
    {ctl, Node} ! {self(), reg_send, Name, unreachable(), lost},
    ctl(sent),
    {ctl, Node} ! {self(), reg_send, Name, PNode, {hi, 2}},
    ctl(sent),
    receive
        {forwarded, {hi, 2}} -> ok;
        {forwarded, lost} -> ct:fail(delivered_lost)
    after ?T -> ct:fail(no_remote_reg_send)
    end,
    otpc_test_lib:stop_peer(Peer),
    unlink(Fwd),
    exit(Fwd, kill),
    stopped(H).

%% monitor(process, {Name, Node}) from C: the DOWN says {Name, Node} with
%% the exit reason, noproc for a name nobody has, noconnection for a node
%% that goes down or cannot be reached.
c_monitor_remote_name(_Config) ->
    {H, Node} = start_node([]),
    P = spawn(fun() -> receive after infinity -> ok end end),
    true = register(cnode_target, P),
    {ctl, Node} ! {self(), monitor_name, cnode_target, node()},
    Ref = ctl_ref(),
    %% The MONITOR_P has reached us once a message ctl sends later has.
    {ctl, Node} ! {self(), send, self(), sync},
    ctl(sent),
    receive sync -> ok after ?T -> ct:fail(no_sync) end,
    exit(P, bye),
    {'DOWN', Ref, process, {cnode_target, ThisNode}, bye} = ctl_next(),
    ThisNode = node(),
    {ctl, Node} ! {self(), monitor_name, nobody, node()},
    Ref2 = ctl_ref(),
    {'DOWN', Ref2, process, {nobody, ThisNode}, noproc} = ctl_next(),
    Nowhere = unreachable(),
    {ctl, Node} ! {self(), monitor_name, cnode_target, Nowhere},
    Ref3 = ctl_ref(),
    {'DOWN', Ref3, process, {cnode_target, Nowhere}, noconnection} = ctl_next(),
    {Peer, PNode} = start_peer(),
    PP = spawn(PNode, ?MODULE, forward, [self()]),
    true = rpc:call(PNode, erlang, register, [cnode_target, PP]),
    {ctl, Node} ! {self(), monitor_name, cnode_target, PNode},
    Ref4 = ctl_ref(),
    {ctl, Node} ! {self(), send, PP, sync},
    ctl(sent),
    receive {forwarded, sync} -> ok after ?T -> ct:fail(no_sync) end,
    otpc_test_lib:stop_peer(Peer),
    {'DOWN', Ref4, process, {cnode_target, PNode}, noconnection} = ctl_next(),
    stopped(H).

%% A BEAM gen_server (this module's callbacks): `block' is never answered
%% but reported to the pid in the state.
init(Notify) -> {ok, Notify}.
handle_call(block, _From, Notify) -> Notify ! {blocked, node()}, {noreply, Notify};
handle_call(Req, _From, S) -> {reply, {got, Req, node()}, S}.
handle_cast(_, S) -> {noreply, S}.

%% Starts a registered BEAM gen_server on the node running it, which stays.
serve(Name, Notify) ->
    {ok, Pid} = gen_server:start({local, Name}, ?MODULE, Notify, []),
    Pid.

%% gen_server:call from C to a BEAM server by pid and by {Name, Node}:
%% replies, timeout, and noproc (dead pid, unknown name), as OTP gives them.
c_call(_Config) ->
    {H, Node} = start_node([]),
    Srv = serve(cnode_srv, self()),
    Me = node(),
    {ctl, Node} ! {self(), call, Srv, hello, 5000},
    {call, ok, {got, hello, Me}} = ctl_next(),
    {ctl, Node} ! {self(), call, {cnode_srv, Me}, {by, name}, 5000},
    {call, ok, {got, {by, name}, Me}} = ctl_next(),
    {ctl, Node} ! {self(), call, Srv, block, 200},
    {call, timeout, []} = ctl_next(),
    {ctl, Node} ! {self(), call, {nobody, Me}, hello, 5000},
    {call, noproc, []} = ctl_next(),
    %% The same on the BEAM.
    noproc = catch_exit(fun() -> gen_server:call({nobody, Me}, hello) end),
    gen_server:stop(Srv),
    {ctl, Node} ! {self(), call, Srv, hello, 5000},
    {call, noproc, []} = ctl_next(),
    stopped(H).

catch_exit(F) ->
    try F() of R -> {returned, R}
    catch exit:{Reason, _} -> Reason
    end.

%% A call to a server whose node goes down exits {nodedown, Node}, from C
%% as from the BEAM (the CT node makes the same call).
c_call_nodedown(_Config) ->
    {H, Node} = start_node([]),
    {Peer, PNode} = start_peer(),
    _ = rpc:call(PNode, ?MODULE, serve, [cnode_srv, self()]),
    Me = self(),
    spawn(fun() ->
                  Me ! {beam, catch_exit(fun() ->
                                                  gen_server:call({cnode_srv, PNode}, block, 60000)
                                          end)}
          end),
    {ctl, Node} ! {self(), call, {cnode_srv, PNode}, {by, name}, 5000},
    {call, ok, {got, {by, name}, PNode}} = ctl_next(),
    {ctl, Node} ! {self(), call, {cnode_srv, PNode}, block, 60000},
    %% Both blocked calls have reached the server.
    [receive {blocked, PNode} -> ok after ?T -> ct:fail(not_blocked) end
     || _ <- [1, 2]],
    otpc_test_lib:stop_peer(Peer),
    {call, exit, {nodedown, PNode}} = ctl_next(),
    receive {beam, {nodedown, PNode}} -> ok after ?T -> ct:fail(beam_no_nodedown) end,
    stopped(H).

%% Traps exits and forwards every message to To, then reports it is set.
trapper(To) ->
    spawn(fun() ->
                  process_flag(trap_exit, true),
                  To ! {self(), trapping},
                  forward(To)
          end).

%% 100 MB from ctl to the CT process, then signals to other processes: an
%% exit/2 from ctl, and the link exit and DOWN of the echo process it
%% kills. All three overtake the big message (priority lane).
big_vs_signals(_Config) ->
    {H, Node} = start_node([]),
    Echo = echo_pid(Node),
    Me = self(),
    P1 = trapper(Me),
    receive {P1, trapping} -> ok end,
    P2 = spawn(fun() ->
                       Ref = monitor(process, Echo),
                       Me ! {self(), monitoring},
                       receive {'DOWN', Ref, process, Echo, R} -> Me ! {down, R} end
               end),
    receive {P2, monitoring} -> ok end,
    P3 = spawn(fun() ->
                       process_flag(trap_exit, true),
                       link(Echo),
                       Me ! {self(), linked},
                       receive {'EXIT', Echo, R} -> Me ! {link_exit, R} end
               end),
    receive {P3, linked} -> ok end,
    %% The monitor and the link have reached echo once its answer has.
    Echo = echo_pid(Node),
    Ctl = ctl_pid(Node),
    Size = 100 * 1000 * 1000,
    {ctl, Node} ! {self(), big_exit, self(), Size, P1, bye},
    {forwarded, {'EXIT', Ctl, bye}} = first(),
    {big, B1} = first(),
    Size = byte_size(B1),
    {ctl, Node} ! {self(), big_exit, self(), Size, Echo, kill},
    Got = [first(), first()],
    true = lists:member({down, killed}, Got),
    true = lists:member({link_exit, killed}, Got),
    {big, B2} = first(),
    Size = byte_size(B2),
    stopped(H).

first() ->
    receive M -> M after 60000 -> ct:fail(nothing) end.

ctl_pid(Node) ->
    Me = self(),
    P = spawn(fun() ->
                      process_flag(trap_exit, true),
                      Me ! {self(), ready},
                      receive {'EXIT', From, who} -> Me ! {ctl_is, From} end
              end),
    receive {P, ready} -> ok end,
    {ctl, Node} ! {self(), exit, P, who},
    ctl(exited),
    receive {ctl_is, Ctl} -> Ctl after ?T -> ct:fail(no_ctl_pid) end.

%% The order kept: 100 MB to P, then an exit signal to P from the same
%% process: P gets the message first.
big_then_exit_same_receiver(_Config) ->
    {H, Node} = start_node([]),
    P = trapper(self()),
    receive {P, trapping} -> ok end,
    Size = 100 * 1000 * 1000,
    {ctl, Node} ! {self(), big_exit, P, Size, P, bye},
    {forwarded, {big, B}} = first(),
    Size = byte_size(B),
    {forwarded, {'EXIT', _, bye}} = first(),
    stopped(H).

%% 200 MB from ctl to one BEAM process, then a small message from ctl to
%% another: the small one goes out between the big one's fragments (OTP
%% orders messages per sender and receiver only), so it arrives first
%% instead of waiting for the whole transfer (head-of-line blocking).
big_vs_small_message(_Config) ->
    {H, Node} = start_node([]),
    Me = self(),
    Big = spawn(fun() -> forward(Me) end),
    Small = spawn(fun() -> forward(Me) end),
    Size = 200 * 1000 * 1000,
    {ctl, Node} ! {self(), big_send, Big, Size, Small, small},
    {forwarded, small} = first(),
    {forwarded, {big, B}} = first(),
    Size = byte_size(B),
    stopped(H).

%% 20000 echoes of 2 KB each: the C node writes its replies from the
%% echo process's own thread while the connection is idle, and hands what
%% the socket does not take to the loop; all of them arrive, in order.
burst_order(_Config) ->
    {H, Node} = start_node([]),
    Pad = binary:copy(<<5>>, 2000),
    N = 20000,
    [{echo, Node} ! {self(), {I, Pad}} || I <- lists:seq(1, N)],
    ok = in_order(1, N, Pad),
    stopped(H).

in_order(I, N, _Pad) when I > N -> ok;
in_order(I, N, Pad) ->
    receive
        {echo, _, {I, Pad}} -> in_order(I + 1, N, Pad);
        {echo, _, Other} -> ct:fail({out_of_order, expected, I, got, Other})
    after ?T -> ct:fail({missing_echo, I})
    end.

%% Aliases of a C process: a BEAM process sends to one (ALIAS_SEND) while
%% it is active; after unalias the message is dropped (a later one by pid
%% comes first); a second unalias says 0. From C: to its own alias, and to
%% a BEAM alias, delivered while active and dropped after unalias, as on
%% the BEAM.
c_alias(_Config) ->
    {H, Node} = start_node([]),
    Ctl = ctl_pid(Node),
    {ctl, Node} ! {self(), alias},
    {alias, A} = ctl_next(),
    Node = node(A),
    A ! {aliased, 1},
    {aliased, 1} = ctl_next(),
    {ctl, Node} ! {self(), unalias, A},
    {unalias, 1} = ctl_next(),
    A ! {aliased, 2},
    Ctl ! {aliased, 3},
    {aliased, 3} = ctl_next(),
    {ctl, Node} ! {self(), unalias, A},
    {unalias, 0} = ctl_next(),
    %% C to its own alias.
    {ctl, Node} ! {self(), alias},
    {alias, A2} = ctl_next(),
    {ctl, Node} ! {self(), alias_send, A2, {aliased, local}},
    ctl(sent),
    {aliased, local} = ctl_next(),
    %% C to a BEAM alias.
    BA = alias(),
    {ctl, Node} ! {self(), alias_send, BA, via_alias},
    ctl(sent),
    receive via_alias -> ok after ?T -> ct:fail(no_alias_send) end,
    true = unalias(BA),
    {ctl, Node} ! {self(), alias_send, BA, lost},
    {ctl, sent} = first(),
    stopped(H).

%% No epmd on the port given: otpc-node serves it. Two BEAM peers using
%% that port (ERL_EPMD_PORT) register with it; one pings the C node and
%% lists the names; the C node dials the other through its own epmd (the
%% lookup must not block the loop that serves it); NAMES answers raw.
embedded_epmd(_Config) ->
    {ok, L} = gen_tcp:listen(0, []),
    {ok, Port} = inet:port(L),
    ok = gen_tcp:close(L),
    Name = "cnode" ++ integer_to_list(erlang:unique_integer([positive])),
    Cookie = atom_to_list(erlang:get_cookie()),
    {ok, H, <<"ready ", N/binary>>} =
        otpc_test_lib:start_program("otpc-node",
                                    ["--sname", Name, "--cookie", Cookie,
                                     "--epmd-port", integer_to_list(Port)],
                                    #{ready => "^ready "}),
    Node = binary_to_atom(N, utf8),
    Dir = filename:dirname(code:which(?MODULE)),
    Start = fun(Prefix) ->
                    PName = list_to_atom(Prefix ++ integer_to_list(erlang:unique_integer([positive]))),
                    {ok, P, PN} = peer:start(#{name => PName, connection => standard_io,
                                               env => [{"ERL_EPMD_PORT", integer_to_list(Port)}],
                                               args => ["-setcookie", Cookie, "-pa", Dir],
                                               wait_boot => 30000}),
                    {P, PN}
            end,
    {PA, A} = Start("cne_a"),
    {PB, B} = Start("cne_b"),
    try
        pong = peer:call(PA, net_adm, ping, [Node]),
        {ok, Names} = peer:call(PA, net_adm, names, []),
        [true = lists:keymember(alive(X), 1, Names) || X <- [Node, A, B]],
        %% Raw NAMES: our port first, then one line per node.
        {ok, S} = gen_tcp:connect("localhost", Port, [binary, {active, false}]),
        ok = gen_tcp:send(S, <<1:16, 110>>),
        {ok, <<Port:32, Text/binary>>} = recv_all(S, <<>>),
        true = binary:match(Text, list_to_binary("name " ++ alive(Node) ++ " at port ")) =/= nomatch,
        %% The C node dials B, whose port it asks of its own epmd.
        true = peer:call(PB, ?MODULE, box, []),
        sent = peer:call(PA, ?MODULE, ctl_req, [Node, {reg_send, box, B, {via, epmd}}]),
        {via, epmd} = peer:call(PB, ?MODULE, box_get, []),
        %% A second C node on that port finds our epmd and registers with
        %% it (a client like the BEAMs); its name goes when it stops.
        Name2 = "cnode" ++ integer_to_list(erlang:unique_integer([positive])),
        {ok, H2, <<"ready ", N2/binary>>} =
            otpc_test_lib:start_program("otpc-node",
                                        ["--sname", Name2, "--cookie", Cookie,
                                         "--epmd-port", integer_to_list(Port)],
                                        #{ready => "^ready "}),
        Node2 = binary_to_atom(N2, utf8),
        pong = peer:call(PA, net_adm, ping, [Node2]),
        {ok, Names2} = peer:call(PA, net_adm, names, []),
        true = lists:keymember(alive(Node2), 1, Names2),
        stopped(H2),
        {ok, Names3} = peer:call(PA, net_adm, names, []),
        false = lists:keymember(alive(Node2), 1, Names3),
        true = lists:keymember(alive(Node), 1, Names3)
    after
        catch peer:stop(PA),
        catch peer:stop(PB)
    end,
    stopped(H).

alive(Node) ->
    [Alive, _] = string:split(atom_to_list(Node), "@"),
    Alive.

recv_all(S, Acc) ->
    case gen_tcp:recv(S, 0, ?T) of
        {ok, B} -> recv_all(S, <<Acc/binary, B/binary>>);
        {error, closed} -> {ok, Acc}
    end.

%% On a peer: a registered process keeping the first message it gets.
box() ->
    Pid = spawn(fun() ->
                        receive
                            M when not (is_tuple(M) andalso element(1, M) =:= get) ->
                                receive {get, F} -> F ! {box, M} end
                        end
                end),
    register(box, Pid).

box_get() ->
    box ! {get, self()},
    receive {box, M} -> M after ?T -> timeout end.

%% On a peer: one request to ctl, its answer.
ctl_req(Node, Req) ->
    {ctl, Node} ! list_to_tuple([self() | tuple_to_list(Req)]),
    receive {ctl, R} -> R after ?T -> timeout end.

%% --max-message-size 1000: a message of 5000 bytes (one frame) and one of
%% 200000 (fragments) are dropped, each with a log line naming the peer,
%% the sender and the size; the connection stays (no nodedown) and smaller
%% messages go on.
max_message_size(_Config) ->
    {H, Node} = start_node(["--max-message-size", "1000"]),
    Echo = echo_pid(Node),
    true = monitor_node(Node, true),
    [begin
         Echo ! {self(), binary:copy(<<1>>, Size)},
         {ok, Line} = otpc_test_lib:wait_line(H, "dropped a message of", ?T),
         {match, [Bytes]} = re:run(Line, "of ([0-9]+) bytes", [{capture, all_but_first, list}]),
         true = list_to_integer(Bytes) > Size,
         {match, _} = re:run(Line, "^" ++ atom_to_list(node()) ++ ": "),
         {match, _} = re:run(Line, "from sender <[^>]+>"),
         {match, _} = re:run(Line, "maximum message size of 1000 bytes")
     end || Size <- [5000, 200000]],
    Echo = echo_pid(Node),
    receive {nodedown, Node} -> ct:fail(connection_closed) after 0 -> ok end,
    monitor_node(Node, false),
    stopped(H).

%% At net_ticktime 4 on both sides, 5 x 100 MB from the C node to a peer
%% take several tick periods; the connection must live through them (the
%% C node reads the peer's ticks while it writes, and the peer hears from
%% us in time): the peer's monitor_node sees no nodedown.
big_vs_ticks(_Config) ->
    {H, Node} = start_node(["--ticktime", "4"]),
    Cookie = atom_to_list(erlang:get_cookie()),
    Dir = filename:dirname(code:which(?MODULE)),
    PName = list_to_atom("cnt" ++ integer_to_list(erlang:unique_integer([positive]))),
    %% standard_io: the peer, at another ticktime, must not tick with us.
    {ok, P, _PNode} = peer:start(#{name => PName, connection => standard_io,
                                   args => ["-setcookie", Cookie, "-pa", Dir,
                                            "-kernel", "net_ticktime", "4"],
                                   wait_boot => 30000}),
    try
        Sink = peer:call(P, ?MODULE, sink_start, [Node]),
        Echo = echo_pid(Node),
        Size = 100 * 1000 * 1000,
        T0 = erlang:monotonic_time(millisecond),
        [begin
             {ctl, Node} ! {self(), big_exit, Sink, Size, Echo, normal},
             {ok, Size} = peer:call(P, ?MODULE, sink_next, [], 120000)
         end || _ <- lists:seq(1, 5)],
        Ms = erlang:monotonic_time(millisecond) - T0,
        ct:pal("5 x 100 MB to a peer at net_ticktime 4: ~b ms", [Ms]),
        ok = peer:call(P, ?MODULE, sink_last, [], 120000)
    after
        catch peer:stop(P)
    end,
    stopped(H).

%% On a peer: `sink', connected to and monitoring Node, reporting the size
%% of each {big, Bin} and any nodedown to whoever asks with sink_next/0.
sink_start(Node) ->
    Me = self(),
    Pid = spawn(fun() ->
                        pong = net_adm:ping(Node),
                        true = monitor_node(Node, true),
                        Me ! {self(), ready},
                        sink_loop()
                end),
    receive {Pid, ready} -> Pid after ?T -> error(sink_not_ready) end,
    true = register(sink, Pid),
    Pid.

sink_loop() ->
    receive
        {next, From} ->
            receive
                {big, B} -> From ! {sink, {ok, byte_size(B)}};
                {nodedown, N} -> From ! {sink, {nodedown, N}}
            end,
            sink_loop();
        {last, From} ->
            receive
                {nodedown, N} -> From ! {sink, {nodedown, N}}
            after 0 -> From ! {sink, ok}
            end,
            sink_loop()
    end.

%% The next big message's size, or the nodedown that came first.
sink_next() ->
    sink_ask(next).

%% ok if no nodedown is queued.
sink_last() ->
    sink_ask(last).

sink_ask(What) ->
    sink ! {What, self()},
    receive {sink, R} -> R after 120000 -> timeout end.
