/* Sending messages: to a pid, to a registered name, from a process or
 * from any thread. A local send shares the message (one reference). */
#include <stdarg.h>

#include "rt_internal.h"

static int send_msg(otpc_rt_t *rt, otpc_pid_t to, otpc_msg_t *msg) {
  otpc__sig_t *s = otpc__sig_msg(otpc_msg_ref(msg));
  if (s == NULL) {
    otpc_msg_unref(msg);
    return OTPC_ENOMEM;
  }
  int rc = otpc__deliver(rt, to, s);
  /* A send to a dead or unreachable pid is dropped, as in Erlang. */
  return rc == OTPC_ENOTFOUND || rc == OTPC_ENOTSUP ? 0 : rc;
}

int otpc_send(otpc_proc_t *self, otpc_pid_t to, otpc_msg_t *msg) {
  if (self == NULL || msg == NULL)
    return OTPC_EINVAL;
  return send_msg(self->rt, to, msg);
}

int otpc_rt_send(otpc_rt_t *rt, otpc_pid_t to, otpc_msg_t *msg) {
  if (rt == NULL || msg == NULL)
    return OTPC_EINVAL;
  return send_msg(rt, to, msg);
}

int otpc_sendf(otpc_proc_t *self, otpc_pid_t to, const char *fmt, ...) {
  if (self == NULL || fmt == NULL)
    return OTPC_EINVAL;
  otpc_buf_t b;
  otpc_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc_term_vbuild(&b, NULL, fmt, ap);
  va_end(ap);
  otpc_msg_t *m = NULL;
  if (rc == 0) {
    otpc_term_t t = {b.data, b.len};
    rc = otpc_msg_from_term(t, &m);
  }
  otpc_buf_free(&b);
  if (rc < 0)
    return rc;
  rc = send_msg(self->rt, to, m);
  otpc_msg_unref(m);
  return rc;
}

static int send_name(otpc_rt_t *rt, otpc_atom_t name, otpc_msg_t *msg) {
  otpc_pid_t pid;
  /* Erlang's badarg for an unregistered name. */
  if (otpc_whereis(rt, name, &pid) < 0)
    return OTPC_ENOTFOUND;
  return send_msg(rt, pid, msg);
}

int otpc_send_name(otpc_proc_t *self, otpc_atom_t name, otpc_msg_t *msg) {
  if (self == NULL || msg == NULL)
    return OTPC_EINVAL;
  return send_name(self->rt, name, msg);
}

int otpc_rt_send_name(otpc_rt_t *rt, otpc_atom_t name, otpc_msg_t *msg) {
  if (rt == NULL || msg == NULL)
    return OTPC_EINVAL;
  return send_name(rt, name, msg);
}
