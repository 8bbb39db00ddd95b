/* Incremental {packet, N} frame decoding. */
#include <string.h>

#include "internal.h"
#include "otpc/frame.h"

int otpc_framer_init(otpc_framer_t *f, unsigned packet, size_t max_frame) {
  if ((packet != 1 && packet != 2 && packet != 4) || max_frame == 0)
    return OTPC_EINVAL;
  f->packet = packet;
  f->max_frame = max_frame;
  f->pos = 0;
  otpc_buf_init(&f->in);
  return 0;
}

void otpc_framer_free(otpc_framer_t *f) {
  otpc_buf_free(&f->in);
  f->pos = 0;
}

int otpc_framer_feed(otpc_framer_t *f, const void *data, size_t len) {
  /* Drop what was taken before growing, so the buffer holds at most one
   * partial frame plus what this call brings. */
  if (f->pos > 0) {
    memmove(f->in.data, f->in.data + f->pos, f->in.len - f->pos);
    f->in.len -= f->pos;
    f->pos = 0;
  }
  return otpc_buf_append(&f->in, data, len);
}

int otpc_framer_next(otpc_framer_t *f, const uint8_t **frame, size_t *len,
                     otpc_err_t *err) {
  size_t avail = f->in.len - f->pos;
  if (avail < f->packet)
    return 0;
  const uint8_t *p = f->in.data + f->pos;
  size_t body = f->packet == 1   ? p[0]
                : f->packet == 2 ? otpc__get16(p)
                                 : otpc__get32(p);
  if (body > f->max_frame)
    return otpc__err(err, OTPC_ELIMIT, f->pos,
                     "frame of %zu bytes is over the maximum of %zu bytes",
                     body, f->max_frame);
  if (avail - f->packet < body)
    return 0;
  *frame = p + f->packet;
  *len = body;
  f->pos += f->packet + body;
  return 1;
}

int otpc_frame_header(uint8_t *hdr, unsigned packet, size_t len) {
  switch (packet) {
  case 1:
    if (len > 0xFF)
      return OTPC_ERANGE;
    hdr[0] = (uint8_t)len;
    return 1;
  case 2:
    if (len > 0xFFFF)
      return OTPC_ERANGE;
    otpc__put16(hdr, (uint16_t)len);
    return 2;
  case 4:
    if (len > 0xFFFFFFFFu)
      return OTPC_ERANGE;
    otpc__put32(hdr, (uint32_t)len);
    return 4;
  default: return OTPC_EINVAL;
  }
}
