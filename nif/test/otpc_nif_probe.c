/* The probe NIF library of test/nif_SUITE (module otpc_nif_probe): one
 * function per feature of the toolkit. Built as PROBE_VERSION 1 and 2 for
 * the hot upgrade, and once claiming OTP 99 for the loader's message. */
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "otpc/nif.h"

#ifdef PROBE_FAKE_NIF_MINOR
/* A library built for a VM newer than this one. */
#undef ERL_NIF_MINOR_VERSION
#define ERL_NIF_MINOR_VERSION PROBE_FAKE_NIF_MINOR
#endif

static int echo(otpc_nif_call_t *c) {
  c->ret = c->args[0];
  return 0;
}

static int version(otpc_nif_call_t *c) {
  c->ret.i = PROBE_VERSION;
  return 0;
}

static int flatten(otpc_nif_call_t *c) {
  const ErlNifBinary *b = &c->args[0].bin;
  unsigned char *p = enif_make_new_binary(c->env, b->size, &c->ret.term);
  if (b->size)
    memcpy(p, b->data, b->size);
  return 0;
}

static int fail_with(otpc_nif_call_t *c) {
  return otpc_nif_fail(c, c->argv[0]);
}

static int bad_result(otpc_nif_call_t *c) {
  c->ret.i = 11; /* the result spec says int(0..10) */
  return 0;
}

static int sched_kind(otpc_nif_call_t *c) {
  int t = enif_thread_type();
  c->ret.u = t == ERL_NIF_THR_DIRTY_CPU_SCHEDULER  ? 1
             : t == ERL_NIF_THR_DIRTY_IO_SCHEDULER ? 2
             : t == ERL_NIF_THR_NORMAL_SCHEDULER   ? 0
                                                   : 3;
  return 0;
}

/* Sends {Tag, Version, Id} to pid from a callback (dtor, down). */
static void notify(ErlNifEnv *env, const ErlNifPid *to, const char *tag,
                   int64_t id) {
  ErlNifEnv *m = enif_alloc_env();
  if (!m)
    return;
  ERL_NIF_TERM msg =
      enif_make_tuple3(m, enif_make_atom(m, tag),
                       enif_make_int(m, PROBE_VERSION), enif_make_int64(m, id));
  enif_send(env, to, m, msg);
  enif_free_env(m);
}

/* A cell: a value, and a watcher told of its destruction and of its owner's
 * death. */
typedef struct cell {
  ErlNifPid watcher;
  int64_t value;
  size_t size;
  unsigned char *bytes; /* for res_binary */
} cell_t;

static void cell_dtor(ErlNifEnv *env, void *obj) {
  cell_t *cell = obj;
  notify(env, &cell->watcher, "dtor", cell->value);
  if (cell->bytes)
    enif_free(cell->bytes);
}

static void cell_down(ErlNifEnv *env, void *obj, ErlNifPid *pid,
                      ErlNifMonitor *mon) {
  (void)pid, (void)mon;
  cell_t *cell = obj;
  notify(env, &cell->watcher, "owner_down", cell->value);
}

static int cell_new(otpc_nif_call_t *c) {
  cell_t *cell = otpc_nif_res_new(c, 0, sizeof *cell);
  if (!cell)
    return OTPC_ENOMEM;
  cell->watcher = c->args[0].pid;
  cell->value = c->args[1].i;
  c->ret.res = cell;
  return 0;
}

static int cell_get(otpc_nif_call_t *c) {
  cell_t *cell = c->args[0].res;
  otpc_nif_val_t *v = otpc_nif_seq(c, &c->ret, 2);
  if (!v)
    return OTPC_ENOMEM;
  v[0].i = PROBE_VERSION;
  v[1].i = cell->value;
  return 0;
}

static int cell_watch(otpc_nif_call_t *c) {
  return otpc_nif_res_monitor(c, c->args[0].res, &c->args[1].pid);
}

/* A binary of n bytes (k % 251) living inside a cell: no copy. */
static int cell_binary(otpc_nif_call_t *c) {
  cell_t *cell = c->args[0].res;
  size_t n = (size_t)c->args[1].i;
  if (!cell->bytes) {
    cell->bytes = enif_alloc(n ? n : 1);
    if (!cell->bytes)
      return OTPC_ENOMEM;
    for (size_t k = 0; k < n; k++)
      cell->bytes[k] = (unsigned char)(k % 251);
    cell->size = n;
  }
  c->ret.term = otpc_nif_res_binary(c, cell, cell->bytes, cell->size);
  return 0;
}

/* Pool jobs ------------------------------------------------------------- */

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void send_from_thread(const ErlNifPid *to, const char *tag, int64_t id) {
  notify(NULL, to, tag, id);
}

/* A gate the jobs wait at until the test opens it. */
static ErlNifMutex *gate_lock;
static ErlNifCond *gate_cond;
static int gate_open = 1;

static int gate_set(otpc_nif_call_t *c) {
  enif_mutex_lock(gate_lock);
  gate_open = c->args[0].b;
  enif_cond_broadcast(gate_cond);
  enif_mutex_unlock(gate_lock);
  return 0;
}

/* Tells the watcher it started, waits at the gate, tells it it ran. */
static int gate_job(otpc_nif_call_t *c) {
  send_from_thread(&c->args[0].pid, "started", c->args[1].i);
  enif_mutex_lock(gate_lock);
  while (!gate_open)
    enif_cond_wait(gate_cond, gate_lock);
  enif_mutex_unlock(gate_lock);
  send_from_thread(&c->args[0].pid, "ran", c->args[1].i);
  c->ret.i = c->args[1].i;
  return 0;
}

/* A sum without yielding: the control that shows a NIF holding its
 * scheduler is caught; also the pool's job_sum. */
static int block_sum(otpc_nif_call_t *c) {
  uint64_t s = 0;
  for (size_t k = 0; k < c->args[0].bin.size; k++)
    s += c->args[0].bin.data[k];
  c->ret.u = s;
  return 0;
}

static int fail_job(otpc_nif_call_t *c) {
  return otpc_nif_fail(c, c->argv[0]);
}

/* Runs until its caller dies (at most 60 s), then tells the watcher. The
 * sleep is the job's own pacing on a pool thread, not a test's wait. */
static int wait_cancel(otpc_nif_call_t *c) {
  send_from_thread(&c->args[0].pid, "started", 0);
  for (int k = 0; k < 60000 && !otpc_nif_cancelled(c); k++)
    sleep_ms(1);
  if (otpc_nif_cancelled(c))
    send_from_thread(&c->args[0].pid, "cancelled", 0);
  return 0;
}

static int probe_load(ErlNifEnv *env, void **priv, void *old_priv,
                      ERL_NIF_TERM info) {
  (void)env, (void)old_priv, (void)info;
  if (!gate_lock) {
    gate_lock = enif_mutex_create("probe_gate");
    gate_cond = enif_cond_create("probe_gate");
  }
  *priv = NULL;
  return gate_lock && gate_cond ? 0 : OTPC_ENOMEM;
}

static const otpc_nif_restype_t restypes[] = {{"cell", cell_dtor, cell_down}};
static const otpc_nif_module_t module = {.restypes = restypes,
                                         .nrestypes = 1,
                                         .pool_threads = 1,
                                         .pool_queue_max = 2,
                                         .on_load = probe_load};

#define MAP_SPEC "map(name: bin, count: int(0..))"
#define PROBE_NIFS(X)                                                          \
  X(version, 0, "", "int", OTPC_NIF_NORMAL, version)                           \
  X(t_int, 1, "int", "int", OTPC_NIF_NORMAL, echo)                             \
  X(t_range, 1, "int(-10..10)", "int", OTPC_NIF_NORMAL, echo)                  \
  X(t_uint, 1, "uint", "uint", OTPC_NIF_NORMAL, echo)                          \
  X(t_integer, 1, "integer", "integer", OTPC_NIF_NORMAL, echo)                 \
  X(t_float, 1, "float", "float", OTPC_NIF_NORMAL, echo)                       \
  X(t_num, 1, "num", "float", OTPC_NIF_NORMAL, echo)                           \
  X(t_bool, 1, "bool", "bool", OTPC_NIF_NORMAL, echo)                          \
  X(t_atom, 1, "atom", "atom", OTPC_NIF_NORMAL, echo)                          \
  X(t_enum, 1, "atom(red|green|blue)", "atom(red|green|blue)",                 \
    OTPC_NIF_NORMAL, echo)                                                     \
  X(t_bin, 1, "bin", "bin", OTPC_NIF_NORMAL, echo)                             \
  X(t_iolist, 1, "iolist", "bin", OTPC_NIF_NORMAL, flatten)                    \
  X(t_pid, 1, "pid", "pid", OTPC_NIF_NORMAL, echo)                             \
  X(t_list, 1, "list(int)", "list(int)", OTPC_NIF_NORMAL, echo)                \
  X(t_tuple, 1, "tuple(int, atom(a|b), list(bin))",                            \
    "tuple(int, atom(a|b), list(bin))", OTPC_NIF_NORMAL, echo)                 \
  X(t_map, 1, MAP_SPEC, "tuple(bin, int)", OTPC_NIF_NORMAL, echo)              \
  X(t_nested, 1, "list(" MAP_SPEC ")", "list(tuple(bin, int))",                \
    OTPC_NIF_NORMAL, echo)                                                     \
  X(t_any, 1, "any", "any", OTPC_NIF_NORMAL, echo)                             \
  X(t_two, 2, "int, bin", "bin", OTPC_NIF_NORMAL, flatten_second)              \
  X(block_sum, 1, "bin", "uint", OTPC_NIF_NORMAL, block_sum)                   \
  X(fail_with, 1, "term", "term", OTPC_NIF_NORMAL, fail_with)                  \
  X(bad_result, 0, "", "int(0..10)", OTPC_NIF_NORMAL, bad_result)              \
  X(sched_normal, 0, "", "uint", OTPC_NIF_NORMAL, sched_kind)                  \
  X(sched_dirty_cpu, 0, "", "uint", OTPC_NIF_DIRTY_CPU, sched_kind)            \
  X(sched_dirty_io, 0, "", "uint", OTPC_NIF_DIRTY_IO, sched_kind)              \
  X(cell_new, 2, "pid, int", "res(cell)", OTPC_NIF_NORMAL, cell_new)           \
  X(cell_get, 1, "res(cell)", "tuple(int, int)", OTPC_NIF_NORMAL, cell_get)    \
  X(cell_watch, 2, "res(cell), pid", "", OTPC_NIF_NORMAL, cell_watch)          \
  X(cell_binary, 2, "res(cell), int(0..)", "bin", OTPC_NIF_NORMAL,             \
    cell_binary)                                                               \
  X(gate, 1, "bool", "", OTPC_NIF_NORMAL, gate_set)                            \
  X(gate_job, 2, "pid, int", "int", OTPC_NIF_POOL, gate_job)                   \
  X(fail_job, 1, "term", "term", OTPC_NIF_POOL, fail_job)                      \
  X(wait_cancel, 1, "pid", "", OTPC_NIF_POOL, wait_cancel)                     \
  X(job_sum, 1, "iolist", "uint", OTPC_NIF_POOL, block_sum)

static int flatten_second(otpc_nif_call_t *c) {
  c->ret.term = c->args[1].term;
  return 0;
}

OTPC_NIF_MODULE(otpc_nif_probe, PROBE_NIFS, &module)
