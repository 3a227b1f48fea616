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
		for (int i = 0; p->res && i < p->res->nheads; i++) {
			const RtHead *h = &p->res->head[i];
			memcpy(h->probs + (size_t)done * (size_t)h->k,
			       rt_tensor_addr(m, &m->outputs[h->output], p->arena, k),
			       sizeof(float) * (size_t)k * (size_t)h->k);
		}
		done += k;
	}
	*loss = has_loss && done > 0 ? sum / (double)done : NAN;
	return 0;
}

/* The entry eval runs: "eval" when the model has a loss, else "predict";
** predict --data (only_predict) runs "predict". */
static int pick_entry(const RtModel *m, const RtEntries *fns, int only_predict, RtPredictFn *fn,
                      int *with_loss, RtErr *e)
{
	*with_loss = !only_predict && rt_model_entry(m, "eval") != NULL;   /* then labels are fed */
	*fn = *with_loss ? fns->eval : fns->predict;
	if (!*fn)
		return rt_errorf(e, "internal error: the descriptor lists the entry \"%s\" but the "
		                 "executable lacks lunac_%s", *with_loss ? "eval" : "predict",
		                 *with_loss ? "eval" : "predict");
	return 0;
}

/* Every probability of the heads is a finite number (metrics_compute checks
** the fed tasks' itself). */
static int heads_finite(const RtResults *res, const char *weights, RtErr *e)
{
	for (int i = 0; i < res->nheads; i++) {
		const RtHead *h = &res->head[i];
		for (int64_t j = 0; j < res->n * h->k; j++)
			if (!isfinite(h->probs[j]))
				return rt_errorf(e, "the output of \"%s\" for sample %lld is %s: the weights "
				                 "(%s) or the input hold NaN or infinity, or the model overflowed",
				                 h->name, (long long)(j / h->k),
				                 isnan(h->probs[j]) ? "not a number (NaN)" : "infinite", weights);
	}
	return 0;
}

/* Fed task q's labels become the true labels of its head in res. */
static int keep_truth(const RtFeed *f, int q, const int32_t *labels, RtResults *res, RtErr *e)
{
	int hi = f->task[q].task;
	for (int i = 0; hi < 0 && i < res->nheads; i++)
		if (res->head[i].output == f->task[q].output)
			hi = i;
	if (hi < 0 || hi >= res->nheads)
		return 0;   /* labels of a custom loss: no head shows them */
	RtHead *h = &res->head[hi];
	if (!(h->truth = malloc(sizeof(int32_t) * (size_t)(res->n ? res->n : 1))))
		return rt_errorf(e, "out of memory");
	memcpy(h->truth, labels, sizeof(int32_t) * (size_t)res->n);
	return 0;
}

/* The arena, weights, buffers and loader; then one pass, the metrics and,
** when res is given, every head's probabilities and true labels. */
static int evaluate(const RtModel *m, const RtFeed *f, RtPredictFn fn, int with_loss,
                    const RtEvalOpts *o, const DataNorm *norm, RtResults *res, RtEvalResult *r,
                    RtErr *e, RtErr *warn)
{
	int64_t n = r->ds.count, B = o->batch < n ? o->batch : n;
	RtPass p = {.m = m, .feed = f, .fn = fn, .with_loss = with_loss, .batch = B, .res = res};
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
	for (int q = 0; res && q < f->ntasks && !rc; q++)
		rc = keep_truth(f, q, p.labels[q], res, e);
	if (!rc && res)
		rc = heads_finite(res, o->weights, e);
out:
	loader_close(L);
	free(order);
	rt_arena_free(p.arena);
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

/* A head without class names takes those of its labels (eval on class
** folders with weights that record none). */
static int names_from_labels(const RtModel *m, const RtFeed *f, const RtEvalResult *r,
                             RtResults *res, RtErr *e)
{
	for (int q = 0; q < f->ntasks; q++) {
		int t = f->task[q].task;
		RtHead *h = t >= 0 && t < res->nheads ? &res->head[t] : NULL;
		if (h && !h->names && r->class_names[q] && f->task[q].classes == h->k &&
		    !(h->names = data_names_dup(r->class_names[q], h->k)))
			return rt_errorf(e, "out of memory");
	}
	(void)m;
	return 0;
}

/* Open the data, run the model over it, compute metrics; with rows wanted
** (res), keep every head's probabilities and labels and write them. */
static int run(const RtModel *m, const RtEntries *fns, const RtEvalOpts *o, RtEvalResult *r,
               RtResults *res, char **classes, RtErr *e, RtErr *warn)
{
	RtFeed f;
	RtPredictFn fn;
	char *note = NULL;
	DataPrep prep = {.note = &note};
	RtDataArgs a = o->data;
	int with_loss;
	a.unlabelled = o->predict;
	int rc = pick_entry(m, fns, o->predict, &fn, &with_loss, e) ||
	         rt_prep_for(o->weights, m, o->normalize, o->resize, &prep, classes, e, warn) ? -1 : 0;
	a.resize = prep.resize;   /* images are decoded as the checkpoint was trained */
	if (!rc && (rt_data_open(m, &a, &f, &r->ds, e) ||
	            preprocess(m, o, &f, r, classes, &prep.norm, e)))
		rc = -1;
	if (!rc && data_note_add(&r->ds.note, note))
		rc = rt_errorf(e, "out of memory");
	free(note);
	if (rc)
		return -1;
	if (r->ds.count == 0)
		return rt_errorf(e, "%s holds no samples", r->ds.name);
	if (!o->predict && f.ntasks == 0)
		return rt_errorf(e, "%s: no labels are given to any task: eval needs labels", r->ds.name);
	if (res && rt_results_heads(res, m, r->ds.count, classes, e))
		return -1;
	if (evaluate(m, &f, fn, with_loss, o, &prep.norm, res, r, e, warn))
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
	if (!res)
		return 0;
	const char *inputs[DATA_MAXMOD];
	for (int k = 0; k < r->ds.nmod && k < DATA_MAXMOD; k++)
		inputs[k] = k < f.nimages ? m->inputs[f.image[k]].name : "?";
	return names_from_labels(m, &f, r, res, e) ||
	       rt_results_write(res, &r->ds, inputs, o->table, e) ? -1 : 0;
}

int rt_eval(const RtModel *m, const RtEntries *fns, const RtEvalOpts *o, RtEvalResult *r,
            RtErr *e, RtErr *warn)
{
	memset(r, 0, sizeof *r);
	r->loss = NAN;
	RtResults res;
	char *classes[RT_MAXFEED] = {0};
	int rows = o->predict || o->per_sample;
	int rc = rt_results_open(&res, o->per_sample, e);
	if (!rc && m->ntasks > RT_MAXFEED)
		rc = rt_errorf(e, "the model has %d tasks: the runtime feeds at most %d", m->ntasks,
		               RT_MAXFEED);
	if (!rc)
		rc = run(m, fns, o, r, rows ? &res : NULL, classes, e, warn);
	rt_results_free(&res);
	for (int t = 0; t < m->ntasks && t < RT_MAXFEED; t++)
		free(classes[t]);
	return rc;
}

void rt_eval_result_free(RtEvalResult *r)
{
	for (int q = 0; q < RT_MAXFEED; q++)
		metrics_free(&r->metrics[q]);
	data_free(&r->ds);
	memset(r, 0, sizeof *r);
}
