/*
** test_optim.c -- the optimizer step and the running statistics as IR:
** a tiny model goes through autodiff + update (+ bnstats), or through the
** whole training pipeline, and the reference interpreter runs training
** steps; parameters and optimizer state must equal a separate formula
** implementation written here the way PyTorch states its optimizers
** (torch.optim.SGD, Adam, AdamW; clip_grad_norm_; BatchNorm's running
** statistics with the unbiased variance).
**
** The model: y = x . w^T + b (x [N,2], w [1,2], b [1]), loss = mean_n y_n^2,
** whose gradient is gw = 2/N sum_n y_n x_n, gb = 2/N sum_n y_n. Each step
** runs in double (interp_run_f64, compared at 1e-10 relative) and in float
** (interp_run, 1e-5), from the same start. Hyper-parameters and constants
** are chosen exact in float (0.875, 1 - 2^-10, ...), so that the float run
** differs from the reference only by arithmetic rounding.
*/
#include "t.h"

#include "interp/interp.h"
#include "passes/passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define N 3

static const char *linear_model =
	"graph lin\n"
	"%0 = input \"x\" : f32[N,2]\n"
	"%1 = param \"w\" : f32[1,2]\n%2 = param \"b\" : f32[1]\n"
	"%3 = dense %0, %1, %2\n%4 = reshape %3 shape=[N]\n%5 = mul %4, %4\n%6 = bmean %5\n"
	"output \"loss\" %6\n";

static const double X[N][2] = {{1, 2}, {-0.5, 3}, {2, -1}};

/* A compiled training graph and its values in both precisions. */
typedef struct Net {
	Graph *g;
	double **v64;
	float **v32;
} Net;

/* Parse and run the training passes: the whole pipeline, or (pipeline 0)
** just autodiff, update and bnstats. */
static int net_open(Net *t, const char *name, const char *text, OptKind opt, int pipeline)
{
	Err e = {0};
	memset(t, 0, sizeof *t);
	t->g = ir_parse(text, name, &e);
	PassOpts o = {0};
	o.entry = ENTRY_TRAIN;
	o.optimizer = opt;
	int rc = !t->g;
	if (!rc && pipeline)
		rc = pass_pipeline(t->g, &o, &e);
	else if (!rc)
		rc = pass_autodiff(t->g, &o, &e) || ir_verify(t->g, &e) || pass_update(t->g, &o, &e) ||
		     ir_verify(t->g, &e) || pass_bnstats(t->g, &o, &e) || ir_verify(t->g, &e);
	if (rc) {
		t_check(0, name, "passes: %s", e.msg);
		ir_free(t->g);
		t->g = NULL;
		return -1;
	}
	t->v64 = interp_alloc_f64(t->g, N);
	t->v32 = interp_alloc(t->g, N);
	return 0;
}

static void net_close(Net *t)
{
	if (!t->g)
		return;
	interp_free_f64(t->g, t->v64);
	interp_free(t->g, t->v32);
	ir_free(t->g);
}

/* The named source (input, param, buffer, state), or -1. */
static int net_find(const Net *t, const char *name)
{
	for (int i = 0; i < t->g->nnodes; i++)
		if ((ir_ops[t->g->nodes[i]->op].attrs & A_NAME) && !strcmp(t->g->nodes[i]->a.name, name))
			return i;
	return -1;
}

/* Set a source in both precisions; a missing name is a failed check. */
static void net_set(Net *t, const char *name, const double *p, int64_t k)
{
	int id = net_find(t, name);
	if (id < 0) {
		t_check(0, name, "the training graph has no source named %s", name);
		return;
	}
	for (int64_t i = 0; i < k; i++)
		t->v64[id][i] = p[i], t->v32[id][i] = (float)p[i];
}

/* Fill x with X for every sample. */
static void set_x(Net *t)
{
	net_set(t, "x", &X[0][0], N * 2);
}

/* Hyper-parameters: name=value pairs, NULL-terminated; every hyper.* input
** of the graph must be among them. */
static void set_hyper(Net *t, const char *what, const char *const *names, const double *vals)
{
	char full[64];
	for (int i = 0; names[i]; i++) {
		snprintf(full, sizeof full, "hyper.%s", names[i]);
		if (net_find(t, full) >= 0)
			net_set(t, full, &vals[i], 1);
	}
	for (int i = 0; i < t->g->nnodes; i++) {
		const Node *nd = t->g->nodes[i];
		if (nd->op != OP_INPUT || strncmp(nd->a.name, "hyper.", 6))
			continue;
		int known = 0;
		for (int j = 0; names[j]; j++)
			known |= !strcmp(nd->a.name + 6, names[j]);
		if (!known)
			t_check(0, what, "the graph reads %s, which the test does not set", nd->a.name);
	}
}

/* One training step in both precisions. */
static int net_step(Net *t, const char *what)
{
	Err e = {0};
	if (interp_run_f64(t->g, N, t->v64, 1, 1, &e) || interp_run(t->g, N, t->v32, 1, 1, &e)) {
		t_check(0, what, "interp: %s", e.msg);
		return -1;
	}
	return 0;
}

/* Compare source name (k values) with want in both precisions. */
static void net_expect(Net *t, const char *what, const char *name, const double *want, int64_t k)
{
	char label[256];
	snprintf(label, sizeof label, "%s: %s", what, name);
	int id = net_find(t, name);
	if (id < 0) {
		t_check(0, label, "no source named %s", name);
		return;
	}
	for (int64_t i = 0; i < k; i++) {
		double w = want[i], d64 = t->v64[id][i], d32 = t->v32[id][i];
		if (!(fabs(d64 - w) <= 1e-10 * (fabs(w) + 1e-3)) || !(fabs(d32 - w) <= 1e-5 * (fabs(w) + 1e-3))) {
			t_check(0, label, "element %lld: want %.12g, f64 %.12g, f32 %.9g", (long long)i, w, d64, d32);
			return;
		}
	}
	t_check(1, label, "");
}

/* ---- the reference: PyTorch's formulas on p = (w0, w1, b) ------------- */

typedef struct Ref {
	double p[3], m[3], v[3];
	int t;                  /* steps taken */
} Ref;

/* loss and gradient of mean_n (x_n . w + b)^2 at p. */
static double ref_grad(const double p[3], double g[3])
{
	double loss = 0;
	g[0] = g[1] = g[2] = 0;
	for (int n = 0; n < N; n++) {
		double y = X[n][0] * p[0] + X[n][1] * p[1] + p[2];
		loss += y * y / N;
		g[0] += 2 * y * X[n][0] / N;
		g[1] += 2 * y * X[n][1] / N;
		g[2] += 2 * y / N;
	}
	return loss;
}

/* clip_grad_norm_: scale g by clip / (|g| + tiny) when that is below 1
** (PyTorch's tiny is 1e-6, the IR's 1e-12: the difference is below 1e-12). */
static void ref_clip(double g[3], double clip)
{
	double norm = sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
	double c = clip / (norm + 1e-12);
	for (int i = 0; c < 1 && i < 3; i++)
		g[i] *= c;
}

/* torch.optim.SGD(momentum, weight_decay, dampening 0): d = g + wd p;
** buf = d on the first step, else mu buf + d; p -= lr buf. */
static double ref_sgd(Ref *r, double lr, double mu, double wd, double clip)
{
	double g[3], loss = ref_grad(r->p, g);
	ref_clip(g, clip);
	for (int i = 0; i < 3; i++) {
		double d = g[i] + wd * r->p[i];
		r->v[i] = r->t == 0 ? d : mu * r->v[i] + d;
		r->p[i] -= lr * r->v[i];
	}
	r->t++;
	return loss;
}

/* torch.optim.Adam (weight_decay = l2, added to the gradient) and AdamW
** (dec: p *= 1 - lr dec first): m, v moments; step lr / (1 - b1^t) on
** m / (sqrt(v) / sqrt(1 - b2^t) + eps). */
static double ref_adam(Ref *r, double lr, double b1, double b2, double eps, double l2, double dec, double clip)
{
	double g[3], loss = ref_grad(r->p, g);
	ref_clip(g, clip);
	r->t++;
	double bc1 = 1 - pow(b1, r->t), bc2 = 1 - pow(b2, r->t);
	for (int i = 0; i < 3; i++) {
		double gi = g[i] + l2 * r->p[i];
		r->p[i] *= 1 - lr * dec;
		r->m[i] = b1 * r->m[i] + (1 - b1) * gi;
		r->v[i] = b2 * r->v[i] + (1 - b2) * gi * gi;
		r->p[i] -= lr / bc1 * r->m[i] / (sqrt(r->v[i]) / sqrt(bc2) + eps);
	}
	return loss;
}

/* ---- the cases --------------------------------------------------------- */

static const double P0[3] = {0.5, -0.25, 0.1};

/* Compare w, b and the state named state (opt.v or opt.m) with r. */
static void expect_params(Net *t, const char *what, const Ref *r, int with_m)
{
	net_expect(t, what, "w", r->p, 2);
	net_expect(t, what, "b", r->p + 2, 1);
	net_expect(t, what, "opt.v.w", r->v, 2);
	net_expect(t, what, "opt.v.b", r->v + 2, 1);
	if (with_m) {
		net_expect(t, what, "opt.m.w", r->m, 2);
		net_expect(t, what, "opt.m.b", r->m + 2, 1);
	}
}

/* The loss output holds the loss at the parameters before the step. */
static void expect_loss(Net *t, const char *what, double want)
{
	char label[256];
	snprintf(label, sizeof label, "%s: loss is computed before the write-back", what);
	int id = ir_find_output(t->g, "loss");
	t_check(id >= 0 && fabs(t->v64[id][0] - want) <= 1e-12 * want && fabs(t->v32[id][0] - want) <= 1e-6 * want, label,
	        "want %.12g, f64 %.12g, f32 %.9g", want, id >= 0 ? t->v64[id][0] : NAN, id >= 0 ? t->v32[id][0] : NAN);
}

static void sgd_case(const char *what, double clip, int pipeline)
{
	static const char *const names[] = {"lr", "clip", "momentum", "wd", NULL};
	double hyper[] = {0.125, clip, 0.875, 0.0078125};
	Net t;
	if (net_open(&t, what, linear_model, OPT_SGD, pipeline))
		return;
	Ref r = {{P0[0], P0[1], P0[2]}, {0}, {0}, 0};
	set_x(&t);
	net_set(&t, "w", P0, 2);
	net_set(&t, "b", P0 + 2, 1);
	set_hyper(&t, what, names, hyper);
	for (int step = 1; step <= 2; step++) {
		char label[200];
		snprintf(label, sizeof label, "%s, step %d", what, step);
		double loss = ref_sgd(&r, hyper[0], hyper[2], hyper[3], clip);
		if (net_step(&t, label))
			break;
		expect_loss(&t, label, loss);
		expect_params(&t, label, &r, 0);
	}
	net_close(&t);
}

static void adam_case(const char *what, double l2, double dec, double clip, int pipeline)
{
	static const char *const names[] = {"lr", "clip", "b1", "b2", "eps", "wd_l2", "wd_dec", "ibc1", "ibc2", NULL};
	double hyper[] = {0.015625, clip, 0.875, 1 - 1.0 / 1024, 1.0 / (1 << 27), l2, dec, 0, 0};
	Net t;
	if (net_open(&t, what, linear_model, OPT_ADAM, pipeline))
		return;
	Ref r = {{P0[0], P0[1], P0[2]}, {0}, {0}, 0};
	set_x(&t);
	net_set(&t, "w", P0, 2);
	net_set(&t, "b", P0 + 2, 1);
	for (int step = 1; step <= 3; step++) {
		char label[200];
		snprintf(label, sizeof label, "%s, step %d", what, step);
		hyper[7] = 1 / (1 - pow(hyper[2], step));
		hyper[8] = 1 / (1 - pow(hyper[3], step));
		set_hyper(&t, label, names, hyper);
		double loss = ref_adam(&r, hyper[0], hyper[2], hyper[3], hyper[4], l2, dec, clip);
		if (net_step(&t, label))
			break;
		expect_loss(&t, label, loss);
		expect_params(&t, label, &r, 1);
	}
	net_close(&t);
}

/* The gradient of the first step is about 4.5 in norm: 0.5 clips it. */
static void test_optimizers(void)
{
	for (int pipeline = 0; pipeline < 2; pipeline++) {
		char w[8][128];
		const char *how = pipeline ? "whole pipeline" : "autodiff+update";
		snprintf(w[0], 128, "SGD momentum + wd, no clipping (%s)", how);
		snprintf(w[1], 128, "SGD momentum + wd, clipping active (%s)", how);
		snprintf(w[2], 128, "Adam with L2, no clipping (%s)", how);
		snprintf(w[3], 128, "AdamW decoupled decay, no clipping (%s)", how);
		snprintf(w[4], 128, "Adam with L2, clipping active (%s)", how);
		sgd_case(w[0], 1e30, pipeline);
		sgd_case(w[1], 0.5, pipeline);
		adam_case(w[2], 0.0078125, 0, 1e30, pipeline);
		adam_case(w[3], 0, 0.125, 1e30, pipeline);
		adam_case(w[4], 0.0078125, 0, 0.5, pipeline);
	}
	double g[3];
	ref_grad(P0, g);
	double norm = sqrt(g[0] * g[0] + g[1] * g[1] + g[2] * g[2]);
	t_check(norm > 1, "clipping cases do clip (first gradient norm > 0.5 and > 1)", "norm %g", norm);
}

/* pass_bnstats: after one training step the running statistics are
** (1 - m) old + m batch statistic, the variance unbiased; the forward
** pass itself used the batch's statistics. */
static void bnstats_case(const char *what, const char *xshape, int64_t C, int64_t S, int pipeline)
{
	char text[1024];
	snprintf(text, sizeof text,
	         "graph bn\n%%0 = input \"x\" : f32[N,%s]\n"
	         "%%1 = param \"g\" : f32[%lld]\n%%2 = param \"b\" : f32[%lld]\n"
	         "%%3 = buffer \"rm\" : f32[%lld]\n%%4 = buffer \"rv\" : f32[%lld]\n"
	         "%%5 = batchnorm %%0, %%1, %%2, %%3, %%4 mode=batch eps=0.0009765625 momentum=0.125\n"
	         "%%6 = reshape %%5 shape=[N,%lld]\n%%7 = mul %%6, %%6\n%%8 = bmean %%7\n"
	         "%%9 = reshape %%8 shape=[1,%lld]\n%%10 = param \"u\" : f32[%lld,1]\n%%11 = matmul %%9, %%10\n"
	         "%%12 = reshape %%11 shape=[1]\noutput \"loss\" %%12\n",
	         xshape, (long long)C, (long long)C, (long long)C, (long long)C, (long long)(C * S), (long long)(C * S),
	         (long long)(C * S));
	Net t;
	if (net_open(&t, what, text, OPT_SGD, pipeline))
		return;
	static const char *const names[] = {"lr", "clip", "momentum", "wd", NULL};
	double hyper[] = {0.125, 1e30, 0.875, 0.0078125};
	set_hyper(&t, what, names, hyper);
	double x[N * 3 * 4], ones[12], rm[3] = {0.5, -1, 2}, rv[3] = {1, 2, 0.25};
	for (int i = 0; i < N * C * S; i++)
		x[i] = sin(1.7 * i + 0.3) * (1 + i % 3);
	for (int i = 0; i < 12; i++)
		ones[i] = 1;
	net_set(&t, "x", x, N * C * S);
	net_set(&t, "g", ones, C);
	net_set(&t, "b", ones, C);
	net_set(&t, "u", ones, C * S);
	net_set(&t, "rm", rm, C);
	net_set(&t, "rv", rv, C);
	double wm[3], wv[3];
	for (int c = 0; c < C; c++) {
		double s = 0, q = 0, M = (double)(N * S);
		for (int n = 0; n < N; n++)
			for (int i = 0; i < S; i++)
				s += x[(n * C + c) * S + i];
		for (int n = 0; n < N; n++)
			for (int i = 0; i < S; i++)
				q += pow(x[(n * C + c) * S + i] - s / M, 2);
		wm[c] = 0.875 * rm[c] + 0.125 * (s / M);
		wv[c] = 0.875 * rv[c] + 0.125 * (q / (M - 1));
	}
	if (net_step(&t, what) == 0) {
		net_expect(&t, what, "rm", wm, C);
		net_expect(&t, what, "rv", wv, C);
		/* normalised with batch statistics, gamma = beta = 1: each channel
		** of (y - 1) has mean 0 and biased variance var / (var + eps) */
		int id = ir_find_output(t.g, "loss");
		double want = 0;
		for (int c = 0; c < C; c++) {
			double s = 0, q = 0, M = (double)(N * S);
			for (int n = 0; n < N; n++)
				for (int i = 0; i < S; i++)
					s += x[(n * C + c) * S + i];
			for (int n = 0; n < N; n++)
				for (int i = 0; i < S; i++)
					q += pow(x[(n * C + c) * S + i] - s / M, 2);
			want += S * (1 + (q / M) / (q / M + 0.0009765625)); /* sum over S of E[(1 + xh)^2] */
		}
		char label[200];
		snprintf(label, sizeof label, "%s: the forward pass used batch statistics", what);
		t_check(id >= 0 && fabs(t.v64[id][0] - want) < 1e-9 * want, label, "loss %.12g, want %.12g",
		        id >= 0 ? t.v64[id][0] : NAN, want);
	}
	net_close(&t);
}

static void test_bnstats(void)
{
	bnstats_case("bnstats, batch norm [N,3] (autodiff+update+bnstats)", "3", 3, 1, 0);
	bnstats_case("bnstats, batch norm [N,2,2,2] (autodiff+update+bnstats)", "2,2,2", 2, 4, 0);
	bnstats_case("bnstats, batch norm [N,3] (whole pipeline)", "3", 3, 1, 1);
	bnstats_case("bnstats, batch norm [N,2,2,2] (whole pipeline)", "2,2,2", 2, 4, 1);
}

int main(void)
{
	test_optimizers();
	test_bnstats();
	return t_done();
}
