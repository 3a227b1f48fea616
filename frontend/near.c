/*
** near.c -- "did you mean": the known names nearest to a misspelt one.
**
** A candidate is near the word when their Damerau-Levenshtein distance
** (the optimal-string-alignment variant: insertions, deletions,
** substitutions and swaps of two neighbours, ignoring case) is at most 1
** for words of 3 or 4 bytes, 2 up to 8 bytes and 3 beyond; or when one is
** a prefix of the other and the shorter has at least 3 bytes (padding ->
** pad, conv -> conv2d). Words of 1 or 2 bytes only match a candidate that
** differs in case. The nearest candidates win; up to FE_NEARKEEP equally
** near ones are offered.
*/
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "fe.h"

#define NEAR_CELLS_PER_INSTR 2   /* distance-table cells that cost one instruction */

/* The optimal-string-alignment distance between a (n bytes) and b (m
** bytes), both at most FE_NEARMAX, ignoring ASCII case. */
static int osa(const char *a, size_t n, const char *b, size_t m)
{
	int d[FE_NEARMAX + 1][FE_NEARMAX + 1];
	for (size_t i = 0; i <= n; i++)
		d[i][0] = (int)i;
	for (size_t j = 0; j <= m; j++)
		d[0][j] = (int)j;
	for (size_t i = 1; i <= n; i++)
		for (size_t j = 1; j <= m; j++) {
			int ca = tolower((unsigned char)a[i - 1]), cb = tolower((unsigned char)b[j - 1]);
			int v = d[i - 1][j - 1] + (ca != cb);
			if (d[i - 1][j] + 1 < v)
				v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (i > 1 && j > 1 && ca == tolower((unsigned char)b[j - 2]) && tolower((unsigned char)a[i - 2]) == cb &&
			    d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[n][m];
}

/* How far cand is from word, or -1 when it is not near (see the top). */
int fe_near_distance(const char *word, const char *cand)
{
	size_t n = strlen(word), m = strlen(cand);
	if (n == 0 || m == 0 || n > FE_NEARMAX || m > FE_NEARMAX)
		return -1;
	int d = osa(word, n, cand, m);
	int limit = n <= 2 ? 0 : n <= 4 ? 1 : n <= 8 ? 2 : 3;
	size_t shorter = n < m ? n : m;
	if (d <= limit || (shorter >= 3 && strncasecmp(word, cand, shorter) == 0))
		return d;
	return -1;
}

/* Start looking for the names nearest to word. */
void fe_near_init(FeNear *s, const char *word)
{
	memset(s, 0, sizeof *s);
	s->word = word;
	s->best = -1;
}

/* Consider the candidate prefix..cand (prefix may be "", note is appended
** after the quoted name, e.g. " (a builtin, not in nn)"). A candidate equal
** to the word itself in the same namespace is the caller's to leave out.
** The kept names are sorted, and of more than FE_NEARKEEP equally near
** ones the first in byte order are kept, so that the message does not
** depend on the order tables are walked in. */
void fe_near_add(FeNear *s, const char *prefix, const char *cand, const char *note)
{
	s->cells += (long long)(strlen(s->word) + 1) * (long long)(strlen(cand) + 1);
	int d = fe_near_distance(s->word, cand);
	if (d < 0 || (s->best >= 0 && d > s->best))
		return;
	if (d < s->best || s->best < 0) {
		s->best = d;
		s->n = 0;
	}
	if (strlen(prefix) + strlen(cand) + strlen(note) + 3 > sizeof s->text[0])
		return;
	char t[sizeof s->text[0]];
	snprintf(t, sizeof t, "'%s%s'%s", prefix, cand, note);
	int at = 0;
	while (at < s->n && strcmp(s->text[at], t) < 0)
		at++;
	if (at >= FE_NEARKEEP || (at < s->n && !strcmp(s->text[at], t)))
		return;
	int last = s->n < FE_NEARKEEP ? s->n : FE_NEARKEEP - 1;
	memmove(s->text[at + 1], s->text[at], sizeof s->text[0] * (size_t)(last - at));
	memcpy(s->text[at], t, strlen(t) + 1);
	if (s->n < FE_NEARKEEP)
		s->n++;
}

/* Consider each name of a NULL-terminated list. */
void fe_near_list(FeNear *s, const char *const *names)
{
	for (int i = 0; names[i]; i++)
		fe_near_add(s, "", names[i], "");
}

/* Push "; did you mean 'a'?" ("'a' or 'b'", "'a', 'b' or 'c'"), or "" when
** no candidate was near; charge the search to the instruction budget (a
** script can make errors in a pcall loop). */
void fe_near_push(lua_State *L, const FeNear *s)
{
	fe_charge(fe_get(L), s->cells / NEAR_CELLS_PER_INSTR);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 0; i < s->n; i++) {
		luaL_addstring(&b, i == 0 ? "; did you mean " : i == s->n - 1 ? " or " : ", ");
		luaL_addstring(&b, s->text[i]);
	}
	if (s->n)
		luaL_addchar(&b, '?');
	luaL_pushresult(&b);
}

/* Consider the globals; inside module (a name, or NULL at the top level)
** the C functions among them are noted " (a builtin, not in MODULE)". */
void fe_near_globals(lua_State *L, FeNear *s, const char *module)
{
	char note[FE_NEARMAX + 32] = "";
	if (module && strlen(module) <= FE_NEARMAX)
		snprintf(note, sizeof note, " (a builtin, not in %s)", module);
	lua_pushglobaltable(L);
	for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1))
		if (lua_type(L, -2) == LUA_TSTRING)
			fe_near_add(s, "", lua_tostring(L, -2), lua_iscfunction(L, -1) ? note : "");
	lua_pop(L, 1);
}

/* Consider the fields of every module the script has required, as
** "nn.conv2d", except those of module (may be NULL). */
void fe_near_modules(lua_State *L, FeNear *s, const char *module)
{
	lua_getfield(L, LUA_REGISTRYINDEX, REG_LOADED);
	for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1)) {
		const char *mod = lua_type(L, -2) == LUA_TSTRING ? lua_tostring(L, -2) : NULL;
		if (!mod || !lua_istable(L, -1) || (module && !strcmp(mod, module)) || strlen(mod) > FE_NEARMAX)
			continue;
		char prefix[FE_NEARMAX + 2];
		snprintf(prefix, sizeof prefix, "%s.", mod);
		for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1))
			if (lua_type(L, -2) == LUA_TSTRING)
				fe_near_add(s, prefix, lua_tostring(L, -2), "");
	}
	lua_pop(L, 1);
}
