/*
** bnstats.c -- the running-statistics update of batch norm in training.
**   requires: modes specialised for training (batch norm in mode batch).
**   keeps:    every existing node.
**   breaks:   nothing; for each batch norm in mode batch appends
**             running = running + momentum * (batch statistic - running)
**             (PyTorch's convention; the variance is the unbiased one) and
**             an `assign` that writes it back when the step ends.
*/
#include "passes.h"

/* Append a node and infer its shape; failure is an internal error. */
static int mk(Graph *g, Op op, int x, int y, const char *loc, Err *e)
{
	if (e->set)
		return -1;
	int in[2] = {x, y};
	Node *nd = ir_add(g, op, y < 0 ? 1 : 2, in, loc);
	Err se = {0};
	if (ir_infer_node(g, nd, &se))
		return ir_errorf(e, "bnstats: internal error: %s", se.msg);
	return nd->id;
}

/* running += momentum * (stat - running); then assign. */
static void blend(Graph *g, int running, int stat, float momentum, const char *loc, Err *e)
{
	Node *m = ir_add(g, OP_CONST, 0, NULL, loc);
	m->shape = (Shape){1, {1}};
	m->a.data = ir_alloc(&g->arena, sizeof(float));
	m->a.data[0] = momentum;
	int d = mk(g, OP_SUB, stat, running, loc, e);
	int r2 = mk(g, OP_ADD, running, mk(g, OP_MUL, m->id, d, loc, e), loc, e);
	mk(g, OP_ASSIGN, running, r2, loc, e);
}

/* Append the running-statistics update of every batch norm in batch mode. */
int pass_bnstats(Graph *g, const PassOpts *o, Err *e)
{
	int n = g->nnodes;
	for (int i = 0; i < n && !e->set; i++) {
		const Node *nd = g->nodes[i];
		if (nd->op != OP_BATCHNORM || nd->a.mode != MODE_BATCH)
			continue;
		int x = nd->in[0];
		blend(g, nd->in[3], mk(g, OP_BN_MEAN, x, -1, nd->loc, e), nd->a.momentum, nd->loc, e);
		blend(g, nd->in[4], mk(g, OP_BN_VAR, x, -1, nd->loc, e), nd->a.momentum, nd->loc, e);
	}
	return e->set ? -1 : 0;
}
