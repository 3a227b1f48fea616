/*
** test_ir.c -- the IR core: text round trip, shape errors, the verifier,
** the passes (from IR text to printed IR) and the memory planner.
*/
#include "ir/ir.h"
#include "passes/passes.h"
#include "t.h"

#include <stdlib.h>
#include <string.h>

static const char *const small =
	"graph small\n"
	"%0 = input \"x\" : f32[N,3,8,8]\n"
	"%1 = param \"c.weight\" init=glorot : f32[4,3,3,3]\n"
	"%2 = param \"c.bias\" init=zeros : f32[4]\n"
	"%3 = conv2d %0, %1, %2 stride=2 pad=1 : f32[N,4,4,4]          # m.lua:3\n"
	"%4 = relu %3 : f32[N,4,4,4]\n"
	"%5 = dropout %4 mode=mc p=0.25 stream=0 : f32[N,4,4,4]\n"
	"%6 = gavg %5 keepdims=0 : f32[N,4]\n"
	"%7 = const [1, 2, 3, 4] : f32[4]\n"
	"%8 = mul %6, %7 : f32[N,4]\n"
	"%9 = softmax %8 : f32[N,4]\n"
	"%10 = exp %8 : f32[N,4]\n"
	"output \"probs\" %9\n";

/* Parse text; NULL and the message in e on failure. */
static Graph *parse(const char *text, Err *e)
{
	memset(e, 0, sizeof *e);
	return ir_parse(text, "t.ir", e);
}

/* Printing a parsed graph and parsing the print gives the same text. */
static void test_roundtrip(void)
{
	Err e;
	Graph *g = parse(small, &e);
	t_check(g != NULL, "parse small graph", "%s", e.msg);
	if (!g)
		return;
	char *a = ir_print_str(g);
	Graph *h = parse(a, &e);
	char *b = h ? ir_print_str(h) : NULL;
	t_check(b && !strcmp(a, b), "print-parse-print is stable", "%s", b ? b : e.msg);
	t_check(strstr(a, "# m.lua:3") != NULL, "locations survive the round trip", "%s", a);
	t_check(ir_verify(g, &e) == 0, "verifier accepts a good graph", "%s", e.msg);
	free(a), free(b), ir_free(g), ir_free(h);
}

/* Each bad text gives a message containing want. */
static void expect_error(const char *name, const char *text, const char *want)
{
	Err e;
	Graph *g = parse(text, &e);
	t_check(!g && strstr(e.msg, want), name, "got \"%s\", want \"%s\"", g ? "no error" : e.msg, want);
	ir_free(g);
}

/* Shape inference rejects what cannot run, naming the op and the shapes. */
static void test_shape_errors(void)
{
	expect_error("conv channel mismatch",
	             "%0 = input \"x\" : f32[N,3,8,8]\n%1 = param \"w\" init=glorot : f32[4,2,3,3]\n"
	             "%2 = conv2d %0, %1 # m.lua:7\n",
	             "t.ir:3: m.lua:7: conv2d: input [N,3,8,8] has 3 channels but weight [4,2,3,3] expects 2");
	expect_error("broadcast mismatch",
	             "%0 = input \"x\" : f32[N,3]\n%1 = input \"y\" : f32[N,4]\n%2 = add %0, %1\n",
	             "add: shapes [N,3] and [N,4] do not broadcast");
	expect_error("N does not broadcast with a number",
	             "%0 = input \"x\" : f32[N,3]\n%1 = param \"y\" init=ones : f32[5,3]\n%2 = mul %0, %1\n",
	             "do not broadcast");
	expect_error("dense wants rank 2",
	             "%0 = input \"x\" : f32[N,3,2,2]\n%1 = param \"w\" init=glorot : f32[4,12]\n%2 = dense %0, %1\n",
	             "dense: input (flatten it first) must have rank 2");
	expect_error("reshape count", "%0 = input \"x\" : f32[N,3,2,2]\n%1 = reshape %0 shape=[N,13]\n",
	             "cannot reshape [N,3,2,2] to [N,13]");
	expect_error("pool too large", "%0 = input \"x\" : f32[N,3,2,2]\n%1 = maxpool %0 kernel=3 stride=1 pad=0\n",
	             "does not fit");
	expect_error("dropout p", "%0 = input \"x\" : f32[N,3]\n%1 = dropout %0 mode=mc p=1 stream=0\n",
	             "p must be in [0, 1)");
	expect_error("unknown op", "%0 = input \"x\" : f32[N,3]\n%1 = frobnicate %0\n", "t.ir:2: unknown op");
	expect_error("forward reference", "%0 = input \"x\" : f32[N,3]\n%1 = relu %2\n", "undefined node");
	expect_error("arity", "%0 = input \"x\" : f32[N,3]\n%1 = add %0\n", "add: takes 2 to 2 operands, got 1");
	expect_error("written type checked", "%0 = input \"x\" : f32[N,3]\n%1 = relu %0 : f32[N,4]\n",
	             "does not match the inferred one");
	expect_error("const count", "%0 = const [1, 2] : f32[3]\n", "wrong number of values");
	expect_error("concat", "%0 = input \"x\" : f32[N,3,2,2]\n%1 = input \"y\" : f32[N,3,3,3]\n"
	             "%2 = concat %0, %1 axis=1\n", "cannot join");
}

/* The verifier catches a graph a buggy pass could produce. */
static void test_verifier(void)
{
	Err e;
	Graph *g = parse(small, &e);
	if (!g)
		return;
	g->nodes[4]->shape.d[1] = 5;
	memset(&e, 0, sizeof e);
	t_check(ir_verify(g, &e) && strstr(e.msg, "%4 relu has type f32[N,5,4,4]"), "verifier: stale shape", "%s", e.msg);
	g->nodes[4]->shape.d[1] = 4;
	g->nodes[2]->a.name = "c.weight";
	memset(&e, 0, sizeof e);
	t_check(ir_verify(g, &e) && strstr(e.msg, "both named \"c.weight\""), "verifier: duplicate name", "%s", e.msg);
	ir_free(g);
}

/* Run the pipeline on text and compare the printed result. */
static void expect_pipeline(const char *name, const char *in, EntryKind k, const char *want)
{
	Err e;
	Graph *g = parse(in, &e);
	PassOpts o = {.entry = k};
	if (!g || pass_pipeline(g, &o, &e)) {
		t_check(0, name, "%s", e.msg);
		ir_free(g);
		return;
	}
	char *s = ir_print_str(g);
	t_check(!strcmp(s, want), name, "got\n%s", s);
	free(s);
	ir_free(g);
}

/* mode + simplify + dce on the small graph, for predict and for mc. */
static void test_passes(void)
{
	expect_pipeline("pipeline for predict: dropout removed, dead exp removed", small, ENTRY_PREDICT,
		"graph small\n"
		"%0 = input \"x\" : f32[N,3,8,8]\n"
		"%1 = param \"c.weight\" init=glorot : f32[4,3,3,3]\n"
		"%2 = param \"c.bias\" init=zeros : f32[4]\n"
		"%3 = conv2d %0, %1, %2 stride=2 pad=1 : f32[N,4,4,4]        # m.lua:3\n"
		"%4 = relu %3 : f32[N,4,4,4]\n"
		"%5 = gavg %4 keepdims=0 : f32[N,4]\n"
		"%6 = const [1, 2, 3, 4] : f32[4]\n"
		"%7 = mul %5, %6 : f32[N,4]\n"
		"%8 = softmax %7 : f32[N,4]\n"
		"output \"probs\" %8\n");
	expect_pipeline("pipeline for mc: dropout kept", small, ENTRY_MC,
		"graph small\n"
		"%0 = input \"x\" : f32[N,3,8,8]\n"
		"%1 = param \"c.weight\" init=glorot : f32[4,3,3,3]\n"
		"%2 = param \"c.bias\" init=zeros : f32[4]\n"
		"%3 = conv2d %0, %1, %2 stride=2 pad=1 : f32[N,4,4,4]        # m.lua:3\n"
		"%4 = relu %3 : f32[N,4,4,4]\n"
		"%5 = dropout %4 mode=mc p=0.25 stream=0 : f32[N,4,4,4]\n"
		"%6 = gavg %5 keepdims=0 : f32[N,4]\n"
		"%7 = const [1, 2, 3, 4] : f32[4]\n"
		"%8 = mul %6, %7 : f32[N,4]\n"
		"%9 = softmax %8 : f32[N,4]\n"
		"output \"probs\" %9\n");
	Err e = {0};
	Graph *g = parse(small, &e);
	PassOpts o = {.disable = "mode"};
	t_check(g && pass_pipeline(g, &o, &e) && strstr(e.msg, "\"mode\" is required"), "mode cannot be disabled",
	        "%s", e.msg);
	ir_free(g);
	memset(&e, 0, sizeof e);
	g = parse(small, &e);
	o = (PassOpts){.disable = "fuse"};
	t_check(g && pass_pipeline(g, &o, &e) && strstr(e.msg, "unknown pass \"fuse\""), "unknown pass named",
	        "%s", e.msg);
	ir_free(g);
}

/* The plan: no two values live at the same time share bytes, and dead
** intermediates are reused. */
static void test_plan(void)
{
	static const char *const chain =
		"%0 = input \"x\" : f32[N,64]\n"
		"%1 = relu %0\n%2 = sigmoid %1\n%3 = tanh %2\n%4 = exp %3\n%5 = add %4, %1\n%6 = neg %5\n"
		"%7 = param \"w\" init=ones : f32[64]\n%8 = mul %6, %7\n"
		"output \"y\" %8\n";
	Err e = {0};
	Graph *g = parse(chain, &e);
	Plan p;
	if (!g || pass_plan(g, NULL, &p, &e)) {
		t_check(0, "plan chain", "%s", e.msg);
		return;
	}
	/* live intervals: value i lives from i to its last use */
	int ok = 1;
	for (int i = 0; i < g->nnodes; i++)
		for (int j = i + 1; j < g->nnodes; j++) {
			Node *a = g->nodes[i], *b = g->nodes[j];
			if (ir_batched(&a->shape) != ir_batched(&b->shape))
				continue;
			int last = i;
			for (int k = i + 1; k < g->nnodes; k++)
				for (int m = 0; m < g->nodes[k]->nin; m++)
					if (g->nodes[k]->in[m] == i)
						last = k;
			int persistent = i == 0 || i == 7 || i == 8;
			if ((persistent || last >= j) && p.off[i] < p.off[j] + 256 && p.off[j] < p.off[i] + 256)
				ok = 0;
		}
	t_check(ok, "plan: live values never overlap", "overlap found");
	t_check(p.batch_bytes < 9 * 256, "plan: dead intermediates are reused", "batch bytes %lld",
	        (long long)p.batch_bytes);
	t_check(p.fixed_bytes == 256, "plan: parameters in the fixed region", "fixed %lld", (long long)p.fixed_bytes);
	ir_free(g);
}

/* Autodiff: a parameter used twice gets the sum of both gradients; the
** training pipeline writes every parameter back once; errors are clear. */
static void test_training_passes(void)
{
	static const char *const twice =
		"%0 = input \"x\" : f32[N,3]\n"
		"%1 = input \"y\" : i32[N]\n"
		"%2 = param \"d.weight\" init=glorot : f32[3,3]\n"
		"%3 = dense %0, %2\n%4 = sigmoid %3\n%5 = dense %4, %2\n"
		"%6 = xent %5, %1 smoothing=0.1\n%7 = bmean %6\n"
		"output \"loss\" %7\n";
	Err e = {0};
	Graph *g = parse(twice, &e);
	PassOpts o = {.entry = ENTRY_TRAIN, .disable = "update"};
	int ok = g && !pass_mode(g, &o, &e) && !pass_autodiff(g, &o, &e);
	int grad = ok ? ir_find_output(g, "grad.d.weight") : -1;
	t_check(grad >= 0 && g->nodes[grad]->op == OP_ADD, "autodiff: a shared parameter's gradients are summed",
	        "%s", e.msg);
	ir_free(g);

	memset(&e, 0, sizeof e);
	g = parse(twice, &e);
	o = (PassOpts){.entry = ENTRY_TRAIN, .optimizer = OPT_SGD};
	ok = g && !pass_pipeline(g, &o, &e);
	int assigns = 0, states = 0;
	for (int i = 0; ok && i < g->nnodes; i++) {
		assigns += g->nodes[i]->op == OP_ASSIGN;
		states += g->nodes[i]->op == OP_STATE;
	}
	t_check(ok && assigns == 2 && states == 1 && g->noutputs == 1, "train_sgd: one momentum state, two write-backs",
	        "%s assigns %d states %d", e.msg, assigns, states);
	ir_free(g);

	memset(&e, 0, sizeof e);
	g = parse("%0 = input \"x\" : f32[N,3]\n%1 = relu %0\noutput \"y\" %1\n", &e);
	o = (PassOpts){.entry = ENTRY_TRAIN};
	t_check(g && pass_pipeline(g, &o, &e) && strstr(e.msg, "defines no loss"), "train without a loss is refused",
	        "%s", e.msg);
	ir_free(g);

	memset(&e, 0, sizeof e);
	g = parse("%0 = param \"p\" init=ones : f32[3]\n%1 = neg %0\n%2 = assign %0, %1\n%3 = relu %0\n"
	          "output \"y\" %3\n", &e);
	t_check(g && ir_verify(g, &e) && strstr(e.msg, "%3 reads p after %2 has overwritten it"),
	        "verifier: read after write-back", "%s", e.msg);
	ir_free(g);
	expect_error("xent wants i32 labels",
	             "%0 = input \"x\" : f32[N,3]\n%1 = input \"y\" : f32[N]\n%2 = xent %0, %1 smoothing=0\n",
	             "xent: operand 1 must be i32 (class labels)");
}

int main(void)
{
	test_roundtrip();
	test_shape_errors();
	test_verifier();
	test_passes();
	test_plan();
	test_training_passes();
	return t_done();
}
