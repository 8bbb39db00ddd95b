/* A hierarchical timing wheel: the timers of one scheduler thread.
 *
 * Pure and single-threaded: no threads, no clock reads, no allocation. The
 * caller owns the entries (embed an otpc__tw_entry_t in its timer struct and
 * get back to it with offsetof) and drives the wheel with its own idea of
 * "now" in milliseconds, typically otpc__now_ms() from a uv_timer armed with
 * otpc__tw_next_ms().
 *
 * Layout: 11 levels of 64 slots; level L holds entries whose expiry agrees
 * with the wheel's time on every 6-bit digit above L and differs at digit L,
 * so level 0 is exact to the millisecond and the levels together span the
 * whole uint64_t range. A level's slot is cascaded to the levels below when
 * the wheel's time reaches its start; occupancy bitmaps let an advance jump
 * straight to the next occupied slot, so a long idle gap costs nothing.
 *
 * Semantics:
 * - An entry fires once, on the first otpc__tw_advance whose now_ms reaches
 *   its expiry; entries fire in expiry order, ties in insertion order.
 * - An expiry at or before the wheel's time counts as the wheel's time
 *   (expiry_ms is stored clamped) and fires on the next advance.
 * - While fire() runs, the wheel's time is the firing entry's expiry. fire
 *   may add, re-add or cancel any entry (including ones due in the same
 *   advance). An entry it adds that is already due fires on the next advance,
 *   not this one, so a callback that re-arms itself at "now" cannot livelock.
 * - otpc__tw_advance must not be called from inside fire. */
#ifndef OTPC_CNODE_RUNTIME_TIMER_WHEEL_H
#define OTPC_CNODE_RUNTIME_TIMER_WHEEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* 64 slots a level: one uint64_t occupancy bitmap each. */
#define OTPC__TW_BITS 6
#define OTPC__TW_SLOTS 64
#define OTPC__TW_LEVELS 11 /* ceil(64 / 6) */

/* 32 bytes on LP64. A zero-filled entry is idle (not pending), as is one
 * after otpc__tw_entry_init. */
typedef struct otpc__tw_entry {
  struct otpc__tw_entry *next, *prev;
  uint64_t expiry_ms; /* read-only for the caller while pending */
  uint32_t list;      /* internal: 0 when idle, else 1 + the list holding it */
  uint32_t user;      /* free for the owner; the wheel never touches it */
} otpc__tw_entry_t;

typedef struct otpc__tw_list {
  otpc__tw_entry_t *first, *last;
} otpc__tw_list_t;

typedef struct otpc__tw {
  uint64_t now_ms;                  /* every expiry <= now_ms has been due */
  size_t count;                     /* pending entries */
  uint32_t levels;                  /* bit L: bitmap[L] != 0 */
  bool advancing;                   /* guards against a nested advance */
  uint64_t bitmap[OTPC__TW_LEVELS]; /* bit s: slot s of level L occupied */
  /* The wheel's slots, then the due list (added at or before now_ms, fired
   * first by the next advance), then the entries an advance is firing. */
  otpc__tw_list_t lists[OTPC__TW_LEVELS * OTPC__TW_SLOTS + 2];
} otpc__tw_t;

typedef void (*otpc__tw_fire_fn)(otpc__tw_entry_t *e, void *ctx);

/* Milliseconds of CLOCK_MONOTONIC. */
uint64_t otpc__now_ms(void);

void otpc__tw_init(otpc__tw_t *tw, uint64_t now_ms);

static inline void otpc__tw_entry_init(otpc__tw_entry_t *e) {
  e->next = e->prev = NULL;
  e->expiry_ms = 0;
  e->list = 0;
}

static inline bool otpc__tw_pending(const otpc__tw_entry_t *e) {
  return e->list != 0;
}

/* Schedules e at expiry_ms (absolute). A pending e is moved (as if cancelled
 * and added again: it goes behind the other entries of its expiry). O(1). */
void otpc__tw_add(otpc__tw_t *tw, otpc__tw_entry_t *e, uint64_t expiry_ms);

/* Unschedules e: true if it was pending, false if it had fired, had been
 * cancelled or was never added. O(1). */
bool otpc__tw_cancel(otpc__tw_t *tw, otpc__tw_entry_t *e);

/* Moves the wheel's time to now_ms (a now_ms in the wheel's past is ignored,
 * as if equal) and calls fire for every entry due, each already unlinked and
 * idle. Returns how many fired. Cost: the entries fired or cascaded plus a
 * few bit operations per occupied slot, whatever the gap. */
size_t otpc__tw_advance(otpc__tw_t *tw, uint64_t now_ms, otpc__tw_fire_fn fire,
                        void *ctx);

/* Milliseconds from now_ms until the wheel next needs an advance, -1 if it
 * is empty, 0 if something is due. Exact when the next entry sits in level
 * 0; otherwise it is the start of the coarse slot holding it (an earlier
 * wake-up that only cascades), never later than the true expiry. */
int64_t otpc__tw_next_ms(const otpc__tw_t *tw, uint64_t now_ms);

static inline size_t otpc__tw_count(const otpc__tw_t *tw) {
  return tw->count;
}

static inline uint64_t otpc__tw_now(const otpc__tw_t *tw) {
  return tw->now_ms;
}

#endif
