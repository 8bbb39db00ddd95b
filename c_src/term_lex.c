/* The literal syntax of formats (otpc_term_build) and patterns
 * (otpc_term_match): one lexer, so that both accept exactly the same
 * atoms, numbers, characters, strings and binaries, with the same limits
 * and the same error offsets.
 *
 * The syntax is Erlang's where it reaches: unary + and -, Base#digits, _
 * between digits, $c, the escapes of quoted text, and <<...>> segments
 * that are strings or integer literals of 0..255. */
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Room for the digits of a float literal; a longer one is an error, so
 * that lexing never allocates. */
#define FLOAT_TEXT_MAX 400

static int is_digit(char ch) {
  return ch >= '0' && ch <= '9';
}

int otpc__lex_is_name(char ch) {
  return is_digit(ch) || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
         ch == '_' || ch == '@';
}

static unsigned digit_val(char ch) {
  if (is_digit(ch))
    return (unsigned)(ch - '0');
  if (ch >= 'a' && ch <= 'z')
    return (unsigned)(ch - 'a' + 10);
  if (ch >= 'A' && ch <= 'Z')
    return (unsigned)(ch - 'A' + 10);
  return 99;
}

/* ----------------------------------------------------------------- errors */

static int vfail(otpc__lex_t *lx, int code, size_t at, const char *fmt,
                 va_list ap) {
  char msg[OTPC_ERR_MSG_SIZE];
  vsnprintf(msg, sizeof msg, fmt, ap);
  return otpc__err(lx->err, code, at,
                   lx->pattern ? "bad pattern at offset %zu: %s"
                               : "offset %zu: %s",
                   at, msg);
}

int otpc__lex_fail(otpc__lex_t *lx, int code, size_t at, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = vfail(lx, code, at, fmt, ap);
  va_end(ap);
  return rc;
}

int otpc__lex_expected(otpc__lex_t *lx, const char *fmt, ...) {
  char what[OTPC_ERR_MSG_SIZE], got[24];
  unsigned char ch = (unsigned char)lx->s[lx->pos];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(what, sizeof what, fmt, ap);
  va_end(ap);
  if (ch == 0)
    snprintf(got, sizeof got, "end of %s", lx->pattern ? "pattern" : "format");
  else if (ch >= 0x20 && ch < 0x7F)
    snprintf(got, sizeof got, "'%c'", ch);
  else
    snprintf(got, sizeof got, "byte 0x%02x", ch);
  return otpc__lex_fail(lx, OTPC_EBADFMT, lx->pos, "expected %s, got %s", what,
                        got);
}

/* ------------------------------------------------------------- structure */

void otpc__lex_skip_ws(otpc__lex_t *lx) {
  for (;;) {
    char ch = lx->s[lx->pos];
    if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r' && ch != '\f' &&
        ch != '\v')
      return;
    lx->pos++;
  }
}

int otpc__lex_sep(otpc__lex_t *lx, char close, const char *what) {
  otpc__lex_skip_ws(lx);
  char ch = lx->s[lx->pos];
  if (ch != ',' && ch != close)
    return otpc__lex_expected(lx, "%s", what);
  lx->pos++;
  return ch == ',';
}

int otpc__lex_enter(otpc__lex_t *lx) {
  if (lx->depth >= OTPC_TERM_FORMAT_MAX_DEPTH)
    return otpc__lex_fail(lx, OTPC_ELIMIT, lx->pos, "nesting deeper than %u",
                          OTPC_TERM_FORMAT_MAX_DEPTH);
  lx->depth++;
  return 0;
}

/* ------------------------------------------------------------ characters */

static int utf8_char(otpc__lex_t *lx, uint32_t *cp) {
  const uint8_t *s = (const uint8_t *)lx->s + lx->pos;
  size_t k = otpc__utf8_decode(s, strnlen((const char *)s, 4), cp);
  if (k == 0)
    return otpc__lex_fail(lx, OTPC_EBADFMT, lx->pos, "invalid UTF-8 in the %s",
                          lx->pattern ? "pattern" : "format");
  lx->pos += k;
  return 0;
}

int otpc__lex_char(otpc__lex_t *lx, uint32_t *cp, int *numeric) {
  const char *s = lx->s;
  *numeric = 0;
  if (s[lx->pos] == 0)
    return otpc__lex_expected(lx, "a character");
  if (s[lx->pos] != '\\')
    return utf8_char(lx, cp);
  size_t at = lx->pos++;
  char e = s[lx->pos];
  static const char from[] = "bdefnrstv", to[] = "\b\177\033\f\n\r \t\v";
  const char *m = e != 0 ? strchr(from, e) : NULL;
  if (m != NULL) {
    *cp = (unsigned char)to[m - from];
    lx->pos++;
  } else if (e >= '0' && e <= '7') {
    uint32_t v = 0;
    for (int i = 0; i < 3 && s[lx->pos] >= '0' && s[lx->pos] <= '7'; i++)
      v = v * 8 + (uint32_t)(s[lx->pos++] - '0');
    *cp = v;
    *numeric = 1;
  } else if (e == 'x' && s[lx->pos + 1] == '{') {
    uint32_t v = 0;
    size_t digits = 0;
    lx->pos += 2;
    for (; digit_val(s[lx->pos]) < 16; lx->pos++, digits++)
      if (v <= 0x10FFFF) /* saturates: any larger value is refused below */
        v = v * 16 + digit_val(s[lx->pos]);
    if (digits == 0 || s[lx->pos] != '}')
      return otpc__lex_expected(lx, "hex digits and '}' in \\x{...}");
    lx->pos++;
    if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
      return otpc__lex_fail(lx, OTPC_EBADFMT, at,
                            "\\x{...} is not a Unicode code point");
    *cp = v;
    *numeric = 1;
  } else if (e == 'x') {
    lx->pos++;
    unsigned h1 = digit_val(s[lx->pos]);
    unsigned h2 = h1 < 16 ? digit_val(s[lx->pos + 1]) : 99;
    if (h2 >= 16)
      return otpc__lex_expected(lx, "two hex digits after \\x");
    *cp = h1 * 16 + h2;
    lx->pos += 2;
    *numeric = 1;
  } else if (e == '^') {
    lx->pos++;
    unsigned char c = (unsigned char)s[lx->pos];
    if (c == 0 || c >= 0x80)
      return otpc__lex_expected(lx, "an ASCII character after \\^");
    *cp = c & 31u;
    lx->pos++;
  } else if (e == 0) {
    return otpc__lex_expected(lx, "a character after '\\'");
  } else {
    return utf8_char(lx, cp); /* \\ \' \" and any other stand for themselves */
  }
  return 0;
}

int otpc__lex_quoted(otpc__lex_t *lx, size_t open, uint32_t *cp, int *numeric) {
  char quote = lx->s[open], ch = lx->s[lx->pos];
  if (ch == quote) {
    lx->pos++;
    return 0;
  }
  if (ch == 0)
    return otpc__lex_expected(lx, "a closing %c for the one at offset %zu",
                              quote, open);
  int rc = otpc__lex_char(lx, cp, numeric);
  return rc < 0 ? rc : 1;
}

int otpc__lex_atom(otpc__lex_t *lx, char *text, size_t *len) {
  const char *s = lx->s;
  size_t at = lx->pos, n = 0, chars = 0;
  int rc = 0;
  if (s[at] == '\'') {
    uint32_t cp;
    int numeric;
    lx->pos++;
    while ((rc = otpc__lex_quoted(lx, at, &cp, &numeric)) == 1)
      if (++chars <= 255)
        n += otpc__utf8_encode(cp, (uint8_t *)text + n);
    if (rc < 0)
      return rc;
  } else {
    for (; otpc__lex_is_name(s[lx->pos]); lx->pos++, chars++)
      if (chars < 255)
        text[n++] = s[lx->pos];
  }
  if (chars > 255)
    return otpc__lex_fail(lx, OTPC_EBADFMT, at,
                          "atom longer than 255 characters");
  *len = n;
  return 0;
}

/* --------------------------------------------------------------- numbers */

/* Digits of a base with _ between them, from s[i]; returns the end. The
 * value saturates into *big when it does not fit 64 bits. */
static size_t scan_digits(const char *s, size_t i, unsigned base, uint64_t *v,
                          int *big) {
  *v = 0;
  *big = 0;
  for (size_t nd = 0;; i++) {
    unsigned d = digit_val(s[i]);
    if (d >= base) {
      if (s[i] == '_' && nd > 0 && digit_val(s[i + 1]) < base)
        continue;
      return i;
    }
    if (*v > (UINT64_MAX - d) / base)
      *big = 1;
    *v = *v * base + d;
    nd++;
  }
}

/* Copies the digits of s[i..] (with _ between) to tmp, dropping the _. */
static size_t copy_digits(const char *s, size_t i, char *tmp, size_t *k) {
  uint64_t v;
  int big;
  size_t end = scan_digits(s, i, 10, &v, &big);
  for (; i < end; i++)
    if (s[i] != '_' && *k < FLOAT_TEXT_MAX)
      tmp[(*k)++] = s[i];
  return end;
}

/* The float whose integer digits start at s[i]; strtod wants them without
 * _ and with the locale's decimal point (the program may have called
 * setlocale). */
static int lex_float(otpc__lex_t *lx, size_t i, otpc__num_t *n) {
  const char *s = lx->s;
  char tmp[FLOAT_TEXT_MAX + 8];
  size_t k = 0;
  const char *dp = localeconv()->decimal_point;
  i = copy_digits(s, i, tmp, &k);
  tmp[k++] = dp != NULL && dp[0] != 0 && dp[1] == 0 ? dp[0] : '.';
  i = copy_digits(s, i + 1, tmp, &k);
  if (s[i] == 'e' || s[i] == 'E') {
    size_t e = i + 1;
    if (s[e] == '-' || s[e] == '+')
      e++;
    if (!is_digit(s[e])) {
      lx->pos = e;
      return otpc__lex_expected(lx, "exponent digits");
    }
    tmp[k++] = 'e';
    if (s[i + 1] == '-')
      tmp[k++] = '-';
    i = copy_digits(s, e, tmp, &k);
  }
  if (k >= FLOAT_TEXT_MAX)
    return otpc__lex_fail(lx, OTPC_EBADFMT, n->off, "float literal too long");
  tmp[k] = 0;
  double d = strtod(tmp, NULL);
  if (d - d != 0)
    return otpc__lex_fail(lx, OTPC_EBADFMT, n->off,
                          "float literal out of range");
  n->is_float = 1;
  n->f = n->neg ? -d : d;
  lx->pos = i;
  return 0;
}

int otpc__lex_number(otpc__lex_t *lx, otpc__num_t *n) {
  const char *s = lx->s;
  size_t at = lx->pos, i = at;
  int rc;
  memset(n, 0, sizeof *n);
  n->off = at;
  n->base = 10;
  if (s[i] == '$') {
    uint32_t cp;
    int numeric;
    lx->pos++;
    if ((rc = otpc__lex_char(lx, &cp, &numeric)) < 0)
      return rc;
    n->mag = cp;
    n->len = lx->pos - at;
    return 0;
  }
  if (s[i] == '-' || s[i] == '+') {
    n->neg = s[i] == '-';
    i++;
  }
  if (!is_digit(s[i])) {
    lx->pos = i;
    return otpc__lex_expected(lx, "a digit after '%c'", s[at]);
  }
  n->digits = i;
  i = scan_digits(s, i, 10, &n->mag, &n->big);
  if (s[i] == '#') {
    if (n->big || n->mag < 2 || n->mag > 36)
      return otpc__lex_fail(lx, OTPC_EBADFMT, at, "integer base must be 2..36");
    n->base = (unsigned)n->mag;
    n->digits = ++i;
    i = scan_digits(s, i, n->base, &n->mag, &n->big);
    if (i == n->digits || otpc__lex_is_name(s[i])) {
      lx->pos = i;
      return otpc__lex_expected(lx, "digits of the integer's base");
    }
  } else if (s[i] == '.' && is_digit(s[i + 1])) {
    if ((rc = lex_float(lx, n->digits, n)) < 0)
      return rc;
    i = lx->pos;
  }
  /* 12ab, 1.5.2 and 16#1#2 are no numbers (Erlang reads 12 then ab). */
  if (otpc__lex_is_name(s[i]) || s[i] == '#' ||
      (s[i] == '.' && is_digit(s[i + 1]))) {
    lx->pos = i;
    return otpc__lex_expected(lx, "the end of the number");
  }
  lx->pos = i;
  n->len = i - at;
  return 0;
}

int otpc__lex_bigint(const char *s, const otpc__num_t *n, otpc_buf_t *mag) {
  otpc_buf_t digits;
  otpc_buf_init(&digits);
  int rc = 0;
  for (size_t i = n->digits; rc == 0 && i < n->off + n->len; i++)
    if (s[i] != '_')
      rc = otpc_buf_append(&digits, s + i, 1);
  if (rc == 0)
    rc = otpc__big_from_base((const char *)digits.data, digits.len, n->base,
                             mag);
  otpc_buf_free(&digits);
  return rc;
}

/* -------------------------------------------------------------- binaries */

enum { BIN_SEGMENT, BIN_STRING, BIN_AFTER, BIN_DONE };

void otpc__lex_bin_begin(otpc__lex_t *lx, otpc__lex_bin_t *b) {
  memset(b, 0, sizeof *b);
  lx->pos += 2;
  otpc__lex_skip_ws(lx);
  if (lx->s[lx->pos] == '>' && lx->s[lx->pos + 1] == '>') {
    lx->pos += 2;
    b->state = BIN_DONE;
  }
}

int otpc__lex_bin_next(otpc__lex_t *lx, otpc__lex_bin_t *b, uint8_t *byte) {
  const char *s = lx->s;
  uint32_t cp;
  int numeric, rc;
  for (;;) {
    if (b->ipend < b->npend) {
      *byte = b->pend[b->ipend++];
      return 1;
    }
    switch (b->state) {
    case BIN_DONE: return 0;
    case BIN_STRING:
      rc = otpc__lex_quoted(lx, b->open, &cp, &numeric);
      if (rc < 0)
        return rc;
      if (rc == 0) {
        b->state = BIN_AFTER;
        continue;
      }
      /* Text stands for its UTF-8 bytes (Erlang would want /utf8), an
       * escape by number of 0..255 for one byte: <<"é">> is <<"\xc3\xa9">>
       * and <<"\xe9">> one byte. */
      if ((numeric && cp <= 255) || cp < 0x80) {
        *byte = (uint8_t)cp;
        return 1;
      }
      b->npend = (unsigned)otpc__utf8_encode(cp, b->pend);
      b->ipend = 0;
      continue;
    case BIN_AFTER:
      otpc__lex_skip_ws(lx);
      if (s[lx->pos] == ',') {
        lx->pos++;
        b->state = BIN_SEGMENT;
        continue;
      }
      if (s[lx->pos] == '>' && s[lx->pos + 1] == '>') {
        lx->pos += 2;
        b->state = BIN_DONE;
        return 0;
      }
      return otpc__lex_expected(lx, "',' or '>>' in a binary");
    default: /* BIN_SEGMENT */
      otpc__lex_skip_ws(lx);
      if (s[lx->pos] == '"') {
        b->open = lx->pos++;
        b->state = BIN_STRING;
        continue;
      }
      if (!otpc__lex_number_start(s[lx->pos]))
        return otpc__lex_expected(lx, "a byte (0..255) or a string in a "
                                      "binary");
      otpc__num_t n;
      size_t at = lx->pos;
      if ((rc = otpc__lex_number(lx, &n)) < 0)
        return rc;
      if (n.is_float || n.big || n.mag > 255 || (n.neg && n.mag != 0)) {
        lx->pos = at;
        return otpc__lex_expected(lx, "a byte (0..255) in a binary");
      }
      *byte = (uint8_t)n.mag;
      b->state = BIN_AFTER;
      return 1;
    }
  }
}
