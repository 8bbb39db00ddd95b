/* Scheduler threads: one libuv loop, a local run queue and a stack of
 * processes made runnable by other threads for each. */
#include <stdlib.h>

#include "rt_internal.h"

_Thread_local otpc__sched_t *otpc__tls_sched;

/* Processes run between two polls of the loop's I/O and timers when the
 * run queue never empties. */
#define POLL_EVERY 256

static void rq_append(otpc__sched_t *s, otpc_proc_t *p) {
  p->rq_next = NULL;
  if (s->rq_tail != NULL)
    s->rq_tail->rq_next = p;
  else
    s->rq_head = p;
  s->rq_tail = p;
  s->rq_len++;
}

void otpc__sched_push(otpc_proc_t *p) {
  otpc__sched_t *s = p->sched;
  /* Relaxed: an introspection snapshot. */
  atomic_store_explicit(&p->i_status, OTPC_PROC_RUNNABLE, memory_order_relaxed);
  if (s == otpc__tls_sched) {
    rq_append(s, p); /* our own queue: no atomics, no syscall */
    /* From a loop callback (a timer firing for a process of ours): libuv
     * (1.44) runs due timers before it polls, and would then block with
     * the run queue non-empty. uv_stop makes that poll non-blocking and
     * ends the run. */
    if (s->in_uv)
      uv_stop(&s->loop);
    return;
  }
  /* Relaxed first read: the CAS validates it. */
  otpc_proc_t *old = atomic_load_explicit(&s->remote, memory_order_relaxed);
  do {
    p->rq_next = old;
    /* Seq_cst on success: release for p's fields to the draining thread,
     * and a total order with the load of `sleeping` below against the
     * scheduler's store of `sleeping` and load of `remote` (Dekker): one
     * of us sees the other, so a wake-up is never lost. */
  } while (!atomic_compare_exchange_weak_explicit(
      &s->remote, &old, p, memory_order_seq_cst, memory_order_relaxed));
  /* Only the empty-to-non-empty transition may need a wake-up: the
   * scheduler drains the whole stack before sleeping again. */
  if (old == NULL && atomic_load_explicit(&s->sleeping, memory_order_seq_cst))
    uv_async_send(&s->async);
}

static void drain_remote(otpc__sched_t *s) {
  /* Relaxed peek: a stale NULL only delays the drain to the next check,
   * and the sleep protocol rechecks with seq_cst. */
  if (atomic_load_explicit(&s->remote, memory_order_relaxed) == NULL)
    return;
  /* Acquire pairs with the pushers' CAS: each process's fields are
   * visible. */
  otpc_proc_t *p =
      atomic_exchange_explicit(&s->remote, NULL, memory_order_acquire);
  otpc_proc_t *rev = NULL;
  while (p != NULL) {
    otpc_proc_t *n = p->rq_next;
    p->rq_next = rev;
    rev = p;
    p = n;
  }
  while (rev != NULL) {
    otpc_proc_t *n = rev->rq_next;
    rq_append(s, rev);
    rev = n;
  }
}

otpc_proc_t *otpc__sched_next(otpc__sched_t *s) {
  drain_remote(s);
  otpc_proc_t *p = s->rq_head;
  if (p != NULL) {
    s->rq_head = p->rq_next;
    if (s->rq_head == NULL)
      s->rq_tail = NULL;
    s->rq_len--;
  }
  return p;
}

/* Iterations of the spin before sleeping (a few tens of microseconds). */
#define SPIN_ITERATIONS 2000

static inline void cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
  __asm__ __volatile__("pause");
#elif defined(__aarch64__)
  __asm__ __volatile__("yield");
#endif
}

static bool spin_for_work(otpc__sched_t *s) {
  for (int i = 0; i < SPIN_ITERATIONS; i++) {
    /* Relaxed: a hint; the drain's exchange acquires. */
    if (atomic_load_explicit(&s->remote, memory_order_relaxed) != NULL ||
        atomic_load_explicit(&s->stop, memory_order_relaxed))
      return true;
    cpu_relax();
  }
  return false;
}

static void on_async(uv_async_t *a) {
  otpc__timers_poll(a->data);
}

static void sched_main(void *arg) {
  otpc__sched_t *s = arg;
  otpc__tls_sched = s;
  unsigned since_poll = 0;
  /* Acquire pairs with otpc__sched_stop's release store. */
  while (!atomic_load_explicit(&s->stop, memory_order_acquire)) {
    unsigned ran = otpc__proc_run_batch(s, POLL_EVERY - since_poll);
    if (ran > 0) {
      since_poll += ran;
      if (since_poll >= POLL_EVERY) {
        since_poll = 0;
        s->in_uv = true;
        uv_run(&s->loop, UV_RUN_NOWAIT);
        s->in_uv = false;
      }
      continue;
    }
    /* Spin a little before sleeping: a wake-up through the loop costs
     * a syscall on each side, far more than a message round trip. */
    if (spin_for_work(s))
      continue;
    /* Seq_cst: see otpc__sched_push. */
    atomic_store_explicit(&s->sleeping, 1, memory_order_seq_cst);
    if (atomic_load_explicit(&s->remote, memory_order_seq_cst) != NULL) {
      /* Relaxed: only this thread reads it as a guard of its own sleep;
       * pushers that see a stale 1 merely send a spare wake-up. */
      atomic_store_explicit(&s->sleeping, 0, memory_order_relaxed);
      continue;
    }
    s->in_uv = true;
    uv_run(&s->loop, UV_RUN_ONCE);
    s->in_uv = false;
    atomic_store_explicit(&s->sleeping, 0, memory_order_relaxed);
    since_poll = 0;
  }
  otpc__timers_close(s);
  uv_close((uv_handle_t *)&s->async, NULL);
  uv_run(&s->loop, UV_RUN_DEFAULT);
  otpc__sig_cache_free(s);
  otpc_buf_free(&s->sendf_buf);
  otpc__tls_sched = NULL;
}

int otpc__sched_start(otpc_rt_t *rt) {
  rt->scheds = calloc(rt->nsched, sizeof *rt->scheds);
  if (rt->scheds == NULL)
    return OTPC_ENOMEM;
  unsigned started = 0;
  int rc = 0;
  for (unsigned i = 0; i < rt->nsched && rc == 0; i++) {
    otpc__sched_t *s = &rt->scheds[i];
    s->rt = rt;
    s->idx = i;
    atomic_init(&s->remote, NULL);
    atomic_init(&s->sleeping, 0);
    atomic_init(&s->stop, 0);
    if (uv_loop_init(&s->loop) != 0) {
      rc = OTPC_ENOMEM;
      break;
    }
    uv_async_init(&s->loop, &s->async, on_async);
    s->async.data = s;
    rc = otpc__timers_init(s);
    if (rc == 0 && uv_thread_create(&s->thread, sched_main, s) != 0)
      rc = OTPC_ENOMEM;
    if (rc == 0)
      started++;
  }
  if (rc < 0) {
    unsigned n = started;
    rt->nsched = n;
    otpc__sched_stop(rt);
    return rc;
  }
  return 0;
}

void otpc__sched_stop(otpc_rt_t *rt) {
  if (rt->scheds == NULL)
    return;
  for (unsigned i = 0; i < rt->nsched; i++) {
    /* Release: pairs with the loop's acquire load. */
    atomic_store_explicit(&rt->scheds[i].stop, 1, memory_order_release);
    uv_async_send(&rt->scheds[i].async);
  }
  for (unsigned i = 0; i < rt->nsched; i++) {
    uv_thread_join(&rt->scheds[i].thread);
    uv_loop_close(&rt->scheds[i].loop);
  }
  free(rt->scheds);
  rt->scheds = NULL;
}
