/* Helpers shared by the runtime's cmocka tests (test_rt_*.c): a runtime
 * with a captured log, a thread process for the test itself, and a
 * scriptable process class (`agent`) driven by command messages, so tests
 * observe everything by blocking receives and never sleep. */
#ifndef OTPC_TEST_RT_TEST_UTIL_H
#define OTPC_TEST_RT_TEST_UTIL_H

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otpc/msg.h"
#include "otpc/process.h"
#include "otpc/term.h"

#define TU_UNUSED __attribute__((unused))

/* ---------------------------------------------------------------- log */

static pthread_mutex_t tu_log_lock = PTHREAD_MUTEX_INITIALIZER;
static char tu_log_text[8192];
static int tu_log_count;

static TU_UNUSED void tu_log(void *ud, int level, const char *text) {
  (void)ud;
  (void)level;
  pthread_mutex_lock(&tu_log_lock);
  snprintf(tu_log_text, sizeof tu_log_text, "%s", text);
  tu_log_count++;
  pthread_mutex_unlock(&tu_log_lock);
}

static TU_UNUSED otpc_rt_t *tu_start(unsigned schedulers) {
  otpc_rt_opts_t o;
  memset(&o, 0, sizeof o);
  o.schedulers = schedulers;
  o.log = tu_log;
  otpc_rt_t *rt = NULL;
  assert_int_equal(otpc_rt_start(&o, &rt), 0);
  pthread_mutex_lock(&tu_log_lock);
  tu_log_count = 0;
  tu_log_text[0] = 0;
  pthread_mutex_unlock(&tu_log_lock);
  return rt;
}

/* ------------------------------------------------------------ terms */

static TU_UNUSED otpc_atom_t tu_atom(const char *s) {
  otpc_atom_t a;
  assert_int_equal(otpc_atom(s, &a), 0);
  return a;
}

static TU_UNUSED otpc_msg_t *tu_msg(const char *fmt, ...) {
  otpc_buf_t b;
  otpc_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  assert_int_equal(otpc_term_vbuild(&b, NULL, fmt, ap), 0);
  va_end(ap);
  otpc_term_t t = {b.data, b.len};
  otpc_msg_t *m = NULL;
  assert_int_equal(otpc_msg_from_term(t, &m), 0);
  otpc_buf_free(&b);
  return m;
}

static TU_UNUSED otpc_term_t tu_term(otpc_buf_t *b, const char *fmt, ...) {
  otpc_buf_init(b);
  va_list ap;
  va_start(ap, fmt);
  assert_int_equal(otpc_term_vbuild(b, NULL, fmt, ap), 0);
  va_end(ap);
  otpc_term_t t = {b->data, b->len};
  return t;
}

/* The message printed, for assertions on whole terms. */
static TU_UNUSED const char *tu_str(otpc_msg_t *m, char *buf, size_t n) {
  otpc_term_snprint(buf, n, otpc_msg_term(m));
  return buf;
}

static TU_UNUSED void tu_send(otpc_proc_t *self, otpc_pid_t to, otpc_msg_t *m) {
  assert_int_equal(otpc_send(self, to, m), 0);
  otpc_msg_unref(m);
}

/* Receives (blocking, 10 s at most: a hang is a failure, not a wait). */
static TU_UNUSED otpc_msg_t *tu_recv(otpc_proc_t *me) {
  otpc_msg_t *m = NULL;
  int rc = otpc_thread_receive(me, NULL, NULL, 10000, &m);
  assert_int_equal(rc, 0);
  return m;
}

static TU_UNUSED otpc_msg_t *tu_recv_match(otpc_proc_t *me, otpc_match_fn f,
                                           const void *arg) {
  otpc_msg_t *m = NULL;
  int rc = otpc_thread_receive(me, f, arg, 10000, &m);
  assert_int_equal(rc, 0);
  return m;
}

/* Asserts that the next message prints as `expect`. */
static TU_UNUSED void tu_expect(otpc_proc_t *me, const char *expect) {
  otpc_msg_t *m = tu_recv(me);
  char buf[512];
  assert_string_equal(tu_str(m, buf, sizeof buf), expect);
  otpc_msg_unref(m);
}

/* Asserts that nothing is queued now (a round trip through `via` first
 * flushes what it may still send: signal order per pair). */
static TU_UNUSED void tu_expect_empty(otpc_proc_t *me) {
  otpc_msg_t *m = NULL;
  int rc = otpc_thread_receive(me, NULL, NULL, 0, &m);
  if (rc == 0) {
    char buf[512];
    fail_msg("unexpected message %s", tu_str(m, buf, sizeof buf));
  }
  assert_int_equal(rc, OTPC_ENOTFOUND);
}

static TU_UNUSED char *tu_pidstr(otpc_pid_t p, char *buf, size_t n) {
  snprintf(buf, n, "<nonode@nohost.%u.%u>", p.id, p.serial);
  return buf;
}

/* ------------------------------------------------------------ agent */

/* A process driven by commands from its controller (the arg of spawn):
 *   {link, Pid} {unlink, Pid} {monitor, Pid} {monitor_name, Name}
 *   {demonitor, Ref, Flags} {trap, true|false} {exit, Reason}
 *   {exit_signal, Pid, Reason} {send, Pid, Msg} {register, Name}
 *   {spawn_link, Trap} ping
 * Each command is answered with {done, Self, Result}; any other message
 * is forwarded as {got, Self, Msg}. */
/* The controller of every agent (the test's thread process). */
static otpc_pid_t tu_ctl;

typedef struct agent {
  otpc_pid_t ctl;
  otpc_pid_t self;
} agent_t;

static TU_UNUSED void agent_init(otpc_proc_t *self, void *state, void *arg) {
  agent_t *a = state;
  a->ctl = *(const otpc_pid_t *)arg;
  a->self = otpc_self(self);
}

static TU_UNUSED void agent_terminate(otpc_proc_t *self, void *state,
                                      otpc_term_t reason) {
  (void)self;
  (void)state;
  (void)reason;
}

static const otpc_proc_class_t agent_class;

static TU_UNUSED void agent_handle(otpc_proc_t *self, void *state,
                                   otpc_msg_t *msg) {
  agent_t *a = state;
  otpc_term_t t = otpc_msg_term(msg);
  otpc_pid_t pid;
  otpc_term_t x, y;
  otpc_ref_t ref;
  otpc_atom_t name;
  int i;
  otpc_rt_t *rt = otpc_proc_rt(self);
  if (otpc_term_match(t, NULL, "{link, ~p}", &pid) == 0) {
    int rc = otpc_link(self, pid);
    otpc_sendf(self, a->ctl, "{done, ~p, ~i}", &a->self, rc);
  } else if (otpc_term_match(t, NULL, "{unlink, ~p}", &pid) == 0) {
    int rc = otpc_unlink(self, pid);
    otpc_sendf(self, a->ctl, "{done, ~p, ~i}", &a->self, rc);
  } else if (otpc_term_match(t, NULL, "{monitor, ~p}", &pid) == 0) {
    otpc_monitor(self, pid, &ref);
    otpc_sendf(self, a->ctl, "{done, ~p, ~r}", &a->self, &ref);
  } else if (otpc_term_match(t, NULL, "{monitor_name, ~a}", &name) == 0) {
    otpc_monitor_name(self, name, &ref);
    otpc_sendf(self, a->ctl, "{done, ~p, ~r}", &a->self, &ref);
  } else if (otpc_term_match(t, NULL, "{demonitor, ~r, ~i}", &ref, &i) == 0) {
    int rc = otpc_demonitor(self, &ref, i);
    otpc_sendf(self, a->ctl, "{done, ~p, ~i}", &a->self, rc);
  } else if (otpc_term_match(t, NULL, "{trap, ~t}", &x) == 0) {
    bool was = otpc_trap_exit(self, otpc_term_is_atom(x, "true") == 1);
    otpc_sendf(self, a->ctl, "{done, ~p, ~a}", &a->self,
               was ? "true" : "false");
  } else if (otpc_term_match(t, NULL, "{exit, ~t}", &x) == 0) {
    otpc_exit(self, x);
  } else if (otpc_term_match(t, NULL, "{exit_signal, ~p, ~t}", &pid, &x) == 0) {
    int rc = otpc_exit_signal(self, pid, x);
    otpc_sendf(self, a->ctl, "{done, ~p, ~i}", &a->self, rc);
  } else if (otpc_term_match(t, NULL, "{send, ~p, ~t}", &pid, &y) == 0) {
    otpc_msg_t *m = NULL;
    otpc_msg_from_term(y, &m);
    otpc_send(self, pid, m);
    otpc_msg_unref(m);
    otpc_sendf(self, a->ctl, "{done, ~p, ok}", &a->self);
  } else if (otpc_term_match(t, NULL, "{register, ~a}", &name) == 0) {
    int rc = otpc_register(rt, name, a->self);
    otpc_sendf(self, a->ctl, "{done, ~p, ~i}", &a->self, rc);
  } else if (otpc_term_match(t, NULL, "{spawn_link, ~t}", &x) == 0) {
    otpc_spawn_opts_t o;
    memset(&o, 0, sizeof o);
    o.link = true;
    o.trap_exit = otpc_term_is_atom(x, "true") == 1;
    otpc_pid_t child;
    int rc = otpc_spawn(self, &agent_class, &tu_ctl, &o, &child);
    assert_int_equal(rc, 0);
    otpc_sendf(self, a->ctl, "{done, ~p, ~p}", &a->self, &child);
  } else if (otpc_term_is_atom(t, "ping") == 1) {
    otpc_sendf(self, a->ctl, "{done, ~p, pong}", &a->self);
  } else {
    otpc_sendf(self, a->ctl, "{got, ~p, ~t}", &a->self, &t);
  }
}

static TU_UNUSED const otpc_proc_class_t agent_class = {
    "agent", sizeof(agent_t), agent_init, agent_handle, agent_terminate};

static TU_UNUSED otpc_pid_t tu_agent(otpc_rt_t *rt, otpc_proc_t *me,
                                     bool trap) {
  tu_ctl = otpc_self(me);
  otpc_spawn_opts_t o;
  memset(&o, 0, sizeof o);
  o.trap_exit = trap;
  otpc_pid_t pid;
  assert_int_equal(otpc_rt_spawn(rt, &agent_class, &tu_ctl, &o, &pid), 0);
  /* A round trip: init has run (and read ctl) once the reply comes. */
  tu_send(me, pid, tu_msg("ping"));
  char buf[128], p[64];
  snprintf(buf, sizeof buf, "{done,%s,pong}", tu_pidstr(pid, p, sizeof p));
  tu_expect(me, buf);
  return pid;
}

/* Sends a command and returns the reply's third element printed. */
static TU_UNUSED const char *tu_cmd(otpc_proc_t *me, otpc_pid_t agent,
                                    otpc_msg_t *cmd, char *out, size_t n) {
  tu_send(me, agent, cmd);
  otpc_msg_t *m = tu_recv(me);
  otpc_term_t r;
  otpc_pid_t from;
  if (otpc_term_match(otpc_msg_term(m), NULL, "{done, ~p, ~t}", &from, &r) !=
      0) {
    char buf[512];
    fail_msg("expected {done, ...}, got %s", tu_str(m, buf, sizeof buf));
  }
  otpc_term_snprint(out, n, r);
  otpc_msg_unref(m);
  return out;
}

#endif
