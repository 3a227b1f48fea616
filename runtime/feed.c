/*
** feed.c -- how a dataset feeds a model once it is bound (feed_open.c
** binds it): its image arrays go to data inputs, its label arrays to
** tasks' label inputs, and each task's output holds the probabilities the
** metrics need. Also the binding of a model without tasks (a custom loss
** reading one label input, or a classifier evaluated through predict).
*/
#include <string.h>

#include "train.h"

/* "a", "b" and "c" of the names names[i*stride] for a message. */
static const char *listing(char *buf, size_t len, int n, const char *(*name)(const RtModel *, int),
                           const RtModel *m)
{
	size_t k = 0;
	buf[0] = 0;
	for (int i = 0; i < n && k < len; i++)
		k += snprintf(buf + k, len - k, "%s\"%s\"", i == 0 ? "" : i + 1 < n ? ", " : " and ",
		              name(m, i));
	if (k >= len && len > 4)
		memcpy(buf + len - 4, "...", 4);   /* cut: say so */
	return buf;
}

static const char *task_name(const RtModel *m, int i)
{
	return m->tasks[i].name;
}

static const char *input_name(const RtModel *m, int i)
{
	return m->inputs[i].name;
}

const char *rt_task_names(const RtModel *m, char *buf, size_t len)
{
	return listing(buf, len, m->ntasks, task_name, m);
}

const char *rt_input_names(const RtModel *m, char *buf, size_t len)
{
	return listing(buf, len, m->ndata, input_name, m);
}

/* Predict's first classifier output [N,K], K >= 2, or -1. */
static int classifier_output(const RtModel *m)
{
	for (int i = 0; i < m->npredict; i++) {
		const RtTensor *t = &m->outputs[i];
		if (t->dtype == RT_F32 && t->batched && t->ndim == 2 && t->shape[1] >= 2)
			return i;
	}
	return -1;
}

int rt_feed_untasked(const RtModel *m, int train, RtTaskFeed *p, RtErr *e)
{
	int nl = 0;
	p->task = p->label = p->output = -1;
	for (int i = 0; i < m->ninputs; i++)
		if (m->inputs[i].role == RT_ROLE_LABEL)
			p->label = nl++ ? p->label : i;
	if (nl > 1)
		return rt_errorf(e, "the model has %d label inputs and no tasks: one dataset cannot "
		                 "feed them", nl);
	p->output = classifier_output(m);
	p->classes = p->label >= 0 ? m->inputs[p->label].classes : 0;
	if (p->output >= 0 && p->classes && m->outputs[p->output].shape[1] != p->classes)
		p->output = -1;   /* its classes are not the labels' */
	if (p->output >= 0 && !p->classes)
		p->classes = (int)m->outputs[p->output].shape[1];
	if (train && p->label < 0)
		return rt_errorf(e, "the model's loss reads no label input: one dataset cannot train it");
	if (!train && p->output < 0 && (p->label < 0 || !rt_model_entry(m, "eval")))
		return rt_errorf(e, "the model has no classifier output [N,K] to evaluate");
	return 0;
}

int rt_feed_check(const RtModel *m, const RtFeed *f, const Dataset *ds, const DataNorm *norm,
                  RtErr *e)
{
	for (int k = 0; k < f->nimages; k++) {
		const RtTensor *in = &m->inputs[f->image[k]];
		if (data_check_input(ds, k, in, e) ||
		    (norm && data_norm_check(norm, ds->mod[k].c, ds->mod[k].name, e)))
			return -1;
	}
	for (int t = 0; t < f->ntasks; t++) {
		const RtTaskFeed *p = &f->task[t];
		RtErr sub = {0};
		if (p->classes > 0 && data_check_labels(ds, t, p->classes, &sub))
			return p->task < 0 ? rt_errorf(e, "%s", sub.msg)
			                   : rt_errorf(e, "%s (labels of the task \"%s\")", sub.msg,
			                               m->tasks[p->task].name);
	}
	return 0;
}

void rt_feed_batch(const RtModel *m, const RtFeed *f, char *arena, const Batch *b)
{
	for (int k = 0; k < f->nimages; k++) {
		const RtTensor *in = &m->inputs[f->image[k]];
		memcpy(rt_tensor_addr(m, in, arena, b->n), b->x[k],
		       sizeof(float) * (size_t)rt_sample_numel(in) * (size_t)b->n);
	}
	for (int t = 0; t < f->ntasks; t++)
		if (f->task[t].label >= 0)
			memcpy(rt_tensor_addr(m, &m->inputs[f->task[t].label], arena, b->n), b->y[t],
			       sizeof(int32_t) * (size_t)b->n);
}
