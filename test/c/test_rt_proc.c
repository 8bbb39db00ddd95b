/* Process lifecycle: spawn, init, handle, send, exit, terminate, crash
 * reports, spawn options, budgets and yields. */
#include "rt_test_util.h"

static void test_spawn_send_receive(void **state) {
  (void)state;
  otpc_rt_t *rt = tu_start(2);
  otpc_proc_t *me;
  assert_int_equal(otpc_thread_attach(rt, &me), 0);
  otpc_pid_t a = tu_agent(rt, me, false);
  tu_send(me, a, tu_msg("{hello, 1}"));
  char buf[256], p[64];
  snprintf(buf, sizeof buf, "{got,%s,{hello,1}}", tu_pidstr(a, p, sizeof p));
  tu_expect(me, buf);
  otpc_thread_detach(me, (otpc_term_t){0});
  assert_int_equal(otpc_rt_stop(rt), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_spawn_send_receive),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
