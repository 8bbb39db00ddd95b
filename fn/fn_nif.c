/* The NIF deployment of otpc_fn. The arguments are encoded to the external
 * format and read by the same decoder the port program and the C node use,
 * so the three give the same results and the same error terms by
 * construction; the price is one term_to_binary and one binary_to_term per
 * call (measured in bench/fn). */
#include "otpc/fn_nif.h"

static ERL_NIF_TERM internal(ErlNifEnv *env, int code) {
  return enif_raise_exception(
      env, enif_make_tuple2(env, enif_make_atom(env, "otpc_fn"),
                            enif_make_atom(env, otpc_strerror(code))));
}

ERL_NIF_TERM otpc_fn_nif_call(ErlNifEnv *env, const otpc_fn_t *f, int argc,
                              const ERL_NIF_TERM argv[]) {
  ErlNifBinary in;
  ERL_NIF_TERM list = enif_make_list_from_array(env, argv, (unsigned)argc);
  if (!enif_term_to_binary(env, list, &in))
    return internal(env, OTPC_ENOMEM);
  otpc_term_t args;
  otpc_buf_t out;
  otpc_buf_init(&out);
  int rc = otpc_term_from_ext(in.data, in.size, &args, NULL);
  if (rc == 0)
    rc = otpc_term_put_version(&out);
  if (rc == 0)
    rc = otpc_fn_apply(f, args, 0, &out);
  ERL_NIF_TERM t = 0;
  if (rc >= 0 && enif_binary_to_term(env, out.data, out.len, &t, 0) == 0)
    rc = OTPC_EBADTERM;
  enif_release_binary(&in);
  otpc_buf_free(&out);
  if (rc < 0)
    return internal(env, rc);
  return rc == 0 ? t : enif_raise_exception(env, t);
}
