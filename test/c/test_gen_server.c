/* gen_server: every init result, call/cast/info order, timeouts (the
 * caller's and the server's own), continue, stop with and without
 * trap_exit, calls to dead and crashing servers, late replies, deferred
 * replies, and the same from a C process (continuations). The test's
 * thread process observes by blocking receives: no sleeps. */
#include "rt_fixture.h"

#include "otpc/gen_server.h"

typedef struct srv_arg {
  otpc_pid_t ctl;
  const char *mode; /* init: ok timeout continue ignore stop crash trap */
} srv_arg_t;

typedef struct srv {
  otpc_pid_t ctl;
  int count;
  otpc_gs_from_t saved;
} srv_t;

static void srv_init(otpc_gs_t *gs, void *state, void *arg) {
  srv_t *s = state;
  const srv_arg_t *a = arg;
  s->ctl = a->ctl;
  if (strcmp(a->mode, "timeout") == 0) {
    otpc_gs_timeout(gs, 0);
  } else if (strcmp(a->mode, "ignore") == 0) {
    otpc_gs_ignore(gs);
  } else if (strcmp(a->mode, "stop") == 0) {
    otpc_gs_stopf(gs, "{bad_config, 42}");
  } else if (strcmp(a->mode, "crash") == 0) {
    otpc_exitf(otpc_gs_proc(gs), "init_crashed");
  } else if (strcmp(a->mode, "trap") == 0) {
    otpc_trap_exit(otpc_gs_proc(gs), true);
  } else if (strcmp(a->mode, "hibernate") == 0) {
    otpc_gs_hibernate(gs);
  }
}

/* init returning {ok, S, {continue, from_init}}. */
static void srv_init_continue(otpc_gs_t *gs, void *state, void *arg) {
  srv_t *s = state;
  const srv_arg_t *a = arg;
  s->ctl = a->ctl;
  otpc_buf_t b;
  otpc_gs_continue(gs, tu_term(&b, "from_init"));
  otpc_buf_free(&b);
}

/* The inner call's result becomes the outer call's reply. */
static void on_relay(otpc_gs_t *gs, void *state, const otpc_gs_result_t *res,
                     void *ctx) {
  (void)state;
  (void)ctx;
  otpc_term_t nil = {(const uint8_t *)"\152", 1};
  otpc_term_t t = res->term != NULL ? otpc_msg_term(res->term) : nil;
  otpc_gs_replyf(gs, "{relayed, ~i, ~t}", (int)res->status, &t);
}

static void srv_call(otpc_gs_t *gs, void *state, otpc_term_t req,
                     const otpc_gs_from_t *from) {
  srv_t *s = state;
  otpc_term_t x;
  int64_t n;
  otpc_pid_t to;
  if (otpc_term_match(req, NULL, "{relay, ~p, ~t, ~I}", &to, &x, &n) == 0) {
    assert_int_equal(otpc_gs_call(gs, to, x, n, on_relay, NULL), 0);
    /* One call at a time. */
    assert_int_equal(otpc_gs_call(gs, to, x, n, on_relay, NULL), OTPC_EINVAL);
  } else if (otpc_term_is_atom(req, "ping") == 1) {
    otpc_gs_replyf(gs, "pong");
  } else if (otpc_term_match(req, NULL, "{echo, ~t}", &x) == 0) {
    otpc_gs_reply(gs, x);
  } else if (otpc_term_is_atom(req, "count") == 1) {
    otpc_gs_replyf(gs, "{count, ~i}", s->count);
  } else if (otpc_term_is_atom(req, "defer") == 1) {
    s->saved = *from; /* {noreply, S}: the reply comes later */
  } else if (otpc_term_match(req, NULL, "{stop, ~t}", &x) == 0) {
    otpc_gs_replyf(gs, "stopping");
    otpc_gs_stop(gs, x);
  } else if (otpc_term_match(req, NULL, "{stop_noreply, ~t}", &x) == 0) {
    otpc_gs_stop(gs, x);
  } else if (otpc_term_is_atom(req, "crash") == 1) {
    otpc_exitf(otpc_gs_proc(gs), "{crashed, in_call}");
  } else if (otpc_term_match(req, NULL, "{timeout, ~I}", &n) == 0) {
    otpc_gs_replyf(gs, "ok");
    otpc_gs_timeout(gs, n);
  } else if (otpc_term_match(req, NULL, "{continue, ~t}", &x) == 0) {
    otpc_gs_replyf(gs, "ok");
    otpc_gs_continue(gs, x);
  } else {
    otpc_gs_replyf(gs, "{unknown, ~t}", &req);
  }
}

static void srv_cast(otpc_gs_t *gs, void *state, otpc_term_t req) {
  srv_t *s = state;
  otpc_term_t x;
  s->count++;
  if (otpc_term_match(req, NULL, "{release, ~t}", &x) == 0) {
    otpc_gen_server_reply(otpc_gs_proc(gs), &s->saved, x);
  } else if (otpc_term_match(req, NULL, "{stop, ~t}", &x) == 0) {
    otpc_gs_stop(gs, x);
  } else {
    otpc_sendf(otpc_gs_proc(gs), s->ctl, "{cast, ~t}", &req);
  }
}

static void srv_info(otpc_gs_t *gs, void *state, otpc_term_t info) {
  srv_t *s = state;
  otpc_sendf(otpc_gs_proc(gs), s->ctl, "{info, ~t}", &info);
}

static void srv_continue(otpc_gs_t *gs, void *state, otpc_term_t c) {
  srv_t *s = state;
  otpc_sendf(otpc_gs_proc(gs), s->ctl, "{continue, ~t}", &c);
  if (otpc_term_is_atom(c, "again") == 1) {
    otpc_buf_t b;
    otpc_gs_continue(gs, tu_term(&b, "done"));
    otpc_buf_free(&b);
  }
}

static void srv_terminate(otpc_gs_t *gs, void *state, otpc_term_t reason) {
  srv_t *s = state;
  otpc_sendf(otpc_gs_proc(gs), s->ctl, "{terminate, ~t}", &reason);
}

static const otpc_gen_server_t srv = {"test_srv",   sizeof(srv_t), srv_init,
                                      srv_call,     srv_cast,      srv_info,
                                      srv_continue, srv_terminate, NULL};

static const otpc_gen_server_t srv_cont = {
    "test_srv", sizeof(srv_t), srv_init_continue, srv_call, srv_cast,
    srv_info,   srv_continue,  srv_terminate,     NULL};

static otpc_gs_result_t start_mode(fx_t *f, const otpc_gen_server_t *cls,
                                   const char *mode, bool link,
                                   const char *name) {
  srv_arg_t a = {f->mepid, mode};
  otpc_gs_start_opts_t o = {link, name};
  otpc_gs_result_t r;
  assert_int_equal(otpc_gen_server_start_blocking(f->me, cls, &a, &o, &r), 0);
  return r;
}

static otpc_pid_t start_ok(fx_t *f, const char *mode) {
  otpc_gs_result_t r = start_mode(f, &srv, mode, false, NULL);
  assert_int_equal(r.status, OTPC_GS_OK);
  assert_null(r.term);
  return r.pid;
}

/* Calls and returns the reply printed (or the status and reason). */
static const char *call(fx_t *f, otpc_pid_t s, const char *req, int64_t timeout,
                        char *out, size_t n) {
  otpc_buf_t b;
  otpc_term_t t = tu_term(&b, req);
  otpc_gs_result_t r;
  assert_int_equal(otpc_gen_server_call_blocking(f->me, s, t, timeout, &r), 0);
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

static void cast(fx_t *f, otpc_pid_t s, const char *req) {
  otpc_buf_t b;
  assert_int_equal(otpc_gen_server_cast(f->me, s, tu_term(&b, req)), 0);
  otpc_buf_free(&b);
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

/* ------------------------------------------------------------ init */

static void test_init_ok_and_call(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "ok");
  char buf[300];
  assert_string_equal(call(f, s, "ping", 1000, buf, sizeof buf), "ok pong");
  assert_string_equal(
      call(f, s, "{echo, {a, [1,2], <<\"b\">>}}", -1, buf, sizeof buf),
      "ok {a,[1,2],<<\"b\">>}");
  otpc_ref_t r = mon(f, s);
  otpc_gs_result_t res;
  otpc_buf_t b;
  assert_int_equal(otpc_gen_server_stop_blocking(
                       f->me, s, tu_term(&b, "normal"), 1000, &res),
                   0);
  otpc_buf_free(&b);
  assert_int_equal(res.status, OTPC_GS_OK);
  tu_expect(f->me, "{terminate,normal}");
  expect_down(f, r, "normal");
}

static void test_init_hibernate(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "hibernate");
  char buf[300];
  assert_string_equal(call(f, s, "ping", 1000, buf, sizeof buf), "ok pong");
}

static void test_init_ignore(void **state) {
  fx_t *f = *state;
  otpc_gs_result_t r = start_mode(f, &srv, "ignore", false, NULL);
  assert_int_equal(r.status, OTPC_GS_IGNORE);
  assert_null(r.term);
}

static void test_init_stop(void **state) {
  fx_t *f = *state;
  otpc_gs_result_t r = start_mode(f, &srv, "stop", false, NULL);
  assert_int_equal(r.status, OTPC_GS_ERROR);
  char buf[128];
  assert_string_equal(tu_str(r.term, buf, sizeof buf), "{bad_config,42}");
  otpc_msg_unref(r.term);
  /* No terminate after a failed init, as OTP. */
}

static void test_init_crash(void **state) {
  fx_t *f = *state;
  otpc_gs_result_t r = start_mode(f, &srv, "crash", false, NULL);
  assert_int_equal(r.status, OTPC_GS_ERROR);
  char buf[128];
  assert_string_equal(tu_str(r.term, buf, sizeof buf), "init_crashed");
  otpc_msg_unref(r.term);
}

static void test_init_timeout(void **state) {
  fx_t *f = *state;
  start_ok(f, "timeout");
  /* {ok, S, 0}: nothing queued, so `timeout` comes as handle_info. */
  tu_expect(f->me, "{info,timeout}");
}

static void test_init_continue(void **state) {
  fx_t *f = *state;
  otpc_gs_result_t r = start_mode(f, &srv_cont, "ok", false, NULL);
  assert_int_equal(r.status, OTPC_GS_OK);
  tu_expect(f->me, "{continue,from_init}");
}

static void test_registered_name(void **state) {
  fx_t *f = *state;
  otpc_gs_result_t r = start_mode(f, &srv, "ok", false, "gs_test_name");
  assert_int_equal(r.status, OTPC_GS_OK);
  otpc_pid_t w;
  assert_int_equal(otpc_whereis(f->rt, tu_atom("gs_test_name"), &w), 0);
  assert_memory_equal(&w, &r.pid, sizeof w);
  otpc_gs_result_t r2 = start_mode(f, &srv, "ok", false, "gs_test_name");
  assert_int_equal(r2.status, OTPC_GS_ERROR);
  char buf[128], exp[128], p[64];
  snprintf(exp, sizeof exp, "{already_started,%s}",
           tu_pidstr(r.pid, p, sizeof p));
  assert_string_equal(tu_str(r2.term, buf, sizeof buf), exp);
  otpc_msg_unref(r2.term);
  /* Calls and casts by name; an unknown name is noproc (call) or ok. */
  otpc_buf_t b;
  otpc_gs_result_t res;
  assert_int_equal(
      otpc_gen_server_call_name_blocking(f->me, tu_atom("gs_test_name"),
                                         tu_term(&b, "ping"), 1000, &res),
      0);
  assert_int_equal(res.status, OTPC_GS_OK);
  assert_string_equal(tu_str(res.term, buf, sizeof buf), "pong");
  otpc_msg_unref(res.term);
  assert_int_equal(otpc_gen_server_call_name_blocking(
                       f->me, tu_atom("gs_nobody"),
                       (otpc_term_t){b.data, b.len}, 1000, &res),
                   0);
  assert_int_equal(res.status, OTPC_GS_NOPROC);
  assert_null(res.term);
  assert_int_equal(otpc_gen_server_cast_name(f->me, tu_atom("gs_nobody"),
                                             (otpc_term_t){b.data, b.len}),
                   0);
  assert_int_equal(otpc_gen_server_cast_name(f->me, tu_atom("gs_test_name"),
                                             (otpc_term_t){b.data, b.len}),
                   0);
  otpc_buf_free(&b);
  tu_expect(f->me, "{cast,ping}");
}

/* ------------------------------------------------------- messages */

static void test_order(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "ok");
  cast(f, s, "a");
  tu_send(f->me, s, tu_msg("b"));
  char buf[300];
  /* The reply is taken out of order; the rest stays queued in order. */
  assert_string_equal(call(f, s, "count", 1000, buf, sizeof buf),
                      "ok {count,1}");
  cast(f, s, "c");
  tu_expect(f->me, "{cast,a}");
  tu_expect(f->me, "{info,b}");
  tu_expect(f->me, "{cast,c}");
}

static void test_server_timeout(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "ok");
  char buf[300];
  assert_string_equal(call(f, s, "{timeout, 20}", 1000, buf, sizeof buf),
                      "ok ok");
  tu_expect(f->me, "{info,timeout}");
  /* A message before the timeout cancels it. */
  assert_string_equal(call(f, s, "{timeout, 100000}", 1000, buf, sizeof buf),
                      "ok ok");
  cast(f, s, "x");
  tu_expect(f->me, "{cast,x}");
  assert_string_equal(call(f, s, "{timeout, 0}", 1000, buf, sizeof buf),
                      "ok ok");
  tu_expect(f->me, "{info,timeout}");
  assert_string_equal(call(f, s, "ping", 1000, buf, sizeof buf), "ok pong");
  tu_expect_empty(f->me);
}

static void test_continue_chain(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "ok");
  char buf[300];
  assert_string_equal(call(f, s, "{continue, again}", 1000, buf, sizeof buf),
                      "ok ok");
  tu_expect(f->me, "{continue,again}");
  tu_expect(f->me, "{continue,done}");
}

/* ----------------------------------------------------------- stop */

static void test_stop_with_reply(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "ok");
  otpc_ref_t r = mon(f, s);
  char buf[300];
  assert_string_equal(call(f, s, "{stop, normal}", 1000, buf, sizeof buf),
                      "ok stopping");
  /* terminate ran before the reply went out. */
  tu_expect(f->me, "{terminate,normal}");
  expect_down(f, r, "normal");
}

static void test_stop_noreply(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "ok");
  char buf[300];
  assert_string_equal(
      call(f, s, "{stop_noreply, {shutdown, x}}", 1000, buf, sizeof buf),
      "exit {shutdown,x}");
  tu_expect(f->me, "{terminate,{shutdown,x}}");
}

static void test_stop_from_cast(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "ok");
  otpc_ref_t r = mon(f, s);
  cast(f, s, "{stop, bye}");
  tu_expect(f->me, "{terminate,bye}");
  expect_down(f, r, "bye");
}

static void test_stop_api(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "ok");
  otpc_gs_result_t res;
  otpc_buf_t b;
  assert_int_equal(otpc_gen_server_stop_blocking(
                       f->me, s, tu_term(&b, "{shutdown, api}"), 1000, &res),
                   0);
  otpc_buf_free(&b);
  assert_int_equal(res.status, OTPC_GS_OK);
  tu_expect(f->me, "{terminate,{shutdown,api}}");
  /* Now it is gone: noproc. */
  assert_int_equal(otpc_gen_server_stop_blocking(
                       f->me, s, tu_term(&b, "normal"), 1000, &res),
                   0);
  otpc_buf_free(&b);
  assert_int_equal(res.status, OTPC_GS_NOPROC);
}

/* Parent exit: a trapping server runs terminate with the parent's reason;
 * one not trapping just dies. The thread process is the parent here, so
 * it sends the exit signal with the parent's pid by exiting... it cannot
 * exit itself, so a linked agent starts the server instead (below, from a
 * C process). Here: an exit signal from a non-parent to a trapping server
 * is an ordinary handle_info. */
static void test_exit_from_other_is_info(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "trap");
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  char buf[300], p[64];
  tu_send(f->me, a, tu_msg("{link, ~p}", &s));
  tu_expect(f->me, (snprintf(buf, sizeof buf, "{done,%s,0}",
                             tu_pidstr(a, p, sizeof p)),
                    buf));
  tu_send(f->me, a, tu_msg("{exit, boom}"));
  snprintf(buf, sizeof buf, "{info,{'EXIT',%s,boom}}", p);
  tu_expect(f->me, buf);
}

static void test_killed_no_terminate(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "trap");
  otpc_ref_t r = mon(f, s);
  otpc_buf_t b;
  assert_int_equal(otpc_exit_signal(f->me, s, tu_term(&b, "kill")), 0);
  otpc_buf_free(&b);
  expect_down(f, r, "killed");
  tu_expect_empty(f->me);
}

/* ---------------------------------------------------------- calls */

static void test_call_dead(void **state) {
  fx_t *f = *state;
  otpc_pid_t d = dead_pid(f);
  char buf[300];
  assert_string_equal(call(f, d, "ping", 1000, buf, sizeof buf), "noproc ");
}

static void test_call_crash(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "ok");
  char buf[300];
  assert_string_equal(call(f, s, "crash", 1000, buf, sizeof buf),
                      "exit {crashed,in_call}");
  /* A crash in a callback runs terminate with the reason, as OTP. */
  tu_expect(f->me, "{terminate,{crashed,in_call}}");
}

static void test_call_timeout_late_reply(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "ok");
  char buf[300];
  assert_string_equal(call(f, s, "defer", 20, buf, sizeof buf), "timeout ");
  /* The late reply is sent after the caller gave up: as OTP 25's gen:call,
   * the caller's alias is gone, so it is dropped... */
  cast(f, s, "{release, late}");
  /* ...and the next call does not take it for its own. The server sent the
   * late reply before this call's, so had it been delivered it would be
   * queued by now. */
  assert_string_equal(call(f, s, "ping", 1000, buf, sizeof buf), "ok pong");
  otpc_msg_t *m = NULL;
  assert_int_equal(otpc_thread_receive(f->me, NULL, NULL, 0, &m),
                   OTPC_ENOTFOUND);
}

static void test_deferred_reply(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "ok");
  /* The call and then the release, in this order from one sender: the
   * server stores From, then replies through it from handle_cast. */
  otpc_buf_t b;
  otpc_term_t rel = tu_term(&b, "{'$gen_cast', {release, {value, 7}}}");
  otpc_msg_t *relm = NULL;
  assert_int_equal(otpc_msg_from_term(rel, &relm), 0);
  otpc_buf_free(&b);
  otpc_buf_t q;
  otpc_term_t req = tu_term(&q, "defer");
  otpc_ref_t mref = mon(f, s);
  otpc_pid_t me = f->mepid;
  otpc_sendf(f->me, s, "{'$gen_call', {~p, ~r}, ~t}", &me, &mref, &req);
  otpc_buf_free(&q);
  assert_int_equal(otpc_send(f->me, s, relm), 0);
  otpc_msg_unref(relm);
  otpc_msg_t *m = tu_recv_match(f->me, otpc_match_ref, &mref);
  char buf[128];
  tu_str(m, buf, sizeof buf);
  assert_non_null(strstr(buf, ",{value,7}}"));
  otpc_msg_unref(m);
  otpc_demonitor(f->me, &mref, OTPC_DEMONITOR_FLUSH);
}

/* A server calling another from handle_call: the reply to its own caller
 * comes from the continuation; casts sent meanwhile wait their turn. */
static void test_server_calls_server(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = start_ok(f, "ok");
  otpc_pid_t b = start_ok(f, "ok");
  char buf[300];
  otpc_buf_t q;
  otpc_term_t req = tu_term(&q, "{relay, ~p, ping, 1000}", &b);
  otpc_gs_result_t r;
  assert_int_equal(otpc_gen_server_call_blocking(f->me, a, req, 1000, &r), 0);
  otpc_buf_free(&q);
  assert_int_equal(r.status, OTPC_GS_OK);
  assert_string_equal(tu_str(r.term, buf, sizeof buf), "{relayed,0,pong}");
  otpc_msg_unref(r.term);
  /* The inner call times out (b defers), and the late reply becomes an
   * info of a; a cast to a queued during the wait runs after. */
  req = tu_term(&q, "{relay, ~p, defer, 30}", &b);
  otpc_pid_t me = f->mepid;
  otpc_ref_t mref = mon(f, a);
  otpc_sendf(f->me, a, "{'$gen_call', {~p, ~r}, ~t}", &me, &mref, &req);
  otpc_buf_free(&q);
  cast(f, a, "during");
  otpc_msg_t *m = tu_recv_match(f->me, otpc_match_ref, &mref);
  assert_non_null(strstr(tu_str(m, buf, sizeof buf), ",{relayed,4,[]}}"));
  otpc_msg_unref(m);
  otpc_demonitor(f->me, &mref, OTPC_DEMONITOR_FLUSH);
  tu_expect(f->me, "{cast,during}");
  /* Relay to a dead server: noproc. */
  otpc_pid_t d = dead_pid(f);
  req = tu_term(&q, "{relay, ~p, ping, 1000}", &d);
  assert_int_equal(otpc_gen_server_call_blocking(f->me, a, req, 1000, &r), 0);
  otpc_buf_free(&q);
  assert_string_equal(tu_str(r.term, buf, sizeof buf), "{relayed,3,[]}");
  otpc_msg_unref(r.term);
}

/* A tag as OTP 25 sends it, [alias | Ref], with a long node name: the
 * reply carries it back unchanged. */
static void test_alias_tag(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "ok");
  char node[200];
  memset(node, 'n', sizeof node);
  memcpy(node + 100, "@host", 6);
  otpc_ref_t r;
  memset(&r, 0, sizeof r);
  r.node = tu_atom(node);
  r.len = 5;
  r.id[0] = 1;
  otpc_pid_t me = f->mepid;
  tu_send(f->me, s, tu_msg("{'$gen_call', {~p, [alias | ~r]}, ping}", &me, &r));
  otpc_msg_t *m = tu_recv(f->me);
  otpc_ref_t got;
  assert_int_equal(
      otpc_term_match(otpc_msg_term(m), NULL, "{[alias | ~r], pong}", &got), 0);
  assert_memory_equal(&got.id, &r.id, sizeof r.id);
  otpc_msg_unref(m);
}

/* Many C processes calling one server at once, on two schedulers: every
 * call gets its own reply, none is lost or crossed. */
typedef struct hammer {
  otpc_pid_t ctl, server;
  int left, sum;
} hammer_t;

static void hammer_next(otpc_proc_t *self, hammer_t *h);

static void on_hammer(otpc_proc_t *self, void *state,
                      const otpc_gs_result_t *res, void *ctx) {
  hammer_t *h = state;
  int v = -1;
  assert_int_equal(res->status, OTPC_GS_OK);
  assert_int_equal(
      otpc_term_match(otpc_msg_term(res->term), NULL, "{n, ~i}", &v), 0);
  assert_int_equal(v, (int)(intptr_t)ctx);
  h->sum += v;
  hammer_next(self, h);
}

static void hammer_next(otpc_proc_t *self, hammer_t *h) {
  if (h->left == 0) {
    otpc_sendf(self, h->ctl, "{sum, ~i}", h->sum);
    return;
  }
  int n = h->left--;
  otpc_buf_t b;
  otpc_term_t req = tu_term(&b, "{echo, {n, ~i}}", n);
  assert_int_equal(otpc_gen_server_call(self, h->server, req, 5000, on_hammer,
                                        (void *)(intptr_t)n),
                   0);
  otpc_buf_free(&b);
}

static void hammer_init(otpc_proc_t *self, void *state, void *arg) {
  hammer_t *h = state;
  *h = *(hammer_t *)arg;
  hammer_next(self, h);
}

static const otpc_proc_class_t hammer_class = {"hammer", sizeof(hammer_t),
                                               hammer_init, NULL, NULL};

static void test_many_callers(void **state) {
  fx_t *f = *state;
  otpc_pid_t s = start_ok(f, "ok");
  enum { CALLERS = 16, CALLS = 300 };
  hammer_t h = {f->mepid, s, CALLS, 0};
  for (int i = 0; i < CALLERS; i++) {
    otpc_pid_t p;
    assert_int_equal(otpc_rt_spawn(f->rt, &hammer_class, &h, NULL, &p), 0);
  }
  for (int i = 0; i < CALLERS; i++)
    tu_expect(f->me, "{sum,45150}");
}

/* ------------------------------------------------- from a C process */

/* A client process: starts a linked server (trap or not, from its arg),
 * calls it, reports each result to ctl; exits with a reason on command. */
typedef struct client {
  otpc_pid_t ctl;
  otpc_pid_t server;
  srv_arg_t sa;
} client_t;

static void report(otpc_proc_t *self, client_t *c, const char *what,
                   const otpc_gs_result_t *res) {
  otpc_term_t nil = {(const uint8_t *)"\152", 1};
  otpc_term_t t = res->term != NULL ? otpc_msg_term(res->term) : nil;
  otpc_sendf(self, c->ctl, "{~a, ~i, ~t}", what, (int)res->status, &t);
}

static void on_call(otpc_proc_t *self, void *state, const otpc_gs_result_t *res,
                    void *ctx) {
  (void)ctx;
  report(self, state, "call", res);
}

static void on_start(otpc_proc_t *self, void *state,
                     const otpc_gs_result_t *res, void *ctx) {
  (void)ctx;
  client_t *c = state;
  c->server = res->pid;
  otpc_sendf(self, c->ctl, "{started, ~i, ~p}", (int)res->status, &res->pid);
}

static void client_init(otpc_proc_t *self, void *state, void *arg) {
  client_t *c = state;
  c->sa = *(srv_arg_t *)arg;
  c->ctl = c->sa.ctl;
  otpc_gs_start_opts_t o = {true, NULL};
  assert_int_equal(
      otpc_gen_server_start(self, &srv, &c->sa, &o, on_start, NULL), 0);
}

static void client_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  client_t *c = state;
  otpc_term_t t = otpc_msg_term(msg), x;
  int tmo;
  if (otpc_term_match(t, NULL, "{call, ~t, ~i}", &x, &tmo) == 0) {
    assert_int_equal(
        otpc_gen_server_call(self, c->server, x, tmo, on_call, NULL), 0);
  } else if (otpc_term_match(t, NULL, "{exit, ~t}", &x) == 0) {
    otpc_exit(self, x);
  } else {
    otpc_sendf(self, c->ctl, "{client_got, ~t}", &t);
  }
}

static const otpc_proc_class_t client_class = {
    "client", sizeof(client_t), client_init, client_handle, NULL};

static otpc_pid_t start_client(fx_t *f, const char *mode, otpc_pid_t *server,
                               bool trap_client) {
  static srv_arg_t sa;
  sa.ctl = f->mepid;
  sa.mode = mode;
  otpc_spawn_opts_t o;
  memset(&o, 0, sizeof o);
  o.trap_exit = trap_client;
  otpc_pid_t c;
  assert_int_equal(otpc_rt_spawn(f->rt, &client_class, &sa, &o, &c), 0);
  otpc_msg_t *m = tu_recv(f->me);
  int st;
  assert_int_equal(
      otpc_term_match(otpc_msg_term(m), NULL, "{started, ~i, ~p}", &st, server),
      0);
  assert_int_equal(st, OTPC_GS_OK);
  otpc_msg_unref(m);
  return c;
}

static void test_client_process_calls(void **state) {
  fx_t *f = *state;
  otpc_pid_t s;
  /* The client traps exits so that it outlives the crash below and its
   * continuation runs (a waiter killed mid-call leaks its wait context:
   * see docs/behaviours.md). */
  otpc_pid_t c = start_client(f, "ok", &s, true);
  tu_send(f->me, c, tu_msg("{call, ping, 1000}"));
  tu_send(f->me, c, tu_msg("other"));
  tu_expect(f->me, "{call,0,pong}");
  tu_expect(f->me, "{client_got,other}");
  tu_send(f->me, c, tu_msg("{call, defer, 10}"));
  tu_expect(f->me, "{call,4,[]}");
  tu_send(f->me, c, tu_msg("{call, crash, 1000}"));
  tu_expect(f->me, "{terminate,{crashed,in_call}}");
  /* The continuation gets the reason; the link's 'EXIT' is a message. The
   * two come from one sender but as different signals: either order. */
  char a[256], b[256], p[64], exit[256];
  otpc_msg_t *m1 = tu_recv(f->me), *m2 = tu_recv(f->me);
  tu_str(m1, a, sizeof a);
  tu_str(m2, b, sizeof b);
  otpc_msg_unref(m1);
  otpc_msg_unref(m2);
  snprintf(exit, sizeof exit, "{client_got,{'EXIT',%s,{crashed,in_call}}}",
           tu_pidstr(s, p, sizeof p));
  const char *call_rep = "{call,5,{crashed,in_call}}";
  assert_true((strcmp(a, call_rep) == 0 && strcmp(b, exit) == 0) ||
              (strcmp(b, call_rep) == 0 && strcmp(a, exit) == 0));
  otpc_ref_t r = mon(f, c);
  tu_send(f->me, c, tu_msg("{exit, normal}"));
  expect_down(f, r, "normal");
}

static void test_parent_exit_trapping(void **state) {
  fx_t *f = *state;
  otpc_pid_t s;
  otpc_pid_t c = start_client(f, "trap", &s, false);
  otpc_ref_t r = mon(f, s);
  tu_send(f->me, c, tu_msg("{exit, parent_gone}"));
  tu_expect(f->me, "{terminate,parent_gone}");
  expect_down(f, r, "parent_gone");
}

static void test_parent_exit_not_trapping(void **state) {
  fx_t *f = *state;
  otpc_pid_t s;
  otpc_pid_t c = start_client(f, "ok", &s, false);
  otpc_ref_t r = mon(f, s);
  tu_send(f->me, c, tu_msg("{exit, parent_gone}"));
  expect_down(f, r, "parent_gone");
  tu_expect_empty(f->me); /* no terminate */
}

int main(void) {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_init_ok_and_call),
      T(test_init_hibernate),
      T(test_init_ignore),
      T(test_init_stop),
      T(test_init_crash),
      T(test_init_timeout),
      T(test_init_continue),
      T(test_registered_name),
      T(test_order),
      T(test_server_timeout),
      T(test_continue_chain),
      T(test_stop_with_reply),
      T(test_stop_noreply),
      T(test_stop_from_cast),
      T(test_stop_api),
      T(test_exit_from_other_is_info),
      T(test_killed_no_terminate),
      T(test_call_dead),
      T(test_call_crash),
      T(test_call_timeout_late_reply),
      T(test_deferred_reply),
      T(test_server_calls_server),
      T(test_alias_tag),
      T(test_many_callers),
      T(test_client_process_calls),
      T(test_parent_exit_trapping),
      T(test_parent_exit_not_trapping),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
