/* runtime.spawn_rate: spawn N processes that each tell the driver they ran
 * and exit. Processes spawned (and finished) per second. The driver spawns
 * in batches and yields between them, the C counterpart of the BEAM
 * preempting a long loop, so the children run meanwhile.
 * Usage: spawn N */
#include "bench.h"

#define BATCH 1000

typedef struct driver {
  const bench_ctx_t *ctx;
  long n, spawned, done;
  otpc_pid_t self;
  otpc_msg_t *done_msg; /* what each child sends, shared */
  otpc_msg_t *normal;   /* each child's exit reason */
  uint64_t t0;
} driver_t;

static void child_init(otpc_proc_t *self, void *state, void *arg) {
  (void)state;
  const driver_t *d = arg;
  BENCH_TRY(otpc_send(self, d->self, d->done_msg));
  otpc_exit(self, otpc_msg_term(d->normal));
}

static const otpc_proc_class_t child_class = {
    .name = "spawn_child",
    .state_size = 0,
    .init = child_init,
};

static void spawn_batch(otpc_proc_t *self, void *state, void *ctx) {
  (void)ctx;
  driver_t *d = state;
  for (long i = 0; i < BATCH && d->spawned < d->n; i++, d->spawned++) {
    otpc_pid_t pid;
    BENCH_TRY(otpc_spawn(self, &child_class, d, NULL, &pid));
  }
  if (d->spawned < d->n)
    BENCH_TRY(otpc_yield(self, spawn_batch, NULL));
}

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  d->n = d->ctx->arg[0];
  d->self = otpc_self(self);
  BENCH_MSG(&d->done_msg, "done");
  BENCH_MSG(&d->normal, "normal");
  d->t0 = bench_now_ns();
  spawn_batch(self, d, NULL);
}

static void driver_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  driver_t *d = state;
  if (!bench_is(otpc_msg_term(msg), "done"))
    bench_unexpected(msg);
  if (++d->done < d->n)
    return;
  double ms = bench_ms_since(d->t0);
  BENCH_CHECK("children spawned", d->n, d->spawned);
  bench_report(self, d->ctx, (double)d->n / (ms / 1000));
}

static void driver_terminate(otpc_proc_t *self, void *state,
                             otpc_term_t reason) {
  (void)self;
  (void)reason;
  driver_t *d = state;
  otpc_msg_unref(d->done_msg);
  otpc_msg_unref(d->normal);
}

static const otpc_proc_class_t driver_class = {
    .name = "spawn_driver",
    .state_size = sizeof(driver_t),
    .init = driver_init,
    .handle = driver_handle,
    .terminate = driver_terminate,
};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 1, "%.1f");
}
