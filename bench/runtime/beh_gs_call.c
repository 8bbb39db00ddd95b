/* gen_server call round trip, local: a driver process calls a gen_server
 * N times in sequence (each call waits for its reply: the whole path of
 * gen_server:call, monitor and reply alias included), then reads the count
 * the server kept. Microseconds per call.
 * Usage: beh_gs_call N */
#include "bench.h"

#include "otpc/gen_server.h"

typedef struct server {
  int64_t calls;
} server_t;

static void server_call(otpc_gs_t *gs, void *state, otpc_term_t req,
                        const otpc_gs_from_t *from) {
  (void)from;
  server_t *s = state;
  if (otpc_term_is_atom(req, "count") == 1) {
    otpc_gs_replyf(gs, "~I", s->calls);
    return;
  }
  s->calls++;
  otpc_gs_reply(gs, req);
}

static const otpc_gen_server_t server = {.name = "bench_server",
                                         .state_size = sizeof(server_t),
                                         .handle_call = server_call};

typedef struct driver {
  const bench_ctx_t *ctx;
  otpc_pid_t server;
  otpc_msg_t *ping;
  long left;
  uint64_t t0;
} driver_t;

static void on_count(otpc_proc_t *self, void *state,
                     const otpc_gs_result_t *res, void *ctx) {
  (void)ctx;
  driver_t *d = state;
  double us = bench_ms_since(d->t0) * 1e3 / (double)d->ctx->arg[0];
  if (res->status != OTPC_GS_OK || res->term == NULL)
    bench_fail("count call failed: status %d", (int)res->status);
  BENCH_CHECK("calls counted", d->ctx->arg[0],
              bench_int(otpc_msg_term(res->term)));
  otpc_msg_unref(d->ping);
  bench_report(self, d->ctx, us);
}

static void on_reply(otpc_proc_t *self, void *state,
                     const otpc_gs_result_t *res, void *ctx) {
  (void)ctx;
  driver_t *d = state;
  if (res->status != OTPC_GS_OK)
    bench_fail("call failed: status %d", (int)res->status);
  if (--d->left > 0) {
    BENCH_TRY(otpc_gen_server_call(self, d->server, otpc_msg_term(d->ping), -1,
                                   on_reply, NULL));
    return;
  }
  otpc_msg_t *count;
  BENCH_MSG(&count, "count");
  BENCH_TRY(otpc_gen_server_call(self, d->server, otpc_msg_term(count), -1,
                                 on_count, NULL));
  otpc_msg_unref(count);
}

static void on_started(otpc_proc_t *self, void *state,
                       const otpc_gs_result_t *res, void *ctx) {
  (void)ctx;
  driver_t *d = state;
  if (res->status != OTPC_GS_OK)
    bench_fail("start failed: status %d", (int)res->status);
  d->server = res->pid;
  d->left = d->ctx->arg[0];
  BENCH_MSG(&d->ping, "ping");
  d->t0 = bench_now_ns();
  BENCH_TRY(otpc_gen_server_call(self, d->server, otpc_msg_term(d->ping), -1,
                                 on_reply, NULL));
}

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  if (d->ctx->arg[0] < 1)
    bench_fail("usage: beh_gs_call N (N >= 1)");
  BENCH_TRY(otpc_gen_server_start(self, &server, NULL, NULL, on_started, NULL));
}

static const otpc_proc_class_t driver_class = {
    .name = "driver", .state_size = sizeof(driver_t), .init = driver_init};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 1, "%.3f");
}
