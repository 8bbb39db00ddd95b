/* Links, trap_exit and exit signals.
 *
 * Each side keeps its own set of linked pids; a link is dropped on the
 * receiver's side when an exit or unlink arrives. An exit signal from a
 * link whose pid is no longer in the set is ignored, which makes unlink
 * synchronous for the caller: nothing from that link reaches it after. */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

/* --------------------------------------------------------------- pid set */

bool otpc__pid_eq(otpc_pid_t a, otpc_pid_t b) {
  return a.id == b.id && a.serial == b.serial && a.node == b.node &&
         a.creation == b.creation;
}

static uint32_t pid_hash(otpc_pid_t p) {
  uint64_t h = ((uint64_t)p.serial << 32 | p.id) * 0x9e3779b97f4a7c15ull;
  h ^= (uint64_t)p.node * 0xc2b2ae3d27d4eb4full + p.creation;
  return (uint32_t)(h >> 32);
}

/* Empty: node 0, id 0. Tombstone: node 0, id 1. */
static bool slot_empty(const otpc_pid_t *e) {
  return e->node == 0 && e->id == 0;
}
static bool slot_live(const otpc_pid_t *e) {
  return e->node != 0;
}

static otpc_pid_t *pidset_find(const otpc__pidset_t *s, otpc_pid_t pid) {
  if (s->cap == 0)
    return NULL;
  uint32_t mask = s->cap - 1;
  for (uint32_t i = pid_hash(pid) & mask;; i = (i + 1) & mask) {
    otpc_pid_t *e = &s->tab[i];
    if (slot_empty(e))
      return NULL;
    if (slot_live(e) && otpc__pid_eq(*e, pid))
      return e;
  }
}

static bool pidset_grow(otpc__pidset_t *s) {
  uint32_t ncap = s->cap == 0 ? 4 : (s->n * 4 >= s->cap ? s->cap * 2 : s->cap);
  otpc_pid_t *nt = calloc(ncap, sizeof *nt);
  if (nt == NULL)
    return false;
  for (uint32_t i = 0; i < s->cap; i++) {
    if (!slot_live(&s->tab[i]))
      continue;
    uint32_t j = pid_hash(s->tab[i]) & (ncap - 1);
    while (!slot_empty(&nt[j]))
      j = (j + 1) & (ncap - 1);
    nt[j] = s->tab[i];
  }
  free(s->tab);
  s->tab = nt;
  s->cap = ncap;
  s->used = s->n;
  return true;
}

bool otpc__pidset_has(const otpc__pidset_t *s, otpc_pid_t pid) {
  return pidset_find(s, pid) != NULL;
}

bool otpc__pidset_add(otpc__pidset_t *s, otpc_pid_t pid) {
  if (pidset_find(s, pid) != NULL)
    return true;
  if ((s->used + 1) * 4 > s->cap * 3 && !pidset_grow(s))
    return false;
  uint32_t mask = s->cap - 1;
  uint32_t i = pid_hash(pid) & mask;
  while (slot_live(&s->tab[i]))
    i = (i + 1) & mask;
  if (slot_empty(&s->tab[i]))
    s->used++;
  s->tab[i] = pid;
  s->n++;
  return true;
}

bool otpc__pidset_del(otpc__pidset_t *s, otpc_pid_t pid) {
  otpc_pid_t *e = pidset_find(s, pid);
  if (e == NULL)
    return false;
  memset(e, 0, sizeof *e);
  e->id = 1; /* tombstone */
  s->n--;
  if (s->n == 0) {
    /* The common case of one link: give the memory back. */
    otpc__pidset_free(s);
  }
  return true;
}

void otpc__pidset_free(otpc__pidset_t *s) {
  free(s->tab);
  memset(s, 0, sizeof *s);
}

/* ------------------------------------------------------------- the API */

static void set_links_info(otpc_proc_t *p) {
  /* Relaxed: an introspection snapshot. */
  atomic_store_explicit(&p->i_links, p->links.n, memory_order_relaxed);
}

/* An exit signal from `from` to p itself, queued behind what is pending. */
static void self_exit_link(otpc_proc_t *p, otpc_pid_t from, otpc_msg_t *r) {
  otpc__csig_t *c = otpc__csig(OTPC__SIG_EXIT_LINK, from, otpc_msg_ref(r));
  if (c != NULL)
    otpc__self_signal(p, &c->h);
}

int otpc_link(otpc_proc_t *self, otpc_pid_t pid) {
  if (self == NULL)
    return OTPC_EINVAL;
  otpc_rt_t *rt = self->rt;
  otpc_pid_t me = otpc__pid_of(self);
  if (otpc__pid_eq(pid, me) || otpc__pidset_has(&self->links, pid))
    return 0;
  if (!otpc__pidset_add(&self->links, pid))
    return OTPC_ENOMEM;
  set_links_info(self);
  otpc__csig_t *c = otpc__csig(OTPC__SIG_LINK, me, NULL);
  if (c == NULL) {
    otpc__pidset_del(&self->links, pid);
    set_links_info(self);
    return OTPC_ENOMEM;
  }
  int rc = otpc__deliver(rt, pid, &c->h);
  if (rc == OTPC_ENOTSUP) {
    /* An unreachable node: as on the BEAM, link succeeds and the link
     * then breaks with noconnection. */
    self_exit_link(self, pid, rt->r_noconnection);
    return 0;
  }
  if (rc == OTPC_ENOTFOUND) {
    /* OTP 25: a trapping caller gets {'EXIT', Pid, noproc}; otherwise
     * link/1 raises noproc, which is this error. */
    if (self->flags & OTPC__PF_TRAP) {
      self_exit_link(self, pid, rt->r_noproc);
      return 0;
    }
    otpc__pidset_del(&self->links, pid);
    set_links_info(self);
    return OTPC_ENOTFOUND;
  }
  return rc;
}

int otpc_unlink(otpc_proc_t *self, otpc_pid_t pid) {
  if (self == NULL)
    return OTPC_EINVAL;
  if (!otpc__pidset_del(&self->links, pid))
    return 0;
  set_links_info(self);
  otpc__csig_t *c = otpc__csig(OTPC__SIG_UNLINK, otpc__pid_of(self), NULL);
  if (c == NULL)
    return OTPC_ENOMEM;
  /* A dead or unreachable peer has nothing to unlink. */
  (void)otpc__deliver(self->rt, pid, &c->h);
  return 0;
}

bool otpc_trap_exit(otpc_proc_t *self, bool on) {
  bool was = (self->flags & OTPC__PF_TRAP) != 0;
  if (on)
    self->flags |= OTPC__PF_TRAP;
  else
    self->flags &= ~(uint32_t)OTPC__PF_TRAP;
  /* Relaxed: an introspection snapshot. */
  atomic_store_explicit(&self->i_trap, on, memory_order_relaxed);
  return was;
}

static int send_exit(otpc_rt_t *rt, otpc_pid_t from, otpc_pid_t to,
                     otpc_term_t reason) {
  otpc_msg_t *m = NULL;
  int rc = otpc_msg_from_term(reason, &m);
  if (rc < 0)
    return rc;
  otpc__csig_t *c = otpc__csig(OTPC__SIG_EXIT, from, m);
  if (c == NULL)
    return OTPC_ENOMEM;
  rc = otpc__deliver(rt, to, &c->h);
  /* exit/2 to a dead or unreachable process is silently dropped. */
  return rc == OTPC_ENOTFOUND || rc == OTPC_ENOTSUP ? 0 : rc;
}

int otpc_exit_signal(otpc_proc_t *self, otpc_pid_t to, otpc_term_t reason) {
  if (self == NULL || reason.p == NULL)
    return OTPC_EINVAL;
  otpc_pid_t me = otpc__pid_of(self);
  if (otpc__pid_eq(to, me) && self->thr == NULL) {
    /* exit(self(), R) acts at once on the BEAM: a kill or a reason that
     * is not trapped ends the caller before exit/2 returns. */
    otpc_rt_t *rt = self->rt;
    if (otpc__is_atom(reason, rt->a_kill))
      otpc__proc_die(self, otpc_msg_ref(rt->r_killed));
    if (!(self->flags & OTPC__PF_TRAP)) {
      otpc_msg_t *m = NULL;
      (void)otpc_msg_from_term(reason, &m);
      otpc__proc_die(self, m);
    }
  }
  return send_exit(self->rt, me, to, reason);
}

int otpc_rt_exit_signal(otpc_rt_t *rt, otpc_pid_t to, otpc_term_t reason) {
  if (rt == NULL || reason.p == NULL)
    return OTPC_EINVAL;
  return send_exit(rt, otpc__pid_make(rt, 0), to, reason);
}

/* ------------------------------------------------------ signal handling */

/* Takes the reason's reference: queues {'EXIT', From, Reason} when
 * trapping, ignores `normal` unless normal_kills, else exits. */
static void trap_or_die(otpc_proc_t *p, otpc_pid_t from, otpc_msg_t *reason,
                        bool normal_kills) {
  otpc_rt_t *rt = p->rt;
  otpc_term_t r = otpc_msg_term(reason);
  if (p->flags & OTPC__PF_TRAP) {
    otpc_msg_t *m = NULL;
    if (otpc_msg_build(&m, NULL, "{'EXIT', ~p, ~t}", &from, &r) == 0)
      otpc__mq_append_msg(p, m);
    otpc_msg_unref(reason);
    return;
  }
  if (!normal_kills && otpc__is_atom(r, rt->a_normal)) {
    otpc_msg_unref(reason);
    return;
  }
  otpc__proc_die(p, reason);
}

void otpc__links_on_signal(otpc_proc_t *p, otpc__csig_t *c) {
  otpc_rt_t *rt = p->rt;
  otpc_pid_t from = c->from;
  uint32_t type = c->h.type, aux = c->h.aux;
  /* Keep the reason, free the signal: an exit unwinds from here. */
  otpc_msg_t *reason = c->h.msg;
  c->h.msg = NULL;
  otpc__sig_free(&c->h);
  switch (type) {
  case OTPC__SIG_LINK:
    otpc__pidset_add(&p->links, from);
    set_links_info(p);
    break;
  case OTPC__SIG_UNLINK:
    otpc__pidset_del(&p->links, from);
    set_links_info(p);
    break;
  case OTPC__SIG_EXIT_LINK:
    if (otpc__pidset_del(&p->links, from)) {
      set_links_info(p);
      /* Through a link, `kill` is an ordinary reason. */
      trap_or_die(p, from, reason, false);
      return;
    }
    break;
  case OTPC__SIG_EXIT:
    if (aux & OTPC__EXIT_FORCE)
      otpc__proc_die(p, reason);
    if (otpc__is_atom(otpc_msg_term(reason), rt->a_kill)) {
      otpc_msg_unref(reason);
      otpc__proc_die(p, otpc_msg_ref(rt->r_killed));
    }
    /* exit(self(), normal) kills; anybody else's normal is ignored. */
    trap_or_die(p, from, reason, otpc__pid_eq(from, otpc__pid_of(p)));
    return;
  default: break;
  }
  otpc_msg_unref(reason);
}

void otpc__links_exit(otpc_proc_t *p, otpc_msg_t *reason) {
  otpc__pidset_t *s = &p->links;
  otpc_pid_t me = otpc__pid_of(p);
  for (uint32_t i = 0; i < s->cap; i++) {
    if (!slot_live(&s->tab[i]))
      continue;
    otpc__csig_t *c = otpc__csig(OTPC__SIG_EXIT_LINK, me, otpc_msg_ref(reason));
    if (c != NULL)
      (void)otpc__deliver(p->rt, s->tab[i], &c->h);
  }
}
