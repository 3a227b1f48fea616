/*
** codegen.h -- LLVM IR for a planned graph, through the LLVM-C API.
**
** The emitted module holds one function per kernel, the entry point and the
** model descriptor (runtime/lunac_rt.h defines that ABI). compiler/ never
** includes LLVM headers outside compiler/codegen/.
*/
#ifndef LUNAC_CODEGEN_H
#define LUNAC_CODEGEN_H

#include "../ir/ir.h"
#include "../passes/passes.h"

typedef enum { EMIT_EXE, EMIT_OBJ, EMIT_LLVM, EMIT_ASM } EmitKind;

typedef struct CgOptions {
	const char *cpu;        /* NULL: the host's CPU name */
	const char *features;   /* NULL: the host's CPU features */
	int opt_level;          /* 0..3, default 3 */
	const char *entry;      /* entry point symbol, default "lunac_predict" */
} CgOptions;

/* Emit g (already through the pipeline) with plan p as an object file,
** textual LLVM IR or assembly at path (EMIT_EXE is the driver's business:
** it asks for EMIT_OBJ and links). Output is byte-identical for the same
** graph, options and LLVM version. Writes to a temporary file and renames.
** o may be NULL (host CPU, -O3, "lunac_predict"); opt_level is taken as
** given. Fails with an internal error if the plan puts a computed value over
** a parameter, buffer or live input. docs/codegen.md describes the output. */
int cg_emit(const Graph *g, const Plan *p, const CgOptions *o, EmitKind k, const char *path, Err *e);

/* The model descriptor JSON (schema in runtime/lunac_rt.h); malloc'ed. */
char *cg_descriptor(const Graph *g, const Plan *p);

#endif
