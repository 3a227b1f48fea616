/*
** interp_conv.c -- the reference conv2d, dense, matmul and pooling: direct
** loops, sums in double, layout NCHW and weights OIHW.
*/
#include "interp_impl.h"

#include <math.h>

/* Check stride >= 1 and pad >= 0, and that (OH, OW) is what a window of
** (KH, KW) over (H, W) gives; 0 when consistent. */
int interp_check_window(Run *r, const Node *nd, const int64_t x[4], int64_t kh, int64_t kw, const int64_t y[4])
{
	const int64_t *s = nd->a.stride, *p = nd->a.pad;
	if (s[0] < 1 || s[1] < 1 || p[0] < 0 || p[1] < 0)
		return interp_fail(r, nd, "stride %lld,%lld and pad %lld,%lld: need stride >= 1, pad >= 0",
		                   (long long)s[0], (long long)s[1], (long long)p[0], (long long)p[1]);
	int64_t oh = (x[2] + 2 * p[0] - kh) / s[0] + 1, ow = (x[3] + 2 * p[1] - kw) / s[1] + 1;
	if (x[2] + 2 * p[0] < kh || x[3] + 2 * p[1] < kw || y[2] != oh || y[3] != ow)
		return interp_fail(r, nd, "output %lldx%lld, expected %lldx%lld", (long long)y[2],
		                   (long long)y[3], (long long)oh, (long long)ow);
	return 0;
}

/* y[n,o,i,j] = b[o] + sum_{c,u,v} x[n,c,i*sh-ph+u, j*sw-pw+v] * w[o,c,u,v],
** out-of-bounds x being 0. */
int interp_conv2d(Run *r, const Node *nd)
{
	int64_t xd[IR_MAXDIM], wd[IR_MAXDIM], yd[IR_MAXDIM];
	if (interp_dims(r, &INNODE(r, nd, 0)->shape, xd) != 4 || interp_dims(r, &INNODE(r, nd, 1)->shape, wd) != 4 ||
	    interp_dims(r, &nd->shape, yd) != 4)
		return interp_fail(r, nd, "x, w and the result must be rank 4");
	if (wd[1] != xd[1] || yd[1] != wd[0] || yd[0] != xd[0])
		return interp_fail(r, nd, "x has %lld channels, w is [%lld,%lld,..], result [%lld,%lld,..]",
		                   (long long)xd[1], (long long)wd[0], (long long)wd[1], (long long)yd[0], (long long)yd[1]);
	if (nd->nin == 3 && interp_numel(r, nd->in[2]) != wd[0])
		return interp_fail(r, nd, "bias has %lld elements, expected %lld", (long long)interp_numel(r, nd->in[2]),
		                   (long long)wd[0]);
	if (interp_check_window(r, nd, xd, wd[2], wd[3], yd))
		return -1;
	const Real *x = IN(r, nd, 0), *w = IN(r, nd, 1), *b = nd->nin == 3 ? IN(r, nd, 2) : NULL;
	Real *y = OUT(r, nd);
	int64_t C = xd[1], H = xd[2], W = xd[3], KH = wd[2], KW = wd[3];
	int64_t sh = nd->a.stride[0], sw = nd->a.stride[1], ph = nd->a.pad[0], pw = nd->a.pad[1];
	for (int64_t bn = 0; bn < yd[0]; bn++)
		for (int64_t o = 0; o < yd[1]; o++)
			for (int64_t i = 0; i < yd[2]; i++)
				for (int64_t j = 0; j < yd[3]; j++) {
					double acc = b ? b[o] : 0.0;
					for (int64_t c = 0; c < C; c++)
						for (int64_t u = 0; u < KH; u++) {
							int64_t ih = i * sh - ph + u;
							if (ih < 0 || ih >= H)
								continue;
							for (int64_t v = 0; v < KW; v++) {
								int64_t iw = j * sw - pw + v;
								if (iw < 0 || iw >= W)
									continue;
								acc += (double)x[((bn * C + c) * H + ih) * W + iw] *
								       w[((o * C + c) * KH + u) * KW + v];
							}
						}
					y[((bn * yd[1] + o) * yd[2] + i) * yd[3] + j] = (Real)acc;
				}
	return 0;
}

/* y = a[M,K] . bt, where bt(k, p) reads b; sums in double. */
static void gemm(const Real *a, const Real *b, const Real *bias, Real *y, int64_t M, int64_t K, int64_t P,
                 int b_is_wt)
{
	for (int64_t m = 0; m < M; m++)
		for (int64_t p = 0; p < P; p++) {
			double acc = bias ? bias[p] : 0.0;
			for (int64_t k = 0; k < K; k++)
				acc += (double)a[m * K + k] * (b_is_wt ? b[p * K + k] : b[k * P + p]);
			y[m * P + p] = (Real)acc;
		}
}

/* y[N,O] = x[N,K] . w[O,K]^T + b[O] (PyTorch Linear). */
int interp_dense(Run *r, const Node *nd)
{
	int64_t xd[IR_MAXDIM], wd[IR_MAXDIM], yd[IR_MAXDIM];
	if (interp_dims(r, &INNODE(r, nd, 0)->shape, xd) != 2 || interp_dims(r, &INNODE(r, nd, 1)->shape, wd) != 2 ||
	    interp_dims(r, &nd->shape, yd) != 2)
		return interp_fail(r, nd, "x, w and the result must be rank 2");
	if (wd[1] != xd[1] || yd[0] != xd[0] || yd[1] != wd[0])
		return interp_fail(r, nd, "x [%lld,%lld], w [%lld,%lld], result [%lld,%lld] do not agree",
		                   (long long)xd[0], (long long)xd[1], (long long)wd[0], (long long)wd[1],
		                   (long long)yd[0], (long long)yd[1]);
	if (nd->nin == 3 && interp_numel(r, nd->in[2]) != wd[0])
		return interp_fail(r, nd, "bias has %lld elements, expected %lld", (long long)interp_numel(r, nd->in[2]),
		                   (long long)wd[0]);
	gemm(IN(r, nd, 0), IN(r, nd, 1), nd->nin == 3 ? IN(r, nd, 2) : NULL, OUT(r, nd), xd[0], xd[1], wd[0], 1);
	return 0;
}

/* y[M,P] = a[M,K] . b[K,P]. */
int interp_matmul(Run *r, const Node *nd)
{
	int64_t ad[IR_MAXDIM], bd[IR_MAXDIM], yd[IR_MAXDIM];
	if (interp_dims(r, &INNODE(r, nd, 0)->shape, ad) != 2 || interp_dims(r, &INNODE(r, nd, 1)->shape, bd) != 2 ||
	    interp_dims(r, &nd->shape, yd) != 2)
		return interp_fail(r, nd, "a, b and the result must be rank 2");
	if (ad[1] != bd[0] || yd[0] != ad[0] || yd[1] != bd[1])
		return interp_fail(r, nd, "a [%lld,%lld], b [%lld,%lld], result [%lld,%lld] do not agree",
		                   (long long)ad[0], (long long)ad[1], (long long)bd[0], (long long)bd[1],
		                   (long long)yd[0], (long long)yd[1]);
	gemm(IN(r, nd, 0), IN(r, nd, 1), NULL, OUT(r, nd), ad[0], ad[1], bd[1], 0);
	return 0;
}

/* One pooling window at output (i, j) of plane x[H,W]: the max (padding is
** -inf, so an all-padding window gives -inf) or the mean over the in-bounds
** elements (0 for an all-padding window). */
static Real window(const Real *x, int64_t H, int64_t W, int64_t i0, int64_t j0, int64_t KH, int64_t KW, int max)
{
	double acc = max ? -INFINITY : 0.0;
	int64_t cnt = 0;
	for (int64_t u = 0; u < KH; u++) {
		int64_t ih = i0 + u;
		if (ih < 0 || ih >= H)
			continue;
		for (int64_t v = 0; v < KW; v++) {
			int64_t iw = j0 + v;
			if (iw < 0 || iw >= W)
				continue;
			double t = x[ih * W + iw];
			acc = max ? (t > acc || isnan(t) ? t : acc) : acc + t;
			cnt++;
		}
	}
	if (max)
		return (Real)acc;
	return cnt ? (Real)(acc / cnt) : 0.0f;
}

/* maxpool / avgpool over each (n, c) plane with kernel, stride and pad. */
int interp_pool(Run *r, const Node *nd)
{
	int64_t xd[IR_MAXDIM], yd[IR_MAXDIM];
	if (interp_dims(r, &INNODE(r, nd, 0)->shape, xd) != 4 || interp_dims(r, &nd->shape, yd) != 4)
		return interp_fail(r, nd, "x and the result must be rank 4");
	if (yd[0] != xd[0] || yd[1] != xd[1])
		return interp_fail(r, nd, "result [%lld,%lld,..] differs from x [%lld,%lld,..]", (long long)yd[0],
		                   (long long)yd[1], (long long)xd[0], (long long)xd[1]);
	int64_t KH = nd->a.kernel[0], KW = nd->a.kernel[1];
	if (KH < 1 || KW < 1)
		return interp_fail(r, nd, "kernel %lldx%lld", (long long)KH, (long long)KW);
	if (interp_check_window(r, nd, xd, KH, KW, yd))
		return -1;
	const Real *x = IN(r, nd, 0);
	Real *y = OUT(r, nd);
	int max = nd->op == OP_MAXPOOL;
	int64_t H = xd[2], W = xd[3], OH = yd[2], OW = yd[3];
	for (int64_t pl = 0; pl < xd[0] * xd[1]; pl++)
		for (int64_t i = 0; i < OH; i++)
			for (int64_t j = 0; j < OW; j++)
				y[(pl * OH + i) * OW + j] = window(x + pl * H * W, H, W, i * nd->a.stride[0] - nd->a.pad[0],
				                                   j * nd->a.stride[1] - nd->a.pad[1], KH, KW, max);
	return 0;
}
