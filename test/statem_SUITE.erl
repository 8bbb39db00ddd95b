%% gen_statem against OTP: the scripts of test/c/statem_script.h run on
%% OTP's gen_statem (statem_ref) and on a C gen_statem hosted by the C node
%% probe_behaviours, driven from this (real BEAM) node with gen_statem:call,
%% cast and stop; the traces (every callback with its state, the replies,
%% the exit reasons) must be identical. Timeouts that fire are waited for
%% by the trace length, never by sleeping.
-module(statem_SUITE).
-include_lib("common_test/include/ct.hrl").
-export([all/0, init_per_suite/1, end_per_suite/1, end_per_testcase/2]).
-export([enter_calls/1, postpone/1, next_event_order/1, replies/1,
         event_timeout/1, state_timeout/1, generic_timeouts/1,
         stop_and_reply/1, crash/1, bad_enter_action/1, init_results/1,
         erlang_call_into_c/1]).

-define(T, 5000).

all() ->
    [enter_calls, postpone, next_event_order, replies, event_timeout,
     state_timeout, generic_timeouts, stop_and_reply, crash, bad_enter_action,
     init_results, erlang_call_into_c].

init_per_suite(Config) ->
    case is_alive() of
        false -> {skip, "the CT node is not distributed"};
        true ->
            [_, Host] = string:split(atom_to_list(node()), "@"),
            Name = "statem" ++ integer_to_list(erlang:unique_integer([positive])),
            Cookie = atom_to_list(erlang:get_cookie()),
            {ok, H, <<"ready ", N/binary>>} =
                otpc_test_lib:start_program(filename:join([otpc_test_lib:build_dir(), "test", "probe_behaviours"]),
                                            [Name ++ "@" ++ Host, Cookie],
                                            #{ready => "^ready "}),
            [{probe, H}, {node, binary_to_atom(N, utf8)} | Config]
    end.

end_per_suite(Config) ->
    otpc_test_lib:stop_program(?config(probe, Config)),
    otpc_test_lib:cleanup().

end_per_testcase(_Case, _Config) ->
    ok.

%%% Running a script on both -------------------------------------------

start_c(Node, Mode, Init) ->
    Ref = make_ref(),
    {starter, Node} ! {start, self(), Ref, self(), Mode, Init},
    receive {Ref, R} -> R after ?T -> ct:fail({no_start, Node}) end.

start_erl(Mode, Init) ->
    statem_ref:start(self(), Mode, Init).

%% Runs the steps against Pid; the trace is the list of what came back.
steps(_Pid, _Mref, [], Acc) ->
    lists:reverse(Acc);
steps(Pid, Mref, [Step | T], Acc) ->
    Acc1 = case Step of
               {cast, A} -> gen_statem:cast(Pid, A), Acc;
               {info, A} -> Pid ! A, Acc;
               {call, A} -> [{reply, gen_statem:call(Pid, A, ?T)} | Acc];
               {expect, N} -> lists:reverse(collect(N), Acc);
               stop -> [{stopped, gen_statem:stop(Pid, normal, ?T)} | Acc];
               down ->
                   receive {'DOWN', Mref, process, _, R} -> [{down, unstack(R)} | Acc]
                   after ?T -> ct:fail({no_down, Acc})
                   end
           end,
    steps(Pid, Mref, T, Acc1).

%% An error's exit reason is {Reason, Stacktrace}: OTP's stack (gen_statem
%% frames) and ours ([]) cannot match, the reasons must.
unstack({R, []}) -> {R, stack};
unstack({R, [{M, _, _, _} | _]}) when is_atom(M) -> {R, stack};
unstack(R) -> R.

collect(0) -> [];
collect(N) ->
    receive
        {'DOWN', _, _, _, _} = D -> ct:fail({early_down, D});
        M -> [M | collect(N - 1)]
    after ?T -> ct:fail({trace_short_by, N})
    end.

both(Config, Mode, Init, Steps) ->
    Run = fun(Start) ->
                  {ok, Pid} = Start(),
                  Mref = monitor(process, Pid),
                  Trace = steps(Pid, Mref, Steps, []),
                  demonitor(Mref, [flush]),
                  %% Nothing more may come (a timeout that should not fire
                  %% would show in the next script's trace otherwise).
                  {Trace, receive X -> {extra, X} after 0 -> none end}
          end,
    Erl = Run(fun() -> start_erl(Mode, Init) end),
    C = Run(fun() -> start_c(?config(node, Config), Mode, Init) end),
    ct:log("OTP: ~p~notpc: ~p", [Erl, C]),
    Erl = C,
    Erl.

%%% Scripts (the cmocka tests' own) --------------------------------------

enter_calls(Config) ->
    both(Config, enter, [],
         [{expect, 1},
          {cast, [{next, b}]}, {expect, 2},
          {cast, [{next, b}]}, {expect, 1},
          {cast, [repeat]}, {expect, 2},
          {cast, [{set_enter, [{c, [{send, in_c}]}]}, {next, c}]}, {expect, 3},
          stop, {expect, 1}]),
    both(Config, plain, [],
         [{cast, [{next, b}]}, {cast, []}, {expect, 2}, stop, {expect, 1}]).

postpone(Config) ->
    both(Config, plain, [],
         [{cast, [postpone]}, {info, [postpone, {send, p2}]},
          {cast, [{next, a}]},
          {cast, [{next, b}, {ev, internal, [{send, n1}]}]},
          {expect, 10},
          {cast, [{next, a}, postpone]}, {expect, 5},
          stop, {expect, 1}]).

next_event_order(Config) ->
    both(Config, plain, [],
         [{cast, [{ev, internal, [{ev, internal, x1}]}, {ev, cast, c2},
                  {ev, info, i3}]},
          {expect, 5}, stop, {expect, 1}]).

replies(Config) ->
    both(Config, enter, [],
         [{expect, 1},
          {call, [{reply, r1}, {next, b}]}, {expect, 2},
          {cast, [{send, x}]}, {expect, 2},
          stop, {expect, 1}]).

event_timeout(Config) ->
    both(Config, plain, [],
         [{cast, [{timeout, 20, t1}]}, {expect, 2},
          {cast, [{timeout, 60000, t2}]}, {cast, []}, {expect, 2},
          {cast, [{timeout, 0, z}, {ev, internal, i}]}, {expect, 2},
          {cast, [{timeout, 0, z2}]}, {cast, [{send, aft}]}, {expect, 4},
          {cast, [{timeout, 0, first}, {timeout, 0, second}]}, {expect, 2},
          {cast, [{timeout, 0, x}, {cancel, timeout}, {send, c}]}, {expect, 2},
          stop, {expect, 1}]).

state_timeout(Config) ->
    both(Config, plain, [],
         [{cast, [{state_timeout, 30, st1}]}, {cast, []}, {expect, 3},
          {cast, [{state_timeout, 60000, st2}]}, {cast, [{next, b}]},
          {cast, [{state_timeout, update, st3}]}, {expect, 4},
          {cast, [{state_timeout, 20, old}]},
          {cast, [{state_timeout, update, new}]}, {expect, 3},
          stop, {expect, 1}]).

generic_timeouts(Config) ->
    both(Config, plain, [],
         [{cast, [{gtimeout, g1, 20, m1}, {gtimeout, g2, 60000, m2},
                  {next, b}]}, {expect, 2},
          {cast, [{gcancel, g2}, {gtimeout, g3, 0, m3}, {gtimeout, g4, 0, m4}]},
          {expect, 3},
          {cast, [{gtimeout, g5, 60000, old}]},
          {cast, [{gtimeout, g5, 10, new}]}, {expect, 3},
          stop, {expect, 1}]).

stop_and_reply(Config) ->
    both(Config, plain, [],
         [{call, [{reply, bye}, {stop, {shutdown, x}}]}, {expect, 2}, down]).

crash(Config) ->
    both(Config, plain, [], [{cast, [crash]}, {expect, 2}, down]).

bad_enter_action(Config) ->
    both(Config, enter, [{set_enter, [{b, [postpone]}]}],
         [{expect, 1}, {cast, [{next, b}]}, {expect, 3}, down]).

init_results(Config) ->
    Node = ?config(node, Config),
    ignore = start_erl(plain, ignore),
    {1} = start_c(Node, plain, ignore), % OTPC_GS_IGNORE
    {error, bad} = start_erl(plain, {stop, bad}),
    {2, bad} = start_c(Node, plain, {stop, bad}), % OTPC_GS_ERROR
    {error, init_crashed} = start_erl(plain, crash),
    {2, init_crashed} = start_c(Node, plain, crash),
    %% init's actions: the enter call, inserted events, postpone ignored.
    both(Config, enter,
         [{timeout, 0, t0}, {ev, internal, i1}, postpone, {ev, cast, c1}],
         [{expect, 3}, {call, [{reply, r}]}, {expect, 1}, stop, {expect, 1}]).

%% gen_statem's client API from this BEAM on a C machine by pid and by
%% {Name, Node}-less pid; sys:terminate's answer lets gen_statem:stop end.
erlang_call_into_c(Config) ->
    {ok, Pid} = start_c(?config(node, Config), plain, []),
    r = gen_statem:call(Pid, [{reply, r}]),
    {call, [{reply, r}], a} = receive M1 -> M1 after ?T -> ct:fail(no_trace) end,
    {'EXIT', {timeout, _}} = (catch gen_statem:call(Pid, [], 100)),
    {call, [], a} = receive M2 -> M2 after ?T -> ct:fail(no_trace) end,
    ok = gen_statem:cast(Pid, [{next, b}]),
    {cast, [{next, b}], a} = receive M3 -> M3 after ?T -> ct:fail(no_trace) end,
    ok = gen_statem:stop(Pid),
    {terminate, normal, b} = receive M4 -> M4 after ?T -> ct:fail(no_trace) end,
    {'EXIT', {noproc, _}} = (catch gen_statem:call(Pid, x, 1000)),
    ok.
