/*
** split.c -- a big module's object code compiled as parts, in parallel.
**
** Optimising and selecting instructions is most of a build, and it is per
** function: kernels call each other only through the GEMM functions and
** the pool (by pointer), so a module splits into parts that compile
** independently. The functions are dealt to one part per PART_INSNS
** instructions, at most PARTS, by size (greedy, in module order, so the
** split depends on the module only); internal
** functions become hidden externals so that a part can call what another
** defines; the module goes through bitcode once, and each part parses it
** in a context of its own, replaces the functions other parts define by
** declarations, drops what it no longer uses, and is optimised and
** compiled by the next free thread (as many threads as CPUs, at most one
** per part).
** The part objects are joined into one by a relocatable link (`cc -r`).
** The number of parts never depends on the machine, so neither does the
** object: the same module gives the same bytes on 1 CPU or 16.
*/
#include "cg.h"

#include <errno.h>
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <llvm-c/BitReader.h>
#include <llvm-c/BitWriter.h>

extern char **environ;

/* The most parts, and the instructions per part below which a module is
** not split (the small models of the tests stay one part). */
#define PARTS 8
#define PART_INSNS 5000

/* One part's job and result. */
typedef struct Part {
	const char *bc;                     /* the module's bitcode (shared, read only) */
	size_t bclen;
	const unsigned char *owner;         /* defined function i (module order) -> its part */
	int nfn;                            /* functions in the module before any change */
	int part;
	const char *triple, *cpu, *features;
	LLVMCodeGenOptLevel lv;
	int opt;
	LLVMMemoryBufferRef out;            /* the part's object */
	char *err;                          /* malloc'ed, on failure */
} Part;

/* Instructions in f's body. */
static long insns(LLVMValueRef f)
{
	long n = 0;
	for (LLVMBasicBlockRef b = LLVMGetFirstBasicBlock(f); b; b = LLVMGetNextBasicBlock(b))
		for (LLVMValueRef i = LLVMGetFirstInstruction(b); i; i = LLVMGetNextInstruction(i))
			n++;
	return n;
}

/* Deal m's defined functions to parts, each to the lightest part so far;
** owner[i] is function i's part (0 for declarations). Returns how many
** parts there are: 1 when the module is small. */
static int deal(LLVMModuleRef m, unsigned char *owner, int nfn)
{
	long load[PARTS] = {0}, total = 0;
	LLVMValueRef f = LLVMGetFirstFunction(m);
	for (int i = 0; i < nfn; i++, f = LLVMGetNextFunction(f))
		total += LLVMIsDeclaration(f) ? 0 : insns(f);
	int np = (int)(total / PART_INSNS) + 1;
	np = np > PARTS ? PARTS : np;
	f = LLVMGetFirstFunction(m);
	for (int i = 0; i < nfn; i++, f = LLVMGetNextFunction(f)) {
		owner[i] = 0;
		if (LLVMIsDeclaration(f))
			continue;
		for (int p = 1; p < np; p++)
			if (load[p] < load[owner[i]])
				owner[i] = (unsigned char)p;
		load[owner[i]] += insns(f);
	}
	return np;
}

/* Make every internal function a hidden external, callable across parts. */
static void open_up(LLVMModuleRef m)
{
	for (LLVMValueRef f = LLVMGetFirstFunction(m); f; f = LLVMGetNextFunction(f)) {
		LLVMLinkage l = LLVMGetLinkage(f);
		if (!LLVMIsDeclaration(f) && (l == LLVMInternalLinkage || l == LLVMPrivateLinkage)) {
			LLVMSetLinkage(f, LLVMExternalLinkage);
			LLVMSetVisibility(f, LLVMHiddenVisibility);
		}
	}
}

/* Keep only part p's functions in m: another part's function becomes a
** declaration of the same name and visibility (or goes, when nothing here
** calls it); then the globals nothing uses any more go
** (the descriptor globals stay in part 0 only). */
static void prune(Part *pt, LLVMModuleRef m)
{
	LLVMValueRef f = LLVMGetFirstFunction(m), next;
	for (int i = 0; i < pt->nfn; i++, f = next) {
		next = LLVMGetNextFunction(f);
		if (LLVMIsDeclaration(f) || pt->owner[i] == pt->part)
			continue;
		if (!LLVMGetFirstUse(f)) {   /* an unused declaration could still narrow the symbol's visibility */
			LLVMDeleteFunction(f);
			continue;
		}
		size_t len;
		const char *name = LLVMGetValueName2(f, &len);
		char *keep = strndup(name, len);
		LLVMVisibility vis = LLVMGetVisibility(f);
		LLVMValueRef d = LLVMAddFunction(m, "", LLVMGlobalGetValueType(f));
		LLVMReplaceAllUsesWith(f, d);
		LLVMDeleteFunction(f);
		LLVMSetValueName2(d, keep, len);
		LLVMSetVisibility(d, vis);
		free(keep);
	}
	LLVMValueRef g = LLVMGetFirstGlobal(m), gn;
	for (; g; g = gn) {
		gn = LLVMGetNextGlobal(g);
		LLVMLinkage l = LLVMGetLinkage(g);
		int local = l == LLVMInternalLinkage || l == LLVMPrivateLinkage;
		if (!LLVMGetFirstUse(g) && (local || pt->part != 0))
			LLVMDeleteGlobal(g);
	}
}

/* Compile part pt->part: parse, prune, optimise, emit (on its own thread). */
static void compile_part(Part *pt)
{
	LLVMContextRef ctx = LLVMContextCreate();
	LLVMMemoryBufferRef in = LLVMCreateMemoryBufferWithMemoryRange(pt->bc, pt->bclen, "module", 0);
	LLVMModuleRef m = NULL;
	LLVMTargetRef t;
	char *msg = NULL;
	if (LLVMParseBitcodeInContext2(ctx, in, &m)) {
		pt->err = strdup("cannot read back the module's bitcode");
	} else if (LLVMGetTargetFromTriple(pt->triple, &t, &msg)) {
		pt->err = msg ? strdup(msg) : strdup("no target");
	} else {
		prune(pt, m);
		LLVMTargetMachineRef tm = LLVMCreateTargetMachine(t, pt->triple, pt->cpu, pt->features, pt->lv,
		                                                  LLVMRelocPIC, LLVMCodeModelDefault);
		if (!tm)
			pt->err = strdup("cannot create the target machine");
		else if (!(pt->err = cg_run_passes(m, tm, pt->opt)) &&
		         LLVMTargetMachineEmitToMemoryBuffer(tm, m, LLVMObjectFile, &msg, &pt->out)) {
			pt->err = strdup(msg ? msg : "cannot emit the object");
			pt->out = NULL;
		}
		if (tm)
			LLVMDisposeTargetMachine(tm);
	}
	LLVMDisposeMessage(msg);
	LLVMDisposeMemoryBuffer(in);
	if (m)
		LLVMDisposeModule(m);
	LLVMContextDispose(ctx);
}

/* The parts, handed out one at a time to the threads that compile them. */
typedef struct Queue {
	Part *parts;
	int n, next;
	pthread_mutex_t mu;
} Queue;

/* A thread: compile the next part not taken until none is left. */
static void *work(void *arg)
{
	Queue *q = arg;
	for (;;) {
		pthread_mutex_lock(&q->mu);
		int p = q->next < q->n ? q->next++ : -1;
		pthread_mutex_unlock(&q->mu);
		if (p < 0)
			return NULL;
		compile_part(&q->parts[p]);
	}
}

/* Run argv (argv[0] found on PATH) and wait; 0 when it exits with 0. */
static int run(char *const argv[])
{
	pid_t pid;
	int st;
	if (posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ))
		return -1;
	if (waitpid(pid, &st, 0) < 0 || !WIFEXITED(st) || WEXITSTATUS(st))
		return -1;
	return 0;
}

/* Write the parts' objects next to path and join them into path with
** `$CC -r` (through a temporary, renamed at the end). */
static int join(Part *parts, int np, const char *path, Err *e)
{
	size_t pl = strlen(path) + 32;
	char *names[PARTS] = {0}, *tmp = malloc(pl);
	int rc = tmp ? 0 : ir_errorf(e, "codegen: out of memory");
	for (int p = 0; p < np && !rc; p++) {
		if (!(names[p] = malloc(pl)))
			rc = ir_errorf(e, "codegen: out of memory");
		else if (snprintf(names[p], pl, "%s.part%d", path, p),
		         cg_write_atomic(names[p], LLVMGetBufferStart(parts[p].out), LLVMGetBufferSize(parts[p].out), e)) {
			free(names[p]);
			names[p] = NULL;
			rc = -1;
		}
	}
	if (!rc) {
		snprintf(tmp, pl, "%s.tmp%d", path, (int)getpid());
		const char *cc = getenv("CC") ? getenv("CC") : "cc";
		char *argv[PARTS + 6] = {(char *)cc, "-r", "-nostdlib", "-o", tmp};
		for (int p = 0; p < np; p++)
			argv[5 + p] = names[p];
		if (run(argv))
			rc = ir_errorf(e, "%s: joining the %d parts of the object with `%s -r` failed", path, np, cc);
		else if (rename(tmp, path))
			rc = ir_errorf(e, "%s: cannot write: %s", path, strerror(errno));
		if (rc)
			unlink(tmp);
	}
	for (int p = 0; p < np; p++)
		if (names[p]) {
			unlink(names[p]);
			free(names[p]);
		}
	free(tmp);
	return rc;
}

int cg_emit_object(Cg *c, LLVMTargetMachineRef tm, int opt, const char *path, Err *e)
{
	int nfn = 0;
	for (LLVMValueRef f = LLVMGetFirstFunction(c->mod); f; f = LLVMGetNextFunction(f))
		nfn++;
	unsigned char *owner = ir_alloc(&c->arena, (size_t)nfn + 1);
	int np = deal(c->mod, owner, nfn);
	if (np == 1) {
		char *msg = cg_run_passes(c->mod, tm, opt);
		if (msg) {
			ir_errorf(e, "codegen: internal error: %s", msg);
			free(msg);
			return -1;
		}
		return cg_write_module(c, tm, EMIT_OBJ, path, e);
	}
	open_up(c->mod);
	LLVMMemoryBufferRef bc = LLVMWriteBitcodeToMemoryBuffer(c->mod);
	char *triple = LLVMGetTargetMachineTriple(tm);
	LLVMCodeGenOptLevel lv = opt <= 0 ? LLVMCodeGenLevelNone : opt == 1 ? LLVMCodeGenLevelLess
	                       : opt == 2 ? LLVMCodeGenLevelDefault : LLVMCodeGenLevelAggressive;
	Part parts[PARTS];
	for (int p = 0; p < np; p++)
		parts[p] = (Part){LLVMGetBufferStart(bc), LLVMGetBufferSize(bc), owner, nfn, p, triple, c->cpu,
		                  c->features, lv, opt, NULL, NULL};
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int nt = cpus < 1 ? 1 : cpus < np ? (int)cpus : np, started = 0;
	Queue q = {parts, np, 0, PTHREAD_MUTEX_INITIALIZER};
	pthread_t th[PARTS];
	while (started < nt - 1 && !pthread_create(&th[started], NULL, work, &q))
		started++;
	work(&q);   /* this thread too */
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	int rc = 0;
	for (int p = 0; p < np && !rc; p++)
		if (parts[p].err)
			rc = ir_errorf(e, "codegen: internal error: part %d of %s: %s", p, path, parts[p].err);
	if (!rc)
		rc = join(parts, np, path, e);
	for (int p = 0; p < np; p++) {
		free(parts[p].err);
		if (parts[p].out)
			LLVMDisposeMemoryBuffer(parts[p].out);
	}
	LLVMDisposeMessage(triple);
	LLVMDisposeMemoryBuffer(bc);
	return rc;
}
