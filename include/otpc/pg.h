/* Process groups as OTP's pg: named scopes, each run by a process
 * registered under the scope's name that speaks pg's protocol with the
 * scope processes of the same name on the other nodes ({discover, Peer},
 * {'$gen_cast', {sync, Peer, Groups}}, {join, ...}, {leave, ...}), so
 * pg:get_members/2 on a BEAM node sees C members and the C side sees BEAM
 * members. Members are monitored: a member that exits leaves every group,
 * and the members of a node whose scope process goes down (node loss
 * included) disappear, as in pg. A process may join a group several
 * times and then appears as many times.
 *
 * Every function here is thread-safe and may be called from any thread or
 * process; the group table is guarded by a lock, as pg's is an ETS table,
 * so a join is visible to get_members as soon as it returns. */
#ifndef OTPC_PG_H
#define OTPC_PG_H

#include <stddef.h>

#include "otpc/atom.h"
#include "otpc/buf.h"
#include "otpc/error.h"
#include "otpc/node.h"
#include "otpc/process.h"
#include "otpc/term.h"

#ifdef __cplusplus
extern "C" {
#endif

/* pg:start_link(Scope): spawns the scope process registered as `scope` in
 * rt. With `node` (the node whose runtime rt is), the scope discovers the
 * same scope on every visible node now and on each nodeup; with NULL it is
 * a local scope. OTPC_EINVAL if the name is taken. *pid may be NULL. */
int otpc_pg_start_scope(otpc_rt_t *rt, otpc_node_t *node, otpc_atom_t scope,
                        otpc_pid_t *pid);

/* pg:join(Scope, Group, Pid): `pid` must be a process of rt's node
 * (OTPC_EINVAL otherwise); OTPC_ENOTFOUND if rt runs no such scope. A dead
 * pid joins and leaves again once the scope sees it is dead, as in pg. */
int otpc_pg_join(otpc_rt_t *rt, otpc_atom_t scope, otpc_term_t group,
                 otpc_pid_t pid);
/* pg:leave(Scope, Group, Pid): removes one membership; OTPC_ENOTFOUND if the
 * pid had not joined the group (pg's not_joined) or there is no scope. */
int otpc_pg_leave(otpc_rt_t *rt, otpc_atom_t scope, otpc_term_t group,
                  otpc_pid_t pid);

/* pg:get_members(Scope, Group), every node's members: *pids is malloc'ed
 * (the caller frees it; NULL when *n is 0). get_local_members: only this
 * node's. OTPC_ENOTFOUND if rt runs no such scope (pg answers []). */
int otpc_pg_get_members(otpc_rt_t *rt, otpc_atom_t scope, otpc_term_t group,
                        otpc_pid_t **pids, size_t *n);
int otpc_pg_get_local_members(otpc_rt_t *rt, otpc_atom_t scope,
                              otpc_term_t group, otpc_pid_t **pids, size_t *n);
/* pg:which_groups(Scope): appends one list term (no version byte) of the
 * groups that have members, in no particular order. */
int otpc_pg_which_groups(otpc_rt_t *rt, otpc_atom_t scope, otpc_buf_t *out);

#ifdef __cplusplus
}
#endif

#endif
