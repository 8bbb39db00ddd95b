/* A blocking request/reply loop for simple port programs: the tools that
 * the demo and the tests drive (otpc-term, otpc-scenario). The port toolkit
 * proper (port/) runs on libuv; this is the small synchronous case. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "otpc/frame.h"

static int write_all(int fd, const uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

/* One reply frame: the {packet, 4} header, the 131 version byte, the term. */
static int send_reply(int fd, const otpc_buf_t *body) {
  uint8_t hdr[5];
  if (otpc_frame_header(hdr, 4, body->len + 1) != 4)
    return OTPC_ERANGE;
  hdr[4] = OTPC_TAG_VERSION;
  if (write_all(fd, hdr, sizeof hdr) < 0 ||
      write_all(fd, body->data, body->len) < 0)
    return OTPC_EINVAL;
  return 0;
}

int otpc__port_serve(const char *prog, size_t max_frame,
                     otpc__port_handler_fn handle, void *ud) {
  otpc_framer_t f;
  int rc = otpc_framer_init(&f, 4, max_frame);
  if (rc < 0)
    return rc;
  uint8_t chunk[65536];
  for (;;) {
    ssize_t n = read(STDIN_FILENO, chunk, sizeof chunk);
    if (n == 0)
      break; /* the port closed: a normal end */
    if (n < 0) {
      if (errno == EINTR)
        continue;
      fprintf(stderr, "%s: read from stdin: %s\n", prog, strerror(errno));
      rc = OTPC_EINVAL;
      break;
    }
    if ((rc = otpc_framer_feed(&f, chunk, (size_t)n)) < 0) {
      fprintf(stderr, "%s: buffering input: %s\n", prog, otpc_strerror(rc));
      break;
    }
    const uint8_t *frame;
    size_t len;
    otpc_err_t err;
    while ((rc = otpc_framer_next(&f, &frame, &len, &err)) == 1) {
      otpc_buf_t out;
      otpc_buf_init(&out);
      rc = handle(frame, len, &out, ud);
      if (rc == 0)
        rc = send_reply(STDOUT_FILENO, &out);
      otpc_buf_free(&out);
      if (rc < 0) {
        fprintf(stderr, "%s: cannot reply: %s\n", prog, otpc_strerror(rc));
        break;
      }
    }
    if (rc < 0) {
      if (rc == OTPC_ELIMIT)
        fprintf(stderr, "%s: %s\n", prog, err.msg);
      break;
    }
    rc = 0;
  }
  otpc_framer_free(&f);
  return rc;
}
