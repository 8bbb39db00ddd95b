/* Sending messages: to a pid, to a registered name, from a process or
 * from any thread. A local send shares the message (one reference). */
#include <stdarg.h>

#include "rt_internal.h"

/* Sends and consumes the caller's reference. */
static int send_taken(otpc_rt_t *rt, otpc_pid_t to, otpc_msg_t *msg) {
  otpc__sig_t *s = otpc__sig_msg(msg);
  if (s == NULL) {
    otpc_msg_unref(msg);
    return OTPC_ENOMEM;
  }
  int rc = otpc__deliver(rt, to, s);
  /* A send to a dead or unreachable pid is dropped, as in Erlang. */
  return rc == OTPC_ENOTFOUND || rc == OTPC_ENOTSUP ? 0 : rc;
}

static int send_msg(otpc_rt_t *rt, otpc_pid_t to, otpc_msg_t *msg) {
  return send_taken(rt, to, otpc_msg_ref(msg));
}

/* A scheduler keeps its build buffer between sends, up to this size. */
#define SENDF_BUF_KEEP 4096u

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
  /* On a scheduler thread, build in its buffer (no allocation but the
   * message's own); it is thread-private and no callback runs meanwhile. */
  otpc__sched_t *sc = otpc__tls_sched;
  otpc_buf_t local, *b = &local;
  if (sc != NULL) {
    b = &sc->sendf_buf;
    b->len = 0;
  } else {
    otpc_buf_init(&local);
  }
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc_term_vbuild(b, NULL, fmt, ap);
  va_end(ap);
  otpc_msg_t *m = NULL;
  if (rc == 0) {
    otpc_term_t t = {b->data, b->len};
    rc = otpc_msg_from_term(t, &m);
  }
  if (b == &local || b->cap > SENDF_BUF_KEEP)
    otpc_buf_free(b);
  if (rc < 0)
    return rc;
  /* The built message's only reference goes with it. */
  return send_taken(self->rt, to, m);
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
