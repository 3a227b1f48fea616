/* clock.c -- the runtime's one clock (rt.h: rt_now). */
#include <time.h>

#include "rt.h"

double rt_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}
