%% @doc pg (and global, see docs/services.md) with otpc-node in a cluster of
%% three BEAM peers plus the CT node, connected as a user would (each peer
%% pings the others and the C node). The C side is driven through
%% otpc-node's `ctl' process (cnode/tools/pg_ctl.c). kill_restart runs the
%% same scenario twice, once with the C node and once with a BEAM node in
%% its place, and compares what every node observes.
-module(pg_global_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, end_per_testcase/2]).
-export([members_seen_everywhere/1, c_sees_beam_members/1,
         c_member_death/1, join_twice_leave_once/1, broadcast_both_ways/1,
         named_scope/1, not_joined_and_bad_pid/1, kill_restart_same_as_beam/1,
         global_sync_returns/1, global_names/1, global_c_node_lost/1,
         global_beam_node_lost/1, global_mesh_same_as_beam/1,
         global_via_unusable/1, global_c_node_restart/1]).
%% Run on peers.
-export([member/3]).

-define(T, 20000).
%% The default scope runs only where kernel's start_pg is true.
-define(PEER_ARGS, ["-kernel", "start_pg", "true"]).

all() ->
    [members_seen_everywhere, c_sees_beam_members, c_member_death,
     join_twice_leave_once, broadcast_both_ways, named_scope,
     not_joined_and_bad_pid, kill_restart_same_as_beam,
     global_sync_returns, global_names, global_c_node_lost,
     global_beam_node_lost, global_mesh_same_as_beam,
     global_via_unusable, global_c_node_restart].

init_per_suite(Config) ->
    case is_alive() of
        true ->
            %% The CT node is a member of the cluster: it runs the default
            %% scope, as the peers do (kernel's start_pg).
            case whereis(pg) of
                undefined -> {ok, _} = pg:start(pg);
                _ -> ok
            end,
            Config;
        false -> {skip, "the CT node is not distributed"}
    end.

end_per_suite(_Config) ->
    otpc_test_lib:cleanup().

end_per_testcase(_Case, _Config) ->
    otpc_test_lib:cleanup().

%%% The cluster -----------------------------------------------------------

load_me(Node) ->
    {Mod, Bin, File} = code:get_object_code(?MODULE),
    {module, Mod} = erpc:call(Node, code, load_binary, [Mod, File, Bin]),
    ok.

%% X is the node under test: {c, Handle, Node} or {beam, Peer, Node}.
start_x(c) ->
    {H, N} = otpc_test_lib:start_cnode("pgc", []),
    {c, H, N};
start_x(beam) ->
    {ok, P, N} = otpc_test_lib:start_peer(pgx, ?PEER_ARGS),
    load_me(N),
    {beam, P, N}.

xnode({_, _, N}) -> N;
xnode(N) when is_atom(N) -> N.

start_peers(K) ->
    [begin
         {ok, P, N} = otpc_test_lib:start_peer(pgp, ?PEER_ARGS),
         load_me(N),
         {P, N}
     end || _ <- lists:seq(1, K)].

%% Every peer pings every other node, as a user connecting a cluster would.
%% Only BEAM nodes ping (the C node has no net_adm): it is pinged by them.
connect(Nodes) ->
    [pong = erpc:call(A, net_adm, ping, [B]) || A <- Nodes, B <- Nodes, A =/= B,
                                                not is_c(A)],
    ok.

is_c(Node) -> lists:prefix("pgc", atom_to_list(Node)).

cluster(Kind) ->
    X = start_x(Kind),
    Peers = start_peers(3),
    PNodes = [N || {_, N} <- Peers],
    ok = connect(PNodes ++ [xnode(X)]),
    %% Let global settle its connect sessions, as an application would
    %% before registering names (a BEAM node in X's place is synced too).
    [ok = sync_on(N) || N <- PNodes],
    {X, Peers}.

%%% Driving members -------------------------------------------------------

ctl(Node, Req) ->
    {ctl, Node} ! list_to_tuple([self() | tuple_to_list(Req)]),
    receive {ctl, R} -> R
    after ?T -> ct:fail({no_ctl_reply, Node, Req})
    end.

%% A member on a BEAM node: joins Group in Scope and forwards messages.
member(Scope, Group, To) ->
    Pid = spawn(fun() ->
                        receive go -> ok end,
                        member_loop(To)
                end),
    ok = pg:join(Scope, Group, Pid),
    Pid ! go,
    Pid.

member_loop(To) ->
    receive M -> To ! {pg_member, self(), M}, member_loop(To) end.

%% A new member of Group on X or on a BEAM node.
new_member({c, _, N}, Scope, Group) ->
    {pg_member, Pid} = ctl(N, {pg_member, Scope, Group}),
    Pid;
new_member({beam, _, N}, Scope, Group) ->
    new_member(N, Scope, Group);
new_member(N, Scope, Group) when is_atom(N) ->
    erpc:call(N, ?MODULE, member, [Scope, Group, self()]).

%% The sorted members of Group as the node sees them.
view({c, _, N}, Scope, Group) -> view(N, Scope, Group);
view({beam, _, N}, Scope, Group) -> view(N, Scope, Group);
view(N, Scope, Group) ->
    case is_c(N) of
        true ->
            {pg_members, All, _} = ctl(N, {pg_members, Scope, Group}),
            lists:sort(All);
        false ->
            lists:sort(erpc:call(N, pg, get_members, [Scope, Group]))
    end.

%% Waits until Pred holds of the node's view. Each round is a round trip to
%% the node (erpc or ctl), so the loop is paced by messages, and bounded.
await(Viewer, Scope, Group, Pred) ->
    await(Viewer, Scope, Group, Pred, erlang:monotonic_time(millisecond) + ?T).

await(Viewer, Scope, Group, Pred, Deadline) ->
    V = view(Viewer, Scope, Group),
    case Pred(V) of
        true -> V;
        false ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> ct:fail({view_never_settled, Viewer, Group, V});
                false -> await(Viewer, Scope, Group, Pred, Deadline)
            end
    end.

await_all(Viewers, Scope, Group, Expected) ->
    E = lists:sort(Expected),
    [E = await(V, Scope, Group, fun(L) -> L =:= E end) || V <- Viewers],
    ok.

%%% Cases -----------------------------------------------------------------

%% C members and BEAM members of one group are seen by every node,
%% pg:get_members/1 included (default scope).
members_seen_everywhere(_Config) ->
    {X, Peers} = cluster(c),
    PNodes = [N || {_, N} <- Peers],
    C1 = new_member(X, pg, g1),
    C2 = new_member(X, pg, g1),
    Bs = [new_member(N, pg, g1) || N <- PNodes],
    All = [C1, C2 | Bs],
    ok = await_all([X, node() | PNodes], pg, g1, All),
    %% pg:get_members/1 and which_groups on a BEAM node, through the
    %% default scope.
    true = lists:sort(erpc:call(hd(PNodes), pg, get_members, [g1])) =:= lists:sort(All),
    true = lists:member(g1, erpc:call(hd(PNodes), pg, which_groups, [])),
    %% The local members each side reports are its own only.
    {pg_members, _, CLocal} = ctl(xnode(X), {pg_members, pg, g1}),
    true = lists:sort(CLocal) =:= lists:sort([C1, C2]),
    [B1 | _] = Bs,
    [B1] = erpc:call(node(B1), pg, get_local_members, [g1]),
    ok.

%% The C side sees groups and members that only BEAM nodes have.
c_sees_beam_members(_Config) ->
    {X, Peers} = cluster(c),
    PNodes = [N || {_, N} <- Peers],
    Bs = [new_member(N, pg, {beam_only, 1}) || N <- PNodes],
    ok = await_all([X], pg, {beam_only, 1}, Bs),
    {pg_groups, Groups} = ctl(xnode(X), {pg_groups, pg}),
    true = lists:member({beam_only, 1}, Groups),
    {pg_members, _, []} = ctl(xnode(X), {pg_members, pg, {beam_only, 1}}),
    ok.

%% A C member that dies leaves everywhere; the other C member stays.
c_member_death(_Config) ->
    {X, Peers} = cluster(c),
    PNodes = [N || {_, N} <- Peers],
    C1 = new_member(X, pg, g2),
    C2 = new_member(X, pg, g2),
    B = new_member(hd(PNodes), pg, g2),
    ok = await_all([X, node() | PNodes], pg, g2, [C1, C2, B]),
    MRef = monitor(process, C1),
    exit(C1, kill),
    receive {'DOWN', MRef, process, C1, killed} -> ok
    after ?T -> ct:fail(c_member_not_killed)
    end,
    ok = await_all([X, node() | PNodes], pg, g2, [C2, B]),
    %% A BEAM member's death leaves the C view too.
    exit(B, kill),
    ok = await_all([X, node() | PNodes], pg, g2, [C2]),
    ok.

%% Joining twice shows the pid twice everywhere; one leave removes one.
join_twice_leave_once(_Config) ->
    {X, Peers} = cluster(c),
    PNodes = [N || {_, N} <- Peers],
    XN = xnode(X),
    C = new_member(X, pg, g3),
    {pg_join, 0} = ctl(XN, {pg_join, pg, g3, C}),
    {pg_join, 0} = ctl(XN, {pg_join, pg, other, C}),
    ok = await_all([X, node() | PNodes], pg, g3, [C, C]),
    ok = await_all([X, node() | PNodes], pg, other, [C]),
    {pg_leave, 0} = ctl(XN, {pg_leave, pg, g3, C}),
    ok = await_all([X, node() | PNodes], pg, g3, [C]),
    %% Death after several joins: every membership goes.
    {pg_join, 0} = ctl(XN, {pg_join, pg, g3, C}),
    ok = await_all([node()], pg, g3, [C, C]),
    exit(C, kill),
    ok = await_all([X, node() | PNodes], pg, g3, []),
    ok = await_all([X, node() | PNodes], pg, other, []),
    false = lists:member(g3, erpc:call(hd(PNodes), pg, which_groups, [])),
    ok.

%% A broadcast from a BEAM node to a group reaches C members; a broadcast
%% from C reaches BEAM members.
broadcast_both_ways(_Config) ->
    {X, Peers} = cluster(c),
    PNodes = [P1 | _] = [N || {_, N} <- Peers],
    C1 = new_member(X, pg, bc),
    C2 = new_member(X, pg, bc),
    B = new_member(P1, pg, bc),
    ok = await_all([X, node() | PNodes], pg, bc, [C1, C2, B]),
    erpc:call(lists:last(PNodes),
              fun() -> [P ! {hello, from_beam} || P <- pg:get_members(bc)], ok end),
    [receive {pg_member, P, {hello, from_beam}} -> ok
     after ?T -> ct:fail({no_broadcast_at, P})
     end || P <- [C1, C2, B]],
    {pg_send, 3} = ctl(xnode(X), {pg_send, pg, bc, {hello, from_c}}),
    [receive {pg_member, P, {hello, from_c}} -> ok
     after ?T -> ct:fail({no_c_broadcast_at, P})
     end || P <- [C1, C2, B]],
    ok.

%% A named scope started on request is separate from the default one.
named_scope(_Config) ->
    {X, Peers} = cluster(c),
    PNodes = [N || {_, N} <- Peers],
    [{ok, _} = erpc:call(N, pg, start, [myscope]) || N <- PNodes],
    {pg_start, 0} = ctl(xnode(X), {pg_start, myscope}),
    {pg_start, -1} = ctl(xnode(X), {pg_start, myscope}),
    C = new_member(X, myscope, g),
    B = new_member(hd(PNodes), myscope, g),
    ok = await_all([X | PNodes], myscope, g, [C, B]),
    [] = erpc:call(hd(PNodes), pg, get_members, [g]),
    {pg_members, [], []} = ctl(xnode(X), {pg_members, pg, g}),
    ok.

%% Errors: leave without join is not_joined (OTPC_ENOTFOUND, -10); a
%% remote pid cannot join from C (OTPC_EINVAL, -1); an unknown scope is
%% OTPC_ENOTFOUND.
not_joined_and_bad_pid(_Config) ->
    X = start_x(c),
    XN = xnode(X),
    pong = net_adm:ping(XN),
    C = new_member(X, pg, g),
    {pg_leave, -10} = ctl(XN, {pg_leave, pg, nope, C}),
    {pg_join, -1} = ctl(XN, {pg_join, pg, g, self()}),
    {pg_join, -10} = ctl(XN, {pg_join, no_such_scope, g, C}),
    ok.

%%% Kill and restart, C node vs BEAM node ---------------------------------

%% The same scenario with the C node and with a BEAM node as X: one peer
%% is killed (SIGKILL) and restarted under the same name. What each node
%% sees at each phase, with pids replaced by the role of their node, must
%% be the same in both runs, and what pg gives on a pure BEAM cluster.
kill_restart_same_as_beam(_Config) ->
    ObsC = kill_restart(c),
    otpc_test_lib:cleanup(),
    ObsB = kill_restart(beam),
    ct:pal("C node: ~p~nBEAM node: ~p", [ObsC, ObsB]),
    ObsB = ObsC,
    ok.

kill_restart(Kind) ->
    {X, Peers} = cluster(Kind),
    [_, _, {P3, N3}] = Peers,
    PNodes = [N1, N2, N3] = [N || {_, N} <- Peers],
    XN = xnode(X),
    Cx1 = new_member(X, pg, kr),
    Cx2 = new_member(X, pg, kr),
    ok = join_again(X, kr, Cx1),
    Bs = [new_member(N, pg, kr) || N <- PNodes],
    Full = [Cx1, Cx1, Cx2 | Bs],
    ok = await_all([X, node() | PNodes], pg, kr, Full),
    Roles0 = #{XN => x, N1 => p1, N2 => p2, N3 => p3, node() => ct},
    yes = erpc:call(N1, global, register_name, [x_name, Cx2]),
    yes = erpc:call(N2, global, register_name, [p3_name, lists:last(Bs)]),
    Obs1 = observe(up, [X, node(), N1, N2, N3], Roles0, N1),
    %% Kill the third peer's OS process: its node is lost, not stopped.
    OsPid = erpc:call(N3, os, getpid, []),
    MRef = monitor(process, P3),
    _ = os:cmd("kill -9 " ++ OsPid),
    receive {'DOWN', MRef, process, P3, _} -> ok
    after ?T -> ct:fail(peer_not_killed)
    end,
    NoP3 = fun(V) -> not lists:any(fun(P) -> node(P) =:= N3 end, V) end,
    [await(V, pg, kr, NoP3) || V <- [X, node(), N1, N2]],
    [ok = await_where(xnode(V), p3_name, N1, undefined) || V <- [X, node(), N1, N2]],
    [ok = sync_on(N) || N <- beam_nodes([X, N1, N2])],
    Obs2 = observe(killed, [X, node(), N1, N2], Roles0, N1),
    %% Restart it under the same name and let it connect as a user would.
    [Name3, _] = string:split(atom_to_list(N3), "@"),
    {ok, P3b, N3} = peer:start(#{name => list_to_atom(Name3), args => ?PEER_ARGS,
                                  wait_boot => 30000}),
    try
        load_me(N3),
        [pong = erpc:call(N3, net_adm, ping, [N]) || N <- [N1, N2, XN]],
        B3 = new_member(N3, pg, kr),
        Old = lists:last(Bs),
        HasNew = fun(V) -> lists:member(B3, V) end,
        [await(V, pg, kr, HasNew) || V <- [X, node(), N1, N2, N3]],
        [ok = sync_on(N) || N <- beam_nodes([X, N1, N2, N3])],
        yes = erpc:call(N3, global, register_name, [p3_name, B3]),
        Roles1 = Roles0#{Old => p3_old},
        Obs3 = observe(restarted, [X, node(), N1, N2, N3], Roles1, N1),
        [Obs1, Obs2, Obs3]
    after
        catch peer:stop(P3b)
    end.

join_again({c, _, N}, Group, Pid) ->
    {pg_join, 0} = ctl(N, {pg_join, pg, Group, Pid}),
    ok;
join_again({beam, _, N}, Group, Pid) ->
    erpc:call(N, pg, join, [pg, Group, Pid]).

beam_nodes(Xs) ->
    [N || N <- [xnode(X) || X <- Xs], not is_c(N)].

%% {Phase, Viewer role, the roles of the members it sees, sorted, and where
%% it finds the global names x_name and p3_name}. A pid of the killed
%% incarnation is p3_old, told apart from the new one. The C node looks
%% names up through Via.
observe(Phase, Viewers, Roles, Via) ->
    [begin
         V = view(Viewer, pg, kr),
         Names = [case where(xnode(Viewer), Name, Via) of
                      undefined -> undefined;
                      P -> role_of_pid(P, Roles)
                  end || Name <- [x_name, p3_name]],
         {Phase, role(Viewer, Roles), lists:sort([role_of_pid(P, Roles) || P <- V]), Names}
     end || Viewer <- Viewers].

role({_, _, N}, Roles) -> maps:get(N, Roles);
role(N, Roles) -> maps:get(N, Roles).

role_of_pid(P, Roles) ->
    case maps:find(P, Roles) of
        {ok, R} -> R;
        error -> maps:get(node(P), Roles)
    end.

%%% global ------------------------------------------------------------------

%% global:sync() on a node, bounded: a hang is a failure, not a stuck run.
sync_on(Node) ->
    Self = self(),
    Ref = make_ref(),
    spawn(fun() -> Self ! {Ref, catch erpc:call(Node, global, sync, [], ?T)} end),
    receive {Ref, R} -> R
    after ?T + 1000 -> ct:fail({global_sync_hangs, Node})
    end.

%% global:whereis_name as a node sees it: a BEAM node directly, the C node
%% through its ctl, asking the BEAM node Via.
where(Viewer, Name, Via) ->
    case is_c(Viewer) of
        true ->
            {global_whereis, ok, R} = ctl(Viewer, {global_whereis, Via, Name}),
            R;
        false ->
            erpc:call(Viewer, global, whereis_name, [Name])
    end.

await_where(Viewer, Name, Via, Expected) ->
    await_where(Viewer, Name, Via, Expected, erlang:monotonic_time(millisecond) + ?T).

await_where(Viewer, Name, Via, Expected, Deadline) ->
    case where(Viewer, Name, Via) of
        Expected -> ok;
        Other ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> ct:fail({global_name_never_settled, Viewer, Name, Other, Expected});
                false -> await_where(Viewer, Name, Via, Expected, Deadline)
            end
    end.

%% With the C node visible in the cluster, global:sync() returns on every
%% BEAM node (it hangs for a visible node that does not answer global).
global_sync_returns(_Config) ->
    {X, Peers} = cluster(c),
    PNodes = [N || {_, N} <- Peers],
    XN = xnode(X),
    [ok = sync_on(N) || N <- PNodes],
    [true = lists:member(XN, erpc:call(N, erlang, nodes, [])) || N <- PNodes],
    ok.

%% A C pid registered from Erlang is seen everywhere, the C side included;
%% a C process registers a name, seen everywhere; a clash is `no' as in
%% global; unregister from C.
global_names(_Config) ->
    {X, Peers} = cluster(c),
    PNodes = [P1, P2, P3] = [N || {_, N} <- Peers],
    XN = xnode(X),
    [ok = sync_on(N) || N <- PNodes],
    C1 = new_member(X, pg, holder),
    C2 = new_member(X, pg, holder),
    yes = erpc:call(P1, global, register_name, [{c_name, 1}, C1]),
    [C1 = where(V, {c_name, 1}, P2) || V <- [XN, node() | PNodes]],
    {global_register, ok, yes} = ctl(XN, {global_register, P3, c_name_2, C2}),
    [C2 = where(V, c_name_2, P1) || V <- [XN, node() | PNodes]],
    {global_register, ok, no} = ctl(XN, {global_register, P1, c_name_2, C1}),
    C2 = where(node(), c_name_2, P1),
    %% A BEAM process's name, looked up from C.
    B = new_member(P2, pg, holder),
    yes = erpc:call(P2, global, register_name, [beam_name, B]),
    B = where(XN, beam_name, P3),
    {global_unregister, ok, _} = ctl(XN, {global_unregister, P1, c_name_2}),
    [undefined = where(V, c_name_2, P1) || V <- [XN, node() | PNodes]],
    %% A registered C process that dies loses its name everywhere.
    exit(C1, kill),
    [ok = await_where(V, {c_name, 1}, P1, undefined) || V <- [XN, node() | PNodes]],
    ok.

%% The C node is lost (SIGKILL): the names of its processes disappear on
%% every BEAM node, and global:sync() still returns there.
global_c_node_lost(_Config) ->
    {X = {c, H, XN}, Peers} = cluster(c),
    PNodes = [P1 | _] = [N || {_, N} <- Peers],
    C = new_member(X, pg, holder),
    yes = erpc:call(P1, global, register_name, [lost_c, C]),
    [C = where(V, lost_c, P1) || V <- [node() | PNodes]],
    _ = os:cmd("kill -9 " ++ integer_to_list(otpc_test_lib:program_os_pid(H))),
    [ok = await_where(V, lost_c, P1, undefined) || V <- [node() | PNodes]],
    [ok = sync_on(N) || N <- PNodes],
    [false = lists:member(XN, erpc:call(N, erlang, nodes, [])) || N <- PNodes],
    ok.

%% A BEAM node is lost: its names disappear for the C side too.
global_beam_node_lost(_Config) ->
    {X, Peers} = cluster(c),
    [{_, P1}, _, {Peer3, P3}] = Peers,
    XN = xnode(X),
    B = new_member(P3, pg, holder),
    yes = erpc:call(P3, global, register_name, [lost_beam, B]),
    B = where(XN, lost_beam, P1),
    MRef = monitor(process, Peer3),
    _ = os:cmd("kill -9 " ++ erpc:call(P3, os, getpid, [])),
    receive {'DOWN', MRef, process, Peer3, _} -> ok
    after ?T -> ct:fail(peer_not_killed)
    end,
    ok = await_where(XN, lost_beam, P1, undefined),
    ok = sync_on(P1),
    ok.

%% Global meshes a cluster: when one peer of a connected group connects to
%% X, the others end up connected to X too. Same with the C node as X as
%% with a BEAM node.
global_mesh_same_as_beam(_Config) ->
    ok = mesh(c),
    otpc_test_lib:cleanup(),
    ok = mesh(beam).

mesh(Kind) ->
    X = start_x(Kind),
    XN = xnode(X),
    PNodes = [P1 | Others] = [N || {_, N} <- start_peers(3)],
    ok = connect(PNodes),
    [ok = sync_on(N) || N <- PNodes],
    pong = erpc:call(P1, net_adm, ping, [XN]),
    [ok = await_connected(N, XN, erlang:monotonic_time(millisecond) + ?T) || N <- Others],
    [ok = sync_on(N) || N <- PNodes],
    ok.

%% Round trips to N until it lists X in nodes(), bounded.
await_connected(N, X, Deadline) ->
    case lists:member(X, erpc:call(N, erlang, nodes, [])) of
        true -> ok;
        false ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> ct:fail({never_connected, N, X});
                false -> await_connected(N, X, Deadline)
            end
    end.

%% The C side's global calls need a BEAM node to run them (via). One that
%% cannot be reached gives a prompt error, not a wait for the call's
%% timeout (10 s in ctl; ?T is longer); the C node itself as via is
%% refused at once (it holds no name table).
global_via_unusable(_Config) ->
    {H, XN} = otpc_test_lib:start_cnode("pgc", []),
    Nobody = list_to_atom("nobody" ++ integer_to_list(erlang:unique_integer([positive]))
                          ++ "@" ++ otpc_test_lib:host()),
    {global_whereis, St1, _} = ctl(XN, {global_whereis, Nobody, some_name}),
    true = lists:member(St1, [noproc, exit]),
    {global_register, St2, _} = ctl(XN, {global_register, Nobody, some_name, self()}),
    true = lists:member(St2, [noproc, exit]),
    {global_whereis, error, E} = ctl(XN, {global_whereis, XN, some_name}),
    {global_register, error, E} = ctl(XN, {global_register, XN, some_name, self()}),
    true = is_integer(E) andalso E < 0,
    otpc_test_lib:stop_cnode(H).

%% The C node is killed and restarted under the same name: its old names
%% are gone, global:sync() returns on every BEAM node once they have
%% reconnected, and a process of the new incarnation registers a name
%% seen everywhere, as after a BEAM node's restart.
global_c_node_restart(_Config) ->
    {X = {c, H, XN}, Peers} = cluster(c),
    PNodes = [P1, P2 | _] = [N || {_, N} <- Peers],
    C = new_member(X, pg, holder),
    yes = erpc:call(P1, global, register_name, [restart_c, C]),
    [C = where(V, restart_c, P1) || V <- [XN, node() | PNodes]],
    _ = os:cmd("kill -9 " ++ integer_to_list(otpc_test_lib:program_os_pid(H))),
    [ok = await_where(V, restart_c, P1, undefined) || V <- [node() | PNodes]],
    [SName, _] = string:split(atom_to_list(XN), "@"),
    {ok, H2, _} = otpc_test_lib:start_program(
                    "otpc-node", ["--sname", SName, "--cookie",
                                  atom_to_list(erlang:get_cookie())],
                    #{ready => "^ready "}),
    X2 = {c, H2, XN},
    ok = connect(PNodes ++ [XN]),
    [ok = sync_on(N) || N <- PNodes],
    C2 = new_member(X2, pg, holder),
    true = C2 =/= C,
    {global_register, ok, yes} = ctl(XN, {global_register, P2, restart_c, C2}),
    [C2 = where(V, restart_c, P1) || V <- [XN, node() | PNodes]],
    otpc_test_lib:stop_cnode(H2).
