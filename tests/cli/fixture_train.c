/*
** fixture_train.c -- a stand-in for generated code with a loss, so `train`
** and `eval` can be tested without the compiler: the descriptor and the
** entries predict, eval, train_sgd and train_adam of a one-hidden-layer
** classifier over 1x4x4 images, 3 classes:
**
**   h = dropout(relu(fc1.weight . x + fc1.bias), 0.1)     (dropout: training only)
**   probs = softmax(fc2.weight . h + fc2.bias), loss = mean cross-entropy
**
** with a buffer (bn.running_mean, a running mean of relu's output that
** training updates and inference ignores) and the optimizer state
** opt.m.* / opt.v.*. The updates follow lunac_rt.h exactly:
**
**   g <- g * min(1, clip / (|g| + 1e-12))       global norm, hyper.clip
**   SGD:  v <- momentum v + g + wd p;  p <- p - lr v          (v: opt.v)
**   Adam: g <- g + wd_l2 p;  m <- b1 m + (1-b1) g;  v <- b2 v + (1-b2) g^2;
**         p <- p - lr (m ibc1 / (sqrt(v ibc2) + eps) + wd_dec p)
**
** Dropout keeps element (sample i, unit j) iff rt_uniform(seed, step, 1,
** i*8+j) >= 0.1. FIXTURE_SLEEP_MS in the environment slows each training
** step (the kill -9 test needs a run it can interrupt).
*/
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lunac_rt.h"

#define NP 163          /* parameter floats: fc1.weight, fc1.bias, fc2.weight, fc2.bias */
#define OFF_M 768       /* opt.m.*, the same layout */
#define OFF_V 1472      /* opt.v.* */
#define OFF_RM 704      /* bn.running_mean [8] */
#define OFF_HYPER 2176  /* 11 floats: lr clip momentum wd b1 b2 eps wd_l2 wd_dec ibc1 ibc2 */
#define OFF_LOSS 2240
#define OFF_GRAD 2304   /* NP floats of gradients (scratch) */
#define FIXED 3008
/* batched, per sample: image 16 f32 @0, label i32 @64, probs 3 f32 @68,
** h 8 f32 @80, z1 8 f32 @112; 144 bytes */
#define PDROP 0.1f

#define T(name, shape, off, batched) \
	"{\"name\":\"" name "\",\"dtype\":\"f32\",\"shape\":" shape ",\"offset\":" #off \
	",\"batched\":" batched "}"
#define P(name, shape, off, kind, init, fi, fo) \
	"{\"name\":\"" name "\",\"dtype\":\"f32\",\"shape\":" shape ",\"offset\":" #off \
	",\"batched\":false,\"kind\":\"" kind "\",\"init\":\"" init "\",\"fan_in\":" #fi \
	",\"fan_out\":" #fo "}"
#define H(name, off) T("hyper." name, "[1]", off, "false")

const char lunac_model_json[] =
	"{\"format\":\"lunac-model-1\",\"name\":\"fixture_train\",\"compiler\":\"lunac fixture\","
	"\"spec_hash\":\"feedc0de00000001\",\"fixed_bytes\":3008,\"batch_bytes\":144,"
	"\"inputs\":[" T("image", "[-1,1,4,4]", 0, "true") ","
	"{\"name\":\"label\",\"dtype\":\"i32\",\"shape\":[-1],\"offset\":64,\"batched\":true},"
	H("lr", 2176) "," H("clip", 2180) "," H("momentum", 2184) "," H("wd", 2188) ","
	H("b1", 2192) "," H("b2", 2196) "," H("eps", 2200) "," H("wd_l2", 2204) ","
	H("wd_dec", 2208) "," H("ibc1", 2212) "," H("ibc2", 2216) "],"
	"\"outputs\":[" T("probs", "[-1,3]", 68, "true") "," T("loss", "[1]", 2240, "false") "],"
	"\"params\":["
	P("fc1.weight", "[8,16]", 0, "param", "glorot", 16, 8) ","
	P("fc1.bias", "[8]", 512, "param", "zeros", 8, 8) ","
	P("fc2.weight", "[3,8]", 544, "param", "glorot", 8, 3) ","
	P("fc2.bias", "[3]", 640, "param", "zeros", 3, 3) ","
	P("bn.running_mean", "[8]", 704, "buffer", "zeros", 8, 8) ","
	P("opt.m.fc1.weight", "[8,16]", 768, "state", "zeros", 0, 0) ","
	P("opt.m.fc1.bias", "[8]", 1280, "state", "zeros", 0, 0) ","
	P("opt.m.fc2.weight", "[3,8]", 1312, "state", "zeros", 0, 0) ","
	P("opt.m.fc2.bias", "[3]", 1408, "state", "zeros", 0, 0) ","
	P("opt.v.fc1.weight", "[8,16]", 1472, "state", "zeros", 0, 0) ","
	P("opt.v.fc1.bias", "[8]", 1984, "state", "zeros", 0, 0) ","
	P("opt.v.fc2.weight", "[3,8]", 2016, "state", "zeros", 0, 0) ","
	P("opt.v.fc2.bias", "[3]", 2112, "state", "zeros", 0, 0) "],"
	"\"tasks\":[{\"name\":\"shape\",\"output\":\"probs\",\"label\":\"label\",\"classes\":3,"
	"\"weight\":1}],"
	"\"entries\":[{\"name\":\"predict\",\"outputs\":[\"probs\"]},"
	"{\"name\":\"eval\",\"outputs\":[\"probs\",\"loss\"]},"
	"{\"name\":\"train_sgd\",\"outputs\":[\"loss\",\"probs\"]},"
	"{\"name\":\"train_adam\",\"outputs\":[\"loss\",\"probs\"]}]}";

/* Views of the arena for n samples. */
typedef struct View {
	float *w1, *b1, *w2, *b2, *rm, *hy, *loss, *grad;
	float *x, *probs, *h, *z1;
	int32_t *y;
} View;

static View view(char *a, int64_t n)
{
	char *b = a + FIXED;
	return (View){(float *)a, (float *)(a + 512), (float *)(a + 544), (float *)(a + 640),
	              (float *)(a + OFF_RM), (float *)(a + OFF_HYPER), (float *)(a + OFF_LOSS),
	              (float *)(a + OFF_GRAD), (float *)b, (float *)(b + 68 * n), (float *)(b + 80 * n),
	              (float *)(b + 112 * n), (int32_t *)(b + 64 * n)};
}

/* Whether dropout keeps unit j of sample i at this step. */
static int kept(const RtCtx *c, int64_t i, int j)
{
	return rt_uniform(c->seed, c->step, 1, (uint64_t)(i * 8 + j)) >= PDROP;
}

/* Forward for all n samples; train: dropout on. Returns the mean loss if labels. */
static float forward(View v, int64_t n, const RtCtx *c, int train, int labels)
{
	double loss = 0;
	for (int64_t i = 0; i < n; i++) {
		const float *x = v.x + i * 16;
		float *z1 = v.z1 + i * 8, *h = v.h + i * 8, *p = v.probs + i * 3, z[3], mx = -INFINITY, s = 0;
		for (int j = 0; j < 8; j++) {
			z1[j] = v.b1[j];
			for (int k = 0; k < 16; k++)
				z1[j] += v.w1[j * 16 + k] * x[k];
			float a = z1[j] > 0 ? z1[j] : 0;
			h[j] = !train ? a : kept(c, i, j) ? a / (1 - PDROP) : 0;
		}
		for (int o = 0; o < 3; o++) {
			z[o] = v.b2[o];
			for (int j = 0; j < 8; j++)
				z[o] += v.w2[o * 8 + j] * h[j];
			mx = z[o] > mx ? z[o] : mx;
		}
		for (int o = 0; o < 3; o++)
			s += (z[o] = expf(z[o] - mx));
		for (int o = 0; o < 3; o++)
			p[o] = z[o] / s;
		if (labels)
			loss -= log(p[v.y[i]] > 1e-12f ? p[v.y[i]] : 1e-12f);
	}
	return n > 0 ? (float)(loss / (double)n) : 0;
}

/* Gradients of the mean loss into v.grad; the running mean buffer updated. */
static void backward(View v, int64_t n, const RtCtx *c)
{
	float *gw1 = v.grad, *gb1 = v.grad + 128, *gw2 = v.grad + 136, *gb2 = v.grad + 160;
	memset(v.grad, 0, NP * sizeof(float));
	float mean[8] = {0};
	for (int64_t i = 0; i < n; i++) {
		const float *x = v.x + i * 16, *z1 = v.z1 + i * 8, *h = v.h + i * 8, *p = v.probs + i * 3;
		float dz2[3], dh[8] = {0};
		for (int o = 0; o < 3; o++) {
			dz2[o] = (p[o] - (o == v.y[i] ? 1.0f : 0.0f)) / (float)n;
			gb2[o] += dz2[o];
			for (int j = 0; j < 8; j++) {
				gw2[o * 8 + j] += dz2[o] * h[j];
				dh[j] += v.w2[o * 8 + j] * dz2[o];
			}
		}
		for (int j = 0; j < 8; j++) {
			mean[j] += (z1[j] > 0 ? z1[j] : 0) / (float)n;
			float dz1 = z1[j] > 0 && kept(c, i, j) ? dh[j] / (1 - PDROP) : 0;
			gb1[j] += dz1;
			for (int k = 0; k < 16; k++)
				gw1[j * 16 + k] += dz1 * x[k];
		}
	}
	for (int j = 0; j < 8; j++)
		v.rm[j] = 0.9f * v.rm[j] + 0.1f * mean[j];
}

/* Scale the gradients to global norm hyper.clip when above it. */
static void clip(View v)
{
	double ss = 0;
	for (int i = 0; i < NP; i++)
		ss += (double)v.grad[i] * v.grad[i];
	float norm = (float)sqrt(ss), coef = v.hy[1] / (norm + 1e-12f);
	if (coef < 1)
		for (int i = 0; i < NP; i++)
			v.grad[i] *= coef;
}

/* FIXTURE_SLEEP_MS: a slow step. */
static void nap(void)
{
	const char *s = getenv("FIXTURE_SLEEP_MS");
	if (s && atoi(s) > 0) {
		struct timespec ts = {atoi(s) / 1000, (long)(atoi(s) % 1000) * 1000000L};
		nanosleep(&ts, NULL);
	}
}

void lunac_predict(char *arena, int64_t n, const RtCtx *ctx)
{
	forward(view(arena, n), n, ctx, 0, 0);
}

void lunac_eval(char *arena, int64_t n, const RtCtx *ctx)
{
	View v = view(arena, n);
	*v.loss = forward(v, n, ctx, 0, 1);
}

void lunac_train_sgd(char *arena, int64_t n, const RtCtx *ctx)
{
	View v = view(arena, n);
	float *p = (float *)arena, *mom = (float *)(arena + OFF_V);
	float lr = v.hy[0], mu = v.hy[2], wd = v.hy[3];
	*v.loss = forward(v, n, ctx, 1, 1);
	backward(v, n, ctx);
	clip(v);
	for (int i = 0; i < NP; i++) {
		mom[i] = mu * mom[i] + v.grad[i] + wd * p[i];
		p[i] -= lr * mom[i];
	}
	nap();
}

void lunac_train_adam(char *arena, int64_t n, const RtCtx *ctx)
{
	View v = view(arena, n);
	float *p = (float *)arena, *m = (float *)(arena + OFF_M), *s = (float *)(arena + OFF_V);
	float lr = v.hy[0], b1 = v.hy[4], b2 = v.hy[5], eps = v.hy[6], l2 = v.hy[7], dec = v.hy[8];
	float ibc1 = v.hy[9], ibc2 = v.hy[10];
	*v.loss = forward(v, n, ctx, 1, 1);
	backward(v, n, ctx);
	clip(v);
	for (int i = 0; i < NP; i++) {
		float g = v.grad[i] + l2 * p[i];
		m[i] = b1 * m[i] + (1 - b1) * g;
		s[i] = b2 * s[i] + (1 - b2) * g * g;
		p[i] -= lr * (m[i] * ibc1 / (sqrtf(s[i] * ibc2) + eps) + dec * p[i]);
	}
	nap();
}
