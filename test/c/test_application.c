/* application: dependency order on start, reverse order on stop (seen by
 * the children of each top supervisor), environments, OTP's errors
 * (not_started, already_started, not loaded, cycles), and the rollback of
 * ensure_all_started when a tree fails to start. */
#include "rt_test_util.h"

#include "otpc/application.h"

typedef struct fx {
  otpc_rt_t *rt;
  otpc_proc_t *me;
  otpc_app_ctl_t *ctl;
} fx_t;

static otpc_pid_t g_ctl;

static int setup(void **state) {
  fx_t *f = calloc(1, sizeof *f);
  f->rt = tu_start(2);
  assert_int_equal(otpc_thread_attach(f->rt, &f->me), 0);
  g_ctl = otpc_self(f->me);
  assert_int_equal(otpc_app_ctl_new(f->rt, &f->ctl), 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_t *f = *state;
  otpc_app_ctl_free(f->ctl, f->me);
  tu_expect_empty(f->me);
  otpc_thread_detach(f->me, (otpc_term_t){0});
  assert_int_equal(otpc_rt_stop(f->rt), 0);
  free(f);
  return 0;
}

/* A worker that reports its start and its terminate (it traps exits, so
 * the supervisor's shutdown runs terminate). arg: its id, or "fail". */
typedef struct wk {
  const char *id;
} wk_t;

static void wk_init(otpc_gs_t *gs, void *state, void *arg) {
  wk_t *w = state;
  w->id = arg;
  otpc_proc_t *self = otpc_gs_proc(gs);
  if (strcmp(w->id, "fail") == 0) {
    otpc_sendf(self, g_ctl, "init_failed");
    otpc_gs_stopf(gs, "no_way");
    return;
  }
  otpc_trap_exit(self, true);
  otpc_sendf(self, g_ctl, "{started, ~a}", w->id);
}

static void wk_terminate(otpc_gs_t *gs, void *state, otpc_term_t reason) {
  wk_t *w = state;
  otpc_sendf(otpc_gs_proc(gs), g_ctl, "{terminated, ~a, ~t}", w->id, &reason);
}

static const otpc_gen_server_t wk = {.name = "wk",
                                     .state_size = sizeof(wk_t),
                                     .init = wk_init,
                                     .terminate = wk_terminate};

#define W(ID)                                                                  \
  { .id = ID, .gen_server = &wk, .arg = ID }

static const otpc_child_spec_t db_ch[] = {W("db_w")};
static const otpc_sup_spec_t db_sup = {.strategy = OTPC_ONE_FOR_ONE,
                                       .intensity = 1,
                                       .period_s = 5,
                                       .children = db_ch,
                                       .n_children = 1};
static const otpc_child_spec_t web_ch[] = {W("web_w1"), W("web_w2")};
static const otpc_sup_spec_t web_sup = {.strategy = OTPC_ONE_FOR_ONE,
                                        .intensity = 1,
                                        .period_s = 5,
                                        .children = web_ch,
                                        .n_children = 2};
static const otpc_child_spec_t bad_ch[] = {W("fail")};
static const otpc_sup_spec_t bad_sup = {.strategy = OTPC_ONE_FOR_ONE,
                                        .intensity = 1,
                                        .period_s = 5,
                                        .children = bad_ch,
                                        .n_children = 1};

static const otpc_app_env_t base_env[] = {{"port", "8080"},
                                          {"dir", "<<\"/tmp\">>"}};
static const char *const db_deps[] = {"base"};
static const char *const web_deps[] = {"base", "db"};
static const char *const bad_deps[] = {"db"};

static const otpc_app_spec_t base = {
    .name = "base", .env = base_env, .n_env = 2};
static const otpc_app_spec_t db = {
    .name = "db", .deps = db_deps, .n_deps = 1, .sup = &db_sup};
static const otpc_app_spec_t web = {
    .name = "web", .deps = web_deps, .n_deps = 2, .sup = &web_sup};
static const otpc_app_spec_t bad = {
    .name = "bad", .deps = bad_deps, .n_deps = 1, .sup = &bad_sup};

static void load_all(fx_t *f) {
  otpc_err_t err;
  assert_int_equal(otpc_app_load(f->ctl, &web, &err), 0);
  assert_int_equal(otpc_app_load(f->ctl, &db, &err), 0);
  assert_int_equal(otpc_app_load(f->ctl, &base, &err), 0);
  assert_int_equal(otpc_app_load(f->ctl, &bad, &err), 0);
}

static void expect_which(fx_t *f, const char *want) {
  const char *names[8];
  int n = otpc_app_which(f->ctl, names, 8);
  char got[128] = "";
  for (int i = 0; i < n; i++) {
    strcat(got, i ? "," : "");
    strcat(got, names[i]);
  }
  assert_string_equal(got, want);
}

static void test_dependency_order(void **state) {
  fx_t *f = *state;
  load_all(f);
  otpc_err_t err;
  assert_int_equal(otpc_app_ensure_all_started(f->ctl, f->me, "web", &err), 0);
  tu_expect(f->me, "{started,db_w}");
  tu_expect(f->me, "{started,web_w1}");
  tu_expect(f->me, "{started,web_w2}");
  expect_which(f, "base,db,web");
  otpc_pid_t sup;
  assert_int_equal(otpc_app_sup(f->ctl, "web", &sup), 0);
  assert_int_equal(otpc_app_sup(f->ctl, "base", &sup), OTPC_ENOTFOUND);
  /* Already running: nothing to do. */
  assert_int_equal(otpc_app_ensure_all_started(f->ctl, f->me, "web", &err), 0);
  assert_int_equal(otpc_app_stop_all(f->ctl, f->me), 0);
  tu_expect(f->me, "{terminated,web_w2,shutdown}");
  tu_expect(f->me, "{terminated,web_w1,shutdown}");
  tu_expect(f->me, "{terminated,db_w,shutdown}");
  expect_which(f, "");
}

static void test_start_errors(void **state) {
  fx_t *f = *state;
  load_all(f);
  otpc_err_t err;
  assert_int_equal(otpc_app_start(f->ctl, f->me, "web", &err), OTPC_ENOTFOUND);
  assert_string_equal(err.msg, "{not_started, base}");
  assert_int_equal(otpc_app_start(f->ctl, f->me, "nope", &err), OTPC_ENOTFOUND);
  assert_string_equal(err.msg, "{not_loaded, nope}");
  assert_int_equal(otpc_app_start(f->ctl, f->me, "base", &err), 0);
  assert_int_equal(otpc_app_start(f->ctl, f->me, "base", &err), OTPC_EINVAL);
  assert_string_equal(err.msg, "{already_started, base}");
  assert_int_equal(otpc_app_start(f->ctl, f->me, "db", &err), 0);
  tu_expect(f->me, "{started,db_w}");
  /* Stopping a dependency leaves the others running, as OTP. */
  assert_int_equal(otpc_app_stop(f->ctl, f->me, "base"), 0);
  assert_int_equal(otpc_app_stop(f->ctl, f->me, "base"), OTPC_ENOTFOUND);
  expect_which(f, "db");
  assert_int_equal(otpc_app_load(f->ctl, &db, &err), OTPC_EINVAL);
  assert_string_equal(err.msg, "{already_loaded, db}");
  assert_int_equal(otpc_app_stop(f->ctl, f->me, "db"), 0);
  tu_expect(f->me, "{terminated,db_w,shutdown}");
}

static void test_rollback(void **state) {
  fx_t *f = *state;
  load_all(f);
  otpc_err_t err;
  assert_int_equal(otpc_app_ensure_all_started(f->ctl, f->me, "bad", &err),
                   OTPC_EINVAL);
  assert_string_equal(err.msg,
                      "{bad, {shutdown,{failed_to_start_child,fail,no_way}}}");
  tu_expect(f->me, "{started,db_w}");
  tu_expect(f->me, "init_failed");
  tu_expect(f->me, "{terminated,db_w,shutdown}");
  expect_which(f, "");
}

static void test_cycle(void **state) {
  fx_t *f = *state;
  static const char *const a_deps[] = {"cb"}, *const b_deps[] = {"ca"};
  static const otpc_app_spec_t ca = {.name = "ca", .deps = a_deps, .n_deps = 1},
                               cb = {.name = "cb", .deps = b_deps, .n_deps = 1};
  otpc_err_t err;
  assert_int_equal(otpc_app_load(f->ctl, &ca, &err), 0);
  assert_int_equal(otpc_app_load(f->ctl, &cb, &err), 0);
  assert_int_equal(otpc_app_ensure_all_started(f->ctl, f->me, "ca", &err),
                   OTPC_EINVAL);
  assert_string_equal(err.msg, "{circular_dependencies, ca}");
  expect_which(f, "");
}

static void test_env(void **state) {
  fx_t *f = *state;
  load_all(f);
  otpc_msg_t *v;
  char buf[64];
  assert_int_equal(otpc_app_get_env(f->ctl, "base", "port", &v), 0);
  assert_string_equal(tu_str(v, buf, sizeof buf), "8080");
  otpc_msg_unref(v);
  assert_int_equal(otpc_app_get_env(f->ctl, "base", "dir", &v), 0);
  assert_string_equal(tu_str(v, buf, sizeof buf), "<<\"/tmp\">>");
  otpc_msg_unref(v);
  assert_int_equal(otpc_app_get_env(f->ctl, "base", "nokey", &v),
                   OTPC_ENOTFOUND);
  assert_int_equal(otpc_app_get_env(f->ctl, "noapp", "port", &v),
                   OTPC_ENOTFOUND);
  otpc_buf_t b;
  assert_int_equal(
      otpc_app_set_env(f->ctl, "base", "port", tu_term(&b, "{tcp, 9090}")), 0);
  otpc_buf_free(&b);
  assert_int_equal(otpc_app_get_env(f->ctl, "base", "port", &v), 0);
  assert_string_equal(tu_str(v, buf, sizeof buf), "{tcp,9090}");
  otpc_msg_unref(v);
  /* Bad values are refused with the entry named. */
  static const otpc_app_env_t bad1[] = {{"k", "{unclosed"}},
                              bad2[] = {{"k", "~p"}};
  static const otpc_app_spec_t e1 = {.name = "e1", .env = bad1, .n_env = 1},
                               e2 = {.name = "e2", .env = bad2, .n_env = 1};
  otpc_err_t err;
  assert_int_equal(otpc_app_load(f->ctl, &e1, &err), OTPC_EINVAL);
  assert_non_null(strstr(err.msg, "{bad_env_value, k}"));
  assert_int_equal(otpc_app_load(f->ctl, &e2, &err), OTPC_EINVAL);
  assert_string_equal(err.msg, "{bad_env_value, k}");
}

int main(void) {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_dependency_order),
      T(test_start_errors),
      T(test_rollback),
      T(test_cycle),
      T(test_env),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
