/*
** kernels.c -- which emitter builds each op's kernel: one table indexed by
** Op, checked against the op table (size at compile time, completeness at
** run time), the rule for which nodes get a kernel at all, and the key
** that tells when two nodes can share one kernel function.
*/
#include "cg.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* NULL only for sources that live in the arena as they are (filled by the
** runtime): input, param, buffer, state. */
static const Emitter emitters[] = {
	[OP_INPUT] = NULL,
	[OP_PARAM] = NULL,
	[OP_BUFFER] = NULL,
	[OP_CONST] = cg_const,
	[OP_CONV2D] = cg_conv2d,
	[OP_DENSE] = cg_dense,
	[OP_MATMUL] = cg_matmul,
	[OP_ADD] = cg_binary,
	[OP_SUB] = cg_binary,
	[OP_MUL] = cg_binary,
	[OP_DIV] = cg_binary,
	[OP_NEG] = cg_unary,
	[OP_RELU] = cg_unary,
	[OP_SIGMOID] = cg_unary,
	[OP_TANH] = cg_unary,
	[OP_EXP] = cg_unary,
	[OP_LOG] = cg_unary,
	[OP_GAVG] = cg_global,
	[OP_GMAX] = cg_global,
	[OP_GMIN] = cg_global,
	[OP_MAXPOOL] = cg_pool,
	[OP_AVGPOOL] = cg_pool,
	[OP_BATCHNORM] = cg_batchnorm,
	[OP_CONCAT] = cg_concat,
	[OP_RESHAPE] = cg_copy,
	[OP_SOFTMAX] = cg_softmax,
	[OP_LOGSOFTMAX] = cg_softmax,
	[OP_DROPOUT] = cg_dropout,
	[OP_SUMTO] = cg_sumto,
	[OP_BROADCAST] = cg_broadcast,
	[OP_CONV2D_DX] = cg_conv2d_dx,
	[OP_CONV2D_DW] = cg_conv2d_dw,
	[OP_MATMUL_NT] = cg_matmul_nt,
	[OP_MATMUL_TN] = cg_matmul_tn,
	[OP_RELU_DX] = cg_binary,
	[OP_GSEL_DX] = cg_gsel_dx,
	[OP_MAXPOOL_DX] = cg_maxpool_dx,
	[OP_AVGPOOL_DX] = cg_avgpool_dx,
	[OP_BN_DX] = cg_bn_grad,
	[OP_BN_DGAMMA] = cg_bn_grad,
	[OP_BN_MEAN] = cg_bn_grad,
	[OP_BN_VAR] = cg_bn_grad,
	[OP_SLICE] = cg_slice,
	[OP_SOFTMAX_DX] = cg_softmax_dx,
	[OP_LOGSOFTMAX_DX] = cg_softmax_dx,
	[OP_XENT] = cg_xent,
	[OP_XENT_DX] = cg_xent,
	[OP_BMEAN] = cg_bmean,
	[OP_BMEAN_DX] = cg_bmean_dx,
	[OP_SQRT] = cg_unary,
	[OP_MINIMUM] = cg_binary,
	[OP_STATE] = NULL,
	[OP_ASSIGN] = cg_assign,
};
_Static_assert(sizeof emitters / sizeof emitters[0] == OP_COUNT, "codegen: an op has no emitter entry");

/* The emitter for op. */
Emitter cg_emitter(Op op)
{
	return op >= 0 && op < OP_COUNT ? emitters[op] : NULL;
}

/* Every op but input / param / buffer / state must have an emitter. */
int cg_check_table(Err *e)
{
	for (int op = 0; op < OP_COUNT; op++) {
		int bare = op == OP_INPUT || op == OP_PARAM || op == OP_BUFFER || op == OP_STATE;
		if (!bare && !emitters[op])
			return ir_errorf(e, "codegen: internal error: no emitter for op '%s'", ir_ops[op].name);
	}
	return 0;
}

/* A node gets a kernel unless it is dead, a source the runtime fills, a
** constant read in place, or a copy that the planner put on its operand. */
int cg_needs_kernel(const Cg *c, const Node *nd)
{
	if (nd->dead || !cg_emitter(nd->op))
		return 0;
	if (nd->op == OP_CONST)
		return c->p->off[nd->id] >= 0;
	return !(cg_is_copy(nd) && cg_same_storage(c, nd->id, nd->in[0]));
}

/* "loc: codegen: op: message" (or "%id: ..." without a location). */
int cg_fail(Cg *c, const Node *nd, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (nd->loc)
		return ir_errorf(c->e, "%s: codegen: %s: %s", nd->loc, ir_ops[nd->op].name, why);
	return ir_errorf(c->e, "%%%d: codegen: %s: %s", nd->id, ir_ops[nd->op].name, why);
}

/* ---- kernel keys ---- */

/* Append len bytes to k (CG_KEY_MAX bounds every key; see cg.h). */
static void put(Key *k, const void *p, size_t len)
{
	memcpy(k->b + k->n, p, len);
	k->n += len;
}

static void put_i32(Key *k, int32_t v)
{
	put(k, &v, sizeof v);
}

static void put_i64(Key *k, int64_t v)
{
	put(k, &v, sizeof v);
}

/* A float by its bits (so -0 and 0, or two NaNs, are told apart). */
static void put_f32(Key *k, float v)
{
	put(k, &v, sizeof v);
}

static void put_shape(Key *k, const Shape *s)
{
	put_i32(k, s->rank);
	for (int i = 0; i < s->rank; i++)
		put_i64(k, s->d[i]);
}

/* Every attribute but the name and the constant data (whose identity is
** the global's number): CG_KEY_ATTRS bytes at most. */
_Static_assert(sizeof(Attrs) == 176, "Attrs changed: add the new field to the kernel key (attrs_key)");
static void attrs_key(Key *k, const Attrs *a)
{
	put_i32(k, a->init);
	for (int i = 0; i < 2; i++) {
		put_i64(k, a->stride[i]);
		put_i64(k, a->pad[i]);
		put_i64(k, a->kernel[i]);
	}
	put_i32(k, a->keepdims);
	put_i32(k, a->mode);
	put_f32(k, a->eps);
	put_f32(k, a->momentum);
	put_f32(k, a->p);
	put_i32(k, a->axis);
	put_i32(k, a->stream);
	put_i64(k, a->start);
	put_f32(k, a->smoothing);
	put_shape(k, &a->shape);
}

/* The result's and each operand's dtype (and shape, when shapes is set)
** and where it lives (its slot, or the constant global read in place);
** then the number of slots and which are noalias. */
static void operands_key(const Cg *c, const Node *nd, Key *k, int shapes)
{
	for (int i = -1; i < nd->nin; i++) {
		int id = i < 0 ? nd->id : nd->in[i], s = cg_slot_of(c, id);
		const Node *v = c->g->nodes[id];
		put_i32(k, v->dtype);
		if (shapes)
			put_shape(k, &v->shape);
		put_i32(k, s);
		put_i32(k, s < 0 ? c->constn[cg_home(c, id)] : -1);
	}
	put_i32(k, c->nslot);
	for (int s = 0; s < c->nslot; s++) {
		unsigned char na = (unsigned char)cg_slot_noalias(c, s);
		put(k, &na, 1);
	}
}

int cg_sizes(const Cg *c, const Node *nd, int64_t par[CG_MAXPARAM], int64_t form[3])
{
	Flat f;
	form[0] = form[1] = form[2] = 0;
	if (cg_flat(c, nd, &f)) {
		par[0] = f.ext;
		form[0] = f.batched, form[1] = f.st[0], form[2] = f.st[1];
		return 1;
	}
	if (cg_channels(c, nd, par)) {
		form[0] = par[2] == 0;
		return 3;
	}
	const Shape *xs = nd->nin ? &c->g->nodes[nd->in[0]]->shape : &nd->shape;
	switch (nd->op) {
	case OP_GAVG: case OP_GMAX: case OP_GMIN:
		if (xs->rank < 2)
			return 0;
		par[0] = ir_batched(xs) ? xs->d[1] : xs->d[0] * xs->d[1];   /* planes, per sample when batched */
		par[1] = 1;                                                 /* elements per plane */
		for (int i = 2; i < xs->rank; i++)
			par[1] *= xs->d[i];
		form[0] = ir_batched(xs);
		return 2;
	case OP_DROPOUT:
		if (nd->a.mode == MODE_OFF)
			return 0;
		par[0] = ir_numel(&nd->shape, 1);   /* per sample when batched */
		par[1] = nd->a.stream;
		form[0] = ir_batched(&nd->shape);
		return 2;
	default:
		return 0;
	}
}

/* The key of nd's kernel: for a kernel whose sizes are parameters
** (cg_sizes), its op, attributes but a dropout's stream, the form of its
** loops, the split, and the operands' dtypes and slots; else its op,
** operand count and attributes, its constant's global for a const; the
** dtype and shape of its result and of each operand, and where each lives
** (which slot, or which constant global read in place); the number of
** slots and which of them are noalias. That is everything an emitter
** reads, so equal keys build identical functions. c->slot must hold nd's
** slots (cg_slots). */
void cg_kernel_key(const Cg *c, const Node *nd, Key *k)
{
	k->n = 0;
	int64_t par[CG_MAXPARAM], form[3];
	if (cg_sizes(c, nd, par, form)) {   /* sizes (and a dropout's stream) are parameters */
		Attrs a = nd->a;
		a.stream = 0;
		put_i32(k, nd->op);
		put_i32(k, -2);
		put_i32(k, nd->nin);
		attrs_key(k, &a);
		for (int i = 0; i < 3; i++)
			put_i64(k, form[i]);
		put_i32(k, kern_schedule(c->g, nd, &c->tgt).split);
		operands_key(c, nd, k, 0);
		return;
	}
	put_i32(k, nd->op);
	put_i32(k, nd->nin);
	attrs_key(k, &nd->a);
	put_i32(k, nd->op == OP_CONST ? c->constn[nd->id] : -1);
	operands_key(c, nd, k, 1);
}
