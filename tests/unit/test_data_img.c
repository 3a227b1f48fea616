/*
** test_data_img.c -- the data specs that read image files (folders:,
** csv:, paired:), the CSV reader, labels from text, resampling, and the
** loader's normalisation and seeded augmentation. The test writes its own
** PNG and JPEG files (img_write_png; libjpeg) into a temporary directory.
*/
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <ftw.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jpeglib.h>

#include "csv.h"
#include "data.h"
#include "image.h"
#include "t.h"

static char dir[256];

/* A path in the test's directory (one of 8 rotating buffers). */
static const char *P(const char *name)
{
	static char buf[8][512];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
	return buf[k];
}

static void put(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(p, 1, n, f);
	fclose(f);
}

static void puts_file(const char *path, const char *text)
{
	put(path, text, strlen(text));
}

/* A w x h image of c channels, every byte v (+ x for a ramp when ramp). */
static void png(const char *path, int w, int h, int c, int v, int ramp)
{
	Image im = {w, h, c, malloc((size_t)(w * h * c))};
	for (int i = 0; i < w * h * c; i++)
		im.px[i] = (uint8_t)(v + (ramp ? (i / c) % w * 7 : 0));
	RtErr e = {0};
	if (img_write_png(path, &im, &e))
		printf("# %s\n", e.msg);
	free(im.px);
}

/* A w x h RGB JPEG of value v via libjpeg, in memory; its bytes in *buf. */
static size_t jpeg(int w, int h, int v, unsigned char **buf)
{
	struct jpeg_compress_struct c;
	struct jpeg_error_mgr err;
	unsigned long n = 0;
	*buf = NULL;
	c.err = jpeg_std_error(&err);
	jpeg_create_compress(&c);
	jpeg_mem_dest(&c, buf, &n);
	c.image_width = (JDIMENSION)w, c.image_height = (JDIMENSION)h;
	c.input_components = 3, c.in_color_space = JCS_RGB;
	jpeg_set_defaults(&c);
	jpeg_start_compress(&c, TRUE);
	unsigned char *row = malloc((size_t)w * 3);
	memset(row, v, (size_t)w * 3);
	while (c.next_scanline < c.image_height)
		jpeg_write_scanlines(&c, &row, 1);
	jpeg_finish_compress(&c);
	jpeg_destroy_compress(&c);
	free(row);
	return n;
}

static void mkdirs(const char *a, const char *b, const char *c)
{
	mkdir(P(a), 0755);
	if (b)
		mkdir(P(b), 0755);
	if (c)
		mkdir(P(c), 0755);
}

/* Open spec at 3x4x4; expect success or a message containing want. */
static int open_spec(const char *spec, const DataOpts *o, const char *want, const char *name,
                     Dataset *ds)
{
	RtErr e = {0};
	DataOpts d = {.c = 3, .h = 4, .w = 4, .threads = 3};
	int rc = data_open(spec, o ? o : &d, ds, &e);
	if (want)
		t_check(rc && strstr(e.msg, want), name, "rc %d: %s", rc, e.msg);
	else
		t_check(!rc, name, "%s", e.msg);
	return rc;
}

/* folders: classes sorted, labels, pixels, the note, SUB. */
static void test_folders(void)
{
	mkdirs("f", "f/dog", "f/cat");
	mkdir(P("f/cat/extra"), 0755);
	png(P("f/cat/1.png"), 8, 8, 1, 60, 0);
	png(P("f/cat/2.PNG"), 8, 6, 3, 60, 0);
	unsigned char *jb;
	size_t jn = jpeg(9, 7, 200, &jb);
	put(P("f/cat/3.jpg"), jb, jn);
	png(P("f/dog/a.png"), 4, 4, 3, 120, 0);
	png(P("f/dog/b.png"), 16, 16, 1, 120, 0);
	puts_file(P("f/dog/readme.txt"), "not an image");
	puts_file(P("f/.DS_Store"), "x");
	char spec[600];
	snprintf(spec, sizeof spec, "folders:%s", P("f"));
	Dataset ds;
	if (!open_spec(spec, NULL, NULL, "folders: opens", &ds)) {
		const DataLabels *l = &ds.task[0];
		const float *x0 = data_image(&ds, 0, 0), *x3 = data_image(&ds, 0, 3);
		int ok = ds.count == 5 && l->nclasses == 2 && !strcmp(l->names[0], "cat") &&
		         !strcmp(l->names[1], "dog") && l->y[0] == 0 && l->y[2] == 0 && l->y[3] == 1 &&
		         l->y[4] == 1 && ds.mod[0].c == 3 && ds.mod[0].h == 4;
		t_check(ok, "folders: classes sorted by name, labels 0..K-1", "count %lld K %d",
		        (long long)ds.count, l->nclasses);
		t_check(fabsf(x0[0] - 60 / 255.0f) < 1e-6f && fabsf(x0[47] - 60 / 255.0f) < 1e-6f &&
		        fabsf(x3[5] - 120 / 255.0f) < 1e-6f && fabsf(data_image(&ds, 0, 2)[0] - 200 / 255.0f) < 0.02f,
		        "folders: grey and RGB, PNG and JPEG, resized to [3,4,4] in [0,1]",
		        "%g %g %g", x0[0], x3[5], data_image(&ds, 0, 2)[0]);
		t_check(ds.note && strstr(ds.note, "skipped 1 file that is not") &&
		        strstr(ds.note, "and 1 folder"), "folders: skipped files and folders are noted",
		        "%s", ds.note ? ds.note : "(none)");
	}
	data_free(&ds);
	mkdirs("g", "g/x", "g/y");
	mkdir(P("g/x/CROPPED"), 0755);
	mkdir(P("g/y/CROPPED"), 0755);
	png(P("g/x/CROPPED/1.bmp.png"), 4, 4, 3, 10, 0);
	png(P("g/x/whole.png"), 4, 4, 3, 10, 0);
	png(P("g/y/CROPPED/1.png"), 4, 4, 3, 10, 0);
	snprintf(spec, sizeof spec, "folders:%s,CROPPED", P("g"));
	if (!open_spec(spec, NULL, NULL, "folders:DIR,SUB opens", &ds))
		t_check(ds.count == 2 && ds.task[0].y[1] == 1, "folders:DIR,SUB reads DIR/<class>/SUB",
		        "count %lld", (long long)ds.count);
	data_free(&ds);
	free(jb);
}

/* folders: every error names the file or folder. */
static void test_folders_errors(void)
{
	char spec[600];
	Dataset ds;
	mkdirs("e1", "e1/a", "e1/b");
	png(P("e1/a/1.png"), 4, 4, 3, 1, 0);
	snprintf(spec, sizeof spec, "folders:%s", P("e1"));
	open_spec(spec, NULL, "the class folder", "folders: an empty class folder", &ds);
	open_spec(spec, NULL, "/e1/b holds no images", "folders: ... names the folder", &ds);
	mkdirs("e2", "e2/a", NULL);
	png(P("e2/a/1.png"), 4, 4, 3, 1, 0);
	FILE *f = fopen(P("e2/a/1.png"), "rb");
	unsigned char buf[4096];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	for (size_t i = 40; i < n; i++)
		buf[i] ^= 0x5a;
	put(P("e2/a/2.png"), buf, n);
	snprintf(spec, sizeof spec, "folders:%s", P("e2"));
	open_spec(spec, NULL, "e2/a/2.png: corrupt PNG", "folders: a corrupt PNG names the file", &ds);
	mkdirs("e3", "e3/a", NULL);
	unsigned char *jb;
	size_t jn = jpeg(32, 32, 90, &jb);
	put(P("e3/a/ok.jpg"), jb, jn);
	put(P("e3/a/zcut.jpg"), jb, jn / 2);
	free(jb);
	snprintf(spec, sizeof spec, "folders:%s", P("e3"));
	open_spec(spec, NULL, "e3/a/zcut.jpg: truncated JPEG", "folders: a truncated JPEG names the file",
	          &ds);
	mkdirs("e4", NULL, NULL);
	png(P("e4/flat.png"), 4, 4, 3, 1, 0);
	snprintf(spec, sizeof spec, "folders:%s", P("e4"));
	open_spec(spec, NULL, "holds no class folders", "folders: images without class folders", &ds);
	snprintf(spec, sizeof spec, "folders:%s", P("nope"));
	open_spec(spec, NULL, "cannot open the folder", "folders: a missing folder", &ds);
	mkdirs("e5", "e5/a", NULL);
	puts_file(P("e5/a/x.png"), "hello, not a png");
	snprintf(spec, sizeof spec, "folders:%s", P("e5"));
	open_spec(spec, NULL, "e5/a/x.png: not a PNG, JPEG or BMP image",
	          "folders: a text file named .png", &ds);
	open_spec(spec, &(DataOpts){0}, "no image size", "folders: needs a size to resize to", &ds);
}

/* The CSV reader: quotes, CRLF, BOM, blank lines, trimming, errors. */
static void test_csv(void)
{
	puts_file(P("r.csv"), "\xEF\xBB\xBFid, \"la,bel\" ,x\r\n"
	          "1,\"he said \"\"hi\"\"\",\"two\r\nlines\"\r\n\r\n  2 ,b,\r\n");
	Csv c;
	RtErr e = {0};
	int rc = csv_read(P("r.csv"), &c, &e);
	t_check(!rc && c.cols == 3 && c.rows == 2 && !strcmp(c.cell[1], "la,bel") &&
	        !strcmp(csv_cell(&c, 0, 1), "he said \"hi\"") &&
	        !strcmp(csv_cell(&c, 0, 2), "two\r\nlines") && !strcmp(csv_cell(&c, 1, 0), "2") &&
	        !strcmp(csv_cell(&c, 1, 2), "") && csv_column(&c, "x", &e) == 2,
	        "csv: quotes, \"\", CRLF, BOM, blank lines, trimmed fields", "%s", e.msg);
	RtErr e2 = {0};
	t_check(!rc && csv_column(&c, "dx", &e2) < 0 &&
	        strstr(e2.msg, "no column \"dx\" (its columns: id, la,bel, x)"),
	        "csv: a missing column lists the columns", "%s", e2.msg);
	if (!rc)
		csv_free(&c);
	static const struct { const char *text, *want, *name; } bad[] = {
		{"", "empty: no header line", "csv: an empty file"},
		{"a,b\n1,2\n3\n", "line 3 has 1 field, the header has 2", "csv: a short row"},
		{"a,b\n1,\"2\n", "line 2: a quoted field is not closed", "csv: an unclosed quote"},
		{"a,b\n1,\"2\"x\n", "line 2: text after a closing quote", "csv: text after a quote"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		RtErr eb = {0};
		puts_file(P("bad.csv"), bad[i].text);
		rc = csv_read(P("bad.csv"), &c, &eb);
		t_check(rc && strstr(eb.msg, bad[i].want), bad[i].name, "%s", eb.msg);
	}
}

/* csv: (HAM10000's layout) and its errors. */
static void test_csv_spec(void)
{
	mkdirs("ham", "ham/images", NULL);
	png(P("ham/images/ISIC_1.jpg"), 6, 6, 3, 30, 0);   /* a PNG named .jpg: decoded by content */
	png(P("ham/images/ISIC_2.jpg"), 6, 6, 3, 40, 0);
	png(P("ham/images/ISIC_3.jpg"), 6, 6, 3, 50, 0);
	puts_file(P("ham/meta.csv"), "lesion_id,image_id,dx,age\r\nL1,ISIC_1,nv,40\r\n"
	          "L2,ISIC_2,mel,50\r\nL3,ISIC_3,bkl,60\r\n");
	char spec[800];
	Dataset ds;
	snprintf(spec, sizeof spec, "csv:%s,%s,image_id,dx,.jpg", P("ham/meta.csv"), P("ham/images"));
	if (!open_spec(spec, NULL, NULL, "csv: HAM10000 layout opens", &ds)) {
		const DataLabels *l = &ds.task[0];
		t_check(ds.count == 3 && l->nclasses == 3 && !strcmp(l->names[0], "bkl") &&
		        !strcmp(l->names[1], "mel") && !strcmp(l->names[2], "nv") && l->y[0] == 2 &&
		        l->y[1] == 1 && l->y[2] == 0 && fabsf(data_image(&ds, 0, 1)[0] - 40 / 255.0f) < 1e-6f,
		        "csv: label strings become sorted class names", "K %d", l->nclasses);
	}
	data_free(&ds);
	snprintf(spec, sizeof spec, "csv:%s,%s,image_id,diagnosis,.jpg", P("ham/meta.csv"), P("ham/images"));
	open_spec(spec, NULL, "no column \"diagnosis\" (its columns: lesion_id, image_id, dx, age)",
	          "csv: a missing column names it and lists the columns", &ds);
	snprintf(spec, sizeof spec, "csv:%s,%s,image_id,dx,.png", P("ham/meta.csv"), P("ham/images"));
	open_spec(spec, NULL, "ISIC_1.png: no such image file (column \"image_id\" = \"ISIC_1\" in data "
	          "row 1 of", "csv: a missing image names the file and the row", &ds);
	puts_file(P("ham/empty.csv"), "");
	snprintf(spec, sizeof spec, "csv:%s,%s,image_id,dx", P("ham/empty.csv"), P("ham/images"));
	open_spec(spec, NULL, "empty: no header line", "csv: an empty CSV", &ds);
	puts_file(P("ham/header.csv"), "image_id,dx\n");
	snprintf(spec, sizeof spec, "csv:%s,%s,image_id,dx", P("ham/header.csv"), P("ham/images"));
	open_spec(spec, NULL, "no data rows", "csv: a CSV with only a header", &ds);
}

/* paired: columns bound by name or mapping, paths relative to the CSV. */
static void test_paired(void)
{
	mkdirs("pr", "pr/img", NULL);
	png(P("pr/img/d0.png"), 5, 5, 3, 10, 0);
	png(P("pr/img/d1.png"), 5, 5, 3, 20, 0);
	png(P("pr/img/m0.png"), 7, 7, 1, 30, 0);
	png(P("pr/img/m1.png"), 7, 7, 1, 40, 0);
	puts_file(P("pr/p.csv"), "derm,mri,task1,task2\nimg/d0.png,img/m0.png,2,0\nimg/d1.png,img/m1.png,0,1\n");
	DataInput in[2] = {{"a", 3, 4, 4}, {"b", 1, 2, 2}};
	const char *tasks[2] = {"task1", "task2"};
	DataOpts o = {.inputs = in, .ninputs = 2, .tasks = tasks, .ntasks = 2, .threads = 2};
	char spec[800];
	Dataset ds;
	snprintf(spec, sizeof spec, "paired:%s,a=derm,b=mri", P("pr/p.csv"));
	if (!open_spec(spec, &o, NULL, "paired: opens with a=derm,b=mri", &ds))
		t_check(ds.count == 2 && ds.nmod == 2 && ds.ntask == 2 && ds.mod[1].c == 1 &&
		        ds.mod[1].h == 2 && fabsf(data_image(&ds, 1, 1)[0] - 40 / 255.0f) < 1e-6f &&
		        fabsf(data_image(&ds, 0, 0)[0] - 10 / 255.0f) < 1e-6f && data_label(&ds, 0, 0) == 2 &&
		        data_label(&ds, 1, 1) == 1 && !strcmp(ds.task[1].name, "task2") &&
		        ds.task[0].names == NULL && ds.task[0].nclasses == 3,
		        "paired: each input's column resized to its shape; integer labels per task",
		        "count %lld", (long long)ds.count);
	data_free(&ds);
	snprintf(spec, sizeof spec, "paired:%s", P("pr/p.csv"));
	open_spec(spec, &o, "no column \"a\" (its columns: derm, mri, task1, task2); map a column to "
	          "the image input \"a\" with paired:", "paired: an unbound input explains the mapping", &ds);
	snprintf(spec, sizeof spec, "paired:%s,a=derm,c=mri", P("pr/p.csv"));
	open_spec(spec, &o, "\"c=mri\" is not NAME=COLUMN with NAME an image input or a task",
	          "paired: a mapping to no input or task", &ds);
	snprintf(spec, sizeof spec, "paired:%s,a=derm,b=ct", P("pr/p.csv"));
	open_spec(spec, &o, "no column \"ct\"", "paired: a mapping to a missing column", &ds);
	puts_file(P("pr/short.csv"), "a,b,task1,task2\nimg/d0.png,img/m0.png,1,0\nimg/d1.png,img/m1.png,1\n");
	snprintf(spec, sizeof spec, "paired:%s", P("pr/short.csv"));
	open_spec(spec, &o, "line 3 has 3 fields, the header has 4", "paired: a row with a missing field",
	          &ds);
	puts_file(P("pr/gone.csv"), "a,b,task1,task2\nimg/d0.png,img/nope.png,1,0\n");
	snprintf(spec, sizeof spec, "paired:%s", P("pr/gone.csv"));
	open_spec(spec, &o, "pr/img/nope.png: no such image file (column \"b\"",
	          "paired: image paths are relative to the CSV's folder", &ds);
}

/* Text with every '\n' replaced by eol (LF, CRLF or CR) into a new string;
** without the final line end when cut. */
static char *with_eol(const char *text, const char *eol, int cut)
{
	size_t n = 0, k = strlen(eol);
	char *out = malloc(strlen(text) * k + 1);
	for (const char *p = text; *p; p++)
		if (*p == '\n')
			memcpy(out + n, eol, k), n += k;
		else
			out[n++] = *p;
	if (cut && n >= k && !memcmp(out + n - k, eol, k))
		n -= k;
	out[n] = 0;
	return out;
}

/* Every text reader (csv_read, csv:, paired:) takes LF, CRLF and CR line
** ends, with or without a final one, and reads the same cells; line
** numbers in messages count CR-only lines too. */
static void test_line_ends(void)
{
	static const char *eols[3] = {"\n", "\r\n", "\r"}, *eolname[3] = {"LF", "CRLF", "CR"};
	char name[200], spec[800];
	mkdirs("le", "le/img", NULL);
	png(P("le/img/a.png"), 5, 5, 3, 10, 0);
	png(P("le/img/b.png"), 5, 5, 3, 20, 0);
	png(P("le/img/c.png"), 5, 5, 3, 30, 0);
	for (int k = 0; k < 3; k++)
		for (int cut = 0; cut < 2; cut++) {
			const char *how = cut ? ", no final line end" : "";
			char *t = with_eol("id,dx,note\na,nv,\"x\ny\"\n\nb,mel,z\nc,nv,w\n", eols[k], cut);
			puts_file(P("le/m.csv"), t);
			free(t);
			Csv c;
			RtErr e = {0};
			int rc = csv_read(P("le/m.csv"), &c, &e);
			snprintf(name, sizeof name, "csv: %s line ends%s read the same cells", eolname[k], how);
			t_check(!rc && c.rows == 3 && c.cols == 3 && !strcmp(csv_cell(&c, 0, 0), "a") &&
			        !strcmp(csv_cell(&c, 1, 0), "b") && !strcmp(csv_cell(&c, 2, 0), "c") &&
			        !strcmp(csv_cell(&c, 2, 2), "w") && !strncmp(csv_cell(&c, 0, 2), "x", 1) &&
			        !strcmp(csv_cell(&c, 0, 2) + 1 + strlen(eols[k]), "y"),
			        name, "rc %d rows %lld: %s", rc, rc ? 0LL : (long long)c.rows, e.msg);
			if (!rc)
				csv_free(&c);
			Dataset ds;
			snprintf(spec, sizeof spec, "csv:%s,%s,id,dx,.png", P("le/m.csv"), P("le/img"));
			snprintf(name, sizeof name, "csv: spec with %s line ends%s opens every image", eolname[k],
			         how);
			if (!open_spec(spec, NULL, NULL, name, &ds)) {
				snprintf(name, sizeof name, "csv: spec with %s line ends%s: labels and pixels",
				         eolname[k], how);
				t_check(ds.count == 3 && ds.task[0].nclasses == 2 && data_label(&ds, 0, 1) == 0 &&
				        fabsf(data_image(&ds, 0, 2)[0] - 30 / 255.0f) < 1e-6f, name, "count %lld",
				        (long long)ds.count);
			}
			data_free(&ds);
			t = with_eol("img,task1\nimg/a.png,1\nimg/c.png,0\n", eols[k], cut);
			puts_file(P("le/p.csv"), t);
			free(t);
			DataInput in[1] = {{"img", 3, 4, 4}};
			const char *tasks[1] = {"task1"};
			DataOpts o = {.inputs = in, .ninputs = 1, .tasks = tasks, .ntasks = 1, .threads = 1};
			snprintf(spec, sizeof spec, "paired:%s", P("le/p.csv"));
			snprintf(name, sizeof name, "paired: %s line ends%s", eolname[k], how);
			if (!open_spec(spec, &o, NULL, name, &ds))
				t_check(ds.count == 2 && data_label(&ds, 0, 0) == 1 &&
				        fabsf(data_image(&ds, 0, 1)[0] - 30 / 255.0f) < 1e-6f,
				        "paired: the rows read back", "count %lld", (long long)ds.count);
			data_free(&ds);
			t = with_eol("a,b\n1,2\n\"x\ny\",3\n4\n", eols[k], cut);
			puts_file(P("le/bad.csv"), t);
			free(t);
			e = (RtErr){0};
			rc = csv_read(P("le/bad.csv"), &c, &e);
			snprintf(name, sizeof name, "csv: %s line ends%s: the line number of a short row",
			         eolname[k], how);
			t_check(rc && strstr(e.msg, "line 5 has 1 field, the header has 2"), name, "%s", e.msg);
		}
	static const struct { const char *text; size_t n; const char *want, *name; } nul[] = {
		{"a,b\n1,x\0y\n", 10, "line 2, field 2: a NUL byte", "csv: a NUL inside a cell"},
		{"a,b\n1,\"x\0y\"\n", 12, "line 2, field 2: a NUL byte", "csv: a NUL inside a quoted cell"},
		{"\xff\xfe" "a\0,\0b\0\n\0", 10, "line 1, field 1: a NUL byte", "csv: UTF-16 text"},
	};
	for (size_t i = 0; i < sizeof nul / sizeof *nul; i++) {
		Csv c;
		RtErr e = {0};
		put(P("le/nul.csv"), nul[i].text, nul[i].n);
		int rc = csv_read(P("le/nul.csv"), &c, &e);
		t_check(rc && strstr(e.msg, nul[i].want) && strstr(e.msg, "nul.csv"), nul[i].name, "%s",
		        e.msg);
	}
	/* a class name with a line break would not survive the checkpoint's class list */
	Dataset ds;
	puts_file(P("le/q.csv"), "id,dx\na,\"n\nv\"\nb,mel\n");
	snprintf(spec, sizeof spec, "csv:%s,%s,id,dx,.png", P("le/q.csv"), P("le/img"));
	open_spec(spec, NULL, "data row 1: the label column \"dx\" is a quoted value with a line break",
	          "csv: a label with a line break", &ds);
	int n = 0;
	char **names = data_names_split("a\r\nb\rc\nd", &n);
	t_check(names && n == 4 && !strcmp(names[0], "a") && !strcmp(names[1], "b") &&
	        !strcmp(names[2], "c") && !strcmp(names[3], "d"),
	        "class lists: LF, CRLF and CR line ends", "%d names", n);
	data_names_free(names, n);
}

/* A long column name is kept whole in the names messages use. */
static void test_long_names(void)
{
	char col[801], text[1000], spec[1200];
	memset(col, 'x', 800);
	col[800] = 0;
	snprintf(text, sizeof text, "id,%s\na,nv\n", col);
	puts_file(P("le/long.csv"), text);
	snprintf(spec, sizeof spec, "csv:%s,%s,id,%s,.png", P("le/long.csv"), P("le/img"), col);
	Dataset ds;
	if (!open_spec(spec, NULL, NULL, "csv: an 800-byte column name opens", &ds)) {
		const char *p = ds.task[0].path, *m = ds.mod[0].name;
		size_t n = strlen(p);
		t_check(n > 801 && p[n - 1] == '"' && !strncmp(p + n - 801, col, 800) && m &&
		        strstr(m, "column \"id\""),
		        "csv: the label column's name is not cut short", "%zu bytes", strlen(p));
	}
	data_free(&ds);
}

/* folders: an empty folder (no entries to sort) and a class name with a
** line break. */
static void test_folders_odd(void)
{
	char spec[600];
	Dataset ds;
	mkdirs("o1", NULL, NULL);
	snprintf(spec, sizeof spec, "folders:%s", P("o1"));
	open_spec(spec, NULL, "holds no class folders", "folders: a folder with no entries at all",
	          &ds);
	mkdirs("o2", "o2/a\nb", "o2/c");
	png(P("o2/a\nb/1.png"), 4, 4, 3, 1, 0);
	png(P("o2/c/1.png"), 4, 4, 3, 1, 0);
	snprintf(spec, sizeof spec, "folders:%s", P("o2"));
	open_spec(spec, NULL, "holds a line break", "folders: a class folder name with a line break",
	          &ds);
}

/* Labels from text, class remapping, resampling. */
static void test_labels(void)
{
	const char *num[4] = {"3", "0", "1", "3"}, *txt[4] = {"mel", "nv", "bcc", "nv"};
	DataLabels a = {0}, b = {0};
	RtErr e = {0};
	int rc = data_labels_from_text(num, 4, "n", &a, &e) || data_labels_from_text(txt, 4, "t", &b, &e);
	t_check(!rc && !a.names && a.nclasses == 4 && a.y[0] == 3 && b.nclasses == 3 &&
	        !strcmp(b.names[0], "bcc") && b.y[0] == 1 && b.y[1] == 2 && b.y[2] == 0,
	        "labels: integers as they are, strings as sorted names", "%s", e.msg);
	const char *model[4] = {"akiec", "bcc", "mel", "nv"};
	b.path = strdup("t.csv");
	rc = data_remap_classes(&b, model, 4, "w.safetensors", &e);
	t_check(!rc && b.nclasses == 4 && b.y[0] == 2 && b.y[1] == 3 && b.y[2] == 1 &&
	        !strcmp(b.names[0], "akiec"), "labels: remapped to the checkpoint's class order", "%s", e.msg);
	const char *other[2] = {"x", "y"};
	RtErr e2 = {0};
	rc = data_remap_classes(&b, other, 2, "w.safetensors", &e2);
	t_check(rc && strstr(e2.msg, "class \"akiec\" is not one of the 2 classes the model was trained on"),
	        "labels: a class the model does not know", "%s", e2.msg);
	free(a.y), free(b.y), free(b.path);
	data_names_free(b.names, b.nclasses);
	int64_t map[10], again[10];
	int cnt[4] = {0}, ok = 1;
	data_resample(map, 10, 4, 7, 1);
	data_resample(again, 10, 4, 7, 1);
	for (int i = 0; i < 10; i++)
		ok &= map[i] >= 0 && map[i] < 4 && ++cnt[map[i]] <= 3;
	for (int i = 0; i < 4; i++)
		ok &= cnt[i] >= 2;
	t_check(ok && !memcmp(map, again, sizeof map), "resample: repeated shuffles, fixed by the seed",
	        "%d %d %d %d", cnt[0], cnt[1], cnt[2], cnt[3]);
}

/* A dataset of n random [3,8,8] images in [0,1]. */
static void make_random(Dataset *ds, int64_t n)
{
	memset(ds, 0, sizeof *ds);
	ds->name = strdup("rnd");
	ds->nmod = ds->ntask = 1;
	ds->count = ds->mod[0].rows = ds->task[0].rows = n;
	ds->mod[0].c = 3, ds->mod[0].h = 8, ds->mod[0].w = 8;
	ds->mod[0].px = malloc(sizeof(float) * 192 * (size_t)n);
	ds->task[0].y = calloc((size_t)n, sizeof(int32_t));
	for (int64_t i = 0; i < 192 * n; i++)
		ds->mod[0].px[i] = rt_uniform(1, 2, 3, (uint64_t)i);
}

/* The bytes of one epoch's batches (of 8) over order, for the loader's options. */
static void epoch_bytes(const Dataset *ds, const LoaderOpts *o, const int64_t *order, int64_t n,
                        uint64_t epoch, float *out)
{
	Loader *L;
	RtErr e = {0};
	Batch b;
	loader_open(&L, ds, o, order, 0, 8, &e);
	loader_restart(L, order, n, epoch, &e);
	for (int64_t at = 0; loader_next(L, &b); at += b.n)
		memcpy(out + at * 192, b.x[0], sizeof(float) * 192 * (size_t)b.n);
	loader_close(L);
}

/* Augmentation is fixed by (seed, epoch, sample): same bytes twice, other
** bytes for another epoch, the same sample in another batch position too. */
static void test_augment(void)
{
	Dataset ds;
	make_random(&ds, 20);
	int64_t order[20], rev[20];
	for (int i = 0; i < 20; i++)
		order[i] = i, rev[i] = 19 - i;
	float *a = malloc(sizeof(float) * 192 * 20), *b = malloc(sizeof(float) * 192 * 20);
	float *c = malloc(sizeof(float) * 192 * 20), *r = malloc(sizeof(float) * 192 * 20);
	static const DataAugment modes[3] = {DATA_AUG_AUTHORS, DATA_AUG_FLIPS, DATA_AUG_ALL};
	for (int k = 0; k < 3; k++) {
		LoaderOpts o = {.augment = modes[k], .seed = 42};
		epoch_bytes(&ds, &o, order, 20, 3, a);
		epoch_bytes(&ds, &o, order, 20, 3, b);
		epoch_bytes(&ds, &o, order, 20, 4, c);
		epoch_bytes(&ds, &o, rev, 20, 3, r);
		int changed = 0;
		for (int s = 0; s < 20; s++)
			changed += memcmp(a + s * 192, ds.mod[0].px + s * 192, 192 * sizeof(float)) != 0;
		char name[96];
		snprintf(name, sizeof name, "augment %s: the same epoch twice gives the same bytes",
		         data_augment_name(modes[k]));
		t_check(!memcmp(a, b, sizeof(float) * 192 * 20), name, "differ");
		snprintf(name, sizeof name, "augment %s: another epoch differs", data_augment_name(modes[k]));
		t_check(memcmp(a, c, sizeof(float) * 192 * 20) != 0, name, "equal");
		snprintf(name, sizeof name, "augment %s: a sample's augmentation does not depend on the order",
		         data_augment_name(modes[k]));
		t_check(!memcmp(a + 5 * 192, r + 14 * 192, 192 * sizeof(float)), name, "differ");
		snprintf(name, sizeof name, "augment %s: most samples change", data_augment_name(modes[k]));
		t_check(changed >= 8, name, "%d of 20 changed", changed);
	}
	LoaderOpts none = {.augment = DATA_AUG_NONE, .seed = 42};
	epoch_bytes(&ds, &none, order, 20, 3, a);
	t_check(!memcmp(a, ds.mod[0].px, sizeof(float) * 192 * 20), "augment none: the images as they are",
	        "differ");
	LoaderOpts nrm = {.augment = DATA_AUG_NONE};
	RtErr e = {0};
	data_norm_parse("0.5,0.25,0,1,1,2", "normalize", &nrm.norm, &e);
	epoch_bytes(&ds, &nrm, order, 20, 0, a);
	float *x = ds.mod[0].px;
	t_check(fabsf(a[0] - (x[0] - 0.5f) / 0.25f) < 1e-6f && a[64] == x[64] &&
	        fabsf(a[128] - (x[128] - 1) / 2) < 1e-6f, "normalize: per channel (x - mean) / std",
	        "%g", a[0]);
	RtErr e2 = {0};
	t_check(data_norm_check(&nrm.norm, 1, "a", &e2) == -1 && strstr(e2.msg, "3 mean,std pairs"),
	        "normalize: pairs must match the channels", "%s", e2.msg);
	free(a), free(b), free(c), free(r);
	data_free(&ds);
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	return remove(path);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	snprintf(dir, sizeof dir, "%s/lunac_test_dimg_XXXXXX", tmp);
	if (!mkdtemp(dir)) {
		t_check(0, "temporary directory", "%s", dir);
		return t_done();
	}
	test_folders();
	test_folders_errors();
	test_csv();
	test_csv_spec();
	test_line_ends();
	test_folders_odd();
	test_long_names();
	test_paired();
	test_labels();
	test_augment();
	if (nftw(dir, rm_one, 8, FTW_DEPTH | FTW_PHYS))
		printf("# could not remove %s\n", dir);
	return t_done();
}
