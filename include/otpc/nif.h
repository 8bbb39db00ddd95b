/* otpc NIF toolkit: native functions declared in one table, arguments decoded
 * and results encoded by spec, precise badarg exceptions, typed resources
 * with owner monitors, a yielding helper that keeps every normal scheduler
 * free within 1 ms, a bounded thread pool, and load/upgrade/unload done right.
 *
 * A NIF library declares its functions with an X-macro table and one call to
 * OTPC_NIF_MODULE:
 *
 *   #define MY_NIFS(X)                                                   \
 *     X(add, 2, "integer, integer", "integer", OTPC_NIF_NORMAL, my_add)  \
 *     X(digest, 1, "any", "uint", OTPC_NIF_DIRTY_CPU, my_digest)
 *   static const otpc_nif_module_t my_module = {.restypes = ...};
 *   OTPC_NIF_MODULE(my_erlang_module, MY_NIFS, &my_module)
 *
 * Each implementation is `int fn(otpc_nif_call_t *c)`: it reads c->args[i]
 * (decoded by the argument spec), fills c->ret (encoded by the result spec)
 * and returns 0; or returns otpc_nif_fail(c, Term) to raise error:Term; or
 * returns otpc_nif_yield(...) to continue in slices; or a negative OTPC_E*
 * code, raised as error:{otpc_nif, Code}.
 *
 * Spec language (one spec per argument, comma separated; see docs/nif.md):
 *   int | int(LO..HI) | int(LO..) | int(..HI)   int64_t in .i
 *   uint                                        uint64_t in .u
 *   integer       any size: .i when .big is 0, else the term in .term
 *   float         a float, as double in .f     num   integer or float in .f
 *   bool          .b                           atom  any atom (.term)
 *   atom(a|b|c)   one of these atoms, its 0-based index in .u
 *   bin           a binary, .bin (not a copy)  iolist  iodata flattened, .bin
 *   pid           .pid                         term  anything, .term only
 *   res(NAME)     a resource of the type NAME of the module table, .res
 *   list(T)       a proper list, .seq.v[0 .. .seq.n-1] decoded as T
 *   tuple(T1, ...)                  exactly these elements, .seq
 *   map(k1: T1, k2: T2, ...)        a map with at least these atom keys;
 *                                   field i (in spec order) in .seq.v[i]
 *   any           any term as a tree (.kind, .seq), decoded iteratively
 *                 whatever its depth, bounded by OTPC_NIF_ANY_MAX_NODES
 * Result specs use the same language; `bin`, `iolist`, `atom` and `term`
 * results are returned from .term, `res` from .res (a new reference). */
#ifndef OTPC_NIF_H
#define OTPC_NIF_H

#include <erl_nif.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "otpc/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Scheduling of a NIF. POOL runs the implementation on the module's thread
 * pool: the call returns {ok, Ref} at once (or {error, busy} when the queue
 * is full) and the caller later receives {Ref, {ok, Result}} or
 * {Ref, {error, Reason}}; otpc_nif:await/2 waits for it. */
typedef enum otpc_nif_sched {
  OTPC_NIF_NORMAL = 0,
  OTPC_NIF_DIRTY_CPU = 1,
  OTPC_NIF_DIRTY_IO = 2,
  OTPC_NIF_POOL = 3
} otpc_nif_sched_t;

/* The kind of a node of an `any` tree (otpc_nif_val_t.kind). */
enum {
  OTPC_NIF_K_INT = 1, /* .i */
  OTPC_NIF_K_BIGINT,  /* .term: an integer beyond int64 */
  OTPC_NIF_K_FLOAT,   /* .f */
  OTPC_NIF_K_ATOM,    /* .term */
  OTPC_NIF_K_BIN,     /* .bin (a binary; bitstrings are K_OTHER) */
  OTPC_NIF_K_LIST,    /* .seq; .improper: the last item is the tail */
  OTPC_NIF_K_TUPLE,   /* .seq */
  OTPC_NIF_K_MAP,     /* .seq: 2n items, key then value */
  OTPC_NIF_K_OTHER    /* .term: pid, port, reference, fun, bitstring */
};

/* A decoded argument or a result to encode. .term is always the term as
 * received (for results: 0 unless the spec returns it from .term). */
typedef struct otpc_nif_val {
  ERL_NIF_TERM term;
  union {
    int64_t i;
    uint64_t u;
    double f;
    bool b;
    ErlNifBinary bin;
    ErlNifPid pid;
    void *res;
    struct {
      struct otpc_nif_val *v;
      size_t n;
    } seq;
  };
  uint8_t kind;     /* `any` nodes only */
  uint8_t big;      /* `integer`: 1 when the value is only in .term */
  uint8_t improper; /* `any` lists */
} otpc_nif_val_t;

/* Decoding an `any` argument stops with a badarg beyond this many nodes, so
 * a huge term costs bounded memory. */
#define OTPC_NIF_ANY_MAX_NODES (16u * 1024 * 1024)

struct otpc_nif__arena;
struct otpc_nif__lib;
struct otpc_nif__fn;

/* One call of a NIF (also one slice of a yielding NIF, one pool job). */
typedef struct otpc_nif_call {
  ErlNifEnv *env;
  int argc;
  const ERL_NIF_TERM *argv;
  otpc_nif_val_t *args; /* decoded, argc of them */
  otpc_nif_val_t ret;   /* to encode by the result spec */
  void *priv;           /* the module's user data (see on_load) */
  /* Internal. */
  const struct otpc_nif__fn *fn;
  struct otpc_nif__lib *lib;
  struct otpc_nif__arena *arena;
  ERL_NIF_TERM out;
  void *job;
} otpc_nif_call_t;

typedef int (*otpc_nif_impl_t)(otpc_nif_call_t *c);

/* One resource type of the module. dtor runs when the last reference goes;
 * down runs when a process monitored with otpc_nif_res_monitor dies (the
 * owner-death callback). Both may be NULL. */
typedef struct otpc_nif_restype {
  const char *name;
  ErlNifResourceDtor *dtor;
  ErlNifResourceDown *down;
} otpc_nif_restype_t;

/* Module-wide declarations: resource types (created on load, taken over on
 * upgrade), the thread pool (0 threads: no pool), and optional hooks. */
typedef struct otpc_nif_module {
  const otpc_nif_restype_t *restypes;
  unsigned nrestypes;
  unsigned pool_threads;
  unsigned pool_queue_max; /* queued jobs beyond this: {error, busy} */
  /* On load (old_priv NULL) and on upgrade (old_priv: the previous
   * library's user data). Sets *priv; returns 0 or a negative code, which
   * makes the load fail. load_info is the term given to load_nif. */
  int (*on_load)(ErlNifEnv *env, void **priv, void *old_priv,
                 ERL_NIF_TERM load_info);
  /* When this library's code is unloaded (after its pool has stopped). */
  void (*on_unload)(ErlNifEnv *env, void *priv);
} otpc_nif_module_t;

/* A declared NIF, made by OTPC_NIF_MODULE from the table. */
typedef struct otpc_nif_decl {
  const char *name;
  unsigned arity;
  const char *args;
  const char *result;
  otpc_nif_sched_t sched;
  otpc_nif_impl_t impl;
} otpc_nif_decl_t;

/* Raise error:Reason from an implementation: `return otpc_nif_fail(c, T);`.
 * Also the way a pool job reports failure ({Ref, {error, T}}). */
int otpc_nif_fail(otpc_nif_call_t *c, ERL_NIF_TERM reason);

/* Scratch memory freed after the call (slice, job); NULL if out of memory.*/
void *otpc_nif_scratch(otpc_nif_call_t *c, size_t size);

/* A result sequence of n values (for list/tuple/map results): sets
 * c->ret.seq (or v->seq) and returns its items, or NULL if out of memory. */
otpc_nif_val_t *otpc_nif_seq(otpc_nif_call_t *c, otpc_nif_val_t *v, size_t n);

/* Yielding: returns from the implementation as
 *   return otpc_nif_yield(c, step, &state, sizeof state);
 * step(c, state) is then called over and over with the same decoded
 * arguments and the carried state (a copy kept in a resource, freed with
 * it even if the process dies half-way). It returns OTPC_NIF_MORE to go on,
 * 0 when c->ret holds the result, or fails like an implementation. Each
 * step should do a bounded piece of work (tens of microseconds): the helper
 * runs steps for at most ~0.2 ms per schedule, reports the time with
 * enif_consume_timeslice and reschedules with enif_schedule_nif, so no
 * normal scheduler is held more than 1 ms. Arguments are decoded again for
 * each schedule (cheap for bin, int, res; iolist re-flattens). */
#define OTPC_NIF_MORE 1
typedef int (*otpc_nif_step_t)(otpc_nif_call_t *c, void *state);
int otpc_nif_yield(otpc_nif_call_t *c, otpc_nif_step_t step, const void *state,
                   size_t state_size);

/* In a pool job: true once the caller has died (the job may stop early;
 * its result is dropped anyway). Always false outside pool jobs. */
bool otpc_nif_cancelled(const otpc_nif_call_t *c);

/* Resources of the module's types (index into otpc_nif_module_t.restypes).
 * res_new returns a zeroed object (one reference, owned by the caller: put
 * it in c->ret.res of a `res` result, which hands that reference over, or
 * release it with enif_release_resource), NULL if out of memory. */
void *otpc_nif_res_new(otpc_nif_call_t *c, unsigned type, size_t size);
/* Calls the type's down callback when pid dies (0 or OTPC_EINVAL when the
 * process is not alive, OTPC_ENOTSUP when the type has no down callback). */
int otpc_nif_res_monitor(otpc_nif_call_t *c, void *obj, const ErlNifPid *pid);
/* A binary term of size bytes at data, inside (or owned by) the resource
 * obj: no copy; it keeps obj alive as long as the binary lives. */
ERL_NIF_TERM otpc_nif_res_binary(otpc_nif_call_t *c, void *obj,
                                 const void *data, size_t size);

/* Integers of any size as sign + little-endian magnitude (for arithmetic
 * on `integer` arguments). big_get fills *neg and mag[0..*n) (mag has room
 * for cap bytes) and returns 0, OTPC_ETYPE (not an integer) or
 * OTPC_ERANGE (more than cap bytes); big_make builds the integer term. */
int otpc_nif_big_get(ErlNifEnv *env, ERL_NIF_TERM t, int *neg, uint8_t *mag,
                     size_t cap, size_t *n);
ERL_NIF_TERM otpc_nif_big_make(ErlNifEnv *env, int neg, const uint8_t *mag,
                               size_t n);

/* Internal entry points used by the macros below. */
ERL_NIF_TERM otpc_nif__dispatch(ErlNifEnv *env, int argc,
                                const ERL_NIF_TERM argv[], unsigned index);
int otpc_nif__load(ErlNifEnv *env, void **priv, ERL_NIF_TERM info,
                   const char *module, const otpc_nif_decl_t *decls,
                   unsigned ndecls, const otpc_nif_module_t *mod);
int otpc_nif__upgrade(ErlNifEnv *env, void **priv, void **old_priv,
                      ERL_NIF_TERM info, const char *module,
                      const otpc_nif_decl_t *decls, unsigned ndecls,
                      const otpc_nif_module_t *mod);
void otpc_nif__unload(ErlNifEnv *env, void *priv);

/* The OTP release and NIF version a library was built for, embedded as a
 * string that otpc_nif:load/3 reads before loading, to say exactly what is
 * wrong with a library built for another OTP. */
#ifndef OTPC_NIF_OTP_RELEASE
#define OTPC_NIF_OTP_RELEASE unknown
#endif
#define OTPC_NIF__STR2(x) #x
#define OTPC_NIF__STR(x) OTPC_NIF__STR2(x)

#define OTPC_NIF__DECL(name, arity, args, result, sched, impl)                 \
  {#name, arity, args, result, sched, impl},
#define OTPC_NIF__ENUM(name, arity, args, result, sched, impl)                 \
  otpc_nif__idx_##name,
#define OTPC_NIF__WRAP(name, arity, args, result, sched, impl)                 \
  static ERL_NIF_TERM otpc_nif__w_##name(ErlNifEnv *env, int argc,             \
                                         const ERL_NIF_TERM argv[]) {          \
    return otpc_nif__dispatch(env, argc, argv, otpc_nif__idx_##name);          \
  }
#define OTPC_NIF__FUNC(name, arity, args, result, sched, impl)                 \
  {#name, arity, otpc_nif__w_##name,                                           \
   (sched) == OTPC_NIF_DIRTY_CPU  ? ERL_NIF_DIRTY_JOB_CPU_BOUND                \
   : (sched) == OTPC_NIF_DIRTY_IO ? ERL_NIF_DIRTY_JOB_IO_BOUND                 \
                                  : 0},

/* Defines the NIF library of Erlang module MODNAME from the table TABLE(X)
 * and the module declarations MOD (a const otpc_nif_module_t *). */
#define OTPC_NIF_MODULE(MODNAME, TABLE, MOD)                                                        \
  enum { TABLE(OTPC_NIF__ENUM) otpc_nif__count };                                                   \
  static const otpc_nif_decl_t otpc_nif__decls[] = {TABLE(OTPC_NIF__DECL)};                         \
  TABLE(OTPC_NIF__WRAP)                                                                             \
  static ErlNifFunc otpc_nif__funcs[] = {TABLE(OTPC_NIF__FUNC)};                                    \
  __attribute__((used, visibility("default"))) const char                                           \
      otpc_nif__built_for_##MODNAME                                                                 \
          [] = "otpc-nif-built-for:otp=" OTPC_NIF__STR(OTPC_NIF_OTP_RELEASE) ";nif=" OTPC_NIF__STR( \
              ERL_NIF_MAJOR_VERSION) "." OTPC_NIF__STR(ERL_NIF_MINOR_VERSION) ";";                  \
  static int otpc_nif__on_load(ErlNifEnv *env, void **priv,                                         \
                               ERL_NIF_TERM info) {                                                 \
    return otpc_nif__load(env, priv, info, #MODNAME, otpc_nif__decls,                               \
                          otpc_nif__count, MOD);                                                    \
  }                                                                                                 \
  static int otpc_nif__on_upgrade(ErlNifEnv *env, void **priv,                                      \
                                  void **old_priv, ERL_NIF_TERM info) {                             \
    return otpc_nif__upgrade(env, priv, old_priv, info, #MODNAME,                                   \
                             otpc_nif__decls, otpc_nif__count, MOD);                                \
  }                                                                                                 \
  ERL_NIF_INIT(MODNAME, otpc_nif__funcs, otpc_nif__on_load, NULL,                                   \
               otpc_nif__on_upgrade, otpc_nif__unload)

#ifdef __cplusplus
}
#endif

#endif
