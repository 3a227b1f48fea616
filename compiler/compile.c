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
** `plan` after step 2.
*/
#include "compile.h"

#include <stdio.h>
#include <string.h>

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
	memset(c, 0, sizeof *c);
	int n = entry_list(g, list);
	for (int i = 0; i < n; i++) {   /* 1. passes, per entry */
		list[i].disable = o->disable;
		list[i].print_after = shown(&list[i], o) ? o->print_after : NULL;
		list[i].print_file = o->print_file;
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
	for (int i = 0; i < n; i++)
		if (list[i].print_after && pass_listed(list[i].print_after, "plan"))
			pass_plan_print(c->gs[i], &c->plans[i], o->print_file ? o->print_file : stderr);
	return 0;
}

int compile_emit(const Compiled *c, const CgOptions *o, EmitKind k, const char *path, Err *e)
{
	return cg_emit_entries(c->es, c->n, o, k, path, e);   /* 3. codegen */
}

void compile_free(Compiled *c)
{
	for (int i = 0; i < COMPILE_MAXENTRIES; i++)
		ir_free(c->gs[i]);
	pass_layout_free(&c->layout);
	memset(c, 0, sizeof *c);
}
