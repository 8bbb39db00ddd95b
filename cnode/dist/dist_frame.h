/* Distribution messages after the handshake, sans IO: the header of each
 * 4-byte-length frame and fragment reassembly on the way in; headers and
 * fragmentation on the way out.
 *
 * The 4-byte length framing itself is otpc_framer (packet 4) from the
 * term layer; this module takes frame bodies. A frame body is one of:
 *   empty                               a tick
 *   112 | 131 Ctl | [131 Payload]       pass-through, when neither
 *                                       FRAGMENTS nor DIST_HDR_ATOM_CACHE
 *                                       was negotiated (what ei speaks)
 *   131 68 0 | Ctl | [Payload]          normal header, no atom cache refs
 *   131 69 Seq:64 Frag:64 0 | Ctl | Part    first fragment
 *   131 70 Seq:64 Frag:64 | Part            following fragments
 * We never negotiate DIST_HDR_ATOM_CACHE, so a header with atom cache refs
 * is an error. */
#ifndef OTPC_CNODE_DIST_DIST_FRAME_H
#define OTPC_CNODE_DIST_DIST_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otpc/buf.h"
#include "otpc/error.h"
#include "otpc/term.h"

/* BEAM's fragment size (ERTS_DIST_FRAGMENT_SIZE). */
#define OTPC__DIST_FRAG_SIZE 65536u

typedef enum otpc__dist_mode {
  OTPC__DIST_PASS = 1, /* 'p' framing */
  OTPC__DIST_HDR,      /* 131,68 headers; no fragments */
  OTPC__DIST_HDR_FRAG  /* 131,68 headers and 131,69/70 fragments */
} otpc__dist_mode_t;

/* The mode that negotiated flags (otpc__hs_t.flags) give. */
otpc__dist_mode_t otpc__dist_mode(uint64_t flags);

/* One complete incoming message: the control term and the payload term
 * (payload.p == NULL when there is none), validated views. `owned` is NULL
 * when the views point into the frame that was passed in; for a
 * reassembled message it is the malloc'd buffer they point into, and it
 * belongs to the caller (free it, or keep it as the message's storage). */
typedef struct otpc__dist_msg {
  otpc_term_t ctl;
  otpc_term_t payload;
  uint8_t *owned;
  size_t owned_len;
  size_t size; /* OTPC__DIST_DROPPED: the message's bytes (ctl + payload) */
} otpc__dist_msg_t;

typedef struct otpc__dist_seq otpc__dist_seq_t;

typedef struct otpc__dist_in {
  otpc__dist_mode_t mode;
  size_t max_msg;     /* largest message (ctl + payload bytes) */
  size_t max_pending; /* bytes held by all unfinished sequences */
  size_t max_seqs;    /* unfinished sequences at once */
  /* A message over max_msg is skipped and reported as OTPC__DIST_DROPPED
   * (its control term kept, the payload read past) instead of being an
   * error: the framing stays intact, so the connection can go on. */
  bool drop_over;
  size_t pending; /* bytes held now */
  otpc__dist_seq_t *seqs;
  size_t nseqs, capseqs;
} otpc__dist_in_t;

/* Limits: max_msg 0 means 64 MiB; max_pending is 4 * max_msg and max_seqs
 * 1024 unless changed after init. */
int otpc__dist_in_init(otpc__dist_in_t *in, otpc__dist_mode_t mode,
                       size_t max_msg);
void otpc__dist_in_free(otpc__dist_in_t *in);

enum {
  OTPC__DIST_TICK = 0,    /* an empty frame */
  OTPC__DIST_MSG = 1,     /* *msg holds a complete message */
  OTPC__DIST_PARTIAL = 2, /* a fragment was stored; nothing to deliver */
  /* drop_over: a message over max_msg ended; msg->ctl is its control term
   * (payload.p NULL), msg->size its size, owned as for MSG. */
  OTPC__DIST_DROPPED = 3
};

/* Takes one frame body (without its 4-byte length). Returns TICK, MSG or
 * PARTIAL, or a negative code with err saying what was wrong: an error
 * means the connection must be closed (the BEAM kills it too). The frame's
 * bytes need to live only as long as the views of a MSG whose `owned` is
 * NULL. */
int otpc__dist_in_frame(otpc__dist_in_t *in, const uint8_t *frame, size_t len,
                        otpc__dist_msg_t *msg, otpc_err_t *err);

/* ---------------------------------------------------------- outgoing */

/* Appends the start of a frame holding one whole message: the 4-byte
 * length, the header for the mode, the control term; the caller then sends
 * the payload term's bytes (without the 131 version byte, as otpc_msg_term
 * gives them) right after, from its own buffer, so a big payload is never
 * copied. payload_len is 0 for a control message without payload. In
 * pass-through mode the head ends with the payload's 131. */
int otpc__dist_enc_head(otpc_buf_t *out, otpc__dist_mode_t mode,
                        otpc_term_t ctl, size_t payload_len, otpc_err_t *err);
/* A tick: four zero bytes. */
int otpc__dist_enc_tick(otpc_buf_t *out);

/* Splits one message into fragments for OTPC__DIST_HDR_FRAG, one frame at
 * a time so that the connection can interleave other traffic (ticks,
 * control signals, other sequences) between them. The first fragment
 * carries the control term and as much payload as fits frag_size; each
 * following one frag_size payload bytes; FragId counts down to 1. A message
 * that fits one fragment goes out as a plain 131,68 message. */
typedef struct otpc__dist_frag {
  uint64_t seq;
  uint64_t left; /* fragments still to emit (the next one's FragId) */
  otpc_term_t ctl;
  const uint8_t *payload;
  size_t payload_len, off;
  size_t frag_size;
  bool single;  /* fits one frame: sent as a plain 131,68 message */
  bool started; /* the first fragment was emitted */
} otpc__dist_frag_t;

/* seq identifies the sequence on the connection (unique among unfinished
 * ones); frag_size 0 means OTPC__DIST_FRAG_SIZE. */
int otpc__dist_frag_init(otpc__dist_frag_t *f, uint64_t seq, otpc_term_t ctl,
                         const uint8_t *payload, size_t payload_len,
                         size_t frag_size);
/* Appends the next frame's head to out and gives the payload bytes to send
 * right after it (*chunk, *chunk_len, possibly empty). Returns 1 while more
 * fragments follow, 0 after the last, or a negative code. */
int otpc__dist_frag_next(otpc__dist_frag_t *f, otpc_buf_t *out,
                         const uint8_t **chunk, size_t *chunk_len);

#endif
