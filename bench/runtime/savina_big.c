/* Savina Big: W workers each send N pings, one at a time, to workers picked
 * by Savina's pseudo-random generator (seeded with the worker's id), and
 * each ping is answered by a pong. A sink collects the workers' completion
 * and then stops them all. As a check each worker tells the sink how many
 * pings it sent and how many pongs came from an unexpected worker.
 * Milliseconds from creating the processes to the sink's report. As in
 * Savina, each worker builds its ping and pong once.
 * Usage: savina_big N W */
#include "bench.h"

typedef struct worker_arg worker_arg_t;

typedef struct driver {
  const bench_ctx_t *ctx;
  long n, w;
  otpc_pid_t self, sink;
  /* The workers' spawn arguments: their inits may run after the driver's
   * init returns, so they live until the driver exits. */
  worker_arg_t *args;
  uint64_t t0;
} driver_t;

struct worker_arg {
  const driver_t *d;
  long id;
};

typedef struct worker {
  const driver_t *d;
  long id;
  long pings;
  long expected; /* the worker whose pong comes next */
  long wrong;
  uint32_t rand;
  otpc_pid_t *neighbors;
  otpc_msg_t *ping, *pong;
} worker_t;

/* The workers' pids as an array, from {neighbors, {Pid, ...}}. */
static otpc_pid_t *read_neighbors(otpc_term_t t, long w) {
  otpc_iter_t it;
  size_t n;
  BENCH_TRY(otpc_term_tuple(bench_elem(t, 1), &it, &n));
  BENCH_CHECK("neighbors", w, n);
  otpc_pid_t *pids = calloc(n, sizeof *pids);
  if (pids == NULL)
    bench_fail("out of memory");
  otpc_term_t e;
  for (size_t i = 0; otpc_iter_next(&it, &e) == 1; i++)
    pids[i] = bench_pid(e);
  return pids;
}

static void worker_init(otpc_proc_t *self, void *state, void *arg) {
  worker_t *w = state;
  const worker_arg_t *a = arg;
  w->d = a->d;
  w->id = a->id;
  w->expected = -1;
  w->rand = (uint32_t)a->id;
  BENCH_MSG(&w->ping, "{ping, ~l}", w->id);
  BENCH_MSG(&w->pong, "{pong, ~l}", w->id);
  (void)self;
}

static void worker_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  worker_t *w = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (bench_tagged(t, "ping")) {
    BENCH_TRY(
        otpc_send(self, w->neighbors[bench_int(bench_elem(t, 1))], w->pong));
  } else if (bench_tagged(t, "pong")) {
    if (bench_int(bench_elem(t, 1)) != w->expected)
      w->wrong++;
    if (w->pings == w->d->n) {
      BENCH_TRY(
          otpc_sendf(self, w->d->sink, "{exit, ~l, ~l}", w->pings, w->wrong));
    } else {
      /* Savina's PseudoRandom. */
      w->rand = (w->rand * 1309 + 13849) & 65535;
      long target = (long)w->rand % w->d->w;
      w->expected = target;
      BENCH_TRY(otpc_send(self, w->neighbors[target], w->ping));
      w->pings++;
    }
  } else if (bench_is(t, "exit")) {
    bench_exit_normal(self);
  } else if (bench_tagged(t, "neighbors")) {
    w->neighbors = read_neighbors(t, w->d->w);
  } else {
    bench_unexpected(msg);
  }
}

static void worker_terminate(otpc_proc_t *self, void *state,
                             otpc_term_t reason) {
  (void)self;
  (void)reason;
  worker_t *w = state;
  free(w->neighbors);
  otpc_msg_unref(w->ping);
  otpc_msg_unref(w->pong);
}

static const otpc_proc_class_t worker_class = {
    .name = "big_worker",
    .state_size = sizeof(worker_t),
    .init = worker_init,
    .handle = worker_handle,
    .terminate = worker_terminate,
};

typedef struct sink {
  const driver_t *d;
  otpc_pid_t *neighbors;
  long done;
  int64_t pings, wrong;
} sink_t;

static void sink_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  sink_t *s = state;
  s->d = arg;
}

static void sink_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  sink_t *s = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (bench_tagged(t, "exit")) {
    s->pings += bench_int(bench_elem(t, 1));
    s->wrong += bench_int(bench_elem(t, 2));
    if (++s->done < s->d->w)
      return;
    otpc_msg_t *exit_msg;
    BENCH_MSG(&exit_msg, "exit");
    for (long i = 0; i < s->d->w; i++)
      BENCH_TRY(otpc_send(self, s->neighbors[i], exit_msg));
    otpc_msg_unref(exit_msg);
    BENCH_TRY(
        otpc_sendf(self, s->d->self, "{done, ~I, ~I}", s->pings, s->wrong));
    bench_exit_normal(self);
  } else if (bench_tagged(t, "neighbors")) {
    s->neighbors = read_neighbors(t, s->d->w);
  } else {
    bench_unexpected(msg);
  }
}

static void sink_terminate(otpc_proc_t *self, void *state, otpc_term_t reason) {
  (void)self;
  (void)reason;
  sink_t *s = state;
  free(s->neighbors);
}

static const otpc_proc_class_t sink_class = {
    .name = "big_sink",
    .state_size = sizeof(sink_t),
    .init = sink_init,
    .handle = sink_handle,
    .terminate = sink_terminate,
};

/* {neighbors, {Pid, ...}}: a tuple of any size has no builder format, so
 * its header is written by hand (SMALL_TUPLE_EXT or LARGE_TUPLE_EXT). */
static otpc_msg_t *neighbors_msg(const otpc_pid_t *pids, long w) {
  otpc_buf_t b;
  otpc_buf_init(&b);
  BENCH_TRY(otpc_term_put_version(&b));
  const uint8_t pair[] = {104, 2};
  BENCH_TRY(otpc_buf_append(&b, pair, sizeof pair));
  BENCH_TRY(otpc_term_build(&b, NULL, "neighbors"));
  if (w < 256) {
    const uint8_t small[] = {104, (uint8_t)w};
    BENCH_TRY(otpc_buf_append(&b, small, sizeof small));
  } else {
    const uint8_t large[] = {105, (uint8_t)(w >> 24), (uint8_t)(w >> 16),
                             (uint8_t)(w >> 8), (uint8_t)w};
    BENCH_TRY(otpc_buf_append(&b, large, sizeof large));
  }
  for (long i = 0; i < w; i++)
    BENCH_TRY(otpc_term_build(&b, NULL, "~p", &pids[i]));
  otpc_msg_t *m;
  BENCH_TRY(otpc_msg_decode(b.data, b.len, &m, NULL));
  otpc_buf_free(&b);
  return m;
}

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  d->n = d->ctx->arg[0];
  d->w = d->ctx->arg[1];
  d->self = otpc_self(self);
  otpc_pid_t *workers = calloc((size_t)d->w, sizeof *workers);
  d->args = calloc((size_t)d->w, sizeof *d->args);
  if (workers == NULL || d->args == NULL || d->w < 1)
    bench_fail("big: bad W or out of memory");

  d->t0 = bench_now_ns();
  BENCH_TRY(otpc_spawn(self, &sink_class, d, NULL, &d->sink));
  for (long i = 0; i < d->w; i++) {
    d->args[i].d = d;
    d->args[i].id = i;
    BENCH_TRY(otpc_spawn(self, &worker_class, &d->args[i], NULL, &workers[i]));
  }
  otpc_msg_t *neighbors = neighbors_msg(workers, d->w);
  BENCH_TRY(otpc_send(self, d->sink, neighbors));
  for (long i = 0; i < d->w; i++)
    BENCH_TRY(otpc_send(self, workers[i], neighbors));
  otpc_msg_unref(neighbors);
  otpc_msg_t *start;
  BENCH_MSG(&start, "{pong, -1}");
  for (long i = 0; i < d->w; i++)
    BENCH_TRY(otpc_send(self, workers[i], start));
  otpc_msg_unref(start);
  free(workers);
}

static void driver_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  driver_t *d = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (!bench_tagged(t, "done"))
    bench_unexpected(msg);
  double ms = bench_ms_since(d->t0);
  BENCH_CHECK("pings sent", d->n * d->w, bench_int(bench_elem(t, 1)));
  BENCH_CHECK("pongs from an unexpected worker", 0,
              bench_int(bench_elem(t, 2)));
  bench_report(self, d->ctx, ms);
}

static void driver_terminate(otpc_proc_t *self, void *state,
                             otpc_term_t reason) {
  (void)self;
  (void)reason;
  driver_t *d = state;
  free(d->args);
}

static const otpc_proc_class_t driver_class = {
    .name = "big_driver",
    .state_size = sizeof(driver_t),
    .init = driver_init,
    .handle = driver_handle,
    .terminate = driver_terminate,
};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 2, "%.3f");
}
