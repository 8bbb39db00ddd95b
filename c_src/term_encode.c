/* The canonical re-encoder (otpc_term_encode): any validated term written
 * again as term_to_binary(T, [{minor_version, 2}]) of OTP 25 would write
 * it, with the emitters the builder uses (term_emit.c).
 *
 * The encoder walks the term with an explicit stack, since that term may
 * come from a peer and be nested 100000 deep. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { EF_TUPLE, EF_LIST, EF_MAP, EF_FUN };

typedef struct enc_frame {
  int kind;
  int small;        /* list: every element so far is a small integer */
  int tail;         /* list: the improper tail is being written */
  const uint8_t *p; /* the next input byte */
  size_t left;      /* input terms left (in the current list segment) */
  size_t start;     /* output offset of the container's header */
  size_t n;         /* list: elements written; map: pairs */
  size_t elem;      /* output offset of the element being written */
  size_t offs_base; /* map: first of its offsets in the offsets stack */
} enc_frame_t;

typedef struct enc {
  otpc_buf_t *out;
  otpc_buf_t stack; /* enc_frame_t */
  otpc_buf_t offs;  /* size_t: starts of map keys and values */
} enc_t;

/* Re-encodes the atom at p; *end is after it. */
static int enc_atom(otpc_buf_t *out, const uint8_t *p, const uint8_t **end) {
  const uint8_t *s;
  size_t n;
  int latin1 = otpc__atom_bytes(p, &s, &n);
  if (latin1 < 0)
    return OTPC_EBADTERM;
  *end = s + n;
  return latin1 ? otpc__emit_atom_latin1(out, s, n)
                : otpc__emit_atom(out, s, n);
}

/* The identity of a pid, port or ref: its node and then fields. */
static int enc_identity(otpc_buf_t *out, const uint8_t *p,
                        const uint8_t **end) {
  const uint8_t *q;
  int rc;
  uint8_t tag = p[0];
  if (tag == OTPC_TAG_NEW_REFERENCE || tag == OTPC_TAG_NEWER_REFERENCE) {
    size_t words = otpc__get16(p + 1);
    uint8_t h[3] = {OTPC_TAG_NEWER_REFERENCE, p[1], p[2]};
    if ((rc = otpc_buf_append(out, h, 3)) < 0 ||
        (rc = enc_atom(out, p + 3, &q)) < 0)
      return rc;
    if (tag == OTPC_TAG_NEW_REFERENCE)
      rc = otpc__emit32(out, *q++);
    else
      rc = otpc_buf_append(out, q, 4), q += 4;
    *end = q + 4 * words;
    return rc < 0 ? rc : otpc_buf_append(out, q, 4 * words);
  }
  if (tag == OTPC_TAG_REFERENCE) {
    uint8_t h[3] = {OTPC_TAG_NEWER_REFERENCE, 0, 1};
    if ((rc = otpc_buf_append(out, h, 3)) < 0 ||
        (rc = enc_atom(out, p + 1, &q)) < 0 ||
        (rc = otpc__emit32(out, q[4])) < 0)
      return rc;
    *end = q + 5;
    return otpc_buf_append(out, q, 4);
  }
  if (tag == OTPC_TAG_PID || tag == OTPC_TAG_NEW_PID) {
    if ((rc = otpc__emit8(out, OTPC_TAG_NEW_PID)) < 0 ||
        (rc = enc_atom(out, p + 1, &q)) < 0 ||
        (rc = otpc_buf_append(out, q, 8)) < 0)
      return rc;
    *end = q + (tag == OTPC_TAG_PID ? 9 : 12);
    return otpc__emit32(out, tag == OTPC_TAG_PID ? q[8] : otpc__get32(q + 8));
  }
  /* Ports: read id and creation after the node, then write them as the
   * builder does. */
  const uint8_t *q0 = otpc__term_skip(p + 1);
  uint64_t id;
  uint32_t creation;
  switch (tag) {
  case OTPC_TAG_PORT:
    id = otpc__get32(q0), creation = q0[4], *end = q0 + 5;
    break;
  case OTPC_TAG_NEW_PORT:
    id = otpc__get32(q0), creation = otpc__get32(q0 + 4), *end = q0 + 8;
    break;
  case OTPC_TAG_V4_PORT:
    id = otpc__get64(q0), creation = otpc__get32(q0 + 8), *end = q0 + 12;
    break;
  default: return OTPC_EBADTERM;
  }
  if ((rc = otpc__emit_port_tag(out, id)) < 0 ||
      (rc = enc_atom(out, p + 1, &q)) < 0)
    return rc;
  return otpc__emit_port_id(out, id, creation);
}

/* Writes the term at p if it holds no other terms; for a container writes
 * its header and returns 1 with *f set up. */
static int enc_term(enc_t *e, const uint8_t *p, const uint8_t **end,
                    enc_frame_t *f) {
  otpc_buf_t *out = e->out;
  size_t n;
  int rc;
  memset(f, 0, sizeof *f);
  switch (p[0]) {
  case OTPC_TAG_SMALL_INTEGER:
  case OTPC_TAG_NIL:
  case OTPC_TAG_NEW_FLOAT:
    n = p[0] == OTPC_TAG_NIL ? 1 : p[0] == OTPC_TAG_NEW_FLOAT ? 9 : 2;
    *end = p + n;
    return otpc_buf_append(out, p, n);
  case OTPC_TAG_INTEGER:
    *end = p + 5;
    return otpc__emit_i64(out, (int32_t)otpc__get32(p + 1));
  case OTPC_TAG_SMALL_BIG:
    *end = p + 3 + p[1];
    return otpc__emit_big(out, p[2], p + 3, p[1]);
  case OTPC_TAG_LARGE_BIG:
    n = otpc__get32(p + 1);
    *end = p + 6 + n;
    return otpc__emit_big(out, p[5], p + 6, n);
  case OTPC_TAG_FLOAT: {
    char txt[32];
    memcpy(txt, p + 1, 31);
    txt[31] = 0;
    *end = p + 32;
    return otpc__emit_double(out, strtod(txt, NULL));
  }
  case OTPC_TAG_ATOM:
  case OTPC_TAG_SMALL_ATOM:
  case OTPC_TAG_ATOM_UTF8:
  case OTPC_TAG_SMALL_ATOM_UTF8: return enc_atom(out, p, end);
  case OTPC_TAG_PID:
  case OTPC_TAG_NEW_PID:
  case OTPC_TAG_PORT:
  case OTPC_TAG_NEW_PORT:
  case OTPC_TAG_V4_PORT:
  case OTPC_TAG_REFERENCE:
  case OTPC_TAG_NEW_REFERENCE:
  case OTPC_TAG_NEWER_REFERENCE: return enc_identity(out, p, end);
  case OTPC_TAG_STRING:
    n = 3 + (size_t)otpc__get16(p + 1);
    *end = p + n;
    return otpc_buf_append(out, p, n);
  case OTPC_TAG_BINARY:
    n = otpc__get32(p + 1);
    *end = p + 5 + n;
    return otpc__emit_bits(out, p + 5, n * 8);
  case OTPC_TAG_BIT_BINARY:
    n = otpc__get32(p + 1);
    *end = p + 6 + n;
    return otpc__emit_bits(out, p + 6,
                           n == 0 ? 0 : (n - 1) * 8 + (p[5] ? p[5] : 8));
  case OTPC_TAG_NEW_FUN: {
    /* Size Arity Uniq Index NumFree are kept (Size patched at the end);
     * the atoms, integers, pid and free variables inside are re-encoded,
     * as term_to_binary does. */
    const uint8_t *q;
    f->kind = EF_FUN;
    f->start = out->len;
    f->left = otpc__get32(p + 26);
    if ((rc = otpc_buf_append(out, p, 30)) < 0 ||
        (rc = enc_atom(out, p + 30, &q)) < 0)
      return rc;
    for (int i = 0; i < 2; i++) {
      int64_t v =
          q[0] == OTPC_TAG_SMALL_INTEGER ? q[1] : (int32_t)otpc__get32(q + 1);
      q += q[0] == OTPC_TAG_SMALL_INTEGER ? 2 : 5;
      if ((rc = otpc__emit_i64(out, v)) < 0)
        return rc;
    }
    if ((rc = enc_identity(out, q, &f->p)) < 0)
      return rc;
    return 1;
  }
  case OTPC_TAG_EXPORT: {
    const uint8_t *q;
    if ((rc = otpc__emit8(out, OTPC_TAG_EXPORT)) < 0 ||
        (rc = enc_atom(out, p + 1, &q)) < 0 || (rc = enc_atom(out, q, &q)) < 0)
      return rc;
    *end = q + (q[0] == OTPC_TAG_SMALL_INTEGER ? 2 : 5);
    return otpc__emit_i64(out, q[0] == OTPC_TAG_SMALL_INTEGER
                                   ? q[1]
                                   : (int32_t)otpc__get32(q + 1));
  }
  case OTPC_TAG_SMALL_TUPLE:
  case OTPC_TAG_LARGE_TUPLE: {
    int small = p[0] == OTPC_TAG_SMALL_TUPLE;
    n = small ? p[1] : otpc__get32(p + 1);
    f->kind = EF_TUPLE;
    f->p = p + (small ? 2 : 5);
    f->left = n;
    if (n <= 255) {
      uint8_t h[2] = {OTPC_TAG_SMALL_TUPLE, (uint8_t)n};
      rc = otpc_buf_append(out, h, 2);
    } else {
      rc = otpc__emit8(out, OTPC_TAG_LARGE_TUPLE);
      if (rc == 0)
        rc = otpc__emit32(out, (uint32_t)n);
    }
    if (rc == 0 && n == 0)
      *end = f->p;
    return rc < 0 ? rc : n > 0;
  }
  case OTPC_TAG_LIST:
  case OTPC_TAG_MAP: {
    uint8_t ph[5] = {p[0]};
    f->kind = p[0] == OTPC_TAG_LIST ? EF_LIST : EF_MAP;
    f->p = p + 5;
    f->n = otpc__get32(p + 1);
    f->left = f->kind == EF_LIST ? f->n : 2 * f->n;
    f->start = out->len;
    f->small = 1;
    f->offs_base = e->offs.len / sizeof(size_t);
    if (f->kind == EF_LIST)
      f->n = 0;
    return (rc = otpc_buf_append(out, ph, 5)) < 0 ? rc : 1;
  }
  default:
    /* Old FUN_EXT and atom cache references have no canonical form. */
    return OTPC_ENOTSUP;
  }
}

/* Moves frame f on: returns 1 with *next to write, 0 when f is done (then
 * *end is after its input). */
static int enc_step(enc_t *e, enc_frame_t *f, const uint8_t **next,
                    const uint8_t **end) {
  otpc_buf_t *out = e->out;
  int rc;
  if (f->kind == EF_TUPLE || f->kind == EF_FUN) {
    if (f->left == 0) {
      *end = f->p;
      if (f->kind == EF_FUN)
        otpc__put32(out->data + f->start + 1,
                    (uint32_t)(out->len - f->start - 1));
      return 0;
    }
    f->left--;
    *next = f->p;
    return 1;
  }
  if (f->kind == EF_MAP) {
    if (f->left > 0) {
      size_t at = out->len;
      if ((rc = otpc_buf_append(&e->offs, &at, sizeof at)) < 0)
        return rc;
      f->left--;
      *next = f->p;
      return 1;
    }
    /* offs.data is NULL while no pair was seen (#{} first): no offset. */
    const size_t *offs =
        e->offs.data ? (const size_t *)e->offs.data + f->offs_base : NULL;
    rc = otpc__map_finish(out, f->start, offs, f->n, 0);
    e->offs.len = f->offs_base * sizeof(size_t);
    *end = f->p;
    return rc;
  }
  if (f->tail) {
    *end = f->p;
    return 0;
  }
  for (;;) {
    if (f->left > 0) {
      f->left--;
      f->elem = out->len;
      *next = f->p;
      return 1;
    }
    /* The tail of a segment: lists and strings there continue this list. */
    const uint8_t *p = f->p;
    if (p[0] == OTPC_TAG_LIST) {
      f->left = otpc__get32(p + 1);
      f->p += 5;
      continue;
    }
    if (p[0] == OTPC_TAG_STRING || p[0] == OTPC_TAG_NIL) {
      size_t m = p[0] == OTPC_TAG_NIL ? 0 : otpc__get16(p + 1);
      if ((rc = otpc_buf_reserve(out, 2 * m)) < 0)
        return rc;
      for (size_t i = 0; i < m; i++) {
        uint8_t b[2] = {OTPC_TAG_SMALL_INTEGER, p[3 + i]};
        otpc_buf_append(out, b, 2);
      }
      f->n += m;
      *end = p + (p[0] == OTPC_TAG_NIL ? 1 : 3 + m);
      return otpc__list_finish(out, f->start, f->n, f->small);
    }
    f->tail = 1;
    if (f->n == 0) {
      out->len = f->start; /* [| T] cannot be written: it is just T */
    } else {
      if (f->n > UINT32_MAX)
        return OTPC_ELIMIT;
      otpc__put32(out->data + f->start + 1, (uint32_t)f->n);
    }
    *next = p;
    return 1;
  }
}

int otpc_term_encode(otpc_buf_t *out, otpc_term_t t) {
  if (out == NULL || t.p == NULL || t.len == 0)
    return OTPC_EINVAL;
  enc_t e = {.out = out};
  otpc_buf_init(&e.stack);
  otpc_buf_init(&e.offs);
  size_t start = out->len;
  const uint8_t *cur = t.p, *end = NULL;
  int rc;
  for (;;) {
    enc_frame_t f;
    rc = enc_term(&e, cur, &end, &f);
    if (rc < 0)
      break;
    /* Hand the finished term (or the new frame's start) to the frames. */
    int fresh = rc == 1;
    if (fresh && (rc = otpc_buf_append(&e.stack, &f, sizeof f)) < 0)
      break;
    rc = 0;
    while (e.stack.len > 0) {
      enc_frame_t *top =
          (enc_frame_t *)(e.stack.data + e.stack.len - sizeof *top);
      if (!fresh) {
        top->p = end;
        if (top->kind == EF_LIST && !top->tail) {
          top->n++;
          top->small &= out->len - top->elem == 2 &&
                        out->data[top->elem] == OTPC_TAG_SMALL_INTEGER;
        }
      }
      fresh = 0;
      rc = enc_step(&e, top, &cur, &end);
      if (rc != 0)
        break;
      e.stack.len -= sizeof *top;
    }
    if (rc < 0 || e.stack.len == 0)
      break;
  }
  otpc_buf_free(&e.stack);
  otpc_buf_free(&e.offs);
  if (rc < 0) {
    out->len = start;
    if (out->data != NULL)
      out->data[start] = 0;
    return rc;
  }
  return 0;
}
