/*
** fuzz_csv.c -- the CSV reader (runtime/csv.c) and the data specs built on
** it (runtime/data_csv.c): csv_read on the input; then the input as the
** metadata of csv:META,IMAGEDIR,id,label,.png and as a paired CSV
** (columns "image" and "task"), with one 2x2 PNG, "a.png", in the scratch
** directory that a row may name. Inputs holding a '/' are read by csv_read
** only, so that a mutated path never sends the data readers to files
** outside the scratch directory.
**
** A CSV that reads has rows + 1 rows of cols cells (cols >= 1), each a
** string inside the buffer.
*/
#include "fuzz.h"
#include "csv.h"
#include "data.h"
#include "image.h"

/* Write the image that rows may name, once. */
static void write_image(void)
{
	static int done;
	if (done)
		return;
	uint8_t px[2 * 2 * 3] = {0, 50, 100, 150, 200, 250, 25, 75, 125, 175, 225, 255};
	Image im = {2, 2, 3, px};
	char *p = fuzz_path("a.png");
	RtErr e = {0};
	if (img_write_png(p, &im, &e))
		fuzz_fail("csv", "cannot write the scratch image");
	free(p);
	done = 1;
}

/* Check a CSV that csv_read accepted (n: the file's size). */
static void check(const Csv *c, size_t n)
{
	if (c->cols < 1 || c->rows < 0 || c->ncell != (c->rows + 1) * c->cols)
		fuzz_fail("csv", "a CSV read has the wrong number of cells");
	for (int64_t i = 0; i < c->ncell; i++) {
		const char *s = c->cell[i];
		if (!s || s < c->buf || s > c->buf + n || strlen(s) > n)
			fuzz_fail("csv", "a cell lies outside the buffer");
	}
}

/* A data spec over the CSV at path; the dataset must match its rows. */
static void spec(const char *path, int paired)
{
	char *s;
	if (paired ? asprintf(&s, "paired:%s", path) < 0
	           : asprintf(&s, "csv:%s,%s,id,label,.png", path, fuzz_dir()) < 0)
		abort();
	DataInput in = {"image", 1, 4, 4};
	const char *tasks[] = {"task"};
	DataOpts o = {.c = 1, .h = 4, .w = 4, .inputs = &in, .ninputs = 1, .tasks = tasks,
	              .ntasks = 1, .threads = 1};
	Dataset ds;
	RtErr e = {0};
	int rc = paired ? data_paired_read(s, s + 7, &o, &ds, &e) : data_csv_read(s, s + 4, &o, &ds, &e);
	if (rc == 0) {
		if (ds.count < 1 || ds.nmod != 1 || ds.ntask != 1 || !ds.mod[0].px || !ds.task[0].y)
			fuzz_fail("csv", "a dataset read has the wrong shape");
		for (int64_t i = 0; i < ds.count; i++)
			if (data_label(&ds, 0, i) < 0 || data_label(&ds, 0, i) >= ds.task[0].nclasses)
				fuzz_fail("csv", "a label is outside [0,nclasses)");
		data_free(&ds);
	} else {
		fuzz_check_failure("csv", e.set, e.msg);
	}
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	write_image();
	char *path = fuzz_file("meta.csv", data, size);
	Csv c;
	RtErr e = {0};
	if (csv_read(path, &c, &e) == 0) {
		check(&c, size);
		RtErr e2 = {0};
		if (csv_column(&c, "label", &e2) < 0)
			fuzz_check_failure("csv", e2.set, e2.msg);
		csv_free(&c);
	} else {
		fuzz_check_failure("csv", e.set, e.msg);
	}
	if (!memchr(data, '/', size)) {
		spec(path, 0);
		spec(path, 1);
	}
	free(path);
	return 0;
}
