#!/usr/bin/env escript
%%! -noshell
%% The otpc demo, for now the term layer: a real Erlang/OTP node hands terms
%% to the C side (the otpc-term port program), which prints them, re-encodes
%% them, builds terms from text and matches patterns; Erlang checks each
%% answer against its own. Exits 0 when every answer agrees.
-mode(compile).

main([Build]) ->
    Exe = filename:join([Build, "bin", "otpc-term"]),
    filelib:is_regular(Exe) orelse fail("missing ~s: run `make` first", [Exe]),
    ok = io:setopts(standard_io, [{encoding, unicode}]),
    Port = open_port({spawn_executable, Exe}, [{packet, 4}, binary, exit_status]),
    io:format("otpc demo: Erlang/OTP ~s and the C term layer (~s)~n~n",
              [erlang:system_info(otp_release), Exe]),
    io:format("1. Erlang sends a term; C prints it, re-encodes it; Erlang compares~n"),
    Terms = [{ok, <<"hello">>, [1, 2, 3]},
             #{name => "otpc", pid => self(), ref => make_ref()},
             [1.0, -0.0, 0.1, 1.0e100, 12345678901234567890123456789],
             {'hello world', 'été', '中文', "ünïcödé", <<"bin"/utf8>>, <<1:3>>},
             [improper | list]],
    R1 = [roundtrip(Port, T) || T <- Terms],
    io:format("~n2. C builds terms from text; Erlang decodes them~n"),
    R2 = [build(Port, F, E) || {F, E} <- [{<<"{reply, 42, [a, \"b\" | c]}">>, {reply, 42, [a, "b" | c]}},
                                          {<<"#{<<\"k\">> => 16#ffffffffffffffffff}">>, #{<<"k">> => 16#ffffffffffffffffff}}]],
    io:format("~n3. C matches patterns with captures~n"),
    R3 = [match(Port, P, T, E) || {P, T, E} <- [{<<"{call, ~t, ~t}">>, {call, self(), ping}, {match, [self(), ping]}},
                                               {<<"{ok, ~t}">>, {error, enoent}, nomatch}]],
    port_close(Port),
    Results = R1 ++ R2 ++ R3,
    Bad = length([x || false <- Results]),
    io:format("~n~b of ~b checks agree with Erlang.~n", [length(Results) - Bad, length(Results)]),
    halt(case Bad of 0 -> 0; _ -> 1 end);
main(_) ->
    fail("usage: term_demo.escript BUILD_DIR", []).

roundtrip(Port, T) ->
    {ok, Printed, Enc} = call(Port, {roundtrip, T}),
    Same = Enc =:= term_to_binary(T, [{minor_version, 2}]),
    Erl = unicode:characters_to_binary(io_lib:format("~0tp", [T])),
    PrintNote = case has_identity(T) of
                    true -> "node-qualified (pids and refs)";
                    false -> yes(Printed =:= Erl)
                end,
    io:format("   Erlang    ~ts~n   C prints  ~ts~n   bytes identical to term_to_binary: ~s; print identical to ~~p: ~s~n",
              [Erl, Printed, yes(Same), PrintNote]),
    %% Pids and refs print differently on purpose (the BEAM's form depends on
    %% its node table): only the bytes must agree for them.
    Same andalso (Printed =:= Erl orelse has_identity(T)).

build(Port, Format, Expected) ->
    Got = call(Port, {build, Format}),
    io:format("   C builds ~ts~n     Erlang gets ~0tp: ~s~n", [Format, element(2, Got), yes(Got =:= {ok, Expected})]),
    Got =:= {ok, Expected}.

match(Port, Pattern, T, Expected) ->
    Got = call(Port, {match, Pattern, T}),
    io:format("   ~ts against ~0tp~n     -> ~0tp~n", [Pattern, T, Got]),
    case {Expected, Got} of
        {nomatch, {nomatch, _}} -> true;
        _ -> Got =:= Expected
    end.

has_identity(T) when is_pid(T); is_reference(T); is_port(T); is_function(T) -> true;
has_identity(T) when is_map(T) -> has_identity(maps:to_list(T));
has_identity(T) when is_tuple(T) -> has_identity(tuple_to_list(T));
has_identity([H | T]) -> has_identity(H) orelse has_identity(T);
has_identity(_) -> false.

call(Port, Request) ->
    true = port_command(Port, term_to_binary(Request)),
    receive
        {Port, {data, Reply}} -> binary_to_term(Reply);
        {Port, {exit_status, S}} -> fail("otpc-term exited with status ~b", [S])
    after 10000 -> fail("otpc-term did not answer ~0tp", [Request])
    end.

yes(true) -> "yes";
yes(false) -> "NO".

fail(Fmt, Args) ->
    io:format(standard_error, "demo: " ++ Fmt ++ "~n", Args),
    halt(1).
