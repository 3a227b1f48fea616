/*
** predict.c -- `predict`: weights and .npy inputs in, model outputs out.
**
** Each input file holds one sample (the input's shape without N, e.g.
** [1,28,28]) or a batch ([B,1,28,28]); all inputs must agree on B. An
** image file (PNG, JPEG, BMP) is one sample; every file is preprocessed
** as training preprocesses it (rt_input_read, input.c). The
** arena is allocated once, for min(B, batch) samples, 64-byte aligned and
** zeroed; the weights are loaded into it once; the generated entry point
** then runs on successive chunks. Outputs always carry the batch dimension.
** Output files are staged first and renamed into place only after
** everything else, stdout included, has succeeded. Only the data inputs
** (inputs[0..ndata)) are read and only predict's outputs (outputs[0..
** npredict)) reported; labels and hyper-parameters stay zero. An output
** that is not a number (NaN, infinity) is an error, not an answer. A
** task's output is printed with its class names when the weights file
** records them ("classes.<task>"). Many cases at once (--data) go through
** eval.c and results.c instead.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

typedef struct Run {
	const RtModel *m;
	const RtPredictOpts *o;
	RtArray *in, *out;
	int64_t n;          /* samples */
	int64_t chunk;      /* samples per call */
	char *arena;
	char ***names;      /* per output: its task's class names, or NULL */
	int *nnames;        /* their counts */
} Run;

/* How many samples file a holds for input t, into *k (-1: t is not batched). */
static int samples_of(const RtTensor *t, const RtArray *a, const char *path, int64_t *k, RtErr *e)
{
	int lead = a->ndim - t->ndim + 1;   /* 0: one sample without N, 1: a batch */
	int ok = t->batched ? (lead == 0 || lead == 1) : a->ndim == t->ndim;
	for (int i = t->batched ? 1 : 0; ok && i < t->ndim; i++)
		ok = a->shape[i - 1 + (t->batched ? lead : 1)] == t->shape[i];
	if (!ok) {
		char have[RT_SHAPE_STRLEN], want[RT_SHAPE_STRLEN];
		return rt_errorf(e, "%s: shape %s does not match input \"%s\" %s", path,
		                 rt_shape_str(have, sizeof have, a->ndim, a->shape), t->name,
		                 rt_shape_str(want, sizeof want, t->ndim, t->shape));
	}
	*k = !t->batched ? -1 : lead == 1 ? a->shape[0] : 1;
	if (*k == 0)
		return rt_errorf(e, "%s: the batch holds no samples", path);
	return 0;
}

/* Read every input file and settle the sample count r->n. */
static int read_inputs(Run *r, RtErr *e)
{
	const RtModel *m = r->m;
	int first = -1;
	r->n = -1;
	for (int i = 0; i < m->ndata; i++) {
		if (rt_input_read(r->o->inputs[i], &m->inputs[i], r->o->prep, &r->in[i], e))
			return -1;
		int64_t k;
		if (samples_of(&m->inputs[i], &r->in[i], r->o->inputs[i], &k, e))
			return -1;
		if (k >= 0 && r->n >= 0 && k != r->n)
			return rt_errorf(e, "%s holds %lld samples but %s holds %lld", r->o->inputs[i],
			                 (long long)k, r->o->inputs[first], (long long)r->n);
		if (k >= 0 && r->n < 0) {
			r->n = k;
			first = i;
		}
	}
	if (r->n < 0)
		r->n = 1;
	return 0;
}

/* Allocate the output arrays for r->n samples. */
static int alloc_outputs(Run *r, RtErr *e)
{
	for (int i = 0; i < r->m->npredict; i++) {
		const RtTensor *t = &r->m->outputs[i];
		RtArray *a = &r->out[i];
		a->dtype = t->dtype;
		a->ndim = t->ndim;
		for (int d = 0; d < t->ndim; d++)
			a->shape[d] = t->shape[d] < 0 ? r->n : t->shape[d];
		int64_t bytes;
		if (__builtin_mul_overflow(rt_numel(t, r->n), (int64_t)rt_dtype_size(t->dtype), &bytes) ||
		    !(a->data = malloc(bytes ? (size_t)bytes : 1)))
			return rt_errorf(e, "out of memory for output \"%s\" of %lld samples", t->name,
			                 (long long)r->n);
	}
	return 0;
}

/* Copy samples [s, s+c) of t between a file array and the arena (to_arena: direction). */
static void move(const Run *r, const RtTensor *t, RtArray *a, int64_t s, int64_t c, int to_arena)
{
	size_t per = (size_t)rt_sample_numel(t) * rt_dtype_size(t->dtype);
	char *mem = rt_tensor_addr(r->m, t, r->arena, c), *file = a->data;
	size_t bytes = t->batched ? per * (size_t)c : per;
	if (t->batched)
		file += per * (size_t)s;
	if (to_arena)
		memcpy(mem, file, bytes);
	else
		memcpy(file, mem, bytes);
}

/* Run fn over all samples, chunk by chunk. */
static void run_chunks(Run *r, RtPredictFn fn)
{
	RtCtx ctx = {.seed = 0, .step = 0, .nthreads = r->o->nthreads > 0 ? r->o->nthreads : 1,
	             .prof = r->o->prof};
	for (int64_t s = 0; s < r->n; s += r->chunk) {
		int64_t c = r->n - s < r->chunk ? r->n - s : r->chunk;
		for (int i = 0; i < r->m->ndata; i++)
			move(r, &r->m->inputs[i], &r->in[i], s, c, 1);
		fn(r->arena, c, &ctx);
		if (ctx.prof)
			ctx.prof->samples += c;
		for (int i = 0; i < r->m->npredict; i++)
			move(r, &r->m->outputs[i], &r->out[i], s, c, 0);
	}
}

/* Every f32 output value is a finite number: NaN or infinity (from weights
** or inputs that hold them, or an overflow) is an error, never an answer. */
static int check_finite(const Run *r, RtErr *e)
{
	for (int i = 0; i < r->m->npredict; i++) {
		const RtTensor *t = &r->m->outputs[i];
		if (t->dtype != RT_F32)
			continue;
		int64_t n = rt_numel(t, r->n), per = t->batched ? rt_sample_numel(t) : n;
		const float *v = r->out[i].data;
		for (int64_t j = 0; j < n; j++)
			if (!isfinite(v[j]))
				return rt_errorf(e, "the output \"%s\" of sample %lld is %s: the weights (%s) "
				                 "or the input hold NaN or infinity, or the model overflowed",
				                 t->name, (long long)(per > 0 ? j / per : 0),
				                 isnan(v[j]) ? "not a number (NaN)" : "infinite", r->o->weights);
	}
	return 0;
}

/* Print the nested list for ndim dimensions of a, from element *at. */
static void nested(FILE *f, const RtArray *a, int d, int64_t *at)
{
	if (d == a->ndim) {
		if (a->dtype == RT_I32)
			fprintf(f, "%d", ((int32_t *)a->data)[(*at)++]);
		else
			rt_json_float(f, ((float *)a->data)[(*at)++]);
		return;
	}
	fputc('[', f);
	for (int64_t i = 0; i < a->shape[d]; i++) {
		if (i)
			fputs(d == 0 ? ",\n        " : ", ", f);
		nested(f, a, d + 1, at);
	}
	fputc(']', f);
}

/* The index of the largest of v[0..k). */
static int64_t best_of(const float *v, int64_t k)
{
	int64_t best = 0;
	for (int64_t j = 1; j < k; j++)
		if (v[j] > v[best] || (isnan(v[best]) && !isnan(v[j])))
			best = j;
	return best;
}

/* For a classifier output [N,K], K >= 2: the index of each sample's largest
** value and, given the K class names, "classes" and each index's name. */
static void argmax(FILE *f, const RtTensor *t, const RtArray *a, char **names)
{
	if (!t->batched || t->ndim != 2 || a->shape[1] < 2 || a->dtype != RT_F32)
		return;
	int64_t k = a->shape[1];
	fputs(",\n      \"argmax\": [", f);
	for (int64_t i = 0; i < a->shape[0]; i++)
		fprintf(f, "%s%lld", i ? ", " : "", (long long)best_of((float *)a->data + i * k, k));
	fputc(']', f);
	if (!names)
		return;
	fputs(",\n      \"argmax_names\": [", f);
	for (int64_t i = 0; i < a->shape[0]; i++) {
		fputs(i ? ", " : "", f);
		rt_json_str(f, names[best_of((float *)a->data + i * k, k)]);
	}
	fputs("],\n      \"classes\": [", f);
	for (int64_t c = 0; c < k; c++) {
		fputs(c ? ", " : "", f);
		rt_json_str(f, names[c]);
	}
	fputc(']', f);
}

/* The class names the weights record for the tasks' outputs (names[i] for
** outputs[i] when it has exactly its task's classes). */
static int class_names(Run *r, RtErr *e)
{
	const RtModel *m = r->m;
	char **joined = calloc((size_t)m->ntasks + 1, sizeof *joined);
	r->names = calloc((size_t)m->noutputs + 1, sizeof *r->names);
	r->nnames = calloc((size_t)m->noutputs + 1, sizeof *r->nnames);
	int rc = !joined || !r->names || !r->nnames ? rt_errorf(e, "out of memory")
	         : rt_weights_preproc(r->o->weights, m, NULL, NULL, joined, e);
	for (int t = 0; !rc && t < m->ntasks; t++) {
		int o = m->tasks[t].output, k = 0;
		char **n = joined[t] && !r->names[o] ? data_names_split(joined[t], &k) : NULL;
		if (joined[t] && !r->names[o] && !n)
			rc = rt_errorf(e, "out of memory");
		else if (n && (k != m->tasks[t].classes || m->outputs[o].ndim != 2 ||
		               m->outputs[o].shape[1] != k))
			data_names_free(n, k);   /* not this output's classes: indices only */
		else if (n)
			r->names[o] = n, r->nnames[o] = k;
	}
	for (int t = 0; joined && t < m->ntasks; t++)
		free(joined[t]);
	free(joined);
	return rc;
}

/* {"model", "samples", "outputs": {name: {dtype, shape, argmax?, data}}} */
static int print_json(const Run *r, FILE *f, RtErr *e)
{
	fputs("{\n  \"model\": ", f);
	rt_json_str(f, r->m->name);
	fprintf(f, ",\n  \"samples\": %lld,\n  \"outputs\": {\n", (long long)r->n);
	for (int i = 0; i < r->m->npredict; i++) {
		const RtTensor *t = &r->m->outputs[i];
		fputs("    ", f);
		rt_json_str(f, t->name);
		fprintf(f, ": {\n      \"dtype\": \"%s\",\n      \"shape\": ", rt_dtype_name(t->dtype));
		rt_json_shape(f, t, r->n);
		argmax(f, t, &r->out[i], r->names ? r->names[i] : NULL);
		fputs(",\n      \"data\": ", f);
		int64_t at = 0;
		nested(f, &r->out[i], 0, &at);
		fprintf(f, "\n    }%s\n", i + 1 < r->m->npredict ? "," : "");
	}
	fputs("  }\n}\n", f);
	return rt_flush_out(f, e);
}

/* Stage the requested output files, print, then commit them all. */
static int finish(Run *r, RtErr *e)
{
	int no = r->m->npredict, rc = 0;
	RtOut *files = calloc((size_t)no + 1, sizeof *files);
	if (!files)
		return rt_errorf(e, "out of memory");
	for (int i = 0; i < no && !rc; i++)
		if (r->o->outputs && r->o->outputs[i])
			rc = rt_npy_stage(&files[i], r->o->outputs[i], &r->out[i], e);
	if (!rc && r->o->json)
		rc = print_json(r, r->o->json, e);
	for (int i = 0; i < no && !rc; i++)
		if (files[i].tmp)
			rc = rt_out_commit(&files[i], e);
	for (int i = 0; i < no; i++)
		rt_out_abort(&files[i]);
	free(files);
	return rc;
}

int rt_predict(const RtModel *m, RtPredictFn fn, const RtPredictOpts *o, RtErr *e, RtErr *warn)
{
	Run r = {.m = m, .o = o};
	r.in = calloc(m->ninputs + 1, sizeof *r.in);
	r.out = calloc(m->noutputs + 1, sizeof *r.out);
	int rc = !r.in || !r.out ? rt_errorf(e, "out of memory") : read_inputs(&r, e);
	if (!rc && o->json)
		rc = class_names(&r, e);
	if (!rc) {
		r.chunk = o->batch > 0 && o->batch < r.n ? o->batch : r.n;
		rc = !(r.arena = rt_arena_new(m, r.chunk, e)) ||
		     rt_weights_load(m, r.arena, o->weights, e, warn) || alloc_outputs(&r, e) ? -1 : 0;
	}
	if (!rc) {
		run_chunks(&r, fn);
		rc = check_finite(&r, e) || finish(&r, e) ? -1 : 0;
	}
	for (int i = 0; r.in && i < m->ndata; i++)
		rt_array_free(&r.in[i]);
	for (int i = 0; r.out && i < m->npredict; i++)
		rt_array_free(&r.out[i]);
	for (int i = 0; r.names && r.nnames && i < m->noutputs; i++)   /* either may be the allocation that failed */
		data_names_free(r.names[i], r.nnames[i]);
	free(r.names);
	free(r.nnames);
	free(r.in);
	free(r.out);
	rt_arena_free(r.arena);
	return rc;
}
