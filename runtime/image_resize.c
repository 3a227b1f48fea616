/*
** image_resize.c -- from a decoded 8-bit image to the network's input: a
** planar float [c, h, w] tensor in [0, 1], by one of two filters.
**
** Resizing is separable, each axis on its own (one may shrink while the
** other grows), with pixel centres aligned: output pixel i covers source
** coordinates [i * S/D, (i + 1) * S/D) where source pixel j covers [j, j+1).
**
** IMG_AREA (the default; OpenCV's INTER_AREA):
**  - shrinking (S > D): area averaging, each output pixel the mean of the
**    source area it covers, partial pixels weighted by their overlap --
**    anti-aliased. At integer ratios this is PIL's BOX filter; at other
**    ratios it is not (BOX weighs whole pixels by whether their centre
**    falls inside, not by their overlap);
**  - enlarging (S < D): bilinear at source coordinate (i + 0.5) * S/D - 0.5,
**    clamped to [0, S - 1] (OpenCV's INTER_LINEAR);
**  - same size: a copy.
**  Channels: grey -> RGB repeats the grey value; RGB -> grey is ITU-R
**  BT.601 luma (0.299 R + 0.587 G + 0.114 B), kept in float; the sums are
**  in double and only the result is rounded, to float.
**
** IMG_BILINEAR (torchvision's Resize(antialias=True) on a PIL image, which
** is PIL's resize with BILINEAR): a triangle filter whose support grows
** with the shrink factor. Per axis, with scale = S/D and fs = max(scale,
** 1), output i centred at u = (i + 0.5) * scale reads the source pixels
** [round(u - fs), round(u + fs)) clipped to the image, pixel j weighted by
** tri((j + 0.5 - u) / fs), tri(t) = max(0, 1 - |t|), the weights divided
** by their sum. It reproduces PIL's arithmetic exactly, so the bytes are
** PIL's: weights as 22-bit fixed point, the horizontal pass first, its
** result rounded and clipped to 8 bits, then the vertical pass, rounded
** and clipped again; the tensor is that byte / 255 in float, as
** torchvision's ToTensor gives. Channels as PIL's convert: RGB -> grey is
** (19595 R + 38470 G + 7471 B + 2^15) >> 16 (rounded to an integer),
** before the resize, as Grayscale() then Resize() does.
**
** The 2-D weights are the product of the two axes' weights. The resize is
** streamed: each source row is first resized along x (its weights
** precomputed per output column), then added with its y weight into the
** output rows it falls in; an output row is written out once its last
** source row has come. Only the output rows still open are held (at most
** two when shrinking by area, about twice the enlargement factor when
** enlarging), so a decoder can hand rows over as it decodes them and the
** full-size image never needs to exist (img_load). img_to_tensor feeds the
** same code from a decoded image, so both give the same floats.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "image_dec.h"

#define PREC 22                 /* IMG_BILINEAR: fixed-point bits of a weight */
#define HALF (1 << (PREC - 1))

/* One axis: S source pixels to D output pixels; output i reads the source
** pixels j0[i] .. j1[i] with the weights w[off[i]] ... (IMG_BILINEAR:
** integers, fixed point with PREC bits). */
typedef struct Axis {
	int S, D;
	int *j0, *j1, *off;
	double *w;
} Axis;

/* The triangle filter. */
static double tri(double t)
{
	t = fabs(t);
	return t < 1 ? 1 - t : 0;
}

/* Output i's source span [*a, *b] and, into w (NULL: only the span), its
** weights, by filter f. */
static void taps(int S, int D, ImgFilter f, int i, int *a, int *b, double *w)
{
	double s = (double)S / D;
	if (f == IMG_BILINEAR) {
		double fs = s < 1 ? 1 : s, inv = 1.0 / fs, u = (i + 0.5) * s, sum = 0;
		int lo = (int)(u - fs + 0.5), hi = (int)(u + fs + 0.5);
		*a = lo < 0 ? 0 : lo;
		*b = (hi > S ? S : hi) - 1;
		for (int j = *a; w && j <= *b; j++)
			sum += w[j - *a] = tri((j - u + 0.5) * inv);   /* PIL's order of operations */
		for (int j = *a; w && j <= *b; j++)
			w[j - *a] = floor(0.5 + (sum != 0 ? w[j - *a] / sum : w[j - *a]) * (1 << PREC));
	} else if (S > D) {
		double lo = i * s, hi = (i + 1) * s;
		*a = (int)floor(lo);
		*b = (int)ceil(hi) - 1 > S - 1 ? S - 1 : (int)ceil(hi) - 1;
		for (int j = *a; w && j <= *b; j++)
			w[j - *a] = ((j + 1 < hi ? j + 1 : hi) - (j > lo ? j : lo)) / s;
	} else if (S < D) {
		double v = (i + 0.5) * s - 0.5, u = v < 0 ? 0 : v > S - 1 ? S - 1 : v;
		*a = (int)floor(u);
		*b = *a + 1 < S ? *a + 1 : *a;
		for (int j = *a; w && j <= *b; j++)
			w[j - *a] = tri(u - j);
	} else {
		*a = *b = i;
		if (w)
			w[0] = 1;
	}
}

/* Fill the tables of axis a; -1 when out of memory. */
static int axis_init(Axis *a, int S, int D, ImgFilter f)
{
	memset(a, 0, sizeof *a);
	a->S = S, a->D = D;
	a->j0 = malloc(sizeof *a->j0 * (size_t)D);
	a->j1 = malloc(sizeof *a->j1 * (size_t)D);
	a->off = malloc(sizeof *a->off * (size_t)D);
	if (!a->j0 || !a->j1 || !a->off)
		return -1;
	size_t total = 0;
	for (int i = 0; i < D; i++) {
		taps(S, D, f, i, &a->j0[i], &a->j1[i], NULL);
		a->off[i] = (int)total;
		total += (size_t)(a->j1[i] - a->j0[i] + 1);
	}
	if (!(a->w = malloc(sizeof *a->w * (total ? total : 1))))
		return -1;
	for (int i = 0; i < D; i++)
		taps(S, D, f, i, &a->j0[i], &a->j1[i], a->w + a->off[i]);
	return 0;
}

static void axis_free(Axis *a)
{
	free(a->j0);
	free(a->j1);
	free(a->off);
	free(a->w);
}

/* The weight of source pixel j in output pixel i (j in its span). */
static double weight(const Axis *a, int i, int j)
{
	return a->w[a->off[i] + j - a->j0[i]];
}

/* A streaming resize (image_dec.h). */
struct ImgResize {
	int sc, c, h, w;
	ImgFilter f;
	Axis ax, ay;
	float *dst;
	double *hrow;           /* the current source row resized along x: w * c */
	double *acc;            /* open output rows, row oy in slot oy % nslot */
	int nslot, lo, hi, y;   /* output rows [lo, hi) are open; y: the next source row */
};

/* Source pixel p (sc channels) as c output channels into v, as filter f
** converts them. */
static void convert(const uint8_t *p, int sc, int c, ImgFilter f, double v[3])
{
	if (sc == c) {
		for (int k = 0; k < c; k++)
			v[k] = p[k];
	} else if (c == 1 && f == IMG_BILINEAR) {
		v[0] = (double)((p[0] * 19595u + p[1] * 38470u + p[2] * 7471u + 0x8000u) >> 16);
	} else if (c == 1) {
		v[0] = 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
	} else {
		for (int k = 0; k < c; k++)
			v[k] = p[0];
	}
}

/* IMG_BILINEAR's rounding of a fixed-point sum to a byte, clipped. */
static double clip8(double sum)
{
	double v = floor((sum + HALF) / (1 << PREC));
	return v < 0 ? 0 : v > 255 ? 255 : v;
}

/* The most output rows open at once while the source rows go by. */
static int open_rows(const Axis *ay)
{
	int most = 1, lo = 0, hi = 0;
	for (int y = 0; y < ay->S; y++) {
		while (hi < ay->D && ay->j0[hi] <= y)
			hi++;
		most = hi - lo > most ? hi - lo : most;
		while (lo < hi && ay->j1[lo] <= y)
			lo++;
	}
	return most;
}

ImgResize *img_resize_new(int sw, int sh, int sc, int c, int h, int w, ImgFilter f, float *dst)
{
	ImgResize *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	*r = (ImgResize){.sc = sc, .c = c, .h = h, .w = w, .f = f, .dst = dst};
	if (axis_init(&r->ax, sw, w, f) || axis_init(&r->ay, sh, h, f)) {
		img_resize_free(r);
		return NULL;
	}
	r->nslot = open_rows(&r->ay);
	size_t row = (size_t)w * c;
	r->hrow = malloc(sizeof *r->hrow * row);
	r->acc = malloc(sizeof *r->acc * row * (size_t)r->nslot);
	if (!r->hrow || !r->acc) {
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
			float *d = &r->dst[k * plane + (size_t)oy * r->w + ox];
			if (r->f == IMG_BILINEAR) {
				*d = (float)clip8(a[ox * r->c + k]) / 255.0f;   /* ToTensor: byte / 255 */
			} else {
				double v = a[ox * r->c + k] / 255;
				*d = (float)(v < 0 ? 0 : v > 1 ? 1 : v);
			}
		}
}

/* Source row `row` resized along x into r->hrow. */
static void resize_x(ImgResize *r, const uint8_t *row)
{
	int c = r->c;
	double v[3];
	for (int ox = 0; ox < r->w; ox++) {
		double acc[3] = {0, 0, 0};
		const double *wt = r->ax.w + r->ax.off[ox];
		for (int x = r->ax.j0[ox]; x <= r->ax.j1[ox]; x++, wt++) {
			convert(row + (size_t)x * r->sc, r->sc, c, r->f, v);
			for (int k = 0; k < c; k++)
				acc[k] += *wt * v[k];
		}
		for (int k = 0; k < c; k++)
			r->hrow[ox * c + k] = r->f == IMG_BILINEAR ? clip8(acc[k]) : acc[k];
	}
}

void img_resize_row(ImgResize *r, const uint8_t *row)
{
	int y = r->y++;
	if (y >= r->ay.S)
		return;
	resize_x(r, row);
	size_t len = (size_t)r->w * r->c;
	while (r->hi < r->h && r->ay.j0[r->hi] <= y) {
		memset(r->acc + (size_t)(r->hi % r->nslot) * len, 0, sizeof *r->acc * len);
		r->hi++;
	}
	for (int oy = r->lo; oy < r->hi; oy++) {
		if (y > r->ay.j1[oy])
			continue;
		double wy = weight(&r->ay, oy, y);
		double *a = r->acc + (size_t)(oy % r->nslot) * len;
		for (size_t i = 0; i < len; i++)
			a[i] += wy * r->hrow[i];
	}
	while (r->lo < r->hi && r->ay.j1[r->lo] <= y)
		finish_row(r, r->lo++);
}

void img_resize_free(ImgResize *r)
{
	if (!r)
		return;
	axis_free(&r->ax);
	axis_free(&r->ay);
	free(r->hrow);
	free(r->acc);
	free(r);
}

int img_to_tensor_as(const Image *im, int c, int h, int w, ImgFilter f, float *dst)
{
	if (c < 1 || c > 3 || h < 1 || w < 1)
		return -1;   /* img_load refuses these; the caller's bug otherwise */
	ImgResize *r = img_resize_new(im->w, im->h, im->c, c, h, w, f, dst);
	if (!r)
		return -1;
	for (int y = 0; y < im->h; y++)
		img_resize_row(r, im->px + (size_t)y * im->w * im->c);
	img_resize_free(r);
	return 0;
}

int img_to_tensor(const Image *im, int c, int h, int w, float *dst)
{
	return img_to_tensor_as(im, c, h, w, IMG_AREA, dst);
}

const char *img_filter_name(ImgFilter f)
{
	return f == IMG_BILINEAR ? "bilinear" : "area";
}

int img_filter_parse(const char *s, ImgFilter *f)
{
	if (!strcmp(s, "area"))
		*f = IMG_AREA;
	else if (!strcmp(s, "bilinear"))
		*f = IMG_BILINEAR;
	else
		return -1;
	return 0;
}
