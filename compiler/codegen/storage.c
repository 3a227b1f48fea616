/*
** storage.c -- where values live, as kernels see them.
**
** A kernel takes one pointer argument per distinct storage it touches (its
** result and its operands, "slots"), then n and the RtCtx pointer. The
** entry's program lists each slot's offset and lunac.run (emit.c) computes
** its address (arena + plan_addr) at the call. Offsets are known at
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

/* Home id's bytes [*lo, *hi) in its region, per sample when batched;
** returns whether it is batched. */
int cg_range(const Cg *c, int id, int64_t *lo, int64_t *hi)
{
	const Shape *s = &c->g->nodes[id]->shape;
	*lo = c->p->off[id];
	*hi = *lo + ir_numel(s, 1) * 4;
	return ir_batched(s);
}

/* Do the bytes of homes a and b intersect for some n? Batched and
** non-batched values live in disjoint regions; within a region the ranges
** scale with n together, so comparing per-sample ranges decides it. */
static int overlaps(const Cg *c, int a, int b)
{
	int64_t a0, a1, b0, b1;
	if (cg_range(c, a, &a0, &a1) != cg_range(c, b, &b0, &b1))
		return 0;
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

/* The slot of the kernel being built that holds node id's value, or -1
** for a constant read in place (cg_slots collected every operand). */
int cg_slot_of(const Cg *c, int id)
{
	int h = cg_home(c, id);
	if (const_in_place(c, h))
		return -1;
	for (int s = 0; s < c->nslot; s++)
		if (same_addr(c, c->slot[s], h))
			return s;
	return -1; /* unreachable */
}

/* Inside a kernel: the pointer to node id's storage (a slot argument, or a
** constant's private global). */
LLVMValueRef base(Cg *c, int id)
{
	int s = cg_slot_of(c, id);
	return s >= 0 ? c->slotp[s] : c->constg[cg_home(c, id)];
}
