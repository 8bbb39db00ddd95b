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
         concurrent/1, monitor_name/1, c_to_c/1, sigterm/1]).
%% Run on peers.
-export([forward/1]).

-define(T, 10000).

all() ->
    [bad_options, ping, echo_message, echo_call, visible, hidden, link_exit,
     monitor_exit, c_link_monitor, c_exit, c_dials, noconnection, wrong_cookie,
     silent_peer, spawn_request, concurrent, monitor_name, c_to_c, sigterm].

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

host() ->
    [_, Host] = string:split(atom_to_list(node()), "@"),
    Host.

%% Starts otpc-node with a fresh name; returns {Handle, Node}.
start_node(Args) ->
    Name = "cnode" ++ integer_to_list(erlang:unique_integer([positive])),
    Cookie = atom_to_list(erlang:get_cookie()),
    {ok, H, <<"ready ", N/binary>>} =
        otpc_test_lib:start_program("otpc-node",
                                    ["--sname", Name, "--cookie", Cookie | Args],
                                    #{ready => "^ready "}),
    Node = binary_to_atom(N, utf8),
    Node = list_to_atom(Name ++ "@" ++ host()),
    {H, Node}.

stopped(H) ->
    {exit_status, 0} = otpc_test_lib:stop_program(H),
    ok.

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
    Ref = spawn_request(Node, erlang, self, [], []),
    receive {spawn_reply, Ref, error, notsup} -> ok
    after ?T -> ct:fail(no_spawn_reply)
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
