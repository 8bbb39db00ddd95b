/* The process-wide atom table.
 *
 * Two structures: a directory of fixed-size chunks of entry pointers, read
 * without a lock by otpc_atom_text, and an open-addressing hash table from
 * text to index, used only under a read-write lock by intern and lookup.
 * Chunks never move once published, so a reader holding a valid index can
 * always reach its entry without synchronising with writers that grow the
 * table. Atoms are never freed, as on the BEAM. */
/* Read-write locks are POSIX.1-2008, beyond plain C11. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
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

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static uint32_t *slots; /* hash table of indexes, 0 = empty */
static size_t nslots;   /* a power of two, or 0 before the first atom */

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

/* Finds the slot of the text, or the empty slot where it belongs. Called
 * with the lock held (either mode); nslots must be non-zero. */
static size_t find_slot(const char *s, size_t n, uint32_t h) {
  size_t mask = nslots - 1;
  for (size_t i = h & mask;; i = (i + 1) & mask) {
    uint32_t a = slots[i];
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

int otpc_atom_lookup(const char *utf8, size_t len, otpc_atom_t *out) {
  if (out == NULL || check_text(utf8, len) < 0)
    return OTPC_EINVAL;
  uint32_t h = hash_text((const uint8_t *)utf8, len);
  int rc = OTPC_ENOTFOUND;
  pthread_rwlock_rdlock(&lock);
  if (nslots > 0) {
    uint32_t a = slots[find_slot(utf8, len, h)];
    if (a != 0) {
      *out = a;
      rc = 0;
    }
  }
  pthread_rwlock_unlock(&lock);
  return rc;
}

/* Doubles the hash table (write lock held). */
static int grow_slots(void) {
  size_t n = nslots == 0 ? 1024 : nslots * 2;
  uint32_t *s = calloc(n, sizeof *s);
  if (s == NULL)
    return OTPC_ENOMEM;
  for (size_t i = 0; i < nslots; i++) {
    uint32_t a = slots[i];
    if (a == 0)
      continue;
    size_t j = entry_at(a)->hash & (n - 1);
    while (s[j] != 0)
      j = (j + 1) & (n - 1);
    s[j] = a;
  }
  free(slots);
  slots = s;
  nslots = n;
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

/* Inserts a new atom (write lock held, text known to be absent). */
static int insert(const char *s, size_t n, uint32_t h, size_t slot,
                  otpc_atom_t *out) {
  /* Relaxed: writers are serialised by the lock, which orders this load. */
  uint32_t a = (uint32_t)atomic_load_explicit(&next, memory_order_relaxed);
  if (a > OTPC_ATOM_MAX)
    return OTPC_ELIMIT;
  if ((a - 1) * 2 >= nslots) {
    /* Keep the load factor under one half; the slot moves with the table. */
    int rc = grow_slots();
    if (rc < 0)
      return rc;
    slot = find_slot(s, n, h);
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
  slots[slot] = a;
  /* Release: publishes the entry and chunk to lock-free readers. */
  atomic_store_explicit(&next, a + 1, memory_order_release);
  *out = a;
  return 0;
}

int otpc_atom_intern(const char *utf8, size_t len, otpc_atom_t *out) {
  if (out == NULL)
    return OTPC_EINVAL;
  int rc = check_text(utf8, len);
  if (rc < 0)
    return rc;
  uint32_t h = hash_text((const uint8_t *)utf8, len);
  /* Most interns find an existing atom: try under the shared lock first. */
  pthread_rwlock_rdlock(&lock);
  if (nslots > 0) {
    uint32_t a = slots[find_slot(utf8, len, h)];
    if (a != 0) {
      pthread_rwlock_unlock(&lock);
      *out = a;
      return 0;
    }
  }
  pthread_rwlock_unlock(&lock);

  pthread_rwlock_wrlock(&lock);
  if (nslots == 0 && (rc = grow_slots()) < 0) {
    pthread_rwlock_unlock(&lock);
    return rc;
  }
  /* Another thread may have added it between the two locks. */
  size_t slot = find_slot(utf8, len, h);
  if (slots[slot] != 0) {
    *out = slots[slot];
    rc = 0;
  } else {
    rc = insert(utf8, len, h, slot, out);
  }
  pthread_rwlock_unlock(&lock);
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
