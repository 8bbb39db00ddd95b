/* Signals: allocation, the inbox (an MPSC Treiber stack taken whole by the
 * owner), delivery through the process table, and the owner's handling of
 * each signal. */
/* madvise and MADV_HUGEPAGE are not POSIX. */
#define _DEFAULT_SOURCE
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "rt_internal.h"

#if defined(__has_include)
#if __has_include(<sanitizer/asan_interface.h>)
#include <sanitizer/asan_interface.h>
#endif
#endif
#ifndef ASAN_POISON_MEMORY_REGION
#define ASAN_POISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#define ASAN_UNPOISON_MEMORY_REGION(a, n) ((void)(a), (void)(n))
#endif

/* ------------------------------------------------------- the node pool
 *
 * Every message costs one 24-byte node. malloc gave each its own chunk
 * from fresh pages: with a million messages queued (Savina Counting) about
 * half the time went to malloc's heap growth and to 4 KiB page faults. The
 * pool carves nodes from 2 MiB chunks (transparent huge pages where the
 * kernel allows: one fault per chunk) and recycles them through a free
 * list per scheduler, with no atomic operation.
 *
 * Nodes move between schedulers (allocated by the sender's, freed by the
 * receiver's), so free lists are balanced in batches: a scheduler holding
 * more than two batches gives one to a process-wide depot (one mutex per
 * BATCH frees), and one that runs dry takes one back before carving. The
 * chunks live as long as the OS process and serve every runtime in it, so
 * what stays reserved is the high-water mark of nodes alive at once,
 * bounded by POOL_MAX_CHUNKS; beyond that nodes come from malloc again.
 * Threads that are not schedulers allocate with malloc and give pool nodes
 * back to the depot one by one (rare: thread processes). */

#define POOL_CHUNK ((size_t)2 << 20)
#define POOL_MAX_CHUNKS 32u /* 64 MiB: 2.8M nodes alive at once */
#define BATCH 4096u

static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
/* Under pool_lock. The chunks stay reachable from here (not leaks). */
static void *pool_chunks[POOL_MAX_CHUNKS];
static unsigned pool_nchunks;
/* Carving left unfinished by stopped schedulers. */
static struct { char *cur, *end; } pool_rest[POOL_MAX_CHUNKS];
static unsigned pool_nrest;
/* Free batches: each a chain through `next`, its count in the first
 * node's aux, the next batch in the first node's msg field. */
static otpc__sig_t *pool_depot;

static void depot_put(otpc__sig_t *batch, unsigned n) {
  if (batch == NULL)
    return;
  /* The node is free: its msg field is ours to chain batches through. */
  ASAN_UNPOISON_MEMORY_REGION(batch, sizeof *batch);
  batch->aux = n;
  pthread_mutex_lock(&pool_lock);
  batch->msg = (otpc_msg_t *)(void *)pool_depot;
  pool_depot = batch;
  pthread_mutex_unlock(&pool_lock);
  ASAN_POISON_MEMORY_REGION(batch, sizeof *batch);
}

/* Refills sc's free list from the depot or a new region; false if the pool
 * is exhausted. */
static bool pool_refill(otpc__sched_t *sc) {
  pthread_mutex_lock(&pool_lock);
  otpc__sig_t *b = pool_depot;
  if (b != NULL) {
    ASAN_UNPOISON_MEMORY_REGION(b, sizeof *b);
    pool_depot = (otpc__sig_t *)(void *)b->msg;
    pthread_mutex_unlock(&pool_lock);
    sc->nfree = b->aux;
    ASAN_POISON_MEMORY_REGION(b, sizeof *b);
    sc->free_sigs = b;
    return true;
  }
  if (pool_nrest > 0) {
    pool_nrest--;
    sc->carve = pool_rest[pool_nrest].cur;
    sc->carve_end = pool_rest[pool_nrest].end;
    pthread_mutex_unlock(&pool_lock);
    return true;
  }
  if (pool_nchunks == POOL_MAX_CHUNKS) {
    pthread_mutex_unlock(&pool_lock);
    return false;
  }
  char *c = aligned_alloc(POOL_CHUNK, POOL_CHUNK);
  if (c == NULL) {
    pthread_mutex_unlock(&pool_lock);
    return false;
  }
  pool_chunks[pool_nchunks++] = c;
  pthread_mutex_unlock(&pool_lock);
#ifdef MADV_HUGEPAGE
  /* A hint: without huge pages the chunk faults in 4 KiB pages. */
  (void)madvise(c, POOL_CHUNK, MADV_HUGEPAGE);
#endif
  ASAN_POISON_MEMORY_REGION(c, POOL_CHUNK);
  sc->carve = c;
  sc->carve_end = c + POOL_CHUNK;
  return true;
}

static otpc__sig_t *pool_get(otpc__sched_t *sc) {
  for (;;) {
    otpc__sig_t *s = sc->free_sigs;
    if (s != NULL) {
      ASAN_UNPOISON_MEMORY_REGION(s, sizeof *s);
      sc->free_sigs = s->next;
      sc->nfree--;
      return s;
    }
    if (sc->spare_sigs != NULL) {
      sc->free_sigs = sc->spare_sigs;
      sc->nfree = BATCH;
      sc->spare_sigs = NULL;
      continue;
    }
    if ((size_t)(sc->carve_end - sc->carve) >= sizeof *s) {
      s = (otpc__sig_t *)(void *)sc->carve;
      sc->carve += sizeof *s;
      ASAN_UNPOISON_MEMORY_REGION(s, sizeof *s);
      return s;
    }
    if (!pool_refill(sc))
      return NULL;
  }
}

static void pool_put(otpc__sched_t *sc, otpc__sig_t *s) {
  if (sc == NULL) {
    depot_put(s, 1);
    return;
  }
  if (sc->nfree == BATCH) {
    /* Keep one full batch in reserve, give older ones back. */
    depot_put(sc->spare_sigs, BATCH);
    sc->spare_sigs = sc->free_sigs;
    sc->free_sigs = NULL;
    sc->nfree = 0;
  }
  s->next = sc->free_sigs;
  ASAN_POISON_MEMORY_REGION(s, sizeof *s);
  sc->free_sigs = s;
  sc->nfree++;
}

void otpc__sig_cache_free(otpc__sched_t *sc) {
  depot_put(sc->free_sigs, sc->nfree);
  depot_put(sc->spare_sigs, BATCH);
  sc->free_sigs = sc->spare_sigs = NULL;
  sc->nfree = 0;
  if ((size_t)(sc->carve_end - sc->carve) >= sizeof(otpc__sig_t)) {
    pthread_mutex_lock(&pool_lock);
    /* At most one unfinished region per chunk: there is room. */
    pool_rest[pool_nrest].cur = sc->carve;
    pool_rest[pool_nrest].end = sc->carve_end;
    pool_nrest++;
    pthread_mutex_unlock(&pool_lock);
  }
  sc->carve = sc->carve_end = NULL;
}

otpc__sig_t *otpc__sig_msg(otpc_msg_t *msg_taken) {
  otpc__sched_t *sc = otpc__tls_sched;
  otpc__sig_t *s = sc != NULL ? pool_get(sc) : NULL;
  if (s != NULL) {
    s->pooled = 1;
  } else {
    s = malloc(sizeof *s);
    if (s == NULL)
      return NULL;
    s->pooled = 0;
  }
  s->next = NULL;
  s->type = OTPC__SIG_MSG;
  s->aux = 0;
  s->msg = msg_taken;
  return s;
}

otpc__csig_t *otpc__csig(uint32_t type, otpc_pid_t from, otpc_msg_t *taken) {
  otpc__csig_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    otpc_msg_unref(taken);
    return NULL;
  }
  s->h.type = (uint16_t)type;
  s->h.msg = taken;
  s->from = from;
  return s;
}

void otpc__sig_free(otpc__sig_t *s) {
  otpc_msg_unref(s->msg);
  if (s->pooled)
    pool_put(otpc__tls_sched, s);
  else
    free(s);
}

bool otpc__inbox_push(otpc_proc_t *p, otpc__sig_t *s) {
  if (s->type == OTPC__SIG_MSG) {
    /* Relaxed: an introspection counter, ordered with nothing. Before the
     * push, so the owner never moves more than was counted. */
    atomic_fetch_add_explicit(&p->i_pushed, 1, memory_order_relaxed);
  }
  /* Relaxed first read: the CAS below validates it. */
  otpc__sig_t *old = atomic_load_explicit(&p->inbox, memory_order_relaxed);
  do {
    s->next = old == OTPC__INBOX_IDLE ? NULL : old;
    /* Acq_rel on success. Release: the signal's contents (and the message
     * bytes the sender wrote) are visible to the owner's acquiring take.
     * Acquire: when we replace IDLE we take over p's scheduling, and must
     * see the owner's last writes of it (rq_next), released by its idle
     * CAS. Relaxed on failure: we only retry. */
  } while (!atomic_compare_exchange_weak_explicit(
      &p->inbox, &old, s, memory_order_acq_rel, memory_order_relaxed));
  return old == OTPC__INBOX_IDLE;
}

otpc__sig_t *otpc__inbox_take(otpc_proc_t *p) {
  /* Relaxed peek: an empty inbox is the common case after a batch, and
   * skipping the locked exchange then halves the cost of going idle. A
   * push racing with the peek is seen by the idle CAS, which fails. */
  if (atomic_load_explicit(&p->inbox, memory_order_relaxed) == NULL)
    return NULL;
  /* Acquire pairs with the pushers' release CAS: the whole chain's
   * contents are visible. Leaves NULL ("empty, scheduled"), so pushes
   * meanwhile do not schedule the process again. */
  otpc__sig_t *s =
      atomic_exchange_explicit(&p->inbox, NULL, memory_order_acquire);
  if (s == OTPC__INBOX_IDLE)
    return NULL; /* a thread process that was idle */
  otpc__sig_t *rev = NULL;
  while (s != NULL) {
    otpc__sig_t *n = s->next;
    s->next = rev;
    rev = s;
    s = n;
  }
  return rev;
}

void otpc__wake(otpc_proc_t *p) {
  if (p->thr != NULL)
    otpc__thr_wake(p);
  else
    otpc__sched_push(p);
}

int otpc__deliver_local(otpc_rt_t *rt, uint64_t data, otpc__sig_t *s) {
  otpc__sched_t *me = otpc__tls_sched;
  if (me != NULL && me->rt == rt && data < rt->data_limit) {
    /* A process homed on this scheduler thread can only be removed by this
     * thread, which is busy here: no lock is needed to keep it alive. Its
     * slot says where it lives; any other value takes the locked path.
     * Acquire pairs with otpc__ptab_install's release store. */
    otpc__slot_t *sl = &rt->slots[data & (rt->cap - 1)];
    if (atomic_load_explicit(&sl->data, memory_order_acquire) ==
        otpc__slot_live(data, me->idx + 1)) {
      /* Relaxed: ordered by the acquire above. */
      otpc_proc_t *p = atomic_load_explicit(&sl->proc, memory_order_relaxed);
      if (otpc__inbox_push(p, s))
        otpc__sched_push(p); /* p->sched == me: our own run queue */
      return 0;
    }
  }
  atomic_int *l = otpc__stripe(rt, data);
  otpc__spin_lock(l);
  otpc_proc_t *p = otpc__ptab_get_locked(rt, data);
  if (p == NULL) {
    otpc__spin_unlock(l);
    return OTPC_ENOTFOUND;
  }
  bool wake = otpc__inbox_push(p, s);
  if (wake && p->thr != NULL) {
    /* A thread process runs on its own: it could take the signal, exit
     * and be freed before a wake-up outside the lock. */
    otpc__thr_wake(p);
    wake = false;
  }
  otpc__spin_unlock(l);
  /* Outside the lock: having turned the inbox from idle, we alone may make
   * p runnable, and p cannot run (so cannot exit) until we do. */
  if (wake)
    otpc__sched_push(p);
  return 0;
}

static int deliver_remote(otpc_rt_t *rt, otpc_pid_t to, otpc__sig_t *s) {
  /* Acquire pairs with otpc__rt_set_remote's release: the ops table and
   * its user data are initialised. */
  const otpc__remote_ops_t *ops =
      atomic_load_explicit(&rt->remote_ops, memory_order_acquire);
  int rc = OTPC_ENOTSUP;
  if (ops != NULL) {
    otpc__csig_t *c = (otpc__csig_t *)s;
    otpc_term_t reason = {0};
    if (s->msg != NULL)
      reason = otpc_msg_term(s->msg);
    switch (s->type) {
    case OTPC__SIG_MSG:
      /* The message signal has no sender; the hook gets our node's
       * runtime pid, which suffices for plain sends. */
      rc = ops->send != NULL
               ? ops->send(rt->remote_ud, otpc__pid_make(rt, 0), to, s->msg)
               : OTPC_ENOTSUP;
      break;
    case OTPC__SIG_LINK:
      rc = ops->link ? ops->link(rt->remote_ud, c->from, to) : OTPC_ENOTSUP;
      break;
    case OTPC__SIG_UNLINK:
      rc = ops->unlink ? ops->unlink(rt->remote_ud, c->from, to) : OTPC_ENOTSUP;
      break;
    case OTPC__SIG_EXIT:
    case OTPC__SIG_EXIT_LINK:
      rc = ops->exit ? ops->exit(rt->remote_ud, c->from, to, reason,
                                 s->type == OTPC__SIG_EXIT_LINK)
                     : OTPC_ENOTSUP;
      break;
    case OTPC__SIG_MONITOR:
      rc = ops->monitor ? ops->monitor(rt->remote_ud, c->from, to, &c->ref)
                        : OTPC_ENOTSUP;
      break;
    case OTPC__SIG_DEMONITOR:
      rc = ops->demonitor ? ops->demonitor(rt->remote_ud, c->from, to, &c->ref)
                          : OTPC_ENOTSUP;
      break;
    case OTPC__SIG_DOWN:
      rc = ops->down ? ops->down(rt->remote_ud, c->from, to, &c->ref, reason)
                     : OTPC_ENOTSUP;
      break;
    default: break;
    }
  }
  otpc__sig_free(s);
  return rc < 0 ? OTPC_ENOTSUP : 0;
}

int otpc__deliver(otpc_rt_t *rt, otpc_pid_t to, otpc__sig_t *s) {
  uint64_t data;
  if (!otpc__pid_local(rt, to, &data))
    return deliver_remote(rt, to, s);
  int rc = otpc__deliver_local(rt, data, s);
  if (rc < 0)
    otpc__sig_free(s);
  return rc;
}

void otpc__self_signal(otpc_proc_t *p, otpc__sig_t *s) {
  /* The owner is running, so the inbox is not idle: no wake-up needed,
   * and the process cannot be removed under us. */
  (void)otpc__inbox_push(p, s);
}

void otpc__mq_append(otpc_proc_t *p, otpc__sig_t *s) {
  s->next = NULL;
  *p->mq_tail = s;
  p->mq_tail = &s->next;
  p->mq_len++;
  /* Relaxed: introspection snapshots. */
  atomic_store_explicit(&p->i_mq_len, p->mq_len, memory_order_relaxed);
  /* A load and a store, not an RMW: only the owner writes it. */
  atomic_store_explicit(
      &p->i_mq_bytes,
      atomic_load_explicit(&p->i_mq_bytes, memory_order_relaxed) +
          otpc_msg_size(s->msg),
      memory_order_relaxed);
}

void otpc__mq_append_msg(otpc_proc_t *p, otpc_msg_t *m) {
  otpc__sig_t *s = otpc__sig_msg(m);
  if (s == NULL) {
    otpc_msg_unref(m);
    return;
  }
  otpc__mq_append(p, s);
}

void otpc__handle_signal(otpc_proc_t *p, otpc__sig_t *s) {
  switch (s->type) {
  case OTPC__SIG_MSG:
    /* A load and a store, not an RMW: only the owner writes it. */
    atomic_store_explicit(
        &p->i_moved,
        atomic_load_explicit(&p->i_moved, memory_order_relaxed) + 1,
        memory_order_relaxed);
    otpc__mq_append(p, s);
    return;
  case OTPC__SIG_LINK:
  case OTPC__SIG_UNLINK:
  case OTPC__SIG_EXIT:
  case OTPC__SIG_EXIT_LINK: otpc__links_on_signal(p, (otpc__csig_t *)s); return;
  case OTPC__SIG_MONITOR:
  case OTPC__SIG_DEMONITOR:
  case OTPC__SIG_DOWN: otpc__mon_on_signal(p, (otpc__csig_t *)s); return;
  case OTPC__SIG_TIMEOUT: {
    otpc__wait_t *w = p->wait;
    if (w != NULL && w->active && w->seq == s->aux) {
      /* Queue the timeout as a NULL message so it is delivered in order
       * after what is already queued and scanned. */
      w->timer_on = false;
      s->type = OTPC__SIG_TIMEOUT;
      s->next = NULL;
      *p->mq_tail = s;
      p->mq_tail = &s->next;
      return;
    }
    otpc__sig_free(s);
    return;
  }
  default: otpc__sig_free(s); return;
  }
}

bool otpc__process_inbox(otpc_proc_t *p) {
  otpc__sig_t *s = otpc__inbox_take(p);
  if (s == NULL)
    return false;
  while (s != NULL) {
    /* A signal that kills unwinds from here: the rest of the batch stays
     * reachable so the exit path answers its links and monitors. */
    p->pending = s->next;
    otpc__handle_signal(p, s);
    s = p->pending;
  }
  return true;
}
