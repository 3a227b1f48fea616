/*
** data_split.c -- the train/validation split and the per-epoch shuffle.
**
** Both are Fisher-Yates shuffles driven by splitmix64 streams whose state
** is a hash of (seed, purpose, epoch), so the same arguments give the same
** order on every machine, whatever else the program has drawn.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

#define STREAM_SPLIT   0x73706c6974ull   /* "split" */
#define STREAM_SHUFFLE 0x73687566ull     /* "shuf" */
#define STREAM_RESAMPLE 0x72736d706c00ull /* "rsmpl" */

/* splitmix64's finaliser: a bijective 64-bit hash. */
static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
	return z ^ (z >> 31);
}

/* The next number of the splitmix64 stream at *s. */
static uint64_t next64(uint64_t *s)
{
	*s += 0x9E3779B97F4A7C15ull;
	return mix(*s);
}

/* A uniform integer in [0, bound), bound > 0, without modulo bias. */
static uint64_t below(uint64_t *s, uint64_t bound)
{
	uint64_t floor = -bound % bound;   /* 2^64 mod bound: reject r below it */
	for (;;) {
		uint64_t r = next64(s);
		if (r >= floor)
			return r % bound;
	}
}

/* Fisher-Yates shuffle of idx[0..n) by the stream for (seed, stream, epoch). */
static void shuffle(int64_t *idx, int64_t n, uint64_t seed, uint64_t stream, uint64_t epoch)
{
	uint64_t s = mix(seed ^ mix(stream + mix(epoch)));
	for (int64_t i = n - 1; i > 0; i--) {
		int64_t j = (int64_t)below(&s, (uint64_t)i + 1);
		int64_t t = idx[i];
		idx[i] = idx[j];
		idx[j] = t;
	}
}

void data_shuffle(int64_t *idx, int64_t n, uint64_t seed, uint64_t epoch)
{
	shuffle(idx, n, seed, STREAM_SHUFFLE, epoch);
}

int data_resample(int64_t *map, int64_t n, int64_t m, uint64_t seed, uint64_t part)
{
	int64_t *full = malloc(sizeof *full * (size_t)(m ? m : 1));
	if (!full)
		return -1;
	for (int64_t at = 0, r = 0; at < n; at += m, r++) {
		int64_t k = n - at < m ? n - at : m;   /* the last pass may be partial: a head */
		for (int64_t i = 0; i < m; i++)
			full[i] = i;
		shuffle(full, m, seed, STREAM_RESAMPLE + part, (uint64_t)r);
		memcpy(map + at, full, sizeof *full * (size_t)k);
	}
	free(full);
	return 0;
}

/* qsort order for int64_t. */
static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

int data_split(const Dataset *ds, double val_fraction, uint64_t seed,
               DataIndex *train, DataIndex *val, RtErr *e)
{
	memset(train, 0, sizeof *train);
	memset(val, 0, sizeof *val);
	if (!(val_fraction >= 0 && val_fraction < 1))
		return rt_errorf(e, "%s: the validation fraction %g is not in [0, 1)", ds->name,
		                 val_fraction);
	int64_t n = ds->count, nval = (int64_t)llround((double)n * val_fraction);
	if (val_fraction > 0 && nval == 0)
		nval = 1;
	if (nval >= n)
		return rt_errorf(e, "%s: a validation fraction of %g leaves none of its %lld samples "
		                 "for training", ds->name, val_fraction, (long long)n);
	int64_t *all = malloc(sizeof *all * (size_t)(n ? n : 1));
	val->idx = malloc(sizeof *all * (size_t)(nval ? nval : 1));
	if (!all || !val->idx) {
		free(all);
		data_index_free(val);
		return rt_errorf(e, "%s: out of memory", ds->name);
	}
	for (int64_t i = 0; i < n; i++)
		all[i] = i;
	shuffle(all, n, seed, STREAM_SPLIT, 0);
	memcpy(val->idx, all, sizeof *all * (size_t)nval);
	memmove(all, all + nval, sizeof *all * (size_t)(n - nval));
	qsort(val->idx, (size_t)nval, sizeof *all, cmp_i64);
	qsort(all, (size_t)(n - nval), sizeof *all, cmp_i64);
	val->n = nval;
	train->idx = all;
	train->n = n - nval;
	return 0;
}

void data_index_free(DataIndex *x)
{
	free(x->idx);
	x->idx = NULL;
	x->n = 0;
}
