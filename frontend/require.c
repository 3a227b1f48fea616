/*
** require.c -- the sandbox's require and file reading.
**
** require(name) loads name.lua from the model script's own folder, else
** from the library folder (FeOptions.libdir). Names are plain words
** (letters, digits, '_', '-'): no '/', no '..', no absolute paths. Library
** chunks are named "frontend/lib/NAME.lua" whatever libdir is, so locations
** do not depend on where lunac is installed. Every module's chunk gets its
** name and the helpers of libapi.c as arguments; the table a library module
** returns is made strict.
*/
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "fe.h"

/* Push a full userdata holding the file's bytes; return its stack index, or
** -1 with errno set (nothing pushed) when the file cannot be read. */
int fe_read_file(lua_State *L, const char *path, size_t *len)
{
	struct stat st;
	if (stat(path, &st) != 0)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	size_t n = (size_t)st.st_size;
	void *buf = lua_newuserdatauv(L, n ? n : 1, 0);
	int idx = lua_gettop(L);
	FILE *f = fopen(path, "rb");
	if (!f) {
		int err = errno;
		lua_pop(L, 1);
		errno = err;
		return -1;
	}
	size_t got = fread(buf, 1, n, f);
	int err = ferror(f) ? errno : 0;
	fclose(f);
	if (err || got != n) {
		lua_pop(L, 1);
		errno = err ? err : EIO;
		return -1;
	}
	*len = n;
	return idx;
}

/* Compile the chunk in buf (len bytes) as Lua source named "@display" and
** push it; on a syntax error push the message and return non-zero. A
** precompiled chunk raises "[fn: ]display: precompiled Lua is not accepted"
** before Lua sees it (Lua does not verify bytecode, and a crafted chunk
** corrupts memory); the load itself is text-only as well. */
int fe_load_chunk(lua_State *L, const char *buf, size_t len, const char *display, const char *fn)
{
	if (len > 0 && buf[0] == LUA_SIGNATURE[0])
		fe_error(L, "%s%s%s: precompiled Lua is not accepted (load the .lua source)", fn ? fn : "",
		         fn ? ": " : "", display);
	lua_pushfstring(L, "@%s", display);
	int status = luaL_loadbufferx(L, buf, len, lua_tostring(L, -1), "t");
	lua_remove(L, -2);
	return status;
}

/* True when name is a plain module name. */
static int plain_name(const char *name)
{
	if (!*name)
		return 0;
	for (const char *p = name; *p; p++)
		if (!(('a' <= *p && *p <= 'z') || ('A' <= *p && *p <= 'Z') || ('0' <= *p && *p <= '9') || *p == '_' || *p == '-'))
			return 0;
	return 1;
}

/* Find name.lua; push the chunk's display name and then its bytes, and
** return the index of the bytes. Raises when it is nowhere. */
static int find_module(lua_State *L, const char *name, size_t *len)
{
	Fe *fe = fe_get(L);
	const char *user = lua_pushfstring(L, "%s%s%s.lua", fe->dir, fe->dir[0] ? "/" : "", name);
	int idx = fe_read_file(L, user, len);
	if (idx > 0)
		return idx;
	int at = lua_gettop(L);
	const char *lib = lua_pushfstring(L, "%s/%s.lua", fe->libdir, name);
	idx = fe_read_file(L, lib, len);
	if (idx < 0)
		return fe_error(L, "require: module '%s' not found (looked for %s and %s)", name, user, lib);
	lua_pushfstring(L, "%s/%s.lua", FE_LIBLABEL, name);
	lua_replace(L, at);          /* the display name replaces user's path */
	lua_remove(L, at + 1);       /* and lib's path goes */
	return lua_gettop(L);
}

/* require(name) -> the module's value (what its chunk returned, or true) */
int fe_require(lua_State *L)
{
	Fe *fe = fe_get(L);
	size_t n;
	fe_check_nargs(L, "require(name)", 1, 1);
	const char *name = luaL_checklstring(L, 1, &n);
	if (strlen(name) != n || !plain_name(name))
		return fe_error(L, "require: module name '%s' is not allowed (a plain name such as \"nn\" "
		                   "loads nn.lua from the model's folder or the lunac library)", name);
	lua_settop(L, 1);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_LOADED);          /* 2 */
	int t = lua_getfield(L, 2, name);
	if (t == LUA_TBOOLEAN && !lua_toboolean(L, -1))
		return fe_error(L, "require: module '%s' requires itself (a cycle)", name);
	if (t != LUA_TNIL)
		return 1;
	lua_pop(L, 1);
	size_t len;
	int buf = find_module(L, name, &len);   /* the display name at buf - 1 */
	const char *display = lua_tostring(L, buf - 1);
	fe_hash(fe, name, strlen(name));
	fe_hash(fe, lua_touserdata(L, buf), len);
	if (fe_load_chunk(L, lua_touserdata(L, buf), len, display, "require") != LUA_OK)
		return lua_error(L);
	int lib = fe_is_libsrc(display, strlen(display));
	lua_pushboolean(L, 0);
	lua_setfield(L, 2, name);        /* loading: a second require is a cycle */
	lua_pushstring(L, name);
	lua_getfield(L, LUA_REGISTRYINDEX, REG_LIBAPI);
	lua_call(L, 2, 1);
	if (lua_isnil(L, -1)) {
		lua_pop(L, 1);
		lua_pushboolean(L, 1);
	}
	if (lib)
		fe_strict_module(L, -1, name);
	lua_pushvalue(L, -1);
	lua_setfield(L, 2, name);
	return 1;
}
