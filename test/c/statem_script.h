/* The scripted gen_statem shared by test_gen_statem.c and probe_behaviours.c
 * (whose traces statem_SUITE compares with OTP's gen_statem running the
 * same scripts, test/statem_ref.erl): every callback reports {Type,
 * Content, State} to a control process, and events carry the actions to
 * take as a list. The includer defines SM_SCRIPT_CHECK(expr) (an
 * expression that must be 0). */
#ifndef OTPC_TEST_STATEM_SCRIPT_H
#define OTPC_TEST_STATEM_SCRIPT_H

#include <string.h>

#include "otpc/gen_statem.h"

typedef struct m_arg {
  otpc_pid_t ctl;
  otpc_term_t
      init; /* ignore | {stop, R} | none | crash | [Actions] (state a) */
} m_arg_t;

typedef struct m_data {
  otpc_pid_t ctl;
  otpc_buf_t enter; /* [{State, Actions}]: what enter calls do */
  otpc_gs_from_t saved;
} m_data_t;

static int64_t ms_of(otpc_term_t t) {
  int64_t ms;
  if (otpc_term_int64(t, &ms) == 0)
    return ms;
  return otpc_term_is_atom(t, "update") == 1 ? OTPC_SM_UPDATE
                                             : OTPC_SM_INFINITY;
}

static otpc_sm_type_t type_of(otpc_term_t t) {
  if (otpc_term_is_atom(t, "cast") == 1)
    return OTPC_SM_CAST;
  if (otpc_term_is_atom(t, "info") == 1)
    return OTPC_SM_INFO;
  return OTPC_SM_INTERNAL;
}

/* Acts on a list of actions, in order. */
static void run(otpc_sm_t *sm, m_data_t *d, const otpc_sm_event_t *ev,
                otpc_term_t acts) {
  otpc_iter_t it;
  size_t n;
  if (otpc_term_list(acts, &it, &n) != 0)
    return;
  otpc_term_t a, x, y, z;
  otpc_proc_t *self = otpc_sm_proc(sm);
  while (otpc_iter_next(&it, &a) == 1) {
    if (otpc_term_match(a, NULL, "{next, ~t}", &x) == 0) {
      otpc_sm_next_state(sm, x);
    } else if (otpc_term_is_atom(a, "repeat") == 1) {
      otpc_sm_repeat_state(sm);
    } else if (otpc_term_is_atom(a, "postpone") == 1) {
      otpc_sm_postpone(sm);
    } else if (otpc_term_is_atom(a, "hibernate") == 1) {
      otpc_sm_hibernate(sm);
    } else if (otpc_term_match(a, NULL, "{reply, ~t}", &x) == 0) {
      if (ev->from != NULL)
        SM_SCRIPT_CHECK(otpc_sm_reply(sm, ev->from, x));
    } else if (otpc_term_is_atom(a, "save") == 1) {
      d->saved = *ev->from; /* replied later, by {release, R} */
    } else if (otpc_term_match(a, NULL, "{release, ~t}", &x) == 0) {
      SM_SCRIPT_CHECK(otpc_sm_reply(sm, &d->saved, x));
    } else if (otpc_term_match(a, NULL, "{ev, ~t, ~t}", &x, &y) == 0) {
      otpc_sm_event_t e = {type_of(x), y, NULL, {NULL, 0}};
      otpc_sm_next_event(sm, &e);
    } else if (otpc_term_match(a, NULL, "{timeout, ~t, ~t}", &x, &y) == 0) {
      SM_SCRIPT_CHECK(otpc_sm_timeout(sm, ms_of(x), y));
    } else if (otpc_term_match(a, NULL, "{state_timeout, ~t, ~t}", &x, &y) ==
               0) {
      SM_SCRIPT_CHECK(otpc_sm_state_timeout(sm, ms_of(x), y));
    } else if (otpc_term_match(a, NULL, "{gtimeout, ~t, ~t, ~t}", &z, &x, &y) ==
               0) {
      SM_SCRIPT_CHECK(otpc_sm_generic_timeout(sm, z, ms_of(x), y));
    } else if (otpc_term_match(a, NULL, "{cancel, ~t}", &x) == 0) {
      otpc_sm_type_t t = otpc_term_is_atom(x, "timeout") == 1
                             ? OTPC_SM_TIMEOUT
                             : OTPC_SM_STATE_TIMEOUT;
      SM_SCRIPT_CHECK(otpc_sm_cancel_timeout(sm, t, (otpc_term_t){0}));
    } else if (otpc_term_match(a, NULL, "{gcancel, ~t}", &x) == 0) {
      SM_SCRIPT_CHECK(otpc_sm_cancel_timeout(sm, OTPC_SM_GENERIC_TIMEOUT, x));
    } else if (otpc_term_match(a, NULL, "{stop, ~t}", &x) == 0) {
      otpc_sm_stop(sm, x);
    } else if (otpc_term_is_atom(a, "crash") == 1) {
      otpc_exitf(self, "boom");
    } else if (otpc_term_match(a, NULL, "{send, ~t}", &x) == 0) {
      otpc_sendf(self, d->ctl, "~t", &x);
    } else if (otpc_term_match(a, NULL, "{set_enter, ~t}", &x) == 0) {
      d->enter.len = 0;
      otpc_buf_append(&d->enter, x.p, x.len);
    }
  }
}

static const char *const type_names[] = {
    "enter", "call", "cast", "info", "internal", "timeout", "state_timeout"};

static void m_event(otpc_sm_t *sm, const otpc_sm_event_t *ev, otpc_term_t state,
                    void *data) {
  m_data_t *d = data;
  otpc_proc_t *self = otpc_sm_proc(sm);
  if (ev->type == OTPC_SM_GENERIC_TIMEOUT)
    otpc_sendf(self, d->ctl, "{{timeout, ~t}, ~t, ~t}", &ev->name, &ev->content,
               &state);
  else
    otpc_sendf(self, d->ctl, "{~a, ~t, ~t}", type_names[ev->type], &ev->content,
               &state);
  if (ev->type == OTPC_SM_ENTER) {
    otpc_term_t list = {d->enter.data, d->enter.len}, e, acts;
    otpc_iter_t it;
    size_t n;
    if (list.len > 0 && otpc_term_list(list, &it, &n) == 0)
      while (otpc_iter_next(&it, &e) == 1)
        if (otpc_term_match(e, NULL, "{_, ~t}", &acts) == 0) {
          otpc_term_t s;
          otpc_term_element(e, 0, &s);
          if (otpc_term_compare(s, state) == 0)
            run(sm, d, ev, acts);
        }
    return;
  }
  run(sm, d, ev, ev->content);
}

static void m_init(otpc_sm_t *sm, void *data, void *arg) {
  m_data_t *d = data;
  const m_arg_t *a = arg;
  d->ctl = a->ctl;
  otpc_buf_init(&d->enter);
  otpc_term_t t = a->init, r;
  if (otpc_term_is_atom(t, "ignore") == 1) {
    otpc_sm_ignore(sm);
  } else if (otpc_term_match(t, NULL, "{stop, ~t}", &r) == 0) {
    otpc_sm_stop(sm, r);
  } else if (otpc_term_is_atom(t, "crash") == 1) {
    otpc_exitf(otpc_sm_proc(sm), "init_crashed");
  } else if (otpc_term_is_atom(t, "none") != 1) {
    otpc_sm_next_statef(sm, "a");
    otpc_sm_event_t none = {OTPC_SM_INTERNAL, t, NULL, {NULL, 0}};
    run(sm, d, &none, t);
  }
}

static void m_terminate(otpc_sm_t *sm, otpc_term_t reason, otpc_term_t state,
                        void *data) {
  m_data_t *d = data;
  otpc_sendf(otpc_sm_proc(sm), d->ctl, "{terminate, ~t, ~t}", &reason, &state);
}

static void m_free(void *data) {
  m_data_t *d = data;
  otpc_buf_free(&d->enter);
}

static const otpc_gen_statem_t m_plain = {"m",    sizeof(m_data_t), NULL,
                                          0,      m_event,          false,
                                          m_init, m_terminate,      m_free};
static const otpc_gen_statem_t m_enter = {
    "m", sizeof(m_data_t), NULL, 0, m_event, true, m_init, m_terminate, m_free};
/* state_functions: states a and b only. */
static const otpc_sm_state_t ab[] = {{"a", m_event}, {"b", m_event}};
static const otpc_gen_statem_t m_funs = {
    "m", sizeof(m_data_t), ab, 2, NULL, true, m_init, m_terminate, m_free};

#endif
