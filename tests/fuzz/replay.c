/*
** replay.c -- run the fuzz harnesses without libFuzzer: feed every file of
** the committed seed corpus (tests/fuzz/corpus/<parser>/) and every crash
** reproducer found so far (tests/fuzz/crashes/<parser>/) to the harness,
** and print "ok - fuzz replay <parser> (<k> inputs)" per parser. An input
** that crashes or aborts kills the program (tests/run.sh counts that as a
** failure; the last "# replay" line on stderr names the input).
**
**   test_fuzz_replay                        every parser, from the top directory
**   test_fuzz_replay PARSER [FILE|DIR...]   one parser, on the given inputs
**
** Each harness is compiled with LLVMFuzzerTestOneInput renamed to
** fuzz_one_<parser> (tests/fuzz/rules.mk), so all link into this program.
*/
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HARNESSES(X) X(safetensors) X(checkpoint) X(npy) X(idx) X(png) X(jpeg) X(bmp) \
	X(csv) X(descriptor) X(ir) X(frontend)

#define DECLARE(n) int fuzz_one_##n(const uint8_t *data, size_t size);
HARNESSES(DECLARE)

typedef struct Harness {
	const char *name;
	int (*fn)(const uint8_t *, size_t);
} Harness;

#define ENTRY(n) {#n, fuzz_one_##n},
static const Harness harnesses[] = {HARNESSES(ENTRY)};
#define NHARNESS (sizeof harnesses / sizeof harnesses[0])

/* Under UBSan, stop at the first report as libFuzzer's builds do. */
const char *__ubsan_default_options(void)
{
	return "halt_on_error=1:print_stacktrace=1";
}

/* Feed the file at path to h; -1 if it cannot be read. */
static int replay_file(const Harness *h, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	size_t cap = 4096, n = 0, k;
	uint8_t *buf = malloc(cap);
	while (buf && (k = fread(buf + n, 1, cap - n, f)) > 0)
		if ((n += k) == cap) {
			uint8_t *p = realloc(buf, cap *= 2);
			if (!p)
				free(buf);
			buf = p;
		}
	int bad = !buf || ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		return -1;
	}
	fprintf(stderr, "# replay %s %s\n", h->name, path);
	/* a copy of exactly n bytes, so that ASan sees a read past the input */
	uint8_t *in = malloc(n ? n : 1);
	if (!in) {
		free(buf);
		return -1;
	}
	memcpy(in, buf, n);
	free(buf);
	h->fn(in, n);
	free(in);
	return 0;
}

/* Skip names starting with '.' (and so . and ..). */
static int visible(const struct dirent *d)
{
	return d->d_name[0] != '.';
}

/* Feed path (a file, or every file of a directory in name order) to h;
** adds to *count and *errors. A missing path is no error when optional. */
static void replay_path(const Harness *h, const char *path, int optional, int *count, int *errors)
{
	struct stat st;
	if (stat(path, &st)) {
		if (!optional) {
			fprintf(stderr, "%s: cannot stat\n", path);
			(*errors)++;
		}
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		if (replay_file(h, path)) {
			fprintf(stderr, "%s: cannot read\n", path);
			(*errors)++;
		} else {
			(*count)++;
		}
		return;
	}
	struct dirent **list;
	int n = scandir(path, &list, visible, alphasort);
	if (n < 0) {
		fprintf(stderr, "%s: cannot list\n", path);
		(*errors)++;
		return;
	}
	for (int i = 0; i < n; i++) {
		char *p;
		if (asprintf(&p, "%s/%s", path, list[i]->d_name) >= 0) {
			replay_path(h, p, 0, count, errors);
			free(p);
		}
		free(list[i]);
	}
	free(list);
}

/* The harness called name, or NULL. */
static const Harness *find(const char *name)
{
	for (size_t i = 0; i < NHARNESS; i++)
		if (!strcmp(harnesses[i].name, name))
			return &harnesses[i];
	return NULL;
}

/* Print one test line for h: ok when inputs were replayed without an error. */
static int report(const Harness *h, int count, int errors)
{
	if (errors || count == 0) {
		printf("not ok - fuzz replay %s: %d inputs, %d unreadable (an empty corpus?)\n", h->name,
		       count, errors);
		return 1;
	}
	printf("ok - fuzz replay %s (%d inputs)\n", h->name, count);
	fflush(stdout);
	return 0;
}

/* Replay h on paths[0..n), or on its corpus and crash reproducers when n
** is 0; print its test line and return 1 if it failed. */
static int replay_parser(const Harness *h, char **paths, int n)
{
	int count = 0, errors = 0;
	if (n == 0) {
		char *corpus, *crashes;
		if (asprintf(&corpus, "tests/fuzz/corpus/%s", h->name) < 0 ||
		    asprintf(&crashes, "tests/fuzz/crashes/%s", h->name) < 0)
			return report(h, 0, 1);
		replay_path(h, corpus, 0, &count, &errors);
		replay_path(h, crashes, 1, &count, &errors);
		free(corpus);
		free(crashes);
	}
	for (int i = 0; i < n; i++)
		replay_path(h, paths[i], 0, &count, &errors);
	return report(h, count, errors);
}

int main(int argc, char **argv)
{
	if (argc >= 2) {
		const Harness *h = find(argv[1]);
		if (!h) {
			fprintf(stderr, "usage: %s [PARSER [FILE|DIR...]]; unknown parser %s\n", argv[0],
			        argv[1]);
			return 2;
		}
		return replay_parser(h, argv + 2, argc - 2);
	}
	int failed = 0;
	for (size_t i = 0; i < NHARNESS; i++)
		failed |= replay_parser(&harnesses[i], NULL, 0);
	return failed;
}
