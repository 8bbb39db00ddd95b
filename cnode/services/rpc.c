/* The rpc service: the table of C functions and process entries, the
 * SPAWN_REQUEST hook of the node, and the processes that run erpc calls
 * and casts. See include/otpc/rpc.h and docs/services.md. */
#include "rpc.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../dist/node.h"
#include "../runtime/rt_remote.h"

typedef struct entry {
  otpc_atom_t mod, fun;
  unsigned arity;
  otpc_rpc_fn fn; /* a function, or */
  void *ud;
  bool inline_; /* runs on the node's thread, without a process */
  const otpc_proc_class_t *cls; /* a process entry */
} entry_t;

struct otpc_rpc {
  otpc_node_t *node;
  otpc_rt_t *rt;
  pthread_mutex_t mu; /* the table and the log target */
  entry_t *v;
  size_t n, cap;
  otpc_atom_t log_to;
  otpc__spawn_hook_t hook;
  otpc_msg_t *m_go;
  otpc_atom_t a_badopt, a_badarg;
  /* Loop thread only: a process entry just spawned, which must not get
   * the go message (it runs at once, as its class says). */
  otpc_pid_t ungated;
  otpc_pid_t inline_pid; /* what SPAWN_REPLY names for an inline call */
};

/* ------------------------------------------------------------- table */

static int reg(otpc_rpc_t *r, const char *mod, const char *fun, unsigned arity,
               entry_t e) {
  if (r == NULL || mod == NULL || fun == NULL || arity > 255)
    return OTPC_EINVAL;
  if (otpc_atom(mod, &e.mod) != 0 || otpc_atom(fun, &e.fun) != 0)
    return OTPC_EINVAL;
  e.arity = arity;
  pthread_mutex_lock(&r->mu);
  size_t i = 0;
  while (i < r->n && !(r->v[i].mod == e.mod && r->v[i].fun == e.fun &&
                       r->v[i].arity == arity))
    i++;
  if (i == r->n && r->n == r->cap) {
    size_t nc = r->cap ? r->cap * 2 : 16;
    entry_t *nv = realloc(r->v, nc * sizeof *nv);
    if (nv == NULL) {
      pthread_mutex_unlock(&r->mu);
      return OTPC_ENOMEM;
    }
    r->v = nv;
    r->cap = nc;
  }
  if (i == r->n)
    r->n++;
  r->v[i] = e;
  pthread_mutex_unlock(&r->mu);
  return 0;
}

int otpc_rpc_register(otpc_rpc_t *r, const char *mod, const char *fun,
                      unsigned arity, otpc_rpc_fn fn, void *ud) {
  if (fn == NULL)
    return OTPC_EINVAL;
  return reg(r, mod, fun, arity, (entry_t){.fn = fn, .ud = ud});
}

int otpc_rpc_register_inline(otpc_rpc_t *r, const char *mod, const char *fun,
                             unsigned arity, otpc_rpc_fn fn, void *ud) {
  if (fn == NULL)
    return OTPC_EINVAL;
  return reg(r, mod, fun, arity, (entry_t){.fn = fn, .ud = ud, .inline_ = 1});
}

int otpc_rpc_register_process(otpc_rpc_t *r, const char *mod, const char *fun,
                              unsigned arity, const otpc_proc_class_t *cls) {
  if (cls == NULL)
    return OTPC_EINVAL;
  return reg(r, mod, fun, arity, (entry_t){.cls = cls});
}

/* Functions if `fn`, else process entries. */
static bool lookup(otpc_rpc_t *r, otpc_atom_t m, otpc_atom_t f, size_t arity,
                   bool fn, entry_t *out) {
  bool found = false;
  pthread_mutex_lock(&r->mu);
  for (size_t i = 0; i < r->n && !found; i++)
    if (r->v[i].mod == m && r->v[i].fun == f && r->v[i].arity == arity &&
        (r->v[i].fn != NULL) == fn) {
      *out = r->v[i];
      found = true;
    }
  pthread_mutex_unlock(&r->mu);
  return found;
}

/* ----------------------------------------------------------- answers */

static int answer(otpc_rpc_call_t *c, int cls, otpc_term_t t) {
  if (c == NULL || t.p == NULL)
    return OTPC_EINVAL;
  c->val.len = 0;
  c->cls = cls;
  return otpc_term_encode(&c->val, t);
}

static int answerv(otpc_rpc_call_t *c, int cls, const char *fmt, va_list ap) {
  if (c == NULL || fmt == NULL)
    return OTPC_EINVAL;
  c->val.len = 0;
  c->cls = cls;
  int rc = otpc_term_vbuild(&c->val, NULL, fmt, ap);
  if (rc != 0) {
    /* A bad format is the C function's bug: say which. */
    c->val.len = 0;
    c->cls = OTPC_RPC_ERROR;
    otpc_term_build(&c->val, NULL, "{bad_result_format, ~s}", fmt);
  }
  return rc;
}

int otpc_rpc_return(otpc_rpc_call_t *c, otpc_term_t value) {
  return answer(c, -1, value);
}

int otpc_rpc_returnf(otpc_rpc_call_t *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = answerv(c, -1, fmt, ap);
  va_end(ap);
  return rc;
}

static bool class_ok(otpc_rpc_class_t cls) {
  return cls == OTPC_RPC_THROW || cls == OTPC_RPC_ERROR || cls == OTPC_RPC_EXIT;
}

int otpc_rpc_raise(otpc_rpc_call_t *c, otpc_rpc_class_t cls,
                   otpc_term_t reason) {
  return class_ok(cls) ? answer(c, (int)cls, reason) : OTPC_EINVAL;
}

int otpc_rpc_raisef(otpc_rpc_call_t *c, otpc_rpc_class_t cls, const char *fmt,
                    ...) {
  if (!class_ok(cls))
    return OTPC_EINVAL;
  va_list ap;
  va_start(ap, fmt);
  int rc = answerv(c, (int)cls, fmt, ap);
  va_end(ap);
  return rc;
}

otpc_proc_t *otpc_rpc_proc(otpc_rpc_call_t *c) {
  return c->self;
}
otpc_rpc_t *otpc_rpc_service(otpc_rpc_call_t *c) {
  return c->r;
}

int otpc__rpc_run(otpc_rpc_t *r, otpc_proc_t *self, otpc_atom_t m,
                  otpc_atom_t f, otpc_term_t args, otpc_rpc_call_t *c) {
  entry_t e;
  otpc_iter_t it;
  size_t n = 0;
  otpc_term_list(args, &it, &n);
  c->self = self;
  c->r = r;
  c->cls = 0;
  otpc_buf_init(&c->val);
  otpc_buf_init(&c->stack);
  if (!lookup(r, m, f, n, true, &e)) {
    /* What apply/3 of an undefined function raises, with the stack
     * erpc:trim_stack leaves: the call with its arguments. */
    c->cls = OTPC_RPC_ERROR;
    otpc_term_build(&c->val, NULL, "undef");
    otpc_term_build(&c->stack, NULL, "[{~A, ~A, ~t, []}]", m, f, &args);
    return OTPC_ENOTFOUND;
  }
  e.fn(c, args, e.ud);
  if (c->cls == 0) {
    c->cls = OTPC_RPC_ERROR;
    otpc_term_build(&c->val, NULL, "{otpc_rpc, no_result}");
  }
  /* The C function is the frame that raised: {M, F, Arity, []}. */
  if (c->cls == OTPC_RPC_ERROR)
    otpc_term_build(&c->stack, NULL, "[{~A, ~A, ~i, []}]", m, f, (int)n);
  return 0;
}

static otpc_term_t view(const otpc_buf_t *b) {
  return (otpc_term_t){.p = b->data, .len = b->len};
}

int otpc__rpc_rpc_result(const otpc_rpc_call_t *c, otpc_buf_t *out) {
  otpc_term_t v = view(&c->val), s = view(&c->stack);
  switch (c->cls) {
  case OTPC_RPC_THROW:
  case -1: return otpc_term_encode(out, v);
  case OTPC_RPC_EXIT:
    return otpc_term_build(out, NULL, "{badrpc, {'EXIT', ~t}}", &v);
  default:
    return otpc_term_build(out, NULL, "{badrpc, {'EXIT', {~t, ~t}}}", &v, &s);
  }
}

/* ----------------------------------------------- erpc call processes */

/* The exit reason of erpc:execute_call/4 for the outcome c. */
/* {Res, Class, V} or {Res, error, V, Stack} in external format (no
 * version byte, as otpc_term_build), written by hand: it is built once
 * per erpc call on the node's thread, and parsing a format for it cost
 * as much as the rest of the call's own work. */
static int call_reason(const otpc_rpc_call_t *c, otpc_term_t res,
                       otpc_buf_t *out) {
  otpc_term_t v = view(&c->val), s = view(&c->stack);
  const char *cls = c->cls == -1               ? "return"
                    : c->cls == OTPC_RPC_THROW ? "throw"
                    : c->cls == OTPC_RPC_EXIT  ? "exit"
                                               : "error";
  bool err =
      c->cls != -1 && c->cls != OTPC_RPC_THROW && c->cls != OTPC_RPC_EXIT;
  /* SMALL_TUPLE_EXT and SMALL_ATOM_UTF8_EXT (tags 104 and 119). */
  uint8_t hd[2] = {104, err ? 4 : 3}, at[2] = {119, (uint8_t)strlen(cls)};
  int rc = otpc_buf_append(out, hd, 2);
  if (rc == 0)
    rc = otpc_buf_append(out, res.p, res.len);
  if (rc == 0)
    rc = otpc_buf_append(out, at, 2);
  if (rc == 0)
    rc = otpc_buf_append(out, cls, at[1]);
  if (rc == 0)
    rc = otpc_buf_append(out, v.p, v.len);
  if (rc == 0 && err)
    rc = otpc_buf_append(out, s.p, s.len);
  return rc;
}

typedef struct job {
  otpc_rpc_t *r;
  int kind;
  otpc_msg_t *req; /* the SPAWN_REQUEST's argument list */
  otpc_atom_t mod, fun;
  otpc_rpc_call_t call;
  otpc_buf_t reason; /* of a quiet exit, freed by terminate */
} job_t;

/* Ends the job with a reason built from fmt and no crash report: on the
 * BEAM, exit/1 in erpc:execute_call is no crash either. An exit signal to
 * oneself ends the process at once without returning. */
static void quiet_exit(otpc_proc_t *self, job_t *j, const char *fmt, ...) {
  int rc = 0;
  if (fmt != NULL) { /* else the reason is in j->reason already */
    va_list ap;
    va_start(ap, fmt);
    rc = otpc_term_vbuild(&j->reason, NULL, fmt, ap);
    va_end(ap);
  }
  if (rc != 0)
    otpc_exitf(self, "{otpc_rpc, cannot_build_exit_reason}");
  otpc_exit_signal(self, otpc_self(self),
                   (otpc_term_t){.p = j->reason.data, .len = j->reason.len});
  otpc_exitf(self, "{otpc_rpc, exit_signal_returned}");
}

static void job_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  job_t *j = state;
  *j = *(job_t *)arg;
  otpc_buf_init(&j->call.val);
  otpc_buf_init(&j->call.stack);
  otpc_buf_init(&j->reason);
  free(arg);
}

/* The first message is the node's go, sent once the caller's link and
 * monitor are in place, so the exit reason always reaches them. */
static void job_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)msg;
  job_t *j = state;
  otpc_term_t res, args, al = otpc_msg_term(j->req);
  otpc_atom_t m, f;
  otpc_rpc_call_t *c = &j->call;
  if (j->kind == OTPC__RPC_SPAWN)
    otpc_exitf(self, "{undef, [{~A, ~A, ~t, []}]}", j->mod, j->fun, &al);
  if (j->kind == OTPC__RPC_CALL)
    otpc_term_match(al, NULL, "[~t, ~a, ~a, ~t]", &res, &m, &f, &args);
  else
    otpc_term_match(al, NULL, "[~a, ~a, ~t]", &m, &f, &args);
  otpc__rpc_run(j->r, self, m, f, args, c);
  otpc_term_t v = view(&c->val), s = view(&c->stack);
  if (j->kind == OTPC__RPC_CALL) {
    if (call_reason(c, res, &j->reason) != 0)
      otpc_exitf(self, "{otpc_rpc, cannot_build_exit_reason}");
    quiet_exit(self, j, NULL);
  }
  /* execute_cast/3: errors end the process with {exception, {R, Stack}},
   * an uncaught throw with nocatch, an exit with its reason. */
  if (c->cls == -1)
    otpc_exitf(self, "normal");
  if (c->cls == OTPC_RPC_EXIT)
    quiet_exit(self, j, "~t", &v);
  if (c->cls == OTPC_RPC_THROW)
    otpc_exitf(self, "{{nocatch, ~t}, ~t}", &v, &s);
  otpc_exitf(self, "{exception, {~t, ~t}}", &v, &s);
}

static void job_terminate(otpc_proc_t *self, void *state, otpc_term_t reason) {
  (void)self;
  (void)reason;
  job_t *j = state;
  otpc_msg_unref(j->req);
  otpc_buf_free(&j->call.val);
  otpc_buf_free(&j->call.stack);
  otpc_buf_free(&j->reason);
}

static const otpc_proc_class_t job_class = {.name = "erpc",
                                            .state_size = sizeof(job_t),
                                            .init = job_init,
                                            .handle = job_handle,
                                            .terminate = job_terminate};

/* ------------------------------------------------------- spawn hook */

/* An erpc call of an inline function, run here on the node's thread: the
 * DOWN reason execute_call/4 would exit with, or OTPC_ENOTFOUND when the
 * call needs a process (not inline, not registered: the job path). */
static int run_inline(otpc_rpc_t *r, otpc_term_t res, otpc_atom_t m,
                      otpc_atom_t f, otpc_term_t args, otpc_msg_t **done) {
  entry_t e;
  otpc_iter_t it;
  size_t n = 0;
  otpc_term_list(args, &it, &n);
  if (!lookup(r, m, f, n, true, &e) || !e.inline_)
    return OTPC_ENOTFOUND;
  otpc_rpc_call_t c;
  otpc_buf_t b;
  otpc__rpc_run(r, NULL, m, f, args, &c);
  otpc_buf_init(&b);
  int rc = call_reason(&c, res, &b);
  if (rc == 0)
    rc = otpc_msg_from_term((otpc_term_t){.p = b.data, .len = b.len}, done);
  otpc_buf_free(&b);
  otpc_buf_free(&c.val);
  otpc_buf_free(&c.stack);
  return rc;
}

static int hook_spawn(void *ud, const otpc__dctl_t *d, otpc_pid_t *pid,
                      unsigned *flags, otpc_atom_t *err, otpc_msg_t **done) {
  otpc_rpc_t *r = ud;
  otpc_term_t res, args;
  otpc_atom_t m, f;
  entry_t e;
  otpc_msg_t *req;
  if (otpc__rpc_spawn_opts(d->opts, flags, NULL) != 0) {
    *err = r->a_badopt;
    return OTPC_EINVAL;
  }
  int kind = otpc__rpc_classify(d->mod, d->fun, d->arity, d->payload, &res, &m,
                                &f, &args, NULL);
  if (kind < 0) {
    *err = r->a_badarg;
    return kind;
  }
  if (kind == OTPC__RPC_CALL && *flags == 2 &&
      run_inline(r, res, m, f, args, done) == 0) {
    /* No process ran it: the reply names the node's runtime pid, which
     * erpc never uses (it waits on the request's monitor). */
    *pid = r->inline_pid;
    return 1;
  }
  if (otpc_msg_from_term(d->payload, &req) != 0) {
    *err = r->a_badarg;
    return OTPC_ENOMEM;
  }
  if (kind == OTPC__RPC_SPAWN && lookup(r, m, f, d->arity, false, &e)) {
    int rc = otpc_rt_spawn(r->rt, e.cls, req, NULL, pid);
    if (rc != 0) {
      otpc_msg_unref(req);
      *err = r->a_badarg;
      return rc;
    }
    r->ungated = *pid;
    return 0;
  }
  job_t *j = calloc(1, sizeof *j);
  if (j == NULL) {
    otpc_msg_unref(req);
    *err = r->a_badarg;
    return OTPC_ENOMEM;
  }
  *j = (job_t){.r = r, .kind = kind, .req = req, .mod = m, .fun = f};
  int rc = otpc_rt_spawn(r->rt, &job_class, j, NULL, pid);
  if (rc != 0) {
    /* The process never started: init did not take j. */
    otpc_msg_unref(req);
    free(j);
    *err = r->a_badarg;
  }
  return rc;
}

static void hook_go(void *ud, otpc_pid_t pid) {
  otpc_rpc_t *r = ud;
  if (memcmp(&pid, &r->ungated, sizeof pid) != 0)
    otpc__rt_remote_send(r->rt, pid, r->m_go);
  memset(&r->ungated, 0, sizeof r->ungated);
}

/* ---------------------------------------------------------- service */

int otpc_rpc_start(otpc_node_t *n, otpc_rpc_t **out) {
  if (n == NULL || out == NULL)
    return OTPC_EINVAL;
  otpc_rpc_t *r = calloc(1, sizeof *r);
  if (r == NULL)
    return OTPC_ENOMEM;
  r->node = n;
  r->rt = otpc_node_rt(n);
  pthread_mutex_init(&r->mu, NULL);
  otpc_atom("badopt", &r->a_badopt);
  otpc_atom("badarg", &r->a_badarg);
  int rc = otpc_msg_build(&r->m_go, NULL, "'$otpc_rpc_go'");
  r->hook = (otpc__spawn_hook_t){.spawn = hook_spawn, .go = hook_go, .ud = r};
  if (rc == 0)
    rc = otpc__rex_start(r, r->rt, &r->inline_pid);
  if (rc == 0)
    rc = otpc__log_start(r, r->rt);
  if (rc != 0) {
    otpc_rpc_free(r);
    return rc;
  }
  otpc__node_set_spawn_hook(n, &r->hook);
  *out = r;
  return 0;
}

void otpc_rpc_free(otpc_rpc_t *r) {
  if (r == NULL)
    return;
  otpc_msg_unref(r->m_go);
  free(r->v);
  pthread_mutex_destroy(&r->mu);
  free(r);
}

int otpc_rpc_forward_logs(otpc_rpc_t *r, const char *node) {
  otpc_atom_t a = OTPC_ATOM_NONE;
  if (r == NULL)
    return OTPC_EINVAL;
  if (node != NULL && node[0] != '\0' && otpc_atom(node, &a) != 0)
    return OTPC_EINVAL;
  pthread_mutex_lock(&r->mu);
  r->log_to = a;
  pthread_mutex_unlock(&r->mu);
  return 0;
}

otpc_rt_t *otpc__rpc_rt(otpc_rpc_t *r) {
  return r->rt;
}

static bool contains(const char *s, const char *sub, size_t n) {
  for (; n > 0 && *s != '\0'; s++)
    if (strncmp(s, sub, n) == 0)
      return true;
  return false;
}

/* Under the lock, so that once otpc_rpc_forward_logs(r, NULL) returns no
 * line is being handed to the runtime any more: the node may then stop it
 * while its own loop still logs. Lines about the log target's node itself
 * (its connection going up, down, failing) are not forwarded: when it is
 * down they cannot arrive, and each try to send would dial and log again. */
void otpc__rpc_log_locked(otpc_rpc_t *r, int level, const char *line) {
  otpc_atom_t name;
  otpc_msg_t *m;
  size_t tl = 0;
  const char *lv = level == OTPC_LOG_ERROR     ? "error"
                   : level == OTPC_LOG_WARNING ? "warning"
                                               : "info";
  pthread_mutex_lock(&r->mu);
  const char *target =
      r->log_to != OTPC_ATOM_NONE ? otpc_atom_text(r->log_to, &tl) : NULL;
  if (target != NULL && !contains(line, target, tl) &&
      otpc_msg_build(&m, NULL, "{~a, ~b}", lv, line, strlen(line)) == 0) {
    otpc_atom("otpc_log_forwarder", &name);
    otpc_rt_send_name(r->rt, name, m);
    otpc_msg_unref(m);
  }
  pthread_mutex_unlock(&r->mu);
}

otpc_atom_t otpc__rpc_log_target(otpc_rpc_t *r) {
  pthread_mutex_lock(&r->mu);
  otpc_atom_t a = r->log_to;
  pthread_mutex_unlock(&r->mu);
  return a;
}
