/* The inbox (an MPSC Treiber stack with an IDLE sentinel): per-producer
 * order under concurrent pushes, and the empty-to-non-empty transition
 * reported exactly once. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../../cnode/runtime/rt_internal.h"

enum { PRODUCERS = 4, PER = 100000 };

static otpc_proc_t *new_proc(void) {
  static const otpc_proc_class_t cls = {"t", 0, NULL, NULL, NULL};
  otpc_proc_t *p = otpc__proc_alloc(NULL, &cls, 0);
  assert_non_null(p);
  atomic_store(&p->inbox, OTPC__INBOX_IDLE);
  return p;
}

static void test_idle_transition(void **state) {
  (void)state;
  otpc_proc_t *p = new_proc();
  otpc__sig_t a = {0}, b = {0}, c = {0};
  a.type = b.type = c.type = 99;
  assert_true(otpc__inbox_push(p, &a));
  assert_false(otpc__inbox_push(p, &b));
  otpc__sig_t *s = otpc__inbox_take(p);
  assert_ptr_equal(s, &a); /* oldest first */
  assert_ptr_equal(s->next, &b);
  assert_null(s->next->next);
  /* Taken: "empty, scheduled": a push now needs no wake-up. */
  assert_false(otpc__inbox_push(p, &c));
  assert_ptr_equal(otpc__inbox_take(p), &c);
  assert_null(otpc__inbox_take(p));
  otpc__sig_t *expected = NULL;
  assert_true(
      atomic_compare_exchange_strong(&p->inbox, &expected, OTPC__INBOX_IDLE));
  assert_true(otpc__inbox_push(p, &a));
  free(p);
}

typedef struct node {
  otpc__sig_t h;
  int producer;
  int seq;
} node_t;

static otpc_proc_t *shared;
static atomic_int wakeups;

static void *producer(void *arg) {
  int id = (int)(intptr_t)arg;
  for (int i = 0; i < PER; i++) {
    node_t *n = malloc(sizeof *n);
    n->h.type = 99;
    n->producer = id;
    n->seq = i;
    if (otpc__inbox_push(shared, &n->h))
      atomic_fetch_add(&wakeups, 1);
  }
  return NULL;
}

static void test_concurrent_order(void **state) {
  (void)state;
  shared = new_proc();
  atomic_store(&wakeups, 0);
  pthread_t t[PRODUCERS];
  for (int i = 0; i < PRODUCERS; i++)
    pthread_create(&t[i], NULL, producer, (void *)(intptr_t)i);
  int next[PRODUCERS] = {0};
  long got = 0;
  int idles = 0;
  while (got < (long)PRODUCERS * PER) {
    if (atomic_load(&shared->inbox) == OTPC__INBOX_IDLE)
      continue; /* idle: wait for a waking push */
    otpc__sig_t *s = otpc__inbox_take(shared);
    if (s == NULL) {
      /* Go idle as a process would; a failed CAS means more came. */
      otpc__sig_t *expected = NULL;
      if (atomic_compare_exchange_strong(&shared->inbox, &expected,
                                         OTPC__INBOX_IDLE))
        idles++;
      continue;
    }
    while (s != NULL) {
      node_t *n = (node_t *)s;
      s = s->next;
      assert_int_equal(n->seq, next[n->producer]);
      next[n->producer]++;
      got++;
      free(n);
    }
  }
  for (int i = 0; i < PRODUCERS; i++)
    pthread_join(t[i], NULL);
  /* Every idle mark was replaced by exactly one waking push (the first
   * push found the initial IDLE). */
  otpc__sig_t *last = atomic_load(&shared->inbox);
  assert_int_equal(atomic_load(&wakeups),
                   idles + 1 - (last == OTPC__INBOX_IDLE ? 1 : 0));
  free(shared);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_idle_transition),
      cmocka_unit_test(test_concurrent_order),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
