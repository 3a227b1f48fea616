/*
** data_build.c -- pieces the image-file kinds share: decoding a list of
** image files into one array in parallel threads, labels from text (class
** names sorted by bytes, or integers as they are), and class-name lists.
*/
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "data.h"
#include "image.h"

#define MAXTHREADS 64
#define DECODE_SHOWN 256   /* fewer images decode too fast to need a progress line */

/* The shared state of the decoding threads. */
typedef struct Work {
	const char *const *paths;
	int64_t n, c, h, w;
	ImgFilter f;
	float *px;
	DataSeen *seen;             /* under mu */
	pthread_mutex_t mu;
	int64_t next;               /* the next path to take */
	int64_t bad;                /* the first failed index, or n */
	RtErr err;                  /* its message */
	int64_t done;               /* images decoded so far */
	int tty;                    /* stderr is a terminal: show progress */
	double drawn;               /* when progress was last drawn, 0: never */
} Work;

/* Count one decoded image; on a terminal, for a list of at least
** DECODE_SHOWN images, redraw "decoding images K/N (P%)" in place on stderr
** at most ten times a second. Called under wk->mu. */
static void decoded(Work *wk)
{
	wk->done++;
	if (!wk->tty)
		return;
	double t = rt_now();
	if (wk->n < DECODE_SHOWN || (wk->drawn > 0 && t - wk->drawn < 0.1 && wk->done < wk->n))
		return;
	wk->drawn = t;
	fprintf(stderr, "\r\033[Kdecoding images %lld/%lld (%d%%)", (long long)wk->done,
	        (long long)wk->n, (int)(100 * wk->done / wk->n));
	fflush(stderr);
}

/* A decoding thread: take paths in order until none are left or one before
** them has failed; keep the error of the lowest failing index. */
static void *decode(void *arg)
{
	Work *wk = arg;
	size_t per = (size_t)(wk->c * wk->h * wk->w);
	for (;;) {
		pthread_mutex_lock(&wk->mu);
		int64_t i = wk->next < wk->bad ? wk->next++ : wk->n;
		pthread_mutex_unlock(&wk->mu);
		if (i >= wk->n)
			return NULL;
		RtErr e = {0};
		ImgSrc src;
		int rc = data_image_load(wk->paths[i], wk->c, wk->h, wk->w, wk->f,
		                         wk->px + per * (size_t)i, &src, &e);
		pthread_mutex_lock(&wk->mu);
		if (rc && i < wk->bad) {
			wk->bad = i;
			wk->err = e;
		} else if (!rc) {
			data_seen_add(wk->seen, &src, wk->c, wk->h, wk->w);
			decoded(wk);
		}
		pthread_mutex_unlock(&wk->mu);
	}
}

int data_load_images(const char *const *paths, int64_t n, int64_t c, int64_t h, int64_t w,
                     ImgFilter f, int threads, float **px, DataSeen *seen, RtErr *e)
{
	*px = NULL;
	uint64_t per = (uint64_t)(c * h * w), total;
	if (__builtin_mul_overflow(per, (uint64_t)n, &total) || total > SIZE_MAX / sizeof(float) ||
	    !(*px = malloc(sizeof(float) * (size_t)(total ? total : 1))))
		return rt_errorf(e, "out of memory for %lld images of [%lld,%lld,%lld]", (long long)n,
		                 (long long)c, (long long)h, (long long)w);
	DataSeen none = {0};
	Work wk = {.paths = paths, .n = n, .c = c, .h = h, .w = w, .f = f, .px = *px,
	           .seen = seen ? seen : &none, .bad = n, .tty = isatty(2)};
	pthread_mutex_init(&wk.mu, NULL);
	int k = threads < 1 ? 1 : threads > MAXTHREADS ? MAXTHREADS : threads, started = 0;
	if (k > n)
		k = n > 0 ? (int)n : 1;
	pthread_t t[MAXTHREADS];
	for (int i = 1; i < k; i++)
		if (!pthread_create(&t[i], NULL, decode, &wk))
			started = i;
		else
			break;
	decode(&wk);   /* this thread works too; a thread that failed to start is not needed */
	for (int i = 1; i <= started; i++)
		pthread_join(t[i], NULL);
	if (wk.drawn > 0)
		fputs("\r\033[K", stderr);   /* the progress line goes; the caller says what it read */
	pthread_mutex_destroy(&wk.mu);
	if (wk.bad < n) {
		free(*px);
		*px = NULL;
		return rt_errorf(e, "%s", wk.err.msg);
	}
	return 0;
}

/* Whether s is a decimal integer in [0, 2^31). */
static int is_index(const char *s)
{
	if (!*s || strlen(s) > 9)
		return 0;
	for (const char *p = s; *p; p++)
		if (*p < '0' || *p > '9')
			return 0;
	return 1;
}

/* qsort order for C strings (bytes). */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The index of s in the sorted names[0..k) (it is there). */
static int find_name(char *const *names, int k, const char *s)
{
	int lo = 0, hi = k - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (strcmp(names[mid], s) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Class names: the distinct values of vals, sorted; labels their indices. */
static int named(const char *const *vals, int64_t n, const char *what, DataLabels *out, RtErr *e)
{
	const char **s = malloc(sizeof *s * (size_t)(n ? n : 1));
	if (!s)
		return rt_errorf(e, "%s: out of memory", what);
	memcpy(s, vals, sizeof *s * (size_t)n);
	qsort(s, (size_t)n, sizeof *s, cmp_str);
	int k = 0;
	for (int64_t i = 0; i < n; i++)
		if (i == 0 || strcmp(s[i], s[i - 1]))
			s[k++] = s[i];
	out->names = data_names_dup(s, k);
	free(s);
	if (!out->names)
		return rt_errorf(e, "%s: out of memory", what);
	out->nclasses = k;
	for (int64_t i = 0; i < n; i++)
		out->y[i] = find_name(out->names, k, vals[i]);
	return 0;
}

int data_labels_from_text(const char *const *vals, int64_t n, const char *what,
                          DataLabels *out, RtErr *e)
{
	if (!(out->y = malloc(sizeof(int32_t) * (size_t)(n ? n : 1))))
		return rt_errorf(e, "%s: out of memory", what);
	out->rows = n;
	int numeric = 1;
	for (int64_t i = 0; i < n && numeric; i++)
		numeric = is_index(vals[i]);
	if (!numeric)
		return named(vals, n, what, out, e);
	for (int64_t i = 0; i < n; i++) {
		out->y[i] = atoi(vals[i]);
		if (out->y[i] >= out->nclasses)
			out->nclasses = out->y[i] + 1;
	}
	return 0;
}

char **data_names_split(const char *joined, int *n)
{
	int k = 1;
	for (const char *p = joined; *p; p++)
		k += *p == '\n' || (*p == '\r' && p[1] != '\n');
	char **d = calloc((size_t)k, sizeof *d);
	*n = 0;
	for (const char *p = joined; d && *n < k; (*n)++) {
		size_t len = strcspn(p, "\r\n");
		if (!(d[*n] = strndup(p, len))) {
			data_names_free(d, *n);
			return NULL;
		}
		p += len;
		p += *p == '\r' && p[1] == '\n' ? 2 : *p ? 1 : 0;
	}
	return d;
}

char **data_names_dup(const char *const *names, int n)
{
	char **d = calloc((size_t)(n > 0 ? n : 1), sizeof *d);
	for (int i = 0; d && i < n; i++)
		if (!(d[i] = strdup(names[i]))) {
			data_names_free(d, i);
			return NULL;
		}
	return d;
}

void data_names_free(char **names, int n)
{
	for (int i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

int data_remap_classes(DataLabels *t, const char *const *names, int k, const char *where,
                       RtErr *e)
{
	if (!t->names)
		return 0;
	int *to = malloc(sizeof *to * (size_t)(t->nclasses ? t->nclasses : 1));
	if (!to)
		return rt_errorf(e, "out of memory");
	for (int c = 0; c < t->nclasses; c++) {
		to[c] = -1;
		for (int j = 0; j < k && to[c] < 0; j++)
			if (!strcmp(t->names[c], names[j]))
				to[c] = j;
		if (to[c] < 0) {
			int rc = rt_errorf(e, "%s: class \"%s\" is not one of the %d classes the model was "
			                   "trained on (%s: %s ... %s)", t->path, t->names[c], k, where,
			                   names[0], names[k - 1]);
			free(to);
			return rc;
		}
	}
	char **nn = data_names_dup(names, k);
	if (!nn) {
		free(to);
		return rt_errorf(e, "out of memory");
	}
	for (int64_t i = 0; i < t->rows; i++)
		t->y[i] = to[t->y[i]];
	free(to);
	data_names_free(t->names, t->nclasses);
	t->names = nn;
	t->nclasses = k;
	return 0;
}
