/* The hierarchical timing wheel: see timer_wheel.h for the contract.
 *
 * Invariant (checked by the tests against a reference model): a pending
 * entry with expiry e > now sits in level L = (index of the highest bit of
 * e ^ now) / 6, slot = digit L of e. All entries of one expiry therefore
 * share one list at any time, and lists are FIFO, which is what keeps ties
 * in insertion order through cascades. Every occupied slot of level L starts
 * after now and before the next multiple of 64^(L+1), hence before any
 * occupied slot of level L+1: the next thing to do is always the lowest set
 * bit of the lowest non-empty level. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include "timer_wheel.h"

#include <assert.h>
#include <string.h>
#include <time.h>

#define WHEEL_LISTS (OTPC__TW_LEVELS * OTPC__TW_SLOTS)
#define DUE WHEEL_LISTS          /* added at or before now: next advance */
#define FIRING (WHEEL_LISTS + 1) /* being fired by the current advance */

uint64_t otpc__now_ms(void) {
  struct timespec ts;
  /* CLOCK_MONOTONIC cannot fail on the systems we support; a zero time
   * would only make timers fire late, never crash. */
  if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
    return 0;
  return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void otpc__tw_init(otpc__tw_t *tw, uint64_t now_ms) {
  memset(tw, 0, sizeof *tw);
  tw->now_ms = now_ms;
}

static void append(otpc__tw_t *tw, uint32_t idx, otpc__tw_entry_t *e) {
  otpc__tw_list_t *l = &tw->lists[idx];
  e->next = NULL;
  e->prev = l->last;
  if (l->last)
    l->last->next = e;
  else
    l->first = e;
  l->last = e;
  e->list = idx + 1;
}

/* Unlinks e from its list (count untouched) and keeps the bitmaps exact, so
 * otpc__tw_next_ms never reports a slot that only held cancelled entries. */
static void unlink_entry(otpc__tw_t *tw, otpc__tw_entry_t *e) {
  uint32_t idx = e->list - 1;
  otpc__tw_list_t *l = &tw->lists[idx];
  if (e->prev)
    e->prev->next = e->next;
  else
    l->first = e->next;
  if (e->next)
    e->next->prev = e->prev;
  else
    l->last = e->prev;
  e->next = e->prev = NULL;
  e->list = 0;
  if (l->first == NULL && idx < WHEEL_LISTS) {
    unsigned level = idx / OTPC__TW_SLOTS;
    tw->bitmap[level] &= ~(UINT64_C(1) << (idx % OTPC__TW_SLOTS));
    if (tw->bitmap[level] == 0)
      tw->levels &= ~(1u << level);
  }
}

/* Puts e (expiry_ms >= now_ms) where the invariant wants it; an entry due
 * now goes to `due_list` instead. */
static void place(otpc__tw_t *tw, otpc__tw_entry_t *e, uint32_t due_list) {
  uint64_t x = e->expiry_ms ^ tw->now_ms;
  if (x == 0) {
    append(tw, due_list, e);
    return;
  }
  unsigned level = (unsigned)(63 - __builtin_clzll(x)) / OTPC__TW_BITS;
  unsigned slot = (unsigned)(e->expiry_ms >> (level * OTPC__TW_BITS)) &
                  (OTPC__TW_SLOTS - 1);
  append(tw, level * OTPC__TW_SLOTS + slot, e);
  tw->bitmap[level] |= UINT64_C(1) << slot;
  tw->levels |= 1u << level;
}

void otpc__tw_add(otpc__tw_t *tw, otpc__tw_entry_t *e, uint64_t expiry_ms) {
  if (e->list)
    unlink_entry(tw, e);
  else
    tw->count++;
  e->expiry_ms = expiry_ms < tw->now_ms ? tw->now_ms : expiry_ms;
  place(tw, e, DUE);
}

bool otpc__tw_cancel(otpc__tw_t *tw, otpc__tw_entry_t *e) {
  if (!e->list)
    return false;
  unlink_entry(tw, e);
  tw->count--;
  return true;
}

/* Pops and fires list idx until empty. fire may cancel entries still in the
 * list (they unlink like any other) but adds never land in it: adds due now
 * go to DUE, and a later expiry differs from now in some digit. */
static size_t fire_list(otpc__tw_t *tw, uint32_t idx, otpc__tw_fire_fn fire,
                        void *ctx) {
  size_t n = 0;
  otpc__tw_entry_t *e;
  while ((e = tw->lists[idx].first) != NULL) {
    unlink_entry(tw, e);
    tw->count--;
    fire(e, ctx);
    n++;
  }
  return n;
}

/* The first millisecond covered by slot `slot` of `level`, given that the
 * digits above `level` are those of now. */
static uint64_t slot_start(uint64_t now, unsigned level, unsigned slot) {
  unsigned shift = level * OTPC__TW_BITS;
  uint64_t high = 0;
  if (level + 1 < OTPC__TW_LEVELS)
    high = now >> (shift + OTPC__TW_BITS) << (shift + OTPC__TW_BITS);
  return high | (uint64_t)slot << shift;
}

size_t otpc__tw_advance(otpc__tw_t *tw, uint64_t now_ms, otpc__tw_fire_fn fire,
                        void *ctx) {
  assert(!tw->advancing && "otpc__tw_advance called from fire");
  tw->advancing = true;
  size_t n = 0;

  /* Move the due list aside first: what fire adds at "now" must wait for the
   * next advance. Relabelling is O(k) but these k entries fire right now. */
  otpc__tw_list_t *due = &tw->lists[DUE];
  if (due->first) {
    for (otpc__tw_entry_t *e = due->first; e; e = e->next)
      e->list = FIRING + 1;
    tw->lists[FIRING] = *due;
    due->first = due->last = NULL;
    n += fire_list(tw, FIRING, fire, ctx);
  }

  /* Jump from occupied slot to occupied slot: empty time costs nothing. */
  while (tw->levels) {
    unsigned level = (unsigned)__builtin_ctz(tw->levels);
    unsigned slot = (unsigned)__builtin_ctzll(tw->bitmap[level]);
    uint64_t start = slot_start(tw->now_ms, level, slot);
    if (start > now_ms)
      break;
    tw->now_ms = start;
    uint32_t idx = level * OTPC__TW_SLOTS + slot;
    if (level == 0) {
      n += fire_list(tw, idx, fire, ctx);
    } else {
      /* Cascade in list order so that ties keep their order. */
      otpc__tw_entry_t *e;
      while ((e = tw->lists[idx].first) != NULL) {
        unlink_entry(tw, e);
        place(tw, e, FIRING);
      }
      n += fire_list(tw, FIRING, fire, ctx);
    }
  }
  if (now_ms > tw->now_ms)
    tw->now_ms = now_ms;
  tw->advancing = false;
  return n;
}

int64_t otpc__tw_next_ms(const otpc__tw_t *tw, uint64_t now_ms) {
  if (tw->lists[DUE].first || tw->lists[FIRING].first)
    return 0;
  if (!tw->levels)
    return -1;
  unsigned level = (unsigned)__builtin_ctz(tw->levels);
  unsigned slot = (unsigned)__builtin_ctzll(tw->bitmap[level]);
  uint64_t start = slot_start(tw->now_ms, level, slot);
  if (start <= now_ms)
    return 0;
  uint64_t d = start - now_ms;
  return d > (uint64_t)INT64_MAX ? INT64_MAX : (int64_t)d;
}
