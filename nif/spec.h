/* The spec language of the NIF toolkit, parsed without the VM (so the parser
 * is fuzzed on its own). A spec string is a comma-separated list of types,
 * one per argument (or one for a result); see include/otpc/nif.h. */
#ifndef OTPC_NIF_SPEC_H
#define OTPC_NIF_SPEC_H

#include <stddef.h>
#include <stdint.h>

#include "otpc/error.h"

/* Bounds of one spec string: a spec is written by a programmer, so small
 * fixed bounds keep every walk over it bounded (decoding by spec recurses
 * at most OTPC_NIF__SPEC_DEPTH deep). */
#define OTPC_NIF__SPEC_NODES 64
#define OTPC_NIF__SPEC_NAMES 64
#define OTPC_NIF__SPEC_ROOTS 32
#define OTPC_NIF__SPEC_DEPTH 8

typedef enum otpc_nif__type {
  OTPC_NIF__T_INT,
  OTPC_NIF__T_UINT,
  OTPC_NIF__T_INTEGER,
  OTPC_NIF__T_FLOAT,
  OTPC_NIF__T_NUM,
  OTPC_NIF__T_BOOL,
  OTPC_NIF__T_ATOM,
  OTPC_NIF__T_ENUM, /* atom(a|b|c) */
  OTPC_NIF__T_BIN,
  OTPC_NIF__T_IOLIST,
  OTPC_NIF__T_PID,
  OTPC_NIF__T_TERM,
  OTPC_NIF__T_ANY,
  OTPC_NIF__T_RES,
  OTPC_NIF__T_LIST,
  OTPC_NIF__T_TUPLE,
  OTPC_NIF__T_MAP
} otpc_nif__type_t;

/* A name inside the spec string (an atom of an enum, a map key, a resource
 * type): offset and length into the string. */
typedef struct otpc_nif__name {
  uint16_t off, len;
} otpc_nif__name_t;

typedef struct otpc_nif__node {
  uint8_t type;
  uint8_t has_lo, has_hi;
  int64_t lo, hi;      /* int ranges */
  int16_t child;       /* first child node (list, tuple, map), or -1 */
  int16_t next;        /* next sibling, or -1 */
  uint16_t nchildren;  /* tuple arity, map fields, list: 1 */
  int16_t name;        /* map field key / res type name, or -1 */
  uint16_t first_name; /* enum atoms: names[first_name .. +nnames) */
  uint16_t nnames;
  uint16_t text_off, text_len; /* the node's own text, for messages */
} otpc_nif__node_t;

typedef struct otpc_nif__spec {
  const char *text;
  otpc_nif__node_t nodes[OTPC_NIF__SPEC_NODES];
  otpc_nif__name_t names[OTPC_NIF__SPEC_NAMES];
  int16_t roots[OTPC_NIF__SPEC_ROOTS];
  unsigned nnodes, nnames, nroots;
} otpc_nif__spec_t;

/* Parses text (NUL-terminated, kept by the caller: nodes point into it) into
 * *spec. Returns 0, or OTPC_EBADFMT / OTPC_ELIMIT with err naming the
 * offset and what was expected there. */
int otpc_nif__spec_parse(const char *text, otpc_nif__spec_t *spec,
                         otpc_err_t *err);

#endif
