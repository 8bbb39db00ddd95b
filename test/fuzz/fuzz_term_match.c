/* libFuzzer target: a pattern and a term through otpc_term_match. The input
 * is the pattern's text, a NUL, then the term in external format (131
 * first); terms that do not validate are skipped. The only capture admitted
 * is ~t, and there are pointers for more ~t than the pattern can hold, so an
 * arbitrary pattern never reads a missing argument. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "otpc/term.h"

#define MAX_CAPTURES 16

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *nul = memchr(data, 0, size);
  if (nul == NULL)
    return 0;
  size_t plen = (size_t)(nul - data);
  unsigned tildes = 0;
  for (size_t i = 0; i < plen; i++) {
    if (data[i] != '~')
      continue;
    /* Every ~ must be a ~t, whatever it means in context (in a quoted
     * text it is no directive, which only over-counts). */
    if (i + 1 >= plen || data[i + 1] != 't' || ++tildes > MAX_CAPTURES)
      return 0;
  }
  char *pattern = malloc(plen + 1);
  if (pattern == NULL)
    return 0;
  memcpy(pattern, data, plen + 1);

  otpc_term_t t;
  if (otpc_term_from_ext(nul + 1, size - plen - 1, &t, NULL) != 0) {
    free(pattern);
    return 0;
  }
  otpc_term_t cap[MAX_CAPTURES];
  memset(cap, 0, sizeof cap);
  otpc_err_t err;
  memset(&err, 0x55, sizeof err);
  int rc = otpc_term_match(t, &err, pattern, &cap[0], &cap[1], &cap[2], &cap[3],
                           &cap[4], &cap[5], &cap[6], &cap[7], &cap[8], &cap[9],
                           &cap[10], &cap[11], &cap[12], &cap[13], &cap[14],
                           &cap[15]);
  if (rc != 0) {
    if (err.code != rc || memchr(err.msg, 0, sizeof err.msg) == NULL ||
        err.msg[0] == 0 || err.offset > plen)
      abort();
  }
  /* Every capture written is a view of one whole term: a sub-term of t,
   * or (an element of a STRING_EXT list) a small integer in static
   * storage. */
  for (unsigned i = 0; i < MAX_CAPTURES; i++) {
    if (cap[i].p == NULL)
      continue;
    otpc_term_t again;
    size_t used;
    int in_t = cap[i].p >= t.p && cap[i].p + cap[i].len <= t.p + t.len;
    if ((!in_t && otpc_term_type(cap[i]) != OTPC_T_INTEGER) ||
        otpc_term_parse(cap[i].p, cap[i].len, &again, &used, NULL) != 0 ||
        used != cap[i].len)
      abort();
  }
  /* The same pattern against a fixed term must agree on syntax errors. */
  static const uint8_t nil_ext[] = {131, 106};
  otpc_term_t nil;
  if (otpc_term_from_ext(nil_ext, sizeof nil_ext, &nil, NULL) == 0) {
    int rc2 = otpc_term_match(nil, NULL, pattern, &cap[0], &cap[1], &cap[2],
                              &cap[3], &cap[4], &cap[5], &cap[6], &cap[7],
                              &cap[8], &cap[9], &cap[10], &cap[11], &cap[12],
                              &cap[13], &cap[14], &cap[15]);
    if ((rc == OTPC_EBADFMT) != (rc2 == OTPC_EBADFMT))
      abort();
  }
  /* Formats and patterns share one lexer: a pattern that is a format too
   * (no ~, _ or :=) is a syntax error for both, at the same offset and
   * with the same code, or for neither. */
  if (tildes == 0 && memchr(pattern, '_', plen) == NULL &&
      memchr(pattern, ':', plen) == NULL) {
    otpc_buf_t b;
    otpc_err_t berr;
    otpc_buf_init(&b);
    int brc = otpc_term_build(&b, &berr, pattern);
    int bad = rc == OTPC_EBADFMT || rc == OTPC_ELIMIT;
    if (brc != OTPC_ENOMEM &&
        (brc != 0 ? !bad || brc != rc || berr.offset != err.offset : bad))
      abort();
    otpc_buf_free(&b);
  }
  free(pattern);
  return 0;
}
