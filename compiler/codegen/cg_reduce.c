/*
** cg_reduce.c -- global pooling (gavg, gmax, gmin), softmax / logsoftmax over
** the last axis, and batch norm (running or batch statistics).
**
** Every reduction is an innermost contiguous loop over one accumulator
** whose adds carry reassoc, so the vectoriser can keep partial sums in
** lanes; max / min use llvm.maximum / llvm.minimum, which propagate NaN as
** the interpreter does.
*/
#include "cg.h"

#include <stdint.h>

#include <math.h>

/* Reduce x[at + i], i in [0, len), with op from init; returns the result. */
static LLVMValueRef reduce(Cg *c, Op op, LLVMValueRef x, LLVMValueRef at, LLVMValueRef len, LLVMValueRef init)
{
	LLVMValueRef acc = var_new(c, init);
	Loop l;
	loop_open(c, &l, ci(c, 0), len);
	LLVMValueRef v = ld(c, x, iadd(c, at, l.i)), a = var_get(c, acc);
	var_set(c, acc, op == OP_GMAX ? f_max(c, a, v) : op == OP_GMIN ? f_min(c, a, v) : f_acc(c, a, v));
	loop_close(c, &l);
	return var_get(c, acc);
}

/* Chunks of a global pool's planes (RangeFn): parameter 0 of them per
** sample (in all when x is not batched), parameter 1 elements each. */
static int plane_range(Cg *c, const void *arg, LLVMValueRef *total, LLVMValueRef *inner)
{
	const Node *nd = arg;
	*total = cg_param(c, 0);
	if (ir_batched(&c->g->nodes[nd->in[0]]->shape))
		*total = imul(c, *total, c->n);
	*inner = cg_param(c, 1);
	return 0;
}

/* y[n,c] = mean / max / min of the plane x[n,c,:,:] (keepdims: same
** storage); the plane count and size are kernel parameters (cg_sizes). */
int cg_global(Cg *c, const Node *nd)
{
	if (c->g->nodes[nd->in[0]]->shape.rank < 2)
		return cg_fail(c, nd, "x must have rank 2 or more");
	Par p;
	LLVMValueRef lo, hi;
	int par = par_range_fn(c, &p, plane_range, nd, &lo, &hi);
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->id), inner = cg_param(c, 1);
	float init = nd->op == OP_GMAX ? -INFINITY : nd->op == OP_GMIN ? INFINITY : 0.0f;
	Loop l;
	loop_open(c, &l, lo, hi);
	LLVMValueRef v = reduce(c, nd->op, x, imul(c, l.i, inner), inner, cf(c, init));
	if (nd->op == OP_GAVG)
		v = LLVMBuildFDiv(c->b, v, LLVMBuildSIToFP(c->b, inner, c->f32, ""), "");
	st(c, y, l.i, v);
	loop_close(c, &l);
	if (par)
		par_close(c, &p);
	return 0;
}

/* Sum of exp(x[row + i] - m) over the row, optionally storing each term in y. */
static LLVMValueRef sum_exp(Cg *c, LLVMValueRef x, LLVMValueRef y, LLVMValueRef row, LLVMValueRef len,
                            LLVMValueRef m)
{
	LLVMValueRef acc = var_new(c, cf(c, 0));
	Loop l;
	loop_open(c, &l, ci(c, 0), len);
	LLVMValueRef at = iadd(c, row, l.i);
	LLVMValueRef e = f_call(c, "llvm.exp", LLVMBuildFSub(c->b, ld(c, x, at), m, ""));
	if (y)
		st(c, y, at, e);
	var_set(c, acc, f_acc(c, var_get(c, acc), e));
	loop_close(c, &l);
	return var_get(c, acc);
}

/* softmax: y = exp(x - max) / sum; logsoftmax: y = x - max - log(sum); per
** row of the last axis. Safe in place (y may be x). */
int cg_softmax(Cg *c, const Node *nd)
{
	const Shape *s = &nd->shape;
	if (s->rank < 1)
		return cg_fail(c, nd, "needs rank >= 1");
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->id);
	LLVMValueRef len = dimv(c, s, s->rank - 1);
	int soft = nd->op == OP_SOFTMAX;
	Loop lr, l;
	loop_open(c, &lr, ci(c, 0), dimsv(c, s, 0, s->rank - 1));
	LLVMValueRef row = imul(c, lr.i, len);
	LLVMValueRef m = reduce(c, OP_GMAX, x, row, len, cf(c, -INFINITY));
	LLVMValueRef sum = sum_exp(c, x, soft ? y : NULL, row, len, m);
	LLVMValueRef lse = soft ? NULL : f_add(c, m, f_call(c, "llvm.log", sum));
	loop_open(c, &l, ci(c, 0), len);
	LLVMValueRef at = iadd(c, row, l.i);
	if (soft)
		st(c, y, at, LLVMBuildFDiv(c->b, ld(c, y, at), sum, ""));
	else
		st(c, y, at, LLVMBuildFSub(c->b, ld(c, x, at), lse, ""));
	loop_close(c, &l);
	loop_close(c, &lr);
	return 0;
}

/* Sum over b in [0, N), i in [0, S) of f(x[(b*C + ch)*S + i]) where f is the
** identity, or (v - mean)^2 when mean is given. */
LLVMValueRef cg_channel_sum(Cg *c, LLVMValueRef x, const Chan *k, LLVMValueRef ch, LLVMValueRef mean)
{
	LLVMValueRef acc = var_new(c, cf(c, 0));
	Loop lb, li;
	loop_open(c, &lb, ci(c, 0), k->N);
	LLVMValueRef at = imul(c, iadd(c, imul(c, lb.i, k->C), ch), k->S);
	loop_open(c, &li, ci(c, 0), k->S);
	LLVMValueRef v = ld(c, x, iadd(c, at, li.i));
	if (mean) {
		v = LLVMBuildFSub(c->b, v, mean, "");
		v = f_mul(c, v, v);
	}
	var_set(c, acc, f_acc(c, var_get(c, acc), v));
	loop_close(c, &li);
	loop_close(c, &lb);
	return var_get(c, acc);
}

int cg_channels(const Cg *c, const Node *nd, int64_t par[3])
{
	if (nd->op == OP_SUMTO)
		return kern_sumto_channels(&c->g->nodes[nd->in[0]]->shape, &nd->shape, &par[0], &par[1], &par[2]);
	if (nd->op != OP_BATCHNORM && nd->op != OP_BN_DX && nd->op != OP_BN_DGAMMA && nd->op != OP_BN_MEAN &&
	    nd->op != OP_BN_VAR)
		return 0;
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape;
	if (xs->rank != 2 && xs->rank != 4)
		return 0;
	par[0] = xs->d[1];
	par[1] = xs->rank == 4 ? xs->d[2] * xs->d[3] : 1;
	par[2] = ir_batched(xs) ? 0 : xs->d[0];
	return 1;
}

Chan cg_chan(Cg *c, const Node *nd)
{
	Chan k = {cg_param(c, 0), cg_param(c, 1), cg_param(c, 2)};
	if (ir_batched(&c->g->nodes[nd->in[0]]->shape))
		k.N = c->n;
	return k;
}

/* Chunks of channels (RangeFn): C of them, an iteration weighing S*N
** elements times the weight in arg[1]. */
static int channel_range(Cg *c, const void *arg, LLVMValueRef *total, LLVMValueRef *inner)
{
	const int64_t *a = arg;
	Chan k = cg_chan(c, (const Node *)(intptr_t)a[0]);
	*total = k.C;
	*inner = imul(c, k.S, ci(c, a[1]));
	return 1;
}

int cg_par_channels(Cg *c, Par *p, const Node *nd, int64_t weight, LLVMValueRef *lo, LLVMValueRef *hi)
{
	int64_t a[2] = {(int64_t)(intptr_t)nd, weight};
	return par_range_fn(c, p, channel_range, a, lo, hi);
}

/* y = (x - mean) * (gamma / sqrt(var + eps)) + beta per channel of x[N,C(,H,W)];
** mode=batch: mean and biased variance of the batch over N, H, W (two passes;
** running buffers are not updated). C, S and N are kernel parameters
** (cg_channels), so one function serves every size. */
int cg_batchnorm(Cg *c, const Node *nd)
{
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape;
	if (xs->rank != 2 && xs->rank != 4)
		return cg_fail(c, nd, "x must have rank 2 or 4");
	if (nd->a.mode != MODE_RUNNING && nd->a.mode != MODE_BATCH)
		return cg_fail(c, nd, "mode=%s, expected running or batch", ir_mode_name(nd->a.mode));
	Par p;
	LLVMValueRef lo, hi;   /* chunks of channels: each sums its own, in order */
	int par = cg_par_channels(c, &p, nd, nd->a.mode == MODE_BATCH ? 3 : 1, &lo, &hi);
	Chan k = cg_chan(c, nd);
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->id);
	LLVMValueRef gamma = base(c, nd->in[1]), beta = base(c, nd->in[2]);
	Loop lc, lb, li;
	loop_open(c, &lc, lo, hi);
	LLVMValueRef mean, var;
	if (nd->a.mode == MODE_RUNNING) {
		mean = ld(c, base(c, nd->in[3]), lc.i);
		var = ld(c, base(c, nd->in[4]), lc.i);
	} else {
		LLVMValueRef cnt = LLVMBuildSIToFP(c->b, imul(c, k.N, k.S), c->f32, "");
		mean = LLVMBuildFDiv(c->b, cg_channel_sum(c, x, &k, lc.i, NULL), cnt, "");
		var = LLVMBuildFDiv(c->b, cg_channel_sum(c, x, &k, lc.i, mean), cnt, "");
	}
	LLVMValueRef sd = f_call(c, "llvm.sqrt", f_add(c, var, cf(c, nd->a.eps)));
	LLVMValueRef scale = LLVMBuildFDiv(c->b, ld(c, gamma, lc.i), sd, "");
	LLVMValueRef shift = ld(c, beta, lc.i);
	loop_open(c, &lb, ci(c, 0), k.N);
	LLVMValueRef at = imul(c, iadd(c, imul(c, lb.i, k.C), lc.i), k.S);
	loop_open(c, &li, ci(c, 0), k.S);
	LLVMValueRef v = f_mul(c, LLVMBuildFSub(c->b, ld(c, x, iadd(c, at, li.i)), mean, ""), scale);
	st(c, y, iadd(c, at, li.i), f_add(c, v, shift));
	loop_close(c, &li);
	loop_close(c, &lb);
	loop_close(c, &lc);
	if (par)
		par_close(c, &p);
	return 0;
}
