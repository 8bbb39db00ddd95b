/* libFuzzer target: arbitrary frame bodies through the port program's
 * envelope decoder (what the Erlang side sends: call, cast, credit). */
#include <stddef.h>
#include <stdint.h>

#include "port_internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  otpc__prog_msg_t m;
  otpc_err_t err;
  int has_id;
  if (otpc__prog_decode(data, size, &m, &has_id, &err) == 0 &&
      m.kind != OTPC__PROG_CREDIT) {
    /* A decoded request is a valid view: print it as a handler might. */
    char text[64];
    otpc_term_snprint(text, sizeof text, m.request);
  }
  return 0;
}
