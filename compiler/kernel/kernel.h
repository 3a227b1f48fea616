/*
** kernel.h -- the kernel level: what each kernel call of an entry computes
** and how it is scheduled (tile, split into chunks, scratch), decided here
** from the graph and the target, printed by `lunac ir --level=kernel`,
** checked by kern_verify, and read by codegen's lowerings.
**
** This is the schedule half of the kernel level of
** ../../docs/codegen.md: the decisions. The loops themselves are still
** built by codegen's lowerings (gemm.c, im2col.c, cg_*.c), which take every
** size that matters from a Sched. No LLVM here.
*/
#ifndef LUNAC_KERNEL_H
#define LUNAC_KERNEL_H

#include <stdio.h>

#include "../ir/ir.h"
#include "../passes/passes.h"

/* What the code is generated for, as the schedules need it. */
typedef struct Target {
	int w;          /* f32 lanes per vector: 16 with AVX-512, else 8 */
	int mr, nr;     /* GEMM micro-tile: rows, columns (two vectors) */
	int kc;         /* GEMM k per block */
	int regs;       /* vector registers */
} Target;

/* The target: AVX-512 (zmm registers) or not (codegen asks LLVM which). */
Target kern_target(int avx512);

/* A convolution of x[N,C,H,W] by w[O,C,KH,KW] giving y[N,O,OH,OW]: its
** geometry, R = C*KH*KW rows of a column matrix, P = OH*OW columns. */
typedef struct Conv {
	int64_t C, H, W, O, KH, KW, OH, OW, sh, sw, ph, pw, R, P;
	int direct;     /* 1x1, stride 1, no padding: x itself is the column matrix */
} Conv;
Conv kern_conv(const Shape *x, const Shape *w, const Shape *y, const Node *nd);
/* The convolution a 3x3 stride-1 conv2d_dx is (its geometry k as from
** kern_conv(dx, w, dy)): of dy by the transposed, 180-degree-turned weights
** w'[c,o,i,j] = w[o,c,2-i,2-j] with padding 2 - p, giving dx. */
Conv kern_conv_dx_forward(const Conv *k);
/* The geometry of the convolution nd (conv2d, or a conv2d_dx taken as
** the convolution it is) that a Winograd schedule transforms. */
Conv kern_conv_wino(const Graph *g, const Node *nd);

/* A sumto of x to y that is a sum per channel: y is [C], [1,C] or
** [1,C,1,1] of x [N,C] or [N,C,H,W] (a bias's gradient), or y is one
** element (a scalar's). Sets C channels of S elements per sample, N
** samples (0: the batch n; a one-element y is one channel); returns 0 when
** the sumto is some other reduction. */
int kern_sumto_channels(const Shape *x, const Shape *y, int64_t *C, int64_t *S, int64_t *N);

/* Elements a chunk of a streaming kernel covers (about); a kernel over
** fewer than 2 * KERN_GRAIN (weighted) elements that do not grow with the
** batch runs serial. */
#define KERN_GRAIN 16384

/* How a kernel splits into parallel chunks. */
typedef enum {
	SPLIT_NONE,     /* one call on the calling thread */
	SPLIT_RANGE,    /* ranges of the outer loop, about 16K elements each */
	SPLIT_CHANNELS, /* ranges of channels, each summing its own in order */
	SPLIT_CONV,     /* conv2d: (sample, block of output rows, block of output channels) */
	SPLIT_WINO,     /* conv2d by Winograd: (group of samples, block of tile rows, block of output
	                   channels), after the weights' transform */
	SPLIT_CONV_DX,  /* conv2d_dx: (sample, block of input channels); on 1x1 planes (chunks_fixed)
	                   blocks of input channels of one GEMM over all samples */
	SPLIT_CONV_DW,  /* conv2d_dw: (block of input channels, block of output channels) */
	SPLIT_COLS,     /* dense, matmul_nt: blocks of result columns, packed */
	SPLIT_ROWS      /* matmul, matmul_tn: blocks of result rows */
} Split;

/* The anchor of a kernel: which lowering builds it. */
typedef enum { ANCHOR_NONE, ANCHOR_GEMM, ANCHOR_MAP, ANCHOR_REDUCE, ANCHOR_WINDOW, ANCHOR_MOVE } Anchor;

typedef struct Sched {
	Anchor anchor;
	Split split;
	int im2col;             /* the GEMM reads a column matrix built in scratch */
	int64_t rows;           /* conv2d, conv2d_dw: output rows per block; matmul*: result rows per chunk */
	int64_t ob, nob;        /* output channels per block, blocks */
	int64_t cb, nb;         /* input channels per block, blocks */
	int64_t cols;           /* dense, matmul_nt: result columns per packed block */
	int64_t chunks_fixed;   /* chunks = chunks_fixed + chunks_per_n * n (SPLIT_RANGE: at most) */
	int64_t chunks_per_n;
	int64_t scratch;        /* bytes of scratch per chunk */
	int wino;               /* conv2d by Winograd F(wino x wino, 3x3) (winograd.c), 0: not */
	int64_t tile_rows;      /* wino: tile rows (of wino output rows each) per chunk */
	int64_t workspace;      /* bytes shared by the kernel's chunks (wino: the transformed weights) */
	int64_t group;          /* wino: samples per chunk (whole planes when more than 1);
	                           conv2d_dw: samples whose whole planes make one GEMM's k */
} Sched;

/* The schedule of node nd of g for target t (any node; sources get ANCHOR_NONE). */
Sched kern_schedule(const Graph *g, const Node *nd, const Target *t);

/* Check s against nd: blocks cover their dimension, tiles fit, scratch is
** there exactly when a chunk builds something in it. 0, or -1 with e set. */
int kern_verify(const Graph *g, const Node *nd, const Sched *s, Err *e);

/* Print an entry's kernels, one line per node that gets a kernel
** (needs(node) says which), with their schedules. */
void kern_print(const Graph *g, const Target *t, const char *entry, int (*needs)(const Graph *, const Node *, void *),
                void *arg, FILE *f);

#endif
