/* The C node deployment of otpc_fn: M:F/A registered with the rpc service,
 * run inline on the distribution thread (a decoded call is short and never
 * waits); a failure is raised as error:Reason, which erpc:call re-raises in
 * the caller with the same class and reason. */
#include "otpc/fn.h"
#include "otpc/rpc.h"

static void fn_call(otpc_rpc_call_t *call, otpc_term_t args, void *ud) {
  otpc_buf_t out;
  otpc_buf_init(&out);
  int rc = otpc_fn_apply(ud, args, 0, &out);
  otpc_term_t t = {out.data, out.len};
  if (rc == 0)
    otpc_rpc_return(call, t);
  else if (rc == 1)
    otpc_rpc_raise(call, OTPC_RPC_ERROR, t);
  else
    otpc_rpc_raisef(call, OTPC_RPC_ERROR, "{otpc_fn, ~a}", otpc_strerror(rc));
  otpc_buf_free(&out);
}

int otpc_fn_rpc_register(otpc_rpc_t *r, const otpc_fn_t *f) {
  const otpc_fn_decl_t *d = otpc_fn_decl(f);
  return otpc_rpc_register_inline(r, d->module, d->name, d->arity, fn_call,
                                  (void *)f);
}
