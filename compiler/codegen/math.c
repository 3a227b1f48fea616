/*
** math.c -- elementary functions as straight-line f32 arithmetic, so loops
** that call them vectorise (llvm.exp.f32 becomes one libm call per
** element: no vector math library is linked).
**
** exp: Cody-Waite range reduction x = n ln2 + r, |r| <= ln2/2, and the
** degree-6 polynomial of Cephes' expf for e^r (about 1 ulp); 2^n is built
** in the exponent bits. Below -87 the result is 0 (e^-87 is 1.6e-38, the
** edge of the normal range), above 88.7 it is +inf, NaN stays NaN.
*/
#include "cg.h"

/* a*b + d rounded once (llvm.fma: the vectoriser widens it to vfmadd). */
static LLVMValueRef f_fma(Cg *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef d)
{
	LLVMValueRef args[3] = {a, b, d};
	return cg_intrinsic(c, "llvm.fma", &c->f32, 1, args, 3);
}

/* c0 + x*(c1 + x*(c2 + ...)) for the n coefficients, highest degree first
** in p, one fused multiply-add per step. */
static LLVMValueRef horner(Cg *c, LLVMValueRef x, const float *p, int n)
{
	LLVMValueRef y = cf(c, p[0]);
	for (int i = 1; i < n; i++)
		y = f_fma(c, y, x, cf(c, p[i]));
	return y;
}

/* e^x for x in [-87, 88.7] (the reduction and polynomial, no guards);
** with high 0, x <= 0 only, where 2^n needs no second multiply. */
static LLVMValueRef exp_core(Cg *c, LLVMValueRef xc, int high)
{
	static const float p[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
	                           4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};
	LLVMValueRef n = f_call(c, "llvm.floor", f_fma(c, xc, cf(c, 1.44269504088896341f), cf(c, 0.5f)));
	LLVMValueRef r = f_fma(c, n, cf(c, 2.12194440e-4f), f_fma(c, n, cf(c, -0.693359375f), xc));
	LLVMValueRef y = f_add(c, f_fma(c, horner(c, r, p, 6), f_mul(c, r, r), r), cf(c, 1));
	/* 2^(n-1) from its exponent bits, times 2, where n runs to 128; else 2^n
	** (the same bits: scaling by a power of two is exact in the normal range) */
	LLVMValueRef bits = LLVMBuildShl(c->b, LLVMBuildAdd(c->b, LLVMBuildFPToSI(c->b, n, c->i32, ""),
	                                                    LLVMConstInt(c->i32, high ? 126 : 127, 0), ""),
	                                 LLVMConstInt(c->i32, 23, 0), "");
	LLVMValueRef scale = LLVMBuildBitCast(c->b, bits, c->f32, "");
	return high ? f_mul(c, f_mul(c, y, scale), cf(c, 2)) : f_mul(c, y, scale);
}

/* x itself where x is NaN, else y. */
static LLVMValueRef keep_nan(Cg *c, LLVMValueRef x, LLVMValueRef y)
{
	return LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealUNO, x, x, ""), x, y, "");
}

LLVMValueRef f_exp(Cg *c, LLVMValueRef x)
{
	LLVMValueRef xc = f_max(c, f_min(c, x, cf(c, 88.7f)), cf(c, -87.0f));
	LLVMValueRef y = exp_core(c, xc, 1);
	y = LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOLT, x, cf(c, -87.0f), ""), cf(c, 0), y, "");
	y = LLVMBuildSelect(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, x, cf(c, 88.7f), ""), cf(c, __builtin_inff()), y, "");
	return keep_nan(c, x, y);
}

LLVMValueRef f_exp_neg(Cg *c, LLVMValueRef a)
{
	return keep_nan(c, a, exp_core(c, LLVMBuildFNeg(c->b, a, ""), 0));
}
