/* The port toolkit's internal pieces, shared by the port/ sources and their
 * tests: the envelope codec (envelope.c) and the children table (children.c).
 */
#ifndef OTPC_PORT_INTERNAL_H
#define OTPC_PORT_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "otpc/buf.h"
#include "otpc/error.h"
#include "otpc/port.h"
#include "otpc/term.h"

/* ------------------------------------------------------------ envelopes */

enum { OTPC__PROG_CALL = 1, OTPC__PROG_CAST, OTPC__PROG_CREDIT };

/* One decoded frame from the Erlang side. `request` views the frame. */
typedef struct otpc__prog_msg {
  int kind;
  uint64_t id;         /* CALL */
  uint64_t credit;     /* CREDIT: 1 .. 2^32-1 */
  otpc_term_t request; /* CALL, CAST */
} otpc__prog_msg_t;

/* Decodes a frame body (131 + term). OTPC_EBADTERM for bytes that are not
 * a term, OTPC_ENOMATCH for a term that is no envelope; err says which and
 * what was expected. For a {call, Id, _} with a valid Id and a bad rest,
 * msg->id is set and *has_id is 1, so the error can name the call. */
int otpc__prog_decode(const uint8_t *frame, size_t len, otpc__prog_msg_t *msg,
                      int *has_id, otpc_err_t *err);

/* Parses one option from the environment (name as in
 * otpc_prog_config_from_env) into cfg. */
int otpc__prog_option(otpc_prog_config_t *cfg, const char *name,
                      const char *value, otpc_err_t *err);

/* Appends a whole frame: the packet header, 131, and the term built from
 * fmt. OTPC_ELIMIT (out untouched beyond its old length) if the body is
 * over max_frame or the header cannot hold it. */
int otpc__prog_vframe(otpc_buf_t *out, unsigned packet, size_t max_frame,
                      const char *fmt, va_list ap);
int otpc__prog_frame(otpc_buf_t *out, unsigned packet, size_t max_frame,
                     const char *fmt, ...);

/* Writes the whole frame of {crashed, Signal, Id | undefined} into out
 * (room for OTPC__CRASH_FRAME_MAX bytes) and returns its size. Allocates
 * nothing and calls nothing unsafe: it runs in a signal handler. */
#define OTPC__CRASH_FRAME_MAX 48
size_t otpc__prog_crash_frame(uint8_t *out, unsigned packet, int sig,
                              int has_id, uint64_t id);

/* ------------------------------------------------------------- children */

/* The children a program started, each the leader of its own group. */
typedef struct otpc__children {
  pid_t *pids;
  size_t n, cap;
} otpc__children_t;

void otpc__children_init(otpc__children_t *c);
void otpc__children_free(otpc__children_t *c);
/* fork + exec as otpc_prog_spawn describes; stdout_fd (or -1) becomes the
 * child's stdout. */
int otpc__children_spawn(otpc__children_t *c, char *const argv[], int stdout_fd,
                         pid_t *pid);
int otpc__children_has(const otpc__children_t *c, pid_t pid);
/* Reaps the children that have ended without blocking; returns how many. */
int otpc__children_reap(otpc__children_t *c);
/* At exit: SIGTERM to every group, waits up to grace_ms for the leaders,
 * then SIGKILL to the groups still there. Blocking. */
void otpc__children_kill_all(otpc__children_t *c, unsigned grace_ms);

#endif
