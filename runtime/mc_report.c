/*
** mc_report.c -- `mc`'s result as readable tables or as JSON:
**
**   {"model", "passes": T, "seed": S, "inputs": n,
**    "results": [{TASK: {"predicted", "predicted_class"?, "classes"?, "mean": [k],
**                        "variance": [k], "entropy", "aleatoric",
**                        "mutual_information"}}, ...]}   one object per input sample
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "train.h"

/* An array of k doubles (NaN as null). */
static cJSON *numbers(const double *x, int k)
{
	cJSON *a = cJSON_CreateArray();
	for (int j = 0; a && j < k; j++) {
		cJSON *v = isfinite(x[j]) ? cJSON_CreateNumber(x[j]) : cJSON_CreateNull();
		if (!v || !cJSON_AddItemToArray(a, v)) {
			cJSON_Delete(v);
			cJSON_Delete(a);
			return NULL;
		}
	}
	return a;
}

/* One task's numbers as an object. */
static cJSON *task_json(const RtMcTask *s)
{
	cJSON *j = cJSON_CreateObject();
	int ok = j && cJSON_AddNumberToObject(j, "predicted", s->pred);
	if (ok && s->names)
		ok = cJSON_AddStringToObject(j, "predicted_class", s->names[s->pred]) &&
		     cJSON_AddItemToObject(j, "classes",
		                           cJSON_CreateStringArray((const char *const *)s->names, s->k));
	cJSON *mean = ok ? numbers(s->mean, s->k) : NULL, *var = mean ? numbers(s->var, s->k) : NULL;
	ok = ok && mean && cJSON_AddItemToObject(j, "mean", mean);
	if (!ok)
		cJSON_Delete(mean);
	ok = ok && var && cJSON_AddItemToObject(j, "variance", var);
	if (!ok)
		cJSON_Delete(var);
	ok = ok && cJSON_AddNumberToObject(j, "entropy", s->entropy) &&
	     cJSON_AddNumberToObject(j, "aleatoric", s->aleatoric) &&
	     cJSON_AddNumberToObject(j, "mutual_information", s->mutual_info);
	if (!ok) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

static int print_json(const RtModel *m, const RtMcResult *r, FILE *out, RtErr *e)
{
	cJSON *j = cJSON_CreateObject(), *res = NULL;
	int ok = j && cJSON_AddStringToObject(j, "model", m->name) &&
	         cJSON_AddNumberToObject(j, "passes", (double)r->samples) &&
	         cJSON_AddNumberToObject(j, "seed", (double)r->seed) &&
	         cJSON_AddNumberToObject(j, "inputs", (double)r->n) &&
	         (res = cJSON_AddArrayToObject(j, "results"));
	for (int64_t i = 0; ok && i < r->n; i++) {
		cJSON *one = cJSON_CreateObject();
		ok = one && cJSON_AddItemToArray(res, one);
		for (int q = 0; ok && q < r->ntasks; q++) {
			cJSON *t = task_json(&r->t[i * r->ntasks + q]);
			ok = t && cJSON_AddItemToObject(one, r->task[q], t);
		}
	}
	char *text = ok ? cJSON_Print(j) : NULL;
	cJSON_Delete(j);
	if (!text)
		return rt_errorf(e, "out of memory");
	fprintf(out, "%s\n", text);
	free(text);
	return 0;
}

/* One task's table. */
static void task_table(const char *name, const RtMcTask *s, FILE *out)
{
	fprintf(out, "\ntask %s (%d classes): predicted %d", name, s->k, s->pred);
	if (s->names)
		fprintf(out, " (%s)", s->names[s->pred]);
	fprintf(out, "\n  %-22s %10s %10s\n", "class", "mean p", "variance");
	for (int j = 0; j < s->k; j++) {
		char label[64];
		snprintf(label, sizeof label, "%d%s%.40s", j, s->names ? " " : "",
		         s->names ? s->names[j] : "");
		fprintf(out, "  %-22s %10.4f %10.6f%s\n", label, s->mean[j], s->var[j],
		        j == s->pred ? "  <" : "");
	}
	fprintf(out, "  predictive entropy H[mean p]  %.4f nats\n", s->entropy);
	fprintf(out, "  expected entropy E[H[p]]      %.4f (aleatoric)\n", s->aleatoric);
	fprintf(out, "  mutual information            %.4f (epistemic)\n", s->mutual_info);
}

int rt_mc_print(const RtModel *m, const RtMcResult *r, int json, FILE *out, RtErr *e)
{
	if (json) {
		if (print_json(m, r, out, e))
			return -1;
	} else {
		fprintf(out, "model %s: %lld Monte-Carlo passes, seed %llu\n", m->name,
		        (long long)r->samples, (unsigned long long)r->seed);
		for (int64_t i = 0; i < r->n; i++) {
			if (r->n > 1)
				fprintf(out, "\n== sample %lld ==\n", (long long)i);
			for (int q = 0; q < r->ntasks; q++)
				task_table(r->task[q], &r->t[i * r->ntasks + q], out);
		}
	}
	return rt_flush_out(out, e);
}
