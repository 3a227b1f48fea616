/*
** loops.c -- the loop-nest builder and the small value helpers every op
** emitter uses.
**
** A loop is emitted in rotated form: a guard `lo < hi` in the current block,
** then a body that starts with the counter's phi and ends with the latch
** (i+1 < hi) branching back. Nested loops are opened inside the body;
** loop_close always closes the innermost one and adds the latch's phi edge
** from whatever block the body ended in, so bodies may contain ifs and inner
** loops. Accumulators are allocas in the kernel's entry block, which
** mem2reg/SROA turn into phis; that keeps emitters free of phi bookkeeping.
*/
#include "cg.h"

#include <string.h>

#include <llvm-c/DebugInfo.h>

/* Open `for i in [lo, hi)`; the builder is left in the loop body. */
void loop_open(Cg *c, Loop *l, LLVMValueRef lo, LLVMValueRef hi)
{
	LLVMBasicBlockRef pre = LLVMGetInsertBlock(c->b);
	l->body = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "loop");
	l->exit = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "done");
	l->hi = hi;
	l->keep = 0;
	LLVMBuildCondBr(c->b, ilt(c, lo, hi), l->body, l->exit);
	LLVMPositionBuilderAtEnd(c->b, l->body);
	l->i = LLVMBuildPhi(c->b, c->i64, "i");
	LLVMAddIncoming(l->i, &lo, &pre, 1);
}

/* Attach loop metadata {self, {"llvm.loop.unroll.disable"}} to the latch
** branch br: the vectoriser still widens and interleaves the loop, but the
** full unroller leaves it alone, so short constant trip counts stay loops. */
static void no_full_unroll(Cg *c, LLVMValueRef br)
{
	LLVMMetadataRef tmp = LLVMTemporaryMDNode(c->ctx, NULL, 0);
	LLVMMetadataRef s = LLVMMDStringInContext2(c->ctx, "llvm.loop.unroll.disable", 24);
	LLVMMetadataRef ops[2] = {tmp, LLVMMDNodeInContext2(c->ctx, &s, 1)};
	LLVMMetadataRef id = LLVMMDNodeInContext2(c->ctx, ops, 2);
	LLVMMetadataReplaceAllUsesWith(tmp, id);
	LLVMSetMetadata(br, LLVMGetMDKindIDInContext(c->ctx, "llvm.loop", 9), LLVMMetadataAsValue(c->ctx, id));
}

/* Emit the latch of l and continue after the loop. */
void loop_close(Cg *c, Loop *l)
{
	LLVMValueRef next = LLVMBuildNSWAdd(c->b, l->i, ci(c, 1), "i.next");
	LLVMBasicBlockRef latch = LLVMGetInsertBlock(c->b);
	LLVMValueRef br = LLVMBuildCondBr(c->b, ilt(c, next, l->hi), l->body, l->exit);
	if (l->keep)
		no_full_unroll(c, br);
	LLVMAddIncoming(l->i, &next, &latch, 1);
	LLVMMoveBasicBlockAfter(l->exit, latch);
	LLVMPositionBuilderAtEnd(c->b, l->exit);
}

/* Open depth loops over [0, bounds[k]), outermost first. */
void nest_open(Cg *c, Nest *s, int depth, LLVMValueRef const *bounds)
{
	s->depth = depth;
	for (int k = 0; k < depth; k++)
		loop_open(c, &s->l[k], ci(c, 0), bounds[k]);
}

/* Close every loop of the nest, innermost first. */
void nest_close(Cg *c, Nest *s)
{
	for (int k = s->depth - 1; k >= 0; k--)
		loop_close(c, &s->l[k]);
}

/* The row-major flat index of the nest's counters. */
LLVMValueRef nest_flat(Cg *c, const Nest *s, LLVMValueRef const *bounds)
{
	LLVMValueRef f = ci(c, 0);
	for (int k = 0; k < s->depth; k++)
		f = iadd(c, imul(c, f, bounds[k]), s->l[k].i);
	return f;
}

/* if (cond) { ... } -- returns the join block for if_close. */
LLVMBasicBlockRef if_open(Cg *c, LLVMValueRef cond)
{
	LLVMBasicBlockRef then = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "then");
	LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "join");
	LLVMBuildCondBr(c->b, cond, then, join);
	LLVMPositionBuilderAtEnd(c->b, then);
	return join;
}

/* End the then-branch and continue at join. */
void if_close(Cg *c, LLVMBasicBlockRef join)
{
	LLVMBasicBlockRef last = LLVMGetInsertBlock(c->b);
	LLVMBuildBr(c->b, join);
	LLVMMoveBasicBlockAfter(join, last);
	LLVMPositionBuilderAtEnd(c->b, join);
}

/* An i64 constant. */
LLVMValueRef ci(Cg *c, int64_t v)
{
	return LLVMConstInt(c->i64, (unsigned long long)v, 1);
}

/* An f32 constant. */
LLVMValueRef cf(Cg *c, float v)
{
	return LLVMConstReal(c->f32, v);
}

/* Index arithmetic: all indices are non-negative i64 that cannot overflow. */
LLVMValueRef iadd(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildNSWAdd(c->b, a, b, "");
}

/* a - b, no signed wrap. */
LLVMValueRef isub(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildNSWSub(c->b, a, b, "");
}

/* a * b, no signed wrap. */
LLVMValueRef imul(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildNSWMul(c->b, a, b, "");
}

/* Signed a < b as an i1. */
LLVMValueRef ilt(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildICmp(c->b, LLVMIntSLT, a, b, "");
}

/* Signed minimum. */
LLVMValueRef imin(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildSelect(c->b, ilt(c, a, b), a, b, "");
}

/* Signed maximum. */
LLVMValueRef imax(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildSelect(c->b, ilt(c, a, b), b, a, "");
}

/* floor(a / b) for a constant b > 0. */
LLVMValueRef ifloordiv(Cg *c, LLVMValueRef a, int64_t b)
{
	LLVMValueRef neg = ilt(c, a, ci(c, 0));
	LLVMValueRef num = LLVMBuildSelect(c->b, neg, isub(c, a, ci(c, b - 1)), a, "");
	return LLVMBuildSDiv(c->b, num, ci(c, b), "");
}

/* ceil(a / b) for a constant b > 0. */
LLVMValueRef iceildiv(Cg *c, LLVMValueRef a, int64_t b)
{
	return ifloordiv(c, iadd(c, a, ci(c, b - 1)), b);
}

/* Dimension i of s; the batch dimension is the kernel's n argument. */
LLVMValueRef dimv(Cg *c, const Shape *s, int i)
{
	return s->d[i] == IR_N ? c->n : ci(c, s->d[i]);
}

/* Product of dims [from, to) of s (1 when empty). */
LLVMValueRef dimsv(Cg *c, const Shape *s, int from, int to)
{
	LLVMValueRef v = ci(c, 1);
	for (int i = from; i < to; i++)
		v = imul(c, v, dimv(c, s, i));
	return v;
}

/* Load p[idx] as f32. */
LLVMValueRef ld(Cg *c, LLVMValueRef p, LLVMValueRef idx)
{
	LLVMValueRef a = LLVMBuildInBoundsGEP2(c->b, c->f32, p, &idx, 1, "");
	LLVMValueRef v = LLVMBuildLoad2(c->b, c->f32, a, "");
	LLVMSetAlignment(v, 4);
	return v;
}

/* Store v to p[idx]. */
void st(Cg *c, LLVMValueRef p, LLVMValueRef idx, LLVMValueRef v)
{
	LLVMValueRef a = LLVMBuildInBoundsGEP2(c->b, c->f32, p, &idx, 1, "");
	LLVMSetAlignment(LLVMBuildStore(c->b, v, a), 4);
}

/* &p[idx] for an f32 p. */
LLVMValueRef cg_at(Cg *c, LLVMValueRef p, LLVMValueRef idx)
{
	return LLVMBuildInBoundsGEP2(c->b, c->f32, p, &idx, 1, "");
}

/* Load the i32 at p[idx], sign-extended to i64. */
LLVMValueRef ld_i32(Cg *c, LLVMValueRef p, LLVMValueRef idx)
{
	LLVMValueRef a = LLVMBuildInBoundsGEP2(c->b, c->i32, p, &idx, 1, "");
	LLVMValueRef v = LLVMBuildLoad2(c->b, c->i32, a, "");
	LLVMSetAlignment(v, 4);
	return LLVMBuildSExt(c->b, v, c->i64, "");
}

/* A new variable of type t in the entry block, initialised (here) to init. */
LLVMValueRef var_of(Cg *c, LLVMTypeRef t, LLVMValueRef init)
{
	LLVMValueRef v = LLVMBuildAlloca(c->ab, t, "acc"); /* c->ab sits at the end of the entry block */
	var_set(c, v, init);
	return v;
}

/* A new f32 variable initialised (here) to init. */
LLVMValueRef var_new(Cg *c, LLVMValueRef init)
{
	return var_of(c, c->f32, init);
}

/* A new i64 variable initialised (here) to init. */
LLVMValueRef var_new_i64(Cg *c, LLVMValueRef init)
{
	return var_of(c, c->i64, init);
}

/* The variable's current value. */
LLVMValueRef var_get(Cg *c, LLVMValueRef v)
{
	return LLVMBuildLoad2(c->b, LLVMGetAllocatedType(v), v, "");
}

/* Assign x to the variable. */
void var_set(Cg *c, LLVMValueRef v, LLVMValueRef x)
{
	LLVMBuildStore(c->b, x, v);
}

/* a + b in IEEE order. */
LLVMValueRef f_add(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildFAdd(c->b, a, b, "");
}

/* a - b in IEEE order. */
LLVMValueRef f_sub(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildFSub(c->b, a, b, "");
}

/* a / b, correctly rounded. */
LLVMValueRef f_div(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
	return LLVMBuildFDiv(c->b, a, b, "");
}

/* A signed i64 as the nearest f32. */
LLVMValueRef i2f(Cg *c, LLVMValueRef i)
{
	return LLVMBuildSIToFP(c->b, i, c->f32, "");
}

/* a + b that may be reassociated and contracted: for reductions and
** multiply-accumulate, so the vectoriser can split the sum into lanes. */
LLVMValueRef f_acc(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
	LLVMValueRef v = LLVMBuildFAdd(c->b, a, b, "");
	LLVMSetFastMathFlags(v, LLVMFastMathAllowReassoc | LLVMFastMathAllowContract);
	return v;
}

/* a * b that may be contracted into an fma with the add that uses it. */
LLVMValueRef f_mul(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
	LLVMValueRef v = LLVMBuildFMul(c->b, a, b, "");
	LLVMSetFastMathFlags(v, LLVMFastMathAllowContract);
	return v;
}

/* Call the overloaded intrinsic name with types tys on args. */
LLVMValueRef cg_intrinsic(Cg *c, const char *name, LLVMTypeRef *tys, int ntys, LLVMValueRef *args, int nargs)
{
	unsigned id = LLVMLookupIntrinsicID(name, strlen(name));
	LLVMValueRef f = LLVMGetIntrinsicDeclaration(c->mod, id, tys, (size_t)ntys);
	LLVMTypeRef ft = LLVMIntrinsicGetType(c->ctx, id, tys, (size_t)ntys);
	return LLVMBuildCall2(c->b, ft, f, args, (unsigned)nargs, "");
}

/* Call the two-operand intrinsic llvm.<name>.f32. */
static LLVMValueRef f_call2(Cg *c, const char *name, LLVMValueRef a, LLVMValueRef b)
{
	LLVMValueRef args[2] = {a, b};
	return cg_intrinsic(c, name, &c->f32, 1, args, 2);
}

/* max(a, b), NaN if either is NaN (llvm.maximum). */
LLVMValueRef f_max(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
	return f_call2(c, "llvm.maximum", a, b);
}

/* min(a, b), NaN if either is NaN (llvm.minimum). */
LLVMValueRef f_min(Cg *c, LLVMValueRef a, LLVMValueRef b)
{
	return f_call2(c, "llvm.minimum", a, b);
}

/* Call the one-operand intrinsic (e.g. "llvm.exp") on an f32. */
LLVMValueRef f_call(Cg *c, const char *intrinsic, LLVMValueRef x)
{
	return cg_intrinsic(c, intrinsic, &c->f32, 1, &x, 1);
}

/* tanhf(x) from libm (there is no llvm.tanh intrinsic in LLVM 19). */
LLVMValueRef f_tanh(Cg *c, LLVMValueRef x)
{
	LLVMTypeRef t = LLVMFunctionType(c->f32, &c->f32, 1, 0);
	LLVMValueRef f = LLVMGetNamedFunction(c->mod, "tanhf");
	if (!f)
		f = LLVMAddFunction(c->mod, "tanhf", t);
	return LLVMBuildCall2(c->b, t, f, &x, 1, "");
}
