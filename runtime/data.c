/*
** data.c -- data spec strings (docs/data.md) and the checks a dataset must
** pass before training a model on it.
**
**   idx:IMAGES,LABELS          IDX files, gzip-compressed or plain
**   npy:IMAGES.npy,LABELS.npy  two .npy arrays
**   fashion-mnist:train|test   the Debian package dataset-fashion-mnist
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
	out->class_names = fashion_names;
	return 0;
}

int data_open(const char *spec, Dataset *out, RtErr *e)
{
	memset(out, 0, sizeof *out);
	const char *colon = strchr(spec, ':');
	size_t k = colon ? (size_t)(colon - spec) : 0;
	if (colon && k == 13 && !memcmp(spec, "fashion-mnist", k))
		return open_fashion(spec, colon + 1, out, e);
	int idx = colon && k == 3 && !memcmp(spec, "idx", 3);
	int npy = colon && k == 3 && !memcmp(spec, "npy", 3);
	if (!idx && !npy)
		return rt_errorf(e, "data spec '%s': unknown kind; use idx:IMAGES,LABELS, "
		                 "npy:IMAGES.npy,LABELS.npy, fashion-mnist:train or fashion-mnist:test",
		                 spec);
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
	free(ds->labels_path);
	free(ds->images);
	free(ds->labels);
	memset(ds, 0, sizeof *ds);
}

int data_check_labels(const Dataset *ds, int nclasses, RtErr *e)
{
	for (int64_t i = 0; i < ds->count; i++)
		if (ds->labels[i] < 0 || ds->labels[i] >= nclasses)
			return rt_errorf(e, "%s: label %d at index %lld is out of range for %d classes",
			                 ds->labels_path, ds->labels[i], (long long)i, nclasses);
	return 0;
}

int data_check_input(const Dataset *ds, const RtTensor *in, RtErr *e)
{
	char want[256], have[256];
	int64_t chw[3] = {ds->c, ds->h, ds->w};
	rt_shape_str(have, sizeof have, 3, chw);
	if (in->dtype != RT_F32 || in->ndim != 4 || in->shape[0] != -1)
		return rt_errorf(e, "%s: images are %s, the model's input \"%s\" is %s %s, not "
		                 "images [N,C,H,W] f32", ds->name, have, in->name,
		                 rt_shape_str(want, sizeof want, in->ndim, in->shape),
		                 rt_dtype_name(in->dtype));
	if (in->shape[1] == ds->c && in->shape[2] == ds->h && in->shape[3] == ds->w)
		return 0;
	rt_shape_str(want, sizeof want, 3, in->shape + 1);
	int hwc = ds->w == in->shape[1] && ds->c == in->shape[2] && ds->h == in->shape[3] &&
	          ds->c != ds->w;
	return rt_errorf(e, "%s: images are %s, the model's input \"%s\" is %s%s", ds->name, have,
	                 in->name, want,
	                 hwc ? " (channels-last data? save the images as [count,C,H,W])" : "");
}
