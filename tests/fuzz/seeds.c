/*
** seeds.c -- write the generated part of the seed corpus: small valid
** files of every format made with the project's own writers (st_write,
** rt_ckpt_save, rt_npy_write, img_write_png, the frontend and IR printer)
** or with libpng and libjpeg directly, plus a few malformed ones.
**
**   build/tests/fuzz/seeds DIR     (make fuzz-seeds: DIR = tests/fuzz/corpus)
**
** Writes DIR/<parser>/<name>; the model scripts and golden IR files are
** copied by make fuzz-seeds. The committed corpus is these seeds merged
** with what fuzzing found (tests/fuzz/README.md).
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h>
#include <png.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "data.h"
#include "frontend.h"
#include "fuzz_model.h"
#include "image.h"
#include "train.h"

static const char *out_dir;

/* DIR/parser/name (one of four rotating buffers). */
static const char *at(const char *parser, const char *name)
{
	static char buf[4][1024];
	static int k;
	k = (k + 1) % 4;
	snprintf(buf[k], sizeof buf[k], "%s/%s", out_dir, parser);
	mkdir(buf[k], 0777);
	snprintf(buf[k], sizeof buf[k], "%s/%s/%s", out_dir, parser, name);
	return buf[k];
}

/* Stop with a message (a seed could not be written). */
static void die(const char *what, const char *msg)
{
	fprintf(stderr, "seeds: %s: %s\n", what, msg);
	exit(1);
}

static void put(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n || fclose(f))
		die(path, strerror(errno));
}

/* The whole file at path (malloc'ed) and its size. */
static uint8_t *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		die(path, strerror(errno));
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *b = malloc(*n + 1);
	if (!b || fread(b, 1, *n, f) != *n)
		die(path, "cannot read");
	fclose(f);
	return b;
}

/* A copy of src's first n - cut bytes as dst (a truncated file). */
static void truncated(const char *src, const char *dst, size_t cut)
{
	size_t n;
	uint8_t *b = slurp(src, &n);
	put(dst, b, n > cut ? n - cut : 0);
	free(b);
}

/* p[0..n) gzip-compressed (malloc'ed) into *out. */
static uint8_t *gzip(const uint8_t *p, size_t n, size_t *out)
{
	z_stream z = {0};
	size_t cap = n + 64;
	uint8_t *b = malloc(cap);
	if (!b || deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		die("gzip", "deflateInit2");
	z.next_in = (uint8_t *)p, z.avail_in = (uInt)n, z.next_out = b, z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END)
		die("gzip", "deflate");
	*out = z.total_out;
	deflateEnd(&z);
	return b;
}

/* ---- safetensors and checkpoints ---------------------------------------- */

/* A safetensors file written by hand: header json, then n data bytes. */
static void st_raw(const char *path, const char *json, size_t n)
{
	size_t h = strlen(json), len = 8 + h + n;
	uint8_t *b = calloc(1, len);
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)((uint64_t)h >> (8 * i));
	memcpy(b + 8, json, h);
	for (size_t i = 0; i < n; i++)
		b[8 + h + i] = (uint8_t)(i * 37);
	put(path, b, len);
	free(b);
}

static void seed_safetensors(void)
{
	RtErr e = {0};
	float w[6] = {1, -2, 3.5f, 0, 1e-3f, -7};
	uint8_t u8[3] = {1, 2, 3};
	int64_t i64[2] = {-1, 1LL << 40};
	int64_t s23[] = {2, 3}, s3[] = {3}, s2[] = {2}, s0[] = {0, 4};
	const char *meta[] = {"format", "pt", "note", "seed"};
	StOut t[] = {{"weight", ST_F32, 2, s23, w}, {"bytes", ST_U8, 1, s3, u8},
	             {"big", ST_I64, 1, s2, i64}, {"empty", ST_BF16, 2, s0, NULL}};
	if (st_write(at("safetensors", "mixed.safetensors"), meta, 2, t, 4, &e) ||
	    st_write(at("safetensors", "one.safetensors"), NULL, 0, t, 1, &e) ||
	    st_write(at("safetensors", "meta_only.safetensors"), meta, 2, NULL, 0, &e))
		die("safetensors", e.msg);
	truncated(at("safetensors", "mixed.safetensors"), at("safetensors", "truncated.safetensors"), 5);
	st_raw(at("safetensors", "float_offsets.safetensors"),
	       "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0.5,2.5]}}", 2);
	st_raw(at("safetensors", "gap.safetensors"),
	       "{\"a\":{\"dtype\":\"U8\",\"shape\":[2],\"data_offsets\":[0,2]},"
	       "\"b\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[3,4]}}", 4);
	st_raw(at("safetensors", "nul_name.safetensors"),
	       "{\"a\\u0000b\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[0,2]}}", 2);
}

static void seed_checkpoint(void)
{
	RtModel m;
	RtErr e = {0};
	if (rt_model_parse(&m, FUZZ_MODEL_JSON, &e))
		die("model", e.msg);
	char *arena = rt_arena_new(&m, 1, &e);
	for (int i = 0; i < 64; i++)
		((float *)arena)[i] = (float)i * 0.25f - 3;
	RtTrainOpts o;
	rt_train_defaults(&o);
	o.data = strdup("idx:a,b");
	o.normalize = strdup("0.5,0.25");
	char *classes[] = {"cat\ndog"};
	o.classes = classes;
	RtTrainState st;
	rt_train_state_init(&st, &o);
	st.epoch = 3, st.step = 12, st.best_loss = 0.5, st.best_epoch = 2;
	if (rt_ckpt_save(&m, arena, at("checkpoint", "adam.safetensors"), &o, &st, &e))
		die("checkpoint", e.msg);
	o.optimizer = RT_OPT_SGD, o.schedule = RT_SCHED_COSINE, o.augment = DATA_AUG_FLIPS;
	if (rt_ckpt_save(&m, arena, at("checkpoint", "sgd.safetensors"), &o, &st, &e) ||
	    rt_weights_save(&m, arena, at("checkpoint", "weights.safetensors"), &e))
		die("checkpoint", e.msg);
	truncated(at("checkpoint", "adam.safetensors"), at("checkpoint", "truncated.safetensors"), 9);
	o.classes = NULL;
	rt_train_opts_free(&o);
	rt_arena_free(arena);
	rt_model_free(&m);
}

/* ---- .npy and IDX ------------------------------------------------------- */

/* A .npy file by hand: version major, header dict, n data bytes. */
static void npy_raw(const char *path, int major, const char *dict, size_t n)
{
	size_t pre = major == 1 ? 10 : 12, h = strlen(dict), len = pre + h + n;
	uint8_t *b = calloc(1, len);
	memcpy(b, "\x93NUMPY", 6);
	b[6] = (uint8_t)major;
	b[8] = (uint8_t)h, b[9] = (uint8_t)(h >> 8);
	memcpy(b + pre, dict, h);
	for (size_t i = 0; i < n; i++)
		b[pre + h + i] = (uint8_t)(i * 29 % 7);
	put(path, b, len);
	free(b);
}

static void seed_npy(void)
{
	RtErr e = {0};
	float f[8] = {0, 0.5f, 1, 0.25f, 0.75f, 0.125f, 1, 0};
	int32_t y[4] = {0, 3, 1, 2};
	RtArray img = {RT_F32, 4, {2, 1, 2, 2}, f}, lab = {RT_I32, 1, {4}, y};
	if (rt_npy_write(at("npy", "f4_images.npy"), &img, &e) ||
	    rt_npy_write(at("npy", "i4_labels.npy"), &lab, &e))
		die("npy", e.msg);
	npy_raw(at("npy", "u1_images.npy"), 1,
	        "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 2, 2), }          \n", 12);
	npy_raw(at("npy", "f8_be.npy"), 1,
	        "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }    \n", 16);
	npy_raw(at("npy", "f2_v2.npy"), 2,
	        "{'descr': '<f2', 'fortran_order': False, 'shape': (1, 2, 2), }  \n", 8);
	npy_raw(at("npy", "i8_bool.npy"), 1,
	        "{'descr': '|b1', 'fortran_order': False, 'shape': (5,), }    \n", 5);
	npy_raw(at("npy", "fortran.npy"), 1,
	        "{'descr': '<i2', 'fortran_order': True, 'shape': (2, 2), }    \n", 8);
	npy_raw(at("npy", "short.npy"), 1,
	        "{'descr': '<u4', 'fortran_order': False, 'shape': (9,), }    \n", 7);
}

/* An IDX harness input: flags, images (n1 bytes), labels. */
static void idx_input(const char *name, int flags, const uint8_t *a, size_t n1, const uint8_t *b,
                      size_t n2)
{
	uint8_t *p = malloc(5 + n1 + n2);
	p[0] = (uint8_t)flags;
	for (int i = 0; i < 4; i++)
		p[1 + i] = (uint8_t)(n1 >> (8 * i));
	memcpy(p + 5, a, n1);
	memcpy(p + 5 + n1, b, n2);
	put(at("idx", name), p, 5 + n1 + n2);
	free(p);
}

static void seed_idx(void)
{
	uint8_t img[16 + 2 * 3 * 3] = {0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 3};
	uint8_t lab[8 + 2] = {0, 0, 8, 1, 0, 0, 0, 2, 4, 9};
	for (int i = 16; i < (int)sizeof img; i++)
		img[i] = (uint8_t)(i * 13);
	idx_input("plain", 0, img, sizeof img, lab, sizeof lab);
	idx_input("compress_both", 3, img, sizeof img, lab, sizeof lab);
	size_t gi, gl;
	uint8_t *zi = gzip(img, sizeof img, &gi), *zl = gzip(lab, sizeof lab, &gl);
	idx_input("gzip_streams", 0, zi, gi, zl, gl);
	uint8_t *junk = malloc(gi + 3);
	memcpy(junk, zi, gi);
	memcpy(junk + gi, "xyz", 3);
	idx_input("gzip_trailing_bytes", 0, junk, gi + 3, lab, sizeof lab);
	idx_input("gzip_no_trailer", 0, zi, gi - 8, zl, gl);
	idx_input("swapped", 0, lab, sizeof lab, img, sizeof img);
	idx_input("extra_byte", 0, img, sizeof img, (const uint8_t *)"\0\0\x08\x01\0\0\0\x02\1\2\3", 11);
	free(junk);
	free(zi);
	free(zl);
}

/* ---- images -------------------------------------------------------------- */

/* A PNG written by libpng: rows in file format, rowbytes each. */
static void png_raw(const char *path, int w, int h, int type, int depth, int interlace,
                    const uint8_t *data, size_t rowbytes, const png_color *pal, int npal,
                    const uint8_t *trns, int ntrns)
{
	FILE *f = fopen(path, "wb");
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	if (!f || setjmp(png_jmpbuf(png)))
		die(path, "libpng failed");
	png_init_io(png, f);
	png_set_IHDR(png, info, w, h, depth, type, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
	             PNG_FILTER_TYPE_DEFAULT);
	if (pal)
		png_set_PLTE(png, info, pal, npal);
	if (trns)
		png_set_tRNS(png, info, trns, ntrns, NULL);
	png_write_info(png, info);
	for (int pass = png_set_interlace_handling(png); pass > 0; pass--)
		for (int y = 0; y < h; y++)
			png_write_row(png, data + y * rowbytes);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	fclose(f);
}

static void seed_png(void)
{
	uint8_t px[64 * 3];
	for (int i = 0; i < (int)sizeof px; i++)
		px[i] = (uint8_t)(i * 7);
	Image rgb = {4, 3, 3, px}, grey = {5, 2, 1, px};
	RtErr e = {0};
	if (img_write_png(at("png", "rgb.png"), &rgb, &e) || img_write_png(at("png", "grey.png"), &grey, &e))
		die("png", e.msg);
	png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}};
	uint8_t idx[3 * 2] = {0, 1, 2, 2, 1, 0}, trns[2] = {128, 0};
	png_raw(at("png", "palette_trns.png"), 3, 2, PNG_COLOR_TYPE_PALETTE, 8, 0, idx, 3, pal, 3, trns, 2);
	png_raw(at("png", "rgba16.png"), 2, 2, PNG_COLOR_TYPE_RGBA, 16, 0, px, 16, NULL, 0, NULL, 0);
	png_raw(at("png", "ga_interlaced.png"), 4, 4, PNG_COLOR_TYPE_GRAY_ALPHA, 8,
	        PNG_INTERLACE_ADAM7, px, 8, NULL, 0, NULL, 0);
	png_raw(at("png", "grey1.png"), 9, 2, PNG_COLOR_TYPE_GRAY, 1, 0, px, 2, NULL, 0, NULL, 0);
	truncated(at("png", "rgb.png"), at("png", "truncated.png"), 20);
}

/* A JPEG written by libjpeg: comps components of colour space cs. */
static void jpeg_raw(const char *path, int w, int h, int comps, J_COLOR_SPACE cs, int progressive)
{
	struct jpeg_compress_struct ci;
	struct jpeg_error_mgr jerr;
	ci.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&ci);
	FILE *f = fopen(path, "wb");
	if (!f)
		die(path, strerror(errno));
	jpeg_stdio_dest(&ci, f);
	ci.image_width = (JDIMENSION)w;
	ci.image_height = (JDIMENSION)h;
	ci.input_components = comps;
	ci.in_color_space = cs;
	jpeg_set_defaults(&ci);
	jpeg_set_quality(&ci, 80, TRUE);
	if (progressive)
		jpeg_simple_progression(&ci);
	jpeg_start_compress(&ci, TRUE);
	uint8_t row[64 * 4];
	while (ci.next_scanline < ci.image_height) {
		for (int i = 0; i < w * comps; i++)
			row[i] = (uint8_t)(i * 11 + ci.next_scanline * 5);
		JSAMPROW r = row;
		jpeg_write_scanlines(&ci, &r, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	fclose(f);
}

static void seed_jpeg(void)
{
	jpeg_raw(at("jpeg", "rgb.jpg"), 8, 8, 3, JCS_RGB, 0);
	jpeg_raw(at("jpeg", "grey.jpg"), 11, 5, 1, JCS_GRAYSCALE, 0);
	jpeg_raw(at("jpeg", "progressive.jpg"), 17, 9, 3, JCS_RGB, 1);
	jpeg_raw(at("jpeg", "cmyk.jpg"), 8, 4, 4, JCS_CMYK, 0);
	truncated(at("jpeg", "rgb.jpg"), at("jpeg", "truncated.jpg"), 30);
}

static void put16(uint8_t *p, uint32_t v) { p[0] = (uint8_t)v, p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, v), put16(p + 2, v >> 16); }

/* A w x h BMP of bpp bits (palette of npal entries when bpp <= 8; comp 3:
** bit fields masks), header size hs, rows bottom-up unless topdown. */
static void bmp(const char *name, int w, int h, int bpp, int npal, int comp, int hs, int topdown)
{
	size_t stride = ((size_t)w * bpp + 31) / 32 * 4;
	size_t off = 14 + hs + (hs == 40 && comp == 3 ? 12 : 0) + 4 * (size_t)npal;
	size_t len = off + stride * h;
	uint8_t *b = calloc(1, len);
	b[0] = 'B', b[1] = 'M';
	put32(b + 2, (uint32_t)len);
	put32(b + 10, (uint32_t)off);
	put32(b + 14, (uint32_t)hs);
	put32(b + 18, (uint32_t)w);
	put32(b + 22, (uint32_t)(topdown ? -h : h));
	put16(b + 26, 1);
	put16(b + 28, (uint32_t)bpp);
	put32(b + 30, (uint32_t)comp);
	put32(b + 46, (uint32_t)npal);
	if (comp == 3) {
		uint32_t m16[3] = {0xF800, 0x07E0, 0x001F}, m32[3] = {0xFF0000, 0xFF00, 0xFF};
		for (int k = 0; k < 3; k++)
			put32(b + 54 + 4 * k, bpp == 16 ? m16[k] : m32[k]);
	}
	for (size_t i = off - 4 * (size_t)npal; i < len; i++)
		b[i] = (uint8_t)(i * 31 % (npal && i >= off ? npal : 256));
	put(at("bmp", name), b, len);
	free(b);
}

static void seed_bmp(void)
{
	bmp("rgb24.bmp", 5, 3, 24, 0, 0, 40, 0);
	bmp("pal8.bmp", 4, 4, 8, 5, 0, 40, 0);
	bmp("pal4_topdown.bmp", 7, 2, 4, 16, 0, 40, 1);
	bmp("pal1.bmp", 9, 3, 1, 2, 0, 40, 0);
	bmp("rgb16_fields.bmp", 3, 3, 16, 0, 3, 40, 0);
	bmp("rgb32_v4.bmp", 2, 2, 32, 0, 3, 108, 0);
	bmp("rgb32.bmp", 3, 1, 32, 0, 0, 40, 1);
	truncated(at("bmp", "rgb24.bmp"), at("bmp", "truncated.bmp"), 10);
}

/* ---- text formats ----------------------------------------------------- */

static void text(const char *parser, const char *name, const char *s)
{
	put(at(parser, name), s, strlen(s));
}

static void seed_csv(void)
{
	text("csv", "labels.csv", "id,label\na,0\na,1\na,1\n");
	text("csv", "names_crlf_bom.csv", "\xEF\xBB\xBFid,label,note\r\na,cat,\"x, y\"\r\na,dog,\"a \"\"q\"\"\"\r\n");
	text("csv", "cr_only.csv", "id,label\ra,0\ra,2\r");
	text("csv", "paired.csv", "image,task\na.png,cat\n a.png , dog \n\na.png,cat\n");
	text("csv", "quoted_newline.csv", "id,label\n\"a\",\"multi\nline\"\n");
	text("csv", "unclosed.csv", "id,label\na,\"0\n");
	text("csv", "ragged.csv", "id,label\na,0,extra\n");
	text("csv", "missing_image.csv", "id,label\nb,0\n");
}

static void seed_descriptor(void)
{
	text("descriptor", "tiny.json", FUZZ_MODEL_JSON);
	text("descriptor", "old_entries.json",
	     "{\"format\":\"lunac-model-1\",\"name\":\"r\",\"compiler\":\"c\",\"spec_hash\":\"h\","
	     "\"fixed_bytes\":0,\"batch_bytes\":20,\"inputs\":[{\"name\":\"image\",\"dtype\":\"f32\","
	     "\"shape\":[-1,1,1,3],\"offset\":0,\"batched\":true}],\"outputs\":[{\"name\":\"score\","
	     "\"dtype\":\"f32\",\"shape\":[-1,1],\"offset\":12,\"batched\":true}],\"params\":[],"
	     "\"entries\":[\"predict\"]}");
}

/* The IR of each model script (loaded by the frontend) as IR seeds. */
static void seed_ir(char **scripts, int n)
{
	for (int i = 0; i < n; i++) {
		FeOptions fo = {.libdir = "frontend/lib"};
		Err e = {0};
		Graph *g = fe_load(scripts[i], &fo, &e);
		if (!g)
			die(scripts[i], e.msg);
		char *s = ir_print_str(g), name[256];
		const char *base = strrchr(scripts[i], '/');
		snprintf(name, sizeof name, "%s.ir", base ? base + 1 : scripts[i]);
		text("ir", name, s);
		free(s);
		ir_free(g);
	}
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR [MODEL.lua...]\n", argv[0]);
		return 2;
	}
	out_dir = argv[1];
	mkdir(out_dir, 0777);
	seed_safetensors();
	seed_checkpoint();
	seed_npy();
	seed_idx();
	seed_png();
	seed_jpeg();
	seed_bmp();
	seed_csv();
	seed_descriptor();
	seed_ir(argv + 2, argc - 2);
	return 0;
}
