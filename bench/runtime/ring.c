/* runtime.ring_NxM: N processes in a ring (the driver is one of them) pass
 * one token M times around. Measures the token passing only (the ring is
 * built before the clock starts): messages per second, N * M in all. The
 * token is one message, forwarded (shared) at every hop.
 * Usage: ring N M */
#include "bench.h"

typedef struct node {
  otpc_pid_t next;
  int64_t count; /* tokens forwarded */
} node_t;

static void node_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  node_t *n = state;
  n->next = *(const otpc_pid_t *)arg;
}

static void node_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  node_t *n = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (bench_is(t, "token")) {
    n->count++;
    BENCH_TRY(otpc_send(self, n->next, msg));
    return;
  }
  if (!bench_tagged(t, "stop"))
    bench_unexpected(msg);
  /* Each node adds the tokens it forwarded: proof that every hop happened. */
  int64_t sum = bench_int(bench_elem(t, 1)) + n->count;
  BENCH_TRY(otpc_sendf(self, n->next, "{stop, ~I}", sum));
  bench_exit_normal(self);
}

static const otpc_proc_class_t node_class = {
    .name = "ring_node",
    .state_size = sizeof(node_t),
    .init = node_init,
    .handle = node_handle,
};

typedef struct driver {
  const bench_ctx_t *ctx;
  long n, m, laps;
  otpc_pid_t *nexts; /* the spawn argument of each node */
  otpc_pid_t head;
  otpc_msg_t *token;
  uint64_t t0;
  double ms;
} driver_t;

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  d->n = d->ctx->arg[0];
  d->m = d->ctx->arg[1];
  if (d->n < 2 || d->m < 1)
    bench_fail("ring: N >= 2 and M >= 1");
  d->nexts = calloc((size_t)d->n, sizeof *d->nexts);
  if (d->nexts == NULL)
    bench_fail("out of memory");
  /* Spawned back to front, so that each node knows its successor. */
  otpc_pid_t prev = otpc_self(self);
  for (long i = 0; i < d->n - 1; i++) {
    d->nexts[i] = prev;
    BENCH_TRY(otpc_spawn(self, &node_class, &d->nexts[i], NULL, &prev));
  }
  d->head = prev;
  BENCH_MSG(&d->token, "token");
  d->t0 = bench_now_ns();
  BENCH_TRY(otpc_send(self, d->head, d->token));
  d->laps = 1;
}

static void driver_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  driver_t *d = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (bench_is(t, "token")) {
    if (d->laps < d->m) {
      d->laps++;
      BENCH_TRY(otpc_send(self, d->head, msg));
    } else {
      d->ms = bench_ms_since(d->t0);
      BENCH_TRY(otpc_sendf(self, d->head, "{stop, 0}"));
    }
    return;
  }
  if (!bench_tagged(t, "stop"))
    bench_unexpected(msg);
  BENCH_CHECK("tokens forwarded", (d->n - 1) * d->m,
              bench_int(bench_elem(t, 1)));
  bench_report(self, d->ctx, (double)(d->n * d->m) / (d->ms / 1000));
}

static void driver_terminate(otpc_proc_t *self, void *state,
                             otpc_term_t reason) {
  (void)self;
  (void)reason;
  driver_t *d = state;
  free(d->nexts);
  otpc_msg_unref(d->token);
}

static const otpc_proc_class_t driver_class = {
    .name = "ring_driver",
    .state_size = sizeof(driver_t),
    .init = driver_init,
    .handle = driver_handle,
    .terminate = driver_terminate,
};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 2, "%.1f");
}
