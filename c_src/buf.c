/* Growable byte buffers. */
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void otpc_buf_init(otpc_buf_t *b) {
  b->data = NULL;
  b->len = 0;
  b->cap = 0;
}

void otpc_buf_free(otpc_buf_t *b) {
  free(b->data);
  otpc_buf_init(b);
}

int otpc_buf_reserve(otpc_buf_t *b, size_t more) {
  /* One spare byte so otpc_buf_puts can always keep a NUL after the text. */
  if (more > SIZE_MAX / 2 - b->len - 1)
    return OTPC_ELIMIT;
  size_t need = b->len + more + 1;
  if (need <= b->cap)
    return 0;
  size_t cap = b->cap < 64 ? 64 : b->cap;
  while (cap < need)
    cap *= 2;
  uint8_t *p = realloc(b->data, cap);
  if (p == NULL)
    return OTPC_ENOMEM;
  b->data = p;
  b->cap = cap;
  return 0;
}

int otpc_buf_append(otpc_buf_t *b, const void *p, size_t n) {
  int rc = otpc_buf_reserve(b, n);
  if (rc < 0)
    return rc;
  if (n > 0)
    memcpy(b->data + b->len, p, n);
  b->len += n;
  b->data[b->len] = 0;
  return 0;
}

int otpc_buf_puts(otpc_buf_t *b, const char *s) {
  return otpc_buf_append(b, s, strlen(s));
}

uint8_t *otpc_buf_release(otpc_buf_t *b, size_t *len) {
  uint8_t *p = b->data;
  if (len != NULL)
    *len = b->len;
  otpc_buf_init(b);
  return p;
}
