/*
** loss.c -- losses and classification heads: label, xent, bmean, loss, task.
**
** loss(x [, w]) adds w * x to the model's loss, a running sum whose node
** is Fe.loss; when the script has added a term, fe_close_loss makes the sum
** the output "loss" (f32[1]) that the eval and train entries compute.
** task() is the usual classification head built from the others; it also
** records a Task (ir.h) that tells the executable which output, label
** input, class count and weight belong together.
*/
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fe.h"

#define LABEL_SUFFIX ".label"   /* task(name, ...) reads the labels input name .. LABEL_SUFFIX */

/* Format node id's type into buf: "[N,8]" for f32, "i32[N]" otherwise. */
static const char *type_of(lua_State *L, int id, char *buf, size_t cap)
{
	const Node *nd = fe_get(L)->g->nodes[id];
	ir_fmt_type(buf, cap, nd->dtype, &nd->shape);
	return nd->dtype == DT_F32 ? buf + 3 : buf;
}

/* Raise unless node id is f32 [N,K] logits with K >= 2 (for fn); return K. */
static int64_t check_logits(lua_State *L, int id, const char *fn)
{
	const Node *nd = fe_get(L)->g->nodes[id];
	char t[128];
	if (nd->dtype != DT_F32 || nd->shape.rank != 2 || nd->shape.d[0] != IR_N)
		fe_error(L, "%s: logits must be [N,K], got %s (pool or flatten, then a dense layer with K outputs)", fn,
		         type_of(L, id, t, sizeof t));
	if (nd->shape.d[1] < 2 || nd->shape.d[1] > INT_MAX)
		fe_error(L, "%s: logits must have at least 2 classes, got %s", fn, type_of(L, id, t, sizeof t));
	return nd->shape.d[1];
}

/* Raise unless node id holds i32 [N] class labels for k classes (for fn):
** a label() input must have been declared with k classes. */
static void check_labels(lua_State *L, int id, int64_t k, const char *fn)
{
	const Node *nd = fe_get(L)->g->nodes[id];
	char t[128];
	if (nd->dtype != DT_I32 || nd->shape.rank != 1 || nd->shape.d[0] != IR_N)
		fe_error(L, "%s: labels must be an i32 tensor from label(), got %s", fn,
		         ir_fmt_type(t, sizeof t, nd->dtype, &nd->shape));
	lua_getfield(L, LUA_REGISTRYINDEX, REG_LABELS);
	if (lua_rawgeti(L, -1, id) == LUA_TNUMBER && lua_tointeger(L, -1) != k)
		fe_error(L, "%s: labels '%s' have %lld classes but the logits have %lld", fn, nd->a.name,
		         (long long)lua_tointeger(L, -1), (long long)k);
	lua_pop(L, 2);
}

/* Option smoothing of the options table at idx, checked to be in [0, 1). */
static double check_smoothing(lua_State *L, int idx, const char *fn)
{
	double s = fe_opt_num(L, idx, fn, "smoothing", 0);
	if (!(s >= 0 && s < 1))
		fe_error(L, "%s: option 'smoothing' must be in [0, 1), got %g", fn, s);
	return s;
}

/* Make an op node for fn with operands in[]; return its id (nothing pushed). */
static int make(lua_State *L, Op op, int nin, const int *in, const char *fn)
{
	Node *nd = fe_node(L, op, nin, in);
	fe_finish(L, nd, fn);
	lua_pop(L, 1);
	return nd->id;
}

/* Make the i32 [N] input name of labels for k classes and push it. */
static int new_label(lua_State *L, const char *name, int64_t k, const char *fn)
{
	Shape s = {0};
	fe_new_input(L, name, &s, DT_I32, fn);
	int id = fe_to_tensor(L, -1);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_LABELS);
	lua_pushinteger(L, k);
	lua_rawseti(L, -2, id);
	lua_pop(L, 1);
	return id;
}

/* Make xent(logits, labels) with label smoothing s; return its id. */
static int make_xent(lua_State *L, int logits, int labels, double s, const char *fn)
{
	Node *nd = fe_node(L, OP_XENT, 2, (int[]){logits, labels});
	nd->a.smoothing = (float)s;
	fe_finish(L, nd, fn);
	lua_pop(L, 1);
	return nd->id;
}

/* Add w * x (node id, f32[1]) to the model's loss. */
static void add_term(lua_State *L, int x, double w, const char *fn)
{
	Fe *fe = fe_get(L);
	if (w != 1) {
		float v = (float)w;
		Shape one = {.rank = 1, .d = {1}};
		x = make(L, OP_MUL, 2, (int[]){fe_const(L, &v, &one), x}, fn);
	}
	fe->loss = fe->loss < 0 ? x : make(L, OP_ADD, 2, (int[]){fe->loss, x}, fn);
}

/* label(name, classes) -> i32 tensor [N]: an input of class indices in [0, classes) */
static int fl_label(lua_State *L)
{
	fe_check_nargs(L, "label(name, classes)", 2, 2);
	const char *name = fe_check_name(L, 1, "label", "the label input's name");
	int isint = 0;
	lua_Integer k = lua_type(L, 2) == LUA_TNUMBER ? lua_tointegerx(L, 2, &isint) : 0;
	if (!isint)
		k = 0;
	if (k < 2 || k > INT_MAX)
		fe_error(L, "label: expected the number of classes (an integer of at least 2) as argument 2, got %s",
		         luaL_tolstring(L, 2, NULL));
	new_label(L, name, k, "label");
	return 1;
}

/* xent(logits, labels [, {smoothing=0}]) -> [N]: per-sample softmax cross-entropy;
** logits [N,K], labels an i32 [N] tensor of class indices */
static int fl_xent(lua_State *L)
{
	static const char *const opts[] = {"smoothing", NULL};
	fe_check_nargs(L, "xent(logits, labels [, {smoothing=0}])", 2, 3);
	int logits = fe_check_tensor(L, 1, "xent"), labels = fe_check_tensor(L, 2, "xent");
	fe_check_opts(L, 3, "xent", opts);
	double s = check_smoothing(L, 3, "xent");
	check_labels(L, labels, check_logits(L, logits, "xent"), "xent");
	fe_push_tensor(L, make_xent(L, logits, labels, s, "xent"));
	return 1;
}

/* bmean(x) -> the mean over the batch: [N,...] -> [...], [N] -> [1] */
static int fl_bmean(lua_State *L)
{
	fe_check_nargs(L, "bmean(x)", 1, 1);
	int x = fe_check_tensor(L, 1, "bmean");
	return fe_finish(L, fe_node(L, OP_BMEAN, 1, &x), "bmean");
}

/* loss(x [, weight=1]) -> x; adds weight * x (x an f32 [1] tensor) to the model's loss */
static int fl_loss(lua_State *L)
{
	fe_check_nargs(L, "loss(x [, weight=1])", 1, 2);
	int x = fe_check_tensor(L, 1, "loss");
	const Node *nd = fe_get(L)->g->nodes[x];
	char t[128];
	if (nd->dtype != DT_F32 || nd->shape.rank != 1 || nd->shape.d[0] != 1)
		fe_error(L, "loss: expected a [1] tensor (average per-sample losses with bmean), got %s",
		         type_of(L, x, t, sizeof t));
	if (!lua_isnoneornil(L, 2) && lua_type(L, 2) != LUA_TNUMBER)
		fe_error(L, "loss: expected a number (the weight) as argument 2, got %s", luaL_typename(L, 2));
	double w = luaL_optnumber(L, 2, 1);
	if (!isfinite(w))
		fe_error(L, "loss: the weight must be a finite number, got %g", w);
	add_term(L, x, w, "loss");
	lua_settop(L, 1);
	return 1;
}

/* Raise unless no task called name exists. */
static void check_task_name(lua_State *L, const char *name)
{
	const Graph *g = fe_get(L)->g;
	for (int i = 0; i < g->ntasks; i++)
		if (!strcmp(g->tasks[i].name, name))
			fe_error(L, "task: duplicate task name '%s'", name);
}

/* Append a Task to the graph's array (in its arena; tasks are few). */
static void record_task(Graph *g, const char *name, const char *label, int k, double w)
{
	Task *t = ir_alloc(&g->arena, sizeof(Task) * (size_t)(g->ntasks + 1));
	if (g->ntasks)
		memcpy(t, g->tasks, sizeof(Task) * (size_t)g->ntasks);
	const char *n = ir_strdup(&g->arena, name);
	t[g->ntasks] = (Task){.name = n, .output = n, .label = ir_strdup(&g->arena, label), .classes = k,
	                      .weight = (float)w};
	g->tasks = t;
	g->ntasks++;
}

/* task(name, logits [, {weight=1, smoothing=0}]) -> probabilities [N,K]; a
** classification head: the input name..".label" (label(), K classes), the
** output name = softmax(logits) and the loss term
** weight * bmean(xent(logits, labels, {smoothing})) */
static int fl_task(lua_State *L)
{
	static const char *const opts[] = {"weight", "smoothing", NULL};
	Fe *fe = fe_get(L);
	fe_check_nargs(L, "task(name, logits [, {weight=1, smoothing=0}])", 2, 3);
	const char *name = fe_check_name(L, 1, "task", "the task's name");
	int logits = fe_check_tensor(L, 2, "task");
	fe_check_opts(L, 3, "task", opts);
	double w = fe_opt_num(L, 3, "task", "weight", 1), s = check_smoothing(L, 3, "task");
	if (!(isfinite(w) && w >= 0))
		fe_error(L, "task: option 'weight' must be a finite number of at least 0, got %g", w);
	fe_check_name_kind(L, name, NAME_TASK, "task");
	check_task_name(L, name);
	int64_t k = check_logits(L, logits, "task");
	const char *label = lua_pushfstring(L, "%s" LABEL_SUFFIX, name);
	fe_check_output(L, name, "task");
	fe_check_input(L, label, "task");
	int labels = new_label(L, label, k, "task");
	int probs = make(L, OP_SOFTMAX, 1, &logits, "task");
	fe_new_output(L, name, probs);
	int ce = make_xent(L, logits, labels, s, "task");
	add_term(L, make(L, OP_BMEAN, 1, &ce, "task"), w, "task");
	record_task(fe->g, name, label, (int)k, w);
	fe_push_tensor(L, probs);
	return 1;
}

/* Append the output "loss" when the script added loss terms. */
void fe_close_loss(lua_State *L)
{
	Fe *fe = fe_get(L);
	if (fe->loss >= 0)
		ir_add_output(fe->g, FE_LOSS, fe->loss);
}

/* Register the loss builtins in the global table. */
void fe_open_loss(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"label", fl_label}, {"xent", fl_xent}, {"bmean", fl_bmean},
		{"loss", fl_loss}, {"task", fl_task}, {NULL, NULL},
	};
	lua_pushglobaltable(L);
	luaL_setfuncs(L, fns, 0);
	lua_pop(L, 1);
}
