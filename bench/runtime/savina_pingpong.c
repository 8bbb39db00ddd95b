/* Savina PingPong (Imam & Sarkar): Ping sends N pings to Pong, each answered
 * by a pong; Ping paces itself with a message to itself. Milliseconds from
 * creating the two processes to both reporting. Messages whose content never
 * changes are built once per process and shared by every send.
 * Usage: savina_pingpong N */
#include "bench.h"

typedef struct driver {
  const bench_ctx_t *ctx;
  long n;
  otpc_pid_t self, pong;
  int reports;
  int64_t pongs, pings;
  uint64_t t0;
} driver_t;

typedef struct ping {
  const driver_t *d;
  long left;
  int64_t pongs;
  otpc_msg_t *send_ping, *ping;
} ping_t;

static void ping_init(otpc_proc_t *self, void *state, void *arg) {
  ping_t *p = state;
  p->d = arg;
  p->left = p->d->n;
  otpc_pid_t me = otpc_self(self);
  BENCH_MSG(&p->send_ping, "{send_ping, ~p}", &me);
  BENCH_MSG(&p->ping, "ping");
}

static void ping_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  ping_t *p = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (bench_is(t, "start") || bench_is(t, "ping")) {
    BENCH_TRY(otpc_send(self, p->d->pong, p->send_ping));
    p->left--;
  } else if (bench_tagged(t, "send_pong")) {
    p->pongs++;
    if (p->left > 0) {
      BENCH_TRY(otpc_send(self, otpc_self(self), p->ping));
    } else {
      BENCH_TRY(otpc_sendf(self, p->d->pong, "stop"));
      BENCH_TRY(otpc_sendf(self, p->d->self, "{ping_done, ~I}", p->pongs));
      bench_exit_normal(self);
    }
  } else {
    bench_unexpected(msg);
  }
}

static void ping_terminate(otpc_proc_t *self, void *state, otpc_term_t reason) {
  (void)self;
  (void)reason;
  ping_t *p = state;
  otpc_msg_unref(p->send_ping);
  otpc_msg_unref(p->ping);
}

static const otpc_proc_class_t ping_class = {
    .name = "ping",
    .state_size = sizeof(ping_t),
    .init = ping_init,
    .handle = ping_handle,
    .terminate = ping_terminate,
};

typedef struct pong {
  const driver_t *d;
  int64_t count;
  otpc_msg_t *send_pong;
} pong_t;

static void pong_init(otpc_proc_t *self, void *state, void *arg) {
  pong_t *p = state;
  p->d = arg;
  otpc_pid_t me = otpc_self(self);
  BENCH_MSG(&p->send_pong, "{send_pong, ~p}", &me);
}

static void pong_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  pong_t *p = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (bench_tagged(t, "send_ping")) {
    BENCH_TRY(otpc_send(self, bench_pid(bench_elem(t, 1)), p->send_pong));
    p->count++;
  } else if (bench_is(t, "stop")) {
    BENCH_TRY(otpc_sendf(self, p->d->self, "{pong_done, ~I}", p->count));
    bench_exit_normal(self);
  } else {
    bench_unexpected(msg);
  }
}

static void pong_terminate(otpc_proc_t *self, void *state, otpc_term_t reason) {
  (void)self;
  (void)reason;
  pong_t *p = state;
  otpc_msg_unref(p->send_pong);
}

static const otpc_proc_class_t pong_class = {
    .name = "pong",
    .state_size = sizeof(pong_t),
    .init = pong_init,
    .handle = pong_handle,
    .terminate = pong_terminate,
};

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  d->n = d->ctx->arg[0];
  d->self = otpc_self(self);
  d->t0 = bench_now_ns();
  BENCH_TRY(otpc_spawn(self, &pong_class, d, NULL, &d->pong));
  otpc_pid_t ping;
  BENCH_TRY(otpc_spawn(self, &ping_class, d, NULL, &ping));
  BENCH_TRY(otpc_sendf(self, ping, "start"));
}

static void driver_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  driver_t *d = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (bench_tagged(t, "ping_done"))
    d->pongs = bench_int(bench_elem(t, 1));
  else if (bench_tagged(t, "pong_done"))
    d->pings = bench_int(bench_elem(t, 1));
  else
    bench_unexpected(msg);
  if (++d->reports < 2)
    return;
  double ms = bench_ms_since(d->t0);
  BENCH_CHECK("pongs received by ping", d->n, d->pongs);
  BENCH_CHECK("pings answered by pong", d->n, d->pings);
  bench_report(self, d->ctx, ms);
}

static const otpc_proc_class_t driver_class = {
    .name = "pingpong_driver",
    .state_size = sizeof(driver_t),
    .init = driver_init,
    .handle = driver_handle,
};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 1, "%.3f");
}
