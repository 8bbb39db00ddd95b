/* Distribution frames, headers and fragments, sans IO (see dist_frame.h). */
#include "dist_frame.h"

#include <stdlib.h>
#include <string.h>

#include "handshake.h"
#include "internal.h"

enum {
  PASS_THROUGH = 112,
  HDR_NORMAL = 68,
  HDR_FRAG_START = 69,
  HDR_FRAG_CONT = 70
};

/* One unfinished fragmented message. */
struct otpc__dist_seq {
  uint64_t seq;
  uint64_t next; /* the FragId expected next */
  uint8_t *buf;  /* control term, then the payload so far */
  size_t len, cap;
  size_t ctl_len;
  bool dropping; /* over max_msg: only the control term is kept */
  size_t total;  /* dropping: the bytes seen so far */
};

otpc__dist_mode_t otpc__dist_mode(uint64_t flags) {
  if (flags & OTPC__DFLAG_FRAGMENTS)
    return OTPC__DIST_HDR_FRAG;
  if (flags & OTPC__DFLAG_DIST_HDR_ATOM_CACHE)
    return OTPC__DIST_HDR;
  return OTPC__DIST_PASS;
}

int otpc__dist_in_init(otpc__dist_in_t *in, otpc__dist_mode_t mode,
                       size_t max_msg) {
  if (in == NULL || mode < OTPC__DIST_PASS || mode > OTPC__DIST_HDR_FRAG)
    return OTPC_EINVAL;
  memset(in, 0, sizeof *in);
  in->mode = mode;
  in->max_msg = max_msg ? max_msg : (size_t)64 << 20;
  in->max_pending = in->max_msg > SIZE_MAX / 4 ? SIZE_MAX : in->max_msg * 4;
  in->max_seqs = 1024;
  return 0;
}

void otpc__dist_in_free(otpc__dist_in_t *in) {
  if (in == NULL)
    return;
  for (size_t i = 0; i < in->nseqs; i++)
    free(in->seqs[i].buf);
  free(in->seqs);
  memset(in, 0, sizeof *in);
}

/* Parses the payload occupying exactly p[0..n) (none if n == 0). */
static int payload(const uint8_t *p, size_t n, size_t base, otpc_term_t *out,
                   otpc_err_t *err) {
  out->p = NULL;
  out->len = 0;
  if (n == 0)
    return 0;
  size_t used;
  int rc = otpc_term_parse(p, n, out, &used, err);
  if (rc != 0) {
    if (err != NULL)
      err->offset += base;
    return rc;
  }
  if (used != n)
    return otpc__err(err, OTPC_EBADTERM, base + used,
                     "%zu bytes after the payload term of a distribution "
                     "message",
                     n - used);
  return 0;
}

static int ctl_term(const uint8_t *p, size_t n, size_t base, otpc_term_t *out,
                    size_t *used, otpc_err_t *err) {
  if (n == 0)
    return otpc__err(err, OTPC_EBADTERM, base,
                     "distribution message without a control term");
  int rc = otpc_term_parse(p, n, out, used, err);
  if (rc != 0 && err != NULL)
    err->offset += base;
  return rc;
}

static int pass_through(otpc__dist_in_t *in, const uint8_t *f, size_t len,
                        otpc__dist_msg_t *msg, otpc_err_t *err) {
  (void)in;
  if (f[0] != PASS_THROUGH)
    return otpc__err(err, OTPC_EBADTERM, 0,
                     "distribution frame starts with %u, expected 112 (pass "
                     "through): no dist header without FRAGMENTS or "
                     "DIST_HDR_ATOM_CACHE",
                     f[0]);
  if (len < 2 || f[1] != OTPC_TAG_VERSION)
    return otpc__err(err, OTPC_EBADTERM, 1,
                     "pass-through control term without the 131 version byte");
  size_t used;
  int rc = ctl_term(f + 2, len - 2, 2, &msg->ctl, &used, err);
  if (rc != 0)
    return rc;
  size_t off = 2 + used;
  if (off == len) {
    msg->payload.p = NULL;
    msg->payload.len = 0;
    return OTPC__DIST_MSG;
  }
  if (f[off] != OTPC_TAG_VERSION)
    return otpc__err(err, OTPC_EBADTERM, off,
                     "pass-through payload without the 131 version byte");
  rc = payload(f + off + 1, len - off - 1, off + 1, &msg->payload, err);
  return rc != 0 ? rc : OTPC__DIST_MSG;
}

static otpc__dist_seq_t *find_seq(otpc__dist_in_t *in, uint64_t seq) {
  for (size_t i = 0; i < in->nseqs; i++)
    if (in->seqs[i].seq == seq)
      return &in->seqs[i];
  return NULL;
}

/* Appends a fragment's bytes to its sequence, within the limits. */
static int seq_append(otpc__dist_in_t *in, otpc__dist_seq_t *s,
                      const uint8_t *p, size_t n, otpc_err_t *err) {
  if (s->dropping) {
    s->total += n;
    return 0;
  }
  if (n > in->max_msg - s->len && in->drop_over) {
    /* Keep the control term (to say whose message it was), forget the
     * payload so far, count the rest. `pending` counts every s->len. */
    if (s->len == 0) { /* the first fragment: its control term */
      s->buf = malloc(s->ctl_len);
      if (s->buf == NULL)
        return otpc__err(err, OTPC_ENOMEM, 0, "out of memory");
      memcpy(s->buf, p, s->ctl_len);
      s->cap = s->ctl_len;
      in->pending += s->ctl_len;
    } else {
      in->pending -= s->len - s->ctl_len;
    }
    s->dropping = true;
    s->total = s->len + n;
    s->len = s->ctl_len;
    return 0;
  }
  if (n > in->max_msg - s->len)
    return otpc__err(err, OTPC_ELIMIT, 0,
                     "fragmented message %#llx grows past the maximum "
                     "message size of %zu bytes",
                     (unsigned long long)s->seq, in->max_msg);
  if (n > in->max_pending - in->pending)
    return otpc__err(err, OTPC_ELIMIT, 0,
                     "unfinished fragmented messages hold more than %zu "
                     "bytes",
                     in->max_pending);
  if (s->len + n > s->cap) {
    size_t nc = s->cap ? s->cap : 4096;
    while (nc < s->len + n)
      nc = nc > in->max_msg / 2 ? in->max_msg : nc * 2;
    uint8_t *nb = realloc(s->buf, nc);
    if (nb == NULL)
      return otpc__err(err, OTPC_ENOMEM, 0, "out of memory");
    s->buf = nb;
    s->cap = nc;
  }
  if (n > 0)
    memcpy(s->buf + s->len, p, n);
  s->len += n;
  in->pending += n;
  return 0;
}

static void seq_drop(otpc__dist_in_t *in, otpc__dist_seq_t *s) {
  in->pending -= s->len;
  size_t i = (size_t)(s - in->seqs);
  memmove(&in->seqs[i], &in->seqs[i + 1],
          (in->nseqs - i - 1) * sizeof *in->seqs);
  in->nseqs--;
}

static int frag_start(otpc__dist_in_t *in, const uint8_t *f, size_t len,
                      otpc__dist_msg_t *msg, otpc_err_t *err) {
  if (len < 19)
    return otpc__err(err, OTPC_EBADTERM, 0,
                     "fragment header of %zu bytes, expected 19", len);
  uint64_t seq = otpc__get64(f + 2), frag = otpc__get64(f + 10);
  if (f[18] != 0)
    return otpc__err(err, OTPC_ENOTSUP, 18,
                     "fragment header with %u atom cache refs, but "
                     "DIST_HDR_ATOM_CACHE was not negotiated",
                     f[18]);
  if (frag == 0)
    return otpc__err(err, OTPC_EBADTERM, 10, "fragment id 0 (ids end at 1)");
  if (find_seq(in, seq) != NULL)
    return otpc__err(err, OTPC_EBADTERM, 2,
                     "first fragment of sequence %#llx, which is already "
                     "under way",
                     (unsigned long long)seq);
  size_t used;
  int rc = ctl_term(f + 19, len - 19, 19, &msg->ctl, &used, err);
  if (rc != 0)
    return rc;
  if (len - 19 > in->max_msg && in->drop_over && frag == 1) {
    msg->size = len - 19;
    return OTPC__DIST_DROPPED;
  }
  if (len - 19 > in->max_msg && !in->drop_over)
    return otpc__err(err, OTPC_ELIMIT, 0,
                     "message of %zu bytes, over the maximum of %zu", len - 19,
                     in->max_msg);
  if (frag == 1) { /* a sequence of one: complete in this frame */
    rc = payload(f + 19 + used, len - 19 - used, 19 + used, &msg->payload, err);
    return rc != 0 ? rc : OTPC__DIST_MSG;
  }
  if (in->nseqs >= in->max_seqs)
    return otpc__err(err, OTPC_ELIMIT, 0,
                     "more than %zu fragmented messages under way",
                     in->max_seqs);
  if (in->nseqs == in->capseqs) {
    size_t nc = in->capseqs ? in->capseqs * 2 : 4;
    otpc__dist_seq_t *ns = realloc(in->seqs, nc * sizeof *ns);
    if (ns == NULL)
      return otpc__err(err, OTPC_ENOMEM, 0, "out of memory");
    in->seqs = ns;
    in->capseqs = nc;
  }
  otpc__dist_seq_t *s = &in->seqs[in->nseqs++];
  memset(s, 0, sizeof *s);
  s->seq = seq;
  s->next = frag - 1;
  s->ctl_len = used;
  rc = seq_append(in, s, f + 19, len - 19, err);
  if (rc != 0) {
    seq_drop(in, s);
    return rc;
  }
  return OTPC__DIST_PARTIAL;
}

static int frag_cont(otpc__dist_in_t *in, const uint8_t *f, size_t len,
                     otpc__dist_msg_t *msg, otpc_err_t *err) {
  if (len < 18)
    return otpc__err(err, OTPC_EBADTERM, 0,
                     "fragment header of %zu bytes, expected 18", len);
  uint64_t seq = otpc__get64(f + 2), frag = otpc__get64(f + 10);
  otpc__dist_seq_t *s = find_seq(in, seq);
  if (s == NULL)
    return otpc__err(err, OTPC_EBADTERM, 2,
                     "fragment of sequence %#llx, which was never started",
                     (unsigned long long)seq);
  if (frag != s->next)
    return otpc__err(err, OTPC_EBADTERM, 10,
                     "fragment %llu of sequence %#llx, expected %llu",
                     (unsigned long long)frag, (unsigned long long)seq,
                     (unsigned long long)s->next);
  int rc = seq_append(in, s, f + 18, len - 18, err);
  if (rc != 0)
    return rc;
  if (--s->next > 0)
    return OTPC__DIST_PARTIAL;
  /* Complete: the caller gets the buffer; the views point into it. */
  uint8_t *buf = s->buf;
  size_t blen = s->len, clen = s->ctl_len;
  bool dropped = s->dropping;
  msg->size = s->total;
  s->buf = NULL;
  seq_drop(in, s);
  msg->ctl.p = buf;
  msg->ctl.len = clen;
  if (dropped) {
    msg->owned = buf;
    msg->owned_len = blen;
    return OTPC__DIST_DROPPED;
  }
  rc = payload(buf + clen, blen - clen, 0, &msg->payload, err);
  if (rc != 0) {
    free(buf);
    return rc;
  }
  msg->owned = buf;
  msg->owned_len = blen;
  return OTPC__DIST_MSG;
}

int otpc__dist_in_frame(otpc__dist_in_t *in, const uint8_t *frame, size_t len,
                        otpc__dist_msg_t *msg, otpc_err_t *err) {
  if (in == NULL || msg == NULL || (frame == NULL && len > 0))
    return OTPC_EINVAL;
  memset(msg, 0, sizeof *msg);
  if (len == 0)
    return OTPC__DIST_TICK;
  if (in->mode == OTPC__DIST_PASS)
    return pass_through(in, frame, len, msg, err);
  if (frame[0] != OTPC_TAG_VERSION || len < 2)
    return otpc__err(err, OTPC_EBADTERM, 0,
                     "corrupted distribution header: frame starts with %u, "
                     "expected 131 and a header tag",
                     frame[0]);
  switch (frame[1]) {
  case HDR_NORMAL: {
    if (len < 3)
      return otpc__err(err, OTPC_EBADTERM, 2, "truncated distribution header");
    if (frame[2] != 0)
      return otpc__err(err, OTPC_ENOTSUP, 2,
                       "distribution header with %u atom cache refs, but "
                       "DIST_HDR_ATOM_CACHE was not negotiated",
                       frame[2]);
    if (len - 3 > in->max_msg && !in->drop_over)
      return otpc__err(err, OTPC_ELIMIT, 0,
                       "message of %zu bytes, over the maximum of %zu", len - 3,
                       in->max_msg);
    size_t used;
    int rc = ctl_term(frame + 3, len - 3, 3, &msg->ctl, &used, err);
    if (rc != 0)
      return rc;
    if (len - 3 > in->max_msg) {
      msg->size = len - 3;
      return OTPC__DIST_DROPPED;
    }
    rc =
        payload(frame + 3 + used, len - 3 - used, 3 + used, &msg->payload, err);
    return rc != 0 ? rc : OTPC__DIST_MSG;
  }
  case HDR_FRAG_START:
  case HDR_FRAG_CONT:
    if (in->mode != OTPC__DIST_HDR_FRAG)
      return otpc__err(err, OTPC_EBADTERM, 1,
                       "fragment received, but FRAGMENTS was not negotiated");
    return frame[1] == HDR_FRAG_START ? frag_start(in, frame, len, msg, err)
                                      : frag_cont(in, frame, len, msg, err);
  default:
    return otpc__err(err, OTPC_EBADTERM, 1,
                     "corrupted distribution header: tag %u, expected 68, 69 "
                     "or 70",
                     frame[1]);
  }
}

/* ---------------------------------------------------------- outgoing */

static int put_len(otpc_buf_t *out, uint64_t len) {
  if (len > UINT32_MAX)
    return OTPC_ERANGE;
  uint8_t b[4];
  otpc__put32(b, (uint32_t)len);
  return otpc_buf_append(out, b, 4);
}

int otpc__dist_enc_head(otpc_buf_t *out, otpc__dist_mode_t mode,
                        otpc_term_t ctl, size_t payload_len, otpc_err_t *err) {
  if (out == NULL || ctl.p == NULL || ctl.len == 0)
    return otpc__err(err, OTPC_EINVAL, 0, "no control term to send");
  uint64_t body;
  int rc;
  if (mode == OTPC__DIST_PASS) {
    body =
        2 + (uint64_t)ctl.len + (payload_len ? 1 + (uint64_t)payload_len : 0);
    if ((rc = otpc_buf_reserve(out, 4 + 2 + ctl.len + 1)) != 0 ||
        (rc = put_len(out, body)) != 0)
      return otpc__err(err, rc, 0, "message too large for one frame");
    otpc_buf_append(out, "p\x83", 2);
    otpc_buf_append(out, ctl.p, ctl.len);
    if (payload_len > 0)
      otpc_buf_append(out, "\x83", 1);
    return 0;
  }
  if (mode != OTPC__DIST_HDR && mode != OTPC__DIST_HDR_FRAG)
    return otpc__err(err, OTPC_EINVAL, 0, "unknown distribution mode %d",
                     (int)mode);
  body = 3 + (uint64_t)ctl.len + payload_len;
  if ((rc = otpc_buf_reserve(out, 4 + 3 + ctl.len)) != 0 ||
      (rc = put_len(out, body)) != 0)
    return otpc__err(err, rc, 0, "message too large for one frame");
  otpc_buf_append(out, "\x83\x44\x00", 3);
  return otpc_buf_append(out, ctl.p, ctl.len);
}

int otpc__dist_enc_tick(otpc_buf_t *out) {
  return otpc_buf_append(out, "\0\0\0\0", 4);
}

int otpc__dist_frag_init(otpc__dist_frag_t *f, uint64_t seq, otpc_term_t ctl,
                         const uint8_t *payload, size_t payload_len,
                         size_t frag_size) {
  if (f == NULL || ctl.p == NULL || ctl.len == 0 ||
      (payload == NULL && payload_len > 0))
    return OTPC_EINVAL;
  memset(f, 0, sizeof *f);
  f->seq = seq;
  f->ctl = ctl;
  f->payload = payload;
  f->payload_len = payload_len;
  f->frag_size = frag_size ? frag_size : OTPC__DIST_FRAG_SIZE;
  /* A message without payload cannot be split (the control term must be
   * whole in the first fragment), nor need one that fits a fragment. */
  if (payload_len == 0 || ctl.len + payload_len <= f->frag_size) {
    f->single = true;
    f->left = 1;
    return 0;
  }
  /* The first fragment takes the control term and fills up to frag_size
   * with payload, as the BEAM does (its first fragment carries 64 KiB of
   * control and payload together); each later one frag_size bytes. */
  size_t first = ctl.len < f->frag_size ? f->frag_size - ctl.len : 0;
  size_t rest = payload_len - first; /* > 0, since it did not fit */
  f->left = 1 + (rest + f->frag_size - 1) / f->frag_size;
  return 0;
}

int otpc__dist_frag_next(otpc__dist_frag_t *f, otpc_buf_t *out,
                         const uint8_t **chunk, size_t *chunk_len) {
  if (f == NULL || out == NULL || f->left == 0)
    return OTPC_EINVAL;
  int rc;
  if (f->single) {
    rc = otpc__dist_enc_head(out, OTPC__DIST_HDR_FRAG, f->ctl, f->payload_len,
                             NULL);
    if (rc != 0)
      return rc;
    *chunk = f->payload;
    *chunk_len = f->payload_len;
    f->left = 0;
    return 0;
  }
  uint8_t h[19];
  h[0] = OTPC_TAG_VERSION;
  otpc__put32(h + 2, (uint32_t)(f->seq >> 32));
  otpc__put32(h + 6, (uint32_t)f->seq);
  otpc__put32(h + 10, (uint32_t)(f->left >> 32));
  otpc__put32(h + 14, (uint32_t)f->left);
  size_t n;
  if (!f->started) {
    h[1] = HDR_FRAG_START;
    h[18] = 0;
    n = f->ctl.len < f->frag_size ? f->frag_size - f->ctl.len : 0;
    if (n > f->payload_len)
      n = f->payload_len;
    if ((rc = otpc_buf_reserve(out, 4 + 19 + f->ctl.len)) != 0 ||
        (rc = put_len(out, 19 + (uint64_t)f->ctl.len + n)) != 0)
      return rc;
    otpc_buf_append(out, h, 19);
    otpc_buf_append(out, f->ctl.p, f->ctl.len);
    f->started = true;
  } else {
    h[1] = HDR_FRAG_CONT;
    n = f->payload_len - f->off;
    if (n > f->frag_size)
      n = f->frag_size;
    if ((rc = otpc_buf_reserve(out, 4 + 18)) != 0 ||
        (rc = put_len(out, 18 + (uint64_t)n)) != 0)
      return rc;
    otpc_buf_append(out, h, 18);
  }
  *chunk = f->payload + f->off;
  *chunk_len = n;
  f->off += n;
  f->left--;
  return f->left > 0 ? 1 : 0;
}
