/*
** cg_conv.c -- conv2d (a GEMM over im2col, gemm.c), maxpool and avgpool
** (dense and the matmuls: cg_matrix.c).
**
** Pools accumulate into one output row at a time: for each output row
** (n, c, oh) and each tap (kh, kw) the innermost loop runs over the output
** columns whose input column is in bounds, so it is contiguous in the
** output and padding costs no branch in the inner loop.
*/
#include "cg.h"

#include <math.h>

/* Output columns [*lo, *hi) whose input column ow*s - p + k lies in [0, W). */
void cg_span(Cg *c, LLVMValueRef k, int64_t s, int64_t p, int64_t W, int64_t OW, LLVMValueRef *lo,
                 LLVMValueRef *hi)
{
	*lo = imax(c, ci(c, 0), iceildiv(c, isub(c, ci(c, p), k), s));
	*hi = imin(c, ci(c, OW), iadd(c, ifloordiv(c, isub(c, ci(c, W - 1 + p), k), s), ci(c, 1)));
}

/* y[row + j] = v for j in [0, len). */
void cg_fill(Cg *c, LLVMValueRef y, LLVMValueRef row, LLVMValueRef len, LLVMValueRef v)
{
	Loop l;
	loop_open(c, &l, ci(c, 0), len);
	st(c, y, iadd(c, row, l.i), v);
	loop_close(c, &l);
}

/* Input row ih = oh*s - p + kh; opens `if (0 <= ih < H)` and returns its join. */
LLVMBasicBlockRef cg_row_in_bounds(Cg *c, LLVMValueRef oh, LLVMValueRef kh, int64_t s, int64_t p, int64_t H,
                                       LLVMValueRef *ih)
{
	*ih = iadd(c, isub(c, imul(c, oh, ci(c, s)), ci(c, p)), kh);
	return if_open(c, LLVMBuildICmp(c->b, LLVMIntULT, *ih, ci(c, H), ""));
}

/* y[n] = w . im2col(x[n]) + b, a GEMM per (sample, block of output rows,
** block of output channels) chunk (the schedule's, kernel/schedule.c): the
** column matrix of the chunk's rows is built in its scratch (x[n] itself
** for a direct 1x1 conv). */
int cg_conv2d(Cg *c, const Node *nd)
{
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape, *ws = &c->g->nodes[nd->in[1]]->shape;
	Conv k = kern_conv(xs, ws, &nd->shape, nd);
	const Sched *sc = &c->sched;
	if (sc->wino)
		return cg_conv2d_winograd(c, nd, &k);
	int64_t rows = sc->rows, nob = sc->nob, ob = sc->ob, npb = sc->chunks_per_n / nob;
	Par p;
	par_open(c, &p, imul(c, dimv(c, xs, 0), ci(c, npb * nob)), sc->scratch);
	LLVMValueRef x = base(c, nd->in[0]), w = base(c, nd->in[1]), y = base(c, nd->id);
	LLVMValueRef s = LLVMBuildUDiv(c->b, p.chunk, ci(c, npb * nob), "");
	LLVMValueRef rest = LLVMBuildURem(c->b, p.chunk, ci(c, npb * nob), "");
	LLVMValueRef oh0 = imul(c, LLVMBuildUDiv(c->b, rest, ci(c, nob), ""), ci(c, rows));
	LLVMValueRef oh1 = imin(c, ci(c, k.OH), iadd(c, oh0, ci(c, rows)));
	LLVMValueRef o0 = imul(c, LLVMBuildURem(c->b, rest, ci(c, nob), ""), ci(c, ob));
	LLVMValueRef xs0 = cg_at(c, x, imul(c, s, ci(c, k.C * k.H * k.W)));
	Gemm g = {.M = isub(c, imin(c, ci(c, k.O), iadd(c, o0, ci(c, ob))), o0), .N = imul(c, isub(c, oh1, oh0), ci(c, k.OW)),
	          .K = ci(c, k.R), .a = cg_at(c, w, imul(c, o0, ci(c, k.R))), .rsa = ci(c, k.R), .csa = ci(c, 1),
	          .c = cg_at(c, y, iadd(c, imul(c, iadd(c, imul(c, s, ci(c, k.O)), o0), ci(c, k.P)), imul(c, oh0, ci(c, k.OW)))),
	          .ldc = ci(c, k.P)};
	if (nob == 1)
		g.M = ci(c, k.O);
	if (nd->nin == 3)
		g.bias = cg_at(c, base(c, nd->in[2]), o0);
	if (k.direct) {
		g.b = cg_at(c, xs0, imul(c, oh0, ci(c, k.OW)));
		g.ldb = ci(c, k.P);
	} else {
		cg_im2col(c, &k, xs0, p.scratch, ci(c, 0), k.R, oh0, oh1, ci(c, rows * k.OW), 0);
		g.b = p.scratch;
		g.ldb = ci(c, rows * k.OW);
	}
	cg_gemm(c, &g);
	par_close(c, &p);
	return 0;
}

/* avgpool's divisor: y[row + ow] /= in-bounds rows * in-bounds columns. */
static void avg_divide(Cg *c, LLVMValueRef y, LLVMValueRef row, LLVMValueRef oh, const Node *nd, int64_t H,
                       int64_t W, int64_t OW)
{
	int64_t KH = nd->a.kernel[0], KW = nd->a.kernel[1];
	LLVMValueRef h0 = isub(c, imul(c, oh, ci(c, nd->a.stride[0])), ci(c, nd->a.pad[0]));
	LLVMValueRef hi = imin(c, ci(c, H), iadd(c, h0, ci(c, KH))), lo = imax(c, ci(c, 0), h0);
	LLVMValueRef rows = isub(c, hi, lo);
	Loop l;
	loop_open(c, &l, ci(c, 0), ci(c, OW));
	LLVMValueRef w0 = isub(c, imul(c, l.i, ci(c, nd->a.stride[1])), ci(c, nd->a.pad[1]));
	hi = imin(c, ci(c, W), iadd(c, w0, ci(c, KW)));
	lo = imax(c, ci(c, 0), w0);
	LLVMValueRef cols = isub(c, hi, lo);
	LLVMValueRef cnt = LLVMBuildSIToFP(c->b, imul(c, rows, cols), c->f32, "");
	LLVMValueRef at = iadd(c, row, l.i);
	st(c, y, at, LLVMBuildFDiv(c->b, ld(c, y, at), cnt, ""));
	loop_close(c, &l);
}

/* maxpool (padding is -inf) / avgpool (mean over in-bounds elements). */
int cg_pool(Cg *c, const Node *nd)
{
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape;
	int64_t H = xs->d[2], W = xs->d[3], OH = nd->shape.d[2], OW = nd->shape.d[3];
	int64_t KH = nd->a.kernel[0], KW = nd->a.kernel[1];
	int max = nd->op == OP_MAXPOOL;
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->id);
	Loop lpl, loh, lkh, lkw, low;
	loop_open(c, &lpl, ci(c, 0), dimsv(c, xs, 0, 2));
	loop_open(c, &loh, ci(c, 0), ci(c, OH));
	LLVMValueRef yrow = imul(c, iadd(c, imul(c, lpl.i, ci(c, OH)), loh.i), ci(c, OW));
	cg_fill(c, y, yrow, ci(c, OW), cf(c, max ? -INFINITY : 0.0f));
	loop_open(c, &lkh, ci(c, 0), ci(c, KH));
	LLVMValueRef ih;
	LLVMBasicBlockRef join = cg_row_in_bounds(c, loh.i, lkh.i, nd->a.stride[0], nd->a.pad[0], H, &ih);
	LLVMValueRef xrow = imul(c, iadd(c, imul(c, lpl.i, ci(c, H)), ih), ci(c, W));
	loop_open(c, &lkw, ci(c, 0), ci(c, KW));
	LLVMValueRef from, to;
	cg_span(c, lkw.i, nd->a.stride[1], nd->a.pad[1], W, OW, &from, &to);
	LLVMValueRef xoff = isub(c, iadd(c, xrow, lkw.i), ci(c, nd->a.pad[1]));
	loop_open(c, &low, from, to);
	LLVMValueRef at = iadd(c, yrow, low.i);
	LLVMValueRef xv = ld(c, x, iadd(c, xoff, imul(c, low.i, ci(c, nd->a.stride[1]))));
	st(c, y, at, max ? f_max(c, ld(c, y, at), xv) : f_add(c, ld(c, y, at), xv));
	low.keep = 1;
	loop_close(c, &low);
	loop_close(c, &lkw);
	if_close(c, join);
	loop_close(c, &lkh);
	if (!max)
		avg_divide(c, y, yrow, loh.i, nd, H, W, OW);
	loop_close(c, &loh);
	loop_close(c, &lpl);
	return 0;
}
