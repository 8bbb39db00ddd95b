/* A distributed node: the sans-IO codecs of cnode/dist/ on a libuv loop of
 * its own, joined to a process runtime (cnode/runtime/rt_remote.h). The
 * public face is include/otpc/node.h; see docs/dist.md ("The node"). */
#ifndef OTPC_CNODE_DIST_NODE_H
#define OTPC_CNODE_DIST_NODE_H

#include "otpc/node.h"

#include "dist_ctl.h"

/* Who runs incoming SPAWN_REQUESTs (cnode/services/rpc.c). spawn starts a
 * process for d (mod, fun, arity, opts; payload: the argument list) that
 * waits for `go`, and gives its pid and the SPAWN_REPLY flags wanted (1
 * link, 2 monitor), or returns < 0 with *err the reply's error atom. The
 * node sets up the link and monitor, sends SPAWN_REPLY, then calls go.
 * Or spawn returns 1 when it ran the request itself (a monitor-only call
 * of a function that needs no process): then the node sends SPAWN_REPLY
 * with *pid and at once the DOWN with *done (taken) as its reason. */
typedef struct otpc__spawn_hook {
  int (*spawn)(void *ud, const otpc__dctl_t *d, otpc_pid_t *pid,
               unsigned *flags, otpc_atom_t *err, otpc_msg_t **done);
  void (*go)(void *ud, otpc_pid_t pid);
  void *ud;
} otpc__spawn_hook_t;
/* spawn_request(Node, Mod, Fun, Args, [monitor]) from a C process with
 * the request id `ref` and group leader gl: the process then gets
 * {'DOWN', Ref, process, Pid, Reason} (noconnection if the node cannot be
 * reached or goes down first) or {spawn_reply, Ref, error, Reason}, as
 * plain messages. args is the argument list (not taken). */
int otpc__node_spawn_request(otpc_proc_t *self, otpc_atom_t node,
                             const otpc_ref_t *ref, otpc_atom_t mod,
                             otpc_atom_t fun, otpc_msg_t *args, otpc_pid_t gl);
/* Installs the hook (NULL: SPAWN_REPLY notsup); it must outlive the node. */
void otpc__node_set_spawn_hook(otpc_node_t *n, const otpc__spawn_hook_t *h);

#endif
