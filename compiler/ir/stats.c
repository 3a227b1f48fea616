/*
** stats.c -- the numbers `lunac stats` reports (trainable parameters and
** multiply-accumulates per sample) and the size limit every model is held
** to (ir_check_size). Sums and products saturate at INT64_MAX, so a count
** is never negative.
*/
#include "ir.h"

#include <stdio.h>

/* a + b, INT64_MAX when it overflows (a, b >= 0). */
static int64_t sat_add(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

/* a * b, INT64_MAX when it overflows (a, b >= 0). */
static int64_t sat_mul(int64_t a, int64_t b)
{
	int64_t r;
	return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

/* Elements of every node of op op. */
static int64_t count_op(const Graph *g, Op op)
{
	int64_t k = 0;
	for (int i = 0; i < g->nnodes; i++)
		if (g->nodes[i]->op == op)
			k = sat_add(k, ir_numel(&g->nodes[i]->shape, 1));
	return k;
}

/* Elements of every trainable parameter. */
int64_t ir_param_count(const Graph *g)
{
	return count_op(g, OP_PARAM);
}

/* Elements of every buffer (batch-norm running statistics). */
int64_t ir_buffer_count(const Graph *g)
{
	return count_op(g, OP_BUFFER);
}

/* Multiply-accumulates of one node for one sample (N = 1): the products in
** convolutions, dense layers and matrix products. Elementwise work is not
** counted, as is usual for MAC figures. */
static int64_t node_macs(const Graph *g, const Node *nd)
{
	const Shape *o = &nd->shape;
	switch (nd->op) {
	case OP_CONV2D: {
		const Shape *w = &g->nodes[nd->in[1]]->shape;
		return sat_mul(sat_mul(sat_mul(ir_numel(o, 1), w->d[1]), w->d[2]), w->d[3]);
	}
	case OP_DENSE:
		return sat_mul(ir_numel(o, 1), g->nodes[nd->in[1]]->shape.d[1]);
	case OP_MATMUL:
		return sat_mul(ir_numel(o, 1), g->nodes[nd->in[1]]->shape.d[0]);
	default:
		return 0;
	}
}

/* Floating-point operations of one node for one sample: 2 per
** multiply-accumulate of the products in convolutions, dense layers and
** matrix products, forward and backward; 0 for every other op (their
** rate is memory's). A weight gradient's work grows with the batch like
** the rest, so it too is counted per sample. */
int64_t ir_node_flops(const Graph *g, const Node *nd)
{
	const Shape *a = nd->nin > 0 ? &g->nodes[nd->in[0]]->shape : NULL;
	const Shape *b = nd->nin > 1 ? &g->nodes[nd->in[1]]->shape : NULL;
	switch (nd->op) {
	case OP_CONV2D:
	case OP_DENSE:
	case OP_MATMUL:
		return sat_mul(2, node_macs(g, nd));
	case OP_CONV2D_DX:   /* dy [N,K,OH,OW], w [K,C,kh,kw] */
		return sat_mul(2, sat_mul(sat_mul(sat_mul(ir_numel(a, 1), b->d[1]), b->d[2]), b->d[3]));
	case OP_CONV2D_DW:   /* x [N,C,H,W], dy [N,K,OH,OW] -> [K,C,kh,kw] */
		return sat_mul(2, sat_mul(ir_numel(b, 1), sat_mul(sat_mul(nd->shape.d[1], nd->shape.d[2]),
		                                                  nd->shape.d[3])));
	case OP_MATMUL_NT:   /* a [M,K] x b[N,K]^T: the result's elements times K */
		return sat_mul(2, sat_mul(ir_numel(&nd->shape, 1), a->d[a->rank - 1]));
	case OP_MATMUL_TN:   /* a[K,M]^T x b [K,N]: the result's elements times K */
		return sat_mul(2, sat_mul(ir_numel(&nd->shape, 1), ir_numel(a, 1) / (a->d[a->rank - 1] ? a->d[a->rank - 1] : 1)));
	default:
		return 0;
	}
}

/* Multiply-accumulates per sample over the whole graph. */
int64_t ir_macs(const Graph *g)
{
	int64_t k = 0;
	for (int i = 0; i < g->nnodes; i++)
		k = sat_add(k, node_macs(g, g->nodes[i]));
	return k;
}

char *ir_human(char *buf, size_t cap, double v, int binary)
{
	static const char *const si[] = {"", " K", " M", " G", " T", " P", " E"};
	static const char *const bin[] = {" bytes", " KiB", " MiB", " GiB", " TiB", " PiB", " EiB"};
	double base = binary ? 1024 : 1000;
	int u = 0;
	while (u < 6 && v >= base * 0.9995)   /* 999.7 K is printed as 1.00 M */
		v /= base, u++;
	const char *unit = binary ? bin[u] : si[u];
	if (u == 0 || v >= 99.95)
		snprintf(buf, cap, "%.0f%s", v, unit);
	else
		snprintf(buf, cap, "%.*f%s", v >= 9.995 ? 1 : 2, v, unit);
	return buf;
}

/* Write bytes as "16 GiB" when it is a whole number of GiB, MiB or KiB,
** else as "N bytes", into buf. */
static const char *fmt_bytes(char *buf, size_t cap, int64_t bytes)
{
	static const char *const unit[] = {"PiB", "TiB", "GiB", "MiB", "KiB"};
	for (int i = 0; i < 5; i++) {
		int64_t u = (int64_t)1 << (10 * (5 - i));
		if (bytes >= u && bytes % u == 0) {
			snprintf(buf, cap, "%lld %s", (long long)(bytes / u), unit[i]);
			return buf;
		}
	}
	snprintf(buf, cap, "%lld bytes", (long long)bytes);
	return buf;
}

/* True when nd's values are fixed data of the model (parameters, buffers,
** optimizer state, constants) rather than computed per sample. */
static int is_stored(const Node *nd)
{
	return nd->op == OP_PARAM || nd->op == OP_BUFFER || nd->op == OP_STATE || nd->op == OP_CONST;
}

/* Refuse g when its parameter bytes or its activation bytes per sample
** exceed max_bytes; name the node at which the running total crossed it. */
int ir_check_size(const Graph *g, int64_t max_bytes, const char *file, Err *e)
{
	int64_t total[2] = {0, 0};   /* stored, per sample */
	for (int i = 0; i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		int k = !is_stored(nd);
		total[k] = sat_add(total[k], sat_mul(ir_numel(&nd->shape, 1), 4));
		if (total[k] <= max_bytes)
			continue;
		char at[1100], lim[64], name[IR_QUOTELEN], q[IR_QUOTELEN + 4] = "";
		if (nd->a.name && (ir_ops[nd->op].attrs & A_NAME))
			snprintf(q, sizeof q, " \"%s\"", ir_quote(name, sizeof name, nd->a.name));
		if (file && nd->line > 0)
			snprintf(at, sizeof at, "%s:%d", file, nd->line);
		else if (nd->loc)
			snprintf(at, sizeof at, "%s", nd->loc);
		else
			snprintf(at, sizeof at, "%s: %%%d", file ? file : g->name, nd->id);
		char reach[32];
		return ir_errorf(e, "%s: %s%s: the model's %s reach %lld bytes (%s) here, over the limit of %s "
		                    "(raise it with lunac --max-bytes SIZE)", at, ir_ops[nd->op].name, q,
		                 k ? "activations per sample" : "parameters", (long long)total[k],
		                 ir_human(reach, sizeof reach, (double)total[k], 1), fmt_bytes(lim, sizeof lim, max_bytes));
	}
	return 0;
}
