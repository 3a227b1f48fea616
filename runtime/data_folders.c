/*
** data_folders.c -- `folders:DIR[,SUB]`: one sub-folder of DIR per class
** (sorted by name: label 0..K-1, the names kept), its images in
** DIR/<class>[/SUB]/ (PNG, JPEG or BMP, recognised by extension, decoded
** by content). Files of other extensions and sub-folders are skipped and
** counted in the dataset's note; entries starting with '.' are ignored.
** An empty class folder is an error (it would be a class no sample has).
** `images:DIR` reads the images directly in DIR the same way, without
** labels (predict --data). Each image's path is kept as its id.
*/
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "data.h"

/* A growing list of owned strings. */
typedef struct List {
	char **s;
	int64_t n, cap;
} List;

static int push(List *l, char *s)
{
	if (!s)
		return -1;
	if (l->n == l->cap) {
		int64_t cap = l->cap ? 2 * l->cap : 64;
		char **p = realloc(l->s, sizeof *p * (size_t)cap);
		if (!p) {
			free(s);
			return -1;
		}
		l->s = p, l->cap = cap;
	}
	l->s[l->n++] = s;
	return 0;
}

static void list_free(List *l)
{
	for (int64_t i = 0; i < l->n; i++)
		free(l->s[i]);
	free(l->s);
	memset(l, 0, sizeof *l);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "dir/name" in a new string. */
static char *join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + b + 2);
	if (p)
		snprintf(p, a + b + 2, "%s%s%s", dir, a && dir[a - 1] == '/' ? "" : "/", name);
	return p;
}

/* Whether name ends in an image extension. */
static int is_image(const char *name)
{
	static const char *const ext[] = {".png", ".jpg", ".jpeg", ".bmp"};
	size_t n = strlen(name);
	for (size_t i = 0; i < sizeof ext / sizeof *ext; i++) {
		size_t k = strlen(ext[i]);
		if (n > k && !strcasecmp(name + n - k, ext[i]))
			return 1;
	}
	return 0;
}

/* What one folder walk found beyond the images. */
typedef struct Skipped {
	int64_t files, dirs;
	char *example;              /* the first skipped path */
} Skipped;

/* The entries of dir (not starting with '.'), sorted, as full paths;
** dirs_only: only directories, else only the rest. Stat follows links. */
static int entries(const char *dir, int dirs_only, List *out, Skipped *sk, RtErr *e)
{
	DIR *d = opendir(dir);
	if (!d)
		return rt_errorf(e, "%s: cannot open the folder: %s", dir, strerror(errno));
	struct dirent *de;
	int rc = 0;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *p = join(dir, de->d_name);
		struct stat st;
		if (!p || stat(p, &st)) {
			rc = p ? rt_errorf(e, "%s: cannot stat: %s", p, strerror(errno))
			       : rt_errorf(e, "out of memory");
			free(p);
			break;
		}
		int isdir = S_ISDIR(st.st_mode);
		int want = dirs_only ? isdir : !isdir && is_image(de->d_name);
		if (!want && sk) {
			isdir ? sk->dirs++ : sk->files++;
			if (!sk->example) {
				sk->example = p;
				p = NULL;
			}
		}
		if (!want)
			free(p);
		else if (push(out, p))
			rc = rt_errorf(e, "out of memory");
	}
	closedir(d);
	if (out->n > 1)   /* qsort's array must not be NULL, even for no entries */
		qsort(out->s, (size_t)out->n, sizeof *out->s, cmp_str);
	return rc;
}

/* The dataset's note about what was skipped. */
static int note(Dataset *ds, const Skipped *sk)
{
	if (!sk->files && !sk->dirs)
		return 0;
	char buf[1400];
	snprintf(buf, sizeof buf, "%s: skipped %lld file%s that %s not .png, .jpg, .jpeg or .bmp "
	         "and %lld folder%s inside class folders (e.g. %.1000s)", ds->name,
	         (long long)sk->files, sk->files == 1 ? "" : "s", sk->files == 1 ? "is" : "are",
	         (long long)sk->dirs, sk->dirs == 1 ? "" : "s", sk->example);
	return (ds->note = strdup(buf)) ? 0 : -1;
}

/* List every class folder's images into paths, labels and class names. */
static int scan(const char *spec, const char *dir, const char *sub, Dataset *ds, List *paths,
                List *classes, Skipped *sk, RtErr *e)
{
	List cdirs = {0};
	int rc = entries(dir, 1, &cdirs, NULL, e);
	if (!rc && cdirs.n == 0)
		rc = rt_errorf(e, "%s: %s holds no class folders: the layout is DIR/<class>/<image> "
		               "(sub-folder names are the classes)", spec, dir);
	int32_t *y = NULL;
	for (int64_t c = 0; !rc && c < cdirs.n; c++) {
		const char *name = strrchr(cdirs.s[c], '/') + 1;
		char *where = sub ? join(cdirs.s[c], sub) : strdup(cdirs.s[c]);
		int64_t before = paths->n;
		if (strpbrk(name, "\r\n")) {
			rc = rt_errorf(e, "%s: the class folder name \"%s\" holds a line break (a class name "
			               "is one line)", spec, cdirs.s[c]);
			free(where);
			break;
		}
		if (!where || push(classes, strdup(name)))
			rc = rt_errorf(e, "out of memory");
		if (!rc)
			rc = entries(where, 0, paths, sk, e);
		if (!rc && paths->n == before)
			rc = rt_errorf(e, "%s: the class folder %s holds no images (.png, .jpg, .jpeg, .bmp)",
			               spec, where);
		free(where);
		int32_t *ny = rc ? NULL : realloc(y, sizeof *y * (size_t)paths->n);
		if (!rc && !ny)
			rc = rt_errorf(e, "out of memory");
		for (int64_t i = before; !rc && i < paths->n; i++)
			ny[i] = (int32_t)c;
		if (ny)
			y = ny;
	}
	list_free(&cdirs);
	ds->task[0].y = y;
	return rc;
}

int data_folders_read(const char *spec, const char *rest, const DataOpts *o, Dataset *out,
                      RtErr *e)
{
	memset(out, 0, sizeof *out);
	const char *comma = strchr(rest, ',');
	char *dir = comma ? strndup(rest, (size_t)(comma - rest)) : strdup(rest);
	const char *sub = comma ? comma + 1 : NULL;
	if (!dir)
		return rt_errorf(e, "out of memory");
	if (!*dir || (sub && !*sub)) {
		free(dir);
		return rt_errorf(e, "data spec '%s': expected folders:DIR or folders:DIR,SUBFOLDER", spec);
	}
	List paths = {0}, classes = {0};
	Skipped sk = {0};
	out->nmod = out->ntask = 1;
	DataImages *m = &out->mod[0];
	DataLabels *l = &out->task[0];
	int rc = !(out->name = strdup(spec)) || !(m->name = strdup(spec)) || !(l->path = strdup(dir))
	         ? rt_errorf(e, "out of memory") : 0;
	if (!rc)
		rc = scan(spec, dir, sub, out, &paths, &classes, &sk, e);
	if (!rc) {
		out->count = m->rows = l->rows = paths.n;
		m->c = o->c, m->h = o->h, m->w = o->w, m->resize = o->resize;
		l->nclasses = (int)classes.n;
		l->names = classes.s;
		classes = (List){0};
		rc = data_load_images((const char *const *)paths.s, paths.n, o->c, o->h, o->w,
		                      o->resize, o->threads, &m->px, &m->seen, e);
		m->ids = paths.s;   /* rows == paths.n: data_free frees them */
		paths = (List){0};
	}
	if (!rc && note(out, &sk))
		rc = rt_errorf(e, "out of memory");
	list_free(&paths);
	list_free(&classes);
	free(sk.example);
	free(dir);
	if (rc)
		data_free(out);
	return rc;
}

int data_images_read(const char *spec, const char *rest, const DataOpts *o, Dataset *out,
                     RtErr *e)
{
	memset(out, 0, sizeof *out);
	if (!*rest)
		return rt_errorf(e, "data spec '%s': expected images:DIR", spec);
	List paths = {0};
	Skipped sk = {0};
	out->nmod = 1;
	DataImages *m = &out->mod[0];
	int rc = !(out->name = strdup(spec)) || !(m->name = strdup(spec))
	         ? rt_errorf(e, "out of memory") : entries(rest, 0, &paths, &sk, e);
	if (!rc && paths.n == 0)
		rc = rt_errorf(e, "%s: the folder %s holds no images (.png, .jpg, .jpeg, .bmp)%s", spec,
		               rest, sk.dirs ? "; for class folders use folders:DIR" : "");
	if (!rc) {
		out->count = m->rows = paths.n;
		m->c = o->c, m->h = o->h, m->w = o->w, m->resize = o->resize;
		rc = data_load_images((const char *const *)paths.s, paths.n, o->c, o->h, o->w,
		                      o->resize, o->threads, &m->px, &m->seen, e);
		m->ids = paths.s;
		paths = (List){0};
	}
	if (!rc && (sk.files || sk.dirs)) {
		char buf[1400];
		snprintf(buf, sizeof buf, "%s: skipped %lld file%s that %s not .png, .jpg, .jpeg or .bmp "
		         "and %lld folder%s (e.g. %.1000s)", spec, (long long)sk.files,
		         sk.files == 1 ? "" : "s", sk.files == 1 ? "is" : "are", (long long)sk.dirs,
		         sk.dirs == 1 ? "" : "s", sk.example);
		if (!(out->note = strdup(buf)))
			rc = rt_errorf(e, "out of memory");
	}
	list_free(&paths);
	free(sk.example);
	if (rc)
		data_free(out);
	return rc;
}
