%% @doc The gen_statem family of the differential scenarios, BEAM side:
%% the puppet state machine and the gen_statem ops. cnode/tools/scn_sm.c is
%% the same on otpc; docs/scenarios.md lists the ops and actions.
%%
%% The puppet is a handle_event_function machine (with state_enter when its
%% init script says `state_enter'). Every callback is an entry of its trace:
%% {init, Script}, {Type, Content, State} (Type: enter, call, cast, info,
%% internal, timeout, state_timeout, {timeout, Name}; for enter, Content is
%% the old state) and {terminate, Reason, State}. An event whose content is
%% {do, Actions} runs Actions, one of {do_in, [{State, Actions}]} the
%% actions listed for the current state (none if it is not listed); an
%% enter call runs the actions given for its
%% state by {on_enter, State, Actions}. Like the gen_server puppet, it links
%% to the controller and announces itself first thing in init.
-module(scenario_erl_sm).

-behaviour(gen_statem).

-export([op/2, real_op/2]).
-export([init/1, callback_mode/0, handle_event/4, terminate/3]).

%%% Ops ----------------------------------------------------------------------

real_op({sm_start, Q, Script}, S) ->
    real_op({sm_start, Q, Script, []}, S);
real_op({sm_start, Q, Script, Opts}, S) ->
    {sm_start, Q, scenario_erl:real(Script, S), lists:member(link, Opts),
     case lists:keyfind(register, 1, Opts) of
         {register, N} -> N;
         false -> undefined
     end};
real_op({sm_call, To, Req}, S) ->
    {sm_call, target(To, S), scenario_erl:real(Req, S), default};
real_op({sm_call, To, Req, T}, S) ->
    {sm_call, target(To, S), scenario_erl:real(Req, S), T};
real_op({sm_cast, To, Msg}, S) ->
    {sm_cast, target(To, S), scenario_erl:real(Msg, S)};
real_op(_, _) ->
    nomatch.

target({reg, N}, _S) -> N;
target(P, S) -> scenario_erl:pid(P, S).

op(Ctl, {sm_start, Q, Script, Link, Reg}) ->
    Args = {Ctl, Q, Script},
    case {Link, Reg} of
        {false, undefined} -> gen_statem:start(?MODULE, Args, []);
        {true, undefined} -> gen_statem:start_link(?MODULE, Args, []);
        {false, N} -> gen_statem:start({local, N}, ?MODULE, Args, []);
        {true, N} -> gen_statem:start_link({local, N}, ?MODULE, Args, [])
    end;
op(_, {sm_call, To, Req, default}) ->
    catch_exit(fun() -> gen_statem:call(To, Req) end);
op(_, {sm_call, To, Req, T}) ->
    catch_exit(fun() -> gen_statem:call(To, Req, T) end);
op(_, {sm_cast, To, Msg}) ->
    gen_statem:cast(To, Msg);
op(_, _) ->
    nomatch.

catch_exit(F) ->
    try F() catch exit:R -> {exit, R} end.

%%% The puppet -----------------------------------------------------------------

callback_mode() ->
    case get('$scn_enter') of
        true -> [handle_event_function, state_enter];
        _ -> handle_event_function
    end.

init({Ctl, Q, Script}) ->
    link(Ctl),
    Ctl ! {'$ev', self(), {puppet, Q}},
    report(Ctl, {init, Script}),
    lists:member(state_enter, Script) andalso put('$scn_enter', true),
    Data0 = #{ctl => Ctl, froms => [], enter => #{}},
    case act(Script, none, Data0) of
        {#{ignore := true}, _} -> ignore;
        {#{stop := R}, _} -> {stop, R};
        {#{next := S, acts := Acts}, Data} -> {ok, S, Data, Acts}
    end.

handle_event(enter, Old, State, #{ctl := Ctl, enter := Enter} = Data0) ->
    report(Ctl, {enter, Old, State}),
    result(act(maps:get(State, Enter, []), none, Data0));
handle_event(Type, Content, State, #{ctl := Ctl} = Data0) ->
    {Name, From} = case Type of
                       {call, F} -> {call, F};
                       _ -> {Type, none}
                   end,
    report(Ctl, {Name, Content, State}),
    Actions = case Content of
                  {do, A} when is_list(A) -> A;
                  {do_in, PerState} when is_list(PerState) ->
                      proplists:get_value(State, PerState, []);
                  _ -> []
              end,
    result(act(Actions, From, Data0)).

terminate(Reason, State, #{ctl := Ctl}) ->
    report(Ctl, {terminate, Reason, State}).

report(Ctl, Entry) ->
    Ctl ! {'$ev', self(), {cb, Entry}}.

result({#{stop := R, acts := Acts}, Data}) ->
    case [A || {reply, _, _} = A <- Acts] of
        [] -> {stop, R, Data};
        Replies -> {stop_and_reply, R, Replies, Data}
    end;
result({#{repeat := true, acts := Acts}, Data}) -> {repeat_state, Data, Acts};
result({#{next := S, acts := Acts}, Data}) -> {next_state, S, Data, Acts};
result({#{acts := Acts}, Data}) -> {keep_state, Data, Acts}.

act(Actions, From, Data) ->
    {R, D} = lists:foldl(fun(A, {R, D}) -> act1(A, R, D, From) end,
                         {#{acts => []}, Data}, Actions),
    {R#{acts := lists:reverse(maps:get(acts, R))}, D}.

add(A, #{acts := Acts} = R) -> R#{acts := [A | Acts]}.

act1({next_state, S}, R, D, _) -> {R#{next => S}, D};
act1(repeat_state, R, D, _) -> {R#{repeat => true}, D};
act1({reply, X}, R, D, From) -> {add({reply, From, X}, R), D};
act1(store_from, R, #{froms := Fs} = D, From) -> {R, D#{froms := Fs ++ [From]}};
act1({reply_stored, X}, R, #{froms := [F | Fs]} = D, _) ->
    gen_statem:reply(F, X),
    {R, D#{froms := Fs}};
act1(postpone, R, D, _) -> {add(postpone, R), D};
act1({next_event, T, C}, R, D, _) -> {add({next_event, T, C}, R), D};
act1({timeout, Ms, Msg}, R, D, _) -> {add({timeout, Ms, Msg}, R), D};
act1({state_timeout, Ms, Msg}, R, D, _) -> {add({state_timeout, Ms, Msg}, R), D};
act1({generic_timeout, N, Ms, Msg}, R, D, _) -> {add({{timeout, N}, Ms, Msg}, R), D};
act1({cancel, T}, R, D, _) -> {add({T, cancel}, R), D};
act1({stop, Reason}, R, D, _) -> {R#{stop => Reason}, D};
act1(ignore, R, D, _) -> {R#{ignore => true}, D};
act1(state_enter, R, D, _) -> {R, D};
act1({crash, Reason}, _, _, _) -> exit(Reason);
act1({trap_exit, B}, R, D, _) -> process_flag(trap_exit, B), {R, D};
act1({send, To, Msg}, R, D, _) -> To ! Msg, {R, D};
act1({on_enter, S, As}, R, #{enter := E} = D, _) -> {R, D#{enter := E#{S => As}}}.
