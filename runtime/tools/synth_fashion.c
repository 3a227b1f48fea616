/*
** synth_fashion.c -- `lunac-synth fashion-pair`: Fashion-MNIST (the Debian
** package dataset-fashion-mnist) as two datasets with disjoint label sets,
** the way the DRIFA-Net authors pair two unrelated datasets:
**   fa: classes 0-4 (T-shirt/top, Trouser, Pullover, Dress, Coat)
**   fb: classes 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot), relabelled 0-4
** as grey PNG class folders fa/, fb/ (from the training set) and fa_test/,
** fb_test/ (from the test set). A file is named by its index in the IDX
** file it comes from. Resizing is the runtime's img_to_tensor (bilinear,
** area-averaged when shrinking), so a model sees what the loader would make.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "../data.h"
#include "synth.h"

static const char *const fa_classes[5] = {"0_tshirt", "1_trouser", "2_pullover", "3_dress", "4_coat"};
static const char *const fb_classes[5] = {"0_sandal", "1_shirt", "2_sneaker", "3_bag", "4_ankle_boot"};
static const char *const dirs[2][2] = {{"fa", "fa_test"}, {"fb", "fb_test"}};

/* One image to write: from split (0 train, 1 test) index idx, into dataset
** set (0 fa, 1 fb) as class cls. */
typedef struct Item {
	int split, set, cls;
	int64_t idx;
} Item;

/* What the image jobs need. */
typedef struct Fash {
	const SynOpts *o;
	const SynStage *st;
	Dataset ds[2];       /* train, test */
	Item *items;
	int64_t nitems;
} Fash;

/* Append the items of one split: per dataset and class, the first
** quota[cls] samples in file order (all when limit is 0). */
static void select_split(Fash *f, int split, int64_t limit)
{
	const Dataset *ds = &f->ds[split];
	int64_t taken[10] = {0};
	for (int64_t i = 0; i < ds->count; i++) {
		int lab = data_label(ds, 0, i), cls = lab % 5;
		if (lab < 0 || lab > 9)
			continue;
		int64_t quota = limit / 5 + (cls < limit % 5);
		if (limit && taken[lab] >= quota)
			continue;
		taken[lab]++;
		f->items[f->nitems++] = (Item){split, lab / 5, cls, i};
	}
}

/* Job k: write item k, resized to the requested size. */
static int fashion_job(void *ctx, int64_t k, RtErr *e)
{
	const Fash *f = ctx;
	const Item *it = &f->items[k];
	const Dataset *ds = &f->ds[it->split];
	int s = f->o->size, hw = (int)(ds->mod[0].h * ds->mod[0].w);
	Image src = {(int)ds->mod[0].w, (int)ds->mod[0].h, 1, malloc(hw)};
	Image dst = {s, s, 1, malloc((size_t)s * s)};
	float *t = malloc((size_t)s * s * sizeof *t);
	int rc = -1;
	const float *x = data_image(ds, 0, it->idx);
	for (int p = 0; src.px && p < hw; p++)
		src.px[p] = (uint8_t)lrintf(syn_clamp(x[p], 0, 1) * 255.0f);
	if (src.px && dst.px && t && !img_to_tensor(&src, 1, s, s, t)) {
		for (int p = 0; p < s * s; p++)
			dst.px[p] = (uint8_t)lrintf(syn_clamp(t[p], 0, 1) * 255.0f);
		char path[4096];
		snprintf(path, sizeof path, "%s/%s/%s/%05lld.png", f->st->tmp, dirs[it->set][it->split],
		         (it->set ? fb_classes : fa_classes)[it->cls], (long long)it->idx);
		rc = img_write_png(path, &dst, e);
	} else {
		rt_errorf(e, "out of memory");
	}
	free(src.px);
	free(dst.px);
	free(t);
	return rc;
}

/* Create fa/, fa_test/, fb/, fb_test/ and their class folders. */
static int make_dirs(const SynStage *st, RtErr *e)
{
	char rel[128];
	for (int set = 0; set < 2; set++)
		for (int split = 0; split < 2; split++) {
			if (syn_mkdir(st, dirs[set][split], e))
				return -1;
			for (int c = 0; c < 5; c++) {
				snprintf(rel, sizeof rel, "%s/%s", dirs[set][split], (set ? fb_classes : fa_classes)[c]);
				if (syn_mkdir(st, rel, e))
					return -1;
			}
		}
	return 0;
}

/* Read both splits, choose the images, write them into the staging directory. */
static int export(Fash *f, RtErr *e)
{
	if (data_open("fashion-mnist:train", NULL, &f->ds[0], e) ||
	    data_open("fashion-mnist:test", NULL, &f->ds[1], e))
		return -1;
	if (!(f->items = malloc((size_t)(f->ds[0].count + f->ds[1].count) * sizeof *f->items)))
		return rt_errorf(e, "out of memory");
	int64_t n = f->o->count, ntest = n ? llround(n / 6.0) : 0;
	select_split(f, 0, n);
	select_split(f, 1, n && ntest < 5 ? 5 : ntest);
	if (make_dirs(f->st, e))
		return -1;
	return syn_run_jobs(f->nitems, f->o->threads, fashion_job, f, e);
}

/* The fashion-pair command: stage, export, rename into place. */
int syn_fashion_pair(const SynOpts *o, RtErr *e)
{
	SynStage st;
	if (syn_stage_begin(&st, o->out, e))
		return -1;
	Fash f = {.o = o, .st = &st};
	int rc = export(&f, e);
	if (!rc)
		rc = syn_stage_commit(&st, e);
	syn_stage_abort(&st);
	data_free(&f.ds[0]);
	data_free(&f.ds[1]);
	free(f.items);
	return rc;
}
