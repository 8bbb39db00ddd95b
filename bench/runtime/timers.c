/* runtime.timers: N live timers (send_after to the driver itself, 10 to
 * 60 s) set, then all cancelled, from a process as the BEAM peer does.
 * Nanoseconds per set + cancel.
 * Usage: timers N */
#include "bench.h"

typedef struct driver {
  const bench_ctx_t *ctx;
  long n;
  otpc_ref_t *refs;
  otpc_msg_t *tick; /* shared by every timer */
  double ms;
} driver_t;

static bool match_any(otpc_term_t msg, const void *arg) {
  (void)msg;
  (void)arg;
  return true;
}

/* receive tick -> fail after 0 -> report */
static void after_cancel(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                         void *ctx) {
  (void)ctx;
  driver_t *d = state;
  if (msg != NULL)
    bench_fail("a cancelled timer fired");
  bench_report(self, d->ctx, d->ms * 1e6 / (double)d->n);
}

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  d->n = d->ctx->arg[0];
  d->refs = calloc((size_t)d->n, sizeof *d->refs);
  if (d->refs == NULL)
    bench_fail("out of memory");
  BENCH_MSG(&d->tick, "tick");
  otpc_rt_t *rt = otpc_proc_rt(self);
  otpc_pid_t me = otpc_self(self);

  uint64_t t0 = bench_now_ns();
  /* The same durations, set and cancelled in the same order as the peer. */
  for (long i = d->n; i >= 1; i--)
    BENCH_TRY(otpc_send_after(rt, 10000 + (uint64_t)(i % 50000), me, d->tick,
                              &d->refs[i - 1]));
  long cancelled = 0;
  for (long i = 0; i < d->n; i++) {
    uint64_t left = 0;
    if (otpc_cancel_timer(rt, &d->refs[i], &left) == 0 && left > 0)
      cancelled++;
  }
  d->ms = bench_ms_since(t0);

  BENCH_CHECK("timers cancelled while live", d->n, cancelled);
  BENCH_TRY(otpc_receive(self, match_any, NULL, 0, 0, after_cancel, NULL));
}

static void driver_terminate(otpc_proc_t *self, void *state,
                             otpc_term_t reason) {
  (void)self;
  (void)reason;
  driver_t *d = state;
  free(d->refs);
  otpc_msg_unref(d->tick);
}

static const otpc_proc_class_t driver_class = {
    .name = "timers_driver",
    .state_size = sizeof(driver_t),
    .init = driver_init,
    .terminate = driver_terminate,
};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 1, "%.1f");
}
