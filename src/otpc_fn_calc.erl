%% @doc The otpc_fn examples (fn/calc.c) as NIFs, loaded from
%% priv/lib/otpc_fn_calc.so. The same functions run as a port program
%% (otpc-fn-port) and on a C node (otpc-fn-node) under this module name,
%% with the same results and errors (docs/fn.md).
-module(otpc_fn_calc).

-export([add/2, mean/1, pick/2, join/3]).
-nifs([add/2, mean/1, pick/2, join/3]).
-on_load(init/0).

init() ->
    erlang:load_nif(filename:join([code:priv_dir(otpc), "lib", "otpc_fn_calc"]), 0).

%% @doc A + B, A in 0..1000; error:overflow beyond int64.
-spec add(0..1000, integer()) -> integer().
add(_A, _B) -> erlang:nif_error(not_loaded).

%% @doc The mean of a non-empty list of numbers.
-spec mean([number()]) -> float().
mean(_Numbers) -> erlang:nif_error(not_loaded).

%% @doc The smaller (min) or larger (max) element of {A, B}.
-spec pick(min | max, {integer(), integer()}) -> integer().
pick(_Which, _Pair) -> erlang:nif_error(not_loaded).

%% @doc A and B concatenated, reversed as a whole when Reverse is true.
-spec join(binary(), binary(), boolean()) -> binary().
join(_A, _B, _Reverse) -> erlang:nif_error(not_loaded).
