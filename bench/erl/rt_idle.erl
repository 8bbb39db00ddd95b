%% runtime.bytes_per_process and runtime.rss_1m_idle: N processes waiting in
%% receive. Mode bytes: RSS growth divided by N; mode rss: the whole VM's RSS
%% in MiB with the N processes alive.
-module(rt_idle).
-export([main/1]).

main([N, Mode]) ->
    _ = bench_util:start(),
    Before = bench_util:rss_bytes(),
    Procs0 = erlang:system_info(process_count),
    spawn_n(N),
    settle(),
    After = bench_util:rss_bytes(),
    bench_util:check("idle processes alive", true,
                     erlang:system_info(process_count) - Procs0 >= N),
    case Mode of
        bytes -> bench_util:report("~.1f", (After - Before) / N);
        rss -> bench_util:report("~.1f", After / 1048576)
    end.

spawn_n(0) ->
    ok;
spawn_n(I) ->
    spawn(fun() -> receive stop -> ok end end),
    spawn_n(I - 1).

%% Until every new process has run to its receive.
settle() ->
    case erlang:statistics(total_run_queue_lengths_all) of
        0 -> ok;
        _ -> receive after 1 -> settle() end
    end.
