/*
** storage.c -- where values live, as kernels see them.
**
** A kernel takes one pointer argument per distinct storage it touches (its
** result and its operands, "slots"), then n and the RtCtx pointer. The entry
** point computes each address (arena + plan_addr). Offsets are known at
** compile time, so overlap between two values is decided exactly: a slot
** whose bytes overlap no other slot's is marked noalias, which is what lets
** LLVM vectorise loops that read one tensor and write another of the same
** arena. Values at the same address (a copy the planner aliased, an
** in-place result) share one slot. An assign has no storage of its own
** (off < 0): its home is its destination's.
*/
#include "cg.h"

/* Is nd a pure copy of its operand (reshape, dropout off)? */
int cg_is_copy(const Node *nd)
{
	return nd->op == OP_RESHAPE || (nd->op == OP_DROPOUT && nd->a.mode == MODE_OFF);
}

/* The node whose storage holds id's value: id itself, or, for a copy the
** planner gave no storage of its own (off < 0), its operand's home; for an
** assign, its destination's home. */
int cg_holder(const Graph *g, const Plan *p, int id)
{
	while (p->off[id] < 0 && (cg_is_copy(g->nodes[id]) || g->nodes[id]->op == OP_ASSIGN))
		id = g->nodes[id]->in[0];
	return id;
}

/* cg_holder for the graph and plan being emitted. */
int cg_home(const Cg *c, int id)
{
	return cg_holder(c->g, c->p, id);
}

/* Is id a constant read in place from its global (no arena storage)? */
static int const_in_place(const Cg *c, int id)
{
	return c->p->off[id] < 0 && c->g->nodes[id]->op == OP_CONST;
}

/* Do a and b (homes) start at the same address for every n? */
static int same_addr(const Cg *c, int a, int b)
{
	const Node *na = c->g->nodes[a], *nb = c->g->nodes[b];
	return a == b || (ir_batched(&na->shape) == ir_batched(&nb->shape) && c->p->off[a] == c->p->off[b]);
}

/* Do ids a and b have the same storage? */
int cg_same_storage(const Cg *c, int a, int b)
{
	a = cg_home(c, a);
	b = cg_home(c, b);
	return a == b || (c->p->off[a] >= 0 && c->p->off[b] >= 0 && same_addr(c, a, b));
}

/* Do the bytes of homes a and b intersect for some n? Batched and
** non-batched values live in disjoint regions; within a region the ranges
** scale with n together, so comparing per-sample ranges decides it. */
static int overlaps(const Cg *c, int a, int b)
{
	const Node *na = c->g->nodes[a], *nb = c->g->nodes[b];
	if (ir_batched(&na->shape) != ir_batched(&nb->shape))
		return 0;
	int64_t a0 = c->p->off[a], a1 = a0 + ir_numel(&na->shape, 1) * 4;
	int64_t b0 = c->p->off[b], b1 = b0 + ir_numel(&nb->shape, 1) * 4;
	return a0 < b1 && b0 < a1;
}

/* Collect the distinct storages of nd's result and operands into c->slot,
** in first-use order (result first); constants read in place are skipped. */
int cg_slots(Cg *c, const Node *nd)
{
	c->nslot = 0;
	for (int k = -1; k < nd->nin; k++) {
		int h = cg_home(c, k < 0 ? nd->id : nd->in[k]), dup = 0;
		if (const_in_place(c, h))
			continue;
		for (int s = 0; s < c->nslot && !dup; s++)
			dup = same_addr(c, c->slot[s], h);
		if (!dup)
			c->slot[c->nslot++] = h;
	}
	return c->nslot;
}

/* May slot k be noalias (its bytes overlap no other slot's)? */
int cg_slot_noalias(const Cg *c, int k)
{
	for (int s = 0; s < c->nslot; s++)
		if (s != k && overlaps(c, c->slot[s], c->slot[k]))
			return 0;
	return 1;
}

/* Is s a value the runtime provides that w's kernel must not write over:
** a parameter, buffer or state (loaded once, read by every call; only an
** assign to it may write it), or an input that a later node still reads
** (an input numbered after the writer is live from the start of the call)? */
static int protected(const Cg *c, const Node *wn, const Node *sn)
{
	if (sn->dead || c->p->off[sn->id] < 0)
		return 0;
	if (sn->op == OP_INPUT)
		return sn->id > wn->id;
	if (sn->op != OP_PARAM && sn->op != OP_BUFFER && sn->op != OP_STATE)
		return 0;
	return !(wn->op == OP_ASSIGN && cg_home(c, wn->in[0]) == sn->id);
}

/* After assign a, does a later kernel read a's destination through
** another value (the verifier checks the destination itself)? The
** offending node, or -1. */
static int stale_read(Cg *c, const Node *a)
{
	int d = cg_home(c, a->in[0]);
	for (int j = a->id + 1; j < c->g->nnodes; j++) {
		const Node *nd = c->g->nodes[j];
		if (!cg_needs_kernel(c, nd))
			continue;
		for (int k = 0; k < nd->nin; k++) {
			int h = cg_home(c, nd->in[k]);
			if (nd->in[k] != a->id && c->p->off[h] >= 0 && overlaps(c, h, d))
				return j;
		}
	}
	return -1;
}

/* Check that no kernel writes over a value the runtime provides (see
** protected) and that nothing reads a destination after its assign.
** 0, or -1 with an internal error naming both nodes. */
int cg_check_plan(Cg *c)
{
	const Graph *g = c->g;
	for (int w = 0; w < g->nnodes; w++) {
		const Node *wn = g->nodes[w];
		if (!cg_needs_kernel(c, wn) || c->p->off[cg_home(c, w)] < 0)
			continue;
		for (int s = 0; s < g->nnodes; s++) {
			const Node *sn = g->nodes[s];
			if (!protected(c, wn, sn) || !overlaps(c, cg_home(c, w), s))
				continue;
			return cg_fail(c, wn, "internal error: the memory plan puts %%%d's result over %s %%%d ('%s')", w,
			               ir_ops[sn->op].name, s, sn->a.name ? sn->a.name : "");
		}
		int j = wn->op == OP_ASSIGN ? stale_read(c, wn) : -1;
		if (j >= 0)
			return cg_fail(c, g->nodes[j], "internal error: reads the storage of '%s' after %%%d has overwritten it",
			               g->nodes[wn->in[0]]->a.name ? g->nodes[wn->in[0]]->a.name : "", w);
	}
	return 0;
}

/* Inside a kernel: the pointer to node id's storage (a slot argument, or a
** constant's private global). */
LLVMValueRef base(Cg *c, int id)
{
	int h = cg_home(c, id);
	if (const_in_place(c, h))
		return c->constg[h];
	for (int s = 0; s < c->nslot; s++)
		if (same_addr(c, c->slot[s], h))
			return c->slotp[s];
	return NULL; /* unreachable: cg_slots collected every operand */
}

/* In the entry: arena + plan_addr(id) with the builder's n. */
LLVMValueRef cg_addr(Cg *c, LLVMValueRef arena, int id)
{
	const Node *nd = c->g->nodes[id];
	LLVMValueRef at = ci(c, c->p->off[id]);
	if (ir_batched(&nd->shape))
		at = iadd(c, ci(c, c->p->fixed_bytes), imul(c, at, c->n));
	LLVMTypeRef i8 = LLVMInt8TypeInContext(c->ctx);
	return LLVMBuildInBoundsGEP2(c->b, i8, arena, &at, 1, "");
}
