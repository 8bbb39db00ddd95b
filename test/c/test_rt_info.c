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

/* A gate that holds a process inside its callback, so what is sent to it
 * meanwhile stays in its inbox, not yet moved to its queue. */
static pthread_mutex_t gate_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cv = PTHREAD_COND_INITIALIZER;
static bool gate_open;

static void gate_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  otpc_pid_t *ctl = state;
  otpc_term_t t = otpc_msg_term(msg);
  if (otpc_term_match(t, NULL, "{block, ~p}", ctl) == 0) {
    otpc_sendf(self, *ctl, "blocked");
    pthread_mutex_lock(&gate_mu);
    while (!gate_open)
      pthread_cond_wait(&gate_cv, &gate_mu);
    pthread_mutex_unlock(&gate_mu);
  } else if (otpc_term_is_atom(t, "last") == 1) {
    otpc_sendf(self, *ctl, "drained");
  }
}

static const otpc_proc_class_t gate_class = {"gate", sizeof(otpc_pid_t), NULL,
                                             gate_handle, NULL};

/* message_queue_len counts what was sent and not yet received, as
 * process_info's does, whether the owner has moved it from its inbox yet or
 * not. The process is held inside a callback, so the five messages are all
 * in its inbox when asked: before, it showed 0. */
static void test_queue_len_counts_inbox(void **state) {
  fx_t *f = *state;
  gate_open = false;
  otpc_pid_t g;
  assert_int_equal(otpc_rt_spawn(f->rt, &gate_class, NULL, NULL, &g), 0);
  tu_send(f->me, g, tu_msg("{block, ~p}", &f->mepid));
  tu_expect(f->me, "blocked");
  otpc_proc_info_t info;
  assert_int_equal(otpc_proc_info(f->rt, g, &info), 0);
  assert_int_equal(info.message_queue_len, 0);
  for (int i = 0; i < 4; i++)
    tu_send(f->me, g, tu_msg("{m, ~i}", i));
  tu_send(f->me, g, tu_msg("last"));
  assert_int_equal(otpc_proc_info(f->rt, g, &info), 0);
  assert_int_equal(info.message_queue_len, 5);
  assert_int_equal(info.messages_handled, 0);
  pthread_mutex_lock(&gate_mu);
  gate_open = true;
  pthread_cond_broadcast(&gate_cv);
  pthread_mutex_unlock(&gate_mu);
  tu_expect(f->me, "drained");
  /* "drained" leaves from inside the last callback: wait for it to end. */
  do
    assert_int_equal(otpc_proc_info(f->rt, g, &info), 0);
  while (info.status != OTPC_PROC_WAITING);
  assert_int_equal(info.message_queue_len, 0);
  assert_int_equal(info.messages_handled, 6);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_info, setup, teardown),
      cmocka_unit_test_setup_teardown(test_queue_len_counts_inbox, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
