/*
** rundir.c -- a training run's directory:
**
**   best.safetensors   the checkpoint with the best validation loss
**   last.safetensors   the checkpoint after the latest epoch
**   metrics.jsonl      one JSON object per epoch, appended and fsynced
**
** Checkpoints are replaced atomically (fileio.c), so a run killed at any
** moment leaves the previous last.safetensors whole. The directory is
** locked (flock) while a run uses it. Opening it removes the temporaries a
** killed run may have left and cuts metrics.jsonl back to the epochs the
** checkpoint being resumed has seen, so log and checkpoint agree.
*/
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "train.h"

/* dir + "/" + name, malloc'ed. */
static char *join(const char *dir, const char *name)
{
	size_t n = strlen(dir) + strlen(name) + 2;
	char *p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%s", dir, name);
	return p;
}

int rt_rundir_has_run(const char *dir)
{
	char *p = join(dir, "last.safetensors");
	int has = p && access(p, F_OK) == 0;
	free(p);
	return has;
}

/* mkdir -p path (not empty). */
static int mkdirs(const char *path, RtErr *e)
{
	if (!*path)
		return rt_errorf(e, "the run directory name is empty");
	char *p = strdup(path);
	if (!p)
		return rt_errorf(e, "out of memory");
	for (char *s = p + 1;; s++) {
		if (*s != '/' && *s)
			continue;
		char c = *s;
		*s = 0;
		if (mkdir(p, 0777) != 0 && errno != EEXIST) {
			int err = errno;
			free(p);
			return rt_errorf(e, "cannot create the run directory %s: %s", path, strerror(err));
		}
		*s = c;
		if (!c)
			break;
	}
	free(p);
	struct stat sb;
	if (stat(path, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return rt_errorf(e, "%s is not a directory", path);
	return 0;
}

/* Remove "<file>.tmp.*" left by a killed run (the lock is held). */
static void sweep(const RtRunDir *r)
{
	int fd = dup(r->dirfd);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	static const char *const stems[] = {"last.safetensors.tmp.", "best.safetensors.tmp.",
	                                    "metrics.jsonl.tmp."};
	struct dirent *de;
	while ((de = readdir(d)))
		for (int i = 0; i < 3; i++)
			if (!strncmp(de->d_name, stems[i], strlen(stems[i])))
				unlinkat(r->dirfd, de->d_name, 0);
	closedir(d);
}

/* The bytes of metrics.jsonl's leading lines whose "epoch" is <= keep. */
static size_t kept_prefix(const char *text, size_t n, int64_t keep)
{
	size_t at = 0;
	while (at < n) {
		const char *nl = memchr(text + at, '\n', n - at);
		if (!nl)
			break;
		cJSON *j = cJSON_ParseWithLength(text + at, (size_t)(nl - text - at));
		const cJSON *ep = cJSON_GetObjectItemCaseSensitive(j, "epoch");
		int ok = cJSON_IsNumber(ep) && ep->valuedouble >= 1 && ep->valuedouble <= (double)keep;
		cJSON_Delete(j);
		if (!ok)
			break;
		at = (size_t)(nl - text) + 1;
	}
	return at;
}

/* Cut metrics.jsonl to its lines up to epoch keep (atomically), then open it to append. */
static int open_metrics(RtRunDir *r, int64_t keep, RtErr *e)
{
	struct stat sb;
	FILE *f = NULL;
	if (stat(r->metrics, &sb) == 0 && !(f = rt_fopen_read(r->metrics, e)))
		return -1;   /* there, but not a regular file or unreadable */
	if (f) {
		char *text = NULL;
		size_t n = 0, cap = 0, k;
		char buf[65536];
		while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
			if (n + k < n || 2 * (n + k) < n + k) {
				free(text);
				fclose(f);
				return rt_errorf(e, "%s is too large", r->metrics);
			}
			if (n + k > cap) {
				char *t = realloc(text, cap = 2 * (n + k));
				if (!t) {
					free(text);
					fclose(f);
					return rt_errorf(e, "out of memory reading %s", r->metrics);
				}
				text = t;
			}
			memcpy(text + n, buf, k);
			n += k;
		}
		int bad = ferror(f);
		fclose(f);
		if (bad) {
			free(text);
			return rt_errorf(e, "%s: read failed", r->metrics);
		}
		size_t keepn = kept_prefix(text ? text : "", n, keep);
		RtOut o;
		int rc = keepn == n ? 0 : rt_out_open(&o, r->metrics, e) ||
		         rt_out_write(&o, text, keepn, e) || rt_out_commit(&o, e) ? -1 : 0;
		free(text);
		if (rc)
			return -1;
	}
	r->metricsfd = open(r->metrics, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0666);
	if (r->metricsfd < 0)
		return rt_errorf(e, "%s: cannot open: %s", r->metrics, strerror(errno));
	return 0;
}

int rt_rundir_open(RtRunDir *r, const char *dir, int resuming, int64_t keep, RtErr *e)
{
	memset(r, 0, sizeof *r);
	r->dirfd = r->metricsfd = -1;
	if (!*dir)
		return rt_errorf(e, "the run directory name is empty");
	if (!(r->dir = strdup(dir)) || !(r->best = join(dir, "best.safetensors")) ||
	    !(r->last = join(dir, "last.safetensors")) || !(r->metrics = join(dir, "metrics.jsonl")))
		return rt_errorf(e, "out of memory");
	if (!resuming && rt_rundir_has_run(dir))
		return rt_errorf(e, "%s already holds a training run (last.safetensors): continue it with "
		                 "--resume %s, or choose another --out", dir, r->last);
	if (mkdirs(dir, e))
		return -1;
	r->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (r->dirfd < 0)
		return rt_errorf(e, "cannot open the run directory %s: %s", dir, strerror(errno));
	if (flock(r->dirfd, LOCK_EX | LOCK_NB) != 0)
		return rt_errorf(e, "the run directory %s is in use by another training run", dir);
	sweep(r);
	return open_metrics(r, keep, e);
}

int rt_rundir_log(RtRunDir *r, const char *line, RtErr *e)
{
	size_t n = strlen(line);
	char *buf = malloc(n + 1);
	if (!buf)
		return rt_errorf(e, "out of memory");
	memcpy(buf, line, n);
	buf[n] = '\n';
	size_t at = 0;
	while (at <= n) {
		ssize_t k = write(r->metricsfd, buf + at, n + 1 - at);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			int err = k < 0 ? errno : ENOSPC;
			free(buf);
			return rt_errorf(e, "%s: write failed: %s", r->metrics, strerror(err));
		}
		at += (size_t)k;
	}
	free(buf);
	if (fsync(r->metricsfd) != 0)
		return rt_errorf(e, "%s: write failed: %s", r->metrics, strerror(errno));
	return 0;
}

void rt_rundir_close(RtRunDir *r)
{
	if (!r->dir)   /* zeroed or never opened */
		return;
	if (r->metricsfd >= 0)
		close(r->metricsfd);
	if (r->dirfd >= 0)
		close(r->dirfd);   /* releases the lock */
	free(r->dir);
	free(r->best);
	free(r->last);
	free(r->metrics);
	memset(r, 0, sizeof *r);
	r->dirfd = r->metricsfd = -1;
}
