/*
** cg_matrix.c -- dense, matmul, matmul_nt and matmul_tn as GEMMs (gemm.c)
** in parallel chunks (par.c).
**
** dense and matmul_nt read their second operand transposed, which the GEMM
** cannot stream as vectors: each chunk packs its block of rows of it (the
** schedule's cols), transposed, into scratch, then multiplies every row
** of the first operand by that block. matmul and matmul_tn stream their
** second operand as it is, a chunk per block of result rows. Every result
** element sums over k in increasing order in every schedule, so chunking
** changes no bit of it.
*/
#include "cg.h"

/* y[m,j] = sum_k a[m,k] b[j,k] (+ bias[j]) for a [M,K], b [J,K]. */
static int gemm_nt(Cg *c, const Node *nd)
{
	const Shape *as = &c->g->nodes[nd->in[0]]->shape;
	int64_t K = as->d[1], J = nd->shape.d[1], NB = c->sched.cols, nb = c->sched.nb;
	Par p;
	par_open(c, &p, ci(c, nb), c->sched.scratch);
	LLVMValueRef a = base(c, nd->in[0]), b = base(c, nd->in[1]), y = base(c, nd->id);
	LLVMValueRef j0 = imul(c, p.chunk, ci(c, NB)), nj = isub(c, imin(c, ci(c, J), iadd(c, j0, ci(c, NB))), j0);
	Loop lj, lk;   /* pack: scratch[k*NB + j] = b[j0 + j, k] */
	loop_open(c, &lj, ci(c, 0), nj);
	LLVMValueRef brow = imul(c, iadd(c, j0, lj.i), ci(c, K));
	loop_open(c, &lk, ci(c, 0), ci(c, K));
	st(c, p.scratch, iadd(c, imul(c, lk.i, ci(c, NB)), lj.i), ld(c, b, iadd(c, brow, lk.i)));
	loop_close(c, &lk);
	loop_close(c, &lj);
	Gemm g = {.M = dimv(c, as, 0), .N = J % NB ? nj : ci(c, NB), .K = ci(c, K), .a = a, .rsa = ci(c, K),
	          .csa = ci(c, 1), .b = p.scratch, .ldb = ci(c, NB), .c = cg_at(c, y, j0), .ldc = ci(c, J)};
	if (nb == 1)
		g.N = ci(c, J);
	if (nd->nin == 3) {
		g.bias = cg_at(c, base(c, nd->in[2]), j0);
		g.bias_cols = 1;
	}
	cg_gemm(c, &g);
	par_close(c, &p);
	return 0;
}

/* y[n,o] = b[o] + sum_k x[n,k] * w[o,k]. */
int cg_dense(Cg *c, const Node *nd)
{
	return gemm_nt(c, nd);
}

/* y[m,k] = sum_p a[m,p] * b[k,p]. */
int cg_matmul_nt(Cg *c, const Node *nd)
{
	return gemm_nt(c, nd);
}

/* Rows [*r0, r0 + *nr) of a result of `rows` rows for chunk p (the
** schedule's rows each). */
static void row_block(Cg *c, const Par *p, LLVMValueRef rows, LLVMValueRef *r0, LLVMValueRef *nr)
{
	int64_t RB = c->sched.rows;
	*r0 = imul(c, p->chunk, ci(c, RB));
	*nr = isub(c, imin(c, rows, iadd(c, *r0, ci(c, RB))), *r0);
}

/* y[m,:] = sum_k a[m,k] * b[k,:]. */
int cg_matmul(Cg *c, const Node *nd)
{
	const Shape *as = &c->g->nodes[nd->in[0]]->shape;
	int64_t K = as->d[1], P = nd->shape.d[1];
	Par p;
	par_open(c, &p, iceildiv(c, dimv(c, as, 0), c->sched.rows), 0);
	LLVMValueRef a = base(c, nd->in[0]), b = base(c, nd->in[1]), y = base(c, nd->id), m0, nm;
	row_block(c, &p, dimv(c, as, 0), &m0, &nm);
	Gemm g = {.M = nm, .N = ci(c, P), .K = ci(c, K), .a = cg_at(c, a, imul(c, m0, ci(c, K))), .rsa = ci(c, K),
	          .csa = ci(c, 1), .b = b, .ldb = ci(c, P), .c = cg_at(c, y, imul(c, m0, ci(c, P))), .ldc = ci(c, P)};
	cg_gemm(c, &g);
	par_close(c, &p);
	return 0;
}

/* y[k,:] = sum_m a[m,k] * b[m,:], over m in increasing order (the batch,
** for a weight gradient: one summation order for every batch split). */
int cg_matmul_tn(Cg *c, const Node *nd)
{
	const Shape *as = &c->g->nodes[nd->in[0]]->shape;
	int64_t K = as->d[1], P = nd->shape.d[1];
	Par p;
	int64_t RB = c->sched.rows;
	par_open(c, &p, ci(c, (K + RB - 1) / RB), 0);
	LLVMValueRef a = base(c, nd->in[0]), b = base(c, nd->in[1]), y = base(c, nd->id), k0, nk;
	row_block(c, &p, ci(c, K), &k0, &nk);
	Gemm g = {.M = K <= RB ? ci(c, K) : nk, .N = ci(c, P), .K = dimv(c, as, 0), .a = cg_at(c, a, k0), .rsa = ci(c, 1),
	          .csa = ci(c, K), .b = b, .ldb = ci(c, P), .c = cg_at(c, y, imul(c, k0, ci(c, P))), .ldc = ci(c, P)};
	cg_gemm(c, &g);
	par_close(c, &p);
	return 0;
}
