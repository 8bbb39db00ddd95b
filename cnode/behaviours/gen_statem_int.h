/* The gen_statem's state shared by gen_statem.c (the event loop) and
 * gen_statem_actions.c (what callbacks say: results and actions, and the
 * event queues they fill). */
#ifndef OTPC_BEHAVIOURS_GEN_STATEM_INT_H
#define OTPC_BEHAVIOURS_GEN_STATEM_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "otpc/gen_statem.h"

/* ------------------------------------------------------------- events */

/* An event owns a message holding its terms; content, from and name are
 * views into it, so a mailbox message becomes an event without a copy. */
typedef struct ev {
  otpc_sm_type_t type;
  otpc_msg_t *msg;
  otpc_term_t content, from, name;
} ev_t;

/* A deque small in practice (inserted and postponed events). */
typedef struct evq {
  ev_t *v;
  size_t head, len, cap;
} evq_t;

/* ------------------------------------------------------------- timers */

enum { T_NONE = 0, T_RUNNING, T_ZERO };

/* A running timeout. `nm` holds {Name, Msg} (Name undefined but for
 * generic timeouts). A running timer sends {'$otpc_sm_timeout', Gen}: a
 * message whose Gen is no live timer's is one that fired while being
 * cancelled, dropped as OTP's cancel_timer flushes it. */
typedef struct tmr {
  otpc_sm_type_t kind;
  int st;
  otpc_msg_t *nm;
  uint64_t gen;
  uint64_t t0order; /* T_ZERO: position in the zero-timeout queue */
  otpc_ref_t tref;
} tmr_t;

/* A timeout action: ms as in the header, nm {Name, Msg}. */
typedef struct tact {
  otpc_sm_type_t kind;
  int64_t ms;
  otpc_msg_t *nm;
  bool zero; /* it (re)started a zero timeout */
} tact_t;

typedef struct reply {
  otpc_gs_from_t from;
  otpc_msg_t *reply;
} reply_t;

/* ------------------------------------------------------------ machine */

enum { CB_NONE = 0, CB_INIT, CB_EVENT, CB_ENTER };

struct otpc_sm {
  const otpc_gen_statem_t *cls;
  otpc_proc_t *self;
  void *data;
  otpc_pid_t parent;
  otpc_buf_t state;    /* the committed state */
  otpc_buf_t nstate;   /* NextState while an event is processed */
  otpc_sm_fn state_fn; /* state_functions: the committed state's, or NULL */
  evq_t q, postponed;
  tmr_t *tm;
  size_t ntm, captm;
  uint64_t next_gen, next_t0;
  bool terminated, in_cb;
  int cb;
  /* What the running callback said. */
  bool has_next, repeat, stop, ignore;
  otpc_buf_t next, reason;
  otpc_msg_t *bad; /* the first bad action or result: the stop reason */
  size_t replies_before_bad;
  reply_t *rep;
  size_t nrep, caprep;
  /* Accumulated over an event's callback and its enter calls. */
  bool postpone;
  evq_t nexts;
  tact_t *ta;
  size_t nta, capta;
  otpc_gs_from_t from; /* the call being handled */
  /* The event being handled holds this reference until its transition;
   * a stop on the way leaves it to sm_free. */
  otpc_msg_t *cur_msg;
};

static inline otpc_term_t buf_term(const otpc_buf_t *b) {
  return (otpc_term_t){b->data, b->len};
}

static inline int copy_term(otpc_buf_t *b, otpc_term_t t) {
  b->len = 0;
  return otpc_buf_append(b, t.p, t.len);
}

static inline bool term_same(otpc_term_t a, otpc_term_t b) {
  if (a.len == b.len && memcmp(a.p, b.p, a.len) == 0)
    return true;
  return otpc_term_compare_exact(a, b) == 0;
}

static inline bool in_cb(const otpc_sm_t *sm) {
  return sm != NULL && sm->cb != CB_NONE;
}

/* In gen_statem_actions.c: the event deques (push at the back, pop at the
 * front, prepend all of src in order, free with the events' messages),
 * the first bad action (OTP's stop reason, from a format), and the atom
 * of an event type. */
int otpc__sm_evq_push(evq_t *q, ev_t e);
bool otpc__sm_evq_pop(evq_t *q, ev_t *e);
int otpc__sm_evq_prepend(evq_t *q, evq_t *src);
void otpc__sm_evq_free(evq_t *q);
void otpc__sm_set_bad(otpc_sm_t *sm, const char *fmt, ...);
const char *otpc__sm_type_name(otpc_sm_type_t t);

#endif
