/* Unit tests of the port protocol's pure pieces (port/envelope.c): the
 * envelopes from the Erlang side, the options in the environment, and
 * whole outgoing frames. The bytes are what term_to_binary gives. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "otpc/frame.h"
#include "port_internal.h"

/* Builds term_to_binary(fmt) into b (131 first). */
static void ext(otpc_buf_t *b, const char *fmt, ...) {
  otpc_buf_init(b);
  assert_int_equal(otpc_term_put_version(b), 0);
  va_list ap;
  va_start(ap, fmt);
  assert_int_equal(otpc_term_vbuild(b, NULL, fmt, ap), 0);
  va_end(ap);
}

static int decode(otpc_buf_t *b, otpc__prog_msg_t *m, int *has_id,
                  otpc_err_t *err) {
  return otpc__prog_decode(b->data, b->len, m, has_id, err);
}

static void test_call_cast_credit(void **state) {
  (void)state;
  otpc_buf_t b;
  otpc__prog_msg_t m;
  otpc_err_t err;
  int has_id;
  ext(&b, "{call, 18446744073709551615, {echo, [1, 2]}}");
  assert_int_equal(decode(&b, &m, &has_id, &err), 0);
  assert_int_equal(m.kind, OTPC__PROG_CALL);
  assert_true(m.id == UINT64_MAX);
  assert_int_equal(otpc_term_match(m.request, NULL, "{echo, [1, 2]}"), 0);
  otpc_buf_free(&b);

  ext(&b, "{cast, crash}");
  assert_int_equal(decode(&b, &m, &has_id, &err), 0);
  assert_int_equal(m.kind, OTPC__PROG_CAST);
  assert_int_equal(otpc_term_is_atom(m.request, "crash"), 1);
  otpc_buf_free(&b);

  ext(&b, "{credit, 4294967295}");
  assert_int_equal(decode(&b, &m, &has_id, &err), 0);
  assert_int_equal(m.kind, OTPC__PROG_CREDIT);
  assert_true(m.credit == 4294967295u);
  otpc_buf_free(&b);
}

/* Each bad envelope is refused with a sentence saying what was expected. */
static void test_bad_envelopes_explained(void **state) {
  (void)state;
  static const struct {
    const char *fmt, *says;
    int code, has_id;
  } cases[] = {
      {"{call, -1, x}", "0..2^64-1, got one out of that range", OTPC_ENOMATCH,
       0},
      {"{call, 18446744073709551616, x}", "0..2^64-1", OTPC_ENOMATCH, 0},
      {"{call, a, x}", "got an atom", OTPC_ENOMATCH, 0},
      {"{call, 1}", "a call has 3 elements", OTPC_ENOMATCH, 0},
      {"{call, 1, x, y}", "got 4", OTPC_ENOMATCH, 0},
      {"{cast}", "expected {call, Id, Request}", OTPC_ENOMATCH, 0},
      {"{cast, a, b}", "a cast has 2 elements", OTPC_ENOMATCH, 0},
      {"{credit, 0}", "1..4294967295", OTPC_ENOMATCH, 0},
      {"{credit, 4294967296}", "1..4294967295", OTPC_ENOMATCH, 0},
      {"{credit, 1.0}", "{credit, N}", OTPC_ENOMATCH, 0},
      {"{\"call\", 1, x}", "not call, cast or credit", OTPC_ENOMATCH, 0},
      {"[call, 1, x]", "got a list", OTPC_ENOMATCH, 0},
      {"12", "got an integer", OTPC_ENOMATCH, 0},
      {"ok", "got an atom", OTPC_ENOMATCH, 0},
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    otpc_buf_t b;
    otpc__prog_msg_t m;
    otpc_err_t err = {0};
    int has_id = -1;
    ext(&b, cases[i].fmt);
    int rc = decode(&b, &m, &has_id, &err);
    if (rc != cases[i].code || strstr(err.msg, cases[i].says) == NULL)
      fail_msg("%s: got %d \"%s\", expected %d with \"%s\"", cases[i].fmt, rc,
               err.msg, cases[i].code, cases[i].says);
    assert_int_equal(has_id, cases[i].has_id);
    otpc_buf_free(&b);
  }
}

static void test_bad_bytes(void **state) {
  (void)state;
  otpc__prog_msg_t m;
  otpc_err_t err = {0};
  int has_id;
  const uint8_t junk[] = "junk";
  assert_int_equal(otpc__prog_decode(junk, 4, &m, &has_id, &err),
                   OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "131"));
  const uint8_t cut[] = {131, 104, 3, 100, 0, 4, 'c', 'a', 'l', 'l', 97, 9};
  assert_true(otpc__prog_decode(cut, sizeof cut, &m, &has_id, &err) < 0);
  assert_true(otpc__prog_decode(cut, 0, &m, &has_id, &err) < 0);
}

static void test_options(void **state) {
  (void)state;
  otpc_prog_config_t c;
  otpc_err_t err = {0};
  otpc_prog_config_init(&c);
  assert_int_equal(c.packet, 4);
  assert_int_equal(otpc__prog_option(&c, "OTPC_PORT_PACKET", "2", &err), 0);
  assert_int_equal(c.packet, 2);
  assert_int_equal(otpc__prog_option(&c, "OTPC_PORT_IO", "fds", &err), 0);
  assert_int_equal(c.use_fds, 1);
  assert_int_equal(otpc__prog_option(&c, "OTPC_PORT_IO", "stdio", &err), 0);
  assert_int_equal(c.use_fds, 0);
  assert_int_equal(
      otpc__prog_option(&c, "OTPC_PORT_MAX_FRAME", "4294967295", &err), 0);
  assert_true(c.max_frame == 4294967295u);
  assert_int_equal(otpc__prog_option(&c, "OTPC_PORT_WINDOW", "65536", &err), 0);
  assert_int_equal(c.window, 65536);
  static const struct {
    const char *name, *value, *says;
  } bad[] = {
      {"OTPC_PORT_PACKET", "3", "expected 1, 2 or 4"},
      {"OTPC_PORT_PACKET", "", "expected 1, 2 or 4"},
      {"OTPC_PORT_IO", "pipe", "expected stdio or fds"},
      {"OTPC_PORT_MAX_FRAME", "0", "1..4294967295"},
      {"OTPC_PORT_MAX_FRAME", "4294967296", "1..4294967295"},
      {"OTPC_PORT_MAX_FRAME", "99999999999999999999999", "decimal"},
      {"OTPC_PORT_MAX_FRAME", "12k", "decimal"},
      {"OTPC_PORT_MAX_FRAME", "-1", "decimal"},
      {"OTPC_PORT_WINDOW", "65537", "1..65536"},
      {"OTPC_PORT_WINDOW", "", "decimal"},
      {"OTPC_PORT_COLOUR", "red", "unknown option"},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    int rc = otpc__prog_option(&c, bad[i].name, bad[i].value, &err);
    if (rc != OTPC_EINVAL || strstr(err.msg, bad[i].says) == NULL ||
        (strstr(err.msg, bad[i].name) == NULL &&
         i + 1 < sizeof bad / sizeof bad[0]))
      fail_msg("%s=%s: got %d \"%s\"", bad[i].name, bad[i].value, rc, err.msg);
  }
  /* Failed options left the good values alone. */
  assert_int_equal(c.packet, 2);
  assert_int_equal(c.window, 65536);
}

static void test_frames_out(void **state) {
  (void)state;
  const unsigned sizes[] = {1, 2, 4};
  for (size_t s = 0; s < 3; s++) {
    otpc_buf_t out;
    otpc_buf_init(&out);
    assert_int_equal(otpc_buf_append(&out, "x", 1), 0);
    assert_int_equal(
        otpc__prog_frame(&out, sizes[s], 1000, "{reply, ~U, ok}", (uint64_t)7),
        0);
    /* Decoded back by the framer, the body is term_to_binary({reply,7,ok}).
     */
    const uint8_t want[] = {131, 104, 3,  119, 5,   'r', 'e', 'p',
                            'l', 'y', 97, 7,   119, 2,   'o', 'k'};
    otpc_framer_t f;
    const uint8_t *frame;
    size_t len;
    assert_int_equal(otpc_framer_init(&f, sizes[s], 1000), 0);
    assert_int_equal(otpc_framer_feed(&f, out.data + 1, out.len - 1), 0);
    assert_int_equal(otpc_framer_next(&f, &frame, &len, NULL), 1);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(frame, want, sizeof want);
    otpc_framer_free(&f);
    /* Over the maximum: refused, the buffer as it was. */
    assert_int_equal(
        otpc__prog_frame(&out, sizes[s], 10, "{reply, ~U, ok}", (uint64_t)7),
        OTPC_ELIMIT);
    assert_int_equal(out.len, 1 + sizes[s] + sizeof want);
    otpc_buf_free(&out);
  }
  /* Over what a 1-byte header can say, whatever the maximum. */
  otpc_buf_t out;
  otpc_buf_init(&out);
  char big[300];
  memset(big, 'a', sizeof big);
  assert_int_equal(otpc__prog_frame(&out, 1, 100000, "~b", big, sizeof big),
                   OTPC_ELIMIT);
  assert_int_equal(out.len, 0);
  otpc_buf_free(&out);
}

/* The signal handler's hand-made frame is what the builder (and so
 * term_to_binary) gives, for ids of every encoded size. */
static void test_crash_frame(void **state) {
  (void)state;
  const uint64_t ids[] = {
      0, 255, 256, 0x7FFFFFFFu, 0x80000000u, 0xFFFFFFFFFFull, UINT64_MAX};
  for (size_t i = 0; i <= sizeof ids / sizeof ids[0]; i++) {
    int has_id = i < sizeof ids / sizeof ids[0];
    uint8_t got[OTPC__CRASH_FRAME_MAX];
    size_t n = otpc__prog_crash_frame(got, 2, 11, has_id, has_id ? ids[i] : 0);
    otpc_buf_t want;
    otpc_buf_init(&want);
    if (has_id)
      assert_int_equal(
          otpc__prog_frame(&want, 2, 100, "{crashed, 11, ~U}", ids[i]), 0);
    else
      assert_int_equal(
          otpc__prog_frame(&want, 2, 100, "{crashed, 11, undefined}"), 0);
    assert_int_equal(n, want.len);
    assert_memory_equal(got, want.data, n);
    otpc_buf_free(&want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_call_cast_credit),
      cmocka_unit_test(test_bad_envelopes_explained),
      cmocka_unit_test(test_bad_bytes),
      cmocka_unit_test(test_options),
      cmocka_unit_test(test_frames_out),
      cmocka_unit_test(test_crash_frame),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
