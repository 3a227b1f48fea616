/*
** data_aug.c -- what happens to an image between the dataset and the
** model: seeded augmentation (training only) and per-channel
** normalisation (training, evaluation, predict and mc alike).
**
** Augmentation draws come from rt_uniform(seed, epoch, AUG_STREAM + array,
** sample * 8 + j): a counter-based generator, so an image's augmentation
** depends on (seed, epoch, sample index, image array) and on nothing else
** (not on the batch size, the order or the threads).
**
**   authors  one of four, each with probability 1/4: identity, rotation by
**            20 degrees about the centre, translation by (5, 5) pixels,
**            brightness x U[0.8, 1.2] (clamped to [0, 1])
**   flips    horizontal and vertical flips, each with probability 1/2
**   all      authors, then flips
*/
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"
#include "image.h"

#define AUG_STREAM 0x61756700u      /* "aug" */

int data_norm_parse(const char *text, const char *flag, DataNorm *n, RtErr *e)
{
	memset(n, 0, sizeof *n);
	if (!*text || !strcmp(text, "none"))
		return 0;
	float v[2 * DATA_MAXCHAN];
	int k = 0;
	for (const char *p = text;;) {
		char *end;
		errno = 0;
		double x = strtod(p, &end);
		if (end == p || errno || !isfinite((float)x) || (*end && *end != ',') || k == 2 * DATA_MAXCHAN)
			return rt_errorf(e, "--%s %s: expected mean,std numbers, one pair for every channel "
			                 "or one for all (at most %d)", flag, text, DATA_MAXCHAN);
		v[k++] = (float)x;
		if (!*end)
			break;
		p = end + 1;
	}
	if (k % 2)
		return rt_errorf(e, "--%s %s: %d numbers: expected mean,std pairs", flag, text, k);
	for (int i = 0; i < k / 2; i++) {
		if (!(v[2 * i + 1] > 0))
			return rt_errorf(e, "--%s %s: a standard deviation must be positive", flag, text);
		n->mean[i] = v[2 * i];
		n->std[i] = v[2 * i + 1];
	}
	n->n = k / 2;
	return 0;
}

int data_norm_check(const DataNorm *n, int64_t c, const char *what, RtErr *e)
{
	if (n->n <= 1 || n->n == c)
		return 0;
	return rt_errorf(e, "--normalize gives %d mean,std pairs; %s has %lld channel%s: give one "
	                 "pair per channel or one for all", n->n, what, (long long)c, c == 1 ? "" : "s");
}

void data_norm_apply(const DataNorm *n, float *x, int64_t c, int64_t h, int64_t w)
{
	if (!n || n->n == 0)
		return;
	for (int64_t ch = 0; ch < c; ch++) {
		int i = n->n == 1 ? 0 : (int)ch;
		float mean = n->mean[i], inv = 1.0f / n->std[i];
		float *p = x + ch * h * w;
		for (int64_t j = 0; j < h * w; j++)
			p[j] = (p[j] - mean) * inv;
	}
}

static const char *const aug_names[] = {"none", "authors", "flips", "all"};

int data_augment_parse(const char *text, DataAugment *a)
{
	for (int i = 0; i < 4; i++)
		if (!strcmp(text, aug_names[i])) {
			*a = (DataAugment)i;
			return 0;
		}
	return -1;
}

const char *data_augment_name(DataAugment a)
{
	return (unsigned)a < 4 ? aug_names[a] : "?";
}

void data_augment(DataAugment mode, uint64_t seed, uint64_t epoch, int64_t s, int k, float *x,
                  int64_t c, int64_t h, int64_t w, float *tmp)
{
	if (mode == DATA_AUG_NONE)
		return;
	float u[4];
	for (int j = 0; j < 4; j++)
		u[j] = rt_uniform(seed, epoch, AUG_STREAM + (uint32_t)k, (uint64_t)s * 8 + (uint64_t)j);
	Augment a = {.deg = 0, .dx = 0, .dy = 0, .brightness = 1};
	if (mode == DATA_AUG_AUTHORS || mode == DATA_AUG_ALL) {
		int pick = (int)(u[0] * 4);
		if (pick == 1)
			a.deg = 20;
		else if (pick == 2)
			a.dx = a.dy = 5;
		else if (pick >= 3)
			a.brightness = 0.8f + 0.4f * u[1];
	}
	if (mode == DATA_AUG_FLIPS || mode == DATA_AUG_ALL) {
		a.hflip = u[2] < 0.5f;
		a.vflip = u[3] < 0.5f;
	}
	img_augment(x, (int)c, (int)h, (int)w, &a, tmp);
}
