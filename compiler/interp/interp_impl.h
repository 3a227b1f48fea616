/*
** interp_impl.h -- what the interpreter's files share: the run context, the
** per-op kernels (one per op or op family) and small shape helpers.
** Private to compiler/interp/.
**
** Every value is stored as Real: float normally, double when the files are
** compiled again inside interp_f64.c with INTERP_F64 defined. In that build
** the public entry points take their _f64 names (below) and the kernels
** are declared INTERP_LINK = static, so both builds link into one program.
*/
#ifndef LUNAC_INTERP_IMPL_H
#define LUNAC_INTERP_IMPL_H

#include "interp.h"

#ifdef INTERP_F64
typedef double Real;
#define INTERP_LINK static
#define interp_run interp_run_f64
#define interp_alloc interp_alloc_f64
#define interp_free interp_free_f64
#define interp_fd_grad interp_fd_grad_f64
#else
typedef float Real;
#define INTERP_LINK extern
#endif

/* One interpreter run: the graph, the bound batch size, the value storage. */
typedef struct Run {
	const Graph *g;
	int64_t n;
	Real **vals;
	uint64_t seed, step;
	Err *e;
} Run;

/* Fill r->e with "loc: interp: op: message"; returns -1. */
INTERP_LINK int interp_fail(Run *r, const Node *nd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Dimensions of s with N bound to r->n, into d[]; returns the rank. */
INTERP_LINK int interp_dims(const Run *r, const Shape *s, int64_t d[IR_MAXDIM]);
/* Element count of node id's value with N bound. */
INTERP_LINK int64_t interp_numel(const Run *r, int id);

/* Operand k of nd, and nd's own storage. */
#define IN(r, nd, k) ((const Real *)(r)->vals[(nd)->in[k]])
#define OUT(r, nd) ((r)->vals[(nd)->id])
#define INNODE(r, nd, k) ((r)->g->nodes[(nd)->in[k]])

/* interp_conv.c: convolution, dense and matmul, pooling. */
INTERP_LINK int interp_check_window(Run *r, const Node *nd, const int64_t x[4], int64_t kh, int64_t kw,
                                    const int64_t y[4]);
INTERP_LINK int interp_conv2d(Run *r, const Node *nd);
INTERP_LINK int interp_dense(Run *r, const Node *nd);
INTERP_LINK int interp_matmul(Run *r, const Node *nd);
INTERP_LINK int interp_pool(Run *r, const Node *nd);

/* interp_elem.c: broadcasting binary ops (minimum too), unary ops (sqrt
** too), global reductions; sumto and broadcast. */
INTERP_LINK int interp_bcast_strides(const Run *r, const Shape *s, const int64_t *yd, int ry, int64_t st[IR_MAXDIM]);
INTERP_LINK int interp_binary(Run *r, const Node *nd);
INTERP_LINK int interp_unary(Run *r, const Node *nd);
INTERP_LINK int interp_global(Run *r, const Node *nd);
INTERP_LINK int interp_sumto(Run *r, const Node *nd);
INTERP_LINK int interp_broadcast(Run *r, const Node *nd);

/* interp_misc.c: batch norm, softmax, concat, reshape, slice, dropout,
** const, assign. */
INTERP_LINK void interp_batch_stats(const Real *x, int64_t N, int64_t C, int64_t S, int64_t c, double *mean,
                                    double *var);
INTERP_LINK int interp_batchnorm(Run *r, const Node *nd);
INTERP_LINK int interp_softmax(Run *r, const Node *nd);
INTERP_LINK int interp_concat(Run *r, const Node *nd);
INTERP_LINK int interp_reshape(Run *r, const Node *nd);
INTERP_LINK int interp_slice(Run *r, const Node *nd);
INTERP_LINK int interp_dropout(Run *r, const Node *nd);
INTERP_LINK int interp_const(Run *r, const Node *nd);
INTERP_LINK int interp_assign(Run *r, const Node *nd);

/* interp_grad.c: the backward ops of convolution, matmul, pooling, relu and
** the global max/min. */
INTERP_LINK int interp_conv2d_dx(Run *r, const Node *nd);
INTERP_LINK int interp_conv2d_dw(Run *r, const Node *nd);
INTERP_LINK int interp_matmul_t(Run *r, const Node *nd);
INTERP_LINK int interp_relu_dx(Run *r, const Node *nd);
INTERP_LINK int interp_gsel_dx(Run *r, const Node *nd);
INTERP_LINK int interp_maxpool_dx(Run *r, const Node *nd);
INTERP_LINK int interp_avgpool_dx(Run *r, const Node *nd);

/* interp_loss.c: batch-norm gradients and statistics, softmax gradients,
** cross-entropy, batch mean. */
INTERP_LINK int interp_bn_grad(Run *r, const Node *nd);
INTERP_LINK int interp_bn_stat(Run *r, const Node *nd);
INTERP_LINK int interp_softmax_dx(Run *r, const Node *nd);
INTERP_LINK int interp_xent(Run *r, const Node *nd);
INTERP_LINK int interp_bmean(Run *r, const Node *nd);
INTERP_LINK int interp_bmean_dx(Run *r, const Node *nd);

#endif
