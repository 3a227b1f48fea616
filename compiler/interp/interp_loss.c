/*
** interp_loss.c -- the reference batch-norm gradients and statistics,
** softmax gradients, cross-entropy and batch mean (docs/ir.md, "Training
** ops"). Sums in double.
*/
#include "interp_impl.h"

#include <math.h>
#include <stdint.h>

/* x's dims as [N,C,S] for a batch-norm op; -1 unless x is rank 2 or 4. */
static int bn_view(Run *r, const Node *nd, int64_t *N, int64_t *C, int64_t *S)
{
	int64_t xd[IR_MAXDIM];
	int rx = interp_dims(r, &INNODE(r, nd, 0)->shape, xd);
	if (rx != 2 && rx != 4)
		return interp_fail(r, nd, "x must have rank 2 or 4, has %d", rx);
	*N = xd[0], *C = xd[1], *S = rx == 4 ? xd[2] * xd[3] : 1;
	return 0;
}

/* bn_dx (x, gamma, dy): gamma/s (dy - mean(dy) - xh mean(dy xh)) per
** channel; bn_dgamma (x, dy): sum(dy xh) per channel. xh = (x - mean) / s,
** s = sqrt(var + eps), with the batch mean and biased variance. */
int interp_bn_grad(Run *r, const Node *nd)
{
	int64_t N = 0, C = 0, S = 0;
	if (bn_view(r, nd, &N, &C, &S))
		return -1;
	int dx = nd->op == OP_BN_DX, dyk = dx ? 2 : 1;
	if (interp_numel(r, nd->in[dyk]) != N * C * S || (dx && interp_numel(r, nd->in[1]) != C) ||
	    interp_numel(r, nd->id) != (dx ? N * C * S : C))
		return interp_fail(r, nd, "dy must have x's size, gamma and a dgamma result C = %lld", (long long)C);
	const Real *x = IN(r, nd, 0), *dy = IN(r, nd, dyk), *gamma = dx ? IN(r, nd, 1) : NULL;
	Real *y = OUT(r, nd);
	double M = (double)(N * S);
	for (int64_t c = 0; c < C; c++) {
		double mean, var, sdy = 0, sdyx = 0;
		interp_batch_stats(x, N, C, S, c, &mean, &var);
		double s = sqrt(var + (double)nd->a.eps);
		for (int64_t b = 0; b < N; b++)
			for (int64_t i = 0; i < S; i++) {
				int64_t at = (b * C + c) * S + i;
				sdy += dy[at];
				sdyx += dy[at] * ((x[at] - mean) / s);
			}
		if (!dx) {
			y[c] = (Real)sdyx;
			continue;
		}
		for (int64_t b = 0; b < N; b++)
			for (int64_t i = 0; i < S; i++) {
				int64_t at = (b * C + c) * S + i;
				double xh = (x[at] - mean) / s;
				y[at] = (Real)(gamma[c] / s * (dy[at] - sdy / M - xh * sdyx / M));
			}
	}
	return 0;
}

/* bn_mean, bn_var (x): the batch mean and the unbiased variance per channel
** over N (and H, W). With one element per channel the unbiased variance is
** 0/0 = NaN. */
int interp_bn_stat(Run *r, const Node *nd)
{
	int64_t N = 0, C = 0, S = 0;
	if (bn_view(r, nd, &N, &C, &S))
		return -1;
	if (interp_numel(r, nd->id) != C)
		return interp_fail(r, nd, "result has %lld elements, expected C = %lld", (long long)interp_numel(r, nd->id),
		                   (long long)C);
	Real *y = OUT(r, nd);
	double M = (double)(N * S);
	for (int64_t c = 0; c < C; c++) {
		double mean, var;
		interp_batch_stats(IN(r, nd, 0), N, C, S, c, &mean, &var);
		y[c] = (Real)(nd->op == OP_BN_MEAN ? mean : var * M / (M - 1));
	}
	return 0;
}

/* The last dim L of node id (N bound) and its number of rows; -1 if empty. */
static int rows_of(Run *r, const Node *nd, int id, int64_t *L, int64_t *rows)
{
	int64_t d[IR_MAXDIM];
	int rk = interp_dims(r, &r->g->nodes[id]->shape, d);
	if (rk < 1 || d[rk - 1] < 1)
		return interp_fail(r, nd, "operand %%%d must have rank >= 1 and a non-empty last axis", id);
	*L = d[rk - 1];
	*rows = interp_numel(r, id) / *L;
	return 0;
}

/* softmax_dx (y, dy): y (dy - sum_last dy y); logsoftmax_dx (y, dy):
** dy - exp(y) sum_last dy. */
int interp_softmax_dx(Run *r, const Node *nd)
{
	int64_t L = 1, rows = 0, k = interp_numel(r, nd->id);
	if (rows_of(r, nd, nd->in[0], &L, &rows))
		return -1;
	if (interp_numel(r, nd->in[0]) != k || interp_numel(r, nd->in[1]) != k)
		return interp_fail(r, nd, "y, dy and the result must have the same size");
	const Real *y = IN(r, nd, 0), *dy = IN(r, nd, 1);
	Real *dx = OUT(r, nd);
	int soft = nd->op == OP_SOFTMAX_DX;
	for (int64_t row = 0; row < rows; row++) {
		const Real *yr = y + row * L, *gr = dy + row * L;
		double s = 0;
		for (int64_t i = 0; i < L; i++)
			s += soft ? (double)gr[i] * yr[i] : gr[i];
		for (int64_t i = 0; i < L; i++)
			dx[row * L + i] = (Real)(soft ? yr[i] * (gr[i] - s) : gr[i] - exp(yr[i]) * s);
	}
	return 0;
}

/* xent (logits[N,K], labels i32[N]) -> [N]: -sum_k q_k logsoftmax_k with
** q = (1-s) onehot(label) + s/K; xent_dx (logits, labels, dl[N]) -> [N,K]:
** (softmax - q) dl. A label outside [0, K) makes its sample's row NaN. */
int interp_xent(Run *r, const Node *nd)
{
	int64_t xd[IR_MAXDIM];
	if (interp_dims(r, &INNODE(r, nd, 0)->shape, xd) != 2 || xd[1] < 1)
		return interp_fail(r, nd, "logits must be [N,K] with K >= 1");
	int64_t N = xd[0], K = xd[1], grad = nd->op == OP_XENT_DX;
	if (interp_numel(r, nd->in[1]) != N || (grad && interp_numel(r, nd->in[2]) != N) ||
	    interp_numel(r, nd->id) != (grad ? N * K : N))
		return interp_fail(r, nd, "labels%s must have N = %lld elements", grad ? " and dl" : "", (long long)N);
	const Real *x = IN(r, nd, 0), *dl = grad ? IN(r, nd, 2) : NULL;
	const int32_t *lab = (const int32_t *)r->vals[nd->in[1]];
	double s = nd->a.smoothing;
	Real *y = OUT(r, nd);
	for (int64_t n = 0; n < N; n++) {
		const Real *xr = x + n * K;
		double m = xr[0], z = 0, sumls = 0;
		for (int64_t k = 1; k < K; k++)
			m = xr[k] > m ? xr[k] : m;
		for (int64_t k = 0; k < K; k++)
			z += exp(xr[k] - m);
		double lz = m + log(z);
		int ok = lab[n] >= 0 && lab[n] < K;
		for (int64_t k = 0; k < K; k++) {
			double q = (k == lab[n] ? 1 - s : 0) + s / (double)K;
			sumls += q * (xr[k] - lz);
			if (grad)
				y[n * K + k] = ok ? (Real)((exp(xr[k] - lz) - q) * dl[n]) : (Real)NAN;
		}
		if (!grad)
			y[n] = ok ? (Real)-sumls : (Real)NAN;
	}
	return 0;
}

/* bmean (x[N,...]) -> [...]: the mean over the batch. */
int interp_bmean(Run *r, const Node *nd)
{
	int64_t k = interp_numel(r, nd->id);
	if (!ir_batched(&INNODE(r, nd, 0)->shape) || interp_numel(r, nd->in[0]) != r->n * k)
		return interp_fail(r, nd, "x must be [N,...] with the result's element count per sample");
	const Real *x = IN(r, nd, 0);
	Real *y = OUT(r, nd);
	for (int64_t i = 0; i < k; i++) {
		double s = 0;
		for (int64_t b = 0; b < r->n; b++)
			s += x[b * k + i];
		y[i] = (Real)(s / (double)r->n);
	}
	return 0;
}

/* bmean_dx (dy) shape=[N,...]: dy / n for every sample. */
int interp_bmean_dx(Run *r, const Node *nd)
{
	int64_t k = interp_numel(r, nd->in[0]);
	if (!ir_batched(&nd->shape) || interp_numel(r, nd->id) != r->n * k)
		return interp_fail(r, nd, "the result must be [N,...] with dy's element count per sample");
	const Real *dy = IN(r, nd, 0);
	Real *y = OUT(r, nd);
	for (int64_t b = 0; b < r->n; b++)
		for (int64_t i = 0; i < k; i++)
			y[b * k + i] = (Real)((double)dy[i] / (double)r->n);
	return 0;
}
