/*
** schedule.c -- the learning rate from epoch to epoch, and early stopping,
** as Keras' ReduceLROnPlateau and EarlyStopping do them (cooldown 0), since
** the authors trained with those, except that an improvement must beat the
** best by a relative --min-delta (default 1e-4, PyTorch ReduceLROnPlateau's
** threshold in mode "rel"; Keras' min_delta is absolute and 0), so that a
** float-rounding wiggle of the loss does not count as progress:
**
**   plateau  after `patience` epochs in a row without a new best monitored
**            loss, lr <- max(lr * factor, min_lr) (only while lr > min_lr)
**            and the count starts again
**   cosine   lr(e) = min_lr + (lr0 - min_lr)(1 + cos(pi e / E)) / 2 for the
**            0-based epoch e of E (--epochs)
**   none     lr stays
**
** Early stopping ends the run after `early_stop` epochs without a new best.
*/
#include <math.h>

#include "train.h"

double rt_sched_cosine(double lr0, double min_lr, int64_t e, int64_t E)
{
	if (E <= 0 || e >= E)
		return min_lr;
	return min_lr + (lr0 - min_lr) * (1.0 + cos(M_PI * (double)e / (double)E)) / 2.0;
}

/* Keras' plateau step: count a bad epoch, reduce lr when patience runs out. */
static int plateau(const RtTrainOpts *o, RtTrainState *st, int improved)
{
	if (improved) {
		st->plateau_wait = 0;
		return 0;
	}
	if (++st->plateau_wait < o->plateau_patience)
		return 0;
	if (!(st->lr > o->min_lr))
		return 0;
	double lr = st->lr * o->plateau_factor;
	st->lr = lr > o->min_lr ? lr : o->min_lr;
	st->plateau_wait = 0;
	return RT_SCHED_LR_CHANGED;
}

int rt_sched_improves(double loss, double best, double min_delta)
{
	if (isinf(best) && best > 0)
		return loss < best;
	return loss < best - min_delta * fabs(best);
}

int rt_sched_epoch_end(const RtTrainOpts *o, RtTrainState *st, double loss)
{
	int flags = 0, improved = rt_sched_improves(loss, st->best_loss, o->min_delta);
	st->epoch++;
	if (improved) {
		st->best_loss = loss;
		st->best_epoch = st->epoch;
		flags |= RT_SCHED_IMPROVED;
	}
	st->early_stop_wait = improved ? 0 : st->early_stop_wait + 1;
	if (o->schedule == RT_SCHED_PLATEAU) {
		flags |= plateau(o, st, improved);
	} else if (o->schedule == RT_SCHED_COSINE) {
		double lr = rt_sched_cosine(o->lr, o->min_lr, st->epoch, o->epochs);
		flags |= lr != st->lr ? RT_SCHED_LR_CHANGED : 0;
		st->lr = lr;
	}
	if (o->early_stop > 0 && st->early_stop_wait >= o->early_stop)
		flags |= RT_SCHED_STOP;
	return flags;
}
