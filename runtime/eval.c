/*
** eval.c -- running a model over a dataset without training it: the
** validation pass of `train` and the `eval` command. The eval entry (the
** model with its loss) is used when the model has one, otherwise predict;
** both run with dropout off, so seed and step do not matter.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

int rt_eval_pass(RtPass *p, Loader *L, const int64_t *order, int64_t n, double *loss, RtErr *e)
{
	const RtModel *m = p->m;
	int lo = rt_model_output(m, "loss");
	int has_loss = p->with_loss && lo >= 0;
	if (loader_restart(L, order, n, 0, e))
		return -1;
	Batch b;
	int64_t done = 0;
	double sum = 0;
	while (loader_next(L, &b)) {
		int64_t k = b.n;
		rt_feed_batch(m, p->feed, p->arena, &b);
		p->fn(p->arena, k, &p->ctx);
		float l = has_loss ? *(const float *)rt_tensor_addr(m, &m->outputs[lo], p->arena, k) : 0;
		if (!isfinite(l))
			return rt_errorf(e, "the loss is %s on samples %lld to %lld (did training diverge?)",
			                 isnan(l) ? "not a number (NaN)" : "infinite", (long long)done,
			                 (long long)(done + k - 1));
		sum += (double)l * (double)k;
		for (int q = 0; q < p->feed->ntasks; q++) {
			const RtTaskFeed *pr = &p->feed->task[q];
			if (pr->output < 0)
				continue;
			memcpy(p->probs[q] + (size_t)done * pr->classes,
			       rt_tensor_addr(m, &m->outputs[pr->output], p->arena, k),
			       sizeof(float) * (size_t)k * (size_t)pr->classes);
			memcpy(p->labels[q] + done, b.y[q], sizeof(int32_t) * (size_t)k);
		}
		done += k;
	}
	*loss = has_loss && done > 0 ? sum / (double)done : NAN;
	return 0;
}

/* The entry eval runs: "eval" when the model has a loss, else "predict". */
static int pick_entry(const RtModel *m, const RtEntries *fns, RtPredictFn *fn, int *with_loss,
                      RtErr *e)
{
	*with_loss = rt_model_entry(m, "eval") != NULL;   /* then a label input is fed */
	*fn = *with_loss ? fns->eval : fns->predict;
	if (!*fn)
		return rt_errorf(e, "internal error: the descriptor lists the entry \"%s\" but the "
		                 "executable lacks lunac_%s", *with_loss ? "eval" : "predict",
		                 *with_loss ? "eval" : "predict");
	return 0;
}

/* The arena, weights, buffers and loader; then one pass and the metrics. */
static int evaluate(const RtModel *m, const RtFeed *f, RtPredictFn fn, int with_loss,
                    const RtEvalOpts *o, const DataNorm *norm, RtEvalResult *r, RtErr *e,
                    RtErr *warn)
{
	int64_t n = r->ds.count, B = o->batch < n ? o->batch : n;
	RtPass p = {.m = m, .feed = f, .fn = fn, .with_loss = with_loss, .batch = B};
	p.ctx = (RtCtx){.seed = 0, .step = 0, .nthreads = o->threads > 0 ? o->threads : 1};
	int64_t *order = malloc(sizeof *order * (size_t)n);
	Loader *L = NULL;
	LoaderOpts lo = {.norm = *norm};
	int rc = -1, ok = order != NULL;
	for (int q = 0; q < f->ntasks; q++) {
		p.probs[q] = malloc(sizeof(float) * (size_t)n * (f->task[q].classes + 1));
		p.labels[q] = malloc(sizeof(int32_t) * (size_t)n);
		ok = ok && p.probs[q] && p.labels[q];
	}
	if (!ok) {
		rt_errorf(e, "out of memory for %lld samples", (long long)n);
		goto out;
	}
	for (int64_t i = 0; i < n; i++)
		order[i] = i;
	RtErr sub = {0};
	if (!(p.arena = rt_arena_new(m, B, e)) || rt_weights_load(m, p.arena, o->weights, e, warn) ||
	    loader_open(&L, &r->ds, &lo, order, 0, B, e))
		goto out;
	if (rt_eval_pass(&p, L, order, n, &r->loss, &sub)) {
		rt_errorf(e, "%s on %s: %s", o->weights, r->ds.name, sub.msg);
		goto out;
	}
	int fed = 0;
	for (int q = 0; q < f->ntasks; q++)
		fed += f->task[q].task >= 0;
	if (m->ntasks != fed)
		r->loss = NAN;   /* the other tasks' labels were not given: their loss is not known */
	r->samples = n;
	rc = 0;
	for (int q = 0; q < f->ntasks && !rc; q++)
		if ((r->has_metrics[q] = f->task[q].output >= 0))
			rc = metrics_compute(p.probs[q], p.labels[q], n, f->task[q].classes, r->ds.name,
			                     &r->metrics[q], e);
out:
	loader_close(L);
	free(order);
	free(p.arena);
	for (int q = 0; q < RT_MAXFEED; q++) {
		free(p.probs[q]);
		free(p.labels[q]);
	}
	return rc;
}

/* The class names the checkpoint was trained with (classes): labels given
** by name are put in its order; then the feed is checked with norm. */
static int preprocess(const RtModel *m, const RtEvalOpts *o, const RtFeed *f, RtEvalResult *r,
                      char **classes, const DataNorm *norm, RtErr *e)
{
	int rc = 0;
	for (int q = 0; !rc && q < f->ntasks; q++) {
		int t = f->task[q].task, k = 0;
		char **names = t >= 0 && classes[t] ? data_names_split(classes[t], &k) : NULL;
		if (t >= 0 && classes[t] && !names)
			rc = rt_errorf(e, "out of memory");
		DataLabels *l = &r->ds.task[q];
		if (names && l->names) {
			rc = data_remap_classes(l, (const char *const *)names, k, o->weights, e);
		} else if (names && k == f->task[q].classes && l->nclasses <= k) {
			l->names = names;   /* indices without names: the checkpoint's names */
			l->nclasses = k;
			names = NULL;
		}
		data_names_free(names, k);
	}
	return rc || rt_feed_check(m, f, &r->ds, norm, e) ? -1 : 0;
}

int rt_eval(const RtModel *m, const RtEntries *fns, const RtEvalOpts *o, RtEvalResult *r,
            RtErr *e, RtErr *warn)
{
	memset(r, 0, sizeof *r);
	r->loss = NAN;
	RtFeed f;
	RtPredictFn fn;
	char *note = NULL, *classes[RT_MAXFEED] = {0};
	DataPrep prep = {.note = &note};
	RtDataArgs a = o->data;
	int with_loss;
	int rc = pick_entry(m, fns, &fn, &with_loss, e) ||
	         rt_prep_for(o->weights, m, o->normalize, o->resize, &prep,
	                     m->ntasks <= RT_MAXFEED ? classes : NULL, e, warn) ? -1 : 0;
	a.resize = prep.resize;   /* images are decoded as the checkpoint was trained */
	if (!rc && (rt_data_open(m, &a, &f, &r->ds, e) ||
	            preprocess(m, o, &f, r, classes, &prep.norm, e)))
		rc = -1;
	if (!rc && data_note_add(&r->ds.note, note))
		rc = rt_errorf(e, "out of memory");
	free(note);
	for (int t = 0; t < RT_MAXFEED; t++)
		free(classes[t]);
	if (rc)
		return -1;
	if (r->ds.count == 0)
		return rt_errorf(e, "%s holds no samples", r->ds.name);
	if (evaluate(m, &f, fn, with_loss, o, &prep.norm, r, e, warn))
		return -1;
	r->ntasks = f.ntasks;
	for (int q = 0; q < f.ntasks; q++) {
		const RtTaskFeed *p = &f.task[q];
		const DataLabels *l = &r->ds.task[q];
		r->task[q] = p->task >= 0 ? m->tasks[p->task].name : p->output >= 0
		             ? m->outputs[p->output].name : m->inputs[p->label].name;
		r->class_names[q] = l->names && l->nclasses == p->classes
		                    ? (const char *const *)l->names : NULL;
	}
	return 0;
}

void rt_eval_result_free(RtEvalResult *r)
{
	for (int q = 0; q < RT_MAXFEED; q++)
		metrics_free(&r->metrics[q]);
	data_free(&r->ds);
	memset(r, 0, sizeof *r);
}
