/*
** mode.c -- specialise per-op modes for one entry point.
**   requires: a verified graph.
**   keeps:    node ids, shapes.
**   breaks:   nothing; dropouts declared "off" stay off, every other dropout
**             takes o->dropout_mode (off for predict, mc for Monte-Carlo
**             sampling); batch norm runs on running statistics.
*/
#include "passes.h"

/* Set dropout and batch-norm modes for inference. */
int pass_mode(Graph *g, const PassOpts *o, Err *e)
{
	Mode dm = o->dropout_mode == MODE_NONE ? MODE_OFF : o->dropout_mode;
	for (int i = 0; i < g->nnodes; i++) {
		Node *nd = g->nodes[i];
		if (nd->op == OP_DROPOUT && nd->a.mode != MODE_OFF)
			nd->a.mode = dm;
		else if (nd->op == OP_BATCHNORM)
			nd->a.mode = MODE_RUNNING;
	}
	return 0;
}
