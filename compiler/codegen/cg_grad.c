/*
** cg_grad.c -- the gradients of the pooling ops and of the global max/min:
** maxpool_dx, avgpool_dx, gsel_dx (the conv gradients are GEMMs:
** cg_conv_grad.c). The pool gradients scatter each window's dy into a
** zeroed plane.
*/
#include "cg.h"

#include <math.h>

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
/* Chunks of the (n, c) planes of x[N,C,H,W] (par_range): each plane
** belongs to one chunk. */
static int plane_chunks(Cg *c, Par *p, const Shape *xs, LLVMValueRef *lo, LLVMValueRef *hi)
{
	int64_t rows = ir_batched(xs) ? xs->d[1] : xs->d[0] * xs->d[1];
	return par_range(c, p, rows, ir_batched(xs), 2 * xs->d[2] * xs->d[3], 0, lo, hi);
}

static void pool_open(Cg *c, const Node *nd, const Pool *pg, LLVMValueRef dx, Loop l[3], LLVMValueRef hw[3],
                      LLVMValueRef kw[3], LLVMValueRef lo, LLVMValueRef hi)
{
	loop_open(c, &l[0], lo, hi);
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
	Par p;
	LLVMValueRef lo, hi;
	int par = plane_chunks(c, &p, xs, &lo, &hi);
	Pool pg = pool_geom(c, xs, ds);
	LLVMValueRef x = base(c, nd->in[0]), dy = base(c, nd->in[1]), dx = base(c, nd->id);
	Loop l[3], lh, lw;
	LLVMValueRef h[3], w[3];
	pool_open(c, nd, &pg, dx, l, h, w, lo, hi);
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
	if (par)
		par_close(c, &p);
	return 0;
}

/* avgpool_dx: each window's dy / (its in-bounds count) added to its
** in-bounds elements. */
int cg_avgpool_dx(Cg *c, const Node *nd)
{
	const Shape *ds = &c->g->nodes[nd->in[0]]->shape;
	Par p;
	LLVMValueRef lo, hi;
	int par = plane_chunks(c, &p, &nd->shape, &lo, &hi);
	Pool pg = pool_geom(c, &nd->shape, ds);
	LLVMValueRef dy = base(c, nd->in[0]), dx = base(c, nd->id);
	Loop l[3], lh, lw;
	LLVMValueRef h[3], w[3];
	pool_open(c, nd, &pg, dx, l, h, w, lo, hi);
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
	if (par)
		par_close(c, &p);
	return 0;
}

/* gsel_dx (x, y, dy): per (n, c) plane, dy[n,c] at the first position where
** x == y[n,c] (found as a minimum index, a vectorisable reduction), 0
** elsewhere; a NaN y matches nowhere. */
int cg_gsel_dx(Cg *c, const Node *nd)
{
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape;
	int64_t S = xs->d[2] * xs->d[3];
	Par p;
	LLVMValueRef lo, hi;
	int par = plane_chunks(c, &p, xs, &lo, &hi);
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->in[1]), dy = base(c, nd->in[2]), dx = base(c, nd->id);
	Loop lp, li, lj;
	loop_open(c, &lp, lo, hi);
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
	if (par)
		par_close(c, &p);
	return 0;
}
