/* Immutable, reference-counted messages.
 *
 * A message holds exactly one term in the external term format, with the 131
 * version byte in front, so it can go to a port or a socket as is, and its
 * term can be read without the version byte (as in a distribution payload)
 * without a copy. A local send shares the message: the sender's reference
 * moves or is duplicated with otpc_msg_ref, never the bytes. */
#ifndef OTPC_MSG_H
#define OTPC_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "otpc/buf.h"
#include "otpc/error.h"
#include "otpc/term.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct otpc_msg otpc_msg_t;

/* Validates `len` bytes of external format (131 first; a compressed term is
 * inflated) and copies them into a new message with a reference count of 1.
 * On bad input returns OTPC_EBADTERM and fills err when not NULL. */
int otpc_msg_decode(const void *ext, size_t len, otpc_msg_t **out,
                    otpc_err_t *err);
/* Copies one term (a view) into a new message. */
int otpc_msg_from_term(otpc_term_t t, otpc_msg_t **out);
/* Builds a message from a format, as otpc_term_build does. */
int otpc_msg_build(otpc_msg_t **out, otpc_err_t *err, const char *fmt, ...);
/* Takes one more reference; returns m. Thread-safe. */
otpc_msg_t *otpc_msg_ref(otpc_msg_t *m);
/* Drops a reference; the last one frees the message. NULL is ignored. */
void otpc_msg_unref(otpc_msg_t *m);
/* The term, without the version byte. Valid while a reference is held. */
otpc_term_t otpc_msg_term(const otpc_msg_t *m);
/* The whole external form, version byte first. */
const uint8_t *otpc_msg_ext(const otpc_msg_t *m, size_t *len);
/* The bytes of memory the message occupies (header included). */
size_t otpc_msg_size(const otpc_msg_t *m);

#ifdef __cplusplus
}
#endif

#endif
