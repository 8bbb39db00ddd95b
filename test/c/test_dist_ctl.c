/* Unit tests of control messages: the ones a real OTP 25.2.3 node sent
 * (dist_fixtures.h, see test_dist_frame.c) decode, and encode back to the
 * same bytes; malformed ones fail with a message naming the element. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "../../cnode/dist/dist_ctl.h"
#include "../../cnode/dist/dist_frame.h"
#include "dist_fixtures.h"

/* Splits a 131,68,0 frame into control and payload views. */
static void split(const uint8_t *f, size_t len, otpc_term_t *ctl,
                  otpc_term_t *pay) {
  otpc__dist_in_t in;
  otpc__dist_msg_t m;
  assert_int_equal(otpc__dist_in_init(&in, OTPC__DIST_HDR_FRAG, 0), 0);
  assert_int_equal(otpc__dist_in_frame(&in, f, len, &m, NULL), OTPC__DIST_MSG);
  *ctl = m.ctl;
  *pay = m.payload;
  otpc__dist_in_free(&in);
}

static void roundtrip(const otpc__dctl_t *c, otpc_term_t ctl) {
  otpc_buf_t b = {0};
  otpc_err_t err;
  assert_int_equal(otpc__dctl_encode(&b, c, &err), 0);
  assert_int_equal(b.len, ctl.len);
  assert_memory_equal(b.data, ctl.p, ctl.len);
  otpc_buf_free(&b);
}

static void test_beam_messages(void **state) {
  (void)state;
  otpc_atom_t beam, fake;
  assert_int_equal(otpc_atom("frbeamfrag@vm", &beam), 0);
  assert_int_equal(otpc_atom("frfrag@vm", &fake), 0);
  otpc_term_t ctl, pay;
  otpc__dctl_t c;
  otpc_err_t err;

  split(beam_link, sizeof beam_link, &ctl, &pay);
  assert_int_equal(otpc__dctl_decode(ctl, pay, beam, &c, &err), 0);
  assert_int_equal(c.op, OTPC__DOP_LINK);
  assert_int_equal(c.from.node, beam);
  assert_int_equal(c.to.node, fake);
  assert_int_equal(c.to.id, 1);
  roundtrip(&c, ctl);
  /* The same LINK from another connection's node is invalid. */
  assert_int_equal(otpc__dctl_decode(ctl, pay, fake, &c, &err), OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "a pid of the sending node"));

  split(beam_unlink_id, sizeof beam_unlink_id, &ctl, &pay);
  assert_int_equal(otpc__dctl_decode(ctl, pay, beam, &c, &err), 0);
  assert_int_equal(c.op, OTPC__DOP_UNLINK_ID);
  assert_true(c.id > 0);
  roundtrip(&c, ctl);

  split(beam_monitor_p, sizeof beam_monitor_p, &ctl, &pay);
  assert_int_equal(otpc__dctl_decode(ctl, pay, beam, &c, &err), 0);
  assert_int_equal(c.op, OTPC__DOP_MONITOR_P);
  assert_int_equal(c.to_name, OTPC_ATOM_NONE);
  assert_int_equal(c.ref.node, beam);
  roundtrip(&c, ctl);
  otpc_ref_t mref = c.ref;

  split(beam_demonitor_p, sizeof beam_demonitor_p, &ctl, &pay);
  assert_int_equal(otpc__dctl_decode(ctl, pay, beam, &c, &err), 0);
  assert_int_equal(c.op, OTPC__DOP_DEMONITOR_P);
  assert_memory_equal(&c.ref, &mref, sizeof mref);
  roundtrip(&c, ctl);

  split(beam_payload_exit2, sizeof beam_payload_exit2, &ctl, &pay);
  assert_int_equal(otpc__dctl_decode(ctl, pay, beam, &c, &err), 0);
  assert_int_equal(c.op, OTPC__DOP_PAYLOAD_EXIT2);
  assert_true(otpc_term_is_atom(c.reason, "some_reason"));
  roundtrip(&c, ctl);

  split(beam_send_sender_string, sizeof beam_send_sender_string, &ctl, &pay);
  assert_int_equal(otpc__dctl_decode(ctl, pay, beam, &c, &err), 0);
  assert_int_equal(c.op, OTPC__DOP_SEND_SENDER);
  assert_ptr_equal(c.payload.p, pay.p);
  roundtrip(&c, ctl);
  /* Without its payload, SEND_SENDER is malformed. */
  otpc_term_t none = {NULL, 0};
  assert_int_equal(otpc__dctl_decode(ctl, none, beam, &c, &err), OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "payload is missing"));
}

/* Decodes a control term built from a format (and a payload format, or
 * NULL); returns the decoder's result. */
static int dec(otpc__dctl_t *c, otpc_err_t *err, const char *ctl_fmt,
               const char *pay_fmt) {
  static otpc_buf_t b1, b2;
  b1.len = b2.len = 0;
  assert_int_equal(otpc_term_build(&b1, NULL, ctl_fmt), 0);
  otpc_term_t ctl = {b1.data, b1.len}, pay = {NULL, 0};
  if (pay_fmt) {
    assert_int_equal(otpc_term_build(&b2, NULL, pay_fmt), 0);
    pay.p = b2.data;
    pay.len = b2.len;
  }
  return otpc__dctl_decode(ctl, pay, OTPC_ATOM_NONE, c, err);
}

static void test_every_op_roundtrips(void **state) {
  (void)state;
  otpc_pid_t p1 = {0}, p2 = {0};
  otpc_atom("a@h", &p1.node);
  otpc_atom("b@h", &p2.node);
  p1.id = 5;
  p2.id = 6;
  p2.creation = 99;
  otpc_ref_t r = {0};
  r.node = p1.node;
  r.len = 3;
  r.id[0] = 1;
  otpc_buf_t tok = {0}, rsn = {0}, opts = {0};
  otpc_term_build(&tok, NULL, "{0, 1, 2, a, 3}");
  otpc_term_build(&rsn, NULL, "{shutdown, 1}");
  otpc_term_build(&opts, NULL, "[link, {priority, high}]");
  for (int op = 1; op <= 36; op++) {
    if (otpc__dop_name(op) == NULL)
      continue;
    otpc__dctl_t c = {0};
    c.op = (otpc__dop_t)op;
    c.from = p1;
    c.to = p2;
    c.gl = p1;
    c.ref = r;
    c.id = UINT64_MAX;
    c.reason = (otpc_term_t){rsn.data, rsn.len};
    c.token = (otpc_term_t){tok.data, tok.len};
    otpc_atom("erlang", &c.mod);
    otpc_atom("apply", &c.fun);
    c.arity = 2;
    c.opts = (otpc_term_t){opts.data, opts.len};
    c.spawn_flags = 3;
    c.result_is_pid = true;
    c.result_pid = p2;
    if (op == OTPC__DOP_REG_SEND || op == OTPC__DOP_REG_SEND_TT ||
        op == OTPC__DOP_MONITOR_P)
      otpc_atom("net_kernel", &c.to_name);
    otpc_buf_t b = {0}, pay = {0};
    otpc_err_t err;
    assert_int_equal(otpc__dctl_encode(&b, &c, &err), 0);
    otpc_term_t ctl, payload = {NULL, 0};
    size_t used;
    assert_int_equal(otpc_term_parse(b.data, b.len, &ctl, &used, &err), 0);
    assert_int_equal(used, b.len);
    if (otpc__dop_has_payload(op)) {
      otpc_term_build(&pay, NULL, "[x, y]");
      payload = (otpc_term_t){pay.data, pay.len};
    }
    otpc__dctl_t d;
    assert_int_equal(otpc__dctl_decode(ctl, payload, p1.node, &d, &err), 0);
    assert_int_equal(d.op, op);
    roundtrip(&d, ctl);
    otpc_buf_free(&b);
    otpc_buf_free(&pay);
  }
  otpc_buf_free(&tok);
  otpc_buf_free(&rsn);
  otpc_buf_free(&opts);
}

static void test_malformed(void **state) {
  (void)state;
  otpc__dctl_t c;
  otpc_err_t err;
  /* Wrong arities, unknown operations, control terms of the wrong shape. */
  assert_int_equal(dec(&c, &err, "{2, '', x, extra}", "m"), OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "SEND: a tuple of 4 elements, expected 3"));
  assert_int_equal(dec(&c, &err, "{1, x, y}", NULL), OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "LINK: element 2 must be a pid, got x"));
  assert_int_equal(dec(&c, &err, "{99, x}", NULL), OTPC_ENOTSUP);
  assert_int_equal(dec(&c, &err, "[1, 2]", NULL), OTPC_EBADTERM);
  assert_int_equal(dec(&c, &err, "{}", NULL), OTPC_EBADTERM);
  assert_int_equal(dec(&c, &err, "{foo, 1}", NULL), OTPC_EBADTERM);
}

/* Elements checked one at a time on otherwise valid messages. */
static void test_element_checks(void **state) {
  (void)state;
  otpc_pid_t p = {0};
  otpc_atom("a@h", &p.node);
  otpc_ref_t r = {0};
  r.node = p.node;
  r.len = 3;
  otpc_buf_t b = {0}, pay = {0};
  otpc_err_t err;
  otpc__dctl_t c;
  otpc_term_t none = {NULL, 0};
#define CHECK(want, msgpart, payfmt, ...)                                      \
  do {                                                                         \
    b.len = pay.len = 0;                                                       \
    assert_int_equal(otpc_term_build(&b, NULL, __VA_ARGS__), 0);               \
    otpc_term_t t = {b.data, b.len}, pl = none;                                \
    if (payfmt) {                                                              \
      otpc_term_build(&pay, NULL, payfmt);                                     \
      pl = (otpc_term_t){pay.data, pay.len};                                   \
    }                                                                          \
    int rc_ = otpc__dctl_decode(t, pl, OTPC_ATOM_NONE, &c, &err);              \
    assert_int_equal(rc_, want);                                               \
    if (rc_ != 0)                                                              \
      assert_non_null(strstr(err.msg, msgpart));                               \
  } while (0)
  CHECK(0, "", "m", "{6, ~p, '', name}", &p);
  CHECK(OTPC_EBADTERM, "element 4 must be an atom", "m", "{6, ~p, '', \"n\"}",
        &p);
  CHECK(OTPC_EBADTERM, "element 2 must be a pid", "m", "{6, x, '', n}");
  CHECK(0, "", NULL, "{35, 1, ~p, ~p}", &p, &p);
  CHECK(0, "", NULL, "{35, 18446744073709551615, ~p, ~p}", &p, &p);
  CHECK(OTPC_EBADTERM, "1 to 2^64-1", NULL, "{35, 0, ~p, ~p}", &p, &p);
  CHECK(OTPC_EBADTERM, "1 to 2^64-1", NULL,
        "{35, 18446744073709551616, ~p, ~p}", &p, &p);
  CHECK(OTPC_EBADTERM, "1 to 2^64-1", NULL, "{35, -1, ~p, ~p}", &p, &p);
  CHECK(OTPC_EBADTERM, "a payload where none belongs", "x", "{1, ~p, ~p}", &p,
        &p);
  CHECK(0, "", NULL, "{19, ~p, some_name, ~r}", &p, &r);
  CHECK(OTPC_EBADTERM, "a reference", NULL, "{19, ~p, ~p, 1}", &p, &p);
  CHECK(0, "", NULL, "{21, name, ~p, ~r, noproc}", &p, &r);
  CHECK(0, "", "[a, b]", "{29, ~r, ~p, ~p, {erlang, apply, 2}, [monitor]}", &r,
        &p, &p);
  CHECK(OTPC_EBADTERM, "{atom, atom, 0..255}", "[]",
        "{29, ~r, ~p, ~p, {erlang, apply, 256}, []}", &r, &p, &p);
  CHECK(OTPC_EBADTERM, "{Module, Function, Arity}", "[]",
        "{29, ~r, ~p, ~p, {erlang, apply}, []}", &r, &p, &p);
  CHECK(OTPC_EBADTERM, "proper list of options", "[]",
        "{29, ~r, ~p, ~p, {m, f, 0}, [a | b]}", &r, &p, &p);
  CHECK(OTPC_EBADTERM, "argument list", "[a | b]",
        "{29, ~r, ~p, ~p, {m, f, 1}, []}", &r, &p, &p);
  CHECK(OTPC_EBADTERM, "element 2 must be a reference", "[]",
        "{29, 1, ~p, ~p, {m, f, 0}, []}", &p, &p);
  CHECK(0, "", NULL, "{31, ~r, ~p, 0, badopt}", &r, &p);
  CHECK(OTPC_EBADTERM, "flags 0..3", NULL, "{31, ~r, ~p, 4, badopt}", &r, &p);
  CHECK(OTPC_EBADTERM, "a pid or an atom", NULL, "{31, ~r, ~p, 0, 1}", &r, &p);
  CHECK(0, "", "m", "{33, ~p, ~r}", &p, &r);
  CHECK(0, "", "m", "{34, ~p, ~r, tok}", &p, &r);
  CHECK(0, "", NULL, "{13, ~p, ~p, tok, normal}", &p, &p);
#undef CHECK
  otpc_buf_free(&b);
  otpc_buf_free(&pay);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_beam_messages),
      cmocka_unit_test(test_every_op_roundtrips),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_element_checks),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
