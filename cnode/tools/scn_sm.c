/* The gen_statem family of otpc-scenario: the puppet state machine and
 * the gen_statem ops, as test/scenario_erl_sm.erl on the BEAM (that file
 * documents the puppet; docs/scenarios.md the ops and actions). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otpc/gen_statem.h"
#include "scn_family.h"

typedef struct on_enter {
  otpc_buf_t state, actions;
} on_enter_t;

typedef struct smp {
  otpc_pid_t ctl;
  otpc_gs_from_t *froms; /* kept by store_from, oldest first */
  size_t n_froms, cap_froms;
  on_enter_t *enter; /* {on_enter, State, Actions} */
  size_t n_enter, cap_enter;
} smp_t;

static void sm_report(otpc_sm_t *sm, smp_t *p, const char *fmt, otpc_term_t a,
                      otpc_term_t b, otpc_term_t c) {
  otpc_proc_t *self = otpc_sm_proc(sm);
  otpc_pid_t me = otpc_self(self);
  otpc_buf_t e;
  otpc_buf_init(&e);
  if (otpc_term_build(&e, NULL, fmt, &a, &b, &c) == 0) {
    otpc_term_t t = {e.data, e.len};
    otpc_sendf(self, p->ctl, "{'$ev', ~p, {cb, ~t}}", &me, &t);
  }
  otpc_buf_free(&e);
}

static int grow(void **arr, size_t *cap, size_t n, size_t size) {
  if (n < *cap)
    return 0;
  size_t c = *cap ? 2 * *cap : 4;
  void *a = realloc(*arr, c * size);
  if (a == NULL)
    return OTPC_ENOMEM;
  *arr = a;
  *cap = c;
  return 0;
}

static void set_on_enter(smp_t *p, otpc_term_t state, otpc_term_t actions) {
  on_enter_t *e = NULL;
  for (size_t i = 0; i < p->n_enter; i++)
    if (otpc_term_equal(
            (otpc_term_t){p->enter[i].state.data, p->enter[i].state.len},
            state) == 1)
      e = &p->enter[i];
  if (e == NULL) {
    if (grow((void **)&p->enter, &p->cap_enter, p->n_enter, sizeof *e) < 0)
      return;
    e = &p->enter[p->n_enter++];
    otpc_buf_init(&e->state);
    otpc_buf_init(&e->actions);
    otpc_buf_append(&e->state, state.p, state.len);
  }
  e->actions.len = 0;
  otpc_buf_append(&e->actions, actions.p, actions.len);
}

/* ms from a term: an integer or infinity. */
static int time_of(otpc_term_t t, int64_t *ms) {
  if (otpc_term_is_atom(t, "infinity")) {
    *ms = OTPC_SM_INFINITY;
    return 0;
  }
  return otpc_term_int64(t, ms) == 0 && *ms >= 0 ? 0 : OTPC_EINVAL;
}

static int type_of(otpc_term_t t, otpc_sm_type_t *type) {
  static const struct {
    const char *name;
    otpc_sm_type_t type;
  } types[] = {{"internal", OTPC_SM_INTERNAL},
               {"cast", OTPC_SM_CAST},
               {"info", OTPC_SM_INFO},
               {"timeout", OTPC_SM_TIMEOUT},
               {"state_timeout", OTPC_SM_STATE_TIMEOUT}};
  for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
    if (otpc_term_is_atom(t, types[i].name)) {
      *type = types[i].type;
      return 0;
    }
  return OTPC_EINVAL;
}

/* Runs a list of actions, in order, as the BEAM puppet builds its action
 * list. {crash, R} exits from here: nothing is allocated across the loop. */
static void sm_act_list(otpc_sm_t *sm, smp_t *p, otpc_term_t actions,
                        const otpc_gs_from_t *from) {
  otpc_iter_t it;
  otpc_term_t a, x, y, z;
  otpc_pid_t to;
  otpc_sm_type_t type;
  int64_t ms;
  size_t n;
  otpc_proc_t *self = otpc_sm_proc(sm);
  if (otpc_term_list(actions, &it, &n) != 0)
    return;
  while (otpc_iter_next(&it, &a) == 1) {
    if (otpc_term_match(a, NULL, "{next_state, ~t}", &x) == 0) {
      otpc_sm_next_state(sm, x);
    } else if (otpc_term_is_atom(a, "repeat_state")) {
      otpc_sm_repeat_state(sm);
    } else if (otpc_term_match(a, NULL, "{reply, ~t}", &x) == 0) {
      if (from != NULL)
        otpc_sm_reply(sm, from, x);
    } else if (otpc_term_is_atom(a, "store_from")) {
      if (from != NULL && grow((void **)&p->froms, &p->cap_froms, p->n_froms,
                               sizeof *p->froms) == 0)
        p->froms[p->n_froms++] = *from;
    } else if (otpc_term_match(a, NULL, "{reply_stored, ~t}", &x) == 0) {
      if (p->n_froms > 0) {
        otpc_gen_statem_reply(self, &p->froms[0], x);
        memmove(p->froms, p->froms + 1, --p->n_froms * sizeof *p->froms);
      }
    } else if (otpc_term_is_atom(a, "postpone")) {
      otpc_sm_postpone(sm);
    } else if (otpc_term_match(a, NULL, "{next_event, ~t, ~t}", &x, &y) == 0) {
      otpc_sm_event_t ev = {.content = y};
      if (type_of(x, &ev.type) == 0)
        otpc_sm_next_event(sm, &ev);
    } else if (otpc_term_match(a, NULL, "{timeout, ~t, ~t}", &x, &y) == 0) {
      if (time_of(x, &ms) == 0)
        otpc_sm_timeout(sm, ms, y);
    } else if (otpc_term_match(a, NULL, "{state_timeout, ~t, ~t}", &x, &y) ==
               0) {
      if (time_of(x, &ms) == 0)
        otpc_sm_state_timeout(sm, ms, y);
    } else if (otpc_term_match(a, NULL, "{generic_timeout, ~t, ~t, ~t}", &z, &x,
                               &y) == 0) {
      if (time_of(x, &ms) == 0)
        otpc_sm_generic_timeout(sm, z, ms, y);
    } else if (otpc_term_match(a, NULL, "{cancel, {timeout, ~t}}", &z) == 0) {
      otpc_sm_cancel_timeout(sm, OTPC_SM_GENERIC_TIMEOUT, z);
    } else if (otpc_term_match(a, NULL, "{cancel, ~t}", &x) == 0) {
      if (type_of(x, &type) == 0)
        otpc_sm_cancel_timeout(sm, type, x);
    } else if (otpc_term_match(a, NULL, "{stop, ~t}", &x) == 0) {
      otpc_sm_stop(sm, x);
    } else if (otpc_term_is_atom(a, "ignore")) {
      otpc_sm_ignore(sm);
    } else if (otpc_term_match(a, NULL, "{crash, ~t}", &x) == 0) {
      otpc_exit(self, x);
    } else if (otpc_term_match(a, NULL, "{trap_exit, ~t}", &x) == 0) {
      otpc_trap_exit(self, otpc_term_is_atom(x, "true"));
    } else if (otpc_term_match(a, NULL, "{send, ~p, ~t}", &to, &y) == 0) {
      otpc_msg_t *m;
      if (otpc_msg_from_term(y, &m) == 0) {
        otpc_send(self, to, m);
        otpc_msg_unref(m);
      }
    } else if (otpc_term_match(a, NULL, "{on_enter, ~t, ~t}", &x, &y) == 0) {
      set_on_enter(p, x, y);
    }
    /* state_enter: chosen with the class at start. */
  }
}

/* The actions an event's content asks for in `state`: {do, Actions}, or
 * {do_in, [{State, Actions}]}; none for any other content. */
static bool actions_for(otpc_term_t content, otpc_term_t state,
                        otpc_term_t *actions) {
  otpc_term_t list, e, s;
  otpc_iter_t it;
  size_t n;
  if (otpc_term_match(content, NULL, "{do, ~t}", actions) == 0)
    return true;
  if (otpc_term_match(content, NULL, "{do_in, ~t}", &list) != 0 ||
      otpc_term_list(list, &it, &n) != 0)
    return false;
  while (otpc_iter_next(&it, &e) == 1)
    if (otpc_term_match(e, NULL, "{~t, ~t}", &s, actions) == 0 &&
        otpc_term_equal(s, state) == 1)
      return true;
  return false;
}

static void handle_event(otpc_sm_t *sm, const otpc_sm_event_t *ev,
                         otpc_term_t state, void *data) {
  static const char *const names[] = {[OTPC_SM_ENTER] = "enter",
                                      [OTPC_SM_CALL] = "call",
                                      [OTPC_SM_CAST] = "cast",
                                      [OTPC_SM_INFO] = "info",
                                      [OTPC_SM_INTERNAL] = "internal",
                                      [OTPC_SM_TIMEOUT] = "timeout",
                                      [OTPC_SM_STATE_TIMEOUT] =
                                          "state_timeout"};
  smp_t *p = data;
  otpc_term_t actions;
  if (ev->type == OTPC_SM_GENERIC_TIMEOUT) {
    sm_report(sm, p, "{{timeout, ~t}, ~t, ~t}", ev->name, ev->content, state);
  } else {
    char text[64];
    snprintf(text, sizeof text, "{%s, ~t, ~t}", names[ev->type]);
    sm_report(sm, p, text, ev->content, state, state);
  }
  if (ev->type == OTPC_SM_ENTER) {
    for (size_t i = 0; i < p->n_enter; i++)
      if (otpc_term_equal(
              (otpc_term_t){p->enter[i].state.data, p->enter[i].state.len},
              state) == 1) {
        /* Copied: the entry may be replaced by an on_enter action. */
        otpc_msg_t *m;
        if (otpc_msg_from_term((otpc_term_t){p->enter[i].actions.data,
                                             p->enter[i].actions.len},
                               &m) == 0) {
          sm_act_list(sm, p, otpc_msg_term(m), NULL);
          otpc_msg_unref(m);
        }
        return;
      }
    return;
  }
  if (actions_for(ev->content, state, &actions))
    sm_act_list(sm, p, actions, ev->from);
}

static void sm_init(otpc_sm_t *sm, void *data, void *arg) {
  smp_t *p = data;
  const otpc__scn_puppet_arg_t *a = arg;
  otpc_proc_t *self = otpc_sm_proc(sm);
  otpc_pid_t me = otpc_self(self);
  p->ctl = a->ctl;
  /* First the link: whatever init does next, the controller sees the
   * exit. */
  otpc_link(self, p->ctl);
  otpc_sendf(self, p->ctl, "{'$ev', ~p, {puppet, ~A}}", &me, a->name);
  otpc_sendf(self, p->ctl, "{'$ev', ~p, {cb, {init, ~t}}}", &me, &a->script);
  sm_act_list(sm, p, a->script, NULL);
}

static void sm_terminate(otpc_sm_t *sm, otpc_term_t reason, otpc_term_t state,
                         void *data) {
  sm_report(sm, data, "{terminate, ~t, ~t}", reason, state, state);
}

static void free_data(void *data) {
  smp_t *p = data;
  free(p->froms);
  for (size_t i = 0; i < p->n_enter; i++) {
    otpc_buf_free(&p->enter[i].state);
    otpc_buf_free(&p->enter[i].actions);
  }
  free(p->enter);
}

static const otpc_gen_statem_t puppet = {
    .name = "scenario_sm_puppet",
    .data_size = sizeof(smp_t),
    .handle_event = handle_event,
    .init = sm_init,
    .terminate = sm_terminate,
    .free_data = free_data,
};

static const otpc_gen_statem_t puppet_enter = {
    .name = "scenario_sm_puppet",
    .data_size = sizeof(smp_t),
    .handle_event = handle_event,
    .state_enter = true,
    .init = sm_init,
    .terminate = sm_terminate,
    .free_data = free_data,
};

static int sm_start(otpc_proc_t *self, const void *cls, void *arg,
                    const otpc_gs_start_opts_t *opts, otpc_gs_cont_fn cont,
                    void *ctx) {
  return otpc_gen_statem_start(self, cls, arg, opts, cont, ctx);
}

int otpc__scn_sm_op(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op,
                    otpc_buf_t *res, otpc__scn_done_fn done) {
  otpc_term_t script;
  if (otpc_term_match(op, NULL, "{sm_start, _, ~t, _, _}", &script) == 0)
    return otpc__scn_start_op(
        self, ctl, op, done, sm_start,
        otpc__scn_has_atom(script, "state_enter") ? &puppet_enter : &puppet);
  if (otpc_term_match(op, NULL, "{sm_call, _, _, _}") == 0)
    return otpc__scn_call_op(self, op, done, "gen_statem", OTPC_SM_INFINITY,
                             true);
  if (otpc_term_match(op, NULL, "{sm_cast, _, _}") == 0)
    return otpc__scn_cast_op(self, op, res);
  return OTPC__SCN_NOMATCH;
}

/* The commands: as the gen_server ones, with sm_ tags. */
int otpc__scn_sm_real_op(const otpc__scn_names_t *nm, otpc_term_t op,
                         otpc_buf_t *out) {
  return otpc__scn_gs_like_real_op(nm, op, "sm_", out);
}
