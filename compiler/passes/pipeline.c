/*
** pipeline.c -- the pass pipeline, a recipe: each pass in order, the
** verifier after each. `--passes`, `--disable-pass`, `--print-after` and
** `--dump-dir` (through the after hook) act on this same list.
*/
#include "passes.h"

#include <stdio.h>
#include <string.h>

const Pass pass_list[] = {
	{"mode", "specialise dropout and batch-norm modes and the outputs for the entry point", pass_mode, 0, 0},
	{"autodiff", "reverse-mode gradients of the loss (training)", pass_autodiff, 0, 1},
	{"update", "gradient clipping and the optimizer step, as IR (training)", pass_update, 0, 1},
	{"bnstats", "running-statistics update of batch norm (training)", pass_bnstats, 0, 1},
	{"simplify", "remove identity ops (dropout off, p = 0; same-shape reshape)", pass_simplify, 1, 0},
	{"cse", "merge nodes that compute the same value (common subexpressions)", pass_cse, 1, 0},
	{"dce", "remove values no output or write-back depends on (sources are kept)", pass_dce, 1, 0},
};
const int pass_count = sizeof pass_list / sizeof pass_list[0];

/* 1 if name appears in the comma-separated list. */
static int listed(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t k = c ? (size_t)(c - p) : strlen(p);
		if (k == n && !strncmp(p, name, n))
			return 1;
		p = c ? c + 1 : NULL;
	}
	return 0;
}

int pass_listed(const char *print_after, const char *name)
{
	return print_after && (listed(print_after, "all") || listed(print_after, name));
}

/* Print the graph after a pass when asked to ("input": before any pass). */
static void maybe_print(const Graph *g, const PassOpts *o, const char *name)
{
	if (!pass_listed(o->print_after, name))
		return;
	FILE *f = o->print_file ? o->print_file : stderr;
	fprintf(f, "# after %s\n", name);
	ir_print(g, f);
}

/* Check that every pass named in a user's list exists. */
static int check_names(const char *list, const char *flag, Err *e)
{
	for (const char *p = list; p && *p;) {
		const char *c = strchr(p, ',');
		size_t k = c ? (size_t)(c - p) : strlen(p);
		int found = 0;
		for (int i = 0; i < pass_count; i++)
			found |= strlen(pass_list[i].name) == k && !strncmp(pass_list[i].name, p, k);
		int printing = !strcmp(flag, "--print-after");
		int extra = (printing && ((k == 3 && !strncmp(p, "all", 3)) || (k == 5 && !strncmp(p, "input", 5)) ||
		                          (k == 4 && !strncmp(p, "plan", 4)))) ||
		            (!strcmp(flag, "--passes") && k == 4 && !strncmp(p, "none", 4));
		if (!found && !extra)
			return ir_errorf(e, "%s: unknown pass \"%.*s\" (lunac passes lists them)", flag, (int)k, p);
		p = c ? c + 1 : NULL;
	}
	return 0;
}

/* Run every pass in order, verifying after each. */
int pass_pipeline(Graph *g, const PassOpts *o, Err *e)
{
	if (check_names(o->disable, "--disable-pass", e) || check_names(o->print_after, "--print-after", e) ||
	    check_names(o->only, "--passes", e))
		return -1;
	for (int i = 0; o->only && i < pass_count; i++)
		if (listed(o->only, pass_list[i].name) && listed(o->disable, pass_list[i].name))
			return ir_errorf(e, "--passes names \"%s\" and --disable-pass skips it: say one", pass_list[i].name);
	if (g->entry)
		return ir_errorf(e, "the graph was already specialised for the entry point %s "
		                    "(its graph line says entry=%s): passes run on a model's graph", g->entry, g->entry);
	if (ir_verify(g, e))
		return -1;
	maybe_print(g, o, "input");
	if (o->after && o->after(g, "input", o->after_arg, e))
		return -1;
	g->entry = ir_strdup(&g->arena, pass_entry_name(o->entry, o->optimizer));
	for (int i = 0; i < pass_count; i++) {
		const Pass *p = &pass_list[i];
		if (p->train_only && o->entry != ENTRY_TRAIN)
			continue;
		if (listed(o->disable, p->name)) {
			if (!p->can_disable)
				return ir_errorf(e, "--disable-pass: pass \"%s\" is required", p->name);
			continue;
		}
		if (o->only && p->can_disable && !listed(o->only, p->name))
			continue;   /* --passes: the optional passes it names, the required ones always */
		if (p->run(g, o, e))
			return -1;
		if (ir_verify(g, e))
			return ir_errorf(e, "after pass %s", p->name);
		maybe_print(g, o, p->name);
		if (o->after && o->after(g, p->name, o->after_arg, e))
			return -1;
	}
	return 0;
}

static const char *const entry_names[ENTRY_COUNT] = {"predict", "mc", "eval", "train"};

/* The entry's name in the executable ("predict", "train_adam", ...). */
const char *pass_entry_name(EntryKind k, OptKind opt)
{
	if (k == ENTRY_TRAIN)
		return opt == OPT_SGD ? "train_sgd" : "train_adam";
	return k < ENTRY_COUNT ? entry_names[k] : "?";
}

/* Parse an entry name; returns -1 when unknown. */
int pass_entry_parse(const char *name, EntryKind *k, OptKind *opt)
{
	*opt = OPT_ADAM;
	if (!strcmp(name, "train_sgd") || !strcmp(name, "train_adam")) {
		*k = ENTRY_TRAIN;
		*opt = name[6] == 's' ? OPT_SGD : OPT_ADAM;
		return 0;
	}
	for (int i = 0; i < ENTRY_TRAIN; i++)
		if (!strcmp(name, entry_names[i])) {
			*k = (EntryKind)i;
			return 0;
		}
	return -1;
}
