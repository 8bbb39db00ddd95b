%% @doc Differential scenarios: each scenario of test/scenarios/*.scn runs on
%% this BEAM (scenario_erl) and on the otpc runtime (the otpc-scenario port
%% program), and the two traces must be identical. One test case per
%% scenario, grouped by file; the cases are made from the files, so a new
%% scenario needs no code here.
%%
%% A mismatch is a bug of the runtime (or of a scenario that is not
%% deterministic on the BEAM, which is checked by running it twice there):
%% the failure prints both traces side by side.
-module(scenario_SUITE).

-include_lib("common_test/include/ct.hrl").

-export([all/0, groups/0, init_per_suite/1, end_per_suite/1,
         init_per_testcase/2, end_per_testcase/2]).
%% The test cases are the scenario names; calls to them land here.
-export(['$handle_undefined_function'/2]).

-define(PROGRAM, "otpc-scenario").

all() ->
    [{group, G} || {G, _, _} <- groups()].

groups() ->
    [{file_group(F), [], [Name || {scenario, Name, _, _} <- scenario_erl:load_file(F)]}
     || F <- files()].

init_per_suite(Config) ->
    Scenarios = lists:append([scenario_erl:load_file(F) || F <- files()]),
    Names = [N || {scenario, N, _, _} <- Scenarios],
    case Names -- lists:usort(Names) of
        [] -> ok;
        Dups -> ct:fail({duplicate_scenario_names, Dups})
    end,
    [{scenarios, Scenarios} | Config].

end_per_suite(_Config) ->
    otpc_test_lib:cleanup().

init_per_testcase(_Case, Config) ->
    Config.

end_per_testcase(_Case, _Config) ->
    otpc_test_lib:cleanup().

'$handle_undefined_function'(Name, [Config]) when is_list(Config) ->
    case lists:keyfind(Name, 2, ?config(scenarios, Config)) of
        {scenario, Name, _, _} = Scenario -> run_scenario(Scenario);
        false -> error_handler:raise_undef_exception(?MODULE, Name, [Config])
    end;
'$handle_undefined_function'(Name, Args) ->
    error_handler:raise_undef_exception(?MODULE, Name, Args).

%%% Running ------------------------------------------------------------------

run_scenario({scenario, Name, Doc, Steps} = Scenario) ->
    ct:log("~s: ~ts~nsteps:~n~ts", [Name, Doc, [io_lib:format("  ~0p~n", [S]) || S <- Steps]]),
    Beam = scenario_erl:run(Scenario),
    %% A scenario must be deterministic on the BEAM itself.
    case scenario_erl:run(Scenario) of
        Beam -> ok;
        Beam2 -> fail(Name, "not deterministic on the BEAM", "BEAM run 1", Beam, "BEAM run 2", Beam2)
    end,
    case lists:keymember('$controller', 1, Beam) of
        true -> ct:fail({scenario_broken_on_beam, Name, Beam});
        false -> ok
    end,
    Port = otpc_test_lib:open_port_program(?PROGRAM),
    Otpc = otpc_test_lib:port_call(Port, Scenario, 60000),
    otpc_test_lib:close_port_program(Port),
    case Otpc of
        Beam ->
            ct:log("trace (both):~n~ts", [format_trace(Beam)]);
        _ ->
            fail(Name, "otpc differs from the BEAM", "BEAM", Beam, "otpc", Otpc)
    end.

fail(Name, Why, LabelA, A, LabelB, B) ->
    Text = side_by_side(LabelA, A, LabelB, B),
    ct:pal("~s: ~s~n~ts", [Name, Why, Text]),
    ct:fail({Name, Why, {LabelA, A}, {LabelB, B}}).

%%% Printing ------------------------------------------------------------------

format_trace(Trace) ->
    [[io_lib:format("~0p:~n", [P]), [io_lib:format("    ~0tp~n", [E]) || E <- Es]]
     || {P, Es} <- Trace].

%% One line per entry, process by process; `!' marks the lines that differ.
side_by_side(LabelA, A, LabelB, B) when is_list(A), is_list(B) ->
    Procs = lists:usort([P || {P, _} <- A ++ B]),
    Order = [P || {P, _} <- A] ++ [P || P <- Procs, not lists:keymember(P, 1, A)],
    Header = io_lib:format("  ~-70ts ~ts~n", [LabelA, LabelB]),
    [Header | [side_proc(P, entries(P, A), entries(P, B)) || P <- Order]];
side_by_side(LabelA, A, LabelB, B) ->
    io_lib:format("~ts:~n~tp~n~ts:~n~tp~n", [LabelA, A, LabelB, B]).

entries(P, Trace) ->
    case lists:keyfind(P, 1, Trace) of
        {P, Es} -> [io_lib:format("~0tp", [E]) || E <- Es];
        false -> ["(absent)"]
    end.

side_proc(P, As, Bs) ->
    N = max(length(As), length(Bs)),
    Pad = fun(L) -> L ++ lists:duplicate(N - length(L), "") end,
    [io_lib:format("~0p:~n", [P]) |
     [io_lib:format("~s ~-70ts ~ts~n",
                    [case lists:flatten(X) =:= lists:flatten(Y) of true -> " "; false -> "!" end,
                     X, Y])
      || {X, Y} <- lists:zip(Pad(As), Pad(Bs))]].

%%% Files ------------------------------------------------------------------------

files() ->
    lists:sort(filelib:wildcard(filename:join(scenario_dir(), "*.scn"))).

file_group(File) ->
    list_to_atom(filename:basename(File, ".scn")).

%% test/scenarios, found from the source path the suite was compiled from
%% (CT compiles it in place), else from $OTPC_TOP.
scenario_dir() ->
    Candidates = [filename:join(filename:dirname(?FILE), "scenarios"),
                  filename:join(filename:dirname(code:which(?MODULE)), "scenarios")]
        ++ case os:getenv("OTPC_TOP") of
               false -> [];
               Top -> [filename:join([Top, "test", "scenarios"])]
           end,
    case [D || D <- Candidates, filelib:is_dir(D)] of
        [Dir | _] -> Dir;
        [] -> error({no_scenario_dir, Candidates})
    end.
