/*
** interp.h -- the reference interpreter: plain C for every op, the oracle
** that compiled code and gradients are checked against.
*/
#ifndef LUNAC_INTERP_H
#define LUNAC_INTERP_H

#include "../ir/ir.h"
#include <stdint.h>

/* Run every node of g in order for batch size n. vals[id] must point to
** ir_numel(&node->shape, n) floats for every node (i32 values are stored as
** int32_t at the start of the same storage). The caller fills INPUT, PARAM,
** BUFFER and STATE values; CONST values are copied from their data; every
** other value is computed, in node order. An ASSIGN copies its value into
** its destination's storage where it stands (nothing later reads the
** destination); its own storage gets the copy too. seed and step key the
** dropout RNG exactly as the runtime does. Returns 0, or -1 with e filled
** (an op it cannot run). Data errors do not stop a run: they give NaN (a
** class label outside [0, K) makes that sample's xent and xent_dx NaN). */
int interp_run(const Graph *g, int64_t n, float **vals, uint64_t seed, uint64_t step, Err *e);

/* Convenience: allocate vals for all nodes (malloc; free with interp_free). */
float **interp_alloc(const Graph *g, int64_t n);
void interp_free(const Graph *g, float **vals);

/* Numerical gradient for gradient checks: grad[j] = dL/d(wrt[j]) by central
** differences with step h, where L = sum_i dy[i] * out[i] (dy NULL: all ones)
** and every evaluation reruns the whole graph with the same seed and step,
** so dropout masks stay fixed. wrt must be an input, param, buffer or state; vals
** must be filled as for interp_run. On return wrt is restored and vals hold
** an unperturbed run. grad has ir_numel(wrt's shape, n) floats. */
int interp_fd_grad(const Graph *g, int64_t n, float **vals, uint64_t seed, uint64_t step,
                   int wrt, int out, const float *dy, float h, float *grad, Err *e);

/* The same three in double precision: the interpreter's files compiled again
** (interp_f64.c) with every value stored and every result rounded to double
** instead of float; the RNG and i32 labels are unchanged. Gradient checks
** use it so that finite differences with a small step are meaningful. */
int interp_run_f64(const Graph *g, int64_t n, double **vals, uint64_t seed, uint64_t step, Err *e);
double **interp_alloc_f64(const Graph *g, int64_t n);
void interp_free_f64(const Graph *g, double **vals);
int interp_fd_grad_f64(const Graph *g, int64_t n, double **vals, uint64_t seed, uint64_t step,
                       int wrt, int out, const double *dy, double h, double *grad, Err *e);

#endif
