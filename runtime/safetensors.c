/*
** safetensors.c -- the safetensors format (huggingface/safetensors):
**
**   8 bytes   N, the header length, unsigned little-endian
**   N bytes   JSON: {"__metadata__": {string: string},
**                    "name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...}
**             padded with spaces; the writer makes 8 + N a multiple of 8
**   the rest  the data region: raw little-endian tensor bytes
**
** The reader holds files to the rules of the reference implementation and
** never trusts a number: N at most 100 MB and inside the file; the header
** valid UTF-8 JSON, an object starting with '{', only whitespace after it,
** no NUL (raw or \u0000, which would cut a name short) and no number that
** is not written as plain digits up to 2^53 (1.5, 1e3, -1 and 2^53 + 1,
** which a double rounds, are refused: rt_json_check); every tensor entry
** an object with a known dtype, a shape of non-negative integers and two
** integer data_offsets, begin <= end; numel * dtype size
** == end - begin (all products overflow-checked); no duplicate names; and
** the tensors, sorted by offset, cover the data region exactly, without
** gaps or overlaps and with no bytes left over. Data is read on demand.
*/
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "rt.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the runtime reads and writes little-endian data in place"
#endif

#define ST_MAX_HEADER 100000000ull   /* the reference implementation's limit */
#define ST_MAX_INT (1ull << 53)      /* integers a JSON double holds exactly */

static const struct { const char *name; size_t size; } dtypes[ST_NDTYPE] = {
	[ST_BOOL] = {"BOOL", 1}, [ST_U8] = {"U8", 1}, [ST_I8] = {"I8", 1},
	[ST_F8_E5M2] = {"F8_E5M2", 1}, [ST_F8_E4M3] = {"F8_E4M3", 1},
	[ST_I16] = {"I16", 2}, [ST_U16] = {"U16", 2}, [ST_F16] = {"F16", 2},
	[ST_BF16] = {"BF16", 2}, [ST_I32] = {"I32", 4}, [ST_U32] = {"U32", 4},
	[ST_F32] = {"F32", 4}, [ST_F64] = {"F64", 8}, [ST_I64] = {"I64", 8},
	[ST_U64] = {"U64", 8},
};

const char *st_dtype_name(StDtype d)
{
	return d < ST_NDTYPE ? dtypes[d].name : "?";
}

size_t st_dtype_size(StDtype d)
{
	return d < ST_NDTYPE ? dtypes[d].size : 0;
}

/* 1 when s[0..n) is valid UTF-8 (no overlongs, surrogates or > U+10FFFF). */
static int utf8_ok(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		if (!k || (k > 1 && c < 0xC2) || i + k > n)
			return 0;
		uint32_t cp = k == 1 ? c : c & (0x7F >> k);
		for (size_t j = 1; j < k; j++) {
			if ((s[i + j] & 0xC0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + j] & 0x3F);
		}
		if ((k == 3 && (cp < 0x800 || (cp >= 0xD800 && cp <= 0xDFFF))) ||
		    (k == 4 && (cp < 0x10000 || cp > 0x10FFFF)))
			return 0;
		i += k;
	}
	return 1;
}

/* An integral JSON number in [0, 2^53] into *v. */
static int getu(const cJSON *j, uint64_t *v)
{
	if (!cJSON_IsNumber(j))
		return -1;
	double d = j->valuedouble;
	if (!(d >= 0 && d <= (double)ST_MAX_INT) || d != (double)(uint64_t)d)
		return -1;
	*v = (uint64_t)d;
	return 0;
}

/* The dtype called s, or ST_NDTYPE. */
static StDtype dtype_of(const char *s)
{
	for (int d = 0; d < ST_NDTYPE; d++)
		if (!strcmp(s, dtypes[d].name))
			return d;
	return ST_NDTYPE;
}

/* "__metadata__": an object of string values, copied into f->meta. */
static int parse_meta(StFile *f, const char *path, const cJSON *o, RtErr *e)
{
	if (f->meta)
		return rt_errorf(e, "%s: the header has \"__metadata__\" twice", path);
	if (!cJSON_IsObject(o))
		return rt_errorf(e, "%s: \"__metadata__\" is not an object", path);
	int n = cJSON_GetArraySize(o);
	if (!(f->meta = calloc(2 * (size_t)n + 1, sizeof *f->meta)))
		return rt_errorf(e, "out of memory");
	const cJSON *kv;
	cJSON_ArrayForEach(kv, o) {
		if (!cJSON_IsString(kv))
			return rt_errorf(e, "%s: metadata \"%.200s\" is not a string", path, kv->string);
		for (int i = 0; i < f->nmeta; i++)
			if (!strcmp(f->meta[2 * i], kv->string))
				return rt_errorf(e, "%s: metadata key \"%.200s\" appears twice", path, kv->string);
		char **slot = &f->meta[2 * f->nmeta++];
		slot[0] = strdup(kv->string);
		slot[1] = slot[0] ? strdup(kv->valuestring) : NULL;
		if (!slot[1])
			return rt_errorf(e, "out of memory");
	}
	return 0;
}

/* "shape": non-negative integers; numel * dtype size into *bytes, overflow-checked. */
static int parse_shape(StTensor *t, const char *path, const cJSON *s, uint64_t *bytes, RtErr *e)
{
	if (!cJSON_IsArray(s))
		return rt_errorf(e, "%s: tensor \"%.200s\": \"shape\" is missing or not an array", path, t->name);
	int n = cJSON_GetArraySize(s);
	if (n > RT_MAXDIM)
		return rt_errorf(e, "%s: tensor \"%.200s\" has %d dimensions (at most %d are supported)",
		                 path, t->name, n, RT_MAXDIM);
	uint64_t b = st_dtype_size(t->dtype), d;
	const cJSON *j;
	cJSON_ArrayForEach(j, s) {
		if (getu(j, &d))
			return rt_errorf(e, "%s: tensor \"%.200s\": dimension %d of \"shape\" is not a "
			                 "non-negative integer", path, t->name, t->ndim);
		if (__builtin_mul_overflow(b, d, &b))
			return rt_errorf(e, "%s: tensor \"%.200s\": the shape's size overflows", path, t->name);
		t->shape[t->ndim++] = (int64_t)d;
	}
	*bytes = b;
	return 0;
}

/* One tensor entry: dtype, shape, data_offsets, all consistent. */
static int parse_tensor(StTensor *t, const char *path, const cJSON *o, uint64_t data_len, RtErr *e)
{
	if (!(t->name = strdup(o->string)))
		return rt_errorf(e, "out of memory");
	const char *nm = t->name;
	if (!cJSON_IsObject(o))
		return rt_errorf(e, "%s: tensor \"%.200s\": the entry is not an object", path, nm);
	const char *dt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(o, "dtype"));
	if (!dt)
		return rt_errorf(e, "%s: tensor \"%.200s\": \"dtype\" is missing or not a string", path, nm);
	if ((t->dtype = dtype_of(dt)) == ST_NDTYPE)
		return rt_errorf(e, "%s: tensor \"%.200s\": unknown dtype \"%.40s\"", path, nm, dt);
	uint64_t bytes = 0;
	if (parse_shape(t, path, cJSON_GetObjectItemCaseSensitive(o, "shape"), &bytes, e))
		return -1;
	const cJSON *off = cJSON_GetObjectItemCaseSensitive(o, "data_offsets");
	if (!cJSON_IsArray(off) || cJSON_GetArraySize(off) != 2 ||
	    getu(cJSON_GetArrayItem(off, 0), &t->begin) || getu(cJSON_GetArrayItem(off, 1), &t->end))
		return rt_errorf(e, "%s: tensor \"%.200s\": \"data_offsets\" must be two non-negative "
		                 "integers", path, nm);
	if (t->end < t->begin)
		return rt_errorf(e, "%s: tensor \"%.200s\": data_offsets [%llu,%llu] end before they begin",
		                 path, nm, (unsigned long long)t->begin, (unsigned long long)t->end);
	if (t->end > data_len)
		return rt_errorf(e, "%s: tensor \"%.200s\": data_offsets [%llu,%llu] run past the data "
		                 "region (%llu bytes; truncated file?)", path, nm, (unsigned long long)t->begin,
		                 (unsigned long long)t->end, (unsigned long long)data_len);
	if (t->end - t->begin != bytes)
		return rt_errorf(e, "%s: tensor \"%.200s\": data_offsets span %llu bytes but %s%s needs %llu",
		                 path, nm, (unsigned long long)(t->end - t->begin), dt,
		                 rt_shape_str((char[RT_SHAPE_STRLEN]){0}, RT_SHAPE_STRLEN, t->ndim, t->shape),
		                 (unsigned long long)bytes);
	return 0;
}

/* Order tensor pointers by name. */
static int by_name(const void *a, const void *b)
{
	return strcmp((*(StTensor *const *)a)->name, (*(StTensor *const *)b)->name);
}

/* Order tensor pointers by (begin, end). */
static int by_offset(const void *a, const void *b)
{
	const StTensor *x = *(StTensor *const *)a, *y = *(StTensor *const *)b;
	if (x->begin != y->begin)
		return x->begin < y->begin ? -1 : 1;
	return (x->end > y->end) - (x->end < y->end);
}

/* No duplicate names; the tensors tile [0, data_len) exactly. Fills f->by_name. */
static int check_layout(StFile *f, const char *path, uint64_t data_len, RtErr *e)
{
	int n = f->nt, rc = 0;
	StTensor **ord = malloc(((size_t)n + 1) * sizeof *ord);
	if (!ord || !(f->by_name = malloc(((size_t)n + 1) * sizeof *f->by_name))) {
		free(ord);
		return rt_errorf(e, "out of memory");
	}
	for (int i = 0; i < n; i++)
		ord[i] = &f->t[i];
	qsort(ord, n, sizeof *ord, by_name);
	for (int i = 0; i < n; i++)
		f->by_name[i] = (int)(ord[i] - f->t);
	for (int i = 1; i < n && !rc; i++)
		if (!strcmp(ord[i]->name, ord[i - 1]->name))
			rc = rt_errorf(e, "%s: the header names tensor \"%.200s\" twice", path, ord[i]->name);
	qsort(ord, n, sizeof *ord, by_offset);
	uint64_t at = 0;
	for (int i = 0; i < n && !rc; i++) {
		if (ord[i]->begin < at)
			rc = rt_errorf(e, "%s: tensors \"%.200s\" and \"%.200s\" overlap in the data region",
			               path, ord[i - 1]->name, ord[i]->name);
		else if (ord[i]->begin > at)
			rc = rt_errorf(e, "%s: bytes %llu to %llu of the data region belong to no tensor",
			               path, (unsigned long long)at, (unsigned long long)ord[i]->begin);
		at = ord[i]->end;
	}
	if (!rc && at != data_len)
		rc = rt_errorf(e, "%s: the data region has %llu bytes but the tensors cover %llu "
		               "(trailing bytes or a damaged header)", path,
		               (unsigned long long)data_len, (unsigned long long)at);
	free(ord);
	return rc;
}

/* The root object's entries into f->t and f->meta. */
static int parse_entries(StFile *f, const char *path, const cJSON *root, uint64_t data_len, RtErr *e)
{
	if (!cJSON_IsObject(root))
		return rt_errorf(e, "%s: the header is not a JSON object", path);
	int n = cJSON_GetArraySize(root);
	if (!(f->t = calloc((size_t)n + 1, sizeof *f->t)))
		return rt_errorf(e, "out of memory");
	const cJSON *o;
	cJSON_ArrayForEach(o, root) {
		if (!strcmp(o->string, "__metadata__")) {
			if (parse_meta(f, path, o, e))
				return -1;
		} else if (parse_tensor(&f->t[f->nt++], path, o, data_len, e)) {
			return -1;
		}
	}
	return check_layout(f, path, data_len, e);
}

/* Check a header (json, len bytes) for a data region of data_len bytes and
** fill f->t and f->meta. */
static int parse_header(StFile *f, const char *path, const char *json, size_t len,
                        uint64_t data_len, RtErr *e)
{
	if (len == 0 || json[0] != '{')
		return rt_errorf(e, "%s: not a safetensors file (the header does not start with '{')", path);
	if (!utf8_ok((const unsigned char *)json, len))
		return rt_errorf(e, "%s: the header is not valid UTF-8", path);
	if (rt_json_check(json, len, 0, path, e))   /* a NUL would cut a name short */
		return -1;
	char *buf = malloc(len + 1);   /* cJSON reads a terminated copy, never past it */
	if (!buf)
		return rt_errorf(e, "out of memory");
	memcpy(buf, json, len);
	buf[len] = 0;
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithLengthOpts(buf, len, &end, 0);
	int rc = 0;
	if (!root) {
		const char *at = cJSON_GetErrorPtr();
		rc = rt_errorf(e, "%s: the header is not valid JSON (near byte %ld of %zu)", path,
		               at && at >= buf && at <= buf + len ? (long)(at - buf) : -1L, len);
	} else {
		for (const char *p = end; p && p < buf + len && !rc; p++)
			if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r')
				rc = rt_errorf(e, "%s: the header has bytes after its JSON object", path);
		if (!rc)
			rc = parse_entries(f, path, root, data_len, e);
		/* the entries passed as doubles; now their text: 1e3, 4.0, 2^53 + 1 */
		if (!rc)
			rc = rt_json_check(json, len, 1, path, e);
	}
	cJSON_Delete(root);
	free(buf);
	return rc;
}

/* Read and check the 8-byte length and the header of an open file. */
static int read_header(StFile *f, uint64_t size, RtErr *e)
{
	unsigned char lenb[8];
	if (size < 8)
		return rt_errorf(e, "%s: the file is %llu bytes, too short for a safetensors header",
		                 f->path, (unsigned long long)size);
	if (rt_pread_full(f->fd, lenb, 8, 0, f->path, e))
		return -1;
	uint64_t n = 0;
	for (int i = 7; i >= 0; i--)
		n = n << 8 | lenb[i];
	if (n > ST_MAX_HEADER)
		return rt_errorf(e, "%s: the header length %llu is absurdly large (not a safetensors file?)",
		                 f->path, (unsigned long long)n);
	if (n > size - 8)
		return rt_errorf(e, "%s: the header length %llu runs past the end of the file "
		                 "(%llu bytes; truncated?)", f->path, (unsigned long long)n,
		                 (unsigned long long)size);
	char *h = malloc(n ? n : 1);
	if (!h)
		return rt_errorf(e, "out of memory");
	int rc = rt_pread_full(f->fd, h, n, 8, f->path, e);
	f->data_start = 8 + n;
	f->data_len = size - 8 - n;
	if (!rc)
		rc = parse_header(f, f->path, h, n, f->data_len, e);
	free(h);
	return rc;
}

int st_open(StFile *f, const char *path, RtErr *e)
{
	memset(f, 0, sizeof *f);
	f->fd = -1;
	if (!(f->path = strdup(path)))
		return rt_errorf(e, "out of memory");
	struct stat sb;
	f->fd = rt_open_read(path, e);
	int rc;
	if (f->fd < 0)
		rc = -1;
	else if (fstat(f->fd, &sb) != 0)
		rc = rt_errorf(e, "%s: cannot stat: %s", path, strerror(errno));
	else if (!S_ISREG(sb.st_mode))
		rc = rt_errorf(e, "%s: not a regular file", path);
	else
		rc = read_header(f, (uint64_t)sb.st_size, e);
	if (rc)
		st_close(f);
	return rc;
}

int st_read(const StFile *f, int i, void *dst, RtErr *e)
{
	const StTensor *t = &f->t[i];
	return rt_pread_full(f->fd, dst, t->end - t->begin, f->data_start + t->begin, f->path, e);
}

int st_find(const StFile *f, const char *name)
{
	int lo = 0, hi = f->nt - 1;
	while (f->by_name && lo <= hi) {
		int mid = lo + (hi - lo) / 2, c = strcmp(f->t[f->by_name[mid]].name, name);
		if (c == 0)
			return f->by_name[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid - 1;
	}
	return -1;
}

const char *st_meta(const StFile *f, const char *key)
{
	for (int i = 0; i < f->nmeta; i++)
		if (!strcmp(f->meta[2 * i], key))
			return f->meta[2 * i + 1];
	return NULL;
}

void st_close(StFile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	for (int i = 0; f->t && i < f->nt; i++)
		free(f->t[i].name);
	for (int i = 0; f->meta && f->meta[i]; i++)
		free(f->meta[i]);
	free(f->t);
	free(f->meta);
	free(f->by_name);
	free(f->path);
	memset(f, 0, sizeof *f);
	f->fd = -1;
}
