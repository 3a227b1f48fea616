/*
** print.c -- the text form of the kernel level (`lunac ir --level=kernel`):
** per entry, the target's vector shape, then one line per kernel call in
** the order the entry makes them:
**
**   k3  %12 conv2d f32[N,64,32,32]  gemm im2col  tile 6x16 k256  chunks n*4 (sample, 8 output rows, 64 output channels)  scratch 73728
**
** anchor (gemm, map, reduce, window, move), the GEMM tile, how the kernel
** splits into chunks and what one chunk covers, and the scratch a chunk
** uses (bytes). Deterministic: a test oracle, like the graph's text form.
*/
#include "kernel.h"

static const char *const anchors[] = {"-", "gemm", "map", "reduce", "window", "move"};

/* The chunks of s and what one covers, as text, at f. */
static void print_split(const Sched *s, const Node *nd, FILE *f)
{
	switch (s->split) {
	case SPLIT_NONE:
		fprintf(f, "  serial");
		return;
	case SPLIT_RANGE:
		fprintf(f, "  chunks of ~16K elements");
		return;
	case SPLIT_CHANNELS:
		fprintf(f, "  chunks of channels (~16K elements)");
		return;
	case SPLIT_CONV:
		fprintf(f, "  chunks n*%lld (sample, %lld output rows, %lld output channels)", (long long)s->chunks_per_n,
		        (long long)s->rows, (long long)(s->nob > 1 ? s->ob : nd->shape.d[1]));
		return;
	case SPLIT_WINO:
		if (s->group > 1)
			fprintf(f, "  chunks ceil(n/%lld)*%lld (%lld samples, %lld output channels; weights transformed first)",
			        (long long)s->group, (long long)s->chunks_per_n, (long long)s->group, (long long)s->ob);
		else
			fprintf(f, "  chunks n*%lld (sample, %lld tile rows = %lld output rows, %lld output channels; weights transformed first)",
			        (long long)s->chunks_per_n, (long long)s->tile_rows, (long long)s->rows, (long long)s->ob);
		return;
	case SPLIT_CONV_DX:
		if (s->chunks_fixed)
			fprintf(f, "  chunks %lld (%lld input channels of all samples: 1x1 planes, one GEMM)",
			        (long long)s->chunks_fixed, (long long)s->cb);
		else
			fprintf(f, "  chunks n*%lld (sample, %lld input channels)", (long long)s->chunks_per_n, (long long)s->cb);
		return;
	case SPLIT_CONV_DW:
		fprintf(f, "  chunks %lld (%lld input channels, %lld output channels; ", (long long)s->chunks_fixed,
		        (long long)s->cb, (long long)(s->nob > 1 ? s->ob : nd->shape.d[0]));
		if (s->group > 1)
			fprintf(f, "the planes of %lld samples at a time, in order)", (long long)s->group);
		else
			fprintf(f, "samples, then %lld output rows at a time, in order)", (long long)s->rows);
		return;
	case SPLIT_COLS:
		fprintf(f, "  chunks %lld (%lld result columns, packed)", (long long)s->chunks_fixed, (long long)s->cols);
		return;
	case SPLIT_ROWS:
		if (s->chunks_per_n)
			fprintf(f, "  chunks ceil(n/%lld) (%lld result rows)", (long long)s->rows, (long long)s->rows);
		else
			fprintf(f, "  chunks %lld (%lld result rows)", (long long)s->chunks_fixed, (long long)s->rows);
		return;
	}
}

void kern_print(const Graph *g, const Target *t, const char *entry, int (*needs)(const Graph *, const Node *, void *),
                void *arg, FILE *f)
{
	fprintf(f, "kernels %s: vectors of %d floats, GEMM tile %dx%d, k %d per block\n", entry, t->w, t->mr, t->nr,
	        t->kc);
	int k = 0;
	for (int i = 0; i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		if (!needs(g, nd, arg))
			continue;
		Sched s = kern_schedule(g, nd, t);
		char type[160];
		ir_fmt_type(type, sizeof type, nd->dtype, &nd->shape);
		fprintf(f, "k%-4d %%%-5d %-13s %-22s %s", k++, nd->id, ir_ops[nd->op].name, type, anchors[s.anchor]);
		if (s.wino)
			fprintf(f, " winograd F(%dx%d,3x3)", s.wino, s.wino);
		if (s.anchor == ANCHOR_GEMM)
			fprintf(f, "%s  tile %dx%d k%d", s.im2col ? (nd->op == OP_CONV2D_DX ? " col2im" : " im2col") : "",
			        t->mr, t->nr, t->kc);
		print_split(&s, nd, f);
		if (s.scratch)
			fprintf(f, "  scratch %lld", (long long)s.scratch);
		if (s.workspace)
			fprintf(f, "  workspace %lld", (long long)s.workspace);
		fputc('\n', f);
	}
}
