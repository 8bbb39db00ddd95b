/* The gen_event family of otpc-scenario: event managers, the puppet
 * ev_handler {scenario_erl_ev, Id} and the gen_event ops, as
 * test/scenario_erl_ev.erl on the BEAM (that file documents the ev_handler;
 * docs/scenarios.md the ops and actions).
 *
 * A manager runs no code of ours until a ev_handler is added, so its starter
 * announces it ({watch, Pid, Name}) before the start op returns and the
 * controller monitors it. Handler callbacks are entries {Id, Entry} of the
 * manager's trace. */
#include <stdlib.h>
#include <string.h>

#include "otpc/gen_event.h"
#include "scn_family.h"

static otpc_term_t ev_term(const otpc_buf_t *b) {
  return (otpc_term_t){b->data, b->len};
}

/* ------------------------------------------------------------ ev_handler */

typedef struct evp {
  otpc_pid_t ctl;
  otpc_buf_t id;     /* the ev_handler's Id (carried in its arguments) */
  otpc_buf_t result; /* what terminate returns; empty: ok */
} evp_t;

static const otpc_gen_event_handler_t ev_handler;

static void ev_report(otpc_ge_t *h, evp_t *p, const char *cb, otpc_term_t t) {
  otpc_proc_t *self = otpc_ge_proc(h);
  otpc_pid_t me = otpc_self(self);
  otpc_term_t id = ev_term(&p->id);
  otpc_sendf(self, p->ctl, "{'$ev', ~p, {cb, {~t, {~a, ~t}}}}", &me, &id, cb,
             &t);
}

/* Runs a list of actions. {crash, R} exits from here; what a swap builds
 * is freed before the next action. */
static void ev_act_list(otpc_ge_t *h, evp_t *p, otpc_term_t actions) {
  otpc_iter_t it;
  otpc_term_t a, x, y, z;
  otpc_pid_t to;
  size_t n;
  otpc_proc_t *self = otpc_ge_proc(h);
  if (otpc_term_list(actions, &it, &n) != 0)
    return;
  while (otpc_iter_next(&it, &a) == 1) {
    if (otpc_term_match(a, NULL, "{reply, ~t}", &x) == 0) {
      otpc_ge_reply(h, x);
    } else if (otpc_term_is_atom(a, "remove_handler")) {
      otpc_ge_remove(h);
    } else if (otpc_term_match(a, NULL, "{swap, ~t, ~t, ~t}", &x, &y, &z) ==
               0) {
      otpc_buf_t args2;
      otpc_buf_init(&args2);
      if (otpc_term_build(&args2, NULL, "{~p, ~t, ~t}", &p->ctl, &y, &z) == 0)
        otpc_ge_swap(h, x, &ev_handler, y, ev_term(&args2));
      otpc_buf_free(&args2);
    } else if (otpc_term_match(a, NULL, "{init_fail, ~t}", &x) == 0) {
      otpc_ge_init_fail(h, x);
    } else if (otpc_term_match(a, NULL, "{terminate_result, ~t}", &x) == 0) {
      p->result.len = 0;
      otpc_buf_append(&p->result, x.p, x.len);
    } else if (otpc_term_match(a, NULL, "{crash, ~t}", &x) == 0) {
      otpc_exit(self, x);
    } else if (otpc_term_match(a, NULL, "{send, ~p, ~t}", &to, &y) == 0) {
      otpc_msg_t *m;
      if (otpc_msg_from_term(y, &m) == 0) {
        otpc_send(self, to, m);
        otpc_msg_unref(m);
      }
    }
  }
}

static void ev_act(otpc_ge_t *h, evp_t *p, otpc_term_t t) {
  otpc_term_t actions;
  if (otpc_term_match(t, NULL, "{do, ~t}", &actions) == 0)
    ev_act_list(h, p, actions);
}

/* {Ctl, Id, Script}, or after a swap {{Ctl, Id, Script}, Res}. */
static void h_init(otpc_ge_t *h, void *state, otpc_term_t args) {
  evp_t *p = state;
  otpc_term_t id, script, res, shown;
  otpc_buf_t sb;
  otpc_buf_init(&sb);
  bool swapped = otpc_term_match(args, NULL, "{{~p, ~t, ~t}, ~t}", &p->ctl, &id,
                                 &script, &res) == 0;
  if (!swapped &&
      otpc_term_match(args, NULL, "{~p, ~t, ~t}", &p->ctl, &id, &script) != 0)
    return;
  otpc_buf_append(&p->id, id.p, id.len);
  shown = script;
  if (swapped && otpc_term_build(&sb, NULL, "{~t, ~t}", &script, &res) == 0)
    shown = ev_term(&sb);
  ev_report(h, p, "init", shown);
  otpc_buf_free(&sb);
  ev_act_list(h, p, script);
}

static void h_event(otpc_ge_t *h, void *state, otpc_term_t event) {
  ev_report(h, state, "handle_event", event);
  ev_act(h, state, event);
}

static void h_call(otpc_ge_t *h, void *state, otpc_term_t query) {
  ev_report(h, state, "handle_call", query);
  ev_act(h, state, query);
}

static void h_info(otpc_ge_t *h, void *state, otpc_term_t info) {
  ev_report(h, state, "handle_info", info);
  ev_act(h, state, info);
}

static void h_terminate(otpc_ge_t *h, void *state, otpc_term_t args) {
  evp_t *p = state;
  ev_report(h, p, "terminate", args);
  if (p->result.len > 0)
    otpc_ge_terminate_result(h, ev_term(&p->result));
}

static void h_free(void *state) {
  evp_t *p = state;
  otpc_buf_free(&p->id);
  otpc_buf_free(&p->result);
}

static const otpc_gen_event_handler_t ev_handler = {
    .module = "scenario_erl_ev",
    .state_size = sizeof(evp_t),
    .init = h_init,
    .handle_event = h_event,
    .handle_call = h_call,
    .handle_info = h_info,
    .terminate = h_terminate,
    .free_state = h_free,
};

/* ---------------------------------------------------------------- ops */

/* ev_start's continuation: the manager is announced before the result. */
typedef struct ev_start_ctx {
  otpc__scn_done_fn done;
  otpc_pid_t ctl;
  otpc_atom_t name;
} ev_start_ctx_t;

static void ev_start_cont(otpc_proc_t *self, void *state,
                          const otpc_gs_result_t *r, void *ctx) {
  ev_start_ctx_t sc = *(ev_start_ctx_t *)ctx;
  free(ctx);
  if (r->status == OTPC_GS_OK) {
    otpc_pid_t me = otpc_self(self);
    otpc_sendf(self, sc.ctl, "{'$ev', ~p, {watch, ~p, ~A}}", &me, &r->pid,
               sc.name);
  }
  otpc__scn_pending_t *w = otpc__scn_pending_new(sc.done);
  if (w != NULL)
    otpc__scn_start_cont(self, state, r, w);
}

static int ev_op_start(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op,
                       otpc__scn_done_fn done) {
  otpc_atom_t name, regname;
  otpc_term_t link, reg;
  if (otpc_term_match(op, NULL, "{ev_start, ~a, ~t, ~t}", &name, &link, &reg) !=
      0)
    return OTPC_EINVAL;
  otpc_ge_start_opts_t opts = {.link = otpc_term_is_atom(link, "true")};
  if (!otpc_term_is_atom(reg, "undefined")) {
    if (otpc_term_atom(reg, &regname) != 0)
      return OTPC_EINVAL;
    opts.name = otpc_atom_text(regname, NULL);
  }
  ev_start_ctx_t *sc = malloc(sizeof *sc);
  if (sc == NULL)
    return OTPC_ENOMEM;
  *sc = (ev_start_ctx_t){done, ctl, name};
  int rc = otpc_gen_event_start(self, &opts, ev_start_cont, sc);
  if (rc < 0) {
    free(sc);
    return rc;
  }
  return OTPC__SCN_PENDING;
}

/* The manager of an op: a pid, or a registered name resolved now. */
static int manager(otpc_proc_t *self, otpc_term_t t, otpc_pid_t *mgr) {
  otpc_atom_t name;
  if (otpc_term_pid(t, mgr) == 0)
    return 0;
  if (otpc_term_atom(t, &name) != 0)
    return OTPC_EINVAL;
  return otpc_whereis(otpc_proc_rt(self), name, mgr);
}

/* The op's tag starts with ev_; *target is its second element. */
static bool is_ev_op(otpc_term_t op, otpc_term_t *target) {
  otpc_iter_t it;
  otpc_term_t tag;
  otpc_atom_t a;
  size_t n;
  return otpc_term_tuple(op, &it, &n) == 0 && n >= 2 &&
         otpc_iter_next(&it, &tag) == 1 && otpc_term_atom(tag, &a) == 0 &&
         strncmp(otpc_atom_text(a, NULL), "ev_", 3) == 0 &&
         otpc_iter_next(&it, target) == 1;
}

int otpc__scn_ev_op(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op,
                    otpc_buf_t *res, otpc__scn_done_fn done) {
  otpc_term_t m, a, b, c, d;
  otpc_pid_t mgr;
  otpc_buf_t x, y;
  int rc;
  if (!is_ev_op(op, &m))
    return OTPC__SCN_NOMATCH;
  if (otpc_term_match(op, NULL, "{ev_start, _, _, _}") == 0)
    return ev_op_start(self, ctl, op, done);
  if (otpc_term_match(op, NULL, "{ev_notify, ~t, ~t}", &m, &a) == 0) {
    if ((rc = manager(self, m, &mgr)) < 0 ||
        (rc = otpc_gen_event_notify(self, mgr, a, NULL, NULL)) < 0)
      return rc;
    return otpc_term_build(res, NULL, "ok");
  }
  bool which = otpc_term_match(op, NULL, "{ev_which, _}") == 0;
  otpc__scn_pending_t *w = otpc__scn_pending_new(done);
  if (w == NULL)
    return OTPC_ENOMEM;
  otpc_buf_init(&x);
  otpc_buf_init(&y);
  rc = manager(self, m, &mgr);
  otpc_gs_cont_fn k = otpc__scn_call_cont;
  if (rc < 0) {
    /* nothing */
  } else if (which) {
    rc = otpc_gen_event_which_handlers(self, mgr, k, w);
  } else if (otpc_term_match(op, NULL, "{ev_sync_notify, _, ~t}", &a) == 0) {
    rc = otpc_gen_event_sync_notify(self, mgr, a, k, w);
  } else if (otpc_term_match(op, NULL, "{ev_add, _, ~t, ~t}", &a, &b) == 0 ||
             otpc_term_match(op, NULL, "{ev_add_sup, _, ~t, ~t}", &a, &b) ==
                 0) {
    if ((rc = otpc_term_build(&x, NULL, "{~p, ~t, ~t}", &ctl, &a, &b)) == 0)
      rc = otpc_term_match(op, NULL, "{ev_add, _, _, _}") == 0
               ? otpc_gen_event_add_handler(self, mgr, &ev_handler, a,
                                            ev_term(&x), k, w)
               : otpc_gen_event_add_sup_handler(self, mgr, &ev_handler, a,
                                                ev_term(&x), k, w);
  } else if (otpc_term_match(op, NULL, "{ev_call, _, ~t, ~t}", &a, &b) == 0) {
    if ((rc = otpc_term_build(&x, NULL, "{scenario_erl_ev, ~t}", &a)) == 0)
      rc = otpc_gen_event_call(self, mgr, ev_term(&x), b, 5000, k, w);
  } else if (otpc_term_match(op, NULL, "{ev_delete, _, ~t, ~t}", &a, &b) == 0) {
    if ((rc = otpc_term_build(&x, NULL, "{scenario_erl_ev, ~t}", &a)) == 0)
      rc = otpc_gen_event_delete_handler(self, mgr, ev_term(&x), b, k, w);
  } else if (otpc_term_match(op, NULL, "{ev_swap, _, ~t, ~t, ~t, ~t}", &a, &b,
                             &c, &d) == 0) {
    if ((rc = otpc_term_build(&x, NULL, "{scenario_erl_ev, ~t}", &a)) == 0 &&
        (rc = otpc_term_build(&y, NULL, "{~p, ~t, ~t}", &ctl, &c, &d)) == 0)
      rc = otpc_gen_event_swap_handler(self, mgr, ev_term(&x), b, &ev_handler,
                                       c, ev_term(&y), k, w);
  } else {
    rc = OTPC__SCN_NOMATCH;
  }
  otpc_buf_free(&x);
  otpc_buf_free(&y);
  if (rc != 0) {
    otpc__scn_pending_free(w);
    return rc;
  }
  return OTPC__SCN_PENDING;
}

/* ------------------------------------------------------ names resolved */

/* {Tag, Target, Rest...}: the target resolved (a scenario name or
 * {reg, N}), the rest with {pid, P} and {ref, R} replaced. */
int otpc__scn_ev_real_op(const otpc__scn_names_t *nm, otpc_term_t op,
                         otpc_buf_t *out) {
  otpc_iter_t it;
  otpc_term_t e, tag, q, opts, reg, orig_t;
  size_t n;
  if (!is_ev_op(op, &orig_t))
    return OTPC__SCN_NOMATCH;
  if (otpc_term_match(op, NULL, "{ev_start, ~t}", &q) == 0)
    return otpc_term_build(out, NULL, "{ev_start, ~t, false, undefined}", &q);
  if (otpc_term_match(op, NULL, "{ev_start, ~t, ~t}", &q, &opts) == 0) {
    otpc_iter_t oi;
    size_t on;
    bool link = false, named = false;
    if (otpc_term_list(opts, &oi, &on) == 0)
      while (otpc_iter_next(&oi, &e) == 1) {
        link = link || otpc_term_is_atom(e, "link");
        named = named || otpc_term_match(e, NULL, "{register, ~t}", &reg) == 0;
      }
    return named ? otpc_term_build(out, NULL, "{ev_start, ~t, ~a, ~t}", &q,
                                   link ? "true" : "false", &reg)
                 : otpc_term_build(out, NULL, "{ev_start, ~t, ~a, undefined}",
                                   &q, link ? "true" : "false");
  }
  /* Rewrite the whole op, then put the target in: element 2. */
  otpc_buf_t all;
  otpc_buf_init(&all);
  int rc = nm->real(nm->ctx, op, &all);
  otpc_term_t r = ev_term(&all), t, rest[4];
  if (rc == 0 && otpc_term_tuple(r, &it, &n) == 0 && n <= 6) {
    otpc_iter_next(&it, &tag);
    otpc_iter_next(&it, &t);
    for (size_t i = 0; i + 2 < n; i++)
      otpc_iter_next(&it, &rest[i]);
    otpc_buf_t tb;
    otpc_buf_init(&tb);
    rc = otpc__scn_target(nm, orig_t, &tb);
    t = ev_term(&tb);
    if (rc == 0) {
      switch (n) {
      case 2: rc = otpc_term_build(out, NULL, "{~t, ~t}", &tag, &t); break;
      case 3:
        rc = otpc_term_build(out, NULL, "{~t, ~t, ~t}", &tag, &t, &rest[0]);
        break;
      case 4:
        rc = otpc_term_build(out, NULL, "{~t, ~t, ~t, ~t}", &tag, &t, &rest[0],
                             &rest[1]);
        break;
      case 6:
        rc = otpc_term_build(out, NULL, "{~t, ~t, ~t, ~t, ~t, ~t}", &tag, &t,
                             &rest[0], &rest[1], &rest[2], &rest[3]);
        break;
      default: rc = OTPC_EINVAL;
      }
    }
    otpc_buf_free(&tb);
  } else if (rc == 0) {
    rc = OTPC_EINVAL;
  }
  otpc_buf_free(&all);
  return rc;
}
