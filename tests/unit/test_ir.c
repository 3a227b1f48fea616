/*
** test_ir.c -- the IR core: text round trip, shape errors, the verifier,
** the passes (from IR text to printed IR) and the memory planner.
*/
#include "ir/ir.h"
#include "passes/passes.h"
#include "t.h"

#include <math.h>
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

/* The profile's arithmetic per node: 2 flops per multiply-accumulate of a
** convolution forward, and the same products for its two gradients; none
** for elementwise ops. conv 3->4 channels, 3x3, stride 2, 8x8 -> 4x4: 4*4*4
** outputs, 3*3*3 products each. */
static void test_node_flops(void)
{
	Err e;
	Graph *g = parse("graph f\n"
	                 "%0 = input \"x\" : f32[N,3,8,8]\n"
	                 "%1 = param \"w\" init=glorot : f32[4,3,3,3]\n"
	                 "%2 = conv2d %0, %1 stride=2 pad=1 : f32[N,4,4,4]\n"
	                 "%3 = conv2d_dx %2, %1 stride=2 pad=1 shape=[N,3,8,8] : f32[N,3,8,8]\n"
	                 "%4 = conv2d_dw %0, %2 stride=2 pad=1 shape=[4,3,3,3] : f32[4,3,3,3]\n"
	                 "%5 = relu %2 : f32[N,4,4,4]\n"
	                 "output \"y\" %5\noutput \"dx\" %3\noutput \"dw\" %4\n", &e);
	t_check(g != NULL, "flops: parse", "%s", e.msg);
	if (!g)
		return;
	const int64_t want = 2 * 4 * 4 * 4 * 3 * 3 * 3;
	t_check(ir_node_flops(g, g->nodes[2]) == want && ir_node_flops(g, g->nodes[3]) == want &&
	        ir_node_flops(g, g->nodes[4]) == want && ir_node_flops(g, g->nodes[5]) == 0,
	        "flops: conv2d, its two gradients, relu", "%lld %lld %lld %lld",
	        (long long)ir_node_flops(g, g->nodes[2]), (long long)ir_node_flops(g, g->nodes[3]),
	        (long long)ir_node_flops(g, g->nodes[4]), (long long)ir_node_flops(g, g->nodes[5]));
	ir_free(g);
}

/* Counts and sizes are printed with the unit that fits (lunac stats printed
** 1.8 million MACs as "0.00 G"). */
static void test_human(void)
{
	static const struct { double v; int bin; const char *want; } cases[] = {
		{1.8e6, 0, "1.80 M"}, {183728, 0, "184 K"}, {999.7e3, 0, "1.00 M"}, {532, 0, "532"}, {0, 0, "0"},
		{2397024256.0, 0, "2.40 G"}, {50890, 0, "50.9 K"}, {3136, 1, "3.06 KiB"}, {512, 1, "512 bytes"},
		{1024, 1, "1.00 KiB"}, {215544960, 1, "206 MiB"}, {9.2e18, 0, "9.20 E"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char buf[32], name[64];
		ir_human(buf, sizeof buf, cases[i].v, cases[i].bin);
		snprintf(name, sizeof name, "ir_human %.6g%s", cases[i].v, cases[i].bin ? " bytes" : "");
		t_check(!strcmp(buf, cases[i].want), name, "got \"%s\", want \"%s\"", buf, cases[i].want);
	}
}

/* The graph line carries the spec hash and the entry point a pipeline
** specialised the graph for, through print and parse; the pipeline sets
** entry= and refuses to run again on a specialised graph; one graph per text. */
static void test_graph_line(void)
{
	Err e;
	Graph *g = parse("graph m spec=7d231f266470e887\n%0 = input \"x\" : f32[N,4]\noutput \"y\" %0\n", &e);
	t_check(g && g->spec_hash && !strcmp(g->spec_hash, "7d231f266470e887") && !g->entry, "graph line: spec= parsed",
	        "%s", g ? "wrong spec or entry" : e.msg);
	char *a = g ? ir_print_str(g) : NULL;
	t_check(a && !strncmp(a, "graph m spec=7d231f266470e887\n", 30), "graph line: spec= printed", "%s", a ? a : "-");
	PassOpts o = {.entry = ENTRY_MC};
	int rc = g ? pass_pipeline(g, &o, &e) : -1;
	char *b = rc ? NULL : ir_print_str(g);
	t_check(b && !strncmp(b, "graph m spec=7d231f266470e887 entry=mc\n", 39), "graph line: the pipeline sets entry=",
	        "%s", b ? b : e.msg);
	Graph *h = b ? parse(b, &e) : NULL;
	t_check(h && h->entry && !strcmp(h->entry, "mc"), "graph line: entry= parsed", "%s", h ? "no entry" : e.msg);
	memset(&e, 0, sizeof e);
	t_check(h && pass_pipeline(h, &o, &e) && strstr(e.msg, "already specialised for the entry point mc"),
	        "graph line: the pipeline refuses a specialised graph", "%s", e.msg);
	free(a), free(b), ir_free(g), ir_free(h);
	expect_error("graph line: spec= is hexadecimal", "graph m spec=xyz\n", "t.ir:1: spec= expects the hexadecimal");
	expect_error("graph line: spec= twice", "graph m spec=ab spec=cd\n", "t.ir:1: a graph attribute is given twice");
	expect_error("graph line: unknown attribute", "graph m colour=red\n", "t.ir:1: unexpected text");
	expect_error("graph line: a second graph", "graph m\ngraph n\n", "t.ir:2: a second graph line");
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
		"graph small entry=predict\n"
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
		"graph small entry=mc\n"
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

/* Run ir_verify on g after setting one attribute badly; want in the message. */
static void verify_catches(Graph *g, const char *name, const char *want)
{
	Err e = {0};
	t_check(ir_verify(g, &e) && strstr(e.msg, want), name, "got \"%s\", want \"%s\"", e.msg, want);
}

/* The verifier holds every graph (not only parsed text) to the attribute
** rules: a pass or a frontend that wrote a bad value is caught. */
static void test_attr_rules(void)
{
	Err e;
	static const char bn[] =
		"graph b\n%0 = input \"x\" : f32[N,3]\n%1 = param \"g\" init=ones : f32[3]\n"
		"%2 = param \"b\" init=zeros : f32[3]\n%3 = buffer \"m\" init=zeros : f32[3]\n"
		"%4 = buffer \"v\" init=ones : f32[3]\n%5 = batchnorm %0, %1, %2, %3, %4 mode=running eps=0.001 momentum=0.01\n"
		"%6 = dropout %5 mode=train p=0.5 stream=0\n%7 = maxpool %6 kernel=1 stride=1 pad=0\noutput \"y\" %6\n";
	Graph *g = parse(bn, &e);
	t_check(g == NULL && strstr(e.msg, "maxpool: input must have rank 4"), "attrs: the base parses to its last line",
	        "%s", e.msg);
	ir_free(g);
	char text[sizeof bn];
	memcpy(text, bn, sizeof bn);
	*strstr(text, "%7 = maxpool") = 0;
	strcat(text, "output \"y\" %6\n");
	g = parse(text, &e);
	t_check(g && ir_verify(g, &e) == 0, "attrs: a good batch norm and dropout", "%s", e.msg);
	if (!g)
		return;
	Node *b = g->nodes[5], *d = g->nodes[6];
	b->a.eps = NAN;
	verify_catches(g, "attrs: verifier refuses eps nan", "%5: batchnorm: eps must be a finite number above 0, got nan");
	b->a.eps = 0;
	verify_catches(g, "attrs: verifier refuses eps 0", "eps must be a finite number above 0, got 0");
	b->a.eps = INFINITY;
	verify_catches(g, "attrs: verifier refuses eps inf", "eps must be a finite number above 0, got inf");
	b->a.eps = 1e-3f;
	b->a.momentum = -0.5f;
	verify_catches(g, "attrs: verifier refuses momentum -0.5", "momentum must be in [0, 1], got -0.5");
	b->a.momentum = 0.1f;
	b->a.mode = MODE_MC;
	verify_catches(g, "attrs: verifier refuses a batch-norm mode", "mode must be running or batch, got mc");
	b->a.mode = MODE_RUNNING;
	d->a.p = 1;
	verify_catches(g, "attrs: verifier refuses p 1", "%6: dropout: p must be in [0, 1), got 1");
	d->a.p = 0.5f;
	d->a.stream = -1;
	verify_catches(g, "attrs: verifier refuses stream -1", "stream must be at least 0, got -1");
	d->a.stream = 0;
	g->nodes[1]->a.name = "__metadata__";
	verify_catches(g, "attrs: verifier refuses a parameter __metadata__", "reserved by the safetensors format");
	g->nodes[1]->a.name = "opt.m.g";
	verify_catches(g, "attrs: verifier refuses a parameter opt.*", "kept for the optimizer state");
	g->nodes[1]->a.name = "";
	verify_catches(g, "attrs: verifier refuses an empty name", "the name \"\" is empty");
	g->nodes[1]->a.name = "g";
	t_check(ir_verify(g, &e) == 0, "attrs: restored graph verifies", "%s", e.msg);
	ir_free(g);
}

/* Names: what every format can carry, and the reserved ones. */
static void test_names(void)
{
	static const struct {
		NameKind kind;
		const char *name;
		size_t len;
		const char *want;   /* NULL: accepted */
	} cases[] = {
		{NAME_PARAM, "conv1.weight", 12, NULL},
		{NAME_PARAM, "caf\xc3\xa9.\xe6\x97\xa5.\xf0\x9f\x98\x80", 14, NULL},
		{NAME_PARAM, "", 0, "is empty"},
		{NAME_PARAM, "a\0b", 3, "NUL"},
		{NAME_PARAM, "a\tb", 3, "control character"},
		{NAME_PARAM, "a\x7f", 2, "control character"},
		{NAME_PARAM, "a\"b", 3, "double quote"},
		{NAME_PARAM, "\xff", 1, "not valid UTF-8"},
		{NAME_PARAM, "\xc0\xaf", 2, "not valid UTF-8"},          /* overlong '/' */
		{NAME_PARAM, "\xed\xa0\x80", 3, "not valid UTF-8"},      /* a surrogate */
		{NAME_PARAM, "\xf4\x90\x80\x80", 4, "not valid UTF-8"},  /* above U+10FFFF */
		{NAME_PARAM, "\xe6\x97", 2, "not valid UTF-8"},          /* cut short */
		{NAME_PARAM, "__metadata__", 12, "safetensors"},
		{NAME_PARAM, "opt.m.w", 7, "optimizer state"},
		{NAME_INPUT, "opt.m.w", 7, NULL},
		{NAME_INPUT, "hyper.lr", 8, "hyper-parameters"},
		{NAME_OUTPUT, "grad.w", 6, "gradients"},
		{NAME_OUTPUT, "loss", 4, NULL},
		{NAME_TASK, "__metadata__", 12, NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		const char *why = ir_name_error(cases[i].kind, cases[i].name, cases[i].len);
		char name[64];
		snprintf(name, sizeof name, "names: case %zu", i);
		t_check(cases[i].want ? why && strstr(why, cases[i].want) : !why, name, "got \"%s\", want \"%s\"",
		        why ? why : "(accepted)", cases[i].want ? cases[i].want : "(accepted)");
	}
	char q[IR_QUOTELEN], longn[300];
	memset(longn, 'a', sizeof longn - 1);
	longn[sizeof longn - 1] = 0;
	ir_quote(q, sizeof q, longn);
	t_check(strlen(q) == 63 && !strcmp(q + 60, "..."), "names: a long name is cut in messages", "%s", q);
	memcpy(longn + 59, "\xc3\xa9", 2);
	ir_quote(q, sizeof q, longn);
	t_check(strlen(q) == 62 && !strcmp(q + 59, "..."), "names: a cut does not split a character", "%s", q);
	ir_quote(q, sizeof q, "a\nb\xff");
	t_check(!strcmp(q, "a\\x0ab\\xff"), "names: control and non-UTF-8 bytes are escaped", "%s", q);
}

/* Sizes: element counts saturate instead of wrapping, the counts of
** `stats` are never negative, and ir_check_size draws the line exactly. */
static void test_sizes(void)
{
	Shape big = {3, {4294967296LL, 4294967296LL, 4294967296LL}};
	t_check(ir_numel(&big, 1) == INT64_MAX, "sizes: numel saturates", "%lld", (long long)ir_numel(&big, 1));
	Graph *g = ir_new("s");
	for (int i = 0; i < 3; i++) {   /* made by hand: shape inference would refuse these */
		Node *p = ir_add(g, OP_PARAM, 0, NULL, NULL);
		p->a.name = i ? "q" : "p";
		p->shape = (Shape){2, {(int64_t)1 << 40, (int64_t)1 << 22}};
	}
	t_check(ir_param_count(g) == INT64_MAX, "sizes: parameter count saturates, never negative", "%lld",
	        (long long)ir_param_count(g));
	Err e = {0};
	t_check(ir_check_size(g, IR_DEFAULT_MAX_BYTES, "s.ir", &e) && strstr(e.msg, "s.ir: %0: param \"p\": the model's parameters"),
	        "sizes: the first node over the limit is named", "%s", e.msg);
	ir_free(g);
	g = ir_new("s");
	Node *p = ir_add(g, OP_PARAM, 0, NULL, "m.lua:7");
	p->a.name = "w";
	p->shape = (Shape){1, {(int64_t)1 << 32}};
	memset(&e, 0, sizeof e);
	t_check(ir_check_size(g, (int64_t)1 << 34, NULL, &e) == 0, "sizes: exactly the limit passes", "%s", e.msg);
	t_check(ir_check_size(g, ((int64_t)1 << 34) - 1, NULL, &e) && strstr(e.msg, "m.lua:7: param \"w\":"),
	        "sizes: one byte under it does not, at the script line", "%s", e.msg);
	ir_free(g);
	memset(&e, 0, sizeof e);
	g = parse("graph r\n%0 = input \"x\" : f32[N,2]\n%1 = reshape %0 shape=[N,4611686018427387904,4]\n", &e);
	t_check(!g && strstr(e.msg, "t.ir:3: %1: reshape: cannot reshape"), "sizes: a reshape target that wraps around",
	        "%s", e.msg);
	ir_free(g);
	g = parse("graph r\n%0 = input \"x\" : f32[N,2]\n%1 = broadcast %0 shape=[N,-5,2]\n", &e);
	t_check(!g && strstr(e.msg, "t.ir:3: %1: broadcast:"), "sizes: a negative broadcast target", "%s", e.msg);
	ir_free(g);
}

/* Tasks on a graph that did not come from text (the frontend's path). */
static void test_tasks(void)
{
	Err e;
	Graph *g = parse("graph t\n%0 = input \"x\" : f32[N,4]\n%1 = param \"w\" : f32[3,4]\n%2 = dense %0, %1\n"
	                 "%3 = softmax %2\n%4 = input \"t.label\" : i32[N]\noutput \"t\" %3\n", &e);
	t_check(g != NULL, "tasks: base", "%s", e.msg);
	if (!g)
		return;
	Task t = {"t", "t", "t.label", 3, 1, 0};
	g->tasks = &t;
	g->ntasks = 1;
	t_check(ir_verify_model(g, NULL, &e) == 0, "tasks: a good task", "%s", e.msg);
	t.classes = 4;
	memset(&e, 0, sizeof e);
	t_check(ir_verify_model(g, NULL, &e) && strstr(e.msg, "t: task \"t\": output \"t\" is f32[N,3], not the f32[N,4]"),
	        "tasks: class count that does not match the output", "%s", e.msg);
	t.classes = 3;
	t.label = "x";
	memset(&e, 0, sizeof e);
	t_check(ir_verify_model(g, NULL, &e) && strstr(e.msg, "label input \"x\" is f32[N,4]"), "tasks: a label that is not i32",
	        "%s", e.msg);
	t.label = "t.label";
	t.weight = -1;
	memset(&e, 0, sizeof e);
	t_check(ir_verify_model(g, NULL, &e) && strstr(e.msg, "weight must be a finite number"), "tasks: a negative weight",
	        "%s", e.msg);
	g->tasks = NULL;
	g->ntasks = 0;
	ir_free(g);
}

int main(void)
{
	test_roundtrip();
	test_graph_line();
	test_human();
	test_node_flops();
	test_shape_errors();
	test_verifier();
	test_passes();
	test_plan();
	test_training_passes();
	test_attr_rules();
	test_names();
	test_sizes();
	test_tasks();
	return t_done();
}
