/* libFuzzer target: the NIF toolkit's spec parser on arbitrary strings. It
 * must return 0 or a clean error, and a parsed spec must be well formed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../nif/spec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *text = malloc(size + 1);
  if (!text)
    return 0;
  memcpy(text, data, size);
  text[size] = '\0';
  otpc_nif__spec_t spec;
  otpc_err_t err;
  if (otpc_nif__spec_parse(text, &spec, &err) == 0) {
    for (unsigned k = 0; k < spec.nnodes; k++) {
      const otpc_nif__node_t *n = &spec.nodes[k];
      if (n->child >= (int)spec.nnodes || n->next >= (int)spec.nnodes ||
          n->text_off + n->text_len > strlen(text) ||
          (n->name >= 0 && n->name >= (int)spec.nnames) ||
          n->first_name + n->nnames > spec.nnames)
        abort();
    }
  } else if (err.msg[0] == '\0') {
    abort();
  }
  free(text);
  return 0;
}
