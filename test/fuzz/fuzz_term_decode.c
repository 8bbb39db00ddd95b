/* libFuzzer target of the decoding core: validates arbitrary bytes as a term
 * and as a message, then walks every accepted term with every accessor, so
 * the sanitizers see any read the validator failed to bound. */
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "otpc/msg.h"
#include "otpc/term.h"

static volatile unsigned sink;

static void touch(const uint8_t *p, size_t n) {
  unsigned s = 0;
  for (size_t i = 0; i < n; i++)
    s += p[i];
  sink += s;
}

typedef struct stack {
  otpc_term_t *v;
  size_t n, cap;
} stack_t_;

static void push(stack_t_ *s, otpc_term_t t) {
  if (s->n == s->cap) {
    s->cap = s->cap ? s->cap * 2 : 64;
    s->v = realloc(s->v, s->cap * sizeof *s->v);
    if (s->v == NULL)
      abort();
  }
  s->v[s->n++] = t;
}

/* Every sub-term must span exactly what skip says. */
static void check_span(otpc_term_t t) {
  if (otpc__term_skip(t.p) != t.p + t.len)
    abort();
}

static void visit(otpc_term_t t, stack_t_ *s) {
  check_span(t);
  otpc_type_t type = otpc_term_type(t);
  if (type == 0)
    abort();
  sink += (unsigned)strlen(otpc_type_name(type));
  int64_t i;
  uint64_t u;
  otpc_int_t big;
  double d;
  char text[OTPC_ATOM_MAX_BYTES + 1];
  size_t len, n;
  const uint8_t *p;
  otpc_atom_t a;
  otpc_pid_t pid;
  otpc_ref_t ref;
  otpc_port_t port;
  otpc_iter_t it;
  otpc_term_t e, k, v;

  if (otpc_term_int64(t, &i) == 0)
    sink += (unsigned)i;
  if (otpc_term_uint64(t, &u) == 0)
    sink += (unsigned)u;
  if (otpc_term_integer(t, &big) == 0)
    touch(big.mag, big.n);
  if (otpc_term_double(t, &d) == 0)
    sink += d > 0;
  if (otpc_term_atom_text(t, text, sizeof text, &len) == 0) {
    size_t alen;
    if (otpc__utf8_count((uint8_t *)text, len) < 0)
      abort();
    /* Atoms may hold NUL characters, which C strings cannot compare. */
    if (memchr(text, 0, len) == NULL && !otpc_term_is_atom(t, text))
      abort();
    if (otpc_term_atom(t, &a) == 0 &&
        (otpc_atom_text(a, &alen) == NULL || alen != len ||
         memcmp(otpc_atom_text(a, NULL), text, len) != 0))
      abort();
    otpc_term_atom_text(t, text, len, &len); /* too small on purpose */
  }
  if (otpc_term_binary(t, &p, &n) == 0)
    touch(p, n);
  if (otpc_term_bitstring(t, &p, &n) == 0)
    touch(p, (n + 7) / 8);
  if (otpc_term_pid(t, &pid) == 0)
    sink += pid.id;
  if (otpc_term_ref(t, &ref) == 0) {
    if (ref.len < 1 || ref.len > OTPC_REF_MAX_WORDS)
      abort();
    sink += ref.id[ref.len - 1];
  }
  if (otpc_term_port(t, &port) == 0)
    sink += (unsigned)port.id;

  if (otpc_term_tuple(t, &it, &n) == 0) {
    size_t count = 0;
    while (otpc_iter_next(&it, &e) == 1) {
      push(s, e);
      count++;
    }
    if (count != n)
      abort();
    if (n > 0 && otpc_term_element(t, n - 1, &e) == 0)
      check_span(e);
  }
  if (otpc_term_list(t, &it, &n) == 0) {
    otpc_iter_t early = it;
    size_t count = 0;
    while (otpc_iter_next(&it, &e) == 1) {
      push(s, e);
      count++;
    }
    if (count != n || otpc_iter_tail(&it, &e) != 0 ||
        otpc_iter_tail(&early, &v) != 0 || e.p != v.p || e.len != v.len)
      abort();
    check_span(e);
    /* A tail that is a list was already pushed as a term of its own
     * unless it sits in a different encoding: walk it as well. */
    if (n > 0)
      push(s, e);
  }
  if (otpc_term_map(t, &it, &n) == 0) {
    size_t count = 0;
    otpc_term_t first = {NULL, 0};
    while (otpc_iter_next_pair(&it, &k, &v) == 1) {
      if (first.p == NULL)
        first = k;
      push(s, k);
      push(s, v);
      count++;
    }
    if (count != n)
      abort();
    if (first.p != NULL && otpc_term_map_get(t, first, &v) != 0)
      abort();
  }
}

static void walk(otpc_term_t root) {
  stack_t_ s = {NULL, 0, 0};
  push(&s, root);
  while (s.n > 0) {
    otpc_term_t t = s.v[--s.n];
    visit(t, &s);
  }
  free(s.v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  otpc_term_t t;
  otpc_err_t err;
  size_t used;
  if (otpc_term_from_ext(data, size, &t, &err) == 0)
    walk(t);
  else if (strlen(err.msg) == 0)
    abort();
  if (size > 0 && otpc_term_parse(data + 1, size - 1, &t, &used, &err) == 0) {
    if (used > size - 1 || t.len != used)
      abort();
    walk(t);
  }
  otpc_msg_t *m;
  if (otpc_msg_decode(data, size, &m, &err) == 0) {
    otpc_msg_t *m2 = otpc_msg_ref(m);
    walk(otpc_msg_term(m2));
    otpc_msg_unref(m);
    size_t len;
    const uint8_t *ext = otpc_msg_ext(m2, &len);
    if (otpc_term_from_ext(ext, len, &t, &err) != 0)
      abort();
    otpc_msg_unref(m2);
  }
  return 0;
}
