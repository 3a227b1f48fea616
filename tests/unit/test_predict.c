/*
** test_predict.c -- the model descriptor, parameter initialisation, `info`
** and `predict`, against a model defined here: a dense layer
** probs = x . W^T + b over 2x2 images, with a hand-written entry point in
** place of generated code (librtcore holds no main and no generated symbols).
** Also the runtime's path and string helpers on empty, very long and odd
** names, and the one open-for-read helper on what is not a regular file.
*/
#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "rt.h"
#include "t.h"
#include "t_dir.h"


/* Arena: fixed [w 3x4 @0][b 3 @64] = 128 bytes; batched per sample [image 4 @0][probs 3 @16] = 32. */
#define DESC(params) \
	"{\"format\":\"lunac-model-1\",\"name\":\"dense\",\"compiler\":\"lunac test\"," \
	"\"spec_hash\":\"feed\",\"fixed_bytes\":128,\"batch_bytes\":32," \
	"\"inputs\":[{\"name\":\"image\",\"dtype\":\"f32\",\"shape\":[-1,1,2,2],\"offset\":0,\"batched\":true}]," \
	"\"outputs\":[{\"name\":\"probs\",\"dtype\":\"f32\",\"shape\":[-1,3],\"offset\":16,\"batched\":true}]," \
	"\"params\":[" params "],\"entries\":[\"predict\"]}"
#define W "{\"name\":\"fc.weight\",\"dtype\":\"f32\",\"shape\":[3,4],\"offset\":0,\"batched\":false," \
	"\"kind\":\"param\",\"init\":\"glorot\",\"fan_in\":4,\"fan_out\":3}"
#define B "{\"name\":\"fc.bias\",\"dtype\":\"f32\",\"shape\":[3],\"offset\":64,\"batched\":false," \
	"\"kind\":\"param\",\"init\":\"ones\",\"fan_in\":3,\"fan_out\":3}"

static RtModel model;
static int64_t max_n, calls;
static int misaligned;

/* The "generated" entry point: probs[i] = W . image[i] + b. */
static void fake_predict(char *arena, int64_t n, const RtCtx *ctx)
{
	const float *w = (float *)arena, *b = (float *)(arena + 64);
	const float *x = (float *)(arena + 128);
	float *y = (float *)(arena + 128 + 16 * n);
	misaligned |= ((uintptr_t)arena & 63) != 0;
	max_n = n > max_n ? n : max_n;
	calls++;
	for (int64_t i = 0; i < n; i++)
		for (int o = 0; o < 3; o++) {
			float s = b[o];
			for (int k = 0; k < 4; k++)
				s += w[o * 4 + k] * x[i * 4 + k];
			y[i * 3 + o] = s;
		}
}

/* Parse json; the message holds want. */
static void bad_desc(const char *name, const char *json, const char *want)
{
	RtModel m;
	RtErr e = {0};
	int rc = rt_model_parse(&m, json, &e);
	if (!rc)
		rt_model_free(&m);
	t_check(rc != 0 && strstr(e.msg, "internal error") && strstr(e.msg, want), name,
	        "rc=%d msg=\"%s\", wanted \"%s\"", rc, e.msg, want);
}

static void test_descriptor(void)
{
	RtErr e = {0};
	int rc = rt_model_parse(&model, DESC(W "," B), &e);
	t_check(rc == 0 && model.ninputs == 1 && model.noutputs == 1 && model.nparams == 2 &&
	        model.params[0].init == RT_INIT_GLOROT && model.params[1].init == RT_INIT_ONES &&
	        model.inputs[0].shape[0] == -1 && model.inputs[0].batched,
	        "descriptor parses", "%s", e.msg);
	t_check(rt_arena_bytes(&model, 10) == 128 + 320 && rt_numel(&model.inputs[0], 5) == 20 &&
	        rt_sample_numel(&model.inputs[0]) == 4 && rt_param_count(&model) == 15,
	        "arena size, element counts, parameter count", "%lld", (long long)rt_arena_bytes(&model, 10));
	char *a = rt_arena_new(&model, 3, &e);
	t_check(a && rt_tensor_addr(&model, &model.outputs[0], a, 3) == a + 128 + 48 &&
	        rt_tensor_addr(&model, &model.params[1], a, 3) == a + 64 && ((uintptr_t)a & 63) == 0,
	        "tensor addresses; arena 64-byte aligned", "");
	rt_arena_free(a);
	bad_desc("descriptor: invalid JSON", "{\"format\": ", "invalid JSON");
	bad_desc("descriptor: not an object", "[]", "not a JSON object");
	bad_desc("descriptor: unknown format", "{\"format\":\"lunac-model-9\"}", "unknown format");
	bad_desc("descriptor: missing name", "{\"format\":\"lunac-model-1\"}", "\"name\" is missing");
	bad_desc("descriptor: tensor outside its region",
	         DESC("{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[100],\"offset\":0,\"batched\":false,"
	              "\"kind\":\"param\",\"init\":\"zeros\",\"fan_in\":1,\"fan_out\":1}"), "outside the fixed region");
	bad_desc("descriptor: -1 not first",
	         DESC("{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[2,-1],\"offset\":0,\"batched\":false,"
	              "\"kind\":\"param\",\"init\":\"zeros\",\"fan_in\":1,\"fan_out\":1}"), "dimension 1");
	bad_desc("descriptor: duplicate parameter", DESC(W "," W), "names \"fc.weight\" twice");
	bad_desc("descriptor: unknown init",
	         DESC("{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[2],\"offset\":0,\"batched\":false,"
	              "\"kind\":\"param\",\"init\":\"he\",\"fan_in\":1,\"fan_out\":1}"), "\"init\" must be");
	bad_desc("descriptor: glorot without fans",
	         DESC("{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[2],\"offset\":0,\"batched\":false,"
	              "\"kind\":\"param\",\"init\":\"glorot\",\"fan_in\":0,\"fan_out\":0}"), "fan_in + fan_out");
	bad_desc("descriptor: batched parameter",
	         DESC("{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":[-1],\"offset\":0,\"batched\":true,"
	              "\"kind\":\"param\",\"init\":\"zeros\",\"fan_in\":1,\"fan_out\":1}"), "cannot be batched");
}

static void test_init(void)
{
	float a[12], b[12], c[12], d[12], ones[3];
	rt_init_tensor(&model.params[0], 42, a);
	rt_init_tensor(&model.params[0], 42, b);
	rt_init_tensor(&model.params[0], 43, c);
	rt_init_tensor(&model.params[1], 42, ones);
	float lim = sqrtf(6.0f / 7.0f), lo = 1, hi = -1;
	for (int i = 0; i < 12; i++) {
		lo = a[i] < lo ? a[i] : lo;
		hi = a[i] > hi ? a[i] : hi;
	}
	t_check(!memcmp(a, b, sizeof a) && memcmp(a, c, sizeof a), "init: same seed same values, other seed other values", "");
	t_check(lo >= -lim && hi <= lim && hi - lo > lim / 2, "init: glorot within +-sqrt(6/(fan_in+fan_out))",
	        "range [%g, %g], L=%g", lo, hi, lim);
	t_check(ones[0] == 1 && ones[2] == 1, "init: ones", "");
	RtModel rev;
	RtErr e = {0};
	rt_model_parse(&rev, DESC(B "," W), &e);
	rt_init_tensor(&rev.params[1], 42, d);
	t_check(!memcmp(a, d, sizeof a), "init: independent of parameter order", "%s", e.msg);
	rt_model_free(&rev);
}

/* An .npy of n samples [n,1,2,2] (or one sample [1,2,2] when n < 0). */
static void write_x(const char *path, int n)
{
	float v[64];
	for (int i = 0; i < 64; i++)
		v[i] = (float)((i * 7) % 11) / 11.0f - 0.5f;
	RtArray a = {RT_F32, n < 0 ? 3 : 4, {0}, v};
	int k = 0;
	if (n >= 0)
		a.shape[k++] = n;
	a.shape[k++] = 1;
	a.shape[k++] = 2;
	a.shape[k++] = 2;
	RtErr e = {0};
	rt_npy_write(path, &a, &e);
}

/* rt_predict with the fake entry point; the JSON printed goes to *json (malloc'ed). */
static int predict(const char *weights, const char *x, const char *out, int64_t batch, char **json, RtErr *e,
                   RtErr *w)
{
	size_t len;
	FILE *f = open_memstream(json, &len);
	const char *in[1] = {x}, *outs[1] = {out};
	RtPredictOpts o = {weights, in, outs, batch, 1, f, NULL, NULL};
	max_n = calls = 0;
	int rc = rt_predict(&model, fake_predict, &o, e, w);
	fclose(f);
	return rc;
}

static void test_predict(void)
{
	RtErr e = {0}, w = {0};
	int rc = rt_init_file(&model, 1, P("w.safetensors"), &e);
	t_check(rc == 0, "init writes weights", "%s", e.msg);
	write_x(P("x.npy"), 5);
	char *j1 = NULL, *j2 = NULL;
	rc = predict(P("w.safetensors"), P("x.npy"), P("y.npy"), 0, &j1, &e, &w);
	t_check(rc == 0 && calls == 1 && max_n == 5 && !misaligned && !w.set, "predict: 5 samples in one call",
	        "rc=%d %s calls=%lld", rc, e.msg, (long long)calls);
	cJSON *root = cJSON_Parse(j1), *probs = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "outputs"), "probs");
	cJSON *data = cJSON_GetObjectItem(probs, "data"), *am = cJSON_GetObjectItem(probs, "argmax");
	t_check(root && cJSON_GetObjectItem(root, "samples")->valueint == 5 && cJSON_GetArraySize(data) == 5 &&
	        cJSON_GetArraySize(cJSON_GetArrayItem(data, 0)) == 3 && cJSON_GetArraySize(am) == 5,
	        "predict: JSON with samples, data [5][3] and argmax", "%s", j1);
	int best_ok = 1;
	for (int i = 0; root && i < 5; i++) {
		cJSON *row = cJSON_GetArrayItem(data, i);
		int best = 0;
		for (int k = 1; k < 3; k++)
			if (cJSON_GetArrayItem(row, k)->valuedouble > cJSON_GetArrayItem(row, best)->valuedouble)
				best = k;
		best_ok &= cJSON_GetArrayItem(am, i)->valueint == best;
	}
	t_check(best_ok, "predict: argmax agrees with data", "");
	RtArray y;
	RtErr e2 = {0};
	rc = rt_npy_read(P("y.npy"), RT_F32, &y, &e2);
	t_check(rc == 0 && y.ndim == 2 && y.shape[0] == 5 && y.shape[1] == 3 &&
	        fabs(((float *)y.data)[4] - cJSON_GetArrayItem(cJSON_GetArrayItem(data, 1), 1)->valuedouble) < 1e-6,
	        "predict: -o writes [5,3] .npy matching the JSON", "%s", e2.msg);
	if (!rc)
		rt_array_free(&y);
	cJSON_Delete(root);
	rc = predict(P("w.safetensors"), P("x.npy"), NULL, 2, &j2, &e, &w);
	t_check(rc == 0 && calls == 3 && max_n == 2 && !strcmp(j1, j2), "predict: --batch 2 gives 3 calls, same output",
	        "rc=%d calls=%lld", rc, (long long)calls);
	free(j1);
	free(j2);
	write_x(P("one.npy"), -1);
	rc = predict(P("w.safetensors"), P("one.npy"), NULL, 0, &j1, &e, &w);
	t_check(rc == 0 && strstr(j1, "\"samples\": 1") && strstr(j1, "\"shape\": [1, 3]"),
	        "predict: a single sample [1,2,2] gives shape [1,3]", "%s %s", e.msg, j1);
	free(j1);
}

static void test_predict_errors(void)
{
	RtErr e = {0}, w = {0};
	char *j = NULL;
	float v[8] = {0};
	RtArray a = {RT_F32, 3, {2, 2, 1}, v};   /* [2,2,2] would be two grey images, as train reads it */
	rt_npy_write(P("bad.npy"), &a, &e);
	int rc = predict(P("w.safetensors"), P("bad.npy"), P("z.npy"), 0, &j, &e, &w);
	char want[512];
	snprintf(want, sizeof want, "%s: shape [2,2,1] does not match input \"image\" [N,1,2,2]", P("bad.npy"));
	t_check(rc != 0 && !strcmp(e.msg, want) && calls == 0 && access(P("z.npy"), F_OK) != 0,
	        "predict: wrong input shape", "msg=\"%s\"", e.msg);
	free(j);
	FILE *f = fopen(P("corrupt.safetensors"), "wb");
	fputs("\x10\0\0\0\0\0\0\0{\"a\": garbage!!}", f);
	fclose(f);
	RtErr e2 = {0};
	rc = predict(P("corrupt.safetensors"), P("x.npy"), P("z.npy"), 0, &j, &e2, &w);
	t_check(rc != 0 && strstr(e2.msg, "corrupt.safetensors") && calls == 0 && access(P("z.npy"), F_OK) != 0,
	        "predict: corrupt weights, an error naming the file, no output file", "msg=\"%s\"", e2.msg);
	free(j);
	DIR *d = opendir(dir);
	struct dirent *de;
	int tmp = 0;
	while (d && (de = readdir(d)))
		tmp |= strstr(de->d_name, ".tmp.") != NULL;
	closedir(d);
	t_check(!tmp, "predict: no temporary files left", "");
}

/* Outputs that are not numbers are an error, not class 0. */
static void test_predict_nan(void)
{
	float v[8];
	for (int i = 0; i < 8; i++)
		v[i] = NAN;
	RtArray a = {RT_F32, 4, {2, 1, 2, 2}, v};
	RtErr e = {0}, w = {0};
	rt_npy_write(P("nan.npy"), &a, &e);
	char *j = NULL;
	int rc = predict(P("w.safetensors"), P("nan.npy"), P("zn.npy"), 0, &j, &e, &w);
	t_check(rc != 0 && strstr(e.msg, "the output \"probs\" of sample 0 is not a number (NaN)") &&
	        strstr(e.msg, "w.safetensors") && access(P("zn.npy"), F_OK) != 0 && (!j || !strstr(j, "argmax")),
	        "predict: NaN outputs are an error naming the output and sample, nothing written",
	        "%s", e.msg);
	free(j);
	v[4] = INFINITY;
	for (int i = 0; i < 4; i++)
		v[i] = 0;
	rt_npy_write(P("inf.npy"), &a, &e);
	RtErr e2 = {0};
	j = NULL;
	rc = predict(P("w.safetensors"), P("inf.npy"), NULL, 0, &j, &e2, &w);
	t_check(rc != 0 && strstr(e2.msg, "the output \"probs\" of sample 1 is "), "predict: an infinite input, sample 1 named",
	        "%s", e2.msg);
	free(j);
}

/* Only regular files are read; nothing blocks on a FIFO. */
static void test_open_read(void)
{
	mkfifo(P("fifo"), 0666);
	mkdir(P("adir"), 0777);
	static const struct { const char *path, *want, *name; } bad[] = {
		{"", "the file name is empty", "open for reading: an empty name"},
		{NULL, "fifo is not a regular file (it is a named pipe)", "open for reading: a FIFO, at once"},
		{NULL, "adir is not a regular file (it is a directory)", "open for reading: a directory"},
		{"/dev/null", "/dev/null is not a regular file (it is a device)", "open for reading: a device"},
		{NULL, "nosuch: cannot open: No such file", "open for reading: a missing file"},
	};
	const char *paths[] = {"", P("fifo"), P("adir"), "/dev/null", P("nosuch")};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		RtErr e = {0};
		int fd = rt_open_read(paths[i], &e);
		t_check(fd < 0 && strstr(e.msg, bad[i].want), bad[i].name, "fd %d: %s", fd, e.msg);
		if (fd >= 0)
			close(fd);
	}
	RtErr e = {0};
	FILE *f = rt_fopen_read(P("fifo"), &e);
	t_check(!f && strstr(e.msg, "is not a regular file"), "open for reading: stdio, a FIFO", "%s", e.msg);
	RtErr e1 = {0};
	int fd = rt_open_read(P("w.safetensors"), &e1);
	char c;
	t_check(fd >= 0 && read(fd, &c, 1) == 1, "open for reading: a regular file opens (blocking)", "%s", e1.msg);
	if (fd >= 0)
		close(fd);
	const char *in[1] = {P("fifo")};
	RtPredictOpts o = {P("w.safetensors"), in, NULL, 0, 1, NULL, NULL, NULL};
	RtErr e2 = {0}, w = {0};
	int rc = rt_predict(&model, fake_predict, &o, &e2, &w);
	t_check(rc && strstr(e2.msg, "fifo is not a regular file"), "predict: a FIFO input is refused at once",
	        "%s", e2.msg);
}

/* Output files: empty, "/", a trailing slash, 5000 characters, exactly
** PATH_MAX; errors never overflow (ASan) and messages show "..." when cut. */
static void test_out_names(void)
{
	RtOut o;
	static const struct { const char *want, *name; } cases[] = {
		{"the output file name is empty", "output: an empty name"},
		{"/: names a directory, not a file", "output: /"},
		{"adir/: names a directory, not a file", "output: a trailing slash"},
		{"adir is not a regular file (it is a directory)", "output: an existing directory"},
		{"ofifo is not a regular file (it is a named pipe)", "output: a FIFO, refused before anything is written"},
		{"...", "output: a 5000-character name, the message cut with ..."},
		{"...", "output: a name of exactly PATH_MAX characters"},
	};
	mkfifo(P("ofifo"), 0666);
	char *longp = malloc(5001), *pm = malloc(PATH_MAX + 1);
	memset(longp, 'a', 5000);
	longp[5000] = 0;
	snprintf(pm, PATH_MAX + 1, "%s/", dir);
	for (size_t k = strlen(pm); k < PATH_MAX; k++)
		pm[k] = k % 100 == 0 ? '/' : 'b';
	pm[PATH_MAX] = 0;
	char adir_slash[300], adir_plain[300];
	snprintf(adir_slash, sizeof adir_slash, "%s/", P("adir"));
	snprintf(adir_plain, sizeof adir_plain, "%s", P("adir"));
	const char *paths[] = {"", "/", adir_slash, adir_plain, P("ofifo"), longp, pm};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		RtErr e = {0};
		int rc = rt_out_open(&o, paths[i], &e);
		if (!rc) {
			rt_out_write(&o, "x", 1, &e);
			rc = rt_out_commit(&o, &e);
		}
		t_check(rc && strstr(e.msg, cases[i].want) && strlen(e.msg) < RT_ERRLEN, cases[i].name, "%s", e.msg);
		rt_out_abort(&o);
	}
	struct stat sb;
	t_check(stat(P("ofifo"), &sb) == 0 && S_ISFIFO(sb.st_mode), "output: the FIFO is still a FIFO", "%s", P("ofifo"));
	free(longp);
	free(pm);
	RtErr e = {0};
	char msg[2000];
	memset(msg, 'm', sizeof msg - 1);
	msg[sizeof msg - 1] = 0;
	rt_errorf(&e, "%s: the reason", msg);
	t_check(strlen(e.msg) == RT_ERRLEN - 1 && strstr(e.msg, "mmm...mmm") && strstr(e.msg, ": the reason"),
	        "errors: a message longer than RT_ERRLEN keeps its start and end around ...", "%s", e.msg);
	int64_t shape[RT_MAXDIM];
	for (int i = 0; i < RT_MAXDIM; i++)
		shape[i] = INT64_MIN + 1 + (i == 0);   /* negative: N */
	shape[1] = INT64_MAX;
	for (int i = 2; i < RT_MAXDIM; i++)
		shape[i] = INT64_MAX;
	char big[RT_SHAPE_STRLEN], small[16];
	rt_shape_str(big, sizeof big, RT_MAXDIM, shape);
	rt_shape_str(small, sizeof small, RT_MAXDIM, shape);
	t_check(big[strlen(big) - 1] == ']' && !strncmp(big, "[N,9223372036854775807,", 23) &&
	        !strcmp(small + sizeof small - 4, "..."), "shapes: 16 dimensions fit RT_SHAPE_STRLEN; less ends in ...",
	        "%s | %s", big, small);
	rmdir(P("adir"));
}

static void test_info(void)
{
	char *buf = NULL;
	size_t len;
	FILE *f = open_memstream(&buf, &len);
	RtErr e = {0};
	int rc = rt_info(&model, f, &e);
	fclose(f);
	cJSON *root = cJSON_Parse(buf);
	t_check(rc == 0 && root && cJSON_GetObjectItem(root, "trainable_parameters")->valueint == 15 &&
	        cJSON_GetArraySize(cJSON_GetObjectItem(root, "parameters")) == 2 &&
	        cJSON_GetObjectItem(root, "bytes_per_sample")->valueint == 32,
	        "info: valid JSON with parameter count and bytes per sample", "%s", buf);
	cJSON_Delete(root);
	free(buf);
}

/* A CPU with SSE4.2 and AVX2 but no AVX-512; it knows nothing of "prfchw". */
static int fake_has(const char *f, size_t n)
{
	static const char *const yes[] = {"sse4.2", "avx", "avx2", "fma"};
	static const char *const no[] = {"avx512f", "avx512bw", "avx512vl"};
	for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
		if (strlen(yes[i]) == n && !memcmp(f, yes[i], n))
			return 1;
	for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
		if (strlen(no[i]) == n && !memcmp(f, no[i], n))
			return 0;
	return -1;
}

/* The start-up check: features the code needs and the CPU lacks are named. */
static void test_cpu_check(void)
{
	RtErr e = {0};
	t_check(!rt_cpu_check_with("znver3", "+avx,+avx2,+fma,-avx512f,+prfchw", fake_has, &e),
	        "cpu check: every needed feature present", "%s", e.msg);
	t_check(!rt_cpu_check_with(NULL, NULL, fake_has, &e) && !rt_cpu_check_with("x", "", fake_has, &e),
	        "cpu check: no recorded features, nothing to check", "%s", e.msg);
	RtErr e2 = {0};
	t_check(rt_cpu_check_with("znver4", "+avx2,+avx512f,-sse4a,+avx512bw,+prfchw", fake_has, &e2) == -1 &&
	        strstr(e2.msg, "compiled for the CPU znver4") && strstr(e2.msg, "(avx512f, avx512bw)") &&
	        strstr(e2.msg, "--cpu=x86-64-v2"), "cpu check: missing AVX-512 named", "%s", e2.msg);
	RtErr e3 = {0};
	t_check(rt_cpu_check_with(NULL, "+avx512vl", fake_has, &e3) == -1 &&
	        strstr(e3.msg, "(unrecorded)") && strstr(e3.msg, "an instruction set it needs (avx512vl)"),
	        "cpu check: one missing, no CPU name", "%s", e3.msg);
}

int main(void)
{
	if (t_dir_open("lunac-pred"))
		return 1;
	test_descriptor();
	test_init();
	test_predict();
	test_predict_errors();
	test_predict_nan();
	test_open_read();
	test_out_names();
	test_info();
	test_cpu_check();
	rt_model_free(&model);
	t_dir_cleanup();
	return t_done();
}
