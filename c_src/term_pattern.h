/* Patterns of otpc_term_match, parsed (term_pattern.c) into a preorder
 * array of nodes that the matcher (term_match.c) walks with the term. */
#ifndef OTPC_TERM_PATTERN_H
#define OTPC_TERM_PATTERN_H

#include <stddef.h>
#include <stdint.h>

#include "internal.h"

/* Nodes a caller may offer on its stack: most patterns fit. */
#define OTPC__PATTERN_STACK_NODES 64

enum {
  P_WILD,  /* _ or _Name */
  P_CAP,   /* ~x */
  P_ATOM,  /* ok, 'Quoted' */
  P_INT,   /* 12, -16#ff, $c */
  P_FLOAT, /* 1.5 */
  P_STR,   /* "text", a list of code points */
  P_BIN,   /* <<"text", 1, 2>> */
  P_TUPLE, /* children: the elements */
  P_LIST,  /* children: the elements, then the tail if `tail` */
  P_MAP    /* children: key, value, key, value, ... */
};

typedef struct pnode {
  unsigned char kind;
  char cap;           /* P_CAP: the directive letter */
  unsigned char tail; /* P_LIST: the last child is an explicit tail */
  unsigned char neg;  /* P_INT: negative */
  unsigned char big;  /* P_INT: over 64 bits; re-read from the text */
  size_t off, len;    /* the node's text in the pattern */
  size_t n;           /* children (elements, or pairs of a map) */
  size_t size;        /* nodes in this subtree, itself included */
  union {
    uint64_t mag; /* P_INT magnitude when not big */
    double f;     /* P_FLOAT */
  } v;
} pnode_t;

/* Parses a whole pattern into the cap nodes at `stack`, or, when it has
 * more, into a heap array; *nodes is the one used (the caller frees it
 * when it is not `stack`). OTPC_EBADFMT (OTPC_ELIMIT for deep nesting)
 * with err filled for a bad pattern. */
int otpc__pattern_parse(const char *pattern, otpc_err_t *err, pnode_t *stack,
                        size_t cap, pnode_t **nodes);
/* A per-thread cache of what is derived from a pattern or format text,
 * by kind (term_pattern.c). A hit needs the same pointer and the same
 * text; the entry is held (not replaced) until put. */
enum { OTPC__CACHE_PATTERN, OTPC__CACHE_FORMAT, OTPC__CACHE_KINDS };
typedef struct otpc__centry otpc__centry_t;
/* The blob kept for text, or NULL (then *held is NULL too). */
const void *otpc__cache_get(int kind, const char *text, otpc__centry_t **held);
void otpc__cache_put(otpc__centry_t *held);
/* Keeps a copy of size bytes at blob for text, unless the text is long or
 * its slot is held; failing only means no cache. */
void otpc__cache_keep(int kind, const char *text, const void *blob,
                      size_t size);

/* The parsed nodes of a pattern for one use, from the cache or parsed now. */
typedef struct otpc__pattern_use {
  const pnode_t *nodes;
  /* Internal. */
  otpc__centry_t *entry; /* the cache slot, held until put */
  pnode_t *heap;         /* nodes parsed into the heap, freed by put */
  pnode_t stack[OTPC__PATTERN_STACK_NODES];
} otpc__pattern_use_t;

/* Fills use->nodes for pattern, as otpc__pattern_parse would (same errors);
 * every 0 return is followed by otpc__pattern_put. */
int otpc__pattern_get(const char *pattern, otpc_err_t *err,
                      otpc__pattern_use_t *use);
void otpc__pattern_put(otpc__pattern_use_t *use);

/* Parses a builder's format as a pattern whose every directive (~A ~N ~B
 * too) is a P_CAP node, for compiling it (term_build.c); no error text. */
int otpc__format_parse(const char *fmt, pnode_t *stack, size_t cap,
                       pnode_t **nodes);
/* A lexer that re-reads the text of node n, lexed once already while
 * parsing, so it cannot fail (and reports nowhere). */
otpc__lex_t otpc__pattern_relex(const char *pattern, const pnode_t *n);
/* The text of an atom node as UTF-8; out has room for
 * OTPC_ATOM_MAX_BYTES. */
size_t otpc__pattern_atom(const char *pattern, const pnode_t *n, char *out);

#endif
