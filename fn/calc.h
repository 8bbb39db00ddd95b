/* The functions the otpc_fn examples deploy three ways (fn/calc.c). */
#ifndef OTPC_FN_CALC_H
#define OTPC_FN_CALC_H

#include "otpc/fn.h"

#define OTPC_FN_CALC_N 4
extern const otpc_fn_decl_t otpc_fn_calc[OTPC_FN_CALC_N];

/* Makes fns[0..OTPC_FN_CALC_N) (0, or the first error, err says which). */
int otpc_fn_calc_new(otpc_fn_t **fns, otpc_err_t *err);

#endif
