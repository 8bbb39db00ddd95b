#include "node_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(char *why, size_t cap, const char *what, const char *arg) {
  snprintf(why, cap, "%s%s%s", what, arg ? ": " : "", arg ? arg : "");
  return -1;
}

static int number(const char *s, long lo, long hi, long *out) {
  char *end;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != 0 || v < lo || v > hi)
    return -1;
  *out = v;
  return 0;
}

int otpc__node_parse_args(int argc, char *const *argv, otpc__node_cli_t *out,
                          char *why, size_t why_cap) {
  const char *sname = NULL, *lname = NULL;
  memset(out, 0, sizeof *out);
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (strcmp(a, "--hidden") == 0) {
      out->hidden = true;
      continue;
    }
    if (strcmp(a, "--sname") != 0 && strcmp(a, "--name") != 0 &&
        strcmp(a, "--cookie") != 0 && strcmp(a, "--ticktime") != 0 &&
        strcmp(a, "--epmd-port") != 0 && strcmp(a, "--state-dir") != 0 &&
        strcmp(a, "--max-message-size") != 0)
      return fail(why, why_cap, "unknown option", a);
    if (i + 1 >= argc)
      return fail(why, why_cap, "missing value for", a);
    const char *v = argv[++i];
    long num;
    if (strcmp(a, "--sname") == 0)
      sname = v;
    else if (strcmp(a, "--name") == 0)
      lname = v;
    else if (strcmp(a, "--cookie") == 0)
      out->cookie = v;
    else if (strcmp(a, "--state-dir") == 0) {
      if (*v == 0)
        return fail(why, why_cap, "empty --state-dir", NULL);
      out->state_dir = v;
    } else if (strcmp(a, "--max-message-size") == 0) {
      if (number(v, 1, 1L << 40, &num) != 0)
        return fail(why, why_cap, "bad --max-message-size (1..2^40 bytes)", v);
      out->max_message_size = (size_t)num;
    } else if (strcmp(a, "--ticktime") == 0) {
      if (number(v, 1, 3600, &num) != 0)
        return fail(why, why_cap, "bad --ticktime (1..3600)", v);
      out->ticktime = (unsigned)num;
    } else {
      if (number(v, 1, 65535, &num) != 0)
        return fail(why, why_cap, "bad --epmd-port (1..65535)", v);
      out->epmd_port = (uint16_t)num;
    }
  }
  if ((sname == NULL) == (lname == NULL))
    return fail(why, why_cap, "exactly one of --sname and --name is needed",
                NULL);
  if (out->cookie != NULL && strlen(out->cookie) > 255)
    return fail(why, why_cap, "cookie too long", NULL);
  if (lname != NULL) {
    const char *at = strchr(lname, '@');
    if (at == NULL || at == lname || at[1] == 0)
      return fail(why, why_cap, "--name needs NAME@HOST", lname);
    if (strlen(lname) >= sizeof out->name)
      return fail(why, why_cap, "name too long", NULL);
    snprintf(out->name, sizeof out->name, "%s", lname);
  } else {
    if (*sname == 0 || strlen(sname) > 255)
      return fail(why, why_cap, "bad --sname", sname);
    if (strchr(sname, '@') != NULL) {
      snprintf(out->name, sizeof out->name, "%s", sname);
    } else {
      char host[256] = "";
      if (gethostname(host, sizeof host - 1) != 0 || host[0] == 0)
        return fail(why, why_cap, "no host name", NULL);
      host[strcspn(host, ".")] = 0; /* as erl -sname */
      snprintf(out->name, sizeof out->name, "%s@%s", sname, host);
    }
  }
  otpc_err_t err;
  if (otpc__node_name_check(out->name, strlen(out->name), &err) != 0)
    return fail(why, why_cap, err.msg, NULL);
  return 0;
}
