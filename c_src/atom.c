/* The process-wide atom table.
 *
 * Two structures: a directory of fixed-size chunks of entry pointers, read
 * without a lock by otpc_atom_text, and an open-addressing hash table from
 * text to index. Chunks never move once published, so a reader holding a
 * valid index can always reach its entry without synchronising with writers
 * that grow the table. Atoms are never freed, as on the BEAM.
 *
 * Lookups take no lock (they were a third of the message hot path under the
 * read-write lock): the hash table is published through an atomic pointer
 * and each slot is an atomic index written once, from 0 to its final value.
 * Writers serialise on a mutex. Growing builds a new table and publishes it;
 * the old one stays allocated (chained from the new one, so it is still
 * reachable) because a reader may still be probing it. A reader on an old
 * table can miss an atom added after the grow: lookup then says "not found"
 * as it would have just before the insert, and intern retries under the
 * mutex, so no atom is ever created twice. Old tables sum to less than the
 * current one. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define CHUNK_BITS 12
#define CHUNK_SIZE (1u << CHUNK_BITS)
/* Index 0 is unused, so OTPC_ATOM_MAX atoms need indexes 1..OTPC_ATOM_MAX. */
#define DIR_SIZE (OTPC_ATOM_MAX / CHUNK_SIZE + 1)
#define ARENA_BLOCK 65536u

typedef struct entry {
  uint32_t len;
  uint32_t hash;
  char text[]; /* len bytes and a NUL */
} entry_t;

/* The directory and its chunks are written only under the write lock and
 * before `next` is published, see otpc_atom_text. */
static entry_t **dir[DIR_SIZE];
/* The next free index (1 + the number of atoms). Stored with release after
 * the entry and its chunk are written; loaded with acquire by readers that
 * take no lock, so any index below the value they load has its entry fully
 * visible to them. */
static atomic_uint_fast32_t next = 1;

typedef struct table {
  struct table *prev; /* the table this one replaced, kept for late readers */
  size_t n;           /* a power of two */
  /* Indexes, 0 = empty. Each goes from 0 to its atom once, under the mutex,
   * stored with release after the entry is written; readers load it with
   * acquire, so the entry (and its chunk pointer) is visible to them. */
  _Atomic uint32_t s[];
} table_t;

/* Serialises writers (insert, grow); readers take no lock. */
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
/* The current table, NULL before the first atom. Stored with release once
 * filled; loaded with acquire by readers, so the slots copied into it are
 * visible to them. */
static _Atomic(table_t *) table;

/* Bump allocator for entries: one malloc per 64 KiB instead of per atom. */
static uint8_t *arena;
static size_t arena_left;

static uint32_t hash_text(const uint8_t *s, size_t n) {
  /* FNV-1a: simple, and atoms are short. */
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++)
    h = (h ^ s[i]) * 16777619u;
  return h;
}

static entry_t *entry_at(uint32_t i) {
  return dir[i >> CHUNK_BITS][i & (CHUNK_SIZE - 1)];
}

/* Finds the slot of the text in t, or the empty slot where it belongs.
 * Safe without the mutex: see table_t. */
static size_t find_slot(const table_t *t, const char *s, size_t n, uint32_t h) {
  size_t mask = t->n - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    /* Acquire: pairs with the release in insert or grow_table. */
    uint32_t a = atomic_load_explicit(&t->s[i], memory_order_acquire);
    if (a == 0)
      return i;
    entry_t *e = entry_at(a);
    if (e->hash == h && e->len == n && memcmp(e->text, s, n) == 0)
      return i;
  }
}

static int check_text(const char *s, size_t n) {
  if (s == NULL && n > 0)
    return OTPC_EINVAL;
  if (n > OTPC_ATOM_MAX_BYTES)
    return OTPC_EINVAL;
  long chars = otpc__utf8_count((const uint8_t *)s, n);
  if (chars < 0 || chars > 255)
    return OTPC_EINVAL;
  return 0;
}

/* The lock-free lookup shared by lookup and intern's fast path. */
static int find_atom(const char *s, size_t n, uint32_t h, otpc_atom_t *out) {
  /* Acquire: pairs with the release in grow_table. */
  table_t *t = atomic_load_explicit(&table, memory_order_acquire);
  if (t == NULL)
    return OTPC_ENOTFOUND;
  /* Acquire: pairs with the release in insert (entry written first). */
  uint32_t a =
      atomic_load_explicit(&t->s[find_slot(t, s, n, h)], memory_order_acquire);
  if (a == 0)
    return OTPC_ENOTFOUND;
  *out = a;
  return 0;
}

int otpc_atom_lookup(const char *utf8, size_t len, otpc_atom_t *out) {
  if (out == NULL || (utf8 == NULL && len > 0))
    return OTPC_EINVAL;
  /* Text equal to an atom's was valid when interned: only a miss needs the
   * UTF-8 check, which was the larger part of a hit's cost. */
  if (len <= OTPC_ATOM_MAX_BYTES &&
      find_atom(utf8, len, hash_text((const uint8_t *)utf8, len), out) == 0)
    return 0;
  return check_text(utf8, len) < 0 ? OTPC_EINVAL : OTPC_ENOTFOUND;
}

/* Doubles the hash table (mutex held). */
static int grow_table(void) {
  /* Relaxed: only writers store the pointer, and they hold the mutex. */
  table_t *old = atomic_load_explicit(&table, memory_order_relaxed);
  size_t n = old == NULL ? 1024 : old->n * 2;
  table_t *t = calloc(1, sizeof *t + n * sizeof t->s[0]);
  if (t == NULL)
    return OTPC_ENOMEM;
  t->prev = old;
  t->n = n;
  for (size_t i = 0; old != NULL && i < old->n; i++) {
    /* Relaxed: the mutex orders this against the stores into old; t is
     * not yet visible to anyone. */
    uint32_t a = atomic_load_explicit(&old->s[i], memory_order_relaxed);
    if (a == 0)
      continue;
    size_t j = entry_at(a)->hash & (n - 1);
    while (atomic_load_explicit(&t->s[j], memory_order_relaxed) != 0)
      j = (j + 1) & (n - 1);
    atomic_store_explicit(&t->s[j], a, memory_order_relaxed);
  }
  /* Release: publishes the filled slots with the pointer. */
  atomic_store_explicit(&table, t, memory_order_release);
  return 0;
}

static entry_t *new_entry(const char *s, size_t n, uint32_t h) {
  size_t size = (sizeof(entry_t) + n + 1 + 7) & ~(size_t)7;
  if (size > arena_left) {
    uint8_t *block = malloc(ARENA_BLOCK);
    if (block == NULL)
      return NULL;
    /* The rest of the old block is abandoned: at most one entry's worth. */
    arena = block;
    arena_left = ARENA_BLOCK;
  }
  entry_t *e = (entry_t *)arena;
  arena += size;
  arena_left -= size;
  e->len = (uint32_t)n;
  e->hash = h;
  if (n > 0)
    memcpy(e->text, s, n);
  e->text[n] = '\0';
  return e;
}

/* Inserts a new atom (mutex held, text known to be absent from t, the
 * current table). */
static int insert(table_t *t, const char *s, size_t n, uint32_t h, size_t slot,
                  otpc_atom_t *out) {
  /* Relaxed: writers are serialised by the mutex, which orders this load. */
  uint32_t a = (uint32_t)atomic_load_explicit(&next, memory_order_relaxed);
  if (a > OTPC_ATOM_MAX)
    return OTPC_ELIMIT;
  if ((a - 1) * 2 >= t->n) {
    /* Keep the load factor under one half; the slot moves with the table. */
    int rc = grow_table();
    if (rc < 0)
      return rc;
    /* Relaxed: this thread stored it, under the mutex. */
    t = atomic_load_explicit(&table, memory_order_relaxed);
    slot = find_slot(t, s, n, h);
  }
  entry_t **chunk = dir[a >> CHUNK_BITS];
  if (chunk == NULL) {
    chunk = calloc(CHUNK_SIZE, sizeof *chunk);
    if (chunk == NULL)
      return OTPC_ENOMEM;
    dir[a >> CHUNK_BITS] = chunk;
  }
  entry_t *e = new_entry(s, n, h);
  if (e == NULL)
    return OTPC_ENOMEM;
  chunk[a & (CHUNK_SIZE - 1)] = e;
  /* Release: publishes the entry and chunk to lookups that find a. */
  atomic_store_explicit(&t->s[slot], a, memory_order_release);
  /* Release: publishes the entry and chunk to otpc_atom_text. */
  atomic_store_explicit(&next, a + 1, memory_order_release);
  *out = a;
  return 0;
}

int otpc_atom_intern(const char *utf8, size_t len, otpc_atom_t *out) {
  if (out == NULL || (utf8 == NULL && len > 0))
    return OTPC_EINVAL;
  if (len > OTPC_ATOM_MAX_BYTES)
    return OTPC_EINVAL;
  uint32_t h = hash_text((const uint8_t *)utf8, len);
  /* Most interns find an existing atom: try without the mutex first, and
   * check the text only on a miss (a hit equals text checked before). */
  if (find_atom(utf8, len, h, out) == 0)
    return 0;
  int rc = check_text(utf8, len);
  if (rc < 0)
    return rc;

  pthread_mutex_lock(&lock);
  /* Relaxed: writers store the pointer under this mutex. */
  table_t *t = atomic_load_explicit(&table, memory_order_relaxed);
  if (t == NULL) {
    if ((rc = grow_table()) < 0) {
      pthread_mutex_unlock(&lock);
      return rc;
    }
    /* Relaxed: this thread just stored it, under the mutex. */
    t = atomic_load_explicit(&table, memory_order_relaxed);
  }
  /* Another thread may have added it since the lock-free try. */
  size_t slot = find_slot(t, utf8, len, h);
  /* Relaxed: slots are stored only under the mutex we hold. */
  uint32_t a = atomic_load_explicit(&t->s[slot], memory_order_relaxed);
  if (a != 0) {
    *out = a;
    rc = 0;
  } else {
    rc = insert(t, utf8, len, h, slot, out);
  }
  pthread_mutex_unlock(&lock);
  return rc;
}

int otpc_atom(const char *utf8, otpc_atom_t *out) {
  if (utf8 == NULL)
    return OTPC_EINVAL;
  return otpc_atom_intern(utf8, strlen(utf8), out);
}

const char *otpc_atom_text(otpc_atom_t a, size_t *len) {
  /* Acquire: pairs with the release in insert, so the entry of every index
   * below `next` is fully written when read here, without a lock. */
  uint_fast32_t n = atomic_load_explicit(&next, memory_order_acquire);
  if (a == OTPC_ATOM_NONE || a >= n)
    return NULL;
  entry_t *e = entry_at(a);
  if (len != NULL)
    *len = e->len;
  return e->text;
}

size_t otpc_atom_count(void) {
  /* Relaxed: a snapshot of a counter, nothing is read through it. */
  return (size_t)atomic_load_explicit(&next, memory_order_relaxed) - 1;
}
