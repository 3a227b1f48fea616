/*
** test_safetensors.c -- the safetensors reader and writer, and loading
** weights into a model: a round trip, then every kind of hostile file
** written byte by byte. Each must give an error with a sensible message,
** and none may crash (make check-asan runs this under ASan and UBSan).
*/
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"
#include "t.h"
#include "t_dir.h"


/* Write n bytes to path. */
static void writefile(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(p, 1, n, f);
	fclose(f);
}

/* A safetensors file from a header (unpadded) and data, header length hlen
** (or strlen(header) when hlen is -1). */
static void mkst(const char *path, const char *header, long long hlen, const void *data, size_t n)
{
	size_t h = strlen(header);
	unsigned long long N = hlen < 0 ? h : (unsigned long long)hlen;
	unsigned char *buf = malloc(8 + h + n + 1);
	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char)(N >> (8 * i));
	memcpy(buf + 8, header, h);
	if (n)
		memcpy(buf + 8 + h, data, n);
	writefile(path, buf, 8 + h + n);
	free(buf);
}

/* st_open(path) fails and its message contains want. */
static void expect_bad(const char *name, const char *path, const char *want)
{
	StFile f;
	RtErr e = {0};
	int rc = st_open(&f, path, &e);
	if (!rc)
		st_close(&f);
	if (getenv("LUNAC_TEST_VERBOSE"))
		printf("# %s\n", e.msg);
	t_check(rc != 0 && e.set && strstr(e.msg, want) && strstr(e.msg, path), name,
	        "rc=%d msg=\"%s\", wanted \"%s\"", rc, e.msg, want);
}

/* A header+data case in one line. */
static void bad_header(const char *name, const char *header, size_t datalen, const char *want)
{
	static unsigned char zeros[4096];
	mkst(P("bad.safetensors"), header, -1, zeros, datalen);
	expect_bad(name, P("bad.safetensors"), want);
}

/* 1 when the test directory holds a leftover temporary file. */
static int leftover_tmp(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int found = 0;
	while (d && (de = readdir(d)))
		found |= strstr(de->d_name, ".tmp.") != NULL;
	if (d)
		closedir(d);
	return found;
}

static const char model_json[] =
	"{\"format\":\"lunac-model-1\",\"name\":\"tiny\",\"compiler\":\"lunac test\","
	"\"spec_hash\":\"abc123\",\"fixed_bytes\":1024,\"batch_bytes\":128,"
	"\"inputs\":[{\"name\":\"image\",\"dtype\":\"f32\",\"shape\":[-1,1,4,4],\"offset\":0,\"batched\":true}],"
	"\"outputs\":[{\"name\":\"probs\",\"dtype\":\"f32\",\"shape\":[-1,8],\"offset\":64,\"batched\":true}],"
	"\"params\":["
	"{\"name\":\"conv1.weight\",\"dtype\":\"f32\",\"shape\":[8,1,3,3],\"offset\":0,\"batched\":false,"
	" \"kind\":\"param\",\"init\":\"glorot\",\"fan_in\":9,\"fan_out\":72},"
	"{\"name\":\"conv1.bias\",\"dtype\":\"f32\",\"shape\":[8],\"offset\":320,\"batched\":false,"
	" \"kind\":\"param\",\"init\":\"zeros\",\"fan_in\":8,\"fan_out\":8},"
	"{\"name\":\"bn.running_mean\",\"dtype\":\"f32\",\"shape\":[8],\"offset\":384,\"batched\":false,"
	" \"kind\":\"buffer\",\"init\":\"zeros\",\"fan_in\":8,\"fan_out\":8},"
	"{\"name\":\"bn.running_var\",\"dtype\":\"f32\",\"shape\":[8],\"offset\":448,\"batched\":false,"
	" \"kind\":\"buffer\",\"init\":\"ones\",\"fan_in\":8,\"fan_out\":8}],"
	"\"entries\":[\"predict\"]}";

static RtModel model;

/* Save initialised weights, load them back, compare; check the layout. */
static void test_round_trip(void)
{
	RtErr e = {0}, w = {0};
	char *a = rt_arena_new(&model, 0, &e), *b = rt_arena_new(&model, 0, &e);
	rt_init_params(&model, a, 7);
	int rc = rt_weights_save(&model, a, P("w.safetensors"), &e);
	t_check(rc == 0, "round trip: save", "%s", e.msg);
	rc = rt_weights_load(&model, b, P("w.safetensors"), &e, &w);
	t_check(rc == 0 && !w.set, "round trip: load", "%s %s", e.msg, w.msg);
	t_check(!memcmp(a, b, 512), "round trip: identical bytes", "differ");
	StFile f;
	rc = st_open(&f, P("w.safetensors"), &e);
	t_check(rc == 0 && f.nt == 4 && f.data_start % 8 == 0, "round trip: 4 tensors, data 8-aligned",
	        "rc=%d nt=%d start=%llu", rc, f.nt, (unsigned long long)f.data_start);
	const char *fmt = st_meta(&f, "format"), *h = st_meta(&f, "spec_hash"), *mn = st_meta(&f, "model");
	t_check(fmt && !strcmp(fmt, "lunac") && h && !strcmp(h, "abc123") && mn && !strcmp(mn, "tiny") &&
	        st_meta(&f, "compiler"), "round trip: metadata", "format=%s spec_hash=%s", fmt, h);
	int k = st_find(&f, "conv1.weight");
	t_check(k >= 0 && f.t[k].dtype == ST_F32 && f.t[k].ndim == 4 && f.t[k].shape[0] == 8 &&
	        f.t[k].shape[3] == 3 && st_find(&f, "nope") < 0, "round trip: find by name", "k=%d", k);
	if (!rc)
		st_close(&f);
	rt_arena_free(a);
	rt_arena_free(b);
}

/* A file with the model's tensors, one of them altered by (name, dtype, shape). */
static void write_variant(const char *path, const char *name, StDtype dt, int ndim,
                          const int64_t *shape, const char *extra, const char *hash)
{
	static float buf[4096];
	StOut t[8];
	int n = 0;
	for (int i = 0; i < model.nparams; i++) {
		const RtTensor *p = &model.params[i];
		if (name && !strcmp(p->name, name)) {
			if (ndim < 0)
				continue;   /* drop it */
			t[n++] = (StOut){p->name, dt, ndim, shape, buf};
		} else {
			t[n++] = (StOut){p->name, ST_F32, p->ndim, p->shape, buf};
		}
	}
	static const int64_t one[1] = {3};
	if (extra)
		t[n++] = (StOut){extra, ST_F32, 1, one, buf};
	const char *meta[] = {"format", "lunac", "model", "tiny", "spec_hash", hash};
	RtErr e = {0};
	if (st_write(path, meta, hash ? 3 : 0, t, n, &e))
		printf("# write_variant: %s\n", e.msg);
}

/* Load path into the model: expect failure mentioning want, or success when want is NULL. */
static void expect_load(const char *name, const char *path, const char *want, int want_warn)
{
	RtErr e = {0}, w = {0};
	char *a = rt_arena_new(&model, 0, &e);
	int rc = rt_weights_load(&model, a, path, &e, &w);
	if (getenv("LUNAC_TEST_VERBOSE"))
		printf("# %s%s\n", e.msg, w.msg);
	if (!want)
		t_check(rc == 0 && w.set == want_warn, name, "rc=%d %s / warning: %s", rc, e.msg, w.msg);
	else
		t_check(rc != 0 && strstr(e.msg, want) && strstr(e.msg, path), name,
		        "rc=%d msg=\"%s\", wanted \"%s\"", rc, e.msg, want);
	rt_arena_free(a);
}

/* Loading files that are valid safetensors but do not fit the model. */
static void test_model_mismatch(void)
{
	const char *p = P("m.safetensors");
	int64_t s5[4] = {8, 1, 5, 5}, s3[4] = {8, 1, 3, 3};
	write_variant(p, "conv1.weight", ST_F32, 4, s5, NULL, "abc123");
	expect_load("model: shape mismatch", p,
	            "tensor \"conv1.weight\" has shape [8,1,5,5], the model expects [8,1,3,3]", 0);
	write_variant(p, "conv1.weight", ST_F32, 3, s5, NULL, "abc123");
	expect_load("model: rank mismatch", p, "has shape [8,1,5], the model expects [8,1,3,3]", 0);
	write_variant(p, "conv1.weight", ST_F16, 4, s3, NULL, "abc123");
	expect_load("model: dtype mismatch", p, "tensor \"conv1.weight\" has dtype F16, the model expects F32", 0);
	write_variant(p, "bn.running_var", ST_F32, -1, NULL, NULL, "abc123");
	expect_load("model: missing tensor", p, "tensor \"bn.running_var\" is missing", 0);
	write_variant(p, NULL, ST_F32, 0, NULL, "fc.weight", "abc123");
	expect_load("model: extra tensor", p, "tensor \"fc.weight\" is not a parameter or buffer", 0);
	write_variant(p, NULL, ST_F32, 0, NULL, NULL, "other");
	expect_load("model: other spec_hash loads with a warning", p, NULL, 1);
	write_variant(p, NULL, ST_F32, 0, NULL, NULL, NULL);
	expect_load("model: no metadata (e.g. from PyTorch) loads silently", p, NULL, 0);
	expect_load("model: missing file", P("nope.safetensors"), "cannot open", 0);
}

/* Truncate a valid file at many points: every cut is an error, none crashes. */
static void test_truncation(void)
{
	FILE *f = fopen(P("w.safetensors"), "rb");
	static unsigned char buf[1 << 16];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	size_t hlen = buf[0] | (size_t)buf[1] << 8;
	size_t cuts[] = {0, 1, 7, 8, 9, 8 + hlen / 2, 8 + hlen - 1, 8 + hlen, 8 + hlen + 1, n / 2 + 4, n - 4, n - 1};
	int all = 1;
	for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
		writefile(P("cut.safetensors"), buf, cuts[i]);
		StFile s;
		RtErr e = {0};
		if (st_open(&s, P("cut.safetensors"), &e) == 0) {
			st_close(&s);
			all = 0;
			printf("# cut at %zu accepted\n", cuts[i]);
		} else if (!strstr(e.msg, "cut.safetensors")) {
			all = 0;
			printf("# cut at %zu: message lacks the file name: %s\n", cuts[i], e.msg);
		}
	}
	t_check(all, "truncated at 12 points: each an error naming the file", "see above");
	writefile(P("cut.safetensors"), buf, 3);
	expect_bad("truncated: 3 bytes", P("cut.safetensors"), "too short");
	writefile(P("cut.safetensors"), buf, n - 1);
	expect_bad("truncated: last byte missing", P("cut.safetensors"), "run past the data region");
}

/* Header length field lies. */
static void test_header_length(void)
{
	mkst(P("bad.safetensors"), "{}", 1000, NULL, 0);
	expect_bad("header length past end of file", P("bad.safetensors"), "runs past the end of the file");
	mkst(P("bad.safetensors"), "{}", 1LL << 62, NULL, 0);
	expect_bad("header length absurdly large", P("bad.safetensors"), "absurdly large");
	mkst(P("bad.safetensors"), "{}", -1, NULL, 0);
	StFile f;
	RtErr e = {0};
	int rc = st_open(&f, P("bad.safetensors"), &e);
	t_check(rc == 0 && f.nt == 0, "empty header {} is a valid empty file", "%s", e.msg);
	if (!rc)
		st_close(&f);
	mkst(P("bad.safetensors"), "", -1, NULL, 0);
	expect_bad("zero-length header", P("bad.safetensors"), "does not start with '{'");
}

/* Hostile headers. */
static void test_headers(void)
{
	bad_header("invalid JSON", "{\"a\": ", 0, "not valid JSON");
	bad_header("header not an object", "[1, 2]", 0, "does not start with '{'");
	bad_header("bytes after the JSON object", "{} x", 0, "bytes after its JSON object");
	bad_header("invalid UTF-8", "{\"\xff\xfe\": 1}", 0, "not valid UTF-8");
	bad_header("tensor entry not an object", "{\"a\": 5}", 0, "tensor \"a\": the entry is not an object");
	bad_header("dtype missing", "{\"a\": {\"shape\": [1], \"data_offsets\": [0,4]}}", 4, "\"dtype\" is missing");
	bad_header("dtype not a string", "{\"a\": {\"dtype\": 4, \"shape\": [1], \"data_offsets\": [0,4]}}", 4, "\"dtype\" is missing or not a string");
	bad_header("unknown dtype", "{\"a\": {\"dtype\": \"F33\", \"shape\": [1], \"data_offsets\": [0,4]}}", 4, "unknown dtype \"F33\"");
	bad_header("shape missing", "{\"a\": {\"dtype\": \"F32\", \"data_offsets\": [0,4]}}", 4, "\"shape\" is missing");
	bad_header("shape not an array", "{\"a\": {\"dtype\": \"F32\", \"shape\": \"4\", \"data_offsets\": [0,4]}}", 4, "\"shape\" is missing or not an array");
	bad_header("negative dimension", "{\"a\": {\"dtype\": \"F32\", \"shape\": [-1], \"data_offsets\": [0,4]}}", 4, "dimension 0 of \"shape\"");
	bad_header("fractional dimension", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2, 1.5], \"data_offsets\": [0,12]}}", 12, "dimension 1 of \"shape\"");
	bad_header("dimension beyond 2^53", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1e300], \"data_offsets\": [0,4]}}", 4, "dimension 0");
	bad_header("overflowing shape product", "{\"a\": {\"dtype\": \"F64\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0,8]}}", 8, "overflows");
	bad_header("too many dimensions", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1], \"data_offsets\": [0,4]}}", 4, "17 dimensions");
	bad_header("data_offsets missing", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4, "\"data_offsets\" must be");
	bad_header("data_offsets wrong length", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0]}}", 4, "\"data_offsets\" must be");
	bad_header("data_offsets negative", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [-4,0]}}", 4, "\"data_offsets\" must be");
	bad_header("data_offsets strings", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [\"0\",\"4\"]}}", 4, "\"data_offsets\" must be");
	bad_header("end before begin", "{\"a\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4,0]}}", 4, "end before they begin");
	bad_header("offsets out of range", "{\"a\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0,16]}}", 8, "run past the data region");
	bad_header("byte length != numel * size", "{\"a\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0,8]}}", 8, "span 8 bytes but F32[3] needs 12");
	bad_header("overlapping tensors",
	           "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0,8]},"
	           " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4,12]}}", 12, "overlap");
	bad_header("identical offsets overlap",
	           "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0,8]},"
	           " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0,8]}}", 8, "overlap");
	bad_header("gap in the data region",
	           "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0,4]},"
	           " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8,12]}}", 12, "bytes 4 to 8 of the data region belong to no tensor");
	bad_header("trailing bytes after the data", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0,4]}}", 9, "has 9 bytes but the tensors cover 4");
	bad_header("duplicate tensor names",
	           "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0,4]},"
	           " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4,8]}}", 8, "names tensor \"a\" twice");
	bad_header("metadata not an object", "{\"__metadata__\": [1]}", 0, "\"__metadata__\" is not an object");
	bad_header("metadata value not a string", "{\"__metadata__\": {\"k\": 1}}", 0, "metadata \"k\" is not a string");
	bad_header("metadata twice", "{\"__metadata__\": {}, \"__metadata__\": {}}", 0, "\"__metadata__\" twice");
	bad_header("duplicate metadata key", "{\"__metadata__\": {\"k\": \"1\", \"k\": \"2\"}}", 0, "\"k\" appears twice");
	static char deep[5000];
	strcpy(deep, "{\"a\": ");
	for (int i = 0; i < 2000; i++)
		strcat(deep, "[");
	bad_header("nesting 2000 deep", deep, 0, "not valid JSON");
	bad_header("zero-size tensors are fine but must still tile",
	           "{\"a\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4,4]}}", 4, "belong to no tensor");
}

/* A safetensors file whose header is the h bytes at header (NULs allowed). */
static void mkst_n(const char *path, const char *header, size_t h, size_t datalen)
{
	unsigned char *buf = calloc(1, 8 + h + datalen);
	for (int i = 0; i < 8; i++)
		buf[i] = (unsigned char)((unsigned long long)h >> (8 * i));
	memcpy(buf + 8, header, h);
	writefile(path, buf, 8 + h + datalen);
	free(buf);
}

/* A value cut short without a word is refused: a NUL inside a name (raw or
** \u0000) or after the JSON, and numbers that are integers only as doubles
** (1e3, 4.0, 2^53 + 1 which rounds to 2^53). */
static void test_cut_short(void)
{
	static const char raw[] = "{\"w\0x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0,4]}}";
	mkst_n(P("nul.safetensors"), raw, sizeof raw - 1, 4);
	expect_bad("a raw NUL inside a tensor name", P("nul.safetensors"), "byte 3 of the JSON text: a NUL byte");
	static const char after[] = "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0,4]}}\0\0";
	mkst_n(P("nul.safetensors"), after, sizeof after - 1, 4);
	expect_bad("NUL bytes after the JSON object", P("nul.safetensors"), "a NUL byte");
	bad_header("the escape \\u0000 inside a tensor name",
	           "{\"w\\u0000x\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0,4]}}", 4,
	           "the escape \\u0000");
	bad_header("the escape \\u0000 inside a metadata value", "{\"__metadata__\": {\"k\": \"a\\u0000b\"}}",
	           0, "the escape \\u0000");
	bad_header("a raw control byte in a name", "{\"w\x01\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0,4]}}",
	           4, "a control byte 0x01");
	bad_header("data_offsets in exponent form", "{\"a\": {\"dtype\": \"U8\", \"shape\": [1000], \"data_offsets\": [0,1e3]}}",
	           1000, "the number 1e3 is not an integer");
	bad_header("data_offsets as 4.0", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0,4.0]}}",
	           4, "the number 4.0 is not an integer");
	bad_header("a shape dimension as 2.0", "{\"a\": {\"dtype\": \"F32\", \"shape\": [2.0], \"data_offsets\": [0,8]}}",
	           8, "the number 2.0 is not an integer");
	bad_header("a dimension of 2^53 + 1 (a double rounds it to 2^53)",
	           "{\"a\": {\"dtype\": \"U8\", \"shape\": [0, 9007199254740993], \"data_offsets\": [0,0]}}",
	           0, "9007199254740993 is not an integer");
	bad_header("a leading zero", "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0,04]}}",
	           4, "the number 04 is not an integer");
	static unsigned char data[4];
	mkst(P("ok.safetensors"), "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0,4]},"
	     " \"__metadata__\": {\"k\": \"1.5e3 \\\\u0000 -1\"}}", -1, data, 4);
	StFile f;
	RtErr e = {0};
	int rc = st_open(&f, P("ok.safetensors"), &e);
	t_check(rc == 0 && !strcmp(st_meta(&f, "k"), "1.5e3 \\u0000 -1"),
	        "numbers and an escaped backslash-u0000 inside strings are text", "%s", e.msg);
	if (!rc)
		st_close(&f);
}

/* Valid but unusual files the reader must accept. */
static void test_accepts(void)
{
	static unsigned char data[16];
	mkst(P("ok.safetensors"),
	     "{\"b\": {\"dtype\": \"I64\", \"shape\": [1], \"data_offsets\": [4,12]},"
	     " \"e\": {\"dtype\": \"F32\", \"shape\": [0, 3], \"data_offsets\": [12,12]},"
	     " \"a\": {\"dtype\": \"BF16\", \"shape\": [2], \"data_offsets\": [0,4], \"extra\": 1},"
	     " \"__metadata__\": {\"k\": \"v\"}}      ", -1, data, 12);
	StFile f;
	RtErr e = {0};
	int rc = st_open(&f, P("ok.safetensors"), &e);
	t_check(rc == 0 && f.nt == 3 && st_find(&f, "a") == 2 && st_find(&f, "e") == 1 &&
	        st_meta(&f, "k") && !strcmp(st_meta(&f, "k"), "v"),
	        "accepts out-of-order tensors, empty tensors, unknown fields, padding", "%s", e.msg);
	if (!rc)
		st_close(&f);
}

/* Writes that fail leave nothing behind. */
static void test_write_failures(void)
{
	RtErr e = {0};
	char *a = rt_arena_new(&model, 0, &e);
	int rc = rt_weights_save(&model, a, P("no/such/dir/w.safetensors"), &e);
	t_check(rc != 0 && strstr(e.msg, "no/such/dir/w.safetensors"), "write into a missing directory: error",
	        "rc=%d %s", rc, e.msg);
	t_check(!leftover_tmp(), "failed writes leave no temporary file", "found one");
	int64_t s[1] = {1};
	StOut t[2] = {{"x", ST_F32, 1, s, a}, {"x", ST_F32, 1, s, a}};
	RtErr e2 = {0};
	rc = st_write(P("dup.safetensors"), NULL, 0, t, 2, &e2);
	t_check(rc != 0 && access(P("dup.safetensors"), F_OK) != 0, "writer refuses duplicate names",
	        "rc=%d", rc);
	rt_arena_free(a);
}

/* 3000 seeded random mutations of a valid file (byte flips, ASCII digits and
** punctuation in the header, truncation): none may crash, and every
** rejection must name the file. */
static void test_mutations(void)
{
	static unsigned char orig[4096], buf[4096];
	FILE *f = fopen(P("w.safetensors"), "rb");
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
		FILE *g = fopen(P("mut.safetensors"), "wb");
		fwrite(buf, 1, len, g);
		fclose(g);
		StFile s;
		RtErr e = {0};
		if (st_open(&s, P("mut.safetensors"), &e) == 0) {
			accepted++;
			st_close(&s);
		} else if (!e.set || !strstr(e.msg, "mut.safetensors")) {
			silent++;
		}
	}
	t_check(n > 0 && silent == 0, "3000 random mutations: no crash, every error names the file",
	        "n=%zu silent=%d", n, silent);
	printf("# mutations: %d of 3000 still valid\n", accepted);
}

int main(void)
{
	if (t_dir_open("lunac-st"))
		return 1;
	RtErr e = {0};
	t_check(rt_model_parse(&model, model_json, &e) == 0, "test model parses", "%s", e.msg);
	test_round_trip();
	test_model_mismatch();
	test_truncation();
	test_header_length();
	test_headers();
	test_cut_short();
	test_accepts();
	test_write_failures();
	test_mutations();
	rt_model_free(&model);
	t_dir_cleanup();
	return t_done();
}
