/*
** im2col.c -- the column matrix of a convolution and its inverse scatter,
** which turn conv2d, conv2d_dx and conv2d_dw into GEMMs (gemm.c).
**
** A sample's column matrix has one row per tap (c, kh, kw) and one column
** per output position (oh, ow); padding reads as 0. The emitters build it
** for a block of rows or of output rows at a time, into the chunk's
** scratch, so it stays in cache for the GEMM that reads it.
*/
#include "cg.h"

/* Split tap r into its channel, row and column: r = (ch*KH + kh)*KW + kw. */
static void tap(Cg *c, const Conv *k, LLVMValueRef r, LLVMValueRef *ch, LLVMValueRef *kh, LLVMValueRef *kw)
{
	*ch = LLVMBuildUDiv(c->b, r, ci(c, k->KH * k->KW), "");
	*kh = LLVMBuildURem(c->b, LLVMBuildUDiv(c->b, r, ci(c, k->KW), ""), ci(c, k->KH), "");
	*kw = LLVMBuildURem(c->b, r, ci(c, k->KW), "");
}

void cg_im2col(Cg *c, const Conv *k, LLVMValueRef x, LLVMValueRef cols, LLVMValueRef r0, int64_t R,
               LLVMValueRef oh0, LLVMValueRef oh1, LLVMValueRef lda, int transposed)
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
	loop_open(c, &low, ci(c, 0), ci(c, k->OW));
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
