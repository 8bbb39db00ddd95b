/* libFuzzer target: otpc_fn's decoding by spec (c_src/fn.c) on arbitrary
 * external terms, given as the argument list of each example function
 * (fn/calc.c) and as a port request. Every outcome must be a result or a
 * failure reason that is itself a valid term, or a clean error code. */
#include <stdint.h>
#include <stdlib.h>

#include "otpc/fn.h"
#include "otpc/term.h"

#include "../../fn/calc.h"

static void check(const otpc_fn_t *f, otpc_term_t args, int skip_first) {
  otpc_buf_t out;
  otpc_buf_init(&out);
  int rc = otpc_fn_apply(f, args, skip_first, &out);
  if (rc > 1)
    abort();
  if (rc >= 0) {
    otpc_term_t t;
    size_t used;
    if (otpc_term_parse(out.data, out.len, &t, &used, NULL) != 0 ||
        used != out.len)
      abort();
  } else if (rc != OTPC_EINVAL && rc != OTPC_ETYPE && rc != OTPC_ENOMEM) {
    abort();
  }
  otpc_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static otpc_fn_t *fns[OTPC_FN_CALC_N];
  static int ready;
  if (!ready) {
    if (otpc_fn_calc_new(fns, NULL) != 0)
      abort();
    ready = 1;
  }
  otpc_term_t t;
  if (otpc_term_from_ext(data, size, &t, NULL) != 0)
    return 0;
  for (unsigned k = 0; k < OTPC_FN_CALC_N; k++) {
    check(fns[k], t, 0);
    check(fns[k], t, 1);
  }
  return 0;
}
