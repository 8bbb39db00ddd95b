%% OTP's gen_statem running the scripts of test/c/statem_script.h, for
%% statem_SUITE: every callback reports {Type, Content, State} to the
%% control process; events carry the actions to take as a list. Mode plain
%% is handle_event_function, enter adds state_enter.
-module(statem_ref).
-behaviour(gen_statem).
-export([start/3, callback_mode/0, init/1, handle_event/4, terminate/3]).

start(Ctl, Mode, Init) ->
    gen_statem:start(?MODULE, {Ctl, Mode, Init}, []).

%% Called in the machine's process after init, so init's put/2 picks it.
callback_mode() ->
    case get(mode) of
        enter -> [handle_event_function, state_enter];
        _ -> handle_event_function
    end.

init({Ctl, Mode, Init}) ->
    put(mode, Mode),
    D = #{ctl => Ctl, enter => [], saved => undefined},
    case Init of
        ignore -> ignore;
        {stop, R} -> {stop, R};
        crash -> exit(init_crashed);
        Acts when is_list(Acts) ->
            {D1, R} = run(Acts, undefined, D, #{}),
            {ok, maps:get(next, R, a), D1, actions(R)}
    end.

handle_event(Type, Content, State, #{ctl := Ctl} = D) ->
    Ctl ! {case Type of {call, _} -> call; _ -> Type end, Content, State},
    Acts = case Type of
               enter ->
                   case lists:keyfind(State, 1, maps:get(enter, D)) of
                       {_, A} -> A;
                       false -> []
                   end;
               _ -> Content
           end,
    From = case Type of {call, F} -> F; _ -> undefined end,
    {D1, R} = run(Acts, From, D, #{}),
    result(R, D1).

terminate(Reason, State, #{ctl := Ctl}) ->
    Ctl ! {terminate, Reason, State}.

%% The actions as the C machine's setters take them: state, repeat and stop
%% are results; the rest are actions, in order.
run(Acts, From, D, R) when is_list(Acts) ->
    lists:foldl(fun(A, {Dx, Rx}) -> act(A, From, Dx, Rx) end, {D, R}, Acts);
run(_, _, D, R) ->
    {D, R}.

act({next, S}, _, D, R) -> {D, R#{next => S}};
act(repeat, _, D, R) -> {D, R#{repeat => true}};
act(postpone, _, D, R) -> {D, add(postpone, R)};
act(hibernate, _, D, R) -> {D, add(hibernate, R)};
act({reply, X}, From, D, R) -> {D, add({reply, From, X}, R)};
act(save, From, D, R) -> {D#{saved := From}, R};
act({release, X}, _, #{saved := S} = D, R) -> {D, add({reply, S, X}, R)};
act({ev, T, C}, _, D, R) -> {D, add({next_event, T, C}, R)};
act({timeout, T, M}, _, D, R) -> {D, add({timeout, T, M}, R)};
act({state_timeout, T, M}, _, D, R) -> {D, add({state_timeout, T, M}, R)};
act({gtimeout, N, T, M}, _, D, R) -> {D, add({{timeout, N}, T, M}, R)};
act({cancel, T}, _, D, R) -> {D, add({T, cancel}, R)};
act({gcancel, N}, _, D, R) -> {D, add({{timeout, N}, cancel}, R)};
act({stop, X}, _, D, R) -> {D, R#{stop => X}};
act(crash, _, _, _) -> exit(boom);
act({send, X}, _, #{ctl := Ctl} = D, R) -> Ctl ! X, {D, R};
act({set_enter, L}, _, D, R) -> {D#{enter := L}, R};
act(_, _, D, R) -> {D, R}.

add(A, R) -> R#{actions => [A | maps:get(actions, R, [])]}.

actions(R) -> lists:reverse(maps:get(actions, R, [])).

result(#{stop := X} = R, D) ->
    case [A || {reply, _, _} = A <- actions(R)] of
        [] -> {stop, X, D};
        Replies -> {stop_and_reply, X, Replies, D}
    end;
result(#{next := S} = R, D) -> {next_state, S, D, actions(R)};
result(#{repeat := true} = R, D) -> {repeat_state, D, actions(R)};
result(R, D) -> {keep_state, D, actions(R)}.
