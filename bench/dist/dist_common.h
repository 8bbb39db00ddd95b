/* What the C sides of the dist benchmark share (the otpc node in
 * bench/dist/dist_otpc.c and the plain ei node in bench/ei/dist_ei.c): the
 * scenario list of a client, clocks, CPU time, percentiles and the hex form
 * of the server's pid that bench/dist/run.sh hands from server to client.
 *
 * The protocol, the same for the otpc, ei and BEAM (bench/erl/dist_bench.erl)
 * sides, so any client can drive any server:
 *   server prints "ready NODE PIDHEX" (PIDHEX: term_to_binary(Pid) in hex);
 *   {m, I}                      a small message, counted
 *   {b, Bin}                    a binary message, counted with its bytes
 *   {fin, From}                 From ! {fin, Count, Bytes, CpuUs}: what came
 *                               since the last fin, and the server's CPU time
 *                               (user + system) from the first of those
 *                               messages to this one; counters reset
 *   {'$gen_call', {From, Tag}, Req}   From ! {Tag, Req}
 * A client runs scenarios given as arguments:
 *   small:N          N small messages, then fin: small_rate (msgs/s),
 *                    small_cpu_client_ns and small_cpu_server_ns per message
 *   bin:SIZE:TOTAL   TOTAL bytes as SIZE-byte binaries: bin_SIZE_mbs (MB/s)
 *   rtt:K            K sequential gen_server calls: rtt_p50_us, rtt_p99_us
 *                    (otpc: from its blocking thread process, then again
 *                    from a scheduler process: rtt_proc_p50_us, _p99_us)
 *   hol:TOTAL:CHUNK  TOTAL bytes as CHUNK-byte binaries from one process while
 *                    another makes calls on the same connection until the
 *                    transfer ends: hol_p50_us, hol_p99_us, hol_calls,
 *                    hol_mbs, hol_drops (connections lost meanwhile: a
 *                    missed tick shows as one)
 * and prints key=value lines. */
#ifndef OTPC_BENCH_DIST_COMMON_H
#define OTPC_BENCH_DIST_COMMON_H

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Whole-run limit, far above a healthy run: a hang becomes a failure. */
#define DIST_TIMEOUT_S 120

static inline _Noreturn void dist_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fputs("bench dist: ", stderr);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  _exit(1);
}

static inline double dist_now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* User + system CPU time of the whole process (every thread), in us. */
static inline int64_t dist_cpu_us(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
         ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
}

static int dist_cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* The p-th percentile (nearest rank) of n samples; sorts them. */
static inline double dist_percentile(double *v, size_t n, double p) {
  if (n == 0)
    return 0;
  qsort(v, n, sizeof *v, dist_cmp_double);
  size_t rank = (size_t)(p / 100.0 * (double)n + 0.999999);
  if (rank < 1)
    rank = 1;
  return v[rank > n ? n - 1 : rank - 1];
}

static inline void dist_print_hex(const uint8_t *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    printf("%02x", b[i]);
}

static inline int dist_hexval(char c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Decodes hex (an even number of digits, nothing else) into a malloc'ed
 * buffer; NULL on anything else. */
static inline uint8_t *dist_unhex(const char *hex, size_t *n) {
  size_t len = strlen(hex);
  if (len == 0 || len % 2 != 0)
    return NULL;
  uint8_t *b = malloc(len / 2);
  if (b == NULL)
    return NULL;
  for (size_t i = 0; i < len / 2; i++) {
    int hi = dist_hexval(hex[2 * i]), lo = dist_hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) {
      free(b);
      return NULL;
    }
    b[i] = (uint8_t)(hi << 4 | lo);
  }
  *n = len / 2;
  return b;
}

/* A decimal integer in 1..2^40 (a size or a count), all of *s up to
 * `stop` (a character or NUL); advances *s past it. */
static inline int dist_num(const char **s, char stop, long *out) {
  const char *p = *s;
  long v = 0;
  if (*p < '0' || *p > '9')
    return -1;
  for (; *p >= '0' && *p <= '9'; p++) {
    v = v * 10 + (*p - '0');
    if (v > (1L << 40))
      return -1;
  }
  if (*p != stop || v == 0)
    return -1;
  *s = stop ? p + 1 : p;
  *out = v;
  return 0;
}

typedef enum { SC_SMALL, SC_BIN, SC_RTT, SC_HOL } dist_sc_kind_t;

typedef struct dist_sc {
  dist_sc_kind_t kind;
  long a, b; /* small: N; bin: SIZE, TOTAL; rtt: K; hol: TOTAL, CHUNK */
} dist_sc_t;

#define DIST_SC_USAGE                                                          \
  "expected small:N, bin:SIZE:TOTAL (TOTAL >= SIZE), rtt:K or "                \
  "hol:TOTAL:CHUNK (TOTAL >= CHUNK), positive integers up to 2^40"

/* Parses one scenario argument: 0, or -1 (the caller names the argument
 * and prints DIST_SC_USAGE). */
static inline int dist_sc_parse(const char *s, dist_sc_t *sc) {
  long a = 0, b = 0;
  if (strncmp(s, "small:", 6) == 0) {
    s += 6;
    if (dist_num(&s, 0, &a) != 0)
      return -1;
    *sc = (dist_sc_t){SC_SMALL, a, 0};
  } else if (strncmp(s, "rtt:", 4) == 0) {
    s += 4;
    if (dist_num(&s, 0, &a) != 0)
      return -1;
    *sc = (dist_sc_t){SC_RTT, a, 0};
  } else if (strncmp(s, "bin:", 4) == 0) {
    s += 4;
    if (dist_num(&s, ':', &a) != 0 || dist_num(&s, 0, &b) != 0 || b < a)
      return -1;
    *sc = (dist_sc_t){SC_BIN, a, b};
  } else if (strncmp(s, "hol:", 4) == 0) {
    s += 4;
    if (dist_num(&s, ':', &a) != 0 || dist_num(&s, 0, &b) != 0 || a < b)
      return -1;
    *sc = (dist_sc_t){SC_HOL, a, b};
  } else {
    return -1;
  }
  return 0;
}

#define DIST_MAX_SC 16

/* A command line, decoded:
 *   PROG server NAME@HOST COOKIE TICKTIME
 *   PROG client NAME@HOST COOKIE TICKTIME SERVER_NODE PIDHEX SCENARIO... */
typedef struct dist_args {
  const char *name, *cookie, *ticktime, *server_node;
  uint8_t *pid_ext; /* the server pid's external term (client), malloc'ed */
  size_t pid_len;
  dist_sc_t sc[DIST_MAX_SC];
  int nsc;
} dist_args_t;

typedef int (*dist_main_fn)(dist_args_t *a);

/* The main() of both C sides: decodes the command line (a bad one exits 2
 * with the usage, or 1 naming the bad argument), then runs the server or
 * the client. Without `hol_ok` the hol scenario is refused. */
static inline int dist_main(int argc, char **argv, const char *prog,
                            dist_main_fn server, dist_main_fn client,
                            bool hol_ok) {
  signal(SIGPIPE, SIG_IGN);
  alarm(DIST_TIMEOUT_S);
  dist_args_t a = {0};
  bool is_server = argc == 5 && strcmp(argv[1], "server") == 0;
  bool is_client = argc >= 8 && strcmp(argv[1], "client") == 0;
  if (!is_server && !is_client) {
    fprintf(stderr,
            "usage: %s server NAME@HOST COOKIE TICKTIME\n"
            "       %s client NAME@HOST COOKIE TICKTIME SERVER_NODE PIDHEX "
            "SCENARIO...\n",
            prog, prog);
    return 2;
  }
  a.name = argv[2];
  a.cookie = argv[3];
  a.ticktime = argv[4];
  if (is_server)
    return server(&a);
  a.server_node = argv[5];
  a.pid_ext = dist_unhex(argv[6], &a.pid_len);
  if (a.pid_ext == NULL)
    dist_fail("'%s' is not hex (the server pid's external term)", argv[6]);
  a.nsc = argc - 7;
  if (a.nsc > DIST_MAX_SC)
    dist_fail("at most %d scenarios, got %d", DIST_MAX_SC, a.nsc);
  for (int i = 0; i < a.nsc; i++) {
    if (dist_sc_parse(argv[7 + i], &a.sc[i]) != 0)
      dist_fail("bad scenario '%s', %s", argv[7 + i], DIST_SC_USAGE);
    if (a.sc[i].kind == SC_HOL && !hol_ok)
      dist_fail("%s: hol needs two processes on one connection, which this "
                "node does not have",
                prog);
  }
  int rc = client(&a);
  free(a.pid_ext);
  return rc;
}

#endif
