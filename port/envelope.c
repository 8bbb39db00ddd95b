/* The port protocol's envelopes: decoding what the Erlang side sends,
 * encoding whole frames, and the options passed in the environment. Pure
 * functions (no I/O), so they are unit-tested and fuzzed on their own. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "otpc/frame.h"
#include "port_internal.h"

#define EXPECTED "{call, Id, Request}, {cast, Request} or {credit, N}"

/* Largest credit one frame may grant: a 32-bit count keeps the sum of all
 * grants far from overflowing the 64-bit counter. */
#define MAX_CREDIT 0xFFFFFFFFull

/* "a" or "an" before a type name, for readable errors. */
static const char *article(otpc_term_t t) {
  const char *name = otpc_type_name(otpc_term_type(t));
  return strchr("aeiou", name[0]) != NULL ? "an" : "a";
}

static int decode_call(otpc_iter_t *it, size_t arity, otpc__prog_msg_t *msg,
                       int *has_id, otpc_err_t *err) {
  otpc_term_t id, req;
  if (arity != 3)
    return otpc__err(err, OTPC_ENOMATCH, 0,
                     "a call has 3 elements, {call, Id, Request}, got %zu",
                     arity);
  otpc_iter_next(it, &id);
  if (otpc_term_uint64(id, &msg->id) != 0)
    return otpc__err(err, OTPC_ENOMATCH, 0,
                     "the Id of {call, Id, Request} must be an integer in "
                     "0..2^64-1, got %s %s",
                     otpc_term_type(id) == OTPC_T_INTEGER ? "one out of"
                                                          : article(id),
                     otpc_term_type(id) == OTPC_T_INTEGER
                         ? "that range"
                         : otpc_type_name(otpc_term_type(id)));
  *has_id = 1;
  otpc_iter_next(it, &req);
  msg->kind = OTPC__PROG_CALL;
  msg->request = req;
  return 0;
}

static int decode_credit(otpc_iter_t *it, size_t arity, otpc__prog_msg_t *msg,
                         otpc_err_t *err) {
  otpc_term_t n;
  if (arity != 2)
    return otpc__err(err, OTPC_ENOMATCH, 0,
                     "a credit has 2 elements, {credit, N}, got %zu", arity);
  otpc_iter_next(it, &n);
  if (otpc_term_uint64(n, &msg->credit) != 0 || msg->credit == 0 ||
      msg->credit > MAX_CREDIT)
    return otpc__err(err, OTPC_ENOMATCH, 0,
                     "N of {credit, N} must be an integer in 1..%llu",
                     (unsigned long long)MAX_CREDIT);
  msg->kind = OTPC__PROG_CREDIT;
  return 0;
}

int otpc__prog_decode(const uint8_t *frame, size_t len, otpc__prog_msg_t *msg,
                      int *has_id, otpc_err_t *err) {
  otpc_term_t t, tag;
  otpc_iter_t it;
  size_t arity;
  *has_id = 0;
  memset(msg, 0, sizeof *msg);
  int rc = otpc_term_from_ext(frame, len, &t, err);
  if (rc < 0)
    return rc; /* err already says what is wrong with the bytes */
  if (otpc_term_tuple(t, &it, &arity) != 0 || arity < 2)
    return otpc__err(err, OTPC_ENOMATCH, 0, "expected %s, got %s %s", EXPECTED,
                     article(t), otpc_type_name(otpc_term_type(t)));
  otpc_iter_next(&it, &tag);
  if (otpc_term_is_atom(tag, "call") == 1)
    return decode_call(&it, arity, msg, has_id, err);
  if (otpc_term_is_atom(tag, "credit") == 1)
    return decode_credit(&it, arity, msg, err);
  if (otpc_term_is_atom(tag, "cast") == 1) {
    if (arity != 2)
      return otpc__err(err, OTPC_ENOMATCH, 0,
                       "a cast has 2 elements, {cast, Request}, got %zu",
                       arity);
    otpc_iter_next(&it, &msg->request);
    msg->kind = OTPC__PROG_CAST;
    return 0;
  }
  return otpc__err(err, OTPC_ENOMATCH, 0,
                   "expected %s: the first element is not call, cast or "
                   "credit",
                   EXPECTED);
}

/* A decimal in lo..hi, the whole string and nothing else. */
static int parse_uint(const char *name, const char *value,
                      unsigned long long lo, unsigned long long hi,
                      unsigned long long *out, otpc_err_t *err) {
  const char *p = value;
  unsigned long long v = 0;
  if (*p == '\0')
    goto bad;
  for (; *p != '\0'; p++) {
    if (*p < '0' || *p > '9' || v > (hi - (unsigned)(*p - '0')) / 10)
      goto bad;
    v = v * 10 + (unsigned)(*p - '0');
  }
  if (v < lo)
    goto bad;
  *out = v;
  return 0;
bad:
  return otpc__err(err, OTPC_EINVAL, (size_t)(p - value),
                   "%s=\"%.40s\": expected a decimal integer in %llu..%llu",
                   name, value, lo, hi);
}

int otpc__prog_option(otpc_prog_config_t *cfg, const char *name,
                      const char *value, otpc_err_t *err) {
  unsigned long long v;
  int rc;
  if (strcmp(name, "OTPC_PORT_PACKET") == 0) {
    if (strcmp(value, "1") == 0 || strcmp(value, "2") == 0 ||
        strcmp(value, "4") == 0) {
      cfg->packet = (unsigned)(value[0] - '0');
      return 0;
    }
    return otpc__err(err, OTPC_EINVAL, 0, "%s=\"%.40s\": expected 1, 2 or 4",
                     name, value);
  }
  if (strcmp(name, "OTPC_PORT_IO") == 0) {
    if (strcmp(value, "stdio") == 0 || strcmp(value, "fds") == 0) {
      cfg->use_fds = value[0] == 'f';
      return 0;
    }
    return otpc__err(err, OTPC_EINVAL, 0, "%s=\"%.40s\": expected stdio or fds",
                     name, value);
  }
  if (strcmp(name, "OTPC_PORT_MAX_FRAME") == 0) {
    if ((rc = parse_uint(name, value, 1, 0xFFFFFFFFull, &v, err)) == 0)
      cfg->max_frame = (size_t)v;
    return rc;
  }
  if (strcmp(name, "OTPC_PORT_WINDOW") == 0) {
    if ((rc = parse_uint(name, value, 1, OTPC_PROG_MAX_WINDOW, &v, err)) == 0)
      cfg->window = (unsigned)v;
    return rc;
  }
  return otpc__err(err, OTPC_EINVAL, 0, "unknown option %.40s", name);
}

void otpc_prog_config_init(otpc_prog_config_t *cfg) {
  memset(cfg, 0, sizeof *cfg);
  cfg->name = "port program";
  cfg->packet = 4;
  cfg->max_frame = OTPC_PROG_DEFAULT_MAX_FRAME;
  cfg->window = 64;
  cfg->capture_stdout = 1;
  cfg->max_events = 1024;
  cfg->kill_grace_ms = 1000;
}

int otpc_prog_config_from_env(otpc_prog_config_t *cfg, otpc_err_t *err) {
  static const char *const names[] = {"OTPC_PORT_PACKET", "OTPC_PORT_IO",
                                      "OTPC_PORT_MAX_FRAME",
                                      "OTPC_PORT_WINDOW"};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    const char *v = getenv(names[i]);
    int rc;
    if (v != NULL && (rc = otpc__prog_option(cfg, names[i], v, err)) < 0)
      return rc;
  }
  return 0;
}

int otpc__prog_vframe(otpc_buf_t *out, unsigned packet, size_t max_frame,
                      const char *fmt, va_list ap) {
  size_t start = out->len;
  uint8_t hdr[4] = {0};
  /* Room for the header first; it is written once the length is known. */
  int rc = otpc_buf_append(out, hdr, packet);
  if (rc == 0)
    rc = otpc_term_put_version(out);
  if (rc == 0)
    rc = otpc_term_vbuild(out, NULL, fmt, ap);
  if (rc == 0) {
    size_t body = out->len - start - packet;
    if (body > max_frame || otpc_frame_header(hdr, packet, body) < 0)
      rc = OTPC_ELIMIT;
    else
      memcpy(out->data + start, hdr, packet);
  }
  if (rc < 0)
    out->len = start;
  return rc;
}

int otpc__prog_frame(otpc_buf_t *out, unsigned packet, size_t max_frame,
                     const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc__prog_vframe(out, packet, max_frame, fmt, ap);
  va_end(ap);
  return rc;
}

/* Appends the external format of a non-negative integer, as term_to_binary
 * writes it (smallest form), without allocating. */
static size_t put_uint(uint8_t *p, uint64_t v) {
  if (v < 256) {
    p[0] = 97;
    p[1] = (uint8_t)v;
    return 2;
  }
  if (v < 0x80000000u) {
    p[0] = 98;
    otpc__put32(p + 1, (uint32_t)v);
    return 5;
  }
  size_t n = 0;
  for (uint64_t x = v; x != 0; x >>= 8)
    p[3 + n++] = (uint8_t)x;
  p[0] = 110;
  p[1] = (uint8_t)n;
  p[2] = 0;
  return 3 + n;
}

size_t otpc__prog_crash_frame(uint8_t *out, unsigned packet, int sig,
                              int has_id, uint64_t id) {
  static const uint8_t head[] = {131, 104, 3,   119, 7,   'c',
                                 'r', 'a', 's', 'h', 'e', 'd'};
  static const uint8_t undef[] = {119, 9,   'u', 'n', 'd', 'e',
                                  'f', 'i', 'n', 'e', 'd'};
  uint8_t *b = out + packet;
  size_t n = sizeof head;
  memcpy(b, head, n);
  n += put_uint(b + n, sig > 0 ? (uint64_t)sig : 0);
  if (has_id) {
    n += put_uint(b + n, id);
  } else {
    memcpy(b + n, undef, sizeof undef);
    n += sizeof undef;
  }
  otpc_frame_header(out, packet, n); /* n < 40 fits every header */
  return packet + n;
}
