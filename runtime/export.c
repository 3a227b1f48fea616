/*
** export.c -- `export`: a weights file or training checkpoint in, the
** model's weights alone out. The output holds every parameter and buffer
** (batch-norm running statistics: inference needs them) under the model's
** own names, and no optimizer state; its metadata identifies the model
** (format=lunac, model, spec_hash, compiler) and keeps what inference
** needs from the source: its preprocessing (train.normalize, train.resize)
** and class names (classes.<task>). Run state, the other training settings
** and data paths are left out. The file is what `init` writes plus that
** metadata, so every --weights reader of the runtime loads it, and so do
** PyTorch's safetensors readers.
*/
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rt.h"

/* Metadata of the source that an exported file keeps. */
static int kept_key(const char *key)
{
	return !strcmp(key, "train.normalize") || !strcmp(key, "train.resize") ||
	       !strncmp(key, "classes.", 8);
}

/* Whether a and b name the same existing file. */
static int same_file(const char *a, const char *b)
{
	struct stat sa, sb;
	return stat(a, &sa) == 0 && stat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
	       sa.st_ino == sb.st_ino;
}

/* Write the params and buffers of arena to path with the model's metadata
** and the kept metadata of src. */
static int write_weights(const RtModel *m, const char *arena, const StFile *src, const char *path,
                         int *nt, RtErr *e)
{
	const char **meta = malloc(sizeof *meta * 2 * (size_t)(4 + src->nmeta));
	StOut *t = calloc((size_t)m->nparams + 1, sizeof *t);
	int k = 0, rc = -1;
	*nt = 0;
	if (!meta || !t) {
		rt_errorf(e, "out of memory");
		goto out;
	}
	const char *own[8] = {"format", "lunac", "model", m->name, "spec_hash", m->spec_hash,
	                      "compiler", m->compiler};
	for (int i = 0; i < 8; i++)
		meta[k++] = own[i];
	for (int i = 0; i < src->nmeta; i++)
		if (kept_key(src->meta[2 * i])) {
			meta[k++] = src->meta[2 * i];
			meta[k++] = src->meta[2 * i + 1];
		}
	for (int i = 0; i < m->nparams; i++) {
		const RtTensor *p = &m->params[i];
		if (p->kind != RT_STATE)
			t[(*nt)++] = (StOut){p->name, ST_F32, p->ndim, p->shape,
			                     rt_tensor_addr(m, p, (char *)arena, 0)};
	}
	rc = st_write(path, meta, k / 2, t, *nt, e);
out:
	free(meta);
	free(t);
	return rc;
}

int rt_export(const RtModel *m, const char *weights, const char *path, int *ntensors, RtErr *e,
              RtErr *warn)
{
	if (same_file(weights, path))
		return rt_errorf(e, "%s: the output would replace the weights it is exported from; "
		                 "choose another -o", path);
	StFile f;
	if (st_open(&f, weights, e))
		return -1;
	char *arena = rt_arena_new(m, 1, e);
	int rc = !arena || rt_weights_load(m, arena, weights, e, warn) ||
	         write_weights(m, arena, &f, path, ntensors, e) ? -1 : 0;
	rt_arena_free(arena);
	st_close(&f);
	return rc;
}
