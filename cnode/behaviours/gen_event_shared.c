/* gen_event's process-wide state, shared by the manager (gen_event.c) and
 * the clients (gen_event_client.c): the registry of handler tables by
 * module name and the managers' back-pressure counters by pid. */
#include "otpc/gen_event.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "gen_event_int.h"

/* ------------------------------------------------ registered handlers */

static pthread_mutex_t reg_lock = PTHREAD_MUTEX_INITIALIZER;
static const otpc_gen_event_handler_t **reg;
static size_t nreg, capreg;

static const otpc_gen_event_handler_t *reg_find_locked(const char *module,
                                                       size_t len) {
  for (size_t i = 0; i < nreg; i++)
    if (strlen(reg[i]->module) == len &&
        memcmp(reg[i]->module, module, len) == 0)
      return reg[i];
  return NULL;
}

int otpc_gen_event_register(const otpc_gen_event_handler_t *h) {
  if (h == NULL || h->module == NULL || h->module[0] == 0)
    return OTPC_EINVAL;
  int rc = 0;
  pthread_mutex_lock(&reg_lock);
  const otpc_gen_event_handler_t *o =
      reg_find_locked(h->module, strlen(h->module));
  if (o != NULL) {
    rc = o == h ? 0 : OTPC_EINVAL;
  } else {
    const otpc_gen_event_handler_t **r =
        otpc__grow(reg, &capreg, nreg, sizeof *r, 16);
    if (r == NULL) {
      rc = OTPC_ENOMEM;
    } else {
      reg = r;
      reg[nreg++] = h;
    }
  }
  pthread_mutex_unlock(&reg_lock);
  return rc;
}

/* The table for a module atom, or NULL. */
const otpc_gen_event_handler_t *otpc__ge_reg_lookup(otpc_term_t module) {
  char name[256];
  size_t len;
  if (otpc_term_atom_text(module, name, sizeof name, &len) != 0)
    return NULL;
  pthread_mutex_lock(&reg_lock);
  const otpc_gen_event_handler_t *h = reg_find_locked(name, len);
  pthread_mutex_unlock(&reg_lock);
  return h;
}

/* ------------------------------------------------ back-pressure counters */

static pthread_mutex_t tab_lock = PTHREAD_MUTEX_INITIALIZER;
static otpc__ge_shared_t **tab;
static size_t ntab, captab;
/* Managers with a bound: while there are none, notify skips the table.
 * Relaxed: a notifier has a manager's pid only through a message sent
 * after that manager's increment (its start's ack), and that message
 * orders the increment before the notifier's load. */
static _Atomic size_t nbounded;

static bool pid_eq(otpc_pid_t a, otpc_pid_t b) {
  return a.node == b.node && a.id == b.id && a.serial == b.serial &&
         a.creation == b.creation;
}

static otpc__ge_shared_t *tab_find_locked(otpc_pid_t pid) {
  for (size_t i = 0; i < ntab; i++)
    if (pid_eq(tab[i]->pid, pid))
      return tab[i];
  return NULL;
}

int otpc__ge_tab_add(otpc__ge_shared_t *s) {
  int rc = 0;
  pthread_mutex_lock(&tab_lock);
  otpc__ge_shared_t **t = otpc__grow(tab, &captab, ntab, sizeof *t, 16);
  if (t == NULL)
    rc = OTPC_ENOMEM;
  else
    tab = t;
  if (rc == 0) {
    tab[ntab++] = s;
    if (s->max != 0)
      atomic_fetch_add_explicit(&nbounded, 1, memory_order_relaxed);
  }
  pthread_mutex_unlock(&tab_lock);
  return rc;
}

void otpc__ge_tab_remove(otpc__ge_shared_t *s) {
  pthread_mutex_lock(&tab_lock);
  for (size_t i = 0; i < ntab; i++)
    if (tab[i] == s) {
      tab[i] = tab[--ntab];
      if (s->max != 0) /* relaxed: see nbounded */
        atomic_fetch_sub_explicit(&nbounded, 1, memory_order_relaxed);
      break;
    }
  pthread_mutex_unlock(&tab_lock);
}

int otpc_gen_event_stats(otpc_pid_t mgr, otpc_ge_stats_t *out) {
  if (out == NULL)
    return OTPC_EINVAL;
  pthread_mutex_lock(&tab_lock);
  otpc__ge_shared_t *s = tab_find_locked(mgr);
  if (s != NULL) {
    /* Relaxed: a snapshot, as process_info's. */
    out->queued = atomic_load_explicit(&s->queued, memory_order_relaxed);
    out->dropped = atomic_load_explicit(&s->dropped, memory_order_relaxed);
    out->max_queue = s->max;
  }
  pthread_mutex_unlock(&tab_lock);
  return s != NULL ? 0 : OTPC_ENOTFOUND;
}

/* Reserves a place in a local manager's bound: 0 (counted: send
 * '$otpc_notify'), 1 (not a counted manager: send notify), OTPC_ELIMIT
 * (full; dropped counted when the policy is to drop). */
int otpc__ge_reserve(otpc_pid_t mgr, bool *drop) {
  int rc = 1;
  if (atomic_load_explicit(&nbounded, memory_order_relaxed) == 0)
    return 1; /* relaxed: see nbounded */
  pthread_mutex_lock(&tab_lock);
  otpc__ge_shared_t *s = tab_find_locked(mgr);
  if (s != NULL && s->max == 0) {
    rc = 1; /* unbounded: nothing to count */
  } else if (s != NULL) {
    /* Relaxed: increments are serialised by tab_lock and the manager only
     * lowers the count, so a stale read errs on the side of full. */
    size_t q = atomic_load_explicit(&s->queued, memory_order_relaxed);
    if (s->max != 0 && q >= s->max) {
      *drop = s->overflow == OTPC_GE_DROP;
      if (*drop)
        atomic_fetch_add_explicit(&s->dropped, 1, memory_order_relaxed);
      rc = OTPC_ELIMIT;
    } else {
      atomic_fetch_add_explicit(&s->queued, 1, memory_order_relaxed);
      rc = 0;
    }
  }
  pthread_mutex_unlock(&tab_lock);
  return rc;
}
