/*
** image_png.c -- PNG decoding with libpng's classic API, from memory.
** Every colour type and bit depth becomes 8-bit grey or RGB: 1/2/4-bit
** grey is expanded, palettes become RGB, 16-bit samples are scaled
** (v * 255 / 65535, rounded), alpha (an alpha channel or tRNS) is dropped
** like PIL's convert("RGB"), and gamma/ICC chunks are ignored (the stored
** values are used, as PIL does). libpng errors longjmp back here; a file
** that ends early, a bad CRC in a critical chunk or a broken zlib stream is
** an error, never a partial image. Palette images are expanded here, not
** by libpng (which gives black for an index past the palette): such an
** index is an error naming its row and column. Rows are decoded one at a
** time into the sink; an interlaced image is decoded whole first (its
** passes revisit every row).
*/
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "image_dec.h"

typedef struct Src {
	const uint8_t *buf;
	size_t n, pos;
	int truncated;
	char msg[256];
	char warn[128];         /* the first warning: says why IHDR is invalid */
} Src;

static void on_error(png_structp png, png_const_charp msg)
{
	Src *s = png_get_error_ptr(png);
	snprintf(s->msg, sizeof s->msg, "%s", msg);
	png_longjmp(png, 1);
}

/* Warnings are ancillary-chunk problems (the image itself is fine) or the
** reason for an error to come; keep the first for that error's message. */
static void on_warning(png_structp png, png_const_charp msg)
{
	Src *s = png_get_error_ptr(png);
	if (!s->warn[0])
		snprintf(s->warn, sizeof s->warn, "%s", msg);
}

static void on_read(png_structp png, png_bytep dst, size_t len)
{
	Src *s = png_get_io_ptr(png);
	if (len > s->n - s->pos) {
		s->truncated = 1;
		png_error(png, "truncated");
	}
	memcpy(dst, s->buf + s->pos, len);
	s->pos += len;
}

/* Ask libpng for 8-bit samples without gamma (palette images: one index
** byte per pixel); returns the channel count it will deliver (1-4), and
** the number of interlace passes in *passes. */
static int set_transforms(png_structp png, png_infop info, int *passes)
{
	int type = png_get_color_type(png, info);
	int depth = png_get_bit_depth(png, info);
	if (type == PNG_COLOR_TYPE_PALETTE && depth < 8)
		png_set_packing(png);
	if (type == PNG_COLOR_TYPE_GRAY && depth < 8)
		png_set_expand_gray_1_2_4_to_8(png);
	if (depth == 16) {
#ifdef PNG_READ_SCALE_16_TO_8_SUPPORTED
		png_set_scale_16(png);
#else
		png_set_strip_16(png);
#endif
	}
	*passes = png_set_interlace_handling(png);
	png_read_update_info(png, info);
	return png_get_channels(png, info);
}

/* One decoded row: palette indices (pal != NULL) or samples of ch
** channels, as 8-bit grey or RGB into out. -1 at an index past the
** palette, its column in *bad. */
static int convert_row(const uint8_t *raw, png_uint_32 w, int ch, const png_color *pal,
                       int npal, uint8_t *out, png_uint_32 *bad)
{
	if (pal) {
		for (png_uint_32 x = 0; x < w; x++) {
			if (raw[x] >= npal) {
				*bad = x;
				return -1;
			}
			const png_color *p = &pal[raw[x]];
			out[3 * x] = p->red, out[3 * x + 1] = p->green, out[3 * x + 2] = p->blue;
		}
	} else if (ch == 2 || ch == 4) {   /* drop alpha */
		for (png_uint_32 x = 0; x < w; x++)
			for (int k = 0; k < ch - 1; k++)
				out[x * (ch - 1) + k] = raw[x * ch + k];
	} else {
		memcpy(out, raw, (size_t)w * ch);
	}
	return 0;
}

int img_png_decode(const char *path, const uint8_t *buf, size_t n, ImgSink *sink, RtErr *e)
{
	Src s = {buf, n, 0, 0, "", ""};
	png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &s, on_error, on_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_read_struct(&png, NULL, NULL);
		return rt_errorf(e, "%s: out of memory starting the PNG decoder", path);
	}
	uint8_t *volatile raw = NULL, *volatile out = NULL;
	png_bytep *volatile rows = NULL;
	volatile int rc = -1;
	if (setjmp(png_jmpbuf(png))) {
		if (s.truncated)
			rt_errorf(e, "%s: truncated PNG data (the file ends early)", path);
		else if (!strcmp(s.msg, "Invalid IHDR data") && s.warn[0])
			rt_errorf(e, "%s: corrupt PNG: %s (%s)", path, s.msg, s.warn);
		else
			rt_errorf(e, "%s: corrupt PNG: %s", path, s.msg);
		goto done;
	}
	png_set_read_fn(png, &s, on_read);
	png_read_info(png, info);
	png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
	if (img_check_size(path, "PNG", w, h, e))
		goto done;
	png_colorp pal = NULL;
	int npal = 0, passes = 1;
	if (png_get_color_type(png, info) == PNG_COLOR_TYPE_PALETTE &&
	    !png_get_PLTE(png, info, &pal, &npal)) {
		rt_errorf(e, "%s: corrupt PNG: a palette image without a palette", path);
		goto done;
	}
	int ch = set_transforms(png, info, &passes);
	if (ch < 1 || ch > 4 || (pal && ch != 1) || png_get_rowbytes(png, info) != (size_t)w * ch) {
		rt_errorf(e, "%s: PNG layout not understood (%d channels)", path, ch);
		goto done;
	}
	int oc = pal || ch >= 3 ? 3 : 1;
	size_t rowlen = (size_t)w * ch;
	raw = malloc(passes > 1 ? rowlen * h : rowlen);
	out = malloc((size_t)w * oc);
	if (passes > 1 && raw)
		rows = malloc(sizeof *rows * h);
	if (!raw || !out || (passes > 1 && !rows)) {
		rt_errorf(e, "%s: out of memory decoding a %ux%u PNG", path, w, h);
		goto done;
	}
	if (sink->begin(sink, path, (int)w, (int)h, oc, e))
		goto done;
	if (passes > 1) {
		for (png_uint_32 y = 0; y < h; y++)
			rows[y] = raw + (size_t)y * rowlen;
		png_read_image(png, rows);
	}
	for (png_uint_32 y = 0, x; y < h; y++) {
		uint8_t *r = passes > 1 ? rows[y] : raw;
		if (passes == 1)
			png_read_row(png, r, NULL);
		if (convert_row(r, w, ch, pal, npal, out, &x)) {
			rt_errorf(e, "%s: corrupt PNG: row %u, column %u: palette index %d past the "
			          "palette's %d colours", path, y, x, r[x], npal);
			goto done;
		}
		sink->row(sink, out);
	}
	png_read_end(png, NULL);
	rc = 0;
done:
	png_destroy_read_struct(&png, &info, NULL);
	free(rows);
	free(raw);
	free(out);
	return rc;
}
