/*
** phase.c -- what `lunac build` is doing, on a terminal. A large model
** takes tens of seconds to compile; on a terminal the driver keeps one
** status line on stderr, redrawn in place as each phase starts:
**
**   lunac: optimising (LLVM -O3) ... 6 s
**
** and erased when the build ends, so the terminal keeps only real output.
** When stderr is not a terminal (a log, a pipe) nothing is printed.
*/
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "phase.h"

static int shown;       /* a status line is on the screen */
static int tty = -1;    /* stderr is a terminal; -1: not yet asked */
static double t0;       /* when the first phase started */

/* Seconds on the monotonic clock. */
static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void drv_phase(const char *what)
{
	if (tty < 0) {
		tty = isatty(2);
		t0 = now();
	}
	if (!tty)
		return;
	fprintf(stderr, "\r\033[Klunac: %s ... %.0f s", what, now() - t0);
	fflush(stderr);
	shown = 1;
}

void drv_phase_end(void)
{
	if (shown)
		fputs("\r\033[K", stderr);
	shown = 0;
}
