/*
** stats.c -- the numbers `lunac stats` reports: trainable parameters and
** multiply-accumulates per sample.
*/
#include "ir.h"

/* Elements of every trainable parameter. */
int64_t ir_param_count(const Graph *g)
{
	int64_t k = 0;
	for (int i = 0; i < g->nnodes; i++)
		if (g->nodes[i]->op == OP_PARAM)
			k += ir_numel(&g->nodes[i]->shape, 1);
	return k;
}

/* Elements of every buffer (batch-norm running statistics). */
int64_t ir_buffer_count(const Graph *g)
{
	int64_t k = 0;
	for (int i = 0; i < g->nnodes; i++)
		if (g->nodes[i]->op == OP_BUFFER)
			k += ir_numel(&g->nodes[i]->shape, 1);
	return k;
}

/* Multiply-accumulates of one node for one sample (N = 1): the products in
** convolutions, dense layers and matrix products. Elementwise work is not
** counted, as is usual for MAC figures. */
static int64_t node_macs(const Graph *g, const Node *nd)
{
	const Shape *o = &nd->shape;
	switch (nd->op) {
	case OP_CONV2D: {
		const Shape *w = &g->nodes[nd->in[1]]->shape;
		return ir_numel(o, 1) * w->d[1] * w->d[2] * w->d[3];
	}
	case OP_DENSE:
		return ir_numel(o, 1) * g->nodes[nd->in[1]]->shape.d[1];
	case OP_MATMUL:
		return ir_numel(o, 1) * g->nodes[nd->in[1]]->shape.d[0];
	default:
		return 0;
	}
}

/* Multiply-accumulates per sample over the whole graph. */
int64_t ir_macs(const Graph *g)
{
	int64_t k = 0;
	for (int i = 0; i < g->nnodes; i++)
		k += node_macs(g, g->nodes[i]);
	return k;
}
