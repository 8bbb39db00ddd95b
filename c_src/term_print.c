/* Printing terms as OTP 25's io_lib:format("~tp") does on one line.
 *
 * The rules (checked against erl 25, see test/c/test_term_print.c):
 * - atoms are quoted unless they start with a-z or a latin-1 lowercase letter
 *   and go on with letters, digits, '_' and '@', and are not reserved words;
 * - a list is a "string" when it is proper and every element is a latin-1
 *   printable character (the default printable range), else [a,b|c];
 * - a binary is <<"text">> when it is ASCII text, <<"text"/utf8>> when it is
 *   UTF-8 of printable latin-1 characters, <<"text">> again when it is not
 *   UTF-8 but every byte is a printable latin-1 character, else <<1,2,3:5>>;
 * - floats use the shortest digits that read back to the same double, in
 *   plain notation when that is no longer than the exponent notation and the
 *   magnitude is below 2^53;
 * - tuples {a,b}, maps #{k => v,k2 => v2} with keys in map-key order
 *   (otpc_term_compare_exact), whatever order the sender wrote them in;
 * - pids, ports, refs and funs in term.h's forms, node names written as
 *   atoms (quoted when needed).
 *
 * The walk is iterative with an explicit stack of frames, because terms come
 * from peers and may nest 100000 levels deep. The bytes are read directly:
 * the term was validated when its view was made, so the tags and lengths can
 * be trusted, and reading them avoids interning node atoms just to print. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef struct pair {
  otpc_term_t key;
  otpc_term_t value;
} pair_t;

enum { F_TUPLE, F_LIST, F_MAP };

/* One open container. Tuples and lists are read in order: their next
 * element starts at the printer's cursor, where the previous one ended, so
 * nothing is skipped twice. For lists, `bytes` marks a STRING_EXT segment
 * whose elements are bytes (the tail of a non-printable list may be one). */
typedef struct frame {
  int kind;
  int first;   /* no separator before the next element */
  int bytes;   /* list: the current segment is STRING_EXT */
  int closing; /* list: the improper tail was printed, "]" is next */
  size_t left;
  pair_t *pairs; /* map: sorted pairs */
  size_t i, n;
  int in_value;
  const uint8_t *end; /* map: the end of its bytes */
} frame_t;

/* Where the keys and values of every map of the term start, found in one
 * walk: sorting a map's pairs needs their views, and skipping each value
 * on its own would cost quadratic time on maps nested deep in each other.
 * A map of n pairs owns 2n+1 bounds (k1, v1, ..., kn, vn, end), reserved
 * when the walk enters it. */
typedef struct map_rec {
  const uint8_t *start; /* the map's first byte */
  size_t first;         /* its bounds in map_index_t.bounds */
} map_rec_t;

typedef struct map_index {
  map_rec_t *maps; /* in increasing order of start */
  size_t nmaps, capmaps;
  const uint8_t **bounds;
  size_t nbounds, capbounds;
  int built;
} map_index_t;

typedef struct printer {
  otpc_buf_t *out;
  const uint8_t *root; /* the whole term, for the map index */
  const uint8_t *pos;  /* the cursor: where the next term in order starts */
  frame_t *stack;
  size_t sp, cap;
  map_index_t maps;
} printer_t;

static int put(printer_t *pr, const char *s, size_t n) {
  return otpc_buf_append(pr->out, s, n);
}

static int puts_(printer_t *pr, const char *s) {
  return put(pr, s, strlen(s));
}

static int put_cp(printer_t *pr, uint32_t cp) {
  uint8_t u[4];
  size_t n = otpc__utf8_encode(cp, u);
  return put(pr, (const char *)u, n);
}

static int put_u64(printer_t *pr, uint64_t v) {
  char tmp[24];
  int n = snprintf(tmp, sizeof tmp, "%llu", (unsigned long long)v);
  return put(pr, tmp, (size_t)n);
}

/* ------------------------------------------------------------ characters */

/* io_lib's string_char for Unicode output: what a character becomes inside
 * a quoted atom (q = '\'') or a string or binary text (q = '"'). */
static int put_char(printer_t *pr, uint32_t c, char q) {
  char e[5];
  if (c == (uint32_t)q || c == '\\') {
    e[0] = '\\';
    e[1] = (char)c;
    return put(pr, e, 2);
  }
  if (c >= 0x20 && c <= 0x7e) {
    e[0] = (char)c;
    return put(pr, e, 1);
  }
  if (c >= 0xa0)
    return put_cp(pr, c);
  switch (c) {
  case '\n': return put(pr, "\\n", 2);
  case '\r': return put(pr, "\\r", 2);
  case '\t': return put(pr, "\\t", 2);
  case '\v': return put(pr, "\\v", 2);
  case '\b': return put(pr, "\\b", 2);
  case '\f': return put(pr, "\\f", 2);
  case 27: return put(pr, "\\e", 2);
  case 127: return put(pr, "\\d", 2);
  default:
    /* Other control characters below 0xa0 become three octal digits. */
    e[0] = '\\';
    e[1] = (char)('0' + (c >> 6));
    e[2] = (char)('0' + (c >> 3 & 7));
    e[3] = (char)('0' + (c & 7));
    return put(pr, e, 4);
  }
}

/* The default printable range of OTP 25 is latin1: these characters make a
 * list or a binary print as text. */
static int printable(uint32_t c) {
  return (c >= 0x20 && c <= 0x7e) || (c >= 0xa0 && c <= 0xff) || c == '\n' ||
         c == '\r' || c == '\t' || c == '\v' || c == '\b' || c == '\f' ||
         c == 27;
}

/* ----------------------------------------------------------------- atoms */

typedef struct atom_view {
  const uint8_t *s;
  size_t n;
  int latin1;
} atom_view_t;

static const uint8_t *atom_at(const uint8_t *p, atom_view_t *a) {
  a->latin1 = otpc__atom_bytes(p, &a->s, &a->n);
  return a->latin1 < 0 ? NULL : a->s + a->n;
}

/* The next character of an atom's text; invalid UTF-8 (which the validator
 * should have refused) is taken byte by byte rather than failing. */
static uint32_t atom_next(const atom_view_t *a, size_t *i) {
  uint32_t cp = a->s[*i];
  size_t k = 1;
  if (!a->latin1) {
    k = otpc__utf8_decode(a->s + *i, a->n - *i, &cp);
    if (k == 0) {
      cp = a->s[*i];
      k = 1;
    }
  }
  *i += k;
  return cp;
}

static int lower_start(uint32_t c) {
  return (c >= 'a' && c <= 'z') || (c >= 0xdf && c <= 0xff && c != 0xf7);
}

static int name_char(uint32_t c) {
  return lower_start(c) || (c >= 'A' && c <= 'Z') ||
         (c >= 0xc0 && c <= 0xde && c != 0xd7) || (c >= '0' && c <= '9') ||
         c == '_' || c == '@';
}

/* erl_scan's reserved words in OTP 25; 'maybe' and 'else' are keywords only
 * with the maybe_expr feature, off by default, so they are not quoted. */
static int reserved(const atom_view_t *a) {
  static const char *const words[] = {
      "after",  "begin", "case", "try", "cond", "catch", "andalso",
      "orelse", "end",   "fun",  "if",  "let",  "of",    "receive",
      "when",   "bnot",  "not",  "div", "rem",  "band",  "and",
      "bor",    "bxor",  "bsl",  "bsr", "or",   "xor"};
  for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
    if (strlen(words[i]) == a->n && memcmp(words[i], a->s, a->n) == 0)
      return 1;
  return 0;
}

static int needs_quotes(const atom_view_t *a) {
  if (a->n == 0 || reserved(a))
    return 1;
  size_t i = 0;
  if (!lower_start(atom_next(a, &i)))
    return 1;
  while (i < a->n)
    if (!name_char(atom_next(a, &i)))
      return 1;
  return 0;
}

static int put_atom(printer_t *pr, const atom_view_t *a) {
  if (!needs_quotes(a)) {
    if (!a->latin1)
      return put(pr, (const char *)a->s, a->n);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < a->n; i++)
      rc = put_cp(pr, a->s[i]);
    return rc;
  }
  int rc = put(pr, "'", 1);
  for (size_t i = 0; rc == 0 && i < a->n;)
    rc = put_char(pr, atom_next(a, &i), '\'');
  return rc != 0 ? rc : put(pr, "'", 1);
}

/* Prints the atom at p and reports the end of its bytes in *end. */
static int put_atom_at(printer_t *pr, const uint8_t *p, const uint8_t **end) {
  atom_view_t a;
  const uint8_t *e = atom_at(p, &a);
  if (e == NULL)
    return OTPC_EBADTERM;
  if (end != NULL)
    *end = e;
  return put_atom(pr, &a);
}

/* -------------------------------------------------------------- integers */

/* The value of an integer term that fits an int64_t; 0 if it is not an
 * integer or too large. Bignums with high zero bytes are accepted, since a
 * peer may send them. */
static int int_value(const uint8_t *p, int64_t *v) {
  switch (p[0]) {
  case OTPC_TAG_SMALL_INTEGER: *v = p[1]; return 1;
  case OTPC_TAG_INTEGER: *v = (int32_t)otpc__get32(p + 1); return 1;
  case OTPC_TAG_SMALL_BIG:
  case OTPC_TAG_LARGE_BIG: {
    size_t n = p[0] == OTPC_TAG_SMALL_BIG ? p[1] : otpc__get32(p + 1);
    const uint8_t *mag = p[0] == OTPC_TAG_SMALL_BIG ? p + 3 : p + 6;
    int neg = mag[-1] != 0;
    while (n > 0 && mag[n - 1] == 0)
      n--;
    if (n > 8)
      return 0;
    uint64_t m = 0;
    for (size_t i = n; i-- > 0;)
      m = m << 8 | mag[i];
    if (m > (uint64_t)INT64_MAX)
      return 0;
    *v = neg ? -(int64_t)m : (int64_t)m;
    return 1;
  }
  default: return 0;
  }
}

static int put_int(printer_t *pr, const uint8_t *p) {
  int64_t v;
  if (int_value(p, &v)) {
    char tmp[24];
    int n = snprintf(tmp, sizeof tmp, "%lld", (long long)v);
    return put(pr, tmp, (size_t)n);
  }
  if (p[0] == OTPC_TAG_SMALL_BIG)
    return otpc__big_to_dec(p[2] != 0, p + 3, p[1], pr->out);
  if (p[0] == OTPC_TAG_LARGE_BIG)
    return otpc__big_to_dec(p[5] != 0, p + 6, otpc__get32(p + 1), pr->out);
  return OTPC_EBADTERM;
}

/* ---------------------------------------------------------------- floats */

/* The shortest decimal digits that read back as x (x > 0, finite): n digits
 * in dig and the exponent of the first one. Tries each precision with
 * correctly rounded digits, and also their neighbours: near a power of two
 * the interval that rounds to x is lopsided, and the nearest n-digit
 * decimal may fall outside it while the next one is inside. */
static int shortest_digits(double x, char dig[20], int *e10) {
  char tmp[40];
  for (int p = 1; p <= 17; p++) {
    snprintf(tmp, sizeof tmp, "%.*e", p - 1, x);
    const char *s = tmp;
    uint64_t m = 0;
    int n = 0;
    for (; *s != 'e'; s++)
      if (*s >= '0' && *s <= '9') {
        m = m * 10 + (uint64_t)(*s - '0');
        n++;
      }
    int e = atoi(s + 1);
    for (int d = 0; d <= 2; d++) {
      uint64_t c = d == 0 ? m : d == 1 ? m - 1 : m + 1;
      if (d > 0 && p == 1)
        break;
      char num[40];
      snprintf(num, sizeof num, "%llue%d", (unsigned long long)c, e - (n - 1));
      if (strtod(num, NULL) != x)
        continue;
      int k = snprintf(dig, 20, "%llu", (unsigned long long)c);
      if (k != n)
        continue; /* a carry changed the length: found at another p */
      while (k > 1 && dig[k - 1] == '0')
        k--;
      *e10 = e;
      return k;
    }
  }
  /* %.17e always reads back; not reached. */
  return -1;
}

static int put_double(printer_t *pr, double x) {
  char out[400];
  size_t o = 0;
  if (isnan(x) || isinf(x))
    return OTPC_EBADTERM; /* no Erlang float has these values */
  if (signbit(x)) {
    out[o++] = '-';
    x = -x;
  }
  if (x == 0.0) {
    memcpy(out + o, "0.0", 3);
    return put(pr, out, o + 3);
  }
  char dig[20];
  int e;
  int n = shortest_digits(x, dig, &e);
  if (n < 1)
    return OTPC_EBADTERM;
  /* Exponent form: d.ddde-5, at least one digit after the point. */
  char sci[40];
  size_t ls = 0;
  sci[ls++] = dig[0];
  sci[ls++] = '.';
  if (n == 1)
    sci[ls++] = '0';
  memcpy(sci + ls, dig + 1, (size_t)n - 1);
  ls += (size_t)n - 1;
  ls += (size_t)snprintf(sci + ls, sizeof sci - ls, "e%d", e);
  /* Plain form length: digits, zeros to the point or after "0.", ".0". */
  size_t lp;
  if (e >= n - 1)
    lp = (size_t)e + 1 + 2;
  else if (e >= 0)
    lp = (size_t)n + 1;
  else
    lp = 2 + (size_t)(-e - 1) + (size_t)n;
  /* float_to_list(F, [short]) keeps the exponent form from 2^53 up, where
   * not every integer is a double, even when the plain form is shorter. */
  if (lp > ls || x >= 9007199254740992.0) {
    memcpy(out + o, sci, ls);
    return put(pr, out, o + ls);
  }
  if (e >= n - 1) {
    memcpy(out + o, dig, (size_t)n);
    o += (size_t)n;
    memset(out + o, '0', (size_t)(e - (n - 1)));
    o += (size_t)(e - (n - 1));
    memcpy(out + o, ".0", 2);
    o += 2;
  } else if (e >= 0) {
    memcpy(out + o, dig, (size_t)e + 1);
    o += (size_t)e + 1;
    out[o++] = '.';
    memcpy(out + o, dig + e + 1, (size_t)(n - e - 1));
    o += (size_t)(n - e - 1);
  } else {
    memcpy(out + o, "0.", 2);
    o += 2;
    memset(out + o, '0', (size_t)(-e - 1));
    o += (size_t)(-e - 1);
    memcpy(out + o, dig, (size_t)n);
    o += (size_t)n;
  }
  return put(pr, out, o);
}

static int put_float(printer_t *pr, const uint8_t *p) {
  double x;
  if (p[0] == OTPC_TAG_NEW_FLOAT) {
    uint64_t bits = otpc__get64(p + 1);
    memcpy(&x, &bits, sizeof x);
  } else {
    /* FLOAT_EXT (minor version 0): "%.20e" text. */
    if (otpc__float_text(p + 1, &x) < 0)
      return OTPC_EBADTERM;
  }
  return put_double(pr, x);
}

/* -------------------------------------------------------------- binaries */

static int put_binary(printer_t *pr, const uint8_t *s, size_t n,
                      unsigned tail_bits) {
  int rc;
  if (n == 0 && tail_bits == 0)
    return puts_(pr, "<<>>");
  if (tail_bits == 0) {
    /* Text if it is UTF-8 of printable characters, or failing UTF-8, if
     * every byte is a printable latin-1 character. */
    int utf8 = 1, ascii = 1, text = 1;
    for (size_t i = 0; i < n;) {
      uint32_t cp;
      size_t k = otpc__utf8_decode(s + i, n - i, &cp);
      if (k == 0) {
        utf8 = 0;
        break;
      }
      if (!printable(cp))
        text = 0;
      if (cp >= 0x80)
        ascii = 0;
      i += k;
    }
    if (!utf8) {
      text = 1;
      for (size_t i = 0; text && i < n; i++)
        text = printable(s[i]);
    }
    if (text) {
      rc = puts_(pr, "<<\"");
      for (size_t i = 0; rc == 0 && i < n;) {
        uint32_t cp = s[i];
        size_t k = utf8 ? otpc__utf8_decode(s + i, n - i, &cp) : 1;
        rc = put_char(pr, cp, '"');
        i += k;
      }
      if (rc == 0)
        rc = puts_(pr, utf8 && !ascii ? "\"/utf8>>" : "\">>");
      return rc;
    }
  }
  rc = puts_(pr, "<<");
  size_t whole = tail_bits == 0 ? n : n - 1;
  for (size_t i = 0; rc == 0 && i < whole; i++) {
    if (i > 0)
      rc = put(pr, ",", 1);
    if (rc == 0)
      rc = put_u64(pr, s[i]);
  }
  if (rc == 0 && tail_bits != 0) {
    /* The last byte holds tail_bits bits, high bits first: Value:Size. */
    char tmp[16];
    int k = snprintf(tmp, sizeof tmp, "%s%u:%u", whole > 0 ? "," : "",
                     (unsigned)(s[n - 1] >> (8 - tail_bits)), tail_bits);
    rc = put(pr, tmp, (size_t)k);
  }
  return rc != 0 ? rc : puts_(pr, ">>");
}

/* ----------------------------------------------- pids, ports, refs, funs */

/* The forms of term.h: <node.id.serial>, #Port<node.id>,
 * #Ref<node.w2.w1.w0> (the words high first, as the BEAM prints them). */
static int put_pid(printer_t *pr, const uint8_t *p) {
  const uint8_t *q;
  int rc = put(pr, "<", 1);
  if (rc == 0)
    rc = put_atom_at(pr, p + 1, &q);
  char tmp[32];
  if (rc == 0) {
    int k =
        snprintf(tmp, sizeof tmp, ".%lu.%lu>", (unsigned long)otpc__get32(q),
                 (unsigned long)otpc__get32(q + 4));
    rc = put(pr, tmp, (size_t)k);
  }
  return rc;
}

static int put_port(printer_t *pr, const uint8_t *p) {
  const uint8_t *q;
  int rc = puts_(pr, "#Port<");
  if (rc == 0)
    rc = put_atom_at(pr, p + 1, &q);
  if (rc == 0)
    rc = put(pr, ".", 1);
  if (rc == 0)
    rc =
        put_u64(pr, p[0] == OTPC_TAG_V4_PORT ? otpc__get64(q) : otpc__get32(q));
  return rc != 0 ? rc : put(pr, ">", 1);
}

static int put_ref(printer_t *pr, const uint8_t *p) {
  const uint8_t *q = NULL;
  int old = p[0] == OTPC_TAG_REFERENCE;
  size_t n = old ? 1 : otpc__get16(p + 1);
  int rc = puts_(pr, "#Ref<");
  if (rc == 0)
    rc = put_atom_at(pr, p + (old ? 1 : 3), &q);
  if (rc != 0)
    return rc;
  /* REFERENCE_EXT: id, creation; the others: creation (1 or 4), ids. */
  const uint8_t *ids = old ? q : p[0] == OTPC_TAG_NEW_REFERENCE ? q + 1 : q + 4;
  for (size_t i = n; rc == 0 && i-- > 0;) {
    rc = put(pr, ".", 1);
    if (rc == 0)
      rc = put_u64(pr, otpc__get32(ids + 4 * i));
  }
  return rc != 0 ? rc : put(pr, ">", 1);
}

/* fun M:F/A for an export; #Fun<Module.OldIndex.OldUniq> for a local fun,
 * which is exactly what the BEAM prints for it. */
static int put_fun(printer_t *pr, const uint8_t *p) {
  const uint8_t *q;
  int rc;
  if (p[0] == OTPC_TAG_EXPORT) {
    rc = puts_(pr, "fun ");
    if (rc == 0)
      rc = put_atom_at(pr, p + 1, &q);
    if (rc == 0)
      rc = put(pr, ":", 1);
    if (rc == 0)
      rc = put_atom_at(pr, q, &q);
    if (rc == 0)
      rc = put(pr, "/", 1);
    return rc != 0 ? rc : put_int(pr, q);
  }
  const uint8_t *mod = p + 30; /* tag, size, arity, uniq[16], index, numfree */
  rc = puts_(pr, "#Fun<");
  if (rc == 0)
    rc = put_atom_at(pr, mod, &q);
  if (rc == 0)
    rc = put(pr, ".", 1);
  if (rc == 0)
    rc = put_int(pr, q);
  if (rc == 0)
    rc = put(pr, ".", 1);
  if (rc == 0)
    rc = put_int(pr, otpc__term_skip(q));
  return rc != 0 ? rc : put(pr, ">", 1);
}

/* ----------------------------------------------------------------- lists */

/* Walks a list's segments: a LIST_EXT's tail may itself be a list (a peer
 * may chain them), which continues the same Erlang list. Returns 1 if the
 * list is proper and all its elements are printable characters. */
static int printable_list(const uint8_t *p) {
  for (;;) {
    if (p[0] == OTPC_TAG_NIL)
      return 1;
    if (p[0] == OTPC_TAG_STRING) {
      size_t n = otpc__get16(p + 1);
      for (size_t i = 0; i < n; i++)
        if (!printable(p[3 + i]))
          return 0;
      return 1;
    }
    if (p[0] != OTPC_TAG_LIST)
      return 0;
    size_t n = otpc__get32(p + 1);
    p += 5;
    for (size_t i = 0; i < n; i++) {
      int64_t v;
      if (!int_value(p, &v) || v < 0 || v > 0xff || !printable((uint32_t)v))
        return 0;
      p = otpc__term_skip(p);
    }
  }
}

static int put_string(printer_t *pr, const uint8_t *p) {
  int rc = put(pr, "\"", 1);
  while (rc == 0 && p[0] != OTPC_TAG_NIL) {
    if (p[0] == OTPC_TAG_STRING) {
      size_t n = otpc__get16(p + 1);
      for (size_t i = 0; rc == 0 && i < n; i++)
        rc = put_char(pr, p[3 + i], '"');
      break;
    }
    size_t n = otpc__get32(p + 1);
    p += 5;
    for (size_t i = 0; rc == 0 && i < n; i++) {
      int64_t v = 0;
      int_value(p, &v);
      rc = put_char(pr, (uint32_t)v, '"');
      p = otpc__term_skip(p);
    }
  }
  return rc != 0 ? rc : put(pr, "\"", 1);
}

/* ----------------------------------------------------------------- walk */

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return 0;
  size_t cap2 = *cap == 0 ? 16 : *cap;
  while (cap2 < need) {
    if (cap2 > SIZE_MAX / 2 / size)
      return OTPC_ENOMEM;
    cap2 *= 2;
  }
  void *q = realloc(*p, cap2 * size);
  if (q == NULL)
    return OTPC_ENOMEM;
  *p = q;
  *cap = cap2;
  return 0;
}

static int push(printer_t *pr, const frame_t *f) {
  int rc = grow((void **)&pr->stack, &pr->cap, pr->sp + 1, sizeof *pr->stack);
  if (rc == 0)
    pr->stack[pr->sp++] = *f;
  return rc;
}

/* Walks the whole term once and records the bounds of every map's keys and
 * values. Containers are counted down on a stack of (children left, map or
 * not); everything else is skipped whole. */
static int build_map_index(printer_t *pr) {
  map_index_t *mi = &pr->maps;
  typedef struct {
    size_t left;
    int map;
    size_t slot; /* map: the next of its bounds to fill */
  } open_t;
  open_t *st = NULL;
  size_t sp = 0, cap = 0;
  int rc = 0;
  const uint8_t *p = pr->root;
  mi->built = 1;
  for (;;) {
    if (sp > 0) {
      st[sp - 1].left--;
      if (st[sp - 1].map)
        mi->bounds[st[sp - 1].slot++] = p;
    }
    size_t kids = 0;
    const uint8_t *body = NULL;
    switch (p[0]) {
    case OTPC_TAG_SMALL_TUPLE: kids = p[1], body = p + 2; break;
    case OTPC_TAG_LARGE_TUPLE: kids = otpc__get32(p + 1), body = p + 5; break;
    case OTPC_TAG_LIST:
      kids = (size_t)otpc__get32(p + 1) + 1, body = p + 5;
      break;
    case OTPC_TAG_MAP:
      kids = (size_t)otpc__get32(p + 1) * 2, body = p + 5;
      break;
    default: break;
    }
    if (kids > 0) {
      int map = p[0] == OTPC_TAG_MAP;
      if (map) {
        rc = grow((void **)&mi->maps, &mi->capmaps, mi->nmaps + 1,
                  sizeof *mi->maps);
        if (rc == 0)
          rc = grow((void **)&mi->bounds, &mi->capbounds,
                    mi->nbounds + kids + 1, sizeof *mi->bounds);
        if (rc != 0)
          break;
        mi->maps[mi->nmaps].start = p;
        mi->maps[mi->nmaps++].first = mi->nbounds;
        mi->nbounds += kids + 1;
      }
      rc = grow((void **)&st, &cap, sp + 1, sizeof *st);
      if (rc != 0)
        break;
      st[sp].left = kids;
      st[sp].map = map;
      st[sp++].slot = map ? mi->nbounds - (kids + 1) : 0;
      p = body;
      continue;
    }
    p = otpc__term_skip(p);
    while (sp > 0 && st[sp - 1].left == 0) {
      if (st[sp - 1].map)
        mi->bounds[st[sp - 1].slot] = p;
      sp--;
    }
    if (sp == 0)
      break;
  }
  free(st);
  return rc;
}

/* The index of the map that starts at p (maps are recorded in order). */
static size_t find_map(const map_index_t *mi, const uint8_t *p) {
  size_t lo = 0, hi = mi->nmaps;
  while (hi - lo > 1) {
    size_t mid = lo + (hi - lo) / 2;
    if (mi->maps[mid].start <= p)
      lo = mid;
    else
      hi = mid;
  }
  return lo;
}

static int cmp_pairs(const void *a, const void *b) {
  return otpc_term_compare_exact(((const pair_t *)a)->key,
                                 ((const pair_t *)b)->key);
}

static int open_map(printer_t *pr, const uint8_t *p, size_t n) {
  if (!pr->maps.built) {
    int rc = build_map_index(pr);
    if (rc != 0)
      return rc;
  }
  const map_index_t *mi = &pr->maps;
  size_t m = find_map(mi, p);
  if (mi->nmaps == 0 || mi->maps[m].start != p)
    return OTPC_EBADTERM; /* not reached for a validated term */
  const uint8_t *const *b = mi->bounds + mi->maps[m].first;
  frame_t f;
  memset(&f, 0, sizeof f);
  f.kind = F_MAP;
  f.n = n;
  f.end = b[2 * n];
  f.pairs = malloc(n * sizeof(pair_t));
  if (f.pairs == NULL)
    return OTPC_ENOMEM;
  for (size_t i = 0; i < n; i++) {
    f.pairs[i].key.p = b[2 * i];
    f.pairs[i].key.len = (size_t)(b[2 * i + 1] - b[2 * i]);
    f.pairs[i].value.p = b[2 * i + 1];
    f.pairs[i].value.len = (size_t)(b[2 * i + 2] - b[2 * i + 1]);
  }
  /* The BEAM prints a map in its iterator order. Up to 32 pairs that is
   * sorted by key (sorted here too, so the text does not depend on how a C
   * sender ordered them). Above, it is hash order, which term_to_binary
   * writes in exactly the reverse order (checked on OTP 25 over 400 random
   * maps): reversing the encoded order prints a map from the BEAM as the
   * BEAM prints it. */
  if (n <= 32) {
    qsort(f.pairs, n, sizeof(pair_t), cmp_pairs);
  } else {
    for (size_t i = 0; i < n / 2; i++) {
      pair_t tmp = f.pairs[i];
      f.pairs[i] = f.pairs[n - 1 - i];
      f.pairs[n - 1 - i] = tmp;
    }
  }
  int rc = puts_(pr, "#{");
  if (rc == 0)
    rc = push(pr, &f);
  if (rc != 0)
    free(f.pairs);
  return rc;
}

/* Starts the list segment at p (LIST_EXT or STRING_EXT) in frame f. */
static void list_segment(printer_t *pr, frame_t *f, const uint8_t *p) {
  f->bytes = p[0] == OTPC_TAG_STRING;
  f->left = f->bytes ? otpc__get16(p + 1) : otpc__get32(p + 1);
  pr->pos = p + (f->bytes ? 3 : 5);
}

/* Prints a scalar and moves the cursor past it, or prints the opening of a
 * container, pushes its frame and moves the cursor to its first element. */
static int print_one(printer_t *pr, const uint8_t *p) {
  frame_t f;
  memset(&f, 0, sizeof f);
  f.first = 1;
  int rc;
  switch (p[0]) {
  case OTPC_TAG_SMALL_TUPLE:
  case OTPC_TAG_LARGE_TUPLE: {
    int small = p[0] == OTPC_TAG_SMALL_TUPLE;
    f.kind = F_TUPLE;
    f.left = small ? p[1] : otpc__get32(p + 1);
    pr->pos = p + (small ? 2 : 5);
    if (f.left == 0)
      return put(pr, "{}", 2);
    rc = put(pr, "{", 1);
    return rc != 0 ? rc : push(pr, &f);
  }
  case OTPC_TAG_STRING:
  case OTPC_TAG_LIST:
    if (!(p[0] == OTPC_TAG_STRING && otpc__get16(p + 1) == 0) &&
        !printable_list(p)) {
      f.kind = F_LIST;
      list_segment(pr, &f, p);
      rc = put(pr, "[", 1);
      return rc != 0 ? rc : push(pr, &f);
    }
    break;
  case OTPC_TAG_MAP:
    if (otpc__get32(p + 1) != 0)
      return open_map(pr, p, otpc__get32(p + 1));
    break;
  default: break;
  }
  pr->pos = otpc__term_skip(p);
  switch (p[0]) {
  case OTPC_TAG_SMALL_INTEGER:
  case OTPC_TAG_INTEGER:
  case OTPC_TAG_SMALL_BIG:
  case OTPC_TAG_LARGE_BIG: return put_int(pr, p);
  case OTPC_TAG_NEW_FLOAT:
  case OTPC_TAG_FLOAT: return put_float(pr, p);
  case OTPC_TAG_ATOM:
  case OTPC_TAG_SMALL_ATOM:
  case OTPC_TAG_ATOM_UTF8:
  case OTPC_TAG_SMALL_ATOM_UTF8: return put_atom_at(pr, p, NULL);
  case OTPC_TAG_NIL: return put(pr, "[]", 2);
  case OTPC_TAG_STRING:
  case OTPC_TAG_LIST:
    if (p[0] == OTPC_TAG_STRING && otpc__get16(p + 1) == 0)
      return put(pr, "[]", 2);
    return put_string(pr, p);
  case OTPC_TAG_MAP: return puts_(pr, "#{}");
  case OTPC_TAG_BINARY: return put_binary(pr, p + 5, otpc__get32(p + 1), 0);
  case OTPC_TAG_BIT_BINARY: {
    size_t n = otpc__get32(p + 1);
    unsigned bits = p[5];
    return put_binary(pr, p + 6, n, n == 0 || bits == 8 ? 0 : bits);
  }
  case OTPC_TAG_PID:
  case OTPC_TAG_NEW_PID: return put_pid(pr, p);
  case OTPC_TAG_PORT:
  case OTPC_TAG_NEW_PORT:
  case OTPC_TAG_V4_PORT: return put_port(pr, p);
  case OTPC_TAG_REFERENCE:
  case OTPC_TAG_NEW_REFERENCE:
  case OTPC_TAG_NEWER_REFERENCE: return put_ref(pr, p);
  case OTPC_TAG_NEW_FUN:
  case OTPC_TAG_EXPORT: return put_fun(pr, p);
  default: return OTPC_EBADTERM;
  }
}

/* Advances the top frame: prints a separator and gives the next element in
 * *next, or prints the closing bracket and pops the frame. */
static int step(printer_t *pr, const uint8_t **next) {
  frame_t *f = &pr->stack[pr->sp - 1];
  *next = NULL;
  switch (f->kind) {
  case F_TUPLE:
    if (f->left == 0) {
      pr->sp--;
      return put(pr, "}", 1);
    }
    break;
  case F_MAP: {
    if (f->i == f->n) {
      free(f->pairs);
      pr->pos = f->end;
      pr->sp--;
      return put(pr, "}", 1);
    }
    pair_t *pair = &f->pairs[f->i];
    if (f->in_value) {
      f->in_value = 0;
      f->i++;
      *next = pair->value.p;
      return puts_(pr, " => ");
    }
    f->in_value = 1;
    *next = pair->key.p;
    return f->i == 0 ? 0 : put(pr, ",", 1);
  }
  default: /* F_LIST */
    if (f->closing) {
      pr->sp--;
      return put(pr, "]", 1);
    }
    while (f->left == 0) {
      /* The segment is done; its tail decides what follows. */
      if (f->bytes || pr->pos[0] == OTPC_TAG_NIL) {
        if (!f->bytes)
          pr->pos++;
        pr->sp--;
        return put(pr, "]", 1);
      }
      if (pr->pos[0] == OTPC_TAG_LIST || pr->pos[0] == OTPC_TAG_STRING) {
        list_segment(pr, f, pr->pos);
        continue;
      }
      f->closing = 1;
      *next = pr->pos;
      return put(pr, "|", 1);
    }
    if (f->bytes) {
      /* Elements of a STRING_EXT segment are bytes, printed inline. */
      int rc = f->first ? 0 : put(pr, ",", 1);
      f->first = 0;
      f->left--;
      return rc != 0 ? rc : put_u64(pr, *pr->pos++);
    }
    break;
  }
  /* The next element of a tuple or of a LIST_EXT segment. */
  int rc = f->first ? 0 : put(pr, ",", 1);
  f->first = 0;
  f->left--;
  *next = pr->pos;
  return rc;
}

int otpc_term_print(otpc_buf_t *out, otpc_term_t t) {
  if (out == NULL || t.p == NULL || t.len == 0)
    return OTPC_EINVAL;
  printer_t pr;
  memset(&pr, 0, sizeof pr);
  pr.out = out;
  pr.root = t.p;
  size_t start = out->len;
  int rc = print_one(&pr, t.p);
  while (rc == 0 && pr.sp > 0) {
    const uint8_t *next;
    rc = step(&pr, &next);
    if (rc == 0 && next != NULL)
      rc = print_one(&pr, next);
  }
  for (size_t i = 0; i < pr.sp; i++)
    if (pr.stack[i].kind == F_MAP)
      free(pr.stack[i].pairs);
  free(pr.stack);
  free(pr.maps.maps);
  free(pr.maps.bounds);
  if (rc != 0 && out->data != NULL) {
    /* Leave the buffer as it was, as a failed append does. */
    out->len = start;
    out->data[start] = 0;
  }
  return rc;
}

int otpc_term_snprint(char *s, size_t n, otpc_term_t t) {
  if (s == NULL && n > 0)
    return OTPC_EINVAL;
  otpc_buf_t b;
  otpc_buf_init(&b);
  int rc = otpc_term_print(&b, t);
  if (rc == 0 && b.len > INT_MAX)
    rc = OTPC_ELIMIT;
  if (rc != 0) {
    otpc_buf_free(&b);
    if (n > 0)
      s[0] = 0;
    return rc;
  }
  if (n > 0) {
    size_t k = b.len < n - 1 ? b.len : n - 1;
    if (k > 0)
      memcpy(s, b.data, k);
    s[k] = 0;
  }
  rc = (int)b.len;
  otpc_buf_free(&b);
  return rc;
}
