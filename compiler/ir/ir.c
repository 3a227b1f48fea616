/*
** ir.c -- graph construction: the arena, nodes, outputs, errors, lookups.
*/
#include "ir.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const OpInfo ir_ops[OP_COUNT] = {
#define OP(e, s, mn, mx, k, d, a) {s, mn, mx, k, d, a},
#include "ops.h"
#undef OP
};

struct ArenaBlock {
	ArenaBlock *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
};

enum { ARENA_BLOCK = 64 * 1024 };

/* Fill e with a formatted message unless an earlier error is there. */
int ir_errorf(Err *e, const char *fmt, ...)
{
	if (!e || e->set)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	e->set = 1;
	return -1;
}

/* Allocate n zeroed bytes, 16-byte aligned, from the arena. */
void *ir_alloc(Arena *a, size_t n)
{
	n = (n + 15) & ~(size_t)15;
	ArenaBlock *b = a->head;
	if (!b || b->used + n > b->cap) {
		size_t cap = n > ARENA_BLOCK ? n : ARENA_BLOCK;
		b = malloc(sizeof *b + cap);
		if (!b) {
			fputs("lunac: out of memory\n", stderr);
			abort();
		}
		b->next = a->head;
		b->used = 0;
		b->cap = cap;
		a->head = b;
	}
	void *p = b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

/* Copy a string into the arena (NULL stays NULL). */
char *ir_strdup(Arena *a, const char *s)
{
	if (!s)
		return NULL;
	size_t n = strlen(s) + 1;
	char *d = ir_alloc(a, n);
	memcpy(d, s, n);
	return d;
}

/* Copy x followed by y into the arena, as one string. */
char *ir_strcat(Arena *a, const char *x, const char *y)
{
	size_t nx = strlen(x), ny = strlen(y);
	char *d = ir_alloc(a, nx + ny + 1);
	memcpy(d, x, nx);
	memcpy(d + nx, y, ny + 1);
	return d;
}

/* Free every block of the arena. */
void ir_arena_free(Arena *a)
{
	for (ArenaBlock *b = a->head, *nx; b; b = nx) {
		nx = b->next;
		free(b);
	}
	a->head = NULL;
}

/* A new empty graph. */
Graph *ir_new(const char *name)
{
	Graph *g = calloc(1, sizeof *g);
	if (!g) {
		fputs("lunac: out of memory\n", stderr);
		abort();
	}
	g->name = ir_strdup(&g->arena, name ? name : "model");
	return g;
}

/* Free the graph and everything in its arena. */
void ir_free(Graph *g)
{
	if (!g)
		return;
	free(g->nodes);
	free(g->outputs);
	ir_arena_free(&g->arena);
	free(g);
}

/* Grow a malloc'ed array of elem-sized items to hold at least need. */
static void *grow(void *p, int *cap, int need, size_t elem)
{
	if (need <= *cap)
		return p;
	int nc = *cap ? *cap * 2 : 64;
	while (nc < need)
		nc *= 2;
	p = realloc(p, (size_t)nc * elem);
	if (!p) {
		fputs("lunac: out of memory\n", stderr);
		abort();
	}
	*cap = nc;
	return p;
}

/* Append a node with the given operands; attributes and shape are left for
** the caller and shape inference. Default attributes are filled in. */
Node *ir_add(Graph *g, Op op, int nin, const int *in, const char *loc)
{
	g->nodes = grow(g->nodes, &g->capnodes, g->nnodes + 1, sizeof *g->nodes);
	Node *nd = ir_alloc(&g->arena, sizeof *nd);
	nd->id = g->nnodes;
	nd->op = op;
	nd->nin = nin;
	for (int i = 0; i < nin && i < IR_MAXIN; i++)
		nd->in[i] = in[i];
	nd->loc = ir_strdup(&g->arena, loc);
	nd->dtype = DT_F32;
	nd->a.stride[0] = nd->a.stride[1] = 1;
	nd->a.kernel[0] = nd->a.kernel[1] = 1;
	nd->a.eps = 1e-3f;
	nd->a.momentum = 0.01f;
	nd->a.axis = 1;
	if (op == OP_DROPOUT)
		nd->a.mode = MODE_MC;
	else if (op == OP_BATCHNORM)
		nd->a.mode = MODE_RUNNING;
	g->nodes[g->nnodes++] = nd;
	return nd;
}

/* Mark node as a named graph output. */
void ir_add_output(Graph *g, const char *name, int node)
{
	g->outputs = grow(g->outputs, &g->capoutputs, g->noutputs + 1, sizeof *g->outputs);
	g->outputs[g->noutputs].name = ir_strdup(&g->arena, name);
	g->outputs[g->noutputs].node = node;
	g->outputs[g->noutputs].line = 0;
	g->noutputs++;
}

/* Remove nodes marked dead, renumber the survivors in order, and rewrite
** operand and output references. Callers must only kill unused nodes. */
void ir_compact(Graph *g)
{
	int *map = malloc(sizeof(int) * (g->nnodes ? g->nnodes : 1));
	int k = 0;
	for (int i = 0; i < g->nnodes; i++) {
		Node *nd = g->nodes[i];
		map[i] = nd->dead ? -1 : k;
		if (!nd->dead) {
			nd->id = k;
			for (int j = 0; j < nd->nin; j++)
				nd->in[j] = map[nd->in[j]];
			g->nodes[k++] = nd;
		}
	}
	g->nnodes = k;
	for (int i = 0; i < g->noutputs; i++)
		g->outputs[i].node = map[g->outputs[i].node];
	free(map);
}

/* The op whose printed name is name, or OP_COUNT. */
Op ir_op_lookup(const char *name)
{
	for (int i = 0; i < OP_COUNT; i++)
		if (strcmp(ir_ops[i].name, name) == 0)
			return (Op)i;
	return OP_COUNT;
}

static const char *const mode_names[] = {"none", "off", "train", "mc", "running", "batch"};
static const char *const init_names[] = {"none", "zeros", "ones", "glorot"};

/* Printed name of a mode. */
const char *ir_mode_name(Mode m)
{
	return (unsigned)m < sizeof mode_names / sizeof *mode_names ? mode_names[m] : "?";
}

/* Printed name of an initialiser. */
const char *ir_init_name(Init i)
{
	return (unsigned)i < sizeof init_names / sizeof *init_names ? init_names[i] : "?";
}

/* Printed name of a dtype. */
const char *ir_dtype_name(DType t)
{
	return t == DT_I32 ? "i32" : "f32";
}

/* Element count with the batch dimension bound to n; INT64_MAX when the
** product overflows (shape inference refuses such shapes, see IR_MAXELEMS). */
int64_t ir_numel(const Shape *s, int64_t n)
{
	int64_t k = 1;
	for (int i = 0; i < s->rank; i++)
		if (__builtin_mul_overflow(k, s->d[i] == IR_N ? n : s->d[i], &k))
			return INT64_MAX;
	return k;
}

/* 1 if the leading dimension is the batch N. */
int ir_batched(const Shape *s)
{
	return s->rank > 0 && s->d[0] == IR_N;
}

/* Same rank and dimensions. */
int ir_shape_eq(const Shape *a, const Shape *b)
{
	if (a->rank != b->rank)
		return 0;
	for (int i = 0; i < a->rank; i++)
		if (a->d[i] != b->d[i])
			return 0;
	return 1;
}

/* Format a type as "f32[N,3,28,28]". */
char *ir_fmt_type(char *buf, size_t cap, DType t, const Shape *s)
{
	size_t k = (size_t)snprintf(buf, cap, "%s[", ir_dtype_name(t));
	for (int i = 0; i < s->rank && k < cap; i++) {
		if (s->d[i] == IR_N)
			k += (size_t)snprintf(buf + k, cap - k, "%sN", i ? "," : "");
		else
			k += (size_t)snprintf(buf + k, cap - k, "%s%lld", i ? "," : "", (long long)s->d[i]);
	}
	if (k < cap)
		snprintf(buf + k, cap - k, "]");
	return buf;
}

/* A deep copy of g, in its own arena (constants' data is copied too). */
Graph *ir_clone(const Graph *g)
{
	Graph *c = ir_new(g->name);
	c->spec_hash = ir_strdup(&c->arena, g->spec_hash);
	c->entry = ir_strdup(&c->arena, g->entry);
	for (int i = 0; i < g->nnodes; i++) {
		const Node *src = g->nodes[i];
		Node *nd = ir_add(c, src->op, src->nin, src->in, src->loc);
		nd->dtype = src->dtype;
		nd->shape = src->shape;
		nd->line = src->line;
		nd->a = src->a;
		nd->a.name = ir_strdup(&c->arena, src->a.name);
		if (src->a.data) {
			size_t bytes = sizeof(float) * (size_t)ir_numel(&src->shape, 1);
			nd->a.data = ir_alloc(&c->arena, bytes);
			memcpy(nd->a.data, src->a.data, bytes);
		}
	}
	for (int i = 0; i < g->noutputs; i++) {
		ir_add_output(c, g->outputs[i].name, g->outputs[i].node);
		c->outputs[i].line = g->outputs[i].line;
	}
	c->ntasks = g->ntasks;
	c->tasks = ir_alloc(&c->arena, sizeof(Task) * (size_t)(g->ntasks + 1));
	for (int i = 0; i < g->ntasks; i++) {
		Task t = g->tasks[i];
		t.name = ir_strdup(&c->arena, t.name);
		t.output = ir_strdup(&c->arena, t.output);
		t.label = ir_strdup(&c->arena, t.label);
		c->tasks[i] = t;
	}
	return c;
}

/* The node of the output named name, or -1. */
int ir_find_output(const Graph *g, const char *name)
{
	for (int i = 0; i < g->noutputs; i++)
		if (!strcmp(g->outputs[i].name, name))
			return g->outputs[i].node;
	return -1;
}
