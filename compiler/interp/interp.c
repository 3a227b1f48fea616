/*
** interp.c -- the reference interpreter: runs a graph node by node in plain,
** obviously-correct C. It is the oracle for compiled code and gradients, so
** it favours clarity (and double accumulation) over speed. The op semantics
** are the table in docs/ir.md.
*/
#include "interp_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A new op in ops.h must get a case in dispatch() below; -Wswitch names it. */
#pragma GCC diagnostic error "-Wswitch"
_Static_assert(OP_COUNT == 53, "interp: ops.h changed; add the new op to dispatch()");

int interp_fail(Run *r, const Node *nd, const char *fmt, ...)
{
	char buf[IR_ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	if (!r->e)
		return -1;
	if (nd && nd->loc)
		return ir_errorf(r->e, "%s: interp: %%%d %s: %s", nd->loc, nd->id, ir_ops[nd->op].name, buf);
	if (nd)
		return ir_errorf(r->e, "interp: %%%d %s: %s", nd->id, ir_ops[nd->op].name, buf);
	return ir_errorf(r->e, "interp: %s", buf);
}

int interp_dims(const Run *r, const Shape *s, int64_t d[IR_MAXDIM])
{
	for (int i = 0; i < s->rank; i++)
		d[i] = s->d[i] == IR_N ? r->n : s->d[i];
	return s->rank;
}

int64_t interp_numel(const Run *r, int id)
{
	return ir_numel(&r->g->nodes[id]->shape, r->n);
}

/* Ops whose operands and result may be i32: they only move 4-byte words. */
static int moves_only(Op op)
{
	return ir_ops[op].kind == K_SOURCE || op == OP_RESHAPE || op == OP_CONCAT;
}

/* 1 if operand k of op holds class labels, which must be i32. */
static int label_operand(Op op, int k)
{
	return (op == OP_XENT || op == OP_XENT_DX) && k == 1;
}

/* Structural checks that keep the kernels in bounds: operand count, operand
** order, storage present (an assign may have none), f32 where arithmetic
** happens, i32 where labels are read. */
static int check_node(Run *r, const Node *nd)
{
	const OpInfo *oi = &ir_ops[nd->op];
	if (nd->nin < oi->min_in || nd->nin > oi->max_in)
		return interp_fail(r, nd, "%d operands, expected %d..%d", nd->nin, oi->min_in, oi->max_in);
	if (!r->vals[nd->id] && nd->op != OP_ASSIGN)
		return interp_fail(r, nd, "no storage for the result");
	for (int k = 0; k < nd->nin; k++) {
		int a = nd->in[k];
		if (a < 0 || a >= nd->id)
			return interp_fail(r, nd, "operand %d is %%%d, not an earlier node", k, a);
		if (!r->vals[a])
			return interp_fail(r, nd, "operand %%%d has no storage", a);
		DType t = r->g->nodes[a]->dtype;
		if (label_operand(nd->op, k) && t != DT_I32)
			return interp_fail(r, nd, "operand %%%d is %s; labels must be i32", a, ir_dtype_name(t));
		if (!label_operand(nd->op, k) && !moves_only(nd->op) && t != DT_F32)
			return interp_fail(r, nd, "operand %%%d is %s; only f32 is supported", a, ir_dtype_name(t));
	}
	if (!moves_only(nd->op) && nd->dtype != DT_F32)
		return interp_fail(r, nd, "result is %s; only f32 is supported", ir_dtype_name(nd->dtype));
	return 0;
}

/* Run one node: the single switch over every op. */
static int dispatch(Run *r, const Node *nd)
{
	switch (nd->op) {
	case OP_INPUT:
	case OP_PARAM:
	case OP_BUFFER:
	case OP_STATE:
		return 0;       /* filled by the caller */
	case OP_CONST:
		return interp_const(r, nd);
	case OP_CONV2D:
		return interp_conv2d(r, nd);
	case OP_DENSE:
		return interp_dense(r, nd);
	case OP_MATMUL:
		return interp_matmul(r, nd);
	case OP_ADD:
	case OP_SUB:
	case OP_MUL:
	case OP_DIV:
	case OP_MINIMUM:
		return interp_binary(r, nd);
	case OP_NEG:
	case OP_RELU:
	case OP_SIGMOID:
	case OP_TANH:
	case OP_EXP:
	case OP_LOG:
	case OP_SQRT:
		return interp_unary(r, nd);
	case OP_GAVG:
	case OP_GMAX:
	case OP_GMIN:
		return interp_global(r, nd);
	case OP_MAXPOOL:
	case OP_AVGPOOL:
		return interp_pool(r, nd);
	case OP_BATCHNORM:
		return interp_batchnorm(r, nd);
	case OP_CONCAT:
		return interp_concat(r, nd);
	case OP_RESHAPE:
		return interp_reshape(r, nd);
	case OP_SOFTMAX:
	case OP_LOGSOFTMAX:
		return interp_softmax(r, nd);
	case OP_DROPOUT:
		return interp_dropout(r, nd);
	case OP_SUMTO:
		return interp_sumto(r, nd);
	case OP_BROADCAST:
		return interp_broadcast(r, nd);
	case OP_CONV2D_DX:
		return interp_conv2d_dx(r, nd);
	case OP_CONV2D_DW:
		return interp_conv2d_dw(r, nd);
	case OP_MATMUL_NT:
	case OP_MATMUL_TN:
		return interp_matmul_t(r, nd);
	case OP_RELU_DX:
		return interp_relu_dx(r, nd);
	case OP_GSEL_DX:
		return interp_gsel_dx(r, nd);
	case OP_MAXPOOL_DX:
		return interp_maxpool_dx(r, nd);
	case OP_AVGPOOL_DX:
		return interp_avgpool_dx(r, nd);
	case OP_BN_DX:
	case OP_BN_DGAMMA:
		return interp_bn_grad(r, nd);
	case OP_BN_MEAN:
	case OP_BN_VAR:
		return interp_bn_stat(r, nd);
	case OP_SLICE:
		return interp_slice(r, nd);
	case OP_SOFTMAX_DX:
	case OP_LOGSOFTMAX_DX:
		return interp_softmax_dx(r, nd);
	case OP_XENT:
	case OP_XENT_DX:
		return interp_xent(r, nd);
	case OP_BMEAN:
		return interp_bmean(r, nd);
	case OP_BMEAN_DX:
		return interp_bmean_dx(r, nd);
	case OP_ASSIGN:
		return interp_assign(r, nd);
	case OP_COUNT:
		break;
	}
	return interp_fail(r, nd, "unknown op %d", (int)nd->op);
}

int interp_run(const Graph *g, int64_t n, Real **vals, uint64_t seed, uint64_t step, Err *e)
{
	Run r = {g, n, vals, seed, step, e};
	if (n < 1)
		return interp_fail(&r, NULL, "batch size %lld, expected at least 1", (long long)n);
	for (int i = 0; i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		if (nd->dead)
			continue;
		if ((unsigned)nd->op >= OP_COUNT)
			return interp_fail(&r, NULL, "%%%d: unknown op %d", i, (int)nd->op);
		if (check_node(&r, nd) || dispatch(&r, nd))
			return -1;
	}
	return 0;
}

Real **interp_alloc(const Graph *g, int64_t n)
{
	Real **vals = calloc(g->nnodes ? g->nnodes : 1, sizeof *vals);
	if (!vals)
		return NULL;
	for (int i = 0; i < g->nnodes; i++) {
		int64_t k = ir_numel(&g->nodes[i]->shape, n);
		vals[i] = calloc(k > 0 ? k : 1, sizeof(Real));
		if (!vals[i]) {
			interp_free(g, vals);
			return NULL;
		}
	}
	return vals;
}

void interp_free(const Graph *g, Real **vals)
{
	if (!vals)
		return;
	for (int i = 0; i < g->nnodes; i++)
		free(vals[i]);
	free(vals);
}

/* L = sum_i dy[i] * out[i] (sum of out when dy is NULL), in double. */
static double weighted_sum(const Real *out, const Real *dy, int64_t k)
{
	double s = 0;
	for (int64_t i = 0; i < k; i++)
		s += dy ? (double)dy[i] * out[i] : out[i];
	return s;
}

int interp_fd_grad(const Graph *g, int64_t n, Real **vals, uint64_t seed, uint64_t step,
                   int wrt, int out, const Real *dy, Real h, Real *grad, Err *e)
{
	Run r = {g, n, vals, seed, step, e};
	if (wrt < 0 || wrt >= g->nnodes || out < 0 || out >= g->nnodes)
		return interp_fail(&r, NULL, "fd_grad: node out of range");
	Op op = g->nodes[wrt]->op;
	if (op != OP_INPUT && op != OP_PARAM && op != OP_BUFFER && op != OP_STATE)
		return interp_fail(&r, g->nodes[wrt], "fd_grad: can only perturb input, param, buffer or state");
	Real *x = vals[wrt];
	int64_t k = ir_numel(&g->nodes[wrt]->shape, n), ko = ir_numel(&g->nodes[out]->shape, n);
	for (int64_t j = 0; j < k; j++) {
		Real x0 = x[j];
		x[j] = x0 + h;
		if (interp_run(g, n, vals, seed, step, e))
			return x[j] = x0, -1;
		double lp = weighted_sum(vals[out], dy, ko);
		x[j] = x0 - h;
		if (interp_run(g, n, vals, seed, step, e))
			return x[j] = x0, -1;
		double lm = weighted_sum(vals[out], dy, ko);
		x[j] = x0;
		/* divide by the step actually taken, which rounding may change */
		grad[j] = (Real)((lp - lm) / ((double)(x0 + h) - (double)(x0 - h)));
	}
	return interp_run(g, n, vals, seed, step, e);
}
