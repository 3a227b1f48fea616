/*
** train.h -- training and evaluation: the settings of a run (trainopts.c),
** learning-rate schedules (schedule.c), checkpoints (checkpoint.c), the run
** directory and its metrics log (rundir.c), how a dataset feeds a model
** (feed.c), progress output (progress.c), the training loop (train.c) and
** evaluation (eval.c). docs/runtime.md describes the commands.
**
** Errors follow rt.h: 0 on success or -1 with the RtErr filled. Nothing
** here exits; the only output goes to the FILE a caller passes in.
*/
#ifndef LUNAC_TRAIN_H
#define LUNAC_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "data.h"
#include "metrics.h"
#include "rt.h"

/* ---- the generated entry points ---------------------------------------- */

/* The entry functions the executable links (NULL: the model lacks one). */
typedef struct RtEntries {
	RtPredictFn predict, mc, eval, train_sgd, train_adam;
} RtEntries;

#define RT_NO_LOSS_MSG "this model defines no loss: it cannot be trained " \
	"(see loss() in docs/model-language.md)"

/* ---- settings (trainopts.c) -------------------------------------------- */

typedef enum { RT_OPT_ADAM, RT_OPT_ADAMW, RT_OPT_SGD } RtOptimizer;
typedef enum { RT_SCHED_NONE, RT_SCHED_PLATEAU, RT_SCHED_COSINE } RtSchedule;

/* The settings a run keeps in its checkpoints, by command-line flag. */
typedef enum {
	RT_SET_DATA, RT_SET_VAL_DATA, RT_SET_VAL_SPLIT, RT_SET_LABEL_TASK, RT_SET_EPOCHS,
	RT_SET_BATCH, RT_SET_LR, RT_SET_OPTIMIZER, RT_SET_SEED, RT_SET_MOMENTUM,
	RT_SET_WEIGHT_DECAY, RT_SET_CLIP, RT_SET_SCHEDULE, RT_SET_PLATEAU_FACTOR,
	RT_SET_PLATEAU_PATIENCE, RT_SET_MIN_LR, RT_SET_EARLY_STOP, RT_SET_TASK, RT_SET_NORMALIZE,
	RT_SET_AUGMENT, RT_SET_RESIZE, RT_SET_MIN_DELTA, RT_NSETTINGS
} RtSetting;
/* The counters of a run's state a checkpoint keeps besides its settings
** (RtTrainState), by checkpoint key: "epoch", "step", "lr",
** "best_val_loss", "best_epoch", "plateau_wait", "early_stop_wait". */
typedef enum {
	RT_STATE_EPOCH, RT_STATE_STEP, RT_STATE_LR, RT_STATE_BEST_LOSS, RT_STATE_BEST_EPOCH,
	RT_STATE_PLATEAU_WAIT, RT_STATE_EARLY_STOP_WAIT, RT_NSTATE
} RtStateKey;
/* Settings added after the first checkpoints: a checkpoint without them has
** their defaults. */
#define RT_SET_FIRST_OPTIONAL RT_SET_TASK

/* Adam's constants (Keras' defaults, as in the authors' code). */
#define RT_ADAM_B1 0.9
#define RT_ADAM_B2 0.999
#define RT_ADAM_EPS 1e-7
/* hyper.clip when clipping is off. */
#define RT_CLIP_OFF 1e30f

/* A training run's settings. Strings are owned (rt_train_opts_free). data,
** val_data and task hold one flag value per line (--data a=X --data b=Y is
** "a=X\nb=Y"). */
typedef struct RtTrainOpts {
	char *data, *val_data, *label_task;   /* val_data, label_task: NULL if not given */
	char *task, *normalize;     /* NULL if not given */
	DataAugment augment;
	ImgFilter resize;           /* --resize: how image files are resized */
	double val_split, lr, momentum, weight_decay, clip;
	double plateau_factor, min_lr;
	double min_delta;           /* relative improvement the schedules need (rt_sched_improves) */
	int64_t epochs, batch, plateau_patience, early_stop;
	uint64_t seed;
	RtOptimizer optimizer;
	RtSchedule schedule;
	unsigned given;             /* bit s: setting s came from the command line */
	/* not kept as settings: */
	char *const *classes;       /* per model task: class names, one per line, or NULL;
	                               checkpoints keep them as "classes.<task>" */
	const char *out, *resume, *weights;
	const char *prog;           /* the executable as invoked, for the resume hint; NULL: "MODEL" */
	int threads;
	FILE *log;                  /* progress and epoch lines; NULL: quiet */
	int tty;                    /* log is a terminal: draw a progress bar */
} RtTrainOpts;

/* The authors' recipe (drifa-net.md section 6): Adam, lr 1e-3, batch 32,
** 200 epochs, 20% validation, plateau x0.2 after 5 epochs (floor 1e-5),
** early stopping after 100. */
void rt_train_defaults(RtTrainOpts *o);
void rt_train_opts_free(RtTrainOpts *o);
/* The flag of setting s without "--" ("lr"), and its checkpoint key ("train.lr"). */
const char *rt_setting_flag(RtSetting s);
const char *rt_setting_key(RtSetting s);
/* Set s from text (a flag's value or a checkpoint's); marks it given when
** from_cli. The message names the flag: "--lr abc: not a positive number".
** Numbers are checked against one table of ranges (trainopts.c) that the
** checkpoint reader's rt_state_parse shares. */
int rt_setting_parse(RtTrainOpts *o, RtSetting s, const char *text, int from_cli, RtErr *e);
/* State value k's checkpoint key, and text (NULL: missing) checked against
** its range in the same table: an integer into *u or a number into *d. The
** message names the key: "metadata \"lr\" is -1, not a non-negative number". */
const char *rt_state_key(RtStateKey k);
int rt_state_parse(RtStateKey k, const char *text, uint64_t *u, double *d, RtErr *e);
/* s's value as text that rt_setting_parse reads back exactly ("" when
** unset); RT_SETTING_MAX bytes always hold it. */
#define RT_SETTING_MAX 8200
void rt_setting_format(const RtTrainOpts *o, RtSetting s, char *buf, size_t len);
const char *rt_optimizer_name(RtOptimizer k);
const char *rt_schedule_name(RtSchedule k);

/* ---- the state of a run ------------------------------------------------ */

typedef struct RtTrainState {
	int64_t epoch;              /* epochs completed */
	uint64_t step;              /* training steps completed */
	double lr;                  /* the learning rate of the next epoch */
	double best_loss;           /* best monitored (validation) loss; +inf at first */
	int64_t best_epoch;         /* the epoch that reached it; 0: none yet */
	int64_t plateau_wait;       /* epochs without improvement, for the plateau schedule */
	int64_t early_stop_wait;    /* the same, for early stopping */
} RtTrainState;

/* A fresh run's state: epoch 0, step 0, lr = o->lr (cosine: its epoch 0). */
void rt_train_state_init(RtTrainState *st, const RtTrainOpts *o);

/* ---- schedules (schedule.c) -------------------------------------------- */

/* Cosine annealing: lr0 at epoch 0 down to min_lr at epoch E,
** min_lr + (lr0 - min_lr)(1 + cos(pi e / E)) / 2. */
double rt_sched_cosine(double lr0, double min_lr, int64_t e, int64_t E);

/* PyTorch ReduceLROnPlateau's default threshold (mode "rel"). */
#define RT_MIN_DELTA 1e-4

/* Whether loss improves on best: loss < best - min_delta |best| (any finite
** loss improves on +inf; NaN never improves). */
int rt_sched_improves(double loss, double best, double min_delta);

/* What rt_sched_epoch_end found. */
enum { RT_SCHED_IMPROVED = 1, RT_SCHED_LR_CHANGED = 2, RT_SCHED_STOP = 4 };

/* After an epoch whose monitored loss was loss: count the epoch, update the
** best loss and the patience counters, then the learning rate (plateau:
** x factor after `patience` epochs without improvement, not below min_lr;
** cosine: the next epoch's), and decide early stopping. An epoch improves
** as rt_sched_improves says with o->min_delta; the plateau schedule, early
** stopping and the best checkpoint all count that one improvement. Returns
** RT_SCHED_* flags. */
int rt_sched_epoch_end(const RtTrainOpts *o, RtTrainState *st, double loss);

/* ---- checkpoints (checkpoint.c) ---------------------------------------- */

/* Whether optimizer k updates state tensor name: SGD uses "opt.v.*" (its
** momentum), Adam and AdamW "opt.m.*" and "opt.v.*" (compiler/passes/
** update.c names them); state of other names: any optimizer. */
int rt_state_used(const char *name, RtOptimizer k);

/* Write params, buffers, the optimizer's state, st and o's settings to
** path atomically (metadata in docs/runtime.md). */
int rt_ckpt_save(const RtModel *m, const char *arena, const char *path, const RtTrainOpts *o,
                 const RtTrainState *st, RtErr *e);

/* Read a checkpoint's metadata: st, and o's settings that were not given on
** the command line; a given setting that would change the run is refused.
** f must be open (st_open). The spec hash must be the model's. */
int rt_ckpt_read_meta(const RtModel *m, const StFile *f, RtTrainOpts *o, RtTrainState *st,
                      RtErr *e);

/* Load params, buffers and o->optimizer's state from f into arena. */
int rt_ckpt_read_tensors(const RtModel *m, const StFile *f, const RtTrainOpts *o, char *arena,
                         RtErr *e);

/* ---- the run directory (rundir.c) -------------------------------------- */

typedef struct RtRunDir {
	char *dir, *best, *last, *metrics;   /* paths */
	int dirfd;                           /* held with an exclusive flock */
	int metricsfd;                       /* metrics.jsonl, O_APPEND */
} RtRunDir;

/* Is there a directory at path holding a run (last.safetensors)? */
int rt_rundir_has_run(const char *dir);
/* Create dir (and its parents), lock it, remove temporaries a killed run
** left, and keep the lines of metrics.jsonl up to epoch keep (0: none). A
** fresh run (resuming 0) refuses a directory that holds a run. */
int rt_rundir_open(RtRunDir *r, const char *dir, int resuming, int64_t keep, RtErr *e);
/* Append one line (without its newline) to metrics.jsonl and fsync it. */
int rt_rundir_log(RtRunDir *r, const char *line, RtErr *e);
void rt_rundir_close(RtRunDir *r);

/* ---- how datasets feed the model (feed.c, feed_open.c) ----------------- */

#define RT_MAXFEED DATA_MAXMOD

/* Where a dataset's label array goes: a label input, and the output whose
** probabilities the metrics read. */
typedef struct RtTaskFeed {
	int label;                  /* index into inputs[]; -1: the model reads no labels */
	int task;                   /* index into tasks[]; -1: none (a custom loss, or predict) */
	int output;                 /* the probabilities (outputs[]); -1: no metrics */
	int classes;                /* the labels' class count; 0: unknown (not checked) */
} RtTaskFeed;

/* How a dataset feeds the model: its image array k goes to
** inputs[image[k]], its label array t as task[t] says. */
typedef struct RtFeed {
	int image[RT_MAXFEED];
	int nimages;
	RtTaskFeed task[RT_MAXFEED];
	int ntasks;
} RtFeed;

/* The data of a run or an evaluation, as the command line gives it. */
typedef struct RtDataArgs {
	const char *data;           /* --data values, one per line: SPEC or INPUT=SPEC */
	const char *tasks;          /* --task values, one per line: INPUT=TASK (NULL: none) */
	const char *label_task;     /* --label-task TASK (one dataset; NULL: none) */
	int train;                  /* every task the loss reads must get labels */
	int unlabelled;             /* predict: labels are neither needed nor read */
	int threads;                /* image decoding threads */
	uint64_t seed;              /* resampling of shorter datasets */
	ImgFilter resize;           /* how image files are resized (--resize) */
} RtDataArgs;

/* Open the datasets a names (one per image input, or one for all), bind
** them to m's inputs and tasks (docs/data.md: pairing), join them by index
** into ds (its image array k feeding inputs[f->image[k]], its label array
** t feeding f->task[t]) and check shapes and labels against the model. */
int rt_data_open(const RtModel *m, const RtDataArgs *a, RtFeed *f, Dataset *ds, RtErr *e);

/* The task feeds a model without tasks has: its one label input (a custom
** loss; training needs one) and its classifier output [N,K] if any
** (feed.c; rt_data_open uses it). */
int rt_feed_untasked(const RtModel *m, int train, RtTaskFeed *p, RtErr *e);
/* Check ds against the feed: image shapes, labels below the classes, and
** that norm fits every image input's channels. */
int rt_feed_check(const RtModel *m, const RtFeed *f, const Dataset *ds, const DataNorm *norm,
                  RtErr *e);
/* Copy batch b (b->n samples) into the arena laid out for b->n. */
void rt_feed_batch(const RtModel *m, const RtFeed *f, char *arena, const Batch *b);
/* "\"a\", \"b\" and \"c\"": the names of m's tasks or data inputs, for a message. */
const char *rt_task_names(const RtModel *m, char *buf, size_t len);
const char *rt_input_names(const RtModel *m, char *buf, size_t len);

/* ---- progress (progress.c) --------------------------------------------- */

typedef struct RtProgress {
	FILE *f;                    /* NULL: quiet */
	int tty;
	int64_t epoch, epochs, nbatches;
	double t0, last_draw;       /* seconds (monotonic) */
	int drawn;                  /* a bar is on the line */
} RtProgress;


/* ---- benchmarks (bench.c) ---------------------------------------------- */

/* Time fn on n synthetic samples: 3 warm-up calls, then repeat rounds of
** steps calls; ms[r] is round r's mean milliseconds per call. */
int rt_bench(const RtModel *m, RtPredictFn fn, int64_t n, int warmup, int steps, int repeat, int threads,
             double *ms, RtProf *prof, RtErr *e);
void rt_progress_epoch(RtProgress *p, int64_t epoch, int64_t epochs, int64_t nbatches);
/* After batch b (1-based): redraw the bar, at most ~10 times a second, with
** the epoch's running loss and training accuracy (NaN: not shown). */
void rt_progress_batch(RtProgress *p, int64_t b, double loss, double acc, int64_t images);
/* A line of its own (the epoch summary, a note), clearing the bar first. */
void rt_progress_line(RtProgress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* ---- training (train.c) ------------------------------------------------ */

typedef struct RtTrainResult {
	RtTrainState st;
	int stopped_early;
	int interrupted;            /* the signal (SIGINT, SIGTERM) that stopped the run, or 0 */
	int64_t epochs_run;         /* in this invocation */
	int has_val;                /* the monitored loss is a validation loss */
} RtTrainResult;

/* `train`: the whole run, as docs/runtime.md describes it. Progress,
** warnings and a closing summary go to o->log. While it runs, SIGINT and
** SIGTERM stop it at the next batch (a second one kills at once): the
** epoch under way is dropped, the checkpoints of finished epochs stay,
** res->interrupted says which signal came and o->log gets how to resume;
** that is not an error (0). The previous handlers are restored. */
int rt_train(const RtModel *m, const RtEntries *fns, const RtTrainOpts *o, RtTrainResult *res,
             RtErr *e);

/* ---- evaluation (eval.c) ----------------------------------------------- */

/* One pass of fn over the samples order[0..n) of L's dataset (L opened
** with this batch size), batch by batch, in an arena laid out for up to
** `batch` samples: per fed task, the probabilities (probs[q], n x classes)
** and labels (labels[q], n) in order; with_loss: the mean of the "loss"
** output weighted by batch size into *loss (else NaN). */
struct RtResults;
typedef struct RtPass {
	const RtModel *m;
	const RtFeed *feed;
	RtPredictFn fn;
	int with_loss;              /* fn is the eval entry, which writes "loss" */
	RtCtx ctx;
	char *arena;
	int64_t batch;
	float *probs[RT_MAXFEED];
	int32_t *labels[RT_MAXFEED];
	struct RtResults *res;      /* also keep every head's probabilities here; may be NULL */
} RtPass;
int rt_eval_pass(RtPass *p, Loader *L, const int64_t *order, int64_t n, double *loss, RtErr *e);

typedef struct RtEvalOpts {
	const char *weights;
	RtDataArgs data;            /* the labelled data and how it binds */
	const char *normalize;      /* --normalize; NULL: the checkpoint's, else none */
	const char *resize;         /* --resize; NULL: the checkpoint's, else area */
	int64_t batch;
	int threads;
	const char *per_sample;     /* write one row per sample here (.csv, .jsonl); NULL: none */
	int predict;                /* predict --data: the predict entry on data with or without
	                               labels (labels are not read), no metrics; without
	                               per_sample the rows go to `table` as a table */
	FILE *table;
} RtEvalOpts;

/* What `eval` found: per fed task, its name and metrics. */
typedef struct RtEvalResult {
	int ntasks;
	const char *task[RT_MAXFEED];
	Metrics metrics[RT_MAXFEED];
	int has_metrics[RT_MAXFEED];    /* 0: no classifier output (a custom loss): only the loss */
	const char *const *class_names[RT_MAXFEED];
	int64_t samples;
	double loss;                /* NaN when the model has no loss, or a task has no labels */
	Dataset ds;
} RtEvalResult;

/* `eval`: load weights and data, run eval (predict without a loss), compute
** metrics per task. Labels named by class are matched by name to the
** classes the checkpoint was trained on, when it records them. */
int rt_eval(const RtModel *m, const RtEntries *fns, const RtEvalOpts *o, RtEvalResult *r,
            RtErr *e, RtErr *warn);
void rt_eval_result_free(RtEvalResult *r);

/* ---- one row per sample (results.c) ------------------------------------ */

/* A classifier head the rows report: a task's output or, in a model
** without tasks, each predict output [N,K] with K >= 2. */
typedef struct RtHead {
	const char *name;           /* the task's or the output's */
	int output, k;
	char **names;               /* k class names (owned), or NULL: indices only */
	float *probs;               /* [n*k], dataset order */
	int32_t *truth;             /* [n] true labels (owned), or NULL */
} RtHead;

enum { RT_RES_TABLE, RT_RES_CSV, RT_RES_JSONL };

/* Per-sample results of predict --data and eval --per-sample: per sample
** its identifiers (file names, else its index in the array), per head the
** predicted class, its name and every probability, and with labels the
** true class and whether the prediction is right (docs/runtime.md). */
typedef struct RtResults {
	int format;                 /* RT_RES_* */
	RtOut out;                  /* the file, open from rt_results_open on */
	RtHead *head;
	int nheads;
	int64_t n;
} RtResults;

/* The format path's extension asks for: RT_RES_CSV (.csv) or RT_RES_JSONL
** (.jsonl), any case; -1 with e filled for any other. */
int rt_results_format(const char *path, RtErr *e);
/* Start results for path (NULL: a table on a stream later): check the
** extension and create the temporary file now, so an unwritable place
** fails before any work. */
int rt_results_open(RtResults *r, const char *path, RtErr *e);
/* The model's heads, with room for n samples; names[t] (task t's class
** names, one per line) may be NULL or hold NULLs. */
int rt_results_heads(RtResults *r, const RtModel *m, int64_t n, char *const *names, RtErr *e);
/* Write every row: into the file (then committed), or as a table to table.
** inputs[k] names the model input ds's image array k feeds. */
int rt_results_write(RtResults *r, const Dataset *ds, const char *const *inputs, FILE *table,
                     RtErr *e);
/* Free r and remove an uncommitted file. */
void rt_results_free(RtResults *r);

/* ---- Monte-Carlo dropout (mc.c, mc_report.c) --------------------------- */

typedef struct RtMcOpts {
	const char *weights;
	const char **inputs;        /* one path per data input: .npy or an image */
	const DataPrep *prep;       /* how files become inputs (NULL: no normalisation, area) */
	int64_t samples;            /* T stochastic passes */
	int64_t batch;              /* passes per call (0: all T at once) */
	uint64_t seed;
	int threads;
	char **classes;             /* per task: class names, one per line, or NULL */
} RtMcOpts;

/* One task's uncertainty for one input sample (probabilities in [k]). */
typedef struct RtMcTask {
	int k, pred;
	double *mean, *var;         /* [k]: mean and variance over the T passes */
	double entropy;             /* H[mean p] (nats) */
	double aleatoric;           /* E_t H[p_t] */
	double mutual_info;         /* entropy - aleatoric, the epistemic part (>= 0) */
	char **names;               /* k class names, or NULL */
} RtMcTask;

/* mc's result: per input sample, per task. */
typedef struct RtMcResult {
	int64_t n;                  /* input samples */
	int ntasks;
	const char *task[RT_MAXFEED];
	RtMcTask *t;                /* [n * ntasks] */
	int64_t samples;
	uint64_t seed;
} RtMcResult;

/* `mc`: T passes of fn (the mc entry) per input sample. */
int rt_mc(const RtModel *m, RtPredictFn fn, const RtMcOpts *o, RtMcResult *r, RtErr *e,
          RtErr *warn);
void rt_mc_free(RtMcResult *r);
/* The result as tables or JSON. */
int rt_mc_print(const RtModel *m, const RtMcResult *r, int json, FILE *out, RtErr *e);

#endif
