/*
** loader.c -- the prefetching batch loader.
**
** Batch b of an order always goes to buffer b % 2 and always holds the
** samples order[b*B .. b*B+B): thread timing decides only when a batch is
** ready, never what it holds. The producer may fill batch b once the
** consumer has handed back batch b-2 (by asking for batch b-1). Each image
** is augmented (keyed by seed, epoch, sample index and image array: see
** data_aug.c) and normalised as it is copied.
*/
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

struct Loader {
	const Dataset *ds;
	LoaderOpts o;
	uint64_t epoch;
	int64_t *order, n, cap;     /* the order (a copy) and its capacity */
	int64_t batch, nbatches;
	size_t sample[DATA_MAXMOD]; /* floats per sample of each image array */
	float *img[2][DATA_MAXMOD];
	int32_t *lab[2][DATA_MAXTASK];
	float *tmp;                 /* augmentation's scratch: the largest sample */
	pthread_t thread;
	int running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int64_t produced;           /* batches filled */
	int64_t released;           /* batches the consumer has handed back */
	int64_t given;              /* batches given to the consumer */
	int stop;
};

/* Copy the samples of batch b into buffer b % 2, augmented and normalised. */
static void fill(Loader *L, int64_t b)
{
	const Dataset *ds = L->ds;
	int64_t first = b * L->batch, n = L->n - first < L->batch ? L->n - first : L->batch;
	for (int64_t i = 0; i < n; i++) {
		int64_t s = L->order[first + i];
		for (int k = 0; k < ds->nmod; k++) {
			const DataImages *m = &ds->mod[k];
			float *x = L->img[b & 1][k] + (size_t)i * L->sample[k];
			memcpy(x, data_image(ds, k, s), L->sample[k] * sizeof(float));
			data_augment(L->o.augment, L->o.seed, L->epoch, s, k, x, m->c, m->h, m->w, L->tmp);
			data_norm_apply(&L->o.norm, x, m->c, m->h, m->w);
		}
		for (int t = 0; t < ds->ntask; t++)
			L->lab[b & 1][t][i] = data_label(ds, t, s);
	}
}

/* The producer thread: fill every batch in turn, two ahead at most. */
static void *produce(void *arg)
{
	Loader *L = arg;
	for (int64_t b = 0; b < L->nbatches; b++) {
		pthread_mutex_lock(&L->mu);
		while (!L->stop && b - L->released >= 2)
			pthread_cond_wait(&L->cv, &L->mu);
		int stop = L->stop;
		pthread_mutex_unlock(&L->mu);
		if (stop)
			break;
		fill(L, b);
		pthread_mutex_lock(&L->mu);
		L->produced = b + 1;
		pthread_cond_broadcast(&L->cv);
		pthread_mutex_unlock(&L->mu);
	}
	return NULL;
}

/* Stop and join the producer, if one runs. */
static void halt(Loader *L)
{
	if (!L->running)
		return;
	pthread_mutex_lock(&L->mu);
	L->stop = 1;
	pthread_cond_broadcast(&L->cv);
	pthread_mutex_unlock(&L->mu);
	pthread_join(L->thread, NULL);
	L->running = 0;
}

/* Check order[0..n) against the dataset, copy it and start the producer. */
static int start(Loader *L, const int64_t *order, int64_t n, RtErr *e)
{
	L->n = L->nbatches = 0;   /* until it starts, loader_next finds no batches */
	L->produced = L->released = L->given = 0;
	L->stop = 0;
	for (int64_t i = 0; i < n; i++)
		if (order[i] < 0 || order[i] >= L->ds->count)
			return rt_errorf(e, "%s: sample index %lld (position %lld of the order) is out of "
			                 "range for %lld samples", L->ds->name, (long long)order[i],
			                 (long long)i, (long long)L->ds->count);
	if (n > L->cap) {
		int64_t *o = realloc(L->order, sizeof *o * (size_t)n);
		if (!o)
			return rt_errorf(e, "%s: out of memory for the loader", L->ds->name);
		L->order = o;
		L->cap = n;
	}
	if (n)
		memcpy(L->order, order, sizeof *order * (size_t)n);
	L->n = n;
	L->nbatches = (n + L->batch - 1) / L->batch;
	int rc = pthread_create(&L->thread, NULL, produce, L);
	if (rc) {
		L->n = L->nbatches = 0;
		return rt_errorf(e, "%s: cannot start the loader thread: %s", L->ds->name, strerror(rc));
	}
	L->running = 1;
	return 0;
}

/* Allocate the two buffers of every array and the scratch image. */
static int buffers(Loader *L)
{
	const Dataset *ds = L->ds;
	size_t most = 1;
	for (int b = 0; b < 2; b++) {
		for (int k = 0; k < ds->nmod; k++) {
			if (!(L->img[b][k] = malloc(sizeof(float) * L->sample[k] * (size_t)L->batch)))
				return -1;
			most = L->sample[k] > most ? L->sample[k] : most;
		}
		for (int t = 0; t < ds->ntask; t++)
			if (!(L->lab[b][t] = malloc(sizeof(int32_t) * (size_t)L->batch)))
				return -1;
	}
	return (L->tmp = malloc(sizeof(float) * most)) ? 0 : -1;
}

int loader_open(Loader **out, const Dataset *ds, const LoaderOpts *o, const int64_t *order,
                int64_t n, int64_t batch, RtErr *e)
{
	*out = NULL;
	if (batch <= 0)
		return rt_errorf(e, "%s: the batch size %lld is not positive", ds->name, (long long)batch);
	Loader *L = calloc(1, sizeof *L);
	if (!L)
		return rt_errorf(e, "%s: out of memory for the loader", ds->name);
	for (int k = 0; k < ds->nmod; k++) {
		uint64_t sample = (uint64_t)(ds->mod[k].c * ds->mod[k].h * ds->mod[k].w);
		if (!sample || (uint64_t)batch > SIZE_MAX / sizeof(float) / sample / 2) {
			free(L);
			return rt_errorf(e, "%s: the batch size %lld is too large", ds->name,
			                 (long long)batch);
		}
		L->sample[k] = (size_t)sample;
	}
	L->ds = ds;
	L->batch = batch;
	if (o)
		L->o = *o;
	pthread_mutex_init(&L->mu, NULL);
	pthread_cond_init(&L->cv, NULL);
	if (buffers(L)) {
		loader_close(L);
		return rt_errorf(e, "%s: out of memory for two batches of %lld", ds->name,
		                 (long long)batch);
	}
	if (start(L, order, n, e)) {
		loader_close(L);
		return -1;
	}
	*out = L;
	return 0;
}

int loader_next(Loader *L, Batch *out)
{
	memset(out, 0, sizeof *out);
	pthread_mutex_lock(&L->mu);
	if (L->released < L->given) {   /* the previous batch is done with */
		L->released = L->given;
		pthread_cond_broadcast(&L->cv);
	}
	int64_t b = L->given;
	if (b >= L->nbatches) {
		pthread_mutex_unlock(&L->mu);
		return 0;
	}
	while (L->produced <= b)
		pthread_cond_wait(&L->cv, &L->mu);
	L->given = b + 1;
	pthread_mutex_unlock(&L->mu);
	for (int k = 0; k < L->ds->nmod; k++)
		out->x[k] = L->img[b & 1][k];
	for (int t = 0; t < L->ds->ntask; t++)
		out->y[t] = L->lab[b & 1][t];
	out->n = L->n - b * L->batch < L->batch ? L->n - b * L->batch : L->batch;
	return 1;
}

int loader_restart(Loader *L, const int64_t *order, int64_t n, uint64_t epoch, RtErr *e)
{
	halt(L);
	L->epoch = epoch;
	return start(L, order, n, e);
}

void loader_close(Loader *L)
{
	if (!L)
		return;
	halt(L);
	pthread_mutex_destroy(&L->mu);
	pthread_cond_destroy(&L->cv);
	for (int b = 0; b < 2; b++) {
		for (int k = 0; k < DATA_MAXMOD; k++)
			free(L->img[b][k]);
		for (int t = 0; t < DATA_MAXTASK; t++)
			free(L->lab[b][t]);
	}
	free(L->tmp);
	free(L->order);
	free(L);
}
