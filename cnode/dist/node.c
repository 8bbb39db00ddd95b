/* The node: connections on a libuv loop thread of its own, joined to the
 * runtime through rt_remote.h. See node.h and docs/dist.md ("The node").
 *
 * Threads. The loop thread owns every socket, connection and peer record;
 * nothing here is shared with other threads except the command queue
 * (mutex + uv_async), through which the runtime's remote ops, called on
 * scheduler threads, hand signals for other nodes to the loop. */
#include "node.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>

#include "otpc/frame.h"
#include "otpc/msg.h"
#include "otpc/term.h"

#include "../runtime/rt_remote.h"
#include "cookie.h"
#include "dist_ctl.h"
#include "dist_frame.h"
#include "epmd_proto.h"
#include "epmd_uv.h"
#include "handshake.h"

#define SETUP_MS 7000         /* net_setuptime's default */
#define MAX_FRAME (65u << 20) /* 64 MiB messages and their headers */
#define BATCH_BUFS 64         /* uv_bufs per write */
#define BATCH_BULK                                                             \
  (256u << 10) /* bulk bytes per write, so ticks interleave                    \
                */

/* ------------------------------------------------------------ commands */

/* A signal for a remote pid, queued by a remote op for the loop thread,
 * which encodes it for the connection's flags and keeps the link and
 * monitor records that connection loss turns into noconnection. */
enum {
  K_SEND = 1,
  K_LINK,
  K_UNLINK,
  K_EXIT,
  K_EXIT2,
  K_MON,
  K_DEMON,
  K_DOWN,
  K_REGSEND,   /* {name, to.node} ! msg */
  K_MONNAME,   /* monitor(process, {name, to.node}) */
  K_ALIASSEND, /* ref (an alias of to.node) ! msg */
  K_MONNODE,   /* monitor_node(to.node, on) for `from` */
  K_MONNODES,  /* monitor_nodes(on) for `from`, hidden ones too if `all` */
  K_SPAWNREQ,  /* spawn_request(to.node, mod, fun, msg) with monitor */
  K_FLUSH      /* a direct write left bytes in conn `id`'s rest: flush */
};

typedef struct cmd {
  struct cmd *next;
  int kind;
  otpc_pid_t from, to; /* to: a node's pseudo pid (node set) for by-name */
  otpc_ref_t ref;
  otpc_atom_t name;
  bool on, all;
  otpc_msg_t *msg; /* message (sends), reason (exits, DOWN), args (spawn) */
  otpc_atom_t mod, fun; /* K_SPAWNREQ */
  otpc_pid_t gl;        /* K_SPAWNREQ: the group leader */
  uint64_t id;          /* K_FLUSH: the connection */
  size_t acct;          /* message bytes counted in the node's queued */
  struct otpc_node *nd; /* set with acct */
} cmd_t;

/* ------------------------------------------------------------ outgoing */

/* One frame (or fragmented message) waiting to be written: a head in
 * `head` and the payload straight from the message's bytes. */
typedef struct item {
  struct item *next;
  /* Bulk items: the receiver, so that a control signal for it is never put
   * ahead of them (to_any: a receiver we cannot name, a registered name or
   * an alias, which holds back every control signal). */
  otpc_pid_t to;
  bool to_any;
  otpc_buf_t head, ctl;
  otpc_msg_t *msg; /* keeps the payload alive */
  const uint8_t *pl;
  size_t plen;
  bool frag;
  otpc__dist_frag_t f;
  otpc_node_t *nd;
  size_t acct; /* message bytes counted in the node's queued */
} item_t;

typedef struct {
  item_t *head, *tail;
} itemq_t;

typedef struct batch {
  uv_write_t req;
  uv_buf_t bufs[BATCH_BUFS];
  unsigned n;
  item_t *done; /* items fully written by this batch */
  otpc_buf_t fheads[BATCH_BUFS / 2];
  unsigned nf;
} batch_t;

/* -------------------------------------------------- peers, connections */

typedef struct link {
  otpc_pid_t local, remote;
} link_t;

typedef struct mon {
  otpc_pid_t watcher, target; /* one local, one remote */
  otpc_atom_t name;           /* a remote monitor by name of a local one */
  otpc_ref_t ref;
} mon_t;

#define VEC(T)                                                                 \
  struct {                                                                     \
    T *v;                                                                      \
    size_t n, cap;                                                             \
  }

typedef struct conn conn_t;

typedef struct peer {
  struct peer *next;
  otpc_atom_t node;
  conn_t *c;            /* the connection carrying this node's traffic */
  cmd_t *pend, **ptail; /* signals waiting for the connection */
  VEC(link_t) links;
  VEC(mon_t) mons_out;       /* local watchers of remote pids */
  VEC(mon_t) mons_in;        /* remote watchers of local pids */
  VEC(otpc_pid_t) node_mons; /* monitor_node(this node, true), one per call */
  VEC(mon_t) spawns;         /* our spawn requests: watcher, ref */
  uint64_t unlink_id;
  bool looking;    /* its port is being asked of epmd */
  otpc_node_t *nd; /* for the epmd lookup's callback */
} peer_t;

/* A net_kernel:monitor_nodes subscription. */
typedef struct sub {
  otpc_pid_t pid;
  bool all; /* hidden nodes too */
} sub_t;

/* A connected node, for otpc_node_list. */
typedef struct upnode {
  otpc_atom_t node;
  bool hidden;
} upnode_t;

enum { C_DIAL = 1, C_HS, C_UP };

struct conn {
  struct conn *next;
  otpc_node_t *node;
  uv_tcp_t tcp;
  uv_connect_t creq;
  int state;
  bool initiator, closing;
  char who[OTPC__HS_MAX_NAME + 1];
  peer_t *peer;
  otpc__hs_t hs;
  bool hs_init;
  otpc_framer_t fr;
  otpc__dist_in_t in;
  otpc__dist_mode_t mode;
  uint64_t deadline, last_in, last_out;
  itemq_t prio, bulk;
  bool writing;
  uint64_t seq;
  uint64_t id; /* unique per node, for K_FLUSH */
  /* Under the node's mu (see "Direct writes" in docs/dist.md): `direct`
   * while the connection is up with nothing queued, nothing being written
   * and no command under way, so another thread may write a small frame
   * to `fd` itself; `rest` the bytes such a write could not put out. */
  bool direct;
  int fd;
  otpc_buf_t rest;
};

struct otpc_node {
  otpc_node_opts_t o;
  char name[OTPC__HS_MAX_NAME + 1];
  otpc_atom_t self;
  char cookie[256];
  uint64_t flags;
  uint32_t creation;
  unsigned ticktime;
  otpc_rt_t *rt;
  uv_loop_t loop;
  uv_tcp_t listener;
  uv_poll_t epmd_poll;
  int epmd_fd;
  uv_timer_t timer;
  uv_async_t async;
  pthread_t thread;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  cmd_t *cmds, **ctail;   /* under mu */
  bool quiesce, quiesced; /* under mu */
  bool shutdown;          /* under mu */
  bool deliver;           /* loop thread only: may touch the runtime */
  conn_t *conns;
  peer_t *peers;
  VEC(sub_t) subs;      /* loop thread only */
  VEC(upnode_t) up;     /* under mu: read by otpc_node_list on any thread */
  VEC(conn_t *) direct; /* under mu: connections open to direct writes */
  cmd_t *recs, **rtail; /* under mu: records of direct writes (direct_send) */
  /* Under mu: bytes of messages queued per node (commands and items not
   * yet written); busy_limit: see otpc_node_opts_t. */
  VEC(struct queued {
    otpc_atom_t node;
    size_t bytes;
  })
  queued;
  size_t busy_limit;
  bool cmds_running; /* under mu: on_async runs a list of commands */
  uint64_t conn_ids; /* loop thread only */
  size_t max_msg;
  otpc__epmd_lookups_t lookups;
  otpc__epmd_host_t *epmd_host; /* we serve the epmd port; NULL: a real one */
  otpc_atom_t a_noproc, a_noconnection, a_notsup;
  otpc_msg_t *m_noproc, *m_noconnection, *m_monitor_opt;
  otpc__remote_ops_t ops;
  /* Set by any thread, read by the loop: release/acquire publishes the
   * hook's fields with the pointer. */
  _Atomic(const otpc__spawn_hook_t *) spawn_hook;
};

static void logf_(otpc_node_t *n, const char *fmt, ...) {
  char line[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(line, sizeof line, fmt, ap);
  va_end(ap);
  if (n->o.log != NULL)
    n->o.log(n->o.log_ud, line);
  else
    fprintf(stderr, "otpc node: %s\n", line);
}

static void err_set(otpc_err_t *err, int code, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  err->code = code;
  err->offset = 0;
  vsnprintf(err->msg, sizeof err->msg, fmt, ap);
  va_end(ap);
}

static uint64_t now_ms(otpc_node_t *n) {
  return uv_now(&n->loop);
}

static uint32_t random32(void) {
  uint32_t v = 0;
  int fd = open("/dev/urandom", O_RDONLY);
  if (fd < 0 || read(fd, &v, sizeof v) != (ssize_t)sizeof v)
    v = (uint32_t)uv_hrtime() ^ ((uint32_t)getpid() << 16);
  if (fd >= 0)
    close(fd);
  return v;
}

static bool pid_eq(const otpc_pid_t *a, const otpc_pid_t *b) {
  return a->node == b->node && a->id == b->id && a->serial == b->serial &&
         a->creation == b->creation;
}

static bool ref_eq(const otpc_ref_t *a, const otpc_ref_t *b) {
  return a->node == b->node && a->creation == b->creation && a->len == b->len &&
         memcmp(a->id, b->id, a->len * sizeof a->id[0]) == 0;
}

#define VPUSH(vec, x)                                                          \
  do {                                                                         \
    if ((vec).n == (vec).cap) {                                                \
      size_t nc = (vec).cap ? (vec).cap * 2 : 8;                               \
      void *nv = realloc((vec).v, nc * sizeof *(vec).v);                       \
      if (nv == NULL)                                                          \
        break;                                                                 \
      (vec).v = nv;                                                            \
      (vec).cap = nc;                                                          \
    }                                                                          \
    (vec).v[(vec).n++] = (x);                                                  \
  } while (0)

/* The node's queued bytes for `node` (under mu); NULL when out of memory. */
static struct queued *queued_of(otpc_node_t *n, otpc_atom_t node) {
  for (size_t i = 0; i < n->queued.n; i++)
    if (n->queued.v[i].node == node)
      return &n->queued.v[i];
  struct queued q = {node, 0};
  VPUSH(n->queued, q);
  return n->queued.n > 0 && n->queued.v[n->queued.n - 1].node == node
             ? &n->queued.v[n->queued.n - 1]
             : NULL;
}

/* Message bytes written or dropped: senders waiting for the queue to drop
 * below the limit may go on. */
static void acct_sub(otpc_node_t *n, otpc_atom_t node, size_t bytes) {
  if (bytes == 0)
    return;
  pthread_mutex_lock(&n->mu);
  struct queued *q = queued_of(n, node);
  if (q != NULL) {
    bool was_busy = q->bytes >= n->busy_limit;
    q->bytes = q->bytes > bytes ? q->bytes - bytes : 0;
    if (was_busy && q->bytes < n->busy_limit)
      pthread_cond_broadcast(&n->cv);
  }
  pthread_mutex_unlock(&n->mu);
}

static void cmd_free(cmd_t *c) {
  if (c->acct > 0)
    acct_sub(c->nd, c->to.node, c->acct);
  otpc_msg_unref(c->msg);
  free(c);
}

/* ---------------------------------------------------------- the peers */

static peer_t *peer_get(otpc_node_t *n, otpc_atom_t node, bool create) {
  for (peer_t *p = n->peers; p != NULL; p = p->next)
    if (p->node == node)
      return p;
  if (!create)
    return NULL;
  peer_t *p = calloc(1, sizeof *p);
  if (p == NULL)
    return NULL;
  p->node = node;
  p->ptail = &p->pend;
  p->next = n->peers;
  n->peers = p;
  return p;
}

static void link_del(peer_t *p, otpc_pid_t local, otpc_pid_t remote) {
  for (size_t i = 0; i < p->links.n; i++)
    if (pid_eq(&p->links.v[i].local, &local) &&
        pid_eq(&p->links.v[i].remote, &remote)) {
      p->links.v[i] = p->links.v[--p->links.n];
      return;
    }
}

static void link_add(peer_t *p, otpc_pid_t local, otpc_pid_t remote) {
  link_del(p, local, remote); /* one link per pair, as on the BEAM */
  link_t l = {local, remote};
  VPUSH(p->links, l);
}

static bool mon_del(void *vec, const otpc_ref_t *ref, mon_t *out) {
  VEC(mon_t) *m = vec;
  for (size_t i = 0; i < m->n; i++)
    if (ref_eq(&m->v[i].ref, ref)) {
      if (out != NULL)
        *out = m->v[i];
      m->v[i] = m->v[--m->n];
      return true;
    }
  return false;
}

/* {nodeup, Node} or {nodedown, Node} to a local pid; false if it is dead
 * (its subscriptions can go). */
static bool node_event(otpc_node_t *n, otpc_pid_t to, bool up,
                       otpc_atom_t node) {
  otpc_msg_t *m = NULL;
  if (otpc_msg_build(&m, NULL, up ? "{nodeup, ~A}" : "{nodedown, ~A}", node) !=
      0)
    return true;
  int rc = otpc__rt_remote_send(n->rt, to, m);
  otpc_msg_unref(m);
  return rc != OTPC_ENOTFOUND;
}

/* A connection came up or went down: the monitor_nodes subscribers (those
 * of hidden nodes too for a hidden connection), and the list of connected
 * nodes. */
static void node_updown(otpc_node_t *n, otpc_atom_t node, bool hidden,
                        bool up) {
  pthread_mutex_lock(&n->mu);
  for (size_t i = 0; i < n->up.n; i++)
    if (n->up.v[i].node == node) {
      n->up.v[i] = n->up.v[--n->up.n];
      break;
    }
  if (up) {
    upnode_t u = {node, hidden};
    VPUSH(n->up, u);
  }
  pthread_mutex_unlock(&n->mu);
  if (!n->deliver)
    return;
  for (size_t i = 0; i < n->subs.n;) {
    if ((hidden && !n->subs.v[i].all) ||
        node_event(n, n->subs.v[i].pid, up, node))
      i++;
    else
      n->subs.v[i] = n->subs.v[--n->subs.n];
  }
}

/* The peer is unreachable or its connection went down: what OTP does
 * then, locally. Pending signals are dropped. `was_up`: the connection had
 * come up (subscribers saw nodeup), `hidden` then says which kind. */
/* The end of a spawn request of ours, as a message to the requester:
 * {'DOWN', ReqId, process, Pid, Reason}, or {spawn_reply, ReqId, error,
 * Reason} when the spawn failed (erlang:spawn_request's messages). */
static void spawn_down(otpc_node_t *n, otpc_pid_t to, const otpc_ref_t *ref,
                       otpc_pid_t pid, otpc_term_t reason) {
  otpc_msg_t *m;
  if (otpc_msg_build(&m, NULL, "{'DOWN', ~r, process, ~p, ~t}", ref, &pid,
                     &reason) == 0) {
    otpc__rt_remote_send(n->rt, to, m);
    otpc_msg_unref(m);
  }
}

static void peer_down(otpc_node_t *n, peer_t *p, bool was_up, bool hidden) {
  otpc_term_t nc = otpc_msg_term(n->m_noconnection);
  /* Links and monitors that never reached the peer break too. */
  while (p->pend != NULL) {
    cmd_t *c = p->pend;
    p->pend = c->next;
    if (n->deliver && c->kind == K_LINK)
      otpc__rt_remote_exit(n->rt, c->to, c->from, nc, true);
    else if (n->deliver && (c->kind == K_MON || c->kind == K_MONNAME))
      otpc__rt_remote_down(n->rt, c->to, c->from, &c->ref, nc);
    else if (n->deliver && c->kind == K_SPAWNREQ)
      spawn_down(n, c->from, &c->ref, c->to, nc);
    cmd_free(c);
  }
  p->ptail = &p->pend;
  if (n->deliver) {
    for (size_t i = 0; i < p->links.n; i++)
      otpc__rt_remote_exit(n->rt, p->links.v[i].remote, p->links.v[i].local, nc,
                           true);
    for (size_t i = 0; i < p->mons_out.n; i++)
      otpc__rt_remote_down(n->rt, p->mons_out.v[i].target,
                           p->mons_out.v[i].watcher, &p->mons_out.v[i].ref, nc);
    for (size_t i = 0; i < p->mons_in.n; i++)
      otpc__rt_remote_demonitor(n->rt, p->mons_in.v[i].watcher,
                                p->mons_in.v[i].target, &p->mons_in.v[i].ref);
    /* monitor_node is one-shot: each monitor gives one nodedown. */
    for (size_t i = 0; i < p->node_mons.n; i++)
      node_event(n, p->node_mons.v[i], false, p->node);
    for (size_t i = 0; i < p->spawns.n; i++)
      spawn_down(n, p->spawns.v[i].watcher, &p->spawns.v[i].ref,
                 otpc__node_pid(p->node), nc);
  }
  p->links.n = p->mons_out.n = p->mons_in.n = p->node_mons.n = 0;
  p->spawns.n = 0;
  if (was_up)
    node_updown(n, p->node, hidden, false);
}

static void peer_free(peer_t *p) {
  while (p->pend != NULL) {
    cmd_t *c = p->pend;
    p->pend = c->next;
    cmd_free(c);
  }
  free(p->links.v);
  free(p->mons_out.v);
  free(p->mons_in.v);
  free(p->node_mons.v);
  free(p->spawns.v);
  free(p);
}

/* ------------------------------------------------------------ writing */

static void item_free(item_t *it) {
  if (it->acct > 0)
    acct_sub(it->nd, it->to.node, it->acct);
  otpc_buf_free(&it->head);
  otpc_buf_free(&it->ctl);
  otpc_msg_unref(it->msg);
  free(it);
}

static void q_push(itemq_t *q, item_t *it) {
  it->next = NULL;
  if (q->tail)
    q->tail->next = it;
  else
    q->head = it;
  q->tail = it;
}

static item_t *q_pop(itemq_t *q) {
  item_t *it = q->head;
  if (it != NULL) {
    q->head = it->next;
    if (q->head == NULL)
      q->tail = NULL;
  }
  return it;
}

static void q_push_front(itemq_t *q, item_t *it) {
  it->next = q->head;
  q->head = it;
  if (q->tail == NULL)
    q->tail = it;
}

static void q_free(itemq_t *q) {
  item_t *it;
  while ((it = q_pop(q)) != NULL)
    item_free(it);
}

static void conn_close(conn_t *c, const char *fmt, const char *why);
static void conn_flush(conn_t *c);

static void on_written(uv_write_t *req, int status) {
  batch_t *b = (batch_t *)req;
  conn_t *c = req->data;
  while (b->done != NULL) {
    item_t *it = b->done;
    b->done = it->next;
    item_free(it);
  }
  for (unsigned i = 0; i < b->nf; i++)
    otpc_buf_free(&b->fheads[i]);
  free(b);
  c->writing = false;
  if (status < 0)
    conn_close(c, "down %s: write: %s", uv_strerror(status));
  else
    conn_flush(c);
}

static void add_buf(batch_t *b, const void *p, size_t len) {
  if (len > 0)
    b->bufs[b->n++] = uv_buf_init((char *)p, (unsigned)len);
}

/* Receivers served per round of conn_flush: the order-keeping check is
 * quadratic in it, and receivers further back wait for the next round.
 * Items for a receiver already seen are skipped, not counted, so a small
 * message behind a thousand chunks to one other process is reached in the
 * first round (the scan is linear, bounded by BULK_SCAN items). */
#define BULK_WINDOW 64
#define BULK_SCAN 65536

/* Adds the next piece of a bulk item to the batch: its next fragment, or
 * the whole frame. Returns 1 if that was its last piece, 0 if more remain,
 * -1 when fragmenting failed (the connection is then closed). */
static int batch_piece(conn_t *c, batch_t *b, item_t *it, size_t *bytes) {
  if (!it->frag) {
    add_buf(b, it->head.data, it->head.len);
    add_buf(b, it->pl, it->plen);
    *bytes += it->head.len + it->plen;
    return 1;
  }
  otpc_buf_t *h = &b->fheads[b->nf++];
  const uint8_t *chunk;
  size_t clen;
  int rc = otpc__dist_frag_next(&it->f, h, &chunk, &clen);
  if (rc < 0) {
    conn_close(c, "down %s: %s", "fragmenting failed");
    return -1;
  }
  add_buf(b, h->data, h->len);
  add_buf(b, chunk, clen);
  *bytes += h->len + clen;
  return rc == 0 ? 1 : 0;
}

/* ------------------------------------------------------ direct writes */

/* Takes `c` out of the direct list (under mu). */
static void direct_off_locked(otpc_node_t *n, conn_t *c) {
  if (!c->direct)
    return;
  c->direct = false;
  for (size_t i = 0; i < n->direct.n; i++)
    if (n->direct.v[i] == c) {
      n->direct.v[i] = n->direct.v[--n->direct.n];
      break;
    }
}

/* Before the loop writes to an up connection: closes it to direct writes
 * (no direct write is under way once we hold mu) and puts what a direct
 * write left over ahead of everything queued, or, when nothing is queued,
 * opens it to direct writes. Returns false when out of memory (the
 * connection is then closed). */
static bool direct_sync(conn_t *c) {
  otpc_node_t *n = c->node;
  bool idle = c->prio.head == NULL && c->bulk.head == NULL;
  pthread_mutex_lock(&n->mu);
  otpc_buf_t rest = c->rest;
  memset(&c->rest, 0, sizeof c->rest);
  if (idle && rest.len == 0 && c->fd >= 0) {
    if (!c->direct) {
      VPUSH(n->direct, c);
      c->direct = n->direct.n > 0 && n->direct.v[n->direct.n - 1] == c;
    }
  } else {
    direct_off_locked(n, c);
  }
  pthread_mutex_unlock(&n->mu);
  if (rest.len == 0) {
    otpc_buf_free(&rest);
    return true;
  }
  item_t *it = calloc(1, sizeof *it);
  if (it == NULL) {
    otpc_buf_free(&rest);
    conn_close(c, "down %s: %s", "out of memory");
    return false;
  }
  it->head = rest;
  q_push_front(&c->prio, it);
  return true;
}

/* A small message written by the sending thread itself when its node's
 * connection is idle: the loop thread is not woken for it, which saves a
 * thread hop per message on each side of a call. Order holds: the
 * connection is idle only with nothing queued on it, and no command (for
 * any node) may wait or be under way. What the socket does not take goes
 * to the loop (c->rest + K_FLUSH), ahead of anything written after it.
 * Monitors and demonitors go the same way; `rec`, the command they would
 * have been, then goes to the loop as a record only (run_rec), so that
 * connection loss still answers the monitor with noconnection.
 * Returns true when the message went (or is on its way), false to take the
 * command path (`rec` is then the caller's). */
static bool direct_send(otpc_node_t *n, otpc__dctl_t *d, otpc_msg_t *m,
                        cmd_t *rec) {
  otpc_term_t t = m != NULL ? otpc_msg_term(m) : (otpc_term_t){NULL, 0};
  if (t.len >= OTPC__DIST_FRAG_SIZE)
    return false;
  bool done = false, wake = false;
  otpc_buf_t ctl = {0}, head = {0};
  pthread_mutex_lock(&n->mu);
  conn_t *c = NULL;
  if (!n->shutdown && n->cmds == NULL && !n->cmds_running)
    for (size_t i = 0; i < n->direct.n && c == NULL; i++)
      if (n->direct.v[i]->peer->node == d->to.node)
        c = n->direct.v[i];
  otpc_err_t err;
  if (c != NULL) {
    if (d->op == OTPC__DOP_SEND_SENDER &&
        (c->hs.flags & OTPC__DFLAG_SEND_SENDER) == 0)
      d->op = OTPC__DOP_SEND;
    c = otpc__dctl_encode(&ctl, d, &err) == 0 &&
                ctl.len + t.len < OTPC__DIST_FRAG_SIZE &&
                otpc__dist_enc_head(
                    &head,
                    c->mode == OTPC__DIST_HDR_FRAG ? OTPC__DIST_HDR : c->mode,
                    (otpc_term_t){ctl.data, ctl.len}, t.len, &err) == 0
            ? c
            : NULL;
  }
  if (c != NULL) {
    struct iovec iov[2] = {{head.data, head.len}, {(void *)t.p, t.len}};
    struct msghdr mh = {.msg_iov = iov, .msg_iovlen = t.len > 0 ? 2 : 1};
    ssize_t w = sendmsg(c->fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
    /* Nothing written (a full socket, an error): the command path queues
     * it, and the loop meets the error itself. */
    done = w > 0;
    size_t wn = w > 0 ? (size_t)w : 0;
    if (done && wn < head.len + t.len) {
      direct_off_locked(n, c);
      cmd_t *k = calloc(1, sizeof *k);
      int rc = k != NULL ? 0 : OTPC_ENOMEM;
      if (rc == 0 && wn < head.len)
        rc = otpc_buf_append(&c->rest, head.data + wn, head.len - wn);
      size_t pw = wn > head.len ? wn - head.len : 0;
      if (rc == 0)
        rc = otpc_buf_append(&c->rest, t.p + pw, t.len - pw);
      if (rc != 0) /* half a frame is out: the stream is lost */
        shutdown(c->fd, SHUT_RDWR);
      if (k != NULL) {
        k->kind = K_FLUSH;
        k->id = c->id;
        n->cmds = k;
        n->ctail = &k->next;
        wake = true;
      }
    }
    if (done && rec != NULL) {
      rec->id = c->id;
      *n->rtail = rec;
      n->rtail = &rec->next;
      wake = true;
    }
  }
  pthread_mutex_unlock(&n->mu);
  otpc_buf_free(&ctl);
  otpc_buf_free(&head);
  if (wake)
    uv_async_send(&n->async);
  return done;
}

/* Starts the next write if none is under way: every priority item (ticks,
 * control signals) first, then bulk up to BATCH_BULK bytes, so a tick
 * waits for at most one batch behind a huge message.
 *
 * Bulk goes in rounds over the first BULK_WINDOW receivers: each item whose
 * receiver has no earlier item still queued gets one piece (a 64 KiB
 * fragment, or its whole frame) per round. So a small message to one
 * process goes out between the fragments of a huge one to another, as
 * OTP's fragment interleaving allows, and never waits for the whole of it;
 * messages to the same receiver keep their order (OTP promises order per
 * sender and receiver; we cannot tell senders apart, so we keep it per
 * receiver, which implies it). An item for a receiver we cannot name
 * (to_any) neither overtakes nor is overtaken. */
static void conn_flush(conn_t *c) {
  if (c->writing || c->closing)
    return;
  if (c->state == C_UP && !direct_sync(c))
    return;
  if (c->prio.head == NULL && c->bulk.head == NULL)
    return;
  batch_t *b = calloc(1, sizeof *b);
  if (b == NULL) {
    conn_close(c, "down %s: %s", "out of memory");
    return;
  }
  item_t **dtail = &b->done;
  while (c->prio.head != NULL && b->n + 2 <= BATCH_BUFS) {
    item_t *it = q_pop(&c->prio);
    add_buf(b, it->head.data, it->head.len);
    add_buf(b, it->pl, it->plen);
    *dtail = it;
    dtail = &it->next;
    it->next = NULL;
  }
  size_t bulk = 0;
  bool progress = true, failed = false;
  while (progress && !failed && c->bulk.head != NULL && bulk < BATCH_BULK) {
    progress = false;
    otpc_pid_t seen[BULK_WINDOW]; /* receivers of items left queued */
    size_t nseen = 0, visited = 0;
    bool any_seen = false;
    item_t **pp = &c->bulk.head, *prev = NULL;
    while (*pp != NULL && !any_seen && nseen < BULK_WINDOW &&
           visited < BULK_SCAN && b->n + 2 <= BATCH_BUFS && bulk < BATCH_BULK) {
      item_t *it = *pp;
      visited++;
      bool blocked = any_seen || (it->to_any && nseen > 0);
      for (size_t i = 0; !blocked && !it->to_any && i < nseen; i++)
        blocked = pid_eq(&seen[i], &it->to);
      int last = 0;
      if (!blocked) {
        if (it->frag && b->nf == BATCH_BUFS / 2)
          break;
        last = batch_piece(c, b, it, &bulk);
        if (last < 0) {
          failed = true;
          break;
        }
        progress = true;
      }
      if (last == 1) {
        *pp = it->next;
        if (c->bulk.tail == it)
          c->bulk.tail = prev;
        *dtail = it;
        dtail = &it->next;
        it->next = NULL;
      } else {
        /* A blocked item's receiver is in seen already. */
        if (it->to_any)
          any_seen = true;
        else if (!blocked)
          seen[nseen++] = it->to;
        prev = it;
        pp = &it->next;
      }
    }
  }
  if (b->n == 0) { /* only empty items */
    on_written(&b->req, 0);
    return;
  }
  b->req.data = c;
  c->writing = true;
  c->last_out = now_ms(c->node);
  int rc = uv_write(&b->req, (uv_stream_t *)&c->tcp, b->bufs, b->n, on_written);
  if (rc < 0) {
    c->writing = false;
    while (b->done != NULL) {
      item_t *it = b->done;
      b->done = it->next;
      item_free(it);
    }
    for (unsigned i = 0; i < b->nf; i++)
      otpc_buf_free(&b->fheads[i]);
    free(b);
    conn_close(c, "down %s: write: %s", uv_strerror(rc));
  }
}

/* Raw bytes (handshake packets, ticks) on the priority lane. */
static void conn_raw(conn_t *c, const void *p, size_t len) {
  if (len == 0 || c->closing)
    return;
  item_t *it = calloc(1, sizeof *it);
  if (it == NULL || otpc_buf_append(&it->head, p, len) != 0) {
    free(it);
    conn_close(c, "down %s: %s", "out of memory");
    return;
  }
  q_push(&c->prio, it);
  conn_flush(c);
}

static bool is_message(otpc__dop_t op) {
  switch (op) {
  case OTPC__DOP_SEND:
  case OTPC__DOP_SEND_TT:
  case OTPC__DOP_SEND_SENDER:
  case OTPC__DOP_SEND_SENDER_TT:
  case OTPC__DOP_REG_SEND:
  case OTPC__DOP_REG_SEND_TT:
  case OTPC__DOP_ALIAS_SEND:
  case OTPC__DOP_ALIAS_SEND_TT: return true;
  default: return false;
  }
}

/* Whether something for `to` (or, with any, anything) waits in the bulk
 * queue: a control signal must then queue behind it, or it would overtake
 * a message or signal sent before it to the same process. We do not know
 * a message's sender (the runtime's sends do not say), so the order kept
 * is per receiver, which includes OTP's per sender-receiver pair. */
static bool bulk_holds(const conn_t *c, const otpc_pid_t *to, bool any) {
  for (const item_t *it = c->bulk.head; it != NULL; it = it->next)
    if (any || it->to_any || pid_eq(&it->to, to))
      return true;
  return false;
}

/* Queues one control message with its payload (the bytes of `msg`'s term,
 * or none), fragmented when the peer takes fragments. Messages go on the
 * bulk lane; control signals on the priority lane, written before any bulk
 * bytes, unless bulk_holds says they must wait or they need fragments. */
static void conn_ctl_acct(conn_t *c, const otpc__dctl_t *d, otpc_msg_t *msg,
                          size_t acct) {
  otpc_err_t err;
  item_t *it = calloc(1, sizeof *it);
  if (it == NULL) {
    acct_sub(c->node, d->to.node, acct);
    return;
  }
  it->nd = c->node;
  it->acct = acct;
  if (msg != NULL) {
    otpc_term_t t = otpc_msg_term(msg);
    it->msg = otpc_msg_ref(msg);
    it->pl = t.p;
    it->plen = t.len;
  }
  bool msg_op = is_message(d->op);
  it->to = d->to;
  it->to_any = d->op == OTPC__DOP_REG_SEND || d->op == OTPC__DOP_ALIAS_SEND ||
               d->to_name != OTPC_ATOM_NONE;
  int rc = otpc__dctl_encode(&it->ctl, d, &err);
  bool prio = false;
  if (rc == 0) {
    otpc_term_t ct = {it->ctl.data, it->ctl.len};
    prio = !msg_op && !bulk_holds(c, &it->to, it->to_any) &&
           it->ctl.len + it->plen < OTPC__DIST_FRAG_SIZE;
    if (prio) {
      /* One whole frame: in fragment mode a plain 131,68 one. */
      rc = otpc__dist_enc_head(
          &it->head, c->mode == OTPC__DIST_HDR_FRAG ? OTPC__DIST_HDR : c->mode,
          ct, it->plen, &err);
    } else if (c->mode == OTPC__DIST_HDR_FRAG) {
      it->frag = true;
      rc = otpc__dist_frag_init(&it->f, ++c->seq, ct, it->pl, it->plen, 0);
    } else {
      rc = otpc__dist_enc_head(&it->head, c->mode, ct, it->plen, &err);
    }
  } else {
    logf_(c->node, "cannot encode %s for %s: %s", otpc__dop_name((int)d->op),
          c->who, err.msg);
  }
  if (rc != 0) {
    item_free(it);
    return;
  }
  q_push(prio ? &c->prio : &c->bulk, it);
  conn_flush(c);
}

static void conn_ctl(conn_t *c, const otpc__dctl_t *d, otpc_msg_t *msg) {
  conn_ctl_acct(c, d, msg, 0);
}

/* --------------------------------------------------- outgoing signals */

static void send_cmd(conn_t *c, cmd_t *k) {
  peer_t *p = c->peer;
  otpc__dctl_t d = {0};
  bool payload_exit = (c->hs.flags & OTPC__DFLAG_EXIT_PAYLOAD) != 0;
  d.from = k->from;
  d.to = k->to;
  d.ref = k->ref;
  otpc_msg_t *pl = NULL;
  switch (k->kind) {
  case K_SEND:
    d.op = (c->hs.flags & OTPC__DFLAG_SEND_SENDER) ? OTPC__DOP_SEND_SENDER
                                                   : OTPC__DOP_SEND;
    pl = k->msg;
    break;
  case K_LINK:
    link_add(p, k->from, k->to);
    d.op = OTPC__DOP_LINK;
    break;
  case K_UNLINK:
    link_del(p, k->from, k->to);
    d.op = OTPC__DOP_UNLINK_ID;
    d.id = ++p->unlink_id;
    break;
  case K_EXIT:
  case K_EXIT2:
    if (k->kind == K_EXIT)
      link_del(p, k->from, k->to);
    d.op = k->kind == K_EXIT
               ? (payload_exit ? OTPC__DOP_PAYLOAD_EXIT : OTPC__DOP_EXIT)
               : (payload_exit ? OTPC__DOP_PAYLOAD_EXIT2 : OTPC__DOP_EXIT2);
    if (payload_exit)
      pl = k->msg;
    else
      d.reason = otpc_msg_term(k->msg);
    break;
  case K_REGSEND:
    d.op = OTPC__DOP_REG_SEND;
    d.to_name = k->name;
    pl = k->msg;
    break;
  case K_ALIASSEND:
    /* A peer without ALIAS cannot have made the alias: dropped, as a send
     * to an inactive alias. */
    if ((c->hs.flags & OTPC__DFLAG_ALIAS) == 0)
      return;
    d.op = OTPC__DOP_ALIAS_SEND;
    pl = k->msg;
    break;
  case K_MON:
  case K_MONNAME: {
    /* By name, `to` is the node's pseudo pid: the DOWN names {Name, Node}
     * (the runtime's record has the name) and comes back by reference. */
    mon_t m = {.watcher = k->from, .target = k->to, .ref = k->ref};
    m.name = k->kind == K_MONNAME ? k->name : OTPC_ATOM_NONE;
    VPUSH(p->mons_out, m);
    d.op = OTPC__DOP_MONITOR_P;
    d.to_name = m.name;
    break;
  }
  case K_DEMON: {
    mon_t m;
    if (mon_del(&p->mons_out, &k->ref, &m))
      d.to_name = m.name;
    d.op = OTPC__DOP_DEMONITOR_P;
    break;
  }
  case K_DOWN: {
    mon_t m;
    if (mon_del(&p->mons_in, &k->ref, &m))
      d.from_name = m.name;
    d.op = payload_exit ? OTPC__DOP_PAYLOAD_MONITOR_P_EXIT
                        : OTPC__DOP_MONITOR_P_EXIT;
    if (payload_exit)
      pl = k->msg;
    else
      d.reason = otpc_msg_term(k->msg);
    break;
  }
  case K_SPAWNREQ: {
    mon_t m = {.watcher = k->from, .ref = k->ref, .name = OTPC_ATOM_NONE};
    otpc_iter_t it;
    size_t n = 0;
    otpc_term_list(otpc_msg_term(k->msg), &it, &n);
    VPUSH(p->spawns, m);
    d.op = OTPC__DOP_SPAWN_REQUEST;
    d.gl = k->gl;
    d.mod = k->mod;
    d.fun = k->fun;
    d.arity = (unsigned)n;
    d.opts = otpc_msg_term(c->node->m_monitor_opt);
    pl = k->msg;
    break;
  }
  default: return;
  }
  /* A message's bytes stay counted until its item is written. */
  conn_ctl_acct(c, &d, pl, k->acct);
  k->acct = 0;
}

static void dial(otpc_node_t *n, peer_t *p);

/* The record of a monitor or demonitor that direct_send wrote, on the loop
 * thread before any command pushed after it. If the connection it went on
 * is gone, its loss did not see this monitor: it gets noconnection now. */
static void run_rec(otpc_node_t *n, cmd_t *k) {
  peer_t *p = peer_get(n, k->to.node, false);
  bool same = p != NULL && p->c != NULL && p->c->id == k->id;
  if (k->kind == K_DEMON) {
    if (same)
      mon_del(&p->mons_out, &k->ref, NULL);
  } else if (same) {
    mon_t m = {.watcher = k->from, .target = k->to, .ref = k->ref};
    m.name = k->kind == K_MONNAME ? k->name : OTPC_ATOM_NONE;
    VPUSH(p->mons_out, m);
  } else if (n->deliver) {
    otpc__rt_remote_down(n->rt, k->to, k->from, &k->ref,
                         otpc_msg_term(n->m_noconnection));
  }
  cmd_free(k);
}

/* Takes the records of direct writes waiting (under mu). */
static cmd_t *take_recs(otpc_node_t *n) {
  cmd_t *recs = n->recs;
  n->recs = NULL;
  n->rtail = &n->recs;
  return recs;
}

static void run_recs(otpc_node_t *n, cmd_t *recs) {
  while (recs != NULL) {
    cmd_t *k = recs;
    recs = k->next;
    run_rec(n, k);
  }
}

/* A command from a remote op, on the loop thread. Links and monitors to an
 * unreachable node are recorded first, so that the failed dial answers
 * them with noconnection. */
static void run_cmd(otpc_node_t *n, cmd_t *k) {
  if (k->kind == K_FLUSH) {
    for (conn_t *c = n->conns; c != NULL; c = c->next)
      if (c->id == k->id)
        conn_flush(c);
    cmd_free(k);
    return;
  }
  if (k->kind == K_MONNODES) {
    if (k->on) {
      sub_t s = {k->from, k->all};
      VPUSH(n->subs, s);
    } else {
      for (size_t i = 0; i < n->subs.n; i++)
        if (pid_eq(&n->subs.v[i].pid, &k->from) && n->subs.v[i].all == k->all) {
          n->subs.v[i] = n->subs.v[--n->subs.n];
          break;
        }
    }
    cmd_free(k);
    return;
  }
  if (k->kind == K_MONNODE && k->to.node == n->self) {
    cmd_free(k); /* the local node: nothing, as OTP */
    return;
  }
  peer_t *p = peer_get(n, k->to.node, true);
  if (p == NULL) {
    cmd_free(k);
    return;
  }
  if (k->kind == K_MONNODE) {
    if (k->on) {
      VPUSH(p->node_mons, k->from);
      /* As OTP, monitoring a node connects to it; a failed dial answers
       * with nodedown. */
      if (p->c == NULL && !p->looking)
        dial(n, p);
    } else {
      for (size_t i = 0; i < p->node_mons.n; i++)
        if (pid_eq(&p->node_mons.v[i], &k->from)) {
          p->node_mons.v[i] = p->node_mons.v[--p->node_mons.n];
          break;
        }
    }
    cmd_free(k);
    return;
  }
  if (p->c != NULL && p->c->state == C_UP) {
    send_cmd(p->c, k);
    cmd_free(k);
    return;
  }
  k->next = NULL;
  *p->ptail = k;
  p->ptail = &k->next;
  if (p->c == NULL && !p->looking)
    dial(n, p);
}

static void on_async(uv_async_t *a) {
  otpc_node_t *n = a->data;
  pthread_mutex_lock(&n->mu);
  /* Records first: every command in the list was pushed after them. */
  cmd_t *recs = take_recs(n), *list = n->cmds;
  n->cmds = NULL;
  n->ctail = &n->cmds;
  n->cmds_running = list != NULL;
  bool quiesce = n->quiesce && !n->quiesced;
  bool shutdown = n->shutdown;
  pthread_mutex_unlock(&n->mu);
  run_recs(n, recs);
  while (list != NULL) {
    cmd_t *k = list;
    list = k->next;
    run_cmd(n, k);
  }
  if (n->cmds_running) {
    pthread_mutex_lock(&n->mu);
    n->cmds_running = false;
    pthread_mutex_unlock(&n->mu);
  }
  if (quiesce) {
    /* From now on the runtime may be stopped under us: no more deliveries
     * to it (our queued writes still go out). */
    n->deliver = false;
    pthread_mutex_lock(&n->mu);
    n->quiesced = true;
    pthread_cond_broadcast(&n->cv);
    pthread_mutex_unlock(&n->mu);
  }
  if (shutdown) {
    for (conn_t *c = n->conns; c != NULL; c = c->next)
      conn_close(c, "down %s: %s", "node stopping");
    uv_close((uv_handle_t *)&n->listener, NULL);
    uv_close((uv_handle_t *)&n->timer, NULL);
    uv_close((uv_handle_t *)&n->async, NULL);
    otpc__epmd_lookups_stop(&n->lookups);
    if (n->epmd_host != NULL)
      otpc__epmd_host_close(n->epmd_host);
    else {
      uv_poll_stop(&n->epmd_poll);
      uv_close((uv_handle_t *)&n->epmd_poll, NULL);
    }
  }
}

static int push_cmd(otpc_node_t *n, cmd_t *k);

/* The remote ops: any thread, never blocking (one mutex, one async). */
static cmd_t *cmd_new(int kind, otpc_pid_t from, otpc_pid_t to,
                      const otpc_ref_t *ref, otpc_msg_t *msg) {
  cmd_t *k = calloc(1, sizeof *k);
  if (k == NULL) {
    otpc_msg_unref(msg);
    return NULL;
  }
  k->kind = kind;
  k->from = from;
  k->to = to;
  if (ref != NULL)
    k->ref = *ref;
  k->msg = msg;
  return k;
}

static int push(otpc_node_t *n, int kind, otpc_pid_t from, otpc_pid_t to,
                const otpc_ref_t *ref, otpc_msg_t *msg) {
  cmd_t *k = cmd_new(kind, from, to, ref, msg);
  return k != NULL ? push_cmd(n, k) : OTPC_ENOMEM;
}

static int push_cmd(otpc_node_t *n, cmd_t *k) {
  pthread_mutex_lock(&n->mu);
  if (k->kind == K_SEND || k->kind == K_REGSEND || k->kind == K_ALIASSEND) {
    /* Back-pressure, as dist_buf_busy_limit: a thread process waits while
     * the node's queue is over the limit (it drains as items are written,
     * or empties when the connection goes). A scheduler is never blocked:
     * its processes' messages queue (not yet bounded). */
    bool may_wait = !otpc__rt_on_scheduler();
    struct queued *q;
    while ((q = queued_of(n, k->to.node)) != NULL && may_wait && !n->shutdown &&
           q->bytes >= n->busy_limit)
      pthread_cond_wait(&n->cv, &n->mu);
    if (q != NULL) {
      k->acct = otpc_msg_term(k->msg).len;
      k->nd = n;
      q->bytes += k->acct;
    }
  }
  bool ok = !n->shutdown;
  if (ok) {
    *n->ctail = k;
    n->ctail = &k->next;
  }
  pthread_mutex_unlock(&n->mu);
  if (!ok) {
    cmd_free(k);
    return OTPC_EINVAL;
  }
  uv_async_send(&n->async);
  return 0;
}

/* A monitor or demonitor: written directly when it can be (direct_send),
 * else a command. A demonitor of a monitor by name needs the name, which
 * only the loop's record has: always a command. */
static int direct_ctl(otpc_node_t *n, cmd_t *k) {
  otpc__dctl_t d = {0};
  d.op = k->kind == K_DEMON ? OTPC__DOP_DEMONITOR_P : OTPC__DOP_MONITOR_P;
  d.from = k->from;
  d.to = k->to;
  d.ref = k->ref;
  d.to_name = k->kind == K_MONNAME ? k->name : OTPC_ATOM_NONE;
  otpc_pid_t np = otpc__node_pid(k->to.node);
  if ((k->kind != K_DEMON || !pid_eq(&k->to, &np)) &&
      direct_send(n, &d, NULL, k))
    return 0;
  return push_cmd(n, k);
}

static int op_send(void *ud, otpc_pid_t from, otpc_pid_t to, otpc_msg_t *m) {
  otpc__dctl_t d = {0};
  d.op = OTPC__DOP_SEND_SENDER;
  d.from = from;
  d.to = to;
  if (direct_send(ud, &d, m, NULL))
    return 0;
  return push(ud, K_SEND, from, to, NULL, otpc_msg_ref(m));
}
/* By name or alias: `to` is the node's pseudo pid. */
static int push_named(otpc_node_t *n, int kind, otpc_pid_t from,
                      otpc_atom_t node, otpc_atom_t name, const otpc_ref_t *ref,
                      otpc_msg_t *m) {
  cmd_t *k = cmd_new(kind, from, otpc__node_pid(node), ref, m);
  if (k == NULL)
    return OTPC_ENOMEM;
  k->name = name;
  return push_cmd(n, k);
}
static int op_reg_send(void *ud, otpc_pid_t from, otpc_atom_t node,
                       otpc_atom_t name, otpc_msg_t *m) {
  otpc__dctl_t d = {0};
  d.op = OTPC__DOP_REG_SEND;
  d.from = from;
  d.to = otpc__node_pid(node);
  d.to_name = name;
  if (direct_send(ud, &d, m, NULL))
    return 0;
  return push_named(ud, K_REGSEND, from, node, name, NULL, otpc_msg_ref(m));
}
static int op_monitor_name(void *ud, otpc_pid_t from, otpc_atom_t node,
                           otpc_atom_t name, const otpc_ref_t *ref) {
  cmd_t *k = cmd_new(K_MONNAME, from, otpc__node_pid(node), ref, NULL);
  if (k == NULL)
    return OTPC_ENOMEM;
  k->name = name;
  return direct_ctl(ud, k);
}
static int op_alias_send(void *ud, otpc_pid_t from, const otpc_ref_t *alias,
                         otpc_msg_t *m) {
  return push_named(ud, K_ALIASSEND, from, alias->node, OTPC_ATOM_NONE, alias,
                    otpc_msg_ref(m));
}
static int op_link(void *ud, otpc_pid_t from, otpc_pid_t to) {
  return push(ud, K_LINK, from, to, NULL, NULL);
}
static int op_unlink(void *ud, otpc_pid_t from, otpc_pid_t to) {
  return push(ud, K_UNLINK, from, to, NULL, NULL);
}
static int op_exit(void *ud, otpc_pid_t from, otpc_pid_t to, otpc_term_t r,
                   bool link) {
  otpc_msg_t *m;
  int rc = otpc_msg_from_term(r, &m);
  return rc < 0 ? rc : push(ud, link ? K_EXIT : K_EXIT2, from, to, NULL, m);
}
static int op_monitor(void *ud, otpc_pid_t from, otpc_pid_t to,
                      const otpc_ref_t *ref) {
  cmd_t *k = cmd_new(K_MON, from, to, ref, NULL);
  return k != NULL ? direct_ctl(ud, k) : OTPC_ENOMEM;
}
static int op_demonitor(void *ud, otpc_pid_t from, otpc_pid_t to,
                        const otpc_ref_t *ref) {
  cmd_t *k = cmd_new(K_DEMON, from, to, ref, NULL);
  return k != NULL ? direct_ctl(ud, k) : OTPC_ENOMEM;
}
static int op_down(void *ud, otpc_pid_t from, otpc_pid_t to,
                   const otpc_ref_t *ref, otpc_term_t r) {
  otpc_msg_t *m;
  int rc = otpc_msg_from_term(r, &m);
  return rc < 0 ? rc : push(ud, K_DOWN, from, to, ref, m);
}

/* --------------------------------------------------- incoming signals */

static void deliver_msg(otpc_node_t *n, otpc_pid_t to, otpc_term_t payload) {
  otpc_msg_t *m;
  if (otpc_msg_from_term(payload, &m) == 0) {
    otpc__rt_remote_send(n->rt, to, m);
    otpc_msg_unref(m);
  }
}

void otpc__node_set_spawn_hook(otpc_node_t *n, const otpc__spawn_hook_t *h) {
  atomic_store_explicit(&n->spawn_hook, h, memory_order_release);
}

/* SPAWN_REPLY with a pid once the hook's process is linked and monitored
 * (a process already gone gets the noproc exit or DOWN after the reply, as
 * erts answers a link or monitor of a dead pid), or with an error atom. */
static void on_spawn_request(conn_t *c, const otpc__dctl_t *d) {
  otpc_node_t *n = c->node;
  const otpc__spawn_hook_t *h =
      atomic_load_explicit(&n->spawn_hook, memory_order_acquire);
  otpc__dctl_t r = {.op = OTPC__DOP_SPAWN_REPLY, .ref = d->ref, .to = d->from};
  otpc__dctl_t x = {.from_name = OTPC_ATOM_NONE, .to = d->from};
  bool pe = (c->hs.flags & OTPC__DFLAG_EXIT_PAYLOAD) != 0;
  unsigned fl = 0, dead = 0;
  otpc_msg_t *done = NULL;
  r.result_atom = n->a_notsup;
  int rc = h == NULL
               ? OTPC_ENOTSUP
               : h->spawn(h->ud, d, &r.result_pid, &fl, &r.result_atom, &done);
  r.result_is_pid = rc >= 0;
  r.spawn_flags = rc >= 0 ? fl : 0;
  /* An answered call's reply and DOWN leave in one write: held as if a
   * write were under way, then flushed together. */
  bool held = c->writing;
  c->writing = rc > 0 ? true : held;
  if (rc != 0)
    conn_ctl(c, &r, NULL);
  if (rc > 0) {
    /* Ran already: its DOWN follows the reply on the same lane. */
    x.from = r.result_pid;
    x.op = pe ? OTPC__DOP_PAYLOAD_MONITOR_P_EXIT : OTPC__DOP_MONITOR_P_EXIT;
    x.ref = d->ref;
    x.reason = otpc_msg_term(done);
    conn_ctl(c, &x, pe ? done : NULL);
    otpc_msg_unref(done);
    c->writing = held;
    conn_flush(c);
  }
  if (rc != 0)
    return;
  x.from = r.result_pid;
  if ((fl & 1) && otpc__rt_remote_link(n->rt, d->from, x.from) == 0)
    link_add(c->peer, x.from, d->from);
  else if (fl & 1)
    dead |= 1;
  if ((fl & 2) &&
      otpc__rt_remote_monitor(n->rt, d->from, x.from, &d->ref) == 0) {
    mon_t m = {.watcher = d->from, .target = x.from, .ref = d->ref};
    m.name = OTPC_ATOM_NONE;
    VPUSH(c->peer->mons_in, m);
  } else if (fl & 2)
    dead |= 2;
  conn_ctl(c, &r, NULL);
  x.reason = otpc_msg_term(n->m_noproc);
  x.op = pe ? OTPC__DOP_PAYLOAD_EXIT : OTPC__DOP_EXIT;
  if (dead & 1)
    conn_ctl(c, &x, pe ? n->m_noproc : NULL);
  x.op = pe ? OTPC__DOP_PAYLOAD_MONITOR_P_EXIT : OTPC__DOP_MONITOR_P_EXIT;
  x.ref = d->ref;
  if (dead & 2)
    conn_ctl(c, &x, pe ? n->m_noproc : NULL);
  h->go(h->ud, x.from);
}

static void on_ctl(conn_t *c, const otpc__dctl_t *d) {
  otpc_node_t *n = c->node;
  peer_t *p = c->peer;
  otpc__dctl_t r = {0};
  otpc_pid_t pid;
  bool pe = (c->hs.flags & OTPC__DFLAG_EXIT_PAYLOAD) != 0;
  if (!n->deliver)
    return;
  switch (d->op) {
  case OTPC__DOP_SEND:
  case OTPC__DOP_SEND_TT:
  case OTPC__DOP_SEND_SENDER:
  case OTPC__DOP_SEND_SENDER_TT: deliver_msg(n, d->to, d->payload); break;
  case OTPC__DOP_REG_SEND:
  case OTPC__DOP_REG_SEND_TT:
    if (otpc_whereis(n->rt, d->to_name, &pid) == 0)
      deliver_msg(n, pid, d->payload);
    break;
  case OTPC__DOP_ALIAS_SEND:
  case OTPC__DOP_ALIAS_SEND_TT: {
    /* Delivered while the alias is active, else dropped, as erts does. */
    otpc_msg_t *m;
    if (otpc_msg_from_term(d->payload, &m) == 0) {
      otpc__rt_remote_alias_send(n->rt, &d->ref, m);
      otpc_msg_unref(m);
    }
    break;
  }
  case OTPC__DOP_LINK:
    if (otpc__rt_remote_link(n->rt, d->from, d->to) == 0) {
      link_add(p, d->to, d->from);
      break;
    }
    r.from = d->to;
    r.to = d->from;
    r.op = pe ? OTPC__DOP_PAYLOAD_EXIT : OTPC__DOP_EXIT;
    r.reason = otpc_msg_term(n->m_noproc);
    conn_ctl(c, &r, pe ? n->m_noproc : NULL);
    break;
  case OTPC__DOP_UNLINK_ID:
  case OTPC__DOP_UNLINK:
    link_del(p, d->to, d->from);
    otpc__rt_remote_unlink(n->rt, d->from, d->to);
    if (d->op == OTPC__DOP_UNLINK_ID) {
      r.op = OTPC__DOP_UNLINK_ID_ACK;
      r.id = d->id;
      r.from = d->to;
      r.to = d->from;
      conn_ctl(c, &r, NULL);
    }
    break;
  case OTPC__DOP_UNLINK_ID_ACK: break;
  case OTPC__DOP_EXIT:
  case OTPC__DOP_EXIT_TT:
  case OTPC__DOP_PAYLOAD_EXIT:
  case OTPC__DOP_PAYLOAD_EXIT_TT:
    link_del(p, d->to, d->from);
    otpc__rt_remote_exit(n->rt, d->from, d->to, d->reason, true);
    break;
  case OTPC__DOP_EXIT2:
  case OTPC__DOP_EXIT2_TT:
  case OTPC__DOP_PAYLOAD_EXIT2:
  case OTPC__DOP_PAYLOAD_EXIT2_TT:
    otpc__rt_remote_exit(n->rt, d->from, d->to, d->reason, false);
    break;
  case OTPC__DOP_MONITOR_P: {
    int rc = OTPC_ENOTFOUND;
    pid = d->to;
    if (d->to_name == OTPC_ATOM_NONE ||
        otpc_whereis(n->rt, d->to_name, &pid) == 0)
      rc = otpc__rt_remote_monitor(n->rt, d->from, pid, &d->ref);
    if (rc == 0) {
      mon_t m = {
          .watcher = d->from, .target = pid, .name = d->to_name, .ref = d->ref};
      VPUSH(p->mons_in, m);
      break;
    }
    r.op = pe ? OTPC__DOP_PAYLOAD_MONITOR_P_EXIT : OTPC__DOP_MONITOR_P_EXIT;
    r.from_name = d->to_name;
    r.from = d->to;
    r.to = d->from;
    r.ref = d->ref;
    r.reason = otpc_msg_term(n->m_noproc);
    conn_ctl(c, &r, pe ? n->m_noproc : NULL);
    break;
  }
  case OTPC__DOP_DEMONITOR_P: {
    mon_t m;
    if (mon_del(&p->mons_in, &d->ref, &m))
      otpc__rt_remote_demonitor(n->rt, d->from, m.target, &d->ref);
    break;
  }
  case OTPC__DOP_MONITOR_P_EXIT:
  case OTPC__DOP_PAYLOAD_MONITOR_P_EXIT: {
    mon_t m;
    /* The monitor may have been written directly, its record still on its
     * way to us. */
    bool found = mon_del(&p->mons_out, &d->ref, &m);
    if (!found) {
      pthread_mutex_lock(&n->mu);
      cmd_t *recs = take_recs(n);
      pthread_mutex_unlock(&n->mu);
      run_recs(n, recs);
      found = mon_del(&p->mons_out, &d->ref, &m);
    }
    if (found)
      otpc__rt_remote_down(n->rt, m.target, d->to, &d->ref, d->reason);
    else if (mon_del(&p->spawns, &d->ref, &m))
      spawn_down(n, m.watcher, &d->ref, d->from, d->reason);
    break;
  }
  case OTPC__DOP_SPAWN_REPLY:
  case OTPC__DOP_SPAWN_REPLY_TT: {
    /* A pid: the DOWN will follow. An error: no process, no DOWN. */
    mon_t m;
    otpc_msg_t *e;
    if (!d->result_is_pid && mon_del(&p->spawns, &d->ref, &m) &&
        otpc_msg_build(&e, NULL, "{spawn_reply, ~r, error, ~A}", &d->ref,
                       d->result_atom) == 0) {
      otpc__rt_remote_send(n->rt, m.watcher, e);
      otpc_msg_unref(e);
    }
    break;
  }
  case OTPC__DOP_SPAWN_REQUEST:
  case OTPC__DOP_SPAWN_REQUEST_TT: on_spawn_request(c, d); break;
  default: break; /* GROUP_LEADER: nothing to do yet */
  }
}

/* A message over the maximum size was read past: who sent it, how big.
 * The connection stays: its framing is intact, and closing it would break
 * every link and monitor over it for one message. */
static void log_dropped(conn_t *c, const otpc__dist_msg_t *m) {
  char sender[128] = "unknown", ctl[256] = "";
  otpc_term_t from;
  /* Element 2 is the sender of the sends that name one (SEND_SENDER,
   * REG_SEND, ALIAS_SEND and their _TT forms). */
  if (otpc_term_match(m->ctl, NULL, "{_, ~t, _}", &from) == 0 ||
      otpc_term_match(m->ctl, NULL, "{_, ~t, _, _}", &from) == 0 ||
      otpc_term_match(m->ctl, NULL, "{_, ~t, _, _, _}", &from) == 0)
    otpc_term_snprint(sender, sizeof sender, from);
  otpc_term_snprint(ctl, sizeof ctl, m->ctl);
  logf_(c->node,
        "%s: dropped a message of %zu bytes from sender %s, over the maximum "
        "message size of %zu bytes (control message %s)",
        c->who, m->size, sender, c->node->max_msg, ctl);
}

static void on_frame(conn_t *c, const uint8_t *f, size_t len) {
  otpc__dist_msg_t m;
  otpc_err_t err;
  int rc = otpc__dist_in_frame(&c->in, f, len, &m, &err);
  if (rc < 0) {
    conn_close(c, "down %s: bad frame: %s", err.msg);
    return;
  }
  if (rc == OTPC__DIST_DROPPED) {
    log_dropped(c, &m);
    free(m.owned);
    return;
  }
  if (rc != OTPC__DIST_MSG)
    return; /* ticks only refresh last_in */
  otpc__dctl_t d;
  rc = otpc__dctl_decode(m.ctl, m.payload, c->peer->node, &d, &err);
  if (rc == OTPC_ENOTSUP)
    logf_(c->node, "%s: ignored control message: %s", c->who, err.msg);
  else if (rc < 0)
    conn_close(c, "down %s: bad control message: %s", err.msg);
  else
    on_ctl(c, &d);
  free(m.owned);
}

/* --------------------------------------------------------- connections */

static void on_closed(uv_handle_t *h) {
  conn_t *c = h->data;
  otpc_node_t *n = c->node;
  for (conn_t **pp = &n->conns; *pp != NULL; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  q_free(&c->prio);
  q_free(&c->bulk);
  if (c->hs_init)
    otpc__hs_free(&c->hs);
  if (c->state == C_UP) {
    otpc_framer_free(&c->fr);
    otpc__dist_in_free(&c->in);
  }
  free(c);
}

static void conn_close(conn_t *c, const char *fmt, const char *why) {
  if (c->closing)
    return;
  c->closing = true;
  /* No direct write may touch the socket once uv_close has closed it. */
  pthread_mutex_lock(&c->node->mu);
  direct_off_locked(c->node, c);
  otpc_buf_free(&c->rest);
  pthread_mutex_unlock(&c->node->mu);
  if (c->state == C_UP || fmt[0] != 'd')
    logf_(c->node, fmt, c->who, why);
  peer_t *p = c->peer;
  if (p != NULL && p->c == c) {
    p->c = NULL;
    peer_down(c->node, p, c->state == C_UP,
              (c->hs.flags & OTPC__DFLAG_PUBLISHED) == 0);
  }
  uv_close((uv_handle_t *)&c->tcp, on_closed);
}

static conn_t *conn_new(otpc_node_t *n, bool initiator, const char *who) {
  conn_t *c = calloc(1, sizeof *c);
  if (c == NULL)
    return NULL;
  c->node = n;
  c->id = ++n->conn_ids;
  c->fd = -1;
  c->initiator = initiator;
  c->deadline = now_ms(n) + SETUP_MS;
  snprintf(c->who, sizeof c->who, "%s", who);
  uv_tcp_init(&n->loop, &c->tcp);
  c->tcp.data = c;
  c->next = n->conns;
  n->conns = c;
  return c;
}

static int conn_hs_init(conn_t *c, const char *peer_name) {
  otpc_node_t *n = c->node;
  otpc__hs_config_t cfg = {.role = c->initiator ? OTPC__HS_INITIATOR
                                                : OTPC__HS_ACCEPTOR,
                           .name = n->name,
                           .flags = n->flags,
                           .creation = n->creation,
                           .cookie = n->cookie,
                           .peer_name = peer_name,
                           .challenge = random32()};
  otpc_err_t err;
  c->hs_init = true;
  c->state = C_HS;
  if (otpc__hs_init(&c->hs, &cfg, &err) != 0) {
    conn_close(c, "handshake with %s failed: %s", err.msg);
    return -1;
  }
  return 0;
}

static void on_up(conn_t *c) {
  otpc_node_t *n = c->node;
  peer_t *p = c->peer;
  c->state = C_UP;
  c->mode = otpc__dist_mode(c->hs.flags);
  /* Frames up to MAX_FRAME are read even under a smaller maximum message
   * size, so that an oversized message is dropped, not the connection. */
  otpc_framer_init(
      &c->fr, 4, n->max_msg + 4096 > MAX_FRAME ? n->max_msg + 4096 : MAX_FRAME);
  otpc__dist_in_init(&c->in, c->mode, n->max_msg);
  c->in.drop_over = true;
  c->last_in = c->last_out = now_ms(n);
  uv_os_fd_t fd;
  if (uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0)
    c->fd = fd;
  if (p->c != NULL && p->c != c)
    conn_close(p->c, "down %s: %s", "replaced by a new connection");
  p->c = c;
  bool hidden = (c->hs.flags & OTPC__DFLAG_PUBLISHED) == 0;
  logf_(n, "up %s %s %s", c->who, c->initiator ? "out" : "in",
        hidden ? "hidden" : "visible");
  node_updown(n, p->node, hidden, true);
  cmd_t *k = p->pend;
  p->pend = NULL;
  p->ptail = &p->pend;
  while (k != NULL) {
    cmd_t *next = k->next;
    send_cmd(c, k);
    cmd_free(k);
    k = next;
  }
  if (c->fd >= 0)
    conn_flush(c); /* with nothing queued, opens it to direct writes */
}

/* The acceptor's decision, net_kernel's rules in small (see probe_dist). */
static int decide(conn_t *c, otpc_err_t *err) {
  otpc_node_t *n = c->node;
  otpc__hs_status_t s = OTPC__HS_OK;
  otpc_atom_t a;
  if (c->hs.peer_name_me ||
      otpc_atom_intern(c->hs.peer_name, c->hs.peer_name_len, &a) != 0)
    return otpc__hs_decide(&c->hs, OTPC__HS_NOT_ALLOWED, NULL, 0, err);
  peer_t *p = peer_get(n, a, true);
  if (p == NULL)
    return otpc__hs_decide(&c->hs, OTPC__HS_NOK, NULL, 0, err);
  conn_t *o = p->c;
  if (o != NULL && o->state == C_UP) {
    s = OTPC__HS_ALIVE;
  } else if (o != NULL) {
    if (strcmp(n->name, c->hs.peer_name) > 0) {
      s = OTPC__HS_NOK;
    } else {
      s = OTPC__HS_OK_SIMULTANEOUS;
      p->c = NULL; /* keep the pending signals for this connection */
      conn_close(o, "handshake with %s failed: %s",
                 "simultaneous connect, the peer's attempt wins");
    }
  }
  if (s == OTPC__HS_OK || s == OTPC__HS_OK_SIMULTANEOUS ||
      s == OTPC__HS_ALIVE) {
    c->peer = p;
    if (s != OTPC__HS_ALIVE)
      p->c = c;
  }
  return otpc__hs_decide(&c->hs, s, NULL, 0, err);
}

static size_t feed_hs(conn_t *c, const uint8_t *b, size_t len) {
  size_t off = 0;
  otpc_err_t err;
  while (off < len && !c->closing && c->state == C_HS) {
    size_t used;
    int ev = otpc__hs_feed(&c->hs, b + off, len - off, &used, &err);
    off += used;
    if (ev == OTPC__HS_EV_PEER_NAME) {
      snprintf(c->who, sizeof c->who, "%s", c->hs.peer_name);
      ev = decide(c, &err);
    } else if (ev == OTPC__HS_EV_ALIVE) {
      bool up =
          c->peer->c != NULL && c->peer->c != c && c->peer->c->state == C_UP;
      ev = otpc__hs_decide(&c->hs, up ? OTPC__HS_NOK : OTPC__HS_OK, NULL, 0,
                           &err);
    }
    conn_raw(c, c->hs.out.data, c->hs.out.len);
    c->hs.out.len = 0;
    if (ev < 0)
      conn_close(c, "handshake with %s failed: %s", err.msg);
    else if (ev == OTPC__HS_EV_REFUSED)
      conn_close(c, "handshake with %s failed: %s", "refused");
    else if (ev == OTPC__HS_EV_DONE) {
      if (c->peer == NULL || (c->peer->c != NULL && c->peer->c != c &&
                              c->peer->c->state != C_UP)) {
        conn_close(c, "handshake with %s failed: %s", "superseded");
        break;
      }
      on_up(c);
    }
  }
  return off;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  buf->base = malloc(65536);
  buf->len = buf->base ? 65536 : 0;
}

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  conn_t *c = s->data;
  if (nread < 0) {
    const char *why =
        nread != UV_EOF ? uv_strerror((int)nread)
        : c->state == C_HS && c->hs_init && otpc__hs_awaits_ack(&c->hs)
            ? "connection closed by peer after our challenge reply: it "
              "refused our digest (wrong cookie)"
            : "connection closed by peer";
    conn_close(
        c, c->state == C_UP ? "down %s: %s" : "handshake with %s failed: %s",
        why);
  } else if (nread > 0 && !c->closing) {
    const uint8_t *b = (const uint8_t *)buf->base;
    size_t len = (size_t)nread, off = 0;
    c->last_in = now_ms(c->node);
    if (c->state == C_HS)
      off = feed_hs(c, b, len);
    if (!c->closing && c->state == C_UP && off < len) {
      otpc_framer_feed(&c->fr, b + off, len - off);
      const uint8_t *f;
      size_t flen;
      otpc_err_t err;
      int rc = 0;
      while (!c->closing &&
             (rc = otpc_framer_next(&c->fr, &f, &flen, &err)) == 1)
        on_frame(c, f, flen);
      if (rc < 0)
        conn_close(c, "down %s: bad frame: %s", err.msg);
    }
  }
  free(buf->base);
}

static void on_connection(uv_stream_t *l, int status) {
  otpc_node_t *n = l->data;
  if (status < 0)
    return;
  conn_t *c = conn_new(n, false, "?");
  if (c == NULL)
    return;
  if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
    conn_close(c, "handshake with %s failed: %s", "accept");
    return;
  }
  struct sockaddr_storage sa;
  int sl = sizeof sa;
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &sl) == 0 &&
      sa.ss_family == AF_INET) {
    struct sockaddr_in *in = (struct sockaddr_in *)&sa;
    char ip[64];
    uv_ip4_name(in, ip, sizeof ip);
    snprintf(c->who, sizeof c->who, "%s:%u", ip, (unsigned)ntohs(in->sin_port));
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (conn_hs_init(c, NULL) == 0)
    uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

static void on_connected(uv_connect_t *req, int status) {
  conn_t *c = req->data;
  if (c->closing)
    return;
  if (status < 0) {
    conn_close(c, "connect %s failed: %s", uv_strerror(status));
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  if (conn_hs_init(c, c->who) != 0)
    return;
  conn_raw(c, c->hs.out.data, c->hs.out.len);
  c->hs.out.len = 0;
  uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
}

/* --------------------------------------------------------------- epmd */

static int tcp_connect_blocking(const char *host, uint16_t port) {
  struct addrinfo hints = {0}, *res;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  char ps[8];
  snprintf(ps, sizeof ps, "%u", (unsigned)port);
  if (getaddrinfo(host, ps, &hints, &res) != 0)
    return -1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  return fd;
}

typedef int (*epmd_dec_fn)(const uint8_t *p, size_t n, void *ctx,
                           otpc_err_t *err);

static int epmd_call(int fd, const otpc_buf_t *req, epmd_dec_fn dec, void *ctx,
                     otpc_err_t *err) {
  const uint8_t *p = req->data;
  size_t left = req->len;
  while (left > 0) {
    ssize_t w = write(fd, p, left);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return 0;
    p += w;
    left -= (size_t)w;
  }
  otpc_buf_t buf = {0};
  int rc = 0;
  for (;;) {
    uint8_t b[512];
    ssize_t r = read(fd, b, sizeof b);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      break;
    otpc_buf_append(&buf, b, (size_t)r);
    rc = dec(buf.data, buf.len, ctx, err);
    if (rc != 0)
      break;
  }
  otpc_buf_free(&buf);
  return rc;
}

typedef struct {
  uint8_t result;
  uint32_t creation;
} epmd_ans_t;

static int dec_alive2(const uint8_t *p, size_t n, void *ctx, otpc_err_t *err) {
  epmd_ans_t *a = ctx;
  return otpc__epmd_dec_alive2_resp(p, n, &a->result, &a->creation, err);
}

/* The node's address from its host's epmd: connect, or give up on it. */
static void on_looked_up(void *ud, int rc, const struct sockaddr_in *addr,
                         const char *why) {
  peer_t *p = ud;
  otpc_node_t *n = p->nd;
  p->looking = false;
  if (p->c != NULL)
    return; /* it connected to us meanwhile */
  size_t len;
  const char *name = otpc_atom_text(p->node, &len);
  if (rc == 0) {
    char who[OTPC__HS_MAX_NAME + 1];
    snprintf(who, sizeof who, "%.*s", (int)len, name);
    conn_t *c = conn_new(n, true, who);
    if (c == NULL) {
      peer_down(n, p, false, false);
      return;
    }
    c->state = C_DIAL;
    c->peer = p;
    p->c = c;
    c->creq.data = c;
    if (uv_tcp_connect(&c->creq, &c->tcp, (const struct sockaddr *)addr,
                       on_connected) != 0)
      conn_close(c, "connect %s failed: %s", "connect");
    return;
  }
  logf_(n, "connect %.*s failed: %s", (int)len, name, why);
  peer_down(n, p, false, false);
}

/* Dials a node: its port from the epmd on its host, asked without
 * blocking the loop (epmd_uv.h), then a non-blocking connect. */
static void dial(otpc_node_t *n, peer_t *p) {
  size_t len;
  const char *name = otpc_atom_text(p->node, &len);
  const char *at = memchr(name, '@', len);
  char host[256];
  int rc = OTPC_EINVAL;
  if (at != NULL && at != name && (size_t)(at + 1 - name) < len &&
      len - (size_t)(at + 1 - name) < sizeof host) {
    size_t hl = len - (size_t)(at + 1 - name);
    memcpy(host, at + 1, hl);
    host[hl] = 0;
    p->nd = n;
    p->looking = true;
    rc = otpc__epmd_lookup(&n->lookups, host, n->o.epmd_port, name,
                           (size_t)(at - name), on_looked_up, p);
  }
  if (rc != 0) {
    p->looking = false;
    logf_(n, "connect %.*s failed: %s", (int)len, name,
          "not a node name alive@host");
    peer_down(n, p, false, false);
  }
}

static void on_epmd(uv_poll_t *h, int status, int events) {
  otpc_node_t *n = h->data;
  (void)status;
  (void)events;
  logf_(n, "epmd closed our registration");
  uv_poll_stop(h);
}

/* --------------------------------------------------------------- ticks */

/* Once a second (or ticktime/4 when shorter): setup timeouts, our ticks
 * when nothing else went out for ticktime/4, and a peer silent for a whole
 * ticktime dropped, as net_kernel does. */
static void on_timer(uv_timer_t *t) {
  otpc_node_t *n = t->data;
  uint64_t now = now_ms(n), tick = (uint64_t)n->ticktime * 250;
  for (conn_t *c = n->conns, *next; c != NULL; c = next) {
    next = c->next;
    if (c->closing)
      continue;
    if (c->state != C_UP) {
      if (now >= c->deadline)
        conn_close(c, "handshake with %s failed: %s", "setup timeout");
    } else if (now - c->last_in >= (uint64_t)n->ticktime * 1000) {
      conn_close(c, "down %s: %s", "net_tick_timeout");
    } else if (now - c->last_out >= tick) {
      static const uint8_t z[4];
      conn_raw(c, z, 4);
    }
  }
}

/* -------------------------------------------------------- net_kernel */

static void nk_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)state;
  otpc_pid_t from;
  otpc_term_t tag;
  if (otpc_term_match(otpc_msg_term(msg), NULL,
                      "{'$gen_call', {~p, ~t}, {is_auth, _}}", &from,
                      &tag) == 0)
    otpc_sendf(self, from, "{~t, yes}", &tag);
}

static const otpc_proc_class_t nk_class = {.name = "net_kernel",
                                           .handle = nk_handle};

/* ----------------------------------------------------------- lifecycle */

static void *loop_main(void *arg) {
  otpc_node_t *n = arg;
  uv_run(&n->loop, UV_RUN_DEFAULT);
  return NULL;
}

static void on_rt_log(void *ud, int level, const char *text) {
  (void)level;
  logf_(ud, "%s", text);
}

int otpc_node_start(const otpc_node_opts_t *opts, otpc_node_t **out,
                    otpc_err_t *err) {
  otpc_node_t *n = calloc(1, sizeof *n);
  if (n == NULL)
    return OTPC_ENOMEM;
  n->o = *opts;
  n->epmd_fd = -1;
  n->ticktime = opts->ticktime ? opts->ticktime : 60;
  n->max_msg = opts->max_message_size ? opts->max_message_size : 64u << 20;
  n->busy_limit = opts->busy_limit ? opts->busy_limit : 1u << 20;
  if (n->o.epmd_port == 0) {
    const char *e = getenv("ERL_EPMD_PORT");
    long v = e ? strtol(e, NULL, 10) : 0;
    n->o.epmd_port = v > 0 && v < 65536 ? (uint16_t)v : OTPC__EPMD_PORT;
  }
  snprintf(n->name, sizeof n->name, "%s", opts->name ? opts->name : "");
  int rc = otpc__node_name_check(n->name, strlen(n->name), err);
  if (rc != 0) {
    free(n);
    return rc;
  }
  if (opts->cookie != NULL) {
    snprintf(n->cookie, sizeof n->cookie, "%s", opts->cookie);
  } else {
    char path[1024];
    rc = otpc__cookie_default_path(path, sizeof path);
    if (rc == 0)
      rc = otpc__cookie_read_or_create(path, n->cookie, sizeof n->cookie, err);
    if (rc != 0) {
      free(n);
      return rc;
    }
  }
  n->flags = OTPC__DFLAGS_OTPC | (opts->hidden ? 0 : OTPC__DFLAG_PUBLISHED);
  pthread_mutex_init(&n->mu, NULL);
  pthread_cond_init(&n->cv, NULL);
  n->ctail = &n->cmds;
  n->rtail = &n->recs;
  n->deliver = true;
  otpc_atom("noproc", &n->a_noproc);
  otpc_atom("noconnection", &n->a_noconnection);
  otpc_atom("notsup", &n->a_notsup);
  otpc_msg_build(&n->m_noproc, NULL, "noproc");
  otpc_msg_build(&n->m_noconnection, NULL, "noconnection");
  otpc_msg_build(&n->m_monitor_opt, NULL, "[monitor]");
  uv_loop_init(&n->loop);

  /* Listen on any address, an ephemeral port. */
  struct sockaddr_in sa;
  uv_ip4_addr("0.0.0.0", 0, &sa);
  uv_tcp_init(&n->loop, &n->listener);
  n->listener.data = n;
  int sl = sizeof sa;
  if ((rc = uv_tcp_bind(&n->listener, (struct sockaddr *)&sa, 0)) != 0 ||
      (rc = uv_listen((uv_stream_t *)&n->listener, 128, on_connection)) != 0 ||
      (rc = uv_tcp_getsockname(&n->listener, (struct sockaddr *)&sa, &sl)) !=
          0) {
    err_set(err, OTPC_EINVAL, "listen: %s", uv_strerror(rc));
    goto fail;
  }
  uint16_t port = ntohs(sa.sin_port);

  n->lookups.loop = &n->loop;
  n->lookups.timeout_ms = SETUP_MS;
  size_t alive = (size_t)(strchr(n->name, '@') - n->name);
  /* Register; the socket stays open for the node's life. When nothing
   * answers on the epmd port, serve it ourselves (a real epmd that came
   * up in between wins: then we register with it). */
  n->epmd_fd = tcp_connect_blocking("127.0.0.1", n->o.epmd_port);
  if (n->epmd_fd < 0) {
    otpc_err_t herr = {0};
    if (otpc__epmd_host_start(&n->loop, n->o.epmd_port, &n->epmd_host, &herr) ==
        0) {
      rc = otpc__epmd_host_register(n->epmd_host, n->name, alive, port,
                                    &n->creation, err);
      if (rc != 0)
        goto fail;
      logf_(n, "no epmd answered on port %u: serving it",
            (unsigned)n->o.epmd_port);
      goto registered;
    }
    n->epmd_fd = tcp_connect_blocking("127.0.0.1", n->o.epmd_port);
  }
  if (n->epmd_fd < 0) {
    err_set(err, OTPC_EINVAL, "no epmd on port %u", (unsigned)n->o.epmd_port);
    goto fail;
  }
  otpc_buf_t req = {0};
  epmd_ans_t a = {0};
  rc = otpc__epmd_enc_alive2(&req, port, OTPC__EPMD_TYPE_NORMAL, n->name, alive,
                             NULL, 0);
  if (rc == 0)
    rc = epmd_call(n->epmd_fd, &req, dec_alive2, &a, err);
  otpc_buf_free(&req);
  if (rc <= 0 || a.result != 0) {
    if (rc >= 0)
      err_set(err, OTPC_EINVAL, "epmd refused %s (%s)", n->name,
              rc > 0 ? "name taken" : "epmd closed");
    goto fail;
  }
  n->creation = a.creation;
registered:;

  otpc_rt_opts_t ro = {.schedulers = opts->schedulers,
                       .node = n->name,
                       .creation = n->creation,
                       .log = on_rt_log,
                       .log_ud = n};
  if ((rc = otpc_rt_start(&ro, &n->rt)) != 0) {
    err_set(err, rc, "runtime: %s", otpc_strerror(rc));
    goto fail;
  }
  n->self = otpc_rt_node(n->rt);
  n->ops = (otpc__remote_ops_t){.send = op_send,
                                .link = op_link,
                                .unlink = op_unlink,
                                .exit = op_exit,
                                .monitor = op_monitor,
                                .demonitor = op_demonitor,
                                .down = op_down,
                                .reg_send = op_reg_send,
                                .monitor_name = op_monitor_name,
                                .alias_send = op_alias_send};
  otpc__rt_set_remote(n->rt, &n->ops, n);
  otpc_spawn_opts_t so = {.name = "net_kernel"};
  otpc_pid_t nk;
  otpc_rt_spawn(n->rt, &nk_class, NULL, &so, &nk);

  uv_async_init(&n->loop, &n->async, on_async);
  n->async.data = n;
  uv_timer_init(&n->loop, &n->timer);
  n->timer.data = n;
  uint64_t every = (uint64_t)n->ticktime * 250;
  if (every > 1000)
    every = 1000;
  uv_timer_start(&n->timer, on_timer, every, every);
  if (n->epmd_host == NULL) {
    uv_poll_init(&n->loop, &n->epmd_poll, n->epmd_fd);
    n->epmd_poll.data = n;
    uv_poll_start(&n->epmd_poll, UV_READABLE | UV_DISCONNECT, on_epmd);
  }
  if (pthread_create(&n->thread, NULL, loop_main, n) != 0) {
    err_set(err, OTPC_ENOMEM, "cannot start the loop thread");
    goto fail;
  }
  *out = n;
  return 0;
fail:
  /* Partial start: only reached before the loop thread runs. */
  if (n->rt != NULL)
    otpc_rt_stop(n->rt);
  if (n->epmd_fd >= 0)
    close(n->epmd_fd);
  otpc__epmd_host_close(n->epmd_host);
  uv_close((uv_handle_t *)&n->listener, NULL);
  if (uv_is_active((uv_handle_t *)&n->timer) || n->timer.data != NULL) {
    uv_close((uv_handle_t *)&n->timer, NULL);
    uv_close((uv_handle_t *)&n->async, NULL);
    if (n->epmd_host == NULL)
      uv_close((uv_handle_t *)&n->epmd_poll, NULL);
  }
  uv_run(&n->loop, UV_RUN_DEFAULT);
  uv_loop_close(&n->loop);
  otpc_msg_unref(n->m_noproc);
  otpc_msg_unref(n->m_noconnection);
  otpc_msg_unref(n->m_monitor_opt);
  free(n);
  return err->code ? err->code : OTPC_EINVAL;
}

otpc_rt_t *otpc_node_rt(otpc_node_t *n) {
  return n->rt;
}

bool otpc_node_serves_epmd(const otpc_node_t *n) {
  return n->epmd_host != NULL;
}

/* The node of a process's runtime, or NULL if it is not a node's. */
static otpc_node_t *node_of(otpc_proc_t *self) {
  void *ud;
  const otpc__remote_ops_t *ops = otpc__rt_remote(otpc_proc_rt(self), &ud);
  return ops != NULL && ops->send == op_send ? ud : NULL;
}

int otpc__node_spawn_request(otpc_proc_t *self, otpc_atom_t node,
                             const otpc_ref_t *ref, otpc_atom_t mod,
                             otpc_atom_t fun, otpc_msg_t *args, otpc_pid_t gl) {
  otpc_node_t *n = node_of(self);
  if (n == NULL || ref == NULL || args == NULL)
    return OTPC_EINVAL;
  cmd_t *k = cmd_new(K_SPAWNREQ, otpc_self(self), otpc__node_pid(node), ref,
                     otpc_msg_ref(args));
  if (k == NULL)
    return OTPC_ENOMEM;
  k->mod = mod;
  k->fun = fun;
  k->gl = gl;
  return push_cmd(n, k);
}

/* A monitor_node or monitor_nodes request of a process, for the loop. */
static int node_cmd(otpc_proc_t *self, int kind, otpc_atom_t node, bool on,
                    bool all) {
  otpc_node_t *n = self != NULL ? node_of(self) : NULL;
  if (n == NULL || (kind == K_MONNODE && node == OTPC_ATOM_NONE))
    return OTPC_EINVAL;
  cmd_t *k = cmd_new(kind, otpc_self(self), otpc__node_pid(node), NULL, NULL);
  if (k == NULL)
    return OTPC_ENOMEM;
  k->on = on;
  k->all = all;
  return push_cmd(n, k);
}

int otpc_monitor_node(otpc_proc_t *self, otpc_atom_t node, bool on) {
  return node_cmd(self, K_MONNODE, node, on, false);
}

int otpc_monitor_nodes(otpc_proc_t *self, bool on, bool hidden_too) {
  return node_cmd(self, K_MONNODES, OTPC_ATOM_NONE, on, hidden_too);
}

int otpc_node_list(otpc_node_t *n, unsigned which, otpc_atom_t **nodes,
                   size_t *count) {
  if (n == NULL || nodes == NULL || count == NULL)
    return OTPC_EINVAL;
  pthread_mutex_lock(&n->mu);
  otpc_atom_t *v = malloc((n->up.n + 1) * sizeof *v);
  size_t k = 0;
  for (size_t i = 0; v != NULL && i < n->up.n; i++)
    if (which & (n->up.v[i].hidden ? OTPC_NODES_HIDDEN : OTPC_NODES_VISIBLE))
      v[k++] = n->up.v[i].node;
  pthread_mutex_unlock(&n->mu);
  if (v == NULL)
    return OTPC_ENOMEM;
  *nodes = v;
  *count = k;
  return 0;
}

size_t otpc_node_queued(otpc_node_t *n, otpc_atom_t node) {
  size_t bytes = 0;
  pthread_mutex_lock(&n->mu);
  for (size_t i = 0; i < n->queued.n; i++)
    if (n->queued.v[i].node == node)
      bytes = n->queued.v[i].bytes;
  pthread_mutex_unlock(&n->mu);
  return bytes;
}

const char *otpc_node_name(const otpc_node_t *n) {
  return n->name;
}

void otpc_node_stop(otpc_node_t *n) {
  /* 1. The loop stops delivering to the runtime; 2. the runtime stops (its
   * exits to remote pids still go out through the queue); 3. the loop
   * closes everything and ends. */
  pthread_mutex_lock(&n->mu);
  n->quiesce = true;
  pthread_mutex_unlock(&n->mu);
  uv_async_send(&n->async);
  pthread_mutex_lock(&n->mu);
  while (!n->quiesced)
    pthread_cond_wait(&n->cv, &n->mu);
  pthread_mutex_unlock(&n->mu);
  otpc_rt_stop(n->rt);
  pthread_mutex_lock(&n->mu);
  n->shutdown = true;
  pthread_cond_broadcast(&n->cv); /* senders waiting on back-pressure */
  pthread_mutex_unlock(&n->mu);
  uv_async_send(&n->async);
  pthread_join(n->thread, NULL);
  uv_loop_close(&n->loop);
  if (n->epmd_fd >= 0)
    close(n->epmd_fd);
  while (n->peers != NULL) {
    peer_t *p = n->peers;
    n->peers = p->next;
    peer_free(p);
  }
  while (n->cmds != NULL) {
    cmd_t *k = n->cmds;
    n->cmds = k->next;
    cmd_free(k);
  }
  while (n->recs != NULL) {
    cmd_t *k = n->recs;
    n->recs = k->next;
    cmd_free(k);
  }
  otpc_msg_unref(n->m_noproc);
  otpc_msg_unref(n->m_noconnection);
  otpc_msg_unref(n->m_monitor_opt);
  free(n->subs.v);
  free(n->up.v);
  free(n->direct.v);
  free(n->queued.v);
  pthread_mutex_destroy(&n->mu);
  pthread_cond_destroy(&n->cv);
  free(n);
}
