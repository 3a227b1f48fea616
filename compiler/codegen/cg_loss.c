/*
** cg_loss.c -- the training reductions: batch-norm gradients and statistics
** (bn_dx, bn_dgamma, bn_mean, bn_var), softmax / logsoftmax gradients,
** cross-entropy and its gradient, and the batch mean and its gradient.
**
** Per-channel sums walk the batch in order (b outer, the contiguous plane
** inner, reassociable adds: vector partial sums), so every sum over the
** batch has one order for a given n, whatever the thread count. Class
** labels are i32; one outside [0, K) makes its sample's loss and gradient
** NaN and is never used as an index.
*/
#include "cg.h"

#include <math.h>

/* Sum over the channel ch of dy, or of dy * (x - mean) when x is given. */
static LLVMValueRef dy_sum(Cg *c, LLVMValueRef dy, LLVMValueRef x, LLVMValueRef mean, const Chan *k, LLVMValueRef ch)
{
	LLVMValueRef acc = var_new(c, cf(c, 0));
	Loop lb, li;
	loop_open(c, &lb, ci(c, 0), k->N);
	LLVMValueRef at = imul(c, iadd(c, imul(c, lb.i, k->C), ch), k->S);
	loop_open(c, &li, ci(c, 0), k->S);
	LLVMValueRef i = iadd(c, at, li.i), v = ld(c, dy, i);
	if (x)
		v = f_mul(c, v, f_sub(c, ld(c, x, i), mean));
	var_set(c, acc, f_acc(c, var_get(c, acc), v));
	loop_close(c, &li);
	loop_close(c, &lb);
	return var_get(c, acc);
}

/* dx = gamma/s (dy - mean(dy) - xh mean(dy xh)) over the channel, in place
** of the batch loop nest. */
static void bn_dx_channel(Cg *c, const Node *nd, const Chan *k, LLVMValueRef ch, LLVMValueRef mean, LLVMValueRef sd,
                          LLVMValueRef cnt)
{
	LLVMValueRef x = base(c, nd->in[0]), dy = base(c, nd->in[2]), y = base(c, nd->id);
	LLVMValueRef mdy = f_div(c, dy_sum(c, dy, NULL, NULL, k, ch), cnt);
	LLVMValueRef mdyx = f_div(c, f_div(c, dy_sum(c, dy, x, mean, k, ch), sd), cnt);
	LLVMValueRef scale = f_div(c, ld(c, base(c, nd->in[1]), ch), sd);
	Loop lb, li;
	loop_open(c, &lb, ci(c, 0), k->N);
	LLVMValueRef at = imul(c, iadd(c, imul(c, lb.i, k->C), ch), k->S);
	loop_open(c, &li, ci(c, 0), k->S);
	LLVMValueRef i = iadd(c, at, li.i);
	LLVMValueRef xh = f_div(c, f_sub(c, ld(c, x, i), mean), sd);
	LLVMValueRef v = f_sub(c, f_sub(c, ld(c, dy, i), mdy), f_mul(c, xh, mdyx));
	st(c, y, i, f_mul(c, scale, v));
	loop_close(c, &li);
	loop_close(c, &lb);
}

/* bn_dx, bn_dgamma, bn_mean, bn_var over x[N,C] or x[N,C,H,W], per channel:
** the batch mean and biased variance (two passes, as batchnorm), then the
** op's own sums. bn_var is the unbiased variance (0/0 with one element).
** C, S and N are kernel parameters (cg_channels). */
int cg_bn_grad(Cg *c, const Node *nd)
{
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape;
	if (xs->rank != 2 && xs->rank != 4)
		return cg_fail(c, nd, "x must have rank 2 or 4");
	Par p;
	LLVMValueRef lo, hi;   /* chunks of channels: each sums its own, in order */
	int par = cg_par_channels(c, &p, nd, 4, &lo, &hi);
	Chan k = cg_chan(c, nd);
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->id);
	Loop lc;
	loop_open(c, &lc, lo, hi);
	LLVMValueRef icnt = imul(c, k.N, k.S), cnt = i2f(c, icnt);
	LLVMValueRef mean = f_div(c, cg_channel_sum(c, x, &k, lc.i, NULL), cnt);
	LLVMValueRef ss = cg_channel_sum(c, x, &k, lc.i, mean);
	LLVMValueRef sd = f_call(c, "llvm.sqrt", f_add(c, f_div(c, ss, cnt), cf(c, nd->a.eps)));
	switch (nd->op) {
	case OP_BN_MEAN:
		st(c, y, lc.i, mean);
		break;
	case OP_BN_VAR:
		st(c, y, lc.i, f_div(c, ss, i2f(c, isub(c, icnt, ci(c, 1)))));
		break;
	case OP_BN_DGAMMA:
		st(c, y, lc.i, f_div(c, dy_sum(c, base(c, nd->in[1]), x, mean, &k, lc.i), sd));
		break;
	default: /* OP_BN_DX */
		bn_dx_channel(c, nd, &k, lc.i, mean, sd, cnt);
	}
	loop_close(c, &lc);
	if (par)
		par_close(c, &p);
	return 0;
}

/* Sum over a row of dy, or of dy * y when y is given. */
static LLVMValueRef row_sum(Cg *c, LLVMValueRef dy, LLVMValueRef y, LLVMValueRef row, LLVMValueRef len)
{
	LLVMValueRef acc = var_new(c, cf(c, 0));
	Loop l;
	loop_open(c, &l, ci(c, 0), len);
	LLVMValueRef at = iadd(c, row, l.i), v = ld(c, dy, at);
	if (y)
		v = f_mul(c, v, ld(c, y, at));
	var_set(c, acc, f_acc(c, var_get(c, acc), v));
	loop_close(c, &l);
	return var_get(c, acc);
}

/* softmax_dx (y, dy): y (dy - sum dy y); logsoftmax_dx (y, dy):
** dy - exp(y) sum dy; per row of the last axis. Safe in place. */
int cg_softmax_dx(Cg *c, const Node *nd)
{
	const Shape *s = &nd->shape;
	if (s->rank < 1)
		return cg_fail(c, nd, "needs rank >= 1");
	LLVMValueRef y = base(c, nd->in[0]), dy = base(c, nd->in[1]), dx = base(c, nd->id);
	LLVMValueRef len = dimv(c, s, s->rank - 1);
	int soft = nd->op == OP_SOFTMAX_DX;
	Loop lr, l;
	loop_open(c, &lr, ci(c, 0), dimsv(c, s, 0, s->rank - 1));
	LLVMValueRef row = imul(c, lr.i, len);
	LLVMValueRef sum = row_sum(c, dy, soft ? y : NULL, row, len);
	loop_open(c, &l, ci(c, 0), len);
	LLVMValueRef at = iadd(c, row, l.i), yv = ld(c, y, at), gv = ld(c, dy, at);
	if (soft)
		st(c, dx, at, f_mul(c, yv, f_sub(c, gv, sum)));
	else
		st(c, dx, at, f_sub(c, gv, f_mul(c, f_call(c, "llvm.exp", yv), sum)));
	loop_close(c, &l);
	loop_close(c, &lr);
	return 0;
}

/* Max, then sum of exp(x - max), over x[row, 0..K): *lse gets log-sum-exp. */
static void logsumexp(Cg *c, LLVMValueRef x, LLVMValueRef row, int64_t K, LLVMValueRef *lse)
{
	LLVMValueRef m = var_new(c, cf(c, -INFINITY)), z = var_new(c, cf(c, 0));
	Loop l, l2;
	loop_open(c, &l, ci(c, 0), ci(c, K));
	var_set(c, m, f_max(c, var_get(c, m), ld(c, x, iadd(c, row, l.i))));
	loop_close(c, &l);
	LLVMValueRef mv = var_get(c, m);
	loop_open(c, &l2, ci(c, 0), ci(c, K));
	LLVMValueRef e = f_call(c, "llvm.exp", f_sub(c, ld(c, x, iadd(c, row, l2.i)), mv));
	var_set(c, z, f_acc(c, var_get(c, z), e));
	loop_close(c, &l2);
	*lse = f_add(c, mv, f_call(c, "llvm.log", var_get(c, z)));
}

/* The sample's loss, lse - x[label] smoothed: (1-s)(lse - x[l]) + s(lse - mean_k x). */
static LLVMValueRef xent_row(Cg *c, const Node *nd, LLVMValueRef x, LLVMValueRef row, int64_t K, LLVMValueRef lse,
                             LLVMValueRef lab)
{
	float s = nd->a.smoothing;
	LLVMValueRef hit = f_sub(c, lse, ld(c, x, iadd(c, row, lab)));
	if (s == 0)
		return hit;
	LLVMValueRef acc = var_new(c, cf(c, 0));
	Loop l;
	loop_open(c, &l, ci(c, 0), ci(c, K));
	var_set(c, acc, f_acc(c, var_get(c, acc), ld(c, x, iadd(c, row, l.i))));
	loop_close(c, &l);
	LLVMValueRef spread = f_sub(c, lse, f_div(c, var_get(c, acc), cf(c, (float)K)));
	return f_add(c, f_mul(c, cf(c, 1 - s), hit), f_mul(c, cf(c, s), spread));
}

/* xent_dx's row: (exp(x - lse) - q) * dl with q = s/K + (1-s) at the label. */
static void xent_dx_row(Cg *c, const Node *nd, LLVMValueRef x, LLVMValueRef y, LLVMValueRef row, int64_t K,
                        LLVMValueRef lse, LLVMValueRef lab, LLVMValueRef dl)
{
	float s = nd->a.smoothing;
	Loop l;
	loop_open(c, &l, ci(c, 0), ci(c, K));
	LLVMValueRef at = iadd(c, row, l.i);
	LLVMValueRef p = f_call(c, "llvm.exp", f_sub(c, ld(c, x, at), lse));
	LLVMValueRef on = LLVMBuildICmp(c->b, LLVMIntEQ, l.i, lab, "");
	LLVMValueRef q = LLVMBuildSelect(c->b, on, cf(c, 1 - s + s / (float)K), cf(c, s / (float)K), "");
	st(c, y, at, f_mul(c, f_sub(c, p, q), dl));
	loop_close(c, &l);
}

/* xent (logits[N,K], labels) -> [N] and xent_dx (logits, labels, dl) -> [N,K];
** a label outside [0, K) reads row element 0 instead and makes the row NaN. */
int cg_xent(Cg *c, const Node *nd)
{
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape;
	int64_t K = xs->d[1];
	LLVMValueRef x = base(c, nd->in[0]), labels = base(c, nd->in[1]), y = base(c, nd->id), lse;
	Loop ln;
	loop_open(c, &ln, ci(c, 0), dimv(c, xs, 0));
	LLVMValueRef row = imul(c, ln.i, ci(c, K)), lab = ld_i32(c, labels, ln.i);
	LLVMValueRef ok = LLVMBuildICmp(c->b, LLVMIntULT, lab, ci(c, K), "");
	lab = LLVMBuildSelect(c->b, ok, lab, ci(c, 0), "");
	logsumexp(c, x, row, K, &lse);
	if (nd->op == OP_XENT) {
		LLVMValueRef v = xent_row(c, nd, x, row, K, lse, lab);
		st(c, y, ln.i, LLVMBuildSelect(c->b, ok, v, cf(c, NAN), ""));
	} else {
		LLVMValueRef dl = LLVMBuildSelect(c->b, ok, ld(c, base(c, nd->in[2]), ln.i), cf(c, NAN), "");
		xent_dx_row(c, nd, x, y, row, K, lse, lab, dl);
	}
	loop_close(c, &ln);
	return 0;
}

/* bmean: y[i] = (sum_b x[b,i]) / n, b outermost so the inner loop is
** contiguous; one order for every thread count. */
int cg_bmean(Cg *c, const Node *nd)
{
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape;
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->id);
	LLVMValueRef k = dimsv(c, xs, 1, xs->rank);
	cg_fill(c, y, ci(c, 0), k, cf(c, 0));
	Loop lb, li, ld2;
	loop_open(c, &lb, ci(c, 0), c->n);
	LLVMValueRef row = imul(c, lb.i, k);
	loop_open(c, &li, ci(c, 0), k);
	st(c, y, li.i, f_add(c, ld(c, y, li.i), ld(c, x, iadd(c, row, li.i))));
	loop_close(c, &li);
	loop_close(c, &lb);
	LLVMValueRef fn = i2f(c, c->n);
	loop_open(c, &ld2, ci(c, 0), k);
	st(c, y, ld2.i, f_div(c, ld(c, y, ld2.i), fn));
	loop_close(c, &ld2);
	return 0;
}

/* bmean_dx: y[b,i] = dy[i] / n for every sample b. */
int cg_bmean_dx(Cg *c, const Node *nd)
{
	LLVMValueRef dy = base(c, nd->in[0]), y = base(c, nd->id);
	LLVMValueRef k = dimsv(c, &nd->shape, 1, nd->shape.rank), fn = i2f(c, c->n);
	Loop lb, li;
	loop_open(c, &lb, ci(c, 0), c->n);
	LLVMValueRef row = imul(c, lb.i, k);
	loop_open(c, &li, ci(c, 0), k);
	st(c, y, iadd(c, row, li.i), f_div(c, ld(c, dy, li.i), fn));
	loop_close(c, &li);
	loop_close(c, &lb);
	return 0;
}
