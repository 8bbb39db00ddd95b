/* Unit tests of the timing wheel (cnode/runtime/timer_wheel.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "../../cnode/runtime/timer_wheel.h"

typedef struct tmr {
  otpc__tw_entry_t e;
  int id;
} tmr_t;

#define TMR(ep) ((tmr_t *)((char *)(ep)-offsetof(tmr_t, e)))

/* Records what fired, in order. */
typedef struct rec {
  int ids[256];
  uint64_t at[256]; /* the wheel's time during fire */
  size_t n;
  otpc__tw_t *tw;
} rec_t;

static void record(otpc__tw_entry_t *e, void *ctx) {
  rec_t *r = ctx;
  assert_true(r->n < 256);
  assert_false(otpc__tw_pending(e));
  r->at[r->n] = otpc__tw_now(r->tw);
  r->ids[r->n++] = TMR(e)->id;
}

static void init_tmrs(tmr_t *t, size_t n) {
  for (size_t i = 0; i < n; i++) {
    otpc__tw_entry_init(&t[i].e);
    t[i].id = (int)i;
  }
}

static void test_entry_is_small(void **state) {
  (void)state;
  if (sizeof(void *) == 8)
    assert_int_equal(sizeof(otpc__tw_entry_t), 32);
  otpc__tw_entry_t zero;
  memset(&zero, 0, sizeof zero);
  assert_false(otpc__tw_pending(&zero));
}

static void test_order(void **state) {
  (void)state;
  static otpc__tw_t tw;
  otpc__tw_init(&tw, 1000);
  const uint64_t delays[] = {5, 1, 3, 100, 64, 65, 63, 4096, 4095, 70000, 2};
  enum { N = sizeof delays / sizeof delays[0] };
  tmr_t t[N];
  init_tmrs(t, N);
  for (int i = 0; i < N; i++)
    otpc__tw_add(&tw, &t[i].e, 1000 + delays[i]);
  assert_int_equal(otpc__tw_count(&tw), N);
  assert_int_equal(otpc__tw_next_ms(&tw, 1000), 1);
  rec_t r = {.tw = &tw};
  assert_int_equal(otpc__tw_advance(&tw, 1000 + 100000, record, &r), N);
  assert_int_equal(r.n, N);
  const int want[] = {1, 10, 2, 0, 6, 4, 5, 3, 8, 7, 9};
  for (int i = 0; i < N; i++) {
    assert_int_equal(r.ids[i], want[i]);
    assert_int_equal(r.at[i], 1000 + delays[want[i]]);
    assert_int_equal(t[want[i]].e.expiry_ms, 1000 + delays[want[i]]);
  }
  assert_int_equal(otpc__tw_count(&tw), 0);
  assert_int_equal(otpc__tw_next_ms(&tw, 1000), -1);
}

/* Entries of one expiry fire in insertion order even when they were added
 * at different times (hence initially into different levels), and a moved
 * entry goes behind. */
static void test_ties(void **state) {
  (void)state;
  static otpc__tw_t tw;
  otpc__tw_init(&tw, 0);
  tmr_t t[6];
  init_tmrs(t, 6);
  rec_t r = {.tw = &tw};
  const uint64_t x = 300000;
  otpc__tw_add(&tw, &t[0].e, x);
  otpc__tw_add(&tw, &t[1].e, x);
  assert_int_equal(otpc__tw_advance(&tw, 262143, record, &r), 0);
  otpc__tw_add(&tw, &t[2].e, x);
  assert_int_equal(otpc__tw_advance(&tw, x - 70, record, &r), 0);
  otpc__tw_add(&tw, &t[3].e, x);
  otpc__tw_add(&tw, &t[4].e, x - 1);
  assert_int_equal(otpc__tw_advance(&tw, x - 3, record, &r), 0);
  otpc__tw_add(&tw, &t[5].e, x);
  otpc__tw_add(&tw, &t[0].e, x); /* moved: now last */
  assert_int_equal(otpc__tw_count(&tw), 6);
  assert_int_equal(otpc__tw_advance(&tw, x, record, &r), 6);
  const int want[] = {4, 1, 2, 3, 5, 0};
  for (int i = 0; i < 6; i++)
    assert_int_equal(r.ids[i], want[i]);
}

typedef struct cancel_ctx {
  rec_t r;
  otpc__tw_t *tw;
  tmr_t *victim;
  bool cancelled;
} cancel_ctx_t;

static void cancel_other(otpc__tw_entry_t *e, void *ctx) {
  cancel_ctx_t *c = ctx;
  record(e, &c->r);
  if (c->victim) {
    c->cancelled = otpc__tw_cancel(c->tw, &c->victim->e);
    c->victim = NULL;
  }
}

static void test_cancel(void **state) {
  (void)state;
  static otpc__tw_t tw;
  otpc__tw_init(&tw, 50);
  tmr_t t[5];
  init_tmrs(t, 5);
  assert_false(otpc__tw_cancel(&tw, &t[0].e)); /* never added */
  otpc__tw_add(&tw, &t[0].e, 60);
  otpc__tw_add(&tw, &t[1].e, 70);
  otpc__tw_add(&tw, &t[2].e, 70); /* cancelled from t[1]'s fire */
  otpc__tw_add(&tw, &t[3].e, 5000);
  otpc__tw_add(&tw, &t[4].e, 80);
  assert_true(otpc__tw_cancel(&tw, &t[0].e));
  assert_false(otpc__tw_cancel(&tw, &t[0].e));
  assert_true(otpc__tw_cancel(&tw, &t[3].e));
  assert_int_equal(otpc__tw_count(&tw), 3);
  /* Cancelled entries leave no trace in the bitmaps: the next wake-up is
   * not 60 but 64, where the level-1 slot holding 70 and 80 starts. */
  assert_int_equal(otpc__tw_next_ms(&tw, 50), 14);
  cancel_ctx_t c = {.r = {.tw = &tw}, .tw = &tw, .victim = &t[2]};
  assert_int_equal(otpc__tw_advance(&tw, 100, cancel_other, &c), 2);
  assert_true(c.cancelled);
  assert_int_equal(c.r.n, 2);
  assert_int_equal(c.r.ids[0], 1);
  assert_int_equal(c.r.ids[1], 4);
  assert_false(otpc__tw_cancel(&tw, &t[1].e)); /* fired */
  assert_false(otpc__tw_cancel(&tw, &t[2].e)); /* cancelled */
  assert_int_equal(otpc__tw_count(&tw), 0);
  assert_int_equal(otpc__tw_next_ms(&tw, 100), -1);
  /* A cancelled entry can be added again. */
  otpc__tw_add(&tw, &t[0].e, 101);
  assert_int_equal(otpc__tw_advance(&tw, 101, cancel_other, &c), 1);
  assert_int_equal(c.r.ids[2], 0);
}

typedef struct readd_ctx {
  rec_t r;
  otpc__tw_t *tw;
  tmr_t *extra;
  uint64_t period;
  int limit;
} readd_ctx_t;

static void readd(otpc__tw_entry_t *e, void *ctx) {
  readd_ctx_t *c = ctx;
  record(e, &c->r);
  if (TMR(e)->id == 0 && (int)c->r.n < c->limit)
    otpc__tw_add(c->tw, e, e->expiry_ms + c->period);
  if (TMR(e)->id == 0 && c->extra) {
    /* Due within this advance: fires in it, at its own time. */
    otpc__tw_add(c->tw, &c->extra->e, otpc__tw_now(c->tw) + 1);
    c->extra = NULL;
  }
}

static void test_readd_in_fire(void **state) {
  (void)state;
  static otpc__tw_t tw;
  otpc__tw_init(&tw, 0);
  tmr_t t[2];
  init_tmrs(t, 2);
  readd_ctx_t c = {.r = {.tw = &tw}, .tw = &tw, .period = 10, .limit = 100};
  otpc__tw_add(&tw, &t[0].e, 10);
  assert_int_equal(otpc__tw_advance(&tw, 100, readd, &c), 10);
  for (int i = 0; i < 10; i++)
    assert_int_equal(c.r.at[i], 10 * (i + 1));
  assert_true(otpc__tw_pending(&t[0].e));
  assert_int_equal(t[0].e.expiry_ms, 110);

  /* Re-adding at "now" (period 0) must not livelock: it fires once per
   * advance, and the wheel reports it as due. */
  c.period = 0;
  c.r.n = 0;
  assert_int_equal(otpc__tw_advance(&tw, 200, readd, &c), 1);
  assert_int_equal(otpc__tw_next_ms(&tw, 200), 0);
  assert_int_equal(t[0].e.expiry_ms, 110);
  assert_int_equal(otpc__tw_advance(&tw, 200, readd, &c), 1);
  assert_int_equal(c.r.at[1], 200);
  assert_int_equal(t[0].e.expiry_ms, 200); /* clamped to the wheel's time */
  assert_true(otpc__tw_cancel(&tw, &t[0].e));

  /* An add from fire that falls inside the same advance fires in it. */
  c.period = 1000;
  c.r.n = 0;
  c.extra = &t[1];
  otpc__tw_add(&tw, &t[0].e, 250);
  assert_int_equal(otpc__tw_advance(&tw, 300, readd, &c), 2);
  assert_int_equal(c.r.ids[1], 1);
  assert_int_equal(c.r.at[1], 251);
  assert_int_equal(otpc__tw_count(&tw), 1);
}

static void test_past_expiry(void **state) {
  (void)state;
  static otpc__tw_t tw;
  otpc__tw_init(&tw, 10000);
  tmr_t t[3];
  init_tmrs(t, 3);
  otpc__tw_add(&tw, &t[0].e, 9000);
  otpc__tw_add(&tw, &t[1].e, 0);
  otpc__tw_add(&tw, &t[2].e, 10000);
  assert_int_equal(t[0].e.expiry_ms, 10000);
  assert_int_equal(otpc__tw_next_ms(&tw, 10000), 0);
  rec_t r = {.tw = &tw};
  /* Fires on the next advance even without time passing, in insertion
   * order, and an advance into the past changes nothing else. */
  assert_int_equal(otpc__tw_advance(&tw, 5, record, &r), 3);
  for (int i = 0; i < 3; i++)
    assert_int_equal(r.ids[i], i);
  assert_int_equal(otpc__tw_now(&tw), 10000);
}

/* Delays of every power of two up to 2^41, with probes just before and at
 * each expiry, then one jump over a huge gap. */
static void test_long_jumps(void **state) {
  (void)state;
  static otpc__tw_t tw;
  const uint64_t t0 = 123456789;
  otpc__tw_init(&tw, t0);
  enum { N = 42 };
  tmr_t t[N];
  init_tmrs(t, N);
  for (int k = 0; k < N; k++)
    otpc__tw_add(&tw, &t[k].e, t0 + (UINT64_C(1) << k) + (uint64_t)k);
  rec_t r = {.tw = &tw};
  for (int k = 0; k < N; k++) {
    uint64_t x = t0 + (UINT64_C(1) << k) + (uint64_t)k;
    int64_t next = otpc__tw_next_ms(&tw, otpc__tw_now(&tw));
    assert_true(next >= 1);
    assert_true(otpc__tw_now(&tw) + (uint64_t)next <= x);
    if (x - 1 > otpc__tw_now(&tw))
      assert_int_equal(otpc__tw_advance(&tw, x - 1, record, &r), 0);
    assert_int_equal(otpc__tw_advance(&tw, x, record, &r), 1);
    assert_int_equal(r.ids[r.n - 1], k);
    assert_int_equal(r.at[r.n - 1], x);
  }
  assert_int_equal(otpc__tw_count(&tw), 0);

  /* One jump over everything, and the top of the clock's range. */
  r.n = 0;
  uint64_t now = otpc__tw_now(&tw);
  for (int k = 0; k < N; k++)
    otpc__tw_add(&tw, &t[k].e, now + (UINT64_C(1) << (N - 1 - k)));
  assert_int_equal(otpc__tw_advance(&tw, now + (UINT64_C(1) << 50), record, &r),
                   N);
  for (int k = 0; k < N; k++)
    assert_int_equal(r.ids[k], N - 1 - k);
  r.n = 0;
  otpc__tw_add(&tw, &t[0].e, UINT64_MAX);
  otpc__tw_add(&tw, &t[1].e, UINT64_MAX - 1);
  otpc__tw_add(&tw, &t[2].e, UINT64_C(1) << 63);
  assert_int_equal(otpc__tw_advance(&tw, UINT64_MAX - 2, record, &r), 1);
  assert_int_equal(otpc__tw_advance(&tw, UINT64_MAX, record, &r), 2);
  assert_int_equal(r.ids[1], 1);
  assert_int_equal(r.ids[2], 0);
}

/* ------------------------------------------------ random model check */

#define MODEL_N 512

typedef struct model {
  otpc__tw_t tw;
  tmr_t t[MODEL_N];
  bool pending[MODEL_N];
  bool deferred[MODEL_N]; /* added due during an advance: fires next one */
  uint64_t eff[MODEL_N];
  uint64_t seq[MODEL_N];
  uint64_t gseq, now, target, rng;
  bool in_advance;
  size_t count, fired;
} model_t;

static uint64_t rnd(uint64_t *s) { /* xorshift64*: deterministic */
  *s ^= *s >> 12;
  *s ^= *s << 25;
  *s ^= *s >> 27;
  return *s * UINT64_C(2685821657736338717);
}

static uint64_t rnd_below(uint64_t *s, uint64_t n) {
  return n ? rnd(s) % n : 0;
}

static void m_add(model_t *m) {
  int id = (int)rnd_below(&m->rng, MODEL_N);
  uint64_t x;
  switch (rnd_below(&m->rng, 9)) {
  case 0: x = m->now + rnd_below(&m->rng, 10); break;
  case 1: x = m->now + rnd_below(&m->rng, 100); break;
  case 2: x = m->now + rnd_below(&m->rng, 5000); break;
  case 3: x = m->now + rnd_below(&m->rng, UINT64_C(1) << 20); break;
  case 4: x = m->now + rnd_below(&m->rng, UINT64_C(1) << 32); break;
  case 5: x = m->now + rnd_below(&m->rng, UINT64_C(1) << 41); break;
  case 6: x = m->now - rnd_below(&m->rng, m->now < 1000 ? m->now : 1000); break;
  default: { /* a tie with some other entry */
    int o = (int)rnd_below(&m->rng, MODEL_N);
    x = m->pending[o] ? m->eff[o] : m->now + 64;
    break;
  }
  }
  if (!m->pending[id])
    m->count++;
  m->pending[id] = true;
  m->eff[id] = x < m->now ? m->now : x;
  m->seq[id] = ++m->gseq;
  m->deferred[id] = m->in_advance && m->eff[id] <= m->now;
  otpc__tw_add(&m->tw, &m->t[id].e, x);
  assert_int_equal(m->t[id].e.expiry_ms, m->eff[id]);
}

static void m_cancel(model_t *m) {
  int id = (int)rnd_below(&m->rng, MODEL_N);
  assert_int_equal(otpc__tw_cancel(&m->tw, &m->t[id].e), m->pending[id]);
  if (m->pending[id])
    m->count--;
  m->pending[id] = false;
}

/* The reference: the pending, non-deferred entry with the least (expiry,
 * insertion) that is due by `target`, or -1. */
static int m_next_due(const model_t *m) {
  int best = -1;
  for (int i = 0; i < MODEL_N; i++) {
    if (!m->pending[i] || m->deferred[i] || m->eff[i] > m->target)
      continue;
    if (best < 0 || m->eff[i] < m->eff[best] ||
        (m->eff[i] == m->eff[best] && m->seq[i] < m->seq[best]))
      best = i;
  }
  return best;
}

static void m_fire(otpc__tw_entry_t *e, void *ctx) {
  model_t *m = ctx;
  int want = m_next_due(m);
  assert_int_equal(TMR(e)->id, want);
  m->pending[want] = false;
  m->count--;
  m->fired++;
  if (m->eff[want] > m->now)
    m->now = m->eff[want];
  assert_int_equal(otpc__tw_now(&m->tw), m->now);
  assert_int_equal(e->expiry_ms, m->eff[want]);
  uint64_t r = rnd_below(&m->rng, 10);
  if (r < 3)
    m_add(m);
  else if (r < 5)
    m_cancel(m);
}

static void m_check_next(const model_t *m) {
  int64_t next = otpc__tw_next_ms(&m->tw, m->now);
  if (m->count == 0) {
    assert_int_equal(next, -1);
    return;
  }
  uint64_t min = UINT64_MAX;
  for (int i = 0; i < MODEL_N; i++)
    if (m->pending[i] && m->eff[i] < min)
      min = m->eff[i];
  assert_true(next >= 0);
  if (min <= m->now)
    assert_int_equal(next, 0);
  else
    assert_true(next >= 1 && (uint64_t)next <= min - m->now);
}

static void m_advance(model_t *m) {
  uint64_t d;
  switch (rnd_below(&m->rng, 10)) {
  case 5:
  case 6: d = rnd_below(&m->rng, 1000); break;
  case 7: d = rnd_below(&m->rng, UINT64_C(1) << 20); break;
  case 8: d = rnd_below(&m->rng, UINT64_C(1) << 34); break;
  case 9: d = rnd_below(&m->rng, UINT64_C(1) << 41); break;
  default: d = rnd_below(&m->rng, 20); break;
  }
  m->target = m->now + d;
  m->in_advance = true;
  size_t before = m->fired;
  size_t n = otpc__tw_advance(&m->tw, m->target, m_fire, m);
  m->in_advance = false;
  assert_int_equal(n, m->fired - before);
  assert_int_equal(m_next_due(m), -1);
  memset(m->deferred, 0, sizeof m->deferred);
  m->now = m->target;
  assert_int_equal(otpc__tw_now(&m->tw), m->now);
  assert_int_equal(otpc__tw_count(&m->tw), m->count);
  m_check_next(m);
}

static void test_model_check(void **state) {
  (void)state;
  model_t *m = calloc(1, sizeof *m);
  assert_non_null(m);
  m->rng = UINT64_C(0x9E3779B97F4A7C15);
  m->now = 1000;
  otpc__tw_init(&m->tw, m->now);
  init_tmrs(m->t, MODEL_N);
  for (int op = 0; op < 100000; op++) {
    uint64_t r = rnd_below(&m->rng, 100);
    if (r < 45)
      m_add(m);
    else if (r < 65)
      m_cancel(m);
    else
      m_advance(m);
    assert_int_equal(otpc__tw_count(&m->tw), m->count);
    if (op % 97 == 0)
      m_check_next(m);
  }
  /* Drain. */
  m->target = UINT64_MAX;
  m->in_advance = true;
  otpc__tw_advance(&m->tw, UINT64_MAX, m_fire, m);
  m->in_advance = false;
  printf("  model check: %zu fired, %zu left after the final advance\n",
         m->fired, m->count);
  free(m);
}

/* ---------------------------------------------------- a million timers */

typedef struct big_ctx {
  tmr_t *t;
  uint64_t last_x;
  int last_id;
  size_t fired;
} big_ctx_t;

static void big_fire(otpc__tw_entry_t *e, void *ctx) {
  big_ctx_t *c = ctx;
  int id = TMR(e)->id;
  /* Expiry order; ties in insertion (= id) order. Cancelled ones (odd ids)
   * never fire. */
  assert_true(e->expiry_ms > c->last_x ||
              (e->expiry_ms == c->last_x && id > c->last_id));
  if (id & 1)
    fail_msg("cancelled timer %d fired", id);
  c->last_x = e->expiry_ms;
  c->last_id = id;
  c->fired++;
}

static double secs(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void test_million(void **state) {
  (void)state;
  enum { N = 1000000 };
  const uint64_t span = UINT64_C(1) << 22; /* about 70 minutes */
  otpc__tw_t *tw = malloc(sizeof *tw);
  tmr_t *t = malloc(N * sizeof *t);
  assert_non_null(tw);
  assert_non_null(t);
  init_tmrs(t, N);
  uint64_t rng = 42;
  const uint64_t t0 = 5000;
  otpc__tw_init(tw, t0);

  double a = secs();
  for (int i = 0; i < N; i++)
    otpc__tw_add(tw, &t[i].e, t0 + 1 + rnd_below(&rng, span));
  double b = secs();
  assert_int_equal(otpc__tw_count(tw), N);
  for (int i = 1; i < N; i += 2)
    assert_true(otpc__tw_cancel(tw, &t[i].e));
  double c = secs();
  assert_int_equal(otpc__tw_count(tw), N / 2);

  /* Advance as a scheduler would: to each next wake-up. */
  big_ctx_t ctx = {.t = t, .last_id = -1};
  size_t wakeups = 0;
  int64_t next;
  while ((next = otpc__tw_next_ms(tw, otpc__tw_now(tw))) >= 0) {
    otpc__tw_advance(tw, otpc__tw_now(tw) + (uint64_t)next, big_fire, &ctx);
    wakeups++;
  }
  double d = secs();
  assert_int_equal(ctx.fired, N / 2);
  assert_int_equal(otpc__tw_count(tw), 0);

  printf("  1M timers over %.0f min: add %.1f ns, cancel %.1f ns, "
         "advance %.1f ns per fired timer (%zu wake-ups)\n",
         (double)span / 60000.0, (b - a) * 1e9 / N, (c - b) * 1e9 / (N / 2),
         (d - c) * 1e9 / (N / 2), wakeups);
  printf("  %zu bytes per timer entry, %zu bytes per wheel (%.3f per timer "
         "at 1M)\n",
         sizeof(otpc__tw_entry_t), sizeof(otpc__tw_t),
         (double)sizeof(otpc__tw_t) / N);

  /* And one long jump over all of them. */
  init_tmrs(t, N);
  otpc__tw_init(tw, t0);
  for (int i = 0; i < N; i++)
    otpc__tw_add(tw, &t[i].e, t0 + 1 + rnd_below(&rng, span));
  for (int i = 1; i < N; i += 2)
    otpc__tw_cancel(tw, &t[i].e);
  ctx = (big_ctx_t){.t = t, .last_id = -1};
  double e = secs();
  assert_int_equal(otpc__tw_advance(tw, t0 + span + 1, big_fire, &ctx), N / 2);
  double f = secs();
  printf("  one advance over all: %.1f ns per fired timer\n",
         (f - e) * 1e9 / (N / 2));
  free(t);
  free(tw);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_entry_is_small), cmocka_unit_test(test_order),
      cmocka_unit_test(test_ties),           cmocka_unit_test(test_cancel),
      cmocka_unit_test(test_readd_in_fire),  cmocka_unit_test(test_past_expiry),
      cmocka_unit_test(test_long_jumps),     cmocka_unit_test(test_model_check),
      cmocka_unit_test(test_million),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
