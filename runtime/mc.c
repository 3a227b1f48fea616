/*
** mc.c -- `mc`: Monte-Carlo dropout. T stochastic passes of the mc entry
** (dropout on, batch norm on running statistics) over each input sample,
** then per task: the mean probabilities, the prediction, the predictive
** entropy H[mean p], the expected entropy E[H[p_t]] (aleatoric), their
** difference, the mutual information (epistemic), and each class's
** variance over the passes. Entropies are in nats.
**
** The T passes run as copies of the sample, `chunk` at a time (all T by
** default): for input sample i, a call on copies t0..t0+c-1 gets RtCtx.step
** = i*T + t0, and the dropout masks of its copies differ because they are
** different elements of the batch. The generated code draws element j's
** mask from (seed, step, stream, j), so every (sample, pass) has masks of
** its own: two samples of one file, even identical ones, never share a
** mask, and a sample's numbers depend on the seed, T, --batch and its
** position in the file, not on how many samples follow it (the first
** sample gives what it gives alone). With --batch 1 pass t of sample i is
** exactly the call with step i*T + t.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

#define NO_MC_MSG "this model has no Monte-Carlo entry: it has no dropout in mode \"mc\" " \
	"(dropout(x, p, \"mc\") in the model script; see docs/model-language.md), so every pass " \
	"would give the same output"

/* The samples file a holds for input t (-1 when it does not fit t). */
static int64_t samples_of(const RtTensor *t, const RtArray *a)
{
	int lead = a->ndim - t->ndim + 1;   /* 0: one sample without N, 1: a batch */
	if (!t->batched || (lead != 0 && lead != 1))
		return -1;
	for (int i = 1; i < t->ndim; i++)
		if (a->shape[i - 1 + lead] != t->shape[i])
			return -1;
	return lead ? a->shape[0] : 1;
}

/* Read every input; settle r->n (all inputs agree). */
static int read_inputs(const RtModel *m, const RtMcOpts *o, RtArray *in, RtMcResult *r, RtErr *e)
{
	r->n = -1;
	for (int i = 0; i < m->ndata; i++) {
		if (rt_input_read(o->inputs[i], &m->inputs[i], o->prep, &in[i], e))
			return -1;
		int64_t k = samples_of(&m->inputs[i], &in[i]);
		char have[RT_SHAPE_STRLEN], want[RT_SHAPE_STRLEN];
		if (k < 0)
			return rt_errorf(e, "%s: shape %s does not match input \"%s\" %s", o->inputs[i],
			                 rt_shape_str(have, sizeof have, in[i].ndim, in[i].shape),
			                 m->inputs[i].name,
			                 rt_shape_str(want, sizeof want, m->inputs[i].ndim, m->inputs[i].shape));
		if (k == 0 || (r->n >= 0 && k != r->n))
			return rt_errorf(e, "%s holds %lld samples; every input must hold the same number "
			                 "(and at least one)", o->inputs[i], (long long)k);
		r->n = k;
	}
	return 0;
}

/* The outputs mc reports: the model's tasks, else predict's classifier outputs. */
static int pick_tasks(const RtModel *m, int *out, int *k, RtMcResult *r, RtErr *e)
{
	for (int t = 0; t < m->ntasks && r->ntasks < RT_MAXFEED; t++, r->ntasks++) {
		out[t] = m->tasks[t].output;
		k[t] = m->tasks[t].classes;
		r->task[t] = m->tasks[t].name;
	}
	for (int i = 0; m->ntasks == 0 && i < m->npredict && r->ntasks < RT_MAXFEED; i++) {
		const RtTensor *t = &m->outputs[i];
		if (t->dtype == RT_F32 && t->batched && t->ndim == 2 && t->shape[1] >= 2) {
			out[r->ntasks] = i;
			k[r->ntasks] = (int)t->shape[1];
			r->task[r->ntasks++] = t->name;
		}
	}
	return r->ntasks ? 0 : rt_errorf(e, "the model has no classifier output [N,K] to sample");
}

/* -sum p log p over k probabilities. */
static double entropy(const double *p, int k)
{
	double h = 0;
	for (int j = 0; j < k; j++)
		if (p[j] > 0)
			h -= p[j] * log(p[j]);
	return h;
}

/* One task's statistics from its T x k probabilities (all finite). */
static int summarise(const float *P, int64_t T, int k, const char *names, RtMcTask *s, RtErr *e)
{
	for (int64_t j = 0; j < T * k; j++)
		if (!isfinite(P[j]))
			return rt_errorf(e, "pass %lld gives a probability that is %s: the weights or the "
			                 "input hold NaN or infinity, or the model overflowed",
			                 (long long)(j / k), isnan(P[j]) ? "not a number (NaN)" : "infinite");
	s->k = k;
	if (!(s->mean = calloc((size_t)k, sizeof(double))) || !(s->var = calloc((size_t)k, sizeof(double))))
		return rt_errorf(e, "out of memory");
	double *p = malloc(sizeof *p * (size_t)k);
	if (!p)
		return rt_errorf(e, "out of memory");
	for (int64_t t = 0; t < T; t++) {
		for (int j = 0; j < k; j++)
			p[j] = P[t * k + j], s->mean[j] += p[j] / (double)T;
		s->aleatoric += entropy(p, k) / (double)T;
	}
	for (int64_t t = 0; t < T; t++)
		for (int j = 0; j < k; j++)
			s->var[j] += (P[t * k + j] - s->mean[j]) * (P[t * k + j] - s->mean[j]) / (double)T;
	free(p);
	s->pred = 0;
	for (int j = 1; j < k; j++)
		if (s->mean[j] > s->mean[s->pred])
			s->pred = j;
	s->entropy = entropy(s->mean, k);
	s->mutual_info = fmax(0, s->entropy - s->aleatoric);
	int nn = 0;
	if (names && (s->names = data_names_split(names, &nn)) && nn != k) {
		data_names_free(s->names, nn);   /* names of another class count: not these */
		s->names = NULL;
	}
	return 0;
}

/* T passes over input sample i, chunk copies at a time; P[task] gets T x k. */
static void passes(const RtModel *m, RtPredictFn fn, const RtMcOpts *o, const RtArray *in,
                   int64_t i, int64_t chunk, char *arena, const int *out, const int *k, int nt,
                   float **P)
{
	for (int64_t t0 = 0; t0 < o->samples; t0 += chunk) {
		int64_t c = o->samples - t0 < chunk ? o->samples - t0 : chunk;
		for (int d = 0; d < m->ndata; d++) {
			const RtTensor *t = &m->inputs[d];
			size_t per = (size_t)rt_sample_numel(t) * rt_dtype_size(t->dtype);
			char *dst = rt_tensor_addr(m, t, arena, c);
			for (int64_t j = 0; j < c; j++)
				memcpy(dst + per * (size_t)j, (char *)in[d].data + per * (size_t)i, per);
		}
		RtCtx ctx = {.seed = o->seed, .step = (uint64_t)i * (uint64_t)o->samples + (uint64_t)t0,
		             .nthreads = o->threads > 0 ? o->threads : 1};   /* a stream per (sample, pass) */
		fn(arena, c, &ctx);
		for (int q = 0; q < nt; q++)
			memcpy(P[q] + (size_t)t0 * (size_t)k[q],
			       rt_tensor_addr(m, &m->outputs[out[q]], arena, c),
			       sizeof(float) * (size_t)(c * k[q]));
	}
}

/* Everything after the inputs are read. */
static int sample_all(const RtModel *m, RtPredictFn fn, const RtMcOpts *o, const RtArray *in,
                      RtMcResult *r, RtErr *e, RtErr *warn)
{
	int out[RT_MAXFEED], k[RT_MAXFEED];
	float *P[RT_MAXFEED] = {0};
	if (pick_tasks(m, out, k, r, e))
		return -1;
	int64_t chunk = o->batch > 0 && o->batch < o->samples ? o->batch : o->samples;
	char *arena = rt_arena_new(m, chunk, e);
	int rc = arena && !rt_weights_load(m, arena, o->weights, e, warn) ? 0 : -1;
	if (!rc && !(r->t = calloc((size_t)(r->n * r->ntasks), sizeof *r->t)))
		rc = rt_errorf(e, "out of memory");
	for (int q = 0; !rc && q < r->ntasks; q++)
		if (!(P[q] = malloc(sizeof(float) * (size_t)(o->samples * k[q]))))
			rc = rt_errorf(e, "out of memory");
	for (int64_t i = 0; !rc && i < r->n; i++) {
		passes(m, fn, o, in, i, chunk, arena, out, k, r->ntasks, P);
		for (int q = 0; !rc && q < r->ntasks; q++) {
			const char *names = o->classes && q < m->ntasks ? o->classes[q] : NULL;
			RtErr sub = {0};
			if (summarise(P[q], o->samples, k[q], names, &r->t[i * r->ntasks + q], &sub))
				rc = rt_errorf(e, "sample %lld, task %s: %s", (long long)i, r->task[q], sub.msg);
		}
	}
	for (int q = 0; q < RT_MAXFEED; q++)
		free(P[q]);
	rt_arena_free(arena);
	return rc;
}

int rt_mc(const RtModel *m, RtPredictFn fn, const RtMcOpts *o, RtMcResult *r, RtErr *e,
          RtErr *warn)
{
	memset(r, 0, sizeof *r);
	r->samples = o->samples;
	r->seed = o->seed;
	if (!fn || !rt_model_entry(m, "mc"))
		return rt_errorf(e, NO_MC_MSG);
	if (o->samples < 1)
		return rt_errorf(e, "--samples must be at least 1");
	RtArray *in = calloc((size_t)m->ndata + 1, sizeof *in);
	int rc = in ? read_inputs(m, o, in, r, e) : rt_errorf(e, "out of memory");
	if (!rc)
		rc = sample_all(m, fn, o, in, r, e, warn);
	for (int i = 0; in && i < m->ndata; i++)
		rt_array_free(&in[i]);
	free(in);
	if (rc)
		rt_mc_free(r);
	return rc;
}

void rt_mc_free(RtMcResult *r)
{
	for (int64_t i = 0; r->t && i < r->n * r->ntasks; i++) {
		free(r->t[i].mean);
		free(r->t[i].var);
		data_names_free(r->t[i].names, r->t[i].k);
	}
	free(r->t);
	memset(r, 0, sizeof *r);
}
