%% gen_event against OTP: the same steps run on an OTP gen_event manager
%% with the handlers evh_a and evh_b (test/evh_ref.erl) and on a C manager
%% with the C handlers of the same names (test/c/event_script.h) hosted by
%% the C node probe_behaviours, driven with gen_event's own API from this
%% (real BEAM) node; the traces (handler callbacks in order, replies,
%% gen_event_EXIT messages) must be identical.
-module(event_SUITE).
-include_lib("common_test/include/ct.hrl").
-export([all/0, init_per_suite/1, end_per_suite/1]).
-export([order_and_which/1, init_failures/1, crash_removes/1,
         delete_and_remove/1, swap/1, swap_sup/1, sup_exit/1,
         stop_order/1]).

-define(T, 5000).

all() ->
    [order_and_which, init_failures, crash_removes, delete_and_remove, swap,
     swap_sup, sup_exit, stop_order].

init_per_suite(Config) ->
    case is_alive() of
        false -> {skip, "the CT node is not distributed"};
        true ->
            [_, Host] = string:split(atom_to_list(node()), "@"),
            Name = "event" ++ integer_to_list(erlang:unique_integer([positive])),
            Probe = filename:join([otpc_test_lib:build_dir(), "test",
                                   "probe_behaviours"]),
            {ok, H, <<"ready ", N/binary>>} =
                otpc_test_lib:start_program(
                  Probe, [Name ++ "@" ++ Host, atom_to_list(erlang:get_cookie())],
                  #{ready => "^ready "}),
            [{probe, H}, {node, binary_to_atom(N, utf8)} | Config]
    end.

end_per_suite(Config) ->
    otpc_test_lib:stop_program(?config(probe, Config)),
    otpc_test_lib:cleanup().

%%% Running steps on both ----------------------------------------------

start_c(Node) ->
    Ref = make_ref(),
    {starter, Node} ! {start_mgr, self(), Ref},
    receive {Ref, {ok, Pid}} -> Pid after ?T -> ct:fail({no_start, Node}) end.

args(Tag, Mode) -> {self(), Tag, Mode}.

step(M, {add, H, Tag, Mode}) -> {added, gen_event:add_handler(M, H, args(Tag, Mode))};
step(M, {add_sup, H, Tag, Mode}) ->
    {added, gen_event:add_sup_handler(M, H, args(Tag, Mode))};
step(M, {notify, E}) -> gen_event:notify(M, E), none;
step(M, {sync, E}) -> {synced, gen_event:sync_notify(M, E)};
step(M, {info, I}) -> M ! I, none;
step(M, {call, H, Q}) -> {called, gen_event:call(M, H, Q, ?T)};
step(M, {delete, H, A}) -> {deleted, gen_event:delete_handler(M, H, A)};
step(M, {swap, H1, A1, H2, Tag}) ->
    {swapped, gen_event:swap_handler(M, {H1, A1}, {H2, args(Tag, ok)})};
step(M, {swap_sup, H1, A1, H2, Tag}) ->
    {swapped, gen_event:swap_sup_handler(M, {H1, A1}, {H2, args(Tag, ok)})};
step(M, which) -> {which, gen_event:which_handlers(M)};
step(M, stop) -> {stopped, gen_event:stop(M)};
step(_, {expect, N}) -> {got, collect(N)}.

collect(0) -> [];
collect(N) ->
    receive M -> [M | collect(N - 1)]
    after ?T -> ct:fail({trace_short_by, N})
    end.

both(Config, Steps) ->
    Run = fun(M) ->
                  T = [R || S <- Steps, (R = step(M, S)) =/= none],
                  {T, receive X -> {extra, X} after 0 -> none end}
          end,
    {ok, E} = gen_event:start(),
    Erl = Run(E),
    C = Run(start_c(?config(node, Config))),
    ct:log("OTP: ~p~notpc: ~p", [Erl, C]),
    Erl = C.

%%% Cases (the cmocka tests' own) --------------------------------------

order_and_which(Config) ->
    both(Config, [which, {add, evh_a, a, ok}, {add, {evh_b, 7}, b, ok},
                  {expect, 2}, which, {notify, {e, 1}}, {expect, 2},
                  {sync, s}, {expect, 2}, {info, hello}, {expect, 2},
                  stop, {expect, 2}]).

init_failures(Config) ->
    both(Config, [{add, evh_a, a, fail}, {add, evh_a, a, crash}, {expect, 2},
                  which, stop]).

crash_removes(Config) ->
    both(Config, [{add, evh_a, a, ok}, {add_sup, evh_b, b, ok}, {expect, 2},
                  {sync, {crash, b}}, {expect, 4}, which,
                  {call, evh_a, ping}, {call, evh_a, crash}, {expect, 3},
                  {call, evh_a, ping}, {call, nope, ping}, which, stop]).

delete_and_remove(Config) ->
    both(Config, [{add_sup, evh_a, a, ok}, {add, evh_b, b, ok}, {expect, 2},
                  {delete, evh_a, bye}, {expect, 2}, {delete, evh_a, bye},
                  {sync, {remove, b}}, {expect, 2},
                  {add, evh_b, b, ok}, {call, evh_b, remove}, {expect, 3},
                  which, stop]).

swap(Config) ->
    both(Config, [{add_sup, evh_a, a, ok}, {add, {evh_a, 2}, a2, ok},
                  {expect, 2}, {sync, {swap, a}}, {expect, 5}, which,
                  {swap, {evh_a, 2}, x1, {evh_b, 9}, s2}, {expect, 2}, which,
                  {swap, nope, x1, evh_a, s3}, {expect, 1}, which,
                  stop, {expect, 4}]).

%% swap_sup_handler: the caller supervises the new handler.
swap_sup(Config) ->
    both(Config, [{add, evh_a, a, ok}, {expect, 1},
                  {swap_sup, evh_a, x1, evh_b, s}, {expect, 2}, which,
                  {delete, evh_b, bye}, {expect, 2},
                  {swap_sup, nope, x2, evh_a, s2}, {expect, 1}, which,
                  stop, {expect, 2}]).

%% A supervising process's exit: {stop, Reason} to its handlers, then the
%% 'EXIT' to every handler as an info.
sup_exit(Config) ->
    Steps = fun(M) ->
                    Self = self(),
                    Sup = spawn(fun() ->
                                        Self ! {sup, gen_event:add_sup_handler(
                                                       M, evh_a, {Self, a, ok})},
                                        receive go -> exit(gone) end
                                end),
                    {sup, ok} = receive {sup, _} = R -> R after ?T -> ct:fail(no_sup) end,
                    ok = gen_event:add_handler(M, evh_b, {Self, b, ok}),
                    Sup ! go,
                    T = collect(4),
                    W = gen_event:which_handlers(M),
                    ok = gen_event:stop(M),
                    Last = collect(1),
                    %% The dead supervisor's pid differs between the runs.
                    [case X of
                         {b, info, {'EXIT', P, gone}} when P =:= Sup -> {b, info, sup_exit};
                         _ -> X
                     end || X <- T] ++ [W | Last]
            end,
    {ok, E} = gen_event:start(),
    Erl = Steps(E),
    C = Steps(start_c(?config(node, Config))),
    ct:log("OTP: ~p~notpc: ~p", [Erl, C]),
    Erl = C.

stop_order(Config) ->
    both(Config, [{add, evh_a, a, ok}, {add, evh_b, b, ok},
                  {add, {evh_a, x}, c, ok}, {expect, 3}, stop, {expect, 3}]).
