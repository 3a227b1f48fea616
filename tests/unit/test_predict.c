/*
** test_predict.c -- the model descriptor, parameter initialisation, `info`
** and `predict`, against a model defined here: a dense layer
** probs = x . W^T + b over 2x2 images, with a hand-written entry point in
** place of generated code (librtcore holds no main and no generated symbols).
*/
#include <dirent.h>
#include <math.h>
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
	free(a);
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
	RtPredictOpts o = {weights, in, outs, batch, 1, f, NULL};
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
	RtArray a = {RT_F32, 3, {2, 2, 2}, v};
	rt_npy_write(P("bad.npy"), &a, &e);
	int rc = predict(P("w.safetensors"), P("bad.npy"), P("z.npy"), 0, &j, &e, &w);
	char want[512];
	snprintf(want, sizeof want, "%s: shape [2,2,2] does not match input \"image\" [N,1,2,2]", P("bad.npy"));
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

int main(void)
{
	if (t_dir_open("lunac-pred"))
		return 1;
	test_descriptor();
	test_init();
	test_predict();
	test_predict_errors();
	test_info();
	rt_model_free(&model);
	t_dir_cleanup();
	return t_done();
}
