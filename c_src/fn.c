/* One C function, many deployments: arguments decoded from terms by the NIF
 * toolkit's spec language, the result encoded by spec, and a bad argument
 * reported with the NIF toolkit's badarg reason, built here once so every
 * deployment gives the same bytes. See include/otpc/fn.h, docs/fn.md. */
#include "otpc/fn.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../nif/spec.h"
#include "internal.h"

struct otpc_fn {
  otpc_fn_decl_t decl;
  void *ud;
  otpc_nif__spec_t args, result;
};

/* Kinds this layer decodes and encodes; the rest of the NIF language needs
 * the VM (res, pid as a local pid) or a term tree (any, term) the C
 * function would have to read as a term, which this layer hides. */
static int supported(const otpc_nif__spec_t *sp, int node, otpc_err_t *err) {
  for (; node >= 0; node = sp->nodes[node].next) {
    const otpc_nif__node_t *n = &sp->nodes[node];
    switch (n->type) {
    case OTPC_NIF__T_INT:
    case OTPC_NIF__T_UINT:
    case OTPC_NIF__T_FLOAT:
    case OTPC_NIF__T_NUM:
    case OTPC_NIF__T_BOOL:
    case OTPC_NIF__T_ENUM:
    case OTPC_NIF__T_BIN: break;
    case OTPC_NIF__T_LIST:
    case OTPC_NIF__T_TUPLE:
      if (supported(sp, n->child, err) < 0)
        return OTPC_ENOTSUP;
      break;
    default:
      return otpc__err(
          err, OTPC_ENOTSUP, n->text_off,
          "spec \"%.*s\": not supported by otpc_fn (expected int, uint, "
          "float, num, bool, atom(..), bin, list(..) or tuple(..))",
          (int)n->text_len, sp->text + n->text_off);
    }
  }
  return 0;
}

int otpc_fn_new(const otpc_fn_decl_t *decl, void *ud, otpc_fn_t **out,
                otpc_err_t *err) {
  if (!decl || !out || !decl->name || !decl->module || !decl->impl ||
      !decl->args || !decl->result)
    return otpc__err(err, OTPC_EINVAL, 0,
                     "otpc_fn_new: expected a declaration with module, "
                     "name, args, result and impl");
  otpc_fn_t *f = calloc(1, sizeof *f);
  if (!f)
    return otpc__err(err, OTPC_ENOMEM, 0, "otpc_fn_new: out of memory");
  f->decl = *decl;
  f->ud = ud;
  int rc = 0;
  if (decl->args[0] != '\0')
    rc = otpc_nif__spec_parse(decl->args, &f->args, err);
  if (rc == 0)
    rc = otpc_nif__spec_parse(decl->result, &f->result, err);
  if (rc == 0 && f->result.nroots != 1)
    rc = otpc__err(err, OTPC_EINVAL, 0,
                   "%s:%s: expected one result spec, got %u", decl->module,
                   decl->name, f->result.nroots);
  if (rc == 0 && f->args.nroots != decl->arity)
    rc = otpc__err(err, OTPC_EINVAL, 0, "%s:%s: arity %u but %u argument specs",
                   decl->module, decl->name, decl->arity, f->args.nroots);
  for (unsigned k = 0; rc == 0 && k < f->args.nroots; k++) {
    int root = f->args.roots[k];
    int saved = f->args.nodes[root].next;
    f->args.nodes[root].next = -1; /* check one root at a time */
    rc = supported(&f->args, root, err);
    f->args.nodes[root].next = (int16_t)saved;
  }
  if (rc == 0)
    rc = supported(&f->result, f->result.roots[0], err);
  if (rc < 0) {
    free(f);
    return rc;
  }
  *out = f;
  return 0;
}

void otpc_fn_free(otpc_fn_t *f) {
  free(f);
}

const otpc_fn_decl_t *otpc_fn_decl(const otpc_fn_t *f) {
  return &f->decl;
}

/* Scratch memory: a chain of blocks freed after the call. */
typedef struct block {
  struct block *next;
  max_align_t align[];
} block_t;

void *otpc_fn_scratch(otpc_fn_call_t *c, size_t size) {
  block_t *b = malloc(sizeof *b + size);
  if (!b)
    return NULL;
  b->next = c->scratch;
  c->scratch = b;
  return b->align;
}

otpc_fn_val_t *otpc_fn_seq(otpc_fn_call_t *c, otpc_fn_val_t *v, size_t n) {
  if (n > SIZE_MAX / sizeof *v->seq.v)
    return NULL;
  otpc_fn_val_t *items = otpc_fn_scratch(c, n ? n * sizeof *items : 1);
  if (!items)
    return NULL;
  memset(items, 0, n * sizeof *items);
  v->seq.v = items;
  v->seq.n = n;
  return items;
}

int otpc_fn_fail(otpc_fn_call_t *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc_term_vbuild(c->out, NULL, fmt, ap);
  va_end(ap);
  if (rc < 0)
    return rc;
  c->failed = 1;
  return 1;
}

/* Badarg ------------------------------------------------------------------ */

typedef struct badarg {
  int node;
  otpc_term_t received;
  const char *why;
  unsigned nsteps;
  struct {
    int element; /* 1 element (tuple), 0 item (list) */
    size_t index;
  } steps[OTPC_NIF__SPEC_DEPTH + 1];
} badarg_t;

static int bad(badarg_t *b, int node, otpc_term_t t, const char *why) {
  b->node = node;
  b->received = t;
  b->why = why;
  b->nsteps = 0;
  return -1;
}

static int step(badarg_t *b, int element, size_t index) {
  if (b->nsteps < sizeof b->steps / sizeof b->steps[0]) {
    b->steps[b->nsteps].element = element;
    b->steps[b->nsteps].index = index;
    b->nsteps++;
  }
  return -1;
}

/* The NIF toolkit's rule, so the message is the same sentence: a term is
 * printed when it has at most 24 nodes, no binary over 32 bytes, no map
 * over 4 pairs and no integer beyond int64. */
static bool printable(otpc_term_t t) {
  otpc_term_t stack[24];
  unsigned top = 0, seen = 0;
  stack[top++] = t;
  while (top > 0) {
    otpc_term_t x = stack[--top], e;
    otpc_iter_t it;
    size_t n;
    const uint8_t *p;
    int64_t i;
    if (++seen > 24)
      return false;
    switch (otpc_term_type(x)) {
    case OTPC_T_BITSTRING:
      if (otpc_term_binary(x, &p, &n) < 0 || n > 32)
        return false;
      break;
    case OTPC_T_LIST:
    case OTPC_T_TUPLE:
      if (otpc_term_type(x) == OTPC_T_LIST ? otpc_term_list(x, &it, &n) < 0
                                           : otpc_term_tuple(x, &it, &n) < 0)
        return false;
      if (top + n + 1 > 24)
        return false;
      while (otpc_iter_next(&it, &e) > 0)
        stack[top++] = e;
      if (otpc_term_type(x) == OTPC_T_LIST && otpc_iter_tail(&it, &e) == 0 &&
          otpc_term_type(e) != OTPC_T_NIL)
        stack[top++] = e;
      break;
    case OTPC_T_MAP:
      if (otpc_term_map(x, &it, &n) < 0 || n > 4)
        return false;
      seen += 2 * (unsigned)n;
      break;
    case OTPC_T_INTEGER:
      if (otpc_term_int64(x, &i) < 0)
        return false;
      break;
    default: break;
    }
  }
  return true;
}

static const char *type_name(otpc_term_t t) {
  switch (otpc_term_type(t)) {
  case OTPC_T_ATOM: return "an atom";
  case OTPC_T_BITSTRING: return "a bitstring";
  case OTPC_T_FLOAT: return "a float";
  case OTPC_T_FUN: return "a fun";
  case OTPC_T_INTEGER: return "an integer";
  case OTPC_T_LIST:
  case OTPC_T_NIL: return "a list";
  case OTPC_T_MAP: return "a map";
  case OTPC_T_PID: return "a pid";
  case OTPC_T_PORT: return "a port";
  case OTPC_T_REF: return "a reference";
  case OTPC_T_TUPLE: return "a tuple";
  default: return "a term";
  }
}

static int badarg_term(const otpc_fn_t *f, unsigned argno, const badarg_t *b,
                       otpc_buf_t *out) {
  const otpc_nif__node_t *n = &f->args.nodes[b->node];
  char expected[160], fname[128], where[256], got[200], msg[900];
  snprintf(expected, sizeof expected, "%.*s", (int)n->text_len,
           f->args.text + n->text_off);
  snprintf(fname, sizeof fname, "%s:%s/%u", f->decl.module, f->decl.name,
           f->decl.arity);
  size_t wl = 0;
  where[0] = '\0';
  for (unsigned k = b->nsteps; k-- > 0 && wl < sizeof where - 64;) {
    int w =
        snprintf(where + wl, sizeof where - wl, ", %s %zu",
                 b->steps[k].element ? "element" : "item", b->steps[k].index);
    if (w > 0)
      wl += (size_t)w;
  }
  if (printable(b->received))
    otpc_term_snprint(got, sizeof got, b->received);
  else
    snprintf(got, sizeof got, "%s (too large to print)",
             type_name(b->received));
  int ml = snprintf(
      msg, sizeof msg, "%s: argument %u%s: expected %s%s%s, received %s", fname,
      argno, where, expected, b->why ? " " : "", b->why ? b->why : "", got);
  if (ml < 0)
    ml = 0;
  if ((size_t)ml >= sizeof msg)
    ml = sizeof msg - 1;
  /* The path, outermost first: steps were recorded innermost first. */
  otpc_buf_t path;
  otpc_buf_init(&path);
  int rc = 0;
  for (unsigned k = b->nsteps; rc == 0 && k-- > 0;)
    rc = otpc_term_build(&path, NULL, "{~a, ~U}",
                         b->steps[k].element ? "element" : "item",
                         (uint64_t)b->steps[k].index);
  /* A list of the steps: LIST_EXT header, the steps, NIL. */
  otpc_buf_t list;
  otpc_buf_init(&list);
  if (rc == 0 && b->nsteps > 0) {
    uint8_t h[5] = {108, 0, 0, 0, (uint8_t)b->nsteps};
    rc = otpc_buf_append(&list, h, sizeof h);
    if (rc == 0)
      rc = otpc_buf_append(&list, path.data, path.len);
  }
  if (rc == 0)
    rc = otpc_buf_append(&list, (const uint8_t[]){106}, 1);
  otpc_term_t pt = {list.data, list.len};
  if (rc == 0)
    rc = otpc_term_build(out, NULL,
                         "{badarg, #{argument => ~U, expected => ~b, "
                         "received => ~t, path => ~t, function => ~b, "
                         "message => ~b}}",
                         (uint64_t)argno, expected, strlen(expected),
                         &b->received, &pt, fname, strlen(fname), msg,
                         (size_t)ml);
  otpc_buf_free(&path);
  otpc_buf_free(&list);
  return rc;
}

/* Decoding ---------------------------------------------------------------- */

/* A float, or an integer within the range of a double (as the NIF toolkit
 * takes `num`). An integer beyond int64 is read through its decimal text:
 * anything over 400 digits is beyond a double's range anyway. */
static int num(otpc_term_t t, double *out) {
  int64_t i;
  if (otpc_term_type(t) == OTPC_T_FLOAT)
    return otpc_term_double(t, out);
  if (otpc_term_type(t) != OTPC_T_INTEGER)
    return OTPC_ETYPE;
  if (otpc_term_int64(t, &i) == 0) {
    *out = (double)i;
    return 0;
  }
  char text[400];
  int n = otpc_term_snprint(text, sizeof text, t);
  if (n < 0 || (size_t)n >= sizeof text)
    return OTPC_ERANGE;
  *out = strtod(text, NULL);
  return isfinite(*out) ? 0 : OTPC_ERANGE;
}

static int decode(otpc_fn_call_t *c, const otpc_nif__spec_t *sp, int node,
                  otpc_term_t t, otpc_fn_val_t *v, badarg_t *b) {
  const otpc_nif__node_t *n = &sp->nodes[node];
  switch (n->type) {
  case OTPC_NIF__T_INT:
    if (otpc_term_int64(t, &v->i) < 0 || (n->has_lo && v->i < n->lo) ||
        (n->has_hi && v->i > n->hi))
      return bad(b, node, t, NULL);
    return 0;
  case OTPC_NIF__T_UINT:
    return otpc_term_uint64(t, &v->u) < 0 ? bad(b, node, t, NULL) : 0;
  case OTPC_NIF__T_FLOAT:
    if (otpc_term_type(t) != OTPC_T_FLOAT || otpc_term_double(t, &v->f) < 0)
      return bad(b, node, t, NULL);
    return 0;
  case OTPC_NIF__T_NUM:
    if (num(t, &v->f) < 0)
      return bad(b, node, t, "(a number within the range of a double)");
    return 0;
  case OTPC_NIF__T_BOOL:
    if (otpc_term_is_atom(t, "true") == 1)
      v->b = true;
    else if (otpc_term_is_atom(t, "false") == 1)
      v->b = false;
    else
      return bad(b, node, t, NULL);
    return 0;
  case OTPC_NIF__T_ENUM: {
    char name[256];
    size_t len;
    if (otpc_term_atom_text(t, name, sizeof name, &len) < 0)
      return bad(b, node, t, NULL);
    for (unsigned k = 0; k < n->nnames; k++) {
      const otpc_nif__name_t *nm = &sp->names[n->first_name + k];
      if (nm->len == len && memcmp(sp->text + nm->off, name, len) == 0) {
        v->u = k;
        return 0;
      }
    }
    return bad(b, node, t, NULL);
  }
  case OTPC_NIF__T_BIN:
    if (otpc_term_type(t) != OTPC_T_BITSTRING ||
        otpc_term_binary(t, &v->bin.p, &v->bin.n) < 0)
      return bad(b, node, t, NULL);
    return 0;
  case OTPC_NIF__T_LIST:
  case OTPC_NIF__T_TUPLE: {
    otpc_iter_t it;
    size_t len;
    otpc_term_t e;
    int list = n->type == OTPC_NIF__T_LIST;
    if (list) {
      if (otpc_term_type(t) != OTPC_T_NIL &&
          (otpc_term_list(t, &it, &len) < 0 || otpc_iter_tail(&it, &e) < 0 ||
           otpc_term_type(e) != OTPC_T_NIL))
        return bad(b, node, t, NULL);
      if (otpc_term_type(t) == OTPC_T_NIL)
        len = 0;
    } else if (otpc_term_tuple(t, &it, &len) < 0 || len != n->nchildren) {
      return bad(b, node, t, NULL);
    }
    otpc_fn_val_t *items = otpc_fn_seq(c, v, len);
    if (!items)
      return bad(b, node, t, "(out of memory)");
    int child = n->child;
    for (size_t k = 0; k < len; k++) {
      otpc_iter_next(&it, &e);
      if (decode(c, sp, child, e, &items[k], b) < 0)
        return step(b, !list, k + 1);
      if (!list)
        child = sp->nodes[child].next;
    }
    return 0;
  }
  default: return bad(b, node, t, NULL);
  }
}

/* Encoding ---------------------------------------------------------------- */

static int encode(const otpc_nif__spec_t *sp, int node, const otpc_fn_val_t *v,
                  otpc_buf_t *out) {
  const otpc_nif__node_t *n = &sp->nodes[node];
  switch (n->type) {
  case OTPC_NIF__T_INT:
    if ((n->has_lo && v->i < n->lo) || (n->has_hi && v->i > n->hi))
      return OTPC_ERANGE;
    return otpc_term_build(out, NULL, "~I", v->i);
  case OTPC_NIF__T_UINT: return otpc_term_build(out, NULL, "~U", v->u);
  case OTPC_NIF__T_FLOAT:
  case OTPC_NIF__T_NUM:
    return isfinite(v->f) ? otpc_term_build(out, NULL, "~f", v->f)
                          : OTPC_ERANGE;
  case OTPC_NIF__T_BOOL:
    return otpc_term_build(out, NULL, "~a", v->b ? "true" : "false");
  case OTPC_NIF__T_ENUM: {
    if (v->u >= n->nnames)
      return OTPC_ERANGE;
    const otpc_nif__name_t *nm = &sp->names[n->first_name + v->u];
    char name[256];
    snprintf(name, sizeof name, "%.*s", (int)nm->len, sp->text + nm->off);
    return otpc_term_build(out, NULL, "~a", name);
  }
  case OTPC_NIF__T_BIN:
    if (!v->bin.p && v->bin.n)
      return OTPC_ERANGE;
    return otpc_term_build(out, NULL, "~b", v->bin.p ? v->bin.p : (void *)"",
                           v->bin.n);
  case OTPC_NIF__T_LIST:
  case OTPC_NIF__T_TUPLE: {
    int list = n->type == OTPC_NIF__T_LIST;
    size_t len = v->seq.n;
    if (!list && len != n->nchildren)
      return OTPC_ERANGE;
    if (len && !v->seq.v)
      return OTPC_ERANGE;
    if (len > UINT32_MAX)
      return OTPC_ELIMIT;
    uint8_t h[5];
    size_t hl = 5;
    if (list) {
      h[0] = 108;
    } else if (len <= 255) {
      h[0] = 104;
      h[1] = (uint8_t)len;
      hl = 2;
    } else {
      h[0] = 105;
    }
    if (hl == 5)
      for (int k = 0; k < 4; k++)
        h[1 + k] = (uint8_t)(len >> (24 - 8 * k));
    int rc = 0;
    if (!list || len)
      rc = otpc_buf_append(out, h, hl);
    int child = n->child;
    for (size_t k = 0; rc == 0 && k < len; k++) {
      rc = encode(sp, child, &v->seq.v[k], out);
      if (!list)
        child = sp->nodes[child].next;
    }
    if (rc == 0 && list)
      rc = otpc_buf_append(out, (const uint8_t[]){106}, 1);
    return rc;
  }
  default: return OTPC_ENOTSUP;
  }
}

/* Calling ----------------------------------------------------------------- */

int otpc_fn_apply(const otpc_fn_t *f, otpc_term_t args, int skip_first,
                  otpc_buf_t *out) {
  otpc_iter_t it;
  size_t n = 0;
  otpc_term_t e;
  int rc = 0;
  if (otpc_term_type(args) == OTPC_T_NIL)
    n = 0;
  else if (otpc_term_type(args) == OTPC_T_TUPLE)
    rc = otpc_term_tuple(args, &it, &n);
  else
    rc = otpc_term_list(args, &it, &n);
  if (rc < 0)
    return rc;
  if (skip_first) {
    if (n == 0)
      return OTPC_EINVAL;
    otpc_iter_next(&it, &e);
    n--;
  }
  /* Deployments route by name and arity, so a count mismatch here is the
   * deployment's bug, not the caller's. */
  if (n != f->decl.arity)
    return OTPC_EINVAL;
  otpc_fn_val_t argv[OTPC_NIF__SPEC_ROOTS];
  memset(argv, 0, sizeof argv);
  otpc_fn_call_t c = {.args = argv, .ud = f->ud, .out = out};
  badarg_t b;
  size_t start = out->len;
  rc = 0;
  for (size_t k = 0; k < n; k++) {
    otpc_iter_next(&it, &e);
    if (decode(&c, &f->args, f->args.roots[k], e, &argv[k], &b) < 0) {
      rc = badarg_term(f, (unsigned)k + 1, &b, out);
      rc = rc < 0 ? rc : 1;
      goto done;
    }
  }
  rc = f->decl.impl(&c);
  if (c.failed) {
    rc = 1;
  } else if (rc == 0) {
    rc = encode(&f->result, f->result.roots[0], &c.ret, out);
    if (rc < 0) {
      /* A result outside its spec is the C function's bug: named, as the
       * NIF toolkit names it, never sent as a wrong value. */
      out->len = start;
      char text[200];
      int tl = snprintf(text, sizeof text, "%s:%s/%u: value out of range",
                        f->decl.module, f->decl.name, f->decl.arity);
      rc = otpc_term_build(out, NULL, "{otpc_nif, ~b}", text, (size_t)tl);
      rc = rc < 0 ? rc : 1;
    }
  } else if (rc > 0) {
    rc = OTPC_EINVAL; /* positive without otpc_fn_fail: a bug */
  }
done:
  while (c.scratch) {
    block_t *next = ((block_t *)c.scratch)->next;
    free(c.scratch);
    c.scratch = next;
  }
  return rc;
}
