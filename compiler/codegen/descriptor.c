/*
** descriptor.c -- the model descriptor JSON (schema in runtime/lunac_rt.h):
** what the runtime needs to find inputs, outputs, parameters, buffers and
** optimizer state in the arena, to initialise them, and which entries and
** tasks the executable has. Keys are written in a fixed order. Tensors are
** listed once by name across entries (first appearance, entries in order);
** entries share one layout, so a name has one offset in all of them, which
** is checked.
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
#include <string.h>

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

/* The descriptor being built: its arrays, each with a map from names to
** its elements, and the first error. */
typedef struct Desc {
	cJSON *in, *out, *ps;
	Map names[3];       /* in, out, ps */
	Arena arena;
	Err *e;
} Desc;

/* Add t (named name) to array a unless a has it; an entry that already
** listed it must agree on offset, dtype and shape. NULL t: no storage. */
static int add(Desc *d, cJSON *a, cJSON *t, const char *entry, const char *name)
{
	if (!t)
		return ir_errorf(d->e, "codegen: internal error: %s: \"%s\" has no storage in the memory plan", entry, name);
	Map *m = &d->names[a == d->in ? 0 : a == d->out ? 1 : 2];
	const char *key = cJSON_GetObjectItem(t, "name")->valuestring;
	cJSON *old = map_get(m, key, strlen(key));
	if (!old) {
		cJSON_AddItemToArray(a, t);
		map_put(m, key, strlen(key), t);
		return 0;
	}
	static const char *const keys[] = {"offset", "dtype", "shape", "batched"};
	for (int i = 0; i < 4; i++)
		if (!cJSON_Compare(cJSON_GetObjectItem(old, keys[i]), cJSON_GetObjectItem(t, keys[i]), 1)) {
			cJSON_Delete(t);
			return ir_errorf(d->e, "codegen: internal error: %s: \"%s\" has another %s than in an earlier entry", entry,
			                 name, keys[i]);
		}
	cJSON_Delete(t);
	return 0;
}

/* A param, buffer or state: the tensor fields, kind, init and fans. */
static cJSON *weight(const Graph *g, const Plan *p, const Node *nd)
{
	cJSON *t = tensor(g, p, nd, nd->a.name);
	if (!t)
		return NULL;
	int64_t fi, fo;
	fans(&nd->shape, &fi, &fo);
	const char *kind = nd->op == OP_PARAM ? "param" : nd->op == OP_BUFFER ? "buffer" : "state";
	cJSON_AddStringToObject(t, "kind", kind);
	cJSON_AddStringToObject(t, "init", nd->a.init == INIT_NONE ? "zeros" : ir_init_name(nd->a.init));
	cJSON_AddNumberToObject(t, "fan_in", (double)fi);
	cJSON_AddNumberToObject(t, "fan_out", (double)fo);
	return t;
}

/* Bytes of nd's operands and result: fixed and per sample (batched). */
static void call_bytes(const Graph *g, const Node *nd, double *fixed, double *batch)
{
	*fixed = *batch = 0;
	for (int k = -1; k < nd->nin; k++) {
		const Shape *s = k < 0 ? &nd->shape : &g->nodes[nd->in[k]]->shape;
		*(ir_batched(s) ? batch : fixed) += (double)ir_numel(s, 1) * 4;
	}
}

/* The entry's kernel calls in the order its code makes them (emit.c
** build_entry): [node, "op", "shape", flops, fixed_bytes, batch_bytes]. */
static cJSON *calls(const Graph *g, const Plan *p)
{
	Cg c = {.g = g, .p = p};
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; a && i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		if (!cg_needs_kernel(&c, nd))
			continue;
		char shape[160];
		double fixed, batch;
		ir_fmt_type(shape, sizeof shape, nd->dtype, &nd->shape);
		call_bytes(g, nd, &fixed, &batch);
		cJSON *k = cJSON_CreateArray();
		cJSON_AddItemToArray(a, k);
		cJSON_AddItemToArray(k, cJSON_CreateNumber(nd->id));
		cJSON_AddItemToArray(k, cJSON_CreateString(ir_ops[nd->op].name));
		cJSON_AddItemToArray(k, cJSON_CreateString(shape));
		cJSON_AddItemToArray(k, cJSON_CreateNumber((double)ir_node_flops(g, nd)));
		cJSON_AddItemToArray(k, cJSON_CreateNumber(fixed));
		cJSON_AddItemToArray(k, cJSON_CreateNumber(batch));
	}
	return a;
}

/* Add one entry's inputs, outputs and weights (node order); its object
** {"name","outputs"} goes to en. */
static int entry(Desc *d, const CgEntry *en, cJSON *ens)
{
	const Graph *g = en->g;
	const Plan *p = en->p;
	for (int i = 0; i < g->nnodes; i++) {
		const Node *nd = g->nodes[i];
		if (nd->dead)
			continue;
		if (nd->op == OP_INPUT && add(d, d->in, tensor(g, p, nd, nd->a.name), en->name, nd->a.name))
			return -1;
		int w = nd->op == OP_PARAM || nd->op == OP_BUFFER || nd->op == OP_STATE;
		if (w && add(d, d->ps, weight(g, p, nd), en->name, nd->a.name))
			return -1;
	}
	cJSON *o = cJSON_CreateObject(), *names = cJSON_CreateArray();
	cJSON_AddItemToArray(ens, o);
	cJSON_AddStringToObject(o, "name", en->name);
	cJSON_AddItemToObject(o, "outputs", names);
	for (int i = 0; i < g->noutputs; i++) {
		const Output *out = &g->outputs[i];
		if (add(d, d->out, tensor(g, p, g->nodes[out->node], out->name), en->name, out->name))
			return -1;
		cJSON_AddItemToArray(names, cJSON_CreateString(out->name));
	}
	return 0;
}

char *cg_profile_json(const CgEntry *es, int n)
{
	cJSON *d = cJSON_CreateObject();
	for (int i = 0; d && i < n; i++)
		cJSON_AddItemToObject(d, es[i].name, calls(es[i].g, es[i].p));
	char *s = d ? cJSON_PrintUnformatted(d) : NULL;
	cJSON_Delete(d);
	return s;
}

/* The "tasks" array of graph g. */
static void tasks(const Graph *g, cJSON *a)
{
	for (int i = 0; i < g->ntasks; i++) {
		const Task *t = &g->tasks[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", t->name ? t->name : "");
		cJSON_AddStringToObject(o, "output", t->output ? t->output : "");
		cJSON_AddStringToObject(o, "label", t->label ? t->label : "");
		cJSON_AddNumberToObject(o, "classes", t->classes);
		cJSON_AddNumberToObject(o, "weight", t->weight);
		cJSON_AddItemToArray(a, o);
	}
}

/* The descriptor of entries es[0..n), malloc'ed; NULL with e set if a
** tensor has no storage, two entries place a name differently, or the
** plans' sizes are not unified. */
char *cg_descriptor_check(const CgEntry *es, int n, const CgTarget *t, Err *e)
{
	if (n < 1)
		return ir_errorf(e, "codegen: no entry to emit"), NULL;
	const Graph *g = es[0].g;
	for (int i = 1; i < n; i++)
		if (es[i].p->fixed_bytes != es[0].p->fixed_bytes || es[i].p->batch_bytes != es[0].p->batch_bytes)
			return ir_errorf(e, "codegen: internal error: entries %s and %s have plans of different sizes "
			                    "(pass_plan_unify)", es[0].name, es[i].name), NULL;
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "format", "lunac-model-1");
	cJSON_AddStringToObject(d, "name", g->name ? g->name : "");
	cJSON_AddStringToObject(d, "compiler", LUNAC_COMPILER);
	cJSON_AddStringToObject(d, "spec_hash", g->spec_hash ? g->spec_hash : "");
	CgTarget host = {0};
	if (!t && cg_target(NULL, &host, e) == 0)
		t = &host;
	if (t) {
		cJSON *tj = cJSON_AddObjectToObject(d, "target");
		cJSON_AddStringToObject(tj, "cpu", t->cpu);
		cJSON_AddStringToObject(tj, "features", t->features);
	}
	cg_target_free(&host);
	cJSON_AddNumberToObject(d, "fixed_bytes", (double)es[0].p->fixed_bytes);
	cJSON_AddNumberToObject(d, "batch_bytes", (double)es[0].p->batch_bytes);
	Desc ds = {.e = e};
	for (int i = 0; i < 3; i++)
		ds.names[i].arena = &ds.arena;
	ds.in = cJSON_AddArrayToObject(d, "inputs");
	ds.out = cJSON_AddArrayToObject(d, "outputs");
	ds.ps = cJSON_AddArrayToObject(d, "params");
	tasks(g, cJSON_AddArrayToObject(d, "tasks"));
	cJSON *ens = cJSON_AddArrayToObject(d, "entries");
	int bad = 0;
	for (int i = 0; i < n && !bad; i++)
		bad = entry(&ds, &es[i], ens);
	char *s = bad ? NULL : cJSON_PrintUnformatted(d);
	cJSON_Delete(d);
	ir_arena_free(&ds.arena);
	return s;
}

/* The descriptor of several entries; malloc'ed, NULL on an internal error. */
char *cg_descriptor_entries(const CgEntry *es, int n)
{
	Err e = {0};
	return cg_descriptor_check(es, n, NULL, &e);
}

/* The descriptor of one graph as the entry "predict". */
char *cg_descriptor(const Graph *g, const Plan *p)
{
	CgEntry en = {"predict", g, p};
	return cg_descriptor_entries(&en, 1);
}
