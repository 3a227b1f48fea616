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

/* Byte address of node id inside an arena for batch size n. */
static inline int64_t plan_addr(const Plan *p, const Node *nd, int64_t n)
{
	return ir_batched(&nd->shape) ? p->fixed_bytes + p->off[nd->id] * n : p->off[nd->id];
}

typedef struct PassOpts {
	const char *print_after;  /* pass name, "all", or NULL */
	const char *disable;      /* comma-separated pass names to skip, or NULL */
	Mode dropout_mode;        /* what the mode pass sets: MODE_OFF (predict) or MODE_MC */
	void *print_file;         /* FILE * for --print-after, default stderr */
} PassOpts;

typedef struct Pass {
	const char *name;
	const char *what;             /* one line for `lunac passes` */
	int (*run)(Graph *g, const PassOpts *o, Err *e);
	int can_disable;
} Pass;

extern const Pass pass_list[];
extern const int pass_count;

/* The pipeline: every pass in order, the verifier after each one. */
int pass_pipeline(Graph *g, const PassOpts *o, Err *e);
/* The memory planner (runs after the pipeline; its result feeds codegen). */
int pass_plan(const Graph *g, Plan *p, Err *e);

int pass_mode(Graph *g, const PassOpts *o, Err *e);
int pass_dce(Graph *g, const PassOpts *o, Err *e);
int pass_simplify(Graph *g, const PassOpts *o, Err *e);

#endif
