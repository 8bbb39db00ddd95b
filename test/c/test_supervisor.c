/* supervisor: start order, reverse-order termination, every strategy and
 * restart type, intensity exceeded -> shutdown, shutdown escalation (timeout
 * then kill, brutal_kill, infinity), the dynamic children API with OTP's
 * results, simple_one_for_one, ignore, failed starts, bad specs,
 * significant children, nested trees, generic (asynchronous) starts and
 * try-again restarts. Children report to the test's thread process, which
 * observes by blocking receives: no sleeps. */
#include "rt_test_util.h"

#include <stdatomic.h>

#include "otpc/supervisor.h"

/* ------------------------------------------------------------ fixture */

/* Every log line, to check the reports. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_all[65536];
static size_t log_len;

static void log_cap(void *ud, int level, const char *text) {
  (void)ud;
  (void)level;
  pthread_mutex_lock(&log_lock);
  size_t n = strlen(text);
  if (log_len + n + 2 < sizeof log_all) {
    memcpy(log_all + log_len, text, n);
    log_len += n;
    log_all[log_len++] = '\n';
    log_all[log_len] = 0;
  }
  pthread_mutex_unlock(&log_lock);
}

static bool log_has(const char *s) {
  pthread_mutex_lock(&log_lock);
  bool r = strstr(log_all, s) != NULL;
  pthread_mutex_unlock(&log_lock);
  return r;
}

/* How many times s occurs in the log. */
static int log_count(const char *s) {
  int n = 0;
  pthread_mutex_lock(&log_lock);
  for (const char *p = log_all; (p = strstr(p, s)) != NULL; p++)
    n++;
  pthread_mutex_unlock(&log_lock);
  return n;
}

typedef struct fx {
  otpc_rt_t *rt;
  otpc_proc_t *me;
} fx_t;

static otpc_pid_t g_ctl; /* where children report */

static int setup(void **state) {
  fx_t *f = calloc(1, sizeof *f);
  otpc_rt_opts_t o = {.schedulers = 2, .log = log_cap};
  assert_int_equal(otpc_rt_start(&o, &f->rt), 0);
  assert_int_equal(otpc_thread_attach(f->rt, &f->me), 0);
  g_ctl = otpc_self(f->me);
  pthread_mutex_lock(&log_lock);
  log_len = 0;
  log_all[0] = 0;
  pthread_mutex_unlock(&log_lock);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_t *f = *state;
  tu_expect_empty(f->me);
  otpc_thread_detach(f->me, (otpc_term_t){0});
  assert_int_equal(otpc_rt_stop(f->rt), 0);
  free(f);
  return 0;
}

/* ------------------------------------------------------------ workers */

/* A worker's spec arg. `fail_from`: the start number (1-based) from which
 * init fails with {stop, init_failed}; 0 never. */
typedef struct wk_arg {
  const char *id;
  const char *mode; /* ok, trap, ignore, fail */
  int fail_from;
  /* "held": init fails quietly while this is set (the test clears it). */
  atomic_bool held;
  atomic_int starts;
} wk_arg_t;

typedef struct wk {
  const char *id;
} wk_t;

static void wk_init(otpc_gs_t *gs, void *state, void *arg) {
  wk_t *w = state;
  wk_arg_t *a = arg;
  otpc_proc_t *self = otpc_gs_proc(gs);
  w->id = a->id;
  /* Relaxed: only the count matters; children of one supervisor start
   * one after the other anyway. */
  int n = atomic_fetch_add_explicit(&a->starts, 1, memory_order_relaxed) + 1;
  /* Acquire: pairs with the test's release store that lets it start. */
  if (strcmp(a->mode, "held") == 0 &&
      atomic_load_explicit(&a->held, memory_order_acquire)) {
    otpc_gs_stopf(gs, "held");
    return;
  }
  if (strcmp(a->mode, "ignore") == 0) {
    otpc_sendf(self, g_ctl, "{ignored, ~a}", a->id);
    otpc_gs_ignore(gs);
    return;
  }
  if (strcmp(a->mode, "fail") == 0 || (a->fail_from && n >= a->fail_from)) {
    otpc_sendf(self, g_ctl, "{init_failed, ~a}", a->id);
    otpc_gs_stopf(gs, "init_failed");
    return;
  }
  if (strcmp(a->mode, "trap") == 0)
    otpc_trap_exit(self, true);
  otpc_pid_t me = otpc_self(self);
  otpc_sendf(self, g_ctl, "{started, ~a, ~p}", a->id, &me);
}

static void wk_cast(otpc_gs_t *gs, void *state, otpc_term_t req) {
  (void)state;
  otpc_term_t r;
  if (otpc_term_match(req, NULL, "{exit, ~t}", &r) == 0)
    otpc_exit(otpc_gs_proc(gs), r);
}

static void wk_terminate(otpc_gs_t *gs, void *state, otpc_term_t reason) {
  wk_t *w = state;
  otpc_sendf(otpc_gs_proc(gs), g_ctl, "{terminated, ~a, ~t}", w->id, &reason);
}

static const otpc_gen_server_t wk = {.name = "wk",
                                     .state_size = sizeof(wk_t),
                                     .init = wk_init,
                                     .handle_cast = wk_cast,
                                     .terminate = wk_terminate};

/* A simple_one_for_one worker: its arg is the dyn arg, it reports its
 * extra arguments. */
static void dwk_init(otpc_gs_t *gs, void *state, void *arg) {
  wk_t *w = state;
  const otpc_sup_dyn_arg_t *d = arg;
  wk_arg_t *a = d->arg;
  w->id = a->id;
  otpc_proc_t *self = otpc_gs_proc(gs);
  otpc_trap_exit(self, true);
  if (otpc_term_match(d->extra, NULL, "[ignore]") == 0) {
    otpc_gs_ignore(gs);
    return;
  }
  otpc_pid_t me = otpc_self(self);
  otpc_sendf(self, g_ctl, "{started, ~t, ~p}", &d->extra, &me);
}

static const otpc_gen_server_t dwk = {.name = "dwk",
                                      .state_size = sizeof(wk_t),
                                      .init = dwk_init,
                                      .handle_cast = wk_cast,
                                      .terminate = wk_terminate};

/* A process that traps exits and ignores them: only kill ends it. */
static void stub_init(otpc_proc_t *self, void *state, void *arg) {
  (void)state;
  (void)arg;
  otpc_trap_exit(self, true);
  otpc_pid_t me = otpc_self(self);
  otpc_sendf(self, g_ctl, "{started, stubborn, ~p}", &me);
}

static void stub_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)state;
  otpc_term_t t = otpc_msg_term(msg);
  otpc_sendf(self, g_ctl, "{got, ~t}", &t);
}

static const otpc_proc_class_t stubborn = {
    .name = "stubborn", .init = stub_init, .handle = stub_handle};

/* ------------------------------------------------------------ helpers */

static otpc_pid_t start_sup(fx_t *f, const otpc_sup_spec_t *spec) {
  otpc_gs_result_t res;
  assert_int_equal(otpc_sup_start_blocking(f->me, spec, NULL, NULL, &res), 0);
  if (res.status != OTPC_GS_OK) {
    char b[512] = "";
    if (res.term != NULL)
      tu_str(res.term, b, sizeof b);
    fail_msg("supervisor start: status %d %s", res.status, b);
  }
  return res.pid;
}

/* The expected message: a pattern with ~p captures (or NULL). */
static void expect_started(fx_t *f, const char *id, otpc_pid_t *pid) {
  otpc_msg_t *m = tu_recv(f->me);
  char buf[512], pat[128];
  snprintf(pat, sizeof pat, "{started, %s, ~p}", id);
  otpc_pid_t p;
  if (otpc_term_match(otpc_msg_term(m), NULL, pat, &p) != 0)
    fail_msg("expected %s, got %s", pat, tu_str(m, buf, sizeof buf));
  if (pid != NULL)
    *pid = p;
  otpc_msg_unref(m);
}

/* A call with the gen_server protocol; the reply printed. */
static const char *call(fx_t *f, otpc_pid_t sup, const char *req, char *out,
                        size_t n) {
  otpc_buf_t b;
  otpc_gs_result_t res;
  assert_int_equal(
      otpc_gen_server_call_blocking(f->me, sup, tu_term(&b, req), 10000, &res),
      0);
  otpc_buf_free(&b);
  assert_int_equal(res.status, OTPC_GS_OK);
  tu_str(res.term, out, n);
  otpc_msg_unref(res.term);
  return out;
}

static void expect_call(fx_t *f, otpc_pid_t sup, const char *req,
                        const char *reply) {
  char buf[1024];
  assert_string_equal(call(f, sup, req, buf, sizeof buf), reply);
}

/* Makes a worker exit with `reason` and waits until it is gone: its
 * terminate's report first, then its DOWN. The runtime sends a dying
 * process's exit signals before its DOWNs, so after this returns the
 * supervisor has the 'EXIT' queued before anything the test sends it. */
static void crash(fx_t *f, otpc_pid_t pid, const char *id, const char *reason) {
  otpc_buf_t b, r;
  char fmt[128], want[400], got[256];
  otpc_ref_t mon;
  assert_int_equal(otpc_monitor(f->me, pid, &mon), 0);
  snprintf(fmt, sizeof fmt, "{exit, %s}", reason);
  assert_int_equal(otpc_gen_server_cast(f->me, pid, tu_term(&b, fmt)), 0);
  otpc_buf_free(&b);
  otpc_term_t rt = tu_term(&r, reason);
  otpc_term_snprint(got, sizeof got, rt);
  otpc_buf_free(&r);
  snprintf(want, sizeof want, "{terminated,%s,%s}", id, got);
  tu_expect(f->me, want);
  otpc_msg_t *m = tu_recv_match(f->me, otpc_match_ref, &mon);
  otpc_msg_unref(m);
}

static char *ps(otpc_pid_t p, char *b) {
  return tu_pidstr(p, b, 64);
}

/* Stops the supervisor (sys:terminate with shutdown) and waits for it. */
static void stop_sup(fx_t *f, otpc_pid_t sup) {
  otpc_buf_t b;
  otpc_gs_result_t res;
  assert_int_equal(otpc_gen_server_stop_blocking(
                       f->me, sup, tu_term(&b, "shutdown"), 10000, &res),
                   0);
  otpc_buf_free(&b);
  assert_int_equal(res.status, OTPC_GS_OK);
}

/* Waits for the DOWN of a monitored supervisor; its reason printed. */
static const char *await_down(fx_t *f, const otpc_ref_t *ref, char *out,
                              size_t n) {
  otpc_msg_t *m = tu_recv_match(f->me, otpc_match_ref, ref);
  otpc_term_t r;
  assert_int_equal(
      otpc_term_match(otpc_msg_term(m), NULL, "{'DOWN', _, _, _, ~t}", &r), 0);
  otpc_term_snprint(out, n, r);
  otpc_msg_unref(m);
  return out;
}

#define CHILD(ID, ARG, RESTART)                                                \
  { .id = ID, .gen_server = &wk, .arg = ARG, .restart = RESTART }

/* A supervisor spec over a static array of children. */
#define SPEC(STRATEGY, INTENSITY, PERIOD, CH)                                  \
  {                                                                            \
    .strategy = STRATEGY, .intensity = INTENSITY, .period_s = PERIOD,          \
    .children = CH, .n_children = sizeof CH / sizeof CH[0]                     \
  }
#define W(ID, MODE)                                                            \
  { .id = ID, .mode = MODE }

/* ---------------------------------------------------------------- tests */

static void test_one_for_one_order_and_restart(void **state) {
  fx_t *f = *state;
  static wk_arg_t a = W("a", "trap"), b = W("b", "trap"), c = W("c", "trap");
  static const otpc_child_spec_t ch[] = {CHILD("a", &a, OTPC_PERMANENT),
                                         CHILD("b", &b, OTPC_PERMANENT),
                                         CHILD("c", &c, OTPC_PERMANENT)};
  static const otpc_sup_spec_t spec = SPEC(OTPC_ONE_FOR_ONE, 5, 60, ch);
  otpc_pid_t sup = start_sup(f, &spec), pa, pb, pc, pb2;
  expect_started(f, "a", &pa);
  expect_started(f, "b", &pb);
  expect_started(f, "c", &pc);
  char e[512], x[3][64];
  snprintf(e, sizeof e,
           "[{c,%s,worker,[wk]},{b,%s,worker,[wk]},{a,%s,worker,[wk]}]",
           ps(pc, x[2]), ps(pb, x[1]), ps(pa, x[0]));
  expect_call(f, sup, "which_children", e);
  crash(f, pb, "b", "boom");
  expect_started(f, "b", &pb2);
  assert_false(pb2.id == pb.id && pb2.serial == pb.serial);
  expect_call(f, sup, "count_children",
              "[{specs,3},{active,3},{supervisors,0},{workers,3}]");
  assert_true(log_has("errorContext: child_terminated; reason: boom"));
  stop_sup(f, sup);
  tu_expect(f->me, "{terminated,c,shutdown}");
  tu_expect(f->me, "{terminated,b,shutdown}");
  tu_expect(f->me, "{terminated,a,shutdown}");
}

static void run_strategy(fx_t *f, otpc_sup_strategy_t strategy,
                         const char *const *after) {
  static wk_arg_t a = W("a", "trap"), b = W("b", "trap"), c = W("c", "trap");
  static const otpc_child_spec_t ch[] = {CHILD("a", &a, OTPC_PERMANENT),
                                         CHILD("b", &b, OTPC_PERMANENT),
                                         CHILD("c", &c, OTPC_PERMANENT)};
  otpc_sup_spec_t spec = SPEC(strategy, 5, 60, ch);
  otpc_pid_t sup = start_sup(f, &spec), pb;
  expect_started(f, "a", NULL);
  expect_started(f, "b", &pb);
  expect_started(f, "c", NULL);
  crash(f, pb, "b", "boom");
  for (size_t i = 0; after[i] != NULL; i++) {
    if (strncmp(after[i], "started ", 8) == 0)
      expect_started(f, after[i] + 8, NULL);
    else
      tu_expect(f->me, after[i]);
  }
  tu_expect_empty(f->me);
  stop_sup(f, sup);
  tu_expect(f->me, "{terminated,c,shutdown}");
  tu_expect(f->me, "{terminated,b,shutdown}");
  tu_expect(f->me, "{terminated,a,shutdown}");
}

static void test_one_for_all(void **state) {
  static const char *const after[] = {"{terminated,c,shutdown}",
                                      "{terminated,a,shutdown}",
                                      "started a",
                                      "started b",
                                      "started c",
                                      NULL};
  run_strategy(*state, OTPC_ONE_FOR_ALL, after);
}

static void test_rest_for_one(void **state) {
  static const char *const after[] = {"{terminated,c,shutdown}", "started b",
                                      "started c", NULL};
  run_strategy(*state, OTPC_REST_FOR_ONE, after);
}

static void test_restart_types(void **state) {
  fx_t *f = *state;
  static wk_arg_t p = W("p", "ok"), tr = W("tr", "ok"), te = W("te", "ok");
  static const otpc_child_spec_t ch[] = {CHILD("p", &p, OTPC_PERMANENT),
                                         CHILD("tr", &tr, OTPC_TRANSIENT),
                                         CHILD("te", &te, OTPC_TEMPORARY)};
  static const otpc_sup_spec_t spec = SPEC(OTPC_ONE_FOR_ONE, 10, 60, ch);
  otpc_pid_t sup = start_sup(f, &spec), pp, ptr, pte;
  expect_started(f, "p", &pp);
  expect_started(f, "tr", &ptr);
  expect_started(f, "te", &pte);
  /* permanent: restarted even after normal. */
  crash(f, pp, "p", "normal");
  expect_started(f, "p", &pp);
  /* transient: restarted after a crash ... */
  crash(f, ptr, "tr", "boom");
  expect_started(f, "tr", &ptr);
  /* ... not after {shutdown, _}: kept with pid undefined. */
  crash(f, ptr, "tr", "{shutdown, done}");
  /* temporary: never restarted, and its spec goes. */
  crash(f, pte, "te", "boom");
  char e[256], x[64];
  snprintf(e, sizeof e, "[{tr,undefined,worker,[wk]},{p,%s,worker,[wk]}]",
           ps(pp, x));
  expect_call(f, sup, "which_children", e);
  expect_call(f, sup, "count_children",
              "[{specs,2},{active,1},{supervisors,0},{workers,2}]");
  tu_expect_empty(f->me);
  stop_sup(f, sup);
}

static void test_intensity_exceeded(void **state) {
  fx_t *f = *state;
  static wk_arg_t a = W("a", "trap"), b = W("b", "ok");
  static const otpc_child_spec_t ch[] = {CHILD("a", &a, OTPC_PERMANENT),
                                         CHILD("b", &b, OTPC_PERMANENT)};
  static const otpc_sup_spec_t spec = SPEC(OTPC_ONE_FOR_ONE, 2, 3600, ch);
  otpc_pid_t sup = start_sup(f, &spec), pb;
  otpc_ref_t mon;
  assert_int_equal(otpc_monitor(f->me, sup, &mon), 0);
  expect_started(f, "a", NULL);
  expect_started(f, "b", &pb);
  for (int i = 0; i < 2; i++) {
    crash(f, pb, "b", "boom");
    expect_started(f, "b", &pb);
  }
  crash(f, pb, "b", "boom"); /* the third restart within the period: too many */
  tu_expect(f->me, "{terminated,a,shutdown}");
  char r[128];
  assert_string_equal(await_down(f, &mon, r, sizeof r), "shutdown");
  assert_true(log_has("errorContext: shutdown; reason: "
                      "reached_max_restart_intensity"));
  /* The crash reports that led up to it are kept. */
  assert_int_equal(log_count("last message: {'$gen_cast',{exit,boom}}; "
                             "reason: boom"),
                   3);
}

static void test_intensity_zero(void **state) {
  fx_t *f = *state;
  static wk_arg_t a = W("a", "ok");
  static const otpc_child_spec_t ch[] = {CHILD("a", &a, OTPC_PERMANENT)};
  static const otpc_sup_spec_t spec = SPEC(OTPC_ONE_FOR_ONE, 0, 1, ch);
  otpc_pid_t sup = start_sup(f, &spec), pa;
  otpc_ref_t mon;
  assert_int_equal(otpc_monitor(f->me, sup, &mon), 0);
  expect_started(f, "a", &pa);
  crash(f, pa, "a", "boom");
  char r[128];
  assert_string_equal(await_down(f, &mon, r, sizeof r), "shutdown");
}

static void test_shutdown_timeout_then_kill(void **state) {
  fx_t *f = *state;
  static const otpc_child_spec_t ch[] = {{.id = "s",
                                          .proc = &stubborn,
                                          .shutdown = OTPC_SHUTDOWN_TIMEOUT,
                                          .shutdown_ms = 50}};
  static const otpc_sup_spec_t spec = SPEC(OTPC_ONE_FOR_ONE, 1, 5, ch);
  otpc_pid_t sup = start_sup(f, &spec), ps_;
  expect_started(f, "stubborn", &ps_);
  otpc_ref_t mon;
  assert_int_equal(otpc_monitor(f->me, ps_, &mon), 0);
  char e[128], x[64], r[128];
  stop_sup(f, sup);
  /* It saw the shutdown exit signal as a message, then was killed. */
  snprintf(e, sizeof e, "{got,{'EXIT',%s,shutdown}}", ps(sup, x));
  tu_expect(f->me, e);
  assert_string_equal(await_down(f, &mon, r, sizeof r), "killed");
  assert_true(log_has("errorContext: shutdown_error; reason: killed"));
}

static void test_brutal_kill(void **state) {
  fx_t *f = *state;
  static const otpc_child_spec_t ch[] = {
      {.id = "s", .proc = &stubborn, .shutdown = OTPC_SHUTDOWN_BRUTAL_KILL}};
  static const otpc_sup_spec_t spec = SPEC(OTPC_ONE_FOR_ONE, 1, 5, ch);
  otpc_pid_t sup = start_sup(f, &spec), ps_;
  expect_started(f, "stubborn", &ps_);
  otpc_ref_t mon;
  assert_int_equal(otpc_monitor(f->me, ps_, &mon), 0);
  char r[128];
  stop_sup(f, sup);
  assert_string_equal(await_down(f, &mon, r, sizeof r), "killed");
  assert_false(log_has("shutdown_error")); /* killed is expected here */
}

static void test_shutdown_infinity(void **state) {
  fx_t *f = *state;
  static wk_arg_t a = W("a", "trap");
  static const otpc_child_spec_t ch[] = {{.id = "a",
                                          .gen_server = &wk,
                                          .arg = &a,
                                          .shutdown = OTPC_SHUTDOWN_INFINITY}};
  static const otpc_sup_spec_t spec = SPEC(OTPC_ONE_FOR_ONE, 1, 5, ch);
  otpc_pid_t sup = start_sup(f, &spec);
  expect_started(f, "a", NULL);
  stop_sup(f, sup);
  tu_expect(f->me, "{terminated,a,shutdown}");
}

static void test_dynamic_api(void **state) {
  fx_t *f = *state;
  static wk_arg_t a = W("a", "trap"), d = W("d", "trap");
  static const otpc_child_spec_t ch[] = {CHILD("a", &a, OTPC_PERMANENT)};
  static const otpc_sup_spec_t spec = SPEC(OTPC_ONE_FOR_ONE, 5, 60, ch);
  otpc_pid_t sup = start_sup(f, &spec), pa, pd;
  expect_started(f, "a", &pa);
  otpc_child_spec_t dspec = CHILD("d", &d, OTPC_PERMANENT);
  otpc_gs_result_t res;
  char buf[256], e[256], x[64];
  assert_int_equal(otpc_sup_start_child_blocking(f->me, sup, &dspec, &res), 0);
  expect_started(f, "d", &pd);
  snprintf(e, sizeof e, "{ok,%s}", ps(pd, x));
  assert_string_equal(tu_str(res.term, buf, sizeof buf), e);
  otpc_msg_unref(res.term);
  /* The same id again: already_started. */
  assert_int_equal(otpc_sup_start_child_blocking(f->me, sup, &dspec, &res), 0);
  snprintf(e, sizeof e, "{error,{already_started,%s}}", ps(pd, x));
  assert_string_equal(tu_str(res.term, buf, sizeof buf), e);
  otpc_msg_unref(res.term);
  expect_call(f, sup, "{restart_child, d}", "{error,running}");
  expect_call(f, sup, "{delete_child, d}", "{error,running}");
  expect_call(f, sup, "{terminate_child, d}", "ok");
  tu_expect(f->me, "{terminated,d,shutdown}");
  snprintf(e, sizeof e, "[{d,undefined,worker,[wk]},{a,%s,worker,[wk]}]",
           ps(pa, x));
  expect_call(f, sup, "which_children", e);
  assert_int_equal(otpc_sup_start_child_blocking(f->me, sup, &dspec, &res), 0);
  assert_string_equal(tu_str(res.term, buf, sizeof buf),
                      "{error,already_present}");
  otpc_msg_unref(res.term);
  call(f, sup, "{restart_child, d}", buf, sizeof buf);
  expect_started(f, "d", &pd);
  snprintf(e, sizeof e, "{ok,%s}", ps(pd, x));
  assert_string_equal(buf, e);
  expect_call(f, sup, "{terminate_child, d}", "ok");
  tu_expect(f->me, "{terminated,d,shutdown}");
  expect_call(f, sup, "{delete_child, d}", "ok");
  expect_call(f, sup, "{delete_child, d}", "{error,not_found}");
  expect_call(f, sup, "{terminate_child, nope}", "{error,not_found}");
  expect_call(f, sup, "{restart_child, nope}", "{error,not_found}");
  expect_call(f, sup, "{get_childspec, a}", "{error,not_found}");
  /* A bad spec: OTP's check_childspec error. */
  otpc_child_spec_t bad = CHILD("z", &d, OTPC_PERMANENT);
  bad.significant = true;
  assert_int_equal(otpc_sup_start_child_blocking(f->me, sup, &bad, &res), 0);
  assert_string_equal(
      tu_str(res.term, buf, sizeof buf),
      "{error,{bad_combination,[{auto_shutdown,never},{significant,true}]}}");
  otpc_msg_unref(res.term);
  /* An Erlang-form spec (or a forged ticket) is refused, not followed. */
  expect_call(f, sup, "{start_child, {'$otpc_child_spec', 4096, 1}}",
              "{error,{invalid_child_spec,{'$otpc_child_spec',4096,1}}}");
  /* A failing start of a new child: the spec is not kept. */
  static wk_arg_t bf = W("bf", "fail");
  otpc_child_spec_t fspec = CHILD("bf", &bf, OTPC_PERMANENT);
  assert_int_equal(otpc_sup_start_child_blocking(f->me, sup, &fspec, &res), 0);
  tu_expect(f->me, "{init_failed,bf}");
  assert_string_equal(tu_str(res.term, buf, sizeof buf),
                      "{error,{init_failed,bf}}");
  otpc_msg_unref(res.term);
  expect_call(f, sup, "count_children",
              "[{specs,1},{active,1},{supervisors,0},{workers,1}]");
  stop_sup(f, sup);
  tu_expect(f->me, "{terminated,a,shutdown}");
}

static void test_simple_one_for_one(void **state) {
  fx_t *f = *state;
  static wk_arg_t t = W("dyn", "trap");
  static const otpc_child_spec_t ch[] = {
      {.id = "tmpl", .gen_server = &dwk, .arg = &t, .restart = OTPC_PERMANENT}};
  static const otpc_sup_spec_t spec = SPEC(OTPC_SIMPLE_ONE_FOR_ONE, 5, 60, ch);
  otpc_pid_t sup = start_sup(f, &spec), p1, p2, p1b;
  char buf[256], e[256], x[2][64];
  call(f, sup, "{start_child, [one]}", buf, sizeof buf);
  expect_started(f, "[one]", &p1);
  snprintf(e, sizeof e, "{ok,%s}", ps(p1, x[0]));
  assert_string_equal(buf, e);
  call(f, sup, "{start_child, [two, 2]}", buf, sizeof buf);
  expect_started(f, "[two,2]", &p2);
  expect_call(f, sup, "{start_child, [ignore]}", "{ok,undefined}");
  snprintf(e, sizeof e,
           "[{undefined,%s,worker,[dwk]},{undefined,%s,worker,[dwk]}]",
           ps(p1, x[0]), ps(p2, x[1]));
  expect_call(f, sup, "which_children", e);
  expect_call(f, sup, "count_children",
              "[{specs,1},{active,2},{supervisors,0},{workers,2}]");
  expect_call(f, sup, "{terminate_child, tmpl}", "{error,simple_one_for_one}");
  expect_call(f, sup, "{restart_child, tmpl}", "{error,simple_one_for_one}");
  expect_call(f, sup, "{delete_child, tmpl}", "{error,simple_one_for_one}");
  /* A crashed dynamic child is restarted with its own arguments. */
  crash(f, p1, "dyn", "boom");
  expect_started(f, "[one]", &p1b);
  /* A pid has no literal syntax: the request is built. */
  otpc_buf_t b;
  otpc_gs_result_t res;
  otpc_buf_init(&b);
  assert_int_equal(otpc_term_build(&b, NULL, "{terminate_child, ~p}", &p2), 0);
  assert_int_equal(otpc_gen_server_call_blocking(
                       f->me, sup, (otpc_term_t){b.data, b.len}, 10000, &res),
                   0);
  otpc_buf_free(&b);
  assert_string_equal(tu_str(res.term, buf, sizeof buf), "ok");
  otpc_msg_unref(res.term);
  tu_expect(f->me, "{terminated,dyn,shutdown}");
  expect_call(f, sup, "count_children",
              "[{specs,1},{active,1},{supervisors,0},{workers,1}]");
  call(f, sup, "{start_child, [three]}", buf, sizeof buf);
  expect_started(f, "[three]", NULL);
  /* Stop: every dynamic child gets its exit signal at once. */
  stop_sup(f, sup);
  tu_expect(f->me, "{terminated,dyn,shutdown}");
  tu_expect(f->me, "{terminated,dyn,shutdown}");
}

/* simple_one_for_one with temporary significant children and
 * all_significant: the supervisor lives while one of them does. */
static void test_simple_all_significant(void **state) {
  fx_t *f = *state;
  static wk_arg_t t = W("dyn", "trap");
  static const otpc_child_spec_t ch[] = {{.id = "tmpl",
                                          .gen_server = &dwk,
                                          .arg = &t,
                                          .restart = OTPC_TEMPORARY,
                                          .significant = true}};
  static const otpc_sup_spec_t spec = {.strategy = OTPC_SIMPLE_ONE_FOR_ONE,
                                       .intensity = 1,
                                       .period_s = 5,
                                       .auto_shutdown =
                                           OTPC_AUTO_SHUTDOWN_ALL_SIGNIFICANT,
                                       .children = ch,
                                       .n_children = 1};
  otpc_pid_t sup = start_sup(f, &spec), p1, p2;
  otpc_ref_t mon;
  char buf[128], r[64];
  assert_int_equal(otpc_monitor(f->me, sup, &mon), 0);
  call(f, sup, "{start_child, [one]}", buf, sizeof buf);
  expect_started(f, "[one]", &p1);
  call(f, sup, "{start_child, [two]}", buf, sizeof buf);
  expect_started(f, "[two]", &p2);
  crash(f, p1, "dyn", "boom"); /* temporary: gone, not restarted */
  expect_call(f, sup, "count_children",
              "[{specs,1},{active,1},{supervisors,0},{workers,1}]");
  crash(f, p2, "dyn", "normal");
  assert_string_equal(await_down(f, &mon, r, sizeof r), "shutdown");
}

/* Many dynamic children, some terminated: which_children keeps the start
 * order of the others (dynamic children are stored out of order), pids are
 * found again after the moves, and the stop reaches everyone left. */
static void test_many_dynamic(void **state) {
  fx_t *f = *state;
  enum { N = 300 };
  static wk_arg_t t = W("dyn", "trap");
  static const otpc_child_spec_t ch[] = {
      {.id = "tmpl", .gen_server = &dwk, .arg = &t, .restart = OTPC_TEMPORARY}};
  static const otpc_sup_spec_t spec = SPEC(OTPC_SIMPLE_ONE_FOR_ONE, 1, 5, ch);
  otpc_pid_t sup = start_sup(f, &spec);
  static otpc_pid_t pids[N];
  char buf[64], pat[64];
  for (int i = 0; i < N; i++) {
    snprintf(pat, sizeof pat, "{start_child, [%d]}", i);
    call(f, sup, pat, buf, sizeof buf);
    snprintf(pat, sizeof pat, "[%d]", i);
    expect_started(f, pat, &pids[i]);
  }
  for (int i = 0; i < N; i += 3) {
    otpc_buf_t b;
    otpc_gs_result_t res;
    otpc_buf_init(&b);
    assert_int_equal(
        otpc_term_build(&b, NULL, "{terminate_child, ~p}", &pids[i]), 0);
    assert_int_equal(otpc_gen_server_call_blocking(
                         f->me, sup, (otpc_term_t){b.data, b.len}, 10000, &res),
                     0);
    otpc_buf_free(&b);
    assert_string_equal(tu_str(res.term, buf, sizeof buf), "ok");
    otpc_msg_unref(res.term);
    tu_expect(f->me, "{terminated,dyn,shutdown}");
  }
  /* The expected reply, built as the supervisor builds it. */
  otpc_buf_t want, got;
  otpc_buf_init(&want);
  otpc_buf_init(&got);
  static const uint8_t nil = 106;
  uint32_t live = N - (N + 2) / 3;
  uint8_t head[5] = {108, (uint8_t)(live >> 24), (uint8_t)(live >> 16),
                     (uint8_t)(live >> 8), (uint8_t)live};
  otpc_buf_append(&want, head, sizeof head);
  for (int i = 0; i < N; i++)
    if (i % 3 != 0)
      assert_int_equal(otpc_term_build(&want, NULL,
                                       "{undefined, ~p, worker, [dwk]}",
                                       &pids[i]),
                       0);
  otpc_buf_append(&want, &nil, 1);
  otpc_gs_result_t res;
  otpc_term_t wc = {(const uint8_t *)"\x77\x0ewhich_children", 16};
  assert_int_equal(otpc_gen_server_call_blocking(f->me, sup, wc, 10000, &res),
                   0);
  assert_int_equal(res.status, OTPC_GS_OK);
  assert_true(otpc_term_equal(otpc_msg_term(res.term),
                              (otpc_term_t){want.data, want.len}));
  otpc_msg_unref(res.term);
  otpc_buf_free(&want);
  otpc_buf_free(&got);
  /* A crash of one that moved is seen (temporary: not restarted). */
  crash(f, pids[N - 1], "dyn", "boom");
  snprintf(pat, sizeof pat,
           "[{specs,1},{active,%u},{supervisors,0},"
           "{workers,%u}]",
           live - 1, live - 1);
  expect_call(f, sup, "count_children", pat);
  stop_sup(f, sup);
  for (uint32_t i = 0; i < live - 1; i++)
    tu_expect(f->me, "{terminated,dyn,shutdown}");
}

static void test_ignore(void **state) {
  fx_t *f = *state;
  static wk_arg_t a = W("a", "ignore"), b = W("b", "ignore"), c = W("c", "ok");
  static const otpc_child_spec_t ch[] = {CHILD("a", &a, OTPC_PERMANENT),
                                         CHILD("b", &b, OTPC_TEMPORARY),
                                         CHILD("c", &c, OTPC_PERMANENT)};
  static const otpc_sup_spec_t spec = SPEC(OTPC_ONE_FOR_ONE, 5, 60, ch);
  otpc_pid_t sup = start_sup(f, &spec), pc;
  tu_expect(f->me, "{ignored,a}");
  tu_expect(f->me, "{ignored,b}");
  expect_started(f, "c", &pc);
  char e[256], x[64];
  /* The permanent one is kept with pid undefined, the temporary dropped. */
  snprintf(e, sizeof e, "[{c,%s,worker,[wk]},{a,undefined,worker,[wk]}]",
           ps(pc, x));
  expect_call(f, sup, "which_children", e);
  expect_call(f, sup, "{restart_child, a}", "{ok,undefined}");
  tu_expect(f->me, "{ignored,a}");
  stop_sup(f, sup);
}

static void test_failed_start(void **state) {
  fx_t *f = *state;
  static wk_arg_t a = W("a", "trap"), b = W("b", "fail"), c = W("c", "ok");
  static const otpc_child_spec_t ch[] = {CHILD("a", &a, OTPC_PERMANENT),
                                         CHILD("b", &b, OTPC_PERMANENT),
                                         CHILD("c", &c, OTPC_PERMANENT)};
  static const otpc_sup_spec_t spec = SPEC(OTPC_ONE_FOR_ONE, 5, 60, ch);
  otpc_gs_result_t res;
  assert_int_equal(otpc_sup_start_blocking(f->me, &spec, NULL, NULL, &res), 0);
  expect_started(f, "a", NULL);
  tu_expect(f->me, "{init_failed,b}");
  tu_expect(f->me, "{terminated,a,shutdown}");
  assert_int_equal(res.status, OTPC_GS_ERROR);
  char buf[256];
  assert_string_equal(tu_str(res.term, buf, sizeof buf),
                      "{shutdown,{failed_to_start_child,b,init_failed}}");
  otpc_msg_unref(res.term);
  assert_true(log_has("errorContext: start_error; reason: init_failed"));
}

static void expect_bad_spec(fx_t *f, const otpc_sup_spec_t *spec,
                            const char *reason) {
  otpc_gs_result_t res;
  char buf[256];
  assert_int_equal(otpc_sup_start_blocking(f->me, spec, NULL, NULL, &res), 0);
  assert_int_equal(res.status, OTPC_GS_ERROR);
  assert_string_equal(tu_str(res.term, buf, sizeof buf), reason);
  otpc_msg_unref(res.term);
}

static void test_bad_specs(void **state) {
  fx_t *f = *state;
  static wk_arg_t a = W("a", "ok");
  otpc_child_spec_t ch[2] = {CHILD("a", &a, OTPC_PERMANENT),
                             CHILD("a", &a, OTPC_PERMANENT)};
  otpc_sup_spec_t spec = {.strategy = OTPC_ONE_FOR_ONE,
                          .intensity = -1,
                          .period_s = 5,
                          .children = ch,
                          .n_children = 1};
  expect_bad_spec(f, &spec, "{supervisor_data,{invalid_intensity,-1}}");
  spec.intensity = 1;
  spec.period_s = 0;
  expect_bad_spec(f, &spec, "{supervisor_data,{invalid_period,0}}");
  spec.period_s = 5;
  spec.strategy = (otpc_sup_strategy_t)9;
  expect_bad_spec(f, &spec, "{supervisor_data,{invalid_strategy,9}}");
  spec.strategy = OTPC_ONE_FOR_ONE;
  spec.n_children = 2;
  expect_bad_spec(f, &spec, "{start_spec,{duplicate_child_name,a}}");
  ch[1].id = "b";
  ch[1].gen_server = NULL;
  expect_bad_spec(f, &spec, "{start_spec,missing_start}");
  ch[1].proc = &stubborn;
  ch[1].gen_server = &wk;
  expect_bad_spec(f, &spec, "{start_spec,{invalid_mfa,b}}");
  ch[1].proc = NULL;
  ch[1].restart = OTPC_PERMANENT;
  ch[1].significant = true;
  spec.auto_shutdown = OTPC_AUTO_SHUTDOWN_ANY_SIGNIFICANT;
  expect_bad_spec(f, &spec,
                  "{start_spec,{bad_combination,[{restart,permanent},{"
                  "significant,true}]}}");
  ch[1].significant = false;
  ch[1].shutdown = OTPC_SHUTDOWN_TIMEOUT;
  ch[1].shutdown_ms = -5;
  expect_bad_spec(f, &spec, "{start_spec,{invalid_shutdown,-5}}");
  spec.strategy = OTPC_SIMPLE_ONE_FOR_ONE;
  expect_bad_spec(f, &spec, "{bad_start_spec,2}");
  tu_expect_empty(f->me);
}

static void test_auto_shutdown(void **state) {
  fx_t *f = *state;
  static wk_arg_t a = W("a", "trap"), s1 = W("s1", "ok"), s2 = W("s2", "ok");
  otpc_child_spec_t ch[] = {CHILD("a", &a, OTPC_PERMANENT),
                            CHILD("s1", &s1, OTPC_TRANSIENT),
                            CHILD("s2", &s2, OTPC_TEMPORARY)};
  ch[1].significant = ch[2].significant = true;
  otpc_sup_spec_t spec = {.strategy = OTPC_ONE_FOR_ONE,
                          .intensity = 5,
                          .period_s = 60,
                          .auto_shutdown = OTPC_AUTO_SHUTDOWN_ALL_SIGNIFICANT,
                          .children = ch,
                          .n_children = 3};
  otpc_pid_t sup = start_sup(f, &spec), p1, p2;
  otpc_ref_t mon;
  char r[128];
  assert_int_equal(otpc_monitor(f->me, sup, &mon), 0);
  expect_started(f, "a", NULL);
  expect_started(f, "s1", &p1);
  expect_started(f, "s2", &p2);
  crash(f, p1, "s1", "normal");
  expect_call(f, sup, "count_children",
              "[{specs,3},{active,2},{supervisors,0},{workers,3}]");
  crash(f, p2, "s2", "normal"); /* the last significant one: shut down */
  tu_expect(f->me, "{terminated,a,shutdown}");
  assert_string_equal(await_down(f, &mon, r, sizeof r), "shutdown");

  spec.auto_shutdown = OTPC_AUTO_SHUTDOWN_ANY_SIGNIFICANT;
  sup = start_sup(f, &spec);
  assert_int_equal(otpc_monitor(f->me, sup, &mon), 0);
  expect_started(f, "a", NULL);
  expect_started(f, "s1", &p1);
  expect_started(f, "s2", &p2);
  /* A crash of a transient significant child restarts it ... */
  crash(f, p1, "s1", "boom");
  expect_started(f, "s1", &p1);
  /* ... its normal exit shuts the supervisor down. */
  crash(f, p1, "s1", "{shutdown, bye}");
  tu_expect(f->me, "{terminated,a,shutdown}");
  assert_string_equal(await_down(f, &mon, r, sizeof r), "shutdown");
}

static void test_nested(void **state) {
  fx_t *f = *state;
  static wk_arg_t w1 = W("w1", "trap"), w2 = W("w2", "trap"),
                  w3 = W("w3", "trap");
  static const otpc_child_spec_t inner_ch[] = {
      CHILD("w2", &w2, OTPC_PERMANENT), CHILD("w3", &w3, OTPC_PERMANENT)};
  static const otpc_sup_spec_t inner = {.strategy = OTPC_ONE_FOR_ONE,
                                        .intensity = 5,
                                        .period_s = 60,
                                        .children = inner_ch,
                                        .n_children = 2,
                                        .name = "inner_sup"};
  static const otpc_child_spec_t outer_ch[] = {
      CHILD("w1", &w1, OTPC_PERMANENT), {.id = "inner", .supervisor = &inner}};
  static const otpc_sup_spec_t outer = SPEC(OTPC_ONE_FOR_ONE, 5, 60, outer_ch);
  otpc_pid_t sup = start_sup(f, &outer), pw3, pin;
  expect_started(f, "w1", NULL);
  expect_started(f, "w2", NULL);
  expect_started(f, "w3", &pw3);
  assert_int_equal(otpc_whereis(f->rt, tu_atom("inner_sup"), &pin), 0);
  expect_call(f, sup, "count_children",
              "[{specs,2},{active,2},{supervisors,1},{workers,1}]");
  /* A crash inside is handled inside. */
  crash(f, pw3, "w3", "boom");
  expect_started(f, "w3", NULL);
  tu_expect_empty(f->me);
  char buf[512];
  call(f, sup, "which_children", buf, sizeof buf);
  assert_non_null(strstr(buf, "{inner,"));
  assert_non_null(strstr(buf, ",supervisor,[supervisor]}"));
  /* Stopping the outer stops the inner tree first (reverse order). */
  stop_sup(f, sup);
  tu_expect(f->me, "{terminated,w3,shutdown}");
  tu_expect(f->me, "{terminated,w2,shutdown}");
  tu_expect(f->me, "{terminated,w1,shutdown}");
}

/* A generic start that asks a factory (a gen_server) for a worker, the
 * way a child on another node is started: the answer arrives in a
 * continuation. */
static void fac_call(otpc_gs_t *gs, void *state, otpc_term_t req,
                     const otpc_gs_from_t *from) {
  (void)state;
  (void)from;
  (void)req;
  otpc_pid_t pid;
  /* Unlinked: the supervisor links when the start settles. */
  otpc_spawn_opts_t so = {0};
  if (otpc_spawn(otpc_gs_proc(gs), &stubborn, NULL, &so, &pid) == 0)
    otpc_gs_replyf(gs, "{ok, ~p}", &pid);
  else
    otpc_gs_replyf(gs, "{error, spawn}");
}

static const otpc_gen_server_t factory = {.name = "factory",
                                          .handle_call = fac_call};

static void on_factory(otpc_proc_t *self, void *state,
                       const otpc_gs_result_t *res, void *ctx) {
  (void)self;
  (void)state;
  otpc_sup_start_t *st = ctx;
  otpc_pid_t pid;
  if (res->status == OTPC_GS_OK &&
      otpc_term_match(otpc_msg_term(res->term), NULL, "{ok, ~p}", &pid) == 0)
    otpc_sup_start_ok(st, pid);
  else
    otpc_sup_start_error(st, (otpc_term_t){(const uint8_t *)"\x77\x03"
                                                            "bad",
                                           5});
}

static otpc_pid_t g_factory;

static int remote_start(otpc_proc_t *self, otpc_sup_start_t *st, void *arg,
                        otpc_term_t extra) {
  (void)arg;
  (void)extra;
  otpc_buf_t b;
  int rc = otpc_gen_server_call(self, g_factory, tu_term(&b, "new"), 5000,
                                on_factory, st);
  otpc_buf_free(&b);
  return rc;
}

static int failing_start(otpc_proc_t *self, otpc_sup_start_t *st, void *arg,
                         otpc_term_t extra) {
  (void)self;
  (void)st;
  (void)arg;
  (void)extra;
  return OTPC_ENOTSUP;
}

static void test_generic_start(void **state) {
  fx_t *f = *state;
  otpc_gs_result_t res;
  assert_int_equal(
      otpc_gen_server_start_blocking(f->me, &factory, NULL, NULL, &res), 0);
  assert_int_equal(res.status, OTPC_GS_OK);
  g_factory = res.pid;
  static const otpc_child_spec_t ch[] = {
      {.id = "r",
       .start = remote_start,
       .shutdown = OTPC_SHUTDOWN_BRUTAL_KILL}};
  static const otpc_sup_spec_t spec = SPEC(OTPC_ONE_FOR_ONE, 5, 60, ch);
  otpc_pid_t sup = start_sup(f, &spec), p, p2;
  expect_started(f, "stubborn", &p);
  char e[128], x[64];
  snprintf(e, sizeof e, "[{r,%s,worker,dynamic}]", ps(p, x));
  expect_call(f, sup, "which_children", e);
  /* The supervisor linked it: its death is seen and it is restarted. */
  static const uint8_t kill[] = {119, 4, 'k', 'i', 'l', 'l'};
  otpc_exit_signal(f->me, p, (otpc_term_t){kill, sizeof kill});
  expect_started(f, "stubborn", &p2);
  assert_true(log_has("reason: killed"));
  /* A start function's error code is {error, Code}. */
  otpc_child_spec_t bad = {.id = "bad", .start = failing_start};
  assert_int_equal(otpc_sup_start_child_blocking(f->me, sup, &bad, &res), 0);
  char buf[128];
  assert_string_equal(tu_str(res.term, buf, sizeof buf),
                      "{error,{enotsup,bad}}");
  otpc_msg_unref(res.term);
  stop_sup(f, sup);
  otpc_buf_t b;
  assert_int_equal(otpc_gen_server_stop_blocking(
                       f->me, g_factory, tu_term(&b, "normal"), 10000, &res),
                   0);
  otpc_buf_free(&b);
  assert_int_equal(res.status, OTPC_GS_OK);
}

static void test_try_again(void **state) {
  fx_t *f = *state;
  /* Starts 2.. fail: the first restart fails, is tried again through the
   * mailbox, and each try counts toward the intensity. */
  static wk_arg_t a = {.id = "a", .mode = "ok", .fail_from = 2};
  static const otpc_child_spec_t ch[] = {CHILD("a", &a, OTPC_PERMANENT)};
  static const otpc_sup_spec_t spec = SPEC(OTPC_ONE_FOR_ONE, 3, 3600, ch);
  otpc_pid_t sup = start_sup(f, &spec), pa;
  otpc_ref_t mon;
  assert_int_equal(otpc_monitor(f->me, sup, &mon), 0);
  expect_started(f, "a", &pa);
  crash(f, pa, "a", "boom");
  for (int i = 0; i < 3; i++)
    tu_expect(f->me, "{init_failed,a}");
  char r[128];
  assert_string_equal(await_down(f, &mon, r, sizeof r), "shutdown");
  assert_true(log_has("errorContext: start_error"));
  assert_true(log_has("reached_max_restart_intensity"));
}

/* A child whose restarts fail shows `restarting` (which_children,
 * count_children's active, restart_child and delete_child's errors) while
 * the supervisor keeps trying through its mailbox; it comes back once a
 * start succeeds. */
static void test_restarting(void **state) {
  fx_t *f = *state;
  static wk_arg_t a = W("a", "held");
  static const otpc_child_spec_t ch[] = {CHILD("a", &a, OTPC_PERMANENT)};
  static const otpc_sup_spec_t spec = SPEC(OTPC_ONE_FOR_ONE, 1000000, 3600, ch);
  otpc_pid_t sup = start_sup(f, &spec), pa;
  expect_started(f, "a", &pa);
  atomic_store_explicit(&a.held, true, memory_order_release);
  crash(f, pa, "a", "boom");
  /* Every start fails now, so whenever these are served the child is
   * between two tries. */
  expect_call(f, sup, "which_children", "[{a,restarting,worker,[wk]}]");
  expect_call(f, sup, "count_children",
              "[{specs,1},{active,0},{supervisors,0},{workers,1}]");
  expect_call(f, sup, "{restart_child, a}", "{error,restarting}");
  expect_call(f, sup, "{delete_child, a}", "{error,restarting}");
  atomic_store_explicit(&a.held, false, memory_order_release);
  expect_started(f, "a", &pa);
  char e[128], x[64];
  snprintf(e, sizeof e, "[{a,%s,worker,[wk]}]", ps(pa, x));
  expect_call(f, sup, "which_children", e);
  stop_sup(f, sup);
}

static void test_parent_exit(void **state) {
  fx_t *f = *state;
  static wk_arg_t a = W("a", "trap");
  static const otpc_child_spec_t ch[] = {CHILD("a", &a, OTPC_PERMANENT)};
  static const otpc_sup_spec_t spec = {.strategy = OTPC_ONE_FOR_ONE,
                                       .intensity = 5,
                                       .period_s = 60,
                                       .children = ch,
                                       .n_children = 1,
                                       .name = "named_sup"};
  otpc_gs_result_t res;
  otpc_gs_start_opts_t o = {.link = true};
  assert_int_equal(otpc_trap_exit(f->me, true), false);
  assert_int_equal(otpc_sup_start_blocking(f->me, &spec, NULL, &o, &res), 0);
  assert_int_equal(res.status, OTPC_GS_OK);
  otpc_pid_t sup = res.pid, other;
  expect_started(f, "a", NULL);
  assert_int_equal(otpc_whereis(f->rt, tu_atom("named_sup"), &other), 0);
  /* The same name again: already_started. */
  assert_int_equal(otpc_sup_start_blocking(f->me, &spec, NULL, NULL, &res), 0);
  assert_int_equal(res.status, OTPC_GS_ERROR);
  char buf[128], e[128], x[64];
  snprintf(e, sizeof e, "{already_started,%s}", ps(sup, x));
  assert_string_equal(tu_str(res.term, buf, sizeof buf), e);
  otpc_msg_unref(res.term);
  /* The parent's exit signal: terminate the children, exit with it. */
  otpc_buf_t b;
  assert_int_equal(otpc_exit_signal(f->me, sup, tu_term(&b, "going")), 0);
  otpc_buf_free(&b);
  tu_expect(f->me, "{terminated,a,shutdown}");
  snprintf(e, sizeof e, "{'EXIT',%s,going}", ps(sup, x));
  tu_expect(f->me, e);
  otpc_trap_exit(f->me, false);
}

static void test_unexpected_message(void **state) {
  fx_t *f = *state;
  static const otpc_sup_spec_t spec = {
      .strategy = OTPC_ONE_FOR_ONE, .intensity = 1, .period_s = 5};
  otpc_pid_t sup = start_sup(f, &spec);
  tu_send(f->me, sup, tu_msg("hello"));
  expect_call(f, sup, "which_children", "[]");
  assert_true(log_has("Supervisor received unexpected message: hello"));
  /* A huge message makes a log line of bounded length. */
  static uint8_t big[100000];
  memset(big, 'x', sizeof big);
  tu_send(f->me, sup, tu_msg("~b", big, sizeof big));
  expect_call(f, sup, "which_children", "[]");
  assert_true(log_has("Supervisor received unexpected message: <<\"xxx"));
  assert_true(log_has("xxx..."));
  pthread_mutex_lock(&log_lock);
  size_t len = log_len;
  pthread_mutex_unlock(&log_lock);
  assert_true(len < 4000);
  stop_sup(f, sup);
}

int main(void) {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_one_for_one_order_and_restart),
      T(test_one_for_all),
      T(test_rest_for_one),
      T(test_restart_types),
      T(test_intensity_exceeded),
      T(test_intensity_zero),
      T(test_shutdown_timeout_then_kill),
      T(test_brutal_kill),
      T(test_shutdown_infinity),
      T(test_dynamic_api),
      T(test_simple_one_for_one),
      T(test_simple_all_significant),
      T(test_many_dynamic),
      T(test_ignore),
      T(test_failed_start),
      T(test_bad_specs),
      T(test_auto_shutdown),
      T(test_nested),
      T(test_generic_start),
      T(test_try_again),
      T(test_restarting),
      T(test_parent_exit),
      T(test_unexpected_message),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
