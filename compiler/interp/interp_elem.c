/*
** interp_elem.c -- the reference elementwise ops: add/sub/mul/div with numpy
** broadcasting (and minimum), the unary functions (and sqrt), the global
** reductions, and sumto / broadcast, which undo and do a broadcast.
*/
#include "interp_impl.h"

#include <math.h>
#include <stdlib.h>

/* Strides (in elements) of operand shape s read at every index of the result
** dims yd[ry]: right-aligned; a missing or size-1 dim that the result
** stretches gets stride 0. Returns -1 when a dim neither matches nor is 1. */
int interp_bcast_strides(const Run *r, const Shape *s, const int64_t *yd, int ry, int64_t st[IR_MAXDIM])
{
	int64_t d[IR_MAXDIM];
	int rs = interp_dims(r, s, d);
	if (rs > ry)
		return -1;
	int64_t acc = 1;
	for (int i = ry - 1; i >= 0; i--) {
		int j = i - (ry - rs);
		if (j < 0) {
			st[i] = 0;
			continue;
		}
		if (d[j] == yd[i])
			st[i] = d[j] == 1 ? 0 : acc;
		else if (d[j] == 1)
			st[i] = 0;
		else
			return -1;
		acc *= d[j];
	}
	return 0;
}

/* minimum propagates NaN, so a NaN norm is not clipped into a number. */
static double binop(Op op, double a, double b)
{
	switch (op) {
	case OP_ADD: return a + b;
	case OP_SUB: return a - b;
	case OP_MUL: return a * b;
	case OP_MINIMUM: return isnan(a) || isnan(b) ? NAN : a < b ? a : b;
	default: return a / b;
	}
}

/* y = a OP b, each operand read through its broadcast strides; the result's
** multi-index advances like an odometer, last dim fastest. */
int interp_binary(Run *r, const Node *nd)
{
	int64_t yd[IR_MAXDIM], sa[IR_MAXDIM], sb[IR_MAXDIM], idx[IR_MAXDIM] = {0};
	int ry = interp_dims(r, &nd->shape, yd);
	if (interp_bcast_strides(r, &INNODE(r, nd, 0)->shape, yd, ry, sa) ||
	    interp_bcast_strides(r, &INNODE(r, nd, 1)->shape, yd, ry, sb))
		return interp_fail(r, nd, "operands do not broadcast to the result shape");
	const Real *a = IN(r, nd, 0), *b = IN(r, nd, 1);
	Real *y = OUT(r, nd);
	int64_t k = interp_numel(r, nd->id), oa = 0, ob = 0;
	for (int64_t i = 0; i < k; i++) {
		y[i] = (Real)binop(nd->op, a[oa], b[ob]);
		for (int d = ry - 1; d >= 0; d--) {
			oa += sa[d];
			ob += sb[d];
			if (++idx[d] < yd[d])
				break;
			oa -= sa[d] * yd[d];
			ob -= sb[d] * yd[d];
			idx[d] = 0;
		}
	}
	return 0;
}

/* The numerically stable logistic function. */
static double sigmoid(double x)
{
	if (x >= 0)
		return 1.0 / (1.0 + exp(-x));
	double e = exp(x);
	return e / (1.0 + e);
}

static double unop(Op op, double x)
{
	switch (op) {
	case OP_NEG: return -x;
	case OP_RELU: return x > 0 ? x : 0.0;
	case OP_SIGMOID: return sigmoid(x);
	case OP_TANH: return tanh(x);
	case OP_EXP: return exp(x);
	case OP_SQRT: return sqrt(x);
	default: return log(x);
	}
}

/* y = f(x) elementwise; the result has x's shape. */
int interp_unary(Run *r, const Node *nd)
{
	int64_t k = interp_numel(r, nd->id);
	if (interp_numel(r, nd->in[0]) != k)
		return interp_fail(r, nd, "result has %lld elements, x %lld", (long long)k,
		                   (long long)interp_numel(r, nd->in[0]));
	const Real *x = IN(r, nd, 0);
	Real *y = OUT(r, nd);
	for (int64_t i = 0; i < k; i++)
		y[i] = (Real)unop(nd->op, x[i]);
	return 0;
}

/* gavg / gmax / gmin: x[N,C,...] reduced over every dim after C, to [N,C]
** or [N,C,1,1] (same storage either way). Max and min propagate NaN. */
int interp_global(Run *r, const Node *nd)
{
	int64_t xd[IR_MAXDIM];
	int rx = interp_dims(r, &INNODE(r, nd, 0)->shape, xd);
	if (rx < 2)
		return interp_fail(r, nd, "x must have rank >= 2, has %d", rx);
	int64_t planes = xd[0] * xd[1], inner = interp_numel(r, nd->in[0]) / (planes ? planes : 1);
	if (inner < 1)
		return interp_fail(r, nd, "x has empty planes");
	if (interp_numel(r, nd->id) != planes)
		return interp_fail(r, nd, "result has %lld elements, expected N*C = %lld",
		                   (long long)interp_numel(r, nd->id), (long long)planes);
	const Real *x = IN(r, nd, 0);
	Real *y = OUT(r, nd);
	for (int64_t p = 0; p < planes; p++) {
		const Real *s = x + p * inner;
		double acc = nd->op == OP_GAVG ? 0.0 : s[0];
		for (int64_t i = nd->op == OP_GAVG ? 0 : 1; i < inner; i++) {
			double t = s[i];
			if (nd->op == OP_GAVG)
				acc += t;
			else if (isnan(t) || (nd->op == OP_GMAX ? t > acc : t < acc))
				acc = isnan(acc) ? acc : t;
		}
		y[p] = (Real)(nd->op == OP_GAVG ? acc / inner : acc);
	}
	return 0;
}

/* sumto: x summed down to the result shape T, which broadcasts to x: every
** element of x adds into the element of T its broadcast reads. Sums in
** double, in a scratch buffer. */
int interp_sumto(Run *r, const Node *nd)
{
	int64_t xd[IR_MAXDIM], st[IR_MAXDIM], idx[IR_MAXDIM] = {0};
	int rx = interp_dims(r, &INNODE(r, nd, 0)->shape, xd);
	if (interp_bcast_strides(r, &nd->shape, xd, rx, st))
		return interp_fail(r, nd, "the result shape does not broadcast to x");
	int64_t k = interp_numel(r, nd->in[0]), ky = interp_numel(r, nd->id), o = 0;
	double *acc = calloc(ky > 0 ? (size_t)ky : 1, sizeof *acc);
	if (!acc)
		return interp_fail(r, nd, "out of memory");
	const Real *x = IN(r, nd, 0);
	for (int64_t i = 0; i < k; i++) {
		acc[o] += x[i];
		for (int d = rx - 1; d >= 0; d--) {
			o += st[d];
			if (++idx[d] < xd[d])
				break;
			o -= st[d] * xd[d];
			idx[d] = 0;
		}
	}
	Real *y = OUT(r, nd);
	for (int64_t i = 0; i < ky; i++)
		y[i] = (Real)acc[i];
	free(acc);
	return 0;
}

/* broadcast: x expanded to the result shape (numpy rules). */
int interp_broadcast(Run *r, const Node *nd)
{
	int64_t yd[IR_MAXDIM], st[IR_MAXDIM], idx[IR_MAXDIM] = {0};
	int ry = interp_dims(r, &nd->shape, yd);
	if (interp_bcast_strides(r, &INNODE(r, nd, 0)->shape, yd, ry, st))
		return interp_fail(r, nd, "x does not broadcast to the result shape");
	const Real *x = IN(r, nd, 0);
	Real *y = OUT(r, nd);
	int64_t k = interp_numel(r, nd->id), o = 0;
	for (int64_t i = 0; i < k; i++) {
		y[i] = x[o];
		for (int d = ry - 1; d >= 0; d--) {
			o += st[d];
			if (++idx[d] < yd[d])
				break;
			o -= st[d] * yd[d];
			idx[d] = 0;
		}
	}
	return 0;
}
