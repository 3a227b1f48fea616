/*
** train_run.h -- the state of one `train` invocation, shared by train.c
** (setup and teardown) and train_epoch.c (one epoch). Private to them.
*/
#ifndef LUNAC_TRAIN_RUN_H
#define LUNAC_TRAIN_RUN_H

#include "train.h"

/* Where the hyper.* inputs live in the arena (NULL: the model has none). */
typedef struct Hyper {
	float *lr, *clip, *momentum, *wd, *b1, *b2, *eps, *wd_l2, *wd_dec, *ibc1, *ibc2;
} Hyper;

typedef struct Run {
	const RtModel *m;
	RtTrainOpts o;              /* the settings, merged with a resumed checkpoint's */
	RtTrainState st;
	const RtEntry *train_entry;
	RtPredictFn step_fn;        /* lunac_train_sgd or lunac_train_adam */
	int loss_out;               /* index of the "loss" output */
	int train_probs[RT_MAXFEED];/* per fed task: the output of the probabilities the train
	                               entry writes, or -1 */
	RtFeed feed;
	Dataset train_ds, val_ds;
	DataNorm norm;              /* --normalize */
	char *classes[RT_MAXFEED];  /* per model task: the class names, one per line, or NULL */
	const Dataset *vds;         /* the validation samples' dataset: val_ds or train_ds */
	DataIndex tr, va;           /* training and validation samples */
	int64_t *order;             /* this epoch's order of tr */
	Loader *L, *LV;
	char *arena;                /* allocated once, for pass.batch samples */
	RtPass pass;                /* validation: the eval entry */
	Hyper hy;
	RtRunDir dir;
	RtProgress prog;
	int noted_chance;           /* the note on validation accuracy near chance was printed */
	int chance_streak[RT_MAXFEED];  /* per fed task: epochs in a row that met its condition */
} Run;

/* The note on validation accuracy near chance c (train_epoch.c): training
** accuracy at least c + RT_NOTE_TRAIN_WAY (1 - c), validation accuracy at
** most c + RT_NOTE_CHANCE_MARGIN, in RT_NOTE_EPOCHS epochs in a row. */
#define RT_NOTE_TRAIN_WAY 0.5
#define RT_NOTE_CHANCE_MARGIN 0.1
#define RT_NOTE_EPOCHS 2

/* The signal that asked the run to stop (SIGINT, SIGTERM), or 0 (train.c). */
int run_interrupted(void);

/* Find the hyper.* inputs in the arena. */
int hyper_bind(Run *r, RtErr *e);
/* Train one epoch, validate, schedule, log and checkpoint; *flags gets
** rt_sched_epoch_end's. An interruption (run_interrupted) during the
** training batches ends the epoch early with *flags 0 and nothing written;
** one after them lets the epoch finish. */
int run_epoch(Run *r, int *flags, RtErr *e);

#endif
