/* Unit tests of the port program's loop (port/prog.c) through its public
 * API: a program with a test handler runs in a child process on two pipes,
 * and the test speaks the protocol to it. Covers the failure replies a
 * well-behaved example never produces. */
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "otpc/frame.h"
#include "otpc/port.h"

/* ------------------------------------------------------ the program */

static int work_fails(otpc_term_t request, otpc_buf_t *reply, void *ud) {
  (void)request, (void)reply, (void)ud;
  return OTPC_ERANGE;
}

static int work_garbage(otpc_term_t request, otpc_buf_t *reply, void *ud) {
  (void)request, (void)ud;
  return otpc_buf_append(reply, "\xff\xff", 2);
}

static int work_ok(otpc_term_t request, otpc_buf_t *reply, void *ud) {
  (void)ud;
  return otpc_term_build(reply, NULL, "{worked, ~t}", &request);
}

static int handle(otpc_prog_t *p, otpc_prog_req_t *req, otpc_term_t r,
                  void *ud) {
  (void)ud;
  uint64_t n;
  if (otpc_term_is_atom(r, "fail") == 1)
    return OTPC_EINVAL; /* no reply: the framework answers */
  if (otpc_term_is_atom(r, "work_fails") == 1)
    return otpc_prog_queue_work(req, work_fails);
  if (otpc_term_is_atom(r, "work_garbage") == 1)
    return otpc_prog_queue_work(req, work_garbage);
  if (otpc_term_is_atom(r, "work_ok") == 1)
    return otpc_prog_queue_work(req, work_ok);
  if (otpc_term_is_atom(r, "noreply") == 1) {
    otpc_prog_done(req);
    return 0;
  }
  if (otpc_term_match(r, NULL, "{big, ~U}", &n) == 0) {
    char *b = calloc(1, n);
    int rc = otpc_prog_reply(req, "~b", b, (size_t)n);
    free(b);
    return rc;
  }
  if (otpc_term_match(r, NULL, "{emit, ~U}", &n) == 0) {
    uint64_t taken = 0;
    for (uint64_t i = 0; i < n; i++)
      taken += otpc_prog_emit(p, "{e, ~U}", i) == 0;
    return otpc_prog_reply(req, "{taken, ~U, ~U}", taken, otpc_prog_credit(p));
  }
  if (otpc_term_is_atom(r, "log") == 1) {
    otpc_prog_log(p, "warning", "%d %s", 42, "things");
    return otpc_prog_reply(req, "ok");
  }
  if (otpc_term_is_atom(r, "bad_reply") == 1)
    return otpc_prog_reply(req, "{unclosed");
  return otpc_prog_reply(req, "{echo, ~t}", &r);
}

/* ---------------------------------------------------------- harness */

typedef struct prog {
  pid_t pid;
  int to, from;
  otpc_framer_t framer;
  otpc_buf_t last;
} prog_t;

static void start(prog_t *pr) {
  int in[2], out[2];
  assert_int_equal(pipe(in), 0);
  assert_int_equal(pipe(out), 0);
  pr->pid = fork();
  assert_true(pr->pid >= 0);
  if (pr->pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    close(in[0]), close(in[1]), close(out[0]), close(out[1]);
    otpc_prog_config_t cfg;
    otpc_err_t err;
    otpc_prog_config_init(&cfg);
    cfg.name = "test_port_prog";
    cfg.handle = handle;
    cfg.max_frame = 200;
    cfg.max_events = 3;
    cfg.window = 4;
    /* exit, not _exit: the leak checker of sanitized builds runs then. */
    exit(otpc_prog_run(&cfg, &err) == 0 ? 0 : 2);
  }
  close(in[0]);
  close(out[1]);
  pr->to = in[1];
  pr->from = out[0];
  assert_int_equal(otpc_framer_init(&pr->framer, 4, 1 << 20), 0);
  otpc_buf_init(&pr->last);
}

static void send_fmt(prog_t *pr, const char *fmt, ...) {
  otpc_buf_t b;
  otpc_buf_init(&b);
  uint8_t hdr[4] = {0};
  otpc_buf_append(&b, hdr, 4);
  otpc_term_put_version(&b);
  va_list ap;
  va_start(ap, fmt);
  assert_int_equal(otpc_term_vbuild(&b, NULL, fmt, ap), 0);
  va_end(ap);
  otpc_frame_header(b.data, 4, b.len - 4);
  assert_int_equal(write(pr->to, b.data, b.len), (ssize_t)b.len);
  otpc_buf_free(&b);
}

/* The next frame as a term, waiting at most 10 s for it. */
static otpc_term_t recv_term(prog_t *pr) {
  for (;;) {
    const uint8_t *f;
    size_t len;
    if (otpc_framer_next(&pr->framer, &f, &len, NULL) == 1) {
      pr->last.len = 0;
      otpc_buf_append(&pr->last, f, len);
      otpc_term_t t;
      assert_int_equal(otpc_term_from_ext(pr->last.data, len, &t, NULL), 0);
      return t;
    }
    struct pollfd pfd = {pr->from, POLLIN, 0};
    if (poll(&pfd, 1, 10000) != 1)
      fail_msg("no frame from the program within 10 s");
    uint8_t chunk[4096];
    ssize_t n = read(pr->from, chunk, sizeof chunk);
    if (n <= 0)
      fail_msg("the program closed its output");
    otpc_framer_feed(&pr->framer, chunk, (size_t)n);
  }
}

static void expect(prog_t *pr, const char *pattern) {
  otpc_term_t t = recv_term(pr);
  otpc_err_t err;
  if (otpc_term_match(t, &err, pattern) != 0) {
    char text[512];
    otpc_term_snprint(text, sizeof text, t);
    fail_msg("got %s, expected %s: %s", text, pattern, err.msg);
  }
}

/* Closes the input and returns the exit status. */
static int stop(prog_t *pr) {
  close(pr->to);
  int status;
  assert_int_equal(waitpid(pr->pid, &status, 0), pr->pid);
  close(pr->from);
  otpc_framer_free(&pr->framer);
  otpc_buf_free(&pr->last);
  return status;
}

/* ------------------------------------------------------------ tests */

static void test_failures_become_error_replies(void **state) {
  (void)state;
  prog_t pr;
  start(&pr);
  expect(&pr, "{hello, 1, #{window := 4, max_frame := 200, os_pid := _}}");
  send_fmt(&pr, "{call, 1, fail}");
  expect(&pr, "{reply, 1, {error, {handler_failed, _}}}");
  send_fmt(&pr, "{call, 2, work_fails}");
  expect(&pr, "{reply, 2, {error, {work_failed, _}}}");
  send_fmt(&pr, "{call, 3, work_garbage}");
  expect(&pr, "{reply, 3, {error, {work_failed, <<\"the work made no "
              "single valid term\">>}}}");
  send_fmt(&pr, "{call, 4, noreply}");
  expect(&pr, "{reply, 4, {error, noreply}}");
  send_fmt(&pr, "{call, 5, {big, 500}}");
  expect(&pr, "{reply, 5, {error, {reply_failed, _}}}");
  send_fmt(&pr, "{call, 6, bad_reply}");
  expect(&pr, "{reply, 6, {error, {reply_failed, _}}}");
  send_fmt(&pr, "{call, 7, work_ok}");
  expect(&pr, "{reply, 7, {worked, work_ok}}");
  send_fmt(&pr, "{call, 8, log}");
  expect(&pr, "{log, warning, <<\"42 things\">>}");
  expect(&pr, "{reply, 8, ok}");
  /* A cast's reply goes nowhere; the next call shows it was handled. */
  send_fmt(&pr, "{cast, hello}");
  send_fmt(&pr, "{call, 9, still}");
  expect(&pr, "{reply, 9, {echo, still}}");
  int status = stop(&pr);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
}

/* Without credit, events wait (up to max_events), then go out as credits
 * come. */
static void test_events_wait_for_credit(void **state) {
  (void)state;
  prog_t pr;
  start(&pr);
  expect(&pr, "{hello, 1, _}");
  send_fmt(&pr, "{call, 1, {emit, 5}}");
  expect(&pr, "{reply, 1, {taken, 3, 0}}");
  send_fmt(&pr, "{credit, 2}");
  expect(&pr, "{event, {e, 0}}");
  expect(&pr, "{event, {e, 1}}");
  send_fmt(&pr, "{call, 2, {emit, 1}}");
  /* One queued and room for one more: taken, and nothing sent yet. */
  expect(&pr, "{reply, 2, {taken, 1, 0}}");
  send_fmt(&pr, "{credit, 10}");
  expect(&pr, "{event, {e, 2}}");
  expect(&pr, "{event, {e, 0}}");
  send_fmt(&pr, "{call, 3, {emit, 1}}");
  expect(&pr, "{event, {e, 0}}");
  expect(&pr, "{reply, 3, {taken, 1, 7}}");
  assert_int_equal(WEXITSTATUS(stop(&pr)), 0);
}

/* An oversized frame: a protocol error, then exit status 2. */
static void test_oversized_frame_ends_the_program(void **state) {
  (void)state;
  prog_t pr;
  start(&pr);
  expect(&pr, "{hello, 1, _}");
  uint8_t hdr[4];
  otpc_frame_header(hdr, 4, 100000);
  assert_int_equal(write(pr.to, hdr, 4), 4);
  expect(&pr, "{protocol_error, <<\"frame of 100000 bytes is over the "
              "maximum of 200 bytes\">>}");
  int status = stop(&pr);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 2);
}

int main(void) {
  signal(SIGPIPE, SIG_IGN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_failures_become_error_replies),
      cmocka_unit_test(test_events_wait_for_credit),
      cmocka_unit_test(test_oversized_frame_ends_the_program),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
