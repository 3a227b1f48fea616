/*
** input.c -- the one way a file reaches a model, in every command:
**
**   .npy images     data_npy_images: [N,C,H,W] or [N,H,W] (C = 1); uint8
**                   divided by 255, floats taken as they are, other dtypes
**                   refused; never resized (the shape must be the input's)
**   image files     data_image_load: decoded by content (PNG, JPEG, BMP),
**                   converted to the input's channels and resized to its
**                   H x W by the run's filter (--resize), scaled to [0, 1]
**   then            data_norm_apply: the run's normalisation
**
** `train` and `eval` read datasets through these (npy: through
** data_npy_images, folders:, csv: and paired: through data_image_load via
** data_load_images) and normalise in the loader; `predict` and `mc` read
** each --input file with rt_input_read, which is data_file_read (the two
** above, chosen by the file's magic) and then data_norm_apply. IDX files
** are uint8 and scaled the same way (data_idx.c). So the same file gives the
** same floats in every command. What was resized or converted is counted
** (DataSeen) and said once per run (data_seen_note).
**
** Also the preprocessing a checkpoint records (rt_prep_for).
*/
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"

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

int data_npy_images(const char *path, const int64_t *chw, RtArray *a, RtErr *e)
{
	memset(a, 0, sizeof *a);
	char descr[16] = "", sh[RT_SHAPE_STRLEN];
	int fortran, ndim, npy = is_npy(path, e);
	int64_t shape[RT_MAXDIM];
	if (npy < 0)
		return -1;
	if (!npy)
		return rt_errorf(e, "%s: not a .npy file (no \\x93NUMPY magic)", path);
	if (rt_npy_header(path, descr, &fortran, &ndim, shape, e))
		return -1;
	int u8 = !strcmp(descr + 1, "u1");
	if (!u8 && descr[1] != 'f')
		return rt_errorf(e, "%s: images of dtype '%s' are not supported: use uint8 (scaled "
		                 "by 1/255) or float32 (taken as is)", path, descr);
	if (rt_npy_read(path, RT_F32, a, e))
		return -1;
	int empty = 0;
	for (int i = 0; i < a->ndim; i++)
		empty |= a->shape[i] == 0;
	if ((a->ndim != 3 && a->ndim != 4) || empty) {
		rt_errorf(e, "%s: images are %s; expected [count,C,H,W] or [count,H,W]%s, no size 0",
		          path, rt_shape_str(sh, sizeof sh, a->ndim, a->shape),
		          chw ? " (or one image [C,H,W])" : "");
		rt_array_free(a);
		return -1;
	}
	int64_t *s = a->shape;
	int one = chw && s[0] == chw[0] && s[1] == chw[1] && s[2] == chw[2];
	int grey = !chw || (chw[0] == 1 && s[1] == chw[1] && s[2] == chw[2]);
	if (a->ndim == 3 && (one || grey)) {   /* one image [C,H,W], or grey images [count,H,W] */
		int64_t s0 = s[0];
		a->ndim = 4;
		s[3] = s[2], s[2] = s[1];
		s[0] = one ? 1 : s0, s[1] = one ? s0 : 1;
	}
	float *x = a->data;
	int64_t n = s[0] * s[1] * s[2] * (a->ndim == 4 ? s[3] : 1);
	for (int64_t i = 0; u8 && i < n; i++)
		x[i] /= 255.0f;
	return 0;
}

void data_seen_add(DataSeen *s, const ImgSrc *src, int64_t c, int64_t h, int64_t w)
{
	s->total++;
	int resized = src->w != w || src->h != h, converted = src->c != c;
	if (!resized && !converted)
		return;
	if (s->n == 0 || src->w < s->wmin)
		s->wmin = src->w;
	if (s->n == 0 || src->w > s->wmax)
		s->wmax = src->w;
	if (s->n == 0 || src->h < s->hmin)
		s->hmin = src->h;
	if (s->n == 0 || src->h > s->hmax)
		s->hmax = src->h;
	s->n++;
	s->resized += resized;
	s->chans |= 1 << src->c;
}

int data_image_load(const char *path, int64_t c, int64_t h, int64_t w, ImgFilter f, float *dst,
                    ImgSrc *src, RtErr *e)
{
	ImgSrc s = {0, 0, 0};
	int rc = img_load_as(path, (int)c, (int)h, (int)w, f, dst, &s, e);
	if (src)
		*src = s;
	return rc;
}

/* "grey", "RGB", or both, for the channel bits of a DataSeen. */
static const char *chan_names(int bits)
{
	return bits == (1 << 1) ? "grey" : bits == (1 << 3) ? "RGB" : "grey and RGB";
}

char *data_seen_note(const char *label, const DataSeen *s, int64_t c, int64_t h, int64_t w,
                     ImgFilter f)
{
	if (s->n == 0)
		return NULL;
	char count[64] = "", from[64], to[64];
	if (s->total > 1 && s->n < s->total)
		snprintf(count, sizeof count, "%lld of %lld images", (long long)s->n, (long long)s->total);
	else if (s->total > 1)
		snprintf(count, sizeof count, "%lld images", (long long)s->n);
	else
		snprintf(count, sizeof count, "image");
	if (s->wmin == s->wmax && s->hmin == s->hmax)
		snprintf(from, sizeof from, "%dx%d", s->wmin, s->hmin);
	else
		snprintf(from, sizeof from, "from %dx%d to %dx%d", s->wmin, s->hmin, s->wmax, s->hmax);
	int conv = s->chans != 1 << c;
	const char *out = c == 1 ? "grey" : "RGB";
	if (s->resized)
		snprintf(to, sizeof to, "resized to %lldx%lld%s%s (%s)", (long long)w, (long long)h,
		         conv ? " " : "", conv ? out : "", img_filter_name(f));
	else
		snprintf(to, sizeof to, "converted to %s", out);
	size_t len = strlen(label) + strlen(count) + strlen(from) + strlen(to) + 32;
	char *t = malloc(len);
	if (t)
		snprintf(t, len, "%s: %s %s %s %s", label, count, from, chan_names(s->chans), to);
	return t;
}

int data_note_add(char **note, const char *text)
{
	if (!text)
		return 0;
	size_t old = *note ? strlen(*note) + 2 : 0;
	char *p = realloc(*note, old + strlen(text) + 1);
	if (!p)
		return -1;
	if (old)
		memcpy(p + old - 2, "; ", 2);
	strcpy(p + old, text);
	*note = p;
	return 0;
}

int data_file_read(const char *path, int64_t c, int64_t h, int64_t w, ImgFilter f, int one_ok,
                   RtArray *a, DataSeen *seen, RtErr *e)
{
	memset(a, 0, sizeof *a);
	int npy = is_npy(path, e);
	if (npy < 0)
		return -1;
	int64_t chw[3] = {c, h, w};
	if (npy)
		return data_npy_images(path, one_ok ? chw : NULL, a, e);
	a->dtype = RT_F32;
	a->ndim = 4;
	a->shape[0] = 1, a->shape[1] = c, a->shape[2] = h, a->shape[3] = w;
	if (!(a->data = malloc(sizeof(float) * (size_t)(c * h * w))))
		return rt_errorf(e, "%s: out of memory", path);
	ImgSrc src;
	if (data_image_load(path, c, h, w, f, a->data, &src, e)) {
		rt_array_free(a);
		return -1;
	}
	if (seen)
		data_seen_add(seen, &src, c, h, w);
	return 0;
}

/* Whether t is an image input [N,C,H,W] f32. */
static int image_input(const RtTensor *t)
{
	return t->dtype == RT_F32 && t->ndim == 4 && t->shape[0] == -1;
}

int rt_input_read(const char *path, const RtTensor *t, const DataPrep *p, RtArray *a, RtErr *e)
{
	memset(a, 0, sizeof *a);
	if (!image_input(t)) {   /* no dataset feeds such an input: the file as it is */
		int npy = is_npy(path, e);
		if (npy < 0)
			return -1;
		char s[RT_SHAPE_STRLEN];
		if (!npy)
			return rt_errorf(e, "%s: an image, but the input \"%s\" %s is not an image input "
			                 "[N,C,H,W] (give a .npy file)", path, t->name,
			                 rt_shape_str(s, sizeof s, t->ndim, t->shape));
		return rt_npy_read(path, t->dtype, a, e);
	}
	int64_t c = t->shape[1], h = t->shape[2], w = t->shape[3];
	const DataNorm *norm = p ? &p->norm : NULL;
	if (norm && data_norm_check(norm, c, t->name, e))
		return -1;
	DataSeen seen = {0};
	ImgFilter f = p ? p->resize : IMG_AREA;
	if (data_file_read(path, c, h, w, f, 1, a, &seen, e))
		return -1;
	if (a->shape[1] == c && a->shape[2] == h && a->shape[3] == w)
		for (int64_t i = 0; i < a->shape[0]; i++)
			data_norm_apply(norm, (float *)a->data + i * c * h * w, c, h, w);
	size_t len = strlen(t->name) + strlen(path) + 4;
	char *label = malloc(len), *note = NULL;
	if (label)
		snprintf(label, len, "%s (%s)", t->name, path);
	if (!label || (seen.n && !(note = data_seen_note(label, &seen, c, h, w, f))) ||
	    (p && p->note && data_note_add(p->note, note))) {
		free(label);
		free(note);
		rt_array_free(a);
		return rt_errorf(e, "out of memory");
	}
	free(label);
	free(note);
	return 0;
}

/* The value of metadata key in f, or NULL. */
static const char *meta(const StFile *f, const char *key)
{
	return f ? st_meta(f, key) : NULL;
}

/* Each task's class names from f's "classes.<task>" into classes[t] (owned). */
static int read_classes(const StFile *f, const RtModel *m, char **classes, RtErr *e)
{
	int rc = 0;
	for (int t = 0; !rc && t < m->ntasks; t++) {
		size_t n = strlen(m->tasks[t].name) + sizeof "classes.";
		char *key = malloc(n);
		if (key)
			snprintf(key, n, "classes.%s", m->tasks[t].name);
		const char *names = key ? meta(f, key) : NULL;
		classes[t] = NULL;
		if (!key || (names && !(classes[t] = strdup(names))))
			rc = rt_errorf(e, "out of memory");
		free(key);
	}
	for (int t = 0; rc && t < m->ntasks; t++) {
		free(classes[t]);   /* nothing half-filled on failure */
		classes[t] = NULL;
	}
	return rc;
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
	if (!rc && classes)
		rc = read_classes(&f, m, classes, e);
	st_close(&f);
	return rc;
}

int rt_prep_for(const char *weights, const RtModel *m, const char *norm_flag,
                const char *resize_flag, DataPrep *p, char **classes, RtErr *e, RtErr *warn)
{
	char **note = p->note;
	memset(p, 0, sizeof *p);
	p->note = note;
	StFile f;
	if (st_open(&f, weights, e))
		return -1;
	rt_weights_origin(m, &f, warn);
	const char *nv = meta(&f, "train.normalize"), *rv = meta(&f, "train.resize");
	ImgFilter stored = IMG_AREA;
	int rc = 0;
	if (norm_flag || nv)
		rc = data_norm_parse(norm_flag ? norm_flag : nv, norm_flag ? "normalize"
		                     : "normalize (from the checkpoint)", &p->norm, e);
	if (!rc && rv && *rv && img_filter_parse(rv, &stored))
		rc = rt_errorf(e, "%s: metadata \"train.resize\" is \"%s\", not area or bilinear",
		               weights, rv);
	p->resize = stored;
	if (!rc && resize_flag && img_filter_parse(resize_flag, &p->resize))
		rc = rt_errorf(e, "--resize %s: use area or bilinear", resize_flag);
	if (!rc && resize_flag && rv && p->resize != stored && note) {
		char text[512];
		snprintf(text, sizeof text, "--resize %s differs from the %s filter the weights were "
		         "trained with (train.resize): images are resized with %s",
		         img_filter_name(p->resize), img_filter_name(stored), img_filter_name(p->resize));
		if (data_note_add(note, text))
			rc = rt_errorf(e, "out of memory");
	}
	if (!rc && classes)
		rc = read_classes(&f, m, classes, e);
	st_close(&f);
	return rc;
}
