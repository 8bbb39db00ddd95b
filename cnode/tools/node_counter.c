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
 * keeps the last value; init starts from the saved N, or 0.
 *
 * A second registered process, `otpc_factory`, serves the cross-node
 * supervision tests (not a stable contract), by gen_server:call:
 *   new                     starts an unlinked C gen_server `cworker` and
 *                           returns {ok, Pid}; cworker answers ping -> pong
 *                           and exits with R on the cast {crash, R}
 *   {remote_sup, Factory}   starts a C supervisor `remote_sup` (one_for_one,
 *                           intensity 5 in 10 s, unlinked) whose one child
 *                           `beam_child` is started by calling the
 *                           gen_server Factory (a pid, e.g. on a BEAM node)
 *                           with new_child, which answers {ok, Pid}; returns
 *                           {ok, SupPid} or {error, Reason} */
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

/* ------------------------------------------------------------ factory */

static void cw_call(otpc_gs_t *gs, void *state, otpc_term_t req,
                    const otpc_gs_from_t *from) {
  (void)state;
  (void)from;
  if (otpc_term_is_atom(req, "ping") == 1)
    otpc_gs_replyf(gs, "pong");
  else
    otpc_gs_replyf(gs, "{error, {unknown_request, ~t}}", &req);
}

static void cw_cast(otpc_gs_t *gs, void *state, otpc_term_t req) {
  (void)state;
  otpc_term_t r;
  if (otpc_term_match(req, NULL, "{crash, ~t}", &r) == 0)
    otpc_exit(otpc_gs_proc(gs), r);
}

static const otpc_gen_server_t cworker = {
    .name = "cworker", .handle_call = cw_call, .handle_cast = cw_cast};

/* The BEAM factory of remote_sup's child. One remote_sup per node. */
static otpc_pid_t beam_factory;

static void on_beam_child(otpc_proc_t *self, void *state,
                          const otpc_gs_result_t *res, void *ctx) {
  (void)self;
  (void)state;
  otpc_sup_start_t *st = ctx;
  otpc_pid_t pid;
  otpc_term_t t =
      res->term != NULL ? otpc_msg_term(res->term) : (otpc_term_t){NULL, 0};
  if (res->status == OTPC_GS_OK &&
      otpc_term_match(t, NULL, "{ok, ~p}", &pid) == 0) {
    otpc_sup_start_ok(st, pid);
    return;
  }
  otpc_buf_t b;
  otpc_buf_init(&b);
  if (t.p != NULL)
    otpc_term_build(&b, NULL, "{factory, ~i, ~t}", (int)res->status, &t);
  else
    otpc_term_build(&b, NULL, "{factory, ~i}", (int)res->status);
  otpc_sup_start_error(st, (otpc_term_t){b.data, b.len});
  otpc_buf_free(&b);
}

static int beam_child_start(otpc_proc_t *self, otpc_sup_start_t *st, void *arg,
                            otpc_term_t extra) {
  (void)arg;
  (void)extra;
  static const uint8_t new_child[] = {119, 9,   'n', 'e', 'w', '_',
                                      'c', 'h', 'i', 'l', 'd'};
  return otpc_gen_server_call(self, beam_factory,
                              (otpc_term_t){new_child, sizeof new_child}, 10000,
                              on_beam_child, st);
}

static const otpc_child_spec_t beam_child = {
    .id = "beam_child", .start = beam_child_start, .restart = OTPC_PERMANENT};

static const otpc_sup_spec_t remote_sup = {.strategy = OTPC_ONE_FOR_ONE,
                                           .intensity = 5,
                                           .period_s = 10,
                                           .children = &beam_child,
                                           .n_children = 1,
                                           .name = "remote_sup"};

/* The factory answers each request from a start's continuation, with the
 * caller's From kept in a heap copy. */
static void on_made(otpc_proc_t *self, void *state, const otpc_gs_result_t *res,
                    void *ctx) {
  (void)state;
  otpc_gs_from_t *from = ctx;
  otpc_buf_t b;
  otpc_buf_init(&b);
  if (res->status == OTPC_GS_OK)
    otpc_term_build(&b, NULL, "{ok, ~p}", &res->pid);
  else if (res->term != NULL) {
    otpc_term_t e = otpc_msg_term(res->term);
    otpc_term_build(&b, NULL, "{error, ~t}", &e);
  } else
    otpc_term_build(&b, NULL, "{error, ~i}", (int)res->status);
  otpc_gen_server_reply(self, from, (otpc_term_t){b.data, b.len});
  otpc_buf_free(&b);
  free(from);
}

static void factory_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)state;
  otpc_term_t t = otpc_msg_term(msg), tag, req;
  otpc_pid_t pid, fac;
  if (otpc_term_match(t, NULL, "{'$gen_call', {~p, ~t}, ~t}", &pid, &tag,
                      &req) != 0 ||
      tag.len > OTPC_GS_TAG_MAX)
    return;
  otpc_gs_from_t *from = calloc(1, sizeof *from);
  if (from == NULL)
    return;
  from->pid = pid;
  from->tag_len = tag.len;
  memcpy(from->tag, tag.p, tag.len);
  int rc = OTPC_EINVAL;
  if (otpc_term_is_atom(req, "new") == 1) {
    rc = otpc_gen_server_start(self, &cworker, NULL, NULL, on_made, from);
  } else if (otpc_term_match(req, NULL, "{remote_sup, ~p}", &fac) == 0) {
    beam_factory = fac;
    rc = otpc_sup_start(self, &remote_sup, NULL, NULL, on_made, from);
  }
  if (rc != 0) {
    otpc_buf_t b;
    otpc_buf_init(&b);
    otpc_term_build(&b, NULL, "{error, {bad_request, ~t}}", &req);
    otpc_gen_server_reply(self, from, (otpc_term_t){b.data, b.len});
    otpc_buf_free(&b);
    free(from);
  }
}

static const otpc_proc_class_t factory_class = {.name = "otpc_factory",
                                                .handle = factory_handle};

/* ------------------------------------------------------------ start */

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
  if (rc != 0)
    return rc;
  otpc_spawn_opts_t fo = {.name = "otpc_factory"};
  otpc_pid_t fpid;
  return otpc_rt_spawn(rt, &factory_class, NULL, &fo, &fpid);
}
