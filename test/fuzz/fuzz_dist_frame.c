/* libFuzzer target: a stream of frame bodies through the incoming header
 * and fragment reassembly. Byte 0 picks the mode; then each frame is a
 * 2-byte length and its bytes. Small limits make the bounds reachable;
 * byte 0's bit 7 turns on drop_over (oversized messages skipped). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "../../cnode/dist/dist_frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  otpc__dist_mode_t mode = (otpc__dist_mode_t)(1 + data[0] % 3);
  data++;
  size--;
  otpc__dist_in_t in;
  if (otpc__dist_in_init(&in, mode, 2048) != 0)
    return 0;
  in.max_seqs = 4;
  in.max_pending = 4096;
  in.drop_over = (data[-1] & 0x80) != 0;
  volatile uint8_t sink = 0;
  while (size >= 2) {
    size_t len = (size_t)data[0] << 8 | data[1];
    data += 2;
    size -= 2;
    if (len > size)
      len = size;
    /* A copy of exactly len bytes, so ASan sees any read past the frame. */
    uint8_t *frame = malloc(len ? len : 1);
    for (size_t i = 0; i < len; i++)
      frame[i] = data[i];
    otpc__dist_msg_t m;
    otpc_err_t err;
    int rc = otpc__dist_in_frame(&in, frame, len, &m, &err);
    if (rc == OTPC__DIST_MSG || rc == OTPC__DIST_DROPPED) {
      for (size_t i = 0; i < m.ctl.len; i++)
        sink ^= m.ctl.p[i];
      for (size_t i = 0; i < m.payload.len; i++)
        sink ^= m.payload.p[i];
      free(m.owned);
    }
    free(frame);
    data += len;
    size -= len;
    if (rc < 0)
      break;
  }
  (void)sink;
  otpc__dist_in_free(&in);
  return 0;
}
