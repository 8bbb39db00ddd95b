/* Matching terms against patterns (otpc_term_match).
 *
 * A pattern is parsed first (term_pattern.c) into a small preorder array of
 * nodes (on the stack unless the pattern is large), then walked together
 * with the term. Literals are compared directly against the encoded bytes,
 * never built, so a match allocates only for an integer literal over 64
 * bits or a pattern of more than OTPC__PATTERN_STACK_NODES nodes, and
 * captures are views.
 *
 * Recursion follows the pattern, not the term, and the pattern's nesting is
 * capped at OTPC_TERM_FORMAT_MAX_DEPTH, so a deep term cannot overflow the
 * stack. */
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "term_pattern.h"

#define SHOW_PATTERN 40 /* bytes of pattern text quoted in a message */
#define SHOW_POINTER 72 /* bytes of the {_, HERE} pointer */

/* ------------------------------------------------------------- matching */

/* What is matched: a term, or the rest of a list after some elements (the
 * subject of a tail pattern; it has no encoding of its own). */
typedef struct subj {
  int rest;      /* it.left > 0 elements remain, then the tail */
  otpc_term_t t; /* when !rest */
  otpc_iter_t it;
} subj_t;

enum { S_TUPLE, S_LIST, S_TAIL, S_MAPVAL };

typedef struct step {
  int kind;
  size_t node;  /* the container's node */
  size_t index; /* element index, or the key's node for S_MAPVAL */
} step_t;

typedef struct mctx {
  const char *pat;
  const pnode_t *nodes;
  va_list *ap;
  otpc_err_t *err;
  int exact; /* comparing a map key: quiet, and maps must be equal */
  unsigned depth;
  step_t path[OTPC_TERM_FORMAT_MAX_DEPTH + 1];
} mctx_t;

static subj_t subj_term(otpc_term_t t) {
  subj_t s;
  memset(&s, 0, sizeof s);
  s.t = t;
  return s;
}

/* A small appender that never overflows and keeps a NUL. */
typedef struct sbuf {
  char *p;
  size_t len, cap;
} sbuf_t;

static void sb_putn(sbuf_t *b, const char *s, size_t n) {
  for (size_t i = 0; i < n && b->len + 1 < b->cap; i++)
    b->p[b->len++] = s[i];
  if (b->cap > 0)
    b->p[b->len] = 0;
}
static void sb_puts(sbuf_t *b, const char *s) {
  sb_putn(b, s, strlen(s));
}

/* Ends a text that was cut at b->cap with "...", backing up so that no
 * UTF-8 sequence is left half. `start` is where the cut text began. */
static void sb_ellipsis(sbuf_t *b, size_t start) {
  if (b->cap < start + 4)
    return;
  size_t cut = b->cap - 4;
  while (cut > start && ((unsigned char)b->p[cut] & 0xC0) == 0x80)
    cut--;
  memcpy(b->p + cut, "...", 4);
  b->len = cut + 3;
}

/* Prints a term into b; a print that does not fit ends with "...". */
static void sb_term(sbuf_t *b, otpc_term_t t) {
  size_t room = b->cap - b->len;
  if (room < 4)
    return;
  int n = otpc_term_snprint(b->p + b->len, room, t);
  if (n < 0) {
    sb_puts(b, "?");
  } else if ((size_t)n >= room) {
    sb_ellipsis(b, b->len);
  } else {
    b->len += (size_t)n;
  }
}

static void print_subj(const subj_t *s, char *buf, size_t cap) {
  sbuf_t b = {buf, 0, cap};
  buf[0] = 0;
  if (!s->rest) {
    sb_term(&b, s->t);
    return;
  }
  otpc_iter_t it = s->it;
  otpc_term_t e;
  sb_puts(&b, "[");
  for (int first = 1; otpc_iter_next(&it, &e); first = 0) {
    if (!first)
      sb_puts(&b, ",");
    sb_term(&b, e);
  }
  if (otpc_iter_tail(&it, &e) == 0 && otpc_term_type(e) != OTPC_T_NIL) {
    sb_puts(&b, "|");
    sb_term(&b, e);
  }
  sb_puts(&b, "]");
  if (b.len + 1 >= b.cap)
    sb_ellipsis(&b, 0);
}

/* Pattern text, shortened to `max` bytes with "...". */
static void sb_src(sbuf_t *b, const mctx_t *c, size_t i, size_t max) {
  const pnode_t *n = &c->nodes[i];
  if (n->len <= max) {
    sb_putn(b, c->pat + n->off, n->len);
  } else {
    size_t cut = max - 3;
    while (cut > 0 && ((unsigned char)c->pat[n->off + cut] & 0xC0) == 0x80)
      cut--;
    sb_putn(b, c->pat + n->off, cut);
    sb_puts(b, "...");
  }
}

/* A map key for a message: unquoted atoms quoted, as in 'name'. */
static void sb_key(sbuf_t *b, const mctx_t *c, size_t key) {
  int q = c->nodes[key].kind == P_ATOM && c->pat[c->nodes[key].off] != '\'';
  if (q)
    sb_puts(b, "'");
  sb_src(b, c, key, 24);
  if (q)
    sb_puts(b, "'");
}

static void sb_lead(sbuf_t *b, size_t i) {
  if (i > 3) {
    sb_puts(b, "..., ");
    return;
  }
  while (i-- > 0)
    sb_puts(b, "_, ");
}
static void sb_trail(sbuf_t *b, size_t r) {
  if (r > 2) {
    sb_puts(b, ", ...");
    return;
  }
  while (r-- > 0)
    sb_puts(b, ", _");
}

/* One level of the pointer: the text before (suffix=0) or after the hole. */
static void level(sbuf_t *b, const mctx_t *c, const step_t *st, int suffix) {
  const pnode_t *n = &c->nodes[st->node];
  size_t elems = n->n - n->tail;
  switch (st->kind) {
  case S_TUPLE:
    if (!suffix) {
      sb_puts(b, "{");
      sb_lead(b, st->index);
    } else {
      sb_trail(b, n->n - 1 - st->index);
      sb_puts(b, "}");
    }
    break;
  case S_LIST:
    if (!suffix) {
      sb_puts(b, "[");
      sb_lead(b, st->index);
    } else {
      sb_trail(b, elems - 1 - st->index);
      sb_puts(b, n->tail ? " | _]" : "]");
    }
    break;
  case S_TAIL:
    if (!suffix) {
      sb_puts(b, "[");
      if (elems > 0) {
        sb_lead(b, elems - 1);
        sb_puts(b, "_ ");
      }
      sb_puts(b, "| ");
    } else {
      sb_puts(b, "]");
    }
    break;
  default:
    if (!suffix) {
      sb_puts(b, "#{");
      sb_src(b, c, st->index, 24);
      sb_puts(b, " := ");
    } else {
      sb_puts(b, "}");
    }
  }
}

/* "element 2 of the tuple at {_, HERE}: ", or "" at the top. */
static void describe(const mctx_t *c, sbuf_t *b) {
  if (c->depth == 0)
    return;
  const step_t *st = &c->path[c->depth - 1];
  char tmp[16];
  switch (st->kind) {
  case S_TUPLE:
  case S_LIST:
    snprintf(tmp, sizeof tmp, "%zu", st->index + 1);
    sb_puts(b, "element ");
    sb_puts(b, tmp);
    sb_puts(b, st->kind == S_TUPLE ? " of the tuple" : " of the list");
    break;
  case S_TAIL: sb_puts(b, "the tail of the list"); break;
  default:
    sb_puts(b, "key ");
    sb_key(b, c, st->index);
    sb_puts(b, " of the map");
  }
  /* Keep the innermost levels that fit; "..." stands for the others. */
  unsigned from = c->depth;
  size_t total = 4;
  while (from > 0) {
    char lb[128];
    sbuf_t l = {lb, 0, sizeof lb};
    level(&l, c, &c->path[from - 1], 0);
    level(&l, c, &c->path[from - 1], 1);
    if (total + l.len > SHOW_POINTER)
      break;
    total += l.len;
    from--;
  }
  sb_puts(b, " at ");
  if (from > 0)
    sb_puts(b, "...");
  for (unsigned k = from; k < c->depth; k++)
    level(b, c, &c->path[k], 0);
  sb_puts(b, "HERE");
  for (unsigned k = c->depth; k > from; k--)
    level(b, c, &c->path[k - 1], 1);
  sb_puts(b, ": ");
}

/* No sentence is wanted (no err, or an exact sub-match whose failure the
 * caller reports itself): a mismatch is then only OTPC_ENOMATCH, and the
 * printing, which costs far more than the matching (a gen_server tries
 * several patterns per message), is skipped. */
static bool quiet(const mctx_t *c) {
  return c->exact || c->err == NULL;
}

/* Reports a mismatch at node i: the place, then the sentence from fmt, then
 * ", got <term>" when s is given. err->offset is the node's offset. */
static int fail(mctx_t *c, size_t i, const subj_t *s, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static int fail(mctx_t *c, size_t i, const subj_t *s, const char *fmt, ...) {
  if (quiet(c))
    return OTPC_ENOMATCH;
  char msg[OTPC_ERR_MSG_SIZE];
  sbuf_t b = {msg, 0, sizeof msg};
  msg[0] = 0;
  describe(c, &b);
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg + b.len, sizeof msg - b.len, fmt, ap);
  va_end(ap);
  b.len += strlen(msg + b.len);
  if (s != NULL) {
    char got[96];
    size_t room = sizeof msg - b.len;
    room = room < 6 + 16 ? 16 : room - 6;
    print_subj(s, got, room < sizeof got ? room : sizeof got);
    sb_puts(&b, ", got ");
    sb_puts(&b, got);
  }
  return otpc__err(c->err, OTPC_ENOMATCH, c->nodes[i].off, "%s", msg);
}

/* "expected <pattern text>, got <term>". */
static int expect_src(mctx_t *c, size_t i, const subj_t *s) {
  if (quiet(c))
    return OTPC_ENOMATCH;
  char src[SHOW_PATTERN + 1];
  sbuf_t b = {src, 0, sizeof src};
  src[0] = 0;
  sb_src(&b, c, i, SHOW_PATTERN);
  return fail(c, i, s, "expected %s", src);
}

static const char *plural(size_t n) {
  return n == 1 ? "" : "s";
}

static int match(mctx_t *c, size_t i, const subj_t *s);

static void push(mctx_t *c, int kind, size_t node, size_t index) {
  step_t *st = &c->path[c->depth++];
  st->kind = kind;
  st->node = node;
  st->index = index;
}

static int int_equal(const mctx_t *c, const pnode_t *n, otpc_term_t t,
                     int *eq) {
  otpc_int_t iv;
  *eq = 0;
  if (otpc_term_integer(t, &iv) != 0)
    return 0;
  int tneg = iv.neg && iv.n > 0;
  if (!n->big) {
    uint8_t m[8];
    size_t k = 0;
    for (uint64_t v = n->v.mag; v != 0; v >>= 8)
      m[k++] = (uint8_t)v;
    *eq = tneg == (n->neg && k > 0) && iv.n == k && memcmp(iv.mag, m, k) == 0;
    return 0;
  }
  /* Over 64 bits: rare enough that converting the text on the heap is
   * simpler than a fixed-size conversion. */
  if (tneg != n->neg || iv.n <= 8)
    return 0;
  otpc__lex_t lx = otpc__pattern_relex(c->pat, n);
  otpc__num_t num;
  otpc_buf_t mag;
  otpc_buf_init(&mag);
  int rc = otpc__lex_number(&lx, &num);
  if (rc == 0)
    rc = otpc__lex_bigint(c->pat, &num, &mag);
  if (rc == 0)
    *eq = mag.len == iv.n && memcmp(mag.data, iv.mag, iv.n) == 0;
  otpc_buf_free(&mag);
  return rc;
}

static int match_atom(mctx_t *c, size_t i, const subj_t *s) {
  char want[OTPC_ATOM_MAX_BYTES + 1], got[OTPC_ATOM_MAX_BYTES + 1];
  size_t glen;
  if (otpc_term_type(s->t) == OTPC_T_ATOM &&
      otpc_term_atom_text(s->t, got, sizeof got, &glen) == 0) {
    size_t wlen = otpc__pattern_atom(c->pat, &c->nodes[i], want);
    if (wlen == glen && memcmp(want, got, glen) == 0)
      return 0;
  }
  return expect_src(c, i, s);
}

static int match_string(mctx_t *c, size_t i, const subj_t *s) {
  otpc_iter_t it;
  size_t n;
  if (s->rest)
    it = s->it;
  else if (otpc_term_list(s->t, &it, &n) != 0)
    return expect_src(c, i, s);
  otpc__lex_t lx = otpc__pattern_relex(c->pat, &c->nodes[i]);
  uint32_t cp;
  int numeric;
  lx.pos++;
  while (otpc__lex_quoted(&lx, c->nodes[i].off, &cp, &numeric) == 1) {
    otpc_term_t e;
    int64_t v;
    if (!otpc_iter_next(&it, &e) || otpc_term_int64(e, &v) != 0 || v != cp)
      return expect_src(c, i, s);
  }
  otpc_term_t tail;
  if (it.left != 0 || otpc_iter_tail(&it, &tail) != 0 ||
      otpc_term_type(tail) != OTPC_T_NIL)
    return expect_src(c, i, s);
  return 0;
}

static int match_binary(mctx_t *c, size_t i, const subj_t *s) {
  const uint8_t *p;
  size_t len, k = 0;
  if (otpc_term_binary(s->t, &p, &len) == 0) {
    otpc__lex_t lx = otpc__pattern_relex(c->pat, &c->nodes[i]);
    otpc__lex_bin_t b;
    uint8_t byte;
    int more;
    otpc__lex_bin_begin(&lx, &b);
    while ((more = otpc__lex_bin_next(&lx, &b, &byte)) == 1 && k < len &&
           p[k] == byte)
      k++;
    if (!more && k == len)
      return 0;
  }
  return expect_src(c, i, s);
}

static int match_tuple(mctx_t *c, size_t i, const subj_t *s) {
  const pnode_t *n = &c->nodes[i];
  otpc_iter_t it;
  size_t arity;
  if (otpc_term_tuple(s->t, &it, &arity) != 0)
    return fail(c, i, s, "expected a tuple of arity %zu", n->n);
  if (arity != n->n) {
    if (quiet(c))
      return OTPC_ENOMATCH;
    char got[80];
    print_subj(s, got, sizeof got);
    return fail(c, i, NULL,
                "expected a tuple of arity %zu, got one of arity "
                "%zu: %s",
                n->n, arity, got);
  }
  size_t child = i + 1;
  for (size_t k = 0; k < n->n; k++) {
    otpc_term_t e;
    otpc_iter_next(&it, &e);
    subj_t es = subj_term(e);
    push(c, S_TUPLE, i, k);
    int rc = match(c, child, &es);
    if (rc != 0)
      return rc;
    c->depth--;
    child += c->nodes[child].size;
  }
  return 0;
}

static int match_list(mctx_t *c, size_t i, const subj_t *s) {
  const pnode_t *n = &c->nodes[i];
  size_t elems = n->n - n->tail, count;
  otpc_iter_t it;
  if (s->rest) {
    it = s->it;
    count = it.left;
  } else if (otpc_term_list(s->t, &it, &count) != 0) {
    if (elems == 0 && !n->tail)
      return expect_src(c, i, s);
    return fail(c, i, s, "expected a list of %s%zu element%s",
                n->tail ? "at least " : "", elems, plural(elems));
  }
  if (count < elems || (count > elems && !n->tail)) {
    if (quiet(c))
      return OTPC_ENOMATCH;
    char got[80];
    print_subj(s, got, sizeof got);
    if (elems == 0)
      return fail(c, i, NULL, "expected [], got %s", got);
    return fail(c, i, NULL,
                "expected a list of %s%zu element%s, got one of %zu: %s",
                n->tail ? "at least " : "", elems, plural(elems), count, got);
  }
  size_t child = i + 1;
  for (size_t k = 0; k < elems; k++) {
    otpc_term_t e;
    otpc_iter_next(&it, &e);
    subj_t es = subj_term(e);
    push(c, S_LIST, i, k);
    int rc = match(c, child, &es);
    if (rc != 0)
      return rc;
    c->depth--;
    child += c->nodes[child].size;
  }
  subj_t ts;
  memset(&ts, 0, sizeof ts);
  if (it.left > 0) {
    ts.rest = 1;
    ts.it = it;
  } else {
    otpc_iter_tail(&it, &ts.t);
  }
  push(c, S_TAIL, i, 0);
  int rc;
  if (n->tail)
    rc = match(c, child, &ts);
  else if (otpc_term_type(ts.t) != OTPC_T_NIL)
    rc = fail(c, i, &ts, "expected []");
  else
    rc = 0;
  if (rc != 0)
    return rc;
  c->depth--;
  return 0;
}

/* 1 if the key literal at node k equals t exactly, 0 if not. */
static int key_equal(mctx_t *c, size_t k, otpc_term_t t) {
  int exact = c->exact;
  unsigned depth = c->depth;
  subj_t ks = subj_term(t);
  c->exact = 1;
  int rc = match(c, k, &ks);
  c->exact = exact;
  c->depth = depth;
  return rc == 0 ? 1 : rc == OTPC_ENOMATCH ? 0 : rc;
}

static int match_map(mctx_t *c, size_t i, const subj_t *s) {
  const pnode_t *n = &c->nodes[i];
  otpc_iter_t it;
  size_t pairs;
  if (otpc_term_map(s->t, &it, &pairs) != 0)
    return fail(c, i, s, "expected a map");
  /* A map key is compared exactly: as a key, #{a => 1} is only that map. */
  if (c->exact && pairs != n->n)
    return OTPC_ENOMATCH;
  size_t key = i + 1;
  for (size_t k = 0; k < n->n; k++) {
    size_t val = key + c->nodes[key].size;
    otpc_iter_t j = it;
    otpc_term_t kt, vt;
    int found = 0;
    while (!found && otpc_iter_next_pair(&j, &kt, &vt)) {
      found = key_equal(c, key, kt);
      if (found < 0)
        return found;
    }
    if (!found) {
      char kb[32];
      sbuf_t b = {kb, 0, sizeof kb};
      kb[0] = 0;
      sb_key(&b, c, key);
      return fail(c, i, s, "expected a map with key %s", kb);
    }
    subj_t vs = subj_term(vt);
    push(c, S_MAPVAL, i, key);
    int rc = match(c, val, &vs);
    if (rc != 0)
      return rc;
    c->depth--;
    key = val + c->nodes[val].size;
  }
  return 0;
}

/* Integer captures: the term as int64_t within lo..hi. */
static int cap_int(mctx_t *c, size_t i, const subj_t *s, int64_t lo, int64_t hi,
                   const char *ctype, int64_t *v) {
  int rc = s->rest ? OTPC_ETYPE : otpc_term_int64(s->t, v);
  if (rc == OTPC_ETYPE)
    return fail(c, i, s, "expected an integer");
  if (rc != 0 || *v < lo || *v > hi)
    return fail(c, i, s, "expected an integer that fits in %s", ctype);
  return 0;
}

/* ~s: a list of code points or a UTF-8 binary, as UTF-8 with a NUL. */
static int cap_string(mctx_t *c, size_t i, const subj_t *s, char *buf,
                      size_t cap) {
  const uint8_t *p;
  size_t len = 0, blen;
  otpc_iter_t it;
  if (buf != NULL && cap > 0)
    buf[0] = 0;
  if (!s->rest && otpc_term_binary(s->t, &p, &blen) == 0) {
    if (otpc__utf8_count(p, blen) < 0)
      return fail(c, i, s, "expected a string or a UTF-8 binary");
    len = blen;
    if (buf != NULL && len < cap) {
      memcpy(buf, p, len);
      buf[len] = 0;
    }
  } else {
    size_t n;
    otpc_term_t e;
    if (s->rest)
      it = s->it;
    else if (otpc_term_list(s->t, &it, &n) != 0)
      return fail(c, i, s, "expected a string or a binary");
    while (otpc_iter_next(&it, &e)) {
      int64_t v;
      uint8_t u[4];
      if (otpc_term_int64(e, &v) != 0 || v < 0 || v > 0x10FFFF ||
          (v >= 0xD800 && v <= 0xDFFF))
        return fail(c, i, s, "expected a string or a binary");
      size_t k = otpc__utf8_encode((uint32_t)v, u);
      if (buf != NULL && len + k < cap)
        memcpy(buf + len, u, k);
      len += k;
    }
    if (otpc_iter_tail(&it, &e) != 0 || otpc_term_type(e) != OTPC_T_NIL)
      return fail(c, i, s, "expected a string or a binary");
    if (buf != NULL && len < cap)
      buf[len] = 0;
  }
  if (buf != NULL && len >= cap) {
    if (cap > 0)
      buf[0] = 0;
    return fail(c, i, s,
                "expected a string that fits in the ~s buffer of %zu bytes "
                "(it needs %zu with the NUL)",
                cap, len + 1);
  }
  return 0;
}

static int capture(mctx_t *c, size_t i, const subj_t *s) {
  va_list *ap = c->ap;
  otpc_term_t t = s->t;
  int64_t v;
  int rc;
  /* s->rest only reaches ~s (and fails elsewhere): the accessors below are
   * never given a rest. */
  switch (c->nodes[i].cap) {
  case 'a': {
    otpc_atom_t *out = va_arg(*ap, otpc_atom_t *);
    if (s->rest || otpc_term_type(t) != OTPC_T_ATOM)
      return fail(c, i, s, "expected an atom");
    if (out != NULL && (rc = otpc_term_atom(t, out)) != 0)
      return otpc__err(c->err, rc, c->nodes[i].off,
                       "~a: cannot intern the atom: %s", otpc_strerror(rc));
    return 0;
  }
  case 'i': {
    int *out = va_arg(*ap, int *);
    if ((rc = cap_int(c, i, s, INT_MIN, INT_MAX, "int", &v)) != 0)
      return rc;
    if (out != NULL)
      *out = (int)v;
    return 0;
  }
  case 'l': {
    long *out = va_arg(*ap, long *);
    if ((rc = cap_int(c, i, s, LONG_MIN, LONG_MAX, "long", &v)) != 0)
      return rc;
    if (out != NULL)
      *out = (long)v;
    return 0;
  }
  case 'I': {
    int64_t *out = va_arg(*ap, int64_t *);
    if ((rc = cap_int(c, i, s, INT64_MIN, INT64_MAX, "int64_t", &v)) != 0)
      return rc;
    if (out != NULL)
      *out = v;
    return 0;
  }
  case 'U': {
    uint64_t *out = va_arg(*ap, uint64_t *), u;
    rc = s->rest ? OTPC_ETYPE : otpc_term_uint64(t, &u);
    if (rc == OTPC_ETYPE)
      return fail(c, i, s, "expected an integer");
    if (rc != 0)
      return fail(c, i, s, "expected an integer that fits in uint64_t");
    if (out != NULL)
      *out = u;
    return 0;
  }
  case 'f': {
    double *out = va_arg(*ap, double *), d;
    if (s->rest || otpc_term_double(t, &d) != 0)
      return fail(c, i, s, "expected a float");
    if (out != NULL)
      *out = d;
    return 0;
  }
  case 'b': {
    const uint8_t **pp = va_arg(*ap, const uint8_t **), *p;
    size_t *lp = va_arg(*ap, size_t *), len;
    if (s->rest || otpc_term_binary(t, &p, &len) != 0)
      return fail(c, i, s, "expected a binary");
    if (pp != NULL)
      *pp = p;
    if (lp != NULL)
      *lp = len;
    return 0;
  }
  case 's': {
    char *buf = va_arg(*ap, char *);
    size_t cap = va_arg(*ap, size_t);
    return cap_string(c, i, s, buf, cap);
  }
  case 'p': {
    otpc_pid_t *out = va_arg(*ap, otpc_pid_t *), pid;
    if (s->rest || otpc_term_pid(t, &pid) != 0)
      return fail(c, i, s, "expected a pid");
    if (out != NULL)
      *out = pid;
    return 0;
  }
  case 'r': {
    otpc_ref_t *out = va_arg(*ap, otpc_ref_t *), ref;
    if (s->rest || otpc_term_ref(t, &ref) != 0)
      return fail(c, i, s, "expected a reference");
    if (out != NULL)
      *out = ref;
    return 0;
  }
  case 'P': {
    otpc_port_t *out = va_arg(*ap, otpc_port_t *), port;
    if (s->rest || otpc_term_port(t, &port) != 0)
      return fail(c, i, s, "expected a port");
    if (out != NULL)
      *out = port;
    return 0;
  }
  default: { /* 't', the parser admits no other letter */
    otpc_term_t *out = va_arg(*ap, otpc_term_t *);
    if (s->rest)
      return fail(c, i, s, "expected a term");
    if (out != NULL)
      *out = t;
    return 0;
  }
  }
}

static int match(mctx_t *c, size_t i, const subj_t *s) {
  const pnode_t *n = &c->nodes[i];
  switch (n->kind) {
  case P_WILD: return 0;
  case P_CAP: return capture(c, i, s);
  case P_LIST: return match_list(c, i, s);
  case P_STR: return match_string(c, i, s);
  default: break;
  }
  if (s->rest) /* the rest of a list is a non-empty list */
    return n->kind == P_TUPLE ? fail(c, i, s, "expected a tuple")
           : n->kind == P_MAP ? fail(c, i, s, "expected a map")
                              : expect_src(c, i, s);
  switch (n->kind) {
  case P_ATOM: return match_atom(c, i, s);
  case P_INT: {
    int eq, rc = int_equal(c, n, s->t, &eq);
    if (rc < 0)
      return otpc__err(c->err, rc, n->off, "%s", otpc_strerror(rc));
    return eq ? 0 : expect_src(c, i, s);
  }
  case P_FLOAT: {
    /* ==, not a bit compare: in OTP 25, 0.0 matches -0.0. */
    double d;
    if (otpc_term_double(s->t, &d) == 0 && d == n->v.f)
      return 0;
    return expect_src(c, i, s);
  }
  case P_BIN: return match_binary(c, i, s);
  case P_TUPLE: return match_tuple(c, i, s);
  default: return match_map(c, i, s);
  }
}

/* ------------------------------------------------------------------ API */

int otpc_term_vmatch(otpc_term_t t, otpc_err_t *err, const char *pattern,
                     va_list ap) {
  if (pattern == NULL || t.p == NULL || t.len == 0)
    return otpc__err(err, OTPC_EINVAL, 0, "%s is NULL",
                     pattern == NULL ? "the pattern" : "the term");
  otpc__pattern_use_t use;
  int rc = otpc__pattern_get(pattern, err, &use);
  if (rc == 0) {
    mctx_t m;
    va_list aq;
    va_copy(aq, ap);
    m.pat = pattern;
    m.nodes = use.nodes;
    m.ap = &aq;
    m.err = err;
    m.exact = 0;
    m.depth = 0;
    subj_t s = subj_term(t);
    rc = match(&m, 0, &s);
    va_end(aq);
    if (rc == 0 && err != NULL) {
      err->code = 0;
      err->offset = 0;
      err->msg[0] = 0;
    }
    otpc__pattern_put(&use);
  }
  return rc;
}

int otpc_term_match(otpc_term_t t, otpc_err_t *err, const char *pattern, ...) {
  va_list ap;
  va_start(ap, pattern);
  int rc = otpc_term_vmatch(t, err, pattern, ap);
  va_end(ap);
  return rc;
}
