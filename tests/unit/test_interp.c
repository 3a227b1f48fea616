/*
** test_interp.c -- the reference interpreter against hand-computed numbers
** and independent naive formulas, one group of checks per op (the training
** ops: test_interp_train.c; gradients against finite differences:
** test_grad.c).
*/
#include "t.h"

#include "interp/interp.h"
#include "lunac_rt.h"

#include <math.h>
#include <stdlib.h>
#include "t_interp.h"

/* ---- conv2d ----------------------------------------------------------- */

/* Independent conv: copy x into an explicitly zero-padded buffer, then
** correlate with no bounds checks. */
static void naive_conv(const float *x, const float *w, const float *b, float *y, int N, int C, int H, int W, int O,
                       int KH, int KW, int sh, int sw, int ph, int pw)
{
	int HP = H + 2 * ph, WP = W + 2 * pw;
	int OH = (HP - KH) / sh + 1, OW = (WP - KW) / sw + 1;
	float *xp = calloc((size_t)N * C * HP * WP, sizeof *xp);
	for (int n = 0; n < N; n++)
		for (int c = 0; c < C; c++)
			for (int i = 0; i < H; i++)
				for (int j = 0; j < W; j++)
					xp[((n * C + c) * HP + i + ph) * WP + j + pw] = x[((n * C + c) * H + i) * W + j];
	for (int n = 0; n < N; n++)
		for (int o = 0; o < O; o++)
			for (int i = 0; i < OH; i++)
				for (int j = 0; j < OW; j++) {
					double s = b ? b[o] : 0;
					for (int c = 0; c < C; c++)
						for (int u = 0; u < KH; u++)
							for (int v = 0; v < KW; v++)
								s += (double)xp[((n * C + c) * HP + i * sh + u) * WP + j * sw + v] *
								     w[((o * C + c) * KH + u) * KW + v];
					y[((n * O + o) * OH + i) * OW + j] = (float)s;
				}
	free(xp);
}

static void test_conv_hand(void)
{
	Graph *g = parse("conv hand", "graph c\n"
	                              "%0 = input \"x\" : f32[N,1,3,3]\n"
	                              "%1 = const [1,1,1,1] : f32[1,1,2,2]\n"
	                              "%2 = conv2d %0, %1 stride=1 pad=0\n"
	                              "%3 = conv2d %0, %1 stride=2 pad=1\n"
	                              "%4 = const [0.5] : f32[1]\n"
	                              "%5 = conv2d %0, %1, %4 stride=2 pad=1\n");
	if (!g)
		return;
	float **v = interp_alloc(g, 1);
	set(v[0], (float[]){1, 2, 3, 4, 5, 6, 7, 8, 9}, 9);
	rerun("conv hand", g, 1, v, 0, 0);
	near("conv2d 2x2 ones, no pad", v[2], (float[]){12, 16, 24, 28}, 4, 0);
	near("conv2d 2x2 ones, stride 2 pad 1", v[3], (float[]){1, 5, 11, 28}, 4, 0);
	near("conv2d with bias", v[5], (float[]){1.5f, 5.5f, 11.5f, 28.5f}, 4, 0);
	interp_free(g, v);
	ir_free(g);
}

/* conv2d against the padded-buffer formula for one configuration. */
static void conv_case(const char *name, int C, int H, int W, int O, int KH, int KW, int sh, int sw, int ph, int pw,
                      int bias)
{
	char text[1024];
	snprintf(text, sizeof text,
	         "graph c\n%%0 = input \"x\" : f32[N,%d,%d,%d]\n%%1 = param \"w\" : f32[%d,%d,%d,%d]\n"
	         "%%2 = param \"b\" : f32[%d]\n%%3 = conv2d %%0, %%1%s stride=%d,%d pad=%d,%d\n",
	         C, H, W, O, C, KH, KW, O, bias ? ", %2" : "", sh, sw, ph, pw);
	Graph *g = parse(name, text);
	if (!g)
		return;
	int N = 3, OH = (H + 2 * ph - KH) / sh + 1, OW = (W + 2 * pw - KW) / sw + 1;
	float **v = run(name, g, N, 0, 0);
	float *want = calloc((size_t)N * O * OH * OW, sizeof *want);
	naive_conv(v[0], v[1], bias ? v[2] : NULL, want, N, C, H, W, O, KH, KW, sh, sw, ph, pw);
	if (g->nodes[3]->shape.d[2] != OH || g->nodes[3]->shape.d[3] != OW)
		t_check(0, name, "inferred shape differs from the formula");
	else
		near(name, v[3], want, (int64_t)N * O * OH * OW, 1e-5);
	free(want);
	interp_free(g, v);
	ir_free(g);
}

static void test_conv(void)
{
	test_conv_hand();
	conv_case("conv2d 3x3 pad 1 stride 1", 3, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1);
	conv_case("conv2d pad 2 stride 2", 2, 7, 9, 3, 3, 3, 2, 2, 2, 2, 1);
	conv_case("conv2d non-square kernel 2x3, stride 2,1, pad 1,0", 3, 5, 6, 4, 2, 3, 2, 1, 1, 0, 1);
	conv_case("conv2d 1x1 no bias", 5, 4, 3, 2, 1, 1, 1, 1, 0, 0, 0);
	conv_case("conv2d stride 3 larger than kernel", 2, 8, 8, 2, 2, 2, 3, 3, 1, 1, 1);
	conv_case("conv2d 1x5 kernel pad 0,2", 1, 4, 7, 2, 1, 5, 1, 1, 0, 2, 0);
}

/* ---- dense, matmul ---------------------------------------------------- */

static void test_dense_matmul(void)
{
	Graph *g = parse("dense", "graph d\n"
	                          "%0 = input \"x\" : f32[N,3]\n"
	                          "%1 = const [1,0,-1, 0.5,0.5,0.5] : f32[2,3]\n"
	                          "%2 = const [10,20] : f32[2]\n"
	                          "%3 = dense %0, %1, %2\n"
	                          "%4 = dense %0, %1\n"
	                          "%5 = const [7,8,9,10,11,12] : f32[3,2]\n"
	                          "%6 = matmul %0, %5\n");
	if (!g)
		return;
	float **v = interp_alloc(g, 2);
	set(v[0], (float[]){1, 2, 3, 4, 5, 6}, 6);
	rerun("dense", g, 2, v, 0, 0);
	near("dense x.w^T + b", v[3], (float[]){8, 23, 8, 27.5f}, 4, 0);
	near("dense without bias", v[4], (float[]){-2, 3, -2, 7.5f}, 4, 0);
	near("matmul [2,3].[3,2]", v[6], (float[]){58, 64, 139, 154}, 4, 0);
	interp_free(g, v);
	ir_free(g);
}

/* ---- broadcasting binary ops ------------------------------------------ */

/* a OP b for one pair of shapes against an index formula written per case. */
static void test_broadcast(void)
{
	Graph *g = parse("broadcast", "graph b\n"
	                              "%0 = input \"x\" : f32[N,3,2,2]\n"
	                              "%1 = param \"s\" : f32[1,3,1,1]\n"
	                              "%2 = input \"t\" : f32[N,3,1,1]\n"
	                              "%3 = mul %2, %1\n"       /* [N,3,1,1]*[1,3,1,1] */
	                              "%4 = mul %0, %2\n"       /* gate [N,C,H,W]*[N,C,1,1] */
	                              "%5 = param \"c\" : f32[2]\n"
	                              "%6 = add %0, %5\n"       /* trailing dim */
	                              "%7 = param \"u\" : f32[2,1]\n"
	                              "%8 = param \"r\" : f32[1,3]\n"
	                              "%9 = div %7, %8\n"       /* both stretch: [2,3] */
	                              "%10 = sub %8, %7\n"
	                              "%11 = param \"k\" : f32[1]\n"
	                              "%12 = sub %11, %0\n"     /* scalar on the left */
	                              "%13 = add %0, %0\n");
	if (!g)
		return;
	int N = 2;
	float **v = run("broadcast", g, N, 0, 0);
	float w3[6], w4[24], w6[24], w9[6], w10[6], w12[24], w13[24];
	for (int n = 0; n < N; n++)
		for (int c = 0; c < 3; c++) {
			w3[n * 3 + c] = v[2][n * 3 + c] * v[1][c];
			for (int hw = 0; hw < 4; hw++) {
				int i = (n * 3 + c) * 4 + hw;
				w4[i] = v[0][i] * v[2][n * 3 + c];
				w6[i] = v[0][i] + v[5][hw % 2];
				w12[i] = v[11][0] - v[0][i];
				w13[i] = v[0][i] + v[0][i];
			}
		}
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 3; j++) {
			w9[i * 3 + j] = v[7][i] / v[8][j];
			w10[i * 3 + j] = v[8][j] - v[7][i];
		}
	near("mul [N,C,1,1]*[1,C,1,1]", v[3], w3, 6, 0);
	near("mul [N,C,H,W]*[N,C,1,1]", v[4], w4, 24, 0);
	near("add [N,C,H,W]+[W]", v[6], w6, 24, 0);
	near("div [2,1]/[1,3]", v[9], w9, 6, 0);
	near("sub [1,3]-[2,1]", v[10], w10, 6, 0);
	near("sub [1]-[N,C,H,W]", v[12], w12, 24, 0);
	near("add same shape", v[13], w13, 24, 0);
	interp_free(g, v);
	ir_free(g);
}

/* ---- unary ------------------------------------------------------------ */

static void test_unary(void)
{
	Graph *g = parse("unary", "graph u\n"
	                          "%0 = input \"x\" : f32[N,6]\n"
	                          "%1 = neg %0\n%2 = relu %0\n%3 = sigmoid %0\n"
	                          "%4 = tanh %0\n%5 = exp %0\n%6 = log %0\n");
	if (!g)
		return;
	float x[6] = {-100, -2, -0.5f, 0, 1.5f, 100};
	float **v = interp_alloc(g, 1);
	set(v[0], x, 6);
	rerun("unary", g, 1, v, 0, 0);
	float neg[6], relu[6], sig[6], th[6], ex[6], lg[6];
	for (int i = 0; i < 6; i++) {
		neg[i] = -x[i];
		relu[i] = x[i] > 0 ? x[i] : 0;
		sig[i] = (float)(1 / (1 + exp(-(double)x[i])));
		th[i] = (float)tanh(x[i]);
		ex[i] = (float)exp(x[i]);
		lg[i] = (float)log(x[i]);
	}
	near("neg", v[1], neg, 6, 0);
	near("relu", v[2], relu, 6, 0);
	near("sigmoid (incl. +-100)", v[3], sig, 6, 1e-7);
	t_check(v[3][0] > 0 && v[3][0] < 1e-40f && v[3][5] == 1.0f, "sigmoid saturates without NaN", "%g %g", v[3][0],
	        v[3][5]);
	near("tanh", v[4], th, 6, 1e-7);
	near("exp (exp(100) overflows to inf)", v[5], ex, 6, 1e-7);
	near("log (negative gives NaN, 0 gives -inf)", v[6], lg, 6, 1e-7);
	interp_free(g, v);
	ir_free(g);
}

/* ---- global reductions ------------------------------------------------ */

static void test_global(void)
{
	Graph *g = parse("global", "graph r\n"
	                           "%0 = input \"x\" : f32[N,2,2,2]\n"
	                           "%1 = gavg %0 keepdims=0\n%2 = gmax %0 keepdims=0\n%3 = gmin %0 keepdims=0\n"
	                           "%4 = gavg %0 keepdims=1\n%5 = gmax %0 keepdims=1\n%6 = gmin %0 keepdims=1\n");
	if (!g)
		return;
	float **v = interp_alloc(g, 2);
	set(v[0], (float[]){1, 2, 3, 4, -1, -5, 0, 2, 8, 8, 8, 8, 0.5f, -0.5f, 7, -7}, 16);
	rerun("global", g, 2, v, 0, 0);
	float avg[4] = {2.5f, -1, 8, 0}, mx[4] = {4, 2, 8, 7}, mn[4] = {1, -5, 8, -7};
	near("gavg", v[1], avg, 4, 0);
	near("gmax", v[2], mx, 4, 0);
	near("gmin", v[3], mn, 4, 0);
	near("gavg keepdims", v[4], avg, 4, 0);
	near("gmax keepdims", v[5], mx, 4, 0);
	near("gmin keepdims", v[6], mn, 4, 0);
	t_check(g->nodes[1]->shape.rank == 2 && g->nodes[4]->shape.rank == 4, "gavg keepdims shapes", "ranks %d %d",
	        g->nodes[1]->shape.rank, g->nodes[4]->shape.rank);
	interp_free(g, v);
	ir_free(g);
}

/* ---- pooling ---------------------------------------------------------- */

/* Independent pool: visit every input element and add it to every window
** that covers it (the reverse direction of the interpreter's loop). */
static void naive_pool(const float *x, float *y, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw,
                       int max)
{
	int OH = (H + 2 * ph - KH) / sh + 1, OW = (W + 2 * pw - KW) / sw + 1;
	double *acc = calloc((size_t)OH * OW, sizeof *acc);
	int *cnt = calloc((size_t)OH * OW, sizeof *cnt);
	for (int i = 0; i < OH * OW; i++)
		acc[i] = max ? -INFINITY : 0;
	for (int ih = 0; ih < H; ih++)
		for (int iw = 0; iw < W; iw++)
			for (int i = 0; i < OH; i++)
				for (int j = 0; j < OW; j++) {
					int u = ih + ph - i * sh, vv = iw + pw - j * sw;
					if (u < 0 || u >= KH || vv < 0 || vv >= KW)
						continue;
					double t = x[ih * W + iw];
					acc[i * OW + j] = max ? fmax(acc[i * OW + j], t) : acc[i * OW + j] + t;
					cnt[i * OW + j]++;
				}
	for (int i = 0; i < OH * OW; i++)
		y[i] = (float)(max ? acc[i] : acc[i] / cnt[i]);
	free(acc);
	free(cnt);
}

static void pool_case(const char *name, const char *op, int H, int W, int KH, int KW, int sh, int sw, int ph, int pw)
{
	char text[512];
	snprintf(text, sizeof text, "graph p\n%%0 = input \"x\" : f32[N,2,%d,%d]\n%%1 = %s %%0 kernel=%d,%d stride=%d,%d pad=%d,%d\n",
	         H, W, op, KH, KW, sh, sw, ph, pw);
	Graph *g = parse(name, text);
	if (!g)
		return;
	int N = 2, OH = (H + 2 * ph - KH) / sh + 1, OW = (W + 2 * pw - KW) / sw + 1;
	float **v = run(name, g, N, 0, 0);
	float *want = calloc((size_t)N * 2 * OH * OW, sizeof *want);
	for (int p = 0; p < N * 2; p++)
		naive_pool(v[0] + p * H * W, want + p * OH * OW, H, W, KH, KW, sh, sw, ph, pw, op[0] == 'm');
	near(name, v[1], want, (int64_t)N * 2 * OH * OW, 1e-6);
	free(want);
	interp_free(g, v);
	ir_free(g);
}

static void test_pool(void)
{
	Graph *g = parse("pool hand", "graph p\n"
	                              "%0 = input \"x\" : f32[N,1,4,4]\n"
	                              "%1 = maxpool %0 kernel=2 stride=2 pad=0\n"
	                              "%2 = avgpool %0 kernel=2 stride=2 pad=0\n"
	                              "%3 = input \"y\" : f32[N,1,3,3]\n"
	                              "%4 = avgpool %3 kernel=3 stride=1 pad=1\n"
	                              "%5 = neg %3\n"
	                              "%6 = maxpool %5 kernel=2 stride=2 pad=1\n"
	                              "%7 = avgpool %3 kernel=2 stride=2 pad=1\n");
	if (!g)
		return;
	float **v = interp_alloc(g, 1);
	set(v[0], (float[]){1, 2, 5, 6, 3, 4, 7, 8, 9, 10, 13, 14, 11, 12, 15, 16}, 16);
	set(v[3], (float[]){1, 2, 3, 4, 5, 6, 7, 8, 9}, 9);
	rerun("pool hand", g, 1, v, 0, 0);
	near("maxpool 2x2/2", v[1], (float[]){4, 8, 12, 16}, 4, 0);
	near("avgpool 2x2/2", v[2], (float[]){2.5f, 6.5f, 10.5f, 14.5f}, 4, 0);
	/* corners average 4 in-bounds elements, edges 6, the centre 9 */
	near("avgpool 3x3 pad 1 divides by in-bounds count", v[4],
	     (float[]){3, 3.5f, 4, 4.5f, 5, 5.5f, 6, 6.5f, 7}, 9, 1e-7);
	/* -x is all negative: zero padding would win, -inf padding does not */
	near("maxpool pad 1 pads with -inf", v[6], (float[]){-1, -2, -4, -5}, 4, 0);
	near("avgpool 2x2/2 pad 1 over the edge", v[7], (float[]){1, 2.5f, 5.5f, 7}, 4, 1e-7);
	interp_free(g, v);
	ir_free(g);
	pool_case("maxpool 3x3/2 pad 1", "maxpool", 7, 7, 3, 3, 2, 2, 1, 1);
	pool_case("avgpool 3x3/2 pad 1", "avgpool", 7, 6, 3, 3, 2, 2, 1, 1);
	pool_case("maxpool non-square 2x3/1,2 pad 1,1", "maxpool", 5, 7, 2, 3, 1, 2, 1, 1);
	pool_case("avgpool non-square 3x2/2,1 pad 1,0", "avgpool", 6, 5, 3, 2, 2, 1, 1, 0);
	pool_case("avgpool 3x3/3 on 8x8 drops the remainder", "avgpool", 8, 8, 3, 3, 3, 3, 0, 0);
}

/* ---- batch norm ------------------------------------------------------- */

static void test_batchnorm(void)
{
	Graph *g = parse("batchnorm", "graph bn\n"
	                              "%0 = input \"x\" : f32[N,3,2,3]\n"
	                              "%1 = param \"g\" : f32[3]\n%2 = param \"b\" : f32[3]\n"
	                              "%3 = buffer \"m\" : f32[3]\n%4 = buffer \"v\" : f32[3]\n"
	                              "%5 = batchnorm %0, %1, %2, %3, %4 mode=running eps=0.001\n"
	                              "%6 = batchnorm %0, %1, %2, %3, %4 mode=batch eps=0.001\n"
	                              "%7 = input \"z\" : f32[N,3]\n"
	                              "%8 = batchnorm %7, %1, %2, %3, %4 mode=running eps=0.001\n"
	                              "%9 = batchnorm %7, %1, %2, %3, %4 mode=batch eps=0.00001\n");
	if (!g)
		return;
	int N = 4;
	float **v = run("batchnorm", g, N, 0, 0);
	for (int c = 0; c < 3; c++)
		v[4][c] = 0.5f + (float)c;  /* variances must be positive */
	rerun("batchnorm", g, N, v, 0, 0);
	float w5[72], w6[72], w8[12], w9[12];
	for (int c = 0; c < 3; c++) {
		double s = 0, q = 0, s2 = 0, q2 = 0;
		for (int n = 0; n < N; n++)
			for (int i = 0; i < 6; i++)
				s += v[0][(n * 3 + c) * 6 + i];
		double mean = s / (N * 6);
		for (int n = 0; n < N; n++)
			for (int i = 0; i < 6; i++)
				q += pow(v[0][(n * 3 + c) * 6 + i] - mean, 2);
		double var = q / (N * 6);
		for (int n = 0; n < N; n++) {
			s2 += v[7][n * 3 + c];
			q2 += (double)v[7][n * 3 + c] * v[7][n * 3 + c];
		}
		double mean2 = s2 / N, var2 = q2 / N - mean2 * mean2;
		for (int n = 0; n < N; n++) {
			for (int i = 0; i < 6; i++) {
				int k = (n * 3 + c) * 6 + i;
				w5[k] = (float)((v[0][k] - v[3][c]) / sqrt(v[4][c] + 0.001) * v[1][c] + v[2][c]);
				w6[k] = (float)((v[0][k] - mean) / sqrt(var + 0.001) * v[1][c] + v[2][c]);
			}
			int k = n * 3 + c;
			w8[k] = (float)((v[7][k] - v[3][c]) / sqrt(v[4][c] + 0.001) * v[1][c] + v[2][c]);
			w9[k] = (float)((v[7][k] - mean2) / sqrt(var2 + 1e-5) * v[1][c] + v[2][c]);
		}
	}
	near("batchnorm running, rank 4", v[5], w5, 72, 1e-5);
	near("batchnorm batch stats over N,H,W, rank 4", v[6], w6, 72, 1e-5);
	near("batchnorm running, rank 2", v[8], w8, 12, 1e-5);
	near("batchnorm batch stats, rank 2", v[9], w9, 12, 1e-4);
	/* with gamma=1, beta=0: each channel comes out with mean 0, var ~ 1 */
	for (int c = 0; c < 3; c++)
		v[1][c] = 1, v[2][c] = 0;
	rerun("batchnorm", g, N, v, 0, 0);
	int ok = 1;
	for (int c = 0; c < 3; c++) {
		double s = 0, q = 0;
		for (int n = 0; n < N; n++)
			for (int i = 0; i < 6; i++)
				s += v[6][(n * 3 + c) * 6 + i], q += pow(v[6][(n * 3 + c) * 6 + i], 2);
		ok &= fabs(s / (N * 6)) < 1e-5 && fabs(q / (N * 6) - 1) < 0.02;
	}
	t_check(ok, "batchnorm batch mode normalises each channel", "mean/var off");
	interp_free(g, v);
	ir_free(g);
}

/* ---- concat, reshape -------------------------------------------------- */

static void test_concat_reshape(void)
{
	Graph *g = parse("concat", "graph c\n"
	                           "%0 = input \"a\" : f32[N,1,2,2]\n"
	                           "%1 = input \"b\" : f32[N,2,2,2]\n"
	                           "%2 = concat %0, %1 axis=1\n"
	                           "%3 = const [1,2,3,4,5,6] : f32[2,3]\n"
	                           "%4 = const [7,8,9] : f32[1,3]\n"
	                           "%5 = concat %3, %4, %3 axis=0\n"
	                           "%6 = const [10,20] : f32[2,1]\n"
	                           "%7 = concat %3, %6 axis=1\n"
	                           "%8 = concat %0, %0 axis=3\n"
	                           "%9 = reshape %1 shape=[N,8]\n"
	                           "%10 = reshape %3 shape=[3,2]\n"
	                           "%11 = reshape %9 shape=[N,2,1,4]\n");
	if (!g)
		return;
	int N = 2;
	float **v = run("concat", g, N, 0, 0);
	float w2[24], w8[16];
	for (int n = 0; n < N; n++) {
		for (int i = 0; i < 4; i++)
			w2[n * 12 + i] = v[0][n * 4 + i];
		for (int i = 0; i < 8; i++)
			w2[n * 12 + 4 + i] = v[1][n * 8 + i];
		for (int h = 0; h < 2; h++)
			for (int w = 0; w < 4; w++)
				w8[(n * 2 + h) * 4 + w] = v[0][(n * 2 + h) * 2 + w % 2];
	}
	near("concat axis 1 (channels), batched", v[2], w2, 24, 0);
	near("concat axis 0, three operands", v[5], (float[]){1, 2, 3, 4, 5, 6, 7, 8, 9, 1, 2, 3, 4, 5, 6}, 15, 0);
	near("concat axis 1, rank 2", v[7], (float[]){1, 2, 3, 10, 4, 5, 6, 20}, 8, 0);
	near("concat last axis", v[8], w8, 16, 0);
	near("reshape [N,2,2,2] -> [N,8] keeps order", v[9], v[1], 16, 0);
	near("reshape const [2,3] -> [3,2]", v[10], (float[]){1, 2, 3, 4, 5, 6}, 6, 0);
	near("reshape [N,8] -> [N,2,1,4]", v[11], v[1], 16, 0);
	interp_free(g, v);
	ir_free(g);
}

/* ---- softmax ---------------------------------------------------------- */

static void test_softmax(void)
{
	Graph *g = parse("softmax", "graph s\n"
	                            "%0 = input \"x\" : f32[N,5]\n"
	                            "%1 = softmax %0\n%2 = logsoftmax %0\n"
	                            "%3 = input \"y\" : f32[N,2,3]\n%4 = softmax %3\n");
	if (!g)
		return;
	int N = 3;
	float **v = run("softmax", g, N, 0, 0);
	set(v[0] + 10, (float[]){1000, 1001, 999, -1000, 1000}, 5); /* overflows without max-subtraction */
	rerun("softmax", g, N, v, 0, 0);
	float w1[15], w2[15], w4[18];
	for (int r = 0; r < N; r++) {
		double m = -INFINITY, s = 0;
		for (int i = 0; i < 5; i++)
			m = fmax(m, v[0][r * 5 + i]);
		for (int i = 0; i < 5; i++)
			s += exp(v[0][r * 5 + i] - m);
		for (int i = 0; i < 5; i++) {
			w1[r * 5 + i] = (float)(exp(v[0][r * 5 + i] - m) / s);
			w2[r * 5 + i] = (float)(v[0][r * 5 + i] - m - log(s));
		}
	}
	for (int r = 0; r < N * 2; r++) {
		double s = 0;
		for (int i = 0; i < 3; i++)
			s += exp(v[3][r * 3 + i]);
		for (int i = 0; i < 3; i++)
			w4[r * 3 + i] = (float)(exp(v[3][r * 3 + i]) / s);
	}
	near("softmax = exp/sum", v[1], w1, 15, 1e-6);
	near("logsoftmax = x - max - log sum", v[2], w2, 15, 1e-6);
	near("softmax over the last axis of rank 3", v[4], w4, 18, 1e-6);
	int ok = 1;
	for (int r = 0; r < N; r++) {
		double s = 0;
		for (int i = 0; i < 5; i++)
			s += v[1][r * 5 + i], ok &= fabs(log(v[1][r * 5 + i]) - v[2][r * 5 + i]) < 1e-4 || v[1][r * 5 + i] == 0;
		ok &= fabs(s - 1) < 1e-6;
	}
	t_check(ok, "softmax rows sum to 1; log(softmax) = logsoftmax", "no");
	t_check(!isnan(v[1][12]) && v[1][11] > 0.5f && isfinite(v[2][13]), "softmax of 1000s does not overflow", "%g",
	        v[1][11]);
	interp_free(g, v);
	ir_free(g);
}

/* ---- dropout ---------------------------------------------------------- */

static void test_dropout(void)
{
	Graph *g = parse("dropout", "graph d\n"
	                            "%0 = input \"x\" : f32[N,100,100]\n"
	                            "%1 = dropout %0 mode=off p=0.3 stream=0\n"
	                            "%2 = dropout %0 mode=mc p=0.3 stream=0\n"
	                            "%3 = dropout %0 mode=train p=0.3 stream=0\n"
	                            "%4 = dropout %0 mode=mc p=0.3 stream=1\n"
	                            "%5 = dropout %0 mode=mc p=0 stream=2\n");
	if (!g)
		return;
	int N = 2, K = N * 10000;
	float **v = interp_alloc(g, N);
	for (int i = 0; i < K; i++)
		v[0][i] = 1.0f + (float)(i % 7);
	rerun("dropout", g, N, v, 42, 7);
	near("dropout off is the identity", v[1], v[0], K, 0);
	near("dropout p=0 is the identity", v[5], v[0], K, 0);
	near("dropout train and mc draw the same mask", v[3], v[2], K, 0);
	int kept = 0, scaled = 1, rng = 1, differ_stream = 0;
	for (int i = 0; i < K; i++) {
		int keep = v[2][i] != 0;
		kept += keep;
		if (keep && v[2][i] != v[0][i] / (1.0f - 0.3f))
			scaled = 0;
		if (keep != (rt_uniform(42, 7, 0, (uint64_t)i) >= 0.3f))
			rng = 0;
		differ_stream += keep != (v[4][i] != 0);
	}
	double frac = (double)kept / K;
	t_check(fabs(frac - 0.7) < 0.02, "dropout mc keeps about 1-p", "kept %.4f", frac);
	t_check(scaled, "dropout kept values are x/(1-p)", "a kept value is not scaled");
	t_check(rng, "dropout mask is rt_uniform(seed, step, stream, flat index) >= p", "mask differs");
	t_check(differ_stream > K / 10, "dropout: another stream, another mask", "%d differ", differ_stream);
	float *first = malloc(K * sizeof *first);
	memcpy(first, v[2], K * sizeof *first);
	rerun("dropout", g, N, v, 42, 7);
	near("dropout: same seed and step, same mask", v[2], first, K, 0);
	rerun("dropout", g, N, v, 42, 8);
	int differ = 0;
	for (int i = 0; i < K; i++)
		differ += (first[i] != 0) != (v[2][i] != 0);
	t_check(differ > K / 10, "dropout: another step, another mask", "%d differ", differ);
	rerun("dropout", g, N, v, 43, 7);
	differ = 0;
	for (int i = 0; i < K; i++)
		differ += (first[i] != 0) != (v[2][i] != 0);
	t_check(differ > K / 10, "dropout: another seed, another mask", "%d differ", differ);
	free(first);
	interp_free(g, v);
	ir_free(g);
}

/* ---- const, graphs built with ir_add, errors --------------------------- */

static void test_const_and_builder(void)
{
	Graph *g = ir_new("built");
	Node *x = ir_add(g, OP_INPUT, 0, NULL, "m.lua:1");
	x->a.name = "x";
	x->shape = (Shape){4, {IR_N, 2, 4, 4}};
	Node *w = ir_add(g, OP_CONST, 0, NULL, "m.lua:2");
	w->shape = (Shape){4, {1, 2, 3, 3}};
	w->a.data = ir_alloc(&g->arena, 18 * sizeof(float));
	for (int i = 0; i < 18; i++)
		w->a.data[i] = (float)(i - 9) / 9;
	Node *c = ir_add(g, OP_CONV2D, 2, (int[]){0, 1}, "m.lua:3");
	c->a.pad[0] = c->a.pad[1] = 1;
	c->a.stride[0] = c->a.stride[1] = 2;
	Err e = {0};
	if (ir_infer(g, &e)) {
		t_check(0, "ir_add graph", "ir_infer: %s", e.msg);
		ir_free(g);
		return;
	}
	float **v = run("ir_add graph", g, 2, 0, 0);
	near("const copies its data", v[1], w->a.data, 18, 0);
	float want[2 * 4];
	naive_conv(v[0], v[1], NULL, want, 2, 2, 4, 4, 1, 3, 3, 2, 2, 1, 1);
	near("conv2d built with ir_add + ir_infer", v[2], want, 8, 1e-6);
	/* an op the interpreter cannot run: the error names the Lua line */
	c->a.stride[0] = 0;
	e = (Err){0};
	int rc = interp_run(g, 2, v, 0, 0, &e);
	t_check(rc == -1 && strstr(e.msg, "m.lua:3") && strstr(e.msg, "stride"), "bad stride is an error with its line",
	        "rc %d msg '%s'", rc, e.msg);
	interp_free(g, v);
	ir_free(g);

	g = parse("bad mode", "graph b\n%0 = input \"x\" : f32[N,2]\n%1 = param \"g\" : f32[2]\n"
	                      "%2 = batchnorm %0, %1, %1, %1, %1 mode=running\n");
	if (!g)
		return;
	g->nodes[2]->a.mode = MODE_MC;
	v = interp_alloc(g, 1);
	e = (Err){0};
	rc = interp_run(g, 1, v, 0, 0, &e);
	t_check(rc == -1 && strstr(e.msg, "mode"), "batchnorm with a dropout mode is an error", "rc %d msg '%s'", rc,
	        e.msg);
	g->nodes[2]->a.mode = MODE_RUNNING;
	g->nodes[1]->dtype = DT_I32;
	e = (Err){0};
	rc = interp_run(g, 1, v, 0, 0, &e);
	t_check(rc == -1 && strstr(e.msg, "i32"), "arithmetic on i32 is an error", "rc %d msg '%s'", rc, e.msg);
	interp_free(g, v);
	ir_free(g);
}

/* ---- whole network: batch independence, finite differences ----------- */


static void test_network(void)
{
	Graph *g = parse("tiny cnn", tiny_cnn);
	if (!g)
		return;
	int N = 3;
	float **v = run("tiny cnn", g, N, 0, 0);
	for (int c = 0; c < 4; c++)
		v[7][c] = 1.0f + 0.25f * c;
	rerun("tiny cnn", g, N, v, 0, 0);
	/* each sample alone (n=1) gives the same row as in the batch */
	float **one = interp_alloc(g, 1);
	int ok = 1;
	for (int s = 0; s < N; s++) {
		for (int i = 0; i < g->nnodes; i++) {
			Op op = g->nodes[i]->op;
			if (op == OP_PARAM || op == OP_BUFFER)
				set(one[i], v[i], ir_numel(&g->nodes[i]->shape, 1));
		}
		set(one[0], v[0] + s * 72, 72);
		if (rerun("tiny cnn n=1", g, 1, one, 0, 0))
			break;
		for (int k = 0; k < 3; k++)
			ok &= one[18][k] == v[18][s * 3 + k];
	}
	t_check(ok, "network: batched rows equal single-sample runs", "differ");
	double sum = 0;
	for (int i = 0; i < N * 3; i++)
		sum += v[18][i];
	t_check(fabs(sum - N) < 1e-5, "network: probabilities sum to 1 per row", "sum %g", sum);
	interp_free(g, one);
	interp_free(g, v);
	ir_free(g);
}

/* interp_fd_grad against analytic gradients of y = sigmoid(x . w^T + b). */
static void test_fd_grad(void)
{
	Graph *g = parse("fd_grad", "graph f\n%0 = input \"x\" : f32[N,3]\n%1 = param \"w\" : f32[2,3]\n"
	                            "%2 = param \"b\" : f32[2]\n%3 = dense %0, %1, %2\n%4 = sigmoid %3\n");
	if (!g)
		return;
	int N = 2;
	float **v = run("fd_grad", g, N, 0, 0);
	float dy[4] = {1, -2, 0.5f, 3}, gw[6], gx[6], ww[6] = {0}, wx[6] = {0};
	float w0[6];
	memcpy(w0, v[1], sizeof w0);
	for (int n = 0; n < N; n++)
		for (int o = 0; o < 2; o++) {
			float s = v[4][n * 2 + o];
			double d = dy[n * 2 + o] * s * (1 - s);
			for (int k = 0; k < 3; k++) {
				ww[o * 3 + k] += (float)(d * v[0][n * 3 + k]);
				wx[n * 3 + k] += (float)(d * v[1][o * 3 + k]);
			}
		}
	Err e = {0};
	int rc = interp_fd_grad(g, N, v, 0, 0, 1, 4, dy, 1e-2f, gw, &e);
	rc |= interp_fd_grad(g, N, v, 0, 0, 0, 4, dy, 1e-2f, gx, &e);
	t_check(rc == 0, "fd_grad runs", "%s", e.msg);
	near("fd_grad w.r.t. a param", gw, ww, 6, 2e-3);
	near("fd_grad w.r.t. an input", gx, wx, 6, 2e-3);
	near("fd_grad restores the perturbed value", v[1], w0, 6, 0);
	e = (Err){0};
	rc = interp_fd_grad(g, N, v, 0, 0, 3, 4, dy, 1e-2f, gw, &e);
	t_check(rc == -1, "fd_grad refuses a computed node", "rc %d", rc);
	interp_free(g, v);
	ir_free(g);
}

int main(void)
{
	test_conv();
	test_dense_matmul();
	test_broadcast();
	test_unary();
	test_global();
	test_pool();
	test_batchnorm();
	test_concat_reshape();
	test_softmax();
	test_dropout();
	test_const_and_builder();
	test_network();
	test_fd_grad();
	return t_done();
}
