/*
** data.c -- data spec strings (docs/data.md), freeing datasets and the
** checks a dataset must pass before a model uses it.
**
**   idx:IMAGES,LABELS          IDX files, gzip-compressed or plain
**   npy:IMAGES.npy,LABELS.npy  two .npy arrays
**   fashion-mnist:train|test   the Debian package dataset-fashion-mnist
**   folders:DIR[,SUB]          class folders of images (data_folders.c)
**   csv:META,IMGDIR,ID,LABEL[,EXT]  a metadata CSV (data_csv.c)
**   paired:FILE.csv[,k=v...]   one row per sample, a column per input/task
**
** Without labels (for predict --data):
**   npy:IMAGES.npy             one .npy array
**   images:DIR                 the images directly in DIR (data_folders.c)
*/
#include <stdlib.h>
#include <string.h>

#include "data.h"

/* Fashion-MNIST's classes, in label order. */
static const char *const fashion_names[10] = {
	"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
	"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
};

/* Split "A,B" (the text after the kind) into two new strings. */
static int two_paths(const char *spec, const char *rest, char **a, char **b, RtErr *e)
{
	const char *comma = strchr(rest, ',');
	if (!comma || strchr(comma + 1, ','))
		return rt_errorf(e, "data spec '%s': expected two paths IMAGES,LABELS separated by "
		                 "one comma", spec);
	if (comma == rest || !comma[1])
		return rt_errorf(e, "data spec '%s': a path is empty", spec);
	*a = strndup(rest, (size_t)(comma - rest));
	*b = strdup(comma + 1);
	if (!*a || !*b) {
		free(*a);
		free(*b);
		return rt_errorf(e, "data spec '%s': out of memory", spec);
	}
	return 0;
}

/* Open the Fashion-MNIST split `which` ("train" or "test"). */
static int open_fashion(const char *spec, const char *which, Dataset *out, RtErr *e)
{
	const char *stem = !strcmp(which, "train") ? "train" : !strcmp(which, "test") ? "t10k" : NULL;
	if (!stem)
		return rt_errorf(e, "data spec '%s': fashion-mnist has the splits 'train' and 'test'",
		                 spec);
	char img[512], lab[512];
	snprintf(img, sizeof img, "%s/%s-images-idx3-ubyte.gz", DATA_FASHION_MNIST_DIR, stem);
	snprintf(lab, sizeof lab, "%s/%s-labels-idx1-ubyte.gz", DATA_FASHION_MNIST_DIR, stem);
	RtErr sub = {0};
	if (data_idx_read(img, lab, spec, out, &sub))
		return rt_errorf(e, "%s: %s%s", spec, sub.msg,
		                 strstr(sub.msg, "cannot open") ? " (install the Debian package "
		                 "dataset-fashion-mnist: make deps)" : "");
	DataLabels *t = &out->task[0];
	if (t->nclasses <= 10) {
		t->nclasses = 10;
		if (!(t->names = data_names_dup(fashion_names, 10))) {
			data_free(out);
			return rt_errorf(e, "%s: out of memory", spec);
		}
	}
	return 0;
}

/* The kind of spec ("folders" of "folders:x") is kind. */
static int is_kind(const char *spec, const char *colon, const char *kind)
{
	size_t k = strlen(kind);
	return colon && (size_t)(colon - spec) == k && !memcmp(spec, kind, k);
}

/* The kinds that read image files need the target shape. */
static int need_shape(const char *spec, const DataOpts *o, RtErr *e)
{
	if (!o || o->c <= 0 || o->h <= 0 || o->w <= 0)
		return rt_errorf(e, "data spec '%s': internal error: no image size to resize to", spec);
	return 0;
}

int data_open(const char *spec, const DataOpts *o, Dataset *out, RtErr *e)
{
	memset(out, 0, sizeof *out);
	const char *colon = strchr(spec, ':');
	if (is_kind(spec, colon, "fashion-mnist"))
		return open_fashion(spec, colon + 1, out, e);
	if (is_kind(spec, colon, "folders"))
		return need_shape(spec, o, e) ? -1 : data_folders_read(spec, colon + 1, o, out, e);
	if (is_kind(spec, colon, "images"))
		return need_shape(spec, o, e) ? -1 : data_images_read(spec, colon + 1, o, out, e);
	if (is_kind(spec, colon, "csv"))
		return need_shape(spec, o, e) ? -1 : data_csv_read(spec, colon + 1, o, out, e);
	if (is_kind(spec, colon, "paired")) {
		DataOpts none = {0};
		return data_paired_read(spec, colon + 1, o ? o : &none, out, e);
	}
	int idx = is_kind(spec, colon, "idx"), npy = is_kind(spec, colon, "npy");
	if (!idx && !npy)
		return rt_errorf(e, "data spec '%s': unknown kind; use idx:IMAGES,LABELS, "
		                 "npy:IMAGES.npy,LABELS.npy, fashion-mnist:train|test, folders:DIR, "
		                 "csv:META.csv,IMAGEDIR,ID_COLUMN,LABEL_COLUMN[,EXT] or paired:FILE.csv "
		                 "(without labels, for predict: npy:IMAGES.npy or images:DIR)", spec);
	if (npy && *(colon + 1) && !strchr(colon + 1, ','))   /* images without labels */
		return data_npy_read(colon + 1, NULL, spec, out, e);
	char *a = NULL, *b = NULL;
	if (two_paths(spec, colon + 1, &a, &b, e))
		return -1;
	int rc = idx ? data_idx_read(a, b, NULL, out, e) : data_npy_read(a, b, NULL, out, e);
	free(a);
	free(b);
	return rc;
}

void data_free(Dataset *ds)
{
	free(ds->name);
	free(ds->note);
	for (int k = 0; k < DATA_MAXMOD; k++) {
		free(ds->mod[k].name);
		free(ds->mod[k].px);
		free(ds->mod[k].map);
		for (int64_t i = 0; ds->mod[k].ids && i < ds->mod[k].rows; i++)
			free(ds->mod[k].ids[i]);
		free(ds->mod[k].ids);
	}
	for (int t = 0; t < DATA_MAXTASK; t++) {
		DataLabels *l = &ds->task[t];
		free(l->name);
		free(l->path);
		free(l->y);
		free(l->map);
		data_names_free(l->names, l->nclasses);
	}
	memset(ds, 0, sizeof *ds);
}

const float *data_image(const Dataset *ds, int k, int64_t s)
{
	const DataImages *m = &ds->mod[k];
	int64_t row = m->map ? m->map[s] : s;
	return m->px + (size_t)row * (size_t)(m->c * m->h * m->w);
}

int32_t data_label(const Dataset *ds, int t, int64_t s)
{
	const DataLabels *l = &ds->task[t];
	return l->y[l->map ? l->map[s] : s];
}

int data_check_labels(const Dataset *ds, int t, int nclasses, RtErr *e)
{
	const DataLabels *l = &ds->task[t];
	if (l->names && l->nclasses > nclasses)
		return rt_errorf(e, "%s has %d classes (%s ... %s), more than the %d of the model's task",
		                 l->path, l->nclasses, l->names[0], l->names[l->nclasses - 1], nclasses);
	int32_t top = 0;
	for (int64_t i = 0; i < l->rows; i++)
		top = l->y[i] > top ? l->y[i] : top;
	for (int64_t i = 0; i < l->rows; i++)
		if (l->y[i] < 0 || l->y[i] >= nclasses)
			return rt_errorf(e, "%s: label %d at index %lld is out of range for %d classes; the "
			                 "labels go up to %d, so the data has %lld classes", l->path, l->y[i],
			                 (long long)i, nclasses, top, (long long)top + 1);
	return 0;
}

int data_check_input(const Dataset *ds, int k, const RtTensor *in, RtErr *e)
{
	const DataImages *m = &ds->mod[k];
	char want[RT_SHAPE_STRLEN], have[RT_SHAPE_STRLEN];
	int64_t chw[3] = {m->c, m->h, m->w};
	rt_shape_str(have, sizeof have, 3, chw);
	if (in->dtype != RT_F32 || in->ndim != 4 || in->shape[0] != -1)
		return rt_errorf(e, "%s: images are %s, the model's input \"%s\" is %s %s, not "
		                 "images [N,C,H,W] f32", m->name, have, in->name,
		                 rt_shape_str(want, sizeof want, in->ndim, in->shape),
		                 rt_dtype_name(in->dtype));
	if (in->shape[1] == m->c && in->shape[2] == m->h && in->shape[3] == m->w)
		return 0;
	rt_shape_str(want, sizeof want, 3, in->shape + 1);
	int hwc = m->w == in->shape[1] && m->c == in->shape[2] && m->h == in->shape[3] &&
	          m->c != m->w;
	return rt_errorf(e, "%s: images are %s, the model's input \"%s\" is %s%s", m->name, have,
	                 in->name, want,
	                 hwc ? " (channels-last data? save the images as [count,C,H,W])" : "");
}
