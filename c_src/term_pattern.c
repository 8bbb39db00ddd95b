/* Parsing the patterns of otpc_term_match into a preorder array of nodes.
 *
 * The whole pattern is parsed before any matching, so a syntax error is
 * reported whatever the term, and the matcher can show the shape of the
 * pattern around a mismatch. The recursion follows the pattern's nesting,
 * capped at OTPC_TERM_FORMAT_MAX_DEPTH. Literals are read by the lexer
 * the builder uses too (term_lex.c), and only checked here: the matcher
 * re-reads their text, so a node stays small and a match allocates
 * nothing for them. */
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "term_pattern.h"

otpc__lex_t otpc__pattern_relex(const char *pattern, const pnode_t *n) {
  otpc__lex_t lx = {.s = pattern, .pos = n->off, .pattern = 1};
  return lx;
}

size_t otpc__pattern_atom(const char *pattern, const pnode_t *n, char *out) {
  otpc__lex_t lx = otpc__pattern_relex(pattern, n);
  size_t len = 0;
  otpc__lex_atom(&lx, out, &len);
  return len;
}

typedef struct parser {
  otpc__lex_t lx; /* the pattern, read with the literal syntax of term_lex.c */
  pnode_t *nodes;
  size_t cap;   /* nodes has room for this many */
  size_t count; /* nodes parsed, maybe more than cap (then only counted) */
  pnode_t scratch;
  unsigned in_key;
  unsigned format; /* a builder's format: its directives are all "captures" */
} parser_t;

static int bad(parser_t *p, size_t at, const char *why) {
  return otpc__lex_fail(&p->lx, OTPC_EBADFMT, at, "%s", why);
}

static size_t new_node(parser_t *p, int kind, size_t off) {
  size_t i = p->count++;
  pnode_t *n = i < p->cap ? &p->nodes[i] : &p->scratch;
  memset(n, 0, sizeof *n);
  n->kind = (unsigned char)kind;
  n->off = off;
  return i;
}

static pnode_t *node(parser_t *p, size_t i) {
  return i < p->cap ? &p->nodes[i] : &p->scratch;
}

static int parse_value(parser_t *p);

/* Tuples, lists and maps. */
static int parse_container(parser_t *p, int kind) {
  otpc__lex_t *lx = &p->lx;
  size_t at = lx->pos;
  size_t i = new_node(p, kind, at);
  char close = kind == P_LIST ? ']' : '}';
  size_t n = 0;
  int tail = 0, rc;
  if ((rc = otpc__lex_enter(lx)) < 0)
    return rc;
  lx->pos++;
  if (kind == P_MAP) {
    if (lx->s[lx->pos] != '{')
      return otpc__lex_expected(lx, "'{' after '#'");
    lx->pos++;
  }
  otpc__lex_skip_ws(lx);
  if (lx->s[lx->pos] == close) {
    lx->pos++;
  } else {
    for (;;) {
      if (kind == P_MAP) {
        p->in_key++;
        rc = parse_value(p);
        p->in_key--;
        if (rc < 0)
          return rc;
        otpc__lex_skip_ws(lx);
        const char *s = lx->s + lx->pos;
        if ((s[0] != '=' && s[0] != ':') || (s[1] != '>' && s[1] != '=') ||
            (s[0] == '=') != (s[1] == '>'))
          return otpc__lex_expected(lx, ":= or => in a map");
        lx->pos += 2;
      }
      rc = parse_value(p);
      if (rc < 0)
        return rc;
      n++;
      otpc__lex_skip_ws(lx);
      char ch = lx->s[lx->pos];
      if (ch == ',') {
        lx->pos++;
      } else if (ch == '|' && kind == P_LIST) {
        lx->pos++;
        otpc__lex_skip_ws(lx);
        size_t tat = lx->pos, ti = p->count;
        rc = parse_value(p);
        if (rc < 0)
          return rc;
        /* The tail after some elements is not a term of its own in the
         * encoding ([1,2,3] is one header and three elements), so there is
         * nothing to view without a copy. */
        if (node(p, ti)->kind == P_CAP && node(p, ti)->cap == 't')
          return bad(p, tat,
                     "~t cannot capture a list tail (it has no encoding of "
                     "its own); capture the list with ~t and iterate");
        n++;
        tail = 1;
        otpc__lex_skip_ws(lx);
        if (lx->s[lx->pos] != ']')
          return otpc__lex_expected(lx, "']' after the tail of a list");
        lx->pos++;
        break;
      } else if (ch == close) {
        lx->pos++;
        break;
      } else {
        return otpc__lex_expected(lx, "%s",
                                  kind == P_LIST ? "',', '|' or ']' in a list"
                                  : kind == P_TUPLE ? "',' or '}' in a tuple"
                                                    : "',' or '}' in a map");
      }
    }
  }
  lx->depth--;
  pnode_t *nd = node(p, i);
  nd->n = n;
  nd->tail = (unsigned char)tail;
  nd->len = lx->pos - at;
  nd->size = p->count - i;
  return 0;
}

static int parse_value(parser_t *p) {
  otpc__lex_t *lx = &p->lx;
  otpc__lex_skip_ws(lx);
  size_t at = lx->pos, i;
  const char *s = lx->s;
  char ch = s[at];
  int rc = 0;
  if (ch == '{')
    return parse_container(p, P_TUPLE);
  if (ch == '[')
    return parse_container(p, P_LIST);
  if (ch == '#')
    return parse_container(p, P_MAP);
  if (ch == '<' && s[at + 1] == '<') {
    otpc__lex_bin_t b;
    uint8_t byte;
    i = new_node(p, P_BIN, at);
    otpc__lex_bin_begin(lx, &b);
    while ((rc = otpc__lex_bin_next(lx, &b, &byte)) == 1)
      ;
  } else if (ch == '"') {
    uint32_t cp;
    int numeric;
    i = new_node(p, P_STR, at);
    lx->pos++;
    while ((rc = otpc__lex_quoted(lx, at, &cp, &numeric)) == 1)
      ;
  } else if ((ch >= 'a' && ch <= 'z') || ch == '\'') {
    char text[OTPC_ATOM_MAX_BYTES];
    size_t len;
    i = new_node(p, P_ATOM, at);
    rc = otpc__lex_atom(lx, text, &len);
  } else if (otpc__lex_number_start(ch)) {
    otpc__num_t num;
    i = new_node(p, P_INT, at);
    if ((rc = otpc__lex_number(lx, &num)) == 0) {
      pnode_t *n = node(p, i);
      n->neg = (unsigned char)num.neg;
      n->big = (unsigned char)num.big;
      if (num.is_float) {
        n->kind = P_FLOAT;
        n->v.f = num.f;
      } else {
        n->v.mag = num.mag;
      }
    }
  } else if (ch == '~') {
    char d = s[at + 1];
    if (p->in_key)
      return bad(p, at, "a capture in a map key (keys must be literals)");
    if (d == 0 ||
        strchr(p->format ? "aAilIUNfsbBprPt" : "ailIUfbsprPt", d) == NULL)
      return bad(p, at + 1,
                 d != 0 && strchr("ANB", d) != NULL
                     ? "a builder directive that is not a capture"
                     : "unknown capture (one of ~a ~i ~l ~I ~U ~f ~b ~s ~p "
                       "~r ~P ~t)");
    i = new_node(p, P_CAP, at);
    node(p, i)->cap = d;
    lx->pos += 2;
  } else if (ch == '_') {
    if (p->in_key)
      return bad(p, at, "_ in a map key (keys must be literals)");
    i = new_node(p, P_WILD, at);
    while (otpc__lex_is_name(s[lx->pos]))
      lx->pos++;
  } else if (ch >= 'A' && ch <= 'Z') {
    return bad(p, at, "a variable (use _ or a ~ capture)");
  } else if (ch == '<') {
    lx->pos++;
    return otpc__lex_expected(lx, "'<' (a binary starts with '<<')");
  } else {
    return otpc__lex_expected(lx, "a term");
  }
  if (rc < 0)
    return rc;
  pnode_t *n = node(p, i);
  n->len = lx->pos - at;
  n->size = 1;
  return 0;
}

static int parse(const char *pattern, otpc_err_t *err, pnode_t *stack,
                 size_t cap, pnode_t **nodes, unsigned format) {
  parser_t p;
  memset(&p, 0, sizeof p);
  p.format = format;
  p.lx.s = pattern;
  p.lx.err = err;
  p.lx.pattern = 1;
  p.nodes = stack;
  p.cap = cap;
  *nodes = stack;
  int rc = parse_value(&p);
  if (rc == 0) {
    otpc__lex_skip_ws(&p.lx);
    if (pattern[p.lx.pos] != 0)
      rc = otpc__lex_expected(&p.lx, "the end of the pattern after the term");
  }
  if (rc == 0 && p.count > cap) {
    /* Large patterns: parse again into heap nodes, now counted. */
    p.cap = p.count;
    p.nodes = malloc(p.cap * sizeof *p.nodes);
    if (p.nodes == NULL)
      return otpc__err(err, OTPC_ENOMEM, 0, "out of memory for the pattern");
    p.count = 0;
    p.lx.pos = 0;
    rc = parse_value(&p);
    *nodes = p.nodes;
  }
  return rc;
}

int otpc__pattern_parse(const char *pattern, otpc_err_t *err, pnode_t *stack,
                        size_t cap, pnode_t **nodes) {
  return parse(pattern, err, stack, cap, nodes, 0);
}

int otpc__format_parse(const char *fmt, pnode_t *stack, size_t cap,
                       pnode_t **nodes) {
  return parse(fmt, NULL, stack, cap, nodes, 1);
}

/* ------------------------------------------------------------- the cache
 *
 * Programs match and build with the same few literal patterns and formats
 * over and over (a gen_server tries four patterns per message), and
 * parsing costs more than matching. Each thread keeps what it derived from
 * recent texts (parsed nodes, build programs), so no lock is taken and no
 * entry is shared. A slot is found by the caller's pointer, but a hit
 * needs the same text too: a caller may rewrite a buffer between calls. */

#define CACHE_SLOTS 64
#define CACHE_MAX_TEXT 1024 /* longer texts are parsed at every call */

typedef struct otpc__centry {
  const char *key; /* the caller's pointer, NULL when the slot is empty */
  char *text;      /* a copy of the text: what a hit must equal */
  void *blob;      /* what was derived from it, after the text */
  size_t room;     /* bytes of the block at text (text and blob) */
  unsigned busy;
} centry_t;

typedef struct tcache {
  centry_t e[OTPC__CACHE_KINDS][CACHE_SLOTS];
} tcache_t;

static _Thread_local tcache_t *tl_cache;
static pthread_key_t cache_key;
static int cache_key_ok;
static pthread_once_t cache_once = PTHREAD_ONCE_INIT;

static void cache_free(void *p) {
  tcache_t *c = p;
  for (size_t k = 0; k < OTPC__CACHE_KINDS; k++)
    for (size_t i = 0; i < CACHE_SLOTS; i++)
      free(c->e[k][i].text);
  free(c);
}

static void cache_key_make(void) {
  cache_key_ok = pthread_key_create(&cache_key, cache_free) == 0;
}

/* This thread's cache, made at its first use and freed when the thread
 * ends (the key's destructor); NULL if memory is short. */
static tcache_t *cache(void) {
  if (tl_cache != NULL)
    return tl_cache;
  pthread_once(&cache_once, cache_key_make);
  if (!cache_key_ok)
    return NULL;
  tcache_t *c = calloc(1, sizeof *c);
  if (c == NULL || pthread_setspecific(cache_key, c) != 0) {
    free(c);
    return NULL;
  }
  return tl_cache = c;
}

static centry_t *slot(int kind, const char *text) {
  tcache_t *c = cache();
  if (c == NULL)
    return NULL;
  uint64_t h = (uint64_t)(uintptr_t)text * 0x9E3779B97F4A7C15u;
  return &c->e[kind][h >> 58]; /* the top 6 bits: CACHE_SLOTS is 64 */
}

const void *otpc__cache_get(int kind, const char *text, otpc__centry_t **held) {
  centry_t *e = slot(kind, text);
  *held = NULL;
  if (e == NULL || e->busy || e->key != text || strcmp(e->text, text) != 0)
    return NULL;
  e->busy = 1;
  *held = e;
  return e->blob;
}

void otpc__cache_put(otpc__centry_t *held) {
  if (held != NULL)
    held->busy = 0;
}

void otpc__cache_keep(int kind, const char *text, const void *blob,
                      size_t size) {
  size_t len = strlen(text);
  centry_t *e = slot(kind, text);
  if (e == NULL || e->busy || len > CACHE_MAX_TEXT)
    return;
  size_t text_room = (len + 1 + _Alignof(max_align_t) - 1) &
                     ~(size_t)(_Alignof(max_align_t) - 1);
  size_t need = text_room + size;
  if (need > e->room) {
    char *block = malloc(need);
    if (block == NULL)
      return;
    free(e->text);
    e->text = block;
    e->room = need;
  }
  memcpy(e->text, text, len + 1);
  e->blob = e->text + text_room;
  memcpy(e->blob, blob, size);
  e->key = text;
}

int otpc__pattern_get(const char *pattern, otpc_err_t *err,
                      otpc__pattern_use_t *use) {
  use->heap = NULL;
  use->nodes = otpc__cache_get(OTPC__CACHE_PATTERN, pattern, &use->entry);
  if (use->nodes != NULL)
    return 0;
  pnode_t *nodes;
  int rc = otpc__pattern_parse(pattern, err, use->stack,
                               OTPC__PATTERN_STACK_NODES, &nodes);
  if (rc < 0) {
    if (nodes != use->stack)
      free(nodes);
    return rc;
  }
  use->nodes = nodes;
  if (nodes != use->stack)
    use->heap = nodes;
  otpc__cache_keep(OTPC__CACHE_PATTERN, pattern, nodes,
                   nodes[0].size * sizeof *nodes);
  return 0;
}

void otpc__pattern_put(otpc__pattern_use_t *use) {
  otpc__cache_put(use->entry);
  free(use->heap);
}
