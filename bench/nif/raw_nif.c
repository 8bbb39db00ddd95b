/* The peer of the NIF benchmarks: the same functions written by hand on
 * erl_nif, as a C developer would without the toolkit (module
 * nif_bench_raw). */
#include <erl_nif.h>
#include <stdint.h>

static ERL_NIF_TERM add(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  ErlNifSInt64 a, b, r;
  (void)argc;
  if (!enif_get_int64(env, argv[0], &a) || !enif_get_int64(env, argv[1], &b) ||
      __builtin_add_overflow(a, b, &r))
    return enif_make_badarg(env);
  return enif_make_int64(env, r);
}

/* {Int, Float, Binary} -> Int + trunc(Float) + byte_size(Binary) */
static ERL_NIF_TERM tuple_decode(ErlNifEnv *env, int argc,
                                 const ERL_NIF_TERM argv[]) {
  const ERL_NIF_TERM *el;
  int arity;
  ErlNifSInt64 i;
  double f;
  ErlNifBinary bin;
  (void)argc;
  if (!enif_get_tuple(env, argv[0], &arity, &el) || arity != 3 ||
      !enif_get_int64(env, el[0], &i) || !enif_get_double(env, el[1], &f) ||
      !enif_inspect_binary(env, el[2], &bin))
    return enif_make_badarg(env);
  return enif_make_int64(env, i + (int64_t)f + (int64_t)bin.size);
}

static ERL_NIF_TERM sum(ErlNifEnv *env, int argc, const ERL_NIF_TERM argv[]) {
  ErlNifBinary bin;
  uint64_t s = 0;
  (void)argc;
  if (!enif_inspect_binary(env, argv[0], &bin))
    return enif_make_badarg(env);
  for (size_t k = 0; k < bin.size; k++)
    s += bin.data[k];
  return enif_make_uint64(env, s);
}

static ErlNifFunc funcs[] = {
    {"add", 2, add, 0},
    {"tuple_decode", 1, tuple_decode, 0},
    {"sum", 1, sum, 0},
    {"dirty_add", 2, add, ERL_NIF_DIRTY_JOB_CPU_BOUND},
};

ERL_NIF_INIT(nif_bench_raw, funcs, NULL, NULL, NULL, NULL)
