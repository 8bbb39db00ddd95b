/* gen_event: handlers report every callback ({Tag, Callback, Arg}) to the
 * test's thread process, so each test checks the exact order of handler
 * calls, terminate arguments, replies and gen_event_EXIT messages. The
 * expected values follow OTP 25's gen_event.erl (most recent handler
 * first, terminate({error, {'EXIT', R}}) after a crash, swap's
 * init({Args2, Res})). No sleeps: a handler that must be slow waits on a
 * gate the test opens. */
#include "rt_fixture.h"

#include "otpc/gen_event.h"

/* What the event pointers looked like, to show the fan-out shares one
 * buffer, and the gate a `gate` event waits on. */
static const uint8_t *seen_ptr[4];
static int nseen;
static pthread_mutex_t gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t gate_cond = PTHREAD_COND_INITIALIZER;
static bool gate_open;

static void on_event(otpc_term_t ev) {
  if (nseen < 4)
    seen_ptr[nseen++] = ev.p;
}

static void after_report(otpc_term_t ev) {
  if (otpc_term_is_atom(ev, "gate") == 1) {
    pthread_mutex_lock(&gate_lock);
    while (!gate_open)
      pthread_cond_wait(&gate_cond, &gate_lock);
    pthread_mutex_unlock(&gate_lock);
  }
}

#define EV_SCRIPT_ON_EVENT(ev) on_event(ev)
#define EV_SCRIPT_AFTER_REPORT(ev) after_report(ev)
#include "event_script.h"

/* ---------------------------------------------------------- helpers */

static otpc_pid_t start_mgr(fx_t *f, const otpc_ge_start_opts_t *o) {
  otpc_gs_result_t r;
  assert_int_equal(otpc_gen_event_start_blocking(f->me, o, &r), 0);
  assert_int_equal(r.status, OTPC_GS_OK);
  return r.pid;
}

/* The result term printed. */
static const char *res_str(otpc_gs_result_t *r, char *buf, size_t n) {
  assert_int_equal(r->status, OTPC_GS_OK);
  tu_str(r->term, buf, n);
  otpc_msg_unref(r->term);
  return buf;
}

static const char *add(fx_t *f, otpc_proc_t *me, otpc_pid_t m,
                       const otpc_gen_event_handler_t *h, const char *id,
                       const char *tag, const char *mode, bool sup, char *buf) {
  otpc_buf_t ib, ab;
  otpc_term_t idt = id != NULL ? tu_term(&ib, id) : (otpc_term_t){0};
  otpc_pid_t ctl = f->mepid;
  otpc_term_t args = tu_term(&ab, "{~p, ~a, ~a}", &ctl, tag, mode);
  otpc_gs_result_t r;
  if (sup)
    assert_int_equal(
        otpc_gen_event_add_sup_handler_blocking(me, m, h, idt, args, &r), 0);
  else
    assert_int_equal(
        otpc_gen_event_add_handler_blocking(me, m, h, idt, args, &r), 0);
  if (id != NULL)
    otpc_buf_free(&ib);
  otpc_buf_free(&ab);
  return res_str(&r, buf, 128);
}

static const char *which(fx_t *f, otpc_pid_t m, char *buf) {
  otpc_gs_result_t r;
  assert_int_equal(otpc_gen_event_which_handlers_blocking(f->me, m, &r), 0);
  return res_str(&r, buf, 128);
}

static void sync_notify(fx_t *f, otpc_pid_t m, const char *ev) {
  otpc_buf_t b;
  otpc_gs_result_t r;
  assert_int_equal(
      otpc_gen_event_sync_notify_blocking(f->me, m, tu_term(&b, ev), &r), 0);
  otpc_buf_free(&b);
  char buf[64];
  assert_string_equal(res_str(&r, buf, sizeof buf), "ok");
}

static const char *gcall(fx_t *f, otpc_pid_t m, const char *h, const char *q,
                         char *buf) {
  otpc_buf_t hb, qb;
  otpc_gs_result_t r;
  assert_int_equal(otpc_gen_event_call_blocking(f->me, m, tu_term(&hb, h),
                                                tu_term(&qb, q), 5000, &r),
                   0);
  otpc_buf_free(&hb);
  otpc_buf_free(&qb);
  return res_str(&r, buf, 128);
}

static void stop_mgr(fx_t *f, otpc_pid_t m) {
  otpc_gs_result_t r;
  otpc_buf_t b;
  assert_int_equal(
      otpc_gen_event_stop_blocking(f->me, m, tu_term(&b, "normal"), 5000, &r),
      0);
  otpc_buf_free(&b);
  assert_int_equal(r.status, OTPC_GS_OK);
}

/* -------------------------------------------------------------- tests */

/* Most recent first, for notify, sync_notify, infos and which_handlers;
 * the event is one shared buffer. */
static void test_add_notify_order(void **state) {
  fx_t *f = *state;
  char buf[128];
  otpc_pid_t m = start_mgr(f, NULL);
  assert_string_equal(which(f, m, buf), "[]");
  assert_string_equal(add(f, f->me, m, &h_a, NULL, "a", "ok", false, buf),
                      "ok");
  tu_expect(f->me, "{a,init,ok}");
  assert_string_equal(add(f, f->me, m, &h_b, "7", "b", "ok", false, buf), "ok");
  tu_expect(f->me, "{b,init,ok}");
  assert_string_equal(which(f, m, buf), "[{evh_b,7},evh_a]");
  nseen = 0;
  otpc_buf_t b;
  assert_int_equal(
      otpc_gen_event_notify(f->me, m, tu_term(&b, "{e, 1}"), NULL, NULL), 0);
  otpc_buf_free(&b);
  tu_expect(f->me, "{b,event,{e,1}}");
  tu_expect(f->me, "{a,event,{e,1}}");
  assert_int_equal(nseen, 2);
  assert_ptr_equal(seen_ptr[0], seen_ptr[1]); /* no copy per handler */
  sync_notify(f, m, "s");
  tu_expect(f->me, "{b,event,s}");
  tu_expect(f->me, "{a,event,s}");
  tu_send(f->me, m, tu_msg("hello"));
  tu_expect(f->me, "{b,info,hello}");
  tu_expect(f->me, "{a,info,hello}");
  /* Erlang's notify protocol works too. */
  tu_send(f->me, m, tu_msg("{notify, raw}"));
  tu_expect(f->me, "{b,event,raw}");
  tu_expect(f->me, "{a,event,raw}");
  stop_mgr(f, m);
  tu_expect(f->me, "{b,terminate,stop}");
  tu_expect(f->me, "{a,terminate,stop}");
}

static void test_init_failures(void **state) {
  fx_t *f = *state;
  char buf[128];
  otpc_pid_t m = start_mgr(f, NULL);
  assert_string_equal(add(f, f->me, m, &h_a, NULL, "a", "fail", false, buf),
                      "{error,no_way}");
  tu_expect(f->me, "{a,init,fail}");
  assert_string_equal(add(f, f->me, m, &h_a, NULL, "a", "crash", false, buf),
                      "{'EXIT',init_boom}");
  tu_expect(f->me, "{a,init,crash}");
  assert_string_equal(which(f, m, buf), "[]");
  /* A module nobody registered, as an Erlang caller could name it. */
  otpc_pid_t me = f->mepid;
  otpc_ref_t mref;
  assert_int_equal(otpc_monitor(f->me, m, &mref), 0);
  assert_int_equal(otpc_sendf(f->me, m,
                              "{~p, {~p, ~r}, {add_handler, nope, []}}", &me,
                              &me, &mref),
                   0);
  otpc_msg_t *rep = tu_recv_match(f->me, otpc_match_ref, &mref);
  otpc_term_t x;
  assert_int_equal(otpc_term_match(otpc_msg_term(rep), NULL, "{_, ~t}", &x), 0);
  otpc_term_snprint(buf, sizeof buf, x);
  assert_string_equal(buf, "{'EXIT',undef}");
  otpc_msg_unref(rep);
  otpc_demonitor(f->me, &mref, OTPC_DEMONITOR_FLUSH);
  stop_mgr(f, m);
}

static void test_crash_removes(void **state) {
  fx_t *f = *state;
  char buf[128];
  otpc_pid_t m = start_mgr(f, NULL);
  add(f, f->me, m, &h_a, NULL, "a", "ok", false, buf);
  tu_expect(f->me, "{a,init,ok}");
  add(f, f->me, m, &h_b, NULL, "b", "ok", true, buf);
  tu_expect(f->me, "{b,init,ok}");
  sync_notify(f, m, "{crash, b}");
  tu_expect(f->me, "{b,event,{crash,b}}");
  tu_expect(f->me, "{b,terminate,{error,{'EXIT',boom}}}");
  tu_expect(f->me, "{gen_event_EXIT,evh_b,{'EXIT',boom}}");
  tu_expect(f->me, "{a,event,{crash,b}}");
  assert_string_equal(which(f, m, buf), "[evh_a]");
  assert_true(strstr(tu_log_text, "evh_b crashed") != NULL);
  /* A crash in handle_call: {error, {'EXIT', R}} and removed. */
  assert_string_equal(gcall(f, m, "evh_a", "ping", buf), "{pong,a}");
  tu_expect(f->me, "{a,call,ping}");
  assert_string_equal(gcall(f, m, "evh_a", "crash", buf),
                      "{error,{'EXIT',call_boom}}");
  tu_expect(f->me, "{a,call,crash}");
  tu_expect(f->me, "{a,terminate,{error,{'EXIT',call_boom}}}");
  assert_string_equal(gcall(f, m, "evh_a", "ping", buf), "{error,bad_module}");
  assert_string_equal(which(f, m, buf), "[]");
  stop_mgr(f, m);
}

static void test_delete_and_remove(void **state) {
  fx_t *f = *state;
  char buf[128];
  otpc_pid_t m = start_mgr(f, NULL);
  add(f, f->me, m, &h_a, NULL, "a", "ok", true, buf);
  tu_expect(f->me, "{a,init,ok}");
  add(f, f->me, m, &h_b, NULL, "b", "ok", false, buf);
  tu_expect(f->me, "{b,init,ok}");
  otpc_buf_t hb, ab;
  otpc_gs_result_t r;
  assert_int_equal(
      otpc_gen_event_delete_handler_blocking(f->me, m, tu_term(&hb, "evh_a"),
                                             tu_term(&ab, "bye"), &r),
      0);
  assert_string_equal(res_str(&r, buf, sizeof buf), "{res,a}");
  tu_expect(f->me, "{a,terminate,bye}");
  tu_expect(f->me, "{gen_event_EXIT,evh_a,normal}");
  assert_int_equal(otpc_gen_event_delete_handler_blocking(
                       f->me, m, (otpc_term_t){hb.data, hb.len},
                       (otpc_term_t){ab.data, ab.len}, &r),
                   0);
  assert_string_equal(res_str(&r, buf, sizeof buf), "{error,module_not_found}");
  otpc_buf_free(&hb);
  otpc_buf_free(&ab);
  /* remove_handler from handle_event, and from handle_call. */
  sync_notify(f, m, "{remove, b}");
  tu_expect(f->me, "{b,event,{remove,b}}");
  tu_expect(f->me, "{b,terminate,remove_handler}");
  add(f, f->me, m, &h_b, NULL, "b", "ok", false, buf);
  tu_expect(f->me, "{b,init,ok}");
  assert_string_equal(gcall(f, m, "evh_b", "remove", buf), "removing");
  tu_expect(f->me, "{b,call,remove}");
  tu_expect(f->me, "{b,terminate,remove_handler}");
  assert_string_equal(which(f, m, buf), "[]");
  stop_mgr(f, m);
}

/* swap_handler: terminate(Args1) of the old one, init({Args2, Res}) of the
 * new one; from a callback it keeps the place, from the API it goes first. */
static void test_swap(void **state) {
  fx_t *f = *state;
  char buf[128];
  otpc_pid_t m = start_mgr(f, NULL);
  add(f, f->me, m, &h_a, NULL, "a", "ok", true, buf);
  tu_expect(f->me, "{a,init,ok}");
  add(f, f->me, m, &h_a, "2", "a2", "ok", false, buf);
  tu_expect(f->me, "{a2,init,ok}");
  sync_notify(f, m, "{swap, a}");
  tu_expect(f->me, "{a2,event,{swap,a}}");
  tu_expect(f->me, "{a,event,{swap,a}}");
  tu_expect(f->me, "{a,terminate,swap_args1}");
  char want[160], pb[64];
  snprintf(want, sizeof want, "{gen_event_EXIT,evh_a,{swapped,evh_b,%s}}",
           tu_pidstr(f->mepid, pb, sizeof pb));
  tu_expect(f->me, want);
  tu_expect(f->me, "{swapped_in,init_swapped,{res,a}}");
  /* In a's place, and still supervised by us. */
  assert_string_equal(which(f, m, buf), "[{evh_a,2},evh_b]");
  otpc_buf_t h1, a1, id2, a2;
  otpc_pid_t ctl = f->mepid;
  otpc_gs_result_t r;
  assert_int_equal(otpc_gen_event_swap_handler_blocking(
                       f->me, m, tu_term(&h1, "{evh_a, 2}"), tu_term(&a1, "x1"),
                       &h_b, tu_term(&id2, "9"),
                       tu_term(&a2, "{~p, s2, ok}", &ctl), &r),
                   0);
  assert_string_equal(res_str(&r, buf, sizeof buf), "ok");
  tu_expect(f->me, "{a2,terminate,x1}");
  tu_expect(f->me, "{s2,init_swapped,{res,a2}}");
  assert_string_equal(which(f, m, buf), "[{evh_b,9},evh_b]");
  otpc_buf_free(&h1);
  otpc_buf_free(&a2);
  /* The old one missing: the new one still comes, with Res = error. */
  assert_int_equal(otpc_gen_event_swap_handler_blocking(
                       f->me, m, tu_term(&h1, "nope"),
                       (otpc_term_t){a1.data, a1.len}, &h_a, (otpc_term_t){0},
                       tu_term(&a2, "{~p, s3, ok}", &ctl), &r),
                   0);
  assert_string_equal(res_str(&r, buf, sizeof buf), "ok");
  tu_expect(f->me, "{s3,init_swapped,error}");
  assert_string_equal(which(f, m, buf), "[evh_a,{evh_b,9},evh_b]");
  otpc_buf_free(&h1);
  otpc_buf_free(&a1);
  otpc_buf_free(&id2);
  otpc_buf_free(&a2);
  stop_mgr(f, m);
  tu_expect(f->me, "{s3,terminate,stop}");
  tu_expect(f->me, "{s2,terminate,stop}");
  tu_expect(f->me, "{swapped_in,terminate,stop}");
  snprintf(want, sizeof want, "{gen_event_EXIT,evh_b,shutdown}");
  tu_expect(f->me, want);
}

/* The supervising process's exit removes its handlers with {stop, R}. */
static void test_sup_exit(void **state) {
  fx_t *f = *state;
  char buf[128];
  otpc_pid_t m = start_mgr(f, NULL);
  otpc_proc_t *sup;
  assert_int_equal(otpc_thread_attach(f->rt, &sup), 0);
  add(f, sup, m, &h_a, NULL, "a", "ok", true, buf);
  tu_expect(f->me, "{a,init,ok}");
  add(f, f->me, m, &h_b, NULL, "b", "ok", false, buf);
  tu_expect(f->me, "{b,init,ok}");
  otpc_pid_t sp = otpc_self(sup);
  otpc_buf_t b;
  otpc_thread_detach(sup, tu_term(&b, "gone"));
  otpc_buf_free(&b);
  tu_expect(f->me, "{a,terminate,{stop,gone}}");
  char want[160], ps_[64];
  snprintf(want, sizeof want, "{b,info,{'EXIT',%s,gone}}",
           tu_pidstr(sp, ps_, sizeof ps_));
  tu_expect(f->me, want);
  assert_string_equal(which(f, m, buf), "[evh_b]");
  stop_mgr(f, m);
  tu_expect(f->me, "{b,terminate,stop}");
}

/* otpc_gen_event_notify's return for an event from a format. */
static int notify(fx_t *f, otpc_pid_t m, const char *ev) {
  otpc_buf_t b;
  int rc = otpc_gen_event_notify(f->me, m, tu_term(&b, ev), NULL, NULL);
  otpc_buf_free(&b);
  return rc;
}

static void set_gate(bool open) {
  pthread_mutex_lock(&gate_lock);
  gate_open = open;
  pthread_cond_broadcast(&gate_cond);
  pthread_mutex_unlock(&gate_lock);
}

/* A bounded manager whose one handler is held inside a `gate` event (a
 * counted notification, still queued until the gate opens). */
static otpc_pid_t held_manager(fx_t *f, const otpc_ge_start_opts_t *o) {
  char buf[128];
  otpc_pid_t m = start_mgr(f, o);
  add(f, f->me, m, &h_a, NULL, "a", "ok", false, buf);
  tu_expect(f->me, "{a,init,ok}");
  set_gate(false);
  assert_int_equal(notify(f, m, "gate"), 0);
  tu_expect(f->me, "{a,event,gate}"); /* the manager is held now */
  return m;
}

/* Back-pressure: a full bound drops (counted) or makes the notifier wait;
 * sync_notify is never counted. */
static void test_bounded_drop(void **state) {
  fx_t *f = *state;
  otpc_ge_start_opts_t o = {false, NULL, 2, OTPC_GE_DROP};
  otpc_pid_t m = held_manager(f, &o);
  assert_int_equal(notify(f, m, "e2"), 0);
  assert_int_equal(notify(f, m, "e3"), OTPC_ELIMIT);
  otpc_ge_stats_t st;
  assert_int_equal(otpc_gen_event_stats(m, &st), 0);
  assert_int_equal(st.queued, 2);
  assert_int_equal(st.dropped, 1);
  assert_int_equal(st.max_queue, 2);
  set_gate(true);
  sync_notify(f, m, "s");
  tu_expect(f->me, "{a,event,e2}");
  tu_expect(f->me, "{a,event,s}");
  assert_int_equal(otpc_gen_event_stats(m, &st), 0);
  assert_int_equal(st.queued, 0);
  assert_int_equal(st.dropped, 1);
  stop_mgr(f, m);
  tu_expect(f->me, "{a,terminate,stop}");
  assert_int_equal(otpc_gen_event_stats(m, &st), OTPC_ENOTFOUND);
}

static void test_bounded_block(void **state) {
  fx_t *f = *state;
  otpc_ge_start_opts_t o = {false, NULL, 1, OTPC_GE_BLOCK};
  otpc_pid_t m = held_manager(f, &o);
  /* Full, and no continuation to wait with: refused, not dropped. */
  assert_int_equal(notify(f, m, "e2"), OTPC_ELIMIT);
  set_gate(true);
  /* Waits (as a sync_notify) if the gate event is still counted. */
  otpc_buf_t b;
  assert_int_equal(otpc_gen_event_notify_blocking(f->me, m, tu_term(&b, "e3")),
                   0);
  otpc_buf_free(&b);
  tu_expect(f->me, "{a,event,e3}");
  otpc_ge_stats_t st;
  assert_int_equal(otpc_gen_event_stats(m, &st), 0);
  assert_int_equal(st.dropped, 0);
  stop_mgr(f, m);
  tu_expect(f->me, "{a,terminate,stop}");
}

/* A C process notifying a full OTPC_GE_BLOCK manager: notify returns 1
 * and its continuation runs once the handlers saw the event. */
typedef struct notifier_arg {
  otpc_pid_t ctl, mgr;
} notifier_arg_t;

static void on_unblocked(otpc_proc_t *self, void *state,
                         const otpc_gs_result_t *res, void *ctx) {
  const notifier_arg_t *a = state;
  (void)ctx;
  otpc_sendf(self, a->ctl, "{unblocked, ~i}", (int)res->status);
}

static void notifier_init(otpc_proc_t *self, void *state, void *arg) {
  notifier_arg_t *a = state;
  *a = *(const notifier_arg_t *)arg;
  otpc_buf_t b;
  int rc = otpc_gen_event_notify(self, a->mgr, tu_term(&b, "e2"), on_unblocked,
                                 NULL);
  otpc_buf_free(&b);
  otpc_sendf(self, a->ctl, "{notify_rc, ~i}", rc);
}

static const otpc_proc_class_t notifier_class = {
    "notifier", sizeof(notifier_arg_t), notifier_init, NULL, NULL};

static void test_bounded_block_continuation(void **state) {
  fx_t *f = *state;
  otpc_ge_start_opts_t o = {false, NULL, 1, OTPC_GE_BLOCK};
  otpc_pid_t m = held_manager(f, &o);
  notifier_arg_t a = {f->mepid, m};
  otpc_pid_t n;
  assert_int_equal(otpc_rt_spawn(f->rt, &notifier_class, &a, NULL, &n), 0);
  tu_expect(f->me, "{notify_rc,1}");
  set_gate(true);
  tu_expect(f->me, "{a,event,e2}");
  tu_expect(f->me, "{unblocked,0}");
  otpc_ge_stats_t st;
  assert_int_equal(otpc_gen_event_stats(m, &st), 0);
  assert_int_equal(st.dropped, 0);
  stop_mgr(f, m);
  tu_expect(f->me, "{a,terminate,stop}");
}

int main(void) {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_add_notify_order),
      T(test_init_failures),
      T(test_crash_removes),
      T(test_delete_and_remove),
      T(test_swap),
      T(test_sup_exit),
      T(test_bounded_drop),
      T(test_bounded_block),
      T(test_bounded_block_continuation),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
