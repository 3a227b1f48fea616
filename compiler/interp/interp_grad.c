/*
** interp_grad.c -- the reference backward ops of convolution, matmul,
** pooling, relu and the global max/min (docs/ir.md, "Training ops"):
** direct loops, sums in double, layout NCHW and weights OIHW.
*/
#include "interp_impl.h"

#include <math.h>
#include <stdlib.h>

/* conv2d_dx (dy, w): dx[n,c,h,w] = sum over o and the kernel taps (u, v)
** whose output position (i, j) satisfies i*sh - ph + u = h (and likewise
** for w) of dy[n,o,i,j] * w[o,c,u,v]. Gathered per input element. */
int interp_conv2d_dx(Run *r, const Node *nd)
{
	int64_t dd[IR_MAXDIM], wd[IR_MAXDIM], xd[IR_MAXDIM];
	if (interp_dims(r, &INNODE(r, nd, 0)->shape, dd) != 4 || interp_dims(r, &INNODE(r, nd, 1)->shape, wd) != 4 ||
	    interp_dims(r, &nd->shape, xd) != 4)
		return interp_fail(r, nd, "dy, w and the result must be rank 4");
	if (wd[1] != xd[1] || dd[1] != wd[0] || dd[0] != xd[0])
		return interp_fail(r, nd, "dy [%lld,%lld,..], w [%lld,%lld,..], result [%lld,%lld,..] do not agree",
		                   (long long)dd[0], (long long)dd[1], (long long)wd[0], (long long)wd[1],
		                   (long long)xd[0], (long long)xd[1]);
	if (interp_check_window(r, nd, xd, wd[2], wd[3], dd))
		return -1;
	const Real *dy = IN(r, nd, 0), *w = IN(r, nd, 1);
	Real *dx = OUT(r, nd);
	int64_t O = wd[0], C = xd[1], H = xd[2], W = xd[3], KH = wd[2], KW = wd[3], OH = dd[2], OW = dd[3];
	int64_t sh = nd->a.stride[0], sw = nd->a.stride[1], ph = nd->a.pad[0], pw = nd->a.pad[1];
	for (int64_t n = 0; n < xd[0]; n++)
		for (int64_t c = 0; c < C; c++)
			for (int64_t h = 0; h < H; h++)
				for (int64_t x = 0; x < W; x++) {
					double acc = 0;
					for (int64_t u = 0; u < KH; u++) {
						int64_t ti = h + ph - u;
						if (ti < 0 || ti % sh || ti / sh >= OH)
							continue;
						for (int64_t v = 0; v < KW; v++) {
							int64_t tj = x + pw - v;
							if (tj < 0 || tj % sw || tj / sw >= OW)
								continue;
							for (int64_t o = 0; o < O; o++)
								acc += (double)dy[((n * O + o) * OH + ti / sh) * OW + tj / sw] *
								       w[((o * C + c) * KH + u) * KW + v];
						}
					}
					dx[((n * C + c) * H + h) * W + x] = (Real)acc;
				}
	return 0;
}

/* conv2d_dw (x, dy): dw[o,c,u,v] = sum over n, i, j of
** dy[n,o,i,j] * x[n,c,i*sh-ph+u, j*sw-pw+v], out-of-bounds x being 0. */
int interp_conv2d_dw(Run *r, const Node *nd)
{
	int64_t xd[IR_MAXDIM], dd[IR_MAXDIM], wd[IR_MAXDIM];
	if (interp_dims(r, &INNODE(r, nd, 0)->shape, xd) != 4 || interp_dims(r, &INNODE(r, nd, 1)->shape, dd) != 4 ||
	    interp_dims(r, &nd->shape, wd) != 4)
		return interp_fail(r, nd, "x, dy and the result must be rank 4");
	if (wd[1] != xd[1] || dd[1] != wd[0] || dd[0] != xd[0])
		return interp_fail(r, nd, "x [%lld,%lld,..], dy [%lld,%lld,..], result [%lld,%lld,..] do not agree",
		                   (long long)xd[0], (long long)xd[1], (long long)dd[0], (long long)dd[1],
		                   (long long)wd[0], (long long)wd[1]);
	if (interp_check_window(r, nd, xd, wd[2], wd[3], dd))
		return -1;
	const Real *x = IN(r, nd, 0), *dy = IN(r, nd, 1);
	Real *dw = OUT(r, nd);
	int64_t N = xd[0], O = wd[0], C = xd[1], H = xd[2], W = xd[3], KH = wd[2], KW = wd[3], OH = dd[2], OW = dd[3];
	int64_t sh = nd->a.stride[0], sw = nd->a.stride[1], ph = nd->a.pad[0], pw = nd->a.pad[1];
	for (int64_t o = 0; o < O; o++)
		for (int64_t c = 0; c < C; c++)
			for (int64_t u = 0; u < KH; u++)
				for (int64_t v = 0; v < KW; v++) {
					double acc = 0;
					for (int64_t n = 0; n < N; n++)
						for (int64_t i = 0; i < OH; i++) {
							int64_t ih = i * sh - ph + u;
							if (ih < 0 || ih >= H)
								continue;
							for (int64_t j = 0; j < OW; j++) {
								int64_t iw = j * sw - pw + v;
								if (iw >= 0 && iw < W)
									acc += (double)dy[((n * O + o) * OH + i) * OW + j] *
									       x[((n * C + c) * H + ih) * W + iw];
							}
						}
					dw[((o * C + c) * KH + u) * KW + v] = (Real)acc;
				}
	return 0;
}

/* matmul_nt: y[M,K] = a[M,P] . b[K,P]^T; matmul_tn: y[K,P] = a[M,K]^T . b[M,P]. */
int interp_matmul_t(Run *r, const Node *nd)
{
	int64_t ad[IR_MAXDIM], bd[IR_MAXDIM], yd[IR_MAXDIM];
	if (interp_dims(r, &INNODE(r, nd, 0)->shape, ad) != 2 || interp_dims(r, &INNODE(r, nd, 1)->shape, bd) != 2 ||
	    interp_dims(r, &nd->shape, yd) != 2)
		return interp_fail(r, nd, "a, b and the result must be rank 2");
	int nt = nd->op == OP_MATMUL_NT;
	int ok = nt ? ad[1] == bd[1] && yd[0] == ad[0] && yd[1] == bd[0] : ad[0] == bd[0] && yd[0] == ad[1] && yd[1] == bd[1];
	if (!ok)
		return interp_fail(r, nd, "a [%lld,%lld], b [%lld,%lld], result [%lld,%lld] do not agree",
		                   (long long)ad[0], (long long)ad[1], (long long)bd[0], (long long)bd[1],
		                   (long long)yd[0], (long long)yd[1]);
	const Real *a = IN(r, nd, 0), *b = IN(r, nd, 1);
	Real *y = OUT(r, nd);
	int64_t inner = nt ? ad[1] : ad[0];
	for (int64_t i = 0; i < yd[0]; i++)
		for (int64_t j = 0; j < yd[1]; j++) {
			double acc = 0;
			for (int64_t k = 0; k < inner; k++)
				acc += nt ? (double)a[i * ad[1] + k] * b[j * bd[1] + k] : (double)a[k * ad[1] + i] * b[k * bd[1] + j];
			y[i * yd[1] + j] = (Real)acc;
		}
	return 0;
}

/* relu_dx (x, dy): dy where x > 0, else 0. */
int interp_relu_dx(Run *r, const Node *nd)
{
	int64_t k = interp_numel(r, nd->id);
	if (interp_numel(r, nd->in[0]) != k || interp_numel(r, nd->in[1]) != k)
		return interp_fail(r, nd, "x, dy and the result must have the same size");
	const Real *x = IN(r, nd, 0), *dy = IN(r, nd, 1);
	Real *y = OUT(r, nd);
	for (int64_t i = 0; i < k; i++)
		y[i] = x[i] > 0 ? dy[i] : 0;
	return 0;
}

/* gsel_dx (x, y, dy): per (n, c) plane, dy[n,c] at the first row-major
** position where x equals the selected y[n,c], 0 elsewhere. A NaN y (the
** plane held a NaN) matches nowhere: the plane's gradient is 0. */
int interp_gsel_dx(Run *r, const Node *nd)
{
	int64_t xd[IR_MAXDIM];
	if (interp_dims(r, &INNODE(r, nd, 0)->shape, xd) != 4)
		return interp_fail(r, nd, "x must be rank 4");
	int64_t planes = xd[0] * xd[1], S = xd[2] * xd[3];
	if (interp_numel(r, nd->in[1]) != planes || interp_numel(r, nd->in[2]) != planes ||
	    interp_numel(r, nd->id) != planes * S)
		return interp_fail(r, nd, "y and dy must have N*C = %lld elements and the result x's size", (long long)planes);
	const Real *x = IN(r, nd, 0), *y = IN(r, nd, 1), *dy = IN(r, nd, 2);
	Real *dx = OUT(r, nd);
	for (int64_t p = 0; p < planes; p++) {
		int hit = 0;
		for (int64_t i = 0; i < S; i++) {
			int here = !hit && x[p * S + i] == y[p];
			dx[p * S + i] = here ? dy[p] : 0;
			hit |= here;
		}
	}
	return 0;
}

/* Check a pooling gradient: x dims xd and dy dims dd agree with the kernel,
** stride and pad. */
static int check_pool_grad(Run *r, const Node *nd, const int64_t xd[4], const int64_t dd[4])
{
	if (nd->a.kernel[0] < 1 || nd->a.kernel[1] < 1)
		return interp_fail(r, nd, "kernel %lldx%lld", (long long)nd->a.kernel[0], (long long)nd->a.kernel[1]);
	if (dd[0] != xd[0] || dd[1] != xd[1])
		return interp_fail(r, nd, "dy [%lld,%lld,..] differs from x [%lld,%lld,..]", (long long)dd[0],
		                   (long long)dd[1], (long long)xd[0], (long long)xd[1]);
	return interp_check_window(r, nd, xd, nd->a.kernel[0], nd->a.kernel[1], dd);
}

/* Scatter one plane's pooling gradient into acc[H*W]: each window's dy goes
** to the window's first maximum of x (max; padding never wins) or, divided
** by the in-bounds count, to each of its in-bounds elements (avg). */
static void pool_back_plane(const Node *nd, const Real *x, const Real *dy, double *acc, int64_t H, int64_t W,
                            int64_t OH, int64_t OW)
{
	int64_t KH = nd->a.kernel[0], KW = nd->a.kernel[1], max = nd->op == OP_MAXPOOL_DX;
	for (int64_t i = 0; i < OH; i++)
		for (int64_t j = 0; j < OW; j++) {
			int64_t i0 = i * nd->a.stride[0] - nd->a.pad[0], j0 = j * nd->a.stride[1] - nd->a.pad[1];
			int64_t best = -1, cnt = 0;
			for (int64_t u = i0 < 0 ? -i0 : 0; u < KH && i0 + u < H; u++)
				for (int64_t v = j0 < 0 ? -j0 : 0; v < KW && j0 + v < W; v++) {
					int64_t at = (i0 + u) * W + j0 + v;
					if (max && (best < 0 || x[at] > x[best] || (isnan(x[at]) && !isnan(x[best]))))
						best = at;
					cnt++;
				}
			if (max && best >= 0)
				acc[best] += dy[i * OW + j];
			if (max || !cnt)
				continue;
			for (int64_t u = i0 < 0 ? -i0 : 0; u < KH && i0 + u < H; u++)
				for (int64_t v = j0 < 0 ? -j0 : 0; v < KW && j0 + v < W; v++)
					acc[(i0 + u) * W + j0 + v] += (double)dy[i * OW + j] / (double)cnt;
		}
}

/* maxpool_dx (x, dy) and avgpool_dx (dy) shape=x: the pooling gradient,
** accumulated per plane in double. */
static int pool_back(Run *r, const Node *nd, const Real *x, int dyk)
{
	int64_t xd[IR_MAXDIM], dd[IR_MAXDIM];
	if (interp_dims(r, &nd->shape, xd) != 4 || interp_dims(r, &INNODE(r, nd, dyk)->shape, dd) != 4)
		return interp_fail(r, nd, "x, dy and the result must be rank 4");
	if (check_pool_grad(r, nd, xd, dd))
		return -1;
	int64_t H = xd[2], W = xd[3], OH = dd[2], OW = dd[3];
	double *acc = malloc((size_t)(H * W) * sizeof *acc);
	if (!acc)
		return interp_fail(r, nd, "out of memory");
	const Real *dy = IN(r, nd, dyk);
	Real *dx = OUT(r, nd);
	for (int64_t p = 0; p < xd[0] * xd[1]; p++) {
		for (int64_t i = 0; i < H * W; i++)
			acc[i] = 0;
		pool_back_plane(nd, x ? x + p * H * W : NULL, dy + p * OH * OW, acc, H, W, OH, OW);
		for (int64_t i = 0; i < H * W; i++)
			dx[p * H * W + i] = (Real)acc[i];
	}
	free(acc);
	return 0;
}

/* maxpool_dx (x, dy): the result has x's shape. */
int interp_maxpool_dx(Run *r, const Node *nd)
{
	if (!ir_shape_eq(&INNODE(r, nd, 0)->shape, &nd->shape))
		return interp_fail(r, nd, "result must have x's shape");
	return pool_back(r, nd, IN(r, nd, 0), 1);
}

/* avgpool_dx (dy) shape=x: needs no x. */
int interp_avgpool_dx(Run *r, const Node *nd)
{
	return pool_back(r, nd, NULL, 0);
}
