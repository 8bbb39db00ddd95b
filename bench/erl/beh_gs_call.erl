%% gen_server call round trip, local, the BEAM side of
%% bench/runtime/beh_gs_call.c: N sequential calls, then the count the
%% server kept. Microseconds per call.
-module(beh_gs_call).
-behaviour(gen_server).
-export([main/1]).
-export([init/1, handle_call/3, handle_cast/2]).

main([N]) ->
    bench_util:start(),
    {ok, Pid} = gen_server:start(?MODULE, [], []),
    T0 = erlang:monotonic_time(),
    call_n(Pid, N),
    Us = bench_util:elapsed_ms(T0) * 1.0e3 / N,
    bench_util:check("calls counted", N, gen_server:call(Pid, count)),
    bench_util:report("~.3f", Us).

call_n(_, 0) -> ok;
call_n(Pid, N) -> ping = gen_server:call(Pid, ping), call_n(Pid, N - 1).

init([]) -> {ok, 0}.

handle_call(count, _From, N) -> {reply, N, N};
handle_call(Req, _From, N) -> {reply, Req, N + 1}.

handle_cast(_, N) -> {noreply, N}.
