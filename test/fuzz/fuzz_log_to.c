/* libFuzzer target: otpc-node's --log-to option (cnode/services/log_opt.c).
 * The input is split at NUL bytes into argv; its first string is also
 * offered as the OTPC_NODE_LOG_TO fallback. A refusal must say why; an
 * acceptance must keep every other argument, in order, and give a
 * NAME@HOST value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../cnode/services/rpc.h"

#define MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = malloc(size + 1);
  if (copy == NULL)
    return 0;
  memcpy(copy, data, size);
  copy[size] = 0;
  char *argv[MAX_ARGS + 1], *rest[MAX_ARGS + 1];
  int argc = 0, nrest = -1;
  argv[argc++] = "otpc-node";
  for (size_t i = 0; i < size && argc < MAX_ARGS; i += strlen(copy + i) + 1)
    argv[argc++] = copy + i;
  argv[argc] = NULL;
  const char *log_to = NULL;
  char why[256];
  why[0] = 0;
  int rc = otpc__rpc_log_to_arg(argc, argv, rest, &nrest, copy, &log_to, why,
                                sizeof why);
  if (rc != 0 && why[0] == 0)
    __builtin_trap(); /* a refusal always says why */
  if (rc == 0) {
    if (log_to != NULL && (strchr(log_to, '@') == NULL || log_to[0] == '@'))
      __builtin_trap();
    /* rest is argv without the option and its value: a subsequence. */
    int j = 0;
    for (int i = 0; i < argc && j < nrest; i++)
      if (argv[i] == rest[j])
        j++;
    if (j != nrest || rest[nrest] != NULL || nrest > argc)
      __builtin_trap();
  }
  free(copy);
  return 0;
}
