%% @doc The sans-IO distribution pieces (cnode/dist/) live against real
%% OTP 25 nodes, through test/c/probe_dist.c: a blocking-sockets C node
%% built only on them and the term layer. The CT node (on the private
%% epmd of mk/ct.sh) and peer nodes ping it, message it (fragments
%% included), link and monitor its pid, are dialled by it, tick with it, and
%% feed it wrong cookies and garbage at each handshake step.
-module(dist_probe_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, end_per_testcase/2]).
-export([bad_options/1, ping_hidden/1, ping_visible/1, echo/1, echo_from_peer/1,
         echo_pass_through/1,
         link_and_monitor/1, wrong_cookie_in/1, wrong_cookie_out/1, connect_out/1,
         tick/1, own_ticks/1, garbage/1, garbage_to_initiator/1]).
%% Run on peers, and the logger handler callback.
-export([echo_all/2, tick_watch/2, log/2]).

-define(T, 10000).
%% Our flags without PUBLISHED (OTPC__DFLAGS_OTPC), for the raw clients.
-define(FLAGS, 16#D07DF5FBC).

all() ->
    [bad_options, ping_hidden, ping_visible, echo, echo_from_peer, echo_pass_through,
     link_and_monitor,
     wrong_cookie_in, wrong_cookie_out, connect_out, tick, own_ticks, garbage,
     garbage_to_initiator].

init_per_suite(Config) ->
    case is_alive() of
        true -> Config;
        false -> {skip, "the CT node is not distributed"}
    end.

end_per_suite(_Config) ->
    otpc_test_lib:cleanup().

end_per_testcase(_Case, _Config) ->
    _ = logger:remove_handler(?MODULE),
    otpc_test_lib:cleanup().

%%% Helpers --------------------------------------------------------------

probe_path() ->
    filename:join([otpc_test_lib:build_dir(), "test", "probe_dist"]).

host() ->
    [_, Host] = string:split(atom_to_list(node()), "@"),
    Host.

cookie() ->
    atom_to_list(erlang:get_cookie()).

%% Starts a probe with a fresh name; returns {Handle, ProbeNode}.
start_probe(Args) ->
    Name = "probe" ++ integer_to_list(erlang:unique_integer([positive])) ++ "@" ++ host(),
    {ok, H, <<"ready ", N/binary>>} =
        otpc_test_lib:start_program(probe_path(), ["--sname", Name | Args],
                                    #{ready => "^ready "}),
    Node = binary_to_atom(N, utf8),
    Node = list_to_atom(Name),
    {H, Node}.

line(H, Re) ->
    case otpc_test_lib:wait_line(H, Re, ?T) of
        {ok, Line} -> Line;
        Error -> ct:fail({no_line, Re, Error})
    end.

%% Stops a probe: it exits 0 on SIGTERM, after freeing everything (so
%% that a sanitized build reports leaks and errors by its status).
stopped(H) ->
    {exit_status, 0} = otpc_test_lib:stop_program(H),
    ok.

%% The probe's pid, learnt from an echo.
probe_pid(Node) ->
    {echo, Node} ! {self(), hello},
    receive {echo, Pid, hello} when node(Pid) =:= Node -> Pid
    after ?T -> ct:fail(no_echo)
    end.

echo_all(Node, Terms) ->
    [begin
         {echo, Node} ! {self(), T},
         receive
             {echo, Pid, T2} when node(Pid) =:= Node, T2 =:= T -> ok;
             {echo, _, Other} -> error({echo_mismatch, T, Other})
         after ?T -> error({no_echo, T})
         end
     end || T <- Terms],
    ok.

%% Many small messages at once: several frames per read, frames split
%% across reads, order kept.
burst(P, N) ->
    [{echo, P} ! {self(), {burst, I}} || I <- lists:seq(1, N)],
    [receive {echo, _, {burst, I}} -> ok after ?T -> ct:fail({burst, I}) end
     || I <- lists:seq(1, N)],
    ok.

%% Big messages from several processes at once: their fragments may
%% interleave on the connection.
concurrently(P) ->
    Parent = self(),
    Pids = [spawn_link(fun() ->
                               Big = binary:copy(<<I>>, 1 bsl 20),
                               Parent ! {self(), echo_all(P, [Big, I, Big])}
                       end) || I <- lists:seq(1, 4)],
    [receive {Pid, ok} -> ok after 60000 -> ct:fail(concurrent_echo) end || Pid <- Pids],
    ok.

terms() ->
    Deep = lists:foldl(fun(I, Acc) -> {I, [Acc]} end, bottom, lists:seq(1, 5000)),
    [hello, 42, -1, 1 bsl 1000, -(1 bsl 300), 3.14, -0.0, "text", [], {}, #{},
     [1, 2, 3], [a | b], <<>>, <<1:3>>, self(), make_ref(), hd(erlang:ports()),
     fun lists:map/2, fun() -> closure end,
     list_to_tuple(lists:seq(1, 300)),
     maps:from_list([{K, K * K} || K <- lists:seq(1, 100)]),
     %% Unicode: atoms, strings, binaries, map keys.
     'ünïcødé', list_to_atom(lists:duplicate(255, 16#4E2D)),
     [16#1F600, 16#4E2D, $é], <<"日本語 – ✓"/utf8>>,
     #{'ключ' => <<"значение"/utf8>>, "日本" => 'αβγ', '😀' => [16#1F600]},
     Deep,
     %% One byte over a fragment, and a megabyte: fragments both ways.
     binary:copy(<<"x">>, 65537),
     << <<(I rem 251)>> || I <- lists:seq(1, 1 bsl 20) >>].

load_self(Node) ->
    {Mod, Bin, File} = code:get_object_code(?MODULE),
    {module, Mod} = erpc:call(Node, code, load_binary, [Mod, File, Bin]).

%% A raw distribution client on gen_tcp: connects to the probe's port.
probe_port(Node) ->
    [Alive, Host] = string:split(atom_to_list(Node), "@"),
    {port, Port, 6} = erl_epmd:port_please(Alive, Host),
    Port.

raw(Node) ->
    {ok, S} = gen_tcp:connect("127.0.0.1", probe_port(Node),
                              [binary, {packet, 2}, {active, false}], ?T),
    S.

raw_name() ->
    list_to_binary("raw" ++ integer_to_list(erlang:unique_integer([positive])) ++ "@" ++ host()).

send_name(S, Flags, Name) ->
    ok = gen_tcp:send(S, <<$N, Flags:64, 1:32, (byte_size(Name)):16, Name/binary>>).

%% send_name, status and challenge; returns the probe's challenge.
raw_to_challenge(Node) ->
    S = raw(Node),
    send_name(S, ?FLAGS, raw_name()),
    {ok, <<"sok">>} = gen_tcp:recv(S, 0, ?T),
    NodeBin = atom_to_binary(Node),
    NL = byte_size(NodeBin),
    {ok, <<$N, _Flags:64, Chal:32, _Creation:32, NL:16, NodeBin/binary>>} =
        gen_tcp:recv(S, 0, ?T),
    {S, Chal}.

%% A whole handshake; the socket is then in 4-byte framing.
raw_up(Node) ->
    {S, Chal} = raw_to_challenge(Node),
    Mine = 16#12345678,
    ok = gen_tcp:send(S, <<$r, Mine:32, (digest(Chal))/binary>>),
    Want = digest(Mine),
    {ok, <<$a, Want/binary>>} = gen_tcp:recv(S, 0, ?T),
    ok = inet:setopts(S, [{packet, 4}]),
    S.

digest(Challenge) ->
    erlang:md5([cookie(), integer_to_list(Challenge)]).

%% The probe closes the socket after garbage.
closed(S) ->
    {error, closed} = gen_tcp:recv(S, 0, ?T),
    gen_tcp:close(S).

%% Logger handler: forwards events to the test process.
log(#{msg := Msg}, #{config := #{pid := Pid}}) ->
    Text = case Msg of
               {string, Str} -> Str;
               {report, #{format := F, args := A}} -> io_lib:format(F, A);
               {report, R} -> io_lib:format("~tp", [R]);
               {Format, Args} -> io_lib:format(Format, Args)
           end,
    Pid ! {log, unicode:characters_to_binary(Text)}.

wait_log(Re) ->
    receive
        {log, Text} ->
            case re:run(Text, Re) of
                {match, _} -> Text;
                nomatch -> wait_log(Re)
            end
    after ?T -> ct:fail({no_log, Re})
    end.

%%% Tests ---------------------------------------------------------------

bad_options(_Config) ->
    [{error, {exited, 2, [<<"usage: ", _/binary>> | _]}} =
         otpc_test_lib:start_program(probe_path(), Args, #{ready => "^ready "})
     || Args <- [[], ["--bogus"], ["--sname"], ["--sname", "a", "--ticktime", "x"],
                 ["--sname", "a", "--send", "inbox"]]],
    ok.

ping_hidden(_Config) ->
    {H, P} = start_probe(["--cookie", cookie(), "--hidden"]),
    pong = net_adm:ping(P),
    line(H, "^up " ++ atom_to_list(node()) ++ " in hidden "),
    line(H, "^recv MONITOR_P \\{19,.*,net_kernel,#Ref"),
    line(H, "^recv REG_SEND \\{6,.*,'',net_kernel\\} \\{'\\$gen_call',.*\\{is_auth,"),
    true = lists:member(P, nodes(hidden)),
    false = lists:member(P, nodes()),
    {ok, _Peer, PN} = otpc_test_lib:start_peer(dp),
    pong = erpc:call(PN, net_adm, ping, [P]),
    line(H, "^up " ++ atom_to_list(PN) ++ " in hidden "),
    true = lists:member(P, erpc:call(PN, erlang, nodes, [hidden])),
    false = lists:member(P, erpc:call(PN, erlang, nodes, [])),
    stopped(H).

ping_visible(_Config) ->
    {H, P} = start_probe(["--cookie", cookie()]),
    pong = net_adm:ping(P),
    line(H, "^up " ++ atom_to_list(node()) ++ " in visible "),
    true = lists:member(P, nodes()),
    {ok, _Peer, PN} = otpc_test_lib:start_peer(dp),
    pong = erpc:call(PN, net_adm, ping, [P]),
    line(H, "^up " ++ atom_to_list(PN) ++ " in visible "),
    true = lists:member(P, erpc:call(PN, erlang, nodes, [])),
    %% Still answering after global's and rex's greetings to a visible node.
    echo_all(P, [after_greetings]),
    stopped(H).

echo(_Config) ->
    {H, P} = start_probe(["--cookie", cookie(), "--hidden"]),
    ok = echo_all(P, terms()),
    %% 64 KiB + 1 came in two fragments, the megabyte in 17 (and both went
    %% back in fragments).
    line(H, "^fragments 2 seq "),
    line(H, "^reassembled$"),
    line(H, "^recv REG_SEND .*echo\\} \\{<.*>,<<\"xxxx.*\\(\\d{5} chars\\)$"),
    line(H, "^fragments 17 seq "),
    line(H, "^reassembled$"),
    line(H, "^recv REG_SEND .*echo\\} .*\\(\\d{7} chars\\)$"),
    burst(P, 2000),
    concurrently(P),
    stopped(H).

echo_pass_through(_Config) ->
    %% Without FRAGMENTS (and the atom cache) the BEAM frames 'p' + 131
    %% terms, as for ei; the probe would refuse anything else.
    {H, P} = start_probe(["--cookie", cookie(), "--hidden", "--no-fragments"]),
    ok = echo_all(P, terms()),
    line(H, "^up " ++ atom_to_list(node()) ++ " in hidden flags 0xd075f5fbc$"),
    burst(P, 2000),
    concurrently(P),
    stopped(H).

echo_from_peer(_Config) ->
    {H, P} = start_probe(["--cookie", cookie(), "--hidden"]),
    {ok, _Peer, PN} = otpc_test_lib:start_peer(dp),
    load_self(PN),
    ok = erpc:call(PN, ?MODULE, echo_all, [P, terms()], 60000),
    stopped(H).

link_and_monitor(_Config) ->
    {H, P} = start_probe(["--cookie", cookie(), "--hidden"]),
    Pid = probe_pid(P),
    true = link(Pid),
    line(H, "^recv LINK \\{1,"),
    true = unlink(Pid),
    line(H, "^recv UNLINK_ID \\{35,"),
    Ref = monitor(process, Pid),
    line(H, "^recv MONITOR_P \\{19,.*,<" ++ atom_to_list(P) ++ "\\.100\\.0>,#Ref"),
    true = demonitor(Ref),
    line(H, "^recv DEMONITOR_P \\{20,"),
    %% Unknown name: DOWN noproc by name. A known one: no DOWN before the
    %% echo that follows it on the same connection.
    R1 = monitor(process, {nosuch, P}),
    receive {'DOWN', R1, process, {nosuch, P}, noproc} -> ok
    after ?T -> ct:fail(no_down)
    end,
    R2 = monitor(process, {echo, P}),
    echo_all(P, [after_monitor]),
    receive {'DOWN', R2, _, _, _} = D -> ct:fail({unexpected, D}) after 0 -> ok end,
    %% Another pid of the probe's node does not exist: noproc to a monitor,
    %% an exit noproc to a link.
    PidBin = term_to_binary(Pid),
    HeadLen = byte_size(PidBin) - 12,
    <<Head:HeadLen/binary, _Id:32, Tail:8/binary>> = PidBin,
    Gone = binary_to_term(<<Head/binary, 999:32, Tail/binary>>),
    P = node(Gone),
    R3 = monitor(process, Gone),
    receive {'DOWN', R3, process, Gone, noproc} -> ok after ?T -> ct:fail(no_down) end,
    process_flag(trap_exit, true),
    true = link(Gone),
    receive {'EXIT', Gone, noproc} -> ok after ?T -> ct:fail(no_exit) end,
    stopped(H).

wrong_cookie_in(_Config) ->
    %% The BEAM dials a probe with another cookie: its challenge reply is
    %% refused, and the probe keeps listening.
    {H, P} = start_probe(["--cookie", "notthecookie", "--hidden"]),
    pang = net_adm:ping(P),
    line(H, "^handshake with " ++ atom_to_list(node()) ++
             " failed: .*Invalid challenge reply"),
    false = lists:member(P, nodes(hidden)),
    true = erlang:set_cookie(P, notthecookie),
    pong = net_adm:ping(P),
    line(H, "^up " ++ atom_to_list(node()) ++ " in "),
    stopped(H).

wrong_cookie_out(_Config) ->
    %% The probe dials the BEAM with another cookie: the BEAM logs it and
    %% closes, the probe says so and keeps listening.
    ok = logger:add_handler(?MODULE, ?MODULE, #{config => #{pid => self()}}),
    Me = atom_to_list(node()),
    {H, P} = start_probe(["--cookie", "notthecookie", "--hidden", "--connect", Me]),
    line(H, "^handshake with " ++ Me ++ " failed: connection closed by peer"),
    Log = wait_log("Connection attempt from node " ++ atom_to_list(P) ++
                       " rejected. Invalid challenge reply."),
    ct:log("the BEAM logged: ~ts", [Log]),
    false = lists:member(P, nodes(hidden)),
    true = erlang:set_cookie(P, notthecookie),
    pong = net_adm:ping(P),
    stopped(H).

connect_out(_Config) ->
    %% The probe dials the BEAM and sends to a registered process.
    true = register(probe_inbox, self()),
    Me = atom_to_list(node()),
    {H, P} = start_probe(["--cookie", cookie(), "--hidden", "--connect", Me,
                          "--send", "probe_inbox"]),
    receive {hello, Pid, P} when node(Pid) =:= P -> ok after ?T -> ct:fail(no_hello) end,
    line(H, "^up " ++ Me ++ " out hidden "),
    [P] = [N || N <- nodes(hidden), N =:= P],
    %% The same connection carries traffic the other way.
    echo_all(P, [over_the_probes_connection, binary:copy(<<"y">>, 200000)]),
    pong = net_adm:ping(P),
    {ok, _Peer, PN} = otpc_test_lib:start_peer(dp),
    pong = erpc:call(PN, net_adm, ping, [P]),
    stopped(H).

tick(_Config) ->
    %% A node with net_ticktime 4 (a tick a second, dropped after 4 s of
    %% silence) stays connected over 3 ticktimes. The peer runs on
    %% standard_io: with ticktime 4 it must not tick with the CT node.
    {H, P} = start_probe(["--cookie", cookie(), "--hidden", "--ticktime", "4"]),
    Name = list_to_atom("tick" ++ integer_to_list(erlang:unique_integer([positive]))),
    {ok, Peer, _PN} = peer:start(#{name => Name, connection => standard_io,
                                   args => ["-kernel", "net_ticktime", "4",
                                            "-setcookie", cookie()],
                                   wait_boot => 30000}),
    try
        {Mod, Bin, File} = code:get_object_code(?MODULE),
        {module, Mod} = peer:call(Peer, code, load_binary, [Mod, File, Bin]),
        {true, 4} = peer:call(Peer, ?MODULE, tick_watch, [P, 13000], 60000),
        line(H, "^recv tick "),
        stopped(H)
    after
        peer:stop(Peer)
    end.

%% On the peer: connect, then wait for a timer 13 s later; a nodedown in
%% between fails.
tick_watch(P, Ms) ->
    pong = net_adm:ping(P),
    true = erlang:monitor_node(P, true),
    erlang:send_after(Ms, self(), period_over),
    receive
        {nodedown, P} -> {nodedown, P};
        period_over -> {lists:member(P, nodes(hidden)), net_kernel:get_net_ticktime()}
    end.

own_ticks(_Config) ->
    %% A silent peer gets the probe's own ticks (nothing to echo here), and
    %% is dropped after a ticktime of silence, as net_kernel drops it.
    {H, P} = start_probe(["--cookie", cookie(), "--hidden", "--ticktime", "4"]),
    S = raw_up(P),
    {ok, <<>>} = gen_tcp:recv(S, 0, ?T),
    {ok, <<>>} = gen_tcp:recv(S, 0, ?T),
    line(H, "^down raw\\d+@.*: net_tick_timeout$"),
    read_until_closed(S),
    stopped(H).

garbage(_Config) ->
    {H, P} = start_probe(["--cookie", cookie(), "--hidden"]),
    Fail = "^handshake with 127\\.0\\.0\\.1:\\d+ failed: ",
    %% 1. Instead of send_name.
    S1 = raw(P),
    ok = gen_tcp:send(S1, <<"hello">>),
    line(H, Fail ++ "bad send_name: 5 bytes starting with 104"),
    closed(S1),
    {ok, S2} = gen_tcp:connect("127.0.0.1", probe_port(P), [binary, {active, false}]),
    ok = gen_tcp:send(S2, <<0, 0>>),
    line(H, Fail ++ "empty handshake packet"),
    closed(S2),
    S3 = raw(P),
    Name = raw_name(),
    ok = gen_tcp:send(S3, <<$n, 5:16, 16#3FFFF:32, Name/binary>>),
    line(H, Fail ++ "version 5 send_name"),
    closed(S3),
    S4 = raw(P),
    send_name(S4, 16#4, Name),
    {ok, <<"snot_allowed">>} = gen_tcp:recv(S4, 0, ?T),
    line(H, Fail ++ "Connection attempt from node " ++ binary_to_list(Name) ++
             " rejected since it cannot handle \\[\"FUN_TAGS\""),
    closed(S4),
    S5 = raw(P),
    send_name(S5, ?FLAGS, <<"no_at_sign">>),
    line(H, Fail ++ "Connection attempt from node with illegal name 'no_at_sign'"),
    closed(S5),
    {ok, S6} = gen_tcp:connect("127.0.0.1", probe_port(P), [binary, {active, false}]),
    ok = gen_tcp:send(S6, <<"GET / HTTP/1.1\r\n\r\n">>),
    ok = gen_tcp:close(S6),
    line(H, Fail ++ "connection closed by peer"),
    %% 2. Instead of the challenge reply.
    {S7, _} = raw_to_challenge(P),
    ok = gen_tcp:send(S7, <<"xyz">>),
    line(H, "^handshake with raw\\d+@.* failed: bad challenge reply"),
    closed(S7),
    {S8, _} = raw_to_challenge(P),
    ok = gen_tcp:send(S8, <<$r, 1:32, 0:128>>),
    line(H, "^handshake with raw\\d+@.* failed: .*Invalid challenge reply"),
    closed(S8),
    %% 3. After the handshake: frames that are no distribution messages.
    [begin
         S = raw_up(P),
         ok = gen_tcp:send(S, Frame),
         line(H, "^down raw\\d+@.*: " ++ Re),
         closed(S)
     end || {Frame, Re} <-
                [{<<1, 2, 3>>, "bad frame: corrupted distribution header"},
                 {<<$p, (term_to_binary({22, self(), self()}))/binary>>,
                  "bad frame: corrupted distribution header"},
                 {<<131, 68, 0, (ctl({2, foo}))/binary>>,
                  "bad control message: invalid SEND: a tuple of 2 elements"},
                 {<<131, 68, 0, (ctl({99, foo}))/binary>>,
                  "bad control message: unknown distribution operation 99"},
                 {<<131, 68, 0, (ctl({1, self(), self()}))/binary>>,
                  "bad control message: invalid LINK: element 2 must be a pid "
                  "of the sending node"},
                 {<<131, 70, 1:64, 1:64, "x">>,
                  "bad frame: fragment of sequence 0x1, which was never started"}]],
    S9 = raw_up(P),
    ok = inet:setopts(S9, [{packet, raw}]),
    ok = gen_tcp:send(S9, <<16#ffffffff:32>>),
    line(H, "^down raw\\d+@.*: bad frame: "),
    closed(S9),
    %% Still serving.
    pong = net_adm:ping(P),
    echo_all(P, [still_alive]),
    stopped(H).

ctl(Term) ->
    <<131, Bin/binary>> = term_to_binary(Term),
    Bin.

%% The probe dials a fake node registered with the private epmd, which
%% answers each handshake step with garbage.
garbage_to_initiator(_Config) ->
    {ok, L} = gen_tcp:listen(0, [binary, {packet, 2}, {active, false}]),
    {ok, Port} = inet:port(L),
    Fake = "fake" ++ integer_to_list(erlang:unique_integer([positive])),
    FakeNode = Fake ++ "@" ++ host(),
    {ok, E} = gen_tcp:connect("127.0.0.1", list_to_integer(os:getenv("ERL_EPMD_PORT")),
                              [binary, {packet, raw}, {active, false}]),
    Req = <<$x, Port:16, 77, 0, 6:16, 6:16, (length(Fake)):16,
            (list_to_binary(Fake))/binary, 0:16>>,
    ok = gen_tcp:send(E, <<(byte_size(Req)):16, Req/binary>>),
    {ok, <<$v, 0, _Creation:32>>} = gen_tcp:recv(E, 6, ?T),
    Challenge = fun(Name) ->
                        <<$N, ?FLAGS:64, 7:32, 1:32, (byte_size(Name)):16, Name/binary>>
                end,
    Good = Challenge(list_to_binary(FakeNode)),
    Cases =
        [{[<<"sgarbage">>], "failed: unknown handshake status 'garbage'"},
         {[<<"x">>], "failed: bad handshake status"},
         {[<<"snok">>], "refused: nok"},
         {[<<"snot_allowed">>], "refused: not_allowed"},
         {[<<"sok">>, <<"Nshort">>], "failed: bad challenge from " ++ FakeNode},
         {[<<"sok">>, Challenge(<<"other@elsewhere">>)],
          "failed: Connection attempt to node " ++ FakeNode ++
              ": the peer is 'other@elsewhere', not the node we dialled"},
         {[<<"sok">>, Good, <<$a, 0:128>>], "failed: .*invalid challenge ack"},
         {[<<"sok">>, Good, <<"a">>], "failed: bad challenge ack"}],
    [begin
         {H, P} = start_probe(["--cookie", cookie(), "--hidden", "--connect", FakeNode]),
         {ok, S} = gen_tcp:accept(L, ?T),
         {ok, <<$N, _:64, _:32, _/binary>>} = gen_tcp:recv(S, 0, ?T),
         lists:foreach(fun(Packet) -> ok = gen_tcp:send(S, Packet) end, Answers),
         line(H, "^handshake with " ++ FakeNode ++ " " ++ Re),
         %% The probe closes the connection and keeps running.
         read_until_closed(S),
         pong = net_adm:ping(P),
         stopped(H)
     end || {Answers, Re} <- Cases],
    %% "alive": the probe has no connection to the fake, so it answers true.
    {H, _} = start_probe(["--cookie", cookie(), "--hidden", "--connect", FakeNode]),
    {ok, S} = gen_tcp:accept(L, ?T),
    {ok, <<$N, _/binary>>} = gen_tcp:recv(S, 0, ?T),
    ok = gen_tcp:send(S, <<"salive">>),
    {ok, <<"strue">>} = gen_tcp:recv(S, 0, ?T),
    ok = gen_tcp:close(S),
    line(H, "^handshake with " ++ FakeNode ++ " failed: connection closed by peer"),
    stopped(H),
    gen_tcp:close(E),
    gen_tcp:close(L).

%% Reads (and drops) what the probe still sends, until it closes.
read_until_closed(S) ->
    case gen_tcp:recv(S, 0, ?T) of
        {ok, _} -> read_until_closed(S);
        {error, closed} -> gen_tcp:close(S)
    end.
