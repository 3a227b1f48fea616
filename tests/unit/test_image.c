/*
** test_image.c -- the image runtime: PNG, JPEG and BMP decoding of files
** written here (by img_write_png, by libpng and libjpeg directly, and BMPs
** byte by byte), channel conversion, resizing, augmentation, and hostile
** files (empty, unknown, truncated, bad CRC, lying headers, absurd sizes,
** RLE, random mutations): each must give an error naming the file and none
** may crash or leak (make check-asan runs this under ASan and UBSan).
*/
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jpeglib.h>
#include <png.h>
#include <zlib.h>

#include "image.h"
#include "rt.h"
#include "t.h"
#include "t_dir.h"
#include "pil_bilinear.h"


/* Raw bytes to path (a new file: replacing one by truncation makes ext4
** flush it on close, which is slow over thousands of mutations). */
static void writefile(const char *path, const void *p, size_t n)
{
	unlink(path);
	FILE *f = fopen(path, "wb");
	if (n)
		fwrite(p, 1, n, f);
	fclose(f);
}

/* The whole of path, malloc'ed; *n its length. */
static uint8_t *readfile(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, 0, SEEK_SET);
	uint8_t *p = malloc(len ? len : 1);
	*n = fread(p, 1, len, f);
	fclose(f);
	return p;
}

/* A deterministic byte pattern. */
static uint8_t pat(int i)
{
	return (uint8_t)(i * 37 + (i >> 3) * 11 + 5);
}

/* img_decode(path) fails, leaves out empty, and its message holds the
** path and want. */
static void expect_bad(const char *name, const char *path, const char *want)
{
	Image im = {1, 1, 1, (uint8_t *)1};
	RtErr e = {0};
	int rc = img_decode(path, &im, &e);
	t_check(rc == -1 && e.set && strstr(e.msg, path) && strstr(e.msg, want) && !im.px &&
	        !im.w, name, "rc=%d msg='%s' (want '%s')", rc, e.msg, want);
}

/* img_decode(path) succeeds with a w x h x c image. */
static int decode_ok(const char *path, Image *im, int w, int h, int c, const char *name)
{
	RtErr e = {0};
	int rc = img_decode(path, im, &e);
	int ok = rc == 0 && im->w == w && im->h == h && im->c == c && im->px;
	t_check(ok, name, "rc=%d %dx%dx%d (want %dx%dx%d) msg='%s'", rc, im->w, im->h, im->c,
	        w, h, c, e.msg);
	return ok;
}

/* ---- writers ------------------------------------------------------------ */

/* A PNG written by libpng: rows already in file format (packed below 8
** bits, big-endian at 16), rowbytes each. */
static void png_raw(const char *path, int w, int h, int type, int depth, int interlace,
                    const uint8_t *data, size_t rowbytes, const png_color *pal, int npal,
                    const uint8_t *trns, int ntrns)
{
	FILE *f = fopen(path, "wb");
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png_create_info_struct(png);
	png_bytep *rows = malloc(sizeof *rows * h);
	if (setjmp(png_jmpbuf(png))) {
		fprintf(stderr, "png_raw failed\n");
		exit(1);
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, w, h, depth, type, interlace, PNG_COMPRESSION_TYPE_DEFAULT,
	             PNG_FILTER_TYPE_DEFAULT);
	if (pal)
		png_set_PLTE(png, info, pal, npal);
	if (trns)
		png_set_tRNS(png, info, trns, ntrns, NULL);
	png_write_info(png, info);
	for (int y = 0; y < h; y++)
		rows[y] = (png_bytep)data + y * rowbytes;
	png_write_image(png, rows);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	free(rows);
	fclose(f);
}

/* A JPEG written by libjpeg: comps components of colour space cs. */
static void jpeg_raw(const char *path, int w, int h, int comps, J_COLOR_SPACE cs,
                     const uint8_t *px, int quality, int progressive)
{
	struct jpeg_compress_struct ci;
	struct jpeg_error_mgr jerr;
	ci.err = jpeg_std_error(&jerr);
	jpeg_create_compress(&ci);
	FILE *f = fopen(path, "wb");
	jpeg_stdio_dest(&ci, f);
	ci.image_width = w;
	ci.image_height = h;
	ci.input_components = comps;
	ci.in_color_space = cs;
	jpeg_set_defaults(&ci);
	jpeg_set_quality(&ci, quality, TRUE);
	if (progressive)
		jpeg_simple_progression(&ci);
	jpeg_start_compress(&ci, TRUE);
	while (ci.next_scanline < ci.image_height) {
		JSAMPROW row = (JSAMPROW)px + ci.next_scanline * w * comps;
		jpeg_write_scanlines(&ci, &row, 1);
	}
	jpeg_finish_compress(&ci);
	jpeg_destroy_compress(&ci);
	fclose(f);
}

/* A BMP, byte by byte. pix: palette indices (bpp <= 8) or RGB triples,
** top row first; pal: RGB triples. */
typedef struct BmpSpec {
	int w, h, bpp, topdown, comp, hsize;
	uint32_t mask[3];
	const uint8_t *pal;
	int npal;
	const uint8_t *pix;
} BmpSpec;

static void put16(uint8_t *p, uint32_t v) { p[0] = v, p[1] = v >> 8; }
static void put32(uint8_t *p, uint32_t v) { put16(p, v), put16(p + 2, v >> 16); }

/* v (0..255) scaled into the field of mask. */
static uint32_t pack(int v, uint32_t mask)
{
	int sh = __builtin_ctz(mask);
	uint32_t max = mask >> sh;
	return (uint32_t)(((uint64_t)v * max + 127) / 255) << sh;
}

static uint8_t *bmp_make(const BmpSpec *s, size_t *len)
{
	int hs = s->hsize ? s->hsize : 40;
	size_t stride = ((size_t)s->w * s->bpp + 31) / 32 * 4;
	size_t off = 14 + hs + (hs == 40 && s->comp == 3 ? 12 : 0) + 4 * (size_t)s->npal;
	*len = off + stride * s->h;
	uint8_t *b = calloc(1, *len);
	b[0] = 'B', b[1] = 'M';
	put32(b + 2, (uint32_t)*len);
	put32(b + 10, (uint32_t)off);
	put32(b + 14, hs);
	put32(b + 18, s->w);
	put32(b + 22, s->topdown ? -s->h : s->h);
	put16(b + 26, 1);
	put16(b + 28, s->bpp);
	put32(b + 30, s->comp);
	put32(b + 46, s->npal);
	if (s->comp == 3)
		for (int k = 0; k < 3; k++)
			put32(b + 54 + 4 * k, s->mask[k]);
	uint8_t *pal = b + off - 4 * s->npal;
	for (int i = 0; i < s->npal; i++)
		pal[4 * i] = s->pal[3 * i + 2], pal[4 * i + 1] = s->pal[3 * i + 1],
		pal[4 * i + 2] = s->pal[3 * i];
	uint32_t m16[3] = {0x7C00, 0x03E0, 0x001F}, m32[3] = {0xFF0000, 0xFF00, 0xFF};
	const uint32_t *m = s->comp == 3 ? s->mask : s->bpp == 16 ? m16 : m32;
	for (int y = 0; y < s->h; y++) {
		uint8_t *row = b + off + stride * (s->topdown ? y : s->h - 1 - y);
		for (int x = 0; x < s->w; x++) {
			const uint8_t *q = s->pix + (s->bpp <= 8 ? 1 : 3) * ((size_t)y * s->w + x);
			if (s->bpp <= 8) {
				int per = 8 / s->bpp, sh = 8 - s->bpp * (x % per + 1);
				row[x / per] |= q[0] << sh;
			} else if (s->bpp == 24) {
				row[3 * x] = q[2], row[3 * x + 1] = q[1], row[3 * x + 2] = q[0];
			} else {
				uint32_t v = pack(q[0], m[0]) | pack(q[1], m[1]) | pack(q[2], m[2]);
				if (s->bpp == 16)
					put16(row + 2 * x, v);
				else
					put32(row + 4 * x, v | (s->comp == 0 ? 0xAB000000u : 0));
			}
		}
	}
	return b;
}

static void bmp_write(const char *path, const BmpSpec *s)
{
	size_t n;
	uint8_t *b = bmp_make(s, &n);
	writefile(path, b, n);
	free(b);
}

/* ---- PNG ---------------------------------------------------------------- */

/* Files in the test directory whose name holds ".tmp." (atomic-write leftovers). */
static int leftovers(void)
{
	int k = 0;
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d)))
		k += strstr(de->d_name, ".tmp.") != NULL;
	if (d)
		closedir(d);
	return k;
}

static void test_png_round_trip(void)
{
	for (int c = 1; c <= 3; c += 2) {
		Image im = {7, 5, c, malloc(7 * 5 * c)}, back;
		for (int i = 0; i < 7 * 5 * c; i++)
			im.px[i] = pat(i);
		RtErr e = {0};
		const char *path = P(c == 1 ? "grey.png" : "rgb.png");
		int rc = img_write_png(path, &im, &e);
		t_check(rc == 0, c == 1 ? "img_write_png grey" : "img_write_png RGB", "%s", e.msg);
		if (decode_ok(path, &back, 7, 5, c, c == 1 ? "grey PNG reads back" : "RGB PNG reads back"))
			t_check(!memcmp(back.px, im.px, 7 * 5 * c), "PNG round trip is exact", "differs");
		img_free(&back);
		free(im.px);
	}
	t_check(leftovers() == 0, "img_write_png leaves no temporary", "%d", leftovers());
	Image two = {2, 2, 2, (uint8_t[8]){0}};
	RtErr e = {0};
	t_check(img_write_png(P("two.png"), &two, &e) == -1 && strstr(e.msg, "two.png"),
	        "img_write_png refuses 2 channels", "%s", e.msg);
	Image one = {1, 1, 1, (uint8_t[1]){0}};
	RtErr e2 = {0};
	t_check(img_write_png("/nonexistent-dir/x.png", &one, &e2) == -1 &&
	        strstr(e2.msg, "/nonexistent-dir/x.png"), "img_write_png into a missing directory",
	        "%s", e2.msg);
}

static void test_png_variants(void)
{
	Image im;
	/* 16-bit grey: big-endian samples, scaled v * 255 / 65535, rounded. */
	uint16_t v16[6] = {0, 65535, 257 * 100, 1000, 32767, 32768};
	uint8_t d16[12];
	for (int i = 0; i < 6; i++)
		d16[2 * i] = v16[i] >> 8, d16[2 * i + 1] = v16[i] & 255;
	png_raw(P("g16.png"), 3, 2, PNG_COLOR_TYPE_GRAY, 16, 0, d16, 6, NULL, 0, NULL, 0);
	if (decode_ok(P("g16.png"), &im, 3, 2, 1, "16-bit grey PNG")) {
		int ok = 1;
		for (int i = 0; i < 6; i++)
			ok &= im.px[i] == (uint8_t)((v16[i] * 255u + 32767) / 65535);
		t_check(ok, "16-bit grey scales to 8 bits", "%d %d %d %d %d %d", im.px[0], im.px[1],
		        im.px[2], im.px[3], im.px[4], im.px[5]);
	}
	img_free(&im);
	/* 16-bit RGBA: alpha dropped. */
	uint8_t d64[2 * 8];
	for (int i = 0; i < 16; i++)
		d64[i] = (uint8_t)(i * 16);
	png_raw(P("rgba16.png"), 2, 1, PNG_COLOR_TYPE_RGBA, 16, 0, d64, 16, NULL, 0, NULL, 0);
	if (decode_ok(P("rgba16.png"), &im, 2, 1, 3, "16-bit RGBA PNG")) {
		int ok = 1;
		for (int x = 0; x < 2; x++)
			for (int k = 0; k < 3; k++) {
				const uint8_t *q = d64 + 8 * x + 2 * k;
				ok &= im.px[3 * x + k] == (uint8_t)(((q[0] << 8 | q[1]) * 255u + 32767) / 65535);
			}
		t_check(ok, "16-bit RGBA: scaled, alpha dropped", "%d %d %d %d", im.px[0], im.px[1],
		        im.px[2], im.px[3]);
	}
	img_free(&im);
	/* 8-bit grey + alpha and RGBA: alpha dropped, values untouched. */
	uint8_t ga[8] = {10, 0, 20, 128, 30, 255, 40, 7};
	png_raw(P("ga.png"), 2, 2, PNG_COLOR_TYPE_GRAY_ALPHA, 8, 0, ga, 4, NULL, 0, NULL, 0);
	if (decode_ok(P("ga.png"), &im, 2, 2, 1, "grey+alpha PNG"))
		t_check(im.px[0] == 10 && im.px[1] == 20 && im.px[2] == 30 && im.px[3] == 40,
		        "grey+alpha: alpha dropped", "%d %d %d %d", im.px[0], im.px[1], im.px[2],
		        im.px[3]);
	img_free(&im);
	uint8_t rgba[3 * 4];
	for (int i = 0; i < 12; i++)
		rgba[i] = pat(i);
	png_raw(P("rgba.png"), 3, 1, PNG_COLOR_TYPE_RGBA, 8, 0, rgba, 12, NULL, 0, NULL, 0);
	if (decode_ok(P("rgba.png"), &im, 3, 1, 3, "RGBA PNG")) {
		int ok = 1;
		for (int x = 0; x < 3; x++)
			for (int k = 0; k < 3; k++)
				ok &= im.px[3 * x + k] == rgba[4 * x + k];
		t_check(ok, "RGBA: colour kept, alpha dropped", "differs");
	}
	img_free(&im);
	/* 4-bit palette with tRNS: RGB of the palette entries. */
	png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {1, 2, 3}};
	uint8_t trns[3] = {0, 128, 255};
	uint8_t p4[2] = {0x01, 0x20};   /* indices 0 1 / 2 0 */
	png_raw(P("pal.png"), 2, 2, PNG_COLOR_TYPE_PALETTE, 4, 0, p4, 1, pal, 3, trns, 3);
	if (decode_ok(P("pal.png"), &im, 2, 2, 3, "4-bit palette PNG with tRNS")) {
		uint8_t want[12] = {255, 0, 0, 0, 255, 0, 1, 2, 3, 255, 0, 0};
		t_check(!memcmp(im.px, want, 12), "palette PNG expands to RGB", "differs");
	}
	img_free(&im);
	/* 1-bit grey: 0 / 255. */
	uint8_t b1[2] = {0xA0, 0x40};   /* 1 0 1 / 0 1 0 */
	png_raw(P("g1.png"), 3, 2, PNG_COLOR_TYPE_GRAY, 1, 0, b1, 1, NULL, 0, NULL, 0);
	if (decode_ok(P("g1.png"), &im, 3, 2, 1, "1-bit grey PNG")) {
		uint8_t want[6] = {255, 0, 255, 0, 255, 0};
		t_check(!memcmp(im.px, want, 6), "1-bit grey expands to 0/255", "%d %d %d", im.px[0],
		        im.px[1], im.px[2]);
	}
	img_free(&im);
	/* Interlaced (Adam7) RGB. */
	uint8_t il[9 * 7 * 3];
	for (int i = 0; i < 9 * 7 * 3; i++)
		il[i] = pat(i);
	png_raw(P("adam7.png"), 9, 7, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, il, 27, NULL,
	        0, NULL, 0);
	if (decode_ok(P("adam7.png"), &im, 9, 7, 3, "interlaced PNG"))
		t_check(!memcmp(im.px, il, sizeof il), "interlaced PNG reads exactly", "differs");
	img_free(&im);
}

/* ---- JPEG --------------------------------------------------------------- */

/* The largest absolute difference of n bytes. */
static int maxdiff(const uint8_t *a, const uint8_t *b, size_t n)
{
	int m = 0;
	for (size_t i = 0; i < n; i++)
		m = abs(a[i] - b[i]) > m ? abs(a[i] - b[i]) : m;
	return m;
}

static void test_jpeg(void)
{
	enum { W = 32, H = 24 };
	uint8_t rgb[W * H * 3], grey[W * H];
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			uint8_t *p = rgb + 3 * (y * W + x);
			p[0] = 40 + 5 * x, p[1] = 30 + 7 * y, p[2] = 200 - 3 * x - 2 * y;
			grey[y * W + x] = 20 + 4 * x + 3 * y;
		}
	Image im;
	jpeg_raw(P("rgb.jpg"), W, H, 3, JCS_RGB, rgb, 95, 0);
	if (decode_ok(P("rgb.jpg"), &im, W, H, 3, "RGB JPEG")) {
		int d = maxdiff(im.px, rgb, sizeof rgb);
		t_check(d <= 8, "RGB JPEG within tolerance", "max diff %d", d);
	}
	img_free(&im);
	jpeg_raw(P("grey.jpg"), W, H, 1, JCS_GRAYSCALE, grey, 95, 0);
	if (decode_ok(P("grey.jpg"), &im, W, H, 1, "grey JPEG stays grey")) {
		int d = maxdiff(im.px, grey, sizeof grey);
		t_check(d <= 4, "grey JPEG within tolerance", "max diff %d", d);
	}
	img_free(&im);
	jpeg_raw(P("prog.jpg"), W, H, 3, JCS_RGB, rgb, 95, 1);
	if (decode_ok(P("prog.jpg"), &im, W, H, 3, "progressive JPEG")) {
		int d = maxdiff(im.px, rgb, sizeof rgb);
		t_check(d <= 8, "progressive JPEG within tolerance", "max diff %d", d);
	}
	img_free(&im);
	uint8_t cmyk[8 * 8 * 4];
	for (int i = 0; i < 8 * 8 * 4; i++)
		cmyk[i] = pat(i);
	jpeg_raw(P("cmyk.jpg"), 8, 8, 4, JCS_CMYK, cmyk, 90, 0);
	expect_bad("CMYK JPEG refused", P("cmyk.jpg"), "CMYK");
	/* Truncated at several points: never grey padding, always an error. */
	size_t n;
	uint8_t *j = readfile(P("rgb.jpg"), &n);
	size_t cuts[] = {3, 20, 200, n / 2, n - 2};
	for (int i = 0; i < 5; i++) {
		char name[64];
		writefile(P("cut.jpg"), j, cuts[i]);
		snprintf(name, sizeof name, "JPEG truncated at %zu of %zu", cuts[i], n);
		expect_bad(name, P("cut.jpg"), "JPEG");
	}
	writefile(P("cut.jpg"), j, n / 2);
	expect_bad("truncated JPEG says truncated", P("cut.jpg"), "truncated");
	free(j);
	/* A frame header claiming 0 rows. */
	j = readfile(P("rgb.jpg"), &n);
	for (size_t i = 0; i + 9 < n; i++)
		if (j[i] == 0xFF && j[i + 1] == 0xC0) {
			j[i + 5] = j[i + 6] = 0;
			break;
		}
	writefile(P("zero.jpg"), j, n);
	expect_bad("JPEG with a zero height", P("zero.jpg"), "corrupt JPEG");
	free(j);
	uint8_t junk[64] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x02};
	writefile(P("junk.jpg"), junk, sizeof junk);
	expect_bad("JPEG of zeros after SOI", P("junk.jpg"), "junk.jpg");
}

/* ---- BMP ---------------------------------------------------------------- */

static void test_bmp(void)
{
	enum { W = 5, H = 3 };
	uint8_t rgb[W * H * 3], idx[W * H], greypal[256 * 3], colpal[4 * 3];
	for (int i = 0; i < W * H * 3; i++)
		rgb[i] = pat(i);
	for (int i = 0; i < W * H; i++)
		idx[i] = (uint8_t)(i * 17 % 256);
	for (int i = 0; i < 256; i++)
		greypal[3 * i] = greypal[3 * i + 1] = greypal[3 * i + 2] = (uint8_t)(255 - i);
	uint8_t cp[12] = {10, 20, 30, 200, 100, 0, 0, 0, 0, 255, 255, 255};
	memcpy(colpal, cp, 12);
	Image im;
	/* 24-bit, odd width (row padding), both row orders. */
	for (int td = 0; td < 2; td++) {
		BmpSpec s = {W, H, 24, td, 0, 40, {0}, NULL, 0, rgb};
		bmp_write(P("24.bmp"), &s);
		if (decode_ok(P("24.bmp"), &im, W, H, 3, td ? "24-bit BMP top-down" : "24-bit BMP bottom-up"))
			t_check(!memcmp(im.px, rgb, sizeof rgb), td ? "24-bit top-down exact" :
			        "24-bit bottom-up exact", "differs");
		img_free(&im);
	}
	/* 32-bit BI_RGB (the fourth byte ignored), both row orders. */
	for (int td = 0; td < 2; td++) {
		BmpSpec s = {W, H, 32, td, 0, 40, {0}, NULL, 0, rgb};
		bmp_write(P("32.bmp"), &s);
		if (decode_ok(P("32.bmp"), &im, W, H, 3, "32-bit BMP"))
			t_check(!memcmp(im.px, rgb, sizeof rgb), td ? "32-bit top-down exact" :
			        "32-bit bottom-up exact", "differs");
		img_free(&im);
	}
	/* 32-bit BI_BITFIELDS: masks after a 40-byte header, in a V4 and a V5 header. */
	int hsizes[3] = {40, 108, 124};
	for (int i = 0; i < 3; i++) {
		BmpSpec s = {W, H, 32, i == 1, 3, hsizes[i], {0xFF, 0xFF00, 0xFF0000}, NULL, 0, rgb};
		char name[64];
		bmp_write(P("bf.bmp"), &s);
		snprintf(name, sizeof name, "32-bit BI_BITFIELDS BMP, %d-byte header", hsizes[i]);
		if (decode_ok(P("bf.bmp"), &im, W, H, 3, name))
			t_check(!memcmp(im.px, rgb, sizeof rgb), "32-bit bit fields exact", "differs");
		img_free(&im);
	}
	/* 16-bit 5-6-5 bit fields: each field re-expanded to 8 bits. */
	BmpSpec s16 = {W, H, 16, 0, 3, 40, {0xF800, 0x07E0, 0x001F}, NULL, 0, rgb};
	bmp_write(P("565.bmp"), &s16);
	if (decode_ok(P("565.bmp"), &im, W, H, 3, "16-bit 565 BMP")) {
		int d = maxdiff(im.px, rgb, sizeof rgb);
		t_check(d <= 4, "16-bit 565 within quantisation", "max diff %d", d);
	}
	img_free(&im);
	/* 8-bit grey palette: one channel; 8-bit colour palette: RGB. */
	BmpSpec s8 = {W, H, 8, 0, 0, 40, {0}, greypal, 256, idx};
	bmp_write(P("8g.bmp"), &s8);
	if (decode_ok(P("8g.bmp"), &im, W, H, 1, "8-bit grey palette BMP is grey")) {
		int ok = 1;
		for (int i = 0; i < W * H; i++)
			ok &= im.px[i] == 255 - idx[i];
		t_check(ok, "8-bit grey palette values", "differs");
	}
	img_free(&im);
	uint8_t idx4[W * H];
	for (int i = 0; i < W * H; i++)
		idx4[i] = (uint8_t)(i % 4);
	for (int bpp = 1; bpp <= 8; bpp *= 2) {
		if (bpp == 2)
			continue;   /* 2-bit is not a Windows BMP depth */
		BmpSpec sc = {W, H, bpp, bpp == 4, 0, 40, {0}, colpal, bpp == 1 ? 2 : 4, idx4};
		uint8_t idx1[W * H];
		if (bpp == 1) {
			for (int i = 0; i < W * H; i++)
				idx1[i] = (uint8_t)(i % 2);
			sc.pix = idx1;
		}
		char name[64];
		snprintf(name, sizeof name, "%d-bit colour palette BMP", bpp);
		bmp_write(P("pal.bmp"), &sc);
		if (decode_ok(P("pal.bmp"), &im, W, H, 3, name)) {
			int ok = 1;
			for (int i = 0; i < W * H; i++)
				ok &= !memcmp(im.px + 3 * i, colpal + 3 * sc.pix[i], 3);
			t_check(ok, "palette colours in place", "differs");
		}
		img_free(&im);
	}
}

/* ---- hostile files ------------------------------------------------------ */

/* Set the CRC of the chunk at off (length, type, data, crc) right. */
static void fix_crc(uint8_t *b, size_t off)
{
	uint32_t len = (uint32_t)b[off] << 24 | b[off + 1] << 16 | b[off + 2] << 8 | b[off + 3];
	uint32_t c = (uint32_t)crc32(0, b + off + 4, 4 + len);
	uint8_t *q = b + off + 8 + len;
	q[0] = c >> 24, q[1] = c >> 16, q[2] = c >> 8, q[3] = c;
}

static void test_hostile_png(void)
{
	expect_bad("missing file", P("nope.png"), "cannot open");
	writefile(P("empty.png"), "", 0);
	expect_bad("empty file", P("empty.png"), "empty");
	writefile(P("gif.png"), "GIF89a\1\0\1\0", 10);
	expect_bad("unknown signature", P("gif.png"), "not a PNG, JPEG or BMP");
	writefile(P("short"), "\x89P", 2);
	expect_bad("two bytes", P("short"), "not a PNG");
	size_t n;
	uint8_t *p = readfile(P("rgb.png"), &n);
	/* Cut after the signature, inside IHDR, after IHDR, inside IDAT, before IEND, 1 short. */
	size_t cuts[] = {8, 20, 33, 45, n - 12, n - 1};
	for (int i = 0; i < 6; i++) {
		char name[64];
		writefile(P("cut.png"), p, cuts[i]);
		snprintf(name, sizeof name, "PNG truncated at %zu of %zu", cuts[i], n);
		expect_bad(name, P("cut.png"), "truncated PNG");
	}
	uint8_t *q = malloc(n);
	memcpy(q, p, n);
	q[29] ^= 1;   /* IHDR's CRC */
	writefile(P("crc.png"), q, n);
	expect_bad("PNG with a bad IHDR CRC", P("crc.png"), "CRC");
	memcpy(q, p, n);
	uint32_t idat = (uint32_t)q[33] << 24 | q[34] << 16 | q[35] << 8 | q[36];
	q[33 + 8 + idat] ^= 1;   /* IDAT's CRC; its data intact */
	writefile(P("crc2.png"), q, n);
	expect_bad("PNG with a bad IDAT CRC", P("crc2.png"), "CRC");
	memcpy(q, p, n);
	q[41 + 4] ^= 0x40;   /* a byte of IDAT data */
	writefile(P("crc3.png"), q, n);
	expect_bad("PNG with a corrupt IDAT byte", P("crc3.png"), "corrupt PNG");
	memcpy(q, p, n);
	q[16] = 0, q[17] = 1, q[18] = 0x86, q[19] = 0xA0;   /* width 100000 */
	fix_crc(q, 8);
	writefile(P("wide.png"), q, n);
	expect_bad("PNG 100000 pixels wide", P("wide.png"), "exceed the limit");
	memcpy(q, p, n);
	q[16] = q[17] = q[18] = q[19] = 0;   /* width 0 */
	fix_crc(q, 8);
	writefile(P("zero.png"), q, n);
	expect_bad("PNG 0 pixels wide", P("zero.png"), "corrupt PNG");
	free(q);
	free(p);
	/* 20000 x 20000: within libpng's limits, over our 2^28 pixels. */
	uint8_t big[57];
	memcpy(big, "\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR\0\0\x4e\x20\0\0\x4e\x20\x08\0\0\0\0", 29);
	memcpy(big + 33, "\0\0\0\0IDAT\0\0\0\0\0\0\0\0IEND\0\0\0\0", 24);
	fix_crc(big, 8);
	fix_crc(big, 33);
	fix_crc(big, 45);
	writefile(P("big.png"), big, 57);
	expect_bad("PNG of 20000x20000 pixels", P("big.png"), "exceed");
}

static void test_hostile_bmp(void)
{
	uint8_t rgb[4 * 4 * 3] = {0};
	BmpSpec s = {4, 4, 24, 0, 0, 40, {0}, NULL, 0, rgb};
	size_t n;
	uint8_t *b = bmp_make(&s, &n);
	uint8_t *q = malloc(n);
	/* The header claims 8 rows; the file holds 4. */
	memcpy(q, b, n);
	put32(q + 22, 8);
	writefile(P("long.bmp"), q, n);
	expect_bad("BMP header claiming more rows than the file has", P("long.bmp"), "truncated BMP");
	/* Data offset past the end. */
	memcpy(q, b, n);
	put32(q + 10, 0xFFFFFFF0u);
	writefile(P("off.bmp"), q, n);
	expect_bad("BMP data offset past the end", P("off.bmp"), "truncated BMP");
	/* Absurd dimensions. */
	int64_t dims[][2] = {{100000, 4}, {4, -2147483647 - 1}, {0x7FFFFFFF, 0x7FFFFFFF},
	                     {20000, 20000}, {0, 4}, {-4, 4}, {4, 0}};
	for (int i = 0; i < 7; i++) {
		char name[64];
		memcpy(q, b, n);
		put32(q + 18, (uint32_t)dims[i][0]);
		put32(q + 22, (uint32_t)dims[i][1]);
		writefile(P("dim.bmp"), q, n);
		snprintf(name, sizeof name, "BMP of %lldx%lld pixels", (long long)dims[i][0],
		         (long long)dims[i][1]);
		expect_bad(name, P("dim.bmp"), "BMP image");
	}
	/* RLE8 and RLE4. */
	for (int comp = 1; comp <= 2; comp++) {
		memcpy(q, b, n);
		put32(q + 30, comp);
		put16(q + 28, comp == 1 ? 8 : 4);
		writefile(P("rle.bmp"), q, n);
		expect_bad(comp == 1 ? "RLE8 BMP refused" : "RLE4 BMP refused", P("rle.bmp"), "RLE");
	}
	/* Header cut short, header size absurd, odd depth, too many palette colours. */
	writefile(P("hdr.bmp"), b, 30);
	expect_bad("BMP cut inside its header", P("hdr.bmp"), "truncated BMP header");
	memcpy(q, b, n);
	put32(q + 14, 0x7FFFFFFF);
	writefile(P("hs.bmp"), q, n);
	expect_bad("BMP header size past the end", P("hs.bmp"), "truncated BMP header");
	memcpy(q, b, n);
	put16(q + 28, 7);
	writefile(P("d7.bmp"), q, n);
	expect_bad("7-bit BMP refused", P("d7.bmp"), "7 bits");
	memcpy(q, b, n);
	put16(q + 28, 8);
	put32(q + 46, 100000);
	writefile(P("hpal.bmp"), q, n);
	expect_bad("BMP palette of 100000 colours", P("hpal.bmp"), "palette");
	memcpy(q, b, n);
	put16(q + 28, 8);
	put32(q + 46, 256);
	writefile(P("hpal2.bmp"), q, n);
	expect_bad("BMP palette past the end", P("hpal2.bmp"), "truncated BMP palette");
	memcpy(q, b, n);
	put32(q + 14, 12);
	writefile(P("os2.bmp"), q, n);
	expect_bad("OS/2 1.x BMP refused", P("os2.bmp"), "OS/2");
	free(q);
	free(b);
}

/* Set every chunk's CRC of the PNG b (n bytes) right, as far as they fit. */
static void fix_crcs(uint8_t *b, size_t n)
{
	for (size_t off = 8; off + 12 <= n;) {
		uint32_t len = (uint32_t)b[off] << 24 | b[off + 1] << 16 | b[off + 2] << 8 | b[off + 3];
		if (len > n - off - 12)
			break;
		fix_crc(b, off);
		off += 12 + len;
	}
}

/* Random byte mutations of a valid file: each decodes or fails naming the
** file. crc: repair PNG chunk CRCs after mutating (to reach past them). */
static void mutate(const char *src, const char *name, int rounds, int crc)
{
	size_t n;
	uint8_t *orig = readfile(P(src), &n), *q = malloc(n);
	unsigned seed = 12345;
	int silent = 0, accepted = 0;
	const char *path = P("mut");
	for (int r = 0; r < rounds; r++) {
		memcpy(q, orig, n);
		int k = 1 + rand_r(&seed) % 4;
		for (int i = 0; i < k; i++) {
			size_t at = (size_t)rand_r(&seed) % n;
			q[at] = rand_r(&seed) % 3 ? (uint8_t)rand_r(&seed) : q[at] ^ 0x80;
		}
		if (crc)
			fix_crcs(q, n);
		size_t len = rand_r(&seed) % 4 ? n : (size_t)rand_r(&seed) % n;
		writefile(path, q, len);
		Image im;
		RtErr e = {0};
		if (img_decode(path, &im, &e) == 0) {
			accepted++;
			silent += !(im.w > 0 && im.h > 0 && im.px);
			img_free(&im);
		} else {
			silent += !strstr(e.msg, path) || im.px != NULL;
		}
	}
	t_check(silent == 0, name, "%d of %d without a message naming the file", silent, rounds);
	printf("# %s: %d of %d still decode\n", name, accepted, rounds);
	free(q);
	free(orig);
}

/* ---- channels and resizing ---------------------------------------------- */

/* The largest |a[i] - v| over n floats. */
static float maxdev(const float *a, size_t n, float v)
{
	float m = 0;
	for (size_t i = 0; i < n; i++)
		m = fabsf(a[i] - v) > m ? fabsf(a[i] - v) : m;
	return m;
}

static void test_channels(void)
{
	uint8_t g[4] = {0, 51, 102, 255}, c[6] = {255, 0, 0, 10, 20, 30};
	Image grey = {2, 2, 1, g}, col = {2, 1, 3, c};
	float t[12];
	img_to_tensor(&grey, 3, 2, 2, t);
	int ok = 1;
	for (int k = 0; k < 3; k++)
		for (int i = 0; i < 4; i++)
			ok &= t[k * 4 + i] == g[i] / 255.0f;
	t_check(ok, "grey -> RGB repeats the grey plane", "%g %g %g", t[0], t[4], t[8]);
	img_to_tensor(&col, 1, 1, 2, t);
	float l1 = (0.299f * 10 + 0.587f * 20 + 0.114f * 30) / 255;
	t_check(fabsf(t[0] - 0.299f) < 1e-6 && fabsf(t[1] - l1) < 1e-6, "RGB -> grey is BT.601 luma",
	        "%g %g", t[0], t[1]);
	img_to_tensor(&col, 3, 1, 2, t);
	t_check(t[0] == 1 && t[1] == 10 / 255.0f && t[2] == 0 && t[3] == 20 / 255.0f &&
	        t[5] == 30 / 255.0f, "RGB tensor is planar [c,h,w] in [0,1]", "%g %g %g %g",
	        t[0], t[1], t[2], t[3]);
}

static void test_resize(void)
{
	enum { SW = 37, SH = 23 };
	uint8_t px[SW * SH * 3];
	memset(px, 173, sizeof px);
	Image im = {SW, SH, 3, px};
	int sizes[][2] = {{10, 7}, {50, 40}, {37, 23}, {100, 5}, {1, 1}};
	float *t = malloc(sizeof *t * 3 * 100 * 40);
	for (int i = 0; i < 5; i++) {
		int w = sizes[i][0], h = sizes[i][1];
		char name[64];
		img_to_tensor(&im, 3, h, w, t);
		snprintf(name, sizeof name, "constant image stays constant at %dx%d", w, h);
		float d = maxdev(t, 3 * (size_t)w * h, 173 / 255.0f);
		t_check(d < 1e-6, name, "max deviation %g", d);
	}
	/* A 2x downscale of a 4x4 checkerboard averages to 0.5. */
	uint8_t cb[16];
	for (int i = 0; i < 16; i++)
		cb[i] = ((i / 4 + i % 4) & 1) ? 255 : 0;
	Image chk = {4, 4, 1, cb};
	img_to_tensor(&chk, 1, 2, 2, t);
	t_check(maxdev(t, 4, 0.5f) < 1e-6, "2x downscale of a checkerboard averages",
	        "%g %g %g %g", t[0], t[1], t[2], t[3]);
	/* 3 -> 2 (non-integer area): output 0 = (p0 + p1 / 2) / 1.5. */
	uint8_t three[3] = {0, 90, 255};
	Image th = {3, 1, 1, three};
	img_to_tensor(&th, 1, 1, 2, t);
	t_check(fabsf(t[0] - 30 / 255.0f) < 1e-6 && fabsf(t[1] - 200 / 255.0f) < 1e-6,
	        "3 -> 2 shrink weights partial pixels by area", "%g %g", t[0] * 255, t[1] * 255);
	/* Upscaling a ramp 4 -> 8 is linear between pixel centres, clamped at the edges. */
	uint8_t ramp[4] = {0, 60, 120, 180};
	Image r = {4, 1, 1, ramp};
	img_to_tensor(&r, 1, 1, 8, t);
	int ok = fabsf(t[0]) < 1e-6 && fabsf(t[7] - 180 / 255.0f) < 1e-6;
	for (int i = 1; i < 7; i++)
		ok &= fabsf(t[i] - 60 * (i / 2.0f - 0.25f) / 255) < 1e-6;
	t_check(ok, "upscaled ramp is linear", "%g %g %g %g", t[0] * 255, t[1] * 255, t[2] * 255,
	        t[3] * 255);
	/* The vertical axis too: a column ramp 2 -> 4. */
	uint8_t col[2] = {0, 200};
	Image cl = {1, 2, 1, col};
	img_to_tensor(&cl, 1, 4, 1, t);
	t_check(fabsf(t[0]) < 1e-6 && fabsf(t[1] * 255 - 50) < 1e-4 && fabsf(t[2] * 255 - 150) < 1e-4 &&
	        fabsf(t[3] * 255 - 200) < 1e-4, "upscaled column ramp is linear", "%g %g %g %g",
	        t[0] * 255, t[1] * 255, t[2] * 255, t[3] * 255);
	free(t);
	/* img_load end to end: decode and preprocess. */
	float g[3 * 4 * 4];
	RtErr e = {0};
	int rc = img_load(P("grey.png"), 3, 4, 4, g, &e);
	t_check(rc == 0 && g[0] == g[16] && g[0] == g[32], "img_load grey PNG as 3 channels", "%s", e.msg);
	RtErr e2 = {0};
	t_check(img_load(P("grey.png"), 2, 4, 4, g, &e2) == -1 && strstr(e2.msg, "grey.png"),
	        "img_load refuses 2 channels", "%s", e2.msg);
	RtErr e3 = {0};
	t_check(img_load(P("empty.png"), 1, 4, 4, g, &e3) == -1 && strstr(e3.msg, "empty.png"),
	        "img_load passes the decoder's error on", "%s", e3.msg);
}

/* ---- augmentation ------------------------------------------------------- */

static void fill(float *x, size_t n)
{
	for (size_t i = 0; i < n; i++)
		x[i] = pat((int)i) / 255.0f;
}

static void test_augment(void)
{
	enum { C = 2, N = 6, H = 4, W = 7 };
	float x[C * N * N], y[C * N * N], tmp[C * N * N];
	const Augment id = {0, 0, 0, 1, 0, 0};
	fill(x, sizeof x / 4);
	memcpy(y, x, sizeof x);
	img_augment(y, C, N, N, &id, tmp);
	t_check(!memcmp(x, y, sizeof x), "identity augmentation leaves the image unchanged", "differs");
	/* 90 degrees counter-clockwise: out(X, Y) = in(N-1-Y, X). */
	Augment r90 = id;
	r90.deg = 90;
	img_augment(y, C, N, N, &r90, tmp);
	int ok = 1;
	for (int k = 0; k < C; k++)
		for (int Y = 0; Y < N; Y++)
			for (int X = 0; X < N; X++)
				ok &= y[k * N * N + Y * N + X] == x[k * N * N + X * N + (N - 1 - Y)];
	t_check(ok, "90-degree rotation moves pixels counter-clockwise, exactly", "y[0]=%g",
	        y[0]);
	for (int i = 0; i < 3; i++)
		img_augment(y, C, N, N, &r90, tmp);
	t_check(!memcmp(x, y, sizeof x), "four 90-degree rotations are the identity", "differs");
	/* 20 degrees: the centre of a constant odd square stays, corners go to zero. */
	float s[5 * 5], ts[5 * 5];
	for (int i = 0; i < 25; i++)
		s[i] = 0.5f;
	Augment r20 = id;
	r20.deg = 20;
	img_augment(s, 1, 5, 5, &r20, ts);
	t_check(fabsf(s[12] - 0.5f) < 1e-6 && s[0] < 0.5f && s[24] < 0.5f,
	        "20-degree rotation keeps the centre, zero-fills the corners", "%g %g", s[12], s[0]);
	/* Translation (2, 1) on a non-square image: shifts right and down, zero fill. */
	float a[C * H * W], b[C * H * W], tb[C * H * W];
	fill(a, C * H * W);
	memcpy(b, a, sizeof a);
	Augment tr = id;
	tr.dx = 2, tr.dy = 1;
	img_augment(b, C, H, W, &tr, tb);
	ok = 1;
	for (int k = 0; k < C; k++)
		for (int Y = 0; Y < H; Y++)
			for (int X = 0; X < W; X++) {
				float want = X >= 2 && Y >= 1 ? a[k * H * W + (Y - 1) * W + X - 2] : 0;
				ok &= b[k * H * W + Y * W + X] == want;
			}
	t_check(ok, "translation (2, 1) shifts right/down and zero-fills", "b[0]=%g", b[0]);
	memcpy(b, a, sizeof a);
	tr.dx = -3, tr.dy = -2;
	img_augment(b, C, H, W, &tr, tb);
	ok = 1;
	for (int Y = 0; Y < H; Y++)
		for (int X = 0; X < W; X++) {
			float want = X + 3 < W && Y + 2 < H ? a[(Y + 2) * W + X + 3] : 0;
			ok &= b[Y * W + X] == want;
		}
	t_check(ok, "translation (-3, -2) shifts left/up and zero-fills", "b[0]=%g", b[0]);
	/* Flips: the mirror image, and involutions. */
	Augment hf = id, vf = id, both = id;
	hf.hflip = 1, vf.vflip = 1, both.hflip = both.vflip = 1;
	memcpy(b, a, sizeof a);
	img_augment(b, C, H, W, &hf, tb);
	ok = 1;
	for (int Y = 0; Y < H; Y++)
		for (int X = 0; X < W; X++)
			ok &= b[W * H + Y * W + X] == a[W * H + Y * W + (W - 1 - X)];
	img_augment(b, C, H, W, &hf, tb);
	t_check(ok && !memcmp(a, b, sizeof a), "horizontal flip mirrors and is an involution", "differs");
	img_augment(b, C, H, W, &vf, tb);
	ok = b[0] == a[(H - 1) * W];
	img_augment(b, C, H, W, &vf, tb);
	t_check(ok && !memcmp(a, b, sizeof a), "vertical flip mirrors and is an involution", "differs");
	img_augment(b, C, H, W, &both, tb);
	ok = b[0] == a[H * W - 1];
	img_augment(b, C, H, W, &both, tb);
	t_check(ok && !memcmp(a, b, sizeof a), "both flips: a 180-degree turn, an involution", "differs");
	/* Brightness multiplies and clamps. */
	float br[4] = {0, 0.2f, 0.8f, 1}, tbr[4];
	Augment bu = id;
	bu.brightness = 1.5f;
	img_augment(br, 1, 2, 2, &bu, tbr);
	t_check(br[0] == 0 && fabsf(br[1] - 0.3f) < 1e-6 && br[2] == 1 && br[3] == 1,
	        "brightness 1.5 multiplies and clamps to 1", "%g %g %g %g", br[0], br[1], br[2], br[3]);
	bu.brightness = 0.8f;
	img_augment(br, 1, 2, 2, &bu, tbr);
	t_check(fabsf(br[1] - 0.24f) < 1e-6 && fabsf(br[3] - 0.8f) < 1e-6, "brightness 0.8 darkens",
	        "%g %g", br[1], br[3]);
}

/* Palette indices past the palette are errors (not black), in PNG and BMP. */
static void test_palette_index(void)
{
	png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {1, 2, 3}};
	uint8_t p4[2] = {0x01, 0x25};   /* indices 0 1 / 2 5: 5 is past the 3 colours */
	png_raw(P("palbad.png"), 2, 2, PNG_COLOR_TYPE_PALETTE, 4, 0, p4, 1, pal, 3, NULL, 0);
	expect_bad("PNG palette index past the palette", P("palbad.png"),
	           "row 1, column 1: palette index 5 past the palette's 3 colours");
	uint8_t p8[16] = {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2, 9};
	png_raw(P("palbad7.png"), 4, 4, PNG_COLOR_TYPE_PALETTE, 8, PNG_INTERLACE_ADAM7, p8, 4, pal,
	        3, NULL, 0);
	expect_bad("interlaced PNG palette index past the palette", P("palbad7.png"),
	           "row 3, column 3: palette index 9 past the palette's 3 colours");
	static const uint8_t bpal[6] = {10, 20, 30, 40, 50, 60};
	uint8_t bpix[6] = {0, 1, 0, 1, 7, 1};
	BmpSpec b = {.w = 3, .h = 2, .bpp = 8, .pal = bpal, .npal = 2, .pix = bpix};
	bmp_write(P("palbad.bmp"), &b);
	expect_bad("BMP palette index past the palette", P("palbad.bmp"),
	           "row 1, column 1: palette index past the palette's 2 colours");
}

/* The pixel limit: checked from the header for every format, the message
** names the file, its dimensions and the limit; img_load streams rows into
** the resize and gives what decoding whole and resizing gives. */
static void test_limits_and_streams(void)
{
	uint8_t px[11 * 10 * 3];
	for (size_t i = 0; i < sizeof px; i++)
		px[i] = pat((int)i);
	png_raw(P("l.png"), 11, 10, PNG_COLOR_TYPE_RGB, 8, 0, px, 33, NULL, 0, NULL, 0);
	jpeg_raw(P("l.jpg"), 11, 10, 3, JCS_RGB, px, 90, 0);
	BmpSpec b = {.w = 11, .h = 10, .bpp = 24, .pix = px};
	bmp_write(P("l.bmp"), &b);
	img_set_max_pixels(109);
	t_check(img_max_pixels() == 109, "the pixel limit can be set", "%lld",
	        (long long)img_max_pixels());
	expect_bad("a PNG over the pixel limit", P("l.png"),
	           "PNG image of 11x10 = 110 pixels exceeds the limit of 109 pixels (set "
	           "LUNAC_MAX_IMAGE_PIXELS");
	expect_bad("a JPEG over the pixel limit", P("l.jpg"), "JPEG image of 11x10 = 110 pixels");
	expect_bad("a BMP over the pixel limit", P("l.bmp"), "BMP image of 11x10 = 110 pixels");
	float t[3 * 4 * 4];
	RtErr e = {0};
	t[0] = 1;
	t_check(img_load(P("l.png"), 3, 4, 4, t, &e) && strstr(e.msg, "exceeds the limit") &&
	        t[0] == 0, "img_load: over the limit, an error and dst zeroed", "%s", e.msg);
	img_set_max_pixels(110);
	Image im;
	decode_ok(P("l.png"), &im, 11, 10, 3, "an image at the pixel limit decodes");
	img_free(&im);
	img_set_max_pixels(IMG_MAX_PIXELS);
	static const char *files[] = {"l.png", "l.jpg", "l.bmp", "adam7.png", "pal.png", "rgb.jpg",
	                              "prog.jpg", "24.bmp", "pal.bmp", "565.bmp", "8g.bmp"};
	static const int sizes[][3] = {{3, 4, 5}, {1, 7, 3}, {3, 23, 19}, {1, 1, 1}, {3, 10, 11}};
	for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
		int same = 1;
		RtErr e1 = {0}, e2 = {0};
		for (size_t k = 0; k < sizeof sizes / sizeof *sizes && same; k++) {
			int c = sizes[k][0], h = sizes[k][1], w = sizes[k][2];
			float *a = calloc((size_t)c * h * w, sizeof *a), *z = calloc((size_t)c * h * w, sizeof *z);
			Image whole;
			same = !img_load(P(files[i]), c, h, w, a, &e1) && !img_decode(P(files[i]), &whole, &e2) &&
			       !img_to_tensor(&whole, c, h, w, z) && !memcmp(a, z, sizeof *a * c * h * w);
			img_free(&whole);
			free(a);
			free(z);
		}
		char name[200];
		snprintf(name, sizeof name, "img_load of %s streams rows: the same floats as decoding whole",
		         files[i]);
		t_check(same, name, "%s %s", e1.msg, e2.msg);
	}
}

/* The source pixels of the PIL cases (pil_bilinear.py's pil_src). */
static uint8_t src_px(int x, int y, int k)
{
	return (uint8_t)((x * x * 31 + y * 17 + x * y * 7 + k * 101 + ((x * 13) ^ (y * 29))) % 256);
}

/* IMG_BILINEAR gives PIL's bytes exactly (expected values made by PIL, in
** pil_bilinear.h); IMG_AREA differs from them where the ratio is not an
** integer; img_load_as streams the same floats and reports the source. */
static void test_pil_bilinear(void)
{
	int n = (int)(sizeof pil_cases / sizeof pil_cases[0]), differ = 0;
	for (int i = 0; i < n; i++) {
		const struct PilCase *q = &pil_cases[i];
		uint8_t *px = malloc((size_t)q->sw * q->sh * q->sc);
		float *t = malloc(sizeof *t * (size_t)q->w * q->h * q->c);
		float *a = malloc(sizeof *a * (size_t)q->w * q->h * q->c);
		for (int y = 0; y < q->sh; y++)
			for (int x = 0; x < q->sw; x++)
				for (int k = 0; k < q->sc; k++)
					px[(y * q->sw + x) * q->sc + k] = src_px(x, y, k);
		Image im = {q->sw, q->sh, q->sc, px};
		img_to_tensor_as(&im, q->c, q->h, q->w, IMG_BILINEAR, t);
		img_to_tensor_as(&im, q->c, q->h, q->w, IMG_AREA, a);
		int bad = -1;
		size_t plane = (size_t)q->w * q->h;
		for (size_t j = 0; j < plane * q->c && bad < 0; j++) {
			int k = (int)(j / plane), p = (int)(j % plane);
			if (t[j] != q->px[p * q->c + k] / 255.0f)
				bad = (int)j;
		}
		for (size_t j = 0; j < plane * q->c; j++)
			differ += a[j] != t[j];
		char name[128];
		snprintf(name, sizeof name, "bilinear %dx%dx%d -> %dx%dx%d is PIL's resize byte for byte",
		         q->sw, q->sh, q->sc, q->w, q->h, q->c);
		t_check(bad < 0, name, "element %d: %g, PIL %d", bad, bad < 0 ? 0 : t[bad] * 255,
		        bad < 0 ? 0 : q->px[(bad % plane) * q->c + bad / plane]);
		free(px);
		free(t);
		free(a);
	}
	t_check(differ > 0, "area and bilinear differ on the PIL cases", "identical");
	/* img_load_as: a 40x30 RGB PNG to grey 16x12 streams what img_to_tensor_as gives. */
	uint8_t px[40 * 30 * 3];
	for (int i = 0; i < 40 * 30 * 3; i++)
		px[i] = src_px(i / 3 % 40, i / 120, i % 3);
	Image im = {40, 30, 3, px};
	RtErr e = {0};
	float s[16 * 12], z[16 * 12];
	ImgSrc src = {0};
	int ok = !img_write_png(P("pil.png"), &im, &e) &&
	         !img_load_as(P("pil.png"), 1, 12, 16, IMG_BILINEAR, s, &src, &e) &&
	         !img_to_tensor_as(&im, 1, 12, 16, IMG_BILINEAR, z) && !memcmp(s, z, sizeof s);
	t_check(ok && src.w == 40 && src.h == 30 && src.c == 3,
	        "img_load_as streams the bilinear resize and reports the source 40x30 RGB",
	        "%s %dx%dx%d", e.msg, src.w, src.h, src.c);
}

int main(void)
{
	if (t_dir_open("lunac-image"))
		return 1;
	test_png_round_trip();
	test_png_variants();
	test_jpeg();
	test_bmp();
	test_hostile_png();
	test_hostile_bmp();
	mutate("rgb.png", "PNG mutations: no crash, every error names the file", 1000, 0);
	mutate("adam7.png", "PNG mutations with CRCs repaired: no crash, errors name the file",
	       1500, 1);
	mutate("pal.png", "palette PNG mutations, CRCs repaired: no crash, errors name the file",
	       1500, 1);
	mutate("rgb.jpg", "JPEG mutations: no crash, every error names the file", 1500, 0);
	mutate("prog.jpg", "progressive JPEG mutations: no crash, errors name the file", 1500, 0);
	mutate("24.bmp", "BMP mutations: no crash, every error names the file", 1500, 0);
	mutate("pal.bmp", "palette BMP mutations: no crash, every error names the file", 1500, 0);
	mutate("565.bmp", "bit-field BMP mutations: no crash, every error names the file", 1500, 0);
	test_channels();
	test_resize();
	test_pil_bilinear();
	test_palette_index();
	test_limits_and_streams();
	test_augment();
	t_dir_cleanup();
	return t_done();
}
