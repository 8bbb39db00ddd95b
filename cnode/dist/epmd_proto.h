/* The epmd protocol, sans IO: encoders and incremental decoders for both
 * sides (a node talking to epmd, and our embedded epmd talking to nodes),
 * plus the embedded epmd's registry. Nothing here touches a socket or a
 * clock: bytes and the current time come in, bytes and decisions go out.
 *
 * Decoders share one convention: they return the number of bytes the
 * message spans (> 0) when it is complete, 0 when more bytes are needed,
 * or a negative OTPC_E* code with err filled. Decoded names and extras are
 * views into the caller's bytes. */
#ifndef OTPC_CNODE_DIST_EPMD_PROTO_H
#define OTPC_CNODE_DIST_EPMD_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otpc/buf.h"
#include "otpc/error.h"

enum {
  OTPC__EPMD_PORT = 4369,
  OTPC__EPMD_ALIVE2_REQ = 120,    /* 'x' */
  OTPC__EPMD_ALIVE2_RESP = 121,   /* 'y', 16-bit creation (highest < 6) */
  OTPC__EPMD_ALIVE2_X_RESP = 118, /* 'v', 32-bit creation (highest >= 6) */
  OTPC__EPMD_PORT2_REQ = 122,     /* 'z' */
  OTPC__EPMD_PORT2_RESP = 119,    /* 'w' */
  OTPC__EPMD_NAMES_REQ = 110,     /* 'n' */
  OTPC__EPMD_DUMP_REQ = 100,      /* 'd' */
  OTPC__EPMD_KILL_REQ = 107,      /* 'k' */
  OTPC__EPMD_STOP_REQ = 115,      /* 's' */
  /* Node types: the BEAM always registers 'M' (hidden or not), ei 'h'.
   * Nobody reads it back, so we register as the BEAM does. */
  OTPC__EPMD_TYPE_NORMAL = 77,
  OTPC__EPMD_TYPE_HIDDEN = 104,
  OTPC__EPMD_PROTO_TCP = 0,
  /* We speak handshake version 6 only (OTP 25 accepts nothing else). */
  OTPC__EPMD_DIST_VSN = 6,
  /* Longest node name part epmd accepts: 255 characters of UTF-8. */
  OTPC__EPMD_MAX_NAME_BYTES = 1020,
  /* Largest request our server reads; real requests are far smaller. */
  OTPC__EPMD_MAX_REQ = 4096
};

/* A registration as carried by ALIVE2_REQ and PORT2_RESP. */
typedef struct otpc__epmd_node {
  uint16_t port;
  uint8_t type;
  uint8_t proto;
  uint16_t highest;
  uint16_t lowest;
  const uint8_t *name; /* the alive part only, no @host */
  size_t name_len;
  const uint8_t *extra;
  size_t extra_len;
} otpc__epmd_node_t;

/* ----------------------------------------------------------- client */

/* Each appends a whole request, 2-byte length first. ALIVE2 registers
 * versions 6/6 and the given type (OTPC__EPMD_TYPE_NORMAL normally). */
int otpc__epmd_enc_alive2(otpc_buf_t *out, uint16_t port, uint8_t type,
                          const char *name, size_t name_len, const void *extra,
                          size_t extra_len);
int otpc__epmd_enc_port2(otpc_buf_t *out, const char *name, size_t name_len);
int otpc__epmd_enc_names(otpc_buf_t *out);

/* ALIVE2_X_RESP ('v', 32-bit creation) or ALIVE2_RESP ('y', 16-bit).
 * *result is epmd's result byte: 0 is success, anything else a refusal
 * (name taken); the creation is meaningless then (epmd sends 99). */
int otpc__epmd_dec_alive2_resp(const uint8_t *p, size_t n, uint8_t *result,
                               uint32_t *creation, otpc_err_t *err);
/* PORT2_RESP: *found is false for an unknown name ('w' with a non-zero
 * result, 2 bytes); else node is filled (views into p). */
int otpc__epmd_dec_port2_resp(const uint8_t *p, size_t n, bool *found,
                              otpc__epmd_node_t *node, otpc_err_t *err);

/* NAMES_RESP has no length: it ends when epmd closes the socket, so the
 * caller passes everything it read once the peer has closed. */
typedef struct otpc__epmd_names {
  uint32_t epmd_port;
  const uint8_t *p, *end; /* the text lines not yet read */
} otpc__epmd_names_t;
int otpc__epmd_dec_names(const uint8_t *p, size_t n, otpc__epmd_names_t *it,
                         otpc_err_t *err);
/* Next "name NAME at port PORT\n" line: 1 with a view of the name, 0 at the
 * end, or OTPC_EINVAL for a line of another form. */
int otpc__epmd_names_next(otpc__epmd_names_t *it, const uint8_t **name,
                          size_t *name_len, uint16_t *port, otpc_err_t *err);

/* ----------------------------------------------------------- server */

typedef enum otpc__epmd_req_kind {
  OTPC__EPMD_REQ_ALIVE2 = 1,
  OTPC__EPMD_REQ_PORT2,
  OTPC__EPMD_REQ_NAMES,
  OTPC__EPMD_REQ_DUMP,
  OTPC__EPMD_REQ_KILL,
  OTPC__EPMD_REQ_STOP
} otpc__epmd_req_kind_t;

typedef struct otpc__epmd_req {
  otpc__epmd_req_kind_t kind;
  otpc__epmd_node_t node; /* ALIVE2 */
  const uint8_t *name;    /* PORT2 and STOP: the name asked for */
  size_t name_len;
} otpc__epmd_req_t;

/* Decodes one request (2-byte length framing included). An empty request,
 * an unknown one, one over OTPC__EPMD_MAX_REQ or a truncated ALIVE2 is an
 * error: the real epmd closes the connection without a word then. */
int otpc__epmd_dec_req(const uint8_t *p, size_t n, otpc__epmd_req_t *req,
                       otpc_err_t *err);

/* The embedded epmd's registry, the policy of the real epmd (observed on
 * OTP 25's): a name is registered while the connection that sent its
 * ALIVE2 stays open; a new name gets the current Unix time as creation, a
 * name seen before (kept in a bounded list of old names) its old creation
 * plus 1; a registration below version 6 gets (creation % 3) + 1 in 16
 * bits. NAMES lists the newest registration first. */
typedef struct otpc__epmd_entry {
  uint64_t conn; /* the caller's id of the registering connection */
  uint32_t creation;
  uint16_t port, highest, lowest;
  uint8_t type, proto;
  char *name;
  size_t name_len;
  uint8_t *extra;
  size_t extra_len;
} otpc__epmd_entry_t;

typedef struct otpc__epmd_srv {
  uint16_t epmd_port;      /* ours, echoed at the start of NAMES_RESP */
  otpc__epmd_entry_t *reg; /* live registrations, oldest first */
  size_t nreg, capreg;
  otpc__epmd_entry_t *old; /* names no longer registered, oldest first */
  size_t nold, capold;
  size_t max_nodes; /* registrations refused beyond this (default 1000) */
} otpc__epmd_srv_t;

int otpc__epmd_srv_init(otpc__epmd_srv_t *s, uint16_t epmd_port);
void otpc__epmd_srv_free(otpc__epmd_srv_t *s);

/* Answers a decoded request that arrived on connection `conn` at Unix time
 * `now`: appends the response bytes (possibly none) to out and sets *keep
 * when the connection must stay open (a successful ALIVE2), else the
 * caller closes it once out is written. As the real epmd without
 * -relaxed_command_check, KILL is answered "NO" while nodes are registered
 * and "OK" otherwise (*kill is then set: the caller stops its epmd); STOP
 * and DUMP are refused by closing without a word (DUMP exposes nothing a
 * peer needs, and STOP would let anyone unregister a node). */
int otpc__epmd_srv_handle(otpc__epmd_srv_t *s, uint64_t conn,
                          const otpc__epmd_req_t *req, uint64_t now,
                          otpc_buf_t *out, bool *keep, bool *kill,
                          otpc_err_t *err);
/* The connection closed: unregisters its node, if any. */
void otpc__epmd_srv_closed(otpc__epmd_srv_t *s, uint64_t conn);

#endif
