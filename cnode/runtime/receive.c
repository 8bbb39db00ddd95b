/* Selective receive without a stack: a wait (matcher, continuation,
 * timeout) that the scheduler honours between callbacks, scanning the
 * private queue from a saved position so no message is matched twice.
 * Also otpc_yield. */
#include <stdlib.h>
#include <string.h>

#include "rt_internal.h"

otpc__wait_t *otpc__wait_get(otpc_proc_t *p) {
  if (p->wait == NULL) {
    p->wait = calloc(1, sizeof *p->wait);
    if (p->wait != NULL)
      otpc__tw_entry_init(&p->wait->timer);
  }
  return p->wait;
}

void otpc__wait_free(otpc_proc_t *p) {
  otpc__wait_t *w = p->wait;
  if (w == NULL)
    return;
  if (w->timer_on)
    otpc__wait_timer_stop(p);
  /* The process dies waiting: cont will never run to take ctx over. */
  if (w->active && w->drop != NULL)
    w->drop(w->ctx);
  free(w->arg);
  free(w);
  p->wait = NULL;
}

/* Unlinks the node *pp from the queue. */
static otpc__sig_t *unlink_at(otpc_proc_t *p, otpc__sig_t **pp) {
  otpc__sig_t *s = *pp;
  *pp = s->next;
  if (p->mq_tail == &s->next)
    p->mq_tail = pp;
  s->next = NULL;
  if (s->type == OTPC__SIG_MSG) {
    p->mq_len--;
    /* Relaxed: introspection snapshots. */
    atomic_store_explicit(&p->i_mq_len, p->mq_len, memory_order_relaxed);
    atomic_store_explicit(
        &p->i_mq_bytes,
        atomic_load_explicit(&p->i_mq_bytes, memory_order_relaxed) -
            otpc_msg_size(s->msg),
        memory_order_relaxed);
  }
  return s;
}

void otpc__mq_drop(otpc_proc_t *p, otpc__sig_t *s) {
  (void)p;
  otpc__sig_free(s);
}

otpc__sig_t *otpc__mq_take_match(otpc_proc_t *p, otpc__sig_t **from,
                                 otpc_match_fn match, const void *arg) {
  for (otpc__sig_t **pp = from; *pp != NULL; pp = &(*pp)->next) {
    otpc__sig_t *s = *pp;
    if (s->type != OTPC__SIG_MSG)
      continue;
    if (match == NULL || match(otpc_msg_term(s->msg), arg)) {
      /* The saved scan position may point into what we unlink. */
      p->save = &p->mq_head;
      return unlink_at(p, pp);
    }
  }
  return NULL;
}

otpc__sig_t *otpc__mq_next(otpc_proc_t *p) {
  otpc__wait_t *w = p->wait;
  if (w == NULL || !w->active) {
    if (p->cls == NULL || p->cls->handle == NULL)
      return NULL; /* messages wait for an otpc_receive */
    while (p->mq_head != NULL) {
      otpc__sig_t *s = unlink_at(p, &p->mq_head);
      if (s->type == OTPC__SIG_MSG)
        return s;
      otpc__sig_free(s); /* a stale timeout */
    }
    return NULL;
  }
  otpc__sig_t **pp = p->save;
  while (*pp != NULL) {
    otpc__sig_t *s = *pp;
    if (s->type == OTPC__SIG_TIMEOUT) {
      unlink_at(p, pp);
      if (s->aux == w->seq) {
        p->save = &p->mq_head;
        return s;
      }
      otpc__sig_free(s);
      continue;
    }
    if (w->match == NULL || w->match(otpc_msg_term(s->msg), w->arg)) {
      unlink_at(p, pp);
      p->save = &p->mq_head;
      return s;
    }
    pp = &s->next;
  }
  p->save = pp;
  return NULL;
}

int otpc_receive(otpc_proc_t *self, otpc_match_fn match, const void *match_arg,
                 size_t arg_size, int64_t timeout_ms, otpc_cont_fn cont,
                 void *ctx) {
  return otpc_receive_owned(self, match, match_arg, arg_size, timeout_ms, cont,
                            ctx, NULL);
}

int otpc_receive_owned(otpc_proc_t *self, otpc_match_fn match,
                       const void *match_arg, size_t arg_size,
                       int64_t timeout_ms, otpc_cont_fn cont, void *ctx,
                       otpc_drop_fn drop) {
  if (self == NULL || cont == NULL || self->thr != NULL ||
      (arg_size > 0 && match_arg == NULL))
    return OTPC_EINVAL;
  otpc__wait_t *w = otpc__wait_get(self);
  if (w == NULL)
    return OTPC_ENOMEM;
  if (w->active)
    return OTPC_EINVAL;
  if (arg_size > w->arg_cap) {
    void *a = realloc(w->arg, arg_size);
    if (a == NULL)
      return OTPC_ENOMEM;
    w->arg = a;
    w->arg_cap = arg_size;
  }
  if (arg_size > 0)
    memcpy(w->arg, match_arg, arg_size);
  w->match = match;
  w->cont = cont;
  w->ctx = ctx;
  w->drop = drop;
  w->seq++;
  w->active = true;
  self->save = &self->mq_head;
  if (timeout_ms == 0) {
    /* `after 0`: what is queued now is scanned first, then this marker. */
    otpc__sig_t *s = otpc__sig_msg(NULL);
    if (s == NULL) {
      w->active = false;
      return OTPC_ENOMEM;
    }
    s->type = OTPC__SIG_TIMEOUT;
    s->aux = w->seq;
    *self->mq_tail = s;
    self->mq_tail = &s->next;
  } else if (timeout_ms > 0) {
    otpc__wait_timer_start(self, (uint64_t)timeout_ms);
  }
  return 0;
}

bool otpc_match_ref(otpc_term_t msg, const void *ref) {
  otpc_iter_t it;
  size_t n;
  otpc_term_t e;
  otpc_ref_t r;
  if (otpc_term_type(msg) != OTPC_T_TUPLE ||
      otpc_term_tuple(msg, &it, &n) < 0 || n < 1)
    return false;
  for (size_t i = 0; i < 2 && i < n; i++) {
    if (otpc_iter_next(&it, &e) != 1)
      return false;
    if (otpc_term_type(e) == OTPC_T_REF && otpc_term_ref(e, &r) == 0 &&
        otpc__ref_eq(&r, ref))
      return true;
  }
  return false;
}

bool otpc_match_exit_from(otpc_term_t msg, const void *pid) {
  otpc_iter_t it;
  size_t n;
  otpc_term_t e;
  otpc_pid_t p;
  if (otpc_term_type(msg) != OTPC_T_TUPLE ||
      otpc_term_tuple(msg, &it, &n) < 0 || n != 3)
    return false;
  if (otpc_iter_next(&it, &e) != 1 || otpc_term_is_atom(e, "EXIT") != 1)
    return false;
  return otpc_iter_next(&it, &e) == 1 && otpc_term_pid(e, &p) == 0 &&
         otpc__pid_eq(p, *(const otpc_pid_t *)pid);
}

int otpc_yield(otpc_proc_t *self, otpc_step_fn fn, void *ctx) {
  if (self == NULL || fn == NULL || self->thr != NULL)
    return OTPC_EINVAL;
  otpc__wait_t *w = otpc__wait_get(self);
  if (w == NULL)
    return OTPC_ENOMEM;
  if (w->step != NULL)
    return OTPC_EINVAL;
  w->step = fn;
  w->step_ctx = ctx;
  return 0;
}
