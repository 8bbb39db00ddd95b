/* A NIF call: decoding arguments by spec, encoding the result by spec, and
 * the badarg exception that says which argument, what was expected and what
 * was received. Decoding by spec recurses only as deep as the spec (at most
 * OTPC_NIF__SPEC_DEPTH); `any` terms are walked with an explicit stack, so a
 * 100,000-deep term costs heap, never native stack. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "nif_int.h"

/* Arena ----------------------------------------------------------------- */

void otpc_nif__arena_init(otpc_nif__arena_t *a, void *buf, size_t cap) {
  a->buf = buf;
  a->used = 0;
  a->cap = cap;
  a->chunks = NULL;
}

void *otpc_nif__arena_alloc(otpc_nif__arena_t *a, size_t size) {
  size = (size + 15) & ~(size_t)15;
  if (size < a->cap - a->used) {
    void *p = a->buf + a->used;
    a->used += size;
    return p;
  }
  /* A new chunk: at least 64 KiB so that many small items share one. */
  size_t cap = size + 16 > 65536 ? size + 16 : 65536;
  if (cap < size)
    return NULL;
  char *chunk = enif_alloc(cap);
  if (!chunk)
    return NULL;
  *(void **)chunk = a->chunks;
  a->chunks = chunk;
  a->buf = chunk + 16;
  a->cap = cap - 16;
  a->used = size;
  return a->buf;
}

void otpc_nif__arena_free(otpc_nif__arena_t *a) {
  while (a->chunks) {
    void *next = *(void **)a->chunks;
    enif_free(a->chunks);
    a->chunks = next;
  }
}

void *otpc_nif_scratch(otpc_nif_call_t *c, size_t size) {
  return otpc_nif__arena_alloc(c->arena, size);
}

/* Items of a sequence, not cleared (decoding sets every item). */
static otpc_nif_val_t *seq_items(otpc_nif_call_t *c, otpc_nif_val_t *v,
                                 size_t n) {
  if (n > SIZE_MAX / sizeof(otpc_nif_val_t))
    return NULL;
  otpc_nif_val_t *items = otpc_nif_scratch(c, n * sizeof *items + 1);
  if (items) {
    v->seq.v = items;
    v->seq.n = n;
  }
  return items;
}

otpc_nif_val_t *otpc_nif_seq(otpc_nif_call_t *c, otpc_nif_val_t *v, size_t n) {
  otpc_nif_val_t *items = seq_items(c, v, n);
  if (items)
    memset(items, 0, n * sizeof *items);
  return items;
}

int otpc_nif_fail(otpc_nif_call_t *c, ERL_NIF_TERM reason) {
  if (c->job) {
    /* A pool job has no process to raise in: the reason becomes
     * {error, Reason} in the reply (pool.c reads c->out). */
    c->out = reason;
    return OTPC_NIF__OUT;
  }
  c->out = enif_raise_exception(c->env, reason);
  return OTPC_NIF__OUT;
}

/* Badarg ---------------------------------------------------------------- */

/* Where a bad argument was found, innermost step first. */
typedef struct badarg {
  const otpc_nif__spec_t *spec;
  int node;
  ERL_NIF_TERM received;
  const char *why; /* an extra reason, or NULL */
  unsigned nsteps;
  struct {
    int kind; /* 0 element, 1 item, 2 key */
    size_t index;
    ERL_NIF_TERM key;
  } steps[OTPC_NIF__SPEC_DEPTH + 1];
} badarg_t;

static int bad(badarg_t *b, const otpc_nif__spec_t *spec, int node,
               ERL_NIF_TERM t, const char *why) {
  b->spec = spec;
  b->node = node;
  b->received = t;
  b->why = why;
  b->nsteps = 0;
  return -1;
}

static int step(badarg_t *b, int kind, size_t index, ERL_NIF_TERM key) {
  if (b->nsteps < sizeof b->steps / sizeof b->steps[0]) {
    b->steps[b->nsteps].kind = kind;
    b->steps[b->nsteps].index = index;
    b->steps[b->nsteps].key = key;
    b->nsteps++;
  }
  return -1;
}

/* True when t is small enough to print in a message (at most 24 nodes, no
 * binary over 32 bytes): printing must stay cheap whatever was received. */
static bool printable(ErlNifEnv *env, ERL_NIF_TERM t) {
  ERL_NIF_TERM stack[24];
  unsigned top = 0, seen = 0;
  stack[top++] = t;
  while (top > 0) {
    ERL_NIF_TERM x = stack[--top], head, tail;
    const ERL_NIF_TERM *elems;
    int arity;
    ErlNifBinary bin;
    size_t msize;
    if (++seen > 24)
      return false;
    switch (enif_term_type(env, x)) {
    case ERL_NIF_TERM_TYPE_BITSTRING:
      if (!enif_inspect_binary(env, x, &bin) || bin.size > 32)
        return false;
      break;
    case ERL_NIF_TERM_TYPE_LIST:
      if (enif_get_list_cell(env, x, &head, &tail)) {
        if (top + 2 > 24)
          return false;
        stack[top++] = head;
        stack[top++] = tail;
      }
      break;
    case ERL_NIF_TERM_TYPE_TUPLE:
      enif_get_tuple(env, x, &arity, &elems);
      if (top + (unsigned)arity > 24)
        return false;
      for (int i = 0; i < arity; i++)
        stack[top++] = elems[i];
      break;
    case ERL_NIF_TERM_TYPE_MAP:
      if (!enif_get_map_size(env, x, &msize) || msize > 4)
        return false;
      seen += 2 * (unsigned)msize;
      break;
    case ERL_NIF_TERM_TYPE_INTEGER: {
      ErlNifSInt64 i;
      if (!enif_get_int64(env, x, &i))
        return false; /* a bignum may be huge */
      break;
    }
    default: break;
    }
  }
  return true;
}

static const char *type_name(ErlNifEnv *env, ERL_NIF_TERM t) {
  switch (enif_term_type(env, t)) {
  case ERL_NIF_TERM_TYPE_ATOM: return "an atom";
  case ERL_NIF_TERM_TYPE_BITSTRING: return "a bitstring";
  case ERL_NIF_TERM_TYPE_FLOAT: return "a float";
  case ERL_NIF_TERM_TYPE_FUN: return "a fun";
  case ERL_NIF_TERM_TYPE_INTEGER: return "an integer";
  case ERL_NIF_TERM_TYPE_LIST: return "a list";
  case ERL_NIF_TERM_TYPE_MAP: return "a map";
  case ERL_NIF_TERM_TYPE_PID: return "a pid";
  case ERL_NIF_TERM_TYPE_PORT: return "a port";
  case ERL_NIF_TERM_TYPE_REFERENCE: return "a reference";
  case ERL_NIF_TERM_TYPE_TUPLE: return "a tuple";
  default: return "a term";
  }
}

static ERL_NIF_TERM make_text(ErlNifEnv *env, const char *s, size_t n) {
  ERL_NIF_TERM t;
  unsigned char *p = enif_make_new_binary(env, n, &t);
  if (n)
    memcpy(p, s, n);
  return t;
}

/* The exception term: error:{badarg, #{argument => N, expected => <<..>>,
 * received => Term, path => [...], function => <<"m:f/a">>,
 * message => <<"...">>}}. */
static ERL_NIF_TERM badarg_term(otpc_nif_call_t *c, unsigned argno,
                                const badarg_t *b) {
  ErlNifEnv *env = c->env;
  otpc_nif__lib_t *lib = c->lib;
  const otpc_nif__node_t *n = &b->spec->nodes[b->node];
  char expected[160], fname[128], where[256], got[200], msg[900];
  snprintf(expected, sizeof expected, "%.*s", (int)n->text_len,
           b->spec->text + n->text_off);
  snprintf(fname, sizeof fname, "%s:%s/%u", lib->module, c->fn->decl->name,
           c->fn->decl->arity);
  ERL_NIF_TERM path = enif_make_list(env, 0);
  size_t wl = 0;
  where[0] = '\0';
  /* Steps were recorded innermost first; the path reads outermost first,
   * so build the list from the inside out and the text from the outside. */
  for (unsigned i = 0; i < b->nsteps; i++) {
    ERL_NIF_TERM s;
    if (b->steps[i].kind == 2)
      s = enif_make_tuple2(env, lib->a_key, b->steps[i].key);
    else
      s = enif_make_tuple2(env,
                           b->steps[i].kind == 0 ? lib->a_element : lib->a_item,
                           enif_make_uint64(env, b->steps[i].index));
    path = enif_make_list_cell(env, s, path);
  }
  for (unsigned k = b->nsteps; k-- > 0 && wl < sizeof where - 64;) {
    int w;
    if (b->steps[k].kind == 2)
      w = enif_snprintf(where + wl, sizeof where - wl, ", key %T",
                        b->steps[k].key);
    else
      w = snprintf(where + wl, sizeof where - wl, ", %s %zu",
                   b->steps[k].kind == 0 ? "element" : "item",
                   b->steps[k].index);
    if (w > 0)
      wl += (size_t)w < sizeof where - wl ? (size_t)w : 0;
  }
  if (printable(env, b->received))
    enif_snprintf(got, sizeof got, "%T", b->received);
  else
    snprintf(got, sizeof got, "%s (too large to print)",
             type_name(env, b->received));
  int ml = snprintf(
      msg, sizeof msg, "%s: argument %u%s: expected %s%s%s, received %s", fname,
      argno, where, expected, b->why ? " " : "", b->why ? b->why : "", got);
  if (ml < 0)
    ml = 0;
  if ((size_t)ml >= sizeof msg)
    ml = sizeof msg - 1;
  ERL_NIF_TERM keys[6] = {lib->a_argument, lib->a_expected, lib->a_received,
                          lib->a_path,     lib->a_function, lib->a_message};
  ERL_NIF_TERM vals[6] = {enif_make_uint(env, argno),
                          make_text(env, expected, strlen(expected)),
                          b->received,
                          path,
                          make_text(env, fname, strlen(fname)),
                          make_text(env, msg, (size_t)ml)};
  ERL_NIF_TERM map;
  if (!enif_make_map_from_arrays(env, keys, vals, 6, &map))
    map = lib->a_badarg;
  return enif_make_tuple2(env, lib->a_badarg, map);
}

/* Integers -------------------------------------------------------------- */

int otpc_nif_big_get(ErlNifEnv *env, ERL_NIF_TERM t, int *neg, uint8_t *mag,
                     size_t cap, size_t *n) {
  ErlNifSInt64 i;
  if (enif_get_int64(env, t, &i)) {
    uint64_t u = i < 0 ? 0 - (uint64_t)i : (uint64_t)i;
    *neg = i < 0;
    size_t k = 0;
    while (u) {
      if (k >= cap)
        return OTPC_ERANGE;
      mag[k++] = (uint8_t)u;
      u >>= 8;
    }
    *n = k;
    return 0;
  }
  if (enif_term_type(env, t) != ERL_NIF_TERM_TYPE_INTEGER)
    return OTPC_ETYPE;
  /* A bignum: its external format is the sign and the little-endian
   * magnitude, the only portable way to read its digits. */
  ErlNifBinary ext;
  if (!enif_term_to_binary(env, t, &ext))
    return OTPC_ENOMEM;
  int rc = OTPC_EBADTERM;
  const uint8_t *p = ext.data;
  size_t len = 0, hdr = 0;
  if (ext.size >= 4 && p[1] == 110) { /* SMALL_BIG_EXT */
    len = p[2];
    hdr = 3;
  } else if (ext.size >= 7 && p[1] == 111) { /* LARGE_BIG_EXT */
    len = (size_t)p[2] << 24 | (size_t)p[3] << 16 | (size_t)p[4] << 8 | p[5];
    hdr = 6;
  }
  if (hdr && ext.size >= hdr + 1 + len) {
    if (len > cap) {
      rc = OTPC_ERANGE;
    } else {
      *neg = p[hdr] != 0;
      memcpy(mag, p + hdr + 1, len);
      while (len > 0 && mag[len - 1] == 0)
        len--;
      *n = len;
      rc = 0;
    }
  }
  enif_release_binary(&ext);
  return rc;
}

ERL_NIF_TERM otpc_nif_big_make(ErlNifEnv *env, int neg, const uint8_t *mag,
                               size_t n) {
  while (n > 0 && mag[n - 1] == 0)
    n--;
  if (n <= 8) {
    uint64_t u = 0;
    for (size_t k = n; k-- > 0;)
      u = u << 8 | mag[k];
    if (!neg)
      return enif_make_uint64(env, u);
    if (u <= (uint64_t)INT64_MAX + 1)
      return enif_make_int64(env, (int64_t)(0 - u));
  }
  /* Through the external format, as for reading. */
  ErlNifBinary ext;
  if (!enif_alloc_binary(n + 7, &ext))
    return enif_make_badarg(env);
  uint8_t *p = ext.data;
  p[0] = 131;
  p[1] = 111;
  p[2] = (uint8_t)(n >> 24);
  p[3] = (uint8_t)(n >> 16);
  p[4] = (uint8_t)(n >> 8);
  p[5] = (uint8_t)n;
  p[6] = neg ? 1 : 0;
  memcpy(p + 7, mag, n);
  ERL_NIF_TERM t;
  if (!enif_binary_to_term(env, ext.data, ext.size, &t, 0))
    t = enif_make_badarg(env);
  enif_release_binary(&ext);
  return t;
}

/* Any: an iterative walk -------------------------------------------------- */

typedef struct work {
  ERL_NIF_TERM t;
  otpc_nif_val_t *v;
} work_t;

static int decode_any(otpc_nif_call_t *c, ERL_NIF_TERM root,
                      otpc_nif_val_t *out, const char **why) {
  ErlNifEnv *env = c->env;
  size_t cap = 64, top = 0, nodes = 1;
  work_t *stack = enif_alloc(cap * sizeof *stack);
  int rc = 0;
  if (!stack)
    return OTPC_ENOMEM;
  stack[top++] = (work_t){root, out};
  while (top > 0 && rc == 0) {
    work_t w = stack[--top];
    otpc_nif_val_t *v = w.v;
    memset(v, 0, sizeof *v);
    v->term = w.t;
    size_t n = 0, extra = 0;
    const ERL_NIF_TERM *elems = NULL;
    int arity;
    ERL_NIF_TERM head, tail;
    switch (enif_term_type(env, w.t)) {
    case ERL_NIF_TERM_TYPE_ATOM: v->kind = OTPC_NIF_K_ATOM; continue;
    case ERL_NIF_TERM_TYPE_FLOAT:
      v->kind = OTPC_NIF_K_FLOAT;
      enif_get_double(env, w.t, &v->f);
      continue;
    case ERL_NIF_TERM_TYPE_INTEGER: {
      ErlNifSInt64 i;
      if (enif_get_int64(env, w.t, &i)) {
        v->kind = OTPC_NIF_K_INT;
        v->i = i;
      } else {
        v->kind = OTPC_NIF_K_BIGINT;
      }
      continue;
    }
    case ERL_NIF_TERM_TYPE_BITSTRING:
      v->kind = enif_inspect_binary(env, w.t, &v->bin) ? OTPC_NIF_K_BIN
                                                       : OTPC_NIF_K_OTHER;
      continue;
    case ERL_NIF_TERM_TYPE_LIST:
      v->kind = OTPC_NIF_K_LIST;
      tail = w.t;
      while (enif_get_list_cell(env, tail, &head, &tail))
        n++;
      if (!enif_is_empty_list(env, tail)) {
        v->improper = 1;
        extra = 1;
      }
      break;
    case ERL_NIF_TERM_TYPE_TUPLE:
      v->kind = OTPC_NIF_K_TUPLE;
      enif_get_tuple(env, w.t, &arity, &elems);
      n = (size_t)arity;
      break;
    case ERL_NIF_TERM_TYPE_MAP:
      v->kind = OTPC_NIF_K_MAP;
      enif_get_map_size(env, w.t, &n);
      n *= 2;
      break;
    default: v->kind = OTPC_NIF_K_OTHER; continue;
    }
    size_t total = n + extra;
    nodes += total;
    if (nodes > OTPC_NIF_ANY_MAX_NODES) {
      *why = "(at most 16777216 nodes in one term)";
      rc = OTPC_ELIMIT;
      break;
    }
    if (total == 0)
      continue;
    otpc_nif_val_t *items = otpc_nif_scratch(c, total * sizeof *items);
    if (!items) {
      rc = OTPC_ENOMEM;
      break;
    }
    v->seq.v = items;
    v->seq.n = total;
    if (top + total > cap) {
      size_t ncap = cap;
      while (ncap < top + total)
        ncap *= 2;
      work_t *ns = enif_realloc(stack, ncap * sizeof *ns);
      if (!ns) {
        rc = OTPC_ENOMEM;
        break;
      }
      stack = ns;
      cap = ncap;
    }
    if (v->kind == OTPC_NIF_K_LIST) {
      size_t k = 0;
      tail = w.t;
      while (enif_get_list_cell(env, tail, &head, &tail))
        stack[top++] = (work_t){head, &items[k++]};
      if (extra)
        stack[top++] = (work_t){tail, &items[k]};
    } else if (v->kind == OTPC_NIF_K_TUPLE) {
      for (size_t k = 0; k < n; k++)
        stack[top++] = (work_t){elems[k], &items[k]};
    } else {
      ErlNifMapIterator it;
      ERL_NIF_TERM key, val;
      size_t k = 0;
      enif_map_iterator_create(env, w.t, &it, ERL_NIF_MAP_ITERATOR_FIRST);
      while (k + 1 < n + 1 &&
             enif_map_iterator_get_pair(env, &it, &key, &val)) {
        stack[top++] = (work_t){key, &items[k++]};
        stack[top++] = (work_t){val, &items[k++]};
        enif_map_iterator_next(env, &it);
      }
      enif_map_iterator_destroy(env, &it);
    }
  }
  enif_free(stack);
  return rc;
}

/* Builds the term of an `any` tree: nodes in pre-order (parents first),
 * then built in reverse, so each composite finds its children's terms
 * already in their .term. Composite nodes are always rebuilt from .seq;
 * atoms, bignums, binaries and other leaves come from .term. */
static int encode_any(otpc_nif_call_t *c, otpc_nif_val_t *root) {
  ErlNifEnv *env = c->env;
  size_t cap = 64, top = 0, count = 0, ocap = 64;
  otpc_nif_val_t **stack = enif_alloc(cap * sizeof *stack);
  otpc_nif_val_t **order = enif_alloc(ocap * sizeof *order);
  int rc = 0;
  if (!stack || !order) {
    rc = OTPC_ENOMEM;
    goto out;
  }
  stack[top++] = root;
  while (top > 0) {
    otpc_nif_val_t *v = stack[--top];
    if (count == ocap) {
      otpc_nif_val_t **no = enif_realloc(order, 2 * ocap * sizeof *no);
      if (!no) {
        rc = OTPC_ENOMEM;
        goto out;
      }
      order = no;
      ocap *= 2;
    }
    order[count++] = v;
    if (v->kind != OTPC_NIF_K_LIST && v->kind != OTPC_NIF_K_TUPLE &&
        v->kind != OTPC_NIF_K_MAP)
      continue;
    if (top + v->seq.n > cap) {
      size_t ncap = cap;
      while (ncap < top + v->seq.n)
        ncap *= 2;
      otpc_nif_val_t **ns = enif_realloc(stack, ncap * sizeof *ns);
      if (!ns) {
        rc = OTPC_ENOMEM;
        goto out;
      }
      stack = ns;
      cap = ncap;
    }
    for (size_t k = 0; k < v->seq.n; k++)
      stack[top++] = &v->seq.v[k];
  }
  for (size_t k = count; k-- > 0;) {
    otpc_nif_val_t *v = order[k];
    size_t n = v->seq.n;
    switch (v->kind) {
    case OTPC_NIF_K_INT: v->term = enif_make_int64(env, v->i); break;
    case OTPC_NIF_K_FLOAT:
      if (!isfinite(v->f)) {
        rc = OTPC_ERANGE;
        goto out;
      }
      v->term = enif_make_double(env, v->f);
      break;
    case OTPC_NIF_K_LIST: {
      size_t items = n - (v->improper ? 1 : 0);
      ERL_NIF_TERM acc =
          v->improper ? v->seq.v[n - 1].term : enif_make_list(env, 0);
      for (size_t i = items; i-- > 0;)
        acc = enif_make_list_cell(env, v->seq.v[i].term, acc);
      v->term = acc;
      break;
    }
    case OTPC_NIF_K_TUPLE:
    case OTPC_NIF_K_MAP: {
      ERL_NIF_TERM *ts = otpc_nif_scratch(c, (n + 1) * sizeof *ts);
      if (!ts) {
        rc = OTPC_ENOMEM;
        goto out;
      }
      if (v->kind == OTPC_NIF_K_TUPLE) {
        for (size_t i = 0; i < n; i++)
          ts[i] = v->seq.v[i].term;
        v->term = enif_make_tuple_from_array(env, ts, (unsigned)n);
      } else {
        /* keys in ts[0..n/2), values after them */
        size_t h = n / 2;
        ERL_NIF_TERM *vs = otpc_nif_scratch(c, (h + 1) * sizeof *vs);
        if (!vs) {
          rc = OTPC_ENOMEM;
          goto out;
        }
        for (size_t i = 0; i < h; i++) {
          ts[i] = v->seq.v[2 * i].term;
          vs[i] = v->seq.v[2 * i + 1].term;
        }
        if (!enif_make_map_from_arrays(env, ts, vs, h, &v->term)) {
          rc = OTPC_EINVAL; /* duplicate keys */
          goto out;
        }
      }
      break;
    }
    default:
      if (!v->term) {
        rc = OTPC_EINVAL;
        goto out;
      }
    }
  }
out:
  enif_free(stack);
  enif_free(order);
  return rc;
}

/* By spec ----------------------------------------------------------------- */

/* A number as a double, bignums included; kept out of decode() so that its
 * scratch buffer does not weigh on every call's stack frame. */
static __attribute__((noinline)) int decode_num(ErlNifEnv *env, ERL_NIF_TERM t,
                                                double *out) {
  ErlNifSInt64 i;
  if (enif_get_double(env, t, out))
    return 0;
  if (enif_get_int64(env, t, &i)) {
    *out = (double)i;
    return 0;
  }
  uint8_t mag[128];
  size_t len;
  int neg;
  if (otpc_nif_big_get(env, t, &neg, mag, sizeof mag, &len) < 0)
    return OTPC_ERANGE;
  double d = 0;
  for (size_t k = len; k-- > 0;)
    d = d * 256.0 + mag[k];
  if (!isfinite(d))
    return OTPC_ERANGE;
  *out = neg ? -d : d;
  return 0;
}

static int decode(otpc_nif_call_t *c, const otpc_nif__spec_t *sp,
                  const ERL_NIF_TERM *atoms, const int8_t *rt, int node,
                  ERL_NIF_TERM t, otpc_nif_val_t *v, badarg_t *b) {
  ErlNifEnv *env = c->env;
  const otpc_nif__node_t *n = &sp->nodes[node];
  /* Each case sets the union member it uses; only the flags need zeroing
   * (a full memset is a visible part of a small call's cost). */
  v->term = t;
  v->kind = v->big = v->improper = 0;
  switch (n->type) {
  case OTPC_NIF__T_INT: {
    ErlNifSInt64 i;
    if (!enif_get_int64(env, t, &i))
      return bad(b, sp, node, t, NULL);
    if ((n->has_lo && i < n->lo) || (n->has_hi && i > n->hi))
      return bad(b, sp, node, t, NULL);
    v->i = i;
    return 0;
  }
  case OTPC_NIF__T_UINT: {
    ErlNifUInt64 u;
    if (!enif_get_uint64(env, t, &u))
      return bad(b, sp, node, t, NULL);
    v->u = u;
    return 0;
  }
  case OTPC_NIF__T_INTEGER: {
    ErlNifSInt64 i;
    if (enif_get_int64(env, t, &i))
      v->i = i;
    else if (enif_term_type(env, t) == ERL_NIF_TERM_TYPE_INTEGER)
      v->big = 1;
    else
      return bad(b, sp, node, t, NULL);
    return 0;
  }
  case OTPC_NIF__T_FLOAT:
    return enif_get_double(env, t, &v->f) ? 0 : bad(b, sp, node, t, NULL);
  case OTPC_NIF__T_NUM:
    return decode_num(env, t, &v->f) == 0
               ? 0
               : bad(b, sp, node, t, "(a number within the range of a double)");
  case OTPC_NIF__T_BOOL:
    v->b = false;
    if (enif_is_identical(t, c->lib->a_true))
      v->b = true;
    else if (!enif_is_identical(t, c->lib->a_false))
      return bad(b, sp, node, t, NULL);
    return 0;
  case OTPC_NIF__T_ATOM:
    return enif_is_atom(env, t) ? 0 : bad(b, sp, node, t, NULL);
  case OTPC_NIF__T_ENUM:
    for (unsigned k = 0; k < n->nnames; k++)
      if (enif_is_identical(t, atoms[n->first_name + k])) {
        v->u = k;
        return 0;
      }
    return bad(b, sp, node, t, NULL);
  case OTPC_NIF__T_BIN:
    return enif_inspect_binary(env, t, &v->bin) ? 0 : bad(b, sp, node, t, NULL);
  case OTPC_NIF__T_IOLIST:
    return enif_inspect_iolist_as_binary(env, t, &v->bin)
               ? 0
               : bad(b, sp, node, t, NULL);
  case OTPC_NIF__T_PID:
    return enif_get_local_pid(env, t, &v->pid) ? 0 : bad(b, sp, node, t, NULL);
  case OTPC_NIF__T_TERM: return 0;
  case OTPC_NIF__T_ANY: {
    const char *why = NULL;
    int rc = decode_any(c, t, v, &why);
    if (rc == OTPC_ELIMIT)
      return bad(b, sp, node, t, why);
    return rc < 0 ? bad(b, sp, node, t, "(out of memory)") : 0;
  }
  case OTPC_NIF__T_RES:
    return enif_get_resource(env, t, c->lib->restypes[rt[node]], &v->res)
               ? 0
               : bad(b, sp, node, t, NULL);
  case OTPC_NIF__T_LIST: {
    unsigned len;
    if (!enif_get_list_length(env, t, &len))
      return bad(b, sp, node, t, NULL);
    otpc_nif_val_t *items = seq_items(c, v, len);
    if (!items)
      return bad(b, sp, node, t, "(out of memory)");
    ERL_NIF_TERM head, tail = t;
    for (unsigned k = 0; enif_get_list_cell(env, tail, &head, &tail); k++)
      if (decode(c, sp, atoms, rt, n->child, head, &items[k], b) < 0)
        return step(b, 1, k + 1, 0);
    return 0;
  }
  case OTPC_NIF__T_TUPLE: {
    int arity;
    const ERL_NIF_TERM *elems;
    if (!enif_get_tuple(env, t, &arity, &elems) ||
        (unsigned)arity != n->nchildren)
      return bad(b, sp, node, t, NULL);
    otpc_nif_val_t *items = seq_items(c, v, (size_t)arity);
    if (!items)
      return bad(b, sp, node, t, "(out of memory)");
    int ch = n->child;
    for (int k = 0; k < arity; k++, ch = sp->nodes[ch].next)
      if (decode(c, sp, atoms, rt, ch, elems[k], &items[k], b) < 0)
        return step(b, 0, (size_t)k + 1, 0);
    return 0;
  }
  case OTPC_NIF__T_MAP: {
    if (!enif_is_map(env, t))
      return bad(b, sp, node, t, NULL);
    otpc_nif_val_t *items = seq_items(c, v, n->nchildren);
    if (!items)
      return bad(b, sp, node, t, "(out of memory)");
    int ch = n->child;
    for (unsigned k = 0; k < n->nchildren; k++, ch = sp->nodes[ch].next) {
      ERL_NIF_TERM key = atoms[sp->nodes[ch].name], val;
      if (!enif_get_map_value(env, t, key, &val))
        return bad(b, sp, node, t, "(a key is missing)");
      if (decode(c, sp, atoms, rt, ch, val, &items[k], b) < 0)
        return step(b, 2, 0, key);
    }
    return 0;
  }
  }
  return bad(b, sp, node, t, NULL);
}

void otpc_nif__call_init(otpc_nif_call_t *c, otpc_nif__lib_t *lib,
                         unsigned index, ErlNifEnv *env, int argc,
                         const ERL_NIF_TERM *argv, otpc_nif__arena_t *arena) {
  /* Field by field: the call struct is on every call's path. */
  c->ret.term = 0;
  c->ret.kind = c->ret.big = c->ret.improper = 0;
  c->ret.seq.v = NULL;
  c->ret.seq.n = 0;
  c->args = NULL;
  c->out = 0;
  c->job = NULL;
  c->env = env;
  c->argc = argc;
  c->argv = argv;
  c->priv = lib->user;
  c->fn = &lib->fns[index];
  c->lib = lib;
  c->arena = arena;
}

/* The common top-level scalars, decoded inline: 1 when done, 0 to take the
 * general path (which also builds the badarg of a bad argument). */
static inline int decode_scalar(otpc_nif_call_t *c, const otpc_nif__node_t *n,
                                ERL_NIF_TERM t, otpc_nif_val_t *v) {
  ErlNifSInt64 i;
  switch (n->type) {
  case OTPC_NIF__T_INT:
    if (!enif_get_int64(c->env, t, &i) || (n->has_lo && i < n->lo) ||
        (n->has_hi && i > n->hi))
      return 0;
    v->i = i;
    break;
  case OTPC_NIF__T_BIN:
    if (!enif_inspect_binary(c->env, t, &v->bin))
      return 0;
    break;
  case OTPC_NIF__T_TERM: break;
  default: return 0;
  }
  v->term = t;
  v->kind = v->big = v->improper = 0;
  return 1;
}

int otpc_nif__decode_args(otpc_nif_call_t *c) {
  const otpc_nif__fn_t *fn = c->fn;
  badarg_t b;
  c->args = otpc_nif_scratch(c, (size_t)(c->argc + 1) * sizeof *c->args);
  if (!c->args)
    return otpc_nif_fail(c, enif_make_tuple2(c->env, c->lib->a_otpc_nif,
                                             enif_make_atom(c->env, "enomem")));
  for (int i = 0; i < c->argc; i++)
    if (!decode_scalar(c, &fn->args.nodes[fn->args.roots[i]], c->argv[i],
                       &c->args[i]) &&
        decode(c, &fn->args, fn->arg_atoms, fn->arg_rt, fn->args.roots[i],
               c->argv[i], &c->args[i], &b) < 0)
      return otpc_nif_fail(c, badarg_term(c, (unsigned)i + 1, &b));
  return 0;
}

/* Encodes v by result node; 0 or a negative code (a result the C code left
 * unset or out of range: a bug in the NIF, reported as an error). */
static int encode(otpc_nif_call_t *c, int node, otpc_nif_val_t *v,
                  ERL_NIF_TERM *out) {
  ErlNifEnv *env = c->env;
  const otpc_nif__fn_t *fn = c->fn;
  const otpc_nif__spec_t *sp = &fn->result;
  const otpc_nif__node_t *n = &sp->nodes[node];
  switch (n->type) {
  case OTPC_NIF__T_INT:
    if ((n->has_lo && v->i < n->lo) || (n->has_hi && v->i > n->hi))
      return OTPC_ERANGE;
    *out = enif_make_int64(env, v->i);
    return 0;
  case OTPC_NIF__T_UINT: *out = enif_make_uint64(env, v->u); return 0;
  case OTPC_NIF__T_INTEGER:
    *out = v->big ? v->term : enif_make_int64(env, v->i);
    return *out ? 0 : OTPC_EINVAL;
  case OTPC_NIF__T_FLOAT:
  case OTPC_NIF__T_NUM:
    if (!isfinite(v->f))
      return OTPC_ERANGE;
    *out = enif_make_double(env, v->f);
    return 0;
  case OTPC_NIF__T_BOOL:
    *out = v->b ? c->lib->a_true : c->lib->a_false;
    return 0;
  case OTPC_NIF__T_ENUM:
    if (v->u >= n->nnames)
      return OTPC_ERANGE;
    *out = fn->res_atoms[n->first_name + v->u];
    return 0;
  case OTPC_NIF__T_PID: *out = enif_make_pid(env, &v->pid); return 0;
  case OTPC_NIF__T_RES:
    if (!v->res)
      return OTPC_EINVAL;
    *out = enif_make_resource(env, v->res);
    enif_release_resource(v->res);
    v->res = NULL;
    return 0;
  case OTPC_NIF__T_ANY: {
    int rc = v->kind ? encode_any(c, v) : 0;
    *out = v->term;
    return rc < 0 ? rc : (*out ? 0 : OTPC_EINVAL);
  }
  case OTPC_NIF__T_LIST: {
    ERL_NIF_TERM acc = enif_make_list(env, 0), item;
    for (size_t k = v->seq.n; k-- > 0;) {
      int rc = encode(c, n->child, &v->seq.v[k], &item);
      if (rc < 0)
        return rc;
      acc = enif_make_list_cell(env, item, acc);
    }
    *out = acc;
    return 0;
  }
  case OTPC_NIF__T_TUPLE:
  case OTPC_NIF__T_MAP: {
    if (v->seq.n != n->nchildren)
      return OTPC_EINVAL;
    ERL_NIF_TERM ts[32], ks[32];
    int ch = n->child;
    for (unsigned k = 0; k < n->nchildren; k++, ch = sp->nodes[ch].next) {
      int rc = encode(c, ch, &v->seq.v[k], &ts[k]);
      if (rc < 0)
        return rc;
      if (n->type == OTPC_NIF__T_MAP)
        ks[k] = fn->res_atoms[sp->nodes[ch].name];
    }
    if (n->type == OTPC_NIF__T_TUPLE)
      *out = enif_make_tuple_from_array(env, ts, n->nchildren);
    else if (!enif_make_map_from_arrays(env, ks, ts, n->nchildren, out))
      return OTPC_EINVAL;
    return 0;
  }
  default: /* atom, bin, iolist, term */
    *out = v->term;
    return *out ? 0 : OTPC_EINVAL;
  }
}

static ERL_NIF_TERM error_term(otpc_nif_call_t *c, int rc) {
  char why[160];
  snprintf(why, sizeof why, "%s:%s/%u: %s", c->lib->module, c->fn->decl->name,
           c->fn->decl->arity, otpc_strerror(rc));
  return enif_make_tuple2(c->env, c->lib->a_otpc_nif,
                          make_text(c->env, why, strlen(why)));
}

ERL_NIF_TERM otpc_nif__outcome(otpc_nif_call_t *c, int rc, int *ok) {
  ERL_NIF_TERM t;
  *ok = 0;
  if (rc == OTPC_NIF__OUT)
    return c->out;
  if (rc == 0) {
    if (c->fn->result.nroots == 0)
      t = c->lib->a_ok;
    else if ((rc = encode(c, c->fn->result.roots[0], &c->ret, &t)) == 0) {
      *ok = 1;
      return t;
    }
    if (rc == 0) {
      *ok = 1;
      return t;
    }
  }
  if (rc > 0)
    rc = OTPC_EINVAL; /* OTPC_NIF_MORE from a plain implementation */
  return error_term(c, rc);
}

ERL_NIF_TERM otpc_nif__finish(otpc_nif_call_t *c, int rc) {
  int ok;
  ERL_NIF_TERM t = otpc_nif__outcome(c, rc, &ok);
  if (rc == OTPC_NIF__OUT || ok)
    return t;
  return enif_raise_exception(c->env, t);
}

ERL_NIF_TERM otpc_nif__dispatch(ErlNifEnv *env, int argc,
                                const ERL_NIF_TERM argv[], unsigned index) {
  otpc_nif__lib_t *lib = enif_priv_data(env);
  /* Small calls decode into this stack buffer and never allocate. */
  _Alignas(16) char buf[1024];
  otpc_nif__arena_t arena;
  otpc_nif_call_t c;
  otpc_nif__arena_init(&arena, buf, sizeof buf);
  otpc_nif__call_init(&c, lib, index, env, argc, argv, &arena);
  int rc = otpc_nif__decode_args(&c);
  ERL_NIF_TERM t;
  if (rc == OTPC_NIF__OUT)
    t = c.out;
  else if (c.fn->decl->sched == OTPC_NIF_POOL)
    t = otpc_nif__pool_submit(&c);
  else
    t = otpc_nif__finish(&c, c.fn->decl->impl(&c));
  otpc_nif__arena_free(&arena);
  return t;
}
