/* libFuzzer target: a format through otpc_term_build, twice. The input is
 * the format's text; the only directive admitted is ~i, and there are more
 * int arguments than it can hold, so an arbitrary format never reads a
 * missing argument. The first build parses the format (and compiles it
 * into the thread's cache), the second replays the compiled program: both
 * must give the same result code and the same bytes, and an error the
 * same offset and message. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otpc/term.h"

#define MAX_INTS 16

static int build(otpc_buf_t *b, otpc_err_t *err, const char *fmt) {
  /* Small and large values: a list of ~i may or may not be a string. */
  return otpc_term_build(b, err, fmt, 1, 300, 2, -5, 255, 256, 3, 1 << 20, 4, 0,
                         5, 7, 6, 70000, 7, 9);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  unsigned tildes = 0;
  for (size_t i = 0; i < size; i++) {
    if (data[i] == 0)
      return 0;
    if (data[i] == '~' &&
        (i + 1 >= size || data[i + 1] != 'i' || ++tildes > MAX_INTS))
      return 0;
  }
  char *fmt = malloc(size + 1);
  if (fmt == NULL)
    return 0;
  memcpy(fmt, data, size);
  fmt[size] = 0;
  otpc_buf_t a = {0}, b = {0};
  otpc_err_t ea, eb;
  int ra = build(&a, &ea, fmt);
  int rb = build(&b, &eb, fmt);
  if (ra != rb || a.len != b.len || (a.len && memcmp(a.data, b.data, a.len)))
    abort();
  if (ra < 0 && (ea.offset != eb.offset || strcmp(ea.msg, eb.msg) != 0))
    abort();
  otpc_buf_free(&a);
  otpc_buf_free(&b);
  free(fmt);
  return 0;
}
