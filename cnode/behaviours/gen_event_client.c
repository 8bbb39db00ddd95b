/* gen_event's clients: start, notify (with the bound of gen_event.h),
 * and the gen:call requests (sync_notify, add/delete/swap handler, which
 * handlers, call), each from a process (continuation) or a thread process
 * (blocking). The manager is in gen_event.c. */
#include "otpc/gen_event.h"

#include <stdarg.h>
#include <stdbool.h>

#include "gen.h"
#include "gen_event_int.h"

static otpc_term_t buf_term(const otpc_buf_t *b) {
  return (otpc_term_t){b->data, b->len};
}

/* ------------------------------------------------------------ clients */

int otpc_gen_event_start(otpc_proc_t *self, const otpc_ge_start_opts_t *opts,
                         otpc_gs_cont_fn cont, void *ctx) {
  static const otpc_ge_start_opts_t none;
  if (cont == NULL)
    return OTPC_EINVAL;
  /* The options ride as the "callback table"; init copies what it keeps
   * before the start returns. */
  const otpc_ge_start_opts_t *o = opts != NULL ? opts : &none;
  otpc_gs_start_opts_t so = {o->link, o->name};
  return otpc__gen_start(self, &otpc__ge_mgr_class, o, NULL, &so, cont, ctx,
                         NULL);
}

int otpc_gen_event_start_blocking(otpc_proc_t *self,
                                  const otpc_ge_start_opts_t *opts,
                                  otpc_gs_result_t *res) {
  static const otpc_ge_start_opts_t none;
  if (res == NULL)
    return OTPC_EINVAL;
  const otpc_ge_start_opts_t *o = opts != NULL ? opts : &none;
  otpc_gs_start_opts_t so = {o->link, o->name};
  return otpc__gen_start(self, &otpc__ge_mgr_class, o, NULL, &so, NULL, NULL,
                         res);
}

/* gen:call(M, self(), Request, Timeout), the request built from fmt. */
static int rpc(otpc_proc_t *self, otpc_pid_t mgr, int64_t timeout_ms,
               otpc_gs_cont_fn cont, void *ctx, otpc_gs_result_t *res,
               const char *fmt, ...) {
  if (self == NULL || (cont == NULL && res == NULL))
    return OTPC_EINVAL;
  otpc_buf_t b;
  otpc_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc_term_vbuild(&b, NULL, fmt, ap);
  va_end(ap);
  if (rc == 0)
    rc = otpc__gen_call(self, mgr, true, buf_term(&b), timeout_ms, cont, ctx,
                        res);
  otpc_buf_free(&b);
  return rc;
}

static int notify(otpc_proc_t *self, otpc_pid_t mgr, otpc_term_t event,
                  otpc_gs_cont_fn cont, void *ctx, bool blocking) {
  if (self == NULL || event.p == NULL)
    return OTPC_EINVAL;
  bool drop = false;
  int rc = otpc__ge_reserve(mgr, &drop);
  if (rc == 0)
    return otpc_sendf(self, mgr, "{'$otpc_notify', ~t}", &event);
  if (rc == 1)
    return otpc_sendf(self, mgr, "{notify, ~t}", &event);
  if (drop)
    return OTPC_ELIMIT;
  /* Full, blocking: a sync_notify waits for the handlers. */
  if (blocking) {
    otpc_gs_result_t res;
    rc = otpc_gen_event_sync_notify_blocking(self, mgr, event, &res);
    otpc_msg_unref(res.term);
    return rc;
  }
  if (cont == NULL)
    return OTPC_ELIMIT;
  rc = otpc_gen_event_sync_notify(self, mgr, event, cont, ctx);
  return rc < 0 ? rc : 1;
}

int otpc_gen_event_notify(otpc_proc_t *self, otpc_pid_t mgr, otpc_term_t event,
                          otpc_gs_cont_fn cont, void *ctx) {
  return notify(self, mgr, event, cont, ctx, false);
}

int otpc_gen_event_notify_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                   otpc_term_t event) {
  return notify(self, mgr, event, NULL, NULL, true);
}

int otpc_gen_event_sync_notify(otpc_proc_t *self, otpc_pid_t mgr,
                               otpc_term_t event, otpc_gs_cont_fn cont,
                               void *ctx) {
  if (cont == NULL || event.p == NULL)
    return OTPC_EINVAL;
  return rpc(self, mgr, -1, cont, ctx, NULL, "{sync_notify, ~t}", &event);
}

int otpc_gen_event_sync_notify_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                        otpc_term_t event,
                                        otpc_gs_result_t *res) {
  if (res == NULL || event.p == NULL)
    return OTPC_EINVAL;
  return rpc(self, mgr, -1, NULL, NULL, res, "{sync_notify, ~t}", &event);
}

/* add_handler / add_sup_handler: registers the table, names it. */
static int add(otpc_proc_t *self, otpc_pid_t mgr,
               const otpc_gen_event_handler_t *h, otpc_term_t id,
               otpc_term_t args, bool sup, otpc_gs_cont_fn cont, void *ctx,
               otpc_gs_result_t *res) {
  if (self == NULL || args.p == NULL)
    return OTPC_EINVAL;
  int rc = otpc_gen_event_register(h);
  if (rc < 0)
    return rc;
  otpc_buf_t b;
  otpc_buf_init(&b);
  if (id.p == NULL)
    rc = otpc_term_build(&b, NULL, "~a", h->module);
  else
    rc = otpc_term_build(&b, NULL, "{~a, ~t}", h->module, &id);
  otpc_term_t ht = buf_term(&b);
  otpc_pid_t me = otpc_self(self);
  if (rc == 0 && sup)
    rc = rpc(self, mgr, -1, cont, ctx, res, "{add_sup_handler, ~t, ~t, ~p}",
             &ht, &args, &me);
  else if (rc == 0)
    rc =
        rpc(self, mgr, -1, cont, ctx, res, "{add_handler, ~t, ~t}", &ht, &args);
  otpc_buf_free(&b);
  return rc;
}

int otpc_gen_event_add_handler(otpc_proc_t *self, otpc_pid_t mgr,
                               const otpc_gen_event_handler_t *h,
                               otpc_term_t id, otpc_term_t args,
                               otpc_gs_cont_fn cont, void *ctx) {
  if (cont == NULL)
    return OTPC_EINVAL;
  return add(self, mgr, h, id, args, false, cont, ctx, NULL);
}

int otpc_gen_event_add_handler_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                        const otpc_gen_event_handler_t *h,
                                        otpc_term_t id, otpc_term_t args,
                                        otpc_gs_result_t *res) {
  if (res == NULL)
    return OTPC_EINVAL;
  return add(self, mgr, h, id, args, false, NULL, NULL, res);
}

int otpc_gen_event_add_sup_handler(otpc_proc_t *self, otpc_pid_t mgr,
                                   const otpc_gen_event_handler_t *h,
                                   otpc_term_t id, otpc_term_t args,
                                   otpc_gs_cont_fn cont, void *ctx) {
  if (cont == NULL)
    return OTPC_EINVAL;
  return add(self, mgr, h, id, args, true, cont, ctx, NULL);
}

int otpc_gen_event_add_sup_handler_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                            const otpc_gen_event_handler_t *h,
                                            otpc_term_t id, otpc_term_t args,
                                            otpc_gs_result_t *res) {
  if (res == NULL)
    return OTPC_EINVAL;
  return add(self, mgr, h, id, args, true, NULL, NULL, res);
}

int otpc_gen_event_delete_handler(otpc_proc_t *self, otpc_pid_t mgr,
                                  otpc_term_t handler, otpc_term_t args,
                                  otpc_gs_cont_fn cont, void *ctx) {
  if (cont == NULL || handler.p == NULL || args.p == NULL)
    return OTPC_EINVAL;
  return rpc(self, mgr, -1, cont, ctx, NULL, "{delete_handler, ~t, ~t}",
             &handler, &args);
}

int otpc_gen_event_delete_handler_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                           otpc_term_t handler,
                                           otpc_term_t args,
                                           otpc_gs_result_t *res) {
  if (res == NULL || handler.p == NULL || args.p == NULL)
    return OTPC_EINVAL;
  return rpc(self, mgr, -1, NULL, NULL, res, "{delete_handler, ~t, ~t}",
             &handler, &args);
}

static int swap(otpc_proc_t *self, otpc_pid_t mgr, otpc_term_t h1,
                otpc_term_t args1, const otpc_gen_event_handler_t *h2,
                otpc_term_t id2, otpc_term_t args2, otpc_gs_cont_fn cont,
                void *ctx, otpc_gs_result_t *res) {
  if (h1.p == NULL || args1.p == NULL || args2.p == NULL)
    return OTPC_EINVAL;
  int rc = otpc_gen_event_register(h2);
  if (rc < 0)
    return rc;
  otpc_buf_t b;
  otpc_buf_init(&b);
  if (id2.p == NULL)
    rc = otpc_term_build(&b, NULL, "~a", h2->module);
  else
    rc = otpc_term_build(&b, NULL, "{~a, ~t}", h2->module, &id2);
  otpc_term_t ht = buf_term(&b);
  if (rc == 0)
    rc = rpc(self, mgr, -1, cont, ctx, res, "{swap_handler, ~t, ~t, ~t, ~t}",
             &h1, &args1, &ht, &args2);
  otpc_buf_free(&b);
  return rc;
}

int otpc_gen_event_swap_handler(otpc_proc_t *self, otpc_pid_t mgr,
                                otpc_term_t h1, otpc_term_t args1,
                                const otpc_gen_event_handler_t *h2,
                                otpc_term_t id2, otpc_term_t args2,
                                otpc_gs_cont_fn cont, void *ctx) {
  if (cont == NULL)
    return OTPC_EINVAL;
  return swap(self, mgr, h1, args1, h2, id2, args2, cont, ctx, NULL);
}

int otpc_gen_event_swap_handler_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                         otpc_term_t h1, otpc_term_t args1,
                                         const otpc_gen_event_handler_t *h2,
                                         otpc_term_t id2, otpc_term_t args2,
                                         otpc_gs_result_t *res) {
  if (res == NULL)
    return OTPC_EINVAL;
  return swap(self, mgr, h1, args1, h2, id2, args2, NULL, NULL, res);
}

int otpc_gen_event_which_handlers(otpc_proc_t *self, otpc_pid_t mgr,
                                  otpc_gs_cont_fn cont, void *ctx) {
  if (cont == NULL)
    return OTPC_EINVAL;
  return rpc(self, mgr, -1, cont, ctx, NULL, "which_handlers");
}

int otpc_gen_event_which_handlers_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                           otpc_gs_result_t *res) {
  if (res == NULL)
    return OTPC_EINVAL;
  return rpc(self, mgr, -1, NULL, NULL, res, "which_handlers");
}

int otpc_gen_event_call(otpc_proc_t *self, otpc_pid_t mgr, otpc_term_t handler,
                        otpc_term_t query, int64_t timeout_ms,
                        otpc_gs_cont_fn cont, void *ctx) {
  if (cont == NULL || handler.p == NULL || query.p == NULL)
    return OTPC_EINVAL;
  return rpc(self, mgr, timeout_ms, cont, ctx, NULL, "{call, ~t, ~t}", &handler,
             &query);
}

int otpc_gen_event_call_blocking(otpc_proc_t *self, otpc_pid_t mgr,
                                 otpc_term_t handler, otpc_term_t query,
                                 int64_t timeout_ms, otpc_gs_result_t *res) {
  if (res == NULL || handler.p == NULL || query.p == NULL)
    return OTPC_EINVAL;
  return rpc(self, mgr, timeout_ms, NULL, NULL, res, "{call, ~t, ~t}", &handler,
             &query);
}
