/*
** simplify.c -- remove identity ops: dropout in mode off or with p = 0, and
** reshapes to the shape they already have.
**   requires: a verified graph.
**   keeps:    outputs and sources.
**   breaks:   node ids (the graph is compacted).
*/
#include "passes.h"

/* 1 if nd passes its only operand through unchanged. */
static int is_identity(const Graph *g, const Node *nd)
{
	if (nd->op == OP_DROPOUT)
		return nd->a.mode == MODE_OFF || nd->a.p == 0;
	if (nd->op == OP_RESHAPE)
		return ir_shape_eq(&nd->shape, &g->nodes[nd->in[0]]->shape);
	return 0;
}

/* Forward every use of an identity op to its operand, then drop it. */
int pass_simplify(Graph *g, const PassOpts *o, Err *e)
{
	int *repl = ir_alloc(&g->arena, sizeof(int) * (size_t)(g->nnodes + 1));
	int changed = 0;
	for (int i = 0; i < g->nnodes; i++) {
		Node *nd = g->nodes[i];
		repl[i] = i;
		for (int k = 0; k < nd->nin; k++)
			nd->in[k] = repl[nd->in[k]];
		if (is_identity(g, nd)) {
			repl[i] = nd->in[0];
			changed = 1;
		}
	}
	if (!changed)
		return 0;
	for (int i = 0; i < g->noutputs; i++)
		g->outputs[i].node = repl[g->outputs[i].node];
	for (int i = 0; i < g->nnodes; i++)
		g->nodes[i]->dead = repl[i] != i;
	ir_compact(g);
	return 0;
}
