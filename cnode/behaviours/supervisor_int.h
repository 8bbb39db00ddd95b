/* What supervisor.c (the process) and sup_client.c (its clients) share. */
#ifndef OTPC_CNODE_BEHAVIOURS_SUPERVISOR_INT_H
#define OTPC_CNODE_BEHAVIOURS_SUPERVISOR_INT_H

#include <stdint.h>

#include "otpc/supervisor.h"

/* What otpc_sup_start passes to the new process; freed by its init. */
typedef struct otpc__sup_start_arg {
  const otpc_sup_spec_t *spec;
  void *arg;
  otpc_pid_t starter;
  otpc_ref_t tag;
} otpc__sup_start_arg_t;

extern const otpc_proc_class_t otpc__sup_class;

/* The MAC of a start_child ticket (a spec's address), keyed per OS
 * process. */
uint64_t otpc__sup_ticket_mac(uint64_t addr);

#endif
