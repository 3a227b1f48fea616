/*
** cg.h -- what the code generator's files share (private to compiler/codegen/).
**
** One Cg per emission: the LLVM context, module and builder, the entry
** being emitted (its graph and plan), the kernels and constants emitted so
** far (found again by key, kernels.c), and the kernel being built. Each op
** family has an emitter that builds the body of one kernel function
** `void <entry>_kID_op(ptr slot..., i64 n, ptr ctx)` (slots: storage.c); the
** loop-nest builder (loops.c) and the value helpers below keep those
** emitters short.
*/
#ifndef LUNAC_CG_H
#define LUNAC_CG_H

#include "codegen.h"
#include "../kernel/kernel.h"

#include <llvm-c/Core.h>
#include <llvm-c/TargetMachine.h>

/* A hash map from byte strings (copied into the arena) to pointers (map.c).
** Only looked up, never iterated, so its layout never reaches the output. */
typedef struct MapEntry {
	uint64_t hash;
	const unsigned char *key;                   /* NULL: an empty entry */
	size_t len;
	void *val;
} MapEntry;
typedef struct Map {
	Arena *arena;
	MapEntry *e;
	size_t cap, n;
} Map;
void *map_get(const Map *m, const void *key, size_t len);
void map_put(Map *m, const void *key, size_t len, void *val);

/* The most i64 parameters a kernel takes (sizes passed at run time). */
#define CG_MAXPARAM 4

/* An emitted kernel function and its type. */
typedef struct Kernel {
	LLVMValueRef fn;
	LLVMTypeRef ty;
	int num;            /* 0, 1, ... in creation order, across entries */
} Kernel;

/* A constant's private global and its number (1, 2, ... in creation order). */
typedef struct ConstGlobal {
	LLVMValueRef gv;
	int num;
} ConstGlobal;

typedef struct Cg {
	const Graph *g;
	const Plan *p;
	Err *e;
	LLVMContextRef ctx;
	LLVMModuleRef mod;
	LLVMBuilderRef b;
	LLVMBuilderRef ab;                          /* var_new's builder, in the entry block */
	LLVMTypeRef f32, i32, i64, ptr, voidt;
	const char *cpu, *features;                 /* target, for function attributes */
	int avx512;                                 /* features enable avx512f */
	Target tgt;                                 /* the vector shape the schedules are for */
	Sched sched;                                /* the kernel being built's (kernel.h) */
	Arena arena;                                /* everything below; freed once at the end */
	LLVMValueRef *constg;                       /* CONST node id -> its private global (per entry) */
	int *constn;                                /* CONST node id -> that global's number, 0: none */
	int nconst;                                 /* globals so far, across entries */
	Map consts;                                 /* constant values (bytes) -> ConstGlobal */
	Map kernels;                                /* kernel key -> Kernel */
	int nkernel;                                /* kernels so far, across entries */
	const char *prefix;                         /* the entry's name: kernels are "<prefix>_kID_op" */
	/* The kernel being built: its pointer arguments ("slots", one per
	** distinct storage, see storage.c), n and the RtCtx pointer. */
	LLVMValueRef fn, n, rtctx;
	LLVMValueRef params;                        /* the kernel's i64 parameters (cg_param) */
	int nparam;                                 /* the node's parameter values, which */
	int64_t param[CG_MAXPARAM];                 /* the entry's program passes to the kernel */
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

/* Load / store the f32 at p[idx]; load the i32 at p[idx] as an i64. */
LLVMValueRef ld(Cg *c, LLVMValueRef p, LLVMValueRef idx);
void st(Cg *c, LLVMValueRef p, LLVMValueRef idx, LLVMValueRef v);
LLVMValueRef ld_i32(Cg *c, LLVMValueRef p, LLVMValueRef idx);
/* &p[idx] for an f32 p. */
LLVMValueRef cg_at(Cg *c, LLVMValueRef p, LLVMValueRef idx);

/* A mutable f32 (an alloca in the entry block; mem2reg makes it a phi);
** var_new_i64 makes an i64 one. var_get reads either. */
LLVMValueRef var_new(Cg *c, LLVMValueRef init);
LLVMValueRef var_new_i64(Cg *c, LLVMValueRef init);
LLVMValueRef var_get(Cg *c, LLVMValueRef v);
/* A new variable of any type t (vectors: gemm.c). */
LLVMValueRef var_of(Cg *c, LLVMTypeRef t, LLVMValueRef init);
void var_set(Cg *c, LLVMValueRef v, LLVMValueRef x);

/* Float arithmetic; f_acc (an add) carries reassoc+contract for reductions. */
LLVMValueRef f_add(Cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef f_acc(Cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef f_mul(Cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef f_max(Cg *c, LLVMValueRef a, LLVMValueRef b);  /* NaN-propagating */
LLVMValueRef f_min(Cg *c, LLVMValueRef a, LLVMValueRef b);
LLVMValueRef f_div(Cg *c, LLVMValueRef a, LLVMValueRef b);  /* IEEE a / b */
LLVMValueRef f_sub(Cg *c, LLVMValueRef a, LLVMValueRef b);  /* IEEE a - b */
LLVMValueRef i2f(Cg *c, LLVMValueRef i);                    /* signed i64 -> f32 */
/* Calls to the llvm.<name>.f32 intrinsic (exp, log, sqrt) and to libm tanhf. */
LLVMValueRef f_call(Cg *c, const char *intrinsic, LLVMValueRef x);
/* Call the overloaded intrinsic name (e.g. "llvm.masked.load") with types tys on args. */
LLVMValueRef cg_intrinsic(Cg *c, const char *name, LLVMTypeRef *tys, int ntys, LLVMValueRef *args, int nargs);
LLVMValueRef f_tanh(Cg *c, LLVMValueRef x);
/* e^x in straight-line arithmetic that vectorises, about 1 ulp (math.c). */
LLVMValueRef f_exp(Cg *c, LLVMValueRef x);
/* e^-a for a in [0, 87] or NaN: f_exp without its range guards. */
LLVMValueRef f_exp_neg(Cg *c, LLVMValueRef a);

/* ---- flat maps (cg_elementwise.c): kernels shared across sizes ---- */

/* A unary op, or a binary op whose operands walk the result in order or
** stay on one element: one loop over ext elements per sample (all of
** them when not batched), operand k at stride st[k] (1 or 0). Its kernel
** takes ext as parameter 0, so one function serves every size. */
typedef struct Flat {
	int64_t ext;
	int batched;
	int64_t st[2];
} Flat;
int cg_flat(const Cg *c, const Node *nd, Flat *f);
/* The kernels whose sizes are parameters (flat maps, per-channel ops,
** global pools, dropout, whose stream is one too): nd's parameter values
** in par and the facts that shape its code in form (batched, strides);
** returns how many parameters, 0 when the kernel is specialised to its
** shapes instead (kernels.c). */
int cg_sizes(const Cg *c, const Node *nd, int64_t par[CG_MAXPARAM], int64_t form[3]);
/* Inside a kernel: its parameter i (an i64). */
LLVMValueRef cg_param(Cg *c, int i);

/* ---- op families ---- */
int cg_unary(Cg *c, const Node *nd);      /* cg_elementwise.c: also sqrt */
int cg_binary(Cg *c, const Node *nd);     /* also minimum, relu_dx */
int cg_sumto(Cg *c, const Node *nd);
int cg_broadcast(Cg *c, const Node *nd);
int cg_conv2d(Cg *c, const Node *nd);     /* cg_conv.c */
int cg_conv2d_winograd(Cg *c, const Node *nd, const Conv *k);   /* winograd.c: the schedule's wino */
int cg_dense(Cg *c, const Node *nd);
int cg_matmul(Cg *c, const Node *nd);
int cg_pool(Cg *c, const Node *nd);
int cg_conv2d_dx(Cg *c, const Node *nd);  /* cg_grad.c: gradients of the window and matrix ops */
int cg_conv2d_dw(Cg *c, const Node *nd);
int cg_matmul_nt(Cg *c, const Node *nd);  /* (cg_conv.c) */
int cg_matmul_tn(Cg *c, const Node *nd);  /* (cg_conv.c) */
int cg_maxpool_dx(Cg *c, const Node *nd);
int cg_avgpool_dx(Cg *c, const Node *nd);
int cg_gsel_dx(Cg *c, const Node *nd);
int cg_global(Cg *c, const Node *nd);     /* cg_reduce.c */
int cg_softmax(Cg *c, const Node *nd);
int cg_batchnorm(Cg *c, const Node *nd);
int cg_bn_grad(Cg *c, const Node *nd);    /* cg_loss.c: bn_dx, bn_dgamma, bn_mean, bn_var */
int cg_softmax_dx(Cg *c, const Node *nd); /* softmax_dx, logsoftmax_dx */
int cg_xent(Cg *c, const Node *nd);       /* xent, xent_dx */
int cg_bmean(Cg *c, const Node *nd);
int cg_bmean_dx(Cg *c, const Node *nd);
void cg_const_globals(Cg *c);             /* cg_misc.c: before any kernel */
int cg_const(Cg *c, const Node *nd);
int cg_concat(Cg *c, const Node *nd);
int cg_copy(Cg *c, const Node *nd);       /* reshape, dropout off */
int cg_dropout(Cg *c, const Node *nd);
int cg_slice(Cg *c, const Node *nd);
int cg_assign(Cg *c, const Node *nd);

/* Shared by the window ops and their gradients (cg_conv.c). */
/* Output columns [*lo, *hi) whose input column ow*s - p + k lies in [0, W). */
void cg_span(Cg *c, LLVMValueRef k, int64_t s, int64_t p, int64_t W, int64_t OW, LLVMValueRef *lo, LLVMValueRef *hi);
/* y[row + j] = v for j in [0, len). */
void cg_fill(Cg *c, LLVMValueRef y, LLVMValueRef row, LLVMValueRef len, LLVMValueRef v);
/* Input row ih = oh*s - p + kh; opens `if (0 <= ih < H)` and returns its join. */
LLVMBasicBlockRef cg_row_in_bounds(Cg *c, LLVMValueRef oh, LLVMValueRef kh, int64_t s, int64_t p, int64_t H,
                                   LLVMValueRef *ih);
/* The sizes of a per-channel op (batchnorm, its gradients and statistics)
** over x[N,C] or x[N,C,H,W]: C channels of S elements per sample (a plane),
** N samples. cg_channels gives their values for a node as kernel
** parameters (C, S, and N when x has a fixed batch, else 0), so one kernel
** serves every size; cg_chan reads them back inside the kernel (cg_reduce.c). */
typedef struct Chan {
	LLVMValueRef C, S, N;
} Chan;
int cg_channels(const Cg *c, const Node *nd, int64_t par[3]);
Chan cg_chan(Cg *c, const Node *nd);
/* Sum over b in [0, N), i in [0, S) of x[(b*C + ch)*S + i], or of (x - mean)^2
** when mean is given (cg_reduce.c). */
LLVMValueRef cg_channel_sum(Cg *c, LLVMValueRef x, const Chan *k, LLVMValueRef ch, LLVMValueRef mean);

/* ---- storage.c: where values live ---- */

int cg_is_copy(const Node *nd);                   /* reshape, dropout off */
/* The node whose storage holds id's value (follows copies the plan aliased,
** and an assign to its destination). */
int cg_holder(const Graph *g, const Plan *p, int id);
int cg_home(const Cg *c, int id);
int cg_same_storage(const Cg *c, int a, int b);
/* Collect nd's distinct storages into c->slot; returns how many. */
int cg_slots(Cg *c, const Node *nd);
int cg_slot_noalias(const Cg *c, int k);
/* The slot that holds node id's value, or -1 for a constant read in place. */
int cg_slot_of(const Cg *c, int id);
/* Home id's bytes [*lo, *hi), per sample when batched; returns batched. */
int cg_range(const Cg *c, int id, int64_t *lo, int64_t *hi);
/* In a kernel: pointer to node id's storage (slot argument or constant). */
LLVMValueRef base(Cg *c, int id);

/* ---- check.c ---- */

/* Refuse plans where a kernel writes over a parameter, buffer, state or
** live input (an assign may write its destination), or reads a destination
** after its assign. */
int cg_check_plan(Cg *c);

/* ---- the target (emit.c) ---- */

/* The CPU and feature string code is generated for: o's --cpu, with only
** o's --features on top of that CPU's own (an empty string: the CPU's own),
** or without a cpu the host's name and detected features followed by o's
** features. Both malloc'ed. */
typedef struct CgTarget {
	char *cpu, *features;
} CgTarget;
int cg_target(const CgOptions *o, CgTarget *t, Err *e);
void cg_target_free(CgTarget *t);

/* Attributes of every generated function: nounwind, the target CPU and
** features, 512-bit vectors where AVX-512 exists (emit.c). */
void cg_fn_attrs(Cg *c, LLVMValueRef f);
/* Add the enum attribute name to f at index i (a parameter, or the function). */
void cg_enum_attr(Cg *c, LLVMValueRef f, unsigned i, const char *name);

/* ---- gemm.c: the GEMM lowering ---- */

/* C[m,j] = sum_k A[m,k] B[k,j] (+ bias), or C += that, for m < M, j < N,
** k < K; dimensions are i64 values (constants where the shapes fix them).
** A may have any strides; B and C have unit column stride. */
typedef struct Gemm {
	LLVMValueRef M, N, K;
	LLVMValueRef a, b, c;       /* f32 pointers to element (0,0) */
	LLVMValueRef rsa, csa;      /* A(m,k) = a[m*rsa + k*csa] */
	LLVMValueRef ldb, ldc;      /* B(k,j) = b[k*ldb + j], C(m,j) = c[m*ldc + j] */
	int acc;                    /* C += A B instead of C = A B (+ bias) */
	LLVMValueRef bias;          /* !acc: NULL or the bias, per row, or per column when bias_cols */
	int bias_cols;
	LLVMValueRef mode;          /* inside lunac.gemm: how C starts, from acc, bias and bias_cols (gemm.c) */
} Gemm;
void cg_gemm(Cg *c, const Gemm *g);

/* ---- im2col.c: convolutions as GEMMs ---- */

/* The column matrix of one sample x (its C*H*W floats), rows [r0, r0+R)
** and output rows [oh0, oh1): element (r, (oh-oh0)*OW + ow) is
** x[c, oh*sh-ph+kh, ow*sw-pw+kw] for r0 + r = (c*KH + kh)*KW + kw (0 where
** that is padding), stored at cols[r*ld + col], or at cols[col*ld + r]
** when transposed. */
void cg_im2col(Cg *c, const Conv *k, LLVMValueRef x, LLVMValueRef cols, LLVMValueRef r0, int64_t R,
               LLVMValueRef oh0, LLVMValueRef oh1, LLVMValueRef ld, int transposed);
/* The inverse scatter for one sample: dx[c, ih, iw] += cols[r*P + oh*OW + ow]
** for rows [0, R) (input channels c0.. as above, all output positions),
** after zeroing dx's channels c0..c0+R/(KH*KW). */
void cg_col2im(Cg *c, const Conv *k, LLVMValueRef cols, LLVMValueRef dx, LLVMValueRef c0, int64_t R);

/* ---- par.c: parallel loops ---- */

/* Where the builders were in the function being built before another
** function was started (a task, a GEMM variant): cg_fn_end returns there. */
typedef struct FnPos {
	LLVMValueRef fn;
	LLVMBasicBlockRef allocas, at;
} FnPos;
/* Build `void f(...)` now: its entry block (allocas, c->ab) and a body
** block (c->b); returns where the builders were. */
FnPos cg_fn_begin(Cg *c, LLVMValueRef f);
/* End f with `ret void` (entry branches to body) and go back to was. */
void cg_fn_end(Cg *c, FnPos was);

/* A kernel's parallel loop: the task function its chunks run in, and what
** par_close restores. */
typedef struct Par {
	FnPos k;                       /* the kernel's builders */
	LLVMValueRef kslotp[IR_MAXIN + 1], kn, kctx, kparams;
	LLVMValueRef chunk, scratch;   /* in the task: the chunk index (i64), its scratch */
} Par;
/* In the kernel being built: call rt_parallel_for(ctx, task, env, nchunks,
** scratch_bytes) and open `internal void <kernel>.task(ptr env, i64 chunk,
** ptr scratch)`: until par_close the builder fills the task, in which
** c->slotp, c->n and c->rtctx are the kernel's (read from env). */
void par_open(Cg *c, Par *p, LLVMValueRef nchunks, int64_t scratch_bytes);
/* End the task and continue in the kernel after the call. */
void par_close(Cg *c, Par *p);
/* par_range with sizes built at run time: f sets *total (iterations) and
** *inner (elements per iteration) and returns whether an iteration's
** elements also scale with n; it is called in the kernel and again in the
** task. */
typedef int (*RangeFn)(Cg *c, const void *arg, LLVMValueRef *total, LLVMValueRef *inner);
int par_range_fn(Cg *c, Par *p, RangeFn f, const void *arg, LLVMValueRef *lo, LLVMValueRef *hi);
/* Chunks of a per-channel op's channels (weight: passes over each element;
** cg_reduce.c). */
int cg_par_channels(Cg *c, Par *p, const Node *nd, int64_t weight, LLVMValueRef *lo, LLVMValueRef *hi);
/* An outer loop over [0, d) (times n when batched) whose iterations each
** cover `inner` elements (times n when inner_batched), split into chunks
** of about 16K elements: opens the task and sets [*lo, *hi) to the chunk's
** iterations, returning 1 (end it with par_close); or, when the kernel's
** schedule is serial (c->sched), returns 0 with [*lo, *hi) the whole loop
** and the builder still in the kernel. The chunks depend on d, inner and n
** only. */
int par_range(Cg *c, Par *p, int64_t d, int batched, int64_t inner, int inner_batched, LLVMValueRef *lo,
              LLVMValueRef *hi);

/* cg_descriptor_entries with the reason for a failure in e; t (the target
** recorded as "target") may be NULL for the host's. */
char *cg_descriptor_check(const CgEntry *es, int n, const CgTarget *t, Err *e);
/* The kernel calls of every entry, {"predict": [[node, "op", "shape", flops,
** fixed_bytes, batch_bytes], ...], ...}, in the order its code makes them:
** the executable's lunac_profile_json, read only by --profile. Malloc'ed;
** NULL when out of memory. */
char *cg_profile_json(const CgEntry *es, int n);

/* ---- kernels.c ---- */

/* Emitter for op, NULL for sources that need no kernel (kernels.c). */
Emitter cg_emitter(Op op);
/* Check the emitter table against the op table; 0 or -1 with e set. */
int cg_check_table(Err *e);
/* Does node id need a kernel of its own (not a source, not an alias)? */
int cg_needs_kernel(const Cg *c, const Node *nd);

/* Everything a kernel's code depends on, as bytes: two nodes with equal
** keys get the same function. The bound counts what cg_kernel_key writes:
** op and nin, the attributes, a constant's global, then per result and
** operand dtype, shape, slot and global (64), the slot count and a noalias
** byte per slot. */
#define CG_KEY_ATTRS 148
#define CG_KEY_MAX (8 + CG_KEY_ATTRS + 4 + (IR_MAXIN + 1) * 64 + 4 + (IR_MAXIN + 1))
typedef struct Key {
	size_t n;
	unsigned char b[CG_KEY_MAX];
} Key;
/* nd's key, with c->slot collected for nd (cg_slots). */
void cg_kernel_key(const Cg *c, const Node *nd, Key *k);

/* Report an internal or unsupported-op error for nd; returns -1. */
int cg_fail(Cg *c, const Node *nd, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- emit.c / split.c: from the module to a file ---- */

/* Run default<O{opt}> (vectorisers on from -O2) on m for tm; NULL, or a
** malloc'ed message. */
char *cg_run_passes(LLVMModuleRef m, LLVMTargetMachineRef tm, int opt);
/* Write c's module as k (object, assembly or LLVM IR) to path. */
int cg_write_module(Cg *c, LLVMTargetMachineRef tm, EmitKind k, const char *path, Err *e);
/* Optimise c's (verified) module and write it to path as one object file,
** compiled as several parts in parallel when it is big (split.c). */
int cg_emit_object(Cg *c, LLVMTargetMachineRef tm, int opt, const char *path, Err *e);

#endif
