/* Unit tests of the handshake state machine. The fixtures were recorded
 * from OTP 25.2.3 (erl -sname hsbeam -setcookie OTPCTESTCOOKIE) talking to a
 * Python fake node that used fixed challenges: flow A, the BEAM dials our
 * acceptor (fakeacc@vm); flow B, our initiator (fakeini@vm) dials the BEAM.
 * The expected digests were computed with Python's hashlib. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../cnode/dist/cookie.h"
#include "../../cnode/dist/handshake.h"

#define COOKIE "OTPCTESTCOOKIE"
#define FLAGS 0xD07DF5FBCull /* OTPC__DFLAGS_OTPC */

static const uint8_t beam_send_name[] = {
    0x00, 0x18, 0x4e, 0x00, 0x00, 0x00, 0x0d, 0x07, 0xdf,
    0x7f, 0xbd, 0x6b, 0x02, 0x70, 0x86, 0x00, 0x09, 'h',
    's',  'b',  'e',  'a',  'm',  '@',  'v',  'm'};
static const uint8_t beam_reply[] = {
    0x00, 0x15, 0x72, 0xc7, 0xc0, 0xc9, 0x00, 0x12, 0x08, 0x82, 0x92, 0xff,
    0x8a, 0x0c, 0x4f, 0xdb, 0x1a, 0x2d, 0x03, 0xd4, 0xf5, 0x81, 0x01};
static const uint8_t beam_challenge[] = {
    0x00, 0x1c, 0x4e, 0x00, 0x00, 0x00, 0x0d, 0x07, 0xdf, 0x7f,
    0xbd, 0xb6, 0xf5, 0x00, 0x38, 0x6b, 0x02, 0x70, 0x86, 0x00,
    0x09, 'h',  's',  'b',  'e',  'a',  'm',  '@',  'v',  'm'};
static const uint8_t beam_ack[] = {0x00, 0x11, 0x61, 0xe5, 0xbb, 0x29, 0x0a,
                                   0xf5, 0xea, 0x74, 0x3e, 0x5e, 0x86, 0x95,
                                   0x4b, 0xa8, 0xfd, 0x86, 0x3a};

/* Feeds all of data, one byte at a time when `bytewise`, and returns the
 * first event other than NONE (or NONE if the bytes ran out). */
static int feed(otpc__hs_t *hs, const uint8_t *data, size_t len, bool bytewise,
                otpc_err_t *err) {
  size_t off = 0;
  while (off < len) {
    size_t used;
    size_t n = bytewise ? 1 : len - off;
    int ev = otpc__hs_feed(hs, data + off, n, &used, err);
    off += used;
    if (ev != OTPC__HS_EV_NONE) {
      assert_int_equal(off, len); /* events come at packet ends */
      return ev;
    }
  }
  return OTPC__HS_EV_NONE;
}

static void acceptor_flow_a(bool bytewise) {
  otpc__hs_t hs;
  otpc__hs_config_t cfg = {.role = OTPC__HS_ACCEPTOR,
                           .name = "fakeacc@vm",
                           .flags = FLAGS,
                           .creation = 0x11223344,
                           .cookie = COOKIE,
                           .challenge = 0x01020304};
  otpc_err_t err;
  assert_int_equal(otpc__hs_init(&hs, &cfg, &err), 0);
  assert_int_equal(hs.out.len, 0);
  assert_int_equal(
      feed(&hs, beam_send_name, sizeof beam_send_name, bytewise, &err),
      OTPC__HS_EV_PEER_NAME);
  assert_string_equal(hs.peer_name, "hsbeam@vm");
  assert_int_equal(hs.peer_creation, 0x6b027086);
  assert_true(hs.peer_flags & OTPC__DFLAG_PUBLISHED);
  assert_int_equal(otpc__hs_decide(&hs, OTPC__HS_OK, NULL, 0, &err),
                   OTPC__HS_EV_NONE);
  /* What the fake sent: "sok", then the challenge. */
  static const uint8_t want[] = {
      0,    3,    's',  'o',  'k',  0x00, 0x1d, 'N',  0x00, 0x00, 0x00, 0x0d,
      0x07, 0xdf, 0x5f, 0xbc, 0x01, 0x02, 0x03, 0x04, 0x11, 0x22, 0x33, 0x44,
      0x00, 0x0a, 'f',  'a',  'k',  'e',  'a',  'c',  'c',  '@',  'v',  'm'};
  assert_int_equal(hs.out.len, sizeof want);
  assert_memory_equal(hs.out.data, want, sizeof want);
  hs.out.len = 0;
  assert_int_equal(feed(&hs, beam_reply, sizeof beam_reply, bytewise, &err),
                   OTPC__HS_EV_DONE);
  static const uint8_t ack[] = {0,    17,   'a',  0xa0, 0xed, 0xed, 0x5e,
                                0x01, 0x3a, 0xf8, 0x5c, 0x8d, 0xa2, 0x7a,
                                0xbd, 0x14, 0x00, 0xfa, 0xf9};
  assert_int_equal(hs.out.len, sizeof ack);
  assert_memory_equal(hs.out.data, ack, sizeof ack);
  assert_int_equal(hs.flags, 0xd07df5fbcull);
  otpc__hs_free(&hs);
}

static void test_acceptor_real_beam(void **state) {
  (void)state;
  acceptor_flow_a(false);
  acceptor_flow_a(true);
}

static void test_initiator_real_beam(void **state) {
  (void)state;
  for (int bytewise = 0; bytewise < 2; bytewise++) {
    otpc__hs_t hs;
    otpc__hs_config_t cfg = {.role = OTPC__HS_INITIATOR,
                             .name = "fakeini@vm",
                             .flags = FLAGS,
                             .creation = 0x55667788,
                             .cookie = COOKIE,
                             .peer_name = "hsbeam@vm",
                             .challenge = 0x0A0B0C0D};
    otpc_err_t err;
    assert_int_equal(otpc__hs_init(&hs, &cfg, &err), 0);
    static const uint8_t sn[] = {0,    0x19, 'N',  0x00, 0x00, 0x00, 0x0d,
                                 0x07, 0xdf, 0x5f, 0xbc, 0x55, 0x66, 0x77,
                                 0x88, 0x00, 0x0a, 'f',  'a',  'k',  'e',
                                 'i',  'n',  'i',  '@',  'v',  'm'};
    assert_int_equal(hs.out.len, sizeof sn);
    assert_memory_equal(hs.out.data, sn, sizeof sn);
    hs.out.len = 0;
    assert_int_equal(feed(&hs, (const uint8_t *)"\0\3sok", 5, bytewise, &err),
                     OTPC__HS_EV_NONE);
    assert_int_equal(hs.peer_status, OTPC__HS_OK);
    assert_int_equal(
        feed(&hs, beam_challenge, sizeof beam_challenge, bytewise, &err),
        OTPC__HS_EV_NONE);
    static const uint8_t r[] = {0,    21,   'r',  0x0a, 0x0b, 0x0c, 0x0d, 0xf3,
                                0x0f, 0x62, 0x1c, 0x51, 0xd3, 0x25, 0xa9, 0xa0,
                                0xa7, 0x50, 0x4c, 0x05, 0x7b, 0x17, 0xe5};
    assert_int_equal(hs.out.len, sizeof r);
    assert_memory_equal(hs.out.data, r, sizeof r);
    hs.out.len = 0;
    assert_int_equal(feed(&hs, beam_ack, sizeof beam_ack, bytewise, &err),
                     OTPC__HS_EV_DONE);
    assert_int_equal(hs.peer_creation, 0x6b027086);
    assert_int_equal(hs.flags, 0xd07df5fbcull);
    otpc__hs_free(&hs);
  }
}

/* Bytes after the final packet are left for the connection. */
static void test_leftover_after_ack(void **state) {
  (void)state;
  otpc__hs_t hs;
  otpc__hs_config_t cfg = {.role = OTPC__HS_INITIATOR,
                           .name = "fakeini@vm",
                           .flags = FLAGS,
                           .cookie = COOKIE,
                           .peer_name = "hsbeam@vm",
                           .challenge = 0x0A0B0C0D};
  assert_int_equal(otpc__hs_init(&hs, &cfg, NULL), 0);
  uint8_t all[5 + sizeof beam_challenge + sizeof beam_ack + 4];
  size_t n = 0;
  memcpy(all, "\0\3sok", 5);
  n += 5;
  memcpy(all + n, beam_challenge, sizeof beam_challenge);
  n += sizeof beam_challenge;
  memcpy(all + n, beam_ack, sizeof beam_ack);
  n += sizeof beam_ack;
  memset(all + n, 0, 4); /* a tick, already 4-byte framed */
  n += 4;
  size_t off = 0, used;
  int ev;
  while ((ev = otpc__hs_feed(&hs, all + off, n - off, &used, NULL)) ==
         OTPC__HS_EV_NONE)
    off += used;
  off += used;
  assert_int_equal(ev, OTPC__HS_EV_DONE);
  assert_int_equal(n - off, 4);
  otpc__hs_free(&hs);
}

static void test_wrong_cookie(void **state) {
  (void)state;
  otpc__hs_t hs;
  otpc__hs_config_t cfg = {.role = OTPC__HS_ACCEPTOR,
                           .name = "fakeacc@vm",
                           .flags = FLAGS,
                           .cookie = "WRONG",
                           .challenge = 0x01020304};
  otpc_err_t err;
  assert_int_equal(otpc__hs_init(&hs, &cfg, NULL), 0);
  assert_int_equal(
      feed(&hs, beam_send_name, sizeof beam_send_name, false, &err),
      OTPC__HS_EV_PEER_NAME);
  assert_int_equal(otpc__hs_decide(&hs, OTPC__HS_OK, NULL, 0, &err), 0);
  assert_int_equal(feed(&hs, beam_reply, sizeof beam_reply, false, &err),
                   OTPC_EINVAL);
  assert_non_null(strstr(err.msg, "Invalid challenge reply"));
  otpc__hs_free(&hs);
  /* Initiator: a wrong ack. */
  otpc__hs_config_t ci = {.role = OTPC__HS_INITIATOR,
                          .name = "fakeini@vm",
                          .flags = FLAGS,
                          .cookie = "WRONG",
                          .peer_name = "hsbeam@vm",
                          .challenge = 0x0A0B0C0D};
  assert_int_equal(otpc__hs_init(&hs, &ci, NULL), 0);
  feed(&hs, (const uint8_t *)"\0\3sok", 5, false, &err);
  feed(&hs, beam_challenge, sizeof beam_challenge, false, &err);
  assert_int_equal(feed(&hs, beam_ack, sizeof beam_ack, false, &err),
                   OTPC_EINVAL);
  assert_non_null(strstr(err.msg, "invalid challenge ack"));
  otpc__hs_free(&hs);
}

/* The challenge must come from exactly the node we dialled. */
static void test_challenge_name_mismatch(void **state) {
  (void)state;
  otpc__hs_t hs;
  otpc__hs_config_t cfg = {.role = OTPC__HS_INITIATOR,
                           .name = "fakeini@vm",
                           .flags = FLAGS,
                           .cookie = COOKIE,
                           .peer_name = "hsbeam@localhost"};
  otpc_err_t err;
  assert_int_equal(otpc__hs_init(&hs, &cfg, NULL), 0);
  feed(&hs, (const uint8_t *)"\0\3sok", 5, false, &err);
  assert_int_equal(
      feed(&hs, beam_challenge, sizeof beam_challenge, false, &err),
      OTPC_EINVAL);
  assert_non_null(strstr(err.msg, "not the node we dialled"));
  otpc__hs_free(&hs);
}

/* A peer without MAP_TAG and BIG_CREATION is refused with snot_allowed and
 * the message OTP logs. */
static void test_missing_flags(void **state) {
  (void)state;
  otpc__hs_t hs;
  otpc__hs_config_t cfg = {.role = OTPC__HS_ACCEPTOR,
                           .name = "fakeacc@vm",
                           .flags = FLAGS,
                           .cookie = COOKIE};
  otpc_err_t err;
  assert_int_equal(otpc__hs_init(&hs, &cfg, NULL), 0);
  uint8_t sn[sizeof beam_send_name];
  memcpy(sn, beam_send_name, sizeof sn);
  /* Clear MANDATORY_25_DIGEST (0x04 in byte 7), MAP_TAG and BIG_CREATION
   * (0x02 and 0x04 of byte 8). */
  sn[7] &= (uint8_t)~0x04;
  sn[8] &= (uint8_t)~0x06;
  assert_int_equal(feed(&hs, sn, sizeof sn, false, &err), OTPC_ENOTSUP);
  assert_string_equal(err.msg, "Connection attempt from node hsbeam@vm "
                               "rejected since it cannot handle "
                               "[\"MAP_TAG\",\"BIG_CREATION\"].");
  assert_int_equal(hs.out.len, 2 + 12);
  assert_memory_equal(hs.out.data, "\0\14snot_allowed", 14);
  otpc__hs_free(&hs);
}

/* A peer missing nearly every flag (seen live from a raw client with only
 * EXTENDED_REFERENCES) gets a sentence cut at a flag boundary, still ending
 * in "].", not one cut mid-name at the size of otpc_err_t's message. */
static void test_missing_many_flags(void **state) {
  (void)state;
  otpc__hs_t hs;
  otpc__hs_config_t cfg = {.role = OTPC__HS_ACCEPTOR,
                           .name = "fakeacc@vm",
                           .flags = FLAGS,
                           .cookie = COOKIE};
  otpc_err_t err;
  assert_int_equal(otpc__hs_init(&hs, &cfg, NULL), 0);
  uint8_t sn[sizeof beam_send_name];
  memcpy(sn, beam_send_name, sizeof sn);
  memset(sn + 3, 0, 8);
  sn[10] = 0x04; /* EXTENDED_REFERENCES only */
  assert_int_equal(feed(&hs, sn, sizeof sn, false, &err), OTPC_ENOTSUP);
  const char *want = "Connection attempt from node hsbeam@vm rejected since "
                     "it cannot handle [\"FUN_TAGS\",\"NEW_FUN_TAGS\",";
  assert_memory_equal(err.msg, want, strlen(want));
  size_t len = strlen(err.msg);
  assert_true(len < sizeof err.msg - 1);
  assert_string_equal(err.msg + len - 7, "\",...].");
  assert_memory_equal(hs.out.data, "\0\14snot_allowed", 14);
  otpc__hs_free(&hs);

  /* A long peer name is cut at 100 bytes; the list still ends ",...].". */
  assert_int_equal(otpc__hs_init(&hs, &cfg, NULL), 0);
  uint8_t big[2 + 15 + 250];
  size_t nlen = 250;
  big[0] = (uint8_t)((15 + nlen) >> 8);
  big[1] = (uint8_t)(15 + nlen);
  memcpy(big + 2, sn + 2, 13);
  big[15] = 0;
  big[16] = (uint8_t)nlen;
  memset(big + 17, 'a', nlen);
  memcpy(big + 17 + nlen - 3, "@vm", 3);
  assert_int_equal(feed(&hs, big, sizeof big, false, &err), OTPC_ENOTSUP);
  len = strlen(err.msg);
  assert_true(len < sizeof err.msg - 1);
  assert_string_equal(err.msg + len - 7, "\",...].");
  assert_non_null(strstr(err.msg, "node aaaaaaaaaa"));
  assert_null(strstr(err.msg, "@vm"));
  otpc__hs_free(&hs);
}

static void test_bad_names_and_v5(void **state) {
  (void)state;
  otpc__hs_t hs;
  otpc__hs_config_t cfg = {.role = OTPC__HS_ACCEPTOR,
                           .name = "fakeacc@vm",
                           .flags = FLAGS,
                           .cookie = COOKIE};
  otpc_err_t err;
  const char *bad[] = {"noat", "@vm", "a@", "a@b@c"};
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(otpc__hs_init(&hs, &cfg, NULL), 0);
    uint8_t p[64] = {0};
    size_t nl = strlen(bad[i]);
    p[1] = (uint8_t)(15 + nl);
    memcpy(p + 2, beam_send_name + 2, 13);
    p[16] = (uint8_t)nl;
    memcpy(p + 17, bad[i], nl);
    assert_int_equal(feed(&hs, p, 17 + nl, false, &err), OTPC_EINVAL);
    assert_non_null(strstr(err.msg, "illegal name"));
    otpc__hs_free(&hs);
  }
  assert_int_equal(otpc__hs_init(&hs, &cfg, NULL), 0);
  static const uint8_t v5[] = {0, 8, 'n', 0, 5, 0, 0, 0, 0, 'x'};
  assert_int_equal(feed(&hs, v5, sizeof v5, false, &err), OTPC_ENOTSUP);
  otpc__hs_free(&hs);
  assert_int_equal(otpc__hs_init(&hs, &cfg, NULL), 0);
  assert_int_equal(feed(&hs, (const uint8_t *)"\0\0", 2, false, &err),
                   OTPC_EINVAL);
  otpc__hs_free(&hs);
}

/* Statuses: nok and not_allowed refuse; alive asks the node; named: gives
 * an initiator with NAME_ME its name and creation. */
static void test_statuses(void **state) {
  (void)state;
  otpc__hs_config_t cfg = {.role = OTPC__HS_INITIATOR,
                           .name = "fakeini@vm",
                           .flags = FLAGS,
                           .cookie = COOKIE,
                           .peer_name = "hsbeam@vm"};
  otpc__hs_t hs;
  otpc_err_t err;
  assert_int_equal(otpc__hs_init(&hs, &cfg, NULL), 0);
  assert_int_equal(feed(&hs, (const uint8_t *)"\0\4snok", 6, false, &err),
                   OTPC__HS_EV_REFUSED);
  assert_int_equal(hs.peer_status, OTPC__HS_NOK);
  otpc__hs_free(&hs);
  assert_int_equal(otpc__hs_init(&hs, &cfg, NULL), 0);
  assert_int_equal(
      feed(&hs, (const uint8_t *)"\0\14snot_allowed", 14, false, &err),
      OTPC__HS_EV_REFUSED);
  otpc__hs_free(&hs);
  assert_int_equal(otpc__hs_init(&hs, &cfg, NULL), 0);
  hs.out.len = 0;
  assert_int_equal(feed(&hs, (const uint8_t *)"\0\6salive", 8, false, &err),
                   OTPC__HS_EV_ALIVE);
  assert_int_equal(otpc__hs_decide(&hs, OTPC__HS_OK, NULL, 0, &err), 0);
  assert_int_equal(hs.out.len, 7);
  assert_memory_equal(hs.out.data, "\0\5strue", 7);
  otpc__hs_free(&hs);
  assert_int_equal(otpc__hs_init(&hs, &cfg, NULL), 0);
  hs.out.len = 0;
  feed(&hs, (const uint8_t *)"\0\6salive", 8, false, &err);
  assert_int_equal(otpc__hs_decide(&hs, OTPC__HS_NOK, NULL, 0, &err),
                   OTPC__HS_EV_REFUSED);
  assert_memory_equal(hs.out.data, "\0\6sfalse", 8);
  otpc__hs_free(&hs);
  /* NAME_ME: we send only the host; "named:" gives the full name. */
  otpc__hs_config_t cn = cfg;
  cn.name = "vm";
  cn.flags = FLAGS | OTPC__DFLAG_NAME_ME;
  assert_int_equal(otpc__hs_init(&hs, &cn, &err), 0);
  static const uint8_t named[] = {0,   19,  's', 'n', 'a', 'm', 'e',
                                  'd', ':', 0,   6,   'x', 'y', 'z',
                                  '@', 'v', 'm', 0,   0,   0,   42};
  assert_int_equal(feed(&hs, named, sizeof named, false, &err),
                   OTPC__HS_EV_NONE);
  assert_string_equal(hs.my_name, "xyz@vm");
  assert_int_equal(hs.my_creation, 42);
  otpc__hs_free(&hs);
}

/* Both roles of our own state machine talk to each other, including the
 * acceptor's alive and named: paths. */
static void run_pair(otpc__hs_status_t decision, bool name_me) {
  otpc__hs_config_t ca = {.role = OTPC__HS_ACCEPTOR,
                          .name = "b@h",
                          .flags = FLAGS,
                          .creation = 7,
                          .cookie = "C",
                          .challenge = 0xffffffffu};
  otpc__hs_config_t ci = {.role = OTPC__HS_INITIATOR,
                          .name = name_me ? "h" : "a@h",
                          .flags = FLAGS | (name_me ? OTPC__DFLAG_NAME_ME : 0),
                          .creation = 9,
                          .cookie = "C",
                          .peer_name = "b@h",
                          .challenge = 0};
  otpc__hs_t a, i;
  otpc_err_t err;
  assert_int_equal(otpc__hs_init(&a, &ca, &err), 0);
  assert_int_equal(otpc__hs_init(&i, &ci, &err), 0);
  int ea = OTPC__HS_EV_NONE, ei = OTPC__HS_EV_NONE;
  /* Shuttle bytes both ways until neither side has anything to say. */
  for (int round = 0; round < 20; round++) {
    size_t used, off = 0;
    while (off < i.out.len && ea != OTPC__HS_EV_DONE) {
      ea = otpc__hs_feed(&a, i.out.data + off, i.out.len - off, &used, &err);
      assert_true(ea >= 0);
      off += used;
      if (ea == OTPC__HS_EV_PEER_NAME) {
        assert_int_equal(a.peer_name_me, name_me);
        ea = otpc__hs_decide(&a, decision, name_me ? "gen@h" : NULL, 77, &err);
        assert_true(ea >= 0);
      }
    }
    i.out.len = 0;
    off = 0;
    while (off < a.out.len && ei != OTPC__HS_EV_DONE) {
      ei = otpc__hs_feed(&i, a.out.data + off, a.out.len - off, &used, &err);
      assert_true(ei >= 0);
      off += used;
      if (ei == OTPC__HS_EV_ALIVE)
        ei = otpc__hs_decide(&i, OTPC__HS_OK, NULL, 0, &err);
    }
    a.out.len = 0;
  }
  assert_int_equal(ea, OTPC__HS_EV_DONE);
  assert_int_equal(ei, OTPC__HS_EV_DONE);
  assert_int_equal(i.peer_creation, 7);
  if (name_me) {
    assert_string_equal(i.my_name, "gen@h");
    assert_int_equal(i.my_creation, 77);
    assert_string_equal(a.peer_name, "gen@h");
  } else {
    assert_int_equal(a.peer_creation, 9);
  }
  otpc__hs_free(&a);
  otpc__hs_free(&i);
}

static void test_pair(void **state) {
  (void)state;
  run_pair(OTPC__HS_OK, false);
  run_pair(OTPC__HS_OK_SIMULTANEOUS, false);
  run_pair(OTPC__HS_ALIVE, false);
  run_pair(OTPC__HS_NAMED, true);
}

static void test_flag_names(void **state) {
  (void)state;
  otpc_buf_t b = {0};
  assert_int_equal(otpc__dflags_names(&b, 0), 0);
  assert_string_equal((char *)b.data, "[]");
  otpc_buf_free(&b);
  assert_int_equal(otpc__dflags_expand(OTPC__DFLAG_MANDATORY_25_DIGEST) &
                       OTPC__DFLAGS_MANDATORY_25,
                   OTPC__DFLAGS_MANDATORY_25);
  assert_int_equal(OTPC__DFLAGS_MANDATORY_25, 0x01070F94);
}

static void test_cookie_file(void **state) {
  (void)state;
  char dir[] = "/tmp/otpc_cookie_XXXXXX";
  assert_non_null(mkdtemp(dir));
  char path[256], buf[300];
  snprintf(path, sizeof path, "%s/.erlang.cookie", dir);
  otpc_err_t err;
  assert_int_equal(otpc__cookie_read_or_create(path, buf, sizeof buf, &err), 0);
  assert_int_equal(strlen(buf), 20);
  for (int k = 0; k < 20; k++)
    assert_true(buf[k] >= 'A' && buf[k] <= 'Z');
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_mode & 0777, 0400);
  assert_int_equal(st.st_size, 20);
  char again[300];
  assert_int_equal(otpc__cookie_read_or_create(path, again, sizeof again, &err),
                   0);
  assert_string_equal(again, buf);
  /* What erl accepts and refuses (checked with erl -sname on OTP 25). */
  const struct {
    const char *text;
    const char *want; /* NULL: an error containing msg */
    const char *msg;
  } cases[] = {
      {"ABC\n\n", "ABC", NULL},
      {"  ABC  \n", "  ABC  ", NULL},
      {"AB\r\n", "AB", NULL},
      {"ab1!~\n", "ab1!~", NULL},
      {"AB\nCD\n", NULL, "Bad characters"},
      {"AB\tCD", NULL, "Bad characters"},
      {"AB\n \n", NULL, "Bad characters"},
      {"\n", NULL, "Too short"},
  };
  for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
    chmod(path, 0600);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(cases[k].text, f);
    fclose(f);
    chmod(path, 0400);
    int rc = otpc__cookie_read_or_create(path, buf, sizeof buf, &err);
    if (cases[k].want) {
      assert_int_equal(rc, 0);
      assert_string_equal(buf, cases[k].want);
    } else {
      assert_int_equal(rc, OTPC_EINVAL);
      assert_non_null(strstr(err.msg, cases[k].msg));
    }
  }
  chmod(path, 0644);
  assert_int_equal(otpc__cookie_read_or_create(path, buf, sizeof buf, &err),
                   OTPC_EINVAL);
  assert_non_null(strstr(err.msg, "owner only"));
  unlink(path);
  rmdir(dir);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_acceptor_real_beam),
      cmocka_unit_test(test_initiator_real_beam),
      cmocka_unit_test(test_leftover_after_ack),
      cmocka_unit_test(test_wrong_cookie),
      cmocka_unit_test(test_challenge_name_mismatch),
      cmocka_unit_test(test_missing_flags),
      cmocka_unit_test(test_missing_many_flags),
      cmocka_unit_test(test_bad_names_and_v5),
      cmocka_unit_test(test_statuses),
      cmocka_unit_test(test_pair),
      cmocka_unit_test(test_flag_names),
      cmocka_unit_test(test_cookie_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
