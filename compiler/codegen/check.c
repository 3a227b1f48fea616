/*
** check.c -- cg_check_plan: the plan properties codegen relies on.
**
** No kernel may write over a value the runtime provides (a parameter,
** buffer or state, which only an assign to it may write, or an input that
** a later node still reads), and no kernel may read a destination's bytes
** through another value after its assign overwrote them. Both are overlap
** questions between one value and many; an interval index (ranges sorted
** by start, with the running maximum of their ends) answers each with a
** binary search and a short scan, so the check is O(n log n) in the nodes,
** not O(n^2). Errors are the ones the plain double loop would report first.
*/
#include "cg.h"

#include <stdlib.h>

/* A node's bytes in its region (per sample when batched). */
typedef struct Range {
	int batched, id;
	int64_t lo, hi;
	int64_t maxhi;      /* the largest hi of this and every earlier range of the region */
} Range;

typedef struct Index {
	Range *r;
	int n;
} Index;

/* Order by region, then start, then id (a total order: qsort stays deterministic). */
static int by_start(const void *pa, const void *pb)
{
	const Range *a = pa, *b = pb;
	if (a->batched != b->batched)
		return a->batched - b->batched;
	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return a->id - b->id;
}

/* Add home id's range to x (capacity is the caller's). */
static void index_add(const Cg *c, Index *x, int id)
{
	Range *r = &x->r[x->n++];
	r->id = id;
	r->batched = cg_range(c, id, &r->lo, &r->hi);
}

/* Sort x and fill the running maxima. */
static void index_sort(Index *x)
{
	qsort(x->r, (size_t)x->n, sizeof *x->r, by_start);
	for (int i = 0; i < x->n; i++) {
		int first = i == 0 || x->r[i - 1].batched != x->r[i].batched;
		x->r[i].maxhi = first || x->r[i].hi > x->r[i - 1].maxhi ? x->r[i].hi : x->r[i - 1].maxhi;
	}
}

/* The last range of region b that starts before hi, or -1: the ranges that
** overlap [lo, hi) are found from there backwards while maxhi > lo. */
static int index_last(const Index *x, int b, int64_t hi)
{
	int lo = 0, n = x->n; /* first index whose (batched, lo) >= (b, hi) */
	while (lo < n) {
		int mid = lo + (n - lo) / 2;
		const Range *r = &x->r[mid];
		if (r->batched < b || (r->batched == b && r->lo < hi))
			lo = mid + 1;
		else
			n = mid;
	}
	return lo - 1;
}

/* Is s a value the runtime provides that w's kernel must not write over:
** a parameter, buffer or state (loaded once, read by every call; only an
** assign to it may write it), or an input that a later node still reads
** (an input numbered after the writer is live from the start of the call)? */
static int protected(const Cg *c, const Node *wn, const Node *sn)
{
	if (sn->op == OP_INPUT)
		return sn->id > wn->id;
	return !(wn->op == OP_ASSIGN && cg_home(c, wn->in[0]) == sn->id);
}

/* The lowest-numbered source in src that w's result overlaps and must not
** write over, or -1. */
static int clobbered(const Cg *c, const Index *src, const Node *wn)
{
	int64_t lo, hi;
	int h = cg_home(c, wn->id), b = cg_range(c, h, &lo, &hi), best = -1;
	for (int i = index_last(src, b, hi); i >= 0 && src->r[i].batched == b && src->r[i].maxhi > lo; i--) {
		const Range *r = &src->r[i];
		if (r->hi > lo && (best < 0 || r->id < best) && protected(c, wn, c->g->nodes[r->id]))
			best = r->id;
	}
	return best;
}

/* Reads of assign destinations: for destination i (in dst's order), the
** nodes that read bytes overlapping it through operand node `in`, in node
** order, at read[first[i] .. first[i+1]). */
typedef struct Reads {
	Index dst;
	int *slot;          /* home node id -> its index in dst (by id) + 1, 0 if none */
	int *first;
	struct Read {
		int node, in;
	} *read;
} Reads;

/* Call f(rs, d, j, in) for every destination d (its index in dst) whose
** bytes operand in of kernel node j overlaps, j in order. */
static void each_read(Cg *c, Reads *rs, void (*f)(Reads *, int, int, int))
{
	const Graph *g = c->g;
	for (int j = 0; j < g->nnodes; j++) {
		const Node *nd = g->nodes[j];
		if (!cg_needs_kernel(c, nd))
			continue;
		for (int k = 0; k < nd->nin; k++) {
			int64_t lo, hi;
			int h = cg_home(c, nd->in[k]);
			if (c->p->off[h] < 0)
				continue;
			int b = cg_range(c, h, &lo, &hi);
			const Index *x = &rs->dst;
			for (int i = index_last(x, b, hi); i >= 0 && x->r[i].batched == b && x->r[i].maxhi > lo; i--)
				if (x->r[i].hi > lo)
					f(rs, rs->slot[x->r[i].id] - 1, j, nd->in[k]);
		}
	}
}

/* each_read callbacks: count per destination, then place in node order. */
static void count_read(Reads *rs, int d, int j, int in)
{
	rs->first[d + 1]++;
}

static void put_read(Reads *rs, int d, int j, int in)
{
	rs->read[rs->first[d]++] = (struct Read){j, in};
}

/* Collect every assign destination and the reads that overlap it. */
static void reads_build(Cg *c, Reads *rs)
{
	const Graph *g = c->g;
	int nd = 0, total = 0;
	rs->slot = ir_alloc(&c->arena, (size_t)g->nnodes * sizeof *rs->slot);
	rs->dst.r = ir_alloc(&c->arena, (size_t)(g->nnodes + 1) * sizeof *rs->dst.r);
	for (int i = 0; i < g->nnodes; i++) {
		const Node *a = g->nodes[i];
		int d = a->op == OP_ASSIGN && cg_needs_kernel(c, a) ? cg_home(c, a->in[0]) : -1;
		if (d >= 0 && !rs->slot[d]) {
			rs->slot[d] = ++nd;
			index_add(c, &rs->dst, d);
		}
	}
	index_sort(&rs->dst);
	rs->first = ir_alloc(&c->arena, (size_t)(nd + 2) * sizeof *rs->first);
	each_read(c, rs, count_read);
	for (int i = 0; i < nd; i++)
		total += rs->first[i + 1], rs->first[i + 1] = total;
	rs->read = ir_alloc(&c->arena, (size_t)(total + 1) * sizeof *rs->read);
	each_read(c, rs, put_read); /* advances first[d] to the start of d + 1 */
	for (int i = nd; i > 0; i--)
		rs->first[i] = rs->first[i - 1];
	rs->first[0] = 0;
}

/* After assign a, the first later kernel that reads a's destination through
** another value than a (the verifier checks the destination itself), or -1. */
static int stale_read(Cg *c, const Reads *rs, const Node *a)
{
	int d = rs->slot[cg_home(c, a->in[0])] - 1;
	int lo = rs->first[d], hi = rs->first[d + 1];
	while (lo < hi) { /* the first read by a node after a */
		int mid = lo + (hi - lo) / 2;
		if (rs->read[mid].node <= a->id)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (int i = lo; i < rs->first[d + 1]; i++)
		if (rs->read[i].in != a->id)
			return rs->read[i].node;
	return -1;
}

/* The sources (input, param, buffer, state) with storage, as an index. */
static void sources(Cg *c, Index *src)
{
	const Graph *g = c->g;
	src->r = ir_alloc(&c->arena, (size_t)(g->nnodes + 1) * sizeof *src->r);
	for (int s = 0; s < g->nnodes; s++) {
		const Node *sn = g->nodes[s];
		int kind = sn->op == OP_INPUT || sn->op == OP_PARAM || sn->op == OP_BUFFER || sn->op == OP_STATE;
		if (kind && !sn->dead && c->p->off[s] >= 0)
			index_add(c, src, s);
	}
	index_sort(src);
}

/* Check that no kernel writes over a value the runtime provides (see
** protected) and that nothing reads a destination after its assign.
** 0, or -1 with an internal error naming both nodes. */
int cg_check_plan(Cg *c)
{
	const Graph *g = c->g;
	Index src = {0};
	Reads rs = {0};
	sources(c, &src);
	reads_build(c, &rs);
	for (int w = 0; w < g->nnodes; w++) {
		const Node *wn = g->nodes[w];
		if (!cg_needs_kernel(c, wn) || c->p->off[cg_home(c, w)] < 0)
			continue;
		int s = clobbered(c, &src, wn);
		if (s >= 0)
			return cg_fail(c, wn, "internal error: the memory plan puts %%%d's result over %s %%%d ('%s')", w,
			               ir_ops[g->nodes[s]->op].name, s, g->nodes[s]->a.name ? g->nodes[s]->a.name : "");
		int j = wn->op == OP_ASSIGN ? stale_read(c, &rs, wn) : -1;
		if (j >= 0)
			return cg_fail(c, g->nodes[j], "internal error: reads the storage of '%s' after %%%d has overwritten it",
			               g->nodes[wn->in[0]]->a.name ? g->nodes[wn->in[0]]->a.name : "", w);
	}
	return 0;
}
