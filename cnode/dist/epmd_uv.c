/* epmd on the node's libuv loop: see epmd_uv.h. */
#include "epmd_uv.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otpc/buf.h"

#include "epmd_proto.h"

/* ------------------------------------------------------------ lookups */

typedef struct epmd_lookup {
  struct epmd_lookup *next;
  otpc__epmd_lookups_t *ls;
  uv_getaddrinfo_t gai;
  uv_tcp_t tcp;
  uv_connect_t creq;
  uv_write_t wreq;
  uv_timer_t timer;
  bool tcp_on, done;
  int refs; /* handles open + a resolution under way; freed at 0 */
  otpc_buf_t req, in;
  struct sockaddr_in addr;
  uint16_t epmd_port;
  char host[256];
  char alive[256];
  otpc__epmd_lookup_cb cb;
  void *ud;
} lookup_t;

static void lookup_unref(lookup_t *l) {
  if (--l->refs > 0)
    return;
  otpc_buf_free(&l->req);
  otpc_buf_free(&l->in);
  free(l);
}

static void on_lookup_closed(uv_handle_t *h) {
  lookup_unref(h->data);
}

/* Calls back once, then closes what is open. */
static void lookup_finish(lookup_t *l, int rc, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void lookup_finish(lookup_t *l, int rc, const char *fmt, ...) {
  if (l->done)
    return;
  l->done = true;
  for (lookup_t **pp = &l->ls->head; *pp != NULL; pp = &(*pp)->next)
    if (*pp == l) {
      *pp = l->next;
      break;
    }
  char why[512] = "";
  if (fmt != NULL) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
  }
  l->cb(l->ud, rc, &l->addr, why);
  /* A resolution under way ends with UV_ECANCELED, or has already run. */
  uv_cancel((uv_req_t *)&l->gai);
  uv_close((uv_handle_t *)&l->timer, on_lookup_closed);
  if (l->tcp_on)
    uv_close((uv_handle_t *)&l->tcp, on_lookup_closed);
}

static void on_lookup_timeout(uv_timer_t *t) {
  lookup_t *l = t->data;
  lookup_finish(l, OTPC_EINVAL, "epmd on %s:%u did not answer in time", l->host,
                (unsigned)l->epmd_port);
}

static void on_lookup_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  buf->base = malloc(512);
  buf->len = buf->base != NULL ? 512 : 0;
}

static void on_lookup_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  lookup_t *l = s->data;
  if (nread > 0 && !l->done) {
    otpc_buf_append(&l->in, buf->base, (size_t)nread);
    bool found = false;
    otpc__epmd_node_t node;
    otpc_err_t err = {0};
    int rc =
        otpc__epmd_dec_port2_resp(l->in.data, l->in.len, &found, &node, &err);
    if (rc < 0) {
      lookup_finish(l, rc, "epmd on %s: %s", l->host, err.msg);
    } else if (rc > 0 && !found) {
      lookup_finish(l, OTPC_ENOTFOUND, "%s is not registered with epmd on %s",
                    l->alive, l->host);
    } else if (rc > 0) {
      l->addr.sin_port = htons(node.port);
      lookup_finish(l, 0, NULL);
    }
  } else if (nread < 0 && !l->done) {
    lookup_finish(l, OTPC_EINVAL, "epmd on %s closed before answering",
                  l->host);
  }
  free(buf->base);
}

static void on_lookup_written(uv_write_t *w, int status) {
  lookup_t *l = w->data;
  if (status < 0 && !l->done)
    lookup_finish(l, OTPC_EINVAL, "epmd on %s: %s", l->host,
                  uv_strerror(status));
}

static void on_lookup_connected(uv_connect_t *c, int status) {
  lookup_t *l = c->data;
  if (l->done)
    return;
  if (status < 0) {
    lookup_finish(l, OTPC_EINVAL, "no epmd on %s:%u (%s)", l->host,
                  (unsigned)l->epmd_port, uv_strerror(status));
    return;
  }
  uv_buf_t b = uv_buf_init((char *)l->req.data, (unsigned)l->req.len);
  l->wreq.data = l;
  int rc = uv_write(&l->wreq, (uv_stream_t *)&l->tcp, &b, 1, on_lookup_written);
  if (rc == 0)
    rc = uv_read_start((uv_stream_t *)&l->tcp, on_lookup_alloc, on_lookup_read);
  if (rc < 0)
    lookup_finish(l, OTPC_EINVAL, "epmd on %s: %s", l->host, uv_strerror(rc));
}

static void on_resolved(uv_getaddrinfo_t *g, int status, struct addrinfo *res) {
  lookup_t *l = g->data;
  if (!l->done) {
    if (status < 0 || res == NULL) {
      lookup_finish(l, OTPC_EINVAL, "cannot resolve %s: %s", l->host,
                    uv_strerror(status < 0 ? status : UV_EAI_NONAME));
    } else {
      l->addr = *(const struct sockaddr_in *)res->ai_addr;
      l->addr.sin_port = htons(l->epmd_port);
      uv_tcp_init(l->ls->loop, &l->tcp);
      l->tcp.data = l;
      l->tcp_on = true;
      l->refs++;
      l->creq.data = l;
      int rc =
          uv_tcp_connect(&l->creq, &l->tcp, (const struct sockaddr *)&l->addr,
                         on_lookup_connected);
      if (rc < 0)
        lookup_finish(l, OTPC_EINVAL, "no epmd on %s:%u (%s)", l->host,
                      (unsigned)l->epmd_port, uv_strerror(rc));
    }
  }
  uv_freeaddrinfo(res);
  lookup_unref(l);
}

int otpc__epmd_lookup(otpc__epmd_lookups_t *ls, const char *host,
                      uint16_t epmd_port, const char *alive, size_t alive_len,
                      otpc__epmd_lookup_cb cb, void *ud) {
  if (ls == NULL || host == NULL || alive == NULL || cb == NULL ||
      strlen(host) >= sizeof((lookup_t *)0)->host ||
      alive_len >= sizeof((lookup_t *)0)->alive)
    return OTPC_EINVAL;
  lookup_t *l = calloc(1, sizeof *l);
  if (l == NULL)
    return OTPC_ENOMEM;
  l->ls = ls;
  l->cb = cb;
  l->ud = ud;
  l->epmd_port = epmd_port;
  snprintf(l->host, sizeof l->host, "%s", host);
  memcpy(l->alive, alive, alive_len);
  int rc = otpc__epmd_enc_port2(&l->req, alive, alive_len);
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_INET;
  hints.ai_socktype = SOCK_STREAM;
  l->gai.data = l;
  if (rc == 0)
    rc = uv_getaddrinfo(ls->loop, &l->gai, on_resolved, l->host, NULL, &hints);
  if (rc != 0) {
    otpc_buf_free(&l->req);
    free(l);
    return rc < 0 && rc > -100 ? rc : OTPC_EINVAL;
  }
  l->refs = 2; /* the resolution and the timer */
  uv_timer_init(ls->loop, &l->timer);
  l->timer.data = l;
  uv_timer_start(&l->timer, on_lookup_timeout,
                 ls->timeout_ms ? ls->timeout_ms : 7000, 0);
  l->next = ls->head;
  ls->head = l;
  return 0;
}

void otpc__epmd_lookups_stop(otpc__epmd_lookups_t *ls) {
  while (ls->head != NULL)
    lookup_finish(ls->head, OTPC_EINVAL, "node stopping");
}

/* ------------------------------------------------- the embedded server */

typedef struct client {
  struct client *next;
  otpc__epmd_host_t *h;
  uv_tcp_t tcp;
  uint64_t id;
  otpc_buf_t in;
  bool closing, done; /* done: answered a request that ends it */
} client_t;

typedef struct reply {
  uv_write_t w;
  otpc_buf_t out;
  client_t *c;
  bool then_close;
} reply_t;

struct otpc__epmd_host {
  uv_loop_t *loop;
  uv_tcp_t listener;
  otpc__epmd_srv_t srv;
  client_t *clients;
  uint64_t next_id; /* 0 is the node itself */
  int refs;         /* the listener + clients; freed at 0 once closing */
  bool closing;
};

static void host_unref(otpc__epmd_host_t *h) {
  if (--h->refs > 0)
    return;
  otpc__epmd_srv_free(&h->srv);
  free(h);
}

static void on_client_closed(uv_handle_t *hd) {
  client_t *c = hd->data;
  otpc__epmd_host_t *h = c->h;
  for (client_t **pp = &h->clients; *pp != NULL; pp = &(*pp)->next)
    if (*pp == c) {
      *pp = c->next;
      break;
    }
  /* Its registration, if any, ends with its connection, as in epmd. */
  otpc__epmd_srv_closed(&h->srv, c->id);
  otpc_buf_free(&c->in);
  free(c);
  host_unref(h);
}

static void client_close(client_t *c) {
  if (c->closing)
    return;
  c->closing = true;
  uv_close((uv_handle_t *)&c->tcp, on_client_closed);
}

static void on_replied(uv_write_t *w, int status) {
  reply_t *r = (reply_t *)w;
  if (status < 0 || r->then_close)
    client_close(r->c);
  otpc_buf_free(&r->out);
  free(r);
}

static void on_client_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  (void)h;
  (void)suggested;
  buf->base = malloc(1024);
  buf->len = buf->base != NULL ? 1024 : 0;
}

/* Answers the complete requests in c->in. */
static void client_serve(client_t *c) {
  otpc__epmd_host_t *h = c->h;
  while (!c->closing && !c->done) {
    otpc__epmd_req_t req;
    otpc_err_t err = {0};
    int n = otpc__epmd_dec_req(c->in.data, c->in.len, &req, &err);
    if (n == 0)
      return;
    if (n < 0) { /* epmd closes without a word */
      client_close(c);
      return;
    }
    reply_t *r = calloc(1, sizeof *r);
    if (r == NULL) {
      client_close(c);
      return;
    }
    bool keep = false, kill = false;
    int rc = otpc__epmd_srv_handle(&h->srv, c->id, &req, (uint64_t)time(NULL),
                                   &r->out, &keep, &kill, &err);
    memmove(c->in.data, c->in.data + n, c->in.len - (size_t)n);
    c->in.len -= (size_t)n;
    /* Every request but a successful ALIVE2 ends its connection. KILL is
     * always refused here: the node itself is registered. */
    c->done = !keep;
    r->c = c;
    r->then_close = !keep;
    if (rc < 0 || r->out.len == 0) {
      otpc_buf_free(&r->out);
      free(r);
      if (!keep)
        client_close(c);
      continue;
    }
    uv_buf_t b = uv_buf_init((char *)r->out.data, (unsigned)r->out.len);
    if (uv_write(&r->w, (uv_stream_t *)&c->tcp, &b, 1, on_replied) < 0) {
      otpc_buf_free(&r->out);
      free(r);
      client_close(c);
    }
  }
}

static void on_client_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  client_t *c = s->data;
  if (nread < 0) {
    client_close(c);
  } else if (nread > 0 && !c->closing) {
    if (c->in.len + (size_t)nread > OTPC__EPMD_MAX_REQ + 2u) {
      client_close(c); /* more than one request's worth: not a client */
    } else {
      otpc_buf_append(&c->in, buf->base, (size_t)nread);
      client_serve(c);
    }
  }
  free(buf->base);
}

static void on_epmd_connection(uv_stream_t *l, int status) {
  otpc__epmd_host_t *h = l->data;
  if (status < 0 || h->closing)
    return;
  client_t *c = calloc(1, sizeof *c);
  if (c == NULL)
    return;
  c->h = h;
  c->id = ++h->next_id;
  uv_tcp_init(h->loop, &c->tcp);
  c->tcp.data = c;
  c->next = h->clients;
  h->clients = c;
  h->refs++;
  if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 ||
      uv_read_start((uv_stream_t *)&c->tcp, on_client_alloc, on_client_read) !=
          0)
    client_close(c);
}

static void on_listener_closed(uv_handle_t *hd) {
  host_unref(hd->data);
}

int otpc__epmd_host_start(uv_loop_t *loop, uint16_t port,
                          otpc__epmd_host_t **out, otpc_err_t *err) {
  otpc__epmd_host_t *h = calloc(1, sizeof *h);
  if (h == NULL)
    return OTPC_ENOMEM;
  h->loop = loop;
  h->refs = 1;
  int rc = otpc__epmd_srv_init(&h->srv, port);
  if (rc != 0) {
    free(h);
    return rc;
  }
  struct sockaddr_in sa;
  uv_ip4_addr("0.0.0.0", port, &sa);
  uv_tcp_init(loop, &h->listener);
  h->listener.data = h;
  if ((rc = uv_tcp_bind(&h->listener, (struct sockaddr *)&sa, 0)) != 0 ||
      (rc = uv_listen((uv_stream_t *)&h->listener, 64, on_epmd_connection)) !=
          0) {
    snprintf(err->msg, sizeof err->msg, "cannot serve epmd on port %u: %s",
             (unsigned)port, uv_strerror(rc));
    err->code = OTPC_EINVAL;
    h->closing = true;
    uv_close((uv_handle_t *)&h->listener, on_listener_closed);
    return OTPC_EINVAL;
  }
  *out = h;
  return 0;
}

int otpc__epmd_host_register(otpc__epmd_host_t *h, const char *alive,
                             size_t alive_len, uint16_t port,
                             uint32_t *creation, otpc_err_t *err) {
  /* The node registers as any client would, through the same codecs, on
   * connection id 0, which never closes. */
  otpc_buf_t req = {0}, resp = {0};
  otpc__epmd_req_t r;
  bool keep = false, kill = false;
  uint8_t result = 1;
  int rc = otpc__epmd_enc_alive2(&req, port, OTPC__EPMD_TYPE_NORMAL, alive,
                                 alive_len, NULL, 0);
  if (rc == 0)
    rc = otpc__epmd_dec_req(req.data, req.len, &r, err) > 0 ? 0 : OTPC_EINVAL;
  if (rc == 0)
    rc = otpc__epmd_srv_handle(&h->srv, 0, &r, (uint64_t)time(NULL), &resp,
                               &keep, &kill, err);
  if (rc == 0)
    rc = otpc__epmd_dec_alive2_resp(resp.data, resp.len, &result, creation,
                                    err) > 0
             ? 0
             : OTPC_EINVAL;
  if (rc == 0 && result != 0) {
    snprintf(err->msg, sizeof err->msg, "epmd refused %.*s (name taken)",
             (int)alive_len, alive);
    err->code = rc = OTPC_EINVAL;
  }
  otpc_buf_free(&req);
  otpc_buf_free(&resp);
  return rc;
}

void otpc__epmd_host_close(otpc__epmd_host_t *h) {
  if (h == NULL || h->closing)
    return;
  h->closing = true;
  for (client_t *c = h->clients; c != NULL; c = c->next)
    client_close(c);
  uv_close((uv_handle_t *)&h->listener, on_listener_closed);
}
