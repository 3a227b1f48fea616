/*
** shape.c -- shape inference: one rule per op, from operand shapes and
** attributes to the node's result type. Errors read "file:line: op: why".
*/
#include "shape_impl.h"

#pragma GCC diagnostic error "-Wswitch"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Report a shape error for nd, prefixed with its Lua location and op name. */
int sh_fail(Err *e, const Node *nd, const char *fmt, ...)
{
	char why[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (nd->loc)
		return ir_errorf(e, "%s: %s: %s", nd->loc, ir_ops[nd->op].name, why);
	return ir_errorf(e, "%%%d: %s: %s", nd->id, ir_ops[nd->op].name, why);
}

/* Operand k's shape. */
const Shape *sh_arg(const Graph *g, const Node *nd, int k)
{
	return &g->nodes[nd->in[k]]->shape;
}

/* Format a shape for messages ("[N,3,28,28]") into buf (128 bytes). */
const char *sh_fmt(char *buf, const Shape *s)
{
	char t[128];
	ir_fmt_type(t, sizeof t, DT_F32, s);
	strcpy(buf, t + 3); /* drop "f32" */
	return buf;
}

/* Require operand k to have rank r. */
static int want_rank(Err *e, const Graph *g, const Node *nd, int k, int r, const char *what)
{
	const Shape *s = sh_arg(g, nd, k);
	char b[128];
	if (s->rank != r)
		return sh_fail(e, nd, "%s must have rank %d, got %s", what, r, sh_fmt(b, s));
	return 0;
}

/* Output extent of a window op along one axis; -1 if impossible (each
** value is at most IR_MAXELEMS first, so the sum cannot overflow). */
static int64_t window_out(int64_t in, int64_t k, int64_t s, int64_t p)
{
	if (s <= 0 || k <= 0 || p < 0 || in > IR_MAXELEMS || k > IR_MAXELEMS || s > IR_MAXELEMS || p > IR_MAXELEMS ||
	    in + 2 * p < k)
		return -1;
	return (in + 2 * p - k) / s + 1;
}

/* The [N,O,OH,OW] result of sliding a KHxKW window over x; -1 if it does not fit. */
int sh_conv_out(const Shape *x, int64_t o, int64_t kh, int64_t kw, const int64_t stride[2], const int64_t pad[2],
                Shape *out)
{
	int64_t oh = window_out(x->d[2], kh, stride[0], pad[0]);
	int64_t ow = window_out(x->d[3], kw, stride[1], pad[1]);
	if (x->rank != 4 || oh < 1 || ow < 1)
		return -1;
	*out = (Shape){4, {x->d[0], o, oh, ow}};
	return 0;
}

/* conv2d: x[N,C,H,W], w[O,C,KH,KW], optional b[O]. */
static int infer_conv(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	if (want_rank(e, g, nd, 0, 4, "input") || want_rank(e, g, nd, 1, 4, "weight"))
		return -1;
	const Shape *x = sh_arg(g, nd, 0), *w = sh_arg(g, nd, 1);
	if (x->d[1] != w->d[1])
		return sh_fail(e, nd, "input %s has %lld channels but weight %s expects %lld", sh_fmt(b1, x),
		            (long long)x->d[1], sh_fmt(b2, w), (long long)w->d[1]);
	if (nd->nin == 3 && (sh_arg(g, nd, 2)->rank != 1 || sh_arg(g, nd, 2)->d[0] != w->d[0]))
		return sh_fail(e, nd, "bias %s must be [%lld]", sh_fmt(b1, sh_arg(g, nd, 2)), (long long)w->d[0]);
	int64_t oh = window_out(x->d[2], w->d[2], nd->a.stride[0], nd->a.pad[0]);
	int64_t ow = window_out(x->d[3], w->d[3], nd->a.stride[1], nd->a.pad[1]);
	if (oh < 1 || ow < 1)
		return sh_fail(e, nd, "kernel %lldx%lld does not fit input %s with stride %lld and padding %lld",
		            (long long)w->d[2], (long long)w->d[3], sh_fmt(b1, x), (long long)nd->a.stride[0],
		            (long long)nd->a.pad[0]);
	nd->shape = (Shape){4, {x->d[0], w->d[0], oh, ow}};
	return 0;
}

/* dense: x[N,K], w[O,K], optional b[O]. */
static int infer_dense(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	if (want_rank(e, g, nd, 0, 2, "input (flatten it first)") || want_rank(e, g, nd, 1, 2, "weight"))
		return -1;
	const Shape *x = sh_arg(g, nd, 0), *w = sh_arg(g, nd, 1);
	if (x->d[1] != w->d[1])
		return sh_fail(e, nd, "input %s has %lld features but weight %s expects %lld", sh_fmt(b1, x),
		            (long long)x->d[1], sh_fmt(b2, w), (long long)w->d[1]);
	if (nd->nin == 3 && (sh_arg(g, nd, 2)->rank != 1 || sh_arg(g, nd, 2)->d[0] != w->d[0]))
		return sh_fail(e, nd, "bias %s must be [%lld]", sh_fmt(b1, sh_arg(g, nd, 2)), (long long)w->d[0]);
	nd->shape = (Shape){2, {x->d[0], w->d[0]}};
	return 0;
}

/* matmul: a[M,K], b[K,P]. */
static int infer_matmul(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	if (want_rank(e, g, nd, 0, 2, "left operand") || want_rank(e, g, nd, 1, 2, "right operand"))
		return -1;
	const Shape *a = sh_arg(g, nd, 0), *b = sh_arg(g, nd, 1);
	if (a->d[1] != b->d[0] || b->d[0] == IR_N)
		return sh_fail(e, nd, "cannot multiply %s by %s", sh_fmt(b1, a), sh_fmt(b2, b));
	nd->shape = (Shape){2, {a->d[0], b->d[1]}};
	return 0;
}

/* Broadcast two shapes numpy-style into out; 0 or -1. N only meets N or 1. */
int sh_broadcast(const Shape *a, const Shape *b, Shape *out)
{
	int r = a->rank > b->rank ? a->rank : b->rank;
	out->rank = r;
	for (int i = 0; i < r; i++) {
		int ia = a->rank - r + i, ib = b->rank - r + i;
		int64_t da = ia >= 0 ? a->d[ia] : 1, db = ib >= 0 ? b->d[ib] : 1;
		if (da == db || db == 1)
			out->d[i] = da;
		else if (da == 1)
			out->d[i] = db;
		else
			return -1;
	}
	return 0;
}

/* add/sub/mul/div. */
static int infer_broadcast(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	const Shape *a = sh_arg(g, nd, 0), *b = sh_arg(g, nd, 1);
	if (sh_broadcast(a, b, &nd->shape))
		return sh_fail(e, nd, "shapes %s and %s do not broadcast", sh_fmt(b1, a), sh_fmt(b2, b));
	return 0;
}

/* gavg/gmax/gmin over H and W. */
static int infer_global(const Graph *g, Node *nd, Err *e)
{
	if (want_rank(e, g, nd, 0, 4, "input"))
		return -1;
	const Shape *x = sh_arg(g, nd, 0);
	nd->shape = nd->a.keepdims ? (Shape){4, {x->d[0], x->d[1], 1, 1}} : (Shape){2, {x->d[0], x->d[1]}};
	return 0;
}

/* maxpool/avgpool. */
static int infer_pool(const Graph *g, Node *nd, Err *e)
{
	char b1[128];
	if (want_rank(e, g, nd, 0, 4, "input"))
		return -1;
	const Shape *x = sh_arg(g, nd, 0);
	const Attrs *a = &nd->a;
	if (a->pad[0] * 2 > a->kernel[0] || a->pad[1] * 2 > a->kernel[1])
		return sh_fail(e, nd, "padding %lld is more than half the kernel %lld", (long long)a->pad[0],
		            (long long)a->kernel[0]);
	int64_t oh = window_out(x->d[2], a->kernel[0], a->stride[0], a->pad[0]);
	int64_t ow = window_out(x->d[3], a->kernel[1], a->stride[1], a->pad[1]);
	if (oh < 1 || ow < 1)
		return sh_fail(e, nd, "window %lldx%lld stride %lld does not fit input %s", (long long)a->kernel[0],
		            (long long)a->kernel[1], (long long)a->stride[0], sh_fmt(b1, x));
	nd->shape = (Shape){4, {x->d[0], x->d[1], oh, ow}};
	return 0;
}

/* batchnorm: x[N,C(,H,W)], four [C] vectors. */
static int infer_bn(const Graph *g, Node *nd, Err *e)
{
	char b1[128];
	const Shape *x = sh_arg(g, nd, 0);
	static const char *const what[] = {"", "scale", "shift", "running mean", "running variance"};
	if (x->rank != 2 && x->rank != 4)
		return sh_fail(e, nd, "input must be [N,C] or [N,C,H,W], got %s", sh_fmt(b1, x));
	for (int k = 1; k < 5; k++) {
		const Shape *s = sh_arg(g, nd, k);
		if (s->rank != 1 || s->d[0] != x->d[1])
			return sh_fail(e, nd, "%s %s must be [%lld]", what[k], sh_fmt(b1, s), (long long)x->d[1]);
	}
	nd->shape = *x;
	return 0;
}

/* concat along axis: every other dimension equal. */
static int infer_concat(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	const Shape *x = sh_arg(g, nd, 0);
	int ax = nd->a.axis;
	if (ax < 0 || ax >= x->rank)
		return sh_fail(e, nd, "axis %d out of range for %s", ax, sh_fmt(b1, x));
	Shape out = *x;
	for (int k = 1; k < nd->nin; k++) {
		const Shape *s = sh_arg(g, nd, k);
		int ok = s->rank == x->rank && s->d[ax] != IR_N;
		for (int i = 0; ok && i < x->rank; i++)
			ok = i == ax || s->d[i] == x->d[i];
		if (!ok)
			return sh_fail(e, nd, "cannot join %s and %s along axis %d", sh_fmt(b1, x), sh_fmt(b2, s), ax);
		out.d[ax] += s->d[ax];
	}
	if (x->d[ax] == IR_N && nd->nin > 1)
		return sh_fail(e, nd, "cannot join along the batch axis");
	nd->shape = out;
	return 0;
}

/* reshape: same per-sample element count; N only in front, on both sides. */
static int infer_reshape(const Graph *g, Node *nd, Err *e)
{
	char b1[128], b2[128];
	const Shape *x = sh_arg(g, nd, 0), *t = &nd->a.shape;
	for (int i = 1; i < t->rank; i++)
		if (t->d[i] < 1)
			return sh_fail(e, nd, "target %s: dimension %d must be positive", sh_fmt(b1, t), i);
	if (ir_batched(x) != ir_batched(t) || ir_numel(x, 1) != ir_numel(t, 1))
		return sh_fail(e, nd, "cannot reshape %s to %s", sh_fmt(b1, x), sh_fmt(b2, t));
	nd->shape = *t;
	return 0;
}

/* Source nodes carry their own type; check it is sane. */
static int infer_source(const Graph *g, Node *nd, Err *e)
{
	char b1[128];
	const Shape *s = &nd->shape;
	for (int i = 0; i < s->rank; i++)
		if (s->d[i] < 1 && !(i == 0 && s->d[i] == IR_N && nd->op == OP_INPUT))
			return sh_fail(e, nd, "bad shape %s", sh_fmt(b1, s));
	if (nd->op == OP_CONST && !nd->a.data)
		return sh_fail(e, nd, "constant without values");
	return 0;
}

/* Check the shape nd was given: N only in front, every other dimension at
** least 1, and at most IR_MAXELEMS elements (N = 1), so that every later
** size computation fits in int64. */
static int check_result(Node *nd, Err *e)
{
	char b1[128];
	const Shape *s = &nd->shape;
	for (int i = 0; i < s->rank; i++)
		if (s->d[i] < 1 && !(i == 0 && s->d[i] == IR_N))
			return sh_fail(e, nd, "bad shape %s", sh_fmt(b1, s));
	if (ir_numel(s, 1) > IR_MAXELEMS)
		return sh_fail(e, nd, "%s has more than 2^48 elements%s, more than any tensor may have", sh_fmt(b1, s),
		               ir_batched(s) ? " per sample" : "");
	return 0;
}

/* The shape rule of nd's op. The switch names every op and has no default,
** and a missing op is a compile error (-Wswitch below): a new op cannot
** silently take its operand's shape. */
static int infer_op(Graph *g, Node *nd, Err *e)
{
	if (ir_ops[nd->op].kind != K_SOURCE)
		nd->dtype = DT_F32;
	switch (nd->op) {
	case OP_INPUT: case OP_PARAM: case OP_BUFFER: case OP_CONST: case OP_STATE:
		return infer_source(g, nd, e);
	case OP_CONV2D: return infer_conv(g, nd, e);
	case OP_DENSE: return infer_dense(g, nd, e);
	case OP_MATMUL: return infer_matmul(g, nd, e);
	case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MINIMUM: return infer_broadcast(g, nd, e);
	case OP_GAVG: case OP_GMAX: case OP_GMIN: return infer_global(g, nd, e);
	case OP_MAXPOOL: case OP_AVGPOOL: return infer_pool(g, nd, e);
	case OP_BATCHNORM: return infer_bn(g, nd, e);
	case OP_CONCAT: return infer_concat(g, nd, e);
	case OP_RESHAPE: return infer_reshape(g, nd, e);
	case OP_NEG: case OP_RELU: case OP_SIGMOID: case OP_TANH: case OP_EXP: case OP_LOG: case OP_SQRT:
	case OP_SOFTMAX: case OP_LOGSOFTMAX: case OP_DROPOUT:   /* the operand's shape */
		nd->shape = *sh_arg(g, nd, 0);
		return 0;
	case OP_SUMTO: case OP_BROADCAST: case OP_CONV2D_DX: case OP_CONV2D_DW: case OP_MATMUL_NT:
	case OP_MATMUL_TN: case OP_RELU_DX: case OP_GSEL_DX: case OP_MAXPOOL_DX: case OP_AVGPOOL_DX:
	case OP_BN_DX: case OP_BN_DGAMMA: case OP_BN_MEAN: case OP_BN_VAR: case OP_SLICE: case OP_SOFTMAX_DX:
	case OP_LOGSOFTMAX_DX: case OP_XENT: case OP_XENT_DX: case OP_BMEAN: case OP_BMEAN_DX: case OP_ASSIGN:
	{
		int r = sh_infer_train(g, nd, e);
		return r > 0 ? sh_fail(e, nd, "internal error: no training shape rule") : r;
	}
	case OP_COUNT:
		break;
	}
	return sh_fail(e, nd, "internal error: op %d has no shape rule", (int)nd->op);
}

/* Infer nd's shape from its operands (which must already be inferred):
** operand checks, the attribute rules (ir_check_attrs), the op's shape
** rule, and the size of the result. */
int ir_infer_node(Graph *g, Node *nd, Err *e)
{
	const OpInfo *oi = &ir_ops[nd->op];
	if (nd->nin < oi->min_in || nd->nin > oi->max_in)
		return sh_fail(e, nd, "takes %d to %d operands, got %d", oi->min_in, oi->max_in, nd->nin);
	for (int k = 0; k < nd->nin; k++) {
		if (nd->in[k] < 0 || nd->in[k] >= nd->id)
			return sh_fail(e, nd, "operand %d refers to %%%d, not an earlier node", k, nd->in[k]);
		int want_i32 = (nd->op == OP_XENT || nd->op == OP_XENT_DX) && k == 1;
		if ((g->nodes[nd->in[k]]->dtype == DT_I32) != want_i32)
			return sh_fail(e, nd, "operand %d must be %s", k, want_i32 ? "i32 (class labels)" : "f32");
	}
	if (ir_check_attrs(g, nd, e) || infer_op(g, nd, e))
		return -1;
	return check_result(nd, e);
}

/* Infer every node's shape in order. */
int ir_infer(Graph *g, Err *e)
{
	for (int i = 0; i < g->nnodes; i++)
		if (ir_infer_node(g, g->nodes[i], e))
			return -1;
	return 0;
}
