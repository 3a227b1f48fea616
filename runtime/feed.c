/*
** feed.c -- how a labelled image dataset feeds a model: its images go to a
** data input, its labels to a task's label input, and that task's output
** holds the probabilities the metrics need. One pair for now (a model with
** one image input and one task, or a custom loss reading one label
** input); RtFeed has room for the two-input, two-task models that come
** later.
*/
#include <string.h>

#include "train.h"

/* "a", "b" and "c": the names of m's tasks, for a message. */
static const char *task_names(const RtModel *m)
{
	static char buf[512];
	size_t k = 0;
	buf[0] = 0;
	for (int i = 0; i < m->ntasks && k < sizeof buf; i++)
		k += snprintf(buf + k, sizeof buf - k, "%s\"%s\"",
		              i == 0 ? "" : i + 1 < m->ntasks ? ", " : " and ", m->tasks[i].name);
	return buf;
}

/* The task the labels train: the one named, or the only one. */
static int pick_task(const RtModel *m, const char *name, RtErr *e)
{
	for (int i = 0; name && i < m->ntasks; i++)
		if (!strcmp(m->tasks[i].name, name))
			return i;
	if (name)
		return rt_errorf(e, "--label-task %s: the model has no such task (its tasks: %s)", name,
		                 task_names(m));
	if (m->ntasks > 1)
		return rt_errorf(e, "the model has %d tasks (%s): name the one the dataset's labels "
		                 "are for with --label-task", m->ntasks, task_names(m));
	return 0;
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

/* A model without tasks: its one label input (a custom loss) and/or its
** classifier output. Training needs the label input; evaluation either. */
static int untasked(const RtModel *m, int train, RtPair *p, RtErr *e)
{
	int nl = 0;
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

int rt_feed_bind(const RtModel *m, const char *label_task, int train, RtFeed *f, RtErr *e)
{
	memset(f, 0, sizeof *f);
	if (m->ndata != 1)
		return rt_errorf(e, "the model has %d data inputs; training and evaluation on one "
		                 "dataset need exactly one image input", m->ndata);
	RtPair *p = &f->pair[0];
	f->npairs = 1;
	p->input = 0;
	p->task = p->label = p->output = -1;
	if (m->ntasks == 0) {
		if (label_task)
			return rt_errorf(e, "--label-task %s: the model defines no tasks", label_task);
		return untasked(m, train, p, e);
	}
	int t = pick_task(m, label_task, e);
	if (t < 0)
		return -1;
	p->task = t;
	p->label = m->tasks[t].label;
	p->output = m->tasks[t].output;
	p->classes = m->tasks[t].classes;
	return 0;
}

int rt_feed_check(const RtModel *m, const RtFeed *f, const Dataset *ds, RtErr *e)
{
	for (int k = 0; k < f->npairs; k++)
		if (data_check_input(ds, &m->inputs[f->pair[k].input], e) ||
		    (f->pair[k].classes > 0 && data_check_labels(ds, f->pair[k].classes, e)))
			return -1;
	return 0;
}

void rt_feed_batch(const RtModel *m, const RtFeed *f, char *arena, int64_t n,
                   const float *images, const int32_t *labels)
{
	for (int k = 0; k < f->npairs; k++) {
		const RtPair *p = &f->pair[k];
		const RtTensor *in = &m->inputs[p->input];
		memcpy(rt_tensor_addr(m, in, arena, n), images,
		       sizeof(float) * (size_t)rt_sample_numel(in) * (size_t)n);
		if (p->label >= 0)
			memcpy(rt_tensor_addr(m, &m->inputs[p->label], arena, n), labels,
			       sizeof(int32_t) * (size_t)n);
	}
}
