-module(nif_bench_raw).
-export([add/2, tuple_decode/1, sum/1, dirty_add/2]).
-on_load(init/0).
init() -> erlang:load_nif(filename:join(os:getenv("NIF_BENCH_DIR"), "nif_bench_raw"), 0).
add(_, _) -> erlang:nif_error(not_loaded).
tuple_decode(_) -> erlang:nif_error(not_loaded).
sum(_) -> erlang:nif_error(not_loaded).
dirty_add(_, _) -> erlang:nif_error(not_loaded).
