/* The differential test of the term layer against a real OTP 25 node.
 *
 * term_SUITE writes a corpus of a few hundred tricky terms with a
 * distributed BEAM (test/term_corpus.erl documents the file) and runs this
 * program with OTPC_TERM_CORPUS naming the file. For every term we check
 * what the BEAM said: decoding, the exact bytes of our canonical encoding,
 * the ~tp print, Erlang's term order with its == ties, and =:=. The builder
 * cases at the end are written to OTPC_TERM_BUILT (with our re-encoding of
 * every corpus term) so that the suite can check them with binary_to_term.
 *
 * Mismatches are counted and reported term by term (up to a limit per
 * test) rather than stopping at the first one, so a run shows the whole
 * picture of a disagreement. */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "internal.h"
#include "otpc/msg.h"
#include "otpc/term.h"
#include "test_util.h"

/* Record flags and kinds of other encodings (term_corpus.erl). */
#define F_CANON 1u
#define F_PRINT 2u
#define ALT_MINOR0 1u
#define ALT_MINOR1 2u
#define ALT_COMPRESSED 3u
#define ALT_COMPRESSED_MINOR1 4u
#define ALT_CRAFTED 5u

/* Reports of mismatches printed per test; the count is always complete. */
#define MAX_REPORTS 25
/* Bytes of a print shown in a report. */
#define SHOW 300

typedef struct alt {
  uint32_t kind;
  const uint8_t *p;
  size_t len;
} alt_t;

typedef struct rec {
  uint32_t index, type, flags, rank, eq_class, exact_class, key_class;
  const uint8_t *label, *ext, *print;
  size_t label_len, ext_len, print_len;
  size_t nalt;
  alt_t *alts;
  otpc_term_t term;
  int decoded; /* otpc_term_from_ext succeeded: later tests use `term` */
} rec_t;

static struct {
  uint8_t *data;
  size_t len;
  size_t n;
  rec_t *recs;
  /* What the suite checks with binary_to_term (see write_built). */
  otpc_buf_t built;
  uint32_t nbuilt;
  otpc_buf_t reenc;
  uint32_t nreenc;
} corpus;

/* ------------------------------------------------------------- reports */

static size_t failures;

static void report(const rec_t *r, const char *fmt, ...) {
  failures++;
  if (failures > MAX_REPORTS) {
    if (failures == MAX_REPORTS + 1)
      fprintf(stderr, "  (further mismatches counted, not shown)\n");
    return;
  }
  if (r != NULL)
    fprintf(stderr, "  term #%u %.*s: ", r->index, (int)r->label_len,
            (const char *)r->label);
  else
    fprintf(stderr, "  ");
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

static void show_text(const char *what, const uint8_t *p, size_t n) {
  if (failures > MAX_REPORTS)
    return;
  fprintf(stderr, "    %s (%zu bytes): %.*s%s\n", what, n,
          (int)(n < SHOW ? n : SHOW), (const char *)p, n > SHOW ? "..." : "");
}

static void show_bytes(const char *what, const uint8_t *p, size_t n) {
  if (failures > MAX_REPORTS)
    return;
  fprintf(stderr, "    %s (%zu bytes):", what, n);
  for (size_t i = 0; i < n && i < 64; i++)
    fprintf(stderr, " %u", p[i]);
  fprintf(stderr, "%s\n", n > 64 ? " ..." : "");
}

/* Shows where two byte strings first differ. */
static void show_diff(const uint8_t *want, size_t wn, const uint8_t *got,
                      size_t gn) {
  size_t i = 0;
  while (i < wn && i < gn && want[i] == got[i])
    i++;
  size_t from = i > 8 ? i - 8 : 0;
  if (failures <= MAX_REPORTS)
    fprintf(stderr, "    first difference at byte %zu:\n", i);
  show_bytes("expected from there", want + from, wn - from);
  show_bytes("got from there", got + from, gn - from);
}

static void begin(void) {
  failures = 0;
}

static void end(const char *what, size_t checked) {
  if (failures > 0)
    fail_msg("%zu of %zu %s disagree with Erlang/OTP (see above)", failures,
             checked, what);
}

/* ------------------------------------------------------ the corpus file */

typedef struct cursor {
  const uint8_t *p, *end;
  int bad;
} cursor_t;

static uint32_t get_u32(cursor_t *c) {
  if (c->bad || c->end - c->p < 4) {
    c->bad = 1;
    return 0;
  }
  uint32_t v = (uint32_t)c->p[0] << 24 | (uint32_t)c->p[1] << 16 |
               (uint32_t)c->p[2] << 8 | c->p[3];
  c->p += 4;
  return v;
}

static const uint8_t *get_blob(cursor_t *c, size_t *len) {
  *len = get_u32(c);
  if (c->bad || (size_t)(c->end - c->p) < *len) {
    c->bad = 1;
    return NULL;
  }
  const uint8_t *p = c->p;
  c->p += *len;
  return p;
}

static int read_file(const char *path, uint8_t **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return -1;
  size_t cap = 1 << 20, n = 0;
  uint8_t *buf = malloc(cap);
  while (buf != NULL) {
    n += fread(buf + n, 1, cap - n, f);
    if (n < cap)
      break;
    uint8_t *more = realloc(buf, cap * 2);
    if (more == NULL) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = more;
    cap *= 2;
  }
  int err = ferror(f) || buf == NULL;
  fclose(f);
  if (err) {
    free(buf);
    return -1;
  }
  *data = buf;
  *len = n;
  return 0;
}

static int load_corpus(void) {
  const char *path = getenv("OTPC_TERM_CORPUS");
  if (path == NULL || *path == '\0') {
    fprintf(stderr, "test_term_corpus: OTPC_TERM_CORPUS is not set. It names "
                    "the corpus file that term_SUITE writes with a real "
                    "Erlang node: run this test through `make test` or "
                    "term_SUITE.\n");
    return -1;
  }
  if (read_file(path, &corpus.data, &corpus.len) != 0) {
    fprintf(stderr,
            "test_term_corpus: cannot read the corpus file %s "
            "(OTPC_TERM_CORPUS)\n",
            path);
    return -1;
  }
  cursor_t c = {corpus.data, corpus.data + corpus.len, 0};
  if (corpus.len < 8 || memcmp(c.p, "OTPCTC01", 8) != 0) {
    fprintf(stderr,
            "test_term_corpus: %s is not a corpus file (no OTPCTC01 "
            "magic)\n",
            path);
    return -1;
  }
  c.p += 8;
  corpus.n = get_u32(&c);
  corpus.recs = calloc(corpus.n ? corpus.n : 1, sizeof(rec_t));
  if (corpus.recs == NULL)
    return -1;
  for (size_t i = 0; i < corpus.n && !c.bad; i++) {
    rec_t *r = &corpus.recs[i];
    r->index = get_u32(&c);
    r->type = get_u32(&c);
    r->flags = get_u32(&c);
    r->rank = get_u32(&c);
    r->eq_class = get_u32(&c);
    r->exact_class = get_u32(&c);
    r->key_class = get_u32(&c);
    r->label = get_blob(&c, &r->label_len);
    r->ext = get_blob(&c, &r->ext_len);
    r->print = get_blob(&c, &r->print_len);
    r->nalt = get_u32(&c);
    if (c.bad || r->nalt > corpus.len)
      break;
    r->alts = calloc(r->nalt ? r->nalt : 1, sizeof(alt_t));
    if (r->alts == NULL)
      return -1;
    for (size_t k = 0; k < r->nalt; k++) {
      r->alts[k].kind = get_u32(&c);
      r->alts[k].p = get_blob(&c, &r->alts[k].len);
    }
    if (r->index != i || r->ext_len < 2)
      c.bad = 1;
  }
  if (c.bad || c.p != c.end) {
    fprintf(stderr, "test_term_corpus: %s is truncated or malformed\n", path);
    return -1;
  }
  fprintf(stderr, "test_term_corpus: %zu terms from %s\n", corpus.n, path);
  return 0;
}

/* Decodes every term once; test_decode reports the failures and the other
 * tests use the terms that decoded. */
static void decode_all(void) {
  for (size_t i = 0; i < corpus.n; i++) {
    rec_t *r = &corpus.recs[i];
    r->decoded = otpc_term_from_ext(r->ext, r->ext_len, &r->term, NULL) == 0;
  }
}

static void put_u32(otpc_buf_t *b, uint32_t v) {
  uint8_t x[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8),
                  (uint8_t)v};
  if (otpc_buf_append(b, x, 4) != 0)
    abort();
}

static void put_blob(otpc_buf_t *b, const void *p, size_t n) {
  put_u32(b, (uint32_t)n);
  if (otpc_buf_append(b, p, n) != 0)
    abort();
}

/* The OTPC_TERM_BUILT file:
 *   "OTPCTB01" nbuilt, nbuilt x (flags, blob source, blob expected, blob
 *   ext), nreenc, nreenc x (index, blob ext)
 * where flags bit 0 says the bytes must equal term_to_binary's, `expected`
 * is an Erlang expression of the term the case must build, and a
 * re-encoding is our otpc_term_encode of corpus term `index`. */
static int write_built(void) {
  const char *path = getenv("OTPC_TERM_BUILT");
  if (path == NULL || *path == '\0')
    return 0;
  FILE *f = fopen(path, "wb");
  if (f == NULL) {
    fprintf(stderr, "test_term_corpus: cannot write %s (OTPC_TERM_BUILT)\n",
            path);
    return -1;
  }
  otpc_buf_t head = {0};
  put_u32(&head, corpus.nbuilt);
  otpc_buf_t mid = {0};
  put_u32(&mid, corpus.nreenc);
  int ok =
      fwrite("OTPCTB01", 1, 8, f) == 8 &&
      fwrite(head.data, 1, head.len, f) == head.len &&
      fwrite(corpus.built.data, 1, corpus.built.len, f) == corpus.built.len &&
      fwrite(mid.data, 1, mid.len, f) == mid.len &&
      fwrite(corpus.reenc.data, 1, corpus.reenc.len, f) == corpus.reenc.len;
  otpc_buf_free(&head);
  otpc_buf_free(&mid);
  if (fclose(f) != 0 || !ok) {
    fprintf(stderr, "test_term_corpus: writing %s failed\n", path);
    return -1;
  }
  return 0;
}

static int group_setup(void **state) {
  (void)state;
  if (load_corpus() != 0)
    return -1;
  decode_all();
  return 0;
}

static int group_teardown(void **state) {
  (void)state;
  int rc = write_built();
  for (size_t i = 0; i < corpus.n; i++)
    free(corpus.recs[i].alts);
  free(corpus.recs);
  free(corpus.data);
  otpc_buf_free(&corpus.built);
  otpc_buf_free(&corpus.reenc);
  return rc;
}

/* ------------------------------------------------------------ decoding */

static void test_decode(void **state) {
  (void)state;
  begin();
  for (size_t i = 0; i < corpus.n; i++) {
    rec_t *r = &corpus.recs[i];
    otpc_term_t t;
    otpc_err_t err = {0};
    int rc = otpc_term_from_ext(r->ext, r->ext_len, &t, &err);
    if (rc != 0) {
      report(r, "otpc_term_from_ext failed: %s: %s (offset %zu)",
             otpc_strerror(rc), err.msg, err.offset);
      continue;
    }
    if (t.len != r->ext_len - 1 || memcmp(t.p, r->ext + 1, t.len) != 0) {
      report(r, "the view is not the term's bytes (len %zu, want %zu)", t.len,
             r->ext_len - 1);
      continue;
    }
    otpc_type_t type = otpc_term_type(t);
    if ((uint32_t)type != r->type)
      report(r, "type %s (%d), Erlang says %s (%u)", otpc_type_name(type),
             (int)type, otpc_type_name((otpc_type_t)r->type), r->type);
    /* otpc_term_parse sees the same term without the version byte, and
     * stops at its end when more bytes follow. */
    uint8_t *more = malloc(r->ext_len + 3);
    assert_non_null(more);
    memcpy(more, r->ext + 1, r->ext_len - 1);
    memcpy(more + r->ext_len - 1, "\x61\x01\x6a\x00", 4);
    size_t used = 0;
    rc = otpc_term_parse(more, r->ext_len + 2, &t, &used, &err);
    if (rc != 0 || used != r->ext_len - 1)
      report(r,
             "otpc_term_parse with bytes after the term: %s, used %zu of "
             "%zu",
             otpc_strerror(rc), used, r->ext_len - 1);
    free(more);
  }
  end("terms", corpus.n);
}

/* Every truncation of a term is an error, never a crash or a success. */
static void test_truncated_is_rejected(void **state) {
  (void)state;
  begin();
  size_t checked = 0;
  for (size_t i = 0; i < corpus.n; i++) {
    rec_t *r = &corpus.recs[i];
    if (r->ext_len > 4096)
      continue; /* every cut of the big ones would be quadratic */
    for (size_t cut = 1; cut < r->ext_len; cut++) {
      otpc_term_t t;
      checked++;
      if (otpc_term_from_ext(r->ext, cut, &t, NULL) == 0) {
        report(r, "accepted when cut to %zu of %zu bytes", cut, r->ext_len);
        break;
      }
    }
  }
  end("truncations", checked);
}

/* Older minor versions, compressed forms and crafted non-canonical
 * encodings: the same term, equal to the main one, and re-encoded to the
 * canonical bytes. */
static void test_other_encodings(void **state) {
  (void)state;
  begin();
  size_t checked = 0;
  for (size_t i = 0; i < corpus.n; i++) {
    rec_t *r = &corpus.recs[i];
    if (!r->decoded)
      continue;
    for (size_t k = 0; k < r->nalt; k++) {
      const alt_t *a = &r->alts[k];
      otpc_err_t err = {0};
      otpc_msg_t *m = NULL;
      otpc_term_t t;
      checked++;
      if (a->len > 1 && a->p[1] == 80) {
        /* A view cannot own inflated bytes: compressed is ENOTSUP there. */
        int rc = otpc_term_from_ext(a->p, a->len, &t, NULL);
        if (rc != OTPC_ENOTSUP)
          report(r,
                 "otpc_term_from_ext on compressed bytes gave %s, not "
                 "ENOTSUP",
                 otpc_strerror(rc));
      }
      int rc = otpc_msg_decode(a->p, a->len, &m, &err);
      if (rc != 0) {
        report(r, "otpc_msg_decode of encoding kind %u failed: %s: %s", a->kind,
               otpc_strerror(rc), err.msg);
        show_bytes("input", a->p, a->len);
        continue;
      }
      t = otpc_msg_term(m);
      if (a->kind == ALT_COMPRESSED) {
        size_t n;
        const uint8_t *ext = otpc_msg_ext(m, &n);
        if (t.len != r->ext_len - 1 || memcmp(t.p, r->ext + 1, t.len) != 0 ||
            n != r->ext_len || memcmp(ext, r->ext, n) != 0)
          report(r, "the inflated message is not term_to_binary's bytes");
      } else if (a->kind != ALT_COMPRESSED_MINOR1) {
        otpc_term_t v;
        rc = otpc_term_from_ext(a->p, a->len, &v, &err);
        if (rc != 0)
          report(r, "otpc_term_from_ext of encoding kind %u failed: %s: %s",
                 a->kind, otpc_strerror(rc), err.msg);
      }
      if (otpc_term_equal(t, r->term) != 1 ||
          otpc_term_compare(t, r->term) != 0) {
        report(r, "encoding kind %u is not =:= to the canonical one", a->kind);
        show_bytes("that encoding", a->p, a->len);
      }
      if (r->flags & F_CANON) {
        otpc_buf_t b = {0};
        rc = otpc_term_encode(&b, t);
        if (rc != 0 || b.len != r->ext_len - 1 ||
            memcmp(b.data, r->ext + 1, b.len) != 0) {
          report(r,
                 "re-encoding kind %u does not give term_to_binary's "
                 "bytes (rc %d)",
                 a->kind, rc);
          show_bytes("from", a->p, a->len);
          if (rc == 0)
            show_diff(r->ext + 1, r->ext_len - 1, b.data, b.len);
        }
        otpc_buf_free(&b);
      }
      otpc_msg_unref(m);
    }
  }
  end("other encodings", checked);
}

/* ------------------------------------------------------------ encoding */

static void test_encode(void **state) {
  (void)state;
  begin();
  size_t checked = 0;
  for (size_t i = 0; i < corpus.n; i++) {
    rec_t *r = &corpus.recs[i];
    if (!r->decoded)
      continue;
    checked++;
    otpc_buf_t b = {0};
    int rc = otpc_term_put_version(&b);
    if (rc == 0)
      rc = otpc_term_encode(&b, r->term);
    if (rc != 0) {
      report(r, "otpc_term_encode failed: %s", otpc_strerror(rc));
      otpc_buf_free(&b);
      continue;
    }
    /* The suite checks every re-encoding with binary_to_term. */
    put_u32(&corpus.reenc, r->index);
    put_blob(&corpus.reenc, b.data, b.len);
    corpus.nreenc++;
    if (r->flags & F_CANON) {
      if (b.len != r->ext_len || memcmp(b.data, r->ext, b.len) != 0) {
        report(r, "otpc_term_encode differs from term_to_binary(T, "
                  "[{minor_version, 2}])");
        show_diff(r->ext, r->ext_len, b.data, b.len);
      }
    } else {
      /* No canonical bytes to compare with: the re-encoding must at least
       * be the same term. */
      otpc_term_t t;
      otpc_err_t err = {0};
      rc = otpc_term_from_ext(b.data, b.len, &t, &err);
      if (rc != 0)
        report(r, "the re-encoding does not decode: %s: %s", otpc_strerror(rc),
               err.msg);
      else if (otpc_term_equal(t, r->term) != 1)
        report(r, "the re-encoding is not =:= to the term");
    }
    otpc_buf_free(&b);
  }
  end("encodings", checked);
}

/* ------------------------------------------------------------ numbers */

/* Integers read back as the decimal the BEAM printed, and as int64/uint64
 * exactly when they fit; floats as the double term_to_binary wrote. */
static void test_numbers_read_back(void **state) {
  (void)state;
  begin();
  size_t checked = 0;
  for (size_t i = 0; i < corpus.n; i++) {
    rec_t *r = &corpus.recs[i];
    if (!r->decoded)
      continue;
    if (r->type == OTPC_T_INTEGER && (r->flags & F_PRINT)) {
      checked++;
      otpc_int_t v;
      otpc_buf_t dec = {0};
      int rc = otpc_term_integer(r->term, &v);
      if (rc == 0)
        rc = otpc__big_to_dec(v.neg, v.mag, v.n, &dec);
      if (rc != 0 || dec.len != r->print_len ||
          memcmp(dec.data, r->print, dec.len) != 0) {
        report(r, "otpc_term_integer reads another value (rc %d)", rc);
        if (rc == 0)
          show_text("got", dec.data, dec.len);
      }
      otpc_buf_free(&dec);
      char text[32];
      int64_t i64;
      uint64_t u64;
      int fits_i = 0, fits_u = 0;
      if (r->print_len < sizeof text) {
        memcpy(text, r->print, r->print_len);
        text[r->print_len] = '\0';
        errno = 0;
        long long ll = strtoll(text, NULL, 10);
        fits_i = errno == 0;
        errno = 0;
        unsigned long long ull = strtoull(text, NULL, 10);
        fits_u = errno == 0 && text[0] != '-';
        rc = otpc_term_int64(r->term, &i64);
        if (fits_i ? rc != 0 || i64 != ll : rc != OTPC_ERANGE)
          report(r, "otpc_term_int64: %s, %lld (want %s)", otpc_strerror(rc),
                 rc == 0 ? (long long)i64 : 0LL, fits_i ? text : "ERANGE");
        rc = otpc_term_uint64(r->term, &u64);
        if (fits_u ? rc != 0 || u64 != ull : rc != OTPC_ERANGE)
          report(r, "otpc_term_uint64: %s, %llu (want %s)", otpc_strerror(rc),
                 rc == 0 ? (unsigned long long)u64 : 0ULL,
                 fits_u ? text : "ERANGE");
      } else {
        if (otpc_term_int64(r->term, &i64) != OTPC_ERANGE ||
            otpc_term_uint64(r->term, &u64) != OTPC_ERANGE)
          report(r, "a huge integer fits int64 or uint64");
      }
      double d;
      if (otpc_term_double(r->term, &d) != OTPC_ETYPE)
        report(r, "otpc_term_double accepts an integer");
    } else if (r->type == OTPC_T_FLOAT) {
      checked++;
      double d;
      int64_t i64;
      int rc = otpc_term_double(r->term, &d);
      uint64_t bits = 0;
      memcpy(&bits, &d, sizeof bits);
      if (rc != 0 || r->ext[1] != 70 || bits != otpc__get64(r->ext + 2))
        report(r, "otpc_term_double reads another double (rc %d)", rc);
      if (otpc_term_int64(r->term, &i64) != OTPC_ETYPE)
        report(r, "otpc_term_int64 accepts a float");
    }
  }
  end("numbers", checked);
}

/* ------------------------------------------------------------ printing */

static void test_print(void **state) {
  (void)state;
  begin();
  size_t checked = 0;
  for (size_t i = 0; i < corpus.n; i++) {
    rec_t *r = &corpus.recs[i];
    if (!r->decoded)
      continue;
    otpc_buf_t b = {0};
    int rc = otpc_term_print(&b, r->term);
    if (rc != 0) {
      report(r, "otpc_term_print failed: %s", otpc_strerror(rc));
      otpc_buf_free(&b);
      continue;
    }
    if (r->flags & F_PRINT) {
      checked++;
      if (b.len != r->print_len || memcmp(b.data, r->print, b.len) != 0) {
        report(r, "prints differently from io_lib:format(\"~0tp\")");
        show_text("expected", r->print, r->print_len);
        show_text("got", b.data, b.len);
        show_diff(r->print, r->print_len, b.data, b.len);
      }
    } else if (b.len == 0) {
      report(r, "printed as nothing");
    }
    /* snprintf-style: the full length, and a cut, NUL-terminated copy. */
    char small[8];
    memset(small, 'x', sizeof small);
    int n = otpc_term_snprint(small, sizeof small, r->term);
    size_t want = b.len < sizeof small - 1 ? b.len : sizeof small - 1;
    if (n < 0 || (size_t)n != b.len || small[want] != '\0' ||
        memcmp(small, b.data, want) != 0)
      report(r,
             "otpc_term_snprint into 8 bytes gave %d, want %zu and the "
             "first %zu bytes of the print",
             n, b.len, want);
    otpc_buf_free(&b);
  }
  end("prints", checked);
}

/* ----------------------------------------------------------- comparing */

static int sign(long v) {
  return (v > 0) - (v < 0);
}

/* Checks every ordered pair of decoded terms against what Erlang says. */
static void all_pairs(const char *what,
                      void (*check)(const rec_t *a, const rec_t *b)) {
  begin();
  size_t checked = 0;
  for (size_t i = 0; i < corpus.n; i++) {
    const rec_t *a = &corpus.recs[i];
    if (!a->decoded)
      continue;
    for (size_t j = 0; j < corpus.n; j++) {
      const rec_t *b = &corpus.recs[j];
      if (!b->decoded)
        continue;
      checked++;
      check(a, b);
    }
  }
  end(what, checked);
}

static void check_compare(const rec_t *a, const rec_t *b) {
  int want = sign((long)a->eq_class - (long)b->eq_class);
  int got = otpc_term_compare(a->term, b->term);
  if (got != want)
    report(a, "compare with term #%u %.*s: got %d, Erlang says %d", b->index,
           (int)b->label_len, (const char *)b->label, got, want);
}

static void check_equal(const rec_t *a, const rec_t *b) {
  int want = a->exact_class == b->exact_class;
  int got = otpc_term_equal(a->term, b->term);
  if (got != want)
    report(a, "=:= term #%u %.*s: got %d, Erlang says %d", b->index,
           (int)b->label_len, (const char *)b->label, got, want);
}

/* The map-key order: the order of two keys in a small map on the BEAM. */
static void check_compare_exact(const rec_t *a, const rec_t *b) {
  int want = sign((long)a->key_class - (long)b->key_class);
  int got = sign(otpc_term_compare_exact(a->term, b->term));
  if (got != want)
    report(a,
           "map-key order with term #%u %.*s: got %d, the BEAM's "
           "maps say %d",
           b->index, (int)b->label_len, (const char *)b->label, got, want);
}

static void test_compare_all_pairs(void **state) {
  (void)state;
  all_pairs("ordered pairs (otpc_term_compare)", check_compare);
}

static void test_equal_all_pairs(void **state) {
  (void)state;
  all_pairs("ordered pairs (otpc_term_equal)", check_equal);
}

static void test_compare_exact_all_pairs(void **state) {
  (void)state;
  all_pairs("ordered pairs (otpc_term_compare_exact)", check_compare_exact);
}

static int by_term_then_index(const void *x, const void *y) {
  const rec_t *a = &corpus.recs[*(const size_t *)x];
  const rec_t *b = &corpus.recs[*(const size_t *)y];
  int c = otpc_term_compare(a->term, b->term);
  if (c != 0)
    return c;
  return (a->index > b->index) - (a->index < b->index);
}

/* Sorting with otpc_term_compare (ties in corpus order) gives each term
 * its rank in Erlang's lists:sort. */
static void test_sort_matches_lists_sort(void **state) {
  (void)state;
  begin();
  size_t n = 0;
  size_t *order = malloc((corpus.n + 1) * sizeof *order);
  assert_non_null(order);
  for (size_t i = 0; i < corpus.n; i++)
    if (corpus.recs[i].decoded)
      order[n++] = i;
  if (n != corpus.n) {
    free(order);
    fail_msg("%zu terms did not decode (see test_decode)", corpus.n - n);
    return;
  }
  qsort(order, n, sizeof *order, by_term_then_index);
  for (size_t k = 0; k < n; k++) {
    const rec_t *r = &corpus.recs[order[k]];
    if (r->rank != k)
      report(r, "sorts at %zu, lists:sort puts it at %u", k, r->rank);
  }
  free(order);
  end("sort positions", n);
}

static void view(const uint8_t *ext, size_t len, otpc_term_t *t) {
  *t = test_term(ext, len);
}

/* The classic pair: 1 == 1.0 but not 1 =:= 1.0; and 0.0 =:= -0.0 on OTP 25
 * (it changed in OTP 27). */
static void test_one_and_one_point_zero(void **state) {
  (void)state;
  static const uint8_t one[] = {131, 97, 1};
  static const uint8_t onef[] = {131, 70, 0x3f, 0xf0, 0, 0, 0, 0, 0, 0};
  static const uint8_t two[] = {131, 97, 2};
  static const uint8_t zero[] = {131, 70, 0, 0, 0, 0, 0, 0, 0, 0};
  static const uint8_t mzero[] = {131, 70, 0x80, 0, 0, 0, 0, 0, 0, 0};
  otpc_term_t a, b, c, z, mz;
  view(one, sizeof one, &a);
  view(onef, sizeof onef, &b);
  view(two, sizeof two, &c);
  view(zero, sizeof zero, &z);
  view(mzero, sizeof mzero, &mz);
  assert_int_equal(otpc_term_compare(a, b), 0);
  assert_int_equal(otpc_term_compare(b, a), 0);
  assert_int_equal(otpc_term_equal(a, b), 0);
  assert_int_equal(otpc_term_equal(a, a), 1);
  assert_int_equal(otpc_term_equal(b, b), 1);
  assert_int_equal(otpc_term_compare(b, c), -1);
  assert_int_equal(otpc_term_compare(c, b), 1);
  assert_int_equal(otpc_term_compare(z, mz), 0);
  assert_int_equal(otpc_term_equal(z, mz), 1);
  /* Map key order puts integers first, before every float. */
  assert_true(otpc_term_compare_exact(a, b) < 0);
  assert_true(otpc_term_compare_exact(b, a) > 0);
  assert_true(otpc_term_compare_exact(c, b) < 0);
}

/* ------------------------------------------------------------- building */

/* The node, pid, reference and port the builder cases use; the suite
 * builds the same ones with binary_to_term (the helpers pid/4, ref/3 and
 * port/3 of the expected expressions). */
static otpc_pid_t the_pid;
static otpc_ref_t the_ref, the_ref5;
static otpc_port_t the_port, the_big_port;

static size_t build_failures;

static void add_case(const char *src, const char *expect, int canon, int rc,
                     otpc_buf_t *b, const otpc_err_t *err) {
  if (rc != 0) {
    build_failures++;
    fprintf(stderr, "  build %s: %s: %s (offset %zu)\n", src, otpc_strerror(rc),
            err->msg, err->offset);
    return;
  }
  otpc_term_t t;
  otpc_err_t derr = {0};
  rc = otpc_term_from_ext(b->data, b->len, &t, &derr);
  if (rc != 0) {
    build_failures++;
    fprintf(stderr, "  build %s: the result does not decode: %s: %s\n", src,
            otpc_strerror(rc), derr.msg);
  }
  put_u32(&corpus.built, canon ? 1 : 0);
  put_blob(&corpus.built, src, strlen(src));
  put_blob(&corpus.built, expect, strlen(expect));
  put_blob(&corpus.built, b->data, b->len);
  corpus.nbuilt++;
}

/* BUILD(expected Erlang expression, format, args...): the bytes must be
 * term_to_binary's; BUILD_ANY_ORDER: only binary_to_term's result counts
 * (maps of more than 32 pairs). */
#define BUILD_(canon, expect, ...)                                             \
  do {                                                                         \
    otpc_buf_t b_ = {0};                                                       \
    otpc_err_t e_ = {0};                                                       \
    int rc_ = otpc_term_put_version(&b_);                                      \
    if (rc_ == 0)                                                              \
      rc_ = otpc_term_build(&b_, &e_, __VA_ARGS__);                            \
    add_case(#__VA_ARGS__, expect, canon, rc_, &b_, &e_);                      \
    otpc_buf_free(&b_);                                                        \
  } while (0)
#define BUILD(expect, ...) BUILD_(1, expect, __VA_ARGS__)
#define BUILD_ANY_ORDER(expect, ...) BUILD_(0, expect, __VA_ARGS__)

static void test_builder(void **state) {
  (void)state;
  build_failures = 0;
  otpc_atom_t node, tag;
  assert_int_equal(otpc_atom("corpus@host", &node), 0);
  assert_int_equal(otpc_atom("tag", &tag), 0);
  the_pid = (otpc_pid_t){node, 42, 1, 7};
  the_ref = (otpc_ref_t){node, 7, 3, {1, 2, 3, 0, 0}};
  the_ref5 = (otpc_ref_t){node, 0xffffffffu, 5, {1, 2, 3, 4, 5}};
  the_port = (otpc_port_t){node, 7, 99};
  the_big_port = (otpc_port_t){node, 7, UINT64_C(0x123456789)};
  static const uint8_t inner_ext[] = {131, 104, 2, 119, 1, 'x', 97, 5};
  otpc_term_t inner;
  view(inner_ext, sizeof inner_ext, &inner);
  static const uint8_t bits[] = {0xff, 0xc0};
  /* 65535 and 65536 characters: STRING_EXT ends at 65535. */
  static char a65535[65536], a65536[65537];
  memset(a65535, 'a', 65535);
  memset(a65536, 'a', 65536);
  static char long_atom[255 * 3 + 1];
  for (int i = 0; i < 255; i++)
    memcpy(long_atom + 3 * i, "\xe4\xb8\xad", 3);

  /* Literals. */
  BUILD("ok", "ok");
  BUILD("'Quoted atom'", "'Quoted atom'");
  BUILD("{}", "{}");
  BUILD("[]", "[]");
  BUILD("#{}", "#{}");
  BUILD("<<>>", "<<>>");
  BUILD("{ok, 1, -2, 255, 1.5, -0.0}", "{ok, 1, -2, 16#ff, 1.5, -0.0}");
  BUILD("123456789012345678901234567890", "123456789012345678901234567890");
  BUILD("-123456789012345678901234567890", "-123456789012345678901234567890");
  BUILD("{256, -256, 2147483647, -2147483648, 2147483648}",
        "{256, -256, 2147483647, -2147483648, 2147483648}");
  BUILD("{1.0e10, 1.0e-10, 123.456, 0.1}", "{1.0e10, 1.0e-10, 123.456, 0.1}");
  BUILD("{1, 1.0}", "{1, 1.0}");
  BUILD("\"strings\"", "\"strings\"");
  BUILD("{[$c], $c}", "{[$c], $c}");
  BUILD("<<\"text\">>", "<<\"text\">>");
  BUILD("<<1,2,3>>", "<<1,2,3>>");
  BUILD("[1, 2 | 3]", "[1, 2 | 3]");
  BUILD("[a | b]", "[a|b]");
  BUILD("#{k => v}", "#{k => v}");
  BUILD("#{b => 1, a => 2, 1.0 => x, 2 => y, 1 => z, \"s\" => s}",
        "#{b => 1, a => 2, 1.0 => x, 2 => y, 1 => z, \"s\" => s}");
  BUILD("{a, #{k => [#{}]}, [{}]}", "  { a ,#{ k=>[ #{} ] } , [{ }] }  ");
  BUILD("\"a\\nb\\t\\\"c\\\"\"", "\"a\\nb\\t\\\"c\\\"\"");
  BUILD("'it\\'s'", "'it\\'s'");
  BUILD("{10, -16}", "{2#1010, -16#10}");
  /* Directives. */
  BUILD("{reply, 42, <<\"data\">>}", "{reply, ~i, ~b}", 42, "data", (size_t)4);
  BUILD("{-1, 2147483647, -2147483648}", "{~i, ~i, ~i}", -1, 2147483647,
        -2147483647 - 1);
  BUILD("{-9223372036854775808, 9223372036854775807}", "{~l, ~l}",
        (long)INT64_MIN, (long)INT64_MAX);
  BUILD("{-9223372036854775808, 256, -129, 0}", "{~I, ~I, ~I, ~I}", INT64_MIN,
        (int64_t)256, (int64_t)-129, (int64_t)0);
  BUILD("{18446744073709551615, 255, 4294967296}", "{~U, ~U, ~U}", UINT64_MAX,
        (uint64_t)255, (uint64_t)4294967296u);
  BUILD("{123456789012345678901234567890, -1, 0, "
        "-340282366920938463463374607431768211456}",
        "{~N, ~N, ~N, ~N}", "123456789012345678901234567890", "-1", "0",
        "-340282366920938463463374607431768211456");
  BUILD("{1.5, -0.0, 5.0e-324, 1.0e300, 1.0}", "{~f, ~f, ~f, ~f, ~f}", 1.5,
        -0.0, 5e-324, 1e300, 1.0);
  BUILD("{hello, 'été', '\\x{4E2D}\\x{6587}', '', 'hello world', 'Cap'}",
        "{~a, ~a, ~a, ~a, ~a, ~a}", "hello", "\xc3\xa9t\xc3\xa9",
        "\xe4\xb8\xad\xe6\x96\x87", "", "hello world", "Cap");
  BUILD("[tag, tag]", "[~A, ~A]", tag, tag);
  BUILD("{\"abc\", [], [20013,25991], \"été\"}", "{~s, ~s, ~s, ~s}", "abc", "",
        "\xe4\xb8\xad\xe6\x96\x87", "\xc3\xa9t\xc3\xa9");
  BUILD("{<<\"data\">>, <<>>, <<0,255>>}", "{~b, ~b, ~b}", "data", (size_t)4,
        "", (size_t)0, "\x00\xff", (size_t)2);
  BUILD("{<<255, 3:2>>, <<1:1>>, <<255>>, <<>>}", "{~B, ~B, ~B, ~B}", bits,
        (size_t)10, bits, (size_t)1, bits, (size_t)8, bits, (size_t)0);
  BUILD("pid('corpus@host', 42, 1, 7)", "~p", &the_pid);
  BUILD("ref('corpus@host', 7, [1, 2, 3])", "~r", &the_ref);
  BUILD("ref('corpus@host', 16#ffffffff, [1, 2, 3, 4, 5])", "~r", &the_ref5);
  BUILD("{port('corpus@host', 99, 7), port('corpus@host', 16#123456789, 7)}",
        "{~P, ~P}", &the_port, &the_big_port);
  BUILD("{{x, 5}, [{x, 5}], #{{x, 5} => {x, 5}}}", "{~t, [~t], #{~t => ~t}}",
        &inner, &inner, &inner, &inner);
  BUILD("#{k => 1, 2 => \"two\", 1.0 => <<\"f\">>}",
        "#{~a => ~i, ~i => ~s, ~f => ~b}", "k", 1, 2, "two", 1.0, "f",
        (size_t)1);
  BUILD("[1, 2, 3]", "[~i, ~i, ~i]", 1, 2, 3);
  BUILD("[1, 256]", "[~i, ~i]", 1, 256);
  BUILD("[1 | t]", "[~i | ~a]", 1, "t");
  BUILD("[\"ab\" | \"cd\"]", "[~s | ~s]", "ab", "cd");
  BUILD("{[{[7]}]}", "{[{[~i]}]}", 7);
  BUILD("{[1], [[]], [], [1, 2]}", "{[1 | []], [\"\"], \"\", [1 | [2]]}");
  BUILD("{0, 1208925819614629174706175, -255}",
        "{-0, 16#FFFFFFFFFFFFFFFFFFFF, -16#ff}");
  BUILD("{$\\n, \"\\e\", 'a\\x{4E2D}'}", "{$\\n, \"\\e\", 'a\\x{4E2D}'}");
  BUILD("{1.0e308, -1.0e-308, 2.5}", "{1.0e308, -1.0e-308, 2.5}");
  BUILD("lists:duplicate(65535, $a)", "~s", a65535);
  BUILD("lists:duplicate(65536, $a)", "~s", a65536);
  BUILD("[lists:duplicate(65536, $a) | lists:duplicate(65536, $a)]",
        "[~s | ~s]", a65536, a65536);
  BUILD("binary:copy(<<\"a\">>, 65536)", "~b", a65536, (size_t)65536);
  BUILD("list_to_atom(lists:duplicate(255, 16#4E2D))", "~a", long_atom);
  BUILD("{'EXIT', pid('corpus@host', 42, 1, 7), {badarg, [{m, f, 1, []}]}}",
        "{'EXIT', ~p, {badarg, [{m, f, ~i, []}]}}", &the_pid, 1);
  BUILD_ANY_ORDER(
      "maps:from_list([{I, I} || I <- lists:seq(1, 33)])",
      "#{1 => 1, 2 => 2, 3 => 3, 4 => 4, 5 => 5, 6 => 6, 7 => 7, 8 => 8, "
      "9 => 9, 10 => 10, 11 => 11, 12 => 12, 13 => 13, 14 => 14, 15 => 15, "
      "16 => 16, 17 => 17, 18 => 18, 19 => 19, 20 => 20, 21 => 21, 22 => 22, "
      "23 => 23, 24 => 24, 25 => 25, 26 => 26, 27 => 27, 28 => 28, 29 => 29, "
      "30 => 30, 31 => 31, 32 => 32, 33 => ~i}",
      33);
  BUILD("maps:from_list([{I, I} || I <- lists:seq(1, 32)])",
        "#{32 => 32, 31 => 31, 30 => 30, 29 => 29, 28 => 28, 27 => 27, "
        "26 => 26, 25 => 25, 24 => 24, 23 => 23, 22 => 22, 21 => 21, "
        "20 => 20, 19 => 19, 18 => 18, 17 => 17, 16 => 16, 15 => 15, "
        "14 => 14, 13 => 13, 12 => 12, 11 => 11, 10 => 10, 9 => 9, 8 => 8, "
        "7 => 7, 6 => 6, 5 => 5, 4 => 4, 3 => 3, 2 => 2, 1 => 1}");
  if (build_failures > 0)
    fail_msg("%zu builder cases failed (see above)", build_failures);
}

/* Bad formats and bad arguments are errors, never aborts. */
static void test_builder_errors(void **state) {
  (void)state;
  otpc_buf_t b = {0};
  otpc_err_t err = {0};
  assert_int_equal(otpc_term_build(&b, &err, "~f", NAN), OTPC_EINVAL);
  assert_int_equal(otpc_term_build(&b, &err, "~f", INFINITY), OTPC_EINVAL);
  assert_int_equal(otpc_term_build(&b, &err, "{ok,"), OTPC_EBADFMT);
  memset(&err, 0, sizeof err);
  assert_int_equal(otpc_term_build(&b, &err, "{ok, ~q}"), OTPC_EBADFMT);
  /* At the directive: its '~' or its letter. */
  assert_in_range(err.offset, 5, 6);
  assert_int_equal(otpc_term_build(&b, &err, "{ok} junk"), OTPC_EBADFMT);
  assert_true(otpc_term_build(&b, &err, "~N", "12x") < 0);
  otpc_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_decode),
      cmocka_unit_test(test_truncated_is_rejected),
      cmocka_unit_test(test_other_encodings),
      cmocka_unit_test(test_encode),
      cmocka_unit_test(test_numbers_read_back),
      cmocka_unit_test(test_print),
      cmocka_unit_test(test_compare_all_pairs),
      cmocka_unit_test(test_equal_all_pairs),
      cmocka_unit_test(test_compare_exact_all_pairs),
      cmocka_unit_test(test_sort_matches_lists_sort),
      cmocka_unit_test(test_one_and_one_point_zero),
      cmocka_unit_test(test_builder),
      cmocka_unit_test(test_builder_errors),
  };
  return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
