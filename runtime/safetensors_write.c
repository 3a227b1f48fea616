/*
** safetensors_write.c -- write a safetensors file (layout in safetensors.c):
** tensors in the order given, packed back to back, metadata first in the
** header, the header padded with spaces so the data starts at a multiple of
** 8 bytes. The file appears complete or not at all (RtOut).
*/
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "rt.h"

/* Bytes of tensor t; -1 on overflow. */
static int64_t tensor_bytes(const StOut *t)
{
	int64_t b = (int64_t)st_dtype_size(t->dtype);
	for (int i = 0; i < t->ndim; i++)
		if (t->shape[i] < 0 || __builtin_mul_overflow(b, t->shape[i], &b))
			return -1;
	return b;
}

/* The header JSON for meta and t (malloc'ed, unpadded); NULL with e filled. */
static char *build_header(const char *const *meta, int nmeta, const StOut *t, int nt, RtErr *e)
{
	cJSON *root = cJSON_CreateObject(), *m = NULL;
	int ok = root != NULL;
	if (ok && nmeta > 0) {
		ok = (m = cJSON_AddObjectToObject(root, "__metadata__")) != NULL;
		for (int i = 0; ok && i < nmeta; i++)
			ok = cJSON_AddStringToObject(m, meta[2 * i], meta[2 * i + 1]) != NULL;
	}
	int64_t at = 0;
	for (int i = 0; ok && i < nt; i++) {
		int64_t b = tensor_bytes(&t[i]);
		for (int j = 0; j < i; j++)
			if (!strcmp(t[j].name, t[i].name) || !strcmp(t[i].name, "__metadata__"))
				b = -1;
		if (b < 0 || t[i].ndim > RT_MAXDIM) {
			rt_errorf(e, "internal error: cannot write tensor \"%s\" (bad shape or duplicate name)",
			          t[i].name);
			cJSON_Delete(root);
			return NULL;
		}
		cJSON *o = cJSON_AddObjectToObject(root, t[i].name), *s = NULL;
		ok = o && cJSON_AddStringToObject(o, "dtype", st_dtype_name(t[i].dtype)) &&
		     (s = cJSON_AddArrayToObject(o, "shape"));
		for (int d = 0; ok && d < t[i].ndim; d++)
			ok = cJSON_AddItemToArray(s, cJSON_CreateNumber((double)t[i].shape[d]));
		double off[2] = {(double)at, (double)(at + b)};
		ok = ok && cJSON_AddItemToObject(o, "data_offsets", cJSON_CreateDoubleArray(off, 2));
		at += b;
	}
	char *json = ok ? cJSON_PrintUnformatted(root) : NULL;
	cJSON_Delete(root);
	if (!json)
		rt_errorf(e, "out of memory");
	return json;
}

/* The 8-byte length, the padded header and every tensor's bytes into o. */
static int write_body(RtOut *o, const char *json, const StOut *t, int nt, RtErr *e)
{
	size_t n = strlen(json), padded = (n + 7) & ~(size_t)7;
	unsigned char lenb[8];
	for (int i = 0; i < 8; i++)
		lenb[i] = (unsigned char)((uint64_t)padded >> (8 * i));
	if (rt_out_write(o, lenb, 8, e) || rt_out_write(o, json, n, e) ||
	    rt_out_write(o, "       ", padded - n, e))
		return -1;
	for (int i = 0; i < nt; i++)
		if (rt_out_write(o, t[i].data, (size_t)tensor_bytes(&t[i]), e))
			return -1;
	return 0;
}

int st_write(const char *path, const char *const *meta, int nmeta,
             const StOut *t, int nt, RtErr *e)
{
	char *json = build_header(meta, nmeta, t, nt, e);
	if (!json)
		return -1;
	RtOut o;
	int rc = rt_out_open(&o, path, e);
	if (!rc && (write_body(&o, json, t, nt, e) || rt_out_commit(&o, e)))
		rc = -1;
	rt_out_abort(&o);
	free(json);
	return rc;
}
