/*
** data_npy.c -- a dataset from two .npy arrays: images [count,C,H,W] or
** [count,H,W] (C = 1) and labels [count], or from the images alone. The
** arrays are read by npy.c's rt_npy_read; this file only looks at the images' dtype first, because
** u1 pixels are scaled by 1/255 while floats are taken as they are.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"

/* The dtype descr ("<f4", "|u1") of the .npy file at path. */
static int npy_descr(const char *path, char descr[16], RtErr *e)
{
	int fd = rt_open_read(path, e);
	if (fd < 0)
		return -1;
	unsigned char p[12];
	char *h = NULL;
	int rc = -1, fortran = 0, ndim = 0;
	int64_t shape[RT_MAXDIM];
	uint64_t hlen = 0, at = 10;
	RtErr sub = {0};
	if (rt_pread_full(fd, p, 10, 0, path, &sub) || memcmp(p, "\x93NUMPY", 6)) {
		rt_errorf(e, "%s: not a .npy file (no \\x93NUMPY magic)", path);
		goto out;
	}
	hlen = p[8] | (uint64_t)p[9] << 8;
	if (p[6] >= 2) {
		if (rt_pread_full(fd, p + 10, 2, 10, path, e))
			goto out;
		hlen |= (uint64_t)p[10] << 16 | (uint64_t)p[11] << 24;
		at = 12;
	}
	if (hlen > (1u << 20) || !(h = malloc(hlen + 1))) {
		rt_errorf(e, "%s: the .npy header length %llu is implausible", path,
		          (unsigned long long)hlen);
		goto out;
	}
	rc = rt_pread_full(fd, h, hlen, at, path, e);
	if (!rc)
		rc = rt_npy_parse_header(h, hlen, descr, &fortran, &ndim, shape, path, e);
out:
	free(h);
	close(fd);
	return rc;
}

/* Read the images of path into ds: count, shape and [0,1]-scaled floats. */
static int read_images(const char *path, Dataset *ds, RtErr *e)
{
	char descr[16] = "";
	if (npy_descr(path, descr, e))
		return -1;
	int u8 = !strcmp(descr + 1, "u1");
	if (!u8 && descr[1] != 'f')
		return rt_errorf(e, "%s: images of dtype '%s' are not supported: use uint8 (scaled "
		                 "by 1/255) or float32 (taken as is)", path, descr);
	RtArray a;
	if (rt_npy_read(path, RT_F32, &a, e))
		return -1;
	char sh[RT_SHAPE_STRLEN];
	int empty = 0;
	for (int i = 0; i < a.ndim; i++)
		empty |= a.shape[i] == 0;
	if ((a.ndim != 3 && a.ndim != 4) || empty) {
		rt_errorf(e, "%s: images are %s; expected [count,C,H,W] or [count,H,W], no size 0",
		          path, rt_shape_str(sh, sizeof sh, a.ndim, a.shape));
		rt_array_free(&a);
		return -1;
	}
	int k = a.ndim - 3;
	DataImages *m = &ds->mod[0];
	ds->count = m->rows = a.shape[0];
	m->c = k ? a.shape[1] : 1, m->h = a.shape[1 + k], m->w = a.shape[2 + k];
	m->px = a.data;
	if (u8)
		for (int64_t i = 0, n = ds->count * m->c * m->h * m->w; i < n; i++)
			m->px[i] /= 255.0f;
	return 0;
}

/* Read the labels of path into ds, which already holds its images. */
static int read_labels(const char *path, Dataset *ds, RtErr *e)
{
	RtArray a;
	char sh[RT_SHAPE_STRLEN];
	DataLabels *l = &ds->task[0];
	if (rt_npy_read(path, RT_I32, &a, e))
		return -1;
	l->y = a.data;
	l->rows = ds->count;
	if (a.ndim == 2 && a.shape[0] == ds->count && a.shape[1] > 1)
		return rt_errorf(e, "%s: labels are %s: one-hot? Save class indices [count] "
		                 "(y.argmax(1))", path, rt_shape_str(sh, sizeof sh, a.ndim, a.shape));
	if (a.ndim != 1 || a.shape[0] != ds->count)
		return rt_errorf(e, "%s: labels are %s, expected [%lld] (one per image of %s)", path,
		                 rt_shape_str(sh, sizeof sh, a.ndim, a.shape), (long long)ds->count,
		                 ds->name);
	for (int64_t i = 0; i < ds->count; i++) {
		if (l->y[i] < 0)
			return rt_errorf(e, "%s: label %d at index %lld is negative", path, l->y[i],
			                 (long long)i);
		if (l->y[i] >= l->nclasses)
			l->nclasses = l->y[i] + 1;
	}
	return 0;
}

int data_npy_read(const char *images, const char *labels, const char *name,
                  Dataset *out, RtErr *e)
{
	memset(out, 0, sizeof *out);
	out->nmod = 1;
	out->ntask = labels != NULL;
	out->name = strdup(name ? name : images);
	out->mod[0].name = strdup(name ? name : images);
	out->task[0].path = labels ? strdup(labels) : NULL;
	if (!out->name || !out->mod[0].name || (labels && !out->task[0].path)) {
		data_free(out);
		return rt_errorf(e, "%s: out of memory", images);
	}
	if (read_images(images, out, e) || (labels && read_labels(labels, out, e))) {
		data_free(out);
		return -1;
	}
	return 0;
}
