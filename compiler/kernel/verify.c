/*
** verify.c -- the kernel level's verifier: a schedule must cover its
** kernel's output exactly once with whole tiles and blocks, and have
** scratch exactly when a chunk builds something in it. Run on every kernel
** before codegen reads the schedules (compile_emit), so a heuristic that
** goes wrong stops the build with the node named instead of producing
** wrong numbers.
*/
#include "kernel.h"

/* "%id op: kernel schedule: why" as an internal error. */
static int bad(Err *e, const Node *nd, const char *why, long long a, long long b)
{
	return ir_errorf(e, "%%%d %s: internal error: kernel schedule: %s (%lld, %lld)", nd->id, ir_ops[nd->op].name, why, a,
	                 b);
}

/* Blocks of size b, nb of them, cover an extent x exactly: (nb-1)*b < x <= nb*b. */
static int covers(int64_t x, int64_t b, int64_t nb)
{
	return b >= 1 && nb >= 1 && (nb - 1) * b < x && x <= nb * b;
}

int kern_verify(const Graph *g, const Node *nd, const Sched *s, Err *e)
{
	const Shape *x = nd->nin ? &g->nodes[nd->in[0]]->shape : NULL;
	Conv k;
	switch (s->split) {
	case SPLIT_CONV:
		k = kern_conv(x, &g->nodes[nd->in[1]]->shape, &nd->shape, nd);
		if (s->rows < 1 || s->rows > k.OH)
			return bad(e, nd, "output rows per block outside [1, OH]", s->rows, k.OH);
		if (s->nob > 1 && !covers(k.O, s->ob, s->nob))
			return bad(e, nd, "output-channel blocks do not cover O", s->ob * s->nob, k.O);
		if ((s->scratch > 0) != !k.direct || (s->scratch && s->scratch < k.R * s->rows * k.OW * 4))
			return bad(e, nd, "scratch does not hold a block's column matrix", s->scratch, k.R * s->rows * k.OW * 4);
		return 0;
	case SPLIT_WINO:
		if (nd->op != OP_CONV2D && nd->op != OP_CONV2D_DX)
			return bad(e, nd, "Winograd for an op that is no convolution", nd->op, 0);
		k = kern_conv_wino(g, nd);
		if (s->wino != 2 || k.KH != 3 || k.KW != 3 || k.sh != 1 || k.sw != 1)
			return bad(e, nd, "Winograd F(2x2, 3x3) for a kernel that is not 3x3 stride 1", k.KH, k.sh);
		int64_t th = (k.OH + 1) / 2, tw = (k.OW + 1) / 2, nob = s->nob < 1 ? 1 : s->nob;
		if (s->tile_rows < 1 || s->group < 1 || (s->group > 1 && s->tile_rows != th) ||
		    s->chunks_per_n != (th + s->tile_rows - 1) / s->tile_rows * nob)
			return bad(e, nd, "tile-row blocks or sample groups do not cover the output", s->tile_rows, s->group);
		if (!covers(k.O, s->ob, nob))
			return bad(e, nd, "output-channel blocks do not cover O", s->ob * nob, k.O);
		if (s->scratch < (16 * (k.C + s->ob) * s->group * s->tile_rows * tw + 4 * (2 * tw + 2)) * 4 ||
		    s->workspace < 16 * k.O * k.C * 4)
			return bad(e, nd, "scratch or workspace does not hold the transforms", s->scratch, s->workspace);
		return 0;
	case SPLIT_CONV_DX:
		k = kern_conv(&nd->shape, &g->nodes[nd->in[1]]->shape, x, nd);
		if (s->cb < 1 || k.C % s->cb || s->nb * s->cb != k.C)
			return bad(e, nd, "input-channel blocks do not divide C", s->cb, k.C);
		if (s->chunks_fixed && (!k.direct || k.P != 1 || s->chunks_fixed != s->nb || s->chunks_per_n))
			return bad(e, nd, "one GEMM over the samples but not a 1x1 conv of 1x1 planes", s->chunks_fixed, k.P);
		if ((s->scratch > 0) != !k.direct || (s->scratch && s->scratch < s->cb * k.KH * k.KW * k.P * 4))
			return bad(e, nd, "scratch does not hold a block's columns", s->scratch, s->cb * k.KH * k.KW * k.P * 4);
		return 0;
	case SPLIT_CONV_DW:
		k = kern_conv(x, &nd->shape, &g->nodes[nd->in[1]]->shape, nd);
		if (s->cb < 1 || k.C % s->cb || s->nb * s->cb != k.C)
			return bad(e, nd, "input-channel blocks do not divide C", s->cb, k.C);
		if (s->nob > 1 && !covers(k.O, s->ob, s->nob))
			return bad(e, nd, "output-channel blocks do not cover O", s->ob * s->nob, k.O);
		if (s->group < 1 || (s->group > 1 && s->rows != k.OH))
			return bad(e, nd, "sample groups of partial planes", s->group, s->rows);
		if (s->rows < 1 || s->rows > k.OH ||
		    s->scratch < s->group * s->rows * k.OW * s->cb * k.KH * k.KW * 4 +
		                     (s->group > 1 ? (s->nob > 1 ? s->ob : k.O) * s->group * k.P * 4 : 0))
			return bad(e, nd, "scratch does not hold a block's transposed columns", s->scratch, s->rows);
		return 0;
	case SPLIT_COLS:
		if (!covers(nd->shape.d[1], s->cols, s->nb) || s->scratch < x->d[1] * s->cols * 4)
			return bad(e, nd, "packed column blocks do not cover the result", s->cols * s->nb, nd->shape.d[1]);
		return 0;
	case SPLIT_ROWS:
		if (s->rows < 1)
			return bad(e, nd, "no rows per chunk", s->rows, 0);
		return 0;
	case SPLIT_NONE: case SPLIT_RANGE: case SPLIT_CHANNELS:
		if (s->scratch || s->workspace)
			return bad(e, nd, "scratch for a kernel that builds nothing in it", s->scratch, 0);
		return 0;
	}
	return bad(e, nd, "unknown split", s->split, 0);
}
