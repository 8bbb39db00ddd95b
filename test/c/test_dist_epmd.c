/* Unit tests of the epmd protocol codecs and the embedded epmd's registry.
 * The fixtures are bytes captured from OTP 25.2.3's epmd (epmd -port P,
 * driven by a Python script sending raw requests). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../cnode/dist/epmd_proto.h"

#define B(s) ((const uint8_t *)(s)), (sizeof(s) - 1)

static void test_enc_alive2(void **state) {
  (void)state;
  otpc_buf_t b = {0};
  assert_int_equal(
      otpc__epmd_enc_alive2(&b, 5555, OTPC__EPMD_TYPE_NORMAL, "a1", 2, NULL, 0),
      0);
  static const uint8_t want[] = {0, 15, 'x', 0x15, 0xb3, 'M', 0, 0, 6,
                                 0, 6,  0,   2,    'a',  '1', 0, 0};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  otpc_buf_free(&b);
  assert_int_equal(otpc__epmd_enc_alive2(&b, 1, 77, "", 0, NULL, 0),
                   OTPC_EINVAL);
}

static void test_enc_port2_names(void **state) {
  (void)state;
  otpc_buf_t b = {0};
  assert_int_equal(otpc__epmd_enc_port2(&b, "a1", 2), 0);
  assert_int_equal(otpc__epmd_enc_names(&b), 0);
  static const uint8_t want[] = {0, 3, 'z', 'a', '1', 0, 1, 'n'};
  assert_int_equal(b.len, sizeof want);
  assert_memory_equal(b.data, want, sizeof want);
  otpc_buf_free(&b);
}

/* Real epmd: 'v' 0 creation 0x6b026eb2 for 6/6; 'v' 1 creation 99 for a
 * taken name; 'y' 0 creation 3 for a 5/5 registration. */
static void test_dec_alive2_resp(void **state) {
  (void)state;
  static const uint8_t ok[] = {0x76, 0x00, 0x6b, 0x02, 0x6e, 0xb2};
  uint8_t res;
  uint32_t cr;
  for (size_t i = 0; i < sizeof ok; i++)
    assert_int_equal(otpc__epmd_dec_alive2_resp(ok, i, &res, &cr, NULL), 0);
  assert_int_equal(otpc__epmd_dec_alive2_resp(ok, 6, &res, &cr, NULL), 6);
  assert_int_equal(res, 0);
  assert_int_equal(cr, 0x6b026eb2);
  static const uint8_t taken[] = {0x76, 0x01, 0, 0, 0, 0x63};
  assert_int_equal(otpc__epmd_dec_alive2_resp(taken, 6, &res, &cr, NULL), 6);
  assert_int_equal(res, 1);
  static const uint8_t v5[] = {0x79, 0x00, 0x00, 0x03};
  assert_int_equal(otpc__epmd_dec_alive2_resp(v5, 4, &res, &cr, NULL), 4);
  assert_int_equal(res, 0);
  assert_int_equal(cr, 3);
  otpc_err_t err;
  static const uint8_t bad[] = {'w', 1};
  assert_int_equal(otpc__epmd_dec_alive2_resp(bad, 2, &res, &cr, &err),
                   OTPC_EINVAL);
  assert_non_null(strstr(err.msg, "ALIVE2_X_RESP"));
}

static void test_dec_port2_resp(void **state) {
  (void)state;
  /* a2 registered with type 'h', versions 6/5 and extra "xy". */
  static const uint8_t r[] = {0x77, 0x00, 0x15, 0xb3, 0x68, 0x00,
                              0x00, 0x06, 0x00, 0x05, 0x00, 0x02,
                              0x61, 0x32, 0x00, 0x02, 0x78, 0x79};
  bool found;
  otpc__epmd_node_t n;
  for (size_t i = 0; i < sizeof r; i++)
    assert_int_equal(otpc__epmd_dec_port2_resp(r, i, &found, &n, NULL), 0);
  assert_int_equal(otpc__epmd_dec_port2_resp(r, sizeof r, &found, &n, NULL),
                   (int)sizeof r);
  assert_true(found);
  assert_int_equal(n.port, 5555);
  assert_int_equal(n.type, 'h');
  assert_int_equal(n.highest, 6);
  assert_int_equal(n.lowest, 5);
  assert_int_equal(n.name_len, 2);
  assert_memory_equal(n.name, "a2", 2);
  assert_int_equal(n.extra_len, 2);
  assert_memory_equal(n.extra, "xy", 2);
  static const uint8_t none[] = {0x77, 0x01};
  assert_int_equal(otpc__epmd_dec_port2_resp(none, 2, &found, &n, NULL), 2);
  assert_false(found);
}

static void test_dec_names(void **state) {
  (void)state;
  static const char r[] = "\x00\x00\x11\x2f"
                          "name a1 at port 5555\nname a5 at port 5555\n"
                          "name with space at port 65535\n";
  otpc__epmd_names_t it;
  assert_int_equal(
      otpc__epmd_dec_names((const uint8_t *)r, sizeof r - 1, &it, NULL), 0);
  assert_int_equal(it.epmd_port, 4399);
  const uint8_t *name;
  size_t len;
  uint16_t port;
  assert_int_equal(otpc__epmd_names_next(&it, &name, &len, &port, NULL), 1);
  assert_int_equal(len, 2);
  assert_memory_equal(name, "a1", 2);
  assert_int_equal(port, 5555);
  assert_int_equal(otpc__epmd_names_next(&it, &name, &len, &port, NULL), 1);
  assert_int_equal(otpc__epmd_names_next(&it, &name, &len, &port, NULL), 1);
  assert_int_equal(len, 10);
  assert_memory_equal(name, "with space", 10);
  assert_int_equal(port, 65535);
  assert_int_equal(otpc__epmd_names_next(&it, &name, &len, &port, NULL), 0);
  static const char bad[] = "\0\0\0\0name x at port 99999\n";
  assert_int_equal(
      otpc__epmd_dec_names((const uint8_t *)bad, sizeof bad - 1, &it, NULL), 0);
  otpc_err_t err;
  assert_int_equal(otpc__epmd_names_next(&it, &name, &len, &port, &err),
                   OTPC_EINVAL);
  assert_int_equal(otpc__epmd_dec_names((const uint8_t *)bad, 3, &it, NULL),
                   OTPC_EINVAL);
}

static void test_dec_req(void **state) {
  (void)state;
  otpc__epmd_req_t req;
  otpc_err_t err;
  static const uint8_t alive[] = {0, 17, 'x', 0x15, 0xb3, 'h', 0, 0,   6,  0,
                                  5, 0,  2,   'a',  '2',  0,   2, 'x', 'y'};
  for (size_t i = 0; i < sizeof alive; i++)
    assert_int_equal(otpc__epmd_dec_req(alive, i, &req, NULL), 0);
  assert_int_equal(otpc__epmd_dec_req(alive, sizeof alive, &req, NULL),
                   (int)sizeof alive);
  assert_int_equal(req.kind, OTPC__EPMD_REQ_ALIVE2);
  assert_int_equal(req.node.port, 5555);
  assert_int_equal(req.node.highest, 6);
  assert_int_equal(req.node.lowest, 5);
  assert_memory_equal(req.node.name, "a2", 2);
  assert_memory_equal(req.node.extra, "xy", 2);
  assert_int_equal(otpc__epmd_dec_req(B("\0\3za1"), &req, NULL), 5);
  assert_int_equal(req.kind, OTPC__EPMD_REQ_PORT2);
  assert_int_equal(req.name_len, 2);
  assert_int_equal(otpc__epmd_dec_req(B("\0\1n"), &req, NULL), 3);
  assert_int_equal(req.kind, OTPC__EPMD_REQ_NAMES);
  assert_int_equal(otpc__epmd_dec_req(B("\0\1d"), &req, NULL), 3);
  assert_int_equal(req.kind, OTPC__EPMD_REQ_DUMP);
  assert_int_equal(otpc__epmd_dec_req(B("\0\1k"), &req, NULL), 3);
  assert_int_equal(req.kind, OTPC__EPMD_REQ_KILL);
  assert_int_equal(otpc__epmd_dec_req(B("\0\3sc1"), &req, NULL), 5);
  assert_int_equal(req.kind, OTPC__EPMD_REQ_STOP);
  /* What the real epmd closes on: empty, unknown, short ALIVE2. */
  assert_int_equal(otpc__epmd_dec_req(B("\0\0"), &req, &err), OTPC_EINVAL);
  assert_int_equal(otpc__epmd_dec_req(B("\0\1q"), &req, &err), OTPC_EINVAL);
  assert_int_equal(otpc__epmd_dec_req(B("\0\1x"), &req, &err), OTPC_EINVAL);
  assert_non_null(strstr(err.msg, "truncated ALIVE2_REQ"));
  assert_int_equal(otpc__epmd_dec_req(B("\xff\xff"), &req, &err), OTPC_ELIMIT);
}

/* Replays the session captured against the real epmd and checks every
 * response byte for byte (creation from the clock: the real one gave the
 * Unix time, 0x6b026ec3, to three names registered in the same second). */
static void test_srv_like_real_epmd(void **state) {
  (void)state;
  otpc__epmd_srv_t s;
  assert_int_equal(otpc__epmd_srv_init(&s, 4399), 0);
  otpc_buf_t out = {0}, rq = {0};
  otpc__epmd_req_t req;
  bool keep, kill;
  const uint64_t t0 = 0x6b026ec3;
#define ASK(conn, now)                                                         \
  do {                                                                         \
    out.len = 0;                                                               \
    assert_int_equal(otpc__epmd_dec_req(rq.data, rq.len, &req, NULL),          \
                     (int)rq.len);                                             \
    assert_int_equal(                                                          \
        otpc__epmd_srv_handle(&s, conn, &req, now, &out, &keep, &kill, NULL),  \
        0);                                                                    \
    rq.len = 0;                                                                \
  } while (0)
  const char *names[] = {"c1", "c2", "c3"};
  for (int i = 0; i < 3; i++) {
    otpc__epmd_enc_alive2(&rq, 5555, 77, names[i], 2, NULL, 0);
    ASK((uint64_t)i + 1, t0);
    assert_true(keep);
    assert_memory_equal(out.data, "\x76\x00\x6b\x02\x6e\xc3", 6);
  }
  otpc__epmd_enc_alive2(&rq, 5555, 77, "c1", 2, NULL, 0);
  ASK(9, t0);
  assert_false(keep);
  assert_int_equal(out.len, 6);
  assert_memory_equal(out.data, "\x76\x01\x00\x00\x00\x63", 6);
  /* c2 leaves and comes back twice: old creation + 1 each time. */
  otpc__epmd_srv_closed(&s, 2);
  otpc__epmd_enc_alive2(&rq, 5555, 77, "c2", 2, NULL, 0);
  ASK(10, t0 + 1);
  assert_memory_equal(out.data, "\x76\x00\x6b\x02\x6e\xc4", 6);
  otpc__epmd_srv_closed(&s, 10);
  otpc__epmd_enc_alive2(&rq, 5555, 77, "c2", 2, NULL, 0);
  ASK(11, t0 + 1);
  assert_memory_equal(out.data, "\x76\x00\x6b\x02\x6e\xc5", 6);
  otpc__epmd_enc_alive2(&rq, 5555, 77, "c4", 2, NULL, 0);
  ASK(12, t0 + 1);
  assert_memory_equal(out.data, "\x76\x00\x6b\x02\x6e\xc4", 6);
  /* A version-5 registration gets 'y' and a creation in 1..3. */
  static const uint8_t v5[] = {0, 15, 'x', 0x15, 0xb3, 77,  0, 0, 5,
                               0, 5,  0,   2,    'v',  '0', 0, 0};
  otpc_buf_append(&rq, v5, sizeof v5);
  ASK(13, t0 + 1);
  assert_int_equal(out.len, 4);
  assert_memory_equal(out.data, "\x79\x00\x00\x02", 4);
  /* PORT2 for a name, and for an unknown one. */
  otpc__epmd_enc_port2(&rq, "c4", 2);
  ASK(20, t0);
  assert_false(keep);
  static const uint8_t p4[] = {0x77, 0, 0x15, 0xb3, 77,  0,   0, 6,
                               0,    6, 0,    2,    'c', '4', 0, 0};
  assert_int_equal(out.len, sizeof p4);
  assert_memory_equal(out.data, p4, sizeof p4);
  otpc__epmd_enc_port2(&rq, "none", 4);
  ASK(20, t0);
  assert_int_equal(out.len, 2);
  assert_memory_equal(out.data, "\x77\x01", 2);
  /* NAMES: the epmd port, then the newest registration first. */
  otpc__epmd_enc_names(&rq);
  ASK(21, t0);
  static const char want[] = "\x00\x00\x11\x2f"
                             "name v0 at port 5555\n"
                             "name c4 at port 5555\n"
                             "name c2 at port 5555\n"
                             "name c3 at port 5555\n"
                             "name c1 at port 5555\n";
  assert_int_equal(out.len, sizeof want - 1);
  assert_memory_equal(out.data, want, sizeof want - 1);
  /* KILL is refused while nodes live ("NO"), DUMP and STOP get nothing. */
  otpc_buf_append(&rq, "\0\1k", 3);
  ASK(22, t0);
  assert_int_equal(out.len, 2);
  assert_memory_equal(out.data, "NO", 2);
  assert_false(kill);
  otpc_buf_append(&rq, "\0\1d", 3);
  ASK(23, t0);
  assert_int_equal(out.len, 0);
  otpc_buf_append(&rq, "\0\3sc1", 5);
  ASK(24, t0);
  assert_int_equal(out.len, 0);
  assert_false(keep);
  for (uint64_t c = 1; c <= 13; c++)
    otpc__epmd_srv_closed(&s, c);
  otpc_buf_append(&rq, "\0\1k", 3);
  ASK(25, t0);
  assert_memory_equal(out.data, "OK", 2);
  assert_true(kill);
#undef ASK
  otpc_buf_free(&out);
  otpc_buf_free(&rq);
  otpc__epmd_srv_free(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_enc_alive2),
      cmocka_unit_test(test_enc_port2_names),
      cmocka_unit_test(test_dec_alive2_resp),
      cmocka_unit_test(test_dec_port2_resp),
      cmocka_unit_test(test_dec_names),
      cmocka_unit_test(test_dec_req),
      cmocka_unit_test(test_srv_like_real_epmd),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
