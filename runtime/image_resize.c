/*
** image_resize.c -- from a decoded 8-bit image to the network's input: a
** planar float [c, h, w] tensor in [0, 1].
**
** Channels: grey -> RGB repeats the grey value; RGB -> grey is ITU-R BT.601
** luma (0.299 R + 0.587 G + 0.114 B), kept in float (PIL rounds it to an
** integer first; the difference is under 0.5/255).
**
** Resizing is separable, each axis on its own (one may shrink while the
** other grows), with pixel centres aligned: output pixel i covers source
** coordinates [i * S/D, (i + 1) * S/D) where source pixel j covers [j, j+1).
**  - shrinking (S > D): area averaging, each output pixel the mean of the
**    source area it covers, partial pixels weighted by their overlap
**    (OpenCV's INTER_AREA; PIL's BOX filter) -- anti-aliased;
**  - enlarging (S < D): bilinear at source coordinate (i + 0.5) * S/D - 0.5,
**    clamped to [0, S - 1] (OpenCV's INTER_LINEAR, PIL's BILINEAR when
**    enlarging);
**  - same size: a copy.
** The 2-D weights are the product of the two axes' weights, summed
** directly from the 8-bit pixels: nothing is allocated, so this can run
** inside a loader thread with no error path.
*/
#include <math.h>

#include "image.h"

/* One axis: S source pixels to D output pixels. */
typedef struct Axis {
	int S, D;
	double s;               /* S / D */
} Axis;

/* The source pixels [*j0, *j1] that output pixel i reads, and for the
** bilinear case the source coordinate *u. */
static void span(const Axis *a, int i, int *j0, int *j1, double *u)
{
	if (a->S > a->D) {
		double lo = i * a->s, hi = (i + 1) * a->s;
		*j0 = (int)floor(lo);
		*j1 = (int)ceil(hi) - 1;
		if (*j1 > a->S - 1)
			*j1 = a->S - 1;
	} else if (a->S < a->D) {
		double v = (i + 0.5) * a->s - 0.5;
		*u = v < 0 ? 0 : v > a->S - 1 ? a->S - 1 : v;
		*j0 = (int)floor(*u);
		*j1 = *j0 + 1 < a->S ? *j0 + 1 : *j0;
	} else {
		*j0 = *j1 = i;
	}
}

/* The weight of source pixel j in output pixel i (u from span). */
static double weight(const Axis *a, int i, int j, double u)
{
	if (a->S > a->D) {
		double lo = i * a->s, hi = (i + 1) * a->s;
		double l = j > lo ? j : lo, r = j + 1 < hi ? j + 1 : hi;
		return (r - l) / a->s;
	}
	if (a->S < a->D) {
		double d = fabs(u - j);
		return d < 1 ? 1 - d : 0;
	}
	return 1;
}

/* Source pixel (x, y) as c output channels into v. */
static void pixel(const Image *im, int c, int x, int y, double v[3])
{
	const uint8_t *p = im->px + ((size_t)y * im->w + x) * im->c;
	if (im->c == c) {
		for (int k = 0; k < c; k++)
			v[k] = p[k];
	} else if (c == 1) {
		v[0] = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
	} else {
		for (int k = 0; k < c; k++)
			v[k] = p[0];
	}
}

void img_to_tensor(const Image *im, int c, int h, int w, float *dst)
{
	if (c < 1 || c > 3 || h < 1 || w < 1)
		return;   /* img_load refuses these; the caller's bug otherwise */
	Axis ax = {im->w, w, (double)im->w / w}, ay = {im->h, h, (double)im->h / h};
	size_t plane = (size_t)h * w;
	for (int oy = 0; oy < h; oy++) {
		int y0, y1, x0, x1;
		double uy = 0, ux = 0;
		span(&ay, oy, &y0, &y1, &uy);
		for (int ox = 0; ox < w; ox++) {
			span(&ax, ox, &x0, &x1, &ux);
			double acc[3] = {0, 0, 0}, v[3];
			for (int y = y0; y <= y1; y++) {
				double wy = weight(&ay, oy, y, uy);
				for (int x = x0; x <= x1; x++) {
					double wt = wy * weight(&ax, ox, x, ux);
					pixel(im, c, x, y, v);
					for (int k = 0; k < c; k++)
						acc[k] += wt * v[k];
				}
			}
			for (int k = 0; k < c; k++) {
				double f = acc[k] / 255;
				dst[k * plane + (size_t)oy * w + ox] = (float)(f < 0 ? 0 : f > 1 ? 1 : f);
			}
		}
	}
}
