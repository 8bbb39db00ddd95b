/* Thread processes: attach/detach, blocking receive with timeouts, exit
 * signals that end them, otpc_spawn_thread, and stop with threads still
 * receiving. */
#include "rt_fixture.h"

/* Echoes every message back to the sender named in {From, Msg}; ends on
 * `stop` with otpc_exit(bye), or when killed. */
static void echo_thread(otpc_proc_t *self, void *arg) {
  (void)arg;
  for (;;) {
    otpc_msg_t *m = NULL;
    int rc = otpc_thread_receive(self, NULL, NULL, -1, &m);
    if (rc == OTPC_EINVAL) { /* killed: m is the reason */
      otpc_msg_unref(m);
      return;
    }
    assert_int_equal(rc, 0);
    otpc_pid_t from;
    otpc_term_t x;
    if (otpc_term_match(otpc_msg_term(m), NULL, "{~p, ~t}", &from, &x) == 0)
      otpc_sendf(self, from, "{echo, ~t}", &x);
    bool stop = otpc_term_is_atom(otpc_msg_term(m), "stop") == 1;
    otpc_msg_unref(m);
    if (stop) {
      /* A static encoding: nothing on this stack is lost by unwinding. */
      static const uint8_t bye[] = {119, 3, 'b', 'y', 'e'};
      otpc_exit(self, (otpc_term_t){bye, sizeof bye});
    }
  }
}

static void test_spawn_thread_echo(void **state) {
  fx_t *f = *state;
  otpc_pid_t t;
  assert_int_equal(otpc_spawn_thread(f->rt, echo_thread, NULL, &t), 0);
  tu_send(f->me, t, tu_msg("{~p, hello}", &f->mepid));
  tu_expect(f->me, "{echo,hello}");
  otpc_ref_t r;
  otpc_monitor(f->me, t, &r);
  tu_send(f->me, t, tu_msg("stop"));
  otpc_msg_t *m = tu_recv_match(f->me, otpc_match_ref, &r);
  char buf[256];
  assert_non_null(strstr(tu_str(m, buf, sizeof buf), ",bye}"));
  otpc_msg_unref(m);
}

static void test_thread_killed(void **state) {
  fx_t *f = *state;
  otpc_pid_t t;
  assert_int_equal(otpc_spawn_thread(f->rt, echo_thread, NULL, &t), 0);
  otpc_trap_exit(f->me, true);
  assert_int_equal(otpc_link(f->me, t), 0);
  otpc_buf_t b;
  otpc_rt_exit_signal(f->rt, t, tu_term(&b, "boom"));
  otpc_buf_free(&b);
  char exp[128], p[64];
  snprintf(exp, sizeof exp, "{'EXIT',%s,boom}", ps(t, p));
  tu_expect(f->me, exp);
}

static void test_attach_receive_timeout(void **state) {
  fx_t *f = *state;
  otpc_msg_t *m = NULL;
  assert_int_equal(otpc_thread_receive(f->me, NULL, NULL, 20, &m),
                   OTPC_ENOTFOUND);
  assert_null(m);
  /* A second attached thread process, killed: receive reports it. */
  otpc_proc_t *other;
  assert_int_equal(otpc_thread_attach(f->rt, &other), 0);
  otpc_buf_t b;
  otpc_exit_signal(f->me, otpc_self(other), tu_term(&b, "kill"));
  otpc_buf_free(&b);
  assert_int_equal(otpc_thread_receive(other, NULL, NULL, -1, &m), OTPC_EINVAL);
  char buf[64];
  assert_string_equal(tu_str(m, buf, sizeof buf), "killed");
  otpc_msg_unref(m);
  /* Dead now: receive keeps saying so; detach frees. */
  assert_int_equal(otpc_thread_receive(other, NULL, NULL, -1, &m), OTPC_EINVAL);
  otpc_msg_unref(m);
  otpc_thread_detach(other, (otpc_term_t){0});
}

/* Detach with a reason is an exit with that reason. */
static void test_detach_reason(void **state) {
  fx_t *f = *state;
  otpc_proc_t *other;
  assert_int_equal(otpc_thread_attach(f->rt, &other), 0);
  otpc_ref_t r;
  otpc_monitor(f->me, otpc_self(other), &r);
  otpc_buf_t b;
  otpc_thread_detach(other, tu_term(&b, "{shutdown, done}"));
  otpc_buf_free(&b);
  otpc_msg_t *m = tu_recv_match(f->me, otpc_match_ref, &r);
  char buf[256];
  assert_non_null(strstr(tu_str(m, buf, sizeof buf), ",{shutdown,done}}"));
  otpc_msg_unref(m);
}

static void test_thread_pingpong(void **state) {
  fx_t *f = *state;
  otpc_pid_t t;
  assert_int_equal(otpc_spawn_thread(f->rt, echo_thread, NULL, &t), 0);
  for (int i = 0; i < 2000; i++) {
    tu_send(f->me, t, tu_msg("{~p, ~i}", &f->mepid, i));
    otpc_msg_t *m = tu_recv(f->me);
    int v;
    assert_int_equal(otpc_term_match(otpc_msg_term(m), NULL, "{echo, ~i}", &v),
                     0);
    assert_int_equal(v, i);
    otpc_msg_unref(m);
  }
  /* Left running: rt_stop's shutdown ends it (its receive says so). */
}

int main(void) {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_spawn_thread_echo),      T(test_thread_killed),
      T(test_attach_receive_timeout), T(test_detach_reason),
      T(test_thread_pingpong),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
