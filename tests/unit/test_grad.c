/*
** test_grad.c -- gradient checks: for every differentiable op, the gradient
** graph the autodiff pass builds, run by the reference interpreter, against
** central finite differences of the loss.
**
** How: each case is a small graph in IR text with an output "loss" of type
** f32[1] (when the text has none, the last node y gets the loss
** bmean(reshape(y) . R) with R a random constant: a random linear
** functional, so every element of y gets its own weight). A copy goes
** through pass_autodiff (entry train) and the verifier. Both graphs run in
** double precision (interp_run_f64: every value stored and rounded in
** double), and for every parameter p the analytic grad.<p> is compared
** with (L(p+h) - L(p-h)) / 2h, h = 1e-6, each L a full double-precision
** rerun with the same seed and step (dropout masks stay fixed). In double
** the finite difference is good to ~1e-9 relative, so the check can be
** tight: every element must satisfy |g - fd| <= 1e-6 (|fd| + max|fd|).
** (Constants are f32 in the IR, e.g. gavg's 1/(H*W): a few 1e-8 at most.)
** The same gradient graph is also run in single precision (interp_run) and
** must match the double gradients within 1e-4 of max|g|.
**
** Kinks are avoided: inputs of relu, maxpool, gmax/gmin are "gap" values,
** distinct multiples of a step (never 0, never tied), so h never crosses one.
** Parameter names steer the filling: "gap*" distinct spaced values, "pos*"
** values in [0.5, 1.5] (log, sqrt, div, variances), anything else [-1, 1];
** i32 labels get valid classes of the xent that reads them. A "zero*"
** parameter's gradient must be 0 (and finite differences agree).
** GRAD_VERBOSE=1 prints every comparison's error.
*/
#include "t.h"

#include "interp/interp.h"
#include "passes/passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define FD_STEP 1e-6
#define FD_TOL 1e-6
#define F32_TOL 1e-4

static uint32_t rng = 20240611u;
static double worst_fd, worst_f32;

/* A deterministic pseudo-random double in [0, 1). */
static double urand(void)
{
	rng = rng * 1664525u + 1013904223u;
	return (rng >> 8) * (1.0 / 16777216.0);
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

/* A [rows, cols] constant of random values in [-1, 1]. */
static int rand_const(Graph *g, int64_t rows, int64_t cols)
{
	Node *c = ir_add(g, OP_CONST, 0, NULL, NULL);
	c->shape = (Shape){2, {rows, cols}};
	c->a.data = ir_alloc(&g->arena, sizeof(float) * (size_t)(rows * cols));
	for (int64_t i = 0; i < rows * cols; i++)
		c->a.data[i] = (float)(2 * urand() - 1);
	return c->id;
}

/* Append a node with a shape attribute, or none (s NULL), and infer it. */
static int node(Graph *g, Op op, int nin, const int *in, const Shape *s, Err *e)
{
	Node *nd = ir_add(g, op, nin, in, NULL);
	if (s)
		nd->a.shape = *s;
	return ir_infer_node(g, nd, e) ? -1 : nd->id;
}

/* Append loss = bmean((reshape(y, [N,K]) * Q) . R) for a batched y, Q an
** input "lossq" [N,K] (so that samples differ), or reshape(y, [1,K]) . R
** for an unbatched one, R a random [K,1] constant; output it. */
static int add_linear_loss(Graph *g, int y, Err *e)
{
	const Shape *s = &g->nodes[y]->shape;
	int b = ir_batched(s);
	int64_t k = ir_numel(s, 1); /* per sample when batched, else all */
	Shape flat = {2, {b ? IR_N : 1, k}}, vec = {1, {b ? IR_N : 1}};
	int t = node(g, OP_RESHAPE, 1, &y, &flat, e);
	if (b && t >= 0) {
		Node *q = ir_add(g, OP_INPUT, 0, NULL, NULL);
		q->a.name = "lossq";
		q->shape = flat;
		t = node(g, OP_MUL, 2, (int[]){t, q->id}, NULL, e);
	}
	int r = rand_const(g, k, 1);
	if (t < 0 || (t = node(g, OP_MATMUL, 2, (int[]){t, r}, NULL, e)) < 0 || (t = node(g, OP_RESHAPE, 1, &t, &vec, e)) < 0)
		return -1;
	if (b && (t = node(g, OP_BMEAN, 1, &t, NULL, e)) < 0)
		return -1;
	ir_add_output(g, "loss", t);
	return 0;
}

/* k distinct values: a shuffled ladder of odd multiples of step/2 around 0,
** so no two are within step of each other and none is within step/2 of 0. */
static void fill_gap(double *p, int64_t k)
{
	double step = k > 40 ? 4.0 / k : 0.1;
	for (int64_t i = 0; i < k; i++)
		p[i] = ((double)i - (double)k / 2 + 0.5) * step;
	for (int64_t i = k - 1; i > 0; i--) {
		int64_t j = (int64_t)(urand() * (double)(i + 1));
		double t = p[i];
		p[i] = p[j], p[j] = t;
	}
}

/* The number of classes of the xent that reads labels node id (0 if none). */
static int64_t classes_of(const Graph *g, int id)
{
	for (int i = id + 1; i < g->nnodes; i++)
		if (g->nodes[i]->op == OP_XENT && g->nodes[i]->in[1] == id)
			return g->nodes[g->nodes[i]->in[0]]->shape.d[1];
	return 0;
}

/* Fill every input, param and buffer of g as the header says. */
static void fill_sources(const Graph *g, int64_t n, double **v)
{
	for (int i = 0; i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		if (nd->op != OP_INPUT && nd->op != OP_PARAM && nd->op != OP_BUFFER)
			continue;
		int64_t k = ir_numel(&nd->shape, n);
		if (nd->dtype == DT_I32) {
			int64_t K = classes_of(g, i);
			for (int64_t j = 0; j < k; j++)
				((int32_t *)v[i])[j] = (int32_t)(urand() * (double)(K ? K : 1));
		} else if (!strncmp(nd->a.name, "gap", 3)) {
			fill_gap(v[i], k);
		} else {
			int pos = !strncmp(nd->a.name, "pos", 3);
			for (int64_t j = 0; j < k; j++)
				v[i][j] = pos ? 0.5 + urand() : 2 * urand() - 1;
		}
	}
}

/* The node of output "grad.<name>", or -1. */
static int grad_of(const Graph *g, const char *name)
{
	char out[256];
	snprintf(out, sizeof out, "grad.%s", name);
	return ir_find_output(g, out);
}

/* The largest |p[i]|. */
static double maxabs(const double *p, int64_t k)
{
	double m = 0;
	for (int64_t i = 0; i < k; i++)
		m = fmax(m, fabs(p[i]));
	return m;
}

/* Compare the analytic gradient g of parameter p with finite differences
** and with the single-precision run's gradient gf. */
static void compare(const char *name, const char *param, const double *g, const double *fd, const float *gf, int64_t k)
{
	char what[256];
	snprintf(what, sizeof what, "%s: d loss / d %s", name, param);
	double scale = maxabs(fd, k), scale_g = maxabs(g, k), bad = 0, bad32 = 0;
	int64_t at = 0, at32 = 0;
	for (int64_t i = 0; i < k; i++) {
		double err = fabs(g[i] - fd[i]) / (fabs(fd[i]) + scale + 1e-9);
		double err32 = fabs((double)gf[i] - g[i]) / (scale_g + 1e-9);
		if (!(err <= bad))
			bad = err, at = i;
		if (!(err32 <= bad32))
			bad32 = err32, at32 = i;
	}
	if (!strncmp(param, "zero", 4)) {
		t_check(scale <= 1e-8 && scale_g <= 1e-12, what, "expected 0: autodiff max %g, finite differences max %g",
		        scale_g, scale);
		return;
	}
	worst_fd = fmax(worst_fd, bad);
	worst_f32 = fmax(worst_f32, bad32);
	if (getenv("GRAD_VERBOSE"))
		printf("# %s: fd err %.3g, f32 err %.3g, max|g| %.3g\n", what, bad, bad32, scale_g);
	if (scale < 1e-6 && scale_g < 1e-6)
		t_check(0, what, "the gradient is identically zero: the case checks nothing");
	else if (!(bad <= FD_TOL))
		t_check(0, what, "element %lld: autodiff %.12g, finite differences %.12g (err %.3g)", (long long)at, g[at],
		        fd[at], bad);
	else
		t_check(bad32 <= F32_TOL, what, "f32 run: element %lld is %.9g, f64 %.12g (err %.3g)", (long long)at32,
		        gf[at32], g[at32], bad32);
}

/* Run the autodiff'd graph ad in f64 and f32, and its forward graph fwd in
** f64 for the finite differences; compare every parameter's gradient. */
static void check_params(const char *name, Graph *fwd, Graph *ad, int64_t n)
{
	Err e = {0};
	double **va = interp_alloc_f64(ad, n), **vf = interp_alloc_f64(fwd, n);
	float **v32 = interp_alloc(ad, n);
	fill_sources(ad, n, va);
	for (int i = 0; i < fwd->nnodes; i++) {
		int64_t k = ir_numel(&fwd->nodes[i]->shape, n);
		memcpy(vf[i], va[i], (size_t)k * sizeof(double));
		for (int64_t j = 0; j < k; j++)
			if (fwd->nodes[i]->dtype == DT_I32)
				((int32_t *)v32[i])[j] = ((int32_t *)va[i])[j];
			else
				v32[i][j] = (float)va[i][j];
	}
	if (interp_run_f64(ad, n, va, 7, 3, &e) || interp_run(ad, n, v32, 7, 3, &e)) {
		t_check(0, name, "interp: %s", e.msg);
		goto out;
	}
	int loss = ir_find_output(fwd, "loss");
	for (int i = 0; i < fwd->nnodes; i++) {
		const Node *p = fwd->nodes[i];
		if (p->op != OP_PARAM)
			continue;
		int gi = grad_of(ad, p->a.name);
		int64_t k = ir_numel(&p->shape, n);
		double *fd = malloc((size_t)k * sizeof *fd);
		if (interp_fd_grad_f64(fwd, n, vf, 7, 3, i, loss, NULL, FD_STEP, fd, &e))
			t_check(0, name, "fd: %s", e.msg);
		else if (gi >= 0)
			compare(name, p->a.name, va[gi], fd, v32[gi], k);
		else /* no gradient output: the loss must not depend on p */
			t_check(maxabs(fd, k) == 0, name, "no grad.%s, but finite differences give %g", p->a.name, maxabs(fd, k));
		free(fd);
	}
out:
	interp_free_f64(ad, va);
	interp_free_f64(fwd, vf);
	interp_free(ad, v32);
}

/* Differentiate fwd (which has its loss); NULL and a failed check on error. */
static Graph *differentiate(const char *name, const Graph *fwd)
{
	Err e = {0};
	Graph *ad = ir_clone(fwd);
	PassOpts o = {0};
	o.entry = ENTRY_TRAIN;
	if (pass_autodiff(ad, &o, &e) || ir_verify(ad, &e)) {
		t_check(0, name, "autodiff: %s", e.msg);
		ir_free(ad);
		return NULL;
	}
	return ad;
}

/* The gradient check of one graph at batch size n. */
static void gradcheck(const char *name, const char *text, int64_t n)
{
	Graph *fwd = parse(name, text);
	if (!fwd)
		return;
	Err e = {0};
	if (ir_find_output(fwd, "loss") < 0 && add_linear_loss(fwd, fwd->nnodes - 1, &e)) {
		t_check(0, name, "loss: %s", e.msg);
		ir_free(fwd);
		return;
	}
	Graph *ad = differentiate(name, fwd);
	if (ad)
		check_params(name, fwd, ad, n);
	ir_free(ad);
	ir_free(fwd);
}

/* ---- the cases --------------------------------------------------------- */

static void test_conv_dense(void)
{
	gradcheck("conv2d 3x3 pad 1 stride 1, bias", "graph g\n"
	          "%0 = param \"x\" : f32[2,3,5,5]\n%1 = param \"w\" : f32[4,3,3,3]\n%2 = param \"b\" : f32[4]\n"
	          "%3 = conv2d %0, %1, %2 stride=1 pad=1\n", 1);
	gradcheck("conv2d 3x2 stride 2,1 pad 1,0, no bias", "graph g\n"
	          "%0 = param \"x\" : f32[2,2,6,5]\n%1 = param \"w\" : f32[3,2,3,2]\n"
	          "%2 = conv2d %0, %1 stride=2,1 pad=1,0\n", 1);
	gradcheck("conv2d stride 3 > kernel 2, pad 1", "graph g\n"
	          "%0 = param \"x\" : f32[1,2,7,7]\n%1 = param \"w\" : f32[2,2,2,2]\n%2 = param \"b\" : f32[2]\n"
	          "%3 = conv2d %0, %1, %2 stride=3 pad=1\n", 1);
	gradcheck("conv2d batched input (dw sums over N)", "graph g\n"
	          "%0 = input \"x\" : f32[N,2,4,4]\n%1 = param \"w\" : f32[3,2,3,3]\n%2 = param \"b\" : f32[3]\n"
	          "%3 = conv2d %0, %1, %2 stride=1 pad=1\n", 3);
	gradcheck("dense with bias", "graph g\n"
	          "%0 = param \"x\" : f32[3,5]\n%1 = param \"w\" : f32[4,5]\n%2 = param \"b\" : f32[4]\n"
	          "%3 = dense %0, %1, %2\n", 1);
	gradcheck("dense batched input, no bias", "graph g\n"
	          "%0 = input \"x\" : f32[N,5]\n%1 = param \"w\" : f32[2,5]\n%2 = dense %0, %1\n", 4);
	gradcheck("matmul", "graph g\n"
	          "%0 = param \"a\" : f32[3,4]\n%1 = param \"b\" : f32[4,2]\n%2 = matmul %0, %1\n", 1);
	gradcheck("matmul batched left operand", "graph g\n"
	          "%0 = input \"a\" : f32[N,4]\n%1 = param \"b\" : f32[4,3]\n%2 = matmul %0, %1\n", 3);
}

static void test_arith(void)
{
	static const char *ops[] = {"add", "sub", "mul", "div"};
	for (int i = 0; i < 4; i++) {
		char name[128], text[1024];
		const char *y = i == 3 ? "pos" : "";
		snprintf(name, sizeof name, "%s [2,C,H,W] and [1,C,1,1]", ops[i]);
		snprintf(text, sizeof text, "graph g\n%%0 = param \"x\" : f32[2,3,2,2]\n%%1 = param \"%ss\" : f32[1,3,1,1]\n"
		         "%%2 = %s %%0, %%1\n%%3 = %s %%1, %%0\n%%4 = mul %%2, %%2\n%%5 = add %%4, %%3\n", y, ops[i], ops[i]);
		if (i == 3) /* x also divides: keep it away from 0 */
			snprintf(text, sizeof text, "graph g\n%%0 = param \"posx\" : f32[2,3,2,2]\n%%1 = param \"poss\" : f32[1,3,1,1]\n"
			         "%%2 = div %%0, %%1\n%%3 = div %%1, %%0\n%%4 = mul %%2, %%2\n%%5 = add %%4, %%3\n");
		gradcheck(name, text, 1);
		snprintf(name, sizeof name, "%s [N,C,H,W] and [1,C,1,1] (N sums to 1)", ops[i]);
		snprintf(text, sizeof text, "graph g\n%%0 = input \"x\" : f32[N,3,2,2]\n%%1 = param \"%ss\" : f32[1,3,1,1]\n"
		         "%%2 = %s %%0, %%1\n", y, ops[i]);
		gradcheck(name, text, 3);
		snprintf(name, sizeof name, "%s [N,C] and [C] (N vanishes)", ops[i]);
		snprintf(text, sizeof text, "graph g\n%%0 = input \"x\" : f32[N,4]\n%%1 = param \"%sc\" : f32[4]\n"
		         "%%2 = %s %%0, %%1\n", y, ops[i]);
		gradcheck(name, text, 3);
		snprintf(name, sizeof name, "%s scalar [1] and [2,C]", ops[i]);
		snprintf(text, sizeof text, "graph g\n%%0 = param \"%sx\" : f32[2,4]\n%%1 = param \"%sk\" : f32[1]\n"
		         "%%2 = %s %%1, %%0\n%%3 = %s %%0, %%1\n%%4 = mul %%2, %%2\n%%5 = add %%4, %%3\n", y, y, ops[i], ops[i]);
		gradcheck(name, text, 1);
	}
	gradcheck("mul of a value by itself", "graph g\n%0 = param \"x\" : f32[2,3]\n%1 = mul %0, %0\n", 1);
}

static void test_unary(void)
{
	gradcheck("neg", "graph g\n%0 = param \"x\" : f32[2,5]\n%1 = neg %0\n", 1);
	gradcheck("relu (inputs away from 0)", "graph g\n%0 = param \"gapx\" : f32[3,8]\n%1 = relu %0\n", 1);
	gradcheck("sigmoid", "graph g\n%0 = param \"x\" : f32[2,5]\n%1 = sigmoid %0\n", 1);
	gradcheck("tanh", "graph g\n%0 = param \"x\" : f32[2,5]\n%1 = tanh %0\n", 1);
	gradcheck("exp", "graph g\n%0 = param \"x\" : f32[2,5]\n%1 = exp %0\n", 1);
	gradcheck("log", "graph g\n%0 = param \"posx\" : f32[2,5]\n%1 = log %0\n", 1);
	gradcheck("sqrt", "graph g\n%0 = param \"posx\" : f32[2,5]\n%1 = sqrt %0\n", 1);
}

static void test_global_pool(void)
{
	static const char *ops[] = {"gavg", "gmax", "gmin"};
	for (int i = 0; i < 3; i++)
		for (int kd = 0; kd < 2; kd++) {
			char name[128], text[512];
			snprintf(name, sizeof name, "%s keepdims=%d", ops[i], kd);
			snprintf(text, sizeof text, "graph g\n%%0 = param \"gapx\" : f32[2,3,3,4]\n%%1 = %s %%0 keepdims=%d\n",
			         ops[i], kd);
			gradcheck(name, text, 1);
		}
	gradcheck("maxpool 2x2/2", "graph g\n%0 = param \"gapx\" : f32[2,2,4,4]\n"
	          "%1 = maxpool %0 kernel=2 stride=2 pad=0\n", 1);
	gradcheck("maxpool 3x3/2 pad 1 (overlapping windows)", "graph g\n%0 = param \"gapx\" : f32[1,2,7,6]\n"
	          "%1 = maxpool %0 kernel=3 stride=2 pad=1\n", 1);
	gradcheck("maxpool 2x3/1,2 pad 1,1", "graph g\n%0 = param \"gapx\" : f32[2,1,5,7]\n"
	          "%1 = maxpool %0 kernel=2,3 stride=1,2 pad=1,1\n", 1);
	gradcheck("avgpool 2x2/2", "graph g\n%0 = param \"x\" : f32[2,2,4,4]\n"
	          "%1 = avgpool %0 kernel=2 stride=2 pad=0\n", 1);
	gradcheck("avgpool 3x3/2 pad 1 (in-bounds counts)", "graph g\n%0 = param \"x\" : f32[1,2,7,6]\n"
	          "%1 = avgpool %0 kernel=3 stride=2 pad=1\n", 1);
	gradcheck("avgpool 3x2/2,1 pad 1,0", "graph g\n%0 = param \"x\" : f32[2,1,6,5]\n"
	          "%1 = avgpool %0 kernel=3,2 stride=2,1 pad=1,0\n", 1);
}

static void test_batchnorm(void)
{
	gradcheck("batchnorm batch, rank 4: x, gamma, beta", "graph g\n"
	          "%0 = param \"x\" : f32[3,2,3,3]\n%1 = param \"g\" : f32[2]\n%2 = param \"b\" : f32[2]\n"
	          "%3 = buffer \"m\" : f32[2]\n%4 = buffer \"posv\" : f32[2]\n"
	          "%5 = batchnorm %0, %1, %2, %3, %4 mode=batch eps=0.001\n", 1);
	gradcheck("batchnorm batch, rank 2, batched input", "graph g\n"
	          "%0 = input \"x\" : f32[N,3]\n%1 = param \"g\" : f32[3]\n%2 = param \"b\" : f32[3]\n"
	          "%3 = buffer \"m\" : f32[3]\n%4 = buffer \"posv\" : f32[3]\n"
	          "%5 = batchnorm %0, %1, %2, %3, %4 mode=batch eps=0.00001\n", 5);
	gradcheck("batchnorm running, rank 4: x, gamma, beta", "graph g\n"
	          "%0 = param \"x\" : f32[2,2,3,3]\n%1 = param \"g\" : f32[2]\n%2 = param \"b\" : f32[2]\n"
	          "%3 = buffer \"m\" : f32[2]\n%4 = buffer \"posv\" : f32[2]\n"
	          "%5 = batchnorm %0, %1, %2, %3, %4 mode=running eps=0.001\n", 1);
	gradcheck("batchnorm running, rank 2", "graph g\n"
	          "%0 = param \"x\" : f32[4,3]\n%1 = param \"g\" : f32[3]\n%2 = param \"b\" : f32[3]\n"
	          "%3 = buffer \"m\" : f32[3]\n%4 = buffer \"posv\" : f32[3]\n"
	          "%5 = batchnorm %0, %1, %2, %3, %4 mode=running eps=0.001\n", 1);
}

static void test_shape_ops(void)
{
	gradcheck("concat axis 1, three operands", "graph g\n"
	          "%0 = param \"a\" : f32[2,1,2,2]\n%1 = param \"b\" : f32[2,3,2,2]\n%2 = param \"c\" : f32[2,2,2,2]\n"
	          "%3 = concat %0, %1, %2 axis=1\n", 1);
	gradcheck("concat axis 3, an operand twice", "graph g\n"
	          "%0 = param \"a\" : f32[2,2,2,1]\n%1 = param \"b\" : f32[2,2,2,3]\n"
	          "%2 = concat %0, %1, %0 axis=3\n", 1);
	gradcheck("reshape", "graph g\n%0 = param \"x\" : f32[2,3,2,2]\n%1 = reshape %0 shape=[4,6]\n"
	          "%2 = param \"y\" : f32[4,6]\n%3 = mul %1, %2\n", 1);
	gradcheck("softmax", "graph g\n%0 = param \"x\" : f32[3,5]\n%1 = softmax %0\n", 1);
	gradcheck("logsoftmax", "graph g\n%0 = param \"x\" : f32[3,5]\n%1 = logsoftmax %0\n", 1);
	gradcheck("softmax over the last axis of rank 3", "graph g\n%0 = param \"x\" : f32[2,3,4]\n%1 = softmax %0\n", 1);
	gradcheck("dropout train (same mask forward and backward)", "graph g\n"
	          "%0 = param \"x\" : f32[4,25]\n%1 = dropout %0 mode=train p=0.4 stream=3\n", 1);
	gradcheck("dropout train, batched, two streams", "graph g\n"
	          "%0 = input \"x\" : f32[N,10]\n%1 = param \"w\" : f32[10]\n%2 = mul %0, %1\n"
	          "%3 = dropout %2 mode=train p=0.5 stream=0\n%4 = dropout %3 mode=train p=0.2 stream=1\n", 3);
}

static void test_losses(void)
{
	gradcheck("xent + bmean", "graph g\n"
	          "%0 = input \"x\" : f32[N,4]\n%1 = input \"y\" : i32[N]\n%2 = param \"w\" : f32[5,4]\n"
	          "%3 = param \"b\" : f32[5]\n%4 = dense %0, %2, %3\n%5 = xent %4, %1 smoothing=0\n%6 = bmean %5\n"
	          "output \"loss\" %6\n", 6);
	gradcheck("xent smoothing=0.1 + bmean", "graph g\n"
	          "%0 = input \"x\" : f32[N,4]\n%1 = input \"y\" : i32[N]\n%2 = param \"w\" : f32[3,4]\n"
	          "%3 = dense %0, %2\n%4 = xent %3, %1 smoothing=0.1\n%5 = bmean %4\noutput \"loss\" %5\n", 5);
	gradcheck("bmean of [N,C] (then the random functional)", "graph g\n"
	          "%0 = input \"x\" : f32[N,3]\n%1 = param \"w\" : f32[3]\n%2 = mul %0, %1\n%3 = bmean %2\n"
	          "%4 = reshape %3 shape=[1,3]\n%5 = param \"v\" : f32[3,1]\n%6 = matmul %4, %5\n"
	          "%7 = reshape %6 shape=[1]\noutput \"loss\" %7\n", 4);
}

/* conv -> batchnorm(batch) -> relu -> an MFA-like gating block (1x1 conv
** spatial gate; gavg and gmax through one shared dense, sigmoid, channel
** gate) -> maxpool -> gavg -> dropout -> two heads with xent, weighted 0.3
** / 0.7. The conv's bias is followed by batch statistics, which cancel it:
** its gradient must be exactly 0 ("zero*" parameters). */
static const char *model =
	"graph mfa\n"
	"%0 = input \"image\" : f32[N,2,5,5]\n"
	"%1 = input \"la\" : i32[N]\n%2 = input \"lb\" : i32[N]\n"
	"%3 = param \"c.w\" : f32[4,2,3,3]\n%4 = param \"zero.c.b\" : f32[4]\n"
	"%5 = conv2d %0, %3, %4 stride=1 pad=1\n"
	"%6 = param \"bn.g\" : f32[4]\n%7 = param \"bn.b\" : f32[4]\n"
	"%8 = buffer \"bn.m\" : f32[4]\n%9 = buffer \"posbn.v\" : f32[4]\n"
	"%10 = batchnorm %5, %6, %7, %8, %9 mode=batch eps=0.001\n"
	"%11 = relu %10\n"
	"%12 = param \"sp.w\" : f32[1,4,1,1]\n%13 = param \"sp.b\" : f32[1]\n"
	"%14 = conv2d %11, %12, %13 stride=1 pad=0\n"
	"%15 = sigmoid %14\n"
	"%16 = mul %11, %15\n"
	"%17 = gavg %16 keepdims=0\n%18 = gmax %16 keepdims=0\n"
	"%19 = param \"fc.w\" : f32[4,4]\n%20 = param \"fc.b\" : f32[4]\n"
	"%21 = dense %17, %19, %20\n%22 = dense %18, %19, %20\n"
	"%23 = add %21, %22\n%24 = sigmoid %23\n"
	"%25 = reshape %24 shape=[N,4,1,1]\n"
	"%26 = mul %16, %25\n"
	"%27 = maxpool %26 kernel=2 stride=2 pad=1\n"
	"%28 = gavg %27 keepdims=0\n"
	"%29 = dropout %28 mode=train p=0.25 stream=0\n"
	"%30 = param \"ha.w\" : f32[3,4]\n%31 = param \"ha.b\" : f32[3]\n%32 = dense %29, %30, %31\n"
	"%33 = param \"hb.w\" : f32[5,4]\n%34 = param \"hb.b\" : f32[5]\n%35 = dense %29, %33, %34\n"
	"%36 = xent %32, %1 smoothing=0.1\n%37 = xent %35, %2 smoothing=0\n"
	"%38 = bmean %36\n%39 = bmean %37\n"
	"%40 = const [0.3] : f32[1]\n%41 = const [0.7] : f32[1]\n"
	"%42 = mul %38, %40\n%43 = mul %39, %41\n%44 = add %42, %43\n"
	"output \"loss\" %44\n";

static void test_model(void)
{
	gradcheck("MFA-like model end to end", model, 4);
}

/* A parameter used twice gets the sum of its two uses' gradients: w in
** dense(x, w) + dense(z, w) against w1, w2 (same values) used once each. */
static void test_shared_param(void)
{
	const char *twice = "graph t\n%0 = input \"x\" : f32[N,3]\n%1 = input \"z\" : f32[N,3]\n"
	                    "%2 = param \"w\" : f32[2,3]\n%3 = param \"w2\" : f32[2,3]\n"
	                    "%4 = dense %0, %2\n%5 = dense %1, %2\n%6 = add %4, %5\n%7 = mul %6, %6\n";
	const char *apart = "graph a\n%0 = input \"x\" : f32[N,3]\n%1 = input \"z\" : f32[N,3]\n"
	                    "%2 = param \"w\" : f32[2,3]\n%3 = param \"w2\" : f32[2,3]\n"
	                    "%4 = dense %0, %2\n%5 = dense %1, %3\n%6 = add %4, %5\n%7 = mul %6, %6\n";
	gradcheck("a parameter used twice (finite differences)", twice, 3);
	Graph *gt = parse("shared", twice), *ga = parse("apart", apart);
	Err e = {0};
	uint32_t keep = rng;
	if (!gt || !ga || add_linear_loss(gt, 7, &e) || (rng = keep, add_linear_loss(ga, 7, &e))) {
		t_check(0, "shared parameter", "setup: %s", e.msg);
		ir_free(gt), ir_free(ga);
		return;
	}
	Graph *dt = differentiate("shared", gt), *da = differentiate("apart", ga);
	if (dt && da) {
		int n = 3;
		double **vt = interp_alloc_f64(dt, n), **va = interp_alloc_f64(da, n);
		fill_sources(dt, n, vt);
		for (int i = 0; i < gt->nnodes; i++)
			memcpy(va[i], vt[i], (size_t)ir_numel(&gt->nodes[i]->shape, n) * sizeof(double));
		memcpy(va[3], vt[2], 6 * sizeof(double)); /* w2 = w */
		if (interp_run_f64(dt, n, vt, 0, 0, &e) || interp_run_f64(da, n, va, 0, 0, &e)) {
			t_check(0, "shared parameter", "interp: %s", e.msg);
		} else {
			const double *g = vt[grad_of(dt, "w")], *g1 = va[grad_of(da, "w")], *g2 = va[grad_of(da, "w2")];
			double bad = 0;
			for (int i = 0; i < 6; i++)
				bad = fmax(bad, fabs(g[i] - (g1[i] + g2[i])) / (fabs(g1[i]) + fabs(g2[i]) + 1e-12));
			t_check(bad < 1e-12 && grad_of(dt, "w2") < 0, "a parameter used twice gets the sum of both gradients",
			        "relative difference %g (grad.w2 %d)", bad, grad_of(dt, "w2"));
		}
		interp_free_f64(dt, vt);
		interp_free_f64(da, va);
	}
	ir_free(dt), ir_free(da), ir_free(gt), ir_free(ga);
}

int main(void)
{
	test_conv_dense();
	test_arith();
	test_unary();
	test_global_pool();
	test_batchnorm();
	test_shape_ops();
	test_losses();
	test_model();
	test_shared_param();
	printf("# worst finite-difference error %.3g (tolerance %g), worst f32-vs-f64 error %.3g (tolerance %g)\n",
	       worst_fd, FD_TOL, worst_f32, F32_TOL);
	return t_done();
}
