-module(nif_bench_otpc).
-export([add/2, tuple_decode/1, pool_add/2]).
-on_load(init/0).
init() ->
    otpc_nif:load_file(filename:join(os:getenv("NIF_BENCH_DIR"), "nif_bench_otpc"),
                       fun(P, I) -> erlang:load_nif(P, I) end).
add(_, _) -> erlang:nif_error(not_loaded).
tuple_decode(_) -> erlang:nif_error(not_loaded).
pool_add(_, _) -> erlang:nif_error(not_loaded).
