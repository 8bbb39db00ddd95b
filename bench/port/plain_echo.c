/* The peer of the port benchmarks: a plain C {packet, 4} port program, as
 * people write them without a framework. A blocking loop that sends every
 * frame back as it came. */
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static int read_all(uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(0, p, n);
    if (r <= 0)
      return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int write_all(const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(1, p, n);
    if (w <= 0)
      return -1;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

int main(void) {
  size_t cap = 1 << 16;
  uint8_t *buf = malloc(cap + 4);
  if (buf == NULL)
    return 1;
  for (;;) {
    if (read_all(buf, 4) < 0)
      return 0;
    size_t len = (size_t)buf[0] << 24 | (size_t)buf[1] << 16 |
                 (size_t)buf[2] << 8 | buf[3];
    if (len > cap) {
      uint8_t *bigger = realloc(buf, len + 4);
      if (bigger == NULL)
        return 1;
      buf = bigger;
      cap = len;
    }
    if (read_all(buf + 4, len) < 0 || write_all(buf, len + 4) < 0)
      return 0;
  }
}
