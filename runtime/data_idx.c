/*
** data_idx.c -- IDX files (the MNIST family's format), gzip-compressed or
** plain (a file starting with the gzip magic 1f 8b is gzip):
**
**   magic: 0x00 0x00 type ndim    (type 0x08 = unsigned byte)
**   ndim big-endian u32 sizes, then the data in C order.
**
** Images are 0x00000803 (u8 [count,rows,cols]), labels 0x00000801 (u8
** [count]). The file must hold exactly the bytes its header declares.
** A gzip file is inflated here with zlib's inflate, not gzread, so that
** nothing is taken on trust: every member must end with its trailer and
** the trailer's CRC-32 and length must match (a member cut short, or with
** a wrong CRC or length, is an error naming the byte offset); members
** following each other are one stream, as gzip defines; anything after
** the last member that is not another member is an error, not ignored.
*/
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "data.h"

#define IDX_IMAGES 0x00000803u
#define IDX_LABELS 0x00000801u
#define IDX_CHUNK (1u << 16)       /* compressed bytes read at a time */
#define IDX_DATA_FIRST (1u << 20)  /* the data buffer's first size; it doubles as data arrives */

/* An open IDX file: plain, or a gzip stream being inflated. */
typedef struct Idx {
	const char *path;
	FILE *f;
	int gz;                     /* 2: gzip, inflate set up; 0: plain */
	int member_end;             /* the last member ended (no partial one open) */
	z_stream z;
	unsigned char in[IDX_CHUNK];
	uint64_t consumed;          /* compressed bytes handed to inflate before in[] */
	uint32_t magic;
	uint32_t dim[3];
	size_t done, total;         /* idx_data: bytes read before this readn, of total */
} Idx;

/* Refill f->in when it is empty; 0 at the end of the file (nothing read). */
static int refill(Idx *f, RtErr *e)
{
	if (f->z.avail_in)
		return 1;
	f->consumed += (uint64_t)(f->z.next_in - f->in);
	size_t k = fread(f->in, 1, sizeof f->in, f->f);
	if (k == 0 && ferror(f->f))
		return rt_errorf(e, "%s: cannot read: %s", f->path, strerror(errno));
	f->z.next_in = f->in;
	f->z.avail_in = (uInt)k;
	return k > 0;
}

/* Make at least two bytes of input available when the file has them:
** move what is left to the front of f->in and read behind it. */
static int want2(Idx *f, RtErr *e)
{
	if (f->z.avail_in >= 2)
		return 0;
	f->consumed += (uint64_t)(f->z.next_in - f->in);
	memmove(f->in, f->z.next_in, f->z.avail_in);
	f->z.next_in = f->in;
	size_t k = fread(f->in + f->z.avail_in, 1, sizeof f->in - f->z.avail_in, f->f);
	if (k == 0 && ferror(f->f))
		return rt_errorf(e, "%s: cannot read: %s", f->path, strerror(errno));
	f->z.avail_in += (uInt)k;
	return 0;
}

/* The compressed byte offset inflate has reached. */
static uint64_t zpos(const Idx *f)
{
	return f->consumed + (uint64_t)(f->z.next_in - f->in);
}

/* Inflate up to n bytes into buf; *got says how many. At the end of a
** member, another member may follow (read on); anything else after it is
** an error. *got < n with 0 returned: the stream ended properly. */
static int inflate_some(Idx *f, unsigned char *buf, size_t n, size_t *got, RtErr *e)
{
	*got = 0;
	while (*got < n) {
		int r = refill(f, e);
		if (r < 0)
			return -1;
		if (r == 0) {
			if (f->member_end)
				return 0;
			return rt_errorf(e, "%s: truncated: the gzip stream ends at byte %llu without its "
			                 "end (the file was cut short)", f->path,
			                 (unsigned long long)zpos(f));
		}
		if (f->member_end) {   /* something follows a complete member */
			if (want2(f, e) < 0)
				return -1;
			if (f->z.avail_in < 2 || f->z.next_in[0] != 0x1f || f->z.next_in[1] != 0x8b)
				return rt_errorf(e, "%s: byte %llu: bytes after the gzip stream that are not "
				                 "another gzip member", f->path, (unsigned long long)zpos(f));
			if (inflateReset(&f->z) != Z_OK)
				return rt_errorf(e, "%s: cannot restart the gzip decoder", f->path);
			f->member_end = 0;
		}
		f->z.next_out = buf + *got;
		f->z.avail_out = (uInt)(n - *got > (1u << 30) ? (1u << 30) : n - *got);
		uInt before = f->z.avail_out;
		int zr = inflate(&f->z, Z_NO_FLUSH);
		*got += before - f->z.avail_out;
		if (zr == Z_STREAM_END)
			f->member_end = 1;
		else if (zr == Z_MEM_ERROR)
			return rt_errorf(e, "%s: out of memory decompressing", f->path);
		else if (zr != Z_OK && zr != Z_BUF_ERROR)
			return rt_errorf(e, "%s: byte %llu: corrupt gzip data: %s", f->path,
			                 (unsigned long long)zpos(f), f->z.msg ? f->z.msg : "bad stream");
	}
	return 0;
}

/* Read up to n bytes of (decompressed) data into buf; *got how many. */
static int read_some(Idx *f, void *buf, size_t n, size_t *got, RtErr *e)
{
	if (f->gz)
		return inflate_some(f, buf, n, got, e);
	*got = fread(buf, 1, n, f->f);
	if (*got < n && ferror(f->f))
		return rt_errorf(e, "%s: cannot read: %s", f->path, strerror(errno));
	return 0;
}

/* Read n bytes from f into buf; -1 with a message when the file ends
** early (what names the data for the message) or cannot be decompressed. */
static int readn(Idx *f, void *buf, size_t n, const char *what, RtErr *e)
{
	size_t got;
	if (read_some(f, buf, n, &got, e))
		return -1;
	if (got < n)
		return rt_errorf(e, "%s: truncated: the file ends after %zu of the %zu bytes of %s",
		                 f->path, f->done + got, f->total ? f->total : n, what);
	return 0;
}

/* 0 when f has nothing after what was read (a gzip file: its stream ends
** properly there); else -1 naming what. */
static int at_end(Idx *f, const char *what, RtErr *e)
{
	unsigned char extra;
	size_t got;
	if (read_some(f, &extra, 1, &got, e))
		return -1;
	if (got)
		return rt_errorf(e, "%s: the file has bytes after the %s its header declares", f->path,
		                 what);
	return 0;
}

/* Close f (safe on a zeroed Idx). */
static void idx_close(Idx *f)
{
	if (f->gz == 2)
		inflateEnd(&f->z);
	if (f->f)
		fclose(f->f);
	f->f = NULL;
	f->gz = 0;
}

/* Open path and look at its first bytes: gzip or plain. */
static int idx_start(Idx *f, const char *path, RtErr *e)
{
	memset(f, 0, sizeof *f);
	f->path = path;
	if (!(f->f = rt_fopen_read(path, e)))
		return -1;
	int a = fgetc(f->f), b = a == EOF ? EOF : fgetc(f->f);
	if (ferror(f->f))
		return rt_errorf(e, "%s: cannot read: %s", path, strerror(errno));
	if (a != 0x1f || b != 0x8b) {
		rewind(f->f);
		return 0;
	}
	f->in[0] = 0x1f, f->in[1] = 0x8b;
	f->z.next_in = f->in;
	f->z.avail_in = 2;
	if (inflateInit2(&f->z, 16 + MAX_WBITS) != Z_OK)
		return rt_errorf(e, "%s: out of memory starting the gzip decoder", path);
	f->gz = 2;
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
	if (idx_start(f, path, e))
		return -1;
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
	size_t cap = n < IDX_DATA_FIRST ? n : IDX_DATA_FIRST;
	unsigned char *buf = malloc(cap ? cap : 1);
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
	if (at_end(f, what, e)) {
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
	idx_close(&f);
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
	idx_close(&f);
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
