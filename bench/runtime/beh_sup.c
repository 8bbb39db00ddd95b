/* Supervisor restart latency: a one_for_one supervisor with one permanent
 * gen_server child; the child announces itself to the driver from init, the
 * driver makes it crash (a cast it answers with an exit), the supervisor
 * restarts it. Microseconds per crash-and-restart, from the first crash to
 * the N-th new child's announcement: the exit signal, the crash report and
 * the supervisor's child_terminated report (logged as both sides do by
 * default; run.sh sends our stderr to /dev/null, the BEAM writes to its
 * stdout), the intensity check and the child's start and init.
 * Usage: beh_sup N */
#include "bench.h"

#include "otpc/supervisor.h"

static void w_init(otpc_gs_t *gs, void *state, void *arg) {
  (void)state;
  const otpc_pid_t *driver = arg;
  otpc_pid_t me = otpc_self(otpc_gs_proc(gs));
  BENCH_TRY(otpc_sendf(otpc_gs_proc(gs), *driver, "{up, ~p}", &me));
}

static void w_cast(otpc_gs_t *gs, void *state, otpc_term_t req) {
  (void)state;
  (void)req;
  otpc_exitf(otpc_gs_proc(gs), "die");
}

static const otpc_gen_server_t worker = {
    .name = "worker", .init = w_init, .handle_cast = w_cast};

typedef struct driver {
  const bench_ctx_t *ctx;
  otpc_pid_t self;
  otpc_child_spec_t child;
  otpc_sup_spec_t spec;
  otpc_msg_t *die;
  long ups;
  uint64_t t0;
} driver_t;

static void on_sup(otpc_proc_t *self, void *state, const otpc_gs_result_t *res,
                   void *ctx) {
  (void)self;
  (void)state;
  (void)ctx;
  if (res->status != OTPC_GS_OK)
    bench_fail("supervisor start failed: status %d", (int)res->status);
}

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  d->self = otpc_self(self);
  d->child = (otpc_child_spec_t){
      .id = "worker", .gen_server = &worker, .arg = &d->self};
  d->spec = (otpc_sup_spec_t){.strategy = OTPC_ONE_FOR_ONE,
                              .intensity = (int)d->ctx->arg[0] + 10,
                              .period_s = 3600,
                              .children = &d->child,
                              .n_children = 1};
  BENCH_MSG(&d->die, "{'$gen_cast', die}");
  BENCH_TRY(otpc_sup_start(self, &d->spec, NULL, NULL, on_sup, NULL));
}

static void driver_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  driver_t *d = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (!bench_tagged(t, "up"))
    bench_unexpected(msg);
  if (d->ups == 0)
    d->t0 = bench_now_ns();
  if (d->ups++ == d->ctx->arg[0]) {
    double us = bench_ms_since(d->t0) * 1e3 / (double)d->ctx->arg[0];
    otpc_msg_unref(d->die);
    bench_report(self, d->ctx, us);
  }
  BENCH_TRY(otpc_send(self, bench_pid(bench_elem(t, 1)), d->die));
}

static const otpc_proc_class_t driver_class = {.name = "driver",
                                               .state_size = sizeof(driver_t),
                                               .init = driver_init,
                                               .handle = driver_handle};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 1, "%.2f");
}
