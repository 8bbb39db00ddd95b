/* The behaviour families of otpc-scenario (docs/scenarios.md): each family
 * (scn_gs.c: gen_server, ...) brings its ops and its puppet processes, as
 * test/scenario_erl_*.erl do on the BEAM. These files are linked into
 * every cnode tool (mk/build.mk), so they only use the library and what
 * the controller hands them here, never a symbol of otpc-scenario.c. */
#ifndef OTPC_SCN_FAMILY_H
#define OTPC_SCN_FAMILY_H

#include "otpc/buf.h"
#include "otpc/gen_server.h"
#include "otpc/process.h"
#include "otpc/term.h"

/* Returns of the family functions besides 0 and OTPC_E* codes. */
#define OTPC__SCN_NOMATCH 1 /* not an op of this family */
#define OTPC__SCN_PENDING 2 /* the result comes later, through `done` */

/* What the controller lends a family to resolve names in an op. */
typedef struct otpc__scn_names {
  void *ctx;
  /* The pid of the scenario process or puppet named `name`. */
  int (*pid_of)(void *ctx, otpc_atom_t name, otpc_pid_t *pid);
  /* A copy of `t` with {pid, P}, {ref, R} and '@node' replaced. */
  int (*real)(void *ctx, otpc_term_t t, otpc_buf_t *out);
} otpc__scn_names_t;

/* Gives a scenario process the result of a pending op; the process then
 * takes commands again. */
typedef void (*otpc__scn_done_fn)(otpc_proc_t *self, void *state,
                                  otpc_term_t result);

/* A family's two entry points, each returning OTPC__SCN_NOMATCH for an op
 * that is not its own:
 *   real_op: the command for `op` (names resolved), into `out`;
 *   op: runs a command in the scenario process `self` (whose events go to
 *       `ctl`): 0 with the result in `res`, or OTPC__SCN_PENDING when it
 *       will come through `done`. */
int otpc__scn_gs_real_op(const otpc__scn_names_t *names, otpc_term_t op,
                         otpc_buf_t *out);
int otpc__scn_gs_op(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op,
                    otpc_buf_t *res, otpc__scn_done_fn done);
int otpc__scn_sm_real_op(const otpc__scn_names_t *names, otpc_term_t op,
                         otpc_buf_t *out);
int otpc__scn_sm_op(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op,
                    otpc_buf_t *res, otpc__scn_done_fn done);
int otpc__scn_ev_real_op(const otpc__scn_names_t *names, otpc_term_t op,
                         otpc_buf_t *out);
int otpc__scn_ev_op(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op,
                    otpc_buf_t *res, otpc__scn_done_fn done);
int otpc__scn_sup_real_op(const otpc__scn_names_t *names, otpc_term_t op,
                          otpc_buf_t *out);
int otpc__scn_sup_op(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op,
                     otpc_buf_t *res, otpc__scn_done_fn done);
/* Frees what the supervisors of a scenario needed for their lifetime;
 * once the runtime has stopped. */
void otpc__scn_sup_cleanup(void);

/* ----------------------------------------- shared by the families */

/* A puppet gen_server's start argument: the script must stay valid until
 * the start returns (a supervisor's child: for the supervisor's life). */
typedef struct otpc__scn_puppet_arg {
  otpc_pid_t ctl;
  otpc_atom_t name;
  otpc_term_t script;
} otpc__scn_puppet_arg_t;

extern const otpc_gen_server_t otpc__scn_gs_puppet;
/* For simple_one_for_one: init gets an otpc_sup_dyn_arg_t over an
 * otpc__scn_puppet_arg_t; start_child's [Script] replaces the script. */
extern const otpc_gen_server_t otpc__scn_gs_puppet_dyn;

/* Helpers. A target term (a scenario name or {reg, N}) as a pid or a
 * registered name; the atom in a list; {Key, Value} in a proplist; a
 * gen_server-protocol cast for op {Tag, To, Msg} (result ok). */
int otpc__scn_target(const otpc__scn_names_t *names, otpc_term_t t,
                     otpc_buf_t *out);
bool otpc__scn_has_atom(otpc_term_t list, const char *atom);
bool otpc__scn_prop(otpc_term_t list, const char *key, otpc_term_t *value);
int otpc__scn_cast_op(otpc_proc_t *self, otpc_term_t op, otpc_buf_t *res);

/* A pending op's context for the continuations below, which build its
 * result and hand it to `done`. */
typedef struct otpc__scn_pending otpc__scn_pending_t;
otpc__scn_pending_t *otpc__scn_pending_new(otpc__scn_done_fn done);
void otpc__scn_pending_free(otpc__scn_pending_t *w);
/* A start's result: {ok, Pid} | ignore | {error, R}. */
void otpc__scn_start_cont(otpc_proc_t *self, void *state,
                          const otpc_gs_result_t *r, void *ctx);
/* A call's: the reply, or {exit, {R, {Module, call, Args}}}. */
void otpc__scn_call_cont(otpc_proc_t *self, void *state,
                         const otpc_gs_result_t *r, void *ctx);

/* Starts a puppet for op {Tag, Name, Script, Link, Reg} with `start`
 * (otpc_gen_server_start's shape) and class `cls`; OTPC__SCN_PENDING. */
typedef int (*otpc__scn_start_fn)(otpc_proc_t *self, const void *cls, void *arg,
                                  const otpc_gs_start_opts_t *opts,
                                  otpc_gs_cont_fn cont, void *ctx);
int otpc__scn_start_op(otpc_proc_t *self, otpc_pid_t ctl, otpc_term_t op,
                       otpc__scn_done_fn done, otpc__scn_start_fn start,
                       const void *cls);
/* The commands of Prefix ++ start/call/cast/stop ops (gs_, sm_). */
int otpc__scn_gs_like_real_op(const otpc__scn_names_t *names, otpc_term_t op,
                              const char *prefix, otpc_buf_t *out);
/* A gen_server-protocol call for op {Tag, To, Req, T} (T: default,
 * infinity or ms); exits as Module's. */
int otpc__scn_call_op(otpc_proc_t *self, otpc_term_t op, otpc__scn_done_fn done,
                      const char *module, int64_t dflt_ms, bool dflt_args3);

#endif
