%% @doc The examples of the otpc NIF toolkit (nif/examples/otpc_nif_example.c),
%% loaded from priv/lib/otpc_nif_example.so.
-module(otpc_nif_example).

-export([add/2, sum_binary/1, digest/1, counter_new/0, counter_add/2, counter_get/1]).
-nifs([add/2, sum_binary/1, digest/1, counter_new/0, counter_add/2, counter_get/1]).
-on_load(init/0).

init() ->
    otpc_nif:load(otpc, "otpc_nif_example", fun(Path, Info) -> erlang:load_nif(Path, Info) end).

%% @doc A + B, integers of any size.
-spec add(integer(), integer()) -> integer().
add(_A, _B) -> erlang:nif_error(not_loaded).

%% @doc The sum of the bytes of Bin (any length; yields every ~0.2 ms).
-spec sum_binary(binary()) -> non_neg_integer().
sum_binary(_Bin) -> erlang:nif_error(not_loaded).

%% @doc FNV-1a 64 of iodata, on a dirty CPU scheduler.
-spec digest(iodata()) -> non_neg_integer().
digest(_IoData) -> erlang:nif_error(not_loaded).

%% @doc A new counter (a resource), at 0.
-spec counter_new() -> reference().
counter_new() -> erlang:nif_error(not_loaded).

%% @doc Adds By (|By| =< 2^40) and returns the new value.
-spec counter_add(reference(), integer()) -> integer().
counter_add(_Counter, _By) -> erlang:nif_error(not_loaded).

-spec counter_get(reference()) -> integer().
counter_get(_Counter) -> erlang:nif_error(not_loaded).
