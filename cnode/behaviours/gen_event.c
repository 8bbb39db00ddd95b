/* gen_event over the process runtime, following OTP 25's gen_event.erl: the
 * manager traps exits and keeps its handlers most recent first; every
 * handler callback runs under a catch (catch.h), so a crash removes the
 * handler (terminate({error, {'EXIT', R}}), {gen_event_EXIT, H, Why} to a
 * supervising process, an error log) and the manager goes on. Local C
 * notifiers are counted against a bound (see gen_event.h); the counters
 * live in the manager and are found by pid in a small table. The clients
 * are in gen_event_client.c. */
#include "otpc/gen_event.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "catch.h"
#include "gen.h"
#include "gen_event_int.h"

/* ------------------------------------------------------------ manager */

static bool pid_eq(otpc_pid_t a, otpc_pid_t b) {
  return a.node == b.node && a.id == b.id && a.serial == b.serial &&
         a.creation == b.creation;
}

typedef struct handler {
  const otpc_gen_event_handler_t *cls;
  otpc_msg_t *id; /* NULL: no Id */
  void *state;
  bool supervised;
  otpc_pid_t sup;
} handler_t;

enum { CB_NONE = 0, CB_INIT, CB_EVENT, CB_CALL, CB_INFO, CB_TERMINATE };

struct otpc_ge {
  struct mgr *m;
  handler_t *h;
  int cb;
  bool remove, swap, has_reply, init_failed;
  otpc_buf_t reply, args1, args2, id2, fail, result;
  const otpc_gen_event_handler_t *h2;
  bool has_id2;
};

typedef struct mgr {
  otpc_proc_t *self;
  otpc_pid_t parent;
  handler_t *hs; /* oldest first: hs[n - 1] is called first */
  size_t n, cap;
  otpc__ge_shared_t sh;
  bool counted; /* sh is in the table */
  otpc_ge_t ge;
} mgr_t;

static otpc_term_t buf_term(const otpc_buf_t *b) {
  return (otpc_term_t){b->data, b->len};
}

static int copy_term(otpc_buf_t *b, otpc_term_t t) {
  b->len = 0;
  return otpc_buf_append(b, t.p, t.len);
}

static bool in_cb(const otpc_ge_t *h, int cb) {
  return h != NULL && h->cb == cb;
}

int otpc_ge_reply(otpc_ge_t *h, otpc_term_t reply) {
  if (!in_cb(h, CB_CALL) || reply.p == NULL)
    return OTPC_EINVAL;
  int rc = copy_term(&h->reply, reply);
  h->has_reply = rc == 0;
  return rc;
}

int otpc_ge_replyf(otpc_ge_t *h, const char *fmt, ...) {
  if (!in_cb(h, CB_CALL))
    return OTPC_EINVAL;
  h->reply.len = 0;
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc_term_vbuild(&h->reply, NULL, fmt, ap);
  va_end(ap);
  h->has_reply = rc == 0;
  return rc;
}

static bool in_handle(const otpc_ge_t *h) {
  return in_cb(h, CB_EVENT) || in_cb(h, CB_CALL) || in_cb(h, CB_INFO);
}

void otpc_ge_remove(otpc_ge_t *h) {
  if (in_handle(h))
    h->remove = true;
}

int otpc_ge_swap(otpc_ge_t *h, otpc_term_t args1,
                 const otpc_gen_event_handler_t *h2, otpc_term_t id2,
                 otpc_term_t args2) {
  if (!in_handle(h) || args1.p == NULL || args2.p == NULL || h2 == NULL)
    return OTPC_EINVAL;
  int rc = otpc_gen_event_register(h2);
  if (rc == 0)
    rc = copy_term(&h->args1, args1);
  if (rc == 0)
    rc = copy_term(&h->args2, args2);
  h->has_id2 = id2.p != NULL;
  if (rc == 0 && h->has_id2)
    rc = copy_term(&h->id2, id2);
  h->h2 = h2;
  h->swap = rc == 0;
  return rc;
}

int otpc_ge_init_fail(otpc_ge_t *h, otpc_term_t result) {
  if (!in_cb(h, CB_INIT) || result.p == NULL)
    return OTPC_EINVAL;
  int rc = copy_term(&h->fail, result);
  h->init_failed = rc == 0;
  return rc;
}

int otpc_ge_terminate_result(otpc_ge_t *h, otpc_term_t result) {
  if (!in_cb(h, CB_TERMINATE) || result.p == NULL)
    return OTPC_EINVAL;
  return copy_term(&h->result, result);
}

void otpc_ge_hibernate(otpc_ge_t *h) {
  (void)h;
}

otpc_proc_t *otpc_ge_proc(otpc_ge_t *h) {
  return h != NULL ? h->m->self : NULL;
}

otpc_term_t otpc_ge_id(otpc_ge_t *h) {
  if (h == NULL || h->h == NULL || h->h->id == NULL)
    return (otpc_term_t){NULL, 0};
  return otpc_msg_term(h->h->id);
}

/* Module or {Module, Id}, as OTP names a handler. */
static int handler_term(otpc_buf_t *b, const otpc_gen_event_handler_t *cls,
                        const otpc_msg_t *id) {
  b->len = 0;
  if (id == NULL)
    return otpc_term_build(b, NULL, "~a", cls->module);
  otpc_term_t t = otpc_msg_term(id);
  return otpc_term_build(b, NULL, "{~a, ~t}", cls->module, &t);
}

/* A handler callback under a catch. */
typedef struct invoke {
  otpc_ge_t *ge;
  int cb;
  otpc_term_t arg;
} invoke_t;

static void invoke(void *p) {
  invoke_t *iv = p;
  otpc_ge_t *ge = iv->ge;
  const otpc_gen_event_handler_t *c = ge->h->cls;
  void *st = ge->h->state;
  switch (iv->cb) {
  case CB_INIT:
    if (c->init != NULL)
      c->init(ge, st, iv->arg);
    break;
  case CB_EVENT:
    if (c->handle_event != NULL)
      c->handle_event(ge, st, iv->arg);
    break;
  case CB_CALL:
    if (c->handle_call == NULL)
      otpc_exitf(ge->m->self, "undef");
    c->handle_call(ge, st, iv->arg);
    break;
  case CB_INFO:
    if (c->handle_info != NULL)
      c->handle_info(ge, st, iv->arg);
    break;
  case CB_TERMINATE:
    if (c->terminate != NULL)
      c->terminate(ge, st, iv->arg);
    break;
  }
}

/* Runs callback `cb` of h: 0, or 1 with *crash the exit reason. */
static int run_cb(mgr_t *m, handler_t *h, int cb, otpc_term_t arg,
                  otpc_msg_t **crash) {
  otpc_ge_t *ge = &m->ge;
  ge->h = h;
  ge->cb = cb;
  ge->remove = ge->swap = ge->has_reply = ge->init_failed = false;
  ge->reply.len = ge->fail.len = 0;
  invoke_t iv = {ge, cb, arg};
  int r = otpc__catch(m->self, invoke, &iv, crash);
  ge->cb = CB_NONE;
  return r;
}

static void handler_free(handler_t *h) {
  if (h->state != NULL && h->cls->free_state != NULL)
    h->cls->free_state(h->state);
  free(h->state);
  otpc_msg_unref(h->id);
  h->state = NULL;
  h->id = NULL;
}

static void log_crash(mgr_t *m, handler_t *h, otpc_term_t why) {
  char text[512], hs[128], ws[256];
  otpc_buf_t b;
  otpc_buf_init(&b);
  if (handler_term(&b, h->cls, h->id) == 0)
    otpc_term_snprint(hs, sizeof hs, buf_term(&b));
  else
    snprintf(hs, sizeof hs, "%s", h->cls->module);
  otpc_buf_free(&b);
  otpc_term_snprint(ws, sizeof ws, why);
  snprintf(text, sizeof text,
           "** gen_event handler %s crashed.\n** Reason == %s", hs, ws);
  otpc__proc_log(m->self, OTPC_LOG_ERROR, text);
}

/* do_terminate + report_terminate: terminate(Args, State) under a catch
 * (its result, or {'EXIT', R}, into *res when asked), then
 * {gen_event_EXIT, H, How} to a supervising process. The handler is freed;
 * the caller takes it out of the list. `how` NULL: the crash's {'EXIT',
 * R}, which is also Args' inner term. */
static void do_terminate(mgr_t *m, handler_t *h, otpc_term_t args,
                         otpc_term_t how, otpc_buf_t *res) {
  otpc_ge_t *ge = &m->ge;
  ge->result.len = 0;
  (void)otpc_term_build(&ge->result, NULL, "ok");
  otpc_msg_t *crash = NULL;
  if (run_cb(m, h, CB_TERMINATE, args, &crash) == 1) {
    otpc_term_t r = otpc_msg_term(crash);
    ge->result.len = 0;
    (void)otpc_term_build(&ge->result, NULL, "{'EXIT', ~t}", &r);
    otpc_msg_unref(crash);
  }
  if (res != NULL)
    (void)copy_term(res, buf_term(&ge->result));
  if (h->supervised) {
    otpc_buf_t b;
    otpc_buf_init(&b);
    if (handler_term(&b, h->cls, h->id) == 0) {
      otpc_term_t ht = buf_term(&b);
      otpc_sendf(m->self, h->sup, "{gen_event_EXIT, ~t, ~t}", &ht, &how);
    }
    otpc_buf_free(&b);
  }
  handler_free(h);
}

static void list_remove(mgr_t *m, size_t i) {
  memmove(&m->hs[i], &m->hs[i + 1], (m->n - i - 1) * sizeof *m->hs);
  m->n--;
}

static int list_push(mgr_t *m, handler_t h) {
  handler_t *n = otpc__grow(m->hs, &m->cap, m->n, sizeof *n, 8);
  if (n == NULL)
    return OTPC_ENOMEM;
  m->hs = n;
  m->hs[m->n++] = h;
  return 0;
}

/* Whether h is the handler named by the term (Module, or {Module, Id}). A
 * bare Module names only a handler without Id, as OTP's split/search. */
static bool is_named(const handler_t *h, otpc_term_t name) {
  otpc_term_t mod, id;
  if (otpc_term_match(name, NULL, "{~t, ~t}", &mod, &id) == 0)
    return h->id != NULL && otpc_term_is_atom(mod, h->cls->module) == 1 &&
           otpc_term_compare_exact(otpc_msg_term(h->id), id) == 0;
  return h->id == NULL && otpc_term_is_atom(name, h->cls->module) == 1;
}

/* The index of the first handler (most recent first) so named, or -1. */
static long find(const mgr_t *m, otpc_term_t name) {
  for (size_t i = m->n; i-- > 0;)
    if (is_named(&m->hs[i], name))
      return (long)i;
  return -1;
}

/* Makes a handler for Module | {Module, Id}: 0, or the reply for a module
 * nobody registered ({'EXIT', undef}, as OTP's catch of the undef). */
static int new_handler(otpc_term_t name, handler_t *h) {
  memset(h, 0, sizeof *h);
  otpc_term_t mod = name, id;
  if (otpc_term_match(name, NULL, "{~t, ~t}", &mod, &id) == 0) {
    if (otpc_msg_from_term(id, &h->id) < 0)
      return OTPC_ENOMEM;
  }
  h->cls = otpc__ge_reg_lookup(mod);
  if (h->cls == NULL) {
    otpc_msg_unref(h->id);
    h->id = NULL;
    return OTPC_ENOTFOUND;
  }
  h->state = calloc(1, h->cls->state_size ? h->cls->state_size : 1);
  if (h->state == NULL) {
    otpc_msg_unref(h->id);
    return OTPC_ENOMEM;
  }
  return 0;
}

/* server_add_handler: init(Args); ok adds h at the head (or, with `at`
 * >= 0, at that position: a swap from a callback keeps the place). The
 * result (ok, init's failure term, {'EXIT', R}) into res. */
static void add_handler(mgr_t *m, otpc_term_t name, otpc_term_t args,
                        const otpc_pid_t *sup, long at, otpc_buf_t *res) {
  handler_t h;
  res->len = 0;
  int rc = new_handler(name, &h);
  if (rc < 0) {
    (void)otpc_term_build(res, NULL, "{'EXIT', ~a}",
                          rc == OTPC_ENOTFOUND ? "undef" : "enomem");
    return;
  }
  if (sup != NULL) {
    h.supervised = true;
    h.sup = *sup;
  }
  otpc_msg_t *crash = NULL;
  if (run_cb(m, &h, CB_INIT, args, &crash) == 1) {
    otpc_term_t r = otpc_msg_term(crash);
    (void)otpc_term_build(res, NULL, "{'EXIT', ~t}", &r);
    otpc_msg_unref(crash);
    handler_free(&h);
    return;
  }
  if (m->ge.init_failed) {
    (void)copy_term(res, buf_term(&m->ge.fail));
    handler_free(&h);
    return;
  }
  if (list_push(m, h) < 0) {
    (void)otpc_term_build(res, NULL, "{'EXIT', enomem}");
    handler_free(&h);
    return;
  }
  if (at >= 0) {
    /* Move the new one (at the end) into position `at`. */
    handler_t nh = m->hs[m->n - 1];
    memmove(&m->hs[at + 1], &m->hs[at], (m->n - 1 - (size_t)at) * sizeof nh);
    m->hs[at] = nh;
  }
  (void)otpc_term_build(res, NULL, "ok");
}

/* do_swap from a callback's swap_handler: terminate(Args1) of hs[i], then
 * Handler2's init({Args2, Res}) in the same place. */
static void do_swap(mgr_t *m, size_t i) {
  otpc_ge_t *ge = &m->ge;
  handler_t old = m->hs[i];
  list_remove(m, i);
  otpc_buf_t a1 = ge->args1, a2 = ge->args2, id2 = ge->id2, b;
  otpc_buf_init(&ge->args1);
  otpc_buf_init(&ge->args2);
  otpc_buf_init(&ge->id2);
  otpc_buf_init(&b);
  const otpc_gen_event_handler_t *h2 = ge->h2;
  bool has_id2 = ge->has_id2;
  otpc_term_t id2t = buf_term(&id2);
  if (has_id2)
    (void)otpc_term_build(&b, NULL, "{~a, ~t}", h2->module, &id2t);
  else
    (void)otpc_term_build(&b, NULL, "~a", h2->module);
  otpc_term_t h2t = buf_term(&b);
  otpc_buf_t how, res, args;
  otpc_buf_init(&how);
  otpc_buf_init(&res);
  otpc_buf_init(&args);
  if (old.supervised)
    (void)otpc_term_build(&how, NULL, "{swapped, ~t, ~p}", &h2t, &old.sup);
  else
    (void)otpc_term_build(&how, NULL, "{swapped, ~t, false}", &h2t);
  bool sup = old.supervised;
  otpc_pid_t sp = old.sup;
  do_terminate(m, &old, buf_term(&a1), buf_term(&how), &res);
  otpc_term_t a2t = buf_term(&a2), rt = buf_term(&res);
  (void)otpc_term_build(&args, NULL, "{~t, ~t}", &a2t, &rt);
  otpc_buf_t out;
  otpc_buf_init(&out);
  add_handler(m, h2t, buf_term(&args), sup ? &sp : NULL, (long)i, &out);
  otpc_buf_free(&out);
  otpc_buf_free(&a1);
  otpc_buf_free(&a2);
  otpc_buf_free(&id2);
  otpc_buf_free(&b);
  otpc_buf_free(&how);
  otpc_buf_free(&res);
  otpc_buf_free(&args);
}

/* After a handle_* callback of hs[i]: remove, swap, or a crash. */
static void after_handle(mgr_t *m, size_t i, int crashed, otpc_msg_t *crash) {
  otpc_ge_t *ge = &m->ge;
  if (crashed) {
    otpc_term_t r = otpc_msg_term(crash);
    otpc_buf_t args, why;
    otpc_buf_init(&args);
    otpc_buf_init(&why);
    (void)otpc_term_build(&why, NULL, "{'EXIT', ~t}", &r);
    otpc_term_t w = buf_term(&why);
    (void)otpc_term_build(&args, NULL, "{error, ~t}", &w);
    handler_t h = m->hs[i];
    list_remove(m, i);
    log_crash(m, &h, w);
    do_terminate(m, &h, buf_term(&args), w, NULL);
    otpc_buf_free(&args);
    otpc_buf_free(&why);
    otpc_msg_unref(crash);
  } else if (ge->remove) {
    static const uint8_t remove_handler[] = {119, 14,  'r', 'e', 'm', 'o',
                                             'v', 'e', '_', 'h', 'a', 'n',
                                             'd', 'l', 'e', 'r'};
    static const uint8_t normal[] = {119, 6, 'n', 'o', 'r', 'm', 'a', 'l'};
    handler_t h = m->hs[i];
    list_remove(m, i);
    do_terminate(m, &h, (otpc_term_t){remove_handler, sizeof remove_handler},
                 (otpc_term_t){normal, sizeof normal}, NULL);
  } else if (ge->swap) {
    do_swap(m, i);
  }
}

/* server_notify: every handler, most recent first. */
static void notify_all(mgr_t *m, int cb, otpc_term_t event) {
  for (size_t i = m->n; i-- > 0;) {
    if (i >= m->n)
      continue; /* handlers above were removed */
    otpc_msg_t *crash = NULL;
    int crashed = run_cb(m, &m->hs[i], cb, event, &crash);
    after_handle(m, i, crashed, crash);
  }
}

/* stop_handlers, then exit: terminate(stop) for each, most recent first. */
_Noreturn static void terminate_server(mgr_t *m, otpc_term_t reason) {
  static const uint8_t stop[] = {119, 4, 's', 't', 'o', 'p'};
  static const uint8_t shutdown[] = {119, 8,   's', 'h', 'u',
                                     't', 'd', 'o', 'w', 'n'};
  while (m->n > 0) {
    handler_t h = m->hs[m->n - 1];
    m->n--;
    bool sup = h.supervised;
    otpc_pid_t sp = h.sup;
    do_terminate(m, &h, (otpc_term_t){stop, sizeof stop},
                 (otpc_term_t){shutdown, sizeof shutdown}, NULL);
    if (sup && !pid_eq(sp, m->parent))
      otpc_unlink(m->self, sp);
  }
  otpc_exit(m->self, reason);
}

/* A supervising process exited: its handlers go with {stop, Reason}
 * (gen_event_EXIT shutdown), then every handler sees the 'EXIT'. */
static void handle_exit(mgr_t *m, otpc_pid_t from, otpc_term_t reason,
                        otpc_term_t msg) {
  static const uint8_t shutdown[] = {119, 8,   's', 'h', 'u',
                                     't', 'd', 'o', 'w', 'n'};
  for (size_t i = m->n; i-- > 0;) {
    if (!m->hs[i].supervised || !pid_eq(m->hs[i].sup, from))
      continue;
    handler_t h = m->hs[i];
    list_remove(m, i);
    otpc_buf_t args;
    otpc_buf_init(&args);
    (void)otpc_term_build(&args, NULL, "{stop, ~t}", &reason);
    do_terminate(m, &h, buf_term(&args),
                 (otpc_term_t){shutdown, sizeof shutdown}, NULL);
    otpc_buf_free(&args);
  }
  notify_all(m, CB_INFO, msg);
}

static void which_handlers(mgr_t *m, otpc_buf_t *out) {
  out->len = 0;
  otpc_buf_t b;
  otpc_buf_init(&b);
  /* A proper list, built from the head: most recent first. */
  (void)otpc_term_build(out, NULL, "[]");
  for (size_t i = 0; i < m->n; i++) {
    (void)handler_term(&b, m->hs[i].cls, m->hs[i].id);
    otpc_term_t h = buf_term(&b), tail = buf_term(out);
    otpc_buf_t n;
    otpc_buf_init(&n);
    (void)otpc_term_build(&n, NULL, "[~t | ~t]", &h, &tail);
    otpc_buf_free(out);
    *out = n;
  }
  otpc_buf_free(&b);
}

/* server_call: the handler's reply, {error, bad_module} or, after a crash,
 * {error, {'EXIT', R}}. */
static void call_handler(mgr_t *m, otpc_term_t name, otpc_term_t query,
                         otpc_buf_t *out) {
  long i = find(m, name);
  out->len = 0;
  if (i < 0) {
    (void)otpc_term_build(out, NULL, "{error, bad_module}");
    return;
  }
  otpc_msg_t *crash = NULL;
  int crashed = run_cb(m, &m->hs[i], CB_CALL, query, &crash);
  if (crashed) {
    otpc_term_t r = otpc_msg_term(crash);
    (void)otpc_term_build(out, NULL, "{error, {'EXIT', ~t}}", &r);
  } else if (m->ge.has_reply) {
    (void)copy_term(out, buf_term(&m->ge.reply));
  } else {
    (void)otpc_term_build(out, NULL, "ok");
  }
  after_handle(m, (size_t)i, crashed, crash);
}

/* server_swap_handler: split_and_terminate H1 with A1, then add H2 at the
 * head with {A2, Res} (s_s_h). The new handler is supervised by `sup`
 * (swap_sup_handler) or else by H1's supervisor; H1's supervisor hears
 * {swapped, H2, NewSup}. */
static void swap_request(mgr_t *m, otpc_term_t h1, otpc_term_t a1,
                         otpc_term_t h2, otpc_term_t a2, const otpc_pid_t *sup,
                         otpc_buf_t *out) {
  long i = find(m, h1);
  otpc_buf_t st, how, args;
  otpc_buf_init(&st);
  otpc_buf_init(&how);
  otpc_buf_init(&args);
  bool has_sup = sup != NULL;
  otpc_pid_t sp = has_sup ? *sup : (otpc_pid_t){0};
  if (i < 0) {
    (void)otpc_term_build(&st, NULL, "error");
  } else {
    handler_t h = m->hs[i];
    list_remove(m, (size_t)i);
    if (!has_sup) {
      has_sup = h.supervised;
      sp = h.sup;
    }
    if (has_sup)
      (void)otpc_term_build(&how, NULL, "{swapped, ~t, ~p}", &h2, &sp);
    else
      (void)otpc_term_build(&how, NULL, "{swapped, ~t, false}", &h2);
    do_terminate(m, &h, a1, buf_term(&how), &st);
  }
  otpc_term_t stt = buf_term(&st);
  (void)otpc_term_build(&args, NULL, "{~t, ~t}", &a2, &stt);
  if (has_sup)
    otpc_link(m->self, sp);
  add_handler(m, h2, buf_term(&args), has_sup ? &sp : NULL, -1, out);
  if (otpc_term_is_atom(buf_term(out), "ok") != 1) {
    otpc_term_t what = buf_term(out);
    otpc_buf_t e;
    otpc_buf_init(&e);
    (void)otpc_term_build(&e, NULL, "{error, ~t}", &what);
    otpc_buf_free(out);
    *out = e;
  }
  otpc_buf_free(&st);
  otpc_buf_free(&how);
  otpc_buf_free(&args);
}

/* {Pid, From, Request}: gen_event's requests. Returns false if `req` is
 * none of them (the message is then an info). */
static bool request(mgr_t *m, otpc_term_t from, otpc_term_t req) {
  otpc_term_t a, b, c, d;
  otpc_pid_t pid;
  otpc_buf_t out;
  otpc_buf_init(&out);
  if (otpc_term_match(req, NULL, "{sync_notify, ~t}", &a) == 0) {
    notify_all(m, CB_EVENT, a);
    (void)otpc_term_build(&out, NULL, "ok");
  } else if (otpc_term_match(req, NULL, "{call, ~t, ~t}", &a, &b) == 0) {
    call_handler(m, a, b, &out);
  } else if (otpc_term_match(req, NULL, "{add_handler, ~t, ~t}", &a, &b) == 0) {
    add_handler(m, a, b, NULL, -1, &out);
  } else if (otpc_term_match(req, NULL, "{add_sup_handler, ~t, ~t, ~p}", &a, &b,
                             &pid) == 0) {
    otpc_link(m->self, pid);
    add_handler(m, a, b, &pid, -1, &out);
  } else if (otpc_term_match(req, NULL, "{delete_handler, ~t, ~t}", &a, &b) ==
             0) {
    long i = find(m, a);
    if (i < 0) {
      (void)otpc_term_build(&out, NULL, "{error, module_not_found}");
    } else {
      static const uint8_t normal[] = {119, 6, 'n', 'o', 'r', 'm', 'a', 'l'};
      handler_t h = m->hs[i];
      list_remove(m, (size_t)i);
      do_terminate(m, &h, b, (otpc_term_t){normal, sizeof normal}, &out);
    }
  } else if (otpc_term_match(req, NULL, "{swap_handler, ~t, ~t, ~t, ~t}", &a,
                             &b, &c, &d) == 0) {
    swap_request(m, a, b, c, d, NULL, &out);
  } else if (otpc_term_match(req, NULL,
                             "{swap_sup_handler, ~t, ~t, ~t, ~t, ~p}", &a, &b,
                             &c, &d, &pid) == 0) {
    swap_request(m, a, b, c, d, &pid, &out);
  } else if (otpc_term_is_atom(req, "which_handlers") == 1) {
    which_handlers(m, &out);
  } else {
    otpc_buf_free(&out);
    return false;
  }
  otpc_term_t r = buf_term(&out);
  otpc__gen_reply_from(m->self, from, "~t", &r);
  otpc_buf_free(&out);
  return true;
}

static void mgr_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)self;
  mgr_t *m = state;
  otpc_term_t t = otpc_msg_term(msg), a, b, c;
  otpc_iter_t it;
  size_t n = 0;
  if (otpc_term_tuple(t, &it, &n) == 0 && (n == 2 || n == 3)) {
    otpc_iter_next(&it, &a);
    otpc_iter_next(&it, &b);
    if (n == 3)
      otpc_iter_next(&it, &c);
    otpc_pid_t pid;
    if (n == 2 && otpc_term_is_atom(a, "notify") == 1) {
      notify_all(m, CB_EVENT, b);
      return;
    }
    if (n == 2 && otpc_term_is_atom(a, "$otpc_notify") == 1) {
      /* Counted by its notifier: one place freed once handled. Relaxed:
       * the count guards no other memory. */
      notify_all(m, CB_EVENT, b);
      atomic_fetch_sub_explicit(&m->sh.queued, 1, memory_order_relaxed);
      return;
    }
    if (n == 3 && otpc_term_is_atom(a, "system") == 1) {
      otpc_term_t reason;
      if (otpc_term_match(c, NULL, "{terminate, ~t}", &reason) == 0) {
        otpc__gen_reply_from(self, b, "ok"); /* as sys.erl, first */
        terminate_server(m, reason);
      }
      return; /* other sys requests: not yet */
    }
    if (n == 3 && otpc_term_is_atom(a, "EXIT") == 1 &&
        otpc_term_pid(b, &pid) == 0) {
      if (pid_eq(pid, m->parent))
        terminate_server(m, c);
      handle_exit(m, pid, c, t);
      return;
    }
    if (n == 3 && otpc_term_pid(a, &pid) == 0 && request(m, b, c))
      return;
  }
  notify_all(m, CB_INFO, t);
}

static void mgr_init(otpc_proc_t *self, void *state, void *arg) {
  mgr_t *m = state;
  otpc__gen_start_arg_t sa = *(otpc__gen_start_arg_t *)arg;
  free(arg);
  const otpc_ge_start_opts_t *o = sa.cls;
  m->self = self;
  m->parent = sa.starter;
  m->ge.m = m;
  otpc_trap_exit(self, true);
  m->sh.pid = otpc_self(self);
  m->sh.max = o->max_queue;
  m->sh.overflow = o->overflow;
  if (otpc__ge_tab_add(&m->sh) < 0) {
    otpc_sendf(self, sa.starter, "{~r, {error, enomem}}", &sa.tag);
    otpc_exitf(self, "enomem");
  }
  m->counted = true;
  otpc_pid_t me = otpc_self(self);
  otpc_sendf(self, sa.starter, "{~r, {ok, ~p}}", &sa.tag, &me);
}

static void mgr_terminate(otpc_proc_t *self, void *state, otpc_term_t reason) {
  (void)self;
  (void)reason;
  mgr_t *m = state;
  if (m->counted)
    otpc__ge_tab_remove(&m->sh);
  /* Killed: no terminate callbacks (as OTP), but C state is freed. */
  for (size_t i = 0; i < m->n; i++)
    handler_free(&m->hs[i]);
  free(m->hs);
  otpc_buf_t *bufs[] = {&m->ge.reply, &m->ge.args1, &m->ge.args2,
                        &m->ge.id2,   &m->ge.fail,  &m->ge.result};
  for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
    otpc_buf_free(bufs[i]);
}

const otpc_proc_class_t otpc__ge_mgr_class = {
    "gen_event", sizeof(mgr_t), mgr_init, mgr_handle, mgr_terminate};
