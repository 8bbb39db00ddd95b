#!/usr/bin/env escript
%% -*- erlang -*-
%%! -noshell
%% Regenerates the case table of test/c/test_term_print.c: each case is the
%% bytes of term_to_binary and the text io_lib:format("~tp") gives on one
%% line: io_lib_pretty:print with a huge line_length, checked to equal "~0tp"
%% and, when it has no line break, "~tp". Pids,
%% refs and ports print in otpc's node-qualified form (term.h), given here.
%%   escript test/c/gen/gen_print_cases.escript > /tmp/cases.inc
-mode(compile).

main(_) ->
    [emit(C) || C <- cases()],
    ok.

%% A local fun of erl_eval prints the same on every run, unlike one of this
%% escript's own (its module name changes).
eval(S) ->
    {ok, Ts, _} = erl_scan:string(S),
    {ok, [E]} = erl_parse:parse_exprs(Ts),
    {value, V, _} = erl_eval:expr(E, []),
    V.

big_map() -> maps:from_list([{K, K * 2} || K <- lists:seq(1, 40)]).

cases() ->
    [%% atoms
     {"atom_plain", a}, {"atom_digits_at_us", 'ab_c@d1'},
     {"atom_upper", 'Abc'}, {"atom_space", 'a b'}, {"atom_empty", ''},
     {"atom_underscore_start", '_a'}, {"atom_at_start", '@a'},
     {"atom_digit_start", '1a'}, {"atom_dot", 'a.b'}, {"atom_dash", 'a-b'},
     {"atom_and", 'and'}, {"atom_receive", 'receive'}, {"atom_maybe", maybe},
     {"atom_else", else}, {"atom_andalso", 'andalso'}, {"atom_xor", 'xor'},
     {"atom_true", true}, {"atom_quote", 'a\'b'}, {"atom_backslash", 'a\\b'},
     {"atom_dquote", 'a"b'}, {"atom_nl", 'a\nb'}, {"atom_ctrl", 'a\^Ab'},
     {"atom_c1", 'a\x{80}b'}, {"atom_del", 'a\x{7f}'}, {"atom_esc", 'a\eb'},
     {"atom_latin1_lower", 'é'}, {"atom_latin1_inner", 'aÀ'},
     {"atom_latin1_upper_start", 'À'}, {"atom_sz", 'ß'}, {"atom_div", '÷'},
     {"atom_times", 'a×'}, {"atom_nbsp", 'a\x{a0}'},
     {"atom_greek", 'Ω'}, {"atom_greek_inner", 'aΩ'},
     {"atom_utf8_enc", 'é', [{minor_version, 2}]},
     {"atom_utf8_quoted", 'a b', [{minor_version, 2}]},
     %% integers
     {"int_zero", 0}, {"int_small", 255}, {"int_neg", -1},
     {"int_i32", 2147483647}, {"int_i32_min", -2147483648},
     {"int_big", 2147483648}, {"int_i64", 18446744073709551615},
     {"int_big_neg", -12345678901234567890},
     {"int_huge", 1 bsl 300}, {"int_huge_neg", -(1 bsl 1000) + 7},
     %% floats
     {"float_0_1", 0.1}, {"float_1", 1.0}, {"float_neg0", -0.0},
     {"float_zero", 0.0}, {"float_1e_10", 1.0e-10}, {"float_1e16", 1.0e16},
     {"float_1e15", 1.0e15}, {"float_1e3", 1000.0}, {"float_100", 100.0},
     {"float_big17", 123456789012345680.0}, {"float_2p53", 9007199254740992.0},
     {"float_below_2p53", 9007199254740990.0},
     {"float_99999", 99999.0}, {"float_1e5", 100000.0},
     {"float_0_0001", 0.0001}, {"float_0_00012", 0.00012},
     {"float_123_456", 123.456}, {"float_neg", -2.5},
     {"float_third", 1 / 3}, {"float_min_sub", 5.0e-324},
     {"float_max", 1.7976931348623157e308}, {"float_pow2_lopsided", 7.120236347223045e-307},
     {"float_old_enc", 0.1, [{minor_version, 0}]},
     {"float_old_enc_big", 1.5e300, [{minor_version, 0}]},
     %% strings and lists
     {"nil", []}, {"string", "hello"}, {"string_escapes", "a\nb\t\"\\\e"},
     {"string_all_esc", "\r\v\b\f"}, {"string_squote", "it's"},
     {"string_latin1", "héllo"}, {"string_ff", [255]}, {"string_nbsp", [160]},
     {"list_del", [$a, 127]}, {"list_nul", [$a, 0]}, {"list_256", [256]},
     {"list_unicode", [1000, 1001]}, {"list_mixed_ints", [1, 2, 300, -4]},
     {"list_mixed", [1, a, "b", {c}]}, {"list_improper", [a | b]},
     {"list_improper_long", [1, 2 | 3]}, {"list_improper_str_head", [$a, $b | c]},
     {"list_nested_nil", [[]]}, {"list_of_strings", ["ab", "cd"]},
     {"list_big_elem", [1 bsl 70]}, {"list_neg", [-1]},
     {"list_long_string", lists:duplicate(300, $x)},
     {"list_long_ints", lists:seq(1, 300)},
     %% tuples
     {"tuple_empty", {}}, {"tuple", {a, 1, "s"}}, {"tuple_nested", {a, {b, {}}}},
     {"tuple_large", list_to_tuple(lists:seq(1, 300))}, {"tuple_of_nil", {[]}},
     %% maps
     {"map_empty", #{}}, {"map", #{a => 1, b => 2}},
     {"map_nested", #{a => #{b => c}}}, {"map_mixed_keys", #{1 => x, 1.0 => y, a => z, "s" => [1 | 2], {t} => <<>>}},
     {"map_in_list", [#{}, #{k => v}]}, {"map_value_string", #{[] => <<>>, k => "v"}},
     %% binaries
     {"bin_empty", <<>>}, {"bin_text", <<"abc">>}, {"bin_bytes", <<1, 2, 3>>},
     {"bin_escapes", <<"a\"b\\c\nd\e">>}, {"bin_squote", <<"it's">>},
     {"bin_utf8_latin1", <<"héllo"/utf8>>}, {"bin_utf8_cjk", <<"中"/utf8>>},
     {"bin_utf8_nbsp", <<"\x{a0}"/utf8>>}, {"bin_utf8_ff", <<"\x{ff}"/utf8>>},
     {"bin_utf8_100", <<"\x{100}"/utf8>>}, {"bin_latin1", <<"h", 233, "llo">>},
     {"bin_latin1_c1", <<233, 128>>}, {"bin_nul", <<"a", 0>>},
     {"bin_del", <<"a", 127>>}, {"bin_surrogate", <<16#ED, 16#A0, 16#A0>>},
     {"bin_overlong", <<16#C1, 16#A0>>}, {"bin_f5", <<16#F5, 16#A0, 16#A0, 16#A0>>},
     {"bin_utf8_max_nonprint", <<16#F4, 16#8F, 16#BF, 16#BF>>},
     {"bin_ctrl_text", <<"\r\v\b\f\t">>},
     {"bits_1_3", <<1:3>>}, {"bits_123_5", <<1, 2, 3:5>>}, {"bits_1_1", <<255, 1:1>>},
     {"bits_0_7", <<0:7>>}, {"bits_text_prefix", <<"ab", 1:4>>},
     {"bin_long_text", binary:copy(<<"xyz">>, 100)},
     %% funs
     {"fun_export", fun lists:map/2}, {"fun_export_quoted", fun 'A':'b c'/1},
     {"fun_local", eval("fun(X) -> X end.")},
     %% composite
     {"composite", {ok, [#{name => <<"otpc">>, v => 1.5}], "x", [a | "b"]}},
     {"string_in_tuple", {"abc", 'X', <<>>}},
     %% raw, non-canonical or hand-made encodings
     {raw, "raw_list_ext_ints_is_string", <<131, 108, 0, 0, 0, 2, 97, 104, 97, 105, 106>>},
     {raw, "raw_list_tail_string", <<131, 108, 0, 0, 0, 1, 97, 104, 107, 0, 1, 105>>},
     {raw, "raw_list_tail_string_nonprint", <<131, 108, 0, 0, 0, 1, 104, 0, 107, 0, 2, 1, 2>>},
     {raw, "raw_list_tail_list", <<131, 108, 0, 0, 0, 1, 97, 1, 108, 0, 0, 0, 1, 97, 2, 100, 0, 1, $t>>},
     {raw, "raw_small_atom_latin1", <<131, 115, 1, 233>>},
     {raw, "raw_atom_latin1_quoted", <<131, 100, 0, 2, 65, 233>>},
     {raw, "raw_small_big_small_value", <<131, 110, 2, 0, 97, 0>>},
     {raw, "raw_map_reversed_keys", <<131, 116, 0, 0, 0, 2, 100, 0, 1, $b, 97, 2, 100, 0, 1, $a, 97, 1>>},
     {raw, "raw_map_int_float_keys", <<131, 116, 0, 0, 0, 2, 70, 63, 240, 0, 0, 0, 0, 0, 0, 100, 0, 1, $f, 97, 1, 100, 0, 1, $i>>},
     {raw, "raw_bit_binary_full", <<131, 77, 0, 0, 0, 2, 8, $o, $k>>},
     %% pids, ports, refs (otpc's forms)
     {raw, "pid_new", <<131, 88, 100, 0, 13, "nonode@nohost", 0, 0, 0, 85, 0, 0, 0, 3, 0, 0, 0, 0>>, "<nonode@nohost.85.3>"},
     {raw, "pid_old", <<131, 103, 119, 7, "a@b.com", 0, 0, 0, 9, 0, 0, 0, 0, 1>>, "<'a@b.com'.9.0>"},
     {raw, "port_new", <<131, 89, 100, 0, 6, "x@host", 0, 0, 0, 5, 0, 0, 0, 1>>, "#Port<x@host.5>"},
     {raw, "port_v4", <<131, 120, 100, 0, 6, "x@host", 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 1>>, "#Port<x@host.4294967298>"},
     {raw, "port_old", <<131, 102, 100, 0, 6, "x@host", 0, 0, 0, 7, 0>>, "#Port<x@host.7>"},
     {raw, "ref_newer", <<131, 90, 0, 3, 100, 0, 13, "nonode@nohost", 0, 0, 0, 0, 0, 1, 26, 16, 197, 76, 0, 1, 6, 191, 40, 138>>,
      "#Ref<nonode@nohost.113191050.3310092289.72208>"},
     {raw, "ref_new", <<131, 114, 0, 2, 100, 0, 3, "n@h", 1, 0, 0, 0, 1, 0, 0, 0, 2>>, "#Ref<n@h.2.1>"},
     {raw, "ref_old", <<131, 101, 100, 0, 3, "n@h", 0, 0, 0, 42, 0>>, "#Ref<n@h.42>"},
     {raw, "in_tuple_pid", <<131, 104, 2, 100, 0, 2, "ok", 88, 100, 0, 3, "n@h", 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0>>, "{ok,<n@h.1.2>}"},
     %% a map of more than 32 pairs: the BEAM prints in its hash order
     {"map_large_hash_order", big_map()}
    ].

%% One line: ~tp itself breaks lines past column 80.
fmt(T) ->
    unicode:characters_to_binary(
      io_lib_pretty:print(T, [{encoding, unicode}, {line_length, 100000000}])).

emit({text, Name, T, Expected}) -> line(Name, term_to_binary(T), Expected);
emit({raw, Name, Bytes, Expected}) -> line(Name, Bytes, Expected);
emit({raw, Name, Bytes}) -> emit({Name, binary_to_term(Bytes), Bytes});
emit({Name, T}) -> emit({Name, T, term_to_binary(T)});
emit({Name, T, Opts}) when is_list(Opts) -> emit({Name, T, term_to_binary(T, Opts)});
emit({Name, T, Bytes}) when is_binary(Bytes), is_tuple(T) orelse not is_tuple(T) ->
    Want = fmt(T),
    Want = unicode:characters_to_binary(io_lib:format("~0tp", [T])),
    Short = unicode:characters_to_binary(io_lib:format("~tp", [T])),
    case binary:match(Short, <<"\n">>) of
        nomatch -> Want = Short;
        _ -> ok
    end,
    line(Name, Bytes, Want).

%% Literal C: every byte of the term in octal (no greedy hex escapes).
line(Name, Bytes, Expected) when is_list(Expected) ->
    line(Name, Bytes, unicode:characters_to_binary(Expected));
line(Name, Bytes, Expected) ->
    io:put_chars(["    {\"", Name, "\", ", integer_to_list(byte_size(Bytes)), ",\n     ",
                  cstr(Bytes, 70), ",\n     ", cstr(Expected, 70), "},\n"]).

cstr(Bin, Width) ->
    Chunks = chunk([esc(B) || <<B>> <= Bin], Width, [], 0, []),
    lists:join("\n     ", [["\"", C, "\""] || C <- Chunks]).

chunk([], _W, Cur, _N, Acc) -> lists:reverse([lists:reverse(Cur) | Acc]);
chunk([E | Es], W, Cur, N, Acc) when N + length(E) > W ->
    chunk([E | Es], W, [], 0, [lists:reverse(Cur) | Acc]);
chunk([E | Es], W, Cur, N, Acc) -> chunk(Es, W, [E | Cur], N + length(E), Acc).

esc($") -> "\\\"";
esc($\\) -> "\\\\";
esc($?) -> "\\?"; % no trigraphs
esc(B) when B >= 32, B < 127 -> [B];
esc(B) -> io_lib:format("\\~3.8.0b", [B]).
