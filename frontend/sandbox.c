/*
** sandbox.c -- fe_load: the sandboxed Lua state a model script runs in.
**
** Only the base, string, table, math and utf8 libraries are opened; load,
** loadfile, dofile and string.dump are removed, require is ours (require.c),
** print writes to stderr (stdout carries the IR), setmetatable refuses __gc.
** Chunks are loaded as source text only (fe_load_chunk). A custom allocator caps
** the memory the state may hold, a hook caps the instructions it may run
** and passes its calls, returns and lines to the trace (trace.c). Memory
** and budget errors are fatal: the sandbox's pcall rethrows them.
*/
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lualib.h>

#include "fe.h"

#define HOOK_EVERY 1000  /* instructions between two count-hook calls */
/* What a pcall or xpcall costs of the instruction budget: the hook counts
** VM instructions only, and the C work of catching an error (the message
** handler) is worth a thousand of them. */
#define PCALL_COST 1000
/* Bytes of allocation that cost one instruction of the budget: copying or
** building a long string is one VM instruction however long it is. */
#define ALLOC_BYTES_PER_INSTR 16
/* The hook runs on every call, return and new line as well, to keep the
** trace of the user's frames (trace.c) that tail calls replace. Each such
** event takes about as long as 4 VM instructions under the hook (a loop of
** one instruction a line runs at a fifth of its speed) and is charged 3, so
** the budget bounds a script's time within about 1.5 times what it did
** before the trace (a loop that spends 200 M takes 1-3 s on one core). */
#define HOOK_MASK (LUA_MASKCOUNT | LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE)
#define TRACE_EVENT_COST 3

static void fe_hook(lua_State *L, lua_Debug *ar);

/* Charge n instructions; once the budget is spent, make the count hook run
** at the next instruction (not up to HOOK_EVERY costly ones later). */
void fe_charge(Fe *fe, long long n)
{
	fe->instr += n;
	if (fe->instr >= fe->max_instr && fe->L && !fe->budget_fatal)
		lua_sethook(fe->L, fe_hook, HOOK_MASK, 1);
}

/* Return the load's state, the allocator's userdata. */
Fe *fe_get(lua_State *L)
{
	void *ud;
	lua_getallocf(L, &ud);
	return ud;
}

/* Fold n bytes into the spec hash (FNV-1a 64), then a separator. */
void fe_hash(Fe *fe, const void *p, size_t n)
{
	const unsigned char *b = p;
	uint64_t h = fe->hash;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	fe->hash = (h ^ 0xff) * 0x100000001b3ULL;
}

/* lua_Alloc: realloc within the memory cap; a big refused request records
** where the script was. */
static void *fe_alloc(void *ud, void *ptr, size_t osize, size_t nsize)
{
	Fe *fe = ud;
	size_t old = ptr ? osize : 0;
	if (nsize == 0) {
		free(ptr);
		fe->mem -= old;
		return NULL;
	}
	if (nsize > old && !fe->in_handler && fe->mem - old + nsize > fe->max_mem) {
		fe->oom_pos[0] = 0;
		if (nsize >= FE_BIGALLOC && fe->L)
			fe_user_pos(fe->L, 0, fe->oom_pos, sizeof fe->oom_pos);
		return NULL;
	}
	void *q = realloc(ptr, nsize);
	if (q) {
		fe->mem = fe->mem - old + nsize;
		if (nsize > old)
			fe_charge(fe, (long long)((nsize - old) / ALLOC_BYTES_PER_INSTR));
	}
	return q;
}

/* The hook: calls, returns and lines go to the trace; every HOOK_EVERY
** instructions, remember where the script is and stop it when the budget
** is spent. */
static void fe_hook(lua_State *L, lua_Debug *ar)
{
	Fe *fe = fe_get(L);
	if (ar->event != LUA_HOOKCOUNT) {
		fe->instr += TRACE_EVENT_COST;    /* the count hook checks the budget */
		fe_trace_event(L, ar);
		return;
	}
	fe_user_pos(L, 0, fe->last_pos, sizeof fe->last_pos);
	fe->instr += HOOK_EVERY;
	if (fe->instr < fe->max_instr && !fe->budget_fatal)
		return;
	fe->budget_fatal = 1;
	char where[FE_PATHMAX];
	fe_where(L, 0, where, sizeof where);
	lua_pushfstring(L, "%sinstruction budget of %I exhausted (infinite loop? raise it with "
	                "lunac --lua-instructions N)", where, (lua_Integer)fe->max_instr);
	lua_error(L);
}

/* True when a pcall in the script must not swallow the error it caught:
** memory errors (Lua raises "not enough memory" as LUA_ERRMEM even when it
** is rethrown with lua_error) and the exhausted instruction budget. */
static int fatal(Fe *fe, int status)
{
	if (status == LUA_ERRMEM)
		fe->mem_fatal = 1;
	return fe->budget_fatal || fe->mem_fatal;
}

/* pcall(f, ...) -> ok, ...   (budget and memory errors pass through; a
** caught message reads as it would have at the top level) */
static int sb_pcall(lua_State *L)
{
	luaL_checkany(L, 1);
	fe_charge(fe_get(L), PCALL_COST);
	lua_pushcfunction(L, fe_msghandler);
	lua_insert(L, 1);
	FeTraceMark m = fe_trace_mark(L);
	int status = lua_pcall(L, lua_gettop(L) - 2, LUA_MULTRET, 1);
	if (status != LUA_OK && fatal(fe_get(L), status))
		return lua_error(L);
	if (status != LUA_OK)
		fe_trace_restore(L, m);
	lua_pushboolean(L, status == LUA_OK);
	lua_replace(L, 1);
	return lua_gettop(L);
}

/* xpcall(f, handler, ...) -> ok, ...   (budget and memory errors pass through) */
static int sb_xpcall(lua_State *L)
{
	int n = lua_gettop(L);
	luaL_checktype(L, 2, LUA_TFUNCTION);
	fe_charge(fe_get(L), PCALL_COST);
	lua_pushvalue(L, 1);
	lua_copy(L, 2, 1);
	lua_replace(L, 2);
	FeTraceMark m = fe_trace_mark(L);
	int status = lua_pcall(L, n - 2, LUA_MULTRET, 1);
	if (status != LUA_OK && fatal(fe_get(L), status))
		return lua_error(L);
	if (status != LUA_OK)
		fe_trace_restore(L, m);
	lua_pushboolean(L, status == LUA_OK);
	lua_replace(L, 1);
	return lua_gettop(L);
}

/* setmetatable(t, mt) -> t   like Lua's, but mt may not have a __gc field:
** finalizers run when the collector decides, which would make the graph
** depend on memory use */
static int sb_setmetatable(lua_State *L)
{
	if (lua_istable(L, 2) && lua_getfield(L, 2, "__gc") != LUA_TNIL)
		return fe_error(L, "setmetatable: __gc finalizers are not allowed in model scripts");
	lua_settop(L, 2);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_insert(L, 1);
	lua_call(L, 2, 1);
	return 1;
}

/* print(...)   like Lua's, but to stderr */
static int sb_print(lua_State *L)
{
	int n = lua_gettop(L);
	for (int i = 1; i <= n; i++) {
		size_t len;
		const char *s = luaL_tolstring(L, i, &len);
		if (i > 1)
			fputc('\t', stderr);
		fwrite(s, 1, len, stderr);
		lua_pop(L, 1);
	}
	fputc('\n', stderr);
	return 0;
}

/* Open the allowed libraries and replace what the sandbox forbids. */
static void open_sandbox(lua_State *L)
{
	static const luaL_Reg libs[] = {
		{LUA_GNAME, luaopen_base}, {LUA_STRLIBNAME, luaopen_string},
		{LUA_TABLIBNAME, luaopen_table}, {LUA_MATHLIBNAME, luaopen_math},
		{LUA_UTF8LIBNAME, luaopen_utf8}, {NULL, NULL},
	};
	for (const luaL_Reg *l = libs; l->name; l++) {
		luaL_requiref(L, l->name, l->func, 1);
		lua_pop(L, 1);
	}
	static const char *const gone[] = {"dofile", "loadfile", "load", NULL};
	for (int i = 0; gone[i]; i++) {
		lua_pushnil(L);
		lua_setglobal(L, gone[i]);
	}
	lua_getglobal(L, LUA_STRLIBNAME);
	lua_pushnil(L);
	lua_setfield(L, -2, "dump");
	lua_pop(L, 1);
	lua_getglobal(L, LUA_MATHLIBNAME);   /* deterministic math.random */
	lua_getfield(L, -1, "randomseed");
	lua_pushinteger(L, 0);
	lua_call(L, 1, 0);
	lua_pop(L, 1);
	static const luaL_Reg repl[] = {
		{"pcall", sb_pcall}, {"xpcall", sb_xpcall}, {"print", sb_print},
		{"require", fe_require}, {NULL, NULL},
	};
	lua_pushglobaltable(L);
	luaL_setfuncs(L, repl, 0);
	lua_getfield(L, -1, "setmetatable");
	lua_pushcclosure(L, sb_setmetatable, 1);
	lua_setfield(L, -2, "setmetatable");
	lua_pop(L, 1);
	static const char *const regs[] = {
		REG_NAMES, REG_INPUTS, REG_OUTPUTS, REG_DECLARED, REG_LOADED, REG_LABELS, NULL,
	};
	for (int i = 0; regs[i]; i++) {
		lua_newtable(L);
		lua_setfield(L, LUA_REGISTRYINDEX, regs[i]);
	}
}

/* Protected body of fe_load: set up, run the script, check what it left. */
static int boot(lua_State *L)
{
	Fe *fe = fe_get(L);
	open_sandbox(L);
	fe_open_tensor(L);
	fe_open_dsl(L);
	fe_open_ops(L);
	fe_open_loss(L);
	fe_open_guards(L);
	fe_open_libapi(L);
	size_t len;
	int buf = fe_read_file(L, fe->path, &len);
	if (buf < 0)
		return luaL_error(L, "cannot open %s: %s", fe->path, strerror(errno));
	fe_hash(fe, lua_touserdata(L, buf), len);
	if (fe_load_chunk(L, lua_touserdata(L, buf), len, fe->path, NULL) != LUA_OK)
		return lua_error(L);
	lua_sethook(L, fe_hook, HOOK_MASK, HOOK_EVERY);
	lua_call(L, 0, 0);
	for (int i = 0; i < fe->ndefs; i++) {
		fe_hash(fe, fe->defs[i].key, strlen(fe->defs[i].key));
		fe_hash(fe, fe->defs[i].value, strlen(fe->defs[i].value));
	}
	fe_check_defs(L);
	fe_close_loss(L);
	if (fe->g->noutputs == 0)
		return luaL_error(L, "%s: the model defines no output (call output(name, x))", fe->path);
	return 0;
}

/* Name g after the script: its file name without its folder and ".lua". */
static void graph_name(Graph *g, const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	char *name = ir_strdup(&g->arena, b);
	size_t n = strlen(name);
	if (n > 4 && strcmp(name + n - 4, ".lua") == 0)
		name[n - 4] = 0;
	g->name = name;
}

/* Fill fe from the options. */
static void fe_init(Fe *fe, const char *path, const FeOptions *o)
{
	memset(fe, 0, sizeof *fe);
	fe->path = path;
	const char *slash = strrchr(path, '/');
	if (slash)
		snprintf(fe->dir, sizeof fe->dir, "%.*s", (int)(slash - path), path);
	fe->libdir = o && o->libdir ? o->libdir : FE_LIBLABEL;
	fe->defs = o ? o->defs : NULL;
	fe->ndefs = o ? o->ndefs : 0;
	fe->max_instr = o && o->max_instructions > 0 ? o->max_instructions : FE_DEFAULT_INSTR;
	fe->max_mem = o && o->max_memory > 0 ? o->max_memory : FE_DEFAULT_MEM;
	fe->hash = 0xcbf29ce484222325ULL;
	fe->loss = -1;
}

/* Turn a failed run's status into the one message that goes into e. */
static void report(Fe *fe, lua_State *L, int status, Err *e)
{
	char at[FE_PATHMAX];
	int traced = fe_trace_user_pos(fe, at, sizeof at);
	if (status == LUA_ERRMEM) {
		const char *pos = fe->oom_pos[0] ? fe->oom_pos : traced ? at : fe->last_pos[0] ? fe->last_pos : fe->path;
		ir_errorf(e, "%s: memory limit of %zu KiB exceeded (raise it with lunac --lua-memory SIZE)", pos,
		          fe->max_mem >> 10);
		return;
	}
	const char *msg = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : NULL;
	if (status == LUA_ERRERR || !msg)
		ir_errorf(e, "%s: error while reporting an error%s%s", traced ? at : fe->last_pos[0] ? fe->last_pos : fe->path,
		          msg ? ": " : "", msg ? msg : "");
	else
		ir_errorf(e, "%s", msg);
}

/* Run the script at path in a fresh sandbox; its graph, or NULL and e. */
Graph *fe_load(const char *path, const FeOptions *o, Err *e)
{
	Fe fe;
	if (strlen(path) >= PATH_MAX) {
		ir_errorf(e, "cannot open %.64s...: the path is longer than %d bytes", path, PATH_MAX - 1);
		return NULL;
	}
	fe_init(&fe, path, o);
	fe.g = ir_new(NULL);
	graph_name(fe.g, path);
	lua_State *L = lua_newstate(fe_alloc, &fe);
	if (!L) {
		ir_errorf(e, "%s: cannot create the Lua state (memory limit of %zu KiB)", path, fe.max_mem >> 10);
		ir_free(fe.g);
		return NULL;
	}
	fe.L = L;
	lua_pushcfunction(L, fe_msghandler);
	lua_pushcfunction(L, boot);
	int status = lua_pcall(L, 0, 0, 1);
	if (status != LUA_OK)
		report(&fe, L, status, e);
	fe_trace_free(L);
	lua_close(L);
	int64_t max_bytes = o && o->max_bytes > 0 ? o->max_bytes : IR_DEFAULT_MAX_BYTES;
	if (status == LUA_OK && ir_verify_model(fe.g, NULL, e) == 0 && ir_check_size(fe.g, max_bytes, NULL, e) == 0) {
		char hex[17];
		snprintf(hex, sizeof hex, "%016llx", (unsigned long long)fe.hash);
		fe.g->spec_hash = ir_strdup(&fe.g->arena, hex);
		return fe.g;
	}
	ir_free(fe.g);
	return NULL;
}
