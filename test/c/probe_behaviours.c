/* A C node for statem_SUITE and event_SUITE: hosts the scripted gen_statem
 * of statem_script.h and gen_event managers with the handlers of
 * event_script.h (registered as evh_a and evh_b), started on request, so
 * the suites run the same scripts on OTP's behaviours and on ours and
 * compare the traces, through OTP's own client API from a real BEAM.
 * Usage: probe_behaviours NAME@HOST COOKIE; prints "ready NODE". A registered
 * `starter` takes {start, From, Ref, Ctl, Mode, Init} (Mode plain | enter
 * | funs) and {start_mgr, From, Ref}, and answers {Ref, {ok, Pid} |
 * Other}. Ends on SIGTERM. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>

#include "otpc/gen_statem.h"
#include "otpc/node.h"

#define SM_SCRIPT_CHECK(x) ((void)(x))
#include "statem_script.h"
#define EV_SCRIPT_ON_EVENT(ev) ((void)(ev))
#define EV_SCRIPT_AFTER_REPORT(ev) ((void)(ev))
#include "event_script.h"

/* A start in flight: the request message holds Init until init ran. */
typedef struct pending {
  otpc_msg_t *req;
  otpc_pid_t from;
  otpc_term_t ref;
  m_arg_t arg;
} pending_t;

static void on_started(otpc_proc_t *self, void *state,
                       const otpc_gs_result_t *res, void *ctx) {
  (void)state;
  pending_t *p = ctx;
  if (res->status == OTPC_GS_OK) {
    otpc_sendf(self, p->from, "{~t, {ok, ~p}}", &p->ref, &res->pid);
  } else {
    otpc_term_t r =
        res->term != NULL ? otpc_msg_term(res->term) : (otpc_term_t){NULL, 0};
    if (r.p != NULL)
      otpc_sendf(self, p->from, "{~t, {~i, ~t}}", &p->ref, (int)res->status,
                 &r);
    else
      otpc_sendf(self, p->from, "{~t, {~i}}", &p->ref, (int)res->status);
  }
  otpc_msg_unref(p->req);
  free(p);
}

static void starter_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)state;
  otpc_term_t t = otpc_msg_term(msg), ref, init, mode;
  otpc_pid_t from, ctl;
  if (otpc_term_match(t, NULL, "{start_mgr, ~p, ~t}", &from, &ref) == 0) {
    pending_t *p = calloc(1, sizeof *p);
    if (p == NULL)
      return;
    p->req = otpc_msg_ref(msg);
    p->from = from;
    p->ref = ref;
    if (otpc_gen_event_start(self, NULL, on_started, p) < 0) {
      otpc_msg_unref(p->req);
      free(p);
    }
    return;
  }
  if (otpc_term_match(t, NULL, "{start, ~p, ~t, ~p, ~t, ~t}", &from, &ref, &ctl,
                      &mode, &init) != 0)
    return;
  const otpc_gen_statem_t *cls =
      otpc_term_is_atom(mode, "enter") == 1  ? &m_enter
      : otpc_term_is_atom(mode, "funs") == 1 ? &m_funs
                                             : &m_plain;
  pending_t *p = calloc(1, sizeof *p);
  if (p == NULL)
    return;
  p->req = otpc_msg_ref(msg);
  p->from = from;
  p->ref = ref;
  p->arg.ctl = ctl;
  p->arg.init = init;
  if (otpc_gen_statem_start(self, cls, &p->arg, NULL, on_started, p) < 0) {
    otpc_msg_unref(p->req);
    free(p);
  }
}

static const otpc_proc_class_t starter_class = {"starter", 0, NULL,
                                                starter_handle, NULL};

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: probe_behaviours NAME@HOST COOKIE\n");
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  setvbuf(stdout, NULL, _IOLBF, 0);
  otpc_node_opts_t o = {.name = argv[1], .cookie = argv[2], .schedulers = 2};
  otpc_node_t *n;
  otpc_err_t err = {0};
  if (otpc_node_start(&o, &n, &err) != 0) {
    fprintf(stderr, "probe_behaviours: %s\n", err.msg);
    return 1;
  }
  /* The handlers Erlang adds by name. */
  if (otpc_gen_event_register(&h_a) != 0 ||
      otpc_gen_event_register(&h_b) != 0) {
    fprintf(stderr, "probe_behaviours: cannot register the handlers\n");
    return 1;
  }
  otpc_spawn_opts_t so = {.name = "starter"};
  otpc_pid_t pid;
  if (otpc_rt_spawn(otpc_node_rt(n), &starter_class, NULL, &so, &pid) != 0) {
    fprintf(stderr, "probe_behaviours: cannot start the starter\n");
    otpc_node_stop(n);
    return 1;
  }
  printf("ready %s\n", otpc_node_name(n));
  int sig = 0;
  sigwait(&set, &sig);
  otpc_node_stop(n);
  return 0;
}
