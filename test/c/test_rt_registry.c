/* register/unregister/whereis/registered and sends by name, as on OTP 25:
 * a taken name, a dead pid or a process with a name already fail; a name
 * goes away with its process; a send to an unregistered name fails. */
#include "rt_fixture.h"

static void test_register_whereis(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  otpc_atom_t n = tu_atom("reg_a");
  otpc_pid_t w;
  assert_int_equal(otpc_whereis(f->rt, n, &w), OTPC_ENOTFOUND);
  assert_int_equal(otpc_register(f->rt, n, a), 0);
  assert_int_equal(otpc_whereis(f->rt, n, &w), 0);
  assert_int_equal(w.id, a.id);
  assert_int_equal(w.serial, a.serial);
  otpc_proc_info_t info;
  assert_int_equal(otpc_proc_info(f->rt, a, &info), 0);
  assert_int_equal(info.registered_name, n);
  /* Taken name; a second name for the same process. */
  otpc_pid_t b = tu_agent(f->rt, f->me, false);
  assert_int_equal(otpc_register(f->rt, n, b), OTPC_EINVAL);
  assert_int_equal(otpc_register(f->rt, tu_atom("reg_a2"), a), OTPC_EINVAL);
  /* A dead pid. */
  assert_int_equal(otpc_register(f->rt, tu_atom("reg_d"), dead_pid(f)),
                   OTPC_EINVAL);
  otpc_atom_t *names;
  size_t k;
  assert_int_equal(otpc_registered(f->rt, &names, &k), 0);
  assert_int_equal(k, 1);
  assert_int_equal(names[0], n);
  free(names);
  assert_int_equal(otpc_unregister(f->rt, n), 0);
  assert_int_equal(otpc_unregister(f->rt, n), OTPC_EINVAL);
  assert_int_equal(otpc_whereis(f->rt, n, &w), OTPC_ENOTFOUND);
  /* The process can take a name again once it has none. */
  assert_int_equal(otpc_register(f->rt, tu_atom("reg_a2"), a), 0);
}

static void test_send_name(void **state) {
  fx_t *f = *state;
  otpc_pid_t a = tu_agent(f->rt, f->me, false);
  otpc_atom_t n = tu_atom("reg_s");
  otpc_msg_t *m = tu_msg("hi");
  assert_int_equal(otpc_send_name(f->me, n, m), OTPC_ENOTFOUND);
  assert_int_equal(otpc_rt_send_name(f->rt, n, m), OTPC_ENOTFOUND);
  char out[64];
  assert_string_equal(tu_cmd(f->me, a, tu_msg("{register, reg_s}"), out, 64),
                      "0");
  assert_int_equal(otpc_send_name(f->me, n, m), 0);
  assert_int_equal(otpc_rt_send_name(f->rt, n, m), 0);
  otpc_msg_unref(m);
  char exp[128], p[64];
  snprintf(exp, sizeof exp, "{got,%s,hi}", ps(a, p));
  tu_expect(f->me, exp);
  tu_expect(f->me, exp);
}

/* A name is dropped when its process exits, whatever the reason, and can
 * then be taken by another. */
static void test_unregister_on_exit(void **state) {
  fx_t *f = *state;
  otpc_atom_t n = tu_atom("reg_e");
  for (int i = 0; i < 50; i++) {
    otpc_pid_t a = tu_agent(f->rt, f->me, false);
    assert_int_equal(otpc_register(f->rt, n, a), 0);
    otpc_ref_t r;
    otpc_monitor(f->me, a, &r);
    if (i % 2) {
      tu_send(f->me, a, tu_msg("{exit, normal}"));
    } else {
      otpc_buf_t b;
      otpc_rt_exit_signal(f->rt, a, tu_term(&b, "kill"));
      otpc_buf_free(&b);
    }
    otpc_msg_unref(tu_recv_match(f->me, otpc_match_ref, &r));
    otpc_pid_t w;
    assert_int_equal(otpc_whereis(f->rt, n, &w), OTPC_ENOTFOUND);
  }
}

/* Spawn with a name registers before anybody can see the process run. */
static void test_spawn_named(void **state) {
  fx_t *f = *state;
  otpc_spawn_opts_t o;
  memset(&o, 0, sizeof o);
  o.name = "reg_spawned";
  tu_ctl = f->mepid;
  otpc_pid_t a, w;
  assert_int_equal(otpc_rt_spawn(f->rt, &agent_class, &tu_ctl, &o, &a), 0);
  assert_int_equal(otpc_whereis(f->rt, tu_atom("reg_spawned"), &w), 0);
  assert_int_equal(w.id, a.id);
  char out[64];
  tu_cmd(f->me, a, tu_msg("ping"), out, sizeof out);
}

int main(void) {
#define T(n) cmocka_unit_test_setup_teardown(n, setup, teardown)
  const struct CMUnitTest tests[] = {
      T(test_register_whereis),
      T(test_send_name),
      T(test_unregister_on_exit),
      T(test_spawn_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
