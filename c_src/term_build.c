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
 * nesting of the format, bounded by BUILD_MAX_DEPTH. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Formats are written by programmers; deeper nesting is surely a bug, and
 * the bound keeps the parser's recursion small. */
#define BUILD_MAX_DEPTH 1000u

/* --------------------------------------------------------------- emitting */

static int put_node(otpc_buf_t *out, otpc_atom_t node) {
  size_t n;
  const char *s = otpc_atom_text(node, &n);
  if (s == NULL)
    return OTPC_EINVAL;
  return otpc__emit_atom(out, (const uint8_t *)s, n);
}

static int put_pid(otpc_buf_t *out, const otpc_pid_t *pid) {
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
  int rc = otpc__emit_port_tag(out, port->id);
  if (rc == 0)
    rc = put_node(out, port->node);
  return rc < 0 ? rc : otpc__emit_port_id(out, port->id, port->creation);
}

static int put_ref(otpc_buf_t *out, const otpc_ref_t *ref) {
  if (ref->len < 1 || ref->len > OTPC_REF_MAX_WORDS)
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
  int rc = otpc__emit_atom(c->out, s, n);
  return rc < 0 ? oom(c, rc) : 0;
}

/* A string as canonical list: nil, STRING_EXT, or LIST_EXT of integers. */
static int emit_codepoints(bctx_t *c, const uint32_t *cp, size_t n) {
  otpc_buf_t *out = c->out;
  int rc = 0, small = 1;
  for (size_t i = 0; i < n; i++)
    small &= cp[i] <= 255;
  if (n == 0)
    rc = otpc__emit8(out, OTPC_TAG_NIL);
  else if (small && n < OTPC__STRING_MAX) {
    uint8_t h[3] = {OTPC_TAG_STRING};
    otpc__put16(h + 1, (uint16_t)n);
    rc = otpc_buf_append(out, h, 3);
    for (size_t i = 0; rc == 0 && i < n; i++)
      rc = otpc__emit8(out, (uint8_t)cp[i]);
  } else {
    rc = otpc__emit8(out, OTPC_TAG_LIST);
    if (rc == 0)
      rc = otpc__emit32(out, (uint32_t)n);
    for (size_t i = 0; rc == 0 && i < n; i++)
      rc = otpc__emit_u64(out, 0, cp[i]);
    if (rc == 0)
      rc = otpc__emit8(out, OTPC_TAG_NIL);
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
    rc = otpc__emit_double(c->out, d);
    goto done;
  } else {
    rc = otpc__big_from_dec((char *)txt.data, txt.len, &neg, &mag);
  }
  if (rc == 0)
    rc = otpc__emit_big(c->out, neg, mag.data, mag.len);
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
      rc = otpc__emit8(&bytes, (uint8_t)v);
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
  rc = otpc__emit_bits(c->out, bytes.data, bytes.len * 8);
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
    return otpc__list_finish(out, start, 0, 0);
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
      rc = otpc__list_finish(out, start, n, small);
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
  rc = otpc__map_finish(out, start, (const size_t *)offs.data, n, 1);
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
    if (rc == OTPC_EINVAL)
      return bad_arg(c, at, "~N needs decimal digits with an optional sign");
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
    rc = otpc__emit_bits(out, p, d == 'b' ? n * 8 : n);
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
    if (rc == 0 && (rc = otpc__emit_u64(c->out, 0, cp)) < 0)
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
  return otpc__emit8(out, OTPC_TAG_VERSION);
}
