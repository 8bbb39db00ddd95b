/* epmd on a libuv loop (the node's): PORT_PLEASE2 lookups that never block
 * the loop, and the embedded epmd-compatible server a node runs when
 * nothing answers on the epmd port. Both use the sans-IO codecs and the
 * registry of epmd_proto.h; everything here runs on the loop's thread. */
#ifndef OTPC_CNODE_DIST_EPMD_UV_H
#define OTPC_CNODE_DIST_EPMD_UV_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "otpc/error.h"

/* ------------------------------------------------------------ lookups */

/* rc 0: *addr is the node's address and port. Else a negative code and
 * `why` says what failed ("no epmd on HOST:PORT", "NAME is not registered
 * with epmd on HOST", ...). */
typedef void (*otpc__epmd_lookup_cb)(void *ud, int rc,
                                     const struct sockaddr_in *addr,
                                     const char *why);

/* The lookups under way, so that a stopping node can end them. */
typedef struct otpc__epmd_lookups {
  struct epmd_lookup *head;
  uv_loop_t *loop;
  unsigned timeout_ms; /* per lookup, resolution and epmd round trip */
} otpc__epmd_lookups_t;

/* Resolves `host` (asynchronously), asks its epmd for `alive`'s port and
 * calls cb once, from the loop, never from inside this call. */
int otpc__epmd_lookup(otpc__epmd_lookups_t *ls, const char *host,
                      uint16_t epmd_port, const char *alive, size_t alive_len,
                      otpc__epmd_lookup_cb cb, void *ud);
/* Ends every lookup: each callback runs once more with OTPC_EINVAL and
 * "node stopping", then the handles close. */
void otpc__epmd_lookups_stop(otpc__epmd_lookups_t *ls);

/* ------------------------------------------------- the embedded server */

typedef struct otpc__epmd_host otpc__epmd_host_t;

/* Listens on `port` on every address and serves ALIVE2, PORT_PLEASE2 and
 * NAMES as the real epmd does (epmd_proto.h). OTPC_EINVAL with err when
 * the port cannot be bound (another epmd came up meanwhile). */
int otpc__epmd_host_start(uv_loop_t *loop, uint16_t port,
                          otpc__epmd_host_t **out, otpc_err_t *err);
/* Registers the node itself (for as long as the server runs); its
 * creation as epmd's ALIVE2 answer gives it. */
int otpc__epmd_host_register(otpc__epmd_host_t *h, const char *alive,
                             size_t alive_len, uint16_t port,
                             uint32_t *creation, otpc_err_t *err);
/* Closes the listener and every client connection; frees h once closed
 * (the loop must run on for that). */
void otpc__epmd_host_close(otpc__epmd_host_t *h);

#endif
