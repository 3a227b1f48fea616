/*
** csv.c -- a small, strict-enough CSV reader (RFC 4180 and what
** spreadsheets write): comma-separated fields, double-quoted fields with
** "" for a quote and with commas or line breaks inside, LF, CRLF or CR
** (classic Mac) line ends, mixed freely, the last line with or without
** one, a UTF-8 byte-order mark ignored, blank lines skipped, spaces around
** unquoted fields trimmed. The first row is the header. Every row must
** have the header's number of fields. A NUL byte anywhere is an error
** naming its line and field (cells are C strings, and a NUL is what a
** UTF-16 or binary file holds). The file is read whole and the fields
** unquoted in place, so the cells point into one buffer. csv_write_field
** writes a field this reader reads back unchanged.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"

#define MAXBYTES (1LL << 32)

/* The parser's position. */
typedef struct P {
	char *s, *end, *w;          /* read and write positions */
	int64_t line;
} P;

static int blank(char c)
{
	return c == ' ' || c == '\t';
}

/* Step over the line break at p->s (LF, CRLF or CR) and count it. */
static void line_break(P *p)
{
	if (*p->s == '\r' && p->s + 1 < p->end && p->s[1] == '\n')
		p->s++;
	p->s++;
	p->line++;
}

/* The error for a NUL byte in field k (from 1) of the current line. */
static int nul_error(const P *p, const char *path, int k, RtErr *e)
{
	return rt_errorf(e, "%s: line %lld, field %d: a NUL byte (not a text file, or UTF-16 "
	                 "text: save the CSV as UTF-8)", path, (long long)p->line, k);
}

/* Read field k (from 1) of a row at p into the write position; *last: it
** ended its row. */
static int field(P *p, const char *path, int k, char **cell, int *last, RtErr *e)
{
	while (p->s < p->end && blank(*p->s))
		p->s++;
	*cell = p->w;
	if (p->s < p->end && *p->s == '"') {
		int64_t at = p->line;
		for (p->s++;; p->s++) {
			if (p->s >= p->end)
				return rt_errorf(e, "%s: line %lld: a quoted field is not closed", path,
				                 (long long)at);
			if (*p->s == '"' && p->s + 1 < p->end && p->s[1] == '"')
				*p->w++ = *p->s++;
			else if (*p->s == '"')
				break;
			else if (!*p->s)
				return nul_error(p, path, k, e);
			else {
				p->line += *p->s == '\n' ||
				           (*p->s == '\r' && (p->s + 1 == p->end || p->s[1] != '\n'));
				*p->w++ = *p->s;
			}
		}
		for (p->s++; p->s < p->end && blank(*p->s); p->s++)
			;
		if (p->s < p->end && *p->s != ',' && *p->s != '\n' && *p->s != '\r')
			return rt_errorf(e, "%s: line %lld: text after a closing quote (write \"\" for a "
			                 "quote inside a quoted field)", path, (long long)p->line);
	} else {
		while (p->s < p->end && *p->s != ',' && *p->s != '\n' && *p->s != '\r') {
			if (!*p->s)
				return nul_error(p, path, k, e);
			*p->w++ = *p->s++;
		}
		while (p->w > *cell && blank(p->w[-1]))
			p->w--;
	}
	*last = p->s >= p->end || *p->s != ',';
	if (p->s < p->end && *last)
		line_break(p);
	else if (p->s < p->end)
		p->s++;   /* the comma */
	*p->w++ = 0;
	return 0;
}

/* Append a cell pointer to c->cell. */
static int add(Csv *c, int64_t *cap, char *cell)
{
	if (c->ncell == *cap) {
		*cap = *cap ? 2 * *cap : 256;
		char **p = realloc(c->cell, sizeof *p * (size_t)*cap);
		if (!p)
			return -1;
		c->cell = p;
	}
	c->cell[c->ncell++] = cell;
	return 0;
}

/* Split the buffer into rows of cells. */
static int parse(Csv *c, size_t n, RtErr *e)
{
	P p = {c->buf, c->buf + n, c->buf, 1};
	if (n >= 3 && !memcmp(p.s, "\xEF\xBB\xBF", 3))
		p.s += 3;
	int64_t cap = 0;
	int first = 1;
	while (p.s < p.end) {
		int64_t line = p.line, start = c->ncell;
		int last = 0, k = 0;
		while (!last) {
			char *cell;
			if (field(&p, c->path, k + 1, &cell, &last, e))
				return -1;
			if (add(c, &cap, cell))
				return rt_errorf(e, "%s: out of memory", c->path);
			k++;
		}
		if (k == 1 && !c->cell[start][0]) {   /* a blank line */
			c->ncell = start;
			continue;
		}
		if (first)
			c->cols = k;
		else if (k != c->cols)
			return rt_errorf(e, "%s: line %lld has %d field%s, the header has %d", c->path,
			                 (long long)line, k, k == 1 ? "" : "s", c->cols);
		else
			c->rows++;
		first = 0;
	}
	if (first)
		return rt_errorf(e, "%s: empty: no header line", c->path);
	return 0;
}

int csv_read(const char *path, Csv *c, RtErr *e)
{
	memset(c, 0, sizeof *c);
	FILE *f = rt_fopen_read(path, e);
	if (!f)
		return -1;
	int rc = 0;
	long n = -1;
	if (fseek(f, 0, SEEK_END) || (n = ftell(f)) < 0 || n > MAXBYTES || fseek(f, 0, SEEK_SET))
		rc = rt_errorf(e, "%s: cannot read (or larger than 4 GiB)", path);
	if (!rc && (!(c->path = strdup(path)) || !(c->buf = malloc((size_t)n + 1))))
		rc = rt_errorf(e, "%s: out of memory", path);
	if (!rc && fread(c->buf, 1, (size_t)n, f) != (size_t)n)
		rc = rt_errorf(e, "%s: cannot read: %s", path, strerror(errno));
	fclose(f);
	if (!rc)
		rc = parse(c, (size_t)n, e);
	if (rc)
		csv_free(c);
	return rc;
}

const char *csv_cell(const Csv *c, int64_t row, int col)
{
	return c->cell[(row + 1) * c->cols + col];
}

int csv_column(const Csv *c, const char *name, RtErr *e)
{
	for (int j = 0; j < c->cols; j++)
		if (!strcmp(c->cell[j], name))
			return j;
	char list[700];
	size_t k = 0;
	list[0] = 0;
	for (int j = 0; j < c->cols && k < sizeof list - 8; j++)
		k += snprintf(list + k, sizeof list - k, "%s%s", j ? ", " : "", c->cell[j]);
	if (k >= sizeof list - 8)
		snprintf(list + sizeof list - 8, 8, " ...");
	return rt_errorf(e, "%s: no column \"%s\" (its columns: %s)", c->path, name, list);
}

void csv_free(Csv *c)
{
	free(c->path);
	free(c->buf);
	free(c->cell);
	memset(c, 0, sizeof *c);
}

void csv_write_field(FILE *out, const char *s)
{
	size_t n = strlen(s);
	int quote = n && (blank(s[0]) || blank(s[n - 1]));
	for (const char *p = s; !quote && *p; p++)
		quote = *p == ',' || *p == '"' || *p == '\n' || *p == '\r';
	if (!quote) {
		fputs(s, out);
		return;
	}
	fputc('"', out);
	for (const char *p = s; *p; p++) {
		if (*p == '"')
			fputc('"', out);
		fputc(*p, out);
	}
	fputc('"', out);
}
