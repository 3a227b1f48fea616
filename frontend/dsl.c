/*
** dsl.c -- the builtins that declare things: config, input, param, buffer,
** scope, output, const. The op builtins are in ops.c, the losses in loss.c.
*/
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fe.h"

#define CONFIG_MT "lunac.config"

/* The string argument idx of fn, raising when it is not a non-empty string
** without NUL bytes (C code would see only the part before the first). */
const char *fe_check_name(lua_State *L, int idx, const char *fn, const char *what)
{
	if (lua_type(L, idx) != LUA_TSTRING || !*lua_tostring(L, idx))
		fe_error(L, "%s: expected a string (%s) as argument %d, got %s", fn, what, idx,
		         lua_type(L, idx) == LUA_TSTRING ? "an empty string" : luaL_typename(L, idx));
	size_t n;
	const char *s = lua_tolstring(L, idx, &n);
	if (strlen(s) != n)
		fe_error(L, "%s: %s contains a NUL byte", fn, what);
	return s;
}

/* Raise "fn: the name "name" why" unless name may name a thing of kind. */
void fe_check_name_kind(lua_State *L, const char *name, NameKind kind, const char *fn)
{
	char q[IR_QUOTELEN];
	const char *why = ir_name_error(kind, name, strlen(name));
	if (why)
		fe_error(L, "%s: the name \"%s\" %s", fn, ir_quote(q, sizeof q, name), why);
}

/* Parse s as a number; sets *isint when it is integral. */
static int parse_num(const char *s, double *v, int *isint)
{
	char *end;
	while (*s == ' ')
		s++;
	*v = strtod(s, &end);
	while (*end == ' ')
		end++;
	if (end == s || *end || !isfinite(*v))
		return 0;
	*isint = *v == floor(*v) && fabs(*v) < 9e15;
	return 1;
}

/* Push the -D string buf converted to the type of the default at idx (a
** scalar, an absolute index); returns 0 (nothing pushed) when it does not
** parse. */
static int convert_str(lua_State *L, int idx, const char *buf)
{
	double v;
	int isint;
	switch (lua_type(L, idx)) {
	case LUA_TNUMBER:
		if (!parse_num(buf, &v, &isint) || (lua_isinteger(L, idx) && !isint))
			return 0;
		if (lua_isinteger(L, idx))
			lua_pushinteger(L, (lua_Integer)v);
		else
			lua_pushnumber(L, v);
		return 1;
	case LUA_TBOOLEAN:
		if (!strcmp(buf, "true") || !strcmp(buf, "1") || !strcmp(buf, "yes") || !strcmp(buf, "on"))
			lua_pushboolean(L, 1);
		else if (!strcmp(buf, "false") || !strcmp(buf, "0") || !strcmp(buf, "no") || !strcmp(buf, "off"))
			lua_pushboolean(L, 0);
		else
			return 0;
		return 1;
	default:
		lua_pushstring(L, buf);
		return 1;
	}
}

/* Push the -D string s (n bytes, any length) converted to the type of the
** default at idx (an absolute index); returns 0 when it does not parse. */
static int convert(lua_State *L, int idx, const char *s, size_t n)
{
	lua_pushlstring(L, s, n);
	int r = convert_str(L, idx, lua_tostring(L, -1));
	lua_remove(L, r ? -2 : -1);
	return r;
}

/* Push the -D value for a table default at idx: "a,b,c" with each item of
** the type of the default's first item (a number when it is empty). */
static int convert_list(lua_State *L, int idx, const char *s)
{
	lua_rawgeti(L, idx, 1);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_pushnumber(L, 0);
	}
	int proto = lua_gettop(L);
	lua_newtable(L);
	for (int i = 1; *s; i++) {
		const char *c = strchr(s, ',');
		size_t n = c ? (size_t)(c - s) : strlen(s);
		if (!convert(L, proto, s, n)) {
			lua_pop(L, 2);
			return 0;
		}
		lua_rawseti(L, -2, i);
		s += n + (c != NULL);
	}
	lua_remove(L, proto);
	return 1;
}

/* A name for the type a default at idx expects, for messages. */
static const char *expects(lua_State *L, int idx)
{
	if (lua_isinteger(L, idx))
		return "an integer";
	switch (lua_type(L, idx)) {
	case LUA_TNUMBER: return "a number";
	case LUA_TBOOLEAN: return "true or false";
	case LUA_TTABLE: return "a comma-separated list";
	default: return "a string";
	}
}

/* Check a default (value at -1, key k) and mark k declared. */
static void declare(lua_State *L, const char *k)
{
	int t = lua_type(L, -1);
	if (t != LUA_TNUMBER && t != LUA_TBOOLEAN && t != LUA_TSTRING && t != LUA_TTABLE)
		fe_error(L, "config: the default of '%s' must be a number, boolean, string or table, got %s", k,
		         luaL_typename(L, -1));
	lua_getfield(L, LUA_REGISTRYINDEX, REG_DECLARED);
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, k);
	lua_pop(L, 1);
}

/* config{key = default, ...} -> cfg, the defaults with -D overrides applied */
static int dsl_config(lua_State *L)
{
	Fe *fe = fe_get(L);
	fe_check_nargs(L, "config{key = default, ...}", 1, 1);
	if (!lua_istable(L, 1))
		fe_error(L, "config: expected a table of defaults as argument 1, got %s", luaL_typename(L, 1));
	if (!fe->config_loc[0] && fe_where(L, 1, fe->config_loc, sizeof fe->config_loc))
		fe->config_loc[strlen(fe->config_loc) - 2] = 0;     /* drop ": " */
	lua_newtable(L);                                         /* 2: cfg */
	lua_pushnil(L);
	while (lua_next(L, 1)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			fe_error(L, "config: keys must be names, got %s", luaL_typename(L, -2));
		declare(L, lua_tostring(L, -2));
		lua_pushvalue(L, -2);
		lua_insert(L, -2);
		lua_rawset(L, 2);
	}
	for (int i = 0; i < fe->ndefs; i++) {
		const Define *d = &fe->defs[i];
		if (lua_getfield(L, 1, d->key) == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		int ok = lua_istable(L, -1) ? convert_list(L, lua_gettop(L), d->value)
		                            : convert(L, lua_gettop(L), d->value, strlen(d->value));
		if (!ok) {
			const char *want = expects(L, -1);
			fe_error(L, "config: -D %s=%s: expected %s (the default is %s)", d->key, d->value, want,
			         luaL_tolstring(L, -1, NULL));
		}
		lua_setfield(L, 2, d->key);
		lua_pop(L, 1);
	}
	luaL_setmetatable(L, CONFIG_MT);
	return 1;
}

/* cfg.key for a key no config{} declared is an error, not nil. */
static int config_index(lua_State *L)
{
	const char *k = luaL_tolstring(L, 2, NULL);
	FeNear s;
	fe_near_init(&s, k);
	for (lua_pushnil(L); lua_next(L, 1); lua_pop(L, 1))
		if (lua_type(L, -2) == LUA_TSTRING)
			fe_near_add(&s, "", lua_tostring(L, -2), "");
	fe_near_push(L, &s);
	return fe_error(L, "config: no key '%s' (declare it with a default in config{...})%s", k, lua_tostring(L, -1));
}

/* Raise at config{}'s line for a -D key that no config{} declared. */
int fe_check_defs(lua_State *L)
{
	Fe *fe = fe_get(L);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_DECLARED);
	for (int i = 0; i < fe->ndefs; i++) {
		if (lua_getfield(L, -1, fe->defs[i].key) != LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		if (fe->config_loc[0])
			return luaL_error(L, "%s: unknown -D key '%s' (config{} declares no such key)", fe->config_loc,
			                  fe->defs[i].key);
		return luaL_error(L, "%s: unknown -D key '%s' (the script calls no config{})", fe->path, fe->defs[i].key);
	}
	lua_pop(L, 1);
	return 0;
}

/* Raise unless fn may make an input called name (no input has it yet). */
void fe_check_input(lua_State *L, const char *name, const char *fn)
{
	lua_getfield(L, LUA_REGISTRYINDEX, REG_INPUTS);
	if (lua_getfield(L, -1, name) != LUA_TNIL)
		fe_error(L, "%s: duplicate input name '%s'", fn, name);
	lua_pop(L, 2);
}

/* Make an input called name of shape [N, s...] and dtype dt for fn and push
** it; raises when an input of that name exists. */
int fe_new_input(lua_State *L, const char *name, const Shape *s, DType dt, const char *fn)
{
	Fe *fe = fe_get(L);
	if (s->rank + 1 > IR_MAXDIM)
		fe_error(L, "%s: at most %d dimensions after the batch dimension", fn, IR_MAXDIM - 1);
	fe_check_name_kind(L, name, NAME_INPUT, fn);
	fe_check_input(L, name, fn);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_INPUTS);
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, name);
	lua_pop(L, 1);
	Node *nd = fe_node(L, OP_INPUT, 0, NULL);
	nd->a.name = ir_strdup(&fe->g->arena, name);
	nd->dtype = dt;
	nd->shape.rank = s->rank + 1;
	nd->shape.d[0] = IR_N;
	for (int i = 0; i < s->rank; i++)
		nd->shape.d[i + 1] = s->d[i];
	return fe_finish(L, nd, fn);
}

/* input(name, {C, H, W} [, dtype]) -> tensor of shape [N, C, H, W] */
static int dsl_input(lua_State *L)
{
	fe_check_nargs(L, "input(name, {C, H, W} [, dtype])", 2, 3);
	const char *name = fe_check_name(L, 1, "input", "the input's name");
	Shape s = {0};
	if (!lua_istable(L, 2) || luaL_len(L, 2) > 0)
		fe_check_shape(L, 2, "input", 0, &s);
	const char *dt = luaL_optstring(L, 3, "f32");
	if (strcmp(dt, "f32") && strcmp(dt, "i32"))
		fe_error(L, "input: dtype must be \"f32\" or \"i32\", got \"%s\"", dt);
	return fe_new_input(L, name, &s, strcmp(dt, "i32") ? DT_F32 : DT_I32, "input");
}

/* Make a param or buffer named scope.localname (shared by both builtins). */
static int stored(lua_State *L, Op op, const char *fn, Init def)
{
	Fe *fe = fe_get(L);
	fe_check_nargs(L, op == OP_PARAM ? "param(name, shape [, init])" : "buffer(name, shape [, init])", 2, 3);
	const char *local = fe_check_name(L, 1, fn, "a name");
	Shape s;
	fe_check_shape(L, 2, fn, 0, &s);
	const char *init = luaL_optstring(L, 3, ir_init_name(def));
	Init in = !strcmp(init, "glorot") ? INIT_GLOROT : !strcmp(init, "zeros") ? INIT_ZEROS
	        : !strcmp(init, "ones") ? INIT_ONES : INIT_NONE;
	if (in == INIT_NONE) {
		static const char *const inits[] = {"glorot", "zeros", "ones", NULL};
		FeNear near;
		fe_near_init(&near, init);
		fe_near_list(&near, inits);
		fe_near_push(L, &near);
		fe_error(L, "%s: init must be \"glorot\", \"zeros\" or \"ones\", got \"%s\"%s", fn, init, lua_tostring(L, -1));
	}
	const char *full = lua_pushfstring(L, "%s%s%s", fe->scope, fe->scopelen ? "." : "", local);
	fe_check_name_kind(L, full, NAME_PARAM, fn);
	char here[FE_PATHMAX];
	fe_user_frame(L, here, sizeof here);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_NAMES);
	if (lua_getfield(L, -1, full) != LUA_TNIL)
		fe_error(L, "%s: duplicate name '%s' (first made at %s)", fn, full, lua_tostring(L, -1));
	lua_pushstring(L, here);
	lua_setfield(L, -3, full);
	Node *nd = fe_node(L, op, 0, NULL);
	nd->a.name = ir_strdup(&fe->g->arena, full);
	nd->a.init = in;
	nd->shape = s;
	return fe_finish(L, nd, fn);
}

/* param(localname, shape [, init]) -> tensor; init "glorot" (default) | "zeros" | "ones" */
static int dsl_param(lua_State *L) { return stored(L, OP_PARAM, "param", INIT_GLOROT); }

/* buffer(localname, shape [, init]) -> tensor; init "zeros" (default) | "ones" | "glorot" */
static int dsl_buffer(lua_State *L) { return stored(L, OP_BUFFER, "buffer", INIT_ZEROS); }

/* scope(name, fn, ...) -> fn(...)'s results, with name pushed on the scope path */
static int dsl_scope(lua_State *L)
{
	Fe *fe = fe_get(L);
	fe_check_nargs(L, "scope(name, fn, ...)", 2, INT_MAX);
	const char *name = fe_check_name(L, 1, "scope", "the scope's name");
	luaL_checktype(L, 2, LUA_TFUNCTION);
	size_t saved = fe->scopelen, n = strlen(name);
	if (saved + n + 2 > sizeof fe->scope)
		fe_error(L, "scope: the scope path would be longer than %d bytes", (int)sizeof fe->scope - 2);
	if (saved)
		fe->scope[fe->scopelen++] = '.';
	memcpy(fe->scope + fe->scopelen, name, n + 1);
	fe->scopelen += n;
	lua_pushcfunction(L, fe_msghandler);
	lua_replace(L, 1);
	int status = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 1);
	fe->scopelen = saved;
	fe->scope[saved] = 0;
	if (status != LUA_OK)
		return lua_error(L);
	return lua_gettop(L) - 1;
}

/* Raise unless fn may add an output called name: it is new, and "loss" is
** kept for the sum of the loss terms. */
void fe_check_output(lua_State *L, const char *name, const char *fn)
{
	fe_check_name_kind(L, name, NAME_OUTPUT, fn);
	if (!strcmp(name, FE_LOSS))
		fe_error(L, "%s: the name '%s' is reserved for the model's loss: %s", fn, FE_LOSS,
		         strcmp(fn, "output") ? "choose another name"
		                              : "add terms to it with loss(x) (task() adds one per head)");
	lua_getfield(L, LUA_REGISTRYINDEX, REG_OUTPUTS);
	if (lua_getfield(L, -1, name) != LUA_TNIL)
		fe_error(L, "%s: duplicate output name '%s'", fn, name);
	lua_pop(L, 2);
}

/* Mark node id as the output called name (checked by fe_check_output). */
void fe_new_output(lua_State *L, const char *name, int id)
{
	lua_getfield(L, LUA_REGISTRYINDEX, REG_OUTPUTS);
	lua_pushboolean(L, 1);
	lua_setfield(L, -2, name);
	lua_pop(L, 1);
	ir_add_output(fe_get(L)->g, name, id);
}

/* output(name, x) -> x; marks x as the graph output called name */
static int dsl_output(lua_State *L)
{
	fe_check_nargs(L, "output(name, x)", 2, 2);
	const char *name = fe_check_name(L, 1, "output", "the output's name");
	int id = fe_check_tensor(L, 2, "output");
	fe_check_output(L, name, "output");
	fe_new_output(L, name, id);
	lua_settop(L, 2);
	return 1;
}

/* const(values [, shape]) -> tensor; values a number or a flat table, shape defaults to {#values} */
static int dsl_const(lua_State *L)
{
	fe_check_nargs(L, "const(values [, shape])", 1, 2);
	if (lua_type(L, 1) == LUA_TNUMBER) {
		lua_createtable(L, 1, 0);
		lua_pushvalue(L, 1);
		lua_rawseti(L, -2, 1);
		lua_replace(L, 1);
	}
	if (!lua_istable(L, 1))
		fe_error(L, "const: expected a table of numbers as argument 1, got %s", luaL_typename(L, 1));
	lua_Integer n = luaL_len(L, 1);
	Shape s = {.rank = 1, .d = {n}};
	if (!lua_isnoneornil(L, 2))
		fe_check_shape(L, 2, "const", 0, &s);
	if (n < 1)
		fe_error(L, "const: needs at least one value");
	if (ir_numel(&s, 1) != n)
		fe_error(L, "const: shape needs %lld values, got %lld", (long long)ir_numel(&s, 1), (long long)n);
	float *v = lua_newuserdatauv(L, (size_t)n * sizeof(float), 0);
	for (lua_Integer i = 0; i < n; i++) {
		if (lua_rawgeti(L, 1, i + 1) != LUA_TNUMBER)
			fe_error(L, "const: value %lld is %s, not a number", (long long)i + 1, luaL_typename(L, -1));
		v[i] = (float)lua_tonumber(L, -1);
		lua_pop(L, 1);
	}
	fe_push_tensor(L, fe_const(L, v, &s));
	return 1;
}

/* Register the declaration builtins and the global N = "N". */
void fe_open_dsl(lua_State *L)
{
	static const luaL_Reg fns[] = {
		{"config", dsl_config}, {"input", dsl_input}, {"param", dsl_param}, {"buffer", dsl_buffer},
		{"scope", dsl_scope}, {"output", dsl_output}, {"const", dsl_const}, {NULL, NULL},
	};
	lua_pushglobaltable(L);
	luaL_setfuncs(L, fns, 0);
	lua_pushliteral(L, "N");
	lua_setfield(L, -2, "N");
	lua_pop(L, 1);
	luaL_newmetatable(L, CONFIG_MT);
	lua_pushcfunction(L, config_index);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 1);
}
