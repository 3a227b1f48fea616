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
** The 2-D weights are the product of the two axes' weights. The resize is
** streamed: each source row is first resized along x (its weights
** precomputed per output column), then added with its y weight into the
** output rows it falls in; an output row is written out once its last
** source row has come. Only the output rows still open are held (at most
** two when shrinking, about twice the enlargement factor when enlarging),
** so a decoder can hand rows over as it decodes them and the full-size
** image never needs to exist (img_load). img_to_tensor feeds the same code
** from a decoded image, so both give the same floats.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image_dec.h"

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

/* A streaming resize (image_dec.h). */
struct ImgResize {
	int sc, c, h, w;
	Axis ax, ay;
	float *dst;
	int *x0, *x1;           /* output column ox reads source columns x0..x1 ... */
	int *woff;              /* ... with weights wx[woff[ox] ...] */
	double *wx;
	double *hrow;           /* the current source row resized along x: w * c */
	double *acc;            /* open output rows, row oy in slot oy % nslot */
	int nslot, lo, hi, y;   /* output rows [lo, hi) are open; y: the next source row */
};

/* Source pixel p (sc channels) as c output channels into v. */
static void convert(const uint8_t *p, int sc, int c, double v[3])
{
	if (sc == c) {
		for (int k = 0; k < c; k++)
			v[k] = p[k];
	} else if (c == 1) {
		v[0] = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
	} else {
		for (int k = 0; k < c; k++)
			v[k] = p[0];
	}
}

/* The most output rows open at once while the source rows go by. */
static int open_rows(const Axis *ay)
{
	int most = 1, lo = 0, hi = 0, y0, y1;
	double u = 0;
	for (int y = 0; y < ay->S; y++) {
		while (hi < ay->D && (span(ay, hi, &y0, &y1, &u), y0 <= y))
			hi++;
		most = hi - lo > most ? hi - lo : most;
		while (lo < hi && (span(ay, lo, &y0, &y1, &u), y1 <= y))
			lo++;
	}
	return most;
}

/* Precompute the x spans and weights of every output column. */
static int x_weights(ImgResize *r)
{
	int total = 0, x0, x1;
	double u = 0;
	for (int ox = 0; ox < r->w; ox++) {
		span(&r->ax, ox, &x0, &x1, &u);
		total += x1 - x0 + 1;
	}
	r->x0 = malloc(sizeof *r->x0 * (size_t)r->w);
	r->x1 = malloc(sizeof *r->x1 * (size_t)r->w);
	r->woff = malloc(sizeof *r->woff * (size_t)r->w);
	r->wx = malloc(sizeof *r->wx * (size_t)total);
	if (!r->x0 || !r->x1 || !r->woff || !r->wx)
		return -1;
	for (int ox = 0, k = 0; ox < r->w; ox++) {
		span(&r->ax, ox, &r->x0[ox], &r->x1[ox], &u);
		r->woff[ox] = k;
		for (int x = r->x0[ox]; x <= r->x1[ox]; x++)
			r->wx[k++] = weight(&r->ax, ox, x, u);
	}
	return 0;
}

ImgResize *img_resize_new(int sw, int sh, int sc, int c, int h, int w, float *dst)
{
	ImgResize *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	*r = (ImgResize){.sc = sc, .c = c, .h = h, .w = w, .dst = dst,
	                 .ax = {sw, w, (double)sw / w}, .ay = {sh, h, (double)sh / h}};
	r->nslot = open_rows(&r->ay);
	size_t row = (size_t)w * c;
	r->hrow = malloc(sizeof *r->hrow * row);
	r->acc = malloc(sizeof *r->acc * row * (size_t)r->nslot);
	if (!r->hrow || !r->acc || x_weights(r)) {
		img_resize_free(r);
		return NULL;
	}
	return r;
}

/* Write output row oy (complete) to dst, scaled to [0, 1]. */
static void finish_row(ImgResize *r, int oy)
{
	const double *a = r->acc + (size_t)(oy % r->nslot) * r->w * r->c;
	size_t plane = (size_t)r->h * r->w;
	for (int ox = 0; ox < r->w; ox++)
		for (int k = 0; k < r->c; k++) {
			double f = a[ox * r->c + k] / 255;
			r->dst[k * plane + (size_t)oy * r->w + ox] = (float)(f < 0 ? 0 : f > 1 ? 1 : f);
		}
}

void img_resize_row(ImgResize *r, const uint8_t *row)
{
	int y = r->y++, c = r->c, y0, y1;
	double u = 0, v[3];
	if (y >= r->ay.S)
		return;
	for (int ox = 0; ox < r->w; ox++) {
		double acc[3] = {0, 0, 0};
		const double *wt = r->wx + r->woff[ox];
		for (int x = r->x0[ox]; x <= r->x1[ox]; x++) {
			convert(row + (size_t)x * r->sc, r->sc, c, v);
			for (int k = 0; k < c; k++)
				acc[k] += *wt * v[k];
			wt++;
		}
		for (int k = 0; k < c; k++)
			r->hrow[ox * c + k] = acc[k];
	}
	size_t len = (size_t)r->w * c;
	while (r->hi < r->h && (span(&r->ay, r->hi, &y0, &y1, &u), y0 <= y)) {
		memset(r->acc + (size_t)(r->hi % r->nslot) * len, 0, sizeof *r->acc * len);
		r->hi++;
	}
	for (int oy = r->lo; oy < r->hi; oy++) {
		span(&r->ay, oy, &y0, &y1, &u);
		double wy = weight(&r->ay, oy, y, u);
		double *a = r->acc + (size_t)(oy % r->nslot) * len;
		for (size_t i = 0; i < len; i++)
			a[i] += wy * r->hrow[i];
	}
	while (r->lo < r->hi && (span(&r->ay, r->lo, &y0, &y1, &u), y1 <= y))
		finish_row(r, r->lo++);
}

void img_resize_free(ImgResize *r)
{
	if (!r)
		return;
	free(r->x0);
	free(r->x1);
	free(r->woff);
	free(r->wx);
	free(r->hrow);
	free(r->acc);
	free(r);
}

int img_to_tensor(const Image *im, int c, int h, int w, float *dst)
{
	if (c < 1 || c > 3 || h < 1 || w < 1)
		return -1;   /* img_load refuses these; the caller's bug otherwise */
	ImgResize *r = img_resize_new(im->w, im->h, im->c, c, h, w, dst);
	if (!r)
		return -1;
	for (int y = 0; y < im->h; y++)
		img_resize_row(r, im->px + (size_t)y * im->w * im->c);
	img_resize_free(r);
	return 0;
}
