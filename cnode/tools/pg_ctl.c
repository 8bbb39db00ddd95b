/* ctl's pg commands, so tests drive the C side of pg from Erlang:
 *   {From, pg_start, Scope}              {ctl, {pg_start, Rc}}
 *   {From, pg_join, Scope, Group, Pid}   {ctl, {pg_join, Rc}}
 *   {From, pg_leave, Scope, Group, Pid}  {ctl, {pg_leave, Rc}}
 *   {From, pg_members, Scope, Group}     {ctl, {pg_members, All, Local}}
 *   {From, pg_groups, Scope}             {ctl, {pg_groups, Groups}}
 *   {From, pg_member, Scope, Group}      spawns a C process that joins
 *                                        Group and sends every message it
 *                                        gets to From as {pg_member, Self,
 *                                        Msg}; {ctl, {pg_member, Pid}}
 *   {From, pg_send, Scope, Group, Term}  Term to each member (a C
 *                                        broadcast); {ctl, {pg_send, N}}
 * and global's, run through a BEAM node Via (see otpc/global.h):
 *   {From, global_register, Via, Name, Pid}
 *                           {ctl, {global_register, Status, Result}}
 *   {From, global_whereis, Via, Name}
 *                           {ctl, {global_whereis, Status, Result}}
 *   {From, global_unregister, Via, Name}
 *                           {ctl, {global_unregister, Status, Result}}
 * Rc is 0 or a negative OTPC_E* code; Status is ok, noproc, timeout or
 * exit, as the gen_server call to Via's rex ended. */
#include <stdlib.h>

#include "otpc/global.h"
#include "otpc/pg.h"
#include "pg_ctl.h"

typedef struct member_arg {
  otpc_pid_t report;
} member_arg_t;

static void member_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  *(member_arg_t *)state = *(member_arg_t *)arg;
  free(arg);
}

static void member_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  member_arg_t *m = state;
  otpc_pid_t me = otpc_self(self);
  otpc_term_t t = otpc_msg_term(msg);
  otpc_sendf(self, m->report, "{pg_member, ~p, ~t}", &me, &t);
}

static const otpc_proc_class_t member_class = {.name = "pg_member",
                                               .state_size =
                                                   sizeof(member_arg_t),
                                               .init = member_init,
                                               .handle = member_handle};

/* Appends [P1, P2, ...]. */
static int put_pids(otpc_buf_t *b, const otpc_pid_t *v, size_t n) {
  int rc = 0;
  if (n > 0) {
    uint8_t h[5] = {108, (uint8_t)(n >> 24), (uint8_t)(n >> 16),
                    (uint8_t)(n >> 8), (uint8_t)n};
    rc = otpc_buf_append(b, h, sizeof h);
  }
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = otpc_term_build(b, NULL, "~p", &v[i]);
  return rc == 0 ? otpc_term_build(b, NULL, "[]") : rc;
}

static void reply_members(otpc_proc_t *self, otpc_pid_t from, otpc_atom_t sc,
                          otpc_term_t g) {
  otpc_rt_t *rt = otpc_proc_rt(self);
  otpc_pid_t *all = NULL, *loc = NULL;
  size_t na = 0, nl = 0;
  otpc_buf_t ba = {0}, bl = {0};
  otpc_pg_get_members(rt, sc, g, &all, &na);
  otpc_pg_get_local_members(rt, sc, g, &loc, &nl);
  if (put_pids(&ba, all, na) == 0 && put_pids(&bl, loc, nl) == 0) {
    otpc_term_t ta = {ba.data, ba.len}, tl = {bl.data, bl.len};
    otpc_sendf(self, from, "{ctl, {pg_members, ~t, ~t}}", &ta, &tl);
  }
  otpc_buf_free(&ba);
  otpc_buf_free(&bl);
  free(all);
  free(loc);
}

typedef struct global_req {
  otpc_pid_t from;
  const char *what;
} global_req_t;

static void global_done(otpc_proc_t *self, void *state,
                        const otpc_gs_result_t *res, void *ctx) {
  static const char *const st[] = {"ok",     "ignore",  "error",
                                   "noproc", "timeout", "exit"};
  global_req_t *r = ctx;
  (void)state;
  otpc_term_t t = {(const uint8_t *)"\x6a", 1}; /* [] */
  if (res->term != NULL)
    t = otpc_msg_term(res->term);
  otpc_sendf(self, r->from, "{ctl, {~a, ~a, ~t}}", r->what, st[res->status],
             &t);
  free(r);
}

/* The global commands; false if t is none of them. */
static bool global_ctl(otpc_proc_t *self, otpc_term_t t) {
  otpc_pid_t from, pid;
  otpc_atom_t via;
  otpc_term_t name;
  global_req_t *r = malloc(sizeof *r);
  int rc = 1;
  if (r == NULL)
    return false;
  r->what = NULL;
  if (otpc_term_match(t, NULL, "{~p, global_register, ~a, ~t, ~p}", &from, &via,
                      &name, &pid) == 0) {
    *r = (global_req_t){from, "global_register"};
    rc = otpc_global_register_name(self, via, name, pid, 10000, global_done, r);
  } else if (otpc_term_match(t, NULL, "{~p, global_whereis, ~a, ~t}", &from,
                             &via, &name) == 0) {
    *r = (global_req_t){from, "global_whereis"};
    rc = otpc_global_whereis_name(self, via, name, 10000, global_done, r);
  } else if (otpc_term_match(t, NULL, "{~p, global_unregister, ~a, ~t}", &from,
                             &via, &name) == 0) {
    *r = (global_req_t){from, "global_unregister"};
    rc = otpc_global_unregister_name(self, via, name, 10000, global_done, r);
  }
  const char *what = r->what;
  if (rc != 0)
    free(r);
  if (rc < 0)
    otpc_sendf(self, from, "{ctl, {~a, error, ~i}}", what, rc);
  return rc <= 0;
}

bool otpc__pg_ctl(otpc_proc_t *self, otpc_node_t *node, otpc_term_t t) {
  otpc_rt_t *rt = otpc_proc_rt(self);
  otpc_pid_t from, pid;
  otpc_atom_t sc;
  otpc_term_t g, a;
  if (otpc_term_match(t, NULL, "{~p, pg_start, ~a}", &from, &sc) == 0) {
    int rc = otpc_pg_start_scope(rt, node, sc, NULL);
    otpc_sendf(self, from, "{ctl, {pg_start, ~i}}", rc);
  } else if (otpc_term_match(t, NULL, "{~p, pg_join, ~a, ~t, ~p}", &from, &sc,
                             &g, &pid) == 0) {
    int rc = otpc_pg_join(rt, sc, g, pid);
    otpc_sendf(self, from, "{ctl, {pg_join, ~i}}", rc);
  } else if (otpc_term_match(t, NULL, "{~p, pg_leave, ~a, ~t, ~p}", &from, &sc,
                             &g, &pid) == 0) {
    int rc = otpc_pg_leave(rt, sc, g, pid);
    otpc_sendf(self, from, "{ctl, {pg_leave, ~i}}", rc);
  } else if (otpc_term_match(t, NULL, "{~p, pg_members, ~a, ~t}", &from, &sc,
                             &g) == 0) {
    reply_members(self, from, sc, g);
  } else if (otpc_term_match(t, NULL, "{~p, pg_groups, ~a}", &from, &sc) == 0) {
    otpc_buf_t b = {0};
    if (otpc_pg_which_groups(rt, sc, &b) == 0) {
      otpc_term_t l = {b.data, b.len};
      otpc_sendf(self, from, "{ctl, {pg_groups, ~t}}", &l);
    }
    otpc_buf_free(&b);
  } else if (otpc_term_match(t, NULL, "{~p, pg_member, ~a, ~t}", &from, &sc,
                             &g) == 0) {
    member_arg_t *arg = malloc(sizeof *arg);
    if (arg == NULL)
      return true;
    arg->report = from;
    if (otpc_spawn(self, &member_class, arg, NULL, &pid) != 0) {
      free(arg);
      return true;
    }
    otpc_pg_join(rt, sc, g, pid);
    otpc_sendf(self, from, "{ctl, {pg_member, ~p}}", &pid);
  } else if (otpc_term_match(t, NULL, "{~p, pg_send, ~a, ~t, ~t}", &from, &sc,
                             &g, &a) == 0) {
    otpc_pid_t *all = NULL;
    size_t n = 0;
    otpc_pg_get_members(rt, sc, g, &all, &n);
    for (size_t i = 0; i < n; i++)
      otpc_sendf(self, all[i], "~t", &a);
    free(all);
    otpc_sendf(self, from, "{ctl, {pg_send, ~i}}", (int)n);
  } else {
    return global_ctl(self, t);
  }
  return true;
}
