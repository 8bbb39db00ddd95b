/* The seam between the process runtime and the distribution layer.
 *
 * Outgoing: signals to pids of other nodes go through the ops the
 * distribution layer installs with otpc__rt_set_remote. Without ops (or
 * when an op fails), a send is dropped and a link or monitor is answered
 * with `noconnection`, as on a node that cannot connect.
 *
 * Incoming: the distribution layer hands the signals it decodes to the
 * otpc__rt_remote_* functions, which deliver them to local processes as if
 * sent locally. When a connection goes down it must itself send
 * `noconnection` exits and DOWNs for the links and monitors it carried. */
#ifndef OTPC_CNODE_RUNTIME_RT_REMOTE_H
#define OTPC_CNODE_RUNTIME_RT_REMOTE_H

#include <stdbool.h>

#include "otpc/process.h"

/* Each op returns 0 if the signal was queued for the peer, else a negative
 * OTPC_E* code (the runtime then behaves as if the node were unreachable).
 * They may be called from any thread, scheduler threads included, and must
 * not block. */
typedef struct otpc__remote_ops {
  int (*send)(void *ud, otpc_pid_t from, otpc_pid_t to, otpc_msg_t *msg);
  int (*link)(void *ud, otpc_pid_t from, otpc_pid_t to);
  int (*unlink)(void *ud, otpc_pid_t from, otpc_pid_t to);
  /* exit/2 (link == false) or a linked process's exit (link == true). */
  int (*exit)(void *ud, otpc_pid_t from, otpc_pid_t to, otpc_term_t reason,
              bool link);
  int (*monitor)(void *ud, otpc_pid_t from, otpc_pid_t to,
                 const otpc_ref_t *ref);
  int (*demonitor)(void *ud, otpc_pid_t from, otpc_pid_t to,
                   const otpc_ref_t *ref);
  /* DOWN for a remote process that monitored a local one. */
  int (*down)(void *ud, otpc_pid_t from, otpc_pid_t to, const otpc_ref_t *ref,
              otpc_term_t reason);
  /* {Name, Node} ! Msg. May be NULL (the send is then dropped). */
  int (*reg_send)(void *ud, otpc_pid_t from, otpc_atom_t node, otpc_atom_t name,
                  otpc_msg_t *msg);
  /* monitor(process, {Name, Node}) under ref; the runtime records the
   * monitor with a pseudo pid {Node, 0, 0, 0} as its target, to which the
   * DOWN (from) and the demonitor (to) then refer. May be NULL
   * (noconnection). */
  int (*monitor_name)(void *ud, otpc_pid_t from, otpc_atom_t node,
                      otpc_atom_t name, const otpc_ref_t *ref);
  /* Alias ! Msg for an alias of another node. May be NULL (dropped). */
  int (*alias_send)(void *ud, otpc_pid_t from, const otpc_ref_t *alias,
                    otpc_msg_t *msg);
} otpc__remote_ops_t;

/* Installs (or with NULL removes) the ops; `ops` must outlive the runtime
 * or the next call. */
void otpc__rt_set_remote(otpc_rt_t *rt, const otpc__remote_ops_t *ops,
                         void *ud);
/* The installed ops (NULL if none) and their ud: how the distribution
 * layer finds its node from a process (otpc_monitor_node). */
const otpc__remote_ops_t *otpc__rt_remote(otpc_rt_t *rt, void **ud);
/* The pseudo pid standing for a node in by-name monitors. */
otpc_pid_t otpc__node_pid(otpc_atom_t node);
/* Whether the calling thread is one of a runtime's schedulers (a remote
 * op must not block it). */
bool otpc__rt_on_scheduler(void);

/* Incoming signals from remote pids to local ones. They return
 * OTPC_ENOTFOUND when the local pid is dead (for a link or monitor the
 * caller then answers the peer with an exit or DOWN of reason noproc). */
int otpc__rt_remote_send(otpc_rt_t *rt, otpc_pid_t to, otpc_msg_t *msg);
int otpc__rt_remote_link(otpc_rt_t *rt, otpc_pid_t from, otpc_pid_t to);
int otpc__rt_remote_unlink(otpc_rt_t *rt, otpc_pid_t from, otpc_pid_t to);
int otpc__rt_remote_exit(otpc_rt_t *rt, otpc_pid_t from, otpc_pid_t to,
                         otpc_term_t reason, bool link);
int otpc__rt_remote_monitor(otpc_rt_t *rt, otpc_pid_t from, otpc_pid_t to,
                            const otpc_ref_t *ref);
int otpc__rt_remote_demonitor(otpc_rt_t *rt, otpc_pid_t from, otpc_pid_t to,
                              const otpc_ref_t *ref);
int otpc__rt_remote_down(otpc_rt_t *rt, otpc_pid_t from, otpc_pid_t to,
                         const otpc_ref_t *ref, otpc_term_t reason);
/* A message to a local alias (alias.c): delivered while the alias is
 * active, else dropped (OTPC_ENOTFOUND). */
int otpc__rt_remote_alias_send(otpc_rt_t *rt, const otpc_ref_t *alias,
                               otpc_msg_t *msg);

#endif
