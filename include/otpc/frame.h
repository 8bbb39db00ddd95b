/* {packet, N} framing, as Erlang ports and gen_tcp use it: each frame is a
 * big-endian length of N bytes (1, 2 or 4) followed by that many bytes.
 *
 * The decoder is incremental: feed it whatever a read() returned and take
 * the complete frames out. A frame over the configured maximum is an error
 * as soon as its header is read, before any of its bytes are buffered. */
#ifndef OTPC_FRAME_H
#define OTPC_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "otpc/buf.h"
#include "otpc/error.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct otpc_framer {
  unsigned packet;  /* header size: 1, 2 or 4 */
  size_t max_frame; /* largest accepted frame body */
  otpc_buf_t in;    /* bytes fed and not yet taken */
  size_t pos;       /* start of the first untaken byte in `in` */
} otpc_framer_t;

/* OTPC_EINVAL for a packet size other than 1, 2, 4 or a zero maximum. */
int otpc_framer_init(otpc_framer_t *f, unsigned packet, size_t max_frame);
void otpc_framer_free(otpc_framer_t *f);
/* Appends received bytes. Frames returned earlier by otpc_framer_next stay
 * valid only until the next call to otpc_framer_feed. */
int otpc_framer_feed(otpc_framer_t *f, const void *data, size_t len);
/* Takes the next complete frame: returns 1 and sets *frame / *len, 0 if more
 * bytes are needed, OTPC_ELIMIT for a frame over the maximum (err says how
 * large it claimed to be). After an error the stream is out of sync and the
 * framer must be freed. */
int otpc_framer_next(otpc_framer_t *f, const uint8_t **frame, size_t *len,
                     otpc_err_t *err);
/* Writes the header for a body of len bytes into hdr (room for 4 bytes) and
 * returns its size, or OTPC_ERANGE if len does not fit the header. */
int otpc_frame_header(uint8_t *hdr, unsigned packet, size_t len);

#ifdef __cplusplus
}
#endif

#endif
