/*
** print.c -- the IR's text form (docs/ir.md). The printed IR is the test
** oracle: it must be deterministic and parse back to the same graph.
*/
#include "ir.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growable string. */
typedef struct Buf {
	char *s;
	size_t n, cap;
} Buf;

/* Append formatted text to b. */
static void put(Buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(Buf *b, const char *fmt, ...)
{
	va_list ap;
	for (;;) {
		va_start(ap, fmt);
		int k = vsnprintf(b->s + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (k >= 0 && b->n + (size_t)k < b->cap) {
			b->n += (size_t)k;
			return;
		}
		b->cap = b->cap * 2 + (size_t)k + 256;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
}

/* Format a float in the shortest form that reads back to the same float. */
static const char *fstr(char *buf, float v)
{
	for (int prec = 6; prec <= 9; prec++) {
		snprintf(buf, 32, "%.*g", prec, (double)v);
		if (strtof(buf, NULL) == v)
			break;
	}
	return buf;
}

/* Append a pair attribute as "key=A" or "key=A,B". */
static void put_pair(Buf *b, const char *key, const int64_t v[2])
{
	if (v[0] == v[1])
		put(b, " %s=%lld", key, (long long)v[0]);
	else
		put(b, " %s=%lld,%lld", key, (long long)v[0], (long long)v[1]);
}

/* Append the attributes the op table lists for nd's op, in table order. */
static void put_attrs(Buf *b, const Node *nd)
{
	unsigned m = ir_ops[nd->op].attrs;
	const Attrs *a = &nd->a;
	char t[160], f[32];
	if (m & A_NAME) put(b, " \"%s\"", a->name ? a->name : "");
	if (m & A_INIT) put(b, " init=%s", ir_init_name(a->init));
	if (m & A_DATA) {
		int64_t k = ir_numel(&nd->shape, 1);
		put(b, " [");
		for (int64_t i = 0; i < k; i++)
			put(b, "%s%s", i ? ", " : "", fstr(f, a->data ? a->data[i] : 0.0f));
		put(b, "]");
	}
	if (m & A_KERNEL) put_pair(b, "kernel", a->kernel);
	if (m & A_STRIDE) put_pair(b, "stride", a->stride);
	if (m & A_PAD) put_pair(b, "pad", a->pad);
	if (m & A_KEEPDIMS) put(b, " keepdims=%d", a->keepdims);
	if (m & A_MODE) put(b, " mode=%s", ir_mode_name(a->mode));
	if (m & A_EPS) put(b, " eps=%s", fstr(f, a->eps));
	if (m & A_MOMENTUM) put(b, " momentum=%s", fstr(f, a->momentum));
	if (m & A_AXIS) put(b, " axis=%d", a->axis);
	if (m & A_SHAPE) put(b, " shape=%s", ir_fmt_type(t, sizeof t, DT_F32, &a->shape) + 3);
	if (m & A_P) put(b, " p=%s", fstr(f, a->p));
	if (m & A_STREAM) put(b, " stream=%d", a->stream);
	if (m & A_START) put(b, " start=%lld", (long long)a->start);
	if (m & A_SMOOTHING) put(b, " smoothing=%s", fstr(f, a->smoothing));
}

/* Append one node's line. */
static void put_node(Buf *b, const Node *nd)
{
	char t[160];
	size_t start = b->n;
	put(b, "%%%d = %s", nd->id, ir_ops[nd->op].name);
	for (int k = 0; k < nd->nin; k++)
		put(b, "%s%%%d", k ? ", " : " ", nd->in[k]);
	put_attrs(b, nd);
	put(b, " : %s", ir_fmt_type(t, sizeof t, nd->dtype, &nd->shape));
	if (nd->loc) {
		size_t w = b->n - start;
		put(b, "%*s# %s", w < 60 ? (int)(60 - w) : 1, "", nd->loc);
	}
	put(b, "\n");
}

/* The whole graph as text; malloc'ed. */
char *ir_print_str(const Graph *g)
{
	Buf b = {malloc(4096), 0, 4096};
	if (!b.s)
		abort();
	b.s[0] = 0;
	put(&b, "graph %s", g->name);
	if (g->spec_hash && *g->spec_hash)
		put(&b, " spec=%s", g->spec_hash);
	if (g->entry)
		put(&b, " entry=%s", g->entry);
	put(&b, "\n");
	for (int i = 0; i < g->nnodes; i++)
		put_node(&b, g->nodes[i]);
	for (int i = 0; i < g->noutputs; i++)
		put(&b, "output \"%s\" %%%d\n", g->outputs[i].name, g->outputs[i].node);
	for (int i = 0; i < g->ntasks; i++) {
		const Task *t = &g->tasks[i];
		char f[32];
		put(&b, "task \"%s\" output=\"%s\" label=\"%s\" classes=%d weight=%s\n", t->name, t->output, t->label,
		    t->classes, fstr(f, t->weight));
	}
	return b.s;
}

/* Print the graph to a FILE *. */
void ir_print(const Graph *g, void *file)
{
	char *s = ir_print_str(g);
	fputs(s, file);
	free(s);
}
