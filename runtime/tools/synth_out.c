/*
** synth_out.c -- where lunac-synth writes: a staging directory renamed into
** place when the dataset is complete (so --out never holds half a
** dataset), and a small thread pool that draws and writes the images.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "synth.h"

volatile sig_atomic_t syn_interrupted;

/* Whether the directory path holds anything but . and ..; -1 if it cannot be read. */
static int dir_nonempty(const char *path)
{
	DIR *d = opendir(path);
	if (!d)
		return -1;
	struct dirent *de;
	int any = 0;
	while (!any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	closedir(d);
	return any;
}

/* Refuse an --out that holds anything; create OUT.tmp.PID beside it. */
int syn_stage_begin(SynStage *st, const char *out, RtErr *e)
{
	memset(st, 0, sizeof *st);
	size_t n = strlen(out);
	while (n > 1 && out[n - 1] == '/')
		n--;
	if (!n)
		return rt_errorf(e, "--out: the directory name is empty");
	if (n > 3000)   /* the jobs build paths in 4096-byte buffers */
		return rt_errorf(e, "--out: the directory name is longer than 3000 bytes");
	struct stat sb;
	if (!(st->out = strndup(out, n)) || !(st->tmp = malloc(n + 32))) {
		syn_stage_abort(st);
		return rt_errorf(e, "out of memory");
	}
	if (stat(st->out, &sb) == 0) {
		int full = S_ISDIR(sb.st_mode) ? dir_nonempty(st->out) : -2;
		if (full) {
			rt_errorf(e, full == -2 ? "%s: exists and is not a directory" : full < 0 ?
			          "%s: cannot read the directory" : "%s: already exists and is not empty "
			          "(remove it or choose another --out)", st->out);
			syn_stage_abort(st);
			return -1;
		}
	}
	snprintf(st->tmp, n + 32, "%s.tmp.%ld", st->out, (long)getpid());
	if (mkdir(st->tmp, 0777) != 0) {
		int err = errno;
		rt_errorf(e, "%s: cannot create the staging directory %s: %s%s", st->out, st->tmp,
		          strerror(err), err == ENOENT ? " (the parent directory must exist)" : "");
		free(st->tmp);
		st->tmp = NULL;
		syn_stage_abort(st);
		return -1;
	}
	return 0;
}

/* Rename the staging directory over out (an empty directory is replaced). */
int syn_stage_commit(SynStage *st, RtErr *e)
{
	if (rename(st->tmp, st->out) != 0) {
		int err = errno;
		rt_errorf(e, "%s: cannot move the finished dataset into place: %s", st->out,
		          err == ENOTEMPTY || err == EEXIST ? "the directory is no longer empty" : strerror(err));
		return -1;
	}
	char *slash = strrchr(st->out, '/');
	char *parent = slash == st->out ? strdup("/") : slash ? strndup(st->out, slash - st->out) : strdup(".");
	int fd = parent ? open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (fd >= 0) {
		fsync(fd);   /* best effort: makes the rename durable */
		close(fd);
	}
	free(parent);
	free(st->tmp);
	st->tmp = NULL;
	return 0;
}

/* nftw callback: remove one entry (children come first: FTW_DEPTH). */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	remove(path);
	return 0;
}

/* Remove what is left of the staging directory and free st. */
void syn_stage_abort(SynStage *st)
{
	if (st->tmp)
		nftw(st->tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(st->tmp);
	free(st->out);
	memset(st, 0, sizeof *st);
}

/* Create one directory inside the staging directory. */
int syn_mkdir(const SynStage *st, const char *rel, RtErr *e)
{
	size_t n = strlen(st->tmp) + strlen(rel) + 2;
	char *p = malloc(n);
	if (!p)
		return rt_errorf(e, "out of memory");
	snprintf(p, n, "%s/%s", st->tmp, rel);
	int rc = mkdir(p, 0777) == 0 ? 0 : rt_errorf(e, "%s: cannot create: %s", p, strerror(errno));
	free(p);
	return rc;
}

/* ---- the thread pool --------------------------------------------------- */

/* Shared by the workers: the next job to take, the first error, and the
** progress line (drawn on stderr when it is a terminal). */
typedef struct Pool {
	pthread_mutex_t mu;
	int64_t next, n, done;
	int failed;
	SynJob fn;
	void *ctx;
	RtErr *e;
	int tty;
	double last_draw;
} Pool;

/* Count one finished job; on a terminal redraw "  images K/N (P%)" in
** place at most ten times a second. Called with the pool's lock held. */
static void job_done(Pool *p)
{
	p->done++;
	if (!p->tty)
		return;
	double t = rt_now();
	if (t - p->last_draw < 0.1 && p->done < p->n)
		return;
	p->last_draw = t;
	fprintf(stderr, "\r  images %lld/%lld (%d%%)", (long long)p->done, (long long)p->n,
		(int)(100 * p->done / (p->n > 0 ? p->n : 1)));
	fflush(stderr);
}

/* Take jobs until none are left or one has failed. */
static void *worker(void *arg)
{
	Pool *p = arg;
	for (;;) {
		pthread_mutex_lock(&p->mu);
		if (syn_interrupted && !p->failed) {
			p->failed = 1;
			rt_errorf(p->e, "interrupted");
		}
		int64_t i = p->failed || p->next >= p->n ? -1 : p->next++;
		pthread_mutex_unlock(&p->mu);
		if (i < 0)
			return NULL;
		RtErr mine = {0};
		int bad = p->fn(p->ctx, i, &mine);
		pthread_mutex_lock(&p->mu);
		if (bad && !p->failed)
			rt_errorf(p->e, "%s", mine.msg);
		p->failed |= bad != 0;
		if (!bad)
			job_done(p);
		pthread_mutex_unlock(&p->mu);
	}
}

/* Start nthreads - 1 workers, work on the calling thread too, join. */
int syn_run_jobs(int64_t n, int nthreads, SynJob fn, void *ctx, RtErr *e)
{
	Pool p = {PTHREAD_MUTEX_INITIALIZER, 0, n, 0, 0, fn, ctx, e, isatty(2), 0};
	pthread_t th[64];
	int started = 0;
	if (nthreads > 64)
		nthreads = 64;
	while (started < nthreads - 1 && pthread_create(&th[started], NULL, worker, &p) == 0)
		started++;
	worker(&p);   /* the calling thread works too */
	for (int k = 0; k < started; k++)
		pthread_join(th[k], NULL);
	if (p.tty && p.done > 0)
		fputs("\n", stderr);
	return p.failed ? -1 : 0;
}
