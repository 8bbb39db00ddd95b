/* libFuzzer target: arbitrary bytes through the {packet, N} decoder. The
 * first byte picks the header size and how the rest is split into feeds. */
#include <stddef.h>
#include <stdint.h>

#include "otpc/frame.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1)
    return 0;
  static const unsigned sizes[] = {1, 2, 4};
  unsigned packet = sizes[data[0] % 3];
  size_t chunk = (size_t)(data[0] >> 2) + 1;
  data++;
  size--;
  otpc_framer_t f;
  if (otpc_framer_init(&f, packet, 4096) != 0)
    return 0;
  int rc = 0;
  while (size > 0 && rc >= 0) {
    size_t n = size < chunk ? size : chunk;
    if (otpc_framer_feed(&f, data, n) != 0)
      break;
    data += n;
    size -= n;
    const uint8_t *frame;
    size_t len;
    volatile uint8_t sink = 0;
    while ((rc = otpc_framer_next(&f, &frame, &len, NULL)) == 1) {
      /* Touch every byte so ASan sees any read past the buffer. */
      for (size_t i = 0; i < len; i++)
        sink ^= frame[i];
    }
    (void)sink;
  }
  otpc_framer_free(&f);
  return 0;
}
