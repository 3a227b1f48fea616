/*
** image_augment.c -- the seeded augmentations of training, applied to a
** planar float [c, h, w] image in place (the caller draws the parameters).
**
** Rotation and translation are one inverse mapping: output pixel (X, Y)
** samples the source at R^-1((X - dx, Y - dy) - centre) + centre, with
** bilinear interpolation and zeros outside the image. The centre is
** ((w - 1) / 2, (h - 1) / 2) in pixel indices (PIL's w/2, h/2 in its
** corner coordinates); positive degrees turn the picture counter-clockwise
** as displayed (like PIL's Image.rotate), positive dx moves it right and
** positive dy down. Sample coordinates within 1e-4 of an integer are snapped
** to it, so 90-degree turns and whole-pixel shifts move pixels exactly.
** Then flips, then brightness (multiply and clamp to [0, 1]); each step is
** skipped at its identity value, so the identity leaves x bit-identical.
*/
#include <math.h>
#include <string.h>

#include "image.h"

/* u, or the integer next to it when it is that close. */
static double snap(double u)
{
	double r = nearbyint(u);
	return fabs(u - r) < 1e-4 ? r : u;
}

/* Bilinear sample of plane p (h x w) at (u, v), zero outside. */
static float sample(const float *p, int h, int w, double u, double v)
{
	double fu = floor(u), fv = floor(v);
	if (!(fu >= -1 && fv >= -1 && fu <= w - 1 && fv <= h - 1))
		return 0;   /* outside, or not a number */
	int x0 = (int)fu, y0 = (int)fv;
	double ax = u - fu, ay = v - fv, acc = 0;
	for (int j = 0; j < 2; j++) {
		int y = y0 + j;
		double wy = j ? ay : 1 - ay;
		if (y < 0 || y >= h || wy == 0)
			continue;
		for (int i = 0; i < 2; i++) {
			int x = x0 + i;
			double wx = i ? ax : 1 - ax;
			if (x >= 0 && x < w && wx != 0)
				acc += wy * wx * p[(size_t)y * w + x];
		}
	}
	return (float)acc;
}

/* Rotate by deg and translate by (dx, dy): x -> tmp, then back to x. */
static void warp(float *x, int c, int h, int w, const Augment *a, float *tmp)
{
	double th = a->deg * (M_PI / 180), cs = cos(th), sn = sin(th);
	double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
	size_t plane = (size_t)h * w;
	for (int Y = 0; Y < h; Y++)
		for (int X = 0; X < w; X++) {
			double px = X - a->dx - cx, py = Y - a->dy - cy;
			double u = snap(cx + px * cs - py * sn), v = snap(cy + px * sn + py * cs);
			for (int k = 0; k < c; k++)
				tmp[k * plane + (size_t)Y * w + X] = sample(x + k * plane, h, w, u, v);
		}
	memcpy(x, tmp, sizeof *x * plane * c);
}

/* Mirror each row (hflip) or the row order (vflip) of every plane. */
static void flip(float *x, int c, int h, int w, int hflip, int vflip)
{
	for (int k = 0; k < c; k++) {
		float *p = x + (size_t)k * h * w;
		if (hflip)
			for (int y = 0; y < h; y++)
				for (int i = 0, j = w - 1; i < j; i++, j--) {
					float t = p[(size_t)y * w + i];
					p[(size_t)y * w + i] = p[(size_t)y * w + j];
					p[(size_t)y * w + j] = t;
				}
		if (vflip)
			for (int i = 0, j = h - 1; i < j; i++, j--)
				for (int xx = 0; xx < w; xx++) {
					float t = p[(size_t)i * w + xx];
					p[(size_t)i * w + xx] = p[(size_t)j * w + xx];
					p[(size_t)j * w + xx] = t;
				}
	}
}

void img_augment(float *x, int c, int h, int w, const Augment *a, float *tmp)
{
	if (a->deg != 0 || a->dx != 0 || a->dy != 0)
		warp(x, c, h, w, a, tmp);
	if (a->hflip || a->vflip)
		flip(x, c, h, w, a->hflip, a->vflip);
	if (a->brightness != 1) {
		size_t n = (size_t)c * h * w;
		for (size_t i = 0; i < n; i++) {
			float v = x[i] * a->brightness;
			x[i] = v < 0 ? 0 : v > 1 ? 1 : v;
		}
	}
}
