/* What gen_event.c (the manager), gen_event_shared.c (the registry and
 * the counters) and gen_event_client.c share. */
#ifndef OTPC_BEHAVIOURS_GEN_EVENT_INT_H
#define OTPC_BEHAVIOURS_GEN_EVENT_INT_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "otpc/gen_event.h"
#include "otpc/process.h"

/* A manager's counters, in the manager's state. `queued` is raised by
 * notifiers under the table's lock (so the check and the raise are one
 * step) and lowered by the manager without it. */
typedef struct otpc__ge_shared {
  otpc_pid_t pid;
  _Atomic size_t queued;
  _Atomic uint64_t dropped;
  size_t max;
  otpc_ge_overflow_t overflow;
} otpc__ge_shared_t;

/* In gen_event_shared.c: */

/* The registered table of a module atom, or NULL. */
const otpc_gen_event_handler_t *otpc__ge_reg_lookup(otpc_term_t module);
/* A manager's counters in and out of the table (init, terminate). */
int otpc__ge_tab_add(otpc__ge_shared_t *s);
void otpc__ge_tab_remove(otpc__ge_shared_t *s);

/* Reserves a place in a local manager's bound: 0 (counted: send
 * '$otpc_notify'), 1 (no bound: send notify), OTPC_ELIMIT (full; *drop
 * says whether it was dropped and counted, by the manager's policy). */
int otpc__ge_reserve(otpc_pid_t mgr, bool *drop);

/* In gen_event.c: the manager's process class; its init takes an
 * otpc__gen_start_arg_t whose cls is the otpc_ge_start_opts_t. */
extern const otpc_proc_class_t otpc__ge_mgr_class;

#endif
