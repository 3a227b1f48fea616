/*
** update.c -- the optimizer step as IR: gradient clipping by global norm,
** then SGD with momentum and weight decay, or Adam / AdamW.
**   requires: autodiff's "grad.<name>" outputs.
**   keeps:    every existing node.
**   breaks:   removes the grad.* outputs; appends optimizer state
**             (`state "opt.m.<name>"`, `state "opt.v.<name>"`), the
**             hyper-parameter inputs (`input "hyper.lr" : f32[1]`, ...) that
**             the runtime fills before each step, and one `assign` per
**             parameter and state, which write back when the step ends.
** Adam and AdamW share one entry: the runtime sets hyper.wd_l2 (Adam's L2
** penalty added to the gradient) or hyper.wd_dec (AdamW's decoupled decay).
*/
#include "passes.h"

#include <stdio.h>
#include <string.h>

typedef struct Up {
	Graph *g;
	Err *e;
	int *src, nsrc;     /* the graph's inputs and states: those source() looks through */
} Up;

/* Append a node and infer its shape; failure is an internal error. */
static int mk(Up *u, Op op, int x, int y)
{
	if (u->e->set)
		return -1;
	int in[2] = {x, y};
	Node *nd = ir_add(u->g, op, y < 0 ? 1 : 2, in, NULL);
	Err se = {0};
	if (ir_infer_node(u->g, nd, &se))
		return ir_errorf(u->e, "update: internal error: %s", se.msg);
	return nd->id;
}

/* A named source: hyper-parameter input or optimizer state, the one the
** graph has or a new one. Only inputs and states are searched (u->src),
** not every node: a full scan per lookup was a quarter second of a
** DRIFA-Net build. */
static int source(Up *u, Op op, const char *prefix, const char *name, const Shape *s)
{
	const char *full = ir_strcat(&u->g->arena, prefix, name);
	for (int i = 0; i < u->nsrc; i++) {
		const Node *nd = u->g->nodes[u->src[i]];
		if (nd->op == op && !strcmp(nd->a.name, full))
			return nd->id;
	}
	Node *nd = ir_add(u->g, op, 0, NULL, NULL);
	nd->a.name = full;
	nd->a.init = INIT_ZEROS;
	nd->shape = *s;
	u->src[u->nsrc++] = nd->id;
	return nd->id;
}

/* The hyper-parameter input hyper.<name>, a [1] value. */
static int hyper(Up *u, const char *name)
{
	static const Shape one = {1, {1}};
	return source(u, OP_INPUT, "hyper.", name, &one);
}

/* A [1] constant. */
static int scalar(Up *u, float v)
{
	Node *nd = ir_add(u->g, OP_CONST, 0, NULL, NULL);
	nd->shape = (Shape){1, {1}};
	nd->a.data = ir_alloc(&u->g->arena, sizeof(float));
	nd->a.data[0] = v;
	return nd->id;
}

/* Clip every gradient by the global norm: g * min(1, clip / (|g| + tiny)). */
static void clip(Up *u, int *grads, int n)
{
	int norm2 = -1;
	static const Shape one = {1, {1}};
	for (int i = 0; i < n; i++) {
		Node *s = ir_add(u->g, OP_SUMTO, 1, (int[]){mk(u, OP_MUL, grads[i], grads[i])}, NULL);
		s->a.shape = one;
		Err se = {0};
		if (ir_infer_node(u->g, s, &se)) {
			ir_errorf(u->e, "update: internal error: %s", se.msg);
			return;
		}
		norm2 = norm2 < 0 ? s->id : mk(u, OP_ADD, norm2, s->id);
	}
	int norm = mk(u, OP_ADD, mk(u, OP_SQRT, norm2, -1), scalar(u, 1e-12f));
	int scale = mk(u, OP_MINIMUM, scalar(u, 1), mk(u, OP_DIV, hyper(u, "clip"), norm));
	for (int i = 0; i < n; i++)
		grads[i] = mk(u, OP_MUL, grads[i], scale);
}

/* Write value into the source dst when the step ends. */
static void assign(Up *u, int dst, int value)
{
	mk(u, OP_ASSIGN, dst, value);
}

/* SGD with momentum: v' = mu v + g + wd p; p' = p - lr v'. */
static void sgd(Up *u, int p, int g)
{
	const Node *pn = u->g->nodes[p];
	int v = source(u, OP_STATE, "opt.v.", pn->a.name, &pn->shape);
	int v2 = mk(u, OP_ADD, mk(u, OP_ADD, mk(u, OP_MUL, hyper(u, "momentum"), v), g),
	            mk(u, OP_MUL, hyper(u, "wd"), p));
	assign(u, v, v2);
	assign(u, p, mk(u, OP_SUB, p, mk(u, OP_MUL, hyper(u, "lr"), v2)));
}

/* Adam(W): g2 = g + wd_l2 p; m' = b1 m + (1-b1) g2; v' = b2 v + (1-b2) g2²;
** p' = p - lr ((m' ibc1) / (sqrt(v' ibc2) + eps) + wd_dec p), with ibc
** the bias corrections 1/(1 - b^t) the runtime computes for step t. */
static void adam(Up *u, int p, int g)
{
	const Node *pn = u->g->nodes[p];
	int m = source(u, OP_STATE, "opt.m.", pn->a.name, &pn->shape);
	int v = source(u, OP_STATE, "opt.v.", pn->a.name, &pn->shape);
	int b1 = hyper(u, "b1"), b2 = hyper(u, "b2"), one = scalar(u, 1);
	int g2 = mk(u, OP_ADD, g, mk(u, OP_MUL, hyper(u, "wd_l2"), p));
	int m2 = mk(u, OP_ADD, mk(u, OP_MUL, b1, m), mk(u, OP_MUL, mk(u, OP_SUB, one, b1), g2));
	int v2 = mk(u, OP_ADD, mk(u, OP_MUL, b2, v), mk(u, OP_MUL, mk(u, OP_SUB, one, b2), mk(u, OP_MUL, g2, g2)));
	int den = mk(u, OP_ADD, mk(u, OP_SQRT, mk(u, OP_MUL, v2, hyper(u, "ibc2")), -1), hyper(u, "eps"));
	int step = mk(u, OP_DIV, mk(u, OP_MUL, m2, hyper(u, "ibc1")), den);
	step = mk(u, OP_ADD, step, mk(u, OP_MUL, hyper(u, "wd_dec"), p));
	assign(u, m, m2);
	assign(u, v, v2);
	assign(u, p, mk(u, OP_SUB, p, mk(u, OP_MUL, hyper(u, "lr"), step)));
}

/* Replace the grad.* outputs by clipping and the optimizer's update. */
int pass_update(Graph *g, const PassOpts *o, Err *e)
{
	Up u = {g, e, NULL, 0};
	int n = 0, keep = 0;
	int *params = ir_alloc(&g->arena, sizeof(int) * (size_t)(g->noutputs + 1));
	int *grads = ir_alloc(&g->arena, sizeof(int) * (size_t)(g->noutputs + 1));
	for (int i = 0; i < g->noutputs; i++) {
		const char *name = g->outputs[i].name;
		if (strncmp(name, "grad.", 5)) {
			g->outputs[keep++] = g->outputs[i];
			continue;
		}
		params[n] = -1;
		for (int j = 0; j < g->nnodes; j++)
			if (g->nodes[j]->op == OP_PARAM && !strcmp(g->nodes[j]->a.name, name + 5))
				params[n] = j;
		if (params[n] < 0)
			return ir_errorf(e, "update: internal error: output \"%s\" is the gradient of no parameter", name);
		grads[n++] = g->outputs[i].node;
	}
	g->noutputs = keep;
	if (!n)
		return ir_errorf(e, "%s: nothing to train: the loss depends on no parameter", g->name);
	/* room for the inputs and states there are, two states per parameter and the hyper-parameters */
	u.src = ir_alloc(&g->arena, sizeof(int) * ((size_t)g->nnodes + 2 * (size_t)n + 64));
	for (int j = 0; j < g->nnodes; j++)
		if (g->nodes[j]->op == OP_INPUT || g->nodes[j]->op == OP_STATE)
			u.src[u.nsrc++] = j;
	clip(&u, grads, n);
	for (int i = 0; i < n && !e->set; i++) {
		if (o->optimizer == OPT_SGD)
			sgd(&u, params[i], grads[i]);
		else
			adam(&u, params[i], grads[i]);
	}
	return e->set ? -1 : 0;
}
