/*
** image_write.c -- 8-bit grey or RGB pixels to a PNG file, atomically
** (rt_out_*: a temporary renamed into place, removed on any failure).
*/
#include <png.h>
#include <setjmp.h>
#include <string.h>

#include "image_dec.h"

typedef struct Dst {
	RtOut o;
	RtErr *e;
	int failed;             /* a write failed: e already holds why */
	char msg[256];
} Dst;

static void on_error(png_structp png, png_const_charp msg)
{
	Dst *d = png_get_error_ptr(png);
	snprintf(d->msg, sizeof d->msg, "%s", msg);
	png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg)
{
	(void)png;
	(void)msg;
}

static void on_write(png_structp png, png_bytep p, size_t n)
{
	Dst *d = png_get_io_ptr(png);
	if (rt_out_write(&d->o, p, n, d->e)) {
		d->failed = 1;
		png_error(png, "write failed");
	}
}

static void on_flush(png_structp png)
{
	(void)png;
}

int img_write_png(const char *path, const Image *im, RtErr *e)
{
	if (!im->px || (im->c != 1 && im->c != 3))
		return rt_errorf(e, "%s: cannot write a PNG of %d channels (1 or 3)", path, im->c);
	if (img_check_size(path, "PNG", im->w, im->h, e))
		return -1;
	Dst d;
	memset(&d, 0, sizeof d);
	d.e = e;
	if (rt_out_open(&d.o, path, e))
		return -1;
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &d, on_error, on_warning);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!info) {
		png_destroy_write_struct(&png, NULL);
		rt_out_abort(&d.o);
		return rt_errorf(e, "%s: out of memory starting the PNG encoder", path);
	}
	if (setjmp(png_jmpbuf(png))) {
		if (!d.failed)
			rt_errorf(e, "%s: PNG encoding failed: %s", path, d.msg);
		png_destroy_write_struct(&png, &info);
		rt_out_abort(&d.o);
		return -1;
	}
	png_set_write_fn(png, &d, on_write, on_flush);
	png_set_IHDR(png, info, im->w, im->h, 8,
	             im->c == 1 ? PNG_COLOR_TYPE_GRAY : PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
	             PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	size_t stride = (size_t)im->w * im->c;
	for (int y = 0; y < im->h; y++)
		png_write_row(png, im->px + y * stride);
	png_write_end(png, info);
	png_destroy_write_struct(&png, &info);
	return rt_out_commit(&d.o, e);
}
