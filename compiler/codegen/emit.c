/*
** emit.c -- cg_emit: the module (one internal function per kernel, the
** entry point that calls them in node order, the descriptor global), the
** target machine for the host (or CgOptions), verification, the O-level
** pipeline, and writing .o / .s / .ll atomically.
**
** Nodes whose kernels would be the same code (cg_kernel_key) share one
** function, named after the first of them; so do equal constants.
** Deterministic: names derive from entry names, node ids and op names only,
** in emission order, the module has no timestamps or paths, and the maps
** are only looked up, so the same graphs, plans and options give
** byte-identical files.
*/
#include "cg.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <llvm-c/Analysis.h>
#include <llvm-c/Target.h>
#include <llvm-c/TargetMachine.h>
#include <llvm-c/Transforms/PassBuilder.h>

/* Add the attributes every generated function carries: nounwind, the
** target CPU and features, and 512-bit vectors where AVX-512 exists (LLVM
** otherwise prefers 256-bit vectors on many AVX-512 CPUs). */
void cg_fn_attrs(Cg *c, LLVMValueRef f)
{
	unsigned nounwind = LLVMGetEnumAttributeKindForName("nounwind", 8);
	LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, LLVMCreateEnumAttribute(c->ctx, nounwind, 0));
	const char *kv[3][2] = {{"target-cpu", c->cpu}, {"target-features", c->features}, {"prefer-vector-width", "512"}};
	for (int i = 0; i < (c->avx512 ? 3 : 2); i++) {
		LLVMAttributeRef a = LLVMCreateStringAttribute(c->ctx, kv[i][0], (unsigned)strlen(kv[i][0]), kv[i][1],
		                                               (unsigned)strlen(kv[i][1]));
		LLVMAddAttributeAtIndex(f, LLVMAttributeFunctionIndex, a);
	}
}

/* Check that nd and its operands have storage (or are constants in place). */
static int check_storage(Cg *c, const Node *nd)
{
	for (int k = -1; k < nd->nin; k++) {
		int id = cg_home(c, k < 0 ? nd->id : nd->in[k]);
		const Node *v = c->g->nodes[id];
		if (c->p->off[id] < 0 && !(v->op == OP_CONST && c->constg[id]))
			return cg_fail(c, nd, "internal error: %%%d has no storage in the memory plan", id);
	}
	return 0;
}

/* Add the enum attribute name to f at index i (a parameter, or the function). */
void cg_enum_attr(Cg *c, LLVMValueRef f, unsigned i, const char *name)
{
	unsigned kind = LLVMGetEnumAttributeKindForName(name, strlen(name));
	LLVMAddAttributeAtIndex(f, i, LLVMCreateEnumAttribute(c->ctx, kind, 0));
}

/* Build nd's kernel into k: `internal void <entry>_kID_op(ptr slot..., i64
** n, ptr ctx, ptr params)` (params: its i64 parameters, cg_param), each slot noalias where its bytes overlap no other slot's
** (c->slot holds nd's slots). 0, or -1 with c->e set. */
static int build_kernel(Cg *c, const Node *nd, Kernel *k)
{
	int ns = c->nslot;
	LLVMTypeRef pt[IR_MAXIN + 4];
	for (int i = 0; i < ns; i++)
		pt[i] = c->ptr;
	pt[ns] = c->i64;
	pt[ns + 1] = c->ptr;
	pt[ns + 2] = c->ptr;
	k->ty = LLVMFunctionType(c->voidt, pt, (unsigned)ns + 3, 0);
	char name[128];
	snprintf(name, sizeof name, "%s_k%d_%s", c->prefix, nd->id, ir_ops[nd->op].name);
	k->fn = c->fn = LLVMAddFunction(c->mod, name, k->ty);
	LLVMSetLinkage(c->fn, LLVMInternalLinkage);
	cg_fn_attrs(c, c->fn);
	cg_enum_attr(c, c->fn, LLVMAttributeFunctionIndex, "noinline"); /* one symbol per kernel in .s and profiles */
	for (int i = 0; i < ns; i++) {
		c->slotp[i] = LLVMGetParam(c->fn, (unsigned)i);
		if (cg_slot_noalias(c, i))
			cg_enum_attr(c, c->fn, (unsigned)i + 1, "noalias");
	}
	c->n = LLVMGetParam(c->fn, (unsigned)ns);
	c->rtctx = LLVMGetParam(c->fn, (unsigned)ns + 1);
	c->params = LLVMGetParam(c->fn, (unsigned)ns + 2);
	c->allocas = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "entry");
	LLVMPositionBuilderAtEnd(c->ab, c->allocas);
	LLVMBasicBlockRef body = LLVMAppendBasicBlockInContext(c->ctx, c->fn, "body");
	LLVMPositionBuilderAtEnd(c->b, body);
	c->sched = kern_schedule(c->g, nd, &c->tgt);
	if (kern_verify(c->g, nd, &c->sched, c->e) || cg_emitter(nd->op)(c, nd))
		return -1;
	LLVMBuildRetVoid(c->b);
	LLVMPositionBuilderAtEnd(c->b, c->allocas);
	LLVMBuildBr(c->b, body);
	return 0;
}

/* The kernel for nd, with c->slot set to its slots: the one an earlier node
** with the same key got (cg_kernel_key: same code, whatever the entry), or
** a new one named after nd. NULL with c->e set on error. */
static const Kernel *kernel(Cg *c, const Node *nd)
{
	if (check_storage(c, nd))
		return NULL;
	cg_slots(c, nd);
	int64_t form[3];
	c->nparam = cg_sizes(c, nd, c->param, form);
	Key key;
	cg_kernel_key(c, nd, &key);
	Kernel *k = map_get(&c->kernels, key.b, key.n);
	if (k)
		return k;
	k = ir_alloc(&c->arena, sizeof *k);
	if (build_kernel(c, nd, k))
		return NULL;
	k->num = c->nkernel++;
	map_put(&c->kernels, key.b, key.n, k);
	return k;
}

/* A constant, external, NUL-terminated string global: name = text. */
static void string_global(Cg *c, const char *name, const char *text)
{
	LLVMValueRef init = LLVMConstStringInContext2(c->ctx, text, strlen(text), 0);
	LLVMValueRef gv = LLVMAddGlobal(c->mod, LLVMTypeOf(init), name);
	LLVMSetInitializer(gv, init);
	LLVMSetGlobalConstant(gv, 1);
	LLVMSetLinkage(gv, LLVMExternalLinkage);
}

/* The descriptor of every entry as the global lunac_model_json, and their
** kernel calls as lunac_profile_json (--profile reads it). */
static int descriptor_global(Cg *c, const CgEntry *es, int n)
{
	CgTarget t = {(char *)c->cpu, (char *)c->features};
	char *json = cg_descriptor_check(es, n, &t, c->e), *prof = json ? cg_profile_json(es, n) : NULL;
	if (json && !prof)
		ir_errorf(c->e, "codegen: out of memory");
	if (prof) {
		string_global(c, "lunac_model_json", json);
		string_global(c, "lunac_profile_json", prof);
	}
	free(json);
	free(prof);
	return prof ? 0 : -1;
}

/* Is name usable in a symbol (letters, digits, '_'), and new in the module? */
static int check_name(Cg *c, const char *name, const char *sym)
{
	int ok = name && *name;
	for (const char *s = name; ok && *s; s++)
		ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_';
	if (!ok)
		return ir_errorf(c->e, "codegen: internal error: bad entry name \"%s\"", name ? name : "");
	if (LLVMGetNamedFunction(c->mod, sym))
		return ir_errorf(c->e, "codegen: internal error: two entries named \"%s\"", name);
	return 0;
}

/* Declare (once) `void rt_prof_tick(ptr ctx, i32 k)` (the runtime's,
** lunac_rt.h): kernel call k of the entry starts, or the entry ends when k
** is the number of calls. It returns at once unless the run profiles. */
static LLVMValueRef prof_tick(Cg *c, LLVMTypeRef *ty)
{
	LLVMTypeRef params[2] = {c->ptr, c->i32};
	*ty = LLVMFunctionType(c->voidt, params, 2, 0);
	LLVMValueRef f = LLVMGetNamedFunction(c->mod, "rt_prof_tick");
	return f ? f : LLVMAddFunction(c->mod, "rt_prof_tick", *ty);
}

/* The most slots a kernel takes (its result and every operand distinct). */
#define MAXSLOT (IR_MAXIN + 1)

/* The runner every entry calls, built once per module:
** `internal void lunac.run(ptr arena, i64 n, ptr ctx, ptr prog, ptr fns,
** i64 calls, i64 fixed)`. prog is the entry's calls in order, each as
** (kernel, slots, slot..., params, param...) i64s: the kernel's index in
** fns, how many slot pointers it takes, each slot as 2*offset + batched (a
** batched offset is per sample: the address is arena + fixed + offset*n),
** and the kernel's parameters, which it gets as a pointer into prog. Before
** call k it ticks the profile with k, and with calls at the end. */
static LLVMValueRef runner(Cg *c)
{
	LLVMValueRef f = LLVMGetNamedFunction(c->mod, "lunac.run");
	if (f)
		return f;
	LLVMTypeRef pt[7] = {c->ptr, c->i64, c->ptr, c->ptr, c->ptr, c->i64, c->i64};
	f = LLVMAddFunction(c->mod, "lunac.run", LLVMFunctionType(c->voidt, pt, 7, 0));
	LLVMSetLinkage(f, LLVMInternalLinkage);
	cg_fn_attrs(c, f);
	cg_enum_attr(c, f, LLVMAttributeFunctionIndex, "noinline");
	FnPos was = cg_fn_begin(c, f);
	LLVMValueRef arena = LLVMGetParam(f, 0), n = LLVMGetParam(f, 1), ctx = LLVMGetParam(f, 2);
	LLVMValueRef prog = LLVMGetParam(f, 3), fns = LLVMGetParam(f, 4), fixed = LLVMGetParam(f, 6);
	LLVMTypeRef i8 = LLVMInt8TypeInContext(c->ctx), tt;
	LLVMValueRef tick = prof_tick(c, &tt);
	LLVMValueRef slots = LLVMBuildAlloca(c->ab, LLVMArrayType(c->ptr, MAXSLOT), "slots");
	LLVMValueRef pc = var_new_i64(c, ci(c, 0));
	Loop lc, ls;
	loop_open(c, &lc, ci(c, 0), LLVMGetParam(f, 5));
	LLVMValueRef targs[2] = {ctx, LLVMBuildTrunc(c->b, lc.i, c->i32, "")};
	LLVMBuildCall2(c->b, tt, tick, targs, 2, "");
	LLVMValueRef at = var_get(c, pc);
	LLVMValueRef kn = LLVMBuildLoad2(c->b, c->i64, LLVMBuildGEP2(c->b, c->i64, prog, &at, 1, ""), "");
	LLVMValueRef at1 = iadd(c, at, ci(c, 1));
	LLVMValueRef ns = LLVMBuildLoad2(c->b, c->i64, LLVMBuildGEP2(c->b, c->i64, prog, &at1, 1, ""), "");
	LLVMValueRef first = iadd(c, at, ci(c, 2));
	loop_open(c, &ls, ci(c, 0), ns);
	LLVMValueRef si = iadd(c, first, ls.i);
	LLVMValueRef v = LLVMBuildLoad2(c->b, c->i64, LLVMBuildGEP2(c->b, c->i64, prog, &si, 1, ""), "");
	LLVMValueRef off = LLVMBuildLShr(c->b, v, ci(c, 1), "");
	LLVMValueRef batched = LLVMBuildTrunc(c->b, LLVMBuildAnd(c->b, v, ci(c, 1), ""), LLVMInt1TypeInContext(c->ctx), "");
	LLVMValueRef addr = LLVMBuildSelect(c->b, batched, iadd(c, fixed, imul(c, off, n)), off, "");
	LLVMValueRef sp = LLVMBuildGEP2(c->b, c->ptr, slots, &ls.i, 1, "");
	LLVMBuildStore(c->b, LLVMBuildInBoundsGEP2(c->b, i8, arena, &addr, 1, ""), sp);
	ls.keep = 1;
	loop_close(c, &ls);
	LLVMValueRef np_at = iadd(c, first, ns);
	LLVMValueRef np = LLVMBuildLoad2(c->b, c->i64, LLVMBuildGEP2(c->b, c->i64, prog, &np_at, 1, ""), "");
	LLVMValueRef pfirst = iadd(c, np_at, ci(c, 1));
	LLVMValueRef params = LLVMBuildGEP2(c->b, c->i64, prog, &pfirst, 1, "");
	var_set(c, pc, iadd(c, pfirst, np));
	LLVMValueRef fn = LLVMBuildLoad2(c->b, c->ptr, LLVMBuildGEP2(c->b, c->ptr, fns, &kn, 1, ""), "");
	/* one call site per slot count */
	LLVMBasicBlockRef join = LLVMAppendBasicBlockInContext(c->ctx, f, "called");
	LLVMValueRef sw = LLVMBuildSwitch(c->b, ns, join, MAXSLOT + 1);
	for (int k = 0; k <= MAXSLOT; k++) {
		LLVMBasicBlockRef bb = LLVMAppendBasicBlockInContext(c->ctx, f, "call");
		LLVMAddCase(sw, ci(c, k), bb);
		LLVMPositionBuilderAtEnd(c->b, bb);
		LLVMTypeRef kt[MAXSLOT + 3];
		LLVMValueRef args[MAXSLOT + 3];
		for (int s = 0; s < k; s++) {
			LLVMValueRef idx = ci(c, s);
			kt[s] = c->ptr;
			args[s] = LLVMBuildLoad2(c->b, c->ptr, LLVMBuildGEP2(c->b, c->ptr, slots, &idx, 1, ""), "");
		}
		kt[k] = c->i64, args[k] = n;
		kt[k + 1] = c->ptr, args[k + 1] = ctx;
		kt[k + 2] = c->ptr, args[k + 2] = params;
		LLVMBuildCall2(c->b, LLVMFunctionType(c->voidt, kt, (unsigned)k + 3, 0), fn, args, (unsigned)k + 3, "");
		LLVMBuildBr(c->b, join);
	}
	LLVMPositionBuilderAtEnd(c->b, join);
	lc.keep = 1;
	loop_close(c, &lc);
	LLVMValueRef eargs[2] = {ctx, LLVMBuildTrunc(c->b, LLVMGetParam(f, 5), c->i32, "")};
	LLVMBuildCall2(c->b, tt, tick, eargs, 2, "");
	cg_fn_end(c, was);
	return f;
}

/* Append v to the growing i64 array *a (length *n, capacity *cap) in c's arena. */
static void push(Cg *c, int64_t **a, size_t *n, size_t *cap, int64_t v)
{
	if (*n == *cap) {
		size_t nc = *cap ? 2 * *cap : 1024;
		int64_t *b = ir_alloc(&c->arena, nc * sizeof *b);
		if (*n)
			memcpy(b, *a, *n * sizeof *b);
		*a = b, *cap = nc;
	}
	(*a)[(*n)++] = v;
}

/* A private constant global `name` holding the n elements of type t. */
static LLVMValueRef const_array(Cg *c, const char *name, LLVMTypeRef t, LLVMValueRef *v, size_t n)
{
	LLVMValueRef init = LLVMConstArray2(t, v, n);
	LLVMValueRef gv = LLVMAddGlobal(c->mod, LLVMTypeOf(init), name);
	LLVMSetInitializer(gv, init);
	LLVMSetGlobalConstant(gv, 1);
	LLVMSetLinkage(gv, LLVMPrivateLinkage);
	LLVMSetUnnamedAddr(gv, 1);
	return gv;
}

/* Emit one entry: its constants, the kernels no earlier node shares, and
** `void lunac_<name>(ptr arena, i64 n, ptr ctx)`, which hands lunac.run
** the entry's program `lunac_<name>.calls` (each node's kernel and the
** offsets of its slots, in node order) and its kernel table
** `lunac_<name>.kernels` (the distinct kernels it calls, in first-call
** order). A table instead of one call instruction per kernel: DRIFA-Net's
** 34,000 calls as code took a fifth of its build. */
static int build_entry(Cg *c, const CgEntry *en)
{
	char sym[128], name[160];
	snprintf(sym, sizeof sym, "lunac_%s", en->name ? en->name : "");
	if (check_name(c, en->name, sym))
		return -1;
	c->g = en->g, c->p = en->p, c->prefix = en->name;
	LLVMTypeRef params[3] = {c->ptr, c->i64, c->ptr};
	LLVMValueRef f = LLVMAddFunction(c->mod, sym, LLVMFunctionType(c->voidt, params, 3, 0));
	cg_fn_attrs(c, f);
	cg_const_globals(c);
	if (cg_check_plan(c))
		return -1;
	int64_t *prog = NULL;
	size_t np = 0, cap = 0, nfn = 0;
	int calls = 0, *local = NULL, nlocal = 0;   /* kernel num -> 1 + its index in this entry's table */
	LLVMValueRef *fns = ir_alloc(&c->arena, ((size_t)c->g->nnodes + 1) * sizeof *fns);
	for (int i = 0; i < c->g->nnodes; i++) {
		const Node *nd = c->g->nodes[i];
		const Kernel *k;
		if (!cg_needs_kernel(c, nd))
			continue;
		if (!(k = kernel(c, nd)))
			return -1;
		if (k->num >= nlocal) {
			int nl = 2 * (k->num + 1);
			int *l = ir_alloc(&c->arena, (size_t)nl * sizeof *l);
			memset(l, 0, (size_t)nl * sizeof *l);
			if (nlocal)
				memcpy(l, local, (size_t)nlocal * sizeof *l);
			local = l, nlocal = nl;
		}
		if (!local[k->num]) {
			fns[nfn++] = k->fn;
			local[k->num] = (int)nfn;
		}
		push(c, &prog, &np, &cap, local[k->num] - 1);
		push(c, &prog, &np, &cap, c->nslot);
		for (int s = 0; s < c->nslot; s++) {
			int id = c->slot[s];
			push(c, &prog, &np, &cap, 2 * c->p->off[id] + ir_batched(&c->g->nodes[id]->shape));
		}
		push(c, &prog, &np, &cap, c->nparam);
		for (int i = 0; i < c->nparam; i++)
			push(c, &prog, &np, &cap, c->param[i]);
		calls++;
	}
	LLVMValueRef *pv = ir_alloc(&c->arena, (np + 1) * sizeof *pv);
	for (size_t i = 0; i < np; i++)
		pv[i] = ci(c, prog[i]);
	snprintf(name, sizeof name, "%s.calls", sym);
	LLVMValueRef pg = const_array(c, name, c->i64, pv, np);
	snprintf(name, sizeof name, "%s.kernels", sym);
	LLVMValueRef kg = const_array(c, name, c->ptr, fns, nfn);
	LLVMValueRef run = runner(c);
	LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, f, "entry"));
	LLVMValueRef args[7] = {LLVMGetParam(f, 0), LLVMGetParam(f, 1), LLVMGetParam(f, 2), pg, kg, ci(c, calls),
	                        ci(c, c->p->fixed_bytes)};
	LLVMBuildCall2(c->b, LLVMGlobalGetValueType(run), run, args, 7, "");
	LLVMBuildRetVoid(c->b);
	return 0;
}

/* Fill the module: the descriptor, then every entry with its kernels. */
static int build(Cg *c, const CgEntry *es, int n)
{
	c->f32 = LLVMFloatTypeInContext(c->ctx);
	c->i32 = LLVMInt32TypeInContext(c->ctx);
	c->i64 = LLVMInt64TypeInContext(c->ctx);
	c->ptr = LLVMPointerTypeInContext(c->ctx, 0);
	c->voidt = LLVMVoidTypeInContext(c->ctx);
	if (descriptor_global(c, es, n))
		return -1;
	for (int i = 0; i < n; i++) {
		c->constg = ir_alloc(&c->arena, ((size_t)es[i].g->nnodes + 1) * sizeof *c->constg);
		c->constn = ir_alloc(&c->arena, ((size_t)es[i].g->nnodes + 1) * sizeof *c->constn);
		if (build_entry(c, &es[i]))
			return -1;
	}
	return 0;
}

/* A malloc'ed copy of a + b, with a comma between when both are non-empty. */
static char *join(const char *a, const char *b)
{
	char *s = NULL;
	if (asprintf(&s, "%s%s%s", a, *a && *b ? "," : "", b) < 0)
		return NULL;
	return s;
}

int cg_target(const CgOptions *o, CgTarget *t, Err *e)
{
	const char *cpu = o ? o->cpu : NULL, *features = o && o->features ? o->features : "";
	t->cpu = t->features = NULL;
	if (cpu) {
		t->cpu = strdup(cpu);
		t->features = strdup(features);
	} else {
		char *hcpu = LLVMGetHostCPUName(), *hfeat = LLVMGetHostCPUFeatures();
		t->cpu = strdup(hcpu);
		t->features = join(hfeat, features);
		LLVMDisposeMessage(hcpu);
		LLVMDisposeMessage(hfeat);
	}
	if (!t->cpu || !t->features) {
		cg_target_free(t);
		return ir_errorf(e, "codegen: out of memory");
	}
	return 0;
}

void cg_target_free(CgTarget *t)
{
	free(t->cpu);
	free(t->features);
	t->cpu = t->features = NULL;
}

/* The quoted name in LLVM's "'NAME' is not a recognized KIND for this
** target" in text, malloc'ed; NULL when text has no such line. */
static char *unrecognized(const char *text, const char *kind)
{
	char pat[64];
	snprintf(pat, sizeof pat, "' is not a recognized %s for this target", kind);
	for (const char *l = text; *l;) {
		const char *end = strchr(l, '\n'), *at = strstr(l, pat);
		if (!end)
			end = l + strlen(l);
		if (at && at < end && l[0] == '\'')
			return strndup(l + 1, (size_t)(at - l - 1));
		l = *end ? end + 1 : end;
	}
	return NULL;
}

/* LLVMCreateTargetMachine for c's CPU and features, refusing an unknown CPU
** or feature. LLVM-C can neither list nor check them; LLVM writes "'X' is
** not a recognized processor (feature) for this target" on stderr and
** carries on with a generic CPU, so that text is caught in a temporary file
** (fd 2 redirected while the machine is made) and turned into an error;
** anything else LLVM writes goes on to stderr. */
static LLVMTargetMachineRef checked_machine(Cg *c, LLVMTargetRef t, const char *triple, LLVMCodeGenOptLevel lv, Err *e)
{
	FILE *cap = tmpfile();
	int saved = cap ? dup(2) : -1;
	fflush(stderr);
	if (saved >= 0 && dup2(fileno(cap), 2) < 0)
		close(saved), saved = -1;
	LLVMTargetMachineRef tm = LLVMCreateTargetMachine(t, triple, c->cpu, c->features, lv, LLVMRelocPIC,
	                                                  LLVMCodeModelDefault);
	if (saved < 0) {
		if (cap)
			fclose(cap);
		return tm;
	}
	dup2(saved, 2);
	close(saved);
	long len = ftell(cap);
	char *text = len >= 0 ? calloc((size_t)len + 1, 1) : NULL;
	if (text) {
		rewind(cap);
		len = (long)fread(text, 1, (size_t)len, cap);
		text[len] = 0;
	}
	fclose(cap);
	char *cpu = text ? unrecognized(text, "processor") : NULL, *feat = text ? unrecognized(text, "feature") : NULL;
	if (cpu)
		ir_errorf(e, "--cpu: LLVM does not know the CPU \"%s\" for %s (`llc-19 -mcpu=help` lists the known ones)", cpu,
		          triple);
	else if (feat)
		ir_errorf(e, "--features: LLVM does not know the feature \"%s\" for %s (`llc-19 -mattr=help` lists the "
		             "known ones)", feat, triple);
	else if (text && *text)
		fputs(text, stderr);
	free(cpu);
	free(feat);
	free(text);
	if (e->set && tm) {
		LLVMDisposeTargetMachine(tm);
		tm = NULL;
	}
	return tm;
}

/* Create the target machine for c's CPU and features (cg_target). */
static LLVMTargetMachineRef target_machine(Cg *c, int opt, Err *e)
{
	LLVMInitializeNativeTarget();
	LLVMInitializeNativeAsmPrinter();
	char *triple = LLVMGetDefaultTargetTriple(), *msg = NULL;
	LLVMTargetRef t;
	if (LLVMGetTargetFromTriple(triple, &t, &msg)) {
		ir_errorf(e, "codegen: no LLVM target for %s: %s", triple, msg ? msg : "?");
		LLVMDisposeMessage(msg);
		LLVMDisposeMessage(triple);
		return NULL;
	}
	LLVMCodeGenOptLevel lv = opt <= 0 ? LLVMCodeGenLevelNone : opt == 1 ? LLVMCodeGenLevelLess
	                       : opt == 2 ? LLVMCodeGenLevelDefault : LLVMCodeGenLevelAggressive;
	LLVMTargetMachineRef tm = checked_machine(c, t, triple, lv, e);
	if (!tm) {
		if (!e->set)
			ir_errorf(e, "codegen: cannot create the target machine for %s, CPU %s", triple, c->cpu);
		LLVMDisposeMessage(triple);
		return NULL;
	}
	LLVMSetTarget(c->mod, triple);
	LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
	LLVMSetModuleDataLayout(c->mod, dl);
	LLVMDisposeTargetData(dl);
	LLVMDisposeMessage(triple);
	return tm;
}

/* Does tm's code have AVX-512 registers? A feature string lists only what
** was added to a named CPU's own (--cpu=znver4 alone gives ""), and LLVM-C
** cannot list a CPU's features, so ask LLVM: compile a <16 x float> add
** for tm and look for a zmm register in the assembly. */
static int probe_avx512(LLVMTargetMachineRef tm)
{
	LLVMContextRef ctx = LLVMContextCreate();
	LLVMModuleRef m = LLVMModuleCreateWithNameInContext("probe", ctx);
	char *triple = LLVMGetTargetMachineTriple(tm);
	LLVMSetTarget(m, triple);
	LLVMDisposeMessage(triple);
	LLVMTargetDataRef dl = LLVMCreateTargetDataLayout(tm);
	LLVMSetModuleDataLayout(m, dl);
	LLVMDisposeTargetData(dl);
	LLVMTypeRef v = LLVMVectorType(LLVMFloatTypeInContext(ctx), 16), pt[2] = {v, v};
	LLVMValueRef f = LLVMAddFunction(m, "probe", LLVMFunctionType(v, pt, 2, 0));
	LLVMBuilderRef b = LLVMCreateBuilderInContext(ctx);
	LLVMPositionBuilderAtEnd(b, LLVMAppendBasicBlockInContext(ctx, f, "entry"));
	LLVMBuildRet(b, LLVMBuildFAdd(b, LLVMGetParam(f, 0), LLVMGetParam(f, 1), ""));
	LLVMDisposeBuilder(b);
	char *msg = NULL;
	LLVMMemoryBufferRef buf = NULL;
	int zmm = 0;
	if (!LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMAssemblyFile, &msg, &buf)) {
		size_t len = LLVMGetBufferSize(buf);
		const char *s = LLVMGetBufferStart(buf);
		for (size_t i = 0; i + 3 <= len && !zmm; i++)
			zmm = s[i] == 'z' && s[i + 1] == 'm' && s[i + 2] == 'm';
		LLVMDisposeMemoryBuffer(buf);
	}
	LLVMDisposeMessage(msg);
	LLVMDisposeModule(m);
	LLVMContextDispose(ctx);
	return zmm;
}

/* Verify c's module: an invalid one is an internal error. */
static int verify(Cg *c, Err *e)
{
	char *msg = NULL;
	if (LLVMVerifyModule(c->mod, LLVMReturnStatusAction, &msg)) {
		ir_errorf(e, "codegen: internal error: invalid LLVM IR: %s", msg ? msg : "?");
		LLVMDisposeMessage(msg);
		return -1;
	}
	LLVMDisposeMessage(msg);
	return 0;
}

char *cg_run_passes(LLVMModuleRef m, LLVMTargetMachineRef tm, int opt)
{
	char pipeline[32];
	snprintf(pipeline, sizeof pipeline, "default<O%d>", opt);
	LLVMPassBuilderOptionsRef po = LLVMCreatePassBuilderOptions();
	LLVMPassBuilderOptionsSetLoopVectorization(po, opt >= 2);
	LLVMPassBuilderOptionsSetSLPVectorization(po, opt >= 2);
	LLVMPassBuilderOptionsSetLoopInterleaving(po, opt >= 2);
	LLVMPassBuilderOptionsSetLoopUnrolling(po, opt >= 2);
	LLVMErrorRef err = LLVMRunPasses(m, pipeline, tm, po);
	LLVMDisposePassBuilderOptions(po);
	if (!err)
		return NULL;
	char *msg = LLVMGetErrorMessage(err), *s = NULL;
	if (asprintf(&s, "%s: %s", pipeline, msg) < 0)
		s = NULL;
	LLVMDisposeErrorMessage(msg);
	return s ? s : strdup(pipeline);
}

/* Run the O-level pipeline on c's module. */
static int optimise(Cg *c, LLVMTargetMachineRef tm, int opt, Err *e)
{
	char *msg = cg_run_passes(c->mod, tm, opt);
	if (msg)
		ir_errorf(e, "codegen: internal error: %s", msg);
	free(msg);
	return msg ? -1 : 0;
}

/* Write bytes to path through a temporary file in the same directory,
** with the permissions open(2) would give a new file (0666 less the umask). */
int cg_write_atomic(const char *path, const char *bytes, size_t len, Err *e)
{
	size_t pl = strlen(path);
	char *tmp = malloc(pl + 16);
	snprintf(tmp, pl + 16, "%s.tmpXXXXXX", path);
	int fd = mkstemp(tmp);
	mode_t mask = umask(0);   /* read the umask (lunac is single-threaded here) */
	umask(mask);
	if (fd >= 0 && fchmod(fd, 0666 & ~mask) != 0) {   /* mkstemp made it 0600 */
		close(fd);
		unlink(tmp);
		fd = -1;
	}
	if (fd < 0) {
		ir_errorf(e, "%s: cannot create: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t w = write(fd, bytes + done, len - done);
		if (w <= 0 && errno != EINTR)
			break;
		done += w > 0 ? (size_t)w : 0;
	}
	int bad = done < len || fsync(fd) != 0;
	bad |= close(fd) != 0;
	if (bad || rename(tmp, path) != 0) {
		ir_errorf(e, "%s: cannot write: %s", path, strerror(errno));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

int cg_write_module(Cg *c, LLVMTargetMachineRef tm, EmitKind k, const char *path, Err *e)
{
	if (k == EMIT_LLVM) {
		char *s = LLVMPrintModuleToString(c->mod);
		int rc = cg_write_atomic(path, s, strlen(s), e);
		LLVMDisposeMessage(s);
		return rc;
	}
	char *msg = NULL;
	LLVMMemoryBufferRef buf;
	if (LLVMTargetMachineEmitToMemoryBuffer(tm, c->mod, k == EMIT_ASM ? LLVMAssemblyFile : LLVMObjectFile, &msg,
	                                        &buf)) {
		ir_errorf(e, "codegen: internal error: cannot emit %s: %s", path, msg ? msg : "?");
		LLVMDisposeMessage(msg);
		return -1;
	}
	int rc = cg_write_atomic(path, LLVMGetBufferStart(buf), LLVMGetBufferSize(buf), e);
	LLVMDisposeMemoryBuffer(buf);
	return rc;
}

/* Emit every entry into one module, as k at path (see codegen.h). */
/* Tell the caller, when it asked, what codegen starts next. */
static void phase(const CgOptions *o, const char *what)
{
	if (o->phase)
		o->phase(what);
}

int cg_emit_entries(const CgEntry *es, int n, const CgOptions *o, EmitKind k, const char *path, Err *e)
{
	if (cg_check_table(e))
		return -1;
	if (k == EMIT_EXE)
		return ir_errorf(e, "codegen: EMIT_EXE is the driver's: emit an object and link it");
	if (n < 1)
		return ir_errorf(e, "codegen: no entry to emit");
	CgOptions def = {.opt_level = 3};
	if (!o)
		o = &def;
	int opt = o->opt_level < 0 ? 0 : o->opt_level > 3 ? 3 : o->opt_level;
	CgTarget target;
	if (cg_target(o, &target, e))
		return -1;
	const Graph *g = es[0].g;
	Cg c = {.g = g, .p = es[0].p, .e = e};
	c.cpu = target.cpu;
	c.features = target.features;
	c.ctx = LLVMContextCreate();
	c.mod = LLVMModuleCreateWithNameInContext(g->name ? g->name : "model", c.ctx);
	c.b = LLVMCreateBuilderInContext(c.ctx);
	c.ab = LLVMCreateBuilderInContext(c.ctx);
	c.consts.arena = c.kernels.arena = &c.arena;
	LLVMTargetMachineRef tm = target_machine(&c, opt, e);
	c.avx512 = tm && probe_avx512(tm);
	c.tgt = kern_target(c.avx512);
	char what[64];
	snprintf(what, sizeof what, "optimising (LLVM -O%d)", opt);
	int rc = !tm || (phase(o, "generating LLVM IR"), build(&c, es, n)) || verify(&c, e);
	if (!rc && o->dump_ll) {
		char *s = LLVMPrintModuleToString(c.mod);
		rc = cg_write_atomic(o->dump_ll, s, strlen(s), e);
		LLVMDisposeMessage(s);
	}
	if (!rc && k == EMIT_OBJ)
		rc = (phase(o, what), cg_emit_object(&c, tm, opt, path, e));
	else if (!rc)
		rc = (phase(o, what), optimise(&c, tm, opt, e)) ||
		     (phase(o, "generating machine code"), cg_write_module(&c, tm, k, path, e));
	if (tm)
		LLVMDisposeTargetMachine(tm);
	LLVMDisposeBuilder(c.b);
	LLVMDisposeBuilder(c.ab);
	LLVMDisposeModule(c.mod);
	LLVMContextDispose(c.ctx);
	ir_arena_free(&c.arena);
	cg_target_free(&target);
	return rc ? -1 : 0;
}

/* Does nd get a kernel of its own in entry arg (a Cg with its graph and plan)? */
static int needs_kernel(const Graph *g, const Node *nd, void *arg)
{
	(void)g;
	return cg_needs_kernel(arg, nd);
}

int cg_print_kernels(const CgEntry *es, int n, const CgOptions *o, FILE *f, Err *e)
{
	CgTarget target;
	if (cg_target(o, &target, e))
		return -1;
	Cg tc = {.cpu = target.cpu, .features = target.features};
	tc.ctx = LLVMContextCreate();
	tc.mod = LLVMModuleCreateWithNameInContext("probe", tc.ctx);
	LLVMTargetMachineRef tm = target_machine(&tc, 3, e);
	Target t = kern_target(tm && probe_avx512(tm));
	if (tm)
		LLVMDisposeTargetMachine(tm);
	LLVMDisposeModule(tc.mod);
	LLVMContextDispose(tc.ctx);
	if (!tm) {
		cg_target_free(&target);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		Cg c = {.g = es[i].g, .p = es[i].p, .e = e};
		for (int j = 0; j < es[i].g->nnodes; j++) {
			const Node *nd = es[i].g->nodes[j];
			Sched s = kern_schedule(es[i].g, nd, &t);
			if (cg_needs_kernel(&c, nd) && kern_verify(es[i].g, nd, &s, e)) {
				cg_target_free(&target);
				return -1;
			}
		}
		kern_print(es[i].g, &t, es[i].name, needs_kernel, &c, f);
	}
	cg_target_free(&target);
	return 0;
}

/* Emit g with plan p as the one entry o->entry (default predict). */
int cg_emit(const Graph *g, const Plan *p, const CgOptions *o, EmitKind k, const char *path, Err *e)
{
	const char *name = o && o->entry ? o->entry : "predict";
	if (!strncmp(name, "lunac_", 6))
		name += 6;
	CgEntry en = {name, g, p};
	return cg_emit_entries(&en, 1, o, k, path, e);
}
