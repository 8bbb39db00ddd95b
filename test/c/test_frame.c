/* Unit tests of {packet, N} framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "otpc/frame.h"

static void test_init_rejects_bad_sizes(void **state) {
  (void)state;
  otpc_framer_t f;
  assert_int_equal(otpc_framer_init(&f, 3, 100), OTPC_EINVAL);
  assert_int_equal(otpc_framer_init(&f, 0, 100), OTPC_EINVAL);
  assert_int_equal(otpc_framer_init(&f, 4, 0), OTPC_EINVAL);
}

/* Every split of a stream of three frames into two feeds gives the same
 * frames, for each header size. */
static void test_frames_survive_any_split(void **state) {
  (void)state;
  const unsigned sizes[] = {1, 2, 4};
  for (size_t s = 0; s < 3; s++) {
    unsigned packet = sizes[s];
    uint8_t stream[64];
    size_t n = 0;
    const char *bodies[] = {"abc", "", "hello world"};
    for (int i = 0; i < 3; i++) {
      size_t len = strlen(bodies[i]);
      int h = otpc_frame_header(stream + n, packet, len);
      assert_int_equal(h, (int)packet);
      n += (size_t)h;
      memcpy(stream + n, bodies[i], len);
      n += len;
    }
    for (size_t cut = 0; cut <= n; cut++) {
      otpc_framer_t f;
      assert_int_equal(otpc_framer_init(&f, packet, 1000), 0);
      int got = 0;
      const uint8_t *frame;
      size_t len;
      assert_int_equal(otpc_framer_feed(&f, stream, cut), 0);
      while (otpc_framer_next(&f, &frame, &len, NULL) == 1) {
        assert_int_equal(len, strlen(bodies[got]));
        assert_memory_equal(frame, bodies[got], len);
        got++;
      }
      assert_int_equal(otpc_framer_feed(&f, stream + cut, n - cut), 0);
      while (otpc_framer_next(&f, &frame, &len, NULL) == 1) {
        assert_int_equal(len, strlen(bodies[got]));
        assert_memory_equal(frame, bodies[got], len);
        got++;
      }
      assert_int_equal(got, 3);
      otpc_framer_free(&f);
    }
  }
}

static void test_oversized_frame_is_refused_from_its_header(void **state) {
  (void)state;
  otpc_framer_t f;
  otpc_err_t err;
  const uint8_t *frame;
  size_t len;
  assert_int_equal(otpc_framer_init(&f, 4, 10), 0);
  const uint8_t hdr[4] = {0, 0, 0, 11};
  assert_int_equal(otpc_framer_feed(&f, hdr, 4), 0);
  assert_int_equal(otpc_framer_next(&f, &frame, &len, &err), OTPC_ELIMIT);
  assert_int_equal(err.code, OTPC_ELIMIT);
  assert_non_null(strstr(err.msg, "11 bytes"));
  assert_non_null(strstr(err.msg, "maximum of 10"));
  otpc_framer_free(&f);
}

static void test_header_range(void **state) {
  (void)state;
  uint8_t hdr[4];
  assert_int_equal(otpc_frame_header(hdr, 1, 255), 1);
  assert_int_equal(otpc_frame_header(hdr, 1, 256), OTPC_ERANGE);
  assert_int_equal(otpc_frame_header(hdr, 2, 65535), 2);
  assert_int_equal(otpc_frame_header(hdr, 2, 65536), OTPC_ERANGE);
  assert_int_equal(otpc_frame_header(hdr, 4, 0x01020304), 4);
  assert_memory_equal(hdr, "\x01\x02\x03\x04", 4);
  assert_int_equal(otpc_frame_header(hdr, 3, 1), OTPC_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_init_rejects_bad_sizes),
      cmocka_unit_test(test_frames_survive_any_split),
      cmocka_unit_test(test_oversized_frame_is_refused_from_its_header),
      cmocka_unit_test(test_header_range),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
