/* otpc-scenario: the otpc side of the differential scenarios.
 *
 * A port program ({packet, 4}, no options). Each request is term_to_binary
 * of one scenario {scenario, Name, Doc, Steps} of a test/scenarios file; the
 * reply is its trace, the term test/scenario_erl.erl returns for the same
 * scenario on the BEAM (that file documents the language). A request that
 * is not a scenario gets {error, Why}. The program exits 0 when its input
 * closes.
 *
 * Each scenario runs on a fresh runtime. The controller is a thread process
 * on the main thread; the named processes are ordinary otpc processes of
 * one class, `scenario`, that act only on the controller's commands and
 * report to it what they receive, what their ops return, and (through the
 * controller's monitor) how they end. The controller waits for each
 * command's result before the next step, so the traces depend on signal
 * semantics only, never on timing.
 *
 * The behaviour families (scn_*.c, one per behaviour, declared in
 * scn_family.h) add ops and puppets: processes that are not commanded,
 * announce themselves and their callbacks with '$ev' messages and link to
 * the controller, which traps exits and reads their ends from the
 * 'EXIT's. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"
#include "otpc/msg.h"
#include "otpc/process.h"
#include "otpc/term.h"
#include "scn_family.h"

#define MAX_FRAME (64u << 20)
#define MAX_PROCS 64
#define MAX_REFS 64
#define MAX_ERRORS 16
/* How long the controller waits for one step: a guard against a scenario
 * that can never complete, never a synchronisation. */
#define TIMEOUT_MS 5000

/* ------------------------------------------------------- term writing */

/* Raw external-format pieces, for terms whose shape is only known at run
 * time (the builder's formats are fixed). */
static int put_tuple(otpc_buf_t *b, size_t n) {
  if (n < 256) {
    uint8_t h[2] = {104, (uint8_t)n};
    return otpc_buf_append(b, h, 2);
  }
  uint8_t h[5] = {105, (uint8_t)(n >> 24), (uint8_t)(n >> 16),
                  (uint8_t)(n >> 8), (uint8_t)n};
  return otpc_buf_append(b, h, 5);
}

/* A list of n > 0 elements: the header, then the caller writes the elements
 * and the tail. */
static int put_list(otpc_buf_t *b, size_t n) {
  uint8_t h[5] = {108, (uint8_t)(n >> 24), (uint8_t)(n >> 16),
                  (uint8_t)(n >> 8), (uint8_t)n};
  return otpc_buf_append(b, h, 5);
}

static int put_nil(otpc_buf_t *b) {
  uint8_t h = 106;
  return otpc_buf_append(b, &h, 1);
}

static int put_term(otpc_buf_t *b, otpc_term_t t) {
  return otpc_buf_append(b, t.p, t.len);
}

static otpc_term_t buf_term(const otpc_buf_t *b) {
  otpc_term_t t = {b->data, b->len};
  return t;
}

/* Copies a term, letting `leaf` replace any sub-term: it returns 1 when it
 * wrote a replacement, 0 to copy (or descend into) the term, <0 on error.
 * Maps are copied as they are. */
typedef int (*leaf_fn)(void *ctx, otpc_term_t t, otpc_buf_t *out);

static int rewrite(otpc_term_t t, otpc_buf_t *out, leaf_fn leaf, void *ctx) {
  int rc = leaf(ctx, t, out);
  if (rc != 0)
    return rc < 0 ? rc : 0;
  otpc_iter_t it;
  otpc_term_t e;
  size_t n;
  switch (otpc_term_type(t)) {
  case OTPC_T_TUPLE:
    if ((rc = otpc_term_tuple(t, &it, &n)) < 0 || (rc = put_tuple(out, n)) < 0)
      return rc;
    while (otpc_iter_next(&it, &e) == 1)
      if ((rc = rewrite(e, out, leaf, ctx)) < 0)
        return rc;
    return 0;
  case OTPC_T_LIST:
    if ((rc = otpc_term_list(t, &it, &n)) < 0 || (rc = put_list(out, n)) < 0)
      return rc;
    while (otpc_iter_next(&it, &e) == 1)
      if ((rc = rewrite(e, out, leaf, ctx)) < 0)
        return rc;
    if ((rc = otpc_iter_tail(&it, &e)) < 0)
      return rc;
    return rewrite(e, out, leaf, ctx);
  default: return put_term(out, t);
  }
}

/* A scenario pattern: '_' matches anything, tuples and lists match element
 * by element, anything else must be exactly equal. */
static bool pattern_match(otpc_term_t p, otpc_term_t t) {
  if (otpc_term_is_atom(p, "_"))
    return true;
  otpc_type_t pt = otpc_term_type(p), tt = otpc_term_type(t);
  otpc_iter_t pi, ti;
  otpc_term_t pe, te;
  size_t pn, tn;
  if (pt == OTPC_T_TUPLE && tt == OTPC_T_TUPLE) {
    if (otpc_term_tuple(p, &pi, &pn) < 0 || otpc_term_tuple(t, &ti, &tn) < 0 ||
        pn != tn)
      return false;
    while (otpc_iter_next(&pi, &pe) == 1 && otpc_iter_next(&ti, &te) == 1)
      if (!pattern_match(pe, te))
        return false;
    return true;
  }
  if (pt == OTPC_T_LIST && tt == OTPC_T_LIST) {
    if (otpc_term_list(p, &pi, &pn) < 0 || otpc_term_list(t, &ti, &tn) < 0 ||
        pn != tn)
      return false;
    while (otpc_iter_next(&pi, &pe) == 1 && otpc_iter_next(&ti, &te) == 1)
      if (!pattern_match(pe, te))
        return false;
    if (otpc_iter_tail(&pi, &pe) < 0 || otpc_iter_tail(&ti, &te) < 0)
      return false;
    return pattern_match(pe, te);
  }
  return otpc_term_equal(p, t) == 1;
}

static bool ref_eq(const otpc_ref_t *a, const otpc_ref_t *b) {
  if (a->node != b->node || a->creation != b->creation || a->len != b->len)
    return false;
  for (uint32_t i = 0; i < a->len; i++)
    if (a->id[i] != b->id[i])
      return false;
  return true;
}

static bool pid_eq(const otpc_pid_t *a, const otpc_pid_t *b) {
  return a->node == b->node && a->id == b->id && a->serial == b->serial &&
         a->creation == b->creation;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --------------------------------------------------- scenario processes */

typedef struct sp_arg {
  otpc_pid_t ctl;
  otpc_atom_t name;
} sp_arg_t;

typedef struct sp_state {
  otpc_pid_t ctl;
  otpc_atom_t name;
  bool hold;          /* only commands are received */
  size_t wait_n;      /* wait_queued: messages to wait for */
  int64_t wait_until; /* wait_queued: give up then */
} sp_state_t;

static void sp_init(otpc_proc_t *self, void *state, void *arg);
static void sp_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg);

static const otpc_proc_class_t scenario_class = {
    .name = "scenario",
    .state_size = sizeof(sp_state_t),
    .init = sp_init,
    .handle = sp_handle,
    .terminate = NULL,
};

/* Spawns a scenario process named `name` from `spawner`, or from no process
 * (the controller: it never links to or monitors at spawn). */
static int spawn_sp(otpc_rt_t *rt, otpc_proc_t *spawner, otpc_pid_t ctl,
                    otpc_atom_t name, bool link, bool monitor, bool trap,
                    otpc_atom_t reg, otpc_pid_t *pid, otpc_ref_t *ref) {
  sp_arg_t *a = malloc(sizeof *a);
  if (a == NULL)
    return OTPC_ENOMEM;
  a->ctl = ctl;
  a->name = name;
  otpc_spawn_opts_t opts = {
      .link = link,
      .monitor = monitor,
      .monitor_ref = monitor ? ref : NULL,
      .trap_exit = trap,
      .name = reg != OTPC_ATOM_NONE ? otpc_atom_text(reg, NULL) : NULL};
  int rc = spawner != NULL ? otpc_spawn(spawner, &scenario_class, a, &opts, pid)
                           : otpc_rt_spawn(rt, &scenario_class, a, &opts, pid);
  if (rc < 0)
    free(a); /* init never ran */
  return rc;
}

/* The controller's monitor is in place once `monitored' arrives (it is sent
 * after the monitor), so nothing can make the process exit unseen. */
static bool is_monitored(otpc_term_t t, const void *arg) {
  (void)arg;
  return otpc_term_match(t, NULL, "{'$cmd', monitored}") == 0;
}

static void monitored_cont(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                           void *ctx) {
  (void)msg;
  (void)ctx;
  sp_state_t *s = state;
  otpc_pid_t me = otpc_self(self);
  otpc_sendf(self, s->ctl, "{'$ev', ~p, ready}", &me);
}

static void sp_init(otpc_proc_t *self, void *state, void *arg) {
  sp_state_t *s = state;
  sp_arg_t *a = arg;
  s->ctl = a->ctl;
  s->name = a->name;
  free(a);
  otpc_pid_t me = otpc_self(self);
  otpc_sendf(self, s->ctl, "{'$ev', ~p, {started, ~A}}", &me, s->name);
  otpc_receive(self, is_monitored, NULL, 0, -1, monitored_cont, NULL);
}

static void send_done(otpc_proc_t *self, sp_state_t *s, otpc_term_t result) {
  otpc_pid_t me = otpc_self(self);
  otpc_sendf(self, s->ctl, "{'$ev', ~p, {done, ~t}}", &me, &result);
}

static void send_done_fmt(otpc_proc_t *self, sp_state_t *s, const char *fmt) {
  otpc_buf_t b;
  otpc_buf_init(&b);
  if (otpc_term_build(&b, NULL, fmt) == 0)
    send_done(self, s, buf_term(&b));
  otpc_buf_free(&b);
}

static bool is_command(otpc_term_t t, const void *arg) {
  (void)arg;
  return otpc_term_match(t, NULL, "{'$cmd', _}") == 0;
}

static void command(otpc_proc_t *self, sp_state_t *s, otpc_term_t op);

static void hold_cont(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                      void *ctx) {
  (void)ctx;
  otpc_term_t op;
  if (msg != NULL &&
      otpc_term_match(otpc_msg_term(msg), NULL, "{'$cmd', ~t}", &op) == 0)
    command(self, state, op);
}

/* In hold mode, waits for the next command; the other messages stay
 * queued, in order, for when the process receives everything again. */
static void rearm(otpc_proc_t *self, sp_state_t *s) {
  if (s->hold)
    otpc_receive(self, is_command, NULL, 0, -1, hold_cont, NULL);
}

static void wait_queued_step(otpc_proc_t *self, void *state, void *ctx) {
  (void)ctx;
  sp_state_t *s = state;
  otpc_proc_info_t info;
  int rc = otpc_proc_info(otpc_proc_rt(self), otpc_self(self), &info);
  if (rc == 0 && info.message_queue_len >= s->wait_n) {
    send_done_fmt(self, s, "ok");
  } else if (rc < 0 || now_ms() > s->wait_until) {
    send_done_fmt(self, s, "timeout");
  } else {
    otpc_yield(self, wait_queued_step, NULL);
    return;
  }
  rearm(self, s);
}

static void sp_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  sp_state_t *s = state;
  otpc_term_t t = otpc_msg_term(msg), op;
  if (otpc_term_match(t, NULL, "{'$cmd', ~t}", &op) == 0) {
    command(self, s, op);
    return;
  }
  otpc_pid_t me = otpc_self(self);
  otpc_sendf(self, s->ctl, "{'$ev', ~p, {recv, ~t}}", &me, &t);
}

static bool atom_is_true(otpc_term_t t) {
  return otpc_term_is_atom(t, "true");
}

/* The behaviour families, tried in order for an op the core does not know
 * (as scenario_erl's ?FAMILIES). */
static const struct {
  int (*real_op)(const otpc__scn_names_t *names, otpc_term_t op,
                 otpc_buf_t *out);
  int (*op)(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op, otpc_buf_t *res,
            otpc__scn_done_fn done);
} families[] = {
    {otpc__scn_gs_real_op, otpc__scn_gs_op},
    {otpc__scn_sup_real_op, otpc__scn_sup_op},
    {otpc__scn_sm_real_op, otpc__scn_sm_op},
    {otpc__scn_ev_real_op, otpc__scn_ev_op},
};

/* A family's pending op has its result: report it, take commands again. */
static void family_done(otpc_proc_t *self, void *state, otpc_term_t result) {
  send_done(self, state, result);
  rearm(self, state);
}

/* Runs one op; writes its result into `res`, or returns OTPC__SCN_PENDING
 * when a family's op will report it itself. May not return ({exit, R}). */
static int run_op(otpc_proc_t *self, sp_state_t *s, otpc_term_t op,
                  otpc_buf_t *res) {
  otpc_rt_t *rt = otpc_proc_rt(self);
  otpc_pid_t pid;
  otpc_ref_t ref;
  otpc_atom_t name;
  otpc_term_t a, b, c, d;
  uint64_t ms;
  int rc;

  if (otpc_term_match(op, NULL, "{spawn, ~a, {~t, ~t, ~t, ~t}}", &name, &a, &b,
                      &c, &d) == 0) {
    bool mon = atom_is_true(b);
    otpc_atom_t reg = OTPC_ATOM_NONE;
    if (!otpc_term_is_atom(d, "undefined") && otpc_term_atom(d, &reg) < 0)
      return OTPC_EINVAL;
    rc = spawn_sp(rt, self, s->ctl, name, atom_is_true(a), mon, atom_is_true(c),
                  reg, &pid, &ref);
    if (rc < 0)
      return otpc_term_build(res, NULL, "{error, badarg}");
    if (mon)
      return otpc_term_build(res, NULL, "{~p, ~r}", &pid, &ref);
    return otpc_term_build(res, NULL, "~p", &pid);
  }
  if (otpc_term_match(op, NULL, "{send, ~p, ~t}", &pid, &a) == 0) {
    otpc_msg_t *m;
    if ((rc = otpc_msg_from_term(a, &m)) < 0)
      return rc;
    rc = otpc_send(self, pid, m);
    otpc_msg_unref(m);
    return otpc_term_build(res, NULL, rc < 0 ? "{error, badarg}" : "ok");
  }
  if (otpc_term_match(op, NULL, "{send_name, ~a, ~t}", &name, &a) == 0) {
    otpc_msg_t *m;
    if ((rc = otpc_msg_from_term(a, &m)) < 0)
      return rc;
    rc = otpc_send_name(self, name, m);
    otpc_msg_unref(m);
    return otpc_term_build(res, NULL, rc < 0 ? "{error, badarg}" : "ok");
  }
  if (otpc_term_match(op, NULL, "{link, ~p}", &pid) == 0) {
    rc = otpc_link(self, pid);
    return otpc_term_build(res, NULL, rc < 0 ? "{error, noproc}" : "true");
  }
  if (otpc_term_match(op, NULL, "{unlink, ~p}", &pid) == 0) {
    rc = otpc_unlink(self, pid);
    return otpc_term_build(res, NULL, rc < 0 ? "{error, badarg}" : "true");
  }
  if (otpc_term_match(op, NULL, "{monitor, ~p}", &pid) == 0) {
    if ((rc = otpc_monitor(self, pid, &ref)) < 0)
      return otpc_term_build(res, NULL, "{error, badarg}");
    return otpc_term_build(res, NULL, "~r", &ref);
  }
  if (otpc_term_match(op, NULL, "{monitor_name, ~a}", &name) == 0) {
    if ((rc = otpc_monitor_name(self, name, &ref)) < 0)
      return otpc_term_build(res, NULL, "{error, badarg}");
    return otpc_term_build(res, NULL, "~r", &ref);
  }
  if (otpc_term_match(op, NULL, "{demonitor, ~r, ~t}", &ref, &a) == 0) {
    int flags = 0;
    otpc_iter_t it;
    otpc_term_t e;
    size_t n;
    if ((rc = otpc_term_list(a, &it, &n)) < 0)
      return rc;
    while (otpc_iter_next(&it, &e) == 1) {
      if (otpc_term_is_atom(e, "flush"))
        flags |= OTPC_DEMONITOR_FLUSH;
      else if (otpc_term_is_atom(e, "info"))
        flags |= OTPC_DEMONITOR_INFO;
    }
    rc = otpc_demonitor(self, &ref, flags);
    if (rc < 0)
      return otpc_term_build(res, NULL, "{error, badarg}");
    bool found = (flags & OTPC_DEMONITOR_INFO) ? rc == 1 : true;
    return otpc_term_build(res, NULL, found ? "true" : "false");
  }
  if (otpc_term_match(op, NULL, "{exit_signal, ~p, ~t}", &pid, &a) == 0) {
    rc = otpc_exit_signal(self, pid, a);
    return otpc_term_build(res, NULL, rc < 0 ? "{error, badarg}" : "true");
  }
  if (otpc_term_match(op, NULL, "{exit, ~t}", &a) == 0)
    otpc_exit(self, a);
  if (otpc_term_match(op, NULL, "{trap_exit, ~t}", &a) == 0) {
    bool old = otpc_trap_exit(self, atom_is_true(a));
    return otpc_term_build(res, NULL, old ? "true" : "false");
  }
  if (otpc_term_match(op, NULL, "{register, ~a, ~p}", &name, &pid) == 0) {
    rc = otpc_register(rt, name, pid);
    return otpc_term_build(res, NULL, rc < 0 ? "{error, badarg}" : "true");
  }
  if (otpc_term_match(op, NULL, "{unregister, ~a}", &name) == 0) {
    rc = otpc_unregister(rt, name);
    return otpc_term_build(res, NULL, rc < 0 ? "{error, badarg}" : "true");
  }
  if (otpc_term_match(op, NULL, "{whereis, ~a}", &name) == 0) {
    if (otpc_whereis(rt, name, &pid) < 0)
      return otpc_term_build(res, NULL, "undefined");
    return otpc_term_build(res, NULL, "~p", &pid);
  }
  if (otpc_term_match(op, NULL, "{send_after, ~U, ~p, ~t}", &ms, &pid, &a) ==
      0) {
    otpc_msg_t *m;
    if ((rc = otpc_msg_from_term(a, &m)) < 0)
      return rc;
    rc = otpc_send_after(rt, ms, pid, m, &ref);
    otpc_msg_unref(m);
    if (rc < 0)
      return otpc_term_build(res, NULL, "{error, badarg}");
    return otpc_term_build(res, NULL, "~r", &ref);
  }
  if (otpc_term_match(op, NULL, "{cancel_timer, ~r}", &ref) == 0) {
    rc = otpc_cancel_timer(rt, &ref, &ms);
    return otpc_term_build(res, NULL, rc == 0 ? "time_left" : "false");
  }
  for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
    if ((rc = families[i].op(self, s->ctl, op, res, family_done)) !=
        OTPC__SCN_NOMATCH)
      return rc;
  return otpc_term_build(res, NULL, "{error, unknown_op}");
}

static void command(otpc_proc_t *self, sp_state_t *s, otpc_term_t op) {
  uint64_t n;
  if (otpc_term_is_atom(op, "final_release")) {
    s->hold = false;
    return;
  }
  if (otpc_term_is_atom(op, "final_sync")) {
    otpc_pid_t me = otpc_self(self);
    otpc_sendf(self, s->ctl, "{'$ev', ~p, synced}", &me);
  } else if (otpc_term_is_atom(op, "hold")) {
    s->hold = true;
    send_done_fmt(self, s, "ok");
  } else if (otpc_term_is_atom(op, "release")) {
    s->hold = false;
    send_done_fmt(self, s, "ok");
  } else if (otpc_term_match(op, NULL, "{wait_queued, ~U}", &n) == 0) {
    s->wait_n = (size_t)n;
    s->wait_until = now_ms() + TIMEOUT_MS;
    wait_queued_step(self, s, NULL);
    return;
  } else {
    otpc_buf_t res;
    otpc_buf_init(&res);
    int rc = run_op(self, s, op, &res);
    if (rc == 0)
      send_done(self, s, buf_term(&res));
    else if (rc != OTPC__SCN_PENDING)
      send_done_fmt(self, s, "{error, op_failed}");
    otpc_buf_free(&res);
    if (rc == OTPC__SCN_PENDING)
      return;
  }
  rearm(self, s);
}

/* ------------------------------------------------------------ controller */

typedef struct sproc {
  otpc_atom_t name;
  otpc_pid_t pid;
  bool alive;
  otpc_ref_t mon;    /* the controller's monitor */
  otpc_buf_t *trace; /* entries with real pids and refs, named when read */
  size_t n_trace, cap_trace;
  size_t cursor;    /* entries an await has already looked past */
  otpc_msg_t *done; /* the last op result not yet taken */
  bool ready;       /* monitored by the controller, taking commands */
  bool synced;
  bool puppet;      /* a family's process: not commanded, linked */
  otpc_buf_t async; /* the op of {async, P, Op} while it runs (len > 0) */
} sproc_t;

typedef struct ctl {
  otpc_rt_t *rt;
  otpc_proc_t *self;
  otpc_pid_t me;
  otpc_atom_t node;
  sproc_t procs[MAX_PROCS]; /* in the order they started */
  size_t n_procs;
  struct {
    otpc_atom_t name;
    otpc_ref_t ref;
  } refs[MAX_REFS];
  size_t n_refs;
  otpc_buf_t errors[MAX_ERRORS];
  size_t n_errors;
} ctl_t;

static sproc_t *by_name(ctl_t *c, otpc_atom_t name) {
  for (size_t i = 0; i < c->n_procs; i++)
    if (c->procs[i].name == name)
      return &c->procs[i];
  return NULL;
}

static sproc_t *by_pid(ctl_t *c, const otpc_pid_t *pid) {
  for (size_t i = 0; i < c->n_procs; i++)
    if (pid_eq(&c->procs[i].pid, pid))
      return &c->procs[i];
  return NULL;
}

static const otpc_ref_t *ref_by_name(ctl_t *c, otpc_atom_t name) {
  for (size_t i = 0; i < c->n_refs; i++)
    if (c->refs[i].name == name)
      return &c->refs[i].ref;
  return NULL;
}

static void bind_ref(ctl_t *c, otpc_atom_t name, otpc_term_t ref_term) {
  otpc_ref_t ref;
  if (c->n_refs < MAX_REFS && otpc_term_ref(ref_term, &ref) == 0) {
    c->refs[c->n_refs].name = name;
    c->refs[c->n_refs].ref = ref;
    c->n_refs++;
  }
}

/* Appends an entry built from a format to p's trace. */
static int append(sproc_t *p, const char *fmt, otpc_term_t a, otpc_term_t b) {
  if (p->n_trace == p->cap_trace) {
    size_t cap = p->cap_trace ? 2 * p->cap_trace : 16;
    otpc_buf_t *t = realloc(p->trace, cap * sizeof *t);
    if (t == NULL)
      return OTPC_ENOMEM;
    p->trace = t;
    p->cap_trace = cap;
  }
  otpc_buf_t *e = &p->trace[p->n_trace];
  otpc_buf_init(e);
  int rc = otpc_term_build(e, NULL, fmt, &a, &b);
  if (rc < 0) {
    otpc_buf_free(e);
    return rc;
  }
  p->n_trace++;
  return 0;
}

static void add_error(ctl_t *c, const char *fmt, const char *why,
                      otpc_term_t what) {
  if (c->n_errors < MAX_ERRORS) {
    otpc_buf_init(&c->errors[c->n_errors]);
    if (otpc_term_build(&c->errors[c->n_errors], NULL, fmt, why, &what) == 0)
      c->n_errors++;
  }
}

/* Pids, refs and the node name to their scenario names. */
static int sym_leaf(void *ctx, otpc_term_t t, otpc_buf_t *out) {
  ctl_t *c = ctx;
  otpc_pid_t pid;
  otpc_ref_t ref;
  otpc_atom_t a;
  switch (otpc_term_type(t)) {
  case OTPC_T_PID: {
    if (otpc_term_pid(t, &pid) < 0)
      return 0;
    sproc_t *p = by_pid(c, &pid);
    if (p != NULL)
      return otpc_term_build(out, NULL, "{pid, ~A}", p->name) < 0 ? -1 : 1;
    return otpc_term_build(out, NULL, "{pid, '?'}") < 0 ? -1 : 1;
  }
  case OTPC_T_REF:
    if (otpc_term_ref(t, &ref) < 0)
      return 0;
    for (size_t i = 0; i < c->n_refs; i++)
      if (ref_eq(&c->refs[i].ref, &ref))
        return otpc_term_build(out, NULL, "{ref, ~A}", c->refs[i].name) < 0 ? -1
                                                                            : 1;
    return otpc_term_build(out, NULL, "{ref, '?'}") < 0 ? -1 : 1;
  case OTPC_T_ATOM:
    if (otpc_term_atom(t, &a) == 0 && a == c->node)
      return otpc_term_build(out, NULL, "'@node'") < 0 ? -1 : 1;
    return 0;
  default: return 0;
  }
}

/* The reverse: {pid, P}, {ref, R} and '@node' to what they stand for. */
static int real_leaf(void *ctx, otpc_term_t t, otpc_buf_t *out) {
  ctl_t *c = ctx;
  otpc_atom_t name;
  if (otpc_term_type(t) == OTPC_T_TUPLE) {
    if (otpc_term_match(t, NULL, "{pid, ~a}", &name) == 0) {
      sproc_t *p = by_name(c, name);
      if (p == NULL)
        return OTPC_ENOTFOUND;
      return otpc_term_build(out, NULL, "~p", &p->pid) < 0 ? -1 : 1;
    }
    if (otpc_term_match(t, NULL, "{ref, ~a}", &name) == 0) {
      const otpc_ref_t *r = ref_by_name(c, name);
      if (r == NULL)
        return OTPC_ENOTFOUND;
      return otpc_term_build(out, NULL, "~r", r) < 0 ? -1 : 1;
    }
  } else if (otpc_term_is_atom(t, "@node")) {
    return otpc_term_build(out, NULL, "~A", c->node) < 0 ? -1 : 1;
  }
  return 0;
}

static int sym(ctl_t *c, otpc_term_t t, otpc_buf_t *out) {
  return rewrite(t, out, sym_leaf, c);
}

static int real(ctl_t *c, otpc_term_t t, otpc_buf_t *out) {
  return rewrite(t, out, real_leaf, c);
}

static void add_proc(ctl_t *c, otpc_pid_t pid, otpc_atom_t name) {
  if (c->n_procs == MAX_PROCS || by_pid(c, &pid) != NULL)
    return;
  sproc_t *p = &c->procs[c->n_procs++];
  memset(p, 0, sizeof *p);
  p->name = name;
  p->pid = pid;
  p->alive = true;
  otpc_monitor(c->self, pid, &p->mon);
  otpc_sendf(c->self, pid, "{'$cmd', monitored}");
}

/* A puppet announced itself: named as it asked, or with a suffix if that
 * name is taken (a restarted child: s, then 's#2'), as scenario_erl. */
static void add_puppet(ctl_t *c, otpc_pid_t pid, otpc_atom_t name) {
  if (c->n_procs == MAX_PROCS || by_pid(c, &pid) != NULL)
    return;
  otpc_atom_t unique = name;
  for (unsigned n = 2; by_name(c, unique) != NULL; n++) {
    char text[300];
    snprintf(text, sizeof text, "%s#%u", otpc_atom_text(name, NULL), n);
    if (otpc_atom(text, &unique) < 0)
      return;
  }
  sproc_t *p = &c->procs[c->n_procs++];
  memset(p, 0, sizeof *p);
  p->name = unique;
  p->pid = pid;
  p->alive = true;
  p->puppet = true;
}

/* An op's result: name what it created (monitors, timers), record it. */
static void record_result(ctl_t *c, sproc_t *p, otpc_term_t op,
                          otpc_term_t result) {
  otpc_term_t x, opts, mref;
  otpc_atom_t m;
  if (otpc_term_match(op, NULL, "{monitor, _, ~a}", &m) == 0 ||
      otpc_term_match(op, NULL, "{send_after, _, _, _, ~a}", &m) == 0)
    bind_ref(c, m, result);
  if (otpc_term_match(op, NULL, "{spawn, _, ~t}", &opts) == 0 &&
      otpc__scn_prop(opts, "monitor", &x) && otpc_term_atom(x, &m) == 0 &&
      otpc_term_match(result, NULL, "{_, ~t}", &mref) == 0)
    bind_ref(c, m, mref);
  append(p, "{~t, ~t}", op, result);
}

static void handle_event(ctl_t *c, otpc_msg_t *m) {
  otpc_term_t t = otpc_msg_term(m), x, y;
  otpc_pid_t pid;
  otpc_ref_t ref;
  otpc_atom_t name;
  sproc_t *p;
  if (otpc_term_match(t, NULL, "{'$ev', ~p, {started, ~a}}", &pid, &name) ==
      0) {
    add_proc(c, pid, name);
  } else if (otpc_term_match(t, NULL, "{'$ev', ~p, {recv, ~t}}", &pid, &x) ==
             0) {
    if ((p = by_pid(c, &pid)) != NULL)
      append(p, "{recv, ~t}", x, x);
  } else if (otpc_term_match(t, NULL, "{'$ev', ~p, {done, ~t}}", &pid, &x) ==
             0) {
    if ((p = by_pid(c, &pid)) != NULL && p->async.len > 0) {
      /* Recorded now, before any later event of P. */
      record_result(c, p, buf_term(&p->async), x);
      p->async.len = 0;
    } else if (p != NULL) {
      otpc_msg_unref(p->done);
      p->done = otpc_msg_ref(m);
    }
  } else if (otpc_term_match(t, NULL, "{'$ev', ~p, {puppet, ~a}}", &pid,
                             &name) == 0) {
    add_puppet(c, pid, name);
  } else if (otpc_term_match(t, NULL, "{'$ev', _, {watch, ~p, ~a}}", &pid,
                             &name) == 0) {
    /* A process with no code of ours (an event manager), announced by its
     * starter before its start returned: monitored from here. */
    add_puppet(c, pid, name);
    if ((p = by_pid(c, &pid)) != NULL)
      otpc_monitor(c->self, pid, &p->mon);
  } else if (otpc_term_match(t, NULL, "{'$ev', ~p, {cb, ~t}}", &pid, &x) == 0) {
    if ((p = by_pid(c, &pid)) != NULL)
      append(p, "~t", x, x);
  } else if (otpc_term_match(t, NULL, "{'EXIT', ~p, ~t}", &pid, &x) == 0) {
    if ((p = by_pid(c, &pid)) != NULL && p->puppet && p->alive) {
      append(p, "{exit, ~t}", x, x);
      p->alive = false;
    }
  } else if (otpc_term_match(t, NULL, "{'$ev', ~p, ready}", &pid) == 0) {
    if ((p = by_pid(c, &pid)) != NULL)
      p->ready = true;
  } else if (otpc_term_match(t, NULL, "{'$ev', ~p, synced}", &pid) == 0) {
    if ((p = by_pid(c, &pid)) != NULL)
      p->synced = true;
  } else if (otpc_term_match(t, NULL, "{'DOWN', ~r, process, _, ~t}", &ref,
                             &x) == 0) {
    for (size_t i = 0; i < c->n_procs; i++) {
      p = &c->procs[i];
      if (p->alive && ref_eq(&p->mon, &ref)) {
        append(p, "{exit, ~t}", x, x);
        p->alive = false;
      }
    }
  } else {
    y = t;
    add_error(c, "{~a, ~t}", "unexpected", y);
  }
}

enum { WAIT_OK = 1, WAIT_TIMEOUT = -100, WAIT_EXITED = -101 };

/* A condition the controller waits for: WAIT_OK, 0 (not yet) or a
 * failure. */
typedef int (*pred_fn)(ctl_t *c, void *arg);

static int wait_for(ctl_t *c, pred_fn pred, void *arg) {
  int64_t deadline = now_ms() + TIMEOUT_MS;
  for (;;) {
    int r = pred(c, arg);
    if (r != 0)
      return r;
    int64_t left = deadline - now_ms();
    if (left <= 0)
      return WAIT_TIMEOUT;
    otpc_msg_t *m = NULL;
    int rc = otpc_thread_receive(c->self, NULL, NULL, left, &m);
    if (rc == OTPC_ENOTFOUND)
      return WAIT_TIMEOUT;
    if (rc < 0 && m == NULL)
      return rc;
    if (m != NULL) {
      if (rc == 0)
        handle_event(c, m);
      otpc_msg_unref(m);
    }
  }
}

static int pred_started(ctl_t *c, void *arg) {
  sproc_t *p = by_name(c, *(otpc_atom_t *)arg);
  return p != NULL && p->ready ? WAIT_OK : 0;
}

static int pred_exited(ctl_t *c, void *arg) {
  sproc_t *p = by_name(c, *(otpc_atom_t *)arg);
  return p != NULL && !p->alive ? WAIT_OK : 0;
}

static int pred_done(ctl_t *c, void *arg) {
  sproc_t *p = by_name(c, *(otpc_atom_t *)arg);
  return p == NULL || p->done != NULL || !p->alive ? WAIT_OK : 0;
}

static int pred_synced(ctl_t *c, void *arg) {
  sproc_t *p = by_name(c, *(otpc_atom_t *)arg);
  return p == NULL || p->synced || !p->alive ? WAIT_OK : 0;
}

typedef struct await_arg {
  otpc_atom_t name;
  otpc_term_t pattern;
  bool whole; /* await_cb: match the entry itself, not {recv, Msg} */
} await_arg_t;

static int pred_recv(ctl_t *c, void *arg) {
  await_arg_t *a = arg;
  sproc_t *p = by_name(c, a->name);
  if (p == NULL)
    return 0;
  for (size_t i = p->cursor; i < p->n_trace; i++) {
    otpc_buf_t s;
    otpc_buf_init(&s);
    otpc_term_t msg;
    bool hit = false;
    if (sym(c, buf_term(&p->trace[i]), &s) == 0) {
      if (a->whole)
        hit = pattern_match(a->pattern, buf_term(&s));
      else if (otpc_term_match(buf_term(&s), NULL, "{recv, ~t}", &msg) == 0)
        hit = pattern_match(a->pattern, msg);
    }
    otpc_buf_free(&s);
    if (hit) {
      p->cursor = i + 1;
      return WAIT_OK;
    }
  }
  return p->alive ? 0 : WAIT_EXITED;
}

static int names_pid_of(void *ctx, otpc_atom_t name, otpc_pid_t *pid) {
  sproc_t *p = by_name(ctx, name);
  if (p == NULL)
    return OTPC_ENOTFOUND;
  *pid = p->pid;
  return 0;
}

static int names_real(void *ctx, otpc_term_t t, otpc_buf_t *out) {
  return real(ctx, t, out);
}

/* The command for an op: names resolved, as scenario_erl:real_op/2. */
static int real_op(ctl_t *c, otpc_term_t op, otpc_buf_t *out) {
  otpc_atom_t q, n;
  otpc_term_t a, b, t;
  uint64_t ms;
  sproc_t *p;
  const otpc_ref_t *r;
  otpc_buf_t x;
  int rc;
#define PID_OF(name)                                                           \
  do {                                                                         \
    if ((p = by_name(c, (name))) == NULL)                                      \
      return OTPC_ENOTFOUND;                                                   \
  } while (0)
#define REF_OF(name)                                                           \
  do {                                                                         \
    if ((r = ref_by_name(c, (name))) == NULL)                                  \
      return OTPC_ENOTFOUND;                                                   \
  } while (0)
  if (otpc_term_match(op, NULL, "{spawn, ~a, ~t}", &q, &a) == 0) {
    otpc_term_t reg;
    if (otpc__scn_prop(a, "register", &reg))
      return otpc_term_build(
          out, NULL, "{spawn, ~A, {~a, ~a, ~a, ~t}}", q,
          otpc__scn_has_atom(a, "link") ? "true" : "false",
          otpc__scn_prop(a, "monitor", &b) ? "true" : "false",
          otpc__scn_has_atom(a, "trap_exit") ? "true" : "false", &reg);
    return otpc_term_build(out, NULL, "{spawn, ~A, {~a, ~a, ~a, undefined}}", q,
                           otpc__scn_has_atom(a, "link") ? "true" : "false",
                           otpc__scn_prop(a, "monitor", &b) ? "true" : "false",
                           otpc__scn_has_atom(a, "trap_exit") ? "true"
                                                              : "false");
  }
  /* Ops carrying a term: resolve {pid, P} and {ref, R} inside it. */
  otpc_buf_init(&x);
  rc = 1;
  if (otpc_term_match(op, NULL, "{send, {reg, ~a}, ~t}", &n, &a) == 0) {
    if ((rc = real(c, a, &x)) == 0) {
      t = buf_term(&x);
      rc = otpc_term_build(out, NULL, "{send_name, ~A, ~t}", n, &t);
    }
  } else if (otpc_term_match(op, NULL, "{send, ~a, ~t}", &q, &a) == 0) {
    if ((p = by_name(c, q)) == NULL)
      rc = OTPC_ENOTFOUND;
    else if ((rc = real(c, a, &x)) == 0) {
      t = buf_term(&x);
      rc = otpc_term_build(out, NULL, "{send, ~p, ~t}", &p->pid, &t);
    }
  } else if (otpc_term_match(op, NULL, "{exit, ~a, ~t}", &q, &a) == 0) {
    if ((p = by_name(c, q)) == NULL)
      rc = OTPC_ENOTFOUND;
    else if ((rc = real(c, a, &x)) == 0) {
      t = buf_term(&x);
      rc = otpc_term_build(out, NULL, "{exit_signal, ~p, ~t}", &p->pid, &t);
    }
  } else if (otpc_term_match(op, NULL, "{exit, ~t}", &a) == 0) {
    if ((rc = real(c, a, &x)) == 0) {
      t = buf_term(&x);
      rc = otpc_term_build(out, NULL, "{exit, ~t}", &t);
    }
  } else if (otpc_term_match(op, NULL, "{send_after, ~U, ~a, ~t, _}", &ms, &q,
                             &a) == 0) {
    if ((p = by_name(c, q)) == NULL)
      rc = OTPC_ENOTFOUND;
    else if ((rc = real(c, a, &x)) == 0) {
      t = buf_term(&x);
      rc = otpc_term_build(out, NULL, "{send_after, ~U, ~p, ~t}", ms, &p->pid,
                           &t);
    }
  }
  otpc_buf_free(&x);
  if (rc != 1)
    return rc;

  if (otpc_term_match(op, NULL, "{link, ~a}", &q) == 0) {
    PID_OF(q);
    return otpc_term_build(out, NULL, "{link, ~p}", &p->pid);
  }
  if (otpc_term_match(op, NULL, "{unlink, ~a}", &q) == 0) {
    PID_OF(q);
    return otpc_term_build(out, NULL, "{unlink, ~p}", &p->pid);
  }
  if (otpc_term_match(op, NULL, "{monitor, {reg, ~a}, _}", &n) == 0)
    return otpc_term_build(out, NULL, "{monitor_name, ~A}", n);
  if (otpc_term_match(op, NULL, "{monitor, ~a, _}", &q) == 0) {
    PID_OF(q);
    return otpc_term_build(out, NULL, "{monitor, ~p}", &p->pid);
  }
  if (otpc_term_match(op, NULL, "{demonitor, ~a}", &n) == 0) {
    REF_OF(n);
    return otpc_term_build(out, NULL, "{demonitor, ~r, []}", r);
  }
  if (otpc_term_match(op, NULL, "{demonitor, ~a, ~t}", &n, &a) == 0) {
    REF_OF(n);
    return otpc_term_build(out, NULL, "{demonitor, ~r, ~t}", r, &a);
  }
  if (otpc_term_match(op, NULL, "{trap_exit, ~t}", &a) == 0)
    return otpc_term_build(out, NULL, "{trap_exit, ~t}", &a);
  if (otpc_term_match(op, NULL, "{register, ~a, ~a}", &n, &q) == 0) {
    PID_OF(q);
    return otpc_term_build(out, NULL, "{register, ~A, ~p}", n, &p->pid);
  }
  if (otpc_term_match(op, NULL, "{unregister, ~a}", &n) == 0 ||
      otpc_term_match(op, NULL, "{whereis, ~a}", &n) == 0 ||
      otpc_term_match(op, NULL, "{wait_queued, _}") == 0 ||
      otpc_term_is_atom(op, "hold") || otpc_term_is_atom(op, "release"))
    return otpc_term_build(out, NULL, "~t", &op);
  if (otpc_term_match(op, NULL, "{cancel_timer, ~a}", &n) == 0) {
    REF_OF(n);
    return otpc_term_build(out, NULL, "{cancel_timer, ~r}", r);
  }
#undef PID_OF
#undef REF_OF
  otpc__scn_names_t names = {c, names_pid_of, names_real};
  for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
    if ((rc = families[i].real_op(&names, op, out)) != OTPC__SCN_NOMATCH)
      return rc;
  return OTPC_EINVAL;
}

static int send_command(ctl_t *c, otpc_pid_t to, otpc_term_t op) {
  return otpc_sendf(c->self, to, "{'$cmd', ~t}", &op);
}

/* An op has returned: name what it created, record it, wait for a child. */
static const char *completed(ctl_t *c, sproc_t *p, otpc_term_t op) {
  otpc_term_t result, opts;
  otpc_atom_t q;
  otpc_msg_t *done = p->done;
  p->done = NULL;
  if (otpc_term_match(otpc_msg_term(done), NULL, "{'$ev', _, {done, ~t}}",
                      &result) != 0) {
    otpc_msg_unref(done);
    return "bad_result";
  }
  bool child = otpc_term_match(op, NULL, "{spawn, ~a, ~t}", &q, &opts) == 0 &&
               otpc_term_match(result, NULL, "{error, _}") != 0;
  record_result(c, p, op, result);
  otpc_msg_unref(done);
  if (child && wait_for(c, pred_started, &q) != WAIT_OK)
    return "timeout";
  return NULL;
}

static bool commandable(const sproc_t *p) {
  return p != NULL && p->alive && !p->puppet && p->async.len == 0;
}

/* Sends p the command for op; its result will be in p->done. */
static int op_command(ctl_t *c, sproc_t *p, otpc_term_t op) {
  otpc_buf_t cmd;
  otpc_buf_init(&cmd);
  int rc = real_op(c, op, &cmd);
  if (rc == 0) {
    otpc_msg_unref(p->done);
    p->done = NULL;
    rc = send_command(c, p->pid, buf_term(&cmd));
  }
  otpc_buf_free(&cmd);
  return rc;
}

static int pred_async_done(ctl_t *c, void *arg) {
  sproc_t *p = by_name(c, *(otpc_atom_t *)arg);
  return p == NULL || p->async.len == 0 || !p->alive ? WAIT_OK : 0;
}

/* Runs one step; NULL, or why it could not be run. */
static const char *run_step(ctl_t *c, otpc_term_t step) {
  otpc_atom_t q;
  otpc_term_t opts, pat, op;
  int rc;
  if (otpc_term_match(step, NULL, "{spawn, ~a, ~t}", &q, &opts) == 0) {
    if (otpc__scn_has_atom(opts, "link") ||
        otpc__scn_prop(opts, "monitor", &pat))
      return "controller_cannot_link_or_monitor";
    otpc_atom_t reg = OTPC_ATOM_NONE;
    if (otpc__scn_prop(opts, "register", &pat) && otpc_term_atom(pat, &reg) < 0)
      return "bad_step";
    otpc_pid_t pid;
    if (spawn_sp(c->rt, NULL, c->me, q, false, false,
                 otpc__scn_has_atom(opts, "trap_exit"), reg, &pid, NULL) < 0)
      return "spawn_failed";
    return wait_for(c, pred_started, &q) == WAIT_OK ? NULL : "timeout";
  }
  if (otpc_term_match(step, NULL, "{await, ~a, ~t}", &q, &pat) == 0 ||
      otpc_term_match(step, NULL, "{await_cb, ~a, ~t}", &q, &pat) == 0) {
    await_arg_t a = {q, pat,
                     otpc_term_match(step, NULL, "{await_cb, _, _}") == 0};
    rc = wait_for(c, pred_recv, &a);
    return rc == WAIT_OK ? NULL : rc == WAIT_EXITED ? "exited" : "timeout";
  }
  if (otpc_term_match(step, NULL, "{await_exit, ~a}", &q) == 0)
    return wait_for(c, pred_exited, &q) == WAIT_OK ? NULL : "timeout";
  if (otpc_term_match(step, NULL, "{await_done, ~a}", &q) == 0)
    return wait_for(c, pred_async_done, &q) == WAIT_OK ? NULL : "timeout";
  if (otpc_term_match(step, NULL, "{async, ~a, ~t}", &q, &op) == 0) {
    sproc_t *p = by_name(c, q);
    if (!commandable(p))
      return "dead_actor";
    if (op_command(c, p, op) < 0)
      return "bad_op";
    otpc_buf_append(&p->async, op.p, op.len);
    return NULL;
  }
  if (otpc_term_match(step, NULL, "{~a, ~t}", &q, &op) == 0) {
    sproc_t *p = by_name(c, q);
    if (!commandable(p))
      return "dead_actor";
    if (op_command(c, p, op) < 0)
      return "bad_op";
    if (wait_for(c, pred_done, &q) != WAIT_OK)
      return "timeout";
    p = by_name(c, q);
    if (p->done != NULL)
      return completed(c, p, op);
    return NULL;
  }
  return "bad_step";
}

/* Lets each live process take in what is queued for it, and waits for the
 * end of every puppet that has died by now (as scenario_erl:finish/1: its
 * exit signal may trail what its death caused elsewhere, but it comes). */
static void finish(ctl_t *c) {
  for (size_t i = 0; i < c->n_procs; i++) {
    sproc_t *p = &c->procs[i];
    otpc_proc_info_t info;
    if (!p->puppet || !p->alive ||
        otpc_proc_info(c->rt, p->pid, &info) != OTPC_ENOTFOUND)
      continue;
    otpc_atom_t q = p->name;
    if (wait_for(c, pred_exited, &q) != WAIT_OK && c->n_errors < MAX_ERRORS) {
      otpc_buf_init(&c->errors[c->n_errors]);
      if (otpc_term_build(&c->errors[c->n_errors], NULL,
                          "{timeout, final_exit, ~A}", q) == 0)
        c->n_errors++;
    }
  }
  otpc_buf_t rel, sync;
  otpc_buf_init(&rel);
  otpc_buf_init(&sync);
  otpc_term_build(&rel, NULL, "final_release");
  otpc_term_build(&sync, NULL, "final_sync");
  for (size_t i = 0; i < c->n_procs; i++) {
    sproc_t *p = &c->procs[i];
    if (!p->alive || p->puppet)
      continue;
    send_command(c, p->pid, buf_term(&rel));
    send_command(c, p->pid, buf_term(&sync));
    otpc_atom_t q = p->name;
    if (wait_for(c, pred_synced, &q) != WAIT_OK && c->n_errors < MAX_ERRORS) {
      otpc_buf_init(&c->errors[c->n_errors]);
      if (otpc_term_build(&c->errors[c->n_errors], NULL,
                          "{timeout, final_sync, ~A}", q) == 0)
        c->n_errors++;
    }
  }
  otpc_buf_free(&rel);
  otpc_buf_free(&sync);
}

/* [{P, [Entry]}] ++ [{'$controller', Errors}], everything named. */
static int write_trace(ctl_t *c, otpc_buf_t *out) {
  int rc = 0;
  size_t n = c->n_procs + (c->n_errors > 0);
  if (n == 0)
    return put_nil(out);
  if ((rc = put_list(out, n)) < 0)
    return rc;
  for (size_t i = 0; i < c->n_procs && rc == 0; i++) {
    sproc_t *p = &c->procs[i];
    if ((rc = put_tuple(out, 2)) < 0 ||
        (rc = otpc_term_build(out, NULL, "~A", p->name)) < 0)
      break;
    if (p->n_trace > 0 && (rc = put_list(out, p->n_trace)) < 0)
      break;
    for (size_t j = 0; j < p->n_trace && rc == 0; j++)
      rc = sym(c, buf_term(&p->trace[j]), out);
    if (rc == 0)
      rc = put_nil(out);
  }
  if (rc == 0 && c->n_errors > 0) {
    if ((rc = put_tuple(out, 2)) < 0 ||
        (rc = otpc_term_build(out, NULL, "'$controller'")) < 0 ||
        (rc = put_list(out, c->n_errors)) < 0)
      return rc;
    for (size_t j = 0; j < c->n_errors && rc == 0; j++)
      rc = sym(c, buf_term(&c->errors[j]), out);
    if (rc == 0)
      rc = put_nil(out);
  }
  return rc == 0 ? put_nil(out) : rc;
}

static void discard_log(void *ud, int level, const char *text) {
  (void)ud;
  (void)level;
  (void)text;
}

static int run_scenario(otpc_term_t steps, otpc_buf_t *out) {
  otpc_rt_opts_t opts = {.schedulers = 4, .log = discard_log};
  ctl_t *c = calloc(1, sizeof *c);
  if (c == NULL)
    return OTPC_ENOMEM;
  int rc = otpc_rt_start(&opts, &c->rt);
  if (rc < 0) {
    free(c);
    return rc;
  }
  if ((rc = otpc_thread_attach(c->rt, &c->self)) == 0) {
    c->me = otpc_self(c->self);
    /* Puppets link to the controller: their ends come as 'EXIT's. */
    otpc_trap_exit(c->self, true);
    c->node = otpc_rt_node(c->rt);
    otpc_iter_t it;
    otpc_term_t step;
    size_t n;
    if ((rc = otpc_term_list(steps, &it, &n)) == 0) {
      while (otpc_iter_next(&it, &step) == 1) {
        const char *why = run_step(c, step);
        if (why != NULL) {
          add_error(c, "{~a, ~t}", why, step);
          break;
        }
      }
      finish(c);
      rc = write_trace(c, out);
    }
    otpc_buf_t normal;
    otpc_buf_init(&normal);
    otpc_term_build(&normal, NULL, "normal");
    otpc_thread_detach(c->self, buf_term(&normal));
    otpc_buf_free(&normal);
  }
  otpc_rt_stop(c->rt);
  otpc__scn_sup_cleanup();
  for (size_t i = 0; i < c->n_procs; i++) {
    for (size_t j = 0; j < c->procs[i].n_trace; j++)
      otpc_buf_free(&c->procs[i].trace[j]);
    free(c->procs[i].trace);
    otpc_msg_unref(c->procs[i].done);
    otpc_buf_free(&c->procs[i].async);
  }
  for (size_t j = 0; j < c->n_errors; j++)
    otpc_buf_free(&c->errors[j]);
  free(c);
  return rc;
}

/* ---------------------------------------------------------- port side */

static int handle_request(const uint8_t *frame, size_t len, otpc_buf_t *out,
                          void *ud) {
  (void)ud;
  otpc_msg_t *m;
  otpc_err_t err;
  int rc = otpc_msg_decode(frame, len, &m, &err);
  if (rc < 0)
    return otpc_term_build(out, NULL, "{error, ~b}", err.msg, strlen(err.msg));
  otpc_term_t steps;
  if (otpc_term_match(otpc_msg_term(m), &err, "{scenario, _, _, ~t}", &steps) !=
      0)
    rc = otpc_term_build(out, NULL, "{error, ~b}", err.msg, strlen(err.msg));
  else if ((rc = run_scenario(steps, out)) < 0) {
    const char *why = otpc_strerror(rc);
    out->len = 0;
    rc = otpc_term_build(out, NULL, "{error, ~b}", why, strlen(why));
  }
  otpc_msg_unref(m);
  return rc;
}

int main(void) {
  return otpc__port_serve("otpc-scenario", MAX_FRAME, handle_request, NULL) < 0
             ? 1
             : 0;
}
