/*
** map.c -- a hash map from byte strings to pointers, in an arena.
**
** Open addressing with linear probing (FNV-1a hashes), grown at half load;
** keys are copied into the arena and compared in full on every hit, so a
** hash collision never merges two keys. The map is only ever looked up,
** never iterated: nothing about its layout can reach the output.
*/
#include "cg.h"

#include <string.h>

/* FNV-1a over len bytes. */
static uint64_t hash(const void *key, size_t len)
{
	const unsigned char *p = key;
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < len; i++)
		h = (h ^ p[i]) * 1099511628211ull;
	return h;
}

/* The entry for key: its own, or the empty one where it would go. */
static MapEntry *find(const Map *m, const void *key, size_t len, uint64_t h)
{
	size_t mask = m->cap - 1;
	for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
		MapEntry *e = &m->e[i];
		if (!e->key || (e->hash == h && e->len == len && !memcmp(e->key, key, len)))
			return e;
	}
}

/* The value stored under key, or NULL. */
void *map_get(const Map *m, const void *key, size_t len)
{
	if (!m->cap)
		return NULL;
	MapEntry *e = find(m, key, len, hash(key, len));
	return e->key ? e->val : NULL;
}

/* Double the table (the old one stays in the arena until it is freed). */
static void grow(Map *m)
{
	MapEntry *old = m->e;
	size_t n = m->cap;
	m->cap = n ? 2 * n : 64;
	m->e = ir_alloc(m->arena, m->cap * sizeof *m->e);
	for (size_t i = 0; i < n; i++)
		if (old[i].key)
			*find(m, old[i].key, old[i].len, old[i].hash) = old[i];
}

/* Store val under key (a copy of it), replacing any earlier value. */
void map_put(Map *m, const void *key, size_t len, void *val)
{
	if (2 * (m->n + 1) > m->cap)
		grow(m);
	uint64_t h = hash(key, len);
	MapEntry *e = find(m, key, len, h);
	if (!e->key) {
		unsigned char *k = ir_alloc(m->arena, len ? len : 1);
		memcpy(k, key, len);
		*e = (MapEntry){h, k, len, NULL};
		m->n++;
	}
	e->val = val;
}
