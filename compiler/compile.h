/* compile.h -- the whole compile of a model's graph as one recipe (compile.c). */
#ifndef LUNAC_COMPILE_H
#define LUNAC_COMPILE_H

#include "codegen/codegen.h"
#include "ir/ir.h"
#include "passes/passes.h"

/* The most entry points one executable has: predict, mc, eval, train_sgd,
** train_adam. */
enum { COMPILE_MAXENTRIES = 5 };

/* Every entry point of one model, through the passes and planned. */
typedef struct Compiled {
	int n;                               /* entry points */
	Graph *gs[COMPILE_MAXENTRIES];       /* each entry's graph after its pipeline */
	Plan plans[COMPILE_MAXENTRIES];      /* each against the shared layout, sizes unified */
	CgEntry es[COMPILE_MAXENTRIES];      /* what codegen reads */
	Layout layout;                       /* the values every entry shares */
	const char *dump_dir;                /* --dump-dir, or NULL */
} Compiled;

/* Steps 1 and 2 of the recipe: every entry point of g (predict; mc when g
** has dropout; eval, train_sgd and train_adam when g has a loss) through the
** pass pipeline with o's --disable-pass, one layout across them, a plan
** per entry, the plans unified. o->entry/o->optimizer name the entry whose
** graphs o->print_after prints ("plan" prints its memory plan). With
** o->dump_dir, every entry's graph before and after each pass
** (DIR/ENTRY.NN-PASS.ir) and its memory plan (DIR/ENTRY.plan.txt) are
** written there. c is filled even on failure; free it with compile_free. */
int compile_plan(const Graph *g, const PassOpts *o, Compiled *c, Err *e);

/* --dump-dir, before any work: make DIR when it is missing (not its
** parents); an existing path must be a folder, and the files an earlier
** dump left in it (the names compile_plan and compile_emit write, only
** those) are removed, so a pass that no longer runs leaves no old graph
** behind. 0 when dir is NULL. */
int compile_dump_prepare(const char *dir, Err *e);

/* Step 3: every entry of c into one module, written to path as k. With a
** dump folder, first the kernel level (DIR/kernels.txt) and the module's
** LLVM IR as generated, before LLVM's passes (DIR/module.ll). */
int compile_emit(const Compiled *c, const CgOptions *o, EmitKind k, const char *path, Err *e);

void compile_free(Compiled *c);

#endif
