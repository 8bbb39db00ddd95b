/* The term builder (otpc_term_build): a format in Erlang term syntax with
 * directives, written as canonical external-format bytes.
 *
 * The bytes are written directly rather than through ei's encoders: every
 * encoding needs a final canonical fix-up anyway (lists of small integers
 * become STRING_EXT, small maps get sorted keys, tuples learn their arity
 * only at the '}'), and the emitters of term_emit.c keep one code path
 * exact for the builder and the re-encoder alike.
 *
 * The builder is a recursive-descent parser whose recursion depth is the
 * nesting of the format, bounded by OTPC_TERM_FORMAT_MAX_DEPTH; the
 * literals are read by the lexer the matcher uses too (term_lex.c). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "term_pattern.h"

/* --------------------------------------------------------------- emitting */

static int put_node(otpc_buf_t *out, otpc_atom_t node) {
  size_t n;
  const char *s = otpc_atom_text(node, &n);
  if (s == NULL)
    return OTPC_EINVAL;
  return otpc__emit_atom(out, (const uint8_t *)s, n);
}

static int put_pid(otpc_buf_t *out, const otpc_pid_t *pid) {
  if (pid == NULL)
    return OTPC_EINVAL;
  int rc = otpc__emit8(out, OTPC_TAG_NEW_PID);
  if (rc == 0)
    rc = put_node(out, pid->node);
  if (rc == 0)
    rc = otpc__emit32(out, pid->id);
  if (rc == 0)
    rc = otpc__emit32(out, pid->serial);
  if (rc == 0)
    rc = otpc__emit32(out, pid->creation);
  return rc;
}

static int put_port(otpc_buf_t *out, const otpc_port_t *port) {
  if (port == NULL)
    return OTPC_EINVAL;
  int rc = otpc__emit_port_tag(out, port->id);
  if (rc == 0)
    rc = put_node(out, port->node);
  return rc < 0 ? rc : otpc__emit_port_id(out, port->id, port->creation);
}

static int put_ref(otpc_buf_t *out, const otpc_ref_t *ref) {
  if (ref == NULL || ref->len < 1 || ref->len > OTPC_REF_MAX_WORDS)
    return OTPC_EINVAL;
  uint8_t h[3] = {OTPC_TAG_NEWER_REFERENCE, 0, (uint8_t)ref->len};
  int rc = otpc_buf_append(out, h, 3);
  if (rc == 0)
    rc = put_node(out, ref->node);
  if (rc == 0)
    rc = otpc__emit32(out, ref->creation);
  for (uint32_t i = 0; rc == 0 && i < ref->len; i++)
    rc = otpc__emit32(out, ref->id[i]);
  return rc;
}

/* ---------------------------------------------------------------- parsing */

typedef struct bctx {
  otpc__lex_t lx; /* the format, read with the literal syntax of term_lex.c */
  otpc_buf_t *out;
  va_list ap;
} bctx_t;

static int expected(bctx_t *c, const char *what) {
  return otpc__lex_expected(&c->lx, "%s", what);
}

static int bad_arg(bctx_t *c, size_t at, const char *what) {
  return otpc__lex_fail(&c->lx, OTPC_EINVAL, at, "%s", what);
}

static int oom(bctx_t *c, int rc) {
  return otpc__lex_fail(&c->lx, rc, c->lx.pos, "%s", otpc_strerror(rc));
}

/* Anything but a syntax or argument error is the buffer's (out of
 * memory, or a size over a limit), reported at the current offset. */
static int buf_rc(bctx_t *c, int rc) {
  return rc < 0 && rc != OTPC_EBADFMT && rc != OTPC_EINVAL && rc != OTPC_ELIMIT
             ? oom(c, rc)
             : rc;
}

/* ~a: the text must be UTF-8 of at most 255 characters. */
static int emit_atom_text(bctx_t *c, size_t at, const uint8_t *s, size_t n) {
  long chars = otpc__utf8_count(s, n);
  if (chars < 0)
    return bad_arg(c, at, "atom text is not valid UTF-8");
  if (chars > 255)
    return bad_arg(c, at, "atom longer than 255 characters");
  int rc = otpc__emit_atom(c->out, s, n);
  return rc < 0 ? oom(c, rc) : 0;
}

/* A string as a canonical list: the "literal" whose opening quote is at
 * `at` when utf8 is NULL, else the text of the ~s at `at`. */
static int emit_string(bctx_t *c, size_t at, const char *utf8) {
  otpc_buf_t *out = c->out;
  size_t start = out->len, n = 0, k = 0, len = utf8 ? strlen(utf8) : 0;
  uint8_t ph[5] = {OTPC_TAG_LIST};
  int small = 1, rc = otpc_buf_append(out, ph, 5);
  while (rc == 0) {
    uint32_t cp;
    int numeric;
    if (utf8 == NULL) {
      if ((rc = otpc__lex_quoted(&c->lx, at, &cp, &numeric)) <= 0)
        break;
    } else {
      if (k == len)
        break;
      size_t l = otpc__utf8_decode((const uint8_t *)utf8 + k, len - k, &cp);
      if (l == 0)
        return bad_arg(c, at, "~s got invalid UTF-8");
      k += l;
    }
    small &= cp <= 255;
    n++;
    rc = otpc__emit_u64(out, 0, cp);
  }
  if (rc == 0)
    rc = otpc__list_finish(out, start, n, small);
  return buf_rc(c, rc);
}

static int parse_term(bctx_t *c);

/* $c, integers of any size and floats. */
static int parse_number(bctx_t *c) {
  otpc__num_t n;
  int rc = otpc__lex_number(&c->lx, &n);
  if (rc < 0)
    return rc;
  if (n.is_float) {
    rc = otpc__emit_double(c->out, n.f);
  } else if (!n.big) {
    rc = otpc__emit_u64(c->out, n.neg, n.mag);
  } else {
    otpc_buf_t mag;
    otpc_buf_init(&mag);
    rc = otpc__lex_bigint(c->lx.s, &n, &mag);
    if (rc == 0)
      rc = otpc__emit_big(c->out, n.neg, mag.data, mag.len);
    otpc_buf_free(&mag);
  }
  return rc < 0 ? oom(c, rc) : 0;
}

/* <<...>>: the bytes go straight after a BINARY_EXT header whose length is
 * filled in at the end. */
static int parse_binary(bctx_t *c) {
  otpc_buf_t *out = c->out;
  otpc__lex_bin_t b;
  size_t start = out->len;
  uint8_t ph[5] = {OTPC_TAG_BINARY}, byte;
  int rc = otpc_buf_append(out, ph, 5);
  otpc__lex_bin_begin(&c->lx, &b);
  while (rc == 0 && (rc = otpc__lex_bin_next(&c->lx, &b, &byte)) == 1)
    rc = otpc__emit8(out, byte);
  if (rc == 0)
    otpc__put32(out->data + start + 1, (uint32_t)(out->len - start - 5));
  return buf_rc(c, rc);
}

static int parse_tuple(bctx_t *c) {
  otpc_buf_t *out = c->out;
  size_t start = out->len, n = 0;
  uint8_t ph[5] = {OTPC_TAG_LARGE_TUPLE};
  int rc = otpc_buf_append(out, ph, 5);
  if (rc < 0)
    return oom(c, rc);
  c->lx.pos++;
  otpc__lex_skip_ws(&c->lx);
  if (c->lx.s[c->lx.pos] == '}') {
    c->lx.pos++;
  } else {
    for (;;) {
      rc = parse_term(c);
      if (rc < 0)
        return rc;
      n++;
      if ((rc = otpc__lex_sep(&c->lx, '}', "',' or '}' in a tuple")) <= 0) {
        if (rc < 0)
          return rc;
        break;
      }
    }
  }
  if (n > UINT32_MAX)
    return otpc__lex_fail(&c->lx, OTPC_ELIMIT, c->lx.pos, "tuple too big");
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
  c->lx.pos++;
  otpc__lex_skip_ws(&c->lx);
  if (c->lx.s[c->lx.pos] == ']') {
    c->lx.pos++;
    return otpc__list_finish(out, start, 0, 0);
  }
  for (;;) {
    size_t e = out->len;
    if ((rc = parse_term(c)) < 0)
      return rc;
    n++;
    small &= out->len - e == 2 && out->data[e] == OTPC_TAG_SMALL_INTEGER;
    otpc__lex_skip_ws(&c->lx);
    char ch = c->lx.s[c->lx.pos];
    if (ch == ',') {
      c->lx.pos++;
    } else if (ch == ']') {
      c->lx.pos++;
      rc = otpc__list_finish(out, start, n, small);
      return rc < 0 ? oom(c, rc) : 0;
    } else if (ch == '|') {
      c->lx.pos++;
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
  otpc__lex_skip_ws(&c->lx);
  if (c->lx.s[c->lx.pos] != ']')
    return expected(c, "']' after the tail of a list");
  c->lx.pos++;
  uint8_t *d = out->data;
  switch (d[ts]) {
  case OTPC_TAG_NIL:
    out->len = ts;
    rc = otpc__list_finish(out, start, n, small);
    break;
  case OTPC_TAG_STRING: {
    size_t m = otpc__get16(d + ts + 1);
    if (small && n + m < OTPC__STRING_MAX) {
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
      rc = otpc__list_finish(out, start, n + m, 0);
    break;
  }
  case OTPC_TAG_LIST: {
    size_t m = otpc__get32(d + ts + 1);
    memmove(d + ts, d + ts + 5, out->len - ts - 5);
    out->len -= 5;
    d[out->len] = 0;
    n += m;
    if (n > UINT32_MAX)
      return otpc__lex_fail(&c->lx, OTPC_ELIMIT, c->lx.pos, "list too long");
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
  c->lx.pos++;
  if (c->lx.s[c->lx.pos] != '{') {
    rc = expected(c, "'{' after '#'");
    goto done;
  }
  c->lx.pos++;
  otpc__lex_skip_ws(&c->lx);
  if (c->lx.s[c->lx.pos] == '}') {
    c->lx.pos++;
    goto finish;
  }
  for (;;) {
    size_t k = out->len;
    if ((rc = otpc_buf_append(&offs, &k, sizeof k)) < 0 ||
        (rc = parse_term(c)) < 0)
      goto done;
    otpc__lex_skip_ws(&c->lx);
    if (c->lx.s[c->lx.pos] != '=' || c->lx.s[c->lx.pos + 1] != '>') {
      rc = expected(c, "'=>' after a key in a map");
      goto done;
    }
    c->lx.pos += 2;
    size_t v = out->len;
    if ((rc = otpc_buf_append(&offs, &v, sizeof v)) < 0 ||
        (rc = parse_term(c)) < 0)
      goto done;
    n++;
    if ((rc = otpc__lex_sep(&c->lx, '}', "',' or '}' in a map")) <= 0) {
      if (rc < 0)
        goto done;
      break;
    }
  }
finish:
  rc = otpc__map_finish(out, start, (const size_t *)offs.data, n, 1);
done:
  otpc_buf_free(&offs);
  return rc < 0 && rc != OTPC_EBADFMT && rc != OTPC_EINVAL && rc != OTPC_ELIMIT
             ? oom(c, rc)
             : rc;
}

static int parse_directive(bctx_t *c) {
  size_t at = c->lx.pos;
  char d = c->lx.s[c->lx.pos + 1];
  otpc_buf_t *out = c->out;
  const char *what = NULL; /* what an OTPC_EINVAL from an emitter means */
  int rc;
  c->lx.pos += 2;
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
    rc = otpc__emit_atom(out, (const uint8_t *)s, n);
    break;
  }
  case 'i': rc = otpc__emit_i64(out, va_arg(c->ap, int)); break;
  case 'l': rc = otpc__emit_i64(out, va_arg(c->ap, long)); break;
  case 'I': rc = otpc__emit_i64(out, va_arg(c->ap, int64_t)); break;
  case 'U': rc = otpc__emit_u64(out, 0, va_arg(c->ap, uint64_t)); break;
  case 'N': {
    const char *s = va_arg(c->ap, const char *);
    otpc_buf_t mag;
    int neg;
    otpc_buf_init(&mag);
    rc = s == NULL ? OTPC_EINVAL : otpc__big_from_dec(s, strlen(s), &neg, &mag);
    if (rc == 0)
      rc = otpc__emit_big(out, neg, mag.data, mag.len);
    otpc_buf_free(&mag);
    what = "~N needs decimal digits with an optional sign";
    break;
  }
  case 'f': {
    double v = va_arg(c->ap, double);
    if (!isfinite(v))
      return bad_arg(c, at, "~f got NaN or an infinity");
    rc = otpc__emit_double(out, v);
    break;
  }
  case 's': {
    const char *s = va_arg(c->ap, const char *);
    if (s == NULL)
      return bad_arg(c, at, "~s got NULL");
    return emit_string(c, at, s);
  }
  case 'b':
  case 'B': {
    const void *p = va_arg(c->ap, const void *);
    size_t n = va_arg(c->ap, size_t);
    if (p == NULL && n > 0)
      return bad_arg(c, at, "binary pointer is NULL");
    if (d == 'b' && n > SIZE_MAX / 8)
      return otpc__lex_fail(&c->lx, OTPC_ELIMIT, at, "binary too big");
    rc = otpc__emit_bits(out, p, d == 'b' ? n * 8 : n);
    break;
  }
  /* An invalid argument is EINVAL from the emitter, worded here. */
  case 'p':
    rc = put_pid(out, va_arg(c->ap, const otpc_pid_t *));
    what = "~p got NULL or a pid with an invalid node";
    break;
  case 'r':
    rc = put_ref(out, va_arg(c->ap, const otpc_ref_t *));
    what = "~r got NULL, a bad node or a word count not 1..5";
    break;
  case 'P':
    rc = put_port(out, va_arg(c->ap, const otpc_port_t *));
    what = "~P got NULL or a port with an invalid node";
    break;
  case 't': {
    const otpc_term_t *t = va_arg(c->ap, const otpc_term_t *);
    if (t == NULL || t->p == NULL || t->len == 0)
      return bad_arg(c, at, "~t got NULL or an empty term");
    rc = otpc_buf_append(out, t->p, t->len);
    break;
  }
  default:
    c->lx.pos = at + 1;
    return expected(c, "a directive letter (a A i l I U N f s b B p r P t)");
  }
  if (rc == OTPC_EINVAL && what != NULL)
    return bad_arg(c, at, what);
  return rc < 0 ? oom(c, rc) : 0;
}

static int parse_term(bctx_t *c) {
  otpc__lex_skip_ws(&c->lx);
  const char *s = c->lx.s;
  size_t at = c->lx.pos;
  char ch = s[at];
  int rc;
  if (ch == '{' || ch == '[' || ch == '#') {
    if ((rc = otpc__lex_enter(&c->lx)) < 0)
      return rc;
    rc = ch == '{' ? parse_tuple(c) : ch == '[' ? parse_list(c) : parse_map(c);
    c->lx.depth--;
    return rc;
  }
  if (ch == '<') {
    c->lx.pos++;
    if (s[at + 1] != '<')
      return expected(c, "'<' (a binary starts with '<<')");
    c->lx.pos--;
    return parse_binary(c);
  }
  if (otpc__lex_number_start(ch))
    return parse_number(c);
  if ((ch >= 'a' && ch <= 'z') || ch == '\'') {
    char text[OTPC_ATOM_MAX_BYTES];
    size_t len;
    if ((rc = otpc__lex_atom(&c->lx, text, &len)) < 0)
      return rc;
    rc = otpc__emit_atom(c->out, (const uint8_t *)text, len);
    return rc < 0 ? oom(c, rc) : 0;
  }
  if (ch == '"') {
    c->lx.pos++;
    return emit_string(c, at, NULL);
  }
  if (ch == '~')
    return parse_directive(c);
  return expected(c, "a term");
}

/* ------------------------------------------------------------ compiling
 *
 * A format used again is not parsed again: after a successful build its
 * output is cut into the bytes that do not depend on the arguments and
 * the directives between them, kept in the thread's cache (term_pattern.c)
 * as a program: "append these bytes, then run the directive at this
 * offset of the format", the same parse_directive as the first time, so
 * arguments are read and checked, and errors worded, exactly as then.
 * Formats whose layout depends on the arguments are not compiled: a list
 * with a directive that may give a small integer (it may become a
 * STRING_EXT), a list with a tail, a map with a directive (its keys are
 * sorted), anything the pattern parser does not read as a builder's
 * format; those are parsed at every call as before. */

#define NO_DIRECTIVE UINT32_MAX

typedef struct bop {
  uint32_t lit; /* bytes to append */
  uint32_t dir; /* then the directive at this format offset, or NO_DIRECTIVE */
} bop_t;

/* nops NOT_COMPILED: the format is parsed at every call (kept so that it
 * is not compiled again at every call). */
#define NOT_COMPILED UINT32_MAX

typedef struct bprog {
  uint32_t nops;
  uint32_t nlit;
  /* nops bop_t, then nlit bytes */
} bprog_t;

typedef struct bcomp {
  const char *fmt;
  const pnode_t *nodes;
  otpc_buf_t ops, lit;
  size_t mark; /* lit.len at the last op */
  int ok;
} bcomp_t;

static int has_directive(const pnode_t *nodes, size_t i) {
  for (size_t k = i; k < i + nodes[i].size; k++)
    if (nodes[k].kind == P_CAP)
      return 1;
  return 0;
}

/* Whether node i may be encoded as SMALL_INTEGER_EXT. */
static int may_be_small_int(const pnode_t *n) {
  if (n->kind == P_CAP)
    return strchr("ilIUNt", n->cap) != NULL;
  return n->kind == P_INT && !n->neg && !n->big && n->v.mag <= 255;
}

static void comp_op(bcomp_t *b, uint32_t dir) {
  bop_t op = {(uint32_t)(b->lit.len - b->mark), dir};
  b->mark = b->lit.len;
  if (otpc_buf_append(&b->ops, &op, sizeof op) < 0)
    b->ok = 0;
}

static void comp_node(bcomp_t *b, size_t i) {
  const pnode_t *n = &b->nodes[i];
  if (!b->ok)
    return;
  if (!has_directive(b->nodes, i)) {
    /* Built alone, from its own text: the same bytes as within the whole. */
    char *text = malloc(n->len + 1);
    if (text == NULL) {
      b->ok = 0;
      return;
    }
    memcpy(text, b->fmt + n->off, n->len);
    text[n->len] = 0;
    bctx_t lc = {.lx = {.s = text}, .out = &b->lit}; /* no directive: no ap */
    b->ok = parse_term(&lc) == 0;
    free(text);
    return;
  }
  uint8_t h[5];
  size_t k = i + 1;
  switch (n->kind) {
  case P_CAP: comp_op(b, (uint32_t)n->off); return;
  case P_TUPLE:
    if (n->n <= 255) {
      h[0] = OTPC_TAG_SMALL_TUPLE;
      h[1] = (uint8_t)n->n;
      b->ok = otpc_buf_append(&b->lit, h, 2) == 0;
    } else {
      h[0] = OTPC_TAG_LARGE_TUPLE;
      otpc__put32(h + 1, (uint32_t)n->n);
      b->ok = otpc_buf_append(&b->lit, h, 5) == 0;
    }
    for (size_t e = 0; e < n->n; e++, k += b->nodes[k].size)
      comp_node(b, k);
    return;
  case P_LIST: {
    /* [E1, ..., En] is a STRING_EXT when every E is a small integer; an
     * explicit tail is merged when it is a list: both depend on the
     * arguments, unless the tail is a directive that never gives a list
     * ([alias | ~r]), which makes the list improper whatever the E. */
    size_t elems = n->n - n->tail, c = k;
    for (size_t e = 0; e < elems; e++, c += b->nodes[c].size)
      if (!n->tail && may_be_small_int(&b->nodes[c])) {
        b->ok = 0;
        return;
      }
    if (n->tail && (b->nodes[c].kind != P_CAP ||
                    strchr("aAprPfbBilIUN", b->nodes[c].cap) == NULL)) {
      b->ok = 0;
      return;
    }
    h[0] = OTPC_TAG_LIST;
    otpc__put32(h + 1, (uint32_t)elems);
    b->ok = otpc_buf_append(&b->lit, h, 5) == 0;
    for (size_t e = 0; e < n->n; e++, k += b->nodes[k].size)
      comp_node(b, k);
    if (b->ok && !n->tail)
      b->ok = otpc__emit8(&b->lit, OTPC_TAG_NIL) == 0;
    return;
  }
  default: b->ok = 0; /* a map with directives */
  }
}

/* Compiles fmt, just built without error, into the cache. */
static void compile(const char *fmt) {
  pnode_t stack[OTPC__PATTERN_STACK_NODES], *nodes;
  int rc = otpc__format_parse(fmt, stack, OTPC__PATTERN_STACK_NODES, &nodes);
  bcomp_t b = {.fmt = fmt, .nodes = nodes, .ok = rc == 0};
  otpc_buf_init(&b.ops);
  otpc_buf_init(&b.lit);
  if (b.ok) {
    comp_node(&b, 0);
    comp_op(&b, NO_DIRECTIVE);
  }
  otpc_buf_t blob;
  otpc_buf_init(&blob);
  bprog_t h = {(uint32_t)(b.ops.len / sizeof(bop_t)), (uint32_t)b.lit.len};
  if (!b.ok) {
    h.nops = NOT_COMPILED;
    h.nlit = 0;
  }
  if (otpc_buf_append(&blob, &h, sizeof h) == 0 &&
      (!b.ok || (otpc_buf_append(&blob, b.ops.data, b.ops.len) == 0 &&
                 otpc_buf_append(&blob, b.lit.data, b.lit.len) == 0)))
    otpc__cache_keep(OTPC__CACHE_FORMAT, fmt, blob.data, blob.len);
  otpc_buf_free(&blob);
  otpc_buf_free(&b.ops);
  otpc_buf_free(&b.lit);
  if (nodes != stack)
    free(nodes);
}

static int replay(bctx_t *c, const bprog_t *pg) {
  const bop_t *op = (const bop_t *)(const void *)(pg + 1);
  const uint8_t *lit = (const uint8_t *)(op + pg->nops);
  for (uint32_t k = 0; k < pg->nops; k++) {
    int rc = otpc_buf_append(c->out, lit, op[k].lit);
    if (rc < 0)
      return oom(c, rc);
    lit += op[k].lit;
    if (op[k].dir != NO_DIRECTIVE) {
      c->lx.pos = op[k].dir;
      if ((rc = parse_directive(c)) < 0)
        return rc;
    }
  }
  return 0;
}

int otpc_term_vbuild(otpc_buf_t *out, otpc_err_t *err, const char *fmt,
                     va_list ap) {
  if (out == NULL || fmt == NULL)
    return otpc__err(err, OTPC_EINVAL, 0, "NULL buffer or format");
  bctx_t c = {.lx = {.s = fmt, .err = err}, .out = out};
  size_t start = out->len;
  va_copy(c.ap, ap);
  otpc__centry_t *held;
  const bprog_t *pg = otpc__cache_get(OTPC__CACHE_FORMAT, fmt, &held);
  int rc;
  if (pg != NULL && pg->nops != NOT_COMPILED) {
    rc = replay(&c, pg);
    otpc__cache_put(held);
  } else {
    otpc__cache_put(held);
    rc = parse_term(&c);
    if (rc == 0) {
      otpc__lex_skip_ws(&c.lx);
      if (fmt[c.lx.pos] != 0)
        rc = expected(&c, "the end of the format after the term");
    }
    if (rc == 0 && pg == NULL)
      compile(fmt);
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
  return otpc__emit8(out, OTPC_TAG_VERSION);
}
