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
#define MAXMETA (4 + RT_NSTATE + RT_NSETTINGS)   /* and one "classes.<task>" per task */

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
	char num[RT_NSTATE][32], (*set)[RT_SETTING_MAX] = malloc(RT_NSETTINGS * sizeof *set);
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
	snprintf(num[RT_STATE_EPOCH], 32, "%lld", (long long)st->epoch);
	snprintf(num[RT_STATE_STEP], 32, "%llu", (unsigned long long)st->step);
	snprintf(num[RT_STATE_LR], 32, "%.17g", st->lr);
	snprintf(num[RT_STATE_BEST_LOSS], 32, "%.17g", st->best_loss);
	snprintf(num[RT_STATE_BEST_EPOCH], 32, "%lld", (long long)st->best_epoch);
	snprintf(num[RT_STATE_PLATEAU_WAIT], 32, "%lld", (long long)st->plateau_wait);
	snprintf(num[RT_STATE_EARLY_STOP_WAIT], 32, "%lld", (long long)st->early_stop_wait);
	for (int q = 0; q < RT_NSTATE; q++)
		META(rt_state_key((RtStateKey)q), num[q]);
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

/* The run's counters, each checked against its range (trainopts.c). */
static int read_state(const StFile *f, RtTrainState *st, RtErr *e)
{
	for (int k = 0; k < RT_NSTATE; k++) {
		uint64_t u;
		double d;
		RtErr sub = {0};
		if (rt_state_parse((RtStateKey)k, st_meta(f, rt_state_key((RtStateKey)k)), &u, &d, &sub))
			return rt_errorf(e, "checkpoint %s: %s", f->path, sub.msg);
		switch ((RtStateKey)k) {
		case RT_STATE_EPOCH: st->epoch = (int64_t)u; break;
		case RT_STATE_STEP: st->step = u; break;
		case RT_STATE_LR: st->lr = d; break;
		case RT_STATE_BEST_LOSS: st->best_loss = d; break;
		case RT_STATE_BEST_EPOCH: st->best_epoch = (int64_t)u; break;
		case RT_STATE_PLATEAU_WAIT: st->plateau_wait = (int64_t)u; break;
		case RT_STATE_EARLY_STOP_WAIT: st->early_stop_wait = (int64_t)u; break;
		default: break;
		}
	}
	return 0;
}

/* The counters agree with each other and with the settings: the best epoch
** and the patience counters are at most the epochs done, a best loss goes
** with a best epoch, and the lr lies between --lr and --min-lr (where the
** schedules keep it). */
static int check_state(const StFile *f, const RtTrainOpts *o, const RtTrainState *st, RtErr *e)
{
	const char *bad = NULL;
	if (st->best_epoch > st->epoch)
		bad = "best_epoch";
	else if (st->plateau_wait > st->epoch)
		bad = "plateau_wait";
	else if (st->early_stop_wait > st->epoch)
		bad = "early_stop_wait";
	if (bad)
		return rt_errorf(e, "checkpoint %s: metadata \"%s\" is %lld, more than the %lld epochs "
		                 "done", f->path, bad, (long long)(bad[0] == 'b' ? st->best_epoch
		                 : bad[0] == 'p' ? st->plateau_wait : st->early_stop_wait),
		                 (long long)st->epoch);
	if ((st->best_epoch == 0) != isinf(st->best_loss))
		return rt_errorf(e, "checkpoint %s: metadata \"best_val_loss\" %g and \"best_epoch\" "
		                 "%lld disagree", f->path, st->best_loss, (long long)st->best_epoch);
	double lo = fmin(o->lr, o->min_lr), hi = fmax(o->lr, o->min_lr), tol = 1e-9 * hi;
	if (st->lr < lo - tol || st->lr > hi + tol)
		return rt_errorf(e, "checkpoint %s: metadata \"lr\" is %g, outside [%g, %g] (from "
		                 "--min-lr to --lr) where the schedule keeps it", f->path, st->lr, lo, hi);
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
	const char *name = st_meta(f, "model");
	if ((hash && strcmp(hash, m->spec_hash)) || (name && strcmp(name, m->name)))
		return rt_errorf(e, "checkpoint %s was made for model \"%s\" (spec hash %s), but this "
		                 "executable is model \"%s\" (spec hash %s): a resumed run needs the same "
		                 "model (--weights starts a new run from its weights if every tensor fits)",
		                 f->path, name ? name : "?", hash ? hash : "none", m->name, m->spec_hash);
	if (!fmt || strcmp(fmt, FORMAT))
		return rt_errorf(e, "%s is not a training checkpoint (no run state in its metadata); "
		                 "to start a new run from its weights use --weights %s", f->path, f->path);
	if (!hash)
		return rt_errorf(e, "checkpoint %s names no spec hash (metadata \"spec_hash\"): it "
		                 "cannot be resumed by model \"%s\"", f->path, m->name);
	memset(st, 0, sizeof *st);
	return read_state(f, st, e) || read_settings(f, o, e) || check_state(f, o, st, e) ? -1 : 0;
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
