/* Savina Counting: a producer sends N increments to a counter, then asks it
 * for the count. Milliseconds from creating the two processes to the answer.
 * As in Savina the producer sends the increment message it received, here
 * shared, not copied, by every send.
 * Usage: savina_counting N */
#include "bench.h"

typedef struct driver {
  const bench_ctx_t *ctx;
  long n;
  otpc_pid_t self, counter;
  uint64_t t0;
} driver_t;

typedef struct counter {
  int64_t count;
} counter_t;

static void counter_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  counter_t *c = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (bench_is(t, "increment")) {
    c->count++;
  } else if (bench_tagged(t, "retrieve")) {
    BENCH_TRY(otpc_sendf(self, bench_pid(bench_elem(t, 1)), "{result, ~I}",
                         c->count));
    bench_exit_normal(self);
  } else {
    bench_unexpected(msg);
  }
}

static const otpc_proc_class_t counter_class = {
    .name = "counter",
    .state_size = sizeof(counter_t),
    .handle = counter_handle,
};

typedef struct producer {
  const driver_t *d;
} producer_t;

static void producer_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  producer_t *p = state;
  p->d = arg;
}

static void producer_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  producer_t *p = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (bench_is(t, "increment")) {
    for (long i = 0; i < p->d->n; i++)
      BENCH_TRY(otpc_send(self, p->d->counter, msg));
    otpc_pid_t me = otpc_self(self);
    BENCH_TRY(otpc_sendf(self, p->d->counter, "{retrieve, ~p}", &me));
  } else if (bench_tagged(t, "result")) {
    BENCH_TRY(otpc_sendf(self, p->d->self, "{done, ~I}",
                         bench_int(bench_elem(t, 1))));
    bench_exit_normal(self);
  } else {
    bench_unexpected(msg);
  }
}

static const otpc_proc_class_t producer_class = {
    .name = "producer",
    .state_size = sizeof(producer_t),
    .init = producer_init,
    .handle = producer_handle,
};

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  d->n = d->ctx->arg[0];
  d->self = otpc_self(self);
  d->t0 = bench_now_ns();
  BENCH_TRY(otpc_spawn(self, &counter_class, NULL, NULL, &d->counter));
  otpc_pid_t producer;
  BENCH_TRY(otpc_spawn(self, &producer_class, d, NULL, &producer));
  BENCH_TRY(otpc_sendf(self, producer, "increment"));
}

static void driver_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  driver_t *d = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (!bench_tagged(t, "done"))
    bench_unexpected(msg);
  double ms = bench_ms_since(d->t0);
  BENCH_CHECK("final count", d->n, bench_int(bench_elem(t, 1)));
  bench_report(self, d->ctx, ms);
}

static const otpc_proc_class_t driver_class = {
    .name = "counting_driver",
    .state_size = sizeof(driver_t),
    .init = driver_init,
    .handle = driver_handle,
};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 1, "%.3f");
}
