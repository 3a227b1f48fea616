/*
** codegen.h -- LLVM IR for a planned graph, through the LLVM-C API.
**
** The emitted module holds one function per kernel, the entry point and the
** model descriptor (runtime/lunac_rt.h defines that ABI). compiler/ never
** includes LLVM headers outside compiler/codegen/.
*/
#ifndef LUNAC_CODEGEN_H
#define LUNAC_CODEGEN_H

#include <stdio.h>

#include "../ir/ir.h"
#include "../passes/passes.h"

typedef enum { EMIT_EXE, EMIT_OBJ, EMIT_LLVM, EMIT_ASM } EmitKind;

typedef struct CgOptions {
	const char *cpu;        /* NULL: the host's CPU name */
	const char *features;   /* NULL: the host's CPU features */
	int opt_level;          /* 0..3, default 3 */
	const char *entry;      /* cg_emit's one entry: its name ("predict", the default; a
	                           leading "lunac_" is ignored); cg_emit_entries ignores it */
	void (*phase)(const char *what);   /* NULL, or told what codegen starts next */
	const char *dump_ll;    /* NULL, or where to write the module's LLVM IR as generated
	                           and verified, before any LLVM pass (--dump-dir) */
} CgOptions;

/* Write bytes to path through a temporary file in the same folder (nothing
** half-written); -1 with e set naming path. */
int cg_write_atomic(const char *path, const char *bytes, size_t len, Err *e);

/* Emit g (already through the pipeline) with plan p as the one entry
** o->entry: cg_emit_entries with one entry. */
int cg_emit(const Graph *g, const Plan *p, const CgOptions *o, EmitKind k, const char *path, Err *e);

/* The descriptor of g and p as the one entry "predict"; malloc'ed. */
char *cg_descriptor(const Graph *g, const Plan *p);

/* One entry point of an executable: its specialised graph and plan. */
typedef struct CgEntry {
	const char *name;       /* "predict", "mc", "eval", "train_sgd", "train_adam" */
	const Graph *g;
	const Plan *p;          /* planned against the shared layout, unified sizes */
} CgEntry;

/* Emit every entry into one module as an object file, textual LLVM IR or
** assembly at path (EMIT_EXE is the driver's business: it asks for EMIT_OBJ
** and links): per entry a function lunac_<name> calling kernels
** <entry>_kID_op, one per distinct computation (nodes of any entry that
** compute the same thing share one, named after the first), and one
** descriptor built from all of them. The entries' plans must share one
** layout and have unified sizes (pass_plan_unify).
** Output is byte-identical for the same graphs, plans, options and LLVM
** version. A big module's object is compiled as parts on several threads
** and joined with `$CC -r` (split.c). Writes to a temporary file and renames. o may be NULL (host CPU,
** -O3); opt_level is taken as given. Fails with an internal error if a plan
** puts a computed value over a parameter, buffer, state or live input (an
** assign writes only its destination), if a value is read after an assign
** overwrote its storage, or if two entries place a name differently.
** docs/codegen.md describes the output. */
int cg_emit_entries(const CgEntry *es, int n, const CgOptions *o, EmitKind k, const char *path, Err *e);
/* Print the kernel level of every entry (kernel/print.c: one line per
** kernel call with its schedule) for o's target, after verifying every
** schedule; 0, or -1 with e set. */
int cg_print_kernels(const CgEntry *es, int n, const CgOptions *o, FILE *f, Err *e);

/* The descriptor of several entries (schema in runtime/lunac_rt.h): inputs,
** outputs and params+buffers+state listed once by name, "tasks" from the
** first entry's graph, "entries" with each entry's outputs; malloc'ed, NULL
** on an internal error (see cg_emit_entries). */
char *cg_descriptor_entries(const CgEntry *es, int n);

#endif
