/*
** dce.c -- dead-code elimination: drop values that no output depends on.
**   requires: a verified graph.
**   keeps:    inputs, parameters, buffers and state (they are the model's
**             interface and its weight file, even when unused), outputs, and
**             every assign (a write-back is a side effect).
**   breaks:   node ids (the graph is compacted).
*/
#include "passes.h"

/* Mark what outputs reach, walking backwards; kill the rest. */
int pass_dce(Graph *g, const PassOpts *o, Err *e)
{
	char *live = ir_alloc(&g->arena, (size_t)g->nnodes + 1);
	for (int i = 0; i < g->noutputs; i++)
		live[g->outputs[i].node] = 1;
	int killed = 0;
	for (int i = g->nnodes - 1; i >= 0; i--) {
		Node *nd = g->nodes[i];
		Op op = nd->op;
		if (ir_ops[op].kind == K_SOURCE && op != OP_CONST)
			live[i] = 1;
		if (op == OP_ASSIGN)
			live[i] = 1;
		if (!live[i]) {
			nd->dead = 1;
			killed++;
			continue;
		}
		for (int k = 0; k < nd->nin; k++)
			live[nd->in[k]] = 1;
	}
	if (killed)
		ir_compact(g);
	return 0;
}
