/* Timers on the schedulers' timing wheels: erlang:send_after/cancel_timer
 * and receive timeouts. Each scheduler drives its wheel from one uv_timer
 * armed for the wheel's next deadline.
 *
 * A send_after timer lives in the runtime's map (tref -> timer) until it
 * fires or is cancelled; only the scheduler owning its wheel touches the
 * wheel entry. A cancel from another thread marks the timer (so it neither
 * fires nor can be cancelled again) and the owner frees it when its entry
 * comes due; a cancel on the owner's thread unlinks it at once. */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

enum { TW_SEND = 1, TW_WAIT = 2 };

typedef struct otpc__timer {
  otpc__tw_entry_t e; /* first: the entry is the timer */
  struct otpc__timer *next_req;
  otpc__sched_t *s;
  otpc_ref_t tref;
  otpc_pid_t to;
  otpc_msg_t *msg;
  uint64_t expiry_ms;
  bool cancelled; /* under rt->timer_lock */
} otpc__timer_t;

#define TOMB ((otpc__timer_t *)(uintptr_t)1)

/* ------------------------------------------------------- the tref map */

static uint32_t tref_hash(const otpc_ref_t *r) {
  uint64_t h = 0;
  for (uint32_t i = 0; i < r->len && i < OTPC_REF_MAX_WORDS; i++)
    h = (h ^ r->id[i]) * 0x9e3779b97f4a7c15ull;
  return (uint32_t)(h >> 32);
}

/* Under timer_lock: the slot holding the tref's timer, or NULL. */
static otpc__timer_t **tmap_find(otpc_rt_t *rt, const otpc_ref_t *r) {
  if (rt->tmap_cap == 0)
    return NULL;
  uint32_t mask = rt->tmap_cap - 1;
  for (uint32_t i = tref_hash(r) & mask;; i = (i + 1) & mask) {
    otpc__timer_t *t = rt->tmap[i];
    if (t == NULL)
      return NULL;
    if (t != TOMB && otpc__ref_eq(&t->tref, r))
      return &rt->tmap[i];
  }
}

static bool tmap_put(otpc_rt_t *rt, otpc__timer_t *t) {
  if ((rt->tmap_used + 1) * 2 > rt->tmap_cap) {
    uint32_t ncap = rt->tmap_cap == 0                ? 64
                    : rt->tmap_n * 4 >= rt->tmap_cap ? rt->tmap_cap * 2
                                                     : rt->tmap_cap;
    otpc__timer_t **nt = calloc(ncap, sizeof *nt);
    if (nt == NULL)
      return false;
    for (uint32_t i = 0; i < rt->tmap_cap; i++) {
      otpc__timer_t *o = rt->tmap[i];
      if (o == NULL || o == TOMB)
        continue;
      uint32_t j = tref_hash(&o->tref) & (ncap - 1);
      while (nt[j] != NULL)
        j = (j + 1) & (ncap - 1);
      nt[j] = o;
    }
    free(rt->tmap);
    rt->tmap = nt;
    rt->tmap_cap = ncap;
    rt->tmap_used = rt->tmap_n;
  }
  uint32_t mask = rt->tmap_cap - 1;
  uint32_t i = tref_hash(&t->tref) & mask;
  while (rt->tmap[i] != NULL && rt->tmap[i] != TOMB)
    i = (i + 1) & mask;
  if (rt->tmap[i] == NULL)
    rt->tmap_used++;
  rt->tmap[i] = t;
  rt->tmap_n++;
  return true;
}

static void tmap_del(otpc_rt_t *rt, otpc__timer_t **slot) {
  *slot = TOMB;
  rt->tmap_n--;
}

static void timer_free(otpc__timer_t *t) {
  otpc_msg_unref(t->msg);
  free(t);
}

/* ------------------------------------------------------- the wheel */

static void rearm(otpc__sched_t *s);

static void fire(otpc__tw_entry_t *e, void *ctx) {
  otpc__sched_t *s = ctx;
  otpc_rt_t *rt = s->rt;
  if (e->user == TW_WAIT) {
    otpc__wait_t *w =
        (otpc__wait_t *)(void *)((char *)e - offsetof(otpc__wait_t, timer));
    w->timer_on = false;
    /* The owner is alive (its exit cancels this entry) and runs on this
     * thread, which is between processes now: push directly. */
    otpc_proc_t *p = w->owner;
    otpc__sig_t *sig = otpc__sig_msg(NULL);
    if (sig == NULL)
      return;
    sig->type = OTPC__SIG_TIMEOUT;
    sig->aux = w->seq;
    if (otpc__inbox_push(p, sig))
      otpc__sched_push(p);
    return;
  }
  otpc__timer_t *t = (otpc__timer_t *)(void *)e;
  pthread_mutex_lock(&rt->timer_lock);
  bool live = !t->cancelled;
  otpc__timer_t **slot = tmap_find(rt, &t->tref);
  if (slot != NULL)
    tmap_del(rt, slot);
  pthread_mutex_unlock(&rt->timer_lock);
  if (live) {
    otpc__sig_t *sig = otpc__sig_msg(t->msg);
    t->msg = NULL;
    if (sig != NULL)
      (void)otpc__deliver(rt, t->to, sig);
  }
  timer_free(t);
}

static void on_uvtimer(uv_timer_t *h) {
  otpc__sched_t *s = h->data;
  s->armed_ms = UINT64_MAX;
  otpc__tw_advance(s->wheel, otpc__now_ms(), fire, s);
  rearm(s);
}

static void rearm(otpc__sched_t *s) {
  uint64_t now = otpc__now_ms();
  int64_t next = otpc__tw_next_ms(s->wheel, now);
  if (next < 0) {
    uv_timer_stop(&s->uvtimer);
    s->armed_ms = UINT64_MAX;
    return;
  }
  /* uv_timer_start replaces the previous deadline; the loop's cached time
   * may be old after a long run of processes, so refresh it first. */
  uv_update_time(&s->loop);
  uv_timer_start(&s->uvtimer, on_uvtimer, (uint64_t)next, 0);
  s->armed_ms = now + (uint64_t)next;
}

static void add_on_owner(otpc__sched_t *s, otpc__tw_entry_t *e,
                         uint64_t expiry) {
  otpc__tw_add(s->wheel, e, expiry);
  /* A cancelled entry leaves the uv timer armed: the spare wake-up only
   * advances the wheel. */
  if (expiry < s->armed_ms)
    rearm(s);
}

int otpc__timers_init(otpc__sched_t *s) {
  s->wheel = malloc(sizeof *s->wheel);
  if (s->wheel == NULL)
    return OTPC_ENOMEM;
  otpc__tw_init(s->wheel, otpc__now_ms());
  pthread_mutex_init(&s->treq_lock, NULL);
  s->treq = NULL;
  uv_timer_init(&s->loop, &s->uvtimer);
  s->uvtimer.data = s;
  s->armed_ms = UINT64_MAX;
  return 0;
}

void otpc__timers_close(otpc__sched_t *s) {
  uv_timer_stop(&s->uvtimer);
  uv_close((uv_handle_t *)&s->uvtimer, NULL);
  /* The timers still pending are freed from the map by timers_free. */
  free(s->wheel);
  s->wheel = NULL;
  pthread_mutex_destroy(&s->treq_lock);
}

void otpc__timers_poll(otpc__sched_t *s) {
  pthread_mutex_lock(&s->treq_lock);
  otpc__timer_t *t = s->treq;
  s->treq = NULL;
  pthread_mutex_unlock(&s->treq_lock);
  while (t != NULL) {
    otpc__timer_t *n = t->next_req;
    add_on_owner(s, &t->e, t->expiry_ms);
    t = n;
  }
}

void otpc__timers_free(otpc_rt_t *rt) {
  for (uint32_t i = 0; i < rt->tmap_cap; i++) {
    otpc__timer_t *t = rt->tmap[i];
    if (t != NULL && t != TOMB)
      timer_free(t);
  }
  free(rt->tmap);
  rt->tmap = NULL;
  rt->tmap_cap = rt->tmap_n = rt->tmap_used = 0;
}

/* ------------------------------------------------- receive timeouts */

void otpc__wait_timer_start(otpc_proc_t *p, uint64_t ms) {
  otpc__wait_t *w = p->wait;
  w->owner = p;
  w->timer.user = TW_WAIT;
  w->timer_on = true;
  add_on_owner(p->sched, &w->timer, otpc__now_ms() + ms);
}

void otpc__wait_timer_stop(otpc_proc_t *p) {
  otpc__wait_t *w = p->wait;
  otpc__tw_cancel(p->sched->wheel, &w->timer);
  w->timer_on = false;
}

/* ------------------------------------------------------------ the API */

/* True if `to` is a pid of this node whose process is gone. A timer to a
 * pid is cancelled when its process exits (erlang:send_after/3), which is
 * observable only through cancel_timer and the message never coming: both
 * check here instead of every exit walking the timers. */
static bool target_gone(otpc_rt_t *rt, otpc_pid_t to) {
  uint64_t data;
  if (!otpc__pid_local(rt, to, &data))
    return false;
  atomic_int *l = otpc__stripe(rt, data);
  otpc__spin_lock(l);
  bool gone = otpc__ptab_get_locked(rt, data) == NULL;
  otpc__spin_unlock(l);
  return gone;
}

int otpc_send_after(otpc_rt_t *rt, uint64_t ms, otpc_pid_t to, otpc_msg_t *msg,
                    otpc_ref_t *tref) {
  if (rt == NULL || msg == NULL)
    return OTPC_EINVAL;
  otpc__timer_t *t = calloc(1, sizeof *t);
  if (t == NULL)
    return OTPC_ENOMEM;
  otpc__tw_entry_init(&t->e);
  t->e.user = TW_SEND;
  otpc_make_ref(rt, &t->tref);
  t->to = to;
  t->msg = otpc_msg_ref(msg);
  t->expiry_ms = otpc__now_ms() + ms;
  otpc__sched_t *cur = otpc__tls_sched;
  if (cur != NULL && cur->rt == rt) {
    t->s = cur;
  } else {
    /* Relaxed: any spread will do. */
    unsigned i =
        atomic_fetch_add_explicit(&rt->next_sched, 1, memory_order_relaxed);
    t->s = &rt->scheds[i % rt->nsched];
  }
  pthread_mutex_lock(&rt->timer_lock);
  bool ok = tmap_put(rt, t);
  pthread_mutex_unlock(&rt->timer_lock);
  if (!ok) {
    timer_free(t);
    return OTPC_ENOMEM;
  }
  if (tref != NULL)
    *tref = t->tref;
  if (t->s == cur) {
    add_on_owner(cur, &t->e, t->expiry_ms);
  } else {
    otpc__sched_t *s = t->s;
    pthread_mutex_lock(&s->treq_lock);
    t->next_req = s->treq;
    s->treq = t;
    pthread_mutex_unlock(&s->treq_lock);
    uv_async_send(&s->async);
  }
  return 0;
}

int otpc_cancel_timer(otpc_rt_t *rt, const otpc_ref_t *tref,
                      uint64_t *left_ms) {
  if (rt == NULL || tref == NULL)
    return OTPC_EINVAL;
  pthread_mutex_lock(&rt->timer_lock);
  otpc__timer_t **slot = tmap_find(rt, tref);
  if (slot == NULL || (*slot)->cancelled) {
    pthread_mutex_unlock(&rt->timer_lock);
    return OTPC_ENOTFOUND;
  }
  otpc__timer_t *t = *slot;
  /* A timer whose target has exited was cancelled by that exit: cancel it
   * for real now, but answer as for a timer that no longer exists. */
  int rc = target_gone(rt, t->to) ? OTPC_ENOTFOUND : 0;
  uint64_t now = otpc__now_ms();
  uint64_t left = t->expiry_ms > now ? t->expiry_ms - now : 0;
  bool own = otpc__tls_sched == t->s && otpc__tw_pending(&t->e);
  if (own)
    tmap_del(rt, slot);
  else
    t->cancelled = true; /* stays mapped; its owner frees it when due */
  pthread_mutex_unlock(&rt->timer_lock);
  if (own) {
    otpc__tw_cancel(t->s->wheel, &t->e);
    timer_free(t);
  }
  if (rc == 0 && left_ms != NULL)
    *left_ms = left;
  return rc;
}
