/* The Erlang cookie file, as erl reads and creates it. This is the one
 * piece of cnode/dist/ that does IO (a small file, at start-up). */
#ifndef OTPC_CNODE_DIST_COOKIE_H
#define OTPC_CNODE_DIST_COOKIE_H

#include <stddef.h>

#include "otpc/error.h"

/* The cookie as erl finds it: read from path (normally ~/.erlang.cookie),
 * which must be readable by its owner only; its first line is the cookie
 * (characters 32..126, followed by nothing but CR and LF). If the file does
 * not exist it is created as erl does: 20 random uppercase letters, no
 * newline, mode 0400, letters from /dev/urandom. The cookie goes to buf with a
 * NUL; errors name the file and the reason, in erl's words ("Bad characters in
 * cookie", "Too short cookie string", "must be accessible by owner only"). */
int otpc__cookie_read_or_create(const char *path, char *buf, size_t cap,
                                otpc_err_t *err);
/* The path of ~/.erlang.cookie ($HOME), into buf. */
int otpc__cookie_default_path(char *buf, size_t cap);

#endif
