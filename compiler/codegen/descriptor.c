/*
** descriptor.c -- the model descriptor JSON (schema in runtime/lunac_rt.h):
** what the runtime needs to find inputs, outputs, parameters and buffers in
** the arena and to initialise parameters. Keys are written in a fixed order.
**
** fan_in / fan_out (for glorot, Keras / PyTorch convention): for a weight
** of rank >= 2 with shape [d0, d1, rest...], receptive = prod(rest),
** fan_in = d1 * receptive and fan_out = d0 * receptive; so conv [O,I,KH,KW]
** gives fan_in = I*KH*KW, fan_out = O*KH*KW and dense [O,K] gives fan_in = K,
** fan_out = O. Rank 1 [C] (biases, norm scales) gives fan_in = fan_out = C,
** rank 0 gives 1. (A matmul right operand [K,P] gets fan_in = P, fan_out = K;
** glorot's limit sqrt(6 / (fan_in + fan_out)) does not depend on which is which.)
*/
#include "cg.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

#include "../version.h"

/* fan_in and fan_out of a parameter of shape s (see the file comment). */
static void fans(const Shape *s, int64_t *in, int64_t *out)
{
	if (s->rank == 0) {
		*in = *out = 1;
		return;
	}
	if (s->rank == 1) {
		*in = *out = s->d[0];
		return;
	}
	int64_t rf = 1;
	for (int i = 2; i < s->rank; i++)
		rf *= s->d[i];
	*in = s->d[1] * rf;
	*out = s->d[0] * rf;
}

/* {"name","dtype","shape","offset","batched"} for node nd (its shape, its
** holder's offset); NULL when nd has no storage. */
static cJSON *tensor(const Graph *g, const Plan *p, const Node *nd, const char *name)
{
	int64_t off = p->off[cg_holder(g, p, nd->id)];
	if (off < 0)
		return NULL;
	cJSON *t = cJSON_CreateObject(), *shape = cJSON_CreateArray();
	cJSON_AddStringToObject(t, "name", name ? name : "");
	cJSON_AddStringToObject(t, "dtype", nd->dtype == DT_I32 ? "i32" : "f32");
	for (int i = 0; i < nd->shape.rank; i++)
		cJSON_AddItemToArray(shape, cJSON_CreateNumber(nd->shape.d[i] == IR_N ? -1 : (double)nd->shape.d[i]));
	cJSON_AddItemToObject(t, "shape", shape);
	cJSON_AddNumberToObject(t, "offset", (double)off);
	cJSON_AddBoolToObject(t, "batched", ir_batched(&nd->shape));
	return t;
}

/* Add t to array a; 0, or -1 (and free nothing: a owns what it has) if t is NULL. */
static int push(cJSON *a, cJSON *t)
{
	if (!t)
		return -1;
	cJSON_AddItemToArray(a, t);
	return 0;
}

/* The params array: every param and buffer, in node order. */
static int params(const Graph *g, const Plan *p, cJSON *a)
{
	for (int i = 0; i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		if (nd->dead || (nd->op != OP_PARAM && nd->op != OP_BUFFER))
			continue;
		cJSON *t = tensor(g, p, nd, nd->a.name);
		if (push(a, t))
			return -1;
		int64_t fi, fo;
		fans(&nd->shape, &fi, &fo);
		cJSON_AddStringToObject(t, "kind", nd->op == OP_PARAM ? "param" : "buffer");
		cJSON_AddStringToObject(t, "init", nd->a.init == INIT_NONE ? "zeros" : ir_init_name(nd->a.init));
		cJSON_AddNumberToObject(t, "fan_in", (double)fi);
		cJSON_AddNumberToObject(t, "fan_out", (double)fo);
	}
	return 0;
}

/* The inputs and outputs arrays. */
static int ios(const Graph *g, const Plan *p, cJSON *in, cJSON *out)
{
	for (int i = 0; i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		if (!nd->dead && nd->op == OP_INPUT && push(in, tensor(g, p, nd, nd->a.name)))
			return -1;
	}
	for (int i = 0; i < g->noutputs; i++)
		if (push(out, tensor(g, p, g->nodes[g->outputs[i].node], g->outputs[i].name)))
			return -1;
	return 0;
}

/* The descriptor JSON, malloc'ed; NULL if an input, output or parameter
** has no storage in the plan. */
char *cg_descriptor(const Graph *g, const Plan *p)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "format", "lunac-model-1");
	cJSON_AddStringToObject(d, "name", g->name ? g->name : "");
	cJSON_AddStringToObject(d, "compiler", LUNAC_COMPILER);
	cJSON_AddStringToObject(d, "spec_hash", g->spec_hash ? g->spec_hash : "");
	cJSON_AddNumberToObject(d, "fixed_bytes", (double)p->fixed_bytes);
	cJSON_AddNumberToObject(d, "batch_bytes", (double)p->batch_bytes);
	cJSON *in = cJSON_AddArrayToObject(d, "inputs"), *out = cJSON_AddArrayToObject(d, "outputs");
	cJSON *ps = cJSON_AddArrayToObject(d, "params"), *en = cJSON_AddArrayToObject(d, "entries");
	cJSON_AddItemToArray(en, cJSON_CreateString("predict"));
	char *s = ios(g, p, in, out) || params(g, p, ps) ? NULL : cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	return s;
}
