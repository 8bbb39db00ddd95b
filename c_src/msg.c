/* Immutable, reference-counted messages: one allocation holding a small
 * header and the external form, 131 first. */
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "internal.h"
#include "otpc/msg.h"

/* Inflated terms larger than this are refused (OTPC_ELIMIT). */
#define MAX_INFLATED ((size_t)1 << 30)
/* Deflate cannot expand data more than 1032 times (a 258-byte match in two
 * bits); a declared size beyond that is a lie, caught before allocating. */
#define MAX_RATIO 1032u

struct otpc_msg {
  atomic_size_t refs;
  size_t len; /* bytes in ext, version byte included */
  uint8_t ext[];
};
#define HDR offsetof(otpc_msg_t, ext)

static otpc_msg_t *msg_alloc(size_t len) {
  if (len > SIZE_MAX - HDR)
    return NULL;
  otpc_msg_t *m = malloc(HDR + len);
  if (m == NULL)
    return NULL;
  /* No other thread can see m yet: a relaxed initialisation is enough. */
  atomic_init(&m->refs, 1);
  m->len = len;
  return m;
}

/* Inflates 131, 80, Size:32, zlib data into a new message and validates the
 * term. */
static int decode_compressed(const uint8_t *b, size_t len, otpc_msg_t **out,
                             otpc_err_t *err) {
  if (len < 6)
    return otpc__err(err, OTPC_EBADTERM, 1,
                     "truncated COMPRESSED (tag 80) at offset 1: needs 5 "
                     "bytes, %zu left",
                     len - 1);
  uint32_t size = otpc__get32(b + 2);
  size_t zlen = len - 6;
  if (size > MAX_INFLATED)
    return otpc__err(err, OTPC_ELIMIT, 2,
                     "COMPRESSED at offset 1 declares %u bytes, over the "
                     "limit of %zu",
                     size, MAX_INFLATED);
  if (size == 0 || (uint64_t)size > (uint64_t)zlen * MAX_RATIO + 258)
    return otpc__err(err, OTPC_EBADTERM, 2,
                     "COMPRESSED at offset 1 declares %u bytes, impossible "
                     "from %zu bytes of zlib data",
                     size, zlen);
  otpc_msg_t *m = msg_alloc((size_t)size + 1);
  if (m == NULL)
    return otpc__err(err, OTPC_ENOMEM, 1, "out of memory for %u bytes", size);
  m->ext[0] = OTPC_TAG_VERSION;

  z_stream zs;
  memset(&zs, 0, sizeof zs);
  if (inflateInit(&zs) != Z_OK) {
    free(m);
    return otpc__err(err, OTPC_ENOMEM, 1, "zlib initialisation failed");
  }
  /* zlib counts in uInt; the limits above keep both sizes in range, but
   * feed the input in pieces anyway so no length is truncated. */
  const uint8_t *in = b + 6;
  size_t in_left = zlen;
  zs.next_out = m->ext + 1;
  zs.avail_out = size;
  int zrc = Z_OK;
  while (zrc == Z_OK) {
    if (zs.avail_in == 0 && in_left > 0) {
      uInt chunk = in_left > (1u << 30) ? (1u << 30) : (uInt)in_left;
      zs.next_in = (Bytef *)(uintptr_t)in;
      zs.avail_in = chunk;
      in += chunk;
      in_left -= chunk;
    }
    zrc = inflate(&zs, Z_NO_FLUSH);
    if (zrc == Z_BUF_ERROR && zs.avail_out == 0)
      break; /* more output than declared */
    if (zrc == Z_BUF_ERROR && zs.avail_in == 0 && in_left == 0)
      break; /* the stream is cut short */
  }
  size_t produced = size - zs.avail_out;
  size_t unread = zs.avail_in + in_left;
  inflateEnd(&zs);
  int rc;
  if (zrc != Z_STREAM_END) {
    rc = otpc__err(err, OTPC_EBADTERM, 6 + (zlen - unread),
                   "bad zlib data in COMPRESSED at offset %zu: %s",
                   6 + (zlen - unread),
                   zrc == Z_BUF_ERROR && zs.avail_out == 0
                       ? "it inflates to more than the declared size"
                   : zrc == Z_BUF_ERROR ? "the stream is truncated"
                                        : "corrupt stream");
  } else if (produced != size) {
    rc = otpc__err(err, OTPC_EBADTERM, 2,
                   "COMPRESSED at offset 1 declares %u bytes but inflates "
                   "to %zu",
                   size, produced);
  } else if (unread != 0) {
    rc = otpc__err(err, OTPC_EBADTERM, len - unread,
                   "%zu trailing bytes after the zlib stream, at offset %zu",
                   unread, len - unread);
  } else {
    /* Offsets in errors from here on are into the inflated term. */
    if (m->ext[1] == OTPC_TAG_COMPRESSED)
      rc = otpc__err(err, OTPC_EBADTERM, 1,
                     "a compressed term inside a compressed term");
    else
      rc = otpc_term_from_ext(m->ext, m->len, NULL, err);
  }
  if (rc < 0) {
    free(m);
    return rc;
  }
  *out = m;
  return 0;
}

int otpc_msg_decode(const void *ext, size_t len, otpc_msg_t **out,
                    otpc_err_t *err) {
  const uint8_t *b = ext;
  if (out == NULL || (b == NULL && len > 0))
    return otpc__err(err, OTPC_EINVAL, 0, "NULL argument");
  if (len >= 2 && b[0] == OTPC_TAG_VERSION && b[1] == OTPC_TAG_COMPRESSED)
    return decode_compressed(b, len, out, err);
  int rc = otpc_term_from_ext(b, len, NULL, err);
  if (rc < 0)
    return rc;
  otpc_msg_t *m = msg_alloc(len);
  if (m == NULL)
    return otpc__err(err, OTPC_ENOMEM, 0, "out of memory for %zu bytes", len);
  memcpy(m->ext, b, len);
  *out = m;
  return 0;
}

int otpc_msg_from_term(otpc_term_t t, otpc_msg_t **out) {
  if (out == NULL || t.p == NULL || t.len == 0)
    return OTPC_EINVAL;
  otpc_msg_t *m = msg_alloc(t.len + 1);
  if (m == NULL)
    return OTPC_ENOMEM;
  m->ext[0] = OTPC_TAG_VERSION;
  memcpy(m->ext + 1, t.p, t.len);
  *out = m;
  return 0;
}

int otpc_msg_build(otpc_msg_t **out, otpc_err_t *err, const char *fmt, ...) {
  if (out == NULL || fmt == NULL)
    return otpc__err(err, OTPC_EINVAL, 0, "NULL argument");
  /* Build straight after a header-sized gap, so the buffer becomes the
   * message without copying the term. */
  otpc_buf_t b;
  otpc_buf_init(&b);
  static const uint8_t gap[HDR + 1];
  int rc = otpc_buf_append(&b, gap, sizeof gap);
  if (rc == 0) {
    va_list ap;
    va_start(ap, fmt);
    rc = otpc_term_vbuild(&b, err, fmt, ap);
    va_end(ap);
  }
  if (rc < 0) {
    otpc_buf_free(&b);
    return rc;
  }
  size_t total;
  uint8_t *data = otpc_buf_release(&b, &total);
  /* Give back the buffer's slack so otpc_msg_size tells the truth; if
   * shrinking fails the larger block is still fine. */
  uint8_t *shrunk = realloc(data, total);
  if (shrunk != NULL)
    data = shrunk;
  otpc_msg_t *m = (otpc_msg_t *)(void *)data;
  atomic_init(&m->refs, 1);
  m->len = total - HDR;
  m->ext[0] = OTPC_TAG_VERSION;
  *out = m;
  return 0;
}

otpc_msg_t *otpc_msg_ref(otpc_msg_t *m) {
  /* Relaxed: the caller already holds a reference, so the message is alive
   * and its bytes visible to it; handing the new reference to another
   * thread is done through a queue that provides the ordering. */
  atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
  return m;
}

void otpc_msg_unref(otpc_msg_t *m) {
  if (m == NULL)
    return;
  /* Release: this thread's reads of the message happen before the drop.
   * Acquire: the thread that drops the last reference then sees every other
   * thread's drop, so their reads happen before the free. (A release drop
   * plus an acquire fence on the last one would do, but ThreadSanitizer
   * does not model fences, and on x86 both compile to one locked xadd.) */
  if (atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
    free(m);
  }
}

otpc_term_t otpc_msg_term(const otpc_msg_t *m) {
  otpc_term_t t = {m->ext + 1, m->len - 1};
  return t;
}

const uint8_t *otpc_msg_ext(const otpc_msg_t *m, size_t *len) {
  if (len != NULL)
    *len = m->len;
  return m->ext;
}

size_t otpc_msg_size(const otpc_msg_t *m) {
  return HDR + m->len;
}
