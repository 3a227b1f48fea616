/*
** profile.c -- `bench --profile` and `predict --profile`: where an entry's
** time goes, kernel call by kernel call. The descriptor lists each entry's
** calls with their arithmetic and bytes (lunac_rt.h); generated code ticks
** before each call (prof_tick.c); this file reads the list and prints, per
** call, the time per run, its share and the rate it reached.
*/
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "rt.h"

/* Call k from its descriptor form [node, "op", "shape", flops, fixed, batch]. */
static int read_call(const cJSON *a, RtProfCall *c)
{
	const cJSON *v[6];
	for (int i = 0; i < 6; i++)
		v[i] = cJSON_GetArrayItem(a, i);
	if (!cJSON_IsNumber(v[0]) || !cJSON_IsString(v[1]) || !cJSON_IsString(v[2]) ||
	    !cJSON_IsNumber(v[3]) || !cJSON_IsNumber(v[4]) || !cJSON_IsNumber(v[5]))
		return -1;
	c->node = v[0]->valueint;
	c->op = strdup(v[1]->valuestring);
	c->shape = strdup(v[2]->valuestring);
	c->flops = v[3]->valuedouble;
	c->fixed_bytes = v[4]->valuedouble;
	c->batch_bytes = v[5]->valuedouble;
	return c->op && c->shape ? 0 : -1;
}

int rt_prof_open(RtProf *p, const char *json, const char *entry, RtErr *e)
{
	memset(p, 0, sizeof *p);
	p->prev = -1;
	cJSON *root = cJSON_Parse(json);
	const cJSON *calls = root ? cJSON_GetObjectItemCaseSensitive(root, entry) : NULL;
	int rc = 0, n = cJSON_GetArraySize(calls);
	if (!cJSON_IsArray(calls))
		rc = rt_errorf(e, "this executable lists no kernel calls for the entry %s", entry);
	else if (!(p->calls = calloc((size_t)n + 1, sizeof *p->calls)) ||
	         !(p->sec = calloc((size_t)n + 1, sizeof *p->sec)))
		rc = rt_errorf(e, "out of memory");
	for (int k = 0; !rc && k < n; k++) {
		p->ncalls = k + 1;   /* rt_prof_free frees what read_call made */
		if (read_call(cJSON_GetArrayItem(calls, k), &p->calls[k]))
			rc = rt_errorf(e, "the descriptor's call %d of %s is malformed", k, entry);
	}
	cJSON_Delete(root);
	if (rc)
		rt_prof_free(p);
	return rc;
}

/* qsort_r: calls by their time in profile p, slowest first; equal times by
** call order. */
static int by_time(const void *a, const void *b, void *p)
{
	const RtProf *prof = p;
	int i = *(const int *)a, j = *(const int *)b;
	double d = prof->sec[j] - prof->sec[i];
	return d > 0 ? 1 : d < 0 ? -1 : i - j;
}

/* "123.4 GFLOP/s" for a call with arithmetic, else its memory rate. */
static void rate(const RtProfCall *c, int64_t n, double sec, char *buf, size_t cap)
{
	if (sec <= 0)
		snprintf(buf, cap, "-");
	else if (c->flops > 0)
		snprintf(buf, cap, "%.2f GFLOP/s", c->flops * (double)n / sec * 1e-9);
	else
		snprintf(buf, cap, "%.2f GB/s", (c->fixed_bytes + c->batch_bytes * (double)n) / sec * 1e-9);
}

void rt_prof_print(const RtProf *p, int64_t n, FILE *out)
{
	int *order = malloc(sizeof *order * (size_t)(p->ncalls + 1));
	double total = 0, runs = p->runs > 0 ? (double)p->runs : 1;
	if (n <= 0)
		n = p->runs > 0 ? (p->samples + p->runs / 2) / p->runs : 0;
	if (!order) {
		fprintf(out, "profile: out of memory\n");
		return;
	}
	for (int k = 0; k < p->ncalls; k++) {
		order[k] = k;
		total += p->sec[k];
	}
	qsort_r(order, (size_t)p->ncalls, sizeof *order, by_time, (void *)p);
	fprintf(out, "%-5s %-7s %-14s %-22s %10s %7s  %s\n", "call", "node", "op", "shape", "ms/run",
	        "share", "rate");
	for (int i = 0; i < p->ncalls; i++) {
		const RtProfCall *c = &p->calls[order[i]];
		double sec = p->sec[order[i]] / runs;
		char r[48];
		rate(c, n, sec, r, sizeof r);
		fprintf(out, "%-5d %%%-6d %-14s %-22s %10.3f %6.1f%%  %s\n", order[i], c->node, c->op,
		        c->shape, sec * 1e3, total > 0 ? 100 * p->sec[order[i]] / total : 0.0, r);
	}
	double flops = 0;
	for (int k = 0; k < p->ncalls; k++)
		flops += p->calls[k].flops * (double)n;
	fprintf(out, "total %lld kernel calls, %.3f ms per run (%lld run%s, batch %lld), %.2f GFLOP/s "
	        "over the run\n", (long long)p->ncalls, total / runs * 1e3, (long long)p->runs,
	        p->runs == 1 ? "" : "s", (long long)n, total > 0 ? flops / (total / runs) * 1e-9 : 0.0);
	free(order);
}

void rt_prof_free(RtProf *p)
{
	for (int64_t k = 0; p->calls && k < p->ncalls; k++) {
		free(p->calls[k].op);
		free(p->calls[k].shape);
	}
	free(p->calls);
	free(p->sec);
	memset(p, 0, sizeof *p);
	p->prev = -1;
}
