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
