/* Decoding what a SPAWN_REQUEST carries: its option list and its argument
 * list (see rpc.h). Both come from a peer, so every shape is checked. */
#include <stdio.h>
#include <string.h>

#include "rpc.h"

static int fail(otpc_err_t *err, otpc_term_t what, const char *expected) {
  if (err != NULL) {
    char got[96];
    otpc_term_snprint(got, sizeof got, what);
    err->code = OTPC_EINVAL;
    snprintf(err->msg, sizeof err->msg, "spawn request: expected %s, got %s",
             expected, got);
  }
  return OTPC_EINVAL;
}

/* The elements of a proper list, or OTPC_EINVAL. */
static int proper(otpc_term_t l, otpc_iter_t *it, size_t *n, otpc_err_t *err) {
  otpc_iter_t end;
  otpc_term_t e, tail;
  if (otpc_term_list(l, it, n) != 0)
    return fail(err, l, "a list");
  end = *it;
  while (otpc_iter_next(&end, &e) == 1)
    ;
  if (otpc_iter_tail(&end, &tail) == 0 && otpc_term_type(tail) != OTPC_T_NIL)
    return fail(err, l, "a proper list");
  return 0;
}

/* Options erts passes through to the spawned process: none of them changes
 * a C process, which has no heap of its own to tune. */
static const char *const passed[] = {"priority",           "message_queue_data",
                                     "fullsweep_after",    "min_heap_size",
                                     "min_bin_vheap_size", "max_heap_size",
                                     "async_dist"};

int otpc__rpc_spawn_opts(otpc_term_t opts, unsigned *flags, otpc_err_t *err) {
  otpc_iter_t it;
  otpc_term_t o, mo;
  size_t n;
  char key[32];
  *flags = 0;
  if (proper(opts, &it, &n, err) != 0)
    return OTPC_EINVAL;
  while (otpc_iter_next(&it, &o) == 1) {
    if (otpc_term_is_atom(o, "link") == 1) {
      *flags |= 1;
    } else if (otpc_term_is_atom(o, "monitor") == 1) {
      *flags |= 2;
    } else if (otpc_term_match(o, NULL, "{monitor, ~t}", &mo) == 0) {
      /* {monitor, MonitorOpts}: the alias and tag options are the
       * caller's business; the monitor is set up all the same. */
      otpc_iter_t mi;
      if (proper(mo, &mi, &n, err) != 0)
        return OTPC_EINVAL;
      *flags |= 2;
    } else if (otpc_term_match(o, NULL, "{~s, _}", key, sizeof key) == 0 &&
               otpc_term_element(o, 0, &mo) == 0 &&
               otpc_term_type(mo) == OTPC_T_ATOM) {
      size_t i = 0;
      while (i < sizeof passed / sizeof *passed && strcmp(passed[i], key))
        i++;
      if (i == sizeof passed / sizeof *passed)
        return fail(err, o, "a spawn option (link, monitor, {priority, P}...)");
    } else {
      return fail(err, o, "a spawn option (link, monitor, {priority, P}...)");
    }
  }
  return 0;
}

int otpc__rpc_classify(otpc_atom_t mod, otpc_atom_t fun, unsigned arity,
                       otpc_term_t arglist, otpc_term_t *res, otpc_atom_t *m,
                       otpc_atom_t *f, otpc_term_t *args, otpc_err_t *err) {
  otpc_iter_t it;
  size_t n;
  size_t ml, fl;
  const char *ms = otpc_atom_text(mod, &ml), *fs = otpc_atom_text(fun, &fl);
  bool erpc = ms != NULL && fs != NULL && ml == 4 && memcmp(ms, "erpc", 4) == 0;
  if (proper(arglist, &it, &n, err) != 0)
    return OTPC_EINVAL;
  if (n != arity)
    return fail(err, arglist, "as many arguments as the arity");
  /* The elements are read off the list directly rather than matched with
   * a pattern: this runs once per erpc call, on the node's thread, and
   * the pattern's parse and interning were a tenth of a call's cost. */
  otpc_term_t e[4] = {0};
  size_t i = 0;
  while (i < 4 && otpc_iter_next(&it, &e[i]) == 1)
    i++;
  if (erpc && arity == 4 && fl == 12 && memcmp(fs, "execute_call", 12) == 0) {
    if (otpc_term_atom(e[1], m) != 0 || otpc_term_atom(e[2], f) != 0 ||
        proper(e[3], &it, &n, NULL) != 0)
      return fail(err, arglist, "[Ref, Module, Function, Args]");
    *res = e[0];
    *args = e[3];
    return OTPC__RPC_CALL;
  }
  if (erpc && arity == 3 && fl == 12 && memcmp(fs, "execute_cast", 12) == 0) {
    if (otpc_term_atom(e[0], m) != 0 || otpc_term_atom(e[1], f) != 0 ||
        proper(e[2], &it, &n, NULL) != 0)
      return fail(err, arglist, "[Module, Function, Args]");
    *args = e[2];
    return OTPC__RPC_CAST;
  }
  *m = mod;
  *f = fun;
  *args = arglist;
  return OTPC__RPC_SPAWN;
}
