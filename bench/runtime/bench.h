/* What the otpc side of the runtime benchmarks shares: a main() that starts a
 * runtime with the schedulers the BEAM peer gets, spawns the benchmark's
 * driver process and prints the one number it reports; checks that end the
 * OS process with a non-zero status, so a broken runtime cannot post a
 * figure; a clock and the resident set size.
 *
 * The driver is an ordinary process on the schedulers, as the peer's driver
 * is an Erlang process: the main thread only waits, so the otpc side gets no
 * third busy thread. */
#ifndef OTPC_BENCH_RUNTIME_H
#define OTPC_BENCH_RUNTIME_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "otpc/msg.h"
#include "otpc/process.h"
#include "otpc/term.h"

/* The peer runs `erl +S 2:2`. */
#define BENCH_SCHEDULERS 2
/* Whole-run limit, far above any healthy run: a hang becomes a failure
 * (SIGALRM's default action ends the process) instead of a stalled suite. */
#define BENCH_TIMEOUT_S 120
#define BENCH_MAX_ARGS 4

/* Handed to the driver's init. It lives in main()'s frame, which outlives
 * every process. */
typedef struct bench_ctx {
  otpc_pid_t main; /* the main thread's process: the result goes there */
  long arg[BENCH_MAX_ARGS]; /* the integer arguments, in order */
  const char *word;         /* the first non-integer argument, or "" */
  const char *format;       /* printf format of the result */
} bench_ctx_t;

static inline _Noreturn void bench_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bench: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  /* From any thread, without waiting for the runtime: it may be what broke. */
  _exit(1);
}

/* Runs an otpc call and fails the benchmark on an error code. */
#define BENCH_TRY(expr)                                                        \
  do {                                                                         \
    int bench_rc_ = (expr);                                                    \
    if (bench_rc_ < 0)                                                         \
      bench_fail("%s:%d: %s: %s", __FILE__, __LINE__, #expr,                   \
                 otpc_strerror(bench_rc_));                                    \
  } while (0)

/* Fails unless `got` equals `expected` (integers). */
#define BENCH_CHECK(what, expected, got)                                       \
  do {                                                                         \
    long long bench_e_ = (long long)(expected), bench_g_ = (long long)(got);   \
    if (bench_e_ != bench_g_)                                                  \
      bench_fail("%s: expected %lld, got %lld", (what), bench_e_, bench_g_);   \
  } while (0)

/* A message from a format, for the messages built once and sent many times
 * (a send shares the message, never copies it). */
#define BENCH_MSG(out, ...) BENCH_TRY(otpc_msg_build((out), NULL, __VA_ARGS__))

static inline uint64_t bench_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline double bench_ms_since(uint64_t t0) {
  return (double)(bench_now_ns() - t0) / 1e6;
}

/* Resident set size of this OS process, from /proc as on the BEAM side. */
static inline long bench_rss_bytes(void) {
  FILE *f = fopen("/proc/self/statm", "r");
  long size = 0, resident = 0;
  if (f == NULL || fscanf(f, "%ld %ld", &size, &resident) != 2)
    bench_fail("cannot read /proc/self/statm");
  fclose(f);
  return resident * sysconf(_SC_PAGESIZE);
}

/* ------------------------------------------------------ reading terms */

static inline bool bench_is(otpc_term_t t, const char *atom) {
  return otpc_term_is_atom(t, atom);
}

/* Element i (0-based) of a tuple; fails if there is none. */
static inline otpc_term_t bench_elem(otpc_term_t t, size_t i) {
  otpc_term_t e;
  BENCH_TRY(otpc_term_element(t, i, &e));
  return e;
}

/* A tuple whose first element is the atom `tag`. */
static inline bool bench_tagged(otpc_term_t t, const char *tag) {
  otpc_term_t e;
  return otpc_term_type(t) == OTPC_T_TUPLE &&
         otpc_term_element(t, 0, &e) == 0 && otpc_term_is_atom(e, tag);
}

static inline int64_t bench_int(otpc_term_t t) {
  int64_t v;
  BENCH_TRY(otpc_term_int64(t, &v));
  return v;
}

static inline otpc_pid_t bench_pid(otpc_term_t t) {
  otpc_pid_t p;
  BENCH_TRY(otpc_term_pid(t, &p));
  return p;
}

static inline _Noreturn void bench_unexpected(otpc_msg_t *msg) {
  char text[200];
  otpc_term_snprint(text, sizeof text, otpc_msg_term(msg));
  bench_fail("unexpected message %s", text);
}

/* ------------------------------------------------------------ processes */

/* Ends the calling process normally. */
static inline _Noreturn void bench_exit_normal(otpc_proc_t *self) {
  otpc_exitf(self, "normal");
}

/* The driver's result: main prints it, and the driver exits. */
static inline _Noreturn void bench_report(otpc_proc_t *self,
                                          const bench_ctx_t *ctx, double v) {
  BENCH_TRY(otpc_sendf(self, ctx->main, "{ok, ~f}", v));
  bench_exit_normal(self);
}

/* main() of every benchmark: `prog INT... [WORD]`. */
static inline int bench_main(const otpc_proc_class_t *driver, int argc,
                             char **argv, int nargs, const char *format) {
  bench_ctx_t ctx;
  memset(&ctx, 0, sizeof ctx);
  ctx.word = "";
  ctx.format = format;
  int got = 0;
  for (int i = 1; i < argc; i++) {
    char *end;
    long v = strtol(argv[i], &end, 10);
    if (*end == '\0' && got < BENCH_MAX_ARGS)
      ctx.arg[got++] = v;
    else
      ctx.word = argv[i];
  }
  if (got != nargs)
    bench_fail("usage: %s with %d integer arguments", argv[0], nargs);
  alarm(BENCH_TIMEOUT_S);

  otpc_rt_opts_t opts;
  memset(&opts, 0, sizeof opts);
  opts.schedulers = BENCH_SCHEDULERS;
  otpc_rt_t *rt;
  BENCH_TRY(otpc_rt_start(&opts, &rt));
  otpc_proc_t *me;
  BENCH_TRY(otpc_thread_attach(rt, &me));
  ctx.main = otpc_self(me);
  otpc_pid_t pid;
  BENCH_TRY(otpc_rt_spawn(rt, driver, &ctx, NULL, &pid));

  otpc_msg_t *msg;
  BENCH_TRY(otpc_thread_receive(me, NULL, NULL, -1, &msg));
  double v;
  if (otpc_term_match(otpc_msg_term(msg), NULL, "{ok, ~f}", &v) != 0)
    bench_unexpected(msg);
  otpc_msg_unref(msg);
  printf(format, v);
  putchar('\n');
  fflush(stdout);

  otpc_msg_t *normal;
  BENCH_MSG(&normal, "normal");
  otpc_thread_detach(me, otpc_msg_term(normal));
  otpc_msg_unref(normal);
  /* Stopping also proves the runtime shuts down with what is left alive. */
  BENCH_TRY(otpc_rt_stop(rt));
  return 0;
}

#endif
