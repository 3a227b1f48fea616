/*
** cg.h -- what the code generator's files share (private to compiler/codegen/).
**
** One Cg per emission: the LLVM context, module and builder, the graph and
** its plan, and the kernel being built. Each op family has an emitter that
** builds the body of one kernel function `void kID_op(ptr slot..., i64 n,
** ptr ctx)` (slots: storage.c); the loop-nest builder (loops.c) and the
** value helpers below keep those emitters short.
*/
#ifndef LUNAC_CG_H
#define LUNAC_CG_H

#include "codegen.h"

#include <llvm-c/Core.h>

typedef struct Cg {
	const Graph *g;
	const Plan *p;
	Err *e;
	LLVMContextRef ctx;
	LLVMModuleRef mod;
	LLVMBuilderRef b;
	LLVMTypeRef f32, i32, i64, ptr, voidt;
	const char *cpu, *features;                 /* target, for function attributes */
	int avx512;                                 /* features enable avx512f */
	LLVMValueRef *constg;                       /* CONST node id -> its private global */
	/* The kernel being built: its pointer arguments ("slots", one per
	** distinct storage, see storage.c), n and the RtCtx pointer. */
	LLVMValueRef fn, n, rtctx;
	int nslot;
	int slot[IR_MAXIN + 1];                     /* home node id of each slot */
	LLVMValueRef slotp[IR_MAXIN + 1];
	LLVMBasicBlockRef allocas;                  /* entry block: accumulators live here */
} Cg;

/* An emitter fills the body of the kernel for nd; 0, or -1 with c->e set. */
typedef int (*Emitter)(Cg *c, const Node *nd);

/* ---- loops.c: the loop-nest builder ---- */

/* for i in [lo, hi): a guarded, bottom-tested loop whose counter is a phi. */
typedef struct Loop {
	LLVMValueRef i, hi;
	LLVMBasicBlockRef body, exit;
	int keep;           /* set before closing: never fully unroll (see loops.c) */
} Loop;

/* Open a loop; the builder is left in its body, l->i is the counter. */
void loop_open(Cg *c, Loop *l, LLVMValueRef lo, LLVMValueRef hi);
/* Close the innermost open loop l; the builder continues after it. */
void loop_close(Cg *c, Loop *l);

/* A nest of up to IR_MAXDIM loops from 0 to each bound, outermost first. */
typedef struct Nest {
	int depth;
	Loop l[IR_MAXDIM];
} Nest;
void nest_open(Cg *c, Nest *s, int depth, LLVMValueRef const *bounds);
void nest_close(Cg *c, Nest *s);
/* Row-major flat index of the nest's counters over the same bounds. */
LLVMValueRef nest_flat(Cg *c, const Nest *s, LLVMValueRef const *bounds);

/* if (cond) { ... }: returns the join block to pass to if_close. */
LLVMBasicBlockRef if_open(Cg *c, LLVMValueRef cond);
void if_close(Cg *c, LLVMBasicBlockRef join);

/* ---- loops.c: values ---- */

LLVMValueRef ci(Cg *c, int64_t v);                 /* i64 constant */
LLVMValueRef cf(Cg *c, float v);                   /* f32 constant */
LLVMValueRef iadd(Cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef isub(Cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef imul(Cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef imin(Cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef imax(Cg *c, LLVMValueRef a, LLVMValueRef b);
/* ceil(a / b) for b > 0 and any sign of a; floor likewise. */
LLVMValueRef iceildiv(Cg *c, LLVMValueRef a, int64_t b);
LLVMValueRef ifloordiv(Cg *c, LLVMValueRef a, int64_t b);
LLVMValueRef ilt(Cg *c, LLVMValueRef a, LLVMValueRef b);  /* signed a < b */

/* Dimension i of s as an i64 (n for the batch dimension). */
LLVMValueRef dimv(Cg *c, const Shape *s, int i);
/* Product of dims [from, to) of s. */
LLVMValueRef dimsv(Cg *c, const Shape *s, int from, int to);

/* Load / store the f32 at p[idx]. */
LLVMValueRef ld(Cg *c, LLVMValueRef p, LLVMValueRef idx);
void st(Cg *c, LLVMValueRef p, LLVMValueRef idx, LLVMValueRef v);

/* A mutable f32 (an alloca in the entry block; mem2reg makes it a phi). */
LLVMValueRef var_new(Cg *c, LLVMValueRef init);
LLVMValueRef var_get(Cg *c, LLVMValueRef v);
void var_set(Cg *c, LLVMValueRef v, LLVMValueRef x);

/* Float arithmetic; f_acc (an add) carries reassoc+contract for reductions. */
LLVMValueRef f_add(Cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef f_acc(Cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef f_mul(Cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef f_max(Cg *c, LLVMValueRef a, LLVMValueRef b);  /* NaN-propagating */
LLVMValueRef f_min(Cg *c, LLVMValueRef a, LLVMValueRef b);
/* Calls to the llvm.<name>.f32 intrinsic (exp, log, sqrt) and to libm tanhf. */
LLVMValueRef f_call(Cg *c, const char *intrinsic, LLVMValueRef x);
LLVMValueRef f_tanh(Cg *c, LLVMValueRef x);

/* ---- op families ---- */
int cg_unary(Cg *c, const Node *nd);      /* cg_elementwise.c */
int cg_binary(Cg *c, const Node *nd);
int cg_conv2d(Cg *c, const Node *nd);     /* cg_conv.c */
int cg_dense(Cg *c, const Node *nd);
int cg_matmul(Cg *c, const Node *nd);
int cg_pool(Cg *c, const Node *nd);
int cg_global(Cg *c, const Node *nd);     /* cg_reduce.c */
int cg_softmax(Cg *c, const Node *nd);
int cg_batchnorm(Cg *c, const Node *nd);
void cg_const_globals(Cg *c);             /* cg_misc.c: before any kernel */
int cg_const(Cg *c, const Node *nd);
int cg_concat(Cg *c, const Node *nd);
int cg_copy(Cg *c, const Node *nd);       /* reshape, dropout off */
int cg_dropout(Cg *c, const Node *nd);

/* ---- storage.c: where values live ---- */

int cg_is_copy(const Node *nd);                   /* reshape, dropout off */
/* The node whose storage holds id's value (follows copies the plan aliased). */
int cg_holder(const Graph *g, const Plan *p, int id);
int cg_home(const Cg *c, int id);
int cg_same_storage(const Cg *c, int a, int b);
/* Collect nd's distinct storages into c->slot; returns how many. */
int cg_slots(Cg *c, const Node *nd);
int cg_slot_noalias(const Cg *c, int k);
/* In a kernel: pointer to node id's storage (slot argument or constant). */
LLVMValueRef base(Cg *c, int id);
/* Refuse plans where a kernel writes over a parameter, buffer or live input. */
int cg_check_plan(Cg *c);
/* In the entry: arena + plan_addr(id) for the builder's n. */
LLVMValueRef cg_addr(Cg *c, LLVMValueRef arena, int id);

/* ---- kernels.c ---- */

/* Emitter for op, NULL for sources that need no kernel (kernels.c). */
Emitter cg_emitter(Op op);
/* Check the emitter table against the op table; 0 or -1 with e set. */
int cg_check_table(Err *e);
/* Does node id need a kernel of its own (not a source, not an alias)? */
int cg_needs_kernel(const Cg *c, const Node *nd);

/* Report an internal or unsupported-op error for nd; returns -1. */
int cg_fail(Cg *c, const Node *nd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
