/* Tests of otpc_term_match: captures, literals, wildcards, tails, maps,
 * integer ranges, error messages and pattern syntax errors. The terms are
 * the bytes of term_to_binary from Erlang/OTP 25 (see the tables below). */
#include <pthread.h>
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

/* erl -noshell -eval 'io:format("~w~n",[term_to_binary(T)]),halt().' */
static const uint8_t ok_42[] = {131, 104, 2, 100, 0, 2, 111, 107, 97, 42};
static const uint8_t ok_foo[] = {131, 104, 2, 100, 0,   2,   111,
                                 107, 100, 0, 3,   102, 111, 111};
static const uint8_t foo[] = {131, 100, 0, 3, 102, 111, 111};
static const uint8_t abc_tuple[] = {131, 104, 3,  100, 0, 1, 97, 100,
                                    0,   1,   98, 100, 0, 1, 99};
static const uint8_t empty_tuple[] = {131, 104, 0};
static const uint8_t i0[] = {131, 97, 0};
static const uint8_t i255[] = {131, 97, 255};
static const uint8_t i256[] = {131, 98, 0, 0, 1, 0};
static const uint8_t im1[] = {131, 98, 255, 255, 255, 255};
static const uint8_t i_int_max[] = {131, 98, 127, 255, 255, 255};
static const uint8_t i_int_max1[] = {131, 110, 4, 0, 0, 0, 0, 128};
static const uint8_t i_int_min[] = {131, 98, 128, 0, 0, 0};
static const uint8_t i_int_min1[] = {131, 110, 4, 1, 1, 0, 0, 128};
static const uint8_t i64_max[] = {131, 110, 8,   0,   255, 255,
                                  255, 255, 255, 255, 255, 127};
static const uint8_t i64_max1[] = {131, 110, 8, 0, 0, 0, 0, 0, 0, 0, 0, 128};
static const uint8_t u64_max[] = {131, 110, 8,   0,   255, 255,
                                  255, 255, 255, 255, 255, 255};
static const uint8_t u64_max1[] = {131, 110, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
static const uint8_t i64_min[] = {131, 110, 8, 1, 0, 0, 0, 0, 0, 0, 0, 128};
static const uint8_t i64_min1[] = {131, 110, 8, 1, 1, 0, 0, 0, 0, 0, 0, 128};
static const uint8_t big[] = {131, 110, 13,  0,   210, 10,  63,  78, 238,
                              224, 115, 195, 246, 15,  233, 142, 1};
static const uint8_t nbig[] = {131, 110, 13,  1,   210, 10,  63,  78, 238,
                               224, 115, 195, 246, 15,  233, 142, 1};
static const uint8_t f15[] = {131, 70, 63, 248, 0, 0, 0, 0, 0, 0};
static const uint8_t f0[] = {131, 70, 0, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t fm0[] = {131, 70, 128, 0, 0, 0, 0, 0, 0, 0};
static const uint8_t f1[] = {131, 70, 63, 240, 0, 0, 0, 0, 0, 0};
static const uint8_t f1e10[] = {131, 70, 66, 2, 160, 95, 32, 0, 0, 0};
static const uint8_t fneg[] = {131, 70, 191, 100, 122, 225, 71, 174, 20, 123};
static const uint8_t s_abc[] = {131, 107, 0, 3, 97, 98, 99};
static const uint8_t s_hello_l1[] = {131, 107, 0, 5, 104, 233, 108, 108, 111};
static const uint8_t s_nihon[] = {131, 108, 0,  0, 0, 2,   98, 0,  0,
                                  101, 229, 98, 0, 0, 103, 44, 106};
static const uint8_t s_nl[] = {131, 107, 0, 3, 97, 10, 98};
static const uint8_t nil[] = {131, 106};
static const uint8_t b_ab[] = {131, 109, 0, 0, 0, 2, 97, 98};
static const uint8_t b_123[] = {131, 109, 0, 0, 0, 3, 1, 2, 3};
static const uint8_t b_empty[] = {131, 109, 0, 0, 0, 0};
static const uint8_t b_hello_u8[] = {131, 109, 0,   0,   0,   6,
                                     104, 195, 169, 108, 108, 111};
static const uint8_t bits[] = {131, 77, 0, 0, 0, 1, 3, 32};
static const uint8_t b_ff[] = {131, 109, 0, 0, 0, 1, 255};
static const uint8_t nested[] = {131, 104, 2,   100, 0, 2,   111, 107,
                                 104, 2,   100, 0,   6, 110, 101, 115,
                                 116, 101, 100, 107, 0, 2,   1,   2};
static const uint8_t l_abc[] = {131, 108, 0, 0,  0,   3, 100, 0,  1,  97,
                                100, 0,   1, 98, 100, 0, 1,   99, 106};
static const uint8_t l_improper[] = {131, 108, 0,  0,   0, 1, 100,
                                     0,   1,   97, 100, 0, 1, 98};
static const uint8_t l_tail[] = {131, 108, 0,   0, 0, 3,   97, 1,   97, 2,
                                 97,  3,   100, 0, 4, 116, 97, 105, 108};
static const uint8_t l_mixed[] = {131, 108, 0, 0,   0,   4,   97,
                                  1,   100, 0, 3,   102, 111, 111,
                                  107, 0,   1, 120, 104, 0,   106};
static const uint8_t m_person[] = {131, 116, 0,  0,  0,   2, 100, 0,   3,  97,
                                   103, 101, 97, 42, 100, 0, 4,   110, 97, 109,
                                   101, 109, 0,  0,  0,   3, 106, 111, 101};
static const uint8_t m_nested[] = {131, 116, 0, 0, 0,   1, 100, 0,  1,  97, 116,
                                   0,   0,   0, 1, 100, 0, 1,   98, 97, 1};
static const uint8_t m_mapkey[] = {131, 116, 0, 0,  0,  1, 116, 0, 0, 0,  1,
                                   100, 0,   1, 97, 97, 1, 100, 0, 1, 120};
static const uint8_t m_numkeys[] = {
    131, 116, 0, 0, 0, 2, 97, 1,   100, 0, 3,   105, 110, 116, 70, 63,
    240, 0,   0, 0, 0, 0, 0,  100, 0,   5, 102, 108, 111, 97,  116};
static const uint8_t m_empty[] = {131, 116, 0, 0, 0, 0};
static const uint8_t m_reply[] = {
    131, 104, 2,   100, 0,   2,  111, 107, 116, 0, 0,   0,
    2,   100, 0,   4,   110, 97, 109, 101, 104, 2, 100, 0,
    4,   117, 115, 101, 114, 97, 7,   100, 0,   4, 116, 97,
    103, 115, 108, 0,   0,   0,  1,   100, 0,   1, 120, 106};
static const uint8_t m_fzero[] = {131, 116, 0, 0, 0,   1, 70, 128, 0,   0,  0,
                                  0,   0,   0, 0, 100, 0, 3,  110, 101, 103};
static const uint8_t pid[] = {131, 88, 100, 0,   13,  110, 111, 110, 111, 100,
                              101, 64, 110, 111, 104, 111, 115, 116, 0,   0,
                              0,   9,  0,   0,   0,   0,   0,   0,   0,   0};
static const uint8_t ref[] = {131, 90,  0,   3,   100, 0,   13,  110, 111,
                              110, 111, 100, 101, 64,  110, 111, 104, 111,
                              115, 116, 0,   0,   0,   0,   0,   3,   237,
                              199, 69,  92,  0,   1,   251, 173, 231, 161};
static const uint8_t port[] = {131, 89,  100, 0,   13,  110, 111, 110, 111,
                               100, 101, 64,  110, 111, 104, 111, 115, 116,
                               0,   0,   0,   0,   0,   0,   0,   0};
static const uint8_t a_space[] = {131, 100, 0,   11,  104, 101, 108, 108,
                                  111, 32,  119, 111, 114, 108, 100};
static const uint8_t a_e[] = {131, 100, 0, 1, 233};
static const uint8_t a_empty[] = {131, 100, 0, 0};
static const uint8_t a_true[] = {131, 100, 0, 4, 116, 114, 117, 101};
static const uint8_t a_quote[] = {131, 100, 0, 4, 105, 116, 39, 115};
static const uint8_t deep[] = {
    131, 104, 2,   100, 0,   1,   97,  104, 2,   100, 0,   1,   98,
    104, 2,   100, 0,   1,   99,  104, 2,   100, 0,   1,   100, 104,
    2,   100, 0,   1,   101, 108, 0,   0,   0,   3,   97,  1,   97,
    2,   116, 0,   0,   0,   1,   100, 0,   1,   107, 104, 3,   100,
    0,   1,   120, 100, 0,   1,   121, 100, 0,   1,   122, 106};
static const uint8_t t5[] = {131, 104, 5, 97, 1, 97, 2, 97, 3, 97, 4, 97, 5};
static const uint8_t t9[] = {131, 104, 9,  97, 1,  97, 2,  97, 3,  97, 4,
                             97,  5,   97, 6,  97, 7,  97, 8,  97, 9};
static const uint8_t msg[] = {
    131, 104, 3,   100, 0,   9,   36,  103, 101, 110, 95,  99,  97,  108,
    108, 104, 2,   88,  100, 0,   13,  110, 111, 110, 111, 100, 101, 64,
    110, 111, 104, 111, 115, 116, 0,   0,   0,   9,   0,   0,   0,   0,
    0,   0,   0,   0,   90,  0,   3,   100, 0,   13,  110, 111, 110, 111,
    100, 101, 64,  110, 111, 104, 111, 115, 116, 0,   0,   0,   0,   0,
    3,   237, 200, 69,  92,  0,   1,   251, 173, 231, 161, 104, 2,   100,
    0,   3,   103, 101, 116, 107, 0,   3,   107, 101, 121};
static const uint8_t unicode_l[] = {131, 108, 0,   0,   0,   3,  98,  0,
                                    0,   101, 229, 98,  0,   0,  103, 44,
                                    98,  0,   0,   138, 158, 106};
static const uint8_t bad_cp_list[] = {131, 108, 0, 0,   0,   2,   97, 1,
                                      100, 0,   3, 102, 111, 111, 106};
static const uint8_t ok_foo_v2[] = {131, 104, 2, 119, 2,   111,
                                    107, 119, 3, 102, 111, 111};
static const uint8_t a_e_v2[] = {131, 119, 2, 195, 169};
static const uint8_t m_person_v2[] = {131, 116, 0,  0,  0,   2, 119, 3,   97,
                                      103, 101, 97, 42, 119, 4, 110, 97,  109,
                                      101, 109, 0,  0,  0,   3, 106, 111, 101};

/* LIST_EXT forms, which term_to_binary never writes for small integers. */
static const uint8_t l_abc_list_ext[] = {131, 108, 0,  0,  0,  3,  97,
                                         97,  97,  98, 97, 99, 106};
static const uint8_t l_hello_list_ext[] = {
    131, 108, 0, 0, 0, 5, 97, 104, 97, 233, 97, 108, 97, 108, 97, 111, 106};

#define T(name) test_term(name, sizeof name)

#define MATCH(t, ...)                                                          \
  do {                                                                         \
    otpc_err_t e_;                                                             \
    int rc_ = otpc_term_match((t), &e_, __VA_ARGS__);                          \
    if (rc_ != 0)                                                              \
      fail_msg("%s should match: %d %s", #__VA_ARGS__, rc_, e_.msg);           \
  } while (0)

#define NOMATCH(t, ...)                                                        \
  do {                                                                         \
    otpc_err_t e_;                                                             \
    int rc_ = otpc_term_match((t), &e_, __VA_ARGS__);                          \
    if (rc_ != OTPC_ENOMATCH)                                                  \
      fail_msg("%s should not match: %d", #__VA_ARGS__, rc_);                  \
    if (e_.code != OTPC_ENOMATCH || e_.msg[0] == 0)                            \
      fail_msg("%s: no message", #__VA_ARGS__);                                \
  } while (0)

/* A pattern without captures fails with exactly this message. */
static void check_msg(otpc_term_t t, const char *pattern, const char *msg) {
  otpc_err_t err;
  int rc = otpc_term_match(t, &err, pattern);
  if (rc != OTPC_ENOMATCH)
    fail_msg("%s: rc %d", pattern, rc);
  assert_int_equal(err.code, OTPC_ENOMATCH);
  assert_string_equal(err.msg, msg);
}

/* A pattern syntax error at this offset, whatever the term. */
static void check_bad(const char *pattern, size_t offset) {
  otpc_err_t err;
  int rc = otpc_term_match(T(ok_42), &err, pattern);
  if (rc != OTPC_EBADFMT || err.offset != offset)
    fail_msg("pattern %s: rc %d offset %zu (want %zu): %s", pattern, rc,
             err.offset, offset, err.msg);
  rc = otpc_term_match(T(foo), &err, pattern);
  assert_int_equal(rc, OTPC_EBADFMT);
  assert_int_equal(err.offset, offset);
  assert_non_null(strstr(err.msg, "bad pattern"));
}

/* Whether a view points inside the term's bytes. */
static int inside(otpc_term_t outer, const void *p, size_t len) {
  const uint8_t *q = p;
  return q >= outer.p && q + len <= outer.p + outer.len;
}

/* ------------------------------------------------------------- captures */

static void test_capture_integers(void **state) {
  (void)state;
  int i = 0;
  long l = 0;
  int64_t I = 0;
  uint64_t U = 0;
  MATCH(T(ok_42), "{ok, ~i}", &i);
  assert_int_equal(i, 42);
  MATCH(T(ok_42), "{ok, ~l}", &l);
  assert_int_equal(l, 42);
  MATCH(T(ok_42), "{ok, ~I}", &I);
  assert_int_equal(I, 42);
  MATCH(T(ok_42), "{ok, ~U}", &U);
  assert_int_equal(U, 42);
  MATCH(T(im1), "~i", &i);
  assert_int_equal(i, -1);
  MATCH(T(i_int_max), "~i", &i);
  assert_int_equal(i, 2147483647);
  MATCH(T(i_int_min), "~i", &i);
  assert_true(i == -2147483647 - 1);
  MATCH(T(i64_max), "~I", &I);
  assert_true(I == INT64_MAX);
  MATCH(T(i64_min), "~I", &I);
  assert_true(I == INT64_MIN);
  MATCH(T(u64_max), "~U", &U);
  assert_true(U == UINT64_MAX);
  MATCH(T(i64_max1), "~U", &U);
  assert_true(U == (uint64_t)INT64_MAX + 1);
  MATCH(T(i_int_max1), "~l", &l);
  assert_true(l == 2147483648L);
}

static void test_capture_ranges(void **state) {
  (void)state;
  int i = 7;
  int64_t I;
  uint64_t U;
  NOMATCH(T(i_int_max1), "~i", &i);
  NOMATCH(T(i_int_min1), "~i", &i);
  NOMATCH(T(i64_max1), "~I", &I);
  NOMATCH(T(i64_min1), "~I", &I);
  NOMATCH(T(big), "~I", &I);
  NOMATCH(T(im1), "~U", &U);
  NOMATCH(T(u64_max1), "~U", &U);
  NOMATCH(T(nbig), "~U", &U);
  NOMATCH(T(f1), "~i", &i); /* 1.0 is not an integer */
  assert_int_equal(i, 7);

  otpc_err_t err;
  assert_int_equal(otpc_term_match(T(i_int_max1), &err, "{~i}", &i),
                   OTPC_ENOMATCH); /* not a tuple first */
  assert_int_equal(otpc_term_match(T(i_int_max1), &err, "~i", &i),
                   OTPC_ENOMATCH);
  assert_string_equal(err.msg,
                      "expected an integer that fits in int, got 2147483648");
  assert_int_equal(otpc_term_match(T(im1), &err, "~U", &U), OTPC_ENOMATCH);
  assert_string_equal(err.msg, "expected an integer that fits in uint64_t, "
                               "got -1");
  assert_int_equal(otpc_term_match(T(big), &err, "~I", &I), OTPC_ENOMATCH);
  assert_string_equal(err.msg, "expected an integer that fits in int64_t, got "
                               "123456789012345678901234567890");
}

static void test_capture_atom_float(void **state) {
  (void)state;
  otpc_atom_t a = OTPC_ATOM_NONE, want;
  double d = 0;
  MATCH(T(ok_foo), "{ok, ~a}", &a);
  assert_int_equal(otpc_atom("foo", &want), 0);
  assert_int_equal(a, want);
  MATCH(T(a_e), "~a", &a);
  assert_string_equal(otpc_atom_text(a, NULL), "\xc3\xa9");
  MATCH(T(f15), "~f", &d);
  assert_true(d == 1.5);
  MATCH(T(fneg), "~f", &d);
  assert_true(d == -2.5e-3);
  NOMATCH(T(i0), "~f", &d); /* 0 is not a float */
  NOMATCH(T(s_abc), "~a", &a);
}

static void test_capture_binary_term(void **state) {
  (void)state;
  const uint8_t *p = NULL;
  size_t len = 99;
  otpc_term_t t = T(b_ab), v;
  MATCH(t, "~b", &p, &len);
  assert_int_equal(len, 2);
  assert_memory_equal(p, "ab", 2);
  assert_true(inside(t, p, len)); /* a view, not a copy */
  MATCH(T(b_empty), "~b", &p, &len);
  assert_int_equal(len, 0);
  NOMATCH(T(bits), "~b", &p, &len); /* a bitstring is not a binary */
  NOMATCH(T(s_abc), "~b", &p, &len);

  t = T(nested);
  MATCH(t, "{ok, ~t}", &v);
  assert_true(inside(t, v.p, v.len));
  assert_int_equal(otpc_term_type(v), OTPC_T_TUPLE);
  MATCH(v, "{nested, [1, 2]}");
  MATCH(t, "~t", &v);
  assert_ptr_equal(v.p, t.p);
  assert_int_equal(v.len, t.len);
  t = T(l_tail);
  MATCH(t, "[~t | _]", &v);
  assert_true(inside(t, v.p, v.len));
  MATCH(v, "1");
}

static void test_capture_string(void **state) {
  (void)state;
  char buf[16];
  MATCH(T(s_abc), "~s", buf, sizeof buf);
  assert_string_equal(buf, "abc");
  MATCH(test_term(l_abc_list_ext, sizeof l_abc_list_ext), "~s", buf,
        sizeof buf);
  assert_string_equal(buf, "abc");
  MATCH(T(nil), "~s", buf, sizeof buf);
  assert_string_equal(buf, "");
  MATCH(T(b_ab), "~s", buf, sizeof buf);
  assert_string_equal(buf, "ab");
  MATCH(T(s_hello_l1), "~s", buf, sizeof buf);
  assert_string_equal(buf, "h\xc3\xa9llo");
  MATCH(T(b_hello_u8), "~s", buf, sizeof buf);
  assert_string_equal(buf, "h\xc3\xa9llo");
  MATCH(T(unicode_l), "~s", buf, sizeof buf);
  assert_string_equal(buf, "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e");
  /* Exactly full: 3 bytes and the NUL in 4. */
  MATCH(T(s_abc), "~s", buf, (size_t)4);
  NOMATCH(T(s_abc), "~s", buf, (size_t)3);
  NOMATCH(T(b_ff), "~s", buf, sizeof buf);        /* not UTF-8 */
  NOMATCH(T(bad_cp_list), "~s", buf, sizeof buf); /* not a string */
  NOMATCH(T(l_improper), "~s", buf, sizeof buf);
  NOMATCH(T(foo), "~s", buf, sizeof buf);

  otpc_err_t err;
  assert_int_equal(otpc_term_match(T(b_hello_u8), &err, "~s", buf, (size_t)5),
                   OTPC_ENOMATCH);
  assert_string_equal(err.msg, "expected a string that fits in the ~s buffer "
                               "of 5 bytes (it needs 7 with the NUL), got "
                               "<<\"h\xc3\xa9llo\"/utf8>>");
}

static void test_capture_pid_ref_port(void **state) {
  (void)state;
  otpc_pid_t pv;
  otpc_ref_t rv;
  otpc_port_t qv;
  MATCH(T(pid), "~p", &pv);
  assert_string_equal(otpc_atom_text(pv.node, NULL), "nonode@nohost");
  MATCH(T(ref), "~r", &rv);
  assert_int_equal(rv.len, 3);
  MATCH(T(port), "~P", &qv);
  assert_string_equal(otpc_atom_text(qv.node, NULL), "nonode@nohost");
  NOMATCH(T(pid), "~r", &rv);
  NOMATCH(T(ref), "~P", &qv);
  NOMATCH(T(port), "~p", &pv);

  char key[8];
  MATCH(T(msg), "{'$gen_call', {~p, ~r}, {get, ~s}}", &pv, &rv, key,
        sizeof key);
  assert_string_equal(key, "key");
}

static void test_capture_many_and_null(void **state) {
  (void)state;
  otpc_atom_t a;
  int i;
  char s[8];
  const uint8_t *p;
  size_t len;
  MATCH(T(l_mixed), "[~i, ~a, ~s, ~t]", &i, &a, s, sizeof s, NULL);
  assert_int_equal(i, 1);
  assert_string_equal(s, "x");
  MATCH(T(m_person), "#{name := ~b, age := ~i}", &p, &len, &i);
  assert_int_equal(i, 42);
  assert_int_equal(len, 3);
  /* NULL capture pointers check the type only. */
  MATCH(T(ok_42), "{~a, ~i}", NULL, NULL);
  NOMATCH(T(ok_foo), "{~a, ~i}", NULL, NULL);
  MATCH(T(b_ab), "~b", NULL, NULL);
  MATCH(T(s_abc), "~s", NULL, (size_t)0);
}

/* ------------------------------------------------------------- literals */

static void test_literal_atoms(void **state) {
  (void)state;
  MATCH(T(foo), "foo");
  MATCH(T(foo), "'foo'");
  MATCH(T(foo), "  foo\n");
  NOMATCH(T(foo), "fo");
  NOMATCH(T(foo), "food");
  NOMATCH(T(foo), "\"foo\"");
  MATCH(T(a_space), "'hello world'");
  MATCH(T(a_e), "'\xc3\xa9'"); /* UTF-8 in the pattern */
  MATCH(T(a_e), "'\\x{e9}'");  /* escapes */
  MATCH(T(a_e), "'\\351'");    /* octal */
  MATCH(T(a_e_v2), "'\\xe9'"); /* and as ATOM_UTF8_EXT */
  MATCH(T(a_empty), "''");
  MATCH(T(a_true), "true");
  MATCH(T(a_quote), "'it\\'s'");
  MATCH(T(ok_foo_v2), "{ok, foo}");
  NOMATCH(T(a_empty), "'a'");
}

static void test_literal_integers(void **state) {
  (void)state;
  MATCH(T(i0), "0");
  MATCH(T(i0), "-0");
  MATCH(T(i255), "255");
  MATCH(T(i255), "16#ff");
  MATCH(T(i255), "16#FF");
  MATCH(T(i255), "2#1111_1111");
  MATCH(T(i256), "256");
  MATCH(T(im1), "-1");
  MATCH(T(im1), "-16#1");
  MATCH(T(i_int_min1), "-2147483649");
  MATCH(T(u64_max), "18446744073709551615");
  MATCH(T(u64_max), "16#ffff_ffff_ffff_ffff");
  MATCH(T(u64_max1), "18446744073709551616");
  MATCH(T(i64_min), "-9223372036854775808");
  MATCH(T(big), "123456789012345678901234567890");
  MATCH(T(big), "123_456_789_012_345_678_901_234_567_890");
  MATCH(T(nbig), "-123456789012345678901234567890");
  MATCH(T(big), "36#byw97um9s91dlz68tsi");
  MATCH(T(big), "0_36#BYW97UM9S91DLZ68TSI");
  NOMATCH(T(big), "123456789012345678901234567891");
  NOMATCH(T(big), "-123456789012345678901234567890");
  NOMATCH(T(nbig), "123456789012345678901234567890");
  NOMATCH(T(big), "1");
  NOMATCH(T(i0), "123456789012345678901234567890");
  NOMATCH(T(u64_max), "18446744073709551616");
  NOMATCH(T(i255), "-255");
  NOMATCH(T(i256), "255");
  NOMATCH(T(f1), "1"); /* 1 =:= 1.0 is false */
  NOMATCH(T(foo), "1");
  MATCH(T(ok_42), "{ok, $*}");
  MATCH(T(i255), "$\\377");
}

static void test_literal_floats(void **state) {
  (void)state;
  MATCH(T(f15), "1.5");
  MATCH(T(f15), "15.0e-1");
  MATCH(T(f1), "1.0");
  MATCH(T(f1e10), "1.0e10");
  MATCH(T(f1e10), "1.0E+10");
  MATCH(T(f1e10), "10_000.0e6");
  MATCH(T(fneg), "-2.5e-3");
  NOMATCH(T(f1), "1.5");
  NOMATCH(T(i0), "0.0");
  NOMATCH(T(f0), "0");
  /* OTP 25: `0.0 = -0.0` matches (and 0.0 =:= -0.0 is true). */
  MATCH(T(f0), "0.0");
  MATCH(T(f0), "-0.0");
  MATCH(T(fm0), "0.0");
  MATCH(T(fm0), "-0.0");
  MATCH(T(m_fzero), "#{0.0 := neg}");
}

static void test_literal_strings(void **state) {
  (void)state;
  otpc_term_t list_ext = test_term(l_abc_list_ext, sizeof l_abc_list_ext);
  MATCH(T(s_abc), "\"abc\"");
  MATCH(list_ext, "\"abc\""); /* LIST_EXT and STRING_EXT alike */
  MATCH(T(s_abc), "[97, 98, 99]");
  MATCH(list_ext, "[97, 98, 99]");
  MATCH(T(s_abc), "[$a, $b | \"c\"]");
  MATCH(list_ext, "[$a | \"bc\"]");
  MATCH(T(s_abc), "[$a, _, _]");
  MATCH(T(nil), "\"\"");
  MATCH(T(nil), "[]");
  MATCH(T(s_hello_l1), "\"h\xc3\xa9llo\"");
  MATCH(test_term(l_hello_list_ext, sizeof l_hello_list_ext),
        "\"h\\x{e9}llo\"");
  MATCH(T(s_nihon), "\"\xe6\x97\xa5\xe6\x9c\xac\"");
  MATCH(T(s_nihon), "[16#65e5, 26412]");
  MATCH(T(s_nl), "\"a\\nb\"");
  MATCH(T(s_nl), "[$a, $\\n, $b]");
  NOMATCH(T(s_abc), "\"ab\"");
  NOMATCH(T(s_abc), "\"abcd\"");
  NOMATCH(T(s_abc), "\"abd\"");
  NOMATCH(list_ext, "\"ab\"");
  NOMATCH(T(s_abc), "\"\"");
  NOMATCH(T(nil), "\"a\"");
  NOMATCH(T(b_ab), "\"ab\""); /* a binary is not a string */
  NOMATCH(T(l_improper), "\"a\"");
}

static void test_literal_binaries(void **state) {
  (void)state;
  MATCH(T(b_ab), "<<\"ab\">>");
  MATCH(T(b_ab), "<<97, 98>>");
  MATCH(T(b_ab), "<<$a, \"b\">>");
  MATCH(T(b_ab), "<< \"a\" , \"b\" >>");
  MATCH(T(b_123), "<<1,2,3>>");
  MATCH(T(b_123), "<<\"\\1\\2\\3\">>");
  MATCH(T(b_empty), "<<>>");
  MATCH(T(b_empty), "<<\"\">>");
  MATCH(T(b_ff), "<<255>>");
  MATCH(T(b_ff), "<<16#ff>>");
  MATCH(T(b_ff), "<<\"\\xff\">>");
  /* Characters in a binary stand for their UTF-8 bytes. */
  MATCH(T(b_hello_u8), "<<\"h\xc3\xa9llo\">>");
  MATCH(T(b_hello_u8), "<<\"h\\xc3\\xa9llo\">>");
  NOMATCH(T(b_ab), "<<\"a\">>");
  NOMATCH(T(b_ab), "<<\"abc\">>");
  NOMATCH(T(b_ab), "<<>>");
  NOMATCH(T(b_empty), "<<0>>");
  NOMATCH(T(bits), "<<>>");
  NOMATCH(T(bits), "<<32>>");
  NOMATCH(T(s_abc), "<<\"abc\">>");
}

static void test_literal_containers(void **state) {
  (void)state;
  MATCH(T(abc_tuple), "{a, b, c}");
  MATCH(T(empty_tuple), "{}");
  MATCH(T(nested), "{ok, {nested, [1, 2]}}");
  MATCH(T(nested), "{ok, {nested, [1, 2 | []]}}");
  MATCH(T(l_abc), "[a, b, c]");
  MATCH(T(l_abc), "[a | [b | [c]]]");
  MATCH(T(l_improper), "[a | b]");
  MATCH(T(l_tail), "[1, 2, 3 | tail]");
  MATCH(T(deep), "{a, {b, {c, {d, {e, [1, 2, #{k => {x, y, z}}]}}}}}");
  NOMATCH(T(abc_tuple), "{a, b}");
  NOMATCH(T(abc_tuple), "{a, b, c, d}");
  NOMATCH(T(abc_tuple), "{a, c, b}");
  NOMATCH(T(empty_tuple), "[]");
  NOMATCH(T(nil), "{}");
  NOMATCH(T(l_abc), "[a, b]");
  NOMATCH(T(l_improper), "[a]");
  NOMATCH(T(l_abc), "[a, b | c]");
  NOMATCH(T(nil), "[_ | _]");
}

/* ------------------------------------------------------ wildcards, tails */

static void test_wildcards(void **state) {
  (void)state;
  MATCH(T(foo), "_");
  MATCH(T(big), "_");
  MATCH(T(nested), "{_, _}");
  MATCH(T(nested), "{_Tag, {_, _Elems}}");
  MATCH(T(l_abc), "[_, _, _]");
  MATCH(T(l_abc), "[_ | _]");
  MATCH(T(l_abc), "[a | _]");
  MATCH(T(l_improper), "[_ | _]");
  MATCH(T(m_person), "#{name := _}");
  NOMATCH(T(nil), "[_]");
  NOMATCH(T(l_abc), "[_, _]");
  NOMATCH(T(foo), "{_}");
}

static void test_tails(void **state) {
  (void)state;
  char buf[8];
  otpc_term_t h, t;
  int i;
  MATCH(T(l_tail), "[1 | [2 | [3 | tail]]]");
  MATCH(T(l_tail), "[1, 2 | [3 | _]]");
  MATCH(T(l_tail), "[_, _, _ | ~a]", NULL);
  MATCH(T(l_abc), "[~t | _]", &h);
  MATCH(h, "a");
  MATCH(T(s_abc), "[_, ~t | _]", &h); /* a STRING_EXT element */
  MATCH(h, "$b");
  MATCH(T(l_improper), "[_ | ~a]", NULL);
  /* The tail after all elements is a term: ~t may view it there. */
  MATCH(T(s_abc), "[$a | ~s]", buf, sizeof buf);
  assert_string_equal(buf, "bc");
  MATCH(test_term(l_abc_list_ext, sizeof l_abc_list_ext), "[_, _ | ~s]", buf,
        sizeof buf);
  assert_string_equal(buf, "c");
  MATCH(T(s_abc), "[_, _, _ | ~s]", buf, sizeof buf);
  assert_string_equal(buf, "");
  MATCH(T(l_tail), "[~i | _]", &i);
  assert_int_equal(i, 1);
  NOMATCH(T(l_tail), "[1 | ~s]", buf, sizeof buf); /* improper */
  NOMATCH(T(l_abc), "[a | ~i]", &i);
  NOMATCH(T(l_abc), "[a | []]");
  NOMATCH(T(l_abc), "[a | {b, c}]");
  NOMATCH(T(l_abc), "[a, b, c, d | _]");
  NOMATCH(T(l_improper), "[a | c]");
  (void)t;
}

/* ------------------------------------------------------------------ maps */

static void test_maps(void **state) {
  (void)state;
  int age;
  MATCH(T(m_person), "#{}");
  MATCH(T(m_empty), "#{}");
  MATCH(T(m_person), "#{name := <<\"joe\">>}");
  MATCH(T(m_person), "#{age => 42}");
  MATCH(T(m_person), "#{age := ~i, name := _}", &age);
  assert_int_equal(age, 42);
  MATCH(T(m_person_v2), "#{name := <<\"joe\">>, age := 42}");
  MATCH(T(m_nested), "#{a := #{b := 1}}");
  MATCH(T(m_nested), "#{a := #{}}");
  MATCH(T(m_mapkey), "#{#{a => 1} := x}");
  MATCH(T(m_numkeys), "#{1 := int, 1.0 := float}");
  MATCH(T(m_reply), "{ok, #{name := {user, ~i}, tags := [x]}}", &age);
  assert_int_equal(age, 7);
  NOMATCH(T(m_person), "#{email := _}");
  NOMATCH(T(m_person), "#{age := 43}");
  NOMATCH(T(m_person), "#{age := 42.0}");
  NOMATCH(T(m_person), "#{42 := age}");
  NOMATCH(T(m_nested), "#{a := #{c := 1}}");
  NOMATCH(T(m_mapkey), "#{#{} := x}"); /* a key is compared exactly */
  NOMATCH(T(m_numkeys), "#{2 := _}");
  NOMATCH(T(m_empty), "#{a := _}");
  NOMATCH(T(foo), "#{}");
  NOMATCH(T(nil), "#{}");
  /* 1 and 1.0 are distinct keys. */
  otpc_atom_t a, want;
  MATCH(T(m_numkeys), "#{1.0 := ~a}", &a);
  assert_int_equal(otpc_atom("float", &want), 0);
  assert_int_equal(a, want);
}

/* ------------------------------------------------------------ messages */

static void test_messages(void **state) {
  (void)state;
  int i;
  otpc_err_t err;
  assert_int_equal(otpc_term_match(T(ok_foo), &err, "{ok, ~i}", &i),
                   OTPC_ENOMATCH);
  assert_string_equal(err.msg, "element 2 of the tuple at {_, HERE}: "
                               "expected an integer, got foo");
  assert_int_equal(err.offset, 5);
  check_msg(T(abc_tuple), "{a, b}",
            "expected a tuple of arity 2, got one of arity 3: {a,b,c}");
  check_msg(T(foo), "{a, b}", "expected a tuple of arity 2, got foo");
  check_msg(T(foo), "bar", "expected bar, got foo");
  check_msg(T(m_person), "#{name := _, email := _}",
            "expected a map with key 'email', got "
            "#{age => 42,name => <<\"joe\">>}");
  check_msg(T(m_person), "#{age := 43}",
            "key 'age' of the map at #{age := HERE}: expected 43, got 42");
  check_msg(T(m_reply), "{ok, #{name := {user, ~a}}}",
            "element 2 of the tuple at {_, #{name := {_, HERE}}}: "
            "expected an atom, got 7");
  check_msg(T(l_abc), "[a, b]",
            "expected a list of 2 elements, got one of 3: [a,b,c]");
  check_msg(T(l_abc), "[a, b, c, d | _]",
            "expected a list of at least 4 elements, got one of 3: [a,b,c]");
  check_msg(T(l_abc), "[a, x, c]",
            "element 2 of the list at [_, HERE, _]: expected x, got b");
  check_msg(T(l_improper), "[a]",
            "the tail of the list at [_ | HERE]: expected [], got b");
  check_msg(T(l_tail), "[1, 2 | [4 | _]]",
            "element 1 of the list at [_, _ | [HERE | _]]: expected 4, "
            "got 3");
  check_msg(T(l_tail), "[1, 2 | ~i]",
            "the tail of the list at [_, _ | HERE]: expected an integer, "
            "got [3|tail]");
  check_msg(T(t9), "{_, _, _, _, _, _, _, x, _}",
            "element 8 of the tuple at {..., HERE, _}: expected x, got 8");
  check_msg(T(t5), "{_, 0, _, _, _}",
            "element 2 of the tuple at {_, HERE, ...}: expected 0, got 2");
  check_msg(T(s_abc), "\"abd\"", "expected \"abd\", got \"abc\"");
  check_msg(T(b_ab), "<<\"ab\", 0>>", "expected <<\"ab\", 0>>, got <<\"ab\">>");
  check_msg(T(f0), "1.0", "expected 1.0, got 0.0");
  check_msg(T(deep), "{a, {b, {c, {d, {e, [1, 2, #{k => {x, y, q}}]}}}}}",
            "element 3 of the tuple at {_, {_, {_, {_, {_, [_, _, #{k := {_, "
            "_, HERE}}]}}}}}: expected q, got z");
  /* A deep place keeps the innermost levels of the pointer. */
  char nest[200], pat[200];
  size_t k = 0;
  for (int d = 1; d <= 20; d++)
    k += (size_t)snprintf(nest + k, sizeof nest - k, "{%d, ", d);
  memcpy(pat, nest, k);
  memcpy(nest + k, "21", 2);
  memcpy(pat + k, "22", 2);
  memset(nest + k + 2, '}', 20);
  memset(pat + k + 2, '}', 20);
  nest[k + 22] = pat[k + 22] = 0;
  otpc_buf_t b = {NULL, 0, 0};
  assert_int_equal(otpc_term_build(&b, &err, nest), 0);
  otpc_term_t t = {b.data, b.len};
  MATCH(t, nest);
  assert_int_equal(otpc_term_match(t, &err, pat), OTPC_ENOMATCH);
  assert_string_equal(err.msg, "element 2 of the tuple at ...{_, {_, {_, {_, "
                               "{_, {_, {_, {_, {_, {_, {_, {_, {_, HERE}}}}}}"
                               "}}}}}}}: expected 22, got 21");
  otpc_buf_free(&b);
  /* A long term is cut with "...". */
  assert_int_equal(otpc_term_match(T(t9), &err, "{_}"), OTPC_ENOMATCH);
  assert_string_equal(err.msg, "expected a tuple of arity 1, got one of "
                               "arity 9: {1,2,3,4,5,6,7,8,9}");
  /* A NULL err is fine. */
  assert_int_equal(otpc_term_match(T(foo), NULL, "bar"), OTPC_ENOMATCH);
  assert_int_equal(otpc_term_match(T(foo), NULL, "{"), OTPC_EBADFMT);
  /* Success clears err. */
  assert_int_equal(otpc_term_match(T(foo), &err, "foo"), 0);
  assert_int_equal(err.code, 0);
  assert_string_equal(err.msg, "");
}

/* --------------------------------------------------------------- syntax */

static void test_syntax_errors(void **state) {
  (void)state;
  check_bad("", 0);
  check_bad("{ok, ~i", 7);
  check_bad("{ok,, x}", 4);
  check_bad("{ok, ~z}", 6);
  check_bad("{ok, ~A}", 6);
  check_bad("[a | ~t]", 5);
  check_bad("[a | b, c]", 6);
  check_bad("Foo", 0);
  check_bad("#{_ := 1}", 2);
  check_bad("#{~a := 1}", 2);
  check_bad("#{a = 1}", 4);
  check_bad("#{a := 1", 8);
  check_bad("#[a]", 1);
  check_bad("'abc", 4);
  check_bad("\"abc", 4);
  check_bad("<<256>>", 2);
  check_bad("<<-1>>", 2);
  check_bad("<<a>>", 2);
  check_bad("<<\"\\x{d800}\">>", 3);
  check_bad("<<1 2>>", 4);
  check_bad("<1>", 1);
  check_bad("16#", 3);
  check_bad("37#1", 0);
  check_bad("2#102", 4);
  check_bad("12ab", 2);
  check_bad("1.5e", 4);
  check_bad("{a} b", 4);
  check_bad("'\\x{110000}'", 1);
  check_bad("$", 1);
  check_bad("foo!", 3);
  check_bad("~", 1);
  /* The pattern is checked before the term: a syntax error late in a
   * pattern is reported even when the term mismatches early. */
  otpc_err_t err;
  assert_int_equal(otpc_term_match(T(foo), &err, "{a, b, ~z}"), OTPC_EBADFMT);
  assert_int_equal(err.offset, 8);
  /* Nesting. */
  char deep[300];
  memset(deep, '[', 101);
  memset(deep + 101, ']', 101);
  deep[202] = 0;
  assert_int_equal(otpc_term_match(T(foo), &err, deep), OTPC_ELIMIT);
  assert_int_equal(err.offset, 100);
  assert_non_null(strstr(err.msg, "bad pattern"));
  deep[100] = 0;
  memset(deep, '{', 50);
  memset(deep + 50, '}', 50);
  assert_int_equal(otpc_term_match(T(foo), &err, deep), OTPC_ENOMATCH);
  /* A 256-character atom. */
  char atom[300];
  memset(atom, 'a', 256);
  atom[256] = 0;
  check_bad(atom, 0);
  atom[255] = 0;
  assert_int_equal(otpc_term_match(T(foo), &err, atom), OTPC_ENOMATCH);
}

/* A pattern of more nodes than fit on the stack. */
static void test_large_pattern(void **state) {
  (void)state;
  uint8_t ext[4 + 200];
  char pat[1000];
  size_t k = 0;
  ext[0] = 131;
  ext[1] = 107; /* STRING_EXT of 200 bytes 1..200 */
  ext[2] = 0;
  ext[3] = 200;
  for (int i = 0; i < 200; i++)
    ext[4 + i] = (uint8_t)(i + 1);
  otpc_term_t t = test_term(ext, sizeof ext);
  pat[k++] = '[';
  for (int i = 0; i < 200; i++)
    k += (size_t)snprintf(pat + k, sizeof pat - k, "%s%d", i ? "," : "",
                          i == 150 ? 0 : i + 1);
  pat[k++] = ']';
  pat[k] = 0;
  check_msg(t, pat,
            "element 151 of the list at [..., HERE, ...]: expected 0, got "
            "151");
  /* A long term is cut with "...". */
  otpc_err_t err;
  assert_int_equal(otpc_term_match(t, &err, "{_, ~a}", NULL), OTPC_ENOMATCH);
  assert_true(
      strncmp(err.msg, "expected a tuple of arity 2, got [1,2,3,", 40) == 0);
  assert_true(strlen(err.msg) < sizeof err.msg);
  assert_string_equal(err.msg + strlen(err.msg) - 3, "...");
  /* A cut never leaves half a UTF-8 sequence. */
  char fmt[400] = "<<\"";
  for (int i = 0; i < 100; i++)
    strcat(fmt, "\xc3\xa9");
  strcat(fmt, "\">>");
  otpc_buf_t b = {NULL, 0, 0};
  assert_int_equal(otpc_term_build(&b, &err, fmt), 0);
  otpc_term_t u = {b.data, b.len};
  assert_int_equal(otpc_term_match(u, &err, "~i", NULL), OTPC_ENOMATCH);
  assert_true(strncmp(err.msg, "expected an integer, got <<\"\xc3\xa9", 29) ==
              0);
  size_t ml = strlen(err.msg);
  assert_string_equal(err.msg + ml - 3, "...");
  for (size_t i = 28; i + 3 < ml; i += 2)
    assert_memory_equal(err.msg + i, "\xc3\xa9", 2);
  otpc_buf_free(&b);
  pat[k - 1] = 0;
  memcpy(strstr(pat, ",0,"), ",_,", 3);
  pat[k - 1] = ']';
  MATCH(t, pat);
}

/* The pattern language is the builder's: whatever the builder makes from a
 * format without directives matches that same text as a pattern. */
static void test_builder_roundtrip(void **state) {
  (void)state;
  static const char *const formats[] = {
      "{ok, [1, 2, 3], <<\"x\">>, #{a => 1.5, \"k\" => [a | b]}}",
      "'hello world'",
      "'\\x{e9}t\\xe9'",
      "16#ff",
      "-123456789012345678901234567890",
      "2#1010_1010_1010_1010_1010_1010_1010_1010_1010_1010_1010_1010_1010_1",
      "$a",
      "$\\n",
      "<<1, \"\xc3\xa9\", $z>>",
      "<<\"\\x{100}\\377\\n\">>",
      "\"\xe6\x97\xa5\xe6\x9c\xac\"",
      "\"a\\x{10ffff}b\"",
      "[]",
      "{}",
      "#{}",
      "1.0e10",
      "-0.0",
      "3.141_592",
      "[1 | 2]",
      "[1, 2 | [3]]",
      "[\"ab\" | \"cd\"]",
      "#{#{1 => 2} => [#{}], 1 => 1.0, 1.0 => 1}",
      /* Once accepted by the matcher only. */
      "+1",
      "[+1.5, -1_0.0e-1_0]",
      "<<16#ff, $a, +1, -0, 2#1, 0_1>>",
      /* Once accepted by the builder only. */
      "\"\\\xc3\xa9\"",
      "016#ff",
  };
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
    otpc_buf_t b = {NULL, 0, 0};
    otpc_err_t err;
    if (otpc_term_build(&b, &err, formats[i]) != 0)
      fail_msg("build %s: %s", formats[i], err.msg);
    otpc_term_t t = {b.data, b.len};
    if (otpc_term_match(t, &err, formats[i]) != 0)
      fail_msg("match %s: %s", formats[i], err.msg);
    otpc_buf_free(&b);
  }
}

/* Formats and patterns read literals alike: a binary's segments give the
 * same bytes, and a bad literal fails both with the same code and offset. */
static void test_same_syntax(void **state) {
  (void)state;
  otpc_buf_t b = {NULL, 0, 0};
  otpc_err_t err;
  assert_int_equal(
      otpc_term_build(&b, &err,
                      "<<16#ff, $a, +1, -0, \"\\xe9\\x{e9}\\\xc3\xa9\">>"),
      0);
  static const uint8_t want[] = {109, 0, 0,    0,    8,    255, 97,
                                 1,   0, 0xe9, 0xe9, 0xc3, 0xa9};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  otpc_buf_free(&b);
  static const struct {
    const char *text;
    size_t offset;
  } bad[] = {
      {"2#102", 4},
      {"'\\x{110000}'", 1},
      {"\"\\x{d800}\"", 1},
      {"- 1", 1},
      {"+x", 1},
      {"<<256>>", 2},
      {"<<-1>>", 2},
      {"<<1.5>>", 2},
      {"<<a>>", 2},
      {"<1>", 1},
      {"1.0e400", 0},
      {"-37#1", 0},
      {"$", 1},
      {"12ab", 2},
      {"1.5.2", 3},
      {"\"\\xg1\"", 3},
      {"16#", 3},
      {"\"\\^\xc3\xa9\"", 3},
      {"'abc", 4},
      {"\"\xff\"", 1},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    otpc_err_t berr, merr;
    int brc = otpc_term_build(&b, &berr, bad[i].text);
    int mrc = otpc_term_match(T(foo), &merr, bad[i].text);
    if (brc != OTPC_EBADFMT || mrc != OTPC_EBADFMT ||
        berr.offset != bad[i].offset || merr.offset != bad[i].offset)
      fail_msg("%s: build %d at %zu (%s), match %d at %zu (%s)", bad[i].text,
               brc, berr.offset, berr.msg, mrc, merr.offset, merr.msg);
  }
  /* The same bound on nesting, with the same code. */
  char deep[2 * OTPC_TERM_FORMAT_MAX_DEPTH + 3];
  memset(deep, '{', OTPC_TERM_FORMAT_MAX_DEPTH + 1);
  memset(deep + OTPC_TERM_FORMAT_MAX_DEPTH + 1, '}',
         OTPC_TERM_FORMAT_MAX_DEPTH + 1);
  deep[sizeof deep - 1] = 0;
  assert_int_equal(otpc_term_build(&b, &err, deep), OTPC_ELIMIT);
  assert_int_equal(err.offset, OTPC_TERM_FORMAT_MAX_DEPTH);
  assert_int_equal(otpc_term_match(T(foo), &err, deep), OTPC_ELIMIT);
  assert_int_equal(err.offset, OTPC_TERM_FORMAT_MAX_DEPTH);
  otpc_buf_free(&b);
}

/* ------------------------------------------------------------- the cache */

/* The parsed-pattern cache is keyed by the pattern's pointer but must
 * compare its text: one buffer rewritten between calls is another pattern. */
static void test_cache_rewritten_buffer(void **state) {
  (void)state;
  char pat[32];
  for (int round = 0; round < 3; round++) {
    snprintf(pat, sizeof pat, "{ok, 42}");
    assert_int_equal(otpc_term_match(T(ok_42), NULL, pat), 0);
    snprintf(pat, sizeof pat, "{ok, 43}");
    assert_int_equal(otpc_term_match(T(ok_42), NULL, pat), OTPC_ENOMATCH);
    snprintf(pat, sizeof pat, "{ok, foo}");
    assert_int_equal(otpc_term_match(T(ok_foo), NULL, pat), 0);
    snprintf(pat, sizeof pat, "{a, b, c}"); /* other node count */
    assert_int_equal(otpc_term_match(T(abc_tuple), NULL, pat), 0);
    assert_int_equal(otpc_term_match(T(ok_foo), NULL, pat), OTPC_ENOMATCH);
  }
}

/* A bad pattern is never cached: the same error every time, also after a
 * good pattern used the same buffer. */
static void test_cache_errors_repeat(void **state) {
  (void)state;
  char pat[32];
  otpc_err_t first, again;
  snprintf(pat, sizeof pat, "{ok, ~q}");
  assert_int_equal(otpc_term_match(T(ok_42), &first, pat), OTPC_EBADFMT);
  for (int i = 0; i < 3; i++) {
    snprintf(pat, sizeof pat, "{ok, _}");
    assert_int_equal(otpc_term_match(T(ok_42), NULL, pat), 0);
    snprintf(pat, sizeof pat, "{ok, ~q}");
    assert_int_equal(otpc_term_match(T(ok_42), &again, pat), OTPC_EBADFMT);
    assert_int_equal(again.offset, first.offset);
    assert_string_equal(again.msg, first.msg);
  }
  /* A mismatch message is the same from a cached pattern. */
  assert_int_equal(otpc_term_match(T(ok_foo), &first, "{ok, 42}"),
                   OTPC_ENOMATCH);
  assert_int_equal(otpc_term_match(T(ok_foo), &again, "{ok, 42}"),
                   OTPC_ENOMATCH);
  assert_int_equal(again.offset, first.offset);
  assert_string_equal(again.msg, first.msg);
}

/* More patterns than the cache has slots, each with its own buffer and
 * a value that only it matches, used in turns: slots are replaced many
 * times and every answer stays right. */
static void test_cache_eviction(void **state) {
  (void)state;
  enum { N = 300 };
  static char pats[N][24];
  for (int i = 0; i < N; i++)
    snprintf(pats[i], sizeof pats[i], "{%d, ~i}", i);
  for (int round = 0; round < 4; round++)
    for (int i = 0; i < N; i++) {
      otpc_buf_t b;
      otpc_err_t err;
      otpc_buf_init(&b);
      assert_int_equal(otpc_term_build(&b, &err, "{~i, ~i}", i, round * N + i),
                       0);
      otpc_term_t t = {b.data, b.len};
      int v = -1;
      assert_int_equal(otpc_term_match(t, NULL, pats[i], &v), 0);
      assert_int_equal(v, round * N + i);
      assert_int_equal(otpc_term_match(t, NULL, pats[(i + 1) % N], &v),
                       OTPC_ENOMATCH);
      otpc_buf_free(&b);
    }
}

/* Threads each with their own cache, sharing literal patterns and each
 * rewriting a private buffer: no thread sees another's pattern. */
#define RACE_THREADS 4
static void *race(void *arg) {
  intptr_t id = (intptr_t)arg;
  char pat[32];
  for (int i = 0; i < 20000; i++) {
    int v = -1;
    if (otpc_term_match(T(ok_42), NULL, "{ok, ~i}", &v) != 0 || v != 42)
      return (void *)1;
    snprintf(pat, sizeof pat, "{ok, %d}", (int)((id + i) % 2 ? 42 : 41));
    int want = (id + i) % 2 ? 0 : OTPC_ENOMATCH;
    if (otpc_term_match(T(ok_42), NULL, pat) != want)
      return (void *)2;
  }
  return NULL;
}

static void test_cache_threads(void **state) {
  (void)state;
  pthread_t th[RACE_THREADS];
  for (intptr_t i = 0; i < RACE_THREADS; i++)
    assert_int_equal(pthread_create(&th[i], NULL, race, (void *)i), 0);
  for (int i = 0; i < RACE_THREADS; i++) {
    void *r;
    assert_int_equal(pthread_join(th[i], &r), 0);
    assert_null(r);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cache_rewritten_buffer),
      cmocka_unit_test(test_cache_errors_repeat),
      cmocka_unit_test(test_cache_eviction),
      cmocka_unit_test(test_cache_threads),
      cmocka_unit_test(test_capture_integers),
      cmocka_unit_test(test_capture_ranges),
      cmocka_unit_test(test_capture_atom_float),
      cmocka_unit_test(test_capture_binary_term),
      cmocka_unit_test(test_capture_string),
      cmocka_unit_test(test_capture_pid_ref_port),
      cmocka_unit_test(test_capture_many_and_null),
      cmocka_unit_test(test_literal_atoms),
      cmocka_unit_test(test_literal_integers),
      cmocka_unit_test(test_literal_floats),
      cmocka_unit_test(test_literal_strings),
      cmocka_unit_test(test_literal_binaries),
      cmocka_unit_test(test_literal_containers),
      cmocka_unit_test(test_wildcards),
      cmocka_unit_test(test_tails),
      cmocka_unit_test(test_maps),
      cmocka_unit_test(test_messages),
      cmocka_unit_test(test_syntax_errors),
      cmocka_unit_test(test_large_pattern),
      cmocka_unit_test(test_builder_roundtrip),
      cmocka_unit_test(test_same_syntax),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
