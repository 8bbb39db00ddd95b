/* supervisor's clients: otpc_sup_start (spawn, then wait for the ack or the
 * DOWN, as proc_lib:start) and otpc_sup_start_child (a C spec passed by
 * authenticated address). The supervisor process is supervisor.c. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "otpc/supervisor.h"
#include "supervisor_int.h"

/* otpc_sup_start_child's ticket: the spec's address, authenticated by a
 * key of this OS process so that a message from another node cannot make
 * a supervisor read an address of its choosing. */
static uint64_t ticket_key;
static pthread_once_t ticket_once = PTHREAD_ONCE_INIT;

static void ticket_init(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  uint64_t k = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15u ^
               (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&ticket_key;
  FILE *f = fopen("/dev/urandom", "rb");
  if (f != NULL) {
    uint64_t r;
    if (fread(&r, sizeof r, 1, f) == 1)
      k ^= r;
    fclose(f);
  }
  ticket_key = k;
}

uint64_t otpc__sup_ticket_mac(uint64_t addr) {
  pthread_once(&ticket_once, ticket_init);
  uint64_t x = addr ^ ticket_key;
  /* A 64-bit mix (splitmix64's finaliser): the MAC of one address tells
   * nothing about another's. */
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
  return x ^ (x >> 31);
}

typedef struct waiter {
  otpc_ref_t tag, mref;
  otpc_gs_cont_fn cont;
  void *ctx;
} waiter_t;

static bool match_ack(otpc_term_t t, const void *arg) {
  const waiter_t *w = arg;
  return otpc_match_ref(t, &w->tag) || otpc_match_ref(t, &w->mref);
}

/* Reads the ack or the DOWN into res, as proc_lib:start. */
static void read_ack(otpc_proc_t *self, const waiter_t *w, otpc_msg_t *msg,
                     otpc_gs_result_t *res) {
  memset(res, 0, sizeof *res);
  otpc_term_t t = otpc_msg_term(msg), x;
  otpc_pid_t pid;
  if (otpc_term_match(t, NULL, "{'DOWN', _, process, _, ~t}", &x) == 0) {
    res->status = OTPC_GS_ERROR;
  } else {
    otpc_demonitor(self, &w->mref, OTPC_DEMONITOR_FLUSH);
    if (otpc_term_match(t, NULL, "{_, {ok, ~p}}", &pid) == 0) {
      res->status = OTPC_GS_OK;
      res->pid = pid;
      return;
    }
    if (otpc_term_match(t, NULL, "{_, {error, ~t}}", &x) != 0) {
      res->status = OTPC_GS_IGNORE;
      return;
    }
    res->status = OTPC_GS_ERROR;
  }
  if (otpc_msg_from_term(x, &res->term) != 0)
    res->term = NULL;
}

static void on_ack(otpc_proc_t *self, void *state, otpc_msg_t *msg, void *ctx) {
  waiter_t w = *(waiter_t *)ctx;
  free(ctx);
  otpc_gs_result_t res;
  read_ack(self, &w, msg, &res);
  w.cont(self, state, &res, w.ctx);
  otpc_msg_unref(res.term);
}

static int sup_start(otpc_proc_t *self, const otpc_sup_spec_t *spec, void *arg,
                     const otpc_gs_start_opts_t *opts, otpc_gs_cont_fn cont,
                     void *ctx, otpc_gs_result_t *res) {
  if (self == NULL || spec == NULL)
    return OTPC_EINVAL;
  waiter_t *w = calloc(1, sizeof *w);
  otpc__sup_start_arg_t *sa = calloc(1, sizeof *sa);
  if (w == NULL || sa == NULL) {
    free(w);
    free(sa);
    return OTPC_ENOMEM;
  }
  otpc_rt_t *rt = otpc_proc_rt(self);
  otpc_make_ref(rt, &w->tag);
  w->cont = cont;
  w->ctx = ctx;
  sa->spec = spec;
  sa->arg = arg;
  sa->starter = otpc_self(self);
  sa->tag = w->tag;
  const char *name =
      opts != NULL && opts->name != NULL ? opts->name : spec->name;
  otpc_spawn_opts_t so = {.link = opts != NULL && opts->link,
                          .monitor = true,
                          .monitor_ref = &w->mref,
                          .name = name};
  otpc_pid_t pid;
  int rc = otpc_spawn(self, &otpc__sup_class, sa, &so, &pid);
  if (rc != 0) {
    free(sa);
    otpc_atom_t a;
    otpc_pid_t other;
    if (name == NULL || otpc_atom(name, &a) != 0 ||
        otpc_whereis(rt, a, &other) != 0) {
      free(w);
      return rc;
    }
    /* Through the mailbox, so a continuation never runs inside its own
     * start call. */
    otpc_make_ref(rt, &w->mref);
    otpc_sendf(self, otpc_self(self), "{~r, {error, {already_started, ~p}}}",
               &w->tag, &other);
  }
  if (cont != NULL) {
    rc = otpc_receive(self, match_ack, w, sizeof *w, -1, on_ack, w);
    if (rc < 0)
      free(w);
    return rc;
  }
  otpc_msg_t *m = NULL;
  rc = otpc_thread_receive(self, match_ack, w, -1, &m);
  if (rc == 0) {
    read_ack(self, w, m, res);
  } else {
    memset(res, 0, sizeof *res);
    res->status = OTPC_GS_EXIT;
    res->term = m;
    m = NULL;
  }
  otpc_msg_unref(m);
  free(w);
  return rc == OTPC_EINVAL ? rc : 0;
}

int otpc_sup_start(otpc_proc_t *self, const otpc_sup_spec_t *spec, void *arg,
                   const otpc_gs_start_opts_t *opts, otpc_gs_cont_fn cont,
                   void *ctx) {
  if (cont == NULL)
    return OTPC_EINVAL;
  return sup_start(self, spec, arg, opts, cont, ctx, NULL);
}

int otpc_sup_start_blocking(otpc_proc_t *self, const otpc_sup_spec_t *spec,
                            void *arg, const otpc_gs_start_opts_t *opts,
                            otpc_gs_result_t *res) {
  if (res == NULL)
    return OTPC_EINVAL;
  return sup_start(self, spec, arg, opts, NULL, NULL, res);
}

static int ticket(otpc_buf_t *b, const otpc_child_spec_t *spec) {
  uint64_t addr = (uint64_t)(uintptr_t)spec;
  return otpc_term_build(b, NULL, "{start_child, {'$otpc_child_spec', ~U, ~U}}",
                         addr, otpc__sup_ticket_mac(addr));
}

int otpc_sup_start_child(otpc_proc_t *self, otpc_pid_t sup,
                         const otpc_child_spec_t *spec, otpc_gs_cont_fn cont,
                         void *ctx) {
  if (spec == NULL || cont == NULL)
    return OTPC_EINVAL;
  otpc_buf_t b;
  otpc_buf_init(&b);
  int rc = ticket(&b, spec);
  if (rc == 0)
    rc = otpc_gen_server_call(self, sup, (otpc_term_t){b.data, b.len}, -1, cont,
                              ctx);
  otpc_buf_free(&b);
  return rc;
}

int otpc_sup_start_child_blocking(otpc_proc_t *self, otpc_pid_t sup,
                                  const otpc_child_spec_t *spec,
                                  otpc_gs_result_t *res) {
  if (spec == NULL || res == NULL)
    return OTPC_EINVAL;
  otpc_buf_t b;
  otpc_buf_init(&b);
  int rc = ticket(&b, spec);
  if (rc == 0)
    rc = otpc_gen_server_call_blocking(self, sup, (otpc_term_t){b.data, b.len},
                                       -1, res);
  otpc_buf_free(&b);
  return rc;
}
