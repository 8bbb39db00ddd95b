/* otpc-fn-node: the C node deployment of the otpc_fn examples (fn/calc.c):
 * erpc:call(Node, otpc_fn_calc, F, Args) runs them. Takes otpc-node's
 * naming options; prints "ready NAME@HOST" once reachable and stops on
 * SIGTERM or SIGINT. */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>

#include "otpc/fn.h"
#include "otpc/node.h"
#include "otpc/rpc.h"

#include "../../fn/calc.h"
#include "../dist/node_cli.h"

int main(int argc, char **argv) {
  otpc__node_cli_t cli;
  char msg[256];
  if (otpc__node_parse_args(argc, argv, &cli, msg, sizeof msg) != 0) {
    fprintf(stderr, "otpc-fn-node: %s\n%s", msg, OTPC__NODE_USAGE);
    return 2;
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  signal(SIGPIPE, SIG_IGN);
  setvbuf(stdout, NULL, _IOLBF, 0);
  otpc_err_t err = {0};
  otpc_fn_t *fns[OTPC_FN_CALC_N];
  if (otpc_fn_calc_new(fns, &err) != 0) {
    fprintf(stderr, "otpc-fn-node: %s\n", err.msg);
    return 1;
  }
  otpc_node_opts_t o = {.name = cli.name,
                        .cookie = cli.cookie,
                        .hidden = cli.hidden,
                        .ticktime = cli.ticktime,
                        .epmd_port = cli.epmd_port,
                        .max_message_size = cli.max_message_size};
  otpc_node_t *n;
  if (otpc_node_start(&o, &n, &err) != 0) {
    fprintf(stderr, "otpc-fn-node: %s\n", err.msg);
    return 1;
  }
  otpc_rpc_t *rpc = NULL;
  int rc = otpc_rpc_start(n, &rpc);
  for (unsigned k = 0; rc == 0 && k < OTPC_FN_CALC_N; k++)
    rc = otpc_fn_rpc_register(rpc, fns[k]);
  if (rc != 0) {
    fprintf(stderr, "otpc-fn-node: cannot start the rpc service: %s\n",
            otpc_strerror(rc));
    otpc_node_stop(n);
    return 1;
  }
  printf("ready %s\n", otpc_node_name(n));
  int sig = 0;
  sigwait(&set, &sig);
  otpc_node_stop(n);
  otpc_rpc_free(rpc);
  for (unsigned k = 0; k < OTPC_FN_CALC_N; k++)
    otpc_fn_free(fns[k]);
  return 0;
}
