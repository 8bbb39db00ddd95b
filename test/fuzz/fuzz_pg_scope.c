/* libFuzzer target: what a peer node can send a pg scope and the C node's
 * global_name_server (cnode/services/pg.c, global.c). The input is an
 * external term, sent to both as a message. A round trip after it (a
 * {discover, Me} answered by a sync) proves the scope lives and has
 * handled the input; get_members and which_groups then read the tables the
 * input may have changed. A crash, a sanitizer report or a lost scope is a
 * finding. */
#include <stdint.h>
#include <stdlib.h>

#include "otpc/global.h"
#include "otpc/msg.h"
#include "otpc/pg.h"

static otpc_rt_t *rt;
static otpc_proc_t *me;
static otpc_pid_t scope_pid, gns_pid;
static otpc_atom_t scope;

static void quiet(void *ud, int level, const char *text) {
  (void)ud;
  (void)level;
  (void)text;
}

static void start(void) {
  otpc_rt_opts_t o = {.schedulers = 1, .log = quiet};
  if (otpc_rt_start(&o, &rt) != 0 || otpc_thread_attach(rt, &me) != 0 ||
      otpc_atom("fuzz_scope", &scope) != 0 ||
      otpc_pg_start_scope(rt, NULL, scope, &scope_pid) != 0 ||
      otpc_global_start(rt, &gns_pid) != 0)
    abort();
  /* The thread process is a known peer: joins and leaves naming it are
   * applied, not dropped. */
  otpc_msg_t *m;
  otpc_pid_t self = otpc_self(me);
  if (otpc_msg_build(&m, NULL, "{discover, ~p}", &self) != 0)
    abort();
  otpc_send(me, scope_pid, m);
  otpc_msg_unref(m);
}

static bool is_sync(otpc_term_t t, const void *arg) {
  (void)arg;
  return otpc_term_match(t, NULL, "{'$gen_cast', {sync, _, _}}") == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (rt == NULL)
    start();
  otpc_msg_t *m;
  if (otpc_msg_decode(data, size, &m, NULL) != 0)
    return 0;
  otpc_send(me, scope_pid, m);
  otpc_send(me, gns_pid, m);
  otpc_term_t t = otpc_msg_term(m);
  otpc_pid_t self = otpc_self(me), *v = NULL;
  size_t n = 0;
  otpc_msg_t *d;
  if (otpc_msg_build(&d, NULL, "{discover, ~p}", &self) != 0)
    abort();
  otpc_send(me, scope_pid, d);
  otpc_msg_unref(d);
  otpc_msg_t *r = NULL;
  if (otpc_thread_receive(me, is_sync, NULL, 10000, &r) != 0)
    __builtin_trap(); /* the scope is gone or hangs */
  otpc_msg_unref(r);
  /* Whatever else the scope sent us (joins, leaves, a discover). */
  while (otpc_thread_receive(me, NULL, NULL, 0, &r) == 0)
    otpc_msg_unref(r);
  if (otpc_pg_get_members(rt, scope, t, &v, &n) != 0)
    __builtin_trap();
  free(v);
  otpc_buf_t b = {0};
  if (otpc_pg_which_groups(rt, scope, &b) != 0)
    __builtin_trap();
  otpc_buf_free(&b);
  otpc_msg_unref(m);
  return 0;
}
