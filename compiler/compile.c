/*
** compile.c -- the whole compile of a model's graph, one recipe read top to
** bottom (the driver keeps only the command line and linking):
**
**   1. per entry point: clone the model's graph, run the pass pipeline
**      (passes/pipeline.c) specialised for that entry;
**   2. across entry points: one layout of the values they share (inputs,
**      parameters, buffers, optimizer state, named outputs), a memory plan
**      per entry above it, the plans unified to one arena size;
**   3. code generation of every entry into one module (codegen/).
**
** `--print-after` sees every step: the pass names and `input` in step 1,
** `plan` after step 2. `--dump-dir DIR` writes every level to files: each
** entry's graph before and after each pass and its memory plan (steps 1
** and 2), the kernel level and the LLVM IR as generated (step 3).
*/
#include "compile.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* One entry's dumps: the folder, the entry's name, the next file's number. */
typedef struct Dump {
	const char *dir, *entry;
	int k;
} Dump;

/* Write what print(x, y, f, e) prints to dir/name (nothing half-written). */
static int dump_text(const char *dir, const char *name, int (*print)(const void *x, const void *y, FILE *f, Err *e),
                     const void *x, const void *y, Err *e)
{
	char *buf = NULL, *path = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f || asprintf(&path, "%s/%s", dir, name) < 0) {
		if (f)
			fclose(f);
		free(buf);
		return ir_errorf(e, "out of memory");
	}
	int rc = print(x, y, f, e);
	int bad = ferror(f);
	bad |= fclose(f) != 0;
	if (!rc)
		rc = bad ? ir_errorf(e, "%s: out of memory", path) : cg_write_atomic(path, buf ? buf : "", len, e);
	free(buf);
	free(path);
	return rc;
}

/* print for dump_text: a graph. */
static int print_graph(const void *g, const void *unused, FILE *f, Err *e)
{
	ir_print(g, f);
	return 0;
}

/* print for dump_text: a graph's memory plan. */
static int print_plan(const void *g, const void *p, FILE *f, Err *e)
{
	pass_plan_print(g, p, f);
	return 0;
}

/* The pipeline's after hook for --dump-dir: DIR/ENTRY.NN-PASS.ir. */
static int dump_graph(const Graph *g, const char *pass, void *arg, Err *e)
{
	Dump *d = arg;
	char name[96];
	snprintf(name, sizeof name, "%s.%02d-%s.ir", d->entry, d->k++, pass);
	return dump_text(d->dir, name, print_graph, g, NULL, e);
}

/* 1 if name is a file --dump-dir writes: ENTRY.NN-PASS.ir, ENTRY.plan.txt,
** kernels.txt, module.ll (ENTRY one of the entry points). */
static int dump_name(const char *name)
{
	if (!strcmp(name, "kernels.txt") || !strcmp(name, "module.ll"))
		return 1;
	for (int i = 0; i < 2 * ENTRY_COUNT; i++) {   /* every entry's name, the training one per optimizer */
		const char *entry = pass_entry_name((EntryKind)(i / 2), i % 2 ? OPT_SGD : OPT_ADAM);
		size_t n = strlen(entry), len = strlen(name);
		if (strncmp(name, entry, n) || name[n] != '.')
			continue;
		const char *r = name + n + 1;
		if (!strcmp(r, "plan.txt"))
			return 1;
		if (isdigit((unsigned char)r[0]) && isdigit((unsigned char)r[1]) && r[2] == '-' && len > n + 7 &&
		    !strcmp(name + len - 3, ".ir"))
			return 1;
	}
	return 0;
}

int compile_dump_prepare(const char *dir, Err *e)
{
	struct stat sb;
	if (!dir)
		return 0;
	if (stat(dir, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode))
			return ir_errorf(e, "--dump-dir %s: not a folder", dir);
		DIR *d = opendir(dir);
		if (!d)
			return ir_errorf(e, "--dump-dir %s: %s", dir, strerror(errno));
		int rc = 0;
		for (struct dirent *de; !rc && (de = readdir(d));)
			if (dump_name(de->d_name) && unlinkat(dirfd(d), de->d_name, 0) != 0 && errno != ENOENT)
				rc = ir_errorf(e, "--dump-dir %s: cannot remove the earlier %s: %s", dir, de->d_name, strerror(errno));
		closedir(d);
		return rc;
	}
	if (errno != ENOENT)
		return ir_errorf(e, "--dump-dir %s: %s", dir, strerror(errno));
	if (mkdir(dir, 0777) != 0)
		return ir_errorf(e, "--dump-dir %s: cannot make the folder: %s", dir, strerror(errno));
	return 0;
}

/* 1 if g has a dropout that Monte-Carlo sampling would switch on. */
static int has_dropout(const Graph *g)
{
	for (int i = 0; i < g->nnodes; i++)
		if (g->nodes[i]->op == OP_DROPOUT && g->nodes[i]->a.mode != MODE_OFF && g->nodes[i]->a.p > 0)
			return 1;
	return 0;
}

/* The executable's entry points: always predict; mc when there is dropout;
** eval and the two training steps when the model defines a loss. */
static int entry_list(const Graph *g, PassOpts *list)
{
	int n = 0;
	list[n++] = (PassOpts){.entry = ENTRY_PREDICT};
	if (has_dropout(g))
		list[n++] = (PassOpts){.entry = ENTRY_MC};
	if (ir_find_output(g, "loss") >= 0) {
		list[n++] = (PassOpts){.entry = ENTRY_EVAL};
		list[n++] = (PassOpts){.entry = ENTRY_TRAIN, .optimizer = OPT_SGD};
		list[n++] = (PassOpts){.entry = ENTRY_TRAIN, .optimizer = OPT_ADAM};
	}
	return n;
}

/* 1 if entry options a are the entry o names (--entry). */
static int shown(const PassOpts *a, const PassOpts *o)
{
	return a->entry == o->entry && (a->entry != ENTRY_TRAIN || a->optimizer == o->optimizer);
}

int compile_plan(const Graph *g, const PassOpts *o, Compiled *c, Err *e)
{
	PassOpts list[COMPILE_MAXENTRIES];
	Plan *pp[COMPILE_MAXENTRIES];
	Dump dumps[COMPILE_MAXENTRIES];
	memset(c, 0, sizeof *c);
	c->dump_dir = o->dump_dir;
	int n = entry_list(g, list);
	for (int i = 0; i < n; i++) {   /* 1. passes, per entry */
		list[i].disable = o->disable;
		list[i].only = o->only;
		list[i].print_after = shown(&list[i], o) ? o->print_after : NULL;
		list[i].print_file = o->print_file;
		dumps[i] = (Dump){o->dump_dir, pass_entry_name(list[i].entry, list[i].optimizer), 0};
		if (o->dump_dir)
			list[i].after = dump_graph, list[i].after_arg = &dumps[i];
		if (!(c->gs[i] = ir_clone(g)))
			return ir_errorf(e, "out of memory");
		c->n = i + 1;
		if (pass_pipeline(c->gs[i], &list[i], e))
			return -1;
	}
	if (pass_layout(c->gs, n, &c->layout, e))   /* 2. layout, plans, unified */
		return -1;
	for (int i = 0; i < n; i++) {
		if (pass_plan(c->gs[i], &c->layout, &c->plans[i], e))
			return -1;
		pp[i] = &c->plans[i];
		c->es[i] = (CgEntry){pass_entry_name(list[i].entry, list[i].optimizer), c->gs[i], &c->plans[i]};
	}
	pass_plan_unify(pp, n);
	for (int i = 0; i < n; i++) {
		if (list[i].print_after && pass_listed(list[i].print_after, "plan"))
			pass_plan_print(c->gs[i], &c->plans[i], o->print_file ? o->print_file : stderr);
		char name[64];
		snprintf(name, sizeof name, "%s.plan.txt", dumps[i].entry);
		if (o->dump_dir && dump_text(o->dump_dir, name, print_plan, c->gs[i], &c->plans[i], e))
			return -1;
	}
	return 0;
}

/* print for dump_text: the kernel level of every entry, for a target. */
static int print_kernels(const void *c, const void *o, FILE *f, Err *e)
{
	const Compiled *cc = c;
	return cg_print_kernels(cc->es, cc->n, o, f, e);
}

int compile_emit(const Compiled *c, const CgOptions *o, EmitKind k, const char *path, Err *e)
{
	if (!c->dump_dir)
		return cg_emit_entries(c->es, c->n, o, k, path, e);   /* 3. codegen */
	CgOptions d = o ? *o : (CgOptions){.opt_level = 3};
	char *ll = NULL;
	if (asprintf(&ll, "%s/module.ll", c->dump_dir) < 0)
		return ir_errorf(e, "out of memory");
	d.dump_ll = ll;
	int rc = dump_text(c->dump_dir, "kernels.txt", print_kernels, c, &d, e) ||
	         cg_emit_entries(c->es, c->n, &d, k, path, e);
	free(ll);
	return rc ? -1 : 0;
}

void compile_free(Compiled *c)
{
	for (int i = 0; i < COMPILE_MAXENTRIES; i++)
		ir_free(c->gs[i]);
	pass_layout_free(&c->layout);
	memset(c, 0, sizeof *c);
}
