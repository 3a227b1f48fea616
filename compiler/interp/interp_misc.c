/*
** interp_misc.c -- the reference batch norm, softmax, concat, reshape,
** slice, dropout, const and assign.
*/
#include "interp_impl.h"

#include <math.h>
#include <string.h>

#include "../../runtime/lunac_rt.h"

/* Per-channel batch statistics of x viewed as [N,C,S]: mean and biased
** variance over N and S, two passes in double. */
void interp_batch_stats(const Real *x, int64_t N, int64_t C, int64_t S, int64_t c, double *mean, double *var)
{
	double s = 0, q = 0;
	for (int64_t b = 0; b < N; b++)
		for (int64_t i = 0; i < S; i++)
			s += x[(b * C + c) * S + i];
	*mean = s / (double)(N * S);
	for (int64_t b = 0; b < N; b++)
		for (int64_t i = 0; i < S; i++) {
			double d = x[(b * C + c) * S + i] - *mean;
			q += d * d;
		}
	*var = q / (double)(N * S);
}

/* y = (x - mean) / sqrt(var + eps) * gamma + beta per channel, x being
** [N,C] or [N,C,H,W]; mode=running reads mean and var from operands 3 and 4,
** mode=batch computes them over N,H,W (the running buffers are not updated). */
int interp_batchnorm(Run *r, const Node *nd)
{
	int64_t xd[IR_MAXDIM];
	int rx = interp_dims(r, &INNODE(r, nd, 0)->shape, xd);
	if (rx != 2 && rx != 4)
		return interp_fail(r, nd, "x must have rank 2 or 4, has %d", rx);
	int64_t N = xd[0], C = xd[1], S = rx == 4 ? xd[2] * xd[3] : 1;
	for (int k = 1; k < 5; k++)
		if (interp_numel(r, nd->in[k]) != C)
			return interp_fail(r, nd, "operand %d has %lld elements, expected C = %lld", k,
			                   (long long)interp_numel(r, nd->in[k]), (long long)C);
	if (interp_numel(r, nd->id) != N * C * S)
		return interp_fail(r, nd, "result size differs from x");
	if (nd->a.mode != MODE_RUNNING && nd->a.mode != MODE_BATCH)
		return interp_fail(r, nd, "mode=%s, expected running or batch", ir_mode_name(nd->a.mode));
	const Real *x = IN(r, nd, 0), *gamma = IN(r, nd, 1), *beta = IN(r, nd, 2);
	const Real *rmean = IN(r, nd, 3), *rvar = IN(r, nd, 4);
	Real *y = OUT(r, nd);
	for (int64_t c = 0; c < C; c++) {
		double mean = rmean[c], var = rvar[c];
		if (nd->a.mode == MODE_BATCH)
			interp_batch_stats(x, N, C, S, c, &mean, &var);
		double scale = gamma[c] / sqrt(var + (double)nd->a.eps);
		for (int64_t b = 0; b < N; b++)
			for (int64_t i = 0; i < S; i++) {
				int64_t at = (b * C + c) * S + i;
				y[at] = (Real)((x[at] - mean) * scale + beta[c]);
			}
	}
	return 0;
}

/* softmax / logsoftmax over the last axis, each row max-subtracted. */
int interp_softmax(Run *r, const Node *nd)
{
	const Shape *s = &nd->shape;
	int64_t k = interp_numel(r, nd->id);
	if (s->rank < 1 || interp_numel(r, nd->in[0]) != k)
		return interp_fail(r, nd, "result must have x's shape, rank >= 1");
	int64_t L = s->d[s->rank - 1] == IR_N ? r->n : s->d[s->rank - 1];
	const Real *x = IN(r, nd, 0);
	Real *y = OUT(r, nd);
	for (int64_t row = 0; L > 0 && row < k / L; row++) {
		const Real *xr = x + row * L;
		Real *yr = y + row * L;
		double m = xr[0], sum = 0;
		for (int64_t i = 1; i < L; i++)
			m = xr[i] > m ? xr[i] : m;
		for (int64_t i = 0; i < L; i++)
			sum += exp(xr[i] - m);
		for (int64_t i = 0; i < L; i++)
			yr[i] = (Real)(nd->op == OP_SOFTMAX ? exp(xr[i] - m) / sum : xr[i] - m - log(sum));
	}
	return 0;
}

/* Join the operands along axis (negative counts from the end): each of the
** outer blocks takes each operand's slab in turn. Copies 4-byte words, so
** i32 values work too. */
int interp_concat(Run *r, const Node *nd)
{
	int64_t yd[IR_MAXDIM], xd[IR_MAXDIM];
	int ry = interp_dims(r, &nd->shape, yd), ax = nd->a.axis < 0 ? nd->a.axis + ry : nd->a.axis;
	if (ax < 0 || ax >= ry)
		return interp_fail(r, nd, "axis %d out of range for rank %d", nd->a.axis, ry);
	int64_t outer = 1, total = 0;
	for (int i = 0; i < ax; i++)
		outer *= yd[i];
	for (int k = 0; k < nd->nin; k++) {
		if (interp_dims(r, &INNODE(r, nd, k)->shape, xd) != ry)
			return interp_fail(r, nd, "operand %d has a different rank", k);
		for (int i = 0; i < ry; i++)
			if (i != ax && xd[i] != yd[i])
				return interp_fail(r, nd, "operand %d differs from the result in dim %d", k, i);
		total += xd[ax];
	}
	if (total != yd[ax])
		return interp_fail(r, nd, "operands sum to %lld along axis %d, result has %lld", (long long)total, ax,
		                   (long long)yd[ax]);
	Real *y = OUT(r, nd);
	for (int64_t o = 0; o < outer; o++)
		for (int k = 0; k < nd->nin; k++) {
			int64_t slab = interp_numel(r, nd->in[k]) / (outer ? outer : 1);
			memcpy(y, IN(r, nd, k) + o * slab, slab * sizeof(Real));
			y += slab;
		}
	return 0;
}

/* Same elements, new shape: a copy. */
int interp_reshape(Run *r, const Node *nd)
{
	int64_t k = interp_numel(r, nd->id);
	if (interp_numel(r, nd->in[0]) != k)
		return interp_fail(r, nd, "result has %lld elements, x %lld", (long long)k,
		                   (long long)interp_numel(r, nd->in[0]));
	memcpy(OUT(r, nd), IN(r, nd, 0), k * sizeof(Real));
	return 0;
}

/* mode=off: y = x. mode=train or mc: element i (flat over the whole tensor)
** is kept iff rt_uniform(seed, step, stream, i) >= p, as x / (1-p) (p = 1
** drops everything). */
int interp_dropout(Run *r, const Node *nd)
{
	int64_t k = interp_numel(r, nd->id);
	if (interp_numel(r, nd->in[0]) != k)
		return interp_fail(r, nd, "result size differs from x");
	const Real *x = IN(r, nd, 0);
	Real *y = OUT(r, nd);
	if (nd->a.mode == MODE_OFF) {
		memcpy(y, x, k * sizeof(Real));
		return 0;
	}
	if (nd->a.mode != MODE_TRAIN && nd->a.mode != MODE_MC)
		return interp_fail(r, nd, "mode=%s, expected off, train or mc", ir_mode_name(nd->a.mode));
	float p = nd->a.p;
	if (!(p >= 0.0f && p <= 1.0f))
		return interp_fail(r, nd, "p=%g outside [0, 1]", (double)p);
	for (int64_t i = 0; i < k; i++)
		y[i] = rt_uniform(r->seed, r->step, (uint32_t)nd->a.stream, (uint64_t)i) >= p ? x[i] / ((Real)1 - p) : 0;
	return 0;
}

/* The constant's values, converted from its data. */
int interp_const(Run *r, const Node *nd)
{
	if (ir_batched(&nd->shape))
		return interp_fail(r, nd, "a constant cannot have the batch dimension N");
	if (!nd->a.data)
		return interp_fail(r, nd, "no data");
	Real *y = OUT(r, nd);
	for (int64_t i = 0; i < interp_numel(r, nd->id); i++)
		y[i] = nd->a.data[i];
	return 0;
}

/* slice: the window [start, start + T[axis]) of x along axis; the other
** dims are x's. */
int interp_slice(Run *r, const Node *nd)
{
	int64_t xd[IR_MAXDIM], yd[IR_MAXDIM];
	int rx = interp_dims(r, &INNODE(r, nd, 0)->shape, xd), ry = interp_dims(r, &nd->shape, yd), ax = nd->a.axis;
	int ok = rx == ry && ax >= 0 && ax < rx && nd->a.start >= 0 && nd->a.start + yd[ax] <= xd[ax];
	for (int i = 0; ok && i < rx; i++)
		ok = i == ax || xd[i] == yd[i];
	if (!ok)
		return interp_fail(r, nd, "window at %lld along axis %d does not fit x", (long long)nd->a.start, ax);
	int64_t outer = 1, inner = 1;
	for (int i = 0; i < ax; i++)
		outer *= xd[i];
	for (int i = ax + 1; i < rx; i++)
		inner *= xd[i];
	const Real *x = IN(r, nd, 0);
	Real *y = OUT(r, nd);
	for (int64_t o = 0; o < outer; o++)
		memcpy(y + o * yd[ax] * inner, x + (o * xd[ax] + nd->a.start) * inner, (size_t)(yd[ax] * inner) * sizeof(Real));
	return 0;
}

/* assign: value copied into the destination's storage now (positional:
** the verifier guarantees nothing after this node reads the destination),
** and into the assign's own storage when it has any. */
int interp_assign(Run *r, const Node *nd)
{
	int64_t k = interp_numel(r, nd->in[1]);
	if (interp_numel(r, nd->in[0]) != k)
		return interp_fail(r, nd, "value has %lld elements, destination %lld", (long long)k,
		                   (long long)interp_numel(r, nd->in[0]));
	Op d = INNODE(r, nd, 0)->op;
	if (d != OP_PARAM && d != OP_BUFFER && d != OP_STATE)
		return interp_fail(r, nd, "destination %%%d is a %s, not a param, buffer or state", nd->in[0], ir_ops[d].name);
	memcpy(r->vals[nd->in[0]], IN(r, nd, 1), (size_t)k * sizeof(Real));
	if (OUT(r, nd))
		memcpy(OUT(r, nd), IN(r, nd, 1), (size_t)k * sizeof(Real));
	return 0;
}
