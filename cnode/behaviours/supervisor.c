/* supervisor over the process runtime, after OTP 25's supervisor.erl: the
 * supervisor process (children table, restart decisions and intensity,
 * shutdown protocol, the gen_server-protocol API, reports). Its clients
 * (start, start_child) are in sup_client.c.
 *
 * Everything that waits (a child's start, a child's shutdown) is a job of
 * steps run one after the other by run_job: a step that must wait returns,
 * and the continuation of its selective receive resumes run_job. While a
 * job runs the supervisor is in a selective receive, so every other message
 * stays queued, as OTP's supervisor blocks inside M:F(A) and shutdown/1. */
#include "otpc/supervisor.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../runtime/rt_internal.h"
#include "supervisor_int.h"

/* ------------------------------------------------------------ types */

enum { CH_UNDEF = 0, CH_RUNNING, CH_RESTARTING };

typedef struct child {
  otpc_child_spec_t spec;
  char *strs;     /* owned copies of id, name, module (start_child'd specs) */
  otpc_atom_t id; /* `undefined` for dynamic children */
  int st;
  otpc_pid_t pid;    /* RUNNING, or the old pid when RESTARTING */
  bool had_pid;      /* RESTARTING with an old pid */
  otpc_msg_t *extra; /* simple_one_for_one: the start_child arguments */
  otpc_ref_t mref;   /* the shutdown monitor of a dynamic child */
  bool waiting;      /* a dynamic child being shut down */
  bool drop;         /* to be removed when the job ends */
  uint64_t seq;      /* start order of a dynamic child (which_children) */
} child_t;

enum { STEP_START = 1, STEP_TERM };
typedef struct step {
  int op;
  size_t idx;
} step_t;

enum {
  J_NONE = 0,
  J_INIT,       /* init: start all, in order */
  J_INIT_FAIL,  /* init failed: stop the started ones, then exit */
  J_RESTART,    /* a restart of the strategy's children */
  J_CALL_START, /* start_child / restart_child: reply with the result */
  J_CALL_TERM,  /* terminate_child: reply ok */
  J_STOP        /* terminate all, then exit with s->stop_reason */
};

struct otpc_sup_start {
  struct sup *s;
  bool settled, in_fn;
  int status; /* OTPC_GS_OK, IGNORE, ERROR */
  otpc_pid_t pid;
  otpc_buf_t reason;
  otpc_sup_dyn_arg_t *dyn; /* freed when the start settles */
};

typedef struct sup {
  otpc_proc_t *self;
  otpc_sup_spec_t spec;
  otpc_pid_t parent;
  otpc_atom_t
      name; /* registered name, or NONE: reports say {Pid, supervisor} */
  bool simple;
  child_t tmpl; /* simple_one_for_one's child spec */
  child_t *ch;  /* static: in start order; simple: dynamic, in start order */
  size_t n, cap;
  /* Children by pid: open addressing over index + 1 (0: empty). Entries
   * are hints, checked on lookup, so a child that moved or went leaves a
   * stale entry instead of a deletion; stale ones go at the next rebuild.
   * With 100,000 dynamic children an 'EXIT' or a DOWN costs a probe, not
   * a scan. */
  size_t *ht, ht_cap, ht_used;
  uint64_t next_seq;
  size_t dyn_restarting;
  int64_t *restarts; /* monotonic seconds, newest first */
  size_t n_restarts, restarts_cap;
  /* The job. */
  int job;
  step_t *steps;
  size_t nsteps, pos, steps_cap;
  bool failed;
  size_t fail_idx;
  otpc_buf_t fail_reason;
  bool restart_failed_is_dead; /* the failing child is the one that died */
  size_t dead_idx;
  otpc_sup_start_t *cur;  /* the start a step waits for */
  otpc_gs_from_t from;    /* the call a J_CALL_* job answers */
  bool call_is_restart;   /* restart_child (keep the spec on error) */
  bool call_is_new;       /* start_child: the spec is at index n-1 */
  otpc_buf_t stop_reason; /* J_STOP, J_INIT_FAIL */
  /* The shutdown a step waits for. */
  otpc_ref_t sd_mref;
  otpc_buf_t sd_reason;
  /* The start's ack. */
  otpc_pid_t starter;
  otpc_ref_t tag;
  bool acked;
  uint64_t dyn_deadline_ms; /* 0: none */
  size_t dyn_left, dyn_cur;
  int last_status;
  bool in_run; /* inside run_job's loop: settled steps do not re-enter */
} sup_t;

static void run_job(sup_t *s);
static void job_done(sup_t *s);
static void handle_exit(sup_t *s, otpc_pid_t pid, otpc_term_t reason);

/* ------------------------------------------------------------ helpers */

static otpc_term_t buf_term(const otpc_buf_t *b) {
  return (otpc_term_t){b->data, b->len};
}

static int set_buf(otpc_buf_t *b, otpc_term_t t) {
  b->len = 0;
  return otpc_buf_append(b, t.p, t.len);
}

static int buildf(otpc_buf_t *b, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  b->len = 0;
  int rc = otpc_term_vbuild(b, NULL, fmt, ap);
  va_end(ap);
  return rc;
}

static bool pid_eq(otpc_pid_t a, otpc_pid_t b) {
  return a.node == b.node && a.id == b.id && a.serial == b.serial &&
         a.creation == b.creation;
}

static int64_t now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec;
}

static uint64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The atom naming an OTPC_E* code, as a reason term. */
static const char *code_atom(int code) {
  switch (code) {
  case OTPC_EINVAL: return "einval";
  case OTPC_ENOMEM: return "enomem";
  case OTPC_EBADTERM: return "ebadterm";
  case OTPC_ETYPE: return "etype";
  case OTPC_ERANGE: return "erange";
  case OTPC_ENOMATCH: return "enomatch";
  case OTPC_EBADFMT: return "ebadfmt";
  case OTPC_ELIMIT: return "elimit";
  case OTPC_ENOTSUP: return "enotsup";
  case OTPC_ENOTFOUND: return "enotfound";
  default: return "error";
  }
}

static bool is_temporary(const child_t *c) {
  return c->spec.restart == OTPC_TEMPORARY;
}

static bool is_permanent(const child_t *c) {
  return c->spec.restart == OTPC_PERMANENT;
}

static const char *type_atom(const child_t *c) {
  return c->spec.type == OTPC_SUPERVISOR ? "supervisor" : "worker";
}

static const char *module_of(const otpc_child_spec_t *sp) {
  if (sp->module != NULL)
    return sp->module;
  if (sp->gen_server != NULL)
    return sp->gen_server->name;
  if (sp->proc != NULL)
    return sp->proc->name;
  if (sp->supervisor != NULL)
    return "supervisor";
  return NULL;
}

/* Appends Modules: [module] or dynamic. */
static int put_mods(otpc_buf_t *b, const child_t *c) {
  const char *m = module_of(&c->spec);
  otpc_atom_t a;
  if (m == NULL || otpc_atom(m, &a) != 0)
    return otpc_term_build(b, NULL, "dynamic");
  return otpc_term_build(b, NULL, "[~A]", a);
}

static int put_child_pid(otpc_buf_t *b, const child_t *c) {
  if (c->st == CH_RUNNING)
    return otpc_term_build(b, NULL, "~p", &c->pid);
  return otpc_term_build(b, NULL,
                         c->st == CH_RESTARTING ? "restarting" : "undefined");
}

static int put_shutdown(otpc_buf_t *b, const child_t *c) {
  switch (c->spec.shutdown) {
  case OTPC_SHUTDOWN_BRUTAL_KILL:
    return otpc_term_build(b, NULL, "brutal_kill");
  case OTPC_SHUTDOWN_INFINITY: return otpc_term_build(b, NULL, "infinity");
  default: return otpc_term_build(b, NULL, "~I", c->spec.shutdown_ms);
  }
}

static int put_supname(otpc_buf_t *b, const sup_t *s) {
  if (s->name != OTPC_ATOM_NONE)
    return otpc_term_build(b, NULL, "{local, ~A}", s->name);
  otpc_pid_t me = otpc_self(s->self);
  return otpc_term_build(b, NULL, "{~p, supervisor}", &me);
}

static const char *restart_atom(const child_t *c) {
  static const char *const names[] = {"permanent", "transient", "temporary"};
  return names[c->spec.restart];
}

/* Characters of a term in a log line before it is cut: a peer may send a
 * supervisor any term, and a log line should stay a line. */
#define LOG_TERM_MAX 2000

static void print_cut(otpc_buf_t *b, otpc_term_t t) {
  otpc_buf_t p;
  otpc_buf_init(&p);
  if (otpc_term_print(&p, t) < 0) {
    otpc_buf_puts(b, "(unprintable)");
  } else if (p.len > LOG_TERM_MAX) {
    otpc_buf_append(b, p.data, LOG_TERM_MAX);
    otpc_buf_puts(b, "...");
  } else {
    otpc_buf_append(b, p.data, p.len);
  }
  otpc_buf_free(&p);
}

/* A supervisor report (OTP's ?report_error, or a progress report) as one
 * log line: the same fields as OTP's report, printed as terms. mfargs has
 * no C counterpart and is left out. */
static void report(sup_t *s, const char *ctx, otpc_term_t reason,
                   const child_t *c) {
  otpc_buf_t b, t;
  otpc_buf_init(&b);
  otpc_buf_init(&t);
  otpc_buf_puts(&b, ctx == NULL ? "supervisor progress report: supervisor: "
                                : "supervisor report: supervisor: ");
  put_supname(&t, s);
  otpc_term_print(&b, buf_term(&t));
  if (ctx != NULL) {
    otpc_buf_puts(&b, "; errorContext: ");
    otpc_buf_puts(&b, ctx);
    otpc_buf_puts(&b, "; reason: ");
    print_cut(&b, reason);
    otpc_buf_puts(&b, "; offender: ");
  } else {
    otpc_buf_puts(&b, "; started: ");
  }
  /* The pid slot is a pid or an atom: encoded apart, then spliced in. */
  otpc_buf_t e, sd;
  otpc_buf_init(&e);
  otpc_buf_init(&sd);
  if (put_child_pid(&e, c) == 0 && put_shutdown(&sd, c) == 0) {
    otpc_term_t pid = buf_term(&e), sdt = buf_term(&sd);
    t.len = 0;
    if (otpc_term_build(&t, NULL,
                        "[{pid, ~t}, {id, ~A}, {restart_type, ~a}, "
                        "{significant, ~a}, {shutdown, ~t}, {child_type, ~a}]",
                        &pid, c->id, restart_atom(c),
                        c->spec.significant ? "true" : "false", &sdt,
                        type_atom(c)) == 0)
      otpc_term_print(&b, buf_term(&t));
  }
  otpc_buf_free(&e);
  otpc_buf_free(&sd);
  otpc__log(otpc_proc_rt(s->self), ctx == NULL ? OTPC_LOG_INFO : OTPC_LOG_ERROR,
            b.data != NULL ? (const char *)b.data : "supervisor report");
  otpc_buf_free(&b);
  otpc_buf_free(&t);
}

static void report_atom(sup_t *s, const char *ctx, const char *reason,
                        const child_t *c) {
  otpc_buf_t r;
  otpc_buf_init(&r);
  otpc_term_build(&r, NULL, "~a", reason);
  report(s, ctx, buf_term(&r), c);
  otpc_buf_free(&r);
}

/* gen_server's reply to the call being answered. */
static void reply_term(sup_t *s, const otpc_gs_from_t *from, otpc_term_t t) {
  otpc_gen_server_reply(s->self, from, t);
}

static void replyf(sup_t *s, const otpc_gs_from_t *from, const char *fmt, ...) {
  otpc_buf_t b;
  otpc_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc_term_vbuild(&b, NULL, fmt, ap);
  va_end(ap);
  if (rc == 0)
    reply_term(s, from, buf_term(&b));
  otpc_buf_free(&b);
}

/* ------------------------------------------------------- child specs */

static void child_free(child_t *c) {
  free(c->strs);
  otpc_msg_unref(c->extra);
  memset(c, 0, sizeof *c);
}

/* OTP's check_childspec, in its order; 0 or the error term in err. */
static int check_child(const otpc_child_spec_t *sp, otpc_auto_shutdown_t as,
                       otpc_buf_t *err) {
  otpc_atom_t a;
  if (sp->id == NULL || otpc_atom(sp->id, &a) != 0)
    return buildf(err, "missing_id"), OTPC_EINVAL;
  int kinds = (sp->gen_server != NULL) + (sp->proc != NULL) +
              (sp->supervisor != NULL) + (sp->start != NULL);
  if (kinds == 0)
    return buildf(err, "missing_start"), OTPC_EINVAL;
  if (kinds > 1)
    return buildf(err, "{invalid_mfa, ~A}", a), OTPC_EINVAL;
  if ((unsigned)sp->restart > OTPC_TEMPORARY)
    return buildf(err, "{invalid_restart_type, ~i}", (int)sp->restart),
           OTPC_EINVAL;
  if (sp->significant && as == OTPC_AUTO_SHUTDOWN_NEVER)
    return buildf(err, "{bad_combination, [{auto_shutdown, never}, "
                       "{significant, true}]}"),
           OTPC_EINVAL;
  if (sp->significant && sp->restart == OTPC_PERMANENT)
    return buildf(err, "{bad_combination, [{restart, permanent}, "
                       "{significant, true}]}"),
           OTPC_EINVAL;
  if ((unsigned)sp->type > OTPC_SUPERVISOR)
    return buildf(err, "{invalid_child_type, ~i}", (int)sp->type), OTPC_EINVAL;
  if ((unsigned)sp->shutdown > OTPC_SHUTDOWN_INFINITY ||
      (sp->shutdown == OTPC_SHUTDOWN_TIMEOUT && sp->shutdown_ms < 0))
    return buildf(err, "{invalid_shutdown, ~I}",
                  sp->shutdown == OTPC_SHUTDOWN_TIMEOUT
                      ? sp->shutdown_ms
                      : (int64_t)sp->shutdown),
           OTPC_EINVAL;
  const char *m = module_of(sp);
  if (sp->module != NULL && otpc_atom(m, &a) != 0)
    return buildf(err, "{invalid_module, ~s}", m), OTPC_EINVAL;
  if (sp->name != NULL && otpc_atom(sp->name, &a) != 0)
    return buildf(err, "{invalid_name, ~s}", sp->name), OTPC_EINVAL;
  return 0;
}

/* Fills a child from a checked spec: defaults resolved, strings copied
 * when `own` (the spec's memory is the caller's). */
static int child_init(child_t *c, const otpc_child_spec_t *sp, bool own) {
  memset(c, 0, sizeof *c);
  c->spec = *sp;
  if (sp->supervisor != NULL)
    c->spec.type = OTPC_SUPERVISOR;
  if (c->spec.shutdown == OTPC_SHUTDOWN_DEFAULT) {
    c->spec.shutdown = c->spec.type == OTPC_SUPERVISOR ? OTPC_SHUTDOWN_INFINITY
                                                       : OTPC_SHUTDOWN_TIMEOUT;
    c->spec.shutdown_ms = 5000;
  }
  if (own) {
    const char *src[3] = {sp->id, sp->name, sp->module};
    size_t len[3], total = 0;
    for (int i = 0; i < 3; i++) {
      len[i] = src[i] != NULL ? strlen(src[i]) + 1 : 0;
      total += len[i];
    }
    c->strs = malloc(total);
    if (c->strs == NULL)
      return OTPC_ENOMEM;
    char *p = c->strs;
    const char **dst[3] = {&c->spec.id, &c->spec.name, &c->spec.module};
    for (int i = 0; i < 3; i++) {
      if (src[i] == NULL)
        continue;
      memcpy(p, src[i], len[i]);
      *dst[i] = p;
      p += len[i];
    }
  }
  return otpc_atom(c->spec.id, &c->id);
}

static int grow(sup_t *s) {
  if (s->n < s->cap)
    return 0;
  size_t cap = s->cap ? s->cap * 2 : 8;
  child_t *n = realloc(s->ch, cap * sizeof *n);
  if (n == NULL)
    return OTPC_ENOMEM;
  s->ch = n;
  s->cap = cap;
  return 0;
}

static child_t *find_id(sup_t *s, otpc_atom_t id, size_t *idx) {
  for (size_t i = 0; i < s->n; i++)
    if (s->ch[i].id == id && !s->ch[i].drop) {
      if (idx != NULL)
        *idx = i;
      return &s->ch[i];
    }
  return NULL;
}

static size_t pid_hash(otpc_pid_t p) {
  uint64_t x = ((uint64_t)p.id << 32 | p.serial) ^
               ((uint64_t)p.node << 20 ^ p.creation) * 0x9e3779b97f4a7c15u;
  x ^= x >> 29;
  x *= 0xbf58476d1ce4e5b9u;
  return (size_t)(x ^ (x >> 32));
}

static void ht_put(sup_t *s, size_t idx) {
  size_t m = s->ht_cap - 1, h = pid_hash(s->ch[idx].pid) & m;
  while (s->ht[h] != 0)
    h = (h + 1) & m;
  s->ht[h] = idx + 1;
  s->ht_used++;
}

/* Rebuilds the table from the children that have a pid, with room. */
static void ht_rebuild(sup_t *s) {
  size_t cap = 16;
  while (cap < 4 * s->n)
    cap *= 2;
  if (cap != s->ht_cap) {
    size_t *n = realloc(s->ht, cap * sizeof *n);
    if (n == NULL)
      otpc_exitf(s->self, "enomem");
    s->ht = n;
    s->ht_cap = cap;
  }
  memset(s->ht, 0, s->ht_cap * sizeof *s->ht);
  s->ht_used = 0;
  for (size_t i = 0; i < s->n; i++)
    if (s->ch[i].had_pid && !s->ch[i].drop)
      ht_put(s, i);
}

/* Child idx has a (new) pid. */
static void ht_add(sup_t *s, size_t idx) {
  if (2 * (s->ht_used + 1) > s->ht_cap)
    ht_rebuild(s); /* includes idx */
  else
    ht_put(s, idx);
}

static child_t *find_pid(sup_t *s, otpc_pid_t pid, int st, size_t *idx) {
  if (s->ht_cap == 0)
    return NULL;
  size_t m = s->ht_cap - 1;
  for (size_t h = pid_hash(pid) & m; s->ht[h] != 0; h = (h + 1) & m) {
    size_t i = s->ht[h] - 1;
    child_t *c = &s->ch[i];
    if (i < s->n && c->st == st && !c->drop && c->had_pid &&
        pid_eq(c->pid, pid)) {
      if (idx != NULL)
        *idx = i;
      return c;
    }
  }
  return NULL;
}

/* Removes the children marked `drop`: static ones keep their order (a
 * few, and their order is the strategies'), dynamic ones are swapped with
 * the last (their order is their seq). */
static void compact(sup_t *s) {
  size_t dropped = 0;
  if (s->simple) {
    for (size_t i = 0; i < s->n;) {
      if (!s->ch[i].drop) {
        i++;
        continue;
      }
      child_free(&s->ch[i]);
      dropped++;
      if (i != --s->n) {
        s->ch[i] = s->ch[s->n];
        if (s->ch[i].had_pid)
          ht_add(s, i);
      }
    }
    return;
  }
  size_t j = 0;
  for (size_t i = 0; i < s->n; i++) {
    if (s->ch[i].drop) {
      child_free(&s->ch[i]);
      dropped++;
      continue;
    }
    if (i != j)
      s->ch[j] = s->ch[i];
    j++;
  }
  s->n = j;
  if (dropped > 0)
    ht_rebuild(s);
}

/* OTP's del_child: a dynamic or temporary child goes, a static one keeps
 * its spec with pid undefined. */
static void del_child(sup_t *s, child_t *c) {
  if (s->simple || is_temporary(c)) {
    c->drop = true;
    if (s->simple && c->st == CH_RESTARTING)
      s->dyn_restarting--;
  }
  c->st = CH_UNDEF;
  c->had_pid = false;
}

/* --------------------------------------------------------- starting */

static void start_settled(sup_t *s);

static void on_settled(otpc_proc_t *self, void *state, void *ctx) {
  (void)self;
  (void)ctx;
  start_settled(state);
}

static int settle(otpc_sup_start_t *st, int status) {
  if (st == NULL || st->settled)
    return OTPC_EINVAL;
  st->settled = true;
  st->status = status;
  free(st->dyn);
  st->dyn = NULL;
  /* From a continuation (the start function returned long ago): the job
   * goes on in a step of its own, so the caller's continuation returns
   * and frees what it holds even if the job ends in otpc_exit. */
  if (!st->in_fn && otpc_yield(st->s->self, on_settled, NULL) != 0)
    start_settled(st->s); /* a step of the caller's is pending: go on now */
  return 0;
}

int otpc_sup_start_ok(otpc_sup_start_t *st, otpc_pid_t pid) {
  if (st == NULL || st->settled)
    return OTPC_EINVAL;
  st->pid = pid;
  return settle(st, OTPC_GS_OK);
}

int otpc_sup_start_ignore(otpc_sup_start_t *st) {
  return settle(st, OTPC_GS_IGNORE);
}

int otpc_sup_start_error(otpc_sup_start_t *st, otpc_term_t reason) {
  if (st == NULL || st->settled)
    return OTPC_EINVAL;
  if (set_buf(&st->reason, reason) != 0)
    buildf(&st->reason, "enomem");
  return settle(st, OTPC_GS_ERROR);
}

static void start_free(otpc_sup_start_t *st) {
  if (st == NULL)
    return;
  free(st->dyn);
  otpc_buf_free(&st->reason);
  free(st);
}

/* The continuation of a gen_server's or a supervisor's start. */
static void on_started(otpc_proc_t *self, void *state,
                       const otpc_gs_result_t *res, void *ctx) {
  (void)self;
  (void)state;
  otpc_sup_start_t *st = ctx;
  if (res->status == OTPC_GS_OK)
    otpc_sup_start_ok(st, res->pid);
  else if (res->status == OTPC_GS_IGNORE)
    otpc_sup_start_ignore(st);
  else if (res->term != NULL)
    otpc_sup_start_error(st, otpc_msg_term(res->term));
  else
    otpc_sup_start_error(st,
                         (otpc_term_t){(const uint8_t *)"\x77\x07timeout", 9});
}

/* Starts child idx; the outcome arrives in start_settled. */
static void begin_start(sup_t *s, size_t idx) {
  child_t *c = &s->ch[idx];
  otpc_sup_start_t *st = calloc(1, sizeof *st);
  if (st == NULL)
    otpc_exitf(s->self, "enomem");
  st->s = s;
  otpc_buf_init(&st->reason);
  s->cur = st;
  static const uint8_t nil[] = {106};
  otpc_term_t extra = c->extra != NULL ? otpc_msg_term(c->extra)
                                       : (otpc_term_t){nil, sizeof nil};
  void *arg = c->spec.arg;
  if (s->simple && c->spec.start == NULL && c->spec.proc == NULL) {
    st->dyn = malloc(sizeof *st->dyn);
    if (st->dyn == NULL) {
      otpc_sup_start_error(st, (otpc_term_t){(const uint8_t *)"\x77\x06"
                                                              "enomem",
                                             8});
      return;
    }
    st->dyn->arg = c->spec.arg;
    st->dyn->extra = extra;
    arg = st->dyn;
  }
  otpc_gs_start_opts_t go = {.link = true, .name = c->spec.name};
  int rc;
  st->in_fn = true;
  if (c->spec.gen_server != NULL) {
    rc = otpc_gen_server_start(s->self, c->spec.gen_server, arg, &go,
                               on_started, st);
  } else if (c->spec.supervisor != NULL) {
    rc = otpc_sup_start(s->self, c->spec.supervisor, arg, &go, on_started, st);
  } else if (c->spec.proc != NULL) {
    otpc_spawn_opts_t so = {.link = true, .name = c->spec.name};
    otpc_pid_t pid;
    rc = otpc_spawn(s->self, c->spec.proc, arg, &so, &pid);
    if (rc == 0)
      otpc_sup_start_ok(st, pid);
  } else {
    rc = c->spec.start(s->self, st, arg, extra);
  }
  if (rc < 0 && !st->settled) {
    otpc_buf_t r;
    otpc_buf_init(&r);
    buildf(&r, "~a", code_atom(rc));
    otpc_sup_start_error(st, buf_term(&r));
    otpc_buf_free(&r);
  }
  st->in_fn = false;
  if (st->settled)
    start_settled(s);
}

/* A step's start settled: record it and go on with the job. */
static void start_settled(sup_t *s) {
  otpc_sup_start_t *st = s->cur;
  if (st == NULL || st->in_fn)
    return;
  s->cur = NULL;
  step_t *sp = &s->steps[s->pos];
  child_t *c = &s->ch[sp->idx];
  if (st->status == OTPC_GS_OK) {
    c->st = CH_RUNNING;
    c->pid = st->pid;
    c->had_pid = true;
    ht_add(s, sp->idx);
    /* A child from a generic start may not be linked yet (a pid from a
     * factory on another node): link now; a dead one gives noproc. */
    otpc_link(s->self, st->pid);
    report(s, NULL, (otpc_term_t){0}, c);
  } else if (st->status == OTPC_GS_IGNORE) {
    c->st = CH_UNDEF;
    c->had_pid = false;
    if (is_temporary(c) || s->simple)
      c->drop = true;
  } else {
    s->failed = true;
    s->fail_idx = sp->idx;
    set_buf(&s->fail_reason, buf_term(&st->reason));
    s->pos = s->nsteps - 1; /* abort the remaining steps */
  }
  s->last_status = st->status;
  start_free(st);
  s->pos++;
  if (!s->in_run)
    run_job(s);
}

/* -------------------------------------------------------- shutting down */

static void step_done(sup_t *s) {
  s->pos++;
  if (!s->in_run)
    run_job(s);
}

/* OTP's verdict on a child's exit reason after a shutdown: 0 when it is
 * the expected one. */
static bool shutdown_ok(const child_t *c, otpc_term_t r) {
  if (c->spec.shutdown == OTPC_SHUTDOWN_BRUTAL_KILL &&
      otpc_term_is_atom(r, "killed") == 1)
    return true;
  if (otpc_term_is_atom(r, "shutdown") == 1)
    return c->spec.shutdown != OTPC_SHUTDOWN_BRUTAL_KILL || !is_permanent(c);
  if (is_permanent(c))
    return false;
  return otpc_term_is_atom(r, "normal") == 1 ||
         otpc_term_match(r, NULL, "{shutdown, _}") == 0;
}

/* After the DOWN: unlink, then take the 'EXIT' if it is queued (it came
 * before the DOWN), as OTP's unlink_flush: its reason wins. */
static void flush_verdict(sup_t *s, child_t *c, otpc_msg_t *msg) {
  otpc_term_t r = buf_term(&s->sd_reason), x;
  if (msg != NULL &&
      otpc_term_match(otpc_msg_term(msg), NULL, "{'EXIT', _, ~t}", &x) == 0)
    r = x;
  if (!shutdown_ok(c, r))
    report(s, "shutdown_error", r, c);
}

static void on_sd_flush(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                        void *ctx) {
  (void)self;
  (void)ctx;
  sup_t *s = state;
  child_t *c = &s->ch[s->steps[s->pos].idx];
  flush_verdict(s, c, msg);
  c->st = CH_UNDEF;
  c->had_pid = false;
  if (is_temporary(c))
    c->drop = true;
  step_done(s);
}

static void on_sd_down(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                       void *ctx) {
  (void)ctx;
  sup_t *s = state;
  child_t *c = &s->ch[s->steps[s->pos].idx];
  otpc_term_t r;
  if (msg == NULL) {
    /* The shutdown timeout passed: kill, then wait for ever. */
    static const uint8_t kill[] = {119, 4, 'k', 'i', 'l', 'l'};
    otpc_exit_signal(self, c->pid, (otpc_term_t){kill, sizeof kill});
    otpc_receive(self, otpc_match_ref, &s->sd_mref, sizeof s->sd_mref, -1,
                 on_sd_down, NULL);
    return;
  }
  if (otpc_term_match(otpc_msg_term(msg), NULL, "{'DOWN', _, _, _, ~t}", &r) !=
          0 ||
      set_buf(&s->sd_reason, r) != 0)
    buildf(&s->sd_reason, "undefined");
  otpc_unlink(self, c->pid);
  otpc_receive(self, otpc_match_exit_from, &c->pid, sizeof c->pid, 0,
               on_sd_flush, NULL);
}

/* OTP's shutdown/1 for child idx (a child that does not run is done). */
static void begin_shutdown(sup_t *s, size_t idx) {
  child_t *c = &s->ch[idx];
  if (c->st != CH_RUNNING) {
    if (c->st == CH_RESTARTING && s->simple)
      s->dyn_restarting--;
    c->st = CH_UNDEF;
    c->had_pid = false;
    if (is_temporary(c))
      c->drop = true;
    step_done(s);
    return;
  }
  static const uint8_t kill[] = {119, 4, 'k', 'i', 'l', 'l'};
  static const uint8_t shut[] = {119, 8,   's', 'h', 'u',
                                 't', 'd', 'o', 'w', 'n'};
  bool brutal = c->spec.shutdown == OTPC_SHUTDOWN_BRUTAL_KILL;
  otpc_monitor(s->self, c->pid, &s->sd_mref);
  otpc_exit_signal(s->self, c->pid,
                   brutal ? (otpc_term_t){kill, sizeof kill}
                          : (otpc_term_t){shut, sizeof shut});
  int64_t t =
      c->spec.shutdown == OTPC_SHUTDOWN_TIMEOUT ? c->spec.shutdown_ms : -1;
  otpc_receive(s->self, otpc_match_ref, &s->sd_mref, sizeof s->sd_mref, t,
               on_sd_down, NULL);
}

/* simple_one_for_one's terminate_dynamic_children: every child gets its
 * exit signal at once, then the DOWNs are collected; at the deadline the
 * rest are killed. */
/* The dynamic child being shut down whose DOWN this is, by the pid in
 * it; SIZE_MAX if none. */
static size_t dyn_down_child(sup_t *s, otpc_term_t t) {
  otpc_pid_t pid;
  size_t idx;
  if (otpc_term_match(t, NULL, "{'DOWN', _, process, ~p, _}", &pid) != 0)
    return SIZE_MAX;
  child_t *c = find_pid(s, pid, CH_RUNNING, &idx);
  if (c == NULL || !c->waiting || !otpc_match_ref(t, &c->mref))
    return SIZE_MAX;
  return idx;
}

static bool match_dyn_down(otpc_term_t t, const void *arg) {
  return dyn_down_child(*(sup_t *const *)arg, t) != SIZE_MAX;
}

static void wait_dyn(sup_t *s);

static void on_dyn_flush(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                         void *ctx) {
  (void)self;
  (void)ctx;
  sup_t *s = state;
  child_t *c = &s->ch[s->dyn_cur];
  flush_verdict(s, c, msg);
  c->waiting = false;
  c->st = CH_UNDEF;
  c->drop = true;
  s->dyn_left--;
  wait_dyn(s);
}

static void on_dyn_down(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                        void *ctx) {
  (void)ctx;
  sup_t *s = state;
  if (msg == NULL) {
    static const uint8_t kill[] = {119, 4, 'k', 'i', 'l', 'l'};
    for (size_t i = 0; i < s->n; i++)
      if (s->ch[i].waiting)
        otpc_exit_signal(self, s->ch[i].pid, (otpc_term_t){kill, sizeof kill});
    s->dyn_deadline_ms = 0;
    wait_dyn(s);
    return;
  }
  otpc_term_t t = otpc_msg_term(msg), r;
  size_t i = dyn_down_child(s, t);
  if (i == SIZE_MAX)
    return; /* cannot be: the matcher took it */
  s->dyn_cur = i;
  if (otpc_term_match(t, NULL, "{'DOWN', _, _, _, ~t}", &r) != 0 ||
      set_buf(&s->sd_reason, r) != 0)
    buildf(&s->sd_reason, "undefined");
  otpc_unlink(self, s->ch[i].pid);
  otpc_receive(self, otpc_match_exit_from, &s->ch[i].pid, sizeof s->ch[i].pid,
               0, on_dyn_flush, NULL);
}

static void wait_dyn(sup_t *s) {
  if (s->dyn_left == 0) {
    step_done(s);
    return;
  }
  int64_t t = -1;
  if (s->dyn_deadline_ms != 0) {
    uint64_t now = now_ms();
    t = now >= s->dyn_deadline_ms ? 0 : (int64_t)(s->dyn_deadline_ms - now);
  }
  otpc_receive(s->self, match_dyn_down, &s, sizeof s, t, on_dyn_down, NULL);
}

static void begin_shutdown_dyn(sup_t *s) {
  static const uint8_t kill[] = {119, 4, 'k', 'i', 'l', 'l'};
  static const uint8_t shut[] = {119, 8,   's', 'h', 'u',
                                 't', 'd', 'o', 'w', 'n'};
  bool brutal = s->tmpl.spec.shutdown == OTPC_SHUTDOWN_BRUTAL_KILL;
  s->dyn_left = 0;
  for (size_t i = 0; i < s->n; i++) {
    child_t *c = &s->ch[i];
    if (c->st != CH_RUNNING || c->drop)
      continue;
    if (otpc_monitor(s->self, c->pid, &c->mref) != 0)
      continue;
    otpc_exit_signal(s->self, c->pid,
                     brutal ? (otpc_term_t){kill, sizeof kill}
                            : (otpc_term_t){shut, sizeof shut});
    c->waiting = true;
    s->dyn_left++;
  }
  s->dyn_deadline_ms = s->tmpl.spec.shutdown == OTPC_SHUTDOWN_TIMEOUT
                           ? now_ms() + (uint64_t)s->tmpl.spec.shutdown_ms + 1
                           : 0;
  wait_dyn(s);
}

/* --------------------------------------------------------------- jobs */

enum { STEP_TERM_DYN = 3 };

static void plan(sup_t *s, int job) {
  s->job = job;
  s->nsteps = s->pos = 0;
  s->failed = false;
}

static void add_step(sup_t *s, int op, size_t idx) {
  if (s->nsteps == s->steps_cap) {
    size_t cap = s->steps_cap ? s->steps_cap * 2 : 16;
    step_t *n = realloc(s->steps, cap * sizeof *n);
    if (n == NULL)
      otpc_exitf(s->self, "enomem");
    s->steps = n;
    s->steps_cap = cap;
  }
  s->steps[s->nsteps++] = (step_t){op, idx};
}

static void run_job(sup_t *s) {
  s->in_run = true;
  while (s->pos < s->nsteps) {
    step_t *sp = &s->steps[s->pos];
    size_t before = s->pos;
    if (sp->op == STEP_START) {
      if (s->ch[sp->idx].drop) {
        s->pos++;
        continue;
      }
      begin_start(s, sp->idx);
    } else if (sp->op == STEP_TERM) {
      begin_shutdown(s, sp->idx);
    } else {
      begin_shutdown_dyn(s);
    }
    if (s->pos == before) {
      /* It waits: its continuation resumes the job. */
      s->in_run = false;
      return;
    }
  }
  s->in_run = false;
  job_done(s);
}

static void send_ack(sup_t *s, const char *fmt, ...) {
  if (s->acked)
    return;
  s->acked = true;
  otpc_buf_t b;
  otpc_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc_term_vbuild(&b, NULL, fmt, ap);
  va_end(ap);
  if (rc == 0) {
    otpc_term_t t = buf_term(&b);
    otpc_sendf(s->self, s->starter, "{~r, ~t}", &s->tag, &t);
  }
  otpc_buf_free(&b);
}

/* Terminates every child (reverse start order; dynamic ones at once), then
 * exits with `reason`: OTP's gen_server terminate of a supervisor. */
static void stop_all(sup_t *s, otpc_term_t reason) {
  if (set_buf(&s->stop_reason, reason) != 0)
    otpc_exitf(s->self, "enomem");
  plan(s, J_STOP);
  if (s->simple) {
    add_step(s, STEP_TERM_DYN, 0);
  } else {
    for (size_t i = s->n; i-- > 0;)
      add_step(s, STEP_TERM, i);
  }
  run_job(s);
}

static void stop_shutdown(sup_t *s) {
  static const uint8_t shut[] = {119, 8,   's', 'h', 'u',
                                 't', 'd', 'o', 'w', 'n'};
  stop_all(s, (otpc_term_t){shut, sizeof shut});
}

static void try_again(sup_t *s, child_t *c) {
  if (s->simple)
    otpc_sendf(s->self, otpc_self(s->self),
               "{'$gen_cast', {try_again_restart, {restarting, ~p}}}", &c->pid);
  else
    otpc_sendf(s->self, otpc_self(s->self),
               "{'$gen_cast', {try_again_restart, ~A}}", c->id);
}

static void job_done(sup_t *s) {
  int job = s->job;
  s->job = J_NONE;
  child_t *f = s->failed ? &s->ch[s->fail_idx] : NULL;
  otpc_term_t fr = buf_term(&s->fail_reason);
  switch (job) {
  case J_INIT:
    if (f == NULL) {
      compact(s);
      otpc_pid_t me = otpc_self(s->self);
      send_ack(s, "{ok, ~p}", &me);
      return;
    }
    report(s, "start_error", fr, f);
    if (buildf(&s->stop_reason, "{shutdown, {failed_to_start_child, ~A, ~t}}",
               f->id, &fr) != 0)
      otpc_exitf(s->self, "enomem");
    plan(s, J_INIT_FAIL);
    for (size_t i = s->n; i-- > 0;)
      add_step(s, STEP_TERM, i);
    run_job(s);
    return;
  case J_INIT_FAIL: {
    otpc_term_t r = buf_term(&s->stop_reason);
    send_ack(s, "{error, ~t}", &r);
    otpc_exit(s->self, r);
  }
  case J_STOP: otpc_exit(s->self, buf_term(&s->stop_reason));
  case J_RESTART:
    if (f != NULL) {
      bool keep = s->fail_idx == s->dead_idx && f->had_pid;
      f->st = CH_RESTARTING;
      f->had_pid = keep;
      if (s->simple)
        s->dyn_restarting++;
      report(s, "start_error", fr, f);
      try_again(s, f);
    }
    compact(s);
    return;
  case J_CALL_START: {
    child_t *c = &s->ch[s->steps[0].idx];
    if (s->last_status == OTPC_GS_OK) {
      replyf(s, &s->from, "{ok, ~p}", &c->pid);
    } else if (s->last_status == OTPC_GS_IGNORE) {
      replyf(s, &s->from, "{ok, undefined}");
    } else if (s->call_is_restart) {
      replyf(s, &s->from, "{error, ~t}", &fr);
    } else {
      if (s->simple || otpc_term_match(fr, NULL, "{already_started, _}") == 0)
        replyf(s, &s->from, "{error, ~t}", &fr);
      else
        replyf(s, &s->from, "{error, {~t, ~A}}", &fr, c->id);
      c->drop = true;
    }
    compact(s);
    return;
  }
  case J_CALL_TERM:
    del_child(s, &s->ch[s->steps[0].idx]);
    replyf(s, &s->from, "ok");
    compact(s);
    return;
  default: return;
  }
}

/* ----------------------------------------------------------- restarts */

/* OTP's add_restart: restarts within the period (in whole seconds of the
 * monotonic clock), this one included, must not exceed the intensity. */
static bool add_restart(sup_t *s) {
  int64_t now = now_s(), threshold = now - s->spec.period_s;
  size_t limit = (size_t)s->spec.intensity, keep = 0;
  while (keep < s->n_restarts && s->restarts[keep] >= threshold)
    keep++;
  /* A supervisor within its limit holds at most `intensity` entries (one
   * more and it stops), so keep <= limit; the array grows with the
   * restarts actually seen, never beyond limit + 1. */
  if (keep > limit)
    keep = limit;
  if (keep + 1 > s->restarts_cap) {
    size_t cap = s->restarts_cap ? s->restarts_cap * 2 : 4;
    if (cap > limit + 1)
      cap = limit + 1;
    int64_t *n = realloc(s->restarts, cap * sizeof *n);
    if (n == NULL)
      otpc_exitf(s->self, "enomem");
    s->restarts = n;
    s->restarts_cap = cap;
  }
  memmove(s->restarts + 1, s->restarts, keep * sizeof *s->restarts);
  s->restarts[0] = now;
  s->n_restarts = keep + 1;
  return keep + 1 <= limit;
}

/* OTP's restart/2 for child idx (it died or a restart is tried again). */
static void restart(sup_t *s, size_t idx) {
  child_t *c = &s->ch[idx];
  if (!add_restart(s)) {
    report_atom(s, "shutdown", "reached_max_restart_intensity", c);
    del_child(s, c);
    stop_shutdown(s);
    return;
  }
  if (c->st == CH_RESTARTING && s->simple)
    s->dyn_restarting--;
  c->st = CH_UNDEF;
  s->dead_idx = idx;
  plan(s, J_RESTART);
  switch (s->spec.strategy) {
  case OTPC_REST_FOR_ONE:
    for (size_t i = s->n; i-- > idx + 1;)
      add_step(s, STEP_TERM, i);
    for (size_t i = idx; i < s->n; i++)
      add_step(s, STEP_START, i);
    break;
  case OTPC_ONE_FOR_ALL:
    for (size_t i = s->n; i-- > 0;)
      if (i != idx)
        add_step(s, STEP_TERM, i);
    for (size_t i = 0; i < s->n; i++)
      add_step(s, STEP_START, i);
    break;
  default: add_step(s, STEP_START, idx); break;
  }
  run_job(s);
}

static bool is_shutdown_reason(otpc_term_t r) {
  return otpc_term_is_atom(r, "normal") == 1 ||
         otpc_term_is_atom(r, "shutdown") == 1 ||
         otpc_term_match(r, NULL, "{shutdown, _}") == 0;
}

/* OTP's do_auto_shutdown after a child is gone for good. */
static void auto_shutdown(sup_t *s, bool significant) {
  if (s->spec.auto_shutdown == OTPC_AUTO_SHUTDOWN_NEVER || !significant) {
    compact(s);
    return;
  }
  if (s->spec.auto_shutdown == OTPC_AUTO_SHUTDOWN_ALL_SIGNIFICANT) {
    bool any = false;
    for (size_t i = 0; i < s->n; i++) {
      const child_t *c = &s->ch[i];
      if (!c->drop && c->st != CH_UNDEF && (s->simple || c->spec.significant))
        any = true;
    }
    if (any) {
      compact(s);
      return;
    }
  }
  stop_shutdown(s);
}

/* An 'EXIT' from a pid that is not the parent (OTP's restart_child/3). */
static void handle_exit(sup_t *s, otpc_pid_t pid, otpc_term_t reason) {
  size_t idx;
  child_t *c = find_pid(s, pid, CH_RUNNING, &idx);
  if (c == NULL)
    return;
  /* The reports below still show the dead pid, as OTP's do. */
  if (is_permanent(c)) {
    report(s, "child_terminated", reason, c);
    restart(s, idx);
    return;
  }
  if (is_shutdown_reason(reason)) {
    del_child(s, c);
    auto_shutdown(s, c->spec.significant);
    return;
  }
  report(s, "child_terminated", reason, c);
  if (c->spec.restart == OTPC_TRANSIENT) {
    restart(s, idx);
    return;
  }
  del_child(s, c);
  auto_shutdown(s, c->spec.significant);
}

/* -------------------------------------------------------------- calls */

/* start_child's job for the child just written at s->ch[s->n]. */
static void start_added(sup_t *s) {
  s->n++;
  plan(s, J_CALL_START);
  s->call_is_restart = false;
  add_step(s, STEP_START, s->n - 1);
  run_job(s);
}

static void call_start_static(sup_t *s, otpc_term_t arg) {
  uint64_t addr, mac;
  if (otpc_term_match(arg, NULL, "{'$otpc_child_spec', ~U, ~U}", &addr, &mac) !=
          0 ||
      otpc__sup_ticket_mac(addr) != mac) {
    /* An Erlang child spec: a C supervisor has no M:F(A) to run. */
    replyf(s, &s->from, "{error, {invalid_child_spec, ~t}}", &arg);
    return;
  }
  const otpc_child_spec_t *sp = (const otpc_child_spec_t *)(uintptr_t)addr;
  otpc_buf_t err;
  otpc_buf_init(&err);
  if (check_child(sp, s->spec.auto_shutdown, &err) != 0) {
    otpc_term_t e = buf_term(&err);
    replyf(s, &s->from, "{error, ~t}", &e);
    otpc_buf_free(&err);
    return;
  }
  otpc_buf_free(&err);
  otpc_atom_t id;
  otpc_atom(sp->id, &id);
  child_t *old = find_id(s, id, NULL);
  if (old != NULL) {
    if (old->st == CH_RUNNING)
      replyf(s, &s->from, "{error, {already_started, ~p}}", &old->pid);
    else
      replyf(s, &s->from, "{error, already_present}");
    return;
  }
  if (grow(s) != 0 || child_init(&s->ch[s->n], sp, true) != 0) {
    replyf(s, &s->from, "{error, enomem}");
    return;
  }
  start_added(s);
}

static void call_start_dynamic(sup_t *s, otpc_term_t extra) {
  if (otpc_term_type(extra) != OTPC_T_LIST &&
      otpc_term_type(extra) != OTPC_T_NIL) {
    /* OTP's A ++ EArgs raises badarg in the supervisor: it terminates
     * its children and exits (the caller gets no reply but the DOWN). */
    static const uint8_t badarg[] = {119, 6, 'b', 'a', 'd', 'a', 'r', 'g'};
    stop_all(s, (otpc_term_t){badarg, sizeof badarg});
    return;
  }
  if (grow(s) != 0) {
    replyf(s, &s->from, "{error, enomem}");
    return;
  }
  child_t *c = &s->ch[s->n];
  *c = s->tmpl;
  c->strs = NULL;
  c->extra = NULL;
  c->seq = s->next_seq++;
  if (otpc_msg_from_term(extra, &c->extra) != 0) {
    replyf(s, &s->from, "{error, enomem}");
    return;
  }
  start_added(s);
}

static bool pid_alive(sup_t *s, otpc_pid_t pid) {
  if (pid.node != otpc_rt_node(otpc_proc_rt(s->self)))
    return true; /* a remote pid: assume it lives, as a link would tell */
  otpc_proc_info_t info;
  return otpc_proc_info(otpc_proc_rt(s->self), pid, &info) == 0;
}

typedef struct order {
  uint64_t seq;
  size_t idx;
} order_t;

static int by_seq(const void *a, const void *b) {
  uint64_t x = ((const order_t *)a)->seq, y = ((const order_t *)b)->seq;
  return x < y ? -1 : x > y;
}

static void which_children(sup_t *s) {
  otpc_buf_t b;
  otpc_buf_init(&b);
  /* A proper list written by hand: LIST_EXT, count, elements, NIL. */
  size_t live = 0;
  for (size_t i = 0; i < s->n; i++)
    live += !s->ch[i].drop;
  uint8_t head[5] = {108, (uint8_t)(live >> 24), (uint8_t)(live >> 16),
                     (uint8_t)(live >> 8), (uint8_t)live};
  if (live == 0) {
    replyf(s, &s->from, "[]");
    return;
  }
  otpc_buf_append(&b, head, sizeof head);
  /* OTP keeps static children newest first (its termination order) and
   * lists them so; dynamic ones come in start order here (OTP: the order
   * of its pid map's keys), which their seq keeps across swaps. */
  order_t *ord = NULL;
  if (s->simple) {
    ord = malloc(s->n * sizeof *ord);
    if (ord == NULL) {
      otpc_buf_free(&b);
      replyf(s, &s->from, "{error, enomem}");
      return;
    }
    for (size_t k = 0; k < s->n; k++)
      ord[k] = (order_t){s->ch[k].seq, k};
    qsort(ord, s->n, sizeof *ord, by_seq);
  }
  for (size_t k = 0; k < s->n; k++) {
    const child_t *c = &s->ch[s->simple ? ord[k].idx : s->n - 1 - k];
    if (c->drop)
      continue;
    otpc_buf_t pid, mods;
    otpc_buf_init(&pid);
    otpc_buf_init(&mods);
    put_child_pid(&pid, c);
    put_mods(&mods, c);
    otpc_term_t pt = buf_term(&pid), mt = buf_term(&mods);
    if (s->simple)
      otpc_term_build(&b, NULL, "{undefined, ~t, ~a, ~t}", &pt, type_atom(c),
                      &mt);
    else
      otpc_term_build(&b, NULL, "{~A, ~t, ~a, ~t}", c->id, &pt, type_atom(c),
                      &mt);
    otpc_buf_free(&pid);
    otpc_buf_free(&mods);
  }
  uint8_t nil = 106;
  otpc_buf_append(&b, &nil, 1);
  free(ord);
  reply_term(s, &s->from, buf_term(&b));
  otpc_buf_free(&b);
}

static void count_children(sup_t *s) {
  long specs = 0, active = 0, sups = 0, workers = 0;
  if (s->simple) {
    long sz = 0;
    for (size_t i = 0; i < s->n; i++)
      sz += !s->ch[i].drop;
    specs = 1;
    active = sz - (long)s->dyn_restarting;
    if (s->tmpl.spec.type == OTPC_SUPERVISOR)
      sups = sz;
    else
      workers = sz;
  } else {
    for (size_t i = 0; i < s->n; i++) {
      const child_t *c = &s->ch[i];
      if (c->drop)
        continue;
      specs++;
      if (c->spec.type == OTPC_SUPERVISOR)
        sups++;
      else
        workers++;
      if (c->st == CH_RUNNING && pid_alive(s, c->pid))
        active++;
    }
  }
  replyf(s, &s->from,
         "[{specs, ~l}, {active, ~l}, {supervisors, ~l}, {workers, ~l}]", specs,
         active, sups, workers);
}

/* Finds a child for terminate/restart/delete by id (an atom) or, for
 * simple_one_for_one, by pid. */
static child_t *find_req(sup_t *s, otpc_term_t id, size_t *idx) {
  otpc_atom_t a;
  otpc_pid_t pid;
  if (!s->simple && otpc_term_atom(id, &a) == 0)
    return find_id(s, a, idx);
  if (s->simple && otpc_term_pid(id, &pid) == 0) {
    child_t *c = find_pid(s, pid, CH_RUNNING, idx);
    return c != NULL ? c : find_pid(s, pid, CH_RESTARTING, idx);
  }
  return NULL;
}

/* restart_child's and delete_child's child: one with pid undefined, or
 * NULL after OTP's error reply (simple_one_for_one, not_found, restarting,
 * running). */
static child_t *stopped_child(sup_t *s, otpc_term_t id, size_t *idx) {
  child_t *c = NULL;
  if (s->simple)
    replyf(s, &s->from, "{error, simple_one_for_one}");
  else if ((c = find_req(s, id, idx)) == NULL)
    replyf(s, &s->from, "{error, not_found}");
  else if (c->st == CH_RESTARTING)
    replyf(s, &s->from, "{error, restarting}");
  else if (c->st == CH_RUNNING)
    replyf(s, &s->from, "{error, running}");
  else
    return c;
  return NULL;
}

static void handle_call(sup_t *s, otpc_term_t req) {
  otpc_term_t x;
  size_t idx;
  child_t *c;
  if (otpc_term_is_atom(req, "which_children") == 1) {
    which_children(s);
  } else if (otpc_term_is_atom(req, "count_children") == 1) {
    count_children(s);
  } else if (otpc_term_match(req, NULL, "{start_child, ~t}", &x) == 0) {
    if (s->simple)
      call_start_dynamic(s, x);
    else
      call_start_static(s, x);
  } else if (otpc_term_match(req, NULL, "{terminate_child, ~t}", &x) == 0) {
    if (s->simple && otpc_term_type(x) != OTPC_T_PID) {
      replyf(s, &s->from, "{error, simple_one_for_one}");
    } else if ((c = find_req(s, x, &idx)) != NULL) {
      plan(s, J_CALL_TERM);
      add_step(s, STEP_TERM, idx);
      run_job(s);
    } else {
      otpc_pid_t pid;
      /* OTP: a dead pid is no error for simple_one_for_one. */
      bool dead =
          s->simple && otpc_term_pid(x, &pid) == 0 && !pid_alive(s, pid);
      replyf(s, &s->from, dead ? "ok" : "{error, not_found}");
    }
  } else if (otpc_term_match(req, NULL, "{restart_child, ~t}", &x) == 0) {
    if ((c = stopped_child(s, x, &idx)) != NULL) {
      plan(s, J_CALL_START);
      s->call_is_restart = true;
      add_step(s, STEP_START, idx);
      run_job(s);
    }
  } else if (otpc_term_match(req, NULL, "{delete_child, ~t}", &x) == 0) {
    if ((c = stopped_child(s, x, &idx)) != NULL) {
      c->drop = true;
      compact(s);
      replyf(s, &s->from, "ok");
    }
  } else if (otpc_term_match(req, NULL, "{get_childspec, _}") == 0) {
    /* A C child spec has no Erlang form (no M:F(A)). */
    replyf(s, &s->from, "{error, not_found}");
  } else {
    otpc_buf_t b;
    otpc_buf_init(&b);
    otpc_buf_puts(&b, "supervisor: unexpected call: ");
    print_cut(&b, req);
    otpc__log(otpc_proc_rt(s->self), OTPC_LOG_ERROR, (const char *)b.data);
    otpc_buf_free(&b);
  }
}

static void try_again_msg(sup_t *s, otpc_term_t key) {
  otpc_atom_t a;
  otpc_pid_t pid;
  size_t idx;
  child_t *c = NULL;
  if (s->simple && otpc_term_match(key, NULL, "{restarting, ~p}", &pid) == 0)
    c = find_pid(s, pid, CH_RESTARTING, &idx);
  else if (!s->simple && otpc_term_atom(key, &a) == 0 &&
           (c = find_id(s, a, &idx)) != NULL && c->st != CH_RESTARTING)
    c = NULL;
  if (c != NULL)
    restart(s, idx);
}

/* ------------------------------------------------------------ process */

static void sup_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)self;
  sup_t *s = state;
  otpc_term_t t = otpc_msg_term(msg), tag, req, reason;
  otpc_pid_t pid;
  if (otpc_term_match(t, NULL, "{'$gen_call', {~p, ~t}, ~t}", &pid, &tag,
                      &req) == 0) {
    if (tag.len > OTPC_GS_TAG_MAX)
      return;
    s->from.pid = pid;
    s->from.tag_len = tag.len;
    memcpy(s->from.tag, tag.p, tag.len);
    handle_call(s, req);
  } else if (otpc_term_match(t, NULL, "{'$gen_cast', {try_again_restart, ~t}}",
                             &req) == 0) {
    try_again_msg(s, req);
  } else if (otpc_term_match(t, NULL, "{'EXIT', ~p, ~t}", &pid, &reason) == 0) {
    if (pid_eq(pid, s->parent))
      stop_all(s, reason); /* gen_server: the parent's exit, trapped */
    else
      handle_exit(s, pid, reason);
  } else if (otpc_term_match(t, NULL, "{system, {~p, ~t}, {terminate, ~t}}",
                             &pid, &tag, &reason) == 0) {
    /* sys:terminate: as sys.erl, ok goes back before the terminate runs
     * (proc_lib:stop's helper waits for it, then for the DOWN). */
    if (tag.len <= OTPC_GS_TAG_MAX) {
      otpc_gs_from_t from = {.pid = pid, .tag_len = tag.len};
      memcpy(from.tag, tag.p, tag.len);
      replyf(s, &from, "ok");
    }
    stop_all(s, reason);
  } else if (otpc_term_match(t, NULL, "{system, _, _}") == 0) {
    return; /* other sys requests: not yet */
  } else {
    otpc_buf_t b;
    otpc_buf_init(&b);
    otpc_buf_puts(&b, "Supervisor received unexpected message: ");
    print_cut(&b, t);
    otpc__log(otpc_proc_rt(s->self), OTPC_LOG_ERROR, (const char *)b.data);
    otpc_buf_free(&b);
  }
}

/* OTP's check_flags then check_startspec; 0 or the stop reason in err. */
static int check_spec(sup_t *s, otpc_buf_t *err) {
  const otpc_sup_spec_t *sp = &s->spec;
  otpc_buf_t e;
  otpc_buf_init(&e);
  int rc = OTPC_EINVAL;
  if ((unsigned)sp->strategy > OTPC_SIMPLE_ONE_FOR_ONE)
    buildf(&e, "{invalid_strategy, ~i}", (int)sp->strategy);
  else if (sp->intensity < 0)
    buildf(&e, "{invalid_intensity, ~i}", sp->intensity);
  else if (sp->period_s <= 0)
    buildf(&e, "{invalid_period, ~i}", sp->period_s);
  else if ((unsigned)sp->auto_shutdown > OTPC_AUTO_SHUTDOWN_ALL_SIGNIFICANT)
    buildf(&e, "{invalid_auto_shutdown, ~i}", (int)sp->auto_shutdown);
  else
    rc = 0;
  if (rc != 0) {
    otpc_term_t et = buf_term(&e);
    buildf(err, "{supervisor_data, ~t}", &et);
    otpc_buf_free(&e);
    return rc;
  }
  if (sp->n_children > 0 && sp->children == NULL) {
    buildf(err, "{bad_start_spec, null}");
    return OTPC_EINVAL;
  }
  if (s->simple && sp->n_children != 1) {
    buildf(err, "{bad_start_spec, ~l}", (long)sp->n_children);
    return OTPC_EINVAL;
  }
  for (size_t i = 0; i < sp->n_children && rc == 0; i++) {
    const otpc_child_spec_t *c = &sp->children[i];
    rc = check_child(c, sp->auto_shutdown, &e);
    otpc_atom_t a, b;
    for (size_t j = 0; j < i && rc == 0; j++)
      if (otpc_atom(c->id, &a) == 0 && otpc_atom(sp->children[j].id, &b) == 0 &&
          a == b) {
        buildf(&e, "{duplicate_child_name, ~A}", a);
        rc = OTPC_EINVAL;
      }
  }
  if (rc != 0) {
    otpc_term_t et = buf_term(&e);
    buildf(err, "{start_spec, ~t}", &et);
  }
  otpc_buf_free(&e);
  return rc;
}

/* The reason is in s->stop_reason (freed by terminate). */
_Noreturn static void sup_fail_init(sup_t *s) {
  otpc_term_t r = buf_term(&s->stop_reason);
  send_ack(s, "{error, ~t}", &r);
  otpc_exit(s->self, r);
}

static void sup_init(otpc_proc_t *self, void *state, void *arg) {
  sup_t *s = state;
  otpc__sup_start_arg_t sa = *(otpc__sup_start_arg_t *)arg;
  free(arg);
  s->self = self;
  s->parent = sa.starter;
  s->starter = sa.starter;
  s->tag = sa.tag;
  s->spec = *sa.spec;
  otpc_buf_init(&s->fail_reason);
  otpc_buf_init(&s->stop_reason);
  otpc_buf_init(&s->sd_reason);
  otpc_proc_info_t info;
  if (otpc_proc_info(otpc_proc_rt(self), otpc_self(self), &info) == 0)
    s->name = info.registered_name;
  otpc_trap_exit(self, true);
  if (s->spec.init != NULL) {
    int rc = s->spec.init(self, sa.arg, &s->spec);
    if (rc == OTPC_SUP_INIT_IGNORE) {
      send_ack(s, "ignore");
      otpc_exitf(self, "normal");
    }
    if (rc != OTPC_SUP_INIT_OK) {
      buildf(&s->stop_reason, "{bad_return, ~a}",
             rc < 0 ? code_atom(rc) : "badarg");
      sup_fail_init(s);
    }
  }
  s->simple = s->spec.strategy == OTPC_SIMPLE_ONE_FOR_ONE;
  if (check_spec(s, &s->stop_reason) != 0)
    sup_fail_init(s);
  if (s->simple) {
    if (child_init(&s->tmpl, &s->spec.children[0], false) != 0)
      otpc_exitf(self, "enomem");
    s->tmpl.id = OTPC_ATOM_NONE;
    otpc_atom("undefined", &s->tmpl.id);
    otpc_pid_t me = otpc_self(self);
    send_ack(s, "{ok, ~p}", &me);
    return;
  }
  plan(s, J_INIT);
  for (size_t i = 0; i < s->spec.n_children; i++) {
    if (grow(s) != 0 ||
        child_init(&s->ch[s->n], &s->spec.children[i], false) != 0)
      otpc_exitf(self, "enomem");
    s->n++;
    add_step(s, STEP_START, i);
  }
  run_job(s);
}

static void sup_terminate(otpc_proc_t *self, void *state, otpc_term_t reason) {
  (void)self;
  (void)reason;
  sup_t *s = state;
  for (size_t i = 0; i < s->n; i++)
    child_free(&s->ch[i]);
  free(s->ch);
  free(s->ht);
  free(s->steps);
  free(s->restarts);
  start_free(s->cur);
  otpc_buf_free(&s->fail_reason);
  otpc_buf_free(&s->stop_reason);
  otpc_buf_free(&s->sd_reason);
}

const otpc_proc_class_t otpc__sup_class = {"supervisor", sizeof(sup_t),
                                           sup_init, sup_handle, sup_terminate};
