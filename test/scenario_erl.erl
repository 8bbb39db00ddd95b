%% @doc The BEAM side of the differential scenarios: interprets one
%% scenario of test/scenarios/*.scn with real Erlang processes and returns
%% its trace. cnode/tools/otpc-scenario.c is the same interpreter on the otpc
%% runtime; scenario_SUITE runs both and compares the traces.
%%
%% A scenario file holds terms `{scenario, Name, Doc, Steps}'. The named
%% processes of a scenario only act on commands of a controller (the process
%% running the steps), which waits for each command's result before the next
%% step, so every effect is ordered by causality, never by timing:
%%
%%   {spawn, P, Opts}       the controller spawns P (Opts: trap_exit,
%%                          {register, N}; no link or monitor)
%%   {P, Op}                P performs Op and reports its result
%%   {await, P, Pattern}    wait until P has received a message matching
%%                          Pattern ('_' matches anything), after the last
%%                          message an earlier await on P matched
%%   {await_exit, P}        wait until P has exited
%%   {await_cb, P, Pattern} as await, but matching P's trace entries
%%                          themselves (for puppets: {handle_info, timeout});
%%                          P may be a puppet yet to come ('w#2')
%%   {async, P, Op}         P starts Op (one that waits: a call) and the
%%                          controller goes on; the result is recorded when
%%                          it comes (not for spawn)
%%   {await_done, P}        wait until P's async op has returned
%%
%% Ops, with the result each records:
%%   {spawn, Q, Opts}       Opts: link, {monitor, M}, trap_exit, {register, N}
%%                          -> {pid, Q} | {{pid, Q}, {ref, M}} | {error, badarg}
%%   {send, Q | {reg, N}, Msg}          -> ok | {error, badarg}
%%   {link, Q}, {unlink, Q}             -> true | {error, noproc}
%%   {monitor, Q | {reg, N}, M}         -> {ref, M}
%%   {demonitor, M} | {demonitor, M, Opts}  -> true | false
%%   {exit, Q, Reason}      exit(Q, Reason)            -> true
%%   {exit, Reason}         exit(Reason): P ends
%%   {trap_exit, Bool}      -> the previous value
%%   {register, N, Q}, {unregister, N}  -> true | {error, badarg}
%%   {whereis, N}           -> {pid, Q} | undefined
%%   {send_after, Ms, Q, Msg, T}        -> {ref, T}
%%   {cancel_timer, T}      -> false | time_left (the time is abstracted)
%%   hold                   stop receiving anything but commands: messages
%%                          and trapped EXITs stay queued   -> ok
%%   release                receive everything again, queued first -> ok
%%   {wait_queued, N}       wait (yielding, no timer) until N messages are
%%                          queued, held back by `hold'      -> ok | timeout
%%
%% wait_queued is the barrier for signals whose arrival nothing else orders:
%% a process's exit signals to different processes leave in an unspecified
%% order, so the controller seeing B's DOWN does not mean that A has B's DOWN
%% in its queue yet (on OTP 25 about 1 run in 2000 it has not).
%%
%% In terms, {pid, Q} stands for Q's pid and {ref, M} for the reference
%% named M (a monitor or a timer); '@node' stands for the local node name.
%% Traces use the same names: the trace is [{P, [Entry]}] in spawn order,
%% Entry being {recv, Msg}, {Op, Result} or {exit, Reason}, then
%% {'$controller', Errors} if a step could not be run.
%%
%% Behaviour families add ops and processes of their own, one module each
%% (?FAMILIES; docs/scenarios.md lists their ops). A family's processes
%% (puppets: a gen_server, a supervisor's child) are not commanded: they
%% announce themselves with {'$ev', Pid, {puppet, Name}}, add entries with
%% {'$ev', Pid, {cb, Entry}}, and link to the controller, which traps exits,
%% so their exit reasons come as 'EXIT' messages. A name used again (a
%% restarted child) is given a suffix: s, then 's#2', 's#3'. A process a
%% family cannot put code into (an event manager) is announced by its
%% starter with {'$ev', Starter, {watch, Pid, Name}} and monitored.
-module(scenario_erl).

-export([run/1, load_file/1, load_dir/1]).
%% For the behaviour families.
-export([real/2, pid/2]).
%% Internal: the body of a scenario process.
-export([proc_init/3]).

-define(TIMEOUT, 5000).
-define(FAMILIES, [scenario_erl_gs, scenario_erl_sup, scenario_erl_sm, scenario_erl_ev]).

%%% API ------------------------------------------------------------------

%% @doc Loads the scenarios of one file, checking their shape.
load_file(File) ->
    {ok, Terms} = file:consult(File),
    [check(T, File) || T <- Terms].

%% @doc Loads every *.scn file of a directory, in file name order.
load_dir(Dir) ->
    Files = lists:sort(filelib:wildcard(filename:join(Dir, "*.scn"))),
    lists:append([load_file(F) || F <- Files]).

%% @doc Runs one scenario on this node and returns its trace.
run({scenario, _Name, _Doc, Steps}) ->
    Parent = self(),
    Tag = make_ref(),
    {Pid, MRef} = spawn_monitor(fun() -> Parent ! {Tag, control(Steps)} end),
    receive
        {Tag, Trace} ->
            erlang:demonitor(MRef, [flush]),
            Trace;
        {'DOWN', MRef, process, Pid, Reason} ->
            [{'$controller', [{crashed, Reason}]}]
    end.

check({scenario, Name, Doc, Steps} = S, _File) when is_atom(Name), is_list(Doc),
                                                   is_list(Steps) ->
    S;
check(Other, File) ->
    error({bad_scenario, File, Other}).

%%% The controller ----------------------------------------------------------

control(Steps) ->
    process_flag(trap_exit, true),
    S0 = #{order => [], pids => #{}, names => #{}, refs => #{}, ref_names => #{},
           traces => #{}, cursor => #{}, alive => #{}, mons => #{},
           done => #{}, synced => #{}, ready => #{}, errors => [],
           puppets => #{}, async => #{}},
    S1 = steps(Steps, S0),
    S2 = finish(S1),
    trace(S2).

steps([], S) ->
    S;
steps([Step | Rest], S) ->
    case step(Step, S) of
        {ok, S1} -> steps(Rest, S1);
        {error, Why, S1} -> S1#{errors := [{Why, Step} | maps:get(errors, S1)]}
    end.

step({spawn, P, Opts}, S) ->
    case lists:member(link, Opts) orelse lists:keymember(monitor, 1, Opts) of
        true ->
            {error, controller_cannot_link_or_monitor, S};
        false ->
            case do_spawn(self(), P, spawn_args(Opts)) of
                {error, _} -> {error, spawn_failed, S};
                _ -> wait_started(P, S)
            end
    end;
step({await, P, Pattern}, S) ->
    await(P, {recv, Pattern}, S);
step({await_cb, P, Pattern}, S) ->
    await(P, Pattern, S);
step({await_exit, P}, S) ->
    wait(fun(S1) -> not is_alive(P, S1) end, S);
step({async, P, Op}, S) ->
    case commandable(P, S) of
        false ->
            {error, dead_actor, S};
        true ->
            S1 = send_command(P, Op, S),
            {ok, S1#{async := maps:put(P, Op, maps:get(async, S1))}}
    end;
step({await_done, P}, S) ->
    wait(fun(X) -> not maps:is_key(P, maps:get(async, X)) orelse not is_alive(P, X) end, S);
step({P, Op}, S) when is_atom(P) ->
    case commandable(P, S) of
        false ->
            {error, dead_actor, S};
        true ->
            S1 = send_command(P, Op, S),
            case wait(fun(X) -> maps:is_key(P, maps:get(done, X)) orelse not is_alive(P, X) end, S1) of
                {ok, S2} ->
                    case maps:find(P, maps:get(done, S2)) of
                        {ok, Result} -> completed(P, Op, Result, S2);
                        error -> {ok, S2}
                    end;
                Error ->
                    Error
            end
    end;
step(_, S) ->
    {error, bad_step, S}.

commandable(P, S) ->
    is_alive(P, S) andalso not maps:is_key(P, maps:get(puppets, S))
        andalso not maps:is_key(P, maps:get(async, S)).

%% Sends P the command for Op; its result will be in `done'.
send_command(P, Op, S) ->
    Real = real_op(Op, S),
    #{P := Pid} = maps:get(pids, S),
    Pid ! {'$cmd', Real},
    S#{done := maps:remove(P, maps:get(done, S))}.

%% Waits for an entry of P matching Pattern after the cursor.
await(P, Pattern, S) ->
    Pred = fun(S1) ->
                   case find_entry(P, Pattern, S1) of
                       {found, N} -> {true, S1#{cursor := maps:put(P, N, maps:get(cursor, S1))}};
                       none -> case is_alive(P, S1) orelse not maps:is_key(P, maps:get(pids, S1)) of
                                   true -> false;
                                   false -> {fail, exited}
                               end
                   end
           end,
    wait(Pred, S).

%% Records an op's result, names what it created, waits for a child.
completed(P, Op, Result, S) ->
    S1 = bind(Op, Result, S),
    S2 = append(P, {Op, Result}, S1),
    case {Op, Result} of
        {{spawn, Q, _}, {error, _}} -> _ = Q, {ok, S2};
        {{spawn, Q, _}, _} -> wait_started(Q, S2);
        _ -> {ok, S2}
    end.

bind({monitor, _, M}, Ref, S) -> bind_ref(M, Ref, S);
bind({send_after, _, _, _, T}, Ref, S) -> bind_ref(T, Ref, S);
bind({spawn, _, Opts}, {Pid, Ref}, S) when is_pid(Pid) ->
    {monitor, M} = lists:keyfind(monitor, 1, Opts),
    bind_ref(M, Ref, S);
bind(_, _, S) -> S.

bind_ref(Name, Ref, #{refs := Refs, ref_names := Names} = S) ->
    S#{refs := Refs#{Name => Ref}, ref_names := Names#{Ref => Name}}.

wait_started(P, S) ->
    wait(fun(X) -> maps:is_key(P, maps:get(ready, X)) end, S).

%% Processes controller mailbox events until Pred holds (true, or {true,
%% S}), fails ({fail, Why}) or nothing arrives for ?TIMEOUT.
wait(Pred, S) ->
    case Pred(S) of
        true -> {ok, S};
        {true, S1} -> {ok, S1};
        {fail, Why} -> {error, Why, S};
        false ->
            receive
                Msg -> wait(Pred, event(Msg, S))
            after ?TIMEOUT ->
                {error, timeout, S}
            end
    end.

event({'$ev', Pid, {started, P}}, #{pids := Pids, names := Names, alive := Alive,
                                    mons := Mons, order := Order, traces := Tr} = S) ->
    %% The monitor must be in place before anyone can make P exit: P waits
    %% for `monitored', which comes after the monitor signal from here.
    MRef = erlang:monitor(process, Pid),
    Pid ! {'$cmd', monitored},
    S#{pids := Pids#{P => Pid}, names := Names#{Pid => P}, alive := Alive#{P => true},
       mons := Mons#{MRef => P}, order := Order ++ [P], traces := Tr#{P => []}};
event({'$ev', Pid, {puppet, Q}}, #{pids := Pids, names := Names, alive := Alive,
                                   order := Order, traces := Tr, puppets := Pup} = S) ->
    P = fresh_name(Q, Pids, 2),
    S#{pids := Pids#{P => Pid}, names := Names#{Pid => P}, alive := Alive#{P => true},
       order := Order ++ [P], traces := Tr#{P => []}, puppets := Pup#{P => Pid}};
event({'$ev', _, {watch, Pid, Q}}, S) ->
    %% A family's process with no code of ours to link from (an event
    %% manager): its starter announces it before its start op returns, and
    %% the controller monitors it.
    #{mons := Mons} = S1 = event({'$ev', Pid, {puppet, Q}}, S),
    P = name(Pid, S1),
    S1#{mons := Mons#{erlang:monitor(process, Pid) => P}};
event({'$ev', Pid, {cb, Entry}}, S) ->
    append(name(Pid, S), Entry, S);
event({'EXIT', Pid, Reason}, #{puppets := Pup, alive := Alive} = S) ->
    P = name(Pid, S),
    case maps:is_key(P, Pup) andalso is_alive(P, S) of
        true -> (append(P, {exit, Reason}, S))#{alive := Alive#{P := false}};
        false -> S
    end;
event({'$ev', Pid, ready}, #{ready := Ready} = S) ->
    S#{ready := Ready#{name(Pid, S) => true}};
event({'$ev', Pid, {recv, Msg}}, S) ->
    append(name(Pid, S), {recv, Msg}, S);
event({'$ev', Pid, {done, Result}}, #{done := Done, async := Async} = S) ->
    P = name(Pid, S),
    case maps:take(P, Async) of
        {Op, Async1} ->
            %% Recorded now, before any later event of P.
            S1 = append(P, {Op, Result}, bind(Op, Result, S)),
            S1#{async := Async1};
        error ->
            S#{done := Done#{P => Result}}
    end;
event({'$ev', Pid, synced}, #{synced := Synced} = S) ->
    S#{synced := Synced#{name(Pid, S) => true}};
event({'DOWN', MRef, process, _Pid, Reason}, #{mons := Mons, alive := Alive} = S) ->
    case maps:take(MRef, Mons) of
        {P, Mons1} ->
            S1 = append(P, {exit, Reason}, S),
            S1#{mons := Mons1, alive := Alive#{P := false}};
        error ->
            S
    end;
event(Other, #{errors := Errors} = S) ->
    S#{errors := [{unexpected, Other} | Errors]}.

fresh_name(Q, Pids, N) ->
    case maps:is_key(Q, Pids) of
        false -> Q;
        true ->
            P = list_to_atom(atom_to_list(Q) ++ "#" ++ integer_to_list(N)),
            case maps:is_key(P, Pids) of
                false -> P;
                true -> fresh_name(Q, Pids, N + 1)
            end
    end.

%% Lets each live process take in what is queued for it, then stops them
%% all (without recording that). Puppets are not commanded: a scenario
%% awaits what it expects of them; but one that has died by now has its
%% end recorded. Its exit signal to the controller may trail what its
%% death caused elsewhere (signals to different receivers leave in no
%% fixed order), yet it must come, so the trace does not depend on when.
finish(S) ->
    S0 = maps:fold(
           fun(P, Pid, Acc) ->
                   case is_alive(P, Acc) andalso not erlang:is_process_alive(Pid) of
                       true ->
                           case wait(fun(X) -> not is_alive(P, X) end, Acc) of
                               {ok, Acc1} -> Acc1;
                               {error, Why, Acc1} ->
                                   Acc1#{errors := [{Why, final_exit, P} | maps:get(errors, Acc1)]}
                           end;
                       false ->
                           Acc
                   end
           end, S, maps:get(puppets, S)),
    S1 = lists:foldl(
           fun(P, Acc) ->
                   case is_alive(P, Acc) andalso not maps:is_key(P, maps:get(puppets, Acc)) of
                       true ->
                           #{P := Pid} = maps:get(pids, Acc),
                           Pid ! {'$cmd', final_release},
                           Pid ! {'$cmd', final_sync},
                           Pred = fun(X) -> maps:is_key(P, maps:get(synced, X))
                                                orelse not is_alive(P, X) end,
                           case wait(Pred, Acc) of
                               {ok, Acc1} -> Acc1;
                               {error, Why, Acc1} ->
                                   Acc1#{errors := [{Why, final_sync, P} | maps:get(errors, Acc1)]}
                           end;
                       false ->
                           Acc
                   end
           end, S0, maps:get(order, S0)),
    maps:foreach(fun(MRef, P) ->
                         erlang:demonitor(MRef, [flush]),
                         #{P := Pid} = maps:get(pids, S1),
                         Ref = erlang:monitor(process, Pid),
                         exit(Pid, kill),
                         receive {'DOWN', Ref, process, _, _} -> ok end
                 end, maps:get(mons, S1)),
    maps:foreach(fun(P, Pid) ->
                         case is_alive(P, S1) of
                             true ->
                                 Ref = erlang:monitor(process, Pid),
                                 exit(Pid, kill),
                                 receive {'DOWN', Ref, process, _, _} -> ok end;
                             false ->
                                 ok
                         end
                 end, maps:get(puppets, S1)),
    S1.

%% Entries are kept with real pids and refs, and named only when read, so
%% that a pid or ref is named even if it was learnt after the entry.
trace(#{order := Order, traces := Tr, errors := Errors} = S) ->
    [{P, sym(lists:reverse(maps:get(P, Tr)), S)} || P <- Order]
        ++ [{'$controller', sym(lists:reverse(Errors), S)} || Errors =/= []].

append(P, Entry, #{traces := Tr} = S) ->
    S#{traces := Tr#{P => [Entry | maps:get(P, Tr, [])]}}.

is_alive(P, #{alive := Alive}) ->
    maps:get(P, Alive, false).

name(Pid, #{names := Names}) ->
    maps:get(Pid, Names, '?').

find_entry(P, Pattern, #{traces := Tr, cursor := Cursor} = S) ->
    Entries = sym(lists:reverse(maps:get(P, Tr, [])), S),
    Skip = maps:get(P, Cursor, 0),
    find_entry_in(lists:nthtail(min(Skip, length(Entries)), Entries), Pattern, Skip).

find_entry_in([], _, _) -> none;
find_entry_in([E | Rest], Pattern, N) ->
    case matches(Pattern, E) of
        true -> {found, N + 1};
        false -> find_entry_in(Rest, Pattern, N + 1)
    end.

%% '_' matches anything; tuples and lists match element by element.
matches('_', _) -> true;
matches(P, T) when is_tuple(P), is_tuple(T), tuple_size(P) =:= tuple_size(T) ->
    matches(tuple_to_list(P), tuple_to_list(T));
matches([P | Ps], [T | Ts]) -> matches(P, T) andalso matches(Ps, Ts);
matches(P, T) -> P =:= T.

%%% Names and terms --------------------------------------------------------

%% Replaces pids, refs and the node name with their scenario names.
sym(T, S) when is_pid(T) ->
    {pid, maps:get(T, maps:get(names, S), '?')};
sym(T, S) when is_reference(T) ->
    {ref, maps:get(T, maps:get(ref_names, S), '?')};
sym(T, _) when T =:= node() ->
    '@node';
sym(T, S) when is_tuple(T) ->
    list_to_tuple(sym(tuple_to_list(T), S));
sym([H | T], S) ->
    [sym(H, S) | sym(T, S)];
sym(T, _) ->
    T.

%% The reverse: scenario names to the pids and refs they stand for.
real({pid, P}, S) when is_atom(P) -> pid(P, S);
real({ref, R}, #{refs := Refs}) when is_atom(R) -> maps:get(R, Refs);
real('@node', _) -> node();
real(T, S) when is_tuple(T) -> list_to_tuple(real(tuple_to_list(T), S));
real([H | T], S) -> [real(H, S) | real(T, S)];
real(T, _) -> T.

pid(P, #{pids := Pids}) ->
    case maps:find(P, Pids) of
        {ok, Pid} -> Pid;
        error -> error({unknown_process, P})
    end.

%% The command a process gets for an op: names resolved, nothing else.
real_op({spawn, Q, Opts}, _S) -> {spawn, Q, spawn_args(Opts)};
real_op({send, {reg, N}, Msg}, S) -> {send_name, N, real(Msg, S)};
real_op({send, Q, Msg}, S) -> {send, pid(Q, S), real(Msg, S)};
real_op({link, Q}, S) -> {link, pid(Q, S)};
real_op({unlink, Q}, S) -> {unlink, pid(Q, S)};
real_op({monitor, {reg, N}, _}, _S) -> {monitor_name, N};
real_op({monitor, Q, _}, S) -> {monitor, pid(Q, S)};
real_op({demonitor, M}, S) -> {demonitor, real({ref, M}, S), []};
real_op({demonitor, M, Opts}, S) -> {demonitor, real({ref, M}, S), Opts};
real_op({exit, Q, Reason}, S) -> {exit_signal, pid(Q, S), real(Reason, S)};
real_op({exit, Reason}, S) -> {exit, real(Reason, S)};
real_op({trap_exit, B}, _S) -> {trap_exit, B};
real_op({register, N, Q}, S) -> {register, N, pid(Q, S)};
real_op({unregister, N}, _S) -> {unregister, N};
real_op({whereis, N}, _S) -> {whereis, N};
real_op({send_after, Ms, Q, Msg, _}, S) -> {send_after, Ms, pid(Q, S), real(Msg, S)};
real_op({cancel_timer, T}, S) -> {cancel_timer, real({ref, T}, S)};
real_op({wait_queued, N}, _S) -> {wait_queued, N};
real_op(hold, _S) -> hold;
real_op(release, _S) -> release;
real_op(Op, S) -> family(fun(M) -> M:real_op(Op, S) end, {unknown_op, Op}).

%% The first family that knows the op.
family(F, Default) ->
    case lists:foldl(fun(M, nomatch) -> F(M); (_, Found) -> Found end, nomatch, ?FAMILIES) of
        nomatch -> Default;
        Found -> Found
    end.

%% {Link, Monitor, TrapExit, RegisteredName | undefined}
spawn_args(Opts) ->
    {lists:member(link, Opts), lists:keymember(monitor, 1, Opts),
     lists:member(trap_exit, Opts),
     case lists:keyfind(register, 1, Opts) of
         {register, N} -> N;
         false -> undefined
     end}.

%%% Scenario processes ------------------------------------------------------

%% Spawns a scenario process from the calling process. The name is
%% registered before anyone else can see the pid, as otpc_spawn does.
do_spawn(Ctl, Q, {Link, Monitor, Trap, Reg}) ->
    case Reg =/= undefined andalso whereis(Reg) =/= undefined of
        true ->
            {error, badarg};
        false ->
            Opts = [link || Link] ++ [monitor || Monitor],
            Gate = make_ref(),
            Result = spawn_opt(?MODULE, proc_init, [Ctl, Q, {Gate, Trap}], Opts),
            Pid = case Result of {P, _} -> P; P -> P end,
            Reg =/= undefined andalso register(Reg, Pid),
            Pid ! Gate,
            Result
    end.

proc_init(Ctl, Name, {Gate, Trap}) ->
    %% The gate holds the process until the spawner has registered it.
    receive Gate -> ok end,
    Trap andalso process_flag(trap_exit, true),
    Ctl ! {'$ev', self(), {started, Name}},
    receive {'$cmd', monitored} -> ok end,
    Ctl ! {'$ev', self(), ready},
    loop(Ctl, eager).

loop(Ctl, eager) ->
    receive
        {'$cmd', Op} -> command(Ctl, Op, eager);
        Msg -> Ctl ! {'$ev', self(), {recv, Msg}}, loop(Ctl, eager)
    end;
loop(Ctl, hold) ->
    receive
        {'$cmd', Op} -> command(Ctl, Op, hold)
    end.

command(Ctl, final_release, _Mode) ->
    loop(Ctl, eager);
command(Ctl, final_sync, Mode) ->
    Ctl ! {'$ev', self(), synced},
    loop(Ctl, Mode);
command(Ctl, hold, _Mode) ->
    Ctl ! {'$ev', self(), {done, ok}},
    loop(Ctl, hold);
command(Ctl, release, _Mode) ->
    Ctl ! {'$ev', self(), {done, ok}},
    loop(Ctl, eager);
command(Ctl, Op, Mode) ->
    Result = try op(Ctl, Op) catch error:Reason -> {error, Reason} end,
    Ctl ! {'$ev', self(), {done, Result}},
    loop(Ctl, Mode).

op(Ctl, {spawn, Q, Args}) -> do_spawn(Ctl, Q, Args);
op(_, {send, Pid, Msg}) -> Pid ! Msg, ok;
op(_, {send_name, N, Msg}) -> N ! Msg, ok;
op(_, {link, Pid}) -> link(Pid);
op(_, {unlink, Pid}) -> unlink(Pid);
op(_, {monitor, Pid}) -> erlang:monitor(process, Pid);
op(_, {monitor_name, N}) -> erlang:monitor(process, N);
op(_, {demonitor, Ref, Opts}) -> erlang:demonitor(Ref, Opts);
op(_, {exit_signal, Pid, Reason}) -> exit(Pid, Reason);
op(_, {exit, Reason}) -> exit(Reason);
op(_, {trap_exit, B}) -> process_flag(trap_exit, B);
op(_, {register, N, Pid}) -> register(N, Pid);
op(_, {unregister, N}) -> unregister(N);
op(_, {whereis, N}) -> whereis(N);
op(_, {wait_queued, N}) -> wait_queued(N, erlang:monotonic_time(millisecond) + ?TIMEOUT);
op(_, {send_after, Ms, Pid, Msg}) -> erlang:send_after(Ms, Pid, Msg);
op(_, {cancel_timer, Ref}) ->
    case erlang:cancel_timer(Ref) of
        false -> false;
        Left when is_integer(Left) -> time_left
    end;
op(_, {unknown_op, _}) -> {error, unknown_op};
op(Ctl, Op) -> family(fun(M) -> M:op(Ctl, Op) end, {error, unknown_op}).

%% process_info of the caller itself takes in the signals that have arrived.
wait_queued(N, Deadline) ->
    case process_info(self(), message_queue_len) of
        {message_queue_len, L} when L >= N ->
            ok;
        _ ->
            case erlang:monotonic_time(millisecond) > Deadline of
                true -> timeout;
                false -> erlang:yield(), wait_queued(N, Deadline)
            end
    end.
