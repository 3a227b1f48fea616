/*
** shape_train.c -- shape rules of the training ops: gradients, losses,
** optimizer state and write-back (docs/ir.md, "Training ops").
*/
#include "shape_impl.h"

/* sumto: sum x down to a.shape, which must broadcast back to x. */
static int infer_sumto(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	const Shape *x = sh_arg(g, nd, 0), *t = &nd->a.shape;
	int ok = t->rank <= x->rank;
	for (int i = 0; ok && i < t->rank; i++) {
		int64_t dx = x->d[x->rank - t->rank + i], dt = t->d[i];
		ok = dt == dx || dt == 1;
	}
	if (!ok)
		return sh_fail(e, nd, "cannot sum %s down to %s", sh_fmt(b1, x), sh_fmt(b2, t));
	nd->shape = *t;
	return 0;
}

/* broadcast: expand x to a.shape. */
static int infer_broadcast_to(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	const Shape *x = sh_arg(g, nd, 0), *t = &nd->a.shape;
	Shape out;
	if (sh_broadcast(x, t, &out) || !ir_shape_eq(&out, t))
		return sh_fail(e, nd, "cannot broadcast %s to %s", sh_fmt(b1, x), sh_fmt(b2, t));
	nd->shape = *t;
	return 0;
}

/* conv2d_dx (dy, w) and conv2d_dw (x, dy): a.shape is the result, and a
** forward conv2d of x with w must give dy's shape. */
static int infer_conv_grad(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	int dx = nd->op == OP_CONV2D_DX;
	const Shape *x = dx ? &nd->a.shape : sh_arg(g, nd, 0);
	const Shape *w = dx ? sh_arg(g, nd, 1) : &nd->a.shape;
	const Shape *dy = sh_arg(g, nd, dx ? 0 : 1);
	Shape want;
	if (x->rank != 4 || w->rank != 4 || x->d[1] != w->d[1] ||
	    sh_conv_out(x, w->d[0], w->d[2], w->d[3], nd->a.stride, nd->a.pad, &want) || !ir_shape_eq(&want, dy))
		return sh_fail(e, nd, "gradient %s does not match a convolution of %s by %s", sh_fmt(b1, dy),
		               sh_fmt(b2, x), sh_fmt((char[128]){0}, w));
	nd->shape = nd->a.shape;
	return 0;
}

/* matmul_nt: a[M,P] bᵀ with b[K,P]; matmul_tn: aᵀ[K,M] b[M,P]. */
static int infer_matmul_t(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	const Shape *a = sh_arg(g, nd, 0), *b = sh_arg(g, nd, 1);
	int nt = nd->op == OP_MATMUL_NT;
	int ok = a->rank == 2 && b->rank == 2 && (nt ? a->d[1] == b->d[1] && b->d[0] != IR_N : a->d[0] == b->d[0]);
	if (!ok || (!nt && (a->d[1] == IR_N || b->d[1] == IR_N)))
		return sh_fail(e, nd, "cannot multiply %s and %s", sh_fmt(b1, a), sh_fmt(b2, b));
	nd->shape = nt ? (Shape){2, {a->d[0], b->d[0]}} : (Shape){2, {a->d[1], b->d[1]}};
	return 0;
}

/* Operands 0..k-1 must all have the same shape; the result has it too. */
static int infer_same(const Graph *g, Node *nd, int k, Err *e)
{
	char b1[128], b2[128];
	for (int i = 1; i < k; i++)
		if (!ir_shape_eq(sh_arg(g, nd, 0), sh_arg(g, nd, i)))
			return sh_fail(e, nd, "operands %s and %s must have the same shape", sh_fmt(b1, sh_arg(g, nd, 0)),
			               sh_fmt(b2, sh_arg(g, nd, i)));
	nd->shape = *sh_arg(g, nd, 0);
	return 0;
}

/* gsel_dx (x, y, dy): y and dy are x's global max/min, [N,C] or [N,C,1,1]. */
static int infer_gsel_dx(const Graph *g, Node *nd, Err *e)
{
	char b1[128];
	const Shape *x = sh_arg(g, nd, 0), *y = sh_arg(g, nd, 1);
	int ok = x->rank == 4 && ir_shape_eq(y, sh_arg(g, nd, 2)) &&
	         (y->rank == 2 || (y->rank == 4 && y->d[2] == 1 && y->d[3] == 1)) && y->d[0] == x->d[0] && y->d[1] == x->d[1];
	if (!ok)
		return sh_fail(e, nd, "%s is not a global reduction of %s", sh_fmt(b1, y), sh_fmt((char[128]){0}, x));
	nd->shape = *x;
	return 0;
}

/* maxpool_dx (x, dy) and avgpool_dx (dy) shape=x: pooling x gives dy. */
static int infer_pool_grad(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	int mx = nd->op == OP_MAXPOOL_DX;
	const Shape *x = mx ? sh_arg(g, nd, 0) : &nd->a.shape, *dy = sh_arg(g, nd, mx ? 1 : 0);
	Shape want;
	if (x->rank != 4 || sh_conv_out(x, x->d[1], nd->a.kernel[0], nd->a.kernel[1], nd->a.stride, nd->a.pad, &want) ||
	    !ir_shape_eq(&want, dy))
		return sh_fail(e, nd, "gradient %s does not match pooling %s", sh_fmt(b1, dy), sh_fmt(b2, x));
	nd->shape = *x;
	return 0;
}

/* bn_dx (x, gamma, dy); bn_dgamma (x, dy) -> [C]; bn_mean, bn_var (x) -> [C]. */
static int infer_bn_grad(const Graph *g, Node *nd, Err *e)
{
	char b1[128];
	const Shape *x = sh_arg(g, nd, 0);
	if (x->rank != 2 && x->rank != 4)
		return sh_fail(e, nd, "input must be [N,C] or [N,C,H,W], got %s", sh_fmt(b1, x));
	const Shape *dy = nd->op == OP_BN_DX ? sh_arg(g, nd, 2) : nd->op == OP_BN_DGAMMA ? sh_arg(g, nd, 1) : x;
	if (!ir_shape_eq(x, dy))
		return sh_fail(e, nd, "gradient %s must have the input's shape", sh_fmt(b1, dy));
	if (nd->op == OP_BN_DX) {
		const Shape *gm = sh_arg(g, nd, 1);
		if (gm->rank != 1 || gm->d[0] != x->d[1])
			return sh_fail(e, nd, "scale %s must be [%lld]", sh_fmt(b1, gm), (long long)x->d[1]);
		nd->shape = *x;
	} else {
		nd->shape = (Shape){1, {x->d[1]}};
	}
	return 0;
}

/* slice (x) axis start shape: a window of x along axis. */
static int infer_slice(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	const Shape *x = sh_arg(g, nd, 0), *t = &nd->a.shape;
	int ax = nd->a.axis, ok = t->rank == x->rank && ax >= 0 && ax < x->rank && x->d[ax] != IR_N;
	for (int i = 0; ok && i < x->rank; i++)
		ok = i == ax ? nd->a.start >= 0 && t->d[i] >= 1 && t->d[i] <= x->d[i] && nd->a.start <= x->d[i] - t->d[i] : t->d[i] == x->d[i];
	if (!ok)
		return sh_fail(e, nd, "cannot take %s at %lld along axis %d of %s", sh_fmt(b1, t), (long long)nd->a.start, ax,
		               sh_fmt(b2, x));
	nd->shape = *t;
	return 0;
}

/* xent (logits[N,K], labels i32[N]) -> [N]; xent_dx (logits, labels, dl[N]) -> [N,K]. */
static int infer_xent(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	const Shape *x = sh_arg(g, nd, 0), *y = sh_arg(g, nd, 1);
	if (x->rank != 2 || y->rank != 1 || y->d[0] != x->d[0])
		return sh_fail(e, nd, "logits %s and labels %s must be [N,K] and [N]", sh_fmt(b1, x), sh_fmt(b2, y));
	if (nd->op == OP_XENT_DX && !ir_shape_eq(y, sh_arg(g, nd, 2)))
		return sh_fail(e, nd, "loss gradient %s must be [N]", sh_fmt(b1, sh_arg(g, nd, 2)));
	nd->shape = nd->op == OP_XENT ? *y : *x;
	return 0;
}

/* bmean (x[N,...]) -> [...] ([1] for x[N]); bmean_dx (dy) shape=[N,...]. */
static int infer_bmean(const Graph *g, Node *nd, Err *e)
{
	char b1[128];
	const Shape *x = nd->op == OP_BMEAN ? sh_arg(g, nd, 0) : &nd->a.shape;
	if (!ir_batched(x))
		return sh_fail(e, nd, "%s has no batch dimension to average over", sh_fmt(b1, x));
	Shape m = {x->rank - 1, {0}};
	for (int i = 1; i < x->rank; i++)
		m.d[i - 1] = x->d[i];
	if (m.rank == 0)
		m = (Shape){1, {1}};
	if (nd->op == OP_BMEAN_DX) {
		if (!ir_shape_eq(&m, sh_arg(g, nd, 0)))
			return sh_fail(e, nd, "gradient %s is not a batch mean of %s", sh_fmt(b1, sh_arg(g, nd, 0)),
			               sh_fmt((char[128]){0}, x));
		m = *x;
	}
	nd->shape = m;
	return 0;
}

/* assign (dst, value): dst is a parameter, buffer or state of value's shape. */
static int infer_assign(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	const Node *d = g->nodes[nd->in[0]];
	if (d->op != OP_PARAM && d->op != OP_BUFFER && d->op != OP_STATE)
		return sh_fail(e, nd, "can only write to a parameter, buffer or state, not %%%d %s", d->id, ir_ops[d->op].name);
	if (!ir_shape_eq(&d->shape, sh_arg(g, nd, 1)))
		return sh_fail(e, nd, "value %s does not fit %s %s", sh_fmt(b1, sh_arg(g, nd, 1)), d->a.name, sh_fmt(b2, &d->shape));
	nd->shape = d->shape;
	return 0;
}

/* Shape rule of a training op; 1 if op is not one of them. */
int sh_infer_train(const Graph *g, Node *nd, Err *e)
{
	switch (nd->op) {
	case OP_SUMTO: return infer_sumto(g, nd, e);
	case OP_BROADCAST: return infer_broadcast_to(g, nd, e);
	case OP_CONV2D_DX: case OP_CONV2D_DW: return infer_conv_grad(g, nd, e);
	case OP_MATMUL_NT: case OP_MATMUL_TN: return infer_matmul_t(g, nd, e);
	case OP_RELU_DX: case OP_SOFTMAX_DX: case OP_LOGSOFTMAX_DX: return infer_same(g, nd, 2, e);
	case OP_GSEL_DX: return infer_gsel_dx(g, nd, e);
	case OP_MAXPOOL_DX: case OP_AVGPOOL_DX: return infer_pool_grad(g, nd, e);
	case OP_BN_DX: case OP_BN_DGAMMA: case OP_BN_MEAN: case OP_BN_VAR: return infer_bn_grad(g, nd, e);
	case OP_SLICE: return infer_slice(g, nd, e);
	case OP_XENT: case OP_XENT_DX: return infer_xent(g, nd, e);
	case OP_BMEAN: case OP_BMEAN_DX: return infer_bmean(g, nd, e);
	case OP_ASSIGN: return infer_assign(g, nd, e);
	default: return 1;
	}
}
