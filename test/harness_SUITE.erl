%% @doc The test harness itself: programs are waited for by their ready
%% line, their failures are reported with what they printed, and cleanup/0
%% leaves no OS process and no node behind, also after a failed test.
-module(harness_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, end_per_testcase/2]).
-export([ready_line_is_awaited/1, early_exit_is_reported/1, missing_ready_line_times_out/1,
         cleanup_stops_programs_and_peers/1, stop_program_returns_status/1,
         epmd_is_private/1]).

all() ->
    [ready_line_is_awaited, early_exit_is_reported, missing_ready_line_times_out,
     cleanup_stops_programs_and_peers, stop_program_returns_status, epmd_is_private].

end_per_testcase(_Case, _Config) ->
    otpc_test_lib:cleanup().

sh(Script) ->
    {"/bin/sh", ["-c", Script]}.

ready_line_is_awaited(_Config) ->
    {Sh, Args} = sh("echo starting; echo 'ready node@host'; exec cat"),
    {ok, H, Line} = otpc_test_lib:start_program(Sh, Args, #{ready => "^ready "}),
    <<"ready node@host">> = Line,
    true = otpc_test_lib:os_pid_alive(otpc_test_lib:program_os_pid(H)).

early_exit_is_reported(_Config) ->
    {Sh, Args} = sh("echo 'bad option --x' >&2; exit 2"),
    {error, {exited, 2, Lines}} = otpc_test_lib:start_program(Sh, Args, #{ready => "^ready"}),
    [<<"bad option --x">>] = Lines.

missing_ready_line_times_out(_Config) ->
    {Sh, Args} = sh("echo something else; exec cat"),
    {error, {timeout, _, [<<"something else">>]}} =
        otpc_test_lib:start_program(Sh, Args, #{ready => "^ready", timeout => 500}).

cleanup_stops_programs_and_peers(_Config) ->
    {Sh, Args} = sh("echo ready; exec cat"),
    {ok, H, _} = otpc_test_lib:start_program(Sh, Args, #{ready => "^ready"}),
    OsPid = otpc_test_lib:program_os_pid(H),
    Port = otpc_test_lib:open_port_program("otpc-term"),
    {os_pid, PortOsPid} = erlang:port_info(Port, os_pid),
    {ok, _Peer, Node} = otpc_test_lib:start_peer(harness),
    pong = net_adm:ping(Node),
    ok = net_kernel:monitor_nodes(true),
    otpc_test_lib:cleanup(),
    %% The peer's connection closes as it stops: nodedown, by protocol.
    receive {nodedown, Node} -> ok after 10000 -> ct:fail({still_up, Node}) end,
    false = lists:member(Node, nodes()),
    false = otpc_test_lib:os_pid_alive(OsPid),
    undefined = erlang:port_info(Port),
    ct:log("port program ~b alive after cleanup: ~p", [PortOsPid, otpc_test_lib:os_pid_alive(PortOsPid)]).

stop_program_returns_status(_Config) ->
    {Sh, Args} = sh("trap 'exit 0' TERM; echo ready; while :; do read x || exit 3; done"),
    {ok, H, _} = otpc_test_lib:start_program(Sh, Args, #{ready => "^ready"}),
    {exit_status, Status} = otpc_test_lib:stop_program(H),
    ct:log("status after SIGTERM: ~p", [Status]),
    true = is_integer(Status).

epmd_is_private(_Config) ->
    %% mk/ct.sh runs the suites on an epmd of their own, never the default.
    PortText = os:getenv("ERL_EPMD_PORT"),
    true = is_list(PortText),
    true = list_to_integer(PortText) =/= 4369,
    {ok, Names} = erl_epmd:names(),
    [Short, _Host] = string:split(atom_to_list(node()), "@"),
    true = lists:keymember(Short, 1, Names).
