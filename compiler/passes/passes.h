/*
** passes.h -- graph passes and the pipeline that orders them.
**
** Each pass lives in its own file with a header comment saying what it
** requires, keeps and breaks. A pass returns 0, or -1 with e filled.
*/
#ifndef LUNAC_PASSES_H
#define LUNAC_PASSES_H

#include "../ir/ir.h"

/* Memory plan: where every value lives in the executable's single arena.
** A non-batched value lives at off[id]; a batched one (leading dim N) at
** fixed_bytes + off[id] * n, so one plan serves every batch size.
** off[id] < 0 means the value has no storage of its own. */
typedef struct Plan {
	int64_t fixed_bytes;   /* parameters, buffers and other non-batched values */
	int64_t batch_bytes;   /* per-sample bytes of the batched region */
	int64_t *off;          /* indexed by node id; allocated in the graph's arena */
	int64_t peak_bytes_b1; /* fixed_bytes + batch_bytes, what n = 1 needs */
} Plan;

/* Layout: the bytes all entry points of one executable share. Every named
** source (input, param, buffer, state) and every named output has one slot,
** found by name, at the same offset in every entry; each entry's own values
** are planned above the shared slots. */
typedef struct Slot {
	const char *name;
	int batched;
	int output;            /* a named output's slot (else a source's) */
	int64_t off, bytes;    /* bytes per sample when batched */
} Slot;

typedef struct Layout {
	Slot *slots;
	int n, cap;
	int64_t fixed_bytes;   /* shared part of the non-batched region */
	int64_t batch_bytes;   /* shared part of the batched region, per sample */
} Layout;

/* Build the shared layout of the entry graphs gs[0..ng) (after their
** pipelines). Two entries that disagree on a name's type are an error. */
int pass_layout(Graph *const *gs, int ng, Layout *l, Err *e);
void pass_layout_free(Layout *l);
/* The slot named name, or NULL. */
const Slot *pass_layout_find(const Layout *l, const char *name);

/* Byte address of node id inside an arena for batch size n. */
static inline int64_t plan_addr(const Plan *p, const Node *nd, int64_t n)
{
	return ir_batched(&nd->shape) ? p->fixed_bytes + p->off[nd->id] * n : p->off[nd->id];
}

/* The entry points an executable may have (runtime/lunac_rt.h). */
typedef enum {
	ENTRY_PREDICT,   /* dropout off, batch norm on running statistics */
	ENTRY_MC,        /* dropout on (mc), running statistics: one Monte-Carlo sample */
	ENTRY_EVAL,      /* predict plus the loss */
	ENTRY_TRAIN,     /* dropout train, batch statistics; loss, gradients, update */
	ENTRY_COUNT
} EntryKind;

typedef enum { OPT_ADAM, OPT_SGD } OptKind;

typedef struct PassOpts {
	const char *print_after;  /* comma-separated pass names, "input", "plan", "all", or NULL */
	const char *disable;      /* comma-separated pass names to skip, or NULL */
	const char *only;         /* --passes: the optional passes to run (comma-separated, or
	                             "none"; the required ones always run), or NULL: all */
	EntryKind entry;          /* which entry point the graph is specialised for */
	OptKind optimizer;        /* ENTRY_TRAIN: which update rule */
	void *print_file;         /* FILE * for --print-after, default stderr */
	/* NULL, or called with the graph before the first pass ("input") and
	** after each pass that runs, its name; non-zero (with e set) stops the
	** pipeline. compile.c's --dump-dir writes each graph to a file. */
	int (*after)(const Graph *g, const char *pass, void *arg, Err *e);
	void *after_arg;
	const char *dump_dir;     /* --dump-dir: NULL, or the folder compile.c writes every level to */
} PassOpts;

/* 1 if --print-after's list asks for name: it lists name or "all". */
int pass_listed(const char *print_after, const char *name);

/* The entry's name in the executable ("predict", "train_adam", ...). */
const char *pass_entry_name(EntryKind k, OptKind opt);
/* Parse an entry name; returns -1 when unknown. */
int pass_entry_parse(const char *name, EntryKind *k, OptKind *opt);

typedef struct Pass {
	const char *name;
	const char *what;             /* one line for `lunac passes` */
	int (*run)(Graph *g, const PassOpts *o, Err *e);
	int can_disable;
	int train_only;               /* runs only for ENTRY_TRAIN */
} Pass;

extern const Pass pass_list[];
extern const int pass_count;

/* The pipeline: every pass in order, the verifier after each one. */
int pass_pipeline(Graph *g, const PassOpts *o, Err *e);
/* The memory planner (runs after the pipeline; its result feeds codegen).
** With a layout, named sources and outputs take their shared slots and the
** rest is planned above them; with NULL, the graph is planned on its own. */
int pass_plan(const Graph *g, const Layout *l, Plan *p, Err *e);
/* Give every plan the largest fixed and batched sizes among them, so that
** one arena and one address rule serve every entry. */
void pass_plan_unify(Plan *const *ps, int n);
/* Print plan p of g as IR comments (lines starting "# "): per value its
** region, offset, bytes and lifetime (node ids). -1 when out of memory. */
int pass_plan_print(const Graph *g, const Plan *p, void *file);

int pass_mode(Graph *g, const PassOpts *o, Err *e);
int pass_autodiff(Graph *g, const PassOpts *o, Err *e);
int pass_update(Graph *g, const PassOpts *o, Err *e);
int pass_bnstats(Graph *g, const PassOpts *o, Err *e);
int pass_cse(Graph *g, const PassOpts *o, Err *e);
int pass_dce(Graph *g, const PassOpts *o, Err *e);
int pass_simplify(Graph *g, const PassOpts *o, Err *e);

#endif
