/* otpc-node's `counter` service: a gen_server registered as `counter`
 * under a one_for_one supervisor `counter_sup` (intensity 3 in 5 s). See
 * node_counter.c for the contract. */
#ifndef OTPC_CNODE_TOOLS_NODE_COUNTER_H
#define OTPC_CNODE_TOOLS_NODE_COUNTER_H

#include "otpc/process.h"

/* Starts counter_sup (and through it counter) on rt; the counter keeps
 * its value in STATE_DIR/counter.state (state_dir NULL: the current
 * directory). state_dir must outlive the runtime. Blocks until the tree
 * runs; from a thread that is not a scheduler. */
int otpc__node_counter_start(otpc_rt_t *rt, const char *state_dir);

#endif
