/*
** fuzz_idx.c -- the IDX reader (runtime/data_idx.c), plain and gzip.
**
** The input holds both files of a dataset: a flags byte, a 4-byte
** little-endian length L, then L bytes of the images file and the rest as
** the labels file (a short input: all of it is the images file, the labels
** file is empty). Flag bit 0 (bit 1) gzip-compresses the images (labels)
** file before it is written, so that mutated contents also go through the
** gzip reader; the seed corpus also holds files that are gzip streams
** themselves, whose mutations test the decompression errors.
**
** A dataset that reads has count images of rows x cols pixels in [0,1]
** and count labels, each below nclasses.
*/
#include <zlib.h>

#include "fuzz.h"
#include "data.h"

/* Write data[0..n) to the scratch file name, gzip-compressed when gz. */
static char *write_part(const char *name, const uint8_t *data, size_t n, int gz)
{
	if (!gz)
		return fuzz_file(name, data, n);
	char *path = fuzz_path(name);
	gzFile f = gzopen(path, "wb");
	if (!f || (n && gzwrite(f, data, (unsigned)n) != (int)n) || gzclose(f) != Z_OK)
		fuzz_fail("idx", "cannot write a gzip file");
	return path;
}

/* Check a dataset that data_idx_read accepted. */
static void check(const Dataset *ds)
{
	const DataImages *m = &ds->mod[0];
	const DataLabels *l = &ds->task[0];
	if (ds->count < 1 || m->rows != ds->count || l->rows != ds->count || m->c != 1 ||
	    m->h < 1 || m->w < 1 || !m->px || !l->y)
		fuzz_fail("idx", "a dataset read has an impossible shape");
	for (int64_t i = 0; i < ds->count * m->h * m->w; i++)
		if (!(m->px[i] >= 0 && m->px[i] <= 1))
			fuzz_fail("idx", "a pixel is outside [0,1]");
	for (int64_t i = 0; i < ds->count; i++)
		if (l->y[i] < 0 || l->y[i] >= l->nclasses)
			fuzz_fail("idx", "a label is outside [0,nclasses)");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int flags = size ? data[0] : 0;
	size_t len = size > 5 ? (size_t)data[1] | (size_t)data[2] << 8 | (size_t)data[3] << 16 |
	                        (size_t)data[4] << 24 : size;
	const uint8_t *body = size > 5 ? data + 5 : data;
	size_t n = size > 5 ? size - 5 : size;
	if (len > n)
		len = n;
	char *images = write_part("images.idx", body, len, flags & 1);
	char *labels = write_part("labels.idx", body + len, n - len, flags & 2);
	Dataset ds;
	RtErr e = {0};
	if (data_idx_read(images, labels, NULL, &ds, &e) == 0) {
		check(&ds);
		data_free(&ds);
	} else {
		fuzz_check_failure("idx", e.set, e.msg);
	}
	free(images);
	free(labels);
	return 0;
}
