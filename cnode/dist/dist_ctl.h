/* Distribution control messages (DOPs), sans IO: decode a control tuple
 * (and its payload) into a C struct, validated as erts validates it, and
 * encode one back. A malformed control message is a negative return with
 * err naming the operation, the element and what was expected; the BEAM
 * kills the connection for those ("Invalid distribution message"), and so
 * should we. Terms that may be anything (reasons, tokens, spawn options,
 * the payload) stay views into the caller's bytes. */
#ifndef OTPC_CNODE_DIST_DIST_CTL_H
#define OTPC_CNODE_DIST_DIST_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otpc/buf.h"
#include "otpc/error.h"
#include "otpc/term.h"

typedef enum otpc__dop {
  OTPC__DOP_LINK = 1,
  OTPC__DOP_SEND = 2,
  OTPC__DOP_EXIT = 3,
  OTPC__DOP_UNLINK = 4,
  OTPC__DOP_REG_SEND = 6,
  OTPC__DOP_GROUP_LEADER = 7,
  OTPC__DOP_EXIT2 = 8,
  OTPC__DOP_SEND_TT = 12,
  OTPC__DOP_EXIT_TT = 13,
  OTPC__DOP_REG_SEND_TT = 16,
  OTPC__DOP_EXIT2_TT = 18,
  OTPC__DOP_MONITOR_P = 19,
  OTPC__DOP_DEMONITOR_P = 20,
  OTPC__DOP_MONITOR_P_EXIT = 21,
  OTPC__DOP_SEND_SENDER = 22,
  OTPC__DOP_SEND_SENDER_TT = 23,
  OTPC__DOP_PAYLOAD_EXIT = 24,
  OTPC__DOP_PAYLOAD_EXIT_TT = 25,
  OTPC__DOP_PAYLOAD_EXIT2 = 26,
  OTPC__DOP_PAYLOAD_EXIT2_TT = 27,
  OTPC__DOP_PAYLOAD_MONITOR_P_EXIT = 28,
  OTPC__DOP_SPAWN_REQUEST = 29,
  OTPC__DOP_SPAWN_REQUEST_TT = 30,
  OTPC__DOP_SPAWN_REPLY = 31,
  OTPC__DOP_SPAWN_REPLY_TT = 32,
  OTPC__DOP_ALIAS_SEND = 33,
  OTPC__DOP_ALIAS_SEND_TT = 34,
  OTPC__DOP_UNLINK_ID = 35,
  OTPC__DOP_UNLINK_ID_ACK = 36
} otpc__dop_t;

/* SPAWN_REPLY flags. */
#define OTPC__SPAWN_FLAG_LINK 1u
#define OTPC__SPAWN_FLAG_MONITOR 2u

/* One control message. Which fields mean something depends on op:
 *   from      the sender: LINK, UNLINK(_ID/_ACK), EXIT*, REG_SEND,
 *             GROUP_LEADER (the leader), MONITOR_P / DEMONITOR_P (the
 *             watcher), MONITOR_P_EXIT* (the watched: from, or from_name
 *             for a monitor by name), SEND_SENDER*, ALIAS_SEND*,
 *             SPAWN_REQUEST* (the parent)
 *   to        the receiver pid: LINK, SEND*, EXIT*, UNLINK*, GROUP_LEADER,
 *             MONITOR_P / DEMONITOR_P (or to_name), MONITOR_P_EXIT*,
 *             SEND_SENDER*, SPAWN_REPLY*
 *   to_name   REG_SEND* (always), MONITOR_P / DEMONITOR_P by name
 *   ref       MONITOR_P, DEMONITOR_P, MONITOR_P_EXIT*, the alias of
 *             ALIAS_SEND*, the request id of SPAWN_REQUEST* / SPAWN_REPLY*
 *   id        UNLINK_ID, UNLINK_ID_ACK (1 .. 2^64-1)
 *   reason    EXIT, EXIT2, MONITOR_P_EXIT and _TT (inline), and for the
 *             PAYLOAD_* variants the payload (so both read it here)
 *   token     the seq_trace token of the _TT variants (p NULL otherwise)
 *   gl, mod, fun, arity, opts      SPAWN_REQUEST*
 *   spawn_flags, result_*          SPAWN_REPLY* (a pid, or an error atom)
 *   payload   the message (SEND*, REG_SEND*, SEND_SENDER*, ALIAS_SEND*),
 *             the reason (PAYLOAD_*) or the argument list (SPAWN_REQUEST*);
 *             p NULL for operations without payload. */
typedef struct otpc__dctl {
  otpc__dop_t op;
  otpc_pid_t from, to, gl;
  otpc_atom_t from_name, to_name; /* OTPC_ATOM_NONE when a pid is used */
  otpc_ref_t ref;
  uint64_t id;
  otpc_term_t reason, token;
  otpc_atom_t mod, fun;
  unsigned arity;
  otpc_term_t opts;
  unsigned spawn_flags;
  bool result_is_pid;
  otpc_pid_t result_pid;
  otpc_atom_t result_atom;
  otpc_term_t payload;
} otpc__dctl_t;

/* The name of an operation ("MONITOR_P"), or NULL for an unknown one. */
const char *otpc__dop_name(int op);

/* Decodes a control term and its payload (payload.p NULL when the message
 * had none). peer_node, if not OTPC_ATOM_NONE, is the node at the other
 * end: senders of links, unlinks, exits, monitors and spawn requests must
 * be its pids, as erts checks. Unknown operations are OTPC_ENOTSUP; any
 * other malformation OTPC_EBADTERM. */
int otpc__dctl_decode(otpc_term_t ctl, otpc_term_t payload,
                      otpc_atom_t peer_node, otpc__dctl_t *out,
                      otpc_err_t *err);

/* Appends the control term of c (no 131 version byte) to out, in the
 * canonical encoding. The payload, if the operation has one, is written
 * by the caller after it (dist_frame.h). Fields not used by c->op are
 * ignored; an unused `from_name`/`to_name` must be OTPC_ATOM_NONE. */
int otpc__dctl_encode(otpc_buf_t *out, const otpc__dctl_t *c, otpc_err_t *err);
/* Whether op carries a payload after its control term. */
bool otpc__dop_has_payload(int op);

#endif
