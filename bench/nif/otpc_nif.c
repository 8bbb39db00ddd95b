/* The toolkit side of the NIF benchmarks (module nif_bench_otpc): the same
 * functions as raw_nif.c, declared by spec. */
#include "otpc/nif.h"

static int add(otpc_nif_call_t *c) {
  if (__builtin_add_overflow(c->args[0].i, c->args[1].i, &c->ret.i))
    return otpc_nif_fail(c, enif_make_atom(c->env, "overflow"));
  return 0;
}

static int tuple_decode(otpc_nif_call_t *c) {
  const otpc_nif_val_t *t = c->args[0].seq.v;
  c->ret.i = t[0].i + (int64_t)t[1].f + (int64_t)t[2].bin.size;
  return 0;
}

static const otpc_nif_module_t module = {.pool_threads = 2,
                                         .pool_queue_max = 1024};

#define BENCH_NIFS(X)                                                          \
  X(add, 2, "int, int", "int", OTPC_NIF_NORMAL, add)                           \
  X(tuple_decode, 1, "tuple(int, float, bin)", "int", OTPC_NIF_NORMAL,         \
    tuple_decode)                                                              \
  X(pool_add, 2, "int, int", "int", OTPC_NIF_POOL, add)

OTPC_NIF_MODULE(nif_bench_otpc, BENCH_NIFS, &module)
