/* gen_statem: a scripted machine reports every callback ({Type, Content,
 * State}) to the test's thread process, and events carry the actions to
 * take as a list ([{next, S}, postpone, {reply, R}, ...]). So each test
 * checks the exact order of callbacks, replies and timeouts. The expected
 * traces were checked against OTP 25's gen_statem running the same
 * scripts (test/c/gen/statem_ref.erl). No sleeps: timeouts that must not
 * fire are shown not to by a later event, timeouts that must fire are
 * waited for. */
#include "rt_fixture.h"

#include "otpc/gen_statem.h"

#define SM_SCRIPT_CHECK(x) assert_int_equal((x), 0)
#include "statem_script.h"

/* ---------------------------------------------------------- helpers */

static otpc_gs_result_t start_r(fx_t *f, const otpc_gen_statem_t *cls,
                                const char *init) {
  otpc_buf_t b;
  m_arg_t a = {f->mepid, tu_term(&b, init)};
  otpc_gs_result_t r;
  assert_int_equal(otpc_gen_statem_start_blocking(f->me, cls, &a, NULL, &r), 0);
  otpc_buf_free(&b);
  return r;
}

static otpc_pid_t start(fx_t *f, const otpc_gen_statem_t *cls,
                        const char *init) {
  otpc_gs_result_t r = start_r(f, cls, init);
  assert_int_equal(r.status, OTPC_GS_OK);
  return r.pid;
}

static void cast(fx_t *f, otpc_pid_t s, const char *fmt) {
  otpc_buf_t b;
  assert_int_equal(otpc_gen_statem_cast(f->me, s, tu_term(&b, fmt)), 0);
  otpc_buf_free(&b);
}

static void info(fx_t *f, otpc_pid_t s, const char *fmt) {
  tu_send(f->me, s, tu_msg(fmt));
}

static const char *call(fx_t *f, otpc_pid_t s, const char *req, char *out,
                        size_t n) {
  otpc_buf_t b;
  otpc_gs_result_t r;
  assert_int_equal(
      otpc_gen_statem_call_blocking(f->me, s, tu_term(&b, req), 5000, &r), 0);
  otpc_buf_free(&b);
  char term[256] = "";
  if (r.term != NULL)
    tu_str(r.term, term, sizeof term);
  static const char *names[] = {"ok",     "ignore",  "error",
                                "noproc", "timeout", "exit"};
  snprintf(out, n, "%s %s", names[r.status], term);
  otpc_msg_unref(r.term);
  return out;
}

static otpc_ref_t mon(fx_t *f, otpc_pid_t p) {
  otpc_ref_t r;
  assert_int_equal(otpc_monitor(f->me, p, &r), 0);
  return r;
}

static void expect_down(fx_t *f, otpc_ref_t r, const char *reason) {
  otpc_msg_t *m = tu_recv_match(f->me, otpc_match_ref, &r);
  otpc_term_t x;
  assert_int_equal(
      otpc_term_match(otpc_msg_term(m), NULL, "{'DOWN', _, _, _, ~t}", &x), 0);
  char buf[256];
  otpc_term_snprint(buf, sizeof buf, x);
  assert_string_equal(buf, reason);
  otpc_msg_unref(m);
}

static void stop(fx_t *f, otpc_pid_t s, const char *last_state) {
  otpc_gs_result_t r;
  otpc_buf_t b;
  assert_int_equal(
      otpc_gen_statem_stop_blocking(f->me, s, tu_term(&b, "normal"), 5000, &r),
      0);
  otpc_buf_free(&b);
  assert_int_equal(r.status, OTPC_GS_OK);
  char want[64];
  snprintf(want, sizeof want, "{terminate,normal,%s}", last_state);
  tu_expect(f->me, want);
}

/* ------------------------------------------------------------- init */

static void test_init_results(void **state) {
  fx_t *f = *state;
  otpc_gs_result_t r = start_r(f, &m_plain, "ignore");
  assert_int_equal(r.status, OTPC_GS_IGNORE);
  r = start_r(f, &m_plain, "{stop, bad}");
  assert_int_equal(r.status, OTPC_GS_ERROR);
  char buf[128];
  assert_string_equal(tu_str(r.term, buf, sizeof buf), "bad");
  otpc_msg_unref(r.term);
  r = start_r(f, &m_plain, "none");
  assert_int_equal(r.status, OTPC_GS_ERROR);
  assert_string_equal(tu_str(r.term, buf, sizeof buf),
                      "{bad_return_from_init,no_state}");
  otpc_msg_unref(r.term);
  r = start_r(f, &m_plain, "crash");
  assert_int_equal(r.status, OTPC_GS_ERROR);
  assert_string_equal(tu_str(r.term, buf, sizeof buf), "init_crashed");
  otpc_msg_unref(r.term);
  /* A table with neither mode is refused. */
  otpc_gen_statem_t bad = m_plain;
  bad.handle_event = NULL;
  otpc_buf_t ab;
  m_arg_t a = {f->mepid, tu_term(&ab, "[]")};
  assert_int_equal(otpc_gen_statem_start_blocking(f->me, &bad, &a, NULL, &r),
                   OTPC_EINVAL);
  otpc_buf_free(&ab);
}

/* init's actions: the enter call (OldState = State) first, then the
 * inserted events, then zero timeouts; postpone is ignored. */
static void test_init_actions_and_enter(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start(f, &m_enter,
                       "[{timeout, 0, t0}, {ev, internal, i1}, postpone, "
                       "{ev, cast, c1}]");
  tu_expect(f->me, "{enter,a,a}");
  tu_expect(f->me, "{internal,i1,a}");
  tu_expect(f->me, "{cast,c1,a}");
  /* The event timeout was cancelled by the inserted events. */
  char buf[128];
  assert_string_equal(call(f, s, "[{reply, r}]", buf, sizeof buf), "ok r");
  tu_expect(f->me, "{call,[{reply,r}],a}");
  stop(f, s, "a");
}

/* ----------------------------------------------------- state changes */

static void test_enter_calls(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start(f, &m_enter, "[]");
  tu_expect(f->me, "{enter,a,a}");
  cast(f, s, "[{next, b}]");
  tu_expect(f->me, "{cast,[{next,b}],a}");
  tu_expect(f->me, "{enter,a,b}");
  /* next_state to the same state: no enter call. */
  cast(f, s, "[{next, b}]");
  tu_expect(f->me, "{cast,[{next,b}],b}");
  /* repeat_state: enter again, OldState the state itself. */
  cast(f, s, "[repeat]");
  tu_expect(f->me, "{cast,[repeat],b}");
  tu_expect(f->me, "{enter,b,b}");
  /* An enter call may repeat; the old state stays the one left. */
  cast(f, s, "[{set_enter, [{c, [{send, in_c}]}]}, {next, c}]");
  tu_expect(f->me, "{cast,[{set_enter,[{c,[{send,in_c}]}]},{next,c}],b}");
  tu_expect(f->me, "{enter,b,c}");
  tu_expect(f->me, "in_c");
  /* Without state_enter there are no enter calls. */
  otpc_pid_t p = start(f, &m_plain, "[]");
  cast(f, p, "[{next, b}]");
  tu_expect(f->me, "{cast,[{next,b}],a}");
  cast(f, p, "[]");
  tu_expect(f->me, "{cast,[],b}");
  stop(f, p, "b");
  stop(f, s, "c");
}

/* Postponed events are retried after a state change, in order, after the
 * inserted events; not after keep_state. */
static void test_postpone(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start(f, &m_plain, "[]");
  cast(f, s, "[postpone]");
  info(f, s, "[postpone, {send, p2}]");
  cast(f, s, "[{next, a}]"); /* the same state: nothing retried */
  cast(f, s, "[{next, b}, {ev, internal, [{send, n1}]}]");
  tu_expect(f->me, "{cast,[postpone],a}");
  tu_expect(f->me, "{info,[postpone,{send,p2}],a}");
  tu_expect(f->me, "p2");
  tu_expect(f->me, "{cast,[{next,a}],a}");
  tu_expect(f->me, "{cast,[{next,b},{ev,internal,[{send,n1}]}],a}");
  tu_expect(f->me, "{internal,[{send,n1}],b}");
  tu_expect(f->me, "n1");
  tu_expect(f->me, "{cast,[postpone],b}");
  tu_expect(f->me, "{info,[postpone,{send,p2}],b}");
  tu_expect(f->me, "p2");
  /* Postponed again in b, retried on the way back to a, with the event
   * that changed the state. */
  cast(f, s, "[{next, a}, postpone]");
  tu_expect(f->me, "{cast,[{next,a},postpone],b}");
  tu_expect(f->me, "{cast,[postpone],a}");
  tu_expect(f->me, "{info,[postpone,{send,p2}],a}");
  tu_expect(f->me, "p2");
  tu_expect(f->me, "{cast,[{next,a},postpone],a}");
  stop(f, s, "a");
}

/* next_event: inserted in the order given, before queued messages. */
static void test_next_event_order(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start(f, &m_plain, "[]");
  cast(f, s,
       "[{ev, internal, [{ev, internal, x1}]}, {ev, cast, c2}, "
       "{ev, info, i3}]");
  tu_expect(f->me, "{cast,[{ev,internal,[{ev,internal,x1}]},{ev,cast,c2},{ev,"
                   "info,i3}],a}");
  tu_expect(f->me, "{internal,[{ev,internal,x1}],a}");
  tu_expect(f->me, "{internal,x1,a}");
  tu_expect(f->me, "{cast,c2,a}");
  tu_expect(f->me, "{info,i3,a}");
  stop(f, s, "a");
}

/* ----------------------------------------------------------- replies */

static void test_calls_and_replies(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start(f, &m_enter, "[]");
  tu_expect(f->me, "{enter,a,a}");
  char buf[128];
  /* The reply goes out before the enter call runs. */
  assert_string_equal(call(f, s, "[{reply, r1}, {next, b}]", buf, sizeof buf),
                      "ok r1");
  tu_expect(f->me, "{call,[{reply,r1},{next,b}],a}");
  tu_expect(f->me, "{enter,a,b}");
  /* A reply kept in the data, sent from a later event. */
  otpc_buf_t b;
  otpc_term_t req = tu_term(&b, "[save]");
  otpc_ref_t mref;
  assert_int_equal(otpc_monitor(f->me, s, &mref), 0);
  otpc_pid_t me = f->mepid;
  assert_int_equal(
      otpc_sendf(f->me, s, "{'$gen_call', {~p, ~r}, ~t}", &me, &mref, &req), 0);
  otpc_buf_free(&b);
  tu_expect(f->me, "{call,[save],b}");
  cast(f, s, "[{release, later}]");
  tu_expect(f->me, "{cast,[{release,later}],b}");
  otpc_msg_t *m = tu_recv_match(f->me, otpc_match_ref, &mref);
  otpc_term_t x;
  assert_int_equal(otpc_term_match(otpc_msg_term(m), NULL, "{_, ~t}", &x), 0);
  assert_int_equal(otpc_term_is_atom(x, "later"), 1);
  otpc_msg_unref(m);
  otpc_demonitor(f->me, &mref, OTPC_DEMONITOR_FLUSH);
  stop(f, s, "b");
}

/* ---------------------------------------------------------- timeouts */

/* The event timeout fires when no event comes; any event cancels it. */
static void test_event_timeout(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start(f, &m_plain, "[]");
  cast(f, s, "[{timeout, 20, t1}]");
  tu_expect(f->me, "{cast,[{timeout,20,t1}],a}");
  tu_expect(f->me, "{timeout,t1,a}");
  /* Cancelled by an event (a long one, so the next event surely comes
   * first), even one that keeps the state. */
  cast(f, s, "[{timeout, 60000, t2}]");
  cast(f, s, "[]");
  tu_expect(f->me, "{cast,[{timeout,60000,t2}],a}");
  tu_expect(f->me, "{cast,[],a}");
  /* Zero: fires before the next message, after inserted events. */
  cast(f, s, "[{timeout, 0, z}, {ev, internal, i}]");
  tu_expect(f->me, "{cast,[{timeout,0,z},{ev,internal,i}],a}");
  tu_expect(f->me, "{internal,i,a}");
  /* The internal event cancelled the zero timeout. */
  cast(f, s, "[{timeout, 0, z2}]");
  cast(f, s, "[{send, aft}]");
  tu_expect(f->me, "{cast,[{timeout,0,z2}],a}");
  tu_expect(f->me, "{timeout,z2,a}");
  tu_expect(f->me, "{cast,[{send,aft}],a}");
  tu_expect(f->me, "aft");
  /* The last action of a type wins; cancel cancels. */
  cast(f, s, "[{timeout, 0, first}, {timeout, 0, second}]");
  tu_expect(f->me, "{cast,[{timeout,0,first},{timeout,0,second}],a}");
  tu_expect(f->me, "{timeout,second,a}");
  cast(f, s, "[{timeout, 0, x}, {cancel, timeout}, {send, c}]");
  tu_expect(f->me, "{cast,[{timeout,0,x},{cancel,timeout},{send,c}],a}");
  tu_expect(f->me, "c");
  stop(f, s, "a");
}

/* The state timeout survives events in the same state and is cancelled by
 * a state change. */
static void test_state_timeout(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start(f, &m_plain, "[]");
  cast(f, s, "[{state_timeout, 30, st1}]");
  cast(f, s, "[]");
  tu_expect(f->me, "{cast,[{state_timeout,30,st1}],a}");
  tu_expect(f->me, "{cast,[],a}");
  tu_expect(f->me, "{state_timeout,st1,a}");
  cast(f, s, "[{state_timeout, 60000, st2}]");
  cast(f, s, "[{next, b}]");
  cast(f, s, "[{state_timeout, update, st3}]"); /* none running: zero */
  tu_expect(f->me, "{cast,[{state_timeout,60000,st2}],a}");
  tu_expect(f->me, "{cast,[{next,b}],a}");
  tu_expect(f->me, "{cast,[{state_timeout,update,st3}],b}");
  tu_expect(f->me, "{state_timeout,st3,b}");
  /* update keeps the time and changes the message. */
  cast(f, s, "[{state_timeout, 20, old}]");
  cast(f, s, "[{state_timeout, update, new}]");
  tu_expect(f->me, "{cast,[{state_timeout,20,old}],b}");
  tu_expect(f->me, "{cast,[{state_timeout,update,new}],b}");
  tu_expect(f->me, "{state_timeout,new,b}");
  stop(f, s, "b");
}

/* Generic timeouts: one per name, running across state changes until they
 * fire or are cancelled. */
static void test_generic_timeouts(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start(f, &m_plain, "[]");
  cast(f, s, "[{gtimeout, g1, 20, m1}, {gtimeout, g2, 60000, m2}, {next, b}]");
  tu_expect(f->me, "{cast,[{gtimeout,g1,20,m1},{gtimeout,g2,60000,m2},{next,b}"
                   "],a}");
  tu_expect(f->me, "{{timeout,g1},m1,b}");
  cast(f, s, "[{gcancel, g2}, {gtimeout, g3, 0, m3}, {gtimeout, g4, 0, m4}]");
  tu_expect(f->me, "{cast,[{gcancel,g2},{gtimeout,g3,0,m3},{gtimeout,g4,0,m4}"
                   "],b}");
  tu_expect(f->me, "{{timeout,g3},m3,b}");
  tu_expect(f->me, "{{timeout,g4},m4,b}");
  /* Restarting a name replaces its timer. */
  cast(f, s, "[{gtimeout, g5, 60000, old}]");
  cast(f, s, "[{gtimeout, g5, 10, new}]");
  tu_expect(f->me, "{cast,[{gtimeout,g5,60000,old}],b}");
  tu_expect(f->me, "{cast,[{gtimeout,g5,10,new}],b}");
  tu_expect(f->me, "{{timeout,g5},new,b}");
  stop(f, s, "b");
}

/* --------------------------------------------------------------- stop */

static void test_stop_and_reply(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start(f, &m_plain, "[]");
  otpc_ref_t r = mon(f, s);
  char buf[128];
  /* stop_and_reply: the reply first, then terminate. */
  assert_string_equal(
      call(f, s, "[{reply, bye}, {stop, {shutdown, x}}]", buf, sizeof buf),
      "ok bye");
  tu_expect(f->me, "{call,[{reply,bye},{stop,{shutdown,x}}],a}");
  tu_expect(f->me, "{terminate,{shutdown,x},a}");
  expect_down(f, r, "{shutdown,x}");
}

static void test_crash_and_bad_actions(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start(f, &m_plain, "[]");
  otpc_ref_t r = mon(f, s);
  cast(f, s, "[crash]");
  tu_expect(f->me, "{cast,[crash],a}");
  tu_expect(f->me, "{terminate,boom,a}");
  expect_down(f, r, "boom");
  /* postpone in an enter call */
  s = start(f, &m_enter, "[{set_enter, [{b, [postpone]}]}]");
  tu_expect(f->me, "{enter,a,a}");
  r = mon(f, s);
  cast(f, s, "[{next, b}]");
  tu_expect(f->me, "{cast,[{next,b}],a}");
  tu_expect(f->me, "{enter,a,b}");
  /* As OTP: terminate gets the state being entered; the exit reason is
   * an error's {Reason, Stacktrace}. */
  tu_expect(f->me,
            "{terminate,{bad_state_enter_action_from_state_function,postpone},"
            "b}");
  expect_down(f, r,
              "{{bad_state_enter_action_from_state_function,postpone},[]}");
  /* a state change from an enter call */
  s = start(f, &m_enter, "[{set_enter, [{b, [{next, c}]}]}]");
  tu_expect(f->me, "{enter,a,a}");
  r = mon(f, s);
  cast(f, s, "[{next, b}]");
  tu_expect(f->me, "{cast,[{next,b}],a}");
  tu_expect(f->me, "{enter,a,b}");
  tu_expect(f->me,
            "{terminate,{bad_state_enter_return_from_state_function,{next_"
            "state,c}},b}");
  expect_down(
      f, r, "{{bad_state_enter_return_from_state_function,{next_state,c}},[]}");
}

/* state_functions: each state's function; a state without one is undef. */
static void test_state_functions(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start(f, &m_funs, "[]");
  tu_expect(f->me, "{enter,a,a}");
  cast(f, s, "[{next, b}]");
  tu_expect(f->me, "{cast,[{next,b}],a}");
  tu_expect(f->me, "{enter,a,b}");
  otpc_ref_t r = mon(f, s);
  cast(f, s, "[{next, zz}]");
  tu_expect(f->me, "{cast,[{next,zz}],b}");
  /* undef: an exception, so terminate gets the committed state. */
  tu_expect(f->me, "{terminate,undef,b}");
  expect_down(f, r, "{undef,[]}");
}

/* The parent's exit while trapping exits: terminate with its reason. */
static void test_parent_exit(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start(f, &m_plain, "[]");
  /* Not trapping: a plain exit signal kills it, no terminate. */
  otpc_ref_t r = mon(f, s);
  otpc_buf_t b;
  assert_int_equal(otpc_exit_signal(f->me, s, tu_term(&b, "die")), 0);
  otpc_buf_free(&b);
  expect_down(f, r, "die");
  tu_expect_empty(f->me);
}

/* A machine that never reads its mailbox (a postponed event retried by
 * state changes a zero timeout keeps making: OTP loops the same) still
 * yields, so other processes run and a kill reaches it. */
static void test_livelock_yields(void **state) {
  fx_t *f = *state;
  otpc_buf_t b, c;
  /* Its traces go to a dead pid: they would flood us. */
  m_arg_t a = {dead_pid(f), tu_term(&b, "[]")};
  otpc_gs_result_t r;
  assert_int_equal(
      otpc_gen_statem_start_blocking(f->me, &m_plain, &a, NULL, &r), 0);
  otpc_buf_free(&b);
  assert_int_equal(r.status, OTPC_GS_OK);
  otpc_ref_t mref = mon(f, r.pid);
  cast(f, r.pid, "[{next, b}, postpone, {timeout, 0, [{next, a}]}]");
  /* Another process still gets its turn on the schedulers. */
  otpc_pid_t other = start(f, &m_plain, "[{send, other_ran}]");
  tu_expect(f->me, "other_ran");
  stop(f, other, "a");
  assert_int_equal(otpc_exit_signal(f->me, r.pid, tu_term(&c, "kill")), 0);
  otpc_buf_free(&c);
  expect_down(f, mref, "killed");
}

int main(void) {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_init_results),          T(test_init_actions_and_enter),
      T(test_enter_calls),           T(test_postpone),
      T(test_next_event_order),      T(test_calls_and_replies),
      T(test_event_timeout),         T(test_state_timeout),
      T(test_generic_timeouts),      T(test_stop_and_reply),
      T(test_crash_and_bad_actions), T(test_state_functions),
      T(test_parent_exit),           T(test_livelock_yields),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
