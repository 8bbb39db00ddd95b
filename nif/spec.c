/* The spec parser: recursive descent, bounded by OTPC_NIF__SPEC_DEPTH, so a
 * hostile string cannot exhaust the stack (the fuzz target checks it). */
#include "spec.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

typedef struct parser {
  const char *s;
  size_t pos;
  otpc_nif__spec_t *spec;
  otpc_err_t *err;
} parser_t;

static int fail(parser_t *p, int code, const char *expected) {
  if (p->err) {
    p->err->code = code;
    p->err->offset = p->pos;
    snprintf(p->err->msg, sizeof p->err->msg,
             "spec \"%.60s\" at offset %zu: expected %s", p->s, p->pos,
             expected);
  }
  return code;
}

static void skip_ws(parser_t *p) {
  while (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n')
    p->pos++;
}

static bool is_name_char(char ch, bool first) {
  if (ch >= 'a' && ch <= 'z')
    return true;
  if (first)
    return false;
  return (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_' ||
         ch == '@';
}

/* A lower-case word (type name, atom, key): its span, or length 0. */
static size_t word(parser_t *p) {
  size_t start = p->pos;
  if (!is_name_char(p->s[p->pos], true))
    return 0;
  while (is_name_char(p->s[p->pos], false))
    p->pos++;
  return p->pos - start;
}

static bool eat(parser_t *p, char ch) {
  skip_ws(p);
  if (p->s[p->pos] != ch)
    return false;
  p->pos++;
  return true;
}

static int add_name(parser_t *p, size_t off, size_t len) {
  otpc_nif__spec_t *sp = p->spec;
  if (sp->nnames >= OTPC_NIF__SPEC_NAMES)
    return fail(p, OTPC_ELIMIT, "at most 64 names in a spec");
  if (len > 255)
    return fail(p, OTPC_ELIMIT, "a name of at most 255 characters");
  sp->names[sp->nnames].off = (uint16_t)off;
  sp->names[sp->nnames].len = (uint16_t)len;
  return (int)sp->nnames++;
}

static int number(parser_t *p, int64_t *out) {
  bool neg = false;
  uint64_t v = 0;
  skip_ws(p);
  if (p->s[p->pos] == '-') {
    neg = true;
    p->pos++;
  }
  if (p->s[p->pos] < '0' || p->s[p->pos] > '9')
    return fail(p, OTPC_EBADFMT, "an integer");
  while (p->s[p->pos] >= '0' && p->s[p->pos] <= '9') {
    uint64_t d = (uint64_t)(p->s[p->pos] - '0');
    if (v > (UINT64_MAX - d) / 10)
      return fail(p, OTPC_ERANGE, "an integer within int64");
    v = v * 10 + d;
    p->pos++;
  }
  if ((!neg && v > (uint64_t)INT64_MAX) || (neg && v > (uint64_t)INT64_MAX + 1))
    return fail(p, OTPC_ERANGE, "an integer within int64");
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return 0;
}

static int type(parser_t *p, int depth);

/* `int(LO..HI)` with either bound optional. */
static int int_range(parser_t *p, otpc_nif__node_t *n) {
  int rc;
  skip_ws(p);
  if (p->s[p->pos] != '.') {
    if ((rc = number(p, &n->lo)) < 0)
      return rc;
    n->has_lo = 1;
  }
  skip_ws(p);
  if (strncmp(p->s + p->pos, "..", 2) != 0)
    return fail(p, OTPC_EBADFMT, "'..' in an integer range");
  p->pos += 2;
  skip_ws(p);
  if (p->s[p->pos] != ')') {
    if ((rc = number(p, &n->hi)) < 0)
      return rc;
    n->has_hi = 1;
  }
  if (!n->has_lo && !n->has_hi)
    return fail(p, OTPC_EBADFMT, "at least one bound in an integer range");
  if (n->has_lo && n->has_hi && n->lo > n->hi)
    return fail(p, OTPC_EBADFMT, "a range whose low bound is <= its high");
  return 0;
}

/* Children of list/tuple/map, linked in order; map fields carry a key. */
static int children(parser_t *p, int self, int depth, bool keyed, int max) {
  otpc_nif__spec_t *sp = p->spec;
  int prev = -1;
  do {
    int key = -1;
    if (keyed) {
      skip_ws(p);
      size_t off = p->pos, len = word(p);
      if (len == 0)
        return fail(p, OTPC_EBADFMT, "a map key (a lower-case atom)");
      if ((key = add_name(p, off, len)) < 0)
        return key;
      if (!eat(p, ':'))
        return fail(p, OTPC_EBADFMT, "':' after a map key");
    }
    int c = type(p, depth + 1);
    if (c < 0)
      return c;
    sp->nodes[c].name = (int16_t)key;
    if (prev < 0)
      sp->nodes[self].child = (int16_t)c;
    else
      sp->nodes[prev].next = (int16_t)c;
    prev = c;
    sp->nodes[self].nchildren++;
    if (sp->nodes[self].nchildren > max)
      return fail(p, OTPC_ELIMIT, "fewer elements");
  } while (eat(p, ','));
  return 0;
}

static const struct {
  const char *word;
  otpc_nif__type_t type;
} simple[] = {
    {"int", OTPC_NIF__T_INT},         {"uint", OTPC_NIF__T_UINT},
    {"integer", OTPC_NIF__T_INTEGER}, {"float", OTPC_NIF__T_FLOAT},
    {"num", OTPC_NIF__T_NUM},         {"bool", OTPC_NIF__T_BOOL},
    {"atom", OTPC_NIF__T_ATOM},       {"bin", OTPC_NIF__T_BIN},
    {"iolist", OTPC_NIF__T_IOLIST},   {"pid", OTPC_NIF__T_PID},
    {"term", OTPC_NIF__T_TERM},       {"any", OTPC_NIF__T_ANY},
    {"res", OTPC_NIF__T_RES},         {"list", OTPC_NIF__T_LIST},
    {"tuple", OTPC_NIF__T_TUPLE},     {"map", OTPC_NIF__T_MAP},
};

/* Parses one type; returns its node index or a negative code. */
static int type(parser_t *p, int depth) {
  otpc_nif__spec_t *sp = p->spec;
  int rc;
  if (depth > OTPC_NIF__SPEC_DEPTH)
    return fail(p, OTPC_ELIMIT, "types nested at most 8 deep");
  if (sp->nnodes >= OTPC_NIF__SPEC_NODES)
    return fail(p, OTPC_ELIMIT, "at most 64 types in a spec");
  skip_ws(p);
  size_t start = p->pos, len = word(p);
  int self = (int)sp->nnodes++;
  otpc_nif__node_t *n = &sp->nodes[self];
  memset(n, 0, sizeof *n);
  n->child = n->next = n->name = -1;
  size_t i;
  for (i = 0; i < sizeof simple / sizeof simple[0]; i++)
    if (strlen(simple[i].word) == len &&
        memcmp(simple[i].word, p->s + start, len) == 0)
      break;
  if (len == 0 || i == sizeof simple / sizeof simple[0]) {
    p->pos = start;
    return fail(p, OTPC_EBADFMT,
                "a type (int, uint, integer, float, num, bool, atom, bin, "
                "iolist, pid, term, any, res, list, tuple, map)");
  }
  n->type = (uint8_t)simple[i].type;
  bool open = eat(p, '(');
  switch (n->type) {
  case OTPC_NIF__T_INT:
    if (open && (rc = int_range(p, n)) < 0)
      return rc;
    break;
  case OTPC_NIF__T_ATOM:
    if (open) {
      n->type = OTPC_NIF__T_ENUM;
      n->first_name = (uint16_t)sp->nnames;
      do {
        skip_ws(p);
        size_t off = p->pos, wl = word(p);
        if (wl == 0)
          return fail(p, OTPC_EBADFMT, "an atom (lower-case) in atom(...)");
        if ((rc = add_name(p, off, wl)) < 0)
          return rc;
        n->nnames++;
      } while (eat(p, '|'));
    }
    break;
  case OTPC_NIF__T_RES: {
    if (!open)
      return fail(p, OTPC_EBADFMT, "'(' and a resource type name after res");
    skip_ws(p);
    size_t off = p->pos, wl = word(p);
    if (wl == 0)
      return fail(p, OTPC_EBADFMT, "a resource type name in res(...)");
    if ((rc = add_name(p, off, wl)) < 0)
      return rc;
    n->name = (int16_t)rc;
    break;
  }
  case OTPC_NIF__T_LIST:
  case OTPC_NIF__T_TUPLE:
  case OTPC_NIF__T_MAP:
    if (!open)
      return fail(p, OTPC_EBADFMT, "'(' after list, tuple or map");
    if ((rc = children(p, self, depth, n->type == OTPC_NIF__T_MAP,
                       n->type == OTPC_NIF__T_LIST ? 1 : 32)) < 0)
      return rc;
    break;
  default:
    if (open)
      return fail(p, OTPC_EBADFMT, "no '(' after this type");
  }
  if (open && !eat(p, ')'))
    return fail(p, OTPC_EBADFMT, "')'");
  /* The node's index may have moved if children were added: n is stable
   * because nodes is an array inside *spec. */
  n->text_off = (uint16_t)start;
  n->text_len = (uint16_t)(p->pos - start);
  return self;
}

int otpc_nif__spec_parse(const char *text, otpc_nif__spec_t *spec,
                         otpc_err_t *err) {
  if (!text || !spec)
    return OTPC_EINVAL;
  if (strlen(text) > 4000) {
    if (err) {
      err->code = OTPC_ELIMIT;
      err->offset = 0;
      snprintf(err->msg, sizeof err->msg,
               "spec too long: expected at most 4000 characters");
    }
    return OTPC_ELIMIT;
  }
  memset(spec, 0, sizeof *spec);
  spec->text = text;
  parser_t p = {text, 0, spec, err};
  skip_ws(&p);
  if (text[p.pos] == '\0')
    return 0; /* no arguments */
  do {
    if (spec->nroots >= OTPC_NIF__SPEC_ROOTS)
      return fail(&p, OTPC_ELIMIT, "at most 32 arguments");
    int r = type(&p, 1);
    if (r < 0)
      return r;
    spec->roots[spec->nroots++] = (int16_t)r;
  } while (eat(&p, ','));
  skip_ws(&p);
  if (text[p.pos] != '\0')
    return fail(&p, OTPC_EBADFMT, "',' or the end of the spec");
  return 0;
}
