/* Logs (docs/services.md, "Logs"): the node's `user` io server and
 * `logger_proxy`, which take what BEAM processes whose group leader lives
 * here send (io requests, log events) and print it to stderr, and the
 * forwarder that sends this node's own log lines to a BEAM node's logger. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc.h"

/* Terms printed from a peer are cut here: a peer may send anything. */
#define PRINT_MAX 2000

static void print_term(const char *what, const otpc_pid_t *from,
                       otpc_term_t t) {
  char buf[PRINT_MAX], who[160] = "a remote node";
  otpc_buf_t b;
  otpc_buf_init(&b);
  if (from->node != OTPC_ATOM_NONE &&
      otpc_term_build(&b, NULL, "~p", from) == 0)
    otpc_term_snprint(who, sizeof who,
                      (otpc_term_t){.p = b.data, .len = b.len});
  otpc_buf_free(&b);
  otpc_term_snprint(buf, sizeof buf, t);
  fprintf(stderr, "%s from %s: %s\n", what, who, buf);
}

/* ----------------------------------------------------------- user */

/* put_chars of a flat string or binary prints the text; of anything else
 * (an iolist, {io_lib, format, ...} which only the BEAM can run) the term. */
static void put_chars(const otpc_pid_t *from, otpc_term_t chars) {
  char buf[PRINT_MAX];
  if (otpc_term_match(chars, NULL, "~s", buf, sizeof buf) == 0)
    fprintf(stderr, "%s", buf);
  else
    print_term("io", from, chars);
}

static void user_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)state;
  otpc_term_t t = otpc_msg_term(msg), ra, req, chars;
  otpc_pid_t from;
  if (otpc_term_match(t, NULL, "{io_request, ~p, ~t, ~t}", &from, &ra, &req))
    return;
  if (otpc_term_match(req, NULL, "{put_chars, _, ~t}", &chars) == 0 ||
      otpc_term_match(req, NULL, "{put_chars, ~t}", &chars) == 0) {
    put_chars(&from, chars);
  } else if (otpc_term_match(req, NULL, "{put_chars, _, _, _, _}") == 0 ||
             otpc_term_match(req, NULL, "{put_chars, _, _, _}") == 0 ||
             otpc_term_match(req, NULL, "{requests, _}") == 0) {
    print_term("io", &from, req);
  } else {
    /* No input here: every read or option request is refused, so the
     * requester does not wait forever. */
    otpc_sendf(self, from, "{io_reply, ~t, {error, enotsup}}", &ra);
    return;
  }
  otpc_sendf(self, from, "{io_reply, ~t, ok}", &ra);
}

static const otpc_proc_class_t user_class = {.name = "user",
                                             .handle = user_handle};

/* --------------------------------------------------- logger_proxy */

static void proxy_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  (void)self;
  (void)state;
  otpc_term_t t = otpc_msg_term(msg);
  otpc_pid_t none = {0};
  /* {log, Level, Format, Args, Meta} or {log, Level, Report, Meta}. */
  if (otpc_term_match(t, NULL, "{log, _, _, _, _}") == 0 ||
      otpc_term_match(t, NULL, "{log, _, _, _}") == 0)
    print_term("log event", &none, t);
}

static const otpc_proc_class_t proxy_class = {.name = "logger_proxy",
                                              .handle = proxy_handle};

/* ------------------------------------------------------ forwarder */

typedef struct fwd {
  otpc_rpc_t *r;
} fwd_t;

static void fwd_init(otpc_proc_t *self, void *state, void *arg) {
  (void)self;
  ((fwd_t *)state)->r = arg;
}

static void fwd_handle(otpc_proc_t *self, void *state, otpc_msg_t *msg) {
  fwd_t *f = state;
  otpc_atom_t level, to = otpc__rpc_log_target(f->r), proxy;
  otpc_term_t text;
  otpc_atom_t me = otpc_rt_node(otpc_proc_rt(self));
  otpc_msg_t *ev;
  if (to == OTPC_ATOM_NONE ||
      otpc_term_match(otpc_msg_term(msg), NULL, "{~a, ~t}", &level, &text))
    return;
  /* logger_proxy hands {log, Level, Format, Args, Meta} to logger:log/4:
   * on that node an ordinary event, with this node in its metadata. */
  if (otpc_msg_build(&ev, NULL, "{log, ~A, ~s, [~t], #{otpc_node => ~A}}",
                     level, "~ts", &text, me) != 0)
    return;
  otpc_atom("logger_proxy", &proxy);
  otpc_send_remote_name(self, proxy, to, ev);
  otpc_msg_unref(ev);
}

static const otpc_proc_class_t fwd_class = {.name = "otpc_log_forwarder",
                                            .state_size = sizeof(fwd_t),
                                            .init = fwd_init,
                                            .handle = fwd_handle};

void otpc_rpc_log(otpc_rpc_t *r, int level, const char *line) {
  if (r == NULL || line == NULL)
    return;
  otpc__rpc_log_locked(r, level, line);
}

int otpc__log_start(otpc_rpc_t *r, otpc_rt_t *rt) {
  otpc_pid_t pid;
  otpc_spawn_opts_t u = {.name = "user"}, p = {.name = "logger_proxy"},
                    f = {.name = "otpc_log_forwarder"};
  int rc = otpc_rt_spawn(rt, &user_class, NULL, &u, &pid);
  if (rc == 0)
    rc = otpc_rt_spawn(rt, &proxy_class, NULL, &p, &pid);
  if (rc == 0)
    rc = otpc_rt_spawn(rt, &fwd_class, r, &f, &pid);
  return rc;
}
