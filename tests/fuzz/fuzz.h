/*
** fuzz.h -- what the harnesses share: a private scratch directory for the
** parsers that take a path, a file written there from the fuzzer's bytes,
** and the check every harness makes on a failure (it must say why).
**
** A harness defines LLVMFuzzerTestOneInput; libFuzzer links it with its
** own main (make fuzz), tests/fuzz/replay.c with a plain main that feeds it
** the committed corpus and crash reproducers (make check). Nothing here
** depends on which.
*/
#ifndef LUNAC_FUZZ_H
#define LUNAC_FUZZ_H

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char *fuzz_dir_;

/* Remove the scratch directory (its plain files, then itself). */
static inline void fuzz_cleanup(void)
{
	DIR *d = fuzz_dir_ ? opendir(fuzz_dir_) : NULL;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p;
		if (asprintf(&p, "%s/%s", fuzz_dir_, de->d_name) >= 0) {
			unlink(p);
			free(p);
		}
	}
	if (d)
		closedir(d);
	if (fuzz_dir_)
		rmdir(fuzz_dir_);
	free(fuzz_dir_);
	fuzz_dir_ = NULL;
}

/* The scratch directory, made on first use under /dev/shm (else $TMPDIR or
** /tmp) and removed at exit; aborts if it cannot be made. */
static inline const char *fuzz_dir(void)
{
	if (fuzz_dir_)
		return fuzz_dir_;
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR");
	if (asprintf(&fuzz_dir_, "%s/lunac-fuzz-XXXXXX", base ? base : "/tmp") < 0 ||
	    !mkdtemp(fuzz_dir_)) {
		perror("fuzz: cannot make a scratch directory");
		abort();
	}
	atexit(fuzz_cleanup);
	return fuzz_dir_;
}

/* A path name in the scratch directory (malloc'ed). */
static inline char *fuzz_path(const char *name)
{
	char *p;
	if (asprintf(&p, "%s/%s", fuzz_dir(), name) < 0)
		abort();
	return p;
}

/* Write data[0..size) to the file name in the scratch directory; its path
** (malloc'ed). Aborts if the file cannot be written. */
static inline char *fuzz_file(const char *name, const void *data, size_t size)
{
	char *p = fuzz_path(name);
	FILE *f = fopen(p, "wb");
	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f)) {
		perror(p);
		abort();
	}
	return p;
}

/* data[0..size) as a NUL-terminated string (malloc'ed); a NUL inside ends it
** early, as it would for a file read by the parsers that take text. */
static inline char *fuzz_str(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);
	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

/* A parser said it failed (rc != 0): its message must be there and say
** something. A silent failure is a finding: abort so the fuzzer keeps it. */
static inline void fuzz_check_failure(const char *parser, int set, const char *msg)
{
	if (!set || !msg || !msg[0]) {
		fprintf(stderr, "fuzz %s: the parser failed without an error message\n", parser);
		abort();
	}
}

/* An invariant of a parser's result did not hold: report it and abort. */
static inline void fuzz_fail(const char *parser, const char *what)
{
	fprintf(stderr, "fuzz %s: %s\n", parser, what);
	abort();
}

#endif
