/* Children of a port program: each started in a process group of its own so
 * that it and whatever it starts can be ended together, with the kernel
 * asked to kill it when the program dies, so no grandchild outlives the
 * port even when nobody runs our cleanup (SIGKILL of the program). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "port_internal.h"

extern char **environ;

void otpc__children_init(otpc__children_t *c) {
  c->pids = NULL;
  c->n = c->cap = 0;
}

void otpc__children_free(otpc__children_t *c) {
  free(c->pids);
  otpc__children_init(c);
}

static int add_pid(otpc__children_t *c, pid_t pid) {
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 8;
    pid_t *p = realloc(c->pids, cap * sizeof *p);
    if (p == NULL)
      return OTPC_ENOMEM;
    c->pids = p;
    c->cap = cap;
  }
  c->pids[c->n++] = pid;
  return 0;
}

static void remove_at(otpc__children_t *c, size_t i) {
  c->pids[i] = c->pids[--c->n];
}

int otpc__children_has(const otpc__children_t *c, pid_t pid) {
  for (size_t i = 0; i < c->n; i++)
    if (c->pids[i] == pid)
      return 1;
  return 0;
}

/* Between fork and exec in a threaded program only async-signal-safe calls
 * are allowed: no malloc, no stdio, hence execve with a path. */
static void child_exec(char *const argv[], int stdout_fd, pid_t parent) {
  setpgid(0, 0);
  /* SIGKILL, not SIGTERM: a child that ignores TERM must still go. */
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(127); /* the program died before the request took effect */
  /* The program ignores SIGPIPE and handles TERM and CHLD through libuv;
   * a child expects the defaults (dispositions survive exec). */
  struct sigaction dfl;
  memset(&dfl, 0, sizeof dfl);
  dfl.sa_handler = SIG_DFL;
  for (int s = 1; s < 65; s++) /* 64 signals on Linux; EINVAL beyond */
    if (s != SIGKILL && s != SIGSTOP)
      sigaction(s, &dfl, NULL);
  sigset_t none;
  sigemptyset(&none);
  sigprocmask(SIG_SETMASK, &none, NULL);
  int null = open("/dev/null", O_RDONLY);
  if (null >= 0 && null != STDIN_FILENO) {
    dup2(null, STDIN_FILENO);
    close(null);
  }
  if (stdout_fd >= 0 && stdout_fd != STDOUT_FILENO)
    dup2(stdout_fd, STDOUT_FILENO);
  execve(argv[0], argv, environ);
  _exit(127);
}

int otpc__children_spawn(otpc__children_t *c, char *const argv[], int stdout_fd,
                         pid_t *pid) {
  if (argv == NULL || argv[0] == NULL || argv[0][0] != '/')
    return OTPC_EINVAL;
  /* Room first, so that a started child is always in the table. */
  int rc = add_pid(c, 0);
  if (rc < 0)
    return rc;
  c->n--;
  pid_t parent = getpid();
  pid_t child = fork();
  if (child < 0)
    return OTPC_ENOMEM;
  if (child == 0)
    child_exec(argv, stdout_fd, parent);
  /* Also here, so the group exists before anyone may signal it. */
  setpgid(child, child);
  add_pid(c, child);
  *pid = child;
  return 0;
}

int otpc__children_reap(otpc__children_t *c) {
  int reaped = 0;
  for (size_t i = 0; i < c->n;) {
    int status;
    pid_t r = waitpid(c->pids[i], &status, WNOHANG);
    if (r == c->pids[i] || (r < 0 && errno == ECHILD)) {
      remove_at(c, i);
      reaped++;
    } else {
      i++;
    }
  }
  return reaped;
}

void otpc__children_kill_all(otpc__children_t *c, unsigned grace_ms) {
  size_t groups = c->n;
  for (size_t i = 0; i < groups; i++)
    kill(-c->pids[i], SIGTERM);
  struct timespec tick = {0, 10 * 1000 * 1000};
  /* Reaping reorders the table, so the groups are remembered apart; a
   * group can outlive its leader, and the kernel keeps its id from being
   * reused while a member lives, so KILLing every group stays safe. */
  pid_t *all = malloc(groups * sizeof *all + 1);
  if (all != NULL && groups > 0)
    memcpy(all, c->pids, groups * sizeof *all);
  for (unsigned waited = 0; c->n > 0 && waited < grace_ms; waited += 10) {
    otpc__children_reap(c);
    if (c->n > 0)
      nanosleep(&tick, NULL);
  }
  for (size_t i = 0; i < (all != NULL ? groups : c->n); i++)
    kill(-(all != NULL ? all[i] : c->pids[i]), SIGKILL);
  free(all);
  while (c->n > 0) {
    int status;
    waitpid(c->pids[c->n - 1], &status, 0);
    c->n--;
  }
}
