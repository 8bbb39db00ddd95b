/* What the gen_* behaviours share: proc_lib's start (spawn with a monitor,
 * wait for the ack or the DOWN) and gen:call (monitor, send, wait for the
 * reply or the DOWN), from a process (continuation) or a thread process
 * (blocking: cont NULL, the result in *res). Defined in gen_server.c, where
 * the clients were first written. */
#ifndef OTPC_BEHAVIOURS_GEN_H
#define OTPC_BEHAVIOURS_GEN_H

#include "otpc/gen_server.h"

/* What a start passes to the new process's init, which frees it and acks
 * {Tag, {ok, Pid} | ignore | {error, Reason}} to the starter. */
typedef struct otpc__gen_start_arg {
  const void *cls; /* the behaviour's callback table */
  void *arg;
  otpc_pid_t starter;
  otpc_ref_t tag;
  bool linked;
} otpc__gen_start_arg_t;

/* Spawns a process of `pcls` whose init gets a malloc'ed
 * otpc__gen_start_arg_t carrying `cls` and `arg`. */
int otpc__gen_start(otpc_proc_t *self, const otpc_proc_class_t *pcls,
                    const void *cls, void *arg,
                    const otpc_gs_start_opts_t *opts, otpc_gs_cont_fn cont,
                    void *ctx, otpc_gs_result_t *res);

/* gen:call(Server, Label, Req, Timeout) with Label '$gen_call' (gen_server,
 * gen_statem) or, with pid_label, the caller's pid (gen_event's rpc). */
int otpc__gen_call(otpc_proc_t *self, otpc_pid_t server, bool pid_label,
                   otpc_term_t req, int64_t timeout_ms, otpc_gs_cont_fn cont,
                   void *ctx, otpc_gs_result_t *res);

/* Room for one more element in an array of n used of *cap (elem bytes
 * each), doubling from `first`: the array (moved or not), or NULL with v
 * untouched when memory ran out. Defined in gen_statem_actions.c. */
void *otpc__grow(void *v, size_t *cap, size_t n, size_t elem, size_t first);

/* gen:reply(From, Reply) with From the term {Pid, Tag} of a request and
 * the reply built from fmt; a From of another shape is ignored. Defined in
 * gen_statem_actions.c. */
int otpc__gen_reply_from(otpc_proc_t *self, otpc_term_t from, const char *fmt,
                         ...);

#endif
