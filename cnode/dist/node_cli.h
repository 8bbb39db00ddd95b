/* otpc-node's command line, parsed apart from main() so that a fuzz target
 * (test/fuzz/fuzz_node_cli.c) can call it. */
#ifndef OTPC_CNODE_DIST_NODE_CLI_H
#define OTPC_CNODE_DIST_NODE_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "handshake.h"

#define OTPC__NODE_USAGE                                                       \
  "usage: otpc-node --sname NAME | --name NAME@HOST [--cookie C] [--hidden]\n" \
  "                 [--ticktime SECONDS] [--epmd-port PORT]\n"                 \
  "                 [--state-dir DIR] [--max-message-size BYTES]\n"

typedef struct otpc__node_cli {
  char name[OTPC__HS_MAX_NAME + 1]; /* alive@host */
  const char *cookie;               /* NULL: ~/.erlang.cookie */
  bool hidden;
  unsigned ticktime; /* 0: the default */
  uint16_t epmd_port;
  const char *state_dir;   /* the counter's state; NULL: the current dir */
  size_t max_message_size; /* 0: the node's default */
} otpc__node_cli_t;

/* 0, or -1 with why[] saying what is wrong. --sname takes the host part
 * of gethostname() up to its first dot, as erl -sname does. */
int otpc__node_parse_args(int argc, char *const *argv, otpc__node_cli_t *out,
                          char *why, size_t why_cap);

#endif
