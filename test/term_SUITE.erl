%% @doc The differential proof of the C term layer against this OTP 25
%% node: term_corpus writes a corpus of tricky terms (with pids, refs and
%% ports of real peer nodes, one of them restarted under the same name so
%% that its creation differs), the cmocka program test_term_corpus checks
%% decoding, canonical bytes, printing, order and equality against it, and
%% the terms its builder made come back here to be checked with
%% binary_to_term and term_to_binary.
-module(term_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([suite/0, all/0, init_per_suite/1, end_per_suite/1,
         init_per_testcase/2, end_per_testcase/2]).
-export([corpus_reads_back/1, c_agrees_with_erlang/1]).

-define(KEEPER, term_SUITE_peers).
-define(MIN_TERMS, 250).
-define(MIN_BUILDER_CASES, 40).
-define(C_TIMEOUT, 300000).
-define(CALL_TIMEOUT, 60000).

suite() ->
    [{timetrap, {minutes, 10}}].

all() ->
    [corpus_reads_back, c_agrees_with_erlang].

init_per_suite(Config) ->
    Config.

end_per_suite(_Config) ->
    stop_keeper().

init_per_testcase(_Case, Config) ->
    [{keeper, start_keeper()} | Config].

end_per_testcase(_Case, _Config) ->
    stop_keeper().

%%% Test cases -------------------------------------------------------------

%% The generator's own checks: every record reads back, decodes to its term
%% with every alternative encoding, and the classes agree with == and =:=.
corpus_reads_back(Config) ->
    {File, Terms} = make_corpus(Config),
    Records = term_corpus:read(File),
    N = length(Terms),
    N = length(Records),
    true = N >= ?MIN_TERMS orelse ct:fail({too_few_terms, N}),
    Indexed = lists:zip(Terms, Records),
    lists:foreach(
      fun({T, #{index := I, ext := Ext, alts := Alts, type := Type}}) ->
              T = binary_to_term(Ext),
              Type = term_corpus:type_of(T),
              [ct:fail({alternative_differs, I, Kind}) || {Kind, B} <- Alts,
                                                          binary_to_term(B) =/= T]
      end, Indexed),
    N = length(lists:usort([R || #{rank := R} <- Records])),
    [ct:fail({classes_disagree, IA, IB})
     || {A, #{index := IA, class := CA, exact := XA, key_class := KA}} <- Indexed,
        {B, #{index := IB, class := CB, exact := XB, key_class := KB}} <- Indexed,
        (A == B) =/= (CA =:= CB) orelse (A < B) =/= (CA < CB)
            orelse (A =:= B) =/= (XA =:= XB) orelse (A =:= B) =/= (KA =:= KB)],
    Compressed = [x || #{alts := Alts} <- Records, {3, _} <- Alts],
    true = length(Compressed) >= 10 orelse ct:fail({too_few_compressed, length(Compressed)}),
    Creations = lists:usort([term_corpus:creation(P) || P <- Terms, is_pid(P)]),
    true = length(Creations) >= 3 orelse ct:fail({too_few_creations, Creations}),
    ct:log("~b terms, ~b canonical, ~b printable, ~b compressed, creations ~w",
           [N, length([x || #{canon := true} <- Records]),
            length([x || #{print_ok := true} <- Records]), length(Compressed),
            Creations]).

%% The C side agrees with Erlang on the whole corpus, and its builder makes
%% the terms Erlang expects.
c_agrees_with_erlang(Config) ->
    Exe = c_program(),
    {File, Terms} = make_corpus(Config),
    Built = filename:join(?config(priv_dir, Config), "term_built.bin"),
    _ = file:delete(Built),
    {Status, Output} = run_c(Exe, [{"OTPC_TERM_CORPUS", File}, {"OTPC_TERM_BUILT", Built}]),
    ct:log("~ts exited with ~p:~n~ts", [Exe, Status, printable(Output)]),
    Status =:= 0 orelse ct:fail({test_term_corpus_failed, Status, failed_lines(Output)}),
    all_passed(Output),
    check_built(Built, Terms).

%%% The corpus ----------------------------------------------------------------

%% Writes the corpus in priv_dir with identifiers of three peer incarnations:
%% A, A again under the same name (another creation) and B.
make_corpus(Config) ->
    is_alive() orelse ct:fail("term_SUITE needs a distributed node (ct_run -sname)"),
    latin1 = io:printable_range(),
    Keeper = ?config(keeper, Config),
    Base = "term_corpus_" ++ integer_to_list(erlang:unique_integer([positive])),
    NameA = list_to_atom(Base ++ "_a"),
    NameB = list_to_atom(Base ++ "_b"),
    A1 = start_peer(Keeper, NameA),
    F1 = term_corpus:foreign_terms(A1),
    ok = stop_peer(Keeper, A1),
    A2 = start_peer(Keeper, NameA),
    A2 = A1,
    F2 = term_corpus:foreign_terms(A2),
    B = start_peer(Keeper, NameB),
    F3 = term_corpus:foreign_terms(B),
    [P1 | _] = F1,
    [P2 | _] = F2,
    true = term_corpus:creation(P1) =/= term_corpus:creation(P2)
        orelse ct:fail({same_creation_after_restart, P1, P2}),
    Port = open_port({spawn, "cat"}, []),
    File = filename:join(?config(priv_dir, Config), "term_corpus.bin"),
    try
        Terms = term_corpus:corpus(term_corpus:local_port_terms(Port) ++ F1 ++ F2 ++ F3
                                   ++ [{P1, P2}, [P2 | P1]]),
        Stats = term_corpus:write(File, Terms),
        ct:log("corpus ~ts: ~p", [File, Stats]),
        {File, Terms}
    after
        port_close(Port)
    end.

%%% The C program ------------------------------------------------------------

c_program() ->
    Build = case os:getenv("OTPC_BUILD") of
                false -> ct:fail("OTPC_BUILD is not set: it names the build directory "
                                 "holding test/test_term_corpus (run `make test`)");
                Dir -> Dir
            end,
    Exe = filename:join([Build, "test", "test_term_corpus"]),
    filelib:is_regular(Exe)
        orelse ct:fail(lists:flatten(io_lib:format("~ts is missing: build it with `make tests`", [Exe]))),
    Exe.

run_c(Exe, Env) ->
    Port = open_port({spawn_executable, Exe},
                     [{args, []}, {env, Env}, exit_status, stderr_to_stdout, binary,
                      use_stdio]),
    collect(Port, []).

collect(Port, Acc) ->
    receive
        {Port, {data, Data}} ->
            collect(Port, [Data | Acc]);
        {Port, {exit_status, Status}} ->
            {Status, iolist_to_binary(lists:reverse(Acc))}
    after ?C_TIMEOUT ->
        case erlang:port_info(Port, os_pid) of
            {os_pid, OsPid} -> os:cmd("kill -KILL " ++ integer_to_list(OsPid));
            undefined -> ok
        end,
        ct:fail({test_term_corpus_timeout, printable(iolist_to_binary(lists:reverse(Acc)))})
    end.

%% cmocka's summary: "[==========] N test(s) run." then "[  PASSED  ] N
%% test(s)." with the same N, and no failed test.
all_passed(Output) ->
    Run = case re:run(Output, "\\[=+\\] ([0-9]+) test(?:\\(s\\)|s)? run", [{capture, all_but_first, list}]) of
              {match, [R]} -> list_to_integer(R);
              nomatch -> ct:fail({no_cmocka_summary, printable(Output)})
          end,
    case re:run(Output, "\\[  PASSED  \\] ([0-9]+) test", [{capture, all_but_first, list}]) of
        {match, [P]} ->
            Run = list_to_integer(P),
            true = Run > 0;
        nomatch ->
            ct:fail({not_all_passed, failed_lines(Output)})
    end,
    nomatch = re:run(Output, "\\[  FAILED  \\]"),
    ok.

%% The failures and the first mismatch reports, for the failure reason (the
%% whole output is in the test case's log).
failed_lines(Output) ->
    Lines = [L || L <- binary:split(Output, <<"\n">>, [global]),
                  re:run(L, "FAILED|ERROR|Failure|failed|disagree|^  term #") =/= nomatch],
    lists:sublist(Lines, 60).

printable(Bin) ->
    case unicode:characters_to_list(Bin) of
        L when is_list(L) -> L;
        _ -> binary_to_list(Bin)
    end.

%%% What the C side built ------------------------------------------------------

check_built(File, Terms) ->
    {ok, <<"OTPCTB01", NB:32, Rest0/binary>>} = file:read_file(File),
    {Cases, <<NR:32, Rest1/binary>>} = read_cases(NB, Rest0, []),
    {Reencs, <<>>} = read_reencs(NR, Rest1, []),
    NB >= ?MIN_BUILDER_CASES orelse ct:fail({too_few_builder_cases, NB}),
    NR =:= length(Terms) orelse ct:fail({reencodings, NR, length(Terms)}),
    CaseErrors = lists:filtermap(fun check_case/1, Cases),
    TermArray = list_to_tuple(Terms),
    ReencErrors = [{Index, term_label(element(Index + 1, TermArray))}
                   || {Index, Ext} <- Reencs,
                      not same_term(Ext, element(Index + 1, TermArray))],
    [ct:log("builder case ~ts~n  expected ~ts = ~tp~n  C built  ~tp~n  bytes    ~w~n"
            "  Erlang   ~w",
            [Src, Exp, Want, Got, Ext, Canon])
     || {Src, Exp, Want, Got, Ext, Canon} <- CaseErrors],
    [ct:log("re-encoding of term #~b ~ts is not =:= to it", [I, L]) || {I, L} <- ReencErrors],
    ct:log("~b builder cases, ~b re-encodings checked", [NB, NR]),
    CaseErrors =:= [] orelse ct:fail({builder_cases_disagree,
                                              [{S, E} || {S, E, _, _, _, _} <- CaseErrors]}),
    ReencErrors =:= [] orelse ct:fail({reencodings_disagree, ReencErrors}),
    ok.

read_cases(0, Rest, Acc) ->
    {lists:reverse(Acc), Rest};
read_cases(N, <<Flags:32, SL:32, Src:SL/binary, XL:32, Exp:XL/binary, EL:32, Ext:EL/binary,
                Rest/binary>>, Acc) ->
    read_cases(N - 1, Rest, [#{canon => Flags band 1 =:= 1, src => Src, expect => Exp,
                               ext => Ext} | Acc]).

read_reencs(0, Rest, Acc) ->
    {lists:reverse(Acc), Rest};
read_reencs(N, <<I:32, L:32, Ext:L/binary, Rest/binary>>, Acc) ->
    read_reencs(N - 1, Rest, [{I, Ext} | Acc]).

%% false when the case agrees; else the details to report.
check_case(#{canon := Canon, src := Src, expect := Exp, ext := Ext}) ->
    Want = eval(Exp),
    Got = try binary_to_term(Ext) catch error:badarg -> {binary_to_term_failed} end,
    Erlang = term_to_binary(Want, [{minor_version, 2}]),
    case Got =:= Want andalso (not Canon orelse Erlang =:= Ext) of
        true -> false;
        false -> {true, {Src, Exp, Want, Got, Ext, Erlang}}
    end.

same_term(Ext, T) ->
    try binary_to_term(Ext) =:= T
    catch error:badarg -> false
    end.

term_label(T) ->
    string:slice(lists:flatten(io_lib:format("~tP", [T, 4])), 0, 60).

%% Evaluates an expected term written as an Erlang expression (UTF-8), with
%% pid/4, ref/3 and port/3 making identifiers of any node.
eval(Text) ->
    {ok, Tokens, _} = erl_scan:string(unicode:characters_to_list(Text) ++ "."),
    {ok, Exprs} = erl_parse:parse_exprs(Tokens),
    {value, Value, _} = erl_eval:exprs(Exprs, erl_eval:new_bindings(),
                                       {value, fun local_call/2}),
    Value.

local_call(pid, [Node, Id, Serial, Creation]) ->
    term_corpus:pid(Node, Id, Serial, Creation);
local_call(ref, [Node, Creation, Ids]) ->
    term_corpus:ref(Node, Creation, Ids);
local_call(port, [Node, Id, Creation]) ->
    term_corpus:port(Node, Id, Creation).

%%% Peer nodes ------------------------------------------------------------------

%% A process owns the peers (peer:start_link links them to it), so that
%% end_per_testcase can stop every one of them, also after a failed test
%% whose process is gone.
start_keeper() ->
    stop_keeper(),
    Parent = self(),
    {Pid, MRef} = spawn_monitor(
                    fun() ->
                            register(?KEEPER, self()),
                            Parent ! {self(), ready},
                            keeper_loop(#{})
                    end),
    receive
        {Pid, ready} -> erlang:demonitor(MRef, [flush]), Pid;
        {'DOWN', MRef, process, Pid, Reason} -> ct:fail({peer_keeper, Reason})
    end.

stop_keeper() ->
    case whereis(?KEEPER) of
        undefined -> ok;
        Pid -> keeper_call(Pid, stop_all)
    end.

start_peer(Keeper, Name) ->
    case keeper_call(Keeper, {start, Name}) of
        {ok, Node} -> Node;
        Error -> ct:fail({cannot_start_peer, Name, Error})
    end.

stop_peer(Keeper, Node) ->
    keeper_call(Keeper, {stop, Node}).

keeper_call(Keeper, Request) ->
    MRef = erlang:monitor(process, Keeper),
    Keeper ! {Request, self(), MRef},
    receive
        {MRef, Reply} -> erlang:demonitor(MRef, [flush]), Reply;
        {'DOWN', MRef, process, Keeper, Reason} -> {error, {keeper_down, Reason}}
    after ?CALL_TIMEOUT ->
        erlang:demonitor(MRef, [flush]),
        {error, {keeper_timeout, Request}}
    end.

keeper_loop(Peers) ->
    receive
        {{start, Name}, From, Ref} ->
            %% Hidden: global would otherwise see a node come back under the
            %% same name and disconnect it to prevent overlapping partitions.
            case catch peer:start_link(#{name => Name, args => ["-hidden"],
                                         wait_boot => 30000}) of
                {ok, Peer, Node} ->
                    From ! {Ref, {ok, Node}},
                    keeper_loop(Peers#{Node => Peer});
                Other ->
                    From ! {Ref, {error, Other}},
                    keeper_loop(Peers)
            end;
        {{stop, Node}, From, Ref} ->
            case maps:take(Node, Peers) of
                {Peer, Rest} ->
                    stop(Peer, Node),
                    From ! {Ref, ok},
                    keeper_loop(Rest);
                error ->
                    From ! {Ref, {error, {no_peer, Node}}},
                    keeper_loop(Peers)
            end;
        {stop_all, From, Ref} ->
            maps:foreach(fun(Node, Peer) -> stop(Peer, Node) end, Peers),
            unregister(?KEEPER),
            From ! {Ref, ok}
    end.

%% peer:stop/1 returns once the node is gone; waiting for nodedown as well
%% makes sure a restart under the same name finds the name free.
stop(Peer, Node) ->
    monitor_node(Node, true),
    catch peer:stop(Peer),
    receive
        {nodedown, Node} -> ok
    after ?CALL_TIMEOUT ->
        ok
    end.
