/* Savina Fork-Join throughput: A processes each receive N messages, in
 * rounds (one message to each process, N times), and do Savina's small
 * computation (sin(37.2) squared) for each. Each reports after its N-th
 * message and exits. Milliseconds from creating the processes to the last
 * report. One message is shared by all the sends, as Savina sends one
 * object.
 * Usage: savina_fjthrput N A */
#include <math.h>

#include "bench.h"

/* volatile so that the compiler cannot fold sin(37.2) away; the peer passes
 * it as an argument for the same reason. */
static volatile double theta = 37.2;

static void compute(void) {
  double s = sin(theta);
  double res = s * s;
  if (res <= 0)
    bench_fail("unrealistic result %g", res);
}

typedef struct driver {
  const bench_ctx_t *ctx;
  long n, a;
  long reports;
  int64_t handled;
  otpc_pid_t self;
  uint64_t t0;
} driver_t;

typedef struct actor {
  const driver_t *d;
  long count;
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
  compute();
  if (++a->count == a->d->n) {
    BENCH_TRY(otpc_sendf(self, a->d->self, "{done, ~l}", a->count));
    bench_exit_normal(self);
  }
}

static const otpc_proc_class_t actor_class = {
    .name = "fjthrput_actor",
    .state_size = sizeof(actor_t),
    .init = actor_init,
    .handle = actor_handle,
};

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  d->n = d->ctx->arg[0];
  d->a = d->ctx->arg[1];
  d->self = otpc_self(self);
  otpc_pid_t *actors = calloc((size_t)d->a, sizeof *actors);
  if (actors == NULL)
    bench_fail("out of memory");
  d->t0 = bench_now_ns();
  for (long i = 0; i < d->a; i++)
    BENCH_TRY(otpc_spawn(self, &actor_class, d, NULL, &actors[i]));
  otpc_msg_t *message;
  BENCH_MSG(&message, "message");
  for (long m = 0; m < d->n; m++)
    for (long i = 0; i < d->a; i++)
      BENCH_TRY(otpc_send(self, actors[i], message));
  otpc_msg_unref(message);
  free(actors);
}

static void driver_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  driver_t *d = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (!bench_tagged(t, "done"))
    bench_unexpected(msg);
  d->handled += bench_int(bench_elem(t, 1));
  if (++d->reports < d->a)
    return;
  double ms = bench_ms_since(d->t0);
  BENCH_CHECK("messages handled", d->n * d->a, d->handled);
  bench_report(self, d->ctx, ms);
}

static const otpc_proc_class_t driver_class = {
    .name = "fjthrput_driver",
    .state_size = sizeof(driver_t),
    .init = driver_init,
    .handle = driver_handle,
};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 2, "%.3f");
}
