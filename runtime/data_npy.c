/*
** data_npy.c -- a dataset from two .npy arrays: images [count,C,H,W] or
** [count,H,W] (C = 1) and labels [count], or from the images alone. The
** images are read as every command reads .npy images (data_npy_images in
** input.c: u1 pixels scaled by 1/255, floats taken as they are), the labels
** by npy.c's rt_npy_read.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"

/* Read the images of path into ds: count, shape and [0,1]-scaled floats,
** as every command reads a .npy file (data_npy_images, input.c). */
static int read_images(const char *path, Dataset *ds, RtErr *e)
{
	RtArray a;
	if (data_npy_images(path, NULL, &a, e))
		return -1;
	DataImages *m = &ds->mod[0];
	ds->count = m->rows = a.shape[0];
	m->c = a.shape[1], m->h = a.shape[2], m->w = a.shape[3];
	m->px = a.data;
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
