/*
** fixture_model.c -- a stand-in for generated code, so the executable's
** command line can be tested without the compiler: the descriptor and entry
** point of a small classifier, probs = softmax(fc.weight . image + fc.bias)
** over 1x4x4 images, 3 classes, with a batch-norm-style buffer pair that
** the entry point ignores. Linked with lib/liblunacrt.a by exe_cli.sh.
*/
#include <math.h>
#include <stdint.h>

#include "lunac_rt.h"

/* fixed: fc.weight [3,16] @0 (192 B), fc.bias [3] @192, bn.running_mean [3] @256,
** bn.running_var [3] @320; 384 bytes. Batched per sample: image 16 floats @0,
** probs 3 floats @64; 80 bytes. */
const char lunac_model_json[] =
	"{\"format\":\"lunac-model-1\",\"name\":\"fixture\",\"compiler\":\"lunac fixture\","
	"\"spec_hash\":\"0123456789abcdef\",\"fixed_bytes\":384,\"batch_bytes\":80,"
	"\"inputs\":[{\"name\":\"image\",\"dtype\":\"f32\",\"shape\":[-1,1,4,4],\"offset\":0,\"batched\":true}],"
	"\"outputs\":[{\"name\":\"probs\",\"dtype\":\"f32\",\"shape\":[-1,3],\"offset\":64,\"batched\":true}],"
	"\"params\":["
	"{\"name\":\"fc.weight\",\"dtype\":\"f32\",\"shape\":[3,16],\"offset\":0,\"batched\":false,"
	"\"kind\":\"param\",\"init\":\"glorot\",\"fan_in\":16,\"fan_out\":3},"
	"{\"name\":\"fc.bias\",\"dtype\":\"f32\",\"shape\":[3],\"offset\":192,\"batched\":false,"
	"\"kind\":\"param\",\"init\":\"zeros\",\"fan_in\":3,\"fan_out\":3},"
	"{\"name\":\"bn.running_mean\",\"dtype\":\"f32\",\"shape\":[3],\"offset\":256,\"batched\":false,"
	"\"kind\":\"buffer\",\"init\":\"zeros\",\"fan_in\":3,\"fan_out\":3},"
	"{\"name\":\"bn.running_var\",\"dtype\":\"f32\",\"shape\":[3],\"offset\":320,\"batched\":false,"
	"\"kind\":\"buffer\",\"init\":\"ones\",\"fan_in\":3,\"fan_out\":3}],"
	"\"entries\":[\"predict\"]}";

void lunac_predict(char *arena, int64_t n, const RtCtx *ctx)
{
	const float *w = (const float *)arena, *b = (const float *)(arena + 192);
	const float *x = (const float *)(arena + 384);
	float *y = (float *)(arena + 384 + 64 * n);
	(void)ctx;
	for (int64_t i = 0; i < n; i++) {
		float z[3], m = -INFINITY, s = 0;
		for (int o = 0; o < 3; o++) {
			z[o] = b[o];
			for (int k = 0; k < 16; k++)
				z[o] += w[o * 16 + k] * x[i * 16 + k];
			m = z[o] > m ? z[o] : m;
		}
		for (int o = 0; o < 3; o++)
			s += (z[o] = expf(z[o] - m));
		for (int o = 0; o < 3; o++)
			y[i * 3 + o] = z[o] / s;
	}
}
