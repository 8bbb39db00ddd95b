/* Process aliases (cnode/runtime/alias.c), local side: a send to an alias
 * reaches its process while active and is dropped after unalias, which
 * only the owner can do (1 once, then 0); an alias of a process that
 * exited takes nothing; the entry point for ALIAS_SEND from other nodes
 * says whether it delivered. */
#include "rt_fixture.h"

#include "../../cnode/runtime/rt_remote.h"

static void tu_send_alias(fx_t *f, const otpc_ref_t *a, const char *fmt) {
  otpc_msg_t *m = tu_msg(fmt);
  assert_int_equal(otpc_send_alias(f->me, a, m), 0);
  otpc_msg_unref(m);
}

static void test_alias_unalias(void **state) {
  fx_t *f = *state;
  otpc_ref_t a;
  assert_int_equal(otpc_alias(f->me, &a), 0);
  assert_int_equal(a.node, otpc_rt_node(f->rt));
  tu_send_alias(f, &a, "{via, 1}");
  tu_expect(f->me, "{via,1}");
  /* From "another node": the same delivery. */
  otpc_msg_t *m = tu_msg("{via, 2}");
  assert_int_equal(otpc__rt_remote_alias_send(f->rt, &a, m), 0);
  otpc_msg_unref(m);
  tu_expect(f->me, "{via,2}");
  assert_int_equal(otpc_unalias(f->me, &a), 1);
  assert_int_equal(otpc_unalias(f->me, &a), 0);
  /* Dropped: the marker sent after it by pid comes first and alone. */
  tu_send_alias(f, &a, "{via, 3}");
  m = tu_msg("{via, 4}");
  assert_int_equal(otpc__rt_remote_alias_send(f->rt, &a, m), OTPC_ENOTFOUND);
  otpc_msg_unref(m);
  tu_send(f->me, f->mepid, tu_msg("marker"));
  tu_expect(f->me, "marker");
}

static void test_only_the_owner_unaliases(void **state) {
  fx_t *f = *state;
  otpc_proc_t *other;
  assert_int_equal(otpc_thread_attach(f->rt, &other), 0);
  otpc_ref_t a;
  assert_int_equal(otpc_alias(other, &a), 0);
  assert_int_equal(otpc_unalias(f->me, &a), 0);
  /* Still active: it reaches `other`. */
  tu_send_alias(f, &a, "still");
  otpc_msg_t *m = tu_recv(other);
  char buf[64];
  assert_string_equal(tu_str(m, buf, sizeof buf), "still");
  otpc_msg_unref(m);
  /* Its process exits: the alias takes nothing any more. */
  otpc_thread_detach(other, (otpc_term_t){0});
  m = tu_msg("late");
  assert_int_equal(otpc__rt_remote_alias_send(f->rt, &a, m), OTPC_ENOTFOUND);
  otpc_msg_unref(m);
}

static void test_many_aliases(void **state) {
  fx_t *f = *state;
  /* Past the table's first growth; each alias stays distinct. */
  otpc_ref_t a[40];
  for (int i = 0; i < 40; i++)
    assert_int_equal(otpc_alias(f->me, &a[i]), 0);
  for (int i = 39; i >= 0; i -= 13) {
    char fmt[32];
    snprintf(fmt, sizeof fmt, "{n, %d}", i);
    tu_send_alias(f, &a[i], fmt);
    snprintf(fmt, sizeof fmt, "{n,%d}", i);
    tu_expect(f->me, fmt);
  }
  for (int i = 0; i < 40; i++)
    assert_int_equal(otpc_unalias(f->me, &a[i]), 1);
}

static void test_bad_args(void **state) {
  fx_t *f = *state;
  otpc_ref_t a;
  assert_int_equal(otpc_alias(NULL, &a), OTPC_EINVAL);
  assert_int_equal(otpc_alias(f->me, NULL), OTPC_EINVAL);
  assert_int_equal(otpc_unalias(NULL, &a), OTPC_EINVAL);
  assert_int_equal(otpc_send_alias(f->me, NULL, NULL), OTPC_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_alias_unalias, setup, teardown),
      cmocka_unit_test_setup_teardown(test_only_the_owner_unaliases, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_many_aliases, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_args, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
