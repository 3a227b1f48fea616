/*
** autodiff.c -- reverse-mode differentiation of the loss.
**   requires: a verified graph with an output named "loss" of type f32[1],
**             modes already specialised for training (pass mode).
**   keeps:    every forward node, unchanged and in place.
**   breaks:   nothing; appends the backward nodes and, for every parameter
**             the loss depends on, an output "grad.<name>" holding its
**             gradient (the update pass consumes them).
** One reverse walk, one case per op; a value used several times sums the
** gradients of its uses (MIFA's shared dense is used three times).
*/
#include "passes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct Ad {
	Graph *g;
	int *grad;         /* gradient node of each forward node, or -1 */
	char *needs;       /* 1 if the forward node depends on a parameter */
	const char *loc;   /* location of the node being differentiated */
	Err *e;
} Ad;

/* Append a node, infer its shape; any failure is a bug in a backward rule. */
static int mk(Ad *ad, Op op, int nin, const int *in, const Attrs *a)
{
	if (ad->e->set)
		return -1;
	Node *nd = ir_add(ad->g, op, nin, in, ad->loc);
	if (a)
		nd->a = *a;
	Err se = {0};
	if (ir_infer_node(ad->g, nd, &se)) {
		ir_errorf(ad->e, "autodiff: internal error: %s", se.msg);
		return -1;
	}
	return nd->id;
}

/* Unary and binary shorthands. */
static int un(Ad *ad, Op op, int x) { return mk(ad, op, 1, &x, NULL); }
static int bin(Ad *ad, Op op, int x, int y) { int in[2] = {x, y}; return mk(ad, op, 2, in, NULL); }

/* A node with only a shape attribute. */
static int shaped(Ad *ad, Op op, int x, const Shape *s)
{
	Attrs a = {0};
	a.shape = *s;
	return mk(ad, op, 1, &x, &a);
}

/* A scalar constant [1]. */
static int scalar(Ad *ad, float v)
{
	if (ad->e->set)
		return -1;
	Node *nd = ir_add(ad->g, OP_CONST, 0, NULL, ad->loc);
	nd->shape = (Shape){1, {1}};
	nd->a.data = ir_alloc(&ad->g->arena, sizeof(float));
	nd->a.data[0] = v;
	return nd->id;
}

/* The shape of node id. */
static const Shape *shape_of(Ad *ad, int id)
{
	return &ad->g->nodes[id]->shape;
}

/* Sum dy down to the shape of operand x (undoing a broadcast), if needed. */
static int unbroadcast(Ad *ad, int dy, int x)
{
	if (ir_shape_eq(shape_of(ad, dy), shape_of(ad, x)))
		return dy;
	return shaped(ad, OP_SUMTO, dy, shape_of(ad, x));
}

/* Add g into the gradient of node id. */
static void accumulate(Ad *ad, int id, int g)
{
	if (g < 0 || !ad->needs[id])
		return;
	ad->grad[id] = ad->grad[id] < 0 ? g : bin(ad, OP_ADD, ad->grad[id], g);
}

/* [C] vector reshaped to broadcast against a rank-r [N,C,...] tensor. */
static int per_channel(Ad *ad, int v, int r)
{
	if (r == 2)
		return v;
	Shape s = {4, {1, shape_of(ad, v)->d[0], 1, 1}};
	return shaped(ad, OP_RESHAPE, v, &s);
}

/* Gradient of a batched [C] reduction: [N,C(,H,W)] summed to [C]. */
static int sum_channels(Ad *ad, int dy)
{
	const Shape *s = shape_of(ad, dy);
	if (s->rank == 2)
		return shaped(ad, OP_SUMTO, dy, &(Shape){1, {s->d[1]}});
	int t = shaped(ad, OP_SUMTO, dy, &(Shape){4, {1, s->d[1], 1, 1}});
	return shaped(ad, OP_RESHAPE, t, &(Shape){1, {s->d[1]}});
}

/* conv2d: x, w, optional b. */
static void d_conv(Ad *ad, const Node *nd, int dy)
{
	Attrs a = nd->a;
	int x = nd->in[0], w = nd->in[1];
	if (ad->needs[x]) {
		a.shape = *shape_of(ad, x);
		accumulate(ad, x, mk(ad, OP_CONV2D_DX, 2, (int[]){dy, w}, &a));
	}
	if (ad->needs[w]) {
		a.shape = *shape_of(ad, w);
		accumulate(ad, w, mk(ad, OP_CONV2D_DW, 2, (int[]){x, dy}, &a));
	}
	if (nd->nin == 3)
		accumulate(ad, nd->in[2], sum_channels(ad, dy));
}

/* dense: y = x wᵀ + b. */
static void d_dense(Ad *ad, const Node *nd, int dy)
{
	int x = nd->in[0], w = nd->in[1];
	if (ad->needs[x])
		accumulate(ad, x, bin(ad, OP_MATMUL, dy, w));
	if (ad->needs[w])
		accumulate(ad, w, bin(ad, OP_MATMUL_TN, dy, x));
	if (nd->nin == 3)
		accumulate(ad, nd->in[2], shaped(ad, OP_SUMTO, dy, shape_of(ad, nd->in[2])));
}

/* Elementwise arithmetic with broadcasting. */
static void d_arith(Ad *ad, const Node *nd, int dy)
{
	int a = nd->in[0], b = nd->in[1];
	switch (nd->op) {
	case OP_ADD:
		accumulate(ad, a, ad->needs[a] ? unbroadcast(ad, dy, a) : -1);
		accumulate(ad, b, ad->needs[b] ? unbroadcast(ad, dy, b) : -1);
		break;
	case OP_SUB:
		accumulate(ad, a, ad->needs[a] ? unbroadcast(ad, dy, a) : -1);
		accumulate(ad, b, ad->needs[b] ? unbroadcast(ad, un(ad, OP_NEG, dy), b) : -1);
		break;
	case OP_MUL:
		accumulate(ad, a, ad->needs[a] ? unbroadcast(ad, bin(ad, OP_MUL, dy, b), a) : -1);
		accumulate(ad, b, ad->needs[b] ? unbroadcast(ad, bin(ad, OP_MUL, dy, a), b) : -1);
		break;
	default: /* div: y = a / b; da = dy / b; db = -dy y / b */
		accumulate(ad, a, ad->needs[a] ? unbroadcast(ad, bin(ad, OP_DIV, dy, b), a) : -1);
		if (ad->needs[b]) {
			int t = bin(ad, OP_MUL, dy, bin(ad, OP_DIV, nd->id, b));
			accumulate(ad, b, unbroadcast(ad, un(ad, OP_NEG, t), b));
		}
	}
}

/* Unary elementwise functions, written with the result y where cheaper. */
static void d_unary(Ad *ad, const Node *nd, int dy)
{
	int x = nd->in[0], y = nd->id, g = -1;
	switch (nd->op) {
	case OP_NEG: g = un(ad, OP_NEG, dy); break;
	case OP_RELU: g = bin(ad, OP_RELU_DX, x, dy); break;
	case OP_SIGMOID: g = bin(ad, OP_MUL, dy, bin(ad, OP_MUL, y, bin(ad, OP_SUB, scalar(ad, 1), y))); break;
	case OP_TANH: g = bin(ad, OP_MUL, dy, bin(ad, OP_SUB, scalar(ad, 1), bin(ad, OP_MUL, y, y))); break;
	case OP_EXP: g = bin(ad, OP_MUL, dy, y); break;
	case OP_LOG: g = bin(ad, OP_DIV, dy, x); break;
	case OP_SQRT: g = bin(ad, OP_DIV, dy, bin(ad, OP_MUL, scalar(ad, 2), y)); break;
	default: break;
	}
	accumulate(ad, x, g);
}

/* gavg: spread dy evenly; gmax/gmin: route dy to the selected element. */
static void d_global(Ad *ad, const Node *nd, int dy)
{
	int x = nd->in[0];
	const Shape *xs = shape_of(ad, x);
	if (nd->op != OP_GAVG) {
		accumulate(ad, x, mk(ad, OP_GSEL_DX, 3, (int[]){x, nd->id, dy}, NULL));
		return;
	}
	int t = dy;
	if (!nd->a.keepdims)
		t = shaped(ad, OP_RESHAPE, dy, &(Shape){4, {xs->d[0], xs->d[1], 1, 1}});
	t = shaped(ad, OP_BROADCAST, t, xs);
	accumulate(ad, x, bin(ad, OP_MUL, t, scalar(ad, 1.0f / (float)(xs->d[2] * xs->d[3]))));
}

/* Pools. */
static void d_pool(Ad *ad, const Node *nd, int dy)
{
	int x = nd->in[0];
	Attrs a = nd->a;
	if (nd->op == OP_MAXPOOL) {
		accumulate(ad, x, mk(ad, OP_MAXPOOL_DX, 2, (int[]){x, dy}, &a));
		return;
	}
	a.shape = *shape_of(ad, x);
	accumulate(ad, x, mk(ad, OP_AVGPOOL_DX, 1, &dy, &a));
}

/* Batch norm with batch statistics: dedicated ops; with running
** statistics it is an affine map per channel, written with ordinary ops. */
static void d_batchnorm(Ad *ad, const Node *nd, int dy)
{
	int x = nd->in[0], gamma = nd->in[1], beta = nd->in[2], mean = nd->in[3], var = nd->in[4];
	int r = shape_of(ad, x)->rank;
	Attrs a = {0};
	a.eps = nd->a.eps;
	accumulate(ad, beta, ad->needs[beta] ? sum_channels(ad, dy) : -1);
	if (nd->a.mode == MODE_BATCH) {
		if (ad->needs[x])
			accumulate(ad, x, mk(ad, OP_BN_DX, 3, (int[]){x, gamma, dy}, &a));
		if (ad->needs[gamma])
			accumulate(ad, gamma, mk(ad, OP_BN_DGAMMA, 2, (int[]){x, dy}, &a));
		return;
	}
	int inv = bin(ad, OP_DIV, scalar(ad, 1), un(ad, OP_SQRT, bin(ad, OP_ADD, var, scalar(ad, nd->a.eps))));
	if (ad->needs[x])
		accumulate(ad, x, bin(ad, OP_MUL, dy, per_channel(ad, bin(ad, OP_MUL, gamma, inv), r)));
	if (ad->needs[gamma]) {
		int xhat = bin(ad, OP_MUL, bin(ad, OP_SUB, x, per_channel(ad, mean, r)), per_channel(ad, inv, r));
		accumulate(ad, gamma, sum_channels(ad, bin(ad, OP_MUL, dy, xhat)));
	}
}

/* concat: each operand gets its slice of dy. */
static void d_concat(Ad *ad, const Node *nd, int dy)
{
	int64_t start = 0;
	for (int k = 0; k < nd->nin; k++) {
		int x = nd->in[k];
		Attrs a = {0};
		a.axis = nd->a.axis;
		a.start = start;
		a.shape = *shape_of(ad, x);
		start += a.shape.d[a.axis];
		if (ad->needs[x])
			accumulate(ad, x, mk(ad, OP_SLICE, 1, &dy, &a));
	}
}

/* Differentiate one forward node whose gradient is dy. */
static void backward(Ad *ad, const Node *nd, int dy)
{
	int x = nd->nin ? nd->in[0] : -1;
	Attrs a = nd->a;
	switch (nd->op) {
	case OP_CONV2D: d_conv(ad, nd, dy); break;
	case OP_DENSE: d_dense(ad, nd, dy); break;
	case OP_MATMUL:
		accumulate(ad, x, ad->needs[x] ? bin(ad, OP_MATMUL_NT, dy, nd->in[1]) : -1);
		accumulate(ad, nd->in[1], ad->needs[nd->in[1]] ? bin(ad, OP_MATMUL_TN, x, dy) : -1);
		break;
	case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: d_arith(ad, nd, dy); break;
	case OP_NEG: case OP_RELU: case OP_SIGMOID: case OP_TANH: case OP_EXP: case OP_LOG: case OP_SQRT:
		d_unary(ad, nd, dy);
		break;
	case OP_GAVG: case OP_GMAX: case OP_GMIN: d_global(ad, nd, dy); break;
	case OP_MAXPOOL: case OP_AVGPOOL: d_pool(ad, nd, dy); break;
	case OP_BATCHNORM: d_batchnorm(ad, nd, dy); break;
	case OP_CONCAT: d_concat(ad, nd, dy); break;
	case OP_RESHAPE: accumulate(ad, x, shaped(ad, OP_RESHAPE, dy, shape_of(ad, x))); break;
	case OP_SOFTMAX: accumulate(ad, x, bin(ad, OP_SOFTMAX_DX, nd->id, dy)); break;
	case OP_LOGSOFTMAX: accumulate(ad, x, bin(ad, OP_LOGSOFTMAX_DX, nd->id, dy)); break;
	case OP_DROPOUT: /* the same mask, regenerated from the same stream */
		accumulate(ad, x, mk(ad, OP_DROPOUT, 1, &dy, &a));
		break;
	case OP_XENT:
		accumulate(ad, x, mk(ad, OP_XENT_DX, 3, (int[]){x, nd->in[1], dy}, &a));
		break;
	case OP_BMEAN:
		accumulate(ad, x, shaped(ad, OP_BMEAN_DX, dy, shape_of(ad, x)));
		break;
	default:
		ir_errorf(ad->e, "%s: autodiff: %s has no backward rule", nd->loc ? nd->loc : "?", ir_ops[nd->op].name);
	}
}

/* Mark the nodes that depend on a trainable parameter. */
static void mark_needs(Ad *ad)
{
	Graph *g = ad->g;
	for (int i = 0; i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		ad->needs[i] = nd->op == OP_PARAM;
		for (int k = 0; k < nd->nin; k++)
			ad->needs[i] |= ad->needs[nd->in[k]];
	}
}

/* The node of the output named name, or -1. */
static int output_node(const Graph *g, const char *name)
{
	for (int i = 0; i < g->noutputs; i++)
		if (!strcmp(g->outputs[i].name, name))
			return g->outputs[i].node;
	return -1;
}

/* Append the backward graph of the loss and a grad.<name> output per parameter. */
int pass_autodiff(Graph *g, const PassOpts *o, Err *e)
{
	int loss = output_node(g, "loss");
	if (loss < 0)
		return ir_errorf(e, "%s: training needs a loss: the model defines none (see loss() in docs/model-language.md)",
		                 g->name);
	const Shape *ls = &g->nodes[loss]->shape;
	if (ls->rank != 1 || ls->d[0] != 1)
		return ir_errorf(e, "%s: the loss must be a single number, got a tensor", g->nodes[loss]->loc ? g->nodes[loss]->loc : g->name);
	int nfwd = g->nnodes;
	Ad ad = {g, malloc(sizeof(int) * (size_t)nfwd), calloc((size_t)nfwd, 1), NULL, e};
	if (!ad.grad || !ad.needs) {
		free(ad.grad), free(ad.needs);
		return ir_errorf(e, "autodiff: out of memory");
	}
	for (int i = 0; i < nfwd; i++)
		ad.grad[i] = -1;
	mark_needs(&ad);
	ad.loc = g->nodes[loss]->loc;
	ad.grad[loss] = scalar(&ad, 1);
	for (int i = loss; i >= 0 && !e->set; i--) {
		const Node *nd = g->nodes[i];
		if (ad.grad[i] < 0 || nd->op == OP_PARAM || !ad.needs[i])
			continue;
		ad.loc = nd->loc;
		backward(&ad, nd, ad.grad[i]);
	}
	for (int i = 0; i < nfwd && !e->set; i++) {
		const Node *nd = g->nodes[i];
		if (nd->op != OP_PARAM || ad.grad[i] < 0)
			continue;
		ir_add_output(g, ir_strcat(&g->arena, "grad.", nd->a.name), ad.grad[i]);
	}
	free(ad.grad), free(ad.needs);
	return e->set ? -1 : 0;
}
