/* Example functions, declared once and deployed as a port program
 * (port/examples/otpc-fn-port.c) and a C node (cnode/tools/otpc-fn-node.c),
 * all as Erlang module otpc_fn_calc. They see C values only. */
#include "calc.h"

#include <string.h>

/* add(A, B): A in 0..1000, any int64 B; an overflow is the function's own
 * failure, reported as the reason `overflow`. */
static int add(otpc_fn_call_t *c) {
  int64_t a = c->args[0].i, b = c->args[1].i;
  if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b))
    return otpc_fn_fail(c, "overflow");
  c->ret.i = a + b;
  return 0;
}

/* mean(Numbers): the mean of a non-empty list of numbers. */
static int mean(otpc_fn_call_t *c) {
  const otpc_fn_val_t *l = &c->args[0];
  if (l->seq.n == 0)
    return otpc_fn_fail(c, "{empty_list, ~a}", "mean");
  double sum = 0;
  for (size_t k = 0; k < l->seq.n; k++)
    sum += l->seq.v[k].f;
  c->ret.f = sum / (double)l->seq.n;
  return 0;
}

/* pick(min | max, {A, B}) -> the smaller or larger one. */
static int pick(otpc_fn_call_t *c) {
  int64_t a = c->args[1].seq.v[0].i, b = c->args[1].seq.v[1].i;
  c->ret.i = (c->args[0].u == 0) == (a < b) ? a : b;
  return 0;
}

/* join(Bin, Bin, Reverse) -> the two binaries concatenated, reversed
 * as a whole when Reverse is true. */
static int join(otpc_fn_call_t *c) {
  size_t n1 = c->args[0].bin.n, n2 = c->args[1].bin.n;
  uint8_t *p = otpc_fn_scratch(c, n1 + n2 + 1);
  if (!p)
    return otpc_fn_fail(c, "enomem");
  if (n1)
    memcpy(p, c->args[0].bin.p, n1);
  if (n2)
    memcpy(p + n1, c->args[1].bin.p, n2);
  if (c->args[2].b)
    for (size_t i = 0, j = n1 + n2; i + 1 < j; i++, j--) {
      uint8_t x = p[i];
      p[i] = p[j - 1];
      p[j - 1] = x;
    }
  c->ret.bin.p = p;
  c->ret.bin.n = n1 + n2;
  return 0;
}

const otpc_fn_decl_t otpc_fn_calc[OTPC_FN_CALC_N] = {
    {"otpc_fn_calc", "add", 2, "int(0..1000), int", "int", add},
    {"otpc_fn_calc", "mean", 1, "list(num)", "float", mean},
    {"otpc_fn_calc", "pick", 2, "atom(min|max), tuple(int, int)", "int", pick},
    {"otpc_fn_calc", "join", 3, "bin, bin, bool", "bin", join},
};

int otpc_fn_calc_new(otpc_fn_t **fns, otpc_err_t *err) {
  for (unsigned k = 0; k < OTPC_FN_CALC_N; k++) {
    int rc = otpc_fn_new(&otpc_fn_calc[k], NULL, &fns[k], err);
    if (rc < 0) {
      while (k-- > 0)
        otpc_fn_free(fns[k]);
      return rc;
    }
  }
  return 0;
}
