/* Signals arriving from other nodes (see rt_remote.h): delivered to local
 * processes exactly as local signals are. */
#include <string.h>

#include "rt_internal.h"

static int local_data(otpc_rt_t *rt, otpc_pid_t to, uint64_t *data) {
  return otpc__pid_local(rt, to, data) ? 0 : OTPC_EINVAL;
}

static int put(otpc_rt_t *rt, otpc_pid_t to, otpc__sig_t *s) {
  uint64_t data;
  int rc = local_data(rt, to, &data);
  if (rc == 0)
    rc = otpc__deliver_local(rt, data, s);
  if (rc < 0)
    otpc__sig_free(s);
  return rc;
}

static int csig(otpc_rt_t *rt, uint32_t type, otpc_pid_t from, otpc_pid_t to,
                const otpc_ref_t *ref, const otpc_term_t *reason,
                uint32_t aux) {
  if (rt == NULL)
    return OTPC_EINVAL;
  otpc_msg_t *m = NULL;
  if (reason != NULL) {
    int rc = otpc_msg_from_term(*reason, &m);
    if (rc < 0)
      return rc;
  }
  otpc__csig_t *c = otpc__csig(type, from, m);
  if (c == NULL)
    return OTPC_ENOMEM;
  if (ref != NULL)
    c->ref = *ref;
  c->h.aux = aux;
  return put(rt, to, &c->h);
}

int otpc__rt_remote_send(otpc_rt_t *rt, otpc_pid_t to, otpc_msg_t *msg) {
  if (rt == NULL || msg == NULL)
    return OTPC_EINVAL;
  otpc__sig_t *s = otpc__sig_msg(otpc_msg_ref(msg));
  if (s == NULL) {
    otpc_msg_unref(msg);
    return OTPC_ENOMEM;
  }
  return put(rt, to, s);
}

int otpc__rt_remote_link(otpc_rt_t *rt, otpc_pid_t from, otpc_pid_t to) {
  return csig(rt, OTPC__SIG_LINK, from, to, NULL, NULL, 0);
}

int otpc__rt_remote_unlink(otpc_rt_t *rt, otpc_pid_t from, otpc_pid_t to) {
  return csig(rt, OTPC__SIG_UNLINK, from, to, NULL, NULL, 0);
}

int otpc__rt_remote_exit(otpc_rt_t *rt, otpc_pid_t from, otpc_pid_t to,
                         otpc_term_t reason, bool link) {
  return csig(rt, link ? OTPC__SIG_EXIT_LINK : OTPC__SIG_EXIT, from, to, NULL,
              &reason, 0);
}

int otpc__rt_remote_monitor(otpc_rt_t *rt, otpc_pid_t from, otpc_pid_t to,
                            const otpc_ref_t *ref) {
  if (ref == NULL)
    return OTPC_EINVAL;
  return csig(rt, OTPC__SIG_MONITOR, from, to, ref, NULL, 0);
}

int otpc__rt_remote_demonitor(otpc_rt_t *rt, otpc_pid_t from, otpc_pid_t to,
                              const otpc_ref_t *ref) {
  if (ref == NULL)
    return OTPC_EINVAL;
  return csig(rt, OTPC__SIG_DEMONITOR, from, to, ref, NULL, 0);
}

int otpc__rt_remote_down(otpc_rt_t *rt, otpc_pid_t from, otpc_pid_t to,
                         const otpc_ref_t *ref, otpc_term_t reason) {
  if (ref == NULL)
    return OTPC_EINVAL;
  return csig(rt, OTPC__SIG_DOWN, from, to, ref, &reason, 0);
}

/* ------------------------------------------------- by name, outgoing */

const otpc__remote_ops_t *otpc__rt_remote(otpc_rt_t *rt, void **ud) {
  /* Acquire pairs with otpc__rt_set_remote's release: the table and ud
   * written before it are visible. */
  const otpc__remote_ops_t *ops =
      atomic_load_explicit(&rt->remote_ops, memory_order_acquire);
  if (ud != NULL)
    *ud = rt->remote_ud;
  return ops;
}

bool otpc__rt_on_scheduler(void) {
  return otpc__tls_sched != NULL;
}

otpc_pid_t otpc__node_pid(otpc_atom_t node) {
  otpc_pid_t p;
  memset(&p, 0, sizeof p);
  p.node = node;
  return p;
}

int otpc_send_remote_name(otpc_proc_t *self, otpc_atom_t name, otpc_atom_t node,
                          otpc_msg_t *msg) {
  if (self == NULL || msg == NULL || name == OTPC_ATOM_NONE ||
      node == OTPC_ATOM_NONE)
    return OTPC_EINVAL;
  otpc_rt_t *rt = self->rt;
  if (node == rt->node)
    return otpc_send_name(self, name, msg);
  void *ud;
  const otpc__remote_ops_t *ops = otpc__rt_remote(rt, &ud);
  /* As Erlang: a send to an unreachable node is dropped, never an error. */
  if (ops != NULL && ops->reg_send != NULL)
    (void)ops->reg_send(ud, otpc__pid_of(self), node, name, msg);
  return 0;
}

int otpc_monitor_remote_name(otpc_proc_t *self, otpc_atom_t name,
                             otpc_atom_t node, otpc_ref_t *ref) {
  if (self == NULL || name == OTPC_ATOM_NONE || node == OTPC_ATOM_NONE)
    return OTPC_EINVAL;
  otpc_rt_t *rt = self->rt;
  if (node == rt->node)
    return otpc_monitor_name(self, name, ref);
  otpc__mon_t m;
  memset(&m, 0, sizeof m);
  otpc_make_ref(rt, &m.ref);
  if (ref != NULL)
    *ref = m.ref;
  /* The holder's record: the node's pseudo pid as target, so that the
   * DOWN's {Name, Node} names that node, and the name. */
  m.pid = otpc__node_pid(node);
  m.name = name;
  m.kind = OTPC__MON_HOLDER;
  if (!otpc__mon_add(&self->mons, &m))
    return OTPC_ENOMEM;
  /* Relaxed: an introspection counter written by the owner only. */
  atomic_store_explicit(
      &self->i_monitors,
      atomic_load_explicit(&self->i_monitors, memory_order_relaxed) + 1,
      memory_order_relaxed);
  void *ud;
  const otpc__remote_ops_t *ops = otpc__rt_remote(rt, &ud);
  int rc = ops != NULL && ops->monitor_name != NULL
               ? ops->monitor_name(ud, otpc__pid_of(self), node, name, &m.ref)
               : OTPC_ENOTSUP;
  if (rc < 0) {
    /* Unreachable: the DOWN says noconnection, as OTP's. */
    otpc__csig_t *c =
        otpc__csig(OTPC__SIG_DOWN, m.pid, otpc_msg_ref(rt->r_noconnection));
    if (c != NULL) {
      c->ref = m.ref;
      otpc__self_signal(self, &c->h);
    }
  }
  return 0;
}
