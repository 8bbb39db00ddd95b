%% @doc A gen_server that owns one port program built on the port toolkit
%% (include/otpc/port.h): it starts the program, waits for its hello,
%% pipelines calls up to the program's window (the rest wait here, so a
%% slow program pushes back on its callers), forwards events under credits
%% (so a fast program cannot flood a mailbox), turns the program's log
%% lines into logger events, and when the program dies answers every caller
%% still waiting with an error naming the signal, then stops so that its
%% supervisor restarts it.
%%
%% Options (a map or a proplist):
%%   name => gen_server name      register the server
%%   packet => 1 | 2 | 4          the frame header (4)
%%   io => stdio | fds            the protocol on fds 0/1 or on fds 3/4 (stdio)
%%   max_frame => Bytes           the largest frame either way (64 MiB)
%%   window => N                  calls in flight at most (the program's)
%%   args => [string()], env => [{Name, Value}]
%%   events => pid()              who receives {otpc_port_event, Server, Term}
%%   event_window => N            events sent ahead of credit/2 (64)
%%   max_queue => N | infinity    calls waiting beyond the window (10000);
%%                                more get {error, overload}
%%   hello_timeout => Ms          how long the program may take to start (10000)
-module(otpc_port).
-behaviour(gen_server).

-export([start_link/2, start/2, child_spec/2, call/2, call/3, cast/2,
         credit/2, info/1, stop/1]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2, terminate/2]).

-include_lib("kernel/include/logger.hrl").

-define(DEFAULT_MAX_FRAME, 64 * 1024 * 1024).

-record(st, {port :: port(),
             os_pid :: integer(),
             path :: string(),
             max_frame :: pos_integer(),
             window :: pos_integer(),
             next_id = 0 :: non_neg_integer(),
             in_flight = #{} :: #{non_neg_integer() => {gen_server:from(), term()}},
             queue = queue:new() :: queue:queue({gen_server:from(), term()}),
             max_queue :: non_neg_integer() | infinity,
             events :: pid() | undefined,
             event_window :: non_neg_integer(),
             dropped = 0 :: non_neg_integer(),
             last_error :: binary() | undefined,
             crashed :: {non_neg_integer(), term()} | undefined}).

-type opts() :: map() | proplists:proplist().
-type server() :: gen_server:server_ref().

%%% API ------------------------------------------------------------------

%% @doc Starts the program at Path, linked to the caller. Returns when the
%% program said hello: {ok, Pid}, or {error, Reason} naming what failed.
-spec start_link(file:filename(), opts()) -> {ok, pid()} | {error, term()}.
start_link(Path, Opts) ->
    start(start_link, Path, to_map(Opts)).

%% @doc As start_link/2, without a link.
-spec start(file:filename(), opts()) -> {ok, pid()} | {error, term()}.
start(Path, Opts) ->
    start(start, Path, to_map(Opts)).

start(How, Path, Opts) ->
    case maps:find(name, Opts) of
        {ok, Name} -> gen_server:How(Name, ?MODULE, {Path, Opts}, []);
        error -> gen_server:How(?MODULE, {Path, Opts}, [])
    end.

%% @doc A supervisor child spec (Opts may carry id => Id).
-spec child_spec(file:filename(), opts()) -> supervisor:child_spec().
child_spec(Path, Opts0) ->
    Opts = to_map(Opts0),
    #{id => maps:get(id, Opts, ?MODULE),
      start => {?MODULE, start_link, [Path, Opts]},
      restart => permanent, shutdown => 5000, type => worker,
      modules => [?MODULE]}.

%% @doc Sends Request to the program and waits for its reply: {ok, Result},
%% or {error, Reason}: timeout, overload, {too_large, Bytes, Max},
%% {bad_request, Why}, {port_crashed, Signal} (the program died of a signal
%% while the call was in flight or waiting), {port_exited, Status},
%% {stopped, Reason}, or the reason the server is not there. A call that
%% timed out may still run in the program; its late reply is dropped.
-spec call(server(), term(), timeout()) -> {ok, term()} | {error, term()}.
call(Server, Request, Timeout) ->
    try
        gen_server:call(Server, {call, Request}, Timeout)
    catch
        exit:{timeout, _} -> {error, timeout};
        exit:{Reason, {gen_server, call, _}} -> {error, Reason}
    end.

call(Server, Request) ->
    call(Server, Request, 5000).

%% @doc Sends Request without waiting for a reply.
-spec cast(server(), term()) -> ok.
cast(Server, Request) ->
    gen_server:cast(Server, {cast, Request}).

%% @doc Lets the program send N more events to the events process.
-spec credit(server(), pos_integer()) -> ok.
credit(Server, N) when is_integer(N), N > 0 ->
    gen_server:cast(Server, {credit, N}).

%% @doc os_pid, in_flight, queued, window, max_frame, events_dropped (for
%% want of an events process).
-spec info(server()) -> map().
info(Server) ->
    gen_server:call(Server, info).

%% @doc Stops the server: the port closes, the program sees the end of its
%% input and exits (killing its children), waiting callers get
%% {error, {stopped, normal}}.
-spec stop(server()) -> ok.
stop(Server) ->
    gen_server:stop(Server).

%%% gen_server -----------------------------------------------------------

init({Path, Opts}) ->
    process_flag(trap_exit, true),
    Packet = maps:get(packet, Opts, 4),
    MaxFrame = min(maps:get(max_frame, Opts, ?DEFAULT_MAX_FRAME), packet_max(Packet)),
    Env = [{"OTPC_PORT_PACKET", integer_to_list(Packet)},
           {"OTPC_PORT_IO", atom_to_list(maps:get(io, Opts, stdio))},
           {"OTPC_PORT_MAX_FRAME", integer_to_list(MaxFrame)}]
        ++ [{"OTPC_PORT_WINDOW", integer_to_list(W)} || {ok, W} <- [maps:find(window, Opts)]]
        ++ maps:get(env, Opts, []),
    Stdio = case maps:get(io, Opts, stdio) of
                fds -> nouse_stdio;
                _ -> use_stdio
            end,
    PortOpts = [{packet, Packet}, binary, exit_status, Stdio, {env, Env},
                {args, maps:get(args, Opts, [])}],
    try open_port({spawn_executable, Path}, PortOpts) of
        Port ->
            {os_pid, OsPid} = erlang:port_info(Port, os_pid),
            await_hello(Port, OsPid, Path, Opts, MaxFrame)
    catch
        error:Why -> {stop, {open_port, Why, Path}}
    end.

await_hello(Port, OsPid, Path, Opts, MaxFrame) ->
    Timeout = maps:get(hello_timeout, Opts, 10000),
    receive
        {Port, {data, Bin}} ->
            case decode(Bin) of
                {ok, {hello, 1, #{window := W, max_frame := M}}} ->
                    Events = maps:get(events, Opts, undefined),
                    is_pid(Events) andalso monitor(process, Events),
                    S = #st{port = Port, os_pid = OsPid, path = Path,
                            max_frame = min(M, MaxFrame), window = W,
                            max_queue = maps:get(max_queue, Opts, 10000),
                            events = Events,
                            event_window = maps:get(event_window, Opts, 64)},
                    grant(S#st.event_window, S),
                    {ok, S};
                Other ->
                    catch port_close(Port),
                    {stop, {bad_hello, Other}}
            end;
        {Port, {exit_status, Status}} ->
            {stop, exit_reason(Status)}
    after Timeout ->
        catch port_close(Port),
        {stop, {no_hello, Path, Timeout}}
    end.

handle_call({call, Request}, From, S) ->
    case map_size(S#st.in_flight) < S#st.window of
        true ->
            {noreply, dispatch(From, Request, S)};
        false ->
            case queue:len(S#st.queue) >= S#st.max_queue of
                true -> {reply, {error, overload}, S};
                false -> {noreply, S#st{queue = queue:in({From, Request}, S#st.queue)}}
            end
    end;
handle_call(info, _From, S) ->
    {reply, #{os_pid => S#st.os_pid, in_flight => map_size(S#st.in_flight),
              queued => queue:len(S#st.queue), window => S#st.window,
              max_frame => S#st.max_frame, events_dropped => S#st.dropped}, S}.

handle_cast({cast, Request}, S) ->
    case send(S, {cast, Request}) of
        ok -> ok;
        {error, Why} -> ?LOG_WARNING("~ts: cast not sent: ~0tp", [S#st.path, Why])
    end,
    {noreply, S};
handle_cast({credit, N}, S) ->
    send(S, {credit, N}),
    {noreply, S}.

handle_info({Port, {data, Bin}}, #st{port = Port} = S) ->
    case decode(Bin) of
        {ok, Msg} ->
            handle_msg(Msg, S);
        {error, Why} ->
            ?LOG_ERROR("~ts: a frame that is not a term: ~0tp", [S#st.path, Why]),
            {stop, {bad_frame, Why}, S}
    end;
handle_info({Port, {exit_status, Status}}, #st{port = Port} = S) ->
    Reason = exit_reason(Status),
    InFlight = [Req || {_, Req} <- maps:values(S#st.in_flight)],
    Level = case Reason of
                {port_exited, 0} -> notice;
                _ -> error
            end,
    ?LOG(Level, #{what => port_program_died, path => S#st.path, os_pid => S#st.os_pid,
                  reason => Reason, in_flight => InFlight,
                  crashed => S#st.crashed, last_error => S#st.last_error}),
    {stop, Reason, fail_all({error, Reason}, S)};
handle_info({'EXIT', Port, Why}, #st{port = Port} = S) ->
    {stop, {port_closed, Why}, fail_all({error, {port_closed, Why}}, S)};
handle_info({'DOWN', _, process, Pid, _}, #st{events = Pid} = S) ->
    %% The credits it held died with it: from now on events are dropped,
    %% and the program gets a window again so that it is not stuck.
    grant(S#st.event_window, S),
    {noreply, S#st{events = undefined}};
handle_info(_Other, S) ->
    {noreply, S}.

terminate(Reason, S) ->
    fail_all({error, {stopped, Reason}}, S),
    catch port_close(S#st.port),
    ok.

%%% Internals ------------------------------------------------------------

handle_msg({reply, Id, Result}, S) ->
    {noreply, finished(Id, {ok, Result}, S)};
handle_msg({event, Term}, #st{events = undefined} = S) ->
    %% Nobody listens: the event is dropped and its credit given back.
    ?LOG_DEBUG("~ts: event dropped: ~0tp", [S#st.path, Term]),
    send(S, {credit, 1}),
    {noreply, S#st{dropped = S#st.dropped + 1}};
handle_msg({event, Term}, #st{events = Pid} = S) ->
    Pid ! {otpc_port_event, self(), Term},
    {noreply, S};
handle_msg({log, Level, Line}, S) ->
    logger:log(log_level(Level), "~ts: ~ts", [filename:basename(S#st.path), Line],
               #{otpc_port => self(), os_pid => S#st.os_pid, domain => [otpc, port]}),
    {noreply, S};
handle_msg({bad_request, Id, Why}, S) when is_map_key(Id, S#st.in_flight) ->
    {noreply, finished(Id, {error, {bad_request, Why}}, S)};
handle_msg({bad_request, Id, Why}, S) ->
    ?LOG_WARNING("~ts: the program refused a frame (~0tp): ~ts", [S#st.path, Id, Why]),
    {noreply, S};
handle_msg({crashed, Signo, Id}, S) ->
    %% Written by the program's signal handler as it dies: which request
    %% its crashing thread was running (undefined: none, or a cast).
    Req = case maps:find(Id, S#st.in_flight) of
              {ok, {_, R}} -> {request, R};
              error -> undefined
          end,
    {noreply, S#st{crashed = {Signo, Req}}};
handle_msg({protocol_error, Why}, S) ->
    ?LOG_ERROR("~ts: protocol error: ~ts", [S#st.path, Why]),
    {noreply, S#st{last_error = Why}};
handle_msg(Other, S) ->
    ?LOG_WARNING("~ts: unexpected message from the program: ~0tp", [S#st.path, Other]),
    {noreply, S}.

finished(Id, Reply, S) ->
    case maps:take(Id, S#st.in_flight) of
        {{From, _Req}, Rest} ->
            gen_server:reply(From, Reply),
            next(S#st{in_flight = Rest});
        error ->
            S
    end.

%% Sends waiting calls while the window has room.
next(S) ->
    case map_size(S#st.in_flight) < S#st.window andalso queue:out(S#st.queue) of
        {{value, {From, Request}}, Q} -> next(dispatch(From, Request, S#st{queue = Q}));
        _ -> S
    end.

dispatch(From, Request, #st{next_id = Id} = S) ->
    case send(S, {call, Id, Request}) of
        ok ->
            S#st{next_id = Id + 1,
                 in_flight = maps:put(Id, {From, Request}, S#st.in_flight)};
        {error, _} = Error ->
            gen_server:reply(From, Error),
            S
    end.

grant(0, _S) -> ok;
grant(N, S) -> send(S, {credit, N}).

send(S, Msg) ->
    Bin = term_to_binary(Msg),
    case byte_size(Bin) =< S#st.max_frame of
        true ->
            try port_command(S#st.port, Bin) of
                true -> ok
            catch
                error:badarg -> {error, port_closed}
            end;
        false ->
            {error, {too_large, byte_size(Bin), S#st.max_frame}}
    end.

fail_all(Reply, S) ->
    [gen_server:reply(From, Reply) || {From, _} <- maps:values(S#st.in_flight)],
    [gen_server:reply(From, Reply) || {From, _} <- queue:to_list(S#st.queue)],
    S#st{in_flight = #{}, queue = queue:new()}.

decode(Bin) ->
    try {ok, binary_to_term(Bin)}
    catch error:badarg -> {error, {not_a_term, Bin}}
    end.

%% The BEAM reports a program killed by signal N as exit status 128 + N
%% (a program that exits with such a status is indistinguishable).
exit_reason(Status) when Status > 128, Status < 128 + 65 ->
    {port_crashed, signal_name(Status - 128)};
exit_reason(Status) ->
    {port_exited, Status}.

signal_name(N) ->
    Names = {sighup, sigint, sigquit, sigill, sigtrap, sigabrt, sigbus, sigfpe,
             sigkill, sigusr1, sigsegv, sigusr2, sigpipe, sigalrm, sigterm},
    case N =< tuple_size(Names) of
        true -> element(N, Names);
        false -> {signal, N}
    end.

log_level(L) ->
    case lists:member(L, [emergency, alert, critical, error, warning, notice, info, debug]) of
        true -> L;
        false -> notice
    end.

packet_max(1) -> 16#FF;
packet_max(2) -> 16#FFFF;
packet_max(4) -> 16#FFFFFFFF.

to_map(Opts) when is_map(Opts) -> Opts;
to_map(Opts) when is_list(Opts) -> maps:from_list(proplists:unfold(Opts)).
