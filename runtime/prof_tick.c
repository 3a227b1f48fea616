/*
** prof_tick.c -- what generated code calls to be profiled: one tick before
** each kernel call and one at the end of the entry (lunac_rt.h). The time
** between tick k and the next is kernel call k's. Kept apart from the
** report (profile.c) so that generated code links only this and the clock.
*/
#include "rt.h"

void rt_prof_tick(const RtCtx *ctx, uint32_t k)
{
	RtProf *p = ctx->prof;
	if (!p)
		return;
	double t = rt_now();
	if (p->prev >= 0 && p->prev < p->ncalls)
		p->sec[p->prev] += t - p->t;
	if ((int64_t)k >= p->ncalls) {
		p->prev = -1;
		p->runs++;
	} else {
		p->prev = (int64_t)k;
	}
	p->t = rt_now();   /* the tick's own time is nobody's */
}
