/*
** interp_f64.c -- the interpreter compiled a second time with Real = double
** (interp_impl.h): interp_run_f64 and friends store every value in double
** and round every result to double. Gradient checks use it, so that finite
** differences with a small step measure the derivative, not float rounding.
** Every file of the interpreter is listed here; a static helper's name must
** be unique across them.
*/
#define INTERP_F64 1
#include "interp.c"
#include "interp_conv.c"
#include "interp_elem.c"
#include "interp_grad.c"
#include "interp_loss.c"
#include "interp_misc.c"
