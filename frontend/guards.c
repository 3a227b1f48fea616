/*
** guards.c -- library functions that can do unbounded work inside one C
** call, where the instruction budget's count hook never runs, wrapped so
** that the work is charged to the budget before it is done: string.find,
** match, gmatch and gsub (the pattern matcher), string.rep (a loop of n
** copies, even when they are empty: string.rep("", 1e15)) and table.move (a
** loop over the range: table.move({}, 1, 1e15, 1, {})).
**
** Lua's pattern matcher backtracks: each repetition (*, + or -) can try
** every length, so a pattern with k of them can take about n^(k+1) steps
** on a string of n bytes, all inside one C call where the instruction
** budget's count hook never runs (string.find(string.rep("a", 5000),
** ".-.-.-b") would run for days). These wrappers bound the work instead:
** before calling Lua's own function they compute the call's worst case in
** steps from the pattern's shape and the string's length, charge it to the
** instruction budget, and refuse the call when it would not fit in what is
** left, naming the line. A matcher step takes about as long as a VM instruction (measured:
** about 10 ns each) and the worst case over-estimates typical inputs, so
** 4 steps count as one instruction: at the default budget the patterns of
** a script can take at most a few seconds. Ordinary uses cost little:
** s:match("^(.-)%.(.-)$") on a 50-byte name is charged 7,000 instructions.
*/
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <lualib.h>

#include "fe.h"

#define STEPS_PER_INSTR 4.0
#define SPECIALS "^$*+?.([%-"

enum { FIND, MATCH, GMATCH, GSUB };
static const char *const fnames[] = {"string.find", "string.match", "string.gmatch", "string.gsub"};

/* The index after the set that starts at p[i] ('[' already read: i is
** the byte after it), up to its closing ']'. */
static size_t skip_set(const char *p, size_t m, size_t i)
{
	i += i < m && p[i] == '^';
	i += i < m && p[i] == ']';    /* a ']' first is a member */
	for (; i < m && p[i] != ']'; i++)
		i += p[i] == '%';
	return i + 1;
}

/* The shape of pattern p (m bytes): k, the repetitions and other items
** that scan the subject (*, +, -, %b, back references); q, the optional
** items (?); and whether it starts with the anchor ^. Malformed patterns
** are measured as far as they go (Lua reports them). */
static void measure(const char *p, size_t m, int *k, int *q, int *anchored)
{
	*k = *q = 0;
	*anchored = m > 0 && p[0] == '^';
	for (size_t i = *anchored; i < m;) {
		char c = p[i++];
		if (c == '(' || c == ')')
			continue;
		if (c == '%' && i < m) {
			char d = p[i++];
			if (d == 'b') {                      /* %bxy: a balanced scan */
				i += 2;
				++*k;
				continue;
			}
			if (d == 'f') {                      /* %f[set]: a frontier, one step */
				i = i < m && p[i] == '[' ? skip_set(p, m, i + 1) : i;
				continue;
			}
			if (d >= '1' && d <= '9') {          /* a back reference: compares a capture */
				++*k;
				continue;
			}
		} else if (c == '[') {
			i = skip_set(p, m, i);
		}
		if (i < m && (p[i] == '*' || p[i] == '+' || p[i] == '-'))
			++*k, i++;
		else if (i < m && p[i] == '?')
			++*q, i++;
	}
}

/* The most steps fn can take on a subject of n bytes with pattern p (m
** bytes); plain: a plain find (memory search). */
static double worst_steps(int fn, size_t n, const char *p, size_t m, int plain)
{
	double len = (double)n + 1, plen = (double)m + 1;
	if (plain)
		return len * plen;
	int k, q, anchored;
	measure(p, m, &k, &q, &anchored);
	double starts = anchored && fn != GMATCH ? 1 : len;
	return starts * plen * pow(len, k) * pow(2, q > 60 ? 60 : q);
}

/* True when p (m bytes) has none of the pattern specials (find searches
** for it as plain text then). */
static int no_specials(const char *p, size_t m)
{
	for (size_t i = 0; i < m; i++)
		if (strchr(SPECIALS, p[i]) && p[i])
			return 0;
	return 1;
}

/* Charge steps of work to the budget, or raise naming fn when they do not
** fit in what is left; what says what makes the call costly, hint (may be
** "") what to do besides raising the budget. */
static void charge(lua_State *L, const char *fn, double steps, const char *what, const char *hint)
{
	double instr = steps / STEPS_PER_INSTR;
	Fe *fe = fe_get(L);
	if (instr > (double)(fe->max_instr - fe->instr))
		fe_error(L, "%s: %s may take up to %.3g steps, more than the instruction budget has "
		         "left (%sraise it with lunac --lua-instructions N)", fn, what, steps, hint);
	fe_charge(fe, (long long)instr);
}

/* Call upvalue 1 (Lua's own function) with the arguments; return all it returns. */
static int call_original(lua_State *L)
{
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* string.find, match, gmatch, gsub: upvalue 2 says which. */
static int guarded_pattern(lua_State *L)
{
	int fn = (int)lua_tointeger(L, lua_upvalueindex(2));
	size_t n, m;
	luaL_checklstring(L, 1, &n);
	const char *p = luaL_checklstring(L, 2, &m);
	int plain = fn == FIND && (lua_toboolean(L, 4) || no_specials(p, m));
	char what[80];
	snprintf(what, sizeof what, "this %s on a string of %zu bytes", plain ? "search" : "pattern", n);
	charge(L, fnames[fn], worst_steps(fn, n, p, m, plain), what,
	       plain ? "" : "each *, + or - can backtrack over the whole string: simplify the pattern "
	                    "or shorten the string, or ");
	return call_original(L);
}

/* string.rep(s, n [, sep]): n copies, one step each (their bytes are
** charged as the allocation they make). */
static int guarded_rep(lua_State *L)
{
	size_t l, lsep;
	luaL_checklstring(L, 1, &l);
	lua_Integer n = luaL_checkinteger(L, 2);
	luaL_optlstring(L, 3, "", &lsep);
	Fe *fe = fe_get(L);
	double bytes = (double)n * ((double)l + (double)lsep);
	if (n > 0 && bytes <= (double)(fe->max_mem - fe->mem))   /* else its allocation fails first */
		charge(L, "string.rep", (double)n, "this repeat count", "");
	return call_original(L);
}

/* table.move(a1, f, e, t [, a2]): e - f + 1 elements, one step each
** (metamethods it calls are Lua code, counted as usual). */
static int guarded_move(lua_State *L)
{
	lua_Integer f = luaL_checkinteger(L, 2), e = luaL_checkinteger(L, 3);
	if (e >= f)
		charge(L, "table.move", (double)e - (double)f + 1, "this range", "");
	return call_original(L);
}

/* Replace field name of the table on top of the stack with f, which gets
** the original as upvalue 1 and tag as upvalue 2. */
static void wrap(lua_State *L, const char *name, lua_CFunction f, int tag)
{
	lua_getfield(L, -1, name);
	lua_pushinteger(L, tag);
	lua_pushcclosure(L, f, 2);
	lua_setfield(L, -2, name);
}

/* Install the guarded functions (the string metatable's __index is the
** string table itself, so s:find is covered too). */
void fe_open_guards(lua_State *L)
{
	static const char *const pats[] = {"find", "match", "gmatch", "gsub"};
	lua_getglobal(L, LUA_STRLIBNAME);
	for (int i = 0; i < 4; i++)
		wrap(L, pats[i], guarded_pattern, i);
	wrap(L, "rep", guarded_rep, 0);
	lua_pop(L, 1);
	lua_getglobal(L, LUA_TABLIBNAME);
	wrap(L, "move", guarded_move, 0);
	lua_pop(L, 1);
}
