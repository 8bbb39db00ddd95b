/* Port programs: C programs that an Erlang node runs with open_port and
 * talks to in {packet, N} frames of external terms (src/otpc_port.erl is the
 * Erlang side).
 *
 * The program is a libuv event loop. Each frame from Erlang is one envelope:
 *   {call, Id, Request}   a request that wants {reply, Id, Result}
 *   {cast, Request}       a request that wants no reply
 *   {credit, N}           permission to send N more events
 * and the program sends back:
 *   {hello, 1, #{window => W, max_frame => M, os_pid => P}}   once, first
 *   {reply, Id, Result}   replies, in any order (pipelining)
 *   {event, Term}         unsolicited messages, one credit each
 *   {log, Level, Line}    log lines (and whatever the program prints)
 *   {bad_request, Id | undefined, Why}     an envelope it cannot read
 *   {protocol_error, Why} the stream is out of sync; the program exits
 *   {crashed, Signal, Id | undefined}   written as a fatal signal kills it
 *
 * Handlers run on the loop thread and must be quick. Work that takes time
 * goes to the worker pool (otpc_prog_queue_work) or waits on the loop
 * (timers via otpc_prog_loop); the loop keeps reading and replying
 * meanwhile. The hello's window is the most calls the peer may have in
 * flight: that is how a slow program pushes back (the Erlang side keeps
 * the others waiting); a call beyond it is answered at once with
 * {error, {window_exceeded, W}}. The program exits when its input closes, even
 * while workers are busy, and kills the children it started with
 * otpc_prog_spawn. */
#ifndef OTPC_PORT_H
#define OTPC_PORT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "otpc/buf.h"
#include "otpc/error.h"
#include "otpc/term.h"

#ifdef __cplusplus
extern "C" {
#endif

struct uv_loop_s;

/* The running program and one request in flight; both opaque. */
typedef struct otpc_prog otpc_prog_t;
typedef struct otpc_prog_req otpc_prog_req_t;

/* Called on the loop thread for each call and cast. `request` is a view
 * that lives as long as req. The handler either replies before returning,
 * or keeps req and replies later from the loop thread (a timer, a
 * completed work item). A negative return without a reply makes the
 * framework reply {error, {handler_failed, Why}}. Casts need no reply, but
 * must still be finished with otpc_prog_reply (its term is dropped) or
 * otpc_prog_done. */
typedef int (*otpc_prog_handle_fn)(otpc_prog_t *p, otpc_prog_req_t *req,
                                   otpc_term_t request, void *ud);
/* Runs on a worker thread: appends the reply term (no version byte) to
 * `reply`. It must not call other otpc_prog functions. A negative return
 * replies {error, {work_failed, Why}}. */
typedef int (*otpc_prog_work_fn)(otpc_term_t request, otpc_buf_t *reply,
                                 void *ud);
/* Called on the loop thread after credits arrived, so that a producer
 * told OTPC_ELIMIT by otpc_prog_emit can go on. */
typedef void (*otpc_prog_credit_fn)(otpc_prog_t *p, void *ud);

/* Limits of the options. */
#define OTPC_PROG_MAX_WINDOW 65536u
#define OTPC_PROG_DEFAULT_MAX_FRAME (64u << 20)

typedef struct otpc_prog_config {
  const char *name;              /* for log lines and crash messages */
  otpc_prog_handle_fn handle;    /* required */
  otpc_prog_credit_fn on_credit; /* optional */
  void *ud;                      /* passed to the callbacks */
  unsigned packet;               /* 1, 2 or 4 (default 4) */
  size_t max_frame;              /* largest frame accepted and sent */
  unsigned window;               /* calls in flight at most (default 64) */
  int use_fds;                   /* 1: protocol on fds 3 (in) and 4 (out) */
  int capture_stdout;            /* 1 (default): stdout lines become logs */
  unsigned max_events;           /* events queued for lack of credit, max */
  unsigned kill_grace_ms;        /* TERM to KILL delay for children */
} otpc_prog_config_t;

/* Defaults, then the options the Erlang side passes in the environment:
 * OTPC_PORT_PACKET (1|2|4), OTPC_PORT_IO (stdio|fds), OTPC_PORT_MAX_FRAME
 * (bytes), OTPC_PORT_WINDOW (1..65536). A bad value is OTPC_EINVAL with err
 * naming the variable, the value and what was expected. */
void otpc_prog_config_init(otpc_prog_config_t *cfg);
int otpc_prog_config_from_env(otpc_prog_config_t *cfg, otpc_err_t *err);

/* Runs the program until its input closes (returns 0) or a fatal protocol
 * error (returns the code, after sending {protocol_error, Why}). Call it
 * once per process: it installs signal handlers and redirects stdout. */
int otpc_prog_run(const otpc_prog_config_t *cfg, otpc_err_t *err);

/* The loop, for handlers that wait on libuv (timers, sockets). */
struct uv_loop_s *otpc_prog_loop(otpc_prog_t *p);
otpc_prog_t *otpc_prog_of(const otpc_prog_req_t *req);
/* 1 for a cast, 0 for a call. */
int otpc_prog_is_cast(const otpc_prog_req_t *req);

/* Replies with a term built from fmt (as otpc_term_build) and finishes req.
 * If the reply cannot be built or is over the maximum frame, the caller
 * gets {error, {reply_failed, Why}} instead; req is finished either way. */
int otpc_prog_reply(otpc_prog_req_t *req, const char *fmt, ...);
int otpc_prog_reply_term(otpc_prog_req_t *req, otpc_term_t result);
/* Finishes a cast (or a call with {error, noreply}) without a result. */
void otpc_prog_done(otpc_prog_req_t *req);
/* Runs work on the worker pool; its reply is sent from the loop when done. */
int otpc_prog_queue_work(otpc_prog_req_t *req, otpc_prog_work_fn work);

/* Sends {event, Term} when a credit is available, else queues it (up to
 * max_events; beyond, OTPC_ELIMIT: wait for on_credit). */
int otpc_prog_emit(otpc_prog_t *p, const char *fmt, ...);
/* Credits not yet used. */
uint64_t otpc_prog_credit(const otpc_prog_t *p);
/* Sends {log, Level, Line}; level is a logger level such as "info". */
int otpc_prog_log(otpc_prog_t *p, const char *level, const char *fmt, ...);

/* Starts a child process in a process group of its own, with stdin from
 * /dev/null, stdout into the log capture, SIGPIPE and the other signals at
 * their defaults, and the kernel asked to kill it if this program dies.
 * argv[0] must be a path (no PATH search: only async-signal-safe calls
 * happen between fork and exec). */
int otpc_prog_spawn(otpc_prog_t *p, char *const argv[], pid_t *pid);
/* Ends a child's process group: SIGTERM now, SIGKILL after the grace time
 * if the child has not been reaped by then. OTPC_ENOTFOUND if pid is not a
 * live child of ours. */
int otpc_prog_kill(otpc_prog_t *p, pid_t pid);

#ifdef __cplusplus
}
#endif

#endif
