/*
** tensor.c -- the tensor userdata and the one way nodes are made.
**
** A tensor is a full userdata holding a node id of the load's graph. Its
** metatable gives x.shape (a table, the batch dimension as the string "N"),
** x.dtype, x.rank, x.op, x.id, tostring(x), and the operators + - * / and
** unary minus (numbers become constants of shape [1]).
**
** Every node goes through fe_node (which records the innermost Lua line as
** its loc) and fe_finish (which runs shape inference and turns its error
** into a Lua error at the user's line).
*/
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "fe.h"

typedef struct Tensor {
	int id;
} Tensor;

/* Push a tensor for node id. */
void fe_push_tensor(lua_State *L, int id)
{
	Tensor *t = lua_newuserdatauv(L, sizeof *t, 0);
	t->id = id;
	luaL_setmetatable(L, FE_TENSOR);
}

/* The node id of the tensor at idx, or -1 when it is not a tensor. */
int fe_to_tensor(lua_State *L, int idx)
{
	Tensor *t = luaL_testudata(L, idx, FE_TENSOR);
	return t ? t->id : -1;
}

/* The node id of the tensor argument idx of fn; raises otherwise. */
int fe_check_tensor(lua_State *L, int idx, const char *fn)
{
	int id = fe_to_tensor(L, idx);
	if (id < 0)
		fe_error(L, "%s: expected a tensor as argument %d, got %s", fn, idx, luaL_typename(L, idx));
	return id;
}

/* How a value is named in an arity message: "a tensor", "a number", "nil". */
static const char *kind_of(lua_State *L, int idx)
{
	switch (lua_type(L, idx)) {
	case LUA_TNIL: return "nil";
	case LUA_TNUMBER: return "a number";
	case LUA_TSTRING: return "a string";
	case LUA_TTABLE: return "a table";
	case LUA_TBOOLEAN: return "a boolean";
	case LUA_TFUNCTION: return "a function";
	default: return fe_to_tensor(L, idx) >= 0 ? "a tensor" : "a userdata";
	}
}

/* Push "1 argument", "2 arguments", "2 to 4 arguments" or "at least 2 arguments". */
static const char *push_takes(lua_State *L, int min, int max)
{
	if (max == INT_MAX)
		return lua_pushfstring(L, "at least %d argument%s", min, min == 1 ? "" : "s");
	if (min == max)
		return lua_pushfstring(L, "%d argument%s", min, min == 1 ? "" : "s");
	return lua_pushfstring(L, "%d to %d arguments", min, max);
}

/* Raise "fn: surplus argument K (a number); SIG takes N arguments": the
** nsurplus values from stack index idx on are arguments max + 1, ... of
** the function whose signature is sig ("relu(x)", "nn.dense(name, x, out
** [, {bias=true}])"; its name is what comes before the '(' or '{'). */
void fe_surplus(lua_State *L, const char *sig, int idx, int nsurplus, int min, int max)
{
	int fl = (int)strcspn(sig, "({");
	const char *takes = push_takes(L, min, max);
	if (nsurplus == 1)
		fe_error(L, "%.*s: surplus argument %d (%s); %s takes %s", fl, sig, max + 1, kind_of(L, idx), sig, takes);
	fe_error(L, "%.*s: surplus arguments %d to %d (the first is %s); %s takes %s", fl, sig, max + 1,
	         max + nsurplus, kind_of(L, idx), sig, takes);
}

/* Raise unless the builtin whose signature is sig (see fe_surplus) got
** between min and max arguments (max INT_MAX: no limit). */
void fe_check_nargs(lua_State *L, const char *sig, int min, int max)
{
	int n = lua_gettop(L);
	if (n > max)
		fe_surplus(L, sig, max + 1, n - max, min, max);
	if (n < min) {
		int fl = (int)strcspn(sig, "({");
		const char *takes = push_takes(L, min, max);
		fe_error(L, "%.*s: missing argument %d; %s takes %s", fl, sig, n + 1, sig, takes);
	}
}

/* Write the loc of a new node into buf: the innermost line in a user file
** (the model script or a module beside it), so that a node built inside
** frontend/lib points at the model line that asked for it; else the
** innermost Lua line. Returns buf or NULL. */
static const char *loc(lua_State *L, char *buf, size_t cap)
{
	if (fe_user_frame(L, buf, cap))
		return buf;
	lua_Debug ar;
	for (int level = 1; lua_getstack(L, level, &ar); level++) {
		lua_getinfo(L, "Sl", &ar);
		if (ar.currentline <= 0)
			continue;
		const char *src = ar.source[0] == '@' ? ar.source + 1 : ar.short_src;
		snprintf(buf, cap, "%s:%d", src, ar.currentline);
		return buf;
	}
	return NULL;
}

/* Append a node for op with operands in[] at the current Lua line. */
Node *fe_node(lua_State *L, Op op, int nin, const int *in)
{
	Fe *fe = fe_get(L);
	char buf[FE_PATHMAX];
	if (fe->g->nnodes >= FE_MAXNODES)
		fe_error(L, "%s: the model has more than %d nodes", ir_ops[op].name, FE_MAXNODES);
	return ir_add(fe->g, op, nin, in, loc(L, buf, sizeof buf));
}

/* Infer nd's shape and push it as a tensor; on a shape error drop the node
** and raise "fn: message" at the user's line. */
int fe_finish(lua_State *L, Node *nd, const char *fn)
{
	Fe *fe = fe_get(L);
	Err e = {0};
	if (ir_infer_node(fe->g, nd, &e) == 0) {
		fe_push_tensor(L, nd->id);
		return 1;
	}
	if (nd->id == fe->g->nnodes - 1)
		fe->g->nnodes--;
	const char *msg = e.msg;
	size_t n = nd->loc ? strlen(nd->loc) : 0;
	if (n && strncmp(msg, nd->loc, n) == 0 && msg[n] == ':')
		msg += n + 1 + (msg[n + 1] == ' ');
	size_t fl = strlen(fn);
	int named = strncmp(msg, fn, fl) == 0 && msg[fl] == ':';
	return fe_error(L, "%s%s%s", named ? "" : fn, named ? "" : ": ", msg);
}

/* Make a constant node with values v (numel of s of them); return its id. */
int fe_const(lua_State *L, const float *v, const Shape *s)
{
	Fe *fe = fe_get(L);
	Node *nd = fe_node(L, OP_CONST, 0, NULL);
	int64_t n = ir_numel(s, 1);
	nd->shape = *s;
	nd->a.data = ir_alloc(&fe->g->arena, (size_t)n * sizeof(float));
	memcpy(nd->a.data, v, (size_t)n * sizeof(float));
	fe_finish(L, nd, "const");
	lua_pop(L, 1);
	return nd->id;
}

/* The node id of argument idx of fn: a tensor, or a number made a [1] const. */
int fe_operand(lua_State *L, int idx, const char *fn)
{
	int id = fe_to_tensor(L, idx);
	if (id >= 0)
		return id;
	if (lua_type(L, idx) != LUA_TNUMBER)
		fe_error(L, "%s: expected a tensor or a number as argument %d, got %s", fn, idx, luaL_typename(L, idx));
	float v = (float)lua_tonumber(L, idx);
	Shape s = {.rank = 1, .d = {1}};
	return fe_const(L, &v, &s);
}

/* A binary broadcasting op on arguments 1 and 2. */
int fe_binop(lua_State *L, Op op, const char *fn)
{
	char sig[32];
	snprintf(sig, sizeof sig, "%s(a, b)", fn);
	fe_check_nargs(L, sig, 2, 2);
	int in[2] = {fe_operand(L, 1, fn), fe_operand(L, 2, fn)};
	return fe_finish(L, fe_node(L, op, 2, in), fn);
}

/* a + b, a - b, a * b, a / b   (either side may be a number) */
static int t_add(lua_State *L) { return fe_binop(L, OP_ADD, "add"); }
static int t_sub(lua_State *L) { return fe_binop(L, OP_SUB, "sub"); }
static int t_mul(lua_State *L) { return fe_binop(L, OP_MUL, "mul"); }
static int t_div(lua_State *L) { return fe_binop(L, OP_DIV, "div"); }

/* -x (Lua passes the operand twice) */
static int t_unm(lua_State *L)
{
	int in = fe_check_tensor(L, 1, "neg");
	return fe_finish(L, fe_node(L, OP_NEG, 1, &in), "neg");
}

/* tostring(x) -> "tensor %3 conv2d f32[N,8,28,28]" */
static int t_tostring(lua_State *L)
{
	Node *nd = fe_get(L)->g->nodes[fe_check_tensor(L, 1, "tostring")];
	char ty[128];
	ir_fmt_type(ty, sizeof ty, nd->dtype, &nd->shape);
	if (nd->a.name)
		lua_pushfstring(L, "tensor %%%d %s \"%s\" %s", nd->id, ir_ops[nd->op].name, nd->a.name, ty);
	else
		lua_pushfstring(L, "tensor %%%d %s %s", nd->id, ir_ops[nd->op].name, ty);
	return 1;
}

/* x.shape, x.dtype, x.rank, x.op, x.id, x.name */
static int t_index(lua_State *L)
{
	Node *nd = fe_get(L)->g->nodes[fe_check_tensor(L, 1, "index")];
	const char *k = lua_tostring(L, 2);
	if (k && strcmp(k, "shape") == 0)
		fe_push_shape(L, &nd->shape);
	else if (k && strcmp(k, "dtype") == 0)
		lua_pushstring(L, ir_dtype_name(nd->dtype));
	else if (k && strcmp(k, "rank") == 0)
		lua_pushinteger(L, nd->shape.rank);
	else if (k && strcmp(k, "op") == 0)
		lua_pushstring(L, ir_ops[nd->op].name);
	else if (k && strcmp(k, "id") == 0)
		lua_pushinteger(L, nd->id);
	else if (k && strcmp(k, "name") == 0)
		lua_pushstring(L, nd->a.name);
	else {
		static const char *const fields[] = {"shape", "dtype", "rank", "op", "id", "name", NULL};
		FeNear near;
		fe_near_init(&near, k ? k : "");
		fe_near_list(&near, fields);
		fe_near_push(L, &near);
		return fe_error(L, "a tensor has no field '%s' (fields: shape, dtype, rank, op, id, name)%s",
		                k ? k : luaL_typename(L, 2), lua_tostring(L, -1));
	}
	return 1;
}

/* x.field = v is an error: tensors are values. */
static int t_newindex(lua_State *L)
{
	return fe_error(L, "tensors are read-only (cannot set field '%s')", luaL_tolstring(L, 2, NULL));
}

/* istensor(v) -> true when v is a tensor */
static int t_istensor(lua_State *L)
{
	fe_check_nargs(L, "istensor(v)", 1, 1);
	lua_pushboolean(L, fe_to_tensor(L, 1) >= 0);
	return 1;
}

/* Create the tensor metatable and the istensor builtin. */
void fe_open_tensor(lua_State *L)
{
	static const luaL_Reg mt[] = {
		{"__add", t_add}, {"__sub", t_sub}, {"__mul", t_mul}, {"__div", t_div},
		{"__unm", t_unm}, {"__tostring", t_tostring}, {"__index", t_index},
		{"__newindex", t_newindex}, {NULL, NULL},
	};
	luaL_newmetatable(L, FE_TENSOR);
	luaL_setfuncs(L, mt, 0);
	lua_pop(L, 1);
	lua_register(L, "istensor", t_istensor);
}
