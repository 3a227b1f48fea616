/*
** checkpoint.c -- a training checkpoint: a safetensors file holding the
** model's params and buffers (so it is also a weights file), the optimizer
** state the run's optimizer uses, and in __metadata__ everything a resumed
** run needs to continue bit for bit:
**
**   format=lunac-checkpoint, model, spec_hash, compiler,
**   epoch, step, lr, best_val_loss, best_epoch, plateau_wait, early_stop_wait,
**   seed, optimizer, train.<setting> for the other settings (trainopts.c)
**
** Numbers are decimal text that reads back to the same value (%.17g). No
** time or path of the run directory is stored, so the same run writes the
** same bytes.
*/
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "train.h"

#define FORMAT "lunac-checkpoint"
#define NSTATE 7
#define MAXMETA (4 + NSTATE + RT_NSETTINGS)   /* and one "classes.<task>" per task */

/* Settings a resumed run may change: the data may have moved, the run may
** be extended or its patience changed. Every other one is the run's. */
static int may_change(RtSetting s)
{
	return s == RT_SET_DATA || s == RT_SET_VAL_DATA || s == RT_SET_EPOCHS ||
	       s == RT_SET_EARLY_STOP;
}

int rt_state_used(const char *name, RtOptimizer k)
{
	if (!strncmp(name, "opt.m.", 6))
		return k != RT_OPT_SGD;
	return 1;
}

/* Whether params[i] goes into a checkpoint for optimizer k. */
static int saved(const RtTensor *p, RtOptimizer k)
{
	return p->kind != RT_STATE || rt_state_used(p->name, k);
}

int rt_ckpt_save(const RtModel *m, const char *arena, const char *path, const RtTrainOpts *o,
                 const RtTrainState *st, RtErr *e)
{
	char num[NSTATE][32], (*set)[RT_SETTING_MAX] = malloc(RT_NSETTINGS * sizeof *set);
	const char **meta = malloc(sizeof *meta * 2 * (size_t)(MAXMETA + m->ntasks));
	char **ckeys = calloc((size_t)m->ntasks + 1, sizeof *ckeys);
	int k = 0;
	if (!set || !meta || !ckeys) {
		free(set);
		free(meta);
		free(ckeys);
		return rt_errorf(e, "out of memory");
	}
#define META(key, val) (meta[2 * k] = (key), meta[2 * k + 1] = (val), k++)
	META("format", FORMAT), META("model", m->name), META("spec_hash", m->spec_hash);
	META("compiler", m->compiler);
	snprintf(num[0], 32, "%lld", (long long)st->epoch), META("epoch", num[0]);
	snprintf(num[1], 32, "%llu", (unsigned long long)st->step), META("step", num[1]);
	snprintf(num[2], 32, "%.17g", st->lr), META("lr", num[2]);
	snprintf(num[3], 32, "%.17g", st->best_loss), META("best_val_loss", num[3]);
	snprintf(num[4], 32, "%lld", (long long)st->best_epoch), META("best_epoch", num[4]);
	snprintf(num[5], 32, "%lld", (long long)st->plateau_wait), META("plateau_wait", num[5]);
	snprintf(num[6], 32, "%lld", (long long)st->early_stop_wait), META("early_stop_wait", num[6]);
	for (int s = 0; s < RT_NSETTINGS; s++) {
		rt_setting_format(o, (RtSetting)s, set[s], sizeof set[s]);
		META(rt_setting_key((RtSetting)s), set[s]);
	}
	for (int t = 0; o->classes && t < m->ntasks; t++) {
		size_t n = strlen(m->tasks[t].name) + 9;
		if (o->classes[t] && (ckeys[t] = malloc(n))) {
			snprintf(ckeys[t], n, "classes.%s", m->tasks[t].name);
			META(ckeys[t], o->classes[t]);
		}
	}
#undef META
	StOut *t = calloc(m->nparams + 1, sizeof *t);
	int rc = -1;
	if (!t) {
		rt_errorf(e, "out of memory");
		goto out;
	}
	int nt = 0;
	for (int i = 0; i < m->nparams; i++) {
		const RtTensor *p = &m->params[i];
		if (saved(p, o->optimizer))
			t[nt++] = (StOut){p->name, ST_F32, p->ndim, p->shape,
			                  rt_tensor_addr(m, p, (char *)arena, 0)};
	}
	rc = st_write(path, meta, k, t, nt, e);
out:
	for (int i = 0; i < m->ntasks; i++)
		free(ckeys[i]);
	free(ckeys);
	free(meta);
	free(t);
	free(set);
	return rc;
}

/* Metadata key as a decimal integer in [0, hi]. */
static int meta_int(const StFile *f, const char *key, uint64_t hi, uint64_t *v, RtErr *e)
{
	const char *s = st_meta(f, key);
	char *end;
	errno = 0;
	unsigned long long x = s && *s >= '0' && *s <= '9' ? strtoull(s, &end, 10) : 0;
	if (!s || *s < '0' || *s > '9' || *end || errno || x > hi)
		return rt_errorf(e, "checkpoint %s: metadata \"%s\" is missing or not an integer",
		                 f->path, key);
	*v = x;
	return 0;
}

/* Metadata key as a number (inf allowed when inf_ok). */
static int meta_num(const StFile *f, const char *key, int inf_ok, double *v, RtErr *e)
{
	const char *s = st_meta(f, key);
	char *end = NULL;
	double x = s ? strtod(s, &end) : NAN;
	if (!s || !*s || *end || isnan(x) || (!inf_ok && isinf(x)))
		return rt_errorf(e, "checkpoint %s: metadata \"%s\" is missing or not a number",
		                 f->path, key);
	*v = x;
	return 0;
}

/* The run's counters. */
static int read_state(const StFile *f, RtTrainState *st, RtErr *e)
{
	uint64_t ep, step, be, pw, ew, big = 1ull << 62;
	if (meta_int(f, "epoch", big, &ep, e) || meta_int(f, "step", UINT64_MAX, &step, e) ||
	    meta_num(f, "lr", 0, &st->lr, e) || meta_num(f, "best_val_loss", 1, &st->best_loss, e) ||
	    meta_int(f, "best_epoch", big, &be, e) || meta_int(f, "plateau_wait", big, &pw, e) ||
	    meta_int(f, "early_stop_wait", big, &ew, e))
		return -1;
	st->epoch = (int64_t)ep;
	st->step = step;
	st->best_epoch = (int64_t)be;
	st->plateau_wait = (int64_t)pw;
	st->early_stop_wait = (int64_t)ew;
	return 0;
}

/* Settings: stored ones fill o where the command line gave none; a given
** one that would change the run must equal the stored one. */
static int read_settings(const StFile *f, RtTrainOpts *o, RtErr *e)
{
	for (int s = 0; s < RT_NSETTINGS; s++) {
		const char *key = rt_setting_key((RtSetting)s), *text = st_meta(f, key);
		if (!text && s >= RT_SET_FIRST_OPTIONAL)
			text = "";   /* an older checkpoint: the default */
		if (!text)
			return rt_errorf(e, "checkpoint %s: metadata \"%s\" is missing", f->path, key);
		RtTrainOpts stored;
		rt_train_defaults(&stored);
		RtErr sub = {0};
		if (rt_setting_parse(&stored, (RtSetting)s, text, 0, &sub)) {
			rt_train_opts_free(&stored);
			return rt_errorf(e, "checkpoint %s: metadata \"%s\": %s", f->path, key, sub.msg);
		}
		int rc = 0;
		if (!(o->given & (1u << s))) {
			rc = rt_setting_parse(o, (RtSetting)s, text, 0, e);
		} else if (!may_change((RtSetting)s)) {
			char a[RT_SETTING_MAX], b[RT_SETTING_MAX];
			rt_setting_format(o, (RtSetting)s, a, sizeof a);
			rt_setting_format(&stored, (RtSetting)s, b, sizeof b);
			if (strcmp(a, b))
				rc = rt_errorf(e, "--%s %s differs from the checkpoint's %s (%s): a resumed run "
				               "keeps its settings; leave the flag out or start a new run",
				               rt_setting_flag((RtSetting)s), a, b[0] ? b : "unset", f->path);
		}
		rt_train_opts_free(&stored);
		if (rc)
			return -1;
	}
	return 0;
}

int rt_ckpt_read_meta(const RtModel *m, const StFile *f, RtTrainOpts *o, RtTrainState *st,
                      RtErr *e)
{
	const char *fmt = st_meta(f, "format"), *hash = st_meta(f, "spec_hash");
	if (!fmt || strcmp(fmt, FORMAT))
		return rt_errorf(e, "%s is not a training checkpoint (no run state in its metadata); "
		                 "to start a new run from its weights use --weights %s", f->path, f->path);
	if (!hash || strcmp(hash, m->spec_hash))
		return rt_errorf(e, "checkpoint %s was written by a different model (spec hash %s, "
		                 "this model %s)", f->path, hash ? hash : "none", m->spec_hash);
	memset(st, 0, sizeof *st);
	return read_state(f, st, e) || read_settings(f, o, e) ? -1 : 0;
}

/* Every tensor f holds is one of the model's. */
static int no_strangers(const RtModel *m, const StFile *f, RtErr *e)
{
	for (int k = 0; k < f->nt; k++)
		if (rt_model_param(m, f->t[k].name) < 0)
			return rt_errorf(e, "checkpoint %s: tensor \"%s\" is not a parameter, buffer or "
			                 "optimizer state of model \"%s\"", f->path, f->t[k].name, m->name);
	return 0;
}

int rt_ckpt_read_tensors(const RtModel *m, const StFile *f, const RtTrainOpts *o, char *arena,
                         RtErr *e)
{
	if (no_strangers(m, f, e))
		return -1;
	for (int i = 0; i < m->nparams; i++) {
		const RtTensor *p = &m->params[i];
		if (!saved(p, o->optimizer))
			continue;
		int k = st_find(f, p->name);
		if (k < 0 && p->kind == RT_STATE)
			return rt_errorf(e, "checkpoint %s lacks the optimizer state \"%s\" that %s needs",
			                 f->path, p->name, rt_optimizer_name(o->optimizer));
		if (k < 0)
			return rt_errorf(e, "checkpoint %s: tensor \"%s\" is missing", f->path, p->name);
		if (rt_weights_check_tensor(f, k, p, e) ||
		    st_read(f, k, rt_tensor_addr(m, p, arena, 0), e))
			return -1;
	}
	return 0;
}
