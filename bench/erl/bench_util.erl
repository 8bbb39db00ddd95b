%% Helpers shared by the BEAM peers of the benchmarks: one number on the last
%% line of stdout, a non-zero exit status when a result is wrong, and a
%% watchdog so that a hang fails instead of stalling the whole suite.
-module(bench_util).
-export([start/0, report/2, fail/2, check/3, elapsed_ms/1, rss_bytes/0]).

%% Whole-run limit; far above any healthy run.
-define(WATCHDOG_MS, 120000).

%% Starts the watchdog and returns the start time of the measured section.
start() ->
    spawn(fun() ->
                  receive after ?WATCHDOG_MS ->
                          io:format(standard_error, "bench: timeout~n", []),
                          erlang:halt(2)
                  end
          end),
    erlang:monotonic_time().

%% Prints the measurement (Fmt is "~.3f" or "~b") and halts with status 0.
report(Fmt, Value) ->
    io:format(Fmt ++ "~n", [Value]),
    erlang:halt(0).

fail(Fmt, Args) ->
    io:format(standard_error, "bench: " ++ Fmt ++ "~n", Args),
    erlang:halt(1).

%% Fails unless Got =:= Expected.
check(What, Expected, Got) ->
    case Got of
        Expected -> ok;
        _ -> fail("~s: expected ~p, got ~p", [What, Expected, Got])
    end.

elapsed_ms(T0) ->
    erlang:convert_time_unit(erlang:monotonic_time() - T0, native,
                             nanosecond) / 1.0e6.

%% Resident set size of this OS process (the whole VM), from /proc.
rss_bytes() ->
    {ok, Status} = file:read_file("/proc/self/status"),
    [_, Rest] = binary:split(Status, <<"VmRSS:">>),
    [Kb | _] = string:lexemes(Rest, " \t\n"),
    binary_to_integer(Kb) * 1024.
