/* Tests of the term builder and the canonical encoder. The expected bytes
 * come from the real erl (OTP 25): term_build_fixtures.h was generated with
 * term_to_binary(T, [{minor_version, 2}]). To regenerate, run from
 * test/c: escript gen/term_genfix.escript (writes fixtures.h from
 * gen/term_build_formats.txt), escript gen/term_gendir.escript (the exp_*
 * arrays, on stdout) and escript gen/term_gencmp.escript (writes
 * cmp_fixtures.h = term_compare_fixtures.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "otpc/term.h"
#include "test_util.h"

struct lit_case {
  const char *fmt;
  const uint8_t *bytes;
  size_t len;
};
#include "term_build_fixtures.h"

static void assert_bytes(const otpc_buf_t *b, size_t from, const uint8_t *exp,
                         size_t n) {
  assert_int_equal(b->len - from, n);
  assert_memory_equal(b->data + from, exp, n);
}

/* Validates the bytes as a term and checks otpc_term_encode keeps them. */
static void assert_canonical(const uint8_t *p, size_t n) {
  otpc_buf_t ext = {0}, re = {0};
  otpc_term_t t;
  assert_int_equal(otpc_term_put_version(&ext), 0);
  assert_int_equal(otpc_buf_append(&ext, p, n), 0);
  assert_int_equal(otpc_term_from_ext(ext.data, ext.len, &t, NULL), 0);
  assert_int_equal(otpc_term_encode(&re, t), 0);
  assert_int_equal(re.len, n);
  assert_memory_equal(re.data, p, n);
  otpc_buf_free(&ext);
  otpc_buf_free(&re);
}

static void test_literals(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof lit_cases / sizeof lit_cases[0]; i++) {
    otpc_buf_t b = {0};
    otpc_err_t err = {0};
    int rc = otpc_term_build(&b, &err, lit_cases[i].fmt);
    if (rc != 0 || b.len != lit_cases[i].len ||
        memcmp(b.data, lit_cases[i].bytes, b.len) != 0)
      fail_msg("format %s: rc %d (%s)", lit_cases[i].fmt, rc, err.msg);
    assert_canonical(b.data, b.len);
    otpc_buf_free(&b);
  }
}

static void test_directives(void **state) {
  (void)state;
  otpc_buf_t b = {0}, inner = {0};
  otpc_atom_t ok, node;
  assert_int_equal(otpc_atom("ok", &ok), 0);
  assert_int_equal(otpc_atom("a@b", &node), 0);
  otpc_pid_t pid = {node, 7, 1, 2};
  otpc_ref_t ref = {node, 3, 3, {1, 2, 3}};
  otpc_port_t port = {node, 4, 9};
  uint8_t bits = 5 << 5 | 0x1F; /* the low 5 bits are not part of it */
  assert_int_equal(otpc_term_build(&inner, NULL, "{x}"), 0);
  otpc_term_t t = {inner.data, inner.len};
  int rc = otpc_term_build(
      &b, NULL, "{~a, ~A, ~i, ~l, ~I, ~U, ~N, ~f, ~s, ~b, ~B, ~p, ~r, ~P, ~t}",
      "h\xc3\xa9llo", ok, -5, 100000L, INT64_MIN, UINT64_MAX,
      "-123456789012345678901234567890", 1.5, "h\xc3\xa9llo", "\1\2\3",
      (size_t)3, &bits, (size_t)3, &pid, &ref, &port, &t);
  assert_int_equal(rc, 0);
  assert_bytes(&b, 0, exp_directives, sizeof exp_directives);
  assert_canonical(b.data, b.len);
  otpc_buf_free(&b);

  /* Ports: NEW_PORT_EXT up to 28 bits, V4 above; refs of 5 words. */
  otpc_port_t p1 = {node, 1, 0x0FFFFFFF}, p2 = {node, 1, 0x10000000};
  otpc_ref_t r5 = {node, 1, 5, {1, 2, 3, 4, 5}};
  assert_int_equal(otpc_term_build(&b, NULL, "[~P, ~P, ~r]", &p1, &p2, &r5), 0);
  assert_bytes(&b, 0, exp_ports, sizeof exp_ports);
  otpc_buf_free(&b);

  assert_int_equal(otpc_term_build(&b, NULL, "~f", -0.0), 0);
  assert_bytes(&b, 0, exp_neg_zero, sizeof exp_neg_zero);
  otpc_buf_free(&b);
  assert_int_equal(otpc_term_build(&b, NULL, "~s", "x\xf0\x9f\x98\x80y"), 0);
  assert_bytes(&b, 0, exp_str_unicode, sizeof exp_str_unicode);
  otpc_buf_free(&b);
  assert_int_equal(otpc_term_build(&b, NULL, "~s", ""), 0);
  assert_bytes(&b, 0, (const uint8_t[]){106}, 1);
  otpc_buf_free(&b);
  /* Byte-aligned ~B is a plain binary; a NULL binary of 0 bytes is <<>>. */
  assert_int_equal(otpc_term_build(&b, NULL, "{~B, ~b}", "\7", (size_t)8,
                                   (const void *)NULL, (size_t)0),
                   0);
  assert_bytes(&b, 0,
               (const uint8_t[]){104, 2, 109, 0, 0, 0, 1, 7, 109, 0, 0, 0, 0},
               13);
  otpc_buf_free(&b);
  otpc_buf_free(&inner);
}

static void test_huge_integers(void **state) {
  (void)state;
  otpc_buf_t b = {0};
  char big[301] = "1";
  memset(big + 1, '0', 299);
  big[300] = 0;
  char fmt[700];
  snprintf(fmt, sizeof fmt, "[18446744073709551616, ~N, %s, ~N]", big);
  char m2100[700];
  /* -(2^2100), from erl, checked through ~N's decimal parser. */
  otpc_buf_t dec = {0};
  const uint8_t *tail = exp_2_64 + sizeof exp_2_64 - 264; /* LARGE_BIG body */
  (void)tail;
  assert_int_equal(otpc_term_build(&dec, NULL, "~N", "-1"), 0);
  otpc_buf_free(&dec);
  /* Build 2^2100 by doubling in decimal. */
  int digits[700] = {1}, nd = 1;
  for (int i = 0; i < 2100; i++) {
    int carry = 0;
    for (int k = 0; k < nd; k++) {
      int v = digits[k] * 2 + carry;
      digits[k] = v % 10, carry = v / 10;
    }
    if (carry)
      digits[nd++] = carry;
  }
  m2100[0] = '-';
  for (int k = 0; k < nd; k++)
    m2100[1 + k] = (char)('0' + digits[nd - 1 - k]);
  m2100[1 + nd] = 0;
  assert_int_equal(
      otpc_term_build(&b, NULL, fmt, "-18446744073709551616", m2100), 0);
  assert_bytes(&b, 0, exp_2_64, sizeof exp_2_64);
  assert_canonical(b.data, b.len);
  otpc_buf_free(&b);
  /* Edges of each encoding through the C-typed directives. */
  assert_int_equal(otpc_term_build(&b, NULL, "[~i, ~i, ~I, ~I, ~U]", 255, 256,
                                   (int64_t)INT32_MIN, (int64_t)INT32_MIN - 1,
                                   (uint64_t)INT32_MAX + 1),
                   0);
  otpc_buf_t lit = {0};
  assert_int_equal(otpc_term_build(&lit, NULL,
                                   "[255, 256, -2147483648, "
                                   "-2147483649, 2147483648]"),
                   0);
  assert_int_equal(b.len, lit.len);
  assert_memory_equal(b.data, lit.data, b.len);
  otpc_buf_free(&b);
  otpc_buf_free(&lit);
}

/* A list of n small integers, written three ways, is a STRING_EXT below
 * 65536 elements and a LIST_EXT from there. */
static void check_int_list(size_t n) {
  char *fmt = malloc(2 * n + 3), *s = malloc(n + 1);
  size_t k = 0;
  fmt[k++] = '[';
  for (size_t i = 0; i < n; i++) {
    fmt[k++] = '7';
    fmt[k++] = i + 1 < n ? ',' : ']';
  }
  fmt[k] = 0;
  memset(s, 7, n);
  s[n] = 0;
  otpc_buf_t a = {0}, b = {0}, c = {0};
  assert_int_equal(otpc_term_build(&a, NULL, fmt), 0);
  assert_int_equal(otpc_term_build(&b, NULL, "~s", s), 0);
  /* Also as [7 | "..."]: a string tail is merged. */
  assert_int_equal(otpc_term_build(&c, NULL, "[7 | ~s]", s + 1), 0);
  if (n < 65536) {
    assert_int_equal(a.len, 3 + n);
    assert_int_equal(a.data[0], 107);
  } else {
    assert_int_equal(a.len, 5 + 2 * n + 1);
    assert_int_equal(a.data[0], 108);
    assert_int_equal(a.data[a.len - 1], 106);
  }
  assert_int_equal(b.len, a.len);
  assert_memory_equal(a.data, b.data, a.len);
  assert_int_equal(c.len, a.len);
  assert_memory_equal(a.data, c.data, a.len);
  assert_canonical(a.data, a.len);
  otpc_buf_free(&a);
  otpc_buf_free(&b);
  otpc_buf_free(&c);
  free(fmt);
  free(s);
}

static void test_string_limit(void **state) {
  (void)state;
  check_int_list(65535);
  check_int_list(65536);
}

static void test_long_atoms(void **state) {
  (void)state;
  char text[600], fmt[610];
  size_t k = 0;
  for (int i = 0; i < 200; i++)
    text[k++] = '\xc3', text[k++] = '\xa9';
  text[k] = 0;
  snprintf(fmt, sizeof fmt, "'%s'", text);
  otpc_buf_t a = {0}, b = {0};
  assert_int_equal(otpc_term_build(&a, NULL, fmt), 0);
  assert_int_equal(otpc_term_build(&b, NULL, "~a", text), 0);
  assert_int_equal(a.len, 403);
  assert_memory_equal(a.data, ((const uint8_t[]){118, 1, 144, 195, 169}), 5);
  assert_int_equal(b.len, a.len);
  assert_memory_equal(a.data, b.data, a.len);
  otpc_buf_free(&a);
  otpc_buf_free(&b);
  /* 256 characters is one too many. */
  memset(text, 'x', 256);
  text[256] = 0;
  otpc_err_t err;
  assert_int_equal(otpc_term_build(&a, &err, "~a", text), OTPC_EINVAL);
  snprintf(fmt, sizeof fmt, "'%s'", text);
  assert_int_equal(otpc_term_build(&a, &err, fmt), OTPC_EBADFMT);
  assert_int_equal(err.offset, 0);
  assert_int_equal(otpc_term_build(&a, &err, "~a", "\xc3"), OTPC_EINVAL);
  otpc_buf_free(&a);
}

static void test_tuples_and_maps(void **state) {
  (void)state;
  /* A 256-element tuple is a LARGE_TUPLE. */
  char fmt[2000];
  size_t k = 0;
  fmt[k++] = '{';
  for (int i = 0; i < 256; i++)
    k += (size_t)snprintf(fmt + k, sizeof fmt - k, "%sa", i ? "," : "");
  fmt[k++] = '}';
  fmt[k] = 0;
  otpc_buf_t b = {0};
  assert_int_equal(otpc_term_build(&b, NULL, fmt), 0);
  assert_int_equal(b.len, 5 + 256 * 3);
  assert_memory_equal(b.data, ((const uint8_t[]){105, 0, 0, 1, 0}), 5);
  assert_canonical(b.data, b.len);
  otpc_buf_free(&b);

  /* Over 32 pairs: the keys stay in the order given (the BEAM would use its
   * hash order). */
  k = 0;
  k += (size_t)snprintf(fmt + k, sizeof fmt - k, "#{");
  for (int i = 32; i >= 0; i--)
    k += (size_t)snprintf(fmt + k, sizeof fmt - k, "%d => x%s", i,
                          i ? ", " : "}");
  assert_int_equal(otpc_term_build(&b, NULL, fmt), 0);
  assert_memory_equal(b.data, ((const uint8_t[]){116, 0, 0, 0, 33, 97, 32}), 7);
  otpc_buf_free(&b);
  /* ... and a duplicate that brings it to 32 pairs sorts it. */
  k = 0;
  k += (size_t)snprintf(fmt + k, sizeof fmt - k, "#{");
  for (int i = 31; i >= 0; i--)
    k += (size_t)snprintf(fmt + k, sizeof fmt - k, "%d => x, ", i);
  k += (size_t)snprintf(fmt + k, sizeof fmt - k, "0 => y}");
  assert_int_equal(otpc_term_build(&b, NULL, fmt), 0);
  assert_memory_equal(b.data,
                      ((const uint8_t[]){116, 0, 0, 0, 32, 97, 0, 119, 1, 'y',
                                         97, 1, 119, 1, 'x'}),
                      15);
  assert_canonical(b.data, b.len);
  otpc_buf_free(&b);

  /* Duplicate keys from directives: the last value wins, as in Erlang. */
  otpc_buf_t exp = {0};
  assert_int_equal(
      otpc_term_build(&b, NULL, "#{~a => 1, b => 0, ~a => 2}", "k", "k"), 0);
  assert_int_equal(otpc_term_build(&exp, NULL, "#{b => 0, k => 2}"), 0);
  assert_int_equal(b.len, exp.len);
  assert_memory_equal(b.data, exp.data, b.len);
  otpc_buf_free(&b);
  otpc_buf_free(&exp);
}

static void test_embed(void **state) {
  (void)state;
  otpc_buf_t in = {0}, b = {0}, exp = {0};
  assert_int_equal(otpc_term_build(&in, NULL, "2"), 0);
  otpc_term_t two = {in.data, in.len};
  /* An embedded small integer still makes a string. */
  assert_int_equal(otpc_term_build(&b, NULL, "[1, ~t, 3]", &two), 0);
  assert_bytes(&b, 0, (const uint8_t[]){107, 0, 3, 1, 2, 3}, 6);
  otpc_buf_free(&b);
  /* A map key given by ~t is sorted like any other. */
  assert_int_equal(otpc_term_build(&b, NULL, "#{z => 1, ~t => 2}", &two), 0);
  assert_int_equal(otpc_term_build(&exp, NULL, "#{2 => 2, z => 1}"), 0);
  assert_int_equal(b.len, exp.len);
  assert_memory_equal(b.data, exp.data, b.len);
  otpc_buf_free(&b);
  otpc_buf_free(&exp);
  /* As a tail. */
  otpc_buf_t l = {0};
  assert_int_equal(otpc_term_build(&l, NULL, "[2, 3]"), 0);
  otpc_term_t lt = {l.data, l.len};
  assert_int_equal(otpc_term_build(&b, NULL, "[1 | ~t]", &lt), 0);
  assert_bytes(&b, 0, (const uint8_t[]){107, 0, 3, 1, 2, 3}, 6);
  otpc_buf_free(&b);
  otpc_buf_free(&l);
  otpc_buf_free(&in);
  /* Appending after existing content. */
  assert_int_equal(otpc_buf_append(&b, "xy", 2), 0);
  assert_int_equal(otpc_term_put_version(&b), 0);
  assert_int_equal(otpc_term_build(&b, NULL, "ok"), 0);
  assert_bytes(&b, 0, (const uint8_t[]){'x', 'y', 131, 119, 2, 'o', 'k'}, 7);
  otpc_buf_free(&b);
}

struct err_case {
  const char *fmt;
  int code;
  size_t offset;
  const char *msg;
};

static const struct err_case err_cases[] = {
    {"", OTPC_EBADFMT, 0, "offset 0: expected a term, got end of format"},
    {"{a, b]", OTPC_EBADFMT, 5,
     "offset 5: expected ',' or '}' in a tuple, got ']'"},
    {"{a, b, c ]", OTPC_EBADFMT, 9, "expected ',' or '}' in a tuple, got ']'"},
    {"[1, 2}", OTPC_EBADFMT, 5, "expected ',', '|' or ']' in a list, got '}'"},
    {"[1 | 2, 3]", OTPC_EBADFMT, 6, "expected ']' after the tail of a list"},
    {"[| 2]", OTPC_EBADFMT, 1, "expected a term, got '|'"},
    {"#{a => 1", OTPC_EBADFMT, 8, "expected ',' or '}' in a map, got end"},
    {"#{a := 1}", OTPC_EBADFMT, 4, "expected '=>' after a key in a map"},
    {"#[1]", OTPC_EBADFMT, 1, "expected '{' after '#'"},
    {"<<1, 256>>", OTPC_EBADFMT, 5, "expected a byte (0..255) in a binary"},
    {"<<a>>", OTPC_EBADFMT, 2, "expected a byte (0..255) or a string"},
    {"<<1 2>>", OTPC_EBADFMT, 4, "expected ',' or '>>' in a binary"},
    {"\"abc", OTPC_EBADFMT, 4,
     "expected a closing \" for the one at offset 0, got end of format"},
    {"'abc", OTPC_EBADFMT, 4, "expected a closing '"},
    {"<<\"ab>>", OTPC_EBADFMT, 7, "expected a closing \""},
    {"ok ok", OTPC_EBADFMT, 3,
     "expected the end of the format after the term, got 'o'"},
    {"~z", OTPC_EBADFMT, 1, "expected a directive letter"},
    {"- 1", OTPC_EBADFMT, 1, "expected a digit after '-'"},
    {"1.0e", OTPC_EBADFMT, 4, "expected exponent digits"},
    {"1.0e400", OTPC_EBADFMT, 0, "float literal out of range"},
    {"37#1", OTPC_EBADFMT, 0, "integer base must be 2..36"},
    {"2#102", OTPC_EBADFMT, 4, "expected digits of the integer's base"},
    {"16#", OTPC_EBADFMT, 3, "expected digits of the integer's base"},
    {"\"\\x{110000}\"", OTPC_EBADFMT, 1, "not a Unicode code point"},
    {"\"\\xg1\"", OTPC_EBADFMT, 3, "expected two hex digits after \\x"},
    {"$", OTPC_EBADFMT, 1, "expected a character, got end of format"},
    {"\"\xff\"", OTPC_EBADFMT, 1, "invalid UTF-8 in the format"},
    {"{a, Abc}", OTPC_EBADFMT, 4, "expected a term, got 'A'"},
    {"[1,\n 2,\n x y]", OTPC_EBADFMT, 11, "got 'y'"},
};

static void test_syntax_errors(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof err_cases / sizeof err_cases[0]; i++) {
    const struct err_case *c = &err_cases[i];
    otpc_buf_t b = {0};
    otpc_err_t err = {0};
    assert_int_equal(otpc_buf_append(&b, "keep", 4), 0);
    int rc = otpc_term_build(&b, &err, c->fmt);
    if (rc != c->code || err.code != c->code || err.offset != c->offset ||
        strstr(err.msg, c->msg) == NULL)
      fail_msg("format [%s]: rc %d offset %zu msg [%s]", c->fmt, rc, err.offset,
               err.msg);
    char prefix[32];
    snprintf(prefix, sizeof prefix, "offset %zu: ", c->offset);
    assert_memory_equal(err.msg, prefix, strlen(prefix));
    /* Nothing of the failed term is left behind. */
    assert_bytes(&b, 0, (const uint8_t *)"keep", 4);
    otpc_buf_free(&b);
  }
}

static void test_argument_errors(void **state) {
  (void)state;
  otpc_buf_t b = {0};
  otpc_err_t err;
  otpc_ref_t bad_ref = {0};
  assert_int_equal(otpc_buf_append(&b, "keep", 4), 0);
  /* Each fails after part of the term was written. */
  assert_int_equal(otpc_term_build(&b, &err, "{a, [b, ~a]}", (char *)NULL),
                   OTPC_EINVAL);
  assert_int_equal(err.offset, 8);
  assert_int_equal(otpc_term_build(&b, &err, "{a, ~f}", 0.0 / 0.0),
                   OTPC_EINVAL);
  assert_int_equal(otpc_term_build(&b, &err, "{a, ~f}", 1.0 / 0.0),
                   OTPC_EINVAL);
  assert_int_equal(otpc_term_build(&b, &err, "[x, ~N]", "12a"), OTPC_EINVAL);
  assert_int_equal(otpc_term_build(&b, &err, "[x, ~N]", ""), OTPC_EINVAL);
  assert_int_equal(otpc_term_build(&b, &err, "[x, ~s]", "\xe9"), OTPC_EINVAL);
  assert_int_equal(otpc_term_build(&b, &err, "[x | ~r]", &bad_ref),
                   OTPC_EINVAL);
  assert_int_equal(otpc_term_build(&b, &err, "#{x => ~A}", (otpc_atom_t)0),
                   OTPC_EINVAL);
  assert_int_equal(otpc_term_build(&b, &err, "{~t}", (otpc_term_t *)NULL),
                   OTPC_EINVAL);
  assert_int_equal(
      otpc_term_build(&b, &err, "{~b}", (const void *)NULL, (size_t)3),
      OTPC_EINVAL);
  assert_bytes(&b, 0, (const uint8_t *)"keep", 4);
  /* Nesting beyond the bound of formats and patterns. */
  enum { D = OTPC_TERM_FORMAT_MAX_DEPTH };
  char deep[2 * D + 10];
  memset(deep, '[', D + 1);
  memset(deep + D + 1, ']', D + 1);
  deep[2 * D + 2] = 0;
  assert_int_equal(otpc_term_build(&b, &err, deep), OTPC_ELIMIT);
  assert_int_equal(err.offset, D);
  assert_int_equal(otpc_term_build(&b, &err, deep + 1), OTPC_EBADFMT);
  deep[2 * D + 1] = 0;
  assert_int_equal(otpc_term_build(&b, &err, deep + 1), 0);
  b.len = 4;
  assert_bytes(&b, 0, (const uint8_t *)"keep", 4);
  otpc_buf_free(&b);
  assert_int_equal(otpc_term_build(NULL, &err, "ok"), OTPC_EINVAL);
}

#include "term_compare_fixtures.h"

static void check_encode(const uint8_t *in, size_t n, const uint8_t *exp,
                         size_t en) {
  otpc_buf_t ext, out = {0};
  otpc_term_t t = test_term_raw(&ext, in, n);
  assert_int_equal(otpc_buf_append(&out, "ab", 2), 0);
  assert_int_equal(otpc_term_encode(&out, t), 0);
  if (out.len != en + 2 || memcmp(out.data + 2, exp, en) != 0) {
    fprintf(stderr, "in:  ");
    for (size_t i = 0; i < n; i++)
      fprintf(stderr, "%d,", in[i]);
    fprintf(stderr, "\nout: ");
    for (size_t i = 2; i < out.len; i++)
      fprintf(stderr, "%d,", out.data[i]);
    fprintf(stderr, "\n");
    fail_msg("encode differs from erl");
  }
  otpc_buf_free(&ext);
  otpc_buf_free(&out);
}

static void test_encode(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof enc_cases / sizeof enc_cases[0]; i++)
    check_encode(enc_cases[i].in, enc_cases[i].in_len, enc_cases[i].out,
                 enc_cases[i].out_len);
  /* term_to_binary's default (latin-1 ATOM_EXT) encodings of the compare
   * fixtures re-encode to the minor_version 2 bytes. */
  for (size_t i = 0; i < sizeof cmp_cases / sizeof cmp_cases[0]; i++)
    check_encode(cmp_cases[i].v1, cmp_cases[i].v1_len, cmp_cases[i].v2,
                 cmp_cases[i].v2_len);
}

static void test_encode_deep(void **state) {
  (void)state;
  /* 100000 nested one-element lists of a LARGE_TUPLE: iterative, and
   * shrinks each tuple header. */
  size_t depth = 99999;
  otpc_buf_t in = {0}, exp = {0}, out = {0};
  otpc_term_put_version(&in);
  for (size_t i = 0; i < depth; i++)
    otpc_buf_append(&in, (const uint8_t[]){105, 0, 0, 0, 1}, 5);
  otpc_buf_append(&in, (const uint8_t[]){98, 0, 0, 0, 1}, 5);
  for (size_t i = 0; i < depth; i++)
    otpc_buf_append(&exp, (const uint8_t[]){104, 1}, 2);
  otpc_buf_append(&exp, (const uint8_t[]){97, 1}, 2);
  otpc_term_t t;
  assert_int_equal(otpc_term_from_ext(in.data, in.len, &t, NULL), 0);
  assert_int_equal(otpc_term_encode(&out, t), 0);
  assert_int_equal(out.len, exp.len);
  assert_memory_equal(out.data, exp.data, exp.len);
  otpc_buf_free(&in);
  otpc_buf_free(&exp);
  otpc_buf_free(&out);
}

/* ------------------------------------------------------------- the cache */

/* Builds fmt (which takes one int and one atom text) twice: the second
 * build replays the program compiled from the first; both give want. */
static void build_twice(const char *fmt, int i, const char *a,
                        const otpc_buf_t *want) {
  for (int round = 0; round < 2; round++) {
    otpc_buf_t b = {0};
    otpc_err_t err;
    int rc = otpc_term_build(&b, &err, fmt, i, a);
    if (rc != 0)
      fail_msg("%s (round %d): %s", fmt, round, err.msg);
    assert_bytes(&b, 0, want->data, want->len);
    otpc_buf_free(&b);
  }
}

/* A compiled format gives the bytes a fresh parse gives, whatever the
 * arguments; layouts that depend on them (lists that may be strings, maps)
 * are never compiled; a buffer rewritten with another format is another
 * format. Each expectation comes from a format copy at another address,
 * which the cache has not seen. */
static void test_cache_same_bytes(void **state) {
  (void)state;
  static const char *fmts[] = {"{~i, ~a}",
                               "[~a, {x, ~i}]",
                               "{ok, [y, ~a], \"s\", ~i}",
                               "[~i, ~a]",
                               "#{b => ~i, a => ~a}",
                               "[[~i] | ~a]",
                               "[x, ~i | ~a]",
                               "[{~i} | ~a]",
                               "{{}, [], <<1>>, ~a, -7, 1.5, $c, ~i}"};
  const int ints[] = {0, 255, 256, -1, 1 << 30};
  for (size_t f = 0; f < sizeof fmts / sizeof fmts[0]; f++)
    for (size_t k = 0; k < sizeof ints / sizeof ints[0]; k++) {
      char copy[128];
      snprintf(copy, sizeof copy, "%s", fmts[f]);
      otpc_buf_t want = {0};
      /* Argument order: ~i then ~a in every format but the reversed ones. */
      int i_first = strstr(fmts[f], "~i") < strstr(fmts[f], "~a");
      int rc = i_first ? otpc_term_build(&want, NULL, copy, ints[k], "z")
                       : otpc_term_build(&want, NULL, copy, "z", ints[k]);
      assert_int_equal(rc, 0);
      if (i_first) {
        build_twice(fmts[f], ints[k], "z", &want);
      } else {
        for (int round = 0; round < 2; round++) {
          otpc_buf_t b = {0};
          assert_int_equal(otpc_term_build(&b, NULL, fmts[f], "z", ints[k]), 0);
          assert_bytes(&b, 0, want.data, want.len);
          otpc_buf_free(&b);
        }
      }
      otpc_buf_free(&want);
    }
  /* A tuple of 300 elements has a 4-byte arity. */
  char big[1024];
  size_t n = (size_t)snprintf(big, sizeof big, "{~i");
  for (int e = 1; e < 300; e++)
    n += (size_t)snprintf(big + n, sizeof big - n, ",a");
  snprintf(big + n, sizeof big - n, ",~a}");
  char big2[1024];
  memcpy(big2, big, sizeof big);
  otpc_buf_t want = {0};
  assert_int_equal(otpc_term_build(&want, NULL, big2, 3, "z"), 0);
  assert_int_equal(want.data[0], 105); /* LARGE_TUPLE_EXT */
  build_twice(big, 3, "z", &want);
  otpc_buf_free(&want);
}

static void test_cache_rewritten_and_errors(void **state) {
  (void)state;
  char fmt[32];
  otpc_buf_t b = {0}, want = {0};
  otpc_err_t first, again;
  /* The same buffer holding formats that take their arguments in other
   * orders: a replay of the wrong one would read an int as a pointer. */
  for (int round = 0; round < 3; round++) {
    snprintf(fmt, sizeof fmt, "{~i, ~a}");
    assert_int_equal(otpc_term_build(&b, NULL, fmt, 1, "x"), 0);
    assert_int_equal(otpc_term_build(&want, NULL, "{1, x}"), 0);
    assert_bytes(&b, 0, want.data, want.len);
    otpc_buf_free(&b);
    otpc_buf_free(&want);
    snprintf(fmt, sizeof fmt, "{~a, ~i}");
    assert_int_equal(otpc_term_build(&b, NULL, fmt, "y", 2), 0);
    assert_int_equal(otpc_term_build(&want, NULL, "{y, 2}"), 0);
    assert_bytes(&b, 0, want.data, want.len);
    otpc_buf_free(&b);
    otpc_buf_free(&want);
  }
  /* An argument error in a replay: worded and placed as in a parse, and
   * the buffer keeps what it had. */
  static const char compiled[] = "{a, [b, ~a]}";
  char fresh[sizeof compiled];
  memcpy(fresh, compiled, sizeof compiled);
  assert_int_equal(otpc_term_build(&b, NULL, compiled, "ok"), 0);
  b.len = 0;
  assert_int_equal(otpc_buf_append(&b, "keep", 4), 0);
  assert_int_equal(otpc_term_build(&b, &first, fresh, (char *)NULL),
                   OTPC_EINVAL);
  assert_int_equal(otpc_term_build(&b, &again, compiled, (char *)NULL),
                   OTPC_EINVAL);
  assert_int_equal(again.offset, first.offset);
  assert_string_equal(again.msg, first.msg);
  assert_bytes(&b, 0, (const uint8_t *)"keep", 4);
  otpc_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cache_same_bytes),
      cmocka_unit_test(test_cache_rewritten_and_errors),
      cmocka_unit_test(test_literals),
      cmocka_unit_test(test_directives),
      cmocka_unit_test(test_huge_integers),
      cmocka_unit_test(test_string_limit),
      cmocka_unit_test(test_long_atoms),
      cmocka_unit_test(test_tuples_and_maps),
      cmocka_unit_test(test_embed),
      cmocka_unit_test(test_syntax_errors),
      cmocka_unit_test(test_argument_errors),
      cmocka_unit_test(test_encode),
      cmocka_unit_test(test_encode_deep),
      /* Again, now that every format that built has been compiled. */
      {"test_literals (compiled)", test_literals, NULL, NULL, NULL},
      {"test_directives (compiled)", test_directives, NULL, NULL, NULL},
      {"test_tuples_and_maps (compiled)", test_tuples_and_maps, NULL, NULL,
       NULL},
      {"test_embed (compiled)", test_embed, NULL, NULL, NULL},
      {"test_argument_errors (compiled)", test_argument_errors, NULL, NULL,
       NULL},
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
