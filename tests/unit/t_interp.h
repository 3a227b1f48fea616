/*
** t_interp.h -- helpers shared by the interpreter's tests (test_interp.c,
** test_interp_train.c): random fill, parsing IR text, running a graph and
** comparing values. Include after t.h and interp/interp.h.
*/
#ifndef LUNAC_T_INTERP_H
#define LUNAC_T_INTERP_H

#include <math.h>
#include <stdlib.h>
#include <string.h>


/* ---- helpers ---------------------------------------------------------- */

static uint32_t rng_state = 12345;

/* A deterministic pseudo-random float in [-1, 1). */
static float frand(void)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return (float)((rng_state >> 8) * (1.0 / 16777216.0)) * 2.0f - 1.0f;
}

static void fill(float *p, int64_t k)
{
	for (int64_t i = 0; i < k; i++)
		p[i] = frand();
}

/* Parse IR text; a parse error is a failed check and NULL. */
static Graph *parse(const char *name, const char *text)
{
	Err e = {0};
	Graph *g = ir_parse(text, name, &e);
	if (!g)
		t_check(0, name, "parse: %s", e.msg);
	return g;
}

/* Allocate values for g at batch n, fill every input/param/buffer with
** pseudo-random numbers (then set[] overrides), and run. */
static float **run(const char *name, Graph *g, int64_t n, uint64_t seed, uint64_t step)
{
	float **v = interp_alloc(g, n);
	for (int i = 0; i < g->nnodes; i++) {
		Op op = g->nodes[i]->op;
		if (op == OP_INPUT || op == OP_PARAM || op == OP_BUFFER)
			fill(v[i], ir_numel(&g->nodes[i]->shape, n));
	}
	Err e = {0};
	if (interp_run(g, n, v, seed, step, &e))
		t_check(0, name, "interp_run: %s", e.msg);
	return v;
}

/* Rerun with the current contents of v. */
static int rerun(const char *name, Graph *g, int64_t n, float **v, uint64_t seed, uint64_t step)
{
	Err e = {0};
	int rc = interp_run(g, n, v, seed, step, &e);
	if (rc)
		t_check(0, name, "interp_run: %s", e.msg);
	return rc;
}

/* Compare k values with absolute+relative tolerance; check named name. */
static void near(const char *name, const float *got, const float *want, int64_t k, double tol)
{
	for (int64_t i = 0; i < k; i++) {
		double d = fabs((double)got[i] - want[i]);
		int same = (isnan(got[i]) && isnan(want[i])) || got[i] == want[i];
		if (!same && !(d <= tol * (1 + fabs((double)want[i])))) {
			t_check(0, name, "element %lld: got %.9g, want %.9g", (long long)i, got[i], want[i]);
			return;
		}
	}
	t_check(1, name, "");
}

static void set(float *p, const float *src, int64_t k)
{
	memcpy(p, src, k * sizeof(float));
}


/* A small network (conv, batch norm, pooling, a gate, dense, softmax) used for
** batch independence, finite differences and the f64-versus-f32 check. */
static const char *tiny_cnn =
	"graph tiny\n"
	"%0 = input \"image\" : f32[N,2,6,6]\n"
	"%1 = param \"c.w\" : f32[4,2,3,3]\n%2 = param \"c.b\" : f32[4]\n"
	"%3 = conv2d %0, %1, %2 stride=1 pad=1\n"
	"%4 = param \"bn.g\" : f32[4]\n%5 = param \"bn.b\" : f32[4]\n"
	"%6 = buffer \"bn.m\" : f32[4]\n%7 = buffer \"bn.v\" : f32[4]\n"
	"%8 = batchnorm %3, %4, %5, %6, %7 mode=running\n"
	"%9 = relu %8\n"
	"%10 = maxpool %9 kernel=2 stride=2 pad=0\n"
	"%11 = gavg %10 keepdims=1\n"
	"%12 = sigmoid %11\n"
	"%13 = mul %10, %12\n"
	"%14 = reshape %13 shape=[N,36]\n"
	"%15 = param \"fc.w\" : f32[3,36]\n%16 = param \"fc.b\" : f32[3]\n"
	"%17 = dense %14, %15, %16\n"
	"%18 = softmax %17\n"
	"output \"probs\" %18\n";

#endif
