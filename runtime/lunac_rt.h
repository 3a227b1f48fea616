/*
** lunac_rt.h -- the ABI between generated code and the runtime.
**
** A generated object file defines:
**
**   const char lunac_model_json[];   the model descriptor, NUL-terminated JSON
**   void lunac_<entry>(char *arena, int64_t n, const RtCtx *ctx);
**        for each entry the descriptor lists:
**        predict     inference: dropout off, batch norm on running statistics
**        mc          one Monte-Carlo sample: dropout on (mode mc), running statistics
**        eval        predict plus the "loss" output (reads the label inputs)
**        train_sgd   one training step with SGD + momentum (reads inputs, labels
**        train_adam  and hyper.* inputs; writes "loss"; updates parameters,
**                    buffers and optimizer state in the arena when it returns)
**        eval, train_* exist only when the model defines a loss.
**
**   const char lunac_profile_json[];   each entry's kernel calls in order
**        (rt_prof_tick's k), for --profile only:
**        {"predict": [[node, "op", "shape", flops, fixed_bytes, batch_bytes], ...], ...}:
**        the graph node, its op and result shape, the floating-point operations
**        per sample and the bytes its operands and result take (fixed, and per
**        sample)
**
** and may call the rt_* functions declared below. The runtime owns main().
**
** The descriptor:
**   {
**     "format": "lunac-model-1",
**     "name": "tiny_cnn",
**     "compiler": "lunac 0.1.0",
**     "spec_hash": "<hex>",
**     "target": {"cpu": "znver3", "features": "+avx2,..."}   optional: the CPU the
**                code was generated for, and the LLVM feature string on top of
**                that CPU's own ("" with --cpu alone: the CPU's own)
**     "fixed_bytes": F,              bytes of the non-batched region
**     "batch_bytes": B,              per-sample bytes of the batched region
**     "inputs":  [{"name","dtype":"f32"|"i32","shape":[-1,3,28,28],"offset","batched"}],
**                 model inputs, label inputs (i32 [-1]) and, for training, the
**                 hyper-parameters (f32 [1], not batched): hyper.lr, hyper.clip
**                 (max global gradient norm; the runtime passes 1e30 for none),
**                 SGD: hyper.momentum, hyper.wd; Adam: hyper.b1, hyper.b2,
**                 hyper.eps, hyper.wd_l2 (Adam's L2), hyper.wd_dec (AdamW's
**                 decoupled decay), hyper.ibc1 = 1/(1-b1^t), hyper.ibc2 = 1/(1-b2^t)
**                 with t the 1-based step number.
**     "outputs": [same fields]       every named output of every entry ("loss": f32 [1])
**     "params":  [{"name","dtype","shape","offset","batched":false,
**                  "kind":"param"|"buffer"|"state","init":"glorot"|"zeros"|"ones",
**                  "fan_in","fan_out"}]
**                 state: optimizer state (opt.m.<param>, opt.v.<param>), zeros
**     "tasks":   [{"name","output","label","classes","weight"}]   one per classification head
**     "entries": [{"name":"predict","outputs":["probs"]}, ...]
**   }
** Every input, output, parameter, buffer and state has ONE offset, the same
** in every entry, so the runtime fills inputs and reads outputs in one place.
** A shape entry of -1 is the batch size n. A tensor lives at arena + offset
** when not batched and at arena + fixed_bytes + offset * n when batched; the
** arena is fixed_bytes + batch_bytes * n bytes, 64-byte aligned, and is
** large enough for every entry.
*/
#ifndef LUNAC_RT_H
#define LUNAC_RT_H

#include <stdint.h>

typedef struct RtCtx {
	uint64_t seed;     /* dropout RNG seed */
	uint64_t step;     /* train_*: the 1-based step t (as in hyper.ibc1/ibc2);
	                      mc: the Monte-Carlo sample index; predict, eval: 0 */
	int nthreads;      /* threads the kernels may use */
	struct RtProf *prof;   /* NULL, or where rt_prof_tick adds each kernel's time */
} RtCtx;

/* Philox-4x32-10 keyed by (seed), counter (idx, stream, step): a uniform
** float in [0, 1). Dropout keeps element idx of stream s iff u >= p. The
** interpreter calls the same function, so masks match bit for bit. */
float rt_uniform(uint64_t seed, uint64_t step, uint32_t stream, uint64_t idx);

/* A parallel loop's body: run chunk `chunk` of env's loop, with `scratch`
** (rt_parallel_for's scratch_bytes, 64-byte aligned) to itself. */
typedef void (*RtChunkFn)(void *env, int64_t chunk, void *scratch);

/* Run task(env, i, scratch) for every i in [0, nchunks) on up to
** ctx->nthreads threads (pool.c), returning when all are done. Chunks may
** run in any order on any thread: generated code gives each chunk outputs
** of its own and a fixed order of summation, so results do not depend on
** the thread count. */
void rt_parallel_for(const RtCtx *ctx, RtChunkFn task, void *env, int64_t nchunks, int64_t scratch_bytes);

/* A buffer of at least bytes bytes (64-byte aligned, touched) that the
** chunks of a kernel call share, e.g. weights transformed once per call
** (compiler/codegen/winograd.c). Generated code asks for it first on the
** calling thread, outside any parallel loop, and then again with the same
** size from its chunks, which get the same buffer. Grown, never shrunk;
** its contents do not outlive the kernel call. */
void *rt_workspace(int64_t bytes);

/* Called by an entry before its kernel call k (0-based, in the order of the
** entry's "calls" in the descriptor) and once more with k = the number of
** calls when it ends. Returns at once when ctx->prof is NULL (prof_tick.c). */
void rt_prof_tick(const RtCtx *ctx, uint32_t k);

#endif
