/*
** data_idx.c -- IDX files (the MNIST family's format), gzip-compressed or
** plain: zlib's gzread reads both.
**
**   magic: 0x00 0x00 type ndim    (type 0x08 = unsigned byte)
**   ndim big-endian u32 sizes, then the data in C order.
**
** Images are 0x00000803 (u8 [count,rows,cols]), labels 0x00000801 (u8
** [count]). The file must hold exactly the bytes its header declares.
*/
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data.h"

#define IDX_IMAGES 0x00000803u
#define IDX_LABELS 0x00000801u
#define IDX_CHUNK (1u << 20)   /* the data buffer's first size; it doubles as data arrives */

/* An open IDX file. */
typedef struct Idx {
	const char *path;
	gzFile gz;
	uint32_t magic;
	uint32_t dim[3];
	size_t done, total;         /* idx_data: bytes read before this readn, of total */
} Idx;

/* Read n bytes from f into buf; -1 with a message when the file ends
** early (what names the data for the message) or cannot be decompressed. */
static int readn(Idx *f, void *buf, size_t n, const char *what, RtErr *e)
{
	unsigned char *p = buf;
	size_t got = 0;
	while (got < n) {
		size_t chunk = n - got > (1u << 30) ? (1u << 30) : n - got;
		int k = gzread(f->gz, p + got, (unsigned)chunk);
		if (k < 0) {
			int code;
			const char *msg = gzerror(f->gz, &code);
			if (code == Z_BUF_ERROR)   /* the compressed stream ends early */
				return rt_errorf(e, "%s: truncated: the file ends after %zu of the %zu bytes "
				                 "of %s", f->path, f->done + got, f->total ? f->total : n, what);
			return rt_errorf(e, "%s: cannot read %s: %s", f->path, what,
			                 code == Z_ERRNO ? strerror(errno) : msg);
		}
		if (k == 0)
			return rt_errorf(e, "%s: truncated: the file ends after %zu of the %zu bytes of %s",
			                 f->path, f->done + got, f->total ? f->total : n, what);
		got += (size_t)k;
	}
	return 0;
}

/* Big-endian u32 at p. */
static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Open path and read its header, which must carry magic `want`. */
static int idx_open(Idx *f, const char *path, uint32_t want, RtErr *e)
{
	memset(f, 0, sizeof *f);
	f->path = path;
	errno = 0;
	f->gz = gzopen(path, "rb");
	if (!f->gz)
		return rt_errorf(e, "%s: cannot open: %s", path, errno ? strerror(errno) : "out of memory");
	unsigned char h[16];
	int ndim = want == IDX_IMAGES ? 3 : 1;
	if (readn(f, h, 4, "the IDX header", e))
		return -1;
	f->magic = be32(h);
	if (f->magic != want) {
		const char *hint = f->magic == IDX_LABELS ? " (this is a label file: images come first)"
		                 : f->magic == IDX_IMAGES ? " (this is an image file: labels come second)"
		                 : "";
		return rt_errorf(e, "%s: not an IDX %s file: magic 0x%08x, expected 0x%08x%s", path,
		                 want == IDX_IMAGES ? "image" : "label", f->magic, want, hint);
	}
	if (readn(f, h + 4, 4 * (size_t)ndim, "the IDX header", e))
		return -1;
	for (int i = 0; i < ndim; i++)
		f->dim[i] = be32(h + 4 + 4 * i);
	return 0;
}

/* Read the whole data region (n bytes) into a new buffer, and check that
** nothing follows it. The buffer grows as the data arrives, so a header
** that declares more data than the file holds ends in "truncated", never
** in an allocation of the declared size. */
static unsigned char *idx_data(Idx *f, size_t n, const char *what, RtErr *e)
{
	size_t cap = n < IDX_CHUNK ? n : IDX_CHUNK;
	unsigned char *buf = malloc(cap ? cap : 1), extra;
	f->total = n;
	for (f->done = 0; buf && f->done < n; f->done = cap) {
		if (f->done == cap) {
			cap = cap > n / 2 ? n : 2 * cap;
			unsigned char *p = realloc(buf, cap);
			if (!p) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = p;
		}
		if (readn(f, buf + f->done, cap - f->done, what, e)) {
			free(buf);
			return NULL;
		}
	}
	if (!buf) {
		rt_errorf(e, "%s: out of memory for %zu bytes of %s (a corrupt header?)", f->path, n, what);
		return NULL;
	}
	if (gzread(f->gz, &extra, 1) > 0) {
		rt_errorf(e, "%s: the file has bytes after the %s its header declares", f->path, what);
		free(buf);
		return NULL;
	}
	return buf;
}

/* Read the images of path into ds (count, shape, images). */
static int read_images(const char *path, Dataset *ds, RtErr *e)
{
	DataImages *m = &ds->mod[0];
	Idx f;
	int rc = idx_open(&f, path, IDX_IMAGES, e);
	size_t n = 0;
	if (!rc && (!f.dim[0] || !f.dim[1] || !f.dim[2]))
		rc = rt_errorf(e, "%s: the IDX header declares %u images of %ux%u: no data", path,
		               f.dim[0], f.dim[1], f.dim[2]);
	if (!rc && (__builtin_mul_overflow((size_t)f.dim[0], (size_t)f.dim[1], &n) ||
	            __builtin_mul_overflow(n, (size_t)f.dim[2], &n) || n > SIZE_MAX / sizeof(float)))
		rc = rt_errorf(e, "%s: the IDX header's sizes overflow", path);
	char what[96];
	snprintf(what, sizeof what, "%u images of %ux%u", f.dim[0], f.dim[1], f.dim[2]);
	unsigned char *u8 = rc ? NULL : idx_data(&f, n, what, e);
	if (u8) {
		m->px = malloc(n * sizeof(float) + (n == 0));
		if (!m->px)
			rc = rt_errorf(e, "%s: out of memory for %zu floats", path, n);
		for (size_t i = 0; !rc && i < n; i++)
			m->px[i] = (float)u8[i] / 255.0f;
		ds->count = m->rows = f.dim[0];
		m->c = 1, m->h = f.dim[1], m->w = f.dim[2];
	} else {
		rc = -1;
	}
	free(u8);
	if (f.gz)
		gzclose(f.gz);
	return rc;
}

/* Read the labels of path into ds, which already holds its images. */
static int read_labels(const char *path, Dataset *ds, RtErr *e)
{
	DataLabels *l = &ds->task[0];
	Idx f;
	int rc = idx_open(&f, path, IDX_LABELS, e);
	if (!rc && f.dim[0] != (uint64_t)ds->count)
		rc = rt_errorf(e, "%s: %u labels for the %lld images of %s", path, f.dim[0],
		               (long long)ds->count, ds->name);
	char what[64];
	snprintf(what, sizeof what, "%u labels", f.dim[0]);
	unsigned char *u8 = rc ? NULL : idx_data(&f, f.dim[0], what, e);
	if (u8) {
		l->y = malloc(sizeof(int32_t) * (size_t)ds->count);
		l->rows = ds->count;
		if (!l->y)
			rc = rt_errorf(e, "%s: out of memory", path);
		for (int64_t i = 0; !rc && i < ds->count; i++) {
			l->y[i] = u8[i];
			if (u8[i] >= l->nclasses)
				l->nclasses = u8[i] + 1;
		}
	} else {
		rc = -1;
	}
	free(u8);
	if (f.gz)
		gzclose(f.gz);
	return rc;
}

int data_idx_read(const char *images, const char *labels, const char *name,
                  Dataset *out, RtErr *e)
{
	memset(out, 0, sizeof *out);
	out->nmod = out->ntask = 1;
	out->name = strdup(name ? name : images);
	out->mod[0].name = strdup(name ? name : images);
	out->task[0].path = strdup(labels);
	if (!out->name || !out->mod[0].name || !out->task[0].path) {
		data_free(out);
		return rt_errorf(e, "%s: out of memory", images);
	}
	if (read_images(images, out, e) || read_labels(labels, out, e)) {
		data_free(out);
		return -1;
	}
	return 0;
}
