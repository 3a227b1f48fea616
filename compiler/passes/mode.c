/*
** mode.c -- specialise a graph for one entry point.
**   requires: a verified graph.
**   keeps:    node ids, shapes.
**   breaks:   outputs: the "loss" output is kept only for eval and train,
**             the prediction outputs only for predict, mc and eval, except
**             that train also keeps each task's probabilities (or, in a
**             model without tasks, its first classifier output [N,K]) so
**             the runtime can measure training accuracy on the batches it
**             trains on.
** Dropouts declared "off" stay off; the others become off (predict, eval),
** mc (mc) or train (train). Batch norm runs on running statistics except in
** training, where it uses the batch's.
*/
#include "passes.h"

#include <string.h>

/* 1 if output i is the probabilities training accuracy reads: a task's
** output, or (no tasks) the first f32 [N,K] output with K >= 2 other than
** the loss, as the runtime's classifier_output (feed.c) picks it. */
static int accuracy_output(const Graph *g, int i)
{
	const char *name = g->outputs[i].name;
	for (int t = 0; t < g->ntasks; t++)
		if (g->tasks[t].output && !strcmp(g->tasks[t].output, name))
			return 1;
	if (g->ntasks)
		return 0;
	for (int j = 0; j < g->noutputs; j++) {
		const Node *nd = g->nodes[g->outputs[j].node];
		if (strcmp(g->outputs[j].name, "loss") && nd->dtype == DT_F32 && nd->shape.rank == 2 &&
		    ir_batched(&nd->shape) && nd->shape.d[1] >= 2)
			return j == i;
	}
	return 0;
}

/* 1 if output i belongs to entry k. */
static int keeps_output(const Graph *g, EntryKind k, int i)
{
	int loss = !strcmp(g->outputs[i].name, "loss");
	switch (k) {
	case ENTRY_EVAL: return 1;
	case ENTRY_TRAIN: return loss || accuracy_output(g, i);
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
	char *kept = ir_alloc(&g->arena, (size_t)g->noutputs + 1);
	for (int i = 0; i < g->noutputs; i++)
		kept[i] = (char)keeps_output(g, o->entry, i);
	for (int i = 0; i < g->noutputs; i++)
		if (kept[i])
			g->outputs[keep++] = g->outputs[i];
	g->noutputs = keep;
	if (!keep)
		return ir_errorf(e, "%s: the %s entry has no outputs", g->name, pass_entry_name(o->entry, o->optimizer));
	return 0;
}
