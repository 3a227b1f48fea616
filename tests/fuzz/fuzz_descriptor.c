/*
** fuzz_descriptor.c -- the model descriptor JSON (runtime/model.c
** rt_model_parse, model_entries.c) that every generated executable
** carries, then `info` (runtime/info.c) on what it accepted. A descriptor
** that parses must lay every tensor out inside the arena, for one sample
** and for many, and its tasks and entries must name real tensors.
*/
#include "fuzz.h"
#include "rt.h"

/* Whether t's bytes for n samples lie inside an arena for n samples. */
static int inside(const RtModel *m, const RtTensor *t, int64_t n)
{
	int64_t arena = rt_arena_bytes(m, n), at, k = 1, end;
	if (arena < 0)
		return 1;   /* n samples cannot be addressed: nothing to lay out */
	if (t->batched ? __builtin_mul_overflow(t->offset, n, &at) ||
	                 __builtin_add_overflow(at, m->fixed_bytes, &at)
	               : (at = t->offset, 0))
		return 0;
	for (int i = 0; i < t->ndim; i++)
		if (__builtin_mul_overflow(k, t->shape[i] < 0 ? n : t->shape[i], &k))
			return 0;
	return !__builtin_mul_overflow(k, (int64_t)rt_dtype_size(t->dtype), &k) &&
	       !__builtin_add_overflow(at, k, &end) && at >= 0 && end <= arena;
}

/* Check a descriptor that rt_model_parse accepted. */
static void check(const RtModel *m)
{
	static const int64_t ns[] = {0, 1, 3, 1000};
	for (size_t j = 0; j < sizeof ns / sizeof ns[0]; j++) {
		for (int i = 0; i < m->ninputs; i++)
			if (!inside(m, &m->inputs[i], ns[j]))
				fuzz_fail("descriptor", "an input lies outside the arena");
		for (int i = 0; i < m->noutputs; i++)
			if (!inside(m, &m->outputs[i], ns[j]))
				fuzz_fail("descriptor", "an output lies outside the arena");
		for (int i = 0; i < m->nparams; i++)
			if (!inside(m, &m->params[i], ns[j]))
				fuzz_fail("descriptor", "a parameter lies outside the arena");
	}
	for (int i = 0; i < m->ntasks; i++)
		if (m->tasks[i].output < 0 || m->tasks[i].output >= m->noutputs ||
		    m->tasks[i].label < 0 || m->tasks[i].label >= m->ninputs)
			fuzz_fail("descriptor", "a task names no output or no label input");
	for (int i = 0; i < m->nentries; i++)
		for (int k = 0; k < m->entries[i].noutputs; k++)
			if (m->entries[i].outputs[k] < 0 || m->entries[i].outputs[k] >= m->noutputs)
				fuzz_fail("descriptor", "an entry writes an output that does not exist");
	if (m->ndata < 0 || m->ndata > m->ninputs || m->npredict < 0 || m->npredict > m->noutputs)
		fuzz_fail("descriptor", "the input or output groups are out of range");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json = fuzz_str(data, size);
	RtModel m;
	RtErr e = {0};
	if (rt_model_parse(&m, json, &e) == 0) {
		check(&m);
		FILE *null = fopen("/dev/null", "w");
		RtErr e2 = {0};
		if (!null || rt_info(&m, null, &e2))
			fuzz_fail("descriptor", "info fails on a descriptor that parsed");
		fclose(null);
		rt_model_free(&m);
	} else {
		fuzz_check_failure("descriptor", e.set, e.msg);
	}
	free(json);
	return 0;
}
