/* Unit tests of distribution frames, headers and fragments. The fixtures
 * (dist_fixtures.h) are the frames a real OTP 25.2.3 node sent to a fake
 * node after a handshake with our flags (beam_*: FRAGMENTS negotiated, so
 * 131,68 headers) and without FRAGMENTS (pass_*: 'p' framing). Its process
 * got {FakePid, Bin} with a 153,600-byte binary (bytes 0..255 repeated)
 * and did link, P ! Bin, unlink, monitor, demonitor, exit(P, some_reason),
 * P ! [1,2,3]: LINK, SEND_SENDER (in three fragments: 65555, 65554 and
 * 22607 bytes), UNLINK_ID, MONITOR_P, DEMONITOR_P, PAYLOAD_EXIT2,
 * SEND_SENDER. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../cnode/dist/dist_frame.h"
#include "dist_fixtures.h"

#define BIG 153600u

/* The payload the BEAM sent: BINARY_EXT of BIG bytes 0..255 repeated. */
static uint8_t *big_payload(size_t *len) {
  uint8_t *p = malloc(5 + BIG);
  p[0] = 109;
  p[1] = 0;
  p[2] = 0x02;
  p[3] = 0x58;
  p[4] = 0;
  for (size_t i = 0; i < BIG; i++)
    p[5 + i] = (uint8_t)i;
  *len = 5 + BIG;
  return p;
}

static uint8_t *cat(const uint8_t *a, size_t an, const uint8_t *b, size_t bn) {
  uint8_t *p = malloc(an + bn + 1);
  memcpy(p, a, an);
  memcpy(p + an, b, bn);
  return p;
}

/* BEAM's three fragments, rebuilt around the known payload. */
static uint8_t *beam_frag(int i, const uint8_t *pay, size_t *len) {
  size_t ctl = sizeof beam_sendsender_frag1_head - 19;
  size_t first = 65536 - ctl;
  if (i == 0) {
    *len = BEAM_SENDSENDER_FRAG1_LEN;
    return cat(beam_sendsender_frag1_head, sizeof beam_sendsender_frag1_head,
               pay, first);
  }
  if (i == 1) {
    *len = BEAM_SENDSENDER_FRAG2_LEN;
    return cat(beam_sendsender_frag2_head, 18, pay + first, 65536);
  }
  *len = BEAM_SENDSENDER_FRAG3_LEN;
  return cat(beam_sendsender_frag3_head, 18, pay + first + 65536,
             BEAM_SENDSENDER_FRAG3_LEN - 18);
}

static void test_mode(void **state) {
  (void)state;
  assert_int_equal(otpc__dist_mode(0xD07DF5FBCull), OTPC__DIST_HDR_FRAG);
  assert_int_equal(otpc__dist_mode(0x2000), OTPC__DIST_HDR);
  assert_int_equal(otpc__dist_mode(0x407074F9Cull), OTPC__DIST_PASS);
}

static void test_beam_header_messages(void **state) {
  (void)state;
  otpc__dist_in_t in;
  assert_int_equal(otpc__dist_in_init(&in, OTPC__DIST_HDR_FRAG, 0), 0);
  otpc__dist_msg_t m;
  otpc_err_t err;
  assert_int_equal(
      otpc__dist_in_frame(&in, beam_link, sizeof beam_link, &m, &err),
      OTPC__DIST_MSG);
  assert_null(m.payload.p);
  assert_null(m.owned);
  assert_ptr_equal(m.ctl.p, beam_link + 3);
  assert_int_equal(m.ctl.len, sizeof beam_link - 3);
  assert_int_equal(otpc__dist_in_frame(&in, beam_payload_exit2,
                                       sizeof beam_payload_exit2, &m, &err),
                   OTPC__DIST_MSG);
  assert_true(otpc_term_is_atom(m.payload, "some_reason"));
  assert_int_equal(otpc__dist_in_frame(&in, beam_send_sender_string,
                                       sizeof beam_send_sender_string, &m,
                                       &err),
                   OTPC__DIST_MSG);
  assert_int_equal(otpc_term_type(m.payload), OTPC_T_LIST);
  assert_int_equal(otpc__dist_in_frame(&in, NULL, 0, &m, &err),
                   OTPC__DIST_TICK);
  otpc__dist_in_free(&in);
}

static void test_beam_fragments(void **state) {
  (void)state;
  size_t plen;
  uint8_t *pay = big_payload(&plen);
  otpc__dist_in_t in;
  assert_int_equal(otpc__dist_in_init(&in, OTPC__DIST_HDR_FRAG, 0), 0);
  otpc__dist_msg_t m;
  otpc_err_t err;
  uint8_t *f[3];
  size_t fl[3];
  for (int i = 0; i < 3; i++)
    f[i] = beam_frag(i, pay, &fl[i]);
  assert_int_equal(otpc__dist_in_frame(&in, f[0], fl[0], &m, &err),
                   OTPC__DIST_PARTIAL);
  /* A tick and a whole message may come between fragments. */
  assert_int_equal(otpc__dist_in_frame(&in, NULL, 0, &m, &err),
                   OTPC__DIST_TICK);
  assert_int_equal(
      otpc__dist_in_frame(&in, beam_link, sizeof beam_link, &m, &err),
      OTPC__DIST_MSG);
  assert_int_equal(otpc__dist_in_frame(&in, f[1], fl[1], &m, &err),
                   OTPC__DIST_PARTIAL);
  assert_int_equal(in.nseqs, 1);
  assert_int_equal(otpc__dist_in_frame(&in, f[2], fl[2], &m, &err),
                   OTPC__DIST_MSG);
  assert_non_null(m.owned);
  assert_int_equal(m.payload.len, plen);
  assert_memory_equal(m.payload.p, pay, plen);
  assert_memory_equal(m.ctl.p, beam_sendsender_frag1_head + 19, m.ctl.len);
  assert_int_equal(in.nseqs, 0);
  assert_int_equal(in.pending, 0);
  free(m.owned);
  /* Our fragmenter splits the same message exactly as the BEAM did. */
  otpc__dist_frag_t fr;
  otpc_term_t ctl = {beam_sendsender_frag1_head + 19,
                     sizeof beam_sendsender_frag1_head - 19};
  assert_int_equal(
      otpc__dist_frag_init(&fr, 0x4800000093ull, ctl, pay, plen, 0), 0);
  for (int i = 0; i < 3; i++) {
    otpc_buf_t out = {0};
    const uint8_t *chunk;
    size_t cl;
    assert_int_equal(otpc__dist_frag_next(&fr, &out, &chunk, &cl),
                     i < 2 ? 1 : 0);
    assert_int_equal(out.len - 4 + cl, fl[i]);
    assert_int_equal(out.data[0] << 24 | out.data[1] << 16 | out.data[2] << 8 |
                         out.data[3],
                     fl[i]);
    assert_memory_equal(out.data + 4, f[i], out.len - 4);
    assert_memory_equal(chunk, f[i] + out.len - 4, cl);
    otpc_buf_free(&out);
  }
  for (int i = 0; i < 3; i++)
    free(f[i]);
  free(pay);
  otpc__dist_in_free(&in);
}

static void test_pass_through(void **state) {
  (void)state;
  otpc__dist_in_t in;
  assert_int_equal(otpc__dist_in_init(&in, OTPC__DIST_PASS, 0), 0);
  otpc__dist_msg_t m;
  otpc_err_t err;
  assert_int_equal(
      otpc__dist_in_frame(&in, pass_link, sizeof pass_link, &m, &err),
      OTPC__DIST_MSG);
  assert_null(m.payload.p);
  /* Our head for the same control term is BEAM's frame. */
  otpc_buf_t out = {0};
  assert_int_equal(otpc__dist_enc_head(&out, OTPC__DIST_PASS, m.ctl, 0, &err),
                   0);
  assert_int_equal(out.len, 4 + sizeof pass_link);
  assert_memory_equal(out.data + 4, pass_link, sizeof pass_link);
  out.len = 0;
  assert_int_equal(otpc__dist_in_frame(&in, pass_payload_exit2,
                                       sizeof pass_payload_exit2, &m, &err),
                   OTPC__DIST_MSG);
  assert_true(otpc_term_is_atom(m.payload, "some_reason"));
  assert_int_equal(
      otpc__dist_enc_head(&out, OTPC__DIST_PASS, m.ctl, m.payload.len, &err),
      0);
  assert_int_equal(out.len + m.payload.len, 4 + sizeof pass_payload_exit2);
  assert_memory_equal(out.data + 4, pass_payload_exit2, out.len - 4);
  otpc_buf_free(&out);
  /* The big SEND_SENDER in one frame. */
  size_t plen;
  uint8_t *pay = big_payload(&plen);
  uint8_t *f =
      cat(pass_send_sender_head, sizeof pass_send_sender_head, pay, plen);
  assert_int_equal(otpc__dist_in_frame(&in, f, PASS_SEND_SENDER_LEN, &m, &err),
                   OTPC__DIST_MSG);
  assert_int_equal(m.payload.len, plen);
  /* A header frame is wrong here. */
  assert_int_equal(
      otpc__dist_in_frame(&in, beam_link, sizeof beam_link, &m, &err),
      OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "expected 112"));
  free(f);
  free(pay);
  otpc__dist_in_free(&in);
}

static void test_header_errors(void **state) {
  (void)state;
  otpc__dist_in_t in;
  assert_int_equal(otpc__dist_in_init(&in, OTPC__DIST_HDR_FRAG, 200), 0);
  otpc__dist_msg_t m;
  otpc_err_t err;
  /* 'p' framing once headers are negotiated: corrupted header. */
  assert_int_equal(
      otpc__dist_in_frame(&in, pass_link, sizeof pass_link, &m, &err),
      OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "corrupted distribution header"));
  /* Atom cache refs. */
  uint8_t ac[sizeof beam_link];
  memcpy(ac, beam_link, sizeof ac);
  ac[2] = 2;
  assert_int_equal(otpc__dist_in_frame(&in, ac, sizeof ac, &m, &err),
                   OTPC_ENOTSUP);
  assert_non_null(strstr(err.msg, "2 atom cache refs"));
  /* Trailing bytes after the payload. */
  uint8_t tr[sizeof beam_payload_exit2 + 1];
  memcpy(tr, beam_payload_exit2, sizeof beam_payload_exit2);
  tr[sizeof tr - 1] = 106;
  assert_int_equal(otpc__dist_in_frame(&in, tr, sizeof tr, &m, &err),
                   OTPC_EBADTERM);
  /* Unknown tag, truncated control term. */
  assert_int_equal(
      otpc__dist_in_frame(&in, (const uint8_t *)"\x83\x47", 2, &m, &err),
      OTPC_EBADTERM);
  assert_int_equal(otpc__dist_in_frame(&in, beam_link, 10, &m, &err),
                   OTPC_EBADTERM);
  /* Over the maximum message size (200). */
  size_t plen;
  uint8_t *pay = big_payload(&plen);
  uint8_t *f = beam_frag(0, pay, &plen);
  assert_int_equal(otpc__dist_in_frame(&in, f, plen, &m, &err), OTPC_ELIMIT);
  free(f);
  free(pay);
  otpc__dist_in_free(&in);
}

/* drop_over: messages over the maximum, fragmented or not, are read past
 * and reported with their control term and size; others go on. */
static void test_drop_over(void **state) {
  (void)state;
  otpc__dist_in_t in;
  assert_int_equal(otpc__dist_in_init(&in, OTPC__DIST_HDR_FRAG, 200), 0);
  in.drop_over = true;
  otpc__dist_msg_t m;
  otpc_err_t err;
  size_t plen;
  uint8_t *pay = big_payload(&plen);
  uint8_t *f[3];
  size_t fl[3];
  for (int i = 0; i < 3; i++)
    f[i] = beam_frag(i, pay, &fl[i]);
  otpc_term_t ctl = {beam_sendsender_frag1_head + 19,
                     sizeof beam_sendsender_frag1_head - 19};
  assert_int_equal(otpc__dist_in_frame(&in, f[0], fl[0], &m, &err),
                   OTPC__DIST_PARTIAL);
  assert_int_equal(
      otpc__dist_in_frame(&in, beam_link, sizeof beam_link, &m, &err),
      OTPC__DIST_MSG);
  assert_int_equal(otpc__dist_in_frame(&in, f[1], fl[1], &m, &err),
                   OTPC__DIST_PARTIAL);
  assert_int_equal(in.pending, ctl.len);
  assert_int_equal(otpc__dist_in_frame(&in, f[2], fl[2], &m, &err),
                   OTPC__DIST_DROPPED);
  assert_int_equal(m.size, ctl.len + plen);
  assert_int_equal(m.ctl.len, ctl.len);
  assert_memory_equal(m.ctl.p, ctl.p, ctl.len);
  assert_null(m.payload.p);
  assert_int_equal(in.nseqs, 0);
  assert_int_equal(in.pending, 0);
  free(m.owned);
  /* One frame over the maximum: 131,68,0, the control term, 300 bytes. */
  otpc_buf_t one = {0};
  otpc_buf_append(&one, "\x83\x44\x00", 3);
  otpc_buf_append(&one, ctl.p, ctl.len);
  otpc_buf_append(&one, pay, 300);
  assert_int_equal(otpc__dist_in_frame(&in, one.data, one.len, &m, &err),
                   OTPC__DIST_DROPPED);
  assert_int_equal(m.size, ctl.len + 300);
  assert_null(m.owned);
  assert_int_equal(
      otpc__dist_in_frame(&in, beam_link, sizeof beam_link, &m, &err),
      OTPC__DIST_MSG);
  otpc_buf_free(&one);
  for (int i = 0; i < 3; i++)
    free(f[i]);
  free(pay);
  otpc__dist_in_free(&in);
}

/* Our own fragments: interleaved sequences, the limits, the wrong orders. */
static void test_fragment_rules(void **state) {
  (void)state;
  otpc_term_t ctl = {beam_link + 3, sizeof beam_link - 3};
  uint8_t pay[1000];
  pay[0] = 109;
  pay[1] = pay[2] = 0;
  pay[3] = (uint8_t)((sizeof pay - 5) >> 8);
  pay[4] = (uint8_t)(sizeof pay - 5);
  for (size_t i = 5; i < sizeof pay; i++)
    pay[i] = (uint8_t)(i * 7);
  otpc__dist_frag_t a, b;
  assert_int_equal(otpc__dist_frag_init(&a, 1, ctl, pay, sizeof pay, 100), 0);
  assert_int_equal(otpc__dist_frag_init(&b, 2, ctl, pay, sizeof pay, 100), 0);
  assert_int_equal(a.left, 11);
  otpc__dist_in_t in;
  assert_int_equal(otpc__dist_in_init(&in, OTPC__DIST_HDR_FRAG, 4096), 0);
  otpc_err_t err;
  int done = 0;
  for (int k = 0; k < 22; k++) {
    otpc__dist_frag_t *fr = k % 2 ? &b : &a;
    otpc_buf_t out = {0};
    const uint8_t *chunk;
    size_t cl;
    int more = otpc__dist_frag_next(fr, &out, &chunk, &cl);
    assert_true(more >= 0);
    otpc_buf_append(&out, chunk, cl);
    otpc__dist_msg_t m;
    int rc = otpc__dist_in_frame(&in, out.data + 4, out.len - 4, &m, &err);
    if (more) {
      assert_int_equal(rc, OTPC__DIST_PARTIAL);
    } else {
      assert_int_equal(rc, OTPC__DIST_MSG);
      assert_int_equal(m.payload.len, sizeof pay);
      assert_memory_equal(m.payload.p, pay, sizeof pay);
      free(m.owned);
      done++;
    }
    otpc_buf_free(&out);
  }
  assert_int_equal(done, 2);
  /* Continuation of an unknown sequence; a wrong fragment id; a start of a
   * sequence already under way; fragment id 0. */
  uint8_t h[64] = {131, 70, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 1};
  otpc__dist_msg_t m;
  assert_int_equal(otpc__dist_in_frame(&in, h, 18, &m, &err), OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "never started"));
  uint8_t s[128] = {131, 69, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 3, 0};
  memcpy(s + 19, ctl.p, ctl.len);
  assert_int_equal(otpc__dist_in_frame(&in, s, 19 + ctl.len, &m, &err),
                   OTPC__DIST_PARTIAL);
  assert_int_equal(otpc__dist_in_frame(&in, s, 19 + ctl.len, &m, &err),
                   OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "already under way"));
  assert_int_equal(otpc__dist_in_frame(&in, h, 18, &m, &err), OTPC_EBADTERM);
  assert_non_null(strstr(err.msg, "expected 2"));
  s[9] = 10;
  s[17] = 0;
  assert_int_equal(otpc__dist_in_frame(&in, s, 19 + ctl.len, &m, &err),
                   OTPC_EBADTERM);
  /* Too many sequences at once, and too many pending bytes. */
  in.max_seqs = 1;
  s[17] = 2;
  assert_int_equal(otpc__dist_in_frame(&in, s, 19 + ctl.len, &m, &err),
                   OTPC_ELIMIT);
  otpc__dist_in_free(&in);
  assert_int_equal(otpc__dist_in_init(&in, OTPC__DIST_HDR_FRAG, 4096), 0);
  in.max_pending = 100;
  uint8_t big[200] = {0};
  memcpy(big, s, 19 + ctl.len);
  assert_int_equal(otpc__dist_in_frame(&in, big, sizeof big, &m, &err),
                   OTPC_ELIMIT);
  assert_int_equal(in.nseqs, 0);
  assert_int_equal(in.pending, 0);
  otpc__dist_in_free(&in);
}

static void test_small_message_not_fragmented(void **state) {
  (void)state;
  otpc_term_t ctl = {beam_payload_exit2 + 3, 0};
  size_t used;
  assert_int_equal(otpc_term_parse(beam_payload_exit2 + 3,
                                   sizeof beam_payload_exit2 - 3, &ctl, &used,
                                   NULL),
                   0);
  const uint8_t *pay = beam_payload_exit2 + 3 + used;
  size_t plen = sizeof beam_payload_exit2 - 3 - used;
  otpc__dist_frag_t f;
  assert_int_equal(otpc__dist_frag_init(&f, 5, ctl, pay, plen, 0), 0);
  otpc_buf_t out = {0};
  const uint8_t *chunk;
  size_t cl;
  assert_int_equal(otpc__dist_frag_next(&f, &out, &chunk, &cl), 0);
  otpc_buf_append(&out, chunk, cl);
  assert_int_equal(out.len, 4 + sizeof beam_payload_exit2);
  assert_memory_equal(out.data + 4, beam_payload_exit2,
                      sizeof beam_payload_exit2);
  out.len = 0;
  assert_int_equal(otpc__dist_enc_tick(&out), 0);
  assert_memory_equal(out.data, "\0\0\0\0", 4);
  otpc_buf_free(&out);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_mode),
      cmocka_unit_test(test_beam_header_messages),
      cmocka_unit_test(test_beam_fragments),
      cmocka_unit_test(test_drop_over),
      cmocka_unit_test(test_pass_through),
      cmocka_unit_test(test_header_errors),
      cmocka_unit_test(test_fragment_rules),
      cmocka_unit_test(test_small_message_not_fragmented),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
