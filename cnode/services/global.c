/* global for the C node: see include/otpc/global.h and docs/services.md
 * ("global") for why the C node answers as a synced node that is not
 * part of global's known partition, and what that gives. */
#include "otpc/global.h"
#include "otpc/msg.h"
#include "otpc/node.h"

/* Global meshes the cluster: a BEAM node that syncs with a new node has
 * the nodes of its partition connect to it (new_nodes). We are never in a
 * partition, so we do it from our side: the init_connect of a node names
 * the nodes it knows (the atom keys of its Known map), and we connect to
 * each, which makes them send us their own init_connect. monitor_node is
 * how a process connects; the monitors' nodedown messages are dropped. */
static void mesh(otpc_proc_t *self, otpc_term_t init_msg, otpc_atom_t me) {
  otpc_term_t known, k, v;
  otpc_iter_t it;
  otpc_atom_t n;
  size_t count;
  if (otpc_term_match(init_msg, NULL, "{locker, _, ~t, _}", &known) != 0 ||
      otpc_term_map(known, &it, &count) != 0)
    return;
  while (otpc_iter_next_pair(&it, &k, &v) == 1)
    if (otpc_term_atom(k, &n) == 0 && n != me)
      otpc_monitor_node(self, n, true);
}

/* {'$gen_cast', {init_connect, Vsn, Node, InitMsg}}: the BEAM's
 * global_name_server starts a connect session with us. {in_sync, Me,
 * true} back makes it drop the session (cancel_locker) and count us as
 * synced, which is what global:sync() waits for. Anything else (there
 * should be nothing else, as we never become known) is dropped. */
static void gns_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)state;
  otpc_term_t init_msg, t = otpc_msg_term(msg);
  otpc_atom_t node, me = otpc_rt_node(otpc_proc_rt(self));
  if (otpc_term_match(t, NULL, "{'$gen_cast', {init_connect, _, ~a, ~t}}",
                      &node, &init_msg) != 0 ||
      node == me)
    return;
  otpc_atom_t gns;
  otpc_msg_t *m;
  if (otpc_atom("global_name_server", &gns) != 0 ||
      otpc_msg_build(&m, NULL, "{'$gen_cast', {in_sync, ~A, true}}", me) != 0)
    return;
  otpc_send_remote_name(self, gns, node, m);
  otpc_msg_unref(m);
  mesh(self, init_msg, me);
}

static const otpc_proc_class_t gns_class = {.name = "global_name_server",
                                            .handle = gns_handle};

int otpc_global_start(otpc_rt_t *rt, otpc_pid_t *pid) {
  otpc_spawn_opts_t o = {.name = "global_name_server"};
  otpc_pid_t p;
  return otpc_rt_spawn(rt, &gns_class, NULL, &o, pid != NULL ? pid : &p);
}

/* gen_server:call({rex, Via}, {call, global, F, Args, user}): rex runs
 * global:F(Args...) in a fresh process there (group leader `user`, so it
 * sends us no I/O) and replies with its result. */
static int via_rex(otpc_proc_t *self, otpc_atom_t via, const char *fmt,
                   otpc_term_t name, const otpc_pid_t *pid, int64_t ms,
                   otpc_gs_cont_fn cont, void *ctx) {
  otpc_buf_t b = {0};
  otpc_atom_t rex;
  /* Our own rex would answer, but with a badrpc: this node holds no name
   * table, so only a BEAM node can be asked. */
  if (via == otpc_rt_node(otpc_proc_rt(self)))
    return OTPC_EINVAL;
  int rc = otpc_atom("rex", &rex);
  if (rc == 0)
    rc = pid != NULL ? otpc_term_build(&b, NULL, fmt, &name, pid)
                     : otpc_term_build(&b, NULL, fmt, &name);
  if (rc == 0) {
    otpc_term_t req = {b.data, b.len};
    rc = otpc_gen_server_call_remote(self, rex, via, req, ms, cont, ctx);
  }
  otpc_buf_free(&b);
  return rc;
}

int otpc_global_register_name(otpc_proc_t *self, otpc_atom_t via,
                              otpc_term_t name, otpc_pid_t pid,
                              int64_t timeout_ms, otpc_gs_cont_fn cont,
                              void *ctx) {
  return via_rex(self, via, "{call, global, register_name, [~t, ~p], user}",
                 name, &pid, timeout_ms, cont, ctx);
}

int otpc_global_whereis_name(otpc_proc_t *self, otpc_atom_t via,
                             otpc_term_t name, int64_t timeout_ms,
                             otpc_gs_cont_fn cont, void *ctx) {
  return via_rex(self, via, "{call, global, whereis_name, [~t], user}", name,
                 NULL, timeout_ms, cont, ctx);
}

int otpc_global_unregister_name(otpc_proc_t *self, otpc_atom_t via,
                                otpc_term_t name, int64_t timeout_ms,
                                otpc_gs_cont_fn cont, void *ctx) {
  return via_rex(self, via, "{call, global, unregister_name, [~t], user}", name,
                 NULL, timeout_ms, cont, ctx);
}
