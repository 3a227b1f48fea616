/*
** cse.c -- common-subexpression elimination: a node that computes exactly
** what an earlier node computes (same op, operands, attributes; constants
** with the same values) is replaced by the earlier one.
**   requires: a verified graph.
**   keeps:    sources with names, assigns (side effects), outputs' names.
**   breaks:   node ids (the graph is compacted).
** Dropouts are pure functions of (input, stream, seed, step), so two with
** the same input and stream are equal too.
*/
#include "passes.h"

#include <string.h>

/* 1 if two attribute sets are equal for op (compared field by field). */
static int same_attrs(const Node *a, const Node *b)
{
	const Attrs *x = &a->a, *y = &b->a;
	if (x->init != y->init || x->keepdims != y->keepdims || x->mode != y->mode || x->axis != y->axis ||
	    x->stream != y->stream || x->start != y->start)
		return 0;
	if (x->eps != y->eps || x->momentum != y->momentum || x->p != y->p || x->smoothing != y->smoothing)
		return 0;
	for (int k = 0; k < 2; k++)
		if (x->stride[k] != y->stride[k] || x->pad[k] != y->pad[k] || x->kernel[k] != y->kernel[k])
			return 0;
	if (!ir_shape_eq(&x->shape, &y->shape))
		return 0;
	if (a->op == OP_CONST)
		return !memcmp(x->data, y->data, sizeof(float) * (size_t)ir_numel(&a->shape, 1));
	return 1;
}

/* 1 if node b can be replaced by the earlier node a. */
static int equivalent(const Node *a, const Node *b)
{
	if (a->op != b->op || a->nin != b->nin || a->dtype != b->dtype || !ir_shape_eq(&a->shape, &b->shape))
		return 0;
	if (b->op == OP_ASSIGN || (ir_ops[b->op].attrs & A_NAME))
		return 0;
	for (int k = 0; k < a->nin; k++)
		if (a->in[k] != b->in[k])
			return 0;
	return same_attrs(a, b);
}

/* A cheap hash of op and operands, to find candidates quickly. */
static unsigned key(const Node *nd)
{
	unsigned h = (unsigned)nd->op * 2654435761u;
	for (int k = 0; k < nd->nin; k++)
		h = (h ^ (unsigned)nd->in[k]) * 16777619u;
	if (nd->op == OP_CONST && nd->a.data)
		h ^= (unsigned)(nd->a.data[0] * 1000.0f);
	return h;
}

enum { BUCKETS = 4096 };

/* Replace repeated computations by their first occurrence. */
int pass_cse(Graph *g, const PassOpts *o, Err *e)
{
	int n = g->nnodes, changed = 0;
	int *repl = ir_alloc(&g->arena, sizeof(int) * (size_t)(n + 1));
	int *head = ir_alloc(&g->arena, sizeof(int) * BUCKETS);
	int *next = ir_alloc(&g->arena, sizeof(int) * (size_t)(n + 1));
	for (int b = 0; b < BUCKETS; b++)
		head[b] = -1;
	for (int i = 0; i < n; i++) {
		Node *nd = g->nodes[i];
		for (int k = 0; k < nd->nin; k++)
			nd->in[k] = repl[nd->in[k]];
		repl[i] = i;
		unsigned b = key(nd) % BUCKETS;
		for (int j = head[b]; j >= 0; j = next[j])
			if (equivalent(g->nodes[j], nd)) {
				repl[i] = j;
				break;
			}
		if (repl[i] != i) {
			changed = 1;
			nd->dead = 1;
			continue;
		}
		next[i] = head[b];
		head[b] = i;
	}
	if (!changed)
		return 0;
	for (int i = 0; i < g->noutputs; i++)
		g->outputs[i].node = repl[g->outputs[i].node];
	ir_compact(g);
	return 0;
}
