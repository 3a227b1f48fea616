/*
** cg_matrix.c -- dense, matmul, matmul_nt and matmul_tn as GEMMs (gemm.c)
** in parallel chunks (par.c).
**
** dense and matmul_nt read their second operand transposed, which the GEMM
** cannot stream as vectors: each chunk packs its block of rows of it (the
** schedule's cols), transposed, into scratch, then multiplies every row
** of the first operand by that block; with fewer than 4 rows (batch-1
** inference) packing would cost as much as the product, and each result
** is a dot product of two contiguous rows instead (which path a call takes
** depends on n, never on the thread count). matmul and matmul_tn stream
** their second operand as it is, a chunk per block of result rows. Every
** result element sums over k in the same order in every chunking, so
** chunking changes no bit of it.
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
	LLVMValueRef M = dimv(c, as, 0), bias = nd->nin == 3 ? base(c, nd->in[2]) : NULL;
	/* a few rows (batch 1 inference): dot products on b's rows as they are,
	** since packing b would cost as much as the product */
	LLVMValueRef few = LLVMBuildICmp(c->b, LLVMIntULT, M, ci(c, 4), "");
	LLVMBasicBlockRef join = if_open(c, few);
	Loop lj, lm, lk;
	loop_open(c, &lj, ci(c, 0), nj);
	LLVMValueRef j = iadd(c, j0, lj.i), brow = imul(c, j, ci(c, K));
	loop_open(c, &lm, ci(c, 0), M);
	LLVMValueRef arow = imul(c, lm.i, ci(c, K)), acc = var_new(c, cf(c, 0));
	loop_open(c, &lk, ci(c, 0), ci(c, K));
	LLVMValueRef t = f_mul(c, ld(c, a, iadd(c, arow, lk.i)), ld(c, b, iadd(c, brow, lk.i)));
	var_set(c, acc, f_acc(c, var_get(c, acc), t));
	loop_close(c, &lk);
	LLVMValueRef v = var_get(c, acc);
	st(c, y, iadd(c, imul(c, lm.i, ci(c, J)), j), bias ? f_add(c, ld(c, bias, j), v) : v);
	loop_close(c, &lm);
	loop_close(c, &lj);
	if_close(c, join);
	join = if_open(c, LLVMBuildNot(c->b, few, ""));
	Loop pj, pk;   /* pack: scratch[k*NB + j] = b[j0 + j, k] */
	loop_open(c, &pj, ci(c, 0), nj);
	LLVMValueRef prow = imul(c, iadd(c, j0, pj.i), ci(c, K));
	loop_open(c, &pk, ci(c, 0), ci(c, K));
	st(c, p.scratch, iadd(c, imul(c, pk.i, ci(c, NB)), pj.i), ld(c, b, iadd(c, prow, pk.i)));
	loop_close(c, &pk);
	loop_close(c, &pj);
	Gemm g = {.M = M, .N = J % NB ? nj : ci(c, NB), .K = ci(c, K), .a = a, .rsa = ci(c, K),
	          .csa = ci(c, 1), .b = p.scratch, .ldb = ci(c, NB), .c = cg_at(c, y, j0), .ldc = ci(c, J)};
	if (nb == 1)
		g.N = ci(c, J);
	if (bias) {
		g.bias = cg_at(c, bias, j0);
		g.bias_cols = 1;
	}
	cg_gemm(c, &g);
	if_close(c, join);
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
