/*
** err.c -- error messages: the first error wins, later ones are dropped. A
** message longer than RT_ERRLEN (a very long path in it) ends in "..." so
** the cut is visible.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "rt.h"

int rt_errorf(RtErr *e, const char *fmt, ...)
{
	if (!e || e->set)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
	if (n >= (int)sizeof e->msg)
		memcpy(e->msg + sizeof e->msg - 4, "...", 4);
	e->set = 1;
	return -1;
}

char *rt_shape_str(char *buf, size_t len, int ndim, const int64_t *shape)
{
	size_t k = 0;
	k += snprintf(buf + k, len - k, "[");
	for (int i = 0; i < ndim && k < len; i++) {
		if (shape[i] < 0)
			k += snprintf(buf + k, len - k, "%sN", i ? "," : "");
		else
			k += snprintf(buf + k, len - k, "%s%lld", i ? "," : "", (long long)shape[i]);
	}
	if (k < len)
		k += snprintf(buf + k, len - k, "]");
	if (k >= len && len >= 4)
		memcpy(buf + len - 4, "...", 4);   /* cut short: show it */
	return buf;
}
