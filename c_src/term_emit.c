/* Emitters of canonical external-format bytes, shared by the format
 * builder (term_build.c) and the re-encoder (term_encode.c): both write
 * exactly term_to_binary(T, [{minor_version, 2}]) of OTP 25, so the
 * smallest integer encodings, UTF-8 atoms, the STRING_EXT fix-up of lists
 * and the sorting of small maps live here once. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* term_to_binary keeps maps up to this size as sorted flatmaps. */
#define FLATMAP_MAX 32u
/* NEW_PORT_EXT carries port numbers that fit 28 bits (OTP 25 writes
 * V4_PORT_EXT above). */
#define V3_PORT_MAX 0x0FFFFFFFu

int otpc__emit8(otpc_buf_t *out, uint8_t v) {
  return otpc_buf_append(out, &v, 1);
}

int otpc__emit32(otpc_buf_t *out, uint32_t v) {
  uint8_t b[4];
  otpc__put32(b, v);
  return otpc_buf_append(out, b, 4);
}

int otpc__emit64(otpc_buf_t *out, uint64_t v) {
  int rc = otpc__emit32(out, (uint32_t)(v >> 32));
  return rc < 0 ? rc : otpc__emit32(out, (uint32_t)v);
}

/* An atom from UTF-8 text already known to be valid and short enough. */
int otpc__emit_atom(otpc_buf_t *out, const uint8_t *s, size_t n) {
  uint8_t h[3];
  size_t hl;
  if (n <= 255) {
    h[0] = OTPC_TAG_SMALL_ATOM_UTF8, h[1] = (uint8_t)n, hl = 2;
  } else {
    h[0] = OTPC_TAG_ATOM_UTF8, hl = 3;
    otpc__put16(h + 1, (uint16_t)n);
  }
  int rc = otpc_buf_append(out, h, hl);
  return rc < 0 ? rc : otpc_buf_append(out, s, n);
}

/* An atom from latin-1 text (old ATOM_EXT), converted to UTF-8. */
int otpc__emit_atom_latin1(otpc_buf_t *out, const uint8_t *s, size_t n) {
  uint8_t tmp[2 * 255];
  size_t k = 0;
  for (size_t i = 0; i < n && k + 2 <= sizeof tmp; i++)
    k += otpc__utf8_encode(s[i], tmp + k);
  return otpc__emit_atom(out, tmp, k);
}

/* The smallest encoding of sign and magnitude (little-endian bytes). */
int otpc__emit_big(otpc_buf_t *out, int neg, const uint8_t *mag, size_t n) {
  while (n > 0 && mag[n - 1] == 0)
    n--;
  if (n == 0)
    neg = 0;
  if (n <= 4) {
    uint32_t v = 0;
    for (size_t i = n; i-- > 0;)
      v = v << 8 | mag[i];
    if (!neg && v <= 255) {
      uint8_t b[2] = {OTPC_TAG_SMALL_INTEGER, (uint8_t)v};
      return otpc_buf_append(out, b, 2);
    }
    if (v <= (neg ? 0x80000000u : 0x7FFFFFFFu)) {
      int rc = otpc__emit8(out, OTPC_TAG_INTEGER);
      return rc < 0 ? rc : otpc__emit32(out, neg ? (uint32_t)(0u - v) : v);
    }
  }
  int rc;
  if (n <= 255) {
    uint8_t h[3] = {OTPC_TAG_SMALL_BIG, (uint8_t)n, (uint8_t)(neg != 0)};
    rc = otpc_buf_append(out, h, 3);
  } else {
    if (n > UINT32_MAX)
      return OTPC_ELIMIT;
    rc = otpc__emit8(out, OTPC_TAG_LARGE_BIG);
    if (rc == 0)
      rc = otpc__emit32(out, (uint32_t)n);
    if (rc == 0)
      rc = otpc__emit8(out, (uint8_t)(neg != 0));
  }
  return rc < 0 ? rc : otpc_buf_append(out, mag, n);
}

int otpc__emit_u64(otpc_buf_t *out, int neg, uint64_t v) {
  uint8_t mag[8];
  for (int i = 0; i < 8; i++)
    mag[i] = (uint8_t)(v >> (8 * i));
  return otpc__emit_big(out, neg, mag, 8);
}

int otpc__emit_i64(otpc_buf_t *out, int64_t v) {
  /* 0 - (uint64_t)v is the magnitude even for INT64_MIN. */
  return v < 0 ? otpc__emit_u64(out, 1, 0 - (uint64_t)v)
               : otpc__emit_u64(out, 0, (uint64_t)v);
}

int otpc__emit_double(otpc_buf_t *out, double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  int rc = otpc__emit8(out, OTPC_TAG_NEW_FLOAT);
  return rc < 0 ? rc : otpc__emit64(out, bits);
}

int otpc__emit_port_tag(otpc_buf_t *out, uint64_t id) {
  return otpc__emit8(out,
                     id > V3_PORT_MAX ? OTPC_TAG_V4_PORT : OTPC_TAG_NEW_PORT);
}

int otpc__emit_port_id(otpc_buf_t *out, uint64_t id, uint32_t creation) {
  int rc = id > V3_PORT_MAX ? otpc__emit64(out, id)
                            : otpc__emit32(out, (uint32_t)id);
  return rc < 0 ? rc : otpc__emit32(out, creation);
}

/* A binary, or a BIT_BINARY when nbits is not a multiple of 8, with the
 * unused low bits of the last byte cleared as term_to_binary does. */
int otpc__emit_bits(otpc_buf_t *out, const uint8_t *p, size_t nbits) {
  size_t n = nbits / 8 + (nbits % 8 != 0);
  unsigned tail = (unsigned)(nbits % 8);
  if (n > UINT32_MAX)
    return OTPC_ELIMIT;
  int rc = otpc_buf_reserve(out, n + 6);
  if (rc < 0)
    return rc;
  otpc__emit8(out, tail ? OTPC_TAG_BIT_BINARY : OTPC_TAG_BINARY);
  otpc__emit32(out, (uint32_t)n);
  if (tail)
    otpc__emit8(out, (uint8_t)tail);
  if (n > 0) {
    otpc_buf_append(out, p, n);
    if (tail)
      out->data[out->len - 1] &= (uint8_t)(0xFF00u >> tail);
  }
  return 0;
}

/* Closes a proper list whose n elements were written after a 5-byte
 * placeholder at `start`: nil, STRING_EXT or LIST_EXT + nil. */
int otpc__list_finish(otpc_buf_t *out, size_t start, size_t n, int all_small) {
  uint8_t *d = out->data;
  if (n == 0) {
    out->len = start;
    return otpc__emit8(out, OTPC_TAG_NIL);
  }
  if (all_small && n < OTPC__STRING_MAX) {
    /* Each element is SMALL_INTEGER v: keep only the v bytes. The copy
     * moves left, so it never overwrites a byte still to be read. */
    d[start] = OTPC_TAG_STRING;
    otpc__put16(d + start + 1, (uint16_t)n);
    for (size_t i = 0; i < n; i++)
      d[start + 3 + i] = d[start + 5 + 2 * i + 1];
    out->len = start + 3 + n;
    d[out->len] = 0;
    return 0;
  }
  if (n > UINT32_MAX)
    return OTPC_ELIMIT;
  d[start] = OTPC_TAG_LIST;
  otpc__put32(d + start + 1, (uint32_t)n);
  return otpc__emit8(out, OTPC_TAG_NIL);
}

/* Map keys and values as views into a copy of the map's body. */
typedef struct map_ent {
  otpc_term_t k, v;
  size_t idx;
} map_ent_t;

static int ent_cmp_key(const void *x, const void *y) {
  const map_ent_t *a = x, *b = y;
  int c = otpc_term_compare_exact(a->k, b->k);
  if (c != 0)
    return c;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

static int ent_cmp_idx(const void *x, const void *y) {
  const map_ent_t *a = x, *b = y;
  return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* Closes a map whose n pairs were written after a 5-byte placeholder at
 * `start`; offs holds the 2n start offsets of keys and values. Maps of up
 * to FLATMAP_MAX pairs get their keys sorted in map-key order; bigger ones
 * keep the given order (the BEAM writes them in its hash order, which we do
 * not reproduce). With dedup, a repeated key keeps its first key term and
 * the last value, as Erlang's #{k => 1, k => 2} does. */
int otpc__map_finish(otpc_buf_t *out, size_t start, const size_t *offs,
                     size_t n, int dedup) {
  size_t body = start + 5, end = out->len, count = n;
  int rc = 0;
  if (n > UINT32_MAX)
    return OTPC_ELIMIT;
  if (n > 1 && (dedup || n <= FLATMAP_MAX)) {
    uint8_t *copy = malloc(end - body);
    map_ent_t *ent = malloc(n * sizeof *ent);
    if (copy == NULL || ent == NULL) {
      free(copy);
      free(ent);
      return OTPC_ENOMEM;
    }
    memcpy(copy, out->data + body, end - body);
    for (size_t i = 0; i < n; i++) {
      size_t k = offs[2 * i], v = offs[2 * i + 1];
      size_t ve = i + 1 < n ? offs[2 * i + 2] : end;
      ent[i].k = (otpc_term_t){copy + (k - body), v - k};
      ent[i].v = (otpc_term_t){copy + (v - body), ve - v};
      ent[i].idx = i;
    }
    qsort(ent, n, sizeof *ent, ent_cmp_key);
    if (dedup) {
      count = 0;
      for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && otpc_term_compare_exact(ent[i].k, ent[j].k) == 0)
          j++;
        ent[count] = ent[i];
        ent[count].v = ent[j - 1].v;
        count++;
        i = j;
      }
      if (count > FLATMAP_MAX)
        qsort(ent, count, sizeof *ent, ent_cmp_idx);
    }
    out->len = body;
    for (size_t i = 0; i < count; i++) {
      /* The pairs fit the room they had: these appends cannot fail. */
      otpc_buf_append(out, ent[i].k.p, ent[i].k.len);
      otpc_buf_append(out, ent[i].v.p, ent[i].v.len);
    }
    free(copy);
    free(ent);
  }
  out->data[start] = OTPC_TAG_MAP;
  otpc__put32(out->data + start + 1, (uint32_t)count);
  return rc;
}
