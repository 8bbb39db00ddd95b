%% The Erlang side of the probe NIF library (nif/test/otpc_nif_probe.c).
%% nif_SUITE compiles it with -DLIB="path without .so" for each build of the
%% library it loads (v1, v2 for the hot upgrade, one for another OTP).
-module(otpc_nif_probe).
-on_load(init/0).
-export([version/0, t_int/1, t_range/1, t_uint/1, t_integer/1, t_float/1, t_num/1,
         t_bool/1, t_atom/1, t_enum/1, t_bin/1, t_iolist/1, t_pid/1, t_list/1,
         t_tuple/1, t_map/1, t_nested/1, t_any/1, t_two/2, block_sum/1,
         fail_with/1, bad_result/0, sched_normal/0, sched_dirty_cpu/0,
         sched_dirty_io/0, cell_new/2, cell_get/1, cell_watch/2, cell_binary/2,
         gate/1, gate_job/2, fail_job/1, wait_cancel/1, job_sum/1]).

init() ->
    otpc_nif:load_file(?LIB, fun(Path, Info) -> erlang:load_nif(Path, Info) end).

-define(NIF, erlang:nif_error(not_loaded)).
version() -> ?NIF.
t_int(_) -> ?NIF.
t_range(_) -> ?NIF.
t_uint(_) -> ?NIF.
t_integer(_) -> ?NIF.
t_float(_) -> ?NIF.
t_num(_) -> ?NIF.
t_bool(_) -> ?NIF.
t_atom(_) -> ?NIF.
t_enum(_) -> ?NIF.
t_bin(_) -> ?NIF.
t_iolist(_) -> ?NIF.
t_pid(_) -> ?NIF.
t_list(_) -> ?NIF.
t_tuple(_) -> ?NIF.
t_map(_) -> ?NIF.
t_nested(_) -> ?NIF.
t_any(_) -> ?NIF.
t_two(_, _) -> ?NIF.
block_sum(_) -> ?NIF.
fail_with(_) -> ?NIF.
bad_result() -> ?NIF.
sched_normal() -> ?NIF.
sched_dirty_cpu() -> ?NIF.
sched_dirty_io() -> ?NIF.
cell_new(_, _) -> ?NIF.
cell_get(_) -> ?NIF.
cell_watch(_, _) -> ?NIF.
cell_binary(_, _) -> ?NIF.
gate(_) -> ?NIF.
gate_job(_, _) -> ?NIF.
fail_job(_) -> ?NIF.
wait_cancel(_) -> ?NIF.
job_sum(_) -> ?NIF.
