/* The runtime as a whole: start, stop, references, logging, the
 * distribution hook. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt_internal.h"

static otpc_msg_t *atom_msg(const char *name) {
  otpc_msg_t *m = NULL;
  (void)otpc_msg_build(&m, NULL, "~a", name);
  return m;
}

static void free_reasons(otpc_rt_t *rt) {
  otpc_msg_unref(rt->r_normal);
  otpc_msg_unref(rt->r_kill);
  otpc_msg_unref(rt->r_killed);
  otpc_msg_unref(rt->r_noproc);
  otpc_msg_unref(rt->r_noconnection);
  otpc_msg_unref(rt->r_shutdown);
}

int otpc_rt_start(const otpc_rt_opts_t *opts, otpc_rt_t **out) {
  if (out == NULL)
    return OTPC_EINVAL;
  otpc_rt_t *rt = calloc(1, sizeof *rt);
  if (rt == NULL)
    return OTPC_ENOMEM;
  if (opts != NULL)
    rt->opts = *opts;
  if (rt->opts.budget == 0)
    rt->opts.budget = 100;
  if (rt->opts.max_processes == 0)
    rt->opts.max_processes = 1048576;
  rt->nsched = rt->opts.schedulers;
  if (rt->nsched == 0) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    rt->nsched = n > 0 ? (unsigned)n : 1;
  }
  const char *node = rt->opts.node ? rt->opts.node : "nonode@nohost";
  int rc = otpc_atom(node, &rt->node);
  if (rc < 0) {
    free(rt);
    return rc;
  }
  rt->opts.node = NULL; /* not kept: the caller's string may go */
  rt->creation = rt->opts.creation;
  if (otpc_atom("normal", &rt->a_normal) < 0 ||
      otpc_atom("kill", &rt->a_kill) < 0 ||
      otpc_atom("shutdown", &rt->a_shutdown) < 0) {
    free(rt);
    return OTPC_ENOMEM;
  }
  rt->r_normal = atom_msg("normal");
  rt->r_kill = atom_msg("kill");
  rt->r_killed = atom_msg("killed");
  rt->r_noproc = atom_msg("noproc");
  rt->r_noconnection = atom_msg("noconnection");
  rt->r_shutdown = atom_msg("shutdown");
  if (!rt->r_normal || !rt->r_kill || !rt->r_killed || !rt->r_noproc ||
      !rt->r_noconnection || !rt->r_shutdown) {
    free_reasons(rt);
    free(rt);
    return OTPC_ENOMEM;
  }
  atomic_init(&rt->next_sched, 0);
  atomic_init(&rt->stopping, 0);
  atomic_init(&rt->ref_counter, 1);
  atomic_init(&rt->remote_ops, NULL);
  atomic_init(&rt->attached, 0);
  pthread_mutex_init(&rt->stop_lock, NULL);
  pthread_cond_init(&rt->stop_cond, NULL);
  pthread_mutex_init(&rt->reg_lock, NULL);
  pthread_mutex_init(&rt->timer_lock, NULL);
  pthread_mutex_init(&rt->thr_lock, NULL);
  rc = otpc__ptab_init(rt, rt->opts.max_processes);
  if (rc == 0)
    rc = otpc__sched_start(rt);
  if (rc < 0) {
    otpc__ptab_free(rt);
    free_reasons(rt);
    free(rt);
    return rc;
  }
  *out = rt;
  return 0;
}

static void stop_one(otpc_proc_t *p, void *ud) {
  (void)ud;
  otpc__csig_t *c = otpc__csig(OTPC__SIG_EXIT, otpc__pid_make(p->rt, 0),
                               otpc_msg_ref(p->rt->r_shutdown));
  if (c == NULL)
    return;
  c->h.aux = OTPC__EXIT_FORCE;
  /* Under the stripe lock (ptab_each): push, and wake after. A wake-up
   * needs no lock: see otpc__deliver_local. */
  if (otpc__inbox_push(p, &c->h))
    otpc__wake(p);
}

int otpc_rt_stop(otpc_rt_t *rt) {
  if (rt == NULL || otpc__tls_sched != NULL)
    return OTPC_EINVAL;
  /* Seq_cst: see otpc__ptab_release (the wait below) and otpc_spawn (a
   * spawn racing with the stop kills its own new process). */
  atomic_store(&rt->stopping, 1);
  otpc__ptab_each(rt, stop_one, NULL);
  pthread_mutex_lock(&rt->stop_lock);
  /* Seq_cst loads: see otpc__ptab_release. Attached thread processes
   * that are still attached cannot be waited for (their thread handles
   * their signals): they are finished below. */
  while (atomic_load(&rt->live) > atomic_load(&rt->attached))
    pthread_cond_wait(&rt->stop_cond, &rt->stop_lock);
  pthread_mutex_unlock(&rt->stop_lock);
  otpc__thr_join_all(rt);
  otpc__sched_stop(rt);
  otpc__thr_reap_attached(rt);
  otpc__timers_free(rt);
  otpc__reg_free(rt);
  otpc__alias_free(rt);
  otpc__ptab_free(rt);
  pthread_mutex_destroy(&rt->stop_lock);
  pthread_cond_destroy(&rt->stop_cond);
  pthread_mutex_destroy(&rt->reg_lock);
  pthread_mutex_destroy(&rt->timer_lock);
  pthread_mutex_destroy(&rt->thr_lock);
  free_reasons(rt);
  free(rt);
  return 0;
}

otpc_atom_t otpc_rt_node(const otpc_rt_t *rt) {
  return rt->node;
}

int otpc_make_ref(otpc_rt_t *rt, otpc_ref_t *out) {
  if (rt == NULL || out == NULL)
    return OTPC_EINVAL;
  /* Relaxed: uniqueness needs only the atomicity of the increment. */
  uint64_t c =
      atomic_fetch_add_explicit(&rt->ref_counter, 1, memory_order_relaxed);
  memset(out, 0, sizeof *out);
  out->node = rt->node;
  out->creation = rt->creation;
  out->len = 3;
  /* As the BEAM: 18 bits in the first word, then 64 bits. */
  out->id[0] = (uint32_t)(c & 0x3ffff);
  out->id[1] = (uint32_t)(c >> 18);
  out->id[2] = (uint32_t)(c >> 50);
  return 0;
}

void otpc__log(otpc_rt_t *rt, int level, const char *text) {
  if (rt->opts.log != NULL) {
    rt->opts.log(rt->opts.log_ud, level, text);
    return;
  }
  fprintf(stderr, "%s\n", text);
}

void otpc__rt_set_remote(otpc_rt_t *rt, const otpc__remote_ops_t *ops,
                         void *ud) {
  rt->remote_ud = ud;
  /* Release: ud and the table are visible to every acquiring reader. */
  atomic_store_explicit(&rt->remote_ops, ops, memory_order_release);
}
