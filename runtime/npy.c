/*
** npy.c -- NumPy's .npy format, versions 1.0, 2.0 and 3.0:
**
**   "\x93NUMPY", major, minor, header length (2 bytes LE in 1.0, 4 in 2.0/3.0),
**   a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
**   padded with spaces and a newline, then the raw data in C order.
**
** Reading converts to the dtype the model wants: to f32 from floats (f2, f4,
** f8), integers (i1..i8, u1..u8) and bools; to i32 from integers and bools
** whose values fit. Either byte order. Fortran order, structured, string,
** complex and object arrays are refused with a message naming the file.
** Every size is overflow-checked; a short file is reported, never read past,
** and so are bytes after the data (the data must be exactly what the
** header's shape and dtype say). Header strings with a NUL or another
** control byte and keys given twice are refused.
*/
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rt.h"

#define NPY_MAX_HEADER (1u << 20)

/* The on-disk element type, from descr such as "<f4". */
typedef struct NpyType {
	char order, kind;   /* '<' '>' '|' '=';  'f' 'i' 'u' 'b' */
	int size;
} NpyType;

/* ---- the header dict -------------------------------------------------- */

typedef struct Lex {
	const char *p, *end;
} Lex;

static void skipws(Lex *l)
{
	while (l->p < l->end && (*l->p == ' ' || *l->p == '\t' || *l->p == '\n' || *l->p == '\r'))
		l->p++;
}

/* Consume c (after whitespace) if it is next. */
static int accept(Lex *l, char c)
{
	skipws(l);
	if (l->p < l->end && *l->p == c) {
		l->p++;
		return 1;
	}
	return 0;
}

/* A quoted string ('...' or "...") of at most cap-1 chars into buf, with
** no escapes and no control bytes (a NUL would cut the C string short). */
static int lexstr(Lex *l, char *buf, size_t cap)
{
	skipws(l);
	if (l->p >= l->end || (*l->p != '\'' && *l->p != '"'))
		return -1;
	char q = *l->p++;
	size_t n = 0;
	while (l->p < l->end && *l->p != q) {
		if (n + 1 >= cap || *l->p == '\\' || (unsigned char)*l->p < 0x20)
			return -1;   /* too long, an escape, or a NUL/control byte that would cut it */
		buf[n++] = *l->p++;
	}
	if (l->p >= l->end)
		return -1;
	l->p++;
	buf[n] = 0;
	return 0;
}

/* A word such as True / False. */
static int lexword(Lex *l, const char *w)
{
	skipws(l);
	size_t n = strlen(w);
	if ((size_t)(l->end - l->p) < n || memcmp(l->p, w, n))
		return 0;
	l->p += n;
	return 1;
}

/* A tuple of non-negative integers: (), (3,), (2, 3) -- Python 2's 3L too. */
static int lextuple(Lex *l, int *ndim, int64_t *shape)
{
	if (!accept(l, '('))
		return -1;
	*ndim = 0;
	while (!accept(l, ')')) {
		skipws(l);
		if (l->p >= l->end || *l->p < '0' || *l->p > '9' || *ndim >= RT_MAXDIM)
			return -1;
		int64_t v = 0;
		while (l->p < l->end && *l->p >= '0' && *l->p <= '9')
			if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *l->p++ - '0', &v))
				return -1;
		if (l->p < l->end && *l->p == 'L')
			l->p++;
		shape[(*ndim)++] = v;
		if (!accept(l, ',')) {
			if (!accept(l, ')'))
				return -1;
			break;
		}
	}
	return 0;
}

/* The value of one header key: descr, fortran_order or shape. */
static int header_value(Lex *l, const char *key, char descr[16], int *fortran, int *ndim,
                        int64_t *shape, const char *path, RtErr *e)
{
	if (!strcmp(key, "descr")) {
		skipws(l);
		if (l->p < l->end && *l->p == '[')
			return rt_errorf(e, "%s: structured arrays are not supported (save a plain "
			                 "numeric array)", path);
		if (lexstr(l, descr, 16))
			return rt_errorf(e, "%s: the .npy header's descr is malformed", path);
	} else if (!strcmp(key, "fortran_order")) {
		if (lexword(l, "True"))
			*fortran = 1;
		else if (lexword(l, "False"))
			*fortran = 0;
		else
			return rt_errorf(e, "%s: the .npy header's fortran_order is malformed", path);
	} else if (!strcmp(key, "shape")) {
		if (lextuple(l, ndim, shape))
			return rt_errorf(e, "%s: the .npy header's shape is malformed (or has more than "
			                 "%d dimensions)", path, RT_MAXDIM);
	} else {
		return rt_errorf(e, "%s: the .npy header has an unknown key '%s'", path, key);
	}
	return 0;
}

int rt_npy_parse_header(const char *h, size_t len, char descr[16], int *fortran,
                        int *ndim, int64_t shape[RT_MAXDIM], const char *path, RtErr *e)
{
	Lex l = {h, h + len};
	int seen = 0;   /* bits: descr, fortran_order, shape */
	if (!accept(&l, '{'))
		return rt_errorf(e, "%s: the .npy header is not a dictionary", path);
	while (!accept(&l, '}')) {
		char key[32];
		if (lexstr(&l, key, sizeof key) || !accept(&l, ':'))
			return rt_errorf(e, "%s: the .npy header is malformed", path);
		if (header_value(&l, key, descr, fortran, ndim, shape, path, e))
			return -1;
		int bit = !strcmp(key, "descr") ? 1 : !strcmp(key, "fortran_order") ? 2 : 4;
		if (seen & bit)
			return rt_errorf(e, "%s: the .npy header has '%s' twice", path, key);
		seen |= bit;
		if (accept(&l, '}'))
			break;
		if (!accept(&l, ','))
			return rt_errorf(e, "%s: the .npy header is malformed", path);
	}
	skipws(&l);
	if (l.p != l.end)
		return rt_errorf(e, "%s: the .npy header has bytes after its dictionary", path);
	if (seen != 7)
		return rt_errorf(e, "%s: the .npy header lacks '%s'", path,
		                 !(seen & 1) ? "descr" : !(seen & 2) ? "fortran_order" : "shape");
	return 0;
}

/* ---- dtypes and conversion -------------------------------------------- */

/* Parse descr into *t; -1 when it is not a plain number type we read. */
static int parse_descr(const char *d, NpyType *t)
{
	if (strlen(d) < 3 || !strchr("<>|=", d[0]) || !strchr("fiub", d[1]))
		return -1;
	if (d[2] < '1' || d[2] > '9')   /* strtol would take " 4" and "+4" */
		return -1;
	char *end;
	long s = strtol(d + 2, &end, 10);
	t->order = d[0] == '=' ? '<' : d[0];
	t->kind = d[1];
	t->size = (int)s;
	if (*end || (t->kind == 'f' && s != 2 && s != 4 && s != 8) || (t->kind == 'b' && s != 1) ||
	    (s != 1 && s != 2 && s != 4 && s != 8))
		return -1;
	return 0;
}

/* IEEE half to float. */
static float half(uint16_t h)
{
	int ex = (h >> 10) & 31, man = h & 1023;
	float v = ex == 0 ? ldexpf((float)man, -24)
	        : ex == 31 ? (man ? NAN : INFINITY)
	        : ldexpf((float)(man | 1024), ex - 25);
	return h & 0x8000 ? -v : v;
}

/* Element i of raw data of type t, as a double (exact for ints up to 2^53)
** or, for 8-byte ints, through *iv (ok set when the value is an integer). */
static double element(const unsigned char *raw, size_t i, NpyType t, int64_t *iv)
{
	unsigned char b[8];
	for (int k = 0; k < t.size; k++)
		b[k] = raw[i * t.size + (t.order == '>' ? t.size - 1 - k : k)];
	union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
	        uint64_t u64; int64_t i64; float f; double d; } u;
	memcpy(&u, b, t.size);
	switch (t.kind * 16 + t.size) {
	case 'f' * 16 + 2: return half(u.u16);
	case 'f' * 16 + 4: return u.f;
	case 'f' * 16 + 8: return u.d;
	case 'i' * 16 + 1: return *iv = u.i8;
	case 'i' * 16 + 2: return *iv = u.i16;
	case 'i' * 16 + 4: return *iv = u.i32;
	case 'i' * 16 + 8: *iv = u.i64; return (double)u.i64;
	case 'u' * 16 + 8: *iv = u.u64 > INT64_MAX ? INT64_MAX : (int64_t)u.u64; return (double)u.u64;
	case 'u' * 16 + 4: return *iv = u.u32;
	case 'u' * 16 + 2: return *iv = u.u16;
	case 'u' * 16 + 1: return *iv = u.u8;
	default:           return *iv = u.u8 != 0;   /* b1 */
	}
}

/* Convert n elements of raw (type t) into a->data (a->dtype). */
static int convert(const unsigned char *raw, size_t n, NpyType t, RtArray *a,
                   const char *path, RtErr *e)
{
	for (size_t i = 0; i < n; i++) {
		int64_t iv = 0;
		double v = element(raw, i, t, &iv);
		if (a->dtype == RT_F32) {
			((float *)a->data)[i] = (float)v;
		} else if (iv < INT32_MIN || iv > INT32_MAX) {
			return rt_errorf(e, "%s: element %zu (%lld) does not fit in i32", path, i, (long long)iv);
		} else {
			((int32_t *)a->data)[i] = (int32_t)iv;
		}
	}
	return 0;
}

/* ---- reading ----------------------------------------------------------- */

/* Read the magic, version and header of fd (size bytes) into the dict
** fields; *data_at is where the data starts. */
static int read_prefix(int fd, uint64_t size, const char *path, char descr[16], int *fortran,
                       int *ndim, int64_t *shape, uint64_t *data_at, RtErr *e)
{
	unsigned char p[12];
	if (size < 10)
		return rt_errorf(e, "%s: the file is %llu bytes, too short for a .npy header", path,
		                 (unsigned long long)size);
	if (rt_pread_full(fd, p, 10, 0, path, e) || memcmp(p, "\x93NUMPY", 6))
		return rt_errorf(e, "%s: not a .npy file (no \\x93NUMPY magic)", path);
	if (p[6] < 1 || p[6] > 3)
		return rt_errorf(e, "%s: .npy format version %d.%d is not supported (1.0 to 3.0 are)",
		                 path, p[6], p[7]);
	uint64_t hlen = p[8] | (uint64_t)p[9] << 8, at = 10;
	if (p[6] >= 2) {
		if (size < 12 || rt_pread_full(fd, p + 10, 2, 10, path, e))
			return rt_errorf(e, "%s: the .npy header is truncated", path);
		hlen |= (uint64_t)p[10] << 16 | (uint64_t)p[11] << 24;
		at = 12;
	}
	if (hlen > NPY_MAX_HEADER || hlen > size - at)
		return rt_errorf(e, "%s: the .npy header length %llu runs past the end of the file "
		                 "(truncated?)", path, (unsigned long long)hlen);
	char *h = malloc(hlen + 1);
	if (!h)
		return rt_errorf(e, "out of memory");
	int rc = rt_pread_full(fd, h, hlen, at, path, e);
	if (!rc)
		rc = rt_npy_parse_header(h, hlen, descr, fortran, ndim, shape, path, e);
	free(h);
	*data_at = at + hlen;
	return rc;
}

/* Read the data of a (shape and dtype set) from fd at data_at, converting from t. */
static int read_data(int fd, uint64_t size, uint64_t data_at, NpyType t, const char *descr,
                     RtArray *a, const char *path, RtErr *e)
{
	uint64_t n = 1, bytes, out;
	for (int i = 0; i < a->ndim; i++)
		if (__builtin_mul_overflow(n, (uint64_t)a->shape[i], &n))
			return rt_errorf(e, "%s: the shape's size overflows", path);
	if (__builtin_mul_overflow(n, (uint64_t)t.size, &bytes) ||
	    __builtin_mul_overflow(n, (uint64_t)rt_dtype_size(a->dtype), &out) || bytes > SIZE_MAX)
		return rt_errorf(e, "%s: the shape's size overflows", path);
	if (bytes != size - data_at)
		return rt_errorf(e, "%s: %s: shape %s of '%s' needs %llu bytes of data, the file "
		                 "has %llu", path, bytes > size - data_at ? "truncated" :
		                 "bytes after the data (the header's shape is too small?)",
		                 rt_shape_str((char[RT_SHAPE_STRLEN]){0}, RT_SHAPE_STRLEN, a->ndim, a->shape),
		                 descr, (unsigned long long)bytes, (unsigned long long)(size - data_at));
	unsigned char *raw = malloc(bytes ? bytes : 1);
	a->data = malloc(out ? out : 1);
	if (!raw || !a->data) {
		free(raw);
		return rt_errorf(e, "%s: out of memory for %llu bytes", path, (unsigned long long)bytes);
	}
	int rc = rt_pread_full(fd, raw, bytes, data_at, path, e);
	if (!rc)
		rc = convert(raw, n, t, a, path, e);
	free(raw);
	return rc;
}

/* Check that the file's dtype can become a->dtype. */
static int check_dtype(const char *descr, NpyType *t, RtDtype want, const char *path, RtErr *e)
{
	if (parse_descr(descr, t))
		return rt_errorf(e, "%s: dtype '%s' is not supported (use float32: "
		                 "x.astype(np.float32))", path, descr);
	if (want == RT_I32 && t->kind == 'f')
		return rt_errorf(e, "%s: dtype '%s' holds floats, the model expects integers "
		                 "(x.astype(np.int32))", path, descr);
	return 0;
}

int rt_npy_read(const char *path, RtDtype want, RtArray *a, RtErr *e)
{
	memset(a, 0, sizeof *a);
	a->dtype = want;
	int fd = rt_open_read(path, e);
	if (fd < 0)
		return -1;
	struct stat sb;
	char descr[16] = "";
	int fortran = 0, rc;
	uint64_t at = 0;
	NpyType t = {0};
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		rc = rt_errorf(e, "%s: not a regular file", path);
	else if (!(rc = read_prefix(fd, (uint64_t)sb.st_size, path, descr, &fortran, &a->ndim,
	                            a->shape, &at, e)) &&
	         !(rc = check_dtype(descr, &t, want, path, e))) {
		if (fortran)
			rc = rt_errorf(e, "%s: the array is in Fortran order; save it in C order "
			               "(np.ascontiguousarray)", path);
		else
			rc = read_data(fd, (uint64_t)sb.st_size, at, t, descr, a, path, e);
	}
	close(fd);
	if (rc)
		rt_array_free(a);
	return rc;
}

int rt_npy_header(const char *path, char descr[16], int *fortran, int *ndim,
                  int64_t shape[RT_MAXDIM], RtErr *e)
{
	int fd = rt_open_read(path, e), rc;
	if (fd < 0)
		return -1;
	struct stat sb;
	uint64_t at;
	descr[0] = 0;
	*fortran = 0;
	if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode))
		rc = rt_errorf(e, "%s: not a regular file", path);
	else
		rc = read_prefix(fd, (uint64_t)sb.st_size, path, descr, fortran, ndim, shape, &at, e);
	close(fd);
	return rc;
}

void rt_array_free(RtArray *a)
{
	free(a->data);
	a->data = NULL;
}

/* ---- writing ----------------------------------------------------------- */

int rt_npy_stage(RtOut *o, const char *path, const RtArray *a, RtErr *e)
{
	char h[1024];
	int k = snprintf(h, sizeof h, "{'descr': '%s', 'fortran_order': False, 'shape': (",
	                 a->dtype == RT_I32 ? "<i4" : "<f4");
	for (int i = 0; i < a->ndim; i++)
		k += snprintf(h + k, sizeof h - k, "%lld%s", (long long)a->shape[i],
		              a->ndim == 1 ? "," : i + 1 < a->ndim ? ", " : "");
	k += snprintf(h + k, sizeof h - k, "), }");
	size_t total = (10 + (size_t)k + 1 + 63) & ~(size_t)63;   /* data 64-byte aligned */
	size_t hlen = total - 10;
	memset(h + k, ' ', hlen - 1 - k);
	h[hlen - 1] = '\n';
	unsigned char pre[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0,
	                         (unsigned char)hlen, (unsigned char)(hlen >> 8)};
	int64_t n = 1;
	for (int i = 0; i < a->ndim; i++)
		n *= a->shape[i];
	if (rt_out_open(o, path, e))
		return -1;
	if (rt_out_write(o, pre, 10, e) || rt_out_write(o, h, hlen, e) ||
	    rt_out_write(o, a->data, (size_t)n * rt_dtype_size(a->dtype), e) || rt_out_finish(o, e)) {
		rt_out_abort(o);
		return -1;
	}
	return 0;
}

int rt_npy_write(const char *path, const RtArray *a, RtErr *e)
{
	RtOut o;
	if (rt_npy_stage(&o, path, a, e))
		return -1;
	return rt_out_commit(&o, e);
}
