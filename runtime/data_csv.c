/*
** data_csv.c -- the data specs that read a CSV file:
**
**   csv:META.csv,IMAGEDIR,ID_COLUMN,LABEL_COLUMN[,EXT]
**       one image per row, IMAGEDIR/<id><EXT>, its class in LABEL_COLUMN
**       (HAM10000's metadata: csv:HAM10000_metadata.csv,HAM10000_images,
**       image_id,dx,.jpg)
**   paired:FILE.csv[,NAME=COLUMN...]
**       one sample per row: an image path per model input and a label per
**       task; a column binds to the input or task of its name unless
**       NAME=COLUMN says otherwise. Relative paths are relative to the
**       CSV's folder.
**
** Labels are class indices when every value is a non-negative integer,
** else class names (sorted by bytes: label 0..K-1). Every image must exist
** before decoding starts; the message names the row.
*/
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "csv.h"
#include "data.h"

#define MAXFIELDS 16

/* Split s at commas into at most MAXFIELDS new strings (f[0..*n)). */
static int split(const char *s, char **f, int *n)
{
	*n = 0;
	for (const char *p = s;; p++) {
		const char *c = strchr(p, ',');
		size_t len = c ? (size_t)(c - p) : strlen(p);
		if (*n == MAXFIELDS || !(f[*n] = strndup(p, len)))
			return -1;
		(*n)++;
		if (!c)
			return 0;
		p = c;
	}
}

static void free_fields(char **f, int n)
{
	for (int i = 0; i < n; i++)
		free(f[i]);
}

/* The folder of path ("." for a bare name), with a trailing '/'. */
static char *folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? strndup(path, (size_t)(slash - path + 1)) : strdup("");
}

/* Paths of column col: base + cell + ext (an absolute cell ignores base),
** each an existing file; what names the column for messages. */
static int column_paths(const Csv *c, int col, const char *base, const char *ext, char ***out,
                        RtErr *e)
{
	char **p = calloc((size_t)(c->rows ? c->rows : 1), sizeof *p);
	if (!(*out = p))
		return rt_errorf(e, "out of memory");
	for (int64_t r = 0; r < c->rows; r++) {
		const char *v = csv_cell(c, r, col);
		if (!*v)
			return rt_errorf(e, "%s: data row %lld: the column \"%s\" is empty", c->path,
			                 (long long)r + 1, c->cell[col]);
		size_t n = strlen(base) + strlen(v) + strlen(ext) + 1;
		if (!(p[r] = malloc(n)))
			return rt_errorf(e, "out of memory");
		snprintf(p[r], n, "%s%s%s", v[0] == '/' ? "" : base, v, ext);
		struct stat st;
		if (stat(p[r], &st) || !S_ISREG(st.st_mode))
			return rt_errorf(e, "%s: no such image file (column \"%s\" = \"%s\" in data row %lld "
			                 "of %s)", p[r], c->cell[col], v, (long long)r + 1, c->path);
	}
	return 0;
}

static void free_paths(char **p, int64_t n)
{
	for (int64_t i = 0; p && i < n; i++)
		free(p[i]);
	free(p);
}

/* "FILE.csv column \"NAME\"" in a new string (messages name it); NULL when
** out of memory. */
static char *column_name(const Csv *csv, int col)
{
	char *s;
	return asprintf(&s, "%s column \"%s\"", csv->path, csv->cell[col]) < 0 ? NULL : s;
}

/* Image array k of ds from column col, resized to [c,h,w] as o says. */
static int images_from(const Csv *csv, int col, const char *base, const char *ext, int64_t c,
                       int64_t h, int64_t w, const DataOpts *o, Dataset *ds, int k, RtErr *e)
{
	char **paths = NULL;
	DataImages *m = &ds->mod[k];
	int rc = column_paths(csv, col, base, ext, &paths, e);
	if (!rc && !(m->name = column_name(csv, col)))
		rc = rt_errorf(e, "out of memory");
	if (!rc)
		rc = data_load_images((const char *const *)paths, csv->rows, c, h, w, o->resize,
		                      o->threads, &m->px, &m->seen, e);
	m->c = c, m->h = h, m->w = w, m->rows = csv->rows, m->resize = o->resize;
	if (!rc)
		m->ids = paths;   /* the images' paths identify the rows; data_free frees them */
	else
		free_paths(paths, csv->rows);
	return rc;
}

/* Label array t of ds from column col; task names it (may be NULL). */
static int labels_from(const Csv *csv, int col, const char *task, Dataset *ds, int t, RtErr *e)
{
	DataLabels *l = &ds->task[t];
	const char **vals = malloc(sizeof *vals * (size_t)(csv->rows ? csv->rows : 1));
	if (!vals || !(l->path = column_name(csv, col)) || (task && !(l->name = strdup(task)))) {
		free(vals);
		return rt_errorf(e, "out of memory");
	}
	for (int64_t r = 0; r < csv->rows; r++) {
		const char *v = vals[r] = csv_cell(csv, r, col);
		if (!*v || strpbrk(v, "\r\n")) {
			free(vals);
			return rt_errorf(e, "%s: data row %lld: the label column \"%s\" is %s", csv->path,
			                 (long long)r + 1, csv->cell[col],
			                 *v ? "a quoted value with a line break (a class name is one line)"
			                    : "empty");
		}
	}
	int rc = data_labels_from_text(vals, csv->rows, l->path, l, e);
	free(vals);
	return rc;
}

/* Read the CSV at path, which must hold rows. */
static int open_csv(const char *path, Csv *c, RtErr *e)
{
	if (csv_read(path, c, e))
		return -1;
	if (c->rows == 0) {
		csv_free(c);
		return rt_errorf(e, "%s: no data rows (only a header)", path);
	}
	return 0;
}

int data_csv_read(const char *spec, const char *rest, const DataOpts *o, Dataset *out,
                  RtErr *e)
{
	memset(out, 0, sizeof *out);
	char *f[MAXFIELDS];
	int n, rc = 0, id, lab;
	if (split(rest, f, &n) || n < 4 || n > 5 || !*f[0] || !*f[1] || !*f[2] || !*f[3]) {
		free_fields(f, n);
		return rt_errorf(e, "data spec '%s': expected csv:META.csv,IMAGEDIR,ID_COLUMN,"
		                 "LABEL_COLUMN[,EXT] (e.g. csv:HAM10000_metadata.csv,HAM10000_images,"
		                 "image_id,dx,.jpg)", spec);
	}
	Csv c;
	if (open_csv(f[0], &c, e)) {
		free_fields(f, n);
		return -1;
	}
	out->nmod = out->ntask = 1;
	out->count = c.rows;
	size_t blen = strlen(f[1]) + 2;
	char *base = malloc(blen);
	if (!base || !(out->name = strdup(spec)))
		rc = rt_errorf(e, "out of memory");
	else
		snprintf(base, blen, "%s%s", f[1], f[1][strlen(f[1]) - 1] == '/' ? "" : "/");
	if (!rc && ((id = csv_column(&c, f[2], e)) < 0 || (lab = csv_column(&c, f[3], e)) < 0 ||
	            labels_from(&c, lab, NULL, out, 0, e) ||
	            images_from(&c, id, base, n == 5 ? f[4] : "", o->c, o->h, o->w, o, out, 0, e)))
		rc = -1;
	free(base);
	csv_free(&c);
	free_fields(f, n);
	if (rc)
		data_free(out);
	return rc;
}

/* The column that NAME binds to: its mapping in f[1..n) ("NAME=COLUMN"),
** else the column called NAME; what says what NAME is, for the message. */
static int bound_column(const Csv *c, char **f, int n, const char *name, const char *what,
                        RtErr *e)
{
	size_t k = strlen(name);
	for (int i = 1; i < n; i++)
		if (!strncmp(f[i], name, k) && f[i][k] == '=')
			return csv_column(c, f[i] + k + 1, e);
	for (int j = 0; j < c->cols; j++)
		if (!strcmp(c->cell[j], name))
			return j;
	RtErr sub = {0};
	csv_column(c, name, &sub);
	return rt_errorf(e, "%s; map a column to the %s \"%s\" with paired:%s,%s=COLUMN", sub.msg,
	                 what, name, c->path, name);
}

/* Every mapping of f[1..n) names an input or a task of o. */
static int check_maps(const char *spec, char **f, int n, const DataOpts *o, RtErr *e)
{
	for (int i = 1; i < n; i++) {
		char *eq = strchr(f[i], '=');
		int ok = 0;
		for (int k = 0; eq && k < o->ninputs; k++)
			ok |= strlen(o->inputs[k].name) == (size_t)(eq - f[i]) &&
			      !strncmp(f[i], o->inputs[k].name, (size_t)(eq - f[i]));
		for (int t = 0; eq && t < o->ntasks; t++)
			ok |= strlen(o->tasks[t]) == (size_t)(eq - f[i]) &&
			      !strncmp(f[i], o->tasks[t], (size_t)(eq - f[i]));
		if (!ok)
			return rt_errorf(e, "data spec '%s': \"%s\" is not NAME=COLUMN with NAME an image "
			                 "input or a task of the model", spec, f[i]);
	}
	return 0;
}

int data_paired_read(const char *spec, const char *rest, const DataOpts *o, Dataset *out,
                     RtErr *e)
{
	memset(out, 0, sizeof *out);
	char *f[MAXFIELDS], *base = NULL;
	int n, rc = 0;
	if (split(rest, f, &n) || !*f[0]) {
		free_fields(f, n);
		return rt_errorf(e, "data spec '%s': expected paired:FILE.csv[,NAME=COLUMN...]", spec);
	}
	if (o->ninputs < 1 || o->ninputs > DATA_MAXMOD || o->ntasks > DATA_MAXTASK)
		rc = rt_errorf(e, "data spec '%s': a paired CSV feeds a model of 1 to %d image inputs "
		               "and at most %d tasks", spec, DATA_MAXMOD, DATA_MAXTASK);
	Csv c = {0};
	if (!rc && (check_maps(spec, f, n, o, e) || open_csv(f[0], &c, e)))
		rc = -1;
	if (!rc && (!(base = folder_of(f[0])) || !(out->name = strdup(spec))))
		rc = rt_errorf(e, "out of memory");
	out->count = c.rows;
	for (int t = 0; !rc && t < o->ntasks; t++, out->ntask++) {
		int col = bound_column(&c, f, n, o->tasks[t], "task", e);
		rc = col < 0 || labels_from(&c, col, o->tasks[t], out, t, e) ? -1 : 0;
	}
	for (int k = 0; !rc && k < o->ninputs; k++, out->nmod++) {
		const DataInput *in = &o->inputs[k];
		int col = bound_column(&c, f, n, in->name, "image input", e);
		rc = col < 0 || images_from(&c, col, base, "", in->c, in->h, in->w, o, out, k, e)
		     ? -1 : 0;
	}
	free(base);
	csv_free(&c);
	free_fields(f, n);
	if (rc)
		data_free(out);
	return rc;
}
