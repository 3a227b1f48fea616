/*
** fileio.c -- nothing half-written: every output goes to a temporary file
** in the destination's directory, is flushed and fsynced, then renamed over
** the destination; on any failure the temporary is removed. Also a pread
** that reads all it is asked for or says why not, and the one way every
** reader opens a file: only a regular file, never blocking on a FIFO; and
** no output replaces something that is not a regular file. And the check
** that standard output took everything printed on it.
*/
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* What a file that is not a regular one is, for messages ("a device"). */
static const char *kind(mode_t m)
{
	return S_ISDIR(m) ? "a directory" : S_ISFIFO(m) ? "a named pipe" : S_ISCHR(m) || S_ISBLK(m) ? "a device"
	     : S_ISSOCK(m) ? "a socket" : "of another kind";
}

int rt_out_check(const char *path, RtErr *e)
{
	struct stat sb;
	if (stat(path, &sb) != 0 || S_ISREG(sb.st_mode))
		return 0;
	return rt_errorf(e, "%s is not a regular file (it is %s); outputs go to a new or a regular file", path,
	                 kind(sb.st_mode));
}

int rt_out_open(RtOut *o, const char *path, RtErr *e)
{
	memset(o, 0, sizeof *o);
	size_t len = strlen(path), n = len + 64;
	if (!len)
		return rt_errorf(e, "the output file name is empty");
	if (path[len - 1] == '/')
		return rt_errorf(e, "%s: names a directory, not a file", path);
	if (rt_out_check(path, e))
		return -1;
	if (!(o->path = strdup(path)) || !(o->tmp = malloc(n)) || !(o->buf = malloc(RT_OUT_BUF))) {
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
	o->fd = fd;
	o->live = 1;
	return 0;
}

/* Write n bytes of p to o's file, all of them; an errno value, or 0. */
static int write_all(RtOut *o, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t k = write(o->fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k < 0 ? errno : ENOSPC;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int rt_out_write(RtOut *o, const void *p, size_t n, RtErr *e)
{
	int err = 0;
	if (o->nbuf + n > RT_OUT_BUF) {   /* flush, then write a large block directly */
		err = write_all(o, o->buf, o->nbuf);
		o->nbuf = 0;
		if (!err && n >= RT_OUT_BUF)
			err = write_all(o, p, n);
		else if (!err)
			memcpy(o->buf, p, n), o->nbuf = n;
	} else if (n) {
		memcpy(o->buf + o->nbuf, p, n);
		o->nbuf += n;
	}
	if (err)
		return rt_errorf(e, "%s: write failed: %s", o->path, strerror(err));
	return 0;
}

int rt_out_finish(RtOut *o, RtErr *e)
{
	int err = write_all(o, o->buf, o->nbuf);
	o->nbuf = 0;
	if (!err && fsync(o->fd) != 0)
		err = errno;
	if (close(o->fd) != 0 && !err)
		err = errno;
	o->live = 0;
	if (err)
		return rt_errorf(e, "%s: write failed: %s", o->path, strerror(err));
	return 0;
}

int rt_out_commit(RtOut *o, RtErr *e)
{
	if (o->live && rt_out_finish(o, e)) {
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
	if (o->live)
		close(o->fd);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->path);
	free(o->buf);
	memset(o, 0, sizeof *o);
}

/* 1 if fd is a pipe or socket whose reading end is closed: poll reports an
** error or hang-up on it at once. */
static int reader_gone(int fd)
{
	struct stat sb;
	if (fstat(fd, &sb) != 0 || !(S_ISFIFO(sb.st_mode) || S_ISSOCK(sb.st_mode)))
		return 0;
	struct pollfd p = {fd, POLLOUT, 0};
	return poll(&p, 1, 0) == 1 && (p.revents & (POLLERR | POLLHUP));
}

int rt_flush_out(FILE *out, RtErr *e)
{
	errno = 0;
	if (fflush(out) == 0 && !ferror(out))
		return 0;
	int err = errno, first = !e->set;
	rt_errorf(e, "cannot write to standard output%s%s", err ? ": " : "", err ? strerror(err) : "");
	if (first && (err == EPIPE || reader_gone(fileno(out))))
		e->pipe_closed = 1;
	return -1;
}

int rt_open_read(const char *path, RtErr *e)
{
	if (!*path) {
		rt_errorf(e, "the file name is empty");
		return -1;
	}
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		rt_errorf(e, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	struct stat sb;
	const char *what = NULL;
	int err = fstat(fd, &sb) != 0 ? errno : 0;
	if (!err && !S_ISREG(sb.st_mode))
		what = kind(sb.st_mode);
	if (!err && !what && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0)
		err = errno;
	if (err || what) {
		close(fd);
		if (err)
			rt_errorf(e, "%s: cannot open: %s", path, strerror(err));
		else
			rt_errorf(e, "%s is not a regular file (it is %s)", path, what);
		return -1;
	}
	return fd;
}

FILE *rt_fopen_read(const char *path, RtErr *e)
{
	int fd = rt_open_read(path, e);
	if (fd < 0)
		return NULL;
	FILE *f = fdopen(fd, "rb");
	if (!f) {
		rt_errorf(e, "%s: cannot open: %s", path, strerror(errno));
		close(fd);
	}
	return f;
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
