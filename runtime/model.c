/*
** model.c -- the model descriptor (schema in lunac_rt.h): parsed from the
** JSON the compiler embeds, checked once, then used through plain structs.
** Every check failure is an internal error: the compiler wrote it. The
** tensor lists are parsed here, entries and tasks in model_entries.c.
*/
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <cjson/cJSON.h>

#include "rt.h"

#define BAD(...) rt_errorf(e, "internal error: model descriptor: " __VA_ARGS__)

/* A copy of s (NULL stays NULL); NULL on out of memory. */
static char *dupstr(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = malloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}

/* Read an integral JSON number in [lo, hi] into *v. */
static int getint(const cJSON *o, const char *key, int64_t lo, int64_t hi, int64_t *v,
                  const char *what, RtErr *e)
{
	const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
	if (!cJSON_IsNumber(j))
		return BAD("%s: \"%s\" is missing or not a number", what, key);
	double d = j->valuedouble;
	if (d != floor(d) || d < (double)lo || d > (double)hi)
		return BAD("%s: \"%s\" = %g is out of range", what, key, d);
	*v = (int64_t)d;
	return 0;
}

/* Copy the string member key of o into *dst. */
static int getstr(const cJSON *o, const char *key, char **dst, const char *what, RtErr *e)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, key));
	if (!s)
		return BAD("%s: \"%s\" is missing or not a string", what, key);
	if (!(*dst = dupstr(s)))
		return rt_errorf(e, "out of memory");
	return 0;
}

/* Parse "shape": integers >= 0, or -1 as the first dimension. */
static int getshape(const cJSON *o, RtTensor *t, const char *what, RtErr *e)
{
	const cJSON *s = cJSON_GetObjectItemCaseSensitive(o, "shape");
	if (!cJSON_IsArray(s))
		return BAD("%s: \"shape\" is missing or not an array", what);
	int n = cJSON_GetArraySize(s);
	if (n > RT_MAXDIM)
		return BAD("%s: %d dimensions (at most %d)", what, n, RT_MAXDIM);
	t->ndim = n;
	const cJSON *d;
	int i = 0;
	cJSON_ArrayForEach(d, s) {
		if (!cJSON_IsNumber(d) || d->valuedouble != floor(d->valuedouble) ||
		    d->valuedouble < (i == 0 ? -1 : 0) || d->valuedouble > 1e12)
			return BAD("%s: dimension %d of \"shape\" is not a valid size", what, i);
		t->shape[i++] = (int64_t)d->valuedouble;
	}
	return 0;
}

/* Bytes of one sample (batched) or of the whole tensor (fixed); -1 on overflow. */
static int64_t region_bytes(const RtTensor *t)
{
	int64_t b = (int64_t)rt_dtype_size(t->dtype);
	for (int i = 0; i < t->ndim; i++)
		if (t->shape[i] >= 0 && __builtin_mul_overflow(b, t->shape[i], &b))
			return -1;
	return b;
}

/* An input's optional "classes" (a label input's class count). */
static int getclasses(const cJSON *o, RtTensor *t, const char *what, RtErr *e)
{
	int64_t k = 0;
	if (cJSON_GetObjectItemCaseSensitive(o, "classes") &&
	    getint(o, "classes", 2, 1000000, &k, what, e))
		return -1;
	t->classes = (int)k;
	return 0;
}

/* Parse one tensor entry; params carry kind, init and fans. */
static int gettensor(const cJSON *o, RtTensor *t, int is_param, const RtModel *m, RtErr *e)
{
	char what[300];
	const char *nm = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "name"));
	snprintf(what, sizeof what, "tensor \"%.200s\"", nm ? nm : "?");
	if (!cJSON_IsObject(o))
		return BAD("a tensor entry is not an object");
	if (getstr(o, "name", &t->name, what, e))
		return -1;
	if (!t->name[0])
		return BAD("a tensor has an empty name");
	const char *dt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "dtype"));
	if (dt && !strcmp(dt, "f32"))
		t->dtype = RT_F32;
	else if (dt && !strcmp(dt, "i32"))
		t->dtype = RT_I32;
	else
		return BAD("%s: \"dtype\" must be \"f32\" or \"i32\"", what);
	if (getshape(o, t, what, e) || getint(o, "offset", 0, INT64_MAX / 4, &t->offset, what, e))
		return -1;
	const cJSON *b = cJSON_GetObjectItemCaseSensitive(o, "batched");
	if (!cJSON_IsBool(b))
		return BAD("%s: \"batched\" is missing or not a boolean", what);
	t->batched = cJSON_IsTrue(b);
	if (t->batched != (t->ndim > 0 && t->shape[0] == -1))
		return BAD("%s: \"batched\" disagrees with the shape's leading -1", what);
	if (t->offset % (int64_t)rt_dtype_size(t->dtype))
		return BAD("%s: offset %lld is not aligned", what, (long long)t->offset);
	int64_t bytes = region_bytes(t), end;
	int64_t limit = t->batched ? m->batch_bytes : m->fixed_bytes;
	if (bytes < 0 || __builtin_add_overflow(t->offset, bytes, &end) || end > limit)
		return BAD("%s: lies outside the %s region", what, t->batched ? "batched" : "fixed");
	if (!is_param)
		return getclasses(o, t, what, e);
	if (t->batched)
		return BAD("%s: a parameter cannot be batched", what);
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "kind"));
	if (kind && !strcmp(kind, "param"))
		t->kind = RT_PARAM;
	else if (kind && !strcmp(kind, "buffer"))
		t->kind = RT_BUFFER;
	else if (kind && !strcmp(kind, "state"))
		t->kind = RT_STATE;
	else
		return BAD("%s: \"kind\" must be \"param\", \"buffer\" or \"state\"", what);
	const char *init = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "init"));
	if (init && !strcmp(init, "glorot"))
		t->init = RT_INIT_GLOROT;
	else if (init && !strcmp(init, "zeros"))
		t->init = RT_INIT_ZEROS;
	else if (init && !strcmp(init, "ones"))
		t->init = RT_INIT_ONES;
	else
		return BAD("%s: \"init\" must be \"glorot\", \"zeros\" or \"ones\"", what);
	if (t->dtype != RT_F32)
		return BAD("%s: parameters, buffers and state must be f32", what);
	if (getint(o, "fan_in", 0, 1LL << 40, &t->fan_in, what, e) ||
	    getint(o, "fan_out", 0, 1LL << 40, &t->fan_out, what, e))
		return -1;
	if (t->init == RT_INIT_GLOROT && t->fan_in + t->fan_out <= 0)
		return BAD("%s: glorot needs fan_in + fan_out > 0", what);
	return 0;
}

/* Parse the array member key into *ts / *n; names must be unique in it. */
static int getlist(const cJSON *root, const char *key, RtTensor **ts, int *n, int is_param,
                   const RtModel *m, RtErr *e)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!cJSON_IsArray(a))
		return BAD("\"%s\" is missing or not an array", key);
	int k = cJSON_GetArraySize(a);
	if (!(*ts = calloc(k ? k : 1, sizeof **ts)))
		return rt_errorf(e, "out of memory");
	const cJSON *o;
	cJSON_ArrayForEach(o, a) {
		RtTensor *t = &(*ts)[(*n)++];   /* counted first: a half-parsed entry is freed too */
		if (gettensor(o, t, is_param, m, e))
			return -1;
		for (int i = 0; i < *n - 1; i++)
			if (!strcmp((*ts)[i].name, t->name))
				return BAD("\"%s\" names \"%s\" twice", key, t->name);
	}
	return 0;
}

/* Everything but the tensor lists. */
static int getheader(const cJSON *root, RtModel *m, RtErr *e)
{
	if (!cJSON_IsObject(root))
		return BAD("not a JSON object");
	if (getstr(root, "format", &m->format, "top level", e))
		return -1;
	if (strcmp(m->format, "lunac-model-1"))
		return BAD("unknown format \"%s\" (this runtime reads lunac-model-1)", m->format);
	const cJSON *t = cJSON_GetObjectItemCaseSensitive(root, "target");   /* optional */
	if (t && (getstr(t, "cpu", &m->target_cpu, "target", e) || getstr(t, "features", &m->target_features, "target", e)))
		return -1;
	return getstr(root, "name", &m->name, "top level", e) ||
	       getstr(root, "compiler", &m->compiler, "top level", e) ||
	       getstr(root, "spec_hash", &m->spec_hash, "top level", e) ||
	       getint(root, "fixed_bytes", 0, INT64_MAX / 4, &m->fixed_bytes, "top level", e) ||
	       getint(root, "batch_bytes", 0, INT64_MAX / 4, &m->batch_bytes, "top level", e) ? -1 : 0;
}

int rt_model_parse(RtModel *m, const char *json, RtErr *e)
{
	memset(m, 0, sizeof *m);
	RtErr sub = {0};
	if (rt_json_check(json, strlen(json), 0, "model descriptor", &sub))   /* \u0000 in a name */
		return BAD("%s", sub.msg);
	cJSON *root = cJSON_Parse(json);
	if (!root)
		return BAD("invalid JSON near byte %ld",
		           cJSON_GetErrorPtr() ? (long)(cJSON_GetErrorPtr() - json) : -1L);
	int rc = getheader(root, m, e) ||
	         getlist(root, "inputs", &m->inputs, &m->ninputs, 0, m, e) ||
	         getlist(root, "outputs", &m->outputs, &m->noutputs, 0, m, e) ||
	         getlist(root, "params", &m->params, &m->nparams, 1, m, e) ? -1 : 0;
	if (!rc && m->noutputs == 0)
		rc = BAD("the model has no outputs");
	if (!rc)
		rc = rt_model_parse_entries(m, root, e);
	cJSON_Delete(root);
	if (rc)
		rt_model_free(m);
	return rc;
}

/* Free a tensor list of n entries. */
static void freelist(RtTensor *ts, int n)
{
	for (int i = 0; ts && i < n; i++)
		free(ts[i].name);
	free(ts);
}

void rt_model_free(RtModel *m)
{
	free(m->format);
	free(m->name);
	free(m->compiler);
	free(m->spec_hash);
	free(m->target_cpu);
	free(m->target_features);
	freelist(m->inputs, m->ninputs);
	freelist(m->outputs, m->noutputs);
	freelist(m->params, m->nparams);
	for (int i = 0; m->entries && i < m->nentries; i++) {
		free(m->entries[i].name);
		free(m->entries[i].outputs);
	}
	free(m->entries);
	for (int i = 0; m->tasks && i < m->ntasks; i++)
		free(m->tasks[i].name);
	free(m->tasks);
	memset(m, 0, sizeof *m);
}

int64_t rt_arena_bytes(const RtModel *m, int64_t n)
{
	int64_t b;
	if (n < 0 || __builtin_mul_overflow(m->batch_bytes, n, &b) ||
	    __builtin_add_overflow(b, m->fixed_bytes, &b))
		return -1;
	return b;
}

int64_t rt_numel(const RtTensor *t, int64_t n)
{
	int64_t k = 1;
	for (int i = 0; i < t->ndim; i++)
		k *= t->shape[i] < 0 ? n : t->shape[i];
	return k;
}

int64_t rt_sample_numel(const RtTensor *t)
{
	int64_t k = 1;
	for (int i = t->batched ? 1 : 0; i < t->ndim; i++)
		k *= t->shape[i];
	return k;
}

char *rt_tensor_addr(const RtModel *m, const RtTensor *t, char *arena, int64_t n)
{
	return t->batched ? arena + m->fixed_bytes + t->offset * n : arena + t->offset;
}

size_t rt_dtype_size(RtDtype d)
{
	(void)d;
	return 4;
}

const char *rt_dtype_name(RtDtype d)
{
	return d == RT_I32 ? "i32" : "f32";
}

/* An arena is an anonymous mapping, zero and untouched: a page costs only
** when an entry first writes or reads it (predict never faults in the
** gradients and optimizer state), and the first training step faults its
** pages in on every thread instead of one memset doing it all up front. The
** mapping's start and length sit in the 64 bytes before the arena. Under
** AddressSanitizer it is an ordinary allocation, whose redzones catch a
** kernel that writes past the end. (Transparent huge pages were slower
** here: their compaction stalls cost more than the faults they save.) */
typedef struct ArenaHead {
	void *base;
	size_t len;
} ArenaHead;

char *rt_arena_new(const RtModel *m, int64_t n, RtErr *e)
{
	int64_t b = rt_arena_bytes(m, n);
	if (b < 0 || (uint64_t)b > SIZE_MAX - 128) {
		rt_errorf(e, "%lld samples need more memory than can be addressed", (long long)n);
		return NULL;
	}
	size_t size = ((size_t)b + 63) & ~(size_t)63, len = (size ? size : 64) + 64;
#ifdef __SANITIZE_ADDRESS__
	void *base = NULL;
	if (posix_memalign(&base, 64, len))
		base = NULL;
	else
		memset(base, 0, len);
#else
	void *base = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		base = NULL;
#endif
	if (!base) {
		rt_errorf(e, "out of memory: the arena for %lld samples needs %lld bytes",
		          (long long)n, (long long)b);
		return NULL;
	}
	*(ArenaHead *)base = (ArenaHead){base, len};
	return (char *)base + 64;
}

void rt_arena_free(char *arena)
{
	if (!arena)
		return;
	ArenaHead h = *(ArenaHead *)(arena - 64);
#ifdef __SANITIZE_ADDRESS__
	free(h.base);
#else
	munmap(h.base, h.len);
#endif
}

int64_t rt_param_count(const RtModel *m)
{
	int64_t k = 0;
	for (int i = 0; i < m->nparams; i++)
		if (m->params[i].kind == RT_PARAM)
			k += rt_numel(&m->params[i], 0);
	return k;
}

int64_t rt_weight_bytes(const RtModel *m)
{
	int64_t k = 0;
	for (int i = 0; i < m->nparams; i++)
		if (m->params[i].kind != RT_STATE)
			k += rt_numel(&m->params[i], 0) * (int64_t)rt_dtype_size(m->params[i].dtype);
	return k;
}
