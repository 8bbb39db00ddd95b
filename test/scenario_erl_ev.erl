%% @doc The gen_event family of the differential scenarios, BEAM side: event
%% managers and a puppet handler, and the gen_event ops.
%% cnode/tools/scn_ev.c is the same on otpc; docs/scenarios.md lists the
%% ops and actions.
%%
%% A manager is announced by its starter ({watch, Pid, Name}) and
%% monitored by the controller. Its handlers are puppets
%% {scenario_erl_ev, Id}; their callbacks are entries of the manager's
%% trace, {Id, {init, Script}}, {Id, {handle_event, E}},
%% {Id, {handle_call, Q}}, {Id, {handle_info, I}}, {Id, {terminate, Args}},
%% in the one order the manager runs them. An event, query or info
%% {do, Actions} runs Actions; init runs the script given when added.
-module(scenario_erl_ev).

-behaviour(gen_event).

-export([op/2, real_op/2]).
-export([init/1, handle_event/2, handle_call/2, handle_info/2, terminate/2]).

%%% Ops ----------------------------------------------------------------------

real_op({ev_start, Q}, S) -> real_op({ev_start, Q, []}, S);
real_op({ev_start, Q, Opts}, _S) ->
    {ev_start, Q, lists:member(link, Opts),
     case lists:keyfind(register, 1, Opts) of
         {register, N} -> N;
         false -> undefined
     end};
real_op({Op, M}, S) when Op =:= ev_which ->
    {Op, target(M, S)};
real_op({Op, M, E}, S) when Op =:= ev_notify; Op =:= ev_sync_notify ->
    {Op, target(M, S), scenario_erl:real(E, S)};
real_op({Op, M, Id, T}, S) when Op =:= ev_add; Op =:= ev_add_sup; Op =:= ev_call;
                                Op =:= ev_delete ->
    {Op, target(M, S), Id, scenario_erl:real(T, S)};
real_op({ev_swap, M, Id1, Args1, Id2, Script2}, S) ->
    {ev_swap, target(M, S), Id1, scenario_erl:real(Args1, S), Id2,
     scenario_erl:real(Script2, S)};
real_op(_, _) ->
    nomatch.

target({reg, N}, _S) -> N;
target(P, S) -> scenario_erl:pid(P, S).

op(Ctl, {ev_start, Q, Link, Reg}) ->
    R = case {Link, Reg} of
            {false, undefined} -> gen_event:start();
            {true, undefined} -> gen_event:start_link();
            {false, N} -> gen_event:start({local, N});
            {true, N} -> gen_event:start_link({local, N})
        end,
    case R of
        {ok, Pid} -> Ctl ! {'$ev', self(), {watch, Pid, Q}};
        _ -> ok
    end,
    R;
op(_, {ev_which, M}) -> gen_event:which_handlers(M);
op(_, {ev_notify, M, E}) -> gen_event:notify(M, E);
op(_, {ev_sync_notify, M, E}) -> gen_event:sync_notify(M, E);
op(Ctl, {ev_add, M, Id, Script}) ->
    gen_event:add_handler(M, {?MODULE, Id}, {Ctl, Id, Script});
op(Ctl, {ev_add_sup, M, Id, Script}) ->
    gen_event:add_sup_handler(M, {?MODULE, Id}, {Ctl, Id, Script});
op(_, {ev_call, M, Id, Q}) -> gen_event:call(M, {?MODULE, Id}, Q);
op(_, {ev_delete, M, Id, Args}) -> gen_event:delete_handler(M, {?MODULE, Id}, Args);
op(Ctl, {ev_swap, M, Id1, Args1, Id2, Script2}) ->
    gen_event:swap_handler(M, {{?MODULE, Id1}, Args1}, {{?MODULE, Id2}, {Ctl, Id2, Script2}});
op(_, _) ->
    nomatch.

%%% The puppet handler ---------------------------------------------------------

%% The arguments carry the Id (gen_event's callbacks are not told it).
%% After a swap, init gets {Args2, Res}: Res is what the old handler's
%% terminate returned.
init({{Ctl, Id, Script}, Res}) ->
    init(Ctl, Id, {Script, Res}, Script);
init({Ctl, Id, Script}) ->
    init(Ctl, Id, Script, Script).

init(Ctl, Id, Shown, Script) ->
    St = #{ctl => Ctl, id => Id, result => ok},
    report(St, {init, Shown}),
    case act(Script, St) of
        {#{init_fail := T}, _} -> T;
        {_, St1} -> {ok, St1}
    end.

handle_event(E, St) ->
    report(St, {handle_event, E}),
    result(act(actions(E), St)).

handle_call(Q, St) ->
    report(St, {handle_call, Q}),
    case act(actions(Q), St) of
        {#{remove := true, reply := X}, _} -> {remove_handler, X};
        {#{reply := X}, St1} -> {ok, X, St1};
        {#{remove := true}, _} -> {remove_handler, ok};
        {_, St1} -> {ok, ok, St1}
    end.

handle_info(I, St) ->
    report(St, {handle_info, I}),
    result(act(actions(I), St)).

terminate(Args, #{result := R} = St) ->
    report(St, {terminate, Args}),
    R.

report(#{ctl := Ctl, id := Id}, Entry) ->
    Ctl ! {'$ev', self(), {cb, {Id, Entry}}}.

actions({do, A}) when is_list(A) -> A;
actions(_) -> [].

result({#{swap := {Args1, Id2, Script2}}, #{ctl := Ctl} = St}) ->
    {swap_handler, Args1, St, {?MODULE, Id2}, {Ctl, Id2, Script2}};
result({#{remove := true}, _}) -> remove_handler;
result({_, St}) -> {ok, St}.

act(Actions, St) ->
    lists:foldl(fun(A, {R, S}) -> act1(A, R, S) end, {#{}, St}, Actions).

act1({reply, X}, R, S) -> {R#{reply => X}, S};
act1(remove_handler, R, S) -> {R#{remove => true}, S};
act1({swap, Args1, Id2, Script2}, R, S) -> {R#{swap => {Args1, Id2, Script2}}, S};
act1({init_fail, T}, R, S) -> {R#{init_fail => T}, S};
act1({terminate_result, X}, R, S) -> {R, S#{result := X}};
act1({crash, Reason}, _, _) -> exit(Reason);
act1({send, To, Msg}, R, S) -> To ! Msg, {R, S}.
