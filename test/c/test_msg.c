/* Tests of messages (msg.c): plain and compressed decoding, sharing. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <zlib.h>

#include "decode_fixtures.h"
#include "internal.h"
#include "otpc/msg.h"

static void test_plain(void **state) {
  (void)state;
  otpc_msg_t *m;
  otpc_err_t err;
  assert_int_equal(otpc_msg_decode(fx_nested, sizeof fx_nested, &m, &err), 0);
  size_t len;
  const uint8_t *ext = otpc_msg_ext(m, &len);
  assert_int_equal(len, sizeof fx_nested);
  assert_memory_equal(ext, fx_nested, len);
  assert_ptr_not_equal(ext, fx_nested);
  otpc_term_t t = otpc_msg_term(m);
  assert_ptr_equal(t.p, ext + 1);
  assert_int_equal(t.len, len - 1);
  assert_int_equal(otpc_term_type(t), OTPC_T_TUPLE);
  assert_true(otpc_msg_size(m) >= len);
  assert_true(otpc_msg_size(m) <= len + 32);
  otpc_msg_unref(m);
  otpc_msg_unref(NULL);

  /* Bad input fails with the validator's error and allocates nothing. */
  static const uint8_t bad[] = {131, 104, 2, 97};
  m = NULL;
  assert_int_equal(otpc_msg_decode(bad, sizeof bad, &m, &err), OTPC_EBADTERM);
  assert_null(m);
  assert_int_equal(otpc_msg_decode(fx_nested, 0, &m, &err), OTPC_EBADTERM);
  assert_int_equal(otpc_msg_decode(fx_nested, sizeof fx_nested, NULL, &err),
                   OTPC_EINVAL);
}

static void test_compressed(void **state) {
  (void)state;
  otpc_msg_t *m;
  otpc_err_t err;
  assert_int_equal(
      otpc_msg_decode(fx_compressed_seq, sizeof fx_compressed_seq, &m, &err),
      0);
  size_t len;
  const uint8_t *ext = otpc_msg_ext(m, &len);
  assert_int_equal(ext[0], 131);
  assert_int_equal(len, 1 + otpc__get32(fx_compressed_seq + 2));
  otpc_iter_t it;
  otpc_term_t e, tail;
  size_t n;
  assert_int_equal(otpc_term_list(otpc_msg_term(m), &it, &n), 0);
  assert_int_equal(n, 1000);
  for (int64_t i = 1; otpc_iter_next(&it, &e); i++) {
    int64_t v;
    assert_int_equal(otpc_term_int64(e, &v), 0);
    assert_int_equal(v, i);
  }
  assert_int_equal(otpc_iter_tail(&it, &tail), 0);
  assert_int_equal(otpc_term_type(tail), OTPC_T_NIL);
  otpc_msg_unref(m);

  assert_int_equal(
      otpc_msg_decode(fx_compressed_bin, sizeof fx_compressed_bin, &m, &err),
      0);
  otpc_term_t bin;
  const uint8_t *p;
  assert_int_equal(otpc_term_element(otpc_msg_term(m), 1, &bin), 0);
  assert_int_equal(otpc_term_binary(bin, &p, &n), 0);
  assert_int_equal(n, 1500);
  assert_memory_equal(p + 1497, "abc", 3);
  otpc_msg_unref(m);
}

/* Compresses a term (no version byte) into 131, 80, Size, zlib data. */
static uint8_t *compress_term(const uint8_t *t, size_t n, uint32_t declared,
                              size_t *len) {
  uLongf zlen = compressBound(n);
  uint8_t *b = malloc(6 + zlen + 4);
  b[0] = 131, b[1] = 80;
  otpc__put32(b + 2, declared);
  assert_int_equal(compress(b + 6, &zlen, t, n), Z_OK);
  *len = 6 + zlen;
  return b;
}

static void test_compressed_bad(void **state) {
  (void)state;
  otpc_msg_t *m = NULL;
  otpc_err_t err;
  const uint8_t *t = fx_nested + 1;
  size_t n = sizeof fx_nested - 1, len;
  uint8_t *b = compress_term(t, n, (uint32_t)n, &len);
  assert_int_equal(otpc_msg_decode(b, len, &m, &err), 0);
  otpc_msg_unref(m);

  /* Declared size one off either way. */
  otpc__put32(b + 2, (uint32_t)n + 1);
  assert_int_equal(otpc_msg_decode(b, len, &m, &err), OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "inflates to"));
  otpc__put32(b + 2, (uint32_t)n - 1);
  assert_int_equal(otpc_msg_decode(b, len, &m, &err), OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "more than the declared size"));
  /* Over the cap, and impossible for so few bytes. */
  otpc__put32(b + 2, (1u << 30) + 1);
  assert_int_equal(otpc_msg_decode(b, len, &m, &err), OTPC_ELIMIT);
  otpc__put32(b + 2, 1u << 30);
  assert_int_equal(otpc_msg_decode(b, len, &m, &err), OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "impossible"));
  otpc__put32(b + 2, 0);
  assert_int_equal(otpc_msg_decode(b, len, &m, &err), OTPC_EBADTERM);
  otpc__put32(b + 2, (uint32_t)n);

  /* Trailing bytes after the stream, and a corrupt stream. */
  b[len] = 0;
  assert_int_equal(otpc_msg_decode(b, len + 1, &m, &err), OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "trailing"));
  b[8] ^= 0x55;
  assert_int_equal(otpc_msg_decode(b, len, &m, &err), OTPC_EBADTERM);
  b[8] ^= 0x55;

  /* Every truncation, in a buffer of exactly that size. */
  for (size_t i = 0; i < len; i++) {
    uint8_t *c = malloc(i ? i : 1);
    memcpy(c, b, i);
    assert_int_equal(otpc_msg_decode(c, i, &m, &err), OTPC_EBADTERM);
    free(c);
  }
  free(b);

  /* Valid zlib around an invalid term, and around another compressed term. */
  static const uint8_t bad_term[] = {104, 2, 97, 1};
  b = compress_term(bad_term, sizeof bad_term, sizeof bad_term, &len);
  assert_int_equal(otpc_msg_decode(b, len, &m, &err), OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "where a term was expected"));
  free(b);
  static const uint8_t inner[] = {80, 0, 0, 0, 1, 0};
  b = compress_term(inner, sizeof inner, sizeof inner, &len);
  assert_int_equal(otpc_msg_decode(b, len, &m, &err), OTPC_EBADTERM);
  free(b);
}

static void test_from_term(void **state) {
  (void)state;
  otpc_msg_t *m, *m2;
  otpc_term_t t, e;
  assert_int_equal(otpc_term_from_ext(fx_nested, sizeof fx_nested, &t, NULL),
                   0);
  assert_int_equal(otpc_term_element(t, 1, &e), 0);
  assert_int_equal(otpc_msg_from_term(e, &m), 0);
  size_t len;
  const uint8_t *ext = otpc_msg_ext(m, &len);
  assert_int_equal(len, e.len + 1);
  assert_int_equal(ext[0], 131);
  assert_memory_equal(ext + 1, e.p, e.len);
  assert_int_equal(otpc_term_from_ext(ext, len, NULL, NULL), 0);
  m2 = otpc_msg_ref(m);
  assert_ptr_equal(m, m2);
  otpc_msg_unref(m);
  /* Still alive through the second reference. */
  assert_int_equal(otpc_msg_term(m2).len, e.len);
  otpc_msg_unref(m2);
  otpc_term_t empty = {NULL, 0};
  assert_int_equal(otpc_msg_from_term(empty, &m), OTPC_EINVAL);
}

static void test_build(void **state) {
  (void)state;
  otpc_msg_t *m;
  otpc_err_t err;
  assert_int_equal(otpc_msg_build(&m, &err, "{ok, ~i}", 7), 0);
  size_t len;
  const uint8_t *ext = otpc_msg_ext(m, &len);
  static const uint8_t want[] = {131, 104, 2, 119, 2, 'o', 'k', 97, 7};
  assert_int_equal(len, sizeof want);
  assert_memory_equal(ext, want, sizeof want);
  /* The builder's slack was given back: header and bytes only. */
  assert_true(otpc_msg_size(m) >= len && otpc_msg_size(m) <= len + 32);
  otpc_msg_unref(m);
  assert_int_equal(otpc_msg_build(&m, &err, "{ok"), OTPC_EBADFMT);
}

#define SHARERS 4

static void *sharer(void *arg) {
  otpc_msg_t *m = arg;
  for (int i = 0; i < 100000; i++)
    otpc_msg_unref(otpc_msg_ref(m));
  /* Each thread was handed one reference and drops it. */
  otpc_msg_unref(m);
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  otpc_msg_t *m;
  pthread_t th[SHARERS];
  assert_int_equal(otpc_msg_decode(fx_map, sizeof fx_map, &m, NULL), 0);
  for (int i = 0; i < SHARERS; i++)
    pthread_create(&th[i], NULL, sharer, otpc_msg_ref(m));
  otpc_msg_unref(m);
  for (int i = 0; i < SHARERS; i++)
    pthread_join(th[i], NULL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain),          cmocka_unit_test(test_compressed),
      cmocka_unit_test(test_compressed_bad), cmocka_unit_test(test_from_term),
      cmocka_unit_test(test_build),          cmocka_unit_test(test_threads),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
