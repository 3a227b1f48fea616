/*
** csv.h -- a small CSV reader for the data specs that name a CSV file
** (csv.c says which dialect), and the one writer of CSV fields. Errors
** follow rt.h and name the file and line.
*/
#ifndef LUNAC_CSV_H
#define LUNAC_CSV_H

#include <stdint.h>
#include <stdio.h>

#include "rt.h"

/* A CSV file in memory: the header and `rows` data rows of `cols` cells. */
typedef struct Csv {
	char *path;
	char *buf;                  /* the file, its fields unquoted in place */
	char **cell;                /* (rows + 1) * cols cells, row-major; row 0 the header */
	int64_t ncell, rows;
	int cols;
} Csv;

/* Read path: at least a header line; every row as many fields as it. */
int csv_read(const char *path, Csv *c, RtErr *e);
/* The cell of data row `row` (from 0) in column col. */
const char *csv_cell(const Csv *c, int64_t row, int col);
/* The index of the column called name; else an error that lists the columns. */
int csv_column(const Csv *c, const char *name, RtErr *e);
void csv_free(Csv *c);

/* Write s as one CSV field: quoted (with "" for a quote) when it holds a
** comma, a quote, a line break, or space at either end, so csv_read (and
** any RFC 4180 reader) gives s back; else as it is. */
void csv_write_field(FILE *out, const char *s);

#endif
