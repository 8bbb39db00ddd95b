/* Internals of the rpc service (include/otpc/rpc.h): the SPAWN_REQUEST
 * option decoder (fuzzed by test/fuzz/fuzz_spawn_request.c), the function
 * table shared by erpc, rex and remote spawns, rex and the io and logger
 * processes. See docs/services.md ("rpc and erpc", "Logs"). */
#ifndef OTPC_CNODE_SERVICES_RPC_H
#define OTPC_CNODE_SERVICES_RPC_H

#include <pthread.h>

#include "otpc/buf.h"
#include "otpc/rpc.h"

/* The SPAWN_REPLY flags a SPAWN_REQUEST's option list asks for (1 link, 2
 * monitor). Options erts passes through (priority, message_queue_data,
 * fullsweep_after, heap sizes) are accepted and have no effect on a C
 * process; anything else, or an improper list, is OTPC_EINVAL with err
 * naming the option (the reply is then `badopt`, as erts answers). */
int otpc__rpc_spawn_opts(otpc_term_t opts, unsigned *flags, otpc_err_t *err);

/* The SPAWN_REQUEST kinds the service tells apart. */
enum { OTPC__RPC_CALL = 1, OTPC__RPC_CAST, OTPC__RPC_SPAWN };
/* Classifies {Mod, Fun, Arity} and checks the argument list against it:
 * OTPC__RPC_CALL for erpc:execute_call/4 with [Ref, M, F, Args] (*m, *f,
 * *args set), OTPC__RPC_CAST for erpc:execute_cast/3 with [M, F, Args],
 * OTPC__RPC_SPAWN for anything else; OTPC_EINVAL when the argument list
 * does not fit (not a proper list of Arity elements, or a malformed erpc
 * request). */
int otpc__rpc_classify(otpc_atom_t mod, otpc_atom_t fun, unsigned arity,
                       otpc_term_t arglist, otpc_term_t *res, otpc_atom_t *m,
                       otpc_atom_t *f, otpc_term_t *args, otpc_err_t *err);

/* One call's answer, filled by the otpc_rpc_return/raise functions. */
struct otpc_rpc_call {
  otpc_proc_t *self;
  otpc_rpc_t *r;
  int cls;          /* 0: none yet; -1: returned; else otpc_rpc_class_t */
  otpc_buf_t val;   /* the value or reason */
  otpc_buf_t stack; /* for errors: [{M, F, Arity | Args, []}] */
};

/* Runs m:f(args) if registered (0), else sets error undef with the stack
 * [{M, F, Args, []}] as erpc reports it (OTPC_ENOTFOUND). The caller frees
 * c->val and c->stack. */
int otpc__rpc_run(otpc_rpc_t *r, otpc_proc_t *self, otpc_atom_t m,
                  otpc_atom_t f, otpc_term_t args, otpc_rpc_call_t *c);
/* The call's outcome as rpc:call returns it (value, thrown value or
 * {badrpc, {'EXIT', ...}}), appended to out. */
int otpc__rpc_rpc_result(const otpc_rpc_call_t *c, otpc_buf_t *out);

/* rex, user and logger_proxy (rex.c, log.c). */
int otpc__rex_start(otpc_rpc_t *r, otpc_rt_t *rt, otpc_pid_t *pid);
int otpc__log_start(otpc_rpc_t *r, otpc_rt_t *rt);
otpc_rt_t *otpc__rpc_rt(otpc_rpc_t *r);
/* otpc_rpc_log's work (rpc.c, under the service's lock). */
void otpc__rpc_log_locked(otpc_rpc_t *r, int level, const char *line);
/* Where logs are forwarded (OTPC_ATOM_NONE: nowhere). */
otpc_atom_t otpc__rpc_log_target(otpc_rpc_t *r);

/* The module otpc_node of otpc-node (rpc_node.c): echo/1, add/2, fail/1,
 * processes/0, and the process entry rpc_into/5. */
int otpc__rpc_register_otpc_node(otpc_rpc_t *r);

/* otpc-node's --log-to NODE (log_opt.c): copies argv without it into rest
 * (argc + 1 slots, NULL-terminated, *nrest entries) and sets *log_to to
 * its value, else to env (OTPC_NODE_LOG_TO, the older form) when non-empty,
 * else NULL. The value must be NAME@HOST. OTPC_EINVAL with a reason in
 * why on a missing, repeated or bad value. */
int otpc__rpc_log_to_arg(int argc, char **argv, char **rest, int *nrest,
                         const char *env, const char **log_to, char *why,
                         size_t why_cap);
#define OTPC__RPC_LOG_TO_USAGE "                 [--log-to NODE@HOST]\n"

#endif
