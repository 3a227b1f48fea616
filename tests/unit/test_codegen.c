/*
** test_codegen.c -- compiled code against the reference interpreter.
**
** Each case is IR text: it is planned (pass_plan), emitted as an object
** (cg_emit), linked into a shared library with the runtime's RNG, loaded,
** and run on an arena poisoned with NaN for n = 1 and n = 3; every graph
** output must match interp_run within a relative L2 error of 1e-5 and hold
** no NaN. Also: the descriptor, byte-identical emissions, and zmm registers
** in the assembly when the host has AVX-512.
*/
#include "t.h"

#include "codegen/codegen.h"
#include "../frontend/frontend.h"
#include "interp/interp.h"
#include "lunac_rt.h"

#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <glob.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* From LLVM-C (linked in; the test includes no LLVM header). */
char *LLVMGetHostCPUFeatures(void);
void LLVMDisposeMessage(char *);

typedef void (*Predict)(char *arena, int64_t n, const RtCtx *ctx);

typedef struct Case {
	const char *name;
	int positive;       /* inputs in [0.1, 2) instead of [-1, 1) (log) */
	const char *ir;
} Case;

#define X4(c, h, w) "%0 = input \"x\" : f32[N," #c "," #h "," #w "]\n"

static const Case cases[] = {
	{"conv s1 p1 bias", 0, X4(3, 8, 8) "%1 = param \"w\" init=glorot : f32[4,3,3,3]\n"
	 "%2 = param \"b\" init=zeros : f32[4]\n%3 = conv2d %0, %1, %2 stride=1 pad=1\noutput \"y\" %3\n"},
	{"conv s2 p1 non-square no bias", 0, X4(3, 9, 7) "%1 = param \"w\" : f32[5,3,3,3]\n"
	 "%2 = conv2d %0, %1 stride=2 pad=1\noutput \"y\" %2\n"},
	{"conv 1x1", 0, X4(8, 5, 6) "%1 = param \"w\" : f32[16,8,1,1]\n%2 = param \"b\" : f32[16]\n"
	 "%3 = conv2d %0, %1, %2 stride=1 pad=0\noutput \"y\" %3\n"},
	{"conv 5x3 stride 2,1 pad 2,1", 0, X4(2, 10, 7) "%1 = param \"w\" : f32[3,2,5,3]\n"
	 "%2 = param \"b\" : f32[3]\n%3 = conv2d %0, %1, %2 stride=2,1 pad=2,1\noutput \"y\" %3\n"},
	{"conv 7x7 s2 p3 wide", 0, X4(3, 16, 37) "%1 = param \"w\" : f32[8,3,7,7]\n"
	 "%2 = conv2d %0, %1 stride=2 pad=3\noutput \"y\" %2\n"},
	{"conv s3 no pad", 0, X4(4, 11, 11) "%1 = param \"w\" : f32[2,4,3,3]\n"
	 "%2 = conv2d %0, %1 stride=3 pad=0\noutput \"y\" %2\n"},
	{"dense bias", 0, "%0 = input \"x\" : f32[N,20]\n%1 = param \"w\" : f32[10,20]\n%2 = param \"b\" : f32[10]\n"
	 "%3 = dense %0, %1, %2\noutput \"y\" %3\n"},
	{"dense no bias", 0, "%0 = input \"x\" : f32[N,37]\n%1 = param \"w\" : f32[5,37]\n%2 = dense %0, %1\n"
	 "output \"y\" %2\n"},
	{"matmul batched", 0, "%0 = input \"a\" : f32[N,12]\n%1 = param \"b\" : f32[12,7]\n%2 = matmul %0, %1\n"
	 "output \"y\" %2\n"},
	{"matmul fixed", 0, "%0 = param \"a\" : f32[4,6]\n%1 = param \"b\" : f32[6,9]\n%2 = matmul %0, %1\n"
	 "output \"y\" %2\n"},
	{"add [N,C,H,W]+[1,C,1,1]", 0, X4(4, 5, 6) "%1 = param \"s\" : f32[1,4,1,1]\n%2 = add %0, %1\n"
	 "output \"y\" %2\n"},
	{"add [C,1,1]+[N,C,H,W]", 0, X4(4, 5, 6) "%1 = param \"s\" : f32[4,1,1]\n%2 = add %1, %0\n"
	 "output \"y\" %2\n"},
	{"sub same shape", 0, X4(4, 5, 6) "%1 = input \"z\" : f32[N,4,5,6]\n%2 = sub %0, %1\noutput \"y\" %2\n"},
	{"mul [N,C]*[C]", 0, "%0 = input \"x\" : f32[N,7]\n%1 = param \"s\" : f32[7]\n%2 = mul %0, %1\n"
	 "output \"y\" %2\n"},
	{"mul [N,1,H,W]*[N,C,H,W]", 0, X4(1, 5, 6) "%1 = input \"z\" : f32[N,3,5,6]\n%2 = mul %0, %1\n"
	 "output \"y\" %2\n"},
	{"div by const scalar [1]", 0, X4(2, 3, 4) "%1 = const [0.37] : f32[1]\n%2 = div %0, %1\n"
	 "output \"y\" %2\n"},
	{"add [N,4,1,6]+[5,1]", 0, X4(4, 1, 6) "%1 = param \"s\" : f32[5,1]\n%2 = add %0, %1\n"
	 "output \"y\" %2\n"},
	{"sub [1,C]-[N,C] fixed+batched", 0, "%0 = input \"x\" : f32[N,9]\n%1 = param \"s\" : f32[1,9]\n"
	 "%2 = sub %1, %0\noutput \"y\" %2\n"},
	{"div fixed [3,4]/[4]", 0, "%0 = param \"a\" : f32[3,4]\n%1 = param \"b\" : f32[4]\n%2 = div %0, %1\n"
	 "output \"y\" %2\n"},
	{"unary neg relu sigmoid tanh exp", 0, X4(3, 4, 5) "%1 = neg %0\n%2 = relu %0\n%3 = sigmoid %0\n"
	 "%4 = tanh %0\n%5 = exp %0\noutput \"neg\" %1\noutput \"relu\" %2\noutput \"sigmoid\" %3\n"
	 "output \"tanh\" %4\noutput \"exp\" %5\n"},
	{"unary log", 1, "%0 = input \"x\" : f32[N,33]\n%1 = log %0\noutput \"y\" %1\n"},
	{"gavg gmax gmin", 0, X4(5, 7, 9) "%1 = gavg %0 keepdims=0\n%2 = gmax %0 keepdims=0\n"
	 "%3 = gmin %0 keepdims=0\noutput \"avg\" %1\noutput \"max\" %2\noutput \"min\" %3\n"},
	{"gavg gmax keepdims", 0, X4(6, 4, 4) "%1 = gavg %0 keepdims=1\n%2 = gmax %0 keepdims=1\n"
	 "output \"avg\" %1\noutput \"max\" %2\n"},
	{"maxpool k2 s2", 0, X4(3, 8, 8) "%1 = maxpool %0 kernel=2 stride=2 pad=0\noutput \"y\" %1\n"},
	{"maxpool k3 s2 p1 non-square", 0, X4(3, 9, 7) "%1 = maxpool %0 kernel=3 stride=2 pad=1\noutput \"y\" %1\n"},
	{"avgpool k3 s1 p1", 0, X4(2, 6, 5) "%1 = avgpool %0 kernel=3 stride=1 pad=1\noutput \"y\" %1\n"},
	{"avgpool k2 s2 odd", 0, X4(2, 7, 9) "%1 = avgpool %0 kernel=2 stride=2 pad=0\noutput \"y\" %1\n"},
	{"avgpool k3,2 s2 p1,1", 0, X4(2, 9, 8) "%1 = avgpool %0 kernel=3,2 stride=2 pad=1,1\noutput \"y\" %1\n"},
	{"batchnorm running 4d", 0, X4(4, 5, 3) "%1 = param \"g\" : f32[4]\n%2 = param \"b\" : f32[4]\n"
	 "%3 = buffer \"m\" init=zeros : f32[4]\n%4 = buffer \"v\" init=ones : f32[4]\n"
	 "%5 = batchnorm %0, %1, %2, %3, %4 mode=running eps=1e-5 momentum=0.1\noutput \"y\" %5\n"},
	{"batchnorm running 2d", 0, "%0 = input \"x\" : f32[N,6]\n%1 = param \"g\" : f32[6]\n"
	 "%2 = param \"b\" : f32[6]\n%3 = buffer \"m\" : f32[6]\n%4 = buffer \"v\" : f32[6]\n"
	 "%5 = batchnorm %0, %1, %2, %3, %4 mode=running eps=1e-3 momentum=0.1\noutput \"y\" %5\n"},
	{"batchnorm batch 4d", 0, X4(3, 5, 4) "%1 = param \"g\" : f32[3]\n%2 = param \"b\" : f32[3]\n"
	 "%3 = buffer \"m\" : f32[3]\n%4 = buffer \"v\" : f32[3]\n"
	 "%5 = batchnorm %0, %1, %2, %3, %4 mode=batch eps=1e-5 momentum=0.1\noutput \"y\" %5\n"},
	{"batchnorm batch 2d", 0, "%0 = input \"x\" : f32[N,5]\n%1 = param \"g\" : f32[5]\n"
	 "%2 = param \"b\" : f32[5]\n%3 = buffer \"m\" : f32[5]\n%4 = buffer \"v\" : f32[5]\n"
	 "%5 = batchnorm %0, %1, %2, %3, %4 mode=batch eps=1e-5 momentum=0.1\noutput \"y\" %5\n"},
	{"concat 2 channels", 0, X4(2, 3, 4) "%1 = input \"z\" : f32[N,5,3,4]\n%2 = concat %0, %1 axis=1\n"
	 "output \"y\" %2\n"},
	{"concat 3 channels", 0, X4(2, 3, 4) "%1 = input \"z\" : f32[N,1,3,4]\n%2 = relu %0\n"
	 "%3 = concat %0, %1, %2 axis=1\noutput \"y\" %3\n"},
	{"concat axis 3", 0, X4(2, 3, 4) "%1 = input \"z\" : f32[N,2,3,1]\n%2 = concat %0, %1 axis=3\n"
	 "output \"y\" %2\n"},
	{"concat 2d features", 0, "%0 = input \"x\" : f32[N,3]\n%1 = input \"p\" : f32[N,5]\n"
	 "%2 = concat %0, %1 axis=1\noutput \"y\" %2\n"},
	{"reshape flatten and back", 0, X4(4, 3, 2) "%1 = reshape %0 shape=[N,24]\n%2 = relu %1\n"
	 "%3 = reshape %2 shape=[N,2,3,4]\noutput \"flat\" %1\noutput \"y\" %3\n"},
	{"softmax", 0, "%0 = input \"x\" : f32[N,10]\n%1 = softmax %0\noutput \"y\" %1\n"},
	{"logsoftmax", 0, "%0 = input \"x\" : f32[N,10]\n%1 = logsoftmax %0\noutput \"y\" %1\n"},
	{"softmax rank 3", 0, "%0 = input \"x\" : f32[N,3,37]\n%1 = softmax %0\n%2 = logsoftmax %0\n"
	 "output \"s\" %1\noutput \"l\" %2\n"},
	{"dropout off", 0, X4(2, 3, 4) "%1 = dropout %0 mode=off p=0.5 stream=0\n%2 = neg %1\n"
	 "output \"y\" %2\n"},
	{"dropout mc", 0, X4(2, 3, 4) "%1 = dropout %0 mode=mc p=0.3 stream=5\noutput \"y\" %1\n"},
	{"dropout train", 0, "%0 = input \"x\" : f32[N,50]\n%1 = dropout %0 mode=train p=0.5 stream=2\n"
	 "output \"y\" %1\n"},
	{"const", 0, "%0 = input \"x\" : f32[N,4]\n%1 = const [1, -2, 0.5, 3.25] : f32[4]\n%2 = mul %0, %1\n"
	 "output \"y\" %2\noutput \"c\" %1\n"},
	{"chain cnn", 0, X4(3, 12, 10) "%1 = param \"c1.w\" : f32[8,3,3,3]\n%2 = param \"c1.b\" : f32[8]\n"
	 "%3 = conv2d %0, %1, %2 stride=1 pad=1\n%4 = param \"bn.g\" : f32[8]\n%5 = param \"bn.b\" : f32[8]\n"
	 "%6 = buffer \"bn.m\" : f32[8]\n%7 = buffer \"bn.v\" : f32[8]\n"
	 "%8 = batchnorm %3, %4, %5, %6, %7 mode=running eps=1e-5 momentum=0.1\n%9 = relu %8\n"
	 "%10 = maxpool %9 kernel=2 stride=2 pad=0\n%11 = param \"c2.w\" : f32[6,8,3,3]\n"
	 "%12 = conv2d %10, %11 stride=2 pad=1\n%13 = sigmoid %12\n%14 = mul %12, %13\n"
	 "%15 = gavg %14 keepdims=1\n%16 = mul %14, %15\n%17 = reshape %16 shape=[N,54]\n"
	 "%18 = dropout %17 mode=mc p=0.2 stream=1\n%19 = param \"fc.w\" : f32[4,54]\n"
	 "%20 = param \"fc.b\" : f32[4]\n%21 = dense %18, %19, %20\n%22 = softmax %21\n"
	 "output \"probs\" %22\noutput \"logits\" %21\n"},
};

static char tmpdir[] = "/tmp/lunac_cg_XXXXXX";
static uint32_t rng_state = 2024;

/* A deterministic pseudo-random float in [lo, hi). */
static float frand(float lo, float hi)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return lo + (hi - lo) * (float)((rng_state >> 8) * (1.0 / 16777216.0));
}

/* Parse and plan; on failure a failed check and NULL. */
static Graph *prepare(const char *name, const char *text, Plan *p)
{
	Err e = {0};
	Graph *g = ir_parse(text, name, &e);
	if (g && !pass_plan(g, p, &e))
		return g;
	t_check(0, name, "parse/plan: %s", e.msg);
	if (g)
		ir_free(g);
	return NULL;
}

/* Emit g with options o as an object, link it into a shared library, load it. */
static void *build(const char *name, int idx, Graph *g, Plan *p, const CgOptions *o)
{
	char obj[256], so[256], cmd[1024];
	snprintf(obj, sizeof obj, "%s/k%d.o", tmpdir, idx);
	snprintf(so, sizeof so, "%s/k%d.so", tmpdir, idx);
	Err e = {0};
	if (cg_emit(g, p, o, EMIT_OBJ, obj, &e)) {
		t_check(0, name, "cg_emit: %s", e.msg);
		return NULL;
	}
	const char *b = getenv("LUNAC_TEST_BUILD") ? getenv("LUNAC_TEST_BUILD") : "build";
	snprintf(cmd, sizeof cmd, "cc -shared -o %s %s %s/librtcore.a -lm", so, obj, b);
	if (system(cmd) != 0) {
		t_check(0, name, "link failed: %s", cmd);
		return NULL;
	}
	void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		t_check(0, name, "dlopen: %s", dlerror());
	return h;
}

/* Relative L2 error of got against ref; NaN anywhere counts as infinite. */
static double rel_err(const float *got, const float *ref, int64_t k)
{
	double num = 0, den = 0;
	for (int64_t i = 0; i < k; i++) {
		if (isnan(got[i]) || isnan(ref[i]))
			return INFINITY;
		num += ((double)got[i] - ref[i]) * ((double)got[i] - ref[i]);
		den += (double)ref[i] * ref[i];
	}
	return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Run the compiled entry and the interpreter at batch n; compare every output. */
static void check_n(const Case *k, Graph *g, const Plan *p, Predict fn, int64_t n)
{
	char name[160];
	snprintf(name, sizeof name, "%s n=%lld", k->name, (long long)n);
	size_t bytes = (size_t)(p->fixed_bytes + p->batch_bytes * n);
	char *arena;
	if (posix_memalign((void **)&arena, 64, bytes ? bytes : 64)) {
		t_check(0, name, "out of memory");
		return;
	}
	for (size_t i = 0; i < bytes / 4; i++)
		((float *)arena)[i] = NAN;
	float **v = interp_alloc(g, n);
	for (int i = 0; i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		if (nd->op != OP_INPUT && nd->op != OP_PARAM && nd->op != OP_BUFFER)
			continue;
		int64_t cnt = ir_numel(&nd->shape, n);
		for (int64_t j = 0; j < cnt; j++)
			v[i][j] = nd->op == OP_BUFFER ? frand(0.5f, 1.5f) : k->positive ? frand(0.1f, 2) : frand(-1, 1);
		memcpy(arena + plan_addr(p, nd, n), v[i], (size_t)cnt * 4);
	}
	Err e = {0};
	RtCtx ctx = {.seed = 0x5eed1234abcdull, .step = 7, .nthreads = 1};
	if (interp_run(g, n, v, ctx.seed, ctx.step, &e)) {
		t_check(0, name, "interp_run: %s", e.msg);
	} else {
		fn(arena, n, &ctx);
		double worst = 0;
		const char *bad = "";
		for (int o = 0; o < g->noutputs; o++) {
			const Node *nd = g->nodes[g->outputs[o].node];
			double r = rel_err((float *)(arena + plan_addr(p, nd, n)), v[nd->id], ir_numel(&nd->shape, n));
			if (!(r <= worst))
				worst = r, bad = g->outputs[o].name;
		}
		t_check(worst <= 1e-5, name, "output '%s': relative error %g", bad, worst);
	}
	interp_free(g, v);
	free(arena);
}

/* One case: plan (then let tweak rewrite the plan, if given), emit with
** options o, link, load, compare at n = 1 and n = 3. */
static void run_case(const Case *k, int idx, const CgOptions *o, void (*tweak)(Plan *))
{
	Plan p;
	Graph *g = prepare(k->name, k->ir, &p);
	if (!g)
		return;
	if (tweak)
		tweak(&p);
	void *h = build(k->name, idx, g, &p, o);
	Predict fn = h ? (Predict)dlsym(h, "lunac_predict") : NULL;
	if (h && !fn)
		t_check(0, k->name, "no lunac_predict");
	if (fn) {
		check_n(k, g, &p, fn, 1);
		check_n(k, g, &p, fn, 3);
	}
	if (h)
		dlclose(h);
	ir_free(g);
}

/* In place: relu and neg write over exp's bytes; the reshape has no storage
** of its own (off < 0), so it and its users read exp's bytes too. */
static const Case inplace = {"plan: in-place results and an aliased reshape", 0,
	"%0 = input \"x\" : f32[N,4,5]\n%1 = exp %0\n%2 = relu %1\n%3 = reshape %2 shape=[N,20]\n"
	"%4 = neg %3\n%5 = param \"s\" : f32[20]\n%6 = mul %4, %5\noutput \"y\" %6\n"};

static void tweak_inplace(Plan *p)
{
	p->off[2] = p->off[1];
	p->off[3] = -1;
	p->off[4] = p->off[1];
	p->off[6] = p->off[1];
}

/* A constant read in place from its global (no arena storage). */
static const Case constref = {"plan: constant read in place", 0,
	"%0 = input \"x\" : f32[N,4]\n%1 = const [1, -2, 0.5, 3.25] : f32[4]\n%2 = mul %0, %1\n"
	"%3 = sub %1, %2\noutput \"y\" %3\n"};

static void tweak_constref(Plan *p)
{
	p->off[1] = -1;
}

/* Plans the planner does not make (yet) and non-default options. */
static void test_variants(int ncases)
{
	run_case(&inplace, 800, NULL, tweak_inplace);
	run_case(&constref, 801, NULL, tweak_constref);
	const Case *chain = &cases[ncases - 1];
	CgOptions o0 = {NULL, NULL, 0, NULL}, generic = {"x86-64", "", 2, NULL};
	Case k = *chain;
	k.name = "chain cnn at -O0";
	run_case(&k, 802, &o0, NULL);
	k.name = "chain cnn for generic x86-64 at -O2";
	run_case(&k, 803, &generic, NULL);
}

/* Every model in models/: loaded by the frontend, through the pass pipeline
** (dropout off, then mc), planned, compiled and compared. */
static void test_models(void)
{
	glob_t gl;
	if (glob("models/*.lua", 0, NULL, &gl) != 0) {
		printf("ok - models # SKIP no models/*.lua here\n");
		return;
	}
	for (size_t i = 0; i < gl.gl_pathc; i++)
		for (int mc = 0; mc < 2; mc++) {
			char name[300];
			snprintf(name, sizeof name, "model %s mode=%s", gl.gl_pathv[i], mc ? "mc" : "off");
			FeOptions fo = {.libdir = "frontend/lib"};
			PassOpts po = {.dropout_mode = mc ? MODE_MC : MODE_OFF};
			Err e = {0};
			Plan p;
			Graph *g = fe_load(gl.gl_pathv[i], &fo, &e);
			if (!g || pass_pipeline(g, &po, &e) || pass_plan(g, &p, &e)) {
				t_check(0, name, "%s", e.msg);
				if (g)
					ir_free(g);
				continue;
			}
			Case k = {name, 0, NULL};
			void *h = build(name, 700 + (int)i * 2 + mc, g, &p, NULL);
			Predict fn = h ? (Predict)dlsym(h, "lunac_predict") : NULL;
			if (fn) {
				check_n(&k, g, &p, fn, 1);
				check_n(&k, g, &p, fn, 3);
			}
			if (h)
				dlclose(h);
			ir_free(g);
		}
	globfree(&gl);
}

/* Read a whole file; *len gets its size. NULL if unreadable. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)sz + 1);
	*len = fread(s, 1, (size_t)sz, f);
	s[*len] = 0;
	fclose(f);
	return s;
}

/* Emit the same graph (parsed twice) twice per kind: identical bytes. */
static void test_deterministic(void)
{
	const Case *k = &cases[sizeof cases / sizeof cases[0] - 1];
	static const EmitKind kinds[] = {EMIT_OBJ, EMIT_ASM, EMIT_LLVM};
	for (int i = 0; i < 3; i++) {
		char path[2][256], *s[2] = {0};
		size_t len[2] = {0};
		for (int r = 0; r < 2; r++) {
			Plan p;
			Graph *g = prepare("deterministic", k->ir, &p);
			Err e = {0};
			snprintf(path[r], sizeof path[r], "%s/det%d_%d", tmpdir, i, r);
			if (!g || cg_emit(g, &p, NULL, kinds[i], path[r], &e))
				t_check(0, "deterministic emit", "%s", e.msg);
			s[r] = slurp(path[r], &len[r]);
			if (g)
				ir_free(g);
		}
		t_check(s[0] && s[1] && len[0] > 0 && len[0] == len[1] && !memcmp(s[0], s[1], len[0]),
		        i == 0 ? "byte-identical .o" : i == 1 ? "byte-identical .s" : "byte-identical .ll",
		        "emissions differ (%zu vs %zu bytes)", len[0], len[1]);
		free(s[0]), free(s[1]);
	}
}

/* The .s of a conv model uses zmm registers when the host has AVX-512. */
static void test_zmm(void)
{
	char *f = LLVMGetHostCPUFeatures();
	int avx512 = strstr(f, "+avx512f,") || (strlen(f) >= 9 && !strcmp(f + strlen(f) - 9, "+avx512f"));
	LLVMDisposeMessage(f);
	if (!avx512) {
		printf("ok - zmm in conv assembly # SKIP host has no avx512f\n");
		return;
	}
	const Case *k = cases;
	while (strncmp(k->name, "conv 7x7", 8))
		k++;
	Plan p;
	Graph *g = prepare("zmm", k->ir, &p);
	char path[256];
	snprintf(path, sizeof path, "%s/conv.s", tmpdir);
	Err e = {0};
	size_t len = 0;
	char *s = g && !cg_emit(g, &p, NULL, EMIT_ASM, path, &e) ? slurp(path, &len) : NULL;
	t_check(s && strstr(s, "zmm"), "zmm in conv assembly", "no zmm register in %s %s", path, e.msg);
	free(s);
	if (g)
		ir_free(g);
}

/* The descriptor: schema fields, shapes with -1, glorot fans, and the same
** text as the lunac_model_json symbol of the compiled object. */
static void test_descriptor(void)
{
	Plan p;
	const Case *k = &cases[sizeof cases / sizeof cases[0] - 1];
	Graph *g = prepare("descriptor", k->ir, &p);
	if (!g)
		return;
	char *json = cg_descriptor(g, &p);
	cJSON *d = json ? cJSON_Parse(json) : NULL;
	cJSON *in0 = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "inputs"), 0);
	cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "params"), 0);
	int ok = d && !strcmp(cJSON_GetObjectItem(d, "format")->valuestring, "lunac-model-1") &&
	         !strcmp(cJSON_GetObjectItem(d, "compiler")->valuestring, "lunac 0.1.0") &&
	         cJSON_GetObjectItem(d, "fixed_bytes")->valuedouble == (double)p.fixed_bytes &&
	         cJSON_GetArraySize(cJSON_GetObjectItem(d, "outputs")) == 2 &&
	         cJSON_GetArraySize(cJSON_GetObjectItem(d, "params")) == 9 &&
	         cJSON_GetArrayItem(cJSON_GetObjectItem(in0, "shape"), 0)->valuedouble == -1 &&
	         cJSON_IsTrue(cJSON_GetObjectItem(in0, "batched")) &&
	         !strcmp(cJSON_GetObjectItem(w, "name")->valuestring, "c1.w") &&
	         cJSON_GetObjectItem(w, "fan_in")->valuedouble == 27 &&
	         cJSON_GetObjectItem(w, "fan_out")->valuedouble == 72 &&
	         !strcmp(cJSON_GetObjectItem(w, "kind")->valuestring, "param");
	t_check(ok, "descriptor fields", "got %s", json ? json : "(null)");
	void *h = build("descriptor symbol", 900, g, &p, NULL);
	const char *sym = h ? dlsym(h, "lunac_model_json") : NULL;
	t_check(sym && json && !strcmp(sym, json), "descriptor symbol lunac_model_json", "differs from cg_descriptor");
	if (h)
		dlclose(h);
	cJSON_Delete(d);
	free(json);
	ir_free(g);
}

/* Errors: an unwritable path is reported and EMIT_EXE is refused. */
static void test_errors(void)
{
	Plan p;
	Graph *g = prepare("errors", cases[0].ir, &p);
	if (!g)
		return;
	Err e = {0}, e2 = {0};
	int rc = cg_emit(g, &p, NULL, EMIT_OBJ, "/nonexistent-dir/x.o", &e);
	t_check(rc && e.set && strstr(e.msg, "/nonexistent-dir/x.o"), "unwritable path is an error", "%s", e.msg);
	rc = cg_emit(g, &p, NULL, EMIT_EXE, "/tmp/x", &e2);
	t_check(rc && e2.set, "EMIT_EXE refused", "rc %d", rc);
	ir_free(g);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	int ncases = (int)(sizeof cases / sizeof cases[0]);
	for (int i = 0; i < ncases; i++)
		run_case(&cases[i], i, NULL, NULL);
	test_variants(ncases);
	test_models();
	test_deterministic();
	test_zmm();
	test_descriptor();
	test_errors();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (!getenv("LUNAC_KEEP_TMP") && system(cmd) != 0) /* set it to keep the .o files */
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return t_done();
}
