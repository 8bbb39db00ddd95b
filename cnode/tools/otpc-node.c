/* otpc-node: the reference C node. Joins a cluster under a name, hosts a
 * registered process `echo` and runs until SIGTERM or SIGINT.
 *
 *   otpc-node --sname NAME | --name NAME@HOST [--cookie C] [--hidden]
 *             [--ticktime S] [--epmd-port P]
 *
 * Prints "ready NAME@HOST" once registered with epmd and listening. The
 * echo contract (kept stable: checks outside the tests use it):
 * {Pid, Term} -> Pid ! {echo, EchoPid, Term}; gen_server:call({echo, Node},
 * Term) returns Term.
 *
 * A second registered process, `ctl`, lets tests drive a C process's side
 * of the distribution (not a stable contract): it traps exits and takes
 *   {From, send, To, Term}     To ! Term, then From ! {ctl, sent}
 *   {From, link, Pid}          link(Pid), then From ! {ctl, linked}
 *   {From, monitor, Pid}       monitor(process, Pid), From ! {ctl, Ref}
 *   {From, exit, Pid, Reason}  exit(Pid, Reason), then From ! {ctl, exited}
 * and forwards every 'EXIT' and 'DOWN' it gets as {ctl, Msg} to the last
 * From. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otpc/msg.h"
#include "otpc/process.h"
#include "otpc/term.h"

#include "../dist/node.h"
#include "../dist/node_cli.h"
#include "node_counter.h"

static void echo_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)state;
  otpc_pid_t from, me = otpc_self(self);
  otpc_term_t tag, term, t = otpc_msg_term(msg);
  if (otpc_term_match(t, NULL, "{'$gen_call', {~p, ~t}, ~t}", &from, &tag,
                      &term) == 0)
    otpc_sendf(self, from, "{~t, ~t}", &tag, &term);
  else if (otpc_term_match(t, NULL, "{~p, ~t}", &from, &term) == 0)
    otpc_sendf(self, from, "{echo, ~p, ~t}", &me, &term);
}

static const otpc_proc_class_t echo_class = {.name = "echo",
                                             .handle = echo_handle};

typedef struct ctl {
  otpc_pid_t report; /* the last From */
  bool have;
} ctl_t;

static void ctl_init(otpc_proc_t *self, void *state, void *arg) {
  (void)state;
  (void)arg;
  otpc_trap_exit(self, true);
}

static void ctl_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  ctl_t *c = state;
  otpc_pid_t from, pid;
  otpc_term_t a, t = otpc_msg_term(msg);
  otpc_ref_t ref;
  if (otpc_term_match(t, NULL, "{~p, send, ~p, ~t}", &from, &pid, &a) == 0) {
    c->report = from;
    c->have = true;
    otpc_sendf(self, pid, "~t", &a);
    otpc_sendf(self, from, "{ctl, sent}");
  } else if (otpc_term_match(t, NULL, "{~p, link, ~p}", &from, &pid) == 0) {
    c->report = from;
    c->have = true;
    otpc_link(self, pid);
    otpc_sendf(self, from, "{ctl, linked}");
  } else if (otpc_term_match(t, NULL, "{~p, monitor, ~p}", &from, &pid) == 0) {
    c->report = from;
    c->have = true;
    if (otpc_monitor(self, pid, &ref) == 0)
      otpc_sendf(self, from, "{ctl, ~r}", &ref);
  } else if (otpc_term_match(t, NULL, "{~p, exit, ~p, ~t}", &from, &pid, &a) ==
             0) {
    c->report = from;
    c->have = true;
    otpc_exit_signal(self, pid, a);
    otpc_sendf(self, from, "{ctl, exited}");
  } else if (c->have &&
             (otpc_term_match(t, NULL, "{'EXIT', _, _}") == 0 ||
              otpc_term_match(t, NULL, "{'DOWN', _, _, _, _}") == 0)) {
    otpc_sendf(self, c->report, "{ctl, ~t}", &t);
  }
}

static const otpc_proc_class_t ctl_class = {.name = "ctl",
                                            .state_size = sizeof(ctl_t),
                                            .init = ctl_init,
                                            .handle = ctl_handle};

static void log_line(void *ud, const char *line) {
  (void)ud;
  fprintf(stderr, "%s\n", line);
}

int main(int argc, char **argv) {
  otpc__node_cli_t cli;
  char msg[256];
  if (otpc__node_parse_args(argc, argv, &cli, msg, sizeof msg) != 0) {
    fprintf(stderr, "otpc-node: %s\n%s", msg, OTPC__NODE_USAGE);
    return 2;
  }
  /* Every thread inherits the mask; the main thread takes the signals
   * with sigwait, so no handler runs in a thread holding a lock. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);

  otpc__node_opts_t o = {.name = cli.name,
                         .cookie = cli.cookie,
                         .hidden = cli.hidden,
                         .ticktime = cli.ticktime,
                         .epmd_port = cli.epmd_port,
                         .log = log_line};
  otpc__node_t *n;
  otpc_err_t err = {0};
  if (otpc__node_start(&o, &n, &err) != 0) {
    fprintf(stderr, "otpc-node: %s\n", err.msg);
    return 1;
  }
  otpc_spawn_opts_t so = {.name = "echo"};
  otpc_pid_t echo;
  if (otpc_rt_spawn(otpc__node_rt(n), &echo_class, NULL, &so, &echo) != 0) {
    fprintf(stderr, "otpc-node: cannot start echo\n");
    otpc__node_stop(n);
    return 1;
  }
  otpc_spawn_opts_t co = {.name = "ctl"};
  otpc_pid_t ctl;
  if (otpc_rt_spawn(otpc__node_rt(n), &ctl_class, NULL, &co, &ctl) != 0) {
    fprintf(stderr, "otpc-node: cannot start ctl\n");
    otpc__node_stop(n);
    return 1;
  }
  if (otpc__node_counter_start(otpc__node_rt(n), cli.state_dir) != 0) {
    fprintf(stderr, "otpc-node: cannot start counter_sup\n");
    otpc__node_stop(n);
    return 1;
  }
  printf("ready %s\n", otpc__node_name(n));
  int sig = 0;
  sigwait(&set, &sig);
  otpc__node_stop(n);
  return 0;
}
