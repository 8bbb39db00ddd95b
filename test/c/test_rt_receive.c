/* Selective receive: matching messages skip the queue, the others stay in
 * order; timeouts (after N, after 0); continuations that wait again;
 * otpc_yield. */
#include <stdatomic.h>

#include "rt_fixture.h"

typedef struct sel {
  otpc_pid_t ctl;
  otpc_ref_t ref;
  int steps;
} sel_t;

static bool match_go(otpc_term_t t, const void *arg) {
  (void)arg;
  return otpc_term_is_atom(t, "go") == 1;
}

static void sel_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  sel_t *s = state;
  s->ctl = *(otpc_pid_t *)arg;
}

static void on_ref(otpc_proc_t *self, void *state, otpc_msg_t *msg, void *ctx) {
  (void)ctx;
  sel_t *s = state;
  if (msg == NULL) {
    otpc_sendf(self, s->ctl, "timeout");
  } else {
    otpc_term_t t = otpc_msg_term(msg);
    otpc_sendf(self, s->ctl, "{matched, ~t}", &t);
  }
}

/* After `go`: look for the ref among what is queued, without waiting. */
static void on_go(otpc_proc_t *self, void *state, otpc_msg_t *msg, void *ctx) {
  (void)ctx;
  sel_t *s = state;
  assert_non_null(msg);
  otpc_sendf(self, s->ctl, "went");
  assert_int_equal(otpc_receive(self, otpc_match_ref, &s->ref, sizeof s->ref, 0,
                                on_ref, NULL),
                   0);
}

static void step(otpc_proc_t *self, void *state, void *ctx) {
  sel_t *s = state;
  (void)ctx;
  if (++s->steps < 3) {
    otpc_yield(self, step, NULL);
    return;
  }
  otpc_sendf(self, s->ctl, "{steps, ~i}", s->steps);
}

/* What the exit path dropped of the waits that own their ctx. */
static atomic_int drops;

static void drop_ctx(void *ctx) {
  free(ctx);
  atomic_fetch_add(&drops, 1);
}

static void on_owned(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                     void *ctx) {
  sel_t *s = state;
  free(ctx); /* the continuation owns it now */
  otpc_sendf(self, s->ctl, msg != NULL ? "owned_matched" : "owned_timeout");
}

static void sel_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  sel_t *s = state;
  otpc_term_t t = otpc_msg_term(msg);
  int64_t timeout;
  if (otpc_term_match(t, NULL, "{wait_ref, ~r, ~I}", &s->ref, &timeout) == 0) {
    assert_int_equal(otpc_receive(self, otpc_match_ref, &s->ref, sizeof s->ref,
                                  timeout, on_ref, NULL),
                     0);
    /* One wait at a time. */
    assert_int_equal(otpc_receive(self, NULL, NULL, 0, -1, on_ref, NULL),
                     OTPC_EINVAL);
  } else if (otpc_term_match(t, NULL, "{wait_owned, ~r, ~I}", &s->ref,
                             &timeout) == 0) {
    /* A caller's context, as gen_server's call allocates one (112 bytes). */
    void *ctx = calloc(1, 112);
    assert_non_null(ctx);
    assert_int_equal(otpc_receive_owned(self, otpc_match_ref, &s->ref,
                                        sizeof s->ref, timeout, on_owned, ctx,
                                        drop_ctx),
                     0);
    otpc_sendf(self, s->ctl, "waiting");
  } else if (otpc_term_match(t, NULL, "{wait_go, ~r}", &s->ref) == 0) {
    otpc_receive(self, match_go, NULL, 0, -1, on_go, NULL);
  } else if (otpc_term_is_atom(t, "yield") == 1) {
    s->steps = 0;
    otpc_yield(self, step, NULL);
  } else {
    otpc_sendf(self, s->ctl, "{got, ~t}", &t);
  }
}

static const otpc_proc_class_t sel_class = {"sel", sizeof(sel_t), sel_init,
                                            sel_handle, NULL};

static otpc_pid_t spawn_sel(fx_t *f) {
  otpc_pid_t p;
  assert_int_equal(otpc_rt_spawn(f->rt, &sel_class, &f->mepid, NULL, &p), 0);
  return p;
}

static void test_selective_order(void **state) {
  fx_t *f = *state;
  otpc_pid_t p = spawn_sel(f);
  otpc_ref_t r;
  otpc_make_ref(f->rt, &r);
  tu_send(f->me, p, tu_msg("{wait_ref, ~r, -1}", &r));
  tu_send(f->me, p, tu_msg("m1"));
  tu_send(f->me, p, tu_msg("{other, 1}"));
  tu_send(f->me, p, tu_msg("m2"));
  tu_send(f->me, p, tu_msg("{~r, reply}", &r));
  tu_send(f->me, p, tu_msg("m3"));
  otpc_msg_t *m = tu_recv(f->me);
  char buf[256];
  assert_non_null(strstr(tu_str(m, buf, sizeof buf), "{matched,{#Ref<"));
  assert_non_null(strstr(buf, ",reply}}"));
  otpc_msg_unref(m);
  tu_expect(f->me, "{got,m1}");
  tu_expect(f->me, "{got,{other,1}}");
  tu_expect(f->me, "{got,m2}");
  tu_expect(f->me, "{got,m3}");
}

static void test_timeout(void **state) {
  fx_t *f = *state;
  otpc_pid_t p = spawn_sel(f);
  otpc_ref_t r;
  otpc_make_ref(f->rt, &r);
  tu_send(f->me, p, tu_msg("{wait_ref, ~r, 30}", &r));
  tu_send(f->me, p, tu_msg("m1"));
  tu_expect(f->me, "timeout");
  tu_expect(f->me, "{got,m1}");
  /* The stale timer of a satisfied wait fires nothing later. */
  tu_send(f->me, p, tu_msg("{wait_ref, ~r, 20}", &r));
  tu_send(f->me, p, tu_msg("{~r, x}", &r));
  otpc_msg_unref(tu_recv(f->me));
  tu_send(f->me, p, tu_msg("{wait_ref, ~r, 60}", &r));
  tu_expect(f->me, "timeout");
}

/* after 0 finds a matching message already queued; a continuation waits
 * again. */
static void test_after_zero_and_chain(void **state) {
  fx_t *f = *state;
  otpc_pid_t p = spawn_sel(f);
  otpc_ref_t r;
  otpc_make_ref(f->rt, &r);
  tu_send(f->me, p, tu_msg("{wait_go, ~r}", &r));
  tu_send(f->me, p, tu_msg("m1"));
  tu_send(f->me, p, tu_msg("{~r, early}", &r));
  tu_send(f->me, p, tu_msg("go"));
  tu_expect(f->me, "went");
  otpc_msg_t *m = tu_recv(f->me);
  char buf[256];
  assert_non_null(strstr(tu_str(m, buf, sizeof buf), ",early}}"));
  otpc_msg_unref(m);
  tu_expect(f->me, "{got,m1}");
  /* Nothing matches: after 0 times out at once. */
  tu_send(f->me, p, tu_msg("{wait_go, ~r}", &r));
  tu_send(f->me, p, tu_msg("go"));
  tu_expect(f->me, "went");
  tu_expect(f->me, "timeout");
}

static void test_yield(void **state) {
  fx_t *f = *state;
  otpc_pid_t p = spawn_sel(f);
  tu_send(f->me, p, tu_msg("yield"));
  tu_send(f->me, p, tu_msg("m1"));
  /* The steps run before the next message. */
  tu_expect(f->me, "{steps,3}");
  tu_expect(f->me, "{got,m1}");
}

/* Kills p with reason `kill` and waits for its DOWN. */
static void kill_and_wait_down(fx_t *f, otpc_pid_t p) {
  otpc_ref_t mref;
  assert_int_equal(otpc_monitor(f->me, p, &mref), 0);
  otpc_buf_t b;
  otpc_term_t kill = tu_term(&b, "kill");
  assert_int_equal(otpc_rt_exit_signal(f->rt, p, kill), 0);
  otpc_buf_free(&b);
  otpc_msg_t *m = tu_recv_match(f->me, otpc_match_ref, &mref);
  char buf[256];
  assert_non_null(strstr(tu_str(m, buf, sizeof buf), ",killed}"));
  otpc_msg_unref(m);
}

/* A process killed while it waits: the wait's own ctx is dropped (LSan
 * reported the 112 bytes as leaked before otpc_receive_owned). */
static void test_owned_ctx_dropped_on_kill(void **state) {
  fx_t *f = *state;
  int before = atomic_load(&drops);
  otpc_pid_t p = spawn_sel(f);
  otpc_ref_t r;
  otpc_make_ref(f->rt, &r);
  tu_send(f->me, p, tu_msg("{wait_owned, ~r, -1}", &r));
  tu_expect(f->me, "waiting");
  kill_and_wait_down(f, p);
  assert_int_equal(atomic_load(&drops), before + 1);
}

/* Once the continuation ran (a match, or the timeout), ctx is its own: the
 * exit path drops nothing. */
static void test_owned_ctx_kept_by_cont(void **state) {
  fx_t *f = *state;
  int before = atomic_load(&drops);
  otpc_pid_t p = spawn_sel(f);
  otpc_ref_t r;
  otpc_make_ref(f->rt, &r);
  tu_send(f->me, p, tu_msg("{wait_owned, ~r, -1}", &r));
  tu_expect(f->me, "waiting");
  tu_send(f->me, p, tu_msg("{~r, reply}", &r));
  tu_expect(f->me, "owned_matched");
  tu_send(f->me, p, tu_msg("{wait_owned, ~r, 10}", &r));
  tu_expect(f->me, "waiting");
  tu_expect(f->me, "owned_timeout");
  kill_and_wait_down(f, p);
  assert_int_equal(atomic_load(&drops), before);
}

/* The thread receive's own selective form. */
static void test_thread_selective(void **state) {
  fx_t *f = *state;
  otpc_msg_t *m = tu_msg("a");
  otpc_rt_send(f->rt, f->mepid, m);
  otpc_msg_unref(m);
  m = tu_msg("go");
  otpc_rt_send(f->rt, f->mepid, m);
  otpc_msg_unref(m);
  m = tu_msg("b");
  otpc_rt_send(f->rt, f->mepid, m);
  otpc_msg_unref(m);
  otpc_msg_t *got = tu_recv_match(f->me, match_go, NULL);
  char buf[64];
  assert_string_equal(tu_str(got, buf, sizeof buf), "go");
  otpc_msg_unref(got);
  assert_int_equal(otpc_thread_receive(f->me, match_go, NULL, 0, &got),
                   OTPC_ENOTFOUND);
  tu_expect(f->me, "a");
  tu_expect(f->me, "b");
}

int main(void) {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_selective_order),        T(test_timeout),
      T(test_after_zero_and_chain),   T(test_yield),
      T(test_thread_selective),       T(test_owned_ctx_dropped_on_kill),
      T(test_owned_ctx_kept_by_cont),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
