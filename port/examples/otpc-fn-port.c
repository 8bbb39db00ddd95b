/* otpc-fn-port: the port-program deployment of the otpc_fn examples
 * (fn/calc.c): otpc_port:call(Port, {F, Arg1, ...}) returns {ok, Result}
 * or {error, Reason}, Reason the same term the C node raises. */
#include <stdio.h>

#include "otpc/fn.h"
#include "otpc/port.h"

#include "../../fn/calc.h"

static int handle(otpc_prog_t *p, otpc_prog_req_t *req, otpc_term_t request,
                  void *ud) {
  (void)p;
  return otpc_fn_port_handle(req, request, ud, OTPC_FN_CALC_N);
}

int main(void) {
  otpc_fn_t *fns[OTPC_FN_CALC_N];
  otpc_prog_config_t cfg;
  otpc_err_t err = {0};
  int rc = otpc_fn_calc_new(fns, &err);
  if (rc == 0) {
    otpc_prog_config_init(&cfg);
    cfg.name = "otpc-fn-port";
    cfg.handle = handle;
    cfg.ud = fns;
    rc = otpc_prog_config_from_env(&cfg, &err);
  }
  if (rc == 0)
    rc = otpc_prog_run(&cfg, &err);
  if (rc < 0) {
    fprintf(stderr, "otpc-fn-port: %s\n", err.msg);
    return 2;
  }
  return 0;
}
