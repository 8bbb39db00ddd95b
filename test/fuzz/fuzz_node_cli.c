/* libFuzzer target: otpc-node's command line. The input is split at NUL
 * bytes into argv; a parse must either fail with a reason or give a node
 * name that passes the handshake's name check. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../cnode/dist/node_cli.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = malloc(size + 1);
  if (copy == NULL)
    return 0;
  memcpy(copy, data, size);
  copy[size] = 0;
  char *argv[MAX_ARGS + 1];
  int argc = 0;
  argv[argc++] = "otpc-node";
  for (size_t i = 0; i < size && argc < MAX_ARGS; i += strlen(copy + i) + 1)
    argv[argc++] = copy + i;
  argv[argc] = NULL;
  otpc__node_cli_t cli;
  char why[256];
  why[0] = 0;
  int rc = otpc__node_parse_args(argc, argv, &cli, why, sizeof why);
  if (rc != 0 && why[0] == 0)
    __builtin_trap(); /* a refusal always says why */
  if (rc == 0 && (strchr(cli.name, '@') == NULL || cli.name[0] == '@'))
    __builtin_trap();
  free(copy);
  return 0;
}
