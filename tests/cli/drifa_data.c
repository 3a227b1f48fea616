/*
** drifa_data.c -- tiny image datasets for tests/cli/drifa_cli.sh, written
** with the runtime's img_write_png and libjpeg:
**
**   DIR/a/{c0,c1,c2}/NN.png        RGB 40x40, 8 per class: a bright square at
**                                  a class-specific place over noise
**   DIR/b/{n0,n1}/NN.png           grey 24x24, 10 per class: bright top or
**                                  bottom half
**   DIR/a_test, DIR/b_test         3 per class, the same way
**   DIR/paired.csv                 derm,mri,task1,task2 over a/ and b/ images
**   DIR/one.jpg                    a valid 40x40 JPEG (the test truncates a copy)
**
** Deterministic: a fixed linear congruential generator, no seed.
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jpeglib.h>

#include "image.h"

static unsigned rng = 12345;

static int noise(int span)
{
	rng = rng * 1103515245u + 12345u;
	return (int)((rng >> 16) % (unsigned)span);
}

/* One image of class k: a (w x h, c channels). */
static void draw(Image *im, int k, int two)
{
	for (int y = 0; y < im->h; y++)
		for (int x = 0; x < im->w; x++) {
			int on = two ? (k == 0) == (y < im->h / 2)
			             : x >= 4 + 11 * k && x < 14 + 11 * k && y >= 12 && y < 28;
			for (int ch = 0; ch < im->c; ch++)
				im->px[(y * im->w + x) * im->c + ch] = (uint8_t)((on ? 190 : 40) + noise(40));
		}
}

/* Write n images of class k of set `set` ("a" or "b") under dir; return 0. */
static int write_class(const char *dir, const char *set, const char *cls, int k, int n, int w,
                       int c, int first)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s/%s", dir, set, cls);
	mkdir(path, 0755);
	Image im = {w, w, c, malloc((size_t)(w * w * c))};
	for (int i = 0; i < n; i++) {
		draw(&im, k, c == 1);
		snprintf(path, sizeof path, "%s/%s/%s/%02d.png", dir, set, cls, first + i);
		RtErr e = {0};
		if (img_write_png(path, &im, &e)) {
			fprintf(stderr, "%s\n", e.msg);
			return 1;
		}
	}
	free(im.px);
	return 0;
}

/* A valid 40x40 RGB JPEG at path. */
static int write_jpeg(const char *path)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return 1;
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_stdio_dest(&c, f);
	c.image_width = c.image_height = 40;
	c.input_components = 3, c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_start_compress(&c, TRUE);
	unsigned char row[120];
	for (int y = 0; y < 40; y++) {
		for (int i = 0; i < 120; i++)
			row[i] = (unsigned char)(40 + noise(150));
		unsigned char *r = row;
		jpeg_write_scanlines(&c, &r, 1);
	}
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	return fclose(f) != 0;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return fprintf(stderr, "usage: drifa_data DIR\n"), 2;
	const char *d = argv[1];
	static const char *const sets[4] = {"a", "b", "a_test", "b_test"};
	char path[1024];
	for (int s = 0; s < 4; s++) {
		snprintf(path, sizeof path, "%s/%s", d, sets[s]);
		mkdir(path, 0755);
	}
	int rc = 0;
	for (int k = 0; k < 3; k++) {
		char cls[8];
		snprintf(cls, sizeof cls, "c%d", k);
		rc |= write_class(d, "a", cls, k, 8, 40, 3, 0) | write_class(d, "a_test", cls, k, 3, 40, 3, 8);
	}
	for (int k = 0; k < 2; k++) {
		char cls[8];
		snprintf(cls, sizeof cls, "n%d", k);
		rc |= write_class(d, "b", cls, k, 10, 24, 1, 0) | write_class(d, "b_test", cls, k, 3, 24, 1, 10);
	}
	snprintf(path, sizeof path, "%s/paired.csv", d);
	FILE *f = fopen(path, "w");
	if (!f)
		return 1;
	fprintf(f, "derm,mri,task1,task2\r\n");
	for (int i = 0; i < 16; i++)   /* task1 from a/c<k>, task2 from b/n<j> */
		fprintf(f, "a/c%d/%02d.png,\"b/n%d/%02d.png\",%d,%d\r\n", i % 3, i / 3, i % 2, i / 2,
		        i % 3, i % 2);
	rc |= fclose(f) != 0;
	snprintf(path, sizeof path, "%s/one.jpg", d);
	rc |= write_jpeg(path);
	return rc;
}
