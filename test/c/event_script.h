/* The reporting gen_event handlers shared by test_gen_event.c and
 * probe_behaviours.c (whose traces event_SUITE compares with OTP's
 * gen_event running test/evh_a.erl and evh_b.erl): every callback reports
 * {Tag, Callback, Arg} to the control process named in the handler's
 * args {Ctl, Tag, Mode}; events {crash, Tag}, {remove, Tag}, {swap, Tag}
 * act on the handler tagged so. The includer defines
 * EV_SCRIPT_ON_EVENT(term) and EV_SCRIPT_AFTER_REPORT(term), run for every
 * event before and after its report. */
#ifndef OTPC_TEST_EVENT_SCRIPT_H
#define OTPC_TEST_EVENT_SCRIPT_H

#include <stdarg.h>
#include <string.h>

#include "otpc/gen_event.h"

/* A term built from a format into b (freed by the caller). */
static otpc_term_t ev_term(otpc_buf_t *b, const char *fmt, ...) {
  otpc_buf_init(b);
  va_list ap;
  va_start(ap, fmt);
  (void)otpc_term_vbuild(b, NULL, fmt, ap);
  va_end(ap);
  return (otpc_term_t){b->data, b->len};
}

typedef struct h_state {
  otpc_pid_t ctl;
  otpc_buf_t tag;
} h_state_t;

static void report(otpc_ge_t *h, h_state_t *s, const char *cb, otpc_term_t x) {
  otpc_term_t tag = {s->tag.data, s->tag.len};
  otpc_sendf(otpc_ge_proc(h), s->ctl, "{~t, ~a, ~t}", &tag, cb, &x);
}

static const otpc_gen_event_handler_t h_b;

static void h_init(otpc_ge_t *h, void *state, otpc_term_t args) {
  h_state_t *s = state;
  otpc_term_t tag, mode, res;
  otpc_buf_init(&s->tag);
  if (otpc_term_match(args, NULL, "{{~p, ~t, _}, ~t}", &s->ctl, &tag, &res) ==
      0) {
    otpc_buf_append(&s->tag, tag.p, tag.len);
    report(h, s, "init_swapped", res);
    return;
  }
  if (otpc_term_match(args, NULL, "{~p, ~t, ~t}", &s->ctl, &tag, &mode) != 0)
    otpc_exitf(otpc_ge_proc(h), "{bad_args, ~t}", &args);
  otpc_buf_append(&s->tag, tag.p, tag.len);
  report(h, s, "init", mode);
  if (otpc_term_is_atom(mode, "fail") == 1) {
    otpc_buf_t b;
    otpc_ge_init_fail(h, ev_term(&b, "{error, no_way}"));
    otpc_buf_free(&b);
  } else if (otpc_term_is_atom(mode, "crash") == 1) {
    otpc_exitf(otpc_ge_proc(h), "init_boom");
  }
}

static void h_event(otpc_ge_t *h, void *state, otpc_term_t ev) {
  h_state_t *s = state;
  otpc_term_t tag = {s->tag.data, s->tag.len}, x;
  EV_SCRIPT_ON_EVENT(ev);
  report(h, s, "event", ev);
  EV_SCRIPT_AFTER_REPORT(ev);
  if (otpc_term_match(ev, NULL, "{crash, ~t}", &x) == 0 &&
      otpc_term_compare(x, tag) == 0) {
    otpc_exitf(otpc_ge_proc(h), "boom");
  } else if (otpc_term_match(ev, NULL, "{remove, ~t}", &x) == 0 &&
             otpc_term_compare(x, tag) == 0) {
    otpc_ge_remove(h);
  } else if (otpc_term_match(ev, NULL, "{swap, ~t}", &x) == 0 &&
             otpc_term_compare(x, tag) == 0) {
    otpc_buf_t a1, a2;
    otpc_pid_t ctl = s->ctl;
    otpc_ge_swap(h, ev_term(&a1, "swap_args1"), &h_b, (otpc_term_t){0},
                 ev_term(&a2, "{~p, swapped_in, ok}", &ctl));
    otpc_buf_free(&a1);
    otpc_buf_free(&a2);
  }
}

static void h_call(otpc_ge_t *h, void *state, otpc_term_t q) {
  h_state_t *s = state;
  otpc_term_t tag = {s->tag.data, s->tag.len};
  report(h, s, "call", q);
  if (otpc_term_is_atom(q, "ping") == 1) {
    otpc_ge_replyf(h, "{pong, ~t}", &tag);
  } else if (otpc_term_is_atom(q, "crash") == 1) {
    otpc_exitf(otpc_ge_proc(h), "call_boom");
  } else if (otpc_term_is_atom(q, "remove") == 1) {
    otpc_ge_replyf(h, "removing");
    otpc_ge_remove(h);
  }
}

static void h_info(otpc_ge_t *h, void *state, otpc_term_t i) {
  report(h, state, "info", i);
}

static void h_terminate(otpc_ge_t *h, void *state, otpc_term_t args) {
  h_state_t *s = state;
  otpc_term_t tag = {s->tag.data, s->tag.len};
  report(h, s, "terminate", args);
  otpc_buf_t b;
  otpc_ge_terminate_result(h, ev_term(&b, "{res, ~t}", &tag));
  otpc_buf_free(&b);
}

static void h_free(void *state) {
  h_state_t *s = state;
  otpc_buf_free(&s->tag);
}

static const otpc_gen_event_handler_t h_a = {
    "evh_a", sizeof(h_state_t), h_init, h_event, h_call,
    h_info,  h_terminate,       h_free};
static const otpc_gen_event_handler_t h_b = {
    "evh_b", sizeof(h_state_t), h_init, h_event, h_call,
    h_info,  h_terminate,       h_free};

#endif
