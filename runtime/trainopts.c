/*
** trainopts.c -- the settings of a training run: defaults (the authors'
** recipe, drifa-net.md section 6), parsing from a flag's value or a
** checkpoint's metadata, and formatting back to text that parses to the
** same value (doubles as %.17g), so a resumed run has exactly the settings
** of the run it continues.
*/
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

static const char *const flags[RT_NSETTINGS] = {
	[RT_SET_DATA] = "data", [RT_SET_VAL_DATA] = "val-data", [RT_SET_VAL_SPLIT] = "val-split",
	[RT_SET_LABEL_TASK] = "label-task", [RT_SET_EPOCHS] = "epochs", [RT_SET_BATCH] = "batch",
	[RT_SET_LR] = "lr", [RT_SET_OPTIMIZER] = "optimizer", [RT_SET_SEED] = "seed",
	[RT_SET_MOMENTUM] = "momentum", [RT_SET_WEIGHT_DECAY] = "weight-decay",
	[RT_SET_CLIP] = "clip", [RT_SET_SCHEDULE] = "schedule",
	[RT_SET_PLATEAU_FACTOR] = "plateau-factor", [RT_SET_PLATEAU_PATIENCE] = "plateau-patience",
	[RT_SET_MIN_LR] = "min-lr", [RT_SET_EARLY_STOP] = "early-stop", [RT_SET_TASK] = "task",
	[RT_SET_NORMALIZE] = "normalize", [RT_SET_AUGMENT] = "augment",
};

static const char *const keys[RT_NSETTINGS] = {
	[RT_SET_DATA] = "train.data", [RT_SET_VAL_DATA] = "train.val_data",
	[RT_SET_VAL_SPLIT] = "train.val_split", [RT_SET_LABEL_TASK] = "train.label_task",
	[RT_SET_EPOCHS] = "train.epochs", [RT_SET_BATCH] = "train.batch", [RT_SET_LR] = "train.lr",
	[RT_SET_OPTIMIZER] = "optimizer", [RT_SET_SEED] = "seed",
	[RT_SET_MOMENTUM] = "train.momentum", [RT_SET_WEIGHT_DECAY] = "train.weight_decay",
	[RT_SET_CLIP] = "train.clip", [RT_SET_SCHEDULE] = "train.schedule",
	[RT_SET_PLATEAU_FACTOR] = "train.plateau_factor",
	[RT_SET_PLATEAU_PATIENCE] = "train.plateau_patience", [RT_SET_MIN_LR] = "train.min_lr",
	[RT_SET_EARLY_STOP] = "train.early_stop", [RT_SET_TASK] = "train.task",
	[RT_SET_NORMALIZE] = "train.normalize", [RT_SET_AUGMENT] = "train.augment",
};

void rt_train_defaults(RtTrainOpts *o)
{
	memset(o, 0, sizeof *o);
	o->val_split = 0.2;
	o->lr = 1e-3;
	o->momentum = 0.9;
	o->plateau_factor = 0.2;
	o->min_lr = 1e-5;
	o->epochs = 200;
	o->batch = 32;
	o->plateau_patience = 5;
	o->early_stop = 100;
	o->optimizer = RT_OPT_ADAM;
	o->schedule = RT_SCHED_PLATEAU;
	o->threads = 1;
}

void rt_train_opts_free(RtTrainOpts *o)
{
	free(o->data);
	free(o->val_data);
	free(o->label_task);
	free(o->task);
	free(o->normalize);
	o->data = o->val_data = o->label_task = o->task = o->normalize = NULL;
}

const char *rt_setting_flag(RtSetting s)
{
	return s < RT_NSETTINGS ? flags[s] : "?";
}

const char *rt_setting_key(RtSetting s)
{
	return s < RT_NSETTINGS ? keys[s] : "?";
}

const char *rt_optimizer_name(RtOptimizer k)
{
	return k == RT_OPT_SGD ? "sgd" : k == RT_OPT_ADAMW ? "adamw" : "adam";
}

const char *rt_schedule_name(RtSchedule k)
{
	return k == RT_SCHED_COSINE ? "cosine" : k == RT_SCHED_PLATEAU ? "plateau" : "none";
}

/* A finite decimal number in [lo, hi] (lo excluded when open_lo) from s. */
static int number(const char *s, double lo, int open_lo, double hi, double *v)
{
	char *end;
	errno = 0;
	double x = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(x) || x < lo || (open_lo && x == lo) || x > hi)
		return -1;
	*v = x;
	return 0;
}

/* A decimal integer in [lo, hi] from s. */
static int integer(const char *s, uint64_t lo, uint64_t hi, uint64_t *v)
{
	if (*s < '0' || *s > '9')
		return -1;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 10);
	if (*end || errno || x < lo || x > hi)
		return -1;
	*v = x;
	return 0;
}

/* Replace *dst by a copy of s ("" stores NULL when empty_null). */
static int setstr(char **dst, const char *s, int empty_null, RtErr *e)
{
	char *c = empty_null && !*s ? NULL : strdup(s);
	if (*s && !c)
		return rt_errorf(e, "out of memory");
	free(*dst);
	*dst = c;
	return 0;
}

/* The strings and enums of rt_setting_parse; 1 when s is not one of them. */
static int parse_text(RtTrainOpts *o, RtSetting s, const char *t, int cli, RtErr *e)
{
	const char *f = flags[s];
	if (strlen(t) >= RT_SETTING_MAX)
		return rt_errorf(e, "--%s: the value is longer than %d bytes", f, RT_SETTING_MAX - 1);
	switch (s) {
	case RT_SET_DATA:
		if (!*t)
			return rt_errorf(e, "--%s: the data spec is empty", f);
		return setstr(&o->data, t, 0, e);
	case RT_SET_VAL_DATA:
	case RT_SET_LABEL_TASK:
	case RT_SET_TASK:
		if (cli && !*t)
			return rt_errorf(e, "--%s: the value is empty", f);
		return setstr(s == RT_SET_VAL_DATA ? &o->val_data : s == RT_SET_TASK ? &o->task
		              : &o->label_task, t, 1, e);
	case RT_SET_NORMALIZE: {
		DataNorm n;
		if (data_norm_parse(t, f, &n, e))
			return -1;
		return setstr(&o->normalize, t, 1, e);
	}
	case RT_SET_AUGMENT:
		if (!cli && !*t)
			t = "none";   /* an older checkpoint */
		if (data_augment_parse(t, &o->augment))
			return rt_errorf(e, "--%s %s: unknown augmentation (none, authors, flips or all)", f, t);
		return 0;
	case RT_SET_OPTIMIZER:
		if (!strcmp(t, "adam") || !strcmp(t, "adamw") || !strcmp(t, "sgd")) {
			o->optimizer = t[0] == 's' ? RT_OPT_SGD : t[4] == 'w' ? RT_OPT_ADAMW : RT_OPT_ADAM;
			return 0;
		}
		return rt_errorf(e, "--%s %s: unknown optimizer (adam, adamw or sgd)", f, t);
	case RT_SET_SCHEDULE:
		if (!strcmp(t, "none") || !strcmp(t, "plateau") || !strcmp(t, "cosine")) {
			o->schedule = t[0] == 'n' ? RT_SCHED_NONE : t[0] == 'p' ? RT_SCHED_PLATEAU
			              : RT_SCHED_COSINE;
			return 0;
		}
		return rt_errorf(e, "--%s %s: unknown schedule (none, plateau or cosine)", f, t);
	default:
		return 1;
	}
}

/* The numbers of rt_setting_parse. */
static int parse_number(RtTrainOpts *o, RtSetting s, const char *t, RtErr *e)
{
	const char *f = flags[s];
	uint64_t u;
	double d;
	switch (s) {
#define INT(lo, hi, dst, what) \
	if (integer(t, lo, hi, &u)) \
		return rt_errorf(e, "--%s %s: not %s", f, t, what); \
	dst = u; \
	return 0;
#define NUM(lo, open, hi, dst, what) \
	if (number(t, lo, open, hi, &d)) \
		return rt_errorf(e, "--%s %s: not %s", f, t, what); \
	dst = d; \
	return 0;
	case RT_SET_EPOCHS: INT(1, 1000000000, o->epochs, "an integer from 1 to 10^9")
	case RT_SET_BATCH: INT(1, 1 << 30, o->batch, "a positive integer")
	case RT_SET_SEED: INT(0, UINT64_MAX, o->seed, "a non-negative integer")
	case RT_SET_PLATEAU_PATIENCE: INT(0, 1000000000, o->plateau_patience, "a non-negative integer")
	case RT_SET_EARLY_STOP: INT(0, 1000000000, o->early_stop, "a non-negative integer (0: off)")
	case RT_SET_VAL_SPLIT: NUM(0, 0, 0.99, o->val_split, "a fraction from 0 to 0.99")
	case RT_SET_LR: NUM(0, 1, 1e6, o->lr, "a positive number")
	case RT_SET_MOMENTUM: NUM(0, 0, 0.999999, o->momentum, "a number in [0, 1)")
	case RT_SET_WEIGHT_DECAY: NUM(0, 0, 1e6, o->weight_decay, "a non-negative number")
	case RT_SET_CLIP: NUM(0, 0, 1e30, o->clip, "a non-negative number (0: off)")
	case RT_SET_PLATEAU_FACTOR: NUM(0, 1, 0.999999, o->plateau_factor, "a number in (0, 1)")
	case RT_SET_MIN_LR: NUM(0, 0, 1e6, o->min_lr, "a non-negative number")
#undef INT
#undef NUM
	default:
		return rt_errorf(e, "internal error: unknown setting %d", (int)s);
	}
}

int rt_setting_parse(RtTrainOpts *o, RtSetting s, const char *text, int from_cli, RtErr *e)
{
	if (s >= RT_NSETTINGS)
		return rt_errorf(e, "internal error: unknown setting %d", (int)s);
	int rc = parse_text(o, s, text, from_cli, e);
	if (rc == 1)
		rc = parse_number(o, s, text, e);
	if (!rc && from_cli)
		o->given |= 1u << s;
	return rc;
}

void rt_setting_format(const RtTrainOpts *o, RtSetting s, char *buf, size_t len)
{
	switch (s) {
	case RT_SET_DATA: snprintf(buf, len, "%s", o->data ? o->data : ""); break;
	case RT_SET_VAL_DATA: snprintf(buf, len, "%s", o->val_data ? o->val_data : ""); break;
	case RT_SET_LABEL_TASK: snprintf(buf, len, "%s", o->label_task ? o->label_task : ""); break;
	case RT_SET_TASK: snprintf(buf, len, "%s", o->task ? o->task : ""); break;
	case RT_SET_NORMALIZE: snprintf(buf, len, "%s", o->normalize ? o->normalize : ""); break;
	case RT_SET_AUGMENT: snprintf(buf, len, "%s", data_augment_name(o->augment)); break;
	case RT_SET_OPTIMIZER: snprintf(buf, len, "%s", rt_optimizer_name(o->optimizer)); break;
	case RT_SET_SCHEDULE: snprintf(buf, len, "%s", rt_schedule_name(o->schedule)); break;
	case RT_SET_EPOCHS: snprintf(buf, len, "%lld", (long long)o->epochs); break;
	case RT_SET_BATCH: snprintf(buf, len, "%lld", (long long)o->batch); break;
	case RT_SET_SEED: snprintf(buf, len, "%llu", (unsigned long long)o->seed); break;
	case RT_SET_PLATEAU_PATIENCE: snprintf(buf, len, "%lld", (long long)o->plateau_patience); break;
	case RT_SET_EARLY_STOP: snprintf(buf, len, "%lld", (long long)o->early_stop); break;
	case RT_SET_VAL_SPLIT: snprintf(buf, len, "%.17g", o->val_split); break;
	case RT_SET_LR: snprintf(buf, len, "%.17g", o->lr); break;
	case RT_SET_MOMENTUM: snprintf(buf, len, "%.17g", o->momentum); break;
	case RT_SET_WEIGHT_DECAY: snprintf(buf, len, "%.17g", o->weight_decay); break;
	case RT_SET_CLIP: snprintf(buf, len, "%.17g", o->clip); break;
	case RT_SET_PLATEAU_FACTOR: snprintf(buf, len, "%.17g", o->plateau_factor); break;
	case RT_SET_MIN_LR: snprintf(buf, len, "%.17g", o->min_lr); break;
	default: snprintf(buf, len, "%s", ""); break;
	}
}

void rt_train_state_init(RtTrainState *st, const RtTrainOpts *o)
{
	memset(st, 0, sizeof *st);
	st->best_loss = INFINITY;
	st->lr = o->schedule == RT_SCHED_COSINE ? rt_sched_cosine(o->lr, o->min_lr, 0, o->epochs)
	                                        : o->lr;
}
