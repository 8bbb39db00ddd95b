/* A distributed C node: joins an Erlang cluster under a name, so that its
 * processes (otpc/process.h) are processes of the cluster, and watches the
 * other nodes as erlang:monitor_node/2 and net_kernel:monitor_nodes/2 do.
 *
 * otpc_node_start registers the name with epmd (or, when nothing answers
 * on the epmd port, serves that port itself as an epmd-compatible server
 * that BEAM nodes on the host can use), listens, starts a runtime whose
 * pids carry the name and the creation epmd gave, and a registered
 * `net_kernel` process answering is_auth, so net_adm:ping works. The
 * distribution runs on a thread of its own; every function here is
 * thread-safe unless it takes `self` (then: from that process only). */
#ifndef OTPC_NODE_H
#define OTPC_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otpc/atom.h"
#include "otpc/error.h"
#include "otpc/process.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct otpc_node otpc_node_t;

typedef struct otpc_node_opts {
  const char *name;    /* alive@host */
  const char *cookie;  /* NULL: ~/.erlang.cookie, created as erl does */
  bool hidden;         /* connect as a hidden node */
  unsigned ticktime;   /* net_ticktime in seconds; 0: 60 */
  uint16_t epmd_port;  /* 0: $ERL_EPMD_PORT or 4369 */
  unsigned schedulers; /* runtime scheduler threads; 0: online CPUs */
  /* Largest incoming message (control + payload bytes); a bigger one is
   * dropped with a log line naming the peer, the sender and the size.
   * 0: 64 MiB. */
  size_t max_message_size;
  /* dist_buf_busy_limit: a thread process (not on a scheduler) whose send
   * finds this many bytes of messages queued for that node waits until
   * the queue drops below it, or the connection goes. 0: 1 MiB. */
  size_t busy_limit;
  /* Log lines (connections up and down, refused handshakes); NULL: stderr. */
  void (*log)(void *ud, const char *line);
  void *log_ud;
} otpc_node_opts_t;

/* Bytes of messages queued for `node` (not yet written). */
size_t otpc_node_queued(otpc_node_t *n, otpc_atom_t node);

int otpc_node_start(const otpc_node_opts_t *opts, otpc_node_t **out,
                    otpc_err_t *err);
otpc_rt_t *otpc_node_rt(otpc_node_t *n);
const char *otpc_node_name(const otpc_node_t *n);
/* Whether this node serves the epmd port itself (nothing answered there). */
bool otpc_node_serves_epmd(const otpc_node_t *n);
/* Stops the runtime's processes (exits reach remote links and monitors),
 * closes every connection and the epmd registration, frees the node. */
void otpc_node_stop(otpc_node_t *n);

/* nodes/1: the nodes connected now. */
enum { OTPC_NODES_VISIBLE = 1, OTPC_NODES_HIDDEN = 2 };
/* *nodes is malloc'ed (the caller frees it), in no particular order. */
int otpc_node_list(otpc_node_t *n, unsigned which, otpc_atom_t **nodes,
                   size_t *count);

/* erlang:monitor_node(Node, true | false) for a process of a node's
 * runtime. On: the process gets {nodedown, Node} when the connection to
 * Node goes down, or at once if it cannot be made (the call connects as
 * OTP's does); one message per call. Off removes one such monitor. A
 * monitor of the local node does nothing, as in OTP. OTPC_EINVAL if the
 * runtime is not a node's. */
int otpc_monitor_node(otpc_proc_t *self, otpc_atom_t node, bool on);
/* net_kernel:monitor_nodes(true | false, [{node_type, all}] if
 * `hidden_too`): {nodeup, Node} and {nodedown, Node} for every visible (or
 * every) node that connects or disconnects from now on. One subscription
 * per call; off removes one made with the same `hidden_too`. Subscriptions
 * of a process that exited are dropped at the next event. */
int otpc_monitor_nodes(otpc_proc_t *self, bool on, bool hidden_too);

#ifdef __cplusplus
}
#endif

#endif
