/*
** test_codegen.c -- compiled code against the reference interpreter.
**
** Each case is IR text: it is planned (pass_plan), emitted as an object
** (cg_emit), linked into a shared library with the runtime's RNG, loaded,
** and run on an arena poisoned with NaN for n = 1 and n = 3; every graph
** output, and every param, buffer and state (an assign may rewrite them),
** must match interp_run within a relative L2 error of 1e-5 and hold no NaN.
** The forward ops, then the training ops, then every model in models/
** (predict and train_adam) in every pass variant: the default pipeline,
** only the required passes, and each optional pass disabled alone.
** Also: the descriptor, byte-identical emissions, zmm registers in the
** assembly when the host has AVX-512, hand-computed gradients and labels out
** of range, plans codegen must refuse, two entries in one module sharing
** offsets, and a whole training step (autodiff, clipping, SGD and Adam,
** batch-norm statistics) of a small CNN against the interpreter.
** LUNAC_CG_ONLY=TEXT runs only the tests whose name contains TEXT (groups:
** "hand", "entries", "train step"); LUNAC_KEEP_TMP=1 keeps the objects.
*/
#include "t.h"

#include "codegen/codegen.h"
#include "../frontend/frontend.h"
#include "interp/interp.h"
#include "lunac_rt.h"

#include <cjson/cJSON.h>
#include <dlfcn.h>
#include <glob.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* From LLVM-C (linked in; the test includes no LLVM header). */
char *LLVMGetHostCPUFeatures(void);
void LLVMDisposeMessage(char *);

typedef void (*Predict)(char *arena, int64_t n, const RtCtx *ctx);

typedef struct Case {
	const char *name;
	int positive;       /* inputs in [0.1, 2) instead of [-1, 1) (log) */
	const char *ir;
} Case;

#define X4(c, h, w) "%0 = input \"x\" : f32[N," #c "," #h "," #w "]\n"

static const Case cases[] = {
	{"conv s1 p1 bias", 0, X4(3, 8, 8) "%1 = param \"w\" init=glorot : f32[4,3,3,3]\n"
	 "%2 = param \"b\" init=zeros : f32[4]\n%3 = conv2d %0, %1, %2 stride=1 pad=1\noutput \"y\" %3\n"},
	{"conv s2 p1 non-square no bias", 0, X4(3, 9, 7) "%1 = param \"w\" : f32[5,3,3,3]\n"
	 "%2 = conv2d %0, %1 stride=2 pad=1\noutput \"y\" %2\n"},
	{"conv 1x1", 0, X4(8, 5, 6) "%1 = param \"w\" : f32[16,8,1,1]\n%2 = param \"b\" : f32[16]\n"
	 "%3 = conv2d %0, %1, %2 stride=1 pad=0\noutput \"y\" %3\n"},
	{"conv 5x3 stride 2,1 pad 2,1", 0, X4(2, 10, 7) "%1 = param \"w\" : f32[3,2,5,3]\n"
	 "%2 = param \"b\" : f32[3]\n%3 = conv2d %0, %1, %2 stride=2,1 pad=2,1\noutput \"y\" %3\n"},
	{"conv 7x7 s2 p3 wide", 0, X4(3, 16, 37) "%1 = param \"w\" : f32[8,3,7,7]\n"
	 "%2 = conv2d %0, %1 stride=2 pad=3\noutput \"y\" %2\n"},
	{"conv s3 no pad", 0, X4(4, 11, 11) "%1 = param \"w\" : f32[2,4,3,3]\n"
	 "%2 = conv2d %0, %1 stride=3 pad=0\noutput \"y\" %2\n"},
	/* GEMM schedule: row tiles and a tail, two row blocks, K in two blocks */
	{"conv gemm: 13 channels, 300 positions, K 288", 0, X4(32, 20, 15) "%1 = param \"w\" : f32[13,32,3,3]\n"
	 "%2 = param \"b\" : f32[13]\n%3 = conv2d %0, %1, %2 stride=1 pad=1\noutput \"y\" %3\n"},
	/* Winograd F(2x2, 3x3) (3x3 stride 1, 256+ positions, 16+ channels):
	** output channels off the 6-row tile, odd sizes (the last tile's second
	** row and column dropped), padding 0, 1 and 2, several tile-row chunks */
	{"conv winograd: 16x16 pad 1, 20 output channels, bias", 0, X4(16, 16, 16) "%1 = param \"w\" : f32[20,16,3,3]\n"
	 "%2 = param \"b\" : f32[20]\n%3 = conv2d %0, %1, %2 stride=1 pad=1\noutput \"y\" %3\n"},
	{"conv winograd: 17x19 pad 1 (odd rows and columns), no bias", 0, X4(17, 17, 19)
	 "%1 = param \"w\" : f32[16,17,3,3]\n%2 = conv2d %0, %1 stride=1 pad=1\noutput \"y\" %2\n"},
	{"conv winograd: pad 0, 17x18 output, bias", 0, X4(16, 19, 20) "%1 = param \"w\" : f32[18,16,3,3]\n"
	 "%2 = param \"b\" : f32[18]\n%3 = conv2d %0, %1, %2 stride=1 pad=0\noutput \"y\" %3\n"},
	{"conv winograd: pad 2, 18x18 output, 40 channels", 0, X4(24, 16, 16) "%1 = param \"w\" : f32[40,24,3,3]\n"
	 "%2 = conv2d %0, %1 stride=1 pad=2\noutput \"y\" %2\n"},
	{"conv winograd: 32x32 (4 chunks of 4 tile rows)", 0, X4(16, 32, 32) "%1 = param \"w\" : f32[16,16,3,3]\n"
	 "%2 = param \"b\" : f32[16]\n%3 = conv2d %0, %1, %2 stride=1 pad=1\noutput \"y\" %3\n"},
	/* small planes: whole planes of several samples a chunk (8x8: 4; 10x10:
	** 2, so n = 3 leaves a short group), 256+ output channels in blocks */
	{"conv winograd: 10x10, groups of 2 samples, bias", 0, X4(16, 10, 10) "%1 = param \"w\" : f32[17,16,3,3]\n"
	 "%2 = param \"b\" : f32[17]\n%3 = conv2d %0, %1, %2 stride=1 pad=1\noutput \"y\" %3\n"},
	{"conv winograd: 8x8, 260 output channels in 2 blocks", 0, X4(16, 8, 8) "%1 = param \"w\" : f32[260,16,3,3]\n"
	 "%2 = param \"b\" : f32[260]\n%3 = conv2d %0, %1, %2 stride=1 pad=1\noutput \"y\" %3\n"},
	/* few positions: chunks split the output channels, the last block short */
	{"conv gemm: channel blocks, 4x4", 0, X4(8, 4, 4) "%1 = param \"w\" : f32[30,8,3,3]\n"
	 "%2 = param \"b\" : f32[30]\n%3 = conv2d %0, %1, %2 stride=1 pad=1\noutput \"y\" %3\n"},
	/* one column tile (at most 16 positions): K unblocked past 256, B read
	** in place, masked when the tile is short */
	{"conv gemm: one column tile, 9 positions, K 360", 0, X4(40, 3, 3) "%1 = param \"w\" : f32[13,40,3,3]\n"
	 "%2 = param \"b\" : f32[13]\n%3 = conv2d %0, %1, %2 stride=1 pad=1\noutput \"y\" %3\n"},
	{"conv gemm: one full column tile, 16 positions, K 288", 0, X4(32, 4, 4) "%1 = param \"w\" : f32[7,32,3,3]\n"
	 "%2 = conv2d %0, %1 stride=1 pad=1\noutput \"y\" %2\n"},
	{"conv gemm: 1x1 direct, 400 positions", 0, X4(5, 20, 20) "%1 = param \"w\" : f32[7,5,1,1]\n"
	 "%2 = conv2d %0, %1 stride=1 pad=0\noutput \"y\" %2\n"},
	/* 6 rows: the packed GEMM (fewer rows take dot products); 70 columns:
	** two packed blocks, the second a masked tail */
	{"dense gemm: 6 rows, 70 outputs, bias", 0, "%0 = param \"x\" : f32[6,20]\n%1 = param \"w\" : f32[70,20]\n"
	 "%2 = param \"b\" : f32[70]\n%3 = dense %0, %1, %2\noutput \"y\" %3\n"},
	{"dense bias", 0, "%0 = input \"x\" : f32[N,20]\n%1 = param \"w\" : f32[10,20]\n%2 = param \"b\" : f32[10]\n"
	 "%3 = dense %0, %1, %2\noutput \"y\" %3\n"},
	{"dense no bias", 0, "%0 = input \"x\" : f32[N,37]\n%1 = param \"w\" : f32[5,37]\n%2 = dense %0, %1\n"
	 "output \"y\" %2\n"},
	{"matmul batched", 0, "%0 = input \"a\" : f32[N,12]\n%1 = param \"b\" : f32[12,7]\n%2 = matmul %0, %1\n"
	 "output \"y\" %2\n"},
	{"matmul fixed", 0, "%0 = param \"a\" : f32[4,6]\n%1 = param \"b\" : f32[6,9]\n%2 = matmul %0, %1\n"
	 "output \"y\" %2\n"},
	{"add [N,C,H,W]+[1,C,1,1]", 0, X4(4, 5, 6) "%1 = param \"s\" : f32[1,4,1,1]\n%2 = add %0, %1\n"
	 "output \"y\" %2\n"},
	{"add [C,1,1]+[N,C,H,W]", 0, X4(4, 5, 6) "%1 = param \"s\" : f32[4,1,1]\n%2 = add %1, %0\n"
	 "output \"y\" %2\n"},
	{"sub same shape", 0, X4(4, 5, 6) "%1 = input \"z\" : f32[N,4,5,6]\n%2 = sub %0, %1\noutput \"y\" %2\n"},
	{"mul [N,C]*[C]", 0, "%0 = input \"x\" : f32[N,7]\n%1 = param \"s\" : f32[7]\n%2 = mul %0, %1\n"
	 "output \"y\" %2\n"},
	{"mul [N,1,H,W]*[N,C,H,W]", 0, X4(1, 5, 6) "%1 = input \"z\" : f32[N,3,5,6]\n%2 = mul %0, %1\n"
	 "output \"y\" %2\n"},
	{"div by const scalar [1]", 0, X4(2, 3, 4) "%1 = const [0.37] : f32[1]\n%2 = div %0, %1\n"
	 "output \"y\" %2\n"},
	{"add [N,4,1,6]+[5,1]", 0, X4(4, 1, 6) "%1 = param \"s\" : f32[5,1]\n%2 = add %0, %1\n"
	 "output \"y\" %2\n"},
	{"sub [1,C]-[N,C] fixed+batched", 0, "%0 = input \"x\" : f32[N,9]\n%1 = param \"s\" : f32[1,9]\n"
	 "%2 = sub %1, %0\noutput \"y\" %2\n"},
	{"div fixed [3,4]/[4]", 0, "%0 = param \"a\" : f32[3,4]\n%1 = param \"b\" : f32[4]\n%2 = div %0, %1\n"
	 "output \"y\" %2\n"},
	{"unary neg relu sigmoid tanh exp", 0, X4(3, 4, 5) "%1 = neg %0\n%2 = relu %0\n%3 = sigmoid %0\n"
	 "%4 = tanh %0\n%5 = exp %0\noutput \"neg\" %1\noutput \"relu\" %2\noutput \"sigmoid\" %3\n"
	 "output \"tanh\" %4\noutput \"exp\" %5\n"},
	{"sigmoid far out (|x| up to 1000)", 0,
	 "%0 = const [-1000, -104, -88.8, -80, -1, 0, 1, 80, 88.8, 104, 1000] : f32[11]\n%1 = sigmoid %0\n"
	 "output \"y\" %1\n"},
	{"unary log", 1, "%0 = input \"x\" : f32[N,33]\n%1 = log %0\noutput \"y\" %1\n"},
	{"gavg gmax gmin", 0, X4(5, 7, 9) "%1 = gavg %0 keepdims=0\n%2 = gmax %0 keepdims=0\n"
	 "%3 = gmin %0 keepdims=0\noutput \"avg\" %1\noutput \"max\" %2\noutput \"min\" %3\n"},
	{"gavg gmax keepdims", 0, X4(6, 4, 4) "%1 = gavg %0 keepdims=1\n%2 = gmax %0 keepdims=1\n"
	 "output \"avg\" %1\noutput \"max\" %2\n"},
	{"maxpool k2 s2", 0, X4(3, 8, 8) "%1 = maxpool %0 kernel=2 stride=2 pad=0\noutput \"y\" %1\n"},
	{"maxpool k3 s2 p1 non-square", 0, X4(3, 9, 7) "%1 = maxpool %0 kernel=3 stride=2 pad=1\noutput \"y\" %1\n"},
	{"avgpool k3 s1 p1", 0, X4(2, 6, 5) "%1 = avgpool %0 kernel=3 stride=1 pad=1\noutput \"y\" %1\n"},
	{"avgpool k2 s2 odd", 0, X4(2, 7, 9) "%1 = avgpool %0 kernel=2 stride=2 pad=0\noutput \"y\" %1\n"},
	{"avgpool k3,2 s2 p1,1", 0, X4(2, 9, 8) "%1 = avgpool %0 kernel=3,2 stride=2 pad=1,1\noutput \"y\" %1\n"},
	{"batchnorm running 4d", 0, X4(4, 5, 3) "%1 = param \"g\" : f32[4]\n%2 = param \"b\" : f32[4]\n"
	 "%3 = buffer \"m\" init=zeros : f32[4]\n%4 = buffer \"v\" init=ones : f32[4]\n"
	 "%5 = batchnorm %0, %1, %2, %3, %4 mode=running eps=1e-5 momentum=0.1\noutput \"y\" %5\n"},
	{"batchnorm running 2d", 0, "%0 = input \"x\" : f32[N,6]\n%1 = param \"g\" : f32[6]\n"
	 "%2 = param \"b\" : f32[6]\n%3 = buffer \"m\" : f32[6]\n%4 = buffer \"v\" : f32[6]\n"
	 "%5 = batchnorm %0, %1, %2, %3, %4 mode=running eps=1e-3 momentum=0.1\noutput \"y\" %5\n"},
	{"batchnorm batch 4d", 0, X4(3, 5, 4) "%1 = param \"g\" : f32[3]\n%2 = param \"b\" : f32[3]\n"
	 "%3 = buffer \"m\" : f32[3]\n%4 = buffer \"v\" : f32[3]\n"
	 "%5 = batchnorm %0, %1, %2, %3, %4 mode=batch eps=1e-5 momentum=0.1\noutput \"y\" %5\n"},
	{"batchnorm batch 2d", 0, "%0 = input \"x\" : f32[N,5]\n%1 = param \"g\" : f32[5]\n"
	 "%2 = param \"b\" : f32[5]\n%3 = buffer \"m\" : f32[5]\n%4 = buffer \"v\" : f32[5]\n"
	 "%5 = batchnorm %0, %1, %2, %3, %4 mode=batch eps=1e-5 momentum=0.1\noutput \"y\" %5\n"},
	{"concat 2 channels", 0, X4(2, 3, 4) "%1 = input \"z\" : f32[N,5,3,4]\n%2 = concat %0, %1 axis=1\n"
	 "output \"y\" %2\n"},
	{"concat 3 channels", 0, X4(2, 3, 4) "%1 = input \"z\" : f32[N,1,3,4]\n%2 = relu %0\n"
	 "%3 = concat %0, %1, %2 axis=1\noutput \"y\" %3\n"},
	{"concat axis 3", 0, X4(2, 3, 4) "%1 = input \"z\" : f32[N,2,3,1]\n%2 = concat %0, %1 axis=3\n"
	 "output \"y\" %2\n"},
	{"concat 2d features", 0, "%0 = input \"x\" : f32[N,3]\n%1 = input \"p\" : f32[N,5]\n"
	 "%2 = concat %0, %1 axis=1\noutput \"y\" %2\n"},
	{"reshape flatten and back", 0, X4(4, 3, 2) "%1 = reshape %0 shape=[N,24]\n%2 = relu %1\n"
	 "%3 = reshape %2 shape=[N,2,3,4]\noutput \"flat\" %1\noutput \"y\" %3\n"},
	{"softmax", 0, "%0 = input \"x\" : f32[N,10]\n%1 = softmax %0\noutput \"y\" %1\n"},
	{"logsoftmax", 0, "%0 = input \"x\" : f32[N,10]\n%1 = logsoftmax %0\noutput \"y\" %1\n"},
	{"softmax rank 3", 0, "%0 = input \"x\" : f32[N,3,37]\n%1 = softmax %0\n%2 = logsoftmax %0\n"
	 "output \"s\" %1\noutput \"l\" %2\n"},
	{"dropout off", 0, X4(2, 3, 4) "%1 = dropout %0 mode=off p=0.5 stream=0\n%2 = neg %1\n"
	 "output \"y\" %2\n"},
	{"dropout mc", 0, X4(2, 3, 4) "%1 = dropout %0 mode=mc p=0.3 stream=5\noutput \"y\" %1\n"},
	{"dropout train", 0, "%0 = input \"x\" : f32[N,50]\n%1 = dropout %0 mode=train p=0.5 stream=2\n"
	 "output \"y\" %1\n"},
	{"const", 0, "%0 = input \"x\" : f32[N,4]\n%1 = const [1, -2, 0.5, 3.25] : f32[4]\n%2 = mul %0, %1\n"
	 "output \"y\" %2\noutput \"c\" %1\n"},
	{"chain cnn", 0, X4(3, 12, 10) "%1 = param \"c1.w\" : f32[8,3,3,3]\n%2 = param \"c1.b\" : f32[8]\n"
	 "%3 = conv2d %0, %1, %2 stride=1 pad=1\n%4 = param \"bn.g\" : f32[8]\n%5 = param \"bn.b\" : f32[8]\n"
	 "%6 = buffer \"bn.m\" : f32[8]\n%7 = buffer \"bn.v\" : f32[8]\n"
	 "%8 = batchnorm %3, %4, %5, %6, %7 mode=running eps=1e-5 momentum=0.1\n%9 = relu %8\n"
	 "%10 = maxpool %9 kernel=2 stride=2 pad=0\n%11 = param \"c2.w\" : f32[6,8,3,3]\n"
	 "%12 = conv2d %10, %11 stride=2 pad=1\n%13 = sigmoid %12\n%14 = mul %12, %13\n"
	 "%15 = gavg %14 keepdims=1\n%16 = mul %14, %15\n%17 = reshape %16 shape=[N,54]\n"
	 "%18 = dropout %17 mode=mc p=0.2 stream=1\n%19 = param \"fc.w\" : f32[4,54]\n"
	 "%20 = param \"fc.b\" : f32[4]\n%21 = dense %18, %19, %20\n%22 = softmax %21\n"
	 "output \"probs\" %22\noutput \"logits\" %21\n"},
};

#define DY4(c, h, w) "%1 = input \"dy\" : f32[N," #c "," #h "," #w "]\n"

/* The training ops (docs/ir.md, "Training ops"), a few configurations each;
** i32 inputs get labels in [0, K) for the xent that reads them. */
static const Case train_cases[] = {
	{"sumto [N,C,H,W]->[1,C,1,1]", 0, X4(4, 5, 6) "%1 = sumto %0 shape=[1,4,1,1]\noutput \"y\" %1\n"},
	{"sumto [N,C,H,W]->[C,1,1]", 0, X4(4, 5, 6) "%1 = sumto %0 shape=[4,1,1]\noutput \"y\" %1\n"},
	{"sumto [N,C]->[C]", 0, "%0 = input \"x\" : f32[N,7]\n%1 = sumto %0 shape=[7]\noutput \"y\" %1\n"},
	{"sumto [N,4,6]->[N,1,6]", 0, "%0 = input \"x\" : f32[N,4,6]\n%1 = sumto %0 shape=[N,1,6]\noutput \"y\" %1\n"},
	{"sumto [N,3,4]->[3,1]", 0, "%0 = input \"x\" : f32[N,3,4]\n%1 = sumto %0 shape=[3,1]\noutput \"y\" %1\n"},
	/* per channel in chunks of channels (kern_sumto_channels), and to one element */
	{"sumto per channel: [N,48,20,20]->[1,48,1,1], chunks", 0, X4(48, 20, 20) "%1 = sumto %0 shape=[1,48,1,1]\noutput \"y\" %1\n"},
	{"sumto per channel: [N,9]->[1,9]", 0, "%0 = input \"x\" : f32[N,9]\n%1 = sumto %0 shape=[1,9]\noutput \"y\" %1\n"},
	{"sumto batched [N,5,7,3]->[1]", 0, X4(5, 7, 3) "%1 = sumto %0 shape=[1]\noutput \"y\" %1\n"},
	{"sumto fixed [40,30,1,1]->[1,1,1,1]", 0, "%0 = param \"x\" : f32[40,30,1,1]\n%1 = sumto %0 shape=[1,1,1,1]\noutput \"y\" %1\n"},
	{"sumto fixed [3,4,5]->[1]", 0, "%0 = param \"x\" : f32[3,4,5]\n%1 = sumto %0 shape=[1]\noutput \"y\" %1\n"},
	{"broadcast [C,1,1]->[N,C,H,W]", 0, "%0 = param \"s\" : f32[4,1,1]\n%1 = broadcast %0 shape=[N,4,5,6]\n"
	 "output \"y\" %1\n"},
	{"broadcast [1]->[N,5]", 0, "%0 = param \"s\" : f32[1]\n%1 = broadcast %0 shape=[N,5]\noutput \"y\" %1\n"},
	{"broadcast [N,1,4]->[N,3,4]", 0, "%0 = input \"x\" : f32[N,1,4]\n%1 = broadcast %0 shape=[N,3,4]\n"
	 "output \"y\" %1\n"},
	{"conv2d_dx s1 p1", 0, "%0 = input \"dy\" : f32[N,4,8,8]\n%1 = param \"w\" : f32[4,3,3,3]\n"
	 "%2 = conv2d_dx %0, %1 stride=1 pad=1 shape=[N,3,8,8]\noutput \"y\" %2\n"},
	{"conv2d_dx s2 p1 non-square", 0, "%0 = input \"dy\" : f32[N,5,5,4]\n%1 = param \"w\" : f32[5,3,3,3]\n"
	 "%2 = conv2d_dx %0, %1 stride=2 pad=1 shape=[N,3,9,7]\noutput \"y\" %2\n"},
	{"conv2d_dx 1x1", 0, "%0 = input \"dy\" : f32[N,16,5,6]\n%1 = param \"w\" : f32[16,8,1,1]\n"
	 "%2 = conv2d_dx %0, %1 stride=1 pad=0 shape=[N,8,5,6]\noutput \"y\" %2\n"},
	{"conv2d_dx 5x3 stride 2,1 pad 2,1", 0, "%0 = input \"dy\" : f32[N,3,5,7]\n%1 = param \"w\" : f32[3,2,5,3]\n"
	 "%2 = conv2d_dx %0, %1 stride=2,1 pad=2,1 shape=[N,2,10,7]\noutput \"y\" %2\n"},
	{"conv2d_dx s3 no pad (rows unused)", 0, "%0 = input \"dy\" : f32[N,2,3,3]\n%1 = param \"w\" : f32[2,4,3,3]\n"
	 "%2 = conv2d_dx %0, %1 stride=3 pad=0 shape=[N,4,11,11]\noutput \"y\" %2\n"},
	{"conv2d_dx 7x7 s2 p3 wide", 0, "%0 = input \"dy\" : f32[N,8,8,19]\n%1 = param \"w\" : f32[8,3,7,7]\n"
	 "%2 = conv2d_dx %0, %1 stride=2 pad=3 shape=[N,3,16,37]\noutput \"y\" %2\n"},
	{"conv2d_dx gemm: 32 channels, 300 positions", 0, "%0 = input \"dy\" : f32[N,13,20,15]\n"
	 "%1 = param \"w\" : f32[13,32,3,3]\n%2 = conv2d_dx %0, %1 stride=1 pad=1 shape=[N,32,20,15]\noutput \"y\" %2\n"},
	/* Winograd: the convolution of dy by the turned, transposed filters,
	** with padding 2 - p (1, 2 and 0 here), odd sizes */
	{"conv2d_dx winograd: pad 1, 17x19, 20 -> 18 channels", 0, "%0 = input \"dy\" : f32[N,20,17,19]\n"
	 "%1 = param \"w\" : f32[20,18,3,3]\n%2 = conv2d_dx %0, %1 stride=1 pad=1 shape=[N,18,17,19]\noutput \"y\" %2\n"},
	{"conv2d_dx winograd: pad 0, 14x15 -> 16x17", 0, "%0 = input \"dy\" : f32[N,16,14,15]\n"
	 "%1 = param \"w\" : f32[16,17,3,3]\n%2 = conv2d_dx %0, %1 stride=1 pad=0 shape=[N,17,16,17]\noutput \"y\" %2\n"},
	{"conv2d_dx winograd: pad 2, 18x18 -> 16x16", 0, "%0 = input \"dy\" : f32[N,24,18,18]\n"
	 "%1 = param \"w\" : f32[24,16,3,3]\n%2 = conv2d_dx %0, %1 stride=1 pad=2 shape=[N,16,16,16]\noutput \"y\" %2\n"},
	{"conv2d_dx winograd: 10x10, groups of 2 samples", 0, "%0 = input \"dy\" : f32[N,20,10,10]\n"
	 "%1 = param \"w\" : f32[20,18,3,3]\n%2 = conv2d_dx %0, %1 stride=1 pad=1 shape=[N,18,10,10]\noutput \"y\" %2\n"},
	{"conv2d_dx gemm: 1x1 direct, 7 channels", 0, "%0 = input \"dy\" : f32[N,7,20,20]\n"
	 "%1 = param \"w\" : f32[7,5,1,1]\n%2 = conv2d_dx %0, %1 stride=1 pad=0 shape=[N,5,20,20]\noutput \"y\" %2\n"},
	{"conv2d_dw gemm: 13x32x3x3 over 300 positions", 0, X4(32, 20, 15) "%1 = input \"dy\" : f32[N,13,20,15]\n"
	 "%2 = conv2d_dw %0, %1 stride=1 pad=1 shape=[13,32,3,3]\noutput \"y\" %2\n"},
	{"conv2d_dw gemm: 3 channels, output-channel blocks", 0, X4(3, 12, 12) "%1 = input \"dy\" : f32[N,30,12,12]\n"
	 "%2 = conv2d_dw %0, %1 stride=1 pad=1 shape=[30,3,3,3]\noutput \"y\" %2\n"},
	{"conv2d_dw gemm: 1x1, 7 channels", 0, X4(5, 20, 20) "%1 = input \"dy\" : f32[N,7,20,20]\n"
	 "%2 = conv2d_dw %0, %1 stride=1 pad=0 shape=[7,5,1,1]\noutput \"y\" %2\n"},
	{"conv2d_dw s1 p1", 0, X4(3, 8, 8) "%1 = input \"dy\" : f32[N,4,8,8]\n"
	 "%2 = conv2d_dw %0, %1 stride=1 pad=1 shape=[4,3,3,3]\noutput \"y\" %2\n"},
	{"conv2d_dw s2 p1 non-square", 0, X4(3, 9, 7) "%1 = input \"dy\" : f32[N,5,5,4]\n"
	 "%2 = conv2d_dw %0, %1 stride=2 pad=1 shape=[5,3,3,3]\noutput \"y\" %2\n"},
	{"conv2d_dw 1x1", 0, X4(8, 5, 6) "%1 = input \"dy\" : f32[N,16,5,6]\n"
	 "%2 = conv2d_dw %0, %1 stride=1 pad=0 shape=[16,8,1,1]\noutput \"y\" %2\n"},
	{"conv2d_dw 5x3 stride 2,1 pad 2,1", 0, X4(2, 10, 7) "%1 = input \"dy\" : f32[N,3,5,7]\n"
	 "%2 = conv2d_dw %0, %1 stride=2,1 pad=2,1 shape=[3,2,5,3]\noutput \"y\" %2\n"},
	{"conv2d_dw s3 no pad", 0, X4(4, 11, 11) "%1 = input \"dy\" : f32[N,2,3,3]\n"
	 "%2 = conv2d_dw %0, %1 stride=3 pad=0 shape=[2,4,3,3]\noutput \"y\" %2\n"},
	{"conv2d_dw 7x7 s2 p3 wide", 0, X4(3, 16, 37) "%1 = input \"dy\" : f32[N,8,8,19]\n"
	 "%2 = conv2d_dw %0, %1 stride=2 pad=3 shape=[8,3,7,7]\noutput \"y\" %2\n"},
	{"conv2d_dw 1x1, 64 channels: 8x8 column blocks, 2 scalar columns a row", 0, X4(64, 6, 10)
	 "%1 = input \"dy\" : f32[N,9,6,10]\n%2 = conv2d_dw %0, %1 stride=1 pad=0 shape=[9,64,1,1]\noutput \"y\" %2\n"},
	{"conv2d_dw 1x1 stride 2, 32 channels: 8x8 blocks of strided lanes", 0, X4(32, 19, 18)
	 "%1 = input \"dy\" : f32[N,6,10,9]\n%2 = conv2d_dw %0, %1 stride=2 pad=0 shape=[6,32,1,1]\noutput \"y\" %2\n"},
	{"conv2d_dw 1x1 stride 2, 16 channels: 4x4 blocks", 0, X4(16, 11, 13)
	 "%1 = input \"dy\" : f32[N,5,6,7]\n%2 = conv2d_dw %0, %1 stride=2 pad=0 shape=[5,16,1,1]\noutput \"y\" %2\n"},
	{"conv2d_dw 3x3 on 7x7, 20 samples: groups of 5 samples' planes a GEMM", 0, "%0 = input \"x\" : f32[20,16,7,7]\n"
	 "%1 = input \"dy\" : f32[20,20,7,7]\n%2 = conv2d_dw %0, %1 stride=1 pad=1 shape=[20,16,3,3]\noutput \"y\" %2\n"},
	{"conv2d_dw 1x1 on 4x4, 21 samples: a whole and a partial group of 16, 2 output-channel blocks", 0,
	 "%0 = input \"x\" : f32[21,8,4,4]\n%1 = input \"dy\" : f32[21,300,4,4]\n"
	 "%2 = conv2d_dw %0, %1 stride=1 pad=0 shape=[300,8,1,1]\noutput \"y\" %2\n"},
	{"conv2d_dw 1x1 on 4x4: 16 samples' planes", 0, X4(8, 4, 4)
	 "%1 = input \"dy\" : f32[N,20,4,4]\n%2 = conv2d_dw %0, %1 stride=1 pad=0 shape=[20,8,1,1]\noutput \"y\" %2\n"},
	/* A fixed first dimension is the sample count, whatever the batch the entry runs at. */
	{"conv gemm: fixed batch of 5", 0, "%0 = input \"x\" : f32[5,3,8,8]\n%1 = param \"w\" : f32[4,3,3,3]\n"
	 "%2 = conv2d %0, %1 stride=1 pad=1\noutput \"y\" %2\n"},
	{"conv winograd: fixed batch of 3", 0, "%0 = input \"x\" : f32[3,16,10,10]\n%1 = param \"w\" : f32[16,16,3,3]\n"
	 "%2 = conv2d %0, %1 stride=1 pad=1\noutput \"y\" %2\n"},
	{"conv2d_dx gemm: fixed batch of 4", 0, "%0 = input \"dy\" : f32[4,7,6,6]\n%1 = param \"w\" : f32[7,5,3,3]\n"
	 "%2 = conv2d_dx %0, %1 stride=1 pad=1 shape=[4,5,6,6]\noutput \"y\" %2\n"},
	{"conv2d_dw gemm: fixed batch of 4", 0, "%0 = input \"x\" : f32[4,3,12,12]\n%1 = input \"dy\" : f32[4,5,12,12]\n"
	 "%2 = conv2d_dw %0, %1 stride=1 pad=1 shape=[5,3,3,3]\noutput \"y\" %2\n"},
	{"conv2d_dx 1x1 planes: one GEMM over the samples, 4 column blocks", 0, "%0 = input \"dy\" : f32[N,20,1,1]\n"
	 "%1 = param \"w\" : f32[20,64,1,1]\n%2 = conv2d_dx %0, %1 stride=1 pad=0 shape=[N,64,1,1]\noutput \"y\" %2\n"},
	{"conv2d_dx 1x1 planes: one GEMM, 70 columns in one block, fixed batch of 5", 0, "%0 = input \"dy\" : f32[5,9,1,1]\n"
	 "%1 = param \"w\" : f32[9,70,1,1]\n%2 = conv2d_dx %0, %1 stride=1 pad=0 shape=[5,70,1,1]\noutput \"y\" %2\n"},
	{"fixed batch of 3: pools and global reductions", 0, "%0 = input \"x\" : f32[3,4,6,6]\n"
	 "%1 = maxpool %0 kernel=2 stride=2 pad=0\n%2 = avgpool %0 kernel=3 stride=1 pad=1\n%3 = gavg %0 keepdims=0\n"
	 "%4 = gmax %0 keepdims=1\noutput \"a\" %1\noutput \"b\" %2\noutput \"c\" %3\noutput \"d\" %4\n"},
	{"fixed batch of 3: batchnorm over the batch, softmax, concat", 0, "%0 = input \"x\" : f32[3,4,6,6]\n"
	 "%1 = param \"g\" : f32[4]\n%2 = param \"b\" : f32[4]\n%3 = buffer \"m\" : f32[4]\n%4 = buffer \"v\" : f32[4]\n"
	 "%5 = batchnorm %0, %1, %2, %3, %4 mode=batch eps=1e-5 momentum=0.1\n%6 = softmax %0\n"
	 "%7 = concat %0, %5 axis=1\noutput \"y\" %5\noutput \"s\" %6\noutput \"c\" %7\n"},
	{"fixed batch of 3: the window and batch-norm gradients", 0, "%0 = input \"x\" : f32[3,4,6,6]\n"
	 "%1 = input \"dy\" : f32[3,4,3,3]\n%2 = input \"dz\" : f32[3,4,6,6]\n%3 = param \"g\" : f32[4]\n"
	 "%4 = maxpool_dx %0, %1 kernel=2 stride=2 pad=0\n%5 = avgpool_dx %1 kernel=2 stride=2 pad=0 shape=[3,4,6,6]\n"
	 "%6 = bn_dx %0, %3, %2 eps=1e-5\n%7 = bn_dgamma %0, %2 eps=1e-5\n%8 = gmax %0 keepdims=0\n"
	 "%9 = input \"dg\" : f32[3,4]\n%10 = gsel_dx %0, %8, %9\n"
	 "output \"a\" %4\noutput \"b\" %5\noutput \"c\" %6\noutput \"d\" %7\noutput \"e\" %10\n"},
	{"matmul_nt batched", 0, "%0 = input \"a\" : f32[N,7]\n%1 = param \"b\" : f32[5,7]\n%2 = matmul_nt %0, %1\n"
	 "output \"y\" %2\n"},
	{"matmul_nt fixed", 0, "%0 = param \"a\" : f32[4,6]\n%1 = param \"b\" : f32[3,6]\n%2 = matmul_nt %0, %1\n"
	 "output \"y\" %2\n"},
	{"matmul_tn over the batch", 0, "%0 = input \"a\" : f32[N,33]\n%1 = input \"b\" : f32[N,10]\n"
	 "%2 = matmul_tn %0, %1\noutput \"y\" %2\n"},
	{"matmul_tn fixed", 0, "%0 = param \"a\" : f32[4,6]\n%1 = param \"b\" : f32[4,3]\n%2 = matmul_tn %0, %1\n"
	 "output \"y\" %2\n"},
	{"relu_dx", 0, X4(3, 4, 5) DY4(3, 4, 5) "%2 = relu_dx %0, %1\noutput \"y\" %2\n"},
	{"gsel_dx gmax", 0, X4(3, 4, 5) "%1 = gmax %0 keepdims=0\n%2 = input \"dy\" : f32[N,3]\n"
	 "%3 = gsel_dx %0, %1, %2\noutput \"y\" %3\n"},
	{"gsel_dx gmin keepdims, ties", 0, X4(3, 4, 5) "%1 = relu %0\n%2 = gmin %1 keepdims=1\n"
	 "%3 = input \"dy\" : f32[N,3,1,1]\n%4 = gsel_dx %1, %2, %3\noutput \"y\" %4\n"},
	{"maxpool_dx k2 s2", 0, X4(3, 8, 8) DY4(3, 4, 4) "%2 = maxpool_dx %0, %1 kernel=2 stride=2 pad=0\n"
	 "output \"y\" %2\n"},
	{"maxpool_dx k3 s2 p1 non-square", 0, X4(3, 9, 7) DY4(3, 5, 4)
	 "%2 = maxpool_dx %0, %1 kernel=3 stride=2 pad=1\noutput \"y\" %2\n"},
	{"maxpool_dx k3 s1 p1 overlapping, ties", 0, X4(2, 6, 5) DY4(2, 6, 5) "%2 = relu %0\n"
	 "%3 = maxpool_dx %2, %1 kernel=3 stride=1 pad=1\noutput \"y\" %3\n"},
	{"avgpool_dx k3 s1 p1", 0, "%0 = input \"dy\" : f32[N,2,6,5]\n"
	 "%1 = avgpool_dx %0 kernel=3 stride=1 pad=1 shape=[N,2,6,5]\noutput \"y\" %1\n"},
	{"avgpool_dx k2 s2 odd", 0, "%0 = input \"dy\" : f32[N,2,3,4]\n"
	 "%1 = avgpool_dx %0 kernel=2 stride=2 pad=0 shape=[N,2,7,9]\noutput \"y\" %1\n"},
	{"avgpool_dx k3,2 s2 p1,1", 0, "%0 = input \"dy\" : f32[N,2,5,5]\n"
	 "%1 = avgpool_dx %0 kernel=3,2 stride=2 pad=1,1 shape=[N,2,9,8]\noutput \"y\" %1\n"},
	{"bn_dx bn_dgamma bn_mean bn_var 4d", 0, X4(3, 5, 4) DY4(3, 5, 4) "%2 = param \"g\" : f32[3]\n"
	 "%3 = bn_dx %0, %2, %1 eps=1e-5\n%4 = bn_dgamma %0, %1 eps=1e-5\n%5 = bn_mean %0\n%6 = bn_var %0\n"
	 "output \"dx\" %3\noutput \"dgamma\" %4\noutput \"mean\" %5\noutput \"var\" %6\n"},
	{"bn_dx bn_dgamma bn_mean 2d", 0, "%0 = input \"x\" : f32[N,6]\n%1 = input \"dy\" : f32[N,6]\n"
	 "%2 = param \"g\" : f32[6]\n%3 = bn_dx %0, %2, %1 eps=1e-3\n%4 = bn_dgamma %0, %1 eps=1e-3\n%5 = bn_mean %0\n"
	 "output \"dx\" %3\noutput \"dgamma\" %4\noutput \"mean\" %5\n"},
	{"slice axis 1", 0, "%0 = input \"x\" : f32[N,7,3]\n%1 = slice %0 axis=1 start=2 shape=[N,3,3]\n"
	 "output \"y\" %1\n"},
	{"slice axis 3", 0, X4(4, 3, 5) "%1 = slice %0 axis=3 start=1 shape=[N,4,3,3]\noutput \"y\" %1\n"},
	{"slice fixed axis 0", 0, "%0 = param \"x\" : f32[6,4]\n%1 = slice %0 axis=0 start=1 shape=[3,4]\n"
	 "output \"y\" %1\n"},
	{"softmax_dx logsoftmax_dx", 0, "%0 = input \"x\" : f32[N,10]\n%1 = input \"dy\" : f32[N,10]\n"
	 "%2 = softmax %0\n%3 = logsoftmax %0\n%4 = softmax_dx %2, %1\n%5 = logsoftmax_dx %3, %1\n"
	 "output \"s\" %4\noutput \"l\" %5\n"},
	{"softmax_dx logsoftmax_dx rank 3", 0, "%0 = input \"x\" : f32[N,3,37]\n%1 = input \"dy\" : f32[N,3,37]\n"
	 "%2 = softmax %0\n%3 = logsoftmax %0\n%4 = softmax_dx %2, %1\n%5 = logsoftmax_dx %3, %1\n"
	 "output \"s\" %4\noutput \"l\" %5\n"},
	{"xent xent_dx", 0, "%0 = input \"x\" : f32[N,10]\n%1 = input \"lab\" : i32[N]\n%2 = input \"dl\" : f32[N]\n"
	 "%3 = xent %0, %1 smoothing=0\n%4 = xent_dx %0, %1, %2 smoothing=0\noutput \"l\" %3\noutput \"d\" %4\n"},
	{"xent xent_dx smoothing 0.1", 0, "%0 = input \"x\" : f32[N,7]\n%1 = input \"lab\" : i32[N]\n"
	 "%2 = input \"dl\" : f32[N]\n%3 = xent %0, %1 smoothing=0.1\n%4 = xent_dx %0, %1, %2 smoothing=0.1\n"
	 "output \"l\" %3\noutput \"d\" %4\n"},
	{"bmean [N,5] [N] [N,3,4]", 0, "%0 = input \"a\" : f32[N,5]\n%1 = input \"b\" : f32[N]\n"
	 "%2 = input \"c\" : f32[N,3,4]\n%3 = bmean %0\n%4 = bmean %1\n%5 = bmean %2\n"
	 "output \"a1\" %3\noutput \"b1\" %4\noutput \"c1\" %5\n"},
	{"bmean_dx", 0, "%0 = param \"a\" : f32[5]\n%1 = param \"b\" : f32[1]\n%2 = bmean_dx %0 shape=[N,5]\n"
	 "%3 = bmean_dx %1 shape=[N]\noutput \"a1\" %2\noutput \"b1\" %3\n"},
	{"sqrt", 1, "%0 = input \"x\" : f32[N,33]\n%1 = sqrt %0\noutput \"y\" %1\n"},
	{"minimum broadcast", 0, "%0 = input \"x\" : f32[N,5]\n%1 = param \"s\" : f32[5]\n%2 = minimum %0, %1\n"
	 "%3 = const [1] : f32[1]\n%4 = param \"t\" : f32[1]\n%5 = minimum %3, %4\noutput \"y\" %2\noutput \"z\" %5\n"},
	{"assign param", 0, "%0 = param \"p\" : f32[6]\n%1 = input \"g\" : f32[6]\n%2 = const [0.1] : f32[1]\n"
	 "%3 = mul %1, %2\n%4 = sub %0, %3\n%5 = assign %0, %4\n%6 = relu %4\noutput \"y\" %6\n"},
	{"assign buffer (running mean)", 0, X4(3, 4, 5) "%1 = buffer \"m\" : f32[3]\n%2 = bn_mean %0\n"
	 "%3 = sub %2, %1\n%4 = const [0.1] : f32[1]\n%5 = mul %4, %3\n%6 = add %1, %5\n%7 = assign %1, %6\n"
	 "output \"mean\" %2\n"},
	{"assign state, read after", 0, "%0 = state \"opt.m.w\" init=zeros : f32[4]\n%1 = input \"g\" : f32[4]\n"
	 "%2 = add %0, %1\n%3 = assign %0, %2\n%4 = neg %3\noutput \"y\" %4\n"},
};

static char tmpdir[] = "/tmp/lunac_cg_XXXXXX";
static uint32_t rng_state = 2024;

/* A deterministic pseudo-random float in [lo, hi). */
static float frand(float lo, float hi)
{
	rng_state = rng_state * 1664525u + 1013904223u;
	return lo + (hi - lo) * (float)((rng_state >> 8) * (1.0 / 16777216.0));
}

/* Does LUNAC_CG_ONLY (unset: everything) select the test named name? */
static int selected(const char *name)
{
	const char *only = getenv("LUNAC_CG_ONLY");
	return !only || strstr(name, only);
}

/* Parse and plan; on failure a failed check and NULL. */
static Graph *prepare(const char *name, const char *text, Plan *p)
{
	Err e = {0};
	Graph *g = ir_parse(text, name, &e);
	if (g && !pass_plan(g, NULL, p, &e))
		return g;
	t_check(0, name, "parse/plan: %s", e.msg);
	if (g)
		ir_free(g);
	return NULL;
}

/* The runtime functions generated code calls. The loaded kernels find them
** in this executable (the tests link with -rdynamic), not in a copy of the
** runtime of their own: the thread pool's workers must outlive dlclose. */
void *const runtime_for_kernels[] = {(void *)rt_parallel_for, (void *)rt_uniform, (void *)rt_prof_tick};

/* Link tmpdir/kIDX.o into a shared library (the runtime comes from this
** executable) and load it; NULL (and a failed check) on error. */
static void *link_load(const char *name, int idx)
{
	char so[256], cmd[1024];
	snprintf(so, sizeof so, "%s/k%d.so", tmpdir, idx);
	snprintf(cmd, sizeof cmd, "cc -shared -o %s %s/k%d.o -lm", so, tmpdir, idx);
	if (system(cmd) != 0) {
		t_check(0, name, "link failed: %s", cmd);
		return NULL;
	}
	void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		t_check(0, name, "dlopen: %s", dlerror());
	return h;
}

/* Emit g with options o as an object (cg_emit), link it, load it. */
static void *build(const char *name, int idx, Graph *g, Plan *p, const CgOptions *o)
{
	char obj[256];
	snprintf(obj, sizeof obj, "%s/k%d.o", tmpdir, idx);
	Err e = {0};
	if (cg_emit(g, p, o, EMIT_OBJ, obj, &e)) {
		t_check(0, name, "cg_emit: %s", e.msg);
		return NULL;
	}
	return link_load(name, idx);
}

/* Emit the entries es[0..n) into one object (cg_emit_entries), link, load. */
static void *build_entries(const char *name, int idx, const CgEntry *es, int n)
{
	char obj[256];
	snprintf(obj, sizeof obj, "%s/k%d.o", tmpdir, idx);
	Err e = {0};
	if (cg_emit_entries(es, n, NULL, EMIT_OBJ, obj, &e)) {
		t_check(0, name, "cg_emit_entries: %s", e.msg);
		return NULL;
	}
	return link_load(name, idx);
}

/* Relative L2 error of got against ref; NaN anywhere counts as infinite. */
static double rel_err(const float *got, const float *ref, int64_t k)
{
	double num = 0, den = 0;
	for (int64_t i = 0; i < k; i++) {
		if (isnan(got[i]) || isnan(ref[i]))
			return INFINITY;
		num += ((double)got[i] - ref[i]) * ((double)got[i] - ref[i]);
		den += (double)ref[i] * ref[i];
	}
	return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* Is nd a source the caller fills (input, param, buffer, state)? */
static int filled(const Node *nd)
{
	return nd->op == OP_INPUT || nd->op == OP_PARAM || nd->op == OP_BUFFER || nd->op == OP_STATE;
}

/* A NaN-poisoned, 64-byte aligned arena for plan p at batch n; NULL if out of memory. */
static char *poisoned_arena(const Plan *p, int64_t n)
{
	size_t bytes = (size_t)(p->fixed_bytes + p->batch_bytes * n);
	char *arena;
	if (posix_memalign((void **)&arena, 64, bytes ? bytes : 64))
		return NULL;
	for (size_t i = 0; i < bytes / 4; i++)
		((float *)arena)[i] = NAN;
	return arena;
}

/* Copy source nd's value v (n bound) into the arena at its plan address. */
static void put(char *arena, const Plan *p, const Node *nd, int64_t n, const float *v)
{
	memcpy(arena + plan_addr(p, nd, n), v, (size_t)ir_numel(&nd->shape, n) * 4);
}

/* The number of classes K of the logits an xent reads with labels id (2 if none). */
static int classes_of(const Graph *g, int id)
{
	for (int i = 0; i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		if ((nd->op == OP_XENT || nd->op == OP_XENT_DX) && nd->in[1] == id)
			return (int)g->nodes[nd->in[0]]->shape.d[1];
	}
	return 2;
}

/* Fill every source of g with pseudo-random values, in v and in the arena:
** i32 labels in [0, K), buffers in [0.5, 1.5), the rest in [-1, 1) (or
** [0.1, 2) when positive). */
static void fill_sources(Graph *g, const Plan *p, int64_t n, float **v, char *arena, int positive)
{
	for (int i = 0; i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		if (!filled(nd))
			continue;
		int64_t cnt = ir_numel(&nd->shape, n);
		for (int64_t j = 0; j < cnt; j++) {
			if (nd->dtype == DT_I32) {
				int32_t lab = (int32_t)frand(0, (float)classes_of(g, i));
				memcpy(&v[i][j], &lab, 4);
			} else {
				v[i][j] = nd->op == OP_BUFFER ? frand(0.5f, 1.5f) : positive ? frand(0.1f, 2) : frand(-1, 1);
			}
		}
		put(arena, p, nd, n, v[i]);
	}
}

/* The worst relative error over every output of g and every param, buffer
** and state (which an assign may have rewritten); *bad names it. */
static double compare(const Graph *g, const Plan *p, const char *arena, float **v, int64_t n, const char **bad)
{
	double worst = 0;
	*bad = "";
	for (int i = 0; i < g->noutputs + g->nnodes; i++) {
		int o = i < g->noutputs ? g->outputs[i].node : i - g->noutputs;
		const Node *nd = g->nodes[o];
		if (i >= g->noutputs && (!filled(nd) || nd->op == OP_INPUT))
			continue;
		double r = rel_err((const float *)(arena + plan_addr(p, nd, n)), v[o], ir_numel(&nd->shape, n));
		if (!(r <= worst))
			worst = r, *bad = i < g->noutputs ? g->outputs[i].name : nd->a.name;
	}
	return worst;
}

/* Run the compiled entry and the interpreter at batch n on the same
** sources; compare every output, param, buffer and state. */
static void check_n(const Case *k, Graph *g, const Plan *p, Predict fn, int64_t n)
{
	char name[160];
	snprintf(name, sizeof name, "%s n=%lld", k->name, (long long)n);
	char *arena = poisoned_arena(p, n);
	float **v = interp_alloc(g, n);
	if (!arena || !v) {
		t_check(0, name, "out of memory");
		free(arena), interp_free(g, v);
		return;
	}
	fill_sources(g, p, n, v, arena, k->positive);
	size_t bytes = (size_t)(p->fixed_bytes + p->batch_bytes * n);
	char *again = malloc(bytes ? bytes : 1);
	if (again)
		memcpy(again, arena, bytes);
	Err e = {0};
	RtCtx ctx = {.seed = 0x5eed1234abcdull, .step = 7, .nthreads = 1};
	if (interp_run(g, n, v, ctx.seed, ctx.step, &e)) {
		t_check(0, name, "interp_run: %s", e.msg);
	} else {
		fn(arena, n, &ctx);
		const char *bad;
		double worst = compare(g, p, arena, v, n, &bad);
		t_check(worst <= 1e-5, name, "'%s': relative error %g", bad, worst);
		/* the same sources at 3 threads: every byte of the arena the same */
		ctx.nthreads = 3;
		if (again)
			fn(again, n, &ctx);
		snprintf(name, sizeof name, "%s n=%lld: 3 threads bit-identical to 1", k->name, (long long)n);
		t_check(again && !memcmp(again, arena, bytes), name, "the arenas differ");
	}
	free(again);
	interp_free(g, v);
	free(arena);
}

/* One case: plan (then let tweak rewrite the plan, if given), emit with
** options o, link, load, compare at n = 1 and n = 3. LUNAC_CG_ONLY=TEXT
** runs only the cases whose name contains TEXT. */
static void run_case(const Case *k, int idx, const CgOptions *o, void (*tweak)(Plan *))
{
	if (!selected(k->name))
		return;
	Plan p;
	Graph *g = prepare(k->name, k->ir, &p);
	if (!g)
		return;
	if (tweak)
		tweak(&p);
	void *h = build(k->name, idx, g, &p, o);
	Predict fn = h ? (Predict)dlsym(h, "lunac_predict") : NULL;
	if (h && !fn)
		t_check(0, k->name, "no lunac_predict");
	if (fn) {
		check_n(k, g, &p, fn, 1);
		check_n(k, g, &p, fn, 3);
	}
	if (h)
		dlclose(h);
	ir_free(g);
}

/* In place: relu and neg write over exp's bytes; the reshape has no storage
** of its own (off < 0), so it and its users read exp's bytes too. */
static const Case inplace = {"plan: in-place results and an aliased reshape", 0,
	"%0 = input \"x\" : f32[N,4,5]\n%1 = exp %0\n%2 = relu %1\n%3 = reshape %2 shape=[N,20]\n"
	"%4 = neg %3\n%5 = param \"s\" : f32[20]\n%6 = mul %4, %5\noutput \"y\" %6\n"};

static void tweak_inplace(Plan *p)
{
	p->off[2] = p->off[1];
	p->off[3] = -1;
	p->off[4] = p->off[1];
	p->off[6] = p->off[1];
}

/* A constant read in place from its global (no arena storage). */
static const Case constref = {"plan: constant read in place", 0,
	"%0 = input \"x\" : f32[N,4]\n%1 = const [1, -2, 0.5, 3.25] : f32[4]\n%2 = mul %0, %1\n"
	"%3 = sub %1, %2\noutput \"y\" %3\n"};

static void tweak_constref(Plan *p)
{
	p->off[1] = -1;
}

/* Nodes that compute the same thing share a kernel: the two relus, the
** dropouts (the stream is a kernel parameter: stream 2's mask still
** differs, which the comparison with the interpreter checks) and the muls
** by equal constants (read in place), but not the mul by other values. */
static const Case shared = {"dedup: equal kernels shared, streams and constants apart", 0,
	"%0 = input \"x\" : f32[N,6]\n%1 = relu %0\n%2 = relu %0\n%3 = dropout %0 mode=mc p=0.3 stream=1\n"
	"%4 = dropout %0 mode=mc p=0.3 stream=2\n%5 = dropout %0 mode=mc p=0.3 stream=1\n"
	"%6 = const [1, 2, 3, 4, 5, 6] : f32[6]\n%7 = const [6, 5, 4, 3, 2, 1] : f32[6]\n"
	"%8 = const [1, 2, 3, 4, 5, 6] : f32[6]\n%9 = mul %0, %6\n%10 = mul %0, %7\n%11 = mul %0, %8\n"
	"output \"r1\" %1\noutput \"r2\" %2\noutput \"d1\" %3\noutput \"d2\" %4\noutput \"d3\" %5\n"
	"output \"m1\" %9\noutput \"m2\" %10\noutput \"m3\" %11\n"};

static void tweak_shared(Plan *p)
{
	p->off[6] = p->off[7] = p->off[8] = -1;
}

static char *slurp(const char *path, size_t *len);

/* How many lines of s start with prefix, not counting the task functions
** of parallel kernels ("<kernel>.task("). */
static int count_lines(const char *s, const char *prefix)
{
	int k = 0;
	for (const char *l = s; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
		const char *task = strstr(l, ".task("), *end = strchr(l, '\n');
		k += !strncmp(l, prefix, strlen(prefix)) && !(task && (!end || task < end));
	}
	return k;
}

/* The shared case against the interpreter, then its kernels counted in the
** .ll: relu, one dropout, two muls; two constant globals. */
static void test_shared(void)
{
	run_case(&shared, 804, NULL, tweak_shared);
	Plan p;
	Graph *g = prepare(shared.name, shared.ir, &p);
	if (!g)
		return;
	tweak_shared(&p);
	char path[256], *s = NULL;
	size_t len;
	snprintf(path, sizeof path, "%s/shared.ll", tmpdir);
	CgOptions o0 = {.opt_level = 0};
	Err e = {0};
	if (!cg_emit(g, &p, &o0, EMIT_LLVM, path, &e))
		s = slurp(path, &len);
#define DEF "define internal void @predict_k"
	int any = count_lines(s, DEF), relu = count_lines(s, DEF "1_relu(");
	int drop = count_lines(s, DEF "3_dropout(") + count_lines(s, DEF "4_dropout(");
	int mul = count_lines(s, DEF "9_mul(") + count_lines(s, DEF "10_mul(");
	int consts = count_lines(s, "@predict.const.");
#undef DEF
	t_check(s && any == 4 && relu == 1 && drop == 1 && mul == 2 && consts == 2, "dedup: 4 kernels, 2 constants",
	        "%d kernels (relu %d, dropout %d, mul %d), %d constants %s", any, relu, drop, mul, consts, e.msg);
	free(s);
	ir_free(g);
}

/* Plans the planner does not make (yet) and non-default options. */
static void test_variants(int ncases)
{
	run_case(&inplace, 800, NULL, tweak_inplace);
	run_case(&constref, 801, NULL, tweak_constref);
	test_shared();
	const Case *chain = &cases[ncases - 1];
	CgOptions o0 = {.opt_level = 0}, generic = {.cpu = "x86-64", .features = "", .opt_level = 2};
	Case k = *chain;
	k.name = "chain cnn at -O0";
	run_case(&k, 802, &o0, NULL);
	k.name = "chain cnn for generic x86-64 at -O2";
	run_case(&k, 803, &generic, NULL);
	/* conv2d_dw's masked vector loads and transposes without AVX (SSE2 only) */
	for (int i = 0, j = 0; i < (int)(sizeof train_cases / sizeof train_cases[0]); i++)
		if (!strcmp(train_cases[i].name, "conv2d_dw 7x7 s2 p3 wide") ||
		    !strcmp(train_cases[i].name, "conv2d_dw 1x1 stride 2, 16 channels: 4x4 blocks")) {
			k = train_cases[i];
			char name[160];
			snprintf(name, sizeof name, "%s, for generic x86-64", train_cases[i].name);
			k.name = name;
			run_case(&k, 804 + j++, &generic, NULL);
		}
	t_check(k.ir != chain->ir, "conv2d_dw for generic x86-64: its cases found", "renamed?");
}

static const Define small_drifa[] = {{"size", "32"}, {"width", "0.25"}, {"blocks", "1"}};

/* The pass variants every model is compiled with: the default pipeline,
** only the required passes (--passes=none), and each optional pass
** disabled alone (--disable-pass=NAME). Variant v of nvariants() into po;
** its name into buf ("" for the default). A pass added to the pipeline (a
** fusion rule) is covered without changing this test. */
static int nvariants(void)
{
	int n = 2;
	for (int i = 0; i < pass_count; i++)
		n += pass_list[i].can_disable;
	return n;
}

static void variant(int v, PassOpts *po, char *buf, size_t len)
{
	buf[0] = 0;
	if (v == 1) {
		po->only = "none";
		snprintf(buf, len, " passes=none");
	}
	for (int i = 0, k = 2; v >= 2 && i < pass_count; i++)
		if (pass_list[i].can_disable && k++ == v) {
			po->disable = pass_list[i].name;
			snprintf(buf, len, " disable-pass=%s", pass_list[i].name);
		}
}

/* Every model in models/: loaded by the frontend, through the pass pipeline
** (dropout off in every pass variant, then mc), planned, compiled and
** compared. */
static void test_models(void)
{
	glob_t gl;
	if (glob("models/*.lua", 0, NULL, &gl) != 0) {
		printf("ok - models # SKIP no models/*.lua here\n");
		return;
	}
	int nv = nvariants();
	for (size_t i = 0; i < gl.gl_pathc; i++)
		for (int v = 0; v <= nv; v++) {   /* v < nv: dropout off, pass variant v; v == nv: mc */
			int mc = v == nv;
			char name[300], vname[64] = "";
			PassOpts po = {.entry = mc ? ENTRY_MC : ENTRY_PREDICT};
			if (!mc)
				variant(v, &po, vname, sizeof vname);
			snprintf(name, sizeof name, "model %s mode=%s%s", gl.gl_pathv[i], mc ? "mc" : "off", vname);
			if (!selected(name))
				continue;
			FeOptions fo = {.libdir = "frontend/lib"};
			if (strstr(gl.gl_pathv[i], "drifa_net")) /* the small configuration its header gives for tests */
				fo.defs = small_drifa, fo.ndefs = 3;
			Err e = {0};
			Plan p;
			Graph *g = fe_load(gl.gl_pathv[i], &fo, &e);
			if (!g || pass_pipeline(g, &po, &e) || pass_plan(g, NULL, &p, &e)) {
				t_check(0, name, "%s", e.msg);
				if (g)
					ir_free(g);
				continue;
			}
			Case k = {name, 0, NULL};
			void *h = build(name, 2000 + (int)i * 20 + v, g, &p, NULL);
			Predict fn = h ? (Predict)dlsym(h, "lunac_predict") : NULL;
			if (fn) {
				check_n(&k, g, &p, fn, 1);
				check_n(&k, g, &p, fn, 3);
			}
			if (h)
				dlclose(h);
			ir_free(g);
		}
	globfree(&gl);
}

/* Read a whole file; *len gets its size. NULL if unreadable. */
static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long sz = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *s = malloc((size_t)sz + 1);
	*len = fread(s, 1, (size_t)sz, f);
	s[*len] = 0;
	fclose(f);
	return s;
}

/* Emit the same graph (parsed twice) twice per kind: identical bytes. */
static void test_deterministic(void)
{
	const Case *k = &cases[sizeof cases / sizeof cases[0] - 1];
	static const EmitKind kinds[] = {EMIT_OBJ, EMIT_ASM, EMIT_LLVM};
	for (int i = 0; i < 3; i++) {
		char path[2][256], *s[2] = {0};
		size_t len[2] = {0};
		for (int r = 0; r < 2; r++) {
			Plan p;
			Graph *g = prepare("deterministic", k->ir, &p);
			Err e = {0};
			snprintf(path[r], sizeof path[r], "%s/det%d_%d", tmpdir, i, r);
			if (!g || cg_emit(g, &p, NULL, kinds[i], path[r], &e))
				t_check(0, "deterministic emit", "%s", e.msg);
			s[r] = slurp(path[r], &len[r]);
			if (g)
				ir_free(g);
		}
		t_check(s[0] && s[1] && len[0] > 0 && len[0] == len[1] && !memcmp(s[0], s[1], len[0]),
		        i == 0 ? "byte-identical .o" : i == 1 ? "byte-identical .s" : "byte-identical .ll",
		        "emissions differ (%zu vs %zu bytes)", len[0], len[1]);
		free(s[0]), free(s[1]);
	}
}

/* The .s of a conv model uses zmm registers when the host has AVX-512. */
static void test_zmm(void)
{
	char *f = LLVMGetHostCPUFeatures();
	int avx512 = strstr(f, "+avx512f,") || (strlen(f) >= 9 && !strcmp(f + strlen(f) - 9, "+avx512f"));
	LLVMDisposeMessage(f);
	const Case *k = cases;
	while (strncmp(k->name, "conv 7x7", 8))
		k++;
	Plan p;
	Graph *g = prepare("zmm", k->ir, &p);
	char path[256];
	snprintf(path, sizeof path, "%s/conv.s", tmpdir);
	Err e = {0};
	size_t len = 0;
	/* without AVX-512 here, the AVX-512 code is compiled (for Zen 4) but not run */
	CgOptions zen4 = {.cpu = "znver4", .features = "", .opt_level = 3};
	char *s = g && !cg_emit(g, &p, avx512 ? NULL : &zen4, EMIT_ASM, path, &e) ? slurp(path, &len) : NULL;
	t_check(s && strstr(s, "zmm") && strstr(s, "vfmadd"), avx512 ? "zmm in conv assembly" : "zmm in conv assembly (znver4)",
	        "no zmm register or FMA in %s %s", path, e.msg);
	free(s);
	if (g)
		ir_free(g);
}

/* The descriptor: schema fields, shapes with -1, glorot fans, and the same
** text as the lunac_model_json symbol of the compiled object. */
static void test_descriptor(void)
{
	Plan p;
	const Case *k = &cases[sizeof cases / sizeof cases[0] - 1];
	Graph *g = prepare("descriptor", k->ir, &p);
	if (!g)
		return;
	char *json = cg_descriptor(g, &p);
	cJSON *d = json ? cJSON_Parse(json) : NULL;
	cJSON *in0 = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "inputs"), 0);
	cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(d, "params"), 0);
	int ok = d && !strcmp(cJSON_GetObjectItem(d, "format")->valuestring, "lunac-model-1") &&
	         !strcmp(cJSON_GetObjectItem(d, "compiler")->valuestring, "lunac 0.1.0") &&
	         cJSON_GetObjectItem(d, "fixed_bytes")->valuedouble == (double)p.fixed_bytes &&
	         cJSON_GetArraySize(cJSON_GetObjectItem(d, "outputs")) == 2 &&
	         cJSON_GetArraySize(cJSON_GetObjectItem(d, "params")) == 9 &&
	         cJSON_GetArrayItem(cJSON_GetObjectItem(in0, "shape"), 0)->valuedouble == -1 &&
	         cJSON_IsTrue(cJSON_GetObjectItem(in0, "batched")) &&
	         !strcmp(cJSON_GetObjectItem(w, "name")->valuestring, "c1.w") &&
	         cJSON_GetObjectItem(w, "fan_in")->valuedouble == 27 &&
	         cJSON_GetObjectItem(w, "fan_out")->valuedouble == 72 &&
	         !strcmp(cJSON_GetObjectItem(w, "kind")->valuestring, "param");
	t_check(ok, "descriptor fields", "got %s", json ? json : "(null)");
	void *h = build("descriptor symbol", 900, g, &p, NULL);
	const char *sym = h ? dlsym(h, "lunac_model_json") : NULL;
	t_check(sym && json && !strcmp(sym, json), "descriptor symbol lunac_model_json", "differs from cg_descriptor");
	if (h)
		dlclose(h);
	cJSON_Delete(d);
	free(json);
	ir_free(g);
}

/* Errors: an unwritable path is reported and EMIT_EXE is refused. */
static void test_errors(void)
{
	Plan p;
	Graph *g = prepare("errors", cases[0].ir, &p);
	if (!g)
		return;
	Err e = {0}, e2 = {0};
	int rc = cg_emit(g, &p, NULL, EMIT_OBJ, "/nonexistent-dir/x.o", &e);
	t_check(rc && e.set && strstr(e.msg, "/nonexistent-dir/x.o"), "unwritable path is an error", "%s", e.msg);
	rc = cg_emit(g, &p, NULL, EMIT_EXE, "/tmp/x", &e2);
	t_check(rc && e2.set, "EMIT_EXE refused", "rc %d", rc);
	ir_free(g);
}

/* The node of the source named name in g, or -1. */
static int source_named(const Graph *g, const char *name)
{
	for (int i = 0; i < g->nnodes; i++)
		if (filled(g->nodes[i]) && !strcmp(g->nodes[i]->a.name, name))
			return i;
	return -1;
}

/* Compile IR text as predict, fill the sources named in names[] from
** data[] (NULL-terminated), run at batch n; returns the arena (free it)
** and the graph and plan through *gp, *p; NULL on failure. */
static char *run_hand(const char *name, int idx, const char *ir, int64_t n, const char *const *names,
                      const void *const *data, Graph **gp, Plan *p)
{
	Graph *g = prepare(name, ir, p);
	void *h = g ? build(name, idx, g, p, NULL) : NULL;
	Predict fn = h ? (Predict)dlsym(h, "lunac_predict") : NULL;
	char *arena = fn ? poisoned_arena(p, n) : NULL;
	for (int i = 0; arena && names[i]; i++) {
		int id = source_named(g, names[i]);
		put(arena, p, g->nodes[id], n, data[i]);
	}
	RtCtx ctx = {.seed = 1, .step = 0, .nthreads = 1};
	if (arena)
		fn(arena, n, &ctx);
	if (h)
		dlclose(h);
	if (!arena && g)
		ir_free(g), g = NULL;
	*gp = g;
	return arena;
}

/* The value of output name after a run, or NULL. */
static const float *out_of(const Graph *g, const Plan *p, const char *arena, int64_t n, const char *name)
{
	int id = ir_find_output(g, name);
	return id < 0 ? NULL : (const float *)(arena + plan_addr(p, g->nodes[id], n));
}

/* Hand-computed: cross-entropy and its gradient, and a label outside
** [0, K) (too large, negative), which gives NaN and is never an index. */
static void test_xent_labels(void)
{
	static const char ir[] = "%0 = input \"x\" : f32[N,3]\n%1 = input \"lab\" : i32[N]\n%2 = input \"dl\" : f32[N]\n"
	                         "%3 = xent %0, %1 smoothing=0\n%4 = xent_dx %0, %1, %2 smoothing=0\n"
	                         "output \"l\" %3\noutput \"d\" %4\n";
	static const float x[9] = {1, 2, 3, 1, 2, 3, 1, 2, 3}, dl[3] = {1, 1, 1};
	static const int32_t lab[3] = {0, 3, -7};
	const char *names[] = {"x", "lab", "dl", NULL};
	const void *data[] = {x, lab, dl};
	Graph *g;
	Plan p;
	char *arena = run_hand("xent labels", 950, ir, 3, names, data, &g, &p);
	if (!arena)
		return;
	const float *l = out_of(g, &p, arena, 3, "l"), *d = out_of(g, &p, arena, 3, "d");
	/* lse = 3 + log(e^-2 + e^-1 + 1); softmax = (0.0900306, 0.2447285, 0.6652410) */
	int ok = fabsf(l[0] - 2.4076059644f) < 1e-5f && isnan(l[1]) && isnan(l[2]) && fabsf(d[0] + 0.9099694f) < 1e-5f &&
	         fabsf(d[1] - 0.2447285f) < 1e-5f && fabsf(d[2] - 0.6652410f) < 1e-5f;
	for (int i = 3; i < 9; i++)
		ok &= isnan(d[i]);
	t_check(ok, "xent: hand values, label out of range is NaN", "l = %g %g %g, d0 = %g %g %g", l[0], l[1], l[2],
	        d[0], d[1], d[2]);
	free(arena);
	ir_free(g);
}

/* Hand-computed: 3x3 kernels, stride 1, pad 1 on a 3x3 plane holding 1..9:
** the weight gradient against dy = 1 and the input gradient of dy = 1..9
** against w = 1 are both the 3x3 neighbourhood sums of 1..9. */
static void test_conv_grads_hand(void)
{
	static const char ir[] = "%0 = input \"a\" : f32[N,1,3,3]\n%1 = input \"ones\" : f32[N,1,3,3]\n"
	                         "%2 = param \"w\" : f32[1,1,3,3]\n"
	                         "%3 = conv2d_dw %0, %1 stride=1 pad=1 shape=[1,1,3,3]\n"
	                         "%4 = conv2d_dx %0, %2 stride=1 pad=1 shape=[N,1,3,3]\noutput \"dw\" %3\noutput \"dx\" %4\n";
	static const float a[9] = {1, 2, 3, 4, 5, 6, 7, 8, 9}, ones[9] = {1, 1, 1, 1, 1, 1, 1, 1, 1};
	static const float want[9] = {12, 21, 16, 27, 45, 33, 24, 39, 28};
	const char *names[] = {"a", "ones", "w", NULL};
	const void *data[] = {a, ones, ones};
	Graph *g;
	Plan p;
	char *arena = run_hand("conv grads by hand", 951, ir, 1, names, data, &g, &p);
	if (!arena)
		return;
	const float *dw = out_of(g, &p, arena, 1, "dw"), *dx = out_of(g, &p, arena, 1, "dx");
	int ok = 1;
	for (int i = 0; i < 9; i++)
		ok &= dw[i] == want[i] && dx[i] == want[i];
	t_check(ok, "conv2d_dw, conv2d_dx: hand values", "dw[0] %g dw[4] %g dx[0] %g dx[4] %g", dw[0], dw[4], dx[0], dx[4]);
	free(arena);
	ir_free(g);
}

/* Plans codegen must refuse: a kernel over a state, and a value read
** through an alias of a parameter after its assign overwrote it. */
static void test_plan_refused(void)
{
	static const char over[] = "%0 = state \"s\" : f32[4]\n%1 = input \"g\" : f32[4]\n%2 = add %0, %1\n"
	                           "%3 = assign %0, %2\noutput \"y\" %2\n";
	static const char stale[] = "%0 = param \"p\" : f32[6]\n%1 = reshape %0 shape=[2,3]\n%2 = input \"g\" : f32[6]\n"
	                            "%3 = assign %0, %2\n%4 = neg %1\noutput \"y\" %4\n";
	Plan p;
	Err e1 = {0}, e2 = {0};
	char path[256];
	snprintf(path, sizeof path, "%s/refused.ll", tmpdir);
	Graph *g = prepare("plan refused: over state", over, &p);
	if (g) {
		p.off[2] = p.off[0];
		int rc = cg_emit(g, &p, NULL, EMIT_LLVM, path, &e1);
		t_check(rc && strstr(e1.msg, "over state"), "plan refused: a kernel over a state", "rc %d: %s", rc, e1.msg);
		ir_free(g);
	}
	g = prepare("plan refused: stale read", stale, &p);
	if (g) {
		p.off[1] = -1; /* the reshape reads the parameter's bytes in place */
		int rc = cg_emit(g, &p, NULL, EMIT_LLVM, path, &e2);
		t_check(rc && strstr(e2.msg, "after %3 has overwritten it"), "plan refused: a read after the assign",
		        "rc %d: %s", rc, e2.msg);
		ir_free(g);
	}
}

/* Lay out entries gs[0..n) together, plan each on the layout, unify the
** sizes and fill es[i] = {names[i], gs[i], &ps[i]}; 0, or -1 and a failed check. */
static int plan_entries(const char *name, Graph **gs, Plan *ps, CgEntry *es, const char *const *names, int n,
                        Layout *l)
{
	Err e = {0};
	Plan *pp[8];
	if (pass_layout(gs, n, l, &e)) {
		t_check(0, name, "pass_layout: %s", e.msg);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (pass_plan(gs[i], l, &ps[i], &e)) {
			t_check(0, name, "pass_plan %s: %s", names[i], e.msg);
			return -1;
		}
		pp[i] = &ps[i];
		es[i] = (CgEntry){names[i], gs[i], &ps[i]};
	}
	pass_plan_unify(pp, n);
	return 0;
}

/* Load g's sources into v from the arena (where an earlier entry left them). */
static void take_sources(const Graph *g, const Plan *p, int64_t n, float **v, const char *arena)
{
	for (int i = 0; i < g->nnodes; i++)
		if (filled(g->nodes[i]))
			memcpy(v[i], arena + plan_addr(p, g->nodes[i], n), (size_t)ir_numel(&g->nodes[i]->shape, n) * 4);
}

/* Run entry fn of g on the arena as it is and the interpreter on the same
** sources; check every output, param, buffer and state within tol. */
static void check_entry(const char *name, Graph *g, const Plan *p, Predict fn, char *arena, int64_t n, double tol)
{
	float **v = interp_alloc(g, n);
	Err e = {0};
	RtCtx ctx = {.seed = 0xfeedull, .step = 3, .nthreads = 1};
	take_sources(g, p, n, v, arena);
	if (interp_run(g, n, v, ctx.seed, ctx.step, &e)) {
		t_check(0, name, "interp_run: %s", e.msg);
	} else {
		fn(arena, n, &ctx);
		const char *bad;
		double worst = compare(g, p, arena, v, n, &bad);
		t_check(worst <= tol, name, "'%s': relative error %g", bad, worst);
	}
	interp_free(g, v);
}

/* The descriptor's tensor named name in array key, or NULL. */
static cJSON *desc_tensor(cJSON *d, const char *key, const char *name)
{
	cJSON *t;
	cJSON_ArrayForEach(t, cJSON_GetObjectItem(d, key)) {
		if (!strcmp(cJSON_GetObjectItem(t, "name")->valuestring, name))
			return t;
	}
	return NULL;
}

/* Does every named source and output of each entry sit at the descriptor's
** offset for its name? */
static int offsets_agree(cJSON *d, const CgEntry *es, int n)
{
	for (int k = 0; k < n; k++) {
		const Graph *g = es[k].g;
		for (int i = 0; i < g->nnodes; i++) {
			const Node *nd = g->nodes[i];
			if (!filled(nd))
				continue;
			cJSON *t = desc_tensor(d, nd->op == OP_INPUT ? "inputs" : "params", nd->a.name);
			if (!t || cJSON_GetObjectItem(t, "offset")->valuedouble != (double)es[k].p->off[i])
				return 0;
		}
		for (int i = 0; i < g->noutputs; i++) {
			cJSON *t = desc_tensor(d, "outputs", g->outputs[i].name);
			if (!t || cJSON_GetObjectItem(t, "offset")->valuedouble != (double)es[k].p->off[g->outputs[i].node])
				return 0;
		}
	}
	return 1;
}

/* Are the descriptor's entries exactly es[0..n), each with its outputs? */
static int entries_listed(cJSON *d, const CgEntry *es, int n)
{
	cJSON *ens = cJSON_GetObjectItem(d, "entries");
	if (cJSON_GetArraySize(ens) != n)
		return 0;
	for (int k = 0; k < n; k++) {
		cJSON *en = cJSON_GetArrayItem(ens, k), *outs = cJSON_GetObjectItem(en, "outputs");
		if (strcmp(cJSON_GetObjectItem(en, "name")->valuestring, es[k].name) ||
		    cJSON_GetArraySize(outs) != es[k].g->noutputs)
			return 0;
		for (int i = 0; i < es[k].g->noutputs; i++)
			if (strcmp(cJSON_GetArrayItem(outs, i)->valuestring, es[k].g->outputs[i].name))
				return 0;
	}
	return 1;
}

/* Two entries from IR text: predict, and a step that updates b and a state
** with assigns; sources declared in another order. One module, both
** symbols, one descriptor, shared offsets; the step writes back, and
** predict then reads the new b. */
static void test_entries(void)
{
	static const char pred[] = "graph two\n%0 = input \"x\" : f32[N,4]\n%1 = param \"w\" : f32[3,4]\n"
	                           "%2 = param \"b\" : f32[3]\n%3 = dense %0, %1, %2\noutput \"y\" %3\n";
	static const char step[] = "graph two\n%0 = param \"b\" : f32[3]\n%1 = input \"hyper.lr\" : f32[1]\n"
	                           "%2 = state \"opt.v.b\" init=zeros : f32[3]\n%3 = input \"x\" : f32[N,4]\n"
	                           "%4 = param \"w\" : f32[3,4]\n%5 = dense %3, %4, %0\n%6 = sumto %5 shape=[3]\n"
	                           "%7 = add %2, %6\n%8 = mul %1, %7\n%9 = sub %0, %8\n%10 = bmean %5\n"
	                           "%11 = sumto %10 shape=[1]\n%12 = assign %0, %9\n%13 = assign %2, %7\n"
	                           "output \"loss\" %11\n";
	static const char *const names[] = {"predict", "step"};
	Err e = {0};
	Graph *gs[2] = {ir_parse(pred, "predict", &e), ir_parse(step, "step", &e)};
	Plan ps[2];
	CgEntry es[2];
	Layout l = {0};
	if (!gs[0] || !gs[1]) {
		t_check(0, "entries", "parse: %s", e.msg);
	} else if (!plan_entries("entries", gs, ps, es, names, 2, &l)) {
		char *json = cg_descriptor_entries(es, 2);
		cJSON *d = json ? cJSON_Parse(json) : NULL;
		cJSON *st = d ? desc_tensor(d, "params", "opt.v.b") : NULL;
		int ok = d && cJSON_GetArraySize(cJSON_GetObjectItem(d, "inputs")) == 2 &&
		         cJSON_GetArraySize(cJSON_GetObjectItem(d, "params")) == 3 && st &&
		         !strcmp(cJSON_GetObjectItem(st, "kind")->valuestring, "state") &&
		         cJSON_GetArraySize(cJSON_GetObjectItem(d, "tasks")) == 0;
		t_check(ok && entries_listed(d, es, 2), "entries: descriptor lists both, names once", "%s", json);
		t_check(d && offsets_agree(d, es, 2), "entries: one offset per name in both plans", "%s", json);
		void *h = build_entries("entries", 960, es, 2);
		Predict fp = h ? (Predict)dlsym(h, "lunac_predict") : NULL, fs = h ? (Predict)dlsym(h, "lunac_step") : NULL;
		const char *sym = h ? dlsym(h, "lunac_model_json") : NULL;
		t_check(fp && fs && sym && json && !strcmp(sym, json), "entries: lunac_predict, lunac_step, descriptor",
		        "symbols %p %p %p", (void *)fp, (void *)fs, (void *)sym);
		for (int64_t n = 1; fp && fs && n <= 3; n += 2) {
			char *arena = poisoned_arena(&ps[1], n), nm[64];
			float **v = interp_alloc(gs[1], n);
			fill_sources(gs[1], &ps[1], n, v, arena, 0);
			interp_free(gs[1], v);
			snprintf(nm, sizeof nm, "entries: step writes back n=%lld", (long long)n);
			check_entry(nm, gs[1], &ps[1], fs, arena, n, 1e-5);
			snprintf(nm, sizeof nm, "entries: predict reads the new b n=%lld", (long long)n);
			check_entry(nm, gs[0], &ps[0], fp, arena, n, 1e-5);
			free(arena);
		}
		if (h)
			dlclose(h);
		cJSON_Delete(d);
		free(json);
	}
	pass_layout_free(&l);
	ir_free(gs[0]);
	ir_free(gs[1]);
}

/* Emit the entries twice as LLVM IR: the same bytes. */
static void same_twice(const char *name, const CgEntry *es, int n)
{
	char path[2][256], *s[2] = {0};
	size_t len[2] = {0};
	Err e = {0};
	for (int r = 0; r < 2; r++) {
		snprintf(path[r], sizeof path[r], "%s/twice%d.ll", tmpdir, r);
		if (!cg_emit_entries(es, n, NULL, EMIT_LLVM, path[r], &e))
			s[r] = slurp(path[r], &len[r]);
	}
	t_check(s[0] && s[1] && len[0] == len[1] && !memcmp(s[0], s[1], len[0]), name, "%s", e.msg);
	free(s[0]), free(s[1]);
}

/* A tiny CNN with a loss, like models/tiny_cnn.lua (task "probs"). */
static const char tiny_train[] =
	"graph tiny_train\n"
	"%0 = input \"image\" : f32[N,1,10,10]\n"
	"%1 = input \"label\" : i32[N]\n"
	"%2 = param \"conv1.weight\" init=glorot : f32[6,1,3,3]\n"
	"%3 = param \"conv1.bias\" init=zeros : f32[6]\n"
	"%4 = conv2d %0, %2, %3 stride=1 pad=1\n"
	"%5 = param \"bn1.weight\" init=ones : f32[6]\n"
	"%6 = param \"bn1.bias\" init=zeros : f32[6]\n"
	"%7 = buffer \"bn1.running_mean\" init=zeros : f32[6]\n"
	"%8 = buffer \"bn1.running_var\" init=ones : f32[6]\n"
	"%9 = batchnorm %4, %5, %6, %7, %8 mode=running eps=1e-5 momentum=0.1\n"
	"%10 = relu %9\n"
	"%11 = maxpool %10 kernel=2 stride=2 pad=0\n"
	"%12 = reshape %11 shape=[N,150]\n"
	"%13 = dropout %12 mode=mc p=0.25 stream=0\n"
	"%14 = param \"fc.weight\" init=glorot : f32[10,150]\n"
	"%15 = param \"fc.bias\" init=zeros : f32[10]\n"
	"%16 = dense %13, %14, %15\n"
	"%17 = softmax %16\n"
	"%18 = xent %16, %1 smoothing=0.05\n"
	"%19 = bmean %18\n"
	"output \"probs\" %17\n"
	"output \"loss\" %19\n";

/* A hyper-parameter's value for the step (t = 2 for Adam's corrections). */
static float hyper_value(const char *name, float clip)
{
	static const struct { const char *name; float v; } hs[] = {
		{"hyper.lr", 0.05f}, {"hyper.momentum", 0.9f}, {"hyper.wd", 5e-4f}, {"hyper.b1", 0.9f},
		{"hyper.b2", 0.999f}, {"hyper.eps", 1e-8f}, {"hyper.wd_l2", 1e-3f}, {"hyper.wd_dec", 1e-2f},
		{"hyper.ibc1", 1 / (1 - 0.9f * 0.9f)}, {"hyper.ibc2", 1 / (1 - 0.999f * 0.999f)},
	};
	if (!strcmp(name, "hyper.clip"))
		return clip;
	for (int i = 0; i < (int)(sizeof hs / sizeof hs[0]); i++)
		if (!strcmp(name, hs[i].name))
			return hs[i].v;
	return NAN;
}

/* Fill the training entry's sources: image, labels in [0, 10), weights
** near their scale, running statistics, optimizer state from an earlier
** step (opt.v.* positive), hyper-parameters; in the arena only. */
static void fill_train(const Graph *g, const Plan *p, int64_t n, char *arena, float clip)
{
	for (int i = 0; i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		if (!filled(nd))
			continue;
		float *at = (float *)(arena + plan_addr(p, nd, n));
		int64_t cnt = ir_numel(&nd->shape, n);
		const char *nm = nd->a.name;
		for (int64_t j = 0; j < cnt; j++) {
			if (nd->dtype == DT_I32)
				((int32_t *)at)[j] = (int32_t)frand(0, 10);
			else if (!strncmp(nm, "hyper.", 6))
				at[j] = hyper_value(nm, clip);
			else if (!strncmp(nm, "opt.v.", 6))
				at[j] = frand(0, 1e-3f);
			else if (!strncmp(nm, "opt.", 4))
				at[j] = frand(-0.02f, 0.02f);
			else if (strstr(nm, "running_var"))
				at[j] = frand(0.5f, 1.5f);
			else
				at[j] = frand(-0.5f, 0.5f);
		}
	}
}

/* Every entry of a model with a loss, through the real pipeline (autodiff,
** update, bnstats, simplify, dce), one layout, one module. One training
** step of each optimizer (Adam without clipping, SGD with clipping that
** bites) against the interpreter on the same graph: the loss and every
** parameter, buffer and state after the step within 1e-4 (float sums
** against the interpreter's double ones, through a whole backward pass).
** Then eval and predict read the updated weights. */
static void test_train_step(void)
{
	static const char *const names[] = {"predict", "eval", "train_sgd", "train_adam"};
	static const PassOpts po[] = {{.entry = ENTRY_PREDICT}, {.entry = ENTRY_EVAL},
	                              {.entry = ENTRY_TRAIN, .optimizer = OPT_SGD},
	                              {.entry = ENTRY_TRAIN, .optimizer = OPT_ADAM}};
	enum { NE = 4 };
	Err e = {0};
	Graph *base = ir_parse(tiny_train, "tiny_train", &e), *gs[NE] = {0};
	Plan ps[NE];
	CgEntry es[NE];
	Layout l = {0};
	if (!base) {
		t_check(0, "train step", "parse: %s", e.msg);
		return;
	}
	base->tasks = ir_alloc(&base->arena, sizeof(Task));
	base->tasks[0] = (Task){"probs", "probs", "label", 10, 1.0f, 0};
	base->ntasks = 1;
	for (int i = 0; i < NE; i++)
		if (!(gs[i] = ir_clone(base)) || pass_pipeline(gs[i], &po[i], &e)) {
			t_check(0, "train step", "pipeline %s: %s", names[i], e.msg);
			goto out;
		}
	if (plan_entries("train step", gs, ps, es, names, NE, &l))
		goto out;
	char *json = cg_descriptor_entries(es, NE);
	cJSON *d = json ? cJSON_Parse(json) : NULL, *task = d ? cJSON_GetArrayItem(cJSON_GetObjectItem(d, "tasks"), 0) : NULL;
	cJSON *m = d ? desc_tensor(d, "params", "opt.m.fc.weight") : NULL, *lab = d ? desc_tensor(d, "inputs", "label") : NULL;
	int ok = d && entries_listed(d, es, NE) && offsets_agree(d, es, NE) && task && m && lab &&
	         !strcmp(cJSON_GetObjectItem(task, "label")->valuestring, "label") &&
	         !strcmp(cJSON_GetObjectItem(m, "kind")->valuestring, "state") &&
	         !strcmp(cJSON_GetObjectItem(lab, "dtype")->valuestring, "i32") && desc_tensor(d, "inputs", "hyper.ibc2");
	t_check(ok, "train step: descriptor (entries, tasks, state, labels, hyper, offsets)", "%s", json);
	cJSON_Delete(d);
	free(json);
	same_twice("train step: byte-identical .ll of four entries", es, NE);
	void *h = build_entries("train step", 970, es, NE);
	Predict fn[NE] = {0};
	for (int i = 0; h && i < NE; i++) {
		char sym[64];
		snprintf(sym, sizeof sym, "lunac_%s", names[i]);
		fn[i] = (Predict)dlsym(h, sym);
		t_check(fn[i] != NULL, sym, "no such symbol");
	}
	for (int k = 2; fn[0] && fn[1] && k < NE; k++) /* train_sgd, train_adam */
		for (int64_t n = 1; fn[k] && n <= 3; n += 2) {
			char *arena = poisoned_arena(&ps[k], n), nm[96];
			fill_train(gs[k], &ps[k], n, arena, k == 2 ? 0.05f : 1e30f);
			snprintf(nm, sizeof nm, "train step: %s n=%lld", names[k], (long long)n);
			check_entry(nm, gs[k], &ps[k], fn[k], arena, n, 1e-4);
			snprintf(nm, sizeof nm, "train step: eval after %s n=%lld", names[k], (long long)n);
			check_entry(nm, gs[1], &ps[1], fn[1], arena, n, 1e-5);
			snprintf(nm, sizeof nm, "train step: predict after %s n=%lld", names[k], (long long)n);
			check_entry(nm, gs[0], &ps[0], fn[0], arena, n, 1e-5);
			free(arena);
		}
	if (h)
		dlclose(h);
out:
	pass_layout_free(&l);
	for (int i = 0; i < NE; i++)
		ir_free(gs[i]);
	ir_free(base);
}

/* Every model in models/ as its train_adam entry: one step against the
** interpreter at n = 3, then the same step from the same arena at 3
** threads, which must leave every byte of the arena (weights, optimizer
** state, gradients, loss) as 1 thread did. */
static void test_models_train(void)
{
	glob_t gl;
	if (glob("models/*.lua", 0, NULL, &gl) != 0) {
		printf("ok - models train # SKIP no models/*.lua here\n");
		return;
	}
	for (size_t i = 0; i < gl.gl_pathc * (size_t)nvariants(); i++) {   /* every model in every pass variant */
		size_t v = i % (size_t)nvariants();
		char name[300], vname[64];
		PassOpts po = {.entry = ENTRY_TRAIN, .optimizer = OPT_ADAM};
		variant((int)v, &po, vname, sizeof vname);
		const char *path = gl.gl_pathv[i / (size_t)nvariants()];
		snprintf(name, sizeof name, "model train_adam %s%s", path, vname);
		if (!selected(name))
			continue;
		FeOptions fo = {.libdir = "frontend/lib"};
		if (strstr(path, "drifa_net"))
			fo.defs = small_drifa, fo.ndefs = 3;
		static const char *const names[] = {"train_adam"};
		Err e = {0};
		Plan p;
		CgEntry es;
		Layout l = {0};
		Graph *g = fe_load(path, &fo, &e);
		if (!g || pass_pipeline(g, &po, &e)) {
			t_check(0, name, "%s", e.msg);
			ir_free(g);
			continue;
		}
		void *h = NULL;
		if (!plan_entries(name, &g, &p, &es, names, 1, &l))
			h = build_entries(name, 3000 + (int)i, &es, 1);
		Predict fn = h ? (Predict)dlsym(h, "lunac_train_adam") : NULL;
		int64_t n = 3;
		size_t bytes = (size_t)(p.fixed_bytes + p.batch_bytes * n);
		char *arena = fn ? poisoned_arena(&p, n) : NULL, *again = arena ? malloc(bytes) : NULL;
		if (again) {
			fill_train(g, &p, n, arena, 1e30f);
			for (int j = 0; j < g->nnodes; j++) /* labels within each head's classes */
				if (g->nodes[j]->op == OP_INPUT && g->nodes[j]->dtype == DT_I32)
					for (int64_t k = 0; k < n; k++)
						((int32_t *)(arena + plan_addr(&p, g->nodes[j], n)))[k] = (int32_t)(k % classes_of(g, j));
			memcpy(again, arena, bytes);
			/* 1e-2: a bias followed by conv and batch norm gets a gradient that
			** nearly cancels (the norm removes per-channel shifts), so its
			** relative error reflects the summation order, seen up to 1.2e-3
			** (resnet_small's opt.m.s1.a.bn.bias); test_train_step and
			** test_grad hold the gradients to 1e-4 on cases without that */
			check_entry(name, g, &p, fn, arena, n, 1e-2);
			RtCtx ctx = {.seed = 0xfeedull, .step = 3, .nthreads = 3};
			fn(again, n, &ctx);
			snprintf(name, sizeof name, "model train_adam %s%s: 3 threads bit-identical to 1", path, vname);
			t_check(!memcmp(again, arena, bytes), name, "the arenas differ");
		}
		free(arena);
		free(again);
		if (h)
			dlclose(h);
		pass_layout_free(&l);
		ir_free(g);
	}
	globfree(&gl);
}

int main(void)
{
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	int ncases = (int)(sizeof cases / sizeof cases[0]);
	for (int i = 0; i < ncases; i++)
		run_case(&cases[i], i, NULL, NULL);
	for (int i = 0; i < (int)(sizeof train_cases / sizeof train_cases[0]); i++)
		run_case(&train_cases[i], 100 + i, NULL, NULL);
	test_variants(ncases);
	test_models();
	test_models_train();
	test_deterministic();
	test_zmm();
	test_descriptor();
	test_errors();
	if (selected("hand")) {
		test_xent_labels();
		test_conv_grads_hand();
		test_plan_refused();
	}
	if (selected("entries"))
		test_entries();
	if (selected("train step"))
		test_train_step();
	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
	if (!getenv("LUNAC_KEEP_TMP") && system(cmd) != 0) /* set it to keep the .o files */
		fprintf(stderr, "could not remove %s\n", tmpdir);
	return t_done();
}
