/*
** interp_impl.h -- what the interpreter's files share: the run context, the
** per-op kernels (one per op or op family) and small shape helpers.
** Private to compiler/interp/.
*/
#ifndef LUNAC_INTERP_IMPL_H
#define LUNAC_INTERP_IMPL_H

#include "interp.h"

/* One interpreter run: the graph, the bound batch size, the value storage. */
typedef struct Run {
	const Graph *g;
	int64_t n;
	float **vals;
	uint64_t seed, step;
	Err *e;
} Run;

/* Fill r->e with "loc: interp: op: message"; returns -1. */
int interp_fail(Run *r, const Node *nd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Dimensions of s with N bound to r->n, into d[]; returns the rank. */
int interp_dims(const Run *r, const Shape *s, int64_t d[IR_MAXDIM]);
/* Element count of node id's value with N bound. */
int64_t interp_numel(const Run *r, int id);

/* Operand k of nd, and nd's own storage. */
#define IN(r, nd, k) ((const float *)(r)->vals[(nd)->in[k]])
#define OUT(r, nd) ((r)->vals[(nd)->id])
#define INNODE(r, nd, k) ((r)->g->nodes[(nd)->in[k]])

/* interp_conv.c: convolution, dense and matmul, pooling. */
int interp_conv2d(Run *r, const Node *nd);
int interp_dense(Run *r, const Node *nd);
int interp_matmul(Run *r, const Node *nd);
int interp_pool(Run *r, const Node *nd);

/* interp_elem.c: broadcasting binary ops, unary ops, global reductions. */
int interp_binary(Run *r, const Node *nd);
int interp_unary(Run *r, const Node *nd);
int interp_global(Run *r, const Node *nd);

/* interp_misc.c: batch norm, softmax, concat, reshape, dropout, const. */
int interp_batchnorm(Run *r, const Node *nd);
int interp_softmax(Run *r, const Node *nd);
int interp_concat(Run *r, const Node *nd);
int interp_reshape(Run *r, const Node *nd);
int interp_dropout(Run *r, const Node *nd);
int interp_const(Run *r, const Node *nd);

#endif
