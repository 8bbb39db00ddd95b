/* Internals shared by the NIF toolkit's sources (the .c files of nif/). */
#ifndef OTPC_NIF_INT_H
#define OTPC_NIF_INT_H

#include "otpc/nif.h"
#include "spec.h"

/* Implementations return 0, OTPC_NIF_MORE (steps), or this when c->out
 * already holds the term to return (an exception, a scheduled call). */
#define OTPC_NIF__OUT 2

/* A declared NIF with its specs parsed and names turned into atoms. */
typedef struct otpc_nif__fn {
  const otpc_nif_decl_t *decl;
  otpc_nif__spec_t args, result;
  ERL_NIF_TERM arg_atoms[OTPC_NIF__SPEC_NAMES];
  ERL_NIF_TERM res_atoms[OTPC_NIF__SPEC_NAMES];
  /* For res(NAME) nodes: the resource type index, per node. */
  int8_t arg_rt[OTPC_NIF__SPEC_NODES];
  int8_t res_rt[OTPC_NIF__SPEC_NODES];
} otpc_nif__fn_t;

struct otpc_nif__pool;

/* One loaded instance of a library (its priv data). */
typedef struct otpc_nif__lib {
  char module[64];
  const otpc_nif_module_t *mod;
  unsigned nfns;
  otpc_nif__fn_t *fns;
  ErlNifResourceType **restypes;
  ErlNifResourceType *yield_rt, *job_rt;
  struct otpc_nif__pool *pool;
  void *user;
  ERL_NIF_TERM a_true, a_false, a_ok, a_error, a_badarg, a_busy, a_otpc_nif;
  ERL_NIF_TERM a_argument, a_expected, a_received, a_path, a_message;
  ERL_NIF_TERM a_element, a_item, a_key, a_function;
} otpc_nif__lib_t;

/* Per-call scratch memory: a bump allocator over chunks, the first of which
 * lives on the dispatcher's stack (no allocation for small calls). */
typedef struct otpc_nif__arena {
  char *buf;
  size_t used, cap;
  void *chunks; /* heap chunks, linked through their first word */
} otpc_nif__arena_t;

void otpc_nif__arena_init(otpc_nif__arena_t *a, void *buf, size_t cap);
void *otpc_nif__arena_alloc(otpc_nif__arena_t *a, size_t size);
void otpc_nif__arena_free(otpc_nif__arena_t *a);

/* Decodes c->argv into c->args by the NIF's spec; on a bad argument sets
 * c->out to the badarg exception and returns OTPC_NIF__OUT. */
int otpc_nif__decode_args(otpc_nif_call_t *c);
/* Runs the implementation's return code to the term to return. */
ERL_NIF_TERM otpc_nif__finish(otpc_nif_call_t *c, int rc);
/* The term of a finished call's result (rc 0) or of its error, without
 * raising: for pool jobs. *ok is set to 1 for a result. */
ERL_NIF_TERM otpc_nif__outcome(otpc_nif_call_t *c, int rc, int *ok);
/* Prepares a call over env/argv for function index (arena set by caller).*/
void otpc_nif__call_init(otpc_nif_call_t *c, otpc_nif__lib_t *lib,
                         unsigned index, ErlNifEnv *env, int argc,
                         const ERL_NIF_TERM *argv, otpc_nif__arena_t *arena);

/* The yield continuation and the pool (yield.c, pool.c). */
int otpc_nif__yield_init(ErlNifEnv *env, otpc_nif__lib_t *lib, int flags);
int otpc_nif__pool_init(ErlNifEnv *env, otpc_nif__lib_t *lib, int flags);
void otpc_nif__pool_stop(otpc_nif__lib_t *lib);
ERL_NIF_TERM otpc_nif__pool_submit(otpc_nif_call_t *c);

#endif
