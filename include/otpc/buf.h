/* A growable byte buffer, the output of the term builder and the printer. */
#ifndef OTPC_BUF_H
#define OTPC_BUF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Caller-owned; zero-initialise (or otpc_buf_init) before use. After a
 * failed append the buffer keeps its previous contents. */
typedef struct otpc_buf {
  uint8_t *data;
  size_t len;
  size_t cap;
} otpc_buf_t;

void otpc_buf_init(otpc_buf_t *b);
void otpc_buf_free(otpc_buf_t *b);
/* Makes room for `more` bytes after len; OTPC_ENOMEM or OTPC_ELIMIT on
 * failure. */
int otpc_buf_reserve(otpc_buf_t *b, size_t more);
int otpc_buf_append(otpc_buf_t *b, const void *p, size_t n);
/* Appends text and keeps a NUL after it (not counted in len). */
int otpc_buf_puts(otpc_buf_t *b, const char *s);
/* Detaches the data (caller frees it with free()) and empties the buffer. */
uint8_t *otpc_buf_release(otpc_buf_t *b, size_t *len);

#ifdef __cplusplus
}
#endif

#endif
