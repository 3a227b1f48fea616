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
	if (loader_restart(L, order, n, e))
		return -1;
	const float *x;
	const int32_t *y;
	int64_t k, done = 0;
	double sum = 0;
	while (loader_next(L, &x, &y, &k)) {
		rt_feed_batch(m, p->feed, p->arena, k, x, y);
		p->fn(p->arena, k, &p->ctx);
		if (has_loss)
			sum += (double)*(const float *)rt_tensor_addr(m, &m->outputs[lo], p->arena, k) *
			       (double)k;
		for (int q = 0; q < p->feed->npairs; q++) {
			const RtPair *pr = &p->feed->pair[q];
			if (pr->output < 0)
				continue;
			memcpy(p->probs[q] + (size_t)done * pr->classes,
			       rt_tensor_addr(m, &m->outputs[pr->output], p->arena, k),
			       sizeof(float) * (size_t)k * (size_t)pr->classes);
			memcpy(p->labels[q] + done, y, sizeof(int32_t) * (size_t)k);
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
                    const RtEvalOpts *o, RtEvalResult *r, RtErr *e, RtErr *warn)
{
	int64_t n = r->ds.count, B = o->batch < n ? o->batch : n;
	RtPass p = {.m = m, .feed = f, .fn = fn, .with_loss = with_loss, .batch = B};
	p.ctx = (RtCtx){.seed = 0, .step = 0, .nthreads = o->threads > 0 ? o->threads : 1};
	int64_t *order = malloc(sizeof *order * (size_t)n);
	Loader *L = NULL;
	int rc = -1, ok = order != NULL;
	for (int q = 0; q < f->npairs; q++) {
		p.probs[q] = malloc(sizeof(float) * (size_t)n * (f->pair[q].classes + 1));
		p.labels[q] = malloc(sizeof(int32_t) * (size_t)n);
		ok = ok && p.probs[q] && p.labels[q];
	}
	if (!ok) {
		rt_errorf(e, "out of memory for %lld samples", (long long)n);
		goto out;
	}
	for (int64_t i = 0; i < n; i++)
		order[i] = i;
	if (!(p.arena = rt_arena_new(m, B, e)) || rt_weights_load(m, p.arena, o->weights, e, warn) ||
	    loader_open(&L, &r->ds, order, 0, B, e) || rt_eval_pass(&p, L, order, n, &r->loss, e))
		goto out;
	if (m->ntasks != f->npairs)
		r->loss = NAN;   /* the other tasks' labels were not given: their loss is not known */
	r->samples = n;
	rc = 0;
	for (int q = 0; q < f->npairs && !rc; q++)
		if ((r->has_metrics[q] = f->pair[q].output >= 0))
			rc = metrics_compute(p.probs[q], p.labels[q], n, f->pair[q].classes, o->data,
			                     &r->metrics[q], e);
out:
	loader_close(L);
	free(order);
	free(p.arena);
	for (int q = 0; q < RT_MAXPAIRS; q++) {
		free(p.probs[q]);
		free(p.labels[q]);
	}
	return rc;
}

int rt_eval(const RtModel *m, const RtEntries *fns, const RtEvalOpts *o, RtEvalResult *r,
            RtErr *e, RtErr *warn)
{
	memset(r, 0, sizeof *r);
	r->loss = NAN;
	RtFeed f;
	RtPredictFn fn;
	int with_loss;
	if (rt_feed_bind(m, o->label_task, 0, &f, e) || pick_entry(m, fns, &fn, &with_loss, e) ||
	    data_open(o->data, &r->ds, e) || rt_feed_check(m, &f, &r->ds, e))
		return -1;
	if (r->ds.count == 0)
		return rt_errorf(e, "%s holds no samples", o->data);
	if (evaluate(m, &f, fn, with_loss, o, r, e, warn))
		return -1;
	r->npairs = f.npairs;
	for (int q = 0; q < f.npairs; q++) {
		const RtPair *p = &f.pair[q];
		r->task[q] = p->task >= 0 ? m->tasks[p->task].name : p->output >= 0
		             ? m->outputs[p->output].name : m->inputs[p->label].name;
		r->class_names[q] = r->ds.class_names && r->ds.nclasses == p->classes
		                    ? r->ds.class_names : NULL;
	}
	return 0;
}

void rt_eval_result_free(RtEvalResult *r)
{
	for (int q = 0; q < RT_MAXPAIRS; q++)
		metrics_free(&r->metrics[q]);
	data_free(&r->ds);
	memset(r, 0, sizeof *r);
}
