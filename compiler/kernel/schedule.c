/*
** schedule.c -- the scheduling heuristics: for each kernel, its anchor,
** how it splits into parallel chunks, and for the GEMM-lowered ops the
** blocks and scratch codegen's lowerings use (kernel.h).
**
** The rules, all functions of the shapes and the target, never of the
** thread count (results must not depend on it):
** - conv2d: blocks of about 256 output positions (whole output rows), so a
**   KC x block panel of the column matrix stays in L2; where a sample has
**   fewer than 4 row blocks, blocks of output channels too (whole row
**   tiles, at least 2 per block), so batch 1 has chunks for every thread.
** - conv2d, 3x3 stride 1 on planes of at least 64 positions with at
**   least 16 input and output channels: Winograd F(2x2, 3x3)
**   (codegen/winograd.c), in chunks of about 64 tiles: whole tile rows, at
**   least 4 blocks per sample, or whole planes of several samples where a
**   sample has fewer tiles (8x8: 16), then also blocks of about 128 output
**   channels where there are 256 or more. 4x4 planes keep the direct GEMM:
**   4 tiles a sample leave the 16 GEMMs too few columns at batch 1. So do
**   convolutions of more than 1024 x 1024 channels, whose transformed
**   weights would pass 64 MiB.
** - conv2d_dx, 3x3 stride 1 with padding at most 2: the convolution of dy
**   it is (kern_conv_dx_forward) by Winograd where that one would be.
** - conv2d_dx: blocks of input channels whose column matrix fits in 512 KiB
**   (the divisor of C closest below), the GEMM's rows. A 1x1 convolution
**   of 1x1 planes is one GEMM over all samples (dy[N,O] w[O,C]), its
**   columns in 4 blocks where there are at least 4 column tiles of them.
** - conv2d_dw: blocks of input channels whose taps fill whole vector tiles
**   (at most 192 columns), at least 4 blocks where there are 4 channels;
**   output-channel blocks where there are fewer; output rows in blocks of
**   about 256 positions, the GEMM's k, or on planes of fewer than 64
**   positions the whole planes of a group of samples (about 256 positions),
**   with output-channel blocks whose copied dy rows fit 256 KiB.
** - dense, matmul_nt: result columns in packed blocks of 64.
** - matmul, matmul_tn: result rows in blocks of 48.
*/
#include "kernel.h"


Target kern_target(int avx512)
{
	Target t = {avx512 ? 16 : 8, avx512 ? 12 : 6, 0, 256, avx512 ? 32 : 16};
	t.nr = 2 * t.w;
	return t;
}

Conv kern_conv(const Shape *x, const Shape *w, const Shape *y, const Node *nd)
{
	Conv k = {x->d[1], x->d[2], x->d[3], w->d[0], w->d[2], w->d[3], y->d[2], y->d[3],
	          nd->a.stride[0], nd->a.stride[1], nd->a.pad[0], nd->a.pad[1], 0, 0, 0};
	k.R = k.C * k.KH * k.KW;
	k.P = k.OH * k.OW;
	k.direct = k.KH == 1 && k.KW == 1 && k.sh == 1 && k.sw == 1 && k.ph == 0 && k.pw == 0;
	return k;
}

Conv kern_conv_dx_forward(const Conv *k)
{
	Conv e = {k->O, k->OH, k->OW, k->C, 3, 3, k->H, k->W, 1, 1, 2 - k->ph, 2 - k->pw, 0, 0, 0};
	e.R = e.C * 9;
	e.P = e.OH * e.OW;
	return e;
}

Conv kern_conv_wino(const Graph *g, const Node *nd)
{
	const Shape *a = &g->nodes[nd->in[0]]->shape, *w = &g->nodes[nd->in[1]]->shape;
	if (nd->op == OP_CONV2D)
		return kern_conv(a, w, &nd->shape, nd);
	Conv k = kern_conv(&nd->shape, w, a, nd);
	return kern_conv_dx_forward(&k);
}

int kern_sumto_channels(const Shape *x, const Shape *y, int64_t *C, int64_t *S, int64_t *N)
{
	int b = ir_batched(x);
	if (ir_batched(y))
		return 0;
	if (ir_numel(y, 1) == 1) {
		*C = 1;
		*S = ir_numel(x, 1);   /* per sample when batched */
		*N = b ? 0 : 1;
		return *S > 0;
	}
	if ((x->rank != 2 && x->rank != 4) || x->d[1] < 1)
		return 0;
	int ch = (y->rank == 1 && y->d[0] == x->d[1]) || (y->rank == 2 && y->d[0] == 1 && y->d[1] == x->d[1]) ||
	         (y->rank == 4 && y->d[0] == 1 && y->d[1] == x->d[1] && y->d[2] == 1 && y->d[3] == 1);
	if (!ch)
		return 0;
	*C = x->d[1];
	*S = x->rank == 4 ? x->d[2] * x->d[3] : 1;
	*N = b ? 0 : x->d[0];
	return 1;
}

static int64_t clamp(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* Output rows of about 256 positions. */
static int64_t row_block(const Conv *k)
{
	return clamp(256 / k->OW, 1, k->OH);
}

/* O output channels in about nob blocks of whole row tiles (s->ob, s->nob). */
static void split_channels(Sched *s, int64_t O, int64_t nob, const Target *t)
{
	int64_t ob = ((O + nob - 1) / nob + t->mr - 1) / t->mr * t->mr;
	s->ob = ob;
	s->nob = (O + ob - 1) / ob;
}

/* Blocks of O output channels when there are fewer than 4 other blocks:
** enough for 4 chunks, each of whole row tiles and at least 2 of them. */
static void channel_blocks(Sched *s, int64_t O, int64_t others, const Target *t)
{
	int64_t nob = others >= 4 ? 1 : (4 + others - 1) / others, most = O / (2 * t->mr);
	if (nob > most)
		nob = most > 1 ? most : 1;
	split_channels(s, O, nob, t);
}

/* The largest divisor of C with d * kk <= cap, at least 1. */
static int64_t divisor_below(int64_t C, int64_t kk, int64_t cap)
{
	int64_t best = 1;
	for (int64_t d = 1; d <= C; d++)
		if (C % d == 0 && d * kk <= cap)
			best = d;
	return best;
}

/* conv2d_dw's input-channel block (see the header). */
static int64_t dw_block(const Conv *k, const Target *t)
{
	int64_t kk = k->KH * k->KW, best = 1;
	double score = 0;
	for (int64_t d = 1; d <= k->C; d++) {
		int64_t n = d * kk, tiles = (n + t->nr - 1) / t->nr;
		if (k->C % d || (n > 192 && d > 1) || (d > 1 && k->C / d < 4))
			continue;
		double sc = (double)n / (double)(tiles * t->nr) + (double)n * 1e-6;
		if (sc > score)
			score = sc, best = d;
	}
	return best;
}

/* Winograd F(2x2, 3x3) where it pays (see the header), and where its
** transformed weights (16 x O x C floats, the workspace) stay within 64 MiB. */
static int winograd_pays(const Conv *k)
{
	return k->KH == 3 && k->KW == 3 && k->sh == 1 && k->sw == 1 && k->P >= 64 && k->C >= 16 && k->O >= 16 &&
	       k->O * k->C <= (1 << 20);
}

/* Does conv2d_dx of geometry k go by Winograd (as the convolution it is)? */
static int winograd_pays_dx(const Conv *k)
{
	if (k->KH != 3 || k->KW != 3 || k->sh != 1 || k->sw != 1 || k->ph > 2 || k->pw > 2)
		return 0;
	Conv e = kern_conv_dx_forward(k);
	return winograd_pays(&e);
}

/* conv2d by Winograd F(2x2, 3x3): chunks of about 64 tiles, whole tile
** rows (at least 4 blocks per sample), or where a sample has fewer, whole
** planes of several samples and, where there are 256 or more output
** channels, blocks of about 128 of them; per chunk the transformed input
** (16 x C x tiles), the 16 GEMMs' results (16 x block x tiles) and 4 padded
** input rows; the transformed weights (16 x O x C) shared. */
static Sched winograd(const Conv *k, const Target *t)
{
	Sched s = {.anchor = ANCHOR_GEMM, .split = SPLIT_WINO, .wino = 2};
	int64_t TH = (k->OH + 1) / 2, TW = (k->OW + 1) / 2, T = TH * TW;
	if (T >= 64) {
		s.group = 1;
		s.tile_rows = clamp(64 / TW, 1, (TH + 3) / 4);
	} else {
		s.group = clamp(64 / T, 1, 64);
		s.tile_rows = TH;
		split_channels(&s, k->O, k->O >= 256 ? k->O / 128 : 1, t);
	}
	if (s.nob <= 1)
		s.nob = 1, s.ob = k->O;
	s.rows = 2 * s.tile_rows;
	s.chunks_per_n = (TH + s.tile_rows - 1) / s.tile_rows * s.nob;   /* per group of samples */
	int64_t nt = s.group * s.tile_rows * TW;
	s.scratch = (16 * k->C * nt + 16 * s.ob * nt + 4 * (2 * TW + 2)) * 4;
	s.workspace = 16 * k->O * k->C * 4;
	return s;
}

static Sched conv2d(const Graph *g, const Node *nd, const Target *t)
{
	Conv k = kern_conv(&g->nodes[nd->in[0]]->shape, &g->nodes[nd->in[1]]->shape, &nd->shape, nd);
	if (winograd_pays(&k))
		return winograd(&k, t);
	Sched s = {.anchor = ANCHOR_GEMM, .split = SPLIT_CONV, .im2col = !k.direct, .rows = row_block(&k)};
	int64_t npb = (k.OH + s.rows - 1) / s.rows;
	channel_blocks(&s, k.O, npb, t);
	s.chunks_per_n = npb * s.nob;
	s.scratch = k.direct ? 0 : k.R * s.rows * k.OW * 4;
	return s;
}

static Sched conv2d_dx(const Graph *g, const Node *nd, const Target *t)
{
	Conv k = kern_conv(&nd->shape, &g->nodes[nd->in[1]]->shape, &g->nodes[nd->in[0]]->shape, nd);
	int64_t kk = k.KH * k.KW;
	if (winograd_pays_dx(&k)) {
		Conv e = kern_conv_dx_forward(&k);
		return winograd(&e, t);
	}
	Sched s = {.anchor = ANCHOR_GEMM, .split = SPLIT_CONV_DX, .im2col = !k.direct};
	if (k.direct && k.P == 1) {   /* dx[n, c] = sum_o dy[n, o] w[o, c]: one GEMM, columns in 4 blocks */
		s.cb = k.C % 4 == 0 && k.C >= 4 * t->nr ? k.C / 4 : k.C;
		s.nb = k.C / s.cb;
		s.chunks_fixed = s.nb;
		return s;
	}
	s.cb = divisor_below(k.C, kk * k.P, k.direct ? k.C * k.P : 131072);
	s.nb = k.C / s.cb;
	s.chunks_per_n = s.nb;
	s.scratch = k.direct ? 0 : s.cb * kk * k.P * 4;
	return s;
}

/* conv2d_dw: see the header. Where a plane has fewer than 64 positions,
** the GEMM's k spans the whole planes of `group` samples (about 256
** positions), its dy rows copied next to each other into scratch, in
** output-channel blocks of at most 256 KiB of them. (On 8x8 planes this
** measured slower than a GEMM per sample: 234 against 268 ms for eight
** 256-channel 3x3 convolutions at batch 32; on 4x4, faster: 249 against
** 339 ms for 512 channels.) */
static Sched conv2d_dw(const Graph *g, const Node *nd, const Target *t)
{
	Conv k = kern_conv(&g->nodes[nd->in[0]]->shape, &nd->shape, &g->nodes[nd->in[1]]->shape, nd);
	Sched s = {.anchor = ANCHOR_GEMM, .split = SPLIT_CONV_DW, .im2col = 1, .rows = row_block(&k), .cb = dw_block(&k, t),
	           .group = 1};
	int64_t ncol = s.cb * k.KH * k.KW;
	s.nb = k.C / s.cb;
	channel_blocks(&s, k.O, s.nb, t);
	if (s.rows == k.OH && k.P < 64) {
		s.group = clamp(256 / k.P, 2, 64);
		int64_t kp = s.group * k.P, nob = (k.O * kp * 4 + 262143) / 262144;
		if (nob > s.nob)
			split_channels(&s, k.O, nob, t);
	}
	s.chunks_fixed = s.nb * s.nob;
	s.scratch = s.group * s.rows * k.OW * ncol * 4;
	if (s.group > 1)
		s.scratch += (s.nob > 1 ? s.ob : k.O) * s.group * k.P * 4;
	return s;
}

/* dense, matmul_nt: y[M,J] from a[M,K] and b[J,K]. */
static Sched cols(const Graph *g, const Node *nd)
{
	int64_t K = g->nodes[nd->in[0]]->shape.d[1], J = nd->shape.d[1];
	Sched s = {.anchor = ANCHOR_GEMM, .split = SPLIT_COLS, .cols = 64};
	s.nb = (J + s.cols - 1) / s.cols;
	s.chunks_fixed = s.nb;
	s.scratch = K * s.cols * 4;
	return s;
}

/* matmul (rows of a), matmul_tn (columns of a: the result's rows). */
static Sched rows(const Graph *g, const Node *nd)
{
	const Shape *as = &g->nodes[nd->in[0]]->shape;
	Sched s = {.anchor = ANCHOR_GEMM, .split = SPLIT_ROWS, .rows = 48};
	int64_t M = nd->op == OP_MATMUL ? as->d[0] : as->d[1];
	if (M == IR_N)
		s.chunks_per_n = 1;   /* ceil(n / rows): printed as such */
	else
		s.chunks_fixed = (M + s.rows - 1) / s.rows;
	return s;
}

#pragma GCC diagnostic error "-Wswitch"   /* every op named: a new one cannot slip through */

/* Elements of s times weight, unless s grows with the batch (-1). */
static int64_t fixed_work(const Shape *s, int64_t weight)
{
	if (ir_batched(s))
		return -1;
	int64_t k = weight;
	for (int i = 0; i < s->rank; i++)
		k *= s->d[i];
	return k;
}

/* A range split, or serial when its work is fixed and short. */
static Split range(const Shape *s, int64_t weight)
{
	int64_t w = fixed_work(s, weight);
	return w >= 0 && w < 2 * KERN_GRAIN ? SPLIT_NONE : SPLIT_RANGE;
}

/* The anchor and split of the ops codegen streams over (map, reduce,
** window, move); their chunk sizes follow the element count at run time. */
static Sched streaming(const Graph *g, const Node *nd)
{
	Sched s = {.anchor = ANCHOR_MAP, .split = SPLIT_RANGE};
	const Shape *x = nd->nin ? &g->nodes[nd->in[0]]->shape : &nd->shape;
	switch (nd->op) {
	case OP_NEG: case OP_RELU: case OP_SIGMOID: case OP_TANH: case OP_EXP: case OP_LOG: case OP_SQRT:
	case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_MINIMUM: case OP_RELU_DX: case OP_BROADCAST:
		s.split = range(&nd->shape, 1);
		return s;
	case OP_DROPOUT:   /* a uniform costs about 16 element copies */
		if (nd->a.mode == MODE_OFF)
			s.anchor = ANCHOR_MOVE, s.split = SPLIT_NONE;
		else
			s.split = range(&nd->shape, 16);
		return s;
	case OP_GAVG: case OP_GMAX: case OP_GMIN:
		s.anchor = ANCHOR_REDUCE, s.split = range(x, 1);
		return s;
	case OP_BATCHNORM: case OP_BN_DX: case OP_BN_DGAMMA: case OP_BN_MEAN: case OP_BN_VAR:
		s.anchor = ANCHOR_REDUCE, s.split = SPLIT_CHANNELS;
		return s;
	case OP_MAXPOOL_DX: case OP_GSEL_DX:
		s.anchor = ANCHOR_WINDOW, s.split = range(x, 2);
		return s;
	case OP_AVGPOOL_DX:
		s.anchor = ANCHOR_WINDOW, s.split = range(&nd->shape, 2);
		return s;
	case OP_MAXPOOL: case OP_AVGPOOL:
		s.anchor = ANCHOR_WINDOW, s.split = SPLIT_NONE;
		return s;
	case OP_SOFTMAX: case OP_LOGSOFTMAX: case OP_SOFTMAX_DX: case OP_LOGSOFTMAX_DX: case OP_XENT: case OP_XENT_DX:
	case OP_SUMTO: {
		int64_t C, S, N;
		s.anchor = ANCHOR_REDUCE;
		s.split = kern_sumto_channels(x, &nd->shape, &C, &S, &N) ? SPLIT_CHANNELS : SPLIT_NONE;
		return s;
	}
	case OP_BMEAN: case OP_BMEAN_DX:
		s.anchor = ANCHOR_REDUCE, s.split = SPLIT_NONE;
		return s;
	case OP_CONST: case OP_CONCAT: case OP_RESHAPE: case OP_SLICE: case OP_ASSIGN:
		s.anchor = ANCHOR_MOVE, s.split = SPLIT_NONE;
		return s;
	case OP_INPUT: case OP_PARAM: case OP_BUFFER: case OP_STATE:
		s.anchor = ANCHOR_NONE, s.split = SPLIT_NONE;
		return s;
	case OP_CONV2D: case OP_CONV2D_DX: case OP_CONV2D_DW: case OP_DENSE: case OP_MATMUL: case OP_MATMUL_NT:
	case OP_MATMUL_TN: case OP_COUNT:
		break;
	}
	s.anchor = ANCHOR_NONE, s.split = SPLIT_NONE;
	return s;
}

Sched kern_schedule(const Graph *g, const Node *nd, const Target *t)
{
	switch (nd->op) {
	case OP_CONV2D: return conv2d(g, nd, t);
	case OP_CONV2D_DX: return conv2d_dx(g, nd, t);
	case OP_CONV2D_DW: return conv2d_dw(g, nd, t);
	case OP_DENSE: case OP_MATMUL_NT: return cols(g, nd);
	case OP_MATMUL: case OP_MATMUL_TN: return rows(g, nd);
	default: return streaming(g, nd);
	}
}
