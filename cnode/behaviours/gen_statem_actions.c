/* gen_statem: what a callback says (the otpc_sm_* results and actions,
 * recorded on the machine in the order given, acted on by the loop in
 * gen_statem.c after the callback), the event deques they fill, and two
 * helpers of gen.h. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "gen.h"
#include "gen_statem_int.h"

static int evq_room(evq_t *q, size_t front, size_t back) {
  if (q->head >= front && q->head + q->len + back <= q->cap)
    return 0;
  size_t need = front + q->len + back;
  size_t cap = q->cap < 8 ? 8 : q->cap;
  while (cap < need + front)
    cap *= 2;
  ev_t *v = malloc(cap * sizeof *v);
  if (v == NULL)
    return OTPC_ENOMEM;
  /* Leave `front` free slots before the events, `back` after. */
  if (q->len > 0)
    memcpy(v + front, q->v + q->head, q->len * sizeof *v);
  free(q->v);
  q->v = v;
  q->cap = cap;
  q->head = front;
  return 0;
}

int otpc__sm_evq_push(evq_t *q, ev_t e) {
  int rc = evq_room(q, 0, 1);
  if (rc == 0)
    q->v[q->head + q->len++] = e;
  return rc;
}

bool otpc__sm_evq_pop(evq_t *q, ev_t *e) {
  if (q->len == 0)
    return false;
  *e = q->v[q->head++];
  if (--q->len == 0)
    q->head = 0;
  return true;
}

/* Moves all of `src`, in order, in front of q's events. */
int otpc__sm_evq_prepend(evq_t *q, evq_t *src) {
  if (src->len == 0)
    return 0;
  int rc = evq_room(q, src->len, 0);
  if (rc < 0)
    return rc;
  q->head -= src->len;
  memcpy(q->v + q->head, src->v + src->head, src->len * sizeof *q->v);
  q->len += src->len;
  src->len = src->head = 0;
  return 0;
}

void otpc__sm_evq_free(evq_t *q) {
  ev_t e;
  while (otpc__sm_evq_pop(q, &e))
    otpc_msg_unref(e.msg);
  free(q->v);
  memset(q, 0, sizeof *q);
}

/* Records the first bad action: OTP stops there with this reason. */
void otpc__sm_set_bad(otpc_sm_t *sm, const char *fmt, ...) {
  if (sm->bad != NULL)
    return;
  otpc_buf_t b;
  otpc_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc_term_vbuild(&b, NULL, fmt, ap);
  va_end(ap);
  if (rc != 0 || otpc_msg_from_term(buf_term(&b), &sm->bad) != 0)
    (void)otpc_msg_build(&sm->bad, NULL, "bad_action");
  otpc_buf_free(&b);
  sm->replies_before_bad = sm->nrep;
}

int otpc_sm_next_state(otpc_sm_t *sm, otpc_term_t state) {
  if (!in_cb(sm) || state.p == NULL)
    return OTPC_EINVAL;
  int rc = copy_term(&sm->next, state);
  sm->has_next = rc == 0;
  return rc;
}

/* The *f setters: build the term, then set it as the plain setter does. */
static int vset(otpc_sm_t *sm, int (*set)(otpc_sm_t *, otpc_term_t),
                const char *fmt, va_list ap) {
  otpc_buf_t b;
  otpc_buf_init(&b);
  int rc = otpc_term_vbuild(&b, NULL, fmt, ap);
  if (rc == 0)
    rc = set(sm, buf_term(&b));
  otpc_buf_free(&b);
  return rc;
}

int otpc_sm_next_statef(otpc_sm_t *sm, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = vset(sm, otpc_sm_next_state, fmt, ap);
  va_end(ap);
  return rc;
}

void otpc_sm_repeat_state(otpc_sm_t *sm) {
  if (in_cb(sm) && sm->cb != CB_INIT)
    sm->repeat = true;
}

int otpc_sm_stop(otpc_sm_t *sm, otpc_term_t reason) {
  if (!in_cb(sm) || reason.p == NULL)
    return OTPC_EINVAL;
  int rc = copy_term(&sm->reason, reason);
  sm->stop = rc == 0;
  return rc;
}

int otpc_sm_stopf(otpc_sm_t *sm, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = vset(sm, otpc_sm_stop, fmt, ap);
  va_end(ap);
  return rc;
}

void otpc_sm_ignore(otpc_sm_t *sm) {
  if (in_cb(sm) && sm->cb == CB_INIT)
    sm->ignore = true;
}

void *otpc__grow(void *v, size_t *cap, size_t n, size_t elem, size_t first) {
  if (n < *cap)
    return v;
  size_t c = *cap ? *cap * 2 : first;
  void *nv = realloc(v, c * elem);
  if (nv != NULL)
    *cap = c;
  return nv;
}

static int add_reply(otpc_sm_t *sm, const otpc_gs_from_t *from, otpc_msg_t *m) {
  reply_t *r = otpc__grow(sm->rep, &sm->caprep, sm->nrep, sizeof *r, 4);
  if (r == NULL) {
    otpc_msg_unref(m);
    return OTPC_ENOMEM;
  }
  sm->rep = r;
  sm->rep[sm->nrep].from = *from;
  sm->rep[sm->nrep++].reply = m;
  return 0;
}

int otpc_sm_reply(otpc_sm_t *sm, const otpc_gs_from_t *from,
                  otpc_term_t reply) {
  if (!in_cb(sm) || from == NULL || from->tag_len == 0 || reply.p == NULL)
    return OTPC_EINVAL;
  otpc_msg_t *m;
  int rc = otpc_msg_from_term(reply, &m);
  return rc < 0 ? rc : add_reply(sm, from, m);
}

int otpc_sm_replyf(otpc_sm_t *sm, const otpc_gs_from_t *from, const char *fmt,
                   ...) {
  otpc_buf_t b;
  otpc_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc_term_vbuild(&b, NULL, fmt, ap);
  va_end(ap);
  if (rc == 0)
    rc = otpc_sm_reply(sm, from, buf_term(&b));
  otpc_buf_free(&b);
  return rc;
}

void otpc_sm_postpone(otpc_sm_t *sm) {
  if (!in_cb(sm))
    return;
  if (sm->cb == CB_ENTER)
    otpc__sm_set_bad(sm,
                     "{bad_state_enter_action_from_state_function, postpone}");
  else if (sm->cb == CB_EVENT)
    sm->postpone = true; /* init: ignored, as OTP appends {postpone,false} */
}

/* The atom of an event type, for terms built from events. */
const char *otpc__sm_type_name(otpc_sm_type_t t) {
  static const char *const names[] = {"enter",         "call",     "cast",
                                      "info",          "internal", "timeout",
                                      "state_timeout", "timeout"};
  return t <= OTPC_SM_GENERIC_TIMEOUT ? names[t] : "undefined";
}

/* An event owning {Content, From, Name} (From and Name undefined when
 * the type has none). */
static int ev_make(ev_t *e, otpc_sm_type_t type, otpc_term_t content,
                   const otpc_gs_from_t *from, otpc_term_t name) {
  static const uint8_t undef[] = {119, 9,   'u', 'n', 'd', 'e',
                                  'f', 'i', 'n', 'e', 'd'};
  otpc_term_t u = {undef, sizeof undef};
  otpc_term_t tag = u, nm = name.p != NULL ? name : u;
  otpc_pid_t pid = {0};
  if (from != NULL) {
    tag = (otpc_term_t){from->tag, from->tag_len};
    pid = from->pid;
  }
  int rc = from != NULL ? otpc_msg_build(&e->msg, NULL, "{~t, {~p, ~t}, ~t}",
                                         &content, &pid, &tag, &nm)
                        : otpc_msg_build(&e->msg, NULL, "{~t, ~t, ~t}",
                                         &content, &u, &nm);
  if (rc < 0)
    return rc;
  otpc_term_t t = otpc_msg_term(e->msg);
  e->type = type;
  otpc_term_element(t, 0, &e->content);
  otpc_term_element(t, 1, &e->from);
  otpc_term_element(t, 2, &e->name);
  return 0;
}

int otpc_sm_next_event(otpc_sm_t *sm, const otpc_sm_event_t *ev) {
  if (!in_cb(sm) || ev == NULL || ev->content.p == NULL ||
      ev->type == OTPC_SM_ENTER || ev->type > OTPC_SM_GENERIC_TIMEOUT ||
      (ev->type == OTPC_SM_CALL && ev->from == NULL) ||
      (ev->type == OTPC_SM_GENERIC_TIMEOUT && ev->name.p == NULL))
    return OTPC_EINVAL;
  if (sm->cb == CB_ENTER) {
    otpc__sm_set_bad(sm,
                     "{bad_state_enter_action_from_state_function, "
                     "{next_event, ~a, ~t}}",
                     otpc__sm_type_name(ev->type), &ev->content);
    return 0;
  }
  ev_t e;
  otpc_term_t none = {NULL, 0};
  int rc = ev_make(&e, ev->type, ev->content,
                   ev->type == OTPC_SM_CALL ? ev->from : NULL,
                   ev->type == OTPC_SM_GENERIC_TIMEOUT ? ev->name : none);
  if (rc == 0 && (rc = otpc__sm_evq_push(&sm->nexts, e)) < 0)
    otpc_msg_unref(e.msg);
  return rc;
}

int otpc_sm_next_internal(otpc_sm_t *sm, otpc_term_t content) {
  otpc_sm_event_t ev = {OTPC_SM_INTERNAL, content, NULL, {NULL, 0}};
  return otpc_sm_next_event(sm, &ev);
}

static int add_timeout(otpc_sm_t *sm, otpc_sm_type_t kind, otpc_term_t name,
                       int64_t ms, otpc_term_t msg) {
  if (!in_cb(sm) || ms < OTPC_SM_UPDATE || msg.p == NULL ||
      (kind == OTPC_SM_GENERIC_TIMEOUT && name.p == NULL))
    return OTPC_EINVAL;
  tact_t *ta = otpc__grow(sm->ta, &sm->capta, sm->nta, sizeof *ta, 4);
  if (ta == NULL)
    return OTPC_ENOMEM;
  sm->ta = ta;
  otpc_msg_t *m;
  int rc;
  if (kind == OTPC_SM_GENERIC_TIMEOUT)
    rc = otpc_msg_build(&m, NULL, "{~t, ~t}", &name, &msg);
  else
    rc = otpc_msg_build(&m, NULL, "{undefined, ~t}", &msg);
  if (rc < 0)
    return rc;
  sm->ta[sm->nta++] = (tact_t){kind, ms, m, false};
  return 0;
}

int otpc_sm_timeout(otpc_sm_t *sm, int64_t ms, otpc_term_t msg) {
  return add_timeout(sm, OTPC_SM_TIMEOUT, (otpc_term_t){NULL, 0}, ms, msg);
}

int otpc_sm_state_timeout(otpc_sm_t *sm, int64_t ms, otpc_term_t msg) {
  return add_timeout(sm, OTPC_SM_STATE_TIMEOUT, (otpc_term_t){NULL, 0}, ms,
                     msg);
}

int otpc_sm_generic_timeout(otpc_sm_t *sm, otpc_term_t name, int64_t ms,
                            otpc_term_t msg) {
  return add_timeout(sm, OTPC_SM_GENERIC_TIMEOUT, name, ms, msg);
}

int otpc_sm_cancel_timeout(otpc_sm_t *sm, otpc_sm_type_t type,
                           otpc_term_t name) {
  static const uint8_t undef[] = {119, 9,   'u', 'n', 'd', 'e',
                                  'f', 'i', 'n', 'e', 'd'};
  if (type != OTPC_SM_TIMEOUT && type != OTPC_SM_STATE_TIMEOUT &&
      type != OTPC_SM_GENERIC_TIMEOUT)
    return OTPC_EINVAL;
  /* {Type, cancel} is {Type, infinity, undefined} in OTP. */
  return add_timeout(sm, type, name, OTPC_SM_INFINITY,
                     (otpc_term_t){undef, sizeof undef});
}

void otpc_sm_hibernate(otpc_sm_t *sm) {
  (void)sm;
}

otpc_proc_t *otpc_sm_proc(otpc_sm_t *sm) {
  return sm != NULL ? sm->self : NULL;
}

int otpc__gen_reply_from(otpc_proc_t *self, otpc_term_t from, const char *fmt,
                         ...) {
  otpc_gs_from_t f;
  otpc_term_t tag;
  if (otpc_term_match(from, NULL, "{~p, ~t}", &f.pid, &tag) != 0 ||
      tag.len > OTPC_GS_TAG_MAX)
    return OTPC_EINVAL;
  f.tag_len = tag.len;
  memcpy(f.tag, tag.p, tag.len);
  otpc_buf_t b;
  otpc_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc_term_vbuild(&b, NULL, fmt, ap);
  va_end(ap);
  if (rc == 0)
    rc = otpc_gen_server_reply(self, &f, buf_term(&b));
  otpc_buf_free(&b);
  return rc;
}
