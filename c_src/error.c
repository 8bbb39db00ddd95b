/* Error codes and details. */
#include <stdio.h>

#include "internal.h"

const char *otpc_strerror(int code) {
  switch (code) {
  case OTPC_OK: return "success";
  case OTPC_EINVAL: return "invalid argument";
  case OTPC_ENOMEM: return "out of memory";
  case OTPC_EBADTERM: return "malformed external term";
  case OTPC_ETYPE: return "term of another type";
  case OTPC_ERANGE: return "value out of range";
  case OTPC_ENOMATCH: return "term does not match the pattern";
  case OTPC_EBADFMT: return "syntax error in format or pattern";
  case OTPC_ELIMIT: return "limit reached";
  case OTPC_ENOTSUP: return "not supported";
  case OTPC_ENOTFOUND: return "not found";
  default: return "unknown error";
  }
}

int otpc__err(otpc_err_t *err, int code, size_t offset, const char *fmt, ...) {
  if (err != NULL) {
    va_list ap;
    err->code = code;
    err->offset = offset;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return code;
}
