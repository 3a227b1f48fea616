/*
** loader.c -- the prefetching batch loader.
**
** Batch b of an order always goes to buffer b % 2 and always holds the
** samples order[b*B .. b*B+B): thread timing decides only when a batch is
** ready, never what it holds. The producer may fill batch b once the
** consumer has handed back batch b-2 (by asking for batch b-1).
*/
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "data.h"

struct Loader {
	const Dataset *ds;
	int64_t *order, n, cap;     /* the order (a copy) and its capacity */
	int64_t batch, nbatches;
	size_t sample;              /* floats per sample */
	float *img[2];
	int32_t *lab[2];
	pthread_t thread;
	int running;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int64_t produced;           /* batches filled */
	int64_t released;           /* batches the consumer has handed back */
	int64_t given;              /* batches given to the consumer */
	int stop;
};

/* Copy the samples of batch b into buffer b % 2. */
static void fill(Loader *L, int64_t b)
{
	int64_t first = b * L->batch, n = L->n - first < L->batch ? L->n - first : L->batch;
	float *img = L->img[b & 1];
	int32_t *lab = L->lab[b & 1];
	for (int64_t i = 0; i < n; i++) {
		int64_t s = L->order[first + i];
		memcpy(img + (size_t)i * L->sample, L->ds->images + (size_t)s * L->sample,
		       L->sample * sizeof(float));
		lab[i] = L->ds->labels[s];
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

int loader_open(Loader **out, const Dataset *ds, const int64_t *order, int64_t n,
                int64_t batch, RtErr *e)
{
	*out = NULL;
	if (batch <= 0)
		return rt_errorf(e, "%s: the batch size %lld is not positive", ds->name, (long long)batch);
	uint64_t sample = (uint64_t)(ds->c * ds->h * ds->w);
	if (!sample || (uint64_t)batch > SIZE_MAX / sizeof(float) / sample)
		return rt_errorf(e, "%s: the batch size %lld is too large", ds->name, (long long)batch);
	Loader *L = calloc(1, sizeof *L);
	if (!L)
		return rt_errorf(e, "%s: out of memory for the loader", ds->name);
	L->ds = ds;
	L->batch = batch;
	L->sample = (size_t)sample;
	pthread_mutex_init(&L->mu, NULL);
	pthread_cond_init(&L->cv, NULL);
	for (int k = 0; k < 2; k++) {
		L->img[k] = malloc(sizeof(float) * L->sample * (size_t)batch);
		L->lab[k] = malloc(sizeof(int32_t) * (size_t)batch);
		if (!L->img[k] || !L->lab[k]) {
			loader_close(L);
			return rt_errorf(e, "%s: out of memory for two batches of %lld", ds->name,
			                 (long long)batch);
		}
	}
	if (start(L, order, n, e)) {
		loader_close(L);
		return -1;
	}
	*out = L;
	return 0;
}

int loader_next(Loader *L, const float **images, const int32_t **labels, int64_t *n)
{
	pthread_mutex_lock(&L->mu);
	if (L->released < L->given) {   /* the previous batch is done with */
		L->released = L->given;
		pthread_cond_broadcast(&L->cv);
	}
	int64_t b = L->given;
	if (b >= L->nbatches) {
		pthread_mutex_unlock(&L->mu);
		*images = NULL, *labels = NULL, *n = 0;
		return 0;
	}
	while (L->produced <= b)
		pthread_cond_wait(&L->cv, &L->mu);
	L->given = b + 1;
	pthread_mutex_unlock(&L->mu);
	*images = L->img[b & 1];
	*labels = L->lab[b & 1];
	*n = L->n - b * L->batch < L->batch ? L->n - b * L->batch : L->batch;
	return 1;
}

int loader_restart(Loader *L, const int64_t *order, int64_t n, RtErr *e)
{
	halt(L);
	return start(L, order, n, e);
}

void loader_close(Loader *L)
{
	if (!L)
		return;
	halt(L);
	pthread_mutex_destroy(&L->mu);
	pthread_cond_destroy(&L->cv);
	for (int k = 0; k < 2; k++) {
		free(L->img[k]);
		free(L->lab[k]);
	}
	free(L->order);
	free(L);
}
