/*
** plan.c -- memory planning: one arena, offsets fixed at compile time.
**   requires: a verified graph in execution order (node order).
**   keeps:    the graph unchanged.
**   gives:    Plan (passes.h). Inputs, parameters, buffers, constants and
**             outputs own their bytes for the whole run; every other value
**             lives from its definition to its last use, and its bytes are
**             reused first-fit afterwards. Batched values are planned per
**             sample in the batched region, the rest in the fixed region.
*/
#include "passes.h"

#include <stdio.h>
#include <stdlib.h>

enum { ALIGN = 64 };

typedef struct Block {
	int64_t off, size;
	int owner;             /* node id */
} Block;

typedef struct Region {
	Block *live;
	int n;
	int64_t top;           /* high-water mark */
} Region;

/* Round up to the arena alignment. */
static int64_t align_up(int64_t x)
{
	return (x + ALIGN - 1) / ALIGN * ALIGN;
}

/* Lowest offset where size bytes fit between the live blocks (kept sorted). */
static int64_t first_fit(Region *r, int64_t size, int owner)
{
	int64_t at = 0;
	int i = 0;
	for (; i < r->n; i++) {
		if (r->live[i].off - at >= size)
			break;
		at = r->live[i].off + r->live[i].size;
	}
	for (int j = r->n; j > i; j--)
		r->live[j] = r->live[j - 1];
	r->live[i] = (Block){at, size, owner};
	r->n++;
	if (at + size > r->top)
		r->top = at + size;
	return at;
}

/* Release the block owned by node id, if live. */
static void release(Region *r, int owner)
{
	for (int i = 0; i < r->n; i++)
		if (r->live[i].owner == owner) {
			for (int j = i; j + 1 < r->n; j++)
				r->live[j] = r->live[j + 1];
			r->n--;
			return;
		}
}

/* 1 if the value must keep its bytes for the whole run. */
static int persistent(const Graph *g, const Node *nd, const char *is_output)
{
	return ir_ops[nd->op].kind == K_SOURCE || is_output[nd->id];
}

/* Reserve [0, bytes) of a region (the shared slots of a layout). */
static void reserve(Region *r, int64_t bytes)
{
	if (bytes > 0) {
		r->live[r->n++] = (Block){0, bytes, -1};
		r->top = bytes;
	}
}

/* Offset of nd's shared slot: by its name for a source, by its output name
** for an output; -1 if it has none. */
static int64_t slot_of(const Graph *g, const Layout *l, const Node *nd)
{
	const Slot *s = NULL;
	if (ir_ops[nd->op].attrs & A_NAME)
		s = pass_layout_find(l, nd->a.name);
	for (int i = 0; !s && i < g->noutputs; i++)
		if (g->outputs[i].node == nd->id)
			s = pass_layout_find(l, g->outputs[i].name);
	return s ? s->off : -1;
}

/* Plan every value's offset. */
int pass_plan(const Graph *g, const Layout *l, Plan *p, Err *e)
{
	int n = g->nnodes;
	int *last = calloc((size_t)n + 1, sizeof *last);
	char *is_output = calloc((size_t)n + 1, 1);
	Region reg[2] = {{calloc((size_t)n + 2, sizeof(Block)), 0, 0}, {calloc((size_t)n + 2, sizeof(Block)), 0, 0}};
	if (!last || !is_output || !reg[0].live || !reg[1].live) {
		free(last), free(is_output), free(reg[0].live), free(reg[1].live);
		return ir_errorf(e, "plan: out of memory");
	}
	p->off = ir_alloc((Arena *)&g->arena, sizeof(int64_t) * (size_t)(n + 1));
	for (int i = 0; i < g->noutputs; i++)
		is_output[g->outputs[i].node] = 1;
	for (int i = 0; i < n; i++)
		for (int k = 0; k < g->nodes[i]->nin; k++)
			last[g->nodes[i]->in[k]] = i;
	if (l) {
		reserve(&reg[0], l->fixed_bytes);
		reserve(&reg[1], l->batch_bytes);
	}
	/* sources hold their bytes from before the entry runs: place them first */
	for (int i = 0; i < n; i++) {
		const Node *nd = g->nodes[i];
		int64_t at = l ? slot_of(g, l, nd) : -1;
		p->off[i] = -2;
		if (at >= 0)
			p->off[i] = at;
		else if (ir_ops[nd->op].kind == K_SOURCE)
			p->off[i] = first_fit(&reg[ir_batched(&nd->shape)], align_up(ir_numel(&nd->shape, 1) * 4), -1);
	}
	for (int i = 0; i < n; i++) {
		const Node *nd = g->nodes[i];
		Region *r = &reg[ir_batched(&nd->shape)];
		int64_t bytes = align_up(ir_numel(&nd->shape, 1) * 4);
		if (p->off[i] >= 0 && ir_ops[nd->op].kind == K_SOURCE)
			continue;
		if (p->off[i] >= 0) /* an output in its shared slot */
			goto release_operands;
		if (nd->op == OP_ASSIGN) { /* writes into its destination; no bytes of its own */
			p->off[i] = -1;
			goto release_operands;
		}
		p->off[i] = first_fit(r, bytes, persistent(g, nd, is_output) ? -1 : i);
	release_operands:
		for (int k = 0; k < nd->nin; k++) {
			const Node *in = g->nodes[nd->in[k]];
			if (last[in->id] == i && !persistent(g, in, is_output))
				release(&reg[ir_batched(&in->shape)], in->id);
		}
		/* a value nobody reads dies at once (but after its own kernel ran) */
		if (!persistent(g, nd, is_output) && !last[i])
			release(r, i);
	}
	p->fixed_bytes = align_up(reg[0].top);
	p->batch_bytes = align_up(reg[1].top);
	p->peak_bytes_b1 = p->fixed_bytes + p->batch_bytes;
	free(last), free(is_output), free(reg[0].live), free(reg[1].live);
	return 0;
}

/* Give every plan the largest sizes among them. */
void pass_plan_unify(Plan *const *ps, int n)
{
	int64_t f = 0, b = 0;
	for (int i = 0; i < n; i++) {
		f = ps[i]->fixed_bytes > f ? ps[i]->fixed_bytes : f;
		b = ps[i]->batch_bytes > b ? ps[i]->batch_bytes : b;
	}
	for (int i = 0; i < n; i++) {
		ps[i]->fixed_bytes = f;
		ps[i]->batch_bytes = b;
		ps[i]->peak_bytes_b1 = f + b;
	}
}

/* The last node that reads each value (0: none), into last[0..n). */
static void last_uses(const Graph *g, int *last)
{
	for (int i = 0; i < g->nnodes; i++)
		for (int k = 0; k < g->nodes[i]->nin; k++)
			last[g->nodes[i]->in[k]] = i;
}

/* One value of the plan: its region, offset, bytes and lifetime. */
static void print_value(const Graph *g, const Plan *p, const Node *nd, int last, const char *out, FILE *f)
{
	int id = nd->id;
	if (p->off[id] == -1) {
		fprintf(f, "#   %%%-5d writes into %%%d\n", id, nd->nin ? nd->in[0] : -1);
		return;
	}
	fprintf(f, "#   %%%-5d %-5s %10lld %10lld  ", id, ir_batched(&nd->shape) ? "batch" : "fixed",
	        (long long)p->off[id], (long long)align_up(ir_numel(&nd->shape, 1) * 4));
	if (ir_ops[nd->op].kind == K_SOURCE || out[id])
		fprintf(f, "whole run\n");
	else if (last)
		fprintf(f, "%%%d..%%%d\n", id, last);
	else
		fprintf(f, "%%%d only\n", id);
}

int pass_plan_print(const Graph *g, const Plan *p, void *file)
{
	FILE *f = file;
	int n = g->nnodes;
	int *last = calloc((size_t)n + 1, sizeof *last);
	char *out = calloc((size_t)n + 1, 1);
	if (!last || !out) {
		free(last), free(out);
		return -1;
	}
	last_uses(g, last);
	for (int i = 0; i < g->noutputs; i++)
		out[g->outputs[i].node] = 1;
	fprintf(f, "# plan %s: fixed %lld bytes, batched %lld bytes per sample\n"
	        "#   value  region     offset      bytes  lives (batched: per sample)\n",
	        g->entry ? g->entry : g->name, (long long)p->fixed_bytes, (long long)p->batch_bytes);
	for (int i = 0; i < n; i++)
		print_value(g, p, g->nodes[i], last[i], out, f);
	free(last), free(out);
	return 0;
}
