#!/usr/bin/env escript
%% Regenerates part of test/c/term_{build,compare}_fixtures.h with the real erl; see the top of test/c/test_term_build.c.
-mode(compile).
-export([main/1]).
a(N) -> B = atom_to_binary(N, utf8), <<119, (byte_size(B)), B/binary>>.
pid(N, Id, Ser, Cr) -> binary_to_term(<<131, 88, (a(N))/binary, Id:32, Ser:32, Cr:32>>).
ref(N, Cr, Ws) -> binary_to_term(<<131, 90, (length(Ws)):16, (a(N))/binary, Cr:32, << <<W:32>> || W <- Ws>>/binary>>).
port(N, Id, Cr) -> binary_to_term(<<131, 120, (a(N))/binary, Id:64, Cr:32>>).
c(B) -> string:join([integer_to_list(X) || X <- binary_to_list(B)], ",").
p(Name, T) -> <<131, B/binary>> = term_to_binary(T, [{minor_version, 2}]),
  io:format("static const uint8_t ~s[] = {~s};~n", [Name, c(B)]).
main() ->
  p("exp_directives", {'héllo', ok, -5, 100000, -9223372036854775808, 18446744073709551615,
     -123456789012345678901234567890, 1.5, "héllo", <<1,2,3>>, <<5:3>>, pid(a@b,7,1,2),
     ref(a@b, 3, [1,2,3]), port(a@b,9,4), {x}}),
  p("exp_ports", [port(a@b, (1 bsl 28) - 1, 1), port(a@b, 1 bsl 28, 1), ref(a@b, 1, [1,2,3,4,5])]),
  p("exp_2_64", [1 bsl 64, -(1 bsl 64), binary_to_integer(list_to_binary(["1", lists:duplicate(299, $0)])), -(1 bsl 2100)]),
  p("exp_str_unicode", "x\x{1F600}y"),
  p("exp_neg_zero", -0.0).
main(_) -> main().
