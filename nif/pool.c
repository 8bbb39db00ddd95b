/* The thread pool: a NIF declared OTPC_NIF_POOL returns {ok, Ref} at once
 * and its implementation runs on one of the module's threads; the caller
 * receives {Ref, {ok, Result}} or {Ref, {error, Reason}}. The queue is
 * bounded ({error, busy} beyond it: back-pressure instead of unbounded
 * memory), and each job monitors its caller: when the caller dies a queued
 * job is dropped and a running one sees otpc_nif_cancelled() turn true. */
#include <stdatomic.h>
#include <string.h>

#include "nif_int.h"

typedef struct job {
  struct job *next;
  unsigned index;
  int argc;
  ErlNifEnv *env; /* holds the copied arguments and the reference */
  ERL_NIF_TERM *argv;
  ERL_NIF_TERM ref;
  ErlNifPid caller;
  ErlNifMonitor mon;
  int monitored;
  /* Set by the down callback (a scheduler thread), read by the worker.
   * Relaxed is enough: it is a lone flag; no other data is published
   * through it, and a late read only means a little wasted work. */
  atomic_int cancelled;
} job_t;

typedef struct otpc_nif__pool {
  ErlNifMutex *lock;
  ErlNifCond *cond;
  job_t *head, *tail;
  unsigned queued, max;
  int stopping;
  unsigned nthreads;
  ErlNifTid *tids;
  otpc_nif__lib_t *lib;
} pool_t;

static void job_dtor(ErlNifEnv *env, void *obj) {
  (void)env;
  job_t *job = obj;
  if (job->env)
    enif_free_env(job->env);
}

static void job_down(ErlNifEnv *env, void *obj, ErlNifPid *pid,
                     ErlNifMonitor *mon) {
  (void)env, (void)pid, (void)mon;
  job_t *job = obj;
  atomic_store_explicit(&job->cancelled, 1, memory_order_relaxed);
}

static void run(pool_t *pool, job_t *job) {
  otpc_nif__lib_t *lib = pool->lib;
  if (atomic_load_explicit(&job->cancelled, memory_order_relaxed))
    return; /* the caller died while the job was queued */
  char *buf = enif_alloc(4096);
  if (!buf)
    return;
  otpc_nif__arena_t arena;
  otpc_nif_call_t c;
  otpc_nif__arena_init(&arena, buf, 4096);
  otpc_nif__call_init(&c, lib, job->index, job->env, job->argc, job->argv,
                      &arena);
  c.job = job;
  int rc = otpc_nif__decode_args(&c);
  if (rc == 0)
    rc = c.fn->decl->impl(&c);
  int ok;
  ERL_NIF_TERM t = otpc_nif__outcome(&c, rc, &ok);
  otpc_nif__arena_free(&arena);
  enif_free(buf);
  if (atomic_load_explicit(&job->cancelled, memory_order_relaxed))
    return;
  ERL_NIF_TERM msg = enif_make_tuple2(
      job->env, job->ref,
      enif_make_tuple2(job->env, ok ? lib->a_ok : lib->a_error, t));
  enif_send(NULL, &job->caller, job->env, msg);
}

static void *worker(void *arg) {
  pool_t *pool = arg;
  for (;;) {
    enif_mutex_lock(pool->lock);
    while (!pool->head && !pool->stopping)
      enif_cond_wait(pool->cond, pool->lock);
    job_t *job = pool->head;
    if (!job) { /* stopping, and the queue is drained */
      enif_mutex_unlock(pool->lock);
      return NULL;
    }
    pool->head = job->next;
    if (!pool->head)
      pool->tail = NULL;
    pool->queued--;
    enif_mutex_unlock(pool->lock);
    run(pool, job);
    if (job->monitored)
      enif_demonitor_process(NULL, job, &job->mon);
    enif_release_resource(job);
  }
}

int otpc_nif__pool_init(ErlNifEnv *env, otpc_nif__lib_t *lib, int flags) {
  ErlNifResourceTypeInit init = {.dtor = job_dtor, .down = job_down};
  ErlNifResourceFlags tried;
  lib->job_rt = enif_open_resource_type_x(env, "otpc_nif_job", &init,
                                          (ErlNifResourceFlags)flags, &tried);
  if (!lib->job_rt)
    return OTPC_ENOMEM;
  unsigned n = lib->mod ? lib->mod->pool_threads : 0;
  if (n == 0)
    return 0;
  if (n > 256)
    return OTPC_EINVAL;
  pool_t *pool = enif_alloc(sizeof *pool);
  if (!pool)
    return OTPC_ENOMEM;
  memset(pool, 0, sizeof *pool);
  pool->lib = lib;
  pool->max = lib->mod->pool_queue_max ? lib->mod->pool_queue_max : 1024;
  pool->lock = enif_mutex_create("otpc_nif_pool");
  pool->cond = enif_cond_create("otpc_nif_pool");
  pool->tids = enif_alloc(n * sizeof *pool->tids);
  if (!pool->lock || !pool->cond || !pool->tids)
    goto fail;
  lib->pool = pool;
  for (; pool->nthreads < n; pool->nthreads++)
    if (enif_thread_create("otpc_nif_pool", &pool->tids[pool->nthreads], worker,
                           pool, NULL) != 0) {
      otpc_nif__pool_stop(lib);
      return OTPC_ENOMEM;
    }
  return 0;
fail:
  if (pool->lock)
    enif_mutex_destroy(pool->lock);
  if (pool->cond)
    enif_cond_destroy(pool->cond);
  enif_free(pool->tids);
  enif_free(pool);
  return OTPC_ENOMEM;
}

void otpc_nif__pool_stop(otpc_nif__lib_t *lib) {
  pool_t *pool = lib->pool;
  if (!pool)
    return;
  /* Workers drain the queue, then exit; joining them means no thread runs
   * this library's code once unload returns. */
  enif_mutex_lock(pool->lock);
  pool->stopping = 1;
  enif_cond_broadcast(pool->cond);
  enif_mutex_unlock(pool->lock);
  for (unsigned i = 0; i < pool->nthreads; i++)
    enif_thread_join(pool->tids[i], NULL);
  enif_mutex_destroy(pool->lock);
  enif_cond_destroy(pool->cond);
  enif_free(pool->tids);
  enif_free(pool);
  lib->pool = NULL;
}

ERL_NIF_TERM otpc_nif__pool_submit(otpc_nif_call_t *c) {
  otpc_nif__lib_t *lib = c->lib;
  pool_t *pool = lib->pool;
  ErlNifEnv *env = c->env;
  job_t *job = enif_alloc_resource(lib->job_rt, sizeof *job);
  if (!job)
    return enif_raise_exception(
        env,
        enif_make_tuple2(env, lib->a_otpc_nif, enif_make_atom(env, "enomem")));
  memset(job, 0, sizeof *job);
  job->index = (unsigned)(c->fn - lib->fns);
  job->argc = c->argc;
  job->env = enif_alloc_env();
  job->argv = NULL;
  if (job->env) {
    /* The arguments live in the job's env as one tuple (its elements are
     * then the argv array, valid as long as the env). */
    ERL_NIF_TERM *tmp =
        otpc_nif_scratch(c, (size_t)(c->argc + 1) * sizeof *tmp);
    const ERL_NIF_TERM *elems = NULL;
    int arity;
    if (tmp) {
      for (int i = 0; i < c->argc; i++)
        tmp[i] = enif_make_copy(job->env, c->argv[i]);
      ERL_NIF_TERM tup =
          enif_make_tuple_from_array(job->env, tmp, (unsigned)c->argc);
      enif_get_tuple(job->env, tup, &arity, &elems);
    }
    job->argv = (ERL_NIF_TERM *)elems;
  }
  ERL_NIF_TERM ref = enif_make_ref(env);
  if (!job->env || !job->argv) {
    enif_release_resource(job);
    return enif_raise_exception(
        env,
        enif_make_tuple2(env, lib->a_otpc_nif, enif_make_atom(env, "enomem")));
  }
  job->ref = enif_make_copy(job->env, ref);
  enif_self(env, &job->caller);
  enif_mutex_lock(pool->lock);
  if (pool->queued >= pool->max || pool->stopping) {
    enif_mutex_unlock(pool->lock);
    enif_release_resource(job);
    return enif_make_tuple2(env, lib->a_error, lib->a_busy);
  }
  job->monitored = enif_monitor_process(env, job, &job->caller, &job->mon) == 0;
  /* The queue's reference: released by the worker when done. */
  if (pool->tail)
    pool->tail->next = job;
  else
    pool->head = job;
  pool->tail = job;
  pool->queued++;
  enif_cond_signal(pool->cond);
  enif_mutex_unlock(pool->lock);
  return enif_make_tuple2(env, lib->a_ok, ref);
}

bool otpc_nif_cancelled(const otpc_nif_call_t *c) {
  const job_t *job = c->job;
  /* Relaxed: see job_t.cancelled. */
  return job &&
         atomic_load_explicit(&((job_t *)job)->cancelled, memory_order_relaxed);
}
