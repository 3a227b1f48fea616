/*
** faultshim.c -- an LD_PRELOAD library that makes the C library fail on
** purpose, for tests/faults/run.sh. Driven by the environment:
**
**   LUNAC_FAULT_ALLOC=N     the Nth allocation (malloc, calloc, realloc,
**                           posix_memalign, aligned_alloc, memalign, valloc,
**                           an anonymous mmap such as the runtime's arena;
**                           counted from 1 once the library is loaded) fails
**                           with ENOMEM; every later one succeeds. 0 or unset:
**                           none fails.
**   LUNAC_FAULT_COUNT=FILE  at exit, write the number of allocations made and
**                           of bytes written to regular files to FILE (to size
**                           a sweep; bytes are counted when LUNAC_FAULT_WRITE
**                           is set, e.g. to a huge budget).
**   LUNAC_FAULT_READ=K      read() and pread() return at most K bytes a call
**                           (short reads; a reader must loop).
**   LUNAC_FAULT_WRITE=B     after B bytes written to regular files by write()
**                           and pwrite(), writes fail: the write that crosses B
**                           is cut short at B, the next fails; fsync() fails,
**                           and close() of a file written to fails (the fd is
**                           closed all the same).
**   LUNAC_FAULT_FSYNC=1     fsync() and fdatasync() fail from the start.
**   LUNAC_FAULT_ERRNO=E     ENOSPC (default) or EIO: the errno of those.
**
** The real functions are found with dlsym(RTLD_NEXT); allocations made while
** dlsym runs come from a small static arena. Writes through stdio do not
** reach write() in glibc (its stdio calls an internal alias), which is why
** the runtime's output files (fileio.c) use write() directly.
*/
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

static void *(*real_malloc)(size_t);
static void *(*real_calloc)(size_t, size_t);
static void *(*real_realloc)(void *, size_t);
static void (*real_free)(void *);
static int (*real_posix_memalign)(void **, size_t, size_t);
static void *(*real_aligned_alloc)(size_t, size_t);
static void *(*real_memalign)(size_t, size_t);
static void *(*real_mmap)(void *, size_t, int, int, int, off_t);
static ssize_t (*real_read)(int, void *, size_t);
static ssize_t (*real_pread)(int, void *, size_t, off_t);
static ssize_t (*real_write)(int, const void *, size_t);
static ssize_t (*real_pwrite)(int, const void *, size_t, off_t);
static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_close)(int);

static atomic_long nalloc;          /* allocations so far */
static long fail_at;                /* LUNAC_FAULT_ALLOC */
static long read_max;               /* LUNAC_FAULT_READ; 0: off */
static long long write_budget = -1; /* LUNAC_FAULT_WRITE; -1: off */
static atomic_llong written;
static int fsync_fails, fault_errno = ENOSPC;
static const char *count_file;
static int ready, resolving;
static unsigned char written_fd[4096]; /* fds written to after the budget ran out */

/* Allocations made while dlsym runs, before the real malloc is known. */
static _Alignas(64) char boot[65536];
static size_t boot_used;

static int in_boot(const void *p)
{
	return (const char *)p >= boot && (const char *)p < boot + sizeof boot;
}

static void *boot_alloc(size_t n)
{
	size_t at = (boot_used + 63) & ~(size_t)63;
	if (at + n > sizeof boot)
		return NULL;
	boot_used = at + n;
	return boot + at;
}

/* A number from the environment, or dflt. */
static long long env_num(const char *name, long long dflt)
{
	const char *v = getenv(name);
	return v && *v ? strtoll(v, NULL, 10) : dflt;
}

/* Find the real functions and read the settings (once). */
static void setup(void)
{
	if (ready || resolving)
		return;
	resolving = 1;
	real_malloc = dlsym(RTLD_NEXT, "malloc");
	real_calloc = dlsym(RTLD_NEXT, "calloc");
	real_realloc = dlsym(RTLD_NEXT, "realloc");
	real_free = dlsym(RTLD_NEXT, "free");
	real_posix_memalign = dlsym(RTLD_NEXT, "posix_memalign");
	real_aligned_alloc = dlsym(RTLD_NEXT, "aligned_alloc");
	real_memalign = dlsym(RTLD_NEXT, "memalign");
	real_mmap = dlsym(RTLD_NEXT, "mmap");
	real_read = dlsym(RTLD_NEXT, "read");
	real_pread = dlsym(RTLD_NEXT, "pread");
	real_write = dlsym(RTLD_NEXT, "write");
	real_pwrite = dlsym(RTLD_NEXT, "pwrite");
	real_fsync = dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = dlsym(RTLD_NEXT, "fdatasync");
	real_close = dlsym(RTLD_NEXT, "close");
	fail_at = (long)env_num("LUNAC_FAULT_ALLOC", 0);
	read_max = (long)env_num("LUNAC_FAULT_READ", 0);
	write_budget = env_num("LUNAC_FAULT_WRITE", -1);
	fsync_fails = env_num("LUNAC_FAULT_FSYNC", 0) != 0;
	const char *e = getenv("LUNAC_FAULT_ERRNO");
	fault_errno = e && !strcmp(e, "EIO") ? EIO : ENOSPC;
	count_file = getenv("LUNAC_FAULT_COUNT");
	resolving = 0;
	ready = 1;
}

__attribute__((constructor)) static void shim_init(void)
{
	setup();
}

/* At exit: the allocation count, in counting mode. */
__attribute__((destructor)) static void shim_fini(void)
{
	if (!count_file)
		return;
	char buf[64];
	int n = snprintf(buf, sizeof buf, "%ld %lld\n", (long)atomic_load(&nalloc),
	                 (long long)atomic_load(&written));
	FILE *f = fopen(count_file, "w");
	if (f) {
		fwrite(buf, 1, (size_t)n, f);
		fclose(f);
	}
}

/* Count one allocation; 1 when this one is to fail. */
static int fail_now(void)
{
	long k = atomic_fetch_add(&nalloc, 1) + 1;
	if (fail_at > 0 && k == fail_at) {
		errno = ENOMEM;
		return 1;
	}
	return 0;
}

void *malloc(size_t n)
{
	if (!ready) {
		setup();
		if (!real_malloc)
			return boot_alloc(n);
	}
	return fail_now() ? NULL : real_malloc(n);
}

void *calloc(size_t k, size_t n)
{
	if (!ready) {
		setup();
		if (!real_calloc) {
			if (n && k > SIZE_MAX / n)
				return NULL;
			return boot_alloc(k * n);   /* static: already zero */
		}
	}
	return fail_now() ? NULL : real_calloc(k, n);
}

void *realloc(void *p, size_t n)
{
	if (!ready)
		setup();
	if (in_boot(p)) {
		void *q = malloc(n);
		if (q)
			memcpy(q, p, n < (size_t)(boot + sizeof boot - (char *)p) ? n : (size_t)(boot + sizeof boot - (char *)p));
		return q;
	}
	return fail_now() ? NULL : real_realloc(p, n);
}

void free(void *p)
{
	if (!p || in_boot(p))
		return;
	if (!ready)
		setup();
	real_free(p);
}

/* Anonymous mappings count as allocations (file mappings pass through). */
void *mmap(void *addr, size_t len, int prot, int flags, int fd, off_t off)
{
	if (!ready)
		setup();
	if (!real_mmap)   /* while dlsym runs */
		return (void *)syscall(SYS_mmap, addr, len, prot, flags, fd, off);
	if ((flags & MAP_ANONYMOUS) && fail_now()) {
		errno = ENOMEM;
		return MAP_FAILED;
	}
	return real_mmap(addr, len, prot, flags, fd, off);
}

int posix_memalign(void **out, size_t align, size_t n)
{
	if (!ready)
		setup();
	return fail_now() ? ENOMEM : real_posix_memalign(out, align, n);
}

void *aligned_alloc(size_t align, size_t n)
{
	if (!ready)
		setup();
	return fail_now() ? NULL : real_aligned_alloc(align, n);
}

void *memalign(size_t align, size_t n)
{
	if (!ready)
		setup();
	return fail_now() ? NULL : real_memalign(align, n);
}

ssize_t read(int fd, void *buf, size_t n)
{
	if (!ready)
		setup();
	if (read_max > 0 && n > (size_t)read_max)
		n = (size_t)read_max;
	return real_read(fd, buf, n);
}

ssize_t pread(int fd, void *buf, size_t n, off_t off)
{
	if (!ready)
		setup();
	if (read_max > 0 && n > (size_t)read_max)
		n = (size_t)read_max;
	return real_pread(fd, buf, n, off);
}

ssize_t pread64(int fd, void *buf, size_t n, off_t off) __attribute__((alias("pread")));

/* How many of n bytes to fd may be written (n: all; -1: fail now). */
static long long allow(int fd, size_t n)
{
	struct stat sb;
	if (write_budget < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		return (long long)n;
	long long before = atomic_fetch_add(&written, (long long)n);
	if (before + (long long)n <= write_budget)
		return (long long)n;
	if (fd >= 0 && fd < (int)sizeof written_fd)
		written_fd[fd] = 1;
	return before < write_budget ? write_budget - before : -1;
}

ssize_t write(int fd, const void *buf, size_t n)
{
	if (!ready)
		setup();
	long long k = allow(fd, n);
	if (k < 0) {
		errno = fault_errno;
		return -1;
	}
	return real_write(fd, buf, (size_t)k);
}

ssize_t pwrite(int fd, const void *buf, size_t n, off_t off)
{
	if (!ready)
		setup();
	long long k = allow(fd, n);
	if (k < 0) {
		errno = fault_errno;
		return -1;
	}
	return real_pwrite(fd, buf, (size_t)k, off);
}

ssize_t pwrite64(int fd, const void *buf, size_t n, off_t off) __attribute__((alias("pwrite")));

/* Whether fsync-like calls fail now. */
static int sync_fails(void)
{
	return fsync_fails || (write_budget >= 0 && atomic_load(&written) > write_budget);
}

/* 1 with errno set when an fsync-like call must fail now. */
static int sync_fault(void)
{
	if (!ready)
		setup();
	if (!sync_fails())
		return 0;
	errno = fault_errno;
	return 1;
}

int fsync(int fd)
{
	return sync_fault() ? -1 : real_fsync(fd);
}

int fdatasync(int fd)
{
	return sync_fault() ? -1 : real_fdatasync(fd);
}

int close(int fd)
{
	if (!ready)
		setup();
	int rc = real_close(fd);
	if (rc == 0 && fd >= 0 && fd < (int)sizeof written_fd && written_fd[fd]) {
		written_fd[fd] = 0;
		errno = fault_errno;
		return -1;
	}
	return rc;
}
