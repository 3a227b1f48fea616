/*
** gemm.c -- the one GEMM lowering: C = A B (+ bias) or C += A B, on
** register-blocked micro-kernels written with explicit vectors and
** llvm.fma. Every matrix op (conv2d and its gradients through im2col,
** dense, matmul and its transposed forms) comes down to this.
**
** Schedule (BLIS's loop order, B packed, A read in place): K in blocks of
** KC (Target.kc); for each block, column tiles of NR = NV vectors of width
** W, each one's K x NR panel of B first copied to a contiguous buffer on
** the stack, and inside them row tiles of MR rows, so the panel stays in
** L1 while every row tile of A passes over it. A GEMM of one column tile
** (N <= NR: a convolution on a 4x4 plane at batch 1) has no panel to share
** among column tiles: it reads B in place and runs K unblocked, so each row
** tile streams its rows of A start to end (512x16x4608: 37 -> 62 GFLOP/s
** on one thread, where 256-float stretches of A kept prefetching short).
** The micro-kernel
** keeps an MR x NR tile of C in MR*NV vector registers: per k it loads NV
** vectors of a row of B, broadcasts MR elements of a column of A and
** issues MR*NV fused multiply-adds. A partial column tile uses masked
** loads and stores; the rows after the last full tile take tiles of
** descending powers of two rows. cg_gemm calls one of four module functions (C = AB,
** C += AB, and the two bias forms) whose sizes and strides are arguments,
** so the micro-kernels are compiled once per module.
**
** Summation order: every element of C is A's row times B's column summed
** over k in increasing order, block after block (one block when N <= NR),
** whatever the tile it falls in; how a GEMM is split into chunks depends on
** shapes only, never on the thread count, so results are the same at any
** thread count.
*/
#include "cg.h"

#define NV 2        /* vectors per row of a C tile (Target.nr = NV * w) */

/* The vector shape of the target: width W lanes, MR rows per tile. */
typedef struct Vec {
	int w, mr;
	LLVMTypeRef t;          /* <W x float> */
	LLVMTypeRef mt;         /* <W x i1> */
} Vec;

static Vec vec(Cg *c)
{
	Vec v;
	v.w = c->tgt.w;
	v.mr = c->tgt.mr;            /* MR*NV accumulators + NV + 1 of the target's registers */
	v.t = LLVMVectorType(c->f32, (unsigned)v.w);
	v.mt = LLVMVectorType(LLVMInt1TypeInContext(c->ctx), (unsigned)v.w);
	return v;
}

/* The lanes of vector v of a tile row that lie before rem columns: lane i
** is on iff v*W + i < rem. */
static LLVMValueRef lanes(Cg *c, const Vec *vt, int v, LLVMValueRef rem)
{
	LLVMValueRef iota[16], splat = LLVMBuildInsertElement(c->b, LLVMGetUndef(LLVMVectorType(c->i64, (unsigned)vt->w)),
	                                                      rem, ci(c, 0), "");
	for (int i = 0; i < vt->w; i++)
		iota[i] = ci(c, (int64_t)v * vt->w + i);
	LLVMValueRef zero = LLVMConstNull(LLVMVectorType(c->i32, (unsigned)vt->w));
	splat = LLVMBuildShuffleVector(c->b, splat, LLVMGetUndef(LLVMTypeOf(splat)), zero, "");
	return LLVMBuildICmp(c->b, LLVMIntSLT, LLVMConstVector(iota, (unsigned)vt->w), splat, "");
}

/* Load the vector at p (masked by mask unless NULL: off lanes read 0). */
static LLVMValueRef vload(Cg *c, const Vec *vt, LLVMValueRef p, LLVMValueRef mask)
{
	if (!mask) {
		LLVMValueRef v = LLVMBuildLoad2(c->b, vt->t, p, "");
		LLVMSetAlignment(v, 4);
		return v;
	}
	LLVMTypeRef tys[2] = {vt->t, c->ptr};
	LLVMValueRef args[4] = {p, LLVMConstInt(c->i32, 4, 0), mask, LLVMConstNull(vt->t)};
	return cg_intrinsic(c, "llvm.masked.load", tys, 2, args, 4);
}

/* Store vector x at p (masked by mask unless NULL). */
static void vstore(Cg *c, const Vec *vt, LLVMValueRef p, LLVMValueRef x, LLVMValueRef mask)
{
	if (!mask) {
		LLVMSetAlignment(LLVMBuildStore(c->b, x, p), 4);
		return;
	}
	LLVMTypeRef tys[2] = {vt->t, c->ptr};
	LLVMValueRef args[4] = {x, p, LLVMConstInt(c->i32, 4, 0), mask};
	cg_intrinsic(c, "llvm.masked.store", tys, 2, args, 4);
}

/* The scalar x in every lane. */
static LLVMValueRef splat(Cg *c, const Vec *vt, LLVMValueRef x)
{
	LLVMValueRef v = LLVMBuildInsertElement(c->b, LLVMGetUndef(vt->t), x, ci(c, 0), "");
	return LLVMBuildShuffleVector(c->b, v, LLVMGetUndef(vt->t), LLVMConstNull(LLVMVectorType(c->i32, (unsigned)vt->w)),
	                              "");
}

/* Where a micro-kernel's tile starts and how it starts. */
typedef struct Tile {
	LLVMValueRef m0, j0;    /* first row and column */
	int mr;                 /* rows */
	LLVMValueRef rem;       /* columns left from j0 when fewer than NR, else NULL */
	LLVMValueRef k0, k1;    /* the k block */
	LLVMValueRef start;     /* how the tile starts: the GEMM's start in the first k block, else C */
	LLVMValueRef pb;        /* B's K x NR panel of this column tile, packed (see pack) */
} Tile;

/* How a GEMM's C starts (the function's last argument, known at run time
** only, so one function serves all four): */
enum { START_ZERO, START_C, START_BIAS_ROWS, START_BIAS_COLS };

/* `if (start == mode)`: opens it and returns its join. */
static LLVMBasicBlockRef if_mode(Cg *c, LLVMValueRef start, int mode)
{
	return if_open(c, LLVMBuildICmp(c->b, LLVMIntEQ, start, ci(c, mode), ""));
}

/* Vector v of C's row at crow (masked unless mask is NULL). */
static LLVMValueRef cload(Cg *c, const Vec *vt, const Gemm *g, LLVMValueRef crow, int v, LLVMValueRef mask)
{
	return vload(c, vt, cg_at(c, g->c, iadd(c, crow, ci(c, (int64_t)v * vt->w))), mask);
}

/* One micro-kernel: C tile t (+)= A[m0.., k0..k1) B[k0..k1), j0..]. */
static void micro(Cg *c, const Gemm *g, const Vec *vt, const Tile *t)
{
	LLVMValueRef acc[16][NV], mask[NV], crow[16], row[16];
	for (int v = 0; v < NV; v++)
		mask[v] = t->rem ? lanes(c, vt, v, t->rem) : NULL;
	for (int r = 0; r < t->mr; r++) {
		row[r] = iadd(c, t->m0, ci(c, r));
		crow[r] = iadd(c, imul(c, row[r], g->ldc), t->j0);
		for (int v = 0; v < NV; v++)
			acc[r][v] = var_of(c, vt->t, LLVMConstNull(vt->t));
	}
	{   /* from 0, C, or the bias per row or per column */
		LLVMBasicBlockRef join = if_mode(c, t->start, START_C);
		for (int r = 0; r < t->mr; r++)
			for (int v = 0; v < NV; v++)
				var_set(c, acc[r][v], cload(c, vt, g, crow[r], v, mask[v]));
		if_close(c, join);
		join = if_mode(c, t->start, START_BIAS_ROWS);
		for (int r = 0; r < t->mr; r++) {
			LLVMValueRef b = splat(c, vt, ld(c, g->bias, row[r]));
			for (int v = 0; v < NV; v++)
				var_set(c, acc[r][v], b);
		}
		if_close(c, join);
		join = if_mode(c, t->start, START_BIAS_COLS);
		for (int v = 0; v < NV; v++) {
			LLVMValueRef b = vload(c, vt, cg_at(c, g->bias, iadd(c, t->j0, ci(c, (int64_t)v * vt->w))), mask[v]);
			for (int r = 0; r < t->mr; r++)
				var_set(c, acc[r][v], b);
		}
		if_close(c, join);
	}
	Loop lk;
	loop_open(c, &lk, t->k0, t->k1);
	LLVMValueRef bv[NV];
	if (t->pb) {
		LLVMValueRef prow = imul(c, isub(c, lk.i, t->k0), ci(c, (int64_t)NV * vt->w));
		for (int v = 0; v < NV; v++)
			bv[v] = vload(c, vt, cg_at(c, t->pb, iadd(c, prow, ci(c, (int64_t)v * vt->w))), NULL);
	} else {
		LLVMValueRef brow = iadd(c, imul(c, lk.i, g->ldb), t->j0);
		for (int v = 0; v < NV; v++)
			bv[v] = vload(c, vt, cg_at(c, g->b, iadd(c, brow, ci(c, (int64_t)v * vt->w))), mask[v]);
	}
	LLVMValueRef acol = imul(c, lk.i, g->csa);
	for (int r = 0; r < t->mr; r++) {
		LLVMValueRef a = splat(c, vt, ld(c, g->a, iadd(c, imul(c, row[r], g->rsa), acol)));
		for (int v = 0; v < NV; v++) {
			LLVMValueRef args[3] = {a, bv[v], var_get(c, acc[r][v])};
			LLVMTypeRef ty = vt->t;
			var_set(c, acc[r][v], cg_intrinsic(c, "llvm.fma", &ty, 1, args, 3));
		}
	}
	loop_close(c, &lk);
	for (int r = 0; r < t->mr; r++)
		for (int v = 0; v < NV; v++)
			vstore(c, vt, cg_at(c, g->c, iadd(c, crow[r], ci(c, (int64_t)v * vt->w))), var_get(c, acc[r][v]), mask[v]);
}

/* The row tiles of one column tile (j0, rem): full MR-row tiles, then the
** rows left as tiles of descending powers of two rows (AVX2's MR = 6
** leaves 4 + 1, 4, 2 + 1, 2 or 1: a 64-row GEMM ends in one 4-row tile of
** 8 independent accumulators, where a 3-row and a 1-row tile would wait on
** FMA latency), every size an argument of the GEMM function, known at run
** time only. */
static void rows(Cg *c, const Gemm *g, const Vec *vt, Tile t)
{
	LLVMValueRef full = imul(c, LLVMBuildUDiv(c->b, g->M, ci(c, vt->mr), ""), ci(c, vt->mr));
	Loop lm;
	loop_open(c, &lm, ci(c, 0), LLVMBuildUDiv(c->b, g->M, ci(c, vt->mr), ""));
	t.m0 = imul(c, lm.i, ci(c, vt->mr));
	t.mr = vt->mr;
	micro(c, g, vt, &t);
	loop_close(c, &lm);
	int top = 1;
	while (top * 2 < vt->mr)
		top *= 2;
	LLVMValueRef at = var_new_i64(c, full);
	for (int b = top; b >= 1; b /= 2) {   /* at most one tile of each: the rows left are fewer than MR */
		LLVMValueRef m0 = var_get(c, at);
		LLVMBasicBlockRef join = if_open(c, LLVMBuildICmp(c->b, LLVMIntSGE, isub(c, g->M, m0), ci(c, b), ""));
		t.m0 = m0;
		t.mr = b;
		micro(c, g, vt, &t);
		var_set(c, at, iadd(c, m0, ci(c, b)));
		if_close(c, join);
	}
}

/* Copy B[k0..k1, j0..j0+NR) (the columns before rem only, when rem is
** given: the other lanes get 0) to the panel t->pb, row k at (k-k0)*NR.
** Every row tile of the column tile then streams the panel from L1 at
** consecutive addresses, where B's own rows are ldb apart: a power of two
** for most convolutions, so they would all fall in the same few L1 sets. */
static void pack(Cg *c, const Gemm *g, const Vec *vt, const Tile *t)
{
	LLVMValueRef mask[NV];
	for (int v = 0; v < NV; v++)
		mask[v] = t->rem ? lanes(c, vt, v, t->rem) : NULL;
	Loop lk;
	loop_open(c, &lk, t->k0, t->k1);
	LLVMValueRef brow = iadd(c, imul(c, lk.i, g->ldb), t->j0);
	LLVMValueRef prow = imul(c, isub(c, lk.i, t->k0), ci(c, (int64_t)NV * vt->w));
	for (int v = 0; v < NV; v++) {
		LLVMValueRef x = vload(c, vt, cg_at(c, g->b, iadd(c, brow, ci(c, (int64_t)v * vt->w))), mask[v]);
		vstore(c, vt, cg_at(c, t->pb, iadd(c, prow, ci(c, (int64_t)v * vt->w))), x, NULL);
	}
	loop_close(c, &lk);
}

/* All tiles of one k block [k0, k1): column tiles outermost, each with its
** panel of B packed first (into pb: KC x NR floats). */
static void block(Cg *c, const Gemm *g, const Vec *vt, LLVMValueRef k0, LLVMValueRef k1, LLVMValueRef pb)
{
	LLVMValueRef first = LLVMBuildICmp(c->b, LLVMIntEQ, k0, ci(c, 0), "");
	int64_t nr = (int64_t)NV * vt->w;
	Tile t = {.k0 = k0, .k1 = k1, .start = LLVMBuildSelect(c->b, first, g->mode, ci(c, START_C), ""), .pb = pb};
	Loop lj;
	LLVMValueRef ntile = LLVMBuildUDiv(c->b, g->N, ci(c, nr), "");
	loop_open(c, &lj, ci(c, 0), ntile);
	t.j0 = imul(c, lj.i, ci(c, nr));
	if (pb)
		pack(c, g, vt, &t);
	rows(c, g, vt, t);
	loop_close(c, &lj);
	t.j0 = imul(c, ntile, ci(c, nr));
	t.rem = isub(c, g->N, t.j0);
	LLVMBasicBlockRef join = if_open(c, LLVMBuildICmp(c->b, LLVMIntSGT, t.rem, ci(c, 0), ""));
	if (pb)
		pack(c, g, vt, &t);
	rows(c, g, vt, t);
	if_close(c, join);
}

/* A single column with A's rows and B's column contiguous (a 1x1 conv on a
** 1x1 plane, batch norm's channel attention): one dot product per row,
** vectorised along k (reassociable adds), instead of vector tiles that
** would use one lane in W. */
static void gemm_dot(Cg *c, const Gemm *g)
{
	Loop lm, lk;
	loop_open(c, &lm, ci(c, 0), g->M);
	LLVMValueRef arow = imul(c, lm.i, g->rsa), acc = var_new(c, cf(c, 0));
	loop_open(c, &lk, ci(c, 0), g->K);
	LLVMValueRef t = f_mul(c, ld(c, g->a, iadd(c, arow, lk.i)), ld(c, g->b, lk.i));
	var_set(c, acc, f_acc(c, var_get(c, acc), t));
	loop_close(c, &lk);
	LLVMValueRef at = imul(c, lm.i, g->ldc), v = var_get(c, acc);
	LLVMValueRef res = var_new(c, v);   /* plus C, or the bias, by the start mode */
	LLVMBasicBlockRef join = if_mode(c, g->mode, START_C);
	var_set(c, res, f_add(c, ld(c, g->c, at), v));
	if_close(c, join);
	join = if_mode(c, g->mode, START_BIAS_ROWS);
	var_set(c, res, f_add(c, ld(c, g->bias, lm.i), v));
	if_close(c, join);
	join = if_mode(c, g->mode, START_BIAS_COLS);
	var_set(c, res, f_add(c, ld(c, g->bias, ci(c, 0)), v));
	if_close(c, join);
	st(c, g->c, at, var_get(c, res));
	loop_close(c, &lm);
}

/* The GEMM of g inline, at the builder: a dot product per row for a single
** column; one column tile with B read in place and K unblocked; else K in
** blocks of KC, the tiles of the first starting from 0, C or the bias (the
** GEMM's start), those of the others from C. */
static void gemm_inline(Cg *c, const Gemm *g)
{
	Vec vt = vec(c);
	LLVMValueRef dot = LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, g->N, ci(c, 1), ""),
	                                LLVMBuildAnd(c->b, LLVMBuildICmp(c->b, LLVMIntEQ, g->csa, ci(c, 1), ""),
	                                             LLVMBuildICmp(c->b, LLVMIntEQ, g->ldb, ci(c, 1), ""), ""), "");
	LLVMBasicBlockRef dj = if_open(c, dot);
	gemm_dot(c, g);
	if_close(c, dj);
	LLVMBasicBlockRef tiles = if_open(c, LLVMBuildNot(c->b, dot, ""));
	LLVMTypeRef pt = LLVMArrayType(c->f32, (unsigned)(c->tgt.kc * NV * vt.w));
	LLVMValueRef pb = LLVMBuildAlloca(c->ab, pt, "panel");
	LLVMSetAlignment(pb, 64);
	/* one column tile: its panel is read by every row tile in place, K unblocked */
	LLVMValueRef one = LLVMBuildICmp(c->b, LLVMIntSLE, g->N, ci(c, (int64_t)NV * vt.w), "");
	LLVMBasicBlockRef join = if_open(c, one);
	block(c, g, &vt, ci(c, 0), g->K, NULL);
	if_close(c, join);
	/* else K in blocks: the first starts as the GEMM says, the others from C */
	join = if_open(c, LLVMBuildNot(c->b, one, ""));
	Loop lk;
	loop_open(c, &lk, ci(c, 0), iceildiv(c, g->K, c->tgt.kc));
	LLVMValueRef k0 = imul(c, lk.i, ci(c, c->tgt.kc));
	block(c, g, &vt, k0, imin(c, g->K, iadd(c, k0, ci(c, c->tgt.kc))), pb);
	loop_close(c, &lk);
	if_close(c, join);
	if_close(c, tiles);
}

/* The GEMM function, built on first use: `internal void lunac.gemm(i64 M,
** N, K, ptr a, b, c, i64 rsa, csa, ldb, ldc, ptr bias, i64 start)`. Every
** GEMM of the module calls it, so its code is compiled once however many
** convolutions and matrix products the model has; how C starts (0, C
** itself, the bias per row or per column) is its last argument, one
** branch per tile (four functions, one per start, made a DRIFA-Net build
** about 0.7 s slower: docs/codegen.md). */
static LLVMValueRef gemm_fn(Cg *c, LLVMTypeRef *ty)
{
	LLVMTypeRef pt[12] = {c->i64, c->i64, c->i64, c->ptr, c->ptr, c->ptr, c->i64, c->i64, c->i64, c->i64, c->ptr, c->i64};
	*ty = LLVMFunctionType(c->voidt, pt, 12, 0);
	LLVMValueRef f = LLVMGetNamedFunction(c->mod, "lunac.gemm");
	if (f)
		return f;
	f = LLVMAddFunction(c->mod, "lunac.gemm", *ty);
	LLVMSetLinkage(f, LLVMInternalLinkage);
	cg_fn_attrs(c, f);
	cg_enum_attr(c, f, LLVMAttributeFunctionIndex, "noinline");
	FnPos was = cg_fn_begin(c, f);
	Gemm fg = {LLVMGetParam(f, 0), LLVMGetParam(f, 1), LLVMGetParam(f, 2), LLVMGetParam(f, 3), LLVMGetParam(f, 4),
	           LLVMGetParam(f, 5), LLVMGetParam(f, 6), LLVMGetParam(f, 7), LLVMGetParam(f, 8), LLVMGetParam(f, 9),
	           0, LLVMGetParam(f, 10), 0, LLVMGetParam(f, 11)};
	gemm_inline(c, &fg);
	cg_fn_end(c, was);
	return f;
}

void cg_gemm(Cg *c, const Gemm *g)
{
	LLVMTypeRef ty;
	LLVMValueRef f = gemm_fn(c, &ty);
	int start = g->acc ? START_C : !g->bias ? START_ZERO : g->bias_cols ? START_BIAS_COLS : START_BIAS_ROWS;
	LLVMValueRef args[12] = {g->M, g->N, g->K, g->a, g->b, g->c, g->rsa, g->csa, g->ldb, g->ldc,
	                         g->bias ? g->bias : LLVMConstNull(c->ptr), ci(c, start)};
	LLVMBuildCall2(c->b, ty, f, args, 12, "");
}
