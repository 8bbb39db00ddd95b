/* otpc__catch: the runtime unwinds an exit with siglongjmp to the frame the
 * scheduler set (p->sched->jbp, see runtime/proc.c); a catch is one more
 * frame in between, as run_terminate does there. This reaches into the
 * runtime's internals because process.h has no catch: a public otpc_catch
 * there would be the cleaner home. */
#include "catch.h"

#include "../runtime/rt_internal.h"

int otpc__catch(otpc_proc_t *p, void (*fn)(void *), void *arg,
                otpc_msg_t **reason) {
  *reason = NULL;
  if (p->thr != NULL || p->sched == NULL) {
    fn(arg);
    return 0;
  }
  sigjmp_buf jb;
  /* volatile: read after the siglongjmp back into this frame. */
  sigjmp_buf *volatile saved = p->sched->jbp;
  p->sched->jbp = &jb;
  if (sigsetjmp(jb, 0) == 0) {
    fn(arg);
    p->sched->jbp = saved;
    return 0;
  }
  p->sched->jbp = saved;
  *reason = p->exit_reason;
  p->exit_reason = NULL;
  /* Caught: no crash report for the process, which goes on. */
  p->flags &= ~(uint32_t)OTPC__PF_OWN_EXIT;
  return 1;
}

void otpc__proc_log(otpc_proc_t *p, int level, const char *text) {
  otpc__log(p->rt, level, text);
}
