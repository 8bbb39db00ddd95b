/* Thread processes: a pid for a thread that is not a scheduler, with a
 * blocking receive. Signals reach it through the same inbox; instead of a
 * run queue, the empty-to-non-empty transition signals a condition
 * variable the thread waits on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rt_internal.h"

struct otpc__thr {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  sigjmp_buf *jbp; /* where an exit unwinds to, or NULL */
  bool attached;   /* by otpc_thread_attach (not otpc_spawn_thread) */
  bool dead;       /* exited; waiting for detach */
  otpc_thread_fn fn;
  void *arg;
};

sigjmp_buf *otpc__thr_jbp(otpc_proc_t *p) {
  return p->thr->jbp;
}

void otpc__thr_wake(otpc_proc_t *p) {
  /* Called under p's stripe lock (see otpc__deliver_local), so p cannot be
   * freed meanwhile. */
  pthread_mutex_lock(&p->thr->mu);
  pthread_cond_signal(&p->thr->cv);
  pthread_mutex_unlock(&p->thr->mu);
}

static int thr_new(otpc_rt_t *rt, bool attached, otpc_proc_t **out) {
  /* Relaxed: an early refusal, as in spawn. */
  if (atomic_load_explicit(&rt->stopping, memory_order_relaxed))
    return OTPC_EINVAL;
  otpc_proc_t *p = otpc__proc_alloc(rt, NULL, sizeof(otpc__thr_t));
  if (p == NULL)
    return OTPC_ENOMEM;
  uint64_t data;
  int rc = otpc__ptab_reserve(rt, &data);
  if (rc < 0) {
    free(p);
    return rc;
  }
  p->data = data;
  p->thr = (otpc__thr_t *)(void *)p->state;
  p->flags |= OTPC__PF_INIT;
  pthread_mutex_init(&p->thr->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&p->thr->cv, &ca);
  pthread_condattr_destroy(&ca);
  p->thr->attached = attached;
  /* Not running: the first push must wake the thread. */
  atomic_init(&p->inbox, OTPC__INBOX_IDLE);
  atomic_init(&p->i_status, OTPC_PROC_WAITING);
  if (attached)
    atomic_fetch_add(&rt->attached, 1); /* seq_cst: see otpc_rt_stop */
  otpc__ptab_install(rt, p);
  *out = p;
  return 0;
}

/* Exit propagation of a thread process; keeps the struct. */
static void thr_finish(otpc_proc_t *p) {
  otpc_rt_t *rt = p->rt;
  if (p->exit_reason == NULL)
    p->exit_reason = otpc_msg_ref(rt->r_normal);
  /* Before `live` drops in finish: rt_stop compares the two. */
  if (p->thr->attached)
    atomic_fetch_sub(&rt->attached, 1); /* seq_cst: see otpc_rt_stop */
  otpc__proc_finish(p);
  p->thr->dead = true;
}

static void thr_free(otpc_proc_t *p) {
  pthread_mutex_destroy(&p->thr->mu);
  pthread_cond_destroy(&p->thr->cv);
  otpc__proc_free(p);
}

int otpc_thread_attach(otpc_rt_t *rt, otpc_proc_t **self) {
  if (rt == NULL || self == NULL)
    return OTPC_EINVAL;
  return thr_new(rt, true, self);
}

void otpc_thread_detach(otpc_proc_t *self, otpc_term_t reason) {
  if (self == NULL)
    return;
  if (!self->thr->dead) {
    otpc_msg_t *m = NULL;
    if (reason.p != NULL)
      (void)otpc_msg_from_term(reason, &m);
    otpc_msg_unref(self->exit_reason);
    self->exit_reason = m;
    thr_finish(self);
  }
  thr_free(self);
}

static void deadline_after(struct timespec *ts, int64_t ms) {
  clock_gettime(CLOCK_MONOTONIC, ts);
  ts->tv_sec += (time_t)(ms / 1000);
  ts->tv_nsec += (long)(ms % 1000) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) {
    ts->tv_sec++;
    ts->tv_nsec -= 1000000000L;
  }
}

int otpc_thread_receive(otpc_proc_t *self, otpc_match_fn match,
                        const void *match_arg, int64_t timeout_ms,
                        otpc_msg_t **msg) {
  if (self == NULL || self->thr == NULL || msg == NULL)
    return OTPC_EINVAL;
  otpc__thr_t *t = self->thr;
  *msg = NULL;
  if (t->dead) {
    *msg = otpc_msg_ref(self->exit_reason);
    return OTPC_EINVAL;
  }
  struct timespec deadline;
  if (timeout_ms > 0)
    deadline_after(&deadline, timeout_ms);
  sigjmp_buf jb;
  sigjmp_buf *saved = t->jbp;
  t->jbp = &jb;
  /* A killing signal unwinds here from otpc__process_inbox. */
  if (sigsetjmp(jb, 0) != 0) {
    t->jbp = saved;
    thr_finish(self);
    *msg = otpc_msg_ref(self->exit_reason);
    return OTPC_EINVAL;
  }
  int rc = 0;
  for (;;) {
    otpc__process_inbox(self);
    otpc__sig_t *s =
        otpc__mq_take_match(self, &self->mq_head, match, match_arg);
    if (s != NULL) {
      *msg = s->msg;
      s->msg = NULL;
      otpc__sig_free(s);
      /* Relaxed: introspection counter, owner-written. */
      atomic_fetch_add_explicit(&self->i_handled, 1, memory_order_relaxed);
      break;
    }
    if (rc == OTPC_ENOTFOUND || timeout_ms == 0) {
      rc = OTPC_ENOTFOUND;
      break;
    }
    otpc__sig_t *expected = NULL;
    /* Acq_rel: release pairs with nothing in particular but is free on
     * the platforms we target; acquire is not needed either since the
     * next take acquires. Strong CAS: a spurious failure only loops. */
    if (!atomic_compare_exchange_strong_explicit(
            &self->inbox, &expected, OTPC__INBOX_IDLE, memory_order_acq_rel,
            memory_order_relaxed))
      continue;
    atomic_store_explicit(&self->i_status, OTPC_PROC_WAITING,
                          memory_order_relaxed);
    pthread_mutex_lock(&t->mu);
    /* Relaxed: a pusher replaces IDLE before taking the mutex to signal,
     * and the mutex orders that write before our re-check. */
    while (atomic_load_explicit(&self->inbox, memory_order_relaxed) ==
           OTPC__INBOX_IDLE) {
      if (timeout_ms < 0) {
        pthread_cond_wait(&t->cv, &t->mu);
      } else if (pthread_cond_timedwait(&t->cv, &t->mu, &deadline) != 0) {
        rc = OTPC_ENOTFOUND; /* one last look at the inbox, then give up */
        break;
      }
    }
    pthread_mutex_unlock(&t->mu);
    atomic_store_explicit(&self->i_status, OTPC_PROC_RUNNING,
                          memory_order_relaxed);
  }
  t->jbp = saved;
  return rc;
}

/* ------------------------------------------------- otpc_spawn_thread */

static void thread_main(void *arg) {
  otpc_proc_t *p = arg;
  otpc__thr_t *t = p->thr;
  sigjmp_buf jb;
  t->jbp = &jb;
  if (sigsetjmp(jb, 0) == 0)
    t->fn(p, t->arg); /* an otpc_exit inside unwinds to the else branch */
  t->jbp = NULL;
  if (!t->dead)
    thr_finish(p);
  thr_free(p);
}

int otpc_spawn_thread(otpc_rt_t *rt, otpc_thread_fn fn, void *arg,
                      otpc_pid_t *pid) {
  if (rt == NULL || fn == NULL)
    return OTPC_EINVAL;
  pthread_mutex_lock(&rt->thr_lock);
  if (rt->thr_n == rt->thr_cap) {
    size_t ncap = rt->thr_cap ? rt->thr_cap * 2 : 8;
    uv_thread_t *n = realloc(rt->thr_ids, ncap * sizeof *n);
    if (n == NULL) {
      pthread_mutex_unlock(&rt->thr_lock);
      return OTPC_ENOMEM;
    }
    rt->thr_ids = n;
    rt->thr_cap = ncap;
  }
  otpc_proc_t *p;
  int rc = thr_new(rt, false, &p);
  if (rc < 0) {
    pthread_mutex_unlock(&rt->thr_lock);
    return rc;
  }
  p->thr->fn = fn;
  p->thr->arg = arg;
  if (pid != NULL)
    *pid = otpc__pid_of(p);
  if (uv_thread_create(&rt->thr_ids[rt->thr_n], thread_main, p) != 0) {
    pthread_mutex_unlock(&rt->thr_lock);
    thr_finish(p);
    thr_free(p);
    return OTPC_ENOMEM;
  }
  rt->thr_n++;
  pthread_mutex_unlock(&rt->thr_lock);
  return 0;
}

void otpc__thr_join_all(otpc_rt_t *rt) {
  pthread_mutex_lock(&rt->thr_lock);
  size_t n = rt->thr_n;
  uv_thread_t *ids = rt->thr_ids;
  rt->thr_ids = NULL;
  rt->thr_n = rt->thr_cap = 0;
  pthread_mutex_unlock(&rt->thr_lock);
  for (size_t i = 0; i < n; i++)
    uv_thread_join(&ids[i]);
  free(ids);
}

static void collect_attached(otpc_proc_t *p, void *ud) {
  otpc_proc_t **list = ud;
  if (p->thr != NULL && p->thr->attached) {
    p->rq_next = *list;
    *list = p;
  }
}

void otpc__thr_reap_attached(otpc_rt_t *rt) {
  otpc_proc_t *list = NULL;
  otpc__ptab_each(rt, collect_attached, &list);
  while (list != NULL) {
    otpc_proc_t *p = list;
    list = p->rq_next;
    p->rq_next = NULL;
    otpc__log(rt, OTPC_LOG_WARNING,
              "otpc_rt_stop: a thread process was still attached; detach "
              "it before stopping the runtime");
    otpc_msg_unref(p->exit_reason);
    p->exit_reason = otpc_msg_ref(rt->r_shutdown);
    /* Its signals still queued are dropped: no process is left. */
    thr_finish(p);
  }
}
