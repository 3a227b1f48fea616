/*
** data_join.c -- datasets joined by position, the way DRIFA-Net's authors
** pair two unrelated medical datasets: sample s of the joined dataset is
** sample s of each part, after each part's samples are put in a shuffled
** order of its own (fixed by the seed and the part). Without that shuffle,
** class folders read in sorted order would pair class k of one dataset with
** class k of the other, and one task's label would leak into the other's
** prediction. A part with fewer samples is resampled to the longest one's
** count by repeating shuffled orders of its indices, so every sample of it
** is used as evenly as the lengths allow.
**
** Truly paired arrays (a[i] belongs with b[i]: `--data a=paired:npy:... --data
** b=paired:npy:...`) are marked in_order: they keep their order, and their
** lengths must agree.
*/
#include <stdlib.h>
#include <string.h>

#include "data.h"

/* A map for n samples over an array of m rows; composes an existing map. */
static int64_t *resampled(const int64_t *old, int64_t n, int64_t m, uint64_t seed, uint64_t part)
{
	int64_t *map = malloc(sizeof *map * (size_t)(n ? n : 1));
	if (!map || data_resample(map, n, m, seed, part)) {
		free(map);
		return NULL;
	}
	for (int64_t s = 0; old && s < n; s++)
		map[s] = old[map[s]];
	return map;
}

/* Move part p's arrays to the end of out's, resampled to out->count. */
static int take(Dataset *p, int part, uint64_t seed, Dataset *out, RtErr *e)
{
	if (out->nmod + p->nmod > DATA_MAXMOD || out->ntask + p->ntask > DATA_MAXTASK)
		return rt_errorf(e, "%s: too many image or label arrays to join (at most %d and %d)",
		                 p->name, DATA_MAXMOD, DATA_MAXTASK);
	int resample = !p->in_order;   /* a shuffled order (and repeats when shorter) */
	for (int k = 0; k < p->nmod; k++) {
		DataImages *m = &out->mod[out->nmod++];
		*m = p->mod[k];
		memset(&p->mod[k], 0, sizeof p->mod[k]);
		if (resample) {
			int64_t *map = resampled(m->map, out->count, p->count, seed, (uint64_t)part);
			if (!map)
				return rt_errorf(e, "out of memory");
			free(m->map);
			m->map = map;
		}
	}
	for (int t = 0; t < p->ntask; t++) {
		DataLabels *l = &out->task[out->ntask++];
		*l = p->task[t];
		memset(&p->task[t], 0, sizeof p->task[t]);
		if (resample) {
			int64_t *map = resampled(l->map, out->count, p->count, seed, (uint64_t)part);
			if (!map)
				return rt_errorf(e, "out of memory");
			free(l->map);
			l->map = map;
		}
	}
	return 0;
}

/* "a + b + c" of the parts' names, and their notes joined. */
static int names(Dataset *parts, int n, Dataset *out)
{
	size_t len = 1, nl = 1;
	for (int i = 0; i < n; i++) {
		len += strlen(parts[i].name) + 3;
		nl += parts[i].note ? strlen(parts[i].note) + 2 : 0;
	}
	if (!(out->name = malloc(len)))
		return -1;
	out->name[0] = 0;
	for (int i = 0; i < n; i++)
		strcat(strcat(out->name, i ? " + " : ""), parts[i].name);
	if (nl == 1)
		return 0;
	if (!(out->note = malloc(nl)))
		return -1;
	out->note[0] = 0;
	for (int i = 0; i < n; i++)
		if (parts[i].note)
			strcat(strcat(out->note, out->note[0] ? "; " : ""), parts[i].note);
	return 0;
}

/* In-order parts: all or none, all of one length. */
static int check_paired(const Dataset *parts, int n, RtErr *e)
{
	for (int i = 1; i < n; i++) {
		const Dataset *a = &parts[0], *b = &parts[i];
		if (a->in_order != b->in_order)
			return rt_errorf(e, "%s is paired by index (paired:) but %s is not: give every "
			                 "dataset as paired:SPEC, or none", a->in_order ? a->name : b->name,
			                 a->in_order ? b->name : a->name);
		if (a->in_order && a->count != b->count)
			return rt_errorf(e, "paired datasets differ in length: %s holds %lld samples, %s "
			                 "holds %lld (sample i of one belongs with sample i of the other)",
			                 a->name, (long long)a->count, b->name, (long long)b->count);
	}
	return 0;
}

int data_join(Dataset *parts, int n, uint64_t seed, Dataset *out, RtErr *e)
{
	memset(out, 0, sizeof *out);
	if (check_paired(parts, n, e))
		return -1;
	for (int i = 0; i < n; i++)
		if (parts[i].count > out->count)
			out->count = parts[i].count;
	if (names(parts, n, out)) {
		data_free(out);
		return rt_errorf(e, "out of memory");
	}
	for (int i = 0; i < n; i++)
		if (parts[i].count == 0 || take(&parts[i], i, seed, out, e)) {
			if (parts[i].count == 0)
				rt_errorf(e, "%s holds no samples", parts[i].name);
			data_free(out);
			return -1;
		}
	return 0;
}
