/* A distributed node: the sans-IO codecs of cnode/dist/ on a libuv loop of
 * its own, joined to a process runtime (cnode/runtime/rt_remote.h). The
 * public face is include/otpc/node.h; see docs/dist.md ("The node"). */
#ifndef OTPC_CNODE_DIST_NODE_H
#define OTPC_CNODE_DIST_NODE_H

#include "otpc/node.h"

#endif
