/*
** par.c -- parallel loops: a kernel hands its chunks to the runtime's pool
** (lunac_rt.h, rt_parallel_for) as a task function.
**
** The kernel stores its slot pointers, n and the RtCtx pointer in an
** environment struct on its stack and calls rt_parallel_for with the task
** `<kernel>.task(ptr env, i64 chunk, ptr scratch)`. The task reloads them
** from env, so an emitter writes the task's body with the same base(),
** c->n and c->rtctx as a serial kernel's, and with the chunk index and
** its scratch from the Par. How a loop splits into chunks is the
** emitter's: the count must not depend on the thread count, and every
** chunk must own its outputs, so results are the same at any thread count.
*/
#include "cg.h"

#include <stdio.h>

/* The environment struct {ptr slot..., i64 n, ptr ctx, ptr params} of c's kernel. */
static LLVMTypeRef env_type(Cg *c)
{
	LLVMTypeRef f[IR_MAXIN + 4];
	for (int i = 0; i < c->nslot; i++)
		f[i] = c->ptr;
	f[c->nslot] = c->i64;
	f[c->nslot + 1] = c->ptr;
	f[c->nslot + 2] = c->ptr;
	return LLVMStructTypeInContext(c->ctx, f, (unsigned)c->nslot + 3, 0);
}

/* Declare (once) `void rt_parallel_for(ptr ctx, ptr task, ptr env, i64, i64)`. */
static LLVMValueRef parallel_for(Cg *c, LLVMTypeRef *ty)
{
	LLVMTypeRef pt[5] = {c->ptr, c->ptr, c->ptr, c->i64, c->i64};
	*ty = LLVMFunctionType(c->voidt, pt, 5, 0);
	LLVMValueRef f = LLVMGetNamedFunction(c->mod, "rt_parallel_for");
	return f ? f : LLVMAddFunction(c->mod, "rt_parallel_for", *ty);
}

FnPos cg_fn_begin(Cg *c, LLVMValueRef f)
{
	FnPos was = {c->fn, c->allocas, LLVMGetInsertBlock(c->b)};
	c->fn = f;
	c->allocas = LLVMAppendBasicBlockInContext(c->ctx, f, "entry");
	LLVMPositionBuilderAtEnd(c->ab, c->allocas);
	LLVMPositionBuilderAtEnd(c->b, LLVMAppendBasicBlockInContext(c->ctx, f, "body"));
	return was;
}

void cg_fn_end(Cg *c, FnPos was)
{
	LLVMBuildRetVoid(c->b);
	LLVMPositionBuilderAtEnd(c->b, c->allocas);
	LLVMBuildBr(c->b, LLVMGetNextBasicBlock(c->allocas));
	c->fn = was.fn;
	c->allocas = was.allocas;
	LLVMPositionBuilderAtEnd(c->ab, c->allocas);
	LLVMPositionBuilderAtEnd(c->b, was.at);
}

void par_open(Cg *c, Par *p, LLVMValueRef nchunks, int64_t scratch_bytes)
{
	LLVMTypeRef et = env_type(c);
	LLVMValueRef env = LLVMBuildAlloca(c->ab, et, "env");
	for (int i = 0; i <= c->nslot + 2; i++) {
		LLVMValueRef v = i < c->nslot ? c->slotp[i] : i == c->nslot ? c->n : i == c->nslot + 1 ? c->rtctx : c->params;
		LLVMBuildStore(c->b, v, LLVMBuildStructGEP2(c->b, et, env, (unsigned)i, ""));
	}
	/* the task */
	size_t len;
	char name[192];
	snprintf(name, sizeof name, "%s.task", LLVMGetValueName2(c->fn, &len));
	LLVMTypeRef tp[3] = {c->ptr, c->i64, c->ptr};
	LLVMValueRef task = LLVMAddFunction(c->mod, name, LLVMFunctionType(c->voidt, tp, 3, 0));
	LLVMSetLinkage(task, LLVMInternalLinkage);
	cg_fn_attrs(c, task);
	LLVMTypeRef pty;
	LLVMValueRef pf = parallel_for(c, &pty);
	LLVMValueRef args[5] = {c->rtctx, task, env, nchunks, ci(c, scratch_bytes)};
	LLVMBuildCall2(c->b, pty, pf, args, 5, "");
	/* save the kernel's state, and switch to the task */
	for (int i = 0; i < c->nslot; i++)
		p->kslotp[i] = c->slotp[i];
	p->kn = c->n;
	p->kctx = c->rtctx;
	p->kparams = c->params;
	p->k = cg_fn_begin(c, task);
	LLVMValueRef tenv = LLVMGetParam(task, 0);
	for (int i = 0; i <= c->nslot + 2; i++) {
		LLVMTypeRef ft = i == c->nslot ? c->i64 : c->ptr;
		LLVMValueRef v = LLVMBuildLoad2(c->b, ft, LLVMBuildStructGEP2(c->b, et, tenv, (unsigned)i, ""), "");
		if (i < c->nslot)
			c->slotp[i] = v;
		else if (i == c->nslot)
			c->n = v;
		else if (i == c->nslot + 1)
			c->rtctx = v;
		else
			c->params = v;
	}
	p->chunk = LLVMGetParam(task, 1);
	p->scratch = LLVMGetParam(task, 2);
}

void par_close(Cg *c, Par *p)
{
	cg_fn_end(c, p->k);
	for (int i = 0; i < c->nslot; i++)
		c->slotp[i] = p->kslotp[i];
	c->n = p->kn;
	c->rtctx = p->kctx;
	c->params = p->kparams;
}

/* Elements a chunk of a streaming loop should cover: enough that the
** pool's hand-off (a few microseconds) is small beside the work. */
#define GRAIN KERN_GRAIN

/* Iterations per chunk: GRAIN elements' worth, at least 1, for iterations
** of inner elements each (times n when inner_batched). */
static LLVMValueRef grain(Cg *c, LLVMValueRef inner, int inner_batched)
{
	LLVMValueRef k = imax(c, inner, ci(c, 1));
	if (inner_batched)
		k = imul(c, k, c->n);
	return imax(c, ci(c, 1), LLVMBuildUDiv(c->b, ci(c, GRAIN), k, ""));
}

int par_range_fn(Cg *c, Par *p, RangeFn f, const void *arg, LLVMValueRef *lo, LLVMValueRef *hi)
{
	LLVMValueRef total, inner;
	int inner_batched = f(c, arg, &total, &inner);
	if (c->sched.split == SPLIT_NONE) {   /* the schedule's call (kernel/schedule.c) */
		*lo = ci(c, 0);
		*hi = total;
		return 0;
	}
	LLVMValueRef g = grain(c, inner, inner_batched);
	par_open(c, p, LLVMBuildUDiv(c->b, iadd(c, total, isub(c, g, ci(c, 1))), g, ""), 0);
	inner_batched = f(c, arg, &total, &inner);   /* again, in the task */
	g = grain(c, inner, inner_batched);
	*lo = imul(c, p->chunk, g);
	*hi = imin(c, total, iadd(c, *lo, g));
	return 1;
}

/* par_range's sizes, known at compile time. */
typedef struct Fixed {
	int64_t d, inner;
	int batched, inner_batched;
} Fixed;

static int fixed_range(Cg *c, const void *arg, LLVMValueRef *total, LLVMValueRef *inner)
{
	const Fixed *r = arg;
	*total = r->batched ? imul(c, ci(c, r->d), c->n) : ci(c, r->d);
	*inner = ci(c, r->inner);
	return r->inner_batched;
}

int par_range(Cg *c, Par *p, int64_t d, int batched, int64_t inner, int inner_batched, LLVMValueRef *lo,
              LLVMValueRef *hi)
{
	Fixed r = {d, inner, batched, inner_batched};
	return par_range_fn(c, p, fixed_range, &r, lo, hi);
}
