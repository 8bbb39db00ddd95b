/* otpc-node's --log-to NODE option (see rpc.h). The node's own options
 * belong to cnode/dist/node_cli.c; this takes --log-to out of argv first
 * and hands the rest on, so the two parsers never see each other's
 * options. Input comes from a user's command line or environment: every
 * refusal says what was wrong. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "../dist/handshake.h"
#include "rpc.h"

static int refuse(char *why, size_t cap, const char *what, const char *arg) {
  snprintf(why, cap, "%s%s%s", what, arg ? ": " : "", arg ? arg : "");
  return OTPC_EINVAL;
}

/* A node to log to must be a full NAME@HOST: an sname cannot be completed
 * here without guessing the host, and the atom is what we send to. */
static int check_node(const char *v, const char *src, char *why, size_t cap) {
  const char *at = strchr(v, '@');
  otpc_err_t err;
  char what[64];
  snprintf(what, sizeof what, "bad %s (NAME@HOST expected)", src);
  if (at == NULL || at == v || at[1] == 0)
    return refuse(why, cap, what, v);
  if (otpc__node_name_check(v, strlen(v), &err) != 0)
    return refuse(why, cap, what, err.msg);
  return 0;
}

int otpc__rpc_log_to_arg(int argc, char **argv, char **rest, int *nrest,
                         const char *env, const char **log_to, char *why,
                         size_t why_cap) {
  int n = 0;
  *log_to = NULL;
  for (int i = 0; i < argc; i++) {
    if (i == 0 || strcmp(argv[i], "--log-to") != 0) {
      /* Every node option but --hidden takes one value: a value is passed
       * on with its option, so `--cookie --log-to` is a cookie. */
      bool valued = i > 0 && strncmp(argv[i], "--", 2) == 0 &&
                    strcmp(argv[i], "--hidden") != 0 && i + 1 < argc;
      rest[n++] = argv[i];
      if (valued)
        rest[n++] = argv[++i];
      continue;
    }
    if (*log_to != NULL)
      return refuse(why, why_cap, "--log-to given twice", NULL);
    if (i + 1 >= argc)
      return refuse(why, why_cap, "missing value for", "--log-to");
    *log_to = argv[++i];
    if (check_node(*log_to, "--log-to", why, why_cap) != 0)
      return OTPC_EINVAL;
  }
  rest[n] = NULL;
  *nrest = n;
  /* The environment is the older form, kept as a fallback: the flag wins. */
  if (*log_to == NULL && env != NULL && *env != 0) {
    if (check_node(env, "OTPC_NODE_LOG_TO", why, why_cap) != 0)
      return OTPC_EINVAL;
    *log_to = env;
  }
  return 0;
}
