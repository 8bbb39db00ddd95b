/* A process's life: spawn, a scheduler turn, exit (otpc_exit unwinds with
 * siglongjmp to the scheduler), terminate, crash report, propagation of
 * the reason, free. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

/* Characters of a term in a crash report before it is cut. */
#define REPORT_TERM_MAX 2000

otpc_proc_t *otpc__proc_alloc(otpc_rt_t *rt, const otpc_proc_class_t *cls,
                              size_t state_size) {
  if (state_size > SIZE_MAX - sizeof(otpc_proc_t))
    return NULL;
  otpc_proc_t *p = malloc(sizeof *p + state_size);
  if (p == NULL)
    return NULL;
  memset(p, 0, sizeof *p + state_size);
  /* No other thread can see p yet: plain initialisation. */
  atomic_init(&p->inbox, NULL);
  p->mq_tail = &p->mq_head;
  p->save = &p->mq_head;
  p->rt = rt;
  p->cls = cls;
  atomic_init(&p->i_pushed, 0);
  atomic_init(&p->i_moved, 0);
  atomic_init(&p->i_status, OTPC_PROC_RUNNABLE);
  atomic_init(&p->i_mq_len, 0);
  atomic_init(&p->i_links, 0);
  atomic_init(&p->i_monitors, 0);
  atomic_init(&p->i_monitored_by, 0);
  atomic_init(&p->i_trap, 0);
  atomic_init(&p->i_handled, 0);
  atomic_init(&p->i_mq_bytes, 0);
  return p;
}

static otpc__sched_t *pick_sched(otpc_rt_t *rt) {
  otpc__sched_t *s = otpc__tls_sched;
  if (s != NULL && s->rt == rt)
    return s; /* spawn where the parent runs: no wake-up needed */
  /* Relaxed: any spread will do. */
  unsigned i =
      atomic_fetch_add_explicit(&rt->next_sched, 1, memory_order_relaxed);
  return &rt->scheds[i % rt->nsched];
}

static int spawn(otpc_rt_t *rt, otpc_proc_t *parent,
                 const otpc_proc_class_t *cls, void *arg,
                 const otpc_spawn_opts_t *opts, otpc_pid_t *pid_out) {
  if (rt == NULL || cls == NULL)
    return OTPC_EINVAL;
  if (opts != NULL && (opts->link || opts->monitor) && parent == NULL)
    return OTPC_EINVAL;
  otpc_atom_t name = OTPC_ATOM_NONE;
  if (opts != NULL && opts->name != NULL) {
    int rc = otpc_atom(opts->name, &name);
    if (rc < 0)
      return rc;
  }
  /* Relaxed: an early refusal; the seq_cst check below is the real one. */
  if (atomic_load_explicit(&rt->stopping, memory_order_relaxed))
    return OTPC_EINVAL;
  otpc_proc_t *p = otpc__proc_alloc(rt, cls, cls->state_size);
  if (p == NULL)
    return OTPC_ENOMEM;
  uint64_t data;
  int rc = otpc__ptab_reserve(rt, &data);
  if (rc < 0) {
    free(p);
    return rc;
  }
  p->data = data;
  p->sched = pick_sched(rt);
  p->u.init_arg = arg;
  otpc_pid_t pid = otpc__pid_of(p);
  if (opts != NULL && opts->trap_exit) {
    p->flags |= OTPC__PF_TRAP;
    atomic_store_explicit(&p->i_trap, 1, memory_order_relaxed);
  }
  otpc__ptab_install(rt, p);
  if (name != OTPC_ATOM_NONE) {
    rc = otpc__reg_add_new(rt, name, p);
    if (rc < 0) {
      otpc__ptab_remove(rt, p);
      /* Nobody knew the pid but a process-table scan: drop what came. */
      for (otpc__sig_t *s = otpc__inbox_take(p); s != NULL;) {
        otpc__sig_t *n = s->next;
        otpc__sig_free(s);
        s = n;
      }
      free(p);
      otpc__ptab_release(rt, data);
      return rc;
    }
  }
  otpc__ptab_publish(rt, p);
  /* The new process has not run: its tables are still ours to fill. */
  if (opts != NULL && opts->link) {
    otpc_pid_t ppid = otpc__pid_of(parent);
    if (!otpc__pidset_add(&p->links, ppid) ||
        !otpc__pidset_add(&parent->links, pid)) {
      /* Out of memory: behave as a link to a process that died at once. */
      otpc__pidset_del(&parent->links, pid);
      otpc__pidset_del(&p->links, ppid);
    }
    atomic_store_explicit(&p->i_links, p->links.n, memory_order_relaxed);
    atomic_store_explicit(&parent->i_links, parent->links.n,
                          memory_order_relaxed);
  }
  if (opts != NULL && opts->monitor) {
    otpc__mon_t m;
    memset(&m, 0, sizeof m);
    otpc_make_ref(rt, &m.ref);
    m.pid = pid;
    m.kind = OTPC__MON_HOLDER;
    bool ok = otpc__mon_add(&parent->mons, &m);
    m.pid = otpc__pid_of(parent);
    m.kind = OTPC__MON_TARGET;
    if (ok)
      ok = otpc__mon_add(&p->mons, &m);
    if (ok) {
      atomic_fetch_add_explicit(&parent->i_monitors, 1, memory_order_relaxed);
      atomic_store_explicit(&p->i_monitored_by, 1, memory_order_relaxed);
    }
    if (opts->monitor_ref != NULL)
      *opts->monitor_ref = m.ref;
  }
  if (pid_out != NULL)
    *pid_out = pid;
  /* Seq_cst: either rt_stop's table walk saw p (installed under a stripe
   * lock it took later) or we see `stopping` here. */
  if (atomic_load(&rt->stopping)) {
    otpc__csig_t *c = otpc__csig(OTPC__SIG_EXIT, otpc__pid_make(rt, 0),
                                 otpc_msg_ref(rt->r_shutdown));
    if (c != NULL) {
      c->h.aux = OTPC__EXIT_FORCE;
      (void)otpc__inbox_push(p, &c->h);
    }
  }
  /* The inbox starts "empty, scheduled" (NULL): we own the first run. */
  otpc__sched_push(p);
  return 0;
}

int otpc_spawn(otpc_proc_t *self, const otpc_proc_class_t *cls, void *arg,
               const otpc_spawn_opts_t *opts, otpc_pid_t *pid) {
  if (self == NULL)
    return OTPC_EINVAL;
  return spawn(self->rt, self, cls, arg, opts, pid);
}

int otpc_rt_spawn(otpc_rt_t *rt, const otpc_proc_class_t *cls, void *arg,
                  const otpc_spawn_opts_t *opts, otpc_pid_t *pid) {
  return spawn(rt, NULL, cls, arg, opts, pid);
}

otpc_pid_t otpc_self(const otpc_proc_t *self) {
  return otpc__pid_of(self);
}

otpc_rt_t *otpc_proc_rt(const otpc_proc_t *self) {
  return self->rt;
}

void *otpc_proc_state(otpc_proc_t *self) {
  return self->state;
}

bool otpc__is_atom(otpc_term_t t, otpc_atom_t a) {
  /* Compares the text: decoding the term's atom would intern it, under
   * the atom table's global lock, on every exit. */
  const char *text = otpc_atom_text(a, NULL);
  return text != NULL && t.len > 0 && otpc_term_is_atom(t, text) == 1;
}

/* ------------------------------------------------------------ exiting */

static sigjmp_buf *ctx_jbp(otpc_proc_t *p) {
  return p->thr != NULL ? otpc__thr_jbp(p) : p->sched->jbp;
}

_Noreturn void otpc__proc_die(otpc_proc_t *p, otpc_msg_t *reason) {
  if (reason == NULL)
    reason = otpc_msg_ref(p->rt->r_killed); /* out of memory for it */
  otpc_msg_unref(p->exit_reason);
  p->exit_reason = reason;
  sigjmp_buf *jb = ctx_jbp(p);
  if (jb == NULL) {
    /* An attached thread process outside otpc_thread_receive has no frame
     * to unwind to: the caller's thread cannot be ended for it. */
    otpc__log(p->rt, OTPC_LOG_ERROR,
              "otpc_exit in an attached thread process outside "
              "otpc_thread_receive: aborting");
    abort();
  }
  siglongjmp(*jb, 1);
}

_Noreturn void otpc_exit(otpc_proc_t *self, otpc_term_t reason) {
  otpc_msg_t *m = NULL;
  (void)otpc_msg_from_term(reason, &m);
  self->flags |= OTPC__PF_OWN_EXIT;
  otpc__proc_die(self, m);
}

_Noreturn void otpc_exitf(otpc_proc_t *self, const char *fmt, ...) {
  otpc_buf_t b;
  otpc_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc_term_vbuild(&b, NULL, fmt, ap);
  va_end(ap);
  otpc_msg_t *m = NULL;
  if (rc == 0) {
    otpc_term_t t = {b.data, b.len};
    (void)otpc_msg_from_term(t, &m);
  } else {
    (void)otpc_msg_build(&m, NULL, "{bad_exit_format, ~s}", fmt);
  }
  otpc_buf_free(&b);
  self->flags |= OTPC__PF_OWN_EXIT;
  otpc__proc_die(self, m);
}

_Noreturn void otpc__check_failed(otpc_proc_t *self, const char *expr,
                                  const char *file, int line) {
  otpc_msg_t *m = NULL;
  (void)otpc_msg_build(&m, NULL, "{check_failed, ~s, ~s, ~i}", expr, file,
                       line);
  self->flags |= OTPC__PF_OWN_EXIT;
  otpc__proc_die(self, m);
}

/* normal, shutdown and {shutdown, _} are no crash, as for proc_lib. */
static bool is_quiet_reason(otpc_rt_t *rt, otpc_term_t r) {
  if (otpc__is_atom(r, rt->a_normal) || otpc__is_atom(r, rt->a_shutdown))
    return true;
  otpc_term_t first;
  otpc_iter_t it;
  size_t n;
  return otpc_term_type(r) == OTPC_T_TUPLE &&
         otpc_term_tuple(r, &it, &n) == 0 && n == 2 &&
         otpc_term_element(r, 0, &first) == 0 &&
         otpc__is_atom(first, rt->a_shutdown);
}

static void append_term(otpc_buf_t *b, otpc_term_t t) {
  otpc_buf_t tb;
  otpc_buf_init(&tb);
  if (otpc_term_print(&tb, t) < 0) {
    otpc_buf_puts(b, "(unprintable)");
  } else if (tb.len > REPORT_TERM_MAX) {
    otpc_buf_append(b, tb.data, REPORT_TERM_MAX);
    otpc_buf_puts(b, "...");
  } else {
    otpc_buf_append(b, tb.data, tb.len);
  }
  otpc_buf_free(&tb);
}

static void crash_report(otpc_proc_t *p) {
  otpc_rt_t *rt = p->rt;
  otpc_buf_t b;
  otpc_buf_init(&b);
  char head[256];
  otpc_pid_t pid = otpc__pid_of(p);
  pthread_mutex_lock(&rt->reg_lock);
  otpc_atom_t name = p->name;
  pthread_mutex_unlock(&rt->reg_lock);
  const char *ntext = name != OTPC_ATOM_NONE ? otpc_atom_text(name, NULL) : "";
  snprintf(head, sizeof head,
           "crash report: process <%u.%u.%u> class %s%s%s exited; last "
           "message: ",
           0u, pid.id, pid.serial,
           p->cls != NULL && p->cls->name ? p->cls->name : "(thread)",
           name != OTPC_ATOM_NONE ? " registered as " : "", ntext);
  otpc_buf_puts(&b, head);
  if (p->u.cur_sig != NULL && (p->flags & OTPC__PF_INIT))
    append_term(&b, otpc_msg_term(p->u.cur_sig->msg));
  else
    otpc_buf_puts(&b, "none");
  otpc_buf_puts(&b, "; reason: ");
  append_term(&b, otpc_msg_term(p->exit_reason));
  otpc__log(rt, OTPC_LOG_ERROR, b.data != NULL ? (char *)b.data : "crash");
  otpc_buf_free(&b);
}

/* What is left in the inbox of a removed process: links and monitors that
 * raced with the exit are answered as if they came just after it. */
static void drain(otpc_proc_t *p, otpc__sig_t *s) {
  while (s != NULL) {
    otpc__sig_t *n = s->next;
    otpc__csig_t *c = (otpc__csig_t *)s;
    switch (s->type) {
    case OTPC__SIG_LINK: otpc__pidset_add(&p->links, c->from); break;
    case OTPC__SIG_UNLINK:
    case OTPC__SIG_EXIT_LINK: otpc__pidset_del(&p->links, c->from); break;
    case OTPC__SIG_MONITOR: {
      otpc__mon_t m;
      memset(&m, 0, sizeof m);
      m.ref = c->ref;
      m.pid = c->from;
      m.kind = OTPC__MON_TARGET;
      otpc__mon_add(&p->mons, &m);
      break;
    }
    case OTPC__SIG_DEMONITOR: {
      otpc__mon_t *m = otpc__mon_find(&p->mons, &c->ref);
      if (m != NULL && m->kind == OTPC__MON_TARGET)
        otpc__mon_del(&p->mons, m);
      break;
    }
    default: break;
    }
    otpc__sig_free(s);
    s = n;
  }
}

void otpc__proc_finish(otpc_proc_t *p) {
  otpc_rt_t *rt = p->rt;
  otpc_msg_t *reason = p->exit_reason;
  otpc__reg_close(rt, p);
  otpc__ptab_remove(rt, p);
  /* No signal can arrive now: take the rest of the batch and the inbox. */
  otpc__sig_t *rest = p->pending;
  p->pending = NULL;
  drain(p, rest);
  drain(p, otpc__inbox_take(p));
  /* Before the exit signals: whoever learns of the exit may count on what
   * the wait owned being released. */
  otpc__wait_free(p);
  otpc__links_exit(p, reason);
  otpc__mon_exit(p, reason);
  if (p->u.cur_sig != NULL && (p->flags & OTPC__PF_INIT)) {
    otpc__sig_free(p->u.cur_sig);
    p->u.cur_sig = NULL;
  }
  for (otpc__sig_t *s = p->mq_head; s != NULL;) {
    otpc__sig_t *n = s->next;
    otpc__sig_free(s);
    s = n;
  }
  p->mq_head = NULL;
  p->mq_tail = &p->mq_head;
  p->save = &p->mq_head;
  p->mq_len = 0;
  otpc__pidset_free(&p->links);
  otpc__montab_free(&p->mons);
  otpc__ptab_release(rt, p->data);
}

/* Runs terminate with its own unwinding frame: a terminate that exits
 * replaces the reason, as in gen_server. Kept apart so that no local of
 * the caller lives across the sigsetjmp. */
static void run_terminate(otpc_proc_t *p) {
  sigjmp_buf jb;
  sigjmp_buf *const saved = p->sched->jbp;
  p->sched->jbp = &jb;
  if (sigsetjmp(jb, 0) == 0)
    p->cls->terminate(p, p->state, otpc_msg_term(p->exit_reason));
  p->sched->jbp = saved;
}

void otpc__proc_exit(otpc_proc_t *p, bool free_it) {
  p->flags |= OTPC__PF_EXITING;
  /* Relaxed: an introspection snapshot. */
  atomic_store_explicit(&p->i_status, OTPC_PROC_EXITING, memory_order_relaxed);
  /* The report first: terminate may tell others, who then expect it. */
  if ((p->flags & OTPC__PF_OWN_EXIT) &&
      !is_quiet_reason(p->rt, otpc_msg_term(p->exit_reason)))
    crash_report(p);
  if (p->thr == NULL && p->cls != NULL && p->cls->terminate != NULL &&
      (p->flags & OTPC__PF_INIT))
    run_terminate(p);
  otpc__proc_finish(p);
  if (free_it)
    otpc__proc_free(p);
}

void otpc__proc_free(otpc_proc_t *p) {
  otpc_msg_unref(p->exit_reason);
  free(p);
}

/* ------------------------------------------------------------ running */

static void deliver(otpc_proc_t *p, otpc__sig_t *m) {
  otpc__wait_t *w = p->wait;
  if (m->type == OTPC__SIG_TIMEOUT) {
    /* The wait timed out (the marker is ours: otpc__mq_next checked). */
    w->active = false;
    otpc__sig_free(m);
    w->cont(p, p->state, NULL, w->ctx);
    return;
  }
  p->u.cur_sig = m;
  if (w != NULL && w->active) {
    w->active = false;
    if (w->timer_on)
      otpc__wait_timer_stop(p);
    w->cont(p, p->state, m->msg, w->ctx);
  } else {
    p->cls->handle(p, p->state, m->msg);
  }
  p->u.cur_sig = NULL;
  otpc__sig_free(m);
  /* Relaxed: an introspection counter, written by the owner only. */
  atomic_store_explicit(
      &p->i_handled,
      atomic_load_explicit(&p->i_handled, memory_order_relaxed) + 1,
      memory_order_relaxed);
}

static void turn(otpc__sched_t *s, otpc_proc_t *p) {
  /* Relaxed: an introspection snapshot. */
  atomic_store_explicit(&p->i_status, OTPC_PROC_RUNNING, memory_order_relaxed);
  unsigned budget = p->rt->opts.budget;
  bool ran = false;
  if (!(p->flags & OTPC__PF_INIT)) {
    void *arg = p->u.init_arg;
    p->u.cur_sig = NULL;
    p->flags |= OTPC__PF_INIT;
    if (p->cls->init != NULL)
      p->cls->init(p, p->state, arg);
    budget--;
    ran = true;
  }
  for (;;) {
    otpc__process_inbox(p);
    otpc__wait_t *w = p->wait;
    if (w != NULL && w->step != NULL) {
      if (ran || budget == 0) {
        otpc__sched_push(p); /* to the back: the others go first */
        return;
      }
      otpc_step_fn step = w->step;
      w->step = NULL;
      step(p, p->state, w->step_ctx);
      budget--;
      ran = true;
      continue;
    }
    if (budget == 0) {
      otpc__sched_push(p);
      return;
    }
    otpc__sig_t *m = otpc__mq_next(p);
    if (m != NULL) {
      deliver(p, m);
      budget--;
      ran = true;
      continue;
    }
    (void)s;
    otpc__sig_t *expected = NULL;
    /* Release on success: the pusher that replaces IDLE (acquiring)
     * takes over p's scheduling fields (rq_next) from us. Relaxed on
     * failure: new signals came; we loop and take them with acquire. */
    if (atomic_compare_exchange_strong_explicit(
            &p->inbox, &expected, OTPC__INBOX_IDLE, memory_order_release,
            memory_order_relaxed)) {
      atomic_store_explicit(&p->i_status, OTPC_PROC_WAITING,
                            memory_order_relaxed);
      return;
    }
  }
}

unsigned otpc__proc_run_batch(otpc__sched_t *s, unsigned max) {
  /* One unwinding frame for many turns: a sigsetjmp per turn was a tenth
   * of a message hop. volatile: modified after the sigsetjmp and read
   * after a jump. */
  volatile unsigned n = 0;
  sigjmp_buf jb;
  s->jbp = &jb;
  /* sigsetjmp(.., 0): no signal mask saved, so no syscall. s is not
   * modified after it, so it is intact after a jump. */
  if (sigsetjmp(jb, 0) != 0) {
    otpc__proc_exit(s->current, true);
    s->current = NULL;
    s->jbp = NULL;
    return n + 1;
  }
  while (n < max) {
    otpc_proc_t *p = otpc__sched_next(s);
    if (p == NULL)
      break;
    s->current = p;
    turn(s, p);
    n = n + 1;
  }
  s->current = NULL;
  s->jbp = NULL;
  return n;
}
