%% @doc The Common Test harness of otpc: starts real BEAM nodes (OTP's
%% `peer') and real OS processes of our own programs, waits for them to be
%% ready by protocol (a line they print, a node that answers), never by
%% sleeping, and cleans every one of them up, also when a test fails.
%%
%% Call cleanup/0 from end_per_testcase/2 (and end_per_suite/1): it stops
%% whatever the test started and did not stop itself.
-module(otpc_test_lib).

-export([build_dir/0, executable/1,
         start_peer/1, start_peer/2, stop_peer/1,
         start_program/2, start_program/3, wait_line/3, stop_program/1,
         program_os_pid/1, host/0, start_cnode/2, start_cnode/3, stop_cnode/1,
         open_port_program/1, open_port_program/2, port_call/2, port_call/3,
         close_port_program/1,
         cleanup/0, os_pid_alive/1]).

-define(REAPER, otpc_test_reaper).
-define(STOP_TIMEOUT, 5000).

%%% Paths ---------------------------------------------------------------

%% @doc The build directory of the C parts: $OTPC_BUILD, set by mk/ct.sh
%% (build/ or build/asan/).
build_dir() ->
    case os:getenv("OTPC_BUILD") of
        false -> error({otpc_build_unset, "OTPC_BUILD is not set: run the suites with `make test`"});
        Dir -> Dir
    end.

%% @doc The path of one of our programs in the build directory (or an
%% absolute path as given); fails with a message naming the path when it is
%% missing.
executable("/" ++ _ = Path) ->
    case filelib:is_regular(Path) of
        true -> Path;
        false -> error({missing_program, Path})
    end;
executable(Name) ->
    Path = filename:join([build_dir(), "bin", Name]),
    case filelib:is_regular(Path) of
        true -> Path;
        false -> error({missing_program, Path, "build it with `make`"})
    end.

%%% BEAM nodes ----------------------------------------------------------

%% @doc Starts a real Erlang node with a unique short name derived from
%% Prefix. Returns {ok, Peer, Node}; the node is up and connected when this
%% returns (peer waits for its boot by protocol).
start_peer(Prefix) ->
    start_peer(Prefix, []).

start_peer(Prefix, Args) ->
    Name = list_to_atom(lists:flatten(io_lib:format("~s_~b", [Prefix, erlang:unique_integer([positive])]))),
    {ok, Peer, Node} = peer:start(#{name => Name, args => Args, wait_boot => 30000}),
    track({peer, Peer}),
    {ok, Peer, Node}.

stop_peer(Peer) ->
    untrack({peer, Peer}),
    catch peer:stop(Peer),
    ok.

%%% OS programs printing lines ------------------------------------------

%% @doc Starts one of our programs with Args. Opts:
%%   ready => Regex   wait until a line of its output matches (the ready
%%                    line), returning {ok, Handle, Line}
%%   timeout => Ms    how long to wait for it (default 30000)
%%   env => [{K, V}]  extra environment
%% Without `ready', returns {ok, Handle} at once.
start_program(Name, Args) ->
    start_program(Name, Args, #{}).

start_program(Name, Args, Opts) ->
    Path = executable(Name),
    Parent = self(),
    Keeper = spawn(fun() -> keeper_init(Parent, Path, Args, maps:get(env, Opts, [])) end),
    MRef = monitor(process, Keeper),
    receive
        {Keeper, started, OsPid} ->
            demonitor(MRef, [flush]),
            Handle = #{keeper => Keeper, os_pid => OsPid, name => Name},
            track({program, Handle}),
            case maps:find(ready, Opts) of
                error ->
                    {ok, Handle};
                {ok, Re} ->
                    case wait_line(Handle, Re, maps:get(timeout, Opts, 30000)) of
                        {ok, Line} ->
                            {ok, Handle, Line};
                        Error ->
                            stop_program(Handle),
                            Error
                    end
            end;
        {'DOWN', MRef, process, Keeper, Reason} ->
            {error, {cannot_start, Path, Reason}}
    end.

%% @doc Waits for the next output line that matches Regex (lines before it
%% are consumed). Returns {ok, Line}, or {error, {exited, Status, Lines}}
%% when the program ends first, or {error, {timeout, Regex, Lines}} with the
%% lines seen so far.
wait_line(#{keeper := Keeper}, Regex, Timeout) ->
    Ref = make_ref(),
    Keeper ! {wait_line, self(), Ref, Regex},
    receive
        {Ref, Result} -> Result
    after Timeout ->
        Keeper ! {cancel, Ref},
        {error, {timeout, Regex, recent_lines(Keeper)}}
    end.

program_os_pid(#{os_pid := OsPid}) -> OsPid.

%% @doc The host part of this node's name.
host() ->
    [_, Host] = string:split(atom_to_list(node()), "@"),
    Host.

%% @doc Starts the reference C node (otpc-node) under a fresh short name
%% Prefix ++ N, with this node's cookie unless Opts has `cookie', extra
%% command-line Args and Opts as start_program/3 takes them (env, timeout).
%% Waits for its ready line and returns {Handle, Node}.
start_cnode(Prefix, Args) ->
    start_cnode(Prefix, Args, #{}).

start_cnode(Prefix, Args, Opts) ->
    Name = Prefix ++ integer_to_list(erlang:unique_integer([positive])),
    Cookie = maps:get(cookie, Opts, atom_to_list(erlang:get_cookie())),
    {ok, H, <<"ready ", N/binary>>} =
        start_program("otpc-node", ["--sname", Name, "--cookie", Cookie | Args],
                      maps:put(ready, "^ready ", maps:remove(cookie, Opts))),
    Node = binary_to_atom(N, utf8),
    Node = list_to_atom(Name ++ "@" ++ host()),
    {H, Node}.

%% @doc Stops a C node with SIGTERM and requires a clean exit (status 0).
stop_cnode(H) ->
    {exit_status, 0} = stop_program(H),
    ok.

%% @doc Stops a program with SIGTERM, then SIGKILL if it has not exited
%% within 5 s. Returns {exit_status, N} or {killed, Lines}.
stop_program(#{keeper := Keeper} = Handle) ->
    untrack({program, Handle}),
    Ref = make_ref(),
    MRef = monitor(process, Keeper),
    Keeper ! {stop, self(), Ref},
    receive
        {Ref, Result} -> demonitor(MRef, [flush]), Result;
        {'DOWN', MRef, process, Keeper, _} -> {exit_status, unknown}
    end.

keeper_init(Parent, Path, Args, Env) ->
    Port = open_port({spawn_executable, Path},
                     [{args, Args}, {env, Env}, {line, 65536}, exit_status,
                      stderr_to_stdout, binary]),
    {os_pid, OsPid} = erlang:port_info(Port, os_pid),
    Parent ! {self(), started, OsPid},
    keeper_loop(#{port => Port, os_pid => OsPid, name => filename:basename(Path),
                  lines => [], seen => [],
                  partial => <<>>, waiter => none, status => running}).

keeper_loop(#{port := Port} = S) ->
    receive
        {Port, {data, {noeol, Part}}} ->
            keeper_loop(S#{partial := <<(maps:get(partial, S))/binary, Part/binary>>});
        {Port, {data, {eol, Part}}} ->
            Line = <<(maps:get(partial, S))/binary, Part/binary>>,
            ct:log("~s: ~ts", [maps:get(name, S), Line]),
            keeper_loop(match_waiter(S#{partial := <<>>,
                                        lines := maps:get(lines, S) ++ [Line],
                                        seen := lists:sublist([Line | maps:get(seen, S)], 50)}));
        {Port, {exit_status, Status}} ->
            S1 = S#{status := {exited, Status}},
            keeper_loop(fail_waiter(S1));
        {wait_line, From, Ref, Regex} ->
            keeper_loop(match_waiter(fail_waiter(S#{waiter := {From, Ref, Regex}})));
        {cancel, Ref} ->
            case maps:get(waiter, S) of
                {_, Ref, _} -> keeper_loop(S#{waiter := none});
                _ -> keeper_loop(S)
            end;
        {recent, From, Ref} ->
            From ! {Ref, lists:reverse(maps:get(seen, S))},
            keeper_loop(S);
        {stop, From, Ref} ->
            From ! {Ref, keeper_stop(S)}
    end.

match_waiter(#{waiter := {From, Ref, Regex}, lines := Lines} = S) ->
    case lists:splitwith(fun(L) -> re:run(L, Regex) =:= nomatch end, Lines) of
        {_, [Match | Rest]} ->
            From ! {Ref, {ok, Match}},
            S#{waiter := none, lines := Rest};
        {_, []} ->
            S#{lines := []}
    end;
match_waiter(S) ->
    S.

fail_waiter(#{waiter := {From, Ref, _}, status := {exited, Status}, seen := Seen} = S) ->
    From ! {Ref, {error, {exited, Status, lists:reverse(Seen)}}},
    S#{waiter := none};
fail_waiter(S) ->
    S.

keeper_stop(#{status := {exited, Status}}) ->
    {exit_status, Status};
keeper_stop(#{port := Port, os_pid := OsPid} = S) ->
    os:cmd("kill -TERM " ++ integer_to_list(OsPid)),
    receive
        {Port, {exit_status, Status}} -> {exit_status, Status}
    after ?STOP_TIMEOUT ->
        os:cmd("kill -KILL " ++ integer_to_list(OsPid)),
        receive
            {Port, {exit_status, _}} -> {killed, lists:reverse(maps:get(seen, S))}
        after ?STOP_TIMEOUT ->
            {killed, lists:reverse(maps:get(seen, S))}
        end
    end.

recent_lines(Keeper) ->
    Ref = make_ref(),
    Keeper ! {recent, self(), Ref},
    receive {Ref, Lines} -> Lines after 1000 -> [] end.

%%% Port programs ({packet, 4}, external terms) -------------------------

%% @doc Opens one of our port programs ({packet, 4}, terms both ways) owned
%% by the caller.
open_port_program(Name) ->
    open_port_program(Name, []).

open_port_program(Name, Args) ->
    Port = open_port({spawn_executable, executable(Name)},
                     [{args, Args}, {packet, 4}, binary, exit_status, use_stdio]),
    {os_pid, OsPid} = erlang:port_info(Port, os_pid),
    track({port, Port, OsPid}),
    Port.

%% @doc Sends a request term and waits for the reply term.
port_call(Port, Request) ->
    port_call(Port, Request, 30000).

port_call(Port, Request, Timeout) ->
    true = port_command(Port, term_to_binary(Request)),
    receive
        {Port, {data, Reply}} -> binary_to_term(Reply);
        {Port, {exit_status, Status}} -> error({port_program_exited, Status, Request})
    after Timeout ->
        error({port_program_timeout, Request})
    end.

%% @doc Closes the port: the program sees the end of its input and exits.
close_port_program(Port) ->
    {os_pid, OsPid} = erlang:port_info(Port, os_pid),
    untrack({port, Port, OsPid}),
    port_close(Port),
    ok.

%%% Cleanup --------------------------------------------------------------

%% @doc Stops everything the calling test started and did not stop.
cleanup() ->
    case whereis(?REAPER) of
        undefined -> ok;
        Reaper ->
            Ref = make_ref(),
            Reaper ! {take_all, self(), Ref},
            Items = receive {Ref, L} -> L after 5000 -> [] end,
            lists:foreach(fun stop_item/1, Items)
    end.

stop_item({peer, Peer}) -> catch peer:stop(Peer);
stop_item({program, Handle}) -> catch stop_program(Handle);
stop_item({port, Port, OsPid}) ->
    catch port_close(Port),
    os:cmd("kill -KILL " ++ integer_to_list(OsPid)).

%% @doc Whether an OS process exists (and is not a zombie).
os_pid_alive(OsPid) ->
    case file:read_file("/proc/" ++ integer_to_list(OsPid) ++ "/stat") of
        {ok, Stat} ->
            [_, Rest] = binary:split(Stat, <<") ">>),
            binary:first(Rest) =/= $Z;
        {error, _} ->
            false
    end.

track(Item) ->
    reaper() ! {add, Item},
    ok.

untrack(Item) ->
    reaper() ! {remove, Item},
    ok.

reaper() ->
    case whereis(?REAPER) of
        undefined ->
            Pid = spawn(fun() -> reaper_loop([]) end),
            try register(?REAPER, Pid) of
                true -> Pid
            catch error:badarg ->
                exit(Pid, kill),
                whereis(?REAPER)
            end;
        Pid ->
            Pid
    end.

reaper_loop(Items) ->
    receive
        {add, Item} -> reaper_loop([Item | Items]);
        {remove, Item} -> reaper_loop(Items -- [Item]);
        {take_all, From, Ref} -> From ! {Ref, Items}, reaper_loop([])
    end.
