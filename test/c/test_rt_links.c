/* Links, trap_exit and exit signals, each case checked against OTP 25
 * (erl) first: see the comments for the BEAM's observed behaviour. */
#include "rt_fixture.h"

/* OTP 25: link(Dead) raises noproc in a caller not trapping exits. */
static void test_link_dead_not_trapping(void **state) {
  fx_t *f = *state;
  otpc_pid_t d = dead_pid(f);
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  char out[64];
  assert_string_equal(tu_cmd(f->me, a, tu_msg("{link, ~p}", &d), out, 64),
                      "-10");
  tu_cmd(f->me, a, tu_msg("ping"), out, sizeof out); /* still alive */
  assert_string_equal(out, "pong");
}

/* OTP 25: link(Dead) when trapping gives {'EXIT', Dead, noproc}. */
static void test_link_dead_trapping(void **state) {
  fx_t *f = *state;
  otpc_pid_t d = dead_pid(f);
  otpc_pid_t a = tu_agent(f->rt, f->me, true);
  char out[64], buf[256], p1[64], p2[64];
  assert_string_equal(tu_cmd(f->me, a, tu_msg("{link, ~p}", &d), out, 64), "0");
  snprintf(buf, sizeof buf, "{got,%s,{'EXIT',%s,noproc}}", ps(a, p1),
           ps(d, p2));
  tu_expect(f->me, buf);
  /* The thread process itself, trapping. */
  otpc_trap_exit(f->me, true);
  assert_int_equal(otpc_link(f->me, d), 0);
  snprintf(buf, sizeof buf, "{'EXIT',%s,noproc}", ps(d, p2));
  tu_expect(f->me, buf);
  otpc_trap_exit(f->me, false);
  assert_int_equal(otpc_link(f->me, d), OTPC_ENOTFOUND);
}

/* exit(P, normal) is ignored by a process not trapping exits. */
static void test_exit_normal_ignored(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  otpc_buf_t b;
  assert_int_equal(otpc_exit_signal(f->me, a, tu_term(&b, "normal")), 0);
  otpc_buf_free(&b);
  char out[64];
  assert_string_equal(tu_cmd(f->me, a, tu_msg("ping"), out, 64), "pong");
}

/* ... and delivered as {'EXIT', From, normal} to a trapping one. */
static void test_exit_normal_trapped(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, true);
  otpc_buf_t b;
  assert_int_equal(otpc_exit_signal(f->me, a, tu_term(&b, "normal")), 0);
  otpc_buf_free(&b);
  char buf[256], p1[64];
  snprintf(buf, sizeof buf, "{got,%s,{'EXIT',%s,normal}}", ps(a, p1), f->mes);
  tu_expect(f->me, buf);
}

/* exit(P, kill) kills a trapping process; links see `killed`. */
static void test_kill_trapping(void **state) {
  fx_t *f = *state;
  otpc_trap_exit(f->me, true);
  otpc_pid_t a = tu_agent(f->rt, f->me, true);
  assert_int_equal(otpc_link(f->me, a), 0);
  otpc_buf_t b;
  assert_int_equal(otpc_exit_signal(f->me, a, tu_term(&b, "kill")), 0);
  otpc_buf_free(&b);
  char buf[256], p1[64];
  snprintf(buf, sizeof buf, "{'EXIT',%s,killed}", ps(a, p1));
  tu_expect(f->me, buf);
}

/* A process exiting with reason kill sends `kill` (not killed) through
 * its links, and a non-trapping linked process dies with `kill`. */
static void test_exit_reason_kill_propagates(void **state) {
  fx_t *f = *state;
  otpc_trap_exit(f->me, true);
  otpc_pid_t mid = tu_agent(f->rt, f->me, false);
  assert_int_equal(otpc_link(f->me, mid), 0);
  char out[64], buf[256], p1[64];
  /* mid spawns a linked child; the child exits with reason kill. */
  tu_cmd(f->me, mid, tu_msg("{spawn_link, false}"), out, sizeof out);
  otpc_pid_t child;
  /* Parse the child's pid from its printed form <node.id.serial>. */
  unsigned id, serial;
  assert_int_equal(sscanf(out, "<nonode@nohost.%u.%u>", &id, &serial), 2);
  child = otpc_self(f->me);
  child.id = id;
  child.serial = serial;
  tu_send(f->me, child, tu_msg("{exit, kill}"));
  snprintf(buf, sizeof buf, "{'EXIT',%s,kill}", ps(mid, p1));
  tu_expect(f->me, buf);
}

/* exit(self(), kill): killed. */
static void test_exit_self_kill(void **state) {
  fx_t *f = *state;
  otpc_trap_exit(f->me, true);
  otpc_pid_t a = tu_agent(f->rt, f->me, true);
  assert_int_equal(otpc_link(f->me, a), 0);
  tu_send(f->me, a, tu_msg("{exit_signal, ~p, kill}", &a));
  char buf[256], p1[64];
  snprintf(buf, sizeof buf, "{'EXIT',%s,killed}", ps(a, p1));
  tu_expect(f->me, buf);
}

/* exit(self(), normal) ends a process not trapping exits (OTP 25). */
static void test_exit_self_normal(void **state) {
  fx_t *f = *state;
  otpc_trap_exit(f->me, true);
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  assert_int_equal(otpc_link(f->me, a), 0);
  tu_send(f->me, a, tu_msg("{exit_signal, ~p, normal}", &a));
  char buf[256], p1[64];
  snprintf(buf, sizeof buf, "{'EXIT',%s,normal}", ps(a, p1));
  tu_expect(f->me, buf);
  /* ... and is trapped by a trapping one. */
  otpc_pid_t t = tu_agent(f->rt, f->me, true);
  char out[64];
  tu_cmd(f->me, t, tu_msg("{exit_signal, ~p, normal}", &t), out, 64);
  assert_string_equal(out, "0");
  snprintf(buf, sizeof buf, "{got,%s,{'EXIT',%s,normal}}", ps(t, p1), p1);
  tu_expect(f->me, buf);
}

/* exit(P, killed) is an ordinary reason: trapped as such. */
static void test_exit_killed_is_ordinary(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, true);
  otpc_buf_t b;
  assert_int_equal(otpc_exit_signal(f->me, a, tu_term(&b, "killed")), 0);
  otpc_buf_free(&b);
  char buf[256], p1[64];
  snprintf(buf, sizeof buf, "{got,%s,{'EXIT',%s,killed}}", ps(a, p1), f->mes);
  tu_expect(f->me, buf);
}

/* A linked process's normal exit reaches a trapping process. */
static void test_linked_normal_exit(void **state) {
  fx_t *f = *state;
  otpc_trap_exit(f->me, true);
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  assert_int_equal(otpc_link(f->me, a), 0);
  tu_send(f->me, a, tu_msg("{exit, normal}"));
  char buf[256], p1[64];
  snprintf(buf, sizeof buf, "{'EXIT',%s,normal}", ps(a, p1));
  tu_expect(f->me, buf);
}

/* An abnormal exit kills a non-trapping linked process with the same
 * reason, which goes on through its own links. */
static void test_crash_chain(void **state) {
  fx_t *f = *state;
  otpc_trap_exit(f->me, true);
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  otpc_pid_t b = tu_agent(f->rt, f->me, false);
  assert_int_equal(otpc_link(f->me, a), 0);
  char out[64];
  tu_cmd(f->me, a, tu_msg("{link, ~p}", &b), out, 64);
  assert_string_equal(out, "0");
  tu_send(f->me, b, tu_msg("{exit, boom}"));
  char buf[256], p1[64];
  snprintf(buf, sizeof buf, "{'EXIT',%s,boom}", ps(a, p1));
  tu_expect(f->me, buf);
}

/* After unlink returns, nothing from the link arrives, even if the peer
 * exits right after. */
static void test_unlink_then_exit(void **state) {
  fx_t *f = *state;
  otpc_trap_exit(f->me, true);
  for (int i = 0; i < 200; i++) {
    otpc_pid_t a = tu_agent(f->rt, f->me, false);
    assert_int_equal(otpc_link(f->me, a), 0);
    otpc_ref_t r;
    otpc_monitor(f->me, a, &r);
    tu_send(f->me, a, tu_msg("{exit, boom}"));
    assert_int_equal(otpc_unlink(f->me, a), 0);
    otpc_msg_t *m = tu_recv_match(f->me, otpc_match_ref, &r);
    otpc_msg_unref(m);
    tu_expect_empty(f->me);
  }
}

static void test_trap_exit_toggle(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  char out[64];
  assert_string_equal(tu_cmd(f->me, a, tu_msg("{trap, true}"), out, 64),
                      "false");
  assert_string_equal(tu_cmd(f->me, a, tu_msg("{trap, false}"), out, 64),
                      "true");
  assert_false(otpc_trap_exit(f->me, true));
  assert_true(otpc_trap_exit(f->me, false));
}

/* Link to oneself does nothing; a second link is one link. */
static void test_link_self_and_twice(void **state) {
  fx_t *f = *state;
  otpc_trap_exit(f->me, true);
  assert_int_equal(otpc_link(f->me, f->mepid), 0);
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  assert_int_equal(otpc_link(f->me, a), 0);
  assert_int_equal(otpc_link(f->me, a), 0);
  otpc_proc_info_t info;
  assert_int_equal(otpc_proc_info(f->rt, f->mepid, &info), 0);
  assert_int_equal(info.links, 1);
  tu_send(f->me, a, tu_msg("{exit, x}"));
  char buf[256], p1[64];
  snprintf(buf, sizeof buf, "{'EXIT',%s,x}", ps(a, p1));
  tu_expect(f->me, buf);
}

/* The order of signals from one sender is kept: message, exit, message
 * arrive as m1, {'EXIT', ...}, m2 at a trapping process. */
static void test_signal_order(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, true);
  tu_send(f->me, a, tu_msg("m1"));
  otpc_buf_t b;
  assert_int_equal(otpc_exit_signal(f->me, a, tu_term(&b, "x")), 0);
  otpc_buf_free(&b);
  tu_send(f->me, a, tu_msg("m2"));
  char buf[256], p1[64];
  snprintf(buf, sizeof buf, "{got,%s,m1}", ps(a, p1));
  tu_expect(f->me, buf);
  snprintf(buf, sizeof buf, "{got,%s,{'EXIT',%s,x}}", p1, f->mes);
  tu_expect(f->me, buf);
  snprintf(buf, sizeof buf, "{got,%s,m2}", p1);
  tu_expect(f->me, buf);
}

/* A remote pid with no distribution: a link breaks with noconnection. */
static void test_remote_noconnection(void **state) {
  fx_t *f = *state;
  otpc_trap_exit(f->me, true);
  otpc_pid_t r = f->mepid;
  r.node = tu_atom("other@host");
  assert_int_equal(otpc_link(f->me, r), 0);
  char exp[128];
  snprintf(exp, sizeof exp, "{'EXIT',<other@host.%u.%u>,noconnection}", r.id,
           r.serial);
  tu_expect(f->me, exp);
  otpc_ref_t ref;
  assert_int_equal(otpc_monitor(f->me, r, &ref), 0);
  otpc_msg_t *m = tu_recv_match(f->me, otpc_match_ref, &ref);
  char buf[256];
  assert_non_null(strstr(tu_str(m, buf, sizeof buf), "noconnection"));
  otpc_msg_unref(m);
  tu_send(f->me, r, tu_msg("dropped"));
}

int main(void) {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_link_dead_not_trapping),
      T(test_link_dead_trapping),
      T(test_exit_normal_ignored),
      T(test_exit_normal_trapped),
      T(test_kill_trapping),
      T(test_exit_reason_kill_propagates),
      T(test_exit_self_kill),
      T(test_exit_self_normal),
      T(test_exit_killed_is_ordinary),
      T(test_linked_normal_exit),
      T(test_crash_chain),
      T(test_unlink_then_exit),
      T(test_trap_exit_toggle),
      T(test_link_self_and_twice),
      T(test_signal_order),
      T(test_remote_noconnection),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
