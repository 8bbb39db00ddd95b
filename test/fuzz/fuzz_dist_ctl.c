/* libFuzzer target: control-message decoding. The input is a control term
 * and an optional payload term, back to back as after a 131,68,0 header;
 * a decoded message is encoded again and must decode to the same bytes. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../cnode/dist/dist_ctl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  uint8_t *copy = malloc(size ? size : 1);
  memcpy(copy, data, size);
  otpc_term_t ctl, pay = {NULL, 0};
  size_t used, pused;
  if (otpc_term_parse(copy, size, &ctl, &used, NULL) != 0)
    goto out;
  if (used < size &&
      (otpc_term_parse(copy + used, size - used, &pay, &pused, NULL) != 0 ||
       used + pused != size))
    goto out;
  otpc__dctl_t c;
  otpc_err_t err;
  if (otpc__dctl_decode(ctl, pay, OTPC_ATOM_NONE, &c, &err) == 0) {
    otpc_buf_t b = {0};
    if (otpc__dctl_encode(&b, &c, &err) != 0)
      __builtin_trap();
    otpc_term_t again;
    size_t n;
    otpc__dctl_t d;
    if (otpc_term_parse(b.data, b.len, &again, &n, NULL) != 0 || n != b.len ||
        otpc__dctl_decode(again, pay, OTPC_ATOM_NONE, &d, &err) != 0 ||
        d.op != c.op)
      __builtin_trap();
    otpc_buf_free(&b);
  }
out:
  free(copy);
  return 0;
}
