/* The distribution handshake, sans IO (see handshake.h). */
#include "handshake.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nettle/md5.h>

#include "internal.h"

enum {
  ST_I_STATUS = 1, /* initiator: send_name sent, waiting for the status */
  ST_I_ALIVE,      /* initiator: "alive" received, waiting for decide */
  ST_I_CHALLENGE,  /* initiator: waiting for the challenge */
  ST_I_ACK,        /* initiator: challenge_reply sent, waiting for 'a' */
  ST_A_NAME,       /* acceptor: waiting for send_name */
  ST_A_DECIDE,     /* acceptor: send_name received, waiting for decide */
  ST_A_ALIVE,      /* acceptor: "alive" sent, waiting for true/false */
  ST_A_REPLY,      /* acceptor: challenge sent, waiting for 'r' */
  ST_DONE,
  ST_FAILED
};

bool otpc__hs_awaits_ack(const otpc__hs_t *hs) {
  return hs->state == ST_I_ACK;
}

/* ------------------------------------------------------------- flags */

uint64_t otpc__dflags_expand(uint64_t flags) {
  if (flags & OTPC__DFLAG_MANDATORY_25_DIGEST)
    flags |= OTPC__DFLAGS_MANDATORY_25;
  return flags;
}

static const struct {
  uint64_t bit;
  const char *name;
} flag_names[] = {
    {OTPC__DFLAG_PUBLISHED, "PUBLISHED"},
    {OTPC__DFLAG_ATOM_CACHE, "ATOM_CACHE"},
    {OTPC__DFLAG_EXTENDED_REFERENCES, "EXTENDED_REFERENCES"},
    {OTPC__DFLAG_DIST_MONITOR, "DIST_MONITOR"},
    {OTPC__DFLAG_FUN_TAGS, "FUN_TAGS"},
    {OTPC__DFLAG_DIST_MONITOR_NAME, "DIST_MONITOR_NAME"},
    {OTPC__DFLAG_HIDDEN_ATOM_CACHE, "HIDDEN_ATOM_CACHE"},
    {OTPC__DFLAG_NEW_FUN_TAGS, "NEW_FUN_TAGS"},
    {OTPC__DFLAG_EXTENDED_PIDS_PORTS, "EXTENDED_PIDS_PORTS"},
    {OTPC__DFLAG_EXPORT_PTR_TAG, "EXPORT_PTR_TAG"},
    {OTPC__DFLAG_BIT_BINARIES, "BIT_BINARIES"},
    {OTPC__DFLAG_NEW_FLOATS, "NEW_FLOATS"},
    {OTPC__DFLAG_UNICODE_IO, "UNICODE_IO"},
    {OTPC__DFLAG_DIST_HDR_ATOM_CACHE, "DIST_HDR_ATOM_CACHE"},
    {OTPC__DFLAG_SMALL_ATOM_TAGS, "SMALL_ATOM_TAGS"},
    {OTPC__DFLAG_UTF8_ATOMS, "UTF8_ATOMS"},
    {OTPC__DFLAG_MAP_TAG, "MAP_TAG"},
    {OTPC__DFLAG_BIG_CREATION, "BIG_CREATION"},
    {OTPC__DFLAG_SEND_SENDER, "SEND_SENDER"},
    {OTPC__DFLAG_BIG_SEQTRACE_LABELS, "BIG_SEQTRACE_LABELS"},
    {OTPC__DFLAG_EXIT_PAYLOAD, "EXIT_PAYLOAD"},
    {OTPC__DFLAG_FRAGMENTS, "FRAGMENTS"},
    {OTPC__DFLAG_HANDSHAKE_23, "HANDSHAKE_23"},
    {OTPC__DFLAG_UNLINK_ID, "UNLINK_ID"},
    {OTPC__DFLAG_MANDATORY_25_DIGEST, "MANDATORY_25_DIGEST"},
    {OTPC__DFLAG_SPAWN, "SPAWN"},
    {OTPC__DFLAG_NAME_ME, "NAME_ME"},
    {OTPC__DFLAG_V4_NC, "V4_NC"},
    {OTPC__DFLAG_ALIAS, "ALIAS"},
};

int otpc__dflags_names(otpc_buf_t *out, uint64_t missing) {
  int rc = otpc_buf_puts(out, "[");
  bool first = true;
  for (size_t i = 0; rc == 0 && i < sizeof flag_names / sizeof *flag_names;
       i++) {
    if (!(missing & flag_names[i].bit))
      continue;
    rc = otpc_buf_puts(out, first ? "\"" : ",\"");
    if (rc == 0)
      rc = otpc_buf_puts(out, flag_names[i].name);
    if (rc == 0)
      rc = otpc_buf_puts(out, "\"");
    first = false;
  }
  return rc == 0 ? otpc_buf_puts(out, "]") : rc;
}

/* ------------------------------------------------------------ helpers */

void otpc__hs_digest(const char *cookie, size_t cookie_len, uint32_t challenge,
                     uint8_t digest[16]) {
  char dec[16];
  int n = snprintf(dec, sizeof dec, "%" PRIu32, challenge);
  struct md5_ctx ctx;
  md5_init(&ctx);
  md5_update(&ctx, cookie_len, (const uint8_t *)cookie);
  md5_update(&ctx, (size_t)n, (const uint8_t *)dec);
  md5_digest(&ctx, 16, digest);
}

/* Compares digests in time independent of where they differ, so a peer
 * cannot learn the expected digest byte by byte from our timing. */
static bool digest_equal(const uint8_t *a, const uint8_t *b) {
  volatile uint8_t d = 0;
  for (int i = 0; i < 16; i++)
    d |= (uint8_t)(a[i] ^ b[i]);
  return d == 0;
}

int otpc__node_name_check(const char *name, size_t len, otpc_err_t *err) {
  const char *at = memchr(name, '@', len);
  if (at == NULL || at == name || at == name + len - 1 ||
      memchr(at + 1, '@', len - (size_t)(at - name) - 1) != NULL)
    return otpc__err(err, OTPC_EINVAL, 0,
                     "node name '%.*s' is not of the form alive@host",
                     (int)(len > 300 ? 300 : len), name);
  long chars = otpc__utf8_count((const uint8_t *)name, len);
  if (chars < 0 || chars > 255)
    return otpc__err(err, OTPC_EINVAL, 0,
                     "node name is not UTF-8 text of at most 255 characters");
  return 0;
}

static int fail(otpc__hs_t *hs, otpc_err_t *err, int code, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static int fail(otpc__hs_t *hs, otpc_err_t *err, int code, const char *fmt,
                ...) {
  hs->state = ST_FAILED;
  if (err != NULL) {
    va_list ap;
    va_start(ap, fmt);
    err->code = code;
    err->offset = 0;
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}

/* Appends one handshake packet: 2-byte length, then the parts. */
static int put_packet(otpc__hs_t *hs, const void *a, size_t an, const void *b,
                      size_t bn) {
  if (an + bn > 0xffff)
    return OTPC_ERANGE;
  uint8_t h[2];
  otpc__put16(h, (uint16_t)(an + bn));
  int rc = otpc_buf_reserve(&hs->out, 2 + an + bn);
  if (rc != 0)
    return rc;
  otpc_buf_append(&hs->out, h, 2);
  otpc_buf_append(&hs->out, a, an);
  if (bn > 0)
    otpc_buf_append(&hs->out, b, bn);
  return 0;
}

static int put_status(otpc__hs_t *hs, const char *s) {
  return put_packet(hs, "s", 1, s, strlen(s));
}

/* 'N' | Flags:64 | [Challenge:32] | Creation:32 | Nlen:16 | Name */
static int put_n(otpc__hs_t *hs, bool with_challenge, const char *name) {
  uint8_t b[19];
  size_t n = 0;
  b[n++] = 'N';
  otpc__put32(b + n, (uint32_t)(hs->my_flags >> 32));
  otpc__put32(b + n + 4, (uint32_t)hs->my_flags);
  n += 8;
  if (with_challenge) {
    otpc__put32(b + n, hs->challenge);
    n += 4;
  }
  otpc__put32(b + n, hs->my_creation);
  n += 4;
  size_t len = strlen(name);
  otpc__put16(b + n, (uint16_t)len);
  n += 2;
  return put_packet(hs, b, n, name, len);
}

/* ------------------------------------------------------------- setup */

int otpc__hs_init(otpc__hs_t *hs, const otpc__hs_config_t *cfg,
                  otpc_err_t *err) {
  if (hs == NULL || cfg == NULL || cfg->name == NULL || cfg->cookie == NULL ||
      (cfg->role != OTPC__HS_INITIATOR && cfg->role != OTPC__HS_ACCEPTOR))
    return otpc__err(err, OTPC_EINVAL, 0, "handshake config incomplete");
  memset(hs, 0, sizeof *hs);
  size_t nl = strlen(cfg->name);
  bool name_me = cfg->role == OTPC__HS_INITIATOR &&
                 (cfg->flags & OTPC__DFLAG_NAME_ME) != 0;
  if (nl == 0 || nl > OTPC__HS_MAX_NAME)
    return otpc__err(err, OTPC_EINVAL, 0,
                     "our node name has %zu bytes, expected 1 to %d", nl,
                     OTPC__HS_MAX_NAME);
  if (!name_me && otpc__node_name_check(cfg->name, nl, err) != 0)
    return OTPC_EINVAL;
  hs->cookie_len = strlen(cfg->cookie);
  if (hs->cookie_len >= sizeof hs->cookie)
    return otpc__err(err, OTPC_EINVAL, 0,
                     "cookie of %zu bytes, at most %zu supported",
                     hs->cookie_len, sizeof hs->cookie - 1);
  memcpy(hs->cookie, cfg->cookie, hs->cookie_len);
  hs->role = cfg->role;
  hs->my_flags = cfg->flags;
  hs->my_creation = cfg->creation;
  hs->challenge = cfg->challenge;
  hs->required = cfg->required ? cfg->required : OTPC__DFLAGS_MANDATORY_25;
  memcpy(hs->my_name, cfg->name, nl + 1);
  if (cfg->role == OTPC__HS_ACCEPTOR) {
    hs->state = ST_A_NAME;
    return 0;
  }
  if (cfg->peer_name == NULL ||
      otpc__node_name_check(cfg->peer_name, strlen(cfg->peer_name), err) != 0)
    return otpc__err(err, OTPC_EINVAL, 0,
                     "an initiator needs the valid name of the node it dials");
  hs->peer_name_len = strlen(cfg->peer_name);
  if (hs->peer_name_len > OTPC__HS_MAX_NAME)
    return otpc__err(err, OTPC_EINVAL, 0, "peer node name too long");
  memcpy(hs->peer_name, cfg->peer_name, hs->peer_name_len + 1);
  hs->state = ST_I_STATUS;
  int rc = put_n(hs, false, cfg->name);
  if (rc != 0)
    otpc_buf_free(&hs->out);
  return rc;
}

void otpc__hs_free(otpc__hs_t *hs) {
  if (hs == NULL)
    return;
  otpc_buf_free(&hs->out);
  otpc_buf_free(&hs->in);
  memset(hs->cookie, 0, sizeof hs->cookie);
}

/* ------------------------------------------------------------ packets */

/* The list of missing flags, cut at a flag boundary with ",...]" so that
 * it fits `room` bytes: a peer missing most flags (seen live: a foreign
 * client with few flags) would otherwise have the sentence cut mid-name by
 * the size of otpc_err_t's message. The peer name in the sentence is cut
 * at 100 bytes, so at least one flag always fits. */
static void fit_names(otpc_buf_t *names, size_t room) {
  if (names->data == NULL || names->len <= room || room < 6)
    return;
  char *s = (char *)names->data;
  size_t cut = room - 5; /* leaves room for ",...]" */
  while (cut > 1 && s[cut] != ',')
    cut--;
  if (cut > 1) {
    memcpy(s + cut, ",...]", 6);
    names->len = cut + 5;
  }
}

static int check_flags(otpc__hs_t *hs, otpc_err_t *err, const char *who) {
  uint64_t missing = hs->required & ~hs->peer_flags;
  if (missing == 0)
    return 0;
  otpc_buf_t names = {0};
  otpc__dflags_names(&names, missing);
  int nl = (int)(hs->peer_name_len > 100 ? 100 : hs->peer_name_len);
  int head = snprintf(NULL, 0,
                      "Connection attempt %s node %.*s rejected since it "
                      "cannot handle .",
                      who, nl, hs->peer_name);
  if (head > 0 && (size_t)head < OTPC_ERR_MSG_SIZE - 1)
    fit_names(&names, OTPC_ERR_MSG_SIZE - 1 - (size_t)head);
  int rc = fail(hs, err, OTPC_ENOTSUP,
                "Connection attempt %s node %.*s rejected since it cannot "
                "handle %s.",
                who, nl, hs->peer_name,
                names.data ? (const char *)names.data : "[]");
  otpc_buf_free(&names);
  return rc;
}

static int send_challenge(otpc__hs_t *hs) {
  return put_n(hs, true, hs->my_name);
}

/* Acceptor: send_name = 'N' | Flags:64 | Creation:32 | Nlen:16 | Name,
 * bytes after the name ignored (as OTP 25 does). */
static int on_send_name(otpc__hs_t *hs, const uint8_t *p, size_t n,
                        otpc_err_t *err) {
  if (n < 15 || p[0] != 'N') {
    if (n >= 1 && p[0] == 'n')
      return fail(hs, err, OTPC_ENOTSUP,
                  "version 5 send_name ('n') received: only version 6 "
                  "('N', OTP 23+) is supported, as in OTP 25.0-25.2");
    return fail(hs, err, OTPC_EINVAL,
                "bad send_name: %zu bytes starting with %u, expected 'N' "
                "and at least 15 bytes",
                n, n ? p[0] : 0);
  }
  uint64_t flags = otpc__get64(p + 1);
  uint32_t creation = otpc__get32(p + 9);
  size_t nl = otpc__get16(p + 13);
  if (nl > n - 15 || nl > OTPC__HS_MAX_NAME)
    return fail(hs, err, OTPC_EINVAL,
                "bad send_name: name length %zu, but %zu bytes follow", nl,
                n - 15);
  memcpy(hs->peer_name, p + 15, nl);
  hs->peer_name[nl] = 0;
  hs->peer_name_len = nl;
  hs->peer_flags = otpc__dflags_expand(flags);
  hs->peer_creation = creation;
  hs->peer_name_me = (flags & OTPC__DFLAG_NAME_ME) != 0;
  if (hs->peer_name_me) {
    /* The peer sends only its host and asks us to name it. */
    if (nl == 0 || memchr(hs->peer_name, '@', nl) != NULL ||
        memchr(hs->peer_name, 0, nl) != NULL)
      return fail(hs, err, OTPC_EINVAL,
                  "send_name with NAME_ME carries '%.*s', expected a host "
                  "name only",
                  (int)(nl > 300 ? 300 : nl), hs->peer_name);
  } else {
    otpc_err_t e2;
    if (memchr(hs->peer_name, 0, nl) != NULL ||
        otpc__node_name_check(hs->peer_name, nl, &e2) != 0)
      return fail(hs, err, OTPC_EINVAL,
                  "Connection attempt from node with illegal name '%.*s'",
                  (int)(nl > 300 ? 300 : nl), hs->peer_name);
  }
  if (check_flags(hs, err, "from") != 0) {
    put_status(hs, "not_allowed");
    return OTPC_ENOTSUP;
  }
  hs->flags = hs->my_flags & hs->peer_flags;
  hs->state = ST_A_DECIDE;
  return OTPC__HS_EV_PEER_NAME;
}

/* Initiator: the status. */
static int on_status(otpc__hs_t *hs, const uint8_t *p, size_t n,
                     otpc_err_t *err) {
  if (n < 1 || p[0] != 's')
    return fail(hs, err, OTPC_EINVAL,
                "bad handshake status from %s: expected a packet starting "
                "with 's'",
                hs->peer_name);
  const char *s = (const char *)p + 1;
  size_t sl = n - 1;
#define IS(lit) (sl == sizeof(lit) - 1 && memcmp(s, lit, sl) == 0)
  if (IS("ok")) {
    hs->peer_status = OTPC__HS_OK;
  } else if (IS("ok_simultaneous")) {
    hs->peer_status = OTPC__HS_OK_SIMULTANEOUS;
  } else if (IS("nok")) {
    hs->peer_status = OTPC__HS_NOK;
    hs->state = ST_DONE;
    return OTPC__HS_EV_REFUSED;
  } else if (IS("not_allowed")) {
    hs->peer_status = OTPC__HS_NOT_ALLOWED;
    hs->state = ST_DONE;
    return OTPC__HS_EV_REFUSED;
  } else if (IS("alive")) {
    hs->peer_status = OTPC__HS_ALIVE;
    hs->state = ST_I_ALIVE;
    return OTPC__HS_EV_ALIVE;
  } else if (sl >= 6 && memcmp(s, "named:", 6) == 0) {
    if (!(hs->my_flags & OTPC__DFLAG_NAME_ME))
      return fail(hs, err, OTPC_EINVAL,
                  "status named: from %s, but we did not ask for a name",
                  hs->peer_name);
    if (sl < 8)
      return fail(hs, err, OTPC_EINVAL, "truncated named: status");
    size_t nl = otpc__get16(p + 7);
    if (sl != 8 + nl + 4 || nl > OTPC__HS_MAX_NAME)
      return fail(hs, err, OTPC_EINVAL,
                  "named: status of %zu bytes for a name of %zu bytes", sl, nl);
    memcpy(hs->my_name, p + 9, nl);
    hs->my_name[nl] = 0;
    if (memchr(hs->my_name, 0, nl) != NULL ||
        otpc__node_name_check(hs->my_name, nl, NULL) != 0)
      return fail(hs, err, OTPC_EINVAL, "named: gave an invalid node name");
    hs->my_creation = otpc__get32(p + 9 + nl);
    hs->peer_status = OTPC__HS_NAMED;
  } else {
    return fail(hs, err, OTPC_EINVAL, "unknown handshake status '%.*s'",
                (int)(sl > 40 ? 40 : sl), s);
  }
#undef IS
  hs->state = ST_I_CHALLENGE;
  return OTPC__HS_EV_NONE;
}

/* Initiator: challenge = 'N' | Flags:64 | Challenge:32 | Creation:32 |
 * Nlen:16 | Name. */
static int on_challenge(otpc__hs_t *hs, const uint8_t *p, size_t n,
                        otpc_err_t *err) {
  if (n < 19 || p[0] != 'N')
    return fail(hs, err, OTPC_EINVAL,
                "bad challenge from %s: %zu bytes starting with %u, "
                "expected 'N' and at least 19 bytes",
                hs->peer_name, n, n ? p[0] : 0);
  uint64_t flags = otpc__get64(p + 1);
  uint32_t chal = otpc__get32(p + 9);
  uint32_t creation = otpc__get32(p + 13);
  size_t nl = otpc__get16(p + 17);
  if (nl > n - 19)
    return fail(hs, err, OTPC_EINVAL,
                "bad challenge: name length %zu, but %zu bytes follow", nl,
                n - 19);
  /* The acceptor must be exactly the node we dialled (OTP compares the
   * atoms): another spelling of the host is another node. */
  if (nl != hs->peer_name_len || memcmp(p + 19, hs->peer_name, nl) != 0)
    return fail(hs, err, OTPC_EINVAL,
                "Connection attempt to node %s: the peer is '%.*s', not the "
                "node we dialled",
                hs->peer_name, (int)(nl > 300 ? 300 : nl),
                (const char *)p + 19);
  hs->peer_flags = otpc__dflags_expand(flags);
  hs->peer_creation = creation;
  hs->peer_challenge = chal;
  if (check_flags(hs, err, "to") != 0)
    return OTPC_ENOTSUP;
  hs->flags = hs->my_flags & hs->peer_flags;
  uint8_t r[21];
  r[0] = 'r';
  otpc__put32(r + 1, hs->challenge);
  otpc__hs_digest(hs->cookie, hs->cookie_len, chal, r + 5);
  int rc = put_packet(hs, r, sizeof r, NULL, 0);
  if (rc != 0)
    return fail(hs, err, rc, "out of memory");
  hs->state = ST_I_ACK;
  return OTPC__HS_EV_NONE;
}

static int on_ack(otpc__hs_t *hs, const uint8_t *p, size_t n, otpc_err_t *err) {
  uint8_t want[16];
  if (n != 17 || p[0] != 'a')
    return fail(hs, err, OTPC_EINVAL,
                "bad challenge ack from %s: %zu bytes, expected 'a' and a "
                "16-byte digest",
                hs->peer_name, n);
  otpc__hs_digest(hs->cookie, hs->cookie_len, hs->challenge, want);
  if (!digest_equal(p + 1, want))
    return fail(hs, err, OTPC_EINVAL,
                "Connection attempt to node %s: invalid challenge ack "
                "(different cookie?)",
                hs->peer_name);
  hs->state = ST_DONE;
  return OTPC__HS_EV_DONE;
}

static int on_reply(otpc__hs_t *hs, const uint8_t *p, size_t n,
                    otpc_err_t *err) {
  uint8_t want[16];
  if (n != 21 || p[0] != 'r')
    return fail(hs, err, OTPC_EINVAL,
                "bad challenge reply from %s: %zu bytes, expected 'r', a "
                "challenge and a 16-byte digest",
                hs->peer_name, n);
  otpc__hs_digest(hs->cookie, hs->cookie_len, hs->challenge, want);
  if (!digest_equal(p + 5, want))
    return fail(hs, err, OTPC_EINVAL,
                "** Connection attempt from node %s rejected. Invalid "
                "challenge reply. **",
                hs->peer_name);
  hs->peer_challenge = otpc__get32(p + 1);
  uint8_t a[17];
  a[0] = 'a';
  otpc__hs_digest(hs->cookie, hs->cookie_len, hs->peer_challenge, a + 1);
  int rc = put_packet(hs, a, sizeof a, NULL, 0);
  if (rc != 0)
    return fail(hs, err, rc, "out of memory");
  hs->state = ST_DONE;
  return OTPC__HS_EV_DONE;
}

static int on_alive_answer(otpc__hs_t *hs, const uint8_t *p, size_t n,
                           otpc_err_t *err) {
  if (n == 5 && memcmp(p, "strue", 5) == 0) {
    int rc = send_challenge(hs);
    if (rc != 0)
      return fail(hs, err, rc, "out of memory");
    hs->state = ST_A_REPLY;
    return OTPC__HS_EV_NONE;
  }
  if (n == 6 && memcmp(p, "sfalse", 6) == 0) {
    hs->state = ST_DONE;
    return OTPC__HS_EV_REFUSED;
  }
  return fail(hs, err, OTPC_EINVAL,
              "bad answer to status alive from %s: expected \"strue\" or "
              "\"sfalse\"",
              hs->peer_name);
}

/* ------------------------------------------------------------ driving */

int otpc__hs_feed(otpc__hs_t *hs, const uint8_t *data, size_t len, size_t *used,
                  otpc_err_t *err) {
  *used = 0;
  switch (hs->state) {
  case ST_I_ALIVE:
  case ST_A_DECIDE:
    return otpc__err(err, OTPC_EINVAL, 0,
                     "handshake fed while a decision is pending");
  case ST_DONE:
  case ST_FAILED:
    return otpc__err(err, OTPC_EINVAL, 0, "handshake already over");
  default: break;
  }
  /* Take the 2-byte header, then exactly the packet's bytes. */
  size_t have = hs->in.len;
  size_t want = 2;
  if (have >= 2)
    want = 2 + (size_t)otpc__get16(hs->in.data);
  size_t take = 0;
  while (take < len && have < want) {
    size_t n = want - have;
    if (n > len - take)
      n = len - take;
    if (otpc_buf_append(&hs->in, data + take, n) != 0) {
      *used = take;
      return fail(hs, err, OTPC_ENOMEM, "out of memory");
    }
    take += n;
    have += n;
    if (have == 2 && want == 2) {
      want = 2 + (size_t)otpc__get16(hs->in.data);
      if (want == 2) {
        *used = take;
        return fail(hs, err, OTPC_EINVAL, "empty handshake packet");
      }
    }
  }
  *used = take;
  if (have < want || want == 2)
    return OTPC__HS_EV_NONE;
  const uint8_t *p = hs->in.data + 2;
  size_t n = want - 2;
  int rc;
  switch (hs->state) {
  case ST_I_STATUS: rc = on_status(hs, p, n, err); break;
  case ST_I_CHALLENGE: rc = on_challenge(hs, p, n, err); break;
  case ST_I_ACK: rc = on_ack(hs, p, n, err); break;
  case ST_A_NAME: rc = on_send_name(hs, p, n, err); break;
  case ST_A_ALIVE: rc = on_alive_answer(hs, p, n, err); break;
  case ST_A_REPLY: rc = on_reply(hs, p, n, err); break;
  default: rc = fail(hs, err, OTPC_EINVAL, "handshake in a bad state");
  }
  hs->in.len = 0;
  if (rc < 0)
    hs->state = ST_FAILED;
  return rc;
}

int otpc__hs_decide(otpc__hs_t *hs, otpc__hs_status_t status, const char *name,
                    uint32_t creation, otpc_err_t *err) {
  int rc = 0;
  if (hs->state == ST_I_ALIVE) {
    if (status == OTPC__HS_OK) {
      rc = put_status(hs, "true");
      hs->state = ST_I_CHALLENGE;
      return rc == 0 ? OTPC__HS_EV_NONE : rc;
    }
    if (status == OTPC__HS_NOK) {
      rc = put_status(hs, "false");
      hs->state = ST_DONE;
      return rc == 0 ? OTPC__HS_EV_REFUSED : rc;
    }
    return otpc__err(err, OTPC_EINVAL, 0,
                     "the answer to alive must be OK (true) or NOK (false)");
  }
  if (hs->state != ST_A_DECIDE)
    return otpc__err(err, OTPC_EINVAL, 0, "no handshake decision pending");
  if (hs->peer_name_me != (status == OTPC__HS_NAMED) &&
      status != OTPC__HS_NOT_ALLOWED && status != OTPC__HS_NOK)
    return otpc__err(err, OTPC_EINVAL, 0,
                     hs->peer_name_me
                         ? "a NAME_ME peer must be answered NAMED (or refused)"
                         : "NAMED answers only a peer that sent NAME_ME");
  hs->peer_status = status;
  switch (status) {
  case OTPC__HS_OK:
  case OTPC__HS_OK_SIMULTANEOUS:
    rc = put_status(hs, status == OTPC__HS_OK ? "ok" : "ok_simultaneous");
    if (rc == 0)
      rc = send_challenge(hs);
    hs->state = ST_A_REPLY;
    return rc == 0 ? OTPC__HS_EV_NONE : rc;
  case OTPC__HS_NOK:
  case OTPC__HS_NOT_ALLOWED:
    rc = put_status(hs, status == OTPC__HS_NOK ? "nok" : "not_allowed");
    hs->state = ST_DONE;
    return rc == 0 ? OTPC__HS_EV_REFUSED : rc;
  case OTPC__HS_ALIVE:
    rc = put_status(hs, "alive");
    hs->state = ST_A_ALIVE;
    return rc == 0 ? OTPC__HS_EV_NONE : rc;
  case OTPC__HS_NAMED: {
    size_t nl = name ? strlen(name) : 0;
    if (nl == 0 || nl > OTPC__HS_MAX_NAME ||
        otpc__node_name_check(name, nl, err) != 0)
      return otpc__err(err, OTPC_EINVAL, 0,
                       "NAMED needs the full node name to give the peer");
    uint8_t b[6 + 2 + OTPC__HS_MAX_NAME + 4];
    memcpy(b, "named:", 6);
    otpc__put16(b + 6, (uint16_t)nl);
    memcpy(b + 8, name, nl);
    otpc__put32(b + 8 + nl, creation);
    rc = put_packet(hs, "s", 1, b, 12 + nl);
    memcpy(hs->peer_name, name, nl + 1);
    hs->peer_name_len = nl;
    hs->peer_creation = creation;
    if (rc == 0)
      rc = send_challenge(hs);
    hs->state = ST_A_REPLY;
    return rc == 0 ? OTPC__HS_EV_NONE : rc;
  }
  }
  return otpc__err(err, OTPC_EINVAL, 0, "unknown handshake status %d",
                   (int)status);
}
