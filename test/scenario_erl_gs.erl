%% @doc The gen_server family of the differential scenarios, BEAM side:
%% the puppet server and the gen_server ops. cnode/tools/scn_gs.c is the
%% same on otpc; scenario_erl runs the steps (its header documents the
%% language, docs/scenarios.md these ops).
%%
%% A puppet is a gen_server whose callbacks do what the message they handle
%% says: a request, cast or info `{do, Actions}' runs Actions in order, any
%% other term runs none. Its init runs the script given at start. Every
%% callback is an entry of the puppet's trace ({init, Script},
%% {handle_call, Req}, {handle_cast, Req}, {handle_info, Msg},
%% {handle_continue, C}, {terminate, Reason}); its exit reason comes
%% through a link to the (trapping) controller made first thing in init,
%% so no exit can go unseen, whatever init does.
%%
%% Actions (a callback's result is built from them; none: {ok, S} or
%% {noreply, S}):
%%   {reply, X}          handle_call: {reply, X, S}
%%   store_from          handle_call: keep From (a queue)
%%   {reply_stored, X}   gen_server:reply(oldest kept From, X)
%%   {stop, R}           {stop, R, S}; with a reply: {stop, R, X, S};
%%                       in init {stop, R}
%%   ignore              init: ignore
%%   {crash, R}          exit(R) inside the callback
%%   {timeout, Ms} | hibernate | {continue, C}   the result's last element
%%   {trap_exit, B}      process_flag(trap_exit, B)
%%   {send, To, Msg}     To ! Msg
%%   {on_terminate, To}  terminate will send To {terminated, Self, Reason}
%%   {call, To, Req, T}  gen_server:call(To, Req, T) (T: ms or infinity),
%%                       its result an entry {call_result, R} ({exit, R}
%%                       if it exits); must be the last action (the C
%%                       side resumes no further)
-module(scenario_erl_gs).

-behaviour(gen_server).

-export([op/2, real_op/2, start_link/3, start_link/4]).
-export([init/1, handle_call/3, handle_cast/2, handle_info/2,
         handle_continue/2, terminate/2]).

%%% Ops ----------------------------------------------------------------------

%% @doc The command for a gen_server op: names resolved. `nomatch' if the op
%% is not of this family.
real_op({gs_start, Q, Script}, S) ->
    real_op({gs_start, Q, Script, []}, S);
real_op({gs_start, Q, Script, Opts}, S) ->
    {gs_start, Q, scenario_erl:real(Script, S), lists:member(link, Opts),
     case lists:keyfind(register, 1, Opts) of
         {register, N} -> N;
         false -> undefined
     end};
real_op({gs_call, To, Req}, S) ->
    {gs_call, target(To, S), scenario_erl:real(Req, S), default};
real_op({gs_call, To, Req, T}, S) ->
    {gs_call, target(To, S), scenario_erl:real(Req, S), T};
real_op({gs_cast, To, Req}, S) ->
    {gs_cast, target(To, S), scenario_erl:real(Req, S)};
real_op({gs_stop, To}, S) ->
    {gs_stop, target(To, S), normal, default};
real_op({gs_stop, To, Reason}, S) ->
    {gs_stop, target(To, S), scenario_erl:real(Reason, S), infinity};
real_op({gs_stop, To, Reason, T}, S) ->
    {gs_stop, target(To, S), scenario_erl:real(Reason, S), T};
real_op(_, _) ->
    nomatch.

target({reg, N}, _S) -> N;
target(P, S) -> scenario_erl:pid(P, S).

%% @doc Runs a gen_server op in a scenario process. Exits of the client
%% functions are results ({exit, Reason}), as the C side's statuses.
op(Ctl, {gs_start, Q, Script, Link, Reg}) ->
    Args = {Ctl, Q, Script},
    case {Link, Reg} of
        {false, undefined} -> gen_server:start(?MODULE, Args, []);
        {true, undefined} -> gen_server:start_link(?MODULE, Args, []);
        {false, N} -> gen_server:start({local, N}, ?MODULE, Args, []);
        {true, N} -> gen_server:start_link({local, N}, ?MODULE, Args, [])
    end;
op(_, {gs_call, To, Req, default}) ->
    catch_exit(fun() -> gen_server:call(To, Req) end);
op(_, {gs_call, To, Req, T}) ->
    catch_exit(fun() -> gen_server:call(To, Req, T) end);
op(_, {gs_cast, To, Req}) ->
    gen_server:cast(To, Req);
op(_, {gs_stop, To, normal, default}) ->
    catch_exit(fun() -> gen_server:stop(To) end);
op(_, {gs_stop, To, Reason, T}) ->
    catch_exit(fun() -> gen_server:stop(To, Reason, T) end);
op(_, _) ->
    nomatch.

catch_exit(F) ->
    try F() catch exit:R -> {exit, R} end.

%% @doc For child specs: a linked puppet.
start_link(Ctl, Q, Script) ->
    gen_server:start_link(?MODULE, {Ctl, Q, Script}, []).

%% @doc For simple_one_for_one: start_child(Sup, [Script]) replaces the
%% template's script.
start_link(Ctl, Q, _Template, Script) ->
    start_link(Ctl, Q, Script).

%%% The puppet -----------------------------------------------------------------

init({Ctl, Q, Script}) ->
    link(Ctl),
    Ctl ! {'$ev', self(), {puppet, Q}},
    report(Ctl, {init, Script}),
    {St, R} = act(Script, #{ctl => Ctl, froms => []}, none),
    case R of
        #{ignore := true} -> ignore;
        #{stop := Reason} -> {stop, Reason};
        _ -> with_extra({ok, St}, R)
    end.

handle_call(Req, From, #{ctl := Ctl} = St0) ->
    report(Ctl, {handle_call, Req}),
    {St, R} = act(actions(Req), St0, From),
    case R of
        #{stop := Reason, reply := X} -> {stop, Reason, X, St};
        #{stop := Reason} -> {stop, Reason, St};
        #{reply := X} -> with_extra({reply, X, St}, R);
        _ -> with_extra({noreply, St}, R)
    end.

handle_cast(Req, St) -> other(handle_cast, Req, St).

handle_info(Msg, St) -> other(handle_info, Msg, St).

handle_continue(C, St) -> other(handle_continue, C, St).

terminate(Reason, #{ctl := Ctl} = St) ->
    report(Ctl, {terminate, Reason}),
    case St of
        #{notify := To} -> To ! {terminated, self(), Reason};
        _ -> ok
    end.

other(Cb, T, #{ctl := Ctl} = St0) ->
    report(Ctl, {Cb, T}),
    {St, R} = act(actions(T), St0, none),
    case R of
        #{stop := Reason} -> {stop, Reason, St};
        _ -> with_extra({noreply, St}, R)
    end.

report(Ctl, Entry) ->
    Ctl ! {'$ev', self(), {cb, Entry}}.

actions({do, Actions}) when is_list(Actions) -> Actions;
actions(_) -> [].

with_extra(Result, #{extra := E}) -> erlang:append_element(Result, E);
with_extra(Result, _) -> Result.

act(Actions, St, From) ->
    lists:foldl(fun(A, {S, R}) -> act1(A, S, R, From) end, {St, #{}}, Actions).

act1({reply, X}, S, R, _) -> {S, R#{reply => X}};
act1(store_from, #{froms := Fs} = S, R, From) -> {S#{froms := Fs ++ [From]}, R};
act1({reply_stored, X}, #{froms := [F | Fs]} = S, R, _) ->
    gen_server:reply(F, X),
    {S#{froms := Fs}, R};
act1({stop, Reason}, S, R, _) -> {S, R#{stop => Reason}};
act1(ignore, S, R, _) -> {S, R#{ignore => true}};
act1({crash, Reason}, _, _, _) -> exit(Reason);
act1({timeout, Ms}, S, R, _) -> {S, R#{extra => Ms}};
act1(hibernate, S, R, _) -> {S, R#{extra => hibernate}};
act1({continue, C}, S, R, _) -> {S, R#{extra => {continue, C}}};
act1({trap_exit, B}, S, R, _) -> process_flag(trap_exit, B), {S, R};
act1({send, To, Msg}, S, R, _) -> To ! Msg, {S, R};
act1({on_terminate, To}, S, R, _) -> {S#{notify => To}, R};
act1({call, To, Req, T}, #{ctl := Ctl} = S, R, _) ->
    report(Ctl, {call_result, catch_exit(fun() -> gen_server:call(To, Req, T) end)}),
    {S, R}.
