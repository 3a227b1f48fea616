/*
** opts.c -- reading the option tables and shapes DSL calls pass in.
**
** An option argument may be absent or nil (every option has a default);
** otherwise it is a table whose keys must all be known to the builtin, so
** a typo (strides=2) is an error rather than a silent default, with the
** nearest option offered (near.c).
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fe.h"

/* True when the value at idx is a number with an integral value; sets *out. */
static int get_int(lua_State *L, int idx, int64_t *out)
{
	if (lua_isinteger(L, idx)) {
		*out = lua_tointeger(L, idx);
		return 1;
	}
	if (lua_type(L, idx) != LUA_TNUMBER)
		return 0;
	double d = lua_tonumber(L, idx);
	if (d != floor(d) || fabs(d) > 9e15)
		return 0;
	*out = (int64_t)d;
	return 1;
}

/* Raise "fn: unknown option 'k' (options: a, b); did you mean 'a'?" for
** the key on the stack top (k, or NULL when it is not a string). */
static void unknown_option(lua_State *L, const char *fn, const char *k, const char *const *allowed)
{
	FeNear s;
	fe_near_init(&s, k ? k : "");
	fe_near_list(&s, allowed);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 0; allowed[i]; i++) {
		if (i)
			luaL_addstring(&b, ", ");
		luaL_addstring(&b, allowed[i]);
	}
	luaL_pushresult(&b);
	fe_near_push(L, &s);
	fe_error(L, "%s: unknown option %s%s%s (options: %s)%s", fn, k ? "'" : "", k ? k : luaL_typename(L, -3),
	         k ? "'" : "", lua_tostring(L, -2), lua_tostring(L, -1));
}

/* Raise unless the option argument at idx is nil, absent or a table with
** only the allowed keys. */
void fe_check_opts(lua_State *L, int idx, const char *fn, const char *const *allowed)
{
	if (lua_isnoneornil(L, idx))
		return;
	if (!lua_istable(L, idx))
		fe_error(L, "%s: expected an options table as argument %d, got %s", fn, idx, luaL_typename(L, idx));
	int bad = lua_gettop(L) + 1;   /* the unknown key named: the first string key in byte order */
	lua_pushnil(L);
	lua_pushnil(L);
	while (lua_next(L, idx)) {
		lua_pop(L, 1);
		fe_charge(fe_get(L), 1);
		const char *k = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
		int ok = 0;
		for (int i = 0; k && allowed[i]; i++)
			ok |= strcmp(k, allowed[i]) == 0;
		if (!ok && (lua_isnil(L, bad) || (k && (lua_type(L, bad) != LUA_TSTRING || strcmp(k, lua_tostring(L, bad)) < 0)))) {
			lua_pushvalue(L, -1);
			lua_replace(L, bad);
		}
	}
	if (!lua_isnil(L, bad))
		unknown_option(L, fn, lua_type(L, bad) == LUA_TSTRING ? lua_tostring(L, bad) : NULL, allowed);
	lua_pop(L, 1);
}

/* Push option key of the table at idx (nil when absent); return its type. */
static int get_opt(lua_State *L, int idx, const char *key)
{
	if (lua_isnoneornil(L, idx)) {
		lua_pushnil(L);
		return LUA_TNIL;
	}
	return lua_getfield(L, idx, key);
}

/* opts.key as an integer, def when absent. */
int64_t fe_opt_int(lua_State *L, int idx, const char *fn, const char *key, int64_t def)
{
	int64_t v = def;
	if (get_opt(L, idx, key) != LUA_TNIL && !get_int(L, -1, &v))
		fe_error(L, "%s: option '%s' must be an integer, got %s", fn, key, luaL_tolstring(L, -1, NULL));
	lua_pop(L, 1);
	return v;
}

/* opts.key as a pair of non-negative integers: a number n means {n, n}. */
void fe_opt_pair(lua_State *L, int idx, const char *fn, const char *key, int64_t def, int64_t out[2])
{
	out[0] = out[1] = def;
	int t = get_opt(L, idx, key);
	int ok = 1;
	if (t == LUA_TTABLE) {
		ok = luaL_len(L, -1) == 2;
		for (int i = 0; ok && i < 2; i++) {
			lua_rawgeti(L, -1, i + 1);
			ok = get_int(L, -1, &out[i]);
			lua_pop(L, 1);
		}
	} else if (t != LUA_TNIL) {
		ok = get_int(L, -1, &out[0]);
		out[1] = out[0];
	}
	if (!ok || out[0] < 0 || out[1] < 0)
		fe_error(L, "%s: option '%s' must be a non-negative integer or a pair {h, w}", fn, key);
	lua_pop(L, 1);
}

/* opts.key as a number, def when absent. */
double fe_opt_num(lua_State *L, int idx, const char *fn, const char *key, double def)
{
	double v = def;
	int t = get_opt(L, idx, key);
	if (t == LUA_TNUMBER)
		v = lua_tonumber(L, -1);
	else if (t != LUA_TNIL)
		fe_error(L, "%s: option '%s' must be a number, got %s", fn, key, luaL_typename(L, -1));
	lua_pop(L, 1);
	return v;
}

/* opts.key as a boolean, def when absent. */
int fe_opt_bool(lua_State *L, int idx, const char *fn, const char *key, int def)
{
	int v = def;
	int t = get_opt(L, idx, key);
	if (t == LUA_TBOOLEAN)
		v = lua_toboolean(L, -1);
	else if (t != LUA_TNIL)
		fe_error(L, "%s: option '%s' must be true or false, got %s", fn, key, luaL_typename(L, -1));
	lua_pop(L, 1);
	return v;
}

/* opts.key as a string, def when absent. The string stays valid while the
** options table is alive. */
const char *fe_opt_str(lua_State *L, int idx, const char *fn, const char *key, const char *def)
{
	const char *v = def;
	int t = get_opt(L, idx, key);
	if (t == LUA_TSTRING)
		v = lua_tostring(L, -1);
	else if (t != LUA_TNIL)
		fe_error(L, "%s: option '%s' must be a string, got %s", fn, key, luaL_typename(L, -1));
	lua_pop(L, 1);
	return v;
}

/* Read a shape table {d1, d2, ...} at idx; with allow_n the first entry may
** be "N", the batch dimension. */
void fe_check_shape(lua_State *L, int idx, const char *fn, int allow_n, Shape *s)
{
	if (!lua_istable(L, idx))
		fe_error(L, "%s: expected a shape table as argument %d, got %s", fn, idx, luaL_typename(L, idx));
	lua_Integer n = luaL_len(L, idx);
	if (n < 1 || n > IR_MAXDIM)
		fe_error(L, "%s: a shape has 1 to %d dimensions, got %d", fn, IR_MAXDIM, (int)n);
	s->rank = (int)n;
	for (int i = 0; i < s->rank; i++) {
		lua_rawgeti(L, idx, i + 1);
		int64_t v;
		if (allow_n && i == 0 && lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), "N") == 0)
			v = IR_N;
		else if (!get_int(L, -1, &v) || v < 1)
			fe_error(L, "%s: shape entry %d must be a positive integer%s, got %s", fn, i + 1,
			         allow_n && i == 0 ? " or \"N\"" : "", luaL_tolstring(L, -1, NULL));
		s->d[i] = v;
		lua_pop(L, 1);
	}
}

/* Push a shape as a Lua table, the batch dimension as the string "N". */
void fe_push_shape(lua_State *L, const Shape *s)
{
	lua_createtable(L, s->rank, 0);
	for (int i = 0; i < s->rank; i++) {
		if (s->d[i] == IR_N)
			lua_pushliteral(L, "N");
		else
			lua_pushinteger(L, s->d[i]);
		lua_rawseti(L, -2, i + 1);
	}
}
