/*
** pool.c -- the thread pool generated kernels run their parallel loops on
** (lunac_rt.h: rt_parallel_for).
**
** One pool per process, started by the first call that asks for more than
** one thread and grown (never shrunk) when a later call asks for more; its
** workers live until the process ends. A call hands out its chunks through
** one atomic counter, so any thread may run any chunk: generated code
** makes every chunk own its outputs and sum in a fixed order, which is what
** makes results bit-identical at any thread count, not the assignment.
**
** Waiting: after a call, workers spin on the job generation for about
** SPIN_SEC (a training step makes thousands of calls microseconds apart,
** and a condition-variable wake-up costs tens of microseconds), then sleep
** on a condition variable until the next call.
**
** Scratch: every participant has its own buffer of the largest size any
** call has asked for, allocated and touched when a call first asks for
** more, so a step allocates nothing after its first run.
**
** Publishing a call: the generation is odd while the caller writes the
** call's fields and even once they are complete (a seqlock), and a worker
** re-reads it after reading them, so a late worker never mixes two calls.
** The caller waits for each helper's acknowledgement of this generation
** before it returns, so the fields stay put while helpers use them.
**
** Generated code calls entries from one thread at a time; so does the pool.
*/
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

#define POOL_MAX 64          /* threads, the caller included */
#define SPIN_SEC 2e-4

typedef struct Pool {
	pthread_mutex_t mu;
	pthread_cond_t wake;
	int started;                       /* workers running (the caller is not one) */
	_Atomic uint64_t gen;              /* +2 per call that uses workers; odd while one is set up */
	/* the call under way */
	RtChunkFn task;
	void *env;
	int64_t nchunks;
	_Atomic int helpers;               /* workers 1..helpers take part */
	_Atomic int64_t next;              /* the next chunk to hand out */
	_Atomic uint64_t ack[POOL_MAX];    /* the last generation each worker finished */
	uint64_t born[POOL_MAX];           /* the generation when each worker was started */
	/* scratch: one buffer per participant (index 0: the caller) */
	char *scratch[POOL_MAX];
	int64_t scratch_bytes;
} Pool;

static Pool pool = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

/* A pause for spin loops. */
static inline void relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Take chunks of the current call until none is left, with scratch s. */
static void run_chunks(Pool *p, char *s)
{
	for (;;) {
		int64_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);
		if (i >= p->nchunks)
			return;
		p->task(p->env, i, s);
	}
}

/* Wait until the generation is even and past seen: spin, then sleep. */
static uint64_t wait_gen(Pool *p, uint64_t seen)
{
	double t0 = 0;
	for (int k = 0;; k++) {
		uint64_t g = atomic_load_explicit(&p->gen, memory_order_acquire);
		if (g != seen && !(g & 1))
			return g;
		relax();
		if ((k & 255) == 255) {
			double t = rt_now();
			if (t0 == 0)
				t0 = t;
			else if (t - t0 > SPIN_SEC)
				break;
		}
	}
	pthread_mutex_lock(&p->mu);
	uint64_t g;
	while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen || (g & 1))
		pthread_cond_wait(&p->wake, &p->mu);
	pthread_mutex_unlock(&p->mu);
	return g;
}

/* Worker id (1-based): run the chunks of every call it takes part in. */
static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t seen = pool.born[id];   /* calls after this one are for it */
	for (;;) {
		seen = wait_gen(&pool, seen);
		int helpers = atomic_load_explicit(&pool.helpers, memory_order_relaxed);
		atomic_thread_fence(memory_order_acquire);
		if (atomic_load_explicit(&pool.gen, memory_order_relaxed) != seen || id > helpers)
			continue;   /* a newer call is being set up, or this one needs fewer threads */
		run_chunks(&pool, pool.scratch[id]);
		atomic_store_explicit(&pool.ack[id], seen, memory_order_release);
	}
	return NULL;
}

/* A 64-byte aligned buffer of n bytes, every page touched; exits on failure
** (generated code has no error path, and this happens only on a first call). */
static char *scratch_new(int64_t n)
{
	void *b = NULL;
	if (posix_memalign(&b, 64, (size_t)n) != 0) {
		fprintf(stderr, "lunac: out of memory for %lld bytes of kernel scratch\n", (long long)n);
		exit(1);
	}
	memset(b, 0, (size_t)n);
	return b;
}

/* Give participants [0, k) scratch buffers of at least n bytes. */
static void scratch_grow(Pool *p, int k, int64_t n)
{
	if (n > p->scratch_bytes) {
		n = (n + 4095) & ~(int64_t)4095;
		for (int i = 0; i < POOL_MAX; i++) {
			free(p->scratch[i]);
			p->scratch[i] = NULL;
		}
		p->scratch_bytes = n;
	}
	for (int i = 0; i < k; i++)
		if (!p->scratch[i] && p->scratch_bytes > 0)
			p->scratch[i] = scratch_new(p->scratch_bytes);
}

/* The kernels' shared workspace (lunac_rt.h: rt_workspace): one buffer
** for the process, like the pool. */
static struct {
	char *buf;
	int64_t bytes;
} workspace;

void *rt_workspace(int64_t bytes)
{
	if (bytes > workspace.bytes) {   /* only ever on the calling thread, before its chunks run */
		free(workspace.buf);
		workspace.bytes = (bytes + 4095) & ~(int64_t)4095;
		workspace.buf = scratch_new(workspace.bytes);
	}
	return workspace.buf;
}

/* Start workers until there are k (fewer if the system refuses). */
static void start_workers(Pool *p, int k)
{
	while (p->started < k) {
		pthread_t t;
		p->born[p->started + 1] = atomic_load(&p->gen);
		pthread_attr_t a;
		pthread_attr_init(&a);
		pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
		int rc = pthread_create(&t, &a, worker, (void *)(intptr_t)(p->started + 1));
		pthread_attr_destroy(&a);
		if (rc != 0)
			return;
		p->started++;
	}
}

void rt_parallel_for(const RtCtx *ctx, RtChunkFn task, void *env, int64_t nchunks, int64_t scratch_bytes)
{
	Pool *p = &pool;
	int want = ctx && ctx->nthreads > 1 ? ctx->nthreads : 1;
	if (want > POOL_MAX)
		want = POOL_MAX;
	if ((int64_t)want > nchunks)
		want = (int)(nchunks > 0 ? nchunks : 1);
	if (want > 1)
		start_workers(p, want - 1);
	int helpers = want - 1 < p->started ? want - 1 : p->started;
	scratch_grow(p, helpers + 1, scratch_bytes);
	if (helpers == 0) {
		for (int64_t i = 0; i < nchunks; i++)
			task(env, i, p->scratch[0]);
		return;
	}
	uint64_t g = atomic_fetch_add_explicit(&p->gen, 1, memory_order_acq_rel) + 2;   /* now odd */
	atomic_thread_fence(memory_order_release);
	p->task = task;
	p->env = env;
	p->nchunks = nchunks;
	atomic_store_explicit(&p->helpers, helpers, memory_order_relaxed);
	atomic_store_explicit(&p->next, 0, memory_order_relaxed);
	atomic_store_explicit(&p->gen, g, memory_order_release);                       /* even: ready */
	pthread_mutex_lock(&p->mu);
	pthread_cond_broadcast(&p->wake);
	pthread_mutex_unlock(&p->mu);
	run_chunks(p, p->scratch[0]);
	for (int i = 1; i <= helpers; i++)
		while (atomic_load_explicit(&p->ack[i], memory_order_acquire) != g)
			relax();
}
