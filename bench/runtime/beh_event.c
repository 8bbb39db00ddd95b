/* gen_event fan-out: a manager with H handlers, each counting the events
 * it sees; the driver notifies E times, then a sync_notify returns once
 * every handler has seen every event. Handler calls per second (E x H over
 * the time from the first notify to the sync_notify's reply). The event
 * buffer is shared by all handlers, never copied. The manager is unbounded,
 * as OTP's (no back-pressure in the measured path).
 * Usage: beh_event H E */
#include "bench.h"

#include "otpc/gen_event.h"

/* Only the manager's process touches it while the events flow; the driver
 * reads it after the sync_notify's reply (message passing orders it). */
static int64_t seen;

static void h_event(otpc_ge_t *h, void *state, otpc_term_t ev) {
  (void)h;
  (void)state;
  (void)ev;
  seen++;
}

static const otpc_gen_event_handler_t counter = {
    "beh_event", 0, NULL, h_event, NULL, NULL, NULL, NULL};

typedef struct driver {
  const bench_ctx_t *ctx;
  otpc_pid_t mgr;
  long added;
  uint64_t t0;
  otpc_msg_t *args;
} driver_t;

static void on_synced(otpc_proc_t *self, void *state,
                      const otpc_gs_result_t *res, void *ctx) {
  (void)ctx;
  driver_t *d = state;
  double s = bench_ms_since(d->t0) / 1e3;
  if (res->status != OTPC_GS_OK)
    bench_fail("sync_notify failed: status %d", (int)res->status);
  long h = d->ctx->arg[0], e = d->ctx->arg[1];
  /* E notifies and the sync_notify, seen by every handler. */
  BENCH_CHECK("handler calls", (e + 1) * h, seen);
  otpc_msg_unref(d->args);
  bench_report(self, d->ctx, (double)(e * h) / s);
}

static void notify_all(otpc_proc_t *self, driver_t *d) {
  otpc_msg_t *ev;
  BENCH_MSG(&ev, "{event, 42}");
  d->t0 = bench_now_ns();
  for (long i = 0; i < d->ctx->arg[1]; i++)
    BENCH_TRY(
        otpc_gen_event_notify(self, d->mgr, otpc_msg_term(ev), NULL, NULL));
  BENCH_TRY(otpc_gen_event_sync_notify(self, d->mgr, otpc_msg_term(ev),
                                       on_synced, NULL));
  otpc_msg_unref(ev);
}

static void on_added(otpc_proc_t *self, void *state,
                     const otpc_gs_result_t *res, void *ctx);

static void add_next(otpc_proc_t *self, driver_t *d) {
  otpc_msg_t *id;
  BENCH_MSG(&id, "~l", d->added);
  BENCH_TRY(otpc_gen_event_add_handler(self, d->mgr, &counter,
                                       otpc_msg_term(id),
                                       otpc_msg_term(d->args), on_added, NULL));
  otpc_msg_unref(id);
}

static void on_added(otpc_proc_t *self, void *state,
                     const otpc_gs_result_t *res, void *ctx) {
  (void)ctx;
  driver_t *d = state;
  if (res->status != OTPC_GS_OK || res->term == NULL ||
      !bench_is(otpc_msg_term(res->term), "ok"))
    bench_fail("add_handler failed");
  if (++d->added < d->ctx->arg[0])
    add_next(self, d);
  else
    notify_all(self, d);
}

static void on_started(otpc_proc_t *self, void *state,
                       const otpc_gs_result_t *res, void *ctx) {
  (void)ctx;
  driver_t *d = state;
  if (res->status != OTPC_GS_OK)
    bench_fail("start failed: status %d", (int)res->status);
  d->mgr = res->pid;
  add_next(self, d);
}

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  BENCH_MSG(&d->args, "[]");
  BENCH_TRY(otpc_gen_event_start(self, NULL, on_started, NULL));
}

static const otpc_proc_class_t driver_class = {
    .name = "driver", .state_size = sizeof(driver_t), .init = driver_init};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 2, "%.0f");
}
