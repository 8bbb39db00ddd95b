/* The module otpc_node of the reference node (kept stable: checks outside
 * the test suite call it): echo/1, add/2, fail/1, processes/0; and the
 * process entry otpc_node:rpc_into/5 (spawn it on the C node with
 * [Caller, Node, M, F, Args]: it calls rpc:call(Node, M, F, Args) from C
 * and sends Caller {rpc_into, Result}), and erpc_into/5, the same through
 * erpc (Caller gets {erpc_into, Outcome}, Outcome as otpc_erpc_call gives
 * it). Also otpc_rpc_test, for the test
 * suites only: throw/1, exit/1, no_result/0, send/2 and the process entry
 * proc/1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

/* The argument list's one element (the table checked the arity). */
static otpc_term_t only_arg(otpc_term_t args) {
  otpc_iter_t it;
  size_t n;
  otpc_term_t x = args;
  if (otpc_term_list(args, &it, &n) == 0)
    otpc_iter_next(&it, &x);
  return x;
}

/* echo is what the erpc benchmark calls: read the argument directly
 * rather than through a pattern. */
static void echo(otpc_rpc_call_t *c, otpc_term_t args, void *ud) {
  (void)ud;
  otpc_rpc_return(c, only_arg(args));
}

static void fail(otpc_rpc_call_t *c, otpc_term_t args, void *ud) {
  (void)ud;
  otpc_rpc_raise(c, OTPC_RPC_ERROR, only_arg(args));
}

/* |a| + |b| or |a| - |b| (|a| >= |b|) into out (na + 1 bytes), least
 * significant first; returns the length without high zero bytes. */
static size_t mag_op(const otpc_int_t *a, const otpc_int_t *b, bool sub,
                     uint8_t *out) {
  int carry = 0;
  size_t n = 0;
  for (size_t i = 0; i < a->n; i++) {
    int e = i < b->n ? b->mag[i] : 0;
    int d = sub ? a->mag[i] - e - carry : a->mag[i] + e + carry;
    carry = sub ? d < 0 : d > 255;
    out[i] = (uint8_t)(d & 255); /* two's complement: d + 256 when < 0 */
  }
  out[a->n] = sub ? 0 : (uint8_t)carry; /* |a| >= |b|: no borrow left */
  for (size_t i = 0; i <= a->n; i++)
    if (out[i] != 0)
      n = i + 1;
  return n;
}

static int mag_cmp(const otpc_int_t *a, const otpc_int_t *b) {
  if (a->n != b->n)
    return a->n < b->n ? -1 : 1;
  for (size_t i = a->n; i-- > 0;)
    if (a->mag[i] != b->mag[i])
      return a->mag[i] < b->mag[i] ? -1 : 1;
  return 0;
}

/* add(A, B): integers of any size, as erlang:'+'/2 on integers; anything
 * else raises badarith, as A + B would. */
static void add(otpc_rpc_call_t *c, otpc_term_t args, void *ud) {
  (void)ud;
  otpc_term_t ta, tb;
  otpc_int_t a, b;
  if (otpc_term_match(args, NULL, "[~t, ~t]", &ta, &tb) != 0 ||
      otpc_term_integer(ta, &a) != 0 || otpc_term_integer(tb, &b) != 0) {
    otpc_rpc_raisef(c, OTPC_RPC_ERROR, "badarith");
    return;
  }
  const otpc_int_t *x = &a, *y = &b;
  if (mag_cmp(x, y) < 0) {
    x = &b;
    y = &a;
  }
  uint8_t *out = malloc(x->n + 8);
  if (out == NULL) {
    otpc_rpc_raisef(c, OTPC_RPC_ERROR, "system_limit");
    return;
  }
  size_t n = mag_op(x, y, x->neg != y->neg, out);
  int neg = n > 0 && x->neg;
  uint64_t u = 0;
  for (size_t i = n; i-- > 0 && n <= 8;)
    u = u << 8 | out[i];
  if (n <= 8 && (neg ? u <= (uint64_t)INT64_MAX + 1 : u <= INT64_MAX)) {
    int64_t v = neg ? (int64_t)(0 - u) : (int64_t)u;
    otpc_rpc_returnf(c, "~I", v);
  } else {
    /* SMALL_BIG_EXT or LARGE_BIG_EXT: tag, digits, sign, LE bytes. */
    uint8_t *t = malloc(n + 6);
    size_t h = 0;
    if (t == NULL) {
      free(out);
      otpc_rpc_raisef(c, OTPC_RPC_ERROR, "system_limit");
      return;
    }
    if (n < 256) {
      t[h++] = 110;
      t[h++] = (uint8_t)n;
    } else {
      t[h++] = 111;
      for (int s = 24; s >= 0; s -= 8)
        t[h++] = (uint8_t)(n >> s);
    }
    t[h++] = (uint8_t)neg;
    memcpy(t + h, out, n);
    otpc_rpc_return(c, (otpc_term_t){.p = t, .len = h + n});
    free(t);
  }
  free(out);
}

static const char *status_name(otpc_proc_status_t s) {
  switch (s) {
  case OTPC_PROC_RUNNABLE: return "runnable";
  case OTPC_PROC_RUNNING: return "running";
  case OTPC_PROC_WAITING: return "waiting";
  default: return "exiting";
  }
}

/* processes(): one map per live C process (otpc_proc_info). */
static void processes(otpc_rpc_call_t *c, otpc_term_t args, void *ud) {
  (void)args;
  (void)ud;
  otpc_rt_t *rt = otpc_proc_rt(otpc_rpc_proc(c));
  otpc_pid_t *pids;
  size_t n, k = 0;
  otpc_buf_t b;
  if (otpc_processes(rt, &pids, &n) != 0) {
    otpc_rpc_raisef(c, OTPC_RPC_ERROR, "system_limit");
    return;
  }
  otpc_buf_init(&b);
  uint8_t head[5] = {108};
  otpc_buf_append(&b, head, sizeof head);
  for (size_t i = 0; i < n; i++) {
    otpc_proc_info_t pi;
    otpc_buf_t name;
    if (otpc_proc_info(rt, pids[i], &pi) != 0)
      continue; /* exited since the list was taken */
    otpc_buf_init(&name);
    if (pi.registered_name != OTPC_ATOM_NONE)
      otpc_term_build(&name, NULL, "~A", pi.registered_name);
    else
      otpc_term_build(&name, NULL, "[]");
    otpc_term_t nm = {.p = name.data, .len = name.len};
    otpc_term_build(&b, NULL,
                    "#{pid => ~p, registered_name => ~t, status => ~a, "
                    "message_queue_len => ~U, memory => ~U, "
                    "messages_handled => ~U, class => ~b}",
                    &pi.pid, &nm, status_name(pi.status),
                    (uint64_t)pi.message_queue_len, (uint64_t)pi.memory,
                    pi.messages_handled, pi.class_name,
                    pi.class_name ? strlen(pi.class_name) : 0);
    otpc_buf_free(&name);
    k++;
  }
  free(pids);
  uint8_t nil = 106;
  otpc_buf_append(&b, &nil, 1);
  for (int s = 0; s < 4; s++)
    b.data[1 + s] = (uint8_t)(k >> (24 - 8 * s));
  if (k == 0)
    otpc_rpc_returnf(c, "[]");
  else
    otpc_rpc_return(c, (otpc_term_t){.p = b.data, .len = b.len});
  otpc_buf_free(&b);
}

/* ------------------------------------------------- rpc_into/5 */

typedef struct into {
  otpc_pid_t caller;
  bool erpc;
} into_t;

static void into_done(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                      void *ctx) {
  (void)ctx;
  into_t *s = state;
  otpc_term_t r;
  if (s->erpc && msg != NULL &&
      otpc_term_match(otpc_msg_term(msg), NULL, "{erpc_reply, _, ~t}", &r) == 0)
    otpc_sendf(self, s->caller, "{erpc_into, ~t}", &r);
  if (!s->erpc && msg != NULL &&
      otpc_term_match(otpc_msg_term(msg), NULL, "{rex, ~t}", &r) == 0)
    otpc_sendf(self, s->caller, "{rpc_into, ~t}", &r);
  otpc_exitf(self, "normal");
}

/* [Caller, Node, M, F, Args]: the call through rex (rpc_into) or erpc
 * (erpc_into); Caller gets {rpc_into, Result} or {erpc_into, Outcome}. */
static void into_start(otpc_proc_t *self, into_t *s, otpc_msg_t *m) {
  otpc_atom_t node;
  otpc_term_t tm, tf, args;
  char mod[256], fun[256];
  int rc = otpc_term_match(otpc_msg_term(m), NULL, "[~p, ~a, ~t, ~t, ~t]",
                           &s->caller, &node, &tm, &tf, &args);
  if (rc == 0)
    rc = otpc_term_atom_text(tm, mod, sizeof mod, NULL);
  if (rc == 0)
    rc = otpc_term_atom_text(tf, fun, sizeof fun, NULL);
  if (rc == 0 && s->erpc)
    rc = otpc_erpc_call(self, node, mod, fun, args, -1, into_done, NULL);
  else if (rc == 0)
    rc = otpc_rpc_call_remote(self, node, mod, fun, args, -1, into_done, NULL);
  otpc_msg_unref(m);
  if (rc != 0)
    otpc_exitf(self, "{badarg, into}");
}

static void rpc_into_init(otpc_proc_t *self, void *state, void *arg) {
  into_start(self, state, arg);
}

static void erpc_into_init(otpc_proc_t *self, void *state, void *arg) {
  ((into_t *)state)->erpc = true;
  into_start(self, state, arg);
}

static const otpc_proc_class_t into_class = {
    .name = "rpc_into", .state_size = sizeof(into_t), .init = rpc_into_init};
static const otpc_proc_class_t erpc_into_class = {
    .name = "erpc_into", .state_size = sizeof(into_t), .init = erpc_into_init};

/* ------------------------------- otpc_rpc_test: for the test suites */

static void throw_(otpc_rpc_call_t *c, otpc_term_t args, void *ud) {
  otpc_term_t x;
  otpc_term_match(args, NULL, "[~t]", &x);
  otpc_rpc_raise(c, (otpc_rpc_class_t)(intptr_t)ud, x);
}

static void no_result(otpc_rpc_call_t *c, otpc_term_t args, void *ud) {
  (void)c;
  (void)args;
  (void)ud;
}

/* send(Pid, Msg): Pid ! Msg from the calling C process, returns ok. */
static void send_(otpc_rpc_call_t *c, otpc_term_t args, void *ud) {
  (void)ud;
  otpc_pid_t to;
  otpc_term_t m;
  if (otpc_term_match(args, NULL, "[~p, ~t]", &to, &m) != 0) {
    otpc_rpc_raisef(c, OTPC_RPC_ERROR, "badarg");
    return;
  }
  otpc_sendf(otpc_rpc_proc(c), to, "~t", &m);
  otpc_rpc_returnf(c, "ok");
}

/* proc(Parent), spawned remotely: tells Parent {hello, self()}, then
 * answers {echo, From, X} with From ! X and ends on {stop, Reason}. */
static void proc_init(otpc_proc_t *self, void *state, void *arg) {
  (void)state;
  otpc_msg_t *m = arg;
  otpc_pid_t parent, me = otpc_self(self);
  int rc = otpc_term_match(otpc_msg_term(m), NULL, "[~p]", &parent);
  otpc_msg_unref(m);
  if (rc != 0)
    otpc_exitf(self, "badarg");
  otpc_sendf(self, parent, "{hello, ~p}", &me);
}

static void proc_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)state;
  otpc_pid_t from;
  otpc_term_t x;
  if (otpc_term_match(otpc_msg_term(msg), NULL, "{echo, ~p, ~t}", &from, &x) ==
      0)
    otpc_sendf(self, from, "~t", &x);
  else if (otpc_term_match(otpc_msg_term(msg), NULL, "{stop, ~t}", &x) == 0)
    otpc_exit(self, x);
}

static const otpc_proc_class_t proc_class = {
    .name = "otpc_rpc_test", .init = proc_init, .handle = proc_handle};

static int register_test(otpc_rpc_t *r) {
  static const char m[] = "otpc_rpc_test";
  int rc = otpc_rpc_register(r, m, "throw", 1, throw_,
                             (void *)(intptr_t)OTPC_RPC_THROW);
  if (rc == 0)
    rc = otpc_rpc_register(r, m, "exit", 1, throw_,
                           (void *)(intptr_t)OTPC_RPC_EXIT);
  if (rc == 0)
    rc = otpc_rpc_register(r, m, "no_result", 0, no_result, NULL);
  if (rc == 0)
    rc = otpc_rpc_register(r, m, "send", 2, send_, NULL);
  if (rc == 0)
    rc = otpc_rpc_register_process(r, m, "proc", 1, &proc_class);
  return rc;
}

int otpc__rpc_register_otpc_node(otpc_rpc_t *r) {
  /* echo, add and fail need no process: inline. */
  int rc = otpc_rpc_register_inline(r, "otpc_node", "echo", 1, echo, NULL);
  if (rc == 0)
    rc = otpc_rpc_register_inline(r, "otpc_node", "add", 2, add, NULL);
  if (rc == 0)
    rc = otpc_rpc_register_inline(r, "otpc_node", "fail", 1, fail, NULL);
  if (rc == 0)
    rc = otpc_rpc_register(r, "otpc_node", "processes", 0, processes, NULL);
  if (rc == 0)
    rc = otpc_rpc_register_process(r, "otpc_node", "rpc_into", 5, &into_class);
  if (rc == 0)
    rc = otpc_rpc_register_process(r, "otpc_node", "erpc_into", 5,
                                   &erpc_into_class);
  if (rc == 0)
    rc = register_test(r);
  return rc;
}
