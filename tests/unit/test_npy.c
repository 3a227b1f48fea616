/*
** test_npy.c -- the .npy reader and writer: round trips, every header
** version, dtype conversions, and hostile files written byte by byte (bad
** magic, truncated headers and data, malformed dicts, Fortran order,
** unsupported dtypes, overflowing shapes). Each must give an error naming
** the file, and none may crash (make check-asan runs this under ASan).
*/
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"
#include "t.h"
#include "t_dir.h"


/* A .npy file: version major, header dict of h bytes (padded to 64 like
** NumPy), data. */
static void mknpy_len(const char *path, int major, const char *dict, size_t h, const void *data,
                      size_t n)
{
	size_t pre = major == 1 ? 10 : 12;
	size_t hl = ((pre + h + 1 + 63) & ~(size_t)63) - pre;
	unsigned char *buf = calloc(1, pre + hl + n + 1);
	memcpy(buf, "\x93NUMPY", 6);
	buf[6] = (unsigned char)major;
	for (size_t i = 0; i < pre - 8; i++)
		buf[8 + i] = (unsigned char)(hl >> (8 * i));
	memcpy(buf + pre, dict, h);
	memset(buf + pre + h, ' ', hl - h - 1);
	buf[pre + hl - 1] = '\n';
	if (n)
		memcpy(buf + pre + hl, data, n);
	FILE *f = fopen(path, "wb");
	fwrite(buf, 1, pre + hl + n, f);
	fclose(f);
	free(buf);
}

/* A .npy file with a C-string header dict. */
static void mknpy(const char *path, int major, const char *dict, const void *data, size_t n)
{
	mknpy_len(path, major, dict, strlen(dict), data, n);
}

/* Raw bytes to path. */
static void writefile(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(p, 1, n, f);
	fclose(f);
}

/* rt_npy_read(path, want) fails with a message holding want and the path. */
static void expect_bad(const char *name, const char *path, RtDtype dt, const char *want)
{
	RtArray a;
	RtErr e = {0};
	int rc = rt_npy_read(path, dt, &a, &e);
	if (!rc)
		rt_array_free(&a);
	if (getenv("LUNAC_TEST_VERBOSE"))
		printf("# %s\n", e.msg);
	t_check(rc != 0 && strstr(e.msg, want) && strstr(e.msg, path), name,
	        "rc=%d msg=\"%s\", wanted \"%s\"", rc, e.msg, want);
}

/* A dict + data case in one line. */
static void bad(const char *name, const char *dict, size_t n, const char *want)
{
	static unsigned char zeros[256];
	mknpy(P("bad.npy"), 1, dict, zeros, n);
	expect_bad(name, P("bad.npy"), RT_F32, want);
}

/* Read path as f32 and compare with want[0..n). */
static void expect_f32(const char *name, const char *path, int ndim, const int64_t *shape,
                       const float *want, int n)
{
	RtArray a;
	RtErr e = {0};
	int rc = rt_npy_read(path, RT_F32, &a, &e), ok = rc == 0 && a.ndim == ndim;
	for (int i = 0; ok && i < ndim; i++)
		ok = a.shape[i] == shape[i];
	for (int i = 0; ok && i < n; i++)
		ok = ((float *)a.data)[i] == want[i];
	t_check(ok, name, "rc=%d %s", rc, e.msg);
	if (!rc)
		rt_array_free(&a);
}

/* Write then read back, f32 and i32; the data starts 64-byte aligned. */
static void test_round_trip(void)
{
	float v[6] = {0.5f, -1, 2, 3.25f, 1e-7f, -0.0f};
	RtArray a = {RT_F32, 2, {2, 3}, v};
	RtErr e = {0};
	int rc = rt_npy_write(P("rt.npy"), &a, &e);
	t_check(rc == 0, "write f32 [2,3]", "%s", e.msg);
	expect_f32("read back f32 [2,3]", P("rt.npy"), 2, a.shape, v, 6);
	FILE *f = fopen(P("rt.npy"), "rb");
	char buf[256] = {0};
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	fclose(f);
	int hl = (unsigned char)buf[8] | (unsigned char)buf[9] << 8;
	t_check(n == 128 + 24 && hl + 10 == 128 && buf[127] == '\n' &&
	        !strncmp(buf + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 59),
	        "header is NumPy's, data 64-byte aligned", "n=%zu header=%.60s", n, buf + 10);
	int32_t iv[3] = {7, -8, 9};
	RtArray b = {RT_I32, 1, {3}, iv}, c;
	rc = rt_npy_write(P("i.npy"), &b, &e) || rt_npy_read(P("i.npy"), RT_I32, &c, &e);
	t_check(rc == 0 && c.ndim == 1 && c.shape[0] == 3 && !memcmp(c.data, iv, 12),
	        "i32 [3] round trip ('<i4', shape (3,))", "%s", e.msg);
	if (!rc)
		rt_array_free(&c);
	RtArray s = {RT_F32, 0, {0}, v};
	rc = rt_npy_write(P("s.npy"), &s, &e) || rt_npy_read(P("s.npy"), RT_F32, &c, &e);
	t_check(rc == 0 && c.ndim == 0 && ((float *)c.data)[0] == 0.5f, "0-d array round trip", "%s", e.msg);
	if (!rc)
		rt_array_free(&c);
	char descr[16];
	int fortran, ndim;
	int64_t shape[RT_MAXDIM];
	rc = rt_npy_header(P("rt.npy"), descr, &fortran, &ndim, shape, &e);
	t_check(rc == 0 && !strcmp(descr, "<f4") && !fortran && ndim == 2 && shape[1] == 3,
	        "rt_npy_header reads only the header", "%s", e.msg);
	rc = rt_npy_write(P("no/such/dir/x.npy"), &a, &e);
	t_check(rc != 0 && strstr(e.msg, "no/such/dir/x.npy"), "write into a missing directory", "%s", e.msg);
}

/* Versions 2.0 and 3.0, and every dtype that converts. */
static void test_versions_and_dtypes(void)
{
	float f[3] = {1, 2.5f, -3};
	int64_t s3[1] = {3}, s23[2] = {2, 3};
	mknpy(P("v2.npy"), 2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }", f, 12);
	expect_f32("version 2.0 header", P("v2.npy"), 1, s3, f, 3);
	mknpy(P("v3.npy"), 3, "{\"descr\": \"<f4\", \"shape\": (3,), \"fortran_order\": False}", f, 12);
	expect_f32("version 3.0 header, double quotes, other key order", P("v3.npy"), 1, s3, f, 3);
	double d[3] = {1, 2.5, -3};
	mknpy(P("f8.npy"), 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }", d, 24);
	expect_f32("'<f8' converts to f32", P("f8.npy"), 1, s3, f, 3);
	unsigned char u[6] = {0, 1, 2, 3, 4, 255};
	float fu[6] = {0, 1, 2, 3, 4, 255};
	mknpy(P("u1.npy"), 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 3), }", u, 6);
	expect_f32("'|u1' converts to f32 (values kept, not scaled)", P("u1.npy"), 2, s23, fu, 6);
	int32_t i4[3] = {1, -2, 3};
	float fi[3] = {1, -2, 3};
	mknpy(P("i4.npy"), 1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3,), }", i4, 12);
	expect_f32("'<i4' converts to f32", P("i4.npy"), 1, s3, fi, 3);
	int64_t i8[3] = {1, -2, 3};
	mknpy(P("i8.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (3L,), }", i8, 24);
	expect_f32("'<i8' converts to f32 (and Python 2's 3L)", P("i8.npy"), 1, s3, fi, 3);
	unsigned char be[12] = {0x3f, 0x80, 0, 0, 0x40, 0x20, 0, 0, 0xc0, 0x40, 0, 0};
	mknpy(P("be.npy"), 1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }", be, 12);
	expect_f32("'>f4' (big-endian) converts", P("be.npy"), 1, s3, f, 3);
	uint16_t h[3] = {0x3c00, 0x4100, 0xc200};
	mknpy(P("f2.npy"), 1, "{'descr': '<f2', 'fortran_order': False, 'shape': (3,), }", h, 6);
	expect_f32("'<f2' (half) converts", P("f2.npy"), 1, s3, f, 3);
	unsigned char b1[3] = {1, 0, 1};
	float fb[3] = {1, 0, 1};
	mknpy(P("b1.npy"), 1, "{'descr': '|b1', 'fortran_order': False, 'shape': (3,), }", b1, 3);
	expect_f32("'|b1' converts", P("b1.npy"), 1, s3, fb, 3);
	mknpy(P("e.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 3), }", NULL, 0);
	int64_t s03[2] = {0, 3};
	expect_f32("empty (0, 3) array", P("e.npy"), 2, s03, NULL, 0);
	RtArray a;
	RtErr e = {0};
	int rc = rt_npy_read(P("i8.npy"), RT_I32, &a, &e);
	t_check(rc == 0 && ((int32_t *)a.data)[1] == -2, "'<i8' reads as i32", "%s", e.msg);
	if (!rc)
		rt_array_free(&a);
	int64_t big[1] = {1LL << 40};
	mknpy(P("big.npy"), 1, "{'descr': '<i8', 'fortran_order': False, 'shape': (1,), }", big, 8);
	expect_bad("'<i8' too large for i32", P("big.npy"), RT_I32, "does not fit in i32");
	expect_bad("floats refused for an i32 input", P("f8.npy"), RT_I32, "holds floats");
}

/* Broken files. */
static void test_hostile(void)
{
	writefile(P("bad.npy"), "\x93NUM", 4);
	expect_bad("file shorter than the prefix", P("bad.npy"), RT_F32, "too short");
	writefile(P("bad.npy"), "PK\x03\x04 not an npy file", 20);
	expect_bad("bad magic", P("bad.npy"), RT_F32, "not a .npy file");
	writefile(P("bad.npy"), "\x93NUMPY\x04\x00\x10\x00{}", 12);
	expect_bad("unknown version 4.0", P("bad.npy"), RT_F32, "version 4.0");
	writefile(P("bad.npy"), "\x93NUMPY\x01\x00\xff\x00{'descr'", 18);
	expect_bad("header length past end of file", P("bad.npy"), RT_F32, "runs past the end");
	writefile(P("bad.npy"), "\x93NUMPY\x02\x00\xff\xff\xff\x7f{", 13);
	expect_bad("v2 header length absurd", P("bad.npy"), RT_F32, "runs past the end");
	writefile(P("bad.npy"), "\x93NUMPY\x02\x00\x10\x00", 10);
	expect_bad("v2 prefix truncated", P("bad.npy"), RT_F32, "truncated");
	float f[4] = {0};
	mknpy(P("t.npy"), 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", f, 16);
	expect_bad("truncated data", P("t.npy"), RT_F32, "truncated: shape [2,3] of '<f4' needs 24 bytes of data, the file has 16");
	expect_bad("missing file", P("nope.npy"), RT_F32, "cannot open");
	bad("Fortran order", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", 24, "Fortran order");
	bad("complex dtype", "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", 8, "dtype '<c8' is not supported");
	bad("object dtype", "{'descr': '|O', 'fortran_order': False, 'shape': (1,), }", 8, "dtype '|O' is not supported");
	bad("unicode dtype", "{'descr': '<U10', 'fortran_order': False, 'shape': (1,), }", 40, "dtype '<U10' is not supported");
	bad("odd float size", "{'descr': '<f3', 'fortran_order': False, 'shape': (1,), }", 3, "not supported");
	bad("structured dtype", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (1,), }", 4, "structured arrays");
	bad("header not a dict", "['descr', '<f4']", 0, "not a dictionary");
	bad("missing shape", "{'descr': '<f4', 'fortran_order': False, }", 4, "lacks 'shape'");
	bad("missing descr", "{'fortran_order': False, 'shape': (1,), }", 4, "lacks 'descr'");
	bad("negative dimension", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }", 0, "shape is malformed");
	bad("unclosed shape", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3 }", 24, "shape is malformed");
	bad("dimension overflows int64", "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 0, "shape is malformed");
	bad("shape product overflows", "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", 0, "overflows");
	bad("huge shape, tiny file", "{'descr': '<f4', 'fortran_order': False, 'shape': (100000, 100000), }", 8, "truncated");
	bad("17 dimensions", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1), }", 4, "more than 16");
	bad("unknown key", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'x': 1}", 4, "unknown key 'x'");
	bad("fortran_order not a bool", "{'descr': '<f4', 'fortran_order': 0, 'shape': (1,), }", 4, "fortran_order is malformed");
	bad("unterminated string", "{'descr': '<f4", 4, "malformed");
	bad("bytes after the dict", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), } x", 4, "bytes after its dictionary");
	bad("missing comma", "{'descr': '<f4' 'fortran_order': False, 'shape': (1,)}", 4, "malformed");
	bad("empty header", "", 4, "not a dictionary");
	/* values that would be cut short or read loosely without a word */
	static const char nul[] = "{'descr': '<f4\0x', 'fortran_order': False, 'shape': (1,), }";
	static const float one = 1;
	mknpy_len(P("bad.npy"), 1, nul, sizeof nul - 1, &one, 4);
	expect_bad("a NUL inside descr", P("bad.npy"), RT_F32, "descr is malformed");
	bad("a control byte inside a key", "{'descr\x01': '<f4', 'fortran_order': False, 'shape': (1,), }", 4, "malformed");
	bad("descr size with a sign", "{'descr': '<f+4', 'fortran_order': False, 'shape': (1,), }", 4, "dtype '<f+4' is not supported");
	bad("descr size with a space", "{'descr': '<f 4', 'fortran_order': False, 'shape': (1,), }", 4, "dtype '<f 4' is not supported");
	bad("shape given twice", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), 'shape': (2,), }", 8, "'shape' twice");
	bad("bytes after the data", "{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", 8,
	    "bytes after the data");
}

/* 3000 seeded random mutations of a valid file (byte flips, ASCII digits and
** punctuation in the header, truncation): none may crash, and every
** rejection must name the file. */
static void test_mutations(void)
{
	static unsigned char orig[4096], buf[4096];
	FILE *f = fopen(P("rt.npy"), "rb");
	size_t n = f ? fread(orig, 1, sizeof orig, f) : 0;
	if (f)
		fclose(f);
	uint64_t r = 0x9E3779B97F4A7C15ull;
	int accepted = 0, silent = 0;
	for (int it = 0; it < 3000 && n > 0; it++) {
		memcpy(buf, orig, n);
		size_t len = n;
		int k = 1 + it % 4;
		for (int j = 0; j < k; j++) {
			r = r * 6364136223846793005ull + 1442695040888963407ull;
			size_t at = (size_t)(r >> 33) % (it % 2 ? 96 : len);
			static const char pool[] = "0123456789{}[]\",:-.eE \"\\\xff\x00";
			buf[at] = it % 3 ? (unsigned char)pool[(r >> 20) % (sizeof pool - 1)] : (unsigned char)(r >> 24);
		}
		if (it % 7 == 0)
			len = (size_t)(r >> 40) % len;
		FILE *g = fopen(P("mut.npy"), "wb");
		fwrite(buf, 1, len, g);
		fclose(g);
		RtArray a;
		RtErr e = {0};
		if (rt_npy_read(P("mut.npy"), RT_F32, &a, &e) == 0) {
			accepted++;
			rt_array_free(&a);
		} else if (!e.set || !strstr(e.msg, "mut.npy")) {
			silent++;
		}
	}
	t_check(n > 0 && silent == 0, "3000 random mutations: no crash, every error names the file",
	        "n=%zu silent=%d", n, silent);
	printf("# mutations: %d of 3000 still valid\n", accepted);
}

int main(void)
{
	if (t_dir_open("lunac-npy"))
		return 1;
	test_round_trip();
	test_versions_and_dtypes();
	test_hostile();
	test_mutations();
	t_dir_cleanup();
	return t_done();
}
