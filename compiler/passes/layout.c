/*
** layout.c -- the bytes every entry point of one executable shares.
**   requires: the entry graphs after their pipelines.
**   gives:    Layout (passes.h): one slot per named source (input, param,
**             buffer, state) and per named output, in order of first
**             appearance, so the runtime fills inputs, loads weights and
**             reads outputs at one address whichever entry it calls.
*/
#include "passes.h"

#include <stdlib.h>
#include <string.h>

enum { ALIGN = 64 };

/* The slot named name, or NULL. */
const Slot *pass_layout_find(const Layout *l, const char *name)
{
	for (int i = 0; l && i < l->n; i++)
		if (!strcmp(l->slots[i].name, name))
			return &l->slots[i];
	return NULL;
}

/* Add a slot for a value of shape s named name, or check the existing one;
** output says whether it is an output's (an output may not share the name
** of a source). */
static int add_slot(Layout *l, const char *name, const Shape *s, int output, Err *e)
{
	int batched = ir_batched(s);
	int64_t bytes = (ir_numel(s, 1) * 4 + ALIGN - 1) / ALIGN * ALIGN;
	const Slot *old = pass_layout_find(l, name);
	if (old) {
		if (old->output != output)
			return ir_errorf(e, "output \"%s\" has the name of an input or parameter", name);
		if (old->batched != batched || old->bytes != bytes)
			return ir_errorf(e, "layout: entries disagree on the type of \"%s\"", name);
		return 0;
	}
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 64;
		Slot *ns = realloc(l->slots, sizeof *ns * (size_t)l->cap);
		if (!ns)
			return ir_errorf(e, "layout: out of memory");
		l->slots = ns;
	}
	int64_t *top = batched ? &l->batch_bytes : &l->fixed_bytes;
	l->slots[l->n++] = (Slot){name, batched, output, *top, bytes};
	*top += bytes;
	return 0;
}

/* Build the shared layout of the entry graphs. */
int pass_layout(Graph *const *gs, int ng, Layout *l, Err *e)
{
	memset(l, 0, sizeof *l);
	for (int k = 0; k < ng; k++) {
		const Graph *g = gs[k];
		for (int i = 0; i < g->nnodes; i++) {
			const Node *nd = g->nodes[i];
			if ((ir_ops[nd->op].attrs & A_NAME) && add_slot(l, nd->a.name, &nd->shape, 0, e))
				return -1;
		}
		for (int i = 0; i < g->noutputs; i++) {
			const Node *nd = g->nodes[g->outputs[i].node];
			if (ir_ops[nd->op].attrs & A_NAME)
				return ir_errorf(e, "%s: output \"%s\" is the %s \"%s\" itself; outputs must be computed values",
				                 g->name, g->outputs[i].name, ir_ops[nd->op].name, nd->a.name);
			if (add_slot(l, g->outputs[i].name, &nd->shape, 1, e))
				return -1;
		}
	}
	return 0;
}

/* Free the slot array. */
void pass_layout_free(Layout *l)
{
	free(l->slots);
	memset(l, 0, sizeof *l);
}
