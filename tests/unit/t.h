/*
** t.h -- the smallest test harness: each check prints "ok - NAME" or
** "not ok - NAME: why"; tests/run.sh counts them. A test file is a program
** whose main calls its cases and returns t_done().
*/
#ifndef LUNAC_T_H
#define LUNAC_T_H

#include <stdarg.h>
#include <stdio.h>

static int t_failed_;

/* Record one check: ok when cond holds, else print why (printf format). */
static void t_check(int cond, const char *name, const char *fmt, ...)
{
	if (cond) {
		printf("ok - %s\n", name);
		return;
	}
	t_failed_++;
	printf("not ok - %s: ", name);
	va_list ap;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
}

/* Exit status for main: 0 when every check passed. */
static int t_done(void)
{
	return t_failed_ ? 1 : 0;
}

#endif
