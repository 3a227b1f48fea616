/*
** synth_main.c -- the command line of bin/lunac-synth:
**
**   lunac-synth derm-mri --out DIR [--count N] [--size S] [--seed S]
**                        [--layout folders|paired] [--threads T]
**   lunac-synth fashion-pair --out DIR [--size S] [--count N] [--threads T]
**   lunac-synth help | --help
**
** Exit status: 0 success, 1 a runtime error (cannot write, no dataset),
** 2 a usage error (unknown command or flag, missing or malformed value).
** The only file of the tool that prints or exits.
*/
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "synth.h"

static const char *prog = "lunac-synth";

static const char usage_text[] =
	"usage: lunac-synth derm-mri --out DIR [--count N] [--size S] [--seed S]\n"
	"                            [--layout folders|paired] [--threads T]\n"
	"       lunac-synth fashion-pair --out DIR [--size S] [--count N] [--threads T]\n"
	"\n"
	"derm-mri      two synthetic modalities: dermoscopy-like RGB (5 classes, lesion\n"
	"              shape and texture) and MRI-like grey (7 classes, intensity pattern)\n"
	"  --count N   images per modality, train and test together (default 1000)\n"
	"  --size S    image side in pixels, 16 to 1024 (default 64)\n"
	"  --seed S    the same seed gives byte-identical files (default 1)\n"
	"  --layout    folders: DIR/{derm,mri}[_test]/CLASS/NNNNN.png, 80/20 per class\n"
	"              paired:  DIR/{derm,mri}/NNNNN.png listed in DIR/paired.csv and\n"
	"                       DIR/paired_test.csv (derm,mri,task1,task2)\n"
	"fashion-pair  Fashion-MNIST as two datasets: DIR/fa (classes 0-4) and DIR/fb\n"
	"              (classes 5-9 relabelled 0-4), test sets in DIR/fa_test, DIR/fb_test\n"
	"  --size S    image side, 4 to 1024 (default 32; 28 keeps the original pixels)\n"
	"  --count N   training images per dataset, N/5 per class, and N/6 test images\n"
	"              (default: all)\n"
	"--threads T   worker threads (default: the CPUs, at most 16); never changes the output\n"
	"\n"
	"DIR must not exist or be empty; the data is built in DIR.tmp.PID and renamed.\n"
	"Exit status: 0 success, 1 error, 2 bad command line.\n";

/* A usage error: one line, a hint, exit status 2. */
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nRun '%s --help' for usage.\n", prog);
	return 2;
}

/* A decimal integer in [lo, hi] from s; -1 when s is anything else. */
static int parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	if (!s || *s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (errno || *end || x < lo || x > hi)
		return -1;
	*v = x;
	return 0;
}

/* SIGINT / SIGTERM: let the jobs stop; main removes the staged output. */
static void on_signal(int sig)
{
	syn_interrupted = 1;
}

/* The default thread count: the online CPUs, 1 to 16. */
static int ncpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > 16 ? 16 : (int)n;
}

enum { F_OUT, F_COUNT, F_SIZE, F_SEED, F_LAYOUT, F_THREADS, NFLAGS };
static const char *const flag_names[NFLAGS] = {"out", "count", "size", "seed", "layout", "threads"};

/* Collect --name VALUE / --name=VALUE pairs of argv into vals; allowed: a
** mask of the flags the command takes. 2 on a usage error. */
static int parse_flags(const char *cmd, unsigned allowed, int argc, char **argv, const char *vals[])
{
	for (int k = 0; k < argc; k++) {
		const char *a = argv[k], *v = NULL;
		int f = -1;
		for (int i = 0; i < NFLAGS && f < 0; i++) {
			size_t n = strlen(flag_names[i]);
			if (a[0] == '-' && a[1] == '-' && !strncmp(a + 2, flag_names[i], n) &&
			    (a[2 + n] == 0 || a[2 + n] == '='))
				f = i, v = a[2 + n] ? a + 3 + n : NULL;
		}
		if (f < 0 || !(allowed >> f & 1))
			return usage_error(a[0] == '-' ? "unknown flag \"%s\" for %s" :
			                   "unexpected argument \"%s\" for %s", a, cmd);
		if (!v && (k + 1 >= argc || !(v = argv[++k])))
			return usage_error("%s needs a value", a);
		if (vals[f])
			return usage_error("--%s is given twice", flag_names[f]);
		vals[f] = v;
	}
	return 0;
}

/* Turn the flag values of cmd into o; 2 on a usage error. */
static int make_opts(int derm, const char *vals[], SynOpts *o)
{
	uint64_t v;
	*o = (SynOpts){vals[F_OUT], derm ? 1000 : 0, derm ? 64 : 32, 1, SYN_FOLDERS, ncpus()};
	if (!o->out || !*o->out)
		return usage_error("%s needs --out DIR", derm ? "derm-mri" : "fashion-pair");
	if (vals[F_LAYOUT] && strcmp(vals[F_LAYOUT], "folders") && strcmp(vals[F_LAYOUT], "paired"))
		return usage_error("--layout %s: use folders or paired", vals[F_LAYOUT]);
	o->layout = vals[F_LAYOUT] && !strcmp(vals[F_LAYOUT], "paired") ? SYN_PAIRED : SYN_FOLDERS;
	int64_t least = !derm ? 5 : o->layout == SYN_FOLDERS ? 2 * SYN_MRI_CLASSES : 2;
	if (vals[F_COUNT] && parse_u64(vals[F_COUNT], least, 100000000, &v))
		return usage_error("--count %s: not an integer from %lld to 100000000%s", vals[F_COUNT],
		                   (long long)least, !derm ? " (one image per class)" : o->layout == SYN_FOLDERS ?
		                   " (a training and a test image of each of the 7 MRI classes)" :
		                   " (one pair to train, one to test)");
	o->count = vals[F_COUNT] ? (int64_t)v : o->count;
	int lo = derm ? 16 : 4;
	if (vals[F_SIZE] && parse_u64(vals[F_SIZE], lo, 1024, &v))
		return usage_error("--size %s: not an integer from %d to 1024", vals[F_SIZE], lo);
	o->size = vals[F_SIZE] ? (int)v : o->size;
	if (vals[F_SEED] && parse_u64(vals[F_SEED], 0, UINT64_MAX, &o->seed))
		return usage_error("--seed %s: not a non-negative integer", vals[F_SEED]);
	if (vals[F_THREADS] && parse_u64(vals[F_THREADS], 1, 64, &v))
		return usage_error("--threads %s: not an integer from 1 to 64", vals[F_THREADS]);
	o->threads = vals[F_THREADS] ? (int)v : o->threads;
	return 0;
}

/* Dispatch the command; print its one error message. */
int main(int argc, char **argv)
{
	if (argc < 2)
		return usage_error("a command is needed: derm-mri or fashion-pair");
	const char *cmd = argv[1];
	if (!strcmp(cmd, "help") || !strcmp(cmd, "--help") || !strcmp(cmd, "-h")) {
		fputs(usage_text, stdout);
		return 0;
	}
	int derm = !strcmp(cmd, "derm-mri");
	if (!derm && strcmp(cmd, "fashion-pair"))
		return usage_error("unknown command \"%s\" (derm-mri or fashion-pair)", cmd);
	for (int k = 2; k < argc; k++)
		if (!strcmp(argv[k], "--help") || !strcmp(argv[k], "-h")) {
			fputs(usage_text, stdout);
			return 0;
		}
	const char *vals[NFLAGS] = {0};
	unsigned allowed = derm ? (1u << NFLAGS) - 1 : (1u << NFLAGS) - 1 - (1u << F_SEED) - (1u << F_LAYOUT);
	SynOpts o;
	int rc = parse_flags(cmd, allowed, argc - 2, argv + 2, vals);
	if (rc || (rc = make_opts(derm, vals, &o)))
		return rc;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	RtErr e = {0};
	if (derm ? syn_derm_mri(&o, &e) : syn_fashion_pair(&o, &e)) {
		fprintf(stderr, "%s: error: %s\n", prog, e.msg);
		return 1;
	}
	return 0;
}
