/* Timers: send_after from any thread and from processes, cancel_timer
 * with the time left, many timers at once. */
#include "rt_fixture.h"

static void test_send_after_and_cancel(void **state) {
  fx_t *f = *state;
  otpc_msg_t *m = tu_msg("{tick, 1}");
  otpc_ref_t t1, t2;
  assert_int_equal(otpc_send_after(f->rt, 20, f->mepid, m, &t1), 0);
  assert_int_equal(otpc_send_after(f->rt, 100000, f->mepid, m, &t2), 0);
  otpc_msg_unref(m);
  tu_expect(f->me, "{tick,1}");
  uint64_t left = 0;
  assert_int_equal(otpc_cancel_timer(f->rt, &t1, &left), OTPC_ENOTFOUND);
  assert_int_equal(otpc_cancel_timer(f->rt, &t2, &left), 0);
  assert_true(left > 90000 && left <= 100000);
  assert_int_equal(otpc_cancel_timer(f->rt, &t2, &left), OTPC_ENOTFOUND);
}

/* Timers fire in expiry order (one scheduler's wheel), all of them. */
static void test_many(void **state) {
  fx_t *f = *state;
  enum { N = 2000 };
  for (int i = 0; i < N; i++) {
    otpc_msg_t *m = tu_msg("~i", i);
    assert_int_equal(
        otpc_send_after(f->rt, (uint64_t)(i % 40), f->mepid, m, NULL), 0);
    otpc_msg_unref(m);
  }
  static char seen[N];
  memset(seen, 0, sizeof seen);
  for (int i = 0; i < N; i++) {
    otpc_msg_t *m = tu_recv(f->me);
    int64_t v;
    assert_int_equal(otpc_term_int64(otpc_msg_term(m), &v), 0);
    assert_false(seen[v]);
    seen[v] = 1;
    otpc_msg_unref(m);
  }
}

/* A timer set from a process (on its scheduler's own wheel), cancelled
 * there too; timers still pending at stop are freed. */
typedef struct tp {
  otpc_pid_t ctl;
  otpc_ref_t tref;
} tp_t;

static void tp_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  ((tp_t *)state)->ctl = *(otpc_pid_t *)arg;
}

static void tp_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  tp_t *s = state;
  otpc_rt_t *rt = otpc_proc_rt(self);
  otpc_term_t t = otpc_msg_term(msg);
  if (otpc_term_is_atom(t, "arm") == 1) {
    otpc_msg_t *m = tu_msg("fired");
    otpc_send_after(rt, 10, s->ctl, m, NULL);
    otpc_send_after(rt, 60000, s->ctl, m, &s->tref);
    otpc_msg_unref(m);
  } else if (otpc_term_is_atom(t, "cancel") == 1) {
    uint64_t left;
    int rc = otpc_cancel_timer(rt, &s->tref, &left);
    otpc_sendf(self, s->ctl, "{cancelled, ~i}", rc);
  } else if (otpc_term_is_atom(t, "self0") == 1) {
    otpc_msg_t *m = tu_msg("tick");
    otpc_send_after(rt, 0, otpc_self(self), m, NULL);
    otpc_msg_unref(m);
  } else if (otpc_term_is_atom(t, "tick") == 1) {
    otpc_sendf(self, s->ctl, "ticked");
  } else if (otpc_term_is_atom(t, "arm_long") == 1) {
    otpc_msg_t *m = tu_msg("never");
    otpc_send_after(rt, 600000, s->ctl, m, NULL);
    otpc_msg_unref(m);
    otpc_sendf(self, s->ctl, "armed");
  }
}

static const otpc_proc_class_t tp_class = {"tp", sizeof(tp_t), tp_init,
                                           tp_handle, NULL};

static void test_from_process(void **state) {
  fx_t *f = *state;
  otpc_pid_t p;
  assert_int_equal(otpc_rt_spawn(f->rt, &tp_class, &f->mepid, NULL, &p), 0);
  tu_send(f->me, p, tu_msg("arm"));
  tu_expect(f->me, "fired");
  tu_send(f->me, p, tu_msg("cancel"));
  tu_expect(f->me, "{cancelled,0}");
  tu_send(f->me, p, tu_msg("cancel"));
  tu_expect(f->me, "{cancelled,-10}");
  tu_send(f->me, p, tu_msg("arm_long"));
  tu_expect(f->me, "armed");
  otpc_msg_t *m = tu_msg("never");
  otpc_ref_t t;
  otpc_send_after(f->rt, 600000, f->mepid, m, &t);
  otpc_msg_unref(m);
  /* teardown stops the runtime with both timers pending (LSan checks). */
}

/* send_after(0, self()) on the process's own scheduler: the timer fires
 * on the same thread, once the process has gone idle, and must wake it. */
static void test_zero_to_self(void **state) {
  fx_t *f = *state;
  otpc_pid_t p;
  assert_int_equal(otpc_rt_spawn(f->rt, &tp_class, &f->mepid, NULL, &p), 0);
  for (int i = 0; i < 50; i++) {
    tu_send(f->me, p, tu_msg("self0"));
    tu_expect(f->me, "ticked");
  }
}

/* A timer to a pid is cancelled when its process exits, or at once if the
 * process is already gone: cancel_timer then finds nothing (OTP 25). */
static void test_cancelled_by_target_exit(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  otpc_msg_t *m = tu_msg("never");
  otpc_ref_t t1, t2, t3;
  assert_int_equal(otpc_send_after(f->rt, 600000, a, m, &t1), 0);
  assert_int_equal(otpc_send_after(f->rt, 600000, f->mepid, m, &t3), 0);
  otpc_ref_t r;
  assert_int_equal(otpc_monitor(f->me, a, &r), 0);
  tu_send(f->me, a, tu_msg("{exit, normal}"));
  otpc_msg_unref(tu_recv_match(f->me, otpc_match_ref, &r));
  uint64_t left = 7;
  assert_int_equal(otpc_cancel_timer(f->rt, &t1, &left), OTPC_ENOTFOUND);
  assert_int_equal(left, 7);
  assert_int_equal(otpc_send_after(f->rt, 600000, a, m, &t2), 0);
  assert_int_equal(otpc_cancel_timer(f->rt, &t2, NULL), OTPC_ENOTFOUND);
  /* A timer to a live process is untouched. */
  assert_int_equal(otpc_cancel_timer(f->rt, &t3, &left), 0);
  assert_true(left > 0);
  otpc_msg_unref(m);
}

int main(void) {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_send_after_and_cancel),
      T(test_many),
      T(test_from_process),
      T(test_zero_to_self),
      T(test_cancelled_by_target_exit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
