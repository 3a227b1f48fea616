/*
** progress.c -- what training shows while it runs. On a terminal, a
** one-line bar redrawn in place (\r) at most about ten times a second:
**
**   epoch 3/50 [=========>          ]  45%  ETA 0:12  loss 0.4321 acc 0.8512  5230 img/s
**
** and, in any case, one plain line per epoch (the caller's summary), so a
** log file gets one line per epoch and no control characters.
*/
#include <math.h>
#include <stdarg.h>
#include <time.h>

#include "train.h"

#define BAR 24

void rt_progress_epoch(RtProgress *p, int64_t epoch, int64_t epochs, int64_t nbatches)
{
	p->epoch = epoch;
	p->epochs = epochs;
	p->nbatches = nbatches;
	p->t0 = rt_now();
	p->last_draw = 0;
}

/* "1:02:03" or "2:03" for s seconds. */
static void hms(char *buf, size_t len, double s)
{
	long t = s > 0 && s < 1e9 ? (long)(s + 0.5) : 0;
	if (t >= 3600)
		snprintf(buf, len, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
	else
		snprintf(buf, len, "%ld:%02ld", t / 60, t % 60);
}

void rt_progress_batch(RtProgress *p, int64_t b, double loss, double acc, int64_t images)
{
	if (!p->f || !p->tty || p->nbatches <= 0)
		return;
	double now = rt_now();
	if (b < p->nbatches && now - p->last_draw < 0.1)
		return;
	p->last_draw = now;
	double frac = (double)b / (double)p->nbatches, el = now - p->t0;
	char bar[BAR + 1], eta[32];
	int fill = (int)(frac * BAR);
	for (int i = 0; i < BAR; i++)
		bar[i] = i < fill ? '=' : i == fill ? '>' : ' ';
	bar[BAR] = 0;
	hms(eta, sizeof eta, b > 0 ? el / (double)b * (double)(p->nbatches - b) : 0);
	char accs[32] = "";
	if (!isnan(acc))
		snprintf(accs, sizeof accs, " acc %.4f", acc);
	fprintf(p->f, "\r\033[Kepoch %lld/%lld [%s] %3d%%  ETA %s  loss %.4f%s  %.0f img/s",
	        (long long)p->epoch, (long long)p->epochs, bar, (int)(frac * 100), eta, loss, accs,
	        el > 0 ? (double)images / el : 0.0);
	fflush(p->f);
	p->drawn = 1;
}

void rt_progress_line(RtProgress *p, const char *fmt, ...)
{
	if (!p->f)
		return;
	if (p->drawn)
		fputs("\r\033[K", p->f);
	p->drawn = 0;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(p->f, fmt, ap);
	va_end(ap);
	fputc('\n', p->f);
	fflush(p->f);
}
