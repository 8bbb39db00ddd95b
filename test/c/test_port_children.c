/* Unit tests of a port program's children (port/children.c): own process
 * group, default signals, stdin from /dev/null, stdout where asked, TERM
 * then KILL for the whole group, and death with the parent. */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "port_internal.h"

/* Gone or a zombie: either way no longer running. */
static int running(pid_t pid) {
  char path[64], stat[512];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  size_t n = fread(stat, 1, sizeof stat - 1, f);
  fclose(f);
  stat[n] = '\0';
  const char *close = strrchr(stat, ')');
  return close != NULL && close[1] == ' ' && close[2] != 'Z';
}

/* Polls until pid stops running; fails after 10 s. */
static void await_gone(pid_t pid) {
  struct timespec tick = {0, 10 * 1000 * 1000};
  for (int i = 0; i < 1000; i++) {
    if (!running(pid))
      return;
    nanosleep(&tick, NULL);
  }
  fail_msg("process %d still runs after 10 s", (int)pid);
}

static int run_sh(otpc__children_t *c, const char *script, int out_fd,
                  pid_t *pid) {
  char *argv[] = {"/bin/sh", "-c", (char *)script, NULL};
  return otpc__children_spawn(c, argv, out_fd, pid);
}

/* Runs script with its stdout into a pipe; returns the read end. */
static int spawn_piped(otpc__children_t *c, const char *script, pid_t *pid) {
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  assert_int_equal(run_sh(c, script, fds[1], pid), 0);
  close(fds[1]);
  return fds[0];
}

static int wait_status(pid_t pid) {
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  return status;
}

static void test_needs_a_path(void **state) {
  (void)state;
  otpc__children_t c;
  otpc__children_init(&c);
  pid_t pid;
  char *argv[] = {"sleep", "1", NULL};
  assert_int_equal(otpc__children_spawn(&c, argv, -1, &pid), OTPC_EINVAL);
  assert_int_equal(otpc__children_spawn(&c, NULL, -1, &pid), OTPC_EINVAL);
  assert_int_equal(c.n, 0);
  otpc__children_free(&c);
}

/* The program ignores SIGPIPE; its children must not inherit that. */
static void test_child_gets_default_signals_and_own_group(void **state) {
  (void)state;
  otpc__children_t c;
  otpc__children_init(&c);
  signal(SIGPIPE, SIG_IGN);
  pid_t pid;
  assert_int_equal(run_sh(&c, "kill -PIPE $$; exit 3", -1, &pid), 0);
  assert_true(otpc__children_has(&c, pid));
  int status = wait_status(pid);
  signal(SIGPIPE, SIG_DFL);
  assert_true(WIFSIGNALED(status));
  assert_int_equal(WTERMSIG(status), SIGPIPE);
  assert_int_equal(otpc__children_reap(&c), 1);
  assert_int_equal(c.n, 0);

  assert_int_equal(run_sh(&c,
                          "test \"$(ps -o pgid= -p $$ | tr -d ' ')\" = $$ "
                          "&& test \"$(readlink /proc/$$/fd/0)\" = "
                          "/dev/null",
                          -1, &pid),
                   0);
  status = wait_status(pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  otpc__children_reap(&c);
  otpc__children_free(&c);
}

static void test_stdout_where_asked(void **state) {
  (void)state;
  otpc__children_t c;
  otpc__children_init(&c);
  pid_t pid;
  int fd = spawn_piped(&c, "echo hello from the child", &pid);
  char buf[64] = {0};
  size_t n = 0;
  ssize_t r;
  while ((r = read(fd, buf + n, sizeof buf - 1 - n)) > 0)
    n += (size_t)r;
  close(fd);
  assert_string_equal(buf, "hello from the child\n");
  wait_status(pid);
  otpc__children_reap(&c);
  otpc__children_free(&c);
}

/* A child that ignores TERM, and its own child: KILL reaches the group. */
static void test_kill_all_escalates_to_the_group(void **state) {
  (void)state;
  otpc__children_t c;
  otpc__children_init(&c);
  pid_t pid;
  int fd = spawn_piped(&c,
                       "trap '' TERM; /bin/sleep 600 & echo $!; "
                       "while :; do wait; done",
                       &pid);
  char buf[32] = {0};
  size_t n = 0;
  while (n < sizeof buf - 1 && read(fd, buf + n, 1) == 1 && buf[n] != '\n')
    n++;
  close(fd);
  pid_t grandchild = (pid_t)atoi(buf);
  assert_true(grandchild > 0);
  assert_true(running(pid));
  assert_true(running(grandchild));
  otpc__children_kill_all(&c, 200);
  assert_int_equal(c.n, 0);
  assert_int_equal(kill(pid, 0), -1); /* reaped by kill_all */
  assert_int_equal(errno, ESRCH);
  await_gone(grandchild);
  otpc__children_free(&c);
}

/* The kernel kills a child whose parent dies without any cleanup. */
static void test_child_dies_with_parent(void **state) {
  (void)state;
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  pid_t helper = fork();
  assert_true(helper >= 0);
  if (helper == 0) {
    otpc__children_t c;
    otpc__children_init(&c);
    char *argv[] = {"/bin/sleep", "600", NULL};
    pid_t pid = 0;
    otpc__children_spawn(&c, argv, -1, &pid);
    ssize_t w = write(fds[1], &pid, sizeof pid);
    (void)w;
    _exit(0); /* no kill_all: only the kernel can end the child */
  }
  close(fds[1]);
  pid_t child = 0;
  assert_int_equal(read(fds[0], &child, sizeof child), (ssize_t)sizeof child);
  close(fds[0]);
  assert_true(child > 0);
  wait_status(helper);
  await_gone(child);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_needs_a_path),
      cmocka_unit_test(test_child_gets_default_signals_and_own_group),
      cmocka_unit_test(test_stdout_where_asked),
      cmocka_unit_test(test_kill_all_escalates_to_the_group),
      cmocka_unit_test(test_child_dies_with_parent),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
