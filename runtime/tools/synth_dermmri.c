/*
** synth_dermmri.c -- `lunac-synth derm-mri`: the two synthetic modalities
** written as class folders (two unpaired datasets, the DRIFA-Net authors'
** way) or as truly paired samples listed in CSV files.
**
** Sample i of a modality with K classes has class i mod K; its image depends
** only on (seed, modality, i). folders: each class's samples, in order,
** split 80/20 (the last fifth, at least one, goes to the test split);
** paired: samples 0 .. count-test-1 train, the rest test, with
** task1 = i mod 5 (derm) and task2 = i mod 7 (mri), independent labels.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "synth.h"

/* One modality: its name, classes and drawing function. */
typedef struct Modality {
	const char *name;
	int nclasses, channels;
	const char *const *classes;
	void (*draw)(uint64_t seed, uint64_t sample, int cls, Canvas *cv);
} Modality;

static const Modality mods[2] = {
	{"derm", SYN_DERM_CLASSES, 3, syn_derm_classes, syn_derm},
	{"mri", SYN_MRI_CLASSES, 1, syn_mri_classes, syn_mri},
};

/* What the image jobs need. */
typedef struct Gen {
	const SynOpts *o;
	const SynStage *st;
} Gen;

/* Test samples of a split of n: a fifth, rounded, at least one when n >= 2. */
static int64_t test_count(int64_t n)
{
	int64_t t = (n + 2) / 5;
	return t == 0 && n >= 2 ? 1 : t;
}

/* folders layout: whether sample i of a K-class modality is a test sample. */
static int is_test(int64_t i, int64_t count, int K)
{
	int64_t cls = i % K, n = count / K + (cls < count % K), j = i / K;
	return j >= n - test_count(n);
}

/* The image path of sample i of modality m, relative to the dataset root. */
static void rel_path(const Gen *g, const Modality *m, int64_t i, char *buf, size_t len)
{
	if (g->o->layout == SYN_PAIRED)
		snprintf(buf, len, "%s/%05lld.png", m->name, (long long)i);
	else
		snprintf(buf, len, "%s%s/%s/%05lld.png", m->name,
		         is_test(i, g->o->count, m->nclasses) ? "_test" : "",
		         m->classes[i % m->nclasses], (long long)i);
}

/* Job k: draw and write sample k of derm (k < count) or k - count of mri. */
static int image_job(void *ctx, int64_t k, RtErr *e)
{
	const Gen *g = ctx;
	const Modality *m = &mods[k >= g->o->count];
	int64_t i = k % g->o->count;
	char rel[256], path[4096];
	rel_path(g, m, i, rel, sizeof rel);
	snprintf(path, sizeof path, "%s/%s", g->st->tmp, rel);
	Canvas cv;
	if (syn_canvas_new(&cv, g->o->size, m->channels, e))
		return -1;
	m->draw(g->o->seed, (uint64_t)i, (int)(i % m->nclasses), &cv);
	int rc = syn_canvas_write(&cv, path, e);
	syn_canvas_free(&cv);
	return rc;
}

/* The directories of the folders layout: MOD/CLASS and MOD_test/CLASS. */
static int make_folders(const SynStage *st, RtErr *e)
{
	char rel[256];
	for (int m = 0; m < 2; m++)
		for (int t = 0; t < 2; t++) {
			snprintf(rel, sizeof rel, "%s%s", mods[m].name, t ? "_test" : "");
			if (syn_mkdir(st, rel, e))
				return -1;
			for (int c = 0; c < mods[m].nclasses; c++) {
				snprintf(rel, sizeof rel, "%s%s/%s", mods[m].name, t ? "_test" : "",
				         mods[m].classes[c]);
				if (syn_mkdir(st, rel, e))
					return -1;
			}
		}
	return 0;
}

/* Write name (paired.csv or paired_test.csv) listing samples [lo, hi). */
static int write_csv(const Gen *g, const char *name, int64_t lo, int64_t hi, RtErr *e)
{
	char path[4096], line[600], a[256], b[256];
	snprintf(path, sizeof path, "%s/%s", g->st->tmp, name);
	RtOut out;
	if (rt_out_open(&out, path, e))
		return -1;
	const char *head = "derm,mri,task1,task2\n";
	int rc = rt_out_write(&out, head, strlen(head), e);
	for (int64_t i = lo; i < hi && !rc; i++) {
		rel_path(g, &mods[0], i, a, sizeof a);
		rel_path(g, &mods[1], i, b, sizeof b);
		int n = snprintf(line, sizeof line, "%s,%s,%d,%d\n", a, b, (int)(i % SYN_DERM_CLASSES),
		                 (int)(i % SYN_MRI_CLASSES));
		rc = rt_out_write(&out, line, (size_t)n, e);
	}
	if (rc || rt_out_commit(&out, e)) {
		rt_out_abort(&out);
		return -1;
	}
	return 0;
}

/* Lay out the directories, draw every image, write the CSVs (paired). */
static int generate(Gen *g, RtErr *e)
{
	const SynOpts *o = g->o;
	if (o->layout == SYN_FOLDERS ? make_folders(g->st, e)
	    : syn_mkdir(g->st, "derm", e) || syn_mkdir(g->st, "mri", e))
		return -1;
	if (syn_run_jobs(2 * o->count, o->threads, image_job, g, e))
		return -1;
	if (o->layout == SYN_PAIRED) {
		int64_t ntrain = o->count - test_count(o->count);
		if (write_csv(g, "paired.csv", 0, ntrain, e) ||
		    write_csv(g, "paired_test.csv", ntrain, o->count, e))
			return -1;
	}
	return 0;
}

/* The derm-mri command: stage, generate, rename into place. */
int syn_derm_mri(const SynOpts *o, RtErr *e)
{
	SynStage st;
	if (syn_stage_begin(&st, o->out, e))
		return -1;
	Gen g = {o, &st};
	int rc = generate(&g, e);
	if (!rc)
		rc = syn_stage_commit(&st, e);
	syn_stage_abort(&st);
	return rc;
}
