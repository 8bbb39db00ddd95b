%% @doc The differential corpus of the term layer: a few hundred tricky
%% terms, and a writer of the binary file the C test
%% (test/c/test_term_corpus.c) reads without any Erlang dependency.
%%
%% Run it on a distributed node, so that pids, references and ports carry
%% real node names: term_SUITE does, with peer nodes for foreign ones. By
%% hand:
%%
%%   erl -noshell -sname gen -pa test -run term_corpus generate FILE -s init stop
%%
%% generate/1 starts (and stops) its own peer node when the node is alive.
%%
%% The corpus file. All integers are unsigned 32-bit big-endian; a "blob"
%% is a length followed by that many bytes.
%%
%%   "OTPCTC01"  count
%%   count records:
%%     index          position in corpus/1's list
%%     type           otpc_type_t of the term (term.h numbering)
%%     flags          ?F_CANON: otpc_term_encode must give `ext' byte for byte
%%                    ?F_PRINT: otpc_term_print must give `print'
%%     rank           position in Erlang's sort of the corpus (ties, that is
%%                    == terms, in corpus order)
%%     eq_class       ==  classes numbered in term order: for any two terms,
%%                    compare(A, B) is the sign of eq_class(A) - eq_class(B)
%%     exact_class    =:= classes (the index of the first =:= term)
%%     key_class      classes of the map-key order (otpc_term_compare_exact):
%%                    the order in which the BEAM keeps two keys in a small
%%                    map, numbered like eq_class, =:= terms sharing one
%%     label          blob: the term cut to a few levels, for messages
%%     ext            blob: term_to_binary(T, [{minor_version, 2}])
%%     print          blob: the one-line ~tp print (UTF-8), see print/1
%%     nalt           other encodings of the same term, each:
%%       kind         ?ALT_MINOR0, ?ALT_MINOR1, ?ALT_COMPRESSED (minor 2: it
%%                    inflates to exactly `ext'), ?ALT_COMPRESSED_MINOR1,
%%                    ?ALT_CRAFTED (a valid but non-canonical encoding that
%%                    binary_to_term decodes to the same term, see crafted/2)
%%       bytes        blob
-module(term_corpus).

-export([corpus/0, corpus/1, foreign_terms/1, local_port_terms/1,
         generate/1, write/2, read/1, print/1, type_of/1,
         canonical/1, printable/1, creation/1]).
%% Crafted identifiers of any node (also used by term_SUITE's builder
%% checks).
-export([pid/4, ref/3, port/3]).

-define(MAGIC, "OTPCTC01").
-define(F_CANON, 1).
-define(F_PRINT, 2).
-define(ALT_MINOR0, 1).
-define(ALT_MINOR1, 2).
-define(ALT_COMPRESSED, 3).
-define(ALT_COMPRESSED_MINOR1, 4).
-define(ALT_CRAFTED, 5).

%%% The corpus ------------------------------------------------------------

%% @doc The corpus of the local node only (crafted foreign pids included).
corpus() ->
    corpus([]).

%% @doc The corpus plus Extra terms (pids, refs and ports of peer nodes, an
%% open port: the caller owns them and their nodes).
corpus(Extra) ->
    lists:append([integers(), floats(), atoms(), strings(), lists(),
                  tuples(), maps(), binaries(), bitstrings(), identifiers(),
                  funs(), deep(), mixed(), more_edges(), random_terms(), Extra]).

integers() ->
    Edges = [0, 1, 2, 42, 127, 128, 255, 256, 257, 65535, 65536,
             1 bsl 27 - 1, 1 bsl 27, 1 bsl 31 - 1, 1 bsl 31, 1 bsl 32 - 1,
             1 bsl 32, 1 bsl 53, 1 bsl 53 + 1, 1 bsl 63 - 1, 1 bsl 63,
             1 bsl 64 - 1, 1 bsl 64, 1 bsl 64 + 1],
    Neg = [-1, -2, -255, -256, -257, -(1 bsl 27), -(1 bsl 27) - 1,
           -(1 bsl 31), -(1 bsl 31) - 1, -(1 bsl 32), -(1 bsl 63),
           -(1 bsl 63) - 1, -(1 bsl 64) + 1, -(1 bsl 64), -(1 bsl 64) - 1],
    Huge = [pow(10, 100), -pow(10, 100), pow(10, 300), -pow(10, 300),
            1 bsl 2040 - 1,          % 255 magnitude bytes: SMALL_BIG_EXT
            1 bsl 2040,              % 256 bytes: LARGE_BIG_EXT
            -(1 bsl 2040),
            1 bsl 2048, -(1 bsl 2048), pow(3, 5000)],
    Edges ++ Neg ++ Huge.

floats() ->
    [0.0, -0.0, 1.0, -1.0, 0.1, 1 / 3, 2 / 3, 0.5, 1.5, 2.0, 42.0, 100.0,
     255.0, 256.0, 3.141592653589793, 123.456, 123456789.123, -2.5e-5,
     1.0e-4, 1.0e-5, 1.0e-300, 5.0e-324, 2.2250738585072014e-308,
     2.225073858507201e-308, 1.7976931348623157e308,
     -1.7976931348623157e308, 1.0e15, 1.0e16, 1.0e17, 1.0e21, 1.0e22,
     1.0e23, 1.0e100, 9007199254740992.0, float(1 bsl 63),
     -float(1 bsl 63), float(1 bsl 64), 0.30000000000000004, 1.0e-10,
     4503599627370496.5, 12345678901234567890.0].

atoms() ->
    [a, ok, true, false, undefined, '', 'hello world', 'Capital', '_under',
     'a-b', 'a@b', 'node@host', 'a.b', ab1_2, 'aB@c', 'é', 'été', 'Été',
     'ÿ', 'ßtraße', 'a\nb', 'quote\'s', 'back\\slash', '[]', '{}', '$',
     'andalso', 'when', 'fun', 'end', 'div', 'maybe', '1abc', 'a b',
     '\x{4E2D}\x{6587}', 'a\x{4E2D}', '\x{1F600}', '\x{3A9}mega',
     list_to_atom([0]), list_to_atom([127]), list_to_atom([160]),
     list_to_atom(lists:duplicate(255, $a)),
     list_to_atom(lists:duplicate(255, $é)),
     list_to_atom(lists:duplicate(255, 16#4E2D)),
     list_to_atom(lists:duplicate(255, 16#1F600))].

strings() ->
    ["", "a", "hello", "hello world\n", "tab\there", "quote\"s",
     "back\\slash", "\e\a\b\f\v\r\d", [0], [1, 2, 3], [7, 8, 9], [31],
     [127], [128], [159], [160], [255], [256], [65535], [65536],
     [16#10FFFF], "été", "\x{4E2D}\x{6587}", "a\x{4E2D}", "abc" ++ [-1],
     "x" ++ [1.0], [$a, 256, $b], lists:seq(0, 255), lists:seq(1, 300),
     lists:duplicate(65535, $a), lists:duplicate(65536, $a),
     lists:duplicate(65535, 0), lists:duplicate(65535, 255),
     lists:duplicate(65536, 255), "$", "~p ~s", "a\"b'c"].

lists() ->
    [[], [[]], [a], [a, b], [1 | 2], [a | b], [1, 2 | 3], [[1], [2]],
     [{}], [1.0], [1, 1.0], [$a | <<"b">>], [a | <<>>], [1, [2, [3, [4]]]],
     [1 | [2 | [3 | 4]]], lists:seq(1, 1000), [-1], [256 | 257],
     ["abc", "def"], [[] | []], [[] | a], [<<"abc">>], [1 | 2.0],
     [a, "b" | c]].

tuples() ->
    [{}, {a}, {1, 2}, {{}}, {[], []}, {ok, 1}, {error, {badarg, []}},
     {a, "b", <<"c">>, 1.0}, {1.0, 1}, {1, 1.0},
     list_to_tuple(lists:seq(1, 254)), list_to_tuple(lists:seq(1, 255)),
     list_to_tuple(lists:seq(1, 256)), list_to_tuple(lists:duplicate(256, a)),
     list_to_tuple(lists:duplicate(70000, [])), {{{1}}}, {b}, {a, a}].

maps() ->
    M = fun(N) -> maps:from_list([{I, I * I} || I <- lists:seq(1, N)]) end,
    A = fun(N) -> maps:from_list([{list_to_atom("k" ++ integer_to_list(I)), I}
                                  || I <- lists:seq(1, N)]) end,
    [#{}, #{a => 1}, #{a => 2}, #{b => 0}, #{a => 1, b => 2},
     #{1 => a}, #{1.0 => a}, #{1 => a, 1.0 => b}, #{1 => 1}, #{1 => 1.0},
     #{2 => b, 1.0 => a, 0.5 => d, 1 => c},
     #{2 => b, 1.0 => a, 0.5 => d, 1 => c, a => atom, "s" => str,
       <<"b">> => bin, {t} => tup, [l] => list, [] => nil, -1 => neg,
       1 bsl 64 => big, -(1 bsl 64) => nbig, 1.5 => f, -0.0 => z},
     #{a => #{b => #{c => #{}}}}, #{[] => [], {} => {}, <<>> => <<>>},
     #{{a, b} => tuple, {a} => t1, {1, 1.0} => t2, {1.0, 1} => t3},
     #{"abc" => 1, <<"abc">> => 2, abc => 3},
     M(31), M(32), M(33), A(32), A(33), M(100), A(100),
     (M(33))#{1 => zero}, #{big => M(33)}, #{x => 1, y => 2.0, z => "z"}].

binaries() ->
    NonPrint = list_to_binary([I rem 256 || I <- lists:seq(0, 65535)]),
    Text = list_to_binary(lists:duplicate(1024 * 1024 div 16, "otpc corpus 1234")),
    [<<>>, <<"abc">>, <<0>>, <<1, 2, 3>>, <<"hello\n">>, <<255>>,
     <<128>>, <<127>>, <<160>>, <<"été"/utf8>>, <<"été">>,
     <<"\x{4E2D}\x{6587}"/utf8>>, <<"a\"b\\c">>, <<"abc", 0>>, <<"\e">>,
     <<"tab\there">>, <<"~p">>, <<"$">>, <<"\x{1F600}"/utf8>>,
     <<"a", 128>>, <<"abc">>, <<"abd">>, <<"ab">>, NonPrint, Text,
     <<1:8192>>].

bitstrings() ->
    [<<1:1>>, <<0:1>>, <<255, 3:2>>, <<1:7>>, <<"abc", 5:3>>,
     <<255, 0:1>>, <<1:15>>, <<128, 0:1>>, <<"abc", 1:1>>, <<0:7>>,
     <<255:8, 127:7>>].

%% Pids, references and ports of this node, and crafted ones of other nodes
%% and of an older incarnation (another creation) of this one.
identifiers() ->
    Me = node(),
    Dead = spawn(fun() -> ok end),
    [self(), whereis(init), Dead, list_to_pid("<0.0.0>"),
     list_to_pid("<0.32767.8191>"), make_ref(), make_ref(), alias(),
     pid(Me, 1, 0, creation() + 1), pid('other@host', 0, 0, 0),
     pid('other@host', 1, 2, 3), pid('other@host', 16#7FFF, 16#1FFF, 16#FFFFFFFF),
     pid('a@b', 5, 0, 1), pid('zz@host', 5, 0, 1), pid('a@b', 5, 0, 2),
     ref('other@host', 7, [1, 2, 3]), ref('other@host', 7, [3, 2, 1]),
     ref('other@host', 8, [1]), ref('a@b', 1, [1, 2, 3]),
     ref('a@b', 1, [1, 2]), ref('a@b', 1, [1, 2, 3, 4]),
     ref('a@b', 1, [1, 2, 3, 4, 5]), ref('a@b', 1, [0, 0, 0, 0, 0]),
     pid('a@b', 16#FFFFFFFF, 16#FFFFFFFF, 1),
     port('other@host', 1, 9), port('other@host', 2, 9), port('a@b', 1, 9),
     v4_port('a@b', 16#123456789, 1), v4_port('a@b', 1 bsl 64 - 1, 1)]
        ++ [hd(erlang:ports()) || erlang:ports() =/= []].

%% Funs: an export fun and local funs, with and without free variables.
funs() ->
    Y = 42,
    Name = "free",
    [fun erlang:abs/1, fun lists:reverse/1, fun lists:reverse/2,
     fun(X) -> X + Y end, fun(X) -> {X, Name, Y} end, fun() -> ok end,
     {fun erlang:abs/1, fun(X) -> X * Y end}].

deep() ->
    Deep = fun(Wrap, N) -> lists:foldl(fun(_, Acc) -> Wrap(Acc) end, [], lists:seq(1, N)) end,
    [Deep(fun(T) -> {T} end, 10000),
     Deep(fun(T) -> [T] end, 10000),
     Deep(fun(T) -> #{k => T} end, 2000),
     Deep(fun(T) -> {a, [T, 1]} end, 5000),
     lists:seq(1, 10000)].

mixed() ->
    [{[#{a => [1, {2, <<3>>}]}], "str", 'atom', 1.5},
     [{a, 1}, {b, 2.0}, {c, "c"}, {d, <<"d">>}],
     {ok, #{name => <<"otpc"/utf8>>, version => {1, 0}, tags => [c, erlang]}},
     [[], {}, #{}, <<>>, "", 0, 0.0, ''],
     {<<1:1>>, [<<>> | <<1:1>>]},
     #{<<"k">> => [1, 2, 3], "k" => {1, 2, 3}},
     {'EXIT', self(), normal}, {'DOWN', make_ref(), process, self(), killed},
     [{1, 1.0}, {1.0, 1}], {-0.0, 0.0, 0}].

%% Where printers and comparators usually slip: plain versus exponent float
%% notation, latin-1 letters in atoms, strings that are almost printable.
more_edges() ->
    [1.0e5, 123456.0, 1234567.0, 0.001, 0.01, 1.0e-7, 5.0e-7, 3.0e10,
     1.5e300, 999999999999999.9, 123456789012345.0, 1234567890123456.0,
     0.1 + 0.2, 100.5, -0.5, 1.0e-323, 6.0e23,
     'ä', 'Ä', 'aª', 'aµ', 'aº', 'aÀ', 'a×b', 'a÷b', 'ªb', 'µ', '×',
     list_to_atom([$a, 160]), list_to_atom([$a, 173]), 'a_', 'a1@', 'A',
     'b\tc', 'é@x',
     [$a, 160], [$a, 173], [$a, 127], "\e\a\b\f\v\r\n\t", [$a, $b | $c],
     ["a" | "b"], [[$a] | $b], "\x{a0}", [255, 256], "a\x{ff}",
     <<"abc", 10>>, <<"\x{a0}"/utf8>>, <<"a", 127>>, <<"\x{ff}"/utf8>>,
     <<"\x{100}"/utf8>>, <<"a\tb\e">>, <<195>>, <<"é", 0>>].

%% Deterministic pseudo-random numbers, strings and binaries: a fixed seed,
%% so a failure names the same term on every run.
random_terms() ->
    S0 = rand:seed_s(exsss, {16#07c, 25, 2026}),
    {Floats, S1} = repeat(60, fun random_float/1, S0),
    {Ints, S2} = repeat(30, fun random_int/1, S1),
    {Strings, S3} = repeat(25, fun(S) -> random_chars(S, 300) end, S2),
    {Latin, S4} = repeat(25, fun(S) -> random_chars(S, 256) end, S3),
    {Bins, _} = repeat(25, fun random_bin/1, S4),
    Floats ++ Ints ++ Strings ++ Latin ++ Bins.

repeat(0, _, S) -> {[], S};
repeat(N, F, S0) ->
    {X, S1} = F(S0),
    {Xs, S2} = repeat(N - 1, F, S1),
    {[X | Xs], S2}.

%% Any finite double, from its 64 bits.
random_float(S0) ->
    {Bits, S1} = rand:uniform_s(1 bsl 64, S0),
    case <<(Bits - 1):64>> of
        <<_:1, 2047:11, _:52>> -> random_float(S1);
        <<F/float>> -> {F, S1}
    end.

random_int(S0) ->
    {Bytes, S1} = rand:uniform_s(40, S0),
    {Mag, S2} = rand:uniform_s(1 bsl (8 * Bytes), S1),
    {Sign, S3} = rand:uniform_s(2, S2),
    {if Sign =:= 1 -> Mag; true -> -Mag end, S3}.

%% Short lists of characters below Max, often printable.
random_chars(S0, Max) ->
    {Len, S1} = rand:uniform_s(12, S0),
    repeat(Len, fun(S) ->
                        {Pick, Sa} = rand:uniform_s(4, S),
                        {C, Sb} = case Pick of
                                      1 -> rand:uniform_s(Max, Sa);
                                      _ -> rand:uniform_s(95, Sa)
                                  end,
                        {if Pick =:= 1 -> C - 1; true -> C + 31 end, Sb}
                end, S1).

random_bin(S0) ->
    {Chars, S1} = random_chars(S0, 300),
    {How, S2} = rand:uniform_s(3, S1),
    case How of
        1 -> {unicode:characters_to_binary(Chars), S2};
        _ -> {list_to_binary([C band 255 || C <- Chars]), S2}
    end.

pow(B, E) -> pow(B, E, 1).
pow(_, 0, Acc) -> Acc;
pow(B, E, Acc) -> pow(B, E - 1, Acc * B).

%%% Identifiers of other nodes --------------------------------------------

%% @doc Pids, references and ports made on Node (a connected peer).
foreign_terms(Node) ->
    Pid = erpc:call(Node, erlang, self, []),
    Init = erpc:call(Node, erlang, whereis, [init]),
    Ref = erpc:call(Node, erlang, make_ref, []),
    Ports = erpc:call(Node, erlang, ports, []),
    [Pid, Init, Ref, {Init, Ref}] ++ [hd(Ports) || Ports =/= []].

%% @doc Terms holding an open Port of this node.
local_port_terms(Port) ->
    [Port, {port, Port}].

%% Crafted identifiers, decoded by the BEAM itself.
pid(Node, Id, Serial, Creation) ->
    binary_to_term(<<131, 88, (atom_ext(Node))/binary, Id:32, Serial:32, Creation:32>>).

ref(Node, Creation, Ids) ->
    binary_to_term(<<131, 90, (length(Ids)):16, (atom_ext(Node))/binary, Creation:32,
                     << <<I:32>> || I <- Ids >>/binary>>).

port(Node, Id, Creation) when Id > 16#FFFFFFFF ->
    v4_port(Node, Id, Creation);
port(Node, Id, Creation) ->
    binary_to_term(<<131, 89, (atom_ext(Node))/binary, Id:32, Creation:32>>).

%% V4_PORT_EXT (OTP 24+): a 64-bit id, which term_to_binary writes in this
%% form only when it does not fit 32 bits.
v4_port(Node, Id, Creation) ->
    binary_to_term(<<131, 120, (atom_ext(Node))/binary, Id:64, Creation:32>>).

atom_ext(A) ->
    B = atom_to_binary(A, utf8),
    <<119, (byte_size(B)), B/binary>>.

creation() ->
    creation(self()).

%% @doc The creation of a pid's node.
creation(Pid) ->
    <<131, 88, 119, L, _:L/binary, _:64, C:32>> = term_to_binary(Pid, [{minor_version, 2}]),
    C.

%%% Properties of a term -------------------------------------------------

%% @doc Whether our encoder can reproduce term_to_binary's bytes. It cannot
%% when the BEAM's bytes depend on something other than the value:
%%  - maps of more than 32 pairs are hash maps on the BEAM and are written
%%    in hash-trie order, which depends on the BEAM's internal hash; otpc
%%    writes keys in term order;
%%  - funs: a local fun carries its module's md5, index, uniq, creator pid
%%    and environment, written by the BEAM from its fun table; otpc can copy
%%    such bytes but "canonical" has no meaning for them, so a fun (and any
%%    term holding one) is only checked to decode, compare and re-encode to
%%    an equal term (the suite checks the re-encoding with binary_to_term).
canonical(T) ->
    not contains(T, fun(X) -> is_function(X) orelse big_map(X) end).

%% @doc Whether otpc's print is comparable with the BEAM's: not for pids,
%% references, ports and funs (the BEAM prints local ones by its node table
%% index, <0.85.0>). Maps over 32 pairs are comparable: otpc prints them in
%% the reverse of their encoded order, which is the BEAM's iterator order.
printable(T) ->
    not contains(T, fun(X) -> is_pid(X) orelse is_reference(X) orelse is_port(X)
                                  orelse is_function(X) end).

big_map(X) -> is_map(X) andalso map_size(X) > 32.

%% Iterative, so deep terms are cheap; Pred sees every sub-term.
contains(T, Pred) -> contains([T], Pred, false).

contains(_, _, true) -> true;
contains([], _, false) -> false;
contains([T | Rest], Pred, false) ->
    case Pred(T) of
        true -> true;
        false -> contains(children(T) ++ Rest, Pred, false)
    end.

children([H | T]) -> [H, T];
children(T) when is_tuple(T) -> tuple_to_list(T);
children(T) when is_map(T) -> maps:keys(T) ++ maps:values(T);
children(_) -> [].

%% @doc The otpc_type_t of a term (include/otpc/term.h).
type_of(T) when is_integer(T) -> 1;
type_of(T) when is_float(T) -> 2;
type_of(T) when is_atom(T) -> 3;
type_of(T) when is_reference(T) -> 4;
type_of(T) when is_function(T) -> 5;
type_of(T) when is_port(T) -> 6;
type_of(T) when is_pid(T) -> 7;
type_of(T) when is_tuple(T) -> 8;
type_of(T) when is_map(T) -> 9;
type_of([]) -> 10;
type_of(T) when is_list(T) -> 11;
type_of(T) when is_bitstring(T) -> 12.

%% @doc The one-line form of io_lib:format("~tp", [T]) that otpc's printer
%% follows (docs/term-layer.md): "~0tp", a line length of 0, never breaks
%% lines; for every term that fits in 80 columns it is exactly ~tp's output.
%% The printable range is the node's (write/2 insists on OTP 25's default,
%% latin1).
print(T) ->
    unicode:characters_to_binary(io_lib:format("~0tp", [T])).

%%% The file -------------------------------------------------------------

%% @doc Writes the corpus file for Terms; returns a summary map.
write(File, Terms) ->
    latin1 = io:printable_range(),
    N = length(Terms),
    Indexed = lists:zip(lists:seq(0, N - 1), Terms),
    Sorted = lists:sort(fun({IA, A}, {IB, B}) -> A < B orelse (A == B andalso IA =< IB) end,
                        Indexed),
    {Ranks, Classes} = ranks(Sorted),
    Exact = exact_classes(Indexed),
    KeyClasses = key_classes(Indexed),
    Records = [record(I, T, maps:get(I, Ranks), maps:get(I, Classes), maps:get(I, Exact),
                      maps:get(I, KeyClasses))
               || {I, T} <- Indexed],
    ok = file:write_file(File, [<<?MAGIC, N:32>> | [R || {R, _} <- Records]]),
    Stats = [S || {_, S} <- Records],
    #{terms => N,
      canonical => length([x || #{canon := true} <- Stats]),
      printable => length([x || #{print := true} <- Stats]),
      compressed => length([x || #{compressed := true} <- Stats]),
      alternatives => lists:sum([A || #{alts := A} <- Stats]),
      crafted => lists:sum([C || #{crafted := C} <- Stats]),
      eq_classes => length(lists:usort(maps:values(Classes))),
      exact_classes => length(lists:usort(maps:values(Exact)))}.

ranks(Sorted) ->
    ranks(Sorted, 0, -1, none, #{}, #{}).

ranks([], _, _, _, Ranks, Classes) ->
    {Ranks, Classes};
ranks([{I, T} | Rest], Pos, Class, Prev, Ranks, Classes) ->
    Class1 = case Prev of
                 {some, P} when P == T -> Class;
                 _ -> Class + 1
             end,
    ranks(Rest, Pos + 1, Class1, {some, T}, Ranks#{I => Pos}, Classes#{I => Class1}).

%% The map-key order, taken from the BEAM itself: a map of two keys is a
%% flatmap whose keys are kept sorted in that order (integers before all
%% floats, unlike ==).
key_classes(Indexed) ->
    KeyLe = fun({IA, A}, {IB, B}) ->
                    case A =:= B of
                        true -> IA =< IB;
                        false -> hd(maps:keys(#{A => 0, B => 0})) =:= A
                    end
            end,
    key_classes(lists:sort(KeyLe, Indexed), -1, none, #{}).

key_classes([], _, _, Acc) ->
    Acc;
key_classes([{I, T} | Rest], Class, Prev, Acc) ->
    Class1 = case Prev of
                 {some, P} when P =:= T -> Class;
                 _ -> Class + 1
             end,
    key_classes(Rest, Class1, {some, T}, Acc#{I => Class1}).

exact_classes(Indexed) ->
    exact_classes(Indexed, [], #{}).

exact_classes([], _, Acc) ->
    Acc;
exact_classes([{I, T} | Rest], Seen, Acc) ->
    Class = case [J || {J, U} <- Seen, U =:= T] of
                [] -> I;
                [J | _] -> J
            end,
    exact_classes(Rest, [{I, T} | Seen], Acc#{I => Class}).

record(I, T, Rank, Class, Exact, KeyClass) ->
    Ext = term_to_binary(T, [{minor_version, 2}]),
    Canon = canonical(T),
    Printable = printable(T),
    Flags = flag(Canon, ?F_CANON) bor flag(Printable, ?F_PRINT),
    Print = case Printable of
                true -> print(T);
                false -> <<>>
            end,
    Alts = alternatives(T, Ext),
    Label = label(T),
    Bin = [<<I:32, (type_of(T)):32, Flags:32, Rank:32, Class:32, Exact:32, KeyClass:32>>,
           blob(Label), blob(Ext), blob(Print), <<(length(Alts)):32>>,
           [[<<Kind:32>>, blob(B)] || {Kind, B} <- Alts]],
    {Bin, #{canon => Canon, print => Printable, alts => length(Alts),
            compressed => lists:keymember(?ALT_COMPRESSED, 1, Alts),
            crafted => length([x || {?ALT_CRAFTED, _} <- Alts])}}.

flag(true, F) -> F;
flag(false, _) -> 0.

blob(B) -> [<<(iolist_size(B)):32>>, B].

%% Other encodings of T: older minor versions (latin-1 ATOM_EXT, textual
%% FLOAT_EXT) where they differ, and the compressed forms where
%% term_to_binary actually compresses (it keeps the plain form when
%% compressing does not pay).
alternatives(T, Ext) ->
    M0 = term_to_binary(T, [{minor_version, 0}]),
    M1 = term_to_binary(T, [{minor_version, 1}]),
    C2 = term_to_binary(T, [compressed, {minor_version, 2}]),
    C1 = term_to_binary(T, [{compressed, 9}, {minor_version, 1}]),
    [{?ALT_MINOR0, M0} || M0 =/= Ext]
        ++ [{?ALT_MINOR1, M1} || M1 =/= Ext, M1 =/= M0]
        ++ [{?ALT_COMPRESSED, C2} || compressed(C2)]
        ++ [{?ALT_COMPRESSED_MINOR1, C1} || compressed(C1), M1 =/= Ext]
        ++ [{?ALT_CRAFTED, B} || B <- crafted(T, Ext), B =/= Ext, decodes_to(B, T)].

decodes_to(B, T) ->
    try binary_to_term(B) =:= T
    catch error:badarg -> false
    end.

%% Encodings the BEAM accepts but never writes: the long or old forms of
%% integers, atoms, lists of bytes, tuples, binaries, pids, references and
%% ports, and map pairs out of key order. Each one is kept only if
%% binary_to_term gives back exactly the same term.
crafted(T, <<131, Ext/binary>>) ->
    [<<131, B/binary>> || B <- crafted1(T, Ext)].

crafted1(_, <<97, V>>) ->
    [<<98, V:32>>, <<110, 1, 0, V>>, <<111, 1:32, 0, V>>, <<110, 2, 0, V, 0>>];
crafted1(_, <<98, V:32/signed>>) ->
    Mag = binary:encode_unsigned(abs(V), little),
    Sign = if V < 0 -> 1; true -> 0 end,
    [<<110, (byte_size(Mag)), Sign, Mag/binary>>,
     <<111, (byte_size(Mag)):32, Sign, Mag/binary>>];
crafted1(_, <<110, N, Sign, Mag:N/binary>>) ->
    [<<111, N:32, Sign, Mag/binary>>, <<110, (N + 1), Sign, Mag/binary, 0>>];
crafted1(_, <<119, N, Text:N/binary>>) ->
    [<<118, N:16, Text/binary>>]
        ++ case unicode:characters_to_binary(Text, utf8, latin1) of
               Latin when is_binary(Latin) ->
                   [<<115, (byte_size(Latin)), Latin/binary>>,
                    <<100, (byte_size(Latin)):16, Latin/binary>>];
               _ -> []
           end;
crafted1(_, <<107, N:16, Bytes:N/binary>>) when N > 0 ->
    [<<108, N:32, << <<97, B>> || <<B>> <= Bytes >>/binary, 106>>];
crafted1(_, <<104, N, Elems/binary>>) ->
    [<<105, N:32, Elems/binary>>];
crafted1(_, <<109, N:32, Bytes:N/binary>>) when N > 0 ->
    [<<77, N:32, 8, Bytes/binary>>];
crafted1(_, <<88, 119, L, Node:L/binary, Id:32, Serial:32, Creation:32>>) ->
    [<<103, 100, L:16, Node/binary, Id:32, Serial:32, Creation>> || Creation < 256];
crafted1(_, <<90, N:16, 119, L, Node:L/binary, Creation:32, Ids/binary>>) ->
    [<<114, N:16, 100, L:16, Node/binary, Creation, Ids/binary>> || Creation < 4];
crafted1(_, <<89, 119, L, Node:L/binary, Id:32, Creation:32>>) ->
    [<<120, 119, L, Node/binary, Id:64, Creation:32>>]
        ++ [<<102, 100, L:16, Node/binary, Id:32, Creation>> || Creation < 4];
crafted1(M, <<116, N:32, _/binary>>) when N >= 2, N =< 32 ->
    Pairs = lists:reverse(maps:to_list(M)),
    [<<116, N:32, << <<(enc(K))/binary, (enc(V))/binary>> || {K, V} <- Pairs >>/binary>>];
crafted1(_, _) ->
    [].

enc(T) ->
    <<131, B/binary>> = term_to_binary(T, [{minor_version, 2}]),
    B.

compressed(<<131, 80, _/binary>>) -> true;
compressed(_) -> false.

label(T) ->
    S = lists:flatten(io_lib:format("~tP", [T, 4])),
    unicode:characters_to_binary(string:slice(S, 0, 60)).

%% @doc Reads a corpus file back: [{Index, Map}] with the fields above.
read(File) ->
    {ok, <<?MAGIC, N:32, Rest/binary>>} = file:read_file(File),
    {Records, <<>>} = read_records(N, Rest, []),
    Records.

read_records(0, Rest, Acc) ->
    {lists:reverse(Acc), Rest};
read_records(N, <<I:32, Type:32, Flags:32, Rank:32, Class:32, Exact:32, KeyClass:32,
                  LL:32, Label:LL/binary, EL:32, Ext:EL/binary,
                  PL:32, Print:PL/binary, NA:32, Rest0/binary>>, Acc) ->
    {Alts, Rest} = read_alts(NA, Rest0, []),
    R = #{index => I, type => Type, canon => Flags band ?F_CANON =/= 0,
          print_ok => Flags band ?F_PRINT =/= 0, rank => Rank, class => Class,
          exact => Exact, key_class => KeyClass, label => Label, ext => Ext, print => Print,
          alts => Alts},
    read_records(N - 1, Rest, [R | Acc]).

read_alts(0, Rest, Acc) ->
    {lists:reverse(Acc), Rest};
read_alts(N, <<Kind:32, L:32, B:L/binary, Rest/binary>>, Acc) ->
    read_alts(N - 1, Rest, [{Kind, B} | Acc]).

%%% Command line -----------------------------------------------------------

%% @doc generate([File]) for `-run term_corpus generate File': writes the
%% corpus, with a peer node's identifiers when this node is alive.
generate([File]) ->
    generate(File);
generate(File) ->
    Port = open_port({spawn, "cat"}, []),
    try
        Foreign = case is_alive() of
                      true -> with_peer(fun foreign_terms/1);
                      false -> []
                  end,
        Stats = write(File, corpus(local_port_terms(Port) ++ Foreign)),
        io:format("~s: ~p~n", [File, Stats])
    after
        port_close(Port)
    end.

with_peer(Fun) ->
    Name = list_to_atom("term_corpus_" ++ integer_to_list(erlang:unique_integer([positive]))),
    {ok, Peer, Node} = peer:start_link(#{name => Name}),
    try
        Fun(Node)
    after
        peer:stop(Peer)
    end.
