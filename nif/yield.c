/* The yielding helper. A long computation runs as steps; one schedule of the
 * NIF runs steps for at most YIELD_SLICE_NS, tells the VM how much of the
 * timeslice that used (enif_consume_timeslice) and reschedules itself with
 * enif_schedule_nif. The state lives in a resource passed along as an extra
 * argument, so it is freed by the GC if the process dies half-way. */
#include <string.h>

#include "nif_int.h"

/* Wall time one schedule may use. The VM counts a whole timeslice as about
 * 1 ms; we report YIELD_FULL_NS as 100%, five times the real share, so the
 * process is scheduled out after each slice of about 0.2 ms, and the 1 ms
 * bound holds with room for the VM's own work and a busy machine. */
#define YIELD_SLICE_NS 200000
#define YIELD_FULL_NS 200000

typedef struct yield_state {
  otpc_nif_step_t step;
  unsigned index;
  size_t size;
  _Alignas(16) char state[];
} yield_state_t;

int otpc_nif__yield_init(ErlNifEnv *env, otpc_nif__lib_t *lib, int flags) {
  ErlNifResourceTypeInit init = {0};
  ErlNifResourceFlags tried;
  lib->yield_rt = enif_open_resource_type_x(env, "otpc_nif_yield", &init,
                                            (ErlNifResourceFlags)flags, &tried);
  return lib->yield_rt ? 0 : OTPC_ENOMEM;
}

static int sched_flags(const otpc_nif_decl_t *d) {
  return d->sched == OTPC_NIF_DIRTY_CPU  ? ERL_NIF_DIRTY_JOB_CPU_BOUND
         : d->sched == OTPC_NIF_DIRTY_IO ? ERL_NIF_DIRTY_JOB_IO_BOUND
                                         : 0;
}

static ERL_NIF_TERM slice(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  otpc_nif__lib_t *lib = enif_priv_data(env);
  yield_state_t *ys;
  if (argc < 1 || !enif_get_resource(env, argv[0], lib->yield_rt, (void **)&ys))
    return enif_make_badarg(env); /* only ever called by ourselves */
  _Alignas(16) char buf[1024];
  otpc_nif__arena_t arena;
  otpc_nif_call_t c;
  otpc_nif__arena_init(&arena, buf, sizeof buf);
  otpc_nif__call_init(&c, lib, ys->index, env, argc - 1, argv + 1, &arena);
  int rc = otpc_nif__decode_args(&c);
  ErlNifTime start = enif_monotonic_time(ERL_NIF_NSEC), used = 0;
  while (rc == 0) {
    rc = ys->step(&c, ys->state);
    if (rc != OTPC_NIF_MORE)
      break;
    used = enif_monotonic_time(ERL_NIF_NSEC) - start;
    if (used >= YIELD_SLICE_NS)
      break;
    rc = 0;
  }
  ERL_NIF_TERM t;
  if (rc == OTPC_NIF_MORE) {
    int percent = (int)(used * 100 / YIELD_FULL_NS);
    enif_consume_timeslice(env, percent < 1     ? 1
                                : percent > 100 ? 100
                                                : percent);
    t = enif_schedule_nif(env, c.fn->decl->name, sched_flags(c.fn->decl), slice,
                          argc, argv);
  } else {
    t = otpc_nif__finish(&c, rc);
  }
  otpc_nif__arena_free(&arena);
  return t;
}

int otpc_nif_yield(otpc_nif_call_t *c, otpc_nif_step_t step, const void *state,
                   size_t state_size) {
  if (c->job || !step || state_size > (1u << 20))
    return OTPC_EINVAL;
  yield_state_t *ys =
      enif_alloc_resource(c->lib->yield_rt, sizeof *ys + state_size);
  if (!ys)
    return OTPC_ENOMEM;
  ys->step = step;
  ys->index = (unsigned)(c->fn - c->lib->fns);
  ys->size = state_size;
  if (state_size)
    memcpy(ys->state, state, state_size);
  ERL_NIF_TERM *argv =
      otpc_nif_scratch(c, (size_t)(c->argc + 1) * sizeof *argv);
  if (!argv) {
    enif_release_resource(ys);
    return OTPC_ENOMEM;
  }
  argv[0] = enif_make_resource(c->env, ys);
  enif_release_resource(ys); /* the term holds it now */
  for (int i = 0; i < c->argc; i++)
    argv[i + 1] = c->argv[i];
  c->out =
      enif_schedule_nif(c->env, c->fn->decl->name, sched_flags(c->fn->decl),
                        slice, c->argc + 1, argv);
  return OTPC_NIF__OUT;
}
