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
 *   hol:TOTAL:CHUNK  TOTAL bytes as CHUNK-byte binaries from one process while
 *                    another makes calls on the same connection until the
 *                    transfer ends: hol_p50_us, hol_p99_us, hol_calls,
 *                    hol_mbs, hol_drops (connections lost meanwhile: a
 *                    missed tick shows as one)
 * and prints key=value lines. */
#ifndef OTPC_BENCH_DIST_COMMON_H
#define OTPC_BENCH_DIST_COMMON_H

#include <stdarg.h>
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

/* Decodes hex into a malloc'ed buffer; NULL on a bad digit. */
static inline uint8_t *dist_unhex(const char *hex, size_t *n) {
  size_t len = strlen(hex);
  if (len % 2 != 0)
    return NULL;
  uint8_t *b = malloc(len / 2 + 1);
  if (b == NULL)
    return NULL;
  for (size_t i = 0; i < len / 2; i++) {
    unsigned v;
    if (sscanf(hex + 2 * i, "%2x", &v) != 1) {
      free(b);
      return NULL;
    }
    b[i] = (uint8_t)v;
  }
  *n = len / 2;
  return b;
}

typedef enum { SC_SMALL, SC_BIN, SC_RTT, SC_HOL } dist_sc_kind_t;

typedef struct dist_sc {
  dist_sc_kind_t kind;
  long a, b; /* small: N; bin: SIZE, TOTAL; rtt: K; hol: TOTAL, CHUNK */
} dist_sc_t;

/* Parses one scenario argument; 0 or -1 with a message on stderr. */
static inline int dist_sc_parse(const char *s, dist_sc_t *sc) {
  long a = 0, b = 0;
  char tail;
  if (sscanf(s, "small:%ld%c", &a, &tail) == 1 && a > 0)
    *sc = (dist_sc_t){SC_SMALL, a, 0};
  else if (sscanf(s, "bin:%ld:%ld%c", &a, &b, &tail) == 2 && a > 0 && b >= a)
    *sc = (dist_sc_t){SC_BIN, a, b};
  else if (sscanf(s, "rtt:%ld%c", &a, &tail) == 1 && a > 0)
    *sc = (dist_sc_t){SC_RTT, a, 0};
  else if (sscanf(s, "hol:%ld:%ld%c", &a, &b, &tail) == 2 && b > 0 && a >= b)
    *sc = (dist_sc_t){SC_HOL, a, b};
  else {
    fprintf(stderr,
            "bench dist: bad scenario '%s', expected small:N, bin:SIZE:TOTAL, "
            "rtt:K or hol:TOTAL:CHUNK (positive integers)\n",
            s);
    return -1;
  }
  return 0;
}

#endif
