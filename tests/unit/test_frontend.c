/*
** test_frontend.c -- the Lua frontend: every script in tests/errors/ fails
** with the message its "-- expect:" line gives (at a line number), and the
** models in models/ load with the nodes, names and shapes they should.
** Run from the repository root (tests/run.sh does).
*/
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../frontend/frontend.h"
#include "t.h"

static char tmpdir[] = "/tmp/lunac-fe-XXXXXX";

/* Load path with the given -D pairs ("k=v" strings, NULL-terminated). */
static Graph *load(const char *path, const char *const *kv, Err *e)
{
	static char buf[16][128];
	Define defs[16];
	int n = 0;
	for (; kv && kv[n] && n < 16; n++) {
		snprintf(buf[n], sizeof buf[n], "%s", kv[n]);
		char *eq = strchr(buf[n], '=');
		*eq = 0;
		defs[n] = (Define){buf[n], eq + 1};
	}
	FeOptions o = {.defs = defs, .ndefs = n, .libdir = "frontend/lib",
	               .max_instructions = 20000000, .max_memory = (size_t)64 << 20};
	memset(e, 0, sizeof *e);
	return fe_load(path, &o, e);
}

/* Write text to tmpdir/name; returns the path (static buffer per call slot). */
static const char *write_tmp(const char *name, const char *text)
{
	static char paths[8][512];
	static int k;
	char *p = paths[k++ % 8];
	snprintf(p, 512, "%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");
	fputs(text, f);
	fclose(f);
	return p;
}

/* The node whose name attribute is name, or NULL. */
static Node *named(Graph *g, const char *name)
{
	for (int i = 0; i < g->nnodes; i++)
		if (g->nodes[i]->a.name && !strcmp(g->nodes[i]->a.name, name))
			return g->nodes[i];
	return NULL;
}

/* The value after "-- KEY: " in the script's leading comment lines, or "". */
static void header(const char *path, const char *key, char *out, size_t cap)
{
	char line[512], pre[64];
	snprintf(pre, sizeof pre, "-- %s: ", key);
	out[0] = 0;
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f) && !strncmp(line, "--", 2))
		if (!strncmp(line, pre, strlen(pre))) {
			snprintf(out, cap, "%s", line + strlen(pre));
			out[strcspn(out, "\n")] = 0;
		}
	if (f)
		fclose(f);
}

/* True when msg starts with "path:LINE: ". */
static int at_line(const char *msg, const char *path)
{
	size_t n = strlen(path);
	if (strncmp(msg, path, n) || msg[n] != ':' || msg[n + 1] < '0' || msg[n + 1] > '9')
		return 0;
	const char *p = msg + n + 1;
	while (*p >= '0' && *p <= '9')
		p++;
	return p[0] == ':' && p[1] == ' ';
}

/* True when every "-- expect-also: TEXT" line of the script at path is a
** whole line of msg after the first line, in the script's order. */
static int also_ok(const char *path, const char *msg)
{
	static const char pre[] = "-- expect-also: ";
	char line[512];
	const char *at = strchr(msg, '\n');
	int ok = 1;
	FILE *f = fopen(path, "r");
	while (ok && f && fgets(line, sizeof line, f) && !strncmp(line, "--", 2)) {
		if (strncmp(line, pre, sizeof pre - 1))
			continue;
		const char *want = line + sizeof pre - 1;
		size_t n = strcspn(want, "\n");
		for (ok = 0; at && !ok;) {
			ok = !strncmp(at + 1, want, n) && (at[1 + n] == '\n' || at[1 + n] == 0);
			at = strchr(at + 1, '\n');
		}
	}
	if (f)
		fclose(f);
	return ok;
}

/* Every tests/errors/X.lua fails with its expected message at a line (and
** the lines its "-- expect-also:" lines give after it). */
static void test_error_scripts(void)
{
	struct dirent **ents;
	int n = scandir("tests/errors", &ents, NULL, alphasort);
	t_check(n > 10, "errors: the folder has scripts", "scandir gave %d", n);
	for (int i = 0; i < n; i++) {
		const char *f = ents[i]->d_name;
		size_t len = strlen(f);
		if (len > 4 && !strcmp(f + len - 4, ".lua")) {
			char path[512], expect[512], defs[256], name[300];
			snprintf(path, sizeof path, "tests/errors/%s", f);
			header(path, "expect", expect, sizeof expect);
			header(path, "defs", defs, sizeof defs);
			const char *kv[2] = {defs[0] ? defs : NULL, NULL};
			Err e;
			Graph *g = load(path, kv, &e);
			snprintf(name, sizeof name, "errors: %s", f);
			t_check(!g && expect[0] && strstr(e.msg, expect) && at_line(e.msg, path) && also_ok(path, e.msg), name,
			        "got \"%s\", want \"%s\" at a line", g ? "(loaded)" : e.msg, expect);
			ir_free(g);
		}
		free(ents[i]);
	}
	free(ents);
}

/* tiny_cnn: node count, names, shapes, locs, name and hash. */
static void test_tiny_cnn(void)
{
	Err e;
	Graph *g = load("models/tiny_cnn.lua", NULL, &e);
	t_check(g != NULL, "tiny_cnn: loads", "%s", e.msg);
	if (!g)
		return;
	t_check(g->nnodes == 19, "tiny_cnn: 19 nodes", "got %d", g->nnodes);
	t_check(!strcmp(g->name, "tiny_cnn"), "tiny_cnn: graph name", "got %s", g->name);
	static const char *const names[] = {"conv1.weight", "conv1.bias", "bn1.weight", "bn1.bias",
	                                    "bn1.running_mean", "bn1.running_var", "fc.weight", "fc.bias"};
	int ok = 1;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		ok &= named(g, names[i]) != NULL;
	t_check(ok, "tiny_cnn: PyTorch parameter names", "a name is missing");
	Node *w = named(g, "conv1.weight");
	t_check(w && w->op == OP_PARAM && w->a.init == INIT_GLOROT && w->shape.rank == 4 && w->shape.d[0] == 8,
	        "tiny_cnn: conv1.weight is a glorot [8,1,3,3] param", "wrong");
	Node *rm = named(g, "bn1.running_var");
	t_check(rm && rm->op == OP_BUFFER && rm->a.init == INIT_ONES, "tiny_cnn: running_var is a buffer of ones", "wrong");
	Node *out = g->noutputs == 2 ? g->nodes[g->outputs[0].node] : NULL;
	t_check(out && !strcmp(g->outputs[0].name, "probs") && out->op == OP_SOFTMAX && out->shape.d[0] == IR_N &&
	        out->shape.d[1] == 10, "tiny_cnn: output probs is softmax [N,10]", "wrong");
	t_check(g->nodes[0]->loc && !strcmp(g->nodes[0]->loc, "models/tiny_cnn.lua:7"), "tiny_cnn: input loc",
	        "got %s", g->nodes[0]->loc ? g->nodes[0]->loc : "NULL");
	t_check(w && w->loc && !strcmp(w->loc, "models/tiny_cnn.lua:8"), "tiny_cnn: a library node points at the model line",
	        "got %s", w && w->loc ? w->loc : "NULL");
	t_check(g->spec_hash && strlen(g->spec_hash) == 16, "tiny_cnn: spec hash", "got %s",
	        g->spec_hash ? g->spec_hash : "NULL");
	ir_free(g);
}

/* -D overrides change shapes and the spec hash; equal input, equal output. */
static void test_defines(void)
{
	static const char *const kv[] = {"classes=5", "width=4", NULL};
	Err e;
	Graph *a = load("models/tiny_cnn.lua", NULL, &e), *b = load("models/tiny_cnn.lua", kv, &e);
	Graph *c = load("models/tiny_cnn.lua", NULL, &e);
	t_check(a && b && c, "defines: loads", "%s", e.msg);
	if (a && b && c) {
		Node *w = named(b, "conv1.weight"), *out = b->nodes[b->outputs[0].node];
		t_check(w->shape.d[0] == 4 && out->shape.d[1] == 5, "defines: -D changes shapes", "width %lld classes %lld",
		        (long long)w->shape.d[0], (long long)out->shape.d[1]);
		t_check(strcmp(a->spec_hash, b->spec_hash) != 0, "defines: -D changes the spec hash", "same hash");
		char *pa = ir_print_str(a), *pc = ir_print_str(c);
		t_check(!strcmp(a->spec_hash, c->spec_hash) && !strcmp(pa, pc), "defines: deterministic", "differs");
		free(pa);
		free(pc);
	}
	ir_free(a);
	ir_free(b);
	ir_free(c);
	const char *p = write_tmp("cfg.lua",
		"local cfg = config{ w = {0.5, 0.5}, on = false, tag = 'x', lr = 0.1 }\n"
		"assert(cfg.on == true and cfg.tag == 'hello' and cfg.lr == 0.25, 'config types')\n"
		"output('w', const(cfg.w))\n");
	static const char *const kv2[] = {"w=0.2,0.8", "on=true", "tag=hello", "lr=0.25", NULL};
	Graph *g = load(p, kv2, &e);
	Node *k = g ? g->nodes[g->outputs[0].node] : NULL;
	t_check(k && k->op == OP_CONST && k->shape.d[0] == 2 && k->a.data[0] == 0.2f && k->a.data[1] == 0.8f,
	        "defines: list, boolean, string and number values", "%s", g ? "wrong const" : e.msg);
	ir_free(g);
}

/* attn_test: scoped names, dropout streams, the identity shortcut with -D stride=1. */
static void test_attn(void)
{
	Err e;
	Graph *g = load("models/attn_test.lua", NULL, &e);
	t_check(g != NULL, "attn_test: loads", "%s", e.msg);
	if (!g)
		return;
	t_check(named(g, "branch1.b1.mfa1.g3.weight") && named(g, "branch2.b1.shortcut.bn.running_var") &&
	        named(g, "mifa.dense.weight") && named(g, "mifa.alpha2") && named(g, "branch1.mfa.gamma_g"),
	        "attn_test: scope names", "a name is missing");
	int streams = 0, ok = 1;
	for (int i = 0; i < g->nnodes; i++)
		if (g->nodes[i]->op == OP_DROPOUT) {
			ok &= g->nodes[i]->a.stream == streams && g->nodes[i]->a.mode == MODE_MC;
			streams++;
		}
	t_check(streams == 3 && ok, "attn_test: dropout streams 0,1,2 in mc mode", "%d dropouts", streams);
	t_check(g->noutputs == 3 && ir_param_count(g) == 6926, "attn_test: 3 outputs, 6926 parameters",
	        "%d outputs, %lld parameters", g->noutputs, (long long)ir_param_count(g));
	ir_free(g);
	static const char *const kv[] = {"stride=1", NULL};
	g = load("models/attn_test.lua", kv, &e);
	t_check(g && !named(g, "branch1.b1.shortcut.conv.weight"), "attn_test: identity shortcut at stride 1", "%s",
	        g ? "has a projection" : e.msg);
	ir_free(g);
}

/* The node of the output called name, or NULL. */
static Node *out_node(Graph *g, const char *name)
{
	int id = ir_find_output(g, name);
	return id < 0 ? NULL : g->nodes[id];
}

/* The number of loss terms in nd, the f32[1] sum task() and loss() build
** (adds of const * bmean, or a bare bmean for weight 1), with their weights
** in w[]; -1 when nd is not such a sum. */
static int weights(Graph *g, Node *nd, float *w, int max)
{
	if (!nd || nd->dtype != DT_F32 || nd->shape.rank != 1 || nd->shape.d[0] != 1)
		return -1;
	if (nd->op == OP_ADD) {
		int k = weights(g, g->nodes[nd->in[0]], w, max);
		int j = k < 0 || k >= max ? -1 : weights(g, g->nodes[nd->in[1]], w + k, max - k);
		return j < 0 ? -1 : k + j;
	}
	if (nd->op == OP_BMEAN) {
		*w = 1;
		return 1;
	}
	Node *c = nd->op == OP_MUL ? g->nodes[nd->in[0]] : NULL;
	if (!c || c->op != OP_CONST || g->nodes[nd->in[1]]->op != OP_BMEAN)
		return -1;
	*w = c->a.data[0];
	return 1;
}

/* task(): its label input, output, loss term and Task record. */
static void test_task(void)
{
	Err e;
	Graph *g = load("models/tiny_cnn.lua", NULL, &e);
	t_check(g != NULL, "task: tiny_cnn loads", "%s", e.msg);
	if (!g)
		return;
	Node *lab = named(g, "probs.label"), *probs = out_node(g, "probs"), *loss = out_node(g, "loss");
	t_check(lab && lab->op == OP_INPUT && lab->dtype == DT_I32 && lab->shape.rank == 1 && lab->shape.d[0] == IR_N,
	        "task: makes the input probs.label i32[N]", "wrong");
	t_check(probs && probs->op == OP_SOFTMAX && g->nodes[probs->in[0]]->op == OP_DENSE,
	        "task: output probs is softmax of the logits", "wrong");
	Node *ce = loss && loss->op == OP_BMEAN ? g->nodes[loss->in[0]] : NULL;
	t_check(ce && ce->op == OP_XENT && ce->in[0] == probs->in[0] && ce->in[1] == lab->id && ce->a.smoothing == 0,
	        "task: loss is bmean(xent(logits, labels))", "wrong");
	t_check(loss && loss->dtype == DT_F32 && loss->shape.rank == 1 && loss->shape.d[0] == 1 &&
	        !strcmp(g->outputs[g->noutputs - 1].name, "loss"), "task: output loss f32[1] comes last", "wrong");
	Task *t = g->ntasks == 1 ? &g->tasks[0] : NULL;
	t_check(t && !strcmp(t->name, "probs") && !strcmp(t->output, "probs") && !strcmp(t->label, "probs.label") &&
	        t->classes == 10 && t->weight == 1, "task: Task {probs, probs, probs.label, 10, 1}", "%d tasks",
	        g->ntasks);
	ir_free(g);

	static const char *const kv[] = {"loss_weights=0.3,0.7", NULL};
	float w[4];
	for (int d = 0; d < 2; d++) {
		g = load("models/attn_test.lua", d ? kv : NULL, &e);
		float w1 = d ? 0.3f : 0.5f, w2 = d ? 0.7f : 0.5f;
		int n = g ? weights(g, out_node(g, "loss"), w, 4) : -1;
		t_check(n == 2 && w[0] == w1 && w[1] == w2, d ? "task: -D loss_weights=0.3,0.7" : "task: two heads 0.5/0.5",
		        "%s", g ? "loss is not w1*ce1 + w2*ce2" : e.msg);
		t_check(g && g->ntasks == 2 && !strcmp(g->tasks[1].name, "task2") && !strcmp(g->tasks[1].label, "task2.label") &&
		        g->tasks[0].classes == 3 && g->tasks[1].classes == 4 && g->tasks[0].weight == w1 &&
		        g->tasks[1].weight == w2, d ? "task: -D sets the Task weights" : "task: two Tasks", "wrong");
		ir_free(g);
	}
}

/* label, xent, bmean, loss by hand; no loss terms, no "loss" output. */
static void test_custom_loss(void)
{
	Err e;
	const char *p = write_tmp("custom.lua",
		"local cfg = config{ smoothing = 0.0 }\n"
		"local x = input('x', {4})\n"
		"local y = label('y', 3)\n"
		"local logits = dense(x, param('w', {3, 4}))\n"
		"output('probs', softmax(logits))\n"
		"local ce = xent(logits, y, {smoothing = cfg.smoothing})\n"
		"assert(ce.shape[1] == 'N' and #ce.shape == 1 and bmean(ce).shape[1] == 1)\n"
		"assert(loss(bmean(ce)).op == 'bmean')\n"
		"loss(bmean(xent(logits, y)), 0.01)\n");
	static const char *const kv[] = {"smoothing=0.1", NULL};
	Graph *g = load(p, kv, &e);
	float w[4];
	Node *y = g ? named(g, "y") : NULL;
	t_check(y && y->dtype == DT_I32 && y->shape.rank == 1, "loss: label() is an i32[N] input", "%s", g ? "wrong" : e.msg);
	int n = g ? weights(g, out_node(g, "loss"), w, 4) : -1;
	t_check(n == 2 && w[0] == 1 && w[1] == 0.01f && g->ntasks == 0, "loss: the sum of weighted terms, no Task",
	        "%d terms", n);
	int sm = 0;
	for (int i = 0; g && i < g->nnodes; i++)
		sm += g->nodes[i]->op == OP_XENT && g->nodes[i]->a.smoothing == 0.1f;
	t_check(sm == 1, "loss: xent smoothing from -D", "%d", sm);
	ir_free(g);
	p = write_tmp("noloss.lua", "output('y', 2 * input('x', {3}))\n");
	g = load(p, NULL, &e);
	t_check(g && g->noutputs == 1 && ir_find_output(g, "loss") < 0 && g->ntasks == 0,
	        "loss: no terms, no loss output", "%s", g ? "wrong" : e.msg);
	ir_free(g);
}

/* MFA and MIFA have 8C^2+9C+1 and 3C^2+6C+1 parameters. */
static void test_block_counts(void)
{
	Err e;
	const char *p = write_tmp("blocks.lua",
		"local drifa = require 'drifa'\n"
		"local cfg = config{ c = 16, which = 'mfa' }\n"
		"local a = input('a', {cfg.c, 5, 5})\n"
		"local b = input('b', {cfg.c, 5, 5})\n"
		"if cfg.which == 'mfa' then output('y', drifa.mfa('m', a))\n"
		"else local y1, y2 = drifa.mifa('m', a, b) output('y1', y1) output('y2', y2) end\n");
	for (int c = 16; c <= 64; c *= 4) {
		char kc[32];
		snprintf(kc, sizeof kc, "c=%d", c);
		const char *kv1[] = {kc, NULL}, *kv2[] = {kc, "which=mifa", NULL};
		Graph *m = load(p, kv1, &e), *mi = load(p, kv2, &e);
		long long want1 = 8LL * c * c + 9 * c + 1, want2 = 3LL * c * c + 6 * c + 1;
		char n1[64], n2[64];
		snprintf(n1, sizeof n1, "blocks: MFA(%d) parameters", c);
		snprintf(n2, sizeof n2, "blocks: MIFA(%d) parameters", c);
		t_check(m && ir_param_count(m) == want1, n1, "got %lld want %lld (%s)", m ? (long long)ir_param_count(m) : -1,
		        want1, e.msg);
		t_check(mi && ir_param_count(mi) == want2, n2, "got %lld want %lld (%s)",
		        mi ? (long long)ir_param_count(mi) : -1, want2, e.msg);
		ir_free(m);
		ir_free(mi);
	}
}

/* The sandbox: no io/os/debug/package/load; tensors; modules; no output. */
static void test_sandbox(void)
{
	Err e;
	const char *p = write_tmp("sandbox.lua",
		"assert(io == nil and os == nil and debug == nil and package == nil and coroutine == nil)\n"
		"assert(load == nil and loadfile == nil and dofile == nil and string.dump == nil)\n"
		"assert(setmetatable({}, {__index = {a = 1}}).a == 1 and select('#', pcall(print)) == 1)\n"
		"local x = input('x', {3, 4, 4})\n"
		"assert(x.shape[1] == 'N' and x.shape[2] == 3 and #x.shape == 4 and x.rank == 4)\n"
		"assert(tostring(x):find('input', 1, true) and istensor(x) and not istensor(3))\n"
		"local helper = require 'helper'\n"
		"output('y', helper.twice(x))\n");
	write_tmp("helper.lua", "local M = {}\nfunction M.twice(x) return 2 * x - -x / 1 end\nreturn M\n");
	Graph *g = load(p, NULL, &e);
	t_check(g != NULL, "sandbox: environment, tensors, a module from the model's folder", "%s", e.msg);
	t_check(g && g->nodes[g->outputs[0].node]->op == OP_SUB, "sandbox: operators make ops", "wrong");
	ir_free(g);
	p = write_tmp("noout.lua", "local x = input('x', {3})\n");
	g = load(p, NULL, &e);
	t_check(!g && strstr(e.msg, "defines no output"), "sandbox: a model without outputs", "%s", e.msg);
	ir_free(g);
	g = load("tests/errors/no_such_script.lua", NULL, &e);
	t_check(!g && !strcmp(e.msg, "cannot open tests/errors/no_such_script.lua: No such file or directory"),
	        "sandbox: missing script", "%s", e.msg);
	ir_free(g);
}

/* Write n bytes to tmpdir/name; returns the path (static buffer per call slot). */
static const char *write_bin(const char *name, const void *bytes, size_t n)
{
	static char paths[4][512];
	static int k;
	char *p = paths[k++ % 4];
	snprintf(p, 512, "%s/%s", tmpdir, name);
	FILE *f = fopen(p, "wb");
	fwrite(bytes, 1, n, f);
	fclose(f);
	return p;
}

/* True when e refused a precompiled chunk, naming path, at "prefix" when
** prefix is given (the requiring script's line). */
static int refused_binary(const Graph *g, const Err *e, const char *path, const char *prefix)
{
	char want[700];
	snprintf(want, sizeof want, "%s: precompiled Lua is not accepted (load the .lua source)", path);
	return !g && strstr(e->msg, want) && (!prefix || !strncmp(e->msg, prefix, strlen(prefix)));
}

/* Precompiled chunks: refused as a model script and as a required module,
** whether real luac output or the signature followed by junk (refused
** before Lua parses a byte of it). */
static void test_bytecode(void)
{
	Err e;
	static const char junk[] = "\x1bLua\x54\x00\x19\x93\r\n\x1a\n\x04\x08\x08\xff\xff\xff\xff\x7f";
	const char *p = write_bin("junk.lua", junk, sizeof junk - 1);
	Graph *g = load(p, NULL, &e);
	t_check(refused_binary(g, &e, p, p), "bytecode: a script starting with the signature", "%s", e.msg);
	ir_free(g);
	write_bin("bcmod.lua", junk, sizeof junk - 1);
	const char *m = write_tmp("usesbc.lua", "local x = input('x', {3})\nlocal m = require 'bcmod'\noutput('y', x)\n");
	char at[600], mod[600];
	snprintf(at, sizeof at, "%s:2: require: ", m);
	snprintf(mod, sizeof mod, "%s/bcmod.lua", tmpdir);
	g = load(m, NULL, &e);
	t_check(refused_binary(g, &e, mod, at), "bytecode: a required module starting with the signature", "%s",
	        e.msg);
	ir_free(g);
	char cmd[1400];
	const char *src = write_tmp("src.lua", "output('y', relu(input('x', {3})))\n");
	snprintf(cmd, sizeof cmd, "luac5.4 -o '%s/real.lua' '%s' 2>/dev/null && luac5.4 -o '%s/bcmod.lua' '%s' 2>/dev/null",
	         tmpdir, src, tmpdir, src);
	if (system(cmd) != 0) {
		printf("ok - bytecode: luac output # SKIP luac5.4 is not installed\n");
		return;
	}
	snprintf(mod, sizeof mod, "%s/real.lua", tmpdir);
	g = load(mod, NULL, &e);
	t_check(refused_binary(g, &e, mod, mod), "bytecode: luac output as a script", "%s", e.msg);
	ir_free(g);
	snprintf(mod, sizeof mod, "%s/bcmod.lua", tmpdir);
	g = load(m, NULL, &e);
	t_check(refused_binary(g, &e, mod, at), "bytecode: luac output as a module", "%s", e.msg);
	ir_free(g);
}

/* string.find, match, gmatch, gsub, rep and table.move (guards.c):
** ordinary uses work as Lua's; a
** pattern that could backtrack for days is refused at its line before it
** runs; many costly calls run out of the instruction budget. */
static void test_patterns(void)
{
	Err e;
	const char *ok = write_tmp("pat_ok.lua",
		"local a, b = ('block1.conv.weight'):match('^(.-)%.(.-)$')\n"
		"assert(a == 'block1' and b == 'conv.weight', 'match')\n"
		"local t = {}\n"
		"for w in ('a,b,,c'):gmatch('[^,]+') do t[#t + 1] = w end\n"
		"assert(#t == 3 and t[3] == 'c', 'gmatch')\n"
		"local s, n = string.gsub('  x  y ', '%s+', '')\n"
		"assert(s == 'xy' and n == 3, 'gsub')\n"
		"assert(('a.c'):find('.', 1, true) == 2 and ('a.c'):find('.') == 1, 'find')\n"
		"assert(('(x)'):find('%b()') == 1 and ('THE (quick) fox'):find('%f[%a]%a+', 5) == 6, 'find %b %f')\n"
		"assert(not pcall(string.find, 'a', '['), 'malformed')\n"
		"assert(('ab'):rep(3, ',') == 'ab,ab,ab' and string.rep('x', 0) == '', 'rep')\n"
		"local m = table.move({1, 2, 3}, 1, 3, 2, {})\n"
		"assert(m[2] == 1 and m[4] == 3 and m[1] == nil, 'move')\n"
		"output('y', input('x', {3}))\n");
	Graph *g = load(ok, NULL, &e);
	t_check(g != NULL, "patterns: find, match, gmatch, gsub, rep, table.move work as Lua's", "%s", e.msg);
	ir_free(g);
	const char *bomb = write_tmp("pat_bomb.lua", "local s = string.rep('a', 5000)\n"
		"local i = s:find('.-.-.-b')\noutput('y', input('x', {3}))\n");
	char want[600];
	snprintf(want, sizeof want, "%s:2: string.find: this pattern on a string of 5000 bytes may take up to", bomb);
	g = load(bomb, NULL, &e);
	t_check(!g && strstr(e.msg, want), "patterns: a backtracking bomb is refused at its line", "%s", e.msg);
	ir_free(g);
	const char *loop = write_tmp("pat_loop.lua", "local s = string.rep('a', 300)\n"
		"for i = 1, 1000000 do s:find('a-b') end\noutput('y', input('x', {3}))\n");
	g = load(loop, NULL, &e);
	t_check(!g && (strstr(e.msg, "instruction budget") || strstr(e.msg, "more than the instruction budget has left")),
	        "patterns: costly calls in a loop run out of the budget", "%s", e.msg);
	ir_free(g);
}

/* Every builtin with a fixed maximum of arguments, and that maximum. */
static const struct {
	const char *name;
	int max;
} arities[] = {
	{"conv2d", 4}, {"dense", 3}, {"matmul", 2}, {"add", 2}, {"sub", 2}, {"mul", 2}, {"div", 2},
	{"neg", 1}, {"relu", 1}, {"sigmoid", 1}, {"tanh", 1}, {"exp", 1}, {"log", 1}, {"softmax", 1},
	{"logsoftmax", 1}, {"gavg", 2}, {"gmax", 2}, {"gmin", 2}, {"maxpool", 2}, {"avgpool", 2},
	{"batchnorm", 6}, {"concat", 2}, {"reshape", 2}, {"flatten", 1}, {"dropout", 3}, {"label", 2},
	{"xent", 3}, {"bmean", 1}, {"loss", 2}, {"task", 3}, {"config", 1}, {"input", 3}, {"param", 3},
	{"buffer", 3}, {"output", 2}, {"const", 2}, {"istensor", 1}, {"require", 1},
	{"nn.conv2d", 5}, {"nn.dense", 4}, {"nn.batchnorm", 3}, {"nn.maxpool", 4}, {"nn.avgpool", 4},
	{"nn.flatten", 1}, {"drifa.mfa", 2}, {"drifa.mifa", 3}, {"drifa.rra", 5},
};

/* Lua's own functions and the variadic builtins (scope, print, pcall). */
static const char *const no_max[] = {
	"assert", "collectgarbage", "error", "getmetatable", "ipairs", "next", "pairs", "pcall", "print",
	"rawequal", "rawget", "rawlen", "rawset", "select", "setmetatable", "tonumber", "tostring", "type",
	"warn", "xpcall", "scope", NULL,
};

/* Every builtin refuses a surplus argument, naming it and the signature;
** and every global function is either in arities[] or in no_max[]. */
static void test_surplus(void)
{
	char text[512], name[128], want[160];
	int n = (int)(sizeof arities / sizeof *arities), all = 1;
	for (int i = 0; i < n; i++) {
		int k = snprintf(text, sizeof text, "local nn = require 'nn'\nlocal drifa = require 'drifa'\n%s(7",
		                 arities[i].name);
		for (int j = 0; j < arities[i].max; j++)
			k += snprintf(text + k, sizeof text - k, ", 7");
		snprintf(text + k, sizeof text - k, ")\n");
		const char *p = write_tmp("surplus.lua", text);
		snprintf(want, sizeof want, ":3: %s: surplus argument %d (a number); %s", arities[i].name,
		         arities[i].max + 1, arities[i].name);
		Err e;
		Graph *g = load(p, NULL, &e);
		if (g || !strstr(e.msg, want) || !strstr(e.msg, p)) {
			snprintf(name, sizeof name, "surplus: %s", arities[i].name);
			t_check(0, name, "got \"%s\", want \"%s\"", g ? "(loaded)" : e.msg, want);
			all = 0;
		}
		ir_free(g);
	}
	t_check(all, "surplus: every builtin and library function names its surplus argument", "see above");
	const char *p = write_tmp("globals.lua",
		"local t = {}\nfor k, v in pairs(_G) do if type(v) == 'function' then t[#t + 1] = k end end\n"
		"table.sort(t)\nerror(table.concat(t, ' '), 0)\n");
	Err e;
	Graph *g = load(p, NULL, &e);
	char missing[256] = "";
	char *w = g ? NULL : strtok(e.msg, " \n");            /* the position */
	while (w && (w = strtok(NULL, " \n"))) {
		int known = 0;
		for (int i = 0; i < n; i++)
			known |= !strcmp(arities[i].name, w);
		for (int i = 0; no_max[i]; i++)
			known |= !strcmp(no_max[i], w);
		if (!known && strlen(missing) + strlen(w) + 2 < sizeof missing)
			strcat(strcat(missing, " "), w);
	}
	t_check(!g && !missing[0], "surplus: every global function is checked above", "unchecked:%s", missing);
	ir_free(g);
}

/* An error in a helper of a required module of the user's names the
** chain across both files; one rethrown by the script is not doubled; a
** long path is named whole; an error at the top level is one line. */
static void test_chain(void)
{
	Err e;
	const char *mod = write_tmp("blocks.lua", "local M = {}\nlocal function conv_bn(x)\n  local y = relu(x, 1)\n"
	                            "  return y\nend\nfunction M.block(x)\n  local y = conv_bn(x)\n  return y\nend\n"
	                            "return M\n");
	const char *p = write_tmp("uses_blocks.lua", "local blocks = require 'blocks'\nlocal x = input('x', {4})\n"
	                          "local y = blocks.block(x)\noutput('y', y)\n");
	char want[1024];
	snprintf(want, sizeof want, "%s:3: relu: surplus argument 2 (a number); relu(x) takes 1 argument\n"
	         "  call chain, outermost first:\n    %s:3: in the main chunk\n    %s:7: in blocks.block\n"
	         "    %s:3: in conv_bn", mod, p, mod, mod);
	Graph *g = load(p, NULL, &e);
	t_check(!g && !strcmp(e.msg, want), "chain: across a required module of the user's", "got \"%s\"\nwant \"%s\"",
	        g ? "(loaded)" : e.msg, want);
	ir_free(g);
	p = write_tmp("rethrow.lua", "local x = input('x', {4})\nlocal function f() local y = relu(x, 2) return y end\n"
	              "local ok, err = pcall(function() local y = f() return y end)\nerror(err, 0)\n");
	g = load(p, NULL, &e);
	const char *c = strstr(e.msg, "call chain");
	t_check(!g && c && !strstr(c + 1, "call chain") && strstr(e.msg, ":2: relu: surplus"),
	        "chain: a caught and rethrown message is not changed again", "%s", e.msg);
	ir_free(g);
	char dir[600];
	snprintf(dir, sizeof dir, "%s/a_folder_name_long_enough_to_push_the_path_past_sixty_bytes", tmpdir);
	mkdir(dir, 0700);
	p = write_tmp("a_folder_name_long_enough_to_push_the_path_past_sixty_bytes/m.lua",
	              "local function f(t)\n  return t.nope.more\nend\nlocal y = f({})\nlocal z = 1\n");
	g = load(p, NULL, &e);
	t_check(!g && at_line(e.msg, p) && strstr(e.msg, "attempt to index a nil value (field 'nope')"),
	        "chain: a long path is named whole", "%s", e.msg);
	ir_free(g);
	g = load("tests/errors/wrong_arity.lua", NULL, &e);
	t_check(!g && !strchr(e.msg, '\n'), "chain: an error at the top level is one line", "%s", e.msg);
	ir_free(g);
	/* 5,000 caught errors cost 5 M instructions as pcalls; looking for the
	** names near a long misspelt global costs several thousand more each,
	** which must count against the 20 M budget too. */
	p = write_tmp("near_loop.lua", "local function f() return some_undefined_name_here(1) end\n"
	              "for i = 1, 5000 do pcall(f) end\n");
	g = load(p, NULL, &e);
	t_check(!g && strstr(e.msg, "instruction budget of 20000000 exhausted"),
	        "chain: the search for near names is charged to the budget", "%s", e.msg);
	ir_free(g);
}

/* True when msg has the line text (a whole line). */
static int has_line(const char *msg, const char *text)
{
	size_t n = strlen(text);
	for (const char *p = msg; (p = strstr(p, text)); p++)
		if ((p == msg || p[-1] == '\n') && (p[n] == '\n' || p[n] == 0))
			return 1;
	return 0;
}

/* Tail calls: a pcall that caught an error inside a tail-called helper
** leaves no stale frames behind; the budget stopping a loop in one names
** its line and the chain; a module's function whose frame a tail call took
** is named by the module's field. */
static void test_tail(void)
{
	Err e;
	char want[1024];
	const char *p = write_tmp("tail_pcall.lua",
		"local x = input('x', {4})\n"
		"local function bad() return relu(x, 2) end\n"
		"local function try() return bad() end\n"
		"local function b()\n"
		"  for i = 1, 3 do pcall(function() local r = try() return r end) end\n"
		"  local y = relu(x, 3)\n"
		"  return y\n"
		"end\n"
		"local function a() return b() end\n"
		"output('y', a())\n");
	Graph *g = load(p, NULL, &e);
	snprintf(want, sizeof want, "    %s:9: in a (tail call)", p);
	t_check(!g && strstr(e.msg, ":6: relu: surplus argument 2") && has_line(e.msg, want),
	        "tail: a caught error leaves the trace as it was", "%s", g ? "(loaded)" : e.msg);
	ir_free(g);
	p = write_tmp("tail_budget.lua", "local function spin()\n  local i = 0\n  while true do i = i + 1 end\nend\n"
	              "local function f() return spin() end\nf()\n");
	g = load(p, NULL, &e);
	snprintf(want, sizeof want, "    %s:5: in f (tail call)", p);
	t_check(!g && strstr(e.msg, ":3: instruction budget of 20000000 exhausted") && has_line(e.msg, want),
	        "tail: the budget stops a tail-called loop at its line, with the chain", "%s", g ? "(loaded)" : e.msg);
	ir_free(g);
	const char *mod = write_tmp("tblocks.lua", "local M = {}\nfunction M.unit(v) return relu(v, 1) end\n"
	                            "function M.stage(v) return M.unit(v) end\nreturn M\n");
	p = write_tmp("uses_tblocks.lua", "local blocks = require 'tblocks'\nlocal x = input('x', {4})\n"
	              "output('y', blocks.stage(x))\n");
	snprintf(want, sizeof want, "%s:2: relu: surplus argument 2 (a number); relu(x) takes 1 argument\n"
	         "  call chain, outermost first:\n    %s:3: in the main chunk\n    %s:3: in tblocks.stage (tail call)\n"
	         "    %s:2: in tblocks.unit", mod, p, mod, mod);
	g = load(p, NULL, &e);
	t_check(!g && !strcmp(e.msg, want), "tail: a module's function a tail call replaced is named by its field",
	        "got \"%s\"\nwant \"%s\"", g ? "(loaded)" : e.msg, want);
	ir_free(g);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	test_error_scripts();
	test_tiny_cnn();
	test_defines();
	test_attn();
	test_task();
	test_custom_loss();
	test_block_counts();
	test_sandbox();
	test_bytecode();
	test_patterns();
	test_surplus();
	test_chain();
	test_tail();
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return t_done();
}
