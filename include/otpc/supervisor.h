/* supervisor in C: OTP's supervisor over the process runtime (see
 * docs/behaviours.md, section supervisor, for the design decisions).
 *
 * A supervisor is a process described by an otpc_sup_spec_t (flags plus
 * child specs, OTP's {ok, {SupFlags, ChildSpecs}}). It traps exits, starts
 * its children in order, restarts them as its strategy says, and stops
 * them in reverse order. Its semantics are those of OTP 25's supervisor.erl:
 * the same restart decisions, intensity counting, shutdown protocol
 * (exit(Child, shutdown), kill after the timeout; brutal_kill; infinity),
 * return values and errors, and the same reports (as log lines).
 *
 * It speaks gen_server's wire protocol, so Erlang's supervisor module works
 * on it remotely: supervisor:which_children({Sup, Node}), count_children,
 * terminate_child, restart_child, delete_child, and start_child(Sup,
 * ExtraArgs) for simple_one_for_one. From C, send the same requests with
 * otpc_gen_server_call / otpc_gen_server_call_blocking (gen_server.h):
 *
 *   request                    reply (as OTP's)
 *   which_children             [{Id, Pid | restarting | undefined, Type, Mods}]
 *   count_children [{specs,N},{active,N},{supervisors,N},{workers,N}]
 *   {terminate_child, Id|Pid}  ok | {error, not_found | simple_one_for_one}
 *   {restart_child, Id}        {ok, Pid} | {ok, undefined} | {error, running |
 *                              restarting | not_found | simple_one_for_one |
 *                              Reason}
 *   {delete_child, Id}         ok | {error, running | restarting | not_found |
 *                              simple_one_for_one}
 *   {start_child, ExtraArgs}   simple_one_for_one: {ok, Pid} | {ok, undefined}
 *                              | {error, Reason}
 * Child ids are atoms; a simple_one_for_one child's id is `undefined`. Stop a
 * supervisor with otpc_gen_server_stop (sys:terminate, as
 * gen_server:stop(Sup) does) or by an exit signal from its parent. */
#ifndef OTPC_SUPERVISOR_H
#define OTPC_SUPERVISOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otpc/gen_server.h"
#include "otpc/process.h"
#include "otpc/term.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum otpc_sup_strategy {
  OTPC_ONE_FOR_ONE = 0,
  OTPC_ONE_FOR_ALL,
  OTPC_REST_FOR_ONE,
  OTPC_SIMPLE_ONE_FOR_ONE
} otpc_sup_strategy_t;

typedef enum otpc_restart {
  OTPC_PERMANENT = 0, /* always restarted */
  OTPC_TRANSIENT,     /* restarted unless normal, shutdown, {shutdown, _} */
  OTPC_TEMPORARY      /* never restarted; its spec goes when it ends */
} otpc_restart_t;

typedef enum otpc_child_type {
  OTPC_WORKER = 0,
  OTPC_SUPERVISOR
} otpc_child_type_t;

typedef enum otpc_shutdown {
  OTPC_SHUTDOWN_DEFAULT = 0, /* OTP's default: 5000 ms for a worker,
                                infinity for a supervisor */
  OTPC_SHUTDOWN_TIMEOUT,     /* exit(Child, shutdown), kill after shutdown_ms
                                (0 allowed) */
  OTPC_SHUTDOWN_BRUTAL_KILL, /* exit(Child, kill) */
  OTPC_SHUTDOWN_INFINITY     /* exit(Child, shutdown), wait for ever */
} otpc_shutdown_t;

typedef enum otpc_auto_shutdown {
  OTPC_AUTO_SHUTDOWN_NEVER = 0,
  OTPC_AUTO_SHUTDOWN_ANY_SIGNIFICANT,
  OTPC_AUTO_SHUTDOWN_ALL_SIGNIFICANT
} otpc_auto_shutdown_t;

/* ------------------------------------------------- generic child start */

/* One child start in progress. A generic start function (below) receives
 * it and must settle it exactly once with otpc_sup_start_ok, _ignore or
 * _error: before it returns, or later from a continuation that runs in the
 * supervisor's process (for instance the continuation of an
 * otpc_gen_server_call to a factory on another node). Until then the
 * supervisor waits, as OTP's waits in M:F(A): its other messages stay
 * queued. Once settled, `st` is freed: do not use it again. */
typedef struct otpc_sup_start otpc_sup_start_t;

/* OTP's M:F(A) in C. Runs in the supervisor's process (self). `arg` is the
 * spec's; `extra` the extra arguments of a simple_one_for_one start_child
 * (a list term; [] otherwise). A negative return without settling is
 * {error, Code} (the otpc_strerror name as an atom, e.g. enomem). */
typedef int (*otpc_child_start_fn)(otpc_proc_t *self, otpc_sup_start_t *st,
                                   void *arg, otpc_term_t extra);

/* {ok, Pid}. The supervisor links to Pid (a no-op when the start function
 * linked already, as start_link does; it makes a pid from another node's
 * factory a linked child). A pid that is already dead when linked gives an
 * {'EXIT', Pid, noproc}, handled as the child's exit. */
int otpc_sup_start_ok(otpc_sup_start_t *st, otpc_pid_t pid);
/* ignore: a static child is kept with pid `undefined` (a temporary one is
 * dropped); start_child answers {ok, undefined}. */
int otpc_sup_start_ignore(otpc_sup_start_t *st);
/* {error, Reason} (copied). */
int otpc_sup_start_error(otpc_sup_start_t *st, otpc_term_t reason);

/* ----------------------------------------------------------- specs */

typedef struct otpc_sup_spec otpc_sup_spec_t;

/* A child spec: OTP's #{id, start, restart, significant, shutdown, type,
 * modules}. `start` is exactly one of gen_server, proc, supervisor and
 * start; all are started linked to the supervisor. */
typedef struct otpc_child_spec {
  const char *id; /* an atom, unique in the supervisor */
  /* A C gen_server (otpc_gen_server_start with link, `name` if not NULL):
   * {ok, Pid}, ignore, {error, Reason} as the start returns. */
  const otpc_gen_server_t *gen_server;
  /* A plain process class (otpc_spawn with link): always {ok, Pid}. */
  const otpc_proc_class_t *proc;
  /* A nested supervisor (otpc_sup_start with link). Type: supervisor. */
  const otpc_sup_spec_t *supervisor;
  /* Anything else, e.g. a process on another node. */
  otpc_child_start_fn start;
  /* For init / the start function. For simple_one_for_one children of
   * gen_server, proc and supervisor kind, init gets a pointer to an
   * otpc_sup_dyn_arg_t instead (this arg and the start_child's extra
   * arguments), valid during init only. */
  void *arg;
  const char *name; /* register the child under this name; NULL: none */
  otpc_restart_t restart;
  bool significant; /* needs auto_shutdown and a non-permanent restart */
  otpc_shutdown_t shutdown;
  int64_t shutdown_ms;    /* with OTPC_SHUTDOWN_TIMEOUT */
  otpc_child_type_t type; /* OTPC_SUPERVISOR implied by `supervisor` */
  /* which_children's Modules as [module]; NULL: the class name of a
   * gen_server/proc child, `supervisor` for a supervisor, or `dynamic`
   * (the atom) for a generic start. */
  const char *module;
} otpc_child_spec_t;

typedef struct otpc_sup_dyn_arg {
  void *arg;         /* the child spec's arg */
  otpc_term_t extra; /* start_child's ExtraArgs (a list) */
} otpc_sup_dyn_arg_t;

/* Results of an optional init: OTP's {ok, ...} or ignore. */
enum { OTPC_SUP_INIT_OK = 0, OTPC_SUP_INIT_IGNORE = 1 };

struct otpc_sup_spec {
  otpc_sup_strategy_t strategy;
  int intensity; /* restarts allowed ... (>= 0) */
  int period_s;  /* ... within this many seconds (> 0) */
  otpc_auto_shutdown_t auto_shutdown;
  const otpc_child_spec_t *children; /* in start order; exactly one for
                                        simple_one_for_one (the template) */
  size_t n_children;
  /* Optional Module:init(Args). Runs first in the supervisor's process
   * with the start's arg and a copy of this spec that it may change (the
   * children array it points to must outlive the supervisor). Returns
   * OTPC_SUP_INIT_OK, OTPC_SUP_INIT_IGNORE (the start returns ignore), or
   * a negative code: the start fails with {error, {bad_return, Code}}. */
  int (*init)(otpc_proc_t *self, void *arg, otpc_sup_spec_t *spec);
  /* The supervisor's process class name and registered name ({local,
   * Name}); both may be NULL. The name may also be given at start. */
  const char *name;
};

/* ---------------------------------------------------------- starting */

/* supervisor:start_link / start. Starts every child in order before the
 * result is known, as OTP's init does. Results (otpc_gs_result_t, see
 * gen_server.h): OK with the pid; IGNORE; ERROR with Reason, e.g.
 * {shutdown, {failed_to_start_child, Id, R}} (the children started before
 * were stopped in reverse order), {start_spec, What} or {supervisor_data,
 * What} for a bad spec ({invalid_intensity, I}, {duplicate_child_name, Id},
 * {bad_combination, ...}, ...), {already_started, Pid}. From a process:
 * cont gets the result, other messages stay queued meanwhile. opts->name
 * overrides spec->name. The spec (and its children array) must outlive
 * the supervisor. */
int otpc_sup_start(otpc_proc_t *self, const otpc_sup_spec_t *spec, void *arg,
                   const otpc_gs_start_opts_t *opts, otpc_gs_cont_fn cont,
                   void *ctx);
/* From a thread process: blocks. The caller unrefs res->term. */
int otpc_sup_start_blocking(otpc_proc_t *self, const otpc_sup_spec_t *spec,
                            void *arg, const otpc_gs_start_opts_t *opts,
                            otpc_gs_result_t *res);

/* supervisor:start_child(Sup, ChildSpec) with a C child spec, for a local
 * supervisor that is not simple_one_for_one. The reply term (res->term) is
 * OTP's: {ok, Pid} | {ok, undefined} | {error, {already_started, Pid}} |
 * {error, already_present} | {error, {Reason, Id}} | {error, What} for a
 * bad spec. `spec` (strings and pointers) is copied by the supervisor
 * before it replies, so it need only live until the result arrives. */
int otpc_sup_start_child(otpc_proc_t *self, otpc_pid_t sup,
                         const otpc_child_spec_t *spec, otpc_gs_cont_fn cont,
                         void *ctx);
int otpc_sup_start_child_blocking(otpc_proc_t *self, otpc_pid_t sup,
                                  const otpc_child_spec_t *spec,
                                  otpc_gs_result_t *res);

#ifdef __cplusplus
}
#endif

#endif
