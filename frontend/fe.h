/*
** fe.h -- internals shared by the frontend's files (not for compiler/).
**
** One Fe per fe_load: it is the Lua allocator's userdata, so every C
** function reaches it with fe_get(L); there is no global mutable state.
** Tables the frontend keeps inside the Lua state live in the registry
** under the REG_* keys below.
*/
#ifndef LUNAC_FE_H
#define LUNAC_FE_H

#include <limits.h>
#include <stdint.h>
#include <lua.h>
#include <lauxlib.h>

#include "frontend.h"

/* Room for "path:line": fe_load refuses a script path of PATH_MAX bytes or
** more (no system call would open it), so a path and its folder always fit. */
#define FE_PATHMAX (PATH_MAX + 32)
#define FE_SCOPEMAX 1024
#define FE_MAXNODES IR_MAXNODES
#define FE_DEFAULT_INSTR 200000000LL           /* Lua VM instructions */
#define FE_DEFAULT_MEM ((size_t)512 << 20)     /* bytes */
/* Requests this big cannot be the Lua stack's (at most LUAI_MAXSTACK slots),
** so the allocator may read the call stack when it refuses one. */
#define FE_BIGALLOC ((size_t)(LUAI_MAXSTACK + 1000) * 32)
#define FE_LIBLABEL "frontend/lib"             /* how library chunks are named */
#define FE_TENSOR "lunac.tensor"               /* the tensor metatable */
#define FE_LOSS "loss"                         /* the output holding the sum of the loss terms */
#define FE_NEARMAX 64                          /* longer names are never suggested */
#define FE_NEARKEEP 3                          /* equally near suggestions offered */
#define FE_TAILKEEP 8                          /* functions replaced by tail calls kept per frame */

/* Registry keys of the per-load tables. */
#define REG_NAMES "lunac.names"       /* param/buffer full name -> loc */
#define REG_INPUTS "lunac.inputs"     /* input name -> true */
#define REG_OUTPUTS "lunac.outputs"   /* output name -> true */
#define REG_DECLARED "lunac.declared" /* config key -> true */
#define REG_LOADED "lunac.loaded"     /* module name -> value */
#define REG_LABELS "lunac.labels"     /* node id of a label() input -> its number of classes */
#define REG_LASTMSG "lunac.lastmsg"   /* the last message fe_msghandler made */
#define REG_LIBAPI "lunac.libapi"     /* the helpers library modules get (libapi.c) */

/* The shadow call stack (trace.c): one record per real frame, and under
** each the functions it replaced by tail calls. */
typedef struct FeTraceFrame {
	int src;                     /* index in srcs of its function's chunk, -1: a C function or not yet seen */
	int linedefined;
	int line;                    /* the line it is at, as the line hook last saw it */
} FeTraceFrame;

typedef struct FeTraceTail {
	int frame;                   /* index in frames of the frame it ran in */
	int src;                     /* -1: a mark standing for tail calls not kept (see FE_TAILKEEP) */
	int linedefined;
	int line;                    /* the line of its tail call */
	long long times;             /* tail calls in a row from that line, or that the mark stands for */
} FeTraceTail;

typedef struct FeTraceSrc {
	char *name;                  /* the chunk's name, "@file" */
	size_t len;
	int user;                    /* a user file (not the library) */
} FeTraceSrc;

typedef struct FeTrace {
	FeTraceFrame *frames;
	int nframes, capframes;
	FeTraceTail *tails;
	int ntails, captails;
	FeTraceSrc *srcs;
	int nsrcs, capsrcs;
	const char *lastptr;         /* the chunk name last looked up, and its index */
	int lastsrc;
	int off;                     /* an allocation failed: the trace is no longer kept */
} FeTrace;

/* Where the trace was when a pcall began (fe_trace_mark). */
typedef struct FeTraceMark {
	int nframes, ntails;
} FeTraceMark;

/* One function of a real frame, as fe_trace_level gives it. */
typedef struct FeFrame {
	int level;                   /* the real frame's level (lua_getstack) */
	int live;                    /* 1: the function running there; 0: one it replaced by a tail call */
	const char *src;             /* the chunk's name ("@file"); NULL: a mark for tail calls not kept */
	int line, linedefined;
	long long times;             /* tail calls it stands for (1 when live); for a mark, how many */
	int user;                    /* a Lua function in a user file, at a known line */
	int lib;                     /* a Lua function of the library */
	int oldest;                  /* replaced: the first function of its frame (the frame above called it) */
} FeFrame;

typedef struct Fe {
	lua_State *L;
	Graph *g;
	const char *path;            /* the script, as given */
	char dir[FE_PATHMAX];        /* its folder, "" when the path has none */
	const char *libdir;          /* where library modules are read from */
	const Define *defs;
	int ndefs;
	long long max_instr, instr;  /* budget and instructions run so far */
	size_t mem, max_mem;         /* bytes the Lua state holds, and its cap */
	int mem_fatal;               /* a memory error reached a pcall */
	int budget_fatal;            /* the instruction budget ran out */
	int in_handler;              /* the message handler is running */
	char last_pos[FE_PATHMAX];   /* user "file:line" seen by the last count hook */
	char oom_pos[FE_PATHMAX];    /* user "file:line" of the last big refused request */
	char scope[FE_SCOPEMAX];     /* current scope path, "a.b.c" */
	size_t scopelen;
	int nstreams;                /* dropout streams handed out */
	char config_loc[FE_PATHMAX]; /* where the first config{} was called */
	uint64_t hash;               /* FNV-1a 64 of the spec so far */
	int loss;                    /* node of the sum of the loss terms so far, -1 when none */
	FeTrace trace;               /* the user's frames tail calls replaced (trace.c) */
} Fe;

/* The names nearest to a misspelt word (near.c). */
typedef struct FeNear {
	const char *word;
	int best;                                /* distance of the kept names, -1 when none */
	int n;                                   /* how many are kept */
	long long cells;                         /* distance-table cells computed (charged by fe_near_push) */
	char text[FE_NEARKEEP][3 * FE_NEARMAX];  /* "'nn.conv2d'" and its note */
} FeNear;

/* sandbox.c */
Fe *fe_get(lua_State *L);
/* Charge n instructions to the budget (work done in C that the count hook
** does not see); the script stops at its next instruction once it is spent. */
void fe_charge(Fe *fe, long long n);
void fe_hash(Fe *fe, const void *p, size_t n);

/* trace.c: the shadow call stack */
void fe_trace_event(lua_State *L, lua_Debug *ar);
FeTraceMark fe_trace_mark(lua_State *L);
void fe_trace_restore(lua_State *L, FeTraceMark m);
void fe_trace_free(lua_State *L);
int fe_trace_level(lua_State *L, int level, FeFrame *out);
int fe_trace_user_pos(Fe *fe, char *buf, size_t cap);
#define FE_LEVELMAX (FE_TAILKEEP + 2)     /* room fe_trace_level needs */

/* diag.c: locations and errors */
int fe_where(lua_State *L, int level, char *buf, size_t cap);
int fe_user_pos(lua_State *L, int level, char *buf, size_t cap);
int fe_user_frame(lua_State *L, char *buf, size_t cap);
int fe_error(lua_State *L, const char *fmt, ...);
int fe_msghandler(lua_State *L);
int fe_is_libsrc(const char *shortsrc, size_t n);

/* near.c: "did you mean" */
int fe_near_distance(const char *word, const char *cand);
void fe_near_init(FeNear *s, const char *word);
void fe_near_add(FeNear *s, const char *prefix, const char *cand, const char *note);
void fe_near_list(FeNear *s, const char *const *names);
void fe_near_push(lua_State *L, const FeNear *s);
void fe_near_globals(lua_State *L, FeNear *s, const char *module);
void fe_near_modules(lua_State *L, FeNear *s, const char *module);

/* libapi.c: what library modules get besides the builtins */
void fe_open_libapi(lua_State *L);
void fe_strict_module(lua_State *L, int idx, const char *name);

/* guards.c: pattern matching, string.rep and table.move within the budget */
void fe_open_guards(lua_State *L);

/* require.c */
int fe_require(lua_State *L);
int fe_read_file(lua_State *L, const char *path, size_t *len);
int fe_load_chunk(lua_State *L, const char *buf, size_t len, const char *display, const char *fn);

/* tensor.c: the tensor userdata and argument helpers */
void fe_open_tensor(lua_State *L);
void fe_push_tensor(lua_State *L, int id);
int fe_to_tensor(lua_State *L, int idx);
int fe_check_tensor(lua_State *L, int idx, const char *fn);
int fe_operand(lua_State *L, int idx, const char *fn);
void fe_check_nargs(lua_State *L, const char *sig, int min, int max);
void fe_surplus(lua_State *L, const char *sig, int first, int n, int min, int max);
Node *fe_node(lua_State *L, Op op, int nin, const int *in);
int fe_finish(lua_State *L, Node *nd, const char *fn);
int fe_const(lua_State *L, const float *v, const Shape *s);
int fe_binop(lua_State *L, Op op, const char *fn);

/* opts.c: option tables and shapes */
void fe_check_opts(lua_State *L, int idx, const char *fn, const char *const *allowed);
int64_t fe_opt_int(lua_State *L, int idx, const char *fn, const char *key, int64_t def);
void fe_opt_pair(lua_State *L, int idx, const char *fn, const char *key, int64_t def, int64_t out[2]);
double fe_opt_num(lua_State *L, int idx, const char *fn, const char *key, double def);
int fe_opt_bool(lua_State *L, int idx, const char *fn, const char *key, int def);
const char *fe_opt_str(lua_State *L, int idx, const char *fn, const char *key, const char *def);
void fe_check_shape(lua_State *L, int idx, const char *fn, int allow_n, Shape *s);
void fe_push_shape(lua_State *L, const Shape *s);

/* dsl.c, ops.c and loss.c: the builtins */
void fe_open_dsl(lua_State *L);
void fe_open_ops(lua_State *L);
void fe_open_loss(lua_State *L);
int fe_check_defs(lua_State *L);
void fe_close_loss(lua_State *L);
const char *fe_check_name(lua_State *L, int idx, const char *fn, const char *what);
void fe_check_name_kind(lua_State *L, const char *name, NameKind kind, const char *fn);
void fe_check_input(lua_State *L, const char *name, const char *fn);
int fe_new_input(lua_State *L, const char *name, const Shape *s, DType dt, const char *fn);
void fe_check_output(lua_State *L, const char *name, const char *fn);
void fe_new_output(lua_State *L, const char *name, int id);

#endif
