/* libFuzzer target: the scenario families' decoders (cnode/tools/scn_*.c),
 * which turn the ops and supervisor specs of test/scenarios into commands
 * and C structures. The input is a term in external format (131 first);
 * terms that do not validate are skipped. Every family's real_op sees it
 * as an op, with a name resolver that knows every atom but `missing`, and
 * {Flags, Children} goes through the supervisor spec builder. None may
 * crash or leak, whatever the term. The families are compiled in here
 * because the fuzz build links the library only. */
#include <stddef.h>
#include <stdint.h>

#include "../../cnode/tools/scn_ev.c"
#include "../../cnode/tools/scn_gs.c"
#include "../../cnode/tools/scn_sm.c"
#include "../../cnode/tools/scn_sup.c"

static int stub_pid_of(void *ctx, otpc_atom_t name, otpc_pid_t *pid) {
  (void)ctx;
  otpc_atom_t missing;
  if (otpc_atom("missing", &missing) == 0 && name == missing)
    return OTPC_ENOTFOUND;
  memset(pid, 0, sizeof *pid);
  pid->node = name;
  pid->id = 1;
  return 0;
}

static int stub_real(void *ctx, otpc_term_t t, otpc_buf_t *out) {
  (void)ctx;
  return otpc_buf_append(out, t.p, t.len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  otpc_msg_t *m;
  otpc_err_t err;
  if (otpc_msg_decode(data, size, &m, &err) < 0)
    return 0;
  otpc_term_t t = otpc_msg_term(m), flags, children;
  otpc__scn_names_t names = {NULL, stub_pid_of, stub_real};
  int (*const real_ops[])(const otpc__scn_names_t *, otpc_term_t,
                          otpc_buf_t *) = {
      otpc__scn_gs_real_op, otpc__scn_sup_real_op, otpc__scn_sm_real_op,
      otpc__scn_ev_real_op};
  otpc_buf_t out;
  otpc_buf_init(&out);
  for (size_t i = 0; i < sizeof real_ops / sizeof real_ops[0]; i++) {
    out.len = 0;
    real_ops[i](&names, t, &out);
  }
  otpc_buf_free(&out);
  if (otpc_term_match(t, NULL, "{~t, ~t}", &flags, &children) == 0) {
    otpc_pid_t ctl = {0};
    int rc;
    build_spec(ctl, flags, children, &rc);
    otpc__scn_sup_cleanup();
  }
  otpc_msg_unref(m);
  return 0;
}
