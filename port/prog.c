/* The port program's event loop: frames in, requests to handlers and the
 * worker pool, replies, events and logs out, children reaped, and the
 * program gone as soon as the Erlang side is. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>
#include <uv.h>

#include "internal.h"
#include "otpc/frame.h"
#include "port_internal.h"

/* Reading stops while this much output waits to be written, so a program
 * whose replies the Erlang side does not take pushes back on its input. */
#define OUT_HIGH_WATER (8u << 20)
/* Input read ahead of the window, at most (plus one frame). */
#define IN_HIGH_WATER (16u << 20)
/* A captured stdout line longer than this is sent in pieces. */
#define CAPTURE_LINE 4096u

typedef struct event {
  struct event *next;
  otpc_buf_t frame;
} event_t;

struct otpc_prog_req {
  otpc_prog_t *p;
  uint64_t id;
  int cast;
  int in_handler; /* the handler is running: finishing must not free yet */
  int done;
  otpc_term_t request;
  uint8_t *frame; /* our copy of the frame body, which request views */
  uv_work_t work;
  otpc_prog_work_fn work_fn;
  int work_rc;
  otpc_buf_t work_out;
};

struct otpc_prog {
  otpc_prog_config_t cfg;
  uv_loop_t loop;
  uv_pipe_t in, out, cap;
  uv_signal_t sigchld, sigterm;
  uv_idle_t resume;
  int has_cap;
  int reading;
  int stopping;
  int rc;
  otpc_framer_t framer;
  uint8_t rbuf[65536];
  size_t in_flight; /* requests taken and not finished */
  size_t calls;     /* of which calls: at most the window */
  size_t working;   /* of which on the worker pool */
  uint64_t credit;
  event_t *ev_head, *ev_tail;
  size_t ev_n;
  otpc__children_t children;
  int cap_fd; /* the write end of the capture, for children's stdout */
  char line[CAPTURE_LINE];
  size_t line_len;
};

/* The request the current thread is handling, for the crash message. A
 * signal handler may read it: it is only ever read by the thread that owns
 * it, so a volatile thread-local is enough. */
static _Thread_local volatile uint64_t current_id;
static _Thread_local volatile int current_set;
static const char *crash_name = "port program";
/* Where the signal handler writes the crash frame, and how. */
static int crash_fd = -1;
static unsigned crash_packet = 4;
/* Bytes of output libuv has not written yet, as the loop thread last saw
 * them. The signal handler, on any thread, writes its crash frame only when
 * this is 0, so that it does not land inside a partly written frame.
 * Relaxed is enough: a stale value can only let the frame interleave with
 * a reply being written at that very moment, and the Erlang side trusts
 * the exit status, not this frame, for the signal. */
static _Atomic size_t out_queued;

static void prog_exit(otpc_prog_t *p, int rc);
static void pump(otpc_prog_t *p);

/* Runs once on the next loop turn, so that a finished request lets the
 * waiting frames in without re-entering the handler that finished it. */
static void on_resume(uv_idle_t *h) {
  pump(h->data);
}

/* ------------------------------------------------------------- writing */

typedef struct write_req {
  uv_write_t w;
  otpc_prog_t *p;
  uint8_t *data;
  int fatal; /* the last frame before exiting with p->rc */
} write_req_t;

static void wrote(uv_write_t *w, int status) {
  write_req_t *wr = w->data;
  otpc_prog_t *p = wr->p;
  int fatal = wr->fatal;
  atomic_store_explicit(&out_queued, p->out.write_queue_size,
                        memory_order_relaxed);
  free(wr->data);
  free(wr);
  if (status < 0 || fatal)
    /* A failed write means the Erlang side is gone: nobody to serve. */
    prog_exit(p, fatal ? p->rc : 0);
  else if (!p->reading && !p->stopping)
    uv_idle_start(&p->resume, on_resume);
}

/* Sends a whole frame, taking over its bytes. */
static int send_frame(otpc_prog_t *p, otpc_buf_t *frame, int fatal) {
  write_req_t *wr = malloc(sizeof *wr);
  if (wr == NULL) {
    otpc_buf_free(frame);
    return OTPC_ENOMEM;
  }
  size_t len;
  wr->p = p;
  wr->fatal = fatal;
  wr->data = otpc_buf_release(frame, &len);
  wr->w.data = wr;
  uv_buf_t b = uv_buf_init((char *)wr->data, (unsigned)len);
  if (uv_write(&wr->w, (uv_stream_t *)&p->out, &b, 1, wrote) < 0) {
    free(wr->data);
    free(wr);
    return OTPC_EINVAL;
  }
  atomic_store_explicit(&out_queued, p->out.write_queue_size,
                        memory_order_relaxed);
  return 0;
}

static int vsend(otpc_prog_t *p, int fatal, const char *fmt, va_list ap) {
  otpc_buf_t f;
  otpc_buf_init(&f);
  int rc = otpc__prog_vframe(&f, p->cfg.packet, p->cfg.max_frame, fmt, ap);
  if (rc < 0) {
    otpc_buf_free(&f);
    return rc;
  }
  return send_frame(p, &f, fatal);
}

static int send_term(otpc_prog_t *p, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int rc = vsend(p, 0, fmt, ap);
  va_end(ap);
  return rc;
}

/* Ends the stream with {protocol_error, Why}; the program exits once it is
 * written (the input is out of sync, nothing after it can be trusted). */
static void protocol_error(otpc_prog_t *p, int code, const char *why) {
  if (p->stopping)
    return;
  p->rc = code;
  if (p->reading)
    uv_read_stop((uv_stream_t *)&p->in);
  p->reading = 0;
  p->stopping = 1;
  otpc_buf_t f;
  otpc_buf_init(&f);
  if (otpc__prog_frame(&f, p->cfg.packet, p->cfg.max_frame,
                       "{protocol_error, ~b}", why, strlen(why)) < 0 ||
      send_frame(p, &f, 1) < 0)
    prog_exit(p, code);
}

/* ------------------------------------------------------------ requests */

static void req_free(otpc_prog_req_t *req) {
  otpc_prog_t *p = req->p;
  otpc_buf_free(&req->work_out);
  free(req->frame);
  p->in_flight--;
  p->calls -= !req->cast;
  free(req);
  if (!p->reading && !p->stopping)
    uv_idle_start(&p->resume, on_resume);
}

static void finish(otpc_prog_req_t *req) {
  req->done = 1;
  if (!req->in_handler)
    req_free(req);
}

/* Replies {error, {Tag, Why}} as text, for failures of our own. */
static void reply_failure(otpc_prog_req_t *req, const char *tag,
                          const char *why) {
  if (!req->cast)
    send_term(req->p, "{reply, ~U, {error, {~a, ~b}}}", req->id, tag, why,
              strlen(why));
  finish(req);
}

int otpc_prog_reply_term(otpc_prog_req_t *req, otpc_term_t result) {
  if (req == NULL || req->done)
    return OTPC_EINVAL;
  int rc = 0;
  if (!req->cast) {
    rc = send_term(req->p, "{reply, ~U, ~t}", req->id, &result);
    if (rc == OTPC_ELIMIT) {
      char why[96];
      snprintf(why, sizeof why,
               "the reply of %zu bytes is over the maximum frame of %zu",
               result.len, req->p->cfg.max_frame);
      reply_failure(req, "reply_failed", why);
      return rc;
    }
  }
  finish(req);
  return rc;
}

int otpc_prog_reply(otpc_prog_req_t *req, const char *fmt, ...) {
  if (req == NULL || req->done)
    return OTPC_EINVAL;
  otpc_buf_t b;
  otpc_err_t err;
  otpc_buf_init(&b);
  va_list ap;
  va_start(ap, fmt);
  int rc = otpc_term_vbuild(&b, &err, fmt, ap);
  va_end(ap);
  if (rc < 0) {
    reply_failure(req, "reply_failed", err.msg);
  } else {
    otpc_term_t t = {b.data, b.len};
    rc = otpc_prog_reply_term(req, t);
  }
  otpc_buf_free(&b);
  return rc;
}

void otpc_prog_done(otpc_prog_req_t *req) {
  if (req == NULL || req->done)
    return;
  if (!req->cast)
    send_term(req->p, "{reply, ~U, {error, noreply}}", req->id);
  finish(req);
}

static void work_run(uv_work_t *w) {
  otpc_prog_req_t *req = w->data;
  current_id = req->id;
  current_set = 1;
  req->work_rc = req->work_fn(req->request, &req->work_out, req->p->cfg.ud);
  current_set = 0;
}

static void work_done(uv_work_t *w, int status) {
  otpc_prog_req_t *req = w->data;
  req->p->working--;
  otpc_term_t t;
  size_t used;
  if (status < 0)
    reply_failure(req, "work_failed", uv_strerror(status));
  else if (req->work_rc < 0)
    reply_failure(req, "work_failed", otpc_strerror(req->work_rc));
  else if (otpc_term_parse(req->work_out.data, req->work_out.len, &t, &used,
                           NULL) < 0 ||
           used != req->work_out.len)
    reply_failure(req, "work_failed", "the work made no single valid term");
  else
    otpc_prog_reply_term(req, t);
}

int otpc_prog_queue_work(otpc_prog_req_t *req, otpc_prog_work_fn work) {
  if (req == NULL || work == NULL || req->done)
    return OTPC_EINVAL;
  req->work_fn = work;
  req->work.data = req;
  if (uv_queue_work(&req->p->loop, &req->work, work_run, work_done) < 0)
    return OTPC_EINVAL;
  req->p->working++;
  return 0;
}

otpc_prog_t *otpc_prog_of(const otpc_prog_req_t *req) {
  return req->p;
}

int otpc_prog_is_cast(const otpc_prog_req_t *req) {
  return req->cast;
}

struct uv_loop_s *otpc_prog_loop(otpc_prog_t *p) {
  return &p->loop;
}

static void start_request(otpc_prog_t *p, const otpc__prog_msg_t *m,
                          const uint8_t *frame, size_t len) {
  if (m->kind == OTPC__PROG_CALL && p->calls >= p->cfg.window) {
    send_term(p, "{reply, ~U, {error, {window_exceeded, ~U}}}", m->id,
              (uint64_t)p->cfg.window);
    return;
  }
  otpc_prog_req_t *req = calloc(1, sizeof *req);
  uint8_t *copy = malloc(len);
  if (req == NULL || copy == NULL) {
    free(req);
    free(copy);
    if (m->kind == OTPC__PROG_CALL)
      send_term(p, "{reply, ~U, {error, enomem}}", m->id);
    return;
  }
  memcpy(copy, frame, len);
  req->p = p;
  req->id = m->id;
  req->cast = m->kind == OTPC__PROG_CAST;
  req->frame = copy;
  req->request.p = copy + (m->request.p - frame);
  req->request.len = m->request.len;
  otpc_buf_init(&req->work_out);
  p->in_flight++;
  p->calls += !req->cast;
  req->in_handler = 1;
  current_id = req->id;
  current_set = !req->cast;
  int rc = p->cfg.handle(p, req, req->request, p->cfg.ud);
  current_set = 0;
  req->in_handler = 0;
  if (req->done)
    req_free(req);
  else if (rc < 0)
    reply_failure(req, "handler_failed", otpc_strerror(rc));
}

/* ------------------------------------------------------------- events */

static void flush_events(otpc_prog_t *p) {
  while (p->ev_head != NULL && p->credit > 0) {
    event_t *e = p->ev_head;
    p->ev_head = e->next;
    if (p->ev_head == NULL)
      p->ev_tail = NULL;
    p->ev_n--;
    p->credit--;
    send_frame(p, &e->frame, 0);
    free(e);
  }
}

int otpc_prog_emit(otpc_prog_t *p, const char *fmt, ...) {
  /* Room in the queue, or a credit to send it at once. */
  if (p->ev_n >= p->cfg.max_events && !(p->ev_head == NULL && p->credit > 0))
    return OTPC_ELIMIT;
  event_t *e = malloc(sizeof *e);
  if (e == NULL)
    return OTPC_ENOMEM;
  otpc_buf_init(&e->frame);
  e->next = NULL;
  va_list ap;
  va_start(ap, fmt);
  otpc_buf_t term;
  otpc_buf_init(&term);
  int rc = otpc_term_vbuild(&term, NULL, fmt, ap);
  va_end(ap);
  if (rc == 0) {
    otpc_term_t t = {term.data, term.len};
    rc = otpc__prog_frame(&e->frame, p->cfg.packet, p->cfg.max_frame,
                          "{event, ~t}", &t);
  }
  otpc_buf_free(&term);
  if (rc < 0) {
    otpc_buf_free(&e->frame);
    free(e);
    return rc;
  }
  if (p->ev_tail != NULL)
    p->ev_tail->next = e;
  else
    p->ev_head = e;
  p->ev_tail = e;
  p->ev_n++;
  flush_events(p);
  return 0;
}

uint64_t otpc_prog_credit(const otpc_prog_t *p) {
  return p->credit;
}

/* --------------------------------------------------------------- logs */

static int log_bytes(otpc_prog_t *p, const char *level, const char *s,
                     size_t n) {
  /* A line that does not fit a frame is cut rather than lost. */
  size_t room = p->cfg.max_frame > 64 ? p->cfg.max_frame - 64 : 0;
  if (n > room)
    n = room;
  return send_term(p, "{log, ~a, ~b}", level, s, n);
}

int otpc_prog_log(otpc_prog_t *p, const char *level, const char *fmt, ...) {
  char small[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < 0)
    return OTPC_EINVAL;
  if ((size_t)n < sizeof small)
    return log_bytes(p, level, small, (size_t)n);
  char *big = malloc((size_t)n + 1);
  if (big == NULL)
    return OTPC_ENOMEM;
  va_start(ap, fmt);
  vsnprintf(big, (size_t)n + 1, fmt, ap);
  va_end(ap);
  int rc = log_bytes(p, level, big, (size_t)n);
  free(big);
  return rc;
}

static void captured(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  otpc_prog_t *p = s->data;
  (void)b;
  if (n < 0) {
    uv_read_stop(s);
    return;
  }
  /* Bytes land straight in p->line (see cap_alloc); ship whole lines. */
  p->line_len += (size_t)n;
  size_t start = 0;
  for (size_t i = 0; i < p->line_len; i++)
    if (p->line[i] == '\n') {
      log_bytes(p, "info", p->line + start, i - start);
      start = i + 1;
    }
  if (start == 0 && p->line_len == sizeof p->line) {
    log_bytes(p, "info", p->line, p->line_len);
    start = p->line_len;
  }
  memmove(p->line, p->line + start, p->line_len - start);
  p->line_len -= start;
}

static void cap_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  otpc_prog_t *p = h->data;
  (void)hint;
  *b = uv_buf_init(p->line + p->line_len,
                   (unsigned)(sizeof p->line - p->line_len));
}

/* ------------------------------------------------------------- reading */

static void handle_frame(otpc_prog_t *p, const uint8_t *frame, size_t len) {
  otpc__prog_msg_t m;
  otpc_err_t err;
  int has_id;
  int rc = otpc__prog_decode(frame, len, &m, &has_id, &err);
  if (rc < 0) {
    size_t n = strlen(err.msg);
    if (has_id)
      send_term(p, "{bad_request, ~U, ~b}", m.id, err.msg, n);
    else
      send_term(p, "{bad_request, undefined, ~b}", err.msg, n);
    return;
  }
  if (m.kind == OTPC__PROG_CREDIT) {
    p->credit += m.credit; /* at most 2^32 a frame: cannot wrap */
    flush_events(p);
    if (p->cfg.on_credit != NULL)
      p->cfg.on_credit(p, p->cfg.ud);
    return;
  }
  start_request(p, &m, frame, len);
}

/* Frames are taken while the output drains. The window is a rule for the
 * peer (calls beyond it are refused, see start_request), not a reason to
 * stop taking frames: casts and credits behind a full window must get in,
 * and the end of the input must be seen while every slot is busy. */
static int may_process(const otpc_prog_t *p) {
  return !p->stopping && p->out.write_queue_size < OUT_HIGH_WATER;
}

/* Reading goes on while output waits, so that the end of the input is
 * seen; it pauses only when this much input has piled up meanwhile. */
static int may_read(const otpc_prog_t *p) {
  return !p->stopping &&
         p->framer.in.len - p->framer.pos < IN_HIGH_WATER + p->cfg.max_frame;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b);

static void alloc_in(uv_handle_t *h, size_t hint, uv_buf_t *b) {
  otpc_prog_t *p = h->data;
  (void)hint;
  *b = uv_buf_init((char *)p->rbuf, sizeof p->rbuf);
}

/* Takes the complete frames buffered so far while the window allows, then
 * reads more or pauses reading. */
static void pump(otpc_prog_t *p) {
  uv_idle_stop(&p->resume);
  while (may_process(p)) {
    const uint8_t *frame;
    size_t len;
    otpc_err_t err;
    int rc = otpc_framer_next(&p->framer, &frame, &len, &err);
    if (rc == 0)
      break;
    if (rc < 0) {
      protocol_error(p, rc, err.msg);
      return;
    }
    handle_frame(p, frame, len);
  }
  int want = may_read(p);
  if (want && !p->reading)
    uv_read_start((uv_stream_t *)&p->in, alloc_in, on_read);
  else if (!want && p->reading)
    uv_read_stop((uv_stream_t *)&p->in);
  p->reading = want;
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b) {
  otpc_prog_t *p = s->data;
  if (n == UV_EOF || n < 0) {
    prog_exit(p, 0); /* the Erlang side closed the port or died */
    return;
  }
  int rc = otpc_framer_feed(&p->framer, b->base, (size_t)n);
  if (rc < 0) {
    protocol_error(p, rc, "cannot buffer the input");
    return;
  }
  pump(p);
}

/* ---------------------------------------------------------- lifecycle */

static void close_one(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h))
    uv_close(h, NULL);
}

/* Children go first, whatever else happens. With nothing in flight the
 * loop winds down and the program returns from otpc_prog_run; with work
 * still on the pool there is nobody left to give results to and no way to
 * stop a worker thread, so the process ends at once. */
static void prog_exit(otpc_prog_t *p, int rc) {
  otpc__children_kill_all(&p->children, p->cfg.kill_grace_ms);
  if (p->in_flight > 0)
    _exit(rc < 0 ? 2 : 0);
  p->stopping = 1;
  p->rc = rc;
  uv_walk(&p->loop, close_one, NULL);
}

static void on_sigchld(uv_signal_t *s, int sig) {
  (void)sig;
  otpc_prog_t *p = s->data;
  otpc__children_reap(&p->children);
}

static void on_sigterm(uv_signal_t *s, int sig) {
  (void)sig;
  prog_exit(s->data, 0);
}

typedef struct kill_timer {
  uv_timer_t t;
  otpc_prog_t *p;
  pid_t pid;
} kill_timer_t;

static void kill_timer_closed(uv_handle_t *h) {
  free(h->data);
}

static void kill_escalate(uv_timer_t *t) {
  kill_timer_t *k = t->data;
  otpc__children_reap(&k->p->children);
  if (otpc__children_has(&k->p->children, k->pid))
    kill(-k->pid, SIGKILL);
  uv_close((uv_handle_t *)t, kill_timer_closed);
}

int otpc_prog_spawn(otpc_prog_t *p, char *const argv[], pid_t *pid) {
  return otpc__children_spawn(&p->children, argv,
                              p->cap_fd >= 0 ? p->cap_fd : STDERR_FILENO, pid);
}

int otpc_prog_kill(otpc_prog_t *p, pid_t pid) {
  otpc__children_reap(&p->children);
  if (!otpc__children_has(&p->children, pid))
    return OTPC_ENOTFOUND;
  kill(-pid, SIGTERM);
  kill_timer_t *k = malloc(sizeof *k);
  if (k == NULL) {
    kill(-pid, SIGKILL);
    return 0;
  }
  k->p = p;
  k->pid = pid;
  uv_timer_init(&p->loop, &k->t);
  k->t.data = k;
  uv_timer_start(&k->t, kill_escalate, p->cfg.kill_grace_ms, 0);
  return 0;
}

/* Writes a number in decimal without stdio: for the signal handler. */
static size_t put_dec(char *s, uint64_t v) {
  char tmp[24];
  size_t n = 0, i = 0;
  do
    tmp[n++] = (char)('0' + v % 10);
  while ((v /= 10) != 0);
  while (n > 0)
    s[i++] = tmp[--n];
  return i;
}

static size_t put_str(char *s, const char *t, size_t room) {
  size_t n = 0;
  while (t[n] != '\0' && n < room)
    s[n] = t[n], n++;
  return n;
}

/* A fatal signal: says on stderr which request was being handled (the
 * Erlang side learns the signal from the exit status), then dies of the
 * same signal so the exit status stays honest. */
static void on_fatal(int sig) {
  char msg[256];
  size_t n = put_str(msg, crash_name, 100);
  n += put_str(msg + n, ": killed by signal ", 40);
  n += put_dec(msg + n, (uint64_t)sig);
  if (current_set) {
    n += put_str(msg + n, " while handling request ", 40);
    n += put_dec(msg + n, current_id);
  }
  msg[n++] = '\n';
  ssize_t w = write(STDERR_FILENO, msg, n);
  /* Tell the Erlang side too, when no frame is half written: a write of
   * under PIPE_BUF bytes to a pipe is atomic. */
  if (crash_fd >= 0 &&
      atomic_load_explicit(&out_queued, memory_order_relaxed) == 0) {
    uint8_t frame[OTPC__CRASH_FRAME_MAX];
    size_t len = otpc__prog_crash_frame(frame, crash_packet, sig, current_set,
                                        current_id);
    w = write(crash_fd, frame, len);
  }
  (void)w;
  signal(sig, SIG_DFL);
  raise(sig);
}

static void install_fatal_handlers(void) {
  static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_fatal;
  sa.sa_flags = SA_RESETHAND | SA_NODEFER;
  for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
    sigaction(sigs[i], &sa, NULL);
}

/* Decides the protocol's fds and moves stdout into the capture pipe. */
static int setup_fds(otpc_prog_t *p, int *in_fd, int *out_fd, otpc_err_t *err) {
  /* With the protocol on 3/4, fds 0-2 may come closed; /dev/null keeps
   * pipe() below from landing on them. */
  for (int fd = 0; fd <= 2 && p->cfg.use_fds; fd++)
    if (fcntl(fd, F_GETFD) < 0) {
      int null = open("/dev/null", O_RDWR);
      if (null >= 0 && null != fd) {
        dup2(null, fd);
        close(null);
      }
    }
  *in_fd = p->cfg.use_fds ? 3 : STDIN_FILENO;
  *out_fd = p->cfg.use_fds ? 4 : STDOUT_FILENO;
  p->cap_fd = -1;
  if (fcntl(*in_fd, F_GETFD) < 0 || fcntl(*out_fd, F_GETFD) < 0)
    return otpc__err(err, OTPC_EINVAL, 0,
                     "the protocol fds %d and %d are not open (use_fds=%d: "
                     "open the port with %s)",
                     *in_fd, *out_fd, p->cfg.use_fds,
                     p->cfg.use_fds ? "nouse_stdio" : "use_stdio");
  /* Children must not hold the protocol pipes: the Erlang side would not
   * see the program's end while they live. */
  fcntl(*in_fd, F_SETFD, FD_CLOEXEC);
  if (!p->cfg.capture_stdout || p->cfg.use_fds) {
    fcntl(*out_fd, F_SETFD, FD_CLOEXEC);
    if (!p->cfg.capture_stdout)
      return 0;
  } else {
    /* The protocol moves off fd 1, so printf cannot reach it. */
    *out_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 5);
    if (*out_fd < 0)
      return otpc__err(err, OTPC_EINVAL, 0, "dup of stdout: %s",
                       strerror(errno));
  }
  int cap[2];
  fflush(stdout);
  if (pipe(cap) < 0)
    return otpc__err(err, OTPC_EINVAL, 0, "pipe for stdout: %s",
                     strerror(errno));
  fcntl(cap[0], F_SETFD, FD_CLOEXEC);
  dup2(cap[1], STDOUT_FILENO);
  close(cap[1]);
  p->cap_fd = STDOUT_FILENO;
  setvbuf(stdout, NULL, _IOLBF, 0);
  uv_pipe_init(&p->loop, &p->cap, 0);
  p->cap.data = p;
  uv_pipe_open(&p->cap, cap[0]);
  p->has_cap = 1;
  return 0;
}

static int check_config(const otpc_prog_config_t *c, otpc_err_t *err) {
  if (c->handle == NULL)
    return otpc__err(err, OTPC_EINVAL, 0, "no request handler configured");
  if (c->packet != 1 && c->packet != 2 && c->packet != 4)
    return otpc__err(err, OTPC_EINVAL, 0, "packet %u: expected 1, 2 or 4",
                     c->packet);
  if (c->window == 0 || c->window > OTPC_PROG_MAX_WINDOW || c->max_frame == 0)
    return otpc__err(err, OTPC_EINVAL, 0,
                     "window %u and max_frame %zu: expected 1..%u and > 0",
                     c->window, c->max_frame, OTPC_PROG_MAX_WINDOW);
  return 0;
}

int otpc_prog_run(const otpc_prog_config_t *cfg, otpc_err_t *err) {
  int rc = check_config(cfg, err);
  if (rc < 0)
    return rc;
  /* Ask to be ended with the parent, then check it did not end already. */
  pid_t parent = getppid();
  prctl(PR_SET_PDEATHSIG, SIGTERM);
  if (getppid() != parent)
    return 0;
  signal(SIGPIPE, SIG_IGN);
  crash_name = cfg->name;
  install_fatal_handlers();

  otpc_prog_t *p = calloc(1, sizeof *p);
  if (p == NULL)
    return OTPC_ENOMEM;
  p->cfg = *cfg;
  /* The header limits the frame too; with 4 bytes, a little under, so
   * header and body fit the unsigned length of one libuv write. */
  size_t hdr_max = cfg->packet == 1   ? 0xFF
                   : cfg->packet == 2 ? 0xFFFF
                                      : 0xFFFFFFFF - 8;
  if (p->cfg.max_frame > hdr_max)
    p->cfg.max_frame = hdr_max;
  otpc__children_init(&p->children);
  uv_loop_init(&p->loop);
  int in_fd, out_fd;
  if ((rc = setup_fds(p, &in_fd, &out_fd, err)) < 0 ||
      (rc = otpc_framer_init(&p->framer, p->cfg.packet, p->cfg.max_frame)) <
          0) {
    uv_loop_close(&p->loop);
    free(p);
    return rc;
  }
  uv_pipe_init(&p->loop, &p->in, 0);
  uv_pipe_init(&p->loop, &p->out, 0);
  uv_pipe_open(&p->in, in_fd);
  uv_pipe_open(&p->out, out_fd);
  crash_fd = out_fd;
  crash_packet = p->cfg.packet;
  p->in.data = p->out.data = p;
  uv_idle_init(&p->loop, &p->resume);
  p->resume.data = p;
  uv_signal_init(&p->loop, &p->sigchld);
  uv_signal_init(&p->loop, &p->sigterm);
  p->sigchld.data = p->sigterm.data = p;
  uv_signal_start(&p->sigchld, on_sigchld, SIGCHLD);
  uv_signal_start(&p->sigterm, on_sigterm, SIGTERM);
  if (p->has_cap)
    uv_read_start((uv_stream_t *)&p->cap, cap_alloc, captured);

  send_term(p, "{hello, 1, #{window => ~U, max_frame => ~U, os_pid => ~l}}",
            (uint64_t)p->cfg.window, (uint64_t)p->cfg.max_frame,
            (long)getpid());
  pump(p);
  uv_run(&p->loop, UV_RUN_DEFAULT);

  rc = p->rc;
  while (p->ev_head != NULL) {
    event_t *e = p->ev_head;
    p->ev_head = e->next;
    otpc_buf_free(&e->frame);
    free(e);
  }
  otpc_framer_free(&p->framer);
  otpc__children_free(&p->children);
  uv_loop_close(&p->loop);
  free(p);
  if (rc < 0 && err != NULL)
    otpc__err(err, rc, 0, "the port protocol failed: %s", otpc_strerror(rc));
  return rc;
}
