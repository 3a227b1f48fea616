/*
** lunac_rt.h -- the ABI between generated code and the runtime.
**
** A generated object file defines:
**
**   const char lunac_model_json[];   the model descriptor, NUL-terminated JSON
**   void lunac_predict(char *arena, int64_t n, const RtCtx *ctx);
**
** and may call the rt_* functions declared below. The runtime owns main().
**
** The descriptor:
**   {
**     "format": "lunac-model-1",
**     "name": "tiny_cnn",
**     "compiler": "lunac 0.1.0",
**     "spec_hash": "<hex>",
**     "fixed_bytes": F,              bytes of the non-batched region
**     "batch_bytes": B,              per-sample bytes of the batched region
**     "inputs":  [{"name","dtype":"f32"|"i32","shape":[-1,3,28,28],"offset","batched"}],
**     "outputs": [same fields],
**     "params":  [{"name","dtype","shape","offset","batched":false,
**                  "kind":"param"|"buffer","init":"glorot"|"zeros"|"ones",
**                  "fan_in","fan_out"}],
**     "entries": ["predict"]
**   }
** A shape entry of -1 is the batch size n. A tensor lives at arena + offset
** when not batched and at arena + fixed_bytes + offset * n when batched; the
** arena is fixed_bytes + batch_bytes * n bytes, 64-byte aligned.
*/
#ifndef LUNAC_RT_H
#define LUNAC_RT_H

#include <stdint.h>

typedef struct RtCtx {
	uint64_t seed;     /* dropout RNG seed */
	uint64_t step;     /* training step or Monte-Carlo sample index */
	int nthreads;      /* threads the kernels may use */
} RtCtx;

/* Philox-4x32-10 keyed by (seed), counter (idx, stream, step): a uniform
** float in [0, 1). Dropout keeps element idx of stream s iff u >= p. The
** interpreter calls the same function, so masks match bit for bit. */
float rt_uniform(uint64_t seed, uint64_t step, uint32_t stream, uint64_t idx);

#endif
