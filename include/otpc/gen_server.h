/* gen_server in C: OTP's generic server as a callback table over the
 * process runtime (see docs/behaviours.md for the design decisions).
 *
 * A server is a table of callbacks plus a typed C state struct (state_size
 * bytes, zeroed, owned by the server). Callbacks do not return Erlang tuples:
 * each one states its result through the otpc_gs_* functions on `gs`, and
 * saying nothing means the common case ({ok, S} for init, {noreply, S} for
 * the others). The state itself is updated in place.
 *
 * The wire protocol is OTP's: calls are {'$gen_call', {From, Tag}, Req},
 * casts {'$gen_cast', Req}, stop is sys:terminate's system message, so an
 * Erlang process can call a C server and a C process can call an Erlang
 * one. */
#ifndef OTPC_GEN_SERVER_H
#define OTPC_GEN_SERVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otpc/msg.h"
#include "otpc/process.h"
#include "otpc/term.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The server during one of its callbacks. */
typedef struct otpc_gs otpc_gs_t;

/* A caller to reply to: {Pid, Tag}. A value: copy it into the state to
 * reply later with otpc_gen_server_reply. */
/* Room for OTP 25's [alias | Ref] with a 5-word reference of a node whose
 * name has the atom maximum of 255 bytes. */
#define OTPC_GS_TAG_MAX 320
typedef struct otpc_gs_from {
  otpc_pid_t pid;
  size_t tag_len;
  uint8_t tag[OTPC_GS_TAG_MAX]; /* the encoded Tag term */
} otpc_gs_from_t;

typedef struct otpc_gen_server {
  const char *name;  /* the process class name in crash reports */
  size_t state_size; /* bytes of C state, zeroed before init */
  /* init(Args). `arg` is the start's; it must stay valid until the start
   * completes. Default result {ok, S}; otpc_gs_ignore, otpc_gs_stop,
   * otpc_gs_timeout, otpc_gs_continue change it. */
  void (*init)(otpc_gs_t *gs, void *state, void *arg);
  /* Default result {noreply, S}: reply now with otpc_gs_reply, or later
   * through a copy of *from. */
  void (*handle_call)(otpc_gs_t *gs, void *state, otpc_term_t req,
                      const otpc_gs_from_t *from);
  void (*handle_cast)(otpc_gs_t *gs, void *state, otpc_term_t req);
  /* Any other message, and `timeout` when a timeout passes. May be NULL
   * (messages are then dropped). */
  void (*handle_info)(otpc_gs_t *gs, void *state, otpc_term_t info);
  void (*handle_continue)(otpc_gs_t *gs, void *state, otpc_term_t cont);
  /* As OTP: on a stop result, on sys:terminate (otpc_gen_server_stop), on
   * an exit signal from the parent while trapping exits, and on a crash
   * (otpc_exit) in handle_* or handle_continue. Not when init fails nor
   * when an exit signal kills a server that does not trap exits. May be
   * NULL. It must not call otpc_exit. */
  void (*terminate)(otpc_gs_t *gs, void *state, otpc_term_t reason);
  /* Runs last, always (also on kill), to free what the state holds. May be
   * NULL. Not an OTP callback: C has no garbage collector. */
  void (*free_state)(void *state);
} otpc_gen_server_t;

/* ------------------------------------------------- callback results */

/* handle_call: {reply, Reply, ...} (the term is copied). */
int otpc_gs_reply(otpc_gs_t *gs, otpc_term_t reply);
int otpc_gs_replyf(otpc_gs_t *gs, const char *fmt, ...);
/* ... Timeout}: `timeout` arrives as handle_info unless a message comes
 * within ms milliseconds. */
void otpc_gs_timeout(otpc_gs_t *gs, int64_t ms);
/* ... hibernate}: accepted; a C server has no heap to shrink. */
void otpc_gs_hibernate(otpc_gs_t *gs);
/* ... {continue, C}}: handle_continue(C) runs before the next message. */
int otpc_gs_continue(otpc_gs_t *gs, otpc_term_t cont);
/* {stop, Reason, S} or, with a reply set in handle_call, {stop, Reason,
 * Reply, S} (terminate runs first, then the reply goes out). From init:
 * {stop, Reason}. */
int otpc_gs_stop(otpc_gs_t *gs, otpc_term_t reason);
int otpc_gs_stopf(otpc_gs_t *gs, const char *fmt, ...);
/* init only: ignore. */
void otpc_gs_ignore(otpc_gs_t *gs);
/* The server's process (for sends, links, timers, otpc_exit). */
otpc_proc_t *otpc_gs_proc(otpc_gs_t *gs);

/* gen_server:reply(From, Reply), from any process. */
int otpc_gen_server_reply(otpc_proc_t *self, const otpc_gs_from_t *from,
                          otpc_term_t reply);

/* ---------------------------------------------------------- clients */

/* Results of start, call and stop, as gen_server's returns and exits. */
typedef enum otpc_gs_status {
  OTPC_GS_OK = 0,  /* {ok, Pid}; a call's Reply; stop: ok */
  OTPC_GS_IGNORE,  /* start: ignore */
  OTPC_GS_ERROR,   /* start: {error, Reason} (term = Reason) */
  OTPC_GS_NOPROC,  /* call/stop: exit {noproc, _} */
  OTPC_GS_TIMEOUT, /* call/stop: exit {timeout, _} */
  OTPC_GS_EXIT     /* call/stop: exit {Reason, _} (term = Reason) */
} otpc_gs_status_t;

typedef struct otpc_gs_result {
  otpc_gs_status_t status;
  otpc_pid_t pid;   /* start: the server's pid (OK) */
  otpc_msg_t *term; /* the reply (call OK) or the reason; NULL otherwise */
} otpc_gs_result_t;

/* Continuations of starts, calls and stops from a process: `res` and
 * res->term are borrowed for the call (otpc_msg_ref to keep the term). */
typedef void (*otpc_gs_cont_fn)(otpc_proc_t *self, void *state,
                                const otpc_gs_result_t *res, void *ctx);

typedef struct otpc_gs_start_opts {
  bool link;        /* start_link */
  const char *name; /* {local, Name}; taken: {error, {already_started, P}} */
} otpc_gs_start_opts_t;

/* start / start_link. init runs before the result is known, as with
 * proc_lib. From a process: the process waits (selective receive) and cont
 * gets the result; its other messages stay queued. */
int otpc_gen_server_start(otpc_proc_t *self, const otpc_gen_server_t *cls,
                          void *arg, const otpc_gs_start_opts_t *opts,
                          otpc_gs_cont_fn cont, void *ctx);
/* From a thread process: blocks. The caller unrefs res->term. */
int otpc_gen_server_start_blocking(otpc_proc_t *self,
                                   const otpc_gen_server_t *cls, void *arg,
                                   const otpc_gs_start_opts_t *opts,
                                   otpc_gs_result_t *res);

/* gen_server:call(Server, Req, Timeout) (timeout_ms -1: infinity). A call
 * to a local server is tagged [alias | Alias], as OTP 25's, and the alias
 * ends with the call: a reply after a timeout is dropped. A server on
 * another node gets the monitor reference as the tag; its late reply
 * stays in the caller's mailbox as an ordinary message, never taken for
 * another call's (tags differ). */
int otpc_gen_server_call(otpc_proc_t *self, otpc_pid_t server, otpc_term_t req,
                         int64_t timeout_ms, otpc_gs_cont_fn cont, void *ctx);
int otpc_gen_server_call_blocking(otpc_proc_t *self, otpc_pid_t server,
                                  otpc_term_t req, int64_t timeout_ms,
                                  otpc_gs_result_t *res);

/* The same to a locally registered name, resolved as gen:call does
 * (whereis, then the pid): no such name gives NOPROC. */
int otpc_gen_server_call_name(otpc_proc_t *self, otpc_atom_t name,
                              otpc_term_t req, int64_t timeout_ms,
                              otpc_gs_cont_fn cont, void *ctx);
int otpc_gen_server_call_name_blocking(otpc_proc_t *self, otpc_atom_t name,
                                       otpc_term_t req, int64_t timeout_ms,
                                       otpc_gs_result_t *res);
/* gen_server:call({Name, Node}, Req, Timeout) for a server on another
 * node (the local node: as otpc_gen_server_call_name). A node without such
 * a name gives NOPROC; one that cannot be reached or goes down, EXIT with
 * {nodedown, Node}, as gen_server:call exits. */
int otpc_gen_server_call_remote(otpc_proc_t *self, otpc_atom_t name,
                                otpc_atom_t node, otpc_term_t req,
                                int64_t timeout_ms, otpc_gs_cont_fn cont,
                                void *ctx);
int otpc_gen_server_call_remote_blocking(otpc_proc_t *self, otpc_atom_t name,
                                         otpc_atom_t node, otpc_term_t req,
                                         int64_t timeout_ms,
                                         otpc_gs_result_t *res);
/* gen_server:cast to a name: 0 also when nobody has it, as OTP's ok. */
int otpc_gen_server_cast_name(otpc_proc_t *self, otpc_atom_t name,
                              otpc_term_t req);

/* gen_server:cast(Server, Req): always succeeds for a dead pid. */
int otpc_gen_server_cast(otpc_proc_t *self, otpc_pid_t server, otpc_term_t req);

/* gen_server:stop(Server, Reason, Timeout): OK when the server exited with
 * Reason, EXIT when with another reason, NOPROC, TIMEOUT. */
int otpc_gen_server_stop(otpc_proc_t *self, otpc_pid_t server,
                         otpc_term_t reason, int64_t timeout_ms,
                         otpc_gs_cont_fn cont, void *ctx);
int otpc_gen_server_stop_blocking(otpc_proc_t *self, otpc_pid_t server,
                                  otpc_term_t reason, int64_t timeout_ms,
                                  otpc_gs_result_t *res);

/* gen_server:call from inside a server's callback. The server waits (its
 * other messages stay queued) and `cont` runs as a callback of the same
 * kind: its otpc_gs_* results are the callback's (in handle_call, the
 * reply goes to the same From). Results set before the call are dropped. */
typedef void (*otpc_gs_call_cont_fn)(otpc_gs_t *gs, void *state,
                                     const otpc_gs_result_t *res, void *ctx);
int otpc_gs_call(otpc_gs_t *gs, otpc_pid_t server, otpc_term_t req,
                 int64_t timeout_ms, otpc_gs_call_cont_fn cont, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
