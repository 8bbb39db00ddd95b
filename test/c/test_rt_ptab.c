/* The process table: pid data round trips, generations make stale pids
 * miss, the limit holds, and slots are reused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../../cnode/runtime/rt_internal.h"

static otpc_rt_t *table(size_t max) {
  otpc_rt_t *rt = calloc(1, sizeof *rt);
  assert_int_equal(otpc_atom("t@h", &rt->node), 0);
  rt->creation = 7;
  assert_int_equal(otpc__ptab_init(rt, max), 0);
  return rt;
}

static void test_pid_round_trip(void **state) {
  (void)state;
  otpc_rt_t *rt = table(1000000);
  uint64_t samples[] = {1, 32767, 32768, 1048575, (uint64_t)5 << 21 | 77};
  for (size_t i = 0; i < sizeof samples / sizeof *samples; i++) {
    otpc_pid_t p = otpc__pid_make(rt, samples[i]);
    assert_true(p.id < 32768);
    uint64_t d;
    assert_true(otpc__pid_local(rt, p, &d));
    assert_int_equal(d, samples[i]);
  }
  otpc_pid_t other = otpc__pid_make(rt, 5);
  other.creation = 8; /* an older incarnation of the node */
  uint64_t d;
  assert_false(otpc__pid_local(rt, other, &d));
  otpc__ptab_free(rt);
  free(rt);
}

static void test_generations(void **state) {
  (void)state;
  otpc_rt_t *rt = table(100);
  static const otpc_proc_class_t cls = {"t", 0, NULL, NULL, NULL};
  otpc_proc_t *p = otpc__proc_alloc(rt, &cls, 0);
  assert_int_equal(otpc__ptab_reserve(rt, &p->data), 0);
  uint64_t first = p->data;
  assert_int_not_equal(first & (rt->cap - 1), 0); /* slot 0 is reserved */
  otpc__ptab_install(rt, p);
  assert_ptr_equal(otpc__ptab_get_locked(rt, first), p);
  otpc__ptab_remove(rt, p);
  assert_null(otpc__ptab_get_locked(rt, first));
  otpc__ptab_release(rt, first);
  /* The slot comes back with the next generation: the old pid misses. */
  assert_int_equal(otpc__ptab_reserve(rt, &p->data), 0);
  assert_int_equal(p->data & (rt->cap - 1), first & (rt->cap - 1));
  assert_int_not_equal(p->data, first);
  otpc__ptab_install(rt, p);
  assert_null(otpc__ptab_get_locked(rt, first));
  assert_ptr_equal(otpc__ptab_get_locked(rt, p->data), p);
  otpc__ptab_remove(rt, p);
  otpc__ptab_release(rt, p->data);
  free(p);
  otpc__ptab_free(rt);
  free(rt);
}

static void test_limit(void **state) {
  (void)state;
  otpc_rt_t *rt = table(50);
  uint64_t d[50];
  for (int i = 0; i < 50; i++)
    assert_int_equal(otpc__ptab_reserve(rt, &d[i]), 0);
  uint64_t x;
  assert_int_equal(otpc__ptab_reserve(rt, &x), OTPC_ELIMIT);
  otpc__ptab_release(rt, d[10]);
  assert_int_equal(otpc__ptab_reserve(rt, &x), 0);
  assert_int_equal(x & (rt->cap - 1), d[10] & (rt->cap - 1));
  otpc__ptab_free(rt);
  free(rt);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pid_round_trip),
      cmocka_unit_test(test_generations),
      cmocka_unit_test(test_limit),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
