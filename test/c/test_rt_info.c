/* Introspection: otpc_proc_info and otpc_processes. */
#include "rt_fixture.h"

/* A process that only waits with otpc_receive: messages stay queued. */
static void q_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  (void)state;
  (void)arg;
}

static const otpc_proc_class_t q_class = {"queue", 64, q_init, NULL, NULL};

static void test_info(void **state) {
  fx_t *f = *state;
  otpc_pid_t q;
  assert_int_equal(otpc_rt_spawn(f->rt, &q_class, NULL, NULL, &q), 0);
  for (int i = 0; i < 10; i++)
    tu_send(f->me, q, tu_msg("{pending, ~i}", i));
  /* The mailbox fills asynchronously: the owner moves signals into its
   * queue when it runs, and the monitor is recorded on the target at once,
   * before the owner has run. Poll until both show (no sleeping): the ten
   * messages must all arrive, so the loop ends. */
  otpc_ref_t r;
  otpc_monitor(f->me, q, &r);
  otpc_proc_info_t info;
  for (;;) {
    assert_int_equal(otpc_proc_info(f->rt, q, &info), 0);
    if (info.monitored_by == 1 && info.message_queue_len == 10)
      break;
  }
  assert_string_equal(info.class_name, "queue");
  assert_int_equal(info.message_queue_len, 10);
  assert_true(info.memory >= 64 + 10 * 10);
  assert_int_equal(info.registered_name, OTPC_ATOM_NONE);
  assert_false(info.trap_exit);
  assert_int_equal(info.links, 0);
  assert_int_equal(info.messages_handled, 0);
  otpc_demonitor(f->me, &r, 0);

  otpc_pid_t a = tu_agent(f->rt, f->me, true);
  char out[64];
  tu_cmd(f->me, a, tu_msg("{link, ~p}", &q), out, 64);
  /* The reply leaves before the callback returns: wait for it to settle
   * (nothing else is sent to a, so it must). */
  do
    assert_int_equal(otpc_proc_info(f->rt, a, &info), 0);
  while (info.status != OTPC_PROC_WAITING);
  assert_true(info.trap_exit);
  assert_int_equal(info.links, 1);
  assert_int_equal(info.messages_handled, 2);
  assert_int_equal(otpc_proc_info(f->rt, f->mepid, &info), 0);
  assert_string_equal(info.class_name, "thread");

  otpc_pid_t *pids;
  size_t n;
  assert_int_equal(otpc_processes(f->rt, &pids, &n), 0);
  assert_int_equal(n, 3); /* me, q, a */
  free(pids);

  otpc_pid_t d = dead_pid(f);
  assert_int_equal(otpc_proc_info(f->rt, d, &info), OTPC_ENOTFOUND);
  /* a is linked to q: killing q takes a's link down too. */
  otpc_buf_t b;
  otpc_rt_exit_signal(f->rt, q, tu_term(&b, "kill"));
  otpc_buf_free(&b);
  char exp[256], p[64];
  snprintf(exp, sizeof exp, "{got,%s,{'EXIT',%s,killed}}", ps(a, p),
           tu_pidstr(q, out, sizeof out));
  tu_expect(f->me, exp);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_info, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
