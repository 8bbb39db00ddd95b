/* otpc error codes and error details.
 *
 * Every otpc function that can fail returns an int: 0 on success or one of the
 * negative OTPC_E* codes below. Functions that parse user or peer input also
 * fill an optional otpc_err_t with a readable sentence naming what failed,
 * where, and what was expected. */
#ifndef OTPC_ERROR_H
#define OTPC_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum {
  OTPC_OK = 0,
  OTPC_EINVAL = -1,    /* an argument is invalid (NULL, out of range) */
  OTPC_ENOMEM = -2,    /* memory allocation failed */
  OTPC_EBADTERM = -3,  /* malformed external term format */
  OTPC_ETYPE = -4,     /* the term has another type than the one asked for */
  OTPC_ERANGE = -5,    /* the value does not fit the C type asked for */
  OTPC_ENOMATCH = -6,  /* a term does not match a pattern */
  OTPC_EBADFMT = -7,   /* a format or pattern string has a syntax error */
  OTPC_ELIMIT = -8,    /* a configured or built-in limit was reached */
  OTPC_ENOTSUP = -9,   /* the input is valid but not supported by otpc */
  OTPC_ENOTFOUND = -10 /* a looked-up item does not exist */
};

/* The size of otpc_err_t's message, including the terminating NUL. */
#define OTPC_ERR_MSG_SIZE 200

/* The detail of a failure: the code, the byte offset into the input that was
 * being read (a term, a format string, a frame), and a sentence. */
typedef struct otpc_err {
  int code;
  size_t offset;
  char msg[OTPC_ERR_MSG_SIZE];
} otpc_err_t;

/* A short, static description of an OTPC_E* code; never NULL. */
const char *otpc_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
