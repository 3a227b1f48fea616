/*
** cg_grad.c -- the gradients of the window ops and of the global max/min:
** conv2d_dx, conv2d_dw, maxpool_dx, avgpool_dx, gsel_dx.
**
** conv2d_dx scatters: for each input plane (n, c) and each output row of
** each channel o, every tap (kh, kw) adds w * dy[n,o,oh,:] into one input
** row, so the innermost loop is contiguous in dy (and in dx when the stride
** is 1), exactly the forward conv's row loop transposed. conv2d_dw is one
** dot product per (n, o, c, kh, kw) over the output plane, the innermost
** loop contiguous in dy (and in x at stride 1), added into dw in order of
** n: one fixed summation order for every batch, whatever the thread count.
** The pool gradients scatter each window's dy into a zeroed plane.
*/
#include "cg.h"

#include <math.h>

/* Window geometry shared by the conv gradients. */
typedef struct Win {
	int64_t C, H, W, O, KH, KW, OH, OW, sh, sw, ph, pw;
} Win;

/* The geometry of a conv of x[N,C,H,W] by w[O,C,KH,KW] giving dy[N,O,OH,OW]. */
static Win win(const Shape *x, const Shape *w, const Shape *dy, const Node *nd)
{
	return (Win){x->d[1], x->d[2], x->d[3], w->d[0], w->d[2], w->d[3], dy->d[2], dy->d[3],
	             nd->a.stride[0], nd->a.stride[1], nd->a.pad[0], nd->a.pad[1]};
}

/* Row-major index ((a*B + b)*C + c)*D of a 4-d tensor's row start. */
static LLVMValueRef row4(Cg *c, LLVMValueRef a, int64_t B, LLVMValueRef b, int64_t C, LLVMValueRef cc, int64_t D)
{
	return imul(c, iadd(c, imul(c, iadd(c, imul(c, a, ci(c, B)), b), ci(c, C)), cc), ci(c, D));
}

/* dx[n,c,oh*sh-ph+kh, ow*sw-pw+kw] += w[o,c,kh,kw] * dy[n,o,oh,ow]. */
int cg_conv2d_dx(Cg *c, const Node *nd)
{
	const Shape *ds = &c->g->nodes[nd->in[0]]->shape, *ws = &c->g->nodes[nd->in[1]]->shape;
	Win k = win(&nd->shape, ws, ds, nd);
	LLVMValueRef dy = base(c, nd->in[0]), w = base(c, nd->in[1]), dx = base(c, nd->id);
	Loop ln, lc, lo, loh, lkh, lkw, low;
	loop_open(c, &ln, ci(c, 0), dimv(c, &nd->shape, 0));
	loop_open(c, &lc, ci(c, 0), ci(c, k.C));
	LLVMValueRef plane = imul(c, iadd(c, imul(c, ln.i, ci(c, k.C)), lc.i), ci(c, k.H * k.W));
	cg_fill(c, dx, plane, ci(c, k.H * k.W), cf(c, 0));
	loop_open(c, &lo, ci(c, 0), ci(c, k.O));
	loop_open(c, &loh, ci(c, 0), ci(c, k.OH));
	LLVMValueRef dyrow = row4(c, ln.i, k.O, lo.i, k.OH, loh.i, k.OW);
	loop_open(c, &lkh, ci(c, 0), ci(c, k.KH));
	LLVMValueRef ih;
	LLVMBasicBlockRef join = cg_row_in_bounds(c, loh.i, lkh.i, k.sh, k.ph, k.H, &ih);
	LLVMValueRef dxrow = iadd(c, plane, imul(c, ih, ci(c, k.W)));
	LLVMValueRef wrow = row4(c, lo.i, k.C, lc.i, k.KH, lkh.i, k.KW);
	loop_open(c, &lkw, ci(c, 0), ci(c, k.KW));
	LLVMValueRef wv = ld(c, w, iadd(c, wrow, lkw.i)), from, to;
	cg_span(c, lkw.i, k.sw, k.pw, k.W, k.OW, &from, &to);
	LLVMValueRef xoff = isub(c, iadd(c, dxrow, lkw.i), ci(c, k.pw));
	loop_open(c, &low, from, to);
	LLVMValueRef at = iadd(c, xoff, imul(c, low.i, ci(c, k.sw)));
	LLVMValueRef dv = ld(c, dy, iadd(c, dyrow, low.i));
	st(c, dx, at, f_acc(c, ld(c, dx, at), f_mul(c, wv, dv)));
	low.keep = 1;
	loop_close(c, &low);
	loop_close(c, &lkw);
	if_close(c, join);
	loop_close(c, &lkh);
	loop_close(c, &loh);
	loop_close(c, &lo);
	loop_close(c, &lc);
	loop_close(c, &ln);
	return 0;
}

/* dw[o,c,kh,kw] = sum_n (sum_{oh,ow} dy[n,o,oh,ow] * x[n,c,oh*sh-ph+kh, ow*sw-pw+kw]). */
int cg_conv2d_dw(Cg *c, const Node *nd)
{
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape, *ds = &c->g->nodes[nd->in[1]]->shape;
	Win k = win(xs, &nd->shape, ds, nd);
	LLVMValueRef x = base(c, nd->in[0]), dy = base(c, nd->in[1]), dw = base(c, nd->id);
	cg_fill(c, dw, ci(c, 0), ci(c, k.O * k.C * k.KH * k.KW), cf(c, 0));
	Loop ln, lo, lc, lkh, lkw, loh, low;
	loop_open(c, &ln, ci(c, 0), dimv(c, xs, 0));
	loop_open(c, &lo, ci(c, 0), ci(c, k.O));
	loop_open(c, &lc, ci(c, 0), ci(c, k.C));
	loop_open(c, &lkh, ci(c, 0), ci(c, k.KH));
	loop_open(c, &lkw, ci(c, 0), ci(c, k.KW));
	LLVMValueRef acc = var_new(c, cf(c, 0)), from, to, ih;
	cg_span(c, lkw.i, k.sw, k.pw, k.W, k.OW, &from, &to);
	loop_open(c, &loh, ci(c, 0), ci(c, k.OH));
	LLVMBasicBlockRef join = cg_row_in_bounds(c, loh.i, lkh.i, k.sh, k.ph, k.H, &ih);
	LLVMValueRef xrow = imul(c, iadd(c, imul(c, iadd(c, imul(c, ln.i, ci(c, k.C)), lc.i), ci(c, k.H)), ih), ci(c, k.W));
	LLVMValueRef xoff = isub(c, iadd(c, xrow, lkw.i), ci(c, k.pw));
	LLVMValueRef dyrow = row4(c, ln.i, k.O, lo.i, k.OH, loh.i, k.OW);
	loop_open(c, &low, from, to);
	LLVMValueRef xv = ld(c, x, iadd(c, xoff, imul(c, low.i, ci(c, k.sw))));
	LLVMValueRef dv = ld(c, dy, iadd(c, dyrow, low.i));
	var_set(c, acc, f_acc(c, var_get(c, acc), f_mul(c, dv, xv)));
	low.keep = 1;
	loop_close(c, &low);
	if_close(c, join);
	loop_close(c, &loh);
	LLVMValueRef at = iadd(c, row4(c, lo.i, k.C, lc.i, k.KH, lkh.i, k.KW), lkw.i);
	st(c, dw, at, f_add(c, ld(c, dw, at), var_get(c, acc)));
	loop_close(c, &lkw);
	loop_close(c, &lkh);
	loop_close(c, &lc);
	loop_close(c, &lo);
	loop_close(c, &ln);
	return 0;
}

/* One pooling window: rows [*h0 + *klo, *h0 + *khi) of the input lie in
** bounds, for output index o along a dim of size H (kernel K, stride s, pad p). */
static void window(Cg *c, LLVMValueRef o, int64_t K, int64_t s, int64_t p, int64_t H, LLVMValueRef *h0,
                   LLVMValueRef *klo, LLVMValueRef *khi)
{
	*h0 = isub(c, imul(c, o, ci(c, s)), ci(c, p));
	*klo = imax(c, ci(c, 0), isub(c, ci(c, 0), *h0));
	*khi = imin(c, ci(c, K), isub(c, ci(c, H), *h0));
}

/* Geometry of a pool gradient: planes, input H x W, output OH x OW. */
typedef struct Pool {
	LLVMValueRef planes;
	int64_t H, W, OH, OW;
} Pool;

/* Open the loops over planes, output rows and columns, zero each plane of
** dx first; l[0..2] get the loops, *hw / *kw the window's rows and columns. */
static void pool_open(Cg *c, const Node *nd, const Pool *pg, LLVMValueRef dx, Loop l[3], LLVMValueRef hw[3],
                      LLVMValueRef kw[3])
{
	loop_open(c, &l[0], ci(c, 0), pg->planes);
	cg_fill(c, dx, imul(c, l[0].i, ci(c, pg->H * pg->W)), ci(c, pg->H * pg->W), cf(c, 0));
	loop_open(c, &l[1], ci(c, 0), ci(c, pg->OH));
	window(c, l[1].i, nd->a.kernel[0], nd->a.stride[0], nd->a.pad[0], pg->H, &hw[0], &hw[1], &hw[2]);
	loop_open(c, &l[2], ci(c, 0), ci(c, pg->OW));
	window(c, l[2].i, nd->a.kernel[1], nd->a.stride[1], nd->a.pad[1], pg->W, &kw[0], &kw[1], &kw[2]);
}

/* The pool gradient's geometry from x's shape xs and dy's shape ds. */
static Pool pool_geom(Cg *c, const Shape *xs, const Shape *ds)
{
	return (Pool){dimsv(c, xs, 0, 2), xs->d[2], xs->d[3], ds->d[2], ds->d[3]};
}

/* maxpool_dx: each window's dy added at its first maximum (the first
** in-bounds element, then any strictly greater one, or the first NaN). */
int cg_maxpool_dx(Cg *c, const Node *nd)
{
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape, *ds = &c->g->nodes[nd->in[1]]->shape;
	Pool pg = pool_geom(c, xs, ds);
	LLVMValueRef x = base(c, nd->in[0]), dy = base(c, nd->in[1]), dx = base(c, nd->id);
	Loop l[3], lh, lw;
	LLVMValueRef h[3], w[3];
	pool_open(c, nd, &pg, dx, l, h, w);
	LLVMValueRef plane = imul(c, l[0].i, ci(c, pg.H * pg.W));
	LLVMValueRef nonempty = LLVMBuildAnd(c->b, ilt(c, h[1], h[2]), ilt(c, w[1], w[2]), "");
	LLVMBasicBlockRef join = if_open(c, nonempty);
	LLVMValueRef first = iadd(c, imul(c, iadd(c, h[0], h[1]), ci(c, pg.W)), iadd(c, w[0], w[1]));
	LLVMValueRef bi = var_new_i64(c, first), best = var_new(c, ld(c, x, iadd(c, plane, first)));
	loop_open(c, &lh, h[1], h[2]);
	loop_open(c, &lw, w[1], w[2]);
	LLVMValueRef at = iadd(c, imul(c, iadd(c, h[0], lh.i), ci(c, pg.W)), iadd(c, w[0], lw.i));
	LLVMValueRef v = ld(c, x, iadd(c, plane, at)), b = var_get(c, best);
	LLVMValueRef nan_wins = LLVMBuildAnd(c->b, LLVMBuildFCmp(c->b, LLVMRealUNO, v, v, ""),
	                                     LLVMBuildFCmp(c->b, LLVMRealORD, b, b, ""), "");
	LLVMValueRef takes = LLVMBuildOr(c->b, LLVMBuildFCmp(c->b, LLVMRealOGT, v, b, ""), nan_wins, "");
	var_set(c, best, LLVMBuildSelect(c->b, takes, v, b, ""));
	var_set(c, bi, LLVMBuildSelect(c->b, takes, at, var_get(c, bi), ""));
	loop_close(c, &lw);
	loop_close(c, &lh);
	LLVMValueRef to = iadd(c, plane, var_get(c, bi));
	LLVMValueRef g = ld(c, dy, iadd(c, imul(c, iadd(c, imul(c, l[0].i, ci(c, pg.OH)), l[1].i), ci(c, pg.OW)), l[2].i));
	st(c, dx, to, f_add(c, ld(c, dx, to), g));
	if_close(c, join);
	loop_close(c, &l[2]);
	loop_close(c, &l[1]);
	loop_close(c, &l[0]);
	return 0;
}

/* avgpool_dx: each window's dy / (its in-bounds count) added to its
** in-bounds elements. */
int cg_avgpool_dx(Cg *c, const Node *nd)
{
	const Shape *ds = &c->g->nodes[nd->in[0]]->shape;
	Pool pg = pool_geom(c, &nd->shape, ds);
	LLVMValueRef dy = base(c, nd->in[0]), dx = base(c, nd->id);
	Loop l[3], lh, lw;
	LLVMValueRef h[3], w[3];
	pool_open(c, nd, &pg, dx, l, h, w);
	LLVMValueRef plane = imul(c, l[0].i, ci(c, pg.H * pg.W));
	LLVMValueRef cnt = imul(c, isub(c, h[2], h[1]), isub(c, w[2], w[1]));
	LLVMValueRef g = ld(c, dy, iadd(c, imul(c, iadd(c, imul(c, l[0].i, ci(c, pg.OH)), l[1].i), ci(c, pg.OW)), l[2].i));
	g = f_div(c, g, i2f(c, cnt));
	loop_open(c, &lh, h[1], h[2]);
	LLVMValueRef row = iadd(c, plane, iadd(c, imul(c, iadd(c, h[0], lh.i), ci(c, pg.W)), w[0]));
	loop_open(c, &lw, w[1], w[2]);
	LLVMValueRef at = iadd(c, row, lw.i);
	st(c, dx, at, f_add(c, ld(c, dx, at), g));
	loop_close(c, &lw);
	loop_close(c, &lh);
	loop_close(c, &l[2]);
	loop_close(c, &l[1]);
	loop_close(c, &l[0]);
	return 0;
}

/* gsel_dx (x, y, dy): per (n, c) plane, dy[n,c] at the first position where
** x == y[n,c] (found as a minimum index, a vectorisable reduction), 0
** elsewhere; a NaN y matches nowhere. */
int cg_gsel_dx(Cg *c, const Node *nd)
{
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape;
	int64_t S = xs->d[2] * xs->d[3];
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->in[1]), dy = base(c, nd->in[2]), dx = base(c, nd->id);
	Loop lp, li, lj;
	loop_open(c, &lp, ci(c, 0), dimsv(c, xs, 0, 2));
	LLVMValueRef plane = imul(c, lp.i, ci(c, S)), yv = ld(c, y, lp.i);
	LLVMValueRef idx = var_new_i64(c, ci(c, S));
	loop_open(c, &li, ci(c, 0), ci(c, S));
	LLVMValueRef hit = LLVMBuildFCmp(c->b, LLVMRealOEQ, ld(c, x, iadd(c, plane, li.i)), yv, "");
	LLVMValueRef cand = LLVMBuildSelect(c->b, hit, li.i, ci(c, S), "");
	var_set(c, idx, imin(c, var_get(c, idx), cand));
	loop_close(c, &li);
	LLVMValueRef at = var_get(c, idx), g = ld(c, dy, lp.i);
	loop_open(c, &lj, ci(c, 0), ci(c, S));
	LLVMValueRef here = LLVMBuildICmp(c->b, LLVMIntEQ, lj.i, at, "");
	st(c, dx, iadd(c, plane, lj.i), LLVMBuildSelect(c->b, here, g, cf(c, 0), ""));
	loop_close(c, &lj);
	loop_close(c, &lp);
	return 0;
}
