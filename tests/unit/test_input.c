/*
** test_input.c -- one preprocessing path for every command (input.c): the
** same file gives the same model input through `train`/`eval` (a dataset
** spec, then the loader) and through `predict`/`mc` (rt_input_read): a
** uint8 .npy, a float .npy and a PNG that must be resized and converted,
** with both resize filters; the note that says what was resized; the
** checkpoint's preprocessing (rt_prep_for); a weights file of another model
** named first (rt_weights_origin); and truly paired .npy arrays.
*/
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data.h"
#include "image.h"
#include "rt.h"
#include "t.h"
#include "t_dir.h"
#include "train.h"

/* A classifier of [1,4,4] images: 3 classes, a task, one parameter. */
#define DESC(name, hash, wshape) \
	"{\"format\":\"lunac-model-1\",\"name\":\"" name "\",\"compiler\":\"c\",\"spec_hash\":\"" \
	hash "\",\"fixed_bytes\":256,\"batch_bytes\":80,\"inputs\":[" \
	"{\"name\":\"image\",\"dtype\":\"f32\",\"shape\":[-1,1,4,4],\"offset\":0,\"batched\":true}," \
	"{\"name\":\"y\",\"dtype\":\"i32\",\"shape\":[-1],\"offset\":64,\"batched\":true}]," \
	"\"outputs\":[{\"name\":\"probs\",\"dtype\":\"f32\",\"shape\":[-1,3],\"offset\":68," \
	"\"batched\":true}],\"params\":[{\"name\":\"w\",\"dtype\":\"f32\",\"shape\":" wshape \
	",\"offset\":0,\"batched\":false,\"kind\":\"param\",\"init\":\"glorot\",\"fan_in\":3," \
	"\"fan_out\":2}],\"tasks\":[{\"name\":\"probs\",\"output\":\"probs\",\"label\":\"y\"," \
	"\"classes\":3}],\"entries\":[{\"name\":\"predict\",\"outputs\":[\"probs\"]}]}"

static RtModel model;

/* Write a .npy file: header for descr and shape, then n bytes of data. */
static void put_npy(const char *path, const char *descr, const char *shape, const void *data,
                    size_t n)
{
	char h[128];
	int k = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': %s, }", descr,
	                 shape);
	while ((10 + k + 1) % 64)
		h[k++] = ' ';
	h[k++] = '\n';
	FILE *f = fopen(path, "wb");
	unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)k, 0};
	fwrite(pre, 1, 10, f);
	fwrite(h, 1, (size_t)k, f);
	fwrite(data, 1, n, f);
	fclose(f);
}

/* The model input of sample s of a dataset spec, as eval feeds it: the
** dataset opened for the model, then the loader with norm. */
static int via_dataset(const char *spec, ImgFilter f, const DataNorm *norm, int64_t s,
                       float out[16], char **note)
{
	RtDataArgs a = {.data = spec, .threads = 2, .resize = f};
	RtFeed feed;
	Dataset ds;
	RtErr e = {0};
	if (rt_data_open(&model, &a, &feed, &ds, &e)) {
		printf("# %s: %s\n", spec, e.msg);
		return -1;
	}
	LoaderOpts lo = {.norm = *norm};
	Loader *L = NULL;
	int64_t order[1] = {s};
	Batch b;
	int rc = loader_open(&L, &ds, &lo, order, 1, 1, &e) || !loader_next(L, &b) ? -1 : 0;
	if (!rc)
		memcpy(out, b.x[0], sizeof(float) * 16);
	if (note)
		*note = ds.note ? strdup(ds.note) : NULL;
	loader_close(L);
	data_free(&ds);
	return rc;
}

/* The model input of sample s of a file, as predict and mc read it. */
static int via_input(const char *path, ImgFilter f, const DataNorm *norm, int64_t s,
                     float out[16], char **note)
{
	DataPrep p = {.norm = *norm, .resize = f, .note = note};
	RtArray a;
	RtErr e = {0};
	if (rt_input_read(path, &model.inputs[0], &p, &a, &e)) {
		printf("# %s: %s\n", path, e.msg);
		return -1;
	}
	int ok = a.ndim == 4 && a.shape[0] > s && a.shape[1] == 1 && a.shape[2] == 4 &&
	         a.shape[3] == 4;
	if (ok)
		memcpy(out, (float *)a.data + 16 * s, sizeof(float) * 16);
	rt_array_free(&a);
	return ok ? 0 : -1;
}

/* Compare the two paths for one file and say so. */
static void same(const char *name, const char *spec, const char *path, ImgFilter f,
                 const DataNorm *norm, int64_t s)
{
	float a[16], b[16];
	int ok = !via_dataset(spec, f, norm, s, a, NULL) && !via_input(path, f, norm, s, b, NULL) &&
	         !memcmp(a, b, sizeof a);
	t_check(ok, name, "train/eval %g %g, predict/mc %g %g", a[0], a[5], b[0], b[5]);
}

/* A uint8 .npy, its float copy, and a PNG that is 8x8 RGB for a 4x4 grey
** input: each reaches the model the same way through every path. */
static void test_one_path(void)
{
	uint8_t px[2 * 16];
	float fx[2 * 16];
	for (int i = 0; i < 32; i++)
		fx[i] = (px[i] = (uint8_t)(i * 37 % 256)) / 255.0f;
	int64_t lab[2] = {0, 2};
	put_npy(P("u8.npy"), "|u1", "(2, 1, 4, 4)", px, sizeof px);
	put_npy(P("f4.npy"), "<f4", "(2, 4, 4)", fx, sizeof fx);   /* [count,H,W]: grey */
	put_npy(P("y.npy"), "<i8", "(2,)", lab, sizeof lab);
	DataNorm none = {0}, norm;
	RtErr e = {0};
	data_norm_parse("0.5,0.25", "normalize", &norm, &e);
	char spec[600];
	snprintf(spec, sizeof spec, "npy:%s,%s", P("u8.npy"), P("y.npy"));
	same("uint8 .npy: train/eval and predict/mc give the same input", spec, P("u8.npy"),
	     IMG_AREA, &none, 1);
	same("uint8 .npy, normalised: the same input everywhere", spec, P("u8.npy"), IMG_AREA, &norm, 1);
	snprintf(spec, sizeof spec, "npy:%s,%s", P("f4.npy"), P("y.npy"));
	same("float .npy [count,H,W], normalised: the same input everywhere", spec, P("f4.npy"),
	     IMG_AREA, &norm, 1);
	float a[16], b[16];
	via_input(P("u8.npy"), IMG_AREA, &none, 0, a, NULL);
	via_input(P("f4.npy"), IMG_AREA, &none, 0, b, NULL);
	t_check(!memcmp(a, b, sizeof a) && a[1] == 37 / 255.0f,
	        "predict/mc: uint8 pixels are scaled by 1/255, as float pixels in [0,1] are taken",
	        "%g %g", a[1], b[1]);

	/* a PNG in a class folder */
	char d[300];
	snprintf(d, sizeof d, "%s", P("f"));
	mkdir(d, 0700);
	snprintf(d, sizeof d, "%s", P("f/c0"));
	mkdir(d, 0700);
	uint8_t rgb[8 * 8 * 3];
	for (int i = 0; i < 8 * 8 * 3; i++)
		rgb[i] = (uint8_t)(i * 53 % 251);
	Image im = {8, 8, 3, rgb};
	img_write_png(P("f/c0/a.png"), &im, &e);
	snprintf(spec, sizeof spec, "folders:%s", P("f"));
	for (int k = 0; k < 2; k++) {
		ImgFilter f = k ? IMG_BILINEAR : IMG_AREA;
		char name[160];
		snprintf(name, sizeof name, "PNG 8x8 RGB for a 4x4 grey input (%s): the same input "
		         "everywhere", img_filter_name(f));
		same(name, spec, P("f/c0/a.png"), f, &norm, 0);
	}
	char *n1 = NULL, *n2 = NULL;
	via_dataset(spec, IMG_AREA, &none, 0, a, &n1);
	via_input(P("f/c0/a.png"), IMG_AREA, &none, 0, b, &n2);
	char want[400];
	snprintf(want, sizeof want, "image (%s): image 8x8 RGB resized to 4x4 grey (area)",
	         P("f/c0/a.png"));
	t_check(n1 && !strcmp(n1, "image: image 8x8 RGB resized to 4x4 grey (area)") && n2 &&
	        !strcmp(n2, want), "the resize and the conversion are said (from what to what)",
	        "'%s' / '%s'", n1 ? n1 : "(none)", n2 ? n2 : "(none)");
	free(n1);
	free(n2);
	n1 = NULL;
	snprintf(spec, sizeof spec, "npy:%s,%s", P("u8.npy"), P("y.npy"));
	via_dataset(spec, IMG_AREA, &none, 0, a, &n1);
	t_check(!n1, "arrays that fit are not mentioned", "'%s'", n1);
	free(n1);
	unlink(P("f/c0/a.png"));
	rmdir(P("f/c0"));
	rmdir(P("f"));
}

/* The checkpoint's train.normalize and train.resize; --resize overriding it
** is followed with a note; another model's weights are named first. */
static void test_prep_and_origin(void)
{
	const char *meta[] = {"format", "lunac-checkpoint", "model", "other", "spec_hash", "beef",
	                      "train.normalize", "0.5,0.25", "train.resize", "bilinear"};
	float w[4] = {0};
	int64_t shape[1] = {4};
	StOut t = {"w", ST_F32, 1, shape, w};
	RtErr e = {0}, warn = {0};
	st_write(P("c.safetensors"), meta, 5, &t, 1, &e);
	char *note = NULL;
	DataPrep p = {.note = &note};
	int rc = rt_prep_for(P("c.safetensors"), &model, NULL, NULL, &p, NULL, &e, &warn);
	t_check(!rc && p.resize == IMG_BILINEAR && p.norm.n == 1 && p.norm.mean[0] == 0.5f && !note,
	        "the checkpoint's normalisation and resize filter are used", "%s", e.msg);
	rc = rt_prep_for(P("c.safetensors"), &model, NULL, "area", &p, NULL, &e, &warn);
	t_check(!rc && p.resize == IMG_AREA && note && strstr(note, "--resize area differs from the "
	        "bilinear filter the weights were trained with"), "a --resize that differs from the "
	        "checkpoint's is followed, with a note", "%s", note ? note : e.msg);
	free(note);
	char want[300];
	snprintf(want, sizeof want, "%s was made for model \"other\" (spec hash beef), but this "
	         "executable is model \"m\" (spec hash 12ab)", P("c.safetensors"));
	t_check(warn.set && strstr(warn.msg, want), "rt_prep_for names the weights' other model",
	        "%s", warn.msg);
	/* a shape that does not fit: the origin comes as a warning before the error */
	char *arena = rt_arena_new(&model, 1, &e);
	RtErr e2 = {0}, w2 = {0};
	rc = rt_weights_load(&model, arena, P("c.safetensors"), &e2, &w2);
	t_check(rc && strstr(e2.msg, "has shape [4], the model expects [3]") && w2.set &&
	        strstr(w2.msg, want), "a load that fails on a shape still names the other model",
	        "%s / %s", e2.msg, w2.msg);
	RtErr e3 = {0}, w3 = {0};
	rt_init_file(&model, 1, P("own.safetensors"), &e3);
	rc = rt_weights_load(&model, arena, P("own.safetensors"), &e3, &w3);
	t_check(!rc && !w3.set, "the model's own weights load without a word", "%s %s", e3.msg,
	        w3.msg);
	rt_arena_free(arena);
}

/* Describe a model with two image inputs a, b [1,4,4] and two tasks. */
#define DESC2 \
	"{\"format\":\"lunac-model-1\",\"name\":\"two\",\"compiler\":\"c\",\"spec_hash\":\"h\"," \
	"\"fixed_bytes\":0,\"batch_bytes\":160,\"inputs\":[" \
	"{\"name\":\"a\",\"dtype\":\"f32\",\"shape\":[-1,1,4,4],\"offset\":0,\"batched\":true}," \
	"{\"name\":\"b\",\"dtype\":\"f32\",\"shape\":[-1,1,4,4],\"offset\":64,\"batched\":true}," \
	"{\"name\":\"t1.label\",\"dtype\":\"i32\",\"shape\":[-1],\"offset\":128,\"batched\":true}," \
	"{\"name\":\"t2.label\",\"dtype\":\"i32\",\"shape\":[-1],\"offset\":132,\"batched\":true}]," \
	"\"outputs\":[{\"name\":\"t1\",\"dtype\":\"f32\",\"shape\":[-1,3],\"offset\":136,\"batched\":true}," \
	"{\"name\":\"t2\",\"dtype\":\"f32\",\"shape\":[-1,3],\"offset\":148,\"batched\":true}]," \
	"\"params\":[],\"tasks\":[{\"name\":\"t1\",\"output\":\"t1\",\"label\":\"t1.label\",\"classes\":3}," \
	"{\"name\":\"t2\",\"output\":\"t2\",\"label\":\"t2.label\",\"classes\":3}]," \
	"\"entries\":[{\"name\":\"predict\",\"outputs\":[\"t1\",\"t2\"]}]}"

/* Write n images whose first pixel is base + s, and labels s % 3. */
static void put_seq(const char *x, const char *y, int n, float base)
{
	float v[16 * 16] = {0};
	int64_t l[16];
	for (int s = 0; s < n; s++) {
		v[s * 16] = base + (float)s;
		l[s] = s % 3;
	}
	char shape[64];
	snprintf(shape, sizeof shape, "(%d, 1, 4, 4)", n);
	put_npy(x, "<f4", shape, v, sizeof(float) * 16 * (size_t)n);
	snprintf(shape, sizeof shape, "(%d,)", n);
	put_npy(y, "<i8", shape, l, sizeof(int64_t) * (size_t)n);
}

/* paired:SPEC per input keeps a[i] with b[i]; unpaired data is shuffled. */
static void test_paired_arrays(void)
{
	RtModel m;
	RtErr e = {0};
	if (rt_model_parse(&m, DESC2, &e)) {
		t_check(0, "two-input descriptor", "%s", e.msg);
		return;
	}
	put_seq(P("xa.npy"), P("ya.npy"), 12, 0);
	put_seq(P("xb.npy"), P("yb.npy"), 12, 100);
	put_seq(P("xc.npy"), P("yc.npy"), 9, 100);
	char spec[1200];
	RtFeed f;
	Dataset ds;
	for (int paired = 0; paired < 2; paired++) {
		const char *pre = paired ? "paired:" : "";
		snprintf(spec, sizeof spec, "a=%snpy:%s,%s\nb=%snpy:%s,%s", pre, P("xa.npy"),
		         P("ya.npy"), pre, P("xb.npy"), P("yb.npy"));
		RtDataArgs a = {.data = spec, .train = 1, .threads = 1, .seed = 3};
		RtErr e1 = {0};
		int kept = 0, rc = rt_data_open(&m, &a, &f, &ds, &e1);
		for (int64_t s = 0; !rc && s < ds.count; s++)
			kept += data_image(&ds, 1, s)[0] - 100 == data_image(&ds, 0, s)[0] &&
			        data_image(&ds, 0, s)[0] == (float)s && data_label(&ds, 1, s) == s % 3;
		if (paired)
			t_check(!rc && ds.count == 12 && kept == 12, "paired:npy: per input keeps a[i] with "
			        "b[i] (and its labels), in file order", "%s kept %d", e1.msg, kept);
		else
			t_check(!rc && kept < 6, "without paired:, each dataset is shuffled on its own "
			        "first", "%s kept %d", e1.msg, kept);
		data_free(&ds);
	}
	struct {
		const char *b, *want, *name;
	} bad[] = {
		{"paired:npy:%s,%s", "paired datasets differ in length", "paired arrays of different "
		 "lengths are refused"},
		{"npy:%s,%s", "is paired by index (paired:) but", "paired and unpaired datasets cannot "
		 "be mixed"},
	};
	for (int i = 0; i < 2; i++) {
		char b[600];
		snprintf(b, sizeof b, bad[i].b, P("xc.npy"), P("yc.npy"));
		snprintf(spec, sizeof spec, "a=paired:npy:%s,%s\nb=%s", P("xa.npy"), P("ya.npy"), b);
		RtDataArgs a = {.data = spec, .train = 1, .threads = 1};
		RtErr e1 = {0};
		int rc = rt_data_open(&m, &a, &f, &ds, &e1);
		t_check(rc && strstr(e1.msg, bad[i].want), bad[i].name, "%s", e1.msg);
	}
	rt_model_free(&m);
}

int main(void)
{
	if (t_dir_open("lunac-input"))
		return 1;
	RtErr e = {0};
	if (rt_model_parse(&model, DESC("m", "12ab", "[3]"), &e)) {
		printf("not ok - descriptor: %s\n", e.msg);
		return 1;
	}
	test_one_path();
	test_prep_and_origin();
	test_paired_arrays();
	rt_model_free(&model);
	t_dir_cleanup();
	return t_done();
}
