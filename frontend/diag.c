/*
** diag.c -- where the script is, and the message every error ends up with.
**
** Errors read "file:line: message" where file:line is the innermost frame
** in a *user* file (the model script or a module from its folder). When
** the error arose inside a library module (frontend/lib), the message
** names the model line that called into the library and appends the
** library frames: "models/m.lua:30: conv2d: ... (in frontend/lib/nn.lua:14
** <- frontend/lib/drifa.lua:40)". A library chunk is one whose name starts
** with "frontend/lib/" (see require.c).
**
** Memory errors never reach a message handler (Lua raises them without
** calling it), so sandbox.c reports them from positions recorded by the
** allocator and the count hook.
*/
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "fe.h"

/* True when shortsrc (n bytes) names a chunk loaded from the library. */
int fe_is_libsrc(const char *shortsrc, size_t n)
{
	size_t k = strlen(FE_LIBLABEL "/");
	return n > k && strncmp(shortsrc, FE_LIBLABEL "/", k) == 0;
}

/* Write "file:line: " of the first Lua frame at or above level into buf;
** "" and 0 when there is none. */
int fe_where(lua_State *L, int level, char *buf, size_t cap)
{
	lua_Debug ar;
	for (; lua_getstack(L, level, &ar); level++) {
		lua_getinfo(L, "Sl", &ar);
		if (ar.currentline > 0) {
			snprintf(buf, cap, "%s:%d: ", ar.short_src, ar.currentline);
			return 1;
		}
	}
	buf[0] = 0;
	return 0;
}

/* Write "file:line" of the innermost frame at or above level that is in a
** user file into buf; 0 when there is none. Touches nothing but the debug
** interface, so the allocator and hooks may call it. */
int fe_user_pos(lua_State *L, int level, char *buf, size_t cap)
{
	lua_Debug ar;
	for (; lua_getstack(L, level, &ar); level++) {
		lua_getinfo(L, "Sl", &ar);
		if (ar.currentline > 0 && !fe_is_libsrc(ar.short_src, strlen(ar.short_src))) {
			snprintf(buf, cap, "%s:%d", ar.short_src, ar.currentline);
			return 1;
		}
	}
	buf[0] = 0;
	return 0;
}

/* Write "file:line" of the innermost frame in a user file into buf. */
int fe_user_frame(lua_State *L, char *buf, size_t cap)
{
	return fe_user_pos(L, 0, buf, cap);
}

/* Raise "file:line: <formatted>" at the innermost Lua frame (never returns). */
int fe_error(lua_State *L, const char *fmt, ...)
{
	char where[FE_PATHMAX], msg[IR_ERRLEN];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fe_where(L, 1, where, sizeof where);
	lua_pushfstring(L, "%s%s", where, msg);
	return lua_error(L);
}

/* Length of a leading "name.lua:LINE:" position in msg, 0 if none; *namelen
** gets the length of name.lua. */
static size_t position(const char *msg, size_t *namelen)
{
	const char *p = strstr(msg, ".lua:");
	const char *nl = strchr(msg, '\n');
	if (!p || (nl && p > nl))
		return 0;
	const char *d = p + 5;
	if (!isdigit((unsigned char)*d))
		return 0;
	while (isdigit((unsigned char)*d))
		d++;
	if (*d != ':')
		return 0;
	*namelen = (size_t)(p + 4 - msg);
	return (size_t)(d + 1 - msg);
}

/* Write the library frames between the error and the user frame as
** "a.lua:3 <- b.lua:9" into buf. */
static void lib_chain(lua_State *L, char *buf, size_t cap)
{
	lua_Debug ar;
	size_t n = 0;
	buf[0] = 0;
	for (int level = 0; lua_getstack(L, level, &ar); level++) {
		lua_getinfo(L, "Sl", &ar);
		if (ar.currentline <= 0)
			continue;
		if (!fe_is_libsrc(ar.short_src, strlen(ar.short_src)))
			break;
		n += snprintf(buf + n, n < cap ? cap - n : 0, "%s%s:%d", n ? " <- " : "", ar.short_src, ar.currentline);
		if (n >= cap)
			break;
	}
}

/* Rewrite msg (on the stack top) so that it starts at the user's line. */
static void relocate(lua_State *L, const char *msg)
{
	char user[FE_PATHMAX], chain[FE_PATHMAX];
	size_t namelen = 0, plen = position(msg, &namelen);
	if (!fe_user_frame(L, user, sizeof user))
		return;
	if (plen == 0) {
		lua_pushfstring(L, "%s: %s", user, msg);
		return;
	}
	if (!fe_is_libsrc(msg, namelen))
		return;
	lib_chain(L, chain, sizeof chain);
	if (!chain[0])
		snprintf(chain, sizeof chain, "%.*s", (int)(plen - 1), msg);
	const char *rest = msg + plen;
	while (*rest == ' ')
		rest++;
	lua_pushfstring(L, "%s: %s (in %s)", user, rest, chain);
}

/* Message handler of every pcall the frontend makes: returns the message
** the user sees (see the comment at the top of this file). */
int fe_msghandler(lua_State *L)
{
	Fe *fe = fe_get(L);
	fe->in_handler = 1;
	const char *msg = lua_tostring(L, 1);
	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tostring(L, -1);
		else
			msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	relocate(L, msg);
	fe->in_handler = 0;
	return 1;
}
