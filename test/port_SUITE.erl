%% @doc The port toolkit on a real BEAM: otpc_port owning otpc-port-example.
%% Pipelining with replies out of order, a program killed by a signal
%% (every caller told, the signal named, the supervisor restarting it), no
%% program or grandchild left after the BEAM is killed with SIGKILL or after
%% the port closes while the program is busy, bad frames answered with
%% clear errors, credits bounding a fast producer, the window holding
%% callers back from a slow program, and stray prints turned into logs.
-module(port_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("proper/include/proper.hrl").

-export([all/0, init_per_testcase/2, end_per_testcase/2]).
-export([pipelining_replies_out_of_order/1, add_any_size_agrees_with_erlang/1,
         sleep_does_not_block_others/1, crash_reported_and_restarted/1,
         beam_sigkill_leaves_no_orphans/1, port_closed_while_busy/1,
         malformed_frames_get_clear_errors/1, oversized_frames_rejected/1,
         packet_1_and_2/1, credits_bound_a_fast_producer/1,
         window_holds_callers_back/1, stray_prints_become_logs/1,
         casts_and_logs/1, children_killed_with_escalation/1,
         sigterm_ends_program_and_children/1, start_errors_are_clear/1]).
%% Supervisor callback (crash_reported_and_restarted) and logger handler.
-export([init/1, log/2]).

-define(DEADLINE, 15000).

all() ->
    [pipelining_replies_out_of_order, add_any_size_agrees_with_erlang,
     sleep_does_not_block_others, crash_reported_and_restarted,
     beam_sigkill_leaves_no_orphans, port_closed_while_busy,
     malformed_frames_get_clear_errors, oversized_frames_rejected, packet_1_and_2,
     credits_bound_a_fast_producer, window_holds_callers_back,
     stray_prints_become_logs, casts_and_logs, children_killed_with_escalation,
     sigterm_ends_program_and_children, start_errors_are_clear].

init_per_testcase(_Case, Config) ->
    [{path, otpc_test_lib:executable("otpc-port-example")} | Config].

end_per_testcase(_Case, _Config) ->
    catch logger:remove_handler(port_suite_capture),
    otpc_test_lib:cleanup().

%%% Tests -------------------------------------------------------------------

pipelining_replies_out_of_order(Config) ->
    {ok, P} = otpc_port:start_link(?config(path, Config), #{}),
    N = 20,
    Callers = [{I, async_call(P, {block, I})} || I <- lists:seq(1, N)],
    wait_until(fun() -> maps:get(in_flight, otpc_port:info(P)) =:= N end),
    %% All 20 are in flight; a later call is answered before them.
    {ok, {x, 1}} = otpc_port:call(P, {echo, {x, 1}}, 5000),
    [] = [I || {I, C} <- Callers, has_result(C)],
    %% Released in reverse order, they are answered in that order.
    lists:foreach(fun({I, C}) ->
                          {ok, {ok, 1}} = otpc_port:call(P, {unblock, I}, 5000),
                          {ok, ok} = await(C)
                  end, lists:reverse(Callers)),
    #{in_flight := 0} = otpc_port:info(P),
    ok = otpc_port:stop(P).

add_any_size_agrees_with_erlang(Config) ->
    {ok, P} = otpc_port:start_link(?config(path, Config), #{}),
    Int = oneof([integer(), ?LET({X, S}, {integer(), range(0, 2100)}, X bsl S),
                 ?LET(S, range(0, 130), oneof([1 bsl S, -(1 bsl S), (1 bsl S) - 1, 1 - (1 bsl S)]))]),
    Prop = ?FORALL({A, B}, {Int, Int},
                   begin
                       Got = otpc_port:call(P, {add, A, B}, 5000),
                       ?WHENFAIL(ct:pal("~w + ~w: C ~w", [A, B, Got]), Got =:= {ok, A + B})
                   end),
    true = proper:quickcheck(Prop, [{numtests, 500}, {to_file, user}, long_result]),
    {ok, {error, {badarg, _}}} = otpc_port:call(P, {add, 1, a}, 5000),
    ok = otpc_port:stop(P).

sleep_does_not_block_others(Config) ->
    {ok, P} = otpc_port:start_link(?config(path, Config), #{}),
    Sleeper = async_call(P, {sleep, 600000}),
    Busy = async_call(P, {busy, 600000}),
    wait_until(fun() -> maps:get(in_flight, otpc_port:info(P)) =:= 2 end),
    %% A timer and a blocked worker thread: the loop still answers.
    [{ok, I} = otpc_port:call(P, {echo, I}, 5000) || I <- lists:seq(1, 100)],
    {ok, ok} = otpc_port:call(P, {sleep, 0}, 5000),
    false = has_result(Sleeper),
    false = has_result(Busy),
    ok = otpc_port:stop(P),
    {error, {stopped, normal}} = await(Sleeper),
    {error, {stopped, normal}} = await(Busy).

crash_reported_and_restarted(Config) ->
    capture_logs(),
    {ok, Sup} = supervisor:start_link(?MODULE, {sup, ?config(path, Config)}),
    [{_, P1, _, _}] = supervisor:which_children(Sup),
    #{os_pid := Os1} = otpc_port:info(P1),
    Blocked = [async_call(P1, {block, I}) || I <- [a, b]],
    wait_until(fun() -> maps:get(in_flight, otpc_port:info(P1)) =:= 2 end),
    {error, {port_crashed, sigsegv}} = otpc_port:call(P1, crash, 5000),
    %% Every caller in flight hears of it, naming the signal.
    [{error, {port_crashed, sigsegv}} = await(C) || C <- Blocked],
    %% The log names the signal and the requests in flight.
    #{reason := {port_crashed, sigsegv}, in_flight := InFlight, os_pid := Os1,
      crashed := {11, {request, crash}}} =
        await_log(fun(#{what := port_program_died}) -> true; (_) -> false end),
    [crash, {block, a}, {block, b}] = lists:sort(InFlight),
    %% The supervisor starts a new server with a new program.
    wait_until(fun() -> case supervisor:which_children(Sup) of
                            [{_, P2, _, _}] when is_pid(P2), P2 =/= P1 -> true;
                            _ -> false
                        end end),
    [{_, P2, _, _}] = supervisor:which_children(Sup),
    {ok, back} = otpc_port:call(P2, {echo, back}, 5000),
    false = otpc_test_lib:os_pid_alive(Os1),
    %% A crash on a worker thread names its request too.
    {error, {port_crashed, sigsegv}} = otpc_port:call(P2, {crash, worker}, 5000),
    #{crashed := {11, {request, {crash, worker}}}} =
        await_log(fun(#{what := port_program_died}) -> true; (_) -> false end),
    wait_until(fun() -> case supervisor:which_children(Sup) of
                            [{_, P3, _, _}] when is_pid(P3), P3 =/= P2 -> true;
                            _ -> false
                        end end),
    unlink(Sup),
    stop_and_wait(Sup).

beam_sigkill_leaves_no_orphans(Config) ->
    Ebin = filename:dirname(code:which(otpc_port)),
    {ok, _Peer, Node} = otpc_test_lib:start_peer(port_owner, ["-pa", Ebin]),
    {ok, P} = erpc:call(Node, otpc_port, start, [?config(path, Config), #{}]),
    #{os_pid := Prog} = otpc_port:info(P),
    {ok, {ok, Child}} = otpc_port:call(P, {spawn_sleeper, 600}, 5000),
    Beam = list_to_integer(erpc:call(Node, os, getpid, [])),
    true = otpc_test_lib:os_pid_alive(Prog),
    true = otpc_test_lib:os_pid_alive(Child),
    os:cmd("kill -KILL " ++ integer_to_list(Beam)),
    wait_until(fun() -> not otpc_test_lib:os_pid_alive(Beam) end),
    wait_until(fun() -> not otpc_test_lib:os_pid_alive(Prog) end),
    wait_until(fun() -> not otpc_test_lib:os_pid_alive(Child) end).

port_closed_while_busy(Config) ->
    {ok, P} = otpc_port:start_link(?config(path, Config), #{}),
    #{os_pid := Prog} = otpc_port:info(P),
    {ok, {ok, Child}} = otpc_port:call(P, {spawn_sleeper, 600}, 5000),
    Busy = async_call(P, {busy, 600000}),
    wait_until(fun() -> maps:get(in_flight, otpc_port:info(P)) =:= 1 end),
    ok = otpc_port:stop(P),
    {error, {stopped, normal}} = await(Busy),
    %% The worker is 10 minutes from done: the program must not wait for it.
    wait_until(fun() -> not otpc_test_lib:os_pid_alive(Prog) end),
    wait_until(fun() -> not otpc_test_lib:os_pid_alive(Child) end).

malformed_frames_get_clear_errors(Config) ->
    Port = raw_port(Config, [{"OTPC_PORT_MAX_FRAME", "1000"}]),
    {hello, 1, #{window := _, max_frame := 1000}} = raw_recv(Port),
    Bad = [{<<"junk">>, undefined, <<"version">>},
           {term_to_binary(<<"bin">>), undefined, <<"expected {call, Id, Request}">>},
           {term_to_binary({call, -1, x}), undefined, <<"Id of {call, Id, Request}">>},
           {term_to_binary({call, 7}), undefined, <<"a call has 3 elements">>},
           {term_to_binary({call, 5, x, y}), undefined, <<"a call has 3 elements">>},
           {term_to_binary({credit, 0}), undefined, <<"{credit, N}">>},
           {term_to_binary({hello, x}), undefined, <<"not call, cast or credit">>},
           {<<131, 104, 3, 100, 0, 4, "call", 97, 9>>, undefined, <<>>},
           {term_to_binary({call, 9, binary:copy(<<0>>, 500)}, [compressed]), undefined, <<>>}],
    lists:foreach(fun({Frame, Id, Says}) ->
                          true = port_command(Port, Frame),
                          case raw_recv(Port) of
                              {bad_request, Id, Why} when is_binary(Why), byte_size(Why) > 10 ->
                                  ct:log("~w -> ~ts", [Frame, Why]),
                                  true = Says =:= <<>> orelse binary:match(Why, Says) =/= nomatch;
                              Other ->
                                  ct:fail({unexpected, Frame, Other})
                          end
                  end, Bad),
    %% The program goes on.
    true = port_command(Port, term_to_binary({call, 1, {echo, still_here}})),
    {reply, 1, still_here} = raw_recv(Port),
    port_close(Port),
    %% A peer that ignores the window gets an error, not a stall.
    Port1 = raw_port(Config, [{"OTPC_PORT_WINDOW", "1"}]),
    {hello, 1, #{window := 1}} = raw_recv(Port1),
    true = port_command(Port1, term_to_binary({call, 1, {block, a}})),
    true = port_command(Port1, term_to_binary({call, 2, {echo, x}})),
    {reply, 2, {error, {window_exceeded, 1}}} = raw_recv(Port1),
    true = port_command(Port1, term_to_binary({cast, {unblock, a}})),
    {reply, 1, ok} = raw_recv(Port1),
    port_close(Port1),
    %% Options in the environment are checked too.
    Port2 = raw_port(Config, [{"OTPC_PORT_PACKET", "3"}]),
    {exit_status, 2} = raw_recv(Port2).

oversized_frames_rejected(Config) ->
    %% From the Erlang side: refused before sending, the program unharmed.
    {ok, P} = otpc_port:start_link(?config(path, Config), #{max_frame => 1000}),
    {error, {too_large, Size, 1000}} = otpc_port:call(P, {echo, binary:copy(<<1>>, 2000)}, 5000),
    true = Size > 2000,
    {ok, small} = otpc_port:call(P, {echo, small}, 5000),
    ok = otpc_port:stop(P),
    %% On the wire: the program says why and exits, as the stream is lost.
    Port = raw_port(Config, [{"OTPC_PORT_MAX_FRAME", "1000"}]),
    {hello, 1, _} = raw_recv(Port),
    true = port_command(Port, binary:copy(<<0>>, 2000)),
    {protocol_error, Why} = raw_recv(Port),
    ct:log("~ts", [Why]),
    {match, _} = re:run(Why, "frame of 2000 bytes is over the maximum of 1000"),
    {exit_status, 2} = raw_recv(Port).

packet_1_and_2(Config) ->
    {ok, P1} = otpc_port:start_link(?config(path, Config), #{packet => 1}),
    #{max_frame := 255} = otpc_port:info(P1),
    {ok, {a, 1}} = otpc_port:call(P1, {echo, {a, 1}}, 5000),
    {error, {too_large, _, 255}} = otpc_port:call(P1, {echo, binary:copy(<<1>>, 300)}, 5000),
    {ok, 3} = otpc_port:call(P1, {add, 1, 2}, 5000),
    ok = otpc_port:stop(P1),
    {ok, P2} = otpc_port:start_link(?config(path, Config), #{packet => 2}),
    Big = binary:copy(<<7>>, 60000),
    {ok, Big} = otpc_port:call(P2, {echo, Big}, 5000),
    {error, {too_large, _, 65535}} = otpc_port:call(P2, {echo, binary:copy(Big, 2)}, 5000),
    ok = otpc_port:stop(P2).

credits_bound_a_fast_producer(Config) ->
    W = 16,
    N = 5000,
    {ok, P} = otpc_port:start_link(?config(path, Config), #{events => self(), event_window => W}),
    {ok, {ok, N}} = otpc_port:call(P, {stream, N}, 5000),
    %% The program handles frames in order, so once this reply is here
    %% everything it could send before it has been delivered.
    {ok, sync} = otpc_port:call(P, {echo, sync}, 5000),
    {message_queue_len, W} = process_info(self(), message_queue_len),
    %% Taking W at a time and granting W more never lets more than W wait.
    Max = drain(P, W, 1, N, 0),
    true = Max =< W,
    {ok, sync} = otpc_port:call(P, {echo, sync}, 5000),
    {message_queue_len, 0} = process_info(self(), message_queue_len),
    ok = otpc_port:stop(P),
    %% An events process that dies holding its credits does not stall the
    %% program: the rest is dropped (and counted), credits given again.
    Sink = spawn(fun() -> receive never -> ok end end),
    {ok, P2} = otpc_port:start_link(?config(path, Config), #{events => Sink, event_window => W}),
    {ok, {ok, N}} = otpc_port:call(P2, {stream, N}, 5000),
    {ok, sync} = otpc_port:call(P2, {echo, sync}, 5000),
    {message_queue_len, W} = process_info(Sink, message_queue_len),
    #{events_dropped := 0} = otpc_port:info(P2),
    exit(Sink, kill),
    wait_until(fun() -> maps:get(events_dropped, otpc_port:info(P2)) =:= N - W end),
    ok = otpc_port:stop(P2).

window_holds_callers_back(Config) ->
    {ok, P} = otpc_port:start_link(?config(path, Config), #{window => 2, max_queue => 1}),
    #{window := 2} = otpc_port:info(P),
    A = async_call(P, {block, a}),
    B = async_call(P, {block, b}),
    wait_until(fun() -> maps:get(in_flight, otpc_port:info(P)) =:= 2 end),
    C = async_call(P, {echo, c}),
    wait_until(fun() -> maps:get(queued, otpc_port:info(P)) =:= 1 end),
    {error, overload} = otpc_port:call(P, {echo, d}, 5000),
    false = has_result(C),
    %% A cast passes the window; releasing one slot lets the waiting call in.
    otpc_port:cast(P, {unblock, a}),
    {ok, ok} = await(A),
    {ok, c} = await(C),
    false = has_result(B),
    otpc_port:cast(P, {unblock, b}),
    {ok, ok} = await(B),
    ok = otpc_port:stop(P).

stray_prints_become_logs(Config) ->
    capture_logs(),
    lists:foreach(
      fun(Io) ->
              {ok, P} = otpc_port:start_link(?config(path, Config), #{io => Io}),
              Text = "stray print " ++ atom_to_list(Io),
              {ok, ok} = otpc_port:call(P, {print, Text}, 5000),
              {ok, after_print} = otpc_port:call(P, {echo, after_print}, 5000),
              Line = list_to_binary(Text),
              info = await_log(fun(#{line := L, level := Lv}) when L =:= Line -> Lv;
                                  (_) -> false
                               end),
              ok = otpc_port:stop(P)
      end, [stdio, fds]).

casts_and_logs(Config) ->
    capture_logs(),
    {ok, P} = otpc_port:start_link(?config(path, Config), [{io, fds}]),
    ok = otpc_port:cast(P, {log, "from a cast"}),
    notice = await_log(fun(#{line := <<"from a cast">>, level := Lv}) -> Lv; (_) -> false end),
    {ok, ok} = otpc_port:call(P, {log, "from a call"}, 5000),
    notice = await_log(fun(#{line := <<"from a call">>, level := Lv}) -> Lv; (_) -> false end),
    {ok, {error, {unknown_request, nope}}} = otpc_port:call(P, nope, 5000),
    ok = otpc_port:stop(P),
    {error, noproc} = otpc_port:call(P, {echo, 1}, 5000).

children_killed_with_escalation(Config) ->
    {ok, P} = otpc_port:start_link(?config(path, Config), #{}),
    {ok, {ok, Meek}} = otpc_port:call(P, {spawn_sleeper, 600}, 5000),
    {ok, {ok, Stubborn}} = otpc_port:call(P, {spawn_stubborn, 600}, 5000),
    %% The shell has set up its trap once it has become sleep.
    wait_until(fun() -> proc_comm(Stubborn) =:= <<"sleep">> end),
    {ok, ok} = otpc_port:call(P, {kill_child, Meek}, 5000),
    {ok, ok} = otpc_port:call(P, {kill_child, Stubborn}, 5000),
    wait_until(fun() -> not otpc_test_lib:os_pid_alive(Meek) end),
    %% TERM is ignored; the KILL after the grace time ends it.
    wait_until(fun() -> not otpc_test_lib:os_pid_alive(Stubborn) end),
    %% Both reaped by the program (no zombies), and no longer its children.
    wait_until(fun() -> not filelib:is_file("/proc/" ++ integer_to_list(Stubborn)) end),
    {ok, {error, not_a_child}} = otpc_port:call(P, {kill_child, Stubborn}, 5000),
    {ok, {error, not_a_child}} = otpc_port:call(P, {kill_child, 1}, 5000),
    ok = otpc_port:stop(P).

%% SIGTERM is what the kernel sends when the program's parent dies
%% (PR_SET_PDEATHSIG): the program ends its children and exits, even busy.
sigterm_ends_program_and_children(Config) ->
    {ok, P} = otpc_port:start(?config(path, Config), #{}),
    MRef = monitor(process, P),
    #{os_pid := Prog} = otpc_port:info(P),
    {ok, {ok, Child}} = otpc_port:call(P, {spawn_stubborn, 600}, 5000),
    wait_until(fun() -> proc_comm(Child) =:= <<"sleep">> end),
    Busy = async_call(P, {busy, 600000}),
    wait_until(fun() -> maps:get(in_flight, otpc_port:info(P)) =:= 1 end),
    os:cmd("kill -TERM " ++ integer_to_list(Prog)),
    {error, {port_exited, 0}} = await(Busy),
    receive {'DOWN', MRef, process, P, {port_exited, 0}} -> ok
    after ?DEADLINE -> ct:fail(server_still_up)
    end,
    wait_until(fun() -> not otpc_test_lib:os_pid_alive(Prog) end),
    wait_until(fun() -> not otpc_test_lib:os_pid_alive(Child) end).

start_errors_are_clear(Config) ->
    Missing = "/nonexistent/otpc-port-example",
    {error, {open_port, enoent, Missing}} = otpc_port:start(Missing, #{}),
    %% A program that never says hello (cat echoes nothing back unasked).
    {error, {no_hello, "/bin/cat", 300}} = otpc_port:start("/bin/cat", #{hello_timeout => 300}),
    %% A window the program refuses: it exits with status 2 before hello.
    {error, {port_exited, 2}} = otpc_port:start(?config(path, Config), #{window => 0}),
    {ok, P} = otpc_port:start(?config(path, Config), [{window, 65536}]),
    #{window := 65536} = otpc_port:info(P),
    ok = otpc_port:stop(P).

%%% Supervisor and logger callbacks ----------------------------------------

init({sup, Path}) ->
    {ok, {#{strategy => one_for_one, intensity => 5, period => 10},
          [otpc_port:child_spec(Path, #{id => example})]}}.

log(#{level := Level, msg := Msg, meta := Meta}, #{config := #{pid := Pid}}) ->
    Event = case {Msg, Meta} of
                {{report, R}, _} when is_map(R) -> R#{level => Level};
                {{Fmt, [_Name, Line]}, #{otpc_port := _}} when is_list(Fmt) ->
                    #{level => Level, line => iolist_to_binary(Line)};
                _ -> #{level => Level}
            end,
    Pid ! {captured_log, Event}.

%%% Helpers ------------------------------------------------------------------

capture_logs() ->
    ok = logger:add_handler(port_suite_capture, ?MODULE,
                            #{level => all, config => #{pid => self()}}),
    logger:set_primary_config(level, all).

await_log(Match) ->
    receive
        {captured_log, Event} ->
            case Match(Event) of
                false -> await_log(Match);
                true -> Event;
                Value -> Value
            end
    after ?DEADLINE ->
        ct:fail(no_such_log_event)
    end.

async_call(P, Request) ->
    Parent = self(),
    Ref = make_ref(),
    spawn_link(fun() -> Parent ! {Ref, otpc_port:call(P, Request, 600000)} end),
    Ref.

has_result(Ref) ->
    receive {Ref, _} = M -> self() ! M, true after 0 -> false end.

await(Ref) ->
    receive {Ref, R} -> R after ?DEADLINE -> ct:fail({no_reply, Ref}) end.

%% Polls a condition until it holds; fails the test at the deadline.
wait_until(Fun) ->
    wait_until(Fun, erlang:monotonic_time(millisecond) + ?DEADLINE).

wait_until(Fun, Deadline) ->
    case Fun() of
        true -> ok;
        false ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> ct:fail(condition_not_met_before_deadline);
                false -> receive after 20 -> wait_until(Fun, Deadline) end
            end
    end.

drain(_P, _W, Next, N, Max) when Next > N ->
    Max;
drain(P, W, Next, N, Max) ->
    {message_queue_len, Len} = process_info(self(), message_queue_len),
    Take = min(W, N - Next + 1),
    [receive {otpc_port_event, P, {item, I}} -> ok after ?DEADLINE -> ct:fail({missing, I}) end
     || I <- lists:seq(Next, Next + Take - 1)],
    otpc_port:credit(P, Take),
    drain(P, W, Next + Take, N, max(Max, Len)).

proc_comm(OsPid) ->
    case file:read_file("/proc/" ++ integer_to_list(OsPid) ++ "/comm") of
        {ok, Comm} -> string:trim(Comm);
        {error, _} -> gone
    end.

raw_port(Config, Env) ->
    open_port({spawn_executable, ?config(path, Config)},
              [{packet, 4}, binary, exit_status, use_stdio, {env, Env}]).

raw_recv(Port) ->
    receive
        {Port, {data, Bin}} -> binary_to_term(Bin);
        {Port, {exit_status, _} = E} -> E
    after ?DEADLINE -> ct:fail(no_frame)
    end.

stop_and_wait(Pid) ->
    Ref = monitor(process, Pid),
    exit(Pid, shutdown),
    receive {'DOWN', Ref, process, Pid, _} -> ok after ?DEADLINE -> ct:fail(not_stopped) end.
