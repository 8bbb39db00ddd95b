%% The reporting gen_event handler of test/c/event_script.h in Erlang, for
%% event_SUITE: evh_a and evh_b are this handler under two module names, as
%% the C tables are. Every callback reports {Tag, Callback, Arg} to Ctl.
-module(evh_ref).
-export([init/1, handle_event/2, handle_call/2, handle_info/2, terminate/2]).

init({{Ctl, Tag, _}, Res}) ->
    Ctl ! {Tag, init_swapped, Res},
    {ok, {Ctl, Tag}};
init({Ctl, Tag, Mode}) ->
    Ctl ! {Tag, init, Mode},
    case Mode of
        fail -> {error, no_way};
        crash -> exit(init_boom);
        _ -> {ok, {Ctl, Tag}}
    end.

handle_event(Ev, {Ctl, Tag} = S) ->
    Ctl ! {Tag, event, Ev},
    case Ev of
        {crash, Tag} -> exit(boom);
        {remove, Tag} -> remove_handler;
        {swap, Tag} -> {swap_handler, swap_args1, S, evh_b, {Ctl, swapped_in, ok}};
        _ -> {ok, S}
    end.

handle_call(Q, {Ctl, Tag} = S) ->
    Ctl ! {Tag, call, Q},
    case Q of
        ping -> {ok, {pong, Tag}, S};
        crash -> exit(call_boom);
        remove -> {remove_handler, removing};
        _ -> {ok, ok, S}
    end.

handle_info(I, {Ctl, Tag} = S) ->
    Ctl ! {Tag, info, I},
    {ok, S}.

terminate(Args, {Ctl, Tag}) ->
    Ctl ! {Tag, terminate, Args},
    {res, Tag}.
