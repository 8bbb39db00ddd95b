/* runtime.bytes_per_process and runtime.rss_1m_idle: N processes waiting for
 * a message. Mode bytes: RSS growth divided by N; mode rss: the whole
 * process's RSS in MiB with the N processes alive. The driver spawns in
 * batches and yields between them so the children's inits run meanwhile,
 * then waits (yielding) until all have run.
 * Usage: idle N bytes|rss */
#include <stdatomic.h>

#include "bench.h"

#define BATCH 1000

typedef struct driver {
  const bench_ctx_t *ctx;
  long n, spawned;
  long rss0;
  /* Children that ran their init. Relaxed is enough: it is only counted,
   * and the driver reads the RSS after seeing the total, which no memory
   * ordering affects. */
  atomic_long started;
} driver_t;

static void idle_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  (void)state;
  driver_t *d = arg;
  atomic_fetch_add_explicit(&d->started, 1, memory_order_relaxed);
}

/* Never called in the benchmark: any message ends the process. */
static void idle_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)state;
  (void)msg;
  bench_exit_normal(self);
}

static const otpc_proc_class_t idle_class = {
    .name = "idle",
    .state_size = 0,
    .init = idle_init,
    .handle = idle_handle,
};

static void step(otpc_proc_t *self, void *state, void *ctx) {
  (void)ctx;
  driver_t *d = state;
  for (long i = 0; i < BATCH && d->spawned < d->n; i++, d->spawned++) {
    otpc_pid_t pid;
    BENCH_TRY(otpc_spawn(self, &idle_class, d, NULL, &pid));
  }
  if (d->spawned < d->n ||
      atomic_load_explicit(&d->started, memory_order_relaxed) < d->n) {
    BENCH_TRY(otpc_yield(self, step, NULL));
    return;
  }
  long rss = bench_rss_bytes();
  BENCH_CHECK("idle processes started", d->n,
              atomic_load_explicit(&d->started, memory_order_relaxed));
  if (strcmp(d->ctx->word, "bytes") == 0)
    bench_report(self, d->ctx, (double)(rss - d->rss0) / (double)d->n);
  bench_report(self, d->ctx, (double)rss / 1048576.0);
}

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  d->n = d->ctx->arg[0];
  if (strcmp(d->ctx->word, "bytes") != 0 && strcmp(d->ctx->word, "rss") != 0)
    bench_fail("usage: idle N bytes|rss");
  atomic_init(&d->started, 0);
  d->rss0 = bench_rss_bytes();
  step(self, d, NULL);
}

static const otpc_proc_class_t driver_class = {
    .name = "idle_driver",
    .state_size = sizeof(driver_t),
    .init = driver_init,
};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 1, "%.1f");
}
