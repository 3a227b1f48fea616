/*
** fileio.c -- nothing half-written: every output goes to a temporary file
** in the destination's directory, is flushed and fsynced, then renamed over
** the destination; on any failure the temporary is removed. Also a pread
** that reads all it is asked for or says why not.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rt.h"

/* A malloc'ed copy of path's directory ("." when it has none). */
static char *dirof(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, slash - path);
}

int rt_out_open(RtOut *o, const char *path, RtErr *e)
{
	memset(o, 0, sizeof *o);
	size_t n = strlen(path) + 64;
	if (!(o->path = strdup(path)) || !(o->tmp = malloc(n))) {
		rt_out_abort(o);
		return rt_errorf(e, "out of memory");
	}
	static unsigned counter;
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 100; tries++) {
		snprintf(o->tmp, n, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
		fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		int err = errno;
		free(o->tmp);
		o->tmp = NULL;
		rt_out_abort(o);
		return rt_errorf(e, "%s: cannot create: %s", path, strerror(err));
	}
	if (!(o->f = fdopen(fd, "wb"))) {
		close(fd);
		rt_out_abort(o);
		return rt_errorf(e, "%s: cannot write: %s", path, strerror(errno));
	}
	return 0;
}

int rt_out_write(RtOut *o, const void *p, size_t n, RtErr *e)
{
	if (n && fwrite(p, 1, n, o->f) != n)
		return rt_errorf(e, "%s: write failed: %s", o->path, strerror(errno));
	return 0;
}

int rt_out_finish(RtOut *o, RtErr *e)
{
	int bad = fflush(o->f) != 0 || fsync(fileno(o->f)) != 0;
	int err = errno;
	bad |= fclose(o->f) != 0;
	o->f = NULL;
	if (bad)
		return rt_errorf(e, "%s: write failed: %s", o->path, strerror(err ? err : errno));
	return 0;
}

int rt_out_commit(RtOut *o, RtErr *e)
{
	if (o->f && rt_out_finish(o, e)) {
		rt_out_abort(o);
		return -1;
	}
	if (rename(o->tmp, o->path) != 0) {
		rt_errorf(e, "%s: cannot rename the finished file into place: %s",
		          o->path, strerror(errno));
		rt_out_abort(o);
		return -1;
	}
	free(o->tmp);
	o->tmp = NULL;
	char *dir = dirof(o->path);
	int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (dfd >= 0) {
		fsync(dfd);   /* best effort: makes the rename durable */
		close(dfd);
	}
	free(dir);
	rt_out_abort(o);
	return 0;
}

void rt_out_abort(RtOut *o)
{
	if (o->f)
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	memset(o, 0, sizeof *o);
}

int rt_pread_full(int fd, void *buf, size_t n, uint64_t off, const char *path, RtErr *e)
{
	char *p = buf;
	while (n > 0) {
		size_t chunk = n > (1u << 30) ? (1u << 30) : n;
		ssize_t k = pread(fd, p, chunk, (off_t)off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return rt_errorf(e, "%s: read failed: %s", path, strerror(errno));
		if (k == 0)
			return rt_errorf(e, "%s: the file is shorter than its header says (truncated?)", path);
		p += k;
		n -= (size_t)k;
		off += (uint64_t)k;
	}
	return 0;
}
