/*
** err.c -- error messages: the first error wins, later ones are dropped.
*/
#include <stdarg.h>
#include <stdio.h>

#include "rt.h"

int rt_errorf(RtErr *e, const char *fmt, ...)
{
	if (!e || e->set)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof e->msg, fmt, ap);
	va_end(ap);
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
		snprintf(buf + k, len - k, "]");
	return buf;
}
