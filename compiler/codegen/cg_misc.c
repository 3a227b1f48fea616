/*
** cg_misc.c -- constants, concat, slice, reshape (a copy unless the planner
** put it on its operand), dropout (a copy when off; Philox masks through the
** runtime's rt_uniform when train or mc), and assign (the write-back of a
** parameter, buffer or state).
*/
#include "cg.h"

#include <stddef.h>
#include <stdio.h>

#include "../../runtime/lunac_rt.h"

/* A new private global "<entry>.const.ID" with nd's k values. */
static LLVMValueRef const_global(Cg *c, const Node *nd, int64_t k)
{
	LLVMValueRef *v = ir_alloc(&c->arena, (size_t)(k ? k : 1) * sizeof *v);
	for (int64_t i = 0; i < k; i++)
		v[i] = cf(c, nd->a.data[i]);
	LLVMValueRef init = LLVMConstArray2(c->f32, v, (uint64_t)k);
	char name[96];
	snprintf(name, sizeof name, "%s.const.%d", c->prefix, nd->id);
	LLVMValueRef gv = LLVMAddGlobal(c->mod, LLVMTypeOf(init), name);
	LLVMSetInitializer(gv, init);
	LLVMSetGlobalConstant(gv, 1);
	LLVMSetLinkage(gv, LLVMPrivateLinkage);
	LLVMSetUnnamedAddress(gv, LLVMGlobalUnnamedAddr);
	LLVMSetAlignment(gv, 64);
	return gv;
}

/* A private constant global holding every CONST node's values, so kernels
** can copy or read them; created before any kernel. Equal values (bit for
** bit, in any entry) share one global, named after the first node. */
void cg_const_globals(Cg *c)
{
	for (int id = 0; id < c->g->nnodes; id++) {
		const Node *nd = c->g->nodes[id];
		if (nd->op != OP_CONST || nd->dead || !nd->a.data)
			continue;
		int64_t k = ir_numel(&nd->shape, 1);
		size_t len = (size_t)k * sizeof *nd->a.data;
		ConstGlobal *cgv = map_get(&c->consts, nd->a.data, len);
		if (!cgv) {
			cgv = ir_alloc(&c->arena, sizeof *cgv);
			cgv->gv = const_global(c, nd, k);
			cgv->num = ++c->nconst;
			map_put(&c->consts, nd->a.data, len, cgv);
		}
		c->constg[id] = cgv->gv;
		c->constn[id] = cgv->num;
	}
}

/* Bytes of node id's value for the kernel's n. */
static LLVMValueRef bytes(Cg *c, int id)
{
	const Shape *s = &c->g->nodes[id]->shape;
	return imul(c, dimsv(c, s, 0, s->rank), ci(c, 4));
}

/* A constant with storage of its own: copy its values into the arena. */
int cg_const(Cg *c, const Node *nd)
{
	if (!c->constg[nd->id])
		return cg_fail(c, nd, "constant without values");
	LLVMBuildMemCpy(c->b, base(c, nd->id), 4, c->constg[nd->id], 64, bytes(c, nd->id));
	return 0;
}

/* y = x, bit for bit (memmove: the planner may overlap them). */
int cg_copy(Cg *c, const Node *nd)
{
	LLVMBuildMemMove(c->b, base(c, nd->id), 4, base(c, nd->in[0]), 4, bytes(c, nd->id));
	return 0;
}

/* Join the operands along axis: for each outer index, each operand's slab
** of d[axis] * inner elements in turn. Copies 4-byte words. */
int cg_concat(Cg *c, const Node *nd)
{
	const Shape *s = &nd->shape;
	int ax = nd->a.axis < 0 ? nd->a.axis + s->rank : nd->a.axis;
	if (ax < 0 || ax >= s->rank)
		return cg_fail(c, nd, "axis %d out of range", nd->a.axis);
	LLVMValueRef outer = dimsv(c, s, 0, ax), inner = dimsv(c, s, ax + 1, s->rank);
	LLVMValueRef yrow = imul(c, dimv(c, s, ax), inner), pos = ci(c, 0), y = base(c, nd->id);
	for (int k = 0; k < nd->nin; k++) {
		LLVMValueRef x = base(c, nd->in[k]);
		LLVMValueRef slab = imul(c, dimv(c, &c->g->nodes[nd->in[k]]->shape, ax), inner);
		Loop lo, lj;
		loop_open(c, &lo, ci(c, 0), outer);
		LLVMValueRef yat = iadd(c, imul(c, lo.i, yrow), pos), xat = imul(c, lo.i, slab);
		loop_open(c, &lj, ci(c, 0), slab);
		st(c, y, iadd(c, yat, lj.i), ld(c, x, iadd(c, xat, lj.i)));
		loop_close(c, &lj);
		loop_close(c, &lo);
		pos = iadd(c, pos, slab);
	}
	return 0;
}

/* slice: for each index of the dims before axis, the slab of T[axis] *
** inner elements starting at start * inner in x's slab. */
int cg_slice(Cg *c, const Node *nd)
{
	const Shape *s = &nd->shape, *xs = &c->g->nodes[nd->in[0]]->shape;
	int ax = nd->a.axis;
	if (ax < 0 || ax >= s->rank || xs->rank != s->rank)
		return cg_fail(c, nd, "axis %d out of range", ax);
	LLVMValueRef outer = dimsv(c, s, 0, ax), inner = dimsv(c, s, ax + 1, s->rank);
	LLVMValueRef slab = imul(c, ci(c, s->d[ax]), inner), xslab = imul(c, ci(c, xs->d[ax]), inner);
	LLVMValueRef from = imul(c, ci(c, nd->a.start), inner), x = base(c, nd->in[0]), y = base(c, nd->id);
	Loop lo, lj;
	loop_open(c, &lo, ci(c, 0), outer);
	LLVMValueRef yat = imul(c, lo.i, slab), xat = iadd(c, imul(c, lo.i, xslab), from);
	loop_open(c, &lj, ci(c, 0), slab);
	st(c, y, iadd(c, yat, lj.i), ld(c, x, iadd(c, xat, lj.i)));
	loop_close(c, &lj);
	loop_close(c, &lo);
	return 0;
}

/* assign (dst, value): copy value into dst's storage now. The assign has no
** storage of its own: its home is dst (storage.c), so later readers of the
** assign see the new value. */
int cg_assign(Cg *c, const Node *nd)
{
	LLVMBuildMemMove(c->b, base(c, nd->in[0]), 4, base(c, nd->in[1]), 4, bytes(c, nd->in[1]));
	return 0;
}

/* The i64 field at byte offset off of the RtCtx argument. */
static LLVMValueRef ctx_u64(Cg *c, int64_t off)
{
	LLVMValueRef at = ci(c, off);
	LLVMValueRef p = LLVMBuildInBoundsGEP2(c->b, LLVMInt8TypeInContext(c->ctx), c->rtctx, &at, 1, "");
	return LLVMBuildLoad2(c->b, c->i64, p, "");
}

/* rt_uniform(seed, step, stream, idx) (runtime/rng.c: Philox-4x32-10) as
** straight-line integer arithmetic, the same bits as the runtime's, so a
** dropout loop vectorises instead of calling the runtime per element. */
static LLVMValueRef philox_uniform(Cg *c, LLVMValueRef seed, LLVMValueRef step, LLVMValueRef stream, LLVMValueRef idx)
{
	LLVMBuilderRef b = c->b;
	LLVMValueRef s32 = LLVMConstInt(c->i64, 32, 0);
#define LO(v) LLVMBuildTrunc(b, v, c->i32, "")
#define HI(v) LLVMBuildTrunc(b, LLVMBuildLShr(b, v, s32, ""), c->i32, "")
#define U32(k) LLVMConstInt(c->i32, k, 0)
	LLVMValueRef x[4] = {LO(idx), HI(idx), LO(stream), LO(step)};
	LLVMValueRef k0 = LO(seed), k1 = LLVMBuildXor(b, HI(seed), HI(step), "");
	for (int r = 0; r < 10; r++) {
		LLVMValueRef p0 = LLVMBuildMul(b, LLVMBuildZExt(b, x[0], c->i64, ""), LLVMConstInt(c->i64, 0xD2511F53u, 0), "");
		LLVMValueRef p1 = LLVMBuildMul(b, LLVMBuildZExt(b, x[2], c->i64, ""), LLVMConstInt(c->i64, 0xCD9E8D57u, 0), "");
		LLVMValueRef n0 = LLVMBuildXor(b, LLVMBuildXor(b, HI(p1), x[1], ""), k0, "");
		LLVMValueRef n2 = LLVMBuildXor(b, LLVMBuildXor(b, HI(p0), x[3], ""), k1, "");
		x[0] = n0, x[1] = LO(p1), x[2] = n2, x[3] = LO(p0);
		k0 = LLVMBuildAdd(b, k0, U32(0x9E3779B9u), "");
		k1 = LLVMBuildAdd(b, k1, U32(0xBB67AE85u), "");
	}
	LLVMValueRef u = LLVMBuildUIToFP(b, LLVMBuildLShr(b, x[0], U32(8), ""), c->f32, "");
#undef LO
#undef HI
#undef U32
	return f_mul(c, u, cf(c, 1.0f / 16777216.0f));
}

/* A dropout's elements (RangeFn): parameter 0 per sample (in all when not
** batched), each weighing 16 element copies. */
static int dropout_range(Cg *c, const void *arg, LLVMValueRef *total, LLVMValueRef *inner)
{
	const Node *nd = arg;
	*total = cg_param(c, 0);
	if (ir_batched(&nd->shape))
		*total = imul(c, *total, c->n);
	*inner = ci(c, 16);
	return 0;
}

/* mode=off: a copy; train / mc: y[i] = x[i] / (1-p) (a division, as the
** interpreter's) where rt_uniform(seed,
** step, stream, i) >= p, else 0, with seed and step read from the RtCtx;
** the element count and the stream are kernel parameters (cg_sizes). */
int cg_dropout(Cg *c, const Node *nd)
{
	if (nd->a.mode == MODE_OFF)
		return cg_copy(c, nd);
	if (nd->a.mode != MODE_TRAIN && nd->a.mode != MODE_MC)
		return cg_fail(c, nd, "mode=%s, expected off, train or mc", ir_mode_name(nd->a.mode));
	float p = nd->a.p;
	Par par;
	LLVMValueRef lo, hi;
	/* a uniform costs tens of element copies: chunks of about 1K elements */
	int split = par_range_fn(c, &par, dropout_range, nd, &lo, &hi);
	LLVMValueRef x = base(c, nd->in[0]), y = base(c, nd->id);
	LLVMValueRef seed = ctx_u64(c, offsetof(RtCtx, seed)), step = ctx_u64(c, offsetof(RtCtx, step));
	Loop l;
	loop_open(c, &l, lo, hi);
	LLVMValueRef u = philox_uniform(c, seed, step, cg_param(c, 1), l.i);
	LLVMValueRef keep = LLVMBuildFCmp(c->b, LLVMRealOGE, u, cf(c, p), "");
	LLVMValueRef v = f_div(c, ld(c, x, l.i), cf(c, 1.0f - p));
	st(c, y, l.i, LLVMBuildSelect(c->b, keep, v, cf(c, 0), ""));
	loop_close(c, &l);
	if (split)
		par_close(c, &par);
	return 0;
}
