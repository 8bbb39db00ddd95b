/* The port-program deployment of otpc_fn: a request {Name, Args...} is
 * routed by name and arity and answered {ok, Result} | {error, Reason},
 * Reason byte for byte what the C node raises and the NIF toolkit gives. */
#include <string.h>

#include "otpc/fn.h"
#include "otpc/port.h"

int otpc_fn_port_handle(otpc_prog_req_t *req, otpc_term_t request,
                        otpc_fn_t *const *fns, size_t nfns) {
  otpc_iter_t it;
  size_t n;
  otpc_term_t name;
  char text[256];
  size_t len;
  if (otpc_term_tuple(request, &it, &n) < 0 || n == 0 ||
      otpc_iter_next(&it, &name) != 1 ||
      otpc_term_atom_text(name, text, sizeof text, &len) < 0)
    return otpc_prog_reply(req, "{error, {bad_request, ~t}}", &request);
  for (size_t k = 0; k < nfns; k++) {
    const otpc_fn_decl_t *d = otpc_fn_decl(fns[k]);
    if (d->arity != n - 1 || strlen(d->name) != len ||
        memcmp(d->name, text, len) != 0)
      continue;
    otpc_buf_t out;
    otpc_buf_init(&out);
    int rc = otpc_fn_apply(fns[k], request, 1, &out);
    if (rc >= 0) {
      otpc_term_t t = {out.data, out.len};
      rc = otpc_prog_reply(req, rc == 0 ? "{ok, ~t}" : "{error, ~t}", &t);
    }
    otpc_buf_free(&out);
    return rc;
  }
  return otpc_prog_reply(req, "{error, {undef, ~t, ~U}}", &name,
                         (uint64_t)(n - 1));
}
