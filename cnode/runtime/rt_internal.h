/* The process runtime's internals, shared by the files of cnode/runtime/.
 * See docs/runtime.md for the design; the public API is otpc/process.h. */
#ifndef OTPC_CNODE_RUNTIME_RT_INTERNAL_H
#define OTPC_CNODE_RUNTIME_RT_INTERNAL_H

#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "otpc/process.h"
#include "rt_remote.h"
#include "timer_wheel.h"

/* ------------------------------------------------------------ signals */

/* What travels through a process's inbox. A message is the small header
 * alone (24 bytes, recycled through per-scheduler free lists); the other
 * signals carry a sender, a reference and a reason (otpc__csig_t). */
enum {
  OTPC__SIG_MSG = 1,
  OTPC__SIG_LINK,      /* from linked to us */
  OTPC__SIG_UNLINK,    /* from unlinked us */
  OTPC__SIG_EXIT,      /* exit/2 from `from`, reason in msg */
  OTPC__SIG_EXIT_LINK, /* `from` exited while linked to us */
  OTPC__SIG_MONITOR,   /* from monitors us under ref */
  OTPC__SIG_DEMONITOR, /* from dropped its monitor ref */
  OTPC__SIG_DOWN,      /* our monitor ref fired: from is gone */
  OTPC__SIG_TIMEOUT    /* a receive timeout; aux = the wait's sequence */
};

/* aux flags of OTPC__SIG_EXIT. */
#define OTPC__EXIT_FORCE 1u /* kills even a trapping process (rt_stop) */

typedef struct otpc__sig {
  struct otpc__sig *next;
  uint16_t type;
  uint16_t pooled; /* 1: a node of signal.c's pool, not of malloc */
  uint32_t aux;
  otpc_msg_t *msg; /* the message, or the reason of an exit or a DOWN */
} otpc__sig_t;

typedef struct otpc__csig {
  otpc__sig_t h;
  otpc_pid_t from;
  otpc_ref_t ref;
} otpc__csig_t;

/* ------------------------------------------------- links and monitors */

/* An open-addressing set of pids (a process's links). */
typedef struct otpc__pidset {
  otpc_pid_t *tab;
  uint32_t n;    /* live entries */
  uint32_t used; /* live + tombstones */
  uint32_t cap;  /* a power of two, or 0 */
} otpc__pidset_t;

enum { OTPC__MON_HOLDER = 1, OTPC__MON_TARGET = 2 };

typedef struct otpc__mon {
  otpc_ref_t ref;   /* ref.node == 0: empty; ref.len == 0 also: tombstone */
  otpc_pid_t pid;   /* holder: the target; target: the holder */
  otpc_atom_t name; /* holder by name: the name (DOWN says {Name, Node}) */
  uint32_t kind;
  uint32_t seq; /* order of creation in this table (DOWNs go out in it) */
} otpc__mon_t;

/* An open-addressing table of monitors keyed by reference: the monitors a
 * process holds and those held on it, told apart by kind. */
typedef struct otpc__montab {
  otpc__mon_t *tab;
  uint32_t n, used, cap;
  uint32_t next_seq;
} otpc__montab_t;

/* ------------------------------------------------------------ processes */

/* The inbox's "empty and not scheduled" value: a push that replaces it
 * must make the process runnable. NULL means "empty but scheduled". */
#define OTPC__INBOX_IDLE ((otpc__sig_t *)(uintptr_t)1)

/* Rarely used per-process state, allocated on first use. */
typedef struct otpc__wait {
  /* selective receive */
  bool active;
  otpc_match_fn match;
  otpc_cont_fn cont;
  void *ctx;
  otpc_drop_fn drop; /* frees ctx if the process exits while waiting */
  uint32_t seq;      /* bumped by each wait: stale timeouts are ignored */
  otpc__tw_entry_t timer;
  otpc_proc_t *owner; /* for the timer's fire */
  bool timer_on;
  /* otpc_yield */
  otpc_step_fn step;
  void *step_ctx;
  /* the match argument, copied */
  size_t arg_cap;
  void *arg;
} otpc__wait_t;

typedef struct otpc__thr otpc__thr_t;
typedef struct otpc__sched otpc__sched_t;

enum {
  OTPC__PF_TRAP = 1,    /* trap_exit */
  OTPC__PF_INIT = 2,    /* init has run */
  OTPC__PF_EXITING = 4, /* exit path started */
  OTPC__PF_OWN_EXIT = 8 /* exited through otpc_exit (crash report) */
};

struct otpc_proc {
  /* A Treiber stack of signals pushed by any thread, newest first; taken
   * whole by the owner, which restores the sending order. */
  _Atomic(otpc__sig_t *) inbox;
  /* Messages ever pushed onto the inbox (by any sender) and ever moved
   * from it by the owner: their difference is what the inbox holds, part
   * of message_queue_len. Relaxed: counters for introspection. */
  _Atomic uint64_t i_pushed;
  _Atomic uint64_t i_moved;
  /* The private message queue, touched only by the owner. */
  otpc__sig_t *mq_head;
  otpc__sig_t **mq_tail;
  otpc__sig_t **save;   /* selective receive: the first unscanned link */
  otpc__sig_t *pending; /* the rest of an inbox batch being handled */
  struct otpc_proc *rq_next;
  otpc__sched_t *sched; /* home scheduler; NULL for a thread process */
  otpc_rt_t *rt;
  const otpc_proc_class_t *cls;
  uint64_t data; /* the pid's id and serial: index | generation << bits */
  union {
    void *init_arg;       /* until init runs */
    otpc__sig_t *cur_sig; /* the message being handled (crash reports) */
  } u;
  otpc__wait_t *wait;
  otpc__thr_t *thr;        /* thread processes only */
  otpc_msg_t *exit_reason; /* set when exiting */
  otpc__pidset_t links;
  otpc__montab_t mons;
  otpc_atom_t name; /* under the registry lock */
  bool reg_closed;  /* under the registry lock: exiting, no register */
  uint32_t flags;   /* OTPC__PF_*, owner only */
  uint32_t mq_len;  /* owner only */
  /* Mirrors for introspection from other threads; relaxed: each is a
   * snapshot that orders nothing. */
  _Atomic uint32_t i_status;
  _Atomic uint32_t i_mq_len;
  _Atomic uint32_t i_links;
  _Atomic uint32_t i_monitors;
  _Atomic uint32_t i_monitored_by;
  _Atomic uint32_t i_trap;
  _Atomic uint64_t i_handled;
  _Atomic size_t i_mq_bytes;
  _Alignas(16) unsigned char state[];
};

/* ------------------------------------------------------------ schedulers */

struct otpc__sched {
  otpc_rt_t *rt;
  unsigned idx;
  uv_thread_t thread;
  uv_loop_t loop;
  uv_async_t async;
  uv_timer_t uvtimer;
  otpc__tw_t *wheel;
  uint64_t armed_ms; /* when uvtimer fires; UINT64_MAX: not armed */
  /* The local run queue: only this thread touches it. */
  otpc_proc_t *rq_head, *rq_tail;
  size_t rq_len;
  /* Processes made runnable by other threads: a Treiber stack through
   * rq_next, drained into the local queue. */
  _Atomic(otpc_proc_t *) remote;
  /* Set while the thread may block in uv_run; see otpc__sched_push. */
  atomic_int sleeping;
  atomic_int stop;
  /* Thread-private: the thread is inside uv_run, so a process it makes
   * runnable (a timer, an async request) must end the run before libuv
   * blocks in its poll; see otpc__sched_push. */
  bool in_uv;
  /* otpc_sendf's build buffer (thread-private). */
  otpc_buf_t sendf_buf;
  /* Message nodes of the pool (thread-private, see signal.c): the free
   * list in use, a spare full batch, and the chunk being carved. */
  otpc__sig_t *free_sigs;
  unsigned nfree;
  otpc__sig_t *spare_sigs;
  char *carve, *carve_end;
  /* Where otpc_exit unwinds to while a process runs. */
  otpc_proc_t *current;
  sigjmp_buf *jbp;
  /* Cross-thread timer requests (send_after from other threads). */
  pthread_mutex_t treq_lock;
  struct otpc__timer *treq;
  _Alignas(64) char pad[1];
};

/* The thread running a scheduler loop, or NULL. */
extern _Thread_local otpc__sched_t *otpc__tls_sched;

/* ------------------------------------------------------------ runtime */

typedef struct otpc__stripe {
  _Alignas(64) atomic_int lock;
} otpc__stripe_t;

#define OTPC__NSTRIPES 1024u

/* A slot of the process table. Written under its stripe lock (and `data`
 * of a free slot under free_lock); atomic so that a scheduler may read it
 * without the lock for the processes it runs itself (see
 * otpc__deliver_local). */
typedef struct otpc__slot {
  _Atomic(otpc_proc_t *) proc; /* NULL: free */
  /* Live: OTPC__SLOT_LIVE | home scheduler index + 1 (0 for a thread
   * process) << OTPC__SLOT_SCHED_SHIFT | pid data. Free: the next
   * generation << 32 | the next free index (bit 63 clear). */
  _Atomic uint64_t data;
} otpc__slot_t;

#define OTPC__SLOT_LIVE ((uint64_t)1 << 63)
#define OTPC__SLOT_SCHED_SHIFT 47 /* pid data has 47 bits */

typedef struct otpc__reg_ent {
  otpc_atom_t name; /* 0: empty; with pid.node == 1: tombstone */
  otpc_pid_t pid;
  otpc_proc_t *proc;
} otpc__reg_ent_t;

struct otpc_rt {
  otpc_rt_opts_t opts;
  otpc_atom_t node;
  uint32_t creation;
  unsigned nsched;
  otpc__sched_t *scheds;
  atomic_uint next_sched; /* round robin for otpc_rt_spawn */

  /* Process table. */
  otpc__slot_t *slots;
  uint32_t cap;  /* slots, a power of two */
  uint32_t bits; /* log2(cap) */
  uint64_t data_limit;
  otpc__stripe_t stripes[OTPC__NSTRIPES];
  atomic_int free_lock;
  uint32_t free_head; /* free slot indexes chained through slot.data */
  uint32_t hwm;       /* slots ever used */
  atomic_size_t live;
  size_t max_live;
  atomic_size_t attached; /* live attached thread processes */

  /* Shutdown. */
  atomic_int stopping;
  pthread_mutex_t stop_lock;
  pthread_cond_t stop_cond;

  /* Registry. */
  pthread_mutex_t reg_lock;
  otpc__reg_ent_t *reg;
  uint32_t reg_n, reg_used, reg_cap;

  /* References. */
  atomic_uint_fast64_t ref_counter;

  /* Timers: tref -> timer, for otpc_cancel_timer. */
  pthread_mutex_t timer_lock;
  struct otpc__timer **tmap;
  uint32_t tmap_n, tmap_used, tmap_cap;

  /* Threads started by otpc_spawn_thread, joined by otpc_rt_stop. */
  pthread_mutex_t thr_lock;
  uv_thread_t *thr_ids;
  size_t thr_n, thr_cap;

  /* Distribution hook; acquire/release: set once before remote traffic. */
  _Atomic(const otpc__remote_ops_t *) remote_ops;
  void *remote_ud;

  /* Ready-made reasons. */
  otpc_msg_t *r_normal, *r_kill, *r_killed, *r_noproc, *r_noconnection,
      *r_shutdown;
  otpc_atom_t a_normal, a_kill, a_shutdown;
};

/* ------------------------------------------------ spinlocks (stripes) */

static inline void otpc__spin_lock(atomic_int *l) {
  for (;;) {
    /* Acquire: what the previous holder wrote under the lock is visible. */
    if (!atomic_exchange_explicit(l, 1, memory_order_acquire))
      return;
    /* Relaxed: only a hint of when to retry the exchange. */
    while (atomic_load_explicit(l, memory_order_relaxed))
      ;
  }
}

static inline void otpc__spin_unlock(atomic_int *l) {
  /* Release: our writes under the lock happen before the next holder's. */
  atomic_store_explicit(l, 0, memory_order_release);
}

/* ------------------------------------------------------------ ptab.c */

int otpc__ptab_init(otpc_rt_t *rt, size_t max);
void otpc__ptab_free(otpc_rt_t *rt);
/* Reserves a slot and gives the new pid data; OTPC_ELIMIT if full. */
int otpc__ptab_reserve(otpc_rt_t *rt, uint64_t *data);
/* Publishes p in its reserved slot. */
void otpc__ptab_install(otpc_rt_t *rt, otpc_proc_t *p);
/* Lets p's home scheduler reach it without the stripe lock: once p can no
 * longer be removed by another thread (its spawn has succeeded). */
void otpc__ptab_publish(otpc_rt_t *rt, otpc_proc_t *p);
/* Removes p: afterwards no signal can reach its inbox. */
void otpc__ptab_remove(otpc_rt_t *rt, otpc_proc_t *p);
/* Returns the slot to the free list (after p is gone). */
void otpc__ptab_release(otpc_rt_t *rt, uint64_t data);
/* The pid data of a local pid, or false if the pid is not this node's. */
bool otpc__pid_local(const otpc_rt_t *rt, otpc_pid_t pid, uint64_t *data);
otpc_pid_t otpc__pid_make(const otpc_rt_t *rt, uint64_t data);
static inline otpc_pid_t otpc__pid_of(const otpc_proc_t *p) {
  return otpc__pid_make(p->rt, p->data);
}
static inline atomic_int *otpc__stripe(otpc_rt_t *rt, uint64_t data) {
  return &rt->stripes[(data & (rt->cap - 1)) % OTPC__NSTRIPES].lock;
}
/* Under the pid's stripe lock: the live process with that data, or NULL. */
static inline otpc_proc_t *otpc__ptab_get_locked(otpc_rt_t *rt, uint64_t data) {
  otpc__slot_t *s = &rt->slots[data & (rt->cap - 1)];
  /* Relaxed: the stripe lock orders the slot's writes. */
  otpc_proc_t *p = atomic_load_explicit(&s->proc, memory_order_relaxed);
  return (p != NULL && p->data == data) ? p : NULL;
}
/* The live slot value of a process with pid data homed on scheduler idx. */
static inline uint64_t otpc__slot_live(uint64_t data, unsigned sched_plus1) {
  return OTPC__SLOT_LIVE | (uint64_t)sched_plus1 << OTPC__SLOT_SCHED_SHIFT |
         data;
}
/* Calls fn on every live process, each under its stripe lock. */
void otpc__ptab_each(otpc_rt_t *rt, void (*fn)(otpc_proc_t *p, void *ud),
                     void *ud);

/* ------------------------------------------------------------ signal.c */

otpc__sig_t *otpc__sig_msg(otpc_msg_t *msg_taken);
otpc__csig_t *otpc__csig(uint32_t type, otpc_pid_t from, otpc_msg_t *taken);
void otpc__sig_free(otpc__sig_t *s);
/* Pushes onto p's inbox; true if p was idle and must be made runnable. */
bool otpc__inbox_push(otpc_proc_t *p, otpc__sig_t *s);
/* Takes every signal, oldest first (NULL if none); leaves "empty". */
otpc__sig_t *otpc__inbox_take(otpc_proc_t *p);
/* Makes p runnable (scheduler run queue, or the thread's wake-up). */
void otpc__wake(otpc_proc_t *p);
/* Delivers s to the local process with pid data; OTPC_ENOTFOUND (s not
 * consumed) if there is none. */
int otpc__deliver_local(otpc_rt_t *rt, uint64_t data, otpc__sig_t *s);
/* Delivers to any pid; for a remote pid goes through the hook. Consumes s
 * in every case; OTPC_ENOTFOUND if the local target is dead,
 * OTPC_ENOTSUP if a remote target is unreachable. */
int otpc__deliver(otpc_rt_t *rt, otpc_pid_t to, otpc__sig_t *s);
/* A signal to oneself (always succeeds while the process lives). */
void otpc__self_signal(otpc_proc_t *p, otpc__sig_t *s);
/* Handles one signal taken from the inbox (may not return: exit). */
void otpc__handle_signal(otpc_proc_t *p, otpc__sig_t *s);
/* Takes and handles the whole inbox; true if anything was taken. */
bool otpc__process_inbox(otpc_proc_t *p);
/* Appends a message to the private queue. */
void otpc__mq_append(otpc_proc_t *p, otpc__sig_t *s);
/* Builds and queues a message for p itself (EXIT, DOWN). */
void otpc__mq_append_msg(otpc_proc_t *p, otpc_msg_t *m);
void otpc__sig_cache_free(otpc__sched_t *s);

/* ------------------------------------------------------------ sched.c */

int otpc__sched_start(otpc_rt_t *rt);
void otpc__sched_stop(otpc_rt_t *rt);
/* Puts a runnable process on its scheduler's run queue. */
void otpc__sched_push(otpc_proc_t *p);
/* The next runnable process of s, taken off its run queue, or NULL
 * (scheduler thread only). */
otpc_proc_t *otpc__sched_next(otpc__sched_t *s);

/* ------------------------------------------------------------ proc.c */

otpc_proc_t *otpc__proc_alloc(otpc_rt_t *rt, const otpc_proc_class_t *cls,
                              size_t state_size);
/* Unwinds the current context with the reason (taken). */
_Noreturn void otpc__proc_die(otpc_proc_t *p, otpc_msg_t *reason);
/* The exit path after unwinding: terminate, crash report, propagation,
 * free. For thread processes, `free_it` false keeps the struct. */
void otpc__proc_exit(otpc_proc_t *p, bool free_it);
/* Propagation and removal without terminate (used by the above). */
void otpc__proc_finish(otpc_proc_t *p);
void otpc__proc_free(otpc_proc_t *p);
/* Runs up to `max` turns of the runnable processes of s (the scheduler's
 * thread), under one unwinding frame for otpc_exit; returns how many ran
 * (0: none was runnable). */
unsigned otpc__proc_run_batch(otpc__sched_t *s, unsigned max);
bool otpc__is_atom(otpc_term_t t, otpc_atom_t a);
void otpc__log(otpc_rt_t *rt, int level, const char *text);

/* ------------------------------------------------------------ links.c */

bool otpc__pidset_add(otpc__pidset_t *s, otpc_pid_t pid);
bool otpc__pidset_del(otpc__pidset_t *s, otpc_pid_t pid);
bool otpc__pidset_has(const otpc__pidset_t *s, otpc_pid_t pid);
void otpc__pidset_free(otpc__pidset_t *s);
bool otpc__pid_eq(otpc_pid_t a, otpc_pid_t b);
void otpc__links_on_signal(otpc_proc_t *p, otpc__csig_t *s);
/* Sends exit signals to every link. */
void otpc__links_exit(otpc_proc_t *p, otpc_msg_t *reason);

/* ------------------------------------------------------------ monitor.c */

otpc__mon_t *otpc__mon_find(otpc__montab_t *t, const otpc_ref_t *ref);
bool otpc__mon_add(otpc__montab_t *t, const otpc__mon_t *m);
void otpc__mon_del(otpc__montab_t *t, otpc__mon_t *m);
void otpc__montab_free(otpc__montab_t *t);
bool otpc__ref_eq(const otpc_ref_t *a, const otpc_ref_t *b);
void otpc__mon_on_signal(otpc_proc_t *p, otpc__csig_t *s);
/* Sends DOWN to watchers and demonitors held monitors. */
void otpc__mon_exit(otpc_proc_t *p, otpc_msg_t *reason);

/* ------------------------------------------------------------ registry.c */

void otpc__reg_free(otpc_rt_t *rt);
/* Drops the runtime's aliases (alias.c); at stop. */
void otpc__alias_free(otpc_rt_t *rt);
/* Drops p's name for good (exit path). */
void otpc__reg_close(otpc_rt_t *rt, otpc_proc_t *p);
/* Registers a process being spawned (not yet running). */
int otpc__reg_add_new(otpc_rt_t *rt, otpc_atom_t name, otpc_proc_t *p);

/* ------------------------------------------------------------ receive.c */

otpc__wait_t *otpc__wait_get(otpc_proc_t *p);
void otpc__wait_free(otpc_proc_t *p);
/* The next message to deliver under the current wait, unlinked from the
 * queue, or NULL. */
otpc__sig_t *otpc__mq_next(otpc_proc_t *p);
/* Scans p's queue: the matching message unlinked, or NULL. */
otpc__sig_t *otpc__mq_take_match(otpc_proc_t *p, otpc__sig_t **from,
                                 otpc_match_fn match, const void *arg);
void otpc__mq_drop(otpc_proc_t *p, otpc__sig_t *s);

/* ------------------------------------------------------------ timer.c */

int otpc__timers_init(otpc__sched_t *s);
void otpc__timers_close(otpc__sched_t *s);
void otpc__timers_free(otpc_rt_t *rt);
/* Arms p's receive timeout on its scheduler (owner thread). */
void otpc__wait_timer_start(otpc_proc_t *p, uint64_t ms);
void otpc__wait_timer_stop(otpc_proc_t *p);
/* Runs the cross-thread timer requests of s (scheduler thread). */
void otpc__timers_poll(otpc__sched_t *s);

/* ------------------------------------------------------------ thread_proc.c */

/* Wakes a thread process blocked in otpc_thread_receive. */
void otpc__thr_wake(otpc_proc_t *p);
void otpc__thr_join_all(otpc_rt_t *rt);
sigjmp_buf *otpc__thr_jbp(otpc_proc_t *p);
/* At rt_stop: finishes attached thread processes never detached. */
void otpc__thr_reap_attached(otpc_rt_t *rt);

#endif
