/* libFuzzer target: arbitrary values of the port program's environment
 * options. The first byte picks the option, the rest is its value. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "port_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static const char *const names[] = {"OTPC_PORT_PACKET", "OTPC_PORT_IO",
                                      "OTPC_PORT_MAX_FRAME", "OTPC_PORT_WINDOW",
                                      "OTPC_PORT_OTHER"};
  if (size < 1)
    return 0;
  char *value = malloc(size);
  if (value == NULL)
    return 0;
  memcpy(value, data + 1, size - 1);
  value[size - 1] = '\0'; /* the environment gives C strings */
  otpc_prog_config_t cfg;
  otpc_err_t err;
  otpc_prog_config_init(&cfg);
  otpc__prog_option(&cfg, names[data[0] % 5], value, &err);
  free(value);
  return 0;
}
