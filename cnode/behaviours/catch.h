/* Catching an exit inside a callback, for behaviours that must outlive a
 * crash of user code they host (gen_event's handlers: OTP's `catch
 * Mod:handle_event(...)`). */
#ifndef OTPC_BEHAVIOURS_CATCH_H
#define OTPC_BEHAVIOURS_CATCH_H

#include "otpc/process.h"

/* Runs fn(arg) in the process `self` (a scheduler process, from one of its
 * callbacks). Returns 0 when fn returned, 1 when it exited (otpc_exit,
 * OTPC_CHECK): then *reason is the exit reason (the caller unrefs it) and
 * the process lives on, as after Erlang's catch. Thread processes are not
 * supported: fn runs unguarded there. */
int otpc__catch(otpc_proc_t *self, void (*fn)(void *), void *arg,
                otpc_msg_t **reason);

/* Logs through the runtime's log (OTPC_LOG_* level), for reports of
 * caught crashes. */
void otpc__proc_log(otpc_proc_t *self, int level, const char *text);

#endif
