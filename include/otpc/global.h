/* global names for the C node, without running global's locking protocol.
 *
 * OTP's global keeps its name table on every node of a "known" partition
 * and changes it under a cluster-wide lock negotiated by each node's
 * global_name_server and locker. The C node does not take part in that
 * (see docs/services.md, "global"): its `global_name_server` process
 * answers the init_connect every visible BEAM node sends it with
 * {in_sync, Node, true}, global's own message for "we are in sync", so
 * the BEAM marks the C node synced and never waits for it: global:sync()
 * returns, and the C node is never part of a lock, so it can never hold
 * one up. Names of C pids registered from any BEAM node live in the BEAM
 * nodes' tables like any remote pid's, and go when the C node is lost.
 *
 * A C process registers and looks up names through a BEAM node of the
 * cluster (`via`), calling global there through its rex server, so the
 * registration takes the same lock as one made in Erlang. */
#ifndef OTPC_GLOBAL_H
#define OTPC_GLOBAL_H

#include <stdint.h>

#include "otpc/atom.h"
#include "otpc/error.h"
#include "otpc/gen_server.h"
#include "otpc/process.h"
#include "otpc/term.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Starts the registered `global_name_server` of a node's runtime. */
int otpc_global_start(otpc_rt_t *rt, otpc_pid_t *pid);

/* global:register_name(Name, Pid) run on node `via`: the continuation gets
 * the result as a gen_server call's (OK with yes | no, or NOPROC, TIMEOUT,
 * EXIT if `via` cannot run it: unreachable, it fails at once). `via` must
 * be a BEAM node: this node itself is OTPC_EINVAL (it holds no names). */
int otpc_global_register_name(otpc_proc_t *self, otpc_atom_t via,
                              otpc_term_t name, otpc_pid_t pid,
                              int64_t timeout_ms, otpc_gs_cont_fn cont,
                              void *ctx);
/* global:whereis_name(Name) on `via`: OK with a pid or undefined. */
int otpc_global_whereis_name(otpc_proc_t *self, otpc_atom_t via,
                             otpc_term_t name, int64_t timeout_ms,
                             otpc_gs_cont_fn cont, void *ctx);
/* global:unregister_name(Name) on `via`: OK with _ (always ok). */
int otpc_global_unregister_name(otpc_proc_t *self, otpc_atom_t via,
                                otpc_term_t name, int64_t timeout_ms,
                                otpc_gs_cont_fn cont, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
