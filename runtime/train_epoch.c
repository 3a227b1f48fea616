/*
** train_epoch.c -- one epoch of `train`: the shuffled training batches
** through the train entry, the validation pass through the eval entry,
** the schedule, one line of metrics.jsonl, the best and last checkpoints
** and the epoch's line of progress. Nothing here allocates per step.
**
** Order of writes, so that a kill at any point leaves files that agree:
** metrics.jsonl's line, then best.safetensors, then last.safetensors.
** Resuming from last cuts metrics.jsonl back to last's epoch.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "train_run.h"

/* The arena address of hyper-parameter input name, or NULL. */
static float *hyper_at(const Run *r, const char *name)
{
	int i = rt_model_input(r->m, name);
	return i < 0 ? NULL : (float *)rt_tensor_addr(r->m, &r->m->inputs[i], r->arena, 0);
}

int hyper_bind(Run *r, RtErr *e)
{
	Hyper *h = &r->hy;
	h->lr = hyper_at(r, "hyper.lr");
	h->clip = hyper_at(r, "hyper.clip");
	h->momentum = hyper_at(r, "hyper.momentum");
	h->wd = hyper_at(r, "hyper.wd");
	h->b1 = hyper_at(r, "hyper.b1");
	h->b2 = hyper_at(r, "hyper.b2");
	h->eps = hyper_at(r, "hyper.eps");
	h->wd_l2 = hyper_at(r, "hyper.wd_l2");
	h->wd_dec = hyper_at(r, "hyper.wd_dec");
	h->ibc1 = hyper_at(r, "hyper.ibc1");
	h->ibc2 = hyper_at(r, "hyper.ibc2");
	if (!h->lr)
		return rt_errorf(e, "internal error: the model has no input \"hyper.lr\"");
	return 0;
}

/* Store v where p points, if the model has that input. */
static void put(float *p, double v)
{
	if (p)
		*p = (float)v;
}

/* The hyper-parameters fixed for an epoch (lr, clip, decay, Adam's betas). */
static void hyper_epoch(Run *r)
{
	const RtTrainOpts *o = &r->o;
	int adamw = o->optimizer == RT_OPT_ADAMW, sgd = o->optimizer == RT_OPT_SGD;
	put(r->hy.lr, r->st.lr);
	put(r->hy.clip, o->clip > 0 ? o->clip : RT_CLIP_OFF);
	put(r->hy.momentum, o->momentum);
	put(r->hy.wd, sgd ? o->weight_decay : 0);
	put(r->hy.b1, RT_ADAM_B1);
	put(r->hy.b2, RT_ADAM_B2);
	put(r->hy.eps, RT_ADAM_EPS);
	put(r->hy.wd_l2, !sgd && !adamw ? o->weight_decay : 0);
	put(r->hy.wd_dec, adamw ? o->weight_decay : 0);
}

/* Adam's bias corrections for the 1-based step t. */
static void hyper_step(Run *r, uint64_t t)
{
	put(r->hy.ibc1, 1.0 / (1.0 - pow(RT_ADAM_B1, (double)t)));
	put(r->hy.ibc2, 1.0 / (1.0 - pow(RT_ADAM_B2, (double)t)));
}

/* Samples among n whose probabilities' arg-max (first on ties) is the label;
** -1 when a probability is not a finite number. */
static int64_t correct(const float *probs, const int32_t *labels, int64_t n, int k)
{
	int64_t c = 0;
	for (int64_t i = 0; i < n; i++, probs += k) {
		int best = 0;
		for (int j = 0; j < k; j++) {
			if (!isfinite(probs[j]))
				return -1;
			if (probs[j] > probs[best])
				best = j;
		}
		c += best == labels[i];
	}
	return c;
}

/* What an epoch measured: totals, and per fed task (NaN: not known). */
typedef struct Epoch {
	double lr, train_loss, val_loss, secs, ips;
	double train_acc[RT_MAXFEED], val_ce[RT_MAXFEED], val_acc[RT_MAXFEED];
	double val_f1[RT_MAXFEED], val_auc[RT_MAXFEED];
	double chance[RT_MAXFEED];  /* the validation accuracy of always guessing the most
	                               common validation class (at least 1/K) */
	int64_t images;
} Epoch;

/* The name fed task q reports under. */
static const char *task_name(const Run *r, int q)
{
	const RtTaskFeed *p = &r->feed.task[q];
	return p->task >= 0 ? r->m->tasks[p->task].name : p->output >= 0
	       ? r->m->outputs[p->output].name : r->m->inputs[p->label].name;
}

/* The mean of the non-NaN x[0..n), NaN if none. */
static double mean(const double *x, int n)
{
	double s = 0;
	int k = 0;
	for (int i = 0; i < n; i++)
		if (!isnan(x[i]))
			s += x[i], k++;
	return k ? s / k : NAN;
}

/* The mean over the fed tasks with probabilities of right[q] / seen (NaN: none). */
static double running_acc(const Run *r, const int64_t *right, int64_t seen)
{
	double acc[RT_MAXFEED];
	for (int q = 0; q < r->feed.ntasks; q++)
		acc[q] = r->train_probs[q] >= 0 && seen ? (double)right[q] / (double)seen : NAN;
	return mean(acc, r->feed.ntasks);
}

/* The training batches of epoch r->st.epoch (0-based) in its shuffled order.
** Training accuracy counts, per task, the samples of these batches whose
** arg-max probability is their label, as the train entry computed them
** (dropout on, batch statistics, weights changing from batch to batch). */
static int train_batches(Run *r, Epoch *ep, RtErr *e)
{
	const RtModel *m = r->m;
	memcpy(r->order, r->tr.idx, sizeof *r->order * (size_t)r->tr.n);
	data_shuffle(r->order, r->tr.n, r->o.seed, (uint64_t)r->st.epoch);
	if (loader_restart(r->L, r->order, r->tr.n, (uint64_t)r->st.epoch, e))
		return -1;
	hyper_epoch(r);
	rt_progress_epoch(&r->prog, r->st.epoch + 1, r->o.epochs, (r->tr.n + r->o.batch - 1) / r->o.batch);
	Batch bt;
	int64_t seen = 0, right[RT_MAXFEED] = {0}, b = 0;
	double sum = 0;
	while (!run_interrupted() && loader_next(r->L, &bt)) {
		int64_t k = bt.n;
		/* a last batch of one sample has no batch statistics (its variance
		** is 0/0 and would poison batch norm's running variance): skip it,
		** as PyTorch refuses it */
		if (k == 1 && b > 0)
			continue;
		uint64_t t = r->st.step + 1;
		rt_feed_batch(m, &r->feed, r->arena, &bt);
		hyper_step(r, t);
		RtCtx ctx = {.seed = r->o.seed, .step = t, .nthreads = r->o.threads};
		r->step_fn(r->arena, k, &ctx);
		float loss = *(const float *)rt_tensor_addr(m, &m->outputs[r->loss_out], r->arena, k);
		if (!isfinite(loss))
			return rt_errorf(e, "training diverged: the loss is %g at epoch %lld, step %llu; "
			                 "try a lower --lr or --clip 1", (double)loss,
			                 (long long)r->st.epoch + 1, (unsigned long long)t);
		for (int q = 0; q < r->feed.ntasks; q++) {
			if (r->train_probs[q] < 0)
				continue;
			int64_t c = correct((const float *)rt_tensor_addr(m, &m->outputs[r->train_probs[q]],
			                                                  r->arena, k),
			                    bt.y[q], k, r->feed.task[q].classes);
			if (c < 0)
				return rt_errorf(e, "training diverged: the predicted probabilities are not numbers "
				                 "at epoch %lld, step %llu; try a lower --lr or --clip 1",
				                 (long long)r->st.epoch + 1, (unsigned long long)t);
			right[q] += c;
		}
		r->st.step = t;
		sum += (double)loss * (double)k;
		seen += k;
		rt_progress_batch(&r->prog, ++b, sum / (double)seen, running_acc(r, right, seen), seen);
	}
	ep->images = seen;
	ep->train_loss = sum / (double)seen;
	for (int q = 0; q < r->feed.ntasks; q++)
		ep->train_acc[q] = r->train_probs[q] >= 0 ? (double)right[q] / (double)seen : NAN;
	return 0;
}

/* Chance accuracy on labels[0..n) of k classes: the share of the most
** common label, and at least 1/k. */
static double chance(const int32_t *labels, int64_t n, int k)
{
	int64_t best = 0;
	for (int c = 0; c < k; c++) {
		int64_t m = 0;
		for (int64_t i = 0; i < n; i++)
			m += labels[i] == c;
		best = m > best ? m : best;
	}
	double p = n ? (double)best / (double)n : 0;
	return k > 0 && p < 1.0 / k ? 1.0 / k : p;
}

/* The validation pass and its metrics per task (NaN without validation data). */
static int validate(Run *r, Epoch *ep, RtErr *e)
{
	ep->val_loss = NAN;
	for (int q = 0; q < RT_MAXFEED; q++)
		ep->val_ce[q] = ep->val_acc[q] = ep->val_f1[q] = ep->val_auc[q] = ep->chance[q] = NAN;
	if (r->va.n == 0)
		return 0;
	RtErr sub = {0};
	if (rt_eval_pass(&r->pass, r->LV, r->va.idx, r->va.n, &ep->val_loss, &sub))
		return rt_errorf(e, "epoch %lld, step %llu, validation: %s", (long long)r->st.epoch + 1,
		                 (unsigned long long)r->st.step, sub.msg);
	for (int q = 0; q < r->feed.ntasks; q++) {
		if (r->feed.task[q].output < 0)
			continue;   /* a custom loss without a classifier output: the loss only */
		Metrics mt = {0};
		RtErr sub = {0};
		if (metrics_compute(r->pass.probs[q], r->pass.labels[q], r->va.n,
		                    r->feed.task[q].classes, "validation", &mt, &sub))
			return rt_errorf(e, "epoch %lld, task %s: %s", (long long)r->st.epoch + 1,
			                 task_name(r, q), sub.msg);
		ep->chance[q] = chance(r->pass.labels[q], r->va.n, r->feed.task[q].classes);
		ep->val_ce[q] = mt.cross_entropy;
		ep->val_acc[q] = mt.accuracy;
		ep->val_f1[q] = mt.macro_f1;
		ep->val_auc[q] = mt.macro_auc;
		metrics_free(&mt);
	}
	return 0;
}

/* Each task's numbers as {"name": {...}} in j (several tasks only). */
static int log_tasks(Run *r, const Epoch *ep, cJSON *j)
{
	if (r->feed.ntasks < 2)
		return 0;
	cJSON *ts = cJSON_AddObjectToObject(j, "tasks");
	for (int q = 0; ts && q < r->feed.ntasks; q++) {
		cJSON *t = cJSON_AddObjectToObject(ts, task_name(r, q));
		if (!t)
			return -1;
		cJSON_AddNumberToObject(t, "train_acc", ep->train_acc[q]);
		cJSON_AddNumberToObject(t, "val_loss", ep->val_ce[q]);
		cJSON_AddNumberToObject(t, "val_acc", ep->val_acc[q]);
		cJSON_AddNumberToObject(t, "val_macro_f1", ep->val_f1[q]);
		cJSON_AddNumberToObject(t, "val_macro_auc", ep->val_auc[q]);
	}
	return ts ? 0 : -1;
}

/* Append the epoch's line to metrics.jsonl. Top-level accuracy, F1 and AUC
** are the task's, or with several tasks their mean. */
static int log_epoch(Run *r, const Epoch *ep, int flags, RtErr *e)
{
	int n = r->feed.ntasks;
	cJSON *j = cJSON_CreateObject();
	if (!j)
		return rt_errorf(e, "out of memory");
	cJSON_AddNumberToObject(j, "epoch", (double)r->st.epoch);
	cJSON_AddNumberToObject(j, "step", (double)r->st.step);
	cJSON_AddNumberToObject(j, "lr", ep->lr);
	cJSON_AddNumberToObject(j, "train_loss", ep->train_loss);
	cJSON_AddNumberToObject(j, "train_acc", mean(ep->train_acc, n));
	cJSON_AddNumberToObject(j, "val_loss", ep->val_loss);
	cJSON_AddNumberToObject(j, "val_acc", mean(ep->val_acc, n));
	cJSON_AddNumberToObject(j, "val_macro_f1", mean(ep->val_f1, n));
	cJSON_AddNumberToObject(j, "val_macro_auc", mean(ep->val_auc, n));
	cJSON_AddBoolToObject(j, "best", (flags & RT_SCHED_IMPROVED) != 0);
	cJSON_AddNumberToObject(j, "time_s", round(ep->secs * 1e6) / 1e6);
	cJSON_AddNumberToObject(j, "images_per_s", round(ep->ips * 10) / 10);
	char *line = log_tasks(r, ep, j) ? NULL : cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!line)
		return rt_errorf(e, "out of memory");
	int rc = rt_rundir_log(&r->dir, line, e);
	free(line);
	return rc;
}

/* One task's part of the epoch report ("  task1: val_loss ... val_f1 ..."). */
static void report_task(Run *r, const Epoch *ep, int q)
{
	char acc[40] = "", val[160] = "";
	if (!isnan(ep->train_acc[q]))
		snprintf(acc, sizeof acc, " acc %.4f", ep->train_acc[q]);
	if (r->va.n && !isnan(ep->val_acc[q]))
		snprintf(val, sizeof val, " val_loss %.4f val_acc %.4f val_f1 %.4f", ep->val_ce[q],
		         ep->val_acc[q], ep->val_f1[q]);
	if (acc[0] || val[0])
		rt_progress_line(&r->prog, "  %s:%s%s", task_name(r, q), acc, val);
}

/* Whether the model has batch norm (a buffer "*.running_mean"). */
static int has_batchnorm(const RtModel *m)
{
	const char *suffix = "running_mean";
	size_t k = strlen(suffix);
	for (int i = 0; i < m->nparams; i++) {
		size_t n = strlen(m->params[i].name);
		if (m->params[i].kind == RT_BUFFER && n >= k && !strcmp(m->params[i].name + n - k, suffix))
			return 1;
	}
	return 0;
}

/* Once per run: a task whose training accuracy is well above chance (half
** way from chance to 1) while its validation accuracy stays near chance,
** two epochs in a row (train_run.h), gets a note naming the likely causes. */
static void note_chance(Run *r, const Epoch *ep)
{
	for (int q = 0; q < r->feed.ntasks && !r->noted_chance && r->va.n; q++) {
		double c = ep->chance[q];
		int met = ep->train_acc[q] >= c + RT_NOTE_TRAIN_WAY * (1 - c) &&
		          ep->val_acc[q] <= c + RT_NOTE_CHANCE_MARGIN;
		r->chance_streak[q] = met ? r->chance_streak[q] + 1 : 0;
		if (r->chance_streak[q] < RT_NOTE_EPOCHS)
			continue;
		r->noted_chance = 1;
		rt_progress_line(&r->prog, "note: %s%s%straining accuracy is %.2f but validation accuracy "
		                 "%.2f, near or below chance (%.2f), %d epochs in a row: what the model "
		                 "learns on its training batches does not carry over to held-out data. "
		                 "Likely causes:",
		                 r->feed.ntasks > 1 ? "task " : "", r->feed.ntasks > 1 ? task_name(r, q) : "",
		                 r->feed.ntasks > 1 ? ": " : "", ep->train_acc[q], ep->val_acc[q],
		                 ep->chance[q], RT_NOTE_EPOCHS);
		if (has_batchnorm(r->m))
			rt_progress_line(&r->prog, "  - batch norm's running statistics lag behind the "
			                 "weights (evaluation uses them, training does not): raise its "
			                 "momentum, e.g. nn.batchnorm's default 0.1 (docs/model-language.md)");
		rt_progress_line(&r->prog, "  - training and validation data differ: preprocessing "
		                 "(--normalize, image sizes), augmentation, or class balance");
	}
}

/* The epoch's line of progress (and one per task with several), and notes
** on the schedule. */
static void report(Run *r, const Epoch *ep, int flags)
{
	int many = r->feed.ntasks > 1;
	char val[160] = "";
	if (r->va.n && many)
		snprintf(val, sizeof val, "  val_loss %.4f", ep->val_loss);
	else if (r->va.n)
		snprintf(val, sizeof val, "  val_loss %.4f val_acc %.4f val_f1 %.4f", ep->val_loss,
		         ep->val_acc[0], ep->val_f1[0]);
	char acc[40] = "";
	double mean_acc = mean(ep->train_acc, r->feed.ntasks);
	if (!isnan(mean_acc))
		snprintf(acc, sizeof acc, " %s %.4f", many ? "mean acc" : "acc", mean_acc);
	rt_progress_line(&r->prog, "epoch %lld/%lld  loss %.4f%s%s  lr %.3g  %.1fs %.0f img/s%s",
	                 (long long)r->st.epoch, (long long)r->o.epochs, ep->train_loss, acc, val, ep->lr,
	                 ep->secs, ep->ips, flags & RT_SCHED_IMPROVED ? "  *best" : "");
	for (int q = 0; many && q < r->feed.ntasks; q++)
		report_task(r, ep, q);
	if ((flags & RT_SCHED_LR_CHANGED) && r->o.schedule == RT_SCHED_PLATEAU)
		rt_progress_line(&r->prog, "  no improvement for %lld epoch%s: lr reduced to %.3g",
		                 (long long)r->o.plateau_patience, r->o.plateau_patience == 1 ? "" : "s",
		                 r->st.lr);
	note_chance(r, ep);
	if (flags & RT_SCHED_STOP)
		rt_progress_line(&r->prog, "early stopping: no improvement for %lld epoch%s (best %.4f at "
		                 "epoch %lld)", (long long)r->o.early_stop, r->o.early_stop == 1 ? "" : "s",
		                 r->st.best_loss, (long long)r->st.best_epoch);
}

int run_epoch(Run *r, int *flags, RtErr *e)
{
	Epoch ep = {.lr = r->st.lr};
	double t0 = rt_now();
	if (train_batches(r, &ep, e))
		return -1;
	if (run_interrupted())
		return 0;   /* the epoch is not complete: nothing of it is kept */
	double t1 = rt_now();
	if (validate(r, &ep, e))
		return -1;
	ep.secs = rt_now() - t0;
	ep.ips = t1 > t0 ? (double)ep.images / (t1 - t0) : 0;   /* training images per second */
	*flags = rt_sched_epoch_end(&r->o, &r->st, r->va.n ? ep.val_loss : ep.train_loss);
	if (log_epoch(r, &ep, *flags, e) ||
	    ((*flags & RT_SCHED_IMPROVED) && rt_ckpt_save(r->m, r->arena, r->dir.best, &r->o, &r->st, e)) ||
	    rt_ckpt_save(r->m, r->arena, r->dir.last, &r->o, &r->st, e))
		return -1;
	report(r, &ep, *flags);
	return 0;
}
