/*
** err.c -- error messages: the first error wins, later ones are dropped. A
** message longer than RT_ERRLEN (a very long path in it) keeps its start
** and its end (where the reason is) with "..." in the middle.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

int rt_errorf(RtErr *e, const char *fmt, ...)
{
	if (!e || e->set)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	char *full = NULL;
	int n = vasprintf(&full, fmt, ap);
	va_end(ap);
	size_t len = sizeof e->msg, head = len / 2, tail = len - head - 4;
	if (n < 0) {   /* out of memory: the format itself */
		full = NULL;
		snprintf(e->msg, len, "%s", fmt);
	} else if ((size_t)n < len) {
		memcpy(e->msg, full, (size_t)n + 1);
	} else {   /* keep the start and the end (the reason), cut the middle */
		memcpy(e->msg, full, head);
		memcpy(e->msg + head, "...", 3);
		memcpy(e->msg + head + 3, full + n - tail, tail + 1);
	}
	free(full);
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
