/* otpc-node: the reference C node. Joins a cluster under a name, hosts a
 * registered process `echo` and runs until SIGTERM or SIGINT.
 *
 *   otpc-node --sname NAME | --name NAME@HOST [--cookie C] [--hidden]
 *             [--ticktime S] [--epmd-port P] [--state-dir DIR]
 *             [--max-message-size BYTES] [--log-to NODE@HOST]
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
 *   {From, reg_send, Name, Node, Term}  {Name, Node} ! Term, {ctl, sent}
 *   {From, monitor_name, Name, Node}    monitor(process, {Name, Node}),
 *                              From ! {ctl, Ref}
 *   {From, monitor_node, Node, Bool}    monitor_node(Node, Bool),
 *                              From ! {ctl, monitor_node}
 *   {From, monitor_nodes, Bool, All}    net_kernel:monitor_nodes(Bool,
 *                              [{node_type, all} if All]),
 *                              From ! {ctl, monitor_nodes}
 *   {From, nodes}              From ! {ctl, {nodes, Visible, Hidden}}
 *   {From, call, Pid | {Name, Node}, Req, Ms}   gen_server:call from ctl,
 *                              From ! {ctl, {call, ok, Reply}} or
 *                              {ctl, {call, Status, Reason}} (Status:
 *                              noproc, timeout or exit)
 *   {From, alias}              From ! {ctl, {alias, Alias}}
 *   {From, unalias, Alias}     From ! {ctl, {unalias, 0 | 1}}
 *   {From, alias_send, Alias, Term}     Alias ! Term, {ctl, sent}
 *   {From, big_exit, To, Bytes, Pid, Reason}    To ! {big, <<Bytes bytes>>}
 *                              then exit(Pid, Reason), nothing answered
 *   {From, big_send, To, Bytes, To2, Term}     To ! {big, <<Bytes bytes>>}
 *                              then To2 ! Term, nothing answered
 * and the pg and global commands listed in pg_ctl.c (the default scope
 * `pg` and global_name_server run from the start), and forwards every
 * 'EXIT', 'DOWN', nodeup, nodedown and {aliased, _} it gets as {ctl, Msg}
 * to the last From. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "otpc/gen_server.h"
#include "otpc/global.h"
#include "otpc/msg.h"
#include "otpc/node.h"
#include "otpc/pg.h"
#include "otpc/process.h"
#include "otpc/rpc.h"
#include "otpc/term.h"

#include "../dist/node.h"
#include "../dist/node_cli.h"
#include "../services/rpc.h"
#include "node_counter.h"
#include "pg_ctl.h"

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

static void ctl_called(otpc_proc_t *self, void *state,
                       const otpc_gs_result_t *res, void *ctx) {
  static const char *const st[] = {"ok",     "ignore",  "error",
                                   "noproc", "timeout", "exit"};
  ctl_t *c = state;
  (void)ctx;
  otpc_term_t r = {(const uint8_t *)"\x6a", 1}; /* [] */
  if (res->term != NULL)
    r = otpc_msg_term(res->term);
  otpc_sendf(self, c->report, "{ctl, {call, ~a, ~t}}", st[res->status], &r);
}

static otpc_node_t *the_node; /* set before ctl starts */

static bool is_true(otpc_atom_t a) {
  otpc_atom_t t;
  return otpc_atom("true", &t) == 0 && a == t;
}

/* To ! {big, <<Bytes bytes>>}. */
static void send_big(otpc_proc_t *self, otpc_pid_t to, int64_t bytes) {
  uint8_t *big = malloc(bytes > 0 ? (size_t)bytes : 1);
  otpc_msg_t *m = NULL;
  if (big != NULL) {
    memset(big, 7, (size_t)bytes);
    otpc_msg_build(&m, NULL, "{big, ~b}", big, (size_t)bytes);
    free(big);
  }
  if (m != NULL) {
    otpc_send(self, to, m);
    otpc_msg_unref(m);
  }
}

/* ctl's commands beyond the first four; false if t is none of them. */
static bool ctl_more(otpc_proc_t *self, ctl_t *c, otpc_term_t t) {
  otpc_pid_t from, pid, to;
  otpc_atom_t name, node, on, all;
  otpc_term_t a;
  otpc_ref_t ref;
  int64_t ms, bytes;
  if (otpc_term_match(t, NULL, "{~p, reg_send, ~a, ~a, ~t}", &from, &name,
                      &node, &a) == 0) {
    otpc_msg_t *m;
    if (otpc_msg_from_term(a, &m) == 0) {
      otpc_send_remote_name(self, name, node, m);
      otpc_msg_unref(m);
    }
    otpc_sendf(self, from, "{ctl, sent}");
  } else if (otpc_term_match(t, NULL, "{~p, monitor_name, ~a, ~a}", &from,
                             &name, &node) == 0) {
    if (otpc_monitor_remote_name(self, name, node, &ref) == 0)
      otpc_sendf(self, from, "{ctl, ~r}", &ref);
  } else if (otpc_term_match(t, NULL, "{~p, monitor_node, ~a, ~a}", &from,
                             &node, &on) == 0) {
    otpc_monitor_node(self, node, is_true(on));
    otpc_sendf(self, from, "{ctl, monitor_node}");
  } else if (otpc_term_match(t, NULL, "{~p, monitor_nodes, ~a, ~a}", &from, &on,
                             &all) == 0) {
    otpc_monitor_nodes(self, is_true(on), is_true(all));
    otpc_sendf(self, from, "{ctl, monitor_nodes}");
  } else if (otpc_term_match(t, NULL, "{~p, nodes}", &from) == 0) {
    otpc_buf_t vis = {0}, hid = {0};
    otpc_atom_t *v = NULL;
    size_t n = 0;
    otpc_node_t *node_h = the_node;
    for (int pass = 0; pass < 2; pass++) {
      otpc_buf_t *bf = pass ? &hid : &vis;
      otpc_term_build(bf, NULL, "[]");
      if (otpc_node_list(node_h, pass ? OTPC_NODES_HIDDEN : OTPC_NODES_VISIBLE,
                         &v, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
          otpc_buf_t nb = {0};
          otpc_term_t tail = {bf->data, bf->len};
          otpc_term_build(&nb, NULL, "[~A | ~t]", v[i], &tail);
          otpc_buf_free(bf);
          *bf = nb;
        }
        free(v);
      }
    }
    otpc_term_t vt = {vis.data, vis.len}, ht = {hid.data, hid.len};
    otpc_sendf(self, from, "{ctl, {nodes, ~t, ~t}}", &vt, &ht);
    otpc_buf_free(&vis);
    otpc_buf_free(&hid);
  } else if (otpc_term_match(t, NULL, "{~p, call, ~p, ~t, ~I}", &from, &pid, &a,
                             &ms) == 0) {
    otpc_gen_server_call(self, pid, a, ms, ctl_called, NULL);
  } else if (otpc_term_match(t, NULL, "{~p, call, {~a, ~a}, ~t, ~I}", &from,
                             &name, &node, &a, &ms) == 0) {
    otpc_gen_server_call_remote(self, name, node, a, ms, ctl_called, NULL);
  } else if (otpc_term_match(t, NULL, "{~p, alias}", &from) == 0) {
    if (otpc_alias(self, &ref) == 0)
      otpc_sendf(self, from, "{ctl, {alias, ~r}}", &ref);
  } else if (otpc_term_match(t, NULL, "{~p, unalias, ~r}", &from, &ref) == 0) {
    int r = otpc_unalias(self, &ref);
    otpc_sendf(self, from, "{ctl, {unalias, ~i}}", r);
  } else if (otpc_term_match(t, NULL, "{~p, alias_send, ~r, ~t}", &from, &ref,
                             &a) == 0) {
    otpc_msg_t *m;
    if (otpc_msg_from_term(a, &m) == 0) {
      otpc_send_alias(self, &ref, m);
      otpc_msg_unref(m);
    }
    otpc_sendf(self, from, "{ctl, sent}");
  } else if (otpc_term_match(t, NULL, "{~p, big_exit, ~p, ~I, ~p, ~t}", &from,
                             &to, &bytes, &pid, &a) == 0 &&
             bytes >= 0) {
    /* A huge message then an exit signal from the same process: the
     * exit overtakes the message only when it goes to another process. */
    send_big(self, to, bytes);
    otpc_exit_signal(self, pid, a);
  } else if (otpc_term_match(t, NULL, "{~p, big_send, ~p, ~I, ~p, ~t}", &from,
                             &to, &bytes, &pid, &a) == 0 &&
             bytes >= 0) {
    /* A huge message then a small one to another process: the small one
     * goes out between the huge one's fragments. */
    send_big(self, to, bytes);
    otpc_msg_t *m = NULL;
    if (otpc_msg_build(&m, NULL, "~t", &a) == 0) {
      otpc_send(self, pid, m);
      otpc_msg_unref(m);
    }
  } else {
    return false;
  }
  c->report = from;
  c->have = true;
  return true;
}

static void ctl_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  ctl_t *c = state;
  otpc_pid_t from, pid;
  otpc_term_t a, t = otpc_msg_term(msg);
  otpc_ref_t ref;
  if (ctl_more(self, c, t) || otpc__pg_ctl(self, the_node, t)) {
  } else if (otpc_term_match(t, NULL, "{~p, send, ~p, ~t}", &from, &pid, &a) ==
             0) {
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
              otpc_term_match(t, NULL, "{'DOWN', _, _, _, _}") == 0 ||
              otpc_term_match(t, NULL, "{nodeup, _}") == 0 ||
              otpc_term_match(t, NULL, "{nodedown, _}") == 0 ||
              otpc_term_match(t, NULL, "{aliased, _}") == 0)) {
    otpc_sendf(self, c->report, "{ctl, ~t}", &t);
  }
}

static const otpc_proc_class_t ctl_class = {.name = "ctl",
                                            .state_size = sizeof(ctl_t),
                                            .init = ctl_init,
                                            .handle = ctl_handle};

/* Set by main once started, read by log_line on any thread: acquire
 * pairs with the release store, so a logger sees a started service. */
static _Atomic(otpc_rpc_t *) the_rpc;

static void log_line(void *ud, const char *line) {
  (void)ud;
  fprintf(stderr, "%s\n", line);
  otpc_rpc_log(atomic_load_explicit(&the_rpc, memory_order_acquire),
               strstr(line, "crash report") ? OTPC_LOG_ERROR : OTPC_LOG_INFO,
               line);
}

int main(int argc, char **argv) {
  otpc__node_cli_t cli;
  char msg[256];
  const char *log_to;
  int nrest = 0;
  char **rest = calloc((size_t)argc + 1, sizeof *rest);
  if (rest == NULL)
    return 1;
  if (otpc__rpc_log_to_arg(argc, argv, rest, &nrest, getenv("OTPC_NODE_LOG_TO"),
                           &log_to, msg, sizeof msg) != 0 ||
      otpc__node_parse_args(nrest, rest, &cli, msg, sizeof msg) != 0) {
    fprintf(stderr, "otpc-node: %s\n%s%s", msg, OTPC__NODE_USAGE,
            OTPC__RPC_LOG_TO_USAGE);
    free(rest);
    return 2;
  }
  /* cli points into argv, never into rest. */
  free(rest);
  /* Every thread inherits the mask; the main thread takes the signals
   * with sigwait, so no handler runs in a thread holding a lock. */
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);

  otpc_node_opts_t o = {.name = cli.name,
                        .cookie = cli.cookie,
                        .hidden = cli.hidden,
                        .ticktime = cli.ticktime,
                        .epmd_port = cli.epmd_port,
                        .max_message_size = cli.max_message_size,
                        .log = log_line};
  otpc_node_t *n;
  otpc_err_t err = {0};
  if (otpc_node_start(&o, &n, &err) != 0) {
    fprintf(stderr, "otpc-node: %s\n", err.msg);
    return 1;
  }
  otpc_spawn_opts_t so = {.name = "echo"};
  otpc_pid_t echo;
  if (otpc_rt_spawn(otpc_node_rt(n), &echo_class, NULL, &so, &echo) != 0) {
    fprintf(stderr, "otpc-node: cannot start echo\n");
    otpc_node_stop(n);
    return 1;
  }
  the_node = n;
  otpc_atom_t pg_scope;
  if (otpc_atom("pg", &pg_scope) != 0 ||
      otpc_pg_start_scope(otpc_node_rt(n), n, pg_scope, NULL) != 0) {
    fprintf(stderr, "otpc-node: cannot start the pg scope\n");
    otpc_node_stop(n);
    return 1;
  }
  if (otpc_global_start(otpc_node_rt(n), NULL) != 0) {
    fprintf(stderr, "otpc-node: cannot start global_name_server\n");
    otpc_node_stop(n);
    return 1;
  }
  otpc_spawn_opts_t co = {.name = "ctl"};
  otpc_pid_t ctl;
  if (otpc_rt_spawn(otpc_node_rt(n), &ctl_class, NULL, &co, &ctl) != 0) {
    fprintf(stderr, "otpc-node: cannot start ctl\n");
    otpc_node_stop(n);
    return 1;
  }
  if (otpc__node_counter_start(otpc_node_rt(n), cli.state_dir) != 0) {
    fprintf(stderr, "otpc-node: cannot start counter_sup\n");
    otpc_node_stop(n);
    return 1;
  }
  /* rpc/erpc, remote spawn, rex, user, logger_proxy; the otpc_node
   * module; logs to --log-to's (or $OTPC_NODE_LOG_TO's) logger
   * (docs/services.md). */
  otpc_rpc_t *rpc = NULL;
  if (otpc_rpc_start(n, &rpc) != 0 || otpc__rpc_register_otpc_node(rpc) != 0 ||
      otpc_rpc_forward_logs(rpc, log_to) != 0) {
    fprintf(stderr, "otpc-node: cannot start the rpc service\n");
    otpc_node_stop(n);
    return 1;
  }
  atomic_store_explicit(&the_rpc, rpc, memory_order_release);
  printf("ready %s\n", otpc_node_name(n));
  int sig = 0;
  sigwait(&set, &sig);
  /* No forwarding once the runtime may go: forward_logs waits out a
   * line being handed over (the node's loop logs while it stops). */
  otpc_rpc_forward_logs(rpc, NULL);
  otpc_node_stop(n);
  atomic_store_explicit(&the_rpc, NULL, memory_order_release);
  otpc_rpc_free(rpc);
  return 0;
}
