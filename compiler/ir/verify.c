/*
** verify.c -- the IR verifier: every structural invariant a pass may rely
** on. It runs after every pass that changes the graph.
*/
#include "ir.h"

#include <string.h>

/* Check that names of inputs, parameters and buffers are unique. */
static int unique_names(const Graph *g, Err *e)
{
	for (int i = 0; i < g->nnodes; i++) {
		const Node *a = g->nodes[i];
		if (!(ir_ops[a->op].attrs & A_NAME))
			continue;
		for (int j = 0; j < i; j++) {
			const Node *b = g->nodes[j];
			if ((ir_ops[b->op].attrs & A_NAME) && !strcmp(a->a.name, b->a.name))
				return ir_errorf(e, "verify: %%%d and %%%d are both named \"%s\"", j, i, a->a.name);
		}
	}
	return 0;
}

/* Check dropout streams: dropouts that share a stream draw the same mask,
** which is only meant for a dropout and its gradient (autodiff applies the
** forward mask to dy), so they must agree on p, mode and shape. */
static int check_streams(const Graph *g, Err *e)
{
	for (int i = 0; i < g->nnodes; i++) {
		const Node *a = g->nodes[i];
		if (a->op != OP_DROPOUT)
			continue;
		for (int j = 0; j < i; j++) {
			const Node *b = g->nodes[j];
			if (b->op == OP_DROPOUT && b->a.stream == a->a.stream &&
			    (b->a.p != a->a.p || b->a.mode != a->a.mode || !ir_shape_eq(&a->shape, &b->shape)))
				return ir_errorf(e, "verify: dropouts %%%d and %%%d share stream %d but differ in p, mode or shape",
				                 j, i, a->a.stream);
		}
	}
	return 0;
}

/* Check the write-backs: an assign copies its value into a parameter,
** buffer or state where it stands, so nothing after it may read the old
** value, and a destination is written once. */
static int check_assigns(const Graph *g, Err *e)
{
	for (int i = 0; i < g->nnodes; i++) {
		const Node *a = g->nodes[i];
		if (a->op != OP_ASSIGN)
			continue;
		for (int j = i + 1; j < g->nnodes; j++)
			for (int k = 0; k < g->nodes[j]->nin; k++)
				if (g->nodes[j]->in[k] == a->in[0])
					return ir_errorf(e, "verify: %%%d reads %s after %%%d has overwritten it", j,
					                 g->nodes[a->in[0]]->a.name, i);
	}
	return 0;
}

/* Check one node: numbering, operand order, and a shape that re-infers. */
static int check_node(const Graph *g, int i, Err *e)
{
	const Node *nd = g->nodes[i];
	if (nd->id != i)
		return ir_errorf(e, "verify: node at position %d has id %d", i, nd->id);
	if (nd->op < 0 || nd->op >= OP_COUNT)
		return ir_errorf(e, "verify: %%%d has no valid op", i);
	if (nd->dead)
		return ir_errorf(e, "verify: %%%d is marked dead but still in the graph", i);
	Node copy = *nd;
	Err se = {0};
	if (ir_infer_node((Graph *)g, &copy, &se))
		return ir_errorf(e, "verify: %s", se.msg);
	if (!ir_shape_eq(&copy.shape, &nd->shape)) {
		char a[128], b[128];
		return ir_errorf(e, "verify: %%%d %s has type %s but its operands give %s", i,
		                 ir_ops[nd->op].name, ir_fmt_type(a, sizeof a, nd->dtype, &nd->shape),
		                 ir_fmt_type(b, sizeof b, copy.dtype, &copy.shape));
	}
	return 0;
}

/* Check the whole graph; the first violation goes in e. */
int ir_verify(const Graph *g, Err *e)
{
	for (int i = 0; i < g->nnodes; i++)
		if (check_node(g, i, e))
			return -1;
	for (int i = 0; i < g->noutputs; i++) {
		int id = g->outputs[i].node;
		if (id < 0 || id >= g->nnodes)
			return ir_errorf(e, "verify: output \"%s\" refers to a missing node", g->outputs[i].name);
		for (int j = 0; j < i; j++)
			if (!strcmp(g->outputs[i].name, g->outputs[j].name))
				return ir_errorf(e, "verify: two outputs named \"%s\"", g->outputs[i].name);
	}
	return unique_names(g, e) || check_streams(g, e) || check_assigns(g, e) ? -1 : 0;
}
