/* Tests of the validator, the accessors and the iterators (term_decode.c,
 * term_access.c) on bytes written by a real OTP 25 (decode_fixtures.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decode_fixtures.h"
#include "internal.h"
#include "otpc/term.h"
#include "test_util.h"

static otpc_term_t decode(const uint8_t *b, size_t n) {
  otpc_term_t t = test_term(b, n);
  assert_ptr_equal(t.p, b + 1);
  assert_int_equal(t.len, n - 1);
  assert_ptr_equal(otpc__term_skip(t.p), b + n);
  return t;
}
#define FX(name) decode(fx_##name, sizeof fx_##name)

static int64_t i64(otpc_term_t t) {
  int64_t v = 0;
  assert_int_equal(otpc_term_int64(t, &v), 0);
  return v;
}

static otpc_term_t elem(otpc_term_t t, size_t i) {
  otpc_term_t e;
  assert_int_equal(otpc_term_element(t, i, &e), 0);
  return e;
}

/* ------------------------------------------------------------- numbers */

static void test_integers(void **state) {
  (void)state;
  int64_t v;
  uint64_t u;
  otpc_int_t x;
  assert_int_equal(i64(FX(small_int)), 5);
  assert_int_equal(i64(FX(int_neg)), -1);
  assert_int_equal(i64(FX(int_big)), 1000000);
  assert_int_equal(i64(FX(int_min32)), INT32_MIN);
  assert_int_equal(i64(FX(sign2_big)), -5);
  assert_true(i64(FX(big_neg_2_63)) == INT64_MIN);
  assert_int_equal(otpc_term_int64(FX(big_2_63), &v), OTPC_ERANGE);
  assert_int_equal(otpc_term_uint64(FX(big_2_63), &u), 0);
  assert_true(u == (uint64_t)1 << 63);
  assert_int_equal(otpc_term_uint64(FX(big_max64), &u), 0);
  assert_true(u == UINT64_MAX);
  assert_int_equal(otpc_term_uint64(FX(int_neg), &u), OTPC_ERANGE);
  assert_int_equal(otpc_term_uint64(FX(big_2_64), &u), OTPC_ERANGE);
  assert_int_equal(otpc_term_int64(FX(big_2_64), &v), OTPC_ERANGE);

  assert_int_equal(otpc_term_integer(FX(big_2_64), &x), 0);
  assert_int_equal(x.neg, 0);
  assert_int_equal(x.n, 9);
  assert_int_equal(x.mag[8], 1);
  assert_int_equal(otpc_term_integer(FX(big_huge), &x), 0);
  assert_int_equal(x.neg, 1);
  assert_int_equal(x.n, 263); /* 2^2100 */
  assert_int_equal(x.mag[262], 1 << 4);
  assert_int_equal(otpc_term_integer(FX(int_min32), &x), 0);
  assert_int_equal(x.neg, 1);
  assert_int_equal(x.n, 4);
  assert_ptr_equal(x.mag, x.small);
  assert_int_equal(x.mag[3], 0x80);

  /* Zero has no magnitude bytes and no sign, however it is encoded. */
  static const uint8_t zero_big[] = {131, 110, 2, 1, 0, 0};
  assert_int_equal(otpc_term_integer(decode(zero_big, sizeof zero_big), &x), 0);
  assert_int_equal(x.n, 0);
  assert_int_equal(x.neg, 0);
  static const uint8_t zero[] = {131, 97, 0};
  assert_int_equal(otpc_term_integer(decode(zero, sizeof zero), &x), 0);
  assert_int_equal(x.n, 0);

  assert_int_equal(otpc_term_type(FX(big_huge)), OTPC_T_INTEGER);
  assert_int_equal(otpc_term_int64(FX(float), &v), OTPC_ETYPE);
  assert_int_equal(otpc_term_integer(FX(atom), &x), OTPC_ETYPE);
}

static void test_floats(void **state) {
  (void)state;
  double d;
  assert_int_equal(otpc_term_double(FX(float), &d), 0);
  assert_true(d == 1.5);
  assert_int_equal(otpc_term_double(FX(float_neg), &d), 0);
  assert_true(d == -0.1);
  assert_int_equal(otpc_term_double(FX(old_float), &d), 0);
  assert_true(d == 1.5);
  assert_int_equal(otpc_term_double(FX(old_float_neg), &d), 0);
  assert_true(d == -2.0e-10);
  assert_int_equal(otpc_term_type(FX(old_float)), OTPC_T_FLOAT);
  assert_int_equal(otpc_term_double(FX(small_int), &d), OTPC_ETYPE);
}

/* --------------------------------------------------------------- atoms */

static void test_atoms(void **state) {
  (void)state;
  char buf[64];
  size_t len;
  otpc_atom_t a, b;

  otpc_term_t hello = FX(atom), hello2 = FX(utf8_atom_v2);
  assert_int_equal(otpc_term_type(hello), OTPC_T_ATOM);
  assert_int_equal(otpc_term_atom(hello, &a), 0);
  assert_int_equal(otpc_term_atom(hello2, &b), 0);
  assert_int_equal(a, b);
  assert_string_equal(otpc_atom_text(a, NULL), "hello");
  assert_true(otpc_term_is_atom(hello, "hello"));
  assert_true(otpc_term_is_atom(hello2, "hello"));
  assert_false(otpc_term_is_atom(hello, "hell"));
  assert_false(otpc_term_is_atom(hello, "hello!"));
  assert_false(otpc_term_is_atom(FX(small_int), "hello"));
  assert_false(otpc_term_is_atom(hello, NULL));

  /* Latin-1 bytes over 127 become two UTF-8 bytes each. */
  otpc_term_t l1 = FX(atom_latin1), l2 = FX(latin1_small_atom);
  assert_int_equal(otpc_term_atom_text(l1, buf, sizeof buf, &len), 0);
  assert_string_equal(buf, "h\xc3\xa9\xc3\xbf");
  assert_int_equal(len, 5);
  assert_true(otpc_term_is_atom(l1, "h\xc3\xa9\xc3\xbf"));
  assert_false(otpc_term_is_atom(l1, "h\xc3\xa9\xc3"));
  assert_false(otpc_term_is_atom(l1, "h\xc3\xa9"));
  assert_int_equal(otpc_term_atom(l1, &a), 0);
  assert_string_equal(otpc_atom_text(a, NULL), "h\xc3\xa9\xc3\xbf");
  assert_int_equal(otpc_term_atom_text(l2, buf, sizeof buf, &len), 0);
  assert_string_equal(buf, "a\xc3\xa9\xc3\xbf");
  assert_int_equal(otpc_term_type(l2), OTPC_T_ATOM);

  /* Too small a buffer: ERANGE, and the length it needs. */
  assert_int_equal(otpc_term_atom_text(l1, buf, 5, &len), OTPC_ERANGE);
  assert_int_equal(len, 5);
  assert_int_equal(otpc_term_atom_text(l1, buf, 6, &len), 0);

  otpc_term_t u = FX(atom_utf8);
  assert_int_equal(otpc_term_atom_text(u, buf, sizeof buf, &len), 0);
  assert_string_equal(buf, "\xc3\xb6\xf0\x9f\x98\x80");
  assert_true(otpc_term_is_atom(u, "\xc3\xb6\xf0\x9f\x98\x80"));
  assert_int_equal(otpc_term_atom_text(FX(tuple), buf, sizeof buf, &len),
                   OTPC_ETYPE);
}

/* ------------------------------------------------------ pids refs ports */

static void test_pids(void **state) {
  (void)state;
  otpc_pid_t pid;
  assert_int_equal(otpc_term_type(FX(pid)), OTPC_T_PID);
  assert_int_equal(otpc_term_pid(FX(pid), &pid), 0);
  assert_string_equal(otpc_atom_text(pid.node, NULL), "nonode@nohost");
  assert_int_equal(otpc_term_pid(FX(old_pid), &pid), 0);
  assert_string_equal(otpc_atom_text(pid.node, NULL), "n");
  assert_int_equal(pid.id, 7);
  assert_int_equal(pid.serial, 2);
  assert_int_equal(pid.creation, 3);
  assert_int_equal(otpc_term_type(FX(old_pid)), OTPC_T_PID);
  assert_int_equal(otpc_term_pid(FX(port), &pid), OTPC_ETYPE);
}

static void test_refs(void **state) {
  (void)state;
  otpc_ref_t ref;
  assert_int_equal(otpc_term_type(FX(ref)), OTPC_T_REF);
  assert_int_equal(otpc_term_ref(FX(ref), &ref), 0);
  assert_int_equal(ref.len, 3);
  assert_string_equal(otpc_atom_text(ref.node, NULL), "nonode@nohost");
  assert_int_equal(otpc_term_ref(FX(ref5), &ref), 0);
  assert_int_equal(ref.len, 5);
  assert_int_equal(ref.creation, 4);
  for (uint32_t i = 0; i < 5; i++)
    assert_int_equal(ref.id[i], i + 1);
  assert_int_equal(otpc_term_ref(FX(new_ref), &ref), 0);
  assert_int_equal(ref.len, 3);
  assert_int_equal(ref.creation, 1);
  assert_int_equal(ref.id[2], 3);
  assert_int_equal(ref.id[3], 0);
  assert_int_equal(otpc_term_ref(FX(old_ref), &ref), 0);
  assert_int_equal(ref.len, 1);
  assert_int_equal(ref.id[0], 256);
  assert_int_equal(ref.creation, 2);
  assert_string_equal(otpc_atom_text(ref.node, NULL), "n");
  assert_int_equal(otpc_term_type(FX(old_ref)), OTPC_T_REF);
  assert_int_equal(otpc_term_ref(FX(pid), &ref), OTPC_ETYPE);
}

static void test_ports(void **state) {
  (void)state;
  otpc_port_t port;
  assert_int_equal(otpc_term_type(FX(port)), OTPC_T_PORT);
  assert_int_equal(otpc_term_port(FX(port), &port), 0);
  assert_string_equal(otpc_atom_text(port.node, NULL), "nonode@nohost");
  assert_int_equal(otpc_term_port(FX(v4_port), &port), 0);
  assert_true(port.id == 0x123456789abcdef0ull);
  assert_int_equal(port.creation, 5);
  assert_int_equal(otpc_term_type(FX(v4_port)), OTPC_T_PORT);
  assert_int_equal(otpc_term_port(FX(old_port), &port), 0);
  assert_int_equal(port.id, 9);
  assert_int_equal(port.creation, 1);
  assert_int_equal(otpc_term_port(FX(ref), &port), OTPC_ETYPE);
}

/* ---------------------------------------------------------- containers */

static void test_tuples(void **state) {
  (void)state;
  otpc_iter_t it;
  otpc_term_t t = FX(tuple), e;
  size_t n;
  assert_int_equal(otpc_term_type(t), OTPC_T_TUPLE);
  assert_int_equal(otpc_term_tuple(t, &it, &n), 0);
  assert_int_equal(n, 3);
  assert_int_equal(otpc_iter_next(&it, &e), 1);
  assert_true(otpc_term_is_atom(e, "ok"));
  assert_int_equal(otpc_iter_next(&it, &e), 1);
  assert_int_equal(i64(e), 1);
  assert_int_equal(otpc_iter_next(&it, &e), 1);
  assert_int_equal(otpc_term_type(e), OTPC_T_LIST);
  assert_int_equal(otpc_iter_next(&it, &e), 0);
  assert_int_equal(otpc_term_element(t, 3, &e), OTPC_ERANGE);
  assert_int_equal(otpc_term_element(FX(list), 0, &e), OTPC_ETYPE);
  /* A tuple has no tail and no pairs. */
  assert_int_equal(otpc_iter_tail(&it, &e), OTPC_ETYPE);
  otpc_term_tuple(t, &it, NULL);
  otpc_term_t k, v;
  assert_int_equal(otpc_iter_next_pair(&it, &k, &v), 0);

  assert_int_equal(otpc_term_tuple(FX(empty_tuple), &it, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(otpc_iter_next(&it, &e), 0);

  t = FX(large_tuple);
  assert_int_equal(otpc_term_tuple(t, NULL, &n), 0);
  assert_int_equal(n, 300);
  assert_int_equal(i64(elem(t, 0)), 1);
  assert_int_equal(i64(elem(t, 299)), 300);
  assert_int_equal(otpc_term_tuple(t, &it, NULL), 0);
  for (int64_t i = 1; otpc_iter_next(&it, &e); i++)
    assert_int_equal(i64(e), i);
  assert_int_equal(otpc_term_tuple(FX(list), &it, &n), OTPC_ETYPE);
}

/* Collects the integers of a list and checks its tail's type. */
static size_t ints_of(otpc_term_t t, int64_t *out, otpc_type_t tail_type) {
  otpc_iter_t it;
  otpc_term_t e, tail;
  size_t n, i = 0;
  assert_int_equal(otpc_term_list(t, &it, &n), 0);
  while (otpc_iter_next(&it, &e) == 1)
    out[i++] = i64(e);
  assert_int_equal(i, n);
  assert_int_equal(otpc_iter_tail(&it, &tail), 0);
  assert_int_equal(otpc_term_type(tail), tail_type);
  assert_ptr_equal(otpc__term_skip(tail.p), tail.p + tail.len);
  return n;
}

static void test_lists(void **state) {
  (void)state;
  int64_t v[8];
  otpc_iter_t it;
  otpc_term_t e, tail;
  size_t n;

  assert_int_equal(otpc_term_type(FX(nil)), OTPC_T_NIL);
  assert_int_equal(ints_of(FX(nil), v, OTPC_T_NIL), 0);
  /* An empty STRING_EXT is nil too (OTP reads it so). */
  assert_int_equal(otpc_term_type(FX(string_empty)), OTPC_T_NIL);
  assert_int_equal(ints_of(FX(string_empty), v, OTPC_T_NIL), 0);

  assert_int_equal(otpc_term_type(FX(string)), OTPC_T_LIST);
  assert_int_equal(ints_of(FX(string), v, OTPC_T_NIL), 3);
  assert_int_equal(v[0], 'a');
  assert_int_equal(v[2], 'c');
  assert_int_equal(ints_of(FX(string_bytes), v, OTPC_T_NIL), 3);
  assert_int_equal(v[1], 200);
  assert_int_equal(v[2], 255);
  /* STRING_EXT elements are views in static storage. */
  otpc_term_list(FX(string), &it, NULL);
  otpc_iter_next(&it, &e);
  assert_int_equal(e.len, 2);
  assert_int_equal(e.p[0], OTPC_TAG_SMALL_INTEGER);
  assert_int_equal(e.p[1], 'a');

  assert_int_equal(ints_of(FX(list), v, OTPC_T_NIL), 3);
  assert_int_equal(v[2], 300);
  assert_int_equal(ints_of(FX(improper), v, OTPC_T_INTEGER), 1);
  assert_int_equal(v[0], 1);
  assert_int_equal(ints_of(FX(list_string_tail), v, OTPC_T_NIL), 3);
  assert_int_equal(v[0], 1000);
  assert_int_equal(v[2], 'b');

  /* [a, b | c]: the tail, also when asked for before the end. */
  assert_int_equal(otpc_term_list(FX(improper2), &it, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(otpc_iter_tail(&it, &tail), 0);
  assert_true(otpc_term_is_atom(tail, "c"));
  assert_int_equal(otpc_iter_next(&it, &e), 1);
  assert_true(otpc_term_is_atom(e, "a"));
  assert_int_equal(otpc_iter_next(&it, &e), 1);
  assert_int_equal(otpc_iter_next(&it, &e), 0);
  assert_int_equal(otpc_iter_tail(&it, &tail), 0);
  assert_true(otpc_term_is_atom(tail, "c"));

  assert_int_equal(otpc_term_list(FX(tuple), &it, &n), OTPC_ETYPE);
}

static void test_bitstrings(void **state) {
  (void)state;
  const uint8_t *p;
  size_t n;
  assert_int_equal(otpc_term_type(FX(binary)), OTPC_T_BITSTRING);
  assert_int_equal(otpc_term_binary(FX(binary), &p, &n), 0);
  assert_int_equal(n, 3);
  assert_memory_equal(p, "\1\2\3", 3);
  assert_int_equal(otpc_term_bitstring(FX(binary), &p, &n), 0);
  assert_int_equal(n, 24);
  assert_int_equal(otpc_term_binary(FX(empty_binary), &p, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(otpc_term_type(FX(bitstring)), OTPC_T_BITSTRING);
  assert_int_equal(otpc_term_binary(FX(bitstring), &p, &n), OTPC_ETYPE);
  assert_int_equal(otpc_term_bitstring(FX(bitstring), &p, &n), 0);
  assert_int_equal(n, 3);
  assert_int_equal(p[0], 1 << 5);
  assert_int_equal(otpc_term_bitstring(FX(bitstring2), &p, &n), 0);
  assert_int_equal(n, 13);
  assert_int_equal(p[0], 255);
  assert_int_equal(p[1], 7 << 3);
  /* A BIT_BINARY_EXT of whole bytes is a binary. */
  static const uint8_t whole[] = {131, 77, 0, 0, 0, 1, 8, 9};
  assert_int_equal(otpc_term_binary(decode(whole, sizeof whole), &p, &n), 0);
  assert_int_equal(n, 1);
  assert_int_equal(p[0], 9);
  static const uint8_t empty[] = {131, 77, 0, 0, 0, 0, 0};
  assert_int_equal(otpc_term_bitstring(decode(empty, sizeof empty), &p, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(otpc_term_binary(FX(atom), &p, &n), OTPC_ETYPE);
}

static void test_maps(void **state) {
  (void)state;
  otpc_iter_t it;
  otpc_term_t k, v, m = FX(map);
  size_t n;
  assert_int_equal(otpc_term_type(m), OTPC_T_MAP);
  assert_int_equal(otpc_term_map(m, &it, &n), 0);
  assert_int_equal(n, 2);
  assert_int_equal(otpc_iter_next_pair(&it, &k, &v), 1);
  assert_true(otpc_term_is_atom(k, "a"));
  assert_int_equal(i64(v), 1);
  assert_int_equal(otpc_iter_next_pair(&it, &k, &v), 1);
  assert_true(otpc_term_is_atom(k, "b"));
  assert_int_equal(otpc_term_type(v), OTPC_T_LIST);
  assert_int_equal(otpc_iter_next_pair(&it, &k, &v), 0);
  /* Plain otpc_iter_next walks keys and values alternately. */
  otpc_term_map(m, &it, NULL);
  int count = 0;
  while (otpc_iter_next(&it, &k))
    count++;
  assert_int_equal(count, 4);
  assert_int_equal(otpc_iter_tail(&it, &k), OTPC_ETYPE);

  assert_int_equal(otpc_term_map(FX(empty_map), &it, &n), 0);
  assert_int_equal(n, 0);
  assert_int_equal(otpc_iter_next_pair(&it, &k, &v), 0);

  /* Lookups with keys taken from other encoded terms. */
  otpc_term_t big = FX(big_map), tup = FX(large_tuple);
  assert_int_equal(otpc_term_map(big, NULL, &n), 0);
  assert_int_equal(n, 40);
  assert_int_equal(otpc_term_map_get(big, elem(tup, 16), &v), 0);
  assert_int_equal(i64(v), 17 * 17);
  assert_int_equal(otpc_term_map_get(big, elem(tup, 40), &v), OTPC_ENOTFOUND);
  assert_int_equal(otpc_term_map_get(tup, elem(tup, 1), &v), OTPC_ETYPE);

  otpc_term_t nk = FX(map_nested_key), f;
  otpc_term_map(nk, &it, NULL);
  int seen = 0;
  while (otpc_iter_next_pair(&it, &k, &v)) {
    assert_int_equal(otpc_term_map_get(nk, k, &f), 0);
    assert_ptr_equal(f.p, v.p);
    assert_int_equal(f.len, v.len);
    seen++;
  }
  assert_int_equal(seen, 3);
}

static void test_funs(void **state) {
  (void)state;
  otpc_term_t f = FX(fun_closure);
  assert_int_equal(otpc_term_type(f), OTPC_T_FUN);
  assert_int_equal(otpc_term_type(FX(fun_export)), OTPC_T_FUN);
  assert_int_equal(otpc_term_type(FX(export_int_arity)), OTPC_T_FUN);
  otpc_iter_t it;
  assert_int_equal(otpc_term_tuple(f, &it, NULL), OTPC_ETYPE);

  /* Inside a container, skip must step over the fun exactly. */
  otpc_term_t list = FX(mixed_list), e;
  otpc_term_list(list, &it, NULL);
  int n = 0;
  while (otpc_iter_next(&it, &e))
    n++;
  assert_int_equal(n, 6);
}

static void test_nested(void **state) {
  (void)state;
  otpc_term_t t = FX(nested), e, k, v;
  otpc_iter_t it;
  assert_int_equal(otpc_term_element(t, 1, &e), 0);
  assert_int_equal(otpc_term_list(e, &it, NULL), 0);
  assert_int_equal(otpc_iter_next(&it, &e), 1);
  e = elem(e, 1);
  assert_int_equal(otpc_term_map(e, &it, NULL), 0);
  assert_int_equal(otpc_iter_next_pair(&it, &k, &v), 1);
  assert_true(otpc_term_is_atom(k, "c"));
  assert_int_equal(i64(elem(t, 3)), -7);
  assert_string_equal(otpc_type_name(otpc_term_type(t)), "tuple");
  assert_string_equal(otpc_type_name(OTPC_T_BITSTRING), "bitstring");
  assert_string_equal(otpc_type_name((otpc_type_t)0), "invalid");
}

/* ------------------------------------------------------------ rejection */

/* Every proper prefix of a valid term is malformed, and says where. */
static void truncations(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    /* A fresh copy of exactly i bytes, so ASan sees any read past it. */
    uint8_t *copy = malloc(i ? i : 1);
    memcpy(copy, b, i);
    otpc_err_t err;
    otpc_term_t t;
    size_t used;
    err.msg[0] = 0;
    assert_int_equal(otpc_term_from_ext(copy, i, &t, &err), OTPC_EBADTERM);
    assert_true(err.offset <= i);
    assert_true(strlen(err.msg) > 10);
    if (i > 0)
      assert_int_equal(otpc_term_parse(copy + 1, i - 1, &t, &used, &err),
                       OTPC_EBADTERM);
    free(copy);
  }
}
#define TRUNC(name) truncations(fx_##name, sizeof fx_##name)

static void test_truncation(void **state) {
  (void)state;
  TRUNC(nested);
  TRUNC(mixed_list);
  TRUNC(fun_closure);
  TRUNC(fun_export);
  TRUNC(big_map);
  TRUNC(ref5);
  TRUNC(old_pid);
  TRUNC(old_float);
  TRUNC(big_huge);
  TRUNC(bitstring2);
  TRUNC(map_nested_key);
  TRUNC(improper2);
  TRUNC(atom_utf8);
  TRUNC(v4_port);
  TRUNC(new_ref);
}

typedef struct bad_case {
  const char *name;
  const char *bytes;
  size_t len;
  int code;
  const char *msg_part; /* must appear in err.msg */
} bad_case_t;

#define BAD(name, lit, code, part)                                             \
  { name, lit, sizeof lit - 1, code, part }

static const bad_case_t bad_cases[] = {
    BAD("empty", "", OTPC_EBADTERM, "version"),
    BAD("version", "\x82\x61\x01", OTPC_EBADTERM, "version byte 130"),
    BAD("unknown tag", "\x83\x01", OTPC_EBADTERM, "unknown tag 1 at offset 1"),
    BAD("cache ref", "\x83\x52\x00", OTPC_ENOTSUP, "distribution header"),
    BAD("cache ref node", "\x83\x58\x52\x00", OTPC_ENOTSUP, "ATOM_CACHE_REF"),
    BAD("old fun", "\x83\x75\x00\x00\x00\x00", OTPC_ENOTSUP, "FUN_EXT"),
    BAD("compressed", "\x83\x50\x00\x00\x00\x01\x78", OTPC_ENOTSUP,
        "otpc_msg_decode"),
    BAD("trailing", "\x83\x61\x01\x00", OTPC_EBADTERM, "1 trailing bytes"),
    BAD("nan", "\x83\x46\x7f\xf8\x00\x00\x00\x00\x00\x00", OTPC_EBADTERM,
        "finite"),
    BAD("inf", "\x83\x46\xff\xf0\x00\x00\x00\x00\x00\x00", OTPC_EBADTERM,
        "finite"),
    BAD("old float junk",
        "\x83\x63"
        "1.5x\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
        "\0\0\0\0\0\0\0\0\0\0",
        OTPC_EBADTERM, "FLOAT_EXT"),
    BAD("old float 1e400",
        "\x83\x63"
        "1.0e400\0\0\0\0\0\0\0\0\0\0\0\0\0\0"
        "\0\0\0\0\0\0\0\0\0\0",
        OTPC_EBADTERM, "FLOAT_EXT"),
    BAD("bad utf8 atom", "\x83\x77\x01\xff", OTPC_EBADTERM, "UTF-8"),
    BAD("surrogate atom", "\x83\x77\x03\xed\xa0\x80", OTPC_EBADTERM, "UTF-8"),
    BAD("pid node int",
        "\x83\x58\x61\x01"
        "\0\0\0\1\0\0\0\1\0\0\0\1",
        OTPC_EBADTERM, "expected an atom (node name) at offset 2"),
    BAD("old pid creation",
        "\x83\x67\x64\x00\x01n"
        "\0\0\0\1\0\0\0\1\4",
        OTPC_EBADTERM, "creation"),
    BAD("old port creation",
        "\x83\x66\x64\x00\x01n"
        "\0\0\0\1\4",
        OTPC_EBADTERM, "creation"),
    BAD("old ref id",
        "\x83\x65\x64\x00\x01n"
        "\0\4\0\0\0",
        OTPC_EBADTERM, "18 bits"),
    BAD("ref 0 words",
        "\x83\x5a\x00\x00\x64\x00\x01n"
        "\0\0\0\1",
        OTPC_EBADTERM, "id words"),
    BAD("ref 6 words",
        "\x83\x5a\x00\x06\x64\x00\x01n"
        "\0\0\0\1",
        OTPC_EBADTERM, "id words"),
    BAD("list 0", "\x83\x6c\x00\x00\x00\x00\x6a", OTPC_EBADTERM, "0 elements"),
    BAD("bits 0", "\x83\x4d\x00\x00\x00\x01\x00\x00", OTPC_EBADTERM, "1..8"),
    BAD("bits 9", "\x83\x4d\x00\x00\x00\x01\x09\x00", OTPC_EBADTERM, "1..8"),
    BAD("bits empty 8", "\x83\x4d\x00\x00\x00\x00\x08", OTPC_EBADTERM, "1..8"),
    BAD("junk bits", "\x83\x4d\x00\x00\x00\x01\x04\xff", OTPC_EBADTERM,
        "unused"),
    BAD("huge tuple", "\x83\x69\xff\xff\xff\xff\x6a", OTPC_EBADTERM,
        "4294967295 sub-terms"),
    BAD("huge map", "\x83\x74\xff\xff\xff\xff\x6a", OTPC_EBADTERM, "sub-terms"),
    BAD("huge binary", "\x83\x6d\xff\xff\xff\xff\x00", OTPC_EBADTERM,
        "needs 4294967300 bytes"),
    BAD("tuple elem", "\x83\x68\x02\x61\x01", OTPC_EBADTERM,
        "where a term was expected"),
    BAD("export arity",
        "\x83\x71\x64\x00\x01m\x64\x00\x01"
        "f\x6a",
        OTPC_EBADTERM, "arity"),
    BAD("export arity 256",
        "\x83\x71\x64\x00\x01m\x64\x00\x01"
        "f\x62\0\0\1\0",
        OTPC_EBADTERM, "arity"),
};

static void test_bad_terms(void **state) {
  (void)state;
  char latin[300], utf[300];
  for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
    const bad_case_t *c = &bad_cases[i];
    otpc_err_t err;
    otpc_term_t t;
    int rc = otpc_term_from_ext(c->bytes, c->len, &t, &err);
    if (rc != c->code || err.code != c->code ||
        strstr(err.msg, c->msg_part) == NULL)
      fail_msg("%s: got %d (%s), expected %d with \"%s\"", c->name, rc,
               rc < 0 ? err.msg : "", c->code, c->msg_part);
  }
  /* Atoms over 255 characters, in both encodings. */
  latin[0] = (char)131, latin[1] = 100, latin[2] = 1, latin[3] = 0;
  memset(latin + 4, 'a', 256);
  assert_int_equal(otpc_term_from_ext(latin, 260, NULL, NULL), OTPC_EBADTERM);
  latin[2] = 0, latin[3] = (char)255;
  assert_int_equal(otpc_term_from_ext(latin, 259, NULL, NULL), 0);
  memcpy(utf, latin, 260);
  utf[1] = 118, utf[2] = 1, utf[3] = 0;
  assert_int_equal(otpc_term_from_ext(utf, 260, NULL, NULL), OTPC_EBADTERM);

  /* A fun whose Size field disagrees with its contents. */
  uint8_t fun[sizeof fx_fun_closure];
  memcpy(fun, fx_fun_closure, sizeof fun);
  fun[5]++;
  otpc_err_t err;
  assert_int_equal(otpc_term_from_ext(fun, sizeof fun, NULL, &err),
                   OTPC_EBADTERM);
  fun[5] -= 2;
  assert_int_equal(otpc_term_from_ext(fun, sizeof fun, NULL, &err),
                   OTPC_EBADTERM);
  assert_int_equal(otpc_term_from_ext(NULL, 3, NULL, &err), OTPC_EINVAL);
}

static void test_parse_prefix(void **state) {
  (void)state;
  /* otpc_term_parse reads one term and leaves what follows. */
  static const uint8_t data[] = {104, 2, 97, 1, 106, 0xff, 0xff};
  otpc_term_t t;
  size_t used;
  assert_int_equal(otpc_term_parse(data, sizeof data, &t, &used, NULL), 0);
  assert_int_equal(used, 5);
  assert_int_equal(t.len, 5);
  otpc_err_t err;
  assert_int_equal(otpc_term_parse(data + 5, 2, &t, &used, &err),
                   OTPC_EBADTERM);
  assert_int_equal(err.offset, 0);
  /* Offsets in errors of otpc_term_from_ext count the version byte. */
  static const uint8_t bad[] = {131, 104, 2, 97, 1, 7};
  assert_int_equal(otpc_term_from_ext(bad, sizeof bad, &t, &err),
                   OTPC_EBADTERM);
  assert_int_equal(err.offset, 5);
}

/* ------------------------------------------------------------- nesting */

/* n tuples {{{...{a}...}}}, or lists [[[...[a]...]]] when list is set. */
static uint8_t *nest(size_t n, int list, size_t *len) {
  size_t per = list ? 5 : 2, tail = list ? 1 : 0;
  *len = 1 + n * (per + tail) + 2;
  uint8_t *b = malloc(*len), *p = b;
  *p++ = 131;
  for (size_t i = 0; i < n; i++) {
    if (list) {
      *p++ = 108;
      otpc__put32(p, 1);
      p += 4;
    } else {
      *p++ = 104;
      *p++ = 1;
    }
  }
  *p++ = 97;
  *p++ = 42;
  for (size_t i = 0; i < n * tail; i++)
    *p++ = 106;
  return b;
}

static void test_deep_nesting(void **state) {
  (void)state;
  size_t len;
  otpc_term_t t;
  otpc_err_t err;
  for (int list = 0; list <= 1; list++) {
    uint8_t *b = nest(200000, list, &len);
    assert_int_equal(otpc_term_from_ext(b, len, &t, &err), OTPC_ELIMIT);
    assert_non_null(strstr(err.msg, "deeper"));
    free(b);

    b = nest(50000, list, &len);
    assert_int_equal(otpc_term_from_ext(b, len, &t, &err), 0);
    assert_ptr_equal(otpc__term_skip(t.p), b + len);
    /* Walk down to the innermost element. */
    for (size_t i = 0; i < 50000; i++) {
      otpc_iter_t it;
      if (list) {
        assert_int_equal(otpc_term_list(t, &it, NULL), 0);
      } else {
        assert_int_equal(otpc_term_tuple(t, &it, NULL), 0);
      }
      assert_int_equal(otpc_iter_next(&it, &t), 1);
    }
    assert_int_equal(i64(t), 42);
    free(b);

    b = nest(OTPC_TERM_MAX_DEPTH, list, &len);
    assert_int_equal(otpc_term_from_ext(b, len, &t, &err), 0);
    free(b);
    b = nest(OTPC_TERM_MAX_DEPTH + 1, list, &len);
    assert_int_equal(otpc_term_from_ext(b, len, &t, &err), OTPC_ELIMIT);
    free(b);
  }
}

/* Every fixture is valid and skips to its end; compressed ones are
 * otpc_msg_decode's business. */
static void test_all_fixtures(void **state) {
  (void)state;
  FX(tuple);
  FX(empty_tuple);
  FX(compressed_small);
  assert_int_equal(otpc_term_from_ext(fx_compressed_seq,
                                      sizeof fx_compressed_seq, NULL, NULL),
                   OTPC_ENOTSUP);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_integers),     cmocka_unit_test(test_floats),
      cmocka_unit_test(test_atoms),        cmocka_unit_test(test_pids),
      cmocka_unit_test(test_refs),         cmocka_unit_test(test_ports),
      cmocka_unit_test(test_tuples),       cmocka_unit_test(test_lists),
      cmocka_unit_test(test_bitstrings),   cmocka_unit_test(test_maps),
      cmocka_unit_test(test_funs),         cmocka_unit_test(test_nested),
      cmocka_unit_test(test_truncation),   cmocka_unit_test(test_bad_terms),
      cmocka_unit_test(test_parse_prefix), cmocka_unit_test(test_deep_nesting),
      cmocka_unit_test(test_all_fixtures),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
