/* application: the controller (loaded specs, their environments, the
 * running ones in start order) over supervisor.h. The controller is a
 * mutex-protected table, not a process: starting and stopping trees block
 * the calling thread process, never while holding the lock. */
#include "otpc/application.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct env_entry {
  otpc_atom_t key;
  otpc_msg_t *value;
} env_entry_t;

typedef struct app {
  const otpc_app_spec_t *spec;
  otpc_atom_t name;
  env_entry_t *env;
  size_t n_env, cap_env;
  bool running, busy; /* busy: a start or stop is under way */
  otpc_pid_t sup;
  int mark; /* ensure_all_started's walk: 1 visiting, 2 done */
} app_t;

struct otpc_app_ctl {
  otpc_rt_t *rt;
  pthread_mutex_t lock;
  app_t *apps;
  size_t n, cap;
  otpc_atom_t *order; /* running applications, in start order */
  size_t n_order;
};

int otpc_app_ctl_new(otpc_rt_t *rt, otpc_app_ctl_t **out) {
  if (rt == NULL || out == NULL)
    return OTPC_EINVAL;
  otpc_app_ctl_t *c = calloc(1, sizeof *c);
  if (c == NULL)
    return OTPC_ENOMEM;
  c->rt = rt;
  pthread_mutex_init(&c->lock, NULL);
  *out = c;
  return 0;
}

void otpc_app_ctl_free(otpc_app_ctl_t *ctl, otpc_proc_t *self) {
  if (ctl == NULL)
    return;
  if (self != NULL)
    otpc_app_stop_all(ctl, self);
  for (size_t i = 0; i < ctl->n; i++) {
    for (size_t j = 0; j < ctl->apps[i].n_env; j++)
      otpc_msg_unref(ctl->apps[i].env[j].value);
    free(ctl->apps[i].env);
  }
  free(ctl->apps);
  free(ctl->order);
  pthread_mutex_destroy(&ctl->lock);
  free(ctl);
}

static app_t *find(otpc_app_ctl_t *ctl, const char *name) {
  otpc_atom_t a;
  if (name == NULL || otpc_atom_lookup(name, strlen(name), &a) != 0)
    return NULL;
  for (size_t i = 0; i < ctl->n; i++)
    if (ctl->apps[i].name == a)
      return &ctl->apps[i];
  return NULL;
}

static int err_set(otpc_err_t *err, int code, const char *what,
                   const char *name) {
  if (err != NULL) {
    err->code = code;
    err->offset = 0;
    snprintf(err->msg, sizeof err->msg, "{%s, %s}", what,
             name != NULL ? name : "undefined");
  }
  return code;
}

static int env_put(app_t *a, otpc_atom_t key, otpc_msg_t *value) {
  for (size_t i = 0; i < a->n_env; i++)
    if (a->env[i].key == key) {
      otpc_msg_unref(a->env[i].value);
      a->env[i].value = value;
      return 0;
    }
  if (a->n_env == a->cap_env) {
    size_t cap = a->cap_env ? a->cap_env * 2 : 4;
    env_entry_t *n = realloc(a->env, cap * sizeof *n);
    if (n == NULL)
      return OTPC_ENOMEM;
    a->env = n;
    a->cap_env = cap;
  }
  a->env[a->n_env++] = (env_entry_t){key, value};
  return 0;
}

/* Parses the environment of a spec into a fresh app (not yet in ctl). */
static int parse_env(app_t *a, const otpc_app_spec_t *spec, otpc_err_t *err) {
  for (size_t i = 0; i < spec->n_env; i++) {
    const otpc_app_env_t *e = &spec->env[i];
    otpc_atom_t key;
    if (e->key == NULL || otpc_atom(e->key, &key) != 0)
      return err_set(err, OTPC_EINVAL, "bad_env_key", spec->name);
    /* A value is term syntax without directives: a `~` would read a C
     * argument that is not there. */
    if (e->value == NULL || strchr(e->value, '~') != NULL)
      return err_set(err, OTPC_EINVAL, "bad_env_value", e->key);
    otpc_msg_t *m = NULL;
    otpc_err_t perr;
    if (otpc_msg_build(&m, &perr, e->value) != 0) {
      if (err != NULL) {
        err->code = OTPC_EINVAL;
        err->offset = perr.offset;
        snprintf(err->msg, sizeof err->msg,
                 "{bad_env_value, %s}: %.120s (at %zu)", e->key, perr.msg,
                 perr.offset);
      }
      return OTPC_EINVAL;
    }
    if (env_put(a, key, m) != 0) {
      otpc_msg_unref(m);
      return OTPC_ENOMEM;
    }
  }
  return 0;
}

static void app_free_env(app_t *a) {
  for (size_t i = 0; i < a->n_env; i++)
    otpc_msg_unref(a->env[i].value);
  free(a->env);
  a->env = NULL;
  a->n_env = a->cap_env = 0;
}

int otpc_app_load(otpc_app_ctl_t *ctl, const otpc_app_spec_t *spec,
                  otpc_err_t *err) {
  if (ctl == NULL || spec == NULL)
    return OTPC_EINVAL;
  app_t a;
  memset(&a, 0, sizeof a);
  a.spec = spec;
  if (spec->name == NULL || otpc_atom(spec->name, &a.name) != 0)
    return err_set(err, OTPC_EINVAL, "bad_application_name", spec->name);
  if (spec->n_deps > 0 && spec->deps == NULL)
    return err_set(err, OTPC_EINVAL, "bad_deps", spec->name);
  for (size_t i = 0; i < spec->n_deps; i++) {
    otpc_atom_t d;
    if (spec->deps[i] == NULL || otpc_atom(spec->deps[i], &d) != 0)
      return err_set(err, OTPC_EINVAL, "bad_deps", spec->name);
  }
  int rc = parse_env(&a, spec, err);
  if (rc != 0) {
    app_free_env(&a);
    return rc;
  }
  pthread_mutex_lock(&ctl->lock);
  if (find(ctl, spec->name) != NULL) {
    pthread_mutex_unlock(&ctl->lock);
    app_free_env(&a);
    return err_set(err, OTPC_EINVAL, "already_loaded", spec->name);
  }
  if (ctl->n == ctl->cap) {
    size_t cap = ctl->cap ? ctl->cap * 2 : 8;
    app_t *n = realloc(ctl->apps, cap * sizeof *n);
    otpc_atom_t *o = realloc(ctl->order, cap * sizeof *o);
    if (n != NULL)
      ctl->apps = n;
    if (o != NULL)
      ctl->order = o;
    if (n == NULL || o == NULL) {
      pthread_mutex_unlock(&ctl->lock);
      app_free_env(&a);
      return OTPC_ENOMEM;
    }
    ctl->cap = cap;
  }
  ctl->apps[ctl->n++] = a;
  pthread_mutex_unlock(&ctl->lock);
  return 0;
}

/* Starts one application whose dependencies run. */
static int start_one(otpc_app_ctl_t *ctl, otpc_proc_t *self, const char *name,
                     otpc_err_t *err) {
  pthread_mutex_lock(&ctl->lock);
  app_t *a = find(ctl, name);
  if (a == NULL) {
    pthread_mutex_unlock(&ctl->lock);
    return err_set(err, OTPC_ENOTFOUND, "not_loaded", name);
  }
  if (a->running || a->busy) {
    pthread_mutex_unlock(&ctl->lock);
    return err_set(err, OTPC_EINVAL, "already_started", name);
  }
  for (size_t i = 0; i < a->spec->n_deps; i++) {
    app_t *d = find(ctl, a->spec->deps[i]);
    if (d == NULL || !d->running) {
      pthread_mutex_unlock(&ctl->lock);
      return err_set(err, OTPC_ENOTFOUND, "not_started", a->spec->deps[i]);
    }
  }
  a->busy = true;
  const otpc_app_spec_t *spec = a->spec;
  otpc_atom_t an = a->name;
  pthread_mutex_unlock(&ctl->lock);

  otpc_pid_t sup = {0};
  int rc = 0;
  if (spec->sup != NULL) {
    otpc_gs_result_t res;
    /* Unlinked: the controller is no process, and a thread process
     * detaching must not take the tree down. */
    rc = otpc_sup_start_blocking(self, spec->sup, spec->sup_arg, NULL, &res);
    if (rc == 0 && res.status != OTPC_GS_OK) {
      rc = OTPC_EINVAL;
      if (err != NULL) {
        char r[160] = "ignore";
        if (res.term != NULL)
          otpc_term_snprint(r, sizeof r, otpc_msg_term(res.term));
        err->code = rc;
        err->offset = 0;
        snprintf(err->msg, sizeof err->msg, "{%s, %s}", name, r);
      }
    }
    if (rc == 0)
      sup = res.pid;
    otpc_msg_unref(res.term);
  }
  pthread_mutex_lock(&ctl->lock);
  a = find(ctl, name); /* the table may have grown meanwhile */
  a->busy = false;
  if (rc == 0) {
    a->running = true;
    a->sup = sup;
    ctl->order[ctl->n_order++] = an;
  }
  pthread_mutex_unlock(&ctl->lock);
  return rc;
}

int otpc_app_start(otpc_app_ctl_t *ctl, otpc_proc_t *self, const char *name,
                   otpc_err_t *err) {
  if (ctl == NULL || self == NULL || name == NULL)
    return OTPC_EINVAL;
  return start_one(ctl, self, name, err);
}

/* Depth first: the dependencies, in the order listed, then the app. The
 * names of what it started are appended to started[]. */
static int ensure(otpc_app_ctl_t *ctl, otpc_proc_t *self, const char *name,
                  const char **started, size_t *n_started, otpc_err_t *err) {
  pthread_mutex_lock(&ctl->lock);
  app_t *a = find(ctl, name);
  if (a == NULL) {
    pthread_mutex_unlock(&ctl->lock);
    return err_set(err, OTPC_ENOTFOUND, "not_loaded", name);
  }
  if (a->running || a->mark == 2) {
    pthread_mutex_unlock(&ctl->lock);
    return 0;
  }
  if (a->mark == 1) {
    pthread_mutex_unlock(&ctl->lock);
    return err_set(err, OTPC_EINVAL, "circular_dependencies", name);
  }
  a->mark = 1;
  const otpc_app_spec_t *spec = a->spec;
  pthread_mutex_unlock(&ctl->lock);
  int rc = 0;
  for (size_t i = 0; i < spec->n_deps && rc == 0; i++)
    rc = ensure(ctl, self, spec->deps[i], started, n_started, err);
  if (rc == 0) {
    rc = start_one(ctl, self, name, err);
    if (rc == 0)
      started[(*n_started)++] = spec->name;
  }
  pthread_mutex_lock(&ctl->lock);
  find(ctl, name)->mark = 2;
  pthread_mutex_unlock(&ctl->lock);
  return rc;
}

int otpc_app_ensure_all_started(otpc_app_ctl_t *ctl, otpc_proc_t *self,
                                const char *name, otpc_err_t *err) {
  if (ctl == NULL || self == NULL || name == NULL)
    return OTPC_EINVAL;
  pthread_mutex_lock(&ctl->lock);
  size_t n = ctl->n;
  for (size_t i = 0; i < n; i++)
    ctl->apps[i].mark = 0;
  pthread_mutex_unlock(&ctl->lock);
  const char **started = calloc(n + 1, sizeof *started);
  if (started == NULL)
    return OTPC_ENOMEM;
  size_t n_started = 0;
  int rc = ensure(ctl, self, name, started, &n_started, err);
  if (rc != 0) {
    /* As OTP: what this call started is stopped again, newest first. */
    while (n_started > 0)
      otpc_app_stop(ctl, self, started[--n_started]);
  }
  free(started);
  return rc;
}

int otpc_app_stop(otpc_app_ctl_t *ctl, otpc_proc_t *self, const char *name) {
  if (ctl == NULL || self == NULL || name == NULL)
    return OTPC_EINVAL;
  pthread_mutex_lock(&ctl->lock);
  app_t *a = find(ctl, name);
  if (a == NULL || !a->running || a->busy) {
    pthread_mutex_unlock(&ctl->lock);
    return OTPC_ENOTFOUND;
  }
  a->busy = true;
  otpc_pid_t sup = a->sup;
  bool has_sup = a->spec->sup != NULL;
  pthread_mutex_unlock(&ctl->lock);
  if (has_sup) {
    static const uint8_t shut[] = {119, 8,   's', 'h', 'u',
                                   't', 'd', 'o', 'w', 'n'};
    otpc_gs_result_t res;
    /* As the application master: the top supervisor's shutdown stops the
     * tree in reverse start order; it may take as long as it needs. */
    if (otpc_gen_server_stop_blocking(
            self, sup, (otpc_term_t){shut, sizeof shut}, -1, &res) == 0)
      otpc_msg_unref(res.term);
  }
  pthread_mutex_lock(&ctl->lock);
  a = find(ctl, name);
  a->busy = false;
  a->running = false;
  for (size_t i = 0; i < ctl->n_order; i++)
    if (ctl->order[i] == a->name) {
      memmove(ctl->order + i, ctl->order + i + 1,
              (ctl->n_order - i - 1) * sizeof *ctl->order);
      ctl->n_order--;
      break;
    }
  pthread_mutex_unlock(&ctl->lock);
  return 0;
}

int otpc_app_stop_all(otpc_app_ctl_t *ctl, otpc_proc_t *self) {
  if (ctl == NULL || self == NULL)
    return OTPC_EINVAL;
  for (;;) {
    pthread_mutex_lock(&ctl->lock);
    const char *last = ctl->n_order > 0
                           ? otpc_atom_text(ctl->order[ctl->n_order - 1], NULL)
                           : NULL;
    pthread_mutex_unlock(&ctl->lock);
    if (last == NULL)
      return 0;
    if (otpc_app_stop(ctl, self, last) != 0)
      return OTPC_EINVAL; /* busy in another thread */
  }
}

int otpc_app_get_env(otpc_app_ctl_t *ctl, const char *app, const char *key,
                     otpc_msg_t **value) {
  otpc_atom_t k;
  if (ctl == NULL || key == NULL || value == NULL)
    return OTPC_EINVAL;
  if (otpc_atom_lookup(key, strlen(key), &k) != 0)
    return OTPC_ENOTFOUND;
  int rc = OTPC_ENOTFOUND;
  pthread_mutex_lock(&ctl->lock);
  app_t *a = find(ctl, app);
  for (size_t i = 0; a != NULL && i < a->n_env; i++)
    if (a->env[i].key == k) {
      *value = otpc_msg_ref(a->env[i].value);
      rc = 0;
      break;
    }
  pthread_mutex_unlock(&ctl->lock);
  return rc;
}

int otpc_app_set_env(otpc_app_ctl_t *ctl, const char *app, const char *key,
                     otpc_term_t value) {
  otpc_atom_t k;
  if (ctl == NULL || key == NULL || value.p == NULL || otpc_atom(key, &k) != 0)
    return OTPC_EINVAL;
  otpc_msg_t *m = NULL;
  int rc = otpc_msg_from_term(value, &m);
  if (rc != 0)
    return rc;
  pthread_mutex_lock(&ctl->lock);
  app_t *a = find(ctl, app);
  rc = a == NULL ? OTPC_ENOTFOUND : env_put(a, k, m);
  pthread_mutex_unlock(&ctl->lock);
  if (rc != 0)
    otpc_msg_unref(m);
  return rc;
}

int otpc_app_which(otpc_app_ctl_t *ctl, const char **names, size_t cap) {
  if (ctl == NULL || (cap > 0 && names == NULL))
    return OTPC_EINVAL;
  pthread_mutex_lock(&ctl->lock);
  size_t n = ctl->n_order;
  for (size_t i = 0; i < n && i < cap; i++)
    names[i] = otpc_atom_text(ctl->order[i], NULL);
  pthread_mutex_unlock(&ctl->lock);
  return (int)n;
}

int otpc_app_sup(otpc_app_ctl_t *ctl, const char *name, otpc_pid_t *pid) {
  if (ctl == NULL || pid == NULL)
    return OTPC_EINVAL;
  int rc = OTPC_ENOTFOUND;
  pthread_mutex_lock(&ctl->lock);
  app_t *a = find(ctl, name);
  if (a != NULL && a->running && a->spec->sup != NULL) {
    *pid = a->sup;
    rc = 0;
  }
  pthread_mutex_unlock(&ctl->lock);
  return rc;
}
