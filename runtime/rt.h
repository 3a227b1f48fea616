/*
** rt.h -- the runtime library that every generated executable links:
** the model descriptor, weight files (safetensors), arrays (.npy),
** parameter initialisation, atomic file output and the commands behind the
** executable's command line. lunac_rt.h is the ABI with generated code;
** this header is the runtime's own API (main.c and the tests use it).
**
** Errors: library functions return 0 on success or -1 with an RtErr filled
** (the first error wins). Nothing here prints or exits; main.c does.
** Nothing here refers to lunac_model_json or lunac_predict either: main.c
** passes them in, so tests can supply their own.
*/
#ifndef LUNAC_RT_INTERNAL_H
#define LUNAC_RT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "lunac_rt.h"

#define RT_MAXDIM 16
#define RT_ERRLEN 1024

/* ---- errors (err.c) ---------------------------------------------------- */

typedef struct RtErr {
	int set;
	int pipe_closed;    /* the error is that the reader of stdout went away (`| head`) */
	char msg[RT_ERRLEN];
} RtErr;

/* Fill e with a formatted message unless an earlier one is there; returns -1. */
int rt_errorf(RtErr *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Format a shape as "[8,1,3,3]" into buf (-1 prints as N); returns buf.
** RT_SHAPE_STRLEN bytes hold any shape; a shorter buf ends in "...". */
#define RT_SHAPE_STRLEN (RT_MAXDIM * 21 + 3)
char *rt_shape_str(char *buf, size_t len, int ndim, const int64_t *shape);

/* ---- the model descriptor (model.c) ------------------------------------ */

typedef enum { RT_F32, RT_I32 } RtDtype;
typedef enum { RT_INIT_NONE, RT_INIT_GLOROT, RT_INIT_ZEROS, RT_INIT_ONES } RtInit;
/* params[]: a trainable parameter, a buffer (batch-norm running statistics),
** or optimizer state (opt.m.<param>, opt.v.<param>; training only). */
typedef enum { RT_PARAM, RT_BUFFER, RT_STATE } RtKind;
/* inputs[]: data (images), labels (a task's, or any i32 [N] input), or a
** hyper-parameter (hyper.*). */
typedef enum { RT_ROLE_DATA, RT_ROLE_LABEL, RT_ROLE_HYPER } RtRole;

/* One input, output, parameter, buffer or state tensor of the model. */
typedef struct RtTensor {
	char *name;
	RtDtype dtype;
	int ndim;
	int64_t shape[RT_MAXDIM];   /* -1: the batch size n (first dimension only) */
	int64_t offset;             /* bytes; see lunac_rt.h for the arena layout */
	int batched;
	RtKind kind;                /* params[] only */
	RtRole role;                /* inputs[] only */
	int classes;                /* a label input's class count ("classes"); 0: unknown */
	RtInit init;                /* params[] only */
	int64_t fan_in, fan_out;    /* params[] only; glorot needs fan_in + fan_out > 0 */
} RtTensor;

/* A classification head: its probabilities outputs[output] ([N,classes]),
** trained against the labels inputs[label] (i32 [N]); weight in the loss. */
typedef struct RtTask {
	char *name;
	int output, label;          /* indices into outputs[] and inputs[] */
	int classes;
	double weight;
} RtTask;

/* An entry point of the generated code and the outputs it writes. */
typedef struct RtEntry {
	char *name;                 /* "predict", "mc", "eval", "train_sgd", "train_adam" */
	int *outputs;               /* indices into outputs[] */
	int noutputs;
} RtEntry;

/* The descriptor. Inputs are ordered data first (inputs[0..ndata)), then
** labels, then hyper-parameters; outputs are ordered with what predict
** writes first (outputs[0..npredict)); each group keeps descriptor order. */
typedef struct RtModel {
	char *format, *name, *compiler, *spec_hash;
	char *target_cpu, *target_features;   /* "target" (what the code needs), or NULL */
	int64_t fixed_bytes;        /* non-batched region */
	int64_t batch_bytes;        /* batched region, per sample */
	RtTensor *inputs, *outputs, *params;
	int ninputs, noutputs, nparams;
	int ndata, npredict;
	RtTask *tasks;
	int ntasks;
	RtEntry *entries;
	int nentries;
} RtModel;

/* Parse and validate the descriptor JSON into m (zeroed first). A bad
** descriptor is the compiler's fault: the message says "internal error".
** "entries" may be objects ({"name","outputs"}) or, the first ABI's form,
** plain names (then every entry writes every output). */
int rt_model_parse(RtModel *m, const char *json, RtErr *e);
void rt_model_free(RtModel *m);

/* 0 if this CPU has every instruction set the compiled code of m needs (its
** recorded target features); else -1 with a message naming the missing ones
** and how to rebuild (cpucheck.c). */
int rt_cpu_check(const RtModel *m, RtErr *e);

/* Seconds on a monotonic clock (clock.c). */
double rt_now(void);

/* A per-kernel profile of one entry (profile.c, prof_tick.c): the entry's
** kernel calls as the descriptor lists them, and the seconds spent in each
** over `runs` calls of the entry. */
typedef struct RtProfCall {
	int node;                   /* graph node id */
	char *op, *shape;           /* "conv2d", "[N,8,16,16]" */
	double flops;               /* per sample */
	double fixed_bytes, batch_bytes;   /* operands and result; batch: per sample */
} RtProfCall;

typedef struct RtProf {
	RtProfCall *calls;
	double *sec;                /* per call, summed over runs */
	int64_t ncalls, runs, prev; /* prev: the call under way, -1 none */
	int64_t samples;            /* samples the runs took together, when the caller counts */
	double t;                   /* when it started */
} RtProf;

/* The profile of entry `entry` from json, the executable's
** lunac_profile_json; 0, or -1 with e set (an entry without calls). */
int rt_prof_open(RtProf *p, const char *json, const char *entry, RtErr *e);

/* Print p for batches of n samples (n <= 0: p->samples / p->runs, the mean
** batch): per kernel call, slowest first, its
** node, op and shape, milliseconds per run, share of the total and GFLOP/s
** (GB/s for calls without arithmetic worth counting); then the total. */
void rt_prof_print(const RtProf *p, int64_t n, FILE *out);
void rt_prof_free(RtProf *p);

/* rt_cpu_check on a CPU name and feature string, with `has` telling whether
** the CPU has a feature (name, length): 1 yes, 0 no, -1 not known (skipped). */
typedef int (*RtCpuHas)(const char *name, size_t n);
int rt_cpu_check_with(const char *cpu, const char *features, RtCpuHas has, RtErr *e);

/* Parse "entries" and "tasks" of root (a cJSON object), give every input
** its role and order inputs and outputs as RtModel says (model_entries.c;
** rt_model_parse calls it). */
struct cJSON;
int rt_model_parse_entries(RtModel *m, const struct cJSON *root, RtErr *e);
/* The entry called name, or NULL. */
const RtEntry *rt_model_entry(const RtModel *m, const char *name);
/* Whether entry en writes outputs[out]. */
int rt_entry_writes(const RtEntry *en, int out);
/* The index of the input / output / param called name, or -1. */
int rt_model_input(const RtModel *m, const char *name);
int rt_model_output(const RtModel *m, const char *name);
int rt_model_param(const RtModel *m, const char *name);
/* "param", "buffer" or "state". */
const char *rt_kind_name(RtKind k);

/* Arena bytes for n samples; -1 on overflow. */
int64_t rt_arena_bytes(const RtModel *m, int64_t n);
/* Elements of t for n samples (the -1 dimension becomes n). */
int64_t rt_numel(const RtTensor *t, int64_t n);
/* Elements of one sample of a batched t (its shape without the leading -1). */
int64_t rt_sample_numel(const RtTensor *t);
/* Where t lives in an arena laid out for n samples. */
char *rt_tensor_addr(const RtModel *m, const RtTensor *t, char *arena, int64_t n);
/* Element size of a dtype, and its name in the descriptor ("f32"). */
size_t rt_dtype_size(RtDtype d);
const char *rt_dtype_name(RtDtype d);
/* The arena for n samples: 64-byte aligned, zero, mapped but not touched
** (a page costs only when an entry first uses it: predict never faults in
** the gradients and optimizer state); NULL with e filled. Free it with
** rt_arena_free. */
char *rt_arena_new(const RtModel *m, int64_t n, RtErr *e);
/* Unmap an arena from rt_arena_new (NULL: nothing). */
void rt_arena_free(char *arena);
/* Trainable parameter elements (kind "param"), and all param+buffer bytes
** (state is not counted: it is not part of a weights file). */
int64_t rt_param_count(const RtModel *m);
int64_t rt_weight_bytes(const RtModel *m);

/* ---- atomic output files (fileio.c) ------------------------------------ */

/* A file being written: data goes to a temporary in the same directory;
** rt_out_commit fsyncs and renames it over path, rt_out_abort removes it.
** An empty path, or one ending in '/', is refused. Data goes out through
** write(2) (not stdio), so every write error is seen where it happens. */
typedef struct RtOut {
	char *path, *tmp;
	int fd, live;               /* live: fd is open */
	char *buf;                  /* RT_OUT_BUF bytes not yet written */
	size_t nbuf;
} RtOut;
#define RT_OUT_BUF 65536

int rt_out_open(RtOut *o, const char *path, RtErr *e);
/* 0 when path does not exist or is a regular file; else -1 with e set to
** "X is not a regular file (it is a device)": renaming a finished output
** over it would replace a device such as /dev/null (as root), a FIFO or a
** socket. rt_out_open checks it; so does lunac build for -o. */
int rt_out_check(const char *path, RtErr *e);
int rt_out_write(RtOut *o, const void *p, size_t n, RtErr *e);
/* Flush and fsync; the temporary stays until commit or abort. */
int rt_out_finish(RtOut *o, RtErr *e);
/* Rename the finished temporary over path (then fsync the directory); on
** failure the temporary is removed. */
int rt_out_commit(RtOut *o, RtErr *e);
/* Close and remove the temporary; safe on a zeroed or committed RtOut. */
void rt_out_abort(RtOut *o);

/* Flush out (standard output) and check that everything printed on it was
** written; -1 with e set to "cannot write to standard output: REASON"
** otherwise. When out is a pipe whose reader has gone (`OUT info | head`),
** e->pipe_closed is set too: main then exits quietly, as a SIGPIPE would. */
int rt_flush_out(FILE *out, RtErr *e);

/* Open path for reading: a regular file only (a FIFO, a directory, a
** device is "X is not a regular file"; a FIFO is opened without blocking to
** find that out). The fd (O_CLOEXEC, blocking), or -1 with e filled. Every
** reader of the runtime opens its files through this or rt_fopen_read. */
int rt_open_read(const char *path, RtErr *e);
/* The same as a stdio stream ("rb"); NULL with e filled. */
FILE *rt_fopen_read(const char *path, RtErr *e);

/* Read exactly n bytes at offset off of fd; -1 with e naming path if short. */
int rt_pread_full(int fd, void *buf, size_t n, uint64_t off, const char *path, RtErr *e);

/* ---- JSON text checks (json_check.c) ----------------------------------- */

/* 0 when the JSON text s[0..n) has no NUL or other control byte outside
** whitespace, no \u0000 escape in a string and, when ints_only, no number
** but plain non-negative integers up to 2^53; else -1 with a message
** "WHAT: byte K of the JSON text: ..." (what names the file). Run before cJSON parses s. */
int rt_json_check(const char *s, size_t n, int ints_only, const char *what, RtErr *e);

/* ---- safetensors (safetensors.c) --------------------------------------- */

typedef enum {
	ST_BOOL, ST_U8, ST_I8, ST_F8_E5M2, ST_F8_E4M3, ST_I16, ST_U16, ST_F16, ST_BF16,
	ST_I32, ST_U32, ST_F32, ST_F64, ST_I64, ST_U64, ST_NDTYPE
} StDtype;

typedef struct StTensor {
	char *name;
	StDtype dtype;
	int ndim;
	int64_t shape[RT_MAXDIM];
	uint64_t begin, end;        /* byte offsets into the data region */
} StTensor;

/* An open safetensors file: the header parsed and checked, data read on demand. */
typedef struct StFile {
	char *path;
	int fd;
	uint64_t data_start;        /* 8 + header length */
	uint64_t data_len;
	StTensor *t;                /* in header order */
	int nt;
	int *by_name;               /* indices of t sorted by name */
	char **meta;                /* key, value, key, value, ... */
	int nmeta;
} StFile;

/* Open path and check its header (every rule of the format; see the file). */
int st_open(StFile *f, const char *path, RtErr *e);
/* Copy tensor i's bytes into dst (t[i].end - t[i].begin bytes). */
int st_read(const StFile *f, int i, void *dst, RtErr *e);
/* The tensor called name, or -1. */
int st_find(const StFile *f, const char *name);
/* The metadata value for key, or NULL. */
const char *st_meta(const StFile *f, const char *key);
void st_close(StFile *f);

const char *st_dtype_name(StDtype d);
size_t st_dtype_size(StDtype d);

/* A tensor to write. */
typedef struct StOut {
	const char *name;
	StDtype dtype;
	int ndim;
	const int64_t *shape;
	const void *data;
} StOut;

/* Write tensors (in this order) and metadata pairs meta[0..2*nmeta) to path,
** atomically. The header is padded with spaces to a multiple of 8 bytes. */
int st_write(const char *path, const char *const *meta, int nmeta,
             const StOut *t, int nt, RtErr *e);

/* ---- weights: a model's params and buffers in safetensors (weights.c) --- */

/* Write every param and buffer of m, from arena, with metadata format=lunac,
** model, spec_hash and compiler. */
int rt_weights_save(const RtModel *m, const char *arena, const char *path, RtErr *e);
/* Load path into arena: every param and buffer must be there, F32, with the
** model's exact shape, and nothing else but optimizer state ("opt.*", as
** in a training checkpoint), which is ignored. A model name or spec_hash
** different from the model's is not an error; it is reported in warn (may
** be NULL) before any tensor is checked (rt_weights_origin). */
int rt_weights_load(const RtModel *m, char *arena, const char *path, RtErr *e, RtErr *warn);
/* When f's metadata names a model or spec hash other than m's, say so in
** warn: "W was made for model "X" (spec hash H), but this executable is
** model "Y" (spec hash H2); ...". Every command that loads weights calls it
** first, before any tensor is checked. A file without them (PyTorch's) is
** not reported. */
void rt_weights_origin(const RtModel *m, const StFile *f, RtErr *warn);
/* Check tensor i of f against p: F32 and exactly p's shape. */
int rt_weights_check_tensor(const StFile *f, int i, const RtTensor *p, RtErr *e);

/* ---- .npy arrays (npy.c) ----------------------------------------------- */

typedef struct RtArray {
	RtDtype dtype;
	int ndim;
	int64_t shape[RT_MAXDIM];
	void *data;                 /* malloc'ed, numel * rt_dtype_size(dtype) */
} RtArray;

/* Read path as an array of dtype `want`, converting from the file's dtype:
** to f32 from f4, f8, f2, and 1/2/4/8-byte ints, uints and bools; to i32
** from ints, uints and bools (values must fit). C order only. */
int rt_npy_read(const char *path, RtDtype want, RtArray *a, RtErr *e);
/* Write a (format 1.0, '<f4' or '<i4', C order) to path, atomically. */
int rt_npy_write(const char *path, const RtArray *a, RtErr *e);
/* Stage a into o (open, write, finish) without committing. */
int rt_npy_stage(RtOut *o, const char *path, const RtArray *a, RtErr *e);
/* Read only the header of path: its dtype descr ("<f4", "|u1"), fortran
** order and shape, checked as rt_npy_read checks them. */
int rt_npy_header(const char *path, char descr[16], int *fortran, int *ndim,
                  int64_t shape[RT_MAXDIM], RtErr *e);
/* Parse the header dict (the bytes after the magic/version/length prefix):
** fills descr (<= 15 chars), fortran order and shape. data_npy.c uses it. */
int rt_npy_parse_header(const char *h, size_t len, char descr[16], int *fortran,
                        int *ndim, int64_t shape[RT_MAXDIM], const char *path, RtErr *e);
void rt_array_free(RtArray *a);

/* ---- parameter initialisation (init.c) --------------------------------- */

/* The RNG step that initialisation uses; no training step reaches it. */
#define RT_INIT_STEP 0x8000000000000000ull
/* Fill tensor p (a param or buffer, numel floats at dst) by its init rule. */
void rt_init_tensor(const RtTensor *p, uint64_t seed, float *dst);
/* Initialise every param and buffer of m in arena, a fresh one from
** rt_arena_new (all zeros): tensors that start at zero, the optimizer state
** among them, are left untouched, so an entry that never reads them (predict)
** never faults their pages in. */
void rt_init_params(const RtModel *m, char *arena, uint64_t seed);

/* ---- JSON output (jsonout.c) ------------------------------------------- */

/* Print a float as the shortest decimal that reads back to the same float;
** JSON has no NaN or infinity: those print as null. */
void rt_json_float(FILE *out, float v);
/* Print s as a JSON string (quoted, escaped). */
void rt_json_str(FILE *out, const char *s);
/* Print a descriptor shape as a JSON array; -1 stays -1 or becomes n if n >= 0. */
void rt_json_shape(FILE *out, const RtTensor *t, int64_t n);

/* ---- the commands (info.c, predict.c) ---------------------------------- */

/* The model as JSON (for `info`). */
int rt_info(const RtModel *m, FILE *out, RtErr *e);

/* `init`: initialise params and buffers with seed, write them to path. */
int rt_init_file(const RtModel *m, uint64_t seed, const char *path, RtErr *e);
/* The tensors a weights file of m holds (rt_weights_save): its params and
** buffers, not the optimizer state; *nparams and *nbuffers (may be NULL)
** get the two counts. */
int rt_weights_count(const RtModel *m, int *nparams, int *nbuffers);

/* `export`: load weights (a weights file or a checkpoint) as every
** --weights reader does and write the params and buffers alone to path,
** with the metadata that identifies the model and its preprocessing and
** classes (export.c); *ntensors: how many tensors were written. */
int rt_export(const RtModel *m, const char *weights, const char *path, int *ntensors, RtErr *e,
              RtErr *warn);

typedef void (*RtPredictFn)(char *arena, int64_t n, const RtCtx *ctx);

struct DataPrep;
typedef struct RtPredictOpts {
	const char *weights;        /* safetensors path */
	const char **inputs;        /* one path per data input (inputs[0..ndata)): .npy, or
	                               an image decoded, resized and normalised (data.h) */
	const char **outputs;       /* one path per predict output (outputs[0..npredict)),
	                               or NULL entries */
	int64_t batch;              /* at most this many samples per call; 0: all */
	int nthreads;
	FILE *json;                 /* NULL: print nothing */
	const struct DataPrep *prep;    /* how files become inputs (data.h); NULL: no
	                                   normalisation, area resize */
	RtProf *prof;               /* NULL, or profile the calls of the model (profile.c) */
} RtPredictOpts;

/* `predict`: load weights and inputs, run fn in chunks, print and save the
** outputs predict writes. Labels and hyper-parameters are left zero. */
int rt_predict(const RtModel *m, RtPredictFn fn, const RtPredictOpts *o, RtErr *e, RtErr *warn);

#endif
