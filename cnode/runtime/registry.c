/* Registered names: an open-addressing table name -> process under one
 * mutex. A process's own name lives in p->name under the same mutex, and
 * an exiting process closes its registration so register/2 then fails. */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

static uint32_t name_hash(otpc_atom_t a) {
  return (uint32_t)(((uint64_t)a * 0x9e3779b97f4a7c15ull) >> 32);
}

static bool ent_empty(const otpc__reg_ent_t *e) {
  return e->name == 0 && e->pid.node == 0;
}

/* The entry of the name, or NULL. Under reg_lock. */
static otpc__reg_ent_t *find(otpc_rt_t *rt, otpc_atom_t name) {
  if (rt->reg_cap == 0)
    return NULL;
  uint32_t mask = rt->reg_cap - 1;
  for (uint32_t i = name_hash(name) & mask;; i = (i + 1) & mask) {
    otpc__reg_ent_t *e = &rt->reg[i];
    if (ent_empty(e))
      return NULL;
    if (e->name == name)
      return e;
  }
}

static bool grow(otpc_rt_t *rt) {
  uint32_t ncap = rt->reg_cap == 0 ? 16 : rt->reg_cap * 2;
  otpc__reg_ent_t *nt = calloc(ncap, sizeof *nt);
  if (nt == NULL)
    return false;
  for (uint32_t i = 0; i < rt->reg_cap; i++) {
    if (rt->reg[i].name == 0)
      continue;
    uint32_t j = name_hash(rt->reg[i].name) & (ncap - 1);
    while (!ent_empty(&nt[j]))
      j = (j + 1) & (ncap - 1);
    nt[j] = rt->reg[i];
  }
  free(rt->reg);
  rt->reg = nt;
  rt->reg_cap = ncap;
  rt->reg_used = rt->reg_n;
  return true;
}

/* Under reg_lock. */
static int add(otpc_rt_t *rt, otpc_atom_t name, otpc_proc_t *p) {
  if (find(rt, name) != NULL || p->name != OTPC_ATOM_NONE || p->reg_closed)
    return OTPC_EINVAL;
  if ((rt->reg_used + 1) * 2 > rt->reg_cap && !grow(rt))
    return OTPC_ENOMEM;
  uint32_t mask = rt->reg_cap - 1;
  uint32_t i = name_hash(name) & mask;
  while (rt->reg[i].name != 0)
    i = (i + 1) & mask;
  if (ent_empty(&rt->reg[i]))
    rt->reg_used++;
  rt->reg[i].name = name;
  rt->reg[i].pid = otpc__pid_of(p);
  rt->reg[i].proc = p;
  rt->reg_n++;
  p->name = name;
  return 0;
}

static void del(otpc_rt_t *rt, otpc__reg_ent_t *e) {
  e->proc->name = OTPC_ATOM_NONE;
  memset(e, 0, sizeof *e);
  e->pid.node = 1; /* tombstone */
  rt->reg_n--;
}

int otpc__reg_add_new(otpc_rt_t *rt, otpc_atom_t name, otpc_proc_t *p) {
  pthread_mutex_lock(&rt->reg_lock);
  int rc = add(rt, name, p);
  pthread_mutex_unlock(&rt->reg_lock);
  return rc;
}

void otpc__reg_close(otpc_rt_t *rt, otpc_proc_t *p) {
  pthread_mutex_lock(&rt->reg_lock);
  p->reg_closed = true;
  if (p->name != OTPC_ATOM_NONE) {
    otpc__reg_ent_t *e = find(rt, p->name);
    if (e != NULL && e->proc == p)
      del(rt, e);
  }
  pthread_mutex_unlock(&rt->reg_lock);
}

int otpc_register(otpc_rt_t *rt, otpc_atom_t name, otpc_pid_t pid) {
  if (rt == NULL || name == OTPC_ATOM_NONE)
    return OTPC_EINVAL;
  uint64_t data;
  if (!otpc__pid_local(rt, pid, &data))
    return OTPC_EINVAL;
  pthread_mutex_lock(&rt->reg_lock);
  /* Lock order: registry, then stripe. The stripe lock keeps p alive
   * while we look; reg_closed (set under reg_lock before removal) keeps a
   * dying process from being registered after its exit unregistered it. */
  atomic_int *l = otpc__stripe(rt, data);
  otpc__spin_lock(l);
  otpc_proc_t *p = otpc__ptab_get_locked(rt, data);
  int rc = p == NULL ? OTPC_EINVAL : add(rt, name, p);
  otpc__spin_unlock(l);
  pthread_mutex_unlock(&rt->reg_lock);
  return rc;
}

int otpc_unregister(otpc_rt_t *rt, otpc_atom_t name) {
  if (rt == NULL)
    return OTPC_EINVAL;
  pthread_mutex_lock(&rt->reg_lock);
  otpc__reg_ent_t *e = find(rt, name);
  if (e != NULL)
    del(rt, e);
  pthread_mutex_unlock(&rt->reg_lock);
  return e != NULL ? 0 : OTPC_EINVAL;
}

int otpc_whereis(otpc_rt_t *rt, otpc_atom_t name, otpc_pid_t *pid) {
  if (rt == NULL || pid == NULL)
    return OTPC_EINVAL;
  pthread_mutex_lock(&rt->reg_lock);
  otpc__reg_ent_t *e = find(rt, name);
  if (e != NULL)
    *pid = e->pid;
  pthread_mutex_unlock(&rt->reg_lock);
  return e != NULL ? 0 : OTPC_ENOTFOUND;
}

int otpc_registered(otpc_rt_t *rt, otpc_atom_t **names, size_t *n) {
  if (rt == NULL || names == NULL || n == NULL)
    return OTPC_EINVAL;
  pthread_mutex_lock(&rt->reg_lock);
  otpc_atom_t *out = malloc((rt->reg_n + 1) * sizeof *out);
  size_t k = 0;
  if (out != NULL)
    for (uint32_t i = 0; i < rt->reg_cap; i++)
      if (rt->reg[i].name != 0)
        out[k++] = rt->reg[i].name;
  pthread_mutex_unlock(&rt->reg_lock);
  if (out == NULL)
    return OTPC_ENOMEM;
  *names = out;
  *n = k;
  return 0;
}

void otpc__reg_free(otpc_rt_t *rt) {
  free(rt->reg);
  rt->reg = NULL;
  rt->reg_cap = rt->reg_n = rt->reg_used = 0;
}
