/*
** fuzz_checkpoint.c -- what the runtime reads back from a weights file or a
** training checkpoint against a model (runtime/checkpoint.c, weights.c,
** input.c): the run state and settings in the metadata, the tensors, the
** preprocessing and class names. The model is the tiny one of
** fuzz_model.h; the spec hash check is passed by taking the file's own, so
** that mutated metadata reaches the readers behind it.
*/
#include "fuzz.h"
#include "fuzz_model.h"
#include "data.h"
#include "train.h"

static RtModel model_;
static int model_ok_;

/* The tiny model, parsed once. */
static RtModel *model(void)
{
	if (!model_ok_) {
		RtErr e = {0};
		if (rt_model_parse(&model_, FUZZ_MODEL_JSON, &e)) {
			fprintf(stderr, "fuzz checkpoint: the model descriptor: %s\n", e.msg);
			abort();
		}
		model_ok_ = 1;
	}
	return &model_;
}

/* A checkpoint's run state, settings and tensors, as `train --resume` reads them. */
static void resume(RtModel *m, const StFile *f)
{
	RtTrainOpts o;
	RtTrainState st;
	RtErr e = {0};
	rt_train_defaults(&o);
	char *spec = m->spec_hash;
	const char *hash = st_meta(f, "spec_hash");
	m->spec_hash = (char *)(hash ? hash : spec);
	int rc = rt_ckpt_read_meta(m, f, &o, &st, &e);
	m->spec_hash = spec;
	if (rc == 0) {
		char *arena = rt_arena_new(m, 1, &e);
		if (!arena)
			fuzz_fail("checkpoint", "no arena for the tiny model");
		rc = rt_ckpt_read_tensors(m, f, &o, arena, &e);
		rt_arena_free(arena);
	}
	if (rc)
		fuzz_check_failure("checkpoint", e.set, e.msg);
	rt_train_opts_free(&o);
}

/* A weights file as `predict` reads it: weights, preprocessing, class names. */
static void weights(const RtModel *m, const char *path)
{
	RtErr e = {0}, warn = {0};
	char *arena = rt_arena_new(m, 1, &e);
	if (!arena)
		fuzz_fail("checkpoint", "no arena for the tiny model");
	if (rt_weights_load(m, arena, path, &e, &warn))
		fuzz_check_failure("checkpoint", e.set, e.msg);
	rt_arena_free(arena);
	DataNorm norm;
	int found = 0;
	char *names[1] = {NULL};
	RtErr e2 = {0};
	if (rt_weights_preproc(path, m, &norm, &found, names, &e2))
		fuzz_check_failure("checkpoint", e2.set, e2.msg);
	free(names[0]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	RtModel *m = model();
	char *path = fuzz_file("ckpt.safetensors", data, size);
	StFile f;
	RtErr e = {0};
	if (st_open(&f, path, &e) == 0) {
		resume(m, &f);
		st_close(&f);
		weights(m, path);
	} else {
		fuzz_check_failure("checkpoint", e.set, e.msg);
	}
	free(path);
	return 0;
}
