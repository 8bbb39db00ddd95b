/* Lightweight C processes with Erlang's semantics.
 *
 * A runtime runs N scheduler threads. A process is stackless: a class (a
 * table of callbacks), a state allocated with it, a pid and a mailbox. Its
 * callbacks run to completion on a scheduler thread, one process at a time,
 * so a process's state needs no locks. Processes share nothing but
 * immutable messages (otpc_msg_t), which a send shares, never copies.
 *
 * Signals behave as on the BEAM: messages and signals from one process to
 * another arrive in the order sent; links, monitors, exit signals, trap_exit,
 * `normal`, `kill` -> `killed`, `noproc` follow OTP. A process exits when a
 * callback calls otpc_exit (or a check fails): the callback unwinds to the
 * scheduler, the class's terminate runs, and the reason goes to linked and
 * monitoring processes.
 *
 * Functions taking `otpc_proc_t *self` may only be called from that
 * process's own callbacks. Functions taking `otpc_rt_t *` are thread-safe
 * and may be called from any thread. */
#ifndef OTPC_PROCESS_H
#define OTPC_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otpc/atom.h"
#include "otpc/error.h"
#include "otpc/msg.h"
#include "otpc/term.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct otpc_rt otpc_rt_t;
typedef struct otpc_proc otpc_proc_t;

/* ------------------------------------------------------------- runtime */

typedef struct otpc_rt_opts {
  unsigned schedulers;  /* scheduler threads; 0: online CPUs */
  const char *node;     /* node name in pids; NULL: "nonode@nohost" */
  uint32_t creation;    /* node creation in pids and refs */
  unsigned budget;      /* messages a process handles per turn; 0: 100 */
  size_t max_processes; /* 0: 1048576, as the BEAM's default */
  /* Where crash reports and runtime warnings go; NULL: stderr. `level` is
   * one of the OTPC_LOG_* values. */
  void (*log)(void *ud, int level, const char *text);
  void *log_ud;
} otpc_rt_opts_t;

enum { OTPC_LOG_ERROR = 3, OTPC_LOG_WARNING = 4, OTPC_LOG_INFO = 6 };

/* Starts a runtime (opts may be NULL for the defaults). */
int otpc_rt_start(const otpc_rt_opts_t *opts, otpc_rt_t **out);
/* Stops every process (exit reason `shutdown`, terminate callbacks run),
 * joins the schedulers and frees the runtime. Not from a scheduler thread. */
int otpc_rt_stop(otpc_rt_t *rt);
/* The node atom of the runtime's pids. */
otpc_atom_t otpc_rt_node(const otpc_rt_t *rt);

/* ----------------------------------------------------------- processes */

typedef struct otpc_proc_class {
  const char *name;  /* shown in crash reports and introspection */
  size_t state_size; /* bytes of state allocated with the process, zeroed */
  /* Runs first, in the new process. May exit with otpc_exit. */
  void (*init)(otpc_proc_t *self, void *state, void *arg);
  /* One message, in mailbox order. `msg` is borrowed for the call: take
   * otpc_msg_ref to keep it. May be NULL for a process that only waits with
   * otpc_receive. */
  void (*handle)(otpc_proc_t *self, void *state, otpc_msg_t *msg);
  /* Runs once when the process exits, whatever the reason (also `kill`),
   * to release what the state holds. May be NULL. */
  void (*terminate)(otpc_proc_t *self, void *state, otpc_term_t reason);
} otpc_proc_class_t;

typedef struct otpc_spawn_opts {
  bool link;               /* link to the spawning process (spawn_link) */
  bool monitor;            /* monitor it from the spawning process */
  otpc_ref_t *monitor_ref; /* out: the monitor's reference */
  bool trap_exit;          /* start with trap_exit set */
  const char *name;        /* register under this name (fails if taken) */
} otpc_spawn_opts_t;

/* Spawns a process of `cls` with `arg` for its init. From a process pass
 * `self` (needed for link and monitor); from other threads use
 * otpc_rt_spawn. The new pid is written to *pid before init runs. */
int otpc_spawn(otpc_proc_t *self, const otpc_proc_class_t *cls, void *arg,
               const otpc_spawn_opts_t *opts, otpc_pid_t *pid);
int otpc_rt_spawn(otpc_rt_t *rt, const otpc_proc_class_t *cls, void *arg,
                  const otpc_spawn_opts_t *opts, otpc_pid_t *pid);

otpc_pid_t otpc_self(const otpc_proc_t *self);
otpc_rt_t *otpc_proc_rt(const otpc_proc_t *self);
void *otpc_proc_state(otpc_proc_t *self);

/* Exits the calling process with `reason` (copied). Never returns: the
 * callback unwinds to the scheduler. */
_Noreturn void otpc_exit(otpc_proc_t *self, otpc_term_t reason);
/* The same with a reason built from a format (see otpc_term_build); a bad
 * format exits with {bad_exit_format, Format}. */
_Noreturn void otpc_exitf(otpc_proc_t *self, const char *fmt, ...);
/* Exits with {check_failed, Expr, File, Line} unless cond holds. */
#define OTPC_CHECK(self, cond)                                                 \
  do {                                                                         \
    if (!(cond))                                                               \
      otpc__check_failed((self), #cond, __FILE__, __LINE__);                   \
  } while (0)
_Noreturn void otpc__check_failed(otpc_proc_t *self, const char *expr,
                                  const char *file, int line);

/* ------------------------------------------------------------ messages */

/* Sends `msg` to a pid; the caller keeps its own reference. A send to a
 * dead pid is silently dropped, as in Erlang. */
int otpc_send(otpc_proc_t *self, otpc_pid_t to, otpc_msg_t *msg);
/* Builds the message from a format and sends it. */
int otpc_sendf(otpc_proc_t *self, otpc_pid_t to, const char *fmt, ...);
/* Sends to a registered name: OTPC_ENOTFOUND if none (Erlang's badarg). */
int otpc_send_name(otpc_proc_t *self, otpc_atom_t name, otpc_msg_t *msg);
/* {Name, Node} ! Msg: to a registered name on another node (REG_SEND),
 * connecting first if needed; dropped if the node cannot be reached or has
 * no such name, as in Erlang. For the local node, otpc_send_name. */
int otpc_send_remote_name(otpc_proc_t *self, otpc_atom_t name,
                          otpc_atom_t node, otpc_msg_t *msg);
/* From any thread, without a sending process. */
int otpc_rt_send(otpc_rt_t *rt, otpc_pid_t to, otpc_msg_t *msg);
int otpc_rt_send_name(otpc_rt_t *rt, otpc_atom_t name, otpc_msg_t *msg);

/* Selective receive. After the current callback returns, the process
 * delivers only messages for which `match(term, match_arg)` returns true,
 * to `cont` instead of the class's handle; the others stay queued in order.
 * `match_arg` is copied (arg_size bytes). If nothing matches within
 * timeout_ms (-1: forever), cont gets msg == NULL. One wait at a time; cont
 * may wait again. */
typedef bool (*otpc_match_fn)(otpc_term_t msg, const void *match_arg);
typedef void (*otpc_cont_fn)(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                             void *ctx);
int otpc_receive(otpc_proc_t *self, otpc_match_fn match, const void *match_arg,
                 size_t arg_size, int64_t timeout_ms, otpc_cont_fn cont,
                 void *ctx);
/* As otpc_receive, for a ctx that belongs to the wait (a caller's state
 * allocated for it): if the process exits before cont runs (killed while
 * waiting, say), the exit path calls drop(ctx) once, after terminate, and
 * cont never runs. Once cont runs (a message or the timeout), ctx is
 * cont's. drop may be NULL (then this is otpc_receive). */
typedef void (*otpc_drop_fn)(void *ctx);
int otpc_receive_owned(otpc_proc_t *self, otpc_match_fn match,
                       const void *match_arg, size_t arg_size,
                       int64_t timeout_ms, otpc_cont_fn cont, void *ctx,
                       otpc_drop_fn drop);
/* Ready-made matchers: a tuple with the reference (an otpc_ref_t) as element
 * 1 or 2 (a reply {Ref, R} or {'DOWN', Ref, ...}); an {'EXIT', Pid, _} from
 * the pid (an otpc_pid_t). */
bool otpc_match_ref(otpc_term_t msg, const void *ref);
bool otpc_match_exit_from(otpc_term_t msg, const void *pid);

/* Runs fn(self, state, ctx) in this process after the other runnable
 * processes had a turn and before the next message: how a long computation
 * yields. */
typedef void (*otpc_step_fn)(otpc_proc_t *self, void *state, void *ctx);
int otpc_yield(otpc_proc_t *self, otpc_step_fn fn, void *ctx);

/* A fresh reference of this node. */
int otpc_make_ref(otpc_rt_t *rt, otpc_ref_t *out);

/* ------------------------------------------------- links and monitors */

/* link/1. As on OTP 25: a link to a dead local pid gives a trapping
 * caller {'EXIT', Pid, noproc} and returns 0; for a caller not trapping
 * exits it returns OTPC_ENOTFOUND (Erlang raises noproc there). A link to a
 * pid of an unreachable node succeeds, then breaks with noconnection. */
int otpc_link(otpc_proc_t *self, otpc_pid_t pid);
/* unlink/1: after it returns, no exit signal of that link reaches the
 * caller (an {'EXIT', ...} already queued as a message stays). */
int otpc_unlink(otpc_proc_t *self, otpc_pid_t pid);
/* Sets trap_exit; returns the previous value. */
bool otpc_trap_exit(otpc_proc_t *self, bool on);
/* exit(Pid, Reason): an exit signal with any reason, `kill` included. To
 * the caller itself it acts at once, as on the BEAM: kill, or any reason
 * when not trapping (normal included), ends the caller without returning. */
int otpc_exit_signal(otpc_proc_t *self, otpc_pid_t to, otpc_term_t reason);
int otpc_rt_exit_signal(otpc_rt_t *rt, otpc_pid_t to, otpc_term_t reason);
int otpc_monitor(otpc_proc_t *self, otpc_pid_t pid, otpc_ref_t *ref);
int otpc_monitor_name(otpc_proc_t *self, otpc_atom_t name, otpc_ref_t *ref);
/* monitor(process, {Name, Node}): the DOWN says {'DOWN', Ref, process,
 * {Name, Node}, Reason}, noproc when Node has no such name, noconnection
 * when Node cannot be reached or goes down. */
int otpc_monitor_remote_name(otpc_proc_t *self, otpc_atom_t name,
                             otpc_atom_t node, otpc_ref_t *ref);
enum { OTPC_DEMONITOR_FLUSH = 1, OTPC_DEMONITOR_INFO = 2 };
/* demonitor/2. With OTPC_DEMONITOR_INFO returns 1 if the monitor was active
 * and removed, 0 if not found or already triggered, as erlang:demonitor's
 * info option. */
int otpc_demonitor(otpc_proc_t *self, const otpc_ref_t *ref, int flags);

/* ------------------------------------------------------------ registry */

/* register/2: OTPC_EINVAL if the name is taken, the pid is dead or already
 * has a name. */
int otpc_register(otpc_rt_t *rt, otpc_atom_t name, otpc_pid_t pid);
int otpc_unregister(otpc_rt_t *rt, otpc_atom_t name);
/* OTPC_ENOTFOUND if no process has the name. */
int otpc_whereis(otpc_rt_t *rt, otpc_atom_t name, otpc_pid_t *pid);
/* The registered names; *names is malloc'ed, the caller frees it. */
int otpc_registered(otpc_rt_t *rt, otpc_atom_t **names, size_t *n);

/* ------------------------------------------------------------- aliases */

/* erlang:alias(): a reference through which anyone (on any node) can send
 * to the caller until it calls otpc_unalias; messages sent to it after
 * that are dropped. An alias also ends when its process exits. */
int otpc_alias(otpc_proc_t *self, otpc_ref_t *alias);
/* erlang:unalias/1: 1 if the alias was active and belonged to the caller
 * (now deactivated), else 0. */
int otpc_unalias(otpc_proc_t *self, const otpc_ref_t *alias);
/* Alias ! Msg: to a local alias, or one of another node (ALIAS_SEND). A
 * send to an inactive alias is dropped, as in Erlang. */
int otpc_send_alias(otpc_proc_t *self, const otpc_ref_t *alias,
                    otpc_msg_t *msg);

/* -------------------------------------------------------------- timers */

/* erlang:send_after/3: sends msg to `to` after ms milliseconds; *tref
 * names the timer. */
int otpc_send_after(otpc_rt_t *rt, uint64_t ms, otpc_pid_t to, otpc_msg_t *msg,
                    otpc_ref_t *tref);
/* erlang:cancel_timer/1: 0 and the milliseconds that were left, or
 * OTPC_ENOTFOUND if it already fired or was cancelled. */
int otpc_cancel_timer(otpc_rt_t *rt, const otpc_ref_t *tref, uint64_t *left_ms);

/* ------------------------------------------------ outside the schedulers */

/* A thread process: a pid for a thread that is not a scheduler (the main
 * thread, a foreign thread, legacy blocking code), with a blocking receive.
 * It is an ordinary process to the others: it can be sent to, linked to and
 * monitored, and it can link, monitor and trap exits through `self`. */
int otpc_thread_attach(otpc_rt_t *rt, otpc_proc_t **self);
/* Ends it with `reason` (normal, usually) and frees it. Detach attached
 * thread processes before otpc_rt_stop (stop cannot wait for them). */
void otpc_thread_detach(otpc_proc_t *self, otpc_term_t reason);
/* Blocks until a message matching `match` (NULL: any) arrives or timeout_ms
 * (-1: forever) passes: 0 with *msg (the caller unrefs it) or
 * OTPC_ENOTFOUND on timeout. Exit signals that would kill the thread
 * process make it return OTPC_EINVAL with *msg = the reason as a message. */
int otpc_thread_receive(otpc_proc_t *self, otpc_match_fn match,
                        const void *match_arg, int64_t timeout_ms,
                        otpc_msg_t **msg);
/* Starts an OS thread running fn as a thread process. */
typedef void (*otpc_thread_fn)(otpc_proc_t *self, void *arg);
int otpc_spawn_thread(otpc_rt_t *rt, otpc_thread_fn fn, void *arg,
                      otpc_pid_t *pid);

/* ------------------------------------------------------- introspection */

typedef enum otpc_proc_status {
  OTPC_PROC_RUNNABLE = 1, /* in a run queue */
  OTPC_PROC_RUNNING,      /* a callback is running */
  OTPC_PROC_WAITING,      /* nothing to do until a message arrives */
  OTPC_PROC_EXITING
} otpc_proc_status_t;

typedef struct otpc_proc_info {
  otpc_pid_t pid;
  const char *class_name;
  otpc_atom_t registered_name; /* OTPC_ATOM_NONE if none */
  otpc_proc_status_t status;
  size_t message_queue_len;
  size_t memory; /* bytes: process, state, queued messages */
  uint64_t messages_handled;
  size_t links;
  size_t monitors; /* monitors this process holds on others */
  size_t monitored_by;
  bool trap_exit;
} otpc_proc_info_t;

/* OTPC_ENOTFOUND for a dead pid. */
int otpc_proc_info(otpc_rt_t *rt, otpc_pid_t pid, otpc_proc_info_t *info);
/* All live pids; *pids is malloc'ed, the caller frees it. */
int otpc_processes(otpc_rt_t *rt, otpc_pid_t **pids, size_t *n);

#ifdef __cplusplus
}
#endif

#endif
