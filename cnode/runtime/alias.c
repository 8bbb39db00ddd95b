/* Process aliases (erlang:alias/0, unalias/1, sends to an alias, local and
 * from other nodes through ALIAS_SEND).
 *
 * One table for every runtime of the OS process, keyed by (runtime,
 * reference), under one mutex: aliases are made and used rarely compared
 * with plain sends (gen_server calls from C use a monitor's reference as
 * the tag), and a table here keeps the runtime's structs untouched. An
 * alias whose process exited is found out at its next use (the delivery
 * fails) and at table growth, and removed then: OTP deactivates it at the
 * exit, and the difference cannot be observed, since messages to a dead
 * process are dropped either way. */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

typedef struct alias_ent {
  otpc_rt_t *rt; /* NULL: a free slot */
  otpc_ref_t ref;
  otpc_pid_t pid;
} alias_ent_t;

static pthread_mutex_t alias_mu = PTHREAD_MUTEX_INITIALIZER;
static alias_ent_t *alias_tab; /* under alias_mu */
static size_t alias_n, alias_cap;

static alias_ent_t *find(otpc_rt_t *rt, const otpc_ref_t *ref) {
  for (size_t i = 0; i < alias_n; i++)
    if (alias_tab[i].rt == rt && otpc__ref_eq(&alias_tab[i].ref, ref))
      return &alias_tab[i];
  return NULL;
}

static void drop(alias_ent_t *e) {
  *e = alias_tab[--alias_n];
}

/* Drops the aliases of exited processes; under alias_mu. */
static void sweep(void) {
  for (size_t i = 0; i < alias_n;) {
    otpc_proc_info_t info;
    if (otpc_proc_info(alias_tab[i].rt, alias_tab[i].pid, &info) ==
        OTPC_ENOTFOUND)
      drop(&alias_tab[i]);
    else
      i++;
  }
}

int otpc_alias(otpc_proc_t *self, otpc_ref_t *alias) {
  if (self == NULL || alias == NULL)
    return OTPC_EINVAL;
  otpc_make_ref(self->rt, alias);
  pthread_mutex_lock(&alias_mu);
  if (alias_n == alias_cap)
    sweep();
  if (alias_n == alias_cap) {
    size_t nc = alias_cap ? alias_cap * 2 : 16;
    alias_ent_t *nt = realloc(alias_tab, nc * sizeof *nt);
    if (nt == NULL) {
      pthread_mutex_unlock(&alias_mu);
      return OTPC_ENOMEM;
    }
    alias_tab = nt;
    alias_cap = nc;
  }
  alias_tab[alias_n].rt = self->rt;
  alias_tab[alias_n].ref = *alias;
  alias_tab[alias_n].pid = otpc__pid_of(self);
  alias_n++;
  pthread_mutex_unlock(&alias_mu);
  return 0;
}

int otpc_unalias(otpc_proc_t *self, const otpc_ref_t *alias) {
  if (self == NULL || alias == NULL)
    return OTPC_EINVAL;
  otpc_pid_t me = otpc__pid_of(self);
  pthread_mutex_lock(&alias_mu);
  alias_ent_t *e = find(self->rt, alias);
  bool mine = e != NULL && otpc__pid_eq(e->pid, me);
  if (mine)
    drop(e);
  if (alias_n == 0) {
    free(alias_tab);
    alias_tab = NULL;
    alias_cap = 0;
  }
  pthread_mutex_unlock(&alias_mu);
  return mine ? 1 : 0;
}

void otpc__alias_free(otpc_rt_t *rt) {
  /* A runtime's aliases go with it: another runtime may get its address
   * and make the same references, and must not find them (nor may a sweep
   * look into the freed runtime). */
  pthread_mutex_lock(&alias_mu);
  for (size_t i = 0; i < alias_n;) {
    if (alias_tab[i].rt == rt)
      drop(&alias_tab[i]);
    else
      i++;
  }
  if (alias_n == 0) {
    free(alias_tab);
    alias_tab = NULL;
    alias_cap = 0;
  }
  pthread_mutex_unlock(&alias_mu);
}

/* The owner of an active local alias. */
static bool owner(otpc_rt_t *rt, const otpc_ref_t *alias, otpc_pid_t *pid) {
  pthread_mutex_lock(&alias_mu);
  alias_ent_t *e = find(rt, alias);
  if (e != NULL)
    *pid = e->pid;
  pthread_mutex_unlock(&alias_mu);
  return e != NULL;
}

/* The owner died: its alias goes (if nobody re-made it meanwhile). */
static void forget(otpc_rt_t *rt, const otpc_ref_t *alias, otpc_pid_t pid) {
  pthread_mutex_lock(&alias_mu);
  alias_ent_t *e = find(rt, alias);
  if (e != NULL && otpc__pid_eq(e->pid, pid))
    drop(e);
  pthread_mutex_unlock(&alias_mu);
}

int otpc__rt_remote_alias_send(otpc_rt_t *rt, const otpc_ref_t *alias,
                               otpc_msg_t *msg) {
  if (rt == NULL || alias == NULL || msg == NULL)
    return OTPC_EINVAL;
  otpc_pid_t pid;
  if (!owner(rt, alias, &pid))
    return OTPC_ENOTFOUND;
  int rc = otpc__rt_remote_send(rt, pid, msg);
  if (rc == OTPC_ENOTFOUND)
    forget(rt, alias, pid);
  return rc;
}

int otpc_send_alias(otpc_proc_t *self, const otpc_ref_t *alias,
                    otpc_msg_t *msg) {
  if (self == NULL || alias == NULL || msg == NULL)
    return OTPC_EINVAL;
  otpc_rt_t *rt = self->rt;
  if (alias->node == rt->node) {
    int rc = otpc__rt_remote_alias_send(rt, alias, msg);
    /* Inactive or dead: dropped, as in Erlang. */
    return rc == OTPC_ENOTFOUND ? 0 : rc;
  }
  void *ud;
  const otpc__remote_ops_t *ops = otpc__rt_remote(rt, &ud);
  if (ops != NULL && ops->alias_send != NULL)
    (void)ops->alias_send(ud, otpc__pid_of(self), alias, msg);
  return 0;
}
