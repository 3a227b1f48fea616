/*
** im2col.c -- the column matrix of a convolution and its inverse scatter,
** which turn conv2d, conv2d_dx and conv2d_dw into GEMMs (gemm.c).
**
** A sample's column matrix has one row per tap (c, kh, kw) and one column
** per output position (oh, ow); padding reads as 0. The emitters build it
** for a block of rows or of output rows at a time, into the chunk's
** scratch, so it stays in cache for the GEMM that reads it.
**
** The transposed matrix (conv2d_dw's, one row per position) is built V
** taps by V positions at a time (V = 8, or 4 on narrow planes): V masked
** vector loads along the input rows (padding lanes off, strided taps
** picked out of a wider load), a V x V transpose in registers, V vector
** stores. Scalar loops take the positions past the last whole V of a row
** and the taps past the last whole V.
*/
#include "cg.h"

/* Split tap r into its channel, row and column: r = (ch*KH + kh)*KW + kw. */
static void tap(Cg *c, const Conv *k, LLVMValueRef r, LLVMValueRef *ch, LLVMValueRef *kh, LLVMValueRef *kw)
{
	*ch = LLVMBuildUDiv(c->b, r, ci(c, k->KH * k->KW), "");
	*kh = LLVMBuildURem(c->b, LLVMBuildUDiv(c->b, r, ci(c, k->KW), ""), ci(c, k->KH), "");
	*kw = LLVMBuildURem(c->b, r, ci(c, k->KW), "");
}

/* The column matrix by scalar loops, positions [ow0, ow1) of each output row (see cg_im2col). */
static void cols_scalar(Cg *c, const Conv *k, LLVMValueRef x, LLVMValueRef cols, LLVMValueRef r0, int64_t R,
                        LLVMValueRef oh0, LLVMValueRef oh1, int64_t ow0, int64_t ow1, LLVMValueRef lda,
                        int transposed)
{
	Loop lr, loh, low;
	loop_open(c, &lr, ci(c, 0), ci(c, R));
	LLVMValueRef ch, kh, kw;
	tap(c, k, iadd(c, r0, lr.i), &ch, &kh, &kw);
	LLVMValueRef plane = imul(c, ch, ci(c, k->H * k->W));
	loop_open(c, &loh, oh0, oh1);
	LLVMValueRef ih = iadd(c, isub(c, imul(c, loh.i, ci(c, k->sh)), ci(c, k->ph)), kh);
	LLVMValueRef rowok = LLVMBuildICmp(c->b, LLVMIntULT, ih, ci(c, k->H), "");
	LLVMValueRef xrow = iadd(c, plane, imul(c, ih, ci(c, k->W)));
	LLVMValueRef col0 = imul(c, isub(c, loh.i, oh0), ci(c, k->OW));
	loop_open(c, &low, ci(c, ow0), ci(c, ow1));
	LLVMValueRef iw = iadd(c, isub(c, imul(c, low.i, ci(c, k->sw)), ci(c, k->pw)), kw);
	LLVMValueRef ok = LLVMBuildAnd(c->b, rowok, LLVMBuildICmp(c->b, LLVMIntULT, iw, ci(c, k->W), ""), "");
	LLVMValueRef idx = LLVMBuildSelect(c->b, ok, iadd(c, xrow, iw), ci(c, 0), "");
	LLVMValueRef v = LLVMBuildSelect(c->b, ok, ld(c, x, idx), cf(c, 0), "");
	LLVMValueRef col = iadd(c, col0, low.i);
	st(c, cols, transposed ? iadd(c, imul(c, col, lda), lr.i) : iadd(c, imul(c, lr.i, lda), col), v);
	loop_close(c, &low);
	loop_close(c, &loh);
	loop_close(c, &lr);
}

/* The constant i32 vector a, a + step, a + 2 step, ... of n lanes. */
static LLVMValueRef iota32(Cg *c, int n, int a, int step)
{
	LLVMValueRef e[32];
	for (int i = 0; i < n; i++)
		e[i] = LLVMConstInt(c->i32, (unsigned long long)(a + i * step), 0);
	return LLVMConstVector(e, (unsigned)n);
}

/* shufflevector(a, b, idx[0..n)). */
static LLVMValueRef shuf(Cg *c, LLVMValueRef a, LLVMValueRef b, const int *idx, int n)
{
	LLVMValueRef e[16];
	for (int i = 0; i < n; i++)
		e[i] = LLVMConstInt(c->i32, (unsigned long long)idx[i], 0);
	return LLVMBuildShuffleVector(c->b, a, b, LLVMConstVector(e, (unsigned)n), "");
}

/* The scalar i32 x in n lanes. */
static LLVMValueRef splat32(Cg *c, LLVMValueRef x, int n)
{
	LLVMTypeRef t = LLVMVectorType(c->i32, (unsigned)n);
	LLVMValueRef v = LLVMBuildInsertElement(c->b, LLVMGetUndef(t), x, ci(c, 0), "");
	return LLVMBuildShuffleVector(c->b, v, LLVMGetUndef(t), LLVMConstNull(t), "");
}

/* Transpose the V x V block v[row][lane] in place (V = 4 or 8): unpack
** pairs of rows, then pairs of pairs, then (V = 8) the 128-bit halves. */
static void transpose(Cg *c, LLVMValueRef *v, int V)
{
	static const int lo8[8] = {0, 8, 1, 9, 4, 12, 5, 13}, hi8[8] = {2, 10, 3, 11, 6, 14, 7, 15};
	static const int lo4[8] = {0, 1, 8, 9, 4, 5, 12, 13}, hi4[8] = {2, 3, 10, 11, 6, 7, 14, 15};
	static const int lo2[8] = {0, 1, 2, 3, 8, 9, 10, 11}, hi2[8] = {4, 5, 6, 7, 12, 13, 14, 15};
	static const int lo[4] = {0, 4, 1, 5}, hi[4] = {2, 6, 3, 7}, plo[4] = {0, 1, 4, 5}, phi[4] = {2, 3, 6, 7};
	LLVMValueRef t[8], s[8];
	if (V == 4) {
		for (int i = 0; i < 2; i++) {
			t[2 * i] = shuf(c, v[2 * i], v[2 * i + 1], lo, 4);
			t[2 * i + 1] = shuf(c, v[2 * i], v[2 * i + 1], hi, 4);
		}
		v[0] = shuf(c, t[0], t[2], plo, 4);
		v[1] = shuf(c, t[0], t[2], phi, 4);
		v[2] = shuf(c, t[1], t[3], plo, 4);
		v[3] = shuf(c, t[1], t[3], phi, 4);
		return;
	}
	for (int i = 0; i < 4; i++) {
		t[2 * i] = shuf(c, v[2 * i], v[2 * i + 1], lo8, 8);
		t[2 * i + 1] = shuf(c, v[2 * i], v[2 * i + 1], hi8, 8);
	}
	for (int h = 0; h < 2; h++)     /* rows 4h..4h+3: s[4h + q] holds positions q and q + 4 */
		for (int i = 0; i < 2; i++) {
			s[4 * h + 2 * i] = shuf(c, t[4 * h + i], t[4 * h + i + 2], lo4, 8);
			s[4 * h + 2 * i + 1] = shuf(c, t[4 * h + i], t[4 * h + i + 2], hi4, 8);
		}
	for (int q = 0; q < 4; q++) {
		v[q] = shuf(c, s[q], s[q + 4], lo2, 8);
		v[q + 4] = shuf(c, s[q], s[q + 4], hi2, 8);
	}
}

/* The transposed column matrix of taps [r0, r0 + R) (R a multiple of V),
** positions [0, OW/V*V) of each output row, V x V blocks at a time (see the header). */
static void cols_vector(Cg *c, const Conv *k, LLVMValueRef x, LLVMValueRef cols, LLVMValueRef r0, int64_t R,
                        LLVMValueRef oh0, LLVMValueRef oh1, LLVMValueRef lda, int V)
{
	int L = V * (int)k->sw;    /* lanes of one load: V taps' worth of input columns */
	LLVMTypeRef lt = LLVMVectorType(c->f32, (unsigned)L);
	LLVMTypeRef mt = LLVMVectorType(LLVMInt1TypeInContext(c->ctx), (unsigned)L), tys[2] = {lt, c->ptr};
	LLVMValueRef lane = iota32(c, L, 0, 1), width = splat32(c, LLVMConstInt(c->i32, (unsigned long long)k->W, 0), L);
	LLVMValueRef pick = iota32(c, V, 0, (int)k->sw);
	LLVMValueRef row[8], first[8], v[8];
	Loop lg, loh, lb;
	loop_open(c, &lg, ci(c, 0), ci(c, R / V));
	LLVMValueRef g0 = imul(c, lg.i, ci(c, V));
	LLVMValueRef plane[8], kh[8], kw[8];
	for (int t = 0; t < V; t++) {
		LLVMValueRef ch;
		tap(c, k, iadd(c, r0, iadd(c, g0, ci(c, t))), &ch, &kh[t], &kw[t]);
		plane[t] = imul(c, ch, ci(c, k->H * k->W));
	}
	loop_open(c, &loh, oh0, oh1);
	LLVMValueRef ok[8];
	for (int t = 0; t < V; t++) {
		LLVMValueRef ih = iadd(c, isub(c, imul(c, loh.i, ci(c, k->sh)), ci(c, k->ph)), kh[t]);
		ok[t] = LLVMBuildICmp(c->b, LLVMIntULT, ih, ci(c, k->H), "");
		LLVMValueRef ihc = LLVMBuildSelect(c->b, ok[t], ih, ci(c, 0), "");
		first[t] = isub(c, kw[t], ci(c, k->pw));                    /* input column of position 0 */
		row[t] = iadd(c, iadd(c, plane[t], imul(c, ihc, ci(c, k->W))), first[t]);
	}
	LLVMValueRef col0 = imul(c, isub(c, loh.i, oh0), ci(c, k->OW));
	loop_open(c, &lb, ci(c, 0), ci(c, k->OW / V));
	LLVMValueRef ow0 = imul(c, lb.i, ci(c, V)), in0 = imul(c, ow0, ci(c, k->sw));
	for (int t = 0; t < V; t++) {
		/* lane j reads input column first + in0 + j: on when it is inside the row */
		LLVMValueRef iw = LLVMBuildTrunc(c->b, iadd(c, first[t], in0), c->i32, "");
		LLVMValueRef on = LLVMBuildICmp(c->b, LLVMIntULT, LLVMBuildAdd(c->b, splat32(c, iw, L), lane, ""), width, "");
		on = LLVMBuildSelect(c->b, ok[t], on, LLVMConstNull(mt), "");
		LLVMValueRef at = iadd(c, row[t], in0);
		LLVMValueRef p = LLVMBuildGEP2(c->b, c->f32, x, &at, 1, "");   /* not inbounds: padding lanes may lie outside */
		LLVMValueRef args[4] = {p, LLVMConstInt(c->i32, 4, 0), on, LLVMConstNull(lt)};
		v[t] = cg_intrinsic(c, "llvm.masked.load", tys, 2, args, 4);
		if (k->sw > 1)
			v[t] = LLVMBuildShuffleVector(c->b, v[t], LLVMGetUndef(lt), pick, "");
	}
	transpose(c, v, V);
	for (int q = 0; q < V; q++) {
		LLVMValueRef at = iadd(c, imul(c, iadd(c, col0, iadd(c, ow0, ci(c, q))), lda), g0);
		LLVMSetAlignment(LLVMBuildStore(c->b, v[q], cg_at(c, cols, at)), 4);
	}
	loop_close(c, &lb);
	loop_close(c, &loh);
	loop_close(c, &lg);
}

void cg_im2col(Cg *c, const Conv *k, LLVMValueRef x, LLVMValueRef cols, LLVMValueRef r0, int64_t R,
               LLVMValueRef oh0, LLVMValueRef oh1, LLVMValueRef lda, int transposed)
{
	int V = !transposed || k->sw > 4 ? 0 : k->OW >= 8 && R >= 8 ? 8 : k->OW >= 4 && R >= 4 ? 4 : 0;
	if (!V) {
		cols_scalar(c, k, x, cols, r0, R, oh0, oh1, 0, k->OW, lda, transposed);
		return;
	}
	int64_t RV = R / V * V, OWV = k->OW / V * V;
	cols_vector(c, k, x, cols, r0, RV, oh0, oh1, lda, V);
	if (OWV < k->OW)
		cols_scalar(c, k, x, cols, r0, RV, oh0, oh1, OWV, k->OW, lda, 1);
	if (RV < R)
		cols_scalar(c, k, x, cg_at(c, cols, ci(c, RV)), iadd(c, r0, ci(c, RV)), R - RV, oh0, oh1, 0, k->OW, lda, 1);
}

void cg_col2im(Cg *c, const Conv *k, LLVMValueRef cols, LLVMValueRef dx, LLVMValueRef c0, int64_t R)
{
	LLVMValueRef first = imul(c, c0, ci(c, k->H * k->W));
	cg_fill(c, dx, first, ci(c, R / (k->KH * k->KW) * k->H * k->W), cf(c, 0));
	Loop lr, loh, low;
	loop_open(c, &lr, ci(c, 0), ci(c, R));
	LLVMValueRef ch, kh, kw;
	tap(c, k, lr.i, &ch, &kh, &kw);
	LLVMValueRef plane = iadd(c, first, imul(c, ch, ci(c, k->H * k->W)));
	loop_open(c, &loh, ci(c, 0), ci(c, k->OH));
	LLVMValueRef ih;
	LLVMBasicBlockRef join = cg_row_in_bounds(c, loh.i, kh, k->sh, k->ph, k->H, &ih);
	LLVMValueRef xoff = isub(c, iadd(c, iadd(c, plane, imul(c, ih, ci(c, k->W))), kw), ci(c, k->pw));
	LLVMValueRef crow = iadd(c, imul(c, lr.i, ci(c, k->P)), imul(c, loh.i, ci(c, k->OW)));
	LLVMValueRef from, to;
	cg_span(c, kw, k->sw, k->pw, k->W, k->OW, &from, &to);
	loop_open(c, &low, from, to);
	LLVMValueRef a = iadd(c, xoff, imul(c, low.i, ci(c, k->sw)));
	st(c, dx, a, f_add(c, ld(c, dx, a), ld(c, cols, iadd(c, crow, low.i))));
	low.keep = 1;
	loop_close(c, &low);
	if_close(c, join);
	loop_close(c, &loh);
	loop_close(c, &lr);
}
