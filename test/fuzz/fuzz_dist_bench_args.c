/* libFuzzer target: the command-line decoders of the dist benchmark
 * (bench/dist/dist_common.h), shared by its otpc and ei programs. The input
 * is split at the first NUL: a scenario argument, then the server pid's
 * hex. Checks: an accepted scenario has the bounds the parser promises; an
 * accepted hex string re-encodes to itself (case aside), and its bytes go
 * through the term layer as the client takes them, without a crash. */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otpc/msg.h"
#include "otpc/term.h"

#include "../../bench/dist/dist_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char *copy = malloc(size + 2);
  if (copy == NULL)
    return 0;
  memcpy(copy, data, size);
  copy[size] = copy[size + 1] = 0;
  const char *scen = copy, *hex = copy + strlen(copy) + 1;
  if (hex > copy + size)
    hex = copy + size; /* no NUL in the input: an empty hex part */

  dist_sc_t sc;
  if (dist_sc_parse(scen, &sc) == 0) {
    if (sc.a <= 0 || sc.a > (1L << 40))
      __builtin_trap();
    if ((sc.kind == SC_BIN && sc.b < sc.a) ||
        (sc.kind == SC_HOL && (sc.b <= 0 || sc.a < sc.b)))
      __builtin_trap();
  }

  size_t n;
  uint8_t *b = dist_unhex(hex, &n);
  if (b != NULL) {
    if (n * 2 != strlen(hex))
      __builtin_trap();
    for (size_t i = 0; i < n; i++) {
      static const char digits[] = "0123456789abcdef";
      if (tolower((unsigned char)hex[2 * i]) != digits[b[i] >> 4] ||
          tolower((unsigned char)hex[2 * i + 1]) != digits[b[i] & 15])
        __builtin_trap();
    }
    otpc_msg_t *m;
    otpc_pid_t pid;
    if (otpc_msg_decode(b, n, &m, NULL) == 0) {
      (void)otpc_term_match(otpc_msg_term(m), NULL, "~p", &pid);
      otpc_msg_unref(m);
    }
    free(b);
  }
  free(copy);
  return 0;
}
