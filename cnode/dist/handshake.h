/* The distribution handshake (version 6, OTP 23+), sans IO, both roles.
 *
 * Feed the bytes read from the socket to otpc__hs_feed; write whatever it
 * leaves in hs->out, then empty it (hs->out.len = 0). Each call returns an
 * event: NONE (more bytes needed), a decision the node must take (then
 * answer it with otpc__hs_decide and go on feeding), REFUSED (the peer said
 * no: nok, not_allowed, or we answered false to alive) or DONE. A negative
 * return is a failed handshake with err naming the reason, as OTP logs it
 * where it logs one; write hs->out before closing (an acceptor may have
 * queued "snot_allowed" for the peer).
 *
 * otpc__hs_feed stops at the end of the packet it completes, so the bytes
 * after the final packet ('a' or 'r' + ack) are left to the caller: they
 * are already the 4-byte-framed traffic of the connection. */
#ifndef OTPC_CNODE_DIST_HANDSHAKE_H
#define OTPC_CNODE_DIST_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otpc/buf.h"
#include "otpc/error.h"

/* Distribution flags (dist.hrl / dist.h). */
#define OTPC__DFLAG_PUBLISHED 0x1ull
#define OTPC__DFLAG_ATOM_CACHE 0x2ull
#define OTPC__DFLAG_EXTENDED_REFERENCES 0x4ull
#define OTPC__DFLAG_DIST_MONITOR 0x8ull
#define OTPC__DFLAG_FUN_TAGS 0x10ull
#define OTPC__DFLAG_DIST_MONITOR_NAME 0x20ull
#define OTPC__DFLAG_HIDDEN_ATOM_CACHE 0x40ull
#define OTPC__DFLAG_NEW_FUN_TAGS 0x80ull
#define OTPC__DFLAG_EXTENDED_PIDS_PORTS 0x100ull
#define OTPC__DFLAG_EXPORT_PTR_TAG 0x200ull
#define OTPC__DFLAG_BIT_BINARIES 0x400ull
#define OTPC__DFLAG_NEW_FLOATS 0x800ull
#define OTPC__DFLAG_UNICODE_IO 0x1000ull
#define OTPC__DFLAG_DIST_HDR_ATOM_CACHE 0x2000ull
#define OTPC__DFLAG_SMALL_ATOM_TAGS 0x4000ull
#define OTPC__DFLAG_UTF8_ATOMS 0x10000ull
#define OTPC__DFLAG_MAP_TAG 0x20000ull
#define OTPC__DFLAG_BIG_CREATION 0x40000ull
#define OTPC__DFLAG_SEND_SENDER 0x80000ull
#define OTPC__DFLAG_BIG_SEQTRACE_LABELS 0x100000ull
#define OTPC__DFLAG_EXIT_PAYLOAD 0x400000ull
#define OTPC__DFLAG_FRAGMENTS 0x800000ull
#define OTPC__DFLAG_HANDSHAKE_23 0x1000000ull
#define OTPC__DFLAG_UNLINK_ID 0x2000000ull
#define OTPC__DFLAG_MANDATORY_25_DIGEST 0x4000000ull
#define OTPC__DFLAG_SPAWN (1ull << 32)
#define OTPC__DFLAG_NAME_ME (2ull << 32)
#define OTPC__DFLAG_V4_NC (4ull << 32)
#define OTPC__DFLAG_ALIAS (8ull << 32)

/* What OTP 25 requires of a peer (erts_internal:get_dflags() mandatory),
 * which MANDATORY_25_DIGEST stands for. */
#define OTPC__DFLAGS_MANDATORY_25                                              \
  (OTPC__DFLAG_EXTENDED_REFERENCES | OTPC__DFLAG_FUN_TAGS |                    \
   OTPC__DFLAG_NEW_FUN_TAGS | OTPC__DFLAG_EXTENDED_PIDS_PORTS |                \
   OTPC__DFLAG_EXPORT_PTR_TAG | OTPC__DFLAG_BIT_BINARIES |                     \
   OTPC__DFLAG_NEW_FLOATS | OTPC__DFLAG_UTF8_ATOMS | OTPC__DFLAG_MAP_TAG |     \
   OTPC__DFLAG_BIG_CREATION | OTPC__DFLAG_HANDSHAKE_23)

/* Our flags (PROTOCOL.md): everything we implement, without the atom cache;
 * add PUBLISHED for a visible node. */
#define OTPC__DFLAGS_OTPC                                                      \
  (OTPC__DFLAGS_MANDATORY_25 | OTPC__DFLAG_MANDATORY_25_DIGEST |               \
   OTPC__DFLAG_DIST_MONITOR | OTPC__DFLAG_DIST_MONITOR_NAME |                  \
   OTPC__DFLAG_UNICODE_IO | OTPC__DFLAG_SMALL_ATOM_TAGS |                      \
   OTPC__DFLAG_SEND_SENDER | OTPC__DFLAG_BIG_SEQTRACE_LABELS |                 \
   OTPC__DFLAG_EXIT_PAYLOAD | OTPC__DFLAG_FRAGMENTS | OTPC__DFLAG_UNLINK_ID |  \
   OTPC__DFLAG_SPAWN | OTPC__DFLAG_V4_NC | OTPC__DFLAG_ALIAS)

/* A peer's flags with MANDATORY_25_DIGEST expanded, as OTP reads them. */
uint64_t otpc__dflags_expand(uint64_t flags);
/* Appends the OTP names of the flags in `missing` as an Erlang list of
 * strings, ["MAP_TAG","BIG_CREATION"], lowest bit first. */
int otpc__dflags_names(otpc_buf_t *out, uint64_t missing);

typedef enum otpc__hs_role {
  OTPC__HS_INITIATOR = 1, /* we dialled (A in the protocol's figures) */
  OTPC__HS_ACCEPTOR       /* they dialled (B) */
} otpc__hs_role_t;

/* The status the acceptor sends after send_name. */
typedef enum otpc__hs_status {
  OTPC__HS_OK = 1,
  OTPC__HS_OK_SIMULTANEOUS,
  OTPC__HS_NOK,
  OTPC__HS_NOT_ALLOWED,
  OTPC__HS_ALIVE,
  OTPC__HS_NAMED /* answer to a DFLAG_NAME_ME peer */
} otpc__hs_status_t;

typedef enum otpc__hs_event {
  OTPC__HS_EV_NONE = 0, /* feed more bytes */
  /* Acceptor: send_name arrived and passed the checks (name syntax,
   * mandatory flags); peer_name/peer_flags/peer_creation are set. The node
   * asks its allow list and net_kernel's mark_pending rule, then calls
   * otpc__hs_decide with OK, OK_SIMULTANEOUS, NOK, NOT_ALLOWED, ALIVE (a
   * connection to that node is up) or, if peer_name_me, NAMED. */
  OTPC__HS_EV_PEER_NAME,
  /* Initiator: the acceptor answered "alive" (it has a connection to us).
   * Decide OK ("true": the old connection is dead, take this one) or NOK
   * ("false": give up). */
  OTPC__HS_EV_ALIVE,
  /* The peer refused, or we refused (nok, not_allowed, alive answered
   * false): peer_status says which. Close the connection. */
  OTPC__HS_EV_REFUSED,
  /* Handshake complete: flags (the negotiated set), peer_name,
   * peer_creation are final. From now on frames are 4-byte framed. */
  OTPC__HS_EV_DONE
} otpc__hs_event_t;

#define OTPC__HS_MAX_NAME 1023 /* bytes of a node name (255 chars + @host) */

typedef struct otpc__hs_config {
  otpc__hs_role_t role;
  const char *name;   /* our node name, alive@host; for a NAME_ME initiator
                         just the host */
  uint64_t flags;     /* our flags, e.g. OTPC__DFLAGS_OTPC */
  uint32_t creation;  /* our creation (from epmd) */
  const char *cookie; /* cookie for this peer */
  /* Initiator: the node we dial; the challenge must carry exactly it. */
  const char *peer_name;
  /* Our challenge, a fresh random number from the caller (no IO here). */
  uint32_t challenge;
  /* Flags the peer must have (0 means OTPC__DFLAGS_MANDATORY_25). */
  uint64_t required;
} otpc__hs_config_t;

typedef struct otpc__hs {
  otpc_buf_t out; /* bytes to write to the peer */
  /* Results, filled as the handshake goes. */
  char peer_name[OTPC__HS_MAX_NAME + 1];
  size_t peer_name_len;
  uint64_t peer_flags; /* as sent, MANDATORY_25_DIGEST expanded */
  uint32_t peer_creation;
  bool peer_name_me;             /* acceptor: the peer asked us to name it */
  uint64_t flags;                /* negotiated: ours AND theirs */
  otpc__hs_status_t peer_status; /* the status sent or received */
  /* Initiator with NAME_ME: the name and creation the acceptor gave us. */
  char my_name[OTPC__HS_MAX_NAME + 1];
  uint32_t my_creation;
  /* Internal. */
  int state;
  otpc__hs_role_t role;
  uint64_t my_flags, required;
  uint32_t challenge, peer_challenge;
  char cookie[256];
  size_t cookie_len;
  otpc_buf_t in; /* the packet being assembled */
} otpc__hs_t;

/* Initialises; an initiator's send_name is then already in hs->out. */
int otpc__hs_init(otpc__hs_t *hs, const otpc__hs_config_t *cfg,
                  otpc_err_t *err);
void otpc__hs_free(otpc__hs_t *hs);
/* Consumes bytes up to the end of at most one packet (*used says how
 * many) and returns an event or a negative OTPC_E* code. */
int otpc__hs_feed(otpc__hs_t *hs, const uint8_t *data, size_t len, size_t *used,
                  otpc_err_t *err);
/* Answers EV_PEER_NAME (acceptor) or EV_ALIVE (initiator). For NAMED,
 * `name`/`creation` are what the peer is told to be (else NULL/0). Returns
 * OTPC__HS_EV_NONE to go on, OTPC__HS_EV_REFUSED when the answer ends the
 * handshake (NOK, NOT_ALLOWED, or false to alive), or an error. */
int otpc__hs_decide(otpc__hs_t *hs, otpc__hs_status_t status, const char *name,
                    uint32_t creation, otpc_err_t *err);

/* Whether an initiator has sent its challenge reply and waits for the ack:
 * a peer that closes then refused our digest (OTP's acceptor closes there
 * only for a wrong cookie). */
bool otpc__hs_awaits_ack(const otpc__hs_t *hs);

/* MD5(cookie ++ decimal(challenge)), the digest both sides compute. */
void otpc__hs_digest(const char *cookie, size_t cookie_len, uint32_t challenge,
                     uint8_t digest[16]);

/* Node name syntax as OTP's acceptor checks it: alive@host, both parts
 * non-empty, exactly one @, UTF-8, at most 255 characters. Returns 0 or
 * OTPC_EINVAL with err saying what is wrong. */
int otpc__node_name_check(const char *name, size_t len, otpc_err_t *err);

#endif
