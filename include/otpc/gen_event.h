/* gen_event in C: OTP 25's event manager over the process runtime (see
 * docs/behaviours.md, section gen_event).
 *
 * A manager is a process holding a list of handlers; each handler is a C
 * callback table (otpc_gen_event_handler_t, identified as OTP identifies a
 * handler module: by its `module` atom, or {Module, Id}) plus its own typed
 * C state. As in OTP the handlers run inside the manager, one after the
 * other, the most recently added first; a handler whose callback crashes
 * (otpc_exit) is removed and the manager lives on.
 *
 * The wire protocol is OTP's: notify is {notify, Event}, the requests are
 * gen:call's {Pid, {Pid, Tag}, Request} with Request one of gen_event's
 * (add_handler, add_sup_handler, delete_handler, swap_handler,
 * sync_notify, call, which_handlers), stop is sys:terminate. So Erlang code
 * can use gen_event:* on a C manager, and the clients below work against
 * an Erlang manager (adding a C handler to one cannot work, of course). A
 * C handler table is known to managers by its module name: the add
 * functions register it, otpc_gen_event_register makes it addable by name
 * from Erlang. */
#ifndef OTPC_GEN_EVENT_H
#define OTPC_GEN_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otpc/gen_server.h"
#include "otpc/msg.h"
#include "otpc/process.h"
#include "otpc/term.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A handler during one of its callbacks. */
typedef struct otpc_ge otpc_ge_t;

typedef struct otpc_gen_event_handler {
  /* The handler's module name (an atom): its identity, with the Id it was
   * added with if any, in which_handlers, delete, call and swap. Handler
   * tables with the same name must be the same table. */
  const char *module;
  size_t state_size; /* bytes of C state per added handler, zeroed */
  /* init(Args): default {ok, State} (add_handler returns ok). With
   * otpc_ge_init_fail the handler is not added and add_handler returns the
   * term given (OTP returns init's other results as they are, e.g.
   * {error, R}). A crash gives {'EXIT', Reason}. After a swap, args is
   * {Args2, Res}, Res what the old handler's terminate returned. */
  void (*init)(otpc_ge_t *h, void *state, otpc_term_t args);
  /* notify / sync_notify. Default {ok, State}; otpc_ge_remove,
   * otpc_ge_swap change it. The event is the manager's message, shared by
   * all handlers (never copied): borrowed for the call. May be NULL
   * (events are then ignored). */
  void (*handle_event)(otpc_ge_t *h, void *state, otpc_term_t event);
  /* gen_event:call(M, Handler, Query): reply with otpc_ge_reply (no reply
   * set replies ok). May be NULL ({error, {'EXIT', undef}}: removed). */
  void (*handle_call)(otpc_ge_t *h, void *state, otpc_term_t query);
  /* Any other message to the manager ({'EXIT', Pid, R} of a supervising
   * process included). May be NULL: ignored (OTP logs a warning). */
  void (*handle_info)(otpc_ge_t *h, void *state, otpc_term_t info);
  /* terminate(Args, State) with OTP's Args: the Args of delete_handler or
   * of the swap's old handler, remove_handler, stop (the manager stops),
   * {stop, Reason} (the supervising process exited), {error, {'EXIT', R}}
   * (the handler crashed with R). otpc_ge_terminate_result sets what it
   * returns (default ok): delete_handler's reply and, in a swap, the Res
   * the new handler's init gets. May be NULL. Must not call otpc_exit (a
   * crash here is caught: the result is {'EXIT', R}). */
  void (*terminate)(otpc_ge_t *h, void *state, otpc_term_t args);
  /* Runs last, always, to free what the state holds. May be NULL. */
  void (*free_state)(void *state);
} otpc_gen_event_handler_t;

/* --------------------------------------------- handler callback results */

/* handle_call: {ok, Reply, State} (copied). With remove or swap it is
 * {remove_handler, Reply} / {swap_handler, Reply, ...}. */
int otpc_ge_reply(otpc_ge_t *h, otpc_term_t reply);
int otpc_ge_replyf(otpc_ge_t *h, const char *fmt, ...);
/* remove_handler: terminate(remove_handler, State) runs, the handler is
 * gone (a supervising process gets {gen_event_EXIT, H, normal}). */
void otpc_ge_remove(otpc_ge_t *h);
/* {swap_handler, Args1, State, Handler2, Args2}: terminate(Args1) of this
 * handler, then Handler2's init({Args2, Res}); `id2` may be {NULL, 0} for
 * a Handler2 without Id. Terms are copied. */
int otpc_ge_swap(otpc_ge_t *h, otpc_term_t args1,
                 const otpc_gen_event_handler_t *h2, otpc_term_t id2,
                 otpc_term_t args2);
/* init only: the handler is not added; add_handler returns `result`. */
int otpc_ge_init_fail(otpc_ge_t *h, otpc_term_t result);
/* terminate only: its return value (default ok). */
int otpc_ge_terminate_result(otpc_ge_t *h, otpc_term_t result);
/* {ok, State, hibernate}: accepted, nothing to shrink. */
void otpc_ge_hibernate(otpc_ge_t *h);
/* The manager's process, and this handler's Id ({NULL, 0} if none). */
otpc_proc_t *otpc_ge_proc(otpc_ge_t *h);
otpc_term_t otpc_ge_id(otpc_ge_t *h);

/* Makes a handler table addable by its module name (from Erlang, too).
 * OTPC_EINVAL if another table has that name. Tables are never
 * unregistered: they are static data. */
int otpc_gen_event_register(const otpc_gen_event_handler_t *h);

/* ----------------------------------------------------------- managers */

/* What a full queue does to a C notifier (see otpc_gen_event_notify). */
typedef enum otpc_ge_overflow {
  OTPC_GE_BLOCK = 0, /* the notifier waits until the manager took it */
  OTPC_GE_DROP       /* the event is dropped and counted */
} otpc_ge_overflow_t;

typedef struct otpc_ge_start_opts {
  bool link;        /* start_link */
  const char *name; /* {local, Name}; taken: {error, {already_started, P}} */
  /* Notifications from C notifiers (otpc_gen_event_notify) queued and not
   * yet handled, at most; 0: unbounded, as OTP. Erlang senders and
   * sync_notify are not counted: OTP gives them no bound either, and a
   * sync_notify waits anyway. */
  size_t max_queue;
  otpc_ge_overflow_t overflow;
} otpc_ge_start_opts_t;

/* gen_event:start / start_link. Results as gen_server's start. `opts`
 * (NULL: defaults) must stay valid until the start completes. */
int otpc_gen_event_start(otpc_proc_t *self, const otpc_ge_start_opts_t *opts,
                         otpc_gs_cont_fn cont, void *ctx);
int otpc_gen_event_start_blocking(otpc_proc_t *self,
                                  const otpc_ge_start_opts_t *opts,
                                  otpc_gs_result_t *res);

/* gen_event:notify(M, Event). Returns 0 when the event is sent. With a
 * bound reached: OTPC_GE_DROP returns OTPC_ELIMIT (not sent, counted in
 * dropped); OTPC_GE_BLOCK sends it as a sync_notify and returns 1: `cont`
 * runs (status OK) once the handlers have seen it, and the caller should
 * send nothing more to the manager meanwhile. With cont NULL a full
 * OTPC_GE_BLOCK queue returns OTPC_ELIMIT instead. */
int otpc_gen_event_notify(otpc_proc_t *self, otpc_pid_t mgr, otpc_term_t event,
                          otpc_gs_cont_fn cont, void *ctx);
/* From a thread process: blocks while the queue is full (BLOCK). */
int otpc_gen_event_notify_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                   otpc_term_t event);

/* The rest are gen:call requests: the result's term is gen_event's return
 * value (ok, {error, R}, {'EXIT', R}, a list, a reply). No timeout (OTP's
 * rpc waits forever), except call. */

/* sync_notify: OK (term ok) after every handler has handled it. */
int otpc_gen_event_sync_notify(otpc_proc_t *self, otpc_pid_t mgr,
                               otpc_term_t event, otpc_gs_cont_fn cont,
                               void *ctx);
int otpc_gen_event_sync_notify_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                        otpc_term_t event,
                                        otpc_gs_result_t *res);
/* add_handler(M, Module | {Module, Id}, Args); id {NULL, 0}: no Id. */
int otpc_gen_event_add_handler(otpc_proc_t *self, otpc_pid_t mgr,
                               const otpc_gen_event_handler_t *h,
                               otpc_term_t id, otpc_term_t args,
                               otpc_gs_cont_fn cont, void *ctx);
int otpc_gen_event_add_handler_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                        const otpc_gen_event_handler_t *h,
                                        otpc_term_t id, otpc_term_t args,
                                        otpc_gs_result_t *res);
/* add_sup_handler: the manager links to the caller; the caller gets
 * {gen_event_EXIT, Handler, Reason} when the handler goes (Reason normal,
 * shutdown, {swapped, NewHandler, Pid} or the crash's {'EXIT', R}), and
 * the handler is removed with {stop, R} when the caller exits. */
int otpc_gen_event_add_sup_handler(otpc_proc_t *self, otpc_pid_t mgr,
                                   const otpc_gen_event_handler_t *h,
                                   otpc_term_t id, otpc_term_t args,
                                   otpc_gs_cont_fn cont, void *ctx);
int otpc_gen_event_add_sup_handler_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                            const otpc_gen_event_handler_t *h,
                                            otpc_term_t id, otpc_term_t args,
                                            otpc_gs_result_t *res);
/* delete_handler(M, Handler, Args): Handler is the term (Module or
 * {Module, Id}); the result is terminate's or {error, module_not_found}. */
int otpc_gen_event_delete_handler(otpc_proc_t *self, otpc_pid_t mgr,
                                  otpc_term_t handler, otpc_term_t args,
                                  otpc_gs_cont_fn cont, void *ctx);
int otpc_gen_event_delete_handler_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                           otpc_term_t handler,
                                           otpc_term_t args,
                                           otpc_gs_result_t *res);
/* swap_handler(M, {H1, A1}, {H2, A2}): ok or {error, R}. */
int otpc_gen_event_swap_handler(otpc_proc_t *self, otpc_pid_t mgr,
                                otpc_term_t h1, otpc_term_t args1,
                                const otpc_gen_event_handler_t *h2,
                                otpc_term_t id2, otpc_term_t args2,
                                otpc_gs_cont_fn cont, void *ctx);
int otpc_gen_event_swap_handler_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                         otpc_term_t h1, otpc_term_t args1,
                                         const otpc_gen_event_handler_t *h2,
                                         otpc_term_t id2, otpc_term_t args2,
                                         otpc_gs_result_t *res);
/* which_handlers: the list, most recently added first. */
int otpc_gen_event_which_handlers(otpc_proc_t *self, otpc_pid_t mgr,
                                  otpc_gs_cont_fn cont, void *ctx);
int otpc_gen_event_which_handlers_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                           otpc_gs_result_t *res);
/* call(M, Handler, Query, Timeout): the reply, {error, bad_module}, or
 * {error, {'EXIT', R}} (the handler crashed and was removed). */
int otpc_gen_event_call(otpc_proc_t *self, otpc_pid_t mgr, otpc_term_t handler,
                        otpc_term_t query, int64_t timeout_ms,
                        otpc_gs_cont_fn cont, void *ctx);
int otpc_gen_event_call_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                 otpc_term_t handler, otpc_term_t query,
                                 int64_t timeout_ms, otpc_gs_result_t *res);
/* gen_event:stop(M, Reason, Timeout): every handler's terminate(stop)
 * runs, most recent first. The same as gen_server's stop. */
#define otpc_gen_event_stop otpc_gen_server_stop
#define otpc_gen_event_stop_blocking otpc_gen_server_stop_blocking

/* The back-pressure counters of a local C manager: C notifications queued
 * now, dropped so far, the bound. OTPC_ENOTFOUND if no such manager. */
typedef struct otpc_ge_stats {
  size_t queued;
  uint64_t dropped;
  size_t max_queue;
} otpc_ge_stats_t;
int otpc_gen_event_stats(otpc_pid_t mgr, otpc_ge_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif
