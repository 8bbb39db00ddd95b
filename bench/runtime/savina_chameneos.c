/* Savina Chameneos: C chameneos meet through a mall until M meetings have
 * happened; each meeting changes both colours. Then every chameneo reports
 * its meetings to the mall, which checks the sum (2 * M). Milliseconds from
 * creating the mall to its report. The mall forwards a waiting chameneo's
 * meet message as is (shared), as Savina does.
 * Usage: savina_chameneos C M */
#include "bench.h"

enum colour { RED, YELLOW, BLUE };
static const char *const colour_name[] = {"red", "yellow", "blue"};

static enum colour colour_of(otpc_term_t t) {
  for (int c = RED; c <= BLUE; c++)
    if (bench_is(t, colour_name[c]))
      return (enum colour)c;
  bench_fail("chameneos: not a colour");
}

static enum colour complement(enum colour a, enum colour b) {
  if (a == b)
    return a;
  /* The colour that is neither. */
  return (enum colour)(3 - a - b);
}

typedef struct driver {
  const bench_ctx_t *ctx;
  long c, m;
  otpc_pid_t self;
  uint64_t t0;
} driver_t;

typedef struct chameneo_arg {
  otpc_pid_t mall;
  enum colour colour;
} chameneo_arg_t;

typedef struct mall {
  const driver_t *d;
  long left; /* meetings still to arrange */
  bool waiting;
  otpc_pid_t waiter;
  long faded;
  int64_t sum;
  chameneo_arg_t *args;
} mall_t;

typedef struct chameneo {
  otpc_pid_t mall;
  enum colour colour;
  int64_t meetings;
} chameneo_t;

static void meet(otpc_proc_t *self, chameneo_t *c) {
  otpc_pid_t me = otpc_self(self);
  BENCH_TRY(
      otpc_sendf(self, c->mall, "{meet, ~a, ~p}", colour_name[c->colour], &me));
}

static void chameneo_init(otpc_proc_t *self, void *state, void *arg) {
  chameneo_t *c = state;
  const chameneo_arg_t *a = arg;
  c->mall = a->mall;
  c->colour = a->colour;
  meet(self, c);
}

static void chameneo_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  chameneo_t *c = state;
  otpc_term_t t = otpc_msg_term(msg);
  otpc_pid_t me = otpc_self(self);
  if (bench_tagged(t, "meet")) {
    c->colour = complement(c->colour, colour_of(bench_elem(t, 1)));
    c->meetings++;
    BENCH_TRY(otpc_sendf(self, bench_pid(bench_elem(t, 2)), "{change, ~a, ~p}",
                         colour_name[c->colour], &me));
    meet(self, c);
  } else if (bench_tagged(t, "change")) {
    c->colour = colour_of(bench_elem(t, 1));
    c->meetings++;
    meet(self, c);
  } else if (bench_tagged(t, "exit")) {
    BENCH_TRY(otpc_sendf(self, bench_pid(bench_elem(t, 1)),
                         "{meeting_count, ~I, ~p}", c->meetings, &me));
    bench_exit_normal(self);
  } else {
    bench_unexpected(msg);
  }
}

static const otpc_proc_class_t chameneo_class = {
    .name = "chameneo",
    .state_size = sizeof(chameneo_t),
    .init = chameneo_init,
    .handle = chameneo_handle,
};

static void mall_init(otpc_proc_t *self, void *state, void *arg) {
  mall_t *m = state;
  m->d = arg;
  m->left = m->d->m;
  m->args = calloc((size_t)m->d->c, sizeof *m->args);
  if (m->args == NULL)
    bench_fail("out of memory");
  for (long i = 0; i < m->d->c; i++) {
    m->args[i].mall = otpc_self(self);
    m->args[i].colour = (enum colour)(i % 3);
    otpc_pid_t pid;
    BENCH_TRY(otpc_spawn(self, &chameneo_class, &m->args[i], NULL, &pid));
  }
}

static void mall_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  mall_t *m = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (bench_tagged(t, "meeting_count")) {
    m->sum += bench_int(bench_elem(t, 1));
    if (++m->faded == m->d->c) {
      BENCH_TRY(otpc_sendf(self, m->d->self, "{done, ~I}", m->sum));
      bench_exit_normal(self);
    }
  } else if (bench_tagged(t, "meet")) {
    otpc_pid_t from = bench_pid(bench_elem(t, 2));
    if (m->left == 0) {
      otpc_pid_t me = otpc_self(self);
      BENCH_TRY(otpc_sendf(self, from, "{exit, ~p}", &me));
    } else if (!m->waiting) {
      m->waiting = true;
      m->waiter = from;
    } else {
      m->left--;
      BENCH_TRY(otpc_send(self, m->waiter, msg));
      m->waiting = false;
    }
  } else {
    bench_unexpected(msg);
  }
}

static void mall_terminate(otpc_proc_t *self, void *state, otpc_term_t reason) {
  (void)self;
  (void)reason;
  mall_t *m = state;
  free(m->args);
}

static const otpc_proc_class_t mall_class = {
    .name = "mall",
    .state_size = sizeof(mall_t),
    .init = mall_init,
    .handle = mall_handle,
    .terminate = mall_terminate,
};

static void driver_init(otpc_proc_t *self, void *state, void *arg) {
  driver_t *d = state;
  d->ctx = arg;
  d->c = d->ctx->arg[0];
  d->m = d->ctx->arg[1];
  d->self = otpc_self(self);
  d->t0 = bench_now_ns();
  otpc_pid_t mall;
  BENCH_TRY(otpc_spawn(self, &mall_class, d, NULL, &mall));
}

static void driver_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  driver_t *d = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (!bench_tagged(t, "done"))
    bench_unexpected(msg);
  double ms = bench_ms_since(d->t0);
  BENCH_CHECK("sum of meetings", 2 * d->m, bench_int(bench_elem(t, 1)));
  bench_report(self, d->ctx, ms);
}

static const otpc_proc_class_t driver_class = {
    .name = "chameneos_driver",
    .state_size = sizeof(driver_t),
    .init = driver_init,
    .handle = driver_handle,
};

int main(int argc, char **argv) {
  return bench_main(&driver_class, argc, argv, 2, "%.3f");
}
