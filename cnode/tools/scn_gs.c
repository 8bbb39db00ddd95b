/* The gen_server family of otpc-scenario: the puppet server and the
 * gen_server ops, as test/scenario_erl_gs.erl on the BEAM (that file
 * documents the puppet's actions; docs/scenarios.md the ops).
 *
 * The client results are the BEAM's terms: a client that exits there
 * ({noproc, {gen_server, call, Args}}, ...) gives {exit, Reason} on both
 * sides, built here from the gen_server.h statuses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otpc/gen_server.h"
#include "otpc/supervisor.h"
#include "scn_family.h"

static otpc_term_t buf_term(const otpc_buf_t *b) {
  return (otpc_term_t){b->data, b->len};
}

/* ------------------------------------------------------------- puppet */

typedef struct puppet {
  otpc_pid_t ctl;
  bool notify; /* {on_terminate, To} */
  otpc_pid_t notify_to;
  otpc_buf_t calling;    /* {call, ...}: gen_server:call's argument list */
  otpc_gs_from_t *froms; /* kept by store_from, oldest first */
  size_t n_froms, cap_froms;
} puppet_t;

enum { EXTRA_NONE, EXTRA_TIMEOUT, EXTRA_HIBERNATE, EXTRA_CONTINUE };

static void report(otpc_gs_t *gs, puppet_t *p, const char *cb, otpc_term_t t) {
  otpc_proc_t *self = otpc_gs_proc(gs);
  otpc_pid_t me = otpc_self(self);
  otpc_sendf(self, p->ctl, "{'$ev', ~p, {cb, {~a, ~t}}}", &me, cb, &t);
}

static int keep_from(puppet_t *p, const otpc_gs_from_t *from) {
  if (p->n_froms == p->cap_froms) {
    size_t cap = p->cap_froms ? 2 * p->cap_froms : 4;
    otpc_gs_from_t *f = realloc(p->froms, cap * sizeof *f);
    if (f == NULL)
      return OTPC_ENOMEM;
    p->froms = f;
    p->cap_froms = cap;
  }
  p->froms[p->n_froms++] = *from;
  return 0;
}

/* The continuation of a {call, To, Req, T} action: its result is an entry,
 * as gen_server:call's return or exit. */
static void call_done(otpc_gs_t *gs, void *state, const otpc_gs_result_t *r,
                      void *ctx) {
  (void)ctx;
  puppet_t *p = state;
  otpc_buf_t e;
  otpc_buf_init(&e);
  otpc_term_t x = r->term ? otpc_msg_term(r->term) : (otpc_term_t){0};
  otpc_term_t args = {p->calling.data, p->calling.len};
  const char *why = r->status == OTPC_GS_NOPROC    ? "noproc"
                    : r->status == OTPC_GS_TIMEOUT ? "timeout"
                                                   : NULL;
  if (r->status == OTPC_GS_OK && r->term != NULL)
    otpc_term_build(&e, NULL, "~t", &x);
  else if (why != NULL)
    otpc_term_build(&e, NULL, "{exit, {~a, {gen_server, call, ~t}}}", why,
                    &args);
  else if (r->term != NULL)
    otpc_term_build(&e, NULL, "{exit, {~t, {gen_server, call, ~t}}}", &x,
                    &args);
  report(gs, p, "call_result", (otpc_term_t){e.data, e.len});
  otpc_buf_free(&e);
}

static void call_action(otpc_gs_t *gs, puppet_t *p, otpc_term_t a) {
  otpc_pid_t to;
  otpc_term_t req, t;
  int64_t ms = -1;
  if (otpc_term_match(a, NULL, "{call, ~p, ~t, ~t}", &to, &req, &t) != 0 ||
      (!otpc_term_is_atom(t, "infinity") && otpc_term_int64(t, &ms) != 0))
    return;
  p->calling.len = 0;
  if (otpc_term_build(&p->calling, NULL, "[~p, ~t, ~t]", &to, &req, &t) == 0)
    otpc_gs_call(gs, to, req, ms, call_done, NULL);
}

/* Runs a list of actions. The last of timeout, hibernate and continue is
 * the result's last element, as a tuple has only one. {crash, R} exits
 * from here, so nothing is allocated across the loop. */
static void act_list(otpc_gs_t *gs, puppet_t *p, otpc_term_t actions,
                     const otpc_gs_from_t *from) {
  otpc_term_t a, x, y;
  otpc_iter_t it;
  size_t n;
  int64_t ms = 0;
  otpc_pid_t to;
  int extra = EXTRA_NONE;
  otpc_term_t cont = {NULL, 0};
  otpc_proc_t *self = otpc_gs_proc(gs);
  if (otpc_term_list(actions, &it, &n) != 0)
    return;
  while (otpc_iter_next(&it, &a) == 1) {
    if (otpc_term_match(a, NULL, "{reply, ~t}", &x) == 0) {
      otpc_gs_reply(gs, x);
    } else if (otpc_term_is_atom(a, "store_from")) {
      if (from != NULL)
        keep_from(p, from);
    } else if (otpc_term_match(a, NULL, "{reply_stored, ~t}", &x) == 0) {
      if (p->n_froms > 0) {
        otpc_gen_server_reply(self, &p->froms[0], x);
        memmove(p->froms, p->froms + 1, --p->n_froms * sizeof *p->froms);
      }
    } else if (otpc_term_match(a, NULL, "{stop, ~t}", &x) == 0) {
      otpc_gs_stop(gs, x);
    } else if (otpc_term_is_atom(a, "ignore")) {
      otpc_gs_ignore(gs);
    } else if (otpc_term_match(a, NULL, "{crash, ~t}", &x) == 0) {
      otpc_exit(self, x);
    } else if (otpc_term_match(a, NULL, "{timeout, ~I}", &ms) == 0) {
      extra = EXTRA_TIMEOUT;
    } else if (otpc_term_is_atom(a, "hibernate")) {
      extra = EXTRA_HIBERNATE;
    } else if (otpc_term_match(a, NULL, "{continue, ~t}", &x) == 0) {
      extra = EXTRA_CONTINUE;
      cont = x;
    } else if (otpc_term_match(a, NULL, "{trap_exit, ~t}", &x) == 0) {
      otpc_trap_exit(self, otpc_term_is_atom(x, "true"));
    } else if (otpc_term_match(a, NULL, "{on_terminate, ~p}", &to) == 0) {
      p->notify = true;
      p->notify_to = to;
    } else if (otpc_term_match(a, NULL, "{call, _, _, _}") == 0) {
      call_action(gs, p, a);
      return; /* the last action: the call's continuation ends the callback */
    } else if (otpc_term_match(a, NULL, "{send, ~p, ~t}", &to, &y) == 0) {
      otpc_msg_t *m;
      if (otpc_msg_from_term(y, &m) == 0) {
        otpc_send(self, to, m);
        otpc_msg_unref(m);
      }
    }
  }
  if (extra == EXTRA_TIMEOUT)
    otpc_gs_timeout(gs, ms);
  else if (extra == EXTRA_HIBERNATE)
    otpc_gs_hibernate(gs);
  else if (extra == EXTRA_CONTINUE)
    otpc_gs_continue(gs, cont);
}

/* The actions of a {do, Actions} term; none for any other term. */
static void act(otpc_gs_t *gs, puppet_t *p, otpc_term_t t,
                const otpc_gs_from_t *from) {
  otpc_term_t actions;
  if (otpc_term_match(t, NULL, "{do, ~t}", &actions) == 0)
    act_list(gs, p, actions, from);
}

static void p_init(otpc_gs_t *gs, void *state, void *arg) {
  puppet_t *p = state;
  const otpc__scn_puppet_arg_t *a = arg;
  otpc_proc_t *self = otpc_gs_proc(gs);
  otpc_pid_t me = otpc_self(self);
  p->ctl = a->ctl;
  /* First the link: whatever init does next, the trapping controller
   * sees the exit. */
  otpc_link(self, p->ctl);
  otpc_sendf(self, p->ctl, "{'$ev', ~p, {puppet, ~A}}", &me, a->name);
  report(gs, p, "init", a->script);
  /* The script lives in the start's context until the start returns. */
  act_list(gs, p, a->script, NULL);
}

static void p_call(otpc_gs_t *gs, void *state, otpc_term_t req,
                   const otpc_gs_from_t *from) {
  report(gs, state, "handle_call", req);
  act(gs, state, req, from);
}

static void p_cast(otpc_gs_t *gs, void *state, otpc_term_t req) {
  report(gs, state, "handle_cast", req);
  act(gs, state, req, NULL);
}

static void p_info(otpc_gs_t *gs, void *state, otpc_term_t info) {
  report(gs, state, "handle_info", info);
  act(gs, state, info, NULL);
}

static void p_continue(otpc_gs_t *gs, void *state, otpc_term_t c) {
  report(gs, state, "handle_continue", c);
  act(gs, state, c, NULL);
}

static void p_terminate(otpc_gs_t *gs, void *state, otpc_term_t reason) {
  puppet_t *p = state;
  report(gs, p, "terminate", reason);
  if (p->notify) {
    otpc_pid_t me = otpc_self(otpc_gs_proc(gs));
    otpc_sendf(otpc_gs_proc(gs), p->notify_to, "{terminated, ~p, ~t}", &me,
               &reason);
  }
}

static void p_free(void *state) {
  puppet_t *p = state;
  free(p->froms);
  otpc_buf_free(&p->calling);
}

static void p_init_dyn(otpc_gs_t *gs, void *state, void *arg) {
  const otpc_sup_dyn_arg_t *d = arg;
  otpc__scn_puppet_arg_t a = *(const otpc__scn_puppet_arg_t *)d->arg;
  otpc_iter_t it;
  size_t n;
  if (otpc_term_list(d->extra, &it, &n) == 0 && n > 0)
    otpc_iter_next(&it, &a.script);
  p_init(gs, state, &a);
}

const otpc_gen_server_t otpc__scn_gs_puppet_dyn = {
    .name = "scenario_puppet",
    .state_size = sizeof(puppet_t),
    .init = p_init_dyn,
    .handle_call = p_call,
    .handle_cast = p_cast,
    .handle_info = p_info,
    .handle_continue = p_continue,
    .terminate = p_terminate,
    .free_state = p_free,
};

const otpc_gen_server_t otpc__scn_gs_puppet = {
    .name = "scenario_puppet",
    .state_size = sizeof(puppet_t),
    .init = p_init,
    .handle_call = p_call,
    .handle_cast = p_cast,
    .handle_info = p_info,
    .handle_continue = p_continue,
    .terminate = p_terminate,
    .free_state = p_free,
};

/* ----------------------------------------------------------- helpers */

bool otpc__scn_has_atom(otpc_term_t list, const char *atom) {
  otpc_iter_t it;
  otpc_term_t e;
  size_t n;
  if (otpc_term_list(list, &it, &n) != 0)
    return false;
  while (otpc_iter_next(&it, &e) == 1)
    if (otpc_term_is_atom(e, atom))
      return true;
  return false;
}

bool otpc__scn_prop(otpc_term_t list, const char *key, otpc_term_t *value) {
  otpc_iter_t it;
  otpc_term_t e, k;
  size_t n;
  if (otpc_term_list(list, &it, &n) != 0)
    return false;
  while (otpc_iter_next(&it, &e) == 1)
    if (otpc_term_match(e, NULL, "{~t, ~t}", &k, value) == 0 &&
        otpc_term_is_atom(k, key))
      return true;
  return false;
}

int otpc__scn_cast_op(otpc_proc_t *self, otpc_term_t op, otpc_buf_t *res) {
  otpc_term_t to, msg;
  otpc_pid_t pid;
  otpc_atom_t name;
  int rc;
  if (otpc_term_match(op, NULL, "{_, ~t, ~t}", &to, &msg) != 0)
    return OTPC_EINVAL;
  if (otpc_term_pid(to, &pid) == 0)
    rc = otpc_gen_server_cast(self, pid, msg);
  else if (otpc_term_atom(to, &name) == 0)
    rc = otpc_gen_server_cast_name(self, name, msg);
  else
    rc = OTPC_EINVAL;
  return rc < 0 ? rc : otpc_term_build(res, NULL, "ok");
}

/* ---------------------------------------------------------------- ops */

/* A pending op: what its continuation needs to build the result. */
struct otpc__scn_pending {
  otpc__scn_done_fn done;
  otpc_buf_t what; /* call: {Module, call, Args}, as in the call's exits */
  otpc__scn_puppet_arg_t parg; /* start: the puppet's init argument */
  otpc_msg_t *held;            /* start: owns the script parg points into */
};
typedef otpc__scn_pending_t pending_t;

pending_t *otpc__scn_pending_new(otpc__scn_done_fn done) {
  pending_t *w = calloc(1, sizeof *w);
  if (w != NULL) {
    w->done = done;
    otpc_buf_init(&w->what);
  }
  return w;
}

void otpc__scn_pending_free(pending_t *w) {
  otpc_buf_free(&w->what);
  otpc_msg_unref(w->held);
  free(w);
}

static void finish(otpc_proc_t *self, void *state, pending_t *w,
                   otpc_buf_t *res, int rc) {
  if (rc < 0) {
    res->len = 0;
    otpc_term_build(res, NULL, "{error, op_failed}");
  }
  otpc__scn_done_fn done = w->done;
  otpc__scn_pending_free(w);
  done(self, state, buf_term(res));
}

void otpc__scn_start_cont(otpc_proc_t *self, void *state,
                          const otpc_gs_result_t *r, void *ctx) {
  otpc_buf_t res;
  otpc_buf_init(&res);
  otpc_term_t x = r->term ? otpc_msg_term(r->term) : (otpc_term_t){0};
  int rc;
  if (r->status == OTPC_GS_OK)
    rc = otpc_term_build(&res, NULL, "{ok, ~p}", &r->pid);
  else if (r->status == OTPC_GS_IGNORE)
    rc = otpc_term_build(&res, NULL, "ignore");
  else if (r->term != NULL)
    rc = otpc_term_build(&res, NULL, "{error, ~t}", &x);
  else
    rc = OTPC_EINVAL;
  finish(self, state, ctx, &res, rc);
  otpc_buf_free(&res);
}

/* A call's results, and its exits as {exit, {R, {Module, call, Args}}}. */
void otpc__scn_call_cont(otpc_proc_t *self, void *state,
                         const otpc_gs_result_t *r, void *ctx) {
  pending_t *w = ctx;
  otpc_buf_t res;
  otpc_buf_init(&res);
  otpc_term_t x = r->term ? otpc_msg_term(r->term) : (otpc_term_t){0};
  otpc_term_t what = buf_term(&w->what);
  int rc;
  switch (r->status) {
  case OTPC_GS_OK: rc = otpc_term_build(&res, NULL, "~t", &x); break;
  case OTPC_GS_NOPROC:
    rc = otpc_term_build(&res, NULL, "{exit, {noproc, ~t}}", &what);
    break;
  case OTPC_GS_TIMEOUT:
    rc = otpc_term_build(&res, NULL, "{exit, {timeout, ~t}}", &what);
    break;
  default:
    rc = r->term == NULL
             ? OTPC_EINVAL
             : otpc_term_build(&res, NULL, "{exit, {~t, ~t}}", &x, &what);
  }
  finish(self, state, w, &res, rc);
  otpc_buf_free(&res);
}

/* gen_server:stop's: ok, or it exits noproc, timeout or the other reason. */
static void stop_cont(otpc_proc_t *self, void *state, const otpc_gs_result_t *r,
                      void *ctx) {
  otpc_buf_t res;
  otpc_buf_init(&res);
  otpc_term_t x = r->term ? otpc_msg_term(r->term) : (otpc_term_t){0};
  int rc;
  switch (r->status) {
  case OTPC_GS_OK: rc = otpc_term_build(&res, NULL, "ok"); break;
  case OTPC_GS_NOPROC:
    rc = otpc_term_build(&res, NULL, "{exit, noproc}");
    break;
  case OTPC_GS_TIMEOUT:
    rc = otpc_term_build(&res, NULL, "{exit, timeout}");
    break;
  default:
    rc = r->term == NULL ? OTPC_EINVAL
                         : otpc_term_build(&res, NULL, "{exit, ~t}", &x);
  }
  finish(self, state, ctx, &res, rc);
  otpc_buf_free(&res);
}

/* A timeout term: default (gen_server's 5000, and call/2's shorter exit
 * args), infinity (-1) or milliseconds. */
static int timeout_of(otpc_term_t t, int64_t *ms, bool *is_default) {
  *is_default = otpc_term_is_atom(t, "default");
  if (*is_default) {
    *ms = 5000;
    return 0;
  }
  if (otpc_term_is_atom(t, "infinity")) {
    *ms = -1;
    return 0;
  }
  return otpc_term_int64(t, ms) == 0 && *ms >= 0 ? 0 : OTPC_EINVAL;
}

/* {Tag, Q, Script, Link, Reg}: starts a puppet named Q with `start`. */
int otpc__scn_start_op(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op,
                       otpc__scn_done_fn done, otpc__scn_start_fn start,
                       const void *cls) {
  otpc_atom_t name;
  otpc_term_t script, link, reg;
  if (otpc_term_match(op, NULL, "{_, ~a, ~t, ~t, ~t}", &name, &script, &link,
                      &reg) != 0)
    return OTPC_EINVAL;
  otpc_atom_t regname;
  otpc_gs_start_opts_t opts = {.link = otpc_term_is_atom(link, "true")};
  if (!otpc_term_is_atom(reg, "undefined")) {
    if (otpc_term_atom(reg, &regname) != 0)
      return OTPC_EINVAL;
    opts.name = otpc_atom_text(regname, NULL);
  }
  pending_t *w = otpc__scn_pending_new(done);
  if (w == NULL)
    return OTPC_ENOMEM;
  int rc = otpc_msg_from_term(script, &w->held);
  if (rc < 0) {
    otpc__scn_pending_free(w);
    return rc;
  }
  w->parg.ctl = ctl;
  w->parg.name = name;
  w->parg.script = otpc_msg_term(w->held);
  rc = start(self, cls, &w->parg, &opts, otpc__scn_start_cont, w);
  if (rc < 0) {
    otpc__scn_pending_free(w);
    return rc;
  }
  return OTPC__SCN_PENDING;
}

static int gs_start(otpc_proc_t *self, const void *cls, void *arg,
                    const otpc_gs_start_opts_t *opts, otpc_gs_cont_fn cont,
                    void *ctx) {
  return otpc_gen_server_start(self, cls, arg, opts, cont, ctx);
}

/* {Tag, To, Req, T}: a call by the gen_server protocol, its exits named
 * {module, call, Args}; `dflt_ms` and `dflt_args3` say what T = default is
 * (gen_server:call/2: 5000, Args [To, Req]; gen_statem:call/2: infinity,
 * Args [To, Req, infinity]). */
int otpc__scn_call_op(otpc_proc_t *self, otpc_term_t op, otpc__scn_done_fn done,
                      const char *module, int64_t dflt_ms, bool dflt_args3) {
  otpc_term_t to, req, t;
  otpc_pid_t pid;
  otpc_atom_t name;
  int64_t ms;
  bool dflt;
  if (otpc_term_match(op, NULL, "{_, ~t, ~t, ~t}", &to, &req, &t) != 0 ||
      timeout_of(t, &ms, &dflt) < 0)
    return OTPC_EINVAL;
  pending_t *w = otpc__scn_pending_new(done);
  if (w == NULL)
    return OTPC_ENOMEM;
  int rc;
  if (!dflt)
    rc = otpc_term_build(&w->what, NULL, "{~a, call, [~t, ~t, ~t]}", module,
                         &to, &req, &t);
  else if (dflt_args3)
    rc = otpc_term_build(&w->what, NULL, "{~a, call, [~t, ~t, infinity]}",
                         module, &to, &req);
  else
    rc = otpc_term_build(&w->what, NULL, "{~a, call, [~t, ~t]}", module, &to,
                         &req);
  if (dflt)
    ms = dflt_ms;
  if (rc == 0) {
    if (otpc_term_pid(to, &pid) == 0)
      rc = otpc_gen_server_call(self, pid, req, ms, otpc__scn_call_cont, w);
    else if (otpc_term_atom(to, &name) == 0)
      rc = otpc_gen_server_call_name(self, name, req, ms, otpc__scn_call_cont,
                                     w);
    else
      rc = OTPC_EINVAL;
  }
  if (rc < 0) {
    otpc__scn_pending_free(w);
    return rc;
  }
  return OTPC__SCN_PENDING;
}

static int op_stop(otpc_proc_t *self, otpc_term_t op, otpc_buf_t *res,
                   otpc__scn_done_fn done) {
  otpc_term_t to, reason, t;
  otpc_pid_t pid;
  otpc_atom_t name;
  int64_t ms;
  bool dflt;
  if (otpc_term_match(op, NULL, "{gs_stop, ~t, ~t, ~t}", &to, &reason, &t) !=
          0 ||
      timeout_of(t, &ms, &dflt) < 0)
    return OTPC_EINVAL;
  if (dflt)
    ms = -1; /* gen_server:stop/1 waits forever */
  if (otpc_term_pid(to, &pid) != 0) {
    /* gen:stop resolves a name first: nobody has it, noproc. */
    if (otpc_term_atom(to, &name) != 0)
      return OTPC_EINVAL;
    if (otpc_whereis(otpc_proc_rt(self), name, &pid) != 0)
      return otpc_term_build(res, NULL, "{exit, noproc}");
  }
  pending_t *w = otpc__scn_pending_new(done);
  if (w == NULL)
    return OTPC_ENOMEM;
  int rc = otpc_gen_server_stop(self, pid, reason, ms, stop_cont, w);
  if (rc < 0) {
    otpc__scn_pending_free(w);
    return rc;
  }
  return OTPC__SCN_PENDING;
}

int otpc__scn_gs_op(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op,
                    otpc_buf_t *res, otpc__scn_done_fn done) {
  if (otpc_term_match(op, NULL, "{gs_start, _, _, _, _}") == 0)
    return otpc__scn_start_op(self, ctl, op, done, gs_start,
                              &otpc__scn_gs_puppet);
  if (otpc_term_match(op, NULL, "{gs_call, _, _, _}") == 0)
    return otpc__scn_call_op(self, op, done, "gen_server", 5000, false);
  if (otpc_term_match(op, NULL, "{gs_stop, _, _, _}") == 0)
    return op_stop(self, op, res, done);
  if (otpc_term_match(op, NULL, "{gs_cast, _, _}") == 0)
    return otpc__scn_cast_op(self, op, res);
  return OTPC__SCN_NOMATCH;
}

/* ------------------------------------------------------ names resolved */

/* A target: a scenario name, or {reg, N} for the registered name N. */
int otpc__scn_target(const otpc__scn_names_t *nm, otpc_term_t t,
                     otpc_buf_t *out) {
  otpc_atom_t a;
  otpc_pid_t pid;
  int rc;
  if (otpc_term_match(t, NULL, "{reg, ~a}", &a) == 0)
    return otpc_term_build(out, NULL, "~A", a);
  if (otpc_term_atom(t, &a) != 0)
    return OTPC_EINVAL;
  if ((rc = nm->pid_of(nm->ctx, a, &pid)) < 0)
    return rc;
  return otpc_term_build(out, NULL, "~p", &pid);
}

/* The command for op: {Tag, Target, Term, Extra}, with the pieces as
 * scenario_erl_gs:real_op/2 makes them. */
static int build4(const otpc__scn_names_t *nm, otpc_buf_t *out, const char *tag,
                  otpc_term_t to, otpc_term_t term, const char *extra_fmt,
                  const otpc_term_t *extra) {
  otpc_buf_t tb, xb;
  otpc_buf_init(&tb);
  otpc_buf_init(&xb);
  int rc = otpc__scn_target(nm, to, &tb);
  if (rc == 0)
    rc = nm->real(nm->ctx, term, &xb);
  if (rc == 0) {
    otpc_term_t tt = buf_term(&tb), xt = buf_term(&xb);
    if (extra_fmt == NULL)
      rc = otpc_term_build(out, NULL, "{~a, ~t, ~t}", tag, &tt, &xt);
    else if (extra == NULL)
      rc = otpc_term_build(out, NULL, "{~a, ~t, ~t, ~a}", tag, &tt, &xt,
                           extra_fmt);
    else
      rc = otpc_term_build(out, NULL, "{~a, ~t, ~t, ~t}", tag, &tt, &xt, extra);
  }
  otpc_buf_free(&tb);
  otpc_buf_free(&xb);
  return rc;
}

/* The op's tag if it is Prefix ++ Suffix, else NULL. */
static const char *tagged(otpc_term_t op, const char *prefix,
                          const char *suffix, char *tag, size_t cap) {
  otpc_iter_t it;
  otpc_term_t first;
  size_t n;
  snprintf(tag, cap, "%s%s", prefix, suffix);
  if (otpc_term_tuple(op, &it, &n) != 0 || n < 2 ||
      otpc_iter_next(&it, &first) != 1 || !otpc_term_is_atom(first, tag))
    return NULL;
  return tag;
}

/* The commands of the gen_server-protocol ops Prefix ++ start / call /
 * cast / stop (gs_, sm_), as scenario_erl_gs:real_op/2 makes them. */
int otpc__scn_gs_like_real_op(const otpc__scn_names_t *nm, otpc_term_t op,
                              const char *prefix, otpc_buf_t *out) {
  otpc_term_t q, a, b, c;
  char tag[32];
  const char *t;
  if ((t = tagged(op, prefix, "start", tag, sizeof tag)) != NULL &&
      (otpc_term_match(op, NULL, "{_, ~t, ~t}", &q, &a) == 0 ||
       otpc_term_match(op, NULL, "{_, ~t, ~t, ~t}", &q, &a, &b) == 0)) {
    bool with_opts = otpc_term_match(op, NULL, "{_, _, _, _}") == 0;
    bool link = false;
    otpc_term_t reg = {NULL, 0};
    otpc_iter_t it;
    otpc_term_t e;
    size_t n;
    if (with_opts && otpc_term_type(b) == OTPC_T_LIST &&
        otpc_term_list(b, &it, &n) == 0)
      while (otpc_iter_next(&it, &e) == 1) {
        if (otpc_term_is_atom(e, "link"))
          link = true;
        otpc_term_match(e, NULL, "{register, ~t}", &reg);
      }
    otpc_buf_t sb;
    otpc_buf_init(&sb);
    int rc = nm->real(nm->ctx, a, &sb);
    if (rc == 0) {
      otpc_term_t st = buf_term(&sb);
      rc = reg.p != NULL
               ? otpc_term_build(out, NULL, "{~a, ~t, ~t, ~a, ~t}", t, &q, &st,
                                 link ? "true" : "false", &reg)
               : otpc_term_build(out, NULL, "{~a, ~t, ~t, ~a, undefined}", t,
                                 &q, &st, link ? "true" : "false");
    }
    otpc_buf_free(&sb);
    return rc;
  }
  if ((t = tagged(op, prefix, "call", tag, sizeof tag)) != NULL) {
    if (otpc_term_match(op, NULL, "{_, ~t, ~t}", &q, &a) == 0)
      return build4(nm, out, t, q, a, "default", NULL);
    if (otpc_term_match(op, NULL, "{_, ~t, ~t, ~t}", &q, &a, &c) == 0)
      return build4(nm, out, t, q, a, "", &c);
  }
  if ((t = tagged(op, prefix, "cast", tag, sizeof tag)) != NULL &&
      otpc_term_match(op, NULL, "{_, ~t, ~t}", &q, &a) == 0)
    return build4(nm, out, t, q, a, NULL, NULL);
  if ((t = tagged(op, prefix, "stop", tag, sizeof tag)) != NULL) {
    static const uint8_t normal[] = {119, 6, 'n', 'o', 'r', 'm', 'a', 'l'};
    if (otpc_term_match(op, NULL, "{_, ~t}", &q) == 0)
      return build4(nm, out, t, q, (otpc_term_t){normal, sizeof normal},
                    "default", NULL);
    if (otpc_term_match(op, NULL, "{_, ~t, ~t}", &q, &a) == 0)
      return build4(nm, out, t, q, a, "infinity", NULL);
    if (otpc_term_match(op, NULL, "{_, ~t, ~t, ~t}", &q, &a, &c) == 0)
      return build4(nm, out, t, q, a, "", &c);
  }
  return OTPC__SCN_NOMATCH;
}

int otpc__scn_gs_real_op(const otpc__scn_names_t *nm, otpc_term_t op,
                         otpc_buf_t *out) {
  return otpc__scn_gs_like_real_op(nm, op, "gs_", out);
}
