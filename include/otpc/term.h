/* Erlang terms for C: read, build, match, print and compare terms in the
 * external term format (the bytes of term_to_binary and of the distribution).
 *
 * A term is never unpacked into a tree of C objects. otpc_term_t is a view:
 * a pointer to the bytes of exactly one encoded term, already validated, so
 * every accessor below is bounds-safe without re-checking. Views into a
 * message stay valid as long as the message lives.
 *
 * Walks over whole terms (validation, skipping, printing, comparing) are
 * iterative, so a deeply nested term from a peer cannot overflow the stack. */
#ifndef OTPC_TERM_H
#define OTPC_TERM_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "otpc/atom.h"
#include "otpc/buf.h"
#include "otpc/error.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ types */

/* One validated encoded term, without the 131 version byte. */
typedef struct otpc_term {
  const uint8_t *p;
  size_t len;
} otpc_term_t;

/* Term kinds, numbered in Erlang's term order:
 * number < atom < reference < fun < port < pid < tuple < map < nil < list
 * < bitstring. Integers and floats are both numbers but kept apart here. */
typedef enum otpc_type {
  OTPC_T_INTEGER = 1,
  OTPC_T_FLOAT,
  OTPC_T_ATOM,
  OTPC_T_REF,
  OTPC_T_FUN,
  OTPC_T_PORT,
  OTPC_T_PID,
  OTPC_T_TUPLE,
  OTPC_T_MAP,
  OTPC_T_NIL,
  OTPC_T_LIST,     /* a non-empty list, proper or improper */
  OTPC_T_BITSTRING /* binaries included */
} otpc_type_t;

/* NEW_PID_EXT: node, 32-bit id and serial, 32-bit creation. */
typedef struct otpc_pid {
  otpc_atom_t node;
  uint32_t id;
  uint32_t serial;
  uint32_t creation;
} otpc_pid_t;

/* NEWER_REFERENCE_EXT: up to 5 id words (OTP 25 sends 3, 26+ may send 5). */
#define OTPC_REF_MAX_WORDS 5
typedef struct otpc_ref {
  otpc_atom_t node;
  uint32_t creation;
  uint32_t len; /* id words used, 1..OTPC_REF_MAX_WORDS */
  uint32_t id[OTPC_REF_MAX_WORDS];
} otpc_ref_t;

/* NEW_PORT_EXT / V4_PORT_EXT: a 64-bit id. */
typedef struct otpc_port {
  otpc_atom_t node;
  uint32_t creation;
  uint64_t id;
} otpc_port_t;

/* An integer of any size as a view: `neg` and the magnitude as `n` bytes,
 * least significant first, without leading (high) zero bytes; zero has n=0.
 * For small encodings the bytes live in `small` inside the struct, so the
 * struct must outlive uses of `mag`. */
typedef struct otpc_int {
  int neg;
  size_t n;
  const uint8_t *mag;
  uint8_t small[8];
} otpc_int_t;

/* An iterator over a tuple, a list (proper or improper) or a map. */
typedef struct otpc_iter {
  const uint8_t *p;   /* next element's bytes */
  const uint8_t *end; /* end of the container's term */
  size_t left;        /* elements (or map pairs) still to come */
  int kind;           /* internal: tuple, list, string or map */
} otpc_iter_t;

/* ---------------------------------------------------------- decoding */

/* Limits of the validator; a term over one of them is OTPC_ELIMIT. */
#define OTPC_TERM_MAX_DEPTH 100000u /* containers nested in each other */

/* Validates one term in external format: `ext` starts with the 131 version
 * byte and holds exactly one term. A compressed term (tag 80) gives
 * OTPC_ENOTSUP here because a view cannot own the inflated bytes: use
 * otpc_msg_decode for it. On error fills err (may be NULL). */
int otpc_term_from_ext(const void *ext, size_t len, otpc_term_t *out,
                       otpc_err_t *err);
/* Validates the term at the start of `data` (no version byte, as after a
 * distribution header) and reports in *used how many bytes it spans; bytes
 * after it are left alone. */
int otpc_term_parse(const void *data, size_t len, otpc_term_t *out,
                    size_t *used, otpc_err_t *err);

/* ----------------------------------------------------------- accessors */

otpc_type_t otpc_term_type(otpc_term_t t);
/* A short name of the type: "integer", "atom", "list", ... */
const char *otpc_type_name(otpc_type_t type);

/* Integers. OTPC_ETYPE if not an integer, OTPC_ERANGE if it does not fit. */
int otpc_term_int64(otpc_term_t t, int64_t *out);
int otpc_term_uint64(otpc_term_t t, uint64_t *out);
int otpc_term_integer(otpc_term_t t, otpc_int_t *out);
/* Floats only (an integer is OTPC_ETYPE). */
int otpc_term_double(otpc_term_t t, double *out);
/* Atoms: interned, or compared by text without interning. */
int otpc_term_atom(otpc_term_t t, otpc_atom_t *out);
int otpc_term_is_atom(otpc_term_t t, const char *utf8);
/* The atom's text copied as UTF-8 into buf with a NUL (latin-1 atoms are
 * converted); OTPC_ERANGE if cap is too small. */
int otpc_term_atom_text(otpc_term_t t, char *buf, size_t cap, size_t *len);
/* Binaries (whole bytes) and bitstrings (nbits need not be a multiple of 8;
 * the unused low bits of the last byte are zero). */
int otpc_term_binary(otpc_term_t t, const uint8_t **p, size_t *len);
int otpc_term_bitstring(otpc_term_t t, const uint8_t **p, size_t *nbits);
int otpc_term_pid(otpc_term_t t, otpc_pid_t *out);
int otpc_term_ref(otpc_term_t t, otpc_ref_t *out);
int otpc_term_port(otpc_term_t t, otpc_port_t *out);

/* Containers. tuple: *n = arity. list: *n = number of elements before the
 * tail (nil gives 0 and is accepted as an empty list). map: *n = pairs. */
int otpc_term_tuple(otpc_term_t t, otpc_iter_t *it, size_t *n);
int otpc_term_list(otpc_term_t t, otpc_iter_t *it, size_t *n);
int otpc_term_map(otpc_term_t t, otpc_iter_t *it, size_t *n);
/* Next element (tuple, list) or pair (map: use otpc_iter_next_pair).
 * Returns 1 with the element, 0 at the end. Elements of a STRING_EXT list
 * are small integers viewed in static storage. */
int otpc_iter_next(otpc_iter_t *it, otpc_term_t *elem);
int otpc_iter_next_pair(otpc_iter_t *it, otpc_term_t *key, otpc_term_t *value);
/* After the last element of a list: its tail (nil for a proper list). */
int otpc_iter_tail(const otpc_iter_t *it, otpc_term_t *tail);
/* Element i (0-based) of a tuple, in O(i). */
int otpc_term_element(otpc_term_t t, size_t i, otpc_term_t *elem);
/* The value for a key in a map (compared with =:=); OTPC_ENOTFOUND. */
int otpc_term_map_get(otpc_term_t map, otpc_term_t key, otpc_term_t *value);

/* ------------------------------------------------------------ building */

/* Formats and patterns nest containers at most this deep; deeper is
 * OTPC_ELIMIT (with err->offset at the container that is one too many).
 * They are written by programmers, and the bound keeps the recursion of
 * the builder and the matcher small on any thread's stack. */
#define OTPC_TERM_FORMAT_MAX_DEPTH 100u

/* Appends one encoded term (no version byte) built from a format.
 *
 * The format is Erlang term syntax with directives taking C arguments:
 *   literals   atoms (ok, 'Quoted atom'), integers of any size (-12, +12,
 *              123456789012345678901234567890, 16#ff, 1_000, $c), floats
 *              (1.5, -0.0, 1.0e10), "strings" (lists of characters),
 *              <<"text">>, <<1,2,3>>, <<16#ff, $a, "é">> (segments are
 *              strings, whose characters give their UTF-8 bytes and whose
 *              escapes by number \xHH \ooo of 0..255 give one byte, or
 *              integer literals of 0..255), {tuples}, [lists],
 *              [improper | tails], #{k => v}
 *   ~a  const char *        atom, UTF-8, NUL-terminated
 *   ~A  otpc_atom_t         atom
 *   ~i  int                 integer
 *   ~l  long                integer
 *   ~I  int64_t             integer
 *   ~U  uint64_t            integer
 *   ~N  const char *        integer of any size, in decimal ("-1234...")
 *   ~f  double              float (NaN and infinities are OTPC_EINVAL)
 *   ~s  const char *        string: UTF-8 decoded to a list of code points
 *   ~b  const void *, size_t            binary of that many bytes
 *   ~B  const void *, size_t            bitstring of that many bits
 *   ~p  const otpc_pid_t *  pid
 *   ~r  const otpc_ref_t *  reference
 *   ~P  const otpc_port_t * port
 *   ~t  const otpc_term_t * an already-encoded term, copied in as is
 * The result is canonical, byte for byte what term_to_binary(T,
 * [{minor_version, 2}]) gives: UTF-8 atoms, the smallest integer encoding,
 * lists of small integers as STRING_EXT, the keys of maps of up to 32 pairs
 * in map-key order. A syntax error is OTPC_EBADFMT with err->offset at the
 * offending character of the format. Patterns (otpc_term_match) read
 * literals exactly as formats do. */
int otpc_term_build(otpc_buf_t *out, otpc_err_t *err, const char *fmt, ...);
int otpc_term_vbuild(otpc_buf_t *out, otpc_err_t *err, const char *fmt,
                     va_list ap);
/* Appends the 131 version byte: with it, a buffer holds term_to_binary's
 * output. */
int otpc_term_put_version(otpc_buf_t *out);
/* Re-encodes any term canonically (as otpc_term_build would write it). */
int otpc_term_encode(otpc_buf_t *out, otpc_term_t t);

/* ------------------------------------------------------------ matching */

/* Matches a term against a pattern in the same syntax as the builder's
 * format, where literals must be equal (=:=), `_` matches anything,
 * `[H | T]` matches a tail, `#{k := V}` (or =>) requires the key k and
 * leaves other keys free, and directives capture:
 *   ~a  otpc_atom_t *     ~i  int *        ~l  long *
 *   ~I  int64_t *         ~U  uint64_t *   ~f  double *
 *   ~b  const uint8_t **, size_t *        (binary, no copy)
 *   ~s  char *buf, size_t cap             (string or binary, as UTF-8)
 *   ~p  otpc_pid_t *      ~r  otpc_ref_t * ~P  otpc_port_t *
 *   ~t  otpc_term_t *     (any sub-term, a view, no copy)
 * Returns 0 on a match; OTPC_ENOMATCH with err->msg saying where and what
 * was expected and got, e.g. "element 2 of {_, HERE}: expected an integer,
 * got foo", and err->offset at the sub-pattern that failed (an integer out
 * of the C type's range and a ~s that does not fit are mismatches too);
 * OTPC_EBADFMT for a bad pattern (OTPC_ELIMIT for one nested deeper than
 * OTPC_TERM_FORMAT_MAX_DEPTH), whatever the term. Captures before a
 * mismatch may have been written. `_Name` is a wildcard as well, and a NULL
 * capture pointer checks the type only. `[H | ~t]` is a syntax error: the
 * rest of a list after some elements has no encoding of its own to view
 * (use _, ~s or a list pattern there, or capture the whole list). */
int otpc_term_match(otpc_term_t t, otpc_err_t *err, const char *pattern, ...);
int otpc_term_vmatch(otpc_term_t t, otpc_err_t *err, const char *pattern,
                     va_list ap);

/* ------------------------------------------------------------ printing */

/* Appends the term as io_lib:format("~tp") prints it on one line (no line
 * breaks) with OTP 25's default printable range (latin-1): printable lists
 * as "strings", printable binaries as <<"text">>, atoms quoted when needed,
 * floats in their shortest round-trip form. Pids, refs, ports and funs,
 * whose BEAM form depends on the local node table, print as
 * <node.id.serial>, #Ref<node.a.b.c>, #Port<node.id>, #Fun<...>. Maps of up
 * to 32 pairs print with sorted keys, larger ones in the reverse of their
 * encoded order, which for bytes from the BEAM is the BEAM's own (hash)
 * order. */
int otpc_term_print(otpc_buf_t *out, otpc_term_t t);
/* snprintf-style: writes at most n bytes with a NUL; returns the full length
 * the text needs (excluding the NUL), or a negative code. */
int otpc_term_snprint(char *s, size_t n, otpc_term_t t);

/* ----------------------------------------------------------- comparing */

/* Erlang's term order, as `<`, `==`, `>`: -1, 0 or 1. 1 and 1.0 are equal. */
int otpc_term_compare(otpc_term_t a, otpc_term_t b);
/* Exact (=:=) equality: 1 if equal, else 0. */
int otpc_term_equal(otpc_term_t a, otpc_term_t b);
/* The total order of map keys (erts_internal:cmp_term): as
 * otpc_term_compare, but every integer sorts before every float (OTP 25
 * writes #{2 => a, 1.0 => b} with 2 first). 0.0 and -0.0 are equal. */
int otpc_term_compare_exact(otpc_term_t a, otpc_term_t b);

#ifdef __cplusplus
}
#endif

#endif
