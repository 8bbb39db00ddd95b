/* otpc-port-example: a port program on the port toolkit, run by
 * otpc_port:start_link(Path, Opts) (src/otpc_port.erl). Requests (calls
 * reply with the result, {error, ...} on failure):
 *   {echo, T}            -> T
 *   {add, A, B}          -> A + B, integers of any size
 *   {sleep, Ms}          -> ok after Ms ms, on a timer: others go on
 *   crash                -> the program dies of SIGSEGV
 *   {crash, worker}      -> the same, on a worker thread
 *   {busy, Ms}           -> ok after a worker thread was busy Ms ms
 *   {block, Tag}         -> ok once {unblock, Tag} arrived
 *   {unblock, Tag}       -> {ok, N}: N blocked requests released
 *   {stream, N}          -> {ok, N}, then N events {item, I} as credits allow
 *   {print, Text}        -> ok, after printing Text on stdout (a log line)
 *   {log, Text}          -> ok, after sending Text as a log event
 *   {spawn_sleeper, S}   -> {ok, OsPid} of a child running sleep S
 *   {spawn_stubborn, S}  -> the same, but the child ignores SIGTERM
 *   {kill_child, OsPid}  -> ok once TERM was sent (KILL follows after the
 *                           grace time), {error, not_a_child} otherwise
 * The names of echo, add, sleep and crash are stable: checks outside the
 * test suite use them. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <uv.h>

#include "otpc/port.h"

typedef struct blocked {
  struct blocked *next;
  otpc_prog_req_t *req;
  otpc_term_t tag;
} blocked_t;

typedef struct state {
  blocked_t *blocked;
  uint64_t stream_next, stream_left;
} state_t;

/* ------------------------------------------------------------ add */

/* Magnitudes are little-endian bytes; r has room for max(na, nb) + 1. */
static size_t mag_add(const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
                      uint8_t *r) {
  size_t n = na > nb ? na : nb;
  unsigned carry = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned v = (i < na ? a[i] : 0) + (i < nb ? b[i] : 0) + carry;
    r[i] = (uint8_t)v;
    carry = v >> 8;
  }
  r[n] = (uint8_t)carry;
  return n + 1;
}

/* -1, 0, 1 as |a| <, =, > |b| (no high zero bytes in either). */
static int mag_cmp(const uint8_t *a, size_t na, const uint8_t *b, size_t nb) {
  if (na != nb)
    return na < nb ? -1 : 1;
  for (size_t i = na; i-- > 0;)
    if (a[i] != b[i])
      return a[i] < b[i] ? -1 : 1;
  return 0;
}

/* r = a - b with |a| >= |b|. */
static size_t mag_sub(const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
                      uint8_t *r) {
  int borrow = 0;
  for (size_t i = 0; i < na; i++) {
    int v = a[i] - (i < nb ? b[i] : 0) - borrow;
    borrow = v < 0;
    r[i] = (uint8_t)(v + (borrow ? 256 : 0));
  }
  return na;
}

/* The canonical encoding of sign and magnitude, as term_to_binary writes
 * it: small and 32-bit integers through the builder, bigger ones as
 * SMALL_BIG_EXT or LARGE_BIG_EXT. */
static int reply_int(otpc_prog_req_t *req, int neg, const uint8_t *mag,
                     size_t n) {
  while (n > 0 && mag[n - 1] == 0)
    n--;
  if (n <= 8) {
    uint64_t u = 0;
    for (size_t i = n; i-- > 0;)
      u = u << 8 | mag[i];
    if (!neg)
      return otpc_prog_reply(req, "~U", u);
    if (u <= (uint64_t)INT64_MAX + 1)
      return otpc_prog_reply(req, "~I", (int64_t)(0 - u));
  }
  otpc_buf_t b;
  otpc_buf_init(&b);
  uint8_t hdr[6];
  size_t h = 0;
  if (n <= 255) {
    hdr[h++] = 110;
    hdr[h++] = (uint8_t)n;
  } else {
    hdr[h++] = 111;
    for (int s = 24; s >= 0; s -= 8)
      hdr[h++] = (uint8_t)(n >> s);
  }
  hdr[h++] = (uint8_t)neg;
  int rc = otpc_buf_append(&b, hdr, h);
  if (rc == 0)
    rc = otpc_buf_append(&b, mag, n);
  if (rc == 0) {
    otpc_term_t t = {b.data, b.len};
    rc = otpc_prog_reply_term(req, t);
  }
  otpc_buf_free(&b);
  return rc;
}

static int do_add(otpc_prog_req_t *req, otpc_term_t ta, otpc_term_t tb) {
  otpc_int_t a, b;
  if (otpc_term_integer(ta, &a) != 0 || otpc_term_integer(tb, &b) != 0)
    return otpc_prog_reply(req, "{error, {badarg, ~s}}",
                           "add takes two integers");
  uint8_t *r = malloc((a.n > b.n ? a.n : b.n) + 1);
  if (r == NULL)
    return OTPC_ENOMEM;
  size_t n;
  int neg;
  if (a.neg == b.neg) {
    n = mag_add(a.mag, a.n, b.mag, b.n, r);
    neg = a.neg;
  } else if (mag_cmp(a.mag, a.n, b.mag, b.n) >= 0) {
    n = mag_sub(a.mag, a.n, b.mag, b.n, r);
    neg = a.neg;
  } else {
    n = mag_sub(b.mag, b.n, a.mag, a.n, r);
    neg = b.neg;
  }
  int rc = reply_int(req, neg, r, n);
  free(r);
  return rc;
}

/* ---------------------------------------------------------- timers */

typedef struct sleeper {
  uv_timer_t t;
  otpc_prog_req_t *req;
} sleeper_t;

static void sleeper_closed(uv_handle_t *h) {
  free(h->data);
}

static void woke(uv_timer_t *t) {
  sleeper_t *s = t->data;
  otpc_prog_reply(s->req, "ok");
  uv_close((uv_handle_t *)t, sleeper_closed);
}

static int do_sleep(otpc_prog_t *p, otpc_prog_req_t *req, uint64_t ms) {
  sleeper_t *s = malloc(sizeof *s);
  if (s == NULL)
    return OTPC_ENOMEM;
  s->req = req;
  uv_timer_init(otpc_prog_loop(p), &s->t);
  s->t.data = s;
  uv_timer_start(&s->t, woke, ms, 0);
  return 0;
}

/* Runs on a worker thread: a handler that blocks, as legacy code does. */
static int busy_work(otpc_term_t request, otpc_buf_t *reply, void *ud) {
  (void)ud;
  uint64_t ms;
  if (otpc_term_match(request, NULL, "{busy, ~U}", &ms) != 0)
    return OTPC_EINVAL;
  struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0)
    ;
  return otpc_term_build(reply, NULL, "ok");
}

static int crash_work(otpc_term_t request, otpc_buf_t *reply, void *ud) {
  (void)request;
  (void)reply;
  (void)ud;
  raise(SIGSEGV);
  return OTPC_EINVAL;
}

/* --------------------------------------------------- block / unblock */

static int do_unblock(state_t *st, otpc_prog_req_t *req, otpc_term_t tag) {
  uint64_t released = 0;
  for (blocked_t **b = &st->blocked; *b != NULL;) {
    blocked_t *x = *b;
    if (otpc_term_equal(x->tag, tag)) {
      *b = x->next;
      otpc_prog_reply(x->req, "ok");
      free(x);
      released++;
    } else {
      b = &x->next;
    }
  }
  return otpc_prog_reply(req, "{ok, ~U}", released);
}

static int do_block(state_t *st, otpc_prog_req_t *req, otpc_term_t tag) {
  blocked_t *b = malloc(sizeof *b);
  if (b == NULL)
    return OTPC_ENOMEM;
  b->req = req;
  b->tag = tag; /* a view into the request, which lives until the reply */
  b->next = st->blocked;
  st->blocked = b;
  return 0;
}

/* ----------------------------------------------------------- stream */

/* Emits while the framework takes events; resumed by on_credit. */
static void stream_pump(otpc_prog_t *p, void *ud) {
  state_t *st = ud;
  while (st->stream_left > 0 &&
         otpc_prog_emit(p, "{item, ~U}", st->stream_next) == 0) {
    st->stream_next++;
    st->stream_left--;
  }
}

/* ----------------------------------------------------------- children */

/* A child sleeping secs seconds; a stubborn one ignores SIGTERM (the
 * ignored disposition survives exec), so only the KILL that follows ends
 * it. */
static int do_spawn(otpc_prog_t *p, otpc_prog_req_t *req, uint64_t secs,
                    int stubborn) {
  char num[24], cmd[64];
  snprintf(num, sizeof num, "%llu", (unsigned long long)secs);
  snprintf(cmd, sizeof cmd, "trap '' TERM; exec /bin/sleep %s", num);
  char *plain[] = {"/bin/sleep", num, NULL};
  char *shell[] = {"/bin/sh", "-c", cmd, NULL};
  pid_t pid;
  int rc = otpc_prog_spawn(p, stubborn ? shell : plain, &pid);
  if (rc < 0)
    return rc;
  return otpc_prog_reply(req, "{ok, ~l}", (long)pid);
}

/* ---------------------------------------------------------- dispatch */

static int handle(otpc_prog_t *p, otpc_prog_req_t *req, otpc_term_t r,
                  void *ud) {
  state_t *st = ud;
  otpc_term_t a, b;
  uint64_t n;
  char text[1024];
  if (otpc_term_match(r, NULL, "{echo, ~t}", &a) == 0)
    return otpc_prog_reply_term(req, a);
  if (otpc_term_match(r, NULL, "{add, ~t, ~t}", &a, &b) == 0)
    return do_add(req, a, b);
  if (otpc_term_match(r, NULL, "{sleep, ~U}", &n) == 0)
    return do_sleep(p, req, n);
  if (otpc_term_is_atom(r, "crash") == 1) {
    raise(SIGSEGV);
    return otpc_prog_reply(req, "{error, survived}");
  }
  if (otpc_term_match(r, NULL, "{crash, worker}") == 0)
    return otpc_prog_queue_work(req, crash_work);
  if (otpc_term_match(r, NULL, "{busy, ~U}", &n) == 0)
    return otpc_prog_queue_work(req, busy_work);
  if (otpc_term_match(r, NULL, "{block, ~t}", &a) == 0)
    return do_block(st, req, a);
  if (otpc_term_match(r, NULL, "{unblock, ~t}", &a) == 0)
    return do_unblock(st, req, a);
  if (otpc_term_match(r, NULL, "{stream, ~U}", &n) == 0) {
    st->stream_left += n;
    stream_pump(p, st);
    return otpc_prog_reply(req, "{ok, ~U}", n);
  }
  if (otpc_term_match(r, NULL, "{print, ~s}", text, sizeof text) == 0) {
    /* A stray print, as careless code does: it must not reach the
     * protocol, and arrives on the Erlang side as a log line. */
    printf("%s\n", text);
    return otpc_prog_reply(req, "ok");
  }
  if (otpc_term_match(r, NULL, "{log, ~s}", text, sizeof text) == 0) {
    otpc_prog_log(p, "notice", "%s", text);
    return otpc_prog_reply(req, "ok");
  }
  int stubborn = otpc_term_match(r, NULL, "{spawn_stubborn, ~U}", &n) == 0;
  if (stubborn || otpc_term_match(r, NULL, "{spawn_sleeper, ~U}", &n) == 0)
    return do_spawn(p, req, n, stubborn);
  long pid;
  if (otpc_term_match(r, NULL, "{kill_child, ~l}", &pid) == 0)
    return otpc_prog_kill(p, (pid_t)pid) == 0
               ? otpc_prog_reply(req, "ok")
               : otpc_prog_reply(req, "{error, not_a_child}");
  return otpc_prog_reply(req, "{error, {unknown_request, ~t}}", &r);
}

int main(void) {
  state_t st = {0};
  st.stream_next = 1;
  otpc_prog_config_t cfg;
  otpc_err_t err;
  otpc_prog_config_init(&cfg);
  cfg.name = "otpc-port-example";
  cfg.handle = handle;
  cfg.on_credit = stream_pump;
  cfg.ud = &st;
  int rc = otpc_prog_config_from_env(&cfg, &err);
  if (rc == 0)
    rc = otpc_prog_run(&cfg, &err);
  if (rc < 0) {
    fprintf(stderr, "otpc-port-example: %s\n", err.msg);
    return 2;
  }
  return 0;
}
