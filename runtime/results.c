/*
** results.c -- one row per sample for `predict --data` and `eval
** --per-sample`: a CSV file, a JSON Lines file (chosen by the extension) or
** a table on stdout. Rows follow the order of the first image array's
** rows (the file order of a folder, the index order of an array), not the
** shuffled order datasets are joined in. Columns (docs/runtime.md):
**
**   file | index          per image array: its file name, else its row;
**                         with several inputs "file.<input>", "index.<input>"
**   T.pred  T.pred_name   per head T: the predicted class and its name
**   T.prob.<class>        every probability, named by class (else index)
**   T.true  T.true_name  T.correct     with labels (eval)
**
** The file is created (as a temporary) before the work starts and renamed
** into place only when every row is written: nothing half-written is left.
*/
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "csv.h"
#include "train.h"

int rt_results_format(const char *path, RtErr *e)
{
	const char *dot = strrchr(path, '.'), *slash = strrchr(path, '/');
	if (dot && (!slash || dot > slash) && !strcasecmp(dot, ".csv"))
		return RT_RES_CSV;
	if (dot && (!slash || dot > slash) && !strcasecmp(dot, ".jsonl"))
		return RT_RES_JSONL;
	return rt_errorf(e, "%s: the results file must end in .csv or .jsonl (its extension "
	                 "chooses the format)", path);
}

int rt_results_open(RtResults *r, const char *path, RtErr *e)
{
	memset(r, 0, sizeof *r);
	if (!path)
		return 0;
	int f = rt_results_format(path, e);
	if (f < 0)
		return -1;
	r->format = f;
	return rt_out_open(&r->out, path, e);
}

/* Whether predict output o is a classifier [N,K], K >= 2. */
static int is_classifier(const RtTensor *t)
{
	return t->dtype == RT_F32 && t->batched && t->ndim == 2 && t->shape[1] >= 2;
}

/* Head h: name, output, k, names (split from joined, when it has k lines)
** and room for n samples. */
static int head_init(RtHead *h, const char *name, int output, int k, const char *joined,
                     int64_t n, RtErr *e)
{
	h->name = name, h->output = output, h->k = k;
	int got = 0;
	if (joined && !(h->names = data_names_split(joined, &got)))
		return rt_errorf(e, "out of memory");
	if (h->names && got != k) {   /* not this head's classes: indices only */
		data_names_free(h->names, got);
		h->names = NULL;
	}
	if (!(h->probs = malloc(sizeof(float) * (size_t)(n ? n : 1) * (size_t)k)))
		return rt_errorf(e, "out of memory for the probabilities of %lld samples", (long long)n);
	return 0;
}

int rt_results_heads(RtResults *r, const RtModel *m, int64_t n, char *const *names, RtErr *e)
{
	int cap = m->ntasks ? m->ntasks : m->npredict;
	r->n = n;
	if (!(r->head = calloc((size_t)cap + 1, sizeof *r->head)))
		return rt_errorf(e, "out of memory");
	for (int t = 0; t < m->ntasks; t++)
		if (head_init(&r->head[r->nheads++], m->tasks[t].name, m->tasks[t].output,
		              m->tasks[t].classes, names ? names[t] : NULL, n, e))
			return -1;
	for (int i = 0; !m->ntasks && i < m->npredict; i++)
		if (is_classifier(&m->outputs[i]) &&
		    head_init(&r->head[r->nheads++], m->outputs[i].name, i, (int)m->outputs[i].shape[1],
		              NULL, n, e))
			return -1;
	if (r->nheads == 0)
		return rt_errorf(e, "the model has no classifier output [N,K] to report per sample "
		                 "(predict --input with -o OUT.npy saves any output)");
	return 0;
}

/* The row of image array k that sample s reads. */
static int64_t row_of(const DataImages *im, int64_t s)
{
	return im->map ? im->map[s] : s;
}

/* Samples ordered by the first image array's row, then by sample (a new
** array; NULL when out of memory). A counting sort: rows < rows0. */
static int64_t *row_order(const Dataset *ds, int64_t n)
{
	const DataImages *im = &ds->mod[0];
	int64_t rows = im->rows > 0 ? im->rows : 1;
	int64_t *start = calloc((size_t)rows + 1, sizeof *start), *order = malloc(sizeof *order * (size_t)(n ? n : 1));
	if (!start || !order) {
		free(start);
		free(order);
		return NULL;
	}
	for (int64_t s = 0; s < n; s++)
		start[row_of(im, s) + 1]++;
	for (int64_t i = 0; i < rows; i++)
		start[i + 1] += start[i];
	for (int64_t s = 0; s < n; s++)
		order[start[row_of(im, s)]++] = s;
	free(start);
	return order;
}

/* The predicted class of sample s of head h: the first largest probability. */
static int pred_of(const RtHead *h, int64_t s)
{
	const float *p = h->probs + (size_t)s * (size_t)h->k;
	int best = 0;
	for (int c = 1; c < h->k; c++)
		if (p[c] > p[best])
			best = c;
	return best;
}

/* The identifier column of image array k: "file" or "index", ".<input>"
** with several arrays. */
static void id_name(FILE *f, const Dataset *ds, int k, const char *const *inputs)
{
	fputs(ds->mod[k].ids ? "file" : "index", f);
	if (ds->nmod > 1)
		fprintf(f, ".%s", inputs[k]);
}

/* A column name "<head>.<what>[<class>]" as a CSV field. */
static void col(FILE *f, const RtHead *h, const char *what, int c)
{
	char *s = NULL;
	char num[16];
	snprintf(num, sizeof num, "%d", c);
	if (asprintf(&s, "%s.%s%s", h->name, what, c < 0 ? "" : h->names ? h->names[c] : num) < 0)
		s = NULL;
	csv_write_field(f, s ? s : h->name);
	free(s);
}

/* The CSV header line. */
static void csv_header(const RtResults *r, const Dataset *ds, const char *const *inputs, FILE *f)
{
	for (int k = 0; k < ds->nmod; k++) {
		fputs(k ? "," : "", f);
		id_name(f, ds, k, inputs);
	}
	for (int i = 0; i < r->nheads; i++) {
		const RtHead *h = &r->head[i];
		fputc(',', f), col(f, h, "pred", -1);
		if (h->names)
			fputc(',', f), col(f, h, "pred_name", -1);
		for (int c = 0; c < h->k; c++)
			fputc(',', f), col(f, h, "prob.", c);
		if (h->truth) {
			fputc(',', f), col(f, h, "true", -1);
			if (h->names)
				fputc(',', f), col(f, h, "true_name", -1);
			fputc(',', f), col(f, h, "correct", -1);
		}
	}
	fputc('\n', f);
}

/* Sample s's identifier in array k as text into buf (a file name is
** returned as it is). */
static const char *id_text(const Dataset *ds, int k, int64_t s, char buf[24])
{
	const DataImages *im = &ds->mod[k];
	int64_t row = row_of(im, s);
	if (im->ids)
		return im->ids[row];
	snprintf(buf, 24, "%lld", (long long)row);
	return buf;
}

/* One CSV row. */
static void csv_row(const RtResults *r, const Dataset *ds, int64_t s, FILE *f)
{
	char buf[24];
	for (int k = 0; k < ds->nmod; k++) {
		fputs(k ? "," : "", f);
		csv_write_field(f, id_text(ds, k, s, buf));
	}
	for (int i = 0; i < r->nheads; i++) {
		const RtHead *h = &r->head[i];
		int p = pred_of(h, s);
		fprintf(f, ",%d", p);
		if (h->names)
			fputc(',', f), csv_write_field(f, h->names[p]);
		for (int c = 0; c < h->k; c++) {
			fputc(',', f);
			rt_json_float(f, h->probs[(size_t)s * (size_t)h->k + (size_t)c]);
		}
		if (h->truth) {
			int t = h->truth[s];
			fprintf(f, ",%d", t);
			if (h->names)
				fputc(',', f), csv_write_field(f, t < h->k ? h->names[t] : "");
			fprintf(f, ",%s", t == p ? "true" : "false");
		}
	}
	fputc('\n', f);
}

/* One JSON line: {"file": ..., "tasks": {T: {"pred", "pred_name"?, "probs": {class: p},
** "true"?, "true_name"?, "correct"?}}}. */
static void json_row(const RtResults *r, const Dataset *ds, const char *const *inputs, int64_t s,
                     FILE *f)
{
	char buf[24];
	fputc('{', f);
	for (int k = 0; k < ds->nmod; k++) {
		fputs(k ? ", \"" : "\"", f);
		id_name(f, ds, k, inputs);   /* input names are identifiers: nothing to escape */
		fputs("\": ", f);
		if (ds->mod[k].ids)
			rt_json_str(f, id_text(ds, k, s, buf));
		else
			fputs(id_text(ds, k, s, buf), f);
	}
	fputs(", \"tasks\": {", f);
	for (int i = 0; i < r->nheads; i++) {
		const RtHead *h = &r->head[i];
		int p = pred_of(h, s);
		fputs(i ? ", " : "", f);
		rt_json_str(f, h->name);
		fprintf(f, ": {\"pred\": %d", p);
		if (h->names)
			fputs(", \"pred_name\": ", f), rt_json_str(f, h->names[p]);
		fputs(", \"probs\": {", f);
		for (int c = 0; c < h->k; c++) {
			if (h->names) {
				fputs(c ? ", " : "", f);
				rt_json_str(f, h->names[c]);
			} else {
				fprintf(f, "%s\"%d\"", c ? ", " : "", c);
			}
			fputs(": ", f);
			rt_json_float(f, h->probs[(size_t)s * (size_t)h->k + (size_t)c]);
		}
		fputc('}', f);
		if (h->truth) {
			int t = h->truth[s];
			fprintf(f, ", \"true\": %d", t);
			if (h->names)
				fputs(", \"true_name\": ", f), rt_json_str(f, t < h->k ? h->names[t] : "");
			fprintf(f, ", \"correct\": %s", t == p ? "true" : "false");
		}
		fputc('}', f);
	}
	fputs("}}\n", f);
}

/* The width of the identifier column of array k (its title included). */
static int id_width(const Dataset *ds, int k, const char *const *inputs, const int64_t *order,
                    int64_t n)
{
	char buf[24];
	int w = (int)strlen(ds->mod[k].ids ? "file" : "index") +
	        (ds->nmod > 1 ? 1 + (int)strlen(inputs[k]) : 0);
	for (int64_t i = 0; i < n; i++) {
		int l = (int)strlen(id_text(ds, k, order[i], buf));
		w = l > w ? l : w;
	}
	return w;
}

/* The rows as a table: identifiers, then per head "class name (probability)"
** and, with labels, the true class. */
static void table(const RtResults *r, const Dataset *ds, const char *const *inputs,
                  const int64_t *order, FILE *f)
{
	int w[DATA_MAXMOD];
	for (int k = 0; k < ds->nmod; k++) {
		w[k] = id_width(ds, k, inputs, order, r->n);
		fprintf(f, "%s", k ? "  " : "");
		id_name(f, ds, k, inputs);
		fprintf(f, "%*s", w[k] - (int)strlen(ds->mod[k].ids ? "file" : "index") -
		        (ds->nmod > 1 ? 1 + (int)strlen(inputs[k]) : 0), "");
	}
	for (int i = 0; i < r->nheads; i++)
		fprintf(f, "  %s%s", r->head[i].name, r->head[i].truth ? " (predicted / true)" :
		        " (predicted class, probability)");
	fputc('\n', f);
	char buf[24];
	for (int64_t j = 0; j < r->n; j++) {
		int64_t s = order[j];
		for (int k = 0; k < ds->nmod; k++)
			fprintf(f, "%s%-*s", k ? "  " : "", w[k], id_text(ds, k, s, buf));
		for (int i = 0; i < r->nheads; i++) {
			const RtHead *h = &r->head[i];
			int p = pred_of(h, s);
			fprintf(f, "  %d%s%s (%.4f)", p, h->names ? " " : "", h->names ? h->names[p] : "",
			        (double)h->probs[(size_t)s * (size_t)h->k + (size_t)p]);
			if (h->truth)
				fprintf(f, " / %d%s%s%s", h->truth[s], h->names ? " " : "",
				        h->names && h->truth[s] < h->k ? h->names[h->truth[s]] : "",
				        h->truth[s] == p ? "" : "  wrong");
		}
		fputc('\n', f);
	}
}

/* Every row into the open file, then commit it. */
static int write_file(RtResults *r, const Dataset *ds, const char *const *inputs,
                      const int64_t *order, RtErr *e)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return rt_errorf(e, "out of memory");
	if (r->format == RT_RES_CSV)
		csv_header(r, ds, inputs, f);
	for (int64_t j = 0; j < r->n; j++) {
		if (r->format == RT_RES_CSV)
			csv_row(r, ds, order[j], f);
		else
			json_row(r, ds, inputs, order[j], f);
	}
	int bad = fclose(f) != 0;
	int rc = bad ? rt_errorf(e, "out of memory for the rows of %lld samples", (long long)r->n)
	             : rt_out_write(&r->out, text, len, e) || rt_out_commit(&r->out, e) ? -1 : 0;
	free(text);
	return rc;
}

int rt_results_write(RtResults *r, const Dataset *ds, const char *const *inputs, FILE *out,
                     RtErr *e)
{
	int64_t *order = row_order(ds, r->n);
	if (!order)
		return rt_errorf(e, "out of memory");
	int rc = 0;
	if (r->out.tmp) {
		rc = write_file(r, ds, inputs, order, e);
	} else if (out) {
		table(r, ds, inputs, order, out);
		if (fflush(out) != 0 || ferror(out))
			rc = rt_errorf(e, "cannot write to standard output");
	}
	free(order);
	return rc;
}

void rt_results_free(RtResults *r)
{
	for (int i = 0; r->head && i < r->nheads; i++) {
		data_names_free(r->head[i].names, r->head[i].k);
		free(r->head[i].probs);
		free(r->head[i].truth);
	}
	free(r->head);
	rt_out_abort(&r->out);
	memset(r, 0, sizeof *r);
}
