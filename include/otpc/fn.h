/* One C function, declared once by the NIF toolkit's spec language, served
 * the same way by several deployments (a port program, a C node's erpc;
 * see docs/fn.md). The function sees decoded C values only, never a term:
 *
 *   static int add(otpc_fn_call_t *c) {
 *     c->ret.i = c->args[0].i + c->args[1].i;
 *     return 0;
 *   }
 *   static const otpc_fn_decl_t add_decl = {
 *       "calc", "add", 2, "int(0..1000), int", "int", add};
 *
 * Supported kinds (others are refused by otpc_fn_new with a message):
 *   int, int(LO..HI) (.i)  uint (.u)  float (.f)  num (.f)  bool (.b)
 *   atom(a|b|c) (.u, the atom's 0-based index)  bin (.bin: a view)
 *   list(T) and tuple(T1, ...) (.seq)
 * A bad argument fails with the NIF toolkit's reason
 *   {badarg, #{argument, expected, received, path, function, message}}
 * and the function's own failure (otpc_fn_fail) with the reason it gives. */
#ifndef OTPC_FN_H
#define OTPC_FN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otpc/buf.h"
#include "otpc/error.h"
#include "otpc/term.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct otpc_fn_val {
  union {
    int64_t i;
    uint64_t u;
    double f;
    bool b;
    struct {
      const uint8_t *p;
      size_t n;
    } bin;
    struct {
      struct otpc_fn_val *v;
      size_t n;
    } seq;
  };
} otpc_fn_val_t;

typedef struct otpc_fn_call otpc_fn_call_t;
typedef int (*otpc_fn_impl_t)(otpc_fn_call_t *c);

struct otpc_fn_call {
  const otpc_fn_val_t *args; /* decoded, arity of them */
  otpc_fn_val_t ret;         /* to encode by the result spec */
  void *ud;                  /* the deployment's user data (otpc_fn_new) */
  /* Internal. */
  otpc_buf_t *out;
  int failed;
  void *scratch;
};

typedef struct otpc_fn_decl {
  const char *module; /* the Erlang module name each deployment uses */
  const char *name;
  unsigned arity;
  const char *args;   /* one spec per argument, comma separated */
  const char *result; /* one spec */
  otpc_fn_impl_t impl;
} otpc_fn_decl_t;

typedef struct otpc_fn otpc_fn_t;

/* Parses the declaration's specs. OTPC_EBADFMT / OTPC_ELIMIT for a bad
 * spec, OTPC_ENOTSUP for a kind outside the subset, OTPC_EINVAL when the
 * arity is not the number of argument specs; err says which. */
int otpc_fn_new(const otpc_fn_decl_t *decl, void *ud, otpc_fn_t **out,
                otpc_err_t *err);
void otpc_fn_free(otpc_fn_t *f);
const otpc_fn_decl_t *otpc_fn_decl(const otpc_fn_t *f);

/* Calls f with `args`, a list of terms (what erpc gives a C node) or a
 * tuple of them (element 0 excluded when skip_first: a port request
 * {Name, Arg1, ...}). Appends to out (no version byte) the result term and
 * returns 0, or the failure reason and returns 1 (bad argument, the
 * function's failure); a negative code is an internal error. */
int otpc_fn_apply(const otpc_fn_t *f, otpc_term_t args, int skip_first,
                  otpc_buf_t *out);

/* From an implementation: `return otpc_fn_fail(c, "{too_big, ~i}", N);`
 * fails with the term built by otpc_term_build's format. */
int otpc_fn_fail(otpc_fn_call_t *c, const char *fmt, ...);

/* Scratch memory of the call, freed after it; NULL if out of memory (a
 * `bin` result may point into it). */
void *otpc_fn_scratch(otpc_fn_call_t *c, size_t size);

/* Result sequences (list/tuple results): n items, freed after the call;
 * NULL if out of memory. */
otpc_fn_val_t *otpc_fn_seq(otpc_fn_call_t *c, otpc_fn_val_t *v, size_t n);

/* Deployments ------------------------------------------------------------ */

struct otpc_prog_req;
struct otpc_rpc;

/* Port program: handles a request {Name, Arg1, ..., ArgN} by the function
 * of fns named Name with arity N, replying {ok, Result} or {error, Reason};
 * no such function: {error, {undef, Name, N}}. Returns 0 when the request
 * was answered, or a negative code (the framework then replies
 * {error, {handler_failed, Why}}). Use it as (or from) the handler. */
int otpc_fn_port_handle(struct otpc_prog_req *req, otpc_term_t request,
                        otpc_fn_t *const *fns, size_t nfns);

/* C node: registers f as decl.module:decl.name/arity for erpc and rpc;
 * a failure is raised as error:Reason (erpc:call re-raises it). */
int otpc_fn_rpc_register(struct otpc_rpc *r, const otpc_fn_t *f);

#ifdef __cplusplus
}
#endif

#endif
