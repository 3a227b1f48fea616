/*
** test_interp_train.c -- the reference interpreter's training ops
** (docs/ir.md, "Training ops") against hand-computed numbers, adjoint
** identities and the first-maximum rules; the double-precision build
** against the single-precision one. Gradients of whole graphs against
** finite differences are in test_grad.c.
*/
#include "t.h"

#include "interp/interp.h"

#include <math.h>
#include <stdlib.h>
#include "t_interp.h"


/* ---- sumto, broadcast, slice --------------------------------------------- */

static void test_sum_broadcast_slice(void)
{
	Graph *g = parse("sumto", "graph s\n"
	                          "%0 = param \"x\" : f32[2,3]\n"
	                          "%1 = sumto %0 shape=[3]\n%2 = sumto %0 shape=[1]\n%3 = sumto %0 shape=[2,1]\n"
	                          "%4 = sumto %0 shape=[1,3]\n%5 = sumto %0 shape=[2,3]\n"
	                          "%6 = input \"y\" : f32[N,2,2]\n%7 = sumto %6 shape=[1,2,1]\n%8 = sumto %6 shape=[N,1,2]\n"
	                          "%9 = param \"c\" : f32[3]\n%10 = broadcast %9 shape=[2,3]\n"
	                          "%11 = param \"d\" : f32[2,1]\n%12 = broadcast %11 shape=[2,3]\n"
	                          "%13 = broadcast %9 shape=[N,2,3]\n"
	                          "%14 = param \"z\" : f32[2,5]\n%15 = slice %14 axis=1 start=1 shape=[2,3]\n"
	                          "%16 = slice %14 axis=0 start=1 shape=[1,5]\n%17 = slice %6 axis=2 start=1 shape=[N,2,1]\n");
	if (!g)
		return;
	float **v = interp_alloc(g, 2);
	set(v[0], (float[]){1, 2, 3, 4, 5, 6}, 6);
	set(v[6], (float[]){1, 2, 3, 4, 10, 20, 30, 40}, 8);
	set(v[9], (float[]){7, 8, 9}, 3);
	set(v[11], (float[]){-1, 1}, 2);
	set(v[14], (float[]){0, 1, 2, 3, 4, 5, 6, 7, 8, 9}, 10);
	rerun("sumto", g, 2, v, 0, 0);
	near("sumto [2,3] -> [3]", v[1], (float[]){5, 7, 9}, 3, 0);
	near("sumto [2,3] -> [1]", v[2], (float[]){21}, 1, 0);
	near("sumto [2,3] -> [2,1]", v[3], (float[]){6, 15}, 2, 0);
	near("sumto [2,3] -> [1,3]", v[4], (float[]){5, 7, 9}, 3, 0);
	near("sumto to the same shape copies", v[5], v[0], 6, 0);
	near("sumto [N,2,2] -> [1,2,1] (N sums to 1)", v[7], (float[]){33, 77}, 2, 0);
	near("sumto [N,2,2] -> [N,1,2] (N kept)", v[8], (float[]){4, 6, 40, 60}, 4, 0);
	near("broadcast [3] -> [2,3]", v[10], (float[]){7, 8, 9, 7, 8, 9}, 6, 0);
	near("broadcast [2,1] -> [2,3]", v[12], (float[]){-1, -1, -1, 1, 1, 1}, 6, 0);
	near("broadcast [3] -> [N,2,3]", v[13], (float[]){7, 8, 9, 7, 8, 9, 7, 8, 9, 7, 8, 9}, 12, 0);
	near("slice axis 1 start 1", v[15], (float[]){1, 2, 3, 6, 7, 8}, 6, 0);
	near("slice axis 0 start 1", v[16], (float[]){5, 6, 7, 8, 9}, 5, 0);
	near("slice the last axis of [N,2,2]", v[17], (float[]){2, 4, 20, 40}, 4, 0);
	interp_free(g, v);
	ir_free(g);
}

static void test_min_sqrt_bmean(void)
{
	Graph *g = parse("minimum", "graph m\n"
	                            "%0 = param \"a\" : f32[4]\n%1 = param \"b\" : f32[1]\n"
	                            "%2 = minimum %0, %1\n%3 = minimum %1, %0\n%4 = sqrt %0\n"
	                            "%5 = input \"x\" : f32[N,2]\n%6 = bmean %5\n%7 = bmean_dx %6 shape=[N,2]\n"
	                            "%8 = input \"s\" : f32[N]\n%9 = bmean %8\n");
	if (!g)
		return;
	float **v = interp_alloc(g, 3);
	set(v[0], (float[]){4, 0.25f, NAN, 1}, 4);
	v[1][0] = 1;
	set(v[5], (float[]){1, 2, 3, 4, 5, 9}, 6);
	set(v[8], (float[]){1, 2, 6}, 3);
	rerun("minimum", g, 3, v, 0, 0);
	near("minimum broadcasts a scalar; NaN propagates", v[2], (float[]){1, 0.25f, NAN, 1}, 4, 0);
	near("minimum is symmetric", v[3], v[2], 4, 0);
	near("sqrt", v[4], (float[]){2, 0.5f, NAN, 1}, 4, 0);
	near("bmean [N,2] -> [2]", v[6], (float[]){3, 5}, 2, 1e-7);
	near("bmean_dx spreads dy / n over the batch", v[7], (float[]){1, 5.f / 3, 1, 5.f / 3, 1, 5.f / 3}, 6, 1e-7);
	near("bmean [N] -> [1]", v[9], (float[]){3}, 1, 0);
	interp_free(g, v);
	ir_free(g);
}

/* xent against the formula; a label out of range gives NaN for its own
** sample only, and does not crash. */
static void test_xent(void)
{
	Graph *g = parse("xent", "graph x\n"
	                         "%0 = input \"z\" : f32[N,3]\n%1 = input \"y\" : i32[N]\n"
	                         "%2 = xent %0, %1 smoothing=0\n%3 = xent %0, %1 smoothing=0.3\n"
	                         "%4 = input \"dl\" : f32[N]\n%5 = xent_dx %0, %1, %4 smoothing=0\n"
	                         "%6 = xent_dx %0, %1, %4 smoothing=0.3\n");
	if (!g)
		return;
	int N = 4;
	float **v = interp_alloc(g, N);
	float z[12] = {1, 2, 3, 0, 0, 0, 1000, -1000, 0, 0.5f, -1, 2};
	int32_t y[4] = {2, 0, 0, 1};
	set(v[0], z, 12);
	memcpy(v[1], y, sizeof y);
	set(v[4], (float[]){1, 2, 0.5f, -1}, 4);
	rerun("xent", g, N, v, 0, 0);
	float w2[4], w3[4], w5[12], w6[12];
	for (int n = 0; n < N; n++) {
		double m = fmax(z[n * 3], fmax(z[n * 3 + 1], z[n * 3 + 2])), s = 0, sum_ls = 0;
		for (int k = 0; k < 3; k++)
			s += exp(z[n * 3 + k] - m);
		for (int k = 0; k < 3; k++)
			sum_ls += z[n * 3 + k] - m - log(s);
		double ly = z[n * 3 + y[n]] - m - log(s);
		w2[n] = (float)-ly;
		w3[n] = (float)-(0.7 * ly + 0.1 * sum_ls);
		for (int k = 0; k < 3; k++) {
			double p = exp(z[n * 3 + k] - m) / s;
			w5[n * 3 + k] = (float)((p - (k == y[n])) * v[4][n]);
			w6[n * 3 + k] = (float)((p - 0.7 * (k == y[n]) - 0.1) * v[4][n]);
		}
	}
	near("xent = -log softmax[label]", v[2], w2, 4, 1e-6);
	near("xent smoothing=0.3: q = 0.7 onehot + 0.1", v[3], w3, 4, 1e-6);
	t_check(v[2][1] > 0.9f * (float)log(3) && isfinite(v[2][2]), "xent of large logits stays finite", "%g %g", v[2][1],
	        v[2][2]);
	near("xent_dx = (softmax - onehot) dl", v[5], w5, 12, 1e-6);
	near("xent_dx smoothing=0.3", v[6], w6, 12, 1e-6);
	((int32_t *)v[1])[1] = 3;
	((int32_t *)v[1])[2] = -1;
	rerun("xent", g, N, v, 0, 0);
	t_check(isnan(v[2][1]) && isnan(v[2][2]) && v[2][0] == w2[0] && v[2][3] == w2[3] && isnan(v[3][1]),
	        "xent: a label outside [0, K) gives NaN for that sample only", "%g %g %g %g", v[2][0], v[2][1], v[2][2],
	        v[2][3]);
	t_check(isnan(v[5][3]) && isnan(v[5][8]) && v[5][0] == w5[0] && v[5][11] == w5[11],
	        "xent_dx: a bad label's row is NaN, the others are unchanged", "%g %g", v[5][3], v[5][0]);
	interp_free(g, v);
	ir_free(g);
}

static void test_bn_stats_ops(void)
{
	Graph *g = parse("bn_mean", "graph b\n"
	                            "%0 = input \"x\" : f32[N,2]\n%1 = bn_mean %0\n%2 = bn_var %0\n"
	                            "%3 = input \"y\" : f32[N,1,1,2]\n%4 = bn_var %3\n%5 = bn_mean %3\n");
	if (!g)
		return;
	float **v = interp_alloc(g, 3);
	set(v[0], (float[]){1, 10, 2, 20, 6, 60}, 6);
	set(v[3], (float[]){1, 2, 3, 4, 5, 6}, 6);
	rerun("bn_mean", g, 3, v, 0, 0);
	near("bn_mean per channel", v[1], (float[]){3, 30}, 2, 1e-7);
	near("bn_var is the unbiased variance", v[2], (float[]){7, 700}, 2, 1e-6);
	near("bn_var over N,H,W of [N,C,H,W]", v[4], (float[]){3.5f}, 1, 1e-6);
	near("bn_mean over N,H,W", v[5], (float[]){3.5f}, 1, 1e-7);
	rerun("bn_mean", g, 1, v, 0, 0);
	t_check(isnan(v[2][0]) && isfinite(v[4][0]), "bn_var with one value per channel is NaN (0/0)", "%g %g", v[2][0],
	        v[4][0]);
	interp_free(g, v);
	ir_free(g);
}

/* First-maximum rules of gsel_dx and maxpool_dx; padding never wins;
** avgpool_dx divides by the in-bounds count. */
static void test_select_grads(void)
{
	Graph *g = parse("gsel_dx", "graph s\n"
	                            "%0 = input \"x\" : f32[N,1,2,2]\n%1 = gmax %0 keepdims=0\n%2 = input \"dy\" : f32[N,1]\n"
	                            "%3 = gsel_dx %0, %1, %2\n%4 = gmin %0 keepdims=1\n%5 = reshape %2 shape=[N,1,1,1]\n"
	                            "%6 = gsel_dx %0, %4, %5\n"
	                            "%7 = input \"p\" : f32[N,1,2,3]\n%8 = maxpool %7 kernel=2 stride=1 pad=0\n"
	                            "%9 = input \"dp\" : f32[N,1,1,2]\n%10 = maxpool_dx %7, %9 kernel=2 stride=1 pad=0\n"
	                            "%11 = input \"q\" : f32[N,1,2,2]\n%12 = maxpool %11 kernel=2 stride=2 pad=1\n"
	                            "%13 = input \"dq\" : f32[N,1,2,2]\n%14 = maxpool_dx %11, %13 kernel=2 stride=2 pad=1\n"
	                            "%15 = avgpool_dx %13 kernel=2 stride=2 pad=1 shape=[N,1,2,2]\n"
	                            "%16 = avgpool_dx %13 kernel=3 stride=1 pad=1 shape=[N,1,2,2]\n");
	if (!g)
		return;
	float **v = interp_alloc(g, 1);
	set(v[0], (float[]){3, -1, 3, -1}, 4);
	v[2][0] = 5;
	set(v[7], (float[]){4, 1, 4, 4, 2, 4}, 6);
	set(v[9], (float[]){10, 20}, 2);
	set(v[11], (float[]){-4, -3, -2, -1}, 4);
	set(v[13], (float[]){1, 2, 3, 4}, 4);
	rerun("gsel_dx", g, 1, v, 0, 0);
	near("gsel_dx: dy at the first maximum only", v[3], (float[]){5, 0, 0, 0}, 4, 0);
	near("gsel_dx keepdims, for gmin: the first minimum", v[6], (float[]){0, 5, 0, 0}, 4, 0);
	near("maxpool_dx: ties go to the window's first maximum", v[10], (float[]){10, 0, 20, 0, 0, 0}, 6, 0);
	near("maxpool_dx pad 1: padding never wins over negatives", v[14], (float[]){1, 2, 3, 4}, 4, 0);
	near("avgpool_dx pad 1: each window's single in-bounds element", v[15], (float[]){1, 2, 3, 4}, 4, 0);
	/* 3x3/1 pad 1 over 2x2: every window holds all 4 elements */
	near("avgpool_dx 3x3 pad 1: dy / in-bounds count", v[16], (float[]){2.5f, 2.5f, 2.5f, 2.5f}, 4, 1e-7);
	interp_free(g, v);
	ir_free(g);
	Err e = {0};
	g = ir_parse("graph s\n%0 = input \"x\" : f32[N,1,2,2]\n%1 = gsel_dx %0, %0, %0\n", "bad", &e);
	t_check(!g && strstr(e.msg, "global reduction"), "gsel_dx: a [N,C,H,W] y with H,W > 1 is a shape error", "%s",
	        g ? "accepted" : e.msg);
	ir_free(g);
}

/* <conv(x, w), dy> = <x, conv2d_dx(dy, w)> = <w, conv2d_dw(x, dy)>, and
** matmul_nt / matmul_tn against matmul of explicit transposes. */
static void adjoint_case(const char *name, int C, int H, int W, int O, int KH, int KW, int sh, int sw, int ph, int pw)
{
	int OH = (H + 2 * ph - KH) / sh + 1, OW = (W + 2 * pw - KW) / sw + 1;
	char text[1024];
	snprintf(text, sizeof text,
	         "graph a\n%%0 = input \"x\" : f32[N,%d,%d,%d]\n%%1 = param \"w\" : f32[%d,%d,%d,%d]\n"
	         "%%2 = conv2d %%0, %%1 stride=%d,%d pad=%d,%d\n%%3 = input \"dy\" : f32[N,%d,%d,%d]\n"
	         "%%4 = conv2d_dx %%3, %%1 stride=%d,%d pad=%d,%d shape=[N,%d,%d,%d]\n"
	         "%%5 = conv2d_dw %%0, %%3 stride=%d,%d pad=%d,%d shape=[%d,%d,%d,%d]\n",
	         C, H, W, O, C, KH, KW, sh, sw, ph, pw, O, OH, OW, sh, sw, ph, pw, C, H, W, sh, sw, ph, pw, O, C, KH, KW);
	Graph *g = parse(name, text);
	if (!g)
		return;
	int N = 2;
	double **v = interp_alloc_f64(g, N);
	for (int i = 0; i < g->nnodes; i++)
		if (g->nodes[i]->op == OP_INPUT || g->nodes[i]->op == OP_PARAM)
			for (int64_t j = 0; j < ir_numel(&g->nodes[i]->shape, N); j++)
				v[i][j] = frand();
	Err e = {0};
	if (interp_run_f64(g, N, v, 0, 0, &e)) {
		t_check(0, name, "interp_run_f64: %s", e.msg);
	} else {
		double a = 0, b = 0, c = 0;
		for (int64_t j = 0; j < ir_numel(&g->nodes[2]->shape, N); j++)
			a += v[2][j] * v[3][j];
		for (int64_t j = 0; j < ir_numel(&g->nodes[0]->shape, N); j++)
			b += v[0][j] * v[4][j];
		for (int64_t j = 0; j < ir_numel(&g->nodes[1]->shape, N); j++)
			c += v[1][j] * v[5][j];
		t_check(fabs(a - b) < 1e-12 * (1 + fabs(a)) && fabs(a - c) < 1e-12 * (1 + fabs(a)), name,
		        "<y,dy> %.15g, <x,dx> %.15g, <w,dw> %.15g", a, b, c);
	}
	interp_free_f64(g, v);
	ir_free(g);
}

static void test_adjoints(void)
{
	adjoint_case("conv2d_dx, conv2d_dw adjoint: 3x3 pad 1", 2, 5, 5, 3, 3, 3, 1, 1, 1, 1);
	adjoint_case("conv2d_dx, conv2d_dw adjoint: stride 2, pad 2", 2, 7, 9, 3, 3, 3, 2, 2, 2, 2);
	adjoint_case("conv2d_dx, conv2d_dw adjoint: 2x3 stride 2,1 pad 1,0", 3, 5, 6, 2, 2, 3, 2, 1, 1, 0);
	adjoint_case("conv2d_dx, conv2d_dw adjoint: stride 3 > kernel 2 (skipped rows)", 1, 8, 8, 2, 2, 2, 3, 3, 1, 1);
	adjoint_case("conv2d_dx, conv2d_dw adjoint: 1x1", 4, 3, 3, 2, 1, 1, 1, 1, 0, 0);
	Graph *g = parse("matmul_t", "graph m\n"
	                             "%0 = input \"a\" : f32[N,3]\n%1 = param \"b\" : f32[2,3]\n%2 = matmul_nt %0, %1\n"
	                             "%3 = input \"c\" : f32[N,2]\n%4 = matmul_tn %0, %3\n");
	if (!g)
		return;
	float **v = interp_alloc(g, 2);
	set(v[0], (float[]){1, 2, 3, 4, 5, 6}, 6);
	set(v[1], (float[]){1, 0, -1, 2, 1, 0}, 6);
	set(v[3], (float[]){1, -1, 2, 0.5f}, 4);
	rerun("matmul_t", g, 2, v, 0, 0);
	near("matmul_nt a[M,P] . b[K,P]^T", v[2], (float[]){-2, 4, -2, 13}, 4, 0);
	near("matmul_tn a[N,K]^T . c[N,P] sums over the batch", v[4], (float[]){9, 1, 12, 0.5f, 15, 0}, 6, 0);
	interp_free(g, v);
	ir_free(g);
}

/* assign writes its value where it stands: values before it read the old
** contents, the destination holds the new ones afterwards. */
static void test_assign(void)
{
	Graph *g = parse("assign", "graph a\n"
	                           "%0 = param \"p\" : f32[2]\n%1 = state \"opt.v.p\" init=zeros : f32[2]\n"
	                           "%2 = const [1, 2] : f32[2]\n%3 = add %0, %2\n%4 = add %1, %0\n"
	                           "%5 = assign %0, %3\n%6 = assign %1, %4\n");
	if (!g)
		return;
	float **v = interp_alloc(g, 1);
	set(v[0], (float[]){10, 20}, 2);
	set(v[1], (float[]){0.5f, 0.25f}, 2);
	rerun("assign", g, 1, v, 0, 0);
	near("assign: a value computed before it read the old parameter", v[4], (float[]){10.5f, 20.25f}, 2, 0);
	near("assign writes the parameter", v[0], (float[]){11, 22}, 2, 0);
	near("assign writes the state", v[1], (float[]){10.5f, 20.25f}, 2, 0);
	rerun("assign", g, 1, v, 0, 0);
	near("assign: a second run starts from the written values", v[0], (float[]){12, 24}, 2, 0);
	free(v[5]);
	v[5] = NULL; /* an assign needs no storage of its own */
	Err e = {0};
	t_check(interp_run(g, 1, v, 0, 0, &e) == 0 && v[0][0] == 13, "assign without storage of its own", "%s", e.msg);
	interp_free(g, v);
	ir_free(g);
}

/* The double-precision build runs the same graph to the same values. */
static void test_f64(void)
{
	Graph *g = parse("f64", tiny_cnn);
	if (!g)
		return;
	int N = 3;
	float **v = run("f64", g, N, 0, 0);
	for (int c = 0; c < 4; c++)
		v[7][c] = 1.0f + 0.25f * c;
	rerun("f64", g, N, v, 0, 0);
	double **d = interp_alloc_f64(g, N);
	for (int i = 0; i < g->nnodes; i++)
		for (int64_t j = 0; j < ir_numel(&g->nodes[i]->shape, N); j++)
			d[i][j] = v[i][j];
	Err e = {0};
	int rc = interp_run_f64(g, N, d, 0, 0, &e);
	float got[9];
	for (int i = 0; i < 9; i++)
		got[i] = (float)d[18][i];
	t_check(rc == 0, "interp_run_f64 runs the network", "%s", e.msg);
	near("interp_run_f64 agrees with interp_run", got, v[18], 9, 1e-5);
	interp_free_f64(g, d);
	interp_free(g, v);
	ir_free(g);
}

int main(void)
{
	test_sum_broadcast_slice();
	test_min_sqrt_bmean();
	test_xent();
	test_bn_stats_ops();
	test_select_grads();
	test_adjoints();
	test_assign();
	test_f64();
	return t_done();
}
