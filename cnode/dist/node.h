/* A distributed node: the sans-IO codecs of cnode/dist/ on a libuv loop of
 * its own, joined to a process runtime (cnode/runtime/rt_remote.h).
 *
 * otpc__node_start registers the name with epmd (the socket stays open for
 * the node's life), listens, starts a runtime whose pids carry that name
 * and epmd's creation, installs the runtime's remote hook and spawns a
 * registered `net_kernel` process that answers is_auth (net_adm:ping). */
#ifndef OTPC_CNODE_DIST_NODE_H
#define OTPC_CNODE_DIST_NODE_H

#include <stdbool.h>
#include <stdint.h>

#include "otpc/error.h"
#include "otpc/process.h"

typedef struct otpc__node otpc__node_t;

typedef struct otpc__node_opts {
  const char *name;    /* alive@host */
  const char *cookie;  /* NULL: ~/.erlang.cookie, created as erl does */
  bool hidden;         /* connect as a hidden node */
  unsigned ticktime;   /* net_ticktime in seconds; 0: 60 */
  uint16_t epmd_port;  /* 0: $ERL_EPMD_PORT or 4369 */
  unsigned schedulers; /* runtime scheduler threads; 0: online CPUs */
  /* Log lines (connections up and down, refused handshakes); NULL: stderr. */
  void (*log)(void *ud, const char *line);
  void *log_ud;
} otpc__node_opts_t;

int otpc__node_start(const otpc__node_opts_t *opts, otpc__node_t **out,
                     otpc_err_t *err);
otpc_rt_t *otpc__node_rt(otpc__node_t *n);
const char *otpc__node_name(const otpc__node_t *n);
/* Stops the runtime's processes (exits reach remote links and monitors),
 * closes every connection and the epmd registration, frees the node. */
void otpc__node_stop(otpc__node_t *n);

#endif
