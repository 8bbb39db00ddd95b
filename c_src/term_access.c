/* Accessors and iterators over validated terms (see term_decode.c for the
 * validator). They trust the bytes: every length they read was checked when
 * the term was validated, so none of them re-checks bounds. */
#include <string.h>

#include "internal.h"

enum { IT_TUPLE = 1, IT_LIST, IT_STRING, IT_MAP, IT_MAP_VALUE };

#define CHECK_VIEW(t)                                                          \
  do {                                                                         \
    if ((t).p == NULL || (t).len == 0)                                         \
      return OTPC_EINVAL;                                                      \
  } while (0)

/* ------------------------------------------------------------- numbers */

int otpc_term_integer(otpc_term_t t, otpc_int_t *out) {
  CHECK_VIEW(t);
  const uint8_t *p = t.p;
  uint64_t v;
  switch (p[0]) {
  case OTPC_TAG_SMALL_INTEGER:
    out->neg = 0;
    v = p[1];
    break;
  case OTPC_TAG_INTEGER: {
    uint32_t u = otpc__get32(p + 1);
    out->neg = u >= 0x80000000u;
    /* Two's complement magnitude without relying on signed overflow. */
    v = out->neg ? (uint64_t)(~u) + 1 : u;
    break;
  }
  case OTPC_TAG_SMALL_BIG:
  case OTPC_TAG_LARGE_BIG: {
    int small = p[0] == OTPC_TAG_SMALL_BIG;
    size_t n = small ? p[1] : otpc__get32(p + 1);
    const uint8_t *mag = small ? p + 3 : p + 6;
    while (n > 0 && mag[n - 1] == 0)
      n--;
    /* Any non-zero sign byte means negative, as the BEAM reads it. */
    out->neg = n > 0 && mag[-1] != 0;
    out->n = n;
    out->mag = mag;
    return 0;
  }
  default: return OTPC_ETYPE;
  }
  size_t n = 0;
  while (v != 0) {
    out->small[n++] = (uint8_t)v;
    v >>= 8;
  }
  out->n = n;
  out->mag = out->small;
  return 0;
}

/* The magnitude as a uint64_t, or OTPC_ERANGE if it has over 8 bytes. */
static int mag64(const otpc_int_t *x, uint64_t *v) {
  if (x->n > 8)
    return OTPC_ERANGE;
  uint64_t m = 0;
  for (size_t i = x->n; i > 0; i--)
    m = m << 8 | x->mag[i - 1];
  *v = m;
  return 0;
}

int otpc_term_int64(otpc_term_t t, int64_t *out) {
  otpc_int_t x;
  uint64_t m;
  int rc = otpc_term_integer(t, &x);
  if (rc < 0 || (rc = mag64(&x, &m)) < 0)
    return rc;
  if (x.neg) {
    if (m > (uint64_t)1 << 63)
      return OTPC_ERANGE;
    *out = m == (uint64_t)1 << 63 ? INT64_MIN : -(int64_t)m;
  } else {
    if (m > INT64_MAX)
      return OTPC_ERANGE;
    *out = (int64_t)m;
  }
  return 0;
}

int otpc_term_uint64(otpc_term_t t, uint64_t *out) {
  otpc_int_t x;
  uint64_t m;
  int rc = otpc_term_integer(t, &x);
  if (rc < 0 || (rc = mag64(&x, &m)) < 0)
    return rc;
  if (x.neg)
    return OTPC_ERANGE;
  *out = m;
  return 0;
}

int otpc_term_double(otpc_term_t t, double *out) {
  CHECK_VIEW(t);
  if (t.p[0] == OTPC_TAG_NEW_FLOAT) {
    uint64_t bits = otpc__get64(t.p + 1);
    memcpy(out, &bits, sizeof *out);
    return 0;
  }
  if (t.p[0] == OTPC_TAG_FLOAT)
    return otpc__float_text(t.p + 1, out) < 0 ? OTPC_EBADTERM : 0;
  return OTPC_ETYPE;
}

/* --------------------------------------------------------------- atoms */

int otpc__atom_bytes(const uint8_t *p, const uint8_t **text, size_t *n) {
  switch (p[0]) {
  case OTPC_TAG_ATOM:
  case OTPC_TAG_ATOM_UTF8:
    *n = otpc__get16(p + 1);
    *text = p + 3;
    return p[0] == OTPC_TAG_ATOM;
  case OTPC_TAG_SMALL_ATOM:
  case OTPC_TAG_SMALL_ATOM_UTF8:
    *n = p[1];
    *text = p + 2;
    return p[0] == OTPC_TAG_SMALL_ATOM;
  default: return OTPC_ETYPE;
  }
}

/* The UTF-8 length of the atom at p, or OTPC_ETYPE for another term. */
static long atom_utf8_len(const uint8_t *p) {
  const uint8_t *s;
  size_t n, need = 0;
  int latin1 = otpc__atom_bytes(p, &s, &n);
  if (latin1 <= 0)
    return latin1 < 0 ? latin1 : (long)n;
  for (size_t i = 0; i < n; i++)
    need += s[i] < 0x80 ? 1 : 2;
  return (long)need;
}

/* Writes the atom's text at p as UTF-8 with a NUL; buf has room for
 * atom_utf8_len(p) + 1 bytes. */
static void atom_utf8(const uint8_t *p, char *buf, size_t len) {
  const uint8_t *s;
  size_t n;
  if (otpc__atom_bytes(p, &s, &n) == 0) {
    memcpy(buf, s, n);
  } else {
    size_t o = 0;
    for (size_t i = 0; i < n; i++)
      o += otpc__utf8_encode(s[i], (uint8_t *)buf + o);
  }
  buf[len] = '\0';
}

int otpc_term_atom_text(otpc_term_t t, char *buf, size_t cap, size_t *len) {
  CHECK_VIEW(t);
  long need = atom_utf8_len(t.p);
  if (need < 0)
    return (int)need;
  /* The needed length is reported even when buf is too small. */
  if (len != NULL)
    *len = (size_t)need;
  if (buf == NULL || (size_t)need >= cap)
    return OTPC_ERANGE;
  atom_utf8(t.p, buf, (size_t)need);
  return 0;
}

/* Interns the atom at p (validated), the core of the node accessors. */
static int intern_at(const uint8_t *p, otpc_atom_t *out) {
  char text[OTPC_ATOM_MAX_BYTES + 1];
  long need = atom_utf8_len(p);
  if (need < 0)
    return (int)need;
  atom_utf8(p, text, (size_t)need);
  return otpc_atom_intern(text, (size_t)need, out);
}

int otpc_term_atom(otpc_term_t t, otpc_atom_t *out) {
  CHECK_VIEW(t);
  return intern_at(t.p, out);
}

int otpc_term_is_atom(otpc_term_t t, const char *utf8) {
  const uint8_t *s;
  size_t n;
  if (t.p == NULL || t.len == 0 || utf8 == NULL)
    return 0;
  int latin1 = otpc__atom_bytes(t.p, &s, &n);
  if (latin1 < 0)
    return 0;
  size_t m = strlen(utf8);
  if (!latin1)
    return m == n && memcmp(s, utf8, n) == 0;
  /* Compare code points so no copy or allocation is needed. */
  const uint8_t *u = (const uint8_t *)utf8;
  for (size_t i = 0; i < n; i++) {
    uint32_t cp;
    size_t k = otpc__utf8_decode(u, m, &cp);
    if (k == 0 || cp != s[i])
      return 0;
    u += k;
    m -= k;
  }
  return m == 0;
}

/* --------------------------------------------------- bitstrings and ids */

int otpc_term_binary(otpc_term_t t, const uint8_t **p, size_t *len) {
  CHECK_VIEW(t);
  if (t.p[0] == OTPC_TAG_BINARY ||
      (t.p[0] == OTPC_TAG_BIT_BINARY && (t.p[5] == 8 || t.p[5] == 0))) {
    *len = otpc__get32(t.p + 1);
    *p = t.p + (t.p[0] == OTPC_TAG_BINARY ? 5 : 6);
    return 0;
  }
  return OTPC_ETYPE;
}

int otpc_term_bitstring(otpc_term_t t, const uint8_t **p, size_t *nbits) {
  CHECK_VIEW(t);
  size_t n;
  if (t.p[0] == OTPC_TAG_BINARY) {
    n = otpc__get32(t.p + 1);
    *p = t.p + 5;
    *nbits = n * 8;
    return 0;
  }
  if (t.p[0] == OTPC_TAG_BIT_BINARY) {
    n = otpc__get32(t.p + 1);
    *p = t.p + 6;
    *nbits = n == 0 ? 0 : (n - 1) * 8 + t.p[5];
    return 0;
  }
  return OTPC_ETYPE;
}

/* Interns the node atom at p; *after points past it. */
static int node_at(const uint8_t *p, otpc_atom_t *node, const uint8_t **after) {
  const uint8_t *s;
  size_t n;
  otpc__atom_bytes(p, &s, &n);
  *after = s + n;
  return intern_at(p, node);
}

int otpc_term_pid(otpc_term_t t, otpc_pid_t *out) {
  CHECK_VIEW(t);
  const uint8_t *q;
  if (t.p[0] != OTPC_TAG_NEW_PID && t.p[0] != OTPC_TAG_PID)
    return OTPC_ETYPE;
  int rc = node_at(t.p + 1, &out->node, &q);
  if (rc < 0)
    return rc;
  out->id = otpc__get32(q);
  out->serial = otpc__get32(q + 4);
  out->creation = t.p[0] == OTPC_TAG_NEW_PID ? otpc__get32(q + 8) : q[8];
  return 0;
}

int otpc_term_port(otpc_term_t t, otpc_port_t *out) {
  CHECK_VIEW(t);
  const uint8_t *q;
  unsigned tag = t.p[0];
  if (tag != OTPC_TAG_NEW_PORT && tag != OTPC_TAG_V4_PORT &&
      tag != OTPC_TAG_PORT)
    return OTPC_ETYPE;
  int rc = node_at(t.p + 1, &out->node, &q);
  if (rc < 0)
    return rc;
  if (tag == OTPC_TAG_V4_PORT) {
    out->id = otpc__get64(q);
    out->creation = otpc__get32(q + 8);
  } else {
    out->id = otpc__get32(q);
    out->creation = tag == OTPC_TAG_NEW_PORT ? otpc__get32(q + 4) : q[4];
  }
  return 0;
}

int otpc_term_ref(otpc_term_t t, otpc_ref_t *out) {
  CHECK_VIEW(t);
  const uint8_t *q;
  unsigned tag = t.p[0];
  int rc;
  if (tag == OTPC_TAG_REFERENCE) {
    if ((rc = node_at(t.p + 1, &out->node, &q)) < 0)
      return rc;
    out->len = 1;
    out->id[0] = otpc__get32(q);
    out->creation = q[4];
    return 0;
  }
  if (tag != OTPC_TAG_NEWER_REFERENCE && tag != OTPC_TAG_NEW_REFERENCE)
    return OTPC_ETYPE;
  if ((rc = node_at(t.p + 3, &out->node, &q)) < 0)
    return rc;
  out->len = otpc__get16(t.p + 1);
  if (tag == OTPC_TAG_NEWER_REFERENCE) {
    out->creation = otpc__get32(q);
    q += 4;
  } else {
    out->creation = *q++;
  }
  for (uint32_t i = 0; i < out->len; i++)
    out->id[i] = otpc__get32(q + 4 * i);
  for (uint32_t i = out->len; i < OTPC_REF_MAX_WORDS; i++)
    out->id[i] = 0;
  return 0;
}

/* ---------------------------------------------------------- containers */

static void iter_init(otpc_iter_t *it, const uint8_t *p, otpc_term_t t,
                      size_t left, int kind) {
  it->p = p;
  it->end = t.p + t.len;
  it->left = left;
  it->kind = kind;
}

int otpc_term_tuple(otpc_term_t t, otpc_iter_t *it, size_t *n) {
  CHECK_VIEW(t);
  size_t arity;
  const uint8_t *p;
  if (t.p[0] == OTPC_TAG_SMALL_TUPLE) {
    arity = t.p[1];
    p = t.p + 2;
  } else if (t.p[0] == OTPC_TAG_LARGE_TUPLE) {
    arity = otpc__get32(t.p + 1);
    p = t.p + 5;
  } else {
    return OTPC_ETYPE;
  }
  if (it != NULL)
    iter_init(it, p, t, arity, IT_TUPLE);
  if (n != NULL)
    *n = arity;
  return 0;
}

int otpc_term_list(otpc_term_t t, otpc_iter_t *it, size_t *n) {
  CHECK_VIEW(t);
  size_t count;
  int kind = IT_LIST;
  const uint8_t *p;
  switch (t.p[0]) {
  case OTPC_TAG_NIL:
    /* The iterator sits on the nil itself, which is then the tail. */
    count = 0;
    p = t.p;
    break;
  case OTPC_TAG_STRING:
    count = otpc__get16(t.p + 1);
    p = t.p + 3;
    kind = IT_STRING;
    break;
  case OTPC_TAG_LIST:
    count = otpc__get32(t.p + 1);
    p = t.p + 5;
    break;
  default: return OTPC_ETYPE;
  }
  if (it != NULL)
    iter_init(it, p, t, count, kind);
  if (n != NULL)
    *n = count;
  return 0;
}

int otpc_term_map(otpc_term_t t, otpc_iter_t *it, size_t *n) {
  CHECK_VIEW(t);
  if (t.p[0] != OTPC_TAG_MAP)
    return OTPC_ETYPE;
  size_t pairs = otpc__get32(t.p + 1);
  if (it != NULL)
    iter_init(it, t.p + 5, t, pairs, IT_MAP);
  if (n != NULL)
    *n = pairs;
  return 0;
}

static void take(otpc_iter_t *it, otpc_term_t *elem) {
  const uint8_t *q = otpc__term_skip(it->p);
  elem->p = it->p;
  elem->len = (size_t)(q - it->p);
  it->p = q;
}

int otpc_iter_next(otpc_iter_t *it, otpc_term_t *elem) {
  /* Misuse returns 0 rather than an error so that `while (next(...))`
   * loops cannot spin forever. */
  if (it == NULL || elem == NULL || it->left == 0)
    return 0;
  switch (it->kind) {
  case IT_TUPLE:
  case IT_LIST:
    take(it, elem);
    it->left--;
    return 1;
  case IT_STRING:
    *elem = otpc__small_int_view(*it->p++);
    it->left--;
    return 1;
  /* On a map, keys and values come alternately; `left` counts pairs. */
  case IT_MAP:
    take(it, elem);
    it->kind = IT_MAP_VALUE;
    return 1;
  case IT_MAP_VALUE:
    take(it, elem);
    it->kind = IT_MAP;
    it->left--;
    return 1;
  default: return 0;
  }
}

int otpc_iter_next_pair(otpc_iter_t *it, otpc_term_t *key, otpc_term_t *value) {
  if (it == NULL || key == NULL || value == NULL || it->left == 0 ||
      it->kind != IT_MAP)
    return 0;
  take(it, key);
  take(it, value);
  it->left--;
  return 1;
}

int otpc_iter_tail(const otpc_iter_t *it, otpc_term_t *tail) {
  if (it == NULL || tail == NULL)
    return OTPC_EINVAL;
  if (it->kind == IT_STRING) {
    *tail = otpc__nil_view();
    return 0;
  }
  if (it->kind != IT_LIST)
    return OTPC_ETYPE;
  /* Called early, skip the elements still due: the tail is what remains. */
  const uint8_t *p = it->p;
  for (size_t i = 0; i < it->left; i++)
    p = otpc__term_skip(p);
  tail->p = p;
  tail->len = (size_t)(it->end - p);
  return 0;
}

int otpc_term_element(otpc_term_t t, size_t i, otpc_term_t *elem) {
  otpc_iter_t it;
  size_t n;
  int rc = otpc_term_tuple(t, &it, &n);
  if (rc < 0)
    return rc;
  if (i >= n)
    return OTPC_ERANGE;
  for (size_t k = 0; k < i; k++)
    it.p = otpc__term_skip(it.p);
  take(&it, elem);
  return 0;
}

int otpc_term_map_get(otpc_term_t map, otpc_term_t key, otpc_term_t *value) {
  otpc_iter_t it;
  otpc_term_t k, v;
  int rc = otpc_term_map(map, &it, NULL);
  if (rc < 0)
    return rc;
  CHECK_VIEW(key);
  while (otpc_iter_next_pair(&it, &k, &v)) {
    /* Identical bytes are the common case and need no term comparison. */
    if ((k.len == key.len && memcmp(k.p, key.p, k.len) == 0) ||
        otpc_term_equal(k, key)) {
      *value = v;
      return 0;
    }
  }
  return OTPC_ENOTFOUND;
}
