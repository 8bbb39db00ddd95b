/* otpc-term: the term layer as an Erlang port program.
 *
 * Run it with open_port({spawn_executable, Path}, [{packet, 4}, binary]).
 * Each request is term_to_binary of one of:
 *   {roundtrip, T}       -> {ok, Printed, Reencoded}: Printed is the text of
 *                           otpc_term_print, Reencoded the bytes of
 *                           otpc_term_encode with the version byte, to compare
 *                           with term_to_binary(T, [{minor_version, 2}])
 *   {compare, A, B}      -> {Order, Equal}: otpc_term_compare (-1, 0, 1) and
 *                           otpc_term_equal (true/false)
 *   {match, Pattern, T}  -> {match, [Capture]} | {nomatch, Why}: Pattern is a
 *                           binary whose directives may only be ~t
 *   {build, Format}      -> {ok, Term} | {error, Why}: a format without
 *                           directives
 * Anything else, or a frame that is not a term, gets {error, Why}. The program
 * exits 0 when its standard input closes. It is the demo's and the
 * differential tests' window on the C side. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "otpc/msg.h"
#include "otpc/term.h"

/* Frames above this are refused: plenty for tests, bounded for safety. */
#define MAX_FRAME (256u << 20)
/* How many ~t captures a {match, ...} request may use. */
#define MAX_CAPTURES 8

static int reply_error(otpc_buf_t *out, const char *what, const char *why) {
  char text[512];
  snprintf(text, sizeof text, "%s: %s", what, why);
  return otpc_term_build(out, NULL, "{error, ~b}", text, strlen(text));
}

static int do_roundtrip(otpc_buf_t *out, otpc_term_t t) {
  otpc_buf_t printed, enc;
  otpc_buf_init(&printed);
  otpc_buf_init(&enc);
  int rc = otpc_term_print(&printed, t);
  if (rc == 0)
    rc = otpc_term_put_version(&enc);
  if (rc == 0)
    rc = otpc_term_encode(&enc, t);
  if (rc == 0)
    rc = otpc_term_build(out, NULL, "{ok, ~b, ~b}", printed.data, printed.len,
                         enc.data, enc.len);
  else
    rc = reply_error(out, "roundtrip", otpc_strerror(rc));
  otpc_buf_free(&printed);
  otpc_buf_free(&enc);
  return rc;
}

/* Copies a binary's bytes into a NUL-terminated string. */
static char *binary_text(otpc_term_t t) {
  const uint8_t *p;
  size_t len;
  if (otpc_term_binary(t, &p, &len) != 0)
    return NULL;
  char *s = malloc(len + 1);
  if (s != NULL) {
    memcpy(s, p, len);
    s[len] = 0;
  }
  return s;
}

static int do_match(otpc_buf_t *out, otpc_term_t pattern_bin, otpc_term_t t) {
  char *pattern = binary_text(pattern_bin);
  if (pattern == NULL)
    return reply_error(out, "match", "the pattern must be a binary");
  /* Only ~t directives, so the variadic arguments below are always enough. */
  int count = 0;
  for (const char *c = pattern; *c != 0; c++) {
    if (*c == '~') {
      if (c[1] != 't' || ++count > MAX_CAPTURES) {
        free(pattern);
        return reply_error(out, "match", "only up to 8 ~t captures allowed");
      }
    }
  }
  otpc_term_t cap[MAX_CAPTURES];
  otpc_err_t err;
  int rc = otpc_term_match(t, &err, pattern, &cap[0], &cap[1], &cap[2], &cap[3],
                           &cap[4], &cap[5], &cap[6], &cap[7]);
  free(pattern);
  if (rc == OTPC_ENOMATCH || rc == OTPC_EBADFMT)
    return otpc_term_build(out, NULL, "{~a, ~b}",
                           rc == OTPC_ENOMATCH ? "nomatch" : "badpattern",
                           err.msg, strlen(err.msg));
  if (rc < 0)
    return reply_error(out, "match", otpc_strerror(rc));
  /* {match, [C1, ..., Cn]} built as nested improper lists is awkward with a
   * fixed format, so write the list by hand through ~t pieces. */
  otpc_buf_t list;
  otpc_buf_init(&list);
  rc = otpc_term_build(&list, NULL, "[]");
  for (int i = count - 1; rc == 0 && i >= 0; i--) {
    otpc_buf_t cons;
    otpc_buf_init(&cons);
    otpc_term_t tail = {list.data, list.len};
    rc = otpc_term_build(&cons, NULL, "[~t | ~t]", &cap[i], &tail);
    otpc_buf_free(&list);
    list = cons;
  }
  otpc_term_t captures = {list.data, list.len};
  if (rc == 0)
    rc = otpc_term_build(out, NULL, "{match, ~t}", &captures);
  otpc_buf_free(&list);
  return rc;
}

static int do_build(otpc_buf_t *out, otpc_term_t format_bin) {
  char *format = binary_text(format_bin);
  if (format == NULL)
    return reply_error(out, "build", "the format must be a binary");
  if (strchr(format, '~') != NULL) {
    free(format);
    return reply_error(out, "build", "directives need C arguments");
  }
  otpc_buf_t built;
  otpc_err_t err;
  otpc_buf_init(&built);
  int rc = otpc_term_build(&built, &err, format);
  free(format);
  if (rc == 0) {
    otpc_term_t t = {built.data, built.len};
    rc = otpc_term_build(out, NULL, "{ok, ~t}", &t);
  } else {
    rc = reply_error(out, "build", err.msg);
  }
  otpc_buf_free(&built);
  return rc;
}

static int handle(const uint8_t *frame, size_t len, otpc_buf_t *out, void *ud) {
  (void)ud;
  otpc_msg_t *msg;
  otpc_err_t err;
  int rc = otpc_msg_decode(frame, len, &msg, &err);
  if (rc < 0)
    return reply_error(out, "decode", err.msg);
  otpc_term_t req = otpc_msg_term(msg), a, b;
  if (otpc_term_match(req, NULL, "{roundtrip, ~t}", &a) == 0)
    rc = do_roundtrip(out, a);
  else if (otpc_term_match(req, NULL, "{compare, ~t, ~t}", &a, &b) == 0)
    rc = otpc_term_build(out, NULL, "{~i, ~a}", otpc_term_compare(a, b),
                         otpc_term_equal(a, b) ? "true" : "false");
  else if (otpc_term_match(req, NULL, "{match, ~t, ~t}", &a, &b) == 0)
    rc = do_match(out, a, b);
  else if (otpc_term_match(req, NULL, "{build, ~t}", &a) == 0)
    rc = do_build(out, a);
  else
    rc = reply_error(out, "request", "unknown request");
  otpc_msg_unref(msg);
  return rc;
}

int main(int argc, char **argv) {
  (void)argv;
  if (argc != 1) {
    fprintf(stderr, "usage: otpc-term  (an Erlang port program: open it with "
                    "{packet, 4}; it takes no options)\n");
    return 2;
  }
  return otpc__port_serve("otpc-term", MAX_FRAME, handle, NULL) < 0 ? 1 : 0;
}
