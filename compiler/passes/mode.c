/*
** mode.c -- specialise a graph for one entry point.
**   requires: a verified graph.
**   keeps:    node ids, shapes.
**   breaks:   outputs: the "loss" output is kept only for eval and train,
**             the prediction outputs only for predict, mc and eval.
** Dropouts declared "off" stay off; the others become off (predict, eval),
** mc (mc) or train (train). Batch norm runs on running statistics except in
** training, where it uses the batch's.
*/
#include "passes.h"

#include <string.h>

/* 1 if the output named name belongs to entry k. */
static int keeps_output(EntryKind k, const char *name)
{
	int loss = !strcmp(name, "loss");
	switch (k) {
	case ENTRY_EVAL: return 1;
	case ENTRY_TRAIN: return loss;
	default: return !loss;
	}
}

/* Set per-op modes and the outputs for the entry. */
int pass_mode(Graph *g, const PassOpts *o, Err *e)
{
	if ((o->entry == ENTRY_TRAIN || o->entry == ENTRY_EVAL) && ir_find_output(g, "loss") < 0)
		return ir_errorf(e, "%s: the model defines no loss, so it has no %s entry (use task() or loss(); see "
		                 "docs/model-language.md)", g->name, pass_entry_name(o->entry, o->optimizer));
	static const Mode dropout[ENTRY_COUNT] = {MODE_OFF, MODE_MC, MODE_OFF, MODE_TRAIN};
	for (int i = 0; i < g->nnodes; i++) {
		Node *nd = g->nodes[i];
		if (nd->op == OP_DROPOUT && nd->a.mode != MODE_OFF)
			nd->a.mode = dropout[o->entry];
		else if (nd->op == OP_BATCHNORM)
			nd->a.mode = o->entry == ENTRY_TRAIN ? MODE_BATCH : MODE_RUNNING;
	}
	int keep = 0;
	for (int i = 0; i < g->noutputs; i++)
		if (keeps_output(o->entry, g->outputs[i].name))
			g->outputs[keep++] = g->outputs[i];
	g->noutputs = keep;
	if (!keep)
		return ir_errorf(e, "%s: the %s entry has no outputs", g->name, pass_entry_name(o->entry, o->optimizer));
	return 0;
}
