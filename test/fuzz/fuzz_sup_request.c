/* libFuzzer target: what a peer node can send a C supervisor. The input is
 * an external term; it goes to a running supervisor both as a gen_server
 * call's request ({'$gen_call', {Pid, Ref}, Term}, as
 * supervisor:which_children and friends send) and as a plain message. A
 * which_children call after them must be answered (the supervisor handled
 * both and lives) unless the term legitimately stopped it (sys:terminate,
 * a bad simple_one_for_one start_child), which its DOWN says; then a new
 * supervisor serves the next input. A crash or a hang is a finding. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otpc/supervisor.h"

static otpc_rt_t *rt;
static otpc_proc_t *me;
static otpc_pid_t sup;
static otpc_ref_t sup_mon;
static bool have_sup;

static void quiet(void *ud, int level, const char *text) {
  (void)ud;
  (void)level;
  (void)text;
}

/* A child that waits; it dies by the supervisor's exit signals only. */
static void idle_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)self;
  (void)state;
  (void)msg;
}

static const otpc_proc_class_t idler = {.name = "idler", .handle = idle_handle};

static const otpc_child_spec_t children[] = {
    {.id = "a", .proc = &idler},
    {.id = "b", .proc = &idler, .restart = OTPC_TRANSIENT},
    {.id = "c", .proc = &idler, .shutdown = OTPC_SHUTDOWN_BRUTAL_KILL}};
static const otpc_sup_spec_t spec = {.strategy = OTPC_REST_FOR_ONE,
                                     .intensity = 1000000,
                                     .period_s = 1,
                                     .children = children,
                                     .n_children = 3};

static void start_sup(void) {
  otpc_gs_result_t res;
  if (otpc_sup_start_blocking(me, &spec, NULL, NULL, &res) != 0 ||
      res.status != OTPC_GS_OK)
    __builtin_trap();
  otpc_msg_unref(res.term);
  sup = res.pid;
  if (otpc_monitor(me, sup, &sup_mon) != 0)
    __builtin_trap();
  have_sup = true;
}

static void drain(void) {
  otpc_msg_t *m;
  while (otpc_thread_receive(me, NULL, NULL, 0, &m) == 0) {
    if (otpc_match_ref(otpc_msg_term(m), &sup_mon))
      have_sup = false;
    otpc_msg_unref(m);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (rt == NULL) {
    otpc_rt_opts_t o = {.schedulers = 2, .log = quiet};
    if (otpc_rt_start(&o, &rt) != 0 || otpc_thread_attach(rt, &me) != 0)
      __builtin_trap();
  }
  if (!have_sup)
    start_sup();
  otpc_msg_t *term = NULL;
  if (otpc_msg_decode(data, size, &term, NULL) != 0)
    return 0;
  otpc_term_t t = otpc_msg_term(term);
  otpc_pid_t self = otpc_self(me);
  otpc_ref_t tag;
  otpc_make_ref(rt, &tag);
  otpc_sendf(me, sup, "{'$gen_call', {~p, ~r}, ~t}", &self, &tag, &t);
  otpc_send(me, sup, term);
  otpc_msg_unref(term);
  otpc_gs_result_t res;
  static const uint8_t which[] = {119, 14,  'w', 'h', 'i', 'c', 'h', '_',
                                  'c', 'h', 'i', 'l', 'd', 'r', 'e', 'n'};
  if (otpc_gen_server_call_blocking(me, sup, (otpc_term_t){which, sizeof which},
                                    10000, &res) != 0)
    __builtin_trap();
  if (res.status == OTPC_GS_TIMEOUT)
    __builtin_trap(); /* a hung supervisor */
  if (res.status != OTPC_GS_OK) {
    /* It stopped: its DOWN must be there (or come) with a reason. */
    otpc_msg_t *m;
    if (otpc_thread_receive(me, otpc_match_ref, &sup_mon, 10000, &m) != 0)
      __builtin_trap();
    otpc_msg_unref(m);
    have_sup = false;
  }
  otpc_msg_unref(res.term);
  drain();
  return 0;
}
