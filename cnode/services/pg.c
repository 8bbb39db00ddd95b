/* pg scopes: see include/otpc/pg.h and docs/services.md ("pg").
 *
 * One lock (pg_lock) guards the registry of scopes and every scope's
 * tables. The tables are written by two kinds of callers: the API
 * (local join and leave, from any thread) and the scope process (peers'
 * messages, member deaths). A local join or leave updates the table and
 * enqueues a note to the scope process while holding the lock, so the
 * scope sees the notes in the order the table changed and broadcasts the
 * joins and leaves to the peers in that same order; the broadcast itself
 * and the monitoring of members happen in the scope process.
 *
 * The tables are flat arrays of (group, pid) memberships: one for this
 * node's members and one per peer scope. Groups are compared with =:=, as
 * the keys of pg's ETS set. Scans are linear; pg's own sync is a full scan
 * too, and scopes here are expected to hold thousands, not millions. */
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "otpc/msg.h"
#include "otpc/pg.h"

typedef struct pg_ent {
  uint8_t *group; /* the group's canonical encoding, owned */
  size_t glen;
  bool deep; /* see needs_deep */
  otpc_pid_t pid;
} pg_ent_t;

/* A group to look up: canonical bytes and their needs_deep. */
typedef struct pg_key {
  otpc_term_t t;
  bool deep;
} pg_key_t;

typedef struct pg_set {
  pg_ent_t *e;
  size_t n, cap;
} pg_set_t;

typedef struct pg_peer {
  otpc_pid_t pid; /* the peer's scope process */
  otpc_ref_t mref;
  pg_set_t set;
} pg_peer_t;

typedef struct pg_mon {
  otpc_pid_t pid; /* a local member */
  otpc_ref_t mref;
} pg_mon_t;

typedef struct pg_scope {
  struct pg_scope *next;
  otpc_rt_t *rt;
  otpc_node_t *node; /* NULL: a local scope */
  otpc_atom_t name;
  otpc_pid_t pid;
  /* Tags the API's notes to the scope: a peer cannot forge one without
   * this reference, so it cannot make the scope announce a join. */
  otpc_ref_t note_ref;
  pg_set_t local;
  pg_peer_t *peers;
  size_t npeers, peers_cap;
  /* Owned by the scope process alone (no lock needed): the local
   * memberships it has announced to the peers, what a sync carries. The
   * table `local` runs ahead of it by the notes still queued; a sync built
   * from `local` would announce a join that its note then announces again. */
  pg_set_t pub;
  pg_mon_t *mons;
  size_t nmons, mons_cap;
} pg_scope_t;

static pthread_mutex_t pg_lock = PTHREAD_MUTEX_INITIALIZER;
static pg_scope_t *pg_scopes; /* guarded by pg_lock */

static bool pid_eq(const otpc_pid_t *a, const otpc_pid_t *b) {
  return a->node == b->node && a->id == b->id && a->serial == b->serial &&
         a->creation == b->creation;
}

static bool ref_eq(const otpc_ref_t *a, const otpc_ref_t *b) {
  if (a->node != b->node || a->creation != b->creation || a->len != b->len)
    return false;
  return memcmp(a->id, b->id, a->len * sizeof a->id[0]) == 0;
}

/* Whether two =:= terms may have different canonical encodings when one
 * of them is t: it holds a map (more than 32 pairs keep an order that
 * depends on where they came from), a float (0.0 =:= -0.0 on OTP 25) or a
 * fun, or nests deeper than we look. Iterative, so a deep term from a peer
 * cannot exhaust the stack. */
static bool needs_deep(otpc_term_t t) {
  enum { DEPTH = 32 };
  otpc_iter_t st[DEPTH];
  bool is_list[DEPTH];
  int sp = 0;
  otpc_term_t cur = t, tail;
  for (;;) {
    otpc_type_t ty = otpc_term_type(cur);
    size_t n;
    if (ty == OTPC_T_MAP || ty == OTPC_T_FLOAT || ty == OTPC_T_FUN)
      return true;
    if (ty == OTPC_T_TUPLE || ty == OTPC_T_LIST) {
      if (sp == DEPTH)
        return true;
      is_list[sp] = ty == OTPC_T_LIST;
      if ((is_list[sp] ? otpc_term_list(cur, &st[sp], &n)
                       : otpc_term_tuple(cur, &st[sp], &n)) != 0)
        return true;
      sp++;
    }
    for (;;) {
      if (sp == 0)
        return false;
      if (otpc_iter_next(&st[sp - 1], &cur) == 1)
        break;
      /* An improper tail is one more element to look at. */
      if (is_list[sp - 1] && otpc_iter_tail(&st[sp - 1], &tail) == 0 &&
          otpc_term_type(tail) != OTPC_T_NIL) {
        sp--;
        cur = tail;
        break;
      }
      sp--;
    }
  }
}

/* Groups are stored, and looked up, in canonical encoding (as
 * term_to_binary writes them), so that two =:= groups nearly always have
 * the same bytes: a comparison ends at the length or at memcmp, and only
 * terms needs_deep flags go to otpc_term_equal. This took get_members from
 * about 650 us to 75-115 us with 10000 memberships in 100 groups (a
 * scratch benchmark; ETS takes about 1 us). */
static bool ent_is(const pg_ent_t *e, const pg_key_t *k) {
  if (e->glen == k->t.len && memcmp(e->group, k->t.p, k->t.len) == 0)
    return true;
  if (!e->deep && !k->deep)
    return false;
  otpc_term_t g = {e->group, e->glen};
  return otpc_term_equal(g, k->t);
}

static pg_key_t key_of(const pg_ent_t *e) {
  return (pg_key_t){{e->group, e->glen}, e->deep};
}

/* The canonical encoding of t in b (the caller frees b), as a key. */
static int canon(otpc_term_t t, otpc_buf_t *b, pg_key_t *out) {
  otpc_buf_init(b);
  int rc = otpc_term_encode(b, t);
  out->t = (otpc_term_t){b->data, b->len};
  out->deep = rc != 0 || needs_deep(out->t);
  return rc;
}

static int grow(void **p, size_t *cap, size_t need, size_t size) {
  if (need <= *cap)
    return 0;
  size_t nc = *cap ? *cap * 2 : 8;
  while (nc < need)
    nc *= 2;
  void *q = realloc(*p, nc * size);
  if (q == NULL)
    return OTPC_ENOMEM;
  *p = q;
  *cap = nc;
  return 0;
}

static int set_add(pg_set_t *s, otpc_term_t group, otpc_pid_t pid) {
  if (grow((void **)&s->e, &s->cap, s->n + 1, sizeof *s->e) != 0)
    return OTPC_ENOMEM;
  otpc_buf_t b;
  pg_key_t k;
  size_t len;
  if (canon(group, &b, &k) != 0) {
    otpc_buf_free(&b);
    return OTPC_ENOMEM;
  }
  uint8_t *owned = otpc_buf_release(&b, &len);
  if (owned == NULL)
    return OTPC_ENOMEM;
  s->e[s->n++] =
      (pg_ent_t){.group = owned, .glen = len, .deep = k.deep, .pid = pid};
  return 0;
}

static void set_drop(pg_set_t *s, size_t i) {
  free(s->e[i].group);
  s->e[i] = s->e[--s->n];
}

/* Removes one membership of pid in group; false if there was none. */
static bool set_remove(pg_set_t *s, otpc_term_t group, const otpc_pid_t *pid) {
  otpc_buf_t b;
  pg_key_t k;
  bool found = false;
  if (canon(group, &b, &k) == 0)
    for (size_t i = 0; !found && i < s->n; i++)
      if (pid_eq(&s->e[i].pid, pid) && ent_is(&s->e[i], &k)) {
        set_drop(s, i);
        found = true;
      }
  otpc_buf_free(&b);
  return found;
}

static void set_clear(pg_set_t *s) {
  for (size_t i = 0; i < s->n; i++)
    free(s->e[i].group);
  free(s->e);
  *s = (pg_set_t){0};
}

/* Adds (join) or removes one membership of (leave) Pid or each pid of a
 * list of pids in group; other elements are skipped. */
static void set_pids(pg_set_t *s, otpc_term_t group, otpc_term_t pids,
                     bool join) {
  otpc_pid_t pid;
  otpc_iter_t it;
  otpc_term_t el = pids;
  size_t n;
  bool list = otpc_term_list(pids, &it, &n) == 0;
  while (!list || otpc_iter_next(&it, &el) == 1) {
    if (otpc_term_pid(el, &pid) == 0) {
      if (join)
        set_add(s, group, pid);
      else
        set_remove(s, group, &pid);
    }
    if (!list)
      break;
  }
}

static pg_scope_t *find_scope(otpc_rt_t *rt, otpc_atom_t name) {
  for (pg_scope_t *s = pg_scopes; s != NULL; s = s->next)
    if (s->rt == rt && s->name == name)
      return s;
  return NULL;
}

static pg_peer_t *find_peer(pg_scope_t *s, const otpc_pid_t *pid) {
  for (size_t i = 0; i < s->npeers; i++)
    if (pid_eq(&s->peers[i].pid, pid))
      return &s->peers[i];
  return NULL;
}

/* ------------------------------------------------------------ encoding */

/* Appends a list header for n elements (nothing for an empty list: the
 * caller appends the tail, nil, after the elements in both cases). */
static int put_list_header(otpc_buf_t *b, size_t n) {
  if (n == 0)
    return 0;
  uint8_t h[5] = {108, (uint8_t)(n >> 24), (uint8_t)(n >> 16),
                  (uint8_t)(n >> 8), (uint8_t)n};
  return otpc_buf_append(b, h, sizeof h);
}

static int put_nil(otpc_buf_t *b) {
  static const uint8_t nil = 106;
  return otpc_buf_append(b, &nil, 1);
}

/* [{Group, [Pid]}] of the local memberships, as pg's sync carries them:
 * one entry per group, a pid repeated once per join. */
static int put_local_groups(otpc_buf_t *b, const pg_set_t *s) {
  bool *done = calloc(s->n ? s->n : 1, sizeof *done);
  size_t ngroups = 0;
  int rc = 0;
  if (done == NULL)
    return OTPC_ENOMEM;
  for (size_t i = 0; i < s->n; i++) {
    if (done[i])
      continue;
    ngroups++;
    pg_key_t k = key_of(&s->e[i]);
    for (size_t j = i; j < s->n; j++)
      if (!done[j] && ent_is(&s->e[j], &k))
        done[j] = true;
  }
  memset(done, 0, s->n * sizeof *done);
  rc = put_list_header(b, ngroups);
  for (size_t i = 0; rc == 0 && i < s->n; i++) {
    if (done[i])
      continue;
    pg_key_t gk = key_of(&s->e[i]);
    otpc_term_t g = gk.t;
    size_t k = 0;
    for (size_t j = i; j < s->n; j++)
      if (!done[j] && ent_is(&s->e[j], &gk))
        k++;
    static const uint8_t tup2[2] = {104, 2};
    rc = otpc_buf_append(b, tup2, 2);
    if (rc == 0)
      rc = otpc_buf_append(b, g.p, g.len);
    if (rc == 0)
      rc = put_list_header(b, k);
    for (size_t j = i; rc == 0 && j < s->n; j++)
      if (!done[j] && ent_is(&s->e[j], &gk)) {
        done[j] = true;
        rc = otpc_term_build(b, NULL, "~p", &s->e[j].pid);
      }
    if (rc == 0)
      rc = put_nil(b);
  }
  if (rc == 0)
    rc = put_nil(b);
  free(done);
  return rc;
}

/* --------------------------------------------------------- the process */

typedef struct pg_state {
  pg_scope_t *scope;
} pg_state_t;

/* The pids of the peers, copied under the lock, to send to without it. */
static size_t peer_pids(pg_scope_t *s, otpc_pid_t **out) {
  pthread_mutex_lock(&pg_lock);
  size_t n = s->npeers;
  *out = malloc((n ? n : 1) * sizeof **out);
  if (*out == NULL)
    n = 0;
  for (size_t i = 0; i < n; i++)
    (*out)[i] = s->peers[i].pid;
  pthread_mutex_unlock(&pg_lock);
  return n;
}

static void broadcast(otpc_proc_t *self, pg_scope_t *s, otpc_msg_t *m) {
  otpc_pid_t *to;
  size_t n = peer_pids(s, &to);
  for (size_t i = 0; m != NULL && i < n; i++)
    otpc_send(self, to[i], m);
  free(to);
  if (m != NULL)
    otpc_msg_unref(m);
}

static void discover(otpc_proc_t *self, pg_scope_t *s, otpc_atom_t node) {
  otpc_pid_t me = otpc_self(self);
  otpc_msg_t *m;
  if (node == otpc_rt_node(s->rt) ||
      otpc_msg_build(&m, NULL, "{discover, ~p}", &me) != 0)
    return;
  otpc_send_remote_name(self, s->name, node, m);
  otpc_msg_unref(m);
}

static void pg_init(otpc_proc_t *self, void *state, void *arg) {
  pg_state_t *st = state;
  pg_scope_t *s = arg;
  st->scope = s;
  if (s->node == NULL)
    return;
  /* Subscribe first, then list: a node coming up in between is discovered
   * twice, which the protocol tolerates (discover is idempotent). */
  otpc_monitor_nodes(self, true, false);
  otpc_atom_t *nodes = NULL;
  size_t n = 0;
  if (otpc_node_list(s->node, OTPC_NODES_VISIBLE, &nodes, &n) == 0) {
    for (size_t i = 0; i < n; i++)
      discover(self, s, nodes[i]);
    free(nodes);
  }
}

static pg_mon_t *find_mon(pg_scope_t *s, const otpc_pid_t *pid) {
  for (size_t i = 0; i < s->nmons; i++)
    if (pid_eq(&s->mons[i].pid, pid))
      return &s->mons[i];
  return NULL;
}

/* A local join the API recorded: monitor the member, tell the peers. */
static void on_local_join(otpc_proc_t *self, pg_scope_t *s, otpc_term_t group,
                          otpc_pid_t pid) {
  otpc_pid_t me = otpc_self(self);
  set_add(&s->pub, group, pid);
  if (find_mon(s, &pid) == NULL && grow((void **)&s->mons, &s->mons_cap,
                                        s->nmons + 1, sizeof *s->mons) == 0) {
    pg_mon_t *m = &s->mons[s->nmons];
    if (otpc_monitor(self, pid, &m->mref) == 0) {
      m->pid = pid;
      s->nmons++;
    }
  }
  otpc_msg_t *m = NULL;
  otpc_msg_build(&m, NULL, "{join, ~p, ~t, ~p}", &me, &group, &pid);
  broadcast(self, s, m);
}

static bool has_pub(pg_scope_t *s, const otpc_pid_t *pid) {
  for (size_t i = 0; i < s->pub.n; i++)
    if (pid_eq(&s->pub.e[i].pid, pid))
      return true;
  return false;
}

static void on_local_leave(otpc_proc_t *self, pg_scope_t *s, otpc_term_t group,
                           otpc_pid_t pid) {
  otpc_pid_t me = otpc_self(self);
  pg_mon_t *mon = find_mon(s, &pid);
  set_remove(&s->pub, group, &pid);
  if (mon != NULL && !has_pub(s, &pid)) {
    otpc_demonitor(self, &mon->mref, OTPC_DEMONITOR_FLUSH);
    *mon = s->mons[--s->nmons];
  }
  otpc_msg_t *m = NULL;
  otpc_msg_build(&m, NULL, "{leave, ~p, ~p, [~t]}", &me, &pid, &group);
  broadcast(self, s, m);
}

/* A local member exited: it leaves every group it was in, once per join,
 * and the peers get one leave naming those groups (repeated as joined). */
static void on_member_down(otpc_proc_t *self, pg_scope_t *s, pg_mon_t *mon) {
  otpc_pid_t pid = mon->pid, me = otpc_self(self);
  *mon = s->mons[--s->nmons];
  pthread_mutex_lock(&pg_lock);
  for (size_t i = 0; i < s->local.n;)
    if (pid_eq(&s->local.e[i].pid, &pid))
      set_drop(&s->local, i);
    else
      i++;
  pthread_mutex_unlock(&pg_lock);
  otpc_buf_t groups = {0};
  size_t k = 0;
  for (size_t i = 0; i < s->pub.n; i++)
    if (pid_eq(&s->pub.e[i].pid, &pid))
      k++;
  int rc = put_list_header(&groups, k);
  for (size_t i = 0; i < s->pub.n;) {
    if (pid_eq(&s->pub.e[i].pid, &pid)) {
      if (rc == 0)
        rc = otpc_buf_append(&groups, s->pub.e[i].group, s->pub.e[i].glen);
      set_drop(&s->pub, i);
    } else {
      i++;
    }
  }
  if (rc == 0)
    rc = put_nil(&groups);
  otpc_msg_t *m = NULL;
  otpc_term_t gt = {groups.data, groups.len};
  if (rc == 0 && k > 0)
    otpc_msg_build(&m, NULL, "{leave, ~p, ~p, ~t}", &me, &pid, &gt);
  broadcast(self, s, m);
  otpc_buf_free(&groups);
}

static void on_discover(otpc_proc_t *self, pg_scope_t *s, otpc_pid_t peer) {
  otpc_pid_t me = otpc_self(self);
  otpc_buf_t b = {0};
  int rc = put_local_groups(&b, &s->pub);
  pthread_mutex_lock(&pg_lock);
  bool known = find_peer(s, &peer) != NULL;
  pthread_mutex_unlock(&pg_lock);
  otpc_term_t groups = {b.data, b.len};
  if (rc == 0)
    otpc_sendf(self, peer, "{'$gen_cast', {sync, ~p, ~t}}", &me, &groups);
  otpc_buf_free(&b);
  if (known)
    return;
  otpc_ref_t mref;
  if (otpc_monitor(self, peer, &mref) != 0)
    return;
  pthread_mutex_lock(&pg_lock);
  if (grow((void **)&s->peers, &s->peers_cap, s->npeers + 1,
           sizeof *s->peers) == 0)
    s->peers[s->npeers++] = (pg_peer_t){.pid = peer, .mref = mref};
  pthread_mutex_unlock(&pg_lock);
  otpc_sendf(self, peer, "{discover, ~p}", &me);
}

/* The peer's whole view replaces what we knew of it, as in pg. */
static void on_sync(otpc_proc_t *self, pg_scope_t *s, otpc_pid_t peer,
                    otpc_term_t groups) {
  otpc_ref_t mref;
  pthread_mutex_lock(&pg_lock);
  pg_peer_t *p = find_peer(s, &peer);
  pthread_mutex_unlock(&pg_lock);
  if (p == NULL && otpc_monitor(self, peer, &mref) != 0)
    return;
  pthread_mutex_lock(&pg_lock);
  p = find_peer(s, &peer); /* only this process adds peers */
  if (p == NULL && grow((void **)&s->peers, &s->peers_cap, s->npeers + 1,
                        sizeof *s->peers) == 0) {
    p = &s->peers[s->npeers++];
    *p = (pg_peer_t){.pid = peer, .mref = mref};
  }
  if (p != NULL) {
    set_clear(&p->set);
    otpc_iter_t it;
    otpc_term_t el, g, pids;
    size_t n;
    if (otpc_term_list(groups, &it, &n) == 0)
      while (otpc_iter_next(&it, &el) == 1)
        if (otpc_term_match(el, NULL, "{~t, ~t}", &g, &pids) == 0)
          set_pids(&p->set, g, pids, true);
  }
  pthread_mutex_unlock(&pg_lock);
}

static void on_join(pg_scope_t *s, otpc_pid_t peer, otpc_term_t group,
                    otpc_term_t pids) {
  pthread_mutex_lock(&pg_lock);
  pg_peer_t *p = find_peer(s, &peer);
  if (p != NULL) /* a join from a scope we do not know is dropped, as pg */
    set_pids(&p->set, group, pids, true);
  pthread_mutex_unlock(&pg_lock);
}

static void on_leave(pg_scope_t *s, otpc_pid_t peer, otpc_term_t pids,
                     otpc_term_t groups) {
  otpc_iter_t it;
  otpc_term_t g;
  size_t n;
  pthread_mutex_lock(&pg_lock);
  pg_peer_t *p = find_peer(s, &peer);
  if (p != NULL && otpc_term_list(groups, &it, &n) == 0)
    while (otpc_iter_next(&it, &g) == 1)
      set_pids(&p->set, g, pids, false);
  pthread_mutex_unlock(&pg_lock);
}

/* A DOWN: of a local member, or of a peer scope (its node lost, or the
 * scope stopped), whose members all go. */
static void on_down(otpc_proc_t *self, pg_scope_t *s, otpc_ref_t mref,
                    otpc_pid_t pid) {
  pg_mon_t *mon = find_mon(s, &pid);
  if (mon != NULL && ref_eq(&mon->mref, &mref)) {
    on_member_down(self, s, mon);
    return;
  }
  pthread_mutex_lock(&pg_lock);
  pg_peer_t *p = find_peer(s, &pid);
  if (p != NULL && ref_eq(&p->mref, &mref)) {
    set_clear(&p->set);
    *p = s->peers[--s->npeers];
  }
  pthread_mutex_unlock(&pg_lock);
}

static void pg_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  pg_state_t *st = state;
  pg_scope_t *s = st->scope;
  otpc_term_t t = otpc_msg_term(msg), g, pids, groups;
  otpc_pid_t peer, pid;
  otpc_ref_t mref;
  otpc_atom_t node;
  if (otpc_term_match(t, NULL, "{'$otpc_pg', ~r, join, ~t, ~p}", &mref, &g,
                      &pid) == 0 &&
      ref_eq(&mref, &s->note_ref))
    on_local_join(self, s, g, pid);
  else if (otpc_term_match(t, NULL, "{'$otpc_pg', ~r, leave, ~t, ~p}", &mref,
                           &g, &pid) == 0 &&
           ref_eq(&mref, &s->note_ref))
    on_local_leave(self, s, g, pid);
  else if (otpc_term_match(t, NULL, "{join, ~p, ~t, ~t}", &peer, &g, &pids) ==
           0)
    on_join(s, peer, g, pids);
  else if (otpc_term_match(t, NULL, "{leave, ~p, ~t, ~t}", &peer, &pids,
                           &groups) == 0)
    on_leave(s, peer, pids, groups);
  else if (otpc_term_match(t, NULL, "{discover, ~p}", &peer) == 0 ||
           otpc_term_match(t, NULL, "{discover, ~p, _}", &peer) == 0)
    on_discover(self, s, peer);
  else if (otpc_term_match(t, NULL, "{'$gen_cast', {sync, ~p, ~t}}", &peer,
                           &groups) == 0)
    on_sync(self, s, peer, groups);
  else if (otpc_term_match(t, NULL, "{'DOWN', ~r, process, ~p, _}", &mref,
                           &pid) == 0)
    on_down(self, s, mref, pid);
  else if (otpc_term_match(t, NULL, "{nodeup, ~a}", &node) == 0)
    discover(self, s, node);
  /* nodedown: the DOWN of the peer's scope does the work, as in pg. Other
   * messages are dropped: a peer must not be able to stop the scope. */
}

static void pg_terminate(otpc_proc_t *self, void *state, otpc_term_t reason) {
  (void)self;
  (void)reason;
  pg_state_t *st = state;
  pg_scope_t *s = st->scope;
  if (s == NULL)
    return;
  pthread_mutex_lock(&pg_lock);
  for (pg_scope_t **pp = &pg_scopes; *pp != NULL; pp = &(*pp)->next)
    if (*pp == s) {
      *pp = s->next;
      break;
    }
  pthread_mutex_unlock(&pg_lock);
  set_clear(&s->local);
  set_clear(&s->pub);
  for (size_t i = 0; i < s->npeers; i++)
    set_clear(&s->peers[i].set);
  free(s->peers);
  free(s->mons);
  free(s);
}

static const otpc_proc_class_t pg_class = {.name = "pg",
                                           .state_size = sizeof(pg_state_t),
                                           .init = pg_init,
                                           .handle = pg_handle,
                                           .terminate = pg_terminate};

/* ----------------------------------------------------------------- API */

int otpc_pg_start_scope(otpc_rt_t *rt, otpc_node_t *node, otpc_atom_t scope,
                        otpc_pid_t *pid) {
  size_t len;
  const char *name = otpc_atom_text(scope, &len);
  if (rt == NULL || name == NULL)
    return OTPC_EINVAL;
  pg_scope_t *s = calloc(1, sizeof *s);
  if (s == NULL)
    return OTPC_ENOMEM;
  s->rt = rt;
  s->node = node;
  s->name = scope;
  if (otpc_make_ref(rt, &s->note_ref) != 0) {
    free(s);
    return OTPC_EINVAL;
  }
  otpc_spawn_opts_t o = {.name = name};
  /* The scope goes into the registry once its pid is known; until then no
   * join can name it, and messages to it wait in its mailbox. */
  pthread_mutex_lock(&pg_lock);
  int rc = find_scope(rt, scope) != NULL
               ? OTPC_EINVAL
               : otpc_rt_spawn(rt, &pg_class, s, &o, &s->pid);
  if (rc == 0) {
    s->next = pg_scopes;
    pg_scopes = s;
    if (pid != NULL)
      *pid = s->pid;
  }
  pthread_mutex_unlock(&pg_lock);
  if (rc != 0)
    free(s);
  return rc;
}

/* Records a local join or leave and notes it to the scope under the lock,
 * so the scope broadcasts changes in the order the table took them. */
static int local_op(otpc_rt_t *rt, otpc_atom_t scope, otpc_term_t group,
                    otpc_pid_t pid, bool join) {
  if (rt == NULL || pid.node != otpc_rt_node(rt))
    return OTPC_EINVAL;
  otpc_msg_t *m = NULL;
  int rc = 0;
  pthread_mutex_lock(&pg_lock);
  pg_scope_t *s = find_scope(rt, scope);
  if (s == NULL)
    rc = OTPC_ENOTFOUND;
  else
    rc = otpc_msg_build(&m, NULL, "{'$otpc_pg', ~r, ~a, ~t, ~p}", &s->note_ref,
                        join ? "join" : "leave", &group, &pid);
  if (rc == 0 && join)
    rc = set_add(&s->local, group, pid);
  else if (rc == 0 && !set_remove(&s->local, group, &pid))
    rc = OTPC_ENOTFOUND;
  if (rc == 0)
    rc = otpc_rt_send(rt, s->pid, m);
  pthread_mutex_unlock(&pg_lock);
  if (m != NULL)
    otpc_msg_unref(m);
  return rc;
}

int otpc_pg_join(otpc_rt_t *rt, otpc_atom_t scope, otpc_term_t group,
                 otpc_pid_t pid) {
  return local_op(rt, scope, group, pid, true);
}

int otpc_pg_leave(otpc_rt_t *rt, otpc_atom_t scope, otpc_term_t group,
                  otpc_pid_t pid) {
  return local_op(rt, scope, group, pid, false);
}

static int add_pid(otpc_pid_t **v, size_t *n, size_t *cap, otpc_pid_t pid) {
  if (grow((void **)v, cap, *n + 1, sizeof **v) != 0)
    return OTPC_ENOMEM;
  (*v)[(*n)++] = pid;
  return 0;
}

static int collect(const pg_set_t *set, const pg_key_t *group, otpc_pid_t **v,
                   size_t *n, size_t *cap) {
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < set->n; i++)
    if (ent_is(&set->e[i], group))
      rc = add_pid(v, n, cap, set->e[i].pid);
  return rc;
}

static int members(otpc_rt_t *rt, otpc_atom_t scope, otpc_term_t group,
                   bool remote_too, otpc_pid_t **pids, size_t *n) {
  size_t cap = 0;
  *pids = NULL;
  *n = 0;
  otpc_buf_t b;
  pg_key_t k;
  if (canon(group, &b, &k) != 0) {
    otpc_buf_free(&b);
    return OTPC_ENOMEM;
  }
  pthread_mutex_lock(&pg_lock);
  pg_scope_t *s = find_scope(rt, scope);
  int rc = s == NULL ? OTPC_ENOTFOUND : collect(&s->local, &k, pids, n, &cap);
  for (size_t i = 0; rc == 0 && remote_too && i < s->npeers; i++)
    rc = collect(&s->peers[i].set, &k, pids, n, &cap);
  pthread_mutex_unlock(&pg_lock);
  otpc_buf_free(&b);
  if (rc != 0) {
    free(*pids);
    *pids = NULL;
    *n = 0;
  }
  return rc;
}

int otpc_pg_get_members(otpc_rt_t *rt, otpc_atom_t scope, otpc_term_t group,
                        otpc_pid_t **pids, size_t *n) {
  return members(rt, scope, group, true, pids, n);
}

int otpc_pg_get_local_members(otpc_rt_t *rt, otpc_atom_t scope,
                              otpc_term_t group, otpc_pid_t **pids, size_t *n) {
  return members(rt, scope, group, false, pids, n);
}

/* Appends the groups of `set` not yet in `seen` (a list of views). */
static int add_groups(const pg_set_t *set, otpc_term_t **seen, size_t *n,
                      size_t *cap) {
  for (size_t i = 0; i < set->n; i++) {
    otpc_term_t g = {set->e[i].group, set->e[i].glen};
    bool dup = false;
    for (size_t j = 0; !dup && j < *n; j++)
      dup = otpc_term_equal((*seen)[j], g);
    if (dup)
      continue;
    if (grow((void **)seen, cap, *n + 1, sizeof **seen) != 0)
      return OTPC_ENOMEM;
    (*seen)[(*n)++] = g;
  }
  return 0;
}

int otpc_pg_which_groups(otpc_rt_t *rt, otpc_atom_t scope, otpc_buf_t *out) {
  otpc_term_t *seen = NULL;
  size_t n = 0, cap = 0;
  pthread_mutex_lock(&pg_lock);
  pg_scope_t *s = find_scope(rt, scope);
  int rc = s == NULL ? OTPC_ENOTFOUND : add_groups(&s->local, &seen, &n, &cap);
  for (size_t i = 0; rc == 0 && i < s->npeers; i++)
    rc = add_groups(&s->peers[i].set, &seen, &n, &cap);
  /* The views point into the tables: encode before letting go. */
  if (rc == 0)
    rc = put_list_header(out, n);
  for (size_t i = 0; rc == 0 && i < n; i++)
    rc = otpc_buf_append(out, seen[i].p, seen[i].len);
  if (rc == 0)
    rc = put_nil(out);
  pthread_mutex_unlock(&pg_lock);
  free(seen);
  return rc;
}
