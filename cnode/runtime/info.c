/* Introspection: snapshots of other processes' counters, read under the
 * process's stripe lock so the process cannot be freed meanwhile. */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

int otpc_proc_info(otpc_rt_t *rt, otpc_pid_t pid, otpc_proc_info_t *info) {
  if (rt == NULL || info == NULL)
    return OTPC_EINVAL;
  uint64_t data;
  if (!otpc__pid_local(rt, pid, &data))
    return OTPC_ENOTFOUND;
  memset(info, 0, sizeof *info);
  /* Registry before stripe, the lock order of otpc_register. */
  pthread_mutex_lock(&rt->reg_lock);
  atomic_int *l = otpc__stripe(rt, data);
  otpc__spin_lock(l);
  otpc_proc_t *p = otpc__ptab_get_locked(rt, data);
  if (p != NULL) {
    /* Relaxed loads: each counter is a snapshot, as process_info's. */
    info->pid = pid;
    info->class_name =
        p->cls != NULL && p->cls->name != NULL ? p->cls->name : "thread";
    info->registered_name = p->name;
    info->status = (otpc_proc_status_t)atomic_load_explicit(
        &p->i_status, memory_order_relaxed);
    /* As process_info's message_queue_len: sent and not yet received,
     * moved to the private queue or still in the inbox. */
    uint64_t moved = atomic_load_explicit(&p->i_moved, memory_order_relaxed);
    uint64_t pushed = atomic_load_explicit(&p->i_pushed, memory_order_relaxed);
    info->message_queue_len =
        atomic_load_explicit(&p->i_mq_len, memory_order_relaxed) +
        (pushed > moved ? (size_t)(pushed - moved) : 0);
    info->memory = sizeof *p + (p->cls != NULL ? p->cls->state_size : 0) +
                   atomic_load_explicit(&p->i_mq_bytes, memory_order_relaxed);
    info->messages_handled =
        atomic_load_explicit(&p->i_handled, memory_order_relaxed);
    info->links = atomic_load_explicit(&p->i_links, memory_order_relaxed);
    info->monitors = atomic_load_explicit(&p->i_monitors, memory_order_relaxed);
    info->monitored_by =
        atomic_load_explicit(&p->i_monitored_by, memory_order_relaxed);
    info->trap_exit = atomic_load_explicit(&p->i_trap, memory_order_relaxed);
  }
  otpc__spin_unlock(l);
  pthread_mutex_unlock(&rt->reg_lock);
  return p != NULL ? 0 : OTPC_ENOTFOUND;
}

typedef struct collect {
  otpc_pid_t *pids;
  size_t n, cap;
  bool oom;
} collect_t;

static void collect(otpc_proc_t *p, void *ud) {
  collect_t *c = ud;
  if (c->oom)
    return;
  if (c->n == c->cap) {
    size_t ncap = c->cap ? c->cap * 2 : 64;
    otpc_pid_t *n = realloc(c->pids, ncap * sizeof *n);
    if (n == NULL) {
      c->oom = true;
      return;
    }
    c->pids = n;
    c->cap = ncap;
  }
  c->pids[c->n++] = otpc__pid_of(p);
}

int otpc_processes(otpc_rt_t *rt, otpc_pid_t **pids, size_t *n) {
  if (rt == NULL || pids == NULL || n == NULL)
    return OTPC_EINVAL;
  collect_t c = {0};
  otpc__ptab_each(rt, collect, &c);
  if (c.oom) {
    free(c.pids);
    return OTPC_ENOMEM;
  }
  *pids = c.pids;
  *n = c.n;
  return 0;
}
