/*
** synth_draw.c -- the drawing kit of lunac-synth: keyed random streams,
** value noise, soft edges, and float canvases written as 8-bit PNGs.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth.h"

/* A fresh stream for (seed, sample, stream). */
SynRng syn_rng(uint64_t seed, uint64_t sample, uint32_t stream)
{
	SynRng r = {seed, sample, stream, 0};
	return r;
}

/* The next draw: rt_uniform at the stream's counter. */
float syn_u(SynRng *r)
{
	return rt_uniform(r->seed, r->sample, r->stream, r->n++);
}

/* A draw scaled to [lo, hi). */
float syn_range(SynRng *r, float lo, float hi)
{
	return lo + (hi - lo) * syn_u(r);
}

/* Box-Muller on two draws; the first is kept away from 0. */
float syn_normal(SynRng *r)
{
	float u1 = syn_u(r) + 1.0f / 33554432.0f, u2 = syn_u(r);
	return sqrtf(-2.0f * logf(u1)) * cosf(6.28318531f * u2);
}

/* The lattice value at (i, j); the counter range above 2^40 keeps the
** lattice apart from the stream's sequential draws. */
static float lattice(const SynRng *r, int cells, int i, int j)
{
	uint64_t idx = (1ull << 40) + (uint64_t)j * (uint64_t)(cells + 1) + (uint64_t)i;
	return rt_uniform(r->seed, r->sample, r->stream, idx);
}

/* Bilinear interpolation of lattice values with a smoothstep weight. */
float syn_vnoise(const SynRng *r, int cells, float x, float y)
{
	float fx = syn_clamp(x, 0, 1) * cells, fy = syn_clamp(y, 0, 1) * cells;
	int i = (int)fx, j = (int)fy;
	if (i >= cells) i = cells - 1;
	if (j >= cells) j = cells - 1;
	float tx = fx - i, ty = fy - j;
	tx = tx * tx * (3 - 2 * tx);
	ty = ty * ty * (3 - 2 * ty);
	float a = lattice(r, cells, i, j), b = lattice(r, cells, i + 1, j);
	float c = lattice(r, cells, i, j + 1), d = lattice(r, cells, i + 1, j + 1);
	return (a + (b - a) * tx) * (1 - ty) + (c + (d - c) * tx) * ty;
}

/* x limited to [lo, hi]. */
float syn_clamp(float x, float lo, float hi)
{
	return x < lo ? lo : x > hi ? hi : x;
}

/* Soft-edge coverage: 0.5 on the edge, linear over w pixels. */
float syn_edge(float d, float w)
{
	return syn_clamp(0.5f + d / w, 0, 1);
}

/* Allocate a zeroed canvas and its scratch plane. */
int syn_canvas_new(Canvas *cv, int s, int c, RtErr *e)
{
	cv->s = s;
	cv->c = c;
	cv->px = calloc((size_t)s * s * c, sizeof *cv->px);
	cv->aux = calloc((size_t)s * s, sizeof *cv->aux);
	if (!cv->px || !cv->aux) {
		syn_canvas_free(cv);
		return rt_errorf(e, "out of memory");
	}
	return 0;
}

/* Free a canvas; safe on a zeroed one. */
void syn_canvas_free(Canvas *cv)
{
	free(cv->px);
	free(cv->aux);
	memset(cv, 0, sizeof *cv);
}

/* Gaussian noise on every sample, drawn in pixel order. */
void syn_add_noise(Canvas *cv, SynRng *r, float sigma)
{
	size_t n = (size_t)cv->s * cv->s * cv->c;
	for (size_t k = 0; k < n; k++)
		cv->px[k] += sigma * syn_normal(r);
}

/* Quantise to 8 bits and write with img_write_png. */
int syn_canvas_write(const Canvas *cv, const char *path, RtErr *e)
{
	size_t n = (size_t)cv->s * cv->s * cv->c;
	Image im = {cv->s, cv->s, cv->c, malloc(n)};
	if (!im.px)
		return rt_errorf(e, "out of memory");
	for (size_t k = 0; k < n; k++)
		im.px[k] = (uint8_t)lrintf(syn_clamp(cv->px[k], 0, 1) * 255.0f);
	int rc = img_write_png(path, &im, e);
	free(im.px);
	return rc;
}
