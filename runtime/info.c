/*
** info.c -- `info`: what the executable holds, as JSON on stdout: name,
** compiler, spec hash, the target CPU and features, entry points, the data inputs and the outputs of
** predict (-1 is the batch dimension), label inputs and tasks, every
** parameter and buffer with its shape, the optimizer state, and the sizes
** that matter when choosing a batch: bytes per sample and fixed bytes.
*/
#include "rt.h"

/* One tensor as {"name", "dtype", "shape"[, kind, init, count]}. */
static void tensor(FILE *out, const RtTensor *t, int is_param)
{
	fputs("    {\"name\": ", out);
	rt_json_str(out, t->name);
	fprintf(out, ", \"dtype\": \"%s\", \"shape\": ", rt_dtype_name(t->dtype));
	rt_json_shape(out, t, -1);
	if (is_param) {
		static const char *init[] = {"none", "glorot", "zeros", "ones"};
		fprintf(out, ", \"kind\": \"%s\", \"init\": \"%s\", \"count\": %lld",
		        rt_kind_name(t->kind), init[t->init], (long long)rt_numel(t, 0));
	}
	fputc('}', out);
}

/* "key": [the tensors of ts[0..n) that keep() accepts]. */
static void list(FILE *out, const char *key, const RtTensor *ts, int n, int is_param,
                 int (*keep)(const RtTensor *))
{
	int first = 1;
	fprintf(out, "  \"%s\": [", key);
	for (int i = 0; i < n; i++) {
		if (keep && !keep(&ts[i]))
			continue;
		fputs(first ? "\n" : ",\n", out);
		tensor(out, &ts[i], is_param);
		first = 0;
	}
	fputs(first ? "],\n" : "\n  ],\n", out);
}

/* Filters for list(). */
static int is_label(const RtTensor *t) { return t->role == RT_ROLE_LABEL; }
static int is_weight(const RtTensor *t) { return t->kind != RT_STATE; }
static int is_state(const RtTensor *t) { return t->kind == RT_STATE; }

/* "tasks": [{"name", "output", "label", "classes", "weight"}] */
static void tasks(FILE *out, const RtModel *m)
{
	fputs("  \"tasks\": [", out);
	for (int i = 0; i < m->ntasks; i++) {
		const RtTask *t = &m->tasks[i];
		fputs(i ? ",\n    {\"name\": " : "\n    {\"name\": ", out);
		rt_json_str(out, t->name);
		fputs(", \"output\": ", out);
		rt_json_str(out, m->outputs[t->output].name);
		fputs(", \"label\": ", out);
		rt_json_str(out, m->inputs[t->label].name);
		fprintf(out, ", \"classes\": %d, \"weight\": ", t->classes);
		rt_json_float(out, (float)t->weight);
		fputc('}', out);
	}
	fputs(m->ntasks ? "\n  ],\n" : "],\n", out);
}

/* Elements of the params of kind k. */
static int64_t elements(const RtModel *m, RtKind k)
{
	int64_t n = 0;
	for (int i = 0; i < m->nparams; i++)
		n += m->params[i].kind == k ? rt_numel(&m->params[i], 0) : 0;
	return n;
}

int rt_info(const RtModel *m, FILE *out, RtErr *e)
{
	fputs("{\n  \"name\": ", out);
	rt_json_str(out, m->name);
	fputs(",\n  \"compiler\": ", out);
	rt_json_str(out, m->compiler);
	fputs(",\n  \"spec_hash\": ", out);
	rt_json_str(out, m->spec_hash);
	if (m->target_cpu) {
		fputs(",\n  \"target\": {\"cpu\": ", out);
		rt_json_str(out, m->target_cpu);
		fputs(", \"features\": ", out);
		rt_json_str(out, m->target_features);
		fputc('}', out);
	}
	fputs(",\n  \"entries\": [", out);
	for (int i = 0; i < m->nentries; i++) {
		fputs(i ? ", " : "", out);
		rt_json_str(out, m->entries[i].name);
	}
	fputs("],\n", out);
	list(out, "inputs", m->inputs, m->ndata, 0, NULL);
	list(out, "outputs", m->outputs, m->npredict, 0, NULL);
	list(out, "labels", m->inputs, m->ninputs, 0, is_label);
	tasks(out, m);
	list(out, "parameters", m->params, m->nparams, 1, is_weight);
	list(out, "optimizer_state", m->params, m->nparams, 1, is_state);
	fprintf(out, "  \"trainable_parameters\": %lld,\n  \"buffer_elements\": %lld,\n"
	        "  \"optimizer_state_elements\": %lld,\n"
	        "  \"weight_bytes\": %lld,\n  \"bytes_per_sample\": %lld,\n  \"fixed_bytes\": %lld\n}\n",
	        (long long)rt_param_count(m), (long long)elements(m, RT_BUFFER),
	        (long long)elements(m, RT_STATE), (long long)rt_weight_bytes(m),
	        (long long)m->batch_bytes, (long long)m->fixed_bytes);
	return rt_flush_out(out, e);
}
