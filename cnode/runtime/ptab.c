/* The process table: slots indexed by the low bits of a pid's data, the
 * high bits being the slot's generation, so a stale pid never reaches the
 * slot's next process. Striped spinlocks make "look up and push a signal"
 * atomic with "remove on exit".
 *
 * Pid data is split as the BEAM does for local pids: id = the low 15 bits,
 * serial = the rest, so <0.Id.Serial> looks like an ordinary pid. */
#include <stdlib.h>

#include "rt_internal.h"

#define ID_BITS 15
/* Serial is 32 bits, so data has 15 + 32 bits. */
#define DATA_BITS 47

int otpc__ptab_init(otpc_rt_t *rt, size_t max) {
  if (max < 16)
    max = 16;
  if (max > ((size_t)1 << 27))
    return OTPC_EINVAL;
  uint32_t bits = 4;
  while (((size_t)1 << bits) < max + 1) /* slot 0 is the runtime's pid */
    bits++;
  rt->bits = bits;
  rt->cap = (uint32_t)1 << bits;
  rt->data_limit = (uint64_t)1 << DATA_BITS;
  rt->max_live = max;
  /* calloc: untouched pages of a big table cost no memory. */
  rt->slots = calloc(rt->cap, sizeof *rt->slots);
  if (rt->slots == NULL)
    return OTPC_ENOMEM;
  rt->free_head = UINT32_MAX;
  rt->hwm = 1;
  atomic_init(&rt->free_lock, 0);
  atomic_init(&rt->live, 0);
  for (unsigned i = 0; i < OTPC__NSTRIPES; i++)
    atomic_init(&rt->stripes[i].lock, 0);
  return 0;
}

void otpc__ptab_free(otpc_rt_t *rt) {
  free(rt->slots);
  rt->slots = NULL;
}

int otpc__ptab_reserve(otpc_rt_t *rt, uint64_t *data) {
  /* Relaxed: a soft limit; the counter orders nothing. */
  if (atomic_fetch_add_explicit(&rt->live, 1, memory_order_relaxed) >=
      rt->max_live) {
    atomic_fetch_sub_explicit(&rt->live, 1, memory_order_relaxed);
    return OTPC_ELIMIT;
  }
  otpc__spin_lock(&rt->free_lock);
  uint32_t idx;
  if (rt->free_head != UINT32_MAX) {
    idx = rt->free_head;
    otpc__slot_t *s = &rt->slots[idx];
    /* A free slot keeps the next free index in the low 32 bits of `data`
     * and its next generation above. Relaxed: under free_lock. */
    uint64_t d = atomic_load_explicit(&s->data, memory_order_relaxed);
    rt->free_head = (uint32_t)(d & 0xffffffffu);
    /* The generation wraps within the 47 bits of id and serial; the low
     * bits stay the index since the limit is a multiple of cap. */
    *data = ((d >> 32) << rt->bits | idx) % rt->data_limit;
  } else {
    idx = rt->hwm++;
    *data = idx;
  }
  otpc__spin_unlock(&rt->free_lock);
  return 0;
}

void otpc__ptab_install(otpc_rt_t *rt, otpc_proc_t *p) {
  atomic_int *l = otpc__stripe(rt, p->data);
  otpc__spin_lock(l);
  otpc__slot_t *s = &rt->slots[p->data & (rt->cap - 1)];
  /* Relaxed: the stripe lock orders it for locked readers; the lock-free
   * reader acquires `data` below. */
  atomic_store_explicit(&s->proc, p, memory_order_relaxed);
  /* Relaxed: no home scheduler in the value yet (otpc__ptab_publish), so
   * only locked readers use the slot. */
  atomic_store_explicit(&s->data, otpc__slot_live(p->data, 0),
                        memory_order_relaxed);
  otpc__spin_unlock(l);
}

void otpc__ptab_publish(otpc_rt_t *rt, otpc_proc_t *p) {
  if (p->sched == NULL)
    return; /* a thread process: always the locked path */
  atomic_int *l = otpc__stripe(rt, p->data);
  otpc__spin_lock(l);
  /* Release: a scheduler that reads this value without the lock (its own
   * processes, otpc__deliver_local) then sees `proc` and p's fields. */
  atomic_store_explicit(&rt->slots[p->data & (rt->cap - 1)].data,
                        otpc__slot_live(p->data, p->sched->idx + 1),
                        memory_order_release);
  otpc__spin_unlock(l);
}

void otpc__ptab_remove(otpc_rt_t *rt, otpc_proc_t *p) {
  atomic_int *l = otpc__stripe(rt, p->data);
  otpc__spin_lock(l);
  otpc__slot_t *s = &rt->slots[p->data & (rt->cap - 1)];
  /* Relaxed: ordered by the stripe lock; the lock-free reader of a live
   * value is p's own scheduler thread, which is the one removing it. */
  if (atomic_load_explicit(&s->proc, memory_order_relaxed) == p) {
    atomic_store_explicit(&s->data, 0, memory_order_relaxed);
    atomic_store_explicit(&s->proc, NULL, memory_order_relaxed);
  }
  otpc__spin_unlock(l);
}

void otpc__ptab_release(otpc_rt_t *rt, uint64_t data) {
  uint32_t idx = (uint32_t)(data & (rt->cap - 1));
  uint64_t gen = (data >> rt->bits) + 1;
  otpc__spin_lock(&rt->free_lock);
  /* Nobody reads a free slot's data outside free_lock: lookups compare
   * p->data of a non-NULL proc only. */
  /* Relaxed: under free_lock. The generation keeps 31 bits so that bit
   * 63 (OTPC__SLOT_LIVE) stays clear: a free slot never looks live. */
  atomic_store_explicit(&rt->slots[idx].data,
                        (gen & 0x7fffffffu) << 32 | rt->free_head,
                        memory_order_relaxed);
  rt->free_head = idx;
  otpc__spin_unlock(&rt->free_lock);
  /* Seq_cst, with the load of `stopping`, pairs with otpc_rt_stop's store
   * of `stopping` and load of `live` (a Dekker handshake): either rt_stop
   * sees this decrement or we see `stopping` and wake it. */
  atomic_fetch_sub(&rt->live, 1);
  if (atomic_load(&rt->stopping)) {
    pthread_mutex_lock(&rt->stop_lock);
    pthread_cond_broadcast(&rt->stop_cond);
    pthread_mutex_unlock(&rt->stop_lock);
  }
}

bool otpc__pid_local(const otpc_rt_t *rt, otpc_pid_t pid, uint64_t *data) {
  if (pid.node != rt->node || pid.creation != rt->creation)
    return false;
  /* An id over 15 bits is no pid of ours: give data no slot can hold. */
  *data =
      pid.id >> ID_BITS ? UINT64_MAX : (uint64_t)pid.serial << ID_BITS | pid.id;
  return true;
}

otpc_pid_t otpc__pid_make(const otpc_rt_t *rt, uint64_t data) {
  otpc_pid_t pid = {rt->node, (uint32_t)(data & ((1u << ID_BITS) - 1)),
                    (uint32_t)(data >> ID_BITS), rt->creation};
  return pid;
}

void otpc__ptab_each(otpc_rt_t *rt, void (*fn)(otpc_proc_t *p, void *ud),
                     void *ud) {
  otpc__spin_lock(&rt->free_lock);
  uint32_t hwm = rt->hwm;
  otpc__spin_unlock(&rt->free_lock);
  for (uint32_t i = 1; i < hwm; i++) {
    atomic_int *l = &rt->stripes[i % OTPC__NSTRIPES].lock;
    otpc__spin_lock(l);
    /* Relaxed: under the stripe lock. */
    otpc_proc_t *p =
        atomic_load_explicit(&rt->slots[i].proc, memory_order_relaxed);
    if (p != NULL)
      fn(p, ud);
    otpc__spin_unlock(l);
  }
}
