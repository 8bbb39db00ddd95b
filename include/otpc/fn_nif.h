/* The NIF deployment of otpc_fn (docs/fn.md). Kept apart from otpc/fn.h
 * because it needs erl_nif.h, which only NIF libraries can use. */
#ifndef OTPC_FN_NIF_H
#define OTPC_FN_NIF_H

#include <erl_nif.h>

#include "otpc/fn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Calls f with argv from a NIF: returns the result term, or raises
 * error:Reason with the same Reason the port program and the C node give
 * (the arguments go through the one decoder of c_src/fn.c). */
ERL_NIF_TERM otpc_fn_nif_call(ErlNifEnv *env, const otpc_fn_t *f, int argc,
                              const ERL_NIF_TERM argv[]);

#ifdef __cplusplus
}
#endif

#endif
