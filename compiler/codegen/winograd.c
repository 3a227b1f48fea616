/*
** winograd.c -- conv2d by Winograd's minimal filtering F(2x2, 3x3) (Lavin
** and Gray, "Fast Algorithms for Convolutional Neural Networks", 2016): a
** 3x3 stride-1 convolution as 16 GEMMs over transformed tiles, with 2.25x
** fewer multiplications than the GEMM over im2col (cg_conv.c).
**
** Every 2x2 output tile is y = A^T [(G g G^T) (.) (B^T d B)] A, for the
** 4x4 input patch d that starts 2 rows and columns after its neighbour's
** and each filter g; (.) multiplies elementwise, and summing it over the
** input channels is, for each of the 16 positions xi of a 4x4 transform,
** one GEMM. A kernel call runs in two parallel steps (kernel/schedule.c
** decides the blocks):
** 1. U[xi][o][c] = (G g[o,c] G^T)[xi], once per call, into the pool's
**    workspace (rt_workspace), in chunks of output channels;
** 2. per (sample, block of tile rows) chunk: V[xi][c][t] = (B^T d B)[xi]
**    of each tile t, read from a zero-padded copy of the 4 input rows its
**    tile row needs (so the loop over a row's tiles has no bounds checks
**    and vectorises); M[xi] = U[xi] V[xi] (gemm.c) for the 16 positions;
**    then y = A^T M A + bias for the output rows and columns that exist
**    (odd sizes drop the last tile's second row or column).
** A 3x3 stride-1 conv2d_dx is a convolution too, of dy by the transposed
** filters turned 180 degrees, with padding 2 - p (kern_conv_dx_forward): the
** same code, reading the weights that way in step 1.
** Every sum is in an order the shapes fix, never the thread count.
*/
#include "cg.h"

/* Output channels per chunk of the weight transform. */
#define WO 4

/* `ptr rt_workspace(i64 bytes)`: the buffer the chunks of a call share. */
static LLVMValueRef workspace(Cg *c, int64_t bytes)
{
	LLVMTypeRef pt[1] = {c->i64};
	LLVMTypeRef ty = LLVMFunctionType(c->ptr, pt, 1, 0);
	LLVMValueRef f = LLVMGetNamedFunction(c->mod, "rt_workspace");
	if (!f)
		f = LLVMAddFunction(c->mod, "rt_workspace", ty);
	LLVMValueRef a = ci(c, bytes);
	return LLVMBuildCall2(c->b, ty, f, &a, 1, "");
}

/* F(2,3)'s G applied to a, b, c: a, (a+b+c)/2, (a-b+c)/2, c. */
static void g3(Cg *c, LLVMValueRef a, LLVMValueRef b, LLVMValueRef d, LLVMValueRef out[4])
{
	LLVMValueRef ad = f_add(c, a, d);
	out[0] = a;
	out[1] = f_mul(c, f_add(c, ad, b), cf(c, 0.5f));
	out[2] = f_mul(c, f_sub(c, ad, b), cf(c, 0.5f));
	out[3] = d;
}

/* F(2,3)'s B^T applied to d0..d3: d0-d2, d1+d2, d2-d1, d1-d3. */
static void bt4(Cg *c, LLVMValueRef const d[4], LLVMValueRef out[4])
{
	out[0] = f_sub(c, d[0], d[2]);
	out[1] = f_add(c, d[1], d[2]);
	out[2] = f_sub(c, d[2], d[1]);
	out[3] = f_sub(c, d[1], d[3]);
}

/* F(2,3)'s A^T applied to m0..m3: m0+m1+m2, m1-m2-m3. */
static void at4(Cg *c, LLVMValueRef const m[4], LLVMValueRef out[2])
{
	out[0] = f_add(c, f_add(c, m[0], m[1]), m[2]);
	out[1] = f_sub(c, f_sub(c, m[1], m[2]), m[3]);
}

/* Step 1: u[xi*O*C + o*C + ci] = (G w[o,ci] G^T)[xi], chunks of WO output
** channels (of k: a conv2d_dx's are its dx channels). */
static void weights(Cg *c, const Conv *k, const Node *nd)
{
	Par p;
	par_open(c, &p, ci(c, (k->O + WO - 1) / WO), 0);
	LLVMValueRef w = base(c, nd->in[1]), u = workspace(c, c->sched.workspace);
	LLVMValueRef o0 = imul(c, p.chunk, ci(c, WO));
	Loop lo, lc;
	loop_open(c, &lo, o0, imin(c, ci(c, k->O), iadd(c, o0, ci(c, WO))));
	loop_open(c, &lc, ci(c, 0), ci(c, k->C));
	LLVMValueRef oc = iadd(c, imul(c, lo.i, ci(c, k->C)), lc.i), g[3][3], t[4][3];
	/* conv2d_dx: the filter of (o, ci) is w[ci, o] turned 180 degrees */
	int dx = nd->op == OP_CONV2D_DX;
	LLVMValueRef at = dx ? iadd(c, imul(c, lc.i, ci(c, k->O)), lo.i) : oc;
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			g[i][j] = ld(c, w, iadd(c, imul(c, at, ci(c, 9)), ci(c, dx ? 8 - 3 * i - j : 3 * i + j)));
	for (int j = 0; j < 3; j++) {   /* G g: columns */
		LLVMValueRef col[4];
		g3(c, g[0][j], g[1][j], g[2][j], col);
		for (int i = 0; i < 4; i++)
			t[i][j] = col[i];
	}
	for (int i = 0; i < 4; i++) {   /* (G g) G^T: rows */
		LLVMValueRef row[4];
		g3(c, t[i][0], t[i][1], t[i][2], row);
		for (int j = 0; j < 4; j++)
			st(c, u, iadd(c, ci(c, (4 * i + j) * k->O * k->C), oc), row[j]);
	}
	loop_close(c, &lc);
	loop_close(c, &lo);
	par_close(c, &p);
}

/* buf[i*wp + j] = x[ih, j - pw] for the 4 input rows ih = 2*ty - ph + i of
** one plane, 0 outside the plane. */
static void pad_rows(Cg *c, const Conv *k, LLVMValueRef plane, LLVMValueRef buf, LLVMValueRef ty, int64_t wp)
{
	for (int i = 0; i < 4; i++) {
		LLVMValueRef ih = iadd(c, imul(c, ty, ci(c, 2)), ci(c, i - k->ph));
		LLVMValueRef rowok = LLVMBuildICmp(c->b, LLVMIntULT, ih, ci(c, k->H), "");
		Loop lj;
		loop_open(c, &lj, ci(c, 0), ci(c, wp));
		LLVMValueRef iw = isub(c, lj.i, ci(c, k->pw));
		LLVMValueRef ok = LLVMBuildAnd(c->b, rowok, LLVMBuildICmp(c->b, LLVMIntULT, iw, ci(c, k->W), ""), "");
		LLVMValueRef at = LLVMBuildSelect(c->b, ok, iadd(c, imul(c, ih, ci(c, k->W)), iw), ci(c, 0), "");
		st(c, buf, iadd(c, ci(c, i * wp), lj.i), LLVMBuildSelect(c->b, ok, ld(c, plane, at), cf(c, 0), ""));
		loop_close(c, &lj);
	}
}

/* Step 2a: v[xi*C*nt + ci*nt + t] = (B^T d B)[xi] for the tiles of tile
** rows [ty0, ty1) of sample xs (t counts from ty0's first tile). */
static void inputs(Cg *c, const Conv *k, LLVMValueRef xs, LLVMValueRef v, LLVMValueRef buf, LLVMValueRef ty0,
                   LLVMValueRef ty1, int64_t nt)
{
	int64_t tw = (k->OW + 1) / 2, wp = 2 * tw + 2;
	Loop lc, ly, lx;
	loop_open(c, &lc, ci(c, 0), ci(c, k->C));
	LLVMValueRef plane = cg_at(c, xs, imul(c, lc.i, ci(c, k->H * k->W)));
	loop_open(c, &ly, ty0, ty1);
	pad_rows(c, k, plane, buf, ly.i, wp);
	LLVMValueRef row0 = iadd(c, imul(c, lc.i, ci(c, nt)), imul(c, isub(c, ly.i, ty0), ci(c, tw)));
	loop_open(c, &lx, ci(c, 0), ci(c, tw));
	LLVMValueRef d[4][4], t[4][4];
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < 4; j++)
			d[i][j] = ld(c, buf, iadd(c, imul(c, lx.i, ci(c, 2)), ci(c, i * wp + j)));
	for (int j = 0; j < 4; j++) {   /* B^T d: columns */
		LLVMValueRef col[4] = {d[0][j], d[1][j], d[2][j], d[3][j]}, out[4];
		bt4(c, col, out);
		for (int i = 0; i < 4; i++)
			t[i][j] = out[i];
	}
	LLVMValueRef at = iadd(c, row0, lx.i);
	for (int i = 0; i < 4; i++) {   /* (B^T d) B: rows */
		LLVMValueRef out[4];
		bt4(c, t[i], out);
		for (int j = 0; j < 4; j++)
			st(c, v, iadd(c, ci(c, (4 * i + j) * k->C * nt), at), out[j]);
	}
	loop_close(c, &lx);
	loop_close(c, &ly);
	loop_close(c, &lc);
}

/* One output tile: y = A^T m A + bias from m[xi*O*nt + at], stored at
** ys[yrow + 2*tx ...] for nr rows and nc columns (1 or 2 each). */
static void out_tile(Cg *c, const Conv *k, LLVMValueRef m, LLVMValueRef at, LLVMValueRef bias, LLVMValueRef ys,
                     LLVMValueRef yat, int64_t nt, int nr, int nc)
{
	LLVMValueRef t[2][4];
	for (int j = 0; j < 4; j++) {   /* A^T m: columns */
		LLVMValueRef col[4], out[2];
		for (int i = 0; i < 4; i++)
			col[i] = ld(c, m, iadd(c, ci(c, (4 * i + j) * k->O * nt), at));
		at4(c, col, out);
		t[0][j] = out[0];
		t[1][j] = out[1];
	}
	for (int i = 0; i < nr; i++) {  /* (A^T m) A: rows */
		LLVMValueRef out[2];
		at4(c, t[i], out);
		for (int j = 0; j < nc; j++)
			st(c, ys, iadd(c, yat, ci(c, i * k->OW + j)), bias ? f_add(c, out[j], bias) : out[j]);
	}
}

/* Step 2c: y[o, 2*ty + i, 2*tx + j] = (A^T M A)[i][j] + bias[o] for the tile
** rows [ty0, ty1) of sample ys. */
static void outputs(Cg *c, const Conv *k, const Node *nd, LLVMValueRef m, LLVMValueRef ys, LLVMValueRef ty0,
                    LLVMValueRef ty1, int64_t nt)
{
	int64_t tw = (k->OW + 1) / 2, full = k->OW / 2;
	Loop lo, ly, lx;
	loop_open(c, &lo, ci(c, 0), ci(c, k->O));
	LLVMValueRef bias = nd->op == OP_CONV2D && nd->nin == 3 ? ld(c, base(c, nd->in[2]), lo.i) : NULL;
	loop_open(c, &ly, ty0, ty1);
	LLVMValueRef row0 = iadd(c, imul(c, lo.i, ci(c, nt)), imul(c, isub(c, ly.i, ty0), ci(c, tw)));
	LLVMValueRef yrow = iadd(c, imul(c, lo.i, ci(c, k->P)), imul(c, ly.i, ci(c, 2 * k->OW)));
	LLVMValueRef two = LLVMBuildICmp(c->b, LLVMIntSLT, iadd(c, imul(c, ly.i, ci(c, 2)), ci(c, 1)), ci(c, k->OH), "");
	for (int nr = 2; nr >= 1; nr--) {   /* both rows of the tiles, or (the last of an odd OH) the first */
		LLVMBasicBlockRef join = if_open(c, nr == 2 ? two : LLVMBuildNot(c->b, two, ""));
		loop_open(c, &lx, ci(c, 0), ci(c, full));
		out_tile(c, k, m, iadd(c, row0, lx.i), bias, ys, iadd(c, yrow, imul(c, lx.i, ci(c, 2))), nt, nr, 2);
		loop_close(c, &lx);
		if (k->OW % 2)
			out_tile(c, k, m, iadd(c, row0, ci(c, full)), bias, ys, iadd(c, yrow, ci(c, 2 * full)), nt, nr, 1);
		if_close(c, join);
	}
	loop_close(c, &ly);
	loop_close(c, &lo);
}

/* conv2d by F(2x2, 3x3) (see the header), the schedule's blocks; also a
** conv2d_dx, as the convolution of dy it is (k: kern_conv_dx_forward). */
int cg_conv2d_winograd(Cg *c, const Node *nd, const Conv *k)
{
	const Sched *sc = &c->sched;
	int64_t th = (k->OH + 1) / 2, tw = (k->OW + 1) / 2, tr = sc->tile_rows, nt = tr * tw, cpn = sc->chunks_per_n;
	workspace(c, sc->workspace);   /* sized here, on the calling thread: the chunks only look it up */
	weights(c, k, nd);
	Par p;
	par_open(c, &p, imul(c, c->n, ci(c, cpn)), sc->scratch);
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->id), u = workspace(c, sc->workspace);
	LLVMValueRef s = LLVMBuildUDiv(c->b, p.chunk, ci(c, cpn), "");
	LLVMValueRef ty0 = imul(c, LLVMBuildURem(c->b, p.chunk, ci(c, cpn), ""), ci(c, tr));
	LLVMValueRef ty1 = imin(c, ci(c, th), iadd(c, ty0, ci(c, tr)));
	LLVMValueRef v = p.scratch, m = cg_at(c, v, ci(c, 16 * k->C * nt)), buf = cg_at(c, m, ci(c, 16 * k->O * nt));
	inputs(c, k, cg_at(c, x, imul(c, s, ci(c, k->C * k->H * k->W))), v, buf, ty0, ty1, nt);
	Loop lx;
	loop_open(c, &lx, ci(c, 0), ci(c, 16));
	Gemm g = {.M = ci(c, k->O), .N = imul(c, isub(c, ty1, ty0), ci(c, tw)), .K = ci(c, k->C),
	          .a = cg_at(c, u, imul(c, lx.i, ci(c, k->O * k->C))), .rsa = ci(c, k->C), .csa = ci(c, 1),
	          .b = cg_at(c, v, imul(c, lx.i, ci(c, k->C * nt))), .ldb = ci(c, nt),
	          .c = cg_at(c, m, imul(c, lx.i, ci(c, k->O * nt))), .ldc = ci(c, nt)};
	cg_gemm(c, &g);
	loop_close(c, &lx);
	outputs(c, k, nd, m, cg_at(c, y, imul(c, s, ci(c, k->O * k->P))), ty0, ty1, nt);
	par_close(c, &p);
	return 0;
}
