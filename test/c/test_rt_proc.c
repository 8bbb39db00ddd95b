/* Process lifecycle: spawn, init, handle, send, exit, terminate, crash
 * reports, spawn options, budgets and yields. */
#include "rt_test_util.h"

static void test_spawn_send_receive(void **state) {
  (void)state;
  otpc_rt_t *rt = tu_start(2);
  otpc_proc_t *me;
  assert_int_equal(otpc_thread_attach(rt, &me), 0);
  otpc_pid_t a = tu_agent(rt, me, false);
  tu_send(me, a, tu_msg("{hello, 1}"));
  char buf[256], p[64];
  snprintf(buf, sizeof buf, "{got,%s,{hello,1}}", tu_pidstr(a, p, sizeof p));
  tu_expect(me, buf);
  otpc_thread_detach(me, (otpc_term_t){0});
  assert_int_equal(otpc_rt_stop(rt), 0);
}

/* A class that records terminate and crashes on command. */
typedef struct cr {
  otpc_pid_t ctl;
} cr_t;

static void cr_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  ((cr_t *)state)->ctl = *(otpc_pid_t *)arg;
}

static void cr_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)state;
  otpc_term_t t = otpc_msg_term(msg);
  int n;
  if (otpc_term_match(t, NULL, "{crash, ~i}", &n) == 0)
    otpc_exitf(self, "{bad, ~i}", n);
  if (otpc_term_is_atom(t, "check") == 1)
    OTPC_CHECK(self, 1 + 1 == 3);
  if (otpc_term_is_atom(t, "quiet") == 1)
    otpc_exitf(self, "{shutdown, x}");
}

static void cr_terminate(otpc_proc_t *self, void *state, otpc_term_t reason) {
  otpc_sendf(self, ((cr_t *)state)->ctl, "{terminated, ~t}", &reason);
}

static const otpc_proc_class_t cr_class = {"crasher", sizeof(cr_t), cr_init,
                                           cr_handle, cr_terminate};

static void test_crash_report(void **state) {
  (void)state;
  otpc_rt_t *rt = tu_start(2);
  otpc_proc_t *me;
  assert_int_equal(otpc_thread_attach(rt, &me), 0);
  otpc_pid_t mp = otpc_self(me), p;
  otpc_spawn_opts_t o;
  memset(&o, 0, sizeof o);
  o.name = "crasher1";
  assert_int_equal(otpc_rt_spawn(rt, &cr_class, &mp, &o, &p), 0);
  tu_send(me, p, tu_msg("{crash, 42}"));
  tu_expect(me, "{terminated,{bad,42}}");
  pthread_mutex_lock(&tu_log_lock);
  assert_int_equal(tu_log_count, 1);
  assert_non_null(strstr(tu_log_text, "class crasher"));
  assert_non_null(strstr(tu_log_text, "registered as crasher1"));
  assert_non_null(strstr(tu_log_text, "last message: {crash,42}"));
  assert_non_null(strstr(tu_log_text, "reason: {bad,42}"));
  pthread_mutex_unlock(&tu_log_lock);
  assert_int_equal(otpc_rt_spawn(rt, &cr_class, &mp, NULL, &p), 0);
  tu_send(me, p, tu_msg("check"));
  otpc_msg_t *m = tu_recv(me);
  char buf[512];
  assert_non_null(strstr(tu_str(m, buf, sizeof buf),
                         "{terminated,{check_failed,\"1 + 1 == 3\","));
  otpc_msg_unref(m);
  /* {shutdown, _} is no crash: no report. */
  assert_int_equal(otpc_rt_spawn(rt, &cr_class, &mp, NULL, &p), 0);
  tu_send(me, p, tu_msg("quiet"));
  tu_expect(me, "{terminated,{shutdown,x}}");
  pthread_mutex_lock(&tu_log_lock);
  assert_int_equal(tu_log_count, 2);
  pthread_mutex_unlock(&tu_log_lock);
  /* rt_stop: terminate runs with shutdown; killed ones too. */
  assert_int_equal(otpc_rt_spawn(rt, &cr_class, &mp, NULL, &p), 0);
  otpc_buf_t b;
  otpc_rt_exit_signal(rt, p, tu_term(&b, "kill"));
  otpc_buf_free(&b);
  tu_expect(me, "{terminated,killed}");
  otpc_thread_detach(me, (otpc_term_t){0});
  assert_int_equal(otpc_rt_stop(rt), 0);
}

/* A process that never stops sending to itself does not starve another
 * on the same scheduler. */
typedef struct spin {
  otpc_pid_t ctl;
  long n;
} spin_t;

static void spin_init(otpc_proc_t *self, void *state, void *arg) {
  spin_t *s = state;
  s->ctl = *(otpc_pid_t *)arg;
  otpc_sendf(self, otpc_self(self), "go");
}

static void spin_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  spin_t *s = state;
  if (otpc_term_is_atom(otpc_msg_term(msg), "go") == 1) {
    s->n++;
    otpc_send(self, otpc_self(self), msg);
  } else {
    otpc_sendf(self, s->ctl, "alive");
  }
}

static const otpc_proc_class_t spin_class = {"spin", sizeof(spin_t), spin_init,
                                             spin_handle, NULL};

static void test_fairness(void **state) {
  (void)state;
  otpc_rt_t *rt = tu_start(1);
  otpc_proc_t *me;
  assert_int_equal(otpc_thread_attach(rt, &me), 0);
  otpc_pid_t mp = otpc_self(me), s1, s2;
  assert_int_equal(otpc_rt_spawn(rt, &spin_class, &mp, NULL, &s1), 0);
  assert_int_equal(otpc_rt_spawn(rt, &spin_class, &mp, NULL, &s2), 0);
  for (int i = 0; i < 100; i++) {
    tu_send(me, s2, tu_msg("poke"));
    tu_expect(me, "alive");
  }
  otpc_thread_detach(me, (otpc_term_t){0});
  assert_int_equal(otpc_rt_stop(rt), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spawn_send_receive),
      cmocka_unit_test(test_crash_report),
      cmocka_unit_test(test_fairness),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
