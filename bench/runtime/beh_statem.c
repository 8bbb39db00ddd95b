/* gen_statem event throughput: a state_functions machine flips between
 * states `on` and `off` on each cast (a state change per event: the
 * transition's whole path), counting them; the driver casts N times, then a
 * call reads the count (the casts are all handled before it: one sender,
 * one order). Events per second from the first cast to the reply.
 * Usage: beh_statem N */
#include "bench.h"

#include "otpc/gen_statem.h"

typedef struct data {
  int64_t flips;
} data_t;

static void flip(otpc_sm_t *sm, const otpc_sm_event_t *ev, otpc_term_t state,
                 void *data) {
  data_t *d = data;
  if (ev->type == OTPC_SM_CAST) {
    d->flips++;
    otpc_sm_next_statef(sm, otpc_term_is_atom(state, "on") == 1 ? "off" : "on");
  } else if (ev->type == OTPC_SM_CALL) {
    otpc_sm_replyf(sm, ev->from, "~I", d->flips);
  }
}

static void sm_init(otpc_sm_t *sm, void *data, void *arg) {
  (void)data;
  (void)arg;
  otpc_sm_next_statef(sm, "off");
}

static const otpc_sm_state_t states[] = {{"off", flip}, {"on", flip}};
static const otpc_gen_statem_t machine = {
    "flipper", sizeof(data_t), states, 2, NULL, false, sm_init, NULL, NULL};

typedef struct driver {
  const bench_ctx_t *ctx;
  uint64_t t0;
} driver_t;

static void on_count(otpc_proc_t *self, void *state,
                     const otpc_gs_result_t *res, void *ctx) {
  (void)ctx;
  driver_t *d = state;
  double s = bench_ms_since(d->t0) / 1e3;
  if (res->status != OTPC_GS_OK || res->term == NULL)
    bench_fail("count call failed: status %d", (int)res->status);
  BENCH_CHECK("events counted", d->ctx->arg[0],
              bench_int(otpc_msg_term(res->term)));
  bench_report(self, d->ctx, (double)d->ctx->arg[0] / s);
}

static void on_started(otpc_proc_t *self, void *state,
                       const otpc_gs_result_t *res, void *ctx) {
  (void)ctx;
  driver_t *d = state;
  if (res->status != OTPC_GS_OK)
    bench_fail("start failed: status %d", (int)res->status);
  otpc_msg_t *cast, *count;
  BENCH_MSG(&cast, "{'$gen_cast', flip}");
  BENCH_MSG(&count, "count");
  d->t0 = bench_now_ns();
  /* gen_statem:cast is a send of {'$gen_cast', Msg}: built once here. */
  for (long i = 0; i < d->ctx->arg[0]; i++)
    BENCH_TRY(otpc_send(self, res->pid, cast));
  BENCH_TRY(otpc_gen_statem_call(self, res->pid, otpc_msg_term(count), -1,
                                 on_count, NULL));
  otpc_msg_unref(cast);
  otpc_msg_unref(count);
}

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  BENCH_TRY(
      otpc_gen_statem_start(self, &machine, NULL, NULL, on_started, NULL));
}

static const otpc_proc_class_t driver_class = {
    .name = "driver", .state_size = sizeof(driver_t), .init = driver_init};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 1, "%.0f");
}
