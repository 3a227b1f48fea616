/*
** trace.c -- the shadow call stack: the frames Lua's tail calls throw away.
**
** A Lua function that ends with "return f(...)" hands its frame to f (a
** tail call), so lua_getstack no longer sees the line that made the call:
** an error inside nn.conv2d, called as "return nn.conv2d(...)" from a
** helper, would name only the helper's caller, and so would the nodes the
** call made. The sandbox's hook (sandbox.c) passes every call, tail call,
** return and new line here; this file keeps one record per real frame (its
** function's chunk, the line the function is defined at, the line it is
** at) and, under each, the functions the frame ran before a tail call
** replaced them, with the line of that tail call. A tail recursion that
** repeats a line is one record with a count; of a longer run of tail calls
** in one frame the first and the last FE_TAILKEEP / 2 are kept.
**
** fe_trace_level matches the records to the real frames from the innermost
** one. An error unwinds frames without return events, so every pcall the
** frontend makes puts back the depth it saved (fe_trace_mark and
** fe_trace_restore). The records live in memory counted against the
** script's memory cap; when they cannot grow, the trace stops and the
** reports fall back to the frames Lua has.
*/
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fe.h"

/* Make room for need items of size bytes in the array *p of *cap items,
** with the state's allocator; 0 when it refuses. */
static int grow(lua_State *L, void **p, int *cap, int need, size_t size)
{
	if (need <= *cap)
		return 1;
	if (*cap > INT_MAX / 2)
		return 0;
	int ncap = *cap ? *cap * 2 : 16;
	void *ud;
	lua_Alloc alloc = lua_getallocf(L, &ud);
	void *q = alloc(ud, *p, (size_t)*cap * size, (size_t)ncap * size);
	if (!q)
		return 0;
	*p = q;
	*cap = ncap;
	return 1;
}

/* Make room for one more frame record. The records are not counted against
** the memory cap: each stands for a frame Lua holds in counted memory (a
** call record and stack slots, 80 bytes or more, where a record is 12), so
** they are bounded by the cap all the same. 0 when there is no memory. */
static int grow_frames(FeTrace *t)
{
	if (t->nframes < t->capframes)
		return 1;
	if (t->capframes > INT_MAX / 2)
		return 0;
	int ncap = t->capframes ? t->capframes * 2 : 16;
	FeTraceFrame *q = realloc(t->frames, (size_t)ncap * sizeof *q);
	if (!q)
		return 0;
	t->frames = q;
	t->capframes = ncap;
	return 1;
}

/* The file name of chunk i. */
static const char *src_file(const FeTrace *t, int i)
{
	const char *name = t->srcs[i].name;
	return name[0] == '@' ? name + 1 : name;
}

/* The index of the chunk named src (len bytes) in the trace's chunk list,
** added when new; -1 when there is no room. */
static int src_index(lua_State *L, FeTrace *t, const char *src, size_t len)
{
	if (t->lastptr == src && t->srcs[t->lastsrc].len == len && !memcmp(t->srcs[t->lastsrc].name, src, len))
		return t->lastsrc;
	int i = 0;
	while (i < t->nsrcs && !(t->srcs[i].len == len && !memcmp(t->srcs[i].name, src, len)))
		i++;
	if (i == t->nsrcs) {
		void *ud;
		lua_Alloc alloc = lua_getallocf(L, &ud);
		char *name = grow(L, (void **)&t->srcs, &t->capsrcs, i + 1, sizeof *t->srcs) ? alloc(ud, NULL, 0, len + 1)
		                                                                            : NULL;
		if (!name)
			return -1;
		memcpy(name, src, len);
		name[len] = 0;
		t->srcs[t->nsrcs++] = (FeTraceSrc){name, len, 1};
		const char *file = src_file(t, i);
		t->srcs[i].user = !fe_is_libsrc(file, strlen(file));
	}
	t->lastptr = src;
	t->lastsrc = i;
	return i;
}

/* The index of the first tail record of frame k (where it would go when
** there is none): the records are in the order of their frames. */
static int first_tail(const FeTrace *t, int k)
{
	int lo = 0, hi = t->ntails;
	while (lo < hi) {
		int mid = lo + (hi - lo) / 2;
		if (t->tails[mid].frame < k)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* The frame on top made a tail call: keep the function it ran (folded into
** the last one kept when it is the same line again), and start afresh for
** the function called. */
static void tail_call(lua_State *L, FeTrace *t)
{
	int k = t->nframes - 1;
	FeTraceFrame *f = &t->frames[k];
	if (f->src >= 0) {
		int first = t->ntails;
		while (first > 0 && t->tails[first - 1].frame == k)
			first--;
		int n = t->ntails - first;
		FeTraceTail *last = n ? &t->tails[t->ntails - 1] : NULL;
		if (last && last->src == f->src && last->linedefined == f->linedefined && last->line == f->line) {
			last->times++;
		} else {
			/* kept: the FE_TAILKEEP / 2 oldest, a mark, the FE_TAILKEEP / 2 newest */
			FeTraceTail *m = &t->tails[first + FE_TAILKEEP / 2];
			if (n > FE_TAILKEEP) {          /* the oldest of the newest joins the mark */
				m->times += m[1].times;
				memmove(m + 1, m + 2, (size_t)(n - FE_TAILKEEP / 2 - 2) * sizeof *m);
				t->ntails--;
			} else if (n == FE_TAILKEEP) {
				m->src = -1;                /* it becomes the mark */
			}
			if (!grow(L, (void **)&t->tails, &t->captails, t->ntails + 1, sizeof *t->tails)) {
				t->off = 1;
				return;
			}
			t->tails[t->ntails++] = (FeTraceTail){k, f->src, f->linedefined, f->line, 1};
		}
	}
	f->src = -1;
	f->linedefined = f->line = 0;
}

/* Follow one hook event (call, tail call, return or new line; not count). */
void fe_trace_event(lua_State *L, lua_Debug *ar)
{
	FeTrace *t = &fe_get(L)->trace;
	if (t->off)
		return;
	switch (ar->event) {
	case LUA_HOOKCALL:
		if (!grow_frames(t)) {
			t->off = 1;
			return;
		}
		t->frames[t->nframes++] = (FeTraceFrame){-1, 0, 0};
		return;
	case LUA_HOOKTAILCALL:
		if (t->nframes > 0)
			tail_call(L, t);
		return;
	case LUA_HOOKRET:
		if (t->nframes > 0)
			for (t->nframes--; t->ntails > 0 && t->tails[t->ntails - 1].frame >= t->nframes;)
				t->ntails--;
		return;
	case LUA_HOOKLINE:
		if (t->nframes > 0) {
			FeTraceFrame *f = &t->frames[t->nframes - 1];
			f->line = ar->currentline;
			if (f->src < 0) {              /* the function's first line */
				lua_getinfo(L, "S", ar);
				f->linedefined = ar->linedefined;
				if ((f->src = src_index(L, t, ar->source, ar->srclen)) < 0)
					t->off = 1;
			}
		}
		return;
	}
}

/* Write "file:line" of the innermost function of a user file the records
** hold into buf; 0 when there is none. An error that no pcall caught
** leaves the records as they were when it was raised, so this names the
** line of a memory error, which Lua raises without a message handler. */
int fe_trace_user_pos(Fe *fe, char *buf, size_t cap)
{
	const FeTrace *t = &fe->trace;
	int i = t->ntails;
	for (int k = t->off ? -1 : t->nframes - 1; k >= 0; k--) {
		const FeTraceFrame *f = &t->frames[k];
		if (f->src >= 0 && t->srcs[f->src].user && f->line > 0) {
			snprintf(buf, cap, "%s:%d", src_file(t, f->src), f->line);
			return 1;
		}
		for (; i > 0 && t->tails[i - 1].frame == k; i--) {
			const FeTraceTail *r = &t->tails[i - 1];
			if (r->src >= 0 && t->srcs[r->src].user && r->line > 0) {
				snprintf(buf, cap, "%s:%d", src_file(t, r->src), r->line);
				return 1;
			}
		}
	}
	buf[0] = 0;
	return 0;
}

/* Where the trace is, for a pcall to restore when it catches an error. */
FeTraceMark fe_trace_mark(lua_State *L)
{
	FeTrace *t = &fe_get(L)->trace;
	return (FeTraceMark){t->nframes, t->ntails};
}

/* Drop the records of the frames an error unwound (no return event said
** so): back to mark m. */
void fe_trace_restore(lua_State *L, FeTraceMark m)
{
	FeTrace *t = &fe_get(L)->trace;
	if (m.nframes <= t->nframes) {
		t->nframes = m.nframes;
		t->ntails = m.ntails;
	}
}

/* Give the trace's memory back (before the state is closed). */
void fe_trace_free(lua_State *L)
{
	FeTrace *t = &fe_get(L)->trace;
	void *ud;
	lua_Alloc alloc = lua_getallocf(L, &ud);
	for (int i = 0; i < t->nsrcs; i++)
		alloc(ud, t->srcs[i].name, t->srcs[i].len + 1, 0);
	alloc(ud, t->srcs, (size_t)t->capsrcs * sizeof *t->srcs, 0);
	alloc(ud, t->tails, (size_t)t->captails * sizeof *t->tails, 0);
	free(t->frames);
	memset(t, 0, sizeof *t);
	t->off = 1;
}

/* True when record f is of the function of the frame ar describes ("S"). */
static int matches(const FeTrace *t, const FeTraceFrame *f, const lua_Debug *ar)
{
	if (ar->what[0] == 'C')
		return f->src < 0;
	if (f->src < 0 || f->linedefined != ar->linedefined)
		return 0;
	const FeTraceSrc *s = &t->srcs[f->src];
	return s->len == ar->srclen && !memcmp(s->name, ar->source, s->len);
}

/* How many innermost real frames have no record (0, or 1 for the message
** handler Lua calls from inside a hook, where hooks do not run); -1 when
** the records do not match the stack. */
static int align(lua_State *L, const FeTrace *t)
{
	if (t->off || t->nframes == 0)
		return -1;
	for (int skip = 0; skip < 2; skip++) {
		lua_Debug ar;
		if (lua_getstack(L, skip, &ar) && lua_getinfo(L, "S", &ar) && matches(t, &t->frames[t->nframes - 1], &ar))
			return skip;
	}
	return -1;
}

/* Fill out (room for FE_LEVELMAX) with the functions of the real frame at
** level, innermost first: the one running there, then those it ran before
** tail calls replaced them, newest first, with a mark (src NULL) where
** some were not kept. Returns how many; 0 when there is no such level. */
int fe_trace_level(lua_State *L, int level, FeFrame *out)
{
	lua_Debug ar;
	if (!lua_getstack(L, level, &ar))
		return 0;
	lua_getinfo(L, "Slt", &ar);
	const char *file = ar.source[0] == '@' ? ar.source + 1 : ar.short_src;
	int lua = ar.what[0] != 'C', lib = lua && fe_is_libsrc(file, strlen(file));
	out[0] = (FeFrame){level, 1, ar.source, ar.currentline, ar.linedefined, 1, lua && !lib && ar.currentline > 0, lib, 0};
	const FeTrace *t = &fe_get(L)->trace;
	int skip = ar.istailcall ? align(L, t) : -1, k = t->nframes - 1 - (level - skip);
	if (skip < 0 || level < skip || k < 0 || !matches(t, &t->frames[k], &ar))
		return 1;
	int first = first_tail(t, k), end = first, n = 1;
	while (end < t->ntails && t->tails[end].frame == k)
		end++;
	for (int i = end - 1; i >= first; i--) {
		const FeTraceTail *r = &t->tails[i];
		const FeTraceSrc *s = r->src >= 0 ? &t->srcs[r->src] : NULL;
		if (s)
			out[n++] = (FeFrame){level, 0, s->name, r->line, r->linedefined, r->times, s->user && r->line > 0,
			                     !s->user, i == first};
		else
			out[n++] = (FeFrame){level, 0, NULL, 0, 0, r->times, 0, 0, 0};
	}
	return n;
}
