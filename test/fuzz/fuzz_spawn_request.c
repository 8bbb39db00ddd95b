/* libFuzzer target: what a SPAWN_REQUEST carries from a peer, decoded by
 * the rpc service (cnode/services/rpc_opts.c). The input is an external
 * term, taken as an option list, as the argument list of
 * erpc:execute_call/4, erpc:execute_cast/3 and an ordinary M:F/A, and,
 * when it is {M, F, Arity, Args}, as that request. Decoding must return 0
 * or OTPC_EINVAL with a message, and what it hands back must be views
 * inside the input. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../cnode/services/rpc.h"

static void inside(otpc_term_t outer, otpc_term_t t) {
  if (t.p < outer.p || t.p + t.len > outer.p + outer.len)
    abort();
}

static void classify(otpc_term_t all, otpc_atom_t m, otpc_atom_t f,
                     unsigned arity, otpc_term_t args) {
  otpc_term_t res, a;
  otpc_atom_t mm, ff;
  otpc_err_t err = {0};
  int rc = otpc__rpc_classify(m, f, arity, args, &res, &mm, &ff, &a, &err);
  if (rc == OTPC_EINVAL && err.msg[0] == '\0')
    abort(); /* an error must say what was expected */
  if (rc == OTPC__RPC_CALL)
    inside(all, res);
  if (rc > 0)
    inside(all, a);
  else if (rc != OTPC_EINVAL)
    abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  otpc_term_t t, args;
  otpc_err_t err = {0};
  otpc_atom_t erpc, call, cast, m, f;
  unsigned flags;
  int arity;
  if (otpc_term_from_ext(data, size, &t, NULL) != 0)
    return 0;
  int rc = otpc__rpc_spawn_opts(t, &flags, &err);
  if ((rc != 0 && (rc != OTPC_EINVAL || err.msg[0] == '\0')) || flags > 3)
    abort();
  otpc_atom("erpc", &erpc);
  otpc_atom("execute_call", &call);
  otpc_atom("execute_cast", &cast);
  classify(t, erpc, call, 4, t);
  classify(t, erpc, cast, 3, t);
  classify(t, cast, call, 2, t);
  if (otpc_term_match(t, NULL, "{~a, ~a, ~i, ~t}", &m, &f, &arity, &args) ==
          0 &&
      arity >= 0 && arity <= 255)
    classify(t, m, f, (unsigned)arity, args);
  return 0;
}
