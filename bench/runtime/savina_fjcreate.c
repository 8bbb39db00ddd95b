/* Savina Fork-Join creation: N processes are created one after another and
 * each is sent one message; on it a process does Savina's small computation
 * (sin(37.2) squared) and exits. To know when all are done each tells the
 * driver before exiting. Milliseconds from the first spawn to the last
 * report.
 * Usage: savina_fjcreate N */
#include <math.h>

#include "bench.h"

/* volatile so that the compiler cannot fold sin(37.2) away; the peer passes
 * it as an argument for the same reason. */
static volatile double theta = 37.2;

typedef struct driver {
  const bench_ctx_t *ctx;
  long n, done;
  otpc_pid_t self;
  otpc_msg_t *done_msg; /* shared by every actor's report */
  uint64_t t0;
} driver_t;

typedef struct actor {
  const driver_t *d;
} actor_t;

static void actor_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  actor_t *a = state;
  a->d = arg;
}

static void actor_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  actor_t *a = state;
  if (!bench_is(otpc_msg_term(msg), "message"))
    bench_unexpected(msg);
  double s = sin(theta);
  double res = s * s;
  if (res <= 0)
    bench_fail("unrealistic result %g", res);
  BENCH_TRY(otpc_send(self, a->d->self, a->d->done_msg));
  bench_exit_normal(self);
}

static const otpc_proc_class_t actor_class = {
    .name = "fjcreate_actor",
    .state_size = sizeof(actor_t),
    .init = actor_init,
    .handle = actor_handle,
};

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  d->n = d->ctx->arg[0];
  d->self = otpc_self(self);
  BENCH_MSG(&d->done_msg, "done");
  otpc_msg_t *message;
  BENCH_MSG(&message, "message");
  d->t0 = bench_now_ns();
  for (long i = 0; i < d->n; i++) {
    otpc_pid_t pid;
    BENCH_TRY(otpc_spawn(self, &actor_class, d, NULL, &pid));
    BENCH_TRY(otpc_send(self, pid, message));
  }
  otpc_msg_unref(message);
}

static void driver_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  driver_t *d = state;
  if (!bench_is(otpc_msg_term(msg), "done"))
    bench_unexpected(msg);
  if (++d->done < d->n)
    return;
  bench_report(self, d->ctx, bench_ms_since(d->t0));
}

static void driver_terminate(otpc_proc_t *self, void *state,
                             otpc_term_t reason) {
  (void)self;
  (void)reason;
  driver_t *d = state;
  otpc_msg_unref(d->done_msg);
}

static const otpc_proc_class_t driver_class = {
    .name = "fjcreate_driver",
    .state_size = sizeof(driver_t),
    .init = driver_init,
    .handle = driver_handle,
    .terminate = driver_terminate,
};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 1, "%.3f");
}
