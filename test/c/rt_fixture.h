/* The fixture of the runtime's semantic tests: a runtime with two
 * schedulers and an attached thread process for the test. */
#ifndef OTPC_TEST_RT_FIXTURE_H
#define OTPC_TEST_RT_FIXTURE_H

#include "rt_test_util.h"

typedef struct fx {
  otpc_rt_t *rt;
  otpc_proc_t *me;
  otpc_pid_t mepid;
  char mes[64];
} fx_t;

static TU_UNUSED int setup(void **state) {
  fx_t *f = calloc(1, sizeof *f);
  f->rt = tu_start(2);
  assert_int_equal(otpc_thread_attach(f->rt, &f->me), 0);
  f->mepid = otpc_self(f->me);
  tu_pidstr(f->mepid, f->mes, sizeof f->mes);
  *state = f;
  return 0;
}

static TU_UNUSED int teardown(void **state) {
  fx_t *f = *state;
  tu_expect_empty(f->me);
  otpc_thread_detach(f->me, (otpc_term_t){0});
  assert_int_equal(otpc_rt_stop(f->rt), 0);
  free(f);
  return 0;
}

static TU_UNUSED char *ps(otpc_pid_t p, char *b) {
  return tu_pidstr(p, b, 64);
}

/* A pid that was alive and is now gone for sure (we saw its DOWN). */
static TU_UNUSED otpc_pid_t dead_pid(fx_t *f) {
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  otpc_ref_t r;
  assert_int_equal(otpc_monitor(f->me, a, &r), 0);
  tu_send(f->me, a, tu_msg("{exit, normal}"));
  otpc_msg_t *m = tu_recv_match(f->me, otpc_match_ref, &r);
  otpc_msg_unref(m);
  return a;
}

/* Parses a ref printed as #Ref<node.a.b.c> back from a reply: tests get
 * refs from agents through their printed form. */
static TU_UNUSED otpc_ref_t parse_ref(fx_t *f, const char *s) {
  otpc_ref_t r;
  memset(&r, 0, sizeof r);
  r.node = otpc_rt_node(f->rt);
  r.len = 3;
  assert_int_equal(
      sscanf(s, "#Ref<nonode@nohost.%u.%u.%u>", &r.id[2], &r.id[1], &r.id[0]),
      3);
  return r;
}

#endif
