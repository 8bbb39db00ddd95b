/* application in C: named supervision trees started in dependency order
 * with configuration, and stopped in reverse (see docs/behaviours.md,
 * section application).
 *
 * An application is an otpc_app_spec_t: a name, the applications it needs
 * running first, its top supervisor, and its environment (key/value terms,
 * OTP's `env`). Specs are loaded into an application controller (one per
 * runtime, like OTP's application_controller); starting an application
 * starts its top supervisor (unlinked: the controller is no process) and
 * stopping it stops that supervisor with `shutdown`, which stops its tree
 * in reverse start order.
 *
 * The controller is an object, not a process: its functions are
 * thread-safe, and those that start or stop trees block, so they are for a
 * thread process (otpc_thread_attach), never a scheduler's callback. */
#ifndef OTPC_APPLICATION_H
#define OTPC_APPLICATION_H

#include <stddef.h>

#include "otpc/msg.h"
#include "otpc/process.h"
#include "otpc/supervisor.h"
#include "otpc/term.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct otpc_app_ctl otpc_app_ctl_t;

/* One configuration entry: `value` is a term in the builder's syntax
 * without directives (see otpc_term_build), e.g. "8080", "{port, 1}",
 * "<<\"dir\">>". */
typedef struct otpc_app_env {
  const char *key; /* an atom */
  const char *value;
} otpc_app_env_t;

typedef struct otpc_app_spec {
  const char *name;        /* an atom */
  const char *const *deps; /* applications to run first */
  size_t n_deps;
  const otpc_sup_spec_t *sup; /* the top supervisor; NULL: a library
                                 application (no processes) */
  void *sup_arg;              /* its init's arg */
  const otpc_app_env_t *env;
  size_t n_env;
} otpc_app_spec_t;

int otpc_app_ctl_new(otpc_rt_t *rt, otpc_app_ctl_t **out);
/* Stops every running application (otpc_app_stop_all) and frees. */
void otpc_app_ctl_free(otpc_app_ctl_t *ctl, otpc_proc_t *self);

/* application:load. The spec (strings, deps, sup) must outlive the
 * controller; the environment is parsed and copied now. OTPC_EINVAL with
 * err naming the entry for a bad name or value, and for a name loaded
 * already (OTP's {error, {already_loaded, App}}). */
int otpc_app_load(otpc_app_ctl_t *ctl, const otpc_app_spec_t *spec,
                  otpc_err_t *err);

/* application:start(Name): every dependency must be running, else
 * OTPC_ENOTFOUND with err "{not_started, Dep}" (OTP's {error, {not_started,
 * Dep}}); a name not loaded is OTPC_ENOTFOUND too. Starting a running
 * application is OTPC_EINVAL with err "{already_started, App}". A top
 * supervisor that fails to start is OTPC_EINVAL with err holding the
 * printed reason. */
int otpc_app_start(otpc_app_ctl_t *ctl, otpc_proc_t *self, const char *name,
                   otpc_err_t *err);
/* application:ensure_all_started(Name): starts the missing dependencies
 * first, depth first in the order listed, then the application; a cycle is
 * OTPC_EINVAL. On a failure the applications it started are stopped again
 * (in reverse), as OTP does. */
int otpc_app_ensure_all_started(otpc_app_ctl_t *ctl, otpc_proc_t *self,
                                const char *name, otpc_err_t *err);
/* application:stop(Name): stops the top supervisor (shutdown; its children
 * in reverse start order). OTPC_ENOTFOUND if not running. Other running
 * applications that depend on it keep running, as in OTP. */
int otpc_app_stop(otpc_app_ctl_t *ctl, otpc_proc_t *self, const char *name);
/* Stops all running applications in the reverse of their start order. */
int otpc_app_stop_all(otpc_app_ctl_t *ctl, otpc_proc_t *self);

/* application:get_env(App, Key): 0 and a new reference in *value (the
 * caller unrefs), OTPC_ENOTFOUND. Thread-safe, also from callbacks. */
int otpc_app_get_env(otpc_app_ctl_t *ctl, const char *app, const char *key,
                     otpc_msg_t **value);
/* application:set_env(App, Key, Value) (copied). */
int otpc_app_set_env(otpc_app_ctl_t *ctl, const char *app, const char *key,
                     otpc_term_t value);

/* The running applications in start order; writes at most cap names
 * (static atom texts) and returns how many are running. */
int otpc_app_which(otpc_app_ctl_t *ctl, const char **names, size_t cap);
/* The pid of an application's top supervisor: OTPC_ENOTFOUND if it is not
 * running or has none. */
int otpc_app_sup(otpc_app_ctl_t *ctl, const char *name, otpc_pid_t *pid);

#ifdef __cplusplus
}
#endif

#endif
