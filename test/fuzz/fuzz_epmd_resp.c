/* libFuzzer target: arbitrary bytes as epmd's answers to a node. The first
 * byte picks the response kind; every prefix is tried so that "need more"
 * and completion are both exercised. */
#include <stddef.h>
#include <stdint.h>

#include "../../cnode/dist/epmd_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  unsigned kind = data[0] % 3;
  data++;
  size--;
  volatile uint8_t sink = 0;
  for (size_t n = 0; n <= size; n++) {
    if (kind == 0) {
      uint8_t res;
      uint32_t cr;
      otpc_err_t err;
      int rc = otpc__epmd_dec_alive2_resp(data, n, &res, &cr, &err);
      if (rc > 0 && (size_t)rc > n)
        __builtin_trap();
    } else if (kind == 1) {
      bool found;
      otpc__epmd_node_t node;
      int rc = otpc__epmd_dec_port2_resp(data, n, &found, &node, NULL);
      if (rc > 0 && (size_t)rc > n)
        __builtin_trap();
      if (rc > 0 && found) {
        for (size_t i = 0; i < node.name_len; i++)
          sink ^= node.name[i];
        for (size_t i = 0; i < node.extra_len; i++)
          sink ^= node.extra[i];
      }
    }
  }
  if (kind == 2) {
    otpc__epmd_names_t it;
    if (otpc__epmd_dec_names(data, size, &it, NULL) == 0) {
      const uint8_t *name;
      size_t len;
      uint16_t port;
      while (otpc__epmd_names_next(&it, &name, &len, &port, NULL) == 1)
        for (size_t i = 0; i < len; i++)
          sink ^= name[i];
    }
  }
  (void)sink;
  return 0;
}
