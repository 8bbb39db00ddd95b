%% The Erlang driver of bench/port/run.sh: one process owning a raw port,
%% talking either to otpc-port-example ({call, Id, {echo, B}} envelopes) or to
%% the plain echo program (the term alone). Prints one number.
%%   rtt   Side Path Bytes N Pct    the Pct percentile of N round trips, us
%%   tput  Side Path Bytes N Win    requests per second, Win in flight
%%   genserver Path Bytes N Pct     round trips through otpc_port:call, us
%%   cpu   Side Path Bytes N Win    the program's own CPU time per request
%%                                  (pipelined as tput), in us: steadier
%%                                  than wall time on a shared machine
-module(port_bench).
-export([main/1]).

main([Mode | Args]) ->
    bench_util:start(),
    run(list_to_atom(Mode), Args).

run(rtt, [Side, Path, Bytes, N, Pct]) ->
    Port = open(list_to_atom(Side), Path),
    B = payload(Bytes),
    Times = [begin
                 T0 = erlang:monotonic_time(),
                 ok = roundtrip(list_to_atom(Side), Port, I, B),
                 erlang:monotonic_time() - T0
             end || I <- lists:seq(1, list_to_integer(N))],
    bench_util:report("~.3f", percentile(Times, list_to_integer(Pct)));
run(tput, [Side, Path, Bytes, N0, Win0]) ->
    Port = open(list_to_atom(Side), Path),
    B = payload(Bytes),
    N = list_to_integer(N0),
    Win = list_to_integer(Win0),
    S = list_to_atom(Side),
    T0 = erlang:monotonic_time(),
    [send(S, Port, I, B) || I <- lists:seq(1, min(Win, N))],
    pipeline(S, Port, B, min(Win, N) + 1, N, N),
    Ms = bench_util:elapsed_ms(T0),
    bench_util:report("~.1f", N * 1000 / Ms);
run(cpu, [Side, Path, Bytes, N0, Win0]) ->
    Port = open(list_to_atom(Side), Path),
    {os_pid, OsPid} = erlang:port_info(Port, os_pid),
    B = payload(Bytes),
    N = list_to_integer(N0),
    Win = list_to_integer(Win0),
    S = list_to_atom(Side),
    Cpu0 = cpu_ticks(OsPid),
    [send(S, Port, I, B) || I <- lists:seq(1, min(Win, N))],
    pipeline(S, Port, B, min(Win, N) + 1, N, N),
    Ticks = cpu_ticks(OsPid) - Cpu0,
    %% Linux reports CPU time in ticks of 10 ms (USER_HZ 100).
    bench_util:report("~.3f", Ticks * 10000 / N);
run(genserver, [Path, Bytes, N, Pct]) ->
    {ok, P} = otpc_port:start_link(Path, #{}),
    B = payload(Bytes),
    Times = [begin
                 T0 = erlang:monotonic_time(),
                 {ok, B} = otpc_port:call(P, {echo, B}, 5000),
                 erlang:monotonic_time() - T0
             end || _ <- lists:seq(1, list_to_integer(N))],
    bench_util:report("~.3f", percentile(Times, list_to_integer(Pct))).

open(Side, Path) ->
    Port = open_port({spawn_executable, Path}, [{packet, 4}, binary, exit_status]),
    %% The toolkit says hello first; the plain program says nothing.
    case Side of
        otpc -> {hello, 1, _} = recv(Port);
        plain -> ok
    end,
    Port.

payload(Bytes) ->
    %% Bytes is the size of the frame body of the plain side's request.
    binary:copy(<<"x">>, max(0, list_to_integer(Bytes) - 6)).

send(otpc, Port, I, B) -> port_command(Port, term_to_binary({call, I, {echo, B}}));
send(plain, Port, _I, B) -> port_command(Port, term_to_binary(B)).

recv(Port) ->
    receive {Port, {data, R}} -> binary_to_term(R)
    after 10000 -> bench_util:fail("no reply", [])
    end.

roundtrip(S, Port, I, B) ->
    send(S, Port, I, B),
    check(S, recv(Port), I, B).

check(otpc, {reply, I, B}, I, B) -> ok;
check(otpc, {reply, _, B}, any, B) -> ok;
check(plain, B, _, B) -> ok;
check(_, Other, _, _) -> bench_util:fail("unexpected reply ~P", [Other, 5]).

pipeline(_S, _Port, _B, _Next, _N, 0) ->
    ok;
pipeline(S, Port, B, Next, N, Left) ->
    ok = check(S, recv(Port), any, B),
    Next =< N andalso send(S, Port, Next, B),
    pipeline(S, Port, B, Next + 1, N, Left - 1).

cpu_ticks(OsPid) ->
    {ok, Stat} = file:read_file("/proc/" ++ integer_to_list(OsPid) ++ "/stat"),
    [_, Rest] = binary:split(Stat, <<") ">>),
    Fields = binary:split(Rest, <<" ">>, [global]),
    %% utime and stime are fields 14 and 15 of stat, 12 and 13 after ") ".
    binary_to_integer(lists:nth(12, Fields)) + binary_to_integer(lists:nth(13, Fields)).

percentile(Times, Pct) ->
    Sorted = lists:sort(Times),
    Nth = max(1, (length(Sorted) * Pct + 99) div 100),
    erlang:convert_time_unit(lists:nth(Nth, Sorted), native, nanosecond) / 1000.
