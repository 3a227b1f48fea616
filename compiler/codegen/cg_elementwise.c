/*
** cg_elementwise.c -- unary functions, the broadcasting binary ops (and
** minimum, relu_dx), broadcast and its gradient sumto.
**
** Unary ops are one flat loop over the element count. Binary ops run a loop
** nest over the result's dims after dropping size-1 dims and merging
** neighbours that both operands walk contiguously (or both broadcast), so
** [N,C,H,W] + [1,C,1,1] becomes a [N,C] nest around a contiguous H*W loop
** with b loop-invariant, and same-shape operands become one flat loop.
** broadcast is the same walk with one operand; sumto walks x's dims with
** the result read through broadcast strides, and when the innermost merged
** dim is summed it becomes a register reduction.
*/
#include "cg.h"

/* f(x) for one unary op, in f32. sigmoid is 1 / (1 + exp(-x)). */
static LLVMValueRef unop(Cg *c, Op op, LLVMValueRef x)
{
	switch (op) {
	case OP_NEG:
		return LLVMBuildFNeg(c->b, x, "");
	case OP_RELU:
		return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, x, cf(c, 0), ""), x, cf(c, 0), "");
	case OP_SIGMOID: {
		/* e = exp(-min(|x|, 80)) neither overflows (libm's slow error path:
		** 50x the time, seen in DRIFA-Net's MFA gates) nor goes subnormal;
		** 1/(1+e) for x >= 0, e/(1+e) below. Past |x| = 80 the result is
		** within 2e-35 of the exact one. */
		LLVMValueRef ax = f_call(c, "llvm.fabs", x);   /* NaN stays NaN (ogt is false) */
		LLVMValueRef a = LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, ax, cf(c, 80), ""), cf(c, 80), ax, "");
		LLVMValueRef e = f_exp_neg(c, a);
		LLVMValueRef s = LLVMBuildFDiv(c->b, cf(c, 1), f_add(c, cf(c, 1), e), "");
		LLVMValueRef neg = LLVMBuildFCmp(c->b, LLVMRealOLT, x, cf(c, 0), "");
		return LLVMBuildSelect(c->b, neg, f_mul(c, e, s), s, "");
	}
	case OP_TANH:
		return f_tanh(c, x);
	case OP_EXP:
		return f_exp(c, x);
	case OP_SQRT:
		return f_call(c, "llvm.sqrt", x);
	default: /* OP_LOG */
		return f_call(c, "llvm.log", x);
	}
}

/* Elements of s per sample (all of them when s is not batched). */
static int64_t per_sample(const Shape *s)
{
	int64_t k = 1;
	for (int i = 0; i < s->rank; i++)
		k *= s->d[i] == IR_N ? 1 : s->d[i];
	return k;
}

LLVMValueRef cg_param(Cg *c, int i)
{
	LLVMValueRef at = ci(c, i);
	return LLVMBuildLoad2(c->b, c->i64, LLVMBuildGEP2(c->b, c->i64, c->params, &at, 1, ""), "");
}

/* A flat map's elements (RangeFn): parameter 0, times n when batched,
** one element per iteration. */
static int flat_range(Cg *c, const void *arg, LLVMValueRef *total, LLVMValueRef *inner)
{
	const Flat *f = arg;
	*total = f->batched ? imul(c, cg_param(c, 0), c->n) : cg_param(c, 0);
	*inner = ci(c, 1);
	return 0;
}

/* y[i] = f(x[i]) over the whole tensor, in parallel chunks; the size is a
** parameter (cg_flat). */
int cg_unary(Cg *c, const Node *nd)
{
	Flat f;
	cg_flat(c, nd, &f);
	Par p;
	LLVMValueRef lo, hi;
	int par = par_range_fn(c, &p, flat_range, &f, &lo, &hi);
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->id);
	Loop l;
	loop_open(c, &l, lo, hi);
	st(c, y, l.i, unop(c, nd->op, ld(c, x, l.i)));
	loop_close(c, &l);
	if (par)
		par_close(c, &p);
	return 0;
}

/* One dim of a broadcast nest: extent d (times n when batched) and the
** element strides of both operands along it. */
typedef struct BDim {
	int64_t d;
	int n;
	int64_t s[2];
} BDim;

/* Strides of operand shape s read along the result dims y (right-aligned;
** a missing or stretched size-1 dim has stride 0). -1 if s does not fit. */
static int strides(const Shape *s, const Shape *y, int64_t st[IR_MAXDIM])
{
	int64_t acc = 1;
	for (int i = y->rank - 1; i >= 0; i--) {
		int j = i - (y->rank - s->rank);
		st[i] = 0;
		if (j < 0)
			continue;
		if (s->d[j] == y->d[i])
			st[i] = s->d[j] == 1 ? 0 : acc;
		else if (s->d[j] != 1)
			return -1;
		acc *= s->d[j] == IR_N ? 1 : s->d[j];
	}
	return 0;
}

/* The walk over dims y, size-1 dims dropped and mergeable neighbours
** merged, reading operands a and b (b may be NULL) through their broadcast
** strides; returns how many dims remain, or -1 if an operand does not fit. */
static int walk(const Shape *y, const Shape *a, const Shape *b, BDim out[IR_MAXDIM])
{
	int64_t st[2][IR_MAXDIM] = {{0}};
	if (strides(a, y, st[0]) || (b && strides(b, y, st[1])))
		return -1;
	int m = 0;
	for (int i = 0; i < y->rank; i++) {
		if (y->d[i] == 1)
			continue;
		BDim cur = {y->d[i] == IR_N ? 1 : y->d[i], y->d[i] == IR_N, {st[0][i], st[1][i]}};
		/* prev (outer) merges with cur when prev's stride is cur's stride times
		** cur's extent for both operands; cur's extent is never N here */
		BDim *prev = m ? &out[m - 1] : NULL;
		if (prev && !cur.n && prev->s[0] == cur.s[0] * cur.d && prev->s[1] == cur.s[1] * cur.d) {
			prev->d *= cur.d;
			prev->s[0] = cur.s[0];
			prev->s[1] = cur.s[1];
			continue;
		}
		out[m++] = cur;
	}
	return m;
}

/* Open the nest over the walk's dims, its outermost dim split into
** parallel chunks when p is given and the nest is worth it (returns 1: end
** with par_close after nest_close); bounds[] gets each extent (n-scaled),
** ia / ib the operands' element offsets at the innermost counters. */
static int walk_open(Cg *c, const BDim *d, int m, Nest *s, LLVMValueRef bounds[IR_MAXDIM], LLVMValueRef *ia,
                     LLVMValueRef *ib, Par *p)
{
	int64_t inner = 1;
	int split = p && m > 0;
	for (int k = 1; k < m; k++) {
		inner *= d[k].d;
		split &= !d[k].n;
	}
	LLVMValueRef lo = ci(c, 0), hi = NULL;
	int par = split && par_range(c, p, d[0].d, d[0].n, inner, 0, &lo, &hi);
	for (int k = 0; k < m; k++)
		bounds[k] = d[k].n ? imul(c, ci(c, d[k].d), c->n) : ci(c, d[k].d);
	s->depth = m;
	for (int k = 0; k < m; k++)
		loop_open(c, &s->l[k], k == 0 ? lo : ci(c, 0), k == 0 && par ? hi : bounds[k]);
	*ia = ci(c, 0), *ib = ci(c, 0);
	for (int k = 0; k < m; k++) {
		*ia = iadd(c, *ia, imul(c, s->l[k].i, ci(c, d[k].s[0])));
		*ib = iadd(c, *ib, imul(c, s->l[k].i, ci(c, d[k].s[1])));
	}
	return par;
}

/* a OP b in f32 (correctly rounded, as the interpreter's double then float);
** minimum propagates NaN (llvm.minimum), relu_dx is b where a > 0, else 0. */
static LLVMValueRef binop(Cg *c, Op op, LLVMValueRef a, LLVMValueRef b)
{
	switch (op) {
	case OP_ADD: return LLVMBuildFAdd(c->b, a, b, "");
	case OP_SUB: return LLVMBuildFSub(c->b, a, b, "");
	case OP_MUL: return LLVMBuildFMul(c->b, a, b, "");
	case OP_MINIMUM: return f_min(c, a, b);
	case OP_RELU_DX:
		return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, a, cf(c, 0), ""), b, cf(c, 0), "");
	default: return LLVMBuildFDiv(c->b, a, b, "");
	}
}

int cg_flat(const Cg *c, const Node *nd, Flat *f)
{
	switch (nd->op) {
	case OP_NEG: case OP_RELU: case OP_SIGMOID: case OP_TANH: case OP_EXP: case OP_LOG: case OP_SQRT:
		*f = (Flat){per_sample(&nd->shape), ir_batched(&nd->shape), {1, 0}};
		return 1;
	case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MINIMUM: case OP_RELU_DX: {
		BDim d[IR_MAXDIM];
		if (walk(&nd->shape, &c->g->nodes[nd->in[0]]->shape, &c->g->nodes[nd->in[1]]->shape, d) != 1)
			return 0;
		*f = (Flat){d[0].d, d[0].n, {d[0].s[0], d[0].s[1]}};
		return (f->st[0] == 0 || f->st[0] == 1) && (f->st[1] == 0 || f->st[1] == 1);
	}
	default:
		return 0;
	}
}

/* y = a OP b over a flat map's elements, in parallel chunks. */
static void binary_flat(Cg *c, const Node *nd, const Flat *f)
{
	Par p;
	LLVMValueRef lo, hi;
	int par = par_range_fn(c, &p, flat_range, f, &lo, &hi);
	LLVMValueRef a = base(c, nd->in[0]), b = base(c, nd->in[1]), y = base(c, nd->id);
	Loop l;
	loop_open(c, &l, lo, hi);
	LLVMValueRef va = ld(c, a, f->st[0] ? l.i : ci(c, 0)), vb = ld(c, b, f->st[1] ? l.i : ci(c, 0));
	st(c, y, l.i, binop(c, nd->op, va, vb));
	loop_close(c, &l);
	if (par)
		par_close(c, &p);
}

/* y = a OP b with numpy broadcasting: a flat map when it is one (cg_flat),
** else a nest over the merged dims. */
int cg_binary(Cg *c, const Node *nd)
{
	Flat f;
	if (cg_flat(c, nd, &f)) {
		binary_flat(c, nd, &f);
		return 0;
	}
	BDim d[IR_MAXDIM];
	int m = walk(&nd->shape, &c->g->nodes[nd->in[0]]->shape, &c->g->nodes[nd->in[1]]->shape, d);
	if (m < 0)
		return cg_fail(c, nd, "operands do not broadcast to the result shape");
	LLVMValueRef bounds[IR_MAXDIM], ia, ib;
	Nest s;
	Par p;
	int par = walk_open(c, d, m, &s, bounds, &ia, &ib, &p);
	LLVMValueRef a = base(c, nd->in[0]), b = base(c, nd->in[1]), y = base(c, nd->id);
	LLVMValueRef va = ld(c, a, ia), vb = ld(c, b, ib); /* sequenced: deterministic IR */
	st(c, y, nest_flat(c, &s, bounds), binop(c, nd->op, va, vb));
	nest_close(c, &s);
	if (par)
		par_close(c, &p);
	return 0;
}

/* broadcast: y = x expanded to the result shape. */
int cg_broadcast(Cg *c, const Node *nd)
{
	BDim d[IR_MAXDIM];
	int m = walk(&nd->shape, &c->g->nodes[nd->in[0]]->shape, NULL, d);
	if (m < 0)
		return cg_fail(c, nd, "x does not broadcast to the result shape");
	LLVMValueRef bounds[IR_MAXDIM], ix, unused;
	Nest s;
	Par p;
	int par = walk_open(c, d, m, &s, bounds, &ix, &unused, &p);
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->id);
	st(c, y, nest_flat(c, &s, bounds), ld(c, x, ix));
	nest_close(c, &s);
	if (par)
		par_close(c, &p);
	return 0;
}

/* sumto per channel (a bias's or a scalar's gradient, kern_sumto_channels):
** y[ch] = the sum over samples and positions of x's channel ch, in chunks
** of channels, each summed in order by one chunk; C, S and N are kernel
** parameters (cg_channels), so one function serves every size. */
static int sumto_channels(Cg *c, const Node *nd)
{
	Par p;
	LLVMValueRef lo, hi;
	int par = cg_par_channels(c, &p, nd, 1, &lo, &hi);
	Chan k = cg_chan(c, nd);
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->id);
	Loop lc;
	loop_open(c, &lc, lo, hi);
	st(c, y, lc.i, cg_channel_sum(c, x, &k, lc.i, NULL));
	loop_close(c, &lc);
	if (par)
		par_close(c, &p);
	return 0;
}

/* sumto: per channel when it is one (sumto_channels); else y = 0, then
** every element of x adds into the element of y its broadcast reads, x in
** row-major order (one summation order for every thread count). A summed
** innermost dim is a vectorisable reduction into a register, added to y
** once per row. */
int cg_sumto(Cg *c, const Node *nd)
{
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape;
	int64_t cs[3];
	if (cg_channels(c, nd, cs))
		return sumto_channels(c, nd);
	BDim d[IR_MAXDIM];
	int m = walk(xs, xs, &nd->shape, d);
	if (m < 0)
		return cg_fail(c, nd, "the result does not broadcast to x");
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->id);
	cg_fill(c, y, ci(c, 0), dimsv(c, &nd->shape, 0, nd->shape.rank), cf(c, 0));
	int red = m > 0 && d[m - 1].s[1] == 0;   /* innermost dim summed: reduce in a register */
	LLVMValueRef bounds[IR_MAXDIM], ix, iy, acc = NULL;
	Nest s;
	walk_open(c, d, m - red, &s, bounds, &ix, &iy, NULL);
	if (red) {
		Loop l;
		acc = var_new(c, cf(c, 0));
		loop_open(c, &l, ci(c, 0), d[m - 1].n ? imul(c, ci(c, d[m - 1].d), c->n) : ci(c, d[m - 1].d));
		LLVMValueRef v = ld(c, x, iadd(c, ix, imul(c, l.i, ci(c, d[m - 1].s[0]))));
		var_set(c, acc, f_acc(c, var_get(c, acc), v));
		loop_close(c, &l);
	}
	LLVMValueRef v = red ? var_get(c, acc) : ld(c, x, ix);
	st(c, y, iy, f_add(c, ld(c, y, iy), v));
	nest_close(c, &s);
	return 0;
}
