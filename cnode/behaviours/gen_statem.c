/* gen_statem over the process runtime, following OTP 25's gen_statem.erl
 * step by step: an event (from the mailbox, or the queue of inserted and
 * retried events) runs the state callback; its actions are read (replies
 * go out at once); a state enter call follows a state change or
 * repeat_state; then the transition: the event is postponed or consumed,
 * postponed events are requeued on a state change, the event (and, on a
 * state change, the state) timeout is cancelled, the timeout actions run
 * (the last of a type wins), and inserted events go to the queue's front.
 * The queue is drained, then zero timeouts fire, before the next message.
 * Only include/otpc/process.h and the shared gen clients are used. */
#include "otpc/gen_statem.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "gen_statem_int.h"

/* ---------------------------------------------------------- the loop */

static void reset_cb(otpc_sm_t *sm) {
  sm->has_next = sm->repeat = sm->stop = sm->ignore = false;
  sm->next.len = sm->reason.len = 0;
}

static void reset_actions(otpc_sm_t *sm) {
  sm->postpone = false;
  otpc__sm_evq_free(&sm->nexts);
  for (size_t i = 0; i < sm->nta; i++)
    otpc_msg_unref(sm->ta[i].nm);
  sm->nta = 0;
  for (size_t i = 0; i < sm->nrep; i++)
    otpc_msg_unref(sm->rep[i].reply);
  sm->nrep = 0;
  otpc_msg_unref(sm->bad);
  sm->bad = NULL;
}

/* Sends the first n replies and drops them all. */
static void send_replies(otpc_sm_t *sm, size_t n) {
  for (size_t i = 0; i < sm->nrep; i++) {
    if (i < n)
      otpc_gen_server_reply(sm->self, &sm->rep[i].from,
                            otpc_msg_term(sm->rep[i].reply));
    otpc_msg_unref(sm->rep[i].reply);
  }
  sm->nrep = 0;
}

/* terminate(Reason, State, Data) once, then exit. */
/* terminate(Reason, State, Data) once, then exit. `state` is the one OTP
 * passes: the state being processed for a callback's result, the committed
 * one otherwise. An error-class stop (a bad result or action, undef) exits
 * as OTP's erlang:raise(error, ...) does, with {Reason, Stacktrace}: ours
 * is [], there being no Erlang stack to show. */
_Noreturn static void stop_as(otpc_sm_t *sm, otpc_term_t reason,
                              otpc_term_t state, bool error_class) {
  if (!sm->terminated) {
    sm->terminated = true;
    if (sm->cls->terminate != NULL) {
      sm->in_cb = true;
      sm->cls->terminate(sm, reason, state, sm->data);
      sm->in_cb = false;
    }
  }
  if (error_class)
    otpc_exitf(sm->self, "{~t, []}", &reason);
  otpc_exit(sm->self, reason);
}

_Noreturn static void stop_now(otpc_sm_t *sm, otpc_term_t reason) {
  stop_as(sm, reason, buf_term(&sm->state), false);
}

/* A bad action or result: the replies before it went out, as OTP's walk
 * of the action list sent them. */
_Noreturn static void stop_bad(otpc_sm_t *sm) {
  send_replies(sm, sm->replies_before_bad);
  /* sm->bad stays referenced until the process is freed: the exit copies
   * the reason. */
  stop_as(sm, otpc_msg_term(sm->bad), buf_term(&sm->nstate), true);
}

static otpc_sm_fn lookup_fn(const otpc_sm_t *sm, otpc_term_t state) {
  const otpc_gen_statem_t *c = sm->cls;
  if (c->states == NULL)
    return c->handle_event;
  for (size_t i = 0; i < c->nstates; i++)
    if (c->states[i].state != NULL &&
        otpc_term_is_atom(state, c->states[i].state) == 1)
      return c->states[i].fn;
  return NULL;
}

/* Runs the callback of `state` for ev (type, content, from, name). */
static void run_cb(otpc_sm_t *sm, int cb, otpc_sm_fn fn, otpc_term_t state,
                   const ev_t *e) {
  otpc_sm_event_t ev = {e->type, e->content, NULL, {NULL, 0}};
  if (e->type == OTPC_SM_CALL) {
    otpc_term_t tag;
    if (otpc_term_match(e->from, NULL, "{~p, ~t}", &sm->from.pid, &tag) == 0 &&
        tag.len <= OTPC_GS_TAG_MAX) {
      sm->from.tag_len = tag.len;
      memcpy(sm->from.tag, tag.p, tag.len);
    } else {
      sm->from.tag_len = 0;
    }
    ev.from = &sm->from;
  } else if (e->type == OTPC_SM_GENERIC_TIMEOUT) {
    ev.name = e->name;
  }
  reset_cb(sm);
  sm->cb = cb;
  sm->in_cb = true;
  fn(sm, &ev, state, sm->data);
  sm->in_cb = false;
  sm->cb = CB_NONE;
}

/* Module:State/3 not exported: OTP's undef (without a stack trace). */
_Noreturn static void stop_undef(otpc_sm_t *sm) {
  static const uint8_t undef[] = {119, 5, 'u', 'n', 'd', 'e', 'f'};
  /* An exception: OTP's terminate gets the committed state. */
  stop_as(sm, (otpc_term_t){undef, sizeof undef}, buf_term(&sm->state), true);
}

/* After a state callback: the result, then the replies. Returns whether a
 * state enter call is due. */
static bool read_result(otpc_sm_t *sm, bool state_call) {
  if (sm->stop) {
    /* {stop, R} / {stop_and_reply, R, Replies}: replies, then terminate. */
    send_replies(sm, sm->nrep);
    stop_as(sm, buf_term(&sm->reason), buf_term(&sm->nstate), false);
  }
  if (sm->bad != NULL)
    stop_bad(sm);
  bool enter = false;
  if (sm->has_next) {
    otpc_term_t n = buf_term(&sm->next);
    if (!term_same(n, buf_term(&sm->nstate))) {
      if (!state_call) {
        otpc__sm_set_bad(sm,
                         "{bad_state_enter_return_from_state_function, "
                         "{next_state, ~t}}",
                         &n);
        stop_bad(sm);
      }
      /* Swap: nstate takes the new state. */
      otpc_buf_t t = sm->nstate;
      sm->nstate = sm->next;
      sm->next = t;
      enter = true;
    }
    /* The same state: {next_state, S, D} is keep_state, no enter call. */
  }
  if (sm->repeat)
    enter = true;
  send_replies(sm, sm->nrep);
  return enter && sm->cls->state_enter;
}

static tmr_t *find_timer(otpc_sm_t *sm, otpc_sm_type_t kind, otpc_term_t name) {
  for (size_t i = 0; i < sm->ntm; i++) {
    tmr_t *t = &sm->tm[i];
    if (t->kind != kind)
      continue;
    if (kind != OTPC_SM_GENERIC_TIMEOUT)
      return t;
    otpc_term_t n;
    otpc_term_element(otpc_msg_term(t->nm), 0, &n);
    if (term_same(n, name))
      return t;
  }
  return NULL;
}

static void cancel_timer(otpc_sm_t *sm, tmr_t *t) {
  if (t == NULL)
    return;
  if (t->st == T_RUNNING)
    (void)otpc_cancel_timer(otpc_proc_rt(sm->self), &t->tref, NULL);
  t->st = T_NONE;
  otpc_msg_unref(t->nm);
  t->nm = NULL;
  /* Fill the hole with the last: timers have no order among them. */
  *t = sm->tm[--sm->ntm];
}

static tmr_t *new_timer(otpc_sm_t *sm, otpc_sm_type_t kind) {
  tmr_t *tm = otpc__grow(sm->tm, &sm->captm, sm->ntm, sizeof *tm, 4);
  if (tm == NULL)
    otpc_exitf(sm->self, "enomem");
  sm->tm = tm;
  tmr_t *t = &sm->tm[sm->ntm++];
  memset(t, 0, sizeof *t);
  t->kind = kind;
  return t;
}

/* Starts (or restarts) a timer: the message is moved into it. */
static void start_timer(otpc_sm_t *sm, tmr_t *t, int64_t ms, otpc_msg_t *nm) {
  if (t->st == T_RUNNING)
    (void)otpc_cancel_timer(otpc_proc_rt(sm->self), &t->tref, NULL);
  otpc_msg_unref(t->nm);
  t->nm = nm;
  t->gen = ++sm->next_gen;
  if (ms == 0) {
    t->st = T_ZERO;
    t->t0order = ++sm->next_t0;
    return;
  }
  otpc_msg_t *m = NULL;
  if (otpc_msg_build(&m, NULL, "{'$otpc_sm_timeout', ~U}", t->gen) < 0 ||
      otpc_send_after(otpc_proc_rt(sm->self), (uint64_t)ms, otpc_self(sm->self),
                      m, &t->tref) < 0) {
    otpc_msg_unref(m);
    otpc_exitf(sm->self, "{timer_failed, ~a}", otpc__sm_type_name(t->kind));
  }
  otpc_msg_unref(m);
  t->st = T_RUNNING;
}

/* The timeout actions, as loop_timeouts: the last action of each type
 * counts (the walk goes backwards and skips types seen); zero timeouts
 * queue after those already queued, in the order of their actions. */
static void run_timeouts(otpc_sm_t *sm) {
  size_t n = sm->nta;
  for (size_t k = n; k-- > 0;) {
    tact_t *a = &sm->ta[k];
    otpc_term_t name;
    otpc_term_element(otpc_msg_term(a->nm), 0, &name);
    bool seen = false;
    for (size_t j = k + 1; j < n && !seen; j++) {
      otpc_term_t n2;
      otpc_term_element(otpc_msg_term(sm->ta[j].nm), 0, &n2);
      seen = sm->ta[j].kind == a->kind &&
             (a->kind != OTPC_SM_GENERIC_TIMEOUT || term_same(name, n2));
    }
    if (seen)
      continue;
    tmr_t *t = find_timer(sm, a->kind, name);
    if (a->ms == OTPC_SM_INFINITY) {
      cancel_timer(sm, t);
    } else if (a->ms == OTPC_SM_UPDATE && t != NULL) {
      /* A new message for the running timer, which keeps its time. */
      otpc_msg_unref(t->nm);
      t->nm = otpc_msg_ref(a->nm);
    } else {
      if (t == NULL)
        t = new_timer(sm, a->kind);
      /* update with no timer running: a zero timeout with the message. */
      int64_t ms = a->ms == OTPC_SM_UPDATE ? 0 : a->ms;
      start_timer(sm, t, ms, otpc_msg_ref(a->nm));
      a->zero = ms == 0;
    }
  }
  for (size_t k = 0; k < n; k++) {
    tact_t *a = &sm->ta[k];
    if (a->zero) {
      otpc_term_t name;
      otpc_term_element(otpc_msg_term(a->nm), 0, &name);
      tmr_t *t = find_timer(sm, a->kind, name);
      if (t != NULL)
        t->t0order = ++sm->next_t0;
    }
    otpc_msg_unref(a->nm);
  }
  sm->nta = 0;
}

static void set_state_fn(otpc_sm_t *sm) {
  sm->state_fn = lookup_fn(sm, buf_term(&sm->state));
}

/* loop_state_transition to loop_done: `e` has been handled. */
static void transition(otpc_sm_t *sm, ev_t *e) {
  sm->cur_msg = NULL;
  if (e->msg != NULL) {
    if (sm->postpone) {
      if (otpc__sm_evq_push(&sm->postponed, *e) < 0)
        otpc_exitf(sm->self, "enomem");
    } else {
      otpc_msg_unref(e->msg);
    }
    e->msg = NULL;
  }
  otpc_term_t none = {NULL, 0};
  if (term_same(buf_term(&sm->nstate), buf_term(&sm->state))) {
    cancel_timer(sm, find_timer(sm, OTPC_SM_TIMEOUT, none));
  } else {
    /* A state change: the postponed events are retried, first. */
    if (otpc__sm_evq_prepend(&sm->q, &sm->postponed) < 0)
      otpc_exitf(sm->self, "enomem");
    cancel_timer(sm, find_timer(sm, OTPC_SM_STATE_TIMEOUT, none));
    cancel_timer(sm, find_timer(sm, OTPC_SM_TIMEOUT, none));
    otpc_buf_t t = sm->state;
    sm->state = sm->nstate;
    sm->nstate = t;
    set_state_fn(sm);
  }
  run_timeouts(sm);
  /* Inserted events go before everything, in the order given. */
  if (otpc__sm_evq_prepend(&sm->q, &sm->nexts) < 0)
    otpc_exitf(sm->self, "enomem");
}

/* Enter calls after a state change or repeat_state, as loop_state_enter:
 * (enter, OldState) to the function of the state entered. */
static void run_enters(otpc_sm_t *sm, bool enter) {
  while (enter) {
    otpc_term_t ns = buf_term(&sm->nstate);
    otpc_sm_fn fn = lookup_fn(sm, ns);
    if (fn == NULL)
      stop_undef(sm);
    ev_t e = {OTPC_SM_ENTER, NULL, buf_term(&sm->state), {NULL, 0}, {NULL, 0}};
    run_cb(sm, CB_ENTER, fn, ns, &e);
    enter = read_result(sm, false);
  }
}

/* One event, owned by the call, through its callbacks and transition. */
static void run_event(otpc_sm_t *sm, ev_t *e) {
  sm->cur_msg = e->msg;
  reset_actions(sm);
  if (copy_term(&sm->nstate, buf_term(&sm->state)) < 0)
    otpc_exitf(sm->self, "enomem");
  otpc_sm_fn fn = sm->state_fn;
  if (fn == NULL)
    stop_undef(sm);
  run_cb(sm, CB_EVENT, fn, buf_term(&sm->state), e);
  run_enters(sm, read_result(sm, true));
  transition(sm, e);
}

/* loop_done: the queue first, then the zero timeouts, then the mailbox. */
static void drain(otpc_sm_t *sm);

static void drain_step(otpc_proc_t *self, void *state, void *ctx) {
  (void)self;
  (void)ctx;
  drain(state);
}

/* Inserted events and zero timeouts come before the mailbox, so a machine
 * may go on without reading a message (as on OTP, where reductions
 * preempt it). After this many, it yields: other processes run and exit
 * signals reach it, and the queue goes on before the next message. */
#define DRAIN_BUDGET 64

static void drain(otpc_sm_t *sm) {
  for (int n = 0;; n++) {
    ev_t e;
    if (n == DRAIN_BUDGET && (sm->q.len > 0 || sm->ntm > 0)) {
      if (otpc_yield(sm->self, drain_step, NULL) == 0)
        return;
    }
    if (otpc__sm_evq_pop(&sm->q, &e)) {
      run_event(sm, &e);
      continue;
    }
    tmr_t *z = NULL;
    for (size_t i = 0; i < sm->ntm; i++)
      if (sm->tm[i].st == T_ZERO &&
          (z == NULL || sm->tm[i].t0order < z->t0order))
        z = &sm->tm[i];
    if (z == NULL)
      return;
    e.type = z->kind;
    e.msg = otpc_msg_ref(z->nm);
    otpc_term_t t = otpc_msg_term(e.msg);
    otpc_term_element(t, 0, &e.name);
    otpc_term_element(t, 1, &e.content);
    e.from = (otpc_term_t){NULL, 0};
    cancel_timer(sm, z);
    run_event(sm, &e);
  }
}

static bool pid_eq(otpc_pid_t a, otpc_pid_t b) {
  return a.node == b.node && a.id == b.id && a.serial == b.serial &&
         a.creation == b.creation;
}

/* A message from the mailbox, as loop_receive. */
static void sm_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)self;
  otpc_sm_t *sm = state;
  otpc_term_t t = otpc_msg_term(msg), a, b, c;
  otpc_iter_t it;
  size_t n = 0;
  ev_t e = {OTPC_SM_INFO, msg, t, {NULL, 0}, {NULL, 0}};
  if (otpc_term_tuple(t, &it, &n) == 0 && n >= 2 && n <= 3) {
    otpc_iter_next(&it, &a);
    otpc_iter_next(&it, &b);
    if (n == 3)
      otpc_iter_next(&it, &c);
    if (n == 3 && otpc_term_is_atom(a, "$gen_call") == 1) {
      e.type = OTPC_SM_CALL;
      e.from = b;
      e.content = c;
    } else if (n == 2 && otpc_term_is_atom(a, "$gen_cast") == 1) {
      e.type = OTPC_SM_CAST;
      e.content = b;
    } else if (n == 2 && otpc_term_is_atom(a, "$otpc_sm_timeout") == 1) {
      uint64_t gen = 0;
      (void)otpc_term_uint64(b, &gen);
      tmr_t *tm = NULL;
      for (size_t i = 0; i < sm->ntm && tm == NULL; i++)
        if (sm->tm[i].st == T_RUNNING && sm->tm[i].gen == gen)
          tm = &sm->tm[i];
      if (tm == NULL)
        return;        /* fired while cancelled: OTP flushes it */
      tm->st = T_NONE; /* fired: nothing to cancel */
      e.type = tm->kind;
      e.msg = otpc_msg_ref(tm->nm);
      otpc_term_t nm = otpc_msg_term(e.msg);
      otpc_term_element(nm, 0, &e.name);
      otpc_term_element(nm, 1, &e.content);
      cancel_timer(sm, tm);
      run_event(sm, &e);
      drain(sm);
      return;
    } else if (n == 3 && otpc_term_is_atom(a, "system") == 1) {
      otpc_term_t reason;
      if (otpc_term_match(c, NULL, "{terminate, ~t}", &reason) == 0) {
        /* sys:terminate, as gen_statem:stop: sys.erl answers ok first
         * (proc_lib:stop's helper waits for it, then for the DOWN). */
        otpc__gen_reply_from(self, b, "ok");
        stop_now(sm, reason);
      }
      return; /* other sys requests: not yet */
    } else if (n == 3 && otpc_term_is_atom(a, "EXIT") == 1) {
      otpc_pid_t pid;
      if (otpc_term_pid(b, &pid) == 0 && pid_eq(pid, sm->parent))
        stop_now(sm, c);
    }
  }
  otpc_msg_ref(msg);
  run_event(sm, &e);
  drain(sm);
}

static void sm_free(otpc_sm_t *sm) {
  for (size_t i = 0; i < sm->ntm; i++) {
    if (sm->tm[i].st == T_RUNNING)
      (void)otpc_cancel_timer(otpc_proc_rt(sm->self), &sm->tm[i].tref, NULL);
    otpc_msg_unref(sm->tm[i].nm);
  }
  free(sm->tm);
  otpc_msg_unref(sm->cur_msg);
  reset_actions(sm);
  free(sm->rep);
  free(sm->ta);
  otpc__sm_evq_free(&sm->q);
  otpc__sm_evq_free(&sm->postponed);
  otpc__sm_evq_free(&sm->nexts);
  otpc_buf_free(&sm->state);
  otpc_buf_free(&sm->nstate);
  otpc_buf_free(&sm->next);
  otpc_buf_free(&sm->reason);
}

static void sm_init(otpc_proc_t *self, void *state, void *arg) {
  otpc_sm_t *sm = state;
  otpc__gen_start_arg_t sa = *(otpc__gen_start_arg_t *)arg;
  free(arg);
  const otpc_gen_statem_t *cls = sa.cls;
  sm->self = self;
  sm->parent = sa.starter;
  sm->data = calloc(1, cls->data_size ? cls->data_size : 1);
  if (sm->data == NULL) {
    sm->terminated = true;
    otpc_sendf(self, sa.starter, "{~r, {error, enomem}}", &sa.tag);
    otpc_exitf(self, "enomem");
  }
  sm->cls = cls;
  reset_cb(sm);
  sm->cb = CB_INIT;
  sm->in_cb = true;
  cls->init(sm, sm->data, sa.arg);
  sm->in_cb = false;
  sm->cb = CB_NONE;
  otpc_term_t r = buf_term(&sm->reason);
  if (sm->stop || sm->ignore || !sm->has_next) {
    /* {stop, R}, ignore or a bad return: no terminate, as OTP. */
    sm->terminated = true;
    if (sm->stop)
      otpc_sendf(self, sa.starter, "{~r, {error, ~t}}", &sa.tag, &r);
    else if (sm->ignore)
      otpc_sendf(self, sa.starter, "{~r, ignore}", &sa.tag);
    else
      otpc_sendf(self, sa.starter,
                 "{~r, {error, {bad_return_from_init, no_state}}}", &sa.tag);
    if (sm->ignore)
      otpc_exitf(self, "normal");
    if (sm->stop)
      otpc_exit(self, r);
    otpc_exitf(self, "{bad_return_from_init, no_state}");
  }
  otpc_pid_t me = otpc_self(self);
  otpc_sendf(self, sa.starter, "{~r, {ok, ~p}}", &sa.tag, &me);
  /* enter/8: {ok, State, Data, Actions} as the result of a fake event
   * {internal, init_state} in State, so an enter call follows (OldState =
   * State), the actions apply, postpone never does. */
  otpc_buf_t t = sm->state;
  sm->state = sm->next;
  sm->next = t;
  set_state_fn(sm);
  if (copy_term(&sm->nstate, buf_term(&sm->state)) < 0)
    otpc_exitf(self, "enomem");
  sm->postpone = false;
  send_replies(sm, sm->nrep);
  if (sm->bad != NULL)
    stop_bad(sm);
  run_enters(sm, sm->cls->state_enter);
  ev_t fake = {OTPC_SM_INTERNAL, NULL, {NULL, 0}, {NULL, 0}, {NULL, 0}};
  transition(sm, &fake);
  drain(sm);
}

static void sm_terminate(otpc_proc_t *self, void *state, otpc_term_t reason) {
  (void)self;
  otpc_sm_t *sm = state;
  if (sm->cls == NULL)
    return;
  /* A crash in a state callback: OTP runs terminate with the reason; not
   * after a crash in init, nor for an exit signal from outside. */
  if (sm->in_cb && !sm->terminated && sm->cb != CB_INIT &&
      sm->cls->terminate != NULL) {
    sm->terminated = true;
    sm->cls->terminate(sm, reason, buf_term(&sm->state), sm->data);
  }
  if (sm->data != NULL && sm->cls->free_data != NULL)
    sm->cls->free_data(sm->data);
  free(sm->data);
  sm_free(sm);
}

static const otpc_proc_class_t sm_class = {"gen_statem", sizeof(otpc_sm_t),
                                           sm_init, sm_handle, sm_terminate};

/* ------------------------------------------------------------ clients */

static bool valid(const otpc_gen_statem_t *cls) {
  return cls != NULL && cls->init != NULL &&
         ((cls->states != NULL && cls->nstates > 0) ||
          (cls->states == NULL && cls->handle_event != NULL));
}

int otpc_gen_statem_start(otpc_proc_t *self, const otpc_gen_statem_t *cls,
                          void *arg, const otpc_gs_start_opts_t *opts,
                          otpc_gs_cont_fn cont, void *ctx) {
  if (cont == NULL || !valid(cls))
    return OTPC_EINVAL;
  return otpc__gen_start(self, &sm_class, cls, arg, opts, cont, ctx, NULL);
}

int otpc_gen_statem_start_blocking(otpc_proc_t *self,
                                   const otpc_gen_statem_t *cls, void *arg,
                                   const otpc_gs_start_opts_t *opts,
                                   otpc_gs_result_t *res) {
  if (res == NULL || !valid(cls))
    return OTPC_EINVAL;
  return otpc__gen_start(self, &sm_class, cls, arg, opts, NULL, NULL, res);
}
