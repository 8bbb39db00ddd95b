#!/usr/bin/env escript
%%! -noshell
%% The otpc demo: the reference C node (otpc-node) joins a cluster with a
%% stock Erlang node (this escript, made distributed) and an Elixir node.
%% Both ping it, send to and call its registered C process `echo'; Erlang
%% links to and monitors that C process and kills it; a C process monitors
%% an Erlang node and sees nodedown when that node stops. Every step checks
%% its answer and prints one line; the demo exits 0 only if all agree.
%%
%% Run by mk/demo.sh (`make demo`), which starts a private epmd first.
-mode(compile).

-define(T, 15000).

main([Build]) ->
    Exe = filename:join([Build, "bin", "otpc-node"]),
    filelib:is_regular(Exe) orelse fail("missing ~s: run `make` first", [Exe]),
    Id = integer_to_list(erlang:unique_integer([positive])),
    Cookie = list_to_atom("otpc_demo_" ++ Id),
    {ok, _} = net_kernel:start(list_to_atom("demo_erl_" ++ Id), #{name_domain => shortnames}),
    erlang:set_cookie(Cookie),
    io:format("otpc demo: a C node in a real Erlang/OTP ~s and Elixir cluster~n~n",
              [erlang:system_info(otp_release)]),
    {Port, CNode} = start_cnode(Exe, "otpc_demo_" ++ Id, Cookie),
    step("C node", "otpc-node started and registered with epmd", CNode),
    Results = erlang_part(CNode) ++ elixir_part(CNode, Cookie)
              ++ nodedown_part(CNode, Cookie) ++ kill_part(CNode),
    stop_cnode(Port),
    case lists:all(fun(R) -> R =:= ok end, Results) of
        true ->
            io:format("~notpc demo: all ~b checks agree~n", [length(Results)]),
            halt(0);
        false ->
            io:format("~notpc demo: ~b of ~b checks FAILED~n",
                      [length([R || R <- Results, R =/= ok]), length(Results)]),
            halt(1)
    end.

%% A stock Erlang node talks to the C node.
erlang_part(CNode) ->
    Pong = net_adm:ping(CNode),
    R1 = check("erlang", "net_adm:ping(CNode)", Pong, pong),
    Term = {hello, <<"from Erlang">>, [1.5, self(), make_ref()], #{big => 1 bsl 100}},
    {echo, CNode} ! {self(), Term},
    Echoed = receive {echo, EchoPid, T} when is_pid(EchoPid) -> T after ?T -> timeout end,
    R2 = check("erlang", "{echo, CNode} ! {self(), Term}", Echoed, Term),
    Big = binary:copy(<<"otpc">>, 10 * 1024 * 1024 div 4),
    Reply = gen_server:call({echo, CNode}, {big, Big}, ?T),
    R3 = check("erlang", "gen_server:call({echo, CNode}, {big, <<10 MB>>})",
               Reply =:= {big, Big}, true),
    [R1, R2, R3].

%% An Elixir node does the same, in its own OS process.
elixir_part(CNode, Cookie) ->
    Script = filename:join(filename:dirname(escript:script_name()), "cnode_demo.exs"),
    Name = "demo_ex_" ++ integer_to_list(erlang:unique_integer([positive])),
    Elixir = os:find_executable("elixir"),
    P = open_port({spawn_executable, Elixir},
                  [{args, ["--sname", Name, "--cookie", atom_to_list(Cookie), Script,
                           atom_to_list(CNode)]},
                   {line, 4096}, exit_status, use_stdio, stderr_to_stdout]),
    relay_elixir(P, []).

relay_elixir(P, Acc) ->
    receive
        {P, {data, {eol, Line}}} ->
            io:format("~s~n", [Line]),
            R = case Line of
                    "[elixir] " ++ _ -> case string:find(Line, "FAILED") of
                                            nomatch -> ok;
                                            _ -> failed
                                        end;
                    _ -> none
                end,
            relay_elixir(P, [R || R =/= none] ++ Acc);
        {P, {data, {noeol, Part}}} ->
            io:format("~s", [Part]),
            relay_elixir(P, Acc);
        {P, {exit_status, 0}} when Acc =/= [] ->
            lists:reverse(Acc);
        {P, {exit_status, S}} ->
            io:format("[elixir] the Elixir node exited with status ~b~n", [S]),
            lists:reverse([failed | Acc])
    after 60000 ->
        io:format("[elixir] no answer from the Elixir node in 60 s~n"),
        [failed]
    end.

%% A C process (the node's `ctl' process) monitors a second Erlang node;
%% when that node stops, the C process gets {nodedown, Node}.
nodedown_part(CNode, Cookie) ->
    {ok, Peer, PeerNode} =
        peer:start(#{name => "demo_peer_" ++ integer_to_list(erlang:unique_integer([positive])),
                     args => ["-setcookie", atom_to_list(Cookie)]}),
    {ctl, CNode} ! {self(), monitor_node, PeerNode, true},
    R1 = check("C", "monitor_node(ErlangPeer, true)",
               receive {ctl, monitor_node} -> ok after ?T -> timeout end, ok),
    peer:stop(Peer),
    Got = receive {ctl, {nodedown, _} = Down} -> Down after ?T -> timeout end,
    R2 = check("C", "the Erlang peer stops; the C process receives", Got,
               {nodedown, PeerNode}),
    [R1, R2].

%% Erlang links to and monitors the C process `echo', then kills it.
kill_part(CNode) ->
    {echo, CNode} ! {self(), whoami},
    EchoPid = receive {echo, P, whoami} -> P after ?T -> timeout end,
    process_flag(trap_exit, true),
    true = link(EchoPid),
    Ref = monitor(process, EchoPid),
    step("erlang", "link and monitor the C process echo", EchoPid),
    exit(EchoPid, kill),
    Exit = receive {'EXIT', EchoPid, R1} -> {'EXIT', R1} after ?T -> timeout end,
    Down = receive {'DOWN', Ref, process, EchoPid, R2} -> {'DOWN', R2} after ?T -> timeout end,
    [check("erlang", "exit(EchoPid, kill), then the link gives", Exit, {'EXIT', killed}),
     check("erlang", "and the monitor gives", Down, {'DOWN', killed})].

%%% Helpers ---------------------------------------------------------------

start_cnode(Exe, Name, Cookie) ->
    Port = open_port({spawn_executable, Exe},
                     [{args, ["--sname", Name, "--cookie", atom_to_list(Cookie)]},
                      {line, 4096}, exit_status, use_stdio, stderr_to_stdout]),
    receive
        {Port, {data, {eol, "ready " ++ N}}} -> {Port, list_to_atom(N)};
        {Port, {exit_status, S}} -> fail("otpc-node exited with status ~b before it was ready", [S])
    after ?T -> fail("otpc-node printed no ready line in ~b ms", [?T])
    end.

%% SIGTERM is otpc-node's clean stop; closing its stdin would not stop it.
stop_cnode(Port) ->
    {os_pid, OsPid} = erlang:port_info(Port, os_pid),
    os:cmd("kill -TERM " ++ integer_to_list(OsPid)),
    receive
        {Port, {exit_status, 0}} -> step("C node", "SIGTERM: otpc-node stopped cleanly", 0);
        {Port, {exit_status, S}} -> step("C node", "SIGTERM: otpc-node exit status", S)
    after ?T -> step("C node", "otpc-node did not stop", timeout)
    end.

step(Who, What, Value) ->
    io:format("[~s] ~s: ~0tp~n", [Who, What, Value]).

check(Who, What, Got, Want) when Got =:= Want ->
    io:format("[~s] ~s -> ~0tp~n", [Who, What, Got]),
    ok;
check(Who, What, Got, Want) ->
    io:format("[~s] ~s -> ~0tp FAILED (expected ~0tp)~n", [Who, What, Got, Want]),
    failed.

fail(Fmt, Args) ->
    io:format(standard_error, "otpc demo: " ++ Fmt ++ "~n", Args),
    halt(2).
