/*
** model_entries.c -- the descriptor's "entries" and "tasks" (lunac_rt.h),
** the role of each input (hyper-parameters: "hyper.*"; labels: a task's
** label input or any other i32 [N] input; data: the rest) and the order the
** runtime keeps inputs and outputs in: data inputs first, then labels, then
** hyper-parameters; the outputs predict writes first. Every check failure
** is an internal error: the compiler wrote the descriptor.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rt.h"

#define BAD(...) rt_errorf(e, "internal error: model descriptor: " __VA_ARGS__)

/* The index of the tensor called name in ts[0..n), or -1. */
static int lookup(const RtTensor *ts, int n, const char *name)
{
	for (int i = 0; name && i < n; i++)
		if (!strcmp(ts[i].name, name))
			return i;
	return -1;
}

int rt_model_input(const RtModel *m, const char *name)
{
	return lookup(m->inputs, m->ninputs, name);
}

int rt_model_output(const RtModel *m, const char *name)
{
	return lookup(m->outputs, m->noutputs, name);
}

int rt_model_param(const RtModel *m, const char *name)
{
	return lookup(m->params, m->nparams, name);
}

const char *rt_kind_name(RtKind k)
{
	return k == RT_STATE ? "state" : k == RT_BUFFER ? "buffer" : "param";
}

const RtEntry *rt_model_entry(const RtModel *m, const char *name)
{
	for (int i = 0; i < m->nentries; i++)
		if (!strcmp(m->entries[i].name, name))
			return &m->entries[i];
	return NULL;
}

int rt_entry_writes(const RtEntry *en, int out)
{
	for (int i = 0; en && i < en->noutputs; i++)
		if (en->outputs[i] == out)
			return 1;
	return 0;
}

/* One entry: a plain name (every output) or {"name", "outputs": [names]}. */
static int getentry(const RtModel *m, const cJSON *j, RtEntry *en, RtErr *e)
{
	const char *name = cJSON_IsString(j) ? j->valuestring
	                   : cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "name"));
	if (!name || !name[0])
		return BAD("an entry is neither a name nor an object with a \"name\"");
	if (!(en->name = strdup(name)) || !(en->outputs = calloc(m->noutputs + 1, sizeof(int))))
		return rt_errorf(e, "out of memory");
	if (cJSON_IsString(j)) {
		for (int i = 0; i < m->noutputs; i++)
			en->outputs[en->noutputs++] = i;
		return 0;
	}
	const cJSON *outs = cJSON_GetObjectItemCaseSensitive(j, "outputs"), *o;
	if (!cJSON_IsArray(outs))
		return BAD("entry \"%s\": \"outputs\" is missing or not an array", name);
	cJSON_ArrayForEach(o, outs) {
		int k = lookup(m->outputs, m->noutputs, cJSON_GetStringValue(o));
		if (k < 0)
			return BAD("entry \"%s\" names an output that is not in \"outputs\"", name);
		if (!rt_entry_writes(en, k))
			en->outputs[en->noutputs++] = k;
	}
	return 0;
}

/* Parse "entries" into m->entries; names unique, "predict" among them. */
static int getentries(RtModel *m, const cJSON *root, RtErr *e)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "entries"), *j;
	if (!cJSON_IsArray(a))
		return BAD("\"entries\" is missing or not an array");
	int k = cJSON_GetArraySize(a);
	if (!(m->entries = calloc(k ? k : 1, sizeof *m->entries)))
		return rt_errorf(e, "out of memory");
	cJSON_ArrayForEach(j, a) {
		RtEntry *en = &m->entries[m->nentries++];
		if (getentry(m, j, en, e))
			return -1;
		for (int i = 0; i < m->nentries - 1; i++)
			if (!strcmp(m->entries[i].name, en->name))
				return BAD("\"entries\" names \"%s\" twice", en->name);
	}
	if (!rt_model_entry(m, "predict"))
		return BAD("there is no \"predict\" entry");
	return 0;
}

/* One task: names resolved to indices, shapes checked. */
static int gettask(const RtModel *m, const cJSON *j, RtTask *t, RtErr *e)
{
	const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "name"));
	if (!name || !name[0])
		return BAD("a task has no \"name\"");
	if (!(t->name = strdup(name)))
		return rt_errorf(e, "out of memory");
	const cJSON *c = cJSON_GetObjectItemCaseSensitive(j, "classes");
	const cJSON *w = cJSON_GetObjectItemCaseSensitive(j, "weight");
	t->output = lookup(m->outputs, m->noutputs,
	                   cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "output")));
	t->label = lookup(m->inputs, m->ninputs,
	                  cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "label")));
	if (t->output < 0 || t->label < 0)
		return BAD("task \"%s\": \"output\" or \"label\" names no output or input", name);
	if (!cJSON_IsNumber(c) || c->valuedouble != floor(c->valuedouble) || c->valuedouble < 2 ||
	    c->valuedouble > 1e6)
		return BAD("task \"%s\": \"classes\" is not an integer >= 2", name);
	t->classes = (int)c->valuedouble;
	t->weight = w ? (cJSON_IsNumber(w) ? w->valuedouble : -1) : 1;
	if (!(t->weight >= 0) || !isfinite(t->weight))
		return BAD("task \"%s\": \"weight\" is not a non-negative number", name);
	const RtTensor *o = &m->outputs[t->output], *l = &m->inputs[t->label];
	if (o->dtype != RT_F32 || !o->batched || o->ndim != 2 || o->shape[1] != t->classes)
		return BAD("task \"%s\": output \"%s\" is not f32 [N,%d]", name, o->name, t->classes);
	if (l->dtype != RT_I32 || !l->batched || l->ndim != 1)
		return BAD("task \"%s\": label input \"%s\" is not i32 [N]", name, l->name);
	return 0;
}

/* Parse "tasks" (absent: none) into m->tasks. */
static int gettasks(RtModel *m, const cJSON *root, RtErr *e)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, "tasks"), *j;
	if (!a)
		return 0;
	if (!cJSON_IsArray(a))
		return BAD("\"tasks\" is not an array");
	int k = cJSON_GetArraySize(a);
	if (!(m->tasks = calloc(k ? k : 1, sizeof *m->tasks)))
		return rt_errorf(e, "out of memory");
	cJSON_ArrayForEach(j, a) {
		RtTask *t = &m->tasks[m->ntasks++];
		if (gettask(m, j, t, e))
			return -1;
		for (int i = 0; i < m->ntasks - 1; i++)
			if (!strcmp(m->tasks[i].name, t->name) || m->tasks[i].label == t->label)
				return BAD("two tasks share the name \"%s\" or a label input", t->name);
	}
	return 0;
}

/* Give each input its role and check the hyper-parameters' shape. */
static int roles(RtModel *m, RtErr *e)
{
	for (int i = 0; i < m->ninputs; i++) {
		RtTensor *t = &m->inputs[i];
		t->role = !strncmp(t->name, "hyper.", 6) ? RT_ROLE_HYPER : RT_ROLE_DATA;
		if (t->role == RT_ROLE_HYPER && (t->batched || t->dtype != RT_F32 || rt_numel(t, 0) != 1))
			return BAD("hyper-parameter \"%s\" is not f32 [1]", t->name);
	}
	for (int i = 0; i < m->ninputs; i++) {
		RtTensor *t = &m->inputs[i];
		if (t->role == RT_ROLE_DATA && t->dtype == RT_I32 && t->batched && t->ndim == 1)
			t->role = RT_ROLE_LABEL;
	}
	for (int k = 0; k < m->ntasks; k++) {
		RtTensor *l = &m->inputs[m->tasks[k].label];
		if (l->classes && l->classes != m->tasks[k].classes)
			return BAD("task \"%s\" has %d classes, its label input %d", m->tasks[k].name,
			           m->tasks[k].classes, l->classes);
		l->classes = m->tasks[k].classes;
	}
	for (int i = 0; i < m->ninputs; i++)
		m->ndata += m->inputs[i].role == RT_ROLE_DATA;
	return 0;
}

/* Training entries need a scalar "loss" output. */
static int check_loss(const RtModel *m, RtErr *e)
{
	int needs = 0;
	for (int i = 0; i < m->nentries; i++)
		needs |= !strcmp(m->entries[i].name, "eval") || !strncmp(m->entries[i].name, "train_", 6);
	if (!needs)
		return 0;
	int k = lookup(m->outputs, m->noutputs, "loss");
	if (k < 0 || m->outputs[k].batched || m->outputs[k].dtype != RT_F32 ||
	    rt_numel(&m->outputs[k], 0) != 1)
		return BAD("an eval or train entry needs an output \"loss\" f32 [1]");
	return 0;
}

/* Reorder ts[0..n) stably by key[i] (ascending, small keys); perm[old] = new. */
static int partition(RtTensor *ts, int n, const int *key, int nkeys, int *perm, RtErr *e)
{
	RtTensor *tmp = malloc(sizeof *tmp * (n ? n : 1));
	if (!tmp)
		return rt_errorf(e, "out of memory");
	int at = 0;
	for (int k = 0; k < nkeys; k++)
		for (int i = 0; i < n; i++)
			if (key[i] == k) {
				perm[i] = at;
				tmp[at++] = ts[i];
			}
	memcpy(ts, tmp, sizeof *tmp * n);
	free(tmp);
	return 0;
}

/* Put inputs and outputs in the runtime's order; remap every index. */
static int reorder(RtModel *m, RtErr *e)
{
	int nmax = (m->ninputs > m->noutputs ? m->ninputs : m->noutputs) + 1;
	int *key = malloc(sizeof(int) * nmax), *perm = malloc(sizeof(int) * nmax), rc = -1;
	if (!key || !perm) {
		rc = rt_errorf(e, "out of memory");
		goto out;
	}
	for (int i = 0; i < m->ninputs; i++)
		key[i] = (int)m->inputs[i].role;
	if (partition(m->inputs, m->ninputs, key, 3, perm, e))
		goto out;
	for (int k = 0; k < m->ntasks; k++)
		m->tasks[k].label = perm[m->tasks[k].label];
	const RtEntry *pred = rt_model_entry(m, "predict");
	for (int i = 0; i < m->noutputs; i++)
		m->npredict += !(key[i] = !rt_entry_writes(pred, i));
	if (partition(m->outputs, m->noutputs, key, 2, perm, e))
		goto out;
	for (int k = 0; k < m->ntasks; k++)
		m->tasks[k].output = perm[m->tasks[k].output];
	for (int j = 0; j < m->nentries; j++)
		for (int i = 0; i < m->entries[j].noutputs; i++)
			m->entries[j].outputs[i] = perm[m->entries[j].outputs[i]];
	rc = 0;
out:
	free(key);
	free(perm);
	return rc;
}

int rt_model_parse_entries(RtModel *m, const cJSON *root, RtErr *e)
{
	if (getentries(m, root, e) || gettasks(m, root, e) || roles(m, e) || check_loss(m, e))
		return -1;
	if (rt_model_entry(m, "predict")->noutputs == 0)
		return BAD("the \"predict\" entry writes no output");
	return reorder(m, e);
}
