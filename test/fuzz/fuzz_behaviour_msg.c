/* libFuzzer target: what a peer node can send a C gen_statem and a C
 * gen_event manager. The input is an external term. The machine (the
 * scripted one of test/c/statem_script.h, which takes event contents as
 * action lists, so the input also drives the whole event loop: postpone,
 * inserted events, the timeouts, replies, stops) gets it as a cast, as a
 * call's request (never waited for: it may be postponed) and as an info;
 * the manager (handlers of test/c/event_script.h) as a notify, an info and
 * a gen_event request ({Pid, {Pid, Ref}, Term}: add_handler and friends).
 * A call after them must be answered (each lives) unless the input
 * legitimately stopped it (a stop action, a crash action,
 * sys:terminate), which its DOWN says, or livelocked the machine (see
 * check); then a new one serves the next input. A crash, a sanitizer
 * report or a hang is a finding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otpc/gen_event.h"
#include "otpc/gen_statem.h"

#define SM_SCRIPT_CHECK(x) ((void)(x))
#include "../c/statem_script.h"
#define EV_SCRIPT_ON_EVENT(ev) ((void)(ev))
#define EV_SCRIPT_AFTER_REPORT(ev) ((void)(ev))
#include "../c/event_script.h"

static otpc_rt_t *rt;
static otpc_proc_t *me;

typedef struct target {
  otpc_pid_t pid;
  otpc_ref_t mon;
  bool up;
} target_t;

static target_t sm, mgr;

/* Where the traces go: a process that drops them, so a machine looping
 * on {send, X} floods nobody who waits. */
static otpc_pid_t sink;

static void sink_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)self;
  (void)state;
  (void)msg;
}

static const otpc_proc_class_t sink_class = {.name = "sink",
                                             .handle = sink_handle};

static void quiet(void *ud, int level, const char *text) {
  (void)ud;
  (void)level;
  (void)text;
}

static void watch(target_t *t, const otpc_gs_result_t *res) {
  if (res->status != OTPC_GS_OK)
    __builtin_trap();
  otpc_msg_unref(res->term);
  t->pid = res->pid;
  if (otpc_monitor(me, t->pid, &t->mon) != 0)
    __builtin_trap();
  t->up = true;
}

static void start_both(void) {
  otpc_gs_result_t res;
  if (!sm.up) {
    static const uint8_t nil[] = {106};
    m_arg_t a = {sink, {nil, sizeof nil}};
    if (otpc_gen_statem_start_blocking(me, &m_plain, &a, NULL, &res) != 0)
      __builtin_trap();
    watch(&sm, &res);
  }
  if (!mgr.up) {
    if (otpc_gen_event_start_blocking(me, NULL, &res) != 0)
      __builtin_trap();
    watch(&mgr, &res);
    otpc_buf_t b;
    otpc_term_t args = ev_term(&b, "{~p, a, ok}", &sink);
    if (otpc_gen_event_add_handler_blocking(
            me, mgr.pid, &h_a, (otpc_term_t){NULL, 0}, args, &res) != 0)
      __builtin_trap();
    otpc_msg_unref(res.term);
    otpc_buf_free(&b);
  }
}

/* Everything queued for the fuzzing thread: traces, late replies, DOWNs. */
static void drain(void) {
  otpc_msg_t *m;
  while (otpc_thread_receive(me, NULL, NULL, 0, &m) == 0) {
    otpc_term_t t = otpc_msg_term(m);
    if (otpc_match_ref(t, &sm.mon))
      sm.up = false;
    if (otpc_match_ref(t, &mgr.mon))
      mgr.up = false;
    otpc_msg_unref(m);
  }
}

/* Alive and answering, or stopped with a DOWN. */
static void check(target_t *t, bool event_mgr) {
  if (!t->up)
    return;
  otpc_gs_result_t res;
  otpc_buf_t b;
  int rc = event_mgr
               ? otpc_gen_event_which_handlers_blocking(me, t->pid, &res)
               : otpc_gen_statem_call_blocking(
                     me, t->pid, ev_term(&b, "[{reply, alive}]"), 10000, &res);
  if (!event_mgr)
    otpc_buf_free(&b);
  if (rc != 0 || (res.status == OTPC_GS_TIMEOUT && event_mgr))
    __builtin_trap(); /* hung */
  if (res.status == OTPC_GS_TIMEOUT) {
    /* A machine can livelock as on OTP (a postponed event retried by
     * state changes that a zero timeout keeps making: the queue always
     * comes before the mailbox). It still yields, so kill reaches it. */
    static const uint8_t kill[] = {119, 4, 'k', 'i', 'l', 'l'};
    if (otpc_exit_signal(me, t->pid, (otpc_term_t){kill, sizeof kill}) != 0)
      __builtin_trap();
  }
  if (res.status != OTPC_GS_OK) {
    otpc_msg_t *m;
    if (otpc_thread_receive(me, otpc_match_ref, &t->mon, 10000, &m) != 0)
      __builtin_trap();
    otpc_msg_unref(m);
    t->up = false;
  }
  otpc_msg_unref(res.term);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (rt == NULL) {
    otpc_rt_opts_t o = {.schedulers = 2, .log = quiet};
    if (otpc_rt_start(&o, &rt) != 0 || otpc_thread_attach(rt, &me) != 0 ||
        otpc_gen_event_register(&h_a) != 0 ||
        otpc_gen_event_register(&h_b) != 0 ||
        otpc_rt_spawn(rt, &sink_class, NULL, NULL, &sink) != 0)
      __builtin_trap();
  }
  start_both();
  otpc_msg_t *term = NULL;
  if (otpc_msg_decode(data, size, &term, NULL) != 0)
    return 0;
  otpc_term_t t = otpc_msg_term(term);
  otpc_pid_t self = otpc_self(me);
  otpc_ref_t tag;
  otpc_make_ref(rt, &tag);
  otpc_gen_statem_cast(me, sm.pid, t);
  otpc_sendf(me, sm.pid, "{'$gen_call', {~p, ~r}, ~t}", &self, &tag, &t);
  otpc_send(me, sm.pid, term);
  otpc_sendf(me, mgr.pid, "{notify, ~t}", &t);
  otpc_sendf(me, mgr.pid, "{~p, {~p, ~r}, ~t}", &self, &self, &tag, &t);
  otpc_send(me, mgr.pid, term);
  otpc_msg_unref(term);
  check(&sm, false);
  check(&mgr, true);
  drain();
  return 0;
}
