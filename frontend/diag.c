/*
** diag.c -- where the script is, and the message every error ends up with.
**
** An error's first line reads "file:line: message" where file:line is the
** innermost frame in a *user* file (the model script or a module from its
** folder). When the error arose inside a library module (frontend/lib),
** that is the user's line that called into the library, and the library
** function it called ends the line: "models/m.lua:30: conv2d: ... (in
** nn.conv2d)". A misspelt global gets "; did you mean 'relu'?". When more
** than one user frame is on the stack (the error is inside a helper the
** user wrote), the user's call chain follows, outermost first, one frame
** a line, library frames left out:
**
**   models/m.lua:12: conv2d: input [N,3,8,8] has 3 channels ... (in nn.conv2d)
**     call chain, outermost first:
**       models/m.lua:41: in the main chunk
**       models/m.lua:30: in block
**       models/m.lua:12: in conv_bn
**
** Functions whose frames Lua's tail calls replaced count as frames too
** (trace.c keeps them): their chain lines end with "(tail call)", and the
** innermost user line may be one of them.
**
** A library chunk is one whose name starts with "frontend/lib/" (see
** require.c).
**
** Memory errors never reach a message handler (Lua raises them without
** calling it), so sandbox.c reports them from positions recorded by the
** allocator and the count hook.
*/
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fe.h"

/* True when shortsrc (n bytes) names a chunk loaded from the library. */
int fe_is_libsrc(const char *shortsrc, size_t n)
{
	size_t k = strlen(FE_LIBLABEL "/");
	return n > k && strncmp(shortsrc, FE_LIBLABEL "/", k) == 0;
}

/* The file name of a frame (lua_getinfo "S"): the chunk's whole name,
** where Lua's short_src cuts a long path to its last 60 bytes. */
static const char *src_of(const lua_Debug *ar)
{
	return ar->source[0] == '@' ? ar->source + 1 : ar->short_src;
}

/* Write "file:line: " of the first Lua frame at or above level into buf;
** "" and 0 when there is none. */
int fe_where(lua_State *L, int level, char *buf, size_t cap)
{
	lua_Debug ar;
	for (; lua_getstack(L, level, &ar); level++) {
		lua_getinfo(L, "Sl", &ar);
		if (ar.currentline > 0) {
			snprintf(buf, cap, "%s:%d: ", src_of(&ar), ar.currentline);
			return 1;
		}
	}
	buf[0] = 0;
	return 0;
}

/* The file name of a function fe_trace_level gave. */
static const char *frame_file(const FeFrame *f)
{
	return f->src[0] == '@' ? f->src + 1 : f->src;
}

/* Write "file:line" of the innermost function at or above level that is in
** a user file into buf, counting those tail calls replaced (trace.c); 0
** when there is none. Touches nothing but the debug interface and the
** trace, so the allocator and hooks may call it. */
int fe_user_pos(lua_State *L, int level, char *buf, size_t cap)
{
	FeFrame f[FE_LEVELMAX];
	for (int n; (n = fe_trace_level(L, level, f)) > 0; level++)
		for (int i = 0; i < n; i++)
			if (f[i].user) {
				snprintf(buf, cap, "%s:%d", frame_file(&f[i]), f[i].line);
				return 1;
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

/* Push "module.key" when the function on the stack top is field key of a
** module the script required (the function is popped); else push nothing
** and return 0. */
static int module_name(lua_State *L)
{
	int f = lua_gettop(L);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_LOADED);
	lua_pushnil(L);
	while (lua_next(L, f + 1)) {
		if (lua_type(L, -2) == LUA_TSTRING && lua_istable(L, -1)) {
			lua_pushnil(L);
			while (lua_next(L, -2)) {
				fe_charge(fe_get(L), 1);      /* a module's table may be large */
				if (lua_type(L, -2) == LUA_TSTRING && lua_rawequal(L, -1, f)) {
					lua_pushfstring(L, "%s.%s", lua_tostring(L, f + 2), lua_tostring(L, f + 4));
					lua_replace(L, f);
					lua_settop(L, f);
					return 1;
				}
				lua_pop(L, 1);
			}
		}
		lua_pop(L, 1);
	}
	lua_settop(L, f - 1);
	return 0;
}

#define NAME_LEVELS 32   /* frames whose locals and upvalues name a function a tail call replaced */

/* True when the value on the stack top is a Lua function defined at line
** linedefined of chunk src. */
static int is_proto(lua_State *L, const char *src, int linedefined)
{
	fe_charge(fe_get(L), 1);        /* a module's table may be large */
	if (lua_type(L, -1) != LUA_TFUNCTION || lua_iscfunction(L, -1))
		return 0;
	lua_Debug ar;
	lua_pushvalue(L, -1);
	lua_getinfo(L, ">S", &ar);
	return ar.linedefined == linedefined && !strcmp(ar.source, src);
}

/* Push the first name found for the function defined at line linedefined
** of chunk src (its frame is gone, so Lua cannot say what its caller
** called it): a module's field ("blocks.conv_bn"), else a local variable or
** upvalue of a frame on the stack, innermost first, else a global. Returns
** 0 (nothing pushed) when none holds it. */
static int push_proto_name(lua_State *L, const char *src, int linedefined)
{
	int top = lua_gettop(L);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_LOADED);
	for (lua_pushnil(L); lua_next(L, top + 1); lua_pop(L, 1)) {
		if (lua_type(L, -2) != LUA_TSTRING || !lua_istable(L, -1))
			continue;
		for (lua_pushnil(L); lua_next(L, top + 3); lua_pop(L, 1))
			if (lua_type(L, -2) == LUA_TSTRING && is_proto(L, src, linedefined)) {
				lua_pushfstring(L, "%s.%s", lua_tostring(L, top + 2), lua_tostring(L, -2));
				goto found;
			}
	}
	lua_settop(L, top);
	lua_Debug ar;
	for (int level = 0; level < NAME_LEVELS && lua_getstack(L, level, &ar); level++) {
		lua_getinfo(L, "f", &ar);
		const char *name;
		for (int i = 1; (name = lua_getlocal(L, &ar, i)); i++, lua_pop(L, 1))
			if (name[0] != '(' && is_proto(L, src, linedefined)) {
				lua_pushstring(L, name);
				goto found;
			}
		for (int i = 1; (name = lua_getupvalue(L, top + 1, i)); i++, lua_pop(L, 1))
			if (is_proto(L, src, linedefined)) {
				lua_pushstring(L, name);
				goto found;
			}
		lua_settop(L, top);
	}
	lua_pushglobaltable(L);
	for (lua_pushnil(L); lua_next(L, top + 1); lua_pop(L, 1))
		if (lua_type(L, -2) == LUA_TSTRING && is_proto(L, src, linedefined)) {
			lua_pushvalue(L, -2);
			goto found;
		}
	lua_settop(L, top);
	return 0;
found:
	lua_replace(L, top + 1);
	lua_settop(L, top + 1);
	return 1;
}

/* Push the name of the function running at level: "nn.conv2d" for a
** module's function, else the name its caller used; NULL (nothing pushed)
** when it has none. */
static const char *func_name(lua_State *L, int level)
{
	lua_Debug ar;
	if (!lua_getstack(L, level, &ar))
		return NULL;
	lua_getinfo(L, "nf", &ar);
	if (module_name(L))
		return lua_tostring(L, -1);
	return ar.name ? lua_pushstring(L, ar.name) : NULL;
}

/* Push what the user frame at level is in: "the main chunk", "block", "the
** function passed to scope" or "the function at line 12". */
static void push_frame_what(lua_State *L, int level)
{
	lua_Debug ar, up;
	lua_getstack(L, level, &ar);
	lua_getinfo(L, "St", &ar);
	if (ar.what[0] == 'm') {
		lua_pushliteral(L, "the main chunk");
		return;
	}
	if (func_name(L, level))
		return;
	if (!ar.istailcall && lua_getstack(L, level + 1, &up) && lua_getinfo(L, "Sn", &up) && up.what[0] == 'C' &&
	    up.name) {
		lua_pushfstring(L, "the function passed to %s", up.name);
		return;
	}
	if (ar.istailcall && push_proto_name(L, ar.source, ar.linedefined))
		return;
	lua_pushfstring(L, "the function at line %d", ar.linedefined);
}

/* Push what a function a tail call replaced is (see push_frame_what). */
static void push_tail_what(lua_State *L, const FeFrame *f)
{
	lua_Debug up;
	if (f->linedefined == 0)
		lua_pushliteral(L, "the main chunk");
	else if (f->oldest && lua_getstack(L, f->level + 1, &up) && lua_getinfo(L, "Sn", &up) && up.what[0] == 'C' &&
	         up.name)
		lua_pushfstring(L, "the function passed to %s", up.name);
	else if (!push_proto_name(L, f->src, f->linedefined))
		lua_pushfstring(L, "the function at line %d", f->linedefined);
}

/* The number of frames on the stack (found by bisection: lua_getstack
** walks the frames from the innermost, so probing every level would take
** time quadratic in a deep recursion's depth). */
static int stack_depth(lua_State *L)
{
	lua_Debug ar;
	int lo = 0, hi = 1;
	while (lua_getstack(L, hi, &ar)) {
		lo = hi;
		hi *= 2;
	}
	while (hi - lo > 1) {
		int mid = lo + (hi - lo) / 2;
		if (lua_getstack(L, mid, &ar))
			lo = mid;
		else
			hi = mid;
	}
	return lo + 1;
}

#define CHAIN_WINDOW 16   /* frames read at each end of a deeper stack */

/* True when a and b are the same line of the same function, both running
** or both replaced by tail calls (a recursion's repeated frames). */
static int same_line(const FeFrame *a, const FeFrame *b)
{
	return a->src && b->src && a->live == b->live && a->line == b->line && a->linedefined == b->linedefined &&
	       !strcmp(a->src, b->src);
}

/* Add the chain line of function f; times says how many times in a row the
** same line called itself. */
static void add_frame(lua_State *L, luaL_Buffer *b, const FeFrame *f, long long times)
{
	if (!f->src) {
		lua_pushfstring(L, "\n    ... (%I tail calls not kept)", (lua_Integer)times);
		luaL_addvalue(b);
		return;
	}
	if (f->live)
		push_frame_what(L, f->level);
	else
		push_tail_what(L, f);
	const char *what = lua_tostring(L, -1);
	if (!f->live && times > 1)
		lua_pushfstring(L, "\n    %s:%d: in %s (tail call, %I times)", frame_file(f), f->line, what, (lua_Integer)times);
	else if (!f->live)
		lua_pushfstring(L, "\n    %s:%d: in %s (tail call)", frame_file(f), f->line, what);
	else if (times > 1)
		lua_pushfstring(L, "\n    %s:%d: in %s (%I times)", frame_file(f), f->line, what, (lua_Integer)times);
	else
		lua_pushfstring(L, "\n    %s:%d: in %s", frame_file(f), f->line, what);
	lua_remove(L, -2);
	luaL_addvalue(b);
}

#define CHAIN_SHOW 4      /* groups shown at each end of a longer chain */
#define CHAIN_STEPS_PER_INSTR 4   /* frames walked by lua_getstack that cost one instruction */
#define CHAIN_FRAME_COST 50       /* instructions charged per frame read or described */
#define CHAIN_MAX (2 * CHAIN_WINDOW * FE_LEVELMAX)

/* Append the user's call chain, outermost first, to the buffer when more
** than one function of a user file is on the stack, counting those tail
** calls replaced (marked "(tail call)"). Lines of a recursion that repeat
** the same line are counted on one line (a group); of more than
** 2 * CHAIN_SHOW + 1 groups both ends are shown; of a stack deeper than
** 2 * CHAIN_WINDOW frames only both ends are read. */
static void add_chain(lua_State *L, luaL_Buffer *b)
{
	int depth = stack_depth(L), n = 0, users = 0, gap_at = -1;
	FeFrame fr[CHAIN_MAX];
	/* Each probe of a level walks the frames up to it: charge the walks
	** (bisection and window scan) and the frames described. */
	int probes = 2 * CHAIN_WINDOW;
	for (int d = depth; d > 1; d /= 2)
		probes += 2;
	fe_charge(fe_get(L), (long long)depth * probes / CHAIN_STEPS_PER_INSTR + CHAIN_FRAME_COST * 2 * CHAIN_WINDOW);
	for (int level = depth - 1; level >= 0; level--) {
		if (depth > 2 * CHAIN_WINDOW && level == depth - 1 - CHAIN_WINDOW) {
			gap_at = n;
			level = CHAIN_WINDOW - 1;
		}
		FeFrame f[FE_LEVELMAX];
		for (int k = fe_trace_level(L, level, f); k-- > 0;)   /* outermost first */
			if (f[k].user || !f[k].src) {
				fr[n++] = f[k];
				users += f[k].user;
			}
	}
	if (users < 2)
		return;
	int grp[CHAIN_MAX], ng = 0, ggap = -1;
	long long times[CHAIN_MAX];
	for (int i = 0; i < n; i++) {
		if (i == gap_at)
			ggap = ng;
		if (i && i != gap_at && same_line(&fr[i], &fr[grp[ng - 1]])) {
			times[ng - 1] += fr[i].times;
			continue;
		}
		grp[ng] = i;
		times[ng++] = fr[i].times;
	}
	fe_charge(fe_get(L), (long long)CHAIN_FRAME_COST * ng);
	luaL_addstring(b, "\n  call chain, outermost first:");
	for (int i = 0; i < ng; i++) {
		if (i == ggap) {
			lua_pushfstring(L, "\n    ... (%d frames not read)", depth - 2 * CHAIN_WINDOW);
			luaL_addvalue(b);
		}
		if (ng > 2 * CHAIN_SHOW + 1 && i == CHAIN_SHOW) {
			int skip = ng - 2 * CHAIN_SHOW;
			long long lines = 0;            /* a mark stands for the tail calls not kept */
			for (int j = i; j < i + skip; j++)
				lines += fr[grp[j]].src ? 1 : times[j];
			lua_pushfstring(L, "\n    ... (%I more)", (lua_Integer)lines);
			luaL_addvalue(b);
			i += skip - 1;
			continue;
		}
		add_frame(L, b, &fr[grp[i]], times[i]);
	}
	if (ggap == ng) {
		lua_pushfstring(L, "\n    ... (%d frames not read)", depth - 2 * CHAIN_WINDOW);
		luaL_addvalue(b);
	}
}

/* Add "; did you mean ..." for a message about a nil global: the names
** near it among the globals and the local variables and upvalues of the
** function that failed, else among the required modules' fields. */
static void add_near_global(lua_State *L, luaL_Buffer *b, const char *line, size_t len)
{
	static const char tag[] = "a nil value (global '";
	const char *p = strstr(line, tag);
	if (!p || p > line + len)
		return;
	p += sizeof tag - 1;
	const char *q = strstr(p, "')");
	if (!q || q > line + len || q - p > FE_NEARMAX)
		return;
	char word[FE_NEARMAX + 1];
	memcpy(word, p, (size_t)(q - p));
	word[q - p] = 0;
	FeNear s;
	fe_near_init(&s, word);
	fe_near_globals(L, &s, NULL);
	lua_Debug ar;
	for (int level = 1; lua_getstack(L, level, &ar); level++) {
		lua_getinfo(L, "Slf", &ar);
		if (ar.currentline <= 0) {
			lua_pop(L, 1);
			continue;
		}
		const char *name;
		for (int i = 1; (name = lua_getlocal(L, &ar, i)); i++) {
			if (name[0] != '(')
				fe_near_add(&s, "", name, "");
			lua_pop(L, 1);
		}
		for (int i = 1; (name = lua_getupvalue(L, -1, i)); i++) {
			if (strcmp(name, "_ENV"))
				fe_near_add(&s, "", name, "");
			lua_pop(L, 1);
		}
		lua_pop(L, 1);
		break;
	}
	if (s.n == 0)                   /* globals and locals come first */
		fe_near_modules(L, &s, NULL);
	fe_near_push(L, &s);
	luaL_addvalue(b);
}

/* When msg's position (its file name namelen bytes, plen with the line)
** is a file name Lua shortened ("...long/path/m.lua:3:"), push the whole
** name of the frame it names and return 1; else return 0. */
static int full_src(lua_State *L, const char *msg, size_t namelen, size_t plen)
{
	lua_Debug ar;
	if (namelen < 3 || strncmp(msg, "...", 3))
		return 0;
	int line = atoi(msg + namelen + 1);
	for (int level = 0; level < CHAIN_WINDOW && lua_getstack(L, level, &ar); level++) {
		lua_getinfo(L, "Sl", &ar);
		if (ar.currentline == line && strlen(ar.short_src) == namelen && !strncmp(ar.short_src, msg, namelen) &&
		    ar.source[0] == '@') {
			lua_pushstring(L, ar.source + 1);
			return 1;
		}
	}
	return 0;
}

/* Push the message the user sees for msg (see the top of this file). */
static void relocate(lua_State *L, const char *msg)
{
	size_t namelen = 0, plen = position(msg, &namelen);
	FeFrame f[FE_LEVELMAX], inner = {0};
	int level = 0, n, i = 0;
	for (; (n = fe_trace_level(L, level, f)) > 0; level++) {   /* the innermost user function */
		for (i = 0; i < n && !f[i].user; i++)
			inner = f[i];
		if (i < n)
			break;
	}
	if (n <= 0) {
		lua_pushstring(L, msg);
		return;
	}
	const char *nl = strchr(msg, '\n');
	size_t len = nl ? (size_t)(nl - msg) : strlen(msg);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	if (plen == 0 || fe_is_libsrc(msg, namelen)) {
		const char *rest = msg + plen;
		while (*rest == ' ')
			rest++;
		lua_pushfstring(L, "%s:%d: ", frame_file(&f[i]), f[i].line);
		luaL_addvalue(&b);
		luaL_addlstring(&b, rest, len - (size_t)(rest - msg));
		/* name the library function the user's line called */
		if (plen && inner.lib && (inner.live ? func_name(L, inner.level) != NULL
		                                     : push_proto_name(L, inner.src, inner.linedefined))) {
			size_t fl;
			const char *fn = lua_tolstring(L, -1, &fl);
			if (strncmp(rest, fn, fl) == 0 && rest[fl] == ':')
				lua_pop(L, 1);          /* the message names it already */
			else {
				lua_pushfstring(L, " (in %s)", fn);
				lua_remove(L, -2);
				luaL_addvalue(&b);
			}
		}
	} else {
		size_t skip = 0;
		if (full_src(L, msg, namelen, plen)) {    /* Lua cut the file name to 60 bytes */
			luaL_addvalue(&b);
			skip = namelen;
		}
		luaL_addlstring(&b, msg + skip, len - skip);
	}
	add_near_global(L, &b, msg, len);
	add_chain(L, &b);
	if (nl)
		luaL_addstring(&b, nl);
	luaL_pushresult(&b);
}

/* Message handler of every pcall the frontend makes: returns the message
** the user sees (see the comment at the top of this file). A message it
** made before (rethrown by scope or by the script) passes unchanged. */
int fe_msghandler(lua_State *L)
{
	Fe *fe = fe_get(L);
	fe->in_handler = 1;
	lua_getfield(L, LUA_REGISTRYINDEX, REG_LASTMSG);
	int again = lua_rawequal(L, 1, -1);
	lua_pop(L, 1);
	if (again) {
		fe->in_handler = 0;
		lua_settop(L, 1);
		return 1;
	}
	const char *msg = lua_tostring(L, 1);
	if (!msg) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			msg = lua_tostring(L, -1);
		else
			msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	relocate(L, msg);
	lua_pushvalue(L, -1);
	lua_setfield(L, LUA_REGISTRYINDEX, REG_LASTMSG);
	fe->in_handler = 0;
	return 1;
}
