/*
** test_data.c -- datasets (IDX plain and gzipped, .npy), data specs, the
** train/validation split, the epoch shuffle and the batch loader. The test
** writes its own small files into a temporary directory.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE   /* nftw, mkdtemp even when CFLAGS are overridden (check-asan) */
#endif
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "data.h"
#include "t.h"

static char dir[256];

/* A path in the test's directory (one of 4 rotating buffers). */
static const char *P(const char *name)
{
	static char buf[4][512];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

/* Write bytes to path, gzip-compressed when gz. */
static void put(const char *path, const void *p, size_t n, int gz)
{
	if (gz) {
		gzFile f = gzopen(path, "wb");
		gzwrite(f, p, (unsigned)n);
		gzclose(f);
	} else {
		FILE *f = fopen(path, "wb");
		fwrite(p, 1, n, f);
		fclose(f);
	}
}

/* Write an IDX file: magic, dims (big-endian), then data; the last `cut`
** bytes of data are left out. */
static void put_idx(const char *path, uint32_t magic, const uint32_t *dims, int nd,
                    const unsigned char *data, size_t n, size_t cut, int gz)
{
	unsigned char buf[4096];
	size_t k = 0;
	uint32_t words[4] = {magic, dims[0], nd > 1 ? dims[1] : 0, nd > 2 ? dims[2] : 0};
	for (int i = 0; i <= nd; i++)
		for (int b = 3; b >= 0; b--)
			buf[k++] = (unsigned char)(words[i] >> (8 * b));
	memcpy(buf + k, data, n - cut);
	put(path, buf, k + n - cut, gz);
}

/* Write a .npy file (format 1.0) with the given descr and shape. */
static void put_npy(const char *path, const char *descr, const int64_t *shape, int nd,
                    const void *data, size_t n)
{
	char h[256];
	int k = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
	for (int i = 0; i < nd; i++)
		k += snprintf(h + k, sizeof h - k, "%lld,", (long long)shape[i]);
	k += snprintf(h + k, sizeof h - k, "), }");
	while ((10 + k + 1) % 64)
		h[k++] = ' ';
	h[k++] = '\n';
	unsigned char buf[8192] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)k, 0};
	memcpy(buf + 10, h, (size_t)k);
	memcpy(buf + 10 + k, data, n);
	put(path, buf, 10 + (size_t)k + n, 0);
}

/* The 5 test images of 2x3 pixels and their labels. */
static unsigned char pix[30];
static const unsigned char lab[5] = {0, 2, 1, 2, 0};
static const uint32_t img_dims[3] = {5, 2, 3}, lab_dims[1] = {5};

/* Check ds holds the 5 test images and labels. */
static void check_small(const Dataset *ds, const char *name)
{
	const DataImages *m = &ds->mod[0];
	const DataLabels *l = &ds->task[0];
	int ok = ds->nmod == 1 && ds->ntask == 1 && ds->count == 5 && m->c == 1 && m->h == 2 &&
	         m->w == 3 && l->nclasses == 3;
	for (int i = 0; ok && i < 30; i++)
		ok = m->px[i] == (float)pix[i] / 255.0f;
	for (int i = 0; ok && i < 5; i++)
		ok = l->y[i] == lab[i] && data_label(ds, 0, i) == lab[i];
	t_check(ok && m->px[29] == 1.0f, name, "count %lld shape [%lld,%lld,%lld] K %d",
	        (long long)ds->count, (long long)m->c, (long long)m->h, (long long)m->w, l->nclasses);
}

/* Expect opening spec to fail with a message containing want. */
static void expect_fail(const char *spec, const char *want, const char *name)
{
	Dataset ds;
	RtErr e = {0};
	DataOpts o = {.c = 3, .h = 4, .w = 4, .threads = 2};
	int rc = data_open(spec, &o, &ds, &e);
	t_check(rc == -1 && strstr(e.msg, want) && ds.mod[0].px == NULL, name, "rc %d, msg '%s'", rc,
	        e.msg);
}

/* Read plain and gzipped IDX files back. */
static void test_idx(void)
{
	for (int i = 0; i < 30; i++)
		pix[i] = (unsigned char)(i * 9 - (i == 29) * 6);   /* the last pixel is 255 */
	put_idx(P("img"), 0x803, img_dims, 3, pix, 30, 0, 0);
	put_idx(P("lab"), 0x801, lab_dims, 1, lab, 5, 0, 0);
	put_idx(P("img.gz"), 0x803, img_dims, 3, pix, 30, 0, 1);
	put_idx(P("lab.gz"), 0x801, lab_dims, 1, lab, 5, 0, 1);
	Dataset ds;
	RtErr e = {0};
	char spec[1200];
	snprintf(spec, sizeof spec, "idx:%s,%s", P("img"), P("lab"));
	t_check(data_open(spec, NULL, &ds, &e) == 0, "idx plain opens", "%s", e.msg);
	check_small(&ds, "idx plain reads back");
	t_check(!strcmp(ds.name, P("img")), "idx name is the images path", "%s", ds.name);
	data_free(&ds);
	snprintf(spec, sizeof spec, "idx:%s,%s", P("img.gz"), P("lab.gz"));
	t_check(data_open(spec, NULL, &ds, &e) == 0, "idx gz opens", "%s", e.msg);
	check_small(&ds, "idx gz reads back");
	t_check(data_check_labels(&ds, 0, 3, &e) == 0, "labels in range pass", "%s", e.msg);
	RtErr e2 = {0};
	ds.task[0].y[3] = 12;
	char want[1024];
	snprintf(want, sizeof want, "%s: label 12 at index 3 is out of range for 10 classes; the "
	         "labels go up to 12, so the data has 13 classes", P("lab.gz"));
	t_check(data_check_labels(&ds, 0, 10, &e2) == -1 && !strcmp(e2.msg, want),
	        "label out of range names file, label, index and the data's class count", "'%s'", e2.msg);
	data_free(&ds);
}

/* Every IDX error: missing, bad magic, swapped, truncated, extra, mismatch. */
static void test_idx_errors(void)
{
	char spec[1200];
	snprintf(spec, sizeof spec, "idx:%s,%s", P("nope"), P("lab"));
	expect_fail(spec, "nope: cannot open: No such file", "missing file");
	put_idx(P("bad"), 0x1234, img_dims, 3, pix, 30, 0, 0);
	snprintf(spec, sizeof spec, "idx:%s,%s", P("bad"), P("lab"));
	expect_fail(spec, "bad: not an IDX image file: magic 0x00001234, expected 0x00000803",
	            "bad magic");
	snprintf(spec, sizeof spec, "idx:%s,%s", P("lab"), P("img"));
	expect_fail(spec, "lab: not an IDX image file: magic 0x00000801, expected 0x00000803 "
	            "(this is a label file: images come first)", "swapped files");
	put_idx(P("trunc"), 0x803, img_dims, 3, pix, 30, 7, 0);
	snprintf(spec, sizeof spec, "idx:%s,%s", P("trunc"), P("lab"));
	expect_fail(spec, "trunc: truncated: the file ends after 23 of the 30 bytes of 5 images "
	            "of 2x3", "truncated plain");
	put_idx(P("trunc.gz"), 0x803, img_dims, 3, pix, 30, 7, 1);
	snprintf(spec, sizeof spec, "idx:%s,%s", P("trunc.gz"), P("lab"));
	expect_fail(spec, "trunc.gz: truncated: the file ends after 23", "truncated gz data");
	/* a gzip stream cut short in the middle */
	put_idx(P("whole.gz"), 0x803, img_dims, 3, pix, 30, 0, 1);
	FILE *f = fopen(P("whole.gz"), "rb");
	unsigned char buf[512];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	put(P("cut.gz"), buf, n - 12, 0);
	snprintf(spec, sizeof spec, "idx:%s,%s", P("cut.gz"), P("lab"));
	expect_fail(spec, "cut.gz: truncated", "truncated gz stream");
	unsigned char more[31];
	memcpy(more, pix, 30);
	more[30] = 1;
	put_idx(P("long"), 0x803, img_dims, 3, more, 31, 0, 0);
	snprintf(spec, sizeof spec, "idx:%s,%s", P("long"), P("lab"));
	expect_fail(spec, "long: the file has bytes after the 5 images of 2x3", "extra bytes");
	const uint32_t four[1] = {4};
	put_idx(P("lab4"), 0x801, four, 1, lab, 4, 0, 0);
	snprintf(spec, sizeof spec, "idx:%s,%s", P("img"), P("lab4"));
	expect_fail(spec, "lab4: 4 labels for the 5 images of ", "label count mismatch");
	put_idx(P("lab_cut"), 0x801, lab_dims, 1, lab, 5, 2, 0);
	snprintf(spec, sizeof spec, "idx:%s,%s", P("img"), P("lab_cut"));
	expect_fail(spec, "lab_cut: truncated: the file ends after 3 of the 5 bytes of 5 labels",
	            "truncated labels");
	const uint32_t zero[3] = {0, 2, 3};
	put_idx(P("empty"), 0x803, zero, 3, pix, 0, 0, 0);
	snprintf(spec, sizeof spec, "idx:%s,%s", P("empty"), P("lab"));
	expect_fail(spec, "empty: the IDX header declares 0 images", "no images");
}

/* The bytes of path into buf (at most cap); their count. */
static size_t slurp(const char *path, unsigned char *buf, size_t cap)
{
	FILE *f = fopen(path, "rb");
	size_t n = f ? fread(buf, 1, cap, f) : 0;
	if (f)
		fclose(f);
	return n;
}

/* gzip members are checked to their trailers: a wrong CRC or length, a
** trailer cut off and bytes after the last member are errors; members that
** follow each other are one stream (gzip's rule). */
static void test_gzip_trailer(void)
{
	char spec[1200];
	unsigned char whole[512], raw[64], a[512], b[512], cat[1024];
	put_idx(P("whole.gz"), 0x803, img_dims, 3, pix, 30, 0, 1);
	size_t n = slurp(P("whole.gz"), whole, sizeof whole);
	put_idx(P("raw"), 0x803, img_dims, 3, pix, 30, 0, 0);
	size_t nr = slurp(P("raw"), raw, sizeof raw);
	struct { const char *name, *want; int flip; size_t keep; const char *tail; size_t ntail; } c[] = {
		{"gzip: a wrong CRC-32 in the trailer", "incorrect data check", 8, 0, "", 0},
		{"gzip: a wrong length in the trailer", "incorrect length check", 4, 0, "", 0},
		{"gzip: the trailer cut off", "truncated: the gzip stream ends at byte", 0, 8, "", 0},
		{"gzip: half the trailer cut off", "truncated: the gzip stream ends", 0, 3, "", 0},
		{"gzip: text after the stream", "bytes after the gzip stream that are not another gzip "
		 "member", 0, 0, "junk", 4},
		{"gzip: one byte after the stream", "bytes after the gzip stream", 0, 0, "\x1f", 1},
		{"gzip: zero padding after the stream", "bytes after the gzip stream", 0, 0, "\0\0\0\0", 4},
	};
	for (size_t i = 0; i < sizeof c / sizeof *c; i++) {
		memcpy(cat, whole, n);
		if (c[i].flip)
			cat[n - c[i].flip] ^= 0x40;
		memcpy(cat + n - c[i].keep, c[i].tail, c[i].ntail);
		put(P("bad.gz"), cat, n - c[i].keep + c[i].ntail, 0);
		snprintf(spec, sizeof spec, "idx:%s,%s", P("bad.gz"), P("lab"));
		expect_fail(spec, c[i].want, c[i].name);
	}
	/* two members: the header and 10 bytes, then the rest; then an empty one */
	put(P("a.gz"), raw, 26, 1);
	put(P("b.gz"), raw + 26, nr - 26, 1);
	put(P("e.gz"), "", 0, 1);
	size_t na = slurp(P("a.gz"), a, sizeof a), nb = slurp(P("b.gz"), b, sizeof b);
	memcpy(cat, a, na);
	memcpy(cat + na, b, nb);
	size_t ne = slurp(P("e.gz"), cat + na + nb, sizeof cat - na - nb);
	put(P("two.gz"), cat, na + nb + ne, 0);
	snprintf(spec, sizeof spec, "idx:%s,%s", P("two.gz"), P("lab"));
	Dataset ds;
	RtErr e = {0};
	t_check(data_open(spec, NULL, &ds, &e) == 0, "gzip: concatenated members are one stream",
	        "%s", e.msg);
	check_small(&ds, "gzip: concatenated members read back");
	data_free(&ds);
	/* the second member damaged: its CRC */
	cat[na + nb - 8] ^= 0x40;
	put(P("two.gz"), cat, na + nb, 0);
	expect_fail(spec, "incorrect data check", "gzip: a wrong CRC-32 in the second member");
}

/* Read .npy datasets: u1 scaled, floats as they are, int label dtypes. */
static void test_npy(void)
{
	int64_t s3[3] = {5, 2, 3}, s4[4] = {5, 1, 2, 3}, s1[1] = {5};
	put_npy(P("x_u1.npy"), "|u1", s3, 3, pix, 30);
	float f[30];
	double d[30];
	for (int i = 0; i < 30; i++)
		f[i] = (float)pix[i] / 255.0f, d[i] = (double)f[i];
	put_npy(P("x_f4.npy"), "<f4", s4, 4, f, sizeof f);
	put_npy(P("x_f8.npy"), "<f8", s3, 3, d, sizeof d);
	int8_t l1[5];
	int16_t l2[5];
	int32_t l4[5];
	int64_t l8[5];
	for (int i = 0; i < 5; i++)
		l1[i] = (int8_t)lab[i], l2[i] = lab[i], l4[i] = lab[i], l8[i] = lab[i];
	put_npy(P("y_u1.npy"), "|u1", s1, 1, lab, 5);
	put_npy(P("y_i1.npy"), "|i1", s1, 1, l1, sizeof l1);
	put_npy(P("y_i2.npy"), "<i2", s1, 1, l2, sizeof l2);
	put_npy(P("y_i4.npy"), "<i4", s1, 1, l4, sizeof l4);
	put_npy(P("y_i8.npy"), "<i8", s1, 1, l8, sizeof l8);
	const char *xs[3] = {"x_u1.npy", "x_f4.npy", "x_f8.npy"};
	const char *ys[5] = {"y_u1.npy", "y_i1.npy", "y_i2.npy", "y_i4.npy", "y_i8.npy"};
	for (int i = 0; i < 3; i++) {
		for (int j = 0; j < 5; j++) {
			char spec[1200], name[64];
			snprintf(spec, sizeof spec, "npy:%s,%s", P(xs[i]), P(ys[j]));
			snprintf(name, sizeof name, "npy %s + %s", xs[i], ys[j]);
			Dataset ds;
			RtErr e = {0};
			int rc = data_open(spec, NULL, &ds, &e);
			if (rc)
				t_check(0, name, "%s", e.msg);
			else
				check_small(&ds, name);
			data_free(&ds);
		}
	}
}

/* Every .npy error the dataset adds to npy.c's own. */
static void test_npy_errors(void)
{
	int64_t s3[3] = {5, 2, 3}, s1[1] = {5}, s4[1] = {4}, s2[2] = {5, 3};
	int32_t i4[30] = {0};
	float fl[15] = {0};
	int8_t neg[5] = {0, 1, -1, 0, 0};
	put_npy(P("x_i4.npy"), "<i4", s3, 3, i4, sizeof i4);
	put_npy(P("y_f4.npy"), "<f4", s1, 1, fl, 5 * sizeof(float));
	put_npy(P("y_4.npy"), "<i4", s4, 1, i4, 4 * sizeof(int32_t));
	put_npy(P("y_hot.npy"), "<f4", s2, 2, fl, sizeof fl);
	put_npy(P("y_hot4.npy"), "<i4", s2, 2, i4, 15 * sizeof(int32_t));
	put_npy(P("y_neg.npy"), "|i1", s1, 1, neg, 5);
	put_npy(P("x_cut.npy"), "|u1", s3, 3, pix, 20);
	put(P("x_txt.npy"), "hello", 5, 0);
	struct { const char *x, *y, *want, *name; } cases[] = {
		{"x_i4.npy", "y_u1.npy", "x_i4.npy: images of dtype '<i4' are not supported",
		 "npy int images refused"},
		{"x_u1.npy", "y_f4.npy", "y_f4.npy: dtype '<f4' holds floats", "npy float labels"},
		{"x_u1.npy", "y_4.npy", "y_4.npy: labels are [4], expected [5]", "npy count mismatch"},
		{"x_u1.npy", "y_hot4.npy", "one-hot?", "npy one-hot labels"},
		{"x_u1.npy", "y_neg.npy", "y_neg.npy: label -1 at index 2 is negative",
		 "npy negative label"},
		{"x_cut.npy", "y_u1.npy", "x_cut.npy: truncated", "npy truncated"},
		{"x_txt.npy", "y_u1.npy", "x_txt.npy: not a .npy file", "npy bad magic"},
		{"x_none.npy", "y_u1.npy", "x_none.npy: cannot open", "npy missing file"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char spec[1200];
		snprintf(spec, sizeof spec, "npy:%s,%s", P(cases[i].x), P(cases[i].y));
		expect_fail(spec, cases[i].want, cases[i].name);
	}
}

/* Spec syntax errors, and the shape check against a model input. */
static void test_spec(void)
{
	expect_fail("tsv:a,b", "data spec 'tsv:a,b': unknown kind", "unknown kind");
	expect_fail("csv:a,b", "expected csv:META.csv,IMAGEDIR,ID_COLUMN,LABEL_COLUMN", "csv: too few fields");
	expect_fail("a.npy,b.npy", "unknown kind", "no kind");
	expect_fail("idx:a", "expected two paths IMAGES,LABELS", "one path");
	expect_fail("idx:a,b,c", "one comma", "three paths");
	expect_fail("npy:,b", "a path is empty", "empty path");
	expect_fail("fashion-mnist:valid", "splits 'train' and 'test'", "fashion bad split");
	Dataset ds = {.name = "fashion-mnist:train", .nmod = 1,
	              .mod = {{.name = "fashion-mnist:train", .c = 1, .h = 28, .w = 28}}};
	RtTensor in = {.name = "image", .dtype = RT_F32, .ndim = 4, .shape = {-1, 1, 32, 32}};
	RtErr e = {0};
	t_check(data_check_input(&ds, 0, &in, &e) == -1 &&
	        !strcmp(e.msg, "fashion-mnist:train: images are [1,28,28], the model's input "
	                "\"image\" is [1,32,32]"), "input shape mismatch message", "'%s'", e.msg);
	in.shape[2] = in.shape[3] = 28;
	RtErr e2 = {0};
	t_check(data_check_input(&ds, 0, &in, &e2) == 0, "input shape match", "%s", e2.msg);
	Dataset hwc = {.name = "x.npy", .nmod = 1, .mod = {{.name = "x.npy", .c = 32, .h = 32, .w = 3}}};
	int64_t want[4] = {-1, 3, 32, 32};
	memcpy(in.shape, want, sizeof want);
	RtErr e3 = {0};
	t_check(data_check_input(&hwc, 0, &in, &e3) == -1 && strstr(e3.msg, "channels-last"),
	        "channels-last hint", "'%s'", e3.msg);
}

/* Is x[0..n) a permutation of 0..n-1? */
static int is_perm(const int64_t *x, int64_t n)
{
	char *seen = calloc((size_t)n + 1, 1);
	int ok = 1;
	for (int64_t i = 0; i < n && ok; i++) {
		ok = x[i] >= 0 && x[i] < n && !seen[x[i]];
		if (ok)
			seen[x[i]] = 1;
	}
	free(seen);
	return ok;
}

/* The split: sizes, determinism, a partition of the samples, sorted. */
static void test_split(void)
{
	Dataset ds = {.name = "d", .count = 100};
	DataIndex tr, va, tr2, va2;
	RtErr e = {0};
	int rc = data_split(&ds, 0.2, 7, &tr, &va, &e);
	t_check(rc == 0 && tr.n == 80 && va.n == 20, "split sizes", "%lld/%lld %s",
	        (long long)tr.n, (long long)va.n, e.msg);
	data_split(&ds, 0.2, 7, &tr2, &va2, &e);
	t_check(!memcmp(tr.idx, tr2.idx, 80 * 8) && !memcmp(va.idx, va2.idx, 20 * 8),
	        "split deterministic", "differs for the same seed");
	int64_t all[100];
	memcpy(all, tr.idx, 80 * 8);
	memcpy(all + 80, va.idx, 20 * 8);
	int sorted = 1;
	for (int i = 1; i < 80; i++)
		sorted &= tr.idx[i - 1] < tr.idx[i];
	for (int i = 1; i < 20; i++)
		sorted &= va.idx[i - 1] < va.idx[i];
	t_check(is_perm(all, 100) && sorted, "split partitions, sorted", "not a partition");
	data_index_free(&tr2);
	data_index_free(&va2);
	data_split(&ds, 0.2, 8, &tr2, &va2, &e);
	t_check(memcmp(va.idx, va2.idx, 20 * 8) != 0, "split depends on seed", "same for 7 and 8");
	t_check(va.idx[0] != 80 && va.idx[19] != 19, "split is random, not the head or tail",
	        "validation %lld..%lld", (long long)va.idx[0], (long long)va.idx[19]);
	data_index_free(&tr);
	data_index_free(&va);
	data_index_free(&tr2);
	data_index_free(&va2);
	t_check(data_split(&ds, 0, 1, &tr, &va, &e) == 0 && tr.n == 100 && va.n == 0 &&
	        tr.idx[99] == 99, "split 0: all training", "%s", e.msg);
	data_index_free(&tr);
	data_index_free(&va);
	Dataset two = {.name = "two", .count = 2};
	rc = data_split(&two, 0.01, 1, &tr, &va, &e);
	t_check(rc == 0 && tr.n == 1 && va.n == 1, "split keeps one of each", "%lld/%lld",
	        (long long)tr.n, (long long)va.n);
	data_index_free(&tr);
	data_index_free(&va);
	RtErr e2 = {0}, e3 = {0};
	t_check(data_split(&ds, 1.0, 1, &tr, &va, &e2) == -1 && strstr(e2.msg, "not in [0, 1)"),
	        "split fraction 1 refused", "'%s'", e2.msg);
	Dataset one = {.name = "one", .count = 1};
	t_check(data_split(&one, 0.5, 1, &tr, &va, &e3) == -1 && strstr(e3.msg, "leaves none"),
	        "split of one sample refused", "'%s'", e3.msg);
}

/* The epoch shuffle: a permutation, fixed by (seed, epoch). */
static void test_shuffle(void)
{
	int64_t a[1000], b[1000], c[1000];
	for (int i = 0; i < 1000; i++)
		a[i] = b[i] = c[i] = i;
	data_shuffle(a, 1000, 42, 3);
	data_shuffle(b, 1000, 42, 3);
	data_shuffle(c, 1000, 42, 4);
	int fixed = 0;
	for (int i = 0; i < 1000; i++)
		fixed += a[i] == i;
	t_check(is_perm(a, 1000) && fixed < 20, "shuffle permutes", "%d fixed points", fixed);
	t_check(!memcmp(a, b, sizeof a), "shuffle deterministic", "same seed and epoch differ");
	t_check(memcmp(a, c, sizeof a) != 0, "shuffle depends on epoch", "epochs 3 and 4 equal");
	int64_t one[1] = {5};
	data_shuffle(one, 1, 1, 1);
	data_shuffle(NULL, 0, 1, 1);
	t_check(one[0] == 5, "shuffle of one", "changed");
}

/* A dataset of n samples [2,1,3] where sample s holds s*10+j and label s%3. */
static void make_seq(Dataset *ds, int64_t n)
{
	memset(ds, 0, sizeof *ds);
	ds->name = strdup("seq");
	ds->nmod = ds->ntask = 1;
	DataImages *m = &ds->mod[0];
	DataLabels *l = &ds->task[0];
	ds->count = m->rows = l->rows = n, m->c = 2, m->h = 1, m->w = 3, l->nclasses = 3;
	m->px = malloc(sizeof(float) * 6 * n);
	l->y = malloc(sizeof(int32_t) * n);
	for (int64_t s = 0; s < n; s++) {
		for (int j = 0; j < 6; j++)
			m->px[s * 6 + j] = (float)(s * 10 + j);
		l->y[s] = (int32_t)(s % 3);
	}
}

/* Run one epoch of L over order (n samples, batch B); check each batch's
** content and size; append every batch's first pixel sum to sig. */
static int epoch_ok(Loader *L, const int64_t *order, int64_t n, int64_t B, double *sig)
{
	Batch bt;
	int64_t m, at = 0, b = 0;
	int ok = 1;
	while (loader_next(L, &bt) == 1) {
		const float *x = bt.x[0];
		const int32_t *y = bt.y[0];
		m = bt.n;
		ok &= m == (n - at < B ? n - at : B);
		for (int64_t i = 0; i < m && ok; i++) {
			int64_t s = order[at + i];
			ok &= y[i] == s % 3 && x[i * 6] == (float)(s * 10) &&
			      x[i * 6 + 5] == (float)(s * 10 + 5);
		}
		double sum = 0;
		for (int64_t i = 0; i < m * 6; i++)
			sum += x[i];
		sig[b++] = sum;
		at += m;
		if (b % 3 == 0)
			usleep(200);   /* a slow consumer now and then */
	}
	ok &= at == n && b == (n + B - 1) / B && loader_next(L, &bt) == 0 && bt.n == 0;
	return ok;
}

/* The loader: every sample once, in order, short last batch, restart, same
** seed same batches, early close, bad order. */
static void test_loader(void)
{
	Dataset ds;
	make_seq(&ds, 103);
	int64_t order[103];
	for (int i = 0; i < 103; i++)
		order[i] = i;
	data_shuffle(order, 103, 9, 0);
	Loader *L;
	RtErr e = {0};
	double s1[32], s2[32], s3[32];
	t_check(loader_open(&L, &ds, NULL, order, 103, 10, &e) == 0, "loader opens", "%s", e.msg);
	t_check(epoch_ok(L, order, 103, 10, s1), "loader epoch: in order, short last batch",
	        "a batch is wrong");
	int64_t order2[103];
	for (int i = 0; i < 103; i++)
		order2[i] = i;
	data_shuffle(order2, 103, 9, 1);
	t_check(loader_restart(L, order2, 103, 1, &e) == 0 && epoch_ok(L, order2, 103, 10, s2),
	        "loader restart: next epoch", "%s", e.msg);
	loader_close(L);
	t_check(loader_open(&L, &ds, NULL, order, 103, 10, &e) == 0 && epoch_ok(L, order, 103, 10, s3) &&
	        !memcmp(s1, s3, 11 * sizeof(double)), "loader: same order, same batches",
	        "differ");
	loader_close(L);
	t_check(loader_open(&L, &ds, NULL, order, 103, 500, &e) == 0 && epoch_ok(L, order, 103, 500, s3),
	        "loader: one short batch", "%s", e.msg);
	loader_close(L);
	t_check(loader_open(&L, &ds, NULL, order, 0, 4, &e) == 0 && epoch_ok(L, order, 0, 4, s3),
	        "loader: empty order", "%s", e.msg);
	loader_close(L);
	Batch bt;
	loader_open(&L, &ds, NULL, order, 103, 1, &e);
	loader_next(L, &bt);
	loader_close(L);   /* the producer is waiting for a free buffer */
	t_check(1, "loader: close mid-epoch", "");
	int64_t bad[3] = {0, 103, 1};
	RtErr e2 = {0}, e3 = {0};
	t_check(loader_open(&L, &ds, NULL, bad, 3, 2, &e2) == -1 && L == NULL &&
	        strstr(e2.msg, "seq: sample index 103 (position 1 of the order) is out of range"),
	        "loader: bad order refused", "'%s'", e2.msg);
	t_check(loader_open(&L, &ds, NULL, order, 10, 0, &e3) == -1 && strstr(e3.msg, "not positive"),
	        "loader: batch 0 refused", "'%s'", e3.msg);
	data_free(&ds);
}

/* The Debian package's Fashion-MNIST test split, when installed. */
static void test_fashion(void)
{
	if (access(DATA_FASHION_MNIST_DIR "/t10k-images-idx3-ubyte.gz", R_OK)) {
		printf("# fashion-mnist not installed: skipped\n");
		return;
	}
	Dataset ds;
	RtErr e = {0};
	int rc = data_open("fashion-mnist:test", NULL, &ds, &e);
	t_check(rc == 0 && ds.count == 10000 && ds.mod[0].c == 1 && ds.mod[0].h == 28 &&
	        ds.mod[0].w == 28 && ds.task[0].nclasses == 10 && ds.task[0].names &&
	        !strcmp(ds.task[0].names[9], "Ankle boot"),
	        "fashion-mnist:test: 10000 x [1,28,28], 10 classes", "%s", e.msg);
	if (rc)
		return;
	float lo = 1, hi = 0;
	for (int64_t i = 0; i < ds.count * 784; i++)
		lo = fminf(lo, ds.mod[0].px[i]), hi = fmaxf(hi, ds.mod[0].px[i]);
	int64_t per[10] = {0}, bad = 0;
	for (int64_t i = 0; i < ds.count; i++) {
		if (ds.task[0].y[i] < 0 || ds.task[0].y[i] > 9)
			bad++;
		else
			per[ds.task[0].y[i]]++;
	}
	t_check(lo == 0 && hi == 1, "fashion-mnist pixels span [0,1]", "[%g,%g]", lo, hi);
	t_check(!bad && per[0] == 1000 && per[9] == 1000, "fashion-mnist labels 0..9, 1000 each",
	        "%lld bad", (long long)bad);
	t_check(data_check_labels(&ds, 0, 10, &e) == 0, "fashion-mnist labels fit 10 classes", "%s",
	        e.msg);
	data_free(&ds);
}

/* nftw callback: remove one file or (emptied) directory. */
static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(dir, sizeof dir, "%s/lunac_test_data_XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		t_check(0, "temporary directory", "%s", dir);
		return t_done();
	}
	test_idx();
	test_idx_errors();
	test_gzip_trailer();
	test_npy();
	test_npy_errors();
	test_spec();
	test_split();
	test_shuffle();
	test_loader();
	test_fashion();
	if (nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS))
		printf("# could not remove %s\n", dir);
	return t_done();
}
