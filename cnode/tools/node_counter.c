/* The reference node's `counter`, kept stable for checks outside the test
 * suite:
 *   gen_server:call({counter, Node}, increment) -> ok
 *   gen_server:call({counter, Node}, read)      -> {value, N}
 *   gen_server:call({counter, Node}, reset)     -> ok when N =/= 0; when N
 *     is 0 the counter crashes with reason reset_at_zero (a deliberate bug)
 *     and counter_sup restarts it.
 * The counter saves N to STATE_DIR/counter.state when it terminates (it
 * traps exits, so a supervisor's shutdown runs terminate too) and also
 * after every change, so that even a kill or a node stopped by a signal
 * keeps the last value; init starts from the saved N, or 0. */
#include "node_counter.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "otpc/gen_server.h"
#include "otpc/supervisor.h"

typedef struct counter {
  const char *dir;
  int64_t n;
} counter_t;

static void state_path(const counter_t *c, char *path, size_t cap,
                       const char *suffix) {
  snprintf(path, cap, "%s/counter.state%s", c->dir, suffix);
}

/* The saved N: a decimal integer and a newline; anything else is 0. */
static int64_t load(const counter_t *c) {
  char path[4096], text[32] = "";
  state_path(c, path, sizeof path, "");
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  size_t len = fread(text, 1, sizeof text - 1, f);
  fclose(f);
  text[len] = 0;
  char *end;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno != 0 || end == text || (*end != '\n' && *end != 0))
    return 0;
  return (int64_t)v;
}

/* Written to a temporary file, then renamed: a reader never sees half. */
static void save(const counter_t *c) {
  char path[4096], tmp[4200];
  state_path(c, path, sizeof path, "");
  state_path(c, tmp, sizeof tmp, ".tmp");
  FILE *f = fopen(tmp, "w");
  if (f == NULL)
    return;
  bool ok = fprintf(f, "%" PRId64 "\n", c->n) > 0;
  ok = fclose(f) == 0 && ok;
  if (ok)
    rename(tmp, path);
}

static void counter_init(otpc_gs_t *gs, void *state, void *arg) {
  counter_t *c = state;
  c->dir = arg != NULL ? arg : ".";
  c->n = load(c);
  otpc_trap_exit(otpc_gs_proc(gs), true);
}

static void counter_call(otpc_gs_t *gs, void *state, otpc_term_t req,
                         const otpc_gs_from_t *from) {
  (void)from;
  counter_t *c = state;
  if (otpc_term_is_atom(req, "increment") == 1) {
    c->n++;
    save(c);
    otpc_gs_replyf(gs, "ok");
  } else if (otpc_term_is_atom(req, "read") == 1) {
    otpc_gs_replyf(gs, "{value, ~I}", c->n);
  } else if (otpc_term_is_atom(req, "reset") == 1) {
    if (c->n == 0)
      otpc_exitf(otpc_gs_proc(gs), "reset_at_zero"); /* the deliberate bug */
    c->n = 0;
    save(c);
    otpc_gs_replyf(gs, "ok");
  } else {
    otpc_gs_replyf(gs, "{error, {unknown_request, ~t}}", &req);
  }
}

static void counter_terminate(otpc_gs_t *gs, void *state, otpc_term_t reason) {
  (void)gs;
  (void)reason;
  save(state);
}

static const otpc_gen_server_t counter_class = {.name = "counter",
                                                .state_size = sizeof(counter_t),
                                                .init = counter_init,
                                                .handle_call = counter_call,
                                                .terminate = counter_terminate};

static otpc_child_spec_t counter_child = {.id = "counter",
                                          .gen_server = &counter_class,
                                          .name = "counter",
                                          .restart = OTPC_PERMANENT};

static const otpc_sup_spec_t counter_sup = {.strategy = OTPC_ONE_FOR_ONE,
                                            .intensity = 3,
                                            .period_s = 5,
                                            .children = &counter_child,
                                            .n_children = 1,
                                            .name = "counter_sup"};

int otpc__node_counter_start(otpc_rt_t *rt, const char *state_dir) {
  otpc_proc_t *self;
  int rc = otpc_thread_attach(rt, &self);
  if (rc != 0)
    return rc;
  /* One tree per OS process: the child's arg is the directory. */
  counter_child.arg = (void *)(state_dir != NULL ? state_dir : ".");
  otpc_gs_result_t res;
  /* Unlinked: this thread process goes away, the tree stays. */
  rc = otpc_sup_start_blocking(self, &counter_sup, NULL, NULL, &res);
  if (rc == 0 && res.status != OTPC_GS_OK)
    rc = OTPC_EINVAL;
  otpc_msg_unref(res.term);
  otpc_thread_detach(self, (otpc_term_t){0});
  return rc;
}
