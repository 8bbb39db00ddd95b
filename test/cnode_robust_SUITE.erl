%% @doc Robustness of otpc-node (cnode/tools/otpc-node.c) against real OTP 25
%% nodes and a hand-driven raw TCP peer:
%%  - wrong cookies both ways (a BEAM dialling the C node, the C node
%%    dialling a BEAM), each refused with a clear log line from otpc-node;
%%  - garbage bytes and truncated packets at every handshake step, and
%%    after the handshake: a garbage frame, a bad control message, a
%%    truncated frame, fragment sequences that skip a fragment, that
%%    reassemble to a truncated term, or that never finish. Each time
%%    otpc-node logs a reason naming the connection, closes that connection
%%    only, and a BEAM peer connected all along still gets echo round trips
%%    (and never saw a nodedown);
%%  - a BEAM peer killed with SIGKILL: the C side's link gets 'EXIT'
%%    noconnection, its monitor 'DOWN' noconnection, and the peer restarted
%%    under the same name is reached again by the C node's next send.
%%
%% The raw peer speaks the version-6 handshake itself (it is the test's own
%% codec, checked by a well-formed round trip before each bad input, so a
%% failure means the node misbehaved, not the test's encoder).
-module(cnode_robust_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, init_per_suite/1, end_per_suite/1, end_per_testcase/2]).
-export([wrong_cookie_beam_to_c/1, wrong_cookie_c_to_beam/1,
         wrong_cookie_c_to_beam_reason/1,
         hs_garbage_name/1, hs_truncated_name/1, hs_truncated_name_open/1,
         hs_bad_name_fields/1, hs_garbage_reply/1, hs_wrong_digest/1,
         hs_truncated_reply/1, frame_garbage/1, frame_bad_control/1, frame_unknown_op/1,
         frame_truncated/1, frag_skip/1, frag_truncated_term/1,
         frag_unfinished/1, frag_unknown_continuation/1, sigkill_peer/1,
         dial_garbage_status/1, dial_garbage_challenge/1,
         dial_truncated_challenge/1, dial_wrong_ack/1]).
%% Run on peers.
-export([forward/1, watch/1]).

-define(T, 10000).
%% The mandatory flags of OTP 25 and FRAGMENTS (header mode, 131,68), as a
%% hidden node (no PUBLISHED): enough for the node to accept us.
-define(RAW_FLAGS, (16#01070F94 bor 16#800000)).

all() ->
    [wrong_cookie_beam_to_c, wrong_cookie_c_to_beam,
     wrong_cookie_c_to_beam_reason, hs_garbage_name, hs_truncated_name, hs_truncated_name_open,
     hs_bad_name_fields, hs_garbage_reply, hs_wrong_digest, hs_truncated_reply,
     frame_garbage, frame_bad_control, frame_unknown_op, frame_truncated,
     frag_skip, frag_truncated_term, frag_unfinished, frag_unknown_continuation,
     dial_garbage_status, dial_garbage_challenge, dial_truncated_challenge,
     dial_wrong_ack, sigkill_peer].

init_per_suite(Config) ->
    case is_alive() of
        true -> Config;
        false -> {skip, "the CT node is not distributed"}
    end.

end_per_suite(_Config) ->
    otpc_test_lib:cleanup().

end_per_testcase(_Case, _Config) ->
    otpc_test_lib:cleanup().

%%% Helpers: nodes --------------------------------------------------------

host() -> otpc_test_lib:host().

cookie() -> atom_to_list(erlang:get_cookie()).

%% Starts otpc-node with a fresh name and the given cookie.
start_node(Cookie) ->
    otpc_test_lib:start_cnode("robust", [], #{cookie => Cookie}).

stopped(H) -> otpc_test_lib:stop_cnode(H).

%% Waits for a log line of otpc-node matching Re; returns it.
logged(H, Re) ->
    logged(H, Re, ?T).

logged(H, Re, Timeout) ->
    case otpc_test_lib:wait_line(H, Re, Timeout) of
        {ok, Line} -> ct:log("otpc-node logged: ~ts", [Line]), Line;
        Error -> ct:fail({not_logged, Re, Error})
    end.

load_self(PNode) ->
    {Mod, Bin, File} = code:get_object_code(?MODULE),
    {module, Mod} = rpc:call(PNode, code, load_binary, [Mod, File, Bin]),
    ok.

start_peer(Args) ->
    {ok, Peer, PNode} = otpc_test_lib:start_peer(robust, Args),
    load_self(PNode),
    {Peer, PNode}.

forward(To) ->
    receive M -> To ! {forwarded, M}, forward(To) end.

%% On a peer: keeps a connection to Node, does echo round trips on request
%% and remembers any nodedown, which would mean that connection was lost.
watch(Node) ->
    true = monitor_node(Node, true),
    watch_loop(Node, []).

watch_loop(Node, Downs) ->
    receive
        {From, echo, X} ->
            {echo, Node} ! {self(), X},
            R = receive {echo, P, X} when node(P) =:= Node -> ok
                after ?T -> timeout
                end,
            From ! {watch, R, Downs},
            watch_loop(Node, Downs);
        {nodedown, N} ->
            watch_loop(Node, [N | Downs])
    end.

%% The fixture of the garbage cases: otpc-node, a BEAM peer watching its
%% connection to it, and the CT node monitoring it too.
fixture() ->
    {H, Node} = start_node(cookie()),
    {_Peer, PNode} = start_peer([]),
    W = spawn(PNode, ?MODULE, watch, [Node]),
    others_ok(#{h => H, node => Node, watch => W}),
    logged(H, "^up " ++ atom_to_list(PNode) ++ " in visible"),
    true = monitor_node(Node, true),
    #{h => H, node => Node, watch => W}.

%% Other connections keep working: an echo round trip from the peer and
%% from the CT node, and neither saw its connection go down.
others_ok(#{node := Node, watch := W}) ->
    X = erlang:unique_integer(),
    W ! {self(), echo, X},
    receive
        {watch, ok, []} -> ok;
        {watch, R, Downs} -> ct:fail({peer_connection_hurt, R, Downs})
    after 2 * ?T -> ct:fail(no_watch_reply)
    end,
    {echo, Node} ! {self(), X},
    receive {echo, _, X} -> ok after ?T -> ct:fail(no_ct_echo) end,
    receive {nodedown, Node} -> ct:fail(ct_connection_dropped) after 0 -> ok end.

done(#{h := H} = F) ->
    others_ok(F),
    stopped(H).

%%% Helpers: the raw peer's codec ----------------------------------------

raw_name() ->
    "raw" ++ integer_to_list(erlang:unique_integer([positive])) ++ "@" ++ host().

%% A TCP connection to the node's distribution port, raw bytes, passive.
raw_connect(Node) ->
    [Alive, Host] = string:split(atom_to_list(Node), "@"),
    {port, Port, 6} = erl_epmd:port_please(Alive, Host),
    {ok, S} = gen_tcp:connect("127.0.0.1", Port, [binary, {active, false}, {packet, raw}]),
    {ok, {_, LPort}} = inet:sockname(S),
    %% Before the peer names itself the node can only name the address.
    {S, "127\\.0\\.0\\.1:" ++ integer_to_list(LPort)}.

send(S, Bytes) -> ok = gen_tcp:send(S, Bytes).

p2(B) -> <<(byte_size(B)):16, B/binary>>.
p4(B) -> <<(byte_size(B)):32, B/binary>>.

send_name(Name) ->
    p2(<<$N, ?RAW_FLAGS:64, 4242:32, (length(Name)):16, (list_to_binary(Name))/binary>>).

recv_p2(S) ->
    {ok, <<L:16>>} = gen_tcp:recv(S, 2, ?T),
    {ok, B} = gen_tcp:recv(S, L, ?T),
    B.

%% Reads the status and the challenge; returns the node's challenge.
recv_challenge(S) ->
    <<"sok">> = recv_p2(S),
    <<$N, _Flags:64, Chal:32, _Cr:32, NL:16, _Name:NL/binary>> = recv_p2(S),
    Chal.

digest(Cookie, Chal) -> erlang:md5(Cookie ++ integer_to_list(Chal)).

challenge_reply(Cookie, Chal) ->
    p2(<<$r, 7:32, (digest(Cookie, Chal))/binary>>).

%% A complete handshake as Name; returns the socket, up.
raw_up(Node, Name) ->
    {S, _} = raw_connect(Node),
    send(S, send_name(Name)),
    Chal = recv_challenge(S),
    send(S, challenge_reply(cookie(), Chal)),
    Ack = recv_p2(S),
    Ack = <<$a, (digest(cookie(), 7))/binary>>,
    S.

%% A pid of the raw node (it exists only on the wire).
raw_pid(Name) ->
    N = list_to_binary(Name),
    binary_to_term(<<131, 88, 118, (byte_size(N)):16, N/binary, 1:32, 0:32, 4242:32>>).

%% External format without the leading 131, as it follows a dist header.
ext(T) ->
    <<131, B/binary>> = term_to_binary(T),
    B.

%% A REG_SEND from the raw node's pid to echo, and its payload.
reg_send(Name, X) ->
    Pid = raw_pid(Name),
    {ext({6, Pid, '', echo}), ext({Pid, X})}.

%% One frame in header mode (131,68, no atom cache refs).
frame(Ctl, Payload) ->
    p4(<<131, 68, 0, Ctl/binary, Payload/binary>>).

%% Bytes of one message cut into N fragments (the first carries the
%% header's 0 atom cache refs), one frame each.
fragments(Seq, Bytes, N) ->
    Size = (byte_size(Bytes) + N - 1) div N,
    Parts = split(Bytes, Size),
    N = length(Parts),
    [case I of
         N -> p4(<<131, 69, Seq:64, I:64, 0, P/binary>>);
         _ -> p4(<<131, 70, Seq:64, I:64, P/binary>>)
     end || {I, P} <- lists:zip(lists:seq(N, 1, -1), Parts)].

split(B, Size) when byte_size(B) =< Size -> [B];
split(B, Size) ->
    <<H:Size/binary, R/binary>> = B,
    [H | split(R, Size)].

%% Waits for the echo's answer on the raw connection (ticks skipped).
raw_echo(S, X) ->
    {ok, <<L:32>>} = gen_tcp:recv(S, 4, ?T),
    case L of
        0 -> raw_echo(S, X);
        _ ->
            {ok, <<131, 68, 0, Rest/binary>>} = gen_tcp:recv(S, L, ?T),
            {_Ctl, Used} = binary_to_term(<<131, Rest/binary>>, [used]),
            <<_:(Used - 1)/binary, Payload/binary>> = Rest,
            {echo, _, X} = binary_to_term(<<131, Payload/binary>>),
            ok
    end.

%% A well-formed round trip on the raw connection: our codec is right.
raw_round_trip(S, Name) ->
    X = {ok, erlang:unique_integer()},
    {Ctl, Pay} = reg_send(Name, X),
    send(S, frame(Ctl, Pay)),
    raw_echo(S, X).

%% The node closed this connection (we may read what it wrote before).
closed(S) ->
    case gen_tcp:recv(S, 0, ?T) of
        {error, closed} -> gen_tcp:close(S);
        {ok, _} -> closed(S);
        Other -> ct:fail({not_closed, Other})
    end.

%%% Cases: cookies --------------------------------------------------------

%% A BEAM with another cookie dials the C node: refused, and the C node
%% says why, naming the peer; with the right cookie the next ping works.
wrong_cookie_beam_to_c(_Config) ->
    {H, Node} = start_node("not_the_cookie"),
    pang = net_adm:ping(Node),
    logged(H, "^handshake with " ++ atom_to_list(node()) ++
               " failed: .*Invalid challenge reply"),
    true = erlang:set_cookie(Node, not_the_cookie),
    pong = net_adm:ping(Node),
    stopped(H).

%% The C node (cookie wrong for the peer) dials a BEAM: the BEAM refuses,
%% the C node logs the failed handshake, and its link to a process there
%% breaks with noconnection, as OTP does for a node it cannot reach.
wrong_cookie_c_to_beam(_Config) ->
    {H, Node} = start_node("not_the_cookie"),
    true = erlang:set_cookie(Node, not_the_cookie),
    {_Peer, PNode} = start_peer([]),
    P = spawn(PNode, ?MODULE, forward, [self()]),
    {ctl, Node} ! {self(), link, P},
    ctl(linked),
    logged(H, "^handshake with " ++ atom_to_list(PNode) ++ " failed: .+"),
    ctl({'EXIT', P, noconnection}),
    stopped(H).

%% When the BEAM refuses the C node's challenge reply it closes the socket;
%% a close while the initiator waits for the challenge ack has no other
%% common cause (OTP's acceptor closes there only for a bad digest), so
%% otpc-node's line says the cookie was wrong.
wrong_cookie_c_to_beam_reason(_Config) ->
    {H, Node} = start_node("not_the_cookie"),
    true = erlang:set_cookie(Node, not_the_cookie),
    {_Peer, PNode} = start_peer([]),
    P = spawn(PNode, ?MODULE, forward, [self()]),
    {ctl, Node} ! {self(), send, P, hello},
    ctl(sent),
    logged(H, "^handshake with " ++ atom_to_list(PNode) ++ " failed: .*wrong cookie"),
    stopped(H).

ctl(Expect) ->
    receive {ctl, Expect} -> ok
    after ?T -> ct:fail({no_ctl, Expect})
    end.

%%% Cases: the handshake, step by step -----------------------------------

%% Step 1, send_name: bytes that are no send_name at all.
hs_garbage_name(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    {S, Who} = raw_connect(Node),
    send(S, p2(<<"GET / HTTP/1.0">>)),
    logged(H, "^handshake with " ++ Who ++ " failed: .+"),
    closed(S),
    done(F).

%% Step 1: half a send_name, then the peer hangs up.
hs_truncated_name(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    {S, Who} = raw_connect(Node),
    <<Half:10/binary, _/binary>> = send_name(raw_name()),
    send(S, Half),
    gen_tcp:close(S),
    logged(H, "^handshake with " ++ Who ++ " failed: connection closed by peer"),
    done(F).

%% Step 1: half a send_name and silence: the setup timer closes it.
hs_truncated_name_open(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    {S, Who} = raw_connect(Node),
    <<Half:10/binary, _/binary>> = send_name(raw_name()),
    send(S, Half),
    %% The node's setup time is 7 s, checked once a second.
    logged(H, "^handshake with " ++ Who ++ " failed: setup timeout", 3 * ?T),
    closed(S),
    done(F).

%% Step 1: a send_name whose fields lie (name length past the end, a name
%% without a host, missing mandatory flags).
hs_bad_name_fields(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    Name = raw_name(),
    [begin
         {S, Who} = raw_connect(Node),
         send(S, p2(Bad)),
         logged(H, "^handshake with (" ++ Who ++ "|" ++ Peer ++ ") failed: .+"),
         closed(S),
         others_ok(F)
     end || {Peer, Bad} <- [{Name, <<$N, ?RAW_FLAGS:64, 1:32, 200:16, "x@y">>},
                            {"nohost", <<$N, ?RAW_FLAGS:64, 1:32, 6:16, "nohost">>},
                            {Name, <<$N, 16#4:64, 1:32, (length(Name)):16,
                                     (list_to_binary(Name))/binary>>}]],
    done(F).

%% Step 2, challenge_reply: garbage instead of 'r'.
hs_garbage_reply(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    Name = raw_name(),
    {S, _} = raw_connect(Node),
    send(S, send_name(Name)),
    _ = recv_challenge(S),
    send(S, p2(<<"garbage garbage garbage">>)),
    logged(H, "^handshake with " ++ Name ++ " failed: bad challenge reply"),
    closed(S),
    done(F).

%% Step 2: a well-formed reply with a digest from another cookie.
hs_wrong_digest(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    Name = raw_name(),
    {S, _} = raw_connect(Node),
    send(S, send_name(Name)),
    Chal = recv_challenge(S),
    send(S, challenge_reply("another cookie", Chal)),
    logged(H, "^handshake with " ++ Name ++ " failed: .*Invalid challenge reply"),
    closed(S),
    done(F).

%% Step 2: half a challenge_reply, then the peer hangs up.
hs_truncated_reply(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    Name = raw_name(),
    {S, _} = raw_connect(Node),
    send(S, send_name(Name)),
    Chal = recv_challenge(S),
    <<Half:9/binary, _/binary>> = challenge_reply(cookie(), Chal),
    send(S, Half),
    gen_tcp:close(S),
    logged(H, "^handshake with " ++ Name ++ " failed: connection closed by peer"),
    done(F).

%%% Cases: after the handshake -------------------------------------------

%% A frame that is neither a tick, 'p' nor a 131 header.
frame_garbage(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    Name = raw_name(),
    S = raw_up(Node, Name),
    raw_round_trip(S, Name),
    send(S, p4(<<"\x01\x02\x03 garbage">>)),
    logged(H, "^down " ++ Name ++ ": bad frame: .+"),
    closed(S),
    done(F).

%% A well-framed message whose control tuple is invalid: REG_SEND with a
%% non-atom name, then an unknown operation.
frame_bad_control(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    [begin
         Name = raw_name(),
         S = raw_up(Node, Name),
         raw_round_trip(S, Name),
         Pid = raw_pid(Name),
         send(S, frame(ext(Ctl(Pid)), ext(hello))),
         logged(H, "^down " ++ Name ++ ": bad control message: .+"),
         closed(S),
         others_ok(F)
     end || Ctl <- [fun(P) -> {6, P, '', "echo"} end,
                    fun(P) -> {6, P} end,
                    fun(P) -> {1, other_pid(), P} end]],
    done(F).

%% An operation this node does not know is logged and skipped (the node's
%% choice: newer peers may send operations it has no use for); the
%% connection goes on.
frame_unknown_op(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    Name = raw_name(),
    S = raw_up(Node, Name),
    send(S, frame(ext({999, raw_pid(Name)}), <<>>)),
    logged(H, "^" ++ Name ++ ": ignored control message: .*999"),
    raw_round_trip(S, Name),
    gen_tcp:close(S),
    done(F).

other_pid() ->
    binary_to_term(<<131, 88, 118, 7:16, "other@h", 1:32, 0:32, 1:32>>).

%% A frame cut short, then the peer hangs up.
frame_truncated(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    Name = raw_name(),
    S = raw_up(Node, Name),
    raw_round_trip(S, Name),
    {Ctl, Pay} = reg_send(Name, hello),
    <<Part:20/binary, _/binary>> = frame(Ctl, Pay),
    send(S, Part),
    gen_tcp:close(S),
    logged(H, "^down " ++ Name ++ ": connection closed by peer"),
    done(F).

%% A fragment sequence 3, 1 (2 skipped). A complete 3-fragment message
%% first proves the fragments themselves are right.
frag_skip(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    Name = raw_name(),
    S = raw_up(Node, Name),
    X = binary:copy(<<"x">>, 300),
    {Ctl, Pay} = reg_send(Name, X),
    send(S, fragments(1, <<Ctl/binary, Pay/binary>>, 3)),
    raw_echo(S, X),
    [F3, _F2, F1] = fragments(2, <<Ctl/binary, Pay/binary>>, 3),
    send(S, [F3, F1]),
    logged(H, "^down " ++ Name ++ ": bad frame: .+"),
    closed(S),
    done(F).

%% A complete sequence whose bytes end inside the payload term.
frag_truncated_term(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    Name = raw_name(),
    S = raw_up(Node, Name),
    raw_round_trip(S, Name),
    {Ctl, Pay} = reg_send(Name, binary:copy(<<"y">>, 300)),
    Cut = byte_size(Pay) - 100,
    <<Short:Cut/binary, _/binary>> = Pay,
    send(S, fragments(3, <<Ctl/binary, Short/binary>>, 3)),
    logged(H, "^down " ++ Name ++ ": bad (frame|control message): .+"),
    closed(S),
    done(F).

%% Two fragments of three, then the peer hangs up: the node frees the
%% unfinished sequence (the sanitized run checks for leaks).
frag_unfinished(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    Name = raw_name(),
    S = raw_up(Node, Name),
    raw_round_trip(S, Name),
    {Ctl, Pay} = reg_send(Name, binary:copy(<<"z">>, 300)),
    [F3, F2, _F1] = fragments(4, <<Ctl/binary, Pay/binary>>, 3),
    send(S, [F3, F2]),
    gen_tcp:close(S),
    logged(H, "^down " ++ Name ++ ": connection closed by peer"),
    done(F).

%% A continuation of a sequence never started.
frag_unknown_continuation(_Config) ->
    F = #{h := H, node := Node} = fixture(),
    Name = raw_name(),
    S = raw_up(Node, Name),
    raw_round_trip(S, Name),
    send(S, p4(<<131, 70, 77:64, 2:64, "orphan">>)),
    logged(H, "^down " ++ Name ++ ": bad frame: .+"),
    closed(S),
    done(F).

%%% Cases: the C node dials a bad peer -----------------------------------

%% A fake node: a listening socket registered with epmd under a fresh name
%% (the epmd connection stays open, as a node's does). Returns
%% {Listen, Epmd, Name}.
fake_node() ->
    Name = raw_name(),
    [Alive, _] = string:split(Name, "@"),
    {ok, L} = gen_tcp:listen(0, [binary, {active, false}, {packet, raw}]),
    {ok, LPort} = inet:port(L),
    EPort = list_to_integer(os:getenv("ERL_EPMD_PORT", "4369")),
    {ok, E} = gen_tcp:connect("127.0.0.1", EPort, [binary, {active, false}]),
    A = list_to_binary(Alive),
    send(E, p2(<<120, LPort:16, 77, 0, 6:16, 6:16, (byte_size(A)):16, A/binary, 0:16>>)),
    {ok, <<Tag, 0, _/binary>>} = gen_tcp:recv(E, 0, ?T),
    true = lists:member(Tag, [118, 121]),
    {L, E, Name}.

%% The C process `ctl' links to a pid of the fake node, so the C node dials
%% it; Bad(Socket) then misbehaves at one step. The C node must log the
%% failed handshake naming the peer, break the link with noconnection and
%% keep its other connections.
dial_case(Bad) ->
    F = #{h := H, node := Node} = fixture(),
    {L, E, Name} = fake_node(),
    P = raw_pid(Name),
    {ctl, Node} ! {self(), link, P},
    ctl(linked),
    {ok, S} = gen_tcp:accept(L, ?T),
    %% The C node's send_name, version 6, with its own name.
    NodeB = atom_to_binary(Node),
    <<$N, _Flags:64, _Cr:32, NL:16, NodeB:NL/binary>> = recv_p2(S),
    HungUp = Bad(S, Name),
    logged(H, "^handshake with " ++ Name ++ " failed: .+"),
    ctl({'EXIT', P, noconnection}),
    HungUp orelse closed(S),
    gen_tcp:close(E),
    gen_tcp:close(L),
    done(F).

fake_challenge(Name, Chal) ->
    p2(<<$N, ?RAW_FLAGS:64, Chal:32, 4242:32, (length(Name)):16,
         (list_to_binary(Name))/binary>>).

%% A status that is none of OTP's.
dial_garbage_status(_Config) ->
    dial_case(fun(S, _) -> send(S, p2(<<"sgarbage">>)), false end).

%% "ok", then garbage where the challenge belongs.
dial_garbage_challenge(_Config) ->
    dial_case(fun(S, _) -> send(S, [p2(<<"sok">>), p2(<<"N garbage">>)]), false end).

%% "ok", then half a challenge and hanging up.
dial_truncated_challenge(_Config) ->
    dial_case(fun(S, Name) ->
                      <<Half:12/binary, _/binary>> = fake_challenge(Name, 5),
                      send(S, [p2(<<"sok">>), Half]),
                      ok = gen_tcp:close(S),
                      true
              end).

%% A full exchange up to the ack, whose digest is not the cookie's.
dial_wrong_ack(_Config) ->
    dial_case(fun(S, Name) ->
                      send(S, [p2(<<"sok">>), fake_challenge(Name, 5)]),
                      <<$r, _Chal:32, _Digest:16/binary>> = recv_p2(S),
                      send(S, p2(<<$a, 0:128>>)),
                      false
              end).

%%% Cases: a peer killed -------------------------------------------------

%% kill -9 of a BEAM peer: the C process's link and monitor break with
%% noconnection; the peer restarted under the same name is reached again.
sigkill_peer(_Config) ->
    {H, Node} = start_node(cookie()),
    {ok, Peer, PNode} = otpc_test_lib:start_peer(killed),
    load_self(PNode),
    OsPid = rpc:call(PNode, os, getpid, []),
    P = spawn(PNode, ?MODULE, forward, [self()]),
    {ctl, Node} ! {self(), link, P},
    ctl(linked),
    {ctl, Node} ! {self(), monitor, P},
    Ref = receive {ctl, R} when is_reference(R) -> R after ?T -> ct:fail(no_ref) end,
    %% Both signals have reached P once a message sent after them has.
    {ctl, Node} ! {self(), send, P, sync},
    ctl(sent),
    receive {forwarded, sync} -> ok after ?T -> ct:fail(no_sync) end,
    true = monitor_node(PNode, true),
    _ = os:cmd("kill -9 " ++ OsPid),
    ctl({'EXIT', P, noconnection}),
    ctl({'DOWN', Ref, process, P, noconnection}),
    logged(H, "^down " ++ atom_to_list(PNode) ++ ": .+"),
    receive {nodedown, PNode} -> ok after ?T -> ct:fail(peer_not_down) end,
    otpc_test_lib:stop_peer(Peer),
    %% epmd drops the dead node's name when it sees its socket close; wait
    %% for that (by asking epmd) before registering the name again.
    [Alive, Host] = string:split(atom_to_list(PNode), "@"),
    ok = name_free(Alive, Host, 200),
    {ok, Peer2, PNode} = peer:start(#{name => list_to_atom(Alive), wait_boot => 30000}),
    try
        load_self(PNode),
        P2 = spawn(PNode, ?MODULE, forward, [self()]),
        {ctl, Node} ! {self(), send, P2, again},
        ctl(sent),
        receive {forwarded, again} -> ok after ?T -> ct:fail(no_reconnect) end,
        logged(H, "^up " ++ atom_to_list(PNode) ++ " out"),
        pong = rpc:call(PNode, net_adm, ping, [Node])
    after
        catch peer:stop(Peer2)
    end,
    stopped(H).

%% Polls epmd (bounded): the only signal that a killed node's name is free
%% is epmd's own answer.
name_free(_, _, 0) -> {error, still_registered};
name_free(Alive, Host, N) ->
    case erl_epmd:port_please(Alive, Host) of
        noport -> ok;
        _ -> receive after 20 -> name_free(Alive, Host, N - 1) end
    end.
