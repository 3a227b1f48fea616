/*
** bench.c -- time one entry point on synthetic data, for the benchmarks in
** bench/. Inputs are uniform in [0, 1), labels cycle through the classes,
** weights come from the initialiser; hyper-parameters are Adam's defaults
** with lr 1e-3 and no clipping. The arena is allocated once.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

/* Fill every non-hyper input for n samples: images uniform, labels cyclic. */
static void synth_inputs(const RtModel *m, char *arena, int64_t n)
{
	for (int i = 0; i < m->ninputs; i++) {
		const RtTensor *t = &m->inputs[i];
		char *p = rt_tensor_addr(m, t, arena, n);
		int64_t k = rt_numel(t, n);
		if (!strncmp(t->name, "hyper.", 6))
			continue;
		if (t->dtype == RT_I32) {
			int classes = t->classes > 0 ? t->classes : 2;
			for (int q = 0; q < m->ntasks; q++)
				if (m->tasks[q].label == i && m->tasks[q].classes > 0)
					classes = m->tasks[q].classes;
			for (int64_t j = 0; j < k; j++)
				((int32_t *)p)[j] = (int32_t)(j % classes);
		} else {
			for (int64_t j = 0; j < k; j++)
				((float *)p)[j] = rt_uniform(7, 0, (uint32_t)i, (uint64_t)j);
		}
	}
}

/* Set hyper-parameter name to v if the model has it. */
static void set_hyper(const RtModel *m, char *arena, int64_t n, const char *name, float v)
{
	int i = rt_model_input(m, name);
	if (i >= 0)
		*(float *)rt_tensor_addr(m, &m->inputs[i], arena, n) = v;
}

/* Adam's hyper-parameters for step t (1-based), lr 1e-3, no clipping. */
static void adam_hypers(const RtModel *m, char *arena, int64_t n, uint64_t t)
{
	set_hyper(m, arena, n, "hyper.lr", 1e-3f);
	set_hyper(m, arena, n, "hyper.clip", RT_CLIP_OFF);
	set_hyper(m, arena, n, "hyper.b1", (float)RT_ADAM_B1);
	set_hyper(m, arena, n, "hyper.b2", (float)RT_ADAM_B2);
	set_hyper(m, arena, n, "hyper.eps", (float)RT_ADAM_EPS);
	set_hyper(m, arena, n, "hyper.wd_l2", 0);
	set_hyper(m, arena, n, "hyper.wd_dec", 0);
	set_hyper(m, arena, n, "hyper.momentum", 0.9f);
	set_hyper(m, arena, n, "hyper.wd", 0);
	set_hyper(m, arena, n, "hyper.ibc1", (float)(1.0 / (1.0 - pow(RT_ADAM_B1, (double)t))));
	set_hyper(m, arena, n, "hyper.ibc2", (float)(1.0 / (1.0 - pow(RT_ADAM_B2, (double)t))));
}

/* Run fn warmup + repeat*steps times on batch n; ms[r] is the mean
** milliseconds per call of round r; prof (or NULL) profiles the timed calls. */
int rt_bench(const RtModel *m, RtPredictFn fn, int64_t n, int warmup, int steps, int repeat, int threads,
             double *ms, RtProf *prof, RtErr *e)
{
	char *arena = rt_arena_new(m, n, e);
	if (!arena)
		return -1;
	rt_init_params(m, arena, 1);
	synth_inputs(m, arena, n);
	uint64_t t = 0;
	for (int r = -1; r < repeat; r++) {
		double t0 = rt_now();
		for (int s = 0; s < (r < 0 ? warmup : steps); s++) {
			RtCtx ctx = {.seed = 1, .step = ++t, .nthreads = threads, .prof = r < 0 ? NULL : prof};
			adam_hypers(m, arena, n, t);
			fn(arena, n, &ctx);
		}
		if (r >= 0)
			ms[r] = (rt_now() - t0) * 1000.0 / steps;
	}
	rt_arena_free(arena);
	return 0;
}
