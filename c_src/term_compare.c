/* Erlang's term order over encoded terms (otpc_term_compare and friends).
 *
 * The rules were checked against OTP 25 (erl, lists:sort and
 * erts_internal:cmp_term), not taken from memory:
 *   - number < atom < reference < fun < port < pid < tuple < map < nil <
 *     list < bitstring.
 *   - Integers and floats compare by exact mathematical value (2^53+1 >
 *     9007199254740992.0), 1 == 1.0, 0.0 == -0.0 (also =:= in OTP 25). In
 *     the exact order (=:=, map keys) every integer sorts before every
 *     float: #{2 => a, 1.0 => b} is written with 2 first.
 *   - Atoms by the code points of their text.
 *   - Pids by serial, then number, then node name, then creation; ports
 *     and references by node name, then creation, then the id (a reference's
 *     words as one number, most significant word last, so [5] == [5,0,0]).
 *   - Tuples by arity, then elements; maps by size, then their keys in
 *     map-key order (compared exactly), then the values in that order;
 *     lists element by element, a tail compared as a term.
 *   - Bitstrings bit by bit over the common length, then the shorter first.
 *   - Local funs before external funs (fun M:F/A). Local funs by module name,
 *     index, old unique, number of free variables, then the free variables.
 *     Funs of two versions of a module that agree on all of these compare
 *     equal here, whereas the BEAM may tell them apart.
 *
 * The walk is iterative: an explicit, heap-allocated stack of frames. A
 * comparison of two maps needs the keys of each sorted; the merge sort
 * runs as a frame too, its comparisons pushed like any other, so nothing
 * recurses on the C stack however keys and values nest. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------ raw reading */

/* The type by tag alone: an empty STRING_EXT stays a list here, which the
 * list walk below handles. */
static int type_of(const uint8_t *p) {
  return (int)otpc__tag_type(p[0]);
}

typedef struct atomv {
  const uint8_t *s;
  size_t n;
  int latin1;
} atomv_t;

static const uint8_t *read_atom(const uint8_t *p, atomv_t *a) {
  a->latin1 = otpc__atom_bytes(p, &a->s, &a->n); /* validated: an atom */
  return a->s + a->n;
}

static int cmp3(uint64_t a, uint64_t b) {
  return a < b ? -1 : a > b;
}

/* By code points: UTF-8 byte order is code point order, so only mixed
 * encodings need decoding. */
static int cmp_atoms(const atomv_t *a, const atomv_t *b) {
  if (a->latin1 == b->latin1) {
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->s, b->s, n);
    return c != 0 ? (c < 0 ? -1 : 1) : cmp3(a->n, b->n);
  }
  size_t i = 0, j = 0;
  while (i < a->n && j < b->n) {
    uint32_t ca, cb;
    if (a->latin1)
      ca = a->s[i++];
    else
      i += otpc__utf8_decode(a->s + i, a->n - i, &ca);
    if (b->latin1)
      cb = b->s[j++];
    else
      j += otpc__utf8_decode(b->s + j, b->n - j, &cb);
    if (ca != cb)
      return ca < cb ? -1 : 1;
  }
  return (i < a->n) - (j < b->n);
}

static int cmp_node(const uint8_t *a, const uint8_t *b) {
  atomv_t x, y;
  read_atom(a, &x);
  read_atom(b, &y);
  return cmp_atoms(&x, &y);
}

typedef struct intv {
  int neg;
  size_t n;
  const uint8_t *mag;
  uint8_t small[4];
} intv_t;

static const uint8_t *read_int(const uint8_t *p, intv_t *v) {
  const uint8_t *end;
  v->neg = 0;
  if (p[0] == OTPC_TAG_SMALL_INTEGER || p[0] == OTPC_TAG_INTEGER) {
    uint32_t u = p[0] == OTPC_TAG_SMALL_INTEGER ? p[1] : otpc__get32(p + 1);
    if (p[0] == OTPC_TAG_INTEGER && (int32_t)u < 0) {
      v->neg = 1;
      u = 0u - u;
    }
    for (int i = 0; i < 4; i++)
      v->small[i] = (uint8_t)(u >> (8 * i));
    v->mag = v->small;
    v->n = 4;
    end = p + (p[0] == OTPC_TAG_SMALL_INTEGER ? 2 : 5);
  } else if (p[0] == OTPC_TAG_SMALL_BIG) {
    v->n = p[1], v->neg = p[2] != 0, v->mag = p + 3;
    end = v->mag + v->n;
  } else {
    v->n = otpc__get32(p + 1), v->neg = p[5] != 0, v->mag = p + 6;
    end = v->mag + v->n;
  }
  while (v->n > 0 && v->mag[v->n - 1] == 0)
    v->n--;
  if (v->n == 0)
    v->neg = 0;
  return end;
}

static int cmp_mag(const uint8_t *a, size_t na, const uint8_t *b, size_t nb) {
  if (na != nb)
    return na < nb ? -1 : 1;
  for (size_t i = na; i-- > 0;)
    if (a[i] != b[i])
      return a[i] < b[i] ? -1 : 1;
  return 0;
}

static int cmp_ints(const intv_t *a, const intv_t *b) {
  if (a->neg != b->neg)
    return a->neg ? -1 : 1;
  int c = cmp_mag(a->mag, a->n, b->mag, b->n);
  return a->neg ? -c : c;
}

static const uint8_t *read_float(const uint8_t *p, double *d) {
  if (p[0] == OTPC_TAG_NEW_FLOAT) {
    uint64_t bits = otpc__get64(p + 1);
    memcpy(d, &bits, sizeof *d);
    return p + 9;
  }
  char txt[32];
  memcpy(txt, p + 1, 31);
  txt[31] = 0;
  *d = strtod(txt, NULL);
  return p + 32;
}

/* An integer against a double, exactly: the double's integer part is
 * spelled out as a magnitude (exact, as fmod and division by 256 are). */
static int cmp_int_float(const intv_t *a, double d) {
  int sa = a->n == 0 ? 0 : a->neg ? -1 : 1;
  int sd = d > 0 ? 1 : d < 0 ? -1 : 0;
  if (sa != sd)
    return sa < sd ? -1 : 1;
  if (sa == 0)
    return 0;
  double m = fabs(d), whole = floor(m);
  uint8_t mag[130];
  size_t n = 0;
  for (double x = whole; x >= 1.0 && n < sizeof mag; x = floor(x / 256.0))
    mag[n++] = (uint8_t)fmod(x, 256.0);
  int c = cmp_mag(a->mag, a->n, mag, n);
  if (c == 0 && m > whole)
    c = -1;
  return a->neg ? -c : c;
}

static const uint8_t *read_bits(const uint8_t *p, const uint8_t **data,
                                size_t *nbits) {
  size_t n = otpc__get32(p + 1);
  if (p[0] == OTPC_TAG_BINARY) {
    *data = p + 5;
    *nbits = n * 8;
    return p + 5 + n;
  }
  *data = p + 6;
  *nbits = n == 0 ? 0 : (n - 1) * 8 + (p[5] ? p[5] : 8);
  return p + 6 + n;
}

static int cmp_bits(const uint8_t *a, size_t na, const uint8_t *b, size_t nb) {
  size_t common = na < nb ? na : nb, whole = common / 8;
  int c = memcmp(a, b, whole);
  if (c != 0)
    return c < 0 ? -1 : 1;
  unsigned rest = (unsigned)(common % 8);
  if (rest != 0) {
    uint8_t mask = (uint8_t)(0xFF00u >> rest);
    uint8_t x = a[whole] & mask, y = b[whole] & mask;
    if (x != y)
      return x < y ? -1 : 1;
  }
  return cmp3(na, nb);
}

/* Pids, ports and refs decoded to their ordering fields. */
typedef struct ident {
  const uint8_t *node;
  uint32_t creation;
  uint32_t serial;
  uint64_t id;          /* pid and port */
  const uint8_t *words; /* ref: big-endian 32-bit words, least first */
  size_t nwords;
  const uint8_t *end;
} ident_t;

static void read_ident(const uint8_t *p, ident_t *v) {
  atomv_t a;
  const uint8_t *q;
  memset(v, 0, sizeof *v);
  switch (p[0]) {
  case OTPC_TAG_PID:
  case OTPC_TAG_NEW_PID:
    v->node = p + 1;
    q = read_atom(p + 1, &a);
    v->id = otpc__get32(q);
    v->serial = otpc__get32(q + 4);
    v->creation = p[0] == OTPC_TAG_PID ? q[8] : otpc__get32(q + 8);
    v->end = q + (p[0] == OTPC_TAG_PID ? 9 : 12);
    break;
  case OTPC_TAG_PORT:
  case OTPC_TAG_NEW_PORT:
  case OTPC_TAG_V4_PORT:
    v->node = p + 1;
    q = read_atom(p + 1, &a);
    if (p[0] == OTPC_TAG_V4_PORT) {
      v->id = otpc__get64(q);
      q += 8;
    } else {
      v->id = otpc__get32(q);
      q += 4;
    }
    v->creation = p[0] == OTPC_TAG_PORT ? q[0] : otpc__get32(q);
    v->end = q + (p[0] == OTPC_TAG_PORT ? 1 : 4);
    break;
  case OTPC_TAG_REFERENCE:
    v->node = p + 1;
    q = read_atom(p + 1, &a);
    v->words = q;
    v->nwords = 1;
    v->creation = q[4];
    v->end = q + 5;
    break;
  default: /* NEW_REFERENCE, NEWER_REFERENCE */
    v->nwords = otpc__get16(p + 1);
    v->node = p + 3;
    q = read_atom(p + 3, &a);
    if (p[0] == OTPC_TAG_NEW_REFERENCE) {
      v->creation = q[0];
      q += 1;
    } else {
      v->creation = otpc__get32(q);
      q += 4;
    }
    v->words = q;
    v->end = q + 4 * v->nwords;
  }
}

static int cmp_ref_words(const ident_t *a, const ident_t *b) {
  size_t na = a->nwords, nb = b->nwords;
  while (na > 0 && otpc__get32(a->words + 4 * (na - 1)) == 0)
    na--;
  while (nb > 0 && otpc__get32(b->words + 4 * (nb - 1)) == 0)
    nb--;
  if (na != nb)
    return na < nb ? -1 : 1;
  for (size_t i = na; i-- > 0;) {
    int c = cmp3(otpc__get32(a->words + 4 * i), otpc__get32(b->words + 4 * i));
    if (c != 0)
      return c;
  }
  return 0;
}

static int cmp_idents(int type, const ident_t *a, const ident_t *b) {
  int c;
  if (type == OTPC_T_PID) {
    if ((c = cmp3(a->serial, b->serial)) != 0 || (c = cmp3(a->id, b->id)) != 0)
      return c;
    if ((c = cmp_node(a->node, b->node)) != 0)
      return c;
    return cmp3(a->creation, b->creation);
  }
  if ((c = cmp_node(a->node, b->node)) != 0 ||
      (c = cmp3(a->creation, b->creation)) != 0)
    return c;
  return type == OTPC_T_PORT ? cmp3(a->id, b->id) : cmp_ref_words(a, b);
}

/* The end of a small scalar term inside a fun (OldIndex, OldUniq, Pid). */
static const uint8_t *skip_small(const uint8_t *p) {
  intv_t v;
  ident_t id;
  if (type_of(p) == OTPC_T_INTEGER)
    return read_int(p, &v);
  read_ident(p, &id);
  return id.end;
}

typedef struct funv {
  int local;
  atomv_t module, name;
  intv_t index, uniq; /* export: index is the arity */
  uint32_t nfree;
  const uint8_t *env, *end;
} funv_t;

static void read_fun(const uint8_t *p, funv_t *f) {
  memset(f, 0, sizeof *f);
  if (p[0] == OTPC_TAG_EXPORT) {
    const uint8_t *q = read_atom(read_atom(p + 1, &f->module), &f->name);
    f->end = read_int(q, &f->index);
    return;
  }
  /* NEW_FUN_EXT: Size Arity Uniq[16] Index NumFree Module OldIndex OldUniq
   * Pid FreeVars. */
  f->local = 1;
  f->end = p + 1 + otpc__get32(p + 1);
  const uint8_t *q = p + 22;
  uint32_t index = otpc__get32(q);
  f->nfree = otpc__get32(q + 4);
  q = read_atom(q + 8, &f->module);
  q = skip_small(q); /* OldIndex: the same as Index in OTP 25 */
  q = read_int(q, &f->uniq);
  f->env = skip_small(q);
  for (int i = 0; i < 4; i++)
    f->index.small[i] = (uint8_t)(index >> (8 * i));
  f->index.mag = f->index.small;
  f->index.n = 4;
  while (f->index.n > 0 && f->index.small[f->index.n - 1] == 0)
    f->index.n--;
}

static int cmp_funs(const funv_t *a, const funv_t *b) {
  int c;
  if (a->local != b->local)
    return a->local ? -1 : 1;
  if ((c = cmp_atoms(&a->module, &b->module)) != 0)
    return c;
  if (!a->local) {
    if ((c = cmp_atoms(&a->name, &b->name)) != 0)
      return c;
    return cmp_ints(&a->index, &b->index);
  }
  if ((c = cmp_ints(&a->index, &b->index)) != 0 ||
      (c = cmp_ints(&a->uniq, &b->uniq)) != 0)
    return c;
  return cmp3(a->nfree, b->nfree);
}

/* -------------------------------------------------------------- the walk */

/* A cursor over a list's remaining cells: LIST_EXT and STRING_EXT segments
 * and list tails are followed, so [1 | [2]] and [1, 2] walk alike. */
typedef struct lcur {
  const uint8_t *p;
  size_t left;
  int string;
} lcur_t;

/* Settles the cursor: 1 if a cell is next (its head is at *head), 0 if the
 * rest is a non-list tail term (at *head). */
static int lcur_next(lcur_t *c, const uint8_t **head, int *from_string) {
  for (;;) {
    *from_string = c->string;
    if (c->left > 0) {
      if (c->string) {
        *head = otpc__small_int_view(*c->p).p;
        c->p++;
      } else {
        *head = c->p; /* the caller moves p past the element */
      }
      c->left--;
      return 1;
    }
    if (c->string) {
      c->string = 0;
      *head = otpc__nil_view().p;
      return 0;
    }
    if (c->p[0] == OTPC_TAG_LIST) {
      c->left = otpc__get32(c->p + 1);
      c->p += 5;
    } else if (c->p[0] == OTPC_TAG_STRING) {
      c->left = otpc__get16(c->p + 1);
      c->string = 1;
      c->p += 3;
    } else {
      *head = c->p;
      return 0;
    }
  }
}

enum { F_SEQ, F_LIST, F_MAP };
enum { MS_SORT_A, MS_SORT_B, MS_KEYS, MS_VALUES };

/* A resumable bottom-up merge sort of n keys, one comparison at a time.
 * Before merging two runs it checks whether they are already in order, so
 * sorted keys (the common case) cost about n comparisons. */
typedef struct msort {
  size_t *src, *dst;
  size_t w, lo, mid, hi, i, j, k;
  int state; /* 0: start a run, 1: order check asked, 2: merge, 3: merge
                asked, 4: done */
} msort_t;

typedef struct mapst {
  size_t n;
  const uint8_t **k[2], **v[2]; /* keys and values of a and b */
  size_t *idx[2], *tmp;
  msort_t sort;
  int phase;
  size_t i;
} mapst_t;

typedef struct frame {
  int kind;
  int exact;
  const uint8_t *a, *b;   /* F_SEQ: next elements */
  size_t left;            /* F_SEQ: elements left */
  const uint8_t *ea, *eb; /* when set: the ends to report (funs) */
  lcur_t ca, cb;          /* F_LIST */
  int in_tail;            /* F_LIST: comparing the tails */
  int a_str, b_str;       /* F_LIST: the pending heads are string bytes */
  mapst_t *m;             /* F_MAP */
} frame_t;

typedef struct walk {
  frame_t *f;
  size_t n, cap;
  frame_t inline_f[16];
} walk_t;

/* The one abort left in the term layer, kept on purpose. The compare
 * functions return an order (-1, 0, 1) and have no error channel, and the
 * walk needs memory that no fixed bound covers: a frame per level of
 * nesting (up to OTPC_TERM_MAX_DEPTH = 100000 in a valid term) and, per map
 * compared, its keys sorted. A fallback without memory would be quadratic
 * or recursive, and returning some order instead would silently corrupt
 * callers (map key sorting, =:=), which is worse than stopping. Only the
 * first 16 frames are inline; deeper terms and maps allocate. Removing the
 * abort needs an API change: an int-returning variant such as
 * otpc_term_cmp(a, b, &order) that can report OTPC_ENOMEM. */
static void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (p == NULL && n > 0)
    abort();
  return p;
}

static frame_t *push(walk_t *w) {
  if (w->n == w->cap) {
    size_t cap = w->cap * 2;
    frame_t *f = xmalloc(cap * sizeof *f);
    memcpy(f, w->f, w->n * sizeof *f);
    if (w->f != w->inline_f)
      free(w->f);
    w->f = f;
    w->cap = cap;
  }
  frame_t *f = &w->f[w->n++];
  memset(f, 0, sizeof *f);
  return f;
}

static void free_map(mapst_t *m) {
  if (m != NULL) {
    free(m->k[0]);
    free(m);
  }
}

/* Collects the pairs of a map into k/v arrays (otpc__term_skip finds the
 * ends); returns the end of the map. */
static const uint8_t *map_pairs(const uint8_t *p, size_t n, const uint8_t **k,
                                const uint8_t **v) {
  p += 5;
  for (size_t i = 0; i < n; i++) {
    k[i] = p;
    v[i] = otpc__term_skip(p);
    p = otpc__term_skip(v[i]);
  }
  return p;
}

/* Sort step: returns 1 with a pair of keys to compare, 0 when sorted. */
static int msort_step(msort_t *s, size_t n, const uint8_t **keys, int r,
                      const uint8_t **x, const uint8_t **y) {
  for (;;) {
    switch (s->state) {
    case 0:
      if (s->lo >= n) {
        size_t *t = s->src;
        s->src = s->dst, s->dst = t;
        s->w *= 2;
        s->lo = 0;
        if (s->w >= n) {
          s->state = 4;
          continue;
        }
      }
      s->mid = s->lo + s->w < n ? s->lo + s->w : n;
      s->hi = s->lo + 2 * s->w < n ? s->lo + 2 * s->w : n;
      if (s->mid >= s->hi) {
        memcpy(s->dst + s->lo, s->src + s->lo,
               (s->hi - s->lo) * sizeof *s->src);
        s->lo = s->hi;
        continue;
      }
      s->state = 1;
      *x = keys[s->src[s->mid - 1]];
      *y = keys[s->src[s->mid]];
      return 1;
    case 1:
      if (r <= 0) {
        memcpy(s->dst + s->lo, s->src + s->lo,
               (s->hi - s->lo) * sizeof *s->src);
        s->lo = s->hi;
        s->state = 0;
        continue;
      }
      s->i = s->lo, s->j = s->mid, s->k = s->lo;
      s->state = 2;
      continue;
    case 2:
      if (s->i < s->mid && s->j < s->hi) {
        s->state = 3;
        *x = keys[s->src[s->i]];
        *y = keys[s->src[s->j]];
        return 1;
      }
      while (s->i < s->mid)
        s->dst[s->k++] = s->src[s->i++];
      while (s->j < s->hi)
        s->dst[s->k++] = s->src[s->j++];
      s->lo = s->hi;
      s->state = 0;
      continue;
    case 3:
      s->dst[s->k++] = r <= 0 ? s->src[s->i++] : s->src[s->j++];
      s->state = 2;
      continue;
    default: return 0;
    }
  }
}

static void msort_init(msort_t *s, size_t *idx, size_t *tmp, size_t n) {
  memset(s, 0, sizeof *s);
  for (size_t i = 0; i < n; i++)
    idx[i] = i;
  s->src = idx;
  s->dst = tmp;
  s->w = 1;
  s->state = n <= 1 ? 4 : 0;
}

/* The step of a map frame: 1 with the next pair (and its exactness), 0 when
 * done with *res. */
static int map_step(frame_t *f, int r, int first, const uint8_t **x,
                    const uint8_t **y, int *exact, int *res) {
  mapst_t *m = f->m;
  for (;;) {
    if (m->phase == MS_SORT_A || m->phase == MS_SORT_B) {
      int side = m->phase == MS_SORT_B;
      if (msort_step(&m->sort, m->n, m->k[side], r, x, y)) {
        *exact = 1;
        return 1;
      }
      /* The sorted order ended in src, which may be the scratch array. */
      if (m->sort.src != m->idx[side]) {
        memcpy(m->idx[side], m->sort.src, m->n * sizeof(size_t));
      }
      m->phase++;
      if (m->phase == MS_SORT_B)
        msort_init(&m->sort, m->idx[1], m->tmp, m->n);
      r = 0;
      first = 1;
      continue;
    }
    if (!first && r != 0) {
      *res = r;
      return 0;
    }
    first = 0;
    if (m->i == m->n) {
      if (m->phase == MS_VALUES) {
        *res = 0;
        return 0;
      }
      m->phase = MS_VALUES;
      m->i = 0;
    }
    size_t ia = m->idx[0][m->i], ib = m->idx[1][m->i];
    m->i++;
    if (m->phase == MS_KEYS) {
      *x = m->k[0][ia], *y = m->k[1][ib];
      *exact = 1;
    } else {
      *x = m->v[0][ia], *y = m->v[1][ib];
      *exact = f->exact;
    }
    return 1;
  }
}

/* Compares two terms whose types are known to be equal, or both numbers.
 * Returns the result, or 2 after pushing a frame for containers whose
 * headers agree. ea/eb get the ends when the result is 0. */
static int cmp_one(walk_t *w, const uint8_t *a, const uint8_t *b, int exact,
                   const uint8_t **ea, const uint8_t **eb) {
  int ta = type_of(a), tb = type_of(b), c;
  if (ta <= OTPC_T_FLOAT && tb <= OTPC_T_FLOAT && (!exact || ta == tb)) {
    intv_t ia, ib;
    double da, db;
    if (ta == OTPC_T_INTEGER && tb == OTPC_T_INTEGER) {
      *ea = read_int(a, &ia);
      *eb = read_int(b, &ib);
      return cmp_ints(&ia, &ib);
    }
    if (ta == OTPC_T_FLOAT && tb == OTPC_T_FLOAT) {
      *ea = read_float(a, &da);
      *eb = read_float(b, &db);
      return da < db ? -1 : da > db;
    }
    if (ta == OTPC_T_INTEGER) {
      *ea = read_int(a, &ia);
      *eb = read_float(b, &db);
      return cmp_int_float(&ia, db);
    }
    *ea = read_float(a, &da);
    *eb = read_int(b, &ib);
    return -cmp_int_float(&ib, da);
  }
  if (ta != tb)
    return ta < tb ? -1 : 1;
  switch (ta) {
  case OTPC_T_ATOM: {
    atomv_t x, y;
    *ea = read_atom(a, &x);
    *eb = read_atom(b, &y);
    return cmp_atoms(&x, &y);
  }
  case OTPC_T_REF:
  case OTPC_T_PORT:
  case OTPC_T_PID: {
    ident_t x, y;
    read_ident(a, &x);
    read_ident(b, &y);
    *ea = x.end, *eb = y.end;
    return cmp_idents(ta, &x, &y);
  }
  case OTPC_T_FUN: {
    funv_t x, y;
    read_fun(a, &x);
    read_fun(b, &y);
    *ea = x.end, *eb = y.end;
    if ((c = cmp_funs(&x, &y)) != 0 || x.nfree == 0)
      return c;
    frame_t *f = push(w);
    f->kind = F_SEQ;
    f->exact = exact;
    f->a = x.env, f->b = y.env, f->left = x.nfree;
    f->ea = x.end, f->eb = y.end;
    return 2;
  }
  case OTPC_T_TUPLE: {
    size_t na = a[0] == OTPC_TAG_SMALL_TUPLE ? a[1] : otpc__get32(a + 1);
    size_t nb = b[0] == OTPC_TAG_SMALL_TUPLE ? b[1] : otpc__get32(b + 1);
    if (na != nb)
      return cmp3(na, nb);
    const uint8_t *pa = a + (a[0] == OTPC_TAG_SMALL_TUPLE ? 2 : 5);
    const uint8_t *pb = b + (b[0] == OTPC_TAG_SMALL_TUPLE ? 2 : 5);
    if (na == 0) {
      *ea = pa, *eb = pb;
      return 0;
    }
    frame_t *f = push(w);
    f->kind = F_SEQ;
    f->exact = exact;
    f->a = pa, f->b = pb, f->left = na;
    return 2;
  }
  case OTPC_T_MAP: {
    size_t na = otpc__get32(a + 1), nb = otpc__get32(b + 1);
    if (na != nb)
      return cmp3(na, nb);
    if (na == 0) {
      *ea = a + 5, *eb = b + 5;
      return 0;
    }
    mapst_t *m = xmalloc(sizeof *m);
    memset(m, 0, sizeof *m);
    /* One block: keys and values of both maps, then three index arrays. */
    const uint8_t **blk = xmalloc(na * (4 * sizeof *blk + 3 * sizeof(size_t)));
    m->n = na;
    m->k[0] = blk, m->v[0] = blk + na, m->k[1] = blk + 2 * na,
    m->v[1] = blk + 3 * na;
    size_t *ix = (size_t *)(blk + 4 * na);
    m->idx[0] = ix, m->idx[1] = ix + na, m->tmp = ix + 2 * na;
    frame_t *f = push(w);
    f->kind = F_MAP;
    f->exact = exact;
    f->m = m;
    f->ea = map_pairs(a, na, m->k[0], m->v[0]);
    f->eb = map_pairs(b, nb, m->k[1], m->v[1]);
    m->phase = MS_SORT_A;
    msort_init(&m->sort, m->idx[0], m->tmp, na);
    return 2;
  }
  case OTPC_T_NIL: *ea = a + 1, *eb = b + 1; return 0;
  case OTPC_T_LIST: {
    frame_t *f = push(w);
    f->kind = F_LIST;
    f->exact = exact;
    f->ca.p = a, f->cb.p = b;
    return 2;
  }
  default: {
    const uint8_t *da, *db;
    size_t na, nb;
    *ea = read_bits(a, &da, &na);
    *eb = read_bits(b, &db, &nb);
    return cmp_bits(da, na, db, nb);
  }
  }
}

/* Moves frame f on after a sub-comparison gave r (with ends ea/eb when r is
 * 0), or for the first time (first). Returns 1 with the next pair in
 * x, y and exact, or 0 when the frame is done with *res (and the ends). */
static int frame_step(frame_t *f, int first, int r, const uint8_t *ea,
                      const uint8_t *eb, const uint8_t **x, const uint8_t **y,
                      int *exact, int *res, const uint8_t **fa,
                      const uint8_t **fb) {
  if (f->kind == F_MAP) {
    int more = map_step(f, r, first, x, y, exact, res);
    if (!more)
      *fa = f->ea, *fb = f->eb;
    return more;
  }
  if (!first && r != 0) {
    *res = r;
    return 0;
  }
  *exact = f->exact;
  if (f->kind == F_SEQ) {
    if (!first)
      f->a = ea, f->b = eb;
    if (f->left == 0) {
      *res = 0;
      *fa = f->ea != NULL ? f->ea : f->a;
      *fb = f->eb != NULL ? f->eb : f->b;
      return 0;
    }
    f->left--;
    *x = f->a, *y = f->b;
    return 1;
  }
  /* F_LIST: a head's end moves the cursor unless it came from a string. */
  if (!first) {
    if (f->in_tail) {
      *res = 0;
      *fa = ea, *fb = eb;
      return 0;
    }
    if (!f->a_str)
      f->ca.p = ea;
    if (!f->b_str)
      f->cb.p = eb;
  }
  const uint8_t *ha, *hb;
  int ma = lcur_next(&f->ca, &ha, &f->a_str);
  int mb = lcur_next(&f->cb, &hb, &f->b_str);
  if (ma && mb) {
    *x = ha, *y = hb;
    return 1;
  }
  if (ma != mb) {
    /* A cell against a tail that is not a list: by type (list vs other). */
    int tt = type_of(ma ? hb : ha);
    int c = OTPC_T_LIST < tt ? -1 : 1;
    *res = ma ? c : -c;
    return 0;
  }
  /* Both at their tails: compare them as terms; nil tails of strings are
   * views of static storage, so the ends reported are the cursors'. */
  f->in_tail = 1;
  *x = ha, *y = hb;
  const uint8_t *nil_term = otpc__nil_view().p; /* ends of strings */
  if (ha == nil_term || hb == nil_term) {
    if (ha == nil_term && hb == nil_term) {
      *res = 0;
      *fa = f->ca.p, *fb = f->cb.p;
      return 0;
    }
    /* One string ended (nil) and the other list has a non-list tail or nil;
     * compare by type, or equal nils. */
    int other = type_of(ha == nil_term ? hb : ha);
    if (other != OTPC_T_NIL) {
      int c = OTPC_T_NIL < other ? -1 : 1;
      *res = ha == nil_term ? c : -c;
      return 0;
    }
    *res = 0;
    *fa = ha == nil_term ? f->ca.p : ha + 1;
    *fb = hb == nil_term ? f->cb.p : hb + 1;
    return 0;
  }
  return 1;
}

static int walk_cmp(const uint8_t *a, const uint8_t *b, int exact) {
  walk_t w;
  w.f = w.inline_f;
  w.n = 0;
  w.cap = sizeof w.inline_f / sizeof w.inline_f[0];
  const uint8_t *x = a, *y = b, *ea = NULL, *eb = NULL;
  int ex = exact, r;
  for (;;) {
    r = cmp_one(&w, x, y, ex, &ea, &eb);
    int first = r == 2;
    /* Deliver r to the frames until one wants another pair. */
    for (;;) {
      if (w.n == 0)
        goto out;
      frame_t *f = &w.f[w.n - 1];
      int res = 0;
      const uint8_t *fa = NULL, *fb = NULL;
      if (frame_step(f, first, first ? 0 : r, ea, eb, &x, &y, &ex, &res, &fa,
                     &fb))
        break;
      if (f->kind == F_MAP)
        free_map(f->m);
      w.n--;
      r = res, ea = fa, eb = fb;
      first = 0;
    }
  }
out:
  for (size_t i = 0; i < w.n; i++)
    if (w.f[i].kind == F_MAP)
      free_map(w.f[i].m);
  if (w.f != w.inline_f)
    free(w.f);
  return r;
}

int otpc_term_compare(otpc_term_t a, otpc_term_t b) {
  if (a.len == b.len && memcmp(a.p, b.p, a.len) == 0)
    return 0;
  return walk_cmp(a.p, b.p, 0);
}

int otpc_term_compare_exact(otpc_term_t a, otpc_term_t b) {
  if (a.len == b.len && memcmp(a.p, b.p, a.len) == 0)
    return 0;
  return walk_cmp(a.p, b.p, 1);
}

int otpc_term_equal(otpc_term_t a, otpc_term_t b) {
  return otpc_term_compare_exact(a, b) == 0;
}
