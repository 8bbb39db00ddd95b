%% @doc Where the C parts of otpc live once built.
-module(otpc).

-export([priv_dir/0, executable/1]).

%% @doc The application's priv directory, also when otpc is not loaded as an
%% application (as in a plain `erl -pa').
-spec priv_dir() -> file:filename().
priv_dir() ->
    case code:priv_dir(otpc) of
        {error, bad_name} ->
            Ebin = filename:dirname(code:which(?MODULE)),
            filename:join(filename:dirname(Ebin), "priv");
        Dir ->
            Dir
    end.

%% @doc The path of one of otpc's programs (e.g. "otpc-term"), or an error
%% naming the path that was looked at.
-spec executable(string()) -> {ok, file:filename()} | {error, {not_found, file:filename()}}.
executable(Name) ->
    Path = filename:join([priv_dir(), "bin", Name]),
    case filelib:is_regular(Path) of
        true -> {ok, Path};
        false -> {error, {not_found, Path}}
    end.
