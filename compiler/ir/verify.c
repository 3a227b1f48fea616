/*
** verify.c -- the IR verifier: every structural invariant a pass may rely
** on. It runs after every pass that changes the graph.
**
** The attribute rules of every op live here too (ir_check_attrs): shape
** inference runs them before an op's shape rule, so a script, IR text and
** a pass's output are held to the same rules. ir_verify_model adds the
** rules for a model as the user gave it: reserved names and tasks.
*/
#include "shape_impl.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SHOWN = 60 };   /* bytes of a (long) name quoted in a message */

/* True when s (n bytes) is well-formed UTF-8 (no overlong forms, no
** surrogates, nothing above U+10FFFF). */
static int utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : (c & 0xf8) == 0xf0 ? 3 : 4;
		if (k == 4 || (k > 0 && i + k >= n))
			return 0;
		unsigned cp = k == 0 ? c : c & (0x3f >> k);
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3f);
		}
		static const unsigned least[4] = {0, 0x80, 0x800, 0x10000};
		if (cp < least[k] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += k + 1;
	}
	return 1;
}

/* Why name (len bytes) cannot be written into the IR text, the descriptor
** JSON or a safetensors header, or NULL: it is empty, holds a NUL or
** another control character, a double quote (IR strings have no escapes)
** or bytes that are not UTF-8 (JSON text is UTF-8). */
static const char *name_chars(const char *name, size_t len)
{
	if (len == 0)
		return "is empty";
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c == 0)
			return "contains a NUL byte";
		if (c < 0x20 || c == 0x7f)
			return "contains a control character";
		if (c == '"')
			return "contains a double quote, which the IR text cannot carry";
	}
	return utf8_ok((const unsigned char *)name, len) ? NULL : "is not valid UTF-8";
}

/* True when s starts with prefix. */
static int starts(const char *s, const char *prefix)
{
	return !strncmp(s, prefix, strlen(prefix));
}

/* Write name for a message into buf: see ir.h. */
const char *ir_quote(char *buf, size_t cap, const char *name)
{
	size_t len = strlen(name), k = 0;
	int utf8 = utf8_ok((const unsigned char *)name, len);
	size_t shown = len > SHOWN ? SHOWN : len;
	while (utf8 && shown < len && shown > 0 && ((unsigned char)name[shown] & 0xc0) == 0x80)
		shown--;   /* do not cut a character in two */
	for (size_t i = 0; i < shown && k + 8 < cap; i++) {
		unsigned char c = (unsigned char)name[i];
		if (c < 0x20 || c == 0x7f || (c >= 0x80 && !utf8))
			k += (size_t)snprintf(buf + k, cap - k, "\\x%02x", c);
		else
			buf[k++] = (char)c;
	}
	snprintf(buf + k, cap - k, "%s", shown < len ? "..." : "");
	return buf;
}

/* Why name (len bytes) cannot name a thing of this kind in a model, or NULL. */
const char *ir_name_error(NameKind kind, const char *name, size_t len)
{
	const char *why = name_chars(name, len);
	if (why)
		return why;
	switch (kind) {
	case NAME_PARAM:
		if (!strcmp(name, "__metadata__"))
			return "is reserved by the safetensors format (the weight and checkpoint files)";
		if (starts(name, "opt."))
			return "starts with \"opt.\", which is kept for the optimizer state";
		return NULL;
	case NAME_INPUT:
		return starts(name, "hyper.") ? "starts with \"hyper.\", which is kept for the training hyper-parameters" : NULL;
	case NAME_OUTPUT:
		return starts(name, "grad.") ? "starts with \"grad.\", which is kept for the gradients of training" : NULL;
	default:
		return NULL;
	}
}

/* Check the name of a named source: the characters every format can carry,
** and for a stored tensor the safetensors reserved key (and "opt." for
** parameters and buffers; optimizer state is the update pass's). */
static int check_name_attr(const Node *nd, Err *e)
{
	const char *n = nd->a.name;
	if (!n)
		return sh_fail(e, nd, "needs a name");
	size_t len = strlen(n);
	const char *why = nd->op == OP_PARAM || nd->op == OP_BUFFER ? ir_name_error(NAME_PARAM, n, len)
	                : name_chars(n, len);
	if (!why && nd->op == OP_STATE && !strcmp(n, "__metadata__"))
		why = ir_name_error(NAME_PARAM, n, len);
	char q[IR_QUOTELEN];
	if (why)
		return sh_fail(e, nd, "the name \"%s\" %s", ir_quote(q, sizeof q, n), why);
	return 0;
}

/* Check a pair attribute: both values in [lo, IR_MAXELEMS]. */
static int check_pair(const Node *nd, const char *key, const int64_t v[2], int64_t lo, Err *e)
{
	for (int i = 0; i < 2; i++)
		if (v[i] < lo || v[i] > IR_MAXELEMS)
			return sh_fail(e, nd, "%s must be from %lld to 2^48, got %lld", key, (long long)lo, (long long)v[i]);
	return 0;
}

/* Check the mode against the ones nd's op accepts. */
static int check_mode(const Node *nd, Err *e)
{
	Mode m = nd->a.mode;
	if (nd->op == OP_BATCHNORM && m != MODE_RUNNING && m != MODE_BATCH)
		return sh_fail(e, nd, "mode must be running or batch, got %s", ir_mode_name(m));
	if (nd->op == OP_DROPOUT && m != MODE_OFF && m != MODE_TRAIN && m != MODE_MC)
		return sh_fail(e, nd, "mode must be off, train or mc, got %s", ir_mode_name(m));
	return 0;
}

/* Check nd's attributes against its op's rules (the A_* bits it uses). */
int ir_check_attrs(const Graph *g, const Node *nd, Err *e)
{
	(void)g;
	unsigned m = ir_ops[nd->op].attrs;
	const Attrs *a = &nd->a;
	if ((m & A_NAME) && check_name_attr(nd, e))
		return -1;
	if ((m & A_INIT) && (a->init < INIT_NONE || a->init > INIT_GLOROT))
		return sh_fail(e, nd, "unknown initialiser");
	if ((m & A_STRIDE) && check_pair(nd, "stride", a->stride, 1, e))
		return -1;
	if ((m & A_PAD) && check_pair(nd, "pad", a->pad, 0, e))
		return -1;
	if ((m & A_KERNEL) && check_pair(nd, "kernel", a->kernel, 1, e))
		return -1;
	if ((m & A_KEEPDIMS) && a->keepdims != 0 && a->keepdims != 1)
		return sh_fail(e, nd, "keepdims must be 0 or 1, got %d", a->keepdims);
	if ((m & A_MODE) && check_mode(nd, e))
		return -1;
	if ((m & A_EPS) && !(isfinite(a->eps) && a->eps > 0))
		return sh_fail(e, nd, "eps must be a finite number above 0, got %g", a->eps);
	if ((m & A_MOMENTUM) && !(a->momentum >= 0 && a->momentum <= 1))
		return sh_fail(e, nd, "momentum must be in [0, 1], got %g", a->momentum);
	if ((m & A_P) && !(a->p >= 0 && a->p < 1))
		return sh_fail(e, nd, "p must be in [0, 1), got %g", a->p);
	if ((m & A_STREAM) && a->stream < 0)
		return sh_fail(e, nd, "stream must be at least 0, got %d", a->stream);
	if ((m & A_SMOOTHING) && !(a->smoothing >= 0 && a->smoothing < 1))
		return sh_fail(e, nd, "label smoothing must be in [0, 1), got %g", a->smoothing);
	return 0;
}

/* qsort order of named nodes: by name, then by id. */
static int by_name(const void *pa, const void *pb)
{
	const Node *a = *(const Node *const *)pa, *b = *(const Node *const *)pb;
	int c = strcmp(a->a.name, b->a.name);
	return c ? c : (a->id > b->id) - (a->id < b->id);
}

/* Check that names of inputs, parameters and buffers are unique (sorted,
** so that a graph of many parameters is checked in n log n); the pair
** reported is the one whose later node comes first, at its line of the IR
** text named file when there is one. */
static int unique_names(const Graph *g, const char *file, Err *e)
{
	const Node **v = malloc(sizeof *v * (size_t)(g->nnodes + 1));
	if (!v)
		return ir_errorf(e, "verify: out of memory");
	int n = 0, bad = -1;
	for (int i = 0; i < g->nnodes; i++)
		if (ir_ops[g->nodes[i]->op].attrs & A_NAME)
			v[n++] = g->nodes[i];
	qsort(v, (size_t)n, sizeof *v, by_name);
	for (int i = 1; i < n; i++)
		if (!strcmp(v[i - 1]->a.name, v[i]->a.name) && (bad < 0 || v[i]->id < v[bad]->id))
			bad = i;
	int rc = 0;
	char q[IR_QUOTELEN];
	if (bad > 0 && file && v[bad]->line > 0)
		rc = ir_errorf(e, "%s:%d: %%%d: the name \"%s\" is taken by %%%d", file, v[bad]->line, v[bad]->id,
		               ir_quote(q, sizeof q, v[bad]->a.name), v[bad - 1]->id);
	else if (bad > 0)
		rc = ir_errorf(e, "verify: %%%d and %%%d are both named \"%s\"", v[bad - 1]->id, v[bad]->id,
		               ir_quote(q, sizeof q, v[bad]->a.name));
	free(v);
	return rc;
}

/* Order dropouts by stream, then by position. */
static int by_stream(const void *pa, const void *pb)
{
	const Node *a = *(const Node *const *)pa, *b = *(const Node *const *)pb;
	if (a->a.stream != b->a.stream)
		return a->a.stream < b->a.stream ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Check dropout streams: dropouts that share a stream draw the same mask,
** which is only meant for a dropout and its gradient (autodiff applies the
** forward mask to dy), so they must agree on p, mode and shape. Each is
** compared with the first of its stream (sorted: n log n, not n^2). */
static int check_streams(const Graph *g, Err *e)
{
	const Node **v = malloc(sizeof *v * (size_t)(g->nnodes + 1));
	if (!v)
		return ir_errorf(e, "verify: out of memory");
	int n = 0, rc = 0;
	for (int i = 0; i < g->nnodes; i++)
		if (g->nodes[i]->op == OP_DROPOUT)
			v[n++] = g->nodes[i];
	qsort(v, (size_t)n, sizeof *v, by_stream);
	for (int i = 1, first = 0; i < n && !rc; i++) {
		const Node *a = v[first], *b = v[i];
		if (a->a.stream != b->a.stream)
			first = i;
		else if (a->a.p != b->a.p || a->a.mode != b->a.mode || !ir_shape_eq(&a->shape, &b->shape))
			rc = ir_errorf(e, "verify: dropouts %%%d and %%%d share stream %d but differ in p, mode or shape",
			               a->id, b->id, a->a.stream);
	}
	free(v);
	return rc;
}

/* Check the write-backs: an assign copies its value into a parameter,
** buffer or state where it stands, so nothing after it may read the old
** value, and a destination is written once (a second assign would read it
** too). One forward walk remembers where each node was overwritten. */
static int check_assigns(const Graph *g, Err *e)
{
	int *at = malloc(sizeof *at * (size_t)(g->nnodes + 1));
	if (!at)
		return ir_errorf(e, "verify: out of memory");
	for (int i = 0; i < g->nnodes; i++)
		at[i] = -1;
	int rc = 0;
	for (int j = 0; j < g->nnodes && !rc; j++) {
		const Node *nd = g->nodes[j];
		for (int k = 0; k < nd->nin && !rc; k++) {
			int v = nd->in[k];
			if (v >= 0 && v < g->nnodes && at[v] >= 0)
				rc = ir_errorf(e, "verify: %%%d reads %s after %%%d has overwritten it", j,
				               g->nodes[v]->a.name, at[v]);
		}
		if (nd->op == OP_ASSIGN && nd->nin > 0 && nd->in[0] >= 0 && nd->in[0] < g->nnodes)
			at[nd->in[0]] = j;
	}
	free(at);
	return rc;
}

/* Check one node: numbering, operand order, and a shape that re-infers. */
static int check_node(const Graph *g, int i, Err *e)
{
	const Node *nd = g->nodes[i];
	if (nd->id != i)
		return ir_errorf(e, "verify: node at position %d has id %d", i, nd->id);
	if (nd->op < 0 || nd->op >= OP_COUNT)
		return ir_errorf(e, "verify: %%%d has no valid op", i);
	if (nd->dead)
		return ir_errorf(e, "verify: %%%d is marked dead but still in the graph", i);
	Node copy = *nd;
	Err se = {0};
	if (ir_infer_node((Graph *)g, &copy, &se))
		return ir_errorf(e, "verify: %s", se.msg);
	if (!ir_shape_eq(&copy.shape, &nd->shape)) {
		char a[128], b[128];
		return ir_errorf(e, "verify: %%%d %s has type %s but its operands give %s", i,
		                 ir_ops[nd->op].name, ir_fmt_type(a, sizeof a, nd->dtype, &nd->shape),
		                 ir_fmt_type(b, sizeof b, copy.dtype, &copy.shape));
	}
	return 0;
}

/* Order C strings (qsort on const char *). */
static int by_string(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Check the outputs: each refers to a node, names are unique and can be
** written into every format. */
static int check_outputs(const Graph *g, Err *e)
{
	for (int i = 0; i < g->noutputs; i++) {
		const char *n = g->outputs[i].name;
		int id = g->outputs[i].node;
		if (!n)
			return ir_errorf(e, "verify: output %d has no name", i);
		const char *why = name_chars(n, strlen(n));
		char q[IR_QUOTELEN];
		if (why)
			return ir_errorf(e, "verify: output name \"%s\" %s", ir_quote(q, sizeof q, n), why);
		if (id < 0 || id >= g->nnodes)
			return ir_errorf(e, "verify: output \"%s\" refers to a missing node", n);
	}
	const char **v = malloc(sizeof *v * (size_t)(g->noutputs + 1));
	if (!v)
		return ir_errorf(e, "verify: out of memory");
	for (int i = 0; i < g->noutputs; i++)
		v[i] = g->outputs[i].name;
	qsort(v, (size_t)g->noutputs, sizeof *v, by_string);
	int rc = 0;
	char q[IR_QUOTELEN];
	for (int i = 1; i < g->noutputs && !rc; i++)
		if (!strcmp(v[i - 1], v[i]))
			rc = ir_errorf(e, "verify: two outputs named \"%s\"", ir_quote(q, sizeof q, v[i]));
	free(v);
	return rc;
}

/* Check the whole graph; the first violation goes in e. */
int ir_verify(const Graph *g, Err *e)
{
	for (int i = 0; i < g->nnodes; i++)
		if (check_node(g, i, e))
			return -1;
	return check_outputs(g, e) || unique_names(g, NULL, e) || check_streams(g, e) || check_assigns(g, e) ? -1 : 0;
}

/* Write where a thing read from IR text line `line` of file is ("file:line"),
** else loc, else fallback, into buf. */
static const char *place(char *buf, size_t cap, const char *file, int line, const char *loc, const char *fallback)
{
	if (file && line > 0)
		snprintf(buf, cap, "%s:%d", file, line);
	else
		snprintf(buf, cap, "%s", loc ? loc : fallback);
	return buf;
}

/* Check the names of the model's inputs and outputs against the names the
** passes keep for themselves (hyper.*, grad.*), and the loss's type. */
static int model_names(const Graph *g, const char *file, Err *e)
{
	char at[1100], q[IR_QUOTELEN];
	for (int i = 0; i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		if (nd->op != OP_INPUT || !nd->a.name)
			continue;
		const char *why = ir_name_error(NAME_INPUT, nd->a.name, strlen(nd->a.name));
		if (why)
			return ir_errorf(e, "%s: input: the name \"%s\" %s", place(at, sizeof at, file, nd->line, nd->loc, g->name),
			                 ir_quote(q, sizeof q, nd->a.name), why);
	}
	for (int i = 0; i < g->noutputs; i++) {
		const Output *o = &g->outputs[i];
		if (!o->name || o->node < 0 || o->node >= g->nnodes)
			continue;   /* ir_verify reports these */
		const char *why = ir_name_error(NAME_OUTPUT, o->name, strlen(o->name));
		const Node *nd = g->nodes[o->node];
		if (why)
			return ir_errorf(e, "%s: output: the name \"%s\" %s", place(at, sizeof at, file, o->line, nd->loc, g->name),
			                 ir_quote(q, sizeof q, o->name), why);
		if (!strcmp(o->name, "loss") && (nd->dtype != DT_F32 || nd->shape.rank != 1 || nd->shape.d[0] != 1)) {
			char t[128];
			return ir_errorf(e, "%s: output: the loss must be f32[1] (a single number), got %s",
			                 place(at, sizeof at, file, o->line, nd->loc, g->name),
			                 ir_fmt_type(t, sizeof t, nd->dtype, &nd->shape));
		}
	}
	return 0;
}

/* Check task t: a valid unique name, an output holding f32 [N,K]
** probabilities with K its class count (at least 2), a label input of i32
** [N] class indices, and a finite weight of at least 0. */
static int check_task(const Graph *g, int k, const char *file, Err *e)
{
	const Task *t = &g->tasks[k];
	char at[1100], ty[128], q[IR_QUOTELEN];
	place(at, sizeof at, file, t->line, NULL, g->name);
	if (!t->name || !t->output || !t->label)
		return ir_errorf(e, "%s: task: needs a name, an output and a label", at);
	const char *why = ir_name_error(NAME_TASK, t->name, strlen(t->name));
	if (why)
		return ir_errorf(e, "%s: task: the name \"%s\" %s", at, ir_quote(q, sizeof q, t->name), why);
	for (int j = 0; j < k; j++)
		if (!strcmp(g->tasks[j].name, t->name))
			return ir_errorf(e, "%s: task: duplicate task name \"%s\"", at, t->name);
	int out = ir_find_output(g, t->output);
	if (out < 0)
		return ir_errorf(e, "%s: task \"%s\": output \"%s\" names no output of the model", at, t->name, t->output);
	const Node *o = g->nodes[out];
	if (t->classes < 2)
		return ir_errorf(e, "%s: task \"%s\": classes must be at least 2, got %d", at, t->name, t->classes);
	if (o->dtype != DT_F32 || o->shape.rank != 2 || o->shape.d[0] != IR_N || o->shape.d[1] != t->classes)
		return ir_errorf(e, "%s: task \"%s\": output \"%s\" is %s, not the f32[N,%d] its %d classes need", at, t->name,
		                 t->output, ir_fmt_type(ty, sizeof ty, o->dtype, &o->shape), t->classes, t->classes);
	const Node *lab = NULL;
	for (int i = 0; i < g->nnodes && !lab; i++)
		if (g->nodes[i]->op == OP_INPUT && !strcmp(g->nodes[i]->a.name, t->label))
			lab = g->nodes[i];
	if (!lab)
		return ir_errorf(e, "%s: task \"%s\": label \"%s\" names no input of the model", at, t->name, t->label);
	if (lab->dtype != DT_I32 || lab->shape.rank != 1 || lab->shape.d[0] != IR_N)
		return ir_errorf(e, "%s: task \"%s\": label input \"%s\" is %s, not i32[N] class indices", at, t->name,
		                 t->label, ir_fmt_type(ty, sizeof ty, lab->dtype, &lab->shape));
	if (!(isfinite(t->weight) && t->weight >= 0))
		return ir_errorf(e, "%s: task \"%s\": weight must be a finite number of at least 0, got %g", at, t->name,
		                 t->weight);
	return 0;
}

/* The rules for a model as the user gave it, and ir_verify. Errors of IR
** text name the file, and the line where one is known. */
int ir_verify_model(const Graph *g, const char *file, Err *e)
{
	Err v = {0};
	if (model_names(g, file, e) || (file && unique_names(g, file, e)))
		return -1;
	if (ir_verify(g, &v))
		return file ? ir_errorf(e, "%s: %s", file, v.msg) : ir_errorf(e, "%s", v.msg);
	for (int i = 0; i < g->ntasks; i++)
		if (check_task(g, i, file, e))
			return -1;
	return 0;
}
