/*
** train.c -- `train`: set a run up (settings, resume, data, arena,
** weights, run directory), then run its epochs (train_epoch.c) until
** --epochs or early stopping.
**
** Reproducibility: the arena is allocated once, for the batch size; the
** split depends on the seed, epoch e's order on (seed, e) alone, dropout
** on (seed, step), and a checkpoint holds every number that changes from
** step to step. So a run of N epochs and a run of N/2 epochs resumed to N
** end with the same bytes.
*/
#include <libgen.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "train_run.h"

/* The signal that asked the run to stop; set by on_signal only. */
static volatile sig_atomic_t stop_signal;

/* SIGINT, SIGTERM: ask the run to stop at the next batch; a second one
** (the user insists) kills the process as the signal does by default. */
static void on_signal(int sig)
{
	if (stop_signal) {
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_signal = sig;
}

int run_interrupted(void)
{
	return (int)stop_signal;
}

/* Catch SIGINT and SIGTERM for the run (old[] keeps what was there); a
** signal the parent ignores (nohup, a background job) stays ignored. */
static void catch_signals(struct sigaction old[2])
{
	static const int sigs[2] = {SIGINT, SIGTERM};
	struct sigaction sa = {0};
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	stop_signal = 0;
	for (int i = 0; i < 2; i++)
		if (sigaction(sigs[i], &sa, &old[i]) == 0 && old[i].sa_handler == SIG_IGN)
			sigaction(sigs[i], &old[i], NULL);
}

/* Put back the handlers catch_signals replaced. */
static void restore_signals(const struct sigaction old[2])
{
	sigaction(SIGINT, &old[0], NULL);
	sigaction(SIGTERM, &old[1], NULL);
}

/* dst = a copy of src that owns its strings. */
static int copy_opts(RtTrainOpts *dst, const RtTrainOpts *src, RtErr *e)
{
	*dst = *src;
	dst->data = dst->val_data = dst->label_task = dst->task = dst->normalize = NULL;
	if ((src->data && !(dst->data = strdup(src->data))) ||
	    (src->val_data && !(dst->val_data = strdup(src->val_data))) ||
	    (src->label_task && !(dst->label_task = strdup(src->label_task))) ||
	    (src->task && !(dst->task = strdup(src->task))) ||
	    (src->normalize && !(dst->normalize = strdup(src->normalize))))
		return rt_errorf(e, "out of memory");
	return 0;
}

/* The entry that trains with the run's optimizer, and eval. */
static int pick_entries(Run *r, const RtEntries *fns, RtErr *e)
{
	const RtModel *m = r->m;
	const char *name = r->o.optimizer == RT_OPT_SGD ? "train_sgd" : "train_adam";
	r->train_entry = rt_model_entry(m, name);
	if (!r->train_entry)
		return rt_errorf(e, "this model has no %s entry: it cannot be trained with --optimizer %s",
		                 name, rt_optimizer_name(r->o.optimizer));
	r->step_fn = r->o.optimizer == RT_OPT_SGD ? fns->train_sgd : fns->train_adam;
	r->pass.fn = fns->eval;
	r->pass.with_loss = 1;
	if (!r->step_fn || !r->pass.fn || !rt_model_entry(m, "eval"))
		return rt_errorf(e, "internal error: the executable lacks lunac_%s or lunac_eval", name);
	r->loss_out = rt_model_output(m, "loss");
	if (!rt_entry_writes(r->train_entry, r->loss_out))
		return rt_errorf(e, "internal error: entry %s does not write \"loss\"", name);
	return 0;
}

/* The probabilities the train entry writes, per fed task (for train_acc). */
static void train_outputs(Run *r)
{
	for (int q = 0; q < RT_MAXFEED; q++) {
		int po = q < r->feed.ntasks ? r->feed.task[q].output : -1;
		r->train_probs[q] = po >= 0 && rt_entry_writes(r->train_entry, po) ? po : -1;
	}
}

/* Every index of a dataset of n samples, in order. */
static int all_of(DataIndex *x, int64_t n, RtErr *e)
{
	x->n = n;
	if (!(x->idx = malloc(sizeof *x->idx * (size_t)(n ? n : 1))))
		return rt_errorf(e, "out of memory");
	for (int64_t i = 0; i < n; i++)
		x->idx[i] = i;
	return 0;
}

/* The data args of spec (--data or --val-data). */
static RtDataArgs data_args(const Run *r, const char *spec)
{
	const RtTrainOpts *o = &r->o;
	return (RtDataArgs){.data = spec, .tasks = o->task, .label_task = o->label_task, .train = 1,
	                    .threads = o->threads, .seed = o->seed, .resize = o->resize};
}

/* The validation dataset: bound as the training data is; classes in its order. */
static int load_val(Run *r, RtErr *e)
{
	RtFeed vf;
	RtDataArgs a = data_args(r, r->o.val_data);
	if (rt_data_open(r->m, &a, &vf, &r->val_ds, e) ||
	    rt_feed_check(r->m, &vf, &r->val_ds, &r->norm, e))
		return -1;
	if (memcmp(&vf, &r->feed, sizeof vf))
		return rt_errorf(e, "--val-data %s feeds the model's inputs and tasks otherwise than "
		                 "--data %s", r->o.val_data, r->o.data);
	for (int q = 0; q < vf.ntasks; q++) {
		const DataLabels *t = &r->train_ds.task[q];
		if (t->names && r->val_ds.task[q].names &&
		    data_remap_classes(&r->val_ds.task[q], (const char *const *)t->names, t->nclasses,
		                       t->path, e))
			return -1;
	}
	return 0;
}

/* Each fed task's class names, one per line, for the checkpoints. */
static int keep_classes(Run *r, RtErr *e)
{
	for (int q = 0; q < r->feed.ntasks; q++) {
		const DataLabels *t = &r->train_ds.task[q];
		int task = r->feed.task[q].task;
		if (task < 0 || !t->names)
			continue;
		size_t n = 1;
		for (int c = 0; c < t->nclasses; c++)
			n += strlen(t->names[c]) + 1;
		char *s = r->classes[task] = malloc(n);
		if (!s)
			return rt_errorf(e, "out of memory");
		s[0] = 0;
		for (int c = 0; c < t->nclasses; c++)
			strcat(strcat(s, c ? "\n" : ""), t->names[c]);
	}
	r->o.classes = r->classes;
	return 0;
}

/* Fed task q's name as a message names it: "the model's task \"NAME\"" is
** "the model's task \"" + task_name + "\""; "the model" without tasks. */
static const char *task_pre(const Run *r, int q)
{
	return r->feed.task[q].task >= 0 ? "the model's task \"" : "the model";
}
static const char *task_name(const Run *r, int q)
{
	return r->feed.task[q].task >= 0 ? r->m->tasks[r->feed.task[q].task].name : "";
}
static const char *task_post(const Run *r, int q)
{
	return r->feed.task[q].task >= 0 ? "\"" : "";
}

/* Training data whose labels are class names (folders, text labels) must
** have exactly the classes of the task they train: fewer is refused here
** (more, and labels out of range, rt_feed_check refuses). Numeric labels
** that never reach the last classes only get a note (announce). */
static int check_class_counts(const Run *r, RtErr *e)
{
	for (int q = 0; q < r->feed.ntasks; q++) {
		const DataLabels *l = &r->train_ds.task[q];
		int k = r->feed.task[q].classes;
		if (!l->names || k <= 0 || l->nclasses >= k)
			continue;
		return rt_errorf(e, "%s%s%s has %d classes, but the training data %s has %d (%s ... %s): "
		                 "give data with all %d classes, or declare %d in the model",
		                 task_pre(r, q), task_name(r, q), task_post(r, q), k, l->path, l->nclasses,
		                 l->names[0], l->names[l->nclasses - 1], k, l->nclasses);
	}
	return 0;
}

/* The training and validation samples: --val-data, a split, or none. */
static int load_data(Run *r, RtErr *e)
{
	const RtTrainOpts *o = &r->o;
	RtDataArgs a = data_args(r, o->data);
	if (data_norm_parse(o->normalize ? o->normalize : "", "normalize", &r->norm, e) ||
	    rt_data_open(r->m, &a, &r->feed, &r->train_ds, e) ||
	    rt_feed_check(r->m, &r->feed, &r->train_ds, &r->norm, e) || check_class_counts(r, e) ||
	    keep_classes(r, e))
		return -1;
	train_outputs(r);
	r->vds = &r->train_ds;
	if (o->val_data) {
		r->vds = &r->val_ds;
		if (load_val(r, e) || all_of(&r->tr, r->train_ds.count, e) ||
		    all_of(&r->va, r->val_ds.count, e))
			return -1;
	} else if (o->val_split > 0) {
		if (data_split(&r->train_ds, o->val_split, o->seed, &r->tr, &r->va, e))
			return -1;
	} else if (all_of(&r->tr, r->train_ds.count, e)) {
		return -1;
	}
	if (r->tr.n == 0)
		return rt_errorf(e, "%s holds no samples to train on", r->train_ds.name);
	return 0;
}

/* Arena (once, for the largest batch), loaders, buffers for validation outputs. */
static int allocate(Run *r, RtErr *e)
{
	int64_t most = r->tr.n > r->va.n ? r->tr.n : r->va.n;
	int64_t B = r->o.batch < most ? r->o.batch : most;
	if (!(r->arena = rt_arena_new(r->m, B, e)))
		return -1;
	r->pass.m = r->m;
	r->pass.feed = &r->feed;
	r->pass.arena = r->arena;
	r->pass.batch = B;
	r->pass.ctx = (RtCtx){.seed = r->o.seed, .step = 0, .nthreads = r->o.threads};
	if (!(r->order = malloc(sizeof *r->order * (size_t)r->tr.n)))
		return rt_errorf(e, "out of memory");
	for (int q = 0; q < r->feed.ntasks; q++)
		if (!(r->pass.probs[q] = malloc(sizeof(float) * (size_t)(r->va.n + 1) *
		                                (size_t)(r->feed.task[q].classes + 1))) ||
		    !(r->pass.labels[q] = malloc(sizeof(int32_t) * (size_t)(r->va.n + 1))))
			return rt_errorf(e, "out of memory");
	LoaderOpts lt = {.augment = r->o.augment, .seed = r->o.seed, .norm = r->norm};
	LoaderOpts lv = {.augment = DATA_AUG_NONE, .seed = r->o.seed, .norm = r->norm};
	if (loader_open(&r->L, &r->train_ds, &lt, r->tr.idx, 0, r->o.batch, e))
		return -1;
	return r->va.n ? loader_open(&r->LV, r->vds, &lv, r->va.idx, 0, r->o.batch, e) : 0;
}

/* The parameters: the checkpoint's, a weights file's, or fresh ones. */
static int load_weights(Run *r, StFile *ck, RtErr *e, RtErr *warn)
{
	if (ck->path)
		return rt_ckpt_read_tensors(r->m, ck, &r->o, r->arena, e);
	if (r->o.weights)
		return rt_weights_load(r->m, r->arena, r->o.weights, e, warn);
	rt_init_params(r->m, r->arena, r->o.seed);
	return 0;
}

/* Whether directories a and b are the same (both must exist). */
static int same_dir(const char *a, const char *b)
{
	char ra[PATH_MAX], rb[PATH_MAX];
	return realpath(a, ra) && realpath(b, rb) && !strcmp(ra, rb);
}

/* The run directory: --out, or the checkpoint's own when resuming without it. */
static int open_dir(Run *r, RtErr *e)
{
	char *rdir = NULL;
	if (r->o.resume) {
		char *tmp = strdup(r->o.resume);
		rdir = tmp ? strdup(dirname(tmp)) : NULL;
		free(tmp);
		if (!rdir)
			return rt_errorf(e, "out of memory");
	}
	const char *out = r->o.out ? r->o.out : rdir;
	int resuming = rdir && same_dir(out, rdir);
	int rc = out ? rt_rundir_open(&r->dir, out, resuming, r->st.epoch, e)
	             : rt_errorf(e, "train needs --out RUNDIR");
	free(rdir);
	return rc;
}

/* Resume: the checkpoint's state and settings (tensors come later). */
static int open_resume(Run *r, StFile *ck, RtErr *e)
{
	if (!r->o.resume) {
		rt_train_state_init(&r->st, &r->o);
		return 0;
	}
	if (st_open(ck, r->o.resume, e) || rt_ckpt_read_meta(r->m, ck, &r->o, &r->st, e))
		return -1;
	if (r->st.epoch >= r->o.epochs)
		return rt_errorf(e, "checkpoint %s has trained %lld epochs already: give --epochs "
		                 "more than that to go on", r->o.resume, (long long)r->st.epoch);
	return 0;
}

/* Everything before the first epoch; nothing is written until it all worked. */
static int setup(Run *r, const RtEntries *fns, RtErr *e, RtErr *warn)
{
	StFile ck = {0};
	if (!rt_model_entry(r->m, "train_sgd") && !rt_model_entry(r->m, "train_adam"))
		return rt_errorf(e, RT_NO_LOSS_MSG);
	int rc = open_resume(r, &ck, e);
	if (!rc && !r->o.data)
		rc = rt_errorf(e, "train needs --data SPEC");
	if (!rc && pick_entries(r, fns, e))
		rc = -1;
	if (!rc && (load_data(r, e) || allocate(r, e) || load_weights(r, &ck, e, warn)))
		rc = -1;
	if (ck.path)
		st_close(&ck);
	if (!rc && hyper_bind(r, e))
		rc = -1;
	return rc ? -1 : open_dir(r, e);
}

/* Free everything the run holds. */
static void teardown(Run *r)
{
	loader_close(r->L);
	loader_close(r->LV);
	rt_rundir_close(&r->dir);
	data_index_free(&r->tr);
	data_index_free(&r->va);
	data_free(&r->train_ds);
	data_free(&r->val_ds);
	free(r->order);
	rt_arena_free(r->arena);
	for (int q = 0; q < RT_MAXFEED; q++) {
		free(r->pass.probs[q]);
		free(r->pass.labels[q]);
		free(r->classes[q]);
	}
	rt_train_opts_free(&r->o);
}

/* s with its line breaks shown as ", " (the --data values), malloc'ed; NULL
** when out of memory. */
static char *one_line(const char *s)
{
	size_t k = 0, len = 1;
	for (const char *p = s; *p; p++)
		len += *p == '\n' ? 2 : 1;
	char *buf = malloc(len);
	for (; buf && *s; s++)
		if (*s == '\n')
			buf[k++] = ',', buf[k++] = ' ';
		else
			buf[k++] = *s;
	if (buf)
		buf[k] = 0;
	return buf;
}

/* How the learning rate moves, for the opening line: "lr 0.001, constant",
** "lr 0.001, x0.2 after 5 epochs without improvement (min 1e-05)", "lr
** 0.001, cosine to 1e-05 over 30 epochs". */
static void lr_words(const RtTrainOpts *o, char *buf, size_t len)
{
	if (o->schedule == RT_SCHED_PLATEAU)
		snprintf(buf, len, "lr %g, x%g after %lld epoch%s without improvement (min %g)", o->lr,
		         o->plateau_factor, (long long)o->plateau_patience,
		         o->plateau_patience == 1 ? "" : "s", o->min_lr);
	else if (o->schedule == RT_SCHED_COSINE)
		snprintf(buf, len, "lr %g, cosine to %g over %lld epochs", o->lr, o->min_lr,
		         (long long)o->epochs);
	else
		snprintf(buf, len, "lr %g, constant", o->lr);
}

/* The opening lines: what is trained on what, from where. */
static void announce(Run *r)
{
	const RtTrainOpts *o = &r->o;
	char *data = one_line(o->data);
	if (r->st.epoch > 0)
		rt_progress_line(&r->prog, "resuming %s at epoch %lld, step %llu, lr %.3g", o->resume,
		                 (long long)r->st.epoch + 1, (unsigned long long)r->st.step, r->st.lr);
	if (r->train_ds.note)
		rt_progress_line(&r->prog, "note: %s", r->train_ds.note);
	if (r->vds == &r->val_ds && r->val_ds.note)
		rt_progress_line(&r->prog, "note: %s", r->val_ds.note);
	for (int q = 0; q < r->feed.ntasks; q++) {
		const DataLabels *l = &r->train_ds.task[q];
		int k = r->feed.task[q].classes;
		if (!l->names && l->nclasses > 0 && l->nclasses < k)
			rt_progress_line(&r->prog, "note: %s%s%s has %d classes, but the labels of %s go up "
			                 "to %d only: class%s %d%s%.0d never appear%s in training",
			                 task_pre(r, q), task_name(r, q), task_post(r, q), k, l->path,
			                 l->nclasses - 1, k - l->nclasses > 1 ? "es" : "", l->nclasses,
			                 k - l->nclasses > 1 ? " to " : "", k - l->nclasses > 1 ? k - 1 : 0,
			                 k - l->nclasses > 1 ? "" : "s");
	}
	int ex = o->augment != DATA_AUG_NONE || o->normalize || o->resize != IMG_AREA;
	char lr[160];
	lr_words(o, lr, sizeof lr);
	rt_progress_line(&r->prog, "training \"%s\" on %s: %lld samples, validating on %lld%s; "
	                 "%s, %s, batch %lld, seed %llu%s%s%s%s%s%s -> %s", r->m->name,
	                 data ? data : o->data, (long long)r->tr.n, (long long)r->va.n,
	                 r->va.n ? "" : " (early stopping and the schedule watch the training loss)",
	                 rt_optimizer_name(o->optimizer), lr, (long long)o->batch,
	                 (unsigned long long)o->seed,
	                 ex ? "; augment " : "", ex ? data_augment_name(o->augment) : "",
	                 ex ? ", normalize " : "", !ex ? "" : o->normalize ? o->normalize : "none",
	                 ex ? ", resize " : "", ex ? img_filter_name(o->resize) : "",
	                 r->dir.dir);
	free(data);
}

/* After an interruption: what the run directory holds and how to go on. */
static void interrupted(Run *r, int sig)
{
	struct stat sb;
	const char *prog = r->o.prog ? r->o.prog : "MODEL";
	rt_progress_line(&r->prog, "interrupted (%s) during epoch %lld: its progress is not kept",
	                 sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "a signal",
	                 (long long)r->st.epoch + 1);
	if (r->st.epoch > 0 && stat(r->dir.last, &sb) == 0)
		rt_progress_line(&r->prog, "%s holds epoch %lld (best: %s); go on with:\n  %s train "
		                 "--resume %s --epochs %lld", r->dir.last, (long long)r->st.epoch,
		                 r->dir.best, prog, r->dir.last, (long long)r->o.epochs);
	else
		rt_progress_line(&r->prog, "no epoch has finished, so %s holds no checkpoint to resume "
		                 "from; run the same command again to start over", r->dir.dir);
}

/* The closing line. */
static void summary(Run *r, const RtTrainResult *res)
{
	if (res->interrupted) {
		interrupted(r, res->interrupted);
		return;
	}
	if (r->st.best_epoch > 0)
		rt_progress_line(&r->prog, "%s after epoch %lld: best %s loss %.4f at epoch %lld -> %s",
		                 res->stopped_early ? "stopped early" : "done", (long long)r->st.epoch,
		                 res->has_val ? "validation" : "training", r->st.best_loss,
		                 (long long)r->st.best_epoch, r->dir.best);
}

int rt_train(const RtModel *m, const RtEntries *fns, const RtTrainOpts *o, RtTrainResult *res,
             RtErr *e)
{
	Run r = {.m = m, .loss_out = -1};
	RtErr warn = {0};
	r.prog = (RtProgress){.f = o->log, .tty = o->tty};
	memset(res, 0, sizeof *res);
	int rc = copy_opts(&r.o, o, e) || setup(&r, fns, e, &warn) ? -1 : 0;
	res->has_val = r.va.n > 0;
	if (warn.set)
		rt_progress_line(&r.prog, "warning: %s", warn.msg);
	if (!rc)
		announce(&r);
	struct sigaction old[2];
	catch_signals(old);
	while (!rc && r.st.epoch < r.o.epochs && !run_interrupted()) {
		int flags = 0;
		int64_t before = r.st.epoch;
		rc = run_epoch(&r, &flags, e);
		res->epochs_run += r.st.epoch > before;
		if (flags & RT_SCHED_STOP) {
			res->stopped_early = 1;
			break;
		}
	}
	res->interrupted = run_interrupted();
	restore_signals(old);
	res->st = r.st;
	if (!rc)
		summary(&r, res);
	teardown(&r);
	return rc;
}
