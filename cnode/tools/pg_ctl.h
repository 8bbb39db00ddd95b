/* otpc-node's ctl commands for pg (test-only, not a stable contract); see
 * pg_ctl.c for the list. */
#ifndef OTPC_CNODE_TOOLS_PG_CTL_H
#define OTPC_CNODE_TOOLS_PG_CTL_H

#include <stdbool.h>

#include "otpc/node.h"
#include "otpc/process.h"
#include "otpc/term.h"

/* Handles t if it is one of the commands and returns true. */
bool otpc__pg_ctl(otpc_proc_t *self, otpc_node_t *node, otpc_term_t t);

#endif
