/* Unit tests of otpc_fn's core (c_src/fn.c): declarations, decoding and
 * encoding by spec, badarg reasons and the function's own failures. The
 * deployments are compared on real nodes by test/fn_SUITE.erl. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "otpc/fn.h"

/* sum(list(int(0..)), bool) -> tuple(int, bool): the sum and the flag;
 * fails with {too_many, N} beyond 5 items. */
static int sum(otpc_fn_call_t *c) {
  const otpc_fn_val_t *l = &c->args[0];
  if (l->seq.n > 5)
    return otpc_fn_fail(c, "{too_many, ~U}", (uint64_t)l->seq.n);
  otpc_fn_val_t *r = otpc_fn_seq(c, &c->ret, 2);
  if (!r)
    return OTPC_ENOMEM;
  for (size_t k = 0; k < l->seq.n; k++)
    r[0].i += l->seq.v[k].i;
  r[1].b = c->args[1].b;
  return 0;
}

/* bad_result(int) -> int(0..9): returns its argument, out of spec or not. */
static int echo(otpc_fn_call_t *c) {
  c->ret.i = c->args[0].i;
  return 0;
}

static const otpc_fn_decl_t sum_decl = {
    "m", "sum", 2, "list(int(0..)), bool", "tuple(int, bool)", sum};
static const otpc_fn_decl_t echo_decl = {"m",   "echo",      1,
                                         "int", "int(0..9)", echo};

/* Applies f to the argument list built from fmt; returns rc and leaves the
 * outcome in *out (caller frees). */
static int apply(const otpc_fn_t *f, otpc_buf_t *out, const char *fmt, ...) {
  otpc_buf_t args;
  otpc_buf_init(&args);
  va_list ap;
  va_start(ap, fmt);
  assert_int_equal(otpc_term_vbuild(&args, NULL, fmt, ap), 0);
  va_end(ap);
  otpc_buf_init(out);
  otpc_term_t t = {args.data, args.len};
  int rc = otpc_fn_apply(f, t, 0, out);
  otpc_buf_free(&args);
  return rc;
}

static void assert_term(const otpc_buf_t *got, const char *expected) {
  otpc_buf_t want;
  otpc_buf_init(&want);
  assert_int_equal(otpc_term_build(&want, NULL, expected), 0);
  otpc_term_t a = {got->data, got->len}, b = {want.data, want.len};
  if (!otpc_term_equal(a, b)) {
    char text[600];
    otpc_term_snprint(text, sizeof text, a);
    fail_msg("got %s, expected %s", text, expected);
  }
  otpc_buf_free(&want);
}

static void test_results_by_spec(void **state) {
  (void)state;
  otpc_fn_t *f;
  otpc_buf_t out;
  assert_int_equal(otpc_fn_new(&sum_decl, NULL, &f, NULL), 0);
  assert_int_equal(apply(f, &out, "[[1, 2, 3], true]"), 0);
  assert_term(&out, "{6, true}");
  otpc_buf_free(&out);
  assert_int_equal(apply(f, &out, "[[], false]"), 0);
  assert_term(&out, "{0, false}");
  otpc_buf_free(&out);
  assert_int_equal(apply(f, &out, "[[1,1,1,1,1,1], true]"), 1);
  assert_term(&out, "{too_many, 6}");
  otpc_buf_free(&out);
  otpc_fn_free(f);
}

static void test_badarg_names_the_place(void **state) {
  (void)state;
  otpc_fn_t *f;
  otpc_buf_t out;
  assert_int_equal(otpc_fn_new(&sum_decl, NULL, &f, NULL), 0);
  assert_int_equal(apply(f, &out, "[[1, -2], true]"), 1);
  assert_term(&out, "{badarg, #{argument => 1, expected => <<\"int(0..)\">>, "
                    "received => -2, path => [{item, 2}], "
                    "function => <<\"m:sum/2\">>, message => <<\"m:sum/2: "
                    "argument 1, item 2: expected int(0..), received -2\">>}}");
  otpc_buf_free(&out);
  assert_int_equal(apply(f, &out, "[[1 | 2], true]"), 1);
  assert_term(&out, "{badarg, #{argument => 1, "
                    "expected => <<\"list(int(0..))\">>, received => [1 | 2], "
                    "path => [], function => <<\"m:sum/2\">>, "
                    "message => <<\"m:sum/2: argument 1: expected "
                    "list(int(0..)), received [1|2]\">>}}");
  otpc_buf_free(&out);
  assert_int_equal(apply(f, &out, "[[], yes]"), 1);
  assert_term(&out, "{badarg, #{argument => 2, expected => <<\"bool\">>, "
                    "received => yes, path => [], function => <<\"m:sum/2\">>,"
                    " message => <<\"m:sum/2: argument 2: expected bool, "
                    "received yes\">>}}");
  otpc_buf_free(&out);
  otpc_fn_free(f);
}

static void test_result_out_of_spec_is_named(void **state) {
  (void)state;
  otpc_fn_t *f;
  otpc_buf_t out;
  assert_int_equal(otpc_fn_new(&echo_decl, NULL, &f, NULL), 0);
  assert_int_equal(apply(f, &out, "[9]"), 0);
  assert_term(&out, "9");
  otpc_buf_free(&out);
  assert_int_equal(apply(f, &out, "[10]"), 1);
  assert_term(&out, "{otpc_nif, <<\"m:echo/1: value out of range\">>}");
  otpc_buf_free(&out);
  /* The argument count is the deployment's routing, not a badarg. */
  assert_int_equal(apply(f, &out, "[1, 2]"), OTPC_EINVAL);
  otpc_buf_free(&out);
  otpc_fn_free(f);
}

static void test_declarations_refused(void **state) {
  (void)state;
  const char *specs[] = {"pid",         "res(x)",     "any",
                         "map(a: int)", "list(term)", "tuple(int, iolist)"};
  for (size_t k = 0; k < sizeof specs / sizeof specs[0]; k++) {
    otpc_fn_decl_t d = {"m", "f", 1, specs[k], "int", echo};
    otpc_fn_t *f = NULL;
    otpc_err_t err = {0};
    assert_int_equal(otpc_fn_new(&d, NULL, &f, &err), OTPC_ENOTSUP);
    assert_non_null(strstr(err.msg, "not supported by otpc_fn"));
    assert_null(f);
  }
  otpc_fn_decl_t d = {"m", "f", 2, "int", "int", echo};
  otpc_fn_t *f = NULL;
  otpc_err_t err = {0};
  assert_int_equal(otpc_fn_new(&d, NULL, &f, &err), OTPC_EINVAL);
  assert_non_null(strstr(err.msg, "arity 2 but 1 argument specs"));
  d.arity = 1;
  d.args = "int(";
  assert_int_equal(otpc_fn_new(&d, NULL, &f, &err), OTPC_EBADFMT);
  d.args = "int";
  d.result = "int, int";
  assert_int_equal(otpc_fn_new(&d, NULL, &f, &err), OTPC_EINVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_results_by_spec),
      cmocka_unit_test(test_badarg_names_the_place),
      cmocka_unit_test(test_result_out_of_spec_is_named),
      cmocka_unit_test(test_declarations_refused),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
