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

/* A value a run keeps: a setting (flag and checkpoint key) or a counter of
** its state (a checkpoint key only), and for a number the rule it must meet:
** an integer in [ilo, ihi], or a finite number in [lo, hi] (lo excluded
** when open_lo; +infinity allowed when inf_ok). This one table is what both
** the flag parser and the checkpoint reader check numbers against. */
typedef struct Value {
	const char *flag, *key;
	enum { TEXT, INT, NUM } kind;
	uint64_t ilo, ihi;
	double lo, hi;
	int open_lo, inf_ok;
	const char *what;
} Value;

#define S_TEXT(flag, key) {flag, key, TEXT, 0, 0, 0, 0, 0, 0, NULL}
#define S_INT(flag, key, lo, hi, what) {flag, key, INT, lo, hi, 0, 0, 0, 0, what}
#define S_NUM(flag, key, lo, open, hi, what) {flag, key, NUM, 0, 0, lo, hi, open, 0, what}
static const Value values[RT_NSETTINGS + RT_NSTATE] = {
	[RT_SET_DATA] = S_TEXT("data", "train.data"),
	[RT_SET_VAL_DATA] = S_TEXT("val-data", "train.val_data"),
	[RT_SET_VAL_SPLIT] = S_NUM("val-split", "train.val_split", 0, 0, 0.99, "a fraction from 0 to 0.99"),
	[RT_SET_LABEL_TASK] = S_TEXT("label-task", "train.label_task"),
	[RT_SET_EPOCHS] = S_INT("epochs", "train.epochs", 1, 1000000000, "an integer from 1 to 10^9"),
	[RT_SET_BATCH] = S_INT("batch", "train.batch", 1, 1 << 30, "a positive integer"),
	[RT_SET_LR] = S_NUM("lr", "train.lr", 0, 1, 1e6, "a positive number"),
	[RT_SET_OPTIMIZER] = S_TEXT("optimizer", "optimizer"),
	[RT_SET_SEED] = S_INT("seed", "seed", 0, UINT64_MAX, "a non-negative integer"),
	[RT_SET_MOMENTUM] = S_NUM("momentum", "train.momentum", 0, 0, 0.999999, "a number in [0, 1)"),
	[RT_SET_WEIGHT_DECAY] = S_NUM("weight-decay", "train.weight_decay", 0, 0, 1e6,
	                              "a non-negative number"),
	[RT_SET_CLIP] = S_NUM("clip", "train.clip", 0, 0, 1e30, "a non-negative number (0: off)"),
	[RT_SET_SCHEDULE] = S_TEXT("schedule", "train.schedule"),
	[RT_SET_PLATEAU_FACTOR] = S_NUM("plateau-factor", "train.plateau_factor", 0, 1, 0.999999,
	                                "a number in (0, 1)"),
	[RT_SET_PLATEAU_PATIENCE] = S_INT("plateau-patience", "train.plateau_patience", 0, 1000000000,
	                                  "a non-negative integer"),
	[RT_SET_MIN_LR] = S_NUM("min-lr", "train.min_lr", 0, 0, 1e6, "a non-negative number"),
	[RT_SET_EARLY_STOP] = S_INT("early-stop", "train.early_stop", 0, 1000000000,
	                            "a non-negative integer (0: off)"),
	[RT_SET_TASK] = S_TEXT("task", "train.task"),
	[RT_SET_NORMALIZE] = S_TEXT("normalize", "train.normalize"),
	[RT_SET_AUGMENT] = S_TEXT("augment", "train.augment"),
	[RT_SET_RESIZE] = S_TEXT("resize", "train.resize"),
	[RT_SET_MIN_DELTA] = S_NUM("min-delta", "train.min_delta", 0, 0, 1, "a number from 0 to 1"),
	/* the state: epochs and steps done, the next epoch's lr (from min-lr to lr), the best
	** monitored loss (+inf: none yet), and the patience counters (at most the epochs) */
	[RT_NSETTINGS + RT_STATE_EPOCH] = S_INT(NULL, "epoch", 0, 1000000000,
	                                        "an integer from 0 to 10^9"),
	[RT_NSETTINGS + RT_STATE_STEP] = S_INT(NULL, "step", 0, 1ull << 62,
	                                       "an integer from 0 to 2^62"),
	[RT_NSETTINGS + RT_STATE_LR] = S_NUM(NULL, "lr", 0, 0, 1e6, "a non-negative number"),
	[RT_NSETTINGS + RT_STATE_BEST_LOSS] = {NULL, "best_val_loss", NUM, 0, 0, -1e300, INFINITY, 0,
	                                       1, "a number or inf"},
	[RT_NSETTINGS + RT_STATE_BEST_EPOCH] = S_INT(NULL, "best_epoch", 0, 1000000000,
	                                             "a non-negative integer"),
	[RT_NSETTINGS + RT_STATE_PLATEAU_WAIT] = S_INT(NULL, "plateau_wait", 0, 1000000000,
	                                               "a non-negative integer"),
	[RT_NSETTINGS + RT_STATE_EARLY_STOP_WAIT] = S_INT(NULL, "early_stop_wait", 0, 1000000000,
	                                                  "a non-negative integer"),
};
#undef S_TEXT
#undef S_INT
#undef S_NUM

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
	o->min_delta = RT_MIN_DELTA;
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
	return s < RT_NSETTINGS ? values[s].flag : "?";
}

const char *rt_setting_key(RtSetting s)
{
	return s < RT_NSETTINGS ? values[s].key : "?";
}

const char *rt_state_key(RtStateKey k)
{
	return k < RT_NSTATE ? values[RT_NSETTINGS + k].key : "?";
}

const char *rt_optimizer_name(RtOptimizer k)
{
	return k == RT_OPT_SGD ? "sgd" : k == RT_OPT_ADAMW ? "adamw" : "adam";
}

const char *rt_schedule_name(RtSchedule k)
{
	return k == RT_SCHED_COSINE ? "cosine" : k == RT_SCHED_PLATEAU ? "plateau" : "none";
}

/* A finite decimal number in [lo, hi] (lo excluded when open_lo; +inf
** allowed when inf_ok) from s. */
static int number(const char *s, double lo, int open_lo, double hi, int inf_ok, double *v)
{
	char *end;
	errno = 0;
	double x = strtod(s, &end);
	int inf = inf_ok && isinf(x) && x > 0;
	if (!*s || *end || (errno && !inf) || (!isfinite(x) && !inf) || x < lo ||
	    (open_lo && x == lo) || x > hi)
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

/* Text as the number v says (*u for an integer, *d for a number); -1 when
** it breaks v's rule. */
static int check_value(const Value *v, const char *text, uint64_t *u, double *d)
{
	if (v->kind == INT)
		return integer(text, v->ilo, v->ihi, u);
	return number(text, v->lo, v->open_lo, v->hi, v->inf_ok, d);
}

int rt_state_parse(RtStateKey k, const char *text, uint64_t *u, double *d, RtErr *e)
{
	if (k >= RT_NSTATE)
		return rt_errorf(e, "internal error: unknown state value %d", (int)k);
	const Value *v = &values[RT_NSETTINGS + k];
	*u = 0, *d = 0;
	if (!text)
		return rt_errorf(e, "metadata \"%s\" is missing", v->key);
	if (check_value(v, text, u, d))
		return rt_errorf(e, "metadata \"%s\" is %s, not %s", v->key, text, v->what);
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
	const char *f = values[s].flag;
	if (values[s].kind != TEXT)
		return 1;
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
	case RT_SET_RESIZE:
		if (!cli && !*t)
			t = "area";   /* an older checkpoint */
		if (img_filter_parse(t, &o->resize))
			return rt_errorf(e, "--%s %s: unknown filter (area or bilinear)", f, t);
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

/* The numbers of rt_setting_parse, checked against the table. */
static int parse_number(RtTrainOpts *o, RtSetting s, const char *t, RtErr *e)
{
	const Value *v = &values[s];
	uint64_t u = 0;
	double d = 0;
	if (check_value(v, t, &u, &d))
		return rt_errorf(e, "--%s %s: not %s", v->flag, t, v->what);
	switch (s) {
	case RT_SET_EPOCHS: o->epochs = (int64_t)u; break;
	case RT_SET_BATCH: o->batch = (int64_t)u; break;
	case RT_SET_SEED: o->seed = u; break;
	case RT_SET_PLATEAU_PATIENCE: o->plateau_patience = (int64_t)u; break;
	case RT_SET_EARLY_STOP: o->early_stop = (int64_t)u; break;
	case RT_SET_VAL_SPLIT: o->val_split = d; break;
	case RT_SET_LR: o->lr = d; break;
	case RT_SET_MOMENTUM: o->momentum = d; break;
	case RT_SET_WEIGHT_DECAY: o->weight_decay = d; break;
	case RT_SET_CLIP: o->clip = d; break;
	case RT_SET_PLATEAU_FACTOR: o->plateau_factor = d; break;
	case RT_SET_MIN_LR: o->min_lr = d; break;
	case RT_SET_MIN_DELTA: o->min_delta = d; break;
	default: return rt_errorf(e, "internal error: unknown setting %d", (int)s);
	}
	return 0;
}

int rt_setting_parse(RtTrainOpts *o, RtSetting s, const char *text, int from_cli, RtErr *e)
{
	if (s >= RT_NSETTINGS)
		return rt_errorf(e, "internal error: unknown setting %d", (int)s);
	if (s == RT_SET_MIN_DELTA && !from_cli && !*text)
		text = "0";   /* a checkpoint from before --min-delta: its runs compared strictly */
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
	case RT_SET_RESIZE: snprintf(buf, len, "%s", img_filter_name(o->resize)); break;
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
	case RT_SET_MIN_DELTA: snprintf(buf, len, "%.17g", o->min_delta); break;
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
