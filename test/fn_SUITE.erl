%% @doc otpc_fn (docs/fn.md): the same C functions (fn/calc.c) deployed as a
%% NIF (otpc_fn_calc), a port program (otpc-fn-port) and a C node
%% (otpc-fn-node) give the
%% same results and the same errors, checked on real processes and a real
%% distribution connection.
-module(fn_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_testcase/2, end_per_testcase/2]).
-export([known_answers/1, same_everywhere/1, generated/1, unknown/1,
         nif_toolkit_badarg/1, erpc_shape_on_beam/1]).

all() -> [known_answers, same_everywhere, generated, unknown, nif_toolkit_badarg,
          erpc_shape_on_beam].

init_per_testcase(_, Config) ->
    {ok, P} = otpc_port:start_link(otpc_test_lib:executable("otpc-fn-port"), #{}),
    Name = "fn" ++ integer_to_list(erlang:unique_integer([positive])),
    {ok, H, <<"ready ", N/binary>>} =
        otpc_test_lib:start_program(
          "otpc-fn-node",
          ["--sname", Name, "--cookie", atom_to_list(erlang:get_cookie())],
          #{ready => "^ready "}),
    [{port, P}, {cnode, binary_to_atom(N, utf8)}, {handle, H} | Config].

end_per_testcase(_, Config) ->
    unlink(?config(port, Config)),
    catch otpc_port:stop(?config(port, Config)),
    otpc_test_lib:cleanup(),
    ok.

%% The outcome as {ok, Result} | {error, Reason} from each deployment.
via_port(Config, F, Args) ->
    {ok, Reply} = otpc_port:call(?config(port, Config), list_to_tuple([F | Args]), 5000),
    Reply.

via_cnode(Config, F, Args) ->
    try erpc:call(?config(cnode, Config), otpc_fn_calc, F, Args, 5000) of
        R -> {ok, R}
    catch error:{exception, Reason, [{otpc_fn_calc, F, _, _} | _]} ->
        %% erpc:call raises a remote error:R as error:{exception, R, Stack},
        %% the stack naming the function (checked on a BEAM node: the same).
        {error, Reason}
    end.

via_nif(F, Args) ->
    try apply(otpc_fn_calc, F, Args) of
        R -> {ok, R}
    catch error:Reason -> {error, Reason}
    end.

%% The outcome, required identical from the NIF, the port program and the
%% C node.
both(Config, F, Args) ->
    N = via_nif(F, Args),
    P = via_port(Config, F, Args),
    C = via_cnode(Config, F, Args),
    case N =:= P andalso P =:= C of
        true -> P;
        false -> ct:fail({differ, F, Args, {nif, N}, {port, P}, {cnode, C}})
    end.

known_answers(Config) ->
    {ok, 3} = both(Config, add, [1, 2]),
    {ok, 1000} = both(Config, add, [1000, 0]),
    {error, overflow} = both(Config, add, [1, 9223372036854775807]),
    {ok, 2.0} = both(Config, mean, [[1, 2.0, 3]]),
    {error, {empty_list, mean}} = both(Config, mean, [[]]),
    {ok, 1} = both(Config, pick, [min, {1, 7}]),
    {ok, 7} = both(Config, pick, [max, {1, 7}]),
    {ok, <<"abcd">>} = both(Config, join, [<<"ab">>, <<"cd">>, false]),
    {ok, <<"dcba">>} = both(Config, join, [<<"ab">>, <<"cd">>, true]),
    {error, {badarg, #{argument := 1, expected := <<"int(0..1000)">>,
                       received := -1, path := [],
                       function := <<"otpc_fn_calc:add/2">>,
                       message := <<"otpc_fn_calc:add/2: argument 1: expected "
                                    "int(0..1000), received -1">>}}} =
        both(Config, add, [-1, 2]),
    {error, {badarg, #{argument := 2, expected := <<"int">>,
                       path := [{element, 2}],
                       message := <<"otpc_fn_calc:pick/2: argument 2, element 2: "
                                    "expected int, received x">>}}} =
        both(Config, pick, [min, {1, x}]),
    {error, {badarg, #{argument := 1, path := [{item, 2}], received := a}}} =
        both(Config, mean, [[1, a]]),
    {error, {badarg, #{argument := 1, expected := <<"atom(min|max)">>}}} =
        both(Config, pick, [middle, {1, 2}]),
    Big = binary:copy(<<"x">>, 100),
    {error, {badarg, #{argument := 3, received := Big,
                       message := <<"otpc_fn_calc:join/3: argument 3: expected "
                                    "bool, received a bitstring (too large to print)">>}}} =
        both(Config, join, [<<>>, <<>>, Big]),
    ok.

%% A table of good and bad inputs of every kind: identical outcomes.
same_everywhere(Config) ->
    Table = [{add, [0, -5]}, {add, [1001, 0]}, {add, [1.0, 2]}, {add, [1, 1 bsl 70]},
             {add, [1, -9223372036854775808]}, {add, [x, y]},
             {mean, [[]]}, {mean, [[1 | 2]]}, {mean, [[1, 1 bsl 2000]]}, {mean, [notalist]},
             {mean, [[0.5, -3, 1 bsl 62]]}, {mean, ["abc"]},
             {pick, [max, {1}]}, {pick, [max, [1, 2]]}, {pick, [max, {-3, -4}]},
             {pick, ["max", {1, 2}]}, {pick, [max, {1, 2.0}]},
             {join, [<<1:3>>, <<>>, true]}, {join, [<<>>, <<>>, false]},
             {join, [<<"é"/utf8>>, "x", true]}, {join, [<<1, 2, 3>>, <<4>>, maybe]},
             {join, [make_ref(), self(), #{a => 1}]}],
    Outcomes = [both(Config, F, A) || {F, A} <- Table],
    %% The table exercises both outcomes, not only one of them.
    true = lists:any(fun({ok, _}) -> true; (_) -> false end, Outcomes),
    true = lists:any(fun({error, {badarg, _}}) -> true; (_) -> false end, Outcomes),
    ok.

%% Generated arguments (a fixed seed, so a failure repeats): random terms
%% of the kinds the specs take and of others, nested two deep, given to
%% every function; plus integers around add's range and int64's limits.
generated(Config) ->
    rand:seed(exsss, {1, 2, 3}),
    Edges = [-1, 0, 1, 999, 1000, 1001, 1 bsl 63 - 1, -(1 bsl 63), 1 bsl 63],
    Ints = Edges ++ [rand:uniform(4000) - 2000 || _ <- lists:seq(1, 40)],
    Adds = [{add, [A, B]} || A <- Ints, B <- lists:sublist(Edges, 4, 6)],
    Fns = [{add, 2}, {mean, 1}, {pick, 2}, {join, 3}],
    Random = [{F, [gen(2) || _ <- lists:seq(1, Ar)]}
              || _ <- lists:seq(1, 100), {F, Ar} <- Fns],
    Outs = [both(Config, F, A) || {F, A} <- Adds ++ Random],
    %% Both outcomes occur: the generator reaches results and badargs.
    Oks = length([ok || {ok, _} <- Outs]),
    Bads = length([bad || {error, {badarg, _}} <- Outs]),
    true = Oks > 0 andalso Bads > 0,
    ok.

gen(0) -> leaf();
gen(D) ->
    case rand:uniform(6) of
        1 -> [gen(D - 1) || _ <- lists:seq(1, rand:uniform(4) - 1)];
        2 -> list_to_tuple([gen(D - 1) || _ <- lists:seq(1, rand:uniform(3))]);
        3 -> [num() || _ <- lists:seq(1, rand:uniform(4))];
        4 -> {num_int(), num_int()};
        _ -> leaf()
    end.

leaf() ->
    case rand:uniform(9) of
        1 -> num_int();
        2 -> rand:uniform() * 1000 - 500;
        3 -> lists:nth(rand:uniform(5), [min, max, true, false, x]);
        4 -> list_to_binary([rand:uniform(256) - 1 || _ <- lists:seq(1, rand:uniform(40) - 1)]);
        5 -> rand:uniform(1 bsl 80);
        6 -> "str";
        7 -> <<(rand:uniform(255)):7>>;
        8 -> #{};
        9 -> []
    end.

num() -> case rand:uniform(2) of 1 -> num_int(); 2 -> rand:uniform() end.
num_int() -> rand:uniform(2100) - 1050.

unknown(Config) ->
    {error, {undef, nope, 0}} = via_port(Config, nope, []),
    {error, {undef, add, 3}} = via_port(Config, add, [1, 2, 3]),
    {exception, undef, [{otpc_fn_calc, nope, [], _}]} =
        try erpc:call(?config(cnode, Config), otpc_fn_calc, nope, [], 5000)
        catch error:E -> E
        end,
    ok.

%% The badarg reason is the NIF toolkit's: otpc_nif_example:sum_binary/1
%% (spec "bin", decoded by nif/call.c) and otpc_fn_calc:join/3 (spec "bin",
%% decoded by c_src/fn.c) are given the same bad terms. The fields are
%% equal; the sentence is equal but for the function name, except where
%% enif's "%T" prints differently from Erlang syntax (floats as
%% 1.500000e+00, maps without spaces, local pids and refs): those are
%% checked to differ only in the received text (docs/fn.md).
nif_toolkit_badarg(Config) ->
    SamePrint = [a, "ab", [1 | 2], {x, [<<1, 2>>, 3]}, 1 bsl 64, -7,
                 lists:seq(1, 30), <<1:3>>,
                 'Quoted atom', [], {}],
    OtherPrint = [1.5, -0.0, #{k => v}, self(), make_ref()],
    Check = fun(T, SameText) ->
              {error, {badarg, Nif}} = via_nif_toolkit(T),
              {error, {badarg, Fn}} = both(Config, join, [T, <<>>, true]),
              Same = maps:with([argument, expected, received, path], Nif),
              Same = maps:with([argument, expected, received, path], Fn),
              <<"otpc_nif_example:sum_binary/1", Rest/binary>> = maps:get(message, Nif),
              <<"otpc_fn_calc:join/3", Rest2/binary>> = maps:get(message, Fn),
              Prefix = <<": argument 1: expected bin, received ">>,
              <<Prefix:(byte_size(Prefix))/binary, _/binary>> = Rest,
              <<Prefix:(byte_size(Prefix))/binary, _/binary>> = Rest2,
              SameText = (Rest =:= Rest2)
            end,
    [Check(T, true) || T <- SamePrint],
    [Check(T, false) || T <- OtherPrint],
    ok.

via_nif_toolkit(T) ->
    try otpc_nif_example:sum_binary(T) of
        R -> {ok, R}
    catch error:Reason -> {error, Reason}
    end.

%% The shape via_cnode/3 unwraps is what erpc:call gives for an Erlang
%% function failing with error:Reason on a BEAM node, and the C node gives
%% it for the same reason (its stack: [{M, F, Arity, []}], see rpc.h).
erpc_shape_on_beam(Config) ->
    {ok, Peer, Beam} = otpc_test_lib:start_peer("fnbeam"),
    Reason = {badarg, #{argument => 1}},
    {exception, Reason, [{erlang, error, [Reason], _} | _]} =
        try erpc:call(Beam, erlang, error, [Reason], 5000)
        catch error:E1 -> E1
        end,
    {exception, {badarg, _}, [{otpc_fn_calc, add, 2, []}]} =
        try erpc:call(?config(cnode, Config), otpc_fn_calc, add, [-1, 2], 5000)
        catch error:E2 -> E2
        end,
    otpc_test_lib:stop_peer(Peer),
    ok.
