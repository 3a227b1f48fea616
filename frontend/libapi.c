/*
** libapi.c -- what the library modules (frontend/lib) get besides the
** builtins, so that their functions check calls the way the C builtins do.
**
** A module's chunk is called with its name and a table of helpers
** (local _, lunac = ...), which user modules may use as well:
**   lunac.arity(sig, min, max, ...)  raises when ... (the arguments after the
**                                    max named ones) is not empty
**   lunac.opts(fn, opts, allowed)    opts, or {} when nil; raises on a key
**                                    not in the set allowed ({pad = true})
** The table a library module returns is made strict (fe_strict_module):
** reading a field it does not have is an error that offers the nearest
** names in the module, else in the other namespaces (nn.gavg: "did you
** mean 'gavg' (a builtin, not in nn)?").
*/
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fe.h"

/* lunac.arity(sig, min, max, ...): raise naming the first surplus argument. */
static int la_arity(lua_State *L)
{
	const char *sig = luaL_checkstring(L, 1);
	int min = (int)luaL_checkinteger(L, 2), max = (int)luaL_checkinteger(L, 3);
	int n = lua_gettop(L) - 3;
	if (n > 0)
		fe_surplus(L, sig, 4, n, min, max);
	return 0;
}

/* Compare two strings for qsort. */
static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Push the string keys of the table at idx, sorted and joined by ", ". */
static void push_keys(lua_State *L, int idx)
{
	int n = 0;
	for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1))
		n += lua_type(L, -2) == LUA_TSTRING;
	const char **k = lua_newuserdatauv(L, sizeof *k * (size_t)(n ? n : 1), 0);
	int i = 0;
	for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1))
		if (lua_type(L, -2) == LUA_TSTRING && i < n)
			k[i++] = lua_tostring(L, -2);   /* the keys stay alive in the table */
	qsort(k, (size_t)i, sizeof *k, cmp_str);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int j = 0; j < i; j++) {
		if (j)
			luaL_addstring(&b, ", ");
		luaL_addstring(&b, k[j]);
	}
	luaL_pushresult(&b);
	lua_remove(L, -2);
}

/* lunac.opts(fn, opts, allowed) -> opts, or {} when opts is nil: every key
** of opts must be a key of the set allowed. */
static int la_opts(lua_State *L)
{
	const char *fn = luaL_checkstring(L, 1);
	luaL_checktype(L, 3, LUA_TTABLE);
	if (lua_isnoneornil(L, 2)) {
		lua_newtable(L);
		return 1;
	}
	if (!lua_istable(L, 2))
		fe_error(L, "%s: expected an options table, got %s", fn, luaL_typename(L, 2));
	lua_settop(L, 3);
	lua_pushnil(L);                 /* 4: the unknown key named, the first string key in byte order */
	for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {
		fe_charge(fe_get(L), 1);
		lua_pushvalue(L, -2);
		int known = lua_rawget(L, 3) != LUA_TNIL;
		lua_pop(L, 1);
		const char *k = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		if (!known && (lua_isnil(L, 4) || (k && (lua_type(L, 4) != LUA_TSTRING || strcmp(k, lua_tostring(L, 4)) < 0)))) {
			lua_pushvalue(L, -2);
			lua_replace(L, 4);
		}
	}
	if (!lua_isnil(L, 4)) {
		const char *k = lua_type(L, 4) == LUA_TSTRING ? lua_tostring(L, 4) : NULL;
		FeNear s;
		fe_near_init(&s, k ? k : "");
		for (lua_pushnil(L); lua_next(L, 3); lua_pop(L, 1))
			if (lua_type(L, -2) == LUA_TSTRING)
				fe_near_add(&s, "", lua_tostring(L, -2), "");
		push_keys(L, 3);
		fe_near_push(L, &s);
		fe_error(L, "%s: unknown option %s%s%s (options: %s)%s", fn, k ? "'" : "", k ? k : luaL_typename(L, 4),
		         k ? "'" : "", lua_tostring(L, -2), lua_tostring(L, -1));
	}
	lua_settop(L, 2);
	return 1;
}

/* __index of a strict module table (upvalue 1: the module's name): a field
** it lacks is an error with the nearest names. */
static int la_missing(lua_State *L)
{
	const char *mod = lua_tostring(L, lua_upvalueindex(1));
	const char *k = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
	if (!k)
		return fe_error(L, "%s has no field %s (its fields are names)", mod, luaL_tolstring(L, 2, NULL));
	FeNear s;
	fe_near_init(&s, k);
	char prefix[FE_NEARMAX + 2] = "";
	if (strlen(mod) <= FE_NEARMAX)
		snprintf(prefix, sizeof prefix, "%s.", mod);
	for (lua_pushnil(L); lua_next(L, 1); lua_pop(L, 1))
		if (lua_type(L, -2) == LUA_TSTRING)
			fe_near_add(&s, prefix, lua_tostring(L, -2), "");
	if (s.n == 0) {                 /* the module's own names come first */
		fe_near_globals(L, &s, mod);
		fe_near_modules(L, &s, mod);
	}
	push_keys(L, 1);
	fe_near_push(L, &s);
	return fe_error(L, "%s has no field '%s' (fields: %s)%s", mod, k, lua_tostring(L, -2), lua_tostring(L, -1));
}

/* Make the module table at idx (named name) strict, unless it has a
** metatable of its own. */
void fe_strict_module(lua_State *L, int idx, const char *name)
{
	if (!lua_istable(L, idx) || lua_getmetatable(L, idx))
		return;
	idx = lua_absindex(L, idx);
	lua_createtable(L, 0, 1);
	lua_pushstring(L, name);
	lua_pushcclosure(L, la_missing, 1);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, idx);
}

/* Make the helpers' table and keep it in the registry. */
void fe_open_libapi(lua_State *L)
{
	static const luaL_Reg fns[] = {{"arity", la_arity}, {"opts", la_opts}, {NULL, NULL}};
	luaL_newlib(L, fns);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_LIBAPI);
}
