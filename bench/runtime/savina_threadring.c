/* Savina ThreadRing: N processes in a ring pass a ping R times (the count
 * goes down at each hop), then an exit message goes once around. As a check
 * the exit message also sums the pings each process handled; the last
 * process to exit reports the sum (R + 1 pings in all) instead of sending
 * Savina's final exit to an already dead process. Milliseconds from creating
 * the ring to the report.
 * Usage: savina_threadring N R */
#include "bench.h"

typedef struct driver {
  const bench_ctx_t *ctx;
  long n, r;
  otpc_pid_t self;
  uint64_t t0;
} driver_t;

typedef struct actor {
  const driver_t *d;
  bool has_next;
  otpc_pid_t next;
  int64_t pings;
} actor_t;

static void actor_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  actor_t *a = state;
  a->d = arg;
}

static void actor_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  actor_t *a = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (bench_tagged(t, "ping")) {
    if (!a->has_next)
      bench_fail("threadring: a ping came before the next actor");
    int64_t left = bench_int(bench_elem(t, 1));
    a->pings++;
    if (left > 0)
      BENCH_TRY(otpc_sendf(self, a->next, "{ping, ~I}", left - 1));
    else
      BENCH_TRY(otpc_sendf(self, a->next, "{exit, ~l, 0}", a->d->n));
  } else if (bench_tagged(t, "exit")) {
    int64_t left = bench_int(bench_elem(t, 1));
    int64_t sum = bench_int(bench_elem(t, 2)) + a->pings;
    if (left == 1)
      BENCH_TRY(otpc_sendf(self, a->d->self, "{done, ~I}", sum));
    else
      BENCH_TRY(otpc_sendf(self, a->next, "{exit, ~I, ~I}", left - 1, sum));
    bench_exit_normal(self);
  } else if (bench_tagged(t, "data")) {
    a->next = bench_pid(bench_elem(t, 1));
    a->has_next = true;
  } else {
    bench_unexpected(msg);
  }
}

static const otpc_proc_class_t actor_class = {
    .name = "threadring_actor",
    .state_size = sizeof(actor_t),
    .init = actor_init,
    .handle = actor_handle,
};

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  d->n = d->ctx->arg[0];
  d->r = d->ctx->arg[1];
  d->self = otpc_self(self);
  otpc_pid_t *ring = calloc((size_t)d->n, sizeof *ring);
  if (ring == NULL || d->n < 1)
    bench_fail("threadring: bad N or out of memory");
  d->t0 = bench_now_ns();
  for (long i = 0; i < d->n; i++)
    BENCH_TRY(otpc_spawn(self, &actor_class, d, NULL, &ring[i]));
  for (long i = 0; i < d->n; i++)
    BENCH_TRY(otpc_sendf(self, ring[i], "{data, ~p}", &ring[(i + 1) % d->n]));
  BENCH_TRY(otpc_sendf(self, ring[0], "{ping, ~l}", d->r));
  free(ring);
}

static void driver_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  driver_t *d = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (!bench_tagged(t, "done"))
    bench_unexpected(msg);
  double ms = bench_ms_since(d->t0);
  BENCH_CHECK("pings handled", d->r + 1, bench_int(bench_elem(t, 1)));
  bench_report(self, d->ctx, ms);
}

static const otpc_proc_class_t driver_class = {
    .name = "threadring_driver",
    .state_size = sizeof(driver_t),
    .init = driver_init,
    .handle = driver_handle,
};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 2, "%.3f");
}
