/* The examples of the NIF toolkit, module otpc_nif_example:
 *   add/2          integers of any size
 *   sum_binary/1   the sum of a binary's bytes, yielding (any length)
 *   digest/1       FNV-1a 64 of iodata, on a dirty CPU scheduler
 *   counter_new/0, counter_add/2, counter_get/1   a counter resource */
#include <stdatomic.h>
#include <string.h>

#include "otpc/nif.h"

static int ex_add(otpc_nif_call_t *c) {
  otpc_nif_val_t *a = &c->args[0], *b = &c->args[1];
  if (!a->big && !b->big && !__builtin_add_overflow(a->i, b->i, &c->ret.i))
    return 0;
  /* Beyond int64: sign-magnitude addition over the bytes. */
  size_t cap = 1u << 16, na, nb;
  int sa, sb, rc;
  uint8_t *ma, *mb;
  for (;;) {
    ma = otpc_nif_scratch(c, cap);
    mb = otpc_nif_scratch(c, cap);
    if (!ma || !mb)
      return OTPC_ENOMEM;
    rc = otpc_nif_big_get(c->env, a->term, &sa, ma, cap, &na);
    if (rc == 0)
      rc = otpc_nif_big_get(c->env, b->term, &sb, mb, cap, &nb);
    if (rc != OTPC_ERANGE || cap >= (1u << 28))
      break;
    cap <<= 4;
  }
  if (rc < 0)
    return rc;
  size_t n = (na > nb ? na : nb) + 1;
  uint8_t *r = otpc_nif_scratch(c, n);
  if (!r)
    return OTPC_ENOMEM;
  int sign = sa;
  if (sa == sb) {
    unsigned carry = 0;
    for (size_t k = 0; k < n; k++) {
      unsigned s = (k < na ? ma[k] : 0u) + (k < nb ? mb[k] : 0u) + carry;
      r[k] = (uint8_t)s;
      carry = s >> 8;
    }
  } else {
    /* Subtract the smaller magnitude from the larger; the larger's sign. */
    int cmp = na != nb ? (na > nb ? 1 : -1) : 0;
    for (size_t k = na; cmp == 0 && k-- > 0;)
      if (ma[k] != mb[k])
        cmp = ma[k] > mb[k] ? 1 : -1;
    const uint8_t *big = cmp >= 0 ? ma : mb, *small = cmp >= 0 ? mb : ma;
    size_t nbig = cmp >= 0 ? na : nb, nsmall = cmp >= 0 ? nb : na;
    sign = cmp >= 0 ? sa : sb;
    int borrow = 0;
    for (size_t k = 0; k < n; k++) {
      int d = (k < nbig ? big[k] : 0) - (k < nsmall ? small[k] : 0) - borrow;
      borrow = d < 0;
      r[k] = (uint8_t)(d + (borrow ? 256 : 0));
    }
  }
  c->ret.big = 1;
  c->ret.term = otpc_nif_big_make(c->env, sign, r, n);
  return 0;
}

/* sum_binary: 64 KiB per step, a few microseconds each. */
typedef struct sum_state {
  size_t off;
  uint64_t sum;
} sum_state_t;

#define SUM_STEP (64u * 1024)

static int sum_step(otpc_nif_call_t *c, void *state) {
  sum_state_t *s = state;
  const ErlNifBinary *bin = &c->args[0].bin;
  size_t end = bin->size - s->off > SUM_STEP ? s->off + SUM_STEP : bin->size;
  uint64_t sum = 0;
  for (size_t k = s->off; k < end; k++)
    sum += bin->data[k];
  s->sum += sum;
  s->off = end;
  if (s->off < bin->size)
    return OTPC_NIF_MORE;
  c->ret.u = s->sum;
  return 0;
}

static int ex_sum_binary(otpc_nif_call_t *c) {
  sum_state_t s = {0, 0};
  /* Small binaries are summed at once; no need to schedule. */
  if (c->args[0].bin.size <= SUM_STEP)
    return sum_step(c, &s);
  return otpc_nif_yield(c, sum_step, &s, sizeof s);
}

static int ex_digest(otpc_nif_call_t *c) {
  const ErlNifBinary *bin = &c->args[0].bin;
  uint64_t h = 14695981039346656037ull;
  for (size_t k = 0; k < bin->size; k++) {
    h ^= bin->data[k];
    h *= 1099511628211ull;
  }
  c->ret.u = h;
  return 0;
}

typedef struct counter {
  /* Processes on several schedulers may add at once. Relaxed is enough:
   * the counter publishes no other memory; each add is one atomic RMW. */
  atomic_int_fast64_t value;
} counter_t;

static int ex_counter_new(otpc_nif_call_t *c) {
  counter_t *ctr = otpc_nif_res_new(c, 0, sizeof *ctr);
  if (!ctr)
    return OTPC_ENOMEM;
  atomic_init(&ctr->value, 0);
  c->ret.res = ctr;
  return 0;
}

static int ex_counter_add(otpc_nif_call_t *c) {
  counter_t *ctr = c->args[0].res;
  int64_t by = c->args[1].i;
  c->ret.i =
      atomic_fetch_add_explicit(&ctr->value, by, memory_order_relaxed) + by;
  return 0;
}

static int ex_counter_get(otpc_nif_call_t *c) {
  counter_t *ctr = c->args[0].res;
  c->ret.i = atomic_load_explicit(&ctr->value, memory_order_relaxed);
  return 0;
}

static const otpc_nif_restype_t restypes[] = {{"counter", NULL, NULL}};
static const otpc_nif_module_t module = {.restypes = restypes, .nrestypes = 1};

/* Counter steps stay within +-2^40 so that sums never overflow int64. */
#define EXAMPLE_NIFS(X)                                                        \
  X(add, 2, "integer, integer", "integer", OTPC_NIF_NORMAL, ex_add)            \
  X(sum_binary, 1, "bin", "uint", OTPC_NIF_NORMAL, ex_sum_binary)              \
  X(digest, 1, "iolist", "uint", OTPC_NIF_DIRTY_CPU, ex_digest)                \
  X(counter_new, 0, "", "res(counter)", OTPC_NIF_NORMAL, ex_counter_new)       \
  X(counter_add, 2, "res(counter), int(-1099511627776..1099511627776)", "int", \
    OTPC_NIF_NORMAL, ex_counter_add)                                           \
  X(counter_get, 1, "res(counter)", "int", OTPC_NIF_NORMAL, ex_counter_get)

OTPC_NIF_MODULE(otpc_nif_example, EXAMPLE_NIFS, &module)
