/* Signals: allocation, the inbox (an MPSC Treiber stack taken whole by the
 * owner), delivery through the process table, and the owner's handling of
 * each signal. */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

/* Message nodes kept per scheduler; beyond this they go back to malloc, so
 * a scheduler that only receives does not hoard memory. */
#define SIG_CACHE_MAX 4096u

otpc__sig_t *otpc__sig_msg(otpc_msg_t *msg_taken) {
  otpc__sched_t *sc = otpc__tls_sched;
  otpc__sig_t *s;
  if (sc != NULL && sc->free_sigs != NULL) {
    s = sc->free_sigs;
    sc->free_sigs = s->next;
    sc->nfree--;
  } else {
    s = malloc(sizeof *s);
    if (s == NULL)
      return NULL;
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
  s->h.type = type;
  s->h.msg = taken;
  s->from = from;
  return s;
}

void otpc__sig_free(otpc__sig_t *s) {
  otpc_msg_unref(s->msg);
  otpc__sched_t *sc = otpc__tls_sched;
  if (s->type == OTPC__SIG_MSG && sc != NULL && sc->nfree < SIG_CACHE_MAX) {
    s->next = sc->free_sigs;
    sc->free_sigs = s;
    sc->nfree++;
    return;
  }
  free(s);
}

void otpc__sig_cache_free(otpc__sched_t *sc) {
  while (sc->free_sigs != NULL) {
    otpc__sig_t *s = sc->free_sigs;
    sc->free_sigs = s->next;
    free(s);
  }
  sc->nfree = 0;
}

bool otpc__inbox_push(otpc_proc_t *p, otpc__sig_t *s) {
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
  case OTPC__SIG_MSG: otpc__mq_append(p, s); return;
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
