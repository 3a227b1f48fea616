/*
** feed_open.c -- from the command line's data to one dataset bound to the
** model (docs/data.md, "Two inputs, two tasks"):
**
**   --data SPEC                 the model's only image input, or a paired CSV
**                               that feeds every input and task itself
**   --data a=SPEC --data b=SPEC one dataset per image input; the labels of
**                               the k-th input's dataset train the k-th task
**                               unless --task a=TASK (or a=none) says otherwise
**   --data a=paired:SPEC ...    truly paired arrays: kept in file order
**
** Datasets given per input are each shuffled, then joined by position, the
** shorter ones resampled to the longest (data_join.c); paired:SPEC ones
** keep their order. Every way the pairing cannot work is one message naming
** the flag.
*/
#include <stdlib.h>
#include <string.h>

#include "train.h"

/* One --data value: the spec and the data input it is for (-1: not named). */
typedef struct Item {
	const char *spec;
	int input;
	int task;                   /* the task its labels go to; -1: none */
	int paired;                 /* paired:SPEC: paired by index, kept in order */
} Item;

/* Whether spec is "paired:KIND:..." with KIND a data kind (not a CSV path). */
static int paired_spec(const char *spec)
{
	static const char *const kinds[] = {"npy:", "idx:", "fashion-mnist:", "folders:", "csv:"};
	if (strncmp(spec, "paired:", 7))
		return 0;
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (!strncmp(spec + 7, kinds[i], strlen(kinds[i])))
			return 1;
	return 0;
}

/* The data input called name[0..len), or -1. */
static int data_input(const RtModel *m, const char *name, size_t len)
{
	for (int i = 0; i < m->ndata; i++)
		if (strlen(m->inputs[i].name) == len && !strncmp(m->inputs[i].name, name, len))
			return i;
	return -1;
}

/* Whether text before '=' in s reads as a name (no ':', '/' or ','). */
static size_t name_len(const char *s)
{
	const char *eq = strchr(s, '=');
	if (!eq || eq == s)
		return 0;
	for (const char *p = s; p < eq; p++)
		if (*p == ':' || *p == '/' || *p == ',')
			return 0;
	return (size_t)(eq - s);
}

/* Split text's lines (text is a copy; the items point into it) into items. */
static int parse_items(const RtModel *m, char *text, Item *it, int *n, RtErr *e)
{
	char names[512], *save = NULL;
	*n = 0;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (*n == RT_MAXFEED)
			return rt_errorf(e, "--data is given more than %d times", RT_MAXFEED);
		Item *x = &it[(*n)++];
		size_t k = name_len(line);
		x->spec = k ? line + k + 1 : line;
		x->input = k ? data_input(m, line, k) : -1;
		x->task = -1;
		if ((x->paired = paired_spec(x->spec)))
			x->spec += 7;
		if (k && x->input < 0)
			return rt_errorf(e, "--data %s: the model has no image input \"%.*s\" (its inputs: %s)",
			                 line, (int)k, line, rt_input_names(m, names, sizeof names));
		if (k && !strncmp(x->spec, "paired:", 7))
			return rt_errorf(e, "--data %s: a paired CSV binds its columns to every input itself: "
			                 "give it as --data %s", line, x->spec);
		for (int j = 0; j < *n - 1; j++)
			if (k && it[j].input == x->input)
				return rt_errorf(e, "--data: the image input \"%s\" is given two datasets",
				                 m->inputs[x->input].name);
	}
	if (*n == 0)
		return rt_errorf(e, "--data is empty");
	return 0;
}

/* Name the input of every item, or accept one paired/bare dataset. */
static int settle_inputs(const RtModel *m, Item *it, int n, RtErr *e)
{
	char names[512];
	if (n == 1 && it[0].input < 0 && !strncmp(it[0].spec, "paired:", 7))
		return 0;
	if (n == 1 && it[0].input < 0 && m->ndata == 1) {
		it[0].input = 0;
		return 0;
	}
	if (m->ndata == 1 && n > 1)
		return rt_errorf(e, "--data is given %d times; the model has one image input (\"%s\"): "
		                 "give one dataset", n, m->inputs[0].name);
	for (int i = 0; i < n; i++)
		if (it[i].input < 0)
			return rt_errorf(e, "--data %s: the model has %d image inputs (%s): give one dataset "
			                 "per input as --data INPUT=SPEC, or one paired:FILE.csv", it[i].spec,
			                 m->ndata, rt_input_names(m, names, sizeof names));
	for (int k = 0; k < m->ndata; k++) {
		int found = 0;
		for (int i = 0; i < n; i++)
			found |= it[i].input == k;
		if (!found)
			return rt_errorf(e, "the model's image input \"%s\" has no data: add --data %s=SPEC",
			                 m->inputs[k].name, m->inputs[k].name);
	}
	return 0;
}

/* The task called name, -2 for "none", or -1 with a message naming the
** flag and its value. */
static int task_named(const RtModel *m, const char *flag, const char *value, const char *name,
                      RtErr *e)
{
	char names[512];
	if (!strcmp(name, "none"))
		return -2;
	for (int t = 0; t < m->ntasks; t++)
		if (!strcmp(m->tasks[t].name, name))
			return t;
	if (m->ntasks == 0)
		return rt_errorf(e, "%s %s: the model defines no tasks", flag, value);
	return rt_errorf(e, "%s %s: the model has no such task (its tasks: %s)", flag, value,
	                 rt_task_names(m, names, sizeof names));
}

/* --task INPUT=TASK lines (text is a copy) over the default tasks. */
static int task_flags(const RtModel *m, char *text, Item *it, int n, RtErr *e)
{
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		size_t k = name_len(line);
		int in = k ? data_input(m, line, k) : -1, i = 0;
		while (i < n && (in < 0 || it[i].input != in))
			i++;
		if (!k)
			return rt_errorf(e, "--task %s: write INPUT=TASK (the task the labels of INPUT's "
			                 "dataset train)", line);
		if (i == n)
			return rt_errorf(e, "--task %s: no dataset is given for an image input \"%.*s\" "
			                 "(--task applies to --data INPUT=SPEC)", line, (int)k, line);
		int t = task_named(m, "--task", line, line + k + 1, e);
		if (t == -1)
			return -1;
		it[i].task = t == -2 ? -1 : t;
	}
	return 0;
}

/* Which task each per-input dataset's labels train (docs/data.md). */
static int assign_tasks(const RtModel *m, const RtDataArgs *a, Item *it, int n, RtErr *e)
{
	for (int i = 0; i < n; i++)
		it[i].task = it[i].input < m->ntasks ? it[i].input : -1;
	if (a->label_task && n > 1)
		return rt_errorf(e, "--label-task %s: there are %d datasets; say which labels train which "
		                 "task with --task INPUT=TASK", a->label_task, n);
	if (a->label_task) {
		int t = task_named(m, "--label-task", a->label_task, a->label_task, e);
		if (t == -1)
			return -1;
		it[0].task = t == -2 ? -1 : t;
	} else if (n == 1 && m->ntasks > 1 && m->ndata == 1 && !a->tasks) {
		char names[512];
		return rt_errorf(e, "the model has %d tasks (%s): name the one the dataset's labels are "
		                 "for with --label-task", m->ntasks, rt_task_names(m, names, sizeof names));
	}
	char *copy = a->tasks ? strdup(a->tasks) : NULL;
	if (a->tasks && !copy)
		return rt_errorf(e, "out of memory");
	int rc = copy ? task_flags(m, copy, it, n, e) : 0;
	free(copy);
	for (int i = 0; !rc && i < n; i++)
		for (int j = 0; j < i; j++)
			if (it[i].task >= 0 && it[i].task == it[j].task)
				return rt_errorf(e, "the task \"%s\" would get the labels of two datasets (of "
				                 "inputs \"%s\" and \"%s\"): choose with --task INPUT=TASK",
				                 m->tasks[it[i].task].name, m->inputs[it[j].input].name,
				                 m->inputs[it[i].input].name);
	return rc;
}

/* The model's image inputs and task names, as data_open binds them. */
static void model_opts(const RtModel *m, const RtDataArgs *a, DataInput *in, const char **tasks,
                       DataOpts *o)
{
	memset(o, 0, sizeof *o);
	for (int k = 0; k < m->ndata && k < DATA_MAXMOD; k++) {
		const RtTensor *t = &m->inputs[k];
		int img = t->ndim == 4 && t->dtype == RT_F32;
		in[k] = (DataInput){t->name, img ? t->shape[1] : 0, img ? t->shape[2] : 0,
		                    img ? t->shape[3] : 0};
	}
	for (int t = 0; t < m->ntasks && t < DATA_MAXTASK; t++)
		tasks[t] = m->tasks[t].name;
	o->inputs = in;
	o->ninputs = m->ndata;
	o->tasks = tasks;
	o->ntasks = m->ntasks;
	o->threads = a->threads;
	o->resize = a->resize;
}

/* Open the per-input datasets in input order, drop unused labels, join. */
static int open_parts(const RtModel *m, const RtDataArgs *a, Item *it, int n, RtFeed *f,
                      Dataset *ds, RtErr *e)
{
	DataInput in[DATA_MAXMOD];
	const char *tasks[DATA_MAXTASK];
	DataOpts o;
	Dataset parts[RT_MAXFEED] = {{0}};
	model_opts(m, a, in, tasks, &o);
	int rc = 0, np = 0;
	for (int k = 0; !rc && k < m->ndata; k++)
		for (int i = 0; !rc && i < n; i++) {
			if (it[i].input != k)
				continue;
			o.c = in[k].c, o.h = in[k].h, o.w = in[k].w;
			Dataset *p = &parts[np++];
			rc = data_open(it[i].spec, &o, p, e);
			p->in_order = it[i].paired;
			if (!rc && !p->ntask && !a->unlabelled)
				rc = rt_errorf(e, "%s holds no labels: give labelled data (e.g. "
				               "npy:IMAGES.npy,LABELS.npy or folders:DIR); predict --data reads "
				               "data without labels", it[i].spec);
			if (!rc && ((it[i].task < 0 && m->ntasks > 0) || a->unlabelled))
				p->ntask = 0;   /* its labels train no task: left for data_free */
			f->image[f->nimages++] = k;
			if (!rc && p->ntask)
				f->task[f->ntasks++].task = it[i].task;
		}
	if (!rc)
		rc = data_join(parts, np, a->seed, ds, e);
	for (int i = 0; i < np; i++)
		data_free(&parts[i]);   /* what data_join left: dropped label arrays */
	return rc;
}

/* Label input, output and classes of each task feed; every task fed when training. */
static int task_feeds(const RtModel *m, const RtDataArgs *a, RtFeed *f, RtErr *e)
{
	if (a->unlabelled)
		return 0;
	if (m->ntasks == 0) {
		f->ntasks = f->ntasks ? 1 : 0;
		return f->ntasks ? rt_feed_untasked(m, a->train, &f->task[0], e)
		                 : rt_errorf(e, "no labels: the dataset holds none");
	}
	for (int i = 0; i < f->ntasks; i++) {
		RtTaskFeed *p = &f->task[i];
		const RtTask *t = &m->tasks[p->task];
		p->label = t->label, p->output = t->output, p->classes = t->classes;
	}
	for (int t = 0; a->train && t < m->ntasks; t++) {
		int fed = 0;
		for (int i = 0; i < f->ntasks; i++)
			fed |= f->task[i].task == t;
		if (!fed)
			return rt_errorf(e, "the task \"%s\" has no labels: give a dataset for it (the k-th "
			                 "image input's labels train the k-th task; --task INPUT=%s chooses)",
			                 m->tasks[t].name, m->tasks[t].name);
	}
	return 0;
}

/* Say, once per image input, what its image files held that had to be
** resized or converted (ds->note). */
static int note_fitting(const RtModel *m, const RtFeed *f, Dataset *ds, RtErr *e)
{
	for (int k = 0; k < f->nimages && k < ds->nmod; k++) {
		const DataImages *im = &ds->mod[k];
		char *t = data_seen_note(m->inputs[f->image[k]].name, &im->seen, im->c, im->h, im->w,
		                         im->resize);
		if ((im->seen.n && !t) || data_note_add(&ds->note, t)) {
			free(t);
			return rt_errorf(e, "out of memory");
		}
		free(t);
	}
	return 0;
}

int rt_data_open(const RtModel *m, const RtDataArgs *a, RtFeed *f, Dataset *ds, RtErr *e)
{
	memset(f, 0, sizeof *f);
	memset(ds, 0, sizeof *ds);
	if (m->ndata < 1 || m->ndata > RT_MAXFEED || m->ntasks > RT_MAXFEED)
		return rt_errorf(e, "the model has %d image inputs and %d tasks: the runtime feeds 1 to "
		                 "%d inputs and at most %d tasks", m->ndata, m->ntasks, RT_MAXFEED, RT_MAXFEED);
	char *text = strdup(a->data);
	Item it[RT_MAXFEED];
	int n = 0, rc = text ? 0 : rt_errorf(e, "out of memory");
	if (!rc && (parse_items(m, text, it, &n, e) || settle_inputs(m, it, n, e)))
		rc = -1;
	if (!rc && n == 1 && it[0].input < 0) {   /* a paired CSV */
		if (a->tasks || a->label_task)
			rc = rt_errorf(e, "--task and --label-task apply to datasets given per input; a "
			               "paired CSV binds its label columns by name (paired:FILE.csv,TASK=COLUMN)");
		DataInput in[DATA_MAXMOD];
		const char *tasks[DATA_MAXTASK];
		DataOpts o;
		model_opts(m, a, in, tasks, &o);
		if (a->unlabelled)
			o.ntasks = 0;   /* no label columns are read */
		if (!rc)
			rc = data_open(it[0].spec, &o, ds, e);
		for (int k = 0; !rc && k < ds->nmod; k++)
			f->image[f->nimages++] = k;
		for (int t = 0; !rc && t < ds->ntask; t++)
			f->task[f->ntasks++].task = t;
	} else if (!rc) {
		rc = assign_tasks(m, a, it, n, e) || open_parts(m, a, it, n, f, ds, e) ? -1 : 0;
	}
	free(text);
	if (!rc && (task_feeds(m, a, f, e) || rt_feed_check(m, f, ds, NULL, e) ||
	            note_fitting(m, f, ds, e)))
		rc = -1;
	if (rc)
		data_free(ds);
	return rc;
}
