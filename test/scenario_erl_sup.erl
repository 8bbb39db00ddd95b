%% @doc The supervisor family of the differential scenarios, BEAM side:
%% supervisors of puppets (scenario_erl_gs) and the supervisor ops.
%% cnode/tools/scn_sup.c is the same on otpc; docs/scenarios.md lists the
%% ops and the spec format.
%%
%% A supervisor of a scenario is a real supervisor whose init links to the
%% (trapping) controller and announces itself as a puppet, so its exit
%% reason is in the trace; its children are puppets named by their ids.
%%
%% Flags: [{strategy, S}, {intensity, I}, {period, P}, {auto_shutdown, A}]
%% (OTP's defaults for those left out). Children: {Id, Script} or
%% {Id, Script, Props} (a puppet gen_server with that init script), or
%% {Id, {sup, Flags, Children}, Props} (a nested supervisor); Props:
%% {restart, R}, {shutdown, brutal_kill | infinity | Ms}, significant.
-module(scenario_erl_sup).

-behaviour(supervisor).

-export([op/2, real_op/2, start_link/4]).
-export([init/1]).

%%% Ops ----------------------------------------------------------------------

%% @doc The command for a supervisor op, names resolved; `nomatch' if the
%% op is not of this family.
real_op({sup_start, Q, Flags, Children}, S) ->
    real_op({sup_start, Q, Flags, Children, []}, S);
real_op({sup_start, Q, Flags, Children, Opts}, S) ->
    {sup_start, Q, Flags, scenario_erl:real(Children, S),
     case lists:keyfind(register, 1, Opts) of
         {register, N} -> N;
         false -> undefined
     end};
real_op({Op, Sup}, S) when Op =:= sup_which_children; Op =:= sup_count_children ->
    {Op, target(Sup, S)};
real_op({Op, Sup, Arg}, S) when Op =:= sup_terminate_child; Op =:= sup_restart_child;
                                 Op =:= sup_delete_child; Op =:= sup_start_child ->
    {Op, target(Sup, S), scenario_erl:real(Arg, S)};
real_op(_, _) ->
    nomatch.

target({reg, N}, _S) -> N;
target(P, S) -> scenario_erl:pid(P, S).

%% @doc Runs a supervisor op in a scenario process.
op(Ctl, {sup_start, Q, Flags, Children, Reg}) ->
    Args = {Ctl, Q, Flags, Children},
    case Reg of
        undefined -> supervisor:start_link(?MODULE, Args);
        N -> supervisor:start_link({local, N}, ?MODULE, Args)
    end;
op(_, {sup_which_children, Sup}) -> supervisor:which_children(Sup);
op(_, {sup_count_children, Sup}) -> supervisor:count_children(Sup);
op(_, {sup_terminate_child, Sup, Id}) -> supervisor:terminate_child(Sup, Id);
op(_, {sup_restart_child, Sup, Id}) -> supervisor:restart_child(Sup, Id);
op(_, {sup_delete_child, Sup, Id}) -> supervisor:delete_child(Sup, Id);
op(Ctl, {sup_start_child, Sup, Extra}) when is_list(Extra) ->
    _ = Ctl,
    supervisor:start_child(Sup, Extra);
op(Ctl, {sup_start_child, Sup, Child}) ->
    supervisor:start_child(Sup, child_spec(Ctl, Child));
op(_, _) ->
    nomatch.

%% @doc A nested supervisor.
start_link(Ctl, Q, Flags, Children) ->
    supervisor:start_link(?MODULE, {Ctl, Q, Flags, Children}).

%%% The supervisor -------------------------------------------------------------

init({Ctl, Q, Flags, Children}) ->
    link(Ctl),
    Ctl ! {'$ev', self(), {puppet, Q}},
    SupFlags = #{strategy => proplists:get_value(strategy, Flags, one_for_one),
                 intensity => proplists:get_value(intensity, Flags, 1),
                 period => proplists:get_value(period, Flags, 5),
                 auto_shutdown => proplists:get_value(auto_shutdown, Flags, never)},
    {ok, {SupFlags, [child_spec(Ctl, C) || C <- Children]}}.

child_spec(Ctl, {Id, Script}) ->
    child_spec(Ctl, {Id, Script, []});
child_spec(Ctl, {Id, {sup, Flags, Children}, Props}) ->
    maps:merge(#{id => Id, start => {?MODULE, start_link, [Ctl, Id, Flags, Children]},
                 type => supervisor, modules => [?MODULE], shutdown => infinity},
               props(Props));
child_spec(Ctl, {Id, Script, Props}) ->
    maps:merge(#{id => Id, start => {scenario_erl_gs, start_link, [Ctl, Id, Script]},
                 type => worker, modules => [scenario_erl_gs]},
               props(Props)).

props(Props) ->
    maps:from_list([case P of
                        significant -> {significant, true};
                        {restart, R} -> {restart, R};
                        {shutdown, T} -> {shutdown, T}
                    end || P <- Props]).
