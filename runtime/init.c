/*
** init.c -- parameter initialisation, reproducible from a seed alone.
**
**   glorot  uniform(-L, L), L = sqrt(6 / (fan_in + fan_out))   (Keras
**           GlorotUniform / PyTorch xavier_uniform_); the fans come from
**           the descriptor (conv: fan_in = C*KH*KW, fan_out = O*KH*KW)
**   zeros   0 (biases, BN beta, BN running_mean)
**   ones    1 (BN gamma, BN running_var)
**   optimizer state (kind "state") is always zeros.
**
** Element i of tensor p is (2u - 1) * L with u = rt_uniform(seed,
** RT_INIT_STEP, fnv1a32(p's name), i). Keying the stream by the name, not
** the position, makes a tensor's values depend only on (seed, name, i):
** adding, removing or reordering other layers leaves it unchanged, and the
** step RT_INIT_STEP (2^63) is one no dropout step ever uses.
*/
#include <math.h>
#include <stdlib.h>

#include "rt.h"

/* FNV-1a, 32 bits. */
static uint32_t fnv1a32(const char *s)
{
	uint32_t h = 2166136261u;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h;
}

void rt_init_tensor(const RtTensor *p, uint64_t seed, float *dst)
{
	int64_t n = rt_numel(p, 0);
	if (p->kind == RT_STATE || p->init != RT_INIT_GLOROT) {
		float v = p->kind != RT_STATE && p->init == RT_INIT_ONES ? 1.0f : 0.0f;
		for (int64_t i = 0; i < n; i++)
			dst[i] = v;
		return;
	}
	float lim = (float)sqrt(6.0 / (double)(p->fan_in + p->fan_out));
	uint32_t stream = fnv1a32(p->name);
	for (int64_t i = 0; i < n; i++)
		dst[i] = (2.0f * rt_uniform(seed, RT_INIT_STEP, stream, (uint64_t)i) - 1.0f) * lim;
}

void rt_init_params(const RtModel *m, char *arena, uint64_t seed)
{
	for (int i = 0; i < m->nparams; i++) {
		const RtTensor *p = &m->params[i];
		if (p->kind == RT_STATE || p->init == RT_INIT_ZEROS || p->init == RT_INIT_NONE)
			continue;   /* the fresh arena is zeros already: writing them would touch its pages */
		rt_init_tensor(p, seed, (float *)rt_tensor_addr(m, p, arena, 0));
	}
}

int rt_init_file(const RtModel *m, uint64_t seed, const char *path, RtErr *e)
{
	char *arena = rt_arena_new(m, 0, e);
	if (!arena)
		return -1;
	rt_init_params(m, arena, seed);
	int rc = rt_weights_save(m, arena, path, e);
	rt_arena_free(arena);
	return rc;
}

int rt_weights_count(const RtModel *m, int *nparams, int *nbuffers)
{
	int np = 0, nb = 0;
	for (int i = 0; i < m->nparams; i++) {
		np += m->params[i].kind == RT_PARAM;
		nb += m->params[i].kind == RT_BUFFER;
	}
	if (nparams)
		*nparams = np;
	if (nbuffers)
		*nbuffers = nb;
	return np + nb;
}
