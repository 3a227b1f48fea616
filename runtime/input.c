/*
** input.c -- one model input read from a file for `predict` and `mc`: a
** .npy array as it is, or an image preprocessed exactly as training
** preprocesses it (decoded, resized to the input's [C,H,W], scaled to
** [0,1], normalised); and the preprocessing a checkpoint records.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"
#include "image.h"

/* Whether path starts with the .npy magic; -1 if it cannot be read. */
static int is_npy(const char *path, RtErr *e)
{
	int fd = rt_open_read(path, e);
	if (fd < 0)
		return -1;
	char m[6];
	size_t have = 0;
	while (have < sizeof m) {   /* a read may return less than asked */
		ssize_t k = read(fd, m + have, sizeof m - have);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			int err = errno;
			close(fd);
			return rt_errorf(e, "%s: read failed: %s", path, strerror(err));
		}
		if (k == 0)
			break;
		have += (size_t)k;
	}
	close(fd);
	return have == sizeof m && !memcmp(m, "\x93NUMPY", 6);
}

int rt_input_read(const char *path, const RtTensor *t, const DataNorm *norm, RtArray *a,
                  RtErr *e)
{
	memset(a, 0, sizeof *a);
	int npy = is_npy(path, e);
	if (npy < 0)
		return -1;
	if (npy)
		return rt_npy_read(path, t->dtype, a, e);
	if (t->dtype != RT_F32 || t->ndim != 4 || t->shape[0] != -1) {
		char s[RT_SHAPE_STRLEN];
		return rt_errorf(e, "%s: an image, but the input \"%s\" %s is not an image input "
		                 "[N,C,H,W] (give a .npy file)", path, t->name,
		                 rt_shape_str(s, sizeof s, t->ndim, t->shape));
	}
	int64_t c = t->shape[1], h = t->shape[2], w = t->shape[3];
	if (norm && data_norm_check(norm, c, t->name, e))
		return -1;
	a->dtype = RT_F32;
	a->ndim = 4;
	a->shape[0] = 1, a->shape[1] = c, a->shape[2] = h, a->shape[3] = w;
	if (!(a->data = malloc(sizeof(float) * (size_t)(c * h * w))))
		return rt_errorf(e, "%s: out of memory", path);
	if (img_load(path, (int)c, (int)h, (int)w, a->data, e)) {
		rt_array_free(a);
		return -1;
	}
	data_norm_apply(norm, a->data, c, h, w);
	return 0;
}

int rt_weights_preproc(const char *path, const RtModel *m, DataNorm *norm, int *found,
                       char **classes, RtErr *e)
{
	StFile f;
	if (st_open(&f, path, e))
		return -1;
	int rc = 0;
	const char *v = st_meta(&f, "train.normalize");
	if (norm) {
		memset(norm, 0, sizeof *norm);
		*found = v != NULL;
		if (v)
			rc = data_norm_parse(v, "normalize (from the checkpoint)", norm, e);
	}
	for (int t = 0; classes && !rc && t < m->ntasks; t++) {
		size_t n = strlen(m->tasks[t].name) + sizeof "classes.";
		char *key = malloc(n);
		if (key)
			snprintf(key, n, "classes.%s", m->tasks[t].name);
		const char *names = key ? st_meta(&f, key) : NULL;
		classes[t] = NULL;
		if (!key || (names && !(classes[t] = strdup(names))))
			rc = rt_errorf(e, "out of memory");
		free(key);
	}
	for (int t = 0; classes && rc && t < m->ntasks; t++) {
		free(classes[t]);   /* nothing half-filled on failure */
		classes[t] = NULL;
	}
	st_close(&f);
	return rc;
}
