/* libFuzzer target: arbitrary bytes as requests to the embedded epmd. Each
 * decoded request goes to one registry, on a connection id taken from the
 * input, and some connections close, so the registry's lists churn. */
#include <stddef.h>
#include <stdint.h>

#include "../../cnode/dist/epmd_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  otpc__epmd_srv_t s;
  if (otpc__epmd_srv_init(&s, 4369) != 0)
    return 0;
  s.max_nodes = 8;
  otpc_buf_t out = {0};
  uint64_t now = 1000;
  while (size > 1) {
    uint64_t conn = data[0] & 7;
    bool close_first = data[0] & 8;
    data++;
    size--;
    if (close_first)
      otpc__epmd_srv_closed(&s, conn);
    otpc__epmd_req_t req;
    otpc_err_t err;
    int rc = otpc__epmd_dec_req(data, size, &req, &err);
    if (rc <= 0)
      break;
    if ((size_t)rc > size)
      __builtin_trap();
    bool keep, kill;
    out.len = 0;
    otpc__epmd_srv_handle(&s, conn, &req, now++, &out, &keep, &kill, &err);
    data += rc;
    size -= (size_t)rc;
  }
  otpc_buf_free(&out);
  otpc__epmd_srv_free(&s);
  return 0;
}
