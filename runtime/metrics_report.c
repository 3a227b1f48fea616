/*
** metrics_report.c -- Metrics as a JSON object and as a readable table.
**
** JSON:
**   {"samples": n, "classes": k, "accuracy", "cross_entropy",
**    "chance_accuracy", "chance_cross_entropy",
**    "macro": {"precision", "recall", "f1", "auc", "classes", "auc_classes"},
**    "per_class": [{"class": 0, "name"?, "precision", "recall", "f1", "auc",
**                   "support", "predicted"}, ...],
**    "confusion": [[...], ...]}        rows: true class, columns: predicted
** A NaN (an undefined AUC) is null.
*/
#include <math.h>
#include <string.h>

#include "metrics.h"

/* The accuracy of always answering the most frequent class of this data. */
static double chance_accuracy(const Metrics *m)
{
	int64_t most = 0;
	for (int c = 0; c < m->k; c++)
		most = m->support[c] > most ? m->support[c] : most;
	return m->n > 0 ? (double)most / (double)m->n : NAN;
}

/* The cross-entropy of answering 1/K for every class: ln K. */
static double chance_cross_entropy(const Metrics *m)
{
	return log((double)m->k);
}

/* Add a number to obj, null when it is NaN or infinite; 0 when out of memory. */
static int add_num(cJSON *obj, const char *key, double v)
{
	return (isfinite(v) ? cJSON_AddNumberToObject(obj, key, v)
	                    : cJSON_AddNullToObject(obj, key)) != NULL;
}

/* The per_class entry for class c. */
static cJSON *class_json(const Metrics *m, int c, const char *const *names)
{
	cJSON *o = cJSON_CreateObject();
	int ok = o && cJSON_AddNumberToObject(o, "class", c) &&
	         (!names || cJSON_AddStringToObject(o, "name", names[c])) &&
	         add_num(o, "precision", m->precision[c]) && add_num(o, "recall", m->recall[c]) &&
	         add_num(o, "f1", m->f1[c]) && add_num(o, "auc", m->auc[c]) &&
	         add_num(o, "support", (double)m->support[c]) &&
	         add_num(o, "predicted", (double)m->predicted[c]);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}

/* The macro averages. */
static cJSON *macro_json(const Metrics *m)
{
	cJSON *o = cJSON_CreateObject();
	if (o && add_num(o, "precision", m->macro_precision) && add_num(o, "recall", m->macro_recall) &&
	    add_num(o, "f1", m->macro_f1) && add_num(o, "auc", m->macro_auc) &&
	    add_num(o, "classes", m->macro_classes) && add_num(o, "auc_classes", m->auc_classes))
		return o;
	cJSON_Delete(o);
	return NULL;
}

/* The confusion matrix as an array of rows. */
static cJSON *confusion_json(const Metrics *m)
{
	cJSON *rows = cJSON_CreateArray();
	for (int t = 0; rows && t < m->k; t++) {
		cJSON *row = cJSON_CreateArray();
		if (!row || !cJSON_AddItemToArray(rows, row)) {
			cJSON_Delete(row);
			goto fail;
		}
		for (int p = 0; p < m->k; p++) {
			cJSON *v = cJSON_CreateNumber((double)m->confusion[(size_t)t * m->k + p]);
			if (!v || !cJSON_AddItemToArray(row, v)) {
				cJSON_Delete(v);
				goto fail;
			}
		}
	}
	return rows;
fail:
	cJSON_Delete(rows);
	return NULL;
}

cJSON *metrics_json(const Metrics *m, const char *const *names)
{
	cJSON *o = cJSON_CreateObject(), *per = NULL, *part;
	if (!o || !add_num(o, "samples", (double)m->n) || !add_num(o, "classes", m->k) ||
	    !add_num(o, "accuracy", m->accuracy) || !add_num(o, "cross_entropy", m->cross_entropy) ||
	    !add_num(o, "chance_accuracy", chance_accuracy(m)) ||
	    !add_num(o, "chance_cross_entropy", chance_cross_entropy(m)))
		goto fail;
	if (!(part = macro_json(m)) || !cJSON_AddItemToObject(o, "macro", part))
		goto fail_part;
	if (!(per = cJSON_AddArrayToObject(o, "per_class")))
		goto fail;
	for (int c = 0; c < m->k; c++)
		if (!(part = class_json(m, c, names)) || !cJSON_AddItemToArray(per, part))
			goto fail_part;
	if (!(part = confusion_json(m)) || !cJSON_AddItemToObject(o, "confusion", part))
		goto fail_part;
	return o;
fail_part:
	cJSON_Delete(part);
fail:
	cJSON_Delete(o);
	return NULL;
}

/* Print v in a field of 7, or "-" when it is undefined. */
static void cell(FILE *out, double v)
{
	if (isfinite(v))
		fprintf(out, " %7.4f", v);
	else
		fprintf(out, " %7s", "-");
}

/* The row label of class c: its index and, when known, its name. */
static void label(FILE *out, int c, const char *const *names)
{
	char buf[64];
	snprintf(buf, sizeof buf, "%d%s%.16s", c, names ? " " : "", names ? names[c] : "");
	fprintf(out, "%-20s", buf);
}

/* The confusion matrix with the true class in rows. */
static void print_confusion(const Metrics *m, FILE *out)
{
	int64_t most = 0;
	for (size_t i = 0; i < (size_t)m->k * m->k; i++)
		most = m->confusion[i] > most ? m->confusion[i] : most;
	int w = snprintf(NULL, 0, "%lld", (long long)most) + 1;
	w = w < 5 ? 5 : w;
	fprintf(out, "\nconfusion matrix (rows: true class, columns: predicted class)\n%6s", "");
	for (int p = 0; p < m->k; p++)
		fprintf(out, "%*d", w, p);
	for (int t = 0; t < m->k; t++) {
		fprintf(out, "\n%6d", t);
		for (int p = 0; p < m->k; p++)
			fprintf(out, "%*lld", w, (long long)m->confusion[(size_t)t * m->k + p]);
	}
	fprintf(out, "\n");
}

void metrics_print(const Metrics *m, const char *const *names, FILE *out)
{
	fprintf(out, "samples %lld   accuracy %.4f   cross-entropy %.4f\n", (long long)m->n,
	        m->accuracy, m->cross_entropy);
	fprintf(out, "chance          accuracy %.4f   cross-entropy %.4f"
	        "   (always the most frequent class; 1/%d for every class)\n\n",
	        chance_accuracy(m), chance_cross_entropy(m), m->k);
	fprintf(out, "%-20s %7s %7s %7s %7s %8s\n", "class", "prec", "recall", "f1", "auc",
	        "support");
	for (int c = 0; c < m->k; c++) {
		label(out, c, names);
		cell(out, m->precision[c]);
		cell(out, m->recall[c]);
		cell(out, m->f1[c]);
		cell(out, m->auc[c]);
		fprintf(out, " %8lld\n", (long long)m->support[c]);
	}
	fprintf(out, "%-20s", "macro");
	cell(out, m->macro_precision);
	cell(out, m->macro_recall);
	cell(out, m->macro_f1);
	cell(out, m->macro_auc);
	fprintf(out, " %8lld\n", (long long)m->n);
	print_confusion(m, out);
}
