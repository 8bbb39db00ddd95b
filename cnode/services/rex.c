/* rex: the rpc server every Erlang node registers. In OTP 25 rpc:call goes
 * through erpc (SPAWN_REQUEST), but rex still answers feature probes and
 * the legacy requests ei_rpc and old nodes send (kernel's rpc.erl). */
#include <stdlib.h>
#include <string.h>

#include "../dist/node.h"
#include "rpc.h"

static bool ref_same(const otpc_ref_t *a, const otpc_ref_t *b) {
  return a->node == b->node && a->creation == b->creation && a->len == b->len &&
         memcmp(a->id, b->id, a->len * sizeof *a->id) == 0;
}

typedef struct rex {
  otpc_rpc_t *r;
} rex_t;

static void rex_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  ((rex_t *)state)->r = arg;
}

/* Runs m:f(args) here and sends {Tag, Result} to `to`, Result shaped as
 * rpc:call returns it; no reply when tag is NULL (a cast). */
static void run_reply(otpc_proc_t *self, otpc_rpc_t *r, otpc_atom_t m,
                      otpc_atom_t f, otpc_term_t args, const otpc_pid_t *to,
                      const otpc_term_t *tag) {
  otpc_rpc_call_t c;
  otpc_buf_t res;
  otpc_buf_init(&res);
  otpc__rpc_run(r, self, m, f, args, &c);
  if (tag != NULL && otpc__rpc_rpc_result(&c, &res) == 0) {
    otpc_term_t v = {.p = res.data, .len = res.len};
    otpc_sendf(self, *to, "{~t, ~t}", tag, &v);
  }
  otpc_buf_free(&res);
  otpc_buf_free(&c.val);
  otpc_buf_free(&c.stack);
}

static void rex_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  rex_t *x = state;
  otpc_term_t t = otpc_msg_term(msg), args, tag;
  otpc_pid_t from;
  otpc_atom_t m, f;
  otpc_buf_t b;
  if (otpc_term_match(t, NULL, "{~p, features_request}", &from) == 0) {
    otpc_sendf(self, from, "{features_reply, ~A, [erpc]}",
               otpc_rt_node(otpc_proc_rt(self)));
  } else if (otpc_term_match(t, NULL, "{~p, {call, ~a, ~a, ~t, _}}", &from, &m,
                             &f, &args) == 0 &&
             otpc_term_list(args, &(otpc_iter_t){0}, &(size_t){0}) == 0) {
    /* The hidden C node's form: the reply is {rex, Result}. */
    otpc_buf_init(&b);
    otpc_term_build(&b, NULL, "rex");
    tag = (otpc_term_t){.p = b.data, .len = b.len};
    run_reply(self, x->r, m, f, args, &from, &tag);
    otpc_buf_free(&b);
  } else if (otpc_term_match(t, NULL,
                             "{'$gen_call', {~p, ~t}, {call, ~a, ~a, ~t, _}}",
                             &from, &tag, &m, &f, &args) == 0 &&
             otpc_term_list(args, &(otpc_iter_t){0}, &(size_t){0}) == 0) {
    /* A gen_server call; replying to the pid reaches an [alias | Ref] tag
     * as well (PROTOCOL.md 5.2). */
    run_reply(self, x->r, m, f, args, &from, &tag);
  } else if (otpc_term_match(t, NULL, "{'$gen_cast', {cast, ~a, ~a, ~t, _}}",
                             &m, &f, &args) == 0 &&
             otpc_term_list(args, &(otpc_iter_t){0}, &(size_t){0}) == 0) {
    run_reply(self, x->r, m, f, args, NULL, NULL);
  }
  /* Anything else is ignored, as rex ignores it. */
}

static const otpc_proc_class_t rex_class = {.name = "rex",
                                            .state_size = sizeof(rex_t),
                                            .init = rex_init,
                                            .handle = rex_handle};

int otpc__rex_start(otpc_rpc_t *r, otpc_rt_t *rt, otpc_pid_t *pid) {
  otpc_spawn_opts_t so = {.name = "rex"};
  return otpc_rt_spawn(rt, &rex_class, r, &so, pid);
}

/* ------------------------------------------- rpc from a C process */

static bool is_rex_reply(otpc_term_t t, const void *arg) {
  (void)arg;
  return otpc_term_match(t, NULL, "{rex, _}") == 0;
}

int otpc_rpc_call_remote(otpc_proc_t *self, otpc_atom_t node, const char *mod,
                         const char *fun, otpc_term_t args, int64_t timeout_ms,
                         otpc_cont_fn cont, void *ctx) {
  otpc_msg_t *m;
  otpc_pid_t me = otpc_self(self);
  otpc_atom_t rex;
  if (self == NULL || mod == NULL || fun == NULL || cont == NULL ||
      otpc_term_list(args, &(otpc_iter_t){0}, &(size_t){0}) != 0)
    return OTPC_EINVAL;
  int rc = otpc_msg_build(&m, NULL, "{~p, {call, ~a, ~a, ~t, user}}", &me, mod,
                          fun, &args);
  if (rc != 0)
    return rc;
  otpc_atom("rex", &rex);
  rc = otpc_send_remote_name(self, rex, node, m);
  otpc_msg_unref(m);
  if (rc != 0)
    return rc;
  return otpc_receive(self, is_rex_reply, NULL, 0, timeout_ms, cont, ctx);
}

/* ------------------------------------------ erpc from a C process */

typedef struct erpc_wait {
  otpc_ref_t ref;
  otpc_cont_fn cont;
  void *ctx;
} erpc_wait_t;

/* The DOWN (or failed spawn_reply) of the request, as the outcome erpc's
 * result/4 makes of it: the exit reason {Ref, Class, ...} of
 * execute_call/4, or {error, {erpc, R}} for any other reason. */
static void erpc_done(otpc_proc_t *self, void *state, otpc_msg_t *msg,
                      void *ctx) {
  erpc_wait_t *w = ctx;
  otpc_cont_fn cont = w->cont;
  void *uctx = w->ctx;
  otpc_term_t t = msg != NULL ? otpc_msg_term(msg) : (otpc_term_t){0}, r, a, b;
  otpc_ref_t ref = w->ref, rr;
  otpc_msg_t *out = NULL;
  free(w);
  if (msg == NULL) {
    cont(self, state, NULL, uctx);
    return;
  }
  int rc = OTPC_ENOMATCH;
  if (otpc_term_match(t, NULL, "{spawn_reply, _, error, ~t}", &r) == 0) {
    rc = otpc_msg_build(&out, NULL, "{erpc_reply, ~r, {error, {erpc, ~t}}}",
                        &ref, &r);
  } else if (otpc_term_match(t, NULL, "{'DOWN', _, process, _, ~t}", &r) == 0) {
    if (otpc_term_match(r, NULL, "{~r, return, ~t}", &rr, &a) == 0 &&
        ref_same(&rr, &ref))
      rc = otpc_msg_build(&out, NULL, "{erpc_reply, ~r, {return, ~t}}", &ref,
                          &a);
    else if (otpc_term_match(r, NULL, "{~r, throw, ~t}", &rr, &a) == 0 &&
             ref_same(&rr, &ref))
      rc =
          otpc_msg_build(&out, NULL, "{erpc_reply, ~r, {throw, ~t}}", &ref, &a);
    else if (otpc_term_match(r, NULL, "{~r, exit, ~t}", &rr, &a) == 0 &&
             ref_same(&rr, &ref))
      rc = otpc_msg_build(&out, NULL, "{erpc_reply, ~r, {exit, ~t}}", &ref, &a);
    else if (otpc_term_match(r, NULL, "{~r, error, ~t, ~t}", &rr, &a, &b) ==
                 0 &&
             ref_same(&rr, &ref))
      rc = otpc_msg_build(&out, NULL, "{erpc_reply, ~r, {error, ~t, ~t}}", &ref,
                          &a, &b);
    else if (otpc_term_match(r, NULL, "{~r, error, {erpc, ~t}}", &rr, &a) ==
                 0 &&
             ref_same(&rr, &ref))
      rc = otpc_msg_build(&out, NULL, "{erpc_reply, ~r, {error, {erpc, ~t}}}",
                          &ref, &a);
    else /* noconnection, a killed process...: erpc's {erpc, R} */
      rc = otpc_msg_build(&out, NULL, "{erpc_reply, ~r, {error, {erpc, ~t}}}",
                          &ref, &r);
  }
  if (rc != 0) {
    cont(self, state, msg, uctx);
    return;
  }
  /* cont may exit without returning: the outcome must belong to the
   * runtime, not to this frame. Sent to ourselves, it is the next match. */
  otpc_pid_t me = otpc_self(self);
  rc = otpc_send(self, me, out);
  otpc_msg_unref(out);
  if (rc == 0)
    rc = otpc_receive(self, otpc_match_ref, &ref, sizeof ref, -1, cont, uctx);
  if (rc != 0)
    cont(self, state, msg, uctx);
}

int otpc_erpc_call(otpc_proc_t *self, otpc_atom_t node, const char *mod,
                   const char *fun, otpc_term_t args, int64_t timeout_ms,
                   otpc_cont_fn cont, void *ctx) {
  otpc_atom_t erpc, exec, user;
  otpc_pid_t gl;
  otpc_msg_t *req;
  if (self == NULL || mod == NULL || fun == NULL || cont == NULL ||
      otpc_term_list(args, &(otpc_iter_t){0}, &(size_t){0}) != 0)
    return OTPC_EINVAL;
  erpc_wait_t *w = calloc(1, sizeof *w);
  if (w == NULL)
    return OTPC_ENOMEM;
  w->cont = cont;
  w->ctx = ctx;
  otpc_rt_t *rt = otpc_proc_rt(self);
  int rc = otpc_make_ref(rt, &w->ref);
  if (rc == 0)
    rc = otpc_msg_build(&req, NULL, "[~r, ~a, ~a, ~t]", &w->ref, mod, fun,
                        &args);
  if (rc != 0) {
    free(w);
    return rc;
  }
  /* I/O of the remote process comes to this node's `user`. */
  otpc_atom("erpc", &erpc);
  otpc_atom("execute_call", &exec);
  otpc_atom("user", &user);
  if (otpc_whereis(rt, user, &gl) != 0)
    gl = otpc_self(self);
  rc = otpc__node_spawn_request(self, node, &w->ref, erpc, exec, req, gl);
  otpc_msg_unref(req);
  if (rc == 0)
    rc = otpc_receive_owned(self, otpc_match_ref, &w->ref, sizeof w->ref,
                            timeout_ms, erpc_done, w, free);
  if (rc != 0)
    free(w);
  return rc;
}
