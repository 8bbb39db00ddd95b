/* probe_dist: a throwaway C node that proves the sans-IO distribution pieces
 * (cnode/dist/: epmd_proto, handshake, cookie, dist_frame, dist_ctl) live
 * against real OTP 25 nodes, before they are wired to libuv. It is a probe,
 * not the product: one thread, blocking sockets, one poll() loop, no
 * runtime. Driven by test/dist_probe_SUITE.erl.
 *
 *   probe_dist --sname NAME[@HOST] [--cookie C] [--hidden] [--ticktime S]
 *              [--no-fragments] [--connect NODE [--send REGNAME]]
 *
 * It registers NAME with epmd ($ERL_EPMD_PORT, default 4369) and keeps that
 * socket open, listens, prints "ready NAME@HOST", accepts and dials nodes
 * through the handshake state machine, answers ticks and sends its own,
 * and prints one line per control message it receives:
 *   recv <DOP name> <control> [payload]
 * It answers net_kernel's {is_auth, _} call (so net_adm:ping gives pong),
 * echoes {Pid, Term} sent to its registered name `echo` as {echo, Self,
 * Term}, answers MONITOR_P of unknown names (and of pids other than its
 * one pid) with MONITOR_P_EXIT noproc, LINK to such pids with an exit
 * noproc, and acknowledges UNLINK_ID. With --connect it dials NODE once
 * ready and, with --send, sends {hello, Self, OurNode} to REGNAME there.
 * --no-fragments leaves FRAGMENTS out of its flags, so that a BEAM speaks
 * 'p' pass-through framing with it, as with ei.
 *
 * Its other lines: "listen PORT creation N", "up NODE in|out hidden|visible
 * flags 0x..", "down NODE: why", "handshake with NODE|ADDR failed: why" (or
 * "refused: status"), "connect NODE failed: why", "recv tick NODE",
 * "fragments N seq 0x.." (a first fragment) and "reassembled".
 *
 * What the connection layer of the product takes from here is the order of
 * the steps (see conn_read): handshake bytes until DONE, the bytes after the
 * last handshake packet into a 4-byte framer, each frame body through
 * otpc__dist_in_frame, each message through otpc__dctl_decode. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "otpc/frame.h"
#include "otpc/term.h"

#include "../../cnode/dist/cookie.h"
#include "../../cnode/dist/dist_ctl.h"
#include "../../cnode/dist/dist_frame.h"
#include "../../cnode/dist/epmd_proto.h"
#include "../../cnode/dist/handshake.h"

#define MAX_CONNS 64
#define SETUP_MS 7000         /* net_setuptime's default */
#define MAX_FRAME (65u << 20) /* 64 MiB messages and their headers */
#define PRINT_MAX 2000        /* printed bytes of a term, then "..." */

enum { C_HS = 1, C_UP };

typedef struct conn {
  int fd;
  int state;
  bool initiator, dead;
  char who[OTPC__HS_MAX_NAME + 1]; /* peer name, or address until known */
  otpc__hs_t hs;
  otpc_framer_t fr;
  otpc__dist_in_t in;
  otpc__dist_mode_t mode;
  otpc_atom_t peer;
  int64_t deadline; /* handshake: ms */
  int64_t last_in, last_out;
} conn_t;

static struct {
  char name[OTPC__HS_MAX_NAME + 1]; /* alive@host */
  char cookie[256];
  uint64_t flags;
  uint32_t creation;
  unsigned ticktime; /* s; a tick goes out every ticktime/4 */
  const char *send_to;
  otpc_pid_t self;
  otpc_atom_t a_net_kernel, a_echo;
  otpc_buf_t noproc;
  uint64_t seq;
  int listen_fd, epmd_fd;
  conn_t conns[MAX_CONNS];
  size_t nconns;
} P;

static volatile sig_atomic_t stopping;

static void on_signal(int sig) {
  (void)sig;
  stopping = 1;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void usage(void) {
  fprintf(stderr,
          "usage: probe_dist --sname NAME[@HOST] [--cookie C] [--hidden]\n"
          "                  [--ticktime SECONDS] [--no-fragments]\n"
          "                  [--connect NODE [--send REGNAME]]\n");
  exit(2);
}

static uint32_t random32(void) {
  uint32_t v = 0;
  int fd = open("/dev/urandom", O_RDONLY);
  if (fd < 0 || read(fd, &v, sizeof v) != (ssize_t)sizeof v)
    v = (uint32_t)now_ms() ^ ((uint32_t)getpid() << 16);
  if (fd >= 0)
    close(fd);
  return v;
}

/* Prints a term into a line, cut at PRINT_MAX bytes. */
static void print_term(otpc_term_t t) {
  static char text[PRINT_MAX + 1];
  int n = otpc_term_snprint(text, sizeof text, t);
  if (n < 0)
    printf("<unprintable: %s>", otpc_strerror(n));
  else if ((size_t)n > PRINT_MAX)
    printf("%s...(%d chars)", text, n);
  else
    fputs(text, stdout);
}

/* ------------------------------------------------------------ sockets */

static int write_all(int fd, const void *p, size_t n) {
  const uint8_t *b = p;
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return -1;
    b += w;
    n -= (size_t)w;
  }
  return 0;
}

static int tcp_connect(const char *host, uint16_t port) {
  struct addrinfo hints = {0}, *res;
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  char ps[8];
  snprintf(ps, sizeof ps, "%u", (unsigned)port);
  if (getaddrinfo(host, ps, &hints, &res) != 0)
    return -1;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd >= 0 && connect(fd, res->ai_addr, res->ai_addrlen) != 0) {
    close(fd);
    fd = -1;
  }
  freeaddrinfo(res);
  if (fd >= 0) {
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  }
  return fd;
}

static uint16_t epmd_port(void) {
  const char *e = getenv("ERL_EPMD_PORT");
  long v = e ? strtol(e, NULL, 10) : 0;
  return v > 0 && v < 65536 ? (uint16_t)v : OTPC__EPMD_PORT;
}

/* Sends one epmd request and reads until `dec` says the response is
 * complete (> 0) or fails (< 0, err filled); *buf holds the response.
 * Returns 0 when epmd closed first. */
typedef int (*epmd_dec_fn)(const uint8_t *p, size_t n, void *ctx,
                           otpc_err_t *err);
static int epmd_call(int fd, const otpc_buf_t *req, otpc_buf_t *buf,
                     epmd_dec_fn dec, void *ctx, otpc_err_t *err) {
  if (write_all(fd, req->data, req->len) != 0)
    return 0;
  for (;;) {
    uint8_t b[512];
    ssize_t r = read(fd, b, sizeof b);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0)
      return 0;
    otpc_buf_append(buf, b, (size_t)r);
    int rc = dec(buf->data, buf->len, ctx, err);
    if (rc != 0)
      return rc;
  }
}

typedef struct {
  uint8_t result;
  uint32_t creation;
  bool found;
  otpc__epmd_node_t node;
} epmd_ans_t;

static int dec_alive2(const uint8_t *p, size_t n, void *ctx, otpc_err_t *err) {
  epmd_ans_t *a = ctx;
  return otpc__epmd_dec_alive2_resp(p, n, &a->result, &a->creation, err);
}

static int dec_port2(const uint8_t *p, size_t n, void *ctx, otpc_err_t *err) {
  epmd_ans_t *a = ctx;
  return otpc__epmd_dec_port2_resp(p, n, &a->found, &a->node, err);
}

/* --------------------------------------------------------- connections */

static conn_t *conn_new(int fd, bool initiator, const char *who,
                        const char *peer_name) {
  if (P.nconns == MAX_CONNS) {
    printf("error: too many connections, dropping %s\n", who);
    close(fd);
    return NULL;
  }
  conn_t *c = &P.conns[P.nconns];
  memset(c, 0, sizeof *c);
  c->fd = fd;
  c->state = C_HS;
  c->initiator = initiator;
  snprintf(c->who, sizeof c->who, "%s", who);
  c->deadline = now_ms() + SETUP_MS;
  otpc__hs_config_t cfg = {.role = initiator ? OTPC__HS_INITIATOR
                                             : OTPC__HS_ACCEPTOR,
                           .name = P.name,
                           .flags = P.flags,
                           .creation = P.creation,
                           .cookie = P.cookie,
                           .peer_name = peer_name,
                           .challenge = random32()};
  otpc_err_t err;
  if (otpc__hs_init(&c->hs, &cfg, &err) != 0) {
    printf("handshake with %s failed: %s\n", who, err.msg);
    otpc__hs_free(&c->hs);
    close(fd);
    return NULL;
  }
  P.nconns++;
  return c;
}

static void conn_close(conn_t *c, const char *fmt, const char *why) {
  if (c->dead)
    return;
  printf(fmt, c->who, why);
  putchar('\n');
  c->dead = true;
}

static void conn_free(conn_t *c) {
  close(c->fd);
  otpc__hs_free(&c->hs);
  if (c->state == C_UP) {
    otpc_framer_free(&c->fr);
    otpc__dist_in_free(&c->in);
  }
}

/* Drops the connections marked dead. */
static void sweep(void) {
  for (size_t i = 0; i < P.nconns;) {
    if (P.conns[i].dead) {
      conn_free(&P.conns[i]);
      P.conns[i] = P.conns[--P.nconns];
    } else {
      i++;
    }
  }
}

static conn_t *find_conn(const char *peer, int state, const conn_t * not ) {
  for (size_t i = 0; i < P.nconns; i++) {
    conn_t *c = &P.conns[i];
    if (c != not &&!c->dead && c->state == state &&
        strcmp(c->hs.peer_name, peer) == 0)
      return c;
  }
  return NULL;
}

static void conn_write(conn_t *c, const void *p, size_t n) {
  if (c->dead || n == 0)
    return;
  if (write_all(c->fd, p, n) != 0)
    conn_close(c, "down %s: %s", "write failed");
  c->last_out = now_ms();
}

/* Sends one control message and its payload (encoded, no 131), in
 * fragments when the peer takes them and the message is over 64 KiB. */
static void send_ctl(conn_t *c, const otpc__dctl_t *d, const uint8_t *payload,
                     size_t plen) {
  otpc_buf_t ctl = {0}, head = {0};
  otpc_err_t err;
  if (otpc__dctl_encode(&ctl, d, &err) != 0) {
    printf("error: cannot encode %s: %s\n", otpc__dop_name((int)d->op),
           err.msg);
    otpc_buf_free(&ctl);
    return;
  }
  otpc_term_t ct = {ctl.data, ctl.len};
  if (c->mode == OTPC__DIST_HDR_FRAG) {
    otpc__dist_frag_t f;
    otpc__dist_frag_init(&f, ++P.seq, ct, payload, plen, 0);
    int more;
    do {
      const uint8_t *chunk;
      size_t clen;
      head.len = 0;
      more = otpc__dist_frag_next(&f, &head, &chunk, &clen);
      if (more < 0)
        break;
      conn_write(c, head.data, head.len);
      conn_write(c, chunk, clen);
    } while (more == 1);
  } else if (otpc__dist_enc_head(&head, c->mode, ct, plen, &err) == 0) {
    conn_write(c, head.data, head.len);
    conn_write(c, payload, plen);
  }
  otpc_buf_free(&ctl);
  otpc_buf_free(&head);
}

/* A message to a pid: SEND_SENDER if negotiated, else SEND. */
static void send_to_pid(conn_t *c, const otpc_pid_t *to, const otpc_buf_t *m) {
  otpc__dctl_t d = {0};
  d.op = (c->hs.flags & OTPC__DFLAG_SEND_SENDER) ? OTPC__DOP_SEND_SENDER
                                                 : OTPC__DOP_SEND;
  d.from = P.self;
  d.to = *to;
  send_ctl(c, &d, m->data, m->len);
}

static bool is_self(const otpc_pid_t *p) {
  return p->node == P.self.node && p->id == P.self.id &&
         p->serial == P.self.serial && p->creation == P.self.creation;
}

static void on_reg_send(conn_t *c, const otpc__dctl_t *d) {
  otpc_pid_t from;
  otpc_term_t tag, term;
  otpc_buf_t m = {0};
  if (d->to_name == P.a_net_kernel &&
      otpc_term_match(d->payload, NULL, "{'$gen_call', {~p, ~t}, {is_auth, _}}",
                      &from, &tag) == 0) {
    if (otpc_term_build(&m, NULL, "{~t, yes}", &tag) == 0)
      send_to_pid(c, &from, &m);
  } else if (d->to_name == P.a_echo &&
             otpc_term_match(d->payload, NULL, "{~p, ~t}", &from, &term) == 0) {
    if (otpc_term_build(&m, NULL, "{echo, ~p, ~t}", &P.self, &term) == 0)
      send_to_pid(c, &from, &m);
  }
  otpc_buf_free(&m);
}

static void on_ctl(conn_t *c, const otpc__dctl_t *d) {
  otpc__dctl_t r = {0};
  otpc_term_t noproc = {P.noproc.data, P.noproc.len};
  switch (d->op) {
  case OTPC__DOP_REG_SEND: on_reg_send(c, d); break;
  case OTPC__DOP_MONITOR_P: {
    bool known = d->to_name != OTPC_ATOM_NONE
                     ? d->to_name == P.a_net_kernel || d->to_name == P.a_echo
                     : is_self(&d->to);
    if (known)
      break;
    r.op = OTPC__DOP_MONITOR_P_EXIT;
    r.from_name = d->to_name; /* a monitor by name names it in the DOWN */
    r.from = d->to;
    r.to = d->from;
    r.ref = d->ref;
    r.reason = noproc;
    send_ctl(c, &r, NULL, 0);
    break;
  }
  case OTPC__DOP_LINK:
    if (is_self(&d->to))
      break;
    r.from = d->to;
    r.to = d->from;
    if (c->hs.flags & OTPC__DFLAG_EXIT_PAYLOAD) {
      r.op = OTPC__DOP_PAYLOAD_EXIT;
      send_ctl(c, &r, P.noproc.data, P.noproc.len);
    } else {
      r.op = OTPC__DOP_EXIT;
      r.reason = noproc;
      send_ctl(c, &r, NULL, 0);
    }
    break;
  case OTPC__DOP_UNLINK_ID:
    r.op = OTPC__DOP_UNLINK_ID_ACK;
    r.id = d->id;
    r.from = d->to;
    r.to = d->from;
    send_ctl(c, &r, NULL, 0);
    break;
  default: break;
  }
}

static uint64_t read64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; i++)
    v = v << 8 | p[i];
  return v;
}

static void on_frame(conn_t *c, const uint8_t *f, size_t len) {
  otpc__dist_msg_t m;
  otpc_err_t err;
  int rc = otpc__dist_in_frame(&c->in, f, len, &m, &err);
  if (rc < 0) {
    conn_close(c, "down %s: bad frame: %s", err.msg);
    return;
  }
  if (rc == OTPC__DIST_TICK) {
    printf("recv tick %s\n", c->who);
    otpc_buf_t t = {0};
    otpc__dist_enc_tick(&t);
    conn_write(c, t.data, t.len);
    otpc_buf_free(&t);
    return;
  }
  if (rc == OTPC__DIST_PARTIAL && f[1] == 69) /* a first fragment */
    printf("fragments %llu seq 0x%llx\n", (unsigned long long)read64(f + 10),
           (unsigned long long)read64(f + 2));
  if (rc != OTPC__DIST_MSG)
    return;
  if (m.owned != NULL)
    printf("reassembled\n");
  otpc__dctl_t d;
  rc = otpc__dctl_decode(m.ctl, m.payload, c->peer, &d, &err);
  if (rc < 0) {
    conn_close(c, "down %s: bad control message: %s", err.msg);
  } else {
    printf("recv %s ", otpc__dop_name((int)d.op));
    print_term(m.ctl);
    if (m.payload.p != NULL) {
      putchar(' ');
      print_term(m.payload);
    }
    putchar('\n');
    on_ctl(c, &d);
  }
  free(m.owned);
}

static void on_up(conn_t *c) {
  otpc_err_t err;
  c->state = C_UP;
  snprintf(c->who, sizeof c->who, "%s", c->hs.peer_name);
  c->mode = otpc__dist_mode(c->hs.flags);
  otpc_framer_init(&c->fr, 4, MAX_FRAME);
  otpc__dist_in_init(&c->in, c->mode, 0);
  c->last_in = c->last_out = now_ms();
  if (otpc_atom_intern(c->hs.peer_name, c->hs.peer_name_len, &c->peer) != 0) {
    conn_close(c, "down %s: %s", "peer name is no atom");
    return;
  }
  if (c->hs.peer_status == OTPC__HS_ALIVE) {
    /* The peer said its old connection is gone ("strue"). */
    conn_t *old = find_conn(c->hs.peer_name, C_UP, c);
    if (old != NULL)
      conn_close(old, "down %s: %s", "replaced by a new connection");
  }
  printf("up %s %s %s flags 0x%llx\n", c->who, c->initiator ? "out" : "in",
         (c->hs.flags & OTPC__DFLAG_PUBLISHED) ? "visible" : "hidden",
         (unsigned long long)c->hs.flags);
  if (c->initiator && P.send_to != NULL) {
    otpc__dctl_t d = {0};
    otpc_buf_t m = {0};
    d.op = OTPC__DOP_REG_SEND;
    d.from = P.self;
    if (otpc_atom(P.send_to, &d.to_name) == 0 &&
        otpc_term_build(&m, &err, "{hello, ~p, ~A}", &P.self, P.self.node) == 0)
      send_ctl(c, &d, m.data, m.len);
    otpc_buf_free(&m);
  }
}

/* The acceptor's decision, net_kernel's rules in small: a connection up to
 * that node is "alive"; a dial of ours under way loses to a peer with a
 * greater name (ok_simultaneous, ours is dropped) and wins otherwise
 * (nok); we do not name NAME_ME nodes. */
static int decide(conn_t *c, otpc_err_t *err) {
  otpc__hs_status_t s = OTPC__HS_OK;
  conn_t *o;
  if (c->hs.peer_name_me) {
    s = OTPC__HS_NOT_ALLOWED;
  } else if (find_conn(c->hs.peer_name, C_UP, c) != NULL) {
    s = OTPC__HS_ALIVE;
  } else if ((o = find_conn(c->hs.peer_name, C_HS, c)) != NULL &&
             o->initiator) {
    if (strcmp(P.name, c->hs.peer_name) > 0) {
      s = OTPC__HS_NOK;
    } else {
      s = OTPC__HS_OK_SIMULTANEOUS;
      conn_close(o, "handshake with %s failed: %s",
                 "simultaneous connect, the peer's attempt wins");
    }
  }
  return otpc__hs_decide(&c->hs, s, NULL, 0, err);
}

static const char *status_name(otpc__hs_status_t s) {
  switch (s) {
  case OTPC__HS_OK: return "ok";
  case OTPC__HS_OK_SIMULTANEOUS: return "ok_simultaneous";
  case OTPC__HS_NOK: return "nok";
  case OTPC__HS_NOT_ALLOWED: return "not_allowed";
  case OTPC__HS_ALIVE: return "alive";
  case OTPC__HS_NAMED: return "named";
  }
  return "?";
}

/* Feeds the handshake; returns how many bytes it took (the rest belongs
 * to the framed traffic after it). */
static size_t feed_hs(conn_t *c, const uint8_t *b, size_t n) {
  size_t off = 0;
  otpc_err_t err;
  while (off < n && !c->dead && c->state == C_HS) {
    size_t used;
    int ev = otpc__hs_feed(&c->hs, b + off, n - off, &used, &err);
    off += used;
    if (ev == OTPC__HS_EV_PEER_NAME) {
      snprintf(c->who, sizeof c->who, "%s", c->hs.peer_name);
      ev = decide(c, &err);
    } else if (ev == OTPC__HS_EV_ALIVE) {
      bool up = find_conn(c->hs.peer_name, C_UP, c) != NULL;
      ev = otpc__hs_decide(&c->hs, up ? OTPC__HS_NOK : OTPC__HS_OK, NULL, 0,
                           &err);
    }
    conn_write(c, c->hs.out.data, c->hs.out.len);
    c->hs.out.len = 0;
    if (ev < 0)
      conn_close(c, "handshake with %s failed: %s", err.msg);
    else if (ev == OTPC__HS_EV_REFUSED)
      conn_close(c, "handshake with %s refused: %s",
                 status_name(c->hs.peer_status));
    else if (ev == OTPC__HS_EV_DONE)
      on_up(c);
  }
  return off;
}

static void conn_read(conn_t *c) {
  static uint8_t b[65536];
  ssize_t r = read(c->fd, b, sizeof b);
  if (r < 0 && errno == EINTR)
    return;
  if (r <= 0) {
    conn_close(
        c, c->state == C_HS ? "handshake with %s failed: %s" : "down %s: %s",
        r == 0 ? "connection closed by peer" : strerror(errno));
    return;
  }
  c->last_in = now_ms();
  size_t off = 0;
  if (c->state == C_HS)
    off = feed_hs(c, b, (size_t)r);
  if (c->dead || c->state != C_UP || off == (size_t)r)
    return;
  otpc_framer_feed(&c->fr, b + off, (size_t)r - off);
  const uint8_t *f;
  size_t len;
  otpc_err_t err;
  int rc = 0;
  while (!c->dead && (rc = otpc_framer_next(&c->fr, &f, &len, &err)) == 1)
    on_frame(c, f, len);
  if (rc < 0)
    conn_close(c, "down %s: bad frame: %s", err.msg);
}

/* Ticks: one goes out when nothing else did in a tick interval; a peer
 * silent for a whole ticktime is dropped, as net_kernel does. */
static void tick_all(int64_t now) {
  int64_t every = (int64_t)P.ticktime * 250;
  for (size_t i = 0; i < P.nconns; i++) {
    conn_t *c = &P.conns[i];
    if (c->dead)
      continue;
    if (c->state == C_HS) {
      if (now >= c->deadline)
        conn_close(c, "handshake with %s failed: %s", "setup timeout");
      continue;
    }
    if (now - c->last_in >= (int64_t)P.ticktime * 1000) {
      conn_close(c, "down %s: %s", "net_tick_timeout");
    } else if (now - c->last_out >= every) {
      conn_write(c, "\0\0\0\0", 4);
    }
  }
}

static int next_timeout(int64_t now) {
  int64_t t = now + (int64_t)P.ticktime * 250;
  for (size_t i = 0; i < P.nconns; i++) {
    conn_t *c = &P.conns[i];
    int64_t d = c->state == C_HS ? c->deadline
                                 : c->last_out + (int64_t)P.ticktime * 250;
    if (d < t)
      t = d;
  }
  return t <= now ? 0 : (int)(t - now);
}

/* Dials NODE (alive@host): its port from the epmd on host, then the
 * handshake as initiator. */
static void dial(const char *node) {
  const char *at = strchr(node, '@');
  if (at == NULL || at == node || at[1] == 0) {
    printf("connect %s failed: not a node name alive@host\n", node);
    return;
  }
  char host[256];
  snprintf(host, sizeof host, "%s", at + 1);
  otpc_buf_t req = {0}, resp = {0};
  otpc_err_t err = {0};
  epmd_ans_t a = {0};
  int fd = tcp_connect(host, epmd_port());
  int rc = 0;
  if (fd >= 0 && otpc__epmd_enc_port2(&req, node, (size_t)(at - node)) == 0)
    rc = epmd_call(fd, &req, &resp, dec_port2, &a, &err);
  if (fd >= 0)
    close(fd);
  uint16_t port = a.node.port;
  otpc_buf_free(&req);
  otpc_buf_free(&resp);
  if (rc <= 0 || !a.found) {
    printf("connect %s failed: %s\n", node,
           rc < 0   ? err.msg
           : rc > 0 ? "not registered with epmd"
                    : "no answer from epmd");
    return;
  }
  fd = tcp_connect(host, port);
  if (fd < 0) {
    printf("connect %s failed: %s\n", node, strerror(errno));
    return;
  }
  conn_t *c = conn_new(fd, true, node, node);
  if (c != NULL) {
    conn_write(c, c->hs.out.data, c->hs.out.len);
    c->hs.out.len = 0;
  }
}

static void accept_one(void) {
  struct sockaddr_in sa;
  socklen_t sl = sizeof sa;
  int fd = accept(P.listen_fd, (struct sockaddr *)&sa, &sl);
  if (fd < 0)
    return;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  char who[64];
  snprintf(who, sizeof who, "%s:%u", inet_ntoa(sa.sin_addr),
           (unsigned)ntohs(sa.sin_port));
  conn_new(fd, false, who, NULL);
}

/* ------------------------------------------------------------- set up */

static int setup(const char *sname, const char *cookie, uint64_t flags) {
  char host[256] = "";
  const char *at = strchr(sname, '@');
  if (at == NULL) {
    if (gethostname(host, sizeof host - 1) != 0)
      return fprintf(stderr, "probe_dist: no host name\n"), -1;
    host[strcspn(host, ".")] = 0; /* as erl -sname */
    snprintf(P.name, sizeof P.name, "%s@%s", sname, host);
  } else {
    snprintf(P.name, sizeof P.name, "%s", sname);
  }
  otpc_err_t err;
  if (otpc__node_name_check(P.name, strlen(P.name), &err) != 0)
    return fprintf(stderr, "probe_dist: %s\n", err.msg), -1;
  if (cookie != NULL) {
    snprintf(P.cookie, sizeof P.cookie, "%s", cookie);
  } else {
    char path[1024];
    if (otpc__cookie_default_path(path, sizeof path) != 0 ||
        otpc__cookie_read_or_create(path, P.cookie, sizeof P.cookie, &err) != 0)
      return fprintf(stderr, "probe_dist: cookie: %s\n", err.msg), -1;
  }
  P.flags = flags;

  /* Listen on any address, an ephemeral port. */
  P.listen_fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {0};
  sa.sin_family = AF_INET;
  sa.sin_addr.s_addr = htonl(INADDR_ANY);
  socklen_t sl = sizeof sa;
  if (P.listen_fd < 0 || bind(P.listen_fd, (struct sockaddr *)&sa, sl) != 0 ||
      listen(P.listen_fd, 16) != 0 ||
      getsockname(P.listen_fd, (struct sockaddr *)&sa, &sl) != 0)
    return fprintf(stderr, "probe_dist: listen: %s\n", strerror(errno)), -1;
  uint16_t port = ntohs(sa.sin_port);

  /* Register; the socket stays open for the node's life. */
  P.epmd_fd = tcp_connect("127.0.0.1", epmd_port());
  if (P.epmd_fd < 0)
    return fprintf(stderr, "probe_dist: no epmd on port %u\n",
                   (unsigned)epmd_port()),
           -1;
  otpc_buf_t req = {0}, resp = {0};
  epmd_ans_t a = {0};
  size_t alive = (size_t)(strchr(P.name, '@') - P.name);
  int rc = otpc__epmd_enc_alive2(&req, port, OTPC__EPMD_TYPE_NORMAL, P.name,
                                 alive, NULL, 0);
  if (rc == 0)
    rc = epmd_call(P.epmd_fd, &req, &resp, dec_alive2, &a, &err);
  otpc_buf_free(&req);
  otpc_buf_free(&resp);
  if (rc <= 0 || a.result != 0)
    return fprintf(stderr, "probe_dist: epmd refused %s (%s)\n", P.name,
                   rc < 0   ? err.msg
                   : rc > 0 ? "name taken"
                            : "epmd closed"),
           -1;
  P.creation = a.creation;

  otpc_atom(P.name, &P.self.node);
  P.self.id = 100;
  P.self.serial = 0;
  P.self.creation = P.creation;
  otpc_atom("net_kernel", &P.a_net_kernel);
  otpc_atom("echo", &P.a_echo);
  otpc_term_build(&P.noproc, NULL, "noproc");
  printf("listen %u creation %u\n", (unsigned)port, (unsigned)P.creation);
  printf("ready %s\n", P.name);
  return 0;
}

int main(int argc, char **argv) {
  const char *sname = NULL, *cookie = NULL, *connect_to = NULL;
  uint64_t flags = OTPC__DFLAGS_OTPC | OTPC__DFLAG_PUBLISHED;
  P.ticktime = 60;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (strcmp(a, "--hidden") == 0 || strcmp(a, "--no-fragments") == 0) {
      flags &= a[2] == 'h' ? ~OTPC__DFLAG_PUBLISHED : ~OTPC__DFLAG_FRAGMENTS;
      continue;
    }
    if (v == NULL)
      usage();
    if (strcmp(a, "--sname") == 0)
      sname = v;
    else if (strcmp(a, "--cookie") == 0)
      cookie = v;
    else if (strcmp(a, "--connect") == 0)
      connect_to = v;
    else if (strcmp(a, "--send") == 0)
      P.send_to = v;
    else if (strcmp(a, "--ticktime") == 0) {
      char *end;
      long t = strtol(v, &end, 10);
      if (*end != 0 || t < 1 || t > 3600)
        usage();
      P.ticktime = (unsigned)t;
    } else
      usage();
    i++;
  }
  if (sname == NULL || (P.send_to != NULL && connect_to == NULL))
    usage();
  setvbuf(stdout, NULL, _IOLBF, 0);
  signal(SIGPIPE, SIG_IGN);
  struct sigaction sa = {0};
  sa.sa_handler = on_signal;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  if (setup(sname, cookie, flags) != 0)
    return 1;
  if (connect_to != NULL)
    dial(connect_to);

  int status = 0;
  while (!stopping) {
    sweep();
    struct pollfd pf[MAX_CONNS + 2];
    pf[0] = (struct pollfd){.fd = P.listen_fd, .events = POLLIN};
    pf[1] = (struct pollfd){.fd = P.epmd_fd, .events = POLLIN};
    for (size_t i = 0; i < P.nconns; i++)
      pf[i + 2] = (struct pollfd){.fd = P.conns[i].fd, .events = POLLIN};
    size_t n = P.nconns;
    int rc = poll(pf, n + 2, next_timeout(now_ms()));
    if (rc < 0 && errno != EINTR)
      break;
    if (rc > 0) {
      if (pf[1].revents) {
        printf("epmd closed our registration\n");
        status = 1;
        break;
      }
      for (size_t i = 0; i < n; i++)
        if (pf[i + 2].revents)
          conn_read(&P.conns[i]);
      if (pf[0].revents)
        accept_one();
    }
    tick_all(now_ms());
  }
  for (size_t i = 0; i < P.nconns; i++)
    conn_free(&P.conns[i]);
  close(P.listen_fd);
  close(P.epmd_fd);
  otpc_buf_free(&P.noproc);
  return status;
}
