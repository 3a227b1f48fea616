/*
** ir.h -- the graph IR: tensors with static shapes, one node per value (SSA).
**
** A Graph owns an Arena; every node, string and constant of the graph lives
** in it and is freed at once by ir_free. Node ids are indices into g->nodes
** and every operand refers to an earlier node (the node list is in
** topological order). The leading dimension of batched tensors is the
** symbolic batch size N (IR_N), bound at run time.
*/
#ifndef LUNAC_IR_H
#define LUNAC_IR_H

#include <stddef.h>
#include <stdint.h>

#define IR_MAXDIM 6
#define IR_MAXIN 16
#define IR_N (-1)          /* symbolic batch dimension, printed "N" */
#define IR_ERRLEN 1024
/* The most elements one tensor may have (with N bound to 1): 2^48, so that
** byte counts and offsets stay exact in int64 arithmetic and in the
** descriptor's JSON numbers (doubles, exact to 2^53). */
#define IR_MAXELEMS ((int64_t)1 << 48)
/* The default limit on a model's parameter bytes and on its activation
** bytes per sample (lunac --max-bytes), and the largest limit allowed. */
#define IR_DEFAULT_MAX_BYTES ((int64_t)1 << 34)
#define IR_MAX_MAX_BYTES ((int64_t)1 << 50)

/* Err: the first error wins; library code fills it and returns nonzero. */
typedef struct Err {
	int set;
	char msg[IR_ERRLEN];
} Err;

/* Fill e with a formatted message unless an earlier error is there; returns -1. */
int ir_errorf(Err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Arena: a bump allocator; ir_alloc never returns NULL (it aborts on OOM,
** which is the only abort in the compiler: there is nothing sane to report). */
typedef struct ArenaBlock ArenaBlock;
typedef struct Arena {
	ArenaBlock *head;
} Arena;

void *ir_alloc(Arena *a, size_t n);           /* zeroed, 16-byte aligned */
char *ir_strdup(Arena *a, const char *s);
char *ir_strcat(Arena *a, const char *x, const char *y);   /* x followed by y, in the arena */
void ir_arena_free(Arena *a);

typedef enum { K_SOURCE, K_ELEMWISE, K_BROADCAST, K_INJECTIVE, K_REDUCTION, K_CONVLIKE, K_OPAQUE } OpKind;

enum {
	A_NAME = 1 << 0,     /* name: input / parameter / buffer name */
	A_INIT = 1 << 1,     /* init: parameter initialiser */
	A_DATA = 1 << 2,     /* data: constant values */
	A_STRIDE = 1 << 3,   /* stride[2] */
	A_PAD = 1 << 4,      /* pad[2] */
	A_KERNEL = 1 << 5,   /* kernel[2] */
	A_KEEPDIMS = 1 << 6, /* keepdims */
	A_MODE = 1 << 7,     /* mode: dropout off/train/mc, batch norm running/batch */
	A_EPS = 1 << 8,      /* eps */
	A_MOMENTUM = 1 << 9, /* momentum (PyTorch convention) */
	A_AXIS = 1 << 10,    /* axis */
	A_SHAPE = 1 << 11,   /* shape: reshape target, may contain N */
	A_P = 1 << 12,       /* p: drop probability */
	A_STREAM = 1 << 13,  /* stream: RNG stream id of a dropout, stable across passes */
	A_START = 1 << 14,   /* start: first index of a slice along axis */
	A_SMOOTHING = 1 << 15, /* smoothing: label smoothing of a cross-entropy */
};

typedef enum {
#define OP(e, s, mn, mx, k, d, a) OP_##e,
#include "ops.h"
#undef OP
	OP_COUNT
} Op;

typedef struct OpInfo {
	const char *name;
	int min_in, max_in;
	OpKind kind;
	int differentiable;
	unsigned attrs;
} OpInfo;

extern const OpInfo ir_ops[OP_COUNT];

typedef enum { DT_F32, DT_I32 } DType;

typedef enum { MODE_NONE, MODE_OFF, MODE_TRAIN, MODE_MC, MODE_RUNNING, MODE_BATCH } Mode;
typedef enum { INIT_NONE, INIT_ZEROS, INIT_ONES, INIT_GLOROT } Init;

typedef struct Shape {
	int rank;
	int64_t d[IR_MAXDIM];   /* d[i] == IR_N for the batch dimension */
} Shape;

typedef struct Attrs {
	const char *name;
	Init init;
	int64_t stride[2], pad[2], kernel[2];
	int keepdims;
	Mode mode;
	float eps, momentum, p;
	int axis;
	int stream;
	int64_t start;
	float smoothing;
	Shape shape;
	float *data;        /* CONST: shape's element count values (N not allowed) */
} Attrs;

typedef struct Node {
	int id;
	Op op;
	int nin;
	int in[IR_MAXIN];   /* operand node ids, each < id */
	DType dtype;
	Shape shape;        /* filled by shape inference */
	Attrs a;
	const char *loc;    /* "model.lua:12" of the Lua line that made it, or NULL */
	int line;           /* the line of the IR text it was read from, 0 otherwise */
	int dead;           /* marked by passes, removed by ir_compact */
} Node;

typedef struct Output {
	const char *name;
	int node;
	int line;           /* the line of the IR text it was read from, 0 otherwise */
} Output;

/* A classification head: which output holds its probabilities, which input
** its labels, and its weight in the loss. Recorded by the frontend's task(). */
typedef struct Task {
	const char *name, *output, *label;
	int classes;
	float weight;
	int line;           /* the line of the IR text it was read from, 0 otherwise */
} Task;

/* The most nodes a model may have as written (a script or IR text); the
** passes may add more (autodiff, the optimizer step). */
#define IR_MAXNODES (1 << 20)

typedef struct Graph {
	Arena arena;
	const char *name;
	Node **nodes;
	int nnodes, capnodes;
	Output *outputs;
	int noutputs, capoutputs;
	const char *spec_hash;  /* hex digest of the model source and -D values */
	const char *entry;      /* the entry point the pass pipeline specialised the graph
	                           for ("predict", "train_adam", ...); NULL: a model's graph */
	Task *tasks;            /* in the arena */
	int ntasks;
} Graph;

/* Graph construction. */
Graph *ir_new(const char *name);
void ir_free(Graph *g);
Node *ir_add(Graph *g, Op op, int nin, const int *in, const char *loc);
void ir_add_output(Graph *g, const char *name, int node);
/* A deep copy of g with its own arena. */
Graph *ir_clone(const Graph *g);
/* The node of the output named name, or -1. */
int ir_find_output(const Graph *g, const char *name);
/* Remove dead nodes, renumber the rest, rewrite operands and outputs. */
void ir_compact(Graph *g);

/* Op lookup by printed name; returns OP_COUNT when unknown. */
Op ir_op_lookup(const char *name);
const char *ir_mode_name(Mode m);
const char *ir_init_name(Init i);
const char *ir_dtype_name(DType t);

/* Shapes. */
int64_t ir_numel(const Shape *s, int64_t n);      /* element count with N bound to n; INT64_MAX on overflow */
int ir_batched(const Shape *s);                   /* 1 if d[0] == IR_N */
int ir_shape_eq(const Shape *a, const Shape *b);
/* Format as "f32[N,3,28,28]"; returns buf. */
char *ir_fmt_type(char *buf, size_t cap, DType t, const Shape *s);

/* Shape inference for one node (operand shapes already known); on error
** fills e with "loc: message" and returns -1. */
int ir_infer_node(Graph *g, Node *nd, Err *e);
/* Shape inference for the whole graph, in order. */
int ir_infer(Graph *g, Err *e);
/* Check every structural invariant; first violation goes in e. */
int ir_verify(const Graph *g, Err *e);
/* Check nd's attributes (stride, pad, eps, p, mode, name, ...) against
** its op's rules; "loc: op: why" in e. Shape inference runs it first, so
** the frontend, the IR parser and the verifier apply the same rules. */
int ir_check_attrs(const Graph *g, const Node *nd, Err *e);
/* Kinds of user-given names, for ir_name_error. */
typedef enum { NAME_INPUT, NAME_PARAM, NAME_OUTPUT, NAME_TASK } NameKind;
/* Why name (len bytes) cannot name a thing of this kind in a model, or
** NULL when it can: names the file formats reserve or cannot carry. */
const char *ir_name_error(NameKind kind, const char *name, size_t len);
/* Write name for a message into buf (cap >= IR_QUOTELEN): its first 60
** bytes, control bytes (and bytes of a name that is not UTF-8) as \xNN,
** "..." when cut. Returns buf. */
#define IR_QUOTELEN 256
const char *ir_quote(char *buf, size_t cap, const char *name);
/* ir_verify, then the rules for a model as the user wrote it (before any
** pass): the names of inputs, parameters, outputs and tasks, and each
** task's output, label and class count. Messages start with "file:line"
** for what was read from IR text named file (file may be NULL). */
int ir_verify_model(const Graph *g, const char *file, Err *e);

/* Text form: print, and parse back (the parser runs shape inference). */
void ir_print(const Graph *g, void *file);       /* FILE * */
char *ir_print_str(const Graph *g);              /* malloc'ed */
Graph *ir_parse(const char *text, const char *filename, Err *e);

/* Counts for `lunac stats`: trainable parameters, multiply-accumulates per sample. */
int64_t ir_param_count(const Graph *g);
int64_t ir_buffer_count(const Graph *g);
int64_t ir_macs(const Graph *g);
/* Floating-point operations of node nd per sample: 2 per multiply-accumulate
** of convolutions, dense and matrix products (forward and backward), else 0. */
int64_t ir_node_flops(const Graph *g, const Node *nd);
/* v in buf with the unit that fits, three significant digits: "1.80 M",
** "183 K", "2.40 G" (binary 0: K M G T P E, powers of 1000), or "6.50 KiB",
** "206 MiB", "512 bytes" (binary 1: powers of 1024). Returns buf. */
char *ir_human(char *buf, size_t cap, double v, int binary);
/* Refuse a model whose parameter bytes (parameters, buffers, constants) or
** activation bytes per sample (every other value, N = 1) exceed max_bytes;
** the message names the node that crossed the limit ("file:line" of the IR
** text named file, else its script line). */
int ir_check_size(const Graph *g, int64_t max_bytes, const char *file, Err *e);

#endif
