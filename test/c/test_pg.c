/* pg scopes in a plain runtime (include/otpc/pg.h): the local API, and the
 * protocol with the test's thread process playing a peer scope (pg keys
 * peers by pid only, so a local pid can act as one). The same protocol
 * against real BEAM nodes is in test/pg_global_SUITE.erl. */
#include "rt_fixture.h"

#include "otpc/pg.h"

typedef struct pgfx {
  fx_t f;
  otpc_atom_t scope;
  otpc_pid_t spid;
} pgfx_t;

static int pg_setup(void **state) {
  void *f0;
  setup(&f0);
  pgfx_t *p = calloc(1, sizeof *p);
  p->f = *(fx_t *)f0;
  free(f0);
  p->scope = tu_atom("test_scope");
  assert_int_equal(otpc_pg_start_scope(p->f.rt, NULL, p->scope, &p->spid), 0);
  *state = p;
  return 0;
}

static int pg_teardown(void **state) {
  pgfx_t *p = *state;
  fx_t *f = malloc(sizeof *f);
  *f = p->f;
  free(p);
  void *s = f;
  return teardown(&s);
}

static otpc_term_t G(otpc_buf_t *b, const char *fmt) {
  return tu_term(b, fmt);
}

static size_t members(pgfx_t *p, const char *group, bool local) {
  otpc_buf_t b;
  otpc_term_t g = G(&b, group);
  otpc_pid_t *v = NULL;
  size_t n = 0;
  int rc = local ? otpc_pg_get_local_members(p->f.rt, p->scope, g, &v, &n)
                 : otpc_pg_get_members(p->f.rt, p->scope, g, &v, &n);
  assert_int_equal(rc, 0);
  free(v);
  otpc_buf_free(&b);
  return n;
}

static int join(pgfx_t *p, const char *group, otpc_pid_t pid, bool leave) {
  otpc_buf_t b;
  otpc_term_t g = G(&b, group);
  int rc = leave ? otpc_pg_leave(p->f.rt, p->scope, g, pid)
                 : otpc_pg_join(p->f.rt, p->scope, g, pid);
  otpc_buf_free(&b);
  return rc;
}

static void expect_match(pgfx_t *p, const char *pattern) {
  otpc_msg_t *m = tu_recv(p->f.me);
  char buf[512];
  if (otpc_term_match(otpc_msg_term(m), NULL, pattern) != 0)
    fail_msg("expected %s, got %s", pattern, tu_str(m, buf, sizeof buf));
  otpc_msg_unref(m);
}

/* A round trip through the scope as a peer: {discover, Me} gives a sync
 * (then a discover back the first time). Everything the scope got before
 * it has been handled. Returns the sync message. */
static otpc_msg_t *sync_with(pgfx_t *p, bool first) {
  tu_send(p->f.me, p->spid, tu_msg("{discover, ~p}", &p->f.mepid));
  otpc_msg_t *m = tu_recv(p->f.me);
  assert_int_equal(
      otpc_term_match(otpc_msg_term(m), NULL, "{'$gen_cast', {sync, _, _}}"),
      0);
  if (first)
    expect_match(p, "{discover, _}");
  return m;
}

static void local_api(void **state) {
  pgfx_t *p = *state;
  otpc_pid_t a = tu_agent(p->f.rt, p->f.me, false);
  assert_int_equal(join(p, "{g, 1}", a, false), 0);
  assert_int_equal(join(p, "{g, 1}", a, false), 0);
  assert_int_equal(join(p, "other", a, false), 0);
  assert_int_equal(members(p, "{g, 1}", false), 2);
  assert_int_equal(members(p, "{g, 1}", true), 2);
  otpc_buf_t wb = {0};
  assert_int_equal(otpc_pg_which_groups(p->f.rt, p->scope, &wb), 0);
  otpc_term_t wg = {wb.data, wb.len};
  otpc_iter_t it;
  size_t n;
  assert_int_equal(otpc_term_list(wg, &it, &n), 0);
  assert_int_equal(n, 2);
  otpc_buf_free(&wb);
  assert_int_equal(join(p, "{g, 1}", a, true), 0);
  assert_int_equal(members(p, "{g, 1}", false), 1);
  assert_int_equal(join(p, "{g, 1}", a, true), 0);
  assert_int_equal(join(p, "{g, 1}", a, true), OTPC_ENOTFOUND);
  assert_int_equal(members(p, "{g, 1}", false), 0);
  /* Groups compare as =:=, whatever their encoding: the atom g as ATOM_EXT
   * (latin-1) is the g of SMALL_ATOM_UTF8_EXT; a map group is found. */
  static const uint8_t latin1_g[] = {100, 0, 1, 'g'};
  otpc_term_t lg;
  size_t used;
  assert_int_equal(otpc_term_parse(latin1_g, sizeof latin1_g, &lg, &used, NULL),
                   0);
  assert_int_equal(otpc_pg_join(p->f.rt, p->scope, lg, a), 0);
  assert_int_equal(members(p, "g", false), 1);
  assert_int_equal(join(p, "g", a, true), 0);
  assert_int_equal(join(p, "#{k => [1.5, {x}]}", a, false), 0);
  assert_int_equal(members(p, "#{k => [1.5, {x}]}", false), 1);
  assert_int_equal(members(p, "#{k => [1.5, {y}]}", false), 0);
  assert_int_equal(join(p, "#{k => [1.5, {x}]}", a, true), 0);
  /* A pid of another node cannot join from here; an unknown scope. */
  otpc_pid_t far = a;
  far.node = tu_atom("far@host");
  assert_int_equal(join(p, "g", far, false), OTPC_EINVAL);
  otpc_buf_t b;
  otpc_term_t g = G(&b, "g");
  assert_int_equal(otpc_pg_join(p->f.rt, tu_atom("nope"), g, a),
                   OTPC_ENOTFOUND);
  otpc_pid_t *v;
  assert_int_equal(otpc_pg_get_members(p->f.rt, tu_atom("nope"), g, &v, &n),
                   OTPC_ENOTFOUND);
  otpc_buf_free(&b);
  /* The name is taken by the running scope. */
  assert_int_equal(otpc_pg_start_scope(p->f.rt, NULL, p->scope, NULL),
                   OTPC_EINVAL);
  tu_send(p->f.me, a, tu_msg("{exit, normal}"));
}

static void peer_protocol(void **state) {
  pgfx_t *p = *state;
  otpc_pid_t a = tu_agent(p->f.rt, p->f.me, false);
  assert_int_equal(join(p, "g", a, false), 0);
  assert_int_equal(join(p, "g", a, false), 0);
  /* Discovered: the sync lists a twice under g. */
  otpc_msg_t *m = sync_with(p, true);
  otpc_pid_t x, y;
  assert_int_equal(otpc_term_match(otpc_msg_term(m), NULL,
                                   "{'$gen_cast', {sync, _, [{g, [~p, ~p]}]}}",
                                   &x, &y),
                   0);
  assert_true(x.id == a.id && y.id == a.id);
  otpc_msg_unref(m);
  /* A note to the scope without its secret reference is ignored: no join
   * is broadcast (it would come before the sync) and the sync is as before. */
  otpc_ref_t fake;
  assert_int_equal(otpc_make_ref(p->f.rt, &fake), 0);
  tu_send(p->f.me, p->spid,
          tu_msg("{'$otpc_pg', ~r, join, forged, ~p}", &fake, &a));
  tu_send(p->f.me, p->spid, tu_msg("{'$otpc_pg', join, forged, ~p}", &a));
  m = sync_with(p, false);
  assert_int_equal(otpc_term_match(otpc_msg_term(m), NULL,
                                   "{'$gen_cast', {sync, _, [{g, [_, _]}]}}"),
                   0);
  otpc_msg_unref(m);
  /* Local changes are broadcast to the peer. */
  assert_int_equal(join(p, "h", a, false), 0);
  expect_match(p, "{join, _, h, _}");
  assert_int_equal(join(p, "h", a, true), 0);
  expect_match(p, "{leave, _, _, [h]}");
  /* The peer's members: a join of a list, a leave of one, garbage. */
  otpc_pid_t r1 = a, r2 = a;
  r1.node = r2.node = tu_atom("far@host");
  r2.id++;
  tu_send(p->f.me, p->spid,
          tu_msg("{join, ~p, g, [~p, ~p]}", &p->f.mepid, &r1, &r2));
  tu_send(p->f.me, p->spid, tu_msg("{join, ~p, g, nonsense}", &p->f.mepid));
  tu_send(p->f.me, p->spid,
          tu_msg("{leave, ~p, ~p, [g, nogroup]}", &p->f.mepid, &r1));
  tu_send(p->f.me, p->spid, tu_msg("{what, ever}"));
  otpc_msg_unref(sync_with(p, false));
  assert_int_equal(members(p, "g", false), 3);
  assert_int_equal(members(p, "g", true), 2);
  /* A join from a scope it does not know is dropped. */
  tu_send(p->f.me, p->spid, tu_msg("{join, ~p, g, ~p}", &r1, &r1));
  /* A sync replaces the peer's view. */
  tu_send(p->f.me, p->spid,
          tu_msg("{'$gen_cast', {sync, ~p, [{k, [~p]}]}}", &p->f.mepid, &r1));
  otpc_msg_unref(sync_with(p, false));
  assert_int_equal(members(p, "g", false), 2);
  assert_int_equal(members(p, "k", false), 1);
  /* The member dies: one leave naming g twice. */
  tu_send(p->f.me, a, tu_msg("{exit, normal}"));
  expect_match(p, "{leave, _, _, [g, g]}");
  assert_int_equal(members(p, "g", false), 0);
}

/* A peer scope that exits takes its members with it. */
static void peer_down(void **state) {
  pgfx_t *p = *state;
  otpc_pid_t peer = tu_agent(p->f.rt, p->f.me, false);
  otpc_pid_t r1 = peer;
  r1.node = tu_atom("far@host");
  otpc_ref_t ref;
  assert_int_equal(otpc_monitor(p->f.me, peer, &ref), 0);
  otpc_msg_t *s = tu_msg("{'$gen_cast', {sync, ~p, [{g, [~p]}]}}", &peer, &r1);
  assert_int_equal(otpc_rt_send(p->f.rt, p->spid, s), 0);
  otpc_msg_unref(s);
  otpc_msg_unref(sync_with(p, true));
  assert_int_equal(members(p, "g", false), 1);
  tu_send(p->f.me, peer, tu_msg("{exit, normal}"));
  otpc_msg_unref(tu_recv_match(p->f.me, otpc_match_ref, &ref));
  /* The scope's DOWN and our discover come from different senders: round
   * trips until it shows, bounded. */
  size_t left = 1;
  for (int i = 0; i < 10000 && left > 0; i++) {
    otpc_msg_unref(sync_with(p, false));
    left = members(p, "g", false);
  }
  assert_int_equal(left, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(local_api, pg_setup, pg_teardown),
      cmocka_unit_test_setup_teardown(peer_protocol, pg_setup, pg_teardown),
      cmocka_unit_test_setup_teardown(peer_down, pg_setup, pg_teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
