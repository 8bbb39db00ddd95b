/* gen_statem in C: OTP 25's generic state machine as a callback table over
 * the process runtime (see docs/behaviours.md, section gen_statem).
 *
 * The state is a term (an atom in state_functions mode, any term in
 * handle_event_function mode), compared with =:= to tell a state change.
 * The data is a typed C struct (data_size bytes, zeroed, owned by the
 * machine), updated in place. Callbacks do not return tuples: they state
 * their result and actions through the otpc_sm_* functions on `sm`, in the
 * order OTP would read an action list; saying nothing is
 * keep_state_and_data.
 *
 * The wire protocol is OTP's (the same as gen_server's): calls are
 * {'$gen_call', {From, Tag}, Req}, casts {'$gen_cast', Msg}, stop is
 * sys:terminate's system message. So gen_statem:call/cast from an Erlang
 * node work against a C machine, and the gen_server clients
 * (otpc_gen_server_call*, _cast, _stop) work against it and against an
 * Erlang gen_statem; the otpc_gen_statem_* names below are those clients. */
#ifndef OTPC_GEN_STATEM_H
#define OTPC_GEN_STATEM_H

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

/* The machine during one of its callbacks. */
typedef struct otpc_sm otpc_sm_t;

/* event_type(): what a callback is called for. */
typedef enum otpc_sm_type {
  OTPC_SM_ENTER = 0,      /* a state enter call: content is OldState */
  OTPC_SM_CALL,           /* {call, From}: ev->from is set */
  OTPC_SM_CAST,           /* cast */
  OTPC_SM_INFO,           /* info: any other message */
  OTPC_SM_INTERNAL,       /* internal: only from a next_event action */
  OTPC_SM_TIMEOUT,        /* timeout: the event timeout */
  OTPC_SM_STATE_TIMEOUT,  /* state_timeout */
  OTPC_SM_GENERIC_TIMEOUT /* {timeout, Name}: ev->name is Name */
} otpc_sm_type_t;

typedef struct otpc_sm_event {
  otpc_sm_type_t type;
  /* EventContent; for an enter call, OldState. Borrowed for the call:
   * setters copy what they keep. */
  otpc_term_t content;
  const otpc_gs_from_t *from; /* OTPC_SM_CALL only, else NULL */
  otpc_term_t name;           /* OTPC_SM_GENERIC_TIMEOUT only */
} otpc_sm_event_t;

/* A state function (state_functions) or handle_event/4
 * (handle_event_function). `state` is the current state (for an enter
 * call, the state being entered), borrowed for the call. */
typedef void (*otpc_sm_fn)(otpc_sm_t *sm, const otpc_sm_event_t *ev,
                           otpc_term_t state, void *data);

/* state_functions: the function of the state named `state` (an atom). */
typedef struct otpc_sm_state {
  const char *state;
  otpc_sm_fn fn;
} otpc_sm_state_t;

typedef struct otpc_gen_statem {
  const char *name; /* the process class name in crash reports */
  size_t data_size; /* bytes of C data, zeroed before init */
  /* callback_mode(): state_functions when `states` is set (nstates
   * entries; an event in a state with no entry stops the machine as OTP's
   * undef: terminate(undef, ...), exit {undef, []}), else
   * handle_event_function with `handle_event`. */
  const otpc_sm_state_t *states;
  size_t nstates;
  otpc_sm_fn handle_event;
  bool state_enter; /* [..., state_enter] */
  /* init(Args). It must set the initial state with otpc_sm_next_state
   * ({ok, State, Data}) and may add actions ({ok, State, Data, Actions};
   * postpone is ignored there, as OTP ignores it), or otpc_sm_ignore /
   * otpc_sm_stop. Setting none of these gives
   * {error, {bad_return_from_init, no_state}}. `arg` must stay valid until
   * the start completes. */
  void (*init)(otpc_sm_t *sm, void *data, void *arg);
  /* terminate(Reason, State, Data), when OTP runs it: a stop result,
   * sys:terminate (otpc_gen_statem_stop), the parent's exit signal while
   * trapping exits, a crash (otpc_exit, or a bad result as OTP's
   * bad_return_from_state_function) in a state callback. Not after init
   * fails, not on kill, not when an exit signal kills a machine that does
   * not trap exits. May be NULL. It must not call otpc_exit. */
  void (*terminate)(otpc_sm_t *sm, otpc_term_t reason, otpc_term_t state,
                    void *data);
  /* Runs last, always (also on kill), to free what the data holds. May be
   * NULL. Not an OTP callback. */
  void (*free_data)(void *data);
} otpc_gen_statem_t;

/* ------------------------------------------------- callback results */

/* {next_state, State, Data[, Actions]}: the term is copied. Setting the
 * current state is keep_state (no state change: postponed events stay
 * postponed, the state timeout keeps running, no enter call). From a state
 * enter call only the current state is allowed (else the machine stops
 * with {bad_state_enter_return_from_state_function, {next_state, S}}:
 * OTP's has the data too, which is C here). Errors of this kind (bad
 * results and actions) exit with {Reason, []}, the shape of OTP's
 * {Reason, Stacktrace}; terminate gets Reason. */
int otpc_sm_next_state(otpc_sm_t *sm, otpc_term_t state);
int otpc_sm_next_statef(otpc_sm_t *sm, const char *fmt, ...);
/* repeat_state / repeat_state_and_data: as keep_state, but a state enter
 * call runs again (if state_enter). */
void otpc_sm_repeat_state(otpc_sm_t *sm);
/* stop / {stop, Reason[, Data]}. With replies set (otpc_sm_reply) it is
 * {stop_and_reply, Reason, Replies[, Data]}: the replies go out first,
 * then terminate runs, as OTP. Other actions are dropped. From init:
 * {stop, Reason} (start returns {error, Reason}, no terminate). */
int otpc_sm_stop(otpc_sm_t *sm, otpc_term_t reason);
int otpc_sm_stopf(otpc_sm_t *sm, const char *fmt, ...);
/* init only: ignore. */
void otpc_sm_ignore(otpc_sm_t *sm);

/* Actions, kept in the order given, acted on after the callback returns
 * exactly as OTP walks an action list. */

/* {reply, From, Reply} (From is copied). Replies go out after the
 * callback returns, in order, before the enter call and the next event. */
int otpc_sm_reply(otpc_sm_t *sm, const otpc_gs_from_t *from, otpc_term_t reply);
int otpc_sm_replyf(otpc_sm_t *sm, const otpc_gs_from_t *from, const char *fmt,
                   ...);
/* postpone: the current event is retried after the next state change, in
 * the order the postponed events came. Not from an enter call (the machine
 * stops with {bad_state_enter_action_from_state_function, postpone}). */
void otpc_sm_postpone(otpc_sm_t *sm);
/* {next_event, Type, Content}: `ev` is copied (type, content, and from for
 * OTPC_SM_CALL, name for OTPC_SM_GENERIC_TIMEOUT). The inserted events run
 * before any other queued event, in the order given, then the postponed
 * ones (on a state change), then the rest, as OTP. Not from an enter
 * call. */
int otpc_sm_next_event(otpc_sm_t *sm, const otpc_sm_event_t *ev);
/* A shorthand for {next_event, internal, Content}. */
int otpc_sm_next_internal(otpc_sm_t *sm, otpc_term_t content);

/* Timeouts. `ms` is a time in milliseconds or one of: */
#define OTPC_SM_INFINITY ((int64_t)-1) /* as infinity: cancels */
#define OTPC_SM_UPDATE ((int64_t)-2)   /* {Type, update, Msg} */
/* {timeout, Time, Msg}: the event timeout; any event cancels it (it only
 * fires when no event came for ms). 0 fires as soon as the queue of
 * inserted events is empty, before the next message, as OTP. */
int otpc_sm_timeout(otpc_sm_t *sm, int64_t ms, otpc_term_t msg);
/* {state_timeout, Time, Msg}: cancelled by a state change. */
int otpc_sm_state_timeout(otpc_sm_t *sm, int64_t ms, otpc_term_t msg);
/* {{timeout, Name}, Time, Msg}: runs until it fires or is cancelled or
 * restarted (one timer per Name). */
int otpc_sm_generic_timeout(otpc_sm_t *sm, otpc_term_t name, int64_t ms,
                            otpc_term_t msg);
/* {Type, cancel}: type OTPC_SM_TIMEOUT, OTPC_SM_STATE_TIMEOUT or
 * OTPC_SM_GENERIC_TIMEOUT (then with its name; otherwise name is
 * ignored). */
int otpc_sm_cancel_timeout(otpc_sm_t *sm, otpc_sm_type_t type,
                           otpc_term_t name);
/* hibernate: accepted; a C machine has no heap to shrink. */
void otpc_sm_hibernate(otpc_sm_t *sm);

/* The machine's process (for sends, links, timers, otpc_exit). */
otpc_proc_t *otpc_sm_proc(otpc_sm_t *sm);

/* gen_statem:reply(From, Reply) from any process, at any time (a From kept
 * in the data). */
#define otpc_gen_statem_reply otpc_gen_server_reply

/* ---------------------------------------------------------- clients */

/* start / start_link (with or without a name), as gen_statem:start*: the
 * result is OK with the pid, IGNORE, or ERROR with the reason ({error,
 * Reason}, also {already_started, Pid} and a crash in init). From a
 * process: cont gets the result (a selective receive; other messages stay
 * queued). */
int otpc_gen_statem_start(otpc_proc_t *self, const otpc_gen_statem_t *cls,
                          void *arg, const otpc_gs_start_opts_t *opts,
                          otpc_gs_cont_fn cont, void *ctx);
/* From a thread process: blocks. The caller unrefs res->term. */
int otpc_gen_statem_start_blocking(otpc_proc_t *self,
                                   const otpc_gen_statem_t *cls, void *arg,
                                   const otpc_gs_start_opts_t *opts,
                                   otpc_gs_result_t *res);

/* gen_statem:call / cast / stop: the protocol is gen_server's, so these
 * are its clients (see gen_server.h for results and timeouts). */
#define otpc_gen_statem_call otpc_gen_server_call
#define otpc_gen_statem_call_blocking otpc_gen_server_call_blocking
#define otpc_gen_statem_call_name otpc_gen_server_call_name
#define otpc_gen_statem_call_name_blocking otpc_gen_server_call_name_blocking
#define otpc_gen_statem_cast otpc_gen_server_cast
#define otpc_gen_statem_cast_name otpc_gen_server_cast_name
#define otpc_gen_statem_stop otpc_gen_server_stop
#define otpc_gen_statem_stop_blocking otpc_gen_server_stop_blocking

#ifdef __cplusplus
}
#endif

#endif
