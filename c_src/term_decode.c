/* Validation of the external term format, and walking validated terms.
 *
 * The validator is the only code that reads untrusted bytes; every other
 * reader of a term (accessors, skip, printer, comparison) relies on what it
 * checked and does no bounds checks of its own. It is iterative: an explicit
 * stack holds, for every open container, how many sub-terms are still due.
 *
 * It accepts what OTP 25's binary_to_term accepts, with these deliberate
 * differences, each because a view cannot rewrite bytes or because the
 * encoding is never produced by OTP:
 * - map keys are not checked for uniqueness (the BEAM rejects duplicates;
 *   this would need a sort or a hash per map and the term is still safe to
 *   walk, so consumers that care must check);
 * - LIST_EXT with 0 elements (which the BEAM reads as its tail) is rejected,
 *   so a LIST_EXT view is always a non-empty list;
 * - references with 0 id words are rejected (otpc_ref_t holds 1..5);
 * - BIT_BINARY_EXT with non-zero unused bits is rejected (the BEAM masks
 *   them; a view cannot, and the accessors promise zeros);
 * - bytes after the term are rejected by otpc_term_from_ext. */
/* Per-thread locales are POSIX.1-2008, beyond plain C11. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <locale.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------ tag names */

const char *otpc__tag_name(unsigned tag) {
  switch (tag) {
  case OTPC_TAG_VERSION: return "version byte";
  case OTPC_TAG_COMPRESSED: return "COMPRESSED";
  case OTPC_TAG_NEW_FLOAT: return "NEW_FLOAT_EXT";
  case OTPC_TAG_BIT_BINARY: return "BIT_BINARY_EXT";
  case OTPC_TAG_ATOM_CACHE_REF: return "ATOM_CACHE_REF";
  case OTPC_TAG_NEW_PID: return "NEW_PID_EXT";
  case OTPC_TAG_NEW_PORT: return "NEW_PORT_EXT";
  case OTPC_TAG_NEWER_REFERENCE: return "NEWER_REFERENCE_EXT";
  case OTPC_TAG_SMALL_INTEGER: return "SMALL_INTEGER_EXT";
  case OTPC_TAG_INTEGER: return "INTEGER_EXT";
  case OTPC_TAG_FLOAT: return "FLOAT_EXT";
  case OTPC_TAG_ATOM: return "ATOM_EXT";
  case OTPC_TAG_REFERENCE: return "REFERENCE_EXT";
  case OTPC_TAG_PORT: return "PORT_EXT";
  case OTPC_TAG_PID: return "PID_EXT";
  case OTPC_TAG_SMALL_TUPLE: return "SMALL_TUPLE_EXT";
  case OTPC_TAG_LARGE_TUPLE: return "LARGE_TUPLE_EXT";
  case OTPC_TAG_NIL: return "NIL_EXT";
  case OTPC_TAG_STRING: return "STRING_EXT";
  case OTPC_TAG_LIST: return "LIST_EXT";
  case OTPC_TAG_BINARY: return "BINARY_EXT";
  case OTPC_TAG_SMALL_BIG: return "SMALL_BIG_EXT";
  case OTPC_TAG_LARGE_BIG: return "LARGE_BIG_EXT";
  case OTPC_TAG_NEW_FUN: return "NEW_FUN_EXT";
  case OTPC_TAG_EXPORT: return "EXPORT_EXT";
  case OTPC_TAG_NEW_REFERENCE: return "NEW_REFERENCE_EXT";
  case OTPC_TAG_SMALL_ATOM: return "SMALL_ATOM_EXT";
  case OTPC_TAG_MAP: return "MAP_EXT";
  case OTPC_TAG_FUN: return "FUN_EXT";
  case OTPC_TAG_ATOM_UTF8: return "ATOM_UTF8_EXT";
  case OTPC_TAG_SMALL_ATOM_UTF8: return "SMALL_ATOM_UTF8_EXT";
  case OTPC_TAG_V4_PORT: return "V4_PORT_EXT";
  default: return "unknown tag";
  }
}

/* ------------------------------------------------------ old float text */

static pthread_once_t c_locale_once = PTHREAD_ONCE_INIT;
static locale_t c_locale;

static void make_c_locale(void) {
  c_locale = newlocale(LC_ALL_MASK, "C", (locale_t)0);
}

static size_t digits(const uint8_t *s, size_t i, size_t n) {
  while (i < n && s[i] >= '0' && s[i] <= '9')
    i++;
  return i;
}

int otpc__float_text(const uint8_t *s, double *out) {
  /* The 31 bytes hold [+-]D+.D+[(e|E)[+-]D+] and then NULs (OTP writes
   * "%.20e"); the BEAM ignores whatever follows the first NUL. */
  size_t n = 0;
  while (n < 31 && s[n] != 0)
    n++;
  size_t i = 0, j;
  if (i < n && (s[i] == '+' || s[i] == '-'))
    i++;
  if ((j = digits(s, i, n)) == i)
    return -1;
  if (j >= n || s[j] != '.')
    return -1;
  i = j + 1;
  if ((j = digits(s, i, n)) == i)
    return -1;
  i = j;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    if (i < n && (s[i] == '+' || s[i] == '-'))
      i++;
    if ((j = digits(s, i, n)) == i)
      return -1;
    i = j;
  }
  if (i != n)
    return -1;
  char text[32];
  memcpy(text, s, n);
  text[n] = '\0';
  /* strtod follows the thread's locale, whose decimal point may not be a
   * dot: switch this thread to the C locale while it runs. */
  pthread_once(&c_locale_once, make_c_locale);
  locale_t old = (locale_t)0;
  if (c_locale != (locale_t)0)
    old = uselocale(c_locale);
  double d = strtod(text, NULL);
  if (c_locale != (locale_t)0)
    uselocale(old);
  if (!isfinite(d))
    return -1;
  *out = d;
  return 0;
}

/* ----------------------------------------------------------- validator */

typedef struct vctx {
  const uint8_t *b;
  size_t len;
  size_t base; /* added to positions in error offsets */
  otpc_err_t *err;
} vctx_t;

/* One open container: sub-terms still due and, for a fun, where its Size
 * field says it ends (0 otherwise). */
typedef struct frame {
  uint64_t left;
  size_t fun_end;
} frame_t;

static int truncated(vctx_t *c, size_t at, uint64_t need) {
  unsigned tag = c->b[at];
  return otpc__err(c->err, OTPC_EBADTERM, c->base + at,
                   "truncated %s (tag %u) at offset %zu: needs %llu bytes, "
                   "%zu left",
                   otpc__tag_name(tag), tag, c->base + at,
                   (unsigned long long)need, c->len - at);
}

static int bad(vctx_t *c, size_t at, const char *what) {
  unsigned tag = c->b[at];
  return otpc__err(c->err, OTPC_EBADTERM, c->base + at,
                   "bad %s (tag %u) at offset %zu: %s", otpc__tag_name(tag),
                   tag, c->base + at, what);
}

/* Returns a truncation error unless hdr + n bytes are left at `at` (written
 * so that a 32-bit length cannot overflow a 32-bit size_t). */
#define NEED2(c, at, hdr, n)                                                   \
  do {                                                                         \
    if ((c)->len - (at) < (size_t)(hdr) ||                                     \
        (c)->len - (at) - (size_t)(hdr) < (uint64_t)(n))                       \
      return truncated((c), (at), (uint64_t)(hdr) + (uint64_t)(n));            \
  } while (0)
#define NEED(c, at, n)                                                         \
  do {                                                                         \
    if ((c)->len - (at) < (size_t)(n))                                         \
      return truncated((c), (at), (uint64_t)(n));                              \
  } while (0)

static int ended(vctx_t *c, size_t at, const char *what) {
  return otpc__err(c->err, OTPC_EBADTERM, c->base + at,
                   "input ends at offset %zu where %s was expected",
                   c->base + at, what);
}

/* An atom as the node of a pid, port or ref, a fun's module, or a term. */
static int parse_atom(vctx_t *c, size_t *pos, const char *role) {
  size_t at = *pos, hdr, n;
  if (at >= c->len)
    return ended(c, at, role);
  unsigned tag = c->b[at];
  int utf8 = 0;
  switch (tag) {
  case OTPC_TAG_ATOM_UTF8: utf8 = 1; /* fall through */
  case OTPC_TAG_ATOM:
    NEED(c, at, 3);
    hdr = 3, n = otpc__get16(c->b + at + 1);
    break;
  case OTPC_TAG_SMALL_ATOM_UTF8: utf8 = 1; /* fall through */
  case OTPC_TAG_SMALL_ATOM:
    NEED(c, at, 2);
    hdr = 2, n = c->b[at + 1];
    break;
  case OTPC_TAG_ATOM_CACHE_REF:
    return otpc__err(c->err, OTPC_ENOTSUP, c->base + at,
                     "ATOM_CACHE_REF at offset %zu: atom cache references "
                     "need the distribution header",
                     c->base + at);
  default:
    return otpc__err(c->err, OTPC_EBADTERM, c->base + at,
                     "expected %s at offset %zu, got %s (tag %u)", role,
                     c->base + at, otpc__tag_name(tag), tag);
  }
  NEED2(c, at, hdr, n);
  if (utf8) {
    long chars = otpc__utf8_count(c->b + at + hdr, n);
    if (chars < 0)
      return bad(c, at, "the text is not valid UTF-8");
    if (chars > 255)
      return bad(c, at, "more than 255 characters");
  } else if (n > 255) {
    return bad(c, at, "more than 255 characters");
  }
  *pos = at + hdr + n;
  return 0;
}

/* Pids, ports and references: a node atom and fixed-size numbers. The old
 * encodings carry a 2-bit creation, and the old reference formats an 18-bit
 * first word; larger values are rejected as the BEAM does. */
static int parse_node_term(vctx_t *c, size_t at, size_t *pos) {
  unsigned tag = c->b[at];
  size_t p = at + 1, words = 0, rest;
  int rc;
  if (tag == OTPC_TAG_NEWER_REFERENCE || tag == OTPC_TAG_NEW_REFERENCE) {
    NEED(c, at, 3);
    words = otpc__get16(c->b + at + 1);
    if (words < 1 || words > OTPC_REF_MAX_WORDS)
      return bad(c, at, "the number of id words is not 1 to 5");
    p = at + 3;
  }
  if ((rc = parse_atom(c, &p, "an atom (node name)")) < 0)
    return rc;
  switch (tag) {
  case OTPC_TAG_NEW_PID: rest = 12; break;
  case OTPC_TAG_PID: rest = 9; break;
  case OTPC_TAG_NEW_PORT: rest = 8; break;
  case OTPC_TAG_V4_PORT: rest = 12; break;
  case OTPC_TAG_PORT: rest = 5; break;
  case OTPC_TAG_REFERENCE: rest = 5; break;
  case OTPC_TAG_NEWER_REFERENCE: rest = 4 + 4 * words; break;
  default: /* NEW_REFERENCE */ rest = 1 + 4 * words; break;
  }
  if (c->len - p < rest)
    return otpc__err(c->err, OTPC_EBADTERM, c->base + at,
                     "truncated %s (tag %u) at offset %zu: needs %zu bytes "
                     "after the node name at offset %zu, %zu left",
                     otpc__tag_name(tag), tag, c->base + at, rest, c->base + p,
                     c->len - p);
  const uint8_t *q = c->b + p;
  switch (tag) {
  case OTPC_TAG_PID:
    if (q[8] > 3)
      return bad(c, at, "creation over 3 in the old format");
    break;
  case OTPC_TAG_PORT:
    if (q[4] > 3)
      return bad(c, at, "creation over 3 in the old format");
    break;
  case OTPC_TAG_REFERENCE:
    if (q[4] > 3 || otpc__get32(q) > 0x3FFFF)
      return bad(c, at, "creation over 3 or id over 18 bits");
    break;
  case OTPC_TAG_NEW_REFERENCE:
    if (q[0] > 3 || otpc__get32(q + 1) > 0x3FFFF)
      return bad(c, at, "creation over 3 or first id word over 18 bits");
    break;
  default: break;
  }
  *pos = p + rest;
  return 0;
}

static int parse_integer(vctx_t *c, size_t *pos, const char *role) {
  size_t at = *pos;
  if (at >= c->len)
    return ended(c, at, role);
  switch (c->b[at]) {
  case OTPC_TAG_SMALL_INTEGER:
    NEED(c, at, 2);
    *pos = at + 2;
    return 0;
  case OTPC_TAG_INTEGER:
    NEED(c, at, 5);
    *pos = at + 5;
    return 0;
  case OTPC_TAG_SMALL_BIG:
    NEED(c, at, 3);
    NEED2(c, at, 3, c->b[at + 1]);
    *pos = at + 3 + c->b[at + 1];
    return 0;
  case OTPC_TAG_LARGE_BIG:
    NEED(c, at, 6);
    NEED2(c, at, 6, otpc__get32(c->b + at + 1));
    *pos = at + 6 + otpc__get32(c->b + at + 1);
    return 0;
  default:
    return otpc__err(c->err, OTPC_EBADTERM, c->base + at,
                     "expected %s at offset %zu, got %s (tag %u)", role,
                     c->base + at, otpc__tag_name(c->b[at]), c->b[at]);
  }
}

/* NEW_FUN_EXT's fixed part; its free variables are left to the caller. */
static int parse_fun(vctx_t *c, size_t at, size_t *pos, size_t *end,
                     uint32_t *nfree) {
  NEED(c, at, 5);
  size_t size = otpc__get32(c->b + at + 1);
  /* Size counts itself and everything after the tag. */
  NEED2(c, at, 1, size);
  NEED(c, at, 30);
  *nfree = otpc__get32(c->b + at + 26);
  size_t p = at + 30;
  int rc;
  if ((rc = parse_atom(c, &p, "an atom (fun module)")) < 0 ||
      (rc = parse_integer(c, &p, "an integer (fun OldIndex)")) < 0 ||
      (rc = parse_integer(c, &p, "an integer (fun OldUniq)")) < 0)
    return rc;
  if (p >= c->len)
    return ended(c, p, "a pid (fun creator)");
  if (c->b[p] != OTPC_TAG_NEW_PID && c->b[p] != OTPC_TAG_PID)
    return otpc__err(c->err, OTPC_EBADTERM, c->base + p,
                     "expected a pid (fun creator) at offset %zu, got %s "
                     "(tag %u)",
                     c->base + p, otpc__tag_name(c->b[p]), c->b[p]);
  if ((rc = parse_node_term(c, p, &p)) < 0)
    return rc;
  if (p > at + 1 + size || (uint64_t)*nfree > at + 1 + size - p)
    return bad(c, at, "its Size field is smaller than its contents");
  *pos = p;
  *end = at + 1 + size;
  return 0;
}

/* Reads the term starting at *pos. A scalar is consumed whole; a container
 * consumes its header and reports in *kids how many sub-terms follow (and a
 * fun where it must end). */
static int parse_head(vctx_t *c, size_t *pos, uint64_t *kids, size_t *fun_end) {
  size_t at = *pos, n;
  *kids = 0;
  *fun_end = 0;
  if (at >= c->len)
    return ended(c, at, "a term");
  const uint8_t *b = c->b;
  unsigned tag = b[at];
  switch (tag) {
  case OTPC_TAG_SMALL_INTEGER:
  case OTPC_TAG_INTEGER:
  case OTPC_TAG_SMALL_BIG:
  case OTPC_TAG_LARGE_BIG: return parse_integer(c, pos, "a term");
  case OTPC_TAG_NEW_FLOAT: {
    NEED(c, at, 9);
    uint64_t bits = otpc__get64(b + at + 1);
    if ((bits >> 52 & 0x7FF) == 0x7FF)
      return bad(c, at, "not a finite number");
    *pos = at + 9;
    return 0;
  }
  case OTPC_TAG_FLOAT: {
    NEED(c, at, 32);
    double d;
    if (otpc__float_text(b + at + 1, &d) < 0)
      return bad(c, at, "the text is not a finite number like 1.5e+00");
    *pos = at + 32;
    return 0;
  }
  case OTPC_TAG_ATOM:
  case OTPC_TAG_SMALL_ATOM:
  case OTPC_TAG_ATOM_UTF8:
  case OTPC_TAG_SMALL_ATOM_UTF8:
  case OTPC_TAG_ATOM_CACHE_REF: return parse_atom(c, pos, "a term");
  case OTPC_TAG_NEW_PID:
  case OTPC_TAG_PID:
  case OTPC_TAG_NEW_PORT:
  case OTPC_TAG_V4_PORT:
  case OTPC_TAG_PORT:
  case OTPC_TAG_NEWER_REFERENCE:
  case OTPC_TAG_NEW_REFERENCE:
  case OTPC_TAG_REFERENCE: return parse_node_term(c, at, pos);
  case OTPC_TAG_NIL: *pos = at + 1; return 0;
  case OTPC_TAG_STRING:
    NEED(c, at, 3);
    NEED2(c, at, 3, otpc__get16(b + at + 1));
    *pos = at + 3 + otpc__get16(b + at + 1);
    return 0;
  case OTPC_TAG_BINARY:
    NEED(c, at, 5);
    NEED2(c, at, 5, otpc__get32(b + at + 1));
    *pos = at + 5 + otpc__get32(b + at + 1);
    return 0;
  case OTPC_TAG_BIT_BINARY: {
    NEED(c, at, 6);
    n = otpc__get32(b + at + 1);
    unsigned bits = b[at + 5];
    NEED2(c, at, 6, n);
    if (n == 0 ? bits != 0 : bits < 1 || bits > 8)
      return bad(c, at, "bits in the last byte must be 1..8 (0 if empty)");
    if (n > 0 && bits < 8 && (b[at + 5 + n] & (0xFFu >> bits)) != 0)
      return bad(c, at, "the unused low bits of the last byte are not zero");
    *pos = at + 6 + n;
    return 0;
  }
  case OTPC_TAG_SMALL_TUPLE:
    NEED(c, at, 2);
    *kids = b[at + 1];
    *pos = at + 2;
    break;
  case OTPC_TAG_LARGE_TUPLE:
    NEED(c, at, 5);
    *kids = otpc__get32(b + at + 1);
    *pos = at + 5;
    break;
  case OTPC_TAG_LIST:
    NEED(c, at, 5);
    *kids = (uint64_t)otpc__get32(b + at + 1) + 1;
    if (*kids == 1)
      return bad(c, at, "0 elements (OTP writes NIL_EXT or the tail)");
    *pos = at + 5;
    break;
  case OTPC_TAG_MAP:
    NEED(c, at, 5);
    *kids = (uint64_t)otpc__get32(b + at + 1) * 2;
    *pos = at + 5;
    break;
  case OTPC_TAG_NEW_FUN: {
    uint32_t nfree = 0;
    int rc = parse_fun(c, at, pos, fun_end, &nfree);
    if (rc < 0)
      return rc;
    *kids = nfree;
    if (nfree == 0 && *pos != *fun_end)
      return bad(c, at, "its Size field does not match its contents");
    return 0;
  }
  case OTPC_TAG_EXPORT: {
    size_t p = at + 1;
    int rc;
    if ((rc = parse_atom(c, &p, "an atom (export module)")) < 0 ||
        (rc = parse_atom(c, &p, "an atom (export function)")) < 0)
      return rc;
    if (p >= c->len)
      return ended(c, p, "an integer (export arity)");
    if (b[p] == OTPC_TAG_SMALL_INTEGER && c->len - p >= 2) {
      *pos = p + 2;
    } else if (b[p] == OTPC_TAG_INTEGER && c->len - p >= 5 &&
               otpc__get32(b + p + 1) <= 255) {
      *pos = p + 5;
    } else {
      return otpc__err(c->err, OTPC_EBADTERM, c->base + p,
                       "expected an arity 0..255 of EXPORT_EXT at offset "
                       "%zu, got %s (tag %u) or too few bytes",
                       c->base + p, otpc__tag_name(b[p]), b[p]);
    }
    return 0;
  }
  case OTPC_TAG_FUN:
    return otpc__err(c->err, OTPC_ENOTSUP, c->base + at,
                     "FUN_EXT at offset %zu: the pre-R10 fun format is not "
                     "supported",
                     c->base + at);
  default:
    return otpc__err(c->err, OTPC_EBADTERM, c->base + at,
                     "unknown tag %u at offset %zu", tag, c->base + at);
  }
  /* Every sub-term takes at least one byte: reject impossible counts now,
   * with a clearer message than the truncation found later. */
  if (*kids > c->len - *pos)
    return otpc__err(c->err, OTPC_EBADTERM, c->base + at,
                     "truncated %s (tag %u) at offset %zu: %llu sub-terms "
                     "announced, only %zu bytes left",
                     otpc__tag_name(tag), tag, c->base + at,
                     (unsigned long long)*kids, c->len - *pos);
  return 0;
}

static int validate(vctx_t *c, size_t start, size_t *end) {
  frame_t small[64];
  frame_t *stack = small;
  size_t depth = 0, cap = 64, pos = start;
  int rc = 0;
  for (;;) {
    uint64_t kids;
    size_t fun_end;
    size_t at = pos;
    if ((rc = parse_head(c, &pos, &kids, &fun_end)) < 0)
      break;
    if (kids > 0) {
      if (depth == OTPC_TERM_MAX_DEPTH) {
        rc = otpc__err(c->err, OTPC_ELIMIT, c->base + at,
                       "%s at offset %zu is nested deeper than %u containers",
                       otpc__tag_name(c->b[at]), c->base + at,
                       OTPC_TERM_MAX_DEPTH);
        break;
      }
      if (depth == cap) {
        size_t ncap =
            cap * 2 > OTPC_TERM_MAX_DEPTH ? OTPC_TERM_MAX_DEPTH : cap * 2;
        frame_t *s = malloc(ncap * sizeof *s);
        if (s == NULL) {
          rc = otpc__err(c->err, OTPC_ENOMEM, c->base + at,
                         "out of memory for nesting at offset %zu",
                         c->base + at);
          break;
        }
        memcpy(s, stack, depth * sizeof *s);
        if (stack != small)
          free(stack);
        stack = s;
        cap = ncap;
      }
      stack[depth].left = kids;
      stack[depth].fun_end = fun_end;
      depth++;
    }
    /* Close finished containers; stop at the first with sub-terms due. */
    while (depth > 0 && stack[depth - 1].left == 0) {
      depth--;
      size_t fe = stack[depth].fun_end;
      if (fe != 0 && fe != pos) {
        rc = otpc__err(c->err, OTPC_EBADTERM, c->base + pos,
                       "NEW_FUN_EXT ending at offset %zu: its Size field "
                       "says it ends at offset %zu",
                       c->base + pos, c->base + fe);
        goto out;
      }
    }
    if (depth == 0)
      break;
    stack[depth - 1].left--;
  }
out:
  if (stack != small)
    free(stack);
  if (rc == 0)
    *end = pos;
  return rc;
}

int otpc_term_parse(const void *data, size_t len, otpc_term_t *out,
                    size_t *used, otpc_err_t *err) {
  if (data == NULL && len > 0)
    return otpc__err(err, OTPC_EINVAL, 0, "data is NULL");
  vctx_t c = {data, len, 0, err};
  size_t end;
  int rc = validate(&c, 0, &end);
  if (rc < 0)
    return rc;
  if (out != NULL) {
    out->p = data;
    out->len = end;
  }
  if (used != NULL)
    *used = end;
  return 0;
}

int otpc_term_from_ext(const void *ext, size_t len, otpc_term_t *out,
                       otpc_err_t *err) {
  const uint8_t *b = ext;
  if (b == NULL && len > 0)
    return otpc__err(err, OTPC_EINVAL, 0, "ext is NULL");
  if (len == 0)
    return otpc__err(err, OTPC_EBADTERM, 0,
                     "empty input: expected the version byte 131");
  if (b[0] != OTPC_TAG_VERSION)
    return otpc__err(err, OTPC_EBADTERM, 0,
                     "bad version byte %u at offset 0: expected 131", b[0]);
  if (len > 1 && b[1] == OTPC_TAG_COMPRESSED)
    return otpc__err(err, OTPC_ENOTSUP, 1,
                     "compressed term at offset 1: a view cannot own the "
                     "inflated bytes, use otpc_msg_decode");
  vctx_t c = {b + 1, len - 1, 1, err};
  size_t end;
  int rc = validate(&c, 0, &end);
  if (rc < 0)
    return rc;
  if (end != len - 1)
    return otpc__err(err, OTPC_EBADTERM, end + 1,
                     "%zu trailing bytes after the term, at offset %zu",
                     len - 1 - end, end + 1);
  if (out != NULL) {
    out->p = b + 1;
    out->len = end;
  }
  return 0;
}

/* ------------------------------------------------ walks over valid terms */

static const uint8_t *skip_atom(const uint8_t *p) {
  if (*p == OTPC_TAG_ATOM || *p == OTPC_TAG_ATOM_UTF8)
    return p + 3 + otpc__get16(p + 1);
  return p + 2 + p[1];
}

const uint8_t *otpc__term_skip(const uint8_t *p) {
  /* Terms still to skip: containers add their sub-terms, so no stack. */
  uint64_t todo = 1;
  while (todo > 0) {
    todo--;
    switch (*p) {
    case OTPC_TAG_SMALL_INTEGER: p += 2; break;
    case OTPC_TAG_INTEGER: p += 5; break;
    case OTPC_TAG_SMALL_BIG: p += 3 + (size_t)p[1]; break;
    case OTPC_TAG_LARGE_BIG: p += 6 + (size_t)otpc__get32(p + 1); break;
    case OTPC_TAG_NEW_FLOAT: p += 9; break;
    case OTPC_TAG_FLOAT: p += 32; break;
    case OTPC_TAG_ATOM:
    case OTPC_TAG_ATOM_UTF8:
    case OTPC_TAG_SMALL_ATOM:
    case OTPC_TAG_SMALL_ATOM_UTF8: p = skip_atom(p); break;
    case OTPC_TAG_NEW_PID: p = skip_atom(p + 1) + 12; break;
    case OTPC_TAG_PID: p = skip_atom(p + 1) + 9; break;
    case OTPC_TAG_NEW_PORT: p = skip_atom(p + 1) + 8; break;
    case OTPC_TAG_V4_PORT: p = skip_atom(p + 1) + 12; break;
    case OTPC_TAG_PORT: p = skip_atom(p + 1) + 5; break;
    case OTPC_TAG_REFERENCE: p = skip_atom(p + 1) + 5; break;
    case OTPC_TAG_NEWER_REFERENCE:
      p = skip_atom(p + 3) + 4 + 4 * (size_t)otpc__get16(p + 1);
      break;
    case OTPC_TAG_NEW_REFERENCE:
      p = skip_atom(p + 3) + 1 + 4 * (size_t)otpc__get16(p + 1);
      break;
    case OTPC_TAG_SMALL_TUPLE:
      todo += p[1];
      p += 2;
      break;
    case OTPC_TAG_LARGE_TUPLE:
      todo += otpc__get32(p + 1);
      p += 5;
      break;
    case OTPC_TAG_NIL: p += 1; break;
    case OTPC_TAG_STRING: p += 3 + (size_t)otpc__get16(p + 1); break;
    case OTPC_TAG_LIST:
      todo += (uint64_t)otpc__get32(p + 1) + 1;
      p += 5;
      break;
    case OTPC_TAG_BINARY: p += 5 + (size_t)otpc__get32(p + 1); break;
    case OTPC_TAG_BIT_BINARY: p += 6 + (size_t)otpc__get32(p + 1); break;
    case OTPC_TAG_MAP:
      todo += (uint64_t)otpc__get32(p + 1) * 2;
      p += 5;
      break;
    /* The validator checked the Size field, so a fun is skipped whole. */
    case OTPC_TAG_NEW_FUN: p += 1 + (size_t)otpc__get32(p + 1); break;
    case OTPC_TAG_EXPORT:
      p = skip_atom(skip_atom(p + 1));
      p += *p == OTPC_TAG_SMALL_INTEGER ? 2 : 5;
      break;
    default:
      /* Unreachable for validated input. */
      return p;
    }
  }
  return p;
}

/* "97, i" for i in 0..255: the SMALL_INTEGER_EXT encoding of each byte. */
#define SI1(i) OTPC_TAG_SMALL_INTEGER, (i)
#define SI4(i) SI1(i), SI1(i + 1), SI1(i + 2), SI1(i + 3)
#define SI16(i) SI4(i), SI4(i + 4), SI4(i + 8), SI4(i + 12)
#define SI64(i) SI16(i), SI16(i + 16), SI16(i + 32), SI16(i + 48)
static const uint8_t small_ints[512] = {SI64(0), SI64(64), SI64(128),
                                        SI64(192)};
static const uint8_t nil_byte[1] = {OTPC_TAG_NIL};

otpc_term_t otpc__small_int_view(uint8_t value) {
  otpc_term_t t = {small_ints + 2 * (size_t)value, 2};
  return t;
}

otpc_term_t otpc__nil_view(void) {
  otpc_term_t t = {nil_byte, 1};
  return t;
}

otpc_type_t otpc__tag_type(uint8_t tag) {
  switch (tag) {
  case OTPC_TAG_SMALL_INTEGER:
  case OTPC_TAG_INTEGER:
  case OTPC_TAG_SMALL_BIG:
  case OTPC_TAG_LARGE_BIG: return OTPC_T_INTEGER;
  case OTPC_TAG_NEW_FLOAT:
  case OTPC_TAG_FLOAT: return OTPC_T_FLOAT;
  case OTPC_TAG_ATOM:
  case OTPC_TAG_SMALL_ATOM:
  case OTPC_TAG_ATOM_UTF8:
  case OTPC_TAG_SMALL_ATOM_UTF8: return OTPC_T_ATOM;
  case OTPC_TAG_NEWER_REFERENCE:
  case OTPC_TAG_NEW_REFERENCE:
  case OTPC_TAG_REFERENCE: return OTPC_T_REF;
  case OTPC_TAG_NEW_FUN:
  case OTPC_TAG_EXPORT:
  case OTPC_TAG_FUN: return OTPC_T_FUN;
  case OTPC_TAG_NEW_PORT:
  case OTPC_TAG_V4_PORT:
  case OTPC_TAG_PORT: return OTPC_T_PORT;
  case OTPC_TAG_NEW_PID:
  case OTPC_TAG_PID: return OTPC_T_PID;
  case OTPC_TAG_SMALL_TUPLE:
  case OTPC_TAG_LARGE_TUPLE: return OTPC_T_TUPLE;
  case OTPC_TAG_MAP: return OTPC_T_MAP;
  case OTPC_TAG_NIL: return OTPC_T_NIL;
  case OTPC_TAG_STRING:
  case OTPC_TAG_LIST: return OTPC_T_LIST;
  case OTPC_TAG_BINARY:
  case OTPC_TAG_BIT_BINARY: return OTPC_T_BITSTRING;
  default: return (otpc_type_t)0;
  }
}

otpc_type_t otpc_term_type(otpc_term_t t) {
  if (t.p == NULL || t.len == 0)
    return (otpc_type_t)0;
  /* An empty STRING_EXT is [] (OTP never writes one, others may). */
  if (t.p[0] == OTPC_TAG_STRING && otpc__get16(t.p + 1) == 0)
    return OTPC_T_NIL;
  return otpc__tag_type(t.p[0]);
}

const char *otpc_type_name(otpc_type_t type) {
  switch (type) {
  case OTPC_T_INTEGER: return "integer";
  case OTPC_T_FLOAT: return "float";
  case OTPC_T_ATOM: return "atom";
  case OTPC_T_REF: return "reference";
  case OTPC_T_FUN: return "fun";
  case OTPC_T_PORT: return "port";
  case OTPC_T_PID: return "pid";
  case OTPC_T_TUPLE: return "tuple";
  case OTPC_T_MAP: return "map";
  case OTPC_T_NIL: return "nil";
  case OTPC_T_LIST: return "list";
  case OTPC_T_BITSTRING: return "bitstring";
  default: return "invalid";
  }
}
