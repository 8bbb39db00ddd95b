/* Interned atoms.
 *
 * An otpc_atom_t is a small integer naming one entry of a process-wide atom
 * table, so pids, refs and ports stay small and compare by number. As on the
 * BEAM, atoms are never freed and the table has a limit (OTPC_ATOM_MAX). */
#ifndef OTPC_ATOM_H
#define OTPC_ATOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef uint32_t otpc_atom_t;

/* 0 is never a valid atom: handy as "none". */
#define OTPC_ATOM_NONE ((otpc_atom_t)0)
/* The most atoms one OS process can hold (the BEAM's default limit). */
#define OTPC_ATOM_MAX 1048576u
/* The longest atom text in bytes (255 characters of up to 4 UTF-8 bytes). */
#define OTPC_ATOM_MAX_BYTES 1020u

/* Interns `len` bytes of UTF-8 text. Fails with OTPC_EINVAL for invalid
 * UTF-8 or more than 255 characters, OTPC_ELIMIT when the table is full.
 * Thread-safe. */
int otpc_atom_intern(const char *utf8, size_t len, otpc_atom_t *out);
/* The same for a NUL-terminated string. */
int otpc_atom(const char *utf8, otpc_atom_t *out);
/* Looks an atom up without creating it: OTPC_ENOTFOUND if absent. */
int otpc_atom_lookup(const char *utf8, size_t len, otpc_atom_t *out);
/* The NUL-terminated UTF-8 text of an atom, or NULL for an invalid one.
 * The text lives as long as the OS process. Thread-safe. */
const char *otpc_atom_text(otpc_atom_t a, size_t *len);
/* How many atoms exist now. */
size_t otpc_atom_count(void);

#ifdef __cplusplus
}
#endif

#endif
