/* The NIF deployment of the otpc_fn examples (fn/calc.c): Erlang module
 * otpc_fn_calc (src/otpc_fn_calc.erl) loads it from priv/lib. */
#include "otpc/fn_nif.h"

#include "../../fn/calc.h"

static otpc_fn_t *fns[OTPC_FN_CALC_N];

static int load(ErlNifEnv *env, void **priv, ERL_NIF_TERM info) {
  (void)env, (void)priv, (void)info;
  otpc_err_t err = {0};
  if (fns[0])
    return 0; /* loaded before (the table is immutable) */
  if (otpc_fn_calc_new(fns, &err) != 0) {
    enif_fprintf(stderr, "otpc_fn_calc: %s\n", err.msg);
    return 1;
  }
  return 0;
}

static int upgrade(ErlNifEnv *env, void **priv, void **old, ERL_NIF_TERM info) {
  (void)old;
  return load(env, priv, info);
}

#define CALL(k, name)                                                          \
  static ERL_NIF_TERM name(ErlNifEnv *env, int argc,                           \
                           const ERL_NIF_TERM argv[]) {                        \
    return otpc_fn_nif_call(env, fns[k], argc, argv);                          \
  }
CALL(0, nif_add)
CALL(1, nif_mean)
CALL(2, nif_pick)
CALL(3, nif_join)

static ErlNifFunc funcs[] = {{"add", 2, nif_add, 0},
                             {"mean", 1, nif_mean, 0},
                             {"pick", 2, nif_pick, 0},
                             {"join", 3, nif_join, 0}};

ERL_NIF_INIT(otpc_fn_calc, funcs, load, NULL, upgrade, NULL)
