/* gen_server over the process runtime: the server loop (dispatch of calls,
 * casts, infos, system terminate and the parent's exit; results; timeouts;
 * continues) and the clients (start, call, stop), each usable from a
 * process (selective receive with a continuation) or a thread process
 * (blocking). Only include/otpc/process.h is used. */
#include "otpc/gen_server.h"

#include "gen.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ server */

enum { CB_INIT = 1, CB_CALL, CB_OTHER };

struct otpc_gs {
  const otpc_gen_server_t *cls;
  otpc_proc_t *self;
  void *user;
  otpc_pid_t parent;
  bool in_cb;      /* a callback runs: an exit now is a crash inside it */
  bool terminated; /* terminate ran (or must not run) */
  bool waiting;    /* in otpc_gs_call: the continuation gives the result */
  int cb;          /* which kind of callback runs */
  /* The result of the callback that just ran. */
  bool ignore, stop, has_reply, has_cont;
  int64_t timeout; /* -1: none */
  otpc_buf_t reply, reason, cont;
  /* The term handle_continue runs with: here, not on the C stack, so that
   * a crash (otpc_exit) inside handle_continue does not leak it. */
  otpc_buf_t running_cont;
  otpc_gs_from_t from; /* the call being handled */
};

/* What start passes to the new process; freed by its init. */
typedef otpc__gen_start_arg_t start_arg_t;

static void reset_result(otpc_gs_t *gs) {
  gs->ignore = gs->stop = gs->has_reply = gs->has_cont = false;
  gs->timeout = -1;
  gs->reply.len = gs->reason.len = gs->cont.len = 0;
}

static int copy_term(otpc_buf_t *b, otpc_term_t t) {
  b->len = 0;
  return otpc_buf_append(b, t.p, t.len);
}

static int vbuild(otpc_buf_t *b, const char *fmt, va_list ap) {
  b->len = 0;
  return otpc_term_vbuild(b, NULL, fmt, ap);
}

static otpc_term_t buf_term(const otpc_buf_t *b) {
  return (otpc_term_t){b->data, b->len};
}

int otpc_gs_reply(otpc_gs_t *gs, otpc_term_t reply) {
  if (gs == NULL || gs->cb != CB_CALL)
    return OTPC_EINVAL;
  int rc = copy_term(&gs->reply, reply);
  gs->has_reply = rc == 0;
  return rc;
}

int otpc_gs_replyf(otpc_gs_t *gs, const char *fmt, ...) {
  if (gs == NULL || gs->cb != CB_CALL)
    return OTPC_EINVAL;
  va_list ap;
  va_start(ap, fmt);
  int rc = vbuild(&gs->reply, fmt, ap);
  va_end(ap);
  gs->has_reply = rc == 0;
  return rc;
}

void otpc_gs_timeout(otpc_gs_t *gs, int64_t ms) {
  if (gs != NULL)
    gs->timeout = ms < 0 ? -1 : ms;
}

void otpc_gs_hibernate(otpc_gs_t *gs) {
  (void)gs;
}

int otpc_gs_continue(otpc_gs_t *gs, otpc_term_t cont) {
  if (gs == NULL)
    return OTPC_EINVAL;
  int rc = copy_term(&gs->cont, cont);
  gs->has_cont = rc == 0;
  return rc;
}

int otpc_gs_stop(otpc_gs_t *gs, otpc_term_t reason) {
  if (gs == NULL)
    return OTPC_EINVAL;
  int rc = copy_term(&gs->reason, reason);
  gs->stop = rc == 0;
  return rc;
}

int otpc_gs_stopf(otpc_gs_t *gs, const char *fmt, ...) {
  if (gs == NULL)
    return OTPC_EINVAL;
  va_list ap;
  va_start(ap, fmt);
  int rc = vbuild(&gs->reason, fmt, ap);
  va_end(ap);
  gs->stop = rc == 0;
  return rc;
}

void otpc_gs_ignore(otpc_gs_t *gs) {
  if (gs != NULL && gs->cb == CB_INIT)
    gs->ignore = true;
}

otpc_proc_t *otpc_gs_proc(otpc_gs_t *gs) {
  return gs->self;
}

/* The alias of a tag [alias | Alias] made on this node, if it is one. */
static bool local_alias(otpc_proc_t *self, otpc_term_t tag, otpc_ref_t *alias) {
  otpc_iter_t it;
  otpc_term_t e, tail;
  size_t n;
  return otpc_term_type(tag) == OTPC_T_LIST &&
         otpc_term_list(tag, &it, &n) == 0 && n == 1 &&
         otpc_iter_next(&it, &e) == 1 && otpc_term_is_atom(e, "alias") &&
         otpc_iter_tail(&it, &tail) == 0 && otpc_term_ref(tail, alias) == 0 &&
         alias->node == otpc_rt_node(otpc_proc_rt(self));
}

int otpc_gen_server_reply(otpc_proc_t *self, const otpc_gs_from_t *from,
                          otpc_term_t reply) {
  if (self == NULL || from == NULL || from->tag_len == 0)
    return OTPC_EINVAL;
  otpc_term_t tag = {from->tag, from->tag_len};
  otpc_ref_t alias;
  /* gen:reply/2: {Tag, Reply}, through the alias of an OTP 25 tag
   * [alias | Alias], so that a reply after the caller gave up is dropped
   * (the caller deactivated the alias) as on the BEAM. A local caller's
   * alias is sent to as such; another node's caller gets it at its pid,
   * which its receive matches as well while it waits. */
  if (local_alias(self, tag, &alias)) {
    otpc_msg_t *m;
    int rc = otpc_msg_build(&m, NULL, "{~t, ~t}", &tag, &reply);
    if (rc < 0)
      return rc;
    rc = otpc_send_alias(self, &alias, m);
    otpc_msg_unref(m);
    return rc;
  }
  return otpc_sendf(self, from->pid, "{~t, ~t}", &tag, &reply);
}

/* Runs terminate (once), sends a pending reply of {stop, R, Reply, S}, and
 * exits with the reason. */
_Noreturn static void stop_now(otpc_gs_t *gs, otpc_term_t reason, bool reply) {
  if (!gs->terminated) {
    gs->terminated = true;
    if (gs->cls->terminate != NULL) {
      gs->in_cb = true;
      gs->cls->terminate(gs, gs->user, reason);
      gs->in_cb = false;
    }
  }
  if (reply)
    otpc_gen_server_reply(gs->self, &gs->from, buf_term(&gs->reply));
  otpc_exit(gs->self, reason);
}

static bool match_any(otpc_term_t t, const void *arg) {
  (void)t;
  (void)arg;
  return true;
}

static void dispatch(otpc_gs_t *gs, otpc_term_t t);
static void on_timeout_wait(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                            void *ctx);

/* After a callback: the reply, stop, continue and timeout it chose. */
static void finish(otpc_gs_t *gs) {
  for (;;) {
    if (gs->waiting)
      return;
    bool reply = gs->cb == CB_CALL && gs->has_reply;
    if (gs->stop)
      stop_now(gs, buf_term(&gs->reason), reply);
    if (reply) {
      otpc_gen_server_reply(gs->self, &gs->from, buf_term(&gs->reply));
      gs->has_reply = false;
    }
    if (!gs->has_cont)
      break;
    /* Swap the continue term out: handle_continue may set a new one. */
    otpc_buf_t c = gs->running_cont;
    gs->running_cont = gs->cont;
    gs->cont = c;
    reset_result(gs);
    gs->cb = CB_OTHER;
    if (gs->cls->handle_continue == NULL)
      otpc_exitf(gs->self, "{undef, handle_continue}");
    gs->in_cb = true;
    gs->cls->handle_continue(gs, gs->user, buf_term(&gs->running_cont));
    gs->in_cb = false;
  }
  if (gs->timeout >= 0)
    otpc_receive(gs->self, match_any, NULL, 0, gs->timeout, on_timeout_wait,
                 NULL);
}

static void on_timeout_wait(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                            void *ctx) {
  (void)self;
  (void)ctx;
  otpc_gs_t *gs = state;
  if (msg != NULL) {
    dispatch(gs, otpc_msg_term(msg));
    return;
  }
  static const uint8_t timeout_atom[] = {119, 7,   't', 'i', 'm',
                                         'e', 'o', 'u', 't'};
  reset_result(gs);
  gs->cb = CB_OTHER;
  if (gs->cls->handle_info != NULL) {
    gs->in_cb = true;
    gs->cls->handle_info(gs, gs->user,
                         (otpc_term_t){timeout_atom, sizeof timeout_atom});
    gs->in_cb = false;
  }
  finish(gs);
}

static bool pid_eq(otpc_pid_t a, otpc_pid_t b) {
  return a.node == b.node && a.id == b.id && a.serial == b.serial &&
         a.creation == b.creation;
}

static void dispatch(otpc_gs_t *gs, otpc_term_t t) {
  otpc_term_t tag, req, reason;
  otpc_pid_t pid;
  reset_result(gs);
  if (otpc_term_match(t, NULL, "{'$gen_call', {~p, ~t}, ~t}", &pid, &tag,
                      &req) == 0) {
    if (tag.len > OTPC_GS_TAG_MAX)
      return; /* no caller of ours or OTP's has a tag this long */
    gs->from.pid = pid;
    gs->from.tag_len = tag.len;
    memcpy(gs->from.tag, tag.p, tag.len);
    gs->cb = CB_CALL;
    if (gs->cls->handle_call == NULL)
      otpc_exitf(gs->self, "{undef, handle_call}");
    gs->in_cb = true;
    gs->cls->handle_call(gs, gs->user, req, &gs->from);
    gs->in_cb = false;
  } else if (otpc_term_match(t, NULL, "{'$gen_cast', ~t}", &req) == 0) {
    gs->cb = CB_OTHER;
    if (gs->cls->handle_cast == NULL)
      otpc_exitf(gs->self, "{undef, handle_cast}");
    gs->in_cb = true;
    gs->cls->handle_cast(gs, gs->user, req);
    gs->in_cb = false;
  } else if (otpc_term_match(t, NULL, "{system, {~p, ~t}, {terminate, ~t}}",
                             &pid, &tag, &reason) == 0) {
    /* sys:terminate/3, as gen_server:stop sends it. sys.erl answers ok
     * before the terminate runs, and proc_lib:stop's helper waits for that
     * ok before it waits for the DOWN. */
    otpc_sendf(gs->self, pid, "{~t, ok}", &tag);
    stop_now(gs, reason, false);
  } else if (otpc_term_match(t, NULL, "{system, _, _}") == 0) {
    return; /* other sys requests: not yet (get_state, suspend, ...) */
  } else if (otpc_term_match(t, NULL, "{'EXIT', ~p, ~t}", &pid, &reason) == 0 &&
             pid_eq(pid, gs->parent)) {
    /* Only seen when trapping exits: OTP's gen_server terminates with the
     * parent's (the starter's, linked or not) reason. */
    stop_now(gs, reason, false);
  } else {
    gs->cb = CB_OTHER;
    if (gs->cls->handle_info != NULL) {
      gs->in_cb = true;
      gs->cls->handle_info(gs, gs->user, t);
      gs->in_cb = false;
    }
  }
  finish(gs);
}

static void gs_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)self;
  dispatch(state, otpc_msg_term(msg));
}

static void gs_init(otpc_proc_t *self, void *state, void *arg) {
  otpc_gs_t *gs = state;
  start_arg_t sa = *(start_arg_t *)arg;
  free(arg);
  const otpc_gen_server_t *cls = sa.cls;
  gs->cls = cls;
  gs->self = self;
  gs->parent = sa.starter;
  otpc_buf_init(&gs->reply);
  otpc_buf_init(&gs->reason);
  otpc_buf_init(&gs->cont);
  otpc_buf_init(&gs->running_cont);
  gs->user = calloc(1, cls->state_size ? cls->state_size : 1);
  if (gs->user == NULL) {
    gs->terminated = true;
    otpc_sendf(self, sa.starter, "{~r, {error, enomem}}", &sa.tag);
    otpc_exitf(self, "enomem");
  }
  reset_result(gs);
  gs->cb = CB_INIT;
  if (cls->init != NULL) {
    gs->in_cb = true;
    cls->init(gs, gs->user, sa.arg);
    gs->in_cb = false;
  }
  otpc_pid_t me = otpc_self(self);
  if (gs->stop) {
    /* {stop, R}: no terminate, as in OTP. */
    gs->terminated = true;
    otpc_term_t r = buf_term(&gs->reason);
    otpc_sendf(self, sa.starter, "{~r, {error, ~t}}", &sa.tag, &r);
    otpc_exit(self, r);
  }
  if (gs->ignore) {
    gs->terminated = true;
    otpc_sendf(self, sa.starter, "{~r, ignore}", &sa.tag);
    otpc_exitf(self, "normal");
  }
  otpc_sendf(self, sa.starter, "{~r, {ok, ~p}}", &sa.tag, &me);
  gs->cb = CB_OTHER;
  finish(gs);
}

static void gs_terminate(otpc_proc_t *self, void *state, otpc_term_t reason) {
  (void)self;
  otpc_gs_t *gs = state;
  if (gs->cls == NULL)
    return;
  /* A crash inside handle_* or handle_continue: OTP runs terminate with
   * the reason. A crash in init does not (OTP acks {error, R} instead: the
   * starter's monitor sees it). An exit signal from outside does not. */
  if (gs->in_cb && !gs->terminated && gs->cb != CB_INIT &&
      gs->cls->terminate != NULL) {
    gs->terminated = true;
    gs->cls->terminate(gs, gs->user, reason);
  }
  if (gs->user != NULL && gs->cls->free_state != NULL)
    gs->cls->free_state(gs->user);
  free(gs->user);
  otpc_buf_free(&gs->reply);
  otpc_buf_free(&gs->reason);
  otpc_buf_free(&gs->cont);
  otpc_buf_free(&gs->running_cont);
}

static const otpc_proc_class_t gs_class = {"gen_server", sizeof(otpc_gs_t),
                                           gs_init, gs_handle, gs_terminate};

/* ------------------------------------------------------------ clients */

enum { OP_START = 1, OP_CALL, OP_STOP };

/* One wait of a client: what to match and how to read what came. */
typedef struct waiter {
  int op;
  otpc_ref_t tag;  /* start: the ack's tag */
  otpc_ref_t mref; /* the monitor on the server (also a call's tag) */
  bool has_mon;
  /* A call to a local server: tagged [alias | Alias], deactivated when
   * the call ends, so a late reply is dropped as OTP 25's gen:call. */
  bool has_alias;
  otpc_ref_t alias;
  size_t tag_len;
  uint8_t tag_bytes[OTPC_GS_TAG_MAX];
  otpc_buf_t reason; /* stop: the expected reason */
  otpc_gs_cont_fn cont;
  otpc_gs_call_cont_fn gs_cont; /* otpc_gs_call: runs as a server callback */
  void *ctx;
} waiter_t;

typedef struct refs2 {
  otpc_ref_t a, b;
  size_t tag_len; /* > 0: also {Tag, _} with Tag these bytes */
  uint8_t tag[OTPC_GS_TAG_MAX];
} refs2_t;

static bool match_either(otpc_term_t t, const void *arg) {
  const refs2_t *r = arg;
  if (otpc_match_ref(t, &r->a) || otpc_match_ref(t, &r->b))
    return true;
  otpc_iter_t it;
  otpc_term_t e;
  size_t n;
  return r->tag_len > 0 && otpc_term_type(t) == OTPC_T_TUPLE &&
         otpc_term_tuple(t, &it, &n) == 0 && n == 2 &&
         otpc_iter_next(&it, &e) == 1 &&
         otpc_term_equal(e, (otpc_term_t){r->tag, r->tag_len}) == 1;
}

static void waiter_free(waiter_t *w) {
  otpc_buf_free(&w->reason);
  free(w);
}

/* The caller exits while it waits: the runtime hands the waiter back. */
static void waiter_drop(void *ctx) {
  waiter_free(ctx);
}

static void set_term(otpc_gs_result_t *res, otpc_term_t t) {
  if (otpc_msg_from_term(t, &res->term) != 0)
    res->term = NULL;
}

/* Reads the message that ended a wait (NULL: the timeout) into res. */
static void interpret(waiter_t *w, otpc_proc_t *self, otpc_msg_t *msg,
                      otpc_gs_result_t *res) {
  memset(res, 0, sizeof *res);
  if (w->has_alias) {
    otpc_unalias(self, &w->alias);
    w->has_alias = false;
  }
  /* After a DOWN the monitor is gone; otherwise drop it and any DOWN
   * already queued, as gen:do_call's demonitor(Mref, [flush]). */
  if (w->has_mon &&
      (msg == NULL ||
       otpc_term_match(otpc_msg_term(msg), NULL, "{'DOWN', _, _, _, _}") != 0))
    otpc_demonitor(self, &w->mref, OTPC_DEMONITOR_FLUSH);
  if (msg == NULL) {
    res->status = OTPC_GS_TIMEOUT;
    return;
  }
  otpc_term_t t = otpc_msg_term(msg), x;
  otpc_pid_t pid;
  otpc_atom_t node = OTPC_ATOM_NONE;
  if (otpc_term_match(t, NULL, "{'DOWN', _, process, _, ~t}", &x) == 0) {
    if (w->op == OP_START) {
      res->status = OTPC_GS_ERROR;
      set_term(res, x);
    } else if (otpc_term_is_atom(x, "noproc") == 1) {
      res->status = OTPC_GS_NOPROC;
    } else if (otpc_term_is_atom(x, "noconnection") == 1 &&
               (otpc_term_match(t, NULL, "{_, _, _, {_, ~a}, _}", &node) == 0 ||
                otpc_term_match(t, NULL, "{_, _, _, ~p, _}", &pid) == 0)) {
      /* gen:do_call turns a lost connection into {nodedown, Node}. */
      res->status = OTPC_GS_EXIT;
      if (otpc_msg_build(&res->term, NULL, "{nodedown, ~A}",
                         node != OTPC_ATOM_NONE ? node : pid.node) != 0)
        res->term = NULL;
    } else if (w->op == OP_STOP && otpc_term_equal(x, buf_term(&w->reason))) {
      res->status = OTPC_GS_OK;
    } else {
      res->status = OTPC_GS_EXIT;
      set_term(res, x);
    }
  } else if (w->op == OP_START) {
    if (otpc_term_match(t, NULL, "{_, {ok, ~p}}", &pid) == 0) {
      res->status = OTPC_GS_OK;
      res->pid = pid;
    } else if (otpc_term_match(t, NULL, "{_, {error, ~t}}", &x) == 0) {
      res->status = OTPC_GS_ERROR;
      set_term(res, x);
    } else {
      res->status = OTPC_GS_IGNORE;
    }
  } else if (otpc_term_match(t, NULL, "{_, ~t}", &x) == 0) {
    res->status = OTPC_GS_OK;
    set_term(res, x);
  }
}

static void on_wait(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                    void *ctx) {
  waiter_t *w = ctx;
  otpc_gs_result_t res;
  interpret(w, self, msg, &res);
  otpc_gs_cont_fn cont = w->cont;
  otpc_gs_call_cont_fn gs_cont = w->gs_cont;
  void *uctx = w->ctx;
  waiter_free(w);
  if (gs_cont == NULL) {
    cont(self, state, &res, uctx);
    otpc_msg_unref(res.term);
    return;
  }
  /* Inside a server: the continuation finishes the callback that called,
   * so gs->cb and gs->from are still that callback's. */
  otpc_gs_t *gs = state;
  gs->waiting = false;
  reset_result(gs);
  gs->in_cb = true;
  gs_cont(gs, gs->user, &res, uctx);
  gs->in_cb = false;
  otpc_msg_unref(res.term);
  finish(gs);
}

/* A placeholder: call() wants a continuation to take the async path. */
static void no_cont(otpc_proc_t *self, void *state, const otpc_gs_result_t *res,
                    void *ctx) {
  (void)self;
  (void)state;
  (void)res;
  (void)ctx;
}

/* Waits for w's answer: with a continuation from a process, or blocking
 * from a thread process (cont == NULL). */
static int wait_for(otpc_proc_t *self, waiter_t *w, int64_t timeout_ms,
                    otpc_gs_result_t *res) {
  refs2_t r;
  r.a = w->op == OP_START ? w->tag : w->mref;
  r.b = w->mref;
  r.tag_len = w->tag_len;
  memcpy(r.tag, w->tag_bytes, w->tag_len);
  if (w->cont != NULL) {
    int rc = otpc_receive_owned(self, match_either, &r, sizeof r, timeout_ms,
                                on_wait, w, waiter_drop);
    if (rc < 0)
      waiter_free(w);
    return rc;
  }
  otpc_msg_t *m = NULL;
  int rc = otpc_thread_receive(self, match_either, &r, timeout_ms, &m);
  if (rc == OTPC_EINVAL) {
    /* The thread process was killed by an exit signal: m is the reason. */
    memset(res, 0, sizeof *res);
    res->status = OTPC_GS_EXIT;
    res->term = m;
    waiter_free(w);
    return rc;
  }
  interpret(w, self, rc == 0 ? m : NULL, res);
  otpc_msg_unref(m);
  waiter_free(w);
  return 0;
}

static waiter_t *waiter_new(int op, otpc_gs_cont_fn cont, void *ctx) {
  waiter_t *w = calloc(1, sizeof *w);
  if (w == NULL)
    return NULL;
  w->op = op;
  w->cont = cont;
  w->ctx = ctx;
  otpc_buf_init(&w->reason);
  return w;
}

int otpc__gen_start(otpc_proc_t *self, const otpc_proc_class_t *pcls,
                    const void *cls, void *arg,
                    const otpc_gs_start_opts_t *opts, otpc_gs_cont_fn cont,
                    void *ctx, otpc_gs_result_t *res) {
  if (self == NULL || cls == NULL)
    return OTPC_EINVAL;
  waiter_t *w = waiter_new(OP_START, cont, ctx);
  start_arg_t *sa = calloc(1, sizeof *sa);
  if (w == NULL || sa == NULL) {
    free(w);
    free(sa);
    return OTPC_ENOMEM;
  }
  otpc_rt_t *rt = otpc_proc_rt(self);
  otpc_make_ref(rt, &w->tag);
  sa->cls = cls;
  sa->arg = arg;
  sa->starter = otpc_self(self);
  sa->tag = w->tag;
  sa->linked = opts != NULL && opts->link;
  otpc_spawn_opts_t so;
  memset(&so, 0, sizeof so);
  so.link = sa->linked;
  so.monitor = true;
  so.monitor_ref = &w->mref;
  so.name = opts != NULL ? opts->name : NULL;
  otpc_pid_t pid;
  int rc = otpc_spawn(self, pcls, sa, &so, &pid);
  if (rc == 0) {
    w->has_mon = true;
  } else {
    free(sa);
    otpc_atom_t name;
    otpc_pid_t other;
    if (so.name == NULL || otpc_atom(so.name, &name) != 0 ||
        otpc_whereis(rt, name, &other) != 0) {
      waiter_free(w);
      return rc;
    }
    /* The answer goes through the mailbox so that a continuation never
     * runs inside its own start call. */
    otpc_make_ref(rt, &w->mref);
    otpc_sendf(self, otpc_self(self), "{~r, {error, {already_started, ~p}}}",
               &w->tag, &other);
  }
  return wait_for(self, w, -1, res);
}

int otpc_gen_server_start(otpc_proc_t *self, const otpc_gen_server_t *cls,
                          void *arg, const otpc_gs_start_opts_t *opts,
                          otpc_gs_cont_fn cont, void *ctx) {
  if (cont == NULL)
    return OTPC_EINVAL;
  return otpc__gen_start(self, &gs_class, cls, arg, opts, cont, ctx, NULL);
}

int otpc_gen_server_start_blocking(otpc_proc_t *self,
                                   const otpc_gen_server_t *cls, void *arg,
                                   const otpc_gs_start_opts_t *opts,
                                   otpc_gs_result_t *res) {
  if (res == NULL)
    return OTPC_EINVAL;
  return otpc__gen_start(self, &gs_class, cls, arg, opts, NULL, NULL, res);
}

/* `name`: a registered name, resolved first as gen:call does (whereis,
 * then a call to the pid); no such name is noproc. */
static int call(otpc_proc_t *self, otpc_pid_t server, otpc_term_t req,
                int64_t timeout_ms, otpc_gs_cont_fn cont, void *ctx,
                otpc_gs_result_t *res, otpc_gs_call_cont_fn gs_cont,
                const otpc_atom_t *name, bool pid_label) {
  if (self == NULL || req.p == NULL)
    return OTPC_EINVAL;
  waiter_t *w = waiter_new(OP_CALL, cont, ctx);
  if (w == NULL)
    return OTPC_ENOMEM;
  w->gs_cont = gs_cont;
  int rc;
  if (name != NULL && otpc_whereis(otpc_proc_rt(self), *name, &server) != 0) {
    /* A monitor of a name nobody has: its DOWN says noproc, through the
     * same wait as a call's. */
    rc = otpc_monitor_name(self, *name, &w->mref);
    if (rc < 0) {
      waiter_free(w);
      return rc;
    }
    w->has_mon = true;
    return wait_for(self, w, timeout_ms, res);
  }
  /* As gen:do_call: the monitor's reference is the tag, so a reply and
   * the server's death are told apart by one reference, and a late reply
   * to an earlier call can never match this one. */
  rc = otpc_monitor(self, server, &w->mref);
  if (rc < 0) {
    waiter_free(w);
    return rc;
  }
  w->has_mon = true;
  otpc_pid_t me = otpc_self(self);
  otpc_buf_t tb;
  otpc_buf_init(&tb);
  /* A local server gets OTP 25's tag, [alias | Alias]; a server on another
   * node the monitor reference, as before aliases. */
  if (server.node == otpc_rt_node(otpc_proc_rt(self)) &&
      otpc_alias(self, &w->alias) == 0) {
    w->has_alias = true;
    if (otpc_term_build(&tb, NULL, "[alias | ~r]", &w->alias) == 0 &&
        tb.len <= sizeof w->tag_bytes) {
      w->tag_len = tb.len;
      memcpy(w->tag_bytes, tb.data, tb.len);
    } else {
      otpc_unalias(self, &w->alias);
      w->has_alias = false;
    }
  }
  if (!w->has_alias) {
    tb.len = 0;
    rc = otpc_term_build(&tb, NULL, "~r", &w->mref);
  } else {
    rc = 0;
  }
  otpc_term_t tag = {tb.data, tb.len};
  if (rc == 0 && pid_label)
    rc = otpc_sendf(self, server, "{~p, {~p, ~t}, ~t}", &me, &me, &tag, &req);
  else if (rc == 0)
    rc = otpc_sendf(self, server, "{'$gen_call', {~p, ~t}, ~t}", &me, &tag,
                    &req);
  otpc_buf_free(&tb);
  if (rc < 0 && w->has_alias)
    otpc_unalias(self, &w->alias);
  if (rc < 0) {
    otpc_demonitor(self, &w->mref, OTPC_DEMONITOR_FLUSH);
    waiter_free(w);
    return rc;
  }
  return wait_for(self, w, timeout_ms, res);
}

int otpc__gen_call(otpc_proc_t *self, otpc_pid_t server, bool pid_label,
                   otpc_term_t req, int64_t timeout_ms, otpc_gs_cont_fn cont,
                   void *ctx, otpc_gs_result_t *res) {
  return call(self, server, req, timeout_ms, cont, ctx, res, NULL, NULL,
              pid_label);
}

int otpc_gen_server_call(otpc_proc_t *self, otpc_pid_t server, otpc_term_t req,
                         int64_t timeout_ms, otpc_gs_cont_fn cont, void *ctx) {
  if (cont == NULL)
    return OTPC_EINVAL;
  return call(self, server, req, timeout_ms, cont, ctx, NULL, NULL, NULL,
              false);
}

int otpc_gen_server_call_blocking(otpc_proc_t *self, otpc_pid_t server,
                                  otpc_term_t req, int64_t timeout_ms,
                                  otpc_gs_result_t *res) {
  if (res == NULL)
    return OTPC_EINVAL;
  return call(self, server, req, timeout_ms, NULL, NULL, res, NULL, NULL,
              false);
}

int otpc_gen_server_call_name(otpc_proc_t *self, otpc_atom_t name,
                              otpc_term_t req, int64_t timeout_ms,
                              otpc_gs_cont_fn cont, void *ctx) {
  if (cont == NULL)
    return OTPC_EINVAL;
  otpc_pid_t none = {0};
  return call(self, none, req, timeout_ms, cont, ctx, NULL, NULL, &name, false);
}

int otpc_gen_server_call_name_blocking(otpc_proc_t *self, otpc_atom_t name,
                                       otpc_term_t req, int64_t timeout_ms,
                                       otpc_gs_result_t *res) {
  if (res == NULL)
    return OTPC_EINVAL;
  otpc_pid_t none = {0};
  return call(self, none, req, timeout_ms, NULL, NULL, res, NULL, &name, false);
}

int otpc_gen_server_cast_name(otpc_proc_t *self, otpc_atom_t name,
                              otpc_term_t req) {
  if (self == NULL || req.p == NULL)
    return OTPC_EINVAL;
  otpc_msg_t *m = NULL;
  int rc = otpc_msg_build(&m, NULL, "{'$gen_cast', ~t}", &req);
  if (rc < 0)
    return rc;
  rc = otpc_send_name(self, name, m);
  otpc_msg_unref(m);
  /* gen_server:cast to a name nobody has is ok, as in OTP. */
  return rc == OTPC_ENOTFOUND ? 0 : rc;
}

int otpc_gs_call(otpc_gs_t *gs, otpc_pid_t server, otpc_term_t req,
                 int64_t timeout_ms, otpc_gs_call_cont_fn cont, void *ctx) {
  /* Not from init yet: the start's ack would have to wait for cont. */
  if (gs == NULL || cont == NULL || gs->waiting || !gs->in_cb ||
      gs->cb == CB_INIT)
    return OTPC_EINVAL;
  int rc = call(gs->self, server, req, timeout_ms, no_cont, ctx, NULL, cont,
                NULL, false);
  if (rc == 0)
    gs->waiting = true;
  return rc;
}

int otpc_gen_server_cast(otpc_proc_t *self, otpc_pid_t server,
                         otpc_term_t req) {
  if (self == NULL || req.p == NULL)
    return OTPC_EINVAL;
  return otpc_sendf(self, server, "{'$gen_cast', ~t}", &req);
}

static int stop(otpc_proc_t *self, otpc_pid_t server, otpc_term_t reason,
                int64_t timeout_ms, otpc_gs_cont_fn cont, void *ctx,
                otpc_gs_result_t *res) {
  if (self == NULL || reason.p == NULL)
    return OTPC_EINVAL;
  waiter_t *w = waiter_new(OP_STOP, cont, ctx);
  if (w == NULL)
    return OTPC_ENOMEM;
  int rc = otpc_buf_append(&w->reason, reason.p, reason.len);
  if (rc == 0)
    rc = otpc_monitor(self, server, &w->mref);
  if (rc < 0) {
    waiter_free(w);
    return rc;
  }
  w->has_mon = true;
  /* sys:terminate's request. We wait for the DOWN only, so sys's `ok` is
   * addressed to the server itself, which dies with it unread: it can
   * never be taken for this stop's result nor linger in our mailbox. */
  rc = otpc_sendf(self, server, "{system, {~p, ~r}, {terminate, ~t}}", &server,
                  &w->mref, &reason);
  if (rc < 0) {
    otpc_demonitor(self, &w->mref, OTPC_DEMONITOR_FLUSH);
    waiter_free(w);
    return rc;
  }
  return wait_for(self, w, timeout_ms, res);
}

int otpc_gen_server_stop(otpc_proc_t *self, otpc_pid_t server,
                         otpc_term_t reason, int64_t timeout_ms,
                         otpc_gs_cont_fn cont, void *ctx) {
  if (cont == NULL)
    return OTPC_EINVAL;
  return stop(self, server, reason, timeout_ms, cont, ctx, NULL);
}

int otpc_gen_server_stop_blocking(otpc_proc_t *self, otpc_pid_t server,
                                  otpc_term_t reason, int64_t timeout_ms,
                                  otpc_gs_result_t *res) {
  if (res == NULL)
    return OTPC_EINVAL;
  return stop(self, server, reason, timeout_ms, NULL, NULL, res);
}

/* gen_server:call({Name, Node}, ...) as gen:do_call makes it: a monitor of
 * {Name, Node} whose reference is the tag, then the request by name. */
static int call_remote(otpc_proc_t *self, otpc_atom_t name, otpc_atom_t node,
                       otpc_term_t req, int64_t timeout_ms,
                       otpc_gs_cont_fn cont, void *ctx, otpc_gs_result_t *res) {
  if (self == NULL || req.p == NULL)
    return OTPC_EINVAL;
  if (node == otpc_rt_node(otpc_proc_rt(self)))
    return cont != NULL ? otpc_gen_server_call_name(self, name, req, timeout_ms,
                                                    cont, ctx)
                        : otpc_gen_server_call_name_blocking(self, name, req,
                                                             timeout_ms, res);
  waiter_t *w = waiter_new(OP_CALL, cont, ctx);
  if (w == NULL)
    return OTPC_ENOMEM;
  otpc_msg_t *m = NULL;
  otpc_pid_t me = otpc_self(self);
  int rc = otpc_monitor_remote_name(self, name, node, &w->mref);
  if (rc == 0) {
    w->has_mon = true;
    rc = otpc_msg_build(&m, NULL, "{'$gen_call', {~p, ~r}, ~t}", &me, &w->mref,
                        &req);
  }
  if (rc == 0) {
    rc = otpc_send_remote_name(self, name, node, m);
    otpc_msg_unref(m);
  }
  if (rc < 0) {
    if (w->has_mon)
      otpc_demonitor(self, &w->mref, OTPC_DEMONITOR_FLUSH);
    waiter_free(w);
    return rc;
  }
  return wait_for(self, w, timeout_ms, res);
}

int otpc_gen_server_call_remote(otpc_proc_t *self, otpc_atom_t name,
                                otpc_atom_t node, otpc_term_t req,
                                int64_t timeout_ms, otpc_gs_cont_fn cont,
                                void *ctx) {
  if (cont == NULL)
    return OTPC_EINVAL;
  return call_remote(self, name, node, req, timeout_ms, cont, ctx, NULL);
}

int otpc_gen_server_call_remote_blocking(otpc_proc_t *self, otpc_atom_t name,
                                         otpc_atom_t node, otpc_term_t req,
                                         int64_t timeout_ms,
                                         otpc_gs_result_t *res) {
  if (res == NULL)
    return OTPC_EINVAL;
  return call_remote(self, name, node, req, timeout_ms, NULL, NULL, res);
}
