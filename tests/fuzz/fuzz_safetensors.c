/*
** fuzz_safetensors.c -- the safetensors reader (runtime/safetensors.c):
** st_open on the input as a file. A file that opens must keep every
** promise of the header check: the data region is the rest of the file,
** every tensor's bytes lie inside it and match its dtype and shape, the
** tensors tile it, every name is found by st_find, and every tensor reads.
*/
#include "fuzz.h"
#include "rt.h"

/* Check what st_open promises about an opened file of size bytes. */
static void check_open(const StFile *f, size_t size)
{
	if (f->data_start < 8 || f->data_start + f->data_len != size)
		fuzz_fail("safetensors", "the data region is not the rest of the file");
	uint64_t covered = 0;
	for (int i = 0; i < f->nt; i++) {
		const StTensor *t = &f->t[i];
		uint64_t n = st_dtype_size(t->dtype);
		for (int d = 0; d < t->ndim; d++)
			n *= (uint64_t)t->shape[d];
		if (t->begin > t->end || t->end > f->data_len || t->end - t->begin != n)
			fuzz_fail("safetensors", "a tensor's bytes are outside the data region or the wrong size");
		covered += t->end - t->begin;
		if (st_find(f, t->name) != i)
			fuzz_fail("safetensors", "st_find does not find a tensor by its name");
		void *buf = malloc(n ? n : 1);
		RtErr e = {0};
		if (!buf || st_read(f, i, buf, &e))
			fuzz_fail("safetensors", "a tensor of an opened file cannot be read");
		free(buf);
	}
	if (covered != f->data_len)
		fuzz_fail("safetensors", "the tensors do not cover the data region");
	for (int i = 0; i < f->nmeta; i++)
		if (st_meta(f, f->meta[2 * i]) != f->meta[2 * i + 1])
			fuzz_fail("safetensors", "st_meta does not find a metadata key");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *path = fuzz_file("in.safetensors", data, size);
	StFile f;
	RtErr e = {0};
	if (st_open(&f, path, &e) == 0) {
		check_open(&f, size);
		st_close(&f);
	} else {
		fuzz_check_failure("safetensors", e.set, e.msg);
	}
	free(path);
	return 0;
}
