/* Tests of the atom table (atom.c). The last test fills the table, so it
 * must stay last. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "otpc/atom.h"
#include "otpc/term.h"

static void test_intern_lookup(void **state) {
  (void)state;
  otpc_atom_t a, b, c;
  size_t len;
  assert_null(otpc_atom_text(OTPC_ATOM_NONE, NULL));
  assert_int_equal(otpc_atom_lookup("never_made", 10, &a), OTPC_ENOTFOUND);
  size_t before = otpc_atom_count();
  assert_int_equal(otpc_atom("ok", &a), 0);
  assert_int_not_equal(a, OTPC_ATOM_NONE);
  assert_int_equal(otpc_atom_intern("ok", 2, &b), 0);
  assert_int_equal(a, b);
  assert_int_equal(otpc_atom_lookup("ok", 2, &c), 0);
  assert_int_equal(a, c);
  assert_int_equal(otpc_atom_count(), before + 1);
  assert_string_equal(otpc_atom_text(a, &len), "ok");
  assert_int_equal(len, 2);
  /* Length-delimited text need not be NUL-terminated. */
  assert_int_equal(otpc_atom_intern("okay", 2, &b), 0);
  assert_int_equal(a, b);
  /* The empty atom '' is an atom. */
  assert_int_equal(otpc_atom_intern("", 0, &b), 0);
  assert_string_equal(otpc_atom_text(b, &len), "");
  assert_int_equal(len, 0);
  assert_int_not_equal(a, b);
  assert_null(otpc_atom_text((otpc_atom_t)otpc_atom_count() + 1, NULL));
}

static void test_invalid(void **state) {
  (void)state;
  otpc_atom_t a;
  char text[1100];
  assert_int_equal(otpc_atom_intern("\xff", 1, &a), OTPC_EINVAL);
  assert_int_equal(otpc_atom_intern("\xc3", 1, &a), OTPC_EINVAL);
  assert_int_equal(otpc_atom_intern("\xed\xa0\x80", 3, &a), OTPC_EINVAL);
  assert_int_equal(otpc_atom_lookup("\xff", 1, &a), OTPC_EINVAL);
  assert_int_equal(otpc_atom(NULL, &a), OTPC_EINVAL);
  assert_int_equal(otpc_atom("x", NULL), OTPC_EINVAL);
  assert_int_equal(otpc_atom_intern(NULL, 1, &a), OTPC_EINVAL);
  /* 255 characters are fine, 256 are not, in bytes or in code points. */
  memset(text, 'x', 256);
  assert_int_equal(otpc_atom_intern(text, 255, &a), 0);
  assert_int_equal(otpc_atom_intern(text, 256, &a), OTPC_EINVAL);
  for (int i = 0; i < 256; i++)
    memcpy(text + 4 * i, "\xf0\x9f\x98\x80", 4);
  assert_int_equal(otpc_atom_intern(text, 1020, &a), 0);
  size_t len;
  assert_non_null(otpc_atom_text(a, &len));
  assert_int_equal(len, 1020);
  assert_int_equal(otpc_atom_intern(text, 1024, &a), OTPC_EINVAL);
}

static void test_many(void **state) {
  (void)state;
  /* Enough atoms to grow the hash table and cross chunk boundaries. */
  char name[32];
  otpc_atom_t ids[20000];
  for (int i = 0; i < 20000; i++) {
    snprintf(name, sizeof name, "many_%d", i);
    assert_int_equal(otpc_atom(name, &ids[i]), 0);
  }
  for (int i = 0; i < 20000; i++) {
    otpc_atom_t a;
    snprintf(name, sizeof name, "many_%d", i);
    assert_int_equal(otpc_atom_lookup(name, strlen(name), &a), 0);
    assert_int_equal(a, ids[i]);
    assert_string_equal(otpc_atom_text(ids[i], NULL), name);
  }
}

#define THREADS 8
#define PER_THREAD 5000

static otpc_atom_t thread_ids[THREADS][PER_THREAD];

static void *intern_thread(void *arg) {
  size_t t = (size_t)arg;
  char name[32];
  for (int i = 0; i < PER_THREAD; i++) {
    /* All threads intern the same names, in different orders. */
    int k = (int)((i + t * 997) % PER_THREAD);
    snprintf(name, sizeof name, "shared_%d", k);
    if (otpc_atom(name, &thread_ids[t][k]) != 0)
      return (void *)1;
    const char *text = otpc_atom_text(thread_ids[t][k], NULL);
    if (text == NULL || strcmp(text, name) != 0)
      return (void *)1;
  }
  return NULL;
}

static void test_threads(void **state) {
  (void)state;
  pthread_t th[THREADS];
  size_t before = otpc_atom_count();
  for (size_t t = 0; t < THREADS; t++)
    assert_int_equal(pthread_create(&th[t], NULL, intern_thread, (void *)t), 0);
  for (size_t t = 0; t < THREADS; t++) {
    void *rv;
    pthread_join(th[t], &rv);
    assert_null(rv);
  }
  for (size_t t = 1; t < THREADS; t++)
    assert_memory_equal(thread_ids[t], thread_ids[0], sizeof thread_ids[0]);
  assert_int_equal(otpc_atom_count(), before + PER_THREAD);
}

/* Lock-free lookups racing with creation, across hash table grows: a
 * lookup of an atom whose creation has finished (seen through `done`) must
 * find it with the id its creator got, whatever table the reader sees. */
#define RACE_WRITERS 2
#define RACE_READERS 4
#define RACE_PER_WRITER 12000

static otpc_atom_t race_ids[RACE_WRITERS][RACE_PER_WRITER];
/* Release by the writer after race_ids[w][i] is stored; acquire by readers
 * before they read race_ids[w][0 .. done). */
static _Atomic int race_done[RACE_WRITERS];

static void *race_writer(void *arg) {
  size_t w = (size_t)arg;
  char name[32];
  for (int i = 0; i < RACE_PER_WRITER; i++) {
    snprintf(name, sizeof name, "race_%zu_%d", w, i);
    if (otpc_atom(name, &race_ids[w][i]) != 0)
      return (void *)1;
    atomic_store_explicit(&race_done[w], i + 1, memory_order_release);
  }
  return NULL;
}

static void *race_reader(void *arg) {
  size_t r = (size_t)arg;
  char name[32];
  otpc_atom_t a;
  for (int round = 0;; round++) {
    int finished = 0;
    for (size_t w = 0; w < RACE_WRITERS; w++) {
      int done = atomic_load_explicit(&race_done[w], memory_order_acquire);
      finished += done == RACE_PER_WRITER;
      if (done == 0)
        continue;
      int i = (int)((round * 7919u + r * 131u) % (unsigned)done);
      snprintf(name, sizeof name, "race_%zu_%d", w, i);
      if (otpc_atom_lookup(name, strlen(name), &a) != 0 || a != race_ids[w][i])
        return (void *)1;
      /* Interning it again must give the same atom, never a second one. */
      if (otpc_atom(name, &a) != 0 || a != race_ids[w][i])
        return (void *)1;
    }
    /* Invalid text stays invalid on the lock-free path. */
    if (otpc_atom_lookup("\xff", 1, &a) != OTPC_EINVAL)
      return (void *)1;
    if (finished == RACE_WRITERS)
      return NULL;
  }
}

static void test_lookup_races_create(void **state) {
  (void)state;
  pthread_t th[RACE_WRITERS + RACE_READERS];
  size_t before = otpc_atom_count();
  for (size_t i = 0; i < RACE_WRITERS + RACE_READERS; i++)
    assert_int_equal(
        pthread_create(&th[i], NULL,
                       i < RACE_WRITERS ? race_writer : race_reader,
                       (void *)(i % RACE_WRITERS)),
        0);
  for (size_t i = 0; i < RACE_WRITERS + RACE_READERS; i++) {
    void *rv;
    pthread_join(th[i], &rv);
    assert_null(rv);
  }
  assert_int_equal(otpc_atom_count(), before + RACE_WRITERS * RACE_PER_WRITER);
  otpc_atom_t a;
  assert_int_equal(otpc_atom_lookup("race_never_made", 15, &a), OTPC_ENOTFOUND);
  char text[300];
  memset(text, 'x', sizeof text);
  assert_int_equal(otpc_atom_lookup(text, sizeof text, &a), OTPC_EINVAL);
}

static void test_full_table(void **state) {
  (void)state;
  char name[32];
  otpc_atom_t a;
  int rc = 0;
  for (size_t i = 0; rc == 0; i++) {
    snprintf(name, sizeof name, "fill_%zu", i);
    rc = otpc_atom(name, &a);
  }
  assert_int_equal(rc, OTPC_ELIMIT);
  assert_int_equal(otpc_atom_count(), OTPC_ATOM_MAX);
  /* Existing atoms still resolve; new ones, also via accessors, do not. */
  assert_int_equal(otpc_atom("ok", &a), 0);
  assert_string_equal(otpc_atom_text(a, NULL), "ok");
  assert_non_null(otpc_atom_text(OTPC_ATOM_MAX, NULL));
  assert_null(otpc_atom_text(OTPC_ATOM_MAX + 1, NULL));
  static const uint8_t pid[] = {131, 88, 100, 0, 3, 'n', 'e', 'w', 0, 0,
                                0,   1,  0,   0, 0, 2,   0,   0,   0, 3};
  otpc_term_t t;
  otpc_pid_t p;
  assert_int_equal(otpc_term_from_ext(pid, sizeof pid, &t, NULL), 0);
  assert_int_equal(otpc_term_pid(t, &p), OTPC_ELIMIT);
  static const uint8_t atom[] = {131, 119, 3, 'n', 'e', 'w'};
  assert_int_equal(otpc_term_from_ext(atom, sizeof atom, &t, NULL), 0);
  assert_int_equal(otpc_term_atom(t, &a), OTPC_ELIMIT);
  assert_true(otpc_term_is_atom(t, "new"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_intern_lookup),
      cmocka_unit_test(test_invalid),
      cmocka_unit_test(test_many),
      cmocka_unit_test(test_threads),
      cmocka_unit_test(test_lookup_races_create),
      cmocka_unit_test(test_full_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
