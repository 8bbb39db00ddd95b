/* The epmd protocol, sans IO (see epmd_proto.h). */
#include "epmd_proto.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Old names remembered for creation reuse (the real epmd keeps 1000). */
#define OLD_MAX 1000u

/* ---------------------------------------------------------- encoders */

static int put_req(otpc_buf_t *out, const uint8_t *body, size_t n,
                   const void *tail, size_t tail_len) {
  size_t total = n + tail_len;
  if (total > 0xffff)
    return OTPC_ERANGE;
  int rc = otpc_buf_reserve(out, 2 + total);
  if (rc != 0)
    return rc;
  uint8_t hdr[2];
  otpc__put16(hdr, (uint16_t)total);
  otpc_buf_append(out, hdr, 2);
  otpc_buf_append(out, body, n);
  if (tail_len > 0)
    otpc_buf_append(out, tail, tail_len);
  return 0;
}

int otpc__epmd_enc_alive2(otpc_buf_t *out, uint16_t port, uint8_t type,
                          const char *name, size_t name_len, const void *extra,
                          size_t extra_len) {
  if (out == NULL || name == NULL || name_len == 0 ||
      name_len > OTPC__EPMD_MAX_NAME_BYTES || extra_len > 0xffff ||
      (extra_len > 0 && extra == NULL))
    return OTPC_EINVAL;
  uint8_t b[13 + OTPC__EPMD_MAX_NAME_BYTES];
  b[0] = OTPC__EPMD_ALIVE2_REQ;
  otpc__put16(b + 1, port);
  b[3] = type;
  b[4] = OTPC__EPMD_PROTO_TCP;
  otpc__put16(b + 5, OTPC__EPMD_DIST_VSN);
  otpc__put16(b + 7, OTPC__EPMD_DIST_VSN);
  otpc__put16(b + 9, (uint16_t)name_len);
  memcpy(b + 11, name, name_len);
  otpc__put16(b + 11 + name_len, (uint16_t)extra_len);
  return put_req(out, b, 13 + name_len, extra, extra_len);
}

int otpc__epmd_enc_port2(otpc_buf_t *out, const char *name, size_t name_len) {
  if (out == NULL || name == NULL || name_len == 0 ||
      name_len > OTPC__EPMD_MAX_NAME_BYTES)
    return OTPC_EINVAL;
  uint8_t tag = OTPC__EPMD_PORT2_REQ;
  return put_req(out, &tag, 1, name, name_len);
}

int otpc__epmd_enc_names(otpc_buf_t *out) {
  if (out == NULL)
    return OTPC_EINVAL;
  uint8_t tag = OTPC__EPMD_NAMES_REQ;
  return put_req(out, &tag, 1, NULL, 0);
}

/* ------------------------------------------------------ client decoders */

int otpc__epmd_dec_alive2_resp(const uint8_t *p, size_t n, uint8_t *result,
                               uint32_t *creation, otpc_err_t *err) {
  if (n < 1)
    return 0;
  size_t need;
  if (p[0] == OTPC__EPMD_ALIVE2_X_RESP)
    need = 6;
  else if (p[0] == OTPC__EPMD_ALIVE2_RESP)
    need = 4;
  else
    return otpc__err(err, OTPC_EINVAL, 0,
                     "epmd answered ALIVE2_REQ with tag %u, expected 118 "
                     "(ALIVE2_X_RESP) or 121 (ALIVE2_RESP)",
                     p[0]);
  if (n < need)
    return 0;
  *result = p[1];
  *creation = need == 6 ? otpc__get32(p + 2) : otpc__get16(p + 2);
  return (int)need;
}

/* Reads a 16-bit-length-prefixed field at p[*off..n); 0 if incomplete. */
static int field16(const uint8_t *p, size_t n, size_t *off, const uint8_t **f,
                   size_t *flen) {
  if (n - *off < 2)
    return 0;
  size_t len = otpc__get16(p + *off);
  if (n - *off - 2 < len)
    return 0;
  *f = p + *off + 2;
  *flen = len;
  *off += 2 + len;
  return 1;
}

/* The node fields shared by ALIVE2_REQ and PORT2_RESP, from p[off]. */
static int node_fields(const uint8_t *p, size_t n, size_t off,
                       otpc__epmd_node_t *node, size_t *end) {
  if (n < off + 8)
    return 0;
  node->port = otpc__get16(p + off);
  node->type = p[off + 2];
  node->proto = p[off + 3];
  node->highest = otpc__get16(p + off + 4);
  node->lowest = otpc__get16(p + off + 6);
  off += 8;
  if (!field16(p, n, &off, &node->name, &node->name_len))
    return 0;
  if (!field16(p, n, &off, &node->extra, &node->extra_len))
    return 0;
  *end = off;
  return 1;
}

int otpc__epmd_dec_port2_resp(const uint8_t *p, size_t n, bool *found,
                              otpc__epmd_node_t *node, otpc_err_t *err) {
  if (n < 2)
    return 0;
  if (p[0] != OTPC__EPMD_PORT2_RESP)
    return otpc__err(err, OTPC_EINVAL, 0,
                     "epmd answered PORT_PLEASE2_REQ with tag %u, expected "
                     "119 (PORT2_RESP)",
                     p[0]);
  if (p[1] != 0) {
    *found = false;
    return 2;
  }
  size_t end;
  if (!node_fields(p, n, 2, node, &end))
    return 0;
  *found = true;
  return (int)end;
}

int otpc__epmd_dec_names(const uint8_t *p, size_t n, otpc__epmd_names_t *it,
                         otpc_err_t *err) {
  if (n < 4)
    return otpc__err(err, OTPC_EINVAL, n,
                     "NAMES_RESP of %zu bytes, expected at least the 4-byte "
                     "epmd port",
                     n);
  it->epmd_port = otpc__get32(p);
  it->p = p + 4;
  it->end = p + n;
  return 0;
}

int otpc__epmd_names_next(otpc__epmd_names_t *it, const uint8_t **name,
                          size_t *name_len, uint16_t *port, otpc_err_t *err) {
  if (it->p >= it->end)
    return 0;
  const uint8_t *nl = memchr(it->p, '\n', (size_t)(it->end - it->p));
  if (nl == NULL)
    return otpc__err(err, OTPC_EINVAL, 0,
                     "NAMES_RESP line without a newline at its end");
  const uint8_t *s = it->p;
  size_t len = (size_t)(nl - s);
  /* The name may contain spaces, so take the port from the end: the line
   * is "name " NAME " at port " DIGITS. */
  static const char pre[] = "name ", mid[] = " at port ";
  size_t plen = sizeof pre - 1, mlen = sizeof mid - 1;
  size_t d = len;
  while (d > 0 && s[d - 1] >= '0' && s[d - 1] <= '9')
    d--;
  unsigned long v = 0;
  size_t digits = len - d;
  for (size_t i = d; i < len && v <= 0xffff; i++)
    v = v * 10 + (unsigned long)(s[i] - '0');
  if (len < plen + mlen + 2 || memcmp(s, pre, plen) != 0 || digits == 0 ||
      digits > 5 || v > 0xffff || d < plen + mlen + 1 ||
      memcmp(s + d - mlen, mid, mlen) != 0)
    return otpc__err(err, OTPC_EINVAL, 0,
                     "NAMES_RESP line \"%.*s\", expected \"name NAME at port "
                     "PORT\"",
                     (int)(len > 80 ? 80 : len), (const char *)s);
  *name = s + plen;
  *name_len = d - mlen - plen;
  *port = (uint16_t)v;
  it->p = nl + 1;
  return 1;
}

/* ------------------------------------------------------ server decoder */

int otpc__epmd_dec_req(const uint8_t *p, size_t n, otpc__epmd_req_t *req,
                       otpc_err_t *err) {
  if (n < 2)
    return 0;
  size_t len = otpc__get16(p);
  if (len == 0)
    return otpc__err(err, OTPC_EINVAL, 0, "empty epmd request");
  if (len > OTPC__EPMD_MAX_REQ)
    return otpc__err(err, OTPC_ELIMIT, 0,
                     "epmd request of %zu bytes, at most %d accepted", len,
                     OTPC__EPMD_MAX_REQ);
  if (n - 2 < len)
    return 0;
  const uint8_t *b = p + 2;
  memset(req, 0, sizeof *req);
  switch (b[0]) {
  case OTPC__EPMD_ALIVE2_REQ: {
    size_t end;
    if (!node_fields(b, len, 1, &req->node, &end))
      return otpc__err(err, OTPC_EINVAL, 2, "truncated ALIVE2_REQ of %zu bytes",
                       len);
    if (end != len)
      return otpc__err(err, OTPC_EINVAL, 2 + end,
                       "ALIVE2_REQ with %zu bytes after its extra field",
                       len - end);
    if (req->node.name_len == 0 ||
        req->node.name_len > OTPC__EPMD_MAX_NAME_BYTES ||
        memchr(req->node.name, 0, req->node.name_len) != NULL)
      return otpc__err(err, OTPC_EINVAL, 13,
                       "ALIVE2_REQ name of %zu bytes, expected 1 to %d bytes "
                       "without NUL",
                       req->node.name_len, OTPC__EPMD_MAX_NAME_BYTES);
    long chars = otpc__utf8_count(req->node.name, req->node.name_len);
    if (chars < 0 || chars > 255)
      return otpc__err(err, OTPC_EINVAL, 13,
                       "ALIVE2_REQ name is not UTF-8 text of at most 255 "
                       "characters");
    req->kind = OTPC__EPMD_REQ_ALIVE2;
    break;
  }
  case OTPC__EPMD_PORT2_REQ:
  case OTPC__EPMD_STOP_REQ:
    req->kind = b[0] == OTPC__EPMD_PORT2_REQ ? OTPC__EPMD_REQ_PORT2
                                             : OTPC__EPMD_REQ_STOP;
    req->name = b + 1;
    req->name_len = len - 1;
    break;
  case OTPC__EPMD_NAMES_REQ: req->kind = OTPC__EPMD_REQ_NAMES; break;
  case OTPC__EPMD_DUMP_REQ: req->kind = OTPC__EPMD_REQ_DUMP; break;
  case OTPC__EPMD_KILL_REQ: req->kind = OTPC__EPMD_REQ_KILL; break;
  default:
    return otpc__err(err, OTPC_EINVAL, 2, "unknown epmd request %u", b[0]);
  }
  return (int)(2 + len);
}

/* ------------------------------------------------------- server state */

int otpc__epmd_srv_init(otpc__epmd_srv_t *s, uint16_t epmd_port) {
  if (s == NULL)
    return OTPC_EINVAL;
  memset(s, 0, sizeof *s);
  s->epmd_port = epmd_port;
  s->max_nodes = 1000;
  return 0;
}

static void entry_free(otpc__epmd_entry_t *e) {
  free(e->name);
  free(e->extra);
}

void otpc__epmd_srv_free(otpc__epmd_srv_t *s) {
  if (s == NULL)
    return;
  for (size_t i = 0; i < s->nreg; i++)
    entry_free(&s->reg[i]);
  for (size_t i = 0; i < s->nold; i++)
    entry_free(&s->old[i]);
  free(s->reg);
  free(s->old);
  memset(s, 0, sizeof *s);
}

static int grow(otpc__epmd_entry_t **v, size_t *cap, size_t need) {
  if (need <= *cap)
    return 0;
  size_t nc = *cap ? *cap * 2 : 8;
  while (nc < need)
    nc *= 2;
  otpc__epmd_entry_t *nv = realloc(*v, nc * sizeof *nv);
  if (nv == NULL)
    return OTPC_ENOMEM;
  *v = nv;
  *cap = nc;
  return 0;
}

static otpc__epmd_entry_t *find(otpc__epmd_entry_t *v, size_t n,
                                const uint8_t *name, size_t len) {
  for (size_t i = 0; i < n; i++)
    if (v[i].name_len == len && memcmp(v[i].name, name, len) == 0)
      return &v[i];
  return NULL;
}

static void remove_at(otpc__epmd_entry_t *v, size_t *n, size_t i) {
  memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof *v);
  (*n)--;
}

static int alive2(otpc__epmd_srv_t *s, uint64_t conn,
                  const otpc__epmd_node_t *nd, uint64_t now, otpc_buf_t *out,
                  bool *keep) {
  bool x = nd->highest >= 6;
  uint8_t resp[6] = {x ? OTPC__EPMD_ALIVE2_X_RESP : OTPC__EPMD_ALIVE2_RESP, 1};
  /* A refusal carries creation 99, as the real epmd's does. */
  uint32_t creation = 99;
  bool taken = find(s->reg, s->nreg, nd->name, nd->name_len) != NULL;
  bool ok = !taken && s->nreg < s->max_nodes;
  for (size_t i = 0; ok && i < s->nreg; i++)
    if (s->reg[i].conn == conn)
      ok = false; /* one registration per connection */
  int rc = 0;
  if (ok) {
    otpc__epmd_entry_t e = {0};
    e.conn = conn;
    e.port = nd->port;
    e.type = nd->type;
    e.proto = nd->proto;
    e.highest = nd->highest;
    e.lowest = nd->lowest;
    e.name = malloc(nd->name_len + 1);
    e.extra = malloc(nd->extra_len + 1);
    if (e.name == NULL || e.extra == NULL ||
        grow(&s->reg, &s->capreg, s->nreg + 1) != 0) {
      entry_free(&e);
      return OTPC_ENOMEM;
    }
    memcpy(e.name, nd->name, nd->name_len);
    e.name[nd->name_len] = 0;
    e.name_len = nd->name_len;
    if (nd->extra_len > 0)
      memcpy(e.extra, nd->extra, nd->extra_len);
    e.extra_len = nd->extra_len;
    otpc__epmd_entry_t *o = find(s->old, s->nold, nd->name, nd->name_len);
    if (o != NULL) {
      e.creation = o->creation + 1;
      entry_free(o);
      remove_at(s->old, &s->nold, (size_t)(o - s->old));
    } else {
      e.creation = (uint32_t)now;
    }
    if (e.creation == 0)
      e.creation = 1; /* 0 is reserved for "no creation" */
    s->reg[s->nreg++] = e;
    creation = x ? e.creation : e.creation % 3 + 1;
    resp[1] = 0;
    *keep = true;
  }
  if (x) {
    otpc__put32(resp + 2, creation);
    rc = otpc_buf_append(out, resp, 6);
  } else {
    otpc__put16(resp + 2, (uint16_t)creation);
    rc = otpc_buf_append(out, resp, 4);
  }
  return rc;
}

static int port2(otpc__epmd_srv_t *s, const otpc__epmd_req_t *req,
                 otpc_buf_t *out) {
  otpc__epmd_entry_t *e = find(s->reg, s->nreg, req->name, req->name_len);
  if (e == NULL) {
    uint8_t no[2] = {OTPC__EPMD_PORT2_RESP, 1};
    return otpc_buf_append(out, no, 2);
  }
  uint8_t h[12] = {OTPC__EPMD_PORT2_RESP, 0};
  otpc__put16(h + 2, e->port);
  h[4] = e->type;
  h[5] = e->proto;
  otpc__put16(h + 6, e->highest);
  otpc__put16(h + 8, e->lowest);
  otpc__put16(h + 10, (uint16_t)e->name_len);
  uint8_t el[2];
  otpc__put16(el, (uint16_t)e->extra_len);
  int rc = otpc_buf_reserve(out, 14 + e->name_len + e->extra_len);
  if (rc != 0)
    return rc;
  otpc_buf_append(out, h, 12);
  otpc_buf_append(out, e->name, e->name_len);
  otpc_buf_append(out, el, 2);
  if (e->extra_len > 0)
    otpc_buf_append(out, e->extra, e->extra_len);
  return 0;
}

static int names(otpc__epmd_srv_t *s, otpc_buf_t *out) {
  uint8_t port[4];
  otpc__put32(port, s->epmd_port);
  int rc = otpc_buf_append(out, port, 4);
  /* Newest first, as the real epmd lists them. */
  for (size_t i = s->nreg; rc == 0 && i-- > 0;) {
    char tail[32];
    int tl = snprintf(tail, sizeof tail, " at port %u\n", s->reg[i].port);
    rc = otpc_buf_reserve(out, 5 + s->reg[i].name_len + (size_t)tl);
    if (rc == 0) {
      otpc_buf_append(out, "name ", 5);
      otpc_buf_append(out, s->reg[i].name, s->reg[i].name_len);
      otpc_buf_append(out, tail, (size_t)tl);
    }
  }
  return rc;
}

int otpc__epmd_srv_handle(otpc__epmd_srv_t *s, uint64_t conn,
                          const otpc__epmd_req_t *req, uint64_t now,
                          otpc_buf_t *out, bool *keep, bool *kill,
                          otpc_err_t *err) {
  if (s == NULL || req == NULL || out == NULL || keep == NULL || kill == NULL)
    return OTPC_EINVAL;
  *keep = false;
  *kill = false;
  switch (req->kind) {
  case OTPC__EPMD_REQ_ALIVE2:
    return alive2(s, conn, &req->node, now, out, keep);
  case OTPC__EPMD_REQ_PORT2: return port2(s, req, out);
  case OTPC__EPMD_REQ_NAMES: return names(s, out);
  case OTPC__EPMD_REQ_KILL:
    *kill = s->nreg == 0;
    return otpc_buf_append(out, *kill ? "OK" : "NO", 2);
  case OTPC__EPMD_REQ_DUMP:
  case OTPC__EPMD_REQ_STOP: return 0;
  }
  return otpc__err(err, OTPC_EINVAL, 0, "unknown epmd request kind %d",
                   (int)req->kind);
}

void otpc__epmd_srv_closed(otpc__epmd_srv_t *s, uint64_t conn) {
  for (size_t i = 0; i < s->nreg; i++) {
    if (s->reg[i].conn != conn)
      continue;
    otpc__epmd_entry_t e = s->reg[i];
    remove_at(s->reg, &s->nreg, i);
    if (s->nold >= OLD_MAX) {
      entry_free(&s->old[0]);
      remove_at(s->old, &s->nold, 0);
    }
    if (grow(&s->old, &s->capold, s->nold + 1) != 0) {
      entry_free(&e); /* forgetting an old creation is harmless */
      return;
    }
    s->old[s->nold++] = e;
    return;
  }
}
