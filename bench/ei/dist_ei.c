/* The baseline of the dist benchmark: a plain erl_interface C node, as
 * users write one today (ei_connect / ei_accept, blocking sockets, one
 * thread), speaking the benchmark's protocol (bench/dist/dist_common.h).
 *
 *   dist_ei server NAME@HOST COOKIE TICKTIME
 *   dist_ei client NAME@HOST COOKIE TICKTIME SERVER_NODE PIDHEX SCEN...
 *
 * TICKTIME is accepted for a uniform command line; ei answers ticks when it
 * reads and sends none of its own. The hol scenario needs two processes on
 * one connection, which a single-threaded ei node does not have: it is
 * refused. The server serves one connection, then exits. */
#include <signal.h>

#include "ei.h"

#include "../dist/dist_common.h"

#define EI_TRY(expr)                                                           \
  do {                                                                         \
    if ((expr) < 0)                                                            \
      dist_fail("%s:%d: %s failed (erl_errno %d)", __FILE__, __LINE__, #expr,  \
                erl_errno);                                                    \
  } while (0)

static void init_node(ei_cnode *ec, const char *full, const char *cookie) {
  char alive[256], host[256];
  const char *at = strchr(full, '@');
  if (at == NULL || (size_t)(at - full) >= sizeof alive ||
      strlen(at + 1) >= sizeof host)
    dist_fail("bad node name '%s', expected alive@host", full);
  memcpy(alive, full, (size_t)(at - full));
  alive[at - full] = '\0';
  strcpy(host, at + 1);
  EI_TRY(ei_init());
  EI_TRY(ei_connect_xinit(ec, host, alive, full, NULL, cookie, 0));
}

/* Waits for the next message (ticks are answered inside ei): 0, or -1
 * when the connection is gone. */
static int recv_msg(int fd, erlang_msg *m, ei_x_buff *x) {
  for (;;) {
    x->index = 0;
    int rc = ei_xreceive_msg(fd, m, x);
    if (rc == ERL_TICK)
      continue;
    if (rc == ERL_ERROR)
      return -1;
    if (m->msgtype == ERL_SEND || m->msgtype == ERL_REG_SEND)
      return 0;
  }
}

static void recv_or_fail(int fd, erlang_msg *m, ei_x_buff *x) {
  if (recv_msg(fd, m, x) != 0)
    dist_fail("connection lost (erl_errno %d)", erl_errno);
}

/* ------------------------------------------------------------- server */

static int server_main(dist_args_t *a) {
  ei_cnode ec;
  init_node(&ec, a->name, a->cookie);
  int port = 0;
  int lfd = ei_listen(&ec, &port, 5);
  EI_TRY(lfd);
  EI_TRY(ei_publish(&ec, port));
  ei_x_buff pidx;
  ei_x_new_with_version(&pidx);
  ei_x_encode_pid(&pidx, ei_self(&ec));
  printf("ready %s ", a->name);
  dist_print_hex((const uint8_t *)pidx.buff, (size_t)pidx.index);
  printf("\n");
  fflush(stdout);
  ErlConnect conn;
  int fd = ei_accept(&ec, lfd, &conn);
  EI_TRY(fd);
  ei_x_buff x, out;
  ei_x_new(&x);
  ei_x_new(&out);
  erlang_msg m;
  int64_t count = 0, bytes = 0, cpu0 = 0;
  /* The client hanging up ends the run. */
  while (recv_msg(fd, &m, &x) == 0) {
    if (count == 0)
      cpu0 = dist_cpu_us();
    int i = 0, ver, arity, type, size;
    char tag[MAXATOMLEN_UTF8];
    if (ei_decode_version(x.buff, &i, &ver) < 0 ||
        ei_decode_tuple_header(x.buff, &i, &arity) < 0 ||
        ei_decode_atom(x.buff, &i, tag) < 0)
      continue;
    if (strcmp(tag, "m") == 0 && arity == 2) {
      count++;
    } else if (strcmp(tag, "b") == 0 && arity == 2 &&
               ei_get_type(x.buff, &i, &type, &size) == 0 &&
               type == ERL_BINARY_EXT) {
      count++;
      bytes += size;
    } else if (strcmp(tag, "fin") == 0 && arity == 2) {
      erlang_pid from;
      EI_TRY(ei_decode_pid(x.buff, &i, &from));
      out.index = 0;
      ei_x_encode_version(&out);
      ei_x_encode_tuple_header(&out, 4);
      ei_x_encode_atom(&out, "fin");
      ei_x_encode_longlong(&out, count);
      ei_x_encode_longlong(&out, bytes);
      ei_x_encode_longlong(&out, count ? dist_cpu_us() - cpu0 : 0);
      EI_TRY(ei_send(fd, &from, out.buff, out.index));
      count = bytes = 0;
    } else if (strcmp(tag, "$gen_call") == 0 && arity == 3) {
      /* {'$gen_call', {From, Tag}, Req} -> From ! {Tag, Req}: Tag and Req
       * are copied as they came. */
      erlang_pid from;
      int n2, t0, t1, r0, r1;
      if (ei_decode_tuple_header(x.buff, &i, &n2) < 0 || n2 != 2 ||
          ei_decode_pid(x.buff, &i, &from) < 0)
        continue;
      t0 = i;
      EI_TRY(ei_skip_term(x.buff, &i));
      t1 = i;
      r0 = i;
      EI_TRY(ei_skip_term(x.buff, &i));
      r1 = i;
      out.index = 0;
      ei_x_encode_version(&out);
      ei_x_encode_tuple_header(&out, 2);
      ei_x_append_buf(&out, x.buff + t0, t1 - t0);
      ei_x_append_buf(&out, x.buff + r0, r1 - r0);
      EI_TRY(ei_send(fd, &from, out.buff, out.index));
    }
  }
  return 0;
}

/* ------------------------------------------------------------- client */

typedef struct client {
  int fd;
  ei_cnode ec;
  erlang_pid server;
  ei_x_buff x, out;
} client_t;

static void fin(client_t *c, int64_t *count, int64_t *cpu_us) {
  ei_x_buff *o = &c->out;
  o->index = 0;
  ei_x_encode_version(o);
  ei_x_encode_tuple_header(o, 2);
  ei_x_encode_atom(o, "fin");
  ei_x_encode_pid(o, ei_self(&c->ec));
  EI_TRY(ei_send(c->fd, &c->server, o->buff, o->index));
  erlang_msg m;
  recv_or_fail(c->fd, &m, &c->x);
  int i = 0, ver, arity;
  char tag[MAXATOMLEN_UTF8];
  long long n, bytes, cpu;
  if (ei_decode_version(c->x.buff, &i, &ver) < 0 ||
      ei_decode_tuple_header(c->x.buff, &i, &arity) < 0 || arity != 4 ||
      ei_decode_atom(c->x.buff, &i, tag) < 0 || strcmp(tag, "fin") != 0 ||
      ei_decode_longlong(c->x.buff, &i, &n) < 0 ||
      ei_decode_longlong(c->x.buff, &i, &bytes) < 0 ||
      ei_decode_longlong(c->x.buff, &i, &cpu) < 0)
    dist_fail("expected {fin, Count, Bytes, CpuUs} from the server");
  *count = n;
  *cpu_us = cpu;
}

/* Encodes once, sends n times (ei_send writes the whole frame each time). */
static void send_n(client_t *c, ei_x_buff *m, long n) {
  for (long i = 0; i < n; i++)
    EI_TRY(ei_send(c->fd, &c->server, m->buff, m->index));
}

static void run_small(client_t *c, long n) {
  ei_x_buff m;
  ei_x_new_with_version(&m);
  ei_x_encode_tuple_header(&m, 2);
  ei_x_encode_atom(&m, "m");
  ei_x_encode_long(&m, 1);
  int64_t c0 = dist_cpu_us(), count, scpu;
  double t0 = dist_now_s();
  send_n(c, &m, n);
  fin(c, &count, &scpu);
  double dt = dist_now_s() - t0;
  int64_t ccpu = dist_cpu_us() - c0;
  ei_x_free(&m);
  if (count != n)
    dist_fail("small: the server counted %lld messages, expected %ld",
              (long long)count, n);
  printf(
      "small_rate=%.0f\nsmall_cpu_client_ns=%.1f\nsmall_cpu_server_ns=%.1f\n",
      (double)n / dt, (double)ccpu * 1000.0 / (double)n,
      (double)scpu * 1000.0 / (double)n);
}

static void run_bin(client_t *c, long size, long total) {
  char *b = malloc((size_t)size);
  if (b == NULL)
    dist_fail("out of memory");
  memset(b, 'x', (size_t)size);
  ei_x_buff m;
  ei_x_new_with_version(&m);
  ei_x_encode_tuple_header(&m, 2);
  ei_x_encode_atom(&m, "b");
  ei_x_encode_binary(&m, b, (long)size);
  free(b);
  long n = total / size;
  int64_t count, scpu;
  double t0 = dist_now_s();
  send_n(c, &m, n);
  fin(c, &count, &scpu);
  double dt = dist_now_s() - t0;
  ei_x_free(&m);
  if (count != n)
    dist_fail("bin: the server counted %lld messages, expected %ld",
              (long long)count, n);
  printf("bin_%ld_mbs=%.1f\n", size, (double)n * (double)size / dt / 1e6);
}

/* gen_server:call as an ei user writes it: {'$gen_call', {Self, Ref}, Req}
 * and the first message back (nothing else is sent to this node). */
static void run_rtt(client_t *c, long k) {
  double *v = malloc(sizeof *v * (size_t)k);
  if (v == NULL)
    dist_fail("out of memory");
  for (long j = 0; j < k; j++) {
    double t0 = dist_now_s();
    erlang_ref ref;
    EI_TRY(ei_make_ref(&c->ec, &ref));
    ei_x_buff *o = &c->out;
    o->index = 0;
    ei_x_encode_version(o);
    ei_x_encode_tuple_header(o, 3);
    ei_x_encode_atom(o, "$gen_call");
    ei_x_encode_tuple_header(o, 2);
    ei_x_encode_pid(o, ei_self(&c->ec));
    ei_x_encode_ref(o, &ref);
    ei_x_encode_atom(o, "ping");
    EI_TRY(ei_send(c->fd, &c->server, o->buff, o->index));
    erlang_msg m;
    recv_or_fail(c->fd, &m, &c->x);
    int i = 0, ver, arity;
    erlang_ref got;
    if (ei_decode_version(c->x.buff, &i, &ver) < 0 ||
        ei_decode_tuple_header(c->x.buff, &i, &arity) < 0 || arity != 2 ||
        ei_decode_ref(c->x.buff, &i, &got) < 0 || got.len != ref.len ||
        memcmp(got.n, ref.n, sizeof ref.n[0] * (size_t)ref.len) != 0)
      dist_fail("rtt: expected {Ref, Reply} with our reference");
    v[j] = (dist_now_s() - t0) * 1e6;
  }
  printf("rtt_p50_us=%.1f\n", dist_percentile(v, (size_t)k, 50));
  printf("rtt_p99_us=%.1f\n", dist_percentile(v, (size_t)k, 99));
  free(v);
}

static int client_main(dist_args_t *a) {
  static client_t c;
  int idx = 0, ver;
  if (ei_decode_version((char *)a->pid_ext, &idx, &ver) < 0 ||
      ei_decode_pid((char *)a->pid_ext, &idx, &c.server) < 0)
    dist_fail("client: the PIDHEX argument is not a pid's external term");
  init_node(&c.ec, a->name, a->cookie);
  c.fd = ei_connect(&c.ec, (char *)a->server_node);
  EI_TRY(c.fd);
  ei_x_new(&c.x);
  ei_x_new(&c.out);
  for (int i = 0; i < a->nsc; i++) {
    const dist_sc_t *sc = &a->sc[i];
    switch (sc->kind) {
    case SC_SMALL: run_small(&c, sc->a); break;
    case SC_BIN: run_bin(&c, sc->a, sc->b); break;
    case SC_RTT: run_rtt(&c, sc->a); break;
    case SC_HOL: break; /* refused by dist_main */
    }
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char **argv) {
  return dist_main(argc, argv, "dist_ei", server_main, client_main, false);
}
