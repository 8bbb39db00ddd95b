%% @doc The C term layer, driven from a real BEAM through the otpc-term port
%% program: random terms (PropEr) must decode, re-encode to the bytes of
%% term_to_binary, print as io_lib's ~tp and compare as Erlang compares; the
%% builder and the matcher give what Erlang would; bad input gets a clear
%% error and the program goes on.
-module(term_port_SUITE).

-include_lib("common_test/include/ct.hrl").
-include_lib("proper/include/proper.hrl").

-export([all/0, init_per_testcase/2, end_per_testcase/2]).
-export([prop_roundtrip_bytes_and_print/1, prop_compare_agrees/1,
         build_gives_erlang_terms/1, match_captures_and_explains/1,
         garbage_gets_errors_and_program_goes_on/1,
         oversized_frame_ends_program_cleanly/1]).

-define(NUMTESTS, 300).

all() ->
    [prop_roundtrip_bytes_and_print, prop_compare_agrees, build_gives_erlang_terms,
     match_captures_and_explains, garbage_gets_errors_and_program_goes_on,
     oversized_frame_ends_program_cleanly].

init_per_testcase(_Case, Config) ->
    [{port, otpc_test_lib:open_port_program("otpc-term")} | Config].

end_per_testcase(_Case, _Config) ->
    otpc_test_lib:cleanup().

%%% Properties -----------------------------------------------------------

prop_roundtrip_bytes_and_print(Config) ->
    Port = ?config(port, Config),
    Prop = ?FORALL(T, gen_term(),
                   begin
                       {ok, Printed, Enc} = otpc_test_lib:port_call(Port, {roundtrip, T}),
                       Expected = term_to_binary(T, [{minor_version, 2}]),
                       ExpectedText = print(T),
                       ?WHENFAIL(ct:pal("term ~w~nbytes C ~w~nbytes E ~w~ntext C ~ts~ntext E ~ts",
                                        [T, Enc, Expected, Printed, ExpectedText]),
                                 Enc =:= Expected andalso Printed =:= ExpectedText)
                   end),
    true = proper:quickcheck(Prop, [{numtests, ?NUMTESTS}, {to_file, user}, long_result]).

prop_compare_agrees(Config) ->
    Port = ?config(port, Config),
    Prop = ?FORALL({A, B}, pair(),
                   begin
                       Got = otpc_test_lib:port_call(Port, {compare, A, B}),
                       Expected = {order(A, B), A =:= B},
                       ?WHENFAIL(ct:pal("A ~w~nB ~w~nC ~w~nErlang ~w", [A, B, Got, Expected]),
                                 Got =:= Expected)
                   end),
    true = proper:quickcheck(Prop, [{numtests, ?NUMTESTS}, {to_file, user}, long_result]).

%%% Examples --------------------------------------------------------------

build_gives_erlang_terms(Config) ->
    Port = ?config(port, Config),
    Cases = [{<<"{ok, 1, -2, 16#ff, 1.5, -0.0}">>, {ok, 1, -2, 255, 1.5, -0.0}},
             {<<"[a, 'B c', \"str\" | tail]">>, [a, 'B c', "str" | tail]},
             {<<"#{k => <<\"v\">>, 1 => [], {} => #{}}">>, #{k => <<"v">>, 1 => [], {} => #{}}},
             {<<"123456789012345678901234567890">>, 123456789012345678901234567890},
             {<<"<<1, 2, 255>>">>, <<1, 2, 255>>},
             {<<"$a">>, $a},
             {<<"'中文'"/utf8>>, '中文'},
             {<<"[]">>, []}],
    lists:foreach(
      fun({Format, Expected}) ->
              case otpc_test_lib:port_call(Port, {build, Format}) of
                  {ok, Expected} -> ok;
                  Other -> ct:fail({build, Format, expected, Expected, got, Other})
              end
      end, Cases),
    %% A syntax error names the place and what was expected.
    {error, Why} = otpc_test_lib:port_call(Port, {build, <<"{a, b">>}),
    match = re:run(Why, "offset", [{capture, none}]).

match_captures_and_explains(Config) ->
    Port = ?config(port, Config),
    Pid = self(),
    {match, [Pid, [x, y]]} =
        otpc_test_lib:port_call(Port, {match, <<"{call, ~t, ~t}">>, {call, Pid, [x, y]}}),
    {match, [1]} =
        otpc_test_lib:port_call(Port, {match, <<"[~t, 2 | tail]">>, [1, 2 | tail]}),
    %% The rest of a list is no term of its own, so it cannot be a view.
    {badpattern, _} =
        otpc_test_lib:port_call(Port, {match, <<"[~t | ~t]">>, [1, 2]}),
    {match, [42]} =
        otpc_test_lib:port_call(Port, {match, <<"#{id := ~t}">>, #{id => 42, other => 1}}),
    {match, []} = otpc_test_lib:port_call(Port, {match, <<"\"abc\"">>, "abc"}),
    %% Erlang's matching is exact: 1 does not match 1.0.
    {nomatch, _} = otpc_test_lib:port_call(Port, {match, <<"{1}">>, {1.0}}),
    {nomatch, Why} = otpc_test_lib:port_call(Port, {match, <<"{ok, ~t}">>, {error, x}}),
    ct:log("mismatch explained as: ~ts", [Why]),
    match = re:run(Why, "expected", [{capture, none}]),
    match = re:run(Why, "error", [{capture, none}]),
    {nomatch, Missing} = otpc_test_lib:port_call(Port, {match, <<"#{id := _}">>, #{}}),
    match = re:run(Missing, "id", [{capture, none}]).

garbage_gets_errors_and_program_goes_on(Config) ->
    Port = ?config(port, Config),
    Garbage = [<<>>, <<131>>, <<130, 97, 1>>, <<131, 104, 2, 97, 1>>,
               <<131, 255>>, <<131, 108, 0, 0, 0, 5, 106>>,
               <<131, 80, 0, 0, 0, 10, 1, 2, 3>>,
               <<131, 97, 1, 97, 2>>],
    lists:foreach(
      fun(Bin) ->
              true = port_command(Port, Bin),
              receive
                  {Port, {data, Reply}} ->
                      {error, Why} = binary_to_term(Reply),
                      ct:log("~w -> ~ts", [Bin, Why]),
                      match = re:run(Why, "^decode: ", [{capture, none}])
              after 10000 ->
                      ct:fail({no_reply_to, Bin})
              end
      end, Garbage),
    {ok, _, _} = otpc_test_lib:port_call(Port, {roundtrip, still_alive}).

oversized_frame_ends_program_cleanly(Config) ->
    Port = ?config(port, Config),
    %% A raw port without {packet, 4} lets us send a header claiming 1 GiB:
    %% the program must refuse it from the header and exit with status 1.
    otpc_test_lib:close_port_program(Port),
    Raw = open_port({spawn_executable, otpc_test_lib:executable("otpc-term")},
                    [binary, exit_status, use_stdio, stderr_to_stdout]),
    true = port_command(Raw, <<64, 0, 0, 0, 131>>),
    Out = collect_until_exit(Raw, <<>>),
    ct:log("program said: ~ts", [element(2, Out)]),
    {1, Text} = Out,
    match = re:run(Text, "over the maximum", [{capture, none}]).

collect_until_exit(Port, Acc) ->
    receive
        {Port, {data, D}} -> collect_until_exit(Port, <<Acc/binary, D/binary>>);
        {Port, {exit_status, S}} -> {S, Acc}
    after 10000 -> ct:fail({no_exit, Acc})
    end.

%%% Generators ----------------------------------------------------------

print(T) ->
    unicode:characters_to_binary(io_lib:format("~0tp", [T])).

order(A, B) when A < B -> -1;
order(A, B) when A == B -> 0;
order(_, _) -> 1.

pair() ->
    oneof([{gen_term(), gen_term()},
           ?LET(T, gen_term(), {T, T}),
           ?LET(N, integer(), {N, float(N)}),
           ?LET(T, gen_term(), {T, {T}})]).

gen_term() ->
    ?SIZED(S, gen_term(S)).

gen_term(0) ->
    leaf();
gen_term(S) ->
    frequency([{4, leaf()},
               {1, ?LAZY(list(gen_term(S div 3)))},
               {1, ?LAZY(?LET(L, list(gen_term(S div 3)), list_to_tuple(L)))},
               {1, ?LAZY(?LET(L, list({gen_term(S div 4), gen_term(S div 4)}), maps:from_list(L)))},
               {1, ?LAZY(?LET({L, T}, {non_empty(list(gen_term(S div 3))), leaf()}, L ++ T))}]).

leaf() ->
    oneof([integer(), big_integer(), float(), special_float(), atom_(), unicode_atom(),
           binary(), bitstring(), string_(), unicode_string(), small_int_list(),
           [], {}, #{}]).

big_integer() ->
    ?LET({Sign, Bits}, {oneof([1, -1]), choose(1, 300)}, Sign * (1 bsl Bits) + Sign).

special_float() ->
    elements([0.0, -0.0, 1.0, 0.1, 1.0e15, 1.0e16, 1.0e-10, 123456789.123,
              5.0e-324, 1.7976931348623157e308, -2.5e-5, 1.0e22, 9007199254740993.0]).

atom_() ->
    elements([ok, error, true, false, undefined, 'B', 'hello world', '', 'and',
              'a@b', a_b, 'it\'s', 'été', '\n', 'ABC']).

unicode_atom() ->
    ?LET(S, non_empty(list(choose(16#400, 16#4ff))), list_to_atom(S)).

string_() ->
    list(choose(32, 126)).

unicode_string() ->
    list(oneof([choose(0, 255), choose(256, 16#10ffff - 16#800)])).

small_int_list() ->
    list(choose(0, 255)).
