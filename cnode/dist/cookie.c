/* The Erlang cookie file (see cookie.h). */
#include "cookie.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"

int otpc__cookie_default_path(char *buf, size_t cap) {
  const char *home = getenv("HOME");
  if (home == NULL || home[0] == 0)
    return OTPC_ENOTFOUND;
  int n = snprintf(buf, cap, "%s/.erlang.cookie", home);
  return n < 0 || (size_t)n >= cap ? OTPC_ERANGE : 0;
}

/* erl writes 20 letters A-Z, without a newline, readable by its owner only
 * (checked on OTP 25: auth.erl's make_cookie and its file mode 0400). */
static int create(const char *path, char *buf, size_t cap, otpc_err_t *err) {
  if (cap < 21)
    return otpc__err(err, OTPC_ERANGE, 0, "cookie buffer too small");
  uint8_t rnd[20];
  int rfd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
  if (rfd < 0 || read(rfd, rnd, sizeof rnd) != (ssize_t)sizeof rnd) {
    if (rfd >= 0)
      close(rfd);
    return otpc__err(err, OTPC_EINVAL, 0, "cannot read /dev/urandom: %s",
                     strerror(errno));
  }
  close(rfd);
  for (int i = 0; i < 20; i++)
    buf[i] = (char)('A' + rnd[i] % 26); /* the bias is as harmless as erl's */
  buf[20] = 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0400);
  if (fd < 0)
    return otpc__err(err, OTPC_EINVAL, 0,
                     "Failed to create cookie file '%s': %s", path,
                     strerror(errno));
  ssize_t w = write(fd, buf, 20);
  int saved = errno;
  if (close(fd) != 0 || w != 20) {
    unlink(path);
    return otpc__err(err, OTPC_EINVAL, 0,
                     "Failed to write cookie file '%s': %s", path,
                     strerror(w < 0 ? saved : EIO));
  }
  return 0;
}

int otpc__cookie_read_or_create(const char *path, char *buf, size_t cap,
                                otpc_err_t *err) {
  if (path == NULL || buf == NULL || cap == 0)
    return OTPC_EINVAL;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT)
      return create(path, buf, cap, err);
    return otpc__err(err, OTPC_EINVAL, 0, "Cookie file %s cannot be read: %s",
                     path, strerror(errno));
  }
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return otpc__err(err, OTPC_EINVAL, 0, "Cookie file %s is not a file", path);
  }
  if (st.st_mode & (S_IRWXG | S_IRWXO)) {
    close(fd);
    return otpc__err(err, OTPC_EINVAL, 0,
                     "Cookie file %s must be accessible by owner only", path);
  }
  /* erl reads at most 255 cookie characters; allow a few more line ends. */
  char text[512];
  ssize_t n = read(fd, text, sizeof text);
  close(fd);
  if (n < 0)
    return otpc__err(err, OTPC_EINVAL, 0, "Cookie file %s cannot be read: %s",
                     path, strerror(errno));
  size_t len = 0;
  while (len < (size_t)n && text[len] >= 32 && text[len] <= 126)
    len++;
  for (size_t i = len; i < (size_t)n; i++)
    if (text[i] != '\n' && text[i] != '\r')
      return otpc__err(err, OTPC_EINVAL, 0,
                       "Bad characters in cookie (file %s)", path);
  if (n == (ssize_t)sizeof text)
    return otpc__err(err, OTPC_EINVAL, 0, "Cookie file %s is too long", path);
  if (len == 0)
    return otpc__err(err, OTPC_EINVAL, 0, "Too short cookie string (file %s)",
                     path);
  if (len >= cap)
    return otpc__err(err, OTPC_ERANGE, 0, "cookie of %zu bytes, buffer of %zu",
                     len, cap);
  memcpy(buf, text, len);
  buf[len] = 0;
  return 0;
}
