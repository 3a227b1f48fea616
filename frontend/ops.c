/*
** ops.c -- the op builtins: one Lua function per graph op (add, sub, mul,
** div and neg also back the tensor operators, see tensor.c).
*/
#include <stdio.h>
#include <string.h>

#include "fe.h"

/* The optional tensor argument idx (nil or absent gives -1). */
static int opt_tensor(lua_State *L, int idx, const char *fn)
{
	return lua_isnoneornil(L, idx) ? -1 : fe_check_tensor(L, idx, fn);
}

/* Parse a mode name for fn among the allowed ones. */
static Mode check_mode(lua_State *L, const char *fn, const char *s, const char *const *allowed, const Mode *modes)
{
	for (int i = 0; allowed[i]; i++)
		if (!strcmp(s, allowed[i]))
			return modes[i];
	FeNear near;
	fe_near_init(&near, s);
	fe_near_list(&near, allowed);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 0; allowed[i]; i++) {
		luaL_addstring(&b, i ? ", " : "");
		luaL_addstring(&b, allowed[i]);
	}
	luaL_pushresult(&b);
	fe_near_push(L, &near);
	return (Mode)fe_error(L, "%s: unknown mode \"%s\" (modes: %s)%s", fn, s, lua_tostring(L, -2), lua_tostring(L, -1));
}

/* conv2d(x, w [, b] [, {stride=1, pad=0}]) -> tensor; w is OIHW, b may be nil */
static int op_conv2d(lua_State *L)
{
	static const char *const opts[] = {"stride", "pad", NULL};
	fe_check_nargs(L, "conv2d(x, w [, b] [, {stride=1, pad=0}])", 2, 4);
	int in[3] = {fe_check_tensor(L, 1, "conv2d"), fe_check_tensor(L, 2, "conv2d"), opt_tensor(L, 3, "conv2d")};
	fe_check_opts(L, 4, "conv2d", opts);
	int64_t stride[2], pad[2];
	fe_opt_pair(L, 4, "conv2d", "stride", 1, stride);
	fe_opt_pair(L, 4, "conv2d", "pad", 0, pad);
	if (stride[0] < 1 || stride[1] < 1)
		fe_error(L, "conv2d: stride must be at least 1");
	Node *nd = fe_node(L, OP_CONV2D, in[2] < 0 ? 2 : 3, in);
	memcpy(nd->a.stride, stride, sizeof stride);
	memcpy(nd->a.pad, pad, sizeof pad);
	return fe_finish(L, nd, "conv2d");
}

/* dense(x, w [, b]) -> tensor; x [N,K], w [O,K] (PyTorch Linear), b [O] or nil */
static int op_dense(lua_State *L)
{
	fe_check_nargs(L, "dense(x, w [, b])", 2, 3);
	int in[3] = {fe_check_tensor(L, 1, "dense"), fe_check_tensor(L, 2, "dense"), opt_tensor(L, 3, "dense")};
	return fe_finish(L, fe_node(L, OP_DENSE, in[2] < 0 ? 2 : 3, in), "dense");
}

/* matmul(a, b) -> tensor; a [M,K], b [K,P] */
static int op_matmul(lua_State *L)
{
	fe_check_nargs(L, "matmul(a, b)", 2, 2);
	int in[2] = {fe_check_tensor(L, 1, "matmul"), fe_check_tensor(L, 2, "matmul")};
	return fe_finish(L, fe_node(L, OP_MATMUL, 2, in), "matmul");
}

/* add(a, b), sub(a, b), mul(a, b), div(a, b) -> tensor; a, b tensors or numbers
** (the op is the closure's upvalue) */
static int op_binary(lua_State *L)
{
	Op op = (Op)lua_tointeger(L, lua_upvalueindex(1));
	return fe_binop(L, op, ir_ops[op].name);
}

/* neg(x), relu(x), sigmoid(x), tanh(x), exp(x), log(x), softmax(x),
** logsoftmax(x) -> tensor (the op is the closure's upvalue) */
static int op_unary(lua_State *L)
{
	Op op = (Op)lua_tointeger(L, lua_upvalueindex(1));
	const char *fn = ir_ops[op].name;
	char sig[32];
	snprintf(sig, sizeof sig, "%s(x)", fn);
	fe_check_nargs(L, sig, 1, 1);
	int in = fe_check_tensor(L, 1, fn);
	return fe_finish(L, fe_node(L, op, 1, &in), fn);
}

/* gavg(x [, {keepdims=false}]), gmax(...), gmin(...) -> [N,C] or [N,C,1,1] */
static int op_global(lua_State *L)
{
	static const char *const opts[] = {"keepdims", NULL};
	Op op = (Op)lua_tointeger(L, lua_upvalueindex(1));
	const char *fn = ir_ops[op].name;
	char sig[48];
	snprintf(sig, sizeof sig, "%s(x [, {keepdims=false}])", fn);
	fe_check_nargs(L, sig, 1, 2);
	int in = fe_check_tensor(L, 1, fn);
	fe_check_opts(L, 2, fn, opts);
	int keep = fe_opt_bool(L, 2, fn, "keepdims", 0);
	Node *nd = fe_node(L, op, 1, &in);
	nd->a.keepdims = keep;
	return fe_finish(L, nd, fn);
}

/* maxpool(x, {kernel=K [, stride=K] [, pad=0]}), avgpool(...) -> tensor */
static int op_pool(lua_State *L)
{
	static const char *const opts[] = {"kernel", "stride", "pad", NULL};
	Op op = (Op)lua_tointeger(L, lua_upvalueindex(1));
	const char *fn = ir_ops[op].name;
	char sig[64];
	snprintf(sig, sizeof sig, "%s(x, {kernel=K [, stride=K] [, pad=0]})", fn);
	fe_check_nargs(L, sig, 2, 2);
	int in = fe_check_tensor(L, 1, fn);
	fe_check_opts(L, 2, fn, opts);
	int64_t k[2], s[2], p[2];
	fe_opt_pair(L, 2, fn, "kernel", 0, k);
	if (k[0] < 1 || k[1] < 1)
		fe_error(L, "%s: option 'kernel' is required and must be at least 1", fn);
	fe_opt_pair(L, 2, fn, "stride", 0, s);
	if (s[0] == 0)
		memcpy(s, k, sizeof s);
	fe_opt_pair(L, 2, fn, "pad", 0, p);
	Node *nd = fe_node(L, op, 1, &in);
	memcpy(nd->a.kernel, k, sizeof k);
	memcpy(nd->a.stride, s, sizeof s);
	memcpy(nd->a.pad, p, sizeof p);
	return fe_finish(L, nd, fn);
}

/* batchnorm(x, gamma, beta, mean, var [, {eps=1e-3, momentum=0.1, mode="running"}]) -> tensor */
static int op_batchnorm(lua_State *L)
{
	static const char *const opts[] = {"eps", "momentum", "mode", NULL};
	static const char *const names[] = {"running", "batch", NULL};
	static const Mode modes[] = {MODE_RUNNING, MODE_BATCH};
	fe_check_nargs(L, "batchnorm(x, gamma, beta, mean, var [, {eps, momentum, mode}])", 5, 6);
	int in[5];
	for (int i = 0; i < 5; i++)
		in[i] = fe_check_tensor(L, i + 1, "batchnorm");
	fe_check_opts(L, 6, "batchnorm", opts);
	double eps = fe_opt_num(L, 6, "batchnorm", "eps", 1e-3);
	double mom = fe_opt_num(L, 6, "batchnorm", "momentum", 0.1);
	Mode m = check_mode(L, "batchnorm", fe_opt_str(L, 6, "batchnorm", "mode", "running"), names, modes);
	if (!(eps > 0) || !(mom >= 0 && mom <= 1))
		fe_error(L, "batchnorm: eps must be positive and momentum in [0, 1]");
	Node *nd = fe_node(L, OP_BATCHNORM, 5, in);
	nd->a.eps = (float)eps;
	nd->a.momentum = (float)mom;
	nd->a.mode = m;
	return fe_finish(L, nd, "batchnorm");
}

/* concat({a, b, ...} [, axis=1]) -> tensor; a negative axis counts from the end */
static int op_concat(lua_State *L)
{
	fe_check_nargs(L, "concat({a, b, ...} [, axis=1])", 1, 2);
	if (!lua_istable(L, 1))
		fe_error(L, "concat: expected a table of tensors as argument 1, got %s", luaL_typename(L, 1));
	int n = (int)luaL_len(L, 1), in[IR_MAXIN];
	if (n < 1 || n > IR_MAXIN)
		fe_error(L, "concat: expected 1 to %d tensors, got %d", IR_MAXIN, n);
	for (int i = 0; i < n; i++) {
		lua_rawgeti(L, 1, i + 1);
		in[i] = fe_to_tensor(L, -1);
		if (in[i] < 0)
			fe_error(L, "concat: item %d of the table is %s, not a tensor", i + 1, luaL_typename(L, -1));
		lua_pop(L, 1);
	}
	lua_Integer axis = luaL_optinteger(L, 2, 1);
	if (axis < 0)
		axis += fe_get(L)->g->nodes[in[0]]->shape.rank;
	Node *nd = fe_node(L, OP_CONCAT, n, in);
	nd->a.axis = (int)axis;
	return fe_finish(L, nd, "concat");
}

/* Make a reshape of node x to shape t. */
static int reshape_to(lua_State *L, int x, const Shape *t, const char *fn)
{
	Node *nd = fe_node(L, OP_RESHAPE, 1, &x);
	nd->a.shape = *t;
	return fe_finish(L, nd, fn);
}

/* reshape(x, {["N",] d1, d2, ...}) -> tensor; a batched x keeps N in front even when the target omits it */
static int op_reshape(lua_State *L)
{
	fe_check_nargs(L, "reshape(x, shape)", 2, 2);
	int x = fe_check_tensor(L, 1, "reshape");
	Shape t;
	fe_check_shape(L, 2, "reshape", 1, &t);
	if (ir_batched(&fe_get(L)->g->nodes[x]->shape) && t.d[0] != IR_N) {
		if (t.rank == IR_MAXDIM)
			fe_error(L, "reshape: at most %d dimensions after N", IR_MAXDIM - 1);
		memmove(t.d + 1, t.d, sizeof(int64_t) * (size_t)t.rank);
		t.d[0] = IR_N;
		t.rank++;
	}
	return reshape_to(L, x, &t, "reshape");
}

/* flatten(x) -> [N, C*H*W] for a batched x (x itself when already [N,K]) */
static int op_flatten(lua_State *L)
{
	fe_check_nargs(L, "flatten(x)", 1, 1);
	int x = fe_check_tensor(L, 1, "flatten");
	const Shape *s = &fe_get(L)->g->nodes[x]->shape;
	int b = ir_batched(s);
	if (s->rank == 1 + b)
		return 1;
	Shape t = {.rank = 1 + b, .d = {IR_N}};
	t.d[b] = ir_numel(s, 1);
	return reshape_to(L, x, &t, "flatten");
}

/* dropout(x, p [, mode="train"]) -> tensor; mode "off" | "train" | "mc"; each gets the next RNG stream */
static int op_dropout(lua_State *L)
{
	static const char *const names[] = {"off", "train", "mc", NULL};
	static const Mode modes[] = {MODE_OFF, MODE_TRAIN, MODE_MC};
	Fe *fe = fe_get(L);
	fe_check_nargs(L, "dropout(x, p [, mode=\"train\"])", 2, 3);
	int x = fe_check_tensor(L, 1, "dropout");
	if (lua_type(L, 2) != LUA_TNUMBER)
		fe_error(L, "dropout: expected a number (the drop probability) as argument 2, got %s", luaL_typename(L, 2));
	double p = lua_tonumber(L, 2);
	Mode m = check_mode(L, "dropout", luaL_optstring(L, 3, "train"), names, modes);
	Node *nd = fe_node(L, OP_DROPOUT, 1, &x);
	nd->a.p = (float)p;
	nd->a.mode = m;
	nd->a.stream = fe->nstreams;
	fe_finish(L, nd, "dropout");
	fe->nstreams++;
	return 1;
}

/* Register fn as a closure over op. */
static void reg_op(lua_State *L, lua_CFunction fn, Op op)
{
	lua_pushinteger(L, op);
	lua_pushcclosure(L, fn, 1);
	lua_setfield(L, -2, ir_ops[op].name);
}

/* Register every op builtin in the global table. */
void fe_open_ops(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"conv2d", op_conv2d}, {"dense", op_dense}, {"matmul", op_matmul},
		{"batchnorm", op_batchnorm}, {"concat", op_concat}, {"reshape", op_reshape},
		{"flatten", op_flatten}, {"dropout", op_dropout}, {NULL, NULL},
	};
	static const Op bin[] = {OP_ADD, OP_SUB, OP_MUL, OP_DIV};
	static const Op un[] = {OP_NEG, OP_RELU, OP_SIGMOID, OP_TANH, OP_EXP, OP_LOG, OP_SOFTMAX, OP_LOGSOFTMAX};
	static const Op glob[] = {OP_GAVG, OP_GMAX, OP_GMIN};
	lua_pushglobaltable(L);
	luaL_setfuncs(L, fns, 0);
	for (size_t i = 0; i < sizeof bin / sizeof *bin; i++)
		reg_op(L, op_binary, bin[i]);
	for (size_t i = 0; i < sizeof un / sizeof *un; i++)
		reg_op(L, op_unary, un[i]);
	for (size_t i = 0; i < sizeof glob / sizeof *glob; i++)
		reg_op(L, op_global, glob[i]);
	reg_op(L, op_pool, OP_MAXPOOL);
	reg_op(L, op_pool, OP_AVGPOOL);
	lua_pop(L, 1);
}
