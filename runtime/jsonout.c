/*
** jsonout.c -- small pieces of JSON printing that cJSON does poorly for us:
** floats in their shortest round-tripping form (0.1, not 0.100000001) and
** descriptor shapes.
*/
#include <math.h>
#include <stdlib.h>

#include "rt.h"

void rt_json_float(FILE *out, float v)
{
	if (!isfinite(v)) {
		fputs("null", out);
		return;
	}
	char buf[32];
	for (int prec = 6; prec <= 9; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, (double)v);
		if (strtof(buf, NULL) == v)
			break;
	}
	fputs(buf, out);
}

void rt_json_str(FILE *out, const char *s)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(out, "\\u%04x", *p);
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

void rt_json_shape(FILE *out, const RtTensor *t, int64_t n)
{
	fputc('[', out);
	for (int i = 0; i < t->ndim; i++)
		fprintf(out, "%s%lld", i ? ", " : "", (long long)(t->shape[i] < 0 && n >= 0 ? n : t->shape[i]));
	fputc(']', out);
}
