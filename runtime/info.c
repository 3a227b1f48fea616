/*
** info.c -- `info`: what the executable holds, as JSON on stdout: name,
** compiler, spec hash, inputs and outputs (-1 is the batch dimension),
** every parameter and buffer with its shape, and the sizes that matter
** when choosing a batch: bytes per sample and fixed bytes.
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
		        t->is_buffer ? "buffer" : "param", init[t->init], (long long)rt_numel(t, 0));
	}
	fputc('}', out);
}

/* "key": [tensors...] */
static void list(FILE *out, const char *key, const RtTensor *ts, int n, int is_param)
{
	fprintf(out, "  \"%s\": [%s", key, n ? "\n" : "");
	for (int i = 0; i < n; i++) {
		tensor(out, &ts[i], is_param);
		fputs(i + 1 < n ? ",\n" : "\n  ", out);
	}
	fputs("],\n", out);
}

int rt_info(const RtModel *m, FILE *out, RtErr *e)
{
	fputs("{\n  \"name\": ", out);
	rt_json_str(out, m->name);
	fputs(",\n  \"compiler\": ", out);
	rt_json_str(out, m->compiler);
	fputs(",\n  \"spec_hash\": ", out);
	rt_json_str(out, m->spec_hash);
	fputs(",\n  \"entries\": [", out);
	for (int i = 0; i < m->nentries; i++) {
		fputs(i ? ", " : "", out);
		rt_json_str(out, m->entries[i]);
	}
	fputs("],\n", out);
	list(out, "inputs", m->inputs, m->ninputs, 0);
	list(out, "outputs", m->outputs, m->noutputs, 0);
	list(out, "parameters", m->params, m->nparams, 1);
	int64_t nbuf = 0;
	for (int i = 0; i < m->nparams; i++)
		nbuf += m->params[i].is_buffer ? rt_numel(&m->params[i], 0) : 0;
	fprintf(out, "  \"trainable_parameters\": %lld,\n  \"buffer_elements\": %lld,\n"
	        "  \"weight_bytes\": %lld,\n  \"bytes_per_sample\": %lld,\n  \"fixed_bytes\": %lld\n}\n",
	        (long long)rt_param_count(m), (long long)nbuf, (long long)rt_weight_bytes(m),
	        (long long)m->batch_bytes, (long long)m->fixed_bytes);
	if (fflush(out) != 0 || ferror(out))
		return rt_errorf(e, "cannot write to standard output");
	return 0;
}
