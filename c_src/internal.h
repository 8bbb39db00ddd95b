/* Internal helpers shared by the core's modules (otpc__ names). Not part of
 * the public API: nothing outside this repository may include it. */
#ifndef OTPC_INTERNAL_H
#define OTPC_INTERNAL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "otpc/buf.h"
#include "otpc/error.h"
#include "otpc/term.h"

/* External term format tags (erts external.h); ei.h has the same values
 * under ERL_*_EXT names, these are for code that parses raw bytes. */
enum {
  OTPC_TAG_VERSION = 131,
  OTPC_TAG_COMPRESSED = 80,
  OTPC_TAG_NEW_FLOAT = 70,
  OTPC_TAG_BIT_BINARY = 77,
  OTPC_TAG_ATOM_CACHE_REF = 82,
  OTPC_TAG_NEW_PID = 88,
  OTPC_TAG_NEW_PORT = 89,
  OTPC_TAG_NEWER_REFERENCE = 90,
  OTPC_TAG_SMALL_INTEGER = 97,
  OTPC_TAG_INTEGER = 98,
  OTPC_TAG_FLOAT = 99,
  OTPC_TAG_ATOM = 100,
  OTPC_TAG_REFERENCE = 101,
  OTPC_TAG_PORT = 102,
  OTPC_TAG_PID = 103,
  OTPC_TAG_SMALL_TUPLE = 104,
  OTPC_TAG_LARGE_TUPLE = 105,
  OTPC_TAG_NIL = 106,
  OTPC_TAG_STRING = 107,
  OTPC_TAG_LIST = 108,
  OTPC_TAG_BINARY = 109,
  OTPC_TAG_SMALL_BIG = 110,
  OTPC_TAG_LARGE_BIG = 111,
  OTPC_TAG_NEW_FUN = 112,
  OTPC_TAG_EXPORT = 113,
  OTPC_TAG_NEW_REFERENCE = 114,
  OTPC_TAG_SMALL_ATOM = 115,
  OTPC_TAG_MAP = 116,
  OTPC_TAG_FUN = 117,
  OTPC_TAG_ATOM_UTF8 = 118,
  OTPC_TAG_SMALL_ATOM_UTF8 = 119,
  OTPC_TAG_V4_PORT = 120
};

/* Fills err (when not NULL) with code, offset and a printf-style sentence,
 * and returns code, so a caller can write `return otpc__err(...)`. */
int otpc__err(otpc_err_t *err, int code, size_t offset, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;

/* Big-endian reads of unaligned bytes. */
static inline uint16_t otpc__get16(const uint8_t *p) {
  return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}
static inline uint32_t otpc__get32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
         (uint32_t)p[3];
}
static inline uint64_t otpc__get64(const uint8_t *p) {
  return (uint64_t)otpc__get32(p) << 32 | otpc__get32(p + 4);
}
static inline void otpc__put16(uint8_t *p, uint16_t v) {
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}
static inline void otpc__put32(uint8_t *p, uint32_t v) {
  p[0] = (uint8_t)(v >> 24);
  p[1] = (uint8_t)(v >> 16);
  p[2] = (uint8_t)(v >> 8);
  p[3] = (uint8_t)v;
}

/* UTF-8 (utf8.c). Decodes one code point at s[0..n): returns the bytes it
 * spans (1..4) and sets *cp, or 0 for an invalid or truncated sequence
 * (overlong forms, surrogates and values over 0x10FFFF are invalid). */
size_t otpc__utf8_decode(const uint8_t *s, size_t n, uint32_t *cp);
/* Writes cp as UTF-8 into out (room for 4 bytes); returns the length. */
size_t otpc__utf8_encode(uint32_t cp, uint8_t *out);
/* Counts the code points of valid UTF-8 text; -1 if invalid. */
long otpc__utf8_count(const uint8_t *s, size_t n);

/* Integers of any size (bigint.c); magnitudes are little-endian bytes
 * without high zero bytes, as in otpc_int_t. */
/* Parses an optional sign and decimal digits (the whole of s[0..n)). */
int otpc__big_from_dec(const char *s, size_t n, int *neg, otpc_buf_t *mag);
/* Parses digits in a base from 2 to 36 (no sign). */
int otpc__big_from_base(const char *s, size_t n, unsigned base,
                        otpc_buf_t *mag);
/* Appends the decimal text of a signed magnitude (no NUL counted). */
int otpc__big_to_dec(int neg, const uint8_t *mag, size_t n, otpc_buf_t *out);

/* Views of the small integers 0..255 and of nil in static storage, for the
 * elements and the tail of a STRING_EXT list (term_decode.c). */
otpc_term_t otpc__small_int_view(uint8_t value);
otpc_term_t otpc__nil_view(void);
/* The type of the terms a tag starts (STRING_EXT is a list, even empty);
 * 0 for a tag no validated term has. */
otpc_type_t otpc__tag_type(uint8_t tag);
/* The end of the validated term that starts at p (iterative). */
const uint8_t *otpc__term_skip(const uint8_t *p);
/* The name of an external format tag ("SMALL_TUPLE_EXT"), for messages. */
const char *otpc__tag_name(unsigned tag);
/* Parses FLOAT_EXT's 31 bytes of text (locale-independent); -1 if they are
 * not a finite number in the form OTP writes. */
int otpc__float_text(const uint8_t *s, double *out);
/* The text of the validated atom term at p (any of the four atom tags):
 * returns 1 if it is latin-1, 0 if UTF-8, OTPC_ETYPE if p is no atom. */
int otpc__atom_bytes(const uint8_t *p, const uint8_t **text, size_t *n);

/* Emitters of canonical bytes (term_emit.c), as term_to_binary(T,
 * [{minor_version, 2}]) writes them, for the builder and the re-encoder.
 * Each appends to out and returns 0 or a negative code. */
/* A list of small integers shorter than this is a STRING_EXT. */
#define OTPC__STRING_MAX 65536u
int otpc__emit8(otpc_buf_t *out, uint8_t v);
int otpc__emit32(otpc_buf_t *out, uint32_t v);
int otpc__emit64(otpc_buf_t *out, uint64_t v);
/* An atom from UTF-8 text already known to be valid and short enough. */
int otpc__emit_atom(otpc_buf_t *out, const uint8_t *s, size_t n);
/* An atom from latin-1 text (old ATOM_EXT), converted to UTF-8. */
int otpc__emit_atom_latin1(otpc_buf_t *out, const uint8_t *s, size_t n);
/* The smallest encoding of a sign and a magnitude (as in otpc_int_t, high
 * zero bytes allowed). */
int otpc__emit_big(otpc_buf_t *out, int neg, const uint8_t *mag, size_t n);
int otpc__emit_u64(otpc_buf_t *out, int neg, uint64_t v);
int otpc__emit_i64(otpc_buf_t *out, int64_t v);
int otpc__emit_double(otpc_buf_t *out, double d);
/* A port is the tag (NEW_PORT_EXT, or V4_PORT_EXT for ids over 28 bits),
 * the node atom, then id and creation. */
int otpc__emit_port_tag(otpc_buf_t *out, uint64_t id);
int otpc__emit_port_id(otpc_buf_t *out, uint64_t id, uint32_t creation);
/* A binary, or a BIT_BINARY when nbits is not a multiple of 8. */
int otpc__emit_bits(otpc_buf_t *out, const uint8_t *p, size_t nbits);
/* Closes a proper list whose n elements were written after a 5-byte
 * placeholder at `start`: nil, STRING_EXT or LIST_EXT + nil. */
int otpc__list_finish(otpc_buf_t *out, size_t start, size_t n, int all_small);
/* Closes a map whose n pairs were written after a 5-byte placeholder at
 * `start`; offs holds the 2n start offsets of keys and values. Maps of up
 * to 32 pairs get their keys sorted in map-key order. With dedup, a
 * repeated key keeps its first key term and the last value. */
int otpc__map_finish(otpc_buf_t *out, size_t start, const size_t *offs,
                     size_t n, int dedup);

/* The literal syntax of formats and patterns (term_lex.c), shared by
 * otpc_term_build and otpc_term_match so that both read the same text the
 * same way. A lexer works on NUL-terminated text; on an error it fills err
 * (when not NULL) with the offset and a sentence prefixed "offset N: " for
 * a format or "bad pattern at offset N: " for a pattern, and returns the
 * code (OTPC_EBADFMT, OTPC_ELIMIT for nesting). With err NULL it re-reads
 * text already lexed once, as the matcher does while matching. */
typedef struct otpc__lex {
  const char *s;   /* the format or pattern */
  size_t pos;      /* the next character */
  otpc_err_t *err; /* may be NULL */
  int pattern;     /* messages speak of a pattern, not of a format */
  unsigned depth;  /* containers open at pos */
} otpc__lex_t;

/* A number literal: $c, an integer in decimal or Base#digits, or a float,
 * with an optional sign and _ between digits. */
typedef struct otpc__num {
  int is_float;
  int neg;
  int big;         /* an integer of more than 64 bits: see otpc__lex_bigint */
  uint64_t mag;    /* the integer's magnitude when !big */
  double f;        /* the float, sign included */
  unsigned base;   /* of the integer's digits */
  size_t digits;   /* offset of the integer's digits (after any Base#) */
  size_t off, len; /* the whole literal */
} otpc__num_t;

/* Fails at `at` with a printf-style sentence. */
int otpc__lex_fail(otpc__lex_t *lx, int code, size_t at, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
/* Fails at lx->pos with "expected <what>, got <that character>". */
int otpc__lex_expected(otpc__lex_t *lx, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void otpc__lex_skip_ws(otpc__lex_t *lx);
/* After an element: 1 past a ',', 0 past `close`, else "expected <what>". */
int otpc__lex_sep(otpc__lex_t *lx, char close, const char *what);
/* Enters a container at lx->pos: OTPC_ELIMIT past
 * OTPC_TERM_FORMAT_MAX_DEPTH. The caller decrements lx->depth on leaving. */
int otpc__lex_enter(otpc__lex_t *lx);
/* Letters, digits, _ and @: the characters of an unquoted atom after its
 * first (a lowercase letter). */
int otpc__lex_is_name(char ch);
/* Whether a number literal may start with ch. */
static inline int otpc__lex_number_start(char ch) {
  return (ch >= '0' && ch <= '9') || ch == '-' || ch == '+' || ch == '$';
}
/* One character of quoted text or of $c with Erlang's escapes (\b \d \e
 * \f \n \r \s \t \v, \ooo, \xHH, \x{H...}, \^c, else the character
 * itself). *cp is a Unicode code point (never a surrogate); *numeric tells
 * an escape by number, which inside a binary stands for one byte. */
int otpc__lex_char(otpc__lex_t *lx, uint32_t *cp, int *numeric);
/* The next character of the quoted text whose opening quote is at `open`
 * (lx->pos starts after it): 1 with *cp, 0 after the closing quote. */
int otpc__lex_quoted(otpc__lex_t *lx, size_t open, uint32_t *cp, int *numeric);
/* An unquoted (name characters) or 'quoted' atom as UTF-8 in text, which
 * has room for OTPC_ATOM_MAX_BYTES; over 255 characters is an error. */
int otpc__lex_atom(otpc__lex_t *lx, char *text, size_t *len);
int otpc__lex_number(otpc__lex_t *lx, otpc__num_t *n);
/* The magnitude of an integer literal of any size (n from s). */
int otpc__lex_bigint(const char *s, const otpc__num_t *n, otpc_buf_t *mag);
/* The bytes of a binary literal <<...>>, one at a time: begin at "<<",
 * then next gives 1 with a byte, 0 after the ">>". */
typedef struct otpc__lex_bin {
  int state;
  size_t open; /* the opening quote of the current string */
  uint8_t pend[4];
  unsigned npend, ipend;
} otpc__lex_bin_t;
void otpc__lex_bin_begin(otpc__lex_t *lx, otpc__lex_bin_t *b);
int otpc__lex_bin_next(otpc__lex_t *lx, otpc__lex_bin_t *b, uint8_t *byte);

/* A blocking loop for simple port programs (port_serve.c): reads
 * {packet, 4} frames from stdin until it closes, calls handle for each with
 * an empty reply buffer to append one term to (no version byte), and writes
 * each reply as a frame. Returns 0 when stdin closes, or the first error
 * (an oversized frame, a failed handler or write), after printing it to
 * stderr prefixed with prog. */
typedef int (*otpc__port_handler_fn)(const uint8_t *frame, size_t len,
                                     otpc_buf_t *reply, void *ud);
int otpc__port_serve(const char *prog, size_t max_frame,
                     otpc__port_handler_fn handle, void *ud);

#endif
