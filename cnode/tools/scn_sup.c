/* The supervisor family of otpc-scenario: supervisors of puppets and the
 * supervisor ops, as test/scenario_erl_sup.erl on the BEAM (that file
 * documents the spec format; docs/scenarios.md the ops).
 *
 * A supervisor's spec, its children and their start arguments must live
 * as long as the supervisor (supervisor.h), which a scenario may leave
 * running or kill at any point: everything they need is kept in one list
 * and freed after the runtime has stopped (otpc__scn_sup_cleanup). The
 * supervisor's init hook links it to the controller and announces it, as
 * a puppet does, so its exit reason is in the trace. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "otpc/supervisor.h"
#include "scn_family.h"

static otpc_term_t as_term(const otpc_buf_t *b) {
  return (otpc_term_t){b->data, b->len};
}

/* ------------------------------------------------------- kept memory */

typedef struct kept {
  struct kept *next;
  void *mem;
  otpc_msg_t *msg;
} kept_t;

/* Scenario processes run on several schedulers. */
static pthread_mutex_t kept_lock = PTHREAD_MUTEX_INITIALIZER;
static kept_t *kept_list;

static int keep(void *mem, otpc_msg_t *msg) {
  kept_t *k = malloc(sizeof *k);
  if (k == NULL) {
    free(mem);
    otpc_msg_unref(msg);
    return OTPC_ENOMEM;
  }
  k->mem = mem;
  k->msg = msg;
  pthread_mutex_lock(&kept_lock);
  k->next = kept_list;
  kept_list = k;
  pthread_mutex_unlock(&kept_lock);
  return 0;
}

static void *kept_calloc(size_t n, size_t size) {
  void *p = calloc(n ? n : 1, size);
  if (p == NULL || keep(p, NULL) < 0)
    return NULL;
  return p;
}

/* A copy of a term that lives until the cleanup. */
static int kept_term(otpc_term_t t, otpc_term_t *out) {
  otpc_msg_t *m;
  int rc = otpc_msg_from_term(t, &m);
  if (rc < 0)
    return rc;
  *out = otpc_msg_term(m);
  return keep(NULL, m);
}

void otpc__scn_sup_cleanup(void) {
  pthread_mutex_lock(&kept_lock);
  kept_t *k = kept_list;
  kept_list = NULL;
  pthread_mutex_unlock(&kept_lock);
  while (k != NULL) {
    kept_t *next = k->next;
    free(k->mem);
    otpc_msg_unref(k->msg);
    free(k);
    k = next;
  }
}

/* ------------------------------------------------------------- specs */

/* The supervisor's init argument: who to announce to, and as what. */
typedef struct sup_arg {
  otpc_pid_t ctl;
  otpc_atom_t name;
} sup_arg_t;

static int sup_init(otpc_proc_t *self, void *arg, otpc_sup_spec_t *spec) {
  (void)spec;
  const sup_arg_t *a = arg;
  otpc_pid_t me = otpc_self(self);
  /* First the link: the trapping controller sees the exit. */
  otpc_link(self, a->ctl);
  otpc_sendf(self, a->ctl, "{'$ev', ~p, {puppet, ~A}}", &me, a->name);
  return OTPC_SUP_INIT_OK;
}

/* Index of the atom `t` in names[], or -1. */
static int pick(otpc_term_t t, const char *const *names, int n) {
  for (int i = 0; i < n; i++)
    if (otpc_term_is_atom(t, names[i]))
      return i;
  return -1;
}

static const otpc_sup_spec_t *build_spec(otpc_pid_t ctl, otpc_term_t flags,
                                         otpc_term_t children, int *rc);

/* Child props: {restart, R}, {shutdown, brutal_kill | infinity | Ms},
 * significant. */
static int child_props(otpc_term_t props, otpc_child_spec_t *c) {
  static const char *const restarts[] = {"permanent", "transient", "temporary"};
  otpc_term_t v;
  int64_t ms;
  if (otpc__scn_prop(props, "restart", &v)) {
    int r = pick(v, restarts, 3);
    if (r < 0)
      return OTPC_EINVAL;
    c->restart = (otpc_restart_t)r;
  }
  if (otpc__scn_prop(props, "shutdown", &v)) {
    if (otpc_term_is_atom(v, "brutal_kill"))
      c->shutdown = OTPC_SHUTDOWN_BRUTAL_KILL;
    else if (otpc_term_is_atom(v, "infinity"))
      c->shutdown = OTPC_SHUTDOWN_INFINITY;
    else if (otpc_term_int64(v, &ms) == 0 && ms >= 0) {
      c->shutdown = OTPC_SHUTDOWN_TIMEOUT;
      c->shutdown_ms = ms;
    } else
      return OTPC_EINVAL;
  }
  c->significant = otpc__scn_has_atom(props, "significant");
  return 0;
}

/* {Id, Script} | {Id, Script, Props} | {Id, {sup, Flags, Children}, Props}
 * into *c, everything it points to kept. `dynamic`: a simple_one_for_one
 * template. */
static int child_spec(otpc_pid_t ctl, otpc_term_t t, bool dynamic,
                      otpc_child_spec_t *c) {
  otpc_atom_t id;
  otpc_term_t what, props = {NULL, 0}, flags, kids;
  static const uint8_t nil[] = {106};
  if (otpc_term_match(t, NULL, "{~a, ~t}", &id, &what) == 0)
    props = (otpc_term_t){nil, 1};
  else if (otpc_term_match(t, NULL, "{~a, ~t, ~t}", &id, &what, &props) != 0)
    return OTPC_EINVAL;
  memset(c, 0, sizeof *c);
  size_t len;
  const char *text = otpc_atom_text(id, &len);
  char *idcopy = kept_calloc(len + 1, 1);
  if (idcopy == NULL)
    return OTPC_ENOMEM;
  memcpy(idcopy, text, len);
  c->id = idcopy;
  int rc = child_props(props, c);
  if (rc < 0)
    return rc;
  if (otpc_term_match(what, NULL, "{sup, ~t, ~t}", &flags, &kids) == 0) {
    sup_arg_t *a = kept_calloc(1, sizeof *a);
    if (a == NULL)
      return OTPC_ENOMEM;
    a->ctl = ctl;
    a->name = id;
    if ((c->supervisor = build_spec(ctl, flags, kids, &rc)) == NULL)
      return rc;
    c->arg = a;
    c->type = OTPC_SUPERVISOR;
    c->module = "scenario_erl_sup";
    /* As the BEAM side's spec: a nested supervisor waits for its tree. */
    if (c->shutdown == OTPC_SHUTDOWN_DEFAULT)
      c->shutdown = OTPC_SHUTDOWN_INFINITY;
    return 0;
  }
  otpc__scn_puppet_arg_t *a = kept_calloc(1, sizeof *a);
  if (a == NULL)
    return OTPC_ENOMEM;
  a->ctl = ctl;
  a->name = id;
  if ((rc = kept_term(what, &a->script)) < 0)
    return rc;
  c->gen_server = dynamic ? &otpc__scn_gs_puppet_dyn : &otpc__scn_gs_puppet;
  c->arg = a;
  c->module = "scenario_erl_gs";
  return 0;
}

/* Flags: [{strategy, S}, {intensity, I}, {period, P}, {auto_shutdown, A}],
 * OTP's defaults for those left out. */
static const otpc_sup_spec_t *build_spec(otpc_pid_t ctl, otpc_term_t flags,
                                         otpc_term_t children, int *rc) {
  static const char *const strategies[] = {
      "one_for_one", "one_for_all", "rest_for_one", "simple_one_for_one"};
  static const char *const autos[] = {"never", "any_significant",
                                      "all_significant"};
  otpc_sup_spec_t *spec = kept_calloc(1, sizeof *spec);
  otpc_term_t v, e;
  int64_t n64;
  *rc = OTPC_EINVAL;
  if (spec == NULL) {
    *rc = OTPC_ENOMEM;
    return NULL;
  }
  spec->strategy = OTPC_ONE_FOR_ONE;
  spec->intensity = 1;
  spec->period_s = 5;
  spec->init = sup_init;
  if (otpc__scn_prop(flags, "strategy", &v)) {
    int s = pick(v, strategies, 4);
    if (s < 0)
      return NULL;
    spec->strategy = (otpc_sup_strategy_t)s;
  }
  if (otpc__scn_prop(flags, "intensity", &v)) {
    if (otpc_term_int64(v, &n64) != 0 || n64 < 0 || n64 > 1000000)
      return NULL;
    spec->intensity = (int)n64;
  }
  if (otpc__scn_prop(flags, "period", &v)) {
    if (otpc_term_int64(v, &n64) != 0 || n64 < 1 || n64 > 1000000)
      return NULL;
    spec->period_s = (int)n64;
  }
  if (otpc__scn_prop(flags, "auto_shutdown", &v)) {
    int a = pick(v, autos, 3);
    if (a < 0)
      return NULL;
    spec->auto_shutdown = (otpc_auto_shutdown_t)a;
  }
  otpc_iter_t it;
  size_t n = 0;
  if (otpc_term_type(children) != OTPC_T_NIL &&
      otpc_term_list(children, &it, &n) != 0)
    return NULL;
  otpc_child_spec_t *kids = kept_calloc(n, sizeof *kids);
  if (kids == NULL) {
    *rc = OTPC_ENOMEM;
    return NULL;
  }
  for (size_t i = 0; i < n && otpc_iter_next(&it, &e) == 1; i++)
    if ((*rc = child_spec(ctl, e, spec->strategy == OTPC_SIMPLE_ONE_FOR_ONE,
                          &kids[i])) < 0)
      return NULL;
  spec->children = kids;
  spec->n_children = n;
  *rc = 0;
  return spec;
}

/* ---------------------------------------------------------------- ops */

static int op_start(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op,
                    otpc__scn_done_fn done) {
  otpc_atom_t name, reg;
  otpc_term_t flags, children, regt;
  int rc;
  if (otpc_term_match(op, NULL, "{sup_start, ~a, ~t, ~t, ~t}", &name, &flags,
                      &children, &regt) != 0)
    return OTPC_EINVAL;
  otpc_gs_start_opts_t opts = {.link = true}; /* supervisor:start_link */
  if (!otpc_term_is_atom(regt, "undefined")) {
    if (otpc_term_atom(regt, &reg) != 0)
      return OTPC_EINVAL;
    opts.name = otpc_atom_text(reg, NULL);
  }
  const otpc_sup_spec_t *spec = build_spec(ctl, flags, children, &rc);
  sup_arg_t *a = kept_calloc(1, sizeof *a);
  if (spec == NULL)
    return rc;
  if (a == NULL)
    return OTPC_ENOMEM;
  a->ctl = ctl;
  a->name = name;
  otpc__scn_pending_t *w = otpc__scn_pending_new(done);
  if (w == NULL)
    return OTPC_ENOMEM;
  rc = otpc_sup_start(self, spec, a, &opts, otpc__scn_start_cont, w);
  if (rc < 0) {
    otpc__scn_pending_free(w);
    return rc;
  }
  return OTPC__SCN_PENDING;
}

/* start_child with a spec: the reply as it is. */
static int op_start_child(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op,
                          otpc__scn_done_fn done) {
  otpc_pid_t sup;
  otpc_term_t child;
  if (otpc_term_match(op, NULL, "{sup_start_child_spec, ~p, ~t}", &sup,
                      &child) != 0)
    return OTPC_EINVAL;
  /* The supervisor reads the spec before it replies: kept till then (and
   * after; it is small). */
  otpc_child_spec_t *spec = kept_calloc(1, sizeof *spec);
  if (spec == NULL)
    return OTPC_ENOMEM;
  int rc = child_spec(ctl, child, false, spec);
  if (rc < 0)
    return rc;
  otpc__scn_pending_t *w = otpc__scn_pending_new(done);
  if (w == NULL)
    return OTPC_ENOMEM;
  rc = otpc_sup_start_child(self, sup, spec, otpc__scn_call_cont, w);
  if (rc < 0) {
    otpc__scn_pending_free(w);
    return rc;
  }
  return OTPC__SCN_PENDING;
}

int otpc__scn_sup_op(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op,
                     otpc_buf_t *res, otpc__scn_done_fn done) {
  (void)res;
  if (otpc_term_match(op, NULL, "{sup_start, _, _, _, _}") == 0)
    return op_start(self, ctl, op, done);
  if (otpc_term_match(op, NULL, "{sup_start_child_spec, _, _}") == 0)
    return op_start_child(self, ctl, op, done);
  return OTPC__SCN_NOMATCH;
}

/* ------------------------------------------------------ names resolved */

/* The supervisor API is gen_server calls (supervisor.h): those ops become
 * gs_call commands with the request and timeout supervisor.erl uses. */
int otpc__scn_sup_real_op(const otpc__scn_names_t *nm, otpc_term_t op,
                          otpc_buf_t *out) {
  otpc_term_t sup, arg, q, flags, children, opts, reg;
  otpc_buf_t tb, ab;
  int rc;
  if (otpc_term_match(op, NULL, "{sup_start, ~t, ~t, ~t}", &q, &flags,
                      &children) == 0 ||
      otpc_term_match(op, NULL, "{sup_start, ~t, ~t, ~t, ~t}", &q, &flags,
                      &children, &opts) == 0) {
    bool named = otpc_term_match(op, NULL, "{_, _, _, _, _}") == 0 &&
                 otpc__scn_prop(opts, "register", &reg);
    otpc_buf_init(&ab);
    rc = nm->real(nm->ctx, children, &ab);
    if (rc == 0) {
      otpc_term_t kids = as_term(&ab);
      rc = named ? otpc_term_build(out, NULL, "{sup_start, ~t, ~t, ~t, ~t}", &q,
                                   &flags, &kids, &reg)
                 : otpc_term_build(out, NULL,
                                   "{sup_start, ~t, ~t, ~t, undefined}", &q,
                                   &flags, &kids);
    }
    otpc_buf_free(&ab);
    return rc;
  }
  const char *req = NULL;
  bool has_arg = true;
  if (otpc_term_match(op, NULL, "{sup_which_children, ~t}", &sup) == 0) {
    req = "which_children";
    has_arg = false;
  } else if (otpc_term_match(op, NULL, "{sup_count_children, ~t}", &sup) == 0) {
    req = "count_children";
    has_arg = false;
  } else if (otpc_term_match(op, NULL, "{sup_terminate_child, ~t, ~t}", &sup,
                             &arg) == 0)
    req = "terminate_child";
  else if (otpc_term_match(op, NULL, "{sup_restart_child, ~t, ~t}", &sup,
                           &arg) == 0)
    req = "restart_child";
  else if (otpc_term_match(op, NULL, "{sup_delete_child, ~t, ~t}", &sup,
                           &arg) == 0)
    req = "delete_child";
  else if (otpc_term_match(op, NULL, "{sup_start_child, ~t, ~t}", &sup, &arg) ==
           0)
    req = "start_child";
  if (req == NULL)
    return OTPC__SCN_NOMATCH;
  otpc_buf_init(&tb);
  otpc_buf_init(&ab);
  rc = otpc__scn_target(nm, sup, &tb);
  if (rc == 0 && has_arg)
    rc = nm->real(nm->ctx, arg, &ab);
  if (rc == 0) {
    otpc_term_t tt = as_term(&tb), at = as_term(&ab);
    if (!has_arg)
      rc = otpc_term_build(out, NULL, "{gs_call, ~t, ~a, infinity}", &tt, req);
    else if (strcmp(req, "start_child") == 0 &&
             otpc_term_type(at) != OTPC_T_LIST &&
             otpc_term_type(at) != OTPC_T_NIL)
      rc = otpc_term_build(out, NULL, "{sup_start_child_spec, ~t, ~t}", &tt,
                           &at);
    else
      rc = otpc_term_build(out, NULL, "{gs_call, ~t, {~a, ~t}, infinity}", &tt,
                           req, &at);
  }
  otpc_buf_free(&tb);
  otpc_buf_free(&ab);
  return rc;
}
