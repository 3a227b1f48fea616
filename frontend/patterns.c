/*
** patterns.c -- the sandbox's string.find, match, gmatch and gsub.
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

/* The wrapper: upvalue 1 is Lua's function, upvalue 2 which one it is. */
static int guarded(lua_State *L)
{
	int fn = (int)lua_tointeger(L, lua_upvalueindex(2));
	size_t n, m;
	luaL_checklstring(L, 1, &n);
	const char *p = luaL_checklstring(L, 2, &m);
	int plain = fn == FIND && (lua_toboolean(L, 4) || no_specials(p, m));
	double steps = worst_steps(fn, n, p, m, plain);
	double instr = steps / STEPS_PER_INSTR;
	Fe *fe = fe_get(L);
	double left = (double)(fe->max_instr - fe->instr);
	if (instr > left)
		return fe_error(L, "%s: this pattern on a string of %zu bytes may take up to %.3g steps, more "
		                "than the instruction budget has left (each *, + or - can backtrack over the whole "
		                "string: simplify the pattern or shorten the string, or raise lunac "
		                "--lua-instructions)", fnames[fn], n, steps);
	fe_charge(fe, (long long)instr);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, lua_gettop(L) - 1, LUA_MULTRET);
	return lua_gettop(L);
}

/* Replace the string library's pattern functions with guarded ones (the
** string metatable's __index is the same table, so s:find is covered). */
void fe_open_patterns(lua_State *L)
{
	static const char *const names[] = {"find", "match", "gmatch", "gsub"};
	lua_getglobal(L, LUA_STRLIBNAME);
	for (int i = 0; i < 4; i++) {
		lua_getfield(L, -1, names[i]);
		lua_pushinteger(L, i);
		lua_pushcclosure(L, guarded, 2);
		lua_setfield(L, -2, names[i]);
	}
	lua_pop(L, 1);
}
