/* rpc and erpc into C, remote spawn, rex, and logs of a C node.
 *
 * otpc_rpc_start attaches the service to a node: from then on
 *  - erpc:call/cast/multicall and rpc:call/cast/multicall (which in OTP 25
 *    are SPAWN_REQUESTs of erpc:execute_call/4 and execute_cast/3) run the
 *    C functions registered with otpc_rpc_register, each call in a fresh C
 *    process, and report results, throws, errors and exits exactly as
 *    erpc does for an Erlang function; an unregistered function is `undef`
 *    with the stack [{M, F, Args, []}], as erpc reports it for a BEAM node;
 *  - spawn/4, spawn_link/4, spawn_monitor/4 and erlang:spawn_request/5
 *    towards the node start the process classes registered with
 *    otpc_rpc_register_process (any other M:F/A gives a process that
 *    exits with {undef, [{M, F, Args, []}]}, as on the BEAM);
 *  - a registered `rex` answers {From, features_request} and the legacy
 *    {From, {call, M, F, A, GL}} (what ei_rpc sends), gen_server calls
 *    {call, M, F, A, GL} and casts {cast, M, F, A, GL};
 *  - a registered `user` answers io requests (put_chars is printed through
 *    the node's log function) and a registered `logger_proxy` prints the
 *    log events BEAM processes whose group leader is here send to it. */
#ifndef OTPC_RPC_H
#define OTPC_RPC_H

#include <stdint.h>

#include "otpc/node.h"
#include "otpc/process.h"
#include "otpc/term.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct otpc_rpc otpc_rpc_t;
typedef struct otpc_rpc_call otpc_rpc_call_t;

/* Starts the service on a started node (at most one per node). */
int otpc_rpc_start(otpc_node_t *n, otpc_rpc_t **out);
/* Frees it; only after otpc_node_stop(n). */
void otpc_rpc_free(otpc_rpc_t *r);

/* A registered function. It runs in the calling C process (otpc_rpc_proc)
 * with `args`, the argument list (a view valid during the call), and
 * answers with one of otpc_rpc_return or otpc_rpc_raise before it returns;
 * if it sets nothing, the call raises error {otpc_rpc, no_result}. */
typedef void (*otpc_rpc_fn)(otpc_rpc_call_t *call, otpc_term_t args, void *ud);

/* Registers mod:fun/arity (replacing an earlier registration). */
int otpc_rpc_register(otpc_rpc_t *r, const char *mod, const char *fun,
                      unsigned arity, otpc_rpc_fn fn, void *ud);

/* The same for a function that needs no process: it runs on the node's
 * distribution thread as soon as an erpc:call or rpc:call arrives and its
 * result leaves in the same write, which saves the two thread hand-offs of
 * a call process (bench/rpc). It must be short and must not block or
 * wait; otpc_rpc_proc returns NULL in it. Casts, and calls with link
 * options, still run it in a process. */
int otpc_rpc_register_inline(otpc_rpc_t *r, const char *mod, const char *fun,
                             unsigned arity, otpc_rpc_fn fn, void *ud);

typedef enum otpc_rpc_class {
  OTPC_RPC_THROW = 1, /* throw(Reason) */
  OTPC_RPC_ERROR,     /* error(Reason): erpc adds [{M, F, Arity, []}] */
  OTPC_RPC_EXIT       /* exit(Reason) */
} otpc_rpc_class_t;

/* The result (the term is copied); a later answer replaces an earlier. */
int otpc_rpc_return(otpc_rpc_call_t *call, otpc_term_t value);
int otpc_rpc_returnf(otpc_rpc_call_t *call, const char *fmt, ...);
int otpc_rpc_raise(otpc_rpc_call_t *call, otpc_rpc_class_t cls,
                   otpc_term_t reason);
int otpc_rpc_raisef(otpc_rpc_call_t *call, otpc_rpc_class_t cls,
                    const char *fmt, ...);
otpc_proc_t *otpc_rpc_proc(otpc_rpc_call_t *call);
otpc_rpc_t *otpc_rpc_service(otpc_rpc_call_t *call);

/* Registers a process entry for remote spawns of mod:fun/arity: the new
 * process runs `cls` and its init gets, as `arg`, an otpc_msg_t * holding
 * the argument list, which init owns (otpc_msg_unref it). */
int otpc_rpc_register_process(otpc_rpc_t *r, const char *mod, const char *fun,
                              unsigned arity, const otpc_proc_class_t *cls);

/* rpc:call(Node, M, F, Args, Timeout) from a C process, through the
 * node's rex (the legacy protocol every BEAM node serves): cont gets the
 * reply {rex, Result} as rpc:call returns Result (a value, a thrown value,
 * {badrpc, {'EXIT', ...}}), or msg == NULL after timeout_ms (-1: forever).
 * `args` is the argument list. */
int otpc_rpc_call_remote(otpc_proc_t *self, otpc_atom_t node, const char *mod,
                         const char *fun, otpc_term_t args, int64_t timeout_ms,
                         otpc_cont_fn cont, void *ctx);

/* erpc:call(Node, M, F, Args, Timeout) from a C process, as erpc does it:
 * a SPAWN_REQUEST of erpc:execute_call/4 with a monitor. cont gets a
 * message {erpc_reply, Ref, Outcome}, Outcome {return, V} | {throw, T} |
 * {exit, R} | {error, R, Stack} (the exception erpc:call would raise, as a
 * term) | {error, {erpc, Reason}} (noconnection, notsup, a failed
 * spawn...), or msg == NULL after
 * timeout_ms (-1: forever); a DOWN arriving after a timeout stays in the
 * mailbox as {'DOWN', ...}. `args` is the argument list. */
int otpc_erpc_call(otpc_proc_t *self, otpc_atom_t node, const char *mod,
                   const char *fun, otpc_term_t args, int64_t timeout_ms,
                   otpc_cont_fn cont, void *ctx);

/* Logs of this node's processes (crash reports, warnings: every line the
 * node's log function gets) are also sent to the logger of `node`, where
 * they arrive as ordinary logger events ({log, Level, "~ts", [Text],
 * #{otpc_node => ThisNode}} through that node's logger_proxy). A NULL or
 * empty node stops forwarding. */
int otpc_rpc_forward_logs(otpc_rpc_t *r, const char *node);
/* Hands one log line to the forwarder (call it from the node's log
 * function); level is an OTPC_LOG_* value. Never blocks. */
void otpc_rpc_log(otpc_rpc_t *r, int level, const char *line);

#ifdef __cplusplus
}
#endif

#endif
