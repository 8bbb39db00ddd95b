/* Monitors, as observed on OTP 25: DOWN messages, noproc for a dead pid,
 * {Name, Node} for a monitor by name, demonitor's flush and info. */
#include "rt_fixture.h"

static void expect_down(fx_t *f, const otpc_ref_t *r, const char *who,
                        const char *reason) {
  otpc_msg_t *m = tu_recv_match(f->me, otpc_match_ref, r);
  char buf[256], exp[256], rs[96];
  otpc_buf_t b;
  otpc_term_t t = tu_term(&b, "~r", r);
  otpc_term_snprint(rs, sizeof rs, t);
  otpc_buf_free(&b);
  snprintf(exp, sizeof exp, "{'DOWN',%s,process,%s,%s}", rs, who, reason);
  assert_string_equal(tu_str(m, buf, sizeof buf), exp);
  otpc_msg_unref(m);
}

static void test_monitor_dead_pid(void **state) {
  fx_t *f = *state;
  otpc_pid_t d = dead_pid(f);
  otpc_ref_t r;
  assert_int_equal(otpc_monitor(f->me, d, &r), 0);
  char p[64];
  expect_down(f, &r, ps(d, p), "noproc");
}

static void test_monitor_exit_reason(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  otpc_ref_t r;
  assert_int_equal(otpc_monitor(f->me, a, &r), 0);
  tu_send(f->me, a, tu_msg("{exit, {shutdown, boom}}"));
  char p[64];
  expect_down(f, &r, ps(a, p), "{shutdown,boom}");
  /* kill gives killed. */
  a = tu_agent(f->rt, f->me, true);
  assert_int_equal(otpc_monitor(f->me, a, &r), 0);
  otpc_buf_t b;
  otpc_rt_exit_signal(f->rt, a, tu_term(&b, "kill"));
  otpc_buf_free(&b);
  expect_down(f, &r, ps(a, p), "killed");
}

static void test_monitor_name(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  assert_int_equal(otpc_register(f->rt, tu_atom("foo"), a), 0);
  otpc_ref_t r;
  assert_int_equal(otpc_monitor_name(f->me, tu_atom("foo"), &r), 0);
  tu_send(f->me, a, tu_msg("{exit, bye}"));
  expect_down(f, &r, "{foo,nonode@nohost}", "bye");
  assert_int_equal(otpc_monitor_name(f->me, tu_atom("nosuch"), &r), 0);
  expect_down(f, &r, "{nosuch,nonode@nohost}", "noproc");
}

/* demonitor(R, [flush, info]) of a triggered monitor: false, and the DOWN
 * already queued is gone. */
static void test_demonitor_flush(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  otpc_ref_t r, r2;
  assert_int_equal(otpc_monitor(f->me, a, &r), 0);
  assert_int_equal(otpc_monitor(f->me, a, &r2), 0);
  tu_send(f->me, a, tu_msg("{exit, normal}"));
  /* The second DOWN comes after the first: once it is here, so is the
   * first, queued. */
  char p[64];
  expect_down(f, &r2, ps(a, p), "normal");
  assert_int_equal(
      otpc_demonitor(f->me, &r, OTPC_DEMONITOR_FLUSH | OTPC_DEMONITOR_INFO), 0);
  tu_expect_empty(f->me);
}

static void test_demonitor_info(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  otpc_ref_t r;
  assert_int_equal(otpc_monitor(f->me, a, &r), 0);
  assert_int_equal(otpc_demonitor(f->me, &r, OTPC_DEMONITOR_INFO), 1);
  assert_int_equal(otpc_demonitor(f->me, &r, OTPC_DEMONITOR_INFO), 0);
  /* Triggered, not flushed: false, and the DOWN stays. */
  otpc_ref_t r1, r2;
  assert_int_equal(otpc_monitor(f->me, a, &r1), 0);
  assert_int_equal(otpc_monitor(f->me, a, &r2), 0);
  tu_send(f->me, a, tu_msg("{exit, normal}"));
  char p[64];
  expect_down(f, &r2, ps(a, p), "normal");
  assert_int_equal(otpc_demonitor(f->me, &r1, OTPC_DEMONITOR_INFO), 0);
  expect_down(f, &r1, p, "normal");
  /* The target's table shrinks with demonitor. */
  otpc_pid_t b = tu_agent(f->rt, f->me, false);
  assert_int_equal(otpc_monitor(f->me, b, &r), 0);
  char out[64];
  tu_cmd(f->me, b, tu_msg("ping"), out, 64);
  otpc_proc_info_t info;
  assert_int_equal(otpc_proc_info(f->rt, b, &info), 0);
  assert_int_equal(info.monitored_by, 1);
  otpc_demonitor(f->me, &r, 0);
  tu_cmd(f->me, b, tu_msg("ping"), out, 64);
  assert_int_equal(otpc_proc_info(f->rt, b, &info), 0);
  assert_int_equal(info.monitored_by, 0);
}

/* OTP 25: monitor(process, self()) creates no monitor. */
static void test_monitor_self(void **state) {
  fx_t *f = *state;
  otpc_ref_t r;
  assert_int_equal(otpc_monitor(f->me, f->mepid, &r), 0);
  assert_int_equal(otpc_demonitor(f->me, &r, OTPC_DEMONITOR_INFO), 0);
}

/* After demonitor returns, no DOWN of that monitor arrives. */
static void test_demonitor_race(void **state) {
  fx_t *f = *state;
  for (int i = 0; i < 300; i++) {
    otpc_pid_t a = tu_agent(f->rt, f->me, false);
    otpc_ref_t r, r2;
    otpc_monitor(f->me, a, &r);
    tu_send(f->me, a, tu_msg("{exit, normal}"));
    otpc_demonitor(f->me, &r, 0);
    otpc_monitor(f->me, a, &r2);
    otpc_msg_unref(tu_recv_match(f->me, otpc_match_ref, &r2));
    tu_expect_empty(f->me);
  }
}

static void test_spawn_monitor_opt(void **state) {
  fx_t *f = *state;
  otpc_ref_t r;
  otpc_spawn_opts_t o;
  memset(&o, 0, sizeof o);
  o.monitor = true;
  o.monitor_ref = &r;
  tu_ctl = f->mepid;
  otpc_pid_t a;
  assert_int_equal(otpc_spawn(f->me, &agent_class, &tu_ctl, &o, &a), 0);
  tu_send(f->me, a, tu_msg("{exit, x}"));
  char p[64];
  expect_down(f, &r, ps(a, p), "x");
  /* With a name already taken the spawn fails and nothing runs. */
  otpc_pid_t b = tu_agent(f->rt, f->me, false);
  assert_int_equal(otpc_register(f->rt, tu_atom("taken"), b), 0);
  memset(&o, 0, sizeof o);
  o.name = "taken";
  assert_int_equal(otpc_spawn(f->me, &agent_class, &tu_ctl, &o, &a),
                   OTPC_EINVAL);
}

/* A monitor whose target was killed while the holder also exits. */
static void test_mutual_monitors_exit(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  otpc_pid_t b = tu_agent(f->rt, f->me, false);
  char out[64];
  tu_cmd(f->me, a, tu_msg("{monitor, ~p}", &b), out, 64);
  tu_cmd(f->me, b, tu_msg("{monitor, ~p}", &a), out, 64);
  otpc_ref_t ra, rb;
  otpc_monitor(f->me, a, &ra);
  otpc_monitor(f->me, b, &rb);
  tu_send(f->me, a, tu_msg("{exit, x}"));
  tu_send(f->me, b, tu_msg("{exit, y}"));
  char p[64];
  expect_down(f, &ra, ps(a, p), "x");
  expect_down(f, &rb, ps(b, p), "y");
  /* b may have got a's DOWN (forwarded as {got, ...}) before it exited. */
  otpc_msg_t *m = NULL;
  while (otpc_thread_receive(f->me, NULL, NULL, 0, &m) == 0)
    otpc_msg_unref(m);
}

/* Several monitors on one process: the DOWNs come in the order the
 * monitors were made (the BEAM is consistent about it). */
static void test_downs_in_creation_order(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  enum { N = 24 };
  otpc_ref_t r[N];
  for (int i = 0; i < N; i++)
    assert_int_equal(otpc_monitor(f->me, a, &r[i]), 0);
  tu_send(f->me, a, tu_msg("{exit, twice}"));
  char p[64];
  for (int i = 0; i < N; i++) {
    otpc_msg_t *m = tu_recv(f->me);
    otpc_ref_t got;
    assert_int_equal(otpc_term_match(otpc_msg_term(m), NULL,
                                     "{'DOWN', ~r, process, _, twice}", &got),
                     0);
    otpc_msg_unref(m);
    assert_true(memcmp(&got, &r[i], sizeof got) == 0);
  }
  (void)p;
}

int main(void) {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_monitor_dead_pid),     T(test_monitor_exit_reason),
      T(test_monitor_name),         T(test_demonitor_flush),
      T(test_demonitor_info),       T(test_monitor_self),
      T(test_demonitor_race),       T(test_spawn_monitor_opt),
      T(test_mutual_monitors_exit), T(test_downs_in_creation_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
