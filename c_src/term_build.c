/* The term builder (otpc_term_build) and the canonical re-encoder
 * (otpc_term_encode).
 *
 * Both write the bytes of term_to_binary(T, [{minor_version, 2}]) of OTP 25
 * directly rather than through ei's encoders: every encoding needs a final
 * canonical fix-up anyway (lists of small integers become STRING_EXT, small
 * maps get sorted keys, tuples learn their arity only at the '}'), and one
 * code path is easier to keep exact than a mix.
 *
 * The builder is a recursive-descent parser whose recursion depth is the
 * nesting of the format, bounded by BUILD_MAX_DEPTH. The encoder walks a
 * validated term with an explicit stack, since that term may come from a
 * peer and be nested 100000 deep. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Formats are written by programmers; deeper nesting is surely a bug, and
 * the bound keeps the parser's recursion small. */
#define BUILD_MAX_DEPTH 1000u
/* term_to_binary keeps maps up to this size as sorted flatmaps. */
#define FLATMAP_MAX 32u
/* A list of small integers shorter than this is a STRING_EXT. */
#define STRING_MAX 65536u
/* NEW_PORT_EXT carries port numbers that fit 28 bits (OTP 25 writes
 * V4_PORT_EXT above). */
#define V3_PORT_MAX 0x0FFFFFFFu

/* --------------------------------------------------------------- emitting */

static int put8(otpc_buf_t *out, uint8_t v) {
  return otpc_buf_append(out, &v, 1);
}

static int put32(otpc_buf_t *out, uint32_t v) {
  uint8_t b[4];
  otpc__put32(b, v);
  return otpc_buf_append(out, b, 4);
}

static int put64(otpc_buf_t *out, uint64_t v) {
  int rc = put32(out, (uint32_t)(v >> 32));
  return rc < 0 ? rc : put32(out, (uint32_t)v);
}

/* An atom from UTF-8 text already known to be valid and short enough. */
static int put_atom_utf8(otpc_buf_t *out, const uint8_t *s, size_t n) {
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
static int put_atom_latin1(otpc_buf_t *out, const uint8_t *s, size_t n) {
  uint8_t tmp[2 * 255];
  size_t k = 0;
  for (size_t i = 0; i < n && k + 2 <= sizeof tmp; i++)
    k += otpc__utf8_encode(s[i], tmp + k);
  return put_atom_utf8(out, tmp, k);
}

/* The smallest encoding of sign and magnitude (little-endian bytes). */
static int put_big(otpc_buf_t *out, int neg, const uint8_t *mag, size_t n) {
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
      int rc = put8(out, OTPC_TAG_INTEGER);
      return rc < 0 ? rc : put32(out, neg ? (uint32_t)(0u - v) : v);
    }
  }
  int rc;
  if (n <= 255) {
    uint8_t h[3] = {OTPC_TAG_SMALL_BIG, (uint8_t)n, (uint8_t)(neg != 0)};
    rc = otpc_buf_append(out, h, 3);
  } else {
    if (n > UINT32_MAX)
      return OTPC_ELIMIT;
    rc = put8(out, OTPC_TAG_LARGE_BIG);
    if (rc == 0)
      rc = put32(out, (uint32_t)n);
    if (rc == 0)
      rc = put8(out, (uint8_t)(neg != 0));
  }
  return rc < 0 ? rc : otpc_buf_append(out, mag, n);
}

static int put_u64(otpc_buf_t *out, int neg, uint64_t v) {
  uint8_t mag[8];
  for (int i = 0; i < 8; i++)
    mag[i] = (uint8_t)(v >> (8 * i));
  return put_big(out, neg, mag, 8);
}

static int put_i64(otpc_buf_t *out, int64_t v) {
  /* 0 - (uint64_t)v is the magnitude even for INT64_MIN. */
  return v < 0 ? put_u64(out, 1, 0 - (uint64_t)v)
               : put_u64(out, 0, (uint64_t)v);
}

static int put_double(otpc_buf_t *out, double d) {
  uint64_t bits;
  memcpy(&bits, &d, sizeof bits);
  int rc = put8(out, OTPC_TAG_NEW_FLOAT);
  return rc < 0 ? rc : put64(out, bits);
}

static int put_node(otpc_buf_t *out, otpc_atom_t node) {
  size_t n;
  const char *s = otpc_atom_text(node, &n);
  if (s == NULL)
    return OTPC_EINVAL;
  return put_atom_utf8(out, (const uint8_t *)s, n);
}

static int put_pid(otpc_buf_t *out, const otpc_pid_t *pid) {
  int rc = put8(out, OTPC_TAG_NEW_PID);
  if (rc == 0)
    rc = put_node(out, pid->node);
  if (rc == 0)
    rc = put32(out, pid->id);
  if (rc == 0)
    rc = put32(out, pid->serial);
  if (rc == 0)
    rc = put32(out, pid->creation);
  return rc;
}

static int put_port(otpc_buf_t *out, const otpc_port_t *port) {
  int v4 = port->id > V3_PORT_MAX;
  int rc = put8(out, v4 ? OTPC_TAG_V4_PORT : OTPC_TAG_NEW_PORT);
  if (rc == 0)
    rc = put_node(out, port->node);
  if (rc == 0)
    rc = v4 ? put64(out, port->id) : put32(out, (uint32_t)port->id);
  if (rc == 0)
    rc = put32(out, port->creation);
  return rc;
}

static int put_ref(otpc_buf_t *out, const otpc_ref_t *ref) {
  if (ref->len < 1 || ref->len > OTPC_REF_MAX_WORDS)
    return OTPC_EINVAL;
  uint8_t h[3] = {OTPC_TAG_NEWER_REFERENCE, 0, (uint8_t)ref->len};
  int rc = otpc_buf_append(out, h, 3);
  if (rc == 0)
    rc = put_node(out, ref->node);
  if (rc == 0)
    rc = put32(out, ref->creation);
  for (uint32_t i = 0; rc == 0 && i < ref->len; i++)
    rc = put32(out, ref->id[i]);
  return rc;
}

/* A binary, or a BIT_BINARY when nbits is not a multiple of 8, with the
 * unused low bits of the last byte cleared as term_to_binary does. */
static int put_bits(otpc_buf_t *out, const uint8_t *p, size_t nbits) {
  size_t n = nbits / 8 + (nbits % 8 != 0);
  unsigned tail = (unsigned)(nbits % 8);
  if (n > UINT32_MAX)
    return OTPC_ELIMIT;
  int rc = otpc_buf_reserve(out, n + 6);
  if (rc < 0)
    return rc;
  put8(out, tail ? OTPC_TAG_BIT_BINARY : OTPC_TAG_BINARY);
  put32(out, (uint32_t)n);
  if (tail)
    put8(out, (uint8_t)tail);
  if (n > 0) {
    otpc_buf_append(out, p, n);
    if (tail)
      out->data[out->len - 1] &= (uint8_t)(0xFF00u >> tail);
  }
  return 0;
}

/* Closes a proper list whose n elements were written after a 5-byte
 * placeholder at `start`: nil, STRING_EXT or LIST_EXT + nil. */
static int list_finish(otpc_buf_t *out, size_t start, size_t n, int all_small) {
  uint8_t *d = out->data;
  if (n == 0) {
    out->len = start;
    return put8(out, OTPC_TAG_NIL);
  }
  if (all_small && n < STRING_MAX) {
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
  return put8(out, OTPC_TAG_NIL);
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
static int map_finish(otpc_buf_t *out, size_t start, const size_t *offs,
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

/* ---------------------------------------------------------------- builder */

typedef struct bctx {
  const char *fmt;
  size_t pos;
  otpc_buf_t *out;
  otpc_err_t *err;
  va_list ap;
  unsigned depth;
} bctx_t;

static void skip_ws(bctx_t *c) {
  for (;;) {
    char ch = c->fmt[c->pos];
    if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' ||
        ch == '\v')
      c->pos++;
    else
      return;
  }
}

/* Describes the character at pos for an error message. */
static const char *got(const bctx_t *c, char *buf, size_t cap) {
  unsigned char ch = (unsigned char)c->fmt[c->pos];
  if (ch == 0)
    return "end of format";
  if (ch >= 0x20 && ch < 0x7F)
    snprintf(buf, cap, "'%c'", ch);
  else
    snprintf(buf, cap, "byte 0x%02x", ch);
  return buf;
}

static int expected(bctx_t *c, const char *what) {
  char g[16];
  return otpc__err(c->err, OTPC_EBADFMT, c->pos,
                   "offset %zu: expected %s, got %s", c->pos, what,
                   got(c, g, sizeof g));
}

static int bad_arg(bctx_t *c, size_t at, const char *what) {
  return otpc__err(c->err, OTPC_EINVAL, at, "offset %zu: %s", at, what);
}

static int oom(bctx_t *c, int rc) {
  return otpc__err(c->err, rc, c->pos, "offset %zu: %s", c->pos,
                   otpc_strerror(rc));
}

static int is_digit(char ch) {
  return ch >= '0' && ch <= '9';
}

static int is_alnum(char ch) {
  return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

static int hex_value(char ch) {
  if (is_digit(ch))
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F')
    return ch - 'A' + 10;
  return -1;
}

/* One character of a quoted text or of $c, escapes resolved (Erlang's: \b
 * \d \e \f \n \r \s \t \v, \ooo, \xHH, \x{H...}, \^c, else the character
 * itself). The format's own text must be UTF-8. */
static int read_char(bctx_t *c, uint32_t *cp, int *escaped) {
  const uint8_t *s = (const uint8_t *)c->fmt + c->pos;
  *escaped = 0;
  if (*s == 0)
    return expected(c, "a character");
  if (*s != '\\') {
    size_t k = otpc__utf8_decode(s, strnlen((const char *)s, 4), cp);
    if (k == 0)
      return otpc__err(c->err, OTPC_EBADFMT, c->pos,
                       "offset %zu: invalid UTF-8 in the format", c->pos);
    c->pos += k;
    return 0;
  }
  size_t at = c->pos++;
  char e = c->fmt[c->pos];
  *escaped = 1;
  static const char from[] = "bdefnrstv", to[] = "\b\177\033\f\n\r \t\v";
  const char *m = e != 0 ? strchr(from, e) : NULL;
  if (m != NULL) {
    *cp = (unsigned char)to[m - from];
    c->pos++;
  } else if (e >= '0' && e <= '7') {
    uint32_t v = 0;
    for (int i = 0; i < 3 && c->fmt[c->pos] >= '0' && c->fmt[c->pos] <= '7';
         i++)
      v = v * 8 + (uint32_t)(c->fmt[c->pos++] - '0');
    *cp = v;
  } else if (e == 'x' && c->fmt[c->pos + 1] == '{') {
    uint32_t v = 0;
    c->pos += 2;
    size_t digits = 0;
    while (hex_value(c->fmt[c->pos]) >= 0 && v <= 0x10FFFF) {
      v = v * 16 + (uint32_t)hex_value(c->fmt[c->pos++]);
      digits++;
    }
    if (digits == 0 || c->fmt[c->pos] != '}')
      return expected(c, "hex digits and '}' in \\x{...}");
    c->pos++;
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
      return otpc__err(c->err, OTPC_EBADFMT, at,
                       "offset %zu: \\x{...} is not a Unicode code point", at);
    *cp = v;
  } else if (e == 'x') {
    c->pos++;
    int h1 = hex_value(c->fmt[c->pos]);
    int h2 = h1 < 0 ? -1 : hex_value(c->fmt[c->pos + 1]);
    if (h2 < 0)
      return expected(c, "two hex digits after \\x");
    *cp = (uint32_t)(h1 * 16 + h2);
    c->pos += 2;
  } else if (e == '^') {
    c->pos++;
    if (c->fmt[c->pos] == 0)
      return expected(c, "a character after \\^");
    *cp = (uint32_t)(c->fmt[c->pos++] & 31);
  } else {
    /* \c is c itself: \\ \' \" and the rest. */
    size_t k = otpc__utf8_decode((const uint8_t *)c->fmt + c->pos,
                                 strnlen(c->fmt + c->pos, 4), cp);
    if (k == 0)
      return otpc__err(c->err, OTPC_EBADFMT, c->pos,
                       "offset %zu: invalid UTF-8 in the format", c->pos);
    c->pos += k;
  }
  return 0;
}

/* Reads a quoted text up to `quote` into code points. */
static int read_quoted(bctx_t *c, char quote, otpc_buf_t *cps) {
  size_t open = c->pos++;
  cps->len = 0;
  for (;;) {
    if (c->fmt[c->pos] == 0) {
      char what[40];
      snprintf(what, sizeof what, "a closing %c for the one at offset %zu",
               quote, open);
      return expected(c, what);
    }
    if (c->fmt[c->pos] == quote) {
      c->pos++;
      return 0;
    }
    uint32_t cp;
    int esc;
    int rc = read_char(c, &cp, &esc);
    if (rc == 0)
      rc = otpc_buf_append(cps, &cp, sizeof cp);
    if (rc < 0)
      return rc == OTPC_EBADFMT ? rc : oom(c, rc);
  }
}

static int emit_atom_text(bctx_t *c, size_t at, const uint8_t *s, size_t n) {
  long chars = otpc__utf8_count(s, n);
  if (chars < 0)
    return bad_arg(c, at, "atom text is not valid UTF-8");
  if (chars > 255)
    return otpc__err(c->err, c->fmt[at] == '~' ? OTPC_EINVAL : OTPC_EBADFMT, at,
                     "offset %zu: atom longer than 255 characters", at);
  int rc = put_atom_utf8(c->out, s, n);
  return rc < 0 ? oom(c, rc) : 0;
}

/* A string as canonical list: nil, STRING_EXT, or LIST_EXT of integers. */
static int emit_codepoints(bctx_t *c, const uint32_t *cp, size_t n) {
  otpc_buf_t *out = c->out;
  int rc = 0, small = 1;
  for (size_t i = 0; i < n; i++)
    small &= cp[i] <= 255;
  if (n == 0)
    rc = put8(out, OTPC_TAG_NIL);
  else if (small && n < STRING_MAX) {
    uint8_t h[3] = {OTPC_TAG_STRING};
    otpc__put16(h + 1, (uint16_t)n);
    rc = otpc_buf_append(out, h, 3);
    for (size_t i = 0; rc == 0 && i < n; i++)
      rc = put8(out, (uint8_t)cp[i]);
  } else {
    rc = put8(out, OTPC_TAG_LIST);
    if (rc == 0)
      rc = put32(out, (uint32_t)n);
    for (size_t i = 0; rc == 0 && i < n; i++)
      rc = put_u64(out, 0, cp[i]);
    if (rc == 0)
      rc = put8(out, OTPC_TAG_NIL);
  }
  return rc < 0 ? oom(c, rc) : 0;
}

static int parse_term(bctx_t *c);

/* Integers (decimal, Base#digits, with _ between digits) and floats. */
static int parse_number(bctx_t *c) {
  size_t at = c->pos;
  otpc_buf_t txt, mag;
  otpc_buf_init(&txt);
  otpc_buf_init(&mag);
  int rc = 0, neg = 0;
  if (c->fmt[c->pos] == '-') {
    neg = 1;
    rc = otpc_buf_append(&txt, "-", 1);
    c->pos++;
  }
  if (!is_digit(c->fmt[c->pos])) {
    rc = expected(c, "a digit after '-'");
    goto done;
  }
  while (rc == 0 && (is_digit(c->fmt[c->pos]) ||
                     (c->fmt[c->pos] == '_' && is_digit(c->fmt[c->pos + 1])))) {
    if (c->fmt[c->pos] != '_')
      rc = otpc_buf_append(&txt, c->fmt + c->pos, 1);
    c->pos++;
  }
  if (rc < 0)
    goto done;
  if (c->fmt[c->pos] == '#') {
    size_t d0 = (size_t)neg;
    unsigned long base =
        txt.len - d0 <= 2 ? strtoul((char *)txt.data + d0, NULL, 10) : 0;
    if (base < 2 || base > 36) {
      rc = otpc__err(c->err, OTPC_EBADFMT, at,
                     "offset %zu: integer base must be 2..36", at);
      goto done;
    }
    c->pos++;
    size_t s = c->pos;
    txt.len = 0;
    while (rc == 0 &&
           (is_alnum(c->fmt[c->pos]) ||
            (c->fmt[c->pos] == '_' && is_alnum(c->fmt[c->pos + 1])))) {
      if (c->fmt[c->pos] != '_')
        rc = otpc_buf_append(&txt, c->fmt + c->pos, 1);
      c->pos++;
    }
    if (rc == 0 &&
        (txt.len == 0 || otpc__big_from_base((char *)txt.data, txt.len,
                                             (unsigned)base, &mag) < 0)) {
      c->pos = s;
      rc = expected(c, "digits of the integer's base");
      goto done;
    }
  } else if (c->fmt[c->pos] == '.' && is_digit(c->fmt[c->pos + 1])) {
    rc = otpc_buf_append(&txt, ".", 1);
    c->pos++;
    while (rc == 0 &&
           (is_digit(c->fmt[c->pos]) ||
            (c->fmt[c->pos] == '_' && is_digit(c->fmt[c->pos + 1])))) {
      if (c->fmt[c->pos] != '_')
        rc = otpc_buf_append(&txt, c->fmt + c->pos, 1);
      c->pos++;
    }
    char e = c->fmt[c->pos];
    if (rc == 0 && (e == 'e' || e == 'E')) {
      size_t k = c->pos + 1;
      if (c->fmt[k] == '+' || c->fmt[k] == '-')
        k++;
      if (!is_digit(c->fmt[k])) {
        c->pos = k;
        rc = expected(c, "exponent digits");
        goto done;
      }
      rc = otpc_buf_append(&txt, c->fmt + c->pos, k - c->pos);
      c->pos = k;
      while (rc == 0 && is_digit(c->fmt[c->pos]))
        rc = otpc_buf_append(&txt, c->fmt + c->pos++, 1);
    }
    if (rc < 0)
      goto done;
    /* The text is plain C-locale syntax; strtod honours LC_NUMERIC, which
     * programs rarely change from "C". */
    double d = strtod((char *)txt.data, NULL);
    if (!isfinite(d)) {
      rc = otpc__err(c->err, OTPC_EBADFMT, at,
                     "offset %zu: float literal out of range", at);
      goto done;
    }
    rc = put_double(c->out, d);
    goto done;
  } else {
    rc = otpc__big_from_dec((char *)txt.data, txt.len, &neg, &mag);
  }
  if (rc == 0)
    rc = put_big(c->out, neg, mag.data, mag.len);
done:
  otpc_buf_free(&txt);
  otpc_buf_free(&mag);
  return rc < 0 && rc != OTPC_EBADFMT ? oom(c, rc) : rc;
}

/* <<>>, <<"text">>, <<1,2,3>>, <<"a",0,$b>>: text is taken as its UTF-8
 * bytes (Erlang would need /utf8 for that), escapes of 0..255 give one
 * byte. */
static int parse_binary(bctx_t *c) {
  otpc_buf_t bytes;
  otpc_buf_init(&bytes);
  int rc = 0;
  c->pos += 2;
  skip_ws(c);
  if (c->fmt[c->pos] == '>' && c->fmt[c->pos + 1] == '>') {
    c->pos += 2;
    goto emit;
  }
  for (;;) {
    skip_ws(c);
    char ch = c->fmt[c->pos];
    if (ch == '"') {
      size_t open = c->pos++;
      while (rc == 0 && c->fmt[c->pos] != '"') {
        uint32_t cp;
        int esc;
        uint8_t b[4];
        size_t bl = 1;
        if (c->fmt[c->pos] == 0) {
          char what[40];
          snprintf(what, sizeof what, "a closing \" for the one at offset %zu",
                   open);
          rc = expected(c, what);
          goto done;
        }
        if ((rc = read_char(c, &cp, &esc)) < 0)
          goto done;
        if (esc && cp <= 255)
          b[0] = (uint8_t)cp;
        else
          bl = otpc__utf8_encode(cp, b);
        rc = otpc_buf_append(&bytes, b, bl);
      }
      c->pos++;
    } else if (is_digit(ch) || ch == '$') {
      size_t at = c->pos;
      uint32_t v = 0;
      if (ch == '$') {
        int esc;
        c->pos++;
        rc = read_char(c, &v, &esc);
        if (rc < 0)
          goto done;
      } else {
        while (is_digit(c->fmt[c->pos]) && v < 1000)
          v = v * 10 + (uint32_t)(c->fmt[c->pos++] - '0');
      }
      if (v > 255 || is_digit(c->fmt[c->pos])) {
        c->pos = at;
        rc = expected(c, "a byte (0..255) in a binary");
        goto done;
      }
      rc = put8(&bytes, (uint8_t)v);
    } else {
      rc = expected(c, "a byte (0..255) or a string in a binary");
      goto done;
    }
    if (rc < 0)
      goto done;
    skip_ws(c);
    if (c->fmt[c->pos] == ',') {
      c->pos++;
      continue;
    }
    if (c->fmt[c->pos] == '>' && c->fmt[c->pos + 1] == '>') {
      c->pos += 2;
      break;
    }
    rc = expected(c, "',' or '>>' in a binary");
    goto done;
  }
emit:
  rc = put_bits(c->out, bytes.data, bytes.len * 8);
done:
  otpc_buf_free(&bytes);
  return rc < 0 && rc != OTPC_EBADFMT ? oom(c, rc) : rc;
}

static int parse_tuple(bctx_t *c) {
  otpc_buf_t *out = c->out;
  size_t start = out->len, n = 0;
  uint8_t ph[5] = {OTPC_TAG_LARGE_TUPLE};
  int rc = otpc_buf_append(out, ph, 5);
  if (rc < 0)
    return oom(c, rc);
  c->pos++;
  skip_ws(c);
  if (c->fmt[c->pos] == '}') {
    c->pos++;
  } else {
    for (;;) {
      rc = parse_term(c);
      if (rc < 0)
        return rc;
      n++;
      skip_ws(c);
      if (c->fmt[c->pos] == ',') {
        c->pos++;
        continue;
      }
      if (c->fmt[c->pos] == '}') {
        c->pos++;
        break;
      }
      return expected(c, "',' or '}' in a tuple");
    }
  }
  if (n > UINT32_MAX)
    return otpc__err(c->err, OTPC_ELIMIT, c->pos, "offset %zu: tuple too big",
                     c->pos);
  if (n <= 255) {
    out->data[start] = OTPC_TAG_SMALL_TUPLE;
    out->data[start + 1] = (uint8_t)n;
    memmove(out->data + start + 2, out->data + start + 5, out->len - start - 5);
    out->len -= 3;
    out->data[out->len] = 0;
  } else {
    otpc__put32(out->data + start + 1, (uint32_t)n);
  }
  return 0;
}

static int parse_list(bctx_t *c) {
  otpc_buf_t *out = c->out;
  size_t start = out->len, n = 0;
  int small = 1, rc;
  uint8_t ph[5] = {OTPC_TAG_LIST};
  if ((rc = otpc_buf_append(out, ph, 5)) < 0)
    return oom(c, rc);
  c->pos++;
  skip_ws(c);
  if (c->fmt[c->pos] == ']') {
    c->pos++;
    return list_finish(out, start, 0, 0);
  }
  for (;;) {
    size_t e = out->len;
    if ((rc = parse_term(c)) < 0)
      return rc;
    n++;
    small &= out->len - e == 2 && out->data[e] == OTPC_TAG_SMALL_INTEGER;
    skip_ws(c);
    char ch = c->fmt[c->pos];
    if (ch == ',') {
      c->pos++;
    } else if (ch == ']') {
      c->pos++;
      rc = list_finish(out, start, n, small);
      return rc < 0 ? oom(c, rc) : 0;
    } else if (ch == '|') {
      c->pos++;
      break;
    } else {
      return expected(c, "',', '|' or ']' in a list");
    }
  }
  /* [Elements | Tail]: a list tail is merged, as the value of [1 | [2]] is
   * [1, 2]. */
  size_t ts = out->len;
  if ((rc = parse_term(c)) < 0)
    return rc;
  skip_ws(c);
  if (c->fmt[c->pos] != ']')
    return expected(c, "']' after the tail of a list");
  c->pos++;
  uint8_t *d = out->data;
  switch (d[ts]) {
  case OTPC_TAG_NIL:
    out->len = ts;
    rc = list_finish(out, start, n, small);
    break;
  case OTPC_TAG_STRING: {
    size_t m = otpc__get16(d + ts + 1);
    if (small && n + m < STRING_MAX) {
      for (size_t i = 0; i < n; i++)
        d[start + 3 + i] = d[start + 5 + 2 * i + 1];
      memmove(d + start + 3 + n, d + ts + 3, m);
      d[start] = OTPC_TAG_STRING;
      otpc__put16(d + start + 1, (uint16_t)(n + m));
      out->len = start + 3 + n + m;
      d[out->len] = 0;
      break;
    }
    /* Spell the string out as small integers after our elements. */
    uint8_t *s = malloc(m);
    if (s == NULL)
      return oom(c, OTPC_ENOMEM);
    memcpy(s, d + ts + 3, m);
    out->len = ts;
    for (size_t i = 0; rc == 0 && i < m; i++) {
      uint8_t b[2] = {OTPC_TAG_SMALL_INTEGER, s[i]};
      rc = otpc_buf_append(out, b, 2);
    }
    free(s);
    if (rc == 0)
      rc = list_finish(out, start, n + m, 0);
    break;
  }
  case OTPC_TAG_LIST: {
    size_t m = otpc__get32(d + ts + 1);
    memmove(d + ts, d + ts + 5, out->len - ts - 5);
    out->len -= 5;
    d[out->len] = 0;
    n += m;
    if (n > UINT32_MAX)
      return otpc__err(c->err, OTPC_ELIMIT, c->pos, "offset %zu: list too long",
                       c->pos);
    d[start] = OTPC_TAG_LIST;
    otpc__put32(d + start + 1, (uint32_t)n);
    break;
  }
  default: d[start] = OTPC_TAG_LIST; otpc__put32(d + start + 1, (uint32_t)n);
  }
  return rc < 0 ? oom(c, rc) : 0;
}

static int parse_map(bctx_t *c) {
  otpc_buf_t *out = c->out, offs;
  otpc_buf_init(&offs);
  size_t start = out->len, n = 0;
  uint8_t ph[5] = {OTPC_TAG_MAP};
  int rc = otpc_buf_append(out, ph, 5);
  if (rc < 0)
    return oom(c, rc);
  c->pos++;
  if (c->fmt[c->pos] != '{') {
    rc = expected(c, "'{' after '#'");
    goto done;
  }
  c->pos++;
  skip_ws(c);
  if (c->fmt[c->pos] == '}') {
    c->pos++;
    goto finish;
  }
  for (;;) {
    size_t k = out->len;
    if ((rc = otpc_buf_append(&offs, &k, sizeof k)) < 0 ||
        (rc = parse_term(c)) < 0)
      goto done;
    skip_ws(c);
    if (c->fmt[c->pos] != '=' || c->fmt[c->pos + 1] != '>') {
      rc = expected(c, "'=>' after a key in a map");
      goto done;
    }
    c->pos += 2;
    size_t v = out->len;
    if ((rc = otpc_buf_append(&offs, &v, sizeof v)) < 0 ||
        (rc = parse_term(c)) < 0)
      goto done;
    n++;
    skip_ws(c);
    if (c->fmt[c->pos] == ',') {
      c->pos++;
      continue;
    }
    if (c->fmt[c->pos] == '}') {
      c->pos++;
      break;
    }
    rc = expected(c, "',' or '}' in a map");
    goto done;
  }
finish:
  rc = map_finish(out, start, (const size_t *)offs.data, n, 1);
done:
  otpc_buf_free(&offs);
  return rc < 0 && rc != OTPC_EBADFMT && rc != OTPC_EINVAL && rc != OTPC_ELIMIT
             ? oom(c, rc)
             : rc;
}

static int parse_directive(bctx_t *c) {
  size_t at = c->pos;
  char d = c->fmt[c->pos + 1];
  otpc_buf_t *out = c->out;
  int rc;
  c->pos += 2;
  switch (d) {
  case 'a': {
    const char *s = va_arg(c->ap, const char *);
    if (s == NULL)
      return bad_arg(c, at, "~a got NULL");
    return emit_atom_text(c, at, (const uint8_t *)s, strlen(s));
  }
  case 'A': {
    otpc_atom_t a = va_arg(c->ap, otpc_atom_t);
    size_t n;
    const char *s = otpc_atom_text(a, &n);
    if (s == NULL)
      return bad_arg(c, at, "~A got an invalid atom");
    rc = put_atom_utf8(out, (const uint8_t *)s, n);
    break;
  }
  case 'i': rc = put_i64(out, va_arg(c->ap, int)); break;
  case 'l': rc = put_i64(out, va_arg(c->ap, long)); break;
  case 'I': rc = put_i64(out, va_arg(c->ap, int64_t)); break;
  case 'U': rc = put_u64(out, 0, va_arg(c->ap, uint64_t)); break;
  case 'N': {
    const char *s = va_arg(c->ap, const char *);
    otpc_buf_t mag;
    int neg;
    otpc_buf_init(&mag);
    rc = s == NULL ? OTPC_EINVAL : otpc__big_from_dec(s, strlen(s), &neg, &mag);
    if (rc == 0)
      rc = put_big(out, neg, mag.data, mag.len);
    otpc_buf_free(&mag);
    if (rc == OTPC_EINVAL)
      return bad_arg(c, at, "~N needs decimal digits with an optional sign");
    break;
  }
  case 'f': {
    double v = va_arg(c->ap, double);
    if (!isfinite(v))
      return bad_arg(c, at, "~f got NaN or an infinity");
    rc = put_double(out, v);
    break;
  }
  case 's': {
    const char *s = va_arg(c->ap, const char *);
    if (s == NULL)
      return bad_arg(c, at, "~s got NULL");
    size_t n = strlen(s), k = 0;
    otpc_buf_t cps;
    otpc_buf_init(&cps);
    rc = 0;
    while (rc == 0 && k < n) {
      uint32_t cp;
      size_t l = otpc__utf8_decode((const uint8_t *)s + k, n - k, &cp);
      if (l == 0) {
        otpc_buf_free(&cps);
        return bad_arg(c, at, "~s got invalid UTF-8");
      }
      k += l;
      rc = otpc_buf_append(&cps, &cp, sizeof cp);
    }
    if (rc == 0)
      rc = emit_codepoints(c, (const uint32_t *)cps.data, cps.len / 4);
    otpc_buf_free(&cps);
    return rc < 0 && rc != OTPC_EINVAL ? oom(c, rc) : rc;
  }
  case 'b':
  case 'B': {
    const void *p = va_arg(c->ap, const void *);
    size_t n = va_arg(c->ap, size_t);
    if (p == NULL && n > 0)
      return bad_arg(c, at, "binary pointer is NULL");
    if (d == 'b' && n > SIZE_MAX / 8)
      return otpc__err(c->err, OTPC_ELIMIT, at, "offset %zu: binary too big",
                       at);
    rc = put_bits(out, p, d == 'b' ? n * 8 : n);
    break;
  }
  case 'p': {
    const otpc_pid_t *p = va_arg(c->ap, const otpc_pid_t *);
    rc = p == NULL ? OTPC_EINVAL : put_pid(out, p);
    if (rc == OTPC_EINVAL)
      return bad_arg(c, at, "~p got NULL or a pid with an invalid node");
    break;
  }
  case 'r': {
    const otpc_ref_t *r = va_arg(c->ap, const otpc_ref_t *);
    rc = r == NULL ? OTPC_EINVAL : put_ref(out, r);
    if (rc == OTPC_EINVAL)
      return bad_arg(c, at, "~r got NULL, a bad node or a word count not 1..5");
    break;
  }
  case 'P': {
    const otpc_port_t *p = va_arg(c->ap, const otpc_port_t *);
    rc = p == NULL ? OTPC_EINVAL : put_port(out, p);
    if (rc == OTPC_EINVAL)
      return bad_arg(c, at, "~P got NULL or a port with an invalid node");
    break;
  }
  case 't': {
    const otpc_term_t *t = va_arg(c->ap, const otpc_term_t *);
    if (t == NULL || t->p == NULL || t->len == 0)
      return bad_arg(c, at, "~t got NULL or an empty term");
    rc = otpc_buf_append(out, t->p, t->len);
    break;
  }
  default:
    c->pos = at + 1;
    return expected(c, "a directive letter (a A i l I U N f s b B p r P t)");
  }
  return rc < 0 ? oom(c, rc) : 0;
}

static int parse_atom(bctx_t *c) {
  size_t at = c->pos;
  while (is_alnum(c->fmt[c->pos]) || c->fmt[c->pos] == '_' ||
         c->fmt[c->pos] == '@')
    c->pos++;
  return emit_atom_text(c, at, (const uint8_t *)c->fmt + at, c->pos - at);
}

static int parse_term(bctx_t *c) {
  skip_ws(c);
  char ch = c->fmt[c->pos];
  int rc;
  if (ch == '{' || ch == '[' || ch == '#') {
    if (++c->depth > BUILD_MAX_DEPTH)
      return otpc__err(c->err, OTPC_ELIMIT, c->pos,
                       "offset %zu: nesting deeper than %u", c->pos,
                       BUILD_MAX_DEPTH);
    rc = ch == '{' ? parse_tuple(c) : ch == '[' ? parse_list(c) : parse_map(c);
    c->depth--;
    return rc;
  }
  if (ch == '<' && c->fmt[c->pos + 1] == '<')
    return parse_binary(c);
  if (ch == '-' || is_digit(ch))
    return parse_number(c);
  if (ch >= 'a' && ch <= 'z')
    return parse_atom(c);
  if (ch == '~')
    return parse_directive(c);
  if (ch == '\'' || ch == '"') {
    size_t at = c->pos;
    otpc_buf_t cps;
    otpc_buf_init(&cps);
    rc = read_quoted(c, ch, &cps);
    if (rc == 0 && ch == '"') {
      rc = emit_codepoints(c, (const uint32_t *)cps.data, cps.len / 4);
    } else if (rc == 0) {
      /* Quoted atom: back to UTF-8 (code points from escapes included). */
      otpc_buf_t u;
      otpc_buf_init(&u);
      for (size_t i = 0; rc == 0 && i < cps.len / 4; i++) {
        uint8_t b[4];
        uint32_t cp;
        memcpy(&cp, cps.data + 4 * i, 4);
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
          rc = otpc__err(c->err, OTPC_EBADFMT, at,
                         "offset %zu: atom holds an invalid code point", at);
          break;
        }
        rc = otpc_buf_append(&u, b, otpc__utf8_encode(cp, b));
      }
      if (rc == 0)
        rc = emit_atom_text(c, at, u.data, u.len);
      otpc_buf_free(&u);
    }
    otpc_buf_free(&cps);
    return rc;
  }
  if (ch == '$') {
    c->pos++;
    uint32_t cp;
    int esc;
    rc = read_char(c, &cp, &esc);
    if (rc == 0 && (rc = put_u64(c->out, 0, cp)) < 0)
      return oom(c, rc);
    return rc;
  }
  return expected(c, "a term");
}

int otpc_term_vbuild(otpc_buf_t *out, otpc_err_t *err, const char *fmt,
                     va_list ap) {
  if (out == NULL || fmt == NULL)
    return otpc__err(err, OTPC_EINVAL, 0, "NULL buffer or format");
  bctx_t c = {.fmt = fmt, .out = out, .err = err};
  size_t start = out->len;
  va_copy(c.ap, ap);
  int rc = parse_term(&c);
  if (rc == 0) {
    skip_ws(&c);
    if (fmt[c.pos] != 0)
      rc = expected(&c, "the end of the format after the term");
  }
  va_end(c.ap);
  if (rc < 0) {
    /* Never leave a half-written term behind. */
    out->len = start;
    if (out->data != NULL)
      out->data[start] = 0;
  }
  return rc;
}

int otpc_term_build(otpc_buf_t *out, otpc_err_t *err, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc_term_vbuild(out, err, fmt, ap);
  va_end(ap);
  return rc;
}

int otpc_term_put_version(otpc_buf_t *out) {
  if (out == NULL)
    return OTPC_EINVAL;
  return put8(out, OTPC_TAG_VERSION);
}

/* ---------------------------------------------------------------- encoder */

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
  size_t n;
  const uint8_t *s;
  switch (p[0]) {
  case OTPC_TAG_ATOM:
  case OTPC_TAG_ATOM_UTF8: n = otpc__get16(p + 1), s = p + 3; break;
  case OTPC_TAG_SMALL_ATOM:
  case OTPC_TAG_SMALL_ATOM_UTF8: n = p[1], s = p + 2; break;
  default: return OTPC_EBADTERM;
  }
  *end = s + n;
  if (p[0] == OTPC_TAG_ATOM || p[0] == OTPC_TAG_SMALL_ATOM)
    return put_atom_latin1(out, s, n);
  return put_atom_utf8(out, s, n);
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
      rc = put32(out, *q++);
    else
      rc = otpc_buf_append(out, q, 4), q += 4;
    *end = q + 4 * words;
    return rc < 0 ? rc : otpc_buf_append(out, q, 4 * words);
  }
  if (tag == OTPC_TAG_REFERENCE) {
    uint8_t h[3] = {OTPC_TAG_NEWER_REFERENCE, 0, 1};
    if ((rc = otpc_buf_append(out, h, 3)) < 0 ||
        (rc = enc_atom(out, p + 1, &q)) < 0 || (rc = put32(out, q[4])) < 0)
      return rc;
    *end = q + 5;
    return otpc_buf_append(out, q, 4);
  }
  if (tag == OTPC_TAG_PID || tag == OTPC_TAG_NEW_PID) {
    if ((rc = put8(out, OTPC_TAG_NEW_PID)) < 0 ||
        (rc = enc_atom(out, p + 1, &q)) < 0 ||
        (rc = otpc_buf_append(out, q, 8)) < 0)
      return rc;
    *end = q + (tag == OTPC_TAG_PID ? 9 : 12);
    return put32(out, tag == OTPC_TAG_PID ? q[8] : otpc__get32(q + 8));
  }
  /* Ports: read node, id and creation, then write as put_port does. */
  size_t mark = out->len;
  if ((rc = enc_atom(out, p + 1, &q)) < 0)
    return rc;
  uint64_t id;
  uint32_t creation;
  switch (tag) {
  case OTPC_TAG_PORT: id = otpc__get32(q), creation = q[4], q += 5; break;
  case OTPC_TAG_NEW_PORT:
    id = otpc__get32(q), creation = otpc__get32(q + 4), q += 8;
    break;
  case OTPC_TAG_V4_PORT:
    id = otpc__get64(q), creation = otpc__get32(q + 8), q += 12;
    break;
  default: return OTPC_EBADTERM;
  }
  *end = q;
  /* The node atom went out first; slip the tag in front of it. */
  if ((rc = put8(out, 0)) < 0)
    return rc;
  memmove(out->data + mark + 1, out->data + mark, out->len - mark - 1);
  int v4 = id > V3_PORT_MAX;
  out->data[mark] = v4 ? OTPC_TAG_V4_PORT : OTPC_TAG_NEW_PORT;
  rc = v4 ? put64(out, id) : put32(out, (uint32_t)id);
  return rc < 0 ? rc : put32(out, creation);
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
    return put_i64(out, (int32_t)otpc__get32(p + 1));
  case OTPC_TAG_SMALL_BIG:
    *end = p + 3 + p[1];
    return put_big(out, p[2], p + 3, p[1]);
  case OTPC_TAG_LARGE_BIG:
    n = otpc__get32(p + 1);
    *end = p + 6 + n;
    return put_big(out, p[5], p + 6, n);
  case OTPC_TAG_FLOAT: {
    char txt[32];
    memcpy(txt, p + 1, 31);
    txt[31] = 0;
    *end = p + 32;
    return put_double(out, strtod(txt, NULL));
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
    return put_bits(out, p + 5, n * 8);
  case OTPC_TAG_BIT_BINARY:
    n = otpc__get32(p + 1);
    *end = p + 6 + n;
    return put_bits(out, p + 6, n == 0 ? 0 : (n - 1) * 8 + (p[5] ? p[5] : 8));
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
      if ((rc = put_i64(out, v)) < 0)
        return rc;
    }
    if ((rc = enc_identity(out, q, &f->p)) < 0)
      return rc;
    return 1;
  }
  case OTPC_TAG_EXPORT: {
    const uint8_t *q;
    if ((rc = put8(out, OTPC_TAG_EXPORT)) < 0 ||
        (rc = enc_atom(out, p + 1, &q)) < 0 || (rc = enc_atom(out, q, &q)) < 0)
      return rc;
    *end = q + (q[0] == OTPC_TAG_SMALL_INTEGER ? 2 : 5);
    return put_i64(out, q[0] == OTPC_TAG_SMALL_INTEGER
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
      rc = put8(out, OTPC_TAG_LARGE_TUPLE);
      if (rc == 0)
        rc = put32(out, (uint32_t)n);
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
    rc = map_finish(out, f->start, (const size_t *)e->offs.data + f->offs_base,
                    f->n, 0);
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
      return list_finish(out, f->start, f->n, f->small);
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
