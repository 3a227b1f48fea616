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
** 2. per chunk (a sample's block of tile rows, or the whole planes of a
**    group of samples, and a block of output channels): V[xi][c][t] =
**    (B^T d B)[xi] of each tile t, read from a zero-padded copy of the 4
**    input rows its tile row needs (so the loop over a row's tiles has no
**    bounds checks and vectorises); M[xi] = U[xi] V[xi] (gemm.c) for the
**    16 positions, the tiles of every sample of the chunk side by side as
**    the GEMM's columns; then y = A^T M A + bias for the output rows and
**    columns that exist (odd sizes drop the last tile's second row or
**    column).
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

/* A chunk of step 2: samples [s0, s0+sn), tile rows [ty0, ty1) of each,
** output channels [o0, o0+no). Tile t of the chunk is its sample s, row ty,
** column tx at t = s*st + (ty-ty0)*tw + tx, and the transforms' rows are
** nt (the schedule's tiles per chunk) apart. */
typedef struct Blk {
	LLVMValueRef s0, sn, ty0, ty1, o0, no;
	int64_t st, nt, ob;
} Blk;

/* Step 2a: v[xi*C*nt + ci*nt + t] = (B^T d B)[xi] for the chunk's tiles of x. */
static void inputs(Cg *c, const Conv *k, LLVMValueRef x, LLVMValueRef v, LLVMValueRef buf, const Blk *b)
{
	int64_t tw = (k->OW + 1) / 2, wp = 2 * tw + 2;
	Loop lc, ls, ly, lx;
	loop_open(c, &lc, ci(c, 0), ci(c, k->C));
	loop_open(c, &ls, ci(c, 0), b->sn);
	LLVMValueRef plane = cg_at(c, x, imul(c, iadd(c, imul(c, iadd(c, b->s0, ls.i), ci(c, k->C)), lc.i), ci(c, k->H * k->W)));
	loop_open(c, &ly, b->ty0, b->ty1);
	pad_rows(c, k, plane, buf, ly.i, wp);
	LLVMValueRef row0 = iadd(c, iadd(c, imul(c, lc.i, ci(c, b->nt)), imul(c, ls.i, ci(c, b->st))),
	                         imul(c, isub(c, ly.i, b->ty0), ci(c, tw)));
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
			st(c, v, iadd(c, ci(c, (4 * i + j) * k->C * b->nt), at), out[j]);
	}
	loop_close(c, &lx);
	loop_close(c, &ly);
	loop_close(c, &ls);
	loop_close(c, &lc);
}

/* One output tile: y = A^T m A + bias from m[xi*ob*nt + at], stored at
** y[yat + 2*tx ...] for nr rows and nc columns (1 or 2 each). */
static void out_tile(Cg *c, const Conv *k, const Blk *b, LLVMValueRef m, LLVMValueRef at, LLVMValueRef bias,
                     LLVMValueRef y, LLVMValueRef yat, int nr, int nc)
{
	LLVMValueRef t[2][4];
	for (int j = 0; j < 4; j++) {   /* A^T m: columns */
		LLVMValueRef col[4], out[2];
		for (int i = 0; i < 4; i++)
			col[i] = ld(c, m, iadd(c, ci(c, (4 * i + j) * b->ob * b->nt), at));
		at4(c, col, out);
		t[0][j] = out[0];
		t[1][j] = out[1];
	}
	for (int i = 0; i < nr; i++) {  /* (A^T m) A: rows */
		LLVMValueRef out[2];
		at4(c, t[i], out);
		for (int j = 0; j < nc; j++)
			st(c, y, iadd(c, yat, ci(c, i * k->OW + j)), bias ? f_add(c, out[j], bias) : out[j]);
	}
}

/* Step 2c: y[s, o, 2*ty + i, 2*tx + j] = (A^T M A)[i][j] + bias[o] for the
** chunk's tiles and output channels. */
static void outputs(Cg *c, const Conv *k, const Node *nd, const Blk *b, LLVMValueRef m, LLVMValueRef y)
{
	int64_t tw = (k->OW + 1) / 2, full = k->OW / 2;
	Loop lo, ls, ly, lx;
	loop_open(c, &lo, ci(c, 0), b->no);
	LLVMValueRef o = iadd(c, b->o0, lo.i);
	LLVMValueRef bias = nd->op == OP_CONV2D && nd->nin == 3 ? ld(c, base(c, nd->in[2]), o) : NULL;
	loop_open(c, &ls, ci(c, 0), b->sn);
	loop_open(c, &ly, b->ty0, b->ty1);
	LLVMValueRef row0 = iadd(c, iadd(c, imul(c, lo.i, ci(c, b->nt)), imul(c, ls.i, ci(c, b->st))),
	                         imul(c, isub(c, ly.i, b->ty0), ci(c, tw)));
	LLVMValueRef plane = iadd(c, imul(c, iadd(c, b->s0, ls.i), ci(c, k->O)), o);
	LLVMValueRef yrow = iadd(c, imul(c, plane, ci(c, k->P)), imul(c, ly.i, ci(c, 2 * k->OW)));
	LLVMValueRef two = LLVMBuildICmp(c->b, LLVMIntSLT, iadd(c, imul(c, ly.i, ci(c, 2)), ci(c, 1)), ci(c, k->OH), "");
	for (int nr = 2; nr >= 1; nr--) {   /* both rows of the tiles, or (the last of an odd OH) the first */
		LLVMBasicBlockRef join = if_open(c, nr == 2 ? two : LLVMBuildNot(c->b, two, ""));
		loop_open(c, &lx, ci(c, 0), ci(c, full));
		out_tile(c, k, b, m, iadd(c, row0, lx.i), bias, y, iadd(c, yrow, imul(c, lx.i, ci(c, 2))), nr, 2);
		loop_close(c, &lx);
		if (k->OW % 2)
			out_tile(c, k, b, m, iadd(c, row0, ci(c, full)), bias, y, iadd(c, yrow, ci(c, 2 * full)), nr, 1);
		if_close(c, join);
	}
	loop_close(c, &ly);
	loop_close(c, &ls);
	loop_close(c, &lo);
}

/* conv2d by F(2x2, 3x3) (see the header), the schedule's blocks; also a
** conv2d_dx, as the convolution of dy it is (k: kern_conv_dx_forward). */
int cg_conv2d_winograd(Cg *c, const Node *nd, const Conv *k)
{
	const Sched *sc = &c->sched;
	int64_t th = (k->OH + 1) / 2, tw = (k->OW + 1) / 2, tr = sc->tile_rows, grp = sc->group, nob = sc->nob;
	int64_t cpn = sc->chunks_per_n;   /* per group of samples: tile-row blocks x output-channel blocks */
	Blk b = {.st = tr * tw, .nt = grp * tr * tw, .ob = sc->ob};
	workspace(c, sc->workspace);   /* sized here, on the calling thread: the chunks only look it up */
	weights(c, k, nd);
	Par p;
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape;   /* x, or conv2d_dx's dy: its samples */
	par_open(c, &p, imul(c, iceildiv(c, dimv(c, xs, 0), grp), ci(c, cpn)), sc->scratch);
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->id), u = workspace(c, sc->workspace);
	LLVMValueRef r = LLVMBuildURem(c->b, p.chunk, ci(c, cpn), "");
	b.s0 = imul(c, LLVMBuildUDiv(c->b, p.chunk, ci(c, cpn), ""), ci(c, grp));
	b.sn = imin(c, ci(c, grp), isub(c, dimv(c, xs, 0), b.s0));
	b.ty0 = imul(c, LLVMBuildUDiv(c->b, r, ci(c, nob), ""), ci(c, tr));
	b.ty1 = imin(c, ci(c, th), iadd(c, b.ty0, ci(c, tr)));
	b.o0 = imul(c, LLVMBuildURem(c->b, r, ci(c, nob), ""), ci(c, sc->ob));
	b.no = nob == 1 ? ci(c, k->O) : isub(c, imin(c, ci(c, k->O), iadd(c, b.o0, ci(c, sc->ob))), b.o0);
	LLVMValueRef v = p.scratch, m = cg_at(c, v, ci(c, 16 * k->C * b.nt)), buf = cg_at(c, m, ci(c, 16 * sc->ob * b.nt));
	inputs(c, k, x, v, buf, &b);
	Loop lx;
	loop_open(c, &lx, ci(c, 0), ci(c, 16));
	Gemm g = {.M = b.no, .N = imul(c, imul(c, b.sn, isub(c, b.ty1, b.ty0)), ci(c, tw)), .K = ci(c, k->C),
	          .a = cg_at(c, u, iadd(c, imul(c, lx.i, ci(c, k->O * k->C)), imul(c, b.o0, ci(c, k->C)))),
	          .rsa = ci(c, k->C), .csa = ci(c, 1), .b = cg_at(c, v, imul(c, lx.i, ci(c, k->C * b.nt))),
	          .ldb = ci(c, b.nt), .c = cg_at(c, m, imul(c, lx.i, ci(c, sc->ob * b.nt))), .ldc = ci(c, b.nt)};
	cg_gemm(c, &g);
	loop_close(c, &lx);
	outputs(c, k, nd, &b, m, y);
	par_close(c, &p);
	return 0;
}
