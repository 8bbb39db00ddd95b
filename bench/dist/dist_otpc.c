/* The otpc side of the dist benchmark (protocol: dist_common.h).
 *
 *   dist_otpc server NAME@HOST COOKIE TICKTIME
 *   dist_otpc client NAME@HOST COOKIE TICKTIME SERVER_NODE PIDHEX SCEN...
 *
 * The server is one ordinary process on the schedulers. The client's driver
 * is the main thread as a thread process (blocking receive); in the hol
 * scenario a second thread process sends the bulk, so calls and bulk share
 * one connection as two processes of a BEAM node would. */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>

#include "otpc/gen_server.h"
#include "otpc/msg.h"
#include "otpc/process.h"
#include "otpc/term.h"

#include "dist_common.h"

/* The node API moves from cnode/dist/node.h (otpc__node_*) to the public
 * include/otpc/node.h (otpc_node_*); take whichever this tree has. */
#if __has_include("otpc/node.h")
#include "otpc/node.h"
#define NODE_T otpc_node_t
#define NODE_OPTS_T otpc_node_opts_t
#define NODE_START otpc_node_start
#define NODE_RT otpc_node_rt
#define NODE_NAME otpc_node_name
#define NODE_STOP otpc_node_stop
#else
#include "../../cnode/dist/node.h"
#define NODE_T otpc__node_t
#define NODE_OPTS_T otpc__node_opts_t
#define NODE_START otpc__node_start
#define NODE_RT otpc__node_rt
#define NODE_NAME otpc__node_name
#define NODE_STOP otpc__node_stop
#endif

#define TRY(expr)                                                              \
  do {                                                                         \
    int rc_ = (expr);                                                          \
    if (rc_ < 0)                                                               \
      dist_fail("%s:%d: %s: %s", __FILE__, __LINE__, #expr,                    \
                otpc_strerror(rc_));                                           \
  } while (0)

/* Connections lost ("down ..." log lines). Relaxed: a statistic written on
 * the node's loop thread and read once at the end of a scenario; no other
 * memory is published through it. */
static atomic_long downs;

static void on_log(void *ud, const char *line) {
  (void)ud;
  if (strncmp(line, "down ", 5) == 0)
    atomic_fetch_add_explicit(&downs, 1, memory_order_relaxed);
  fprintf(stderr, "%s\n", line);
}

static NODE_T *node_up(const char *name, const char *cookie,
                       const char *ticktime) {
  NODE_OPTS_T o = {.name = name,
                   .cookie = cookie,
                   .ticktime = (unsigned)atoi(ticktime),
                   .log = on_log};
  NODE_T *n;
  otpc_err_t err = {0};
  if (NODE_START(&o, &n, &err) != 0)
    dist_fail("cannot start node %s: %s", name, err.msg);
  return n;
}

/* ------------------------------------------------------------- server */

typedef struct server {
  int64_t count, bytes, cpu0;
} server_t;

static void server_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  server_t *s = state;
  otpc_term_t t = otpc_msg_term(msg), tag, req;
  otpc_pid_t from;
  const uint8_t *bin;
  size_t len;
  if (s->count == 0)
    s->cpu0 = dist_cpu_us();
  if (otpc_term_match(t, NULL, "{m, _}") == 0) {
    s->count++;
  } else if (otpc_term_match(t, NULL, "{b, ~b}", &bin, &len) == 0) {
    s->count++;
    s->bytes += (int64_t)len;
  } else if (otpc_term_match(t, NULL, "{fin, ~p}", &from) == 0) {
    int64_t cpu = s->count ? dist_cpu_us() - s->cpu0 : 0;
    otpc_sendf(self, from, "{fin, ~I, ~I, ~I}", s->count, s->bytes, cpu);
    s->count = s->bytes = 0;
  } else if (otpc_term_match(t, NULL, "{'$gen_call', {~p, ~t}, ~t}", &from,
                             &tag, &req) == 0) {
    otpc_sendf(self, from, "{~t, ~t}", &tag, &req);
  }
}

static const otpc_proc_class_t server_class = {.name = "dist_bench_server",
                                               .state_size = sizeof(server_t),
                                               .handle = server_handle};

static int server_main(dist_args_t *a) {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, NULL);
  NODE_T *n = node_up(a->name, a->cookie, a->ticktime);
  otpc_pid_t pid;
  TRY(otpc_rt_spawn(NODE_RT(n), &server_class, NULL, NULL, &pid));
  otpc_msg_t *m;
  TRY(otpc_msg_build(&m, NULL, "~p", &pid));
  size_t len;
  const uint8_t *ext = otpc_msg_ext(m, &len);
  printf("ready %s ", NODE_NAME(n));
  dist_print_hex(ext, len);
  printf("\n");
  fflush(stdout);
  otpc_msg_unref(m);
  int sig;
  sigwait(&set, &sig);
  NODE_STOP(n);
  return 0;
}

/* ------------------------------------------------------------- client */

static bool match_fin(otpc_term_t t, const void *arg) {
  (void)arg;
  return otpc_term_match(t, NULL, "{fin, _, _, _}") == 0;
}

static bool match_bulk_done(otpc_term_t t, const void *arg) {
  (void)arg;
  return otpc_term_match(t, NULL, "{bulk_done, _, _}") == 0;
}

/* Sends {fin, Self} and waits for the counts: 0, or dist_fail. */
static void fin(otpc_proc_t *self, otpc_pid_t server, int64_t *count,
                int64_t *cpu_us) {
  otpc_pid_t me = otpc_self(self);
  TRY(otpc_sendf(self, server, "{fin, ~p}", &me));
  otpc_msg_t *r;
  if (otpc_thread_receive(self, match_fin, NULL, DIST_TIMEOUT_S * 1000, &r) !=
      0)
    dist_fail("no {fin, ...} from the server");
  int64_t c, bytes, cpu;
  TRY(otpc_term_match(otpc_msg_term(r), NULL, "{fin, ~I, ~I, ~I}", &c, &bytes,
                      &cpu));
  otpc_msg_unref(r);
  *count = c;
  *cpu_us = cpu;
}

/* Sends `n` copies of one message (a send shares it, never copies). */
static void send_n(otpc_proc_t *self, otpc_pid_t to, otpc_msg_t *m, long n) {
  for (long i = 0; i < n; i++)
    TRY(otpc_send(self, to, m));
}

static void run_small(otpc_proc_t *self, otpc_pid_t server, long n) {
  otpc_msg_t *m;
  TRY(otpc_msg_build(&m, NULL, "{m, 1}"));
  int64_t c0 = dist_cpu_us(), count, scpu;
  double t0 = dist_now_s();
  send_n(self, server, m, n);
  fin(self, server, &count, &scpu);
  double dt = dist_now_s() - t0;
  int64_t ccpu = dist_cpu_us() - c0;
  otpc_msg_unref(m);
  if (count != n)
    dist_fail("small: the server counted %lld messages, expected %ld",
              (long long)count, n);
  printf(
      "small_rate=%.0f\nsmall_cpu_client_ns=%.1f\nsmall_cpu_server_ns=%.1f\n",
      (double)n / dt, (double)ccpu * 1000.0 / (double)n,
      (double)scpu * 1000.0 / (double)n);
}

static otpc_msg_t *bin_msg(long size) {
  uint8_t *b = malloc((size_t)size);
  if (b == NULL)
    dist_fail("out of memory for a %ld-byte binary", size);
  memset(b, 'x', (size_t)size);
  otpc_msg_t *m;
  TRY(otpc_msg_build(&m, NULL, "{b, ~b}", b, (size_t)size));
  free(b);
  return m;
}

static void run_bin(otpc_proc_t *self, otpc_pid_t server, long size,
                    long total) {
  otpc_msg_t *m = bin_msg(size);
  long n = total / size;
  int64_t count, scpu;
  double t0 = dist_now_s();
  send_n(self, server, m, n);
  fin(self, server, &count, &scpu);
  double dt = dist_now_s() - t0;
  otpc_msg_unref(m);
  if (count != n)
    dist_fail("bin %ld: the server counted %lld messages, expected %ld", size,
              (long long)count, n);
  printf("bin_%ld_mbs=%.1f\n", size, (double)n * (double)size / dt / 1e6);
}

/* One gen_server call; its round trip in us. */
static double call_once(otpc_proc_t *self, otpc_pid_t server, otpc_term_t req) {
  otpc_gs_result_t res;
  double t0 = dist_now_s();
  TRY(otpc_gen_server_call_blocking(self, server, req, 30000, &res));
  double us = (dist_now_s() - t0) * 1e6;
  if (res.status != OTPC_GS_OK)
    dist_fail("call: status %d, expected a reply", (int)res.status);
  otpc_msg_unref(res.term);
  return us;
}

/* The same calls from an ordinary process on the schedulers, as a C
 * process would make them (a continuation per reply, no thread): it tells
 * the thread-process hop apart from the rest of the round trip. The
 * samples go to the caller through `v`, read after its {rtt_done} message. */
typedef struct caller_arg {
  otpc_pid_t server, report;
  otpc_msg_t *req;
  double *v;
  long k;
} caller_arg_t;

typedef struct caller {
  caller_arg_t a;
  long i;
  double t0;
} caller_t;

static void caller_next(otpc_proc_t *self, caller_t *c);

static void caller_reply(otpc_proc_t *self, void *state,
                         const otpc_gs_result_t *res, void *ctx) {
  (void)ctx;
  caller_t *c = state;
  if (res->status != OTPC_GS_OK)
    dist_fail("call: status %d, expected a reply", (int)res->status);
  c->a.v[c->i++] = (dist_now_s() - c->t0) * 1e6;
  caller_next(self, c);
}

static void caller_next(otpc_proc_t *self, caller_t *c) {
  if (c->i == c->a.k) {
    TRY(otpc_sendf(self, c->a.report, "rtt_done"));
    return;
  }
  c->t0 = dist_now_s();
  TRY(otpc_gen_server_call(self, c->a.server, otpc_msg_term(c->a.req), 30000,
                           caller_reply, NULL));
}

static void caller_init(otpc_proc_t *self, void *state, void *arg) {
  caller_t *c = state;
  c->a = *(caller_arg_t *)arg;
  caller_next(self, c);
}

static const otpc_proc_class_t caller_class = {.name = "dist_bench_caller",
                                               .state_size = sizeof(caller_t),
                                               .init = caller_init};

static bool match_rtt_done(otpc_term_t t, const void *arg) {
  (void)arg;
  return otpc_term_match(t, NULL, "rtt_done") == 0;
}

static void run_rtt(otpc_proc_t *self, otpc_pid_t server, long k) {
  otpc_msg_t *req;
  TRY(otpc_msg_build(&req, NULL, "ping"));
  double *v = malloc(sizeof *v * (size_t)k);
  if (v == NULL)
    dist_fail("out of memory");
  for (long i = 0; i < k; i++)
    v[i] = call_once(self, server, otpc_msg_term(req));
  printf("rtt_p50_us=%.1f\n", dist_percentile(v, (size_t)k, 50));
  printf("rtt_p99_us=%.1f\n", dist_percentile(v, (size_t)k, 99));
  caller_arg_t a = {server, otpc_self(self), req, v, k};
  otpc_pid_t cp;
  TRY(otpc_spawn(self, &caller_class, &a, NULL, &cp));
  otpc_msg_t *done;
  if (otpc_thread_receive(self, match_rtt_done, NULL, DIST_TIMEOUT_S * 1000,
                          &done) != 0)
    dist_fail("the caller process did not finish its calls");
  otpc_msg_unref(done);
  printf("rtt_proc_p50_us=%.1f\n", dist_percentile(v, (size_t)k, 50));
  printf("rtt_proc_p99_us=%.1f\n", dist_percentile(v, (size_t)k, 99));
  free(v);
  otpc_msg_unref(req);
}

typedef struct bulk {
  otpc_pid_t server, caller;
  long total, chunk;
} bulk_t;

static void bulk_main(otpc_proc_t *self, void *arg) {
  bulk_t *b = arg;
  otpc_msg_t *m = bin_msg(b->chunk);
  long n = b->total / b->chunk;
  int64_t count, scpu;
  double t0 = dist_now_s();
  send_n(self, b->server, m, n);
  fin(self, b->server, &count, &scpu);
  double dt = dist_now_s() - t0;
  otpc_msg_unref(m);
  if (count != n)
    dist_fail("hol: the server counted %lld chunks, expected %ld",
              (long long)count, n);
  TRY(otpc_sendf(self, b->caller, "{bulk_done, ~I, ~I}", (int64_t)n * b->chunk,
                 (int64_t)(dt * 1e6)));
}

static void run_hol(otpc_proc_t *self, otpc_pid_t server, long total,
                    long chunk) {
  otpc_msg_t *req;
  TRY(otpc_msg_build(&req, NULL, "ping"));
  size_t cap = 1 << 16, n = 0;
  double *v = malloc(sizeof *v * cap);
  if (v == NULL)
    dist_fail("out of memory");
  long downs0 = atomic_load_explicit(&downs, memory_order_relaxed);
  bulk_t b = {server, otpc_self(self), total, chunk};
  otpc_pid_t bp;
  TRY(otpc_spawn_thread(otpc_proc_rt(self), bulk_main, &b, &bp));
  otpc_msg_t *done = NULL;
  while (otpc_thread_receive(self, match_bulk_done, NULL, 0, &done) != 0) {
    if (n == cap) {
      cap *= 2;
      double *nv = realloc(v, sizeof *v * cap);
      if (nv == NULL)
        dist_fail("out of memory");
      v = nv;
    }
    v[n++] = call_once(self, server, otpc_msg_term(req));
  }
  int64_t bytes, us;
  TRY(otpc_term_match(otpc_msg_term(done), NULL, "{bulk_done, ~I, ~I}", &bytes,
                      &us));
  otpc_msg_unref(done);
  printf("hol_p50_us=%.1f\n", dist_percentile(v, n, 50));
  printf("hol_p99_us=%.1f\n", dist_percentile(v, n, 99));
  printf("hol_calls=%zu\nhol_mbs=%.1f\nhol_drops=%ld\n", n,
         (double)bytes / (double)us,
         atomic_load_explicit(&downs, memory_order_relaxed) - downs0);
  free(v);
  otpc_msg_unref(req);
}

static int client_main(dist_args_t *a) {
  otpc_msg_t *pm;
  otpc_pid_t server;
  if (otpc_msg_decode(a->pid_ext, a->pid_len, &pm, NULL) != 0 ||
      otpc_term_match(otpc_msg_term(pm), NULL, "~p", &server) != 0)
    dist_fail("client: the PIDHEX argument is not a pid's external term");
  otpc_msg_unref(pm);
  NODE_T *n = node_up(a->name, a->cookie, a->ticktime);
  otpc_proc_t *self;
  TRY(otpc_thread_attach(NODE_RT(n), &self));
  for (int i = 0; i < a->nsc; i++) {
    const dist_sc_t *sc = &a->sc[i];
    switch (sc->kind) {
    case SC_SMALL: run_small(self, server, sc->a); break;
    case SC_BIN: run_bin(self, server, sc->a, sc->b); break;
    case SC_RTT: run_rtt(self, server, sc->a); break;
    case SC_HOL: run_hol(self, server, sc->a, sc->b); break;
    }
    fflush(stdout);
  }
  otpc_msg_t *normal;
  TRY(otpc_msg_build(&normal, NULL, "normal"));
  otpc_thread_detach(self, otpc_msg_term(normal));
  otpc_msg_unref(normal);
  NODE_STOP(n);
  return 0;
}

int main(int argc, char **argv) {
  return dist_main(argc, argv, "dist_otpc", server_main, client_main, true);
}
