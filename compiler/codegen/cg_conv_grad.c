/*
** cg_conv_grad.c -- conv2d_dx and conv2d_dw as GEMMs (gemm.c) over column
** matrices (im2col.c), in parallel chunks (par.c).
**
** conv2d_dx: per (sample, block of input channels) chunk, the columns of
** those channels' taps are w^T dy[n] (a GEMM into scratch), scattered back
** onto the input plane (col2im); a direct 1x1 conv writes dx straight from
** the GEMM, and on 1x1 planes one GEMM covers all samples. Chunks own
** disjoint channels of dx.
**
** conv2d_dw: per block of input channels (and of output channels when
** there are few input blocks), dw[:, block] = sum over samples
** and over blocks of output rows of dy[n] . im2col(x[n])^T, the transposed
** column matrix built a block of rows at a time; on small planes a block
** is the whole planes of a group of samples. A chunk owns its columns
** of dw and sums samples, then positions, in increasing order, so the
** result is the same at any thread count and batch split.
*/
#include "cg.h"

/* dx[n, c, ih, iw] = sum_{o,kh,kw} w[o,c,kh,kw] dy[n,o,oh,ow] over the taps that reach (ih, iw). */
int cg_conv2d_dx(Cg *c, const Node *nd)
{
	const Shape *ds = &c->g->nodes[nd->in[0]]->shape, *ws = &c->g->nodes[nd->in[1]]->shape;
	Conv k = kern_conv(&nd->shape, ws, ds, nd);
	if (c->sched.wino) {
		Conv e = kern_conv_dx_forward(&k);
		return cg_conv2d_winograd(c, nd, &e);
	}
	int64_t kk = k.KH * k.KW, cb = c->sched.cb, nb = c->sched.nb;
	Par p;
	if (c->sched.chunks_fixed) {   /* 1x1 planes: dx[N,C] = dy[N,O] w[O,C], a block of columns a chunk */
		par_open(c, &p, ci(c, nb), 0);
		LLVMValueRef dy = base(c, nd->in[0]), w = base(c, nd->in[1]), dx = base(c, nd->id);
		LLVMValueRef c0 = imul(c, p.chunk, ci(c, cb));
		Gemm g = {.M = dimv(c, ds, 0), .N = ci(c, cb), .K = ci(c, k.O), .a = dy, .rsa = ci(c, k.O), .csa = ci(c, 1),
		          .b = cg_at(c, w, c0), .ldb = ci(c, k.C), .c = cg_at(c, dx, c0), .ldc = ci(c, k.C)};
		cg_gemm(c, &g);
		par_close(c, &p);
		return 0;
	}
	par_open(c, &p, imul(c, dimv(c, ds, 0), ci(c, nb)), c->sched.scratch);
	LLVMValueRef dy = base(c, nd->in[0]), w = base(c, nd->in[1]), dx = base(c, nd->id);
	LLVMValueRef s = LLVMBuildUDiv(c->b, p.chunk, ci(c, nb), "");
	LLVMValueRef c0 = imul(c, LLVMBuildURem(c->b, p.chunk, ci(c, nb), ""), ci(c, cb));
	LLVMValueRef dxs = cg_at(c, dx, imul(c, s, ci(c, k.C * k.H * k.W)));
	Gemm g = {.M = ci(c, cb * kk), .N = ci(c, k.P), .K = ci(c, k.O), .a = cg_at(c, w, imul(c, c0, ci(c, kk))),
	          .rsa = ci(c, 1), .csa = ci(c, k.R), .b = cg_at(c, dy, imul(c, s, ci(c, k.O * k.P))), .ldb = ci(c, k.P),
	          .ldc = ci(c, k.P)};
	g.c = k.direct ? cg_at(c, dxs, imul(c, c0, ci(c, k.H * k.W))) : p.scratch;
	cg_gemm(c, &g);
	if (!k.direct)
		cg_col2im(c, &k, p.scratch, dxs, c0, cb * kk);
	par_close(c, &p);
	return 0;
}

/* The dw GEMMs of a chunk over samples one at a time, a block of output rows at a time. */
static void dw_rows(Cg *c, const Conv *k, LLVMValueRef n, LLVMValueRef x, LLVMValueRef dy, LLVMValueRef dwc,
                    LLVMValueRef scratch, LLVMValueRef c0, LLVMValueRef o0, LLVMValueRef no, int64_t ncol)
{
	int64_t rows = c->sched.rows;
	Loop ls, lb;
	loop_open(c, &ls, ci(c, 0), n);
	LLVMValueRef xs0 = cg_at(c, x, imul(c, ls.i, ci(c, k->C * k->H * k->W)));
	loop_open(c, &lb, ci(c, 0), ci(c, (k->OH + rows - 1) / rows));
	LLVMValueRef oh0 = imul(c, lb.i, ci(c, rows)), oh1 = imin(c, ci(c, k->OH), iadd(c, oh0, ci(c, rows)));
	cg_im2col(c, k, xs0, scratch, imul(c, c0, ci(c, k->KH * k->KW)), ncol, oh0, oh1, ci(c, ncol), 1);
	Gemm g = {.M = no, .N = ci(c, ncol), .K = imul(c, isub(c, oh1, oh0), ci(c, k->OW)),
	          .a = cg_at(c, dy, iadd(c, imul(c, iadd(c, imul(c, ls.i, ci(c, k->O)), o0), ci(c, k->P)),
	                                 imul(c, oh0, ci(c, k->OW)))),
	          .rsa = ci(c, k->P), .csa = ci(c, 1), .b = scratch, .ldb = ci(c, ncol), .c = dwc, .ldc = ci(c, k->R),
	          .acc = 1};
	cg_gemm(c, &g);
	loop_close(c, &lb);
	loop_close(c, &ls);
}

/* The dw GEMMs of a chunk over groups of G samples' whole planes: the
** transposed columns of the group's planes one under another, and their dy
** rows of the chunk's output channels side by side (a[o][s*P + p]), so k
** runs over G*P positions. The sums go in the same order as dw_rows'. */
static void dw_planes(Cg *c, const Conv *k, LLVMValueRef N, LLVMValueRef x, LLVMValueRef dy, LLVMValueRef dwc,
                      LLVMValueRef scratch, LLVMValueRef c0, LLVMValueRef o0, LLVMValueRef no, int64_t ncol)
{
	int64_t G = c->sched.group, P = k->P;
	LLVMValueRef a = cg_at(c, scratch, ci(c, G * P * ncol));
	Loop lg, ls, lo, lp;
	loop_open(c, &lg, ci(c, 0), iceildiv(c, N, G));
	LLVMValueRef n0 = imul(c, lg.i, ci(c, G)), ns = imin(c, ci(c, G), isub(c, N, n0));
	loop_open(c, &ls, ci(c, 0), ns);
	LLVMValueRef n = iadd(c, n0, ls.i);
	cg_im2col(c, k, cg_at(c, x, imul(c, n, ci(c, k->C * k->H * k->W))), cg_at(c, scratch, imul(c, ls.i, ci(c, P * ncol))),
	          imul(c, c0, ci(c, k->KH * k->KW)), ncol, ci(c, 0), ci(c, k->OH), ci(c, ncol), 1);
	LLVMValueRef dys = cg_at(c, dy, imul(c, iadd(c, imul(c, n, ci(c, k->O)), o0), ci(c, P)));
	loop_open(c, &lo, ci(c, 0), no);
	LLVMValueRef from = imul(c, lo.i, ci(c, P)), to = iadd(c, imul(c, lo.i, ci(c, G * P)), imul(c, ls.i, ci(c, P)));
	loop_open(c, &lp, ci(c, 0), ci(c, P));
	st(c, a, iadd(c, to, lp.i), ld(c, dys, iadd(c, from, lp.i)));
	loop_close(c, &lp);
	loop_close(c, &lo);
	loop_close(c, &ls);
	Gemm g = {.M = no, .N = ci(c, ncol), .K = imul(c, ns, ci(c, P)), .a = a, .rsa = ci(c, G * P), .csa = ci(c, 1),
	          .b = scratch, .ldb = ci(c, ncol), .c = dwc, .ldc = ci(c, k->R), .acc = 1};
	cg_gemm(c, &g);
	loop_close(c, &lg);
}

/* dw[o,c,kh,kw] = sum_n sum_{oh,ow} dy[n,o,oh,ow] x[n,c,oh*sh-ph+kh, ow*sw-pw+kw]. */
int cg_conv2d_dw(Cg *c, const Node *nd)
{
	const Shape *xs = &c->g->nodes[nd->in[0]]->shape, *ds = &c->g->nodes[nd->in[1]]->shape;
	Conv k = kern_conv(xs, &nd->shape, ds, nd);
	const Sched *sc = &c->sched;   /* each output-channel block builds its own column matrix */
	int64_t kk = k.KH * k.KW, cb = sc->cb, nb = sc->nb, ncol = cb * kk, nob = sc->nob, ob = sc->ob;
	Par p;
	par_open(c, &p, ci(c, nb * nob), sc->scratch);
	LLVMValueRef x = base(c, nd->in[0]), dy = base(c, nd->in[1]), dw = base(c, nd->id);
	LLVMValueRef c0 = imul(c, LLVMBuildUDiv(c->b, p.chunk, ci(c, nob), ""), ci(c, cb));
	LLVMValueRef o0 = imul(c, LLVMBuildURem(c->b, p.chunk, ci(c, nob), ""), ci(c, ob));
	LLVMValueRef no = nob == 1 ? ci(c, k.O) : isub(c, imin(c, ci(c, k.O), iadd(c, o0, ci(c, ob))), o0);
	LLVMValueRef dwc = cg_at(c, dw, iadd(c, imul(c, o0, ci(c, k.R)), imul(c, c0, ci(c, kk))));
	Loop lo, lj;
	loop_open(c, &lo, ci(c, 0), no);
	loop_open(c, &lj, ci(c, 0), ci(c, ncol));
	st(c, dwc, iadd(c, imul(c, lo.i, ci(c, k.R)), lj.i), cf(c, 0));
	loop_close(c, &lj);
	loop_close(c, &lo);
	LLVMValueRef n = dimv(c, xs, 0);   /* the samples: the batch, or x's fixed first dimension */
	if (sc->group > 1)
		dw_planes(c, &k, n, x, dy, dwc, p.scratch, c0, o0, no, ncol);
	else
		dw_rows(c, &k, n, x, dy, dwc, p.scratch, c0, o0, no, ncol);
	par_close(c, &p);
	return 0;
}
