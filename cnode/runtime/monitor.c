/* Monitors. The holder keeps {Ref -> target} and the target {Ref ->
 * holder}, both in one table per process keyed by reference. A DOWN whose
 * reference the holder no longer has (demonitor) is dropped on arrival, so
 * nothing from a monitor reaches the caller after demonitor returns. */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

bool otpc__ref_eq(const otpc_ref_t *a, const otpc_ref_t *b) {
  if (a->node != b->node || a->creation != b->creation || a->len != b->len)
    return false;
  for (uint32_t i = 0; i < a->len && i < OTPC_REF_MAX_WORDS; i++)
    if (a->id[i] != b->id[i])
      return false;
  return true;
}

static uint32_t ref_hash(const otpc_ref_t *r) {
  uint64_t h = (uint64_t)r->node * 0x9e3779b97f4a7c15ull;
  for (uint32_t i = 0; i < r->len && i < OTPC_REF_MAX_WORDS; i++)
    h = (h ^ r->id[i]) * 0xc2b2ae3d27d4eb4full;
  return (uint32_t)(h >> 32);
}

static bool mon_empty(const otpc__mon_t *m) {
  return m->ref.node == 0 && m->ref.len == 0 && m->kind == 0;
}
static bool mon_live(const otpc__mon_t *m) {
  return m->ref.node != 0;
}

otpc__mon_t *otpc__mon_find(otpc__montab_t *t, const otpc_ref_t *ref) {
  if (t->cap == 0)
    return NULL;
  uint32_t mask = t->cap - 1;
  for (uint32_t i = ref_hash(ref) & mask;; i = (i + 1) & mask) {
    otpc__mon_t *m = &t->tab[i];
    if (mon_empty(m))
      return NULL;
    if (mon_live(m) && otpc__ref_eq(&m->ref, ref))
      return m;
  }
}

static bool montab_grow(otpc__montab_t *t) {
  uint32_t ncap = t->cap == 0 ? 2 : (t->n * 4 >= t->cap ? t->cap * 2 : t->cap);
  otpc__mon_t *nt = calloc(ncap, sizeof *nt);
  if (nt == NULL)
    return false;
  for (uint32_t i = 0; i < t->cap; i++) {
    if (!mon_live(&t->tab[i]))
      continue;
    uint32_t j = ref_hash(&t->tab[i].ref) & (ncap - 1);
    while (!mon_empty(&nt[j]))
      j = (j + 1) & (ncap - 1);
    nt[j] = t->tab[i];
  }
  free(t->tab);
  t->tab = nt;
  t->cap = ncap;
  t->used = t->n;
  return true;
}

bool otpc__mon_add(otpc__montab_t *t, const otpc__mon_t *m) {
  /* Keep a free slot at 2 entries of capacity 2: grow past 3/4 load. */
  if ((t->used + 1) * 4 > t->cap * 3 && !montab_grow(t))
    return false;
  uint32_t mask = t->cap - 1;
  uint32_t i = ref_hash(&m->ref) & mask;
  while (mon_live(&t->tab[i]))
    i = (i + 1) & mask;
  if (mon_empty(&t->tab[i]))
    t->used++;
  t->tab[i] = *m;
  t->tab[i].seq = t->next_seq++;
  t->n++;
  return true;
}

void otpc__mon_del(otpc__montab_t *t, otpc__mon_t *m) {
  memset(m, 0, sizeof *m);
  m->kind = 3; /* tombstone */
  t->n--;
  if (t->n == 0)
    otpc__montab_free(t);
}

void otpc__montab_free(otpc__montab_t *t) {
  free(t->tab);
  memset(t, 0, sizeof *t);
}

static void count(otpc_proc_t *p, uint32_t kind, int d) {
  /* Relaxed: introspection counters written by the owner only. */
  _Atomic uint32_t *c =
      kind == OTPC__MON_HOLDER ? &p->i_monitors : &p->i_monitored_by;
  atomic_store_explicit(
      c, atomic_load_explicit(c, memory_order_relaxed) + (uint32_t)d,
      memory_order_relaxed);
}

/* ------------------------------------------------------------- the API */

static void self_down(otpc_proc_t *p, const otpc_ref_t *ref, otpc_pid_t from,
                      otpc_msg_t *reason) {
  otpc__csig_t *c = otpc__csig(OTPC__SIG_DOWN, from, otpc_msg_ref(reason));
  if (c == NULL)
    return;
  c->ref = *ref;
  otpc__self_signal(p, &c->h);
}

static int monitor(otpc_proc_t *self, otpc_pid_t pid, otpc_atom_t name,
                   bool found, otpc_ref_t *ref_out) {
  otpc_rt_t *rt = self->rt;
  otpc__mon_t m;
  memset(&m, 0, sizeof m);
  otpc_make_ref(rt, &m.ref);
  if (ref_out != NULL)
    *ref_out = m.ref;
  otpc_pid_t me = otpc__pid_of(self);
  /* OTP 25 creates no monitor of oneself: the ref is all there is. */
  if (found && otpc__pid_eq(pid, me))
    return 0;
  m.pid = pid;
  m.name = name;
  m.kind = OTPC__MON_HOLDER;
  if (!otpc__mon_add(&self->mons, &m))
    return OTPC_ENOMEM;
  count(self, OTPC__MON_HOLDER, 1);
  if (!found) {
    self_down(self, &m.ref, pid, rt->r_noproc);
    return 0;
  }
  otpc__csig_t *c = otpc__csig(OTPC__SIG_MONITOR, me, NULL);
  if (c == NULL) {
    otpc__mon_del(&self->mons, otpc__mon_find(&self->mons, &m.ref));
    count(self, OTPC__MON_HOLDER, -1);
    return OTPC_ENOMEM;
  }
  c->ref = m.ref;
  int rc = otpc__deliver(rt, pid, &c->h);
  if (rc == OTPC_ENOTFOUND)
    self_down(self, &m.ref, pid, rt->r_noproc);
  else if (rc == OTPC_ENOTSUP)
    self_down(self, &m.ref, pid, rt->r_noconnection);
  return 0;
}

int otpc_monitor(otpc_proc_t *self, otpc_pid_t pid, otpc_ref_t *ref) {
  if (self == NULL)
    return OTPC_EINVAL;
  return monitor(self, pid, OTPC_ATOM_NONE, true, ref);
}

int otpc_monitor_name(otpc_proc_t *self, otpc_atom_t name, otpc_ref_t *ref) {
  if (self == NULL || name == OTPC_ATOM_NONE)
    return OTPC_EINVAL;
  otpc_pid_t pid;
  bool found = otpc_whereis(self->rt, name, &pid) == 0;
  if (!found)
    memset(&pid, 0, sizeof pid);
  return monitor(self, pid, name, found, ref);
}

/* Whether a queued message is {'DOWN', Ref, ...} for this ref. */
static bool is_down_for(otpc_term_t t, const otpc_ref_t *ref) {
  otpc_iter_t it;
  size_t n;
  otpc_term_t e;
  otpc_ref_t r;
  if (otpc_term_type(t) != OTPC_T_TUPLE || otpc_term_tuple(t, &it, &n) < 0 ||
      n != 5)
    return false;
  if (otpc_iter_next(&it, &e) != 1 || otpc_term_is_atom(e, "DOWN") != 1)
    return false;
  return otpc_iter_next(&it, &e) == 1 && otpc_term_ref(e, &r) == 0 &&
         otpc__ref_eq(&r, ref);
}

static bool match_down(otpc_term_t t, const void *arg) {
  return is_down_for(t, arg);
}

int otpc_demonitor(otpc_proc_t *self, const otpc_ref_t *ref, int flags) {
  if (self == NULL || ref == NULL)
    return OTPC_EINVAL;
  int found = 0;
  otpc__mon_t *m = otpc__mon_find(&self->mons, ref);
  if (m != NULL && m->kind == OTPC__MON_HOLDER) {
    otpc_pid_t target = m->pid;
    otpc__mon_del(&self->mons, m);
    count(self, OTPC__MON_HOLDER, -1);
    found = 1;
    if (target.node != 0) {
      otpc__csig_t *c =
          otpc__csig(OTPC__SIG_DEMONITOR, otpc__pid_of(self), NULL);
      if (c != NULL) {
        c->ref = *ref;
        (void)otpc__deliver(self->rt, target, &c->h);
      }
    }
  }
  if (flags & OTPC_DEMONITOR_FLUSH) {
    otpc__sig_t *s;
    while ((s = otpc__mq_take_match(self, &self->mq_head, match_down, ref)) !=
           NULL)
      otpc__mq_drop(self, s);
  }
  return (flags & OTPC_DEMONITOR_INFO) ? found : 0;
}

/* ------------------------------------------------------ signal handling */

void otpc__mon_on_signal(otpc_proc_t *p, otpc__csig_t *c) {
  otpc_rt_t *rt = p->rt;
  switch (c->h.type) {
  case OTPC__SIG_MONITOR: {
    otpc__mon_t m;
    memset(&m, 0, sizeof m);
    m.ref = c->ref;
    m.pid = c->from;
    m.kind = OTPC__MON_TARGET;
    if (otpc__mon_add(&p->mons, &m))
      count(p, OTPC__MON_TARGET, 1);
    break;
  }
  case OTPC__SIG_DEMONITOR: {
    otpc__mon_t *m = otpc__mon_find(&p->mons, &c->ref);
    if (m != NULL && m->kind == OTPC__MON_TARGET) {
      otpc__mon_del(&p->mons, m);
      count(p, OTPC__MON_TARGET, -1);
    }
    break;
  }
  case OTPC__SIG_DOWN: {
    otpc__mon_t *m = otpc__mon_find(&p->mons, &c->ref);
    if (m == NULL || m->kind != OTPC__MON_HOLDER)
      break; /* demonitored meanwhile */
    otpc_term_t r = otpc_msg_term(c->h.msg);
    otpc_msg_t *down = NULL;
    /* By name: {Name, Node}, Node the target's (a remote name's record
     * holds its node's pseudo pid) or ours (a name nobody had). */
    if (m->name != OTPC_ATOM_NONE)
      (void)otpc_msg_build(&down, NULL, "{'DOWN', ~r, process, {~A, ~A}, ~t}",
                           &c->ref, m->name,
                           m->pid.node != 0 ? m->pid.node : rt->node, &r);
    else
      (void)otpc_msg_build(&down, NULL, "{'DOWN', ~r, process, ~p, ~t}",
                           &c->ref, &c->from, &r);
    otpc__mon_del(&p->mons, m);
    count(p, OTPC__MON_HOLDER, -1);
    if (down != NULL)
      otpc__mq_append_msg(p, down);
    break;
  }
  default: break;
  }
  otpc__sig_free(&c->h);
}

static int by_seq(const void *a, const void *b) {
  const otpc__mon_t *x = *(otpc__mon_t *const *)a;
  const otpc__mon_t *y = *(otpc__mon_t *const *)b;
  /* Wrap-safe: live entries span far less than 2^31 creations. */
  int32_t d = (int32_t)(x->seq - y->seq);
  return (d > 0) - (d < 0);
}

void otpc__mon_exit(otpc_proc_t *p, otpc_msg_t *reason) {
  otpc__montab_t *t = &p->mons;
  otpc_pid_t me = otpc__pid_of(p);
  if (t->n == 0)
    return;
  /* In the order the monitors were made, as on the BEAM: one watcher with
   * two monitors on us sees its DOWNs in that order. */
  otpc__mon_t *one[8];
  otpc__mon_t **ord = t->n <= 8 ? one : malloc(t->n * sizeof *ord);
  uint32_t k = 0;
  if (ord != NULL) {
    for (uint32_t i = 0; i < t->cap; i++)
      if (mon_live(&t->tab[i]))
        ord[k++] = &t->tab[i];
    qsort(ord, k, sizeof *ord, by_seq);
  }
  /* Out of memory for the order: table order, still every monitor. */
  uint32_t end = ord != NULL ? k : t->cap;
  for (uint32_t i = 0; i < end; i++) {
    otpc__mon_t *m = ord != NULL ? ord[i] : &t->tab[i];
    if (!mon_live(m))
      continue;
    otpc__csig_t *c;
    if (m->kind == OTPC__MON_TARGET) {
      c = otpc__csig(OTPC__SIG_DOWN, me, otpc_msg_ref(reason));
    } else {
      if (m->pid.node == 0)
        continue; /* a name that was not registered */
      c = otpc__csig(OTPC__SIG_DEMONITOR, me, NULL);
    }
    if (c == NULL)
      continue;
    c->ref = m->ref;
    (void)otpc__deliver(p->rt, m->pid, &c->h);
  }
  if (ord != one)
    free(ord);
}
