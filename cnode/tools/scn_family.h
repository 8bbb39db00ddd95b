/* The behaviour families of otpc-scenario (docs/scenarios.md): each family
 * (scn_gs.c: gen_server, ...) brings its ops and its puppet processes, as
 * test/scenario_erl_*.erl do on the BEAM. These files are linked into
 * every cnode tool (mk/build.mk), so they only use the library and what
 * the controller hands them here, never a symbol of otpc-scenario.c. */
#ifndef OTPC_SCN_FAMILY_H
#define OTPC_SCN_FAMILY_H

#include "otpc/buf.h"
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

#endif
